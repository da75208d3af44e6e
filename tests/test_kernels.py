"""Each numba kernel performs the SGD step `-lr * gradient` of the numpy reference (w2v.objectives).

The chunk kernel is run under conditions that make it deterministic: window 1 (the reduced
window is then always 1), no subsampling, and a noise table with all its mass on one word, so
the negatives are known. Steps are then replayed one by one with the reference.
"""
import numpy as np
import pytest

from w2v import huffman, kernels, objectives, plan, sampling
from w2v.backends import threads
from w2v import Word2Vec

TOL = 1e-5  # the kernel's interpolated sigmoid is within 3e-6 of the exact one


def _rand(rng, *shape, scale=0.5):
    return ((rng.random(shape) - 0.5) * 2 * scale).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("negatives", [[3, 5, 7], [3, 3, 5], [9]])
def test_logistic_update_is_the_negative_sampling_step(seed, negatives):
    rng = np.random.default_rng(seed)
    d, v, target, lr = 8, 10, 4, 0.1
    h, u = _rand(rng, d), _rand(rng, v, d, scale=1.0)
    loss, g_h, g_u = objectives.neg_sampling_loss_and_gradient(
        h.astype(np.float64), target, u.astype(np.float64), np.array(negatives))
    rows = np.array([target] + negatives, dtype=np.int32)
    labels = np.array([1.0] + [0.0] * len(negatives), dtype=np.float32)
    grad, u_k = np.zeros(d, np.float32), u.copy()
    k_loss = kernels.logistic_update(h, u_k, rows, labels, len(rows), lr, grad, np.zeros(len(rows), np.float32))
    np.testing.assert_allclose(k_loss, loss, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(grad, -lr * g_h, atol=TOL)
    np.testing.assert_allclose(u_k, u - lr * g_u, atol=TOL)


@pytest.mark.parametrize("ctx", [[2], [0, 1, 2, 6, 8], [0, 1, 1, 2, 6, 8, 9, 3, 5]], ids=["m1", "m5", "m9-repeat"])
@pytest.mark.parametrize("negatives", [[3], [3, 5, 7], [3, 5, 7, 9, 1, 2], [3, 3, 5, 9, 3], [3, 5, 5, 3, 3]],
                         ids=["n2", "n4", "n7", "n6-repeat", "n6-repeat-in-pairs"])
def test_logistic_update_window_is_the_summed_step(ctx, negatives):
    """One window step (batch_window) = the sum of the context rows' steps, all from the weights
    before it; sizes cover the kernel's blocks of four rows, their remainders, and rows listed twice
    (within one of the pairs of output rows the update takes together, and across pairs)."""
    rng = np.random.default_rng(len(ctx) * 10 + len(negatives))
    d, v, target, lr = 11, 10, 4, 0.1
    w_in, u = _rand(rng, v, d), _rand(rng, v, d, scale=1.0)
    want_loss, want_grad, want_u = 0.0, np.zeros((len(ctx), d)), u.astype(np.float64)
    for i, a in enumerate(ctx):
        loss, g_h, g_u = objectives.neg_sampling_loss_and_gradient(
            w_in[a].astype(np.float64), target, u.astype(np.float64), np.array(negatives))
        want_loss += loss
        want_grad[i] = -lr * g_h
        want_u -= lr * g_u
    rows = np.array([target] + negatives, dtype=np.int32)
    labels = np.array([1.0] + [0.0] * len(negatives), dtype=np.float32)
    grad, u_k = np.zeros((len(ctx), d), np.float32), u.copy()
    k_loss = kernels.logistic_update_window(w_in, np.array(ctx, np.int32), len(ctx), u_k, rows, labels, len(rows),
                                            lr, grad, np.zeros(len(ctx) * len(rows), np.float32))
    np.testing.assert_allclose(k_loss, want_loss, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(grad, want_grad, atol=TOL)
    np.testing.assert_allclose(u_k, want_u, atol=TOL)


@pytest.mark.parametrize("seed", [0, 1])
def test_logistic_update_is_the_hierarchical_softmax_step(seed):
    rng = np.random.default_rng(seed)
    counts = np.array([50, 30, 20, 9, 7, 4, 2, 1])
    tree = huffman.build(counts)
    d, lr = 6, 0.2
    inner = _rand(rng, len(counts) - 1, d, scale=1.0)
    for word in range(len(counts)):
        h = _rand(rng, d)
        n = tree.lengths[word]
        nodes, codes = tree.points[word, :n], tree.codes[word, :n]
        loss, g_h, g_in = objectives.hierarchical_softmax_loss_and_gradient(
            h.astype(np.float64), nodes, codes, inner.astype(np.float64))
        grad, inner_k = np.zeros(d, np.float32), inner.copy()
        k_loss = kernels.logistic_update(h, inner_k, nodes, (1 - codes).astype(np.float32), n, lr, grad,
                                         np.zeros(n, np.float32))
        np.testing.assert_allclose(k_loss, loss, rtol=TOL, atol=TOL)
        np.testing.assert_allclose(grad, -lr * g_h, atol=TOL)
        np.testing.assert_allclose(inner_k, inner - lr * g_in, atol=TOL)


@pytest.mark.parametrize("sg, cbow_mean", [(1, 1), (0, 1), (0, 0)])
def test_score_hs_equals_the_reference(sg, cbow_mean):
    """gensim's score: every word from its full window, nodes scored beyond +-6 left out; the weights
    are large enough that some are, so the rule is tested too."""
    rng = np.random.default_rng(3)
    counts = np.array([50, 30, 20, 9, 7, 4, 2, 1])
    tree = huffman.build(counts)
    v, d, window = len(counts), 6, 2
    w_in, inner = _rand(rng, v, d, scale=3.0), _rand(rng, v - 1, d, scale=3.0)
    paths = {w: (tree.points[w, :tree.lengths[w]], tree.codes[w, :tree.lengths[w]]) for w in range(v)}
    sentences = [[0, 3, 1, 1, 7, 2, 5], [4], [6, 0], [2, 2, 2, 0, 1, 5, 3, 6, 4]]
    ids = np.array([w for s in sentences for w in s], dtype=np.int32)
    bounds = np.cumsum([0] + [len(s) for s in sentences]).astype(np.int64)
    tables = kernels.Tables(np.ones(v, np.float32), np.zeros(1, np.uint64), tree.points,
                            (1 - tree.codes).astype(np.float32), tree.lengths)
    cfg = kernels.Config(sg=sg, hs=1, negative=0, window=window, cbow_mean=cbow_mean, softmax=0, batch_window=0)
    out = np.zeros(len(sentences))
    w_in_before, inner_before = w_in.copy(), inner.copy()
    kernels.score_hs(ids, bounds, w_in, inner, tables, cfg, out)
    assert np.array_equal(w_in, w_in_before) and np.array_equal(inner, inner_before)  # nothing updated
    word2ind = {w: w for w in range(v)}
    for s, got in zip(sentences, out):
        args = (s, word2ind, w_in.astype(np.float64), inner.astype(np.float64), paths, window, sg, cbow_mean)
        ref = objectives.hs_sentence_score(*args)
        assert got == pytest.approx(ref, rel=1e-5, abs=1e-5)
    every_node = sum(objectives.hs_sentence_score(*(s, word2ind, w_in.astype(np.float64),
                                                    inner.astype(np.float64), paths, window, sg, cbow_mean),
                                                  max_exp=np.inf) for s in sentences)
    assert every_node < out.sum() - 1.0  # some nodes were left out


def test_softmax_update_is_the_naive_softmax_step():
    rng = np.random.default_rng(5)
    d, v, target, lr = 7, 12, 3, 0.3
    h, u = _rand(rng, d), _rand(rng, v, d, scale=1.0)
    loss, g_h, g_u = objectives.naive_softmax_loss_and_gradient(h.astype(np.float64), target, u.astype(np.float64))
    grad, u_k = np.zeros(d, np.float32), u.copy()
    k_loss = kernels.softmax_update(h, u_k, target, lr, grad, np.zeros(v))
    np.testing.assert_allclose(k_loss, loss, rtol=1e-6)
    np.testing.assert_allclose(grad, -lr * g_h, atol=1e-6)
    np.testing.assert_allclose(u_k, u - lr * g_u, atol=1e-6)


def _assert_step(kernel_weights, reference_weights, kernel_loss, reference_loss, tol=TOL):
    for k, r in zip(kernel_weights, reference_weights):
        np.testing.assert_allclose(k, r, atol=tol)
    np.testing.assert_allclose(kernel_loss, reference_loss, rtol=tol)


def _hs_pair_loss(tree):
    """The reference hierarchical-softmax loss of the words of a huffman.HuffmanTree."""
    return objectives.hs_pair_loss({w: (tree.points[w, :n], tree.codes[w, :n]) for w, n in enumerate(tree.lengths)})


def _tables(v, hs_counts=None, noise_word=None):
    keep = np.ones(v, dtype=np.float32)
    probs = np.zeros(v)
    probs[noise_word if noise_word is not None else 0] = 1.0
    noise = sampling.alias_table(probs)
    if hs_counts is not None:
        tree = huffman.build(hs_counts)
        return kernels.Tables(keep, noise, tree.points, (1 - tree.codes).astype(np.float32), tree.lengths), tree
    z = np.zeros((v, 1), dtype=np.int32)
    return kernels.Tables(keep, noise, z, z.astype(np.float32), np.zeros(v, np.int32)), None


def _run_chunk(sentence, w_in, w_hs, w_ns, tables, sg, hs, negative, lr, cbow_mean=1, softmax=0, batch_window=0,
               hot_rows=0, window=1, bounds=None, seed=3, lr1=None):
    """kernels.train_chunk on one sentence (or on sentences cut by `bounds`), weights in place.

    With hot_rows, it runs as the second of two threads does in the threads backend: on output
    matrices extended by the threads' private rows, with its Huffman paths mapped to its own.
    """
    ids = np.array(sentence, dtype=np.int32)
    bounds = np.array([0, len(ids)], dtype=np.int64) if bounds is None else bounds
    cfg = kernels.Config(sg=sg, hs=hs, negative=negative, window=window, cbow_mean=cbow_mean, softmax=softmax,
                         batch_window=batch_window)
    lr1 = lr if lr1 is None else lr1
    if not hot_rows:
        return kernels.train_chunk(ids, bounds, np.arange(len(bounds) - 1), w_in, w_hs, w_ns, tables, cfg, lr, lr1,
                                   np.uint64(seed))
    out_in, out_hs, out_ns, tables_t, cfg_t = threads._thread_private(w_in, w_hs, w_ns, tables, cfg, hot_rows, 2)[1]
    assert cfg_t.hot_slot == 1 and cfg_t.hot_rows == hot_rows
    out_in[:len(w_in)], out_hs[:len(w_hs)], out_ns[:len(w_ns)] = w_in, w_hs, w_ns
    result = kernels.train_chunk(ids, bounds, np.arange(len(bounds) - 1), out_in, out_hs, out_ns, tables_t, cfg_t, lr,
                                 lr1, np.uint64(seed))
    w_in[:], w_hs[:], w_ns[:] = out_in[:len(w_in)], out_hs[:len(w_hs)], out_ns[:len(w_ns)]
    return result


def _reference_steps(sentence, w_in, w_out, sg, pair_loss, lr, cbow_mean=1, radii=None):
    """Replay the kernel's sequence of steps with the reference pair loss.

    Skip-gram (word2vec.c's order): each context row predicts the center word.
    CBOW: the mean (or sum) of the context rows predicts the center word; as word2vec.c and
    gensim, each context row receives the full hidden gradient (for the mean, the true gradient
    would be 1/n of it). radii: each position's reduced window (default 1).
    """
    w_in, w_out = w_in.astype(np.float64), w_out.astype(np.float64)
    total = 0.0
    for pos, center in enumerate(sentence):
        b = 1 if radii is None else radii[pos]
        ctx = [sentence[c] for c in range(pos - b, pos + b + 1) if c != pos and 0 <= c < len(sentence)]
        if sg:
            for c in ctx:
                loss, g_h, g_out = pair_loss(w_in[c], center, w_out)
                w_in[c] -= lr * g_h
                w_out -= lr * g_out
                total += loss
        else:
            hidden = w_in[ctx].sum(0) / (len(ctx) if cbow_mean else 1)
            loss, g_h, g_out = pair_loss(hidden, center, w_out)
            for c in ctx:
                w_in[c] -= lr * g_h
            w_out -= lr * g_out
            total += loss
    return w_in, w_out, total


def _reference_window_steps(sentence, w_in, w_outs, pair_losses, lr):
    """Skip-gram with batch_window: per center word, every context's pair gradient is taken at
    the weights before the window, and the summed step applied once."""
    w_in = w_in.astype(np.float64)
    w_outs = [w.astype(np.float64) for w in w_outs]
    total = 0.0
    for pos, center in enumerate(sentence):
        ctx = [sentence[c] for c in (pos - 1, pos + 1) if 0 <= c < len(sentence)]
        d_in = np.zeros_like(w_in)
        d_outs = [np.zeros_like(w) for w in w_outs]
        for c in ctx:
            g_h_total = 0.0
            for k, (pair_loss, w_out) in enumerate(zip(pair_losses, w_outs)):
                loss, g_h, g_out = pair_loss(w_in[c], center, w_out)
                total += loss
                g_h_total = g_h_total + g_h
                d_outs[k] -= lr * g_out
            d_in[c] -= lr * g_h_total
        w_in += d_in
        w_outs = [w + dw for w, dw in zip(w_outs, d_outs)]
    return w_in, w_outs, total


SENTENCE = [0, 1, 2, 1, 3, 0]


# hot_rows=2: the same steps through a thread's private copies of words 0-1 / the top two Huffman nodes
@pytest.mark.parametrize("negative", [2, 1])
@pytest.mark.parametrize("hot_rows", [0, 2], ids=["shared", "hot"])
@pytest.mark.parametrize("sg, cbow_mean", [(1, 1), (0, 1), (0, 0)], ids=["sg", "cbow-mean", "cbow-sum"])
def test_chunk_kernel_negative_sampling_equals_reference(sg, cbow_mean, hot_rows, negative):
    rng = np.random.default_rng(11)
    v, d, lr, noise_word = 5, 6, 0.05, 4
    w_in, w_ns = _rand(rng, v, d), _rand(rng, v, d, scale=0.3)
    tables, _ = _tables(v, noise_word=noise_word)
    w_in_k, w_ns_k = w_in.copy(), w_ns.copy()
    raw, eff, loss, n_pred = _run_chunk(SENTENCE, w_in_k, np.zeros((0, d), np.float32), w_ns_k, tables,
                                        sg, 0, negative, lr, cbow_mean, hot_rows=hot_rows)

    def pair_loss(h, target, u):  # `negative` draws, all the noise word
        return objectives.neg_sampling_loss_and_gradient(h, target, u, np.array([noise_word] * negative))

    ref_in, ref_out, ref_loss = _reference_steps(SENTENCE, w_in, w_ns, sg, pair_loss, lr, cbow_mean)
    assert (raw, eff) == (len(SENTENCE), len(SENTENCE))
    assert n_pred == (2 * len(SENTENCE) - 2 if sg else len(SENTENCE))
    _assert_step((w_in_k, w_ns_k), (ref_in, ref_out), loss, ref_loss)


@pytest.mark.parametrize("hot_rows", [0, 2], ids=["shared", "hot"])
@pytest.mark.parametrize("sg", [1, 0], ids=["sg", "cbow"])
def test_chunk_kernel_hierarchical_softmax_equals_reference(sg, hot_rows):
    rng = np.random.default_rng(12)
    counts = np.array([40, 30, 20, 10])
    v, d, lr = 4, 5, 0.08
    tables, tree = _tables(v, hs_counts=counts)
    w_in, w_hs = _rand(rng, v, d), _rand(rng, v - 1, d, scale=0.3)
    w_in_k, w_hs_k = w_in.copy(), w_hs.copy()
    _, _, loss, _ = _run_chunk(SENTENCE[:5], w_in_k, w_hs_k, np.zeros((0, d), np.float32), tables, sg, 1, 0, lr,
                               hot_rows=hot_rows)
    pair_loss = _hs_pair_loss(tree)
    ref_in, ref_out, ref_loss = _reference_steps(SENTENCE[:5], w_in, w_hs, sg, pair_loss, lr)
    _assert_step((w_in_k, w_hs_k), (ref_in, ref_out), loss, ref_loss)


@pytest.mark.parametrize("cbow_mean", [1, 0], ids=["mean", "sum"])
def test_cbow_wide_windows_equal_reference(cbow_mean):
    """CBOW with window 4: up to 8 context rows (the kernel sums and updates them four at a time),
    a word twice in one window gets both updates; the reduced windows are the kernel's own draws."""
    rng = np.random.default_rng(15)
    counts = np.array([40, 30, 20, 10, 5])
    v, d, lr, window, seed = 5, 7, 0.05, 4, 9
    tables, tree = _tables(v, hs_counts=counts)
    sentence = [0, 1, 2, 1, 3, 0, 0, 4, 2, 1, 1, 3, 4, 0]
    w_in, w_hs = _rand(rng, v, d), _rand(rng, v - 1, d, scale=0.3)
    w_in_k, w_hs_k = w_in.copy(), w_hs.copy()
    _, _, loss, _ = _run_chunk(sentence, w_in_k, w_hs_k, np.zeros((0, d), np.float32), tables, 0, 1, 0, lr,
                               cbow_mean=cbow_mean, window=window, seed=seed)
    state, radii = np.uint64(seed), []  # no subsampling, no negatives: one draw per position, its radius
    for _ in sentence:
        b, state = kernels.reduced_window(state, window)
        radii.append(int(b))
    assert max(radii) >= 3  # some windows hold more than four context rows
    ref_in, ref_hs, ref_loss = _reference_steps(sentence, w_in, w_hs, 0, _hs_pair_loss(tree), lr, cbow_mean, radii)
    _assert_step((w_in_k, w_hs_k), (ref_in, ref_hs), loss, ref_loss)


@pytest.mark.parametrize("sg", [1, 0], ids=["sg", "cbow"])
def test_chunk_kernel_full_softmax_equals_reference(sg):
    rng = np.random.default_rng(13)
    v, d, lr = 5, 4, 0.1
    tables, _ = _tables(v)
    w_in, w_out = _rand(rng, v, d), _rand(rng, v, d, scale=0.3)
    w_in_k, w_out_k = w_in.copy(), w_out.copy()
    _, _, loss, _ = _run_chunk(SENTENCE, w_in_k, np.zeros((0, d), np.float32), w_out_k, tables, sg, 0, 0, lr,
                               softmax=1)
    ref_in, ref_out, ref_loss = _reference_steps(SENTENCE, w_in, w_out, sg,
                                                 objectives.naive_softmax_loss_and_gradient, lr)
    _assert_step((w_in_k, w_out_k), (ref_in, ref_out), loss, ref_loss, tol=1e-6)


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "file-order"])
@pytest.mark.parametrize("sg, batch_window", [(1, None), (1, False), (0, None)],
                         ids=["sg-default-windows", "sg-pairs", "cbow"])
