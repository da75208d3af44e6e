"""docs/migrating-from-gensim.md lists every public name of gensim's Word2Vec, KeyedVectors, corpus
readers and callbacks, and every name it calls "same" exists in w2v."""
import re
from pathlib import Path

import pytest

import w2v
from w2v import KeyedVectors, Word2Vec, callbacks, vectors

DOC = Path(__file__).resolve().parent.parent / "docs" / "migrating-from-gensim.md"


def table_rows():
    """{section: [(names in the first column, status)]}."""
    rows, section = {}, None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:]
            rows[section] = []
        elif line.startswith("| `") and section:
            first, status = line.split("|")[1:3]
            names = [re.match(r"[\w.]+", code).group(0) for code in re.findall(r"`([^`]+)`", first)]
            rows[section].append((names, status.strip()))
    return rows


def listed(section):
    return {n for names, _ in table_rows()[section] for n in names}


def test_every_gensim_keyedvectors_name_is_in_the_table():
    kv_module = pytest.importorskip("gensim.models.keyedvectors")
    cls = kv_module.KeyedVectors
    names = {n for n in dir(cls) if not n.startswith("_")}
    names |= {n for n in vars(cls(3, 1)) if not n.startswith("_")}  # instance attributes
    names |= {"__contains__", "__getitem__", "__setitem__", "__len__", "__str__", "vectors_lockf",
              "lifecycle_events", "KeyedVectors"}
    names |= {n for n in ("load_word2vec_format", "pseudorandom_weak_vector", "prep_vectors",
                          "Word2VecKeyedVectors", "CompatVocab", "Vocab") if hasattr(kv_module, n)}
    assert names - listed("KeyedVectors (`gensim.models.keyedvectors`)") - {"KeyedVectors"} == set()


def test_every_reader_and_callback_name_is_in_the_tables():
    w2v_module = pytest.importorskip("gensim.models.word2vec")
    cb_module = pytest.importorskip("gensim.models.callbacks")
    readers = {"LineSentence", "PathLineSentences", "Text8Corpus", "BrownCorpus"}
    assert all(hasattr(w2v_module, n) for n in readers)
    assert readers <= listed("Corpus readers (`gensim.models.word2vec`)")
    public = {n for n in dir(cb_module) if isinstance(getattr(cb_module, n), type)
              and getattr(cb_module, n).__module__ == cb_module.__name__}
    public |= {n for n in dir(cb_module.CallbackAny2Vec) if n.startswith("on_")}
    assert public <= listed("Callbacks (`gensim.models.callbacks`)")


def test_every_same_name_exists_in_w2v():
    homes = {"KeyedVectors (`gensim.models.keyedvectors`)": [KeyedVectors, vectors],
             "Corpus readers (`gensim.models.word2vec`)": [w2v],
             "Callbacks (`gensim.models.callbacks`)": [callbacks, callbacks.CallbackAny2Vec]}
    instance = KeyedVectors(3, 1)
    for section, places in homes.items():
        for names, status in table_rows()[section]:
            if status in ("same", "different"):
                for name in set(names) - {"vectors_lockf"}:  # made by intersect_word2vec_format
                    assert any(hasattr(p, name) for p in places + [instance]), (section, name)
            else:
                assert status == "not supported", (names, status)


W2V_SECTION = "Word2Vec (`gensim.models.word2vec`)"


def test_every_gensim_word2vec_name_is_in_the_table():
    gensim_w2v = pytest.importorskip("gensim.models.word2vec").Word2Vec
    model = gensim_w2v([["a", "b"]] * 5, vector_size=3, min_count=1, hs=1, epochs=1)
    names = {n for n in dir(gensim_w2v) if not n.startswith("_")}
    names |= {n for n in vars(model) if not n.startswith("_")}
    assert "syn1" in names and "corpus_count" in names
    assert names - listed(W2V_SECTION) == set()


def test_every_same_word2vec_name_exists_in_w2v():
    model = Word2Vec([["a", "b"]] * 5, vector_size=3, min_count=1, hs=1, epochs=1, workers=1)
    for names, status in table_rows()[W2V_SECTION]:
        if status in ("same", "different"):
            for name in set(names) - {"Word2Vec"}:
                assert hasattr(model, name) or name in w2v.__all__, name
        else:
            assert status == "not supported", (names, status)
