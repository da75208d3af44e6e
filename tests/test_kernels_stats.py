"""The kernel's random draws against their distributions: reduced windows, subsampling, negatives.

Each is tested on the small njit function that draws it and, where the draws leave a count
behind, through train_chunk itself. Fixed seeds; every bound is 6 standard deviations (or a
chi-square p-value of 1e-9) wide, so a test fails for a wrong distribution, never by chance.
"""
import numpy as np
import pytest
from scipy import stats

from w2v import kernels, sampling

P_MIN = 1e-9  # chi-square p-value below which a sample is rejected (about 6 standard deviations)


def _chunk(sentence, v, keep_prob=None, sg=1, window=5, batch_window=0, hs=0, negative=0, seed=5):
    """train_chunk on one sentence with tiny weights; with no loss switched on, nothing trains and
    only the counts (raw, effective, loss, n_pred) matter."""
    d = 4
    keep = np.ones(v, np.float32) if keep_prob is None else np.asarray(keep_prob, np.float32)
    probs = np.full(v, 1.0 / v)
    z = np.zeros((v, 1), dtype=np.int32)
    tables = kernels.Tables(keep, sampling.alias_table(probs), z, z.astype(np.float32), np.zeros(v, np.int32))
    cfg = kernels.Config(sg=sg, hs=hs, negative=negative, window=window, cbow_mean=1, softmax=0,
                         batch_window=batch_window)
    ids = np.asarray(sentence, dtype=np.int32)
    rng = np.random.default_rng(0)
    w_in = (rng.random((v, d), dtype=np.float32) - 0.5) / d
    w_ns = np.zeros((v if negative else 0, d), np.float32)
    return kernels.train_chunk(ids, np.array([0, len(ids)], np.int64), np.arange(1), w_in,
                               np.zeros((0, d), np.float32), w_ns, tables, cfg, 0.025, 0.025, np.uint64(seed))


@pytest.mark.parametrize("window", [1, 2, 5, 8])
def test_reduced_window_is_uniform_on_1_to_window(window):
    rng, n = np.uint64(12345), 40_000
    draws = np.empty(n, dtype=np.int64)
    for i in range(n):
        draws[i], rng = kernels.reduced_window(np.uint64(rng), window)
    assert draws.min() >= 1 and draws.max() <= window
    if window > 1:
        counts = np.bincount(draws, minlength=window + 1)[1:]
        assert stats.chisquare(counts).pvalue > P_MIN, counts


def _expected_pairs(n, window):
    """Mean and variance of the number of (center, context) pairs of a sentence of n words when
    each center's radius is uniform on 1..window."""
    mean = var = 0.0
    b = np.arange(1, window + 1)
    for pos in range(n):
        pairs = np.minimum(pos + b, n - 1) - np.maximum(pos - b, 0)
        mean += pairs.mean()
        var += pairs.var()
    return mean, var


@pytest.mark.parametrize("batch_window", [0, 1], ids=["pairs", "batch_window"])
@pytest.mark.parametrize("window", [3, 5])
def test_skipgram_predictions_match_uniform_reduced_windows(window, batch_window):
    """n_pred of skip-gram on one long sentence (longer than the corpus reader's 10,000-word cap:
    the kernel sizes its scratch from the chunk) against the exact expectation."""
    n = 25_000
    sentence = np.random.default_rng(1).integers(0, 50, n)
    raw, effective, _, n_pred = _chunk(sentence, 50, window=window, batch_window=batch_window)
    assert raw == effective == n
    mean, var = _expected_pairs(n, window)
    assert abs(n_pred - mean) < 6 * np.sqrt(var), (n_pred, mean, np.sqrt(var))


def test_keep_word_draws_with_the_keep_probability():
    n = 50_000
    for p in (0.05, 0.3, 0.8):
        rng, kept = np.uint64(99), 0
        for _ in range(n):
            keep, rng = kernels.keep_word(np.uint64(rng), np.float32(p))
            kept += keep
        assert abs(kept - n * p) < 6 * np.sqrt(n * p * (1 - p)), (p, kept / n)
    keep, rng = kernels.keep_word(np.uint64(7), np.float32(1.0))
    assert keep and rng == 7  # a rare word draws nothing


@pytest.mark.parametrize("p", [0.05, 0.3, 0.8])
def test_train_chunk_keeps_each_word_with_its_keep_probability(p):
    """A sentence of one frequent word (keep_prob p) keeps a Binomial(n, p) number of words;
    the rare words (keep_prob 1) beside it are all kept."""
    n = 20_000
    keep_prob = np.array([p, 1.0, 1.0])
    raw, effective, _, _ = _chunk(np.zeros(n, np.int64), 3, keep_prob)
    assert raw == n
    assert abs(effective - n * p) < 6 * np.sqrt(n * p * (1 - p)), effective / n
    mixed = np.random.default_rng(2).integers(0, 3, n)
    n_rare = int((mixed > 0).sum())
    _, effective, _, _ = _chunk(mixed, 3, keep_prob)
    n_frequent = n - n_rare
    assert abs(effective - n_rare - n_frequent * p) < 6 * np.sqrt(n_frequent * p * (1 - p))
    _, effective, _, _ = _chunk(np.ones(n, np.int64), 3, keep_prob)
    assert effective == n


def test_noise_draws_follow_the_noise_distribution():
    counts = np.array([5000, 1200, 300, 80, 9, 1, 40, 700])
    probs = sampling.noise_distribution(counts, 0.75)
    n = 200_000
    draws = kernels.sample_noise(sampling.alias_table(probs), n, 2024)
    observed = np.bincount(draws, minlength=len(counts))
    assert stats.chisquare(observed, probs * n).pvalue > P_MIN


@pytest.mark.parametrize("target", [0, 3])
def test_negatives_never_equal_the_target_and_follow_the_rest_of_the_noise(target):
    """draw_negatives drops a draw equal to the target: the kept ones follow the noise distribution
    without the target, and their number is Binomial(k * calls, 1 - p_target)."""
    counts = np.array([5000, 1200, 300, 80, 9, 1, 40, 700])
    probs = sampling.noise_distribution(counts, 0.75)
    table = sampling.alias_table(probs)
    k, calls = 5, 20_000
    rows = np.empty(k + 1, dtype=np.int32)
    rng = np.uint64(77)
    drawn = []
    for _ in range(calls):
        n, rng = kernels.draw_negatives(table, target, k, rows, np.uint64(rng))
        assert rows[0] == target
        drawn.extend(rows[1:n])
    drawn = np.array(drawn)
    assert not np.any(drawn == target)
    p_t = probs[target]
    assert abs(len(drawn) - k * calls * (1 - p_t)) < 6 * np.sqrt(k * calls * p_t * (1 - p_t))
    rest = np.delete(np.arange(len(counts)), target)
    observed = np.bincount(drawn, minlength=len(counts))[rest]
    expected = probs[rest] / probs[rest].sum() * len(drawn)
    assert stats.chisquare(observed, expected).pvalue > P_MIN
