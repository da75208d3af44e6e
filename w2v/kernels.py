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
the shared rows and takes the other threads' changes in (merge_hot). One thread sees its
own updates at once, as without copies; other threads see them at most SYNC_WORDS words late,
a bounded Hogwild staleness. The update functions are unchanged: only the row ids they are
given differ.

Random numbers come from a 64-bit LCG kept in a local variable, seeded per chunk by the trainer,
so a chunk's subsampling, windows and negatives depend only on (seed, epoch, chunk).

No reference counts: train_chunk allocates a chunk's buffers and hands them to _train_sentences,
which, with every function it calls, is compiled without numba's reference counting
(NO_REFCOUNTS): the counts are locked atomics, on which 47% of a profiled CBOW run's samples
sat (docs/performance.md).
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

# numba counts references to arrays with atomic (lock-prefixed) increments and decrements: at each
# view taken (w[r], tables.hs_points[t]), at each call that passes arrays, at each assignment. A
# locked instruction waits for every earlier store to reach the cache, and the kernels store a
# row update after each prediction: profiled (perf, CBOW-NS, one thread), 47% of the run's
# samples sat on the two atomics. Functions that allocate nothing are compiled without reference
# counting (numba's _nrt=False): their arrays are borrowed from the caller, which holds them for
# the call. numba refuses to compile such a function if it ever allocates.
NO_REFCOUNTS = {"_nrt": False}

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
    """For a score f: (sigma(f), -log sigma(f), -log(1 - sigma(f))).

    A NaN score (diverged weights) takes the first branch, never a table index, and gives NaN
    losses, which the trainer reports (a NaN as index read out of the table's bounds).
    """
    if f >= TABLE_MAX:
        return 1.0, 0.0, f
    if not f > -TABLE_MAX:
        return 0.0, -f, f - f  # f - f: 0, or NaN for a NaN score
    x = (f + TABLE_MAX) * TABLE_SCALE
    i = int(x)
    t = x - i
    s0 = SIGMOID_TABLE[i, 0]
    p0 = SIGMOID_TABLE[i, 1]
    sig = s0 + t * (SIGMOID_TABLE[i + 1, 0] - s0)
    nls = p0 + t * (SIGMOID_TABLE[i + 1, 1] - p0)
    return sig, nls, nls + f


@njit(nogil=True, cache=True, **NO_REFCOUNTS)
def _logistic_step(score, label, lr):
    """For one score u . h and its label: (lr * (label - sigma(score)) as float32, the loss term)."""
    sig, loss_pos, loss_neg = _sigmoid_terms(np.float64(score))
    return np.float32((label - sig) * lr), (loss_pos if label > 0.5 else loss_neg)


@njit(nogil=True, cache=True, fastmath=FASTMATH, inline="always")
def _scores(x, w, rows, n, out, at):
    """out[at + t] = x . w[rows[t]] for t < n (float32), four rows a pass: x is loaded once for
    four products, where the kernels were bound by loads; then two rows, then one.

    The last remainder stays a `while` loop in these helpers although it runs once at most:
    written as an `if`, LLVM compiled the window step 1.8x slower (1,190 against 670 ns for 6
    context rows x 12 output rows, d = 100)."""
    d = x.shape[0]
    t = 0
    while t + 4 <= n:
        r0 = rows[t]
        r1 = rows[t + 1]
        r2 = rows[t + 2]
        r3 = rows[t + 3]
        f0 = np.float32(0.0)
        f1 = np.float32(0.0)
        f2 = np.float32(0.0)
        f3 = np.float32(0.0)
        for j in range(d):
            v = x[j]
            f0 += v * w[r0, j]
            f1 += v * w[r1, j]
            f2 += v * w[r2, j]
            f3 += v * w[r3, j]
        out[at + t] = f0
        out[at + t + 1] = f1
        out[at + t + 2] = f2
        out[at + t + 3] = f3
        t += 4
    if t + 2 <= n:
        r0 = rows[t]
        r1 = rows[t + 1]
        f0 = np.float32(0.0)
        f1 = np.float32(0.0)
        for j in range(d):
            v = x[j]
            f0 += v * w[r0, j]
            f1 += v * w[r1, j]
        out[at + t] = f0
        out[at + t + 1] = f1
        t += 2
    while t < n:
        r = rows[t]
        f = np.float32(0.0)
        for j in range(d):
            f += x[j] * w[r, j]
        out[at + t] = f
        t += 1


