"""The training loop (SPEC 3): regimes, evaluation, results on disk, interruption and resume.

    summary = train(RunConfig(model="origin", steps=2000), out="runs/origin")

Regimes:
- population: every step draws a fresh batch; the logged training loss is that batch's loss.
- finite-sample: M sentences drawn once, E epochs of shuffled minibatches of B (the last one smaller when B
  does not divide M); the logged training loss is the loss on the whole training sample; the reparam
  feed-forward map takes gamma = logit(alphahat), alphahat the fraction of tau targets in the sample,
  clipped to [1/(2M), 1 - 1/(2M)] (decision).
Row t of metrics.jsonl describes the parameters after t updates; its training loss and gradient norms are
those of the batch step t+1 will use (in the population regime the final row draws one more batch).
Random streams, all seeded from --seed: [seed, 0] training batches and shuffles, [seed, 1] the evaluation
sets (4096 in-distribution and 512 OOD sentences by default), [seed, 2] the finite training sample.
So runs that differ only in the model see the same data.
"""
import math
import os
import signal
import time
import json

import numpy as np

from icr_np import runio, theory
from icr_np.config import RunConfig
from icr_np.metrics import EvalSet, evaluate
from icr_np.network import build_model
from icr_np.optim import make_optimizer


class Interrupted(Exception):
    """Raised after a SIGINT/SIGTERM once the current step is finished and the state is on disk."""

    def __init__(self, run_dir, step):
        Exception.__init__(self, f"interrupted at step {step}; resume with: python cli.py run --resume {run_dir}")
        self.run_dir, self.step = run_dir, step


class NonFinite(Exception):
    pass


class RunExists(ValueError):
    pass


def build(config, task, gamma=None):
    return build_model(task, kind=config.model, attention=config.attention, kappa=config.kappa,
                       d_model=config.d_model, backend=config.backend, dtype=config.dtype, scaled=config.scaled,
                       train_unembedding=config.unembedding, embeddings=config.embeddings, gamma=gamma)


class Data:
    """The run's data streams: training batches (population or finite) and the fixed evaluation sets."""

    def __init__(self, config, task):
        self.config, self.task = config, task
        g_eval = np.random.default_rng([config.seed, 1])
        self.eval_set = EvalSet(task.sample(config.eval_size, g_eval))
        self.ood_set = EvalSet(task.sample(config.ood_size, g_eval, ood=True, seq_len=config.ood_seq_len))
        self.rng = np.random.default_rng([config.seed, 0])
        self.train_set, self.perm, self.alphahat = None, None, None
        if config.finite:
            M = config.samples
            self.train_set = task.sample(M, np.random.default_rng([config.seed, 2]))
            if task.noisy:
                lo = 1.0 / (2 * M)
                self.alphahat = float(np.clip(self.train_set.noise_target.mean(), lo, 1 - lo))

    def gamma(self):
        """The feed-forward offset the model should use: from alphahat in the finite regime, else None."""
        if self.alphahat is None:
            return None
        return math.log(self.alphahat / (1 - self.alphahat))

    def batch(self, t):
        c = self.config
        if not c.finite:
            return self.task.sample(c.batch, self.rng)
        k = t % c.steps_per_epoch
        if k == 0 or self.perm is None:
            self.perm = self.rng.permutation(c.samples)
        return self.train_set.subset(self.perm[k * c.batch:(k + 1) * c.batch])

    def state(self):
        s = {"rng": np.asarray(json.dumps(self.rng.bit_generator.state))}
        if self.perm is not None:
            s["perm"] = self.perm
        return s

    def load_state(self, s):
        self.rng.bit_generator.state = json.loads(str(s["rng"]))
        self.perm = s["perm"] if "perm" in s else None


class StopFlag:
    """SIGINT/SIGTERM set a flag; the loop finishes its step, saves, and stops."""

    def __init__(self):
        self.signal = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:      # not the main thread: no handlers, the run cannot be interrupted cleanly
                pass
        return self

    def _handle(self, signum, frame):
        self.signal = signum

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


def _float_params(model):
    out = {}
    host = model.params.to_host()
    if "lam" in host:
        out["lam"] = [float(v) for v in host["lam"]]
    if "nu" in host:
        out["nu"] = float(host["nu"])
    return out


def _norms(xp, tensors):
    return {k: float(xp.sqrt(xp.sum(v * v))) for k, v in tensors.items()}


