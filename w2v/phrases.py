"""Phrases: join frequent collocations (new york -> new_york), as word2phrase does.

One streaming pass counts unigrams and bigrams on integer ids: tokens are mapped to ids with
one dict lookup each, and the bigrams of a block of ~1M tokens are packed into int64 keys
(id_a << 32 | id_b) and counted with np.unique, then merged into a sorted table. No Python
dict is updated per token pair. A pair `a b` becomes `a_b` when its score exceeds the
threshold; applying joins greedily left to right, and a token used in a phrase is not reused
by the next pair. A second model trained on the output of the first finds longer phrases
(new_york_times).

The API is gensim's `gensim.models.phrases` (Phrases, FrozenPhrases / Phraser,
ENGLISH_CONNECTOR_WORDS, original_scorer, npmi_scorer), with gensim's defaults and results.

Scoring "default" (gensim's, from Mikolov et al. 2013): (count(ab) - min_count) / (count(a)
count(b)) * len_vocab, len_vocab being the number of distinct words and bigrams counted.
"npmi" (gensim): log(p(ab) / (p(a) p(b))) / -log p(ab) in [-1, 1], for bigrams counted at least
min_count times. "word2phrase" (word2phrase.c, w2v's own): (count(ab) - min_count) / (count(a)
count(b)) * train_words, with both words counted at least min_count times. A callable gets
gensim's arguments (worda_count, wordb_count, bigram_count, len_vocab, min_count,
corpus_word_count), as ints.

connector_words (e.g. "of", "the") never start or end a phrase but may sit inside one
(bank_of_america): candidates are then `a c... b` and their counting is a Python loop.
"""
from __future__ import annotations

import inspect
import itertools
import json
import math
import os
import struct
import zipfile
import zlib
from array import array

import numpy as np

from . import corpus as corpus_mod
from .errors import DamagedFileError
from .formats import atomic_output, check_npz_sizes, save_npz
from .vocab import FirstSeenIds

BLOCK_TOKENS = 1 << 20
PHRASES_VERSION = 1  # 0: files written before versions were recorded (no "version" key)
_MASK = np.int64(0xFFFFFFFF)


# gensim's: words that may sit inside a phrase but never start or end one
ENGLISH_CONNECTOR_WORDS = frozenset(
    " a an the "
    " for of with without at from to in on by "
    " and or "
    .split()
)
NEGATIVE_INFINITY = float("-inf")


def original_scorer(worda_count, wordb_count, bigram_count, len_vocab, min_count, corpus_word_count):
    """gensim's "default" score of one bigram (Mikolov et al. 2013, with len_vocab)."""
    denom = worda_count * wordb_count
    if denom == 0:
        return NEGATIVE_INFINITY
    return (bigram_count - min_count) / float(denom) * len_vocab


def npmi_scorer(worda_count, wordb_count, bigram_count, len_vocab, min_count, corpus_word_count):
    """gensim's "npmi" score of one bigram: normalised pointwise mutual information (Bouma 2009)."""
    if bigram_count >= min_count:
        corpus_word_count = float(corpus_word_count)
        pa = worda_count / corpus_word_count
        pb = wordb_count / corpus_word_count
        pab = bigram_count / corpus_word_count
        try:
            return math.log(pab / (pa * pb)) / -math.log(pab)
        except ValueError:  # a count of 0
            return NEGATIVE_INFINITY
    return NEGATIVE_INFINITY


# the same scores, vectorised over arrays of counts (float64)
def _score_default(worda_count, wordb_count, bigram_count, len_vocab, min_count, corpus_word_count):
    denom = worda_count * wordb_count
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (bigram_count - min_count) / denom * len_vocab
    return np.where(denom == 0, -np.inf, score)


def _score_word2phrase(worda_count, wordb_count, bigram_count, len_vocab, min_count, corpus_word_count):
    ok = (worda_count >= min_count) & (wordb_count >= min_count)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (bigram_count - min_count) / (worda_count * wordb_count) * corpus_word_count
    return np.where(ok, score, -np.inf)


