"""Analogy and word-pair evaluation: exact counts on planted vectors, agreement with gensim."""
import os

import numpy as np
import pytest

from w2v import KeyedVectors, evaluation

QUESTIONS = """\
: capital-common-countries
athens greece berlin germany
athens greece paris france
Paris France Berlin Germany
athens greece rome unknownland
: gram1-adjective-to-adverb
quick quickly slow slowly
quick quickly calm calmly
slow slowly quick quickly
too few words
"""


def planted_kv():
    """capital -> country is one offset, adjective -> adverb another; calmly is misplaced.

    `Paris` (capitalised) is a second spelling, later in the vocabulary than `paris`.
    """
    rng = np.random.default_rng(0)
    d = 32
    country, adverb = rng.standard_normal(d) * 2, rng.standard_normal(d) * 2
    vec = {}
    for capital, land in (("athens", "greece"), ("berlin", "germany"), ("paris", "france"),
                          ("rome", "italy")):
        vec[capital] = rng.standard_normal(d)
        vec[land] = vec[capital] + country
    for adj in ("quick", "slow", "calm"):
        vec[adj] = rng.standard_normal(d)
        vec[adj + "ly"] = vec[adj] + adverb
    vec["calmly"] = rng.standard_normal(d)  # breaks calm -> calmly
    keys = list(vec) + ["Paris", "France", "Berlin", "Germany"]
    vectors = [vec[k] for k in vec] + [-vec["paris"], vec["france"] * 0.1 - 3, vec["berlin"], vec["germany"]]
    for i in range(30):
        keys.append(f"noise{i}")
        vectors.append(rng.standard_normal(d))
    return KeyedVectors(d, keys, np.array(vectors, dtype=np.float32))


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "questions.txt"
    path.write_text(QUESTIONS)
    return path


def counts(sections):
    return [(s["section"], len(s["correct"]), len(s["incorrect"]), s["skipped"]) for s in sections]


def test_exact_counts_case_insensitive(questions):
    kv = planted_kv()
    accuracy, sections = kv.evaluate_word_analogies(questions)
    # "Paris France Berlin Germany" folds to the first spellings: paris, france, ...: correct
    assert counts(sections) == [
        ("capital-common-countries", 3, 0, 1),
        ("gram1-adjective-to-adverb", 2, 1, 0),
        ("Total accuracy", 5, 1, 1),
    ]
    assert accuracy == pytest.approx(5 / 6)
    total = sections[-1]
    assert total["semantic"] == {"correct": 3, "incorrect": 0, "accuracy": 1.0}
    assert total["syntactic"]["correct"] == 2 and total["syntactic"]["incorrect"] == 1
    assert total["questions"] == 7 and total["oov_ratio"] == pytest.approx(100 / 7)
    assert ("QUICK", "QUICKLY", "CALM", "CALMLY") in total["incorrect"]


def test_exact_counts_case_sensitive(questions):
    kv = planted_kv()
    accuracy, sections = kv.evaluate_word_analogies(questions, case_insensitive=False)
    # the capitalised question uses the other (unstructured) spellings: wrong, not skipped
    assert counts(sections)[0] == ("capital-common-countries", 2, 1, 1)
    assert ("Paris", "France", "Berlin", "Germany") in sections[0]["incorrect"]


def test_restrict_vocab_skips_late_words(questions):
    kv = planted_kv()
    # the first 8 words are the capitals and countries: no adverb question can be answered
    _, sections = kv.evaluate_word_analogies(questions, restrict_vocab=8)
    assert counts(sections) == [
        ("capital-common-countries", 3, 0, 1),
        ("gram1-adjective-to-adverb", 0, 0, 3),
        ("Total accuracy", 3, 0, 4),
    ]
    _, sections = kv.evaluate_word_analogies(questions, restrict_vocab=8, dummy4unknown=True)
    assert counts(sections)[-1] == ("Total accuracy", 3, 4, 4)


def test_cosmul_method(questions):
    accuracy, sections = planted_kv().evaluate_word_analogies(questions, method="mul")
    assert counts(sections)[-1] == ("Total accuracy", 5, 1, 1)
    with pytest.raises(ValueError, match="method"):
        planted_kv().evaluate_word_analogies(questions, method="max")


