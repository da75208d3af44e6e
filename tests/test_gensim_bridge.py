"""Word2Vec.from_gensim / to_gensim and KeyedVectors.from_gensim / to_gensim: every matrix, the
vocabulary with its counts and the tables survive a conversion either way, and a converted model
trains on in the other library as it would have in its own."""
import json
import sys

import numpy as np
import pytest

from w2v import KeyedVectors, Word2Vec, huffman, sampling

gensim_models = pytest.importorskip("gensim.models")
G, GKV = gensim_models.Word2Vec, gensim_models.KeyedVectors

SMALL = dict(vector_size=16, min_count=3, workers=1, epochs=2, seed=3)


@pytest.fixture(scope="module")
def sents(demo_sentences):
    return demo_sentences[:3000]


# ---------------------------------------------------------------- KeyedVectors
def some_vectors(dtype):
    kv = KeyedVectors(5, 0, dtype)
    keys = ["a", "b", 7, "c", 12]
    kv.add_vectors(keys, np.random.default_rng(1).standard_normal((5, 5)), extras={"count": np.array([9, 8, 7, 6, 5])})
    kv.set_vecattr("a", "sample_int", np.uint32(3))
    return kv


def same_keyed_vectors(a, b):
    assert a.index_to_key == b.index_to_key and a.key_to_index == b.key_to_index
    assert a.next_index == b.next_index and a.vector_size == b.vector_size
    assert a.vectors.dtype == b.vectors.dtype
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert set(a.expandos) == set(b.expandos)
    for attr in a.expandos:
        assert a.expandos[attr].dtype == b.expandos[attr].dtype
        np.testing.assert_array_equal(a.expandos[attr], b.expandos[attr])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keyed_vectors_round_trip_both_ways(dtype):
    kv = some_vectors(dtype)
    g = kv.to_gensim()
    assert isinstance(g, GKV)
    same_keyed_vectors(kv, g)
    ours, theirs = kv.most_similar("a", topn=3), g.most_similar("a", topn=3)
    assert [k for k, _ in ours] == [k for k, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5, atol=1e-6)
    assert g.get_vecattr(7, "count") == 7
    back = KeyedVectors.from_gensim(g)
    assert isinstance(back, KeyedVectors)
    same_keyed_vectors(kv, back)
    # copies: changing one side leaves the other as it was
    g.vectors[0] += 1
    g.expandos["count"][0] = 0
    assert back.vectors[0].tolist() == kv.vectors[0].tolist() and back.get_vecattr("a", "count") == 9
    # and from gensim's side: a KeyedVectors with empty slots still to fill
    theirs = GKV(3, 4)
    theirs.add_vector("x", np.ones(3, np.float32))
    ours = KeyedVectors.from_gensim(theirs)
    same_keyed_vectors(ours, theirs)
    ours.add_vector("y", np.zeros(3, np.float32))  # fills the next slot, as in gensim
    theirs.add_vector("y", np.zeros(3, np.float32))
    same_keyed_vectors(ours, theirs)
    same_keyed_vectors(KeyedVectors.from_gensim(ours.to_gensim()), theirs)


def test_to_gensim_without_gensim_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim.models", None)  # import gensim.models raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'w2v\[gensim\]'"):
        some_vectors(np.float32).to_gensim()
    model = Word2Vec(**SMALL)
    model.build_vocab_from_freq({"a": 5, "b": 4})
    with pytest.raises(ImportError, match="gensim"):
        model.to_gensim()


def test_from_gensim_refuses_what_is_not_a_gensim_model():
    with pytest.raises(TypeError, match="gensim KeyedVectors"):
        KeyedVectors.from_gensim(object())
    with pytest.raises(TypeError, match="gensim Word2Vec"):
        Word2Vec.from_gensim(object())
    with pytest.raises(ValueError, match="no vocabulary"):
        Word2Vec.from_gensim(G(vector_size=4))


# ---------------------------------------------------------------- Word2Vec: what is carried
def gensim_tree_by_word(g):
    return {w: (g.wv.expandos["code"][i].tolist(), g.wv.expandos["point"][i].tolist())
            for i, w in enumerate(g.wv.index_to_key)}


def w2v_tree_by_word(m):
    tables = m._kernel_tables()  # what the kernels train on
    return {w: ((1 - tables.hs_labels[i, :n]).astype(int).tolist(), tables.hs_points[i, :n].tolist())
            for i, w in enumerate(m.wv.index_to_key) for n in [tables.hs_lengths[i]]}


