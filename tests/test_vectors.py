"""KeyedVectors queries against brute-force numpy (and gensim where installed)."""
import numpy as np
import pytest

from w2v import KeyedVectors
from w2v.vectors import load_vectors, save_vectors, top_k


def random_kv(n=500, d=16, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, d)).astype(np.float32)
    return KeyedVectors(d, [f"w{i}" for i in range(n)], vectors)


def brute_force(kv, positive, negative, topn, restrict=None):
    """Cosine ranking by the definition: mean of unit vectors, full sort, query words removed."""
    v = kv.vectors.astype(np.float64)
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    rows = [kv.key_to_index[w] for w in positive + negative]
    q = sum(unit[kv.key_to_index[w]] for w in positive) - sum(unit[kv.key_to_index[w]] for w in negative)
    q /= np.linalg.norm(q)
    sims = unit[:restrict] @ q
    order = [i for i in np.argsort(-sims) if i not in rows][:topn]
    return [kv.index_to_key[i] for i in order], sims[order]


@pytest.mark.parametrize("positive,negative,topn,restrict", [
    (["w1"], [], 10, None),
    (["w1", "w2"], ["w3"], 7, None),
    (["w4"], ["w5", "w6"], 3, 100),
    (["w10", "w11", "w12"], [], 25, 200),
])
def test_most_similar_equals_brute_force(positive, negative, topn, restrict):
    kv = random_kv()
    got = kv.most_similar(positive=positive, negative=negative, topn=topn, restrict_vocab=restrict)
    words, sims = brute_force(kv, positive, negative, topn, restrict)
    assert [w for w, _ in got] == words
    np.testing.assert_allclose([s for _, s in got], sims, atol=1e-5)


def test_most_similar_accepts_string_vector_and_topn_none():
    kv = random_kv()
    assert kv.most_similar("w3", topn=5) == kv.most_similar(positive=["w3"], topn=5)
    by_vec = kv.most_similar(positive=[kv["w3"]], topn=2)
    assert by_vec[0][0] == "w3" and by_vec[0][1] == pytest.approx(1.0, abs=1e-5)
    assert kv.similar_by_vector(kv["w3"], topn=1)[0][0] == "w3"
    assert [w for w, _ in kv.similar_by_word("w3", topn=4)] == [w for w, _ in kv.most_similar("w3", topn=4)]
    all_sims = kv.most_similar("w3", topn=None)
    assert all_sims.shape == (len(kv),) and all_sims[3] == pytest.approx(1.0, abs=1e-5)
    assert kv.most_similar("w3", topn=0) == []


def test_most_similar_batch_matches_single_queries():
    kv = random_kv()
    words = ["w1", "w7", "w42"]
    batch = kv.most_similar_batch(words, topn=5)
    for w, hits in zip(words, batch):
        single = kv.most_similar(w, topn=5)
        assert [x for x, _ in hits] == [x for x, _ in single]


def test_top_k_is_sorted_and_exact():
    rng = np.random.default_rng(3)
    scores = rng.standard_normal((4, 50)).astype(np.float32)
    best = top_k(scores, 6)
    np.testing.assert_array_equal(best, np.argsort(-scores, axis=1)[:, :6])
    assert top_k(scores, 80).shape == (4, 50)


def test_cosmul_matches_formula_on_hand_built_example():
    vectors = np.array([[1, 0], [0, 1], [1, 1], [1, -1], [-1, 0.5]], dtype=np.float32)
    kv = KeyedVectors(2, ["a", "b", "c", "d", "e"], vectors)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cos = unit @ unit.T
    shifted = (1 + cos) / 2
    expected = shifted[:, 1] * shifted[:, 2] / (shifted[:, 0] + 1e-6)  # b + c - a
    got = dict(kv.most_similar_cosmul(positive=["b", "c"], negative=["a"], topn=5))
    assert set(got) == {"d", "e"}
    for word, i in (("d", 3), ("e", 4)):
        assert got[word] == pytest.approx(expected[i], rel=1e-5)
    ranked = [w for w, _ in kv.most_similar_cosmul(positive=["b", "c"], negative=["a"], topn=2)]
    assert ranked == sorted(["d", "e"], key=lambda w: -got[w])


def test_similarity_distance_rank_doesnt_match():
    kv = random_kv(n=200, d=8)
    u = kv.get_normed_vectors()
    assert kv.similarity("w1", "w2") == pytest.approx(float(u[1] @ u[2]), abs=1e-6)
    assert kv.distance("w1", "w2") == pytest.approx(1 - float(u[1] @ u[2]), abs=1e-6)
    np.testing.assert_allclose(kv.distances("w1", ["w2", "w3"]), 1 - u[[2, 3]] @ u[1], atol=1e-6)
    assert kv.distances("w1").shape == (200,)
    nearest = kv.most_similar("w1", topn=3)
    assert kv.rank("w1", nearest[0][0]) == 1 and kv.rank("w1", nearest[2][0]) == 3
    m1, m2 = kv[["w1", "w4"]].mean(0), kv[["w2"]].mean(0)
    assert kv.n_similarity(["w1", "w4"], ["w2"]) == pytest.approx(
        float(m1 @ m2 / np.linalg.norm(m1) / np.linalg.norm(m2)), abs=1e-6)


