"""A damaged or foreign model file is refused with a clear error before anything can train on it."""
import json

import numpy as np
import pytest

from w2v import Word2Vec


@pytest.fixture(scope="module")
def saved(tmp_path_factory, demo_sentences):
    model = Word2Vec(demo_sentences[:3000], vector_size=8, min_count=3, workers=1, epochs=1, hs=1, negative=2,
                     progress=False)
    path = tmp_path_factory.mktemp("model") / "m.npz"
    model.save(path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    return path, arrays, json.loads(bytes(arrays["meta"]).decode())


def _write(tmp_path, arrays, meta):
    out = dict(arrays, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    path = tmp_path / "damaged.npz"
    np.savez(path, **out)
    return path


@pytest.mark.parametrize("damage, message", [
    (lambda a, m: a.update(w_out_ns=a["w_out_ns"][:-5]), "w_out_ns must be float32"),
    (lambda a, m: a.update(w_out_hs=a["w_out_hs"][:3]), "w_out_hs must be float32"),
    (lambda a, m: a.update(w_in=a["w_in"][:, :4]), "w_in must be float32"),
    (lambda a, m: a.update(w_in=a["w_in"].astype(np.float64)), "w_in must be float32"),
    (lambda a, m: a.pop("w_out_hs"), "w_out_hs must be float32"),
    (lambda a, m: a.update(counts=-a["counts"]), "counts must be"),
    (lambda a, m: a.update(counts=a["counts"][::-1].copy()), "counts must be"),
    (lambda a, m: a.update(counts=a["counts"][:-1]), "counts must be"),
    (lambda a, m: m["index_to_key"].__setitem__(1, m["index_to_key"][0]), "unique"),
    (lambda a, m: m["index_to_key"].__setitem__(1, 7), "unique"),
    (lambda a, m: m.update(version="1"), "not a version number"),
    (lambda a, m: m.update(version=99), "format version 99"),
    (lambda a, m: m["settings"].update(vector_size=-1), "settings"),
    (lambda a, m: m.pop("settings"), "settings"),
    (lambda a, m: a["w_in"].__setitem__((0, 0), np.nan), "non-finite"),
])
def test_damaged_model_files_are_refused(saved, tmp_path, damage, message):
    path, arrays, meta = saved
    arrays = {k: v.copy() for k, v in arrays.items() if k != "meta"}
    meta = json.loads(json.dumps(meta))
    damage(arrays, meta)
    with pytest.raises(ValueError, match=message):
        Word2Vec.load(_write(tmp_path, arrays, meta))


def test_the_intact_file_loads_and_trains(saved, demo_sentences):
    path, _, _ = saved
    model = Word2Vec.load(path)
    model.train(demo_sentences[:3000])
    assert np.isfinite(model.wv.vectors).all() and len(model.epoch_stats) == 2
