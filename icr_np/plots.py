"""Figures drawn from saved data only (metrics.jsonl, config.json, or a figure's own data file).

matplotlib comes from the `plot` extra and is imported here, inside the functions, nowhere else.
One colour per model across every figure; the Bayes risk is a black dashed line, theory a grey dotted one.
"""
import json
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


# ---- the reproduction's figures, each drawn from its JSON data file ------------------------------------
def _x(item):
    s = item["series"]
    if item["regime"] == "finite" and s.get("epoch"):
        return np.array(s["epoch"], float), "epoch"
    return np.array(s["step"], float), "step"


def _y(item, key):
    v = item["series"].get(key)
    if v is None:
        return None
    return np.array([np.nan if x is None else x for x in v], float)


def _pos(y):
    return np.maximum(y, 1e-300)


def _legend_once(fig, axes):
    labels = {}
    for ax in np.ravel(axes):
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                labels[l] = h
    fig.legend(list(labels.values()), list(labels.keys()), loc="lower center", ncol=min(6, len(labels)),
               fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.02))


def draw_figure(json_path):
    """Draw the figure whose data is in json_path (fig1, fig2, appendix, roles or theory); return the paths."""
    with open(json_path) as f:
        data = json.load(f)
    draw = {"fig1": _fig1, "fig2": _fig2, "appendix": _appendix, "roles": _roles, "theory": _theory}[data["figure"]]
    plt = pyplot()
    fig = draw(plt, data)
    paths = save(fig, os.path.splitext(json_path)[0] + ".png")
    plt.close(fig)
    return paths


def _fig1(plt, data):
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    for row, alpha in enumerate((0.0, 0.5)):
        items = [it for it in data["runs"] if it["alpha"] == alpha]
        if not items:
            continue
        bayes = items[0]["bayes_risk"]
        for it in items:
            x, xl = _x(it)
            c = color(it["model"])
            axes[row, 0].plot(x, _y(it, "population_loss"), color=c, label=it["model"])
            axes[row, 1].plot(x, _y(it, "ood_loss"), color=c, label=it["model"])
            key = "ood_p_noise" if alpha > 0 else "ood_p_output"
            axes[row, 2].plot(x, _y(it, key), color=c, label=it["model"])
        for ax in axes[row, :2]:
            ax.axhline(bayes, label="Bayes risk", **BAYES_STYLE)
            ax.set_yscale("symlog", linthresh=1e-3)
            ax.set_ylim(bottom=0)
        if alpha > 0:
            axes[row, 2].axhline(alpha, label="Bayes p(tau) = alpha", **THEORY_STYLE)
        else:
            axes[row, 2].axhline(1.0, label="Bayes p(y) = 1", **THEORY_STYLE)
        setting = "noiseless" if alpha == 0 else f"noisy, alpha {alpha:g}"
        axes[row, 0].set_title(f"population loss ({setting})")
        axes[row, 1].set_title(f"OOD loss ({setting})")
        axes[row, 2].set_title(f"OOD p({'tau' if alpha > 0 else 'output'}) ({setting})")
        for ax in axes[row]:
            ax.set_xlabel(xl)
        axes[row, 0].set_ylabel("cross-entropy (nats, symlog)")
        axes[row, 2].set_ylabel("probability")
    fig.suptitle("Figure 1: population regime, eta 0.1", fontsize=12)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _legend_once(fig, axes)
    return fig


def _fig2(plt, data):
    alphas = sorted({it["alpha"] for it in data["runs"]})
    fig, axes = plt.subplots(2, len(alphas), figsize=(4.6 * len(alphas), 7), squeeze=False)
    for col, alpha in enumerate(alphas):
        items = [it for it in data["runs"] if it["alpha"] == alpha]
        bayes = items[0]["bayes_risk"]
        for it in items:
            x, xl = _x(it)
            c = color(it["model"])
            axes[0, col].plot(x, _y(it, "population_loss"), color=c, label=it["model"])
            axes[1, col].plot(x, _y(it, "ood_loss"), color=c, label=it["model"])
        ah = items[0].get("alphahat")
        for ax in axes[:, col]:
            ax.axhline(bayes, label="Bayes risk H(alpha)", **BAYES_STYLE)
            if ah is not None:
                floor = bayes + theory.bernoulli_kl(alpha, ah)
                ax.axhline(floor, label="floor H(alpha) + KL(alpha || alphahat)", **THEORY_STYLE)
            ax.set_xlabel(xl)
            ax.set_yscale("log")
        axes[0, col].set_title(f"population loss, alpha {alpha:g}")
        axes[1, col].set_title(f"OOD loss, alpha {alpha:g}")
    axes[0, 0].set_ylabel("cross-entropy (nats, log)")
    axes[1, 0].set_ylabel("cross-entropy (nats, log)")
    fig.suptitle("Figure 2: finite-sample regime, ReLU attention", fontsize=12)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    _legend_once(fig, axes)
    return fig


