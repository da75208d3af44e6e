import numpy as np
import pytest

from conftest import cooccurrence_agreement
from w2v import Word2Vec

CONFIGS = {
    "sg-ns": dict(sg=1, hs=0, negative=5),
    "cbow-ns": dict(sg=0, hs=0, negative=5),
    "sg-hs": dict(sg=1, hs=1, negative=0),
    "cbow-hs": dict(sg=0, hs=1, negative=0),
    "sg-hs-ns": dict(sg=1, hs=1, negative=3),
    "cbow-sum-ns": dict(sg=0, hs=0, negative=5, cbow_mean=0, alpha=0.01),
    "sg-ns-window": dict(sg=1, hs=0, negative=5, batch_window=True),
    "sg-hs-window": dict(sg=1, hs=1, negative=0, batch_window=True),
}
# untrained vectors score about 0 (checked below); the sum of context vectors learns less in 3
# epochs (0.37-0.47 over seeds 1-5, where the others score 0.55-0.7)
THRESHOLD = {"cbow-sum-ns": 0.3}


@pytest.mark.parametrize("name", CONFIGS)
def test_every_model_and_objective_learns_far_above_chance(name, demo_sentences):
    kw = dict(CONFIGS[name])
    kw.setdefault("alpha", 0.025 if kw["sg"] else 0.05)
    model = Word2Vec(demo_sentences, vector_size=50, min_count=3, workers=2, epochs=3, **kw)
    untrained = Word2Vec(vector_size=50, min_count=3)
    untrained.build_vocab(demo_sentences)
    assert abs(cooccurrence_agreement(untrained.wv, demo_sentences)) < 0.1
    assert cooccurrence_agreement(model.wv, demo_sentences) > THRESHOLD.get(name, 0.4)
    losses = [e["loss"] / e["predictions"] for e in model.epoch_stats]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("workers", [1, 2])
def test_every_epoch_trains_the_whole_corpus(workers, shuffle, demo_file):
    model = Word2Vec(corpus_file=demo_file, vector_size=20, min_count=5, workers=workers, epochs=4,
                     sg=1, negative=2, sample=1e-3, shuffle=shuffle)
    in_vocab = sum(1 for line in open(demo_file) for w in line.split() if w in model.wv)
    assert len(model.epoch_stats) == 4
    for e in model.epoch_stats:
        assert e["raw_words"] == in_vocab
        assert 0 < e["effective_words"] < in_vocab  # subsampling dropped some, not all
        assert e["seconds"] > 0 and np.isfinite(e["loss"])
    # each epoch draws its own subsample
    assert len({e["effective_words"] for e in model.epoch_stats}) > 1


def test_one_worker_with_a_seed_is_bit_identical(demo_sentences):
    runs = [Word2Vec(demo_sentences[:3000], vector_size=16, min_count=2, workers=1, seed=7, epochs=2,
                     sg=1, hs=1, negative=2) for _ in range(2)]
    assert np.array_equal(runs[0].wv.vectors, runs[1].wv.vectors)
    assert np.array_equal(runs[0].syn1neg, runs[1].syn1neg)
    other = Word2Vec(demo_sentences[:3000], vector_size=16, min_count=2, workers=1, seed=8, epochs=2,
                     sg=1, hs=1, negative=2)
    assert not np.array_equal(runs[0].wv.vectors, other.wv.vectors)


def test_initialisation_is_uniform_small_and_outputs_zero(demo_sentences):
    m = Word2Vec(vector_size=40, min_count=2, hs=1, negative=5)
    m.build_vocab(demo_sentences[:2000])
    v = m.wv.vectors
    assert v.dtype == np.float32 and np.abs(v).max() <= 0.5 / 40 and np.abs(v).max() > 0.45 / 40
    assert not m.syn1neg.any() and not m.syn1.any()
    assert m.syn1.shape == (len(m.wv) - 1, 40)


def test_build_vocab_then_train_gensim_style(demo_sentences):
    m = Word2Vec(vector_size=16, min_count=3, epochs=1, workers=2)
    m.build_vocab(demo_sentences[:5000])
    eff, raw = m.train(demo_sentences[:5000], total_examples=5000, epochs=2)  # gensim's order
    assert len(m.epoch_stats) == 2 and raw == 2 * m.epoch_stats[0]["raw_words"]
    assert m.window == 5 and m.vector_size == 16 and m.sg == 0
    assert m.get_latest_training_loss() == m.epoch_stats[-2]["loss"] + m.epoch_stats[-1]["loss"]  # this call's
    # a generator works too: the corpus is read once
    g = Word2Vec((s for s in demo_sentences[:2000]), vector_size=8, min_count=2, epochs=2)
    assert len(g.epoch_stats) == 2


