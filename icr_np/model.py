"""The one-layer attention model at the last position (SPEC 2.2-2.5): forward, then backward beside it.

Shapes: B batch, H context, N vocabulary, d width. Effective tensors (whatever the parameterisation):
    W [d, d]  joint query-key          V [d, d] or a scalar v (V = v I)     F [d, d] or None (no FF path)
    kappa     scalar (0 or 1; nu*kappa for reparam-scaled)                  U [d, N] unembedding
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


# [B, *] context, effective tensors -> xi_A [B, N], xi_F [B, N] or None, cache
def forward(ctx, eff, attention):
    xp = ctx.emb.backend.xp
    u = ctx.x_last_times(eff.W)                               # [B, d]   u_b = W^T x_last_b
    score = ctx.gather_x(u)                                   # [B, H]
    a, a_cache = attn.FORWARD[attention](xp, score)           # [B, H]
    s = ctx.scatter_x(a)                                      # [B, d]
    UT = eff.U.T                                              # [N, d]
    P_V = UT @ eff.V if _is_matrix(eff.V) else eff.V * UT     # [N, d]   U^T V
    xi_A = s @ P_V.T                                          # [B, N]
    xi_F = xF = P_F = None
    if eff.F is not None:
        xF = ctx.x_last + eff.kappa * s                       # [B, d]
        P_F = UT @ eff.F                                      # [N, d]   U^T F
        xi_F = xF @ P_F.T                                     # [B, N]
    cache = SimpleNamespace(ctx=ctx, eff=eff, attention=attention, score=score, a=a, a_cache=a_cache,
                            s=s, xF=xF, P_V=P_V, P_F=P_F)
    return xi_A, xi_F, cache


# G = dL/dxi [B, N] -> gradients of the effective tensors named in `need` (subset of W V F kappa U)
def backward(G, cache, need):
    c, eff, ctx = cache, cache.eff, cache.ctx
    xp = ctx.emb.backend.xp
    grads = {}
    g_s = G @ c.P_V                                           # [B, d]   xi_A = s P_V^T
    if "V" in need or "U" in need:
        dP_V = G.T @ c.s                                      # [N, d]
    if "V" in need:                                           # P_V = U^T V
        grads["V"] = eff.U @ dP_V if _is_matrix(eff.V) else xp.sum(dP_V * eff.U.T)
    if eff.F is not None:
        g_xF = G @ c.P_F                                      # [B, d]   xi_F = xF P_F^T
        g_s = g_s + eff.kappa * g_xF                          # xF = x_last + kappa s
        if "F" in need or "U" in need:
            dP_F = G.T @ c.xF                                 # [N, d]
        if "F" in need:
            grads["F"] = eff.U @ dP_F
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
        grads["W"] = ctx.x_last_T_times(du)                   # [d, d]   u = W^T x_last
    return grads
