"""The command line: the main job, its JSON, the other commands, and one-line errors with exit code 2."""
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import call

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--seq-len", "32", "--batch", "64", "--eval-size", "256", "--ood-size", "128", "--no-progress"]


def test_run_json_summary(tmp_path, capsys):
    code, out, err = call(["run", "--steps", "40", "--out", str(tmp_path / "r"), "--json"] + FAST, capsys)
    assert code == 0, err
    s = json.loads(out)
    assert s["bayes_risk"] == pytest.approx(0.6931471805599453) and s["steps"] == 40
    for k in ("train_loss", "population_loss", "excess_risk", "ood_loss", "ood_p_output", "ood_p_noise",
              "accuracy", "params"):
        assert k in s["final"]
    assert s["final"]["params"]["lam"] == [pytest.approx(4.0, rel=1e-12)]


def test_run_table_shows_bayes_and_theory(tmp_path, capsys):
    code, out, _ = call(["run", "--steps", "30", "--lr", "0.5", "--out", str(tmp_path / "r")] + FAST, capsys)
    assert code == 0
    assert "Bayes risk" in out and "theory (SPEC 4)" in out and "excess risk" in out


def test_main_command_as_a_user_runs_it(tmp_path):
    """`python cli.py run` in a fresh folder, as the README says (shortened by options only)."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "run", "--steps", "20"] + FAST,
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    runs = os.listdir(tmp_path / "runs")
    assert len(runs) == 1 and runs[0].startswith("reparam-linear-FA-")
    assert sorted(os.listdir(tmp_path / "runs" / runs[0])) == ["config.json", "metrics.jsonl", "params.npz",
                                                               "summary.json"]


def test_compare_table(tmp_path, capsys):
    code, out, err = call(["compare", "--models", "reparam-linear-FA,origin-softmax-F", "--steps", "10",
                           "--out", str(tmp_path / "c")] + FAST, capsys)
    assert code == 0, err
    assert "reparam-linear-FA" in out and "origin-softmax-F" in out
    assert sorted(os.listdir(tmp_path / "c")) == ["origin-softmax-F", "reparam-linear-FA"]


def test_gradcheck_command(capsys):
    code, out, _ = call(["gradcheck", "--models", "origin-softmax-FA,reparam-scaled-softmax-FA"], capsys)
    assert code == 0 and "all passed" in out and "max rel err" in out


def test_gradcheck_fails_loudly_with_an_impossible_tolerance(capsys):
    code, out, _ = call(["gradcheck", "--models", "origin-softmax-FA", "--tol", "1e-30"], capsys)
    assert code == 1 and "FAIL" in out


def test_theory_command(capsys):
    code, out, _ = call(["theory", "--preset", "paper-noiseless", "--steps", "0,100"], capsys)
    assert code == 0 and "sqrt(A)" in out and "-0.0447214" in out
    code, out, _ = call(["theory", "--alpha", "0.2", "--lr", "0.5"], capsys)
    assert code == 0 and "after t > 2.77259 steps" in out


def test_plot_command(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    call(["run", "--steps", "10", "--out", str(tmp_path / "r")] + FAST, capsys)
    code, out, _ = call(["plot", str(tmp_path / "r")], capsys)
    assert code == 0
    assert (tmp_path / "r" / "curves.png").stat().st_size > 10000 and (tmp_path / "r" / "curves.pdf").exists()


def test_help_shows_decisions(capsys):
    code, out, _ = call(["run", "--help"], capsys)
    assert code == 0 and "Decision" in out and "--scaled" in out and "--resume" in out


BAD = [
    (["run", "--alpha", "1.5"], "--alpha"),
    (["run", "--alpha", "nan"], "--alpha"),
    (["run", "--alpha", "-0.1"], "--alpha"),
    (["run", "--vocab", "10"], "--vocab"),
    (["run", "--d-model", "64"], "--d-model"),
    (["run", "--active-triggers", "7"], "--active-triggers"),
    (["run", "--triggers", "0"], "--triggers"),
    (["run", "--seq-len", "3"], "--seq-len"),
    (["run", "--lr", "0"], "--lr"),
    (["run", "--lr", "-1"], "--lr"),
    (["run", "--lr", "inf"], "--lr"),
    (["run", "--steps", "-5"], "--steps"),
    (["run", "--steps", "abc"], "--steps"),
    (["run", "--batch", "0"], "--batch"),
    (["run", "--eval-every", "0"], "--eval-every"),
    (["run", "--seed", "-1"], "--seed"),
    (["run", "--model", "gpt"], "--model"),
    (["run", "--attention", "cosine"], "--attention"),
    (["run", "--optimizer", "sgd2"], "--optimizer"),
    (["run", "--backend", "jax"], "--backend"),
    (["run", "--dtype", "float16"], "--dtype"),
    (["run", "--kappa", "2"], "--kappa"),
    (["run", "--samples", "100"], "--samples"),
    (["run", "--samples", "1024", "--steps", "10"], "--steps"),
    (["run", "--epochs", "3"], "--epochs"),
    (["run", "--model", "origin", "--scaled"], "--scaled"),
    (["run", "--model", "reparam", "--unembedding"], "--unembedding"),
    (["run", "--preset", "paper"], "--preset"),
    (["run", "--ood-seq-len", "5"], "--ood-seq-len"),
    (["run", "--resume", "/nonexistent/run"], "--resume"),
    (["compare", "--models", "reparam-linear"], "--models"),
    (["plot", "/nonexistent/run"], "RUN_DIR"),
    (["run", "--no-such-option"], "--no-such-option"),
]


@pytest.mark.parametrize("args,needle", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    code, out, err = call(args + ["--out", str(tmp_path / "o")] if args[0] == "run" and "--resume" not in args
                          and "--no-such-option" not in args else args, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert "Traceback" not in err and out == ""
    assert os.listdir(tmp_path) == []


def test_existing_run_folder_is_not_overwritten(tmp_path, capsys):
    d = tmp_path / "r"
    code, _, _ = call(["run", "--steps", "5", "--out", str(d)] + FAST, capsys)
    assert code == 0
    before = (d / "summary.json").read_text()
    code, _, err = call(["run", "--steps", "6", "--out", str(d)] + FAST, capsys)
    assert code == 2 and "--overwrite" in err and (d / "summary.json").read_text() == before
    code, _, _ = call(["run", "--steps", "6", "--out", str(d), "--overwrite"] + FAST, capsys)
    assert code == 0 and json.loads((d / "summary.json").read_text())["steps"] == 6


def test_resume_of_a_non_run_folder(tmp_path, capsys):
    code, _, err = call(["run", "--resume", str(tmp_path)], capsys)
    assert code == 2 and "does not hold a run" in err


@pytest.mark.parametrize("command", [["run", "--steps", "2"] + FAST, ["sweep", "--steps", "2", "--no-progress"] + FAST])
def test_an_out_folder_that_cannot_be_created_is_one_line(tmp_path, capsys, command):
    (tmp_path / "afile").write_text("not a folder")
    code, out, err = call(command + ["--out", str(tmp_path / "afile" / "sub")], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "--out=" in lines[0] and "cannot be created" in lines[0], err
    assert sorted(os.listdir(tmp_path)) == ["afile"]


def test_a_file_system_error_mid_run_is_one_line(tmp_path, capsys, monkeypatch):
    from icr_np import runio

    def full(path, data):
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(runio, "atomic_write_bytes", full)
    code, out, err = call(["run", "--steps", "2", "--out", str(tmp_path / "r")] + FAST, capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "No space left on device" in lines[0] and "Traceback" not in err
