"""Finite-difference gradient checking (centred differences, float64), with a per-tensor report.

Small tensors (at most `full_max` entries) are checked coordinate by coordinate; large ones along random
unit directions v (a vector-Jacobian check: (L(p + eps v) - L(p - eps v)) / 2 eps against <g, v>) plus a
few random coordinates. The error of a tensor is the largest relative error over its checks,
|fd - analytic| / max(|fd|, |analytic|, scale, floor), where `floor` keeps exact zeros (a gradient that is
zero in both) from dividing by zero. For a random unit direction, scale = ||g|| / sqrt(size), the typical
size of <g, v>: an error e in g shows as <e, v> ~ ||e|| / sqrt(size), so the check still reads ||e|| / ||g||,
while a direction that happens to be nearly orthogonal to g cannot turn the rounding noise of the
differences into a large "relative" error.
"""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class TensorCheck:
    name: str
    shape: tuple
    method: str            # "full" or "directions+coords"
    n_checks: int
    max_rel_error: float
    grad_norm: float


@dataclass
class Report:
    model: str
    loss: float
    tensors: list = field(default_factory=list)
    tol: float = 1e-6

    @property
    def ok(self):
        return all(t.max_rel_error <= self.tol for t in self.tensors)

    @property
    def max_rel_error(self):
        return max((t.max_rel_error for t in self.tensors), default=0.0)

    def lines(self):
        out = [f"{self.model}: loss {self.loss:.6f}  {'PASS' if self.ok else 'FAIL'} (tol {self.tol:g})"]
        for t in self.tensors:
            out.append(f"  {t.name:4s} {str(t.shape):12s} {t.method:17s} checks {t.n_checks:3d}  "
                       f"|g| {t.grad_norm:.3e}  max rel err {t.max_rel_error:.2e}")
        return out

    def __str__(self):
        return "\n".join(self.lines())


def randomize_params(model, rng):
    """Random non-degenerate parameters: scores spread (no saturated softmax), lam and nu positive."""
    for k, v in model.params.items():
        shape = tuple(v.shape)
        if k == "lam":
            model.params[k] = rng.uniform(0.3, 1.5, shape)
        elif k == "nu":
            model.params[k] = np.asarray(rng.uniform(0.5, 1.5))
        elif k == "U":
            model.params[k] = model.backend.to_host(v) + rng.normal(0, 0.1, shape)
        else:
            model.params[k] = rng.normal(0, 0.3, shape)


def check_gradients(model, tokens, targets, rng=None, eps=1e-5, full_max=64, n_dirs=4, n_coords=4,
                    floor=1e-10, tol=1e-6):
    """Compare model.loss_and_grad with centred differences of model.loss, tensor by tensor."""
    if model.dtype_name != "float64":
        raise ValueError("gradient checks need a float64 model: build it with dtype='float64'")
    rng = np.random.default_rng(0) if rng is None else rng
    loss, grads = model.loss_and_grad(tokens, targets)
    base = model.params.to_host()
    report = Report(model.name, loss, tol=tol)

    def loss_at(name, delta):
        model.params[name] = base[name] + delta
        val = model.loss(tokens, targets)
        model.params[name] = base[name]
        return val

    def rel(fd, an, scale=0.0):
        return abs(fd - an) / max(abs(fd), abs(an), scale, floor)

    for name in model.params:
        g = model.backend.to_host(grads[name])
        shape, size = g.shape, g.size
        errs = []
        if size <= full_max:
            method = "full"
            for i in range(size):
                e = np.zeros(size)
                e[i] = eps
                e = e.reshape(shape)
                fd = (loss_at(name, e) - loss_at(name, -e)) / (2 * eps)
                errs.append(rel(fd, g.reshape(-1)[i]))
        else:
            method = "directions+coords"
            scale = float(np.linalg.norm(g)) / np.sqrt(size)
            for _ in range(n_dirs):
                v = rng.normal(size=shape)
                v /= np.linalg.norm(v)
                fd = (loss_at(name, eps * v) - loss_at(name, -eps * v)) / (2 * eps)
                errs.append(rel(fd, float(np.sum(g * v)), scale))
            flat = np.abs(g).reshape(-1)
            coords = np.argsort(flat)[-n_coords:]            # the largest entries: informative coordinates
            for i in coords:
                e = np.zeros(size)
                e[i] = eps
                e = e.reshape(shape)
                fd = (loss_at(name, e) - loss_at(name, -e)) / (2 * eps)
                errs.append(rel(fd, g.reshape(-1)[i]))
        report.tensors.append(TensorCheck(name, shape, method, len(errs), float(max(errs)),
                                          float(np.linalg.norm(g))))
    return report
