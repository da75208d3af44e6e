"""The Dask backend: work units run by Dask workers on replicas of the weights, averaged per row.

Data parallel. Each Dask worker holds one replica of the three matrices (a *slot*: several
slots may share a worker after a failure) and trains the units it is sent with the threads
backend (`workers` threads per Dask worker) and today's kernels. The corpus is a corpus store
(`w2v.store`) on storage every worker reads; a unit names its blocks, never its sentences.

Rounds. The driver takes the next `units_per_slot` units of the epoch's plan for each slot
(about `round_words` words per slot), sends them, and waits. A unit's learning rate and seed are
fixed by the plan (its place in the epoch's global order), so the learning rate follows the
global word count whatever slot trains it. After each round the replicas are synchronised:

- each slot reports the rows it changed since they were last synchronised (`R - base`, where
  `base` is the value every replica agreed on), for the rows of this round's sync set;
- the driver adds to its weights, per row, the mean of the changes of the slots that changed it
  (the sum divided by the number of slots that touched the row, not by all slots, and never the
  plain sum: Spark's SPARK-24666 summed and diverged);
- every slot then sets those rows (replica and base) to the driver's values, at the start of
  its next task.

The sync set is every changed row every `full_sync_every` rounds, at the end of every run (an
epoch, a pause for a checkpoint) and at an interrupt; on the rounds between, only the *hot*
rows: those that every slot changed at the last full sync (frequent words, the Huffman nodes
near the root), which drift apart fastest. docs/distributed.md has the measurements behind the
defaults.

The driver's matrices (the model's) are the last synchronised weights: they are always
consistent, and `on_result` is called for a unit only once a full sync has put all of its
updates into them, so a checkpoint written at `units_done` holds exactly those units.

Faults. A slot whose task fails because its worker died (its process killed: Dask reruns the
task elsewhere, where the replica is missing, or gives up with KilledWorker) is rebuilt from the
driver's weights on a live worker, and its units of the round are trained again there. Lost with
the replica: its changes to rows not synchronised since the last full sync (none with
full_sync_every=1). `epoch_extras()` counts the replicas lost and the units retried.

Nothing w2v writes is pickled: Dask ships the task arguments (plain numpy arrays and tuples)
with its own serialisation between processes it started or was pointed at.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from typing import NamedTuple

import numpy as np
from numba import njit

from .. import half
from ..plan import UNIT_WORDS
from .threads import HOT_ROWS, ThreadsBackend, allocate, spare_rows

logger = logging.getLogger(__name__)

ROUND_WORDS = 1_000_000   # words each slot trains between two synchronisations
FULL_SYNC_EVERY = 1       # rounds between two synchronisations of every changed row
POLL_SECONDS = 0.25
MAX_RETRIES = 3           # times one slot's round is retried before the run gives up
SEND_TIMEOUT = 60.0       # seconds a scatter to one worker may take before the worker counts as lost


class ReplicaLost(RuntimeError):
    """A task found no replica for its slot on the worker that ran it (the worker that held it
    died, or Dask ran the task elsewhere)."""


# ---------------------------------------------------------------- worker side (a Dask worker process)
_REPLICAS: dict = {}   # (run_id, slot) -> _Replica
_STORES: dict = {}     # store path -> CorpusStore, opened once per worker process


def _store(paths: tuple):
    found = _STORES.get(paths)
    if found is None:
        import os
        missing = [p for p in paths if not os.path.isdir(p)]
        if missing:
            raise FileNotFoundError(f"this Dask worker cannot read the corpus store {missing[0]}: give cache_dir= "
                                    "(-cache-dir) a directory that the driver and every worker read")
        from ..store import open_parts
        found = _STORES[paths] = open_parts(paths)
    return found


class _Replica:
    """One slot's copy of the weights R, the values last agreed on (`base`: the driver's matrices
    at the last merge this replica applied, bit for bit), and a threads backend over them.

    Not pipelined (a round's merge arrives before the next round trains): a report is R - base;
    the merged change is added to base and R becomes base.

    Pipelined (the next round trains while the driver merges this one): R keeps training after
    its report, so a report is R - `reported` (base plus everything reported since), and when
    round r's merged change M arrives, R and `reported` get M minus what this replica reported
    for round r (`own`, kept until then): its own change replaced by the merged one, its newer
    changes kept. R then drifts from base by float rounding; once every report is merged (the
    end of a run) the merged rows are set back to base (`settle`), a local copy, no bytes."""

    def __init__(self, gen, weights, tables, cfg, threads, store_path, hot_rows, wire="float16", pipelined=False):
        self.gen = gen
        spare = spare_rows(len(tables.keep_prob), threads, cfg.softmax, hot_rows)
        self._hold([(w, spare if len(w) else 0) for w in weights], wire, pipelined)
        self.backend = ThreadsBackend(_store(store_path), *self.w, tables, cfg, workers=threads,
                                      max_units=threads, hot_rows=hot_rows)

    def _hold(self, weights, wire, pipelined):
        """The weight state: R (with `spare` rows for the threads backend), base, and, pipelined,
        what has been reported (a third copy), the unmerged reports, the rows merged since the
        last settle. weights: [(matrix, spare rows)]."""
        self.wire = np.dtype(wire)
        self.pipelined = pipelined
        self.w = []
        for w, spare in weights:
            r = allocate(len(w), w.shape[1], spare)
            r[:] = w
            self.w.append(r)
        self.base = [np.array(w, dtype=np.float32, copy=True) for w, _ in weights]
        self.reported = [b.copy() for b in self.base] if pipelined else self.base
        self.own: dict = {}
        self.dirty = [np.zeros(len(b), dtype=bool) for b in self.base] if pipelined else None
        self.next_round = None
        return self

    def check_order(self, round_no):
        """Pipelined rounds must run in order on a replica (Dask runs one worker's tasks in the
        order they were submitted); a round run out of order would mix up `own`."""
        if round_no is None:
            return
        if self.next_round is not None and round_no != self.next_round:
            raise RuntimeError(f"round {round_no} ran before round {self.next_round} on this replica")
        self.next_round = round_no + 1

    def apply(self, update):
        """Apply an update: a list of steps (kind, per matrix (rows, data), round), in order.
        "set": the rows become `data` (a rebuild, the driver's own edits); "add": round's merged
        change `data` (the wire's dtype) is added to base in float32, as the driver added it to
        its matrices, so base holds the driver's values bit for bit (class docstring for R)."""
        added = False
        for kind, mats, round_no in update:
            own = self.own.pop(round_no, None) if kind == "add" and self.pipelined else None
            if kind == "add" and self.pipelined and own is None:
                raise RuntimeError(f"the merge of round {round_no} reached a replica that did not report it")
            for m, (w, base, (rows, data)) in enumerate(zip(self.w, self.base, mats)):
                if not rows.shape[0]:
                    continue
                if kind == "set":
                    w[rows] = data
                    base[rows] = data
                    if self.pipelined:
                        self.reported[m][rows] = data
                elif data.dtype == np.float16:  # the default wire: one compiled pass
                    added = True
                    own_rows, own_change = own[m] if own is not None else (rows[:0], data[:0])
                    done = _add_merged16(w, base, self.reported[m], self.dirty[m] if self.pipelined else base[:0, 0] > 0,
                                         rows, data.view(np.uint16), own_rows, own_change.view(np.uint16),
                                         half.F16_TO_F32, self.pipelined)
                    if done != own_rows.shape[0]:
                        raise RuntimeError("a replica's report holds rows its round's merge does not")
                elif not self.pipelined:
                    base[rows] += data.astype(np.float32, copy=False)
                    w[rows] = base[rows]
                else:
                    added = True
                    merged = data.astype(np.float32)
                    base[rows] += merged
                    own_rows, own_change = own[m]
                    merged[np.searchsorted(rows, own_rows)] -= own_change.astype(np.float32, copy=False)
                    w[rows] += merged
                    self.reported[m][rows] += merged
                    self.dirty[m][rows] = True
        if added and self.pipelined and not self.own:
            self.settle()

    def settle(self):
        for w, base, reported, dirty in zip(self.w, self.base, self.reported, self.dirty):
            rows = np.flatnonzero(dirty)
            w[rows] = base[rows]
            reported[rows] = base[rows]
            dirty[:] = False

    def changes(self, sync, round_no=None):
        """Per matrix: (rows, R - reported) of the rows in the sync set that changed, in the
        wire's dtype (float16 halves the bytes of a round; the rounding error, 2^-11 of a row's
        change in a round, is far below the noise of SGD and of Hogwild; pipelined, what the
        rounding left out stays in R - reported and goes with the next report)."""
        out = []
        for m, (w, reported) in enumerate(zip(self.w, self.reported)):
            if sync is None or not len(w):
                rows, delta = np.zeros(0, dtype=np.int64), np.zeros((0, w.shape[1]), dtype=np.float32)
            else:
                cand = np.arange(len(reported), dtype=np.int64) if isinstance(sync, str) else sync[m].astype(np.int64)
                rows = np.empty(cand.shape[0], dtype=np.int64)
                if self.wire == np.float16:  # the default: found, rounded and (pipelined) counted in one pass
                    bits = np.empty((cand.shape[0], w.shape[1]), dtype=np.uint16)
                    n = _changed_rows16(w, reported, cand, rows, bits, half.F16_TO_F32, self.pipelined)
                    if n < 0:
                        raise FloatingPointError(
                            "a replica's change does not fit the wire's float16 (training diverged: lower alpha), "
                            "or pass dask_options={'wire': 'float32'}")
                    out.append((rows[:n].copy(), bits[:n].copy().view(np.float16)))
                    continue
                delta = np.empty((cand.shape[0], w.shape[1]), dtype=np.float32)
                n = _changed_rows(w, reported, cand, rows, delta)
                rows, delta = rows[:n].copy(), delta[:n]
            with np.errstate(over="ignore"):
                wired = delta.astype(self.wire)
            if not np.isfinite(wired).all():
                raise FloatingPointError(
                    f"a replica's change does not fit the wire's {self.wire} (training diverged: lower alpha), "
                    "or pass dask_options={'wire': 'float32'}")
            if self.pipelined and rows.shape[0]:
                reported[rows] += wired.astype(np.float32, copy=False)
            out.append((rows, wired))
        if self.pipelined:
            self.own[round_no] = out
        return out


@njit(nogil=True, cache=True)
def _row_differs(w, base, r):
    for j in range(w.shape[1]):
        if w[r, j] != base[r, j]:
            return True
    return False


@njit(nogil=True, cache=True)
def _changed_rows16(w, reported, cand, rows, bits, f16_to_f32, pipelined):
    """_changed_rows with the changes rounded to float16 bits as numpy rounds them; pipelined,
    each rounded change is added to `reported` (what the rounding leaves out goes with the next
    report). Returns how many rows, or -1 when a change does not fit in float16."""
    scratch = np.empty(1, dtype=np.float32)
    scratch_bits = scratch.view(np.uint32)
    n = 0
    for i in range(cand.shape[0]):
        r = cand[i]
        if not _row_differs(w, reported, r):
            continue
        rows[n] = r
        for j in range(w.shape[1]):
            scratch[0] = w[r, j] - reported[r, j]
            h = half.f16_bits(scratch_bits[0])
            if h & half.INF_BITS == half.INF_BITS:
                return -1
            bits[n, j] = h
            if pipelined:
                reported[r, j] += f16_to_f32[h]
        n += 1
    return n


@njit(nogil=True, cache=True)
def _add_merged16(w, base, reported, dirty, rows, merged, own_rows, own, f16_to_f32, pipelined):
    """Add a round's merged change (float16 bits, rows sorted) to base as the driver added it;
    not pipelined, R becomes base; pipelined, R and reported get the merged change less this
    replica's own report of the round (own_rows: sorted, a subset of rows). Returns how many of
    own_rows were found (all, unless the report and the merge disagree)."""
    k = 0
    for i in range(rows.shape[0]):
        r = rows[i]
        mine = k < own_rows.shape[0] and own_rows[k] == r
        for j in range(w.shape[1]):
            m = f16_to_f32[merged[i, j]]
            base[r, j] += m
            if pipelined:
                c = m - f16_to_f32[own[k, j]] if mine else m
                w[r, j] += c
                reported[r, j] += c
            else:
                w[r, j] = base[r, j]
        if pipelined:
            dirty[r] = True
        if mine:
            k += 1
    return k


@njit(nogil=True, cache=True)
def _changed_rows(w, base, cand, rows, delta):
    """The rows of `cand` where w differs from base, and w - base there, into rows/delta;
    returns how many (one pass over the candidates, instead of numpy's compare, any, gather)."""
    n = 0
    for i in range(cand.shape[0]):
        r = cand[i]
        if _row_differs(w, base, r):
            rows[n] = r
            for j in range(w.shape[1]):
                delta[n, j] = w[r, j] - base[r, j]
            n += 1
    return n


def _init_slot(run_id, slot, gen, weights, tables, cfg, threads, store_path, hot_rows, wire="float16",
               pipelined=False):
    _REPLICAS[(run_id, slot)] = _Replica(gen, weights, tables, cfg, threads, store_path, hot_rows, wire, pipelined)
    return slot


def _run_round(run_id, slot, gen, update, units, sync, round_no=None):
    """Apply the merges not applied yet, train `units`, report the changes of the sync set.
    Returns ([(unit index, result)], changes, seconds of training)."""
    rep = _REPLICAS.get((run_id, slot))
    if rep is None or rep.gen != gen:
        raise ReplicaLost(f"slot {slot} (generation {gen}) is not on this worker")
    rep.check_order(round_no if rep.pipelined else None)
    if update is not None:
        rep.apply(update)
    results = []
    t0 = time.perf_counter()
    if units:
        rep.backend.run(units, lambda u, r: results.append((u.index, tuple(r))))
    seconds = time.perf_counter() - t0
    return results, rep.changes(sync, round_no), seconds


def _drop(run_id, slot=None, gen=None):
    for key in [k for k in _REPLICAS if k[0] == run_id and (slot is None or k[1] == slot)]:
        if gen is None or _REPLICAS[key].gen == gen:
            del _REPLICAS[key]


def _count_shard(shard, fingerprint, max_sentence_length, threads):
    """The words and counts of one shard (`shards.Shard`: a file, a URL, a byte range of a file), by
    the compiled first pass; its ids are spilled to a temporary directory and dropped (the encoding
    pass reads the shard again). fingerprint: the driver's, which the file must still match."""
    import tempfile

    from .. import fastscan, shards
    shard = shards.Shard(*shard)
    shards.check_unchanged(shard, fingerprint)
    with tempfile.TemporaryDirectory(prefix="w2v-count-") as d:
        scan = fastscan.scan_files([shard], max_sentence_length, spill_dir=d, workers=threads)
    keep = [i for i, w in enumerate(scan.words) if w is not None]
    return [scan.words[i] for i in keep], np.asarray(scan.counts)[keep]


def _encode_shard(shard, fingerprint, max_sentence_length, cache_dir, vocab, digest, threads):
    """The shard's corpus store in `vocab`'s ids, under cache_dir (found there when a run has
    built it already: keyed by the shard's fingerprint and the vocabulary); None when the shard
    has no word of the vocabulary."""
    from .. import store as store_mod
    try:
        part = store_mod.build_from_shard(cache_dir, shard, fingerprint, max_sentence_length, {"vocab": digest},
                                          lambda words, counts: vocab, workers=threads)
    except ValueError as e:
        if "no words of the vocabulary" in str(e):
            return None
        raise
    return str(part.path)


def first_pass(client, files, cache_dir, max_sentence_length, make_vocab, threads: int = 1, *,
               range_bytes: int | None = None):
    """The vocabulary and corpus store of a corpus read on the Dask workers.

    files: a corpus path or URL (a file or a directory), or a list of its files (paths every
    worker reads, or fsspec URLs). The shards (`shards.plan`) are the files, each plain file's
    bytes cut at newlines into ranges of at most range_bytes (default shards.RANGE_BYTES), their
    number a multiple of the workers, at most shards.RANGES_PER_WORKER per worker; a .gz/.bz2 file
    cannot be cut and stays one shard. Each worker counts its shards (map), the driver adds the
    counts and makes the vocabulary once (reduce), each worker encodes its shards into a part of
    the store under cache_dir (storage every worker and the driver read). The result equals one
    pass over the files in order. The tasks are pure: Dask reruns one whose worker dies.
    Returns (vocab, store.CorpusStore of one part or store.ShardedStore)."""
    from .. import shards
    from .. import store as store_mod
    planned = shards.plan(files, max(1, len(client.nthreads())), range_bytes or shards.RANGE_BYTES)
    parts_of = [tuple(s) for s, _ in planned]  # plain tuples: what Dask ships
    prints = [fp for _, fp in planned]
    counted = client.map(_count_shard, parts_of, prints, max_sentence_length=max_sentence_length, threads=threads,
                         pure=False)
    merged: dict = {}
    for f in counted:  # in shard order: the same totals as one pass over the files in order
        words, counts = f.result()
        for w, c in zip(words, counts.tolist()):
            merged[w] = merged.get(w, 0) + c
    del counted
    vocab = make_vocab(list(merged), np.fromiter(merged.values(), np.int64, len(merged)))
    digest = store_mod.vocab_digest(vocab)
    [shared] = client.scatter([vocab], broadcast=True, hash=False)
    parts = client.map(_encode_shard, parts_of, prints, max_sentence_length=max_sentence_length,
                       cache_dir=str(cache_dir), vocab=shared, digest=digest, threads=threads, pure=False)
    paths = [p for p in client.gather(parts) if p is not None]
    if not paths:
        raise ValueError("the corpus has no words of the vocabulary")
    return vocab, store_mod.open_parts(paths) if len(paths) > 1 else store_mod.CorpusStore(paths[0])


# ---------------------------------------------------------------- driver side
def _retryable(exc) -> bool:
    """Errors that mean a worker or its replica was lost, not a bug in the task."""
    if isinstance(exc, ReplicaLost):
        return True
    try:
        from distributed.comm.core import CommClosedError
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (KilledWorker, CommClosedError, OSError)) or type(exc).__name__ in (
        "FutureCancelledError", "CancelledError")


def local_client(n_workers: int, dashboard: bool = False):
    """A Client of a LocalCluster of n_workers processes (1 Dask thread each), listening on
    localhost only, dashboard off unless asked for. Returns (client, cluster)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:
        raise ImportError("the Dask backend needs Dask: pip install 'w2v[dask]'") from e
    import dask
    # dashboard_address=None still serves the dashboard on :8787 (Dask's default); the scheduler's
    # HTTP server (health, metrics) always starts: on a free localhost port, dashboard off unless asked
    with dask.config.set({"distributed.scheduler.work-stealing": False}):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": bool(dashboard)},
                               silence_logs=logging.ERROR)
    return Client(cluster), cluster


def connect(client):
    """A dask.distributed.Client for `client`: a Client is returned as is, a scheduler address
    (tcp://HOST:PORT, tls://...) is connected to with Dask's configured security settings."""
    try:
        from dask.distributed import Client
    except ImportError as e:
        raise ImportError("the Dask backend needs Dask: pip install 'w2v[dask]'") from e
    if isinstance(client, Client):
        return client
    if isinstance(client, str):
        return Client(client)
    raise TypeError(f"client must be a dask.distributed.Client or a scheduler address, got {type(client).__name__}")


class _Round(NamedTuple):
    round_no: int
    shares: list      # per slot: its units
    sync: object      # "all", or per matrix the hot rows
    k: int            # units of the run sent up to the end of this round
    futures: dict     # slot -> Future

    @property
    def full(self) -> bool:
        return isinstance(self.sync, str)


class DaskBackend:
    """Runs lists of work units on replicas held by Dask workers (module docstring).

    corpus: a store.CorpusStore on a path every worker can read; w_in, w_out_hs, w_out_ns: the
    model's matrices, which hold the synchronised weights; client: a dask.distributed.Client;
    workers: threads per slot; slots: replicas (default: one per Dask worker up at the start; a
    slot waits on a shared worker until another is free). With one thread per slot a run is
    deterministic, since each replica trains its units in order and the merge adds in slot order.
    """

    def __init__(self, corpus, w_in, w_out_hs, w_out_ns, tables, cfg, *, client, workers: int = 1,
                 slots: int | None = None, round_words: int = ROUND_WORDS, full_sync_every: int = FULL_SYNC_EVERY,
                 hot_rows: int = HOT_ROWS, max_units: int | None = None, combine: str = "mean",
                 lr_scale: float | None = None, wire: str = "float16", pipeline: bool = False):
        paths = getattr(corpus, "paths", None)
        if paths is None or getattr(corpus, "block_words", None) is None:
            raise ValueError("the Dask backend trains from a corpus store on disk (corpus_store='disk'), "
                             "not a corpus in RAM")
        if full_sync_every < 1 or round_words < 1:
            raise ValueError("round_words and full_sync_every must be >= 1")
        self.client = client
        self.store_path = tuple(str(p) for p in paths)
        self.w = [w_in, w_out_hs, w_out_ns]
        self.tables, self.cfg, self.threads, self.hot_rows = tables, cfg, max(1, int(workers)), hot_rows
        self.full_sync_every = int(full_sync_every)
        self.combine = combine
        if wire not in ("float16", "float32"):
            raise ValueError(f"wire must be 'float16' or 'float32', got {wire!r}")
        self.wire = np.dtype(wire)
        # two rounds in flight: only with a full sync every round (partial syncs need each
        # round's merge before the next round reports)
        self.pipelined = bool(pipeline) and self.full_sync_every == 1
        self.round_no = 0
        self.units_per_slot = max(1, round(round_words / UNIT_WORDS))
        addresses = self._live_workers(wait=60.0)
        self.n_slots = int(slots) if slots else len(addresses)
        self.lr_scale = float(self.n_slots if lr_scale is None else lr_scale)
        self.run_id = uuid.uuid4().hex
        self.addr = {s: addresses[s % len(addresses)] for s in range(self.n_slots)}
        self.gen = {s: 0 for s in range(self.n_slots)}
        self.pending = {s: None for s in range(self.n_slots)}
        self.synced = [np.array(w, copy=True) for w in self.w]  # the driver's matrices as the last run left them
        from concurrent.futures import ThreadPoolExecutor
        self._merging = ThreadPoolExecutor(max_workers=2, thread_name_prefix="w2v-merge")
        self.hot = None  # per matrix: rows every slot changed at the last full sync
        self.units_done = 0
        # slots share a worker (since a loss, or more slots than workers up at the start): spread
        # them out when a worker is free
        self.unbalanced = self.n_slots > len(addresses)
        self.counters = {"rounds": 0, "full_syncs": 0, "bytes_up": 0, "bytes_down": 0, "sync_seconds": 0.0,
                         "compute_seconds": 0.0, "lost_replicas": 0, "retried_rounds": 0, "retried_units": 0}
        self._epoch_mark = dict(self.counters)
        futures = [self._init(s) for s in range(self.n_slots)]
        for f in futures:
            f.result()

    # ------------------------------------------------------------ workers and slots
    def _live_workers(self, wait: float = 30.0) -> list[str]:
        deadline = time.monotonic() + wait
        while True:
            found = sorted(self.client.scheduler_info(n_workers=-1)["workers"])
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if not found:
            raise RuntimeError("the Dask cluster has no workers")
        return found

    def _init(self, slot):
        # scattered straight to the worker, not inside the task (which goes through the scheduler)
        [weights] = self.client.scatter([[np.ascontiguousarray(w) for w in self.w]], workers=[self.addr[slot]],
                                        hash=False, timeout=SEND_TIMEOUT)
        return self.client.submit(_init_slot, self.run_id, slot, self.gen[slot], weights, self.tables, self.cfg,
                                  self.threads, self.store_path, self.hot_rows, self.wire.name, self.pipelined,
                                  workers=[self.addr[slot]],
                                  allow_other_workers=False, pure=False)

    def _rebuild(self, slot):
        """A new replica of `slot` from the driver's weights, on the live worker with fewest slots."""
        old = (self.addr[slot], self.gen[slot])
        live = self._live_workers()
        load = {a: sum(1 for s, b in self.addr.items() if b == a and s != slot) for a in live}
        self.addr[slot] = min(live, key=lambda a: (load[a], a))
        self.gen[slot] += 1
        self.pending[slot] = None  # the driver's weights include every sync so far
        self.counters["lost_replicas"] += 1
        self.unbalanced = True
        logger.warning("replica %d lost (worker %s); rebuilt on %s from the last synchronised weights",
                       slot, old[0], self.addr[slot])
        if old[0] in live:
            self.client.submit(_drop, self.run_id, slot, old[1], workers=[old[0]], pure=False)
        for attempt in range(MAX_RETRIES + 1):
            try:
                self._init(slot).result(timeout=SEND_TIMEOUT)
                return
            except Exception as e:  # the chosen worker died too: another
                if attempt == MAX_RETRIES or not _retryable(e) and not isinstance(e, TimeoutError):
                    raise
                live = self._live_workers()
                self.addr[slot] = min(live, key=lambda a: (sum(1 for b in self.addr.values() if b == a), a))

    def _rebalance(self):
        """Move slots off a worker that holds several to a worker that holds none (a restarted or a
        new one). Only right after a full sync, when every replica equals the driver's weights."""
        live = self._live_workers()
        load = {a: [s for s in range(self.n_slots) if self.addr[s] == a] for a in live}
        idle = [a for a in live if not load[a]]
        crowded = [s for a in live for s in load[a][1:]] + [s for s in range(self.n_slots) if self.addr[s] not in load]
        for slot, target in zip(crowded, idle):
            old = (self.addr[slot], self.gen[slot])
            self.addr[slot], self.gen[slot] = target, self.gen[slot] + 1
            self.pending[slot] = None
            self._init(slot).result()
            if old[0] in load:
                self.client.submit(_drop, self.run_id, slot, old[1], workers=[old[0]], pure=False)
            logger.info("replica %d moved from %s to %s", slot, old[0], target)
        self.unbalanced = len(crowded) > len(idle)

    def _ship_pending(self):
        """Scatter each slot's queued rows to its worker (straight to the workers, not through the
        scheduler); slots that share one update get it from one scatter."""
        live = set(self._live_workers())
        for s in range(self.n_slots):
            if self.addr[s] not in live:  # its worker is gone: a scatter to it would wait for it forever
                self._rebuild(s)
        groups = {}
        for s in range(self.n_slots):
            if self.pending[s] is not None:
                groups.setdefault(id(self.pending[s]), []).append(s)
        shipped = {}
        for slots in groups.values():
            update = self.pending[slots[0]]
            self.counters["bytes_down"] += len(slots) * sum(r.nbytes + v.nbytes for _, mats, _ in update
                                                            for r, v in mats)
            try:
                [future] = self.client.scatter([update], workers=sorted({self.addr[s] for s in slots}), hash=False,
                                               broadcast=True, timeout=SEND_TIMEOUT)
            except Exception as e:
                if not (_retryable(e) or isinstance(e, TimeoutError)):
                    raise
                for s in slots:
                    self._rebuild(s)  # from the driver's weights, which hold the update
                continue
            for s in slots:
                shipped[s] = future
                self.pending[s] = None
        return shipped

    def _submit(self, slot, units, sync, update=None, round_no=None):
        # an earlier round first: two submits within Dask's fifo_timeout (100 ms) share a priority
        # and may run in either order on the worker (the replica checks the order)
        return self.client.submit(_run_round, self.run_id, slot, self.gen[slot], update, units, sync, round_no,
                                  workers=[self.addr[slot]], allow_other_workers=True, pure=False,
                                  priority=-(round_no or 0))

    # ------------------------------------------------------------ a round
    def _start_round(self, shares, sync, k):
        """Ship the merges each slot has not had yet and send every slot its share of a round."""
        shipped = self._ship_pending()
        self.round_no += 1
        futures = {s: self._submit(s, shares[s], sync, shipped.get(s), self.round_no) for s in range(self.n_slots)}
        return _Round(self.round_no, shares, sync, k, futures)

    def _finish_round(self, rnd, later, poll):
        """Wait for round `rnd`, retrying the share of a slot whose worker died on a replica
        rebuilt from the driver's weights (which hold every merge before this round); the rounds
        `later` already sent to that slot are sent again, without the merges the rebuilt replica
        already holds. Then merge. Returns [(unit index, result)]."""
        from distributed import wait as dask_wait
        futures = dict(rnd.futures)
        tries = {s: 0 for s in range(self.n_slots)}
        out = {}
        while futures:
            try:
                dask_wait(list(futures.values()), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            except Exception:  # a timeout, or a future cancelled (its scattered input died with a worker)
                pass
            done = {f for f in futures.values() if f.done()}
            for s, f in list(futures.items()):
                if f not in done:
                    continue
                del futures[s]
                exc = f.exception() if f.status == "error" else None
                if f.status == "cancelled" or (exc is not None and _retryable(exc)):
                    tries[s] += 1
                    if tries[s] > MAX_RETRIES:
                        raise RuntimeError(f"replica {s} failed {tries[s]} times in one round; last error: {exc!r}")
                    self._rebuild(s)
                    self.counters["retried_rounds"] += 1  # one slot's task of the round (it may have no units)
                    self.counters["retried_units"] += len(rnd.shares[s])
                    futures[s] = self._submit(s, rnd.shares[s], rnd.sync, None, rnd.round_no)
                    for after in later:
                        after.futures[s].cancel()
                        after.futures[s] = self._submit(s, after.shares[s], after.sync, None, after.round_no)
                elif exc is not None:
                    raise exc
                else:
                    out[s] = f.result()
            if futures and poll is not None:
                poll()
        t0 = time.perf_counter()
        self._merge([out[s][1] for s in range(self.n_slots)], full=rnd.full, round_no=rnd.round_no)
        self.counters["sync_seconds"] += time.perf_counter() - t0
        self.counters["compute_seconds"] += max(out[s][2] for s in range(self.n_slots))
        self.counters["rounds"] += 1
        return [r for s in range(self.n_slots) for r in out[s][0]]

    def _merge(self, changes, full: bool, round_no=None):
        """Add the slots' changes to the driver's weights (merge_changes) and queue the merged
        change, in the wire's dtype, for every slot (which adds it as the driver did); at a full
        sync, the rows every slot changed become the hot rows."""
        update, hot = [], []

        def merge(m):  # the matrices are merged at once, on two threads (the kernels release the GIL)
            return merge_changes(self.w[m], [c[m] for c in changes], self.combine, self.wire)
        for m, (rows, touched, change) in enumerate(self._merging.map(merge, range(len(self.w)))):
            self.counters["bytes_up"] += sum(c[m][0].nbytes + c[m][1].nbytes for c in changes)
            hot.append(rows[touched == len(changes)])
            update.append((rows, change))
        if full:
            self.hot = hot
            self.counters["full_syncs"] += 1
        step = [("add", update, round_no)]
        for s in range(self.n_slots):
            self.pending[s] = _combine(self.pending[s], step)

    # ------------------------------------------------------------ the backend interface
    def run(self, units, on_result, poll=None, pause=None) -> int:
        """Train `units` in rounds (module docstring); on_result(unit, result) is called, in unit
        order, once a full sync has put the unit's updates into the driver's weights. Returns the
        number of units trained, units[:k] (k < len(units) only when paused); also in units_done.
        Pipelined, the next round is sent before this one is merged (two rounds in flight)."""
        self.units_done = 0
        # on an exception the driver's weights are the last sync's, with units_done units in them
        try:
            self._take_outside_changes()
            return self._run(units, on_result, poll, lambda: pause is not None and pause.is_set())
        finally:  # what the replicas hold or have queued: changes made after this are outside ones
            for synced, w in zip(self.synced, self.w):
                np.copyto(synced, w)

    def _run(self, units, on_result, poll, paused):
        by_index = {u.index: u for u in units}
        unreported = []
        per_round = self.units_per_slot * self.n_slots
        depth = 2 if self.pipelined else 1
        k = 0
        since_full = 0
        inflight = deque()
        while True:
            while len(inflight) < depth and k < len(units) and not paused():
                if self.unbalanced and since_full == 0 and not inflight:
                    self._rebalance()
                batch = units[k:k + per_round]
                if self.lr_scale != 1.0:
                    batch = [u._replace(lr0=u.lr0 * self.lr_scale, lr1=u.lr1 * self.lr_scale) for u in batch]
                shares = [batch[s::self.n_slots] for s in range(self.n_slots)]
                since_full += 1
                k += len(batch)
                full = k >= len(units) or paused() or since_full >= self.full_sync_every
                inflight.append(self._start_round(shares, "all" if full else self.hot, k))
                if full:
                    since_full = 0
            if not inflight:
                break
            rnd = inflight.popleft()
            unreported += self._finish_round(rnd, list(inflight), poll)
            if poll is not None:  # once a round at least, however short: progress, a checkpoint due
                poll()
            if rnd.full:
                self._report(unreported, by_index, on_result)
                self.units_done = rnd.k
        if unreported:  # paused between full syncs
            rnd = self._start_round([[] for _ in range(self.n_slots)], "all", k)
            unreported += self._finish_round(rnd, [], poll)
            self._report(unreported, by_index, on_result)
            self.units_done = k
        return self.units_done

    def _report(self, unreported, by_index, on_result):
        for index, result in sorted(unreported, key=lambda x: x[0]):
            on_result(by_index[index], result)
        unreported.clear()

    def _take_outside_changes(self):
        """Rows of the driver's matrices changed since the last sync (a callback, early stopping's
        restore, the model's code between two runs) go to every replica."""
        update = []
        for m, w in enumerate(self.w):
            rows = np.flatnonzero((w != self.synced[m]).any(axis=1)) if len(w) else np.zeros(0, dtype=np.int64)
            update.append((rows, np.ascontiguousarray(w[rows])))
        if any(r.shape[0] for r, _ in update):
            step = [("set", update, None)]
            for s in range(self.n_slots):
                self.pending[s] = _combine(self.pending[s], step)

    def epoch_extras(self) -> dict:
        """What this backend did since the last call (an epoch): rounds, syncs, bytes, retries."""
        now = self.counters
        out = {k: now[k] - self._epoch_mark[k] for k in now}
        self._epoch_mark = dict(now)
        return {"dask": out}

    def close(self):
        """Drop every replica of this run from the workers."""
        self._merging.shutdown(wait=False)
        try:
            self.client.run(_drop, self.run_id)
        except Exception:  # a worker gone: its replicas went with it
            logger.debug("dropping replicas", exc_info=True)


_COMBINE = {"mean": 0, "slots": 1, "sum": 2}


def merge_changes(w, parts, combine: str = "mean", wire=np.float32):
    """Add to w, per row, the changes `parts` = [(rows, values)] of the slots (each part's rows
    unique): with "mean", each slot's change of a row divided by the number of slots that changed
    it; "slots": by the number of slots; "sum": not divided (Hogwild-like; diverges with many
    slots). The merged change of a row is summed part by part in float32, rounded to the `wire`
    dtype, and added to w in float32: a replica that adds the same rounded change to the same
    values gets the same bits. Returns (rows changed, sorted; how many slots changed each; their
    merged change in the wire's dtype)."""
    wire = np.dtype(wire)
    if not parts or not sum(r.shape[0] for r, _ in parts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, w.shape[1]), dtype=wire)
    rows = np.concatenate([r for r, _ in parts]).astype(np.int64, copy=False)
    f16 = wire == np.float16
    values = np.concatenate([np.asarray(v, dtype=np.float16 if f16 else np.float32) for _, v in parts])
    if rows.min() < 0 or rows.max() >= w.shape[0] or values.shape != (rows.shape[0], w.shape[1]):
        raise ValueError("a replica sent rows outside the matrix or values of another shape")
    touched = np.zeros(w.shape[0], dtype=np.int64)
    for r, _ in parts:
        touched[r] += 1
    changed = np.flatnonzero(touched)
    where = np.zeros(w.shape[0], dtype=np.int64)
    where[changed] = np.arange(changed.shape[0])
    change = np.zeros((changed.shape[0], w.shape[1]), dtype=np.float32)
    if f16:  # the default: summed, rounded and added in compiled code, as the numpy lines below do
        bits = np.empty(change.shape, dtype=np.uint16)
        if not _merge16(w, changed, where, rows, values.view(np.uint16), touched, _COMBINE[combine], len(parts),
                        half.F16_TO_F32, change, bits):
            raise FloatingPointError("a merged change does not fit the wire's float16 (training diverged)")
        return changed, touched[changed], bits.view(np.float16)
    _sum_changes(change, where, rows, values, touched, _COMBINE[combine], len(parts))
    change = change.astype(wire, copy=False)
    w[changed] += change.astype(np.float32, copy=False)
    return changed, touched[changed], change


@njit(nogil=True, cache=True)
def _merge16(w, changed, where, rows, values, touched, mode, n_parts, f16_to_f32, change, bits):
    """_sum_changes over float16 bits, then each row's sum rounded to float16 and added to w.
    Returns False when a rounded sum does not fit in float16."""
    for i in range(rows.shape[0]):
        r = rows[i]
        div = touched[r] if mode == 0 else (n_parts if mode == 1 else 1)
        k = where[r]
        for j in range(change.shape[1]):
            change[k, j] = np.float32(change[k, j] + np.float32(f16_to_f32[values[i, j]] / div))
    scratch = np.empty(1, dtype=np.float32)
    scratch_bits = scratch.view(np.uint32)
    for k in range(changed.shape[0]):
        for j in range(change.shape[1]):
            scratch[0] = change[k, j]
            h = half.f16_bits(scratch_bits[0])
            if h & half.INF_BITS == half.INF_BITS:
                return False  # before w is touched
            bits[k, j] = h
    for k in range(changed.shape[0]):
        r = changed[k]
        for j in range(change.shape[1]):
            w[r, j] += f16_to_f32[bits[k, j]]
    return True


@njit(nogil=True, cache=True)
def _sum_changes(change, where, rows, values, touched, mode, n_parts):
    for i in range(rows.shape[0]):
        r = rows[i]
        div = touched[r] if mode == 0 else (n_parts if mode == 1 else 1)
        k = where[r]
        for j in range(change.shape[1]):
            change[k, j] = np.float32(change[k, j] + np.float32(values[i, j] / div))


def merge_changes_reference(w, parts, combine: str = "mean", wire=np.float32):
    """merge_changes in plain numpy (the test's reference)."""
    rows = np.unique(np.concatenate([r for r, _ in parts])) if parts else np.zeros(0, dtype=np.int64)
    touched = np.zeros(rows.shape[0], dtype=np.int64)
    for r, _ in parts:
        touched[np.searchsorted(rows, r)] += 1
    change = np.zeros((rows.shape[0], w.shape[1]), dtype=np.float32)
    for r, v in parts:
        at = np.searchsorted(rows, r)
        div = {"mean": touched[at], "slots": np.full(r.shape[0], len(parts)),
               "sum": np.ones(r.shape[0], dtype=np.int64)}[combine]
        change[at] += (v.astype(np.float32) / div[:, None]).astype(np.float32)
    change = change.astype(wire)
    w[rows] += change.astype(np.float32)
    return rows, touched, change


def _combine(old, new):
    """One update: the steps of `old`, then those of `new` (applied in order: a merged change is
    added to the values a replica holds, so steps cannot be folded into one without changing
    the bits)."""
    return new if old is None else list(old) + list(new)  # `new` itself: slots that share it share one scatter
