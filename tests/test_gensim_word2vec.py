"""Word2Vec side by side with gensim 4 (the referee): the same calls give the same vocabulary,
counts and tables exactly, and training results within a loose tolerance."""
import itertools
import logging

import numpy as np
import pytest

import w2v
from w2v import RULE_DEFAULT, RULE_DISCARD, RULE_KEEP, Word2Vec

gensim_models = pytest.importorskip("gensim.models")
gensim_utils = pytest.importorskip("gensim.utils")
G = gensim_models.Word2Vec

SMALL = dict(vector_size=16, min_count=3, workers=1, epochs=2, seed=1)


@pytest.fixture(scope="module")
def sents(demo_sentences):
    return demo_sentences[:4000]


def vocab_of(model) -> dict:
    return {w: model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key}


def same_words_by_count(a, b):
    """The same {word: count}, and both in descending count (ties may be ordered differently:
    w2v breaks them by the word, gensim by first appearance)."""
    assert vocab_of(a) == vocab_of(b)
    for m in (a, b):
        counts = [m.wv.get_vecattr(w, "count") for w in m.wv.index_to_key]
        assert counts == sorted(counts, reverse=True)


# ---------------------------------------------------------------- vocabulary
def test_rule_constants_are_gensims():
    assert (RULE_DEFAULT, RULE_DISCARD, RULE_KEEP) == (gensim_utils.RULE_DEFAULT, gensim_utils.RULE_DISCARD,
                                                      gensim_utils.RULE_KEEP)


@pytest.mark.parametrize("corpus", ["list", "file"])
def test_corpus_count_and_total_words_as_gensims(corpus, sents, tmp_path):
    if corpus == "list":
        given = {"corpus_iterable": sents}
    else:
        path = tmp_path / "c.txt"
        path.write_text("\n".join(" ".join(s) for s in sents) + "\n\n")  # a blank line: not a sentence
        given = {"corpus_file": str(path)}
    ours, theirs = Word2Vec(**SMALL), G(**SMALL)
    ours.build_vocab(**given)
    theirs.build_vocab(**given)
    assert (ours.corpus_count, ours.corpus_total_words) == (theirs.corpus_count, theirs.corpus_total_words)
    assert ours.corpus_total_words == sum(map(len, sents)) > sum(vocab_of(ours).values())
    same_words_by_count(ours, theirs)


def test_raw_vocab_kept_on_request_as_gensims(sents):
    ours, theirs = Word2Vec(**SMALL), G(**SMALL)
    ours.build_vocab(sents, keep_raw_vocab=True)
    theirs.build_vocab(sents, keep_raw_vocab=True)
    assert dict(ours.raw_vocab) == dict(theirs.raw_vocab)
    assert list(ours.raw_vocab) == list(theirs.raw_vocab)  # first appearance
    ours.build_vocab(sents)
    theirs.build_vocab(sents)
    assert dict(ours.raw_vocab) == dict(theirs.raw_vocab) == {}


def rule(word, count, min_count):
    if word.startswith("z") and count < min_count:
        return RULE_KEEP
    if word in ("the", "of", "and") or len(word) > 12:
        return RULE_DISCARD
    return RULE_DEFAULT


@pytest.mark.parametrize("where", ["constructor", "build_vocab"])
def test_trim_rule_keeps_and_discards_as_gensims(where, sents):
    if where == "constructor":
        ours = Word2Vec(sents, **SMALL, trim_rule=rule)
        theirs = G(sents, **SMALL, trim_rule=rule)
    else:
        ours, theirs = Word2Vec(**SMALL), G(**SMALL)
        ours.build_vocab(sents, trim_rule=rule)
        theirs.build_vocab(sents, trim_rule=rule)
    same_words_by_count(ours, theirs)
    words = set(ours.wv.index_to_key)
    assert "the" not in words and any(w.startswith("z") and ours.wv.get_vecattr(w, "count") < 3 for w in words)


