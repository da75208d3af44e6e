"""The Dask backend: replicas on Dask workers, averaged per row (w2v/backends/dask.py).

A LocalCluster of 2 worker processes is started once for the module (a few seconds); the
worker-kill test starts its own, since it kills one of its processes.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
import types

import numpy as np
import pytest

pytest.importorskip("dask.distributed")

from distributed.diagnostics.plugin import WorkerPlugin  # noqa: E402

from w2v import Word2Vec  # noqa: E402
from w2v.backends import dask as dask_backend  # noqa: E402

from conftest import dask_client  # noqa: E402
from w2v.backends.dask import merge_changes, merge_changes_reference  # noqa: E402
from w2v.callbacks import CallbackAny2Vec  # noqa: E402

SETTINGS = dict(vector_size=24, window=3, min_count=3, negative=4, epochs=2, seed=5, progress=False)


@pytest.fixture(scope="module")
def client():
    yield from dask_client(2)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, demo_sentences):
    path = tmp_path_factory.mktemp("dask-corpus") / "c.txt"
    path.write_text("\n".join(" ".join(s) for s in demo_sentences[:12000]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory, demo_sentences):
    """3 rounds an epoch with two slots of 50,000 words: a round queued behind another."""
    path = tmp_path_factory.mktemp("dask-big") / "big.txt"
    path.write_text("\n".join(" ".join(s) for s in demo_sentences) + "\n", encoding="utf-8")
    return path


def _train(corpus, tmp_path, **kw):
    opts = dict(SETTINGS, corpus_store="disk", cache_dir=tmp_path / "cache")
    opts.update(kw)
    return Word2Vec(corpus_file=str(corpus), **opts)


# ---------------------------------------------------------------- the averaging, without a cluster
def test_merge_divides_each_row_by_the_slots_that_changed_it():
    w = np.zeros((5, 2), dtype=np.float32)
    parts = [(np.array([0, 2]), np.array([[2, 2], [4, 0]], dtype=np.float32)),
             (np.array([2, 3]), np.array([[0, 4], [6, 6]], dtype=np.float32))]
    rows, touched, change = merge_changes(w, parts)
    assert rows.tolist() == [0, 2, 3] and touched.tolist() == [1, 2, 1]
    # row 2: the mean of both slots' changes; rows 0 and 3: the one change, whole
    np.testing.assert_array_equal(w, [[2, 2], [0, 0], [2, 2], [6, 6], [0, 0]])
    np.testing.assert_array_equal(change, [[2, 2], [2, 2], [6, 6]])
    w2 = np.zeros((5, 2), dtype=np.float32)
    merge_changes(w2, parts, "slots")
    np.testing.assert_array_equal(w2[[0, 2, 3]], [[1, 1], [2, 2], [3, 3]])


@pytest.mark.parametrize("wire", [np.float32, np.float16])
@pytest.mark.parametrize("combine", ["mean", "slots", "sum"])
def test_compiled_merge_equals_the_numpy_reference(combine, wire):
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(50, 7)).astype(np.float32)
    parts = [(np.sort(rng.choice(50, size=n, replace=False)), rng.normal(size=(n, 7)).astype(wire))
             for n in (20, 35, 5)]
    w1, w2 = w0.copy(), w0.copy()
    rows1, t1, c1 = merge_changes(w1, parts, combine, wire)
    rows2, t2, c2 = merge_changes_reference(w2, parts, combine, wire)
    np.testing.assert_array_equal(rows1, rows2)
    np.testing.assert_array_equal(t1, t2)
    assert c1.dtype == c2.dtype == wire
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(w1, w2)
    with pytest.raises(ValueError, match="outside the matrix"):
        merge_changes(w1, [(np.array([50]), np.zeros((1, 7), np.float32))])


def _replica(weights, wire=np.float16, pipelined=False):
    """A replica's weight state, without a corpus or threads."""
    return dask_backend._Replica.__new__(dask_backend._Replica)._hold([(w, 0) for w in weights], wire, pipelined)


