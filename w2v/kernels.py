"""Numba kernels: one chunk of sentences of SGD, and one small function per loss.

Arrays and scalars only, nothing of ours imported. Every function is `nogil`: the trainer calls
`train_chunk` from several Python threads at once, and they update the shared weight matrices
without locks (Hogwild, Recht et al. 2011). The races on shared rows are deliberate: words are
sparse, so collisions are rare and harmless to the result.

Shapes and names (word2vec.c's in parentheses):
  w_in      float32 (V, d)  input vectors (syn0), the embeddings
  w_out_hs  float32 (V-1, d) inner-node vectors of the Huffman tree (syn1); (0, d) when hs=0
  w_out_ns  float32 (V, d)  output vectors for negative sampling / full softmax (syn1neg)
  hidden    float32 (d,)    the vector that predicts (neu1): one input row (skip-gram) or the
                            mean/sum of the context rows (CBOW)
  grad_hidden float32 (d,)  accumulated lr * -dL/dhidden (neu1e), added to the input rows

Skip-gram follows word2vec.c: each context word's input row predicts the center word (the
same pairs as "center predicts context", visited in another order); with batch_window, all
pairs of a window are one minibatch step (logistic_update_window). For the CBOW mean the
full grad_hidden is added to every context row, as word2vec.c and gensim do (the true gradient
would be grad_hidden / n_context): see docs/compat.md.

Hot rows: with several threads, every update writes the Huffman root and the nodes near it,
and most negative draws and context words are among the few most frequent words, so threads
writing the same rows bounce their cache lines between the cores (2 threads ran slower than 1
on hierarchical softmax). With cfg.hot_rows = T > 0, a chunk works on private copies of the T
most used rows of each matrix: the last T inner nodes of the Huffman tree (the root is last),
and the first T words of w_out_ns and w_in. The trainer appends one block of T rows per thread
after the real rows of each matrix, and cfg.hot_slot names this thread's block. Context words
and negatives are mapped into it as they are read or drawn; Huffman paths come mapped in the
thread's own copy of tables.hs_points (private_paths). Every SYNC_WORDS trained words,
wherever they fall (inside a long sentence too), the chunk adds its change of the copies to
the shared rows and takes the other threads' changes in (merge_hot_rows). One thread sees its
own updates at once, as without copies; other threads see them at most SYNC_WORDS words late,
a bounded Hogwild staleness. The update functions are unchanged: only the row ids they are
given differ.

Structure: train_chunk -> per sentence: subsample, then train_sentence -> per center word:
plan_center (the next center's reduced window and negatives, drawn one ahead), then one of
sg_pair_steps, sg_window_step, cbow_step. Each builds its inputs and hands the outputs to
predict (one hidden vector) or logistic_update_window (a window's rows), which visit the
configured losses through one dispatch (output_targets). Work arrays live in one Scratch.

Random numbers come from a 64-bit LCG kept in a local variable, seeded per chunk by the trainer,
so a chunk's subsampling, windows and negatives depend only on (seed, epoch, chunk).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# Everything but nnan/ninf: lets LLVM vectorise the float32 dot-product reductions.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

LCG_MUL = np.uint64(6364136223846793005)
LCG_ADD = np.uint64(1442695040888963407)


class Tables(NamedTuple):
    """Read-only per-word tables, bundled for the kernel (see sampling.py and huffman.py)."""
    keep_prob: np.ndarray   # float32 (V,) subsampling keep-probability
    noise: np.ndarray       # uint64 (V,) packed alias table of the noise distribution
    hs_points: np.ndarray   # int32 (V, L) Huffman inner-node path
    hs_labels: np.ndarray   # float32 (V, L) 1 - code along the path
    hs_lengths: np.ndarray  # int32 (V,) code lengths


class Config(NamedTuple):
    """Integer switches of the kernel."""
    sg: int
    hs: int
    negative: int
    window: int
    cbow_mean: int
    softmax: int
    batch_window: int  # skip-gram: each window is one minibatch (shared negatives, one output update)
    hot_rows: int = 0  # T: rows of each matrix kept as private copies per thread (0: none)
    hot_slot: int = 0  # this thread's block of T private rows, appended after the real rows


SYNC_WORDS = 1024  # words between two merges of a chunk's private rows into the shared ones


@intrinsic
def prefetch_row(typingctx, arr, row):
    """Ask the CPU to bring row `row` of a C-contiguous 2-D array into cache, to be written.

    A hint only (llvm.prefetch, one per 64-byte line): no fault, no effect on results. Random
    rows of a matrix larger than the cache are what the kernel waits on; prefetching the next
    center's rows while training the current one hides part of that wait.
    """
    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        row = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [row, zero], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        base = builder.bitcast(ptr, i8p)
        n_bytes = builder.mul(builder.extract_value(ary.shape, 1),
                              context.get_constant(types.intp, aryty.dtype.bitwidth // 8))
        for off in range(0, 64 * 16, 64):  # rows of up to 1 KB (d = 256 float32)
            with builder.if_then(builder.icmp_signed("<", context.get_constant(types.intp, off), n_bytes)):
                builder.call(fn, [builder.gep(base, [ir.Constant(ir.IntType(64), off)]), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(arr, row), codegen


@njit(nogil=True, cache=True, inline="always")
def _lcg(state):
    return state * LCG_MUL + LCG_ADD


# sigma(x) and softplus(-x) = -log sigma(x), tabulated on [-TABLE_MAX, TABLE_MAX] and linearly
# interpolated: max error 3e-6 for sigma and 8e-6 for the loss (h = 1/64), beyond the range
# sigma is 0 or 1 within 1.2e-7. Cheaper than exp + log1p per update, which cost 18-30% of
# the kernel's time (benchmarks/bench_kernels.py); unlike word2vec.c's 1000-step table over
# [-6, 6], the gradient stays within 1e-5 of the exact one at any score.
TABLE_MAX = 16.0
TABLE_SIZE = 2048
_x = np.linspace(-TABLE_MAX, TABLE_MAX, TABLE_SIZE + 1)
SIGMOID_TABLE = np.stack([1.0 / (1.0 + np.exp(-_x)), np.logaddexp(0.0, -_x)], axis=1).astype(np.float32)
TABLE_SCALE = TABLE_SIZE / (2.0 * TABLE_MAX)
del _x


@njit(nogil=True, cache=True, inline="always")
def _sigmoid_terms(f):
    """For a score f: (sigma(f), -log sigma(f), -log(1 - sigma(f)))."""
    if f <= -TABLE_MAX:
        return 0.0, -f, 0.0
    if f >= TABLE_MAX:
        return 1.0, 0.0, f
    x = (f + TABLE_MAX) * TABLE_SCALE
    i = int(x)
    t = x - i
    s0 = SIGMOID_TABLE[i, 0]
    p0 = SIGMOID_TABLE[i, 1]
    sig = s0 + t * (SIGMOID_TABLE[i + 1, 0] - s0)
    nls = p0 + t * (SIGMOID_TABLE[i + 1, 1] - p0)
    return sig, nls, nls + f


@njit(nogil=True, cache=True, inline="always")
def _logistic_step(score, label, lr):
    """For one score u . h and its label: (lr * (label - sigma(score)) as float32, the loss term)."""
    sig, loss_pos, loss_neg = _sigmoid_terms(np.float64(score))
    return np.float32((label - sig) * lr), (loss_pos if label > 0.5 else loss_neg)


@njit(nogil=True, cache=True, fastmath=FASTMATH)
def logistic_update(hidden, w_out, rows, labels, n, lr, grad_hidden, coef):
    """Binary logistic losses of `hidden` against rows[:n] of w_out; one SGD step on w_out.

    The loss is sum_i -log sigma(+-u_i . h) with the sign from labels[i] (1: positive, 0:
    negative). Negative sampling calls it with [target, negatives...] and labels [1, 0, ...];
    hierarchical softmax with the word's inner-node path and labels 1 - code.
    With g_i = lr * (label_i - sigma(u_i . h)): grad_hidden += sum_i g_i u_i, then
    u_i += g_i h, every term from the rows before the step, so a row listed twice gets both
    terms (the exact gradient step; word2vec.c updates row by row). Scores are computed first,
    all together: independent dot products overlap in the CPU, where one dot -> sigmoid ->
    update chain per row waits on each result. coef: float32 (>= n,) scratch.
    Returns the loss before the step (float64).
    """
    d = hidden.shape[0]
    loss = 0.0
    for i in range(n):
        r = rows[i]
        f = np.float32(0.0)
        for j in range(d):
            f += hidden[j] * w_out[r, j]
        coef[i] = f
    for i in range(n):
        coef[i], pair_loss = _logistic_step(coef[i], labels[i], lr)
        loss += pair_loss
    for i in range(n):
        r = rows[i]
        g = coef[i]
        for j in range(d):
            grad_hidden[j] += g * w_out[r, j]
    for i in range(n):
        r = rows[i]
        g = coef[i]
        for j in range(d):
            w_out[r, j] += g * hidden[j]
    return loss


@njit(nogil=True, cache=True, fastmath=FASTMATH)
def logistic_update_window(w_in, ctx, m, w_out, rows, labels, n, lr, grad, coef):
    """One minibatch step for a skip-gram window (HogBatch, Ji et al. 2016).

    The input rows w_in[ctx[:m]] (the window's context words) each predict against the same
    output rows w_out[rows[:n]] ([center, negatives...] or the center's Huffman path), every
    score from the weights before the step: this is the gradient step of the window's summed
    loss. Each output row is written once per window, not once per context word, which keeps
    two threads from fighting over the cache lines of frequent rows.
    grad: float32 (>= m, d), accumulates lr * -dL/dw_in[ctx[i]] (the caller zeroes it and
    applies it); coef: float32 (>= m * n) scratch. Returns the loss before the step.
    """
    d = w_in.shape[1]
    loss = 0.0
    for i in range(m):
        a = ctx[i]
        for t in range(n):
            r = rows[t]
            f = np.float32(0.0)
            for j in range(d):
                f += w_in[a, j] * w_out[r, j]
            coef[i * n + t], pair_loss = _logistic_step(f, labels[t], lr)
            loss += pair_loss
    for i in range(m):
        for t in range(n):
            g = coef[i * n + t]
            r = rows[t]
            for j in range(d):
                grad[i, j] += g * w_out[r, j]
    for t in range(n):
        r = rows[t]
        for i in range(m):
            g = coef[i * n + t]
            a = ctx[i]
            for j in range(d):
                w_out[r, j] += g * w_in[a, j]
    return loss


@njit(nogil=True, cache=True, fastmath=FASTMATH)
def softmax_update(hidden, w_out, target, lr, grad_hidden, scores):
    """Exact softmax over all V rows of w_out predicting `target`; one SGD step. O(V d).

    loss = -log softmax(w_out @ hidden)[target]; g_r = lr * (y_r - p_r); every row moves.
    scores: float64 (V,) scratch. Returns the loss before the step.
    """
    v, d = w_out.shape
    best = -np.inf
    for r in range(v):
        f = np.float32(0.0)
        for j in range(d):
            f += hidden[j] * w_out[r, j]
        scores[r] = f
        best = max(best, scores[r])
    total = 0.0
    for r in range(v):
        scores[r] = math.exp(scores[r] - best)
        total += scores[r]
    loss = math.log(total) - math.log(scores[target])
    for r in range(v):
        y = 1.0 if r == target else 0.0
        g = np.float32((y - scores[r] / total) * lr)
        for j in range(d):
            grad_hidden[j] += g * w_out[r, j]
        for j in range(d):
            w_out[r, j] += g * hidden[j]
    return loss


def private_paths(points, v, n_hot, slot):
    """int32 (V, L): Huffman paths with the last n_hot inner nodes (v-1-T..v-2) mapped to thread
    `slot`'s private rows (see the module docstring), for that thread's Tables."""
    lo = v - 1 - n_hot
    k = points.astype(np.int64) - lo
    hot = (k >= 0) & (k < n_hot)
    out = points.copy()
    out[hot] = (v - 1 + slot * n_hot + k[hot]).astype(points.dtype)
    return out


@njit(nogil=True, cache=True)
def start_hot(w, lo, first, n_hot, base):
    """Copy the shared rows w[lo:lo+T] to this thread's private rows w[first:first+T] and to base."""
    for k in range(n_hot):
        for j in range(w.shape[1]):
            x = w[lo + k, j]
            w[first + k, j] = x
            base[k, j] = x


@njit(nogil=True, cache=True)
def merge_hot(w, lo, first, n_hot, base):
    """Add this thread's change of its private rows (w[first+k] - base[k]) to the shared rows
    w[lo+k], then take the shared rows, with the other threads' changes, as the new private
    rows and base. A write of another thread between the read and the write is lost (Hogwild)."""
    for k in range(n_hot):
        for j in range(w.shape[1]):
            x = w[lo + k, j] + (w[first + k, j] - base[k, j])
            w[lo + k, j] = x
            w[first + k, j] = x
            base[k, j] = x


@njit(nogil=True, cache=True)
def draw_negatives(noise, target, k, rows, rng):
    """rows[0] = target, then k draws from the alias table that differ from the target.

    A draw equal to the target is dropped, as word2vec.c and gensim do, so fewer than k
    negatives may result. Returns (n rows filled, new rng state).
    """
    v = noise.shape[0]
    rows[0] = target
    n = 1
    for _ in range(k):
        rng = _lcg(rng)
        bits = rng >> np.uint64(32)
        i = np.int64((bits * np.uint64(v)) >> np.uint64(32))
        rng = _lcg(rng)
        entry = noise[i]
        if (rng >> np.uint64(32)) >= (entry >> np.uint64(32)):
            i = np.int64(entry & np.uint64(0xFFFFFFFF))
        if i != target:
            rows[n] = i
            n += 1
    return n, rng


@njit(nogil=True, cache=True, inline="always")
def _to_private(rows, n, n_hot, first):
    """Map word ids 0..n_hot-1 in rows[:n] to this thread's private rows first.. (module docstring)."""
    for i in range(n):
        if rows[i] < n_hot:
            rows[i] += first


@njit(nogil=True, cache=True)
def sample_noise(noise, n, seed):
    """n independent draws from the alias table (for tests of the sampler)."""
    out = np.empty(n, dtype=np.int64)
    rows = np.empty(2, dtype=np.int32)
    rng = np.uint64(seed)
    for t in range(n):
        _, rng = draw_negatives(noise, -1, 1, rows, rng)
        out[t] = rows[1]
    return out


@njit(nogil=True, cache=True, inline="always")
def reduced_window(rng, window):
    """word2vec.c's dynamic window: a radius b uniform on 1..window. Returns (b, new rng state)."""
    rng = _lcg(rng)
    return window - np.int64((rng >> np.uint64(33)) % np.uint64(window)), rng


@njit(nogil=True, cache=True, inline="always")
def keep_word(rng, keep_prob):
    """Subsampling: keep a word with probability keep_prob. Returns (kept, new rng state); a word
    with keep_prob >= 1 draws nothing, so rare words leave the random stream as it was."""
    if keep_prob >= 1.0:
        return True, rng
    rng = _lcg(rng)
    return np.float32(rng >> np.uint64(40)) * np.float32(1.0 / 16777216.0) < keep_prob, rng


class Scratch(NamedTuple):
    """train_chunk's work arrays, allocated once per chunk (make_scratch), so threads share none."""
    sent: np.ndarray          # int32 (n_max,) the sentence's kept word ids
    sent_in: np.ndarray       # int32 (n_max,) their rows of w_in, hot words mapped to private rows
    hidden: np.ndarray        # float32 (d,) CBOW's context mean or sum
    grad_hidden: np.ndarray   # float32 (d,)
    plan_rows: np.ndarray     # int32 (2, negative+1) [center, negatives...] of center pos at [pos & 1]
    plan_n: np.ndarray        # int64 (2,) rows filled in plan_rows
    plan_reduced: np.ndarray  # int64 (2,) reduced window of center pos at [pos & 1]
    pair_rows: np.ndarray     # int32 (negative+1,) classic skip-gram's per-pair [center, negatives...]
    labels: np.ndarray        # float32 (negative+1,) [1, 0, 0, ...]
    scores: np.ndarray        # float64 (V,) full softmax scores, (1,) without it
    coef: np.ndarray          # float32 (max(negative+1, L),) logistic_update's coefficients
    window_ctx: np.ndarray    # int32 (2 window,) batch_window's context rows
    window_grad: np.ndarray   # float32 (2 window, d) their gradients; (1, d) without batch_window
    window_coef: np.ndarray   # float32 (2 window * coef size,)
    base_in: np.ndarray       # float32 (T, d) private rows of w_in as of the last merge
    base_hs: np.ndarray       # float32 (T or 0, d) ... of w_out_hs
    base_ns: np.ndarray       # float32 (T or 0, d) ... of w_out_ns


@njit(nogil=True, cache=True)
def make_scratch(n_max, d, tables, cfg, n_out):
    """Scratch for sentences of up to n_max kept words; n_out: rows of w_out_ns (the softmax's V)."""
    n_hot = cfg.hot_rows
    n_coef = max(cfg.negative + 1, tables.hs_points.shape[1])
    labels = np.zeros(cfg.negative + 1, dtype=np.float32)
    labels[0] = 1.0
    return Scratch(np.empty(n_max, dtype=np.int32), np.empty(n_max, dtype=np.int32),
                   np.empty(d, dtype=np.float32), np.empty(d, dtype=np.float32),
                   np.empty((2, cfg.negative + 1), dtype=np.int32), np.zeros(2, dtype=np.int64),
                   np.zeros(2, dtype=np.int64), np.empty(cfg.negative + 1, dtype=np.int32), labels,
                   np.empty(n_out if cfg.softmax else 1, dtype=np.float64), np.empty(n_coef, dtype=np.float32),
                   np.empty(2 * cfg.window, dtype=np.int32),
                   np.empty((2 * cfg.window if cfg.batch_window else 1, d), dtype=np.float32),
                   np.empty(2 * cfg.window * n_coef if cfg.batch_window else 1, dtype=np.float32),
                   np.empty((n_hot, d), dtype=np.float32),
                   np.empty((n_hot if cfg.hs else 0, d), dtype=np.float32),
                   np.empty((n_hot if cfg.negative > 0 else 0, d), dtype=np.float32))


@njit(nogil=True, cache=True, inline="always")
def _first_word_row(tables, cfg):
    """Row of word 0's private copy in w_in and w_out_ns (the v real rows come first)."""
    return tables.keep_prob.shape[0] + cfg.hot_slot * cfg.hot_rows


@njit(nogil=True, cache=True)
def sync_hot_rows(w_in, w_out_hs, w_out_ns, tables, cfg, scratch, merge):
    """Start (merge=False: copy the shared rows in) or merge (merge=True, merge_hot) this thread's
    private rows of all three matrices: words 0..T-1 of w_in and w_out_ns, inner nodes
    v-1-T..v-2 of w_out_hs (module docstring)."""
    v = tables.keep_prob.shape[0]
    first_words = _first_word_row(tables, cfg)
    first_hs = v - 1 + cfg.hot_slot * cfg.hot_rows
    lo_hs = v - 1 - cfg.hot_rows
    for w, lo, first, base in ((w_in, 0, first_words, scratch.base_in), (w_out_hs, lo_hs, first_hs, scratch.base_hs),
                               (w_out_ns, 0, first_words, scratch.base_ns)):
        if merge:
            merge_hot(w, lo, first, base.shape[0], base)
        else:
            start_hot(w, lo, first, base.shape[0], base)


@njit(nogil=True, cache=True, inline="always")
def subsample(ids, start, stop, keep_prob, first_words, n_hot, scratch, rng):
    """Keep the words ids[start:stop] that subsampling keeps in scratch.sent (their w_in rows, hot
    words mapped to private rows, in scratch.sent_in). Returns (words kept, new rng state)."""
    n = 0
    for t in range(start, stop):
        w = ids[t]
        keep, rng = keep_word(rng, keep_prob[w])
        if keep:
            scratch.sent[n] = w
            scratch.sent_in[n] = w + first_words if w < n_hot else w
            n += 1
    return n, rng


@njit(nogil=True, cache=True, inline="always")
def output_targets(k, target, rows, n_rows, w_out_hs, w_out_ns, tables, cfg, labels):
    """The k-th logistic loss of predicting `target` (k = 0: hierarchical softmax, 1: negative
    sampling): (w_out, its rows, their labels, n rows), n = 0 when that loss is off.
    rows[:n_rows] = [target, negatives...], drawn by the caller."""
    if k == 0:
        return w_out_hs, tables.hs_points[target], tables.hs_labels[target], \
            np.int64(tables.hs_lengths[target]) if cfg.hs else np.int64(0)
    return w_out_ns, rows, labels, np.int64(n_rows) if cfg.negative > 0 else np.int64(0)


N_LOGISTIC = 2  # the logistic losses output_targets knows


@njit(nogil=True, cache=True, fastmath=FASTMATH)
def predict(hidden, target, w_out_hs, w_out_ns, tables, cfg, lr, grad_hidden, rows, n_rows, scratch):
    """All configured losses of `hidden` predicting word `target`; grad_hidden accumulates.

    rows[:n_rows] = [target, negatives...] for negative sampling. Returns the loss.
    """
    loss = 0.0
    for k in range(N_LOGISTIC):
        w_out, out_rows, labels, n = output_targets(k, target, rows, n_rows, w_out_hs, w_out_ns, tables, cfg,
                                                    scratch.labels)
        if n > 0:
            loss += logistic_update(hidden, w_out, out_rows, labels, n, lr, grad_hidden, scratch.coef)
    if cfg.softmax:
        loss += softmax_update(hidden, w_out_ns, target, lr, grad_hidden, scratch.scores)
    return loss


@njit(nogil=True, cache=True, inline="always")
def plan_center(nxt, n, w_in, w_out_ns, tables, cfg, scratch, rng):
    """Draw center nxt's reduced window and, for CBOW and batch_window, its negatives, one center
    ahead of its training so that their rows can be prefetched. Classic skip-gram draws per pair,
    just before use (drawing ahead cost it 6-8%, docs/performance.md). Returns the rng state."""
    b = nxt & 1
    scratch.plan_reduced[b], rng = reduced_window(rng, cfg.window)
    per_pair = cfg.sg and not cfg.batch_window
    if cfg.negative > 0 and not per_pair:
        rows = scratch.plan_rows[b]
        cnt, rng = draw_negatives(tables.noise, scratch.sent[nxt], cfg.negative, rows, rng)
        _to_private(rows, cnt, cfg.hot_rows, _first_word_row(tables, cfg))
        scratch.plan_n[b] = cnt
        for i in range(cnt):
            prefetch_row(w_out_ns, rows[i])
    if not per_pair and nxt + cfg.window < n:  # the word entering the window
        prefetch_row(w_in, scratch.sent_in[nxt + cfg.window])
    return rng


@njit(nogil=True, cache=True, fastmath=FASTMATH, inline="always")
def sg_pair_steps(pos, lo, hi, w_in, w_out_hs, w_out_ns, tables, cfg, lr, scratch, rng, loss):
    """Skip-gram, word2vec.c's order: each context row in [lo, hi) predicts the center word,
    one step per pair, with the pair's own negatives. Returns (loss, predictions, rng)."""
    center = scratch.sent[pos]
    rows = scratch.pair_rows
    grad = scratch.grad_hidden
    n_rows = 0
    for c in range(lo, hi):
        if c == pos:
            continue
        ctx = scratch.sent_in[c]
        if cfg.negative > 0:
            n_rows, rng = draw_negatives(tables.noise, center, cfg.negative, rows, rng)
            _to_private(rows, n_rows, cfg.hot_rows, _first_word_row(tables, cfg))
        grad[:] = 0.0
        loss += predict(w_in[ctx], center, w_out_hs, w_out_ns, tables, cfg, lr, grad, rows, n_rows, scratch)
        for j in range(w_in.shape[1]):
            w_in[ctx, j] += grad[j]
    return loss, hi - lo - 1, rng


@njit(nogil=True, cache=True, fastmath=FASTMATH, inline="always")
def sg_window_step(pos, lo, hi, w_in, w_out_hs, w_out_ns, tables, cfg, lr, scratch, loss):
    """batch_window: the context rows in [lo, hi) predict the center word as one minibatch
    (logistic_update_window), with the negatives planned for it. Returns (loss, predictions)."""
    ctx = scratch.window_ctx
    m = 0
    for c in range(lo, hi):
        if c != pos:
            ctx[m] = scratch.sent_in[c]
            m += 1
    if m == 0:
        return loss, 0
    b = pos & 1
    grad = scratch.window_grad
    grad[:m] = 0.0
    for k in range(N_LOGISTIC):
        w_out, rows, labels, n = output_targets(k, scratch.sent[pos], scratch.plan_rows[b], scratch.plan_n[b],
                                                w_out_hs, w_out_ns, tables, cfg, scratch.labels)
        if n > 0:
            loss += logistic_update_window(w_in, ctx, m, w_out, rows, labels, n, lr, grad, scratch.window_coef)
    for i in range(m):
        for j in range(w_in.shape[1]):
            w_in[ctx[i], j] += grad[i, j]
    return loss, m


@njit(nogil=True, cache=True, fastmath=FASTMATH, inline="always")
def cbow_step(pos, lo, hi, w_in, w_out_hs, w_out_ns, tables, cfg, lr, scratch, loss):
    """CBOW: the mean (cbow_mean) or sum of the context rows in [lo, hi) predicts the center
    word; every context row gets the full grad_hidden (module docstring). Returns (loss, predictions)."""
    d = w_in.shape[1]
    hidden, grad = scratch.hidden, scratch.grad_hidden
    hidden[:] = 0.0
    for c in range(lo, hi):
        if c != pos:
            for j in range(d):
                hidden[j] += w_in[scratch.sent_in[c], j]
    count = hi - lo - 1
    if count == 0:
        return loss, 0
    if cfg.cbow_mean:
        inv = np.float32(1.0 / count)
        for j in range(d):
            hidden[j] *= inv
    grad[:] = 0.0
    b = pos & 1
    loss += predict(hidden, scratch.sent[pos], w_out_hs, w_out_ns, tables, cfg, lr, grad, scratch.plan_rows[b],
                    scratch.plan_n[b] if cfg.negative > 0 else 0, scratch)
    for c in range(lo, hi):
        if c != pos:
            for j in range(d):
                w_in[scratch.sent_in[c], j] += grad[j]
    return loss, 1


@njit(nogil=True, cache=True, fastmath=FASTMATH)
def train_sentence(n, w_in, w_out_hs, w_out_ns, tables, cfg, lr, scratch, rng, since_merge, loss):
    """Train every center word of the kept sentence scratch.sent[:n]; private rows are merged
    every SYNC_WORDS centers, counted across sentences by since_merge.
    Returns (loss, predictions, rng, since_merge)."""
    n_pred = 0
    for pos in range(-1, n):
        if pos + 1 < n:
            rng = plan_center(pos + 1, n, w_in, w_out_ns, tables, cfg, scratch, rng)
        if pos < 0:
            continue
        if cfg.hot_rows:
            if since_merge >= SYNC_WORDS:
                sync_hot_rows(w_in, w_out_hs, w_out_ns, tables, cfg, scratch, True)
                since_merge = 0
            since_merge += 1
        reduced = scratch.plan_reduced[pos & 1]
        lo = max(pos - reduced, 0)
        hi = min(pos + reduced + 1, n)
        if cfg.sg and cfg.batch_window:
            loss, k = sg_window_step(pos, lo, hi, w_in, w_out_hs, w_out_ns, tables, cfg, lr, scratch, loss)
        elif cfg.sg:
            loss, k, rng = sg_pair_steps(pos, lo, hi, w_in, w_out_hs, w_out_ns, tables, cfg, lr, scratch, rng, loss)
        else:
            loss, k = cbow_step(pos, lo, hi, w_in, w_out_hs, w_out_ns, tables, cfg, lr, scratch, loss)
        n_pred += k
    return loss, n_pred, rng, since_merge


@njit(nogil=True, cache=True, fastmath=FASTMATH)
def train_chunk(ids, bounds, sents, w_in, w_out_hs, w_out_ns, tables, cfg, lr0, lr1, seed):
    """Train on the sentences sents[0], sents[1], ... of the encoded corpus, in that order;
    weights are updated in place.

    ids: int32 (N,) token ids; bounds: int64 (S+1,) sentence boundaries; sents: int64 (k,)
    sentence numbers (a slice of a permutation of 0..S-1 when the trainer shuffles).
    The learning rate goes linearly from lr0 to lr1 over the chunk's words, one value per sentence.
    Returns (raw_words, effective_words, loss, n_predictions): words read, words kept by
    subsampling, the summed loss (float64) and the number of predictions made.
    """
    total = 0
    longest = 0  # sizes the sentence scratch: any sentence length fits
    for q in range(sents.shape[0]):
        length = bounds[sents[q] + 1] - bounds[sents[q]]
        total += length
        longest = max(longest, length)
    total = max(total, 1)
    scratch = make_scratch(longest, w_in.shape[1], tables, cfg, w_out_ns.shape[0])
    sync_hot_rows(w_in, w_out_hs, w_out_ns, tables, cfg, scratch, False)
    first_words = _first_word_row(tables, cfg)
    rng = np.uint64(seed)
    raw = 0
    effective = 0
    n_pred = 0
    loss = 0.0
    since_merge = 0
    for q in range(sents.shape[0]):
        s = sents[q]
        lr = lr0 + (lr1 - lr0) * (raw / total)
        n, rng = subsample(ids, bounds[s], bounds[s + 1], tables.keep_prob, first_words, cfg.hot_rows, scratch, rng)
        raw += bounds[s + 1] - bounds[s]
        effective += n
        loss, k, rng, since_merge = train_sentence(n, w_in, w_out_hs, w_out_ns, tables, cfg, lr, scratch, rng,
                                                   since_merge, loss)
        n_pred += k
    sync_hot_rows(w_in, w_out_hs, w_out_ns, tables, cfg, scratch, True)
    return raw, effective, loss, n_pred
