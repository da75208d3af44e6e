"""Training driver: epochs, chunks, Hogwild threads, learning-rate schedule, progress and loss.

Python owns the loops over epochs and chunks; numba owns one chunk (`kernels.train_chunk`,
which releases the GIL). The corpus is an int32 id array encoded once, so every epoch reads
exactly the same words whatever the number of threads: each epoch puts the sentences in an
order, cuts that order into chunks of about `CHUNK_WORDS` words, and worker threads take chunks
from a shared counter until none is left. `epoch_stats` records, per epoch, the words read and
kept, the loss and the time, so an epoch that skipped part of the corpus (word2vec.c's
end-of-file bug) cannot go unnoticed.

With `shuffle` (the default), each epoch visits the sentences in a new random order drawn from
(seed, epoch); without, in corpus order, as word2vec.c and gensim read the file. Real corpora are
often concatenations of sources (the dev corpus: news, fiction, ..., then 1.5M words of WordNet
glosses), and in file order every epoch ends, at its lowest learning rates, on the same source
(docs/compat.md: what shuffling gave).

The learning rate decays linearly from `start_alpha` to `end_alpha` over all epochs' words. A
chunk's rate is fixed by its place in the epoch's order, not by when a thread picks it up, and its
random stream by (seed, epoch, chunk): with one worker, a run is bit-for-bit reproducible.

This is the seam for other backends: `train_chunk(ids, bounds, sents, w_in, w_out_hs,
w_out_ns, tables, cfg, lr0, lr1, seed) -> (raw, effective, loss, n_predictions)`, sents being the
chunk's sentence numbers in order.
"""
from __future__ import annotations

import itertools
import logging
import sys
import threading
import time

import numpy as np

from . import kernels

logger = logging.getLogger(__name__)

CHUNK_WORDS = 50_000
# Rows of each matrix each thread keeps private copies of when several threads train
# (kernels.Config.hot_rows): the Huffman nodes nearest the root and the input and output rows of
# the most frequent words, which every thread would otherwise keep writing (docs/performance.md).
HOT_ROWS = 256
_MASK64 = (1 << 64) - 1


def chunk_seed(seed: int, epoch: int, chunk: int) -> int:
    """A well-mixed 64-bit seed for one chunk (splitmix64 of the three numbers)."""
    z = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + chunk * 0x94D049BB133111EB + 1) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def sentence_order(n_sentences: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """int64 (S,): the order in which an epoch visits the sentences, a permutation drawn from
    (seed, epoch), or 0..S-1 without shuffle."""
    if not shuffle:
        return np.arange(n_sentences, dtype=np.int64)
    return np.random.default_rng([seed & _MASK64, epoch, 0x5EED]).permutation(n_sentences).astype(np.int64)


def epoch_chunks(bounds: np.ndarray, order: np.ndarray, chunk_words: int = CHUNK_WORDS):
    """Cut the sentences, taken in `order`, into chunks of about chunk_words words.

    Returns (starts, words_before): chunk k trains order[starts[k]:starts[k+1]], and the epoch has
    read words_before[k] words before it.
    """
    ordered = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum((bounds[1:] - bounds[:-1])[order], out=ordered[1:])
    starts = chunk_starts(ordered, chunk_words)
    return starts, ordered[starts]


def chunk_starts(bounds: np.ndarray, chunk_words: int = CHUNK_WORDS) -> np.ndarray:
    """Sentence indices that cut sentences with these boundaries into chunks of about chunk_words
    words."""
    n_words = int(bounds[-1])
    targets = np.arange(chunk_words, n_words, chunk_words)
    cuts = np.searchsorted(bounds, targets, side="left")
    return np.unique(np.concatenate([[0], cuts, [len(bounds) - 1]])).astype(np.int64)


class _Progress:
    """A tqdm bar on a terminal, log lines every few seconds otherwise."""

    def __init__(self, total_words: int, enabled: bool | None):
        self.total = total_words
        self.last_log = time.monotonic()
        self.bar = None
        if enabled is None:
            enabled = sys.stderr.isatty()
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=total_words, unit="word", unit_scale=True, dynamic_ncols=True,
                            desc="training", leave=False, file=sys.stderr)

    def update(self, done: int, lr: float, loss: float, epoch: int):
        if self.bar is not None:
            self.bar.n = done
            self.bar.set_postfix_str(f"epoch {epoch + 1} lr {lr:.5f} loss {loss:.4f}", refresh=False)
            self.bar.refresh()
        elif time.monotonic() - self.last_log >= 5.0:
            self.last_log = time.monotonic()
            logger.info("%.1f%% done, epoch %d, lr %.5f, loss %.4f", 100.0 * done / max(self.total, 1),
                        epoch + 1, lr, loss)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def spare_rows(v: int, workers: int, softmax: bool, hot_rows: int = HOT_ROWS) -> int:
    """Rows to allocate after the V real rows of each matrix, so that training with `workers`
    threads finds its private rows in place (see `train`): hot_rows per thread, or 0."""
    return hot_rows * workers if workers > 1 and not softmax and v > 4 * hot_rows else 0