def test_a_replica_that_adds_the_merged_change_holds_the_drivers_bits():
    """The driver adds the merged change, rounded to the wire's float16, to its matrix; a replica
    adds the same rounded change to the same values: both must hold the same bits, whichever
    slot's change was merged in (one slot's own change is replaced by the merged one), and a
    "set" step before it (a rebuild, the driver's own edit) applies first."""
    rng = np.random.default_rng(5)
    driver = rng.normal(size=(30, 6)).astype(np.float32)
    reps = []
    for seed in (1, 2):
        r = _replica([driver])
        rows = np.sort(np.random.default_rng(seed).choice(30, size=12, replace=False))
        r.w[0][rows] += np.random.default_rng(seed).normal(scale=1e-2, size=(12, 6)).astype(np.float32)
        reps.append(r)
    parts = [r.changes("all", 7)[0] for r in reps]
    assert all(v.dtype == np.float16 for _, v in parts)
    edited = np.array([3]), rng.normal(size=(1, 6)).astype(np.float32)
    driver[edited[0]] = edited[1]
    rows, _, change = merge_changes(driver, parts, "mean", np.float16)
    for r in reps:
        r.apply(dask_backend._combine([("set", [edited], None)], [("add", [(rows, change)], 7)]))
        np.testing.assert_array_equal(r.w[0], driver)
        np.testing.assert_array_equal(r.base[0], driver)


@pytest.mark.parametrize("wire", [np.float32, np.float16])
def test_pipelined_replicas_keep_their_newer_changes_and_settle_on_the_drivers_bits(wire):
    """Pipelined, round r's merge reaches a replica after it has trained round r+1: it must
    replace the replica's own round-r change by the merged one and keep round r+1's (no change
    lost or counted twice), and once every report is merged the replica holds the driver's bits.
    "Training" here adds known increments, so the replica's expected value is known."""
    rng = np.random.default_rng(11)
    n_rows, d, n_slots, n_rounds = 40, 5, 2, 6
    driver = rng.normal(size=(n_rows, d)).astype(np.float32)
    reps = [_replica([driver], wire=wire, pipelined=True) for _ in range(n_slots)]
    local = [[] for _ in range(n_slots)]   # per slot, per round: its increment (dense)
    merged_through = -1
    pending = []                             # merges not yet applied by the replicas
    for r in range(n_rounds + 2):
        # each replica: apply the merges that reached it (two rounds behind), train, report
        for s, rep in enumerate(reps):
            if pending and pending[0][0] <= r - 2:
                rep.apply([("add", [(pending[0][1], pending[0][2])], pending[0][0])])
                if s == n_slots - 1:
                    pending.pop(0)
                    merged_through += 1
        if r >= n_rounds:
            continue
        reports = []
        for s, rep in enumerate(reps):
            inc = np.zeros((n_rows, d), np.float32)
            rows = rng.choice(n_rows, size=15, replace=False)
            inc[rows] = rng.normal(scale=1e-2, size=(15, d))
            rep.w[0] += inc
            local[s].append(inc)
            reports.append(rep.changes("all", r)[0])
        rows, _, change = merge_changes(driver, reports, "mean", wire)
        pending.append((r, rows, change))
        # a replica = the driver's weights up to the merges it applied + its own unmerged rounds
        for s, rep in enumerate(reps):
            mean_applied = driver.copy()
            for later in pending:
                mean_applied[later[1]] -= later[2].astype(np.float32)
            expected = mean_applied + sum(local[s][merged_through + 1:])
            np.testing.assert_allclose(rep.w[0], expected, atol=5e-4 if wire == np.float16 else 1e-5)
    for rep in reps:  # the last two merges, then settled
        rep.apply([("add", [(rows_, ch)], r_) for r_, rows_, ch in pending])
        np.testing.assert_array_equal(rep.w[0], driver)
        np.testing.assert_array_equal(rep.base[0], driver)
        assert not rep.own


def test_replica_reports_only_changed_rows_of_the_sync_set():
    rep = _replica([np.zeros((4, 2), np.float32)], wire=np.float32)
    rep.w[0][1] = 3
    rep.w[0][3] = 5
    (rows, delta), = rep.changes("all")
    assert rows.tolist() == [1, 3] and delta.tolist() == [[3, 3], [5, 5]]
    (rows, _), = rep.changes([np.array([0, 1])])  # hot rows 0 and 1: only 1 changed
    assert rows.tolist() == [1]
    (rows, _), = rep.changes(None)
    assert rows.tolist() == []
    rep.wire = np.dtype(np.float16)
    rep.w[0][2] = 1e6  # diverged: beyond float16
    with pytest.raises(FloatingPointError, match="float16"):
        rep.changes("all")


