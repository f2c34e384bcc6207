"""One call on a GPU machine: check every variant on CuPy against NumPy in float64, then time the large
configurations on both backends. Prepared so that a single run of a few minutes does everything:

    python -m pip install -q -e ".[cupy]" && python benchmarks/device_check.py --out $OUT/device.json

Exits 1 if any variant disagrees (relative error above 1e-10). Writes JSON with the environment.
`--against strict --smoke` runs the same script on a CPU (array-api-strict in place of CuPy, small sizes):
the tests do that, so the script cannot rot between the sessions that have a GPU.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from backends import get_backend                                    # noqa: E402
from icr_np import RecallTask, build_model, runio                  # noqa: E402
from icr_np.config import parse_model_name                          # noqa: E402
from icr_np.gradcheck import randomize_params                       # noqa: E402
from icr_np.optim import make_optimizer                             # noqa: E402

VARIANTS = ("reparam-linear-FA", "reparam-relu-FA", "reparam-softmax-FA", "reparam-scaled-softmax-FA",
            "reparamW-linear-FA", "reparamW-relu-FA", "reparamW-softmax-FA", "origin-linear-FA",
            "origin-linear-F", "origin-relu-FA", "origin-softmax-FA", "origin-softmax-F")
LARGE = [dict(N=60, H=256, B=512), dict(N=60, H=4096, B=512), dict(N=2048, H=256, B=512),
         dict(N=60, H=256, B=4096), dict(N=512, H=4096, B=4096)]
AGREE = dict(H=64, B=256)
SMOKE = dict(H=16, B=16)                  # --smoke: the strict backend's scatter-add is a one-hot product
SMOKE_TIMING = [dict(N=60, H=32, B=8)]


def model(name, task, backend, dtype):
    p = parse_model_name(name)
    m = build_model(task, kind=p["model"], attention=p["attention"], kappa=p["kappa"], scaled=p["scaled"],
                    d_model=2 * task.vocab_size + 8, backend=backend, dtype=dtype)
    randomize_params(m, np.random.default_rng(0))
    return m


def agreement(alpha, other="cupy", H=AGREE["H"], B=AGREE["B"]):
    task = RecallTask.preset("paper-noisy", alpha=alpha, seq_len=H) if alpha else RecallTask.preset(
        "paper-noiseless", seq_len=H)
    b = task.sample(B, np.random.default_rng(1))
    rows = []
    for name in VARIANTS:
        out = {}
        for backend in ("numpy", other):
            m = model(name, task, backend, "float64")
            loss, g = m.loss_and_grad(b.tokens, b.targets)
            out[backend] = {"loss": np.asarray(loss), **{k: m.backend.to_host(v) for k, v in g.items()}}
        err = max(float(np.abs(out["numpy"][k] - out[other][k]).max() / max(1.0, np.abs(out["numpy"][k]).max()))
                  for k in out["numpy"])
        rows.append({"variant": name, "alpha": alpha, "max_rel_error": err})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def step_ms(name, cfg, backend, dtype, repeats):
    task = RecallTask(vocab_size=cfg["N"], n_triggers=5, n_outputs=4, active_triggers=1, seq_len=cfg["H"], alpha=0.5)
    m = model(name, task, backend, dtype)
    opt = make_optimizer("ngd", 0.1, m.backend)
    rng = np.random.default_rng(2)
    batches = [task.sample(cfg["B"], rng) for _ in range(3)]

    def step(b):
        _, g = m.loss_and_grad(b.tokens, b.targets, as_array=True)
        opt.step(m.params, g)
        m.backend.synchronize()

    for b in batches:
        step(b)
    ts = []
    for i in range(repeats):
        t0 = time.perf_counter()
        step(batches[i % 3])
        ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="device.json")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--against", default="cupy", help="the backend checked against NumPy (default cupy)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: a CPU check of the script")
    a = ap.parse_args(argv)
    other = a.against
    env = runio.environment(get_backend(other))
    sizes = SMOKE if a.smoke else AGREE
    result = {"environment": env, "against": other, "smoke": a.smoke,
              "agreement": agreement(0.0, other, **sizes) + agreement(0.5, other, **sizes), "timing": []}
    bad = [r for r in result["agreement"] if r["max_rel_error"] > 1e-10]
    for cfg in (SMOKE_TIMING if a.smoke else LARGE):
        for name in ("reparam-linear-FA", "origin-softmax-FA"):
            row = {**cfg, "variant": name, "dtype": "float32"}
            for backend in ("numpy", other):
                row[f"{backend}_ms"] = step_ms(name, cfg, backend, "float32", 1 if a.smoke else a.repeats)
            row["speedup"] = row["numpy_ms"] / row[f"{other}_ms"]
            result["timing"].append(row)
            print(json.dumps(row), flush=True)
    runio.atomic_write_json(a.out, result)
    print("wrote", a.out, "; disagreeing variants:", len(bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
