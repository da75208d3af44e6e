"""w2v.index: approximate neighbours against exact search, files, the indexer protocol, the CLI.

The vectors are a seeded mixture of anisotropic Gaussian clusters whose norms vary 25-fold, as
word vectors' do with frequency: cosine and Euclidean neighbours then differ, so an index
that ranked by distance on the raw vectors would fail the recall tests.
"""
import json
import sys

import numpy as np
import pytest

from w2v import KeyedVectors
from w2v import index as w2v_index
from w2v.cli import main
from w2v.errors import DamagedFileError, IndexMismatchError

pytest.importorskip("hnswlib")

V, D, CLUSTERS, K = 3000, 16, 30, 10
KINDS = ("hnsw", "nndescent")


def clustered(seed=0, n=V):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, D)) * 2
    axis_sd = 1.0 / np.sqrt(np.arange(1, D + 1))
    labels = rng.integers(0, CLUSTERS, n)
    x = centres[labels] + (rng.standard_normal((n, D)) * axis_sd) @ np.linalg.qr(rng.standard_normal((D, D)))[0]
    x *= np.exp(rng.uniform(np.log(0.2), np.log(5.0), n))[:, None]
    return KeyedVectors(D, [f"w{i}" for i in range(n)], x.astype(np.float32))


def exact_top(kv, rows, k=K):
    """Reference: rows of the k best cosines of each query row, the row itself left out."""
    unit = kv.vectors / np.linalg.norm(kv.vectors, axis=1, keepdims=True)
    scores = unit[rows] @ unit.T
    scores[np.arange(len(rows)), rows] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def recall(found, truth):
    return np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)])


@pytest.fixture(scope="module")
def kv():
    return clustered()


@pytest.fixture(scope="module")
def built(kv):
    """built[kind]: one index of each kind, built on first use (pynndescent compiles for tens of
    seconds on its first build); a kind whose library is missing skips the test."""
    class Cache(dict):
        def __missing__(self, kind):
            pytest.importorskip(w2v_index.INDEXERS[kind].library)
            self[kind] = w2v_index.build_index(kv, kind, threads=1)
            return self[kind]

    return Cache()


def index_of(built, kind):
    return built[kind]


QUERY_ROWS = np.random.default_rng(1).choice(V, size=300, replace=False)


# ---------------------------------------------------------------- answers
@pytest.mark.parametrize("kind", KINDS)
def test_recall_against_exact_search(kv, built, kind):
    index = index_of(built, kind)
    truth = exact_top(kv, QUERY_ROWS)
    found = [[kv.key_to_index[w] for w, _ in kv.most_similar(kv.index_to_key[r], topn=K, indexer=index)]
             for r in QUERY_ROWS.tolist()]
    # measured 0.99-1.0 for both with the default settings; a distance order, a lost row or a
    # shifted label brings it far below
    assert recall(found, truth) >= 0.9
    # the query word is never its own answer
    assert all(r not in f for r, f in zip(QUERY_ROWS.tolist(), found))


@pytest.mark.parametrize("kind", KINDS)
def test_query_returns_exact_cosines_best_first(kv, built, kind):
    index = index_of(built, kind)
    unit = kv.get_normed_vectors()
    rows, cosines = index.query(unit[QUERY_ROWS[:50]] * 3.0, K)  # any scale: queries are normalised
    assert rows.shape == cosines.shape == (50, K) and rows.dtype == np.int64
    expected = np.einsum("bkd,bd->bk", unit[rows], unit[QUERY_ROWS[:50]])
    np.testing.assert_allclose(cosines, expected, atol=1e-5)
    assert np.all(np.diff(cosines, axis=1) <= 0)
    # the query row itself is the nearest (cosine 1) when it is in the index
    assert np.mean(rows[:, 0] == QUERY_ROWS[:50]) >= 0.95


@pytest.mark.parametrize("kind", KINDS)
def test_protocol_answer_is_words_and_floats(kv, built, kind):
    index = index_of(built, kind)
    hits = index.most_similar(kv.get_normed_vectors()[7], 5)
    assert len(hits) == 5 and hits[0][0] == "w7"
    assert all(isinstance(w, str) and isinstance(c, float) for w, c in hits)
    assert len(index.most_similar(kv.get_normed_vectors()[7], 10 * V)) == V  # k is capped