# ---------------------------------------------------------------- training on a cluster
def test_one_replica_trains_as_one_thread_in_process(client, corpus, tmp_path):
    """With one slot of one thread, the Dask path (ship units, train, send the change, add it)
    must give the single-process result: a unit lost, trained twice, out of its plan order, or a
    change added twice would show."""
    ref = _train(corpus, tmp_path, workers=1)
    got = _train(corpus, tmp_path, workers=1, backend="dask", client=client,
                 dask_options={"slots": 1, "round_words": 50_000, "wire": "float32"})
    np.testing.assert_allclose(got.wv.vectors, ref.wv.vectors, atol=2e-6)
    np.testing.assert_allclose(got.w_out_ns, ref.w_out_ns, atol=2e-6)
    assert [e["raw_words"] for e in got.epoch_stats] == [e["raw_words"] for e in ref.epoch_stats]
    assert got.epoch_stats[0]["dask"]["rounds"] >= 2


@pytest.mark.parametrize("sg,hs,negative,pipeline", [(0, 0, 4, False), (1, 1, 0, False), (0, 0, 4, True)])
def test_two_replicas_learn_as_well_as_threads(client, corpus, tmp_path, sg, hs, negative, pipeline):
    """Two replicas averaged every round reach the single-process training loss (3% at most above),
    every word of the corpus read once per epoch; without the learning-rate scaling the
    averaging halves the steps of the frequent rows and the loss stays well above."""
    kw = dict(sg=sg, hs=hs, negative=negative, epochs=3)
    ref = _train(corpus, tmp_path, workers=2, **kw)
    got = _train(corpus, tmp_path, workers=1, backend="dask", client=client,
                 dask_options={"round_words": 50_000, "pipeline": pipeline}, **kw)
    halved = _train(corpus, tmp_path, workers=1, backend="dask", client=client,
                    dask_options={"round_words": 50_000, "lr_scale": 1.0, "pipeline": pipeline}, **kw)

    def loss(m):
        return m.epoch_stats[-1]["loss"] / m.epoch_stats[-1]["predictions"]
    assert [e["raw_words"] for e in got.epoch_stats] == [e["raw_words"] for e in ref.epoch_stats]
    assert loss(got) < 1.03 * loss(ref), (loss(got), loss(ref))
    assert loss(halved) > loss(ref) * 1.01, (loss(halved), loss(ref))
    d = got.epoch_stats[0]["dask"]
    assert d["full_syncs"] == d["rounds"] >= 2 and d["bytes_up"] > 0 and d["lost_replicas"] == 0


@pytest.mark.parametrize("pipeline", [False, True])
def test_two_replicas_of_one_thread_are_deterministic(client, big_corpus, tmp_path, pipeline):
    opts = dict(workers=1, backend="dask", client=client, dask_options={"round_words": 50_000, "pipeline": pipeline})
    a = _train(big_corpus, tmp_path, **opts)
    b = _train(big_corpus, tmp_path, **opts)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    np.testing.assert_array_equal(a.w_out_ns, b.w_out_ns)


def test_a_corpus_in_memory_goes_to_a_private_store(client, demo_sentences, tmp_path):
    m = Word2Vec(demo_sentences[:3000], **dict(SETTINGS, epochs=1), workers=1, backend="dask", client=client,
                 cache_dir=tmp_path / "cache", corpus_store="memory")
    assert m.epoch_stats[0]["raw_words"] == sum(len(s) for s in demo_sentences[:3000]
                                                 if s) - _dropped(m, demo_sentences[:3000])
    assert np.isfinite(m.wv.vectors).all()


def _dropped(model, sentences) -> int:
    return sum(1 for s in sentences for w in s if w not in model.wv.key_to_index)


def test_rows_changed_between_epochs_reach_the_replicas(client, corpus, tmp_path):
    """A callback that changes the weights between two epochs changes what the replicas train
    from: with one slot, the run still equals the single-process one (replicas that kept their
    own rows would carry on from the unhalved vectors)."""
    class Halve(CallbackAny2Vec):
        def on_epoch_end(self, model):
            model.wv.vectors *= 0.5
            model.w_out_ns[:10] = 0.0
    ref = _train(corpus, tmp_path, workers=1, callbacks=[Halve()])
    got = _train(corpus, tmp_path, workers=1, backend="dask", client=client, callbacks=[Halve()],
                 dask_options={"slots": 1, "round_words": 50_000, "wire": "float32"})
    np.testing.assert_allclose(got.wv.vectors, ref.wv.vectors, atol=2e-6)
    np.testing.assert_allclose(got.w_out_ns, ref.w_out_ns, atol=2e-6)


