"""Softmax cross-entropy over the logits xi (natural log), forward and backward.

Computed in float64 whatever the training dtype, and exact where the answer is tiny: near the Bayes risk
the loss of a sentence is 1e-30, far below what "log p_target" or "p_target - 1" resolve. So with
m = max_k xi_k and S' = sum_{k != t} exp(xi_k - m):
    nll_t = (m - xi_t) + log1p(expm1(xi_t - m) + S')     (= log1p(S') when the target is the argmax)
    G_t   = p_t - 1 = expm1(-nll_t)                      (not exp(log p_t) - 1, which rounds to 0)
    G_k   = p_k = exp(xi_k - m - log(sum_j exp(xi_j - m)))   for k != t
This keeps the gradient of the reparam scalars exact (relative) as lam grows, so NGD's normalised step
follows the true sign instead of rounding noise.
"""


def cross_entropy_forward(xp, xi, targets):
    """[B, N] logits, [B] ids -> (mean loss as a 0-d float64 array, cache)."""
    xi = xp.astype(xi, xp.float64)
    B, N = xi.shape
    m = xp.max(xi, axis=1, keepdims=True)                                     # [B, 1]
    e = xp.exp(xi - m)                                                         # [B, N]
    is_t = targets[:, None] == xp.arange(N, dtype=targets.dtype)[None, :]      # [B, N]
    xi_t = xp.sum(xp.where(is_t, xi, xp.zeros_like(xi)), axis=1)              # [B]
    s_other = xp.sum(xp.where(is_t, xp.zeros_like(e), e), axis=1)             # [B]  S'
    nll = (m[:, 0] - xi_t) + xp.log1p(xp.expm1(xi_t - m[:, 0]) + s_other)     # [B]
    return xp.mean(nll), (e, is_t, nll)


def cross_entropy_backward(xp, cache, dtype):
    """G = (p - onehot(target)) / B  [B, N], in the training dtype."""
    e, is_t, nll = cache
    B = e.shape[0]
    p = e / xp.sum(e, axis=1, keepdims=True)
    G = xp.where(is_t, xp.expm1(-nll)[:, None], p)
    return xp.astype(G / B, dtype)
