"""The command line: a thin layer over the library (`python cli.py COMMAND --help`).

Every bad value is answered with one line naming the option, the value and what is allowed, exit code 2,
before anything is written. Ctrl-C finishes the current step, saves, and exits 130 (resume with --resume).
"""
import contextlib
import io
import json
import os
import sys
import time

import click

from backends import NAMES as BACKENDS
from icr_np.attention import ATTENTIONS
from icr_np.config import FIGURE1_MODELS, MODEL_NAME_HELP, RunConfig, parse_model_name
from icr_np.inputs import EMBEDDINGS
from icr_np.optim import OPTIMIZERS
from icr_np.parameterisations import KINDS
from icr_np.task import FILLERS, PRESETS


class UsageFail(click.UsageError):
    pass


# ---- options shared by run, compare and sweep ------------------------------------------------------------
def task_options(f):
    opts = [
        click.option("--preset", type=click.Choice(sorted(PRESETS)), default="paper-noisy", show_default=True,
                     help="Task preset (SPEC 1.3); the options below override its fields."),
        click.option("--alpha", type=float, default=None, help="Noise probability in [0, 1) (preset: 0.5 noisy, 0 noiseless)."),
        click.option("--vocab", type=int, default=None, help="Vocabulary size N (preset 60)."),
        click.option("--triggers", type=int, default=None, help="Trigger tokens Q (preset 5)."),
        click.option("--outputs", type=int, default=None, help="Training output tokens Y (preset 4)."),
        click.option("--active-triggers", type=int, default=None, help="Triggers queries are drawn from, A (noiseless 5, noisy 1)."),
        click.option("--seq-len", type=int, default=None, help="Context length H (preset 256)."),
        click.option("--planted", type=int, default=None, help="Extension: planted (q, y) bigrams per sentence (paper 1)."),
        click.option("--filler", type=click.Choice(FILLERS), default=None, help="Extension: filler i.i.d. uniform (paper) or from a fixed Markov chain."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def train_options(f):
    opts = [
        click.option("--d-model", type=int, default=128, show_default=True, help="Width d (one-hot needs d >= 2N)."),
        click.option("--embeddings", type=click.Choice(EMBEDDINGS), default="onehot", show_default=True,
                     help="One-hot (the paper) or Gaussian N(0, 1/d) embeddings (extension)."),
        click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="ngd", show_default=True,
                     help="ngd: normalised GD per tensor (the paper's); gd, momentum, adam for comparison."),
        click.option("--lr", type=float, default=0.1, show_default=True, help="Step size eta (paper 0.1 and 0.5)."),
        click.option("--momentum", type=float, default=0.9, show_default=True, help="Momentum coefficient (--optimizer momentum)."),
        click.option("--steps", type=int, default=None,
                     help="Population regime: training steps (default 300, which finishes in seconds; the paper runs 2000)."),
        click.option("--batch", type=int, default=512, show_default=True, help="Batch size B."),
        click.option("--samples", type=int, default=None, help="Finite-sample regime: M sentences drawn once (paper 2048)."),
        click.option("--epochs", type=int, default=None, help="Finite-sample regime: epochs (default 100)."),
        click.option("--eval-every", type=int, default=None, help="Steps between evaluations (default 10; finite regime: one epoch)."),
        click.option("--eval-size", type=int, default=4096, show_default=True, help="In-distribution evaluation sentences."),
        click.option("--ood-size", type=int, default=512, show_default=True, help="OOD (unseen output) evaluation sentences."),
        click.option("--ood-seq-len", type=int, default=None,
                     help="Extension: context length H of the OOD sentences (default: the training H), a length shift on top of the unseen outputs."),
        click.option("--backend", type=click.Choice(BACKENDS), default="numpy", show_default=True,
                     help="Array backend: numpy (CPU), cupy (GPU), strict (array-api-strict, for testing)."),
        click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True,
                     help="Training dtype; metrics are always computed in float64."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seeds the data and evaluation sets."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def model_options(f):
    opts = [
        click.option("--model", type=click.Choice(KINDS), default="reparam", show_default=True,
                     help="origin: W, V, F trained; reparam: the paper's construction, lam trained; reparamW: W trained, V = I."),
        click.option("--attention", type=click.Choice(ATTENTIONS), default="linear", show_default=True,
                     help="linear (no normalisation), relu (with the paper's +1e-8) or softmax (no 1/sqrt(d))."),
        click.option("--kappa", type=click.IntRange(0, 1), default=1, show_default=True,
                     help="1: the feed-forward map also sees the attention output (-FA); 0: only the residual (-F)."),
        click.option("--scaled/--no-scaled", default=False, show_default=True,
                     help="Decision (the project's reading of the softmax result): reparam with a trainable nu "
                          "scaling the attention output, V = nu I, so softmax can reach the Bayes risk."),
        click.option("--unembedding/--no-unembedding", default=False, show_default=True,
                     help="Decision: also train the unembedding U (origin only)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def make_config(**kw):
    cfg = RunConfig(**{k: v for k, v in kw.items() if k in RunConfig.__dataclass_fields__})
    cfg.validate()
    return cfg


# ---- progress and tables --------------------------------------------------------------------------------
class Progress:
    """A live line on stderr when it is a terminal: step, loss, excess risk, OOD loss."""

    def __init__(self, enabled, label=""):
        self.on = enabled and sys.stderr.isatty()
        self.label, self.last, self.row = label, 0.0, None

    def __call__(self, t, T, row):
        if row is not None:
            self.row = row
        now = time.monotonic()
        if not self.on or (now - self.last < 0.1 and t != T):
            return
        self.last = now
        r = self.row or {}
        msg = f"\r{self.label}step {t:>{len(str(T))}}/{T} {int(100 * t / max(T, 1)):3d}%"
        if r:
            msg += (f"  loss {r['population_loss']:.6f}  excess {r['excess_risk']:.3e}"
                    f"  OOD loss {r['ood_loss']:.6f}")
        sys.stderr.write(msg)
        sys.stderr.flush()
        if t == T:
            sys.stderr.write("\n")


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    if isinstance(v, float):
        if v == 0 or (1e-3 <= abs(v) < 1e5):
            return f"{v:.6f}"
        return f"{v:.3e}"
    return str(v)


def table(header, rows):
    cols = [header] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in cols) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in cols]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_table(summary, config):
    f, th = summary["final"], summary["theory"]
    T = summary["steps"]
    rows = [("Bayes risk", summary["bayes_risk"], th.get("bayes_risk")),
            ("population loss", f["population_loss"], th.get("loss")),
            ("excess risk", f["excess_risk"], th.get("excess_risk")),
            ("training loss", f["train_loss"], None),
            ("OOD loss", f["ood_loss"], th.get("loss")),
            ("OOD p(output)", f["ood_p_output"], th.get("ood_p_output"))]
    if f.get("ood_p_noise") is not None:
        rows.append(("OOD p(tau)", f["ood_p_noise"], th.get("ood_p_noise")))
    rows.append(("accuracy", f["accuracy"], None))
    lam = f["params"].get("lam")
    if lam is not None:
        rows.append(("lam", lam, th.get("lam")))
        if th.get("lam_printed") is not None:
            rows.append(("lam, printed eta t/|Q|", None, th.get("lam_printed")))
    if f["params"].get("nu") is not None:
        rows.append(("nu", f["params"]["nu"], None))
    if th.get("finite_sample_floor") is not None:
        rows.append(("finite-sample floor", None, th["finite_sample_floor"]))
    regime = f"finite M={config.samples}, {summary['epochs']} epochs" if config.finite else "population"
    head = (f"{summary['name']}: {config.preset}, alpha {config.task().alpha}, {config.optimizer} lr {config.lr}, "
            f"{T} steps ({regime}), {summary['train_time_s']:.2f} s training\nrun folder: {summary['run_dir']}")
    theory_col = "theory (SPEC 4)" if th.get("applies") else "theory (n/a for this model)"
    return head + "\n" + table(["", "measured", theory_col], rows)


# ---- the commands -------------------------------------------------------------------------------------
@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="icr_np", message="icr_np %(version)s")
def cli():
    """icr_np: one-layer attention transformers learning in-context recall (arXiv 2505.15009), in NumPy."""


@cli.command()
@task_options
@model_options
@train_options
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run folder (default runs/<model-name>-<timestamp>). Never overwritten without --overwrite.")
@click.option("--overwrite", is_flag=True, help="Replace the files of an existing run folder.")
@click.option("--resume", "resume_dir", type=click.Path(), default=None,
              help="Continue the interrupted run in this folder to its configured steps (other options are ignored).")
@click.option("--json", "as_json", is_flag=True, help="Print only the summary, as one JSON object on stdout.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Live progress line on stderr (terminals only).")
def run(out, overwrite, resume_dir, as_json, progress, **kw):
    """Train one variant and write config.json, metrics.jsonl, params.npz and summary.json.

    With no options: the paper's noisy preset (alpha 0.5), reparam, linear attention, kappa 1, NGD lr 0.1,
    300 steps: the loss falls to the Bayes risk log 2 and the OOD loss follows.
    """
    from icr_np.train import resume, train
    if resume_dir is not None:
        if not os.path.isdir(resume_dir):
            raise ValueError(f"--resume={resume_dir} does not exist: give the folder of an interrupted run")
        summary = resume(resume_dir, progress=Progress(progress and not as_json))
        from icr_np import runio
        config = RunConfig.from_dict(runio.read_json(os.path.join(resume_dir, runio.CONFIG))["config"])
    else:
        config = make_config(**kw)
        summary = train(config, out=out, progress=Progress(progress and not as_json), overwrite=overwrite)
    if as_json:
        click.echo(json.dumps(summary, default=float))
    else:
        click.echo(run_table(summary, config))


@cli.command()
@click.option("--models", default=",".join(FIGURE1_MODELS), show_default=True,
              help=f"Comma-separated model names: {MODEL_NAME_HELP}.")
@task_options
@train_options
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for the runs, one subfolder per model (default runs/compare-<timestamp>).")
@click.option("--overwrite", is_flag=True, help="Replace existing run folders.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def compare(models, out, overwrite, progress, **kw):
    """Train several variants on the same data (same seed) and print one table (default: Figure 1's five)."""
    from icr_np import runio
    from icr_np.train import train
    names = [m.strip() for m in models.split(",") if m.strip()]
    if not names:
        raise ValueError("--models='' is empty: give at least one model name")
    configs = [make_config(**{**kw, **parse_model_name(n)}) for n in names]
    out = out or runio.new_run_dir("runs", "compare")
    for c in configs:
        d = os.path.join(out, c.name)
        if os.path.exists(d) and os.listdir(d) and not overwrite:
            raise ValueError(f"--out={out} already holds {c.name}: choose a new folder or pass --overwrite")
    rows = []
    for c in configs:
        s = train(c, out=os.path.join(out, c.name), progress=Progress(progress, f"{c.name:22s} "), overwrite=overwrite)
        f = s["final"]
        rows.append((c.name, f["population_loss"], f["excess_risk"], f["ood_loss"], f["ood_p_output"],
                     f.get("ood_p_noise"), f["accuracy"], s["train_time_s"]))
    task = configs[0].task()
    click.echo(f"{configs[0].preset}, alpha {task.alpha}, Bayes risk {task.bayes_risk():.6f}, "
               f"{configs[0].total_steps} steps, lr {configs[0].lr}; runs in {out}")
    click.echo(table(["model", "pop. loss", "excess", "OOD loss", "OOD p(y)", "OOD p(tau)", "accuracy", "train s"], rows))


@cli.command()
@click.option("--models", default=None, help=f"Comma-separated model names ({MODEL_NAME_HELP}); default: every variant.")
@click.option("--alpha", "alphas", default="0,0.3", show_default=True, help="Comma-separated noise levels to check.")
@click.option("--tol", type=float, default=1e-6, show_default=True, help="Largest relative error allowed per tensor.")
@click.option("--seed", type=int, default=0, show_default=True)
def gradcheck(models, alphas, tol, seed):
    """Check every trainable tensor of every variant against centred finite differences (float64).

    Small task (N 12, Q 2, Y 3, H 10, d 24, B 6) at random non-degenerate parameters; exits 1 on failure.
    """
    import numpy as np
    from icr_np import RecallTask, build_model
    from icr_np.gradcheck import check_gradients, randomize_params
    if models:
        specs = [parse_model_name(m.strip()) for m in models.split(",") if m.strip()]
    else:
        specs = [dict(model=k, attention=a, kappa=kp, scaled=s, unembedding=False)
                 for k in KINDS for a in ATTENTIONS for kp in (1, 0) for s in (False, True) if not s or k == "reparam"]
        specs.append(dict(model="origin", attention="softmax", kappa=1, scaled=False, unembedding=True))
    try:
        alpha_list = [float(a) for a in alphas.split(",")]
    except ValueError:
        raise ValueError(f"--alpha={alphas!r} is invalid: give comma-separated numbers in [0, 1)") from None
    failed = 0
    for alpha in alpha_list:
        task = RecallTask(vocab_size=12, n_triggers=2, n_outputs=3, active_triggers=2, seq_len=10, alpha=alpha)
        b = task.sample(6, np.random.default_rng(seed))
        for s in specs:
            m = build_model(task, kind=s["model"], attention=s["attention"], kappa=s["kappa"], d_model=24,
                            scaled=s["scaled"], train_unembedding=s["unembedding"])
            randomize_params(m, np.random.default_rng(seed + 1))
            r = check_gradients(m, b.tokens, b.targets, tol=tol)
            failed += not r.ok
            click.echo(f"alpha {alpha}  " + "\n".join(r.lines()))
    click.echo(f"{'FAILED' if failed else 'all passed'}: {failed} of {len(specs) * len(alpha_list)} variants failed")
    sys.exit(1 if failed else 0)


@cli.command()
@task_options
@click.option("--lr", type=float, default=0.1, show_default=True, help="Step size eta.")
@click.option("--steps", "steps", default="0,10,50,100,200,500,1000,2000", show_default=True,
              help="Comma-separated step counts t.")
def theory(steps, lr, **kw):
    """Closed-form predictions of SPEC 4 for reparam-linear under NGD: lam_t, loss_t, Bayes risk, OOD, roles."""
    from icr_np import theory as th
    cfg = make_config(lr=lr, **kw)
    task = cfg.task()
    try:
        ts = [int(s) for s in steps.split(",")]
    except ValueError:
        raise ValueError(f"--steps={steps!r} is invalid: give comma-separated integers >= 0") from None
    if any(t < 0 for t in ts):
        raise ValueError(f"--steps={steps!r} is invalid: give comma-separated integers >= 0")
    click.echo(f"{cfg.preset}: N {task.vocab_size}, A {task.active_triggers}, alpha {task.alpha}, eta {lr}; "
               f"Bayes risk {task.bayes_risk():.6f}")
    if task.noisy:
        click.echo(f"lam_t = eta t (exact); argmax xi_F = tau after t > {th.role_separation_step(task, lr):g} steps")
        rows = [(t,) + tuple(th.predictions(task, lr, t)[k] for k in ("lam", "loss", "excess_risk", "ood_p_output", "ood_p_noise")) for t in ts]
        click.echo(table(["t", "lam_t", "loss_t", "excess", "OOD p(y)", "OOD p(tau)"], rows))
    else:
        click.echo("lam_t = eta t / sqrt(A) (reviewer's argument); the paper prints eta t / |Q|")
        rows = [(t,) + tuple(th.predictions(task, lr, t)[k] for k in ("lam", "loss", "excess_risk", "ood_p_output", "lam_printed", "loss_printed")) for t in ts]
        click.echo(table(["t", "lam_t", "loss_t", "excess", "OOD p(y)", "lam (printed)", "loss (printed)"], rows))
    r = th.rate(task, lr)
    click.echo(f"predicted slope of log(excess) vs t: {r['sqrt']:.6g} (sqrt rule), {r['printed']:.6g} (printed)")


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Image path (default RUN_DIR/curves.png, plus .pdf).")
def plot(run_dir, out):
    """Loss and excess-risk curves of a saved run, with the Bayes risk and the theory drawn (needs matplotlib)."""
    from icr_np import plots, runio
    if not runio.is_run_dir(run_dir):
        raise ValueError(f"RUN_DIR={run_dir} does not hold a run (no config.json): give a run folder")
    paths = plots.plot_run(run_dir, out)
    click.echo("wrote " + ", ".join(paths))


@cli.command()
@click.option("--figure", "figures", default="all", show_default=True,
              help="Comma-separated: fig1, fig2, appendix, roles, theory, or all.")
@click.option("--quick", is_flag=True, help="Smaller runs and grids: the whole set in a few minutes on two cores.")
@click.option("--out", type=click.Path(file_okay=False), default="reproduction", show_default=True,
              help="Output folder: runs/, the figures (PNG, PDF, JSON data) and REPORT.md. Finished runs are reused.")
@click.option("--workers", type=int, default=None, help="Worker processes (default: the number of cores).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: worker processes; dask: a local Dask cluster, or --scheduler's.")
@click.option("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT (with --executor dask).")
@click.option("--progress/--no-progress", default=True, show_default=True)
def reproduce(figures, quick, out, workers, executor, scheduler, progress):
    """Run the paper's experiments (SPEC 5), draw every figure with theory overlays, write REPORT.md."""
    from icr_np.reproduce import reproduce as go
    if workers is not None and workers < 1:
        raise ValueError(f"--workers={workers} is invalid: need an integer >= 1")
    t0 = time.time()
    path = go(out=out, figures=tuple(f.strip() for f in figures.split(",")), quick=quick, workers=workers,
              executor=executor, scheduler=scheduler, progress=CellProgress(progress))
    click.echo(f"wrote {path} ({time.time() - t0:.0f} s)")


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args):
    """Run the benchmarks in the repository's benchmarks/ folder (options: --quick, --repeats R, --out FILE,
    --no-torch; `python benchmarks/bench.py --help` lists them).

    Results go to benchmarks/results/bench.json by default; see benchmarks/README.md for the table.
    """
    import importlib.util
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(here, "benchmarks", "bench.py")
    if not os.path.exists(path):
        raise ValueError(f"bench needs the repository's benchmarks/ folder (looked for {path}): run it from a clone")
    spec = importlib.util.spec_from_file_location("icr_np_bench", path)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(path))
    spec.loader.exec_module(mod)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):    # argparse prints usage + error; we answer in one line
            mod.parse_args(list(args))
    except SystemExit as e:
        if e.code in (0, None):
            return
        why = [ln for ln in err.getvalue().splitlines() if "error:" in ln]
        why = why[-1].split("error:", 1)[1].strip() if why else f"invalid arguments {' '.join(args)!r}"
        raise ValueError(f"bench: {why}: see python benchmarks/bench.py --help") from None
    mod.main(list(args))


