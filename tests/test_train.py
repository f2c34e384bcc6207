"""Training dynamics against the closed forms of SPEC 4, the regimes, the optimisers, results on disk."""
import json
import math
import os

import numpy as np
import pytest

from icr_np import RecallTask, runio, theory
from icr_np.config import RunConfig
from icr_np.network import build_model
from icr_np.optim import make_optimizer
from icr_np.train import train
from backends import get_backend

SMALL = dict(seq_len=64, batch=128, eval_size=512, ood_size=256)


def rows_of(run_dir):
    return runio.read_metrics(str(run_dir))


@pytest.mark.parametrize("alpha,lr,steps", [(0.5, 0.1, 300), (0.2, 0.5, 70), (0.8, 0.1, 300)])
def test_noisy_reparam_lam_is_eta_t_and_loss_is_closed_form(tmp_path, alpha, lr, steps):
    """Exact while float64 resolves the gradient of lam (lam <= ~38 at N = 60, excess >= ~1e-15)."""
    cfg = RunConfig(alpha=alpha, lr=lr, steps=steps, eval_every=5, **SMALL)
    s = train(cfg, out=str(tmp_path / "r"))
    task = cfg.task()
    for r in rows_of(tmp_path / "r"):
        t = r["step"]
        lam = r["params"]["lam"][0]
        assert lam == pytest.approx(lr * t, rel=1e-12, abs=1e-12)
        expect = theory.excess_t(task, lr * t)
        assert r["excess_risk"] == pytest.approx(expect, rel=1e-9, abs=1e-300)
        assert r["population_loss"] == pytest.approx(task.bayes_risk() + expect, rel=1e-12)
        assert r["ood_excess_risk"] == pytest.approx(expect, rel=1e-9, abs=1e-300)
        assert r["population_loss"] >= task.bayes_risk()
        # role separation: argmax xi_A = y always once lam > 0; xi_F picks tau once gamma + lam > 0
        if t > 0:
            assert r["roles_A"] == 1.0
        gamma = math.log(alpha / (1 - alpha))
        if gamma + lam > 1e-9:
            assert r["roles_F"] == 1.0
        elif gamma + lam < -1e-9:
            assert r["roles_F"] == 0.0
    f = s["final"]
    assert f["ood_p_noise"] == pytest.approx(theory.ood_p_noise(task, lr * steps), rel=1e-9)


def test_ood_at_another_context_length(tmp_path):
    """Extension (SPEC 1.5): OOD sentences of length H' != H. The reparam construction's logits do not
    depend on H, so the OOD excess follows the same closed form; the OOD set really has length H'."""
    from icr_np.train import Data
    cfg = RunConfig(alpha=0.5, lr=0.1, steps=100, eval_every=25, ood_seq_len=200, **SMALL)
    assert Data(cfg, cfg.task()).ood_set.batch.tokens.shape == (256, 200)
    s = train(cfg, out=str(tmp_path / "r"))
    task = cfg.task()
    for r in rows_of(tmp_path / "r"):
        expect = theory.excess_t(task, 0.1 * r["step"])
        assert r["ood_excess_risk"] == pytest.approx(expect, rel=1e-9, abs=1e-300)
    assert runio.read_json(str(tmp_path / "r" / "config.json"))["config"]["ood_seq_len"] == 200
    assert s["final"]["ood_p_noise"] == pytest.approx(theory.ood_p_noise(task, 10.0), rel=1e-9)


def test_noisy_reparam_beyond_float64_resolution_stays_finite(tmp_path):
    """Up to lam ~ 40 (excess ~ 1e-16) lam = eta t exactly. Past it the gradient of lam is float64 rounding
    noise (sums of O(1) terms that cancel, ~1e-17, machine-dependent) or exactly 0: NGD may take a few more
    steps in whichever direction the rounding says. Whatever it does, everything stays finite and the
    population loss never reads below the Bayes risk."""
    cfg = RunConfig(alpha=0.2, lr=0.5, steps=200, eval_every=10, **SMALL)
    train(cfg, out=str(tmp_path / "r"))
    rows = rows_of(tmp_path / "r")
    lam = [r["params"]["lam"][0] for r in rows]
    assert lam[:9] == pytest.approx([5.0 * i for i in range(9)], rel=1e-12, abs=1e-12)   # eta t up to here
    assert rows[8]["excess_risk"] < 1e-15
    for r in rows:
        assert r["population_loss"] >= 0.5004024235381879 and math.isfinite(r["train_loss"])
        assert r["excess_risk"] >= 0.0 and math.isfinite(r["params"]["lam"][0])


