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

    # U^T M  [d, k] -> [N, k]   (one-hot: U^T reads the N token coordinates, a slice)
    def UT_times(self, M):
        return M[:self.N, ...] if self.onehot else self.U.T @ M

    # U M  [N, k] -> [d, k]   (one-hot: M in the N token rows, zeros in the others)
    def U_times(self, M):
        if not self.onehot:
            return self.U @ M
        xp = self.backend.xp
        return xp.concat([M, xp.zeros((self.d - self.N, M.shape[1]), dtype=M.dtype)], axis=0)


class Context:
    """A batch of token ids moved to the backend, with what every kernel needs precomputed.

    The index path works on a per-sentence token table T(v) [B, K] holding v's value on every possible
    coordinate of an input: one-hot K = d+1 (v itself and a zero column for "no previous token");
    otherwise K = 2N+1 (v @ E^T, then v @ Etil^T and the zero column). x[b, h] then reads two entries of
    row b: flat indices i1 (its token) and i2 (its previous token) into the flattened [B*K] table.
    """

    def __init__(self, emb, tokens, path="auto"):
        bk, xp = emb.backend, emb.backend.xp
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.shape[1] < 2 or tokens.dtype.kind not in "iu":
            raise ValueError(f"tokens must be a [B, H] integer array with H >= 2, got {tokens.dtype} {tokens.shape}")
        B, H = tokens.shape
        N, d = emb.N, emb.d
        if tokens.min() < 0 or tokens.max() >= N:
            raise ValueError(f"tokens must be ids in 0..{N - 1}, got values in {tokens.min()}..{tokens.max()}")
        if path not in PATHS:
            raise ValueError(f"path={path!r} is unknown: choose one of {', '.join(PATHS)}")
        if path == "auto":
            path = "index" if emb.onehot or 2 * N <= H else "dense"
        self.emb, self.path, self.B, self.H = emb, path, B, H
        z = tokens.astype(np.int64, copy=False)
        zl, zpl = z[:, H - 1], z[:, H - 2]                           # last token, and the one before it
        self.z_last = bk.asarray(zl)
        self.zp_last = bk.asarray(zpl)
        self.x_last = xp.take(emb.E, self.z_last, axis=0) + xp.take(emb.Et_pad, self.zp_last, axis=0)  # [B, d]
        self._zl, self._zpl, self._last_rows = zl, zpl, None
        if path == "dense":
            zp = np.concatenate([np.full((B, 1), N), z[:, :-1]], axis=1)     # previous token, N at h = 0
            flat = lambda table, ids: xp.take(table, bk.asarray(ids.reshape(-1)), axis=0)
            self.X = xp.reshape(flat(emb.E, z) + flat(emb.Et_pad, zp), (B, H, d))      # [B, H, d]
            return
        K = d + 1 if emb.onehot else 2 * N + 1
        base = (np.arange(B, dtype=np.int64) * K)[:, None]
        i1 = z + base                                                        # E(z[h]) coordinate
        i2 = np.empty_like(z)                                                # Etil(z[h-1]) coordinate
        i2[:, 0] = K - 1                                                     # no previous token: zero column
        np.add(z[:, :-1], N, out=i2[:, 1:])
        i2 += base
        self.K = K
        self.i1, self.i2 = bk.asarray(i1.reshape(-1)), bk.asarray(i2.reshape(-1))                  # [BH] each

    def _table(self, v):
        """T(v) [B, K]: v's value on every coordinate an input can have."""
        xp, emb = self.emb.backend.xp, self.emb
        zero = xp.zeros((self.B, 1), dtype=v.dtype)
        if emb.onehot:
            return xp.concat([v, zero], axis=1)
        return xp.concat([v @ emb.E.T, v @ emb.Et_pad.T], axis=1)

    # [B, d] -> [B, H]   out[b, h] = v[b] . x[b, h]
    def gather_x(self, v):
        xp = self.emb.backend.xp
        if self.path == "dense":
            return xp.sum(self.X * v[:, None, :], axis=2)
        flat = xp.reshape(self._table(v), (-1,))                           # [B*K]
        return xp.reshape(xp.take(flat, self.i1) + xp.take(flat, self.i2), (self.B, self.H))

    # [B, H] -> [B, d]   out[b] = sum_h w[b, h] x[b, h]
    def scatter_x(self, w):
        xp, emb, bk = self.emb.backend.xp, self.emb, self.emb.backend
        if self.path == "dense":
            return xp.sum(self.X * w[:, :, None], axis=1)
        wf, size = xp.reshape(w, (-1,)), self.B * self.K
        c = xp.reshape(bk.scatter_add(self.i1, wf, size) + bk.scatter_add(self.i2, wf, size), (self.B, self.K))
        if emb.onehot:
            return c[:, :emb.d]
        N = emb.N
        return c[:, :N] @ emb.E + c[:, N:2 * N] @ emb.Et_pad[:N, :]

    # x_last @ M  [B, d], [d, k] -> [B, k]
    def x_last_times(self, M):
        xp = self.emb.backend.xp
        if self.emb.onehot:   # two rows of M per sentence
            return xp.take(M, self.z_last, axis=0) + xp.take(M, self.zp_last + self.emb.N, axis=0)
        return self.x_last @ M

    # x_last^T @ m  [B, d] -> [d, d]
    def x_last_T_times(self, m):
        xp, bk, d = self.emb.backend.xp, self.emb.backend, self.emb.d
        if self.emb.onehot:   # add the rows of m into rows z_last and N + zp_last of the result
            if self._last_rows is None:   # flat indices of those rows [2Bd]; built on first use only
                rows = np.concatenate([self._zl, self.emb.N + self._zpl])[:, None] * d + np.arange(d)[None, :]
                self._last_rows = bk.asarray(rows.reshape(-1))
            mf = xp.reshape(m, (-1,))
            return xp.reshape(bk.scatter_add(self._last_rows, xp.concat([mf, mf]), d * d), (d, d))
        return self.x_last.T @ m
