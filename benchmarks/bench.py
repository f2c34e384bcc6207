"""Benchmarks of icr_np, run on demand: `python cli.py bench` or `python benchmarks/bench.py`.

Measures, in one process, with pairs alternated and medians reported:
- one training step (sample, forward, backward, NGD update) of every variant at the paper's size, NumPy
  float32 and float64, and, when PyTorch is installed, the same step in PyTorch autograd written densely
  (W x[h] at every position) and in the efficient order;
- the sampler alone;
- scaling of the step in H, N and B;
- FLOP and byte counts per step (a cost model of the index path) with the achieved rates against the
  matmul rate and the copy bandwidth measured on the same machine; peak memory (tracemalloc).
Results go to a JSON file with the environment. Speed is never asserted in the tests.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc

import numpy as np

# PyTorch's OpenMP threads spin after each parallel region by default, stealing the cores from the NumPy
# step measured right after them; passive waiting keeps the alternated pairs fair.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from icr_np import RecallTask, build_model, runio                  # noqa: E402
from icr_np.config import parse_model_name                          # noqa: E402
from icr_np.gradcheck import randomize_params                       # noqa: E402
from icr_np.optim import make_optimizer                             # noqa: E402

VARIANTS = ("reparam-linear-FA", "reparam-relu-FA", "reparam-softmax-FA", "reparam-scaled-softmax-FA",
            "reparamW-linear-FA", "reparamW-softmax-FA", "origin-linear-FA", "origin-relu-FA",
            "origin-softmax-FA", "origin-softmax-F")
BLOCK = 3     # timed calls per callable and round; the first of each block is a warm-up (see median_ms)


def build(name, task, dtype, backend="numpy"):
    p = parse_model_name(name)
    m = build_model(task, kind=p["model"], attention=p["attention"], kappa=p["kappa"], scaled=p["scaled"],
                    d_model=max(128, 2 * task.vocab_size + 8), dtype=dtype, backend=backend)
    randomize_params(m, np.random.default_rng(0))
    return m


class NumpyStep:
    def __init__(self, name, task, B, dtype, backend="numpy"):
        self.task, self.B = task, B
        self.m = build(name, task, dtype, backend)
        self.opt = make_optimizer("ngd", 0.1, self.m.backend)
        self.rng = np.random.default_rng(1)

    def __call__(self):
        b = self.task.sample(self.B, self.rng)
        _, g = self.m.loss_and_grad(b.tokens, b.targets, as_array=True)
        self.opt.step(self.m.params, g)
        self.m.backend.synchronize()


class TorchStep:
    def __init__(self, name, task, B, dtype, form):
        import torch
        from torch_reference import TorchModel
        self.torch = torch
        self.task, self.B = task, B
        self.tm = TorchModel(build(name, task, dtype), form)
        self.rng = np.random.default_rng(1)

    def __call__(self):
        b = self.task.sample(self.B, self.rng)
        self.tm.step(b.tokens, b.targets, 0.1)


def median_ms(fns, repeats, warmup=2, block=1):
    """Time callables alternately (a, b, c, a, b, c, ...); return the median of each in ms.

    block > 1 runs each callable `block` times in a row per round and keeps all but the first of them:
    still alternated (machine noise hits every callable alike), but each is timed with its own data in
    the caches, as in its own training loop, not right after another implementation flushed them.
    """
    for f in fns:
        for _ in range(warmup):
            f()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, f in enumerate(fns):
            for k in range(block):
                t0 = time.perf_counter()
                f()
                if k or block == 1:
                    times[i].append(time.perf_counter() - t0)
    return [1e3 * statistics.median(t) for t in times]


def machine_rates(dtype):
    """Achievable rates here: a square matmul (FLOP/s) and a large copy (bytes/s), medians of 5."""
    n = 512
    a = np.random.default_rng(0).random((n, n)).astype(dtype)
    mm = median_ms([lambda: a @ a], 5)[0] / 1e3
    big = np.random.default_rng(0).random(8_000_000).astype(dtype)
    cp = median_ms([lambda: big.copy()], 5)[0] / 1e3
    return {"matmul_flops_per_s": 2 * n ** 3 / mm, "copy_bytes_per_s": 2 * big.nbytes / cp}


def step_cost(name, B, H, N, d, itemsize, noisy=True, K=1):
    """A cost model of one index-path step: FLOPs and bytes moved (approximate, stated in the README).

    Elementwise work on the [B, H] scores (two gathers, two scatter-adds, sigma and its derivative, forward
    and backward); the readout matmuls [B, d] x [d, N] that remain (with the fixed one-hot U, U^T s and
    U g are slices, so reparam's attention path has none); reparam's factored W (B*K*d each way); the
    d x d work of origin and reparamW (dW as 2Bd scatter-adds, the NGD update of each d x d tensor).
    """
    p = parse_model_name(name)
    BH = B * H
    sig = {"linear": 0, "relu": 3, "softmax": 8}[p["attention"]]
    flops = BH * (2 + 2 + 2 + sig + 2)
    byts = BH * itemsize * (3 + 3 + 4 + 2 + sig) + BH * 8 * 4           # values, and int64 indices read 4 times
    n_mm = 6 if p["model"] == "origin" else (2 if noisy else 0)          # xi, dL/dx and dP per path
    flops += n_mm * 2 * B * d * N
    byts += n_mm * (B * d + N * d + B * N) * itemsize
    if p["model"] == "reparam":
        flops += 2 * 2 * B * K * d
    else:
        n_dd = 3 if p["model"] == "origin" else 1
        flops += 2 * B * d + n_dd * 6 * d * d
        byts += n_dd * 4 * d * d * itemsize
    byts += B * N * 8 * 6 + B * d * itemsize * 8                          # loss in float64, [B, d] vectors
    return flops, byts


def peak_memory_bytes(fn):
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def environment():
    from backends import get_backend
    env = runio.environment(get_backend("numpy"))
    try:
        import torch
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
    except ImportError:
        env["torch"] = None
    env["cpu"] = platform.processor() or platform.machine()
    env["cores"] = os.cpu_count()
    return env


def bench_variants(repeats, with_torch, dtype="float32"):
    task = RecallTask.preset("paper-noisy")
    B = 512
    rows = []
    have_torch = False
    if with_torch:
        try:
            import torch  # noqa: F401
            have_torch = True
        except ImportError:
            pass
    rates = machine_rates(dtype)
    for name in VARIANTS:
        fns = [NumpyStep(name, task, B, dtype)]
        if have_torch:
            fns += [TorchStep(name, task, B, dtype, "efficient"), TorchStep(name, task, B, dtype, "dense")]
        ms = median_ms(fns, repeats if not have_torch else max(3, repeats // 3), block=BLOCK)
        d = fns[0].m.d_model
        flops, byts = step_cost(name, B, task.seq_len, task.vocab_size, d, np.dtype(dtype).itemsize)
        row = {"variant": name, "dtype": dtype, "numpy_ms": ms[0],
               "gflops_per_s": flops / ms[0] / 1e6, "gbytes_per_s": byts / ms[0] / 1e6,
               "flops": flops, "bytes": byts,
               "matmul_fraction": flops / (ms[0] / 1e3) / rates["matmul_flops_per_s"],
               "bandwidth_fraction": byts / (ms[0] / 1e3) / rates["copy_bytes_per_s"],
               "peak_bytes": peak_memory_bytes(fns[0])}
        if have_torch:
            row.update(torch_efficient_ms=ms[1], torch_dense_ms=ms[2], speedup_vs_efficient=ms[1] / ms[0],
                       speedup_vs_dense=ms[2] / ms[0])
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows, rates


def bench_sampler(repeats):
    task = RecallTask.preset("paper-noisy")
    rng = np.random.default_rng(0)
    step = NumpyStep("reparam-linear-FA", task, 512, "float32")
    s, st = median_ms([lambda: task.sample(512, rng), step], repeats, block=BLOCK)
    return {"sample_ms": s, "step_ms": st, "fraction_of_step": s / st}


def bench_scaling(repeats, quick):
    grid = []
    Hs = (256, 1024) if quick else (256, 1024, 4096)
    Ns = (60, 512) if quick else (60, 512, 2048)
    Bs = (512, 2048) if quick else (512, 4096)
    for H in Hs:
        grid.append(dict(H=H, N=60, B=512))
    for N in Ns[1:]:
        grid.append(dict(H=256, N=N, B=512))
    for B in Bs[1:]:
        grid.append(dict(H=256, N=60, B=B))
    rows = []
    for g in grid:
        task = RecallTask(vocab_size=g["N"], n_triggers=5, n_outputs=4, active_triggers=1, seq_len=g["H"], alpha=0.5)
        for name in ("reparam-linear-FA", "origin-softmax-FA"):
            f = NumpyStep(name, task, g["B"], "float32")
            ms = median_ms([f], max(3, repeats // 2), block=BLOCK)[0]
            row = {**g, "variant": name, "d": f.m.d_model, "numpy_ms": ms, "peak_bytes": peak_memory_bytes(f)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def markdown(result):
    """The tables of benchmarks/README.md from a result (so the README quotes the JSON, not a retyping)."""
    env, out = result["environment"], []
    out.append(f"Machine: {env.get('cpu')}, {env.get('cores')} cores, NumPy {env.get('numpy')}, "
               f"PyTorch {env.get('torch') or 'not installed'} ({env.get('torch_threads')} threads), "
               f"BLAS threads {env.get('blas_threads')}; git {str(env.get('git_commit'))[:10]}; "
               f"{result['config']['repeats']} alternated rounds of {result['config'].get('block', 1)} calls "
               "per implementation (the first of each block a warm-up), medians.")
    r = result["rates"]
    out.append(f"Machine rates (float32): matmul {r['matmul_flops_per_s'] / 1e9:.0f} GFLOP/s, copy "
               f"{r['copy_bytes_per_s'] / 1e9:.1f} GB/s.\n")
    f64 = {row["variant"]: row for row in result.get("variants_float64", [])}
    torch = "torch_dense_ms" in result["variants"][0]
    head = ["variant", "NumPy f32 ms", "NumPy f64 ms"]
    if torch:
        head += ["PyTorch efficient ms", "PyTorch dense ms", "x vs efficient", "x vs dense"]
    head += ["GFLOP/s", "of matmul rate", "GB/s", "of copy rate", "peak MB"]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result["variants"]:
        cells = [row["variant"], f"{row['numpy_ms']:.2f}", f"{f64[row['variant']]['numpy_ms']:.2f}"
                 if row["variant"] in f64 else "-"]
        if torch:
            cells += [f"{row['torch_efficient_ms']:.1f}", f"{row['torch_dense_ms']:.1f}",
                      f"{row['speedup_vs_efficient']:.1f}", f"{row['speedup_vs_dense']:.1f}"]
        cells += [f"{row['gflops_per_s']:.1f}", f"{row['matmul_fraction']:.1%}", f"{row['gbytes_per_s']:.1f}",
                  f"{row['bandwidth_fraction']:.1%}", f"{row['peak_bytes'] / 1e6:.1f}"]
        out.append("| " + " | ".join(cells) + " |")
    sm = result["sampler"]
    out.append(f"\nSampler: {sm['sample_ms']:.3f} ms for 512 sentences of 256 tokens, against a "
               f"reparam-linear-FA step of {sm['step_ms']:.3f} ms measured alternately: "
               f"{sm['fraction_of_step']:.3f} of a step.\n")
    out += ["| H | N | B | variant | d | NumPy f32 ms | peak MB |", "|---|---|---|---|---|---|---|"]
    for row in result["scaling"]:
        out.append(f"| {row['H']} | {row['N']} | {row['B']} | {row['variant']} | {row['d']} | "
                   f"{row['numpy_ms']:.2f} | {row['peak_bytes'] / 1e6:.1f} |")
    return "\n".join(out) + "\n"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "results", "bench.json"))
    ap.add_argument("--repeats", type=int, default=None, help="alternated repeats per timing (default 21; "
                    "--quick: 7)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats and a smaller scaling grid")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    a = ap.parse_args(argv)
    if a.repeats is not None and a.repeats < 1:
        ap.error(f"argument --repeats: need an integer >= 1, got {a.repeats}")
    return a


def main(argv=None):
    a = parse_args(argv)
    reps = a.repeats or (7 if a.quick else 21)
    result = {"environment": environment(), "config": {"N": 60, "d": 128, "H": 256, "B": 512, "repeats": reps,
                                                    "block": BLOCK}}
    result["variants"], result["rates"] = bench_variants(reps, not a.no_torch)
    result["variants_float64"] = bench_variants(reps, False, "float64")[0]
    result["sampler"] = bench_sampler(reps)
    print(json.dumps(result["sampler"]), flush=True)
    result["scaling"] = bench_scaling(reps, a.quick)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    runio.atomic_write_json(a.out, result)
    md = os.path.splitext(a.out)[0] + ".md"
    runio.atomic_write_bytes(md, markdown(result).encode())
    print("wrote", a.out, "and", md)
    return result


if __name__ == "__main__":
    main()
