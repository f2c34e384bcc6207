import itertools

import numpy as np
import pytest
from hypothesis import settings

# Deterministic property tests: the same examples on every run and machine (tests stay seeded).
settings.register_profile("icr_np", derandomize=True, print_blob=True)
settings.load_profile("icr_np")

from backends import BackendError, get_backend
from icr_np import RecallTask


def available(name):
    try:
        get_backend(name)
        return True
    except BackendError:
        return False


HAS_CUPY = available("cupy")


def call(args, capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from icr_np.cli import main
    with pytest.raises(SystemExit) as e:
        main(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err
gpu = pytest.mark.skipif(not HAS_CUPY, reason="CuPy with a GPU is not available here")


def variants():
    """Every model variant: (kind, attention, kappa, scaled)."""
    out = []
    for kind, att, kappa, scaled in itertools.product(("origin", "reparam", "reparamW"),
                                                      ("linear", "relu", "softmax"), (0, 1), (False, True)):
        if scaled and kind != "reparam":
            continue
        out.append((kind, att, kappa, scaled))
    return out


def vid(v):
    kind, att, kappa, scaled = v
    return f"{kind}{'-scaled' if scaled else ''}-{att}-k{kappa}"


def small_task(alpha=0.0, **kw):
    base = dict(vocab_size=12, n_triggers=2, n_outputs=3, active_triggers=2, seq_len=10, alpha=alpha)
    return RecallTask(**{**base, **kw})


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
