import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from w2v.cli import main
from w2v.phrases import FrozenPhrases, Phrases, phrase_passes

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev.txt.gz"

# "new york" 6 times, "york city" twice, "the cat" 3 times
CORPUS = ([["i", "love", "new", "york"]] * 4 + [["new", "york", "city", "is", "big"]] * 2 +
          [["the", "cat", "sat"]] * 3 + [["new", "car"], ["a", "york"]])


def _counts():
    uni = {}
    for s in CORPUS:
        for w in s:
            uni[w] = uni.get(w, 0) + 1
    return uni, sum(uni.values())


def test_word2phrase_scores_equal_the_formula():
    uni, total = _counts()
    p = Phrases(CORPUS, min_count=2, threshold=0.0, scoring="word2phrase")
    got = p.export_phrases()
    expect = (6 - 2) / (uni["new"] * uni["york"]) * total
    assert got["new_york"] == pytest.approx(expect, rel=1e-12)
    assert got["the_cat"] == pytest.approx((3 - 2) / (3 * 3) * total, rel=1e-12)
    # "new car": count(car) = 1 < min_count: never joined, whatever the threshold
    assert "new_car" not in got and "a_york" not in got
    assert p.corpus_word_count == total


def test_npmi_scores_equal_the_formula():
    uni, total = _counts()
    p = Phrases(CORPUS, min_count=2, threshold=-1.0, scoring="npmi")
    got = p.export_phrases()
    pa, pb, pab = uni["new"] / total, uni["york"] / total, 6 / total
    assert got["new_york"] == pytest.approx(math.log(pab / (pa * pb)) / -math.log(pab), rel=1e-12)
    assert all(-1 <= s <= 1 for s in got.values())
    assert "new_car" not in got  # bigram seen once < min_count


def test_callable_scorer_gets_gensim_arguments():
    seen = []

    def scorer(worda_count, wordb_count, bigram_count, len_vocab, min_count, corpus_word_count):
        seen.append((worda_count, wordb_count, bigram_count, len_vocab, min_count, corpus_word_count))
        return bigram_count
    p = Phrases(CORPUS, min_count=2, threshold=5, scoring=scorer)
    assert set(p.export_phrases()) == {"new_york"}
    uni, total = _counts()
    bigrams = {(a, b) for s in CORPUS for a, b in zip(s, s[1:])}
    # len_vocab is gensim's: distinct words and distinct bigrams
    assert (uni["new"], uni["york"], 6, len(uni) + len(bigrams), 2, total) == (7, 7, 6, 12 + 10, 2, 39)
    assert (7, 7, 6, 22, 2, 39) in seen
    assert all(type(x) is int for call in seen for x in call)  # ints, as gensim passes them


def test_threshold_boundary_is_strict():
    uni, total = _counts()
    score = (6 - 2) / (uni["new"] * uni["york"]) * total
    assert "new_york" not in Phrases(CORPUS, min_count=2, threshold=score, scoring="word2phrase").export_phrases()
    assert "new_york" in Phrases(CORPUS, min_count=2, threshold=score * (1 - 1e-9),
                                 scoring="word2phrase").export_phrases()


def test_greedy_left_to_right_application():
    fp = FrozenPhrases({("new", "york"): 10.0, ("york", "city"): 20.0})
    assert fp[["new", "york", "city"]] == ["new_york", "city"]  # york is not reused
    assert fp[["york", "city", "new", "york"]] == ["york_city", "new_york"]
    assert fp[["new"]] == ["new"] and fp[[]] == []


def test_connector_words_inside_but_never_at_the_ends():
    sents = [["bank", "of", "america", "said"]] * 5 + [["of", "the", "bank"]] * 5 + [["the", "end"]] * 2
    p = Phrases(sents, min_count=2, threshold=0.0, scoring="word2phrase", connector_words=("of", "the"))
    got = p.export_phrases()
    assert "bank_of_america" in got
    assert not any(k.startswith(("of_", "the_")) or k.endswith(("_of", "_the")) for k in got)
    assert p[["bank", "of", "america"]] == ["bank_of_america"]


def test_streaming_equals_sentence_by_sentence_and_restarts():
    p = Phrases(CORPUS, min_count=2, threshold=0.0, scoring="word2phrase")
    stream = p[CORPUS]
    first = list(stream)
    assert first == [p[s] for s in CORPUS] == list(stream)
    assert p.freeze()[CORPUS].__iter__ and list(p.freeze()[CORPUS]) == first


def test_second_pass_builds_longer_phrases():
    rng = np.random.default_rng(2)
    filler = [f"w{i}" for i in range(200)]
    sents = []
    for k in range(600):
        s = list(rng.choice(filler, 10))
        planted = ["new", "york", "times"] if k < 100 else ["new", "york"] if k < 300 else ["times"]
        sents.append(s[:5] + planted + s[5:])
    out, models = phrase_passes(sents, 2, min_count=5, thresholds=(10.0, 3.0))
    assert set(models[0].export_phrases()) == {"new_york"}
    assert set(models[1].export_phrases()) == {"new_york_times"}
    out = list(out)
    assert all("new_york_times" in s for s in out[:100]) and all("new_york" in s for s in out[100:300])


