"""Word classes: spherical (cosine) K-means over word vectors, word2vec.c's `-classes`.

The rows are unit-normalised first, so the objective is the cosine one: minimise
sum_i (1 - x_i . c_k(i)) over unit centroids c_k, i.e. maximise the total cosine between each
word and its class's centroid; a class's best centroid is the normalised sum of its unit rows.
Initialisation is greedy K-means++ from `seed` (sampling proportional to the squared distance
2 - 2 cos to the nearest centroid chosen so far, the best of a few candidates each step, as
scikit-learn does); then a fixed number of Lloyd iterations, which stops sooner only when an
iteration changes no assignment (the later ones would change nothing).

Everything is numpy matrix products over blocks of rows: time O((iterations + trials) * V * K * d)
with 2 + ln K K-means++ trials; memory: the unit rows (V, d) float32, a copy of them sorted by
class while centroids are summed, and a block of 8192 x K similarities.
"""
from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

# rows per block of the (rows, K) similarity matrix: 8192 x 1000 float32 is 32 MB
_BLOCK_ROWS = 8192  # pragma: no mutate (any block size gives the same result)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """float32 (V, d) rows scaled to unit length (a zero row stays zero); ValueError naming the
    first rows that hold NaN or infinity, since no class could be given to them."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a (V, d) matrix, got shape {vectors.shape}")
    unit = np.empty(vectors.shape, dtype=np.float32)
    bad = np.zeros(len(vectors), dtype=bool)
    for start in range(0, len(vectors), _BLOCK_ROWS):
        # float64 per block: no overflow for huge values, no float64 copy of a large matrix
        block = vectors[start: start + _BLOCK_ROWS].astype(np.float64)
        bad[start: start + len(block)] = ~np.isfinite(block).all(axis=1)
        with np.errstate(invalid="ignore", over="ignore"):  # bad rows are reported below
            norms = np.sqrt(np.einsum("ij,ij->i", block, block))
            unit[start: start + len(block)] = block / np.where(norms > 0, norms, 1.0)[:, None]
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(f"vectors hold NaN or infinite values in {len(rows)} rows (first: "
                         f"{', '.join(map(str, rows[:5].tolist()))}): no class can be given to them")
    return unit


def _check_k(k, n_rows):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"the number of classes must be an integer >= 1, got {k!r}")
    if k > n_rows:
        raise ValueError(f"cannot make {k} classes of {n_rows} words: the number of classes must be "
                         f"at most the vocabulary size")


def _best_similarity(unit: np.ndarray, centroids: np.ndarray):
    """For each row: the index of its most similar centroid and that cosine, (V,) int64 and float32."""
    labels = np.empty(len(unit), dtype=np.int64)
    best = np.empty(len(unit), dtype=np.float32)
    for start in range(0, len(unit), _BLOCK_ROWS):
        sims = unit[start: start + _BLOCK_ROWS] @ centroids.T
        lab = sims.argmax(axis=1)
        labels[start: start + len(lab)] = lab
        best[start: start + len(lab)] = sims[np.arange(len(lab)), lab]
    return labels, best


def _squared_distances(unit_rows_a: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """float32 (len(a), V): squared Euclidean distances of unit rows, 2 - 2 cos, in place of the
    product (no float64 temporaries: this runs once per centroid chosen)."""
    dist = unit_rows_a @ unit.T
    np.multiply(dist, -2.0, out=dist)
    dist += 2.0
    return np.maximum(dist, 0.0, out=dist)


def kmeans_plus_plus(unit: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k rows of `unit` chosen as starting centroids, (k, d) float32, by greedy K-means++."""
    n = len(unit)
    trials = 2 + int(np.log(k))  # pragma: no mutate (scikit-learn's count; more only costs time)
    centroids = np.empty((k, unit.shape[1]), dtype=np.float32)
    centroids[0] = unit[rng.integers(n)]
    closest = _squared_distances(centroids[:1], unit)[0]  # to the nearest centroid so far
    for c in range(1, k):
        cumulative = np.cumsum(closest, dtype=np.float64)
        # past the end only when every row sits on a centroid (fewer distinct directions than k):
        # the last row then starts a duplicate centroid, whose class the update refills
        candidates = np.minimum(np.searchsorted(cumulative, rng.random(trials) * cumulative[-1], side="right"),
                                n - 1)
        dist = _squared_distances(unit[candidates], unit)
        np.minimum(dist, closest[None, :], out=dist)
        best = int(dist.sum(axis=1, dtype=np.float64).argmin())
        centroids[c] = unit[candidates[best]]
        closest = dist[best]
    return centroids


def _centroids(unit: np.ndarray, labels: np.ndarray, k: int, best: np.ndarray) -> np.ndarray:
    """Each class's normalised sum of its rows, (k, d) float32; an empty class takes the row
    farthest from its own centroid (lowest `best` cosine), which then moves to it."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros((k, unit.shape[1]), dtype=np.float64)
    used = np.flatnonzero(counts)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[used]
    sums[used] = np.add.reduceat(unit[order], starts, axis=0, dtype=np.float64)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        far = np.argsort(best, kind="stable")[:len(empty)]
        for cls, row in zip(empty.tolist(), far.tolist()):
            sums[labels[row]] -= unit[row]
            sums[cls] = unit[row]
            labels[row] = cls
    norms = np.linalg.norm(sums, axis=1)
    return (sums / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)


def spherical_kmeans(vectors: np.ndarray, k: int, iterations: int = 10, seed: int = 1):
    """Cluster the rows of `vectors` (V, d) by cosine into `k` classes.

    Returns (classes, centroids): classes int64 (V,) in 0..k-1, each row's most similar
    centroid; centroids float32 (k, d), unit length. ValueError for k < 1, k > V, iterations < 0
    or rows with NaN/infinity. The same inputs and seed give the same classes.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise ValueError(f"iterations must be an integer >= 0, got {iterations!r}")
    unit = unit_rows(vectors)
    _check_k(k, len(unit))
    k = int(k)
    rng = np.random.default_rng(seed)
    centroids = kmeans_plus_plus(unit, k, rng)
    labels, best = _best_similarity(unit, centroids)
    for it in range(iterations):
        centroids = _centroids(unit, labels, k, best)
        previous = labels
        labels, best = _best_similarity(unit, centroids)
        changed = int((labels != previous).sum())
        logger.debug("k-means iteration %d: %d of %d words changed class, mean cosine to centroid %.4f",
                     it + 1, changed, len(unit), float(best.mean()))
        if changed == 0:
            break
    return labels, centroids
