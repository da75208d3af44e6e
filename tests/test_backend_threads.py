"""The threads backend: private hot rows in place or in a copy, stopping, and what threads train."""
import threading

import numpy as np
import pytest

from w2v import kernels
from w2v.backends import threads


def test_private_rows_extend_a_model_matrix_in_place_or_else_a_copy():
    v, d, hot, n_threads = 2000, 8, 16, 2
    tables = kernels.Tables(np.ones(v, np.float32), np.zeros(v, np.uint64), np.zeros((v, 1), np.int32),
                            np.zeros((v, 1), np.float32), np.ones(v, np.int32))
    cfg = kernels.Config(sg=1, hs=0, negative=5, window=5, cbow_mean=1, softmax=0, batch_window=0)
    spare = threads.spare_rows(v, n_threads, False, hot)
    assert spare == hot * n_threads and threads.spare_rows(v, 1, False, hot) == 0
    assert threads.spare_rows(v, n_threads, True, hot) == 0 and threads.spare_rows(4 * hot, n_threads, False, hot) == 0
    assert threads.spare_rows(4 * hot + 1, n_threads, False, hot) == hot * n_threads  # the smallest that gets them
    roomy = np.zeros((v + spare, d), np.float32)[:v]
    plain = np.zeros((v, d), np.float32)
    no_hs = np.zeros((0, d), np.float32)
    ext_in, _, ext_ns, _, cfg_t = threads._thread_private(roomy, no_hs, plain, tables, cfg, hot, n_threads)[1]
    assert cfg_t.hot_rows == hot and cfg_t.hot_slot == 1
    assert ext_in.shape == (v + spare, d) and np.shares_memory(ext_in, roomy)  # in place
    assert ext_ns.shape == (v + spare, d) and not np.shares_memory(ext_ns, plain)  # copied
    # too little room, or not the leading rows: copied
    assert threads._in_place_extension(np.zeros((v + 1, d), np.float32)[:v], v + spare) is None
    assert threads._in_place_extension(np.zeros((v + spare + 1, d), np.float32)[1:v + 1], v + spare) is None
    # not C-contiguous (the kernel indexes rows of a C-ordered matrix), or another dtype: copied
    assert threads._in_place_extension(np.zeros((v + spare, d), np.float32, order="F")[:v], v + spare) is None
    assert threads._in_place_extension(np.zeros((v + spare, 2 * d), np.float32)[:v, ::2], v + spare) is None
    assert threads._in_place_extension(np.zeros((v + spare, d), np.int32).view(np.float32)[:v], v + spare) is None


@pytest.mark.parametrize("saved", [False, True], ids=["spare-rows", "loaded-copy"])
def test_two_threads_train_the_model_matrices(saved, tmp_path, demo_sentences):
    """With private rows in place (a fresh model) or in a copy (a loaded model has exact arrays),
    what two threads learn ends up in the model's matrices."""
    from w2v import Word2Vec
    kw = dict(vector_size=16, min_count=2, workers=2, sg=0, hs=1, negative=3, epochs=1, progress=False)
    model = Word2Vec(**kw)
    model.build_vocab(demo_sentences)
    assert len(model.wv) > 4 * threads.HOT_ROWS
    if saved:
        model.save(tmp_path / "m.npz")
        model = Word2Vec.load(tmp_path / "m.npz")
    rows = len(model.wv) + 2 * threads.HOT_ROWS
    assert (threads._in_place_extension(model.wv.vectors, rows) is None) == saved
    before = model.wv.vectors.copy()
    model.train(demo_sentences)
    assert model.epoch_stats[-1]["raw_words"] > 0
    for w in (model.wv.vectors, model.syn1neg, model.syn1):
        assert np.isfinite(w).all()
    # the most frequent words' rows are private rows during training: their change must arrive too
    top = slice(0, threads.HOT_ROWS)
    assert np.abs(model.wv.vectors[top] - before[top]).max() > 1e-3
    assert np.abs(model.syn1neg[top]).max() > 1e-3 and np.abs(model.syn1[-threads.HOT_ROWS:]).max() > 1e-3
    changed = (np.abs(model.wv.vectors - before).max(axis=1) > 0).mean()
    assert changed > 0.95, changed  # nearly every word's row trained (a few have no context)


@pytest.mark.parametrize("workers, hot", [(1, 0), (2, threads.HOT_ROWS)])
def test_private_rows_only_with_several_threads(workers, hot):
    v, d = 8 * threads.HOT_ROWS, 4
    tables = kernels.Tables(np.ones(v, np.float32), np.zeros(v, np.uint64), np.zeros((v, 1), np.int32),
                            np.zeros((v, 1), np.float32), np.ones(v, np.int32))
    cfg = kernels.Config(sg=1, hs=0, negative=5, window=5, cbow_mean=1, softmax=0, batch_window=0)

    class Corpus:
        ids, bounds = np.zeros(10, np.int32), np.array([0, 10], np.int64)

    w = threads.allocate(v, d, threads.spare_rows(v, workers, False))
    backend = threads.ThreadsBackend(Corpus, w, np.zeros((0, d), np.float32), w.copy(), tables, cfg, workers=workers,
                                     max_units=4)
    assert [a[4].hot_rows for a in backend.thread_args] == [hot] * workers
    # the in-place matrix needs no copy; the plain one does, and only with private rows
    assert [c[0] is w for c in backend.copies] == ([] if workers == 1 else [False])


def test_a_thread_interrupted_while_starting_is_waited_for():
    """Ctrl-C can interrupt Thread.start() after the thread was created: _launched must wait for
    it to show up rather than take it for never started."""
    t = threading.Thread(target=lambda: None)
    assert not threads._launched(t, grace=0.05)
    threading.Timer(0.2, t.start).start()
    assert threads._launched(t, grace=2.0)
    t.join()


def test_private_paths_map_exactly_the_last_inner_nodes_to_the_threads_block():
    v, hot = 50, 6
    points = np.arange(v - 1, dtype=np.int32).reshape(-1, 1).repeat(3, axis=1)[:, :2]  # every node 0..v-2
    for slot in (0, 2):
        out = kernels.private_paths(points, v, hot, slot)
        private = v - 1 + slot * hot + np.arange(hot)
        assert np.array_equal(out[:v - 1 - hot], points[:v - 1 - hot])  # the others stay shared
        assert np.array_equal(out[v - 1 - hot:, 0], private) and out.dtype == points.dtype