def test_bad_backend_settings_are_refused():
    with pytest.raises(ValueError, match="backend must be one of"):
        Word2Vec(backend="spark")
    with pytest.raises(ValueError, match="dask_workers"):
        Word2Vec(backend="dask", dask_workers=0)
    with pytest.raises(ValueError, match="unknown dask_options"):
        Word2Vec(backend="dask", dask_options={"round_word": 5})


def test_missing_dask_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'w2v\[dask\]'"):
        dask_backend.local_client(1)


class _KillOnRound(WorkerPlugin):
    """A Dask worker plugin (Dask's own hook, nothing in w2v): the worker process SIGKILLs itself
    as its `nth` round task starts executing, once (a marker file, removed first, says whether
    the kill is still due; a restarted worker gets the plugin again)."""

    def __init__(self, marker, nth):
        self.marker, self.nth, self.seen = str(marker), nth, 0

    def setup(self, worker):
        self.seen = 0

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "_run_round" in str(key):
            self.seen += 1
            if self.seen >= self.nth and os.path.exists(self.marker):
                os.remove(self.marker)
                os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(scope="module")
def killable(corpus, tmp_path_factory):
    """A cluster of its own (its workers get killed), and the run without a fault."""
    client, cluster = dask_backend.local_client(2)
    # two slots whatever the workers up when a run starts (a killed one may not be back yet)
    # not pipelined (the default, said here): a sync before every round, so a rebuilt replica
    # starts where the lost one did
    opts = dict(workers=1, backend="dask", client=client, epochs=3,
                dask_options={"round_words": 50_000, "slots": 2, "pipeline": False})
    clean = _train(corpus, tmp_path_factory.mktemp("clean"), **opts)
    yield client, opts, clean
    client.close()
    cluster.close()


def _assert_close_runs(a, b):
    """Two runs that differ only in when merges reached the replicas: the same loss within 1%,
    and the 200 most frequent words pointing the same way (mean cosine > 0.9)."""
    def loss(m):
        return m.epoch_stats[-1]["loss"] / m.epoch_stats[-1]["predictions"]
    assert abs(loss(a) - loss(b)) < 0.01 * loss(b), (loss(a), loss(b))
    u = a.wv.vectors[:200] / np.linalg.norm(a.wv.vectors[:200], axis=1, keepdims=True)
    v = b.wv.vectors[:200] / np.linalg.norm(b.wv.vectors[:200], axis=1, keepdims=True)
    assert np.mean(np.sum(u * v, axis=1)) > 0.9


def _check_nothing_lost(hit, clean):
    assert [e["raw_words"] for e in hit.epoch_stats] == [e["raw_words"] for e in clean.epoch_stats]
    # one thread per replica, a sync before every round (not pipelined): the rebuilt replica
    # starts from exactly the weights the lost one started the round from, so the result equals
    # the run without a fault
    np.testing.assert_array_equal(hit.wv.vectors, clean.wv.vectors)
    np.testing.assert_array_equal(hit.w_out_ns, clean.w_out_ns)


def test_a_worker_killed_in_a_round_loses_nothing(killable, corpus, tmp_path):
    """SIGKILL a worker process as it starts a round: its replica is rebuilt from the last
    synchronised weights on a live worker, its units of the round are trained again there."""
    import cloudpickle
    client, opts, clean = killable
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "kill-due"
    marker.touch()
    client.register_plugin(_KillOnRound(marker, nth=4), name="w2v-test-kill")
    try:
        hit = _train(corpus, tmp_path, **opts)
    finally:
        client.unregister_worker_plugin("w2v-test-kill")
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert not marker.exists()  # the kill happened
    lost = sum(e["dask"]["lost_replicas"] for e in hit.epoch_stats)
    # the killed task's round was retried (the task may be a round's last, with no units for that slot)
    retried = sum(e["dask"]["retried_rounds"] for e in hit.epoch_stats)
    assert lost >= 1 and retried >= 1, (lost, retried)
    _check_nothing_lost(hit, clean)


