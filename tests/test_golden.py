"""Replay short seeded training runs and compare every step's loss with the recorded trajectories.

Gradient checks catch wrong derivatives; this catches bugs in the loop (the optimiser, the data stream,
the order of updates). The values were recorded once by tests/golden/record.py with the NumPy backend.
"""
import json
import os

import pytest

from tests.conftest import available
from tests.golden.record import VARIANTS, key, trajectory

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "golden", "trajectories.json")))
BACKENDS = [b for b in ("numpy", "strict", "cupy") if available(b)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=key)
def test_trajectory_matches_recording(variant, backend):
    got = trajectory(*variant, backend=backend)
    want = GOLDEN[key(variant)]
    assert len(got) == len(want)
    for t, (g, w) in enumerate(zip(got, want)):
        assert g == pytest.approx(w, rel=1e-10, abs=1e-12), f"step {t}: {g} != {w}"
    assert len(set(want)) > 1     # the recorded parameters move