class Run:
    """One training run bound to its folder. Use train() or resume() rather than this directly."""

    def __init__(self, config, run_dir, progress=None):
        self.config, self.run_dir, self.progress = config, run_dir, progress
        self.task = config.validate()
        self.data = Data(config, self.task)
        self.model = build(config, self.task, gamma=self.data.gamma())
        self.opt = make_optimizer(config.optimizer, config.lr, self.model.backend, config.momentum)
        self.eval_model = self.model
        if config.dtype != "float64":   # metrics in float64 whatever the training dtype
            self.eval_model = build(config.replace(dtype="float64"), self.task, gamma=self.data.gamma())
        self.step = 0
        self.elapsed = 0.0
        self._train_ctx = None

    # -- files --
    def write_config(self):
        cfg = {"config": self.config.to_dict(), "task": self.task.to_dict(), "model": self.model.config(),
               "regime": "finite" if self.config.finite else "population", "total_steps": self.config.total_steps,
               "eval_every": self.config.eval_interval, "bayes_risk": self.task.bayes_risk(),
               "alphahat": self.data.alphahat, "environment": runio.environment(self.model.backend)}
        runio.atomic_write_json(os.path.join(self.run_dir, runio.CONFIG), cfg)

    def save_state(self):
        arrays = {f"param.{k}": v for k, v in self.model.params.to_host().items()}
        arrays.update({f"opt.{k}": v for k, v in self.opt.state_dict().items()})
        arrays.update({f"data.{k}": v for k, v in self.data.state().items()})
        arrays["step"] = np.asarray(self.step)
        arrays["elapsed"] = np.asarray(self.elapsed)
        runio.atomic_save_npz(os.path.join(self.run_dir, runio.STATE), arrays)

    def load_state(self):
        with np.load(os.path.join(self.run_dir, runio.STATE)) as z:
            s = {k: z[k] for k in z.files}
        for k in self.model.params:
            self.model.params[k] = s[f"param.{k}"]
        self.opt.load_state_dict({k[4:]: v for k, v in s.items() if k.startswith("opt.")}, self.model.dtype)
        self.data.load_state({k[5:]: v for k, v in s.items() if k.startswith("data.")})
        self.step = int(s["step"])
        self.elapsed = float(s["elapsed"])

    # -- evaluation --
    def evaluate(self, t, loss, grads):
        m, xp = self.model, self.model.backend.xp
        if self.eval_model is not m:
            for k, v in m.params.items():
                self.eval_model.params.set_array(k, xp.astype(v, xp.float64))
        ev = self.eval_model
        ind, ood = evaluate(ev, self.data.eval_set), evaluate(ev, self.data.ood_set)
        if self.config.finite:
            if self._train_ctx is None:      # the training sample is fixed: its Context is built once
                self._train_ctx = ev.context(self.data.train_set.tokens)
            train_loss = ev.loss(self._train_ctx, self.data.train_set.targets)
        else:
            train_loss = float(loss)
        row = {"step": t}
        if self.config.finite:
            row["epoch"] = t / self.config.steps_per_epoch
        row.update(train_loss=train_loss, population_loss=ind["loss"], excess_risk=ind["excess"],
                   ood_loss=ood["loss"], ood_excess_risk=ood["excess"], accuracy=ind["accuracy"],
                   ood_accuracy=ood["accuracy"], p_output=ind["p_output"], ood_p_output=ood["p_output"])
        if self.task.noisy:
            row.update(p_noise=ind["p_noise"], ood_p_noise=ood["p_noise"], xi_F_tau=ind["xi_F_tau"],
                       xi_F_max=ind["xi_F_max"], roles_F=ind["roles_F"])
        row.update(xi_A_y=ind["xi_A_y"], xi_A_max=ind["xi_A_max"], roles_A=ind["roles_A"],
                   attn_output=ind["attn_output"], ood_attn_output=ood["attn_output"],
                   params=_float_params(m), param_norm=_norms(xp, m.params), grad_norm=_norms(xp, grads),
                   time_s=self.elapsed)
        self.check_finite(t, row, grads)
        return row

    def check_finite(self, t, row, grads):
        xp = self.model.backend.xp
        for k, v in self.model.params.items():
            if not bool(xp.all(xp.isfinite(v))):
                raise NonFinite(f"non-finite values in parameter {k!r} at step {t}")
        for k, v in grads.items():
            if not bool(xp.all(xp.isfinite(v))):
                raise NonFinite(f"non-finite values in the gradient of {k!r} at step {t}")
        for k in ("train_loss", "population_loss", "ood_loss"):
            if not math.isfinite(row[k]):
                raise NonFinite(f"non-finite {k} at step {t}")

    # -- the loop --
    def loop(self, stop):
        c, m = self.config, self.model
        T, every = c.total_steps, c.eval_interval
        writer = runio.MetricsWriter(self.run_dir, keep_upto=self.step - 1 if self.step else None)
        row = None
        try:
            t = self.step
            while True:
                is_eval = t % every == 0 or t == T
                tick = time.perf_counter()
                batch = self.data.batch(t)
                loss, grads = m.loss_and_grad(batch.tokens, batch.targets, as_array=True)
                self.elapsed += time.perf_counter() - tick
                if is_eval:
                    row = self.evaluate(t, loss, grads)
                    writer.write(row)
                if self.progress is not None:
                    self.progress(t, T, row if is_eval else None)
                if t == T:
                    break
                tick = time.perf_counter()
                self.opt.step(m.params, grads)
                self.elapsed += time.perf_counter() - tick
                t += 1
                self.step = t
                if is_eval or stop.signal is not None:
                    self.save_state()
                if stop.signal is not None:
                    raise Interrupted(self.run_dir, t)
        finally:
            writer.close()
        return row

    def finish(self, last_row):
        c = self.config
        final = {k: last_row.get(k) for k in ("train_loss", "population_loss", "excess_risk", "ood_loss",
                                               "ood_excess_risk", "ood_p_output", "ood_p_noise", "accuracy",
                                               "ood_accuracy")}
        final["params"] = last_row["params"]
        summary = {"name": c.name, "status": "finished", "bayes_risk": self.task.bayes_risk(),
                   "steps": c.total_steps, "epochs": (c.total_steps // c.steps_per_epoch) if c.finite else None,
                   "final": final, "theory": self.theory(), "alphahat": self.data.alphahat,
                   "train_time_s": self.elapsed, "run_dir": self.run_dir}
        runio.atomic_save_npz(os.path.join(self.run_dir, runio.PARAMS), self.model.params.to_host())
        runio.atomic_write_json(os.path.join(self.run_dir, runio.SUMMARY), summary)
        state = os.path.join(self.run_dir, runio.STATE)
        if os.path.exists(state):
            os.remove(state)
        return summary

    def theory(self):
        """SPEC 4 predictions at the final step, where they apply (reparam, linear attention, NGD)."""
        c, task = self.config, self.task
        applies = (c.model == "reparam" and c.attention == "linear" and c.optimizer == "ngd" and not c.scaled
                   and (c.kappa == 1 or not task.noisy) and (not task.noisy or task.active_triggers == 1)
                   and not c.finite)
        out = {"applies": applies, "bayes_risk": task.bayes_risk()}
        if applies:
            out.update(theory.predictions(task, c.lr, c.total_steps, self.model.gamma))
        if c.finite and task.noisy:
            out["finite_sample_floor"] = theory.finite_sample_floor(task, self.data.alphahat)
        return out


def _prepare_dir(run_dir, overwrite):
    if os.path.exists(run_dir):
        if not os.path.isdir(run_dir):
            raise RunExists(f"--out={run_dir} is a file: choose a folder path")
        if os.listdir(run_dir) and not overwrite:
            raise RunExists(f"--out={run_dir} already exists and is not empty: choose a new folder, pass "
                            "--overwrite to replace it, or --resume it")
        if overwrite:
            for f in (runio.CONFIG, runio.METRICS, runio.PARAMS, runio.SUMMARY, runio.STATE):
                p = os.path.join(run_dir, f)
                if os.path.exists(p):
                    os.remove(p)


def train(config, out=None, progress=None, overwrite=False, root="runs"):
    """Train one run into folder `out` (default runs/<model-name>-<timestamp>); returns the summary.

    Raises ValueError (bad configuration or folder) before anything is written, Interrupted after a
    SIGINT/SIGTERM (the state is saved; resume() continues), NonFinite if a value stops being finite.
    """
    config.validate()
    run_dir = out if out is not None else runio.new_run_dir(root, config.name)
    _prepare_dir(run_dir, overwrite)
    run = Run(config, run_dir, progress)       # builds everything before the folder is created
    runio.make_dir(run_dir)
    run.write_config()
    return _go(run)


def resume(run_dir, progress=None):
    """Continue an interrupted run to its configured number of steps; bit-identical to an uninterrupted one."""
    if not runio.is_run_dir(run_dir):
        raise ValueError(f"--resume={run_dir} does not hold a run (no {runio.CONFIG}): give a run folder")
    summary_path = os.path.join(run_dir, runio.SUMMARY)
    if os.path.exists(summary_path) and runio.read_json(summary_path).get("status") == "finished":
        return runio.read_json(summary_path)
    config = RunConfig.from_dict(runio.read_json(os.path.join(run_dir, runio.CONFIG))["config"])
    run = Run(config, run_dir, progress)
    if os.path.exists(os.path.join(run_dir, runio.STATE)):
        run.load_state()
    return _go(run)


def _go(run):
    with StopFlag() as stop:
        try:
            last = run.loop(stop)
        except NonFinite as e:
            runio.atomic_write_json(os.path.join(run.run_dir, runio.SUMMARY),
                                    {"name": run.config.name, "status": "nonfinite", "message": str(e),
                                     "run_dir": run.run_dir})
            raise
    return run.finish(last)
