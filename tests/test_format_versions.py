"""Every file w2v writes carries a format version; files written by earlier versions still load
(fixtures in tests/data/formats, written by the code of each version), newer ones are refused.

When a format changes: bump its version, save a new fixture beside the old ones, and keep
every old fixture loading here."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from w2v import Word2Vec
from w2v.phrases import FrozenPhrases, Phrases
from w2v.vectors import KeyedVectors

FIXTURES = Path(__file__).parent / "data" / "formats"


def test_model_and_checkpoint_v1_load_and_train():
    model = Word2Vec.load(FIXTURES / "model-v1.npz")
    assert len(model.wv) == 19 and model.wv.vector_size == 4 and model.hs == 1 and model.negative == 2
    ckpt = Word2Vec.load(FIXTURES / "checkpoint-v1.npz")
    assert np.array_equal(ckpt.wv.vectors, model.wv.vectors)  # written at the end of the same run
    model.train([["new", "york", "city", "is", "big"]] * 50)
    assert np.isfinite(model.wv.vectors).all()


def test_vectors_load_in_every_format():
    native = KeyedVectors.load(FIXTURES / "vectors-native-v1.npz")
    for name, binary in (("vectors.txt", False), ("vectors.bin", True)):
        kv = KeyedVectors.load_word2vec_format(FIXTURES / name, binary=binary)
        assert kv.index_to_key == native.index_to_key
        np.testing.assert_allclose(kv.vectors, native.vectors, atol=1e-5)


def test_phrases_v0_files_load():
    p = Phrases.load(FIXTURES / "phrases-v0.npz")
    f = FrozenPhrases.load(FIXTURES / "frozen-phrases-v0.json")
    assert "new_york" in p.export_phrases() and p.freeze().export_phrases() == f.export_phrases()
    assert f[["new", "york", "city"]] == ["new_york", "city"]


def _bump_npz(src: Path, dst: Path, version_path):
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    target = meta
    for key in version_path[:-1]:
        target = target[key]
    target[version_path[-1]] = 99
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(dst, **arrays)
    return dst


@pytest.mark.parametrize("fixture, path, loader, message", [
    ("model-v1.npz", ["version"], Word2Vec.load, "model of format version 99; this w2v reads versions up to 2"),
    ("checkpoint-v1.npz", ["training", "version"], lambda p: Word2Vec.resume(p, [["a"]]),
     "checkpoint of version 99; this w2v reads versions up to 1"),
    ("phrases-v0.npz", ["version"], Phrases.load, "phrases file of format version 99; this w2v reads versions up to 1"),
])
def test_newer_versions_are_refused_naming_both(tmp_path, fixture, path, loader, message):
    with pytest.raises(ValueError, match=message):
        loader(_bump_npz(FIXTURES / fixture, tmp_path / fixture, path))


def test_newer_frozen_phrases_are_refused(tmp_path):
    doc = json.loads((FIXTURES / "frozen-phrases-v0.json").read_text())
    doc["version"] = 99
    (tmp_path / "f.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="version 99; this w2v reads versions up to 1"):
        FrozenPhrases.load(tmp_path / "f.json")


def test_what_w2v_writes_today_carries_its_version(tmp_path):
    shutil.copy(FIXTURES / "phrases-v0.npz", tmp_path / "p0.npz")
    p = Phrases.load(tmp_path / "p0.npz")
    p.save(tmp_path / "p1.npz")
    p.freeze().save(tmp_path / "f1.json")
    with np.load(tmp_path / "p1.npz") as z:
        assert json.loads(bytes(z["meta"]).decode())["version"] == 1
    assert json.loads((tmp_path / "f1.json").read_text())["version"] == 1
    model = Word2Vec.load(FIXTURES / "model-v1.npz")
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        assert json.loads(bytes(z["meta"]).decode())["version"] == 1
