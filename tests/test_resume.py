"""Interrupt (SIGINT/SIGTERM) and resume: the final parameters and summary equal an uninterrupted run's."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from icr_np import runio
from icr_np.config import RunConfig
from icr_np.train import Interrupted, resume, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {
    "population": RunConfig(model="origin", attention="softmax", steps=30, eval_every=7, seq_len=32, batch=64,
                            eval_size=256, ood_size=128, optimizer="adam", lr=0.05),
    "finite": RunConfig(alpha=0.2, model="reparamW", attention="relu", samples=200, batch=64, epochs=6,
                        seq_len=32, eval_size=256, ood_size=128, optimizer="momentum", lr=0.05),
}


def strip(summary):
    s = {k: v for k, v in summary.items() if k not in ("train_time_s", "run_dir")}
    return json.dumps(s, sort_keys=True)


def params(d):
    with np.load(os.path.join(d, runio.PARAMS)) as z:
        return {k: z[k] for k in z.files}


def rows(d):
    return [{k: v for k, v in r.items() if k != "time_s"} for r in runio.read_metrics(d)]


@pytest.mark.parametrize("regime", list(CASES))
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_and_resume_is_bit_identical(tmp_path, regime, sig):
    cfg = CASES[regime]
    ref = train(cfg, out=str(tmp_path / "ref"))

    def interrupt_at(k):
        def progress(t, T, row):
            if t == k:
                os.kill(os.getpid(), sig)
        return progress

    d = str(tmp_path / "cut")
    with pytest.raises(Interrupted) as e:
        train(cfg, out=d, progress=interrupt_at(11))
    assert e.value.step == 12 and "--resume" in str(e.value)
    assert os.path.exists(os.path.join(d, runio.STATE)) and not os.path.exists(os.path.join(d, runio.SUMMARY))
    assert max(r["step"] for r in runio.read_metrics(d)) <= 11
    with pytest.raises(Interrupted):      # a second interruption, then the rest
        resume(d, progress=interrupt_at(17))
    out = resume(d)
    assert strip(out) == strip(ref)
    p, q = params(d), params(str(tmp_path / "ref"))
    assert p.keys() == q.keys() and all(np.array_equal(p[k], q[k]) for k in p)
    assert rows(d) == rows(str(tmp_path / "ref"))
    assert not os.path.exists(os.path.join(d, runio.STATE))
    assert resume(d)["status"] == "finished"          # resuming a finished run does nothing


def test_ctrl_c_on_the_cli_exits_130_and_resumes(tmp_path):
    d = str(tmp_path / "r")
    args = [sys.executable, os.path.join(ROOT, "cli.py"), "run", "--steps", "100000", "--seq-len", "16",
            "--batch", "16", "--eval-size", "64", "--ood-size", "32", "--eval-every", "50", "--out", d]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(runio.read_metrics(d)) < 3:
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "python cli.py run --resume" in err and "Traceback" not in err
    state = np.load(os.path.join(d, runio.STATE))
    assert int(state["step"]) > 0