def test_reported_epoch_loss_equals_reference_loss(sg, batch_window, shuffle):
    """Through the public API: per-epoch loss in epoch_stats == reference loss over the same steps.
    Skip-gram's default is a minibatch per window; batch_window=False is pair by pair."""
    sentences = [["a", "b", "c", "b", "d"], ["c", "a", "b"], ["d", "d", "a"]]
    lr = 0.05
    kw = dict(vector_size=6, window=1, min_count=1, sample=0, hs=1, negative=0, sg=sg, workers=1, seed=4,
              alpha=lr, min_alpha=lr, epochs=2, progress=False, shuffle=shuffle, batch_window=batch_window)
    model = Word2Vec(sentences, **kw)
    start = Word2Vec(**kw)
    start.build_vocab(sentences)  # the same seeded initial weights
    tree = huffman.build(start.vocab.counts)
    ids = [[start.wv.key_to_index[w] for w in s] for s in sentences]

    pair_loss = _hs_pair_loss(tree)

    w_in, w_hs = start.wv.vectors.astype(np.float64), start.syn1.astype(np.float64)
    for epoch in range(2):
        epoch_loss = 0.0
        for i in plan.sentence_order(len(ids), 4, epoch, shuffle):  # the order the model took
            if sg and batch_window is None:
                w_in, (w_hs,), loss = _reference_window_steps(ids[i], w_in, [w_hs], [pair_loss], lr)
            else:
                w_in, w_hs, loss = _reference_steps(ids[i], w_in, w_hs, sg, pair_loss, lr)
            epoch_loss += loss
        np.testing.assert_allclose(model.epoch_stats[epoch]["loss"], epoch_loss, rtol=TOL)
    np.testing.assert_allclose(model.wv.vectors, w_in, atol=TOL)


