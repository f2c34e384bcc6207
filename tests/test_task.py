"""The generator's invariants (SPEC 1.2) on thousands of sentences, presets, Bayes risk, validation."""
import math

import numpy as np
import pytest

from icr_np import RecallTask, binary_entropy

CASES = {
    "noiseless": RecallTask.preset("paper-noiseless"),
    "noisy": RecallTask.preset("paper-noisy"),
    "noisy-3-active": RecallTask.preset("paper-noisy", active_triggers=3, alpha=0.2),
    "short": RecallTask(vocab_size=20, n_triggers=3, n_outputs=2, active_triggers=2, seq_len=6, alpha=0.8),
    "planted-3": RecallTask.preset("paper-noisy", n_planted=3),
    "markov": RecallTask.preset("paper-noiseless", filler="markov"),
    # the shortest sentences that fit the bigrams whatever the draws (hypothesis found H 5 and 7 too short)
    "tight-2": RecallTask(vocab_size=4, n_triggers=1, n_outputs=1, active_triggers=1, seq_len=6, alpha=0.1),
    "tight-3": RecallTask(vocab_size=5, n_triggers=1, n_outputs=1, active_triggers=1, seq_len=9, alpha=0.1,
                          n_planted=2),
}


def check_invariants(task, b):
    z, q, y = b.tokens, b.triggers, b.outputs
    B, H = z.shape
    Q, N, tau = task.n_triggers, task.vocab_size, task.tau
    rows = np.arange(B)
    assert z.dtype.kind == "i" and (z >= 0).all() and (z < N).all()
    assert (z[:, H - 1] == q).all()
    assert (q < task.active_triggers).all()
    assert (z[:, H - 2] != q).all()
    is_q = z == q[:, None]
    n_q = is_q.sum(1)
    assert (n_q == 1 + task.n_planted + task.noisy).all()
    # no other trigger occurs
    trig = z < Q
    assert (trig == is_q).all()
    # every (q, x) bigram has x in {y, tau}; exactly n_planted (q, y) and noisy (q, tau)
    after = z[:, 1:][is_q[:, :-1]].reshape(B, -1)
    assert ((after == y[:, None]) | (after == tau)).all()
    assert ((after == y[:, None]).sum(1) == task.n_planted).all()
    assert ((after == tau).sum(1) == int(task.noisy)).all()
    # tau occurs only right after q
    n_tau = (z == tau).sum(1)
    assert (n_tau == int(task.noisy)).all()
    if task.noisy:
        ptau = (z == tau).argmax(1)
        assert (z[rows, ptau - 1] == q).all()
    # outputs from the right range; targets y or tau
    lo, hi = (Q + task.n_outputs, N - 1) if b.ood else (Q, Q + task.n_outputs)
    assert ((y >= lo) & (y < hi)).all()
    assert (b.targets == np.where(b.noise_target, tau, y)).all()
    if not task.noisy:
        assert not b.noise_target.any()


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("ood", [False, True])
def test_invariants(name, ood):
    task = CASES[name]
    b = task.sample(3000 if task.seq_len < 100 else 1500, np.random.default_rng(7), ood=ood)
    check_invariants(task, b)


def test_distributions_are_uniform():
    task = CASES["noisy-3-active"]
    b = task.sample(30000, np.random.default_rng(3))
    # query triggers uniform over the active ones, outputs uniform over training outputs
    assert np.allclose(np.bincount(b.triggers, minlength=3) / 30000, 1 / 3, atol=0.015)
    assert np.allclose(np.bincount(b.outputs - 5, minlength=4) / 30000, 1 / 4, atol=0.015)
    assert abs(b.noise_target.mean() - 0.2) < 0.01
    # OOD outputs uniform over the unseen range
    o = task.sample(30000, np.random.default_rng(4), ood=True)
    counts = np.bincount(o.outputs - 9, minlength=50)
    assert counts.min() > 0.8 * 600 and counts.max() < 1.2 * 600
    # the planted (q, y) position is uniform over 0..H-3 (the paper's first draw)
    is_qy = (b.tokens[:, :-1] == b.triggers[:, None]) & (b.tokens[:, 1:] == b.outputs[:, None])
    p = is_qy.argmax(1)
    hist = np.bincount(p, minlength=254) / 30000
    assert hist.shape == (254,) and abs(hist.mean() - 1 / 254) < 1e-12 and hist.max() < 2.2 / 254


def test_filler_is_uniform_over_outputs_and_other_tokens():
    task = CASES["noiseless"]
    b = task.sample(2000, np.random.default_rng(5))
    c = np.bincount(b.tokens[:, :-1].ravel(), minlength=60)
    assert c[:5].sum() == 2000 and c[59] == 0           # triggers only as planted, tau never
    filler = c[5:59] / c[5:59].sum()
    assert np.abs(filler - 1 / 54).max() < 0.15 / 54 + 0.002


