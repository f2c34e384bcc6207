"""Figures drawn from saved data only (metrics.jsonl, config.json, or a figure's own data file).

matplotlib comes from the `plot` extra and is imported here, inside the functions, nowhere else.
One colour per model across every figure; the Bayes risk is a black dashed line, theory a grey dotted one.
"""
import os

import numpy as np

from icr_np import runio, theory
from icr_np.task import RecallTask

MODEL_COLORS = {
    "reparam-linear-FA": "#1f77b4", "reparam-relu-FA": "#17becf", "reparam-softmax-FA": "#2ca02c",
    "reparam-scaled-softmax-FA": "#98df8a", "reparamW-linear-FA": "#ff7f0e", "reparamW-relu-FA": "#ffbb78",
    "reparamW-softmax-FA": "#bcbd22", "origin-linear-FA": "#d62728", "origin-relu-FA": "#ff9896",
    "origin-softmax-F": "#9467bd", "origin-softmax-FA": "#c5b0d5", "origin-linear-F": "#8c564b",
}
BAYES_STYLE = dict(color="black", linestyle="--", linewidth=1.2)
THEORY_STYLE = dict(color="0.45", linestyle=":", linewidth=2.0)


def color(name):
    return MODEL_COLORS.get(name, "#7f7f7f")


def pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install -e .[plot]") from None
    return plt


def save(fig, path_png):
    """Save as PNG and PDF side by side; return both paths."""
    base, _ = os.path.splitext(path_png)
    fig.savefig(base + ".png", dpi=130, bbox_inches="tight")
    fig.savefig(base + ".pdf", bbox_inches="tight")
    return [base + ".png", base + ".pdf"]


def theory_curve(task, lr, steps):
    lam = theory.lam_t(task, lr, steps)
    return theory.loss_t(task, lam), theory.excess_t(task, lam)


def plot_run(run_dir, out=None):
    plt = pyplot()
    cfg = runio.read_json(os.path.join(run_dir, runio.CONFIG))
    rows = runio.read_metrics(run_dir)
    if not rows:
        raise ValueError(f"RUN_DIR={run_dir} has no metrics rows yet: nothing to plot")
    task = RecallTask(**cfg["task"])
    name, c = cfg["model"]["name"], cfg["config"]
    t = np.array([r["step"] for r in rows], float)
    get = lambda k: np.array([r.get(k, np.nan) for r in rows], float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(t, get("population_loss"), color=color(name), label="population loss")
    ax1.plot(t, get("ood_loss"), color=color(name), linestyle="-.", label="OOD loss")
    ax1.plot(t, get("train_loss"), color=color(name), alpha=0.35, label="training loss")
    ax1.axhline(task.bayes_risk(), label=f"Bayes risk {task.bayes_risk():.4f}", **BAYES_STYLE)
    ax2.semilogy(t, np.maximum(get("excess_risk"), 1e-300), color=color(name), label="excess risk")
    ax2.semilogy(t, np.maximum(get("ood_excess_risk"), 1e-300), color=color(name), linestyle="-.", label="OOD excess risk")
    applies = (c["model"] == "reparam" and c["attention"] == "linear" and c["optimizer"] == "ngd"
               and cfg["regime"] == "population")
    if applies:
        tt = np.linspace(0, t.max(), 400)
        loss, exc = theory_curve(task, c["lr"], tt)
        ax1.plot(tt, loss, label="theory (SPEC 4)", **THEORY_STYLE)
        ax2.semilogy(tt, exc, label="theory (SPEC 4)", **THEORY_STYLE)
    xlabel = "epoch" if cfg["regime"] == "finite" else "step"
    if cfg["regime"] == "finite":
        spe = max(1, cfg["total_steps"] // max(1, (c.get("epochs") or 100)))
        for ax in (ax1, ax2):
            ax.set_xlabel("step (one epoch = %d steps)" % spe)
    else:
        ax1.set_xlabel(xlabel)
        ax2.set_xlabel(xlabel)
    ax1.set_ylabel("cross-entropy (nats)")
    ax2.set_ylabel("loss - Bayes risk (log scale)")
    ax1.set_title(f"{name}: losses")
    ax2.set_title(f"{name}: excess risk")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.suptitle(f"{c['preset']}, alpha {task.alpha}, {c['optimizer']} lr {c['lr']}", fontsize=10)
    fig.tight_layout()
    paths = save(fig, out or os.path.join(run_dir, "curves.png"))
    plt.close(fig)
    return paths