@njit(nogil=True, cache=True, fastmath=FASTMATH, inline="always")
def _add_rows(acc, w, rows, n, coef, at, stride):
    """acc += sum_t coef[at + t * stride] * w[rows[t]] for t < n, four rows a pass: acc is loaded
    and stored once for four rows."""
    d = acc.shape[0]
    t = 0
    while t + 4 <= n:
        r0 = rows[t]
        r1 = rows[t + 1]
        r2 = rows[t + 2]
        r3 = rows[t + 3]
        g0 = coef[at + t * stride]
        g1 = coef[at + (t + 1) * stride]
        g2 = coef[at + (t + 2) * stride]
        g3 = coef[at + (t + 3) * stride]
        for j in range(d):
            acc[j] += g0 * w[r0, j] + g1 * w[r1, j] + g2 * w[r2, j] + g3 * w[r3, j]
        t += 4
    if t + 2 <= n:
        r0 = rows[t]
        r1 = rows[t + 1]
        g0 = coef[at + t * stride]
        g1 = coef[at + (t + 1) * stride]
        for j in range(d):
            acc[j] += g0 * w[r0, j] + g1 * w[r1, j]
        t += 2
    while t < n:
        r = rows[t]
        g = coef[at + t * stride]
        for j in range(d):
            acc[j] += g * w[r, j]
        t += 1


@njit(nogil=True, cache=True, fastmath=FASTMATH, inline="always")
def _scores_pair(x0, x1, w, rows, n, out, at0, at1):
    """_scores of two inputs at once: out[at0 + t] = x0 . w[rows[t]], out[at1 + t] = x1 . w[rows[t]],
    four rows a pass, each row loaded once for both inputs."""
    d = x0.shape[0]
    t = 0
    while t + 4 <= n:
        r0 = rows[t]
        r1 = rows[t + 1]
        r2 = rows[t + 2]
        r3 = rows[t + 3]
        f0 = np.float32(0.0)
        f1 = np.float32(0.0)
        f2 = np.float32(0.0)
        f3 = np.float32(0.0)
        h0 = np.float32(0.0)
        h1 = np.float32(0.0)
        h2 = np.float32(0.0)
        h3 = np.float32(0.0)
        for j in range(d):
            a = x0[j]
            b = x1[j]
            u0 = w[r0, j]
            u1 = w[r1, j]
            u2 = w[r2, j]
            u3 = w[r3, j]
            f0 += a * u0
            f1 += a * u1
            f2 += a * u2
            f3 += a * u3
            h0 += b * u0
            h1 += b * u1
            h2 += b * u2
            h3 += b * u3
        out[at0 + t] = f0
        out[at0 + t + 1] = f1
        out[at0 + t + 2] = f2
        out[at0 + t + 3] = f3
        out[at1 + t] = h0
        out[at1 + t + 1] = h1
        out[at1 + t + 2] = h2
        out[at1 + t + 3] = h3
        t += 4
    if t + 2 <= n:
        r0 = rows[t]
        r1 = rows[t + 1]
        f0 = np.float32(0.0)
        f1 = np.float32(0.0)
        h0 = np.float32(0.0)
        h1 = np.float32(0.0)
        for j in range(d):
            a = x0[j]
            b = x1[j]
            u0 = w[r0, j]
            u1 = w[r1, j]
            f0 += a * u0
            f1 += a * u1
            h0 += b * u0
            h1 += b * u1
        out[at0 + t] = f0
        out[at0 + t + 1] = f1
        out[at1 + t] = h0
        out[at1 + t + 1] = h1
        t += 2
    while t < n:
        r = rows[t]
        f = np.float32(0.0)
        h = np.float32(0.0)
        for j in range(d):
            u = w[r, j]
            f += x0[j] * u
            h += x1[j] * u
        out[at0 + t] = f
        out[at1 + t] = h
        t += 1


