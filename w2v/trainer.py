"""The training driver: walks a plan's work units, run by a backend; progress, stats, callbacks.

Python owns the loops over epochs and units; numba owns one unit (`kernels.train_chunk`, which
releases the GIL). The corpus is an int32 id array encoded once, so every epoch reads exactly
the same words whatever the number of threads. Each epoch of the plan (`w2v.plan`) puts the
sentences in an order and cuts it into units of about `plan.UNIT_WORDS` words; the backend
(`w2v.backends.threads`) trains them. `epoch_stats` records, per epoch, the words read and kept,
the loss and the time, so an epoch that skipped part of the corpus (word2vec.c's end-of-file
bug) cannot go unnoticed.

With `shuffle` (the default), each epoch visits the sentences in a new random order drawn from
(seed, epoch); without, in corpus order, as word2vec.c and gensim read the file. Real corpora are
often concatenations of sources (the dev corpus: news, fiction, ..., then 1.5M words of WordNet
glosses), and in file order every epoch ends, at its lowest learning rates, on the same source
(docs/compat.md: what shuffling gave).

The learning rate decays linearly from `start_alpha` to `end_alpha` over this call's epochs'
words. A unit's rate is fixed by its place in the epoch's order, not by when a thread picks it
up, and its random stream by (seed, epoch, unit), the epoch counting every epoch the model has
trained (`first_epoch`): with one worker, a run is bit-for-bit reproducible, and a second call
draws new numbers.
"""
from __future__ import annotations

import logging
import math
import sys
import threading
import time

import numpy as np

from . import kernels
from .backends.rounds import RoundsBackend
from .backends.threads import HOT_ROWS, ThreadsBackend
from .errors import TrainingDivergedError
from .plan import UNIT_WORDS, Cursor, Plan

logger = logging.getLogger(__name__)


class _Bar:
    """A tqdm bar on a terminal (enabled None: when stderr is one), a log line every LOG_SECONDS
    otherwise."""
    LOG_SECONDS = 5.0

    def __init__(self, total, enabled: bool | None, unit: str, desc: str):
        self.t0 = self.last_log = time.monotonic()
        self.bar = None
        if enabled is None:
            enabled = sys.stderr.isatty()
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit=unit, unit_scale=True, dynamic_ncols=True, desc=desc, leave=False,
                            file=sys.stderr)

    def _show(self, done: int, postfix: str | None, log_line):
        """Move the bar to `done` (with postfix), or call log_line() if no line was logged lately."""
        if self.bar is not None:
            self.bar.n = done
            if postfix is not None:
                self.bar.set_postfix_str(postfix, refresh=False)
            self.bar.refresh()
        elif time.monotonic() - self.last_log >= self.LOG_SECONDS:
            self.last_log = time.monotonic()
            log_line()

    def close(self):
        if self.bar is not None:
            self.bar.close()


class _Progress(_Bar):
    """Training's progress in words."""

    def __init__(self, total_words: int, enabled: bool | None):
        super().__init__(total_words, enabled, "word", "training")
        self.total = total_words

    def update(self, done: int, lr: float, loss: float, epoch: int):
        self._show(done, f"epoch {epoch + 1} lr {lr:.5f} loss {loss:.4f}",
                   lambda: logger.info("%.1f%% done, epoch %d, lr %.5f, loss %.4f",
                                       100.0 * done / max(self.total, 1), epoch + 1, lr, loss))


class PassProgress(_Bar):
    """The first pass's progress in bytes read."""

    def __init__(self, total_bytes: int | None, enabled: bool | None):
        super().__init__(total_bytes, enabled, "B", "reading corpus")

    def update(self, bytes_read: int):
        self._show(bytes_read, None,
                   lambda: logger.info("reading the corpus: %.0f MB, %.0f MB/s", bytes_read / 1e6,
                                       bytes_read / 1e6 / max(time.monotonic() - self.t0, 1e-9)))


def _diverged(what, e: int, lr: float) -> TrainingDivergedError:
    return TrainingDivergedError(
        f"training diverged: {what} became NaN or infinite in epoch {e + 1} at learning rate {lr:.6g}; "
        f"lower alpha (or check a custom initialisation)")


def _save(checkpoint, where, last_checkpoint):
    if checkpoint is not None:
        checkpoint(*where)
        last_checkpoint[0] = time.monotonic()


