"""Phrases as a gensim drop-in: each public name of gensim.models.phrases called on w2v and on
gensim 4 (the referee) with the same corpus and arguments; counts, phrases and the rewritten
sentences compared exactly, scores to the last bits of float64."""
import inspect

import pytest

from w2v import phrases as ours_module
from w2v.phrases import ENGLISH_CONNECTOR_WORDS, FrozenPhrases, Phraser, Phrases

gp = pytest.importorskip("gensim.models.phrases")

REL = 1e-12


@pytest.fixture(scope="module")
def sents():
    from conftest import demo_lines
    return [line.split() for line in demo_lines(8000)]


def same_analysis(ours, theirs):
    ours, theirs = list(ours), list(theirs)
    assert [t for t, _ in ours] == [t for t, _ in theirs]
    for (_, a), (_, b) in zip(ours, theirs):
        assert (a is None and b is None) or a == pytest.approx(b, rel=REL)


def same_scores(ours: dict, theirs: dict):
    assert set(ours) == set(theirs)
    for k, v in theirs.items():
        assert ours[k] == pytest.approx(v, rel=REL), k


def test_signatures_defaults_and_constants_are_gensims():
    for name in ("Phrases", "FrozenPhrases", "original_scorer", "npmi_scorer"):
        ours, theirs = inspect.signature(getattr(ours_module, name)), inspect.signature(getattr(gp, name))
        # w2v's FrozenPhrases also takes w2v's own form after gensim's one argument
        assert list(ours.parameters)[:len(theirs.parameters)] == list(theirs.parameters), name
        for p, q in zip(ours.parameters.values(), theirs.parameters.values()):
            assert p.default == q.default, (name, p.name)
    assert ENGLISH_CONNECTOR_WORDS == gp.ENGLISH_CONNECTOR_WORDS
    assert ours_module.NEGATIVE_INFINITY == gp.NEGATIVE_INFINITY == float("-inf")
    assert Phraser is FrozenPhrases and gp.Phraser is gp.FrozenPhrases


@pytest.mark.parametrize("args", [(3, 5, 2, 100, 1, 50), (0, 5, 2, 100, 1, 50), (4, 4, 3, 10, 2, 5),
                                  (4, 4, 4, 10, 5, 4), (10, 20, 3, 7, 3, 1000)])
def test_scalar_scorers_are_gensims(args):
    def outcome(fn):
        try:
            return fn(*args)
        except ArithmeticError as e:  # gensim's npmi_scorer divides by 0 for a count of 0: w2v's does too
            return type(e)
    for name in ("original_scorer", "npmi_scorer"):
        assert outcome(getattr(ours_module, name)) == outcome(getattr(gp, name)), (name, args)


@pytest.mark.parametrize("kw", [
    dict(min_count=5, threshold=10.0),  # gensim's defaults
    dict(min_count=3, threshold=2.0, connector_words=ENGLISH_CONNECTOR_WORDS),
    dict(min_count=5, threshold=0.3, scoring="npmi"),
    dict(min_count=4, threshold=0.2, scoring="npmi", connector_words=ENGLISH_CONNECTOR_WORDS, delimiter="+"),
])
def test_counts_phrases_and_scores_are_gensims(sents, kw):
    ours, theirs = Phrases(sents, **kw), gp.Phrases(sents, **kw)
    assert ours.vocab == theirs.vocab
    assert ours.corpus_word_count == theirs.corpus_word_count
    for name in ("min_count", "threshold", "delimiter", "max_vocab_size", "progress_per", "min_reduce",
                 "connector_words"):
        assert getattr(ours, name) == getattr(theirs, name), name
    exported = ours.export_phrases()
    assert len(exported) > 30
    same_scores(exported, theirs.export_phrases())
    same_scores(ours.find_phrases(sents[:2000]), theirs.find_phrases(sents[:2000]))
    for s in sents[:2000]:
        same_analysis(ours.analyze_sentence(s), theirs.analyze_sentence(s))
        assert ours[s] == theirs[s]
    frozen, g_frozen = ours.freeze(), theirs.freeze()
    same_scores(frozen.phrasegrams, g_frozen.phrasegrams)
    for name in ("min_count", "threshold", "delimiter", "connector_words"):
        assert getattr(frozen, name) == getattr(g_frozen, name), name
    assert [frozen[s] for s in sents[:2000]] == [g_frozen[s] for s in sents[:2000]]
    assert isinstance(FrozenPhrases(ours), FrozenPhrases) and Phraser(ours).phrasegrams == frozen.phrasegrams