def _score_npmi(worda_count, wordb_count, bigram_count, len_vocab, min_count, corpus_word_count):
    pa = worda_count / corpus_word_count
    pb = wordb_count / corpus_word_count
    pab = bigram_count / corpus_word_count
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.log(pab / (pa * pb)) / -np.log(pab)
    # a count of 0 (log 0), or a bigram that is the whole corpus (0 / 0, where gensim's scorer raises
    # ZeroDivisionError): never a phrase
    return np.where((bigram_count >= min_count) & np.isfinite(score), score, -np.inf)


SCORERS = {"default": _score_default, "npmi": _score_npmi, "word2phrase": _score_word2phrase}
# gensim's scalar scorers, passed as callables, are scored by their vectorised twins
_VECTORISED = {original_scorer: _score_default, npmi_scorer: _score_npmi}
_SCORER_PARAMETERS = ("worda_count", "wordb_count", "bigram_count", "len_vocab", "min_count", "corpus_word_count")


def _sentences(sentences):
    """The token lists of an iterable, as given (gensim's phrases neither split nor drop any)."""
    for s in sentences:
        if isinstance(s, str):
            raise TypeError("each sentence must be a list of string tokens, got a str: "
                            "pass [line.split() for line in lines], or LineSentence(path)")
        yield s


def _is_single(obj):
    """gensim's rule for phrases[obj]: (True, tokens) for one sentence (empty, or its first item a
    str), else (False, the corpus). A one-shot iterator is peeked at, and its first item put back."""
    it = iter(obj)
    try:
        peek = next(it)
    except StopIteration:
        return True, obj
    rest = itertools.chain([peek], it)
    if isinstance(peek, str):
        return True, rest
    return False, (rest if it is obj else obj)


def _check_settings(min_count, threshold, delimiter, scoring):
    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    if not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if scoring == "default" and threshold <= 0:
        raise ValueError(f"threshold must be > 0 for the default scoring (as gensim), got {threshold}")
    if scoring == "npmi" and not -1.0 <= threshold <= 1.0:
        raise ValueError(f"with scoring='npmi' the threshold must be in [-1, 1], got {threshold}")
    if scoring == "word2phrase" and threshold < 0:
        raise ValueError(f"threshold must be >= 0 for word2phrase scoring, got {threshold}")
    if callable(scoring):
        try:
            names = inspect.signature(scoring).parameters
        except (TypeError, ValueError):
            names = _SCORER_PARAMETERS  # a builtin: trust it
        missing = [p for p in _SCORER_PARAMETERS if p not in names]
        if missing:
            raise ValueError(f"scoring function missing expected parameters {missing} (gensim's "
                             f"signature: {', '.join(_SCORER_PARAMETERS)})")
    elif scoring not in SCORERS:
        raise ValueError(f"scoring must be 'default', 'npmi', 'word2phrase' or a callable, got {scoring!r}")
    if not isinstance(delimiter, str) or not delimiter or any(c.isspace() for c in delimiter):
        raise ValueError(f"delimiter must be a non-empty string without whitespace, got {delimiter!r}")