def test_trim_rule_is_given_the_min_count_raised_for_max_final_vocab(sents):
    def by_min_count(word, count, min_count):  # keeps words one below the raised threshold
        return RULE_KEEP if count == min_count - 1 else RULE_DEFAULT

    settings = dict(SMALL, max_final_vocab=300)
    ours, theirs = Word2Vec(**settings), G(**settings)
    ours.build_vocab(sents, trim_rule=by_min_count)
    theirs.build_vocab(sents, trim_rule=by_min_count)
    same_words_by_count(ours, theirs)
    assert len(ours.wv) > 300
    assert ours.effective_min_count == theirs.effective_min_count > 3


def test_the_constructors_trim_rule_is_not_kept_for_later_build_vocab(sents):
    ours, theirs = Word2Vec(**SMALL, trim_rule=rule), G(**SMALL, trim_rule=rule)
    ours.build_vocab(sents)
    theirs.build_vocab(sents)
    same_words_by_count(ours, theirs)
    assert "the" in ours.wv


def test_a_trim_rule_that_is_not_callable_is_a_type_error(sents):
    with pytest.raises(TypeError, match="trim_rule"):
        Word2Vec(**SMALL).build_vocab(sents, trim_rule=3)


@pytest.mark.parametrize("keep_raw_vocab", [False, True])
def test_build_vocab_from_freq_as_gensims(keep_raw_vocab, sents):
    freq = {"apple": 10, "banana": 3, "cherry": 2, "date": 7, "egg": 3, "fig": 1, "zebra": 1}
    ours, theirs = Word2Vec(**SMALL), G(**SMALL)
    ours.build_vocab_from_freq(freq, keep_raw_vocab, 42, rule)
    theirs.build_vocab_from_freq(freq, keep_raw_vocab, 42, rule)
    same_words_by_count(ours, theirs)
    assert set(ours.wv.index_to_key) == {"apple", "date", "banana", "egg", "zebra"}
    assert ours.corpus_count == theirs.corpus_count == 42
    # gensim leaves corpus_total_words as it was (0 here); w2v sums the counts
    assert (ours.corpus_total_words, theirs.corpus_total_words) == (sum(freq.values()), 0)
    assert dict(ours.raw_vocab) == dict(theirs.raw_vocab)
    ours.build_vocab_from_freq(freq)
    assert ours.corpus_count == 0
    with pytest.raises(ValueError, match="corpus"):
        ours.train()  # no corpus was read
    ours.train([["apple", "date", "banana"]] * 50)


def test_build_vocab_from_freq_then_train_on_a_corpus(sents):
    counts = {}
    for s in sents:
        for w in s:
            counts[w] = counts.get(w, 0) + 1
    model = Word2Vec(**SMALL)
    model.build_vocab_from_freq(counts, corpus_count=len(sents))
    before = model.wv.vectors.copy()
    model.train(sents, total_examples=model.corpus_count, epochs=model.epochs)
    assert not np.allclose(before, model.wv.vectors)


def test_cum_table_is_gensims(sents):
    ours, theirs = Word2Vec(**SMALL, ns_exponent=0.6), G(**SMALL, ns_exponent=0.6)
    ours.build_vocab(sents)
    theirs.build_vocab(sents)
    assert ours.cum_table.dtype == theirs.cum_table.dtype
    assert np.array_equal(ours.cum_table, theirs.cum_table)
    assert Word2Vec(**SMALL, negative=0, hs=1).cum_table.size == 0


