"""The plan of a training run: each epoch cut into work units, as plain values.

A work unit is what one backend call trains: a run of sentences (taken in the epoch's order),
the learning rate at its first and last word, and the seed of its random stream. Everything
about a unit is fixed by the plan before any thread or worker sees it, so a unit trains the
same numbers whichever thread (or machine) picks it up and whenever, and a run can be cut at
any unit boundary and resumed (`Cursor`).

Held out: a plan can leave out sentences (in-RAM corpus) or blocks (corpus store), `held_out`,
which no unit of any epoch then contains; the epochs and the learning rate are over the words
left (`w2v.monitor` measures the loss of the held-out text, never trained on).

Numbering: `epoch` in a unit is the model's epoch number, counting every epoch it has ever
trained (`first_epoch` is the count before this call), so a second `train()` call draws new
sentence orders and new random streams. The learning rate, as gensim's, decays from
`start_alpha` to `end_alpha` over this call's epochs only, linearly in words.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

UNIT_WORDS = 50_000  # words per unit: long enough to amortise a call, short enough to share out
_MASK64 = (1 << 64) - 1


def unit_seed(seed: int, epoch: int, unit: int) -> int:
    """A well-mixed 64-bit seed for one unit (splitmix64 of the three numbers)."""
    z = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + unit * 0x94D049BB133111EB + 1) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def sentence_order(n_sentences: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """int64 (S,): the order in which an epoch visits the sentences, a permutation drawn from
    (seed, epoch), or 0..S-1 without shuffle."""
    if not shuffle:
        return np.arange(n_sentences, dtype=np.int64)
    return np.random.default_rng([seed & _MASK64, epoch, 0x5EED]).permutation(n_sentences).astype(np.int64)


def block_order(n_blocks: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """int64 (B,): the order in which an epoch visits the blocks of a corpus store."""
    if not shuffle:
        return np.arange(n_blocks, dtype=np.int64)
    return np.random.default_rng([seed & _MASK64, epoch, 0xB10C]).permutation(n_blocks).astype(np.int64)


def block_sentence_order(n_sentences: int, unit_seed_: int, shuffle: bool) -> np.ndarray:
    """int64 (k,): the order of the sentences of a unit's blocks, drawn from its seed (in the
    thread that trains it: a whole epoch's orders never sit in memory at once)."""
    if not shuffle:
        return np.arange(n_sentences, dtype=np.int64)
    return np.random.default_rng([unit_seed_ & _MASK64, 0x5E27]).permutation(n_sentences).astype(np.int64)


def unit_starts(bounds: np.ndarray, unit_words: int = UNIT_WORDS) -> np.ndarray:
    """Sentence indices that cut sentences with these boundaries into units of about unit_words
    words: unit k is sentences starts[k]:starts[k+1]."""
    n_words = int(bounds[-1])
    targets = np.arange(unit_words, n_words, unit_words)
    cuts = np.searchsorted(bounds, targets, side="left")
    return np.unique(np.concatenate([[0], cuts, [len(bounds) - 1]])).astype(np.int64)


def epoch_units(bounds: np.ndarray, order: np.ndarray, unit_words: int = UNIT_WORDS):
    """Cut the sentences, taken in `order`, into units of about unit_words words.

    Returns (starts, words_before): unit k trains order[starts[k]:starts[k+1]], and the epoch has
    read words_before[k] words before it (words_before[-1] is the epoch's total).
    """
    ordered = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum((bounds[1:] - bounds[:-1])[order], out=ordered[1:])
    starts = unit_starts(ordered, unit_words)
    return starts, ordered[starts]


class WorkUnit(NamedTuple):
    """One backend call: train sentences `sents` (int64, in order) of an in-RAM corpus, or the
    sentences of blocks `blocks` of a corpus store (sents None; the blocks are read one after the
    other and all their sentences put in an order drawn from `seed`, if `shuffle`)."""
    epoch: int          # the model's epoch number (counts every epoch ever trained)
    index: int          # the unit's number within its epoch
    sents: np.ndarray   # int64 (k,) sentence numbers, in training order
    words_before: int   # words of the epoch before this unit
    n_words: int        # words of this unit
    lr0: float          # learning rate at the unit's first word ...
    lr1: float          # ... and after its last
    seed: int           # 64-bit seed of the unit's random stream
    blocks: np.ndarray | None = None  # int64: the store's blocks (a view of the epoch's block order)
    shuffle: bool = False


class Cursor(NamedTuple):
    """Where a run stands: `units_done` units of this call's epoch `epoch` are trained."""
    epoch: int
    units_done: int