@pytest.mark.parametrize("hot_rows", [0, 2], ids=["shared", "hot"])
def test_window_minibatch_kernel_equals_summed_reference_step(hot_rows):
    """batch_window: skip-gram with hierarchical softmax and negative sampling at once."""
    rng = np.random.default_rng(14)
    counts = np.array([40, 30, 20, 10, 5])
    v, d, lr, noise_word = 5, 6, 0.07, 4
    tables, tree = _tables(v, hs_counts=counts, noise_word=noise_word)
    w_in, w_hs, w_ns = _rand(rng, v, d), _rand(rng, v - 1, d, scale=0.3), _rand(rng, v, d, scale=0.3)
    w_in_k, w_hs_k, w_ns_k = w_in.copy(), w_hs.copy(), w_ns.copy()
    sentence = [0, 1, 2, 1, 3, 0, 0]  # word 0 twice in one window: both contributions count
    _, _, loss, n_pred = _run_chunk(sentence, w_in_k, w_hs_k, w_ns_k, tables, 1, 1, 2, lr, batch_window=1,
                                    hot_rows=hot_rows)

    hs_loss = _hs_pair_loss(tree)

    def ns_loss(h, target, u):
        return objectives.neg_sampling_loss_and_gradient(h, target, u, np.array([noise_word, noise_word]))

    ref_in, (ref_hs, ref_ns), ref_loss = _reference_window_steps(sentence, w_in, [w_hs, w_ns], [hs_loss, ns_loss], lr)
    assert n_pred == 2 * len(sentence) - 2
    _assert_step((w_in_k, w_hs_k, w_ns_k), (ref_in, ref_hs, ref_ns), loss, ref_loss)


