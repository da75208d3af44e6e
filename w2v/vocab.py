"""Vocabulary: one streaming pass that counts words and encodes the corpus to int32 ids.

For corpus files the pass is compiled and runs on every core (`fastscan`, same result). The
Python pass gives every new word a provisional id the first time it is seen (one dict lookup per
token, at C speed through `map(dict.__getitem__, ...)`), appends the ids to a growing int32
buffer and counts them afterwards in one numba loop. Once the vocabulary is trimmed and sorted,
a lookup table maps provisional ids to final ids, so the corpus never has to be parsed again:
later epochs read only the int32 array.

`max_vocab_size` bounds memory while counting as word2vec.c does: when the table grows past it,
words seen at most `min_reduce` times are forgotten, and `min_reduce` grows by one each time.
The Python pass loses the forgotten counts (and the tokens counted before), as word2vec.c; the
compiled pass gives them back to the words it keeps, so their counts are exact (`fastscan`,
"Pruning").
"""
from __future__ import annotations

import itertools
import logging
import os
import re
from array import array
from dataclasses import dataclass

import numpy as np
from numba import njit

from . import corpus as corpus_mod
from . import fastscan
from .formats import atomic_output

logger = logging.getLogger(__name__)

# What a trim_rule(word, count, min_count) returns (gensim.utils' values, so gensim's rules work)
RULE_DEFAULT, RULE_DISCARD, RULE_KEEP = 0, 1, 2


def keep_word(word, count: int, min_count: int, trim_rule=None) -> bool:
    """Whether the vocabulary keeps `word`: trim_rule's verdict, or count >= min_count when the rule
    has none (RULE_DEFAULT, or any value that is neither RULE_KEEP nor RULE_DISCARD, as gensim)."""
    if trim_rule is not None:
        verdict = trim_rule(word, count, min_count)
        if verdict == RULE_KEEP:
            return True
        if verdict == RULE_DISCARD:
            return False
    return count >= min_count


@dataclass
class EncodedCorpus:
    """A corpus as ids: sentence s is `ids[bounds[s]:bounds[s + 1]]`.

    ids: int32 (N,) token ids of in-vocabulary words only (out-of-vocabulary tokens dropped);
    bounds: int64 (S + 1,) sentence boundaries, no empty sentences.
    """
    ids: np.ndarray
    bounds: np.ndarray

    @property
    def n_words(self) -> int:
        return int(self.ids.shape[0])

    @property
    def n_sentences(self) -> int:
        return int(self.bounds.shape[0] - 1)

    def reader(self):
        """For a backend thread: unit -> (ids, bounds, sents), the whole corpus and its sentences."""
        ids, bounds = self.ids, self.bounds
        return lambda unit: (ids, bounds, unit.sents)


@dataclass
class Scan:
    """The result of one counting pass, in provisional ids (order of first appearance)."""
    words: list            # provisional id -> word (None for words pruned while counting)
    counts: np.ndarray     # int64, provisional id -> count
    ids: np.ndarray        # int32, the whole corpus in provisional ids (None when spilled)
    bounds: np.ndarray     # int64 sentence boundaries (None when spilled)
    pruned: bool           # whether max_vocab_size forgot words while counting
    spill: object = None   # fastscan.Spill: the corpus on disk, for store.encode_spill
    partial: bool = False  # pruning lost occurrences of kept words (counts and ids): reading the
    #                        corpus again recovers their ids (the Python pass; not the compiled one)


@njit(cache=True)
def _count_ids(ids, n):
    """int64 (n,) occurrences of each id (np.bincount would first copy ids to int64)."""
    counts = np.zeros(n, dtype=np.int64)
    for i in ids:
        counts[i] += 1
    return counts


class FirstSeenIds(dict):
    """word -> provisional id, assigning the next id on first sight."""
    __slots__ = ("words",)

    def __init__(self):
        super().__init__()
        self.words = []

    def __missing__(self, word):
        i = self[word] = len(self.words)
        self.words.append(word)
        return i