class _Applier:
    """Greedy left-to-right joining with a table {tuple of words: score}."""

    delimiter: str
    connector_words: frozenset

    def _table(self) -> dict:
        raise NotImplementedError

    def analyze_sentence(self, sentence):
        """Yield (token, score or None) for one sentence: joined phrases with their score."""
        table = self._table()
        s = list(sentence)
        n = len(s)
        i = 0
        conn = self.connector_words
        while i < n:
            a = s[i]
            if a not in conn:
                j = i + 1
                while j < n and s[j] in conn:
                    j += 1
                if j < n:
                    score = table.get(tuple(s[i:j + 1]))
                    if score is not None:
                        yield self.delimiter.join(s[i:j + 1]), score
                        i = j + 1
                        continue
            yield a, None
            i += 1

    def apply(self, sentence) -> list:
        """The sentence with its phrases joined."""
        if self.connector_words:
            return [tok for tok, _ in self.analyze_sentence(sentence)]
        table = self._table()
        out = []
        s = sentence
        n = len(s)
        d = self.delimiter
        i = 0
        while i < n - 1:
            if (s[i], s[i + 1]) in table:
                out.append(s[i] + d + s[i + 1])
                i += 2
            else:
                out.append(s[i])
                i += 1
        if i == n - 1:
            out.append(s[i])
        return out

    def __getitem__(self, sentence_or_corpus):
        """phrases[sentence] -> token list; phrases[corpus] -> a stream of token lists, restartable
        when the corpus is (gensim's rule tells one from the other: `_is_single`)."""
        if isinstance(sentence_or_corpus, str):
            raise TypeError("expected a list of tokens (or an iterable of them), got a str")
        single, obj = _is_single(sentence_or_corpus)
        if single:
            return self.apply(list(obj))
        return _Applied(self, obj)

    def score_candidate(self, word_a, word_b, in_between):
        """gensim's: (joined phrase, score) when `word_a in_between... word_b` is a phrase (scores
        above the threshold), else (None, None)."""
        words = (word_a, *in_between, word_b)
        score = self._table().get(words)
        if score is None:
            return None, None
        return self.delimiter.join(words), score

    def find_phrases(self, sentences) -> dict:
        """{phrase: score} of the phrases that occur in `sentences`."""
        found = {}
        for s in _sentences(sentences):
            for tok, score in self.analyze_sentence(s):
                if score is not None:
                    found[tok] = score
        return found


class _Applied:
    """A corpus with phrases applied, re-read on each iteration."""

    def __init__(self, model, corpus):
        self.model, self.corpus = model, corpus

    def __iter__(self):
        apply = self.model.apply
        for s in _sentences(self.corpus):
            yield apply(list(s))