@njit(nogil=True, cache=True, fastmath=FASTMATH, inline="always")
def _add_rows_pair(acc0, acc1, w, rows, n, coef, at0, at1, stride):
    """_add_rows into two accumulators at once, each row of w loaded once for both:
    acc0 += sum_t coef[at0 + t * stride] * w[rows[t]], acc1 likewise from at1. acc0 and acc1
    may be the same row (each gets its own read-modify-write)."""
    d = acc0.shape[0]
    t = 0
    while t + 4 <= n:
        r0 = rows[t]
        r1 = rows[t + 1]
        r2 = rows[t + 2]
        r3 = rows[t + 3]
        g0 = coef[at0 + t * stride]
        g1 = coef[at0 + (t + 1) * stride]
        g2 = coef[at0 + (t + 2) * stride]
        g3 = coef[at0 + (t + 3) * stride]
        e0 = coef[at1 + t * stride]
        e1 = coef[at1 + (t + 1) * stride]
        e2 = coef[at1 + (t + 2) * stride]
        e3 = coef[at1 + (t + 3) * stride]
        for j in range(d):
            u0 = w[r0, j]
            u1 = w[r1, j]
            u2 = w[r2, j]
            u3 = w[r3, j]
            acc0[j] += g0 * u0 + g1 * u1 + g2 * u2 + g3 * u3
            acc1[j] += e0 * u0 + e1 * u1 + e2 * u2 + e3 * u3
        t += 4
    if t + 2 <= n:
        r0 = rows[t]
        r1 = rows[t + 1]
        g0 = coef[at0 + t * stride]
        g1 = coef[at0 + (t + 1) * stride]
        e0 = coef[at1 + t * stride]
        e1 = coef[at1 + (t + 1) * stride]
        for j in range(d):
            u0 = w[r0, j]
            u1 = w[r1, j]
            acc0[j] += g0 * u0 + g1 * u1
            acc1[j] += e0 * u0 + e1 * u1
        t += 2
    while t < n:
        r = rows[t]
        g = coef[at0 + t * stride]
        e = coef[at1 + t * stride]
        for j in range(d):
            u = w[r, j]
            acc0[j] += g * u
            acc1[j] += e * u
        t += 1


@njit(nogil=True, cache=True, fastmath=FASTMATH, **NO_REFCOUNTS)
def logistic_update(hidden, w_out, rows, labels, n, lr, grad_hidden, coef, rows_distinct=False):
    """Binary logistic losses of `hidden` against rows[:n] of w_out; one SGD step on w_out.

    The loss is sum_i -log sigma(+-u_i . h) with the sign from labels[i] (1: positive, 0:
    negative). Negative sampling calls it with [target, negatives...] and labels [1, 0, ...];
    hierarchical softmax with the word's inner-node path and labels 1 - code.
    With g_i = lr * (label_i - sigma(u_i . h)): grad_hidden += sum_i g_i u_i, then
    u_i += g_i h, every term from the rows before the step, so a row listed twice gets both
    terms (the exact gradient step; word2vec.c updates row by row). Scores are computed first,
    all together: independent dot products overlap in the CPU, where one dot -> sigmoid ->
    update chain per row waits on each result. Rows go four at a time (one load of hidden for
    four scores, of grad_hidden for four terms), and when no row is listed twice each row is
    read once for both of its terms: 4-10% more words/s at 1 thread (docs/performance.md).
    coef: float32 (>= n,) scratch. rows_distinct: the caller knows no row is listed twice (a
    Huffman path), which spares the n(n-1)/2 comparisons of the check.
    Returns the loss before the step (float64).
    """
    d = hidden.shape[0]
    loss = 0.0
    _scores(hidden, w_out, rows, n, coef, 0)
    for i in range(n):
        coef[i], pair_loss = _logistic_step(coef[i], labels[i], lr)
        loss += pair_loss
    distinct = True
    if not rows_distinct:
        for i in range(n):
            for k in range(i):
                if rows[k] == rows[i]:
                    distinct = False
    if distinct:  # each row read once for both its terms; a row listed twice needs the two passes
        i = 0
        while i + 4 <= n:
            r0 = rows[i]
            r1 = rows[i + 1]
            r2 = rows[i + 2]
            r3 = rows[i + 3]
            g0 = coef[i]
            g1 = coef[i + 1]
            g2 = coef[i + 2]
            g3 = coef[i + 3]
            for j in range(d):
                u0 = w_out[r0, j]
                u1 = w_out[r1, j]
                u2 = w_out[r2, j]
                u3 = w_out[r3, j]
                x = hidden[j]
                grad_hidden[j] += g0 * u0 + g1 * u1 + g2 * u2 + g3 * u3
                w_out[r0, j] = u0 + g0 * x
                w_out[r1, j] = u1 + g1 * x
                w_out[r2, j] = u2 + g2 * x
                w_out[r3, j] = u3 + g3 * x
            i += 4
        if i + 2 <= n:
            r0 = rows[i]
            r1 = rows[i + 1]
            g0 = coef[i]
            g1 = coef[i + 1]
            for j in range(d):
                u0 = w_out[r0, j]
                u1 = w_out[r1, j]
                x = hidden[j]
                grad_hidden[j] += g0 * u0 + g1 * u1
                w_out[r0, j] = u0 + g0 * x
                w_out[r1, j] = u1 + g1 * x
            i += 2
        while i < n:
            r = rows[i]
            g = coef[i]
            for j in range(d):
                u = w_out[r, j]
                grad_hidden[j] += g * u
                w_out[r, j] = u + g * hidden[j]
            i += 1
        return loss
    _add_rows(grad_hidden, w_out, rows, n, coef, 0, 1)
    for i in range(n):
        r = rows[i]
        g = coef[i]
        for j in range(d):
            w_out[r, j] += g * hidden[j]
    return loss