def scan(sentences, max_vocab_size: int | None = None, spill_after: int | None = None, spill_dir=None) -> Scan:
    """Count and encode `sentences` in one pass.

    A `corpus.LineSentence` (what `corpus_file=` gives) is read by the compiled, threaded pass
    of `fastscan` (the same result as the serial pass, several times faster; with
    max_vocab_size, its own pruning: `fastscan`, "Pruning"). Any other iterable of token lists
    goes through `scan_iterable` (spill_after, spill_dir: see there).
    """
    files = sentences.paths() if isinstance(sentences, corpus_mod.LineSentence) else None
    if files is not None:  # not a file object, no line limit
        return scan_files(files, sentences.max_sentence_length, max_vocab_size=max_vocab_size)
    return scan_iterable(sentences, max_vocab_size, spill_after, spill_dir)


def scan_files(paths, max_sentence_length: int = corpus_mod.MAX_SENTENCE_LENGTH, **options) -> Scan:
    """The compiled pass over text files (plain, .gz, .bz2) in order; options: block_bytes,
    workers, max_vocab_size (see `fastscan.scan_files`)."""
    found = fastscan.scan_files(paths, max_sentence_length, **options)
    return Scan(found.words, found.counts, found.ids, found.bounds, found.pruned)


class _IterableSpill:
    """Where scan_iterable writes the corpus once it passes `after` tokens: the files of a
    fastscan.Spill in a directory made by make_dir() (then the counts are kept as it goes)."""

    def __init__(self, after: int, make_dir):
        self.after, self.make_dir = after, make_dir
        self.dir = None
        self.n_ids = self.n_lines = 0
        self.counts = np.zeros(0, dtype=np.int64)

    def write(self, buf, lengths, n_words):
        if self.dir is None:
            self.dir = self.make_dir()
            ids_path, lines_path = fastscan.spill_paths(self.dir)
            self.f_ids, self.f_lines = open(ids_path, "wb"), open(lines_path, "wb")
        chunk = _count_ids(np.frombuffer(buf, dtype=np.int32), n_words) if len(buf) else \
            np.zeros(n_words, dtype=np.int64)
        chunk[:self.counts.shape[0]] += self.counts
        self.counts = chunk
        self.f_ids.write(buf)
        self.f_lines.write(lengths)
        self.n_ids += len(buf)
        self.n_lines += len(lengths)
        del buf[:]
        del lengths[:]

    def finish(self, n_words):
        from .fastscan import Spill
        self.f_ids.close()
        self.f_lines.close()
        counts = np.zeros(n_words, dtype=np.int64)
        counts[:self.counts.shape[0]] = self.counts
        # first-seen ids are the ids: one range, the identity map
        spill = Spill(*fastscan.spill_paths(self.dir), self.n_ids, self.n_lines,
                      np.array([[0, max(self.n_ids, 1), 0]], dtype=np.int64),
                      fastscan.dense_map(np.arange(n_words), [0, n_words]))
        return counts, spill


SPILL_CHUNK = 1 << 20  # tokens scan_iterable holds between writes once it spills