def test_save_and_load_round_trip(tmp_path):
    p = Phrases(CORPUS, min_count=2, threshold=1.0)
    p.save(tmp_path / "p.npz")
    q = Phrases.load(tmp_path / "p.npz")
    assert q.export_phrases() == p.export_phrases()
    q.add_vocab([["new", "york"]])  # a loaded model counts on
    assert q.corpus_word_count == p.corpus_word_count + 2
    f = p.freeze()
    f.save(tmp_path / "f.json")
    g = Phrases.load(tmp_path / "f.json")
    assert isinstance(g, FrozenPhrases) and g.export_phrases() == f.export_phrases()
    assert g[CORPUS[0]] == p[CORPUS[0]]
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        Phrases.load(tmp_path / "bad.json")


def test_max_vocab_size_prunes_while_counting():
    rng = np.random.default_rng(0)
    sents = [["new", "york"] + [f"rare{rng.integers(1e9)}" for _ in range(3)] for _ in range(2000)]
    p = Phrases(sents, min_count=5, threshold=1.0, max_vocab_size=500, scoring="word2phrase")
    assert len(p.word_ids) + p.pair_keys.size <= 500 + 4 * 2000  # bounded by pruning at block ends
    assert p.min_reduce > 1 and "new_york" in p.export_phrases()


def test_agrees_with_gensim_npmi():
    gensim_phrases = pytest.importorskip("gensim.models.phrases")
    from conftest import demo_lines
    sents = [l.split() for l in demo_lines(20_000)]
    ours = Phrases(sents, min_count=5, threshold=0.5, scoring="npmi").export_phrases()
    theirs = gensim_phrases.Phrases(sents, min_count=5, threshold=0.5, scoring="npmi").export_phrases()
    assert len(ours) > 50
    assert set(ours) == set(theirs)
    for k in ours:
        assert ours[k] == pytest.approx(theirs[k], rel=1e-9)


@pytest.mark.parametrize("kw, msg", [(dict(min_count=0), "min_count"), (dict(threshold=float("nan")), "threshold"),
                                     (dict(scoring="npmi", threshold=2.0), "npmi"), (dict(scoring="bogus"), "scoring"),
                                     (dict(delimiter=" "), "delimiter")])
def test_bad_settings(kw, msg):
    with pytest.raises(ValueError, match=msg):
        Phrases(**kw)


@pytest.mark.skipif(not DEV.exists(), reason="dev corpus not available")
def test_dev_corpus_two_passes_find_known_phrases():
    # counts checked on dev.txt.gz: "new york" 838, "united states" 1416, "los angeles" 217,
    # "leonardo da vinci" 17; "of the" and "in the" are the most frequent pairs of all
    with gzip.open(DEV, "rt") as f:
        sents = [line.split() for line in f]
    out, (first, second) = phrase_passes(sents, 2)
    one, two = first.export_phrases(), second.export_phrases()
    for phrase in ("new_york", "united_states", "los_angeles", "prime_minister", "wall_street"):
        assert phrase in one, phrase
    assert "leonardo_da_vinci" in two
    function_words = {"of", "the", "in", "and", "to", "a", "is", "that", "for", "it", "was", "on"}
    for k in list(one) + list(two):
        parts = k.split("_")
        assert not (parts[0] in function_words and parts[-1] in function_words), k


def test_cli_phrases_and_train_with_phrases(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    rng = np.random.default_rng(1)
    filler = [f"w{i}" for i in range(500)]
    lines = []
    for k in range(6000):  # "new york" 300 times in 120k tokens: word2phrase score ~395
        s = list(rng.choice(filler, 20))
        if k % 20 == 0:
            s.insert(int(rng.integers(0, 20)), "new york")
        lines.append(" ".join(s))
    corpus.write_text("\n".join(lines) + "\n")
    out = tmp_path / "phrased.txt"
    assert main(["phrases", "-train", str(corpus), "-output", str(out), "-min-count", "5", "-threshold", "100"]) == 0
    text = out.read_text()
    assert text.count("new_york") == 300 and "new york" not in text and text.count("_") == 300
    vec = tmp_path / "v.txt"
    assert main(["train", "-train", str(corpus), "-output", str(vec), "-phrases", "2", "-size", "8",
                 "-iter", "1", "-min-count", "5", "-threads", "1"]) == 0
    words = [l.split()[0] for l in vec.read_text().splitlines()[1:]]
    assert "new_york" in words and "new" not in words


def test_cli_phrases_bad_input(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("\n\n")
    for args, msg in [(["-train", str(tmp_path / "missing.txt")], "missing.txt"),
                      (["-train", str(tmp_path / "empty.txt")], "empty corpus"),
                      (["-train", str(tmp_path / "empty.txt"), "-min-count", "0"], "min_count")]:
        before = set(tmp_path.iterdir())
        assert main(["phrases", *args, "-output", str(tmp_path / "o.txt")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("w2v: error:") and msg in err
        assert set(tmp_path.iterdir()) == before