@pytest.mark.parametrize("sg", [1, 0], ids=["sg", "cbow"])
def test_private_hot_rows_alone_change_nothing(sg):
    """One thread through private rows, merged every kernels.SYNC_WORDS words, trains as one
    without them: the merges (several within this chunk) lose and add nothing."""
    rng = np.random.default_rng(15)
    v, d, lr = 40, 8, 0.05
    counts = np.sort(rng.integers(1, 1000, v))[::-1]
    tables, _ = _tables(v, hs_counts=counts)
    tables = tables._replace(noise=sampling.alias_table(sampling.noise_distribution(counts)))
    lengths = rng.integers(5, 40, 200)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    assert bounds[-1] > 3 * kernels.SYNC_WORDS
    sentence = rng.integers(0, v, bounds[-1])
    start = [_rand(rng, v, d), _rand(rng, v - 1, d, scale=0.3), _rand(rng, v, d, scale=0.3)]
    results = []
    for hot_rows in (0, 8):
        w = [a.copy() for a in start]
        stats = _run_chunk(sentence, *w, tables, sg, 1, 3, lr, window=3, bounds=bounds, hot_rows=hot_rows)
        results.append((w, stats))
    (w_shared, stats_shared), (w_hot, stats_hot) = results
    assert stats_hot[:2] == stats_shared[:2] and stats_hot[3] == stats_shared[3]
    np.testing.assert_allclose(stats_hot[2], stats_shared[2], rtol=1e-5)
    for a, b, s0 in zip(w_hot, w_shared, start):
        assert np.abs(b - s0).max() > 0.01  # it trained
        np.testing.assert_allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("sg", [1, 0], ids=["sg", "cbow"])
