"""Numerical extremes, non-finite values, and property-based checks of the generator and gradients."""
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from icr_np import RecallTask, build_model, runio
from icr_np.cli import main
from icr_np.config import RunConfig
from icr_np.gradcheck import check_gradients, randomize_params
from icr_np.train import NonFinite, train
from tests.conftest import variants, vid
from tests.test_task import check_invariants

TINY = dict(seq_len=16, batch=32, eval_size=128, ood_size=64)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("variant", variants(), ids=vid)
def test_long_extreme_runs_stay_finite(tmp_path, variant, dtype):
    """lr 0.5 for 600 steps (lam up to 300): finite everywhere, never below the Bayes risk."""
    kind, att, kappa, scaled = variant
    alpha = 0.2 if kappa == 0 else 0.8
    cfg = RunConfig(model=kind, attention=att, kappa=kappa, scaled=scaled, alpha=alpha, lr=0.5, steps=600,
                    eval_every=100, dtype=dtype, **TINY)
    s = train(cfg, out=str(tmp_path / "r"))
    bayes = s["bayes_risk"]
    for r in runio.read_metrics(str(tmp_path / "r")):
        for k in ("train_loss", "population_loss", "ood_loss", "excess_risk", "ood_excess_risk"):
            assert math.isfinite(r[k]), (k, r)
        assert r["population_loss"] >= bayes and r["ood_loss"] >= bayes
        assert r["excess_risk"] >= 0 and r["ood_excess_risk"] >= 0
        assert all(math.isfinite(v) for v in r["param_norm"].values())


def test_noiseless_reparam_grows_without_bound_and_stays_exact(tmp_path):
    cfg = RunConfig(preset="paper-noiseless", lr=0.5, steps=3000, eval_every=1000, **TINY)
    s = train(cfg, out=str(tmp_path / "r"))
    lam = np.array(s["final"]["params"]["lam"])
    assert lam.min() > 0.9 * 0.5 * 3000 / math.sqrt(5)            # hundreds: the gradient never rounds to 0
    assert s["final"]["excess_risk"] == 0.0 or s["final"]["excess_risk"] < 1e-250
    assert s["final"]["population_loss"] == 0.0 or s["final"]["population_loss"] >= 0.0


def test_non_finite_values_stop_the_run_and_keep_what_was_done(tmp_path, capsys):
    cfg = RunConfig(model="origin", steps=50, eval_every=10, **TINY)
    holder = {}

    def poison(t, T, row):
        if t == 23:
            holder["model"].params["V"] = np.full((128, 128), np.nan)

    import icr_np.train as tr
    orig = tr.Run.__init__

    def spy(self, *a, **k):
        orig(self, *a, **k)
        holder["model"] = self.model

    tr.Run.__init__ = spy
    try:
        with pytest.raises(NonFinite, match="parameter '[WV]' at step 30"):
            train(cfg, out=str(tmp_path / "r"), progress=poison)
    finally:
        tr.Run.__init__ = orig
    rows = runio.read_metrics(str(tmp_path / "r"))
    assert [r["step"] for r in rows] == [0, 10, 20]
    assert runio.read_json(str(tmp_path / "r" / "summary.json"))["status"] == "nonfinite"
    assert os.path.exists(tmp_path / "r" / "state.npz")             # the checkpoint of step 21 is kept


# ---- property-based checks ------------------------------------------------------------------------------
@st.composite
def valid_tasks(draw):
    Q = draw(st.integers(1, 4))
    Y = draw(st.integers(1, 4))
    N = draw(st.integers(Q + Y + 2, Q + Y + 12))
    A = draw(st.integers(1, Q))
    alpha = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9]))
    H = draw(st.integers(4, 40))
    slots = H // 3 - (alpha > 0)          # room for every sequential draw (RecallTask's own bound)
    n = draw(st.integers(1, max(1, min(3, slots))))
    if n > slots:
        H, n = 12, 1
    return RecallTask(vocab_size=N, n_triggers=Q, n_outputs=Y, active_triggers=A, seq_len=H, alpha=alpha,
                      n_planted=n, filler=draw(st.sampled_from(["uniform", "markov"])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=valid_tasks(), seed=st.integers(0, 2 ** 31), ood=st.booleans())
def test_generator_invariants_hold_on_random_configurations(task, seed, ood):
    b = task.sample(64, np.random.default_rng(seed), ood=ood)
    check_invariants(task, b)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=valid_tasks(), seed=st.integers(0, 2 ** 31), variant=st.sampled_from(variants()))
def test_gradients_hold_on_random_configurations(task, seed, variant):
    kind, att, kappa, scaled = variant
    b = task.sample(5, np.random.default_rng(seed))
    m = build_model(task, kind=kind, attention=att, kappa=kappa, scaled=scaled, d_model=2 * task.vocab_size + 3)
    randomize_params(m, np.random.default_rng(seed + 1))
    r = check_gradients(m, b.tokens, b.targets)
    assert r.ok, str(r)


@st.composite
def invalid_tasks(draw):
    ok = dict(vocab_size=20, n_triggers=3, n_outputs=3, active_triggers=2, seq_len=16, alpha=0.3)
    field, bad = draw(st.sampled_from([
        ("vocab_size", st.integers(-5, 7)), ("n_triggers", st.integers(-3, 0)), ("n_outputs", st.integers(-3, 0)),
        ("active_triggers", st.integers(4, 9)), ("active_triggers", st.integers(-2, 0)),
        ("seq_len", st.integers(-3, 3)), ("alpha", st.floats(1.0, 1e6)), ("alpha", st.floats(-1e6, -1e-9)),
        ("alpha", st.just(float("nan"))), ("n_planted", st.integers(8, 40)), ("filler", st.text(max_size=5)),
        ("n_triggers", st.floats(1.5, 3.5))]))
    return {**ok, field: draw(bad)}, field


@settings(max_examples=80, deadline=None)
@given(case=invalid_tasks())
def test_invalid_configurations_are_refused(case):
    kw, field = case
    with pytest.raises(ValueError) as e:
        RecallTask(**kw)
    assert "=" in str(e.value) and "\n" not in str(e.value)


def test_cli_nonfinite_exit_code(tmp_path, capsys, monkeypatch):
    """A run that turns non-finite ends with exit 1 and a one-line message, its metrics kept."""
    import icr_np.train as tr

    def boom(self, t, row, grads):
        if t >= 10:
            raise NonFinite(f"non-finite values in parameter 'lam' at step {t}")

    monkeypatch.setattr(tr.Run, "check_finite", boom)
    with pytest.raises(SystemExit) as e:
        main(["run", "--steps", "30", "--eval-every", "10", "--out", str(tmp_path / "r"), "--no-progress",
              "--seq-len", "16", "--batch", "32", "--eval-size", "64", "--ood-size", "32"])
    err = capsys.readouterr().err
    assert e.value.code == 1 and "step 10" in err and len(err.strip().splitlines()) == 1
    assert [r["step"] for r in runio.read_metrics(str(tmp_path / "r"))] == [0]
