"""The one-layer attention model at the last position (SPEC 2.2-2.5): forward, then backward beside it.

Shapes: B batch, H context, N vocabulary, d width. Effective tensors (whatever the parameterisation):
    W [d, d]  joint query-key, or a LowRankW (reparam: W = A^T diag(lam) Bm, never formed as d x d)
    V [d, d] or a scalar v (V = v I)       F [d, d] or None (no FF path)    U [d, N] unembedding
    kappa     scalar (0 or 1; nu*kappa for reparam-scaled)
    P_F       optional [N, d] = U^T F, given when F is fixed so it is not recomputed every step
Forward:
    u     = W^T x_last                      [B, d]      (never W x[h] for every h)
    score = u . x[h]                        [B, H]      score[h] = x_last^T W x[h]
    a     = sigma(score)                    [B, H]
    s     = sum_h a[h] x[h]                 [B, d]
    xi_A  = U^T V s                         [B, N]
    xi_F  = U^T F (x_last + kappa s)        [B, N]
U^T V and U^T F are formed once per step ([N, d]), so the readout costs B*N*d, not B*d*d.
"""
from types import SimpleNamespace

from icr_np import attention as attn


def _is_matrix(V):
    return getattr(V, "ndim", 0) == 2


class LowRankW:
    """W = sum_q lam[q] A_q Bm_q^T = A^T diag(lam) Bm   (A, Bm [K, d], lam [K]).

    Kept factored: u = W^T x_last costs B*K*d and the gradient is returned as its projections on the
    construction, <dW, A_q Bm_q^T> = sum_b (x_last_b . A_q)(du_b . Bm_q), never as a d x d matrix.
    """

    def __init__(self, A, lam, Bm):
        self.A, self.lam, self.Bm = A, lam, Bm

    # [B, *] context -> u [B, d]
    def u(self, ctx):
        return (ctx.x_last_times(self.A.T) * self.lam) @ self.Bm

    # du [B, d] -> [K]   d lam[q] = <dW, A_q Bm_q^T>
    def project(self, ctx, du):
        return ctx.emb.backend.xp.sum(ctx.x_last_times(self.A.T) * (du @ self.Bm.T), axis=0)


# U^T M [d, k] -> [N, k] and U M [N, k] -> [d, k]: with the fixed one-hot U, a slice and a zero padding
def _UT(ctx, eff, M):
    return ctx.emb.UT_times(M) if eff.U is ctx.emb.U else eff.U.T @ M


def _U(ctx, eff, M):
    return ctx.emb.U_times(M) if eff.U is ctx.emb.U else eff.U @ M


# [B, *] context, effective tensors -> xi_A [B, N], xi_F [B, N] or None, cache
def forward(ctx, eff, attention):
    xp = ctx.emb.backend.xp
    W = eff.W
    u = ctx.x_last_times(W) if _is_matrix(W) else W.u(ctx)    # [B, d]   u_b = W^T x_last_b
    score = ctx.gather_x(u)                                   # [B, H]
    a, a_cache = attn.FORWARD[attention](xp, score)           # [B, H]
    s = ctx.scatter_x(a)                                      # [B, d]
    P_V = Us = None
    if _is_matrix(eff.V) or eff.U is not ctx.emb.U:
        P_V = _UT(ctx, eff, eff.V) if _is_matrix(eff.V) else eff.V * eff.U.T   # [N, d]   U^T V
        xi_A = s @ P_V.T                                      # [B, N]
    else:                                                     # V = v I, fixed U: U^T s reads N coordinates
        Us = _UT(ctx, eff, s.T).T                             # [B, N]   (U^T s)^T
        xi_A = eff.V * Us                                     # [B, N]
    xi_F = xF = P_F = None
    if eff.F is not None:
        xF = ctx.x_last + eff.kappa * s                       # [B, d]
        P_F = getattr(eff, "P_F", None)
        if P_F is None:
            P_F = _UT(ctx, eff, eff.F)                        # [N, d]   U^T F
        xi_F = xF @ P_F.T                                     # [B, N]
    cache = SimpleNamespace(ctx=ctx, eff=eff, attention=attention, score=score, a=a, a_cache=a_cache,
                            s=s, Us=Us, xF=xF, P_V=P_V, P_F=P_F)
    return xi_A, xi_F, cache


# G = dL/dxi [B, N] -> gradients of the effective tensors named in `need` (subset of W V F kappa U)
def backward(G, cache, need):
    c, eff, ctx = cache, cache.eff, cache.ctx
    xp = ctx.emb.backend.xp
    grads = {}
    if c.P_V is not None:
        g_s = G @ c.P_V                                       # [B, d]   xi_A = s P_V^T
        if "V" in need or "U" in need:
            dP_V = G.T @ c.s                                  # [N, d]
        if "V" in need:                                       # P_V = U^T V (or v U^T)
            grads["V"] = _U(ctx, eff, dP_V) if _is_matrix(eff.V) else xp.sum(dP_V * eff.U.T)
    else:
        g_s = eff.V * _U(ctx, eff, G.T).T                     # [B, d]   xi_A = v (U^T s)^T
        if "V" in need:
            grads["V"] = xp.sum(G * c.Us)
    if eff.F is not None:
        g_xF = G @ c.P_F                                      # [B, d]   xi_F = xF P_F^T
        g_s = g_s + eff.kappa * g_xF                          # xF = x_last + kappa s
        if "F" in need or "U" in need:
            dP_F = G.T @ c.xF                                 # [N, d]
        if "F" in need:
            grads["F"] = _U(ctx, eff, dP_F)                   # P_F = U^T F
        if "kappa" in need:
            grads["kappa"] = xp.sum(g_xF * c.s)
    if "U" in need:                                           # P_V = U^T V, P_F = U^T F
        V = eff.V if _is_matrix(eff.V) else None
        dU = V @ dP_V.T if V is not None else eff.V * dP_V.T
        if eff.F is not None:
            dU = dU + eff.F @ dP_F.T
        grads["U"] = dU
    if "W" in need:
        r = ctx.gather_x(g_s)                                 # [B, H]   r[h] = g_s . x[h]
        dscore = attn.BACKWARD[c.attention](xp, r, c.a_cache)  # [B, H]
        du = ctx.scatter_x(dscore)                            # [B, d]   score = u . x[h]
        if _is_matrix(eff.W):
            grads["W"] = ctx.x_last_T_times(du)               # [d, d]   u = W^T x_last
        else:
            grads["W"] = eff.W.project(ctx, du)               # [K]      projections of dW
    return grads
