"""Every trainable tensor of every variant against centred finite differences in float64."""
import numpy as np
import pytest

from icr_np import build_model
from icr_np.gradcheck import check_gradients, randomize_params
from tests.conftest import small_task, variants, vid


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("variant", variants(), ids=vid)
def test_gradients_match_finite_differences(variant, alpha):
    kind, att, kappa, scaled = variant
    task = small_task(alpha)
    b = task.sample(6, np.random.default_rng(1))
    m = build_model(task, kind=kind, attention=att, kappa=kappa, d_model=24, scaled=scaled)
    randomize_params(m, np.random.default_rng(2))
    report = check_gradients(m, b.tokens, b.targets)
    print(report)
    assert set(t.name for t in report.tensors) == set(m.params)
    assert all(t.grad_norm > 0 for t in report.tensors), "a zero gradient checks nothing"
    assert report.ok, str(report)
    assert report.max_rel_error < 1e-6


@pytest.mark.parametrize("kind", ["origin", "reparam", "reparamW"])
@pytest.mark.parametrize("att", ["linear", "softmax"])
def test_gradients_with_gaussian_embeddings(kind, att):
    task = small_task(0.3)
    b = task.sample(5, np.random.default_rng(3))
    m = build_model(task, kind=kind, attention=att, d_model=16, embeddings="gaussian")
    randomize_params(m, np.random.default_rng(4))
    report = check_gradients(m, b.tokens, b.targets)
    assert report.ok, str(report)


@pytest.mark.parametrize("att", ["linear", "relu", "softmax"])
def test_gradients_with_trainable_unembedding(att):
    task = small_task(0.3)
    b = task.sample(5, np.random.default_rng(5))
    m = build_model(task, kind="origin", attention=att, d_model=24, train_unembedding=True)
    randomize_params(m, np.random.default_rng(6))
    report = check_gradients(m, b.tokens, b.targets)
    assert [t.name for t in report.tensors] == ["W", "V", "F", "U"]
    assert report.ok, str(report)


def test_checker_catches_a_wrong_gradient():
    """The checker must fail when the analytic gradient is wrong (here: dW scaled by 1.001)."""
    task = small_task(0.3)
    b = task.sample(6, np.random.default_rng(1))
    m = build_model(task, kind="origin", attention="softmax", d_model=24)
    randomize_params(m, np.random.default_rng(2))
    true = m.loss_and_grad

    def wrong(tokens, targets, as_array=False):
        loss, g = true(tokens, targets, as_array)
        g["W"] = g["W"] * 1.001
        return loss, g

    m.loss_and_grad = wrong
    report = check_gradients(m, b.tokens, b.targets)
    errs = {t.name: t.max_rel_error for t in report.tensors}
    assert not report.ok and errs["W"] > 1e-4 and errs["V"] < 1e-6


def test_checker_refuses_float32():
    m = build_model(small_task(), d_model=24, dtype="float32")
    with pytest.raises(ValueError, match="float64"):
        check_gradients(m, np.zeros((1, 10), dtype=int), np.zeros(1, dtype=int))


def test_checker_catches_an_error_orthogonal_to_the_gradient():
    """An error e with ||e|| = 1e-3 ||g|| in a random direction (not a rescaling) is caught too: the
    directional checks read ||e|| / ||g|| whatever the direction."""
    task = small_task(0.3)
    b = task.sample(6, np.random.default_rng(1))
    m = build_model(task, kind="origin", attention="softmax", d_model=24)
    randomize_params(m, np.random.default_rng(2))
    true = m.loss_and_grad
    e = np.random.default_rng(3).normal(size=(24, 24))

    def wrong(tokens, targets, as_array=False):
        loss, g = true(tokens, targets, as_array)
        g["F"] = g["F"] + 1e-3 * np.linalg.norm(g["F"]) * e / np.linalg.norm(e)
        return loss, g

    m.loss_and_grad = wrong
    report = check_gradients(m, b.tokens, b.targets)
    errs = {t.name: t.max_rel_error for t in report.tensors}
    assert not report.ok and errs["F"] > 1e-5 and errs["W"] < 1e-6
