"""One run's configuration: every option of `cli.py run`, validated before anything is computed or written.

Field names are the CLI option names without the dashes (underscores for inner dashes), and every error
message names the option as the CLI spells it, so the library and the CLI say the same thing.
"""
from dataclasses import asdict, dataclass, fields
import math
import re

from backends import NAMES as BACKENDS
from icr_np.attention import ATTENTIONS
from icr_np.inputs import EMBEDDINGS
from icr_np.optim import OPTIMIZERS
from icr_np.parameterisations import KINDS
from icr_np.task import FILLERS, PRESETS, RecallTask

TASK_OPTION = {"vocab_size": "vocab", "n_triggers": "triggers", "n_outputs": "outputs",
               "active_triggers": "active_triggers", "seq_len": "seq_len", "alpha": "alpha",
               "n_planted": "planted", "filler": "filler"}
DEFAULT_POPULATION_STEPS = 300     # the CLI default finishes in seconds; the paper's 2000 is --steps 2000
DEFAULT_EVAL_EVERY = 10


def option(name):
    return "--" + name.replace("_", "-")


def translate(message):
    """Rename library argument names (vocab_size=...) to CLI options (--vocab=...) in an error message."""
    def sub(m):
        name = m.group(1)
        return option(TASK_OPTION.get(name, name)) + "="
    return re.sub(r"(?<![-\w])(" + "|".join(list(TASK_OPTION) + ["d_model", "batch_size"]) + r")=", sub, message)