def test_question_before_header_and_empty_file(tmp_path):
    (tmp_path / "q.txt").write_text("a b c d\n")
    with pytest.raises(ValueError, match="line 1: question before"):
        planted_kv().evaluate_word_analogies(tmp_path / "q.txt")
    (tmp_path / "e.txt").write_text("")
    with pytest.raises(ValueError, match="no ': section' header"):
        planted_kv().evaluate_word_analogies(tmp_path / "e.txt")


def test_word_pairs_by_hand(tmp_path):
    kv = planted_kv()
    path = tmp_path / "pairs.txt"
    path.write_text("# comment\nathens\tgreece\t9\nathens\tberlin\t2\nquick slow 5\n"
                    "quick\tnothere\t1\nnot a valid line\n\nROME\tITALY\t8\n")
    (pr, pp), (sr, sp), oov = kv.evaluate_word_pairs(path)
    used = [("athens", "greece", 9), ("athens", "berlin", 2), ("quick", "slow", 5), ("rome", "italy", 8)]
    model = [kv.similarity(a, b) for a, b, _ in used]
    gold = [s for _, _, s in used]
    assert pr == pytest.approx(np.corrcoef(gold, model)[0, 1], abs=1e-6)
    assert oov == pytest.approx(100 / 5)
    (_, _), (_, _), oov = kv.evaluate_word_pairs(path, dummy4unknown=True)
    assert oov == pytest.approx(100 / 5)  # gensim: over all pairs kept, dummies included
    (pr_cs, _), _, oov_cs = kv.evaluate_word_pairs(path, case_insensitive=False)
    assert oov_cs == pytest.approx(200 / 5)
    with pytest.raises(ValueError, match="0 similarity judgements with known words, need at least 2"):
        kv.evaluate_word_pairs(path, restrict_vocab=1)


def test_data_path():
    for name in ("questions-words.txt", "wordsim353.tsv", "simlex999.txt"):
        assert os.path.isfile(evaluation.data_path(name))
    with pytest.raises(FileNotFoundError, match="available"):
        evaluation.data_path("nope.txt")


# ---------------------------------------------------------------- agreement with gensim
def bundled_vocabulary_kv(seed=0, d=48, noise=0.45, distractors=1500):
    """Vectors for every word of the bundled sets, with the analogy offsets planted (noisily),
    lower-case duplicates of some words later on, and random distractors."""
    rng = np.random.default_rng(seed)
    relation, vec = {}, {}
    section = None
    with open(evaluation.data_path("questions-words.txt")) as f:
        for line in f:
            if line.startswith(":"):
                section = line[2:].strip()
                relation[section] = rng.standard_normal(d)
                continue
            a, b, c, e = line.split()
            for x, y in ((a, b), (c, e)):
                vec.setdefault(x, rng.standard_normal(d))
                vec.setdefault(y, vec[x] + relation[section] + noise * rng.standard_normal(d))
    for name in evaluation.PAIRS:
        with open(evaluation.data_path(name)) as f:
            for line in f:
                if not line.startswith("#"):
                    a, b, score = line.split("\t")
                    vec.setdefault(a, rng.standard_normal(d))
                    vec.setdefault(b, vec[a] * float(score) / 10 + rng.standard_normal(d))
    words = sorted(vec)
    rng.shuffle(words)
    keys, vectors = list(words), [vec[w] for w in words]
    for w in words[:300]:
        if w.lower() != w:
            keys.append(w.lower())
            vectors.append(vec[w] + rng.standard_normal(d))
    for i in range(distractors):
        keys.append(f"zz{i}")
        vectors.append(1.5 * rng.standard_normal(d))
    return KeyedVectors(d, keys, np.array(vectors, dtype=np.float32))


@pytest.fixture(scope="module")
def kv_and_gensim():
    gensim_models = pytest.importorskip("gensim.models")
    kv = bundled_vocabulary_kv()
    g = gensim_models.KeyedVectors(kv.vector_size)
    g.add_vectors(kv.index_to_key, kv.vectors)
    return kv, g


@pytest.mark.parametrize("restrict_vocab,case_insensitive", [(300000, True), (1000, False)])
def test_analogies_agree_with_gensim(kv_and_gensim, restrict_vocab, case_insensitive):
    kv, g = kv_and_gensim
    path = evaluation.data_path("questions-words.txt")
    ours = kv.evaluate_word_analogies(path, restrict_vocab=restrict_vocab,
                                      case_insensitive=case_insensitive)
    theirs = g.evaluate_word_analogies(path, restrict_vocab=restrict_vocab,
                                       case_insensitive=case_insensitive)
    assert ours[0] == pytest.approx(theirs[0], abs=1e-6)
    assert ours[0] > 0.3  # planted structure: a real test, not 0 == 0
    assert len(ours[1]) == len(theirs[1])
    for a, b in zip(ours[1], theirs[1]):
        assert a["section"] == b["section"]
        assert sorted(a["correct"]) == sorted(b["correct"])
        assert sorted(a["incorrect"]) == sorted(b["incorrect"])
    if restrict_vocab == 1000:
        assert ours[1][-1]["skipped"] > 0


