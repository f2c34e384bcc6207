"""The in-context recall task (SPEC section 1): vocabulary, generator, OOD sentences, Bayes risk.

Vocabulary (token ids 0..N-1):
    0 .. Q-1        trigger tokens (the first A of them are "active": queries are drawn from those)
    Q .. Q+Y-1      training output tokens
    Q+Y .. N-2      other tokens: filler, and the unseen outputs of the OOD test
    N-1             the generic noise token tau (used only when alpha > 0)
A sentence is z[0..H-1] with z[H-1] = q, one planted bigram (q, y) (or n of them), in the noisy setting one
planted (q, tau) bigram, and the target z[H] = y, or tau with probability alpha.

Everything is drawn on the host from a seeded numpy Generator, vectorised over the batch, so every backend
sees identical data.
"""
from dataclasses import dataclass, replace, asdict
import math

import numpy as np

PRESETS = {
    "paper-noiseless": dict(vocab_size=60, n_triggers=5, n_outputs=4, active_triggers=5, seq_len=256, alpha=0.0),
    "paper-noisy": dict(vocab_size=60, n_triggers=5, n_outputs=4, active_triggers=1, seq_len=256, alpha=0.5),
}
FILLERS = ("uniform", "markov")


def binary_entropy(alpha):
    """H(alpha) in nats; 0 at alpha = 0."""
    if alpha <= 0.0 or alpha >= 1.0:
        return 0.0
    return -alpha * math.log(alpha) - (1.0 - alpha) * math.log1p(-alpha)


@dataclass
class Batch:
    tokens: np.ndarray     # [B, H] z[0..H-1], RecallTask.token_dtype (int16 up to N 32767)
    targets: np.ndarray    # [B] int64, z[H]
    outputs: np.ndarray    # [B] int64, the planted y
    triggers: np.ndarray   # [B] int64, the query trigger q
    noise_target: np.ndarray  # [B] bool, target is tau
    ood: bool = False

    def __len__(self):
        return self.tokens.shape[0]

    def subset(self, idx):
        return Batch(self.tokens[idx], self.targets[idx], self.outputs[idx], self.triggers[idx],
                     self.noise_target[idx], self.ood)


def _check_int(name, value, lo, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name}={value!r} is invalid: {what}")