def test_a_worker_killed_in_a_pipelined_round_loses_no_unit(killable, big_corpus, tmp_path):
    """Pipelined, a slot's next round is already queued when its worker dies: the
    round is retried on a replica rebuilt from the driver's weights and the queued one sent again
    after it (the replica refuses rounds out of order). The rebuilt replica starts from fresher
    weights than the lost one had, so the result is close to the run without a fault, not equal."""
    import cloudpickle
    client, _, _ = killable
    path = big_corpus
    opts = dict(workers=1, backend="dask", client=client, epochs=2,
                dask_options={"round_words": 50_000, "slots": 2, "pipeline": True})
    clean = _train(path, tmp_path / "clean", **opts)
    assert clean.epoch_stats[0]["dask"]["rounds"] >= 3
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "kill-due"
    marker.touch()
    client.register_plugin(_KillOnRound(marker, nth=2), name="w2v-test-kill")
    try:
        hit = _train(path, tmp_path / "hit", **opts)
    finally:
        client.unregister_worker_plugin("w2v-test-kill")
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert not marker.exists()
    d = {k: sum(e["dask"][k] for e in hit.epoch_stats) for k in ("lost_replicas", "retried_rounds", "retried_units")}
    assert d["lost_replicas"] >= 1 and d["retried_rounds"] >= 1 and d["retried_units"] >= 1, d
    assert [e["raw_words"] for e in hit.epoch_stats] == [e["raw_words"] for e in clean.epoch_stats]

    _assert_close_runs(hit, clean)


def test_a_worker_killed_between_rounds_loses_nothing(killable, corpus, tmp_path):
    """SIGKILL a worker between two epochs: the replica is found missing before its next round
    is sent (a send to a dead worker would wait for it forever) and rebuilt."""
    client, opts, clean = killable
    client.wait_for_workers(2, timeout=60)  # both up, so that each holds a slot
    victim = sorted(client.run(os.getpid).values())[0]

    class Kill(CallbackAny2Vec):
        def __init__(self):
            self.epoch = 0

        def on_epoch_begin(self, model):
            self.epoch += 1
            if self.epoch == 2:
                os.kill(victim, signal.SIGKILL)
                time.sleep(1.0)  # the scheduler notices the worker's death
    hit = _train(corpus, tmp_path, callbacks=[Kill()], **opts)
    assert sum(e["dask"]["lost_replicas"] for e in hit.epoch_stats) >= 1
    _check_nothing_lost(hit, clean)


# ---------------------------------------------------------------- the first pass on the workers
@pytest.fixture(scope="module")
def shards(tmp_path_factory, demo_sentences):
    d = tmp_path_factory.mktemp("shards")
    lines = [" ".join(s) for s in demo_sentences[:9000]]
    for k in range(3):
        (d / f"part-{k}.txt").write_text("\n".join(lines[k * 3000:(k + 1) * 3000]) + "\n", encoding="utf-8")
    (d / "part-3.txt").write_text("qqqzz xxyyq\n", encoding="utf-8")  # no word of the vocabulary
    return d


def test_shards_counted_and_encoded_on_workers_equal_one_pass(client, shards, tmp_path):
    """Map (count each file on a worker), reduce (add the counts, one vocabulary), encode each
    file on a worker: the same vocabulary, ids and sentence bounds as one pass over the files."""
    from w2v.store import ShardedStore
    a = Word2Vec(**dict(SETTINGS, epochs=1), workers=1, backend="dask", client=client,
                 cache_dir=tmp_path / "a")
    a.build_vocab(corpus_file=str(shards))
    b = Word2Vec(**dict(SETTINGS, epochs=1), workers=1, corpus_store="disk", cache_dir=tmp_path / "b")
    b.build_vocab(corpus_file=str(shards))
    sharded = a._corpus[1]
    assert isinstance(sharded, ShardedStore) and len(sharded.parts) == 3  # the empty shard has no part
    assert a.wv.index_to_key == b.wv.index_to_key
    np.testing.assert_array_equal(a.wv.expandos["count"], b.wv.expandos["count"])
    ma, mb = sharded.to_memory(), b._corpus[1].to_memory()
    np.testing.assert_array_equal(ma.ids, mb.ids)
    np.testing.assert_array_equal(ma.bounds, mb.bounds)
    # each block as the reader gives it: the right slice of the corpus
    read = sharded.reader()
    starts = np.concatenate([[0], np.cumsum(sharded.block_words)])
    for blk in [0, sharded.parts[0].n_blocks - 1, sharded.parts[0].n_blocks, sharded.n_blocks - 1]:
        unit = types.SimpleNamespace(blocks=np.array([blk]), seed=1, shuffle=False)
        ids, bounds, order = read(unit)
        np.testing.assert_array_equal(ids, ma.ids[starts[blk]:starts[blk + 1]])
        assert bounds[0] == 0 and bounds[-1] == ids.shape[0] and order.tolist() == list(range(len(bounds) - 1))
    a.train(corpus_file=str(shards), epochs=1)
    assert a.epoch_stats[0]["raw_words"] == mb.n_words