class Phrases(_Applier):
    """Learn phrases from a corpus (an iterable of token lists). See the module docstring.

    gensim's signature and defaults; progress_per is accepted and ignored (gensim logs progress
    every progress_per sentences)."""

    def __init__(self, sentences=None, min_count=5, threshold=10.0, max_vocab_size=40_000_000, delimiter="_",
                 progress_per=10000, scoring="default", connector_words=frozenset()):
        _check_settings(min_count, threshold, delimiter, scoring)
        if not isinstance(max_vocab_size, int) or max_vocab_size < 1:
            raise ValueError(f"max_vocab_size must be an integer >= 1, got {max_vocab_size!r}")
        self.min_count, self.threshold, self.delimiter = min_count, float(threshold), delimiter
        self.max_vocab_size, self.scoring = max_vocab_size, scoring
        self.progress_per = progress_per
        self.connector_words = frozenset(connector_words)
        self.word_ids = FirstSeenIds()                   # word -> id, the next id on first sight
        self.words = self.word_ids.words                 # id -> word (None once pruned)
        self.word_counts = np.zeros(0, dtype=np.int64)   # id -> count
        self.pair_keys = np.zeros(0, dtype=np.int64)     # sorted (id_a << 32 | id_b)
        self.pair_counts = np.zeros(0, dtype=np.int64)
        self._pending, self._pending_size = [], 0        # per-block counts not merged yet
        self.spans: dict = {}                            # with connector words: tuple of ids -> count
        self.corpus_word_count = 0
        self.min_reduce = 1
        self._cache = None
        if sentences is not None:
            self.add_vocab(sentences)

    # ------------------------------------------------------------------ counting
    def add_vocab(self, sentences):
        """Count the unigrams and bigrams (or connector spans) of more sentences."""
        lookup = self.word_ids.__getitem__
        buf = array("i")
        conn = self.connector_words
        for s in _sentences(sentences):
            s = list(s)
            row = list(map(lookup, s))
            buf.fromlist(row)
            buf.append(-1)
            if conn:
                self._count_spans(s, row)
            if len(buf) >= BLOCK_TOKENS:
                self._count_block(buf)
                buf = array("i")
        if len(buf):
            self._count_block(buf)
        self._merge_pending()
        self._cache = None
        return self

    def _count_spans(self, sentence, row):
        conn = self.connector_words
        n = len(sentence)
        for i in range(n):
            if sentence[i] in conn:
                continue
            j = i + 1
            while j < n and sentence[j] in conn:
                j += 1
            if j < n:
                key = tuple(row[i:j + 1])
                self.spans[key] = self.spans.get(key, 0) + 1

    def _count_block(self, buf):
        block = np.frombuffer(buf, dtype=np.int32)
        tokens = block[block >= 0]
        self.corpus_word_count += int(tokens.size)
        counts = np.bincount(tokens, minlength=len(self.words))
        if self.word_counts.size < counts.size:
            self.word_counts = np.concatenate([self.word_counts,
                                               np.zeros(counts.size - self.word_counts.size, np.int64)])
        self.word_counts[:counts.size] += counts
        if not self.connector_words:
            a, b = block[:-1], block[1:]
            valid = (a >= 0) & (b >= 0)
            keys = (a[valid].astype(np.int64) << 32) | b[valid].astype(np.int64)
            self._pending.append(np.unique(keys, return_counts=True))
            self._pending_size += self._pending[-1][0].size
            if self._pending_size > 8 * BLOCK_TOKENS:
                self._merge_pending()
        if len(self.word_ids) + self.pair_keys.size + self._pending_size + len(self.spans) > self.max_vocab_size:
            self._merge_pending()
            self._prune()

    def _merge_pending(self):
        """Merge the per-block bigram counts into the table (a few blocks at a time: the merge
        costs O(table), so merging after every block would dominate counting)."""
        if not self._pending:
            return
        all_keys = np.concatenate([self.pair_keys] + [k for k, _ in self._pending])
        all_counts = np.concatenate([self.pair_counts] + [c.astype(np.int64) for _, c in self._pending])
        self.pair_keys, inverse = np.unique(all_keys, return_inverse=True)
        self.pair_counts = np.bincount(inverse, weights=all_counts).astype(np.int64)
        self._pending, self._pending_size = [], 0

    def _prune(self):
        """Forget entries seen at most min_reduce times (word2phrase's ReduceVocab)."""
        keep = self.pair_counts > self.min_reduce
        self.pair_keys, self.pair_counts = self.pair_keys[keep], self.pair_counts[keep]
        self.spans = {k: c for k, c in self.spans.items() if c > self.min_reduce}
        for w, i in list(self.word_ids.items()):
            if self.word_counts[i] <= self.min_reduce:
                del self.word_ids[w]
                self.words[i] = None
                self.word_counts[i] = 0
        self.min_reduce += 1

    # ------------------------------------------------------------------ scoring
    def _len_vocab(self) -> int:
        """gensim's len(phrases.vocab): the distinct words counted, connector words left out, plus
        the distinct bigrams (with connector words: spans a c... b)."""
        words = int(np.count_nonzero(self.word_counts))
        ids = self.word_ids
        words -= sum(1 for w in self.connector_words if w in ids and self.word_counts[ids[w]] > 0)
        return words + (len(self.spans) if self.connector_words else int(self.pair_keys.size))

    def _scores(self, count_a, count_b, count_ab):
        rest = (self._len_vocab(), self.min_count, self.corpus_word_count)
        vectorised = _VECTORISED.get(self.scoring) if callable(self.scoring) else SCORERS[self.scoring]
        if vectorised is None:  # the user's function, called with ints as gensim calls it
            return np.array([self.scoring(int(a), int(b), int(ab), *rest)
                             for a, b, ab in zip(count_a.tolist(), count_b.tolist(), count_ab.tolist())],
                            dtype=np.float64)
        return vectorised(count_a.astype(np.float64), count_b.astype(np.float64), count_ab.astype(np.float64),
                          *rest)

    def _candidates(self):
        """(tuples of word ids, their scores) of every counted candidate."""
        if self.connector_words:
            keys = list(self.spans)
            if not keys:
                return [], np.zeros(0)
            first = np.array([k[0] for k in keys])
            last = np.array([k[-1] for k in keys])
            counts = np.array([self.spans[k] for k in keys], dtype=np.int64)
            return keys, self._scores(self.word_counts[first], self.word_counts[last], counts)
        a, b = self.pair_keys >> 32, self.pair_keys & _MASK
        scores = self._scores(self.word_counts[a], self.word_counts[b], self.pair_counts)
        return np.stack([a, b], axis=1), scores

    def _table(self) -> dict:
        # gensim scores each candidate when it is met, so settings changed after training count:
        # the cached table is of the settings it was made with
        settings = (self.threshold, self.min_count, self.scoring)
        if self._cache is None or self._cache[0] != settings:
            keys, scores = self._candidates()
            words = self.words
            self._cache = settings, {tuple(words[i] for i in k): float(s)
                                     for k, s in zip(keys, scores) if s > self.threshold
                                     and all(words[i] is not None for i in k)}
        return self._cache[1]

    @property
    def vocab(self) -> dict:
        """gensim's counts: {word or joined bigram (a_b, a_of_b with connector words): count}, connector
        words left out; computed on each access (w2v counts on integer ids)."""
        words, counts = self.words, self.word_counts
        out = {w: int(counts[i]) for i, w in enumerate(words)
               if w is not None and counts[i] > 0 and w not in self.connector_words}
        if self.connector_words:
            pairs = ((k, c) for k, c in self.spans.items())
        else:
            pairs = zip(np.stack([self.pair_keys >> 32, self.pair_keys & _MASK], axis=1).tolist(),
                        self.pair_counts.tolist())
        for key, c in pairs:
            if c > 0 and all(words[i] is not None for i in key):
                joined = self.delimiter.join(words[i] for i in key)
                out[joined] = out.get(joined, 0) + int(c)
        return out

    def export_phrases(self) -> dict:
        """{joined phrase: score} of every phrase above the threshold."""
        return {self.delimiter.join(k): s for k, s in self._table().items()}

    def freeze(self) -> "FrozenPhrases":
        """Only the phrases and their scores: small, and as fast to apply."""
        return FrozenPhrases(self)

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Counts and settings as numpy arrays + JSON in one .npz (written atomically)."""
        if callable(self.scoring):
            raise ValueError("a Phrases model with a callable scorer cannot be saved: freeze() it and save that")
        meta = {"format": "w2v.Phrases", "version": PHRASES_VERSION, "min_count": self.min_count, "threshold": self.threshold,
                "max_vocab_size": self.max_vocab_size, "delimiter": self.delimiter, "scoring": self.scoring,
                "connector_words": sorted(self.connector_words), "words": self.words,
                "corpus_word_count": self.corpus_word_count, "min_reduce": self.min_reduce,
                "spans": [[list(k), c] for k, c in self.spans.items()]}
        save_npz(path, {"word_counts": self.word_counts, "pair_keys": self.pair_keys,
                        "pair_counts": self.pair_counts}, meta)

    @staticmethod
    def load(path):
        """Load a Phrases or FrozenPhrases saved by w2v.

        A damaged file (bad zip or JSON, a CRC that does not match, arrays that disagree with the
        words, wrong types) raises w2v.errors.DamagedFileError (a ValueError and an EOFError)
        naming it; a newer format version PhrasesVersionError; a missing file FileNotFoundError.
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"phrases file not found: {path}")
        with open(path, "rb") as f:
            head = f.read(2)
        try:
            if head == b"PK":
                check_npz_sizes(path)
                with np.load(path, allow_pickle=False) as z:
                    meta = json.loads(bytes(z["meta"]).decode("utf-8"))
                    _need(isinstance(meta, dict) and meta.get("format", "w2v.Phrases") == "w2v.Phrases",
                          "not a Phrases model")
                    _check_version(path, meta)
                    arrays = {k: z[k] for k in ("word_counts", "pair_keys", "pair_counts")}
                return _checked_phrases(meta, arrays)
            with open(path, encoding="utf-8") as f:
                meta = json.load(f)
            _need(isinstance(meta, dict) and meta.get("format") == "w2v.FrozenPhrases", "unknown format")
            _check_version(path, meta)
            phrases = meta["phrases"]
            _need(isinstance(phrases, list) and all(
                isinstance(p, list) and len(p) >= 3 and all(isinstance(w, str) for w in p[:-1])
                and _is_number(p[-1]) for p in phrases), "phrases must be lists of words and a score")
            _need(isinstance(meta["delimiter"], str) and _is_words(meta["connector_words"])
                  and (meta["threshold"] is None or _is_number(meta["threshold"])), "settings")
            frozen = FrozenPhrases({tuple(p[:-1]): float(p[-1]) for p in phrases}, meta["delimiter"],
                                   meta["connector_words"], meta["threshold"])
            min_count, scoring = meta.get("min_count"), meta.get("scoring")
            _need((min_count is None or _is_int(min_count)) and (scoring is None or isinstance(scoring, str)),
                  "min_count or scoring")
            frozen.min_count, frozen.scoring = min_count, scoring
            return frozen
        except PhrasesVersionError:
            raise
        except PermissionError:
            raise
        except (ValueError, KeyError, OSError, EOFError, TypeError, AttributeError, IndexError,
                zipfile.BadZipFile, zlib.error, struct.error, NotImplementedError, OverflowError,
                RuntimeError) as e:  # RuntimeError: zipfile's "File ... is encrypted" (a flipped flag bit)
            raise DamagedFileError(f"not a w2v phrases file, or a damaged one: {path} "
                                   f"({type(e).__name__}: {e})") from None