def _appendix(plt, data):
    lrs = sorted({it["lr"] for it in data["runs"]})
    alphas = sorted({it["alpha"] for it in data["runs"]})
    nrow = 3 * len(lrs)
    fig, axes = plt.subplots(nrow, len(alphas), figsize=(4.2 * len(alphas), 2.9 * nrow), squeeze=False)
    for i, lr in enumerate(lrs):
        for col, alpha in enumerate(alphas):
            items = [it for it in data["runs"] if it["alpha"] == alpha and it["lr"] == lr]
            if not items:
                continue
            bayes = items[0]["bayes_risk"]
            a_pop, a_ood, a_exc = axes[3 * i, col], axes[3 * i + 1, col], axes[3 * i + 2, col]
            for it in items:
                x, xl = _x(it)
                c = color(it["model"])
                a_pop.plot(x, _y(it, "population_loss"), color=c, label=it["model"])
                a_ood.plot(x, _y(it, "ood_loss"), color=c, label=it["model"])
                a_exc.semilogy(x, _pos(_y(it, "excess_risk")), color=c, label=it["model"])
                a_exc.semilogy(x, _pos(_y(it, "ood_excess_risk")), color=c, linestyle="-.")
            for ax in (a_pop, a_ood):
                ax.axhline(bayes, label="Bayes risk", **BAYES_STYLE)
            a_pop.set_title(f"population loss, alpha {alpha:g}, eta {lr:g}", fontsize=9)
            a_ood.set_title(f"OOD loss, alpha {alpha:g}, eta {lr:g}", fontsize=9)
            a_exc.set_title("excess risk (solid) and OOD excess (dash-dot)", fontsize=9)
            a_exc.set_xlabel(xl)
    fig.suptitle("Appendix: every model at every alpha and step size", fontsize=12)
    fig.tight_layout(rect=(0, 0.03, 1, 0.99))
    _legend_once(fig, axes)
    return fig


def _roles(plt, data):
    alphas = sorted({it["alpha"] for it in data["runs"]})
    fig, axes = plt.subplots(len(alphas), 3, figsize=(14, 3.4 * len(alphas)), squeeze=False)
    for row, alpha in enumerate(alphas):
        items = [it for it in data["runs"] if it["alpha"] == alpha]
        for it in items:
            x, xl = _x(it)
            c = color(it["model"])
            axes[row, 0].plot(x, _y(it, "xi_A_y"), color=c, label=it["model"])
            axes[row, 0].plot(x, _y(it, "xi_A_max"), color=c, linestyle=":")
            axes[row, 1].plot(x, _y(it, "xi_F_tau"), color=c, label=it["model"])
            axes[row, 1].plot(x, _y(it, "xi_F_max"), color=c, linestyle=":")
            axes[row, 2].plot(x, _y(it, "population_loss"), color=c, label=it["model"])
            axes[row, 2].plot(x, _y(it, "ood_loss"), color=c, linestyle="-.")
            for ax in axes[row]:
                ax.set_xlabel(xl)
        axes[row, 2].axhline(items[0]["bayes_risk"], label="H(alpha)", **BAYES_STYLE)
        axes[row, 0].set_title(f"attention logit of y (solid) vs max (dotted), alpha {alpha:g}", fontsize=9)
        axes[row, 1].set_title(f"FF logit of tau (solid) vs max (dotted), alpha {alpha:g}", fontsize=9)
        axes[row, 2].set_title(f"population (solid) and OOD (dash-dot) loss, alpha {alpha:g}", fontsize=9)
        axes[row, 2].set_yscale("log")
    fig.suptitle("Role separation: finite sample, linear attention, eta 0.1", fontsize=12)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _legend_once(fig, axes)
    return fig


def _theory(plt, data):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.8))
    from icr_np.reproduce import theory_overlay
    cmap = plt.get_cmap("viridis")
    items = data["runs"]
    for i, it in enumerate(items):
        c = cmap(i / max(1, len(items) - 1))
        t = np.array(it["series"]["step"], float)
        lam = np.array([np.mean(v) for v in it["series"]["lam"]], float)
        lab = f"alpha {it['alpha']:g}, eta {it['lr']:g}"
        a1.plot(t, lam, color=c, label=f"measured, {lab}")
        a2.semilogy(t, _pos(_y(it, "excess_risk")), color=c, label=f"measured, {lab}")
        th = theory_overlay(it, t)
        a1.plot(t, th["lam"], color=c, linestyle=":", linewidth=2)
        a2.semilogy(t, _pos(np.array(th["excess"])), color=c, linestyle=":", linewidth=2)
        if "lam_printed" in th:
            a1.plot(t, th["lam_printed"], color=c, linestyle="--", linewidth=1)
            a2.semilogy(t, _pos(np.array(th["excess_printed"])), color=c, linestyle="--", linewidth=1)
    a1.set_title("lam_t: measured (solid), eta t/sqrt(A) or eta t (dotted), printed eta t/|Q| (dashed)", fontsize=9)
    a2.set_title("excess risk: measured (solid), closed form (dotted), printed rate (dashed)", fontsize=9)
    a1.set_xlabel("step")
    a2.set_xlabel("step")
    a1.set_ylabel("lam (mean over triggers)")
    a2.set_ylabel("loss - Bayes risk (log)")
    a2.set_ylim(1e-40, 10)
    a1.legend(fontsize=7)
    fig.suptitle("Theory (SPEC 4) against measurement, reparam-linear-FA", fontsize=12)
    fig.tight_layout()
    return fig