@pytest.mark.parametrize("name", evaluation.PAIRS)
@pytest.mark.parametrize("dummy4unknown", [False, True])
def test_word_pairs_agree_with_gensim(kv_and_gensim, name, dummy4unknown):
    kv, g = kv_and_gensim
    path = evaluation.data_path(name)
    ours = kv.evaluate_word_pairs(path, restrict_vocab=2000, dummy4unknown=dummy4unknown)
    theirs = g.evaluate_word_pairs(path, restrict_vocab=2000, dummy4unknown=dummy4unknown)
    for (r1, p1), (r2, p2) in zip(ours[:2], theirs[:2]):
        assert r1 == pytest.approx(r2, abs=1e-6)
        assert p1 == pytest.approx(p2, abs=1e-6)
    assert ours[2] == pytest.approx(theirs[2], abs=1e-9)
    assert abs(ours[0][0]) > 0.2 and 0 < ours[2] < 100  # correlated, some pairs unknown


def test_evaluate_summary_and_table(kv_and_gensim):
    kv, _ = kv_and_gensim
    result = evaluation.evaluate(kv.get_normed_vectors(), kv.index_to_key, restrict_vocab=3000)
    assert result["analogies"]["answered"] + result["analogies"]["skipped"] == 19544
    assert [os.path.basename(p["file"]) for p in result["pairs"]] == list(evaluation.PAIRS)
    table = evaluation.format_table(result)
    assert "gram9-plural-verbs" in table and "simlex999.txt" in table


@pytest.mark.parametrize("kwargs", [{}, {"case_insensitive": False}, {"restrict_vocab": 8},
                                    {"restrict_vocab": 8, "dummy4unknown": True}])
def test_hand_written_file_agrees_with_gensim(questions, kwargs):
    gensim_models = pytest.importorskip("gensim.models")
    kv = planted_kv()
    g = gensim_models.KeyedVectors(kv.vector_size)
    g.add_vectors(kv.index_to_key, kv.vectors)
    ours, theirs = kv.evaluate_word_analogies(questions, **kwargs), g.evaluate_word_analogies(str(questions), **kwargs)
    assert ours[0] == pytest.approx(theirs[0], abs=1e-12)
    assert [(len(s["correct"]), len(s["incorrect"])) for s in ours[1]] == \
           [(len(s["correct"]), len(s["incorrect"])) for s in theirs[1]]


def test_compressed_question_and_pair_files(questions, tmp_path):
    import bz2
    import gzip
    kv = planted_kv()
    with gzip.open(tmp_path / "q.txt.gz", "wb") as f:
        f.write(questions.read_bytes())
    assert kv.evaluate_word_analogies(tmp_path / "q.txt.gz") == kv.evaluate_word_analogies(questions)
    pairs = "athens\tgreece\t9\r\nathens\tberlin\t2\r\nquick\tslow\t5\r\nrome\titaly\t8\r\n"
    (tmp_path / "p.txt").write_text(pairs, newline="")
    with bz2.open(tmp_path / "p.txt.bz2", "wb") as f:
        f.write(pairs.encode())
    assert kv.evaluate_word_pairs(tmp_path / "p.txt.bz2") == kv.evaluate_word_pairs(tmp_path / "p.txt")
    with pytest.raises(FileNotFoundError, match="analogies file not found: .*nope"):
        kv.evaluate_word_analogies(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="word pairs file not found: .*nope"):
        kv.evaluate_word_pairs(tmp_path / "nope")


# ---------------------------------------------------------------- arrays in, one analogy arithmetic
def _our_imports(module_file):
    """Modules of ours that a source file imports, at any depth (function-level imports too)."""
    import ast
    found = set()
    for node in ast.walk(ast.parse(open(module_file).read())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and not (node.module or "").startswith("w2v"):
                continue
            base = (node.module or "").removeprefix("w2v").lstrip(".")
            found |= {base} if base else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("w2v.") for a in node.names if a.name.startswith("w2v")}
    return found


