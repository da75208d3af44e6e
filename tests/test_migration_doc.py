"""docs/migrating-from-gensim.md lists every public name of gensim's Word2Vec, KeyedVectors, corpus
readers, phrases and callbacks (the names of the installed gensim's classes, their instances and
modules), and every name it calls "same" or "different" exists in w2v."""
import re
import types
from pathlib import Path

import pytest

import w2v
from w2v import KeyedVectors, Word2Vec, callbacks, phrases, vectors

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


READERS = ("LineSentence", "PathLineSentences", "Text8Corpus", "BrownCorpus")
READERS_SECTION = "Corpus readers (`gensim.models.word2vec`)"


def reader_instances(module, tmp_path):
    (tmp_path / "c.txt").write_text("a b c\n")
    args = {"LineSentence": tmp_path / "c.txt", "PathLineSentences": tmp_path, "Text8Corpus": tmp_path / "c.txt",
            "BrownCorpus": tmp_path}
    return [getattr(module, name)(str(args[name])) for name in READERS]


def public_names(obj) -> set:
    return {n for n in dir(obj) if not n.startswith("_")}


def test_every_reader_and_callback_name_is_in_the_tables(tmp_path):
    w2v_module = pytest.importorskip("gensim.models.word2vec")
    cb_module = pytest.importorskip("gensim.models.callbacks")
    readers = set(READERS)
    for obj in reader_instances(w2v_module, tmp_path):  # their methods and attributes too
        readers |= public_names(type(obj)) | {n for n in vars(obj) if not n.startswith("_")}
    assert {"source", "input_files", "fname", "dirname"} <= readers  # what the gensim tested here has
    assert readers - listed(READERS_SECTION) == set()
    public = {n for n in dir(cb_module) if isinstance(getattr(cb_module, n), type)
              and getattr(cb_module, n).__module__ == cb_module.__name__}
    public |= {n for n in dir(cb_module.CallbackAny2Vec) if n.startswith("on_")}
    assert public <= listed("Callbacks (`gensim.models.callbacks`)")


PHRASES_SECTION = "Phrases (`gensim.models.phrases`)"


def test_every_gensim_phrases_name_is_in_the_table():
    gp = pytest.importorskip("gensim.models.phrases")
    names = {n for n in public_names(gp) if not isinstance(getattr(gp, n), types.ModuleType)
             and getattr(getattr(gp, n), "__module__", None) == gp.__name__}  # its classes and functions
    names |= {"ENGLISH_CONNECTOR_WORDS", "NEGATIVE_INFINITY", "__getitem__"}  # its constants; phrases[x]
    model = gp.Phrases([["a", "b"]] * 5, min_count=1, threshold=0.1)
    for obj in (model, model.freeze()):
        names |= public_names(type(obj)) | {n for n in vars(obj) if not n.startswith("_")}
    assert {"Phrases", "FrozenPhrases", "Phraser", "original_scorer", "vocab", "phrasegrams"} <= names
    assert names - listed(PHRASES_SECTION) == set()


def test_every_same_name_exists_in_w2v(tmp_path):
    model = phrases.Phrases([["a", "b"]] * 5, min_count=1, threshold=0.1)
    homes = {"KeyedVectors (`gensim.models.keyedvectors`)": [KeyedVectors, vectors, KeyedVectors(3, 1)],
             READERS_SECTION: [w2v, *reader_instances(w2v, tmp_path)],
             PHRASES_SECTION: [phrases, phrases.Phrases, phrases.FrozenPhrases, model, model.freeze()],
             "Callbacks (`gensim.models.callbacks`)": [callbacks, callbacks.CallbackAny2Vec]}
    for section, places in homes.items():
        for names, status in table_rows()[section]:
            if status in ("same", "different"):
                for name in set(names) - {"vectors_lockf"}:  # made by intersect_word2vec_format
                    assert any(hasattr(p, name) for p in places), (section, name)
            else:
                assert status == "not supported", (names, status)


W2V_SECTION = "Word2Vec (`gensim.models.word2vec`)"


def test_every_gensim_word2vec_name_is_in_the_table():
    module = pytest.importorskip("gensim.models.word2vec")
    gensim_w2v = module.Word2Vec
    model = gensim_w2v([["a", "b"]] * 5, vector_size=3, min_count=1, hs=1, epochs=1)
    names = {n for n in dir(gensim_w2v) if not n.startswith("_")}
    names |= {n for n in vars(model) if not n.startswith("_")}
    assert "syn1" in names and "corpus_count" in names
    # the module's own names (the readers have their table), and those of its compiled routines
    homes = {module.__name__, "gensim.models.word2vec_inner", "gensim.models.word2vec_corpusfile"}
    names |= {n for n in public_names(module) if not isinstance(getattr(module, n), types.ModuleType)
              and getattr(getattr(module, n), "__module__", None) in homes} - set(READERS)
    names |= {n for n in ("FAST_VERSION", "MAX_WORDS_IN_BATCH", "CORPUSFILE_VERSION") if hasattr(module, n)}
    assert {"Word2Vec", "train_batch_sg", "Heapitem"} <= names
    assert names - listed(W2V_SECTION) == set()


def test_every_same_word2vec_name_exists_in_w2v():
    model = Word2Vec([["a", "b"]] * 5, vector_size=3, min_count=1, hs=1, epochs=1, workers=1)
    for names, status in table_rows()[W2V_SECTION]:
        if status in ("same", "different"):
            for name in set(names) - {"Word2Vec"}:
                assert hasattr(model, name) or name in w2v.__all__, name
        else:
            assert status == "not supported", (names, status)
