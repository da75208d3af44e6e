"""Checkpoints and resume: an interrupted run, resumed, ends exactly where the uninterrupted one does."""
import json
import os
import time

import numpy as np
import pytest

from w2v import Word2Vec, kernels

CONFIGS = {"sg-ns": dict(sg=1, negative=3), "cbow-ns": dict(sg=0, negative=3),
           "sg-hs": dict(sg=1, hs=1, negative=0), "cbow-hs": dict(sg=0, hs=1, negative=0)}


def _weights(model):
    return [model.wv.vectors, model.w_out_ns, model.w_out_hs]




@pytest.mark.parametrize("config", CONFIGS)
def test_resume_mid_epoch_is_bit_identical_to_the_uninterrupted_run(config, tmp_path, demo_file, ctrl_c_at_unit):
    kw = dict(vector_size=12, min_count=2, workers=1, epochs=2, seed=5, progress=False, **CONFIGS[config])
    full = Word2Vec(corpus_file=demo_file, **kw)
    ckpt = tmp_path / "run.ckpt"
    ctrl_c_at_unit(9)  # the demo file is 6 units of 50,000 words an epoch: unit 3 of epoch 2
    with pytest.raises(KeyboardInterrupt):
        Word2Vec(corpus_file=demo_file, checkpoint=ckpt, **kw)
    with np.load(ckpt) as z:
        state = json.loads(bytes(z["meta"]).decode())["training"]
    assert state["cursor"] in ([1, 2], [1, 3])  # the unit in hand when Ctrl-C came was finished
    assert len(state["epoch_so_far"]) == 5 and state["epoch_so_far"]["raw_words"] > 0
    resumed = Word2Vec.resume(ckpt, corpus_file=demo_file)
    for a, b in zip(_weights(full), _weights(resumed)):
        assert a.shape == b.shape and np.array_equal(a, b)
    for a, b in zip(full.epoch_stats, resumed.epoch_stats):
        assert {k: a[k] for k in a if k != "seconds"} == {k: b[k] for k in b if k != "seconds"}
    assert len(resumed.epoch_stats) == 2
    # the finished run left a final checkpoint: resuming it has nothing left to do
    again = Word2Vec.resume(ckpt, corpus_file=demo_file)
    assert np.array_equal(again.wv.vectors, full.wv.vectors)


def test_checkpoints_are_written_every_so_often_and_load_as_models(tmp_path, demo_file):
    ckpt = tmp_path / "run.ckpt"
    model = Word2Vec(corpus_file=demo_file, vector_size=8, min_count=2, workers=2, epochs=2, progress=False,
                     checkpoint=ckpt, checkpoint_every=1e-3)
    loaded = Word2Vec.load(ckpt)  # a checkpoint is a model file too
    assert np.array_equal(loaded.wv.vectors, model.wv.vectors)
    with np.load(ckpt) as z:
        assert json.loads(bytes(z["meta"]).decode())["training"]["cursor"] == [2, 0]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp")]


def test_resume_refuses_another_corpus_and_a_model_file(tmp_path, demo_file, demo_sentences, ctrl_c_at_unit):
    ckpt = tmp_path / "run.ckpt"
    kw = dict(vector_size=8, min_count=2, workers=1, epochs=2, progress=False)
    ctrl_c_at_unit(3)
    with pytest.raises(KeyboardInterrupt):
        Word2Vec(corpus_file=demo_file, checkpoint=ckpt, **kw)
    other = tmp_path / "other.txt"
    other.write_text("\n".join(" ".join(s) for s in demo_sentences[:-10]) + "\n")
    with pytest.raises(ValueError, match=r"another corpus: \d+ words where .*\d+ sentences where .*bytes"):
        Word2Vec.resume(ckpt, corpus_file=other)
    # the same text from an iterable, or a copy of the file elsewhere, is the same corpus
    Word2Vec.resume(ckpt, demo_sentences)
    model_file = tmp_path / "model.npz"
    Word2Vec(demo_sentences[:2000], **kw).save(model_file)
    with pytest.raises(ValueError, match="not a checkpoint"):
        Word2Vec.resume(model_file, corpus_file=demo_file)


def test_checkpoints_come_every_checkpoint_every_seconds_mid_epoch_too(tmp_path, demo_file, monkeypatch):
    from w2v import checkpoint as checkpoint_mod
    cursors = []
    write = checkpoint_mod.CheckpointWriter.write

    def recording(self, arrays, meta):
        cursors.append(tuple(meta["training"]["cursor"]))
        return write(self, arrays, meta)

    monkeypatch.setattr(checkpoint_mod.CheckpointWriter, "write", recording)
    real = kernels.train_chunk

    def slow_chunk(*args):  # 6 units of 0.1 s an epoch: the driver's polls (every 0.25 s) land mid-epoch
        time.sleep(0.1)
        return real(*args)

    monkeypatch.setattr(kernels, "train_chunk", slow_chunk)
    Word2Vec(corpus_file=demo_file, vector_size=8, min_count=2, workers=1, epochs=3, sg=1, progress=False,
             checkpoint=tmp_path / "c.ckpt", checkpoint_every=1e-3)
    assert cursors[-1] == (3, 0) and len(cursors) > 3
    assert any(k > 0 for _, k in cursors)  # the run paused at a unit boundary inside an epoch
    cursors.clear()
    Word2Vec(corpus_file=demo_file, vector_size=8, min_count=2, workers=1, epochs=3, sg=1, progress=False,
             checkpoint=tmp_path / "d.ckpt", checkpoint_every=600)
    assert cursors == [(3, 0)]  # a short run: only the final checkpoint


def test_resume_from_a_corpus_store_is_bit_identical_and_refuses_the_corpus_in_memory(
        tmp_path, demo_file, ctrl_c_at_unit, monkeypatch):
    from w2v import store
    monkeypatch.setattr(store, "BLOCK_WORDS", 10_000)
    kw = dict(vector_size=12, min_count=2, workers=1, epochs=2, seed=5, progress=False, sg=1, negative=3,
              corpus_store="disk", cache_dir=tmp_path / "cache")
    full = Word2Vec(corpus_file=demo_file, **kw)
    ckpt = tmp_path / "run.ckpt"
    ctrl_c_at_unit(9)  # 30 blocks, 6 units of 5 an epoch: unit 3 of epoch 2
    with pytest.raises(KeyboardInterrupt):
        Word2Vec(corpus_file=demo_file, checkpoint=ckpt, **kw)
    with pytest.raises(ValueError, match="corpus store on disk.*corpus in memory"):
        Word2Vec.resume(ckpt, corpus_file=demo_file, corpus_store="memory")
    resumed = Word2Vec.resume(ckpt, corpus_file=demo_file, corpus_store="disk", cache_dir=tmp_path / "cache")
    for a, b in zip(_weights(full), _weights(resumed)):
        assert np.array_equal(a, b)
    assert [e["raw_words"] for e in resumed.epoch_stats] == [e["raw_words"] for e in full.epoch_stats]