class Plan:
    """The units of a `train()` call of `epochs` epochs over a corpus with sentence `bounds` (in
    RAM: units of about unit_words words, sentences shuffled over the whole corpus), or over the
    blocks of a corpus store with `block_words` words each: each epoch puts the blocks in a new
    order, and each unit takes the next `blocks_per_unit` of them and shuffles their sentences
    together, so that a unit mixes text from that many places of the corpus.

    held_out: int64 sentence numbers (over bounds) or block numbers (over block_words) that no
    unit contains; n_words counts the words left."""

    def __init__(self, bounds: np.ndarray | None = None, *, epochs: int, start_alpha: float, end_alpha: float,
                 seed: int, shuffle: bool = True, first_epoch: int = 0, unit_words: int = UNIT_WORDS,
                 block_words: np.ndarray | None = None, blocks_per_unit: int = 1,
                 held_out: np.ndarray | None = None):
        if (bounds is None) == (block_words is None):
            raise ValueError("a plan is over sentence bounds or over store blocks: give one of them")
        self.bounds = bounds
        self.block_words = None if block_words is None else np.asarray(block_words, dtype=np.int64)
        self.blocks_per_unit = max(1, int(blocks_per_unit))
        if bounds is not None:
            self.n_words = int(bounds[-1])
            self.n_sentences = len(bounds) - 1
            sizes = bounds[1:] - bounds[:-1]
        else:
            self.n_words = int(self.block_words.sum())
            sizes = self.block_words
        self.trained = None  # bool per sentence (or block): False for the held-out ones
        if held_out is not None and len(held_out):
            self.trained = np.ones(sizes.shape[0], dtype=bool)
            self.trained[np.asarray(held_out, dtype=np.int64)] = False
            self.n_words -= int(sizes[~self.trained].sum())
        self.epochs = epochs
        self.start_alpha, self.end_alpha = float(start_alpha), float(end_alpha)
        self.seed, self.shuffle = seed, shuffle
        self.first_epoch = first_epoch
        self.unit_words = unit_words

    @property
    def total_words(self) -> int:
        return self.n_words * self.epochs

    def lr_at(self, words_done: int) -> float:
        """The learning rate after `words_done` words of this call (linear decay)."""
        return self.start_alpha - (self.start_alpha - self.end_alpha) * (words_done / max(self.total_words, 1))

    def units(self, e: int) -> list[WorkUnit]:
        """The units of this call's epoch e (0 <= e < epochs), in the epoch's order."""
        if not 0 <= e < self.epochs:
            raise IndexError(f"epoch {e} is not in this plan's 0..{self.epochs - 1}")
        epoch = self.first_epoch + e
        if self.block_words is not None:
            return self._block_units(e, epoch)
        order = self._without_held_out(sentence_order(self.n_sentences, self.seed, epoch, self.shuffle))
        starts, words_before = epoch_units(self.bounds, order, self.unit_words)
        done = e * self.n_words
        return [WorkUnit(epoch, k, order[starts[k]:starts[k + 1]], int(words_before[k]),
                         int(words_before[k + 1] - words_before[k]), self.lr_at(done + int(words_before[k])),
                         self.lr_at(done + int(words_before[k + 1])), unit_seed(self.seed, epoch, k))
                for k in range(len(starts) - 1)]

    def _block_units(self, e: int, epoch: int) -> list[WorkUnit]:
        order = self._without_held_out(block_order(self.block_words.shape[0], self.seed, epoch, self.shuffle))
        m = self.blocks_per_unit
        cuts = np.arange(0, order.shape[0] + m, m).clip(max=order.shape[0])
        cuts = np.unique(cuts)
        before = np.zeros(order.shape[0] + 1, dtype=np.int64)
        np.cumsum(self.block_words[order], out=before[1:])
        before = before[cuts]
        done = e * self.n_words
        return [WorkUnit(epoch, k, None, int(before[k]), int(before[k + 1] - before[k]),
                         self.lr_at(done + int(before[k])), self.lr_at(done + int(before[k + 1])),
                         unit_seed(self.seed, epoch, k), order[cuts[k]:cuts[k + 1]], self.shuffle)
                for k in range(cuts.shape[0] - 1)]

    def _without_held_out(self, order: np.ndarray) -> np.ndarray:
        return order if self.trained is None else order[self.trained[order]]

    @classmethod
    def for_corpus(cls, corpus, **options) -> "Plan":
        """The plan over an EncodedCorpus (bounds) or a corpus store (block_words)."""
        block_words = getattr(corpus, "block_words", None)
        if block_words is not None:
            return cls(block_words=block_words, blocks_per_unit=corpus.blocks_per_unit, **options)
        return cls(corpus.bounds, **options)

    def max_parallel_units(self) -> int:
        """How many units an epoch has at most, for sizing a backend (file order's count; an
        epoch's order changes it by a unit or two)."""
        if self.block_words is not None:
            return max(-(-int(self.block_words.shape[0]) // self.blocks_per_unit), 1)
        return max(len(unit_starts(self.bounds, self.unit_words)) - 1, 1)
