"""The rounds backend: several threads, and the same vectors run after run (`deterministic=True`).

Hogwild (`threads`) lets every thread read rows that other threads are writing, so what a unit
computes depends on how far the other threads have got: with two workers the same seed gives
other vectors each run. Here units run in rounds. A round gives each of R threads the next unit
of the plan (thread t the t-th), trained by `kernels.train_chunk` on the thread's own replica of
the matrices, which equals the model at the round's start. When every unit of the round is
trained, the replicas' changes are merged into the model (`merge_replicas`): row by row, the
replicas in a fixed order, each row's result a function of that row alone, so that the merge can
be split over the threads by rows and still give the same bits. Every replica row is then set
to the merged row, and the next round starts. A unit reads only the round's starting weights
and its own updates, never another thread's progress, so the result depends on the seed, the
plan and R (the number of workers), never on timing.

Merging: a row that one replica changed takes that replica's row (so one worker gives exactly
the single-thread result); a row that several changed takes the model's row plus the sum of
their changes (merge="sum", the default: what Hogwild applies too, only later), or plus their
mean (merge="mean": each frequent row moves as one replica would move it; a model average per
row, as a distributed backend does). docs/reliability.md has the measured speed and quality of both.

What it costs: one replica of every trained matrix per thread (R times the model's weights,
allocated for the time of a `train()` call and checked against the memory available first), one
merge pass over the matrices per round, and staleness: a thread does not see the other threads'
updates of the round (one unit) until the merge, which is why deterministic training cuts an
epoch into at least UNITS_PER_EPOCH units (`unit_words`: a hundredth of the corpus, from 1,000
to the plan's 50,000 words).

Stopping: as the threads backend's `run`, with rounds for units: a pause stops at a round's
end; on Ctrl-C the round in hand finishes and is merged before KeyboardInterrupt is raised (a
second Ctrl-C stops the wait for the round's units: the model then holds the rounds before,
since only a merge writes it). An exception in a thread discards its round.
"""
from __future__ import annotations

import threading

import numpy as np
from numba import njit

from .. import kernels
from ..plan import UNIT_WORDS
from .threads import POLL_SECONDS, _launched

MERGES = ("sum", "mean")
# Deterministic training cuts an epoch into at least this many units (of at least MIN_UNIT_WORDS
# words, and at most the plan's 50,000): a thread sees the other threads' updates only at a
# round's end, and rounds that are a large part of an epoch cost quality. On 300k words (6
# units of 50,000), co-occurrence agreement was 0.03-0.05 below Hogwild's; units of 3,000 words
# (a hundredth) brought it within 0.004 (docs/reliability.md). Corpora of 5M words and more keep
# 50,000, and so does a corpus store (its units are its blocks).
UNITS_PER_EPOCH = 100
MIN_UNIT_WORDS = 1_000


