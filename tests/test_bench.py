"""The benchmark command runs end to end and writes its JSON and table (speed itself is never asserted)."""
import json

import pytest

from tests.conftest import call


def test_bench_quick_writes_json_and_table(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code, _, err = call(["bench", "--quick", "--no-torch", "--repeats", "1", "--out", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert {row["variant"] for row in r["variants"]} >= {"reparam-linear-FA", "origin-softmax-FA"}
    for row in r["variants"] + r["variants_float64"] + r["scaling"]:
        assert row["numpy_ms"] > 0 and row["peak_bytes"] > 0
    assert 0 < r["sampler"]["fraction_of_step"]
    table = (tmp_path / "bench.md").read_text()
    assert "| origin-softmax-FA |" in table and "Sampler:" in table


def test_bench_bad_arguments_are_one_line(capsys):
    code, _, err = call(["bench", "--repeats", "many"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "bench" in err


def test_device_check_script_runs_on_cpu_against_array_api_strict(tmp_path):
    """The GPU script, with array-api-strict in place of CuPy: every variant agrees, the timing table fills."""
    pytest.importorskip("array_api_strict")
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "device_check.py")
    spec = importlib.util.spec_from_file_location("device_check", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "device.json"
    with pytest.raises(SystemExit) as e:
        mod.main(["--against", "strict", "--smoke", "--out", str(out)])
    assert e.value.code == 0
    r = json.loads(out.read_text())
    assert len(r["agreement"]) == 2 * len(mod.VARIANTS)
    assert all(row["max_rel_error"] <= 1e-10 for row in r["agreement"])
    assert all(row["strict_ms"] > 0 for row in r["timing"])
