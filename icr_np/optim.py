"""Optimisers, hand-written against the array namespace (SPEC 3.1). Each updates every tensor separately.

    ngd       theta <- theta - lr * g / ||g||_F   (the paper's rule; a tensor with ||g|| = 0 stays put;
              computed without underflow however small g is)
    gd        theta <- theta - lr * g
    momentum  v <- beta v + g;  theta <- theta - lr * v
    adam      Kingma & Ba, bias-corrected, eps 1e-8
No host-device round trip inside a step: norms stay on the device.
State is a dict of host arrays (state_dict / load_state_dict) so runs can stop and resume bit for bit.
"""
import numpy as np

OPTIMIZERS = ("ngd", "gd", "momentum", "adam")


class Optimizer:
    def __init__(self, lr, backend):
        if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr={lr!r} is invalid: need a finite number > 0")
        self.lr, self.backend, self.xp = float(lr), backend, backend.xp
        self.t = 0
        self.slots = {}          # name -> {slot: backend array}

    def step(self, params, grads):
        """params: the model's Params; updated tensor by tensor."""
        self.t += 1
        for k, g in grads.items():
            params.set_array(k, self.update(k, params[k], g))

    def state_dict(self):
        out = {"t": np.asarray(self.t)}
        for k, slots in self.slots.items():
            for s, v in slots.items():
                out[f"{k}.{s}"] = self.backend.to_host(v)
        return out

    def load_state_dict(self, state, dtype):
        self.t = int(state["t"])
        for key, v in state.items():
            if key == "t":
                continue
            k, s = key.split(".")
            self.slots.setdefault(k, {})[s] = self.backend.asarray(v, dtype=dtype)


class NGD(Optimizer):
    def update(self, k, p, g):
        # g / ||g|| computed as s / ||s|| with s = g / max|g|: the squares of a gradient below 1e-154
        # (float64; 1e-19 in float32) underflow to 0, and late in a run the gradient is that small.
        xp = self.xp
        m = xp.max(xp.abs(g))
        s = g / xp.where(m > 0, m, xp.ones_like(m))
        norm = xp.sqrt(xp.sum(s * s))
        return p - self.lr * s / xp.where(norm > 0, norm, xp.ones_like(norm))   # g = 0 -> no change


class GD(Optimizer):
    def update(self, k, p, g):
        return p - self.lr * g


class Momentum(Optimizer):
    def __init__(self, lr, backend, beta=0.9):
        Optimizer.__init__(self, lr, backend)
        self.beta = beta

    def update(self, k, p, g):
        slot = self.slots.setdefault(k, {})
        v = self.beta * slot["v"] + g if "v" in slot else g
        slot["v"] = v
        return p - self.lr * v


class Adam(Optimizer):
    def __init__(self, lr, backend, b1=0.9, b2=0.999, eps=1e-8):
        Optimizer.__init__(self, lr, backend)
        self.b1, self.b2, self.eps = b1, b2, eps

    def update(self, k, p, g):
        xp, slot = self.xp, self.slots.setdefault(k, {})
        m = self.b1 * slot["m"] + (1 - self.b1) * g if "m" in slot else (1 - self.b1) * g
        v = self.b2 * slot["v"] + (1 - self.b2) * g * g if "v" in slot else (1 - self.b2) * g * g
        slot["m"], slot["v"] = m, v
        mhat = m / (1 - self.b1 ** self.t)
        vhat = v / (1 - self.b2 ** self.t)
        return p - self.lr * mhat / (xp.sqrt(vhat) + self.eps)


def make_optimizer(name, lr, backend, momentum=0.9):
    if name == "ngd":
        return NGD(lr, backend)
    if name == "gd":
        return GD(lr, backend)
    if name == "momentum":
        return Momentum(lr, backend, beta=momentum)
    if name == "adam":
        return Adam(lr, backend)
    raise ValueError(f"optimizer={name!r} is unknown: choose one of {', '.join(OPTIMIZERS)}")