def _sweep_options(f):
    """One --option per run option, each taking a comma-separated list of values."""
    from dataclasses import fields
    for fld in reversed(fields(RunConfig)):
        name = "--" + fld.name.replace("_", "-")
        if fld.name == "seed":
            f = click.option(name, "--seeds", fld.name, default=None, help="Comma-separated seeds.")(f)
        else:
            f = click.option(name, fld.name, default=None, metavar="LIST",
                             help=f"Comma-separated values of run's {name}.")(f)
    return f


def _parse_values(name, text):
    from dataclasses import fields
    kind = {f.name: f.type for f in fields(RunConfig)}[name]
    out = []
    for item in str(text).split(","):
        item = item.strip()
        try:
            if kind is bool:
                if item.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                out.append(item.lower() in ("true", "1", "yes"))
            elif kind is int:
                out.append(int(item))
            elif kind is float:
                out.append(float(item))
            else:
                out.append(item)
        except ValueError:
            what = {bool: "true or false", int: "integers", float: "numbers"}.get(kind, "values")
            raise ValueError(f"--{name.replace('_', '-')}={text!r} is invalid: give comma-separated {what}") from None
    return out


@cli.command()
@click.option("--grid", "grid_file", type=click.Path(dir_okay=False), default=None,
              help='JSON grid file: {"option": value or [values], ...} (option names as in run, - or _).')
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Sweep folder: one run folder per cell and results.csv (default sweeps/sweep-<timestamp>).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: worker processes; dask: a local Dask cluster of --workers, or --scheduler's.")
@click.option("--workers", type=int, default=None, help="Worker processes (default: the number of cores).")
@click.option("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT (with --executor dask).")
@click.option("--progress/--no-progress", default=True, show_default=True)
@_sweep_options
def sweep(grid_file, out, executor, workers, scheduler, progress, **opts):
    """Run a grid of runs: every combination of the comma lists (or of a JSON grid file), one run folder per
    cell, results.csv and a table at the end. A finished cell is never recomputed; rerun to complete a sweep.

    Example: python cli.py sweep --model origin,reparam --alpha 0.2,0.5 --seeds 0,1,2 --out sweeps/a
    """
    from icr_np import runio
    from icr_np.sweep import expand, results_table, run_cells, write_results_csv
    grid = {}
    if grid_file is not None:
        try:
            with open(grid_file) as f:
                spec = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"--grid={grid_file} cannot be read as JSON: {e}") from None
        if not isinstance(spec, dict):
            raise ValueError(f"--grid={grid_file} must hold a JSON object of option: value or [values]")
        for k, v in spec.items():
            grid[k.replace("-", "_")] = v if isinstance(v, list) else [v]
    for k, v in opts.items():
        if v is not None:
            grid[k] = _parse_values(k, v)
    if workers is not None and workers < 1:
        raise ValueError(f"--workers={workers} is invalid: need an integer >= 1")
    if scheduler is not None and executor != "dask":
        raise ValueError("--scheduler needs --executor dask")
    cells = expand({}, grid)
    out = out or runio.new_run_dir("sweeps", "sweep")
    results = run_cells(cells, out, executor=executor, workers=workers, scheduler=scheduler,
                        progress=CellProgress(progress))
    rows = results_table(cells, results)
    write_results_csv(os.path.join(out, "results.csv"), rows)
    varying = [k for k, v in grid.items() if len(v) > 1]
    header = ["cell"] + ["pop. loss", "excess", "OOD loss", "accuracy"]
    click.echo(f"{len(cells)} cells ({sum(1 for s in results.values() if s.get('reused'))} reused) in {out}; "
               f"varying: {', '.join(varying) or 'nothing'}")
    click.echo(table(header, [(r["cell"], r["population_loss"], r["excess_risk"], r["ood_loss"], r["accuracy"])
                              for r in rows]))


class CellProgress:
    """Counts finished cells on stderr (terminals only)."""

    def __init__(self, enabled):
        self.on = enabled and sys.stderr.isatty()

    def __call__(self, done, total, name):
        if self.on:
            sys.stderr.write(f"\rcells {done}/{total}" + (f"  last: {name}" if name else "") + " " * 10)
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()


# ---- entry point --------------------------------------------------------------------------------------
def one_line(msg):
    return " ".join(str(msg).split())


def main(argv=None):
    from icr_np.train import Interrupted, NonFinite
    try:
        rv = cli.main(args=argv, prog_name="cli.py", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help())
        sys.exit(0)
    except click.UsageError as e:
        click.echo(f"error: {one_line(e.format_message())}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except Interrupted as e:
        click.echo(f"\n{e}", err=True)
        sys.exit(130)
    except NonFinite as e:
        click.echo(f"error: {e}; the metrics and checkpoint up to the last evaluation are kept", err=True)
        sys.exit(1)
    except (ValueError, ImportError) as e:
        click.echo(f"error: {one_line(e)}", err=True)
        sys.exit(2)
    except OSError as e:        # the file system refused (disk full, permissions): one line, never a traceback
        click.echo(f"error: {one_line(e)}", err=True)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)