def test_noiseless_reparam_follows_eta_t_over_sqrt_A(tmp_path):
    cfg = RunConfig(preset="paper-noiseless", lr=0.1, steps=100, eval_every=20, seq_len=64, batch=512,
                    eval_size=512, ood_size=256)
    s = train(cfg, out=str(tmp_path / "r"))
    lam = np.array(s["final"]["params"]["lam"])
    sqrt_rule = 0.1 * 100 / math.sqrt(5)
    printed = 0.1 * 100 / 5
    assert np.abs(lam / sqrt_rule - 1).max() < 0.03          # within a few percent: batch noise only
    assert np.abs(lam / printed - 1).min() > 0.5               # the printed eta t / |Q| is far off
    assert 0.99 * 10.0 < np.linalg.norm(lam) <= 10.0 + 1e-12   # NGD: ||lam_t|| <= eta t (steps not parallel)
    task = cfg.task()
    # OOD p_y follows 1 / (1 + (N-1) e^-lam) per trigger; averaged over the triggers' lam
    expect = np.mean(theory.ood_p_output(task, lam))
    assert s["final"]["ood_p_output"] == pytest.approx(expect, rel=0.02)


def test_origin_fits_noiseless_training_distribution_but_not_ood(tmp_path):
    cfg = RunConfig(preset="paper-noiseless", model="origin", lr=0.1, steps=150, eval_every=50, **SMALL)
    s = train(cfg, out=str(tmp_path / "r"))
    f = s["final"]
    assert f["population_loss"] < 1e-3 and f["accuracy"] == 1.0
    assert f["ood_loss"] > 3.0 and f["ood_p_output"] < 0.05


def test_finite_regime_uses_alphahat_and_counts_epochs(tmp_path):
    cfg = RunConfig(alpha=0.2, samples=256, batch=64, epochs=5, seq_len=32, eval_size=256, ood_size=128)
    s = train(cfg, out=str(tmp_path / "r"))
    rows = rows_of(tmp_path / "r")
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3, 4, 5]
    assert s["steps"] == 20 and s["epochs"] == 5
    data_noise = RecallTask.preset("paper-noisy", alpha=0.2, seq_len=32).sample(256, np.random.default_rng([0, 2]))
    assert s["alphahat"] == pytest.approx(data_noise.noise_target.mean())
    cfg_json = runio.read_json(str(tmp_path / "r" / "config.json"))
    assert cfg_json["model"]["gamma"] == pytest.approx(math.log(s["alphahat"] / (1 - s["alphahat"])))
    floor = s["theory"]["finite_sample_floor"]
    assert floor == pytest.approx(0.2 * math.log(0.2 / s["alphahat"]) + 0.8 * math.log(0.8 / (1 - s["alphahat"]))
                                  + RecallTask.preset("paper-noisy", alpha=0.2).bayes_risk())


def test_run_folder_contents(tmp_path):
    cfg = RunConfig(steps=10, eval_every=5, **SMALL)
    s = train(cfg, out=str(tmp_path / "r"))
    d = tmp_path / "r"
    assert sorted(os.listdir(d)) == ["config.json", "metrics.jsonl", "params.npz", "summary.json"]
    c = runio.read_json(str(d / "config.json"))
    env = c["environment"]
    for k in ("python", "numpy", "cupy", "backend", "device", "blas_threads", "git_commit"):
        assert k in env
    assert c["config"]["seed"] == 0 and c["total_steps"] == 10
    assert [r["step"] for r in rows_of(d)] == [0, 5, 10]
    with np.load(d / "params.npz") as z:
        assert z["lam"].shape == (1,)
    assert json.loads((d / "summary.json").read_text())["final"]["params"]["lam"] == s["final"]["params"]["lam"]