def test_learning_rate_goes_linearly_over_the_chunk_words(sg):
    """lr0 -> lr1 over the chunk: sentence q trains with lr0 + (lr1 - lr0) * (words before q) / (words in the chunk)."""
    rng = np.random.default_rng(16)
    v, d, lr0, lr1, noise_word = 6, 5, 0.2, 0.02, 5
    w_in, w_ns = _rand(rng, v, d), _rand(rng, v, d, scale=0.3)
    tables, _ = _tables(v, noise_word=noise_word)
    sentences = [[0, 1, 2, 1], [3, 0, 4], [2, 2, 1, 0, 3], [4, 1]]
    bounds = np.cumsum([0] + [len(s) for s in sentences]).astype(np.int64)
    w_in_k, w_ns_k = w_in.copy(), w_ns.copy()
    _, _, loss, _ = _run_chunk(sum(sentences, []), w_in_k, np.zeros((0, d), np.float32), w_ns_k, tables, sg, 0, 2,
                               lr0, lr1=lr1, bounds=bounds)

    def pair_loss(h, target, u):
        return objectives.neg_sampling_loss_and_gradient(h, target, u, np.array([noise_word, noise_word]))

    ref_in, ref_out, ref_loss = w_in, w_ns, 0.0
    for start, sentence in zip(bounds, sentences):
        lr = lr0 + (lr1 - lr0) * start / bounds[-1]
        ref_in, ref_out, step_loss = _reference_steps(sentence, ref_in, ref_out, sg, pair_loss, lr)
        ref_loss += step_loss
    _assert_step((w_in_k, w_ns_k), (ref_in, ref_out), loss, ref_loss)


