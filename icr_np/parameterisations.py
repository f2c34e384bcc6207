"""Parameterisations (SPEC 2.4): trainable tensors -> effective (W, V, F, kappa, U), and gradients back.

| kind    | trainable              | fixed                                                               |
| origin  | W, V, F (+ U, option)  | E, Etil, U                                                          |
| reparam | lam (+ nu if scaled)   | noiseless: W = sum_q lam[q] E(q) Etil(q)^T, V = I, no FF path       |
|         |                        | noisy: W = sum_q lam[q] E(q) (Etil(q) - E(tau))^T, V = I,           |
|         |                        |        F = sum_q E(tau) (gamma E(q) + Etil(q))^T                    |
| reparamW| W                      | V = I; noiseless no FF path; noisy F as reparam                      |
lam has one entry per trigger (Q) in the noiseless setting and per active trigger (A) in the noisy one; the
noisy F sums over the same triggers as lam (decision).
reparam-scaled (decision, the project's reading of the softmax result): a trainable nu multiplies the
attention output in both paths, V = nu I and nu*kappa in place of kappa. nu starts at 0, so it only moves
when s != 0 at lam = 0, which is the softmax case (linear and relu stay at 0: s = 0 there).
Reparam gradients are projections of dW on the construction: d lam[q] = <dW, C_q> = A_q^T dW B_q; W stays
factored (model.LowRankW), so neither W nor dW is formed as a d x d matrix. A fixed F enters the model only
through U^T F, computed once here.
"""
import math
from types import SimpleNamespace

import numpy as np

from icr_np.model import LowRankW

KINDS = ("origin", "reparam", "reparamW")


def gamma_of(alpha):
    """The Bayes-optimal feed-forward tau logit offset log(alpha / (1 - alpha))."""
    return math.log(alpha / (1.0 - alpha))


class Parameterisation:
    kind = None
    needs = ()          # effective gradients the backward must produce

    def __init__(self, task, emb, kappa, gamma):
        self.task, self.emb, self.kappa, self.gamma = task, emb, kappa, gamma
        bk = emb.backend
        self.xp = bk.xp
        self.has_ff = task.noisy
        if self.has_ff:   # F0 = E(tau) (sum_q gamma E(q) + Etil(q))^T over the lam triggers
            qs = self.triggers()
            row = (gamma * emb.E_host[qs] + emb.Et_host[qs]).sum(0)
            F0 = np.outer(emb.E_host[task.tau], row)
            self.F0 = bk.asarray(F0, dtype=emb.dtype)                            # [d, d]
            self.P_F0 = bk.asarray(emb.E_host @ F0, dtype=emb.dtype)            # [N, d]  U^T F0

    def triggers(self):
        t = self.task
        return np.arange(t.active_triggers if t.noisy else t.n_triggers)

    def identity_scale(self):
        return 1.0


class Origin(Parameterisation):
    kind = "origin"

    def __init__(self, task, emb, kappa, gamma, train_unembedding=False):
        Parameterisation.__init__(self, task, emb, kappa, gamma=0.0)
        self.train_U = train_unembedding
        self.needs = ("W", "V", "F", "U") if train_unembedding else ("W", "V", "F")

    def init_params(self):
        d, xp, dt = self.emb.d, self.xp, self.emb.dtype
        p = {k: xp.zeros((d, d), dtype=dt) for k in ("W", "V", "F")}
        if self.train_U:
            p["U"] = self.emb.U + 0.0
        return p

    def effective(self, p):
        return SimpleNamespace(W=p["W"], V=p["V"], F=p["F"], kappa=self.kappa,
                               U=p["U"] if self.train_U else self.emb.U)

    def pull_back(self, p, g):
        return {k: g[k] for k in self.needs}


class Reparam(Parameterisation):
    kind = "reparam"

    def __init__(self, task, emb, kappa, gamma, scaled=False):
        Parameterisation.__init__(self, task, emb, kappa, gamma)
        self.scaled = scaled
        qs = self.triggers()
        A = emb.E_host[qs]                                          # [K, d]  E(q)
        Bm = emb.Et_host[qs] - (emb.E_host[task.tau] if task.noisy else 0.0)   # [K, d]  Etil(q) (- E(tau))
        self.A = emb.backend.asarray(A, dtype=emb.dtype)
        self.Bm = emb.backend.asarray(Bm, dtype=emb.dtype)
        self.needs = ("W", "V", "kappa") if scaled else ("W",)

    def init_params(self):
        xp, dt = self.xp, self.emb.dtype
        p = {"lam": xp.zeros((self.A.shape[0],), dtype=dt)}
        if self.scaled:
            p["nu"] = xp.zeros((), dtype=dt)
        return p

    def effective(self, p):
        W = LowRankW(self.A, p["lam"], self.Bm)                     # sum_q lam[q] A_q B_q^T, factored
        v = p["nu"] if self.scaled else 1.0
        return SimpleNamespace(W=W, V=v, F=self.F0 if self.has_ff else None,
                               P_F=self.P_F0 if self.has_ff else None,
                               kappa=v * self.kappa if self.scaled else self.kappa, U=self.emb.U)

    def pull_back(self, p, g):
        out = {"lam": g["W"]}                                         # already <dW, A_q B_q^T>
        if self.scaled:
            nu_grad = g["V"]
            if self.has_ff:
                nu_grad = nu_grad + self.kappa * g["kappa"]
            out["nu"] = nu_grad
        return out


class ReparamW(Parameterisation):
    kind = "reparamW"
    needs = ("W",)

    def init_params(self):
        d = self.emb.d
        return {"W": self.xp.zeros((d, d), dtype=self.emb.dtype)}

    def effective(self, p):
        return SimpleNamespace(W=p["W"], V=1.0, F=self.F0 if self.has_ff else None,
                               P_F=self.P_F0 if self.has_ff else None, kappa=self.kappa, U=self.emb.U)

    def pull_back(self, p, g):
        return {"W": g["W"]}


def make(kind, task, emb, kappa, gamma, scaled, train_unembedding):
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is unknown: choose one of {', '.join(KINDS)}")
    if scaled and kind != "reparam":
        raise ValueError(f"scaled=True is only defined for kind 'reparam', not {kind!r}")
    if train_unembedding and kind != "origin":
        raise ValueError(f"train_unembedding=True is only defined for kind 'origin', not {kind!r}")
    if kind == "origin":
        return Origin(task, emb, kappa, gamma, train_unembedding)
    if kind == "reparam":
        return Reparam(task, emb, kappa, gamma, scaled)
    return ReparamW(task, emb, kappa, gamma)