def test_same_seed_same_data_across_models(tmp_path):
    train(RunConfig(steps=3, **SMALL), out=str(tmp_path / "a"))
    train(RunConfig(steps=3, model="origin", **SMALL), out=str(tmp_path / "b"))
    ra, rb = rows_of(tmp_path / "a"), rows_of(tmp_path / "b")
    assert ra[0]["population_loss"] == rb[0]["population_loss"] == pytest.approx(math.log(60) , rel=1e-12)
    assert ra[0]["train_loss"] == rb[0]["train_loss"]


def test_float32_training_keeps_float64_metrics(tmp_path):
    """float32 resolves the gradient of lam down to an excess near 1e-8 (lam ~ 21 here), then NGD stops;
    the metrics, computed in float64 from the float32 parameters, still read the excess exactly."""
    s = train(RunConfig(steps=60, lr=0.5, dtype="float32", eval_every=5, **SMALL), out=str(tmp_path / "r"))
    rows = rows_of(tmp_path / "r")
    assert [r["params"]["lam"][0] for r in rows[:8]] == [0.5 * r["step"] for r in rows[:8]]
    lam = s["final"]["params"]["lam"][0]
    assert 17.5 <= lam < 25
    assert s["final"]["excess_risk"] == pytest.approx(theory.excess_t(RunConfig().task(), lam), rel=1e-9)
    assert s["final"]["excess_risk"] < 1e-7 and s["final"]["population_loss"] >= s["bayes_risk"]


@pytest.mark.parametrize("name", ["ngd", "gd", "momentum", "adam"])
def test_optimisers_reduce_the_loss(name):
    task = RecallTask(vocab_size=12, n_triggers=2, n_outputs=3, active_triggers=2, seq_len=10, alpha=0.3)
    b = task.sample(64, np.random.default_rng(0))
    m = build_model(task, kind="origin", attention="softmax", d_model=24)
    opt = make_optimizer(name, 0.05, m.backend)
    first = m.loss(b.tokens, b.targets)
    for _ in range(30):
        _, g = m.loss_and_grad(b.tokens, b.targets)
        opt.step(m.params, g)
    assert m.loss(b.tokens, b.targets) < first - 0.1


def test_ngd_moves_each_tensor_by_lr_and_leaves_zero_gradients():
    bk = get_backend("numpy")
    task = RecallTask.preset("paper-noisy", seq_len=32)
    b = task.sample(64, np.random.default_rng(0))
    m = build_model(task, kind="origin", attention="linear", kappa=0)
    opt = make_optimizer("ngd", 0.3, bk)
    before = m.params.to_host()
    _, g = m.loss_and_grad(b.tokens, b.targets)
    opt.step(m.params, g)
    after = m.params.to_host()
    assert np.linalg.norm(after["F"] - before["F"]) == pytest.approx(0.3, rel=1e-12)
    assert (after["W"] == 0).all() and (after["V"] == 0).all()     # zero gradient: unchanged (SPEC 2.4)


def test_optimizer_state_roundtrip():
    bk = get_backend("numpy")
    task = RecallTask(vocab_size=12, n_triggers=2, n_outputs=3, active_triggers=2, seq_len=10)
    b = task.sample(16, np.random.default_rng(0))
    m1 = build_model(task, kind="origin", d_model=24)
    m2 = build_model(task, kind="origin", d_model=24)
    o1 = make_optimizer("adam", 0.01, bk)
    for _ in range(3):
        o1.step(m1.params, m1.loss_and_grad(b.tokens, b.targets)[1])
    for k, v in m1.params.to_host().items():
        m2.params[k] = v
    o2 = make_optimizer("adam", 0.01, bk)
    o2.load_state_dict(o1.state_dict(), np.float64)
    for _ in range(2):
        o1.step(m1.params, m1.loss_and_grad(b.tokens, b.targets)[1])
        o2.step(m2.params, m2.loss_and_grad(b.tokens, b.targets)[1])
    for k in m1.params:
        assert (m1.params.to_host()[k] == m2.params.to_host()[k]).all()
