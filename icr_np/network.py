"""Model assembly: task + embeddings + parameterisation + attention -> logits, loss and gradients.

    model = build_model(task, kind="origin", attention="softmax", kappa=1, d_model=128)
    loss, grads = model.loss_and_grad(tokens, targets)

Decision: the model chooses the input path by itself ("index" for one-hot embeddings, the token-space
path that never builds a B*H*d array; "dense" only for Gaussian embeddings with 2N > H); `path=` forces one.
"""
import numpy as np

from backends import get_backend
from icr_np import model as eqs
from icr_np import parameterisations as pz
from icr_np.attention import check_attention
from icr_np.inputs import Context, Embeddings
from icr_np.loss import cross_entropy_backward, cross_entropy_forward


class Params(dict):
    """The trainable tensors; assigning converts host arrays to the model's backend and dtype, shape-checked."""

    def __init__(self, model, init):
        dict.__init__(self, init)
        self._model = model

    def __setitem__(self, key, value):
        if key not in self:
            raise KeyError(f"{key!r} is not a parameter of {self._model.name}: it has {', '.join(self)}")
        bk = self._model.backend
        host = np.asarray(bk.to_host(value) if not isinstance(value, (np.ndarray, float, int)) else value)
        if host.shape != tuple(self[key].shape):
            raise ValueError(f"parameter {key!r} needs shape {tuple(self[key].shape)}, got {host.shape}")
        dict.__setitem__(self, key, bk.asarray(host, dtype=self._model.dtype))

    def set_array(self, key, arr):
        """Store a backend array of the right shape as it is (the optimisers' path: no host round trip)."""
        dict.__setitem__(self, key, arr)

    def to_host(self):
        bk = self._model.backend
        return {k: bk.to_host(v) for k, v in self.items()}


class Model:
    def __init__(self, task, kind="origin", attention="linear", kappa=1, d_model=128, backend="numpy",
                 dtype="float64", scaled=False, train_unembedding=False, embeddings="onehot", gamma=None,
                 path="auto", embed_seed=0):
        if kappa not in (0, 1) or isinstance(kappa, bool):
            raise ValueError(f"kappa={kappa!r} is invalid: choose 0 (FF sees the residual) or 1 (also s)")
        if isinstance(d_model, bool) or not isinstance(d_model, (int, np.integer)) or d_model < 1:
            raise ValueError(f"d_model={d_model!r} is invalid: need an integer >= 1")
        self.backend = get_backend(backend)
        self.dtype = self.backend.dtype(dtype)
        self.dtype_name = dtype
        self.task, self.kind, self.kappa, self.path = task, kind, int(kappa), path
        self.attention = check_attention(attention)
        if gamma is None:
            gamma = pz.gamma_of(task.alpha) if task.noisy else 0.0
        self.gamma = float(gamma)
        self.emb = Embeddings(embeddings, task.vocab_size, d_model, self.backend, self.dtype, embed_seed)
        self.param = pz.make(kind, task, self.emb, self.kappa, self.gamma, scaled, train_unembedding)
        self.scaled, self.train_unembedding = bool(scaled), bool(train_unembedding)
        self.params = Params(self, self.param.init_params())

    @property
    def name(self):
        ff = "FA" if self.kappa else "F"
        scaled = "-scaled" if self.scaled else ""
        u = "-U" if self.train_unembedding else ""
        return f"{self.kind}{scaled}-{self.attention}-{ff}{u}"

    @property
    def d_model(self):
        return self.emb.d

    def config(self):
        return dict(kind=self.kind, attention=self.attention, kappa=self.kappa, d_model=self.emb.d,
                    dtype=self.dtype_name, scaled=self.scaled, train_unembedding=self.train_unembedding,
                    embeddings=self.emb.kind, gamma=self.gamma, name=self.name)

    def context(self, tokens):
        return Context(self.emb, tokens, self.path)

    def effective(self):
        return self.param.effective(self.params)

    # tokens [B, H] (or their Context, built once for a fixed set) -> xi_A [B, N], xi_F [B, N] (zeros
    # without a feed-forward path), cache
    def forward(self, tokens):
        ctx = tokens if isinstance(tokens, Context) and tokens.emb is self.emb else self.context(tokens)
        xi_A, xi_F, cache = eqs.forward(ctx, self.effective(), self.attention)
        if xi_F is None:
            xi_F = self.backend.xp.zeros_like(xi_A)
        return xi_A, xi_F, cache

    def logits_split(self, tokens):
        xi_A, xi_F, _ = self.forward(tokens)
        return xi_A, xi_F

    def logits(self, tokens):
        xi_A, xi_F, _ = self.forward(tokens)
        return xi_A + xi_F

    def _targets(self, targets, B):
        t = np.asarray(targets)
        if t.shape != (B,):
            raise ValueError(f"targets must have shape ({B},), got {t.shape}")
        return self.backend.asarray(t.astype(np.int64))

    def loss(self, tokens, targets):
        """Mean cross-entropy as a float; tokens may be a Context."""
        xi = self.logits(tokens)
        loss, _ = cross_entropy_forward(self.backend.xp, xi, self._targets(targets, xi.shape[0]))
        return float(loss)

    def loss_and_grad(self, tokens, targets, as_array=False):
        """Mean cross-entropy (float; a 0-d float64 backend array if as_array) and {param name: gradient}."""
        xp = self.backend.xp
        xi_A, xi_F, cache = self.forward(tokens)
        loss, ce = cross_entropy_forward(xp, xi_A + xi_F, self._targets(targets, xi_A.shape[0]))
        G = cross_entropy_backward(xp, ce, self.dtype)                    # [B, N]
        g_eff = eqs.backward(G, cache, self.param.needs)
        grads = self.param.pull_back(self.params, g_eff)
        return (loss if as_array else float(loss)), grads


def build_model(task, kind="origin", attention="linear", kappa=1, d_model=128, backend="numpy",
                dtype="float64", scaled=False, **options):
    """Build a model for `task`. options: train_unembedding, embeddings ("onehot"|"gaussian"), gamma, path."""
    return Model(task, kind=kind, attention=attention, kappa=kappa, d_model=d_model, backend=backend,
                 dtype=dtype, scaled=scaled, **options)