def test_evaluation_imports_only_ground_modules():
    """evaluation takes arrays and a lookup: vectors imports it, never the other way round."""
    from w2v import vectors
    ours = _our_imports(evaluation.__file__)
    assert "vectors" not in ours
    assert ours <= {"config", "kernels", "huffman", "sampling", "corpus"}, ours
    assert "evaluation" in _our_imports(vectors.__file__)


def unit_rows(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_cos_add_scores_equal_brute_force():
    rng = np.random.default_rng(5)
    n, d, b, t = 300, 16, 6, 4
    candidates = unit_rows(rng.standard_normal((n, d))).astype(np.float32)
    terms = unit_rows(rng.standard_normal((b, t, d))).astype(np.float32)
    weights = rng.choice([-1.0, 1.0], (b, t)) * rng.uniform(0.2, 2.0, (b, t))
    got = evaluation.cos_add_scores(candidates, terms, weights)
    assert got.shape == (b, n) and got.dtype == np.float32
    c64 = candidates.astype(np.float64)
    for i in range(b):
        q = sum(weights[i, j] * terms[i, j].astype(np.float64) for j in range(t))
        want = [c @ q / (np.linalg.norm(c) * np.linalg.norm(q)) for c in c64]
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-6)
        assert evaluation.top_k(got[i:i + 1], 10)[0].tolist() == np.argsort(want)[::-1][:10].tolist()
    # one weight vector (T,) for all queries; a zero sum scores 0, not NaN
    same = evaluation.cos_add_scores(candidates, terms, weights[0])
    np.testing.assert_allclose(same[0], got[0], rtol=1e-6, atol=1e-7)
    zero = evaluation.cos_add_scores(candidates, np.stack([terms[:1, 0]] * 2, axis=1), (1, -1))
    assert np.all(zero == 0)


def test_cos_mul_scores_equal_brute_force():
    rng = np.random.default_rng(6)
    n, d, b = 300, 16, 6
    candidates = unit_rows(rng.standard_normal((n, d)))
    positive = unit_rows(rng.standard_normal((b, 2, d)))
    negative = unit_rows(rng.standard_normal((b, 2, d)))
    # query 0's negatives are nearly equal and candidate 0 nearly opposite both: the 1e-6
    # below then outweighs their product (a missing 1e-6 multiplies that score by ~40)
    negative[0, 1] = unit_rows(negative[0, 0] + 0.05 * rng.standard_normal(d))
    candidates[0] = unit_rows(-(negative[0, 0] + negative[0, 1]))
    candidates, positive, negative = (x.astype(np.float32) for x in (candidates, positive, negative))

    def brute(pos, neg):
        out = np.empty((b, n))
        for i in range(b):
            for k, c in enumerate(candidates.astype(np.float64)):
                above = np.prod([(1 + c @ p) / 2 for p in pos[i].astype(np.float64)])
                below = np.prod([(1 + c @ m) / 2 for m in neg[i].astype(np.float64)])
                out[i, k] = above / (below + 1e-6)
        return out

    for neg in (negative, negative[:, :1], negative[:, :0]):
        got = evaluation.cos_mul_scores(candidates, positive, neg)
        assert got.shape == (b, n) and got.dtype == np.float32
        np.testing.assert_allclose(got, brute(positive, neg), rtol=2e-3)
    assert evaluation.cos_mul_scores(candidates, positive, negative)[0, 0] > 0.01


def test_functions_take_arrays_and_a_lookup(questions, tmp_path):
    kv = planted_kv()
    normed, keys = kv.get_normed_vectors(), kv.index_to_key
    assert evaluation.evaluate_word_analogies(normed, keys, questions, method="mul") == \
        kv.evaluate_word_analogies(questions, method="mul")
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("athens\tgreece\t9\nathens\tberlin\t2\nquick\tslow\t5\nrome\titaly\t8\n")
    assert evaluation.evaluate_word_pairs(normed, keys, pairs) == kv.evaluate_word_pairs(pairs)
    with pytest.raises(ValueError, match="unit-normalised"):
        evaluation.evaluate_word_analogies(kv.vectors, keys, questions)
    with pytest.raises(ValueError, match="unit-normalised"):
        evaluation.evaluate_word_pairs(kv.vectors, keys, pairs)
    with pytest.raises(ValueError, match=r"must be \(48, d\) for 48 words"):
        evaluation.evaluate_word_analogies(normed[:-1], keys, questions)
