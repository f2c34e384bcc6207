"""The inputs x[h] and the two operations attention needs from them (SPEC 2.1 and 2.2).

    x[0] = E(z[0]),   x[h] = E(z[h]) + Etil(z[h-1])  (h >= 1)          E, Etil: [N, d] embedding tables

Attention touches the inputs in exactly two ways, adjoint to each other:
    gather_x(v)  [B, d] -> [B, H]   out[b, h] = v[b] . x[b, h]       (score from u = W^T x_last; r from g_s)
    scatter_x(w) [B, H] -> [B, d]   out[b]    = sum_h w[b, h] x[b, h] (s from a; du from dscore)
Two implementations of each:
- "index": x[h] only depends on two token ids, so both go through token space. gather reads v's
  coordinates at the ids (v @ E^T, a column slice for one-hot) and scatter adds w into per-token bins
  (a scatter-add of B*H numbers) then maps the bins back (c @ E, a concatenation for one-hot).
  Cost O(B H) for one-hot, O(B H + B N d) otherwise; nothing of size B*H*d is created.
- "dense": materialise X [B, H, d] and contract it (the straightforward form, kept as a reference and for
  Gaussian embeddings with a large vocabulary).
"""
import numpy as np

EMBEDDINGS = ("onehot", "gaussian")
PATHS = ("auto", "index", "dense")


class Embeddings:
    """Fixed tables E, Etil [N, d] (host copies kept) and the unembedding U = [E(0) .. E(N-1)] [d, N]."""

    def __init__(self, kind, N, d, backend, dtype, seed=0):
        if kind not in EMBEDDINGS:
            raise ValueError(f"embeddings={kind!r} is unknown: choose one of {', '.join(EMBEDDINGS)}")
        if kind == "onehot" and d < 2 * N:
            raise ValueError(f"d_model={d} is too small for one-hot embeddings of vocab_size={N}: need "
                             f"d_model >= 2*vocab_size = {2 * N}, or use gaussian embeddings")
        self.kind, self.N, self.d, self.backend, self.dtype = kind, N, d, backend, dtype
        if kind == "onehot":
            eye = np.eye(d)
            E, Et = eye[:N], eye[N:2 * N]
        else:  # entries N(0, 1/d), E and Etil independent, fixed by the seed
            g = np.random.default_rng(seed)
            E, Et = g.normal(0, d ** -0.5, (N, d)), g.normal(0, d ** -0.5, (N, d))
        self.E_host, self.Et_host = E, Et
        bk = backend
        self.E = bk.asarray(E, dtype=dtype)                                           # [N, d]
        self.Et_pad = bk.asarray(np.vstack([Et, np.zeros((1, d))]), dtype=dtype)     # [N+1, d]; row N: no token
        self.U = bk.asarray(E.T.copy(), dtype=dtype)                                   # [d, N]

    @property
    def onehot(self):
        return self.kind == "onehot"