def train(corpus, w_in, w_out_hs, w_out_ns, tables, cfg, *, epochs: int, workers: int,
          start_alpha: float, end_alpha: float, seed: int, first_epoch: int = 0, on_epoch_begin=None,
          on_epoch_end=None, progress: bool | None = None, chunk_words: int = UNIT_WORDS,
          hot_rows: int = HOT_ROWS, shuffle: bool = True, cursor: Cursor | None = None,
          epoch_so_far: dict | None = None, checkpoint=None, checkpoint_every: float | None = None,
          held_out=None, should_stop=None, backend=None, deterministic: bool = False) -> list[dict]:
    """Run `epochs` epochs over an EncodedCorpus; returns one stats dict per epoch trained.

    on_epoch_begin(e) and on_epoch_end(e, stats) are called with this call's epoch number e;
    stats is that epoch's dict (raw_words, effective_words, loss, predictions, seconds).

    Checkpoints: checkpoint(cursor, stats_so_far) is called at a unit boundary, with every thread
    stopped and the weights consistent, every `checkpoint_every` seconds, after the last epoch,
    and when a KeyboardInterrupt stops the run (then the interrupt is raised again). Resuming:
    the same arguments, with the checkpoint's `cursor` and `epoch_so_far` (the stats of the
    cursor's epoch so far), train exactly the units after the cursor.

    held_out: sentence (or store block) numbers that no unit trains (Plan's). should_stop(e), asked
    after on_epoch_end(e, ...): True ends the run after epoch e (a checkpoint is written first);
    the learning rate still follows the schedule of all `epochs`.

    backend: what makes the backend that runs the units, called as ThreadsBackend is (default:
    ThreadsBackend; the Dask backend: a functools.partial of backends.dask.DaskBackend). A backend
    with `epoch_extras()` adds its dict to each epoch's stats; one with `close()` is closed at the end.

    deterministic: with several workers, train in rounds on private replicas merged in a fixed
    order (`backends.rounds`): the same vectors run after run. One worker is deterministic anyway.
    """
    if kernels.needs_compiling():  # else the progress bar stands at 0% for that time
        logger.info("compiling the training kernels (first run only, ~20 s)")
    plan = Plan.for_corpus(corpus, epochs=epochs, start_alpha=start_alpha, end_alpha=end_alpha, seed=seed,
                shuffle=shuffle, first_epoch=first_epoch, unit_words=chunk_words, held_out=held_out)
    if backend is None and deterministic and workers > 1:  # private replicas: no hot rows to share
        backend = RoundsBackend(corpus, w_in, w_out_hs, w_out_ns, tables, cfg, workers=workers,
                                max_units=plan.max_parallel_units())
    else:
        backend = (backend or ThreadsBackend)(corpus, w_in, w_out_hs, w_out_ns, tables, cfg, workers=workers,
                                              max_units=plan.max_parallel_units(), hot_rows=hot_rows)
    bar = _Progress(max(plan.total_words, 1), progress)
    pause = threading.Event()
    last_checkpoint = [time.monotonic()]
    start = cursor if cursor is not None else Cursor(0, 0)
    # where the run stands at any moment, for a checkpoint on Ctrl-C: the cursor, and the stats of
    # its epoch so far (None at an epoch's start)
    where = [start, epoch_so_far if start.units_done else None]
    all_stats = []
    try:
        for e in range(start.epoch, epochs):
            resumed = e == start.epoch and start.units_done > 0
            if on_epoch_begin is not None and not resumed:
                on_epoch_begin(e)
            t0 = time.perf_counter()
            stats = {"raw_words": 0, "effective_words": 0, "loss": 0.0, "predictions": 0, "seconds": 0.0}
            if resumed and epoch_so_far:
                stats.update(epoch_so_far)
            seconds_before = stats["seconds"]
            lr = [plan.lr_at(e * plan.n_words)]

            def on_result(unit, result):
                raw, eff, loss, n_pred = result
                if not math.isfinite(loss):
                    raise _diverged("the loss", e, unit.lr0)
                stats["raw_words"] += int(raw)
                stats["effective_words"] += int(eff)
                stats["loss"] += float(loss)
                stats["predictions"] += int(n_pred)
                lr[0] = unit.lr1

            def poll():
                bar.update(e * plan.n_words + stats["raw_words"], lr[0],
                           stats["loss"] / max(stats["predictions"], 1), e)
                if checkpoint_every is not None and time.monotonic() - last_checkpoint[0] >= checkpoint_every:
                    pause.set()

            def at(units_done):
                stats["seconds"] = seconds_before + time.perf_counter() - t0
                where[:] = [Cursor(e, units_done), dict(stats)]

            units = plan.units(e)
            k = start.units_done if resumed else 0
            while k < len(units):
                pause.clear()
                try:
                    k += backend.run(units[k:], on_result, poll, pause)
                except BaseException:
                    at(k + backend.units_done)
                    raise
                at(k)
                if k < len(units):
                    _save(checkpoint, where, last_checkpoint)
            for w in (w_in, w_out_hs, w_out_ns):  # a few ms per epoch for millions of rows
                if not np.isfinite(w).all():
                    raise _diverged("the weights", e, lr[0])
            stats["seconds"] = seconds_before + time.perf_counter() - t0
            if hasattr(corpus, "mark_verified"):  # a store every block of which this epoch read and checked
                corpus.mark_verified()
            if hasattr(backend, "epoch_extras"):
                stats.update(backend.epoch_extras())
            all_stats.append(stats)
            logger.info("epoch %d: %d words read, %d kept, loss %.4f per prediction, %.1f s (%.0f words/s)",
                        e + 1, stats["raw_words"], stats["effective_words"],
                        stats["loss"] / max(stats["predictions"], 1), stats["seconds"],
                        stats["raw_words"] / max(stats["seconds"], 1e-9))
            where[:] = [Cursor(e + 1, 0), None]
            if on_epoch_end is not None:
                on_epoch_end(e, stats)
            stop = should_stop is not None and should_stop(e)
            if e == epochs - 1 or pause.is_set() or stop:
                _save(checkpoint, where, last_checkpoint)
            if stop:
                break
    except KeyboardInterrupt:
        _save(checkpoint, where, last_checkpoint)  # every thread has stopped: the weights are consistent
        raise
    finally:
        bar.close()
        if hasattr(backend, "close"):
            backend.close()
    return all_stats