@dataclass(frozen=True)
class RecallTask:
    vocab_size: int = 60          # N
    n_triggers: int = 5           # Q
    n_outputs: int = 4            # Y
    active_triggers: int = 5      # A
    seq_len: int = 256            # H
    alpha: float = 0.0            # noise probability
    n_planted: int = 1            # extension: planted (q, y) bigrams per sentence (paper: 1)
    filler: str = "uniform"       # extension: "markov" draws filler from a fixed random bigram chain
    markov_seed: int = 0          # seeds the chain's transition matrix when filler == "markov"

    def __post_init__(self):
        N, Q, Y = self.vocab_size, self.n_triggers, self.n_outputs
        _check_int("n_triggers", Q, 1, "need an integer >= 1")
        _check_int("n_outputs", Y, 1, "need an integer >= 1")
        _check_int("vocab_size", N, 1, "need an integer >= 1")
        if N - 2 < Q + Y:
            raise ValueError(f"vocab_size={N} is too small for n_triggers={Q} and n_outputs={Y}: need "
                             f"vocab_size >= n_triggers + n_outputs + 2 = {Q + Y + 2} (one unseen output and tau)")
        _check_int("active_triggers", self.active_triggers, 1, "need an integer >= 1")
        if self.active_triggers > Q:
            raise ValueError(f"active_triggers={self.active_triggers} is invalid: need 1 <= active_triggers "
                             f"<= n_triggers={Q}")
        _check_int("seq_len", self.seq_len, 4, "need an integer >= 4")
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, (int, float, np.floating)) or not (0.0 <= a < 1.0):
            raise ValueError(f"alpha={a!r} is invalid: need a number in [0, 1)")
        _check_int("n_planted", self.n_planted, 1, "need an integer >= 1")
        # The bigrams are drawn one after another, each blocking up to 3 of the H-2 starts; the last always
        # finds a free start when H - 2 >= 3k - 2, i.e. k <= H // 3 (k = planted bigrams + the noisy one).
        k, most = self.n_planted + self.noisy, self.seq_len // 3
        if k > most:
            raise ValueError(f"n_planted={self.n_planted} is too many for seq_len={self.seq_len}: the "
                             f"{'noisy bigram and the ' if self.noisy else ''}planted bigrams need seq_len >= "
                             f"3 * {k} = {3 * k}; at most {most - self.noisy} planted")
        if self.filler not in FILLERS:
            raise ValueError(f"filler={self.filler!r} is invalid: choose one of {', '.join(FILLERS)}")
        _check_int("markov_seed", self.markov_seed, 0, "need an integer >= 0")

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def preset(cls, name, **overrides):
        if name not in PRESETS:
            raise ValueError(f"preset={name!r} is unknown: choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def replace(self, **changes):
        return replace(self, **changes)

    def to_dict(self):
        return asdict(self)

    # ---- vocabulary ---------------------------------------------------------------------------------
    @property
    def noisy(self):
        return self.alpha > 0.0

    @property
    def shortest_seq_len(self):
        """The shortest context this task can fill: H >= 4 and H >= 3 * (bigrams), as validated above."""
        return max(4, 3 * (self.n_planted + self.noisy))

    @property
    def tau(self):
        return self.vocab_size - 1

    @property
    def outputs(self):
        return np.arange(self.n_triggers, self.n_triggers + self.n_outputs)

    @property
    def unseen_outputs(self):
        return np.arange(self.n_triggers + self.n_outputs, self.vocab_size - 1)

    @property
    def filler_range(self):
        return self.n_triggers, self.vocab_size - 1   # [lo, hi): outputs and other tokens

    def bayes_risk(self):
        """Cross-entropy Bayes risk in nats: 0 noiseless, the binary entropy H(alpha) noisy (also OOD)."""
        return binary_entropy(self.alpha)

    # ---- sampling -----------------------------------------------------------------------------------
    def sample(self, batch_size, rng, ood=False, seq_len=None):
        """Draw `batch_size` sentences. ood: outputs from the unseen range. seq_len: test-time H (extension)."""
        _check_int("batch_size", batch_size, 1, "need an integer >= 1")
        H = self.seq_len if seq_len is None else seq_len
        if H != self.seq_len:
            self.replace(seq_len=H)   # validates the shifted length
        B, Q, N = batch_size, self.n_triggers, self.vocab_size
        q = rng.integers(0, self.active_triggers, size=B)
        lo, hi = (self.n_triggers + self.n_outputs, N - 1) if ood else (Q, Q + self.n_outputs)
        y = rng.integers(lo, hi, size=B)
        z = self._filler(B, H, rng)
        z[:, H - 1] = q
        rows = np.arange(B)
        starts = _plant_starts(self.n_planted + self.noisy, B, H, rng)   # [k, B] non-overlapping starts
        for p in starts[:self.n_planted]:
            z[rows, p], z[rows, p + 1] = q, y
        noise_target = np.zeros(B, dtype=bool)
        if self.noisy:
            p = starts[-1]
            z[rows, p], z[rows, p + 1] = q, self.tau
            noise_target = rng.random(B) < self.alpha
        targets = np.where(noise_target, self.tau, y)
        return Batch(z, targets, y, q, noise_target, ood)

    @property
    def token_dtype(self):
        """The smallest signed integer type that holds every token id (int16 at the paper's N): numpy draws
        bounded int16 several times faster than int64, and the sampler is part of every step."""
        return np.int16 if self.vocab_size <= np.iinfo(np.int16).max else np.int32

    def _filler(self, B, H, rng):
        lo, hi = self.filler_range
        if self.filler == "uniform":
            return rng.integers(lo, hi, size=(B, H), dtype=self.token_dtype)
        cum = np.cumsum(self.markov_matrix(), axis=1)            # [K, K]
        z = np.empty((B, H), dtype=self.token_dtype)
        z[:, 0] = rng.integers(lo, hi, size=B)
        u = rng.random((B, H))
        for h in range(1, H):   # a chain is sequential in h; each step is vectorised over the batch
            z[:, h] = lo + np.minimum((cum[z[:, h - 1] - lo] < u[:, h, None]).sum(1), hi - lo - 1)
        return z

    def markov_matrix(self):
        """The filler chain's transition matrix over filler tokens [K, K] (extension; fixed by markov_seed)."""
        lo, hi = self.filler_range
        K = hi - lo
        return np.random.default_rng(self.markov_seed).dirichlet(np.full(K, 0.5), size=K)


def _plant_starts(k, B, H, rng):
    """k bigram starts per sentence in 0..H-3, drawn one after another, each uniform over the starts that do
    not overlap the ones before (|p' - p| >= 2): the paper's "redrawn until it does not overlap", without
    the redraw loop. The first two have closed forms (O(B)); later ones use a mask of free starts (O(B H)).
    """
    S = H - 2
    out = [rng.integers(0, S, size=B)]
    if k >= 2:   # uniform over the S - c starts outside [p-1, p+1]: skip the c blocked ones
        p = out[0]
        lo, hi = np.maximum(p - 1, 0), np.minimum(p + 1, S - 1)
        c = hi - lo + 1
        j = np.floor(rng.random(B) * (S - c)).astype(np.int64)
        out.append(np.where(j < lo, j, j + c))
    if k >= 3:
        free = np.ones((B, S), dtype=bool)
        rows = np.arange(B)
        for p in out:
            for off in (-1, 0, 1):
                free[rows, np.clip(p + off, 0, S - 1)] = False
        for _ in range(k - 2):
            count = free.sum(1)
            j = np.floor(rng.random(B) * count).astype(np.int64)    # the j-th free start
            p = (np.cumsum(free, axis=1) > j[:, None]).argmax(1)
            for off in (-1, 0, 1):
                free[rows, np.clip(p + off, 0, S - 1)] = False
            out.append(p)
    return out