def same_rows(a, a_words, b, b_words):
    """Every word's row of `a` equals its row of `b` (the two may order their words differently)."""
    assert set(a_words) == set(b_words)
    index = {w: i for i, w in enumerate(b_words)}
    np.testing.assert_array_equal(a[: len(a_words)], b[[index[w] for w in a_words]])


@pytest.mark.parametrize("sg, hs, negative", [(1, 1, 0), (0, 0, 5), (1, 1, 3)])
def test_from_gensim_carries_every_matrix_count_table_and_tree(sents, sg, hs, negative):
    g = G(sents, sg=sg, hs=hs, negative=negative, sample=1e-3, **SMALL)
    m = Word2Vec.from_gensim(g)
    words = m.wv.index_to_key
    assert {w: m.wv.get_vecattr(w, "count") for w in words} == {w: g.wv.get_vecattr(w, "count") for w in words}
    assert len(words) == len(g.wv) and m.vocab.index_to_key == words
    counts = m.vocab.counts.tolist()
    assert counts == sorted(counts, reverse=True)  # w2v's order
    for name in ("vector_size", "alpha", "window", "min_count", "sample", "seed", "sg", "hs", "negative",
                 "ns_exponent", "cbow_mean", "epochs", "min_alpha", "corpus_count", "corpus_total_words",
                 "train_count", "effective_min_count"):
        assert getattr(m, name) == getattr(g, name), name
    assert m.total_train_time == g.total_train_time > 0
    same_rows(m.wv.vectors, words, g.wv.vectors, g.wv.index_to_key)
    tables = m._kernel_tables()
    # subsampling: the same keep probability per word as gensim's sample_int
    keep = {w: g.wv.get_vecattr(w, "sample_int") / (2 ** 32 - 1) for w in words}
    np.testing.assert_allclose(tables.keep_prob, [keep[w] for w in words], rtol=1e-6)
    assert tables.keep_prob.min() < 0.5  # frequent words are subsampled: a real comparison
    if negative:
        same_rows(m.syn1neg, words, g.syn1neg, g.wv.index_to_key)
        # the noise distribution of the alias table, against gensim's cumulative table
        g_prob = np.diff(np.concatenate([[0], g.cum_table.astype(np.float64)])) / (2 ** 31 - 1)
        g_prob = dict(zip(g.wv.index_to_key, g_prob))
        np.testing.assert_allclose(sampling.alias_probabilities(tables.noise), [g_prob[w] for w in words],
                                   atol=2e-9)
    else:
        assert m.syn1neg.shape[0] == 0
    if hs:
        assert w2v_tree_by_word(m) == gensim_tree_by_word(g)
        np.testing.assert_array_equal(m.syn1, g.syn1[:-1])  # inner nodes keep their numbers
        # the point of carrying the tree: gensim's and word2vec.c's differ on these counts
        own = huffman.build(m.vocab.counts)
        assert not np.array_equal(own.points, m._huffman_tree().points)
    else:
        assert m.syn1.shape[0] == 0


@pytest.mark.parametrize("hs, negative", [(1, 0), (0, 5), (1, 2)])
def test_round_trips_both_ways(sents, hs, negative):
    m = Word2Vec(sents, hs=hs, negative=negative, **SMALL)
    g = m.to_gensim()
    assert isinstance(g, G) and g.wv.index_to_key == m.wv.index_to_key  # the same rows
    np.testing.assert_array_equal(g.wv.vectors, m.wv.vectors)
    assert [g.wv.get_vecattr(w, "count") for w in g.wv.index_to_key] == m.vocab.counts.tolist()
    if hs:
        assert gensim_tree_by_word(g) == w2v_tree_by_word(m)
        np.testing.assert_array_equal(g.syn1[:-1], m.syn1)
        assert not g.syn1[-1].any() and g.syn1.shape == g.wv.vectors.shape  # gensim's V rows
    if negative:
        np.testing.assert_array_equal(g.syn1neg, m.syn1neg)
        np.testing.assert_array_equal(g.cum_table, m.cum_table)
    assert (g.corpus_count, g.corpus_total_words, g.train_count) == (m.corpus_count, m.corpus_total_words, 1)
    back = Word2Vec.from_gensim(g)
    assert back.settings == m.settings
    assert back.vocab.index_to_key == m.vocab.index_to_key and back.vocab.counts.tolist() == m.vocab.counts.tolist()
    for ours, theirs in ((back.wv.vectors, m.wv.vectors), (back.syn1neg, m.syn1neg), (back.syn1, m.syn1)):
        np.testing.assert_array_equal(ours, theirs)
    if hs:
        assert w2v_tree_by_word(back) == w2v_tree_by_word(m)
    # gensim -> w2v -> gensim: the same model, its rows in w2v's order
    g = G(sents, hs=hs, negative=negative, **SMALL)
    again = Word2Vec.from_gensim(g).to_gensim()
    assert again.wv.index_to_key != g.wv.index_to_key  # equal counts reordered: a real test of the mapping
    if hs:
        assert gensim_tree_by_word(again) == gensim_tree_by_word(g)
        np.testing.assert_array_equal(again.syn1, g.syn1)
    same_rows(again.wv.vectors, again.wv.index_to_key, g.wv.vectors, g.wv.index_to_key)
    if negative:
        same_rows(again.syn1neg, again.wv.index_to_key, g.syn1neg, g.wv.index_to_key)
    for w in g.wv.index_to_key:
        for attr in ("count", "sample_int"):
            assert again.wv.get_vecattr(w, attr) == g.wv.get_vecattr(w, attr), (w, attr)
    assert (again.corpus_count, again.corpus_total_words, again.effective_min_count) == \
        (g.corpus_count, g.corpus_total_words, g.effective_min_count)