def test_search_setting_changes_the_answers_not_the_index(kv, built):
    index = built["hnsw"]
    truth = exact_top(kv, QUERY_ROWS)
    index.ef = 1
    low = recall(index.query(kv.get_normed_vectors()[QUERY_ROWS], K + 1)[0][:, 1:], truth)
    index.ef = 200
    high = recall(index.query(kv.get_normed_vectors()[QUERY_ROWS], K + 1)[0][:, 1:], truth)
    index.ef = w2v_index.HnswIndexer.defaults["ef"]
    assert high >= 0.97 and high >= low


# ---------------------------------------------------------------- most_similar(indexer=)
class ExactIndexer:
    """A minimal object following gensim's protocol: exact answers, query words included."""

    def __init__(self, kv):
        self.kv, self.asked = kv, []

    def most_similar(self, vector, num_neighbors):
        self.asked.append(num_neighbors)
        scores = self.kv.get_normed_vectors() @ vector
        best = np.argsort(-scores, kind="stable")[:num_neighbors]
        return [(self.kv.index_to_key[i], float(scores[i])) for i in best.tolist()]


@pytest.mark.parametrize("query", [
    {"positive": ["w5"]},
    {"positive": ["w5", "w9"], "negative": ["w11"]},
    {"positive": [("w5", 2.0), "w12"]},
])
def test_an_exact_indexer_gives_most_similars_answer(kv, query):
    fake = ExactIndexer(kv)
    ours = kv.most_similar(**query, topn=8, indexer=fake)
    assert [w for w, _ in ours] == [w for w, _ in kv.most_similar(**query, topn=8)]
    words = {q if isinstance(q, str) else q[0] for q in query.get("positive", []) + query.get("negative", [])}
    assert not words & {w for w, _ in ours}
    assert fake.asked[0] == 8 + len(words)


def test_indexer_answers_are_kept_to_the_clips(kv):
    fake = ExactIndexer(kv)
    ours = kv.most_similar("w2500", topn=5, restrict_vocab=200, indexer=fake)
    assert [w for w, _ in ours] == [w for w, _ in kv.most_similar("w2500", topn=5, restrict_vocab=200)]
    assert len(fake.asked) > 1 and fake.asked == sorted(fake.asked)  # asked again for more
    ours = kv.most_similar("w5", topn=5, clip_start=1000, clip_end=2000, indexer=fake)
    assert [w for w, _ in ours] == [w for w, _ in kv.most_similar("w5", topn=5, clip_start=1000, clip_end=2000)]


def test_an_indexer_with_fewer_answers_is_not_asked_forever(kv):
    class Few:
        calls = 0

        def most_similar(self, vector, n):
            Few.calls += 1
            return [("w5", 1.0), ("w1", 0.5)]

    assert kv.most_similar("w5", topn=3, indexer=Few()) == [("w1", 0.5)]
    assert Few.calls == 1
    assert kv.most_similar("w5", topn=None, indexer=Few()).shape == (V,)  # scores: exact, as gensim


def test_gensim_annoy_indexer_plugs_in(kv):
    pytest.importorskip("annoy")
    from gensim.models import KeyedVectors as GensimKeyedVectors
    from gensim.similarities.annoy import AnnoyIndexer

    g = GensimKeyedVectors(D, count=0)
    g.add_vectors(kv.index_to_key, kv.vectors)
    annoy = AnnoyIndexer(g, 20)
    truth = exact_top(kv, QUERY_ROWS[:100])
    found = [[kv.key_to_index[w] for w, _ in kv.most_similar(kv.index_to_key[r], topn=K, indexer=annoy)]
             for r in QUERY_ROWS[:100].tolist()]
    assert recall(found, truth) >= 0.8
    assert all(r not in f for r, f in zip(QUERY_ROWS[:100].tolist(), found))


