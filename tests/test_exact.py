"""The exact behaviour of the reparam construction and the origin model (SPEC 2.4), to 1e-9."""
import math

import numpy as np
import pytest

from icr_np import RecallTask, build_model

N = 60


def task_(alpha, A=5):
    return RecallTask.preset("paper-noiseless", alpha=alpha, active_triggers=A)


@pytest.mark.parametrize("lam", [0.0, 0.7, 3.0, 25.0])
def test_noiseless_linear_reparam_loss_is_closed_form(lam):
    task = task_(0.0)
    b = task.sample(256, np.random.default_rng(0))
    m = build_model(task, kind="reparam", attention="linear")
    m.params["lam"] = np.full(5, lam)
    xi = m.backend.to_host(m.logits(b.tokens))
    expect = np.zeros_like(xi)
    expect[np.arange(256), b.outputs] = lam
    assert np.abs(xi - expect).max() <= 1e-12
    assert m.loss(b.tokens, b.targets) == pytest.approx(math.log1p((N - 1) * math.exp(-lam)), abs=1e-9, rel=1e-9)


def test_noiseless_linear_reparam_uses_each_trigger_scalar():
    task = task_(0.0)
    b = task.sample(256, np.random.default_rng(1))
    m = build_model(task, kind="reparam", attention="linear")
    lam = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    m.params["lam"] = lam
    per = np.log1p((N - 1) * np.exp(-lam[b.triggers]))
    assert m.loss(b.tokens, b.targets) == pytest.approx(per.mean(), abs=1e-12)


def test_noiseless_relu_reparam_is_linear_up_to_the_shift():
    task = task_(0.0)
    b = task.sample(128, np.random.default_rng(2))
    lin = build_model(task, kind="reparam", attention="linear")
    relu = build_model(task, kind="reparam", attention="relu")
    for m in (lin, relu):
        m.params["lam"] = np.full(5, 2.0)
    # relu adds 1e-8 per position to a, so about H * 1e-8 to s's coordinates
    assert abs(relu.loss(b.tokens, b.targets) - lin.loss(b.tokens, b.targets)) < 256 * 1e-8 * 10


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("lam", [0.0, 1.5, 6.0])
def test_noisy_linear_kappa1_reparam_is_bayes_construction(alpha, lam):
    task = RecallTask.preset("paper-noisy", alpha=alpha)
    b = task.sample(512, np.random.default_rng(3))
    m = build_model(task, kind="reparam", attention="linear", kappa=1)
    m.params["lam"] = np.array([lam])
    gamma = math.log(alpha / (1 - alpha))
    xi_A, xi_F = (m.backend.to_host(x) for x in m.logits_split(b.tokens))
    rows = np.arange(512)
    eA = np.zeros((512, N)); eA[rows, b.outputs] = lam
    eF = np.zeros((512, N)); eF[:, N - 1] = gamma + lam
    assert np.abs(xi_A - eA).max() <= 1e-12 and np.abs(xi_F - eF).max() <= 1e-12
    # per-sentence loss, then its expectation over the target noise
    lse = lam + math.log(1 + math.exp(gamma) + (N - 2) * math.exp(-lam))
    per = np.where(b.noise_target, lse - gamma - lam, lse - lam)
    assert m.loss(b.tokens, b.targets) == pytest.approx(per.mean(), abs=1e-9)
    expected = task.bayes_risk() + math.log1p((1 - alpha) * (N - 2) * math.exp(-lam))
    assert alpha * (lse - gamma - lam) + (1 - alpha) * (lse - lam) == pytest.approx(expected, abs=1e-9)


def test_noisy_kappa0_reparam_overpredicts_y():
    """Kappa 0: the FF logit of tau stays at gamma while xi_y grows, so the loss stays above the Bayes risk."""
    task = RecallTask.preset("paper-noisy", alpha=0.5)
    b = task.sample(2048, np.random.default_rng(4))
    m = build_model(task, kind="reparam", attention="linear", kappa=0)
    losses = []
    for lam in (0.0, 5.0, 20.0):
        m.params["lam"] = np.array([lam])
        xi_A, xi_F = (m.backend.to_host(x) for x in m.logits_split(b.tokens))
        assert np.abs(xi_F[:, N - 1] - m.gamma).max() < 1e-12
        losses.append(m.loss(b.tokens, b.targets))
    assert losses[-1] > task.bayes_risk() + 1.0


def test_softmax_reparam_floor_and_scaled_escape():
    task = task_(0.0)
    b = task.sample(256, np.random.default_rng(5))
    m = build_model(task, kind="reparam", attention="softmax")
    m.params["lam"] = np.full(5, 50.0)          # attention all on the planted y: xi_A = e_y, in [0, 1]
    floor = math.log1p((N - 1) / math.e)
    assert m.loss(b.tokens, b.targets) == pytest.approx(floor, abs=1e-9)
    assert round(floor, 2) == 3.12
    s = build_model(task, kind="reparam", attention="softmax", scaled=True)
    s.params["lam"] = np.full(5, 50.0)
    s.params["nu"] = np.asarray(30.0)
    assert s.loss(b.tokens, b.targets) < 1e-9


def test_origin_linear_kappa0_zero_init_only_F_learns():
    task = RecallTask.preset("paper-noisy")
    b = task.sample(64, np.random.default_rng(6))
    m = build_model(task, kind="origin", attention="linear", kappa=0)
    _, g = m.loss_and_grad(b.tokens, b.targets)
    assert float(np.abs(g["W"]).max()) == 0.0 and float(np.abs(g["V"]).max()) == 0.0
    assert float(np.abs(g["F"]).max()) > 0.0
    m.params["F"] = np.random.default_rng(0).normal(size=(128, 128))
    _, g = m.loss_and_grad(b.tokens, b.targets)
    assert float(np.abs(g["W"]).max()) == 0.0 and float(np.abs(g["V"]).max()) == 0.0


def test_uniform_prediction_scores_log_n():
    task = task_(0.0)
    b = task.sample(32, np.random.default_rng(7))
    for kind in ("origin", "reparam", "reparamW"):
        m = build_model(task, kind=kind, attention="linear")
        assert m.loss(b.tokens, b.targets) == pytest.approx(math.log(N), abs=1e-12)
