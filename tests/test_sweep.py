"""Sweeps: expansion, folders, results.csv, no recomputation, and the same table on local workers and Dask."""
import csv
import json
import os
import shutil

import pytest

from tests.conftest import call
from icr_np.config import RunConfig
from icr_np.sweep import expand

TINY = ["--seq-len", "16", "--batch", "32", "--eval-size", "64", "--ood-size", "32", "--steps", "6",
        "--eval-every", "3"]


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_expand_names_cells_by_what_varies():
    cells = expand({"steps": 5}, {"model": ["origin", "reparam"], "alpha": [0.2, 0.5], "seed": [0]})
    assert [c.folder for c in cells] == ["origin-linear-FA_alpha0.2", "origin-linear-FA_alpha0.5",
                                         "reparam-linear-FA_alpha0.2", "reparam-linear-FA_alpha0.5"]
    assert cells[1].config == RunConfig(steps=5, model="origin", alpha=0.5, seed=0)


def test_expand_validates_every_cell_first():
    with pytest.raises(ValueError, match="--alpha=1.5"):
        expand({}, {"alpha": [0.2, 1.5]})
    with pytest.raises(ValueError, match="unknown option 'colour'"):
        expand({}, {"colour": ["red"]})


def test_sweep_local_then_rerun_does_no_work(tmp_path, capsys):
    out = tmp_path / "s"
    args = ["sweep", "--model", "origin,reparam", "--seeds", "0,1", "--out", str(out), "--workers", "2",
            "--no-progress"] + TINY
    code, stdout, err = call(args, capsys)
    assert code == 0, err
    rows = read_csv(out / "results.csv")
    assert len(rows) == 4 and {r["model"] for r in rows} == {"origin", "reparam"}
    assert {r["seed"] for r in rows} == {"0", "1"}
    for col in ("population_loss", "excess_risk", "ood_loss", "ood_p_output", "ood_p_noise", "accuracy", "lam"):
        assert col in rows[0]
    assert "4 cells (0 reused)" in stdout
    mtimes = {d: os.path.getmtime(out / d / "summary.json") for d in os.listdir(out) if d != "results.csv"}
    code, stdout, _ = call(args, capsys)
    assert code == 0 and "4 cells (4 reused)" in stdout
    assert mtimes == {d: os.path.getmtime(out / d / "summary.json") for d in os.listdir(out) if d != "results.csv"}


def test_sweep_completes_a_half_finished_grid(tmp_path, capsys):
    out = tmp_path / "s"
    args = ["sweep", "--alpha", "0.2,0.5", "--out", str(out), "--no-progress", "--workers", "1"] + TINY
    call(args, capsys)
    first = read_csv(out / "results.csv")
    shutil.rmtree(out / "reparam-linear-FA_alpha0.5")       # as if the sweep had been killed before this cell
    code, stdout, _ = call(args, capsys)
    assert code == 0 and "2 cells (1 reused)" in stdout
    assert read_csv(out / "results.csv") == first


def test_sweep_refuses_a_folder_of_another_configuration(tmp_path, capsys):
    out = tmp_path / "s"
    call(["sweep", "--alpha", "0.2,0.5", "--out", str(out), "--no-progress", "--workers", "1"] + TINY, capsys)
    code, _, err = call(["sweep", "--alpha", "0.2,0.5", "--out", str(out), "--no-progress"] + TINY[:-4]
                        + ["--steps", "7", "--eval-every", "3"], capsys)
    assert code == 2 and "--steps=6" in err and "new --out" in err


def test_grid_file(tmp_path, capsys):
    g = tmp_path / "grid.json"
    g.write_text(json.dumps({"model": ["origin", "reparamW"], "attention": "softmax", "seq-len": 16,
                             "batch": 32, "eval_size": 64, "ood_size": 32, "steps": 4}))
    code, stdout, err = call(["sweep", "--grid", str(g), "--out", str(tmp_path / "s"), "--no-progress"], capsys)
    assert code == 0, err
    assert {r["cell"] for r in read_csv(tmp_path / "s" / "results.csv")} == {"origin-softmax-FA", "reparamW-softmax-FA"}


@pytest.mark.parametrize("args,needle", [
    (["--alpha", "0.2,abc"], "--alpha"),
    (["--model", "origin,gpt"], "--model"),
    (["--scaled", "maybe"], "--scaled"),
    (["--executor", "slurm"], "--executor"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
    (["--workers", "0"], "--workers"),
])
def test_bad_sweeps_are_refused_before_anything_runs(tmp_path, capsys, args, needle):
    code, out, err = call(["sweep", "--out", str(tmp_path / "s")] + args, capsys)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_dask_missing_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "dask.distributed", None)     # import fails as if the extra were absent
    code, out, err = call(["sweep", "--executor", "dask", "--out", str(tmp_path / "s")] + TINY, capsys)
    assert code == 2 and "pip install -e .[cluster]" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_same_table_on_local_workers_and_on_dask(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    grid = ["--model", "origin,reparam", "--alpha", "0.2,0.5", "--attention", "softmax", "--no-progress",
            "--workers", "2"] + TINY
    code, _, err = call(["sweep", "--out", str(tmp_path / "local")] + grid, capsys)
    assert code == 0, err
    code, _, err = call(["sweep", "--executor", "dask", "--out", str(tmp_path / "dask")] + grid, capsys)
    assert code == 0, err
    a = (tmp_path / "local" / "results.csv").read_text()
    b = (tmp_path / "dask" / "results.csv").read_text()
    assert a == b and len(a.splitlines()) == 5