def _need(cond, what):
    if not cond:
        raise ValueError(what)


def _is_int(x, low=0):
    return isinstance(x, int) and not isinstance(x, bool) and x >= low


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_words(x):
    return isinstance(x, list) and all(isinstance(w, str) for w in x)


def _checked_phrases(meta: dict, arrays: dict) -> "Phrases":
    """A Phrases model from a file's metadata and arrays, once they agree (ValueError if not)."""
    words = meta["words"]
    _need(isinstance(words, list) and all(w is None or isinstance(w, str) for w in words), "words")
    present = [w for w in words if w is not None]
    _need(len(set(present)) == len(present), "repeated words")
    n = len(words)
    word_counts, pair_keys, pair_counts = arrays["word_counts"], arrays["pair_keys"], arrays["pair_counts"]
    for name, a in arrays.items():
        _need(a.dtype == np.int64 and a.ndim == 1, f"{name} must be a 1-d int64 array")
    _need(word_counts.shape == (n,) and (word_counts >= 0).all(), "word_counts must be one count >= 0 per word")
    _need(pair_keys.shape == pair_counts.shape and (pair_counts >= 0).all(), "pair counts")
    _need(bool((np.diff(pair_keys) > 0).all()) and (pair_keys >= 0).all()
          and ((pair_keys >> 32) < n).all() and ((pair_keys & _MASK) < n).all(), "pair keys")
    spans = meta["spans"]
    _need(isinstance(spans, list) and all(
        isinstance(sc, list) and len(sc) == 2 and isinstance(sc[0], list) and len(sc[0]) >= 2
        and all(_is_int(i) and i < n for i in sc[0]) and _is_int(sc[1]) for sc in spans), "spans")
    _need(_is_int(meta["corpus_word_count"]) and _is_int(meta["min_reduce"], 1)
          and _is_int(meta["max_vocab_size"], 1) and _is_words(meta["connector_words"]), "counts or settings")
    _need(_is_number(meta["threshold"]) and _is_int(meta["min_count"]) and isinstance(meta["delimiter"], str)
          and isinstance(meta["scoring"], str), "settings")
    model = Phrases(min_count=meta["min_count"], threshold=meta["threshold"],
                    max_vocab_size=meta["max_vocab_size"], delimiter=meta["delimiter"],
                    scoring=meta["scoring"], connector_words=meta["connector_words"])
    model.word_ids.words[:] = words
    model.word_ids.update((w, i) for i, w in enumerate(words) if w is not None)
    model.word_counts, model.pair_keys, model.pair_counts = word_counts, pair_keys, pair_counts
    model.spans = {tuple(k): c for k, c in spans}
    model.corpus_word_count, model.min_reduce = meta["corpus_word_count"], meta["min_reduce"]
    return model


