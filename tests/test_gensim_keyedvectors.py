"""KeyedVectors as a gensim drop-in: each name called on w2v and on gensim 4 (the referee) with
the same vectors and arguments, results compared exactly where the arithmetic is the same and
to float32 rounding where w2v normalises in float64."""
import logging
import warnings

import numpy as np
import pytest

from w2v import KeyedVectors
from w2v.formats import atomic_output

gensim_kv = pytest.importorskip("gensim.models.keyedvectors")
GKV = gensim_kv.KeyedVectors

RTOL = 2e-6  # float32 rounding: w2v normalises in float64, gensim in float32


def pair(n=60, d=8, seed=0):
    """The same random vectors in a w2v and a gensim KeyedVectors."""
    rng = np.random.default_rng(seed)
    keys = [f"w{i}" for i in range(n)]
    vectors = rng.standard_normal((n, d)).astype(np.float32)
    g = GKV(d)
    g.add_vectors(keys, vectors)
    return KeyedVectors(d, keys, vectors), g


def same_kv(kv, g):
    assert kv.index_to_key == g.index_to_key
    assert kv.key_to_index == g.key_to_index
    assert kv.vectors.dtype == g.vectors.dtype
    np.testing.assert_array_equal(kv.vectors, g.vectors)


def same_hits(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=RTOL, atol=1e-6)


# ---------------------------------------------------------------- building
def test_constructor_slots_and_add_vector():
    kv, g = KeyedVectors(4, 3), GKV(4, 3)
    assert kv.index_to_key == g.index_to_key == [None] * 3 and kv.vectors.shape == g.vectors.shape
    for key, v in (("a", [1, 2, 3, 4]), ("b", [0, 1, 0, 1]), ("c", [5, 5, 5, 5])):
        assert kv.add_vector(key, np.array(v, np.float32)) == g.add_vector(key, np.array(v, np.float32))
    assert kv.next_index == g.next_index == 3
    same_kv(kv, g)
    with pytest.warns(UserWarning, match="grows by one"):
        assert kv.add_vector("d", np.ones(4, np.float32)) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g.add_vector("d", np.ones(4, np.float32))
    same_kv(kv, g)
    same_hits(kv.most_similar("a", topn=2), g.most_similar("a", topn=2))


def test_filling_a_slot_drops_the_cached_norms():
    kv = KeyedVectors(2, 2)
    kv.add_vector("a", np.array([1, 0], np.float32))
    assert kv.similarity("a", "a") == 1  # fills the cache
    kv.add_vector("b", np.array([1, 1], np.float32))
    assert kv.similarity("a", "b") == pytest.approx(0.5 ** 0.5)  # gensim would say 0 (stale)


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_constructor_dtype(dtype):
    kv, g = KeyedVectors(3, count=2, dtype=dtype), GKV(3, count=2, dtype=dtype)
    assert kv.vectors.dtype == g.vectors.dtype == dtype
    kv.add_vector("x", np.array([0.1, 0.2, 0.3]))
    g.add_vector("x", np.array([0.1, 0.2, 0.3]))
    np.testing.assert_array_equal(kv.vectors, g.vectors)


def test_w2v_form_of_the_constructor_still_works():
    kv = KeyedVectors(2, ["a", "b"], np.eye(2))
    assert kv.index_to_key == ["a", "b"] and kv.vectors.dtype == np.float32 and kv.next_index == 2
    assert len(KeyedVectors(2, ["a"])) == 1


def test_add_vectors_replace_and_setitem():
    kv, g = pair(n=5, d=3)
    rng = np.random.default_rng(1)
    new = rng.standard_normal((3, 3)).astype(np.float32)
    kv.add_vectors(["w1", "x", "y"], new)
    g.add_vectors(["w1", "x", "y"], new)
    same_kv(kv, g)  # w1 kept its old vector
    kv.add_vectors(["w2", "x"], new[:2] * 2, replace=True)
    g.add_vectors(["w2", "x"], new[:2] * 2, replace=True)
    same_kv(kv, g)
    kv["z"] = new[0]
    g["z"] = new[0]
    kv[["w0", "q"]] = new[1:]
    g[["w0", "q"]] = new[1:]
    kv.add_vectors("single", new[2])
    g.add_vectors("single", new[2])
    same_kv(kv, g)
    # the norms cache follows the replaced rows
    same_hits(kv.most_similar("w0", topn=3), g.most_similar("w0", topn=3))


