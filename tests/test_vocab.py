import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from w2v.vocab import Vocab, encode, scan


SENTS = [["b", "a", "c", "a"], ["d", "a", "b"], ["e"], ["c", "b", "a"]]


def test_scan_counts_and_encodes_in_one_pass():
    s = scan(SENTS)
    counts = dict(zip(s.words, s.counts.tolist()))
    assert counts == {"a": 4, "b": 3, "c": 2, "d": 1, "e": 1}
    assert [s.words[i] for i in s.ids] == sum(SENTS, [])
    assert s.bounds.tolist() == [0, 4, 7, 8, 11]


def test_vocab_sorted_by_count_with_deterministic_ties_and_min_count():
    s = scan(SENTS)
    v = Vocab.from_counts(zip(s.words, s.counts), min_count=1)
    assert v.index_to_key == ["a", "b", "c", "d", "e"]
    v2 = Vocab.from_counts(zip(s.words, s.counts), min_count=2)
    assert v2.index_to_key == ["a", "b", "c"] and v2.counts.tolist() == [4, 3, 2]
    assert v2.total_words == 9


def test_max_final_vocab_raises_min_count_like_gensim():
    s = scan(SENTS)
    v = Vocab.from_counts(zip(s.words, s.counts), min_count=1, max_final_vocab=3)
    assert v.index_to_key == ["a", "b", "c"]
    v = Vocab.from_counts(zip(s.words, s.counts), min_count=1, max_final_vocab=4)
    assert v.index_to_key == ["a", "b", "c"]  # d and e tie: both go


def test_encode_drops_oov_and_empty_sentences():
    s = scan(SENTS)
    v = Vocab.from_counts(zip(s.words, s.counts), min_count=2)
    c = encode(s, v)
    words = [v.index_to_key[i] for i in c.ids]
    assert words == ["b", "a", "c", "a", "a", "b", "c", "b", "a"]
    assert c.bounds.tolist() == [0, 4, 6, 9]  # ["e"] vanished
    assert (c.n_words, c.n_sentences) == (9, 3)


def test_empty_vocabulary_errors():
    s = scan(SENTS)
    with pytest.raises(ValueError, match="min_count=10"):
        Vocab.from_counts(zip(s.words, s.counts), min_count=10)
    with pytest.raises(ValueError, match="empty corpus"):
        Vocab.from_counts([], min_count=1)


def test_max_vocab_size_prunes_rare_words_while_counting():
    rng = np.random.default_rng(0)
    frequent = [f"f{i}" for i in range(5)]
    sents = []
    for k in range(300):
        sents.append(list(rng.choice(frequent, 20)) + [f"rare{k}"])
    s = scan(sents, max_vocab_size=50)
    alive = {w for w in s.words if w is not None}
    assert set(frequent) <= alive and len(alive) <= 51
    full = scan(sents)
    for w in frequent:
        assert s.counts[s.words.index(w)] == full.counts[full.words.index(w)]


def test_vocab_file_round_trip(tmp_path):
    s = scan(SENTS)
    v = Vocab.from_counts(zip(s.words, s.counts), min_count=1)
    v.save(tmp_path / "vocab.txt")
    assert (tmp_path / "vocab.txt").read_text().splitlines()[:2] == ["a 4", "b 3"]
    assert Vocab.read_counts(tmp_path / "vocab.txt") == list(zip(v.index_to_key, v.counts.tolist()))
    (tmp_path / "bad.txt").write_text("a 4\nb three\n")
    with pytest.raises(ValueError, match="bad.txt:2"):
        Vocab.read_counts(tmp_path / "bad.txt")


def test_max_vocab_size_forgets_words_seen_at_most_min_reduce_times():
    """word2vec.c's ReduceVocab: when the table passes max_vocab_size, words counted <= min_reduce
    (1, then 2, ...) are forgotten. Here the first reduction comes with the 5th distinct word."""
    sents = [["a", "a", "b"], ["c"], ["d"], ["e"]]
    s = scan(sents, max_vocab_size=4)
    alive = {w for w in s.words if w is not None}
    assert alive == {"a"} and s.pruned  # b, c, d, e were seen once when the table overflowed
    assert s.counts[s.words.index("a")] == 2


def test_a_max_vocab_size_that_forgets_every_word_is_named_in_the_error():
    from w2v import Word2Vec
    sents = [[f"w{i}"] for i in range(50)] * 5  # 50 words, 5 times each, far apart
    kw = dict(min_count=5, workers=1, epochs=1, progress=False)
    assert len(Word2Vec(sents, **kw).wv) == 50
    with pytest.raises(ValueError, match="max_vocab_size=2 is too small"):
        Word2Vec(sents, max_vocab_size=2, **kw)
    # pruning that leaves words: a small vocabulary, no error
    m = Word2Vec(sents + [["the"]] * 20, max_vocab_size=10, **kw)
    assert "the" in m.wv.key_to_index and len(m.wv) < 50


def _reference_vocab(pairs, min_count, max_final_vocab=None, trim_rule=None):
    """from_counts as a plain sort of (-count, word) tuples: the order the numpy sort must give."""
    items = [(w, int(c)) for w, c in pairs if w is not None and c > 0]
    effective = min_count
    if max_final_vocab is not None and len(items) > max_final_vocab:
        effective = max(min_count, sorted((c for _, c in items), reverse=True)[max_final_vocab] + 1)
    kept = [(w, c) for w, c in items if (trim_rule(w, c, effective) == 2 if trim_rule else False)
            or (not (trim_rule and trim_rule(w, c, effective) == 1) and c >= effective)]
    kept.sort(key=lambda wc: (-wc[1], wc[0]))
    return [w for w, _ in kept], [c for _, c in kept], effective


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.text(alphabet=st.sampled_from(["a", "b", "\x00", "é", "\ud800",
                                                                                   "\U0001f600", "\ufffd"]),
                                                       max_size=4)),
                          st.integers(-1, 6)), max_size=40),
       st.integers(0, 4), st.one_of(st.none(), st.integers(0, 10)), st.booleans())
def test_from_counts_orders_as_a_sort_of_count_word_tuples(pairs, min_count, max_final_vocab, with_rule):
    """Ties of count are ordered by the word (code points: NUL, surrogates and astral characters
    included; duplicated words keep their order); None, zero and negative counts are left out."""
    rule = (lambda w, c, m: 2 if w.startswith("b") else 1 if w.startswith("é") else 0) if with_rule else None
    words, counts, effective = _reference_vocab(pairs, min_count, max_final_vocab, rule)
    if not words:
        with pytest.raises(ValueError):
            Vocab.from_counts(pairs, min_count, max_final_vocab, rule)
        return
    v = Vocab.from_counts(pairs, min_count, max_final_vocab, rule)
    assert v.index_to_key == words and v.counts.tolist() == counts and v.effective_min_count == effective
    assert v.counts.dtype == np.int64
