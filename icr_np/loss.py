"""Softmax cross-entropy over the logits xi (natural log), forward and backward.

The loss and the probabilities are computed in float64 whatever the training dtype: near the Bayes risk
the excess falls below float32 resolution.
"""


def log_softmax(xp, xi):
    """[B, N] -> [B, N], stable: xi - max - log sum exp(xi - max)."""
    m = xp.max(xi, axis=1, keepdims=True)
    return xi - m - xp.log(xp.sum(xp.exp(xi - m), axis=1, keepdims=True))


def cross_entropy_forward(xp, xi, targets):
    """[B, N] logits, [B] ids -> (mean loss as a 0-d float64 array, cache)."""
    logp = log_softmax(xp, xp.astype(xi, xp.float64))                       # [B, N] float64
    nll = -xp.take_along_axis(logp, targets[:, None], axis=1)[:, 0]          # [B]
    return xp.mean(nll), (logp, targets)


def cross_entropy_backward(xp, cache, dtype):
    """G = (p - onehot(target)) / B  [B, N], in the training dtype."""
    logp, targets = cache
    B, N = logp.shape
    onehot = xp.astype(targets[:, None] == xp.arange(N, dtype=targets.dtype)[None, :], xp.float64)
    return xp.astype((xp.exp(logp) - onehot) / B, dtype)