def test_add_vectors_extras_and_repeated_keys():
    kv = KeyedVectors(2)
    kv.add_vectors(["a", "b", "a"], np.array([[1, 0], [0, 1], [5, 5]], np.float32),
                   extras={"count": np.array([3, 4, 9])})
    # a repeated key counts as present after its first occurrence: one row per key
    assert kv.index_to_key == ["a", "b"] and kv.vectors.tolist() == [[1, 0], [0, 1]]
    assert kv.get_vecattr("b", "count") == 4
    kv.add_vectors(["a", "c"], np.array([[7, 7], [2, 2]], np.float32),
                   extras={"count": np.array([8, 1])}, replace=True)
    assert kv["a"].tolist() == [7, 7] and kv.get_vecattr("a", "count") == 8
    assert kv.get_vecattr("c", "count") == 1
    with pytest.raises(ValueError, match="weights must be"):
        kv.add_vectors(["d"], np.ones((1, 3)))
    with pytest.raises(TypeError, match="keys must be str or int"):
        kv.add_vectors([7.5], np.ones((1, 2)))


def test_int_keys_as_gensim(tmp_path):
    """gensim's keys are str or int; an int that is a key is that key, another int in range is
    the row of that number."""
    vectors = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
    keys = [10, 20, "a", np.int64(30), "b", 2]
    kv, g = KeyedVectors(4), GKV(4)
    kv.add_vectors(keys, vectors)
    g.add_vectors(keys, vectors)
    assert kv.index_to_key == g.index_to_key and kv.key_to_index == g.key_to_index
    assert type(kv.index_to_key[3]) is int  # numpy ints are stored as int
    for key in (10, 30, np.int64(20), "a", 2, 1, 5, 4):  # 1, 4, 5: rows by number; 2: the key 2
        assert kv.get_index(key) == g.get_index(key), key
        np.testing.assert_array_equal(kv[key], g[key])
    for key in (7, 40, -1):
        assert (key in kv) == (key in g), key
    with pytest.warns(UserWarning, match="grows by one"):
        kv.add_vector(1, np.ones(4, np.float32))  # 1 was a row number; now it is a key of its own
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g.add_vector(1, np.ones(4, np.float32))
    assert kv.index_to_key == g.index_to_key and kv.get_index(1) == g.get_index(1) == 6
    kv[7] = g[7] = np.arange(4, dtype=np.float32)
    assert kv.index_to_key == g.index_to_key
    same_hits(kv.most_similar(10, topn=3), g.most_similar(10, topn=3))
    assert kv.doesnt_match([10, 20, "a", 30]) == g.doesnt_match([10, 20, "a", 30])
    assert kv.closer_than(10, "a") == g.closer_than(10, "a")
    assert kv.similarity(10, 30) == pytest.approx(g.similarity(10, 30), rel=1e-6)
    for allow in (True, False):
        ours = kv.vectors_for_all([10, "a", 3, "zz", 99], allow_inference=allow)
        theirs = g.vectors_for_all([10, "a", 3, "zz", 99], allow_inference=allow)
        same_kv(ours, theirs)
    # files: an int key is written as its digits and read back as a str, as gensim
    kv.save_word2vec_format(tmp_path / "ours.txt")
    g.save_word2vec_format(tmp_path / "theirs.txt")
    assert GKV.load_word2vec_format(tmp_path / "ours.txt").index_to_key == \
        GKV.load_word2vec_format(tmp_path / "theirs.txt").index_to_key
    kv.save(tmp_path / "ours.npz")  # the native format keeps them ints
    assert KeyedVectors.load(tmp_path / "ours.npz").index_to_key == kv.index_to_key