def test_cli_trains_on_a_local_cluster(tmp_path, corpus):
    import subprocess
    out = tmp_path / "v.txt"
    r = subprocess.run([sys.executable, "-m", "w2v", "train", "-train", str(corpus), "-output", str(out),
                        "-dask", "local", "-dask-workers", "2", "-threads", "1", "-iter", "1", "-size", "20",
                        "-cache-dir", str(tmp_path / "cache")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    header = out.read_text().split("\n", 1)[0].split()
    assert int(header[1]) == 20 and int(header[0]) > 100
    r = subprocess.run([sys.executable, "-m", "w2v", "train", "-train", str(corpus), "-output", str(out),
                        "-dask", "nowhere"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "-dask takes 'local' or a scheduler address" in r.stderr


@pytest.mark.parametrize("pipeline", [False, True])
def test_checkpoints_pause_the_rounds_and_resume_ends_where_the_run_does(client, big_corpus, tmp_path, pipeline):
    """A checkpoint due every moment pauses the run after each round (a full sync first; pipelined,
    after the round in flight too); the checkpoints written mid-run resume, on the cluster, to the
    paused run's vectors. Not pipelined, that is also the uninterrupted run's: every round starts
    from the synchronised weights either way. Pipelined, a pause drains the pipeline (the next
    round starts from every merge instead of all but the last), so the paused run is close to the
    uninterrupted one, not equal, and the resumed run pauses as often to end where it does."""
    import shutil
    corpus = big_corpus
    dask_options = {"round_words": 50_000, "pipeline": pipeline}
    opts = dict(workers=1, backend="dask", client=client, epochs=2, dask_options=dask_options)
    full = _train(corpus, tmp_path, **opts)
    ckpt, copy = tmp_path / "run.ckpt", tmp_path / "mid.ckpt"

    class Keep(CallbackAny2Vec):
        def on_epoch_end(self, model):
            if len(model.epoch_stats) == 1:
                deadline = time.monotonic() + 120  # the writer's background thread lands the mid-epoch one
                while not ckpt.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                shutil.copy(ckpt, copy)
    paused = _train(corpus, tmp_path, checkpoint=str(ckpt), checkpoint_every=1e-6, callbacks=[Keep()], **opts)
    if pipeline:
        _assert_close_runs(paused, full)
        full = paused
    np.testing.assert_array_equal(paused.wv.vectors, full.wv.vectors)
    with np.load(copy) as z:
        cursor = json.loads(bytes(z["meta"]).decode())["training"]["cursor"]
    assert cursor[0] == 0 and cursor[1] >= 1  # mid epoch 1
    resumed = Word2Vec.resume(copy, corpus_file=str(corpus), backend="dask", client=client,
                              dask_options=dask_options, cache_dir=tmp_path / "cache",
                              corpus_store="disk", checkpoint=str(tmp_path / "again.ckpt"), checkpoint_every=1e-6)
    np.testing.assert_array_equal(resumed.wv.vectors, full.wv.vectors)
    np.testing.assert_array_equal(resumed.w_out_ns, full.w_out_ns)


def test_the_embedded_cluster_serves_no_dashboard_unless_asked():
    """LocalCluster(dashboard_address=None) still served Dask's dashboard on :8787; the embedded
    cluster's scheduler answers on a free localhost port with no dashboard page."""
    import urllib.error
    import urllib.request
    c, cluster = dask_backend.local_client(1)
    try:
        server = cluster.scheduler.http_server
        assert server.port != 8787
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/status", timeout=10)
        assert e.value.code == 404
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in c.scheduler_info()["workers"])
    finally:
        c.close()
        cluster.close()