def test_to_gensim_computes_gensims_own_tables(sents):
    """sample_int and cum_table as gensim computes them for the same counts (build_vocab_from_freq)."""
    m = Word2Vec(sents, hs=1, negative=5, **dict(SMALL, epochs=1))
    g = m.to_gensim()
    ref = G(hs=1, negative=5, **dict(SMALL, min_count=1))
    ref.build_vocab_from_freq(dict(zip(m.vocab.index_to_key, m.vocab.counts.tolist())))
    for w in m.wv.index_to_key:
        assert g.wv.get_vecattr(w, "sample_int") == ref.wv.get_vecattr(w, "sample_int"), w
    assert sorted(g.cum_table.tolist()) == g.cum_table.tolist()
    assert g.cum_table[-1] == ref.cum_table[-1] == 2 ** 31 - 1


def test_softmax_has_no_gensim_counterpart():
    m = Word2Vec(**dict(SMALL, hs=0, negative=0), softmax=True)
    m.build_vocab_from_freq({"a": 5, "b": 4})
    with pytest.raises(NotImplementedError, match="full softmax"):
        m.to_gensim()
    assert isinstance(m.wv.to_gensim(), GKV)  # its vectors convert


# ---------------------------------------------------------------- a converted model trains on
def deterministic(**kw):
    """Settings under which both libraries make the same updates: hs alone (no negatives drawn),
    window=1 (the reduced window is always 1), no subsampling, a constant learning rate."""
    return dict(SMALL, hs=1, negative=0, window=1, sample=0, **kw)


@pytest.mark.parametrize("start", ["gensim", "w2v"])
@pytest.mark.parametrize("sg", [1, 0])
def test_a_converted_model_makes_the_same_training_step_in_both_libraries(sents, start, sg):
    """One sentence of SGD from the same weights, in gensim and in w2v, moves every input and
    inner-node row the same way (to gensim's tabulated sigmoid): the tree, the rows and their
    words agree. A tree rebuilt from the counts would send the updates to other nodes."""
    if start == "gensim":
        g = G(sents, sg=sg, **deterministic())
        m = Word2Vec.from_gensim(g)
    else:
        m = Word2Vec(sents, sg=sg, batch_window=False, **deterministic())  # gensim's order
        g = m.to_gensim()
    step = [w for s in sents[5:8] for w in s if w in m.wv.key_to_index]
    rows = [m.wv.key_to_index[w] for w in g.wv.index_to_key]
    before_in, before_hs = g.wv.vectors.copy(), g.syn1[:-1].copy()
    np.testing.assert_array_equal(m.wv.vectors[rows], before_in)
    np.testing.assert_array_equal(m.syn1, before_hs)
    lr = 0.05
    g.train([step], total_examples=1, epochs=1, start_alpha=lr, end_alpha=lr)
    m.train([step], epochs=1, start_alpha=lr, end_alpha=lr)
    for ours, theirs, before in ((m.wv.vectors[rows], g.wv.vectors, before_in), (m.syn1, g.syn1[:-1], before_hs)):
        moved = np.linalg.norm(theirs - before)
        assert moved > 0.3  # a real step
        # gensim's sigmoid table is 1000 steps over [-6, 6]: measured 1.3-2% apart
        assert np.linalg.norm((ours - before) - (theirs - before)) < 0.05 * moved