def test_score_candidate_is_gensims(sents):
    kw = dict(min_count=3, threshold=2.0, connector_words=ENGLISH_CONNECTOR_WORDS)
    ours, theirs = Phrases(sents, **kw), gp.Phrases(sents, **kw)
    found = [k.split("_") for k in theirs.export_phrases()][:20]
    candidates = [(p[0], p[-1], p[1:-1]) for p in found] + [("of", "the", []), ("zzz", "the", []),
                                                            ("the", "same", ["of"]), (found[0][0], found[0][-1], [])]
    for model, g_model in ((ours, theirs), (ours.freeze(), theirs.freeze())):
        for a, b, between in candidates:
            same_analysis([model.score_candidate(a, b, between)], [g_model.score_candidate(a, b, between)])


def test_a_corpus_and_a_sentence_are_told_apart_as_gensim(sents):
    kw = dict(min_count=3, threshold=2.0)
    ours, theirs = Phrases(sents, **kw), gp.Phrases(sents, **kw)
    corpus = sents[:50] + [[]] + sents[50:60]  # an empty sentence stays one
    for model, g_model in ((ours, theirs), (ours.freeze(), theirs.freeze())):
        stream = model[corpus]
        assert list(stream) == list(g_model[corpus]) == list(stream)  # a list: restartable
        assert list(model[iter(corpus)]) == list(g_model[iter(corpus)])  # a generator: a corpus too
        assert model[[]] == g_model[[]] == []
        assert model[iter(sents[3])] == g_model[iter(sents[3])]  # an iterator of words: a sentence
        assert model[tuple(sents[3])] == g_model[tuple(sents[3])]


def test_add_vocab_counts_on_as_gensim(sents):
    ours, theirs = Phrases(sents[:3000], min_count=3, threshold=2.0), gp.Phrases(sents[:3000], min_count=3,
                                                                                   threshold=2.0)
    same_scores(ours.export_phrases(), theirs.export_phrases())
    ours.add_vocab(sents[3000:])
    theirs.add_vocab(sents[3000:])
    assert ours.vocab == theirs.vocab and ours.corpus_word_count == theirs.corpus_word_count
    same_scores(ours.export_phrases(), theirs.export_phrases())
    empty, g_empty = Phrases(min_count=3, threshold=2.0), gp.Phrases(min_count=3, threshold=2.0)
    assert empty.vocab == g_empty.vocab == {} and empty.export_phrases() == g_empty.export_phrases() == {}
    empty.add_vocab(sents)
    g_empty.add_vocab(sents)
    same_scores(empty.export_phrases(), g_empty.export_phrases())


def test_settings_changed_after_training_apply_as_in_gensim(sents):
    ours, theirs = Phrases(sents, min_count=3, threshold=2.0), gp.Phrases(sents, min_count=3, threshold=2.0)
    frozen, g_frozen = ours.freeze(), theirs.freeze()
    before = len(ours.export_phrases())
    for model, g_model in ((ours, theirs), (frozen, g_frozen)):
        model.threshold = g_model.threshold = 20.0
    assert len(ours.export_phrases()) < before
    same_scores(ours.export_phrases(), theirs.export_phrases())
    assert [frozen[s] for s in sents[:500]] == [g_frozen[s] for s in sents[:500]]
    ours.min_count = theirs.min_count = 10
    same_scores(ours.export_phrases(), theirs.export_phrases())


def counting_scorer(worda_count, wordb_count, bigram_count, len_vocab, min_count, corpus_word_count):
    return bigram_count / (worda_count + wordb_count) * min_count + len_vocab / corpus_word_count


def test_callable_scorers_get_gensims_arguments(sents):
    for scoring in (counting_scorer, gp.original_scorer, ours_module.npmi_scorer):
        threshold = 0.3 if scoring is ours_module.npmi_scorer else 2.0
        ours = Phrases(sents, min_count=3, threshold=threshold, scoring=scoring)
        theirs = gp.Phrases(sents, min_count=3, threshold=threshold, scoring=scoring)
        same_scores(ours.export_phrases(), theirs.export_phrases())


@pytest.mark.parametrize("kw", [dict(min_count=0), dict(threshold=0.0), dict(threshold=-1.0),
                                dict(scoring="npmi", threshold=1.5), dict(scoring="bogus"),
                                dict(scoring=lambda a, b: 1.0)])
def test_bad_settings_are_valueerrors_in_both(kw):
    with pytest.raises(ValueError):
        gp.Phrases(**kw)
    with pytest.raises(ValueError):
        Phrases(**kw)


def test_vocab_joins_keys_as_gensim_does():
    """gensim keys a bigram by its joined string, so a token that contains the delimiter shares its
    entry: vocab shows the same sums (w2v's scores keep the two apart: docs/migrating-from-gensim.md)."""
    sents = [["new", "york", "new_york", "of", "new_york"]] * 3
    for kw in (dict(), dict(connector_words=["of"])):
        assert Phrases(sents, **kw).vocab == gp.Phrases(sents, **kw).vocab