# ---------------------------------------------------------------- files
@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_round_trip(kv, built, kind, tmp_path):
    index = index_of(built, kind)
    path = tmp_path / f"v.{kind}.index"
    index.save(path)
    loaded = w2v_index.load_index(path, kv)
    assert type(loaded) is type(index) and loaded.params == index.params and loaded.keys == kv.index_to_key
    queries = kv.get_normed_vectors()[QUERY_ROWS]
    a, b = index.query(queries, K)[0], loaded.query(queries, K)[0]
    assert recall(b, a) >= 0.98  # pynndescent draws random starting points: nearly, not always, equal
    if kind == "hnsw":
        np.testing.assert_array_equal(a, b)
    # nothing pickled: the file opens without allowing it
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(bytes(npz["meta"]))
    assert meta["kind"] == kind and meta["version"] == w2v_index.INDEX_VERSION
    assert meta["vectors"]["count"] == V and meta["vectors"]["vector_size"] == D


def test_a_loaded_index_binds_equal_vectors_from_another_file(kv, built, tmp_path):
    built["hnsw"].save(tmp_path / "v.index")
    copy = KeyedVectors(D, list(kv.index_to_key), kv.vectors.copy())
    assert w2v_index.load_index(tmp_path / "v.index", copy).most_similar(copy["w3"], 1)[0][0] == "w3"


@pytest.mark.parametrize("change", ["values", "order", "fewer", "dimensions"])
def test_an_index_of_other_vectors_is_refused(kv, built, tmp_path, change):
    path = tmp_path / "v.index"
    built["hnsw"].save(path)
    keys, vectors = list(kv.index_to_key), kv.vectors.copy()
    if change == "values":
        vectors[17, 3] += 1e-3
    elif change == "order":
        keys[3], keys[4] = keys[4], keys[3]
    elif change == "fewer":
        keys, vectors = keys[:-1], vectors[:-1]
    else:
        vectors = np.hstack([vectors, vectors[:, :1]])
    other = KeyedVectors(vectors.shape[1], keys, vectors)
    with pytest.raises(IndexMismatchError, match="does not belong to these vectors"):
        w2v_index.load_index(path, other)


def test_an_index_that_answers_otherwise_after_loading_is_refused(kv, built, tmp_path):
    path = tmp_path / "v.index"
    built["hnsw"].save(path)
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files if name != "meta"}
        meta = json.loads(bytes(npz["meta"]))
    meta["probes"]["found"] = [[(r + 1) % V for r in row] for row in meta["probes"]["found"]]
    from w2v import formats
    formats.save_npz(path, arrays, meta)
    with pytest.raises(IndexMismatchError, match="probe"):
        w2v_index.load_index(path, kv)


def test_damaged_and_foreign_files(kv, built, tmp_path):
    path = tmp_path / "v.index"
    built["hnsw"].save(path)
    data = path.read_bytes()
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])
    with pytest.raises(DamagedFileError):
        w2v_index.load_index(tmp_path / "cut", kv)
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # inside the hnsw arrays: the member's CRC-32 catches it
    (tmp_path / "flipped").write_bytes(bytes(flipped))
    with pytest.raises(DamagedFileError):
        w2v_index.load_index(tmp_path / "flipped", kv)
    kv.save(tmp_path / "vectors.npz")  # an npz, but no index
    with pytest.raises(DamagedFileError):
        w2v_index.load_index(tmp_path / "vectors.npz", kv)
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files if name != "meta"}
        meta = json.loads(bytes(npz["meta"]))
    from w2v import formats
    formats.save_npz(tmp_path / "newer", arrays, {**meta, "version": w2v_index.INDEX_VERSION + 1})
    with pytest.raises(ValueError, match="newer"):
        w2v_index.load_index(tmp_path / "newer", kv)
    with pytest.raises(FileNotFoundError):
        w2v_index.load_index(tmp_path / "missing", kv)


def test_an_nndescent_file_of_another_pynndescent_version_is_refused(kv, built, tmp_path, monkeypatch):
    index = index_of(built, "nndescent")
    index.save(tmp_path / "v.index")
    import pynndescent
    monkeypatch.setattr(pynndescent, "__version__", "0.0.1")
    with pytest.raises(IndexMismatchError, match="pynndescent"):
        w2v_index.load_index(tmp_path / "v.index", kv)


