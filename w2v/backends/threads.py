"""The threads backend: work units run by Python threads on shared weights (Hogwild).

Each thread takes the next unit of the list from a shared counter and runs
`kernels.train_chunk` on it, which releases the GIL; the threads update the model's matrices
without locks (Recht et al. 2011: words are sparse, so collisions are rare and harmless). A
unit's learning rates and seed come from the plan, so what a unit trains does not depend on
which thread runs it; with one thread, a run is bit-for-bit reproducible.

This backend alone owns the threads' private hot rows (kernels module docstring): with several
threads, each keeps private copies of the most written rows of each matrix, appended after the
real rows, and merges them into the shared rows as it goes. The model allocates its matrices
through `allocate`, so that the private rows sit after the real ones in one array and
training extends the matrix in place; a matrix without room (a loaded model's) is copied into
an extended array for the time of a `run` and copied back at its end. Either way, the model
sees plain (V, d) matrices whenever no `run` is in progress.

Stopping: `run` returns when every unit is trained, or, on KeyboardInterrupt (Ctrl-C in a
notebook) or an error in a thread, after each thread has finished the unit in hand; the
private rows are merged and copied back first, so the model is consistent, and the exception
is raised. A second KeyboardInterrupt while waiting gives up waiting at once.
"""
from __future__ import annotations

import itertools
import threading
import time

import numpy as np

from .. import kernels

# Rows of each matrix each thread keeps private copies of when several threads train
# (kernels.Config.hot_rows): the Huffman nodes nearest the root and the input and output rows of
# the most frequent words, which every thread would otherwise keep writing (docs/performance.md).
HOT_ROWS = 256
POLL_SECONDS = 0.25


def spare_rows(v: int, workers: int, softmax: bool, hot_rows: int = HOT_ROWS) -> int:
    """Rows to allocate after the V real rows of each matrix, so that training with `workers`
    threads finds its private rows in place: hot_rows per thread, or 0 (one thread shares rows
    with no one; a small vocabulary has no rows worth copying; the full softmax writes every row)."""
    return hot_rows * workers if workers > 1 and not softmax and v > 4 * hot_rows else 0


def allocate(rows: int, d: int, spare: int) -> np.ndarray:
    """float32 zeros (rows, d): the leading rows of an array with `spare` more (spare_rows)."""
    return np.zeros((rows + spare if rows else 0, d), dtype=np.float32)[:rows]


def _in_place_extension(w, rows: int):
    """The first `rows` rows of the array that w is the leading rows of, or None."""
    base = w.base
    if (not isinstance(base, np.ndarray) or base.ndim != 2 or base.shape[0] < rows or base.shape[1] != w.shape[1]
            or base.dtype != w.dtype or not base.flags.c_contiguous or not w.flags.c_contiguous
            or base.ctypes.data != w.ctypes.data):
        return None
    return base[:rows]


def _thread_private(w_in, w_out_hs, w_out_ns, tables, cfg, hot: int, n_threads: int) -> list[tuple]:
    """Per thread: (w_in, w_out_hs, w_out_ns, tables, cfg) for kernels.train_chunk.

    With hot > 0, w_in, w_out_hs and w_out_ns are each extended by one block of `hot` private rows
    per thread after the real ones (one array per matrix, shared by all threads), and each thread
    gets its Huffman paths mapped to its block. A matrix that is the leading rows of a larger
    array (allocate) is extended in place; any other is copied into a new extended array. Without
    hot rows, every thread gets the model's arrays.
    """
    if hot == 0:
        return [(w_in, w_out_hs, w_out_ns, tables, cfg)] * n_threads

    def extended(w):
        if not len(w):
            return np.zeros((0, w.shape[1]), dtype=w.dtype)
        rows = len(w) + hot * n_threads
        in_place = _in_place_extension(w, rows)
        return in_place if in_place is not None else np.zeros((rows, w.shape[1]), dtype=w.dtype)

    ext_in, ext_hs, ext_ns = extended(w_in), extended(w_out_hs), extended(w_out_ns)
    v = len(tables.keep_prob)
    out = []
    for slot in range(n_threads):
        tables_t = tables._replace(hs_points=kernels.private_paths(tables.hs_points, v, hot, slot)) \
            if len(w_out_hs) else tables
        out.append((ext_in, ext_hs, ext_ns, tables_t, cfg._replace(hot_rows=hot, hot_slot=slot)))
    return out