def _two_chunks(v, n_long):
    """Two chunks (ids, bounds) of short sentences, the first with one sentence of n_long words."""
    rng = np.random.default_rng(17)
    chunks = []
    for lengths in ([30, n_long, 12, 40], [25, 33, 8, 60]):
        bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        chunks.append((rng.integers(0, v, bounds[-1]).astype(np.int32), bounds))
    return chunks


@pytest.mark.parametrize("sg, batch_window", [(1, 0), (0, 0), (1, 1)], ids=["sg", "cbow", "batch_window"])
def test_hot_row_merges_equal_one_thread_applying_the_same_updates(sg, batch_window):
    """Thread slot 0 trains chunk A, then slot 1 trains chunk B, each on its private hot rows
    (sequentially: no races), against one thread without private rows training A then B. Every
    update reaches the shared rows exactly once, so the weights agree to float rounding: a merge
    lost (a slot's change dropped) or applied twice fails. Chunk A holds a sentence of several
    SYNC_WORDS words, so merges inside a sentence take part."""
    rng = np.random.default_rng(18)
    v, d, hot, lr = 40, 8, 8, 0.05
    counts = np.sort(rng.integers(1, 1000, v))[::-1]
    tables, _ = _tables(v, hs_counts=counts)
    tables = tables._replace(noise=sampling.alias_table(sampling.noise_distribution(counts)),
                             keep_prob=sampling.keep_probabilities(counts, 0.02))
    cfg = kernels.Config(sg=sg, hs=1, negative=3, window=3, cbow_mean=1, softmax=0, batch_window=batch_window)
    start = [_rand(rng, v, d), _rand(rng, v - 1, d, scale=0.3), _rand(rng, v, d, scale=0.3)]
    chunks = _two_chunks(v, 3 * kernels.SYNC_WORDS + 100)

    alone = [w.copy() for w in start]
    stats_alone = [kernels.train_chunk(ids, bounds, np.arange(len(bounds) - 1), *alone, tables, cfg, lr, lr,
                                       np.uint64(seed)) for seed, (ids, bounds) in enumerate(chunks)]
    slots = threads._thread_private(*[w.copy() for w in start], tables, cfg, hot, 2)
    ext = slots[0][:3]
    for w, s in zip(ext, start):
        w[:len(s)] = s
    stats_slots = [kernels.train_chunk(ids, bounds, np.arange(len(bounds) - 1), *slots[slot], lr, lr, np.uint64(slot))
                   for slot, (ids, bounds) in enumerate(chunks)]
    for a, b in zip(stats_slots, stats_alone):
        assert a[:2] == b[:2] and a[3] == b[3]
        np.testing.assert_allclose(a[2], b[2], rtol=1e-6)
    for w, w_alone, s in zip(ext, alone, start):
        assert np.abs(w_alone - s).max() > 0.01  # it trained
        np.testing.assert_allclose(w[:len(s)], w_alone, atol=1e-6, rtol=0)