@njit(nogil=True, cache=True, fastmath=FASTMATH, **NO_REFCOUNTS)
def logistic_update_window(w_in, ctx, m, w_out, rows, labels, n, lr, grad, coef):
    """One minibatch step for a skip-gram window (HogBatch, Ji et al. 2016).

    The input rows w_in[ctx[:m]] (the window's context words) each predict against the same
    output rows w_out[rows[:n]] ([center, negatives...] or the center's Huffman path), every
    score from the weights before the step: this is the gradient step of the window's summed
    loss. Each output row is written once per window, not once per context word, which keeps
    two threads from fighting over the cache lines of frequent rows.
    grad: float32 (>= m, d), accumulates lr * -dL/dw_in[ctx[i]] (the caller zeroes it and
    applies it); coef: float32 (>= m * n) scratch. Returns the loss before the step.
    The three products (scores, grad, output rows) go four rows at a time (one pass over the
    row being accumulated serves four others) and two accumulated rows at a time (two context
    rows' scores and gradients, two output rows' updates: each of the four rows read serves
    both): 1.49x the words/s of SG-NS and 1.40x of SG-HS at 1 thread over four-at-a-time alone.
    """
    loss = 0.0
    i = 0
    while i + 2 <= m:
        _scores_pair(w_in[ctx[i]], w_in[ctx[i + 1]], w_out, rows, n, coef, i * n, (i + 1) * n)
        i += 2
    if i < m:
        _scores(w_in[ctx[i]], w_out, rows, n, coef, i * n)
    for i in range(m):
        for t in range(n):
            coef[i * n + t], pair_loss = _logistic_step(coef[i * n + t], labels[t], lr)
            loss += pair_loss
    i = 0
    while i + 2 <= m:
        _add_rows_pair(grad[i], grad[i + 1], w_out, rows, n, coef, i * n, (i + 1) * n, 1)
        i += 2
    if i < m:
        _add_rows(grad[i], w_out, rows, n, coef, i * n, 1)
    t = 0
    while t + 2 <= n:
        _add_rows_pair(w_out[rows[t]], w_out[rows[t + 1]], w_in, ctx, m, coef, t, t + 1, n)
        t += 2
    if t < n:
        _add_rows(w_out[rows[t]], w_in, ctx, m, coef, t, n)
    return loss


@njit(nogil=True, cache=True, fastmath=FASTMATH, **NO_REFCOUNTS)
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


@njit(nogil=True, cache=True, **NO_REFCOUNTS)
def start_hot(w, lo, first, n_hot, base):
    """Copy the shared rows w[lo:lo+T] to this thread's private rows w[first:first+T] and to base."""
    for k in range(n_hot):
        for j in range(w.shape[1]):
            x = w[lo + k, j]
            w[first + k, j] = x
            base[k, j] = x


@njit(nogil=True, cache=True, **NO_REFCOUNTS)
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


@njit(nogil=True, cache=True, **NO_REFCOUNTS)
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


@njit(nogil=True, cache=True, **NO_REFCOUNTS)
def reduced_window(rng, window):
    """word2vec.c's dynamic window: a radius b uniform on 1..window. Returns (b, new rng state)."""
    rng = _lcg(rng)
    return window - np.int64((rng >> np.uint64(33)) % np.uint64(window)), rng