@dataclass
class RunConfig:
    preset: str = "paper-noisy"
    model: str = "reparam"          # origin | reparam | reparamW
    attention: str = "linear"
    kappa: int = 1
    scaled: bool = False
    unembedding: bool = False       # origin only: train U too
    alpha: float = None             # None: the preset's
    vocab: int = None
    triggers: int = None
    outputs: int = None
    active_triggers: int = None
    seq_len: int = None
    planted: int = None
    filler: str = None
    d_model: int = 128
    embeddings: str = "onehot"
    optimizer: str = "ngd"
    lr: float = 0.1
    momentum: float = 0.9
    steps: int = None               # population regime; None: DEFAULT_POPULATION_STEPS
    batch: int = 512
    samples: int = None             # finite-sample regime: M sentences drawn once ...
    epochs: int = None              # ... trained for E epochs (default 100)
    eval_every: int = None          # None: DEFAULT_EVAL_EVERY (population) or one epoch (finite)
    eval_size: int = 4096
    ood_size: int = 512
    ood_seq_len: int = None         # extension (SPEC 1.5): OOD sentences of another context length H
    backend: str = "numpy"
    dtype: str = "float64"
    seed: int = 0

    # ---- derived ------------------------------------------------------------------------------------
    @property
    def finite(self):
        return self.samples is not None

    @property
    def steps_per_epoch(self):
        return -(-self.samples // self.batch)

    @property
    def total_steps(self):
        if self.finite:
            return self.steps_per_epoch * (100 if self.epochs is None else self.epochs)
        return DEFAULT_POPULATION_STEPS if self.steps is None else self.steps

    @property
    def eval_interval(self):
        if self.eval_every is not None:
            return self.eval_every
        return self.steps_per_epoch if self.finite else DEFAULT_EVAL_EVERY

    @property
    def name(self):
        ff = "FA" if self.kappa else "F"
        return f"{self.model}{'-scaled' if self.scaled else ''}-{self.attention}-{ff}{'-U' if self.unembedding else ''}"

    def task(self):
        over = {k: getattr(self, o) for k, o in TASK_OPTION.items() if getattr(self, o) is not None}
        try:
            return RecallTask.preset(self.preset, **over)
        except ValueError as e:
            raise ValueError(translate(str(e))) from None

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes):
        return RunConfig(**{**asdict(self), **changes})

    # ---- validation ---------------------------------------------------------------------------------
    def validate(self):
        """Raise ValueError naming the option, the value and what is allowed; return the task."""
        choice = lambda name, allowed: _choice(name, getattr(self, name), allowed)
        choice("preset", PRESETS)
        choice("model", KINDS)
        choice("attention", ATTENTIONS)
        choice("embeddings", EMBEDDINGS)
        choice("optimizer", OPTIMIZERS)
        choice("backend", BACKENDS)
        choice("dtype", ("float32", "float64"))
        if self.filler is not None:
            choice("filler", FILLERS)
        if self.kappa not in (0, 1) or isinstance(self.kappa, bool):
            raise ValueError(f"--kappa={self.kappa!r} is invalid: choose 0 or 1")
        if self.scaled and self.model != "reparam":
            raise ValueError(f"--scaled is only defined for --model reparam, not {self.model!r}")
        if self.unembedding and self.model != "origin":
            raise ValueError(f"--unembedding is only defined for --model origin, not {self.model!r}")
        for name in ("d_model", "batch", "eval_size", "ood_size"):
            _positive_int(name, getattr(self, name))
        for name in ("steps", "samples", "epochs", "eval_every"):
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name), allow_zero=name == "steps")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"--seed={self.seed!r} is invalid: need an integer >= 0")
        for name in ("lr",):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"{option(name)}={v!r} is invalid: need a finite number > 0")
        if not (isinstance(self.momentum, (int, float)) and 0 <= self.momentum < 1):
            raise ValueError(f"--momentum={self.momentum!r} is invalid: need a number in [0, 1)")
        if self.alpha is not None and (isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float))
                                       or not (0 <= self.alpha < 1)):
            raise ValueError(f"--alpha={self.alpha!r} is invalid: need a number in [0, 1)")
        if self.finite:
            if self.steps is not None:
                raise ValueError(f"--steps={self.steps} cannot be combined with --samples: the finite-sample "
                                 "regime runs --epochs epochs of --samples / --batch steps")
            if self.samples < self.batch:
                raise ValueError(f"--samples={self.samples} is smaller than --batch={self.batch}: a finite "
                                 "sample must hold at least one batch")
        elif self.epochs is not None:
            raise ValueError(f"--epochs={self.epochs} needs --samples (the finite-sample regime)")
        task = self.task()
        if self.embeddings == "onehot" and self.d_model < 2 * task.vocab_size:
            raise ValueError(f"--d-model={self.d_model} is too small for one-hot embeddings of --vocab="
                             f"{task.vocab_size}: need --d-model >= {2 * task.vocab_size}, or --embeddings gaussian")
        if self.ood_seq_len is not None:
            shortest = task.shortest_seq_len
            if isinstance(self.ood_seq_len, bool) or not isinstance(self.ood_seq_len, int) \
                    or self.ood_seq_len < shortest:
                raise ValueError(f"--ood-seq-len={self.ood_seq_len!r} is invalid: need an integer >= {shortest} "
                                 "(room for the planted bigrams of this task)")
        return task


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{option(name)}={value!r} is invalid: choose one of {', '.join(allowed)}")


def _positive_int(name, value, allow_zero=False):
    lo = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{option(name)}={value!r} is invalid: need an integer >= {lo}")


MODEL_NAME_HELP = "kind[-scaled]-attention-FA|F[-U], e.g. reparam-linear-FA, origin-softmax-F"


def parse_model_name(name):
    """'reparam-scaled-softmax-FA' -> dict(model=, scaled=, attention=, kappa=, unembedding=)."""
    parts = name.split("-")
    out = {"unembedding": False, "scaled": False}
    if parts and parts[-1] == "U":
        out["unembedding"] = True
        parts = parts[:-1]
    if len(parts) == 4 and parts[1] == "scaled":
        out["scaled"] = True
        parts = [parts[0]] + parts[2:]
    if len(parts) != 3 or parts[0] not in KINDS or parts[1] not in ATTENTIONS or parts[2] not in ("FA", "F"):
        raise ValueError(f"--models: {name!r} is not a model name: use {MODEL_NAME_HELP}")
    out.update(model=parts[0], attention=parts[1], kappa=1 if parts[2] == "FA" else 0)
    return out


FIGURE1_MODELS = ("reparam-linear-FA", "reparam-softmax-FA", "reparamW-linear-FA", "origin-linear-FA",
                  "origin-softmax-F")
