"""Word2Vec's API between calls: no keyword is swallowed, and train() never trains on a stale corpus."""
import inspect
import os

import numpy as np
import pytest

import w2v.model
from w2v import Word2Vec

# read with getattr so that this file runs, and fails where it should, against a w2v without them
GENSIM_KEYWORDS = getattr(w2v.model, "GENSIM_KEYWORDS", {})
IGNORED = getattr(w2v.model, "IGNORED", "ignored")

SMALL = dict(vector_size=8, min_count=2, workers=1, epochs=1)


def in_vocab_tokens(model, sentences) -> int:
    return sum(1 for s in sentences for w in s if w in model.wv)


def trained_words(model, **corpus) -> int:
    model.train(**corpus, epochs=1)
    return model.epoch_stats[-1]["raw_words"]


@pytest.fixture
def count_scans(monkeypatch):
    """The number of times the model reads a corpus (w2v.model.scan calls)."""
    calls = []
    real = w2v.model.scan

    def scan(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(w2v.model, "scan", scan)
    return calls


# ---------------------------------------------------------------- no silent keywords
@pytest.mark.parametrize("call, name", [
    (lambda m, s: m.build_vocab(s, trim_rulez=1), "trim_rulez"),
    (lambda m, s: m.build_vocab(s, updates=True), "updates"),
    (lambda m, s: m.train(s, epoch=2), "epoch"),
    (lambda m, s: m.train(s, start_lr=0.1), "start_lr"),
    (lambda m, s: Word2Vec(s, min_cout=1), "min_cout"),
])
def test_an_unknown_keyword_raises_type_error_naming_it(call, name, demo_sentences):
    model = Word2Vec(**SMALL)
    model.build_vocab(demo_sentences[:500])
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{name}'"):
        call(model, demo_sentences[:500])


def test_a_misspelt_keyword_gets_a_suggestion(demo_sentences):
    with pytest.raises(TypeError, match="did you mean 'trim_rule'"):
        Word2Vec(**SMALL).build_vocab(demo_sentences[:500], trim_rulez=1)


def test_every_gensim_keyword_is_implemented_or_listed():
    gensim_w2v = pytest.importorskip("gensim.models.word2vec").Word2Vec

    def names(f):
        return {p.name for p in inspect.signature(f).parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}

    # gensim's build_vocab passes its **kwargs to prepare_vocab
    gensim = {"__init__": names(gensim_w2v.__init__), "train": names(gensim_w2v.train),
              "build_vocab": names(gensim_w2v.build_vocab) | names(gensim_w2v.prepare_vocab)}
    for method, theirs in gensim.items():
        ours = names(getattr(Word2Vec, method))
        listed = set(GENSIM_KEYWORDS[method])
        assert theirs - ours - listed == set(), method
        assert listed <= theirs, method  # no made-up gensim keyword
        assert not listed & ours, method  # listed keywords are not also in the signature


REFUSED = [(m, k, v[0]) for m, table in GENSIM_KEYWORDS.items() for k, v in table.items() if v[0] != IGNORED]
IGNORED_ONES = [(m, k) for m, table in GENSIM_KEYWORDS.items() for k, v in table.items() if v[0] == IGNORED]


def call_with(method, kw, sentences):
    if method == "__init__":
        return Word2Vec(sentences, **SMALL, **kw)
    model = Word2Vec(**SMALL)
    model.build_vocab(sentences)
    return getattr(model, method)(sentences, **kw)


@pytest.mark.parametrize("method, name, default", REFUSED)
def test_a_gensim_keyword_not_implemented_raises_unless_it_asks_for_what_w2v_does(method, name, default,
                                                                                 demo_sentences):
    sents = demo_sentences[:300]
    other = 1 if default is None else (not default if isinstance(default, bool) else default + 1)
    with pytest.raises(NotImplementedError, match=f"{name}={other!r}"):
        call_with(method, {name: other}, sents)
    call_with(method, {name: default}, sents)


@pytest.mark.parametrize("method, name", IGNORED_ONES)
def test_a_gensim_keyword_that_means_nothing_here_is_accepted(method, name, demo_sentences):
    call_with(method, {name: 12345}, demo_sentences[:300])


def test_gensim_ignored_train_keywords_keep_working(demo_sentences):
    model = Word2Vec(**SMALL)
    model.build_vocab(demo_sentences[:300], progress_per=100)
    model.train(demo_sentences[:300], total_examples=300, total_words=10**6, epochs=1,
                compute_loss=True, queue_factor=4, report_delay=0.5, word_count=0)


def test_a_refused_build_vocab_keyword_leaves_the_trained_model_as_it_was(demo_sentences):
    model = Word2Vec(demo_sentences[:2000], **SMALL)
    before = (list(model.wv.index_to_key), model.wv.vectors.copy(), model.syn1neg.copy(),
              list(model.epoch_stats))
    with pytest.raises(NotImplementedError, match="dry_run=True"):
        model.build_vocab(demo_sentences[2000:4000], update=True, dry_run=True)
    assert model.wv.index_to_key == before[0]
    assert np.array_equal(model.wv.vectors, before[1]) and np.array_equal(model.syn1neg, before[2])
    assert model.epoch_stats == before[3]
    model.build_vocab(demo_sentences[2000:4000], update=False)  # gensim's default: a new vocabulary


def test_arguments_by_position_follow_gensims_order_or_are_refused(demo_sentences):
    # gensim: (sentences, corpus_file, vector_size, alpha, window, min_count, max_vocab_size, sample, ...)
    model = Word2Vec(None, None, 8, 0.025, 5, 2, None, 1e-4)
    assert model.sample == 1e-4 and model.max_final_vocab is None
    with pytest.raises(TypeError):  # gensim's 17th is hashfxn, not w2v's epochs
        Word2Vec(None, None, 8, 0.025, 5, 2, None, 1e-4, 1, 1, 1e-4, 0, 0, 5, 0.75, 1, hash)
    with pytest.raises(TypeError):  # gensim's 3rd is update
        model.build_vocab(demo_sentences[:300], None, True)


# ---------------------------------------------------------------- no stale corpus
def test_a_list_extended_after_build_vocab_is_trained_whole(demo_sentences):
    sents = list(demo_sentences[:2000])
    model = Word2Vec(**SMALL)
    model.build_vocab(sents)
    sents.extend(demo_sentences[2000:5000])
    assert trained_words(model, corpus_iterable=sents) == in_vocab_tokens(model, sents)
    assert in_vocab_tokens(model, sents) > in_vocab_tokens(model, demo_sentences[:2000])


def test_a_list_reusing_a_freed_lists_id_is_not_mistaken_for_it(demo_sentences):
    model = Word2Vec(**SMALL)
    first, content = list(demo_sentences[:2000]), demo_sentences[2000:3000]
    model.build_vocab(first)
    freed_id = id(first)
    # CPython keeps up to 80 freed lists for reuse, last in first out: empty that stock, so that
    # the next list made takes `first`'s memory once it is freed (at `del`: it is in no cycle)
    stock = [[] for _ in range(200)]
    held = []  # each candidate stays alive, so the next one gets another address
    del first  # no list may be made between this line and the copy
    for _ in range(100):
        candidate = content.copy()  # exactly one new list object
        if id(candidate) == freed_id:
            break
        held.append(candidate)
    else:
        pytest.skip("no new list took the freed list's id")
    assert trained_words(model, corpus_iterable=candidate) == in_vocab_tokens(model, content)


@pytest.mark.parametrize("same_size", [False, True])
def test_a_file_rewritten_between_build_vocab_and_train_is_read_again(tmp_path, demo_sentences, same_size):
    path = tmp_path / "corpus.txt"
    old, new = demo_sentences[:1000], demo_sentences[1000:2000]
    path.write_text("\n".join(" ".join(s) for s in old) + "\n")
    model = Word2Vec(**SMALL)
    model.build_vocab(corpus_file=path)
    text = "\n".join(" ".join(s) for s in new) + "\n"
    if same_size:
        # same size, new content and a later mtime (no sleep: the clock tick may be coarse)
        size, mtime = path.stat().st_size, path.stat().st_mtime_ns
        text = (text * 2)[:size - 1] + "\n"
        with open(path, "r+") as f:  # in place: the same inode
            f.write(text)
        os.utime(path, ns=(mtime + 10**9, mtime + 10**9))
        assert path.stat().st_size == size
    else:
        path.write_text(text)
    expected = sum(1 for line in text.splitlines() for w in line.split() if w in model.wv)
    assert trained_words(model, corpus_file=path) == expected


def test_an_unchanged_file_is_read_once(tmp_path, demo_sentences, count_scans):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(s) for s in demo_sentences[:1000]) + "\n")
    model = Word2Vec(**SMALL)
    model.build_vocab(corpus_file=path)
    trained_words(model, corpus_file=path)
    trained_words(model, corpus_file=str(path))
    assert len(count_scans) == 1