@njit(nogil=True, cache=True, **NO_REFCOUNTS)
def keep_word(rng, keep_prob):
    """Subsampling: keep a word with probability keep_prob. Returns (kept, new rng state); a word
    with keep_prob >= 1 draws nothing, so rare words leave the random stream as it was."""
    if keep_prob >= 1.0:
        return True, rng
    rng = _lcg(rng)
    return np.float32(rng >> np.uint64(40)) * np.float32(1.0 / 16777216.0) < keep_prob, rng


@njit(nogil=True, cache=True, fastmath=FASTMATH, **NO_REFCOUNTS)
def predict(hidden, target, w_out_hs, w_out_ns, tables, cfg, lr, grad_hidden, rows, n_rows, labels,
            scores, coef):
    """All configured losses of `hidden` predicting word `target`; grad_hidden accumulates.

    rows[:n_rows] = [target, negatives...] for negative sampling, drawn by the caller.
    scores, coef: scratch of softmax_update and logistic_update. Returns the loss.
    """
    loss = 0.0
    if cfg.hs:
        loss += logistic_update(hidden, w_out_hs, tables.hs_points[target], tables.hs_labels[target],
                                tables.hs_lengths[target], lr, grad_hidden, coef, True)
    if cfg.negative > 0:
        loss += logistic_update(hidden, w_out_ns, rows, labels, n_rows, lr, grad_hidden, coef)
    if cfg.softmax:
        loss += softmax_update(hidden, w_out_ns, target, lr, grad_hidden, scores)
    return loss


@njit(nogil=True, cache=True, inline="always")
def _hot_layout(v, cfg):
    """Where this thread's private rows are (module docstring): (T, the first shared inner node
    copied, v-1-T; the first private row of words 0..T-1 in w_in and w_out_ns, after their v real
    rows; the first private row of the last T inner nodes in w_out_hs)."""
    n_hot = cfg.hot_rows
    return n_hot, v - 1 - n_hot, v + cfg.hot_slot * n_hot, v - 1 + cfg.hot_slot * n_hot


class _Scratch(NamedTuple):
    """train_chunk's buffers, allocated once per chunk and handed to _train_sentences."""
    base_ns: np.ndarray
    base_hs: np.ndarray
    base_in: np.ndarray
    sent_in: np.ndarray
    sent: np.ndarray
    hidden: np.ndarray
    grad: np.ndarray
    plan_rows: np.ndarray
    plan_n: np.ndarray
    plan_reduced: np.ndarray
    pair_rows: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    coef: np.ndarray
    window_ctx: np.ndarray
    window_grad: np.ndarray
    window_coef: np.ndarray


