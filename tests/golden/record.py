"""Record the golden trajectories once: python -m tests.golden.record (from the repository root).

A short seeded population run per variant; its per-step training losses are written to trajectories.json
and the test replays them on every backend available. Re-record only when a change of the numbers is
intended, and say why in the commit.
"""
import json
import os

import numpy as np

from icr_np import RecallTask, build_model
from icr_np.optim import make_optimizer

VARIANTS = [("origin", "softmax", 1, False, "ngd"), ("origin", "linear", 1, False, "adam"),
            ("reparam", "linear", 1, False, "ngd"), ("reparam", "softmax", 1, True, "ngd"),
            ("reparamW", "relu", 1, False, "momentum"), ("origin", "relu", 0, False, "gd")]
STEPS = 12


def trajectory(kind, attention, kappa, scaled, optimizer, backend="numpy"):
    task = RecallTask(vocab_size=16, n_triggers=3, n_outputs=3, active_triggers=2, seq_len=12, alpha=0.3)
    model = build_model(task, kind=kind, attention=attention, kappa=kappa, d_model=32, scaled=scaled,
                        backend=backend)
    opt = make_optimizer(optimizer, 0.1, model.backend)
    rng = np.random.default_rng(2024)
    losses = []
    for _ in range(STEPS):
        b = task.sample(32, rng)
        loss, grads = model.loss_and_grad(b.tokens, b.targets)
        opt.step(model.params, grads)
        losses.append(loss)
    return losses


def key(v):
    return "{}-{}-k{}{}-{}".format(v[0], v[1], v[2], "-scaled" if v[3] else "", v[4])


if __name__ == "__main__":
    out = {key(v): trajectory(*v) for v in VARIANTS}
    path = os.path.join(os.path.dirname(__file__), "trajectories.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)
