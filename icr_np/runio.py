"""Run folders on disk: atomic writes, the environment record, checkpoints.

A run folder holds config.json (configuration, seed, environment), metrics.jsonl (one row per
evaluation, flushed as it goes), params.npz (final parameters, host arrays), summary.json and, while a run
can still be resumed, state.npz (parameters, optimiser state, random-generator state, step).
Every file except metrics.jsonl is written to a temporary name and renamed, so a file is whole or absent.
"""
import datetime
import io
import json
import os
import platform
import subprocess
import sys

import numpy as np

CONFIG, METRICS, PARAMS, SUMMARY, STATE = "config.json", "metrics.jsonl", "params.npz", "summary.json", "state.npz"


def make_dir(path, option="--out"):
    """Create folder `path` (and its parents); an impossible path is a one-line ValueError naming `option`."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise ValueError(f"{option}={path} cannot be created ({e.strerror or e}): choose a folder you can "
                         "write to") from None


def atomic_write_bytes(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_jsonable) + "\n").encode())


def atomic_save_npz(path, arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_metrics(run_dir):
    rows = []
    path = os.path.join(run_dir, METRICS)
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:     # a row cut by a crash mid-write: drop it
                        break
    return rows


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")


class MetricsWriter:
    """Appends one JSON row per evaluation and flushes it at once."""

    def __init__(self, run_dir, keep_upto=None):
        path = os.path.join(run_dir, METRICS)
        if keep_upto is not None:   # resuming: keep the rows the checkpoint covers, drop any later ones
            rows = [r for r in read_metrics(run_dir) if r["step"] <= keep_upto]
            atomic_write_bytes(path, "".join(json.dumps(r, default=_jsonable) + "\n" for r in rows).encode())
        self.f = open(path, "a")

    def write(self, row):
        self.f.write(json.dumps(row, default=_jsonable) + "\n")
        self.f.flush()

    def close(self):
        self.f.close()


def new_run_dir(root, name):
    """A fresh folder root/<name>-<timestamp> (suffixed -2, -3 ... if taken); not yet created."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(root, f"{name}-{stamp}")
    path, k = base, 1
    while os.path.exists(path):
        k += 1
        path = f"{base}-{k}"
    return path


def is_run_dir(path):
    return os.path.isfile(os.path.join(path, CONFIG))


def git_commit():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def blas_threads():
    try:
        from threadpoolctl import threadpool_info
        return {i["internal_api"]: i["num_threads"] for i in threadpool_info()}
    except Exception:
        env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
               if k in os.environ}
        return env or f"unknown (threadpoolctl not installed; {os.cpu_count()} cores)"


def environment(backend):
    try:
        from importlib.metadata import version, PackageNotFoundError
        cupy_version = None
        for dist in ("cupy", "cupy-cuda12x", "cupy-cuda11x", "cupy-cuda13x"):
            try:
                cupy_version = version(dist)
                break
            except PackageNotFoundError:
                pass
    except ImportError:
        cupy_version = None
    return {"python": sys.version.split()[0], "numpy": np.__version__, "cupy": cupy_version,
            "backend": backend.name, "device": backend.device(), "blas_threads": blas_threads(),
            "platform": platform.platform(), "git_commit": git_commit(),
            "time": datetime.datetime.now().isoformat(timespec="seconds")}