# ---------------------------------------------------------------- training
class Losses:
    """gensim's documented idiom: get_latest_training_loss() at each epoch's end."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, model):
        self.seen.append(model.get_latest_training_loss())

    def on_epoch_begin(self, model):
        pass

    def on_train_begin(self, model):
        pass

    def on_train_end(self, model):
        pass


@pytest.mark.parametrize("sg, hs, negative", [(1, 0, 5), (0, 0, 5), (1, 1, 0), (0, 1, 0)])
def test_loss_is_summed_over_the_call_as_gensims(sg, hs, negative, sents):
    settings = dict(SMALL, sg=sg, hs=hs, negative=negative, epochs=3)
    ours, theirs = Losses(), Losses()
    m = Word2Vec(sents, **settings, callbacks=[ours])
    g = G(sents, **settings, compute_loss=True, callbacks=[theirs])
    assert ours.seen == list(itertools.accumulate(e["loss"] for e in m.epoch_stats))
    assert m.running_training_loss == m.get_latest_training_loss() == ours.seen[-1]
    # the same sums, loosely: gensim skips pairs with |score| >= 6 and adds in float32
    assert np.allclose(ours.seen, theirs.seen, rtol=0.1)  # measured: within 2.5%
    first_call = ours.seen[-1]
    # a new call starts from 0 again
    m.train(sents, total_examples=m.corpus_count, epochs=1)
    g.train(sents, total_examples=g.corpus_count, epochs=1, compute_loss=True)
    assert m.get_latest_training_loss() == m.epoch_stats[-1]["loss"]
    assert np.isclose(m.get_latest_training_loss(), g.get_latest_training_loss(), rtol=0.1)
    assert m.get_latest_training_loss() < first_call / 2


def test_a_callback_that_resets_the_running_loss_reads_each_epochs_loss(sents):
    class PerEpoch:  # a common gensim callback: read the loss, then set it back to 0
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, model):
            self.seen.append(model.get_latest_training_loss())
            model.running_training_loss = 0.0

    cb = PerEpoch()
    m = Word2Vec(sents, **dict(SMALL, epochs=3), callbacks=[cb])
    assert cb.seen == [e["loss"] for e in m.epoch_stats]


def test_train_count_total_train_time_and_compute_loss_as_gensims(sents):
    m, g = Word2Vec(sents, **SMALL, compute_loss=True), G(sents, **SMALL, compute_loss=True)
    assert (m.train_count, m.compute_loss) == (g.train_count, g.compute_loss) == (1, True)
    m.train(sents, total_examples=m.corpus_count, epochs=1)
    g.train(sents, total_examples=g.corpus_count, epochs=1)
    assert (m.train_count, m.compute_loss) == (g.train_count, g.compute_loss) == (2, False)
    assert m.total_train_time == pytest.approx(sum(e["seconds"] for e in m.epoch_stats))
    assert m.total_train_time > 0


def test_gensims_tutorial_training_idioms(sents, tmp_path, caplog):
    path = tmp_path / "c.txt"
    path.write_text("\n".join(" ".join(s) for s in sents) + "\n")
    m, g = Word2Vec(**SMALL), G(**SMALL)
    for model in (m, g):
        model.build_vocab(sents)
    with caplog.at_level(logging.WARNING, logger="w2v"):
        ours = m.train(sents, total_examples=m.corpus_count, epochs=m.epochs)
        ours_file = m.train(corpus_file=str(path), total_words=m.corpus_total_words, epochs=m.epochs)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    theirs = g.train(sents, total_examples=g.corpus_count, epochs=g.epochs)
    # (effective, raw): raw counts in-vocabulary tokens in w2v, every token in gensim
    assert ours[1] == 2 * sum(vocab_of(m).values()) and theirs[1] == 2 * g.corpus_total_words
    assert ours[0] == pytest.approx(theirs[0], rel=0.03)
    assert ours_file[1] == ours[1]


def test_a_total_that_differs_from_the_corpus_is_logged_and_a_bad_one_refused(sents, caplog):
    m = Word2Vec(**SMALL)
    m.build_vocab(sents)
    with caplog.at_level(logging.WARNING, logger="w2v"):
        m.train(sents, total_examples=m.corpus_count + 1, epochs=1)
    assert "total_examples" in caplog.text and str(m.corpus_count) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="w2v"):
        m.train(sents[:100], total_words=m.corpus_total_words, epochs=1)
    assert "total_words" in caplog.text
    for bad in (dict(total_examples=-1), dict(total_words=2.5), dict(total_examples=True)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            m.train(sents, epochs=1, **bad)


# ---------------------------------------------------------------- queries on the same weights
def twin(model, settings):
    """A gensim model with the vocabulary and the weights of `model` (rows in gensim's order)."""
    g = G(**settings)
    g.build_vocab_from_freq({w: model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key})
    rows = [model.wv.key_to_index[w] for w in g.wv.index_to_key]
    g.wv.vectors[:] = model.wv.vectors[rows]
    if len(model.syn1neg):
        g.syn1neg[:] = model.syn1neg[rows]
    return g


@pytest.mark.parametrize("cbow_mean", [1, 0])
def test_predict_output_word_as_gensims_on_the_same_weights(cbow_mean, sents):
    settings = dict(SMALL, cbow_mean=cbow_mean)
    m = Word2Vec(sents, **settings)
    g = twin(m, settings)
    for context in (["the", "king"], ["of", "war", "unknownword"], ["city"]):
        ours, theirs = m.predict_output_word(context, topn=10), g.predict_output_word(context, topn=10)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        assert np.allclose([p for _, p in ours], [p for _, p in theirs], rtol=1e-4)
    assert m.predict_output_word(["nosuchword"]) is None and g.predict_output_word(["nosuchword"]) is None
    assert len(m.predict_output_word(["the"], topn=3)) == 3


def test_predict_output_word_needs_negative_sampling_as_gensims(sents):
    settings = dict(SMALL, hs=1, negative=0)
    with pytest.raises(RuntimeError):
        G(sents, **settings).predict_output_word(["the"])
    with pytest.raises(RuntimeError, match="negative"):
        Word2Vec(sents, **settings).predict_output_word(["the"])


@pytest.mark.parametrize("hs, negative", [(0, 5), (1, 0), (1, 5)])
def test_estimate_memory_has_gensims_keys(hs, negative, sents):
    settings = dict(SMALL, hs=hs, negative=negative)
    m, g = Word2Vec(**settings), G(**settings)
    m.build_vocab(sents)
    g.build_vocab(sents)
    ours, theirs = m.estimate_memory(), g.estimate_memory()
    assert list(ours) == list(theirs)
    assert ours["vectors"] == theirs["vectors"] == m.wv.vectors.nbytes
    assert ours.get("syn1neg") == theirs.get("syn1neg")
    if hs:
        assert ours["syn1"] == m.syn1.nbytes == theirs["syn1"] - 16 * 4  # w2v: V - 1 inner nodes
    assert ours["total"] == sum(v for k, v in ours.items() if k != "total")
    assert list(m.estimate_memory(vocab_size=1000, report={"x": 1})) == \
        list(g.estimate_memory(vocab_size=1000, report={"x": 1}))
    assert m.estimate_memory(vocab_size=1000)["vectors"] == 1000 * 16 * 4


@pytest.mark.parametrize("sg, cbow_mean", [(1, 1), (0, 1), (0, 0)])
def test_score_as_gensims_on_the_same_weights(sents, sg, cbow_mean):
    """The same weights and tree (Word2Vec.from_gensim), the same sentences: gensim's scores to its
    1000-step table of log sigma, which reads 1.5-2% low (measured); w2v's log sigma is exact."""
    g = G(sents, hs=1, negative=0, sg=sg, cbow_mean=cbow_mean, **dict(SMALL, epochs=3))
    m = Word2Vec.from_gensim(g)
    test = sents[:300] + [[], ["zzz"], ["the"], ["the", "zzz", "of"], sents[0] * 3]
    ours, theirs = m.score(test, total_sentences=len(test) - 2), g.score(test, total_sentences=len(test) - 2)
    assert ours.dtype == theirs.dtype == np.float32 and len(ours) == len(theirs) == len(test) - 2
    assert ours[300] == theirs[300] == ours[301] == 0.0  # no word, or no known word: log 1
    np.testing.assert_allclose(ours, theirs, rtol=0.03, atol=0.1)
    assert (ours >= theirs - 0.1).all()  # gensim's table rounds down
    assert m.score(iter(test[:5])).tolist() == ours[:5].tolist()  # any iterable; nothing trained by scoring
    with pytest.raises(TypeError, match="list of string tokens"):
        m.score(["a sentence as a str"])


def test_score_needs_hs_and_a_vocabulary_as_gensims(sents):
    for model in (Word2Vec(**SMALL), G(**SMALL)):
        with pytest.raises(RuntimeError, match="vocabulary"):
            model.score(sents[:3])
    for model in (Word2Vec(sents[:500], **dict(SMALL, hs=0)), G(sents[:500], **dict(SMALL, hs=0))):
        with pytest.raises(RuntimeError, match="hierarchical softmax"):
            model.score(sents[:3])


def test_save_and_load_with_gensims_signatures(sents, tmp_path):
    m = Word2Vec(sents, **SMALL)
    path = str(tmp_path / "m.model")
    m.save(path, separately=None, sep_limit=1024, ignore=frozenset(), pickle_protocol=4)
    loaded = Word2Vec.load(path)
    mapped = Word2Vec.load(path, mmap="r")
    for other in (loaded, mapped):
        assert np.array_equal(other.wv.vectors, m.wv.vectors) and np.array_equal(other.syn1neg, m.syn1neg)
        assert (other.corpus_count, other.corpus_total_words, other.train_count) == \
            (m.corpus_count, m.corpus_total_words, m.train_count)
        assert other.get_latest_training_loss() == m.get_latest_training_loss()
    assert isinstance(mapped.wv.vectors, np.memmap) and not mapped.wv.vectors.flags.writeable
    assert mapped.wv.most_similar("king", topn=3) == loaded.wv.most_similar("king", topn=3)
    with pytest.raises(ValueError, match="mmap"):
        Word2Vec.load(path, mmap="r+")


def test_rules_are_importable_from_w2v():
    assert {"RULE_DEFAULT", "RULE_DISCARD", "RULE_KEEP"} <= set(w2v.__all__)


def test_gensims_constant_and_recorded_attributes(sents):
    kw = dict(SMALL, batch_words=500, comment="hello")
    m, g = Word2Vec(sents, **kw), G(sents, **kw)
    for name in ("layer1_size", "null_word", "sorted_vocab", "shrink_windows", "batch_words", "comment",
                 "hashfxn", "window", "sg", "hs", "negative", "alpha", "min_alpha", "epochs", "sample"):
        assert getattr(m, name) == getattr(g, name), name
    assert m.min_alpha_yet_reached == m.min_alpha  # gensim: the rate of its last job, a little above


def test_reset_from_and_init_weights(sents):
    a = Word2Vec(sents, **SMALL)
    b = Word2Vec(**SMALL)
    b.reset_from(a)
    fresh = Word2Vec(**SMALL)
    fresh.build_vocab(sents)
    assert b.wv.index_to_key == a.wv.index_to_key and (b.corpus_count, b.corpus_total_words) == \
        (a.corpus_count, a.corpus_total_words)
    assert np.array_equal(b.wv.vectors, fresh.wv.vectors) and not b.syn1neg.any()
    b.train(sents, total_examples=b.corpus_count, epochs=1)
    a.init_weights()
    assert np.array_equal(a.wv.vectors, fresh.wv.vectors) and not a.syn1neg.any()
    a.train()  # the corpus build_vocab read is kept


# ---------------------------------------------------------------- online training
@pytest.mark.parametrize("hs, negative", [(0, 5), (1, 0)])
def test_online_update_grows_the_vocabulary_as_gensims_and_keeps_trained_rows(hs, negative, demo_sentences):
    first, more = demo_sentences[:4000], demo_sentences[4000:8000]
    settings = dict(SMALL, hs=hs, negative=negative)
    m, g = Word2Vec(first, **settings), G(first, **settings, compute_loss=True)
    trained = {w: (m.wv[w].copy(), m.syn1neg[i].copy() if negative else None)
               for i, w in enumerate(m.wv.index_to_key)}
    m.build_vocab(more, update=True)
    g.build_vocab(more, update=True)
    assert vocab_of(m) == vocab_of(g)  # old words' counts grow by their new counts, whatever those are
    assert (m.corpus_count, m.corpus_total_words) == (g.corpus_count, g.corpus_total_words)
    counts = [m.wv.get_vecattr(w, "count") for w in m.wv.index_to_key]
    assert counts == sorted(counts, reverse=True)
    new = [w for w in m.wv.index_to_key if w not in trained]
    assert len(new) > 500
    for w, (row, out) in trained.items():
        assert np.array_equal(m.wv[w], row)
        if negative:
            assert np.array_equal(m.syn1neg[m.wv.key_to_index[w]], out)
    new_rows = np.array([m.wv.key_to_index[w] for w in new])
    assert (np.abs(m.wv.vectors[new_rows]) <= 0.5 / 16).all() and m.wv.vectors[new_rows].std() > 0.1 / 16
    if negative:
        assert not m.syn1neg[new_rows].any()
    before = m.wv.vectors[new_rows].copy()
    m.train(more, total_examples=m.corpus_count, epochs=m.epochs)
    g.train(more, total_examples=g.corpus_count, epochs=g.epochs, compute_loss=True)
    assert np.abs(m.wv.vectors[new_rows] - before).mean() > np.abs(before).mean()  # new words trained
    # measured within 3% of gensim's
    assert np.isclose(m.get_latest_training_loss(), g.get_latest_training_loss(), rtol=0.1)


def words_below(tree, n_words):
    """{inner node: (frozenset of words below branch 0, below branch 1)}, from the codes."""
    sides = {}
    for w in range(n_words):
        for k in range(tree.lengths[w]):
            sides.setdefault(int(tree.points[w, k]), (set(), set()))[int(tree.codes[w, k])].add(w)
    return {n: (frozenset(a), frozenset(b)) for n, (a, b) in sides.items()}


def test_online_update_with_hs_keeps_the_inner_vectors_of_unchanged_splits(demo_sentences):
    from w2v import huffman
    first, more = demo_sentences[:4000], demo_sentences[4000:4400]
    m = Word2Vec(first, **dict(SMALL, hs=1, negative=0))
    old_words, old_inner = list(m.wv.index_to_key), m.syn1.copy()
    old_sides = words_below(huffman.build(m.vocab.counts), len(old_words))
    m.build_vocab_from_freq({}, update=True)  # no count changes: the same tree, every row kept
    assert np.array_equal(m.syn1, old_inner)
    m.build_vocab(more, update=True)
    index = m.wv.key_to_index
    by_split = {tuple(frozenset(old_words[w] for w in side) for side in sides): n for n, sides in old_sides.items()}
    carried = 0
    for n, sides in words_below(huffman.build(m.vocab.counts), len(m.wv)).items():
        named = tuple(frozenset(m.wv.index_to_key[w] for w in side) for side in sides)
        if named in by_split:
            assert np.array_equal(m.syn1[n], old_inner[by_split[named]])
            carried += 1
        elif named[::-1] in by_split:
            assert np.array_equal(m.syn1[n], -old_inner[by_split[named[::-1]]])
            carried += 1
        else:
            assert not m.syn1[n].any()
    assert carried > 20 and len(index) > len(old_words)
    _, raw = m.train(epochs=1)  # no corpus: the one the update read
    assert raw == sum(1 for s in more for w in s if w in index)
    assert m.syn1.any(axis=1).mean() > 0.5  # training reaches the rebuilt tree's nodes


def test_online_update_needs_a_vocabulary_first(sents):
    with pytest.raises(RuntimeError, match="build_vocab"):
        Word2Vec(**SMALL).build_vocab(sents, update=True)
    with pytest.raises(RuntimeError):
        G(**SMALL).build_vocab(sents, update=True)


def test_online_update_with_hs_negates_an_inner_vector_whose_branches_swap():
    # a=10, b=4, c=3: the node {c | b} under the root {node | a}. c gaining 2 makes the node
    # {b | c}: the same split with the branches swapped, so its classifier flips sign
    m = Word2Vec(**dict(SMALL, min_count=1, hs=1, negative=0))
    m.build_vocab_from_freq({"a": 10, "b": 4, "c": 3})
    m.syn1[:] = np.random.default_rng(0).normal(size=m.syn1.shape)
    before = m.syn1.copy()
    m.build_vocab_from_freq({"c": 2}, update=True)
    assert m.wv.index_to_key == ["a", "c", "b"]
    assert np.array_equal(m.syn1[0], -before[0]) and np.array_equal(m.syn1[1], before[1])