def test_callbacks_are_called():
    calls = []

    class CB:
        def on_epoch_begin(self, model):
            calls.append("begin")

        def on_epoch_end(self, model):
            calls.append("end")

    Word2Vec([["a", "b", "c"]] * 50, min_count=1, vector_size=4, epochs=2, callbacks=[CB()])
    assert calls == ["begin", "end", "begin", "end"]


def test_save_load_round_trip(tmp_path, demo_sentences):
    m = Word2Vec(demo_sentences[:3000], vector_size=12, min_count=2, hs=1, negative=2, epochs=1)
    m.save(tmp_path / "m.w2v")
    m2 = Word2Vec.load(tmp_path / "m.w2v")
    assert m2.wv.index_to_key == m.wv.index_to_key
    assert np.array_equal(m2.wv.vectors, m.wv.vectors)
    assert np.array_equal(m2.syn1, m.syn1) and np.array_equal(m2.syn1neg, m.syn1neg)
    assert m2.settings == m.settings and m2.epoch_stats == m.epoch_stats
    m2.train(demo_sentences[:3000], epochs=1)  # a loaded model trains on
    assert [p.name for p in tmp_path.iterdir()] == ["m.w2v"]  # no temp files left
    (tmp_path / "junk.w2v").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ValueError, match="junk.w2v"):
        Word2Vec.load(tmp_path / "junk.w2v")


def test_skip_gram_trains_windows_as_minibatches_by_default():
    from w2v.config import Settings
    assert Word2Vec(sg=1).settings.batch_window is True
    assert Word2Vec(sg=1, hs=1, negative=0).settings.batch_window is True
    assert Word2Vec(sg=0).settings.batch_window is False  # CBOW has one prediction per window already
    assert Word2Vec(sg=1, softmax=True, hs=0, negative=0).settings.batch_window is False
    assert Word2Vec(sg=1, batch_window=False).settings.batch_window is False  # word2vec.c's order
    # settings saved before the default changed have no such key: they load as they trained
    saved = {k: v for k, v in Word2Vec(sg=1).settings.to_dict().items() if k != "batch_window"}
    assert Settings.from_dict(saved).batch_window is False


@pytest.mark.parametrize("kw, msg", [
    (dict(vector_size=0), "vector_size must be >= 1"),
    (dict(vector_size=-3), "vector_size must be >= 1"),
    (dict(window=0), "window must be >= 1"),
    (dict(hs=0, negative=0), "no objective"),
    (dict(negative=-1), "negative must be >= 0"),
    (dict(alpha=0), "alpha must be > 0"),
    (dict(sample=-1), "sample must be >= 0"),
    (dict(epochs=0), "epochs must be >= 1"),
    (dict(workers=0), "workers must be >= 1"),
    (dict(sg=2), "sg must be"),
    (dict(min_alpha=1.0), "min_alpha"),
    (dict(softmax=True), "softmax=True"),
    (dict(softmax=True, hs=0, negative=0, batch_window=True), "batch_window"),
    (dict(vector_size=2.5), "vector_size must be an integer"),
])
def test_bad_hyperparameters_raise_clear_errors(kw, msg):
    with pytest.raises(ValueError, match=msg):
        Word2Vec(**kw)


def test_bad_corpora_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        Word2Vec(corpus_file=tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty corpus"):
        Word2Vec(corpus_file=tmp_path / "empty.txt")
    (tmp_path / "rare.txt").write_text("every word here is unique\n")
    with pytest.raises(ValueError, match="min_count=5"):
        Word2Vec(corpus_file=tmp_path / "rare.txt")
    with pytest.raises(ValueError, match="build_vocab"):
        Word2Vec().train([["a"]])


def test_full_softmax_model_on_the_2000_most_frequent_words(demo_sentences):
    sents = demo_sentences[:10_000]
    kw = dict(vector_size=32, min_count=1, max_final_vocab=2000, hs=0, negative=0, softmax=True, sg=0)
    model = Word2Vec(sents, workers=2, epochs=2, alpha=0.05, **kw)
    untrained = Word2Vec(**kw)
    untrained.build_vocab(sents)
    assert 1500 <= len(model.wv) <= 2000 and model.syn1neg.shape == (len(model.wv), 32)
    trained_score = cooccurrence_agreement(model.wv, sents)
    assert trained_score > 0.25 and trained_score > cooccurrence_agreement(untrained.wv, sents) + 0.2
    losses = [e["loss"] / e["predictions"] for e in model.epoch_stats]
    assert losses[0] < np.log(len(model.wv))  # better than the uniform guess from the first epoch
    assert losses[1] < losses[0]
