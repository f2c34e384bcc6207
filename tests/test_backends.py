"""Backends and input paths agree: NumPy vs array-api-strict (portable kernels), index vs dense, CuPy."""
import numpy as np
import pytest

from backends import BackendError, get_backend
from icr_np import build_model
from icr_np.gradcheck import randomize_params
from tests.conftest import HAS_CUPY, gpu, small_task, variants, vid

pytest.importorskip("array_api_strict")


def outputs(kind, att, kappa, scaled, alpha, backend, path="auto", embeddings="onehot", H=10):
    task = small_task(alpha, seq_len=H)
    b = task.sample(7, np.random.default_rng(1))
    m = build_model(task, kind=kind, attention=att, kappa=kappa, d_model=24, scaled=scaled,
                    backend=backend, path=path, embeddings=embeddings)
    randomize_params(m, np.random.default_rng(2))
    xi_A, xi_F = m.logits_split(b.tokens)
    loss, grads = m.loss_and_grad(b.tokens, b.targets)
    bk = m.backend
    out = {"xi_A": bk.to_host(xi_A), "xi_F": bk.to_host(xi_F), "loss": np.asarray(loss)}
    out.update({"d" + k: bk.to_host(v) for k, v in grads.items()})
    return out


def assert_close(a, b, tol=1e-12):
    assert a.keys() == b.keys()
    for k in a:
        err = np.abs(a[k] - b[k]).max() / max(1.0, np.abs(a[k]).max())
        assert err <= tol, f"{k}: {err:.2e}"


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("variant", variants(), ids=vid)
def test_strict_backend_agrees_with_numpy(variant, alpha):
    assert_close(outputs(*variant, alpha, "numpy"), outputs(*variant, alpha, "strict"))


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("variant", variants(), ids=vid)
def test_index_path_agrees_with_dense_path(variant, alpha):
    assert_close(outputs(*variant, alpha, "numpy", path="index"), outputs(*variant, alpha, "numpy", path="dense"))


@pytest.mark.parametrize("att", ["linear", "relu", "softmax"])
def test_paths_agree_with_gaussian_embeddings(att):
    for backend in ("numpy", "strict"):
        a = outputs("origin", att, 1, False, 0.3, backend, path="index", embeddings="gaussian", H=30)
        b = outputs("origin", att, 1, False, 0.3, backend, path="dense", embeddings="gaussian", H=30)
        assert_close(a, b)


def test_strict_backend_really_is_strict():
    """array-api-strict refuses NumPy-only calls; the kernels above passed without any."""
    bk = get_backend("strict")
    x = bk.asarray(np.arange(3.0))
    with pytest.raises((AttributeError, TypeError)):
        bk.xp.bincount(x)


def test_unknown_backend_and_dtype():
    with pytest.raises(BackendError, match="unknown backend 'jax'"):
        get_backend("jax")
    with pytest.raises(ValueError, match="float16"):
        build_model(small_task(), d_model=24, dtype="float16")


@pytest.mark.skipif(HAS_CUPY, reason="CuPy is available here")
def test_cupy_missing_is_a_clear_error():
    with pytest.raises(BackendError, match="--backend numpy"):
        get_backend("cupy")


@gpu
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("variant", variants(), ids=vid)
def test_cupy_agrees_with_numpy(variant, alpha):
    assert_close(outputs(*variant, alpha, "numpy"), outputs(*variant, alpha, "cupy"))


def test_params_are_assignable_and_checked():
    task = small_task()
    m = build_model(task, kind="reparam", d_model=24)
    m.params["lam"] = [1.0, 2.0]
    assert np.allclose(m.params.to_host()["lam"], [1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        m.params["lam"] = np.zeros(3)
    with pytest.raises(KeyError, match="lam"):
        m.params["W"] = np.zeros((24, 24))


def test_float32_model_tracks_float64():
    task = small_task(0.3)
    b = task.sample(16, np.random.default_rng(0))
    m64 = build_model(task, kind="origin", attention="softmax", d_model=24)
    randomize_params(m64, np.random.default_rng(1))
    m32 = build_model(task, kind="origin", attention="softmax", d_model=24, dtype="float32")
    for k, v in m64.params.to_host().items():
        m32.params[k] = v
    l64, g64 = m64.loss_and_grad(b.tokens, b.targets)
    l32, g32 = m32.loss_and_grad(b.tokens, b.targets)
    assert g32["W"].dtype == np.float32
    assert abs(l64 - l32) < 1e-5
    for k in g64:
        assert np.abs(g64[k] - g32[k]).max() < 1e-4 * max(1, np.abs(g64[k]).max())


def _step_peak_bytes(m, b):
    import tracemalloc
    m.loss_and_grad(b.tokens, b.targets)                                  # warm
    tracemalloc.start()
    m.loss_and_grad(b.tokens, b.targets)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("kind", ["origin", "reparam", "reparamW"])
def test_index_path_creates_no_B_H_d_array(kind):
    """One training step at the paper's size (B 512, H 256, d 128) peaks far below one [B, H, d] array."""
    from icr_np import RecallTask
    task = RecallTask.preset("paper-noisy")
    m = build_model(task, kind=kind, attention="softmax")
    b = task.sample(512, np.random.default_rng(0))
    assert _step_peak_bytes(m, b) < 512 * 256 * 128 * 8 / 8


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_reparam_forms_no_d_by_d_array(alpha):
    """reparam keeps W = sum_q lam[q] A_q Bm_q^T factored and reads U^T s as a slice: at d 800 a step peaks
    below one [d, d] array (the step would form W, dW and U^T V otherwise)."""
    from icr_np import RecallTask
    B, H, d = 32, 64, 800
    task = RecallTask(vocab_size=400, n_triggers=5, n_outputs=4, active_triggers=1, seq_len=H, alpha=alpha)
    m = build_model(task, kind="reparam", attention="softmax", d_model=d)
    assert _step_peak_bytes(m, task.sample(B, np.random.default_rng(0))) < d * d * 8 / 2
