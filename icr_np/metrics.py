"""What to record per evaluation (SPEC 3.3), in float64 whatever the training dtype.

Decision: the population loss is the cross-entropy *expected over the target noise* on a fixed set of
contexts: per sentence, alpha * (-log p_tau) + (1 - alpha) * (-log p_y). It equals the Bayes risk H(alpha)
plus a per-sentence excess KL(target || p) >= 0, so it never reads below the Bayes risk (a sampled-target
loss on a finite set can), and the excess is computed directly, exactly even when it is 1e-30:
    excess = KL(Ber(alpha) || Ber(sigmoid(delta))) + log(1 + R)
    delta  = xi_tau - xi_y,   R = sum_{j not in {y, tau}} exp(xi_j - logaddexp(xi_y, xi_tau))
(noiseless: excess = log(1 + sum_{j != y} exp(xi_j - xi_y))). The training loss is the plain sampled-target
cross-entropy of the training batch.
"""
import math

import numpy as np

from icr_np.task import binary_entropy


class EvalSet:
    """A fixed evaluation batch with the position right after its planted trigger (the y position)."""

    def __init__(self, batch):
        self.batch = batch
        z, q, y = batch.tokens, batch.triggers, batch.outputs
        hit = (z[:, :-1] == q[:, None]) & (z[:, 1:] == y[:, None])
        self.p_out = hit.argmax(1) + 1                       # [B] first planted (q, y): y's position
        self._chunks = (None, None)

    def __len__(self):
        return len(self.batch)

    def chunks(self, model, chunk):
        """[(Context, y, p_out)] per chunk of sentences, built once per model: the set is fixed."""
        if self._chunks[0] is not model:
            bk, b, out = model.backend, self.batch, []
            for lo in range(0, len(self), chunk):
                hi = min(len(self), lo + chunk)
                out.append((model.context(b.tokens[lo:hi]), bk.asarray(b.outputs[lo:hi].astype(np.int64)),
                            bk.asarray(self.p_out[lo:hi].astype(np.int64))))
            self._chunks = (model, out)
        return self._chunks[1]


def _log1p_sum_exp(xp, d, mask):
    """log(1 + sum_j mask_j exp(d_j)) per row, without overflow. [B, N], [B, N] -> [B]."""
    dm = xp.where(mask, d, xp.full_like(d, -math.inf))
    m0 = xp.maximum(xp.max(dm, axis=1), xp.zeros_like(dm[:, 0]))    # max(0, max_j d_j)
    r = xp.sum(xp.exp(dm - m0[:, None]), axis=1)
    small = xp.log1p(r)
    big = m0 + xp.log(xp.exp(-m0) + r)
    return xp.where(m0 > 0, big, small)


def _softplus(xp, x):
    return xp.logaddexp(xp.zeros_like(x), x)


def _bernoulli_kl(xp, alpha, delta):
    """KL(Ber(alpha) || Ber(sigmoid(delta))) per row, exact near delta = logit(alpha)."""
    a, g = alpha, math.log(alpha / (1 - alpha))
    e = delta - g
    ec = xp.clip(e, -1.0, 1.0)
    near = a * xp.log1p((1 - a) * xp.expm1(-ec)) + (1 - a) * xp.log1p(a * xp.expm1(ec))
    sp = lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x)))      # softplus of a Python float
    far = a * (_softplus(xp, -delta) - sp(-g)) + (1 - a) * (_softplus(xp, delta) - sp(g))
    return xp.where(xp.abs(e) < 1.0, near, far)


def sentence_stats(xp, task, xi_A, xi_F, a, y, p_out):
    """Per-sentence float64 quantities from the logits [B, N] and attention [B, H]; y, p_out [B]."""
    xi_A = xp.astype(xi_A, xp.float64)
    xi_F = xp.astype(xi_F, xp.float64)
    xi = xi_A + xi_F
    B, N = xi.shape
    cols = xp.arange(N, dtype=y.dtype)[None, :]
    is_y = cols == y[:, None]
    xi_y = xp.sum(xp.where(is_y, xi, xp.zeros_like(xi)), axis=1)
    m = xp.max(xi, axis=1)
    lse = m + xp.log(xp.sum(xp.exp(xi - m[:, None]), axis=1))
    p_y = xp.exp(xi_y - lse)
    top = xp.argmax(xi, axis=1)
    out = {}
    if task.noisy:
        tau = task.tau
        is_tau = cols == tau
        xi_tau = xi[:, tau]
        lse2 = xp.logaddexp(xi_y, xi_tau)
        other = xp.logical_not(is_y | is_tau)
        excess = _bernoulli_kl(xp, task.alpha, xi_tau - xi_y) + _log1p_sum_exp(xp, xi - lse2[:, None], other)
        p_tau = xp.exp(xi_tau - lse)
        acc = (1 - task.alpha) * xp.astype(top == y, xp.float64) + task.alpha * xp.astype(top == tau, xp.float64)
        out["p_noise"] = p_tau
        out["xi_F_tau"] = xi_F[:, tau]
        out["xi_F_max"] = xp.max(xi_F, axis=1)
        out["roles_F"] = xp.astype(xp.argmax(xi_F, axis=1) == tau, xp.float64)
    else:
        excess = _log1p_sum_exp(xp, xi - xi_y[:, None], xp.logical_not(is_y))
        acc = xp.astype(top == y, xp.float64)
    out.update(excess=excess, p_output=p_y, accuracy=acc,
               xi_A_y=xp.sum(xp.where(is_y, xi_A, xp.zeros_like(xi_A)), axis=1),
               xi_A_max=xp.max(xi_A, axis=1),
               roles_A=xp.astype(xp.argmax(xi_A, axis=1) == y, xp.float64))
    a = xp.astype(a, xp.float64)
    a_out = xp.take_along_axis(a, p_out[:, None], axis=1)[:, 0]
    tot = xp.sum(xp.abs(a), axis=1)
    out["attn_output"] = xp.where(tot > 0, a_out / xp.where(tot > 0, tot, xp.ones_like(tot)), xp.zeros_like(tot))
    return out


def evaluate(model, evalset, chunk=1024):
    """Mean float64 metrics of `model` on `evalset` (no gradients computed). Returns a dict of floats."""
    xp, task = model.backend.xp, model.task
    sums, n = {}, len(evalset)
    for ctx, y, p_out in evalset.chunks(model, chunk):
        xi_A, xi_F, cache = model.forward(ctx)
        for k, v in sentence_stats(xp, task, xi_A, xi_F, cache.a, y, p_out).items():
            sums[k] = sums.get(k, 0.0) + xp.sum(v)
    res = {k: float(v) / n for k, v in sums.items()}
    res["loss"] = binary_entropy(task.alpha) + res["excess"]
    return res