def scan_iterable(sentences, max_vocab_size: int | None = None, spill_after: int | None = None,
                  spill_dir=None) -> Scan:
    """Count and encode an iterable of token lists in Python, pruning as word2vec.c does when
    the table grows past max_vocab_size.

    spill_after, spill_dir: once the corpus passes spill_after tokens, write it to a directory
    made by spill_dir() as it goes (memory bounded by the vocabulary, not the corpus): the Scan
    then has `spill` (for store.encode_spill) instead of ids and bounds. Not with pruning."""
    table = FirstSeenIds()
    lookup = table.__getitem__
    buf = array("i")
    lengths = array("q")
    min_reduce = 1
    pruned = False
    spill = _IterableSpill(spill_after, spill_dir) if spill_after is not None and max_vocab_size is None else None
    for sent in corpus_mod.iter_sentences(sentences):
        buf.fromlist(list(map(lookup, sent)))  # 30% faster than extend(map(...))
        lengths.append(len(sent))
        if spill is not None and len(buf) >= (SPILL_CHUNK if spill.dir is not None else spill.after):
            spill.write(buf, lengths, len(table.words))
        if max_vocab_size is not None and len(table) > max_vocab_size:
            counts = _count_ids(np.frombuffer(buf, dtype=np.int32), len(table.words))
            for word, i in list(table.items()):
                if counts[i] <= min_reduce:
                    del table[word]
                    table.words[i] = None
            min_reduce += 1
            pruned = True
    if spill is not None and spill.dir is not None:
        spill.write(buf, lengths, len(table.words))
        counts, spilled = spill.finish(len(table.words))
        return Scan(table.words, counts, None, None, False, spilled)
    ids = np.frombuffer(buf, dtype=np.int32) if len(buf) else np.zeros(0, np.int32)
    counts = _count_ids(ids, len(table.words))
    if pruned:
        # a forgotten word that came back has a new id: its earlier ids no longer count
        alive = np.zeros(len(table.words), dtype=bool)
        alive[list(table.values())] = True
        counts[~alive] = 0
    bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(lengths, dtype=np.int64), out=bounds[1:])
    return Scan(table.words, counts, ids, bounds, pruned, partial=pruned)