class Context:
    """A batch of token ids moved to the backend, with what every kernel needs precomputed.

    z [B, H] the tokens, zp [B, H] the previous tokens (N, the padding id, at h = 0), x_last [B, d].
    """

    def __init__(self, emb, tokens, path="auto"):
        bk, xp = emb.backend, emb.backend.xp
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.shape[1] < 2:
            raise ValueError(f"tokens must be a [B, H] integer array with H >= 2, got shape {tokens.shape}")
        B, H = tokens.shape
        N = emb.N
        if tokens.min() < 0 or tokens.max() >= N:
            raise ValueError(f"tokens must be ids in 0..{N - 1}, got values in {tokens.min()}..{tokens.max()}")
        if path not in PATHS:
            raise ValueError(f"path={path!r} is unknown: choose one of {', '.join(PATHS)}")
        if path == "auto":
            path = "index" if emb.onehot or 2 * N <= H else "dense"
        prev = np.concatenate([np.full((B, 1), N), tokens[:, :-1]], axis=1)
        self.emb, self.path, self.B, self.H = emb, path, B, H
        self.z = bk.asarray(tokens.astype(np.int64))
        self.zp = bk.asarray(prev.astype(np.int64))
        self.z_last = self.z[:, H - 1]
        self.zp_last = self.zp[:, H - 1]
        self.x_last = xp.take(emb.E, self.z_last, axis=0) + xp.take(emb.Et_pad, self.zp_last, axis=0)  # [B, d]
        if path == "dense":
            flat = lambda table, ids: xp.take(table, xp.reshape(ids, (-1,)), axis=0)
            self.X = xp.reshape(flat(emb.E, self.z) + flat(emb.Et_pad, self.zp), (B, H, emb.d))   # [B, H, d]

    # [B, d] -> [B, H]
    def gather_x(self, v):
        xp, emb = self.emb.backend.xp, self.emb
        if self.path == "dense":
            return xp.sum(self.X * v[:, None, :], axis=2)
        vE, vEt = self._read(v)                                              # [B, N], [B, N+1]
        return xp.take_along_axis(vE, self.z, axis=1) + xp.take_along_axis(vEt, self.zp, axis=1)

    # [B, H] -> [B, d]
    def scatter_x(self, w):
        xp, emb, bk = self.emb.backend.xp, self.emb, self.emb.backend
        if self.path == "dense":
            return xp.sum(self.X * w[:, :, None], axis=1)
        cE = bk.scatter_add(self.z, w, emb.N)                                # [B, N]   sum of w per token
        cEt = bk.scatter_add(self.zp, w, emb.N + 1)[:, :emb.N]               # [B, N]   per previous token
        if emb.onehot:
            pad = xp.zeros((self.B, emb.d - 2 * emb.N), dtype=w.dtype)
            return xp.concat([cE, cEt, pad], axis=1)
        return cE @ emb.E + cEt @ emb.Et_pad[:emb.N, :]

    def _read(self, v):
        """Token coordinates of v: (v @ E^T [B, N], v @ Etil_pad^T [B, N+1], last column 0)."""
        xp, emb = self.emb.backend.xp, self.emb
        if emb.onehot:
            zero = xp.zeros((self.B, 1), dtype=v.dtype)
            return v[:, :emb.N], xp.concat([v[:, emb.N:2 * emb.N], zero], axis=1)
        return v @ emb.E.T, v @ emb.Et_pad.T

    # x_last @ M  [B, d], [d, k] -> [B, k]
    def x_last_times(self, M):
        xp = self.emb.backend.xp
        if self.emb.onehot:   # two rows of M per sentence
            Mpad = xp.concat([M[:2 * self.emb.N, :], xp.zeros((1, M.shape[1]), dtype=M.dtype)], axis=0)
            return xp.take(Mpad, self.z_last, axis=0) + xp.take(Mpad, self._last_prev_row(), axis=0)
        return self.x_last @ M

    # x_last^T @ m  [B, d] -> [d, d]
    def x_last_T_times(self, m):
        xp, bk, emb = self.emb.backend.xp, self.emb.backend, self.emb
        if emb.onehot:   # scatter the rows of m into rows z_last and N + z_prev of the result
            d = emb.d
            rows = xp.concat([self.z_last, self._last_prev_row()])               # [2B]
            vals = xp.concat([m, m], axis=0)                                       # [2B, d]
            idx = xp.broadcast_to(rows[None, :], (d, rows.shape[0]))              # [d, 2B]
            out = bk.scatter_add(idx, vals.T, 2 * emb.N + 1)                       # [d, 2N+1]
            return xp.concat([out[:, :2 * emb.N].T, xp.zeros((d - 2 * emb.N, d), dtype=m.dtype)], axis=0)
        return self.x_last.T @ m

    def _last_prev_row(self):
        """Row of x_last's previous-token coordinate in [0, 2N]; 2N stands for "none" (never at H >= 2)."""
        return self.zp_last + self.emb.N
