"""Attention nonlinearities sigma (SPEC 2.2), each forward followed by its backward.

All act on the scores of the last position against every position, [B, H] -> [B, H]; the cache is what
the backward needs, returned explicitly.
"""
ATTENTIONS = ("linear", "relu", "softmax")
RELU_SHIFT = 1e-8   # the paper's shift: at W = 0 every score is 0 and relu would otherwise attend nowhere


# linear: a[h] = score[h]   (no normalisation, no 1/sqrt(d))
def linear_forward(xp, score):
    return score, None


def linear_backward(xp, r, cache):          # dscore = r
    return r


# relu: a[h] = max(0, score[h] + 1e-8)
def relu_forward(xp, score):
    on = (score + RELU_SHIFT) > 0
    return xp.where(on, score + RELU_SHIFT, xp.zeros_like(score)), on


def relu_backward(xp, r, on):               # dscore = r * 1[score + 1e-8 > 0]
    return xp.where(on, r, xp.zeros_like(r))


# softmax over all H positions, the last included: a = exp(score - max) / sum
def softmax_forward(xp, score):
    e = xp.exp(score - xp.max(score, axis=1, keepdims=True))
    a = e / xp.sum(e, axis=1, keepdims=True)
    return a, a


def softmax_backward(xp, r, a):             # dscore = a * (r - sum_h' a r)   (never the full Jacobian)
    return a * (r - xp.sum(a * r, axis=1, keepdims=True))


FORWARD = {"linear": linear_forward, "relu": relu_forward, "softmax": softmax_forward}
BACKWARD = {"linear": linear_backward, "relu": relu_backward, "softmax": softmax_backward}


def check_attention(name):
    if name not in ATTENTIONS:
        raise ValueError(f"attention={name!r} is unknown: choose one of {', '.join(ATTENTIONS)}")
    return name