@dataclass
class Vocab:
    """The trained-on words, sorted by descending count (ties by the word itself).

    index_to_key: list of V words; counts: int64 (V,).
    """
    index_to_key: list
    counts: np.ndarray
    effective_min_count: int | None = None  # min_count as raised for max_final_vocab (from_counts)

    def __len__(self):
        return len(self.index_to_key)

    @property
    def key_to_index(self) -> dict:
        return {w: i for i, w in enumerate(self.index_to_key)}

    @property
    def total_words(self) -> int:
        return int(self.counts.sum())

    @classmethod
    def from_counts(cls, word_counts, min_count: int = 5, max_final_vocab: int | None = None,
                    trim_rule=None) -> "Vocab":
        """Keep words with count >= min_count (raised as gensim does to fit max_final_vocab), sorted.

        trim_rule(word, count, min_count) -> RULE_KEEP / RULE_DISCARD / RULE_DEFAULT overrides
        that test word by word, as gensim's does; it is given the raised min_count."""
        pairs = list(word_counts)
        return cls.from_arrays([w for w, _ in pairs], np.array([int(c) for _, c in pairs], dtype=np.int64),
                               min_count, max_final_vocab, trim_rule)

    @classmethod
    def from_arrays(cls, words: list, counts: np.ndarray, min_count: int = 5, max_final_vocab: int | None = None,
                    trim_rule=None) -> "Vocab":
        """`from_counts` of zip(words, counts) (words: a list, None for a word to leave out; counts:
        int64 (len(words),)), without a Python object per word until the kept ones are sorted."""
        counts = np.asarray(counts, dtype=np.int64)
        present = counts > 0
        if None in words:
            present &= np.fromiter((w is not None for w in words), dtype=bool, count=len(words))
        n = int(np.count_nonzero(present))
        effective_min = min_count
        if max_final_vocab is not None and n > max_final_vocab:
            # the smallest min_count that leaves at most max_final_vocab words
            ranked = np.sort(counts[present])[::-1]
            effective_min = max(min_count, int(ranked[max_final_vocab]) + 1)
        # filter before sorting: most distinct words are rare
        if trim_rule is None:
            kept = np.flatnonzero(present & (counts >= effective_min))
        else:
            kept = np.array([i for i in np.flatnonzero(present).tolist()
                             if keep_word(words[i], int(counts[i]), effective_min, trim_rule)], dtype=np.int64)
        if not kept.shape[0]:
            raise ValueError(
                f"empty vocabulary: none of the {n} distinct words occurs at least "
                f"min_count={effective_min} times; lower min_count or use a larger corpus"
                + ("" if trim_rule is None else " (or trim_rule discarded them)")
                if n else "empty corpus: no tokens found")
        kept_words = [words[i] for i in kept.tolist()]
        # by (-count, word): sorted by word, then a stable sort by count (a C string sort and a
        # numpy one, 6x faster than sorting (count, word) tuples with a key function)
        by_word = np.array(sorted(range(len(kept_words)), key=kept_words.__getitem__), dtype=np.int64)
        order = by_word[np.argsort(-counts[kept[by_word]], kind="stable")]
        return cls([kept_words[i] for i in order.tolist()], counts[kept[order]], effective_min)

    def save(self, path):
        """word2vec.c's -save-vocab format: `word count` per line, in vocabulary order."""
        with atomic_output(path, "w") as f:
            for w, c in zip(self.index_to_key, self.counts):
                f.write(f"{w} {int(c)}\n")

    @staticmethod
    def read_counts(path) -> list:
        """(word, count) pairs from a `word count` file (word2vec.c's -read-vocab).

        Counts are ASCII decimal integers below 2**63; a word may appear once. Any other line
        raises ValueError naming the file and the line; a missing file FileNotFoundError.
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"vocabulary file not found: {path}")
        pairs = []
        seen = {}
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                # ASCII digits only ('²'.isdigit() is True), and few enough for an int64
                if len(parts) != 2 or not _COUNT.fullmatch(parts[1]):
                    raise ValueError(f"{path}:{lineno}: expected 'word count' (a count of at most 18 digits), "
                                     f"got {line.strip()[:80]!r}")
                if parts[0] in seen:
                    raise ValueError(f"{path}:{lineno}: the word {parts[0][:80]!r} is listed again "
                                     f"(first on line {seen[parts[0]]})")
                seen[parts[0]] = lineno
                pairs.append((parts[0], int(parts[1])))
        if not pairs:
            raise ValueError(f"vocabulary file is empty: {path}")
        return pairs


_COUNT = re.compile(r"[0-9]{1,18}")


@njit(cache=True)
def _remap_compact(ids, remap, bounds):
    """In place: ids[t] <- remap[ids[t]], dropping -1s; bounds rewritten, empty sentences
    dropped. Returns (number of ids kept, number of boundaries kept)."""
    n = 0
    nb = 1
    start = bounds[0]
    for s in range(bounds.shape[0] - 1):
        end = bounds[s + 1]
        for t in range(start, end):
            j = remap[ids[t]]
            if j >= 0:
                ids[n] = j
                n += 1
        start = end
        if n > bounds[nb - 1]:
            bounds[nb] = n
            nb += 1
    return n, nb


def id_remap(words: list, vocab: Vocab) -> np.ndarray:
    """int32 (len(words) + 1,): the vocabulary id of each of a scan's words, -1 for a word it
    lacks (None too) and in the last place."""
    index = dict(zip(vocab.index_to_key, range(len(vocab))))
    remap = np.full(len(words) + 1, -1, dtype=np.int32)
    remap[:len(words)] = np.fromiter(map(index.get, words, itertools.repeat(-1)), dtype=np.int32, count=len(words))
    return remap


def encode(scan_result: Scan, vocab: Vocab) -> EncodedCorpus:
    """Map a scan's provisional ids to vocabulary ids, dropping out-of-vocabulary tokens.

    Works in place on the scan's arrays (no copy of the corpus): the scan is consumed.
    """
    remap = id_remap(scan_result.words, vocab)
    ids, bounds = scan_result.ids, scan_result.bounds
    scan_result.ids = scan_result.bounds = None
    if not ids.flags.writeable:
        ids = ids.copy()
    n, nb = _remap_compact(ids, remap, bounds)
    return EncodedCorpus(ids[:n], bounds[:nb])
