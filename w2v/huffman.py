"""Huffman tree for hierarchical softmax: a binary code and an inner-node path per word.

Built as word2vec.c does, in linear time with two pointers over the count-sorted vocabulary
(leaves sorted by descending count, merged nodes created in ascending count order), so frequent
words get the shortest codes. Inner nodes are numbered 0..V-2 with the root V-2. Convention
(word2vec.c's): at inner node points[w, j] word w takes branch codes[w, j]; the binary
classifier's label is 1 - code, i.e. its update is g = (1 - code - sigma(f)) * lr.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit


class HuffmanTree(NamedTuple):
    points: np.ndarray   # int32 (V, L): inner-node ids from the root down, padded with 0
    codes: np.ndarray    # uint8 (V, L): branch taken at each node, padded with 0
    lengths: np.ndarray  # int32 (V,): code length of each word


@njit(cache=True, inline="always")
def _take_smallest(count, pos1, pos2):
    """The smaller of the next leaf (pos1) and the next merged node (pos2); a tie takes the node."""
    if pos1 >= 0 and count[pos1] < count[pos2]:
        return pos1, pos1 - 1, pos2
    return pos2, pos1, pos2 + 1


@njit(cache=True)
def _build(counts):
    v = counts.shape[0]
    count = np.empty(2 * v, dtype=np.int64)
    count[:v] = counts
    count[v:] = np.iinfo(np.int64).max // 4
    parent = np.zeros(2 * v, dtype=np.int64)
    binary = np.zeros(2 * v, dtype=np.uint8)
    pos1 = v - 1   # next unused leaf: leaves descend by count, so this walks left
    pos2 = v       # next unused merged node
    for a in range(v - 1):
        # the two smallest of: leaf at pos1 (leaves descend, so pos1 walks left), node at pos2
        min1, pos1, pos2 = _take_smallest(count, pos1, pos2)
        min2, pos1, pos2 = _take_smallest(count, pos1, pos2)
        count[v + a] = count[min1] + count[min2]
        parent[min1] = v + a
        parent[min2] = v + a
        binary[min2] = 1
    lengths = np.zeros(v, dtype=np.int32)
    max_len = 1
    for w in range(v):
        b = w
        n = 0
        while b != 2 * v - 2:
            n += 1
            b = parent[b]
        lengths[w] = n
        max_len = max(max_len, n)
    points = np.zeros((v, max_len), dtype=np.int32)
    codes = np.zeros((v, max_len), dtype=np.uint8)
    for w in range(v):
        b = w
        n = lengths[w]
        i = n - 1
        while b != 2 * v - 2:
            codes[w, i] = binary[b]
            points[w, i] = parent[b] - v
            i -= 1
            b = parent[b]
    return points, codes, lengths


def build(counts) -> HuffmanTree:
    """The Huffman tree of words whose counts are sorted in descending order."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        raise ValueError("cannot build a Huffman tree for an empty vocabulary")
    if np.any(np.diff(counts) > 0):
        raise ValueError("counts must be sorted in descending order (vocabulary order)")
    return HuffmanTree(*_build(counts))