# ---------------------------------------------------------------- settings and the extra
def test_settings_are_checked(kv):
    with pytest.raises(TypeError, match="unknown hnsw index parameters"):
        w2v_index.build_index(kv, "hnsw", n_neighbors=5)
    with pytest.raises(ValueError, match="M must be"):
        w2v_index.build_index(kv, "hnsw", M=0)
    with pytest.raises(ValueError, match="index kind"):
        w2v_index.build_index(kv, "annoy")
    with pytest.raises(ValueError, match="empty"):
        w2v_index.build_index(KeyedVectors(D, [], np.zeros((0, D), np.float32)), "hnsw")


@pytest.mark.parametrize("kind,module", [("hnsw", "hnswlib"), ("nndescent", "pynndescent")])
def test_a_missing_library_names_the_extra(kv, kind, module, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # import of it raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'w2v\[index\]'"):
        w2v_index.build_index(kv, kind)


def test_import_w2v_does_not_import_the_libraries():
    import subprocess
    code = ("import sys, w2v, w2v.vectors, w2v.cli; "
            "print(any(m in sys.modules for m in ('hnswlib', 'pynndescent', 'w2v.index')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- w2v similar --index
def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def vectors_file(tmp_path, kv):
    path = tmp_path / "vectors.bin"
    kv.save_word2vec_format(path, binary=True)
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_cli_builds_then_loads_the_index_beside_the_vectors(capsys, vectors_file, kind):
    if kind == "nndescent":
        pytest.importorskip("pynndescent")
    code, exact_out, _ = run(capsys, "similar", vectors_file, "w10", "-n", "5")
    assert code == 0
    saved = vectors_file.parent / f"vectors.bin.{kind}.index"
    code, out, err = run(capsys, "similar", vectors_file, "w10", "-n", "5", "--index", kind)
    assert code == 0 and saved.exists() and "built the" in err and "saved" in err
    assert out == exact_out  # same words, same 4-digit cosines, on these vectors
    code, out, err = run(capsys, "similar", vectors_file, "w10", "-n", "5", "--index", kind)
    assert code == 0 and "loaded" in err and "built" not in err and out == exact_out


def test_cli_rebuilds_an_index_of_other_vectors(capsys, vectors_file, tmp_path):
    assert run(capsys, "similar", vectors_file, "w10", "--index", "hnsw")[0] == 0
    clustered(seed=5).save_word2vec_format(vectors_file, binary=True)  # new vectors, same name
    code, out, err = run(capsys, "similar", vectors_file, "w10", "-n", "3", "--index", "hnsw")
    assert code == 0 and "does not belong" in err and "building" in err
    assert out == run(capsys, "similar", vectors_file, "w10", "-n", "3")[1]


def test_cli_index_file_and_its_checks(capsys, vectors_file, tmp_path):
    other = tmp_path / "elsewhere.idx"
    code, _, _ = run(capsys, "similar", vectors_file, "w1", "--index", "hnsw", "--index-file", other)
    assert code == 0 and other.exists() and not (tmp_path / "vectors.bin.hnsw.index").exists()
    before = vectors_file.read_bytes()
    code, _, err = run(capsys, "similar", vectors_file, "w1", "--index", "hnsw", "--index-file", vectors_file)
    assert code == 2 and "same file" in err and vectors_file.read_bytes() == before
    code, _, err = run(capsys, "similar", vectors_file, "w1", "--index-file", other)
    assert code == 2 and "--index" in err


def test_cli_answers_when_the_index_cannot_be_saved(capsys, vectors_file, tmp_path, caplog):
    from w2v import index as module

    def refuse(self, path):
        raise PermissionError(13, "Permission denied", str(path))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(module.HnswIndexer, "save", refuse)
        code, out, err = run(capsys, "similar", vectors_file, "w10", "-n", "3", "--index", "hnsw")
    assert code == 0 and "could not save" in err and len(out.splitlines()) == 4