@njit(nogil=True, cache=True, fastmath=FASTMATH)
def train_chunk(ids, bounds, sents, w_in, w_out_hs, w_out_ns, tables, cfg, lr0, lr1, seed):
    """Train on the sentences sents[0], sents[1], ... of the encoded corpus, in that order;
    weights are updated in place.

    ids: int32 (N,) token ids; bounds: int64 (S+1,) sentence boundaries; sents: int64 (k,)
    sentence numbers (a slice of a permutation of 0..S-1 when the trainer shuffles).
    The learning rate goes linearly from lr0 to lr1 over the chunk's words, one value per sentence.
    Returns (raw_words, effective_words, loss, n_predictions): words read, words kept by
    subsampling, the summed loss (float64) and the number of predictions made.
    Allocates the chunk's buffers; the loops are _train_sentences'.
    """
    d = w_in.shape[1]
    n_hot, lo_hs, first_words, first_hs = _hot_layout(tables.keep_prob.shape[0], cfg)
    total = 0
    longest = 0  # sizes the sentence scratch: a sentence of any length fits
    for q in range(sents.shape[0]):
        length = bounds[sents[q] + 1] - bounds[sents[q]]
        total += length
        longest = max(longest, length)
    total = max(total, 1)
    labels = np.zeros(cfg.negative + 1, dtype=np.float32)
    labels[0] = 1.0
    coef = np.empty(max(cfg.negative + 1, tables.hs_points.shape[1]), dtype=np.float32)
    # CBOW and batch_window draw a center's negatives one center ahead, so that their rows can be
    # prefetched: plan_rows[b] holds [center, negatives...] of center pos (b = pos & 1). Classic
    # skip-gram draws per pair, just before use (drawing ahead cost it 6-8%, docs/performance.md).
    sc = _Scratch(
        np.empty((n_hot if cfg.negative > 0 else 0, d), dtype=np.float32),  # base_ns
        np.empty((n_hot if cfg.hs else 0, d), dtype=np.float32),  # base_hs
        np.empty((n_hot, d), dtype=np.float32),  # base_in
        np.empty(longest, dtype=np.int32),  # sent_in: the sentence's rows of w_in, private ones mapped
        np.empty(longest, dtype=np.int32),  # sent
        np.empty(d, dtype=np.float32),  # hidden
        np.empty(d, dtype=np.float32),  # grad
        np.empty((2, cfg.negative + 1), dtype=np.int32),  # plan_rows
        np.zeros(2, dtype=np.int64),  # plan_n
        np.zeros(2, dtype=np.int64),  # plan_reduced
        np.empty(cfg.negative + 1, dtype=np.int32),  # pair_rows
        labels,
        np.empty(w_out_ns.shape[0] if cfg.softmax else 1, dtype=np.float64),  # scores
        coef,
        np.empty(2 * cfg.window, dtype=np.int32),  # window_ctx
        np.empty((2 * cfg.window if cfg.batch_window else 1, d), dtype=np.float32),  # window_grad
        np.empty(2 * cfg.window * coef.shape[0] if cfg.batch_window else 1, dtype=np.float32))  # window_coef
    # the three matrices' private rows are started and merged by explicit calls: one helper doing
    # the three (inlined by LLVM into the loop) measured 20% slower on one thread
    start_hot(w_out_ns, 0, first_words, sc.base_ns.shape[0], sc.base_ns)
    start_hot(w_out_hs, lo_hs, first_hs, sc.base_hs.shape[0], sc.base_hs)
    start_hot(w_in, 0, first_words, n_hot, sc.base_in)
    result = _train_sentences(ids, bounds, sents, w_in, w_out_hs, w_out_ns, tables, cfg, lr0, lr1, seed, total, sc)
    merge_hot(w_out_ns, 0, first_words, sc.base_ns.shape[0], sc.base_ns)
    merge_hot(w_out_hs, lo_hs, first_hs, sc.base_hs.shape[0], sc.base_hs)
    merge_hot(w_in, 0, first_words, n_hot, sc.base_in)
    return result


