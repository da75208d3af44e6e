import heapq
import itertools

import numpy as np
import pytest

from w2v import objectives as ob

SEEDS = [0, 1, 2]


def _data(seed, v=9, d=5):
    rng = np.random.default_rng(seed)
    return rng.normal(size=d), rng.normal(size=(v, d)) * 0.7, rng


def test_sigmoid_and_softmax():
    x = np.array([-800.0, -3.0, 0.0, 2.0, 800.0])
    np.testing.assert_allclose(ob.sigmoid(x), [0.0, 1 / (1 + np.exp(3)), 0.5, 1 / (1 + np.exp(-2)), 1.0])
    s = ob.softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]]))
    np.testing.assert_allclose(s.sum(1), 1.0)
    np.testing.assert_allclose(s[1], 1 / 3)
    np.testing.assert_allclose(ob.softmax(np.array([1.0, 2.0])), ob.softmax(np.array([101.0, 102.0])))


def test_softmax_gradient_wrt_scores_is_yhat_minus_y():
    # worked example: p = [0.2, 0.3, 0.5], correct class 1 -> [0.2, -0.7, 0.5]
    p = np.array([0.2, 0.3, 0.5])
    scores = np.log(p)
    # with v = e_j and U = I, dL/dv equals dL/dscores
    loss, g_v, _ = ob.naive_softmax_loss_and_gradient(scores, 1, np.eye(3))
    np.testing.assert_allclose(g_v, [0.2, -0.7, 0.5], atol=1e-12)
    np.testing.assert_allclose(loss, -np.log(0.3))


@pytest.mark.parametrize("seed", SEEDS)
def test_gradcheck_naive_softmax(seed):
    v, u, _ = _data(seed)
    ob.gradcheck(lambda x: ob.naive_softmax_loss_and_gradient(x, 3, u)[:2], v.copy())
    ob.gradcheck(lambda x: ob.naive_softmax_loss_and_gradient(v, 3, x)[::2], u.copy())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("negatives", [[1, 4, 6], [2, 2, 5], [7]])
def test_gradcheck_negative_sampling(seed, negatives):
    v, u, _ = _data(seed)
    ob.gradcheck(lambda x: ob.neg_sampling_loss_and_gradient(x, 0, u, negatives)[:2], v.copy())
    ob.gradcheck(lambda x: ob.neg_sampling_loss_and_gradient(v, 0, x, negatives)[::2], u.copy())


def test_repeated_negative_counts_twice():
    v, u, _ = _data(4)
    once, g1, gu1 = ob.neg_sampling_loss_and_gradient(v, 0, u, [3])
    twice, g2, gu2 = ob.neg_sampling_loss_and_gradient(v, 0, u, [3, 3])
    pos_only = -np.log(ob.sigmoid(u[0] @ v))
    np.testing.assert_allclose(twice - pos_only, 2 * (once - pos_only))
    np.testing.assert_allclose(gu2[3], 2 * gu1[3])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("nodes, codes", [([4, 2, 0], [1, 0, 1]), ([5], [0]), ([5], [1]), ([3, 3], [0, 1])])
def test_gradcheck_hierarchical_softmax(seed, nodes, codes):
    v, inner, _ = _data(seed, v=6)
    ob.gradcheck(lambda x: ob.hierarchical_softmax_loss_and_gradient(x, nodes, codes, inner)[:2], v.copy())
    ob.gradcheck(lambda x: ob.hierarchical_softmax_loss_and_gradient(v, nodes, codes, x)[::2], inner.copy())