@pytest.mark.parametrize("start", ["gensim", "w2v"])
def test_a_converted_negative_sampling_model_trains_on_where_it_was(sents, start):
    """Negatives are random, so the loss is compared: an epoch after conversion continues the
    converted model's loss curve (within 5% of the unconverted model's next epoch), far below a
    fresh model's first epoch."""
    kw = dict(SMALL, sg=1, hs=0, negative=5, epochs=3)
    if start == "gensim":
        source = G(sents, compute_loss=True, **kw)
        converted = Word2Vec.from_gensim(source)
    else:
        source = Word2Vec(sents, **kw)
        converted = source.to_gensim()
    fresh = Word2Vec(sents, **dict(kw, epochs=1))
    for model in (source, converted):
        model.train(sents, total_examples=len(sents), epochs=1, compute_loss=True)
    source_loss, converted_loss = source.get_latest_training_loss(), converted.get_latest_training_loss()
    assert converted_loss == pytest.approx(source_loss, rel=0.05)
    assert converted_loss < 0.85 * fresh.epoch_stats[0]["loss"]


# ---------------------------------------------------------------- gensim's tree in w2v's files
def test_a_gensim_tree_is_saved_and_loaded(sents, tmp_path):
    m = Word2Vec.from_gensim(G(sents, hs=1, negative=0, **SMALL))
    tree = w2v_tree_by_word(m)
    m.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        assert json.loads(bytes(z["meta"]).decode())["version"] == 2  # older w2v refuses it, naming the version
        arrays = {k: z[k] for k in z.files}
    loaded = Word2Vec.load(tmp_path / "m.npz")
    assert w2v_tree_by_word(loaded) == tree
    np.testing.assert_array_equal(loaded.syn1, m.syn1)
    # a path that leaves the inner nodes is refused before any kernel walks it
    arrays["hs_points"] = arrays["hs_points"].copy()
    arrays["hs_points"][0, 0] = len(m.wv) - 1
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="outside the .* inner nodes"):
        Word2Vec.load(tmp_path / "bad.npz")
    del arrays["hs_codes"]
    np.savez(tmp_path / "bad2.npz", **arrays)
    with pytest.raises(ValueError, match="all of hs_points"):
        Word2Vec.load(tmp_path / "bad2.npz")
    # a model without one still writes version 1
    Word2Vec(sents, hs=1, negative=0, **SMALL).save(tmp_path / "own.npz")
    with np.load(tmp_path / "own.npz") as z:
        assert json.loads(bytes(z["meta"]).decode())["version"] == 1 and "hs_points" not in z.files


def test_online_update_after_from_gensim_carries_the_nodes_of_gensims_tree(sents, demo_sentences):
    """build_vocab(update=True) keeps the vector of each inner node whose split survives, judged
    on the tree the model trained on (gensim's), then trains on w2v's tree of the new counts."""
    g = G(sents, hs=1, negative=0, **SMALL)
    m = Word2Vec.from_gensim(g)
    old_words, old_inner = list(m.wv.index_to_key), m.syn1.copy()
    m.build_vocab_from_freq({}, update=True)  # no count changes, but the tree is rebuilt as w2v builds it
    old_splits = {}
    for w, (codes, points) in gensim_tree_by_word(g).items():
        for code, point in zip(codes, points):
            old_splits.setdefault(point, (set(), set()))[code].add(w)
    by_split = {(frozenset(a), frozenset(b)): n for n, (a, b) in old_splits.items()}
    new_splits = {}
    for w, (codes, points) in w2v_tree_by_word(m).items():
        for code, point in zip(codes, points):
            new_splits.setdefault(point, (set(), set()))[code].add(w)
    carried = 0
    for n, (a, b) in new_splits.items():
        key = (frozenset(a), frozenset(b))
        if key in by_split:
            np.testing.assert_array_equal(m.syn1[n], old_inner[by_split[key]])
            carried += 1
        elif key[::-1] in by_split:
            np.testing.assert_array_equal(m.syn1[n], -old_inner[by_split[key[::-1]]])
            carried += 1
        else:
            assert not m.syn1[n].any()
    # w2v's tree and gensim's split equal counts differently, so few nodes survive (13 of 1,929
    # here), as few as in any update that changes counts; the words' vectors all do
    assert carried >= 5
    assert m._hs_tree is None and m.wv.index_to_key == old_words
    m.build_vocab(demo_sentences[3000:3300], update=True)
    m.train(epochs=1)
    assert np.isfinite(m.epoch_stats[-1]["loss"])