def unit_words(n_words: int) -> int:
    """Words per work unit for deterministic training on a corpus of n_words words. A function of
    the corpus alone, not of the workers, so that a checkpoint resumes with any number of them."""
    return int(min(UNIT_WORDS, max(MIN_UNIT_WORDS, n_words // UNITS_PER_EPOCH)))


@njit(nogil=True, cache=True)
def merge_replicas(w, replicas, r0, r1, mean):
    """Merge rows r0..r1-1 of the replicas into the model's rows, then set the replicas' rows to them.

    w: float32 (V, d), the model's rows as at the round's start; replicas: float32 (R, V, d).
    A row no replica changed stays; a row one replica changed takes that replica's row; a row
    several changed takes w + the sum (mean: the mean) of their changes, added in replica
    order in float32. No fastmath: the same inputs give the same bits (a reference in numpy
    reproduces them).
    """
    n_rep = replicas.shape[0]
    d = w.shape[1]
    for r in range(r0, r1):
        n_changed = 0
        last = -1
        for t in range(n_rep):
            changed = False
            for j in range(d):  # no early exit: the loop vectorises, and most rows are unchanged
                changed |= replicas[t, r, j] != w[r, j]  # NaN != NaN: a NaN row is a change, and spreads
            if changed:
                n_changed += 1
                last = t
        if n_changed == 0:
            continue
        if n_changed == 1:
            for j in range(d):
                w[r, j] = replicas[last, r, j]
        else:
            count = np.float32(n_changed)
            for j in range(d):
                base = w[r, j]
                change = np.float32(0.0)
                for t in range(n_rep):
                    change += replicas[t, r, j] - base
                w[r, j] = base + (change / count if mean else change)
        for t in range(n_rep):
            if n_changed > 1 or t != last:
                for j in range(d):
                    replicas[t, r, j] = w[r, j]


def replica_bytes(w_in, w_out_hs, w_out_ns, replicas: int) -> int:
    """Bytes the replicas of these matrices take."""
    return replicas * sum(w.shape[0] * w.shape[1] * 4 for w in (w_in, w_out_hs, w_out_ns))


class _Pool:
    """n threads, each running one job per phase: `start(jobs)` gives thread k jobs[k] (None: an
    idle turn), `wait` returns when every thread has run its job of the phase.

    The threads live for one `RoundsBackend.run`, so that no thread is started between a round's
    training and its merge. `start` commits a phase with one assignment (self.phase), so a
    Ctrl-C that interrupts it leaves the phase either started for every thread or for none.
    Waiting is on a condition with a timeout, never on Thread.join (threads.py says why).
    """
    _CLOSE = object()

    def __init__(self, n: int, name: str):
        self.cond = threading.Condition()
        self.jobs = [None] * n
        self.phase = 0
        self.done = [0] * n      # the last phase each thread finished
        self.errors = []
        self.threads = [threading.Thread(target=self._body, args=(k,), daemon=True, name=f"{name}-{k}")
                        for k in range(n)]
        try:
            for t in self.threads:
                t.start()
        except BaseException:  # Ctrl-C while starting: the threads that started are told to stop
            self.close()
            raise

    def _body(self, k):
        seen = 0
        while True:
            with self.cond:
                while self.phase == seen:
                    self.cond.wait(POLL_SECONDS)
                seen, job = self.phase, self.jobs[k]
            if job is self._CLOSE:
                return
            try:
                if job is not None:
                    job()
            except BaseException as e:  # raised again by the calling thread
                self.errors.append(e)
            with self.cond:
                self.done[k] = seen
                self.cond.notify_all()

    def start(self, jobs):
        jobs = list(jobs) + [None] * (len(self.jobs) - len(jobs))
        with self.cond:
            self.jobs = jobs
            self.phase += 1  # the commit point
            self.cond.notify_all()

    def wait(self, poll=None):
        while True:
            with self.cond:
                if all(d == self.phase for d in self.done):
                    return
                self.cond.wait(POLL_SECONDS)
            if poll is not None:
                poll()

    def close(self):
        self.start([self._CLOSE] * len(self.jobs))


class RoundsBackend:
    """Runs lists of work units over one encoded corpus and the model's matrices, in rounds of
    one unit per replica (module docstring): bit-identical results for the same plan and workers.

    The constructor and `run` are the threads backend's (`ThreadsBackend`); merge: "sum" or "mean".
    """

    def __init__(self, corpus, w_in, w_out_hs, w_out_ns, tables, cfg, *, workers: int, max_units: int,
                 merge: str = "sum"):
        if merge not in MERGES:
            raise ValueError(f"merge must be one of {', '.join(MERGES)}, got {merge!r}")
        self.corpus = corpus
        self.n_replicas = max(min(workers, max_units), 1)
        self.mean = merge == "mean"
        self.tables = tables
        self.cfg = cfg._replace(hot_rows=0, hot_slot=0)  # a replica is private whole: no hot rows to copy
        self.matrices = (w_in, w_out_hs, w_out_ns)
        _check_memory(replica_bytes(w_in, w_out_hs, w_out_ns, self.n_replicas), self.n_replicas)
        self.replicas = [np.empty((self.n_replicas,) + w.shape, dtype=np.float32) for w in self.matrices]
        self.units_done = 0

    def run(self, units, on_result, poll=None, pause=None) -> int:
        """Train `units`, as ThreadsBackend.run: on_result(unit, (raw, effective, loss, n_predictions))
        for each unit, here from the calling thread, in the units' order, after its round's merge;
        poll() every POLL_SECONDS from the calling thread; once `pause` is set, no round starts.
        Returns k, the number of units trained (units[:k]; a multiple of the replicas unless all),
        also left in `units_done` when the run ends by an exception."""
        self.units_done = 0
        for w, rep in zip(self.matrices, self.replicas):  # the rows as the model holds them now
            rep[:] = w
        readers = [self.corpus.reader() for _ in range(self.n_replicas)]  # each thread's own
        pool = _Pool(self.n_replicas, "w2v-round")
        try:
            for start in range(0, len(units), self.n_replicas):
                if pause is not None and pause.is_set():
                    break
                self._round(pool, readers, units[start:start + self.n_replicas], on_result, poll)
        finally:
            pool.close()
        return self.units_done

    def _round(self, pool, readers, batch, on_result, poll):
        """Train each unit of the batch on its replica, merge, report the results in order."""
        results = [None] * len(batch)

        def job(slot):
            def train():
                u = batch[slot]
                w_in, w_out_hs, w_out_ns = (rep[slot] for rep in self.replicas)
                ids, bounds, sents = readers[slot](u)
                results[slot] = kernels.train_chunk(ids, bounds, sents, w_in, w_out_hs, w_out_ns, self.tables,
                                                    self.cfg, u.lr0, u.lr1, np.uint64(u.seed))
            return train

        before = pool.phase
        try:
            pool.start([job(slot) for slot in range(len(batch))])
            pool.wait(poll)
        except BaseException:
            # Ctrl-C: the round's units finish and are merged, then it is raised; a second Ctrl-C
            # stops this wait, and the model keeps the rounds before (only a merge writes it)
            if pool.phase != before:
                pool.wait()
                if not pool.errors:
                    self._merge(pool)
                    self._report(batch, results, on_result)
            raise
        if pool.errors:
            raise pool.errors[0]  # the model holds the rounds before; the next run resets the replicas
        interrupted = self._merge(pool)
        self._report(batch, results, on_result)
        if interrupted:
            raise KeyboardInterrupt

    def _report(self, batch, results, on_result):
        for u, result in zip(batch, results):
            on_result(u, result)
            self.units_done += 1

    def _merge(self, pool) -> bool:
        """Merge the replicas into the model, split by rows over the pool's threads. Returns
        whether a Ctrl-C came meanwhile: a merge is finished before it is raised, never left half
        done."""
        n = self.n_replicas
        parts = [(w, rep, w.shape[0] * k // n, w.shape[0] * (k + 1) // n)
                 for w, rep in zip(self.matrices, self.replicas) for k in range(n)]

        def job(slot):
            def merge():
                for w, rep, r0, r1 in parts[slot::n]:
                    merge_replicas(w, rep, r0, r1, self.mean)
            return merge

        interrupted = False
        before = pool.phase
        while True:
            try:
                if pool.phase == before:
                    pool.start([job(slot) for slot in range(n)])
                pool.wait()
                break
            except KeyboardInterrupt:
                interrupted = True
        if pool.errors:
            raise pool.errors[0]
        return interrupted


def _check_memory(needed: int, replicas: int):
    from ..config import available_memory
    from ..errors import NotEnoughMemoryError

    def size(n):
        return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{max(n / 2**20, 1):.0f} MB"

    available = available_memory()
    if available is not None and needed > available:
        raise NotEnoughMemoryError(
            f"deterministic training keeps one copy of the model's matrices per worker: {replicas} x "
            f"{size(needed // replicas)} = {size(needed)}, but {size(available)} of memory is available: use "
            "fewer workers, or deterministic=False")