def _huffman_paths(counts):
    """Huffman tree by heapq: inner nodes 0..V-2, codes as word2vec.c (the second-popped is 1)."""
    tie = itertools.count()
    heap = [(c, next(tie), ("leaf", i)) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    children, next_id = {}, 0
    while len(heap) > 1:
        c1, _, a = heapq.heappop(heap)
        c2, _, b = heapq.heappop(heap)
        node = ("inner", next_id)
        next_id += 1
        children[node] = (a, b)
        heapq.heappush(heap, (c1 + c2, next(tie), node))
    paths = {}

    def walk(node, nodes, codes):
        if node[0] == "leaf":
            paths[node[1]] = (np.array(nodes), np.array(codes))
            return
        for code, child in enumerate(children[node]):
            walk(child, nodes + [node[1]], codes + [code])
    walk(heap[0][2], [], [])
    return paths, next_id


@pytest.mark.parametrize("seed", SEEDS)
def test_hierarchical_softmax_leaf_probabilities_sum_to_one(seed):
    rng = np.random.default_rng(seed)
    counts = [30, 12, 9, 7, 4, 2, 1]
    paths, n_inner = _huffman_paths(counts)
    assert n_inner == len(counts) - 1
    inner, v = rng.normal(size=(n_inner, 4)), rng.normal(size=4)
    total = sum(np.exp(-ob.hierarchical_softmax_loss_and_gradient(v, *paths[w], inner)[0]) for w in paths)
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)


def _window(seed, v=7, d=4):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(v)]
    word2ind = {w: i for i, w in enumerate(words)}
    return rng, words, word2ind, rng.normal(size=(v, d)) * 0.5, rng.normal(size=(v, d)) * 0.5


def _loss_fns(words, rng, n_outside):
    paths, _ = _huffman_paths(list(range(len(words) * 3, 0, -3)))
    negs = [rng.integers(0, len(words), 3) for _ in range(n_outside)]
    negs[0][1] = negs[0][0]  # a repeated negative
    return {
        "softmax": (ob.naive_softmax_loss_and_gradient, {}, None),
        "negative": (ob.neg_sampling_loss_and_gradient, {"negative_indices": negs}, None),
        "hierarchical": (ob.hs_pair_loss(paths), {}, len(words) - 1),
    }


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("loss_name", ["softmax", "negative", "hierarchical"])
@pytest.mark.parametrize("model", ["skipgram", "cbow-mean", "cbow-sum"])
def test_gradcheck_skipgram_and_cbow(seed, loss_name, model):
    rng, words, word2ind, center_vectors, outside_vectors = _window(seed)
    outside = ["w1", "w4", "w1", "w6"]
    fn, kw, n_inner = _loss_fns(words, rng, len(outside))[loss_name]
    if n_inner is not None:
        outside_vectors = outside_vectors[:n_inner].copy()
    if model == "skipgram":
        def run(cv, ov):
            return ob.skipgram("w2", 2, outside, word2ind, cv, ov, fn, **kw)
    else:
        if loss_name == "negative":
            kw = {"negative_indices": kw["negative_indices"][0]}

        def run(cv, ov):
            return ob.cbow("w2", 2, outside, word2ind, cv, ov, fn, mean=(model == "cbow-mean"), **kw)
    ob.gradcheck(lambda x: run(x, outside_vectors)[:2], center_vectors.copy())
    ob.gradcheck(lambda x: (run(center_vectors, x)[0], run(center_vectors, x)[2]), outside_vectors.copy())


def test_skipgram_is_the_sum_of_its_pairs():
    rng, words, word2ind, cv, ov = _window(9)
    loss, _, _ = ob.skipgram("w0", 1, ["w1", "w2"], word2ind, cv, ov, ob.naive_softmax_loss_and_gradient)
    expect = sum(ob.naive_softmax_loss_and_gradient(cv[0], o, ov)[0] for o in (1, 2))
    np.testing.assert_allclose(loss, expect)


def test_gradcheck_catches_a_wrong_gradient():
    v, u, _ = _data(0)

    def wrong(x):
        loss, g, _ = ob.naive_softmax_loss_and_gradient(x, 2, u)
        g = g.copy()
        g[3] *= 1.01
        return loss, g
    with pytest.raises(AssertionError, match=r"coordinate \(3,\)"):
        ob.gradcheck(wrong, v.copy())


def test_gradcheck_samples_large_inputs():
    x = np.random.default_rng(0).normal(size=(40, 30))
    calls = []

    def f(y):
        calls.append(1)
        return float((y ** 2).sum()), 2 * y
    assert ob.gradcheck(f, x, n_coords=25)
    assert len(calls) == 1 + 2 * 25