def test_doesnt_match_finds_planted_outlier():
    rng = np.random.default_rng(5)
    center = rng.standard_normal(20)
    group = [center + 0.1 * rng.standard_normal(20) for _ in range(5)]
    outlier = -center + 0.1 * rng.standard_normal(20)
    kv = KeyedVectors(20, ["a", "b", "c", "d", "e", "odd"], np.array(group + [outlier], np.float32))
    assert kv.doesnt_match(["a", "odd", "b", "c", "d", "e"]) == "odd"
    assert kv.doesnt_match(["a", "odd", "b", "unknown"]) == "odd"  # unknown ignored, as gensim


@pytest.mark.parametrize("call", [
    lambda kv: kv["nosuchword"],
    lambda kv: kv[["w1", "nosuchword"]],
    lambda kv: kv.get_vector("nosuchword"),
    lambda kv: kv.most_similar("nosuchword"),
    lambda kv: kv.most_similar(positive=["w1"], negative=["nosuchword"]),
    lambda kv: kv.most_similar_cosmul(positive=["nosuchword"]),
    lambda kv: kv.similarity("w1", "nosuchword"),
    lambda kv: kv.rank("nosuchword", "w1"),
    lambda kv: kv.distances("w1", ["nosuchword"]),
])
def test_unknown_word_keyerror_names_it(call):
    with pytest.raises(KeyError, match="nosuchword"):
        call(random_kv(n=20))


def test_basic_container_interface():
    kv = random_kv(n=20, d=4)
    assert len(kv) == 20 and "w3" in kv and "x" not in kv
    assert kv["w3"].shape == (4,) and kv[["w3", "w4"]].shape == (2, 4)
    np.testing.assert_array_equal(kv.get_vector("w3"), kv.vectors[3])
    assert np.linalg.norm(kv.get_vector("w3", norm=True)) == pytest.approx(1, abs=1e-6)
    empty = KeyedVectors(4)
    assert len(empty) == 0 and empty.vectors.shape == (0, 4)


def test_cache_invalidated_when_vectors_reassigned():
    kv = random_kv(n=50, d=4)
    before = kv.most_similar("w1", topn=1)
    assert kv.norms is not None
    new = kv.vectors.copy()
    new[7] = new[1] * 3  # w7 becomes parallel to w1
    kv.vectors = new
    assert kv.norms is None
    assert kv.most_similar("w1", topn=1)[0][0] == "w7" != before[0][0]
    kv.vectors[9] = kv.vectors[1] * 2  # in-place edits need an explicit refresh, as in gensim
    kv.fill_norms(force=True)
    assert {w for w, _ in kv.most_similar("w1", topn=2)} == {"w7", "w9"}
    kv.vectors[11] = kv.vectors[1]
    kv.norms = None  # gensim's idiom also drops the cache
    assert "w11" in {w for w, _ in kv.most_similar("w1", topn=3)}


def test_zero_vector_has_zero_similarity_not_nan():
    vectors = np.array([[1, 0], [0, 0], [0, 1]], dtype=np.float32)
    kv = KeyedVectors(2, ["a", "zero", "b"], vectors)
    assert kv.similarity("a", "zero") == 0.0
    assert all(np.isfinite(s) for _, s in kv.most_similar("a"))


def test_unit_normalize_all():
    kv = random_kv(n=30, d=5)
    kv.unit_normalize_all()
    np.testing.assert_allclose(np.linalg.norm(kv.vectors, axis=1), 1, atol=1e-6)


def test_load_and_save_any_format(tmp_path):
    kv = random_kv(n=40, d=6)
    for name in ("v.txt", "v.bin", "v.npz"):
        save_vectors(kv, tmp_path / name)
        back = load_vectors(tmp_path / name)
        assert back.index_to_key == kv.index_to_key
        np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert len(load_vectors(tmp_path / "v.npz", limit=5)) == 5
    with pytest.raises(ValueError, match="output format"):
        save_vectors(kv, tmp_path / "v.unknown")


def test_queries_agree_with_gensim():
    gensim_models = pytest.importorskip("gensim.models")
    kv = random_kv(n=300, d=12, seed=9)
    g = gensim_models.KeyedVectors(12)
    g.add_vectors(kv.index_to_key, kv.vectors)
    for pos, neg in ((["w1", "w2"], ["w3"]), (["w5"], [])):
        assert [w for w, _ in kv.most_similar(pos, neg, topn=8)] == \
               [w for w, _ in g.most_similar(pos, neg, topn=8)]
        np.testing.assert_allclose([s for _, s in kv.most_similar_cosmul(pos, neg, topn=8)],
                                   [s for _, s in g.most_similar_cosmul(pos, neg, topn=8)], rtol=1e-5)
    assert kv.doesnt_match(["w1", "w2", "w3", "w4"]) == g.doesnt_match(["w1", "w2", "w3", "w4"])
    assert kv.rank("w1", "w2") == g.rank("w1", "w2")
    assert kv.n_similarity(["w1", "w4"], ["w2", "w9"]) == pytest.approx(
        g.n_similarity(["w1", "w4"], ["w2", "w9"]), abs=1e-6)