def _launched(t: threading.Thread, grace: float = 1.0) -> bool:
    """Whether t runs or ran. A Ctrl-C can interrupt t.start() after the thread was created (in its
    wait for the thread to begin): the thread then gets its ident within microseconds."""
    deadline = time.monotonic() + grace
    while t.ident is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


class ThreadsBackend:
    """Runs lists of work units over one encoded corpus and the model's matrices.

    corpus: an EncodedCorpus or a store.CorpusStore: each thread reads its units through its own
    `corpus.reader()`, a callable giving (ids, bounds, sents) for a unit; w_in, w_out_hs, w_out_ns:
    the model's float32 matrices (kernels module docstring), trained in place; max_units: the
    most units a run will be given (no more threads than units are started).
    """

    def __init__(self, corpus, w_in, w_out_hs, w_out_ns, tables, cfg, *, workers: int, max_units: int,
                 hot_rows: int = HOT_ROWS):
        self.corpus = corpus
        self.n_threads = max(min(workers, max_units), 1)
        hot = hot_rows if spare_rows(len(tables.keep_prob), self.n_threads, cfg.softmax, hot_rows) else 0
        self.thread_args = _thread_private(w_in, w_out_hs, w_out_ns, tables, cfg, hot, self.n_threads)
        # the model's matrices and their extended copies, where extending needed a copy
        self.units_done = 0  # units of the last run() trained (see run)
        self.copies = [(w, ext) for w, ext in zip((w_in, w_out_hs, w_out_ns), self.thread_args[0][:3])
                       if hot and len(w) and not np.may_share_memory(w, ext)]

    def run(self, units, on_result, poll=None, pause=None) -> int:
        """Train `units`; on_result(unit, (raw, effective, loss, n_predictions)) is called for each
        unit as it finishes, from its thread, one call at a time; poll() is called from the
        calling thread every POLL_SECONDS while units run.

        pause: a threading.Event; once it is set, no thread starts another unit. Returns k, the
        number of units trained: units[:k], since threads take units in order and finish the ones
        in hand (k < len(units) only when paused), so a checkpoint can be written at unit k.
        The same k is left in `units_done`, also when the run ends by an exception.
        """
        self.units_done = 0
        for w, ext in self.copies:  # the rows as the model holds them (a callback may have changed them)
            ext[:len(w)] = w
        next_unit = itertools.count()
        lock = threading.Lock()
        stop = threading.Event()
        errors = []
        done = [0]  # units trained: units[:done] once every thread has finished the unit in hand

        def work(slot):
            w_in, w_out_hs, w_out_ns, tables, cfg = self.thread_args[slot]
            try:
                read = self.corpus.reader()  # the unit's ids, bounds and sentence order
                while not stop.is_set() and not (pause is not None and pause.is_set()):
                    k = next(next_unit)
                    if k >= len(units):
                        return
                    u = units[k]
                    ids, bounds, sents = read(u)
                    result = kernels.train_chunk(ids, bounds, sents, w_in, w_out_hs, w_out_ns, tables,
                                                 cfg, u.lr0, u.lr1, np.uint64(u.seed))
                    with lock:
                        on_result(u, result)
                        done[0] += 1
            except BaseException as e:  # raised again by the calling thread
                errors.append(e)
                stop.set()
            finally:
                exited[slot].set()

        # Waiting is on events the threads set as they exit, not on Thread.join: a Ctrl-C that
        # interrupts join() can leave a running thread marked as stopped (CPython before 3.12,
        # bpo-45274's fix releases the lock the running thread holds), and the weights would then
        # be read while it still writes them.
        exited = [threading.Event() for _ in range(self.n_threads)]
        threads = [threading.Thread(target=work, args=(slot,), daemon=True, name=f"w2v-train-{slot}")
                   for slot in range(self.n_threads)]
        try:
            for t in threads:
                t.start()
            for ev in exited:
                while not ev.wait(POLL_SECONDS):
                    if poll is not None:
                        poll()
        except BaseException:
            stop.set()
            for t, ev in zip(threads, exited):  # each finishes the unit in hand; a second Ctrl-C stops the wait
                if _launched(t):
                    ev.wait()
            self._copy_back()
            self.units_done = done[0]
            raise
        self._copy_back()
        self.units_done = done[0]
        if errors:
            raise errors[0]
        return self.units_done

    def _copy_back(self):
        for w, ext in self.copies:
            w[:] = ext[:len(w)]
