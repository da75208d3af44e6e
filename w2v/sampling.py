"""Sampling tables: subsampling keep-probabilities and the noise distribution for negatives.

The noise table is an alias table (Walker/Vose) packed one uint64 per word: the high 32 bits
are the acceptance threshold of the word's bucket, the low 32 bits its alias. A draw reads one
8-byte entry of a V-entry table (560 KB for 70k words, cache-resident), where word2vec.c's
1e8-entry unigram table (400 MB) misses the cache on every draw.
"""
from __future__ import annotations

import numpy as np

THRESHOLD_ONE = 1 << 32  # acceptance thresholds are compared with 32 random bits


def keep_probabilities(counts, sample: float) -> np.ndarray:
    """float32 (V,): the probability of keeping each occurrence of a word when subsampling.

    word2vec.c's formula with t = sample * total: p = (sqrt(c / t) + 1) * t / c, capped at 1.
    As gensim, a `sample` >= 1 is an absolute count threshold t instead of a fraction.
    sample=0 disables subsampling (every p is 1).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample == 0 or counts.size == 0:
        return np.ones(counts.shape, dtype=np.float32)
    t = sample * counts.sum() if sample < 1.0 else float(sample)
    p = (np.sqrt(counts / t) + 1.0) * t / counts
    return np.minimum(p, 1.0).astype(np.float32)


def noise_distribution(counts, exponent: float = 0.75) -> np.ndarray:
    """float64 (V,): P(w) proportional to count(w) ** exponent."""
    w = np.asarray(counts, dtype=np.float64) ** exponent
    return w / w.sum()


def alias_table(probs) -> np.ndarray:
    """uint64 (V,): a packed alias table for sampling from `probs` (Vose's method).

    Draw: i uniform in [0, V); accept i if 32 random bits < entry >> 32, else take entry & 0xffffffff.
    """
    probs = np.asarray(probs, dtype=np.float64)
    n = probs.size
    scaled = probs * n / probs.sum()
    threshold = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int64)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        threshold[s] = scaled[s]
        alias[s] = g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    # leftovers are 1 up to rounding
    high = np.minimum(np.round(threshold * THRESHOLD_ONE), THRESHOLD_ONE - 1).astype(np.uint64)
    high[threshold >= 1.0] = THRESHOLD_ONE - 1  # always accept (a 32-bit draw is < 2**32 - 1 but for one value)
    return (high << np.uint64(32)) | alias.astype(np.uint64)


def alias_probabilities(table) -> np.ndarray:
    """The exact distribution a packed alias table samples from (for tests)."""
    table = np.asarray(table, dtype=np.uint64)
    n = table.size
    accept = (table >> np.uint64(32)).astype(np.float64) / THRESHOLD_ONE
    accept[(table >> np.uint64(32)) == THRESHOLD_ONE - 1] = 1.0
    alias = (table & np.uint64(0xFFFFFFFF)).astype(np.int64)
    p = accept / n
    np.add.at(p, alias, (1.0 - accept) / n)
    return p