def _in_place_extension(w, rows: int):
    """The first `rows` rows of the array that w is the leading rows of, or None.

    A model allocates its matrices with spare rows and trains their leading rows (spare_rows):
    then the private rows are already there and nothing is copied.
    """
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
    gets its Huffman paths mapped to its block (kernels module docstring). A matrix that is the
    leading rows of a larger array (spare_rows) is extended in place; any other is copied into a
    new extended array for the time of training. Without hot rows, every thread gets the
    model's arrays.
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


def train(corpus, w_in, w_out_hs, w_out_ns, tables, cfg, *, epochs: int, workers: int,
          start_alpha: float, end_alpha: float, seed: int, on_epoch_begin=None, on_epoch_end=None,
          progress: bool | None = None, chunk_words: int = CHUNK_WORDS, hot_rows: int = HOT_ROWS,
          shuffle: bool = True) -> list[dict]:
    """Run `epochs` epochs over an EncodedCorpus; returns one stats dict per epoch."""
    ids, bounds = corpus.ids, corpus.bounds
    n_words = int(bounds[-1])
    n_sentences = len(bounds) - 1
    # the thread count from file order's chunks (an epoch's order changes the count by a chunk or two)
    n_threads = min(workers, max(len(chunk_starts(bounds, chunk_words)) - 1, 1))
    v = len(tables.keep_prob)
    # one thread shares rows with no one; a small vocabulary has no rows worth copying
    hot = hot_rows if spare_rows(v, n_threads, cfg.softmax, hot_rows) else 0
    thread_args = _thread_private(w_in, w_out_hs, w_out_ns, tables, cfg, hot, n_threads)
    # the model's matrices and the extended ones: shared memory when extended in place
    pairs = [(w, ext) for w, ext in zip((w_in, w_out_hs, w_out_ns), thread_args[0][:3])
             if hot and len(w) and not np.may_share_memory(w, ext)]
    grand_total = max(n_words * epochs, 1)

    def lr_at(words_done: int) -> float:
        return start_alpha - (start_alpha - end_alpha) * (words_done / grand_total)

    bar = _Progress(grand_total, progress)
    stats = []
    try:
        for epoch in range(epochs):
            if on_epoch_begin is not None:
                on_epoch_begin(epoch)
            t0 = time.perf_counter()
            acc = {"raw_words": 0, "effective_words": 0, "loss": 0.0, "predictions": 0}
            lock = threading.Lock()
            next_chunk = itertools.count()
            order = sentence_order(n_sentences, seed, epoch, shuffle)
            starts, words_before = epoch_chunks(bounds, order, chunk_words)
            n_chunks = len(starts) - 1
            errors = []

            for w, ext in pairs:  # copies: the rows as the model holds them (a callback may have changed them)
                ext[:len(w)] = w

            def work(slot):
                in_t, out_hs, out_ns, tables_t, cfg_t = thread_args[slot]
                try:
                    while True:
                        c = next(next_chunk)
                        if c >= n_chunks:
                            return
                        done_before = epoch * n_words + int(words_before[c])
                        lr0 = lr_at(done_before)
                        lr1 = lr_at(epoch * n_words + int(words_before[c + 1]))
                        raw, eff, loss, n_pred = kernels.train_chunk(
                            ids, bounds, order[starts[c]:starts[c + 1]], in_t, out_hs, out_ns, tables_t, cfg_t,
                            lr0, lr1, np.uint64(chunk_seed(seed, epoch, c)))
                        with lock:
                            acc["raw_words"] += int(raw)
                            acc["effective_words"] += int(eff)
                            acc["loss"] += float(loss)
                            acc["predictions"] += int(n_pred)
                            acc["lr"] = lr1
                except BaseException as e:  # re-raised in the main thread
                    errors.append(e)

            threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(n_threads)]
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(0.25)
                    with lock:
                        mean_loss = acc["loss"] / max(acc["predictions"], 1)
                        bar.update(epoch * n_words + acc["raw_words"], acc.get("lr", lr_at(epoch * n_words)),
                                   mean_loss, epoch)
            if errors:
                raise errors[0]
            for w, ext in pairs:
                w[:] = ext[:len(w)]
            acc["seconds"] = time.perf_counter() - t0
            acc.pop("lr", None)
            stats.append(acc)
            logger.info("epoch %d: %d words read, %d kept, loss %.4f per prediction, %.1f s (%.0f words/s)",
                        epoch + 1, acc["raw_words"], acc["effective_words"],
                        acc["loss"] / max(acc["predictions"], 1), acc["seconds"],
                        acc["raw_words"] / max(acc["seconds"], 1e-9))
            if on_epoch_end is not None:
                on_epoch_end(epoch)
    finally:
        bar.close()
    return stats
