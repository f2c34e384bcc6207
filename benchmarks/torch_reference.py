"""The same model in PyTorch autograd, for comparison only (PyTorch is never a dependency of icr_np).

Two forms, both with one-hot inputs as dense tensors X [B, H, d]:
- "dense": the straightforward implementation, W applied at every position (keys K = X W^T, B*H*d*d);
- "efficient": the order icr_np's dense path uses, u = W^T x_last then score = X u (B*H*d).
Parameterisations as in icr_np (origin: W, V, F; reparam: lam (+ nu) through the construction; reparamW: W).
"""

import numpy as np
import torch


class TorchModel:
    def __init__(self, model, form="dense"):
        """Mirror an icr_np Model (its task, kind, attention, kappa, dtype, current parameters)."""
        self.m, self.form = model, form
        self.dtype = torch.float64 if model.dtype_name == "float64" else torch.float32
        emb = model.emb
        self.E = torch.tensor(emb.E_host, dtype=self.dtype)                                   # [N, d]
        self.Et_pad = torch.tensor(np.vstack([emb.Et_host, np.zeros((1, emb.d))]), dtype=self.dtype)
        self.U = self.E.T.contiguous()                                                        # [d, N]
        self.params = {k: torch.tensor(v, dtype=self.dtype, requires_grad=True)
                       for k, v in model.params.to_host().items()}
        p = model.param
        if model.kind == "reparam":
            self.A = torch.tensor(model.backend.to_host(p.A), dtype=self.dtype)
            self.Bm = torch.tensor(model.backend.to_host(p.Bm), dtype=self.dtype)
        self.F0 = torch.tensor(model.backend.to_host(p.F0), dtype=self.dtype) if getattr(p, "has_ff", False) and model.kind != "origin" else None

    def effective(self):
        m, P = self.m, self.params
        if m.kind == "origin":
            return P["W"], P["V"], P["F"], float(m.kappa)
        if m.kind == "reparamW":
            return P["W"], None, self.F0, float(m.kappa)
        W = (self.A * P["lam"][:, None]).T @ self.Bm
        nu = P.get("nu")
        kappa = nu * m.kappa if nu is not None else float(m.kappa)
        return W, nu, self.F0, kappa

    def loss(self, tokens, targets):
        z = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
        B, H = z.shape
        N = self.E.shape[0]
        zp = torch.cat([torch.full((B, 1), N, dtype=z.dtype), z[:, :-1]], dim=1)
        X = self.E[z] + self.Et_pad[zp]                                  # [B, H, d] dense one-hot inputs
        x_last = X[:, -1, :]                                             # [B, d]
        W, V, F, kappa = self.effective()
        if self.form == "dense":
            K = X @ W.T                                                  # [B, H, d]  W x[h] for every h
            score = (K * x_last[:, None, :]).sum(-1)                     # [B, H]
        else:
            u = x_last @ W                                               # [B, d]
            score = (X @ u[:, :, None])[..., 0]                          # [B, H]
        att = self.m.attention
        if att == "linear":
            a = score
        elif att == "relu":
            a = torch.relu(score + 1e-8)
        else:
            a = torch.softmax(score, dim=1)
        s = (a[:, :, None] * X).sum(1)                                   # [B, d]
        if V is None:
            xi_A = s @ self.U
        elif V.dim() == 0:
            xi_A = V * (s @ self.U)
        else:
            xi_A = s @ V.T @ self.U
        xi = xi_A
        if F is not None:
            xi = xi + (x_last + kappa * s) @ F.T @ self.U
        return torch.nn.functional.cross_entropy(xi.to(torch.float64), torch.as_tensor(targets))

    def step(self, tokens, targets, lr):
        """One NGD step (forward, backward, update); returns the loss."""
        for p in self.params.values():
            p.grad = None
        loss = self.loss(tokens, targets)
        loss.backward()
        with torch.no_grad():
            for p in self.params.values():
                n = p.grad.norm()
                if n > 0:
                    p -= lr * p.grad / n
        return loss