def test_a_list_is_read_once_by_the_constructor_and_again_by_each_train(demo_sentences, count_scans):
    sents = demo_sentences[:1000]
    model = Word2Vec(sents, **SMALL)
    assert len(count_scans) == 1
    trained_words(model, corpus_iterable=sents)
    assert len(count_scans) == 2


def test_train_without_a_corpus_trains_on_the_one_build_vocab_read(demo_sentences, tmp_path, count_scans):
    sents = list(demo_sentences[:1000])
    model = Word2Vec(**SMALL)
    model.build_vocab(sents)
    expected = in_vocab_tokens(model, sents)
    sents.extend(demo_sentences[1000:2000])  # not seen: the snapshot is build_vocab's
    assert trained_words(model) == expected and len(count_scans) == 1
    model.save(tmp_path / "m.w2v")
    with pytest.raises(ValueError, match="give the corpus to train on"):
        Word2Vec.load(tmp_path / "m.w2v").train()


def test_a_generator_read_by_build_vocab_is_trained_from_its_encoding(demo_sentences):
    sents = demo_sentences[:1000]
    model = Word2Vec(**SMALL)
    gen = (s for s in sents)
    model.build_vocab(gen)
    assert trained_words(model, corpus_iterable=gen) == in_vocab_tokens(model, sents)
    other = (s for s in sents)
    list(other)
    with pytest.raises(ValueError, match="no words"):  # another, exhausted generator is empty
        model.train(other, epochs=1)