@njit(nogil=True, cache=True, fastmath=FASTMATH, **NO_REFCOUNTS)
def _train_sentences(ids, bounds, sents, w_in, w_out_hs, w_out_ns, tables, cfg, lr0, lr1, seed, total, sc):
    """train_chunk's loops over its sentences (`total` words), in its buffers `sc`."""
    d = w_in.shape[1]
    n_hot, lo_hs, first_words, first_hs = _hot_layout(tables.keep_prob.shape[0], cfg)
    base_ns, base_hs, base_in = sc.base_ns, sc.base_hs, sc.base_in
    sent_in, sent, hidden, grad = sc.sent_in, sc.sent, sc.hidden, sc.grad
    plan_rows, plan_n, plan_reduced, pair_rows = sc.plan_rows, sc.plan_n, sc.plan_reduced, sc.pair_rows
    labels, scores, coef = sc.labels, sc.scores, sc.coef
    window_ctx, window_grad, window_coef = sc.window_ctx, sc.window_grad, sc.window_coef
    per_pair = cfg.sg and not cfg.batch_window
    keep_prob = tables.keep_prob
    rng = np.uint64(seed)
    raw = 0
    since_merge = 0  # centers trained since the private rows were last merged
    effective = 0
    n_pred = 0
    loss = 0.0
    for q in range(sents.shape[0]):
        s = sents[q]
        lr = lr0 + (lr1 - lr0) * (raw / total)
        n = 0
        for t in range(bounds[s], bounds[s + 1]):
            w = ids[t]
            keep, rng = keep_word(rng, keep_prob[w])
            if not keep:
                continue
            sent[n] = w
            sent_in[n] = w + first_words if w < n_hot else w
            n += 1
        raw += bounds[s + 1] - bounds[s]
        effective += n
        for pos in range(-1, n):
            nxt = pos + 1
            if nxt < n:  # plan the next center: its reduced window, negatives, and prefetches
                b = nxt & 1
                plan_reduced[b], rng = reduced_window(rng, cfg.window)
                if cfg.negative > 0 and not per_pair:
                    cnt, rng = draw_negatives(tables.noise, sent[nxt], cfg.negative, plan_rows[b], rng)
                    _to_private(plan_rows[b], cnt, n_hot, first_words)
                    plan_n[b] = cnt
                    for q in range(cnt):
                        prefetch_row(w_out_ns, plan_rows[b, q])
                if not per_pair and nxt + cfg.window < n:  # the word entering the window
                    prefetch_row(w_in, sent_in[nxt + cfg.window])
            if pos < 0:
                continue
            if n_hot:  # bounded staleness: merge every SYNC_WORDS centers, inside a sentence too
                if since_merge >= SYNC_WORDS:
                    merge_hot(w_out_ns, 0, first_words, base_ns.shape[0], base_ns)
                    merge_hot(w_out_hs, lo_hs, first_hs, base_hs.shape[0], base_hs)
                    merge_hot(w_in, 0, first_words, n_hot, base_in)
                    since_merge = 0
                since_merge += 1
            b = pos & 1
            reduced = plan_reduced[b]
            lo = max(pos - reduced, 0)
            hi = min(pos + reduced + 1, n)
            center = sent[pos]
            rows = plan_rows[b]
            n_rows = plan_n[b] if cfg.negative > 0 else 0
            if cfg.sg and cfg.batch_window:
                m = 0
                for c in range(lo, hi):
                    if c != pos:
                        window_ctx[m] = sent_in[c]
                        m += 1
                if m == 0:
                    continue
                window_grad[:m] = 0.0
                if cfg.hs:
                    loss += logistic_update_window(w_in, window_ctx, m, w_out_hs, tables.hs_points[center],
                                                   tables.hs_labels[center], tables.hs_lengths[center], lr,
                                                   window_grad, window_coef)
                if cfg.negative > 0:
                    loss += logistic_update_window(w_in, window_ctx, m, w_out_ns, rows, labels, n_rows, lr,
                                                   window_grad, window_coef)
                for i in range(m):
                    ctx = window_ctx[i]
                    for j in range(d):
                        w_in[ctx, j] += window_grad[i, j]
                n_pred += m
            elif cfg.sg:
                rows = pair_rows
                for c in range(lo, hi):
                    if c == pos:
                        continue
                    ctx = sent_in[c]
                    if cfg.negative > 0:
                        n_rows, rng = draw_negatives(tables.noise, center, cfg.negative, rows, rng)
                        _to_private(rows, n_rows, n_hot, first_words)
                    grad[:] = 0.0
                    loss += predict(w_in[ctx], center, w_out_hs, w_out_ns, tables, cfg, lr, grad, rows,
                                    n_rows, labels, scores, coef)
                    n_pred += 1
                    for j in range(d):
                        w_in[ctx, j] += grad[j]
            else:
                count = 0
                for c in range(lo, hi):
                    if c != pos:
                        window_ctx[count] = sent_in[c]
                        count += 1
                if count == 0:
                    continue
                hidden[:] = 0.0
                i = 0
                while i + 4 <= count:  # four context rows a pass: hidden loaded and stored once for them
                    a0 = window_ctx[i]
                    a1 = window_ctx[i + 1]
                    a2 = window_ctx[i + 2]
                    a3 = window_ctx[i + 3]
                    for j in range(d):
                        hidden[j] += w_in[a0, j] + w_in[a1, j] + w_in[a2, j] + w_in[a3, j]
                    i += 4
                if i + 2 <= count:
                    a0 = window_ctx[i]
                    a1 = window_ctx[i + 1]
                    for j in range(d):
                        hidden[j] += w_in[a0, j] + w_in[a1, j]
                    i += 2
                while i < count:
                    a0 = window_ctx[i]
                    for j in range(d):
                        hidden[j] += w_in[a0, j]
                    i += 1
                if cfg.cbow_mean:
                    inv = np.float32(1.0 / count)
                    for j in range(d):
                        hidden[j] *= inv
                grad[:] = 0.0
                loss += predict(hidden, center, w_out_hs, w_out_ns, tables, cfg, lr, grad, rows, n_rows,
                                labels, scores, coef)
                n_pred += 1
                i = 0
                while i + 4 <= count:  # grad loaded once for four rows; a word twice in the window gets both
                    a0 = window_ctx[i]
                    a1 = window_ctx[i + 1]
                    a2 = window_ctx[i + 2]
                    a3 = window_ctx[i + 3]
                    for j in range(d):
                        g = grad[j]
                        w_in[a0, j] += g
                        w_in[a1, j] += g
                        w_in[a2, j] += g
                        w_in[a3, j] += g
                    i += 4
                if i + 2 <= count:
                    a0 = window_ctx[i]
                    a1 = window_ctx[i + 1]
                    for j in range(d):
                        g = grad[j]
                        w_in[a0, j] += g
                        w_in[a1, j] += g
                    i += 2
                while i < count:
                    a0 = window_ctx[i]
                    for j in range(d):
                        w_in[a0, j] += grad[j]
                    i += 1
    return raw, effective, loss, n_pred