def test_vecattr_and_sort_by_descending_frequency():
    kv, g = pair(n=8, d=3)
    counts = [5, 9, 5, 1, 9, 0, 5, 2]  # ties: gensim puts the later row first
    for key, c in zip(kv.index_to_key, counts):
        kv.set_vecattr(key, "count", c)
        g.set_vecattr(key, "count", c)
    assert [kv.get_vecattr(k, "count") for k in kv.index_to_key] == \
           [g.get_vecattr(k, "count") for k in g.index_to_key]
    kv.sort_by_descending_frequency()
    g.sort_by_descending_frequency()
    same_kv(kv, g)
    np.testing.assert_array_equal(kv.expandos["count"], g.expandos["count"])
    with pytest.raises(TypeError):
        kv.set_vecattr("w1", "count", "many")
    with pytest.raises(KeyError, match="'sample_int'"):
        kv.get_vecattr("w1", "sample_int")


def test_resize_vectors_draws_gensims_numbers():
    kv, g = pair(n=4, d=5)
    for v in (kv, g):
        v.index_to_key += ["n1", "n2", "n3"]
        v.key_to_index.update({"n1": 4, "n2": 5, "n3": 6})
        v.resize_vectors(seed=11)
    same_kv(kv, g)
    assert not np.array_equal(kv.vectors[4], kv.vectors[5])


# ---------------------------------------------------------------- queries
def test_get_mean_vector():
    kv, g = pair()
    extra = np.linspace(-1, 1, 8).astype(np.float32)
    for keys, kwargs in ((["w1", "w2", "w3"], {}),
                         (["w1", "nope", extra], {"weights": [1.0, 2.0, -0.5]}),
                         (["w4", 7], {"pre_normalize": False, "post_normalize": True})):
        ours, theirs = kv.get_mean_vector(keys, **kwargs), g.get_mean_vector(keys, **kwargs)
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-7)
    for v in (kv, g):
        with pytest.raises(KeyError):
            v.get_mean_vector(["w1", "nope"], ignore_missing=False)
        with pytest.raises(ValueError):
            v.get_mean_vector([])


@pytest.mark.parametrize("kwargs", [
    {"positive": ["w1", "w2"], "negative": ["w3"], "topn": 7},
    {"positive": "w5", "topn": 4, "clip_start": 10, "clip_end": 40},
    {"positive": ["w5"], "topn": 5, "clip_start": 3},
    {"positive": ["w8"], "topn": 5, "clip_start": 20, "restrict_vocab": 30},
    {"positive": [("w1", 2.0), "w9"], "negative": [("w4", -0.5)], "topn": 6},
    {"positive": [np.arange(8, dtype=np.float32)], "topn": 3},
])
def test_most_similar_with_clips_and_weights(kwargs):
    kv, g = pair()
    same_hits(kv.most_similar(**kwargs), g.most_similar(**kwargs))


def test_most_similar_topn_none_is_the_scores_of_the_clip():
    kv, g = pair()
    ours = kv.most_similar("w2", topn=None, clip_start=5, clip_end=25)
    theirs = g.most_similar("w2", topn=None, clip_start=5, clip_end=25)
    assert ours.shape == theirs.shape == (20,)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-6)


def test_most_similar_hands_the_query_to_an_indexer():
    kv, g = pair()

    class Indexer:
        def most_similar(self, vector, topn):
            self.vector, self.topn = vector, topn
            return [("answer", 1.0)]

    ours, theirs = Indexer(), Indexer()
    assert kv.most_similar(["w1", "w2"], ["w3"], topn=4, indexer=ours) == [("answer", 1.0)]
    g.most_similar(["w1", "w2"], ["w3"], topn=4, indexer=theirs)
    # w2v asks for 3 more, to leave the 3 query words out (gensim returns them: docs/compat.md)
    assert theirs.topn == 4 and ours.topn == 4 + 3
    np.testing.assert_allclose(ours.vector, theirs.vector, rtol=RTOL, atol=1e-7)


