"""Closed-form predictions of SPEC section 4 (reparam models trained by NGD from zero).

Noiseless, A active triggers: the gradient components are (nearly) equal, so ||g|| = sqrt(A) |g_q| and
    lam_t = eta t / sqrt(A),   loss_t = log(1 + (N-1) exp(-lam_t)),   OOD p_y = 1 / (1 + (N-1) exp(-lam_t)).
The paper prints eta t / |Q|; a reviewer showed the argument gives sqrt(|Q|): both are offered.
Noisy, one active trigger: every gradient has the same sign, so lam_t = eta t exactly and
    loss_t = H(alpha) + log(1 + (1-alpha)(N-2) exp(-eta t)),   OOD p_tau -> alpha, p_y -> 1 - alpha.
Role separation: argmax xi_F = tau once gamma + lam_t > 0, i.e. after t > max(0, -gamma) / eta steps.
Finite sample with gamma from alphahat: floor H(alpha) + KL(Ber(alpha) || Ber(alphahat)).
These hold for the linear-attention reparam model (kappa 1 when noisy); the loss formulas are
expectations over the target noise, the quantity metrics.py reports as the population loss.
"""
import math

import numpy as np

from icr_np.task import binary_entropy


def lam_t(task, lr, t, rate="sqrt"):
    """The reparam scalar after t NGD steps: eta t (noisy), eta t / sqrt(A) or, as printed, eta t / A."""
    t = np.asarray(t, dtype=float)
    if task.noisy:
        return lr * t
    A = task.active_triggers
    return lr * t / (math.sqrt(A) if rate == "sqrt" else A)


def excess_t(task, lam):
    """Excess risk of the reparam-linear construction at scalar lam (exact, tiny values included)."""
    lam = np.asarray(lam, dtype=float)
    N = task.vocab_size
    if task.noisy:
        return np.log1p((1 - task.alpha) * (N - 2) * np.exp(-lam))
    return np.log1p((N - 1) * np.exp(-lam))


def loss_t(task, lam):
    return task.bayes_risk() + excess_t(task, lam)


def ood_p_output(task, lam):
    """OOD probability of the correct output y (noiseless: 1 / (1 + (N-1) e^-lam))."""
    lam = np.asarray(lam, dtype=float)
    N = task.vocab_size
    if task.noisy:
        return (1 - task.alpha) / (1 + (1 - task.alpha) * (N - 2) * np.exp(-lam))
    return 1.0 / (1.0 + (N - 1) * np.exp(-lam))


def ood_p_noise(task, lam):
    """OOD probability of tau (noisy): alpha / (1 + (1-alpha)(N-2) e^-lam) -> alpha."""
    lam = np.asarray(lam, dtype=float)
    return task.alpha / (1 + (1 - task.alpha) * (task.vocab_size - 2) * np.exp(-lam))


def role_separation_step(task, lr, gamma=None):
    """First step count after which argmax xi_F = tau: t > max(0, -gamma) / eta (noisy only)."""
    if not task.noisy:
        return None
    g = math.log(task.alpha / (1 - task.alpha)) if gamma is None else gamma
    return max(0.0, -g) / lr


def rate(task, lr):
    """Predicted slope of log(excess) against t for large t: -eta/sqrt(A) (noiseless) or -eta (noisy)."""
    return {"sqrt": -lam_t(task, lr, 1, "sqrt").item(), "printed": -lam_t(task, lr, 1, "printed").item()}


def bernoulli_kl(a, b):
    """KL(Ber(a) || Ber(b)) in nats."""
    out = 0.0
    if a > 0:
        out += a * math.log(a / b)
    if a < 1:
        out += (1 - a) * math.log((1 - a) / (1 - b))
    return out


def finite_sample_floor(task, alphahat):
    return binary_entropy(task.alpha) + (bernoulli_kl(task.alpha, alphahat) if task.noisy else 0.0)


def fitted_rate(steps, excess, lo=1e-12, hi=1e-1):
    """Least-squares slope of log(excess) against t over the points with lo < excess < hi (None if < 2)."""
    steps, excess = np.asarray(steps, float), np.asarray(excess, float)
    keep = (excess > lo) & (excess < hi)
    if keep.sum() < 2:
        return None
    return float(np.polyfit(steps[keep], np.log(excess[keep]), 1)[0])


def predictions(task, lr, t, gamma=None):
    """Everything SPEC 4 predicts at step t, as a dict of floats."""
    lam = lam_t(task, lr, t)
    out = {"bayes_risk": task.bayes_risk(), "lam": float(lam), "loss": float(loss_t(task, lam)),
           "excess_risk": float(excess_t(task, lam)), "ood_p_output": float(ood_p_output(task, lam))}
    if task.noisy:
        out["ood_p_noise"] = float(ood_p_noise(task, lam))
        out["role_separation_step"] = role_separation_step(task, lr, gamma)
    else:
        lam_p = lam_t(task, lr, t, "printed")
        out["lam_printed"] = float(lam_p)
        out["loss_printed"] = float(loss_t(task, lam_p))
    return out