def test_hot_rows_merge_inside_a_long_sentence():
    """Staleness is bounded by SYNC_WORDS words even within one sentence.

    Words A and B share the Huffman root and node 1, both hot. A's path goes through this thread's
    private copies; B's path is left unmapped, so B writes the shared rows directly, as another
    thread would. The sentence is SYNC_WORDS - 8 B's, 16 C's (no Huffman path: they write no inner
    node) and then A's. When a merge falls among the C's, the A's train on the shared rows with
    all of B's changes in, exactly as one thread without private rows does. Without merges inside
    the sentence the A's would train on the rows as they were when the chunk began.
    """
    rng = np.random.default_rng(19)
    v, d, hot, lr = 4, 6, 2, 0.1
    a_, b_, c_ = 0, 1, 2
    points = np.array([[2, 1], [2, 0], [0, 0], [0, 0]], dtype=np.int32)
    labels = np.array([[1, 0], [0, 1], [0, 0], [0, 0]], dtype=np.float32)
    tables = kernels.Tables(np.ones(v, np.float32), sampling.alias_table(np.full(v, 0.25)), points, labels,
                            np.array([2, 2, 0, 0], dtype=np.int32))
    cfg = kernels.Config(sg=1, hs=1, negative=0, window=1, cbow_mean=1, softmax=0, batch_window=0)
    sentence = np.array([b_] * (kernels.SYNC_WORDS - 8) + [c_] * 16 + [a_] * kernels.SYNC_WORDS, dtype=np.int32)
    bounds = np.array([0, len(sentence)], dtype=np.int64)
    start = [_rand(rng, v, d), _rand(rng, v - 1, d, scale=0.3), np.zeros((0, d), np.float32)]

    alone = [w.copy() for w in start]
    kernels.train_chunk(sentence, bounds, np.arange(1), *alone, tables, cfg, lr, lr, np.uint64(1))
    w_in, w_hs, w_ns, tables_t, cfg_t = threads._thread_private(*[w.copy() for w in start], tables, cfg, hot, 2)[1]
    w_in[:v], w_hs[:v - 1] = start[0], start[1]
    mixed = tables_t.hs_points.copy()
    mixed[b_] = points[b_]  # B: the shared rows
    assert not np.array_equal(mixed[a_], points[a_])  # A: the private ones
    kernels.train_chunk(sentence, bounds, np.arange(1), w_in, w_hs, w_ns, tables_t._replace(hs_points=mixed), cfg_t,
                        lr, lr, np.uint64(1))
    assert np.abs(alone[1] - start[1]).max() > 0.1  # it trained
    np.testing.assert_allclose(w_hs[:v - 1], alone[1], atol=1e-6, rtol=0)
    np.testing.assert_allclose(w_in[:v], alone[0], atol=1e-6, rtol=0)