def _check_version(path, meta: dict) -> None:
    """Files written before versions were recorded are version 0; a newer one is refused."""
    version = meta.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"format version {version!r} is not a version number")
    if version > PHRASES_VERSION:
        raise PhrasesVersionError(f"{path} is a w2v phrases file of format version {version}; this w2v reads "
                                  f"versions up to {PHRASES_VERSION}: upgrade w2v")


class PhrasesVersionError(ValueError):
    """A phrases file from a newer w2v (not a damaged file: load() lets it through as it is)."""


class FrozenPhrases(_Applier):
    """The phrases of a trained Phrases model and their scores, for applying only.

    FrozenPhrases(phrases_model) as gensim (what Phrases.freeze() does), or w2v's own form
    FrozenPhrases({(word, ..., word): score}, delimiter, connector_words, threshold). As in gensim,
    a phrase applies while its score is above `threshold` (None: every phrase)."""

    def __init__(self, phrases_model, delimiter="_", connector_words=(), threshold=None):
        if isinstance(phrases_model, Phrases):
            model = phrases_model
            self._phrasegrams = dict(model._table())
            delimiter, connector_words, threshold = model.delimiter, model.connector_words, model.threshold
            self.min_count, self.scoring = model.min_count, model.scoring
        else:
            self._phrasegrams = {tuple(k): float(v) for k, v in dict(phrases_model).items()}
            self.min_count, self.scoring = None, None
        self.delimiter = delimiter
        self.connector_words = frozenset(connector_words)
        self.threshold = threshold
        self._cache = None

    @property
    def phrasegrams(self) -> dict:
        """gensim's: {joined phrase: score}, every phrase kept."""
        return {self.delimiter.join(k): s for k, s in self._phrasegrams.items()}

    def _table(self) -> dict:
        if self.threshold is None:
            return self._phrasegrams
        if self._cache is None or self._cache[0] != self.threshold:
            self._cache = self.threshold, {k: s for k, s in self._phrasegrams.items() if s > self.threshold}
        return self._cache[1]

    def export_phrases(self) -> dict:
        """{joined phrase: score} of the phrases that apply (w2v's; gensim's FrozenPhrases has none)."""
        return {self.delimiter.join(k): s for k, s in self._table().items()}

    def save(self, path):
        """JSON: the phrases with their scores (written atomically)."""
        doc = {"format": "w2v.FrozenPhrases", "version": PHRASES_VERSION, "delimiter": self.delimiter, "threshold": self.threshold,
               "connector_words": sorted(self.connector_words),
               "phrases": [list(k) + [s] for k, s in self._phrasegrams.items()]}
        if isinstance(self.min_count, int):
            doc["min_count"] = self.min_count
        if isinstance(self.scoring, str):
            doc["scoring"] = self.scoring
        with atomic_output(path, "w") as f:
            json.dump(doc, f)

    load = staticmethod(Phrases.load)


Phraser = FrozenPhrases  # gensim's older name


def phrase_passes(sentences, passes: int, min_count: int = 5, thresholds=(200.0, 100.0)):
    """Learn `passes` phrase models one on the output of the other (thresholds as word2phrase's
    demo: 200, then 100 for every later pass); returns the corpus with all of them applied
    (a restartable stream) and the frozen models."""
    if not isinstance(passes, int) or passes < 0:
        raise ValueError(f"the number of phrase passes must be an integer >= 0, got {passes!r}")
    models = []
    for p in range(passes):
        model = Phrases(sentences, min_count=min_count, threshold=thresholds[min(p, len(thresholds) - 1)],
                        scoring="word2phrase").freeze()
        models.append(model)
        sentences = model[sentences]
    return sentences, models


def phrased_corpus(corpus_file, passes: int, min_count: int = 5):
    """A corpus file with `passes` phrase passes applied: a restartable iterable of token lists."""
    return phrase_passes(corpus_mod.LineSentence(corpus_file), passes, min_count)[0]
