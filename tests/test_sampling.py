import heapq
import itertools

import numpy as np

from w2v import huffman, kernels, sampling


def test_keep_probability_is_word2vec_c_formula():
    counts = np.array([1000, 100, 10, 1])
    sample = 1e-2
    t = sample * counts.sum()
    expect = np.minimum((np.sqrt(counts / t) + 1) * t / counts, 1.0)
    np.testing.assert_allclose(sampling.keep_probabilities(counts, sample), expect, rtol=1e-6)
    assert sampling.keep_probabilities(counts, sample)[0] < 0.5
    assert np.all(sampling.keep_probabilities(counts, 0) == 1.0)


def test_alias_table_is_exact_and_draws_follow_count_power():
    counts = np.array([5000, 1200, 300, 80, 9, 1])
    probs = sampling.noise_distribution(counts, 0.75)
    np.testing.assert_allclose(probs, counts ** 0.75 / (counts ** 0.75).sum())
    table = sampling.alias_table(probs)
    np.testing.assert_allclose(sampling.alias_probabilities(table), probs, atol=1e-9)
    n = 400_000
    draws = kernels.sample_noise(table, n, 12345)
    freq = np.bincount(draws, minlength=len(counts)) / n
    sd = np.sqrt(probs * (1 - probs) / n)
    assert np.all(np.abs(freq - probs) < 5 * sd + 1e-6), (freq, probs)


def _heapq_code_lengths(counts):
    tie = itertools.count()
    heap = [(c, next(tie), [i]) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    depth = [0] * len(counts)
    while len(heap) > 1:
        c1, _, l1 = heapq.heappop(heap)
        c2, _, l2 = heapq.heappop(heap)
        for i in l1 + l2:
            depth[i] += 1
        heapq.heappush(heap, (c1 + c2, next(tie), l1 + l2))
    return depth


def test_huffman_codes_prefix_free_and_optimal():
    rng = np.random.default_rng(3)
    for trial in range(5):
        counts = np.sort(rng.integers(1, 10_000, size=rng.integers(2, 200)))[::-1]
        tree = huffman.build(counts)
        codes = ["".join(map(str, tree.codes[w, :tree.lengths[w]])) for w in range(len(counts))]
        assert len(set(codes)) == len(codes)
        for a, b in itertools.permutations(codes, 2):
            assert not b.startswith(a)
        # optimal: the same total cost as heapq's Huffman (lengths may differ on ties)
        assert int(np.dot(tree.lengths, counts)) == int(np.dot(_heapq_code_lengths(counts), counts))
        assert tree.lengths[0] == tree.lengths.min()
        v = len(counts)
        assert np.all(tree.points[:, 0] == v - 2)  # every path starts at the root
        assert tree.points.max() <= v - 2


def test_huffman_exact_lengths_without_ties():
    counts = np.array([40, 20, 10, 5, 3, 1])
    assert huffman.build(counts).lengths.tolist() == _heapq_code_lengths(counts) == [1, 2, 3, 4, 5, 5]


def test_huffman_build_stays_in_bounds():
    """The compiled builder does not check indices; its Python source run by the interpreter
    does (numpy raises IndexError), and must give the same tree."""
    rng = np.random.default_rng(7)
    for v in (2, 3, 17, 200):
        counts = np.sort(rng.integers(1, 1000, size=v))[::-1].astype(np.int64)
        compiled = huffman._build(counts)
        checked = huffman._build.py_func(counts)
        for a, b in zip(compiled, checked):
            assert np.array_equal(a, b)


def test_keep_probability_of_a_one_word_vocabulary_follows_the_formula():
    t = 1e-3 * 1000
    expect = min((np.sqrt(1000 / t) + 1) * t / 1000, 1.0)
    np.testing.assert_allclose(sampling.keep_probabilities(np.array([1000]), 1e-3), [expect], rtol=1e-6)
    assert sampling.keep_probabilities(np.array([], dtype=np.int64), 1e-3).shape == (0,)