def test_a_nan_score_gives_nan_losses_and_no_table_index():
    """Diverged weights give NaN scores: the sigmoid must not turn one into a table index (an
    out-of-bounds read) and must report NaN losses, which stop training."""
    for f in (np.nan, -np.nan):
        sig, loss_pos, loss_neg = kernels._sigmoid_terms(f)
        assert np.isnan(loss_pos) and np.isnan(loss_neg)
    for f in (-40.0, -16.0, -15.99, 0.0, 15.99, 16.0, 40.0):  # finite scores as before
        sig, loss_pos, loss_neg = kernels._sigmoid_terms(f)
        np.testing.assert_allclose([sig, loss_pos, loss_neg],
                                   [1 / (1 + np.exp(-f)), np.logaddexp(0, -f), np.logaddexp(0, f)], atol=1e-5)
    h = np.full(4, np.nan, np.float32)
    w_out = np.ones((3, 4), np.float32)
    loss = kernels.logistic_update(h, w_out, np.array([0, 1, 2], np.int32), np.array([1, 0, 0], np.float32), 3,
                                   0.1, np.zeros(4, np.float32), np.zeros(3, np.float32))
    assert np.isnan(loss)


_IN_BOUNDS_SCRIPT = """
import numpy as np
from w2v import huffman, kernels, sampling
from w2v.backends import threads
rng = np.random.default_rng(3)
v, d = 9, 4
counts = np.array([90, 70, 50, 30, 20, 10, 5, 3, 2])
tree = huffman.build(counts)
tables = kernels.Tables(sampling.keep_probabilities(counts, 0.05),
                        sampling.alias_table(sampling.noise_distribution(counts)),
                        tree.points, (1 - tree.codes).astype(np.float32), tree.lengths)
ids = rng.integers(0, v, size=3000).astype(np.int32)
bounds = np.array([0, 7, 8, 30, 60, 3000], np.int64)  # one word, short, and a sentence past SYNC_WORDS
for config in [dict(sg=1, hs=1, negative=3), dict(sg=0, hs=1, negative=3, cbow_mean=0),
               dict(sg=1, hs=1, negative=2, batch_window=1), dict(sg=1, hs=0, negative=0, softmax=1)]:
    cfg = kernels.Config(window=3, **dict(dict(cbow_mean=1, softmax=0, batch_window=0), **config))
    for hot in ([0] if config.get("softmax") else [0, 2]):
        w = [rng.random((v, d), dtype=np.float32) - 0.5, rng.random((v - 1, d), dtype=np.float32) - 0.5,
             rng.random((v, d), dtype=np.float32) - 0.5]
        w_in, w_hs, w_ns, tables_t, cfg_t = threads._thread_private(*w, tables, cfg, hot, 2)[1]
        w_in[:v], w_hs[:v - 1], w_ns[:v] = w
        for keep in (tables_t.keep_prob, np.ones(v, np.float32)):  # with subsampling and without
            kernels.train_chunk(ids, bounds, np.array([2, 4, 0, 3, 1], np.int64), w_in, w_hs, w_ns,
                                tables_t._replace(keep_prob=keep), cfg_t, 0.1, 0.02, np.uint64(5))
print("in bounds")
"""


@pytest.mark.slow
def test_chunk_kernel_stays_in_bounds(tmp_path):
    """The kernels do not check indices; compiled with NUMBA_BOUNDSCHECK=1 (in a fresh cache) they
    do, and every configuration, with and without private rows, must run without an IndexError."""
    import os
    import subprocess
    import sys
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=repo)
    res = subprocess.run([sys.executable, "-c", _IN_BOUNDS_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0 and "in bounds" in res.stdout, res.stderr[-3000:]


def test_the_training_loop_and_its_callees_count_no_references():
    """numba counts array references with lock-prefixed atomics, each waiting for the stores before
    it: 47% of a CBOW-NS run's samples (perf). The loop and every function it calls are compiled without
    reference counts (kernels.NO_REFCOUNTS), and in this numba the flag removes them."""
    from numba import njit
    loop = [kernels._train_sentences, kernels.predict, kernels.logistic_update, kernels.logistic_update_window,
            kernels.softmax_update, kernels.draw_negatives, kernels.keep_word, kernels.reduced_window,
            kernels._logistic_step, kernels.start_hot, kernels.merge_hot, kernels.hs_log_prob]
    assert [f.py_func.__name__ for f in loop if f.targetoptions.get("_nrt") is not False] == []
    rng = np.random.default_rng(0)
    args = (rng.random(8, dtype=np.float32), rng.random((5, 8), dtype=np.float32), np.array([1, 3], np.int32),
            np.array([1, 0], np.float32), 2, 0.1, np.zeros(8, np.float32), np.zeros(2, np.float32), True)
    calls = {}
    for name, flags in (("counted", {}), ("not counted", kernels.NO_REFCOUNTS)):
        fresh = njit(nogil=True, fastmath=kernels.FASTMATH, **flags)(kernels.logistic_update.py_func)
        fresh(*args)
        ir = fresh.inspect_llvm(fresh.signatures[0])
        calls[name] = ir.count("call void @NRT_incref") + ir.count("call void @NRT_decref")
    assert calls["counted"] > 0 and calls["not counted"] == 0