def test_small_queries_agree():
    kv, g = pair()
    assert kv.most_similar_to_given("w1", ["w2", "w3", "w4", "w5"]) == \
           g.most_similar_to_given("w1", ["w2", "w3", "w4", "w5"])
    same_hits(kv.similar_by_key("w6", topn=5), g.similar_by_key("w6", topn=5))
    same_hits(kv.similar_by_word("w6", topn=5, restrict_vocab=30),
              g.similar_by_word("w6", topn=5, restrict_vocab=30))
    with pytest.warns(DeprecationWarning):
        ours = kv.words_closer_than("w1", "w2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ours == g.words_closer_than("w1", "w2")
    assert ours  # a real comparison
    for a, b, n in (("w1", "w2", 10), ("w3", "w30", 3)):
        assert kv.relative_cosine_similarity(a, b, n) == pytest.approx(
            g.relative_cosine_similarity(a, b, n), rel=1e-5)
    v = kv.vectors[3]
    np.testing.assert_allclose(KeyedVectors.cosine_similarities(v, kv.vectors[:10]),
                               GKV.cosine_similarities(v, g.vectors[:10]), rtol=1e-6)
    ours, theirs = kv.rank_by_centrality(["w1", "w2", "w3", "zz"]), g.rank_by_centrality(["w1", "w2", "w3", "zz"])
    assert [w for _, w in ours] == [w for _, w in theirs]
    np.testing.assert_allclose([s for s, _ in ours], [s for s, _ in theirs], rtol=1e-5)


def test_n_similarity_as_gensim():
    kv, g = pair()
    for ws1, ws2 in ((["w1", "w4"], ["w2", "w9"]), (["w1", "nope"], ["w2"]), (["w3"], ["w3", "w3"])):
        assert kv.n_similarity(ws1, ws2) == pytest.approx(g.n_similarity(ws1, ws2), rel=1e-5, abs=1e-7)
    assert kv.n_similarity(["nope"], ["w2"]) == g.n_similarity(["nope"], ["w2"]) == 0.0  # unknown words left out
    for ws1, ws2 in (([], ["w1"]), (["w1"], []), ([], [])):
        with pytest.raises(ZeroDivisionError):
            g.n_similarity(ws1, ws2)
        with pytest.raises(ZeroDivisionError):  # gensim's class, so gensim's except clauses catch it
            kv.n_similarity(ws1, ws2)
        with pytest.raises(ValueError, match="non-empty"):
            kv.n_similarity(ws1, ws2)


@pytest.mark.parametrize("copy_vecattrs", [False, True])
def test_vectors_for_all(copy_vecattrs):
    kv, g = pair(n=10, d=3)
    for key, c in zip(kv.index_to_key, range(50, 40, -1)):
        kv.set_vecattr(key, "count", c)
        g.set_vecattr(key, "count", c)
    keys = ["w5", "nope", "w1", "w5", "w9"]
    ours, theirs = kv.vectors_for_all(keys, copy_vecattrs=copy_vecattrs), \
        g.vectors_for_all(keys, copy_vecattrs=copy_vecattrs)
    same_kv(ours, theirs)
    np.testing.assert_array_equal(ours.expandos["count"], theirs.expandos["count"])


def test_intersect_word2vec_format(tmp_path):
    donor, _ = pair(n=6, d=8, seed=5)
    donor.index_to_key[4] = "only_in_file"
    donor.key_to_index = {k: i for i, k in enumerate(donor.index_to_key)}
    path = tmp_path / "donor.txt"  # gensim 4.4 reads no binary here (np.fromstring is gone)
    donor.save_word2vec_format(path)
    kv, g = pair(n=20, d=8)
    g.vectors_lockf = np.ones(len(g), dtype=np.float32)  # gensim's own KeyedVectors lacks it
    assert kv.intersect_word2vec_format(path, lockf=0.5) == 5
    g.intersect_word2vec_format(str(path), lockf=0.5)
    same_kv(kv, g)
    np.testing.assert_array_equal(kv.vectors_lockf, g.vectors_lockf)
    kv_small = KeyedVectors(3, ["w1"], np.ones((1, 3)))
    with pytest.raises(ValueError, match="incompatible vector size 8"):
        kv_small.intersect_word2vec_format(path)
    donor.save_word2vec_format(tmp_path / "donor.bin", binary=True)
    again = KeyedVectors(8, kv.index_to_key, kv.vectors * 0)
    again.intersect_word2vec_format(tmp_path / "donor.bin", binary=True)
    np.testing.assert_array_equal(again.vectors, kv.vectors * (again.vectors_lockf[:, None] < 1))


# ---------------------------------------------------------------- evaluation
@pytest.fixture
def analogy_file(tmp_path):
    path = tmp_path / "questions.txt"
    path.write_text(": first\nw1 w2 w3 w4\nw5 w6 w7 w8\nw1 w2 w3 unknown\n"
                    ": gram-second\nw9 w10 w11 w12\nw13 w14 w15 w16\nw2 w4 w6 w8\n")
    return path


@pytest.mark.parametrize("dummy4unknown", [False, True])
def test_evaluate_word_analogies_dummy4unknown_and_similarity_function(analogy_file, dummy4unknown):
    kv, g = pair()
    # make some answers right: w4 = w3 + w2 - w1, and so on
    for v in (kv, g):
        for a, b, c, d in ((1, 2, 3, 4), (9, 10, 11, 12)):
            v.vectors[d] = v.vectors[b] + v.vectors[c] - v.vectors[a]
        v.fill_norms(force=True)
    ours = kv.evaluate_word_analogies(analogy_file, 300000, True, dummy4unknown, "most_similar")
    theirs = g.evaluate_word_analogies(str(analogy_file), 300000, True, dummy4unknown, "most_similar")
    assert ours[0] == theirs[0] > 0
    for a, b in zip(ours[1], theirs[1]):
        assert (a["section"], a["correct"], a["incorrect"]) == (b["section"], b["correct"], b["incorrect"])
    cosmul = kv.evaluate_word_analogies(analogy_file, similarity_function="most_similar_cosmul")
    assert cosmul[0] == kv.evaluate_word_analogies(analogy_file, method="mul")[0]
    with pytest.raises(ValueError, match="similarity_function"):
        kv.evaluate_word_analogies(analogy_file, similarity_function="nearest")


def test_log_accuracy(caplog):
    section = {"section": "capitals", "correct": [1, 2], "incorrect": [3]}
    with caplog.at_level(logging.INFO, logger="w2v"):
        KeyedVectors.log_accuracy(section)
        KeyedVectors.log_accuracy({"section": "empty", "correct": [], "incorrect": []})
    assert [r.getMessage() for r in caplog.records] == ["capitals: 66.7% (2/3)"]


@pytest.mark.parametrize("dummy4unknown", [False, True])
def test_evaluate_word_pairs(tmp_path, dummy4unknown):
    kv, g = pair()
    path = tmp_path / "pairs.tsv"
    rng = np.random.default_rng(3)
    lines = [f"w{rng.integers(60)}\tw{rng.integers(60)}\t{rng.uniform(0, 10):.2f}" for _ in range(30)]
    path.write_text("# comment\n" + "\n".join(lines + ["w1\tunknown\t3.0"]) + "\n")
    ours = kv.evaluate_word_pairs(path, dummy4unknown=dummy4unknown)
    theirs = g.evaluate_word_pairs(str(path), dummy4unknown=dummy4unknown)
    np.testing.assert_allclose(np.array(ours[:2]), np.array(theirs[:2]), rtol=1e-6)
    assert ours[2] == theirs[2] > 0


# ---------------------------------------------------------------- files
def counted_pair(n=12, d=4):
    kv, g = pair(n=n, d=d, seed=2)
    rng = np.random.default_rng(7)
    counts = rng.integers(1, 6, n)  # ties: the stable order must match gensim's
    for key, c in zip(kv.index_to_key, counts.tolist()):
        kv.set_vecattr(key, "count", c)
        g.set_vecattr(key, "count", c)
    return kv, g


def load_both(path, **kwargs):
    return (KeyedVectors.load_word2vec_format(path, **kwargs),
            GKV.load_word2vec_format(str(path), **kwargs))


@pytest.mark.parametrize("binary", [False, True])
def test_save_word2vec_format_positional_fvocab_and_sort(tmp_path, binary):
    kv, g = counted_pair()
    ours, theirs = tmp_path / "ours.vec", tmp_path / "theirs.vec"
    kv.save_word2vec_format(ours, tmp_path / "ours.vocab", binary)
    g.save_word2vec_format(str(theirs), str(tmp_path / "theirs.vocab"), binary)
    assert (tmp_path / "ours.vocab").read_bytes() == (tmp_path / "theirs.vocab").read_bytes()
    for path in (ours, theirs):  # each library reads both files the same
        a, b = load_both(path, binary=binary, fvocab=str(tmp_path / "ours.vocab"))
        same_kv(a, b)
        np.testing.assert_array_equal(a.expandos["count"], b.expandos["count"])
    a, b = load_both(ours, binary=binary), load_both(theirs, binary=binary)
    same_kv(a[0], b[1])
    assert a[0].index_to_key != kv.index_to_key  # sorted by count: a real test


@pytest.mark.parametrize("binary", [False, True])
def test_save_total_vec_prefix_append_and_no_header(tmp_path, binary):
    kv, g = counted_pair()
    extra, g_extra = pair(n=3, d=4, seed=9)
    ours, theirs = tmp_path / "ours.vec", tmp_path / "theirs.vec"
    kv.save_word2vec_format(ours, binary=binary, total_vec=15, prefix="A_")
    g.save_word2vec_format(str(theirs), binary=binary, total_vec=15, prefix="A_")
    extra.save_word2vec_format(ours, binary=binary, write_header=False, prefix="B_", append=True)
    g_extra.save_word2vec_format(str(theirs), binary=binary, write_header=False, prefix="B_", append=True)
    a, b = load_both(ours, binary=binary), load_both(theirs, binary=binary)
    same_kv(a[0], b[1])
    same_kv(a[1], b[0])
    assert len(a[0]) == 15 and a[0].index_to_key[0].startswith("A_") and a[0].index_to_key[-1] == "B_w2"
    if not binary:
        kv.save_word2vec_format(ours, write_header=False)
        g.save_word2vec_format(str(theirs), write_header=False)
        for path in (ours, theirs):
            a, b = load_both(path, no_header=True)
            same_kv(a, b)
            np.testing.assert_array_equal(a.expandos["count"], b.expandos["count"])
            a, b = load_both(path, no_header=True, limit=5)
            same_kv(a, b)
    with pytest.raises(NotImplementedError, match="text files only"):
        KeyedVectors.load_word2vec_format(ours, binary=True, no_header=True)


def test_fvocab_needs_the_sort_attribute(tmp_path):
    kv, g = pair(n=3, d=2)
    for v, name in ((kv, tmp_path / "a.vec"), (g, str(tmp_path / "b.vec"))):
        with pytest.raises(ValueError, match="'count' because that attribute does not exist"):
            v.save_word2vec_format(name, fvocab=str(tmp_path / "v.txt"))
    assert not (tmp_path / "v.txt").exists()


def test_an_append_is_atomic(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"old\n")
    with pytest.raises(RuntimeError):
        with atomic_output(path, append=True) as f:
            f.write(b"new\n")
            raise RuntimeError("crash halfway")
    assert path.read_bytes() == b"old\n"
    with atomic_output(path, append=True) as f:
        f.write(b"new\n")
    assert path.read_bytes() == b"old\nnew\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt"]


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("datatype", [np.float16, np.float32, np.float64])
def test_load_word2vec_format_all_arguments_positionally(tmp_path, binary, datatype):
    rng = np.random.default_rng(4)
    keys = ["the", "héllo", "of", "the", "x"]  # a repeated word: both keep the first
    vectors = rng.standard_normal((5, 3))
    path = tmp_path / "v.bin"
    with open(path, "wb") as f:
        f.write(b"5 3\n")
        for k, v in zip(keys, vectors):
            if binary:
                f.write(k.encode() + b" " + v.astype(np.float32).tobytes() + b"\n")
            else:
                f.write(f"{k} {' '.join(repr(float(x)) for x in v)}\n".encode())
    args = (None, binary, "utf8", "strict", None, datatype, False)
    ours = KeyedVectors.load_word2vec_format(path, *args)
    theirs = GKV.load_word2vec_format(str(path), *args)
    # gensim leaves an empty slot (None) at the end for the repeated word; w2v has 4 words
    assert theirs.index_to_key[4] is None and not theirs.vectors[4].any()
    theirs.index_to_key, theirs.vectors = theirs.index_to_key[:4], theirs.vectors[:4]
    same_kv(ours, theirs)
    np.testing.assert_array_equal(ours.expandos["count"], theirs.expandos["count"][:4])
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("the 10\nhéllo 7\nof 3\nx 1\n")
    args = (str(vocab), binary, "utf8", "strict", 3, datatype, False)
    ours = KeyedVectors.load_word2vec_format(path, *args)
    theirs = GKV.load_word2vec_format(str(path), *args)
    same_kv(ours, theirs)
    assert [ours.get_vecattr(k, "count") for k in ours.index_to_key] == \
           [theirs.get_vecattr(k, "count") for k in theirs.index_to_key] == [10, 7, 3]


