"""Grids of runs on local worker processes or on a Dask cluster.

    cells = expand({"preset": "paper-noisy"}, {"model": ["origin", "reparam"], "alpha": [0.2, 0.5]})
    results = run_cells(cells, "sweeps/a", executor="local", workers=2)

Each cell is an ordinary run folder inside the sweep folder, named from the options that vary, and seeded
from its own --seed (never from the worker), so the table does not depend on the executor. A cell whose
summary says "finished" is never recomputed; an interrupted one is resumed from its checkpoint; so a sweep
killed halfway completes only what is missing when the command is repeated.
Dask is optional (the `cluster` extra) and imported only when asked for.
"""
import csv
import io
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import fields
import itertools
import multiprocessing

from icr_np import runio
from icr_np.config import RunConfig

EXECUTORS = ("local", "dask")
FINAL_COLUMNS = ("train_loss", "population_loss", "excess_risk", "ood_loss", "ood_excess_risk", "ood_p_output",
                 "ood_p_noise", "accuracy", "ood_accuracy", "lam", "nu", "train_time_s")
OPTION_COLUMNS = [f.name for f in fields(RunConfig)]


class Cell:
    def __init__(self, folder, config):
        self.folder, self.config = folder, config

    def __repr__(self):
        return f"Cell({self.folder!r})"


def _label(name, value):
    return f"{name}{value}".replace("/", "_").replace(" ", "")


def expand(base, grid):
    """One Cell per combination of the grid's values over the base options; folders named by what varies."""
    base, grid = dict(base), {k: list(v) for k, v in grid.items()}
    unknown = [k for k in list(base) + list(grid) if k not in OPTION_COLUMNS]
    if unknown:
        raise ValueError(f"--grid: unknown option {unknown[0]!r}: choose from {', '.join(OPTION_COLUMNS)}")
    for k, v in grid.items():
        if not v:
            raise ValueError(f"--{k.replace('_', '-')}: empty list of values")
    names = list(grid)
    cells, seen = [], set()
    for combo in itertools.product(*(grid[k] for k in names)):
        opts = {**base, **dict(zip(names, combo))}
        config = RunConfig(**opts)
        config.validate()
        varying = [_label(k, v) for k, v in zip(names, combo) if len(grid[k]) > 1 and k not in
                   ("model", "attention", "kappa", "scaled", "unembedding")]
        folder = "_".join([config.name] + varying)
        if folder in seen:
            raise ValueError(f"--grid: two cells would share the folder {folder!r}; vary fewer names at once")
        seen.add(folder)
        cells.append(Cell(folder, config))
    return cells


def run_cell(run_dir, config_dict):
    """Run (or resume, or just read) one cell in its folder; returns its summary. Runs in a worker."""
    from icr_np.train import resume, train
    summary_path = os.path.join(run_dir, runio.SUMMARY)
    if os.path.exists(summary_path):
        s = runio.read_json(summary_path)
        if s.get("status") == "finished":
            s["reused"] = True
            return s
    config = RunConfig.from_dict(config_dict)
    if os.path.exists(os.path.join(run_dir, runio.STATE)):
        return resume(run_dir)
    return train(config, out=run_dir, overwrite=True)


def is_done(run_dir):
    p = os.path.join(run_dir, runio.SUMMARY)
    return os.path.exists(p) and runio.read_json(p).get("status") == "finished"


def _check_same_config(run_dir, config):
    path = os.path.join(run_dir, runio.CONFIG)
    if not os.path.exists(path):
        return
    stored = runio.read_json(path).get("config", {})
    asked = config.to_dict()
    diff = [k for k in asked if stored.get(k) != asked[k]]
    if diff:
        k = diff[0]
        raise ValueError(f"{run_dir} holds a run with --{k.replace('_', '-')}={stored.get(k)!r}, this sweep asks "
                         f"{asked[k]!r}: give the sweep a new --out folder")


def run_cells(cells, out, executor="local", workers=None, scheduler=None, progress=None):
    """Run every cell not yet finished; return {folder: summary} for all cells, in grid order."""
    if executor not in EXECUTORS:
        raise ValueError(f"--executor={executor!r} is invalid: choose one of {', '.join(EXECUTORS)}")
    workers = workers or os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers={workers!r} is invalid: need an integer >= 1")
    if scheduler is not None and executor != "dask":
        raise ValueError("--scheduler needs --executor dask")
    if executor == "dask":      # before anything is written: a missing extra creates no folder
        _dask_distributed()
    for c in cells:             # before anything runs: a folder of another configuration is never reused
        _check_same_config(os.path.join(out, c.folder), c.config)
    runio.make_dir(out)
    results, todo = {}, []
    for c in cells:
        d = os.path.join(out, c.folder)
        if is_done(d):
            s = runio.read_json(os.path.join(d, runio.SUMMARY))
            s["reused"] = True
            results[c.folder] = s
        else:
            todo.append(c)
    done = len(results)
    if progress:
        progress(done, len(cells), None)
    if todo:
        runner = _run_dask if executor == "dask" else _run_local
        for folder, summary in runner(todo, out, workers, scheduler):
            results[folder] = summary
            done += 1
            if progress:
                progress(done, len(cells), folder)
    return {c.folder: results[c.folder] for c in cells}


def _jobs(cells, out):
    return [(os.path.join(out, c.folder), c.config.to_dict(), c.folder) for c in cells]


def _run_local(cells, out, workers, scheduler):
    # Always worker processes with one BLAS thread each, whatever K: the workers already use the cores,
    # and a cell's numbers must not depend on how many threads its matmuls got (nor on the executor).
    jobs = _jobs(cells, out)
    ctx = multiprocessing.get_context("spawn")
    old = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({k: "1" for k in old})
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            futures = {pool.submit(run_cell, run_dir, cfg): folder for run_dir, cfg, folder in jobs}
            for f in as_completed(futures):
                yield futures[f], f.result()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _dask_distributed():
    try:
        import dask.distributed
    except ImportError:
        raise ImportError("--executor dask needs dask.distributed: pip install -e .[cluster]") from None
    return dask.distributed


def _run_dask(cells, out, workers, scheduler):
    dd = _dask_distributed()
    Client, LocalCluster, dask_completed = dd.Client, dd.LocalCluster, dd.as_completed
    jobs = _jobs(cells, out)
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = [client.submit(run_cell, run_dir, cfg, key=f"icr_np-{folder}", pure=False)
                   for run_dir, cfg, folder in jobs]
        names = {f.key: folder for f, (_, _, folder) in zip(futures, jobs)}
        for f in dask_completed(futures):
            yield names[f.key], f.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def results_table(cells, results):
    """Rows of results.csv: the options of each cell (field names), then its final metrics."""
    rows = []
    for c in cells:
        s = results[c.folder]
        f = s["final"]
        row = {"cell": c.folder}
        row.update({k: getattr(c.config, k) for k in OPTION_COLUMNS})
        for k in FINAL_COLUMNS:
            if k == "lam":
                v = f["params"].get("lam")
                row[k] = json.dumps(v) if v is not None else None
            elif k == "nu":
                row[k] = f["params"].get("nu")
            elif k == "train_time_s":
                continue
            else:
                row[k] = f.get(k)
        rows.append(row)
    return rows


def write_results_csv(path, rows):
    cols = ["cell"] + OPTION_COLUMNS + [k for k in FINAL_COLUMNS if k != "train_time_s"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else (repr(r[k]) if isinstance(r[k], float) else r[k])) for k in cols})
    runio.atomic_write_bytes(path, buf.getvalue().encode())