def test_seeded_and_deterministic():
    task = CASES["noisy"]
    a = task.sample(64, np.random.default_rng(11))
    b = task.sample(64, np.random.default_rng(11))
    assert (a.tokens == b.tokens).all() and (a.targets == b.targets).all()


def test_test_time_context_length():
    task = CASES["noisy"]
    b = task.sample(500, np.random.default_rng(1), ood=True, seq_len=64)
    assert b.tokens.shape == (500, 64)
    check_invariants(task.replace(seq_len=64), b)


def test_presets_and_bayes_risk():
    assert CASES["noiseless"].bayes_risk() == 0.0
    assert RecallTask.preset("paper-noisy").bayes_risk() == pytest.approx(math.log(2), abs=1e-15)
    for a in (0.2, 0.8):
        h = -a * math.log(a) - (1 - a) * math.log(1 - a)
        assert RecallTask.preset("paper-noisy", alpha=a).bayes_risk() == pytest.approx(h, rel=1e-14)
        assert round(h, 4) == 0.5004
    p = RecallTask.preset("paper-noisy")
    assert (p.vocab_size, p.n_triggers, p.n_outputs, p.active_triggers, p.seq_len) == (60, 5, 4, 1, 256)
    assert binary_entropy(0.0) == 0.0


@pytest.mark.parametrize("kw,needle", [
    (dict(vocab_size=10, n_triggers=5, n_outputs=4), "vocab_size=10"),
    (dict(active_triggers=6), "active_triggers=6"),
    (dict(active_triggers=0), "active_triggers=0"),
    (dict(alpha=1.0), "alpha=1.0"),
    (dict(alpha=-0.1), "alpha=-0.1"),
    (dict(alpha=float("nan")), "alpha=nan"),
    (dict(seq_len=3), "seq_len=3"),
    (dict(n_triggers=0), "n_triggers=0"),
    (dict(n_outputs=2.5), "n_outputs=2.5"),
    (dict(filler="zipf"), "filler='zipf'"),
    (dict(n_planted=0), "n_planted=0"),
    (dict(seq_len=6, n_planted=3), "n_planted=3"),
])
def test_invalid_tasks_are_refused(kw, needle):
    with pytest.raises(ValueError, match=None) as e:
        RecallTask(**kw)
    assert needle in str(e.value)


def test_unknown_preset():
    with pytest.raises(ValueError, match="preset='paper'"):
        RecallTask.preset("paper")


@pytest.mark.parametrize("planted", [1, 2])
def test_bigram_positions_follow_the_papers_redraw_rule(planted):
    """Joint law of the planted starts against the rule computed exactly: p uniform over 0..H-3, each later
    start uniform over those at distance >= 2 from every earlier one (tau's bigram drawn last)."""
    H, S, n = 9, 7, 120000
    task = RecallTask.preset("paper-noisy", seq_len=H, n_planted=planted)
    b = task.sample(n, np.random.default_rng(11))
    z, q = b.tokens, b.triggers
    is_y = (z[:, :-1] == q[:, None]) & (z[:, 1:] == b.outputs[:, None])
    ptau = ((z[:, :-1] == q[:, None]) & (z[:, 1:] == task.tau)).argmax(1)
    ys = [tuple(np.flatnonzero(r)) for r in is_y]
    emp = {}
    for y, t in zip(ys, ptau):
        emp[(y, t)] = emp.get((y, t), 0) + 1
    exact = {}

    def walk(chosen, prob, k):
        if k == planted + 1:
            key = (tuple(sorted(chosen[:-1])), chosen[-1])
            exact[key] = exact.get(key, 0.0) + prob
            return
        free = [s for s in range(S) if all(abs(s - c) >= 2 for c in chosen)]
        for s in free:
            walk(chosen + [s], prob / len(free), k + 1)

    walk([], 1.0, 0)
    assert set(emp) <= set(exact)
    worst = max(abs(emp.get(k, 0) / n - p) / np.sqrt(p * (1 - p) / n) for k, p in exact.items())
    assert worst < 5.0          # every cell within 5 standard errors


@pytest.mark.parametrize("alpha,planted", [(0.0, 1), (0.5, 1), (0.0, 3), (0.5, 4)])
def test_shortest_seq_len_is_the_validation_boundary(alpha, planted):
    task = RecallTask(vocab_size=12, n_triggers=2, n_outputs=3, active_triggers=2, seq_len=64, alpha=alpha,
                      n_planted=planted)
    H = task.shortest_seq_len
    task.replace(seq_len=H).sample(50, np.random.default_rng(0))
    with pytest.raises(ValueError):
        task.replace(seq_len=H - 1)