@pytest.mark.parametrize("binary", [False, True])
def test_a_truncated_file_is_an_eoferror_in_both(tmp_path, binary):
    kv, _ = pair(n=10, d=4)
    path = tmp_path / "v.vec"
    kv.save_word2vec_format(path, binary=binary)
    data = path.read_bytes()
    # a text file cut at a line's end (gensim loads a row cut within a line, short of values)
    path.write_bytes(data[:-40] if binary else data[: data.rindex(b"\n", 0, -1) + 1])
    for load in (KeyedVectors.load_word2vec_format, GKV.load_word2vec_format):
        with pytest.raises(EOFError):
            load(str(path), binary=binary)


def test_module_level_loader_and_doc2vec_only_name(tmp_path):
    kv, g = pair(n=4, d=3)
    kv.save_word2vec_format(tmp_path / "v.txt")
    from w2v.vectors import load_word2vec_format

    same_kv(load_word2vec_format(tmp_path / "v.txt"), gensim_kv.load_word2vec_format(str(tmp_path / "v.txt")))
    for v in (kv, g):
        with pytest.raises(NotImplementedError):
            v.similarity_unseen_docs(["a"], ["b"])


def test_a_trained_model_s_vectors_carry_the_counts_as_gensim_s_do(tmp_path):
    from gensim.models import Word2Vec as GWord2Vec

    from w2v import Word2Vec
    sentences = [["a", "b", "c", "a"], ["b", "a", "d"]] * 20
    ours = Word2Vec(sentences, vector_size=4, min_count=1, epochs=1, workers=1, progress=False)
    theirs = GWord2Vec(sentences, vector_size=4, min_count=1, epochs=1, workers=1)
    for w in "abcd":
        assert ours.wv.get_vecattr(w, "count") == theirs.wv.get_vecattr(w, "count")
    ours.save(tmp_path / "m.w2v")
    assert Word2Vec.load(tmp_path / "m.w2v").wv.get_vecattr("a", "count") == 60
    ours.wv.save_word2vec_format(tmp_path / "v.txt", tmp_path / "vocab.txt")
    assert (tmp_path / "vocab.txt").read_text().splitlines()[0] == "a 60"