# gensim's score (word2vec.c's table range): a term whose score is beyond +-SCORE_MAX_EXP is left out
SCORE_MAX_EXP = 6.0


@njit(nogil=True, cache=True, fastmath=FASTMATH, **NO_REFCOUNTS)
def hs_log_prob(hidden, w_out_hs, points, labels, n):
    """log P(word | hidden) along its Huffman path points[:n]: sum of log sigma(+-u . h), the sign
    from labels (1 - code). Nothing is updated. As gensim's score, a node whose score is beyond
    +-SCORE_MAX_EXP adds nothing (there gensim's table of log sigma ends). Returns a float64."""
    d = hidden.shape[0]
    total = 0.0
    for i in range(n):
        r = points[i]
        f = np.float32(0.0)
        for j in range(d):
            f += hidden[j] * w_out_hs[r, j]
        x = np.float64(f) if labels[i] > 0.5 else -np.float64(f)
        if x <= -SCORE_MAX_EXP or x >= SCORE_MAX_EXP:
            continue
        total -= _sigmoid_terms(x)[1]
    return total


@njit(nogil=True, cache=True, fastmath=FASTMATH)
def score_hs(ids, bounds, w_in, w_out_hs, tables, cfg, out):
    """gensim's Word2Vec.score: out[s] = the log-probability of sentence s under hierarchical softmax,
    every word predicted from its full window (no subsampling, no reduced window). Skip-gram: from
    each context word's row in turn; CBOW: from their mean (cbow_mean) or sum, a zero vector when
    the sentence has no other word (as gensim's). ids, bounds: the encoded sentences (int32 (N,),
    int64 (S+1,)); out: float64 (S,). Nothing is updated."""
    d = w_in.shape[1]
    hidden = np.empty(d, dtype=np.float32)
    for s in range(bounds.shape[0] - 1):
        lo_s, hi_s = bounds[s], bounds[s + 1]
        total = 0.0
        for i in range(lo_s, hi_s):
            word = ids[i]
            n = tables.hs_lengths[word]
            if n == 0:
                continue
            lo = max(i - cfg.window, lo_s)
            hi = min(i + cfg.window + 1, hi_s)
            if cfg.sg:
                for j in range(lo, hi):
                    if j != i:
                        total += hs_log_prob(w_in[ids[j]], w_out_hs, tables.hs_points[word], tables.hs_labels[word], n)
            else:
                hidden[:] = 0.0
                for j in range(lo, hi):
                    if j != i:
                        for k in range(d):
                            hidden[k] += w_in[ids[j], k]
                if cfg.cbow_mean and hi - lo > 1:
                    inv = np.float32(1.0 / (hi - lo - 1))
                    for k in range(d):
                        hidden[k] *= inv
                total += hs_log_prob(hidden, w_out_hs, tables.hs_points[word], tables.hs_labels[word], n)
        out[s] = total


def needs_compiling() -> bool:
    """Whether the first train_chunk call will compile (~20 s) rather than load numba's cache:
    nothing compiled in this process, and numba's cache index for this source holds no entry for
    this CPU. Reads the small index file (< 1 ms). The index is numba's internals: on any
    surprise, say no (no message rather than a wrong one)."""
    try:  # with NUMBA_DISABLE_JIT (or a test's patch), train_chunk is a plain function: False
        if train_chunk.signatures:
            return False
        magic = train_chunk.targetctx.codegen().magic_tuple()
        return not any(key[1] == magic for key in train_chunk._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - another numba version's layout
        return False
