"""Hand-derived gradients against PyTorch autograd in float64, when PyTorch happens to be installed.

PyTorch is never a dependency of icr_np; this is a second, independent reference beside finite differences.
"""
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

from icr_np import build_model                         # noqa: E402
from icr_np.gradcheck import randomize_params          # noqa: E402
from tests.conftest import small_task, variants, vid   # noqa: E402
from torch_reference import TorchModel                 # noqa: E402


@pytest.mark.parametrize("form", ["dense", "efficient"])
@pytest.mark.parametrize("variant", variants(), ids=vid)
def test_gradients_match_autograd(variant, form):
    kind, att, kappa, scaled = variant
    task = small_task(0.3)
    b = task.sample(8, np.random.default_rng(1))
    m = build_model(task, kind=kind, attention=att, kappa=kappa, d_model=24, scaled=scaled)
    randomize_params(m, np.random.default_rng(2))
    loss, grads = m.loss_and_grad(b.tokens, b.targets)
    tm = TorchModel(m, form)
    lt = tm.loss(b.tokens, b.targets)
    lt.backward()
    assert abs(lt.item() - loss) < 1e-12
    for k, g in grads.items():
        ref = tm.params[k].grad.numpy()
        assert np.abs(ref - g).max() <= 1e-12 * max(1.0, np.abs(ref).max()), k
