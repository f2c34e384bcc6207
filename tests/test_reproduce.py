"""`reproduce --quick` end to end in a temporary folder: every figure, its data, the report; then reuse."""
import json
import os

import pytest

from icr_np.cli import main

pytest.importorskip("matplotlib")
FIGS = ("fig1", "fig2", "appendix", "roles", "theory")


def test_reproduce_quick_produces_everything_and_reuses_runs(tmp_path, capsys):
    out = tmp_path / "rep"
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--quick", "--out", str(out), "--no-progress"])
    assert e.value.code == 0, capsys.readouterr().err
    for f in FIGS:
        for ext in ("png", "pdf", "json"):
            p = out / f"{f}.{ext}"
            assert p.exists() and p.stat().st_size > 1000, p
        data = json.loads((out / f"{f}.json").read_text())
        assert data["figure"] == f and data["runs"]
    report = (out / "REPORT.md").read_text()
    for claim in ("Bayes-optimality: reparam, linear attention", "Linear rate and its constant",
                  "OOD generalisation of reparam", "OOD failure of origin", "Partially reparameterised",
                  "Role separation", "Finite-sample regime"):
        assert claim in report
    for f in FIGS:
        assert f"({f}.png)" in report
    theory = json.loads((out / "theory.json").read_text())
    noiseless = [f for f in theory["fits"] if f["alpha"] == 0][0]
    assert noiseless["slope"] / noiseless["pred_sqrt"] == pytest.approx(1.0, abs=0.05)
    n_runs = len(os.listdir(out / "runs"))
    assert n_runs == 52
    # a second invocation recomputes nothing
    mtimes = {d: os.path.getmtime(out / "runs" / d / "summary.json") for d in os.listdir(out / "runs")}
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--quick", "--out", str(out), "--no-progress", "--figure", "fig1,theory"])
    assert e.value.code == 0
    assert mtimes == {d: os.path.getmtime(out / "runs" / d / "summary.json") for d in os.listdir(out / "runs")}
    assert "14 runs (14 reused from an earlier invocation)" in (out / "REPORT.md").read_text()


def test_reproduce_rejects_unknown_figure(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--figure", "fig9", "--out", str(tmp_path / "x")])
    assert e.value.code == 2 and "--figure='fig9'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
