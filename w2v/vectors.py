"""KeyedVectors: trained vectors by word, and the queries on them (gensim's API).

Queries use the unit-normalised matrix, computed once and cached; assigning `vectors` drops the
cache, and code that edits `vectors` in place calls `fill_norms(force=True)`. A batch of queries
is one matrix product, and top-k is taken with argpartition, never a full sort. The analogy
arithmetic (3CosAdd, 3CosMul, top-k) is `w2v.evaluation`'s, shared with the batched analogy
evaluation; evaluation takes arrays and imports nothing of this module.
"""
from __future__ import annotations

import logging
import os
from numbers import Integral

import numpy as np

from . import evaluation, formats
from .evaluation import cos_add_scores, cos_mul_scores, top_k

logger = logging.getLogger(__name__)


def _as_list(value):
    """gensim's convention: a single key or 1-D vector means a list of one; None means none."""
    if value is None:
        return []
    if isinstance(value, (str, Integral)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return list(value)
    return list(value)


class KeyedVectors:
    """Word vectors: `vectors[i]` is the vector of `index_to_key[i]`.

    vectors: float32 array (V, vector_size); index_to_key: list of V words;
    key_to_index: dict word -> row; norms: float32 (V,) once `fill_norms()` ran.
    """

    def __init__(self, vector_size: int, index_to_key=(), vectors=None):
        self.vector_size = int(vector_size)
        self.index_to_key = list(index_to_key)
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        if vectors is None:
            vectors = np.zeros((len(self.index_to_key), self.vector_size), dtype=np.float32)
        self.vectors = vectors

    # ------------------------------------------------------------ storage and lookup
    @property
    def vectors(self):
        return self._vectors

    @vectors.setter
    def vectors(self, value):
        if not isinstance(value, np.ndarray) or value.dtype != np.float32:
            value = np.asarray(value, dtype=np.float32)
        if value.ndim != 2 or value.shape[1] != self.vector_size:
            raise ValueError(f"vectors must be (V, {self.vector_size}), got shape {value.shape}")
        self._vectors = value
        self.norms = None

    @property
    def norms(self):
        return self._norms

    @norms.setter
    def norms(self, value):
        # gensim's idiom for "vectors changed": `wv.norms = None` drops the cached matrix too
        self._norms = value
        if value is None:
            self._normed = None

    def fill_norms(self, force=False):
        """Compute `norms` (and the unit-normalised matrix) unless cached; force=True recomputes.

        Call with force=True after editing `vectors` in place (assigning a new array needs nothing).
        """
        if self._normed is not None and not force:
            return
        vectors = self._vectors
        norms = np.empty(len(vectors), dtype=np.float32)
        normed = np.empty(vectors.shape, dtype=np.float32)
        for start in range(0, len(vectors), 65536):
            # float64 per block: no overflow for huge values, little extra memory
            block = vectors[start: start + 65536].astype(np.float64)
            n = np.sqrt(np.einsum("ij,ij->i", block, block))
            norms[start: start + len(block)] = n
            # a zero vector stays zero (cosine 0 with everything) instead of becoming NaN
            normed[start: start + len(block)] = block / np.where(n > 0, n, 1.0)[:, None]
        self._norms = norms
        self._normed = normed

    def get_normed_vectors(self):
        """The unit-normalised matrix, float32 (V, d), cached: do not modify it."""
        self.fill_norms()
        return self._normed

    def unit_normalize_all(self):
        """Normalise `vectors` in place to unit length (irreversible: the norms are lost)."""
        self.fill_norms()
        if not self._vectors.flags.writeable:
            raise ValueError("vectors are read-only (memory-mapped): cannot normalise in place")
        self._vectors[...] = self._normed
        self.fill_norms(force=True)

    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, key):
        return key in self.key_to_index

    def has_index_for(self, key):
        return key in self.key_to_index

    def get_index(self, key, default=None):
        """Row of `key` (a word; an int in range is its own row); KeyError naming the word."""
        index = self.key_to_index.get(key) if isinstance(key, str) else None
        if index is not None:
            return index
        if isinstance(key, Integral) and not isinstance(key, bool) and 0 <= key < len(self):
            return int(key)
        if default is not None:
            return default
        raise KeyError(f"word {key!r} not in vocabulary")

    def get_vector(self, key, norm=False):
        index = self.get_index(key)
        if norm:
            return self.get_normed_vectors()[index]
        return self._vectors[index]

    def __getitem__(self, key):
        if isinstance(key, (str, Integral)):
            return self.get_vector(key)
        return self._vectors[[self.get_index(k) for k in key]]

    # ------------------------------------------------------------ similarity queries
    def _query(self, positive, negative):
        """The 3CosAdd terms (T, d), their weights (T,) and the rows of the query words.

        Words count as their unit vectors, given vectors as they are; (item, weight) pairs
        override the default weight (1 positive, -1 negative), as in gensim.
        """
        items = [(p, 1.0) for p in _as_list(positive)] + [(n, -1.0) for n in _as_list(negative)]
        if not items:
            raise ValueError("cannot compute similarity with no input")
        normed = self.get_normed_vectors()
        terms, weights, rows = [], [], []
        for item, weight in items:
            if isinstance(item, tuple):
                item, weight = item
            if isinstance(item, np.ndarray):
                vec = item
                if vec.shape != (self.vector_size,):
                    raise ValueError(f"query vector must have shape ({self.vector_size},), "
                                     f"got {vec.shape}")
            else:
                row = self.get_index(item)
                rows.append(row)
                vec = normed[row]
            terms.append(vec)
            weights.append(weight)
        return np.stack(terms), np.array(weights, dtype=np.float64), rows

    def _ranked(self, scores, exclude, topn):
        """[(word, score)] of the `topn` best of `scores` (V',) leaving out the rows `exclude`."""
        exclude = set(exclude)
        best = top_k(scores[None, :], topn + len(exclude))[0]
        out = [(self.index_to_key[i], float(scores[i])) for i in best.tolist() if i not in exclude]
        return out[:topn]

    def most_similar(self, positive=(), negative=(), topn=10, restrict_vocab=None):
        """Words closest by cosine to the mean of the unit `positive` minus `negative` (3CosAdd).

        positive/negative: words, vectors, or (word or vector, weight) pairs; a single word or
        vector is accepted. The query words are left out of the result. restrict_vocab: search
        only the first N words. topn=None returns the cosines of all (searched) words.
        Returns [(word, cosine)], best first.
        """
        if isinstance(topn, Integral) and topn < 1:
            return []
        terms, weights, rows = self._query(positive, negative)
        searched = self.get_normed_vectors()[:restrict_vocab or None]
        scores = cos_add_scores(searched, terms[None], weights)[0]
        if not topn:
            return scores
        return self._ranked(scores, rows, int(topn))

    def most_similar_batch(self, queries, topn=10, restrict_vocab=None):
        """most_similar for many single-word or single-vector queries in one matrix product.

        queries: a list of words, or a float array (B, d). Returns one [(word, cosine)] list per
        query (a word query leaves out the word itself).
        """
        normed = self.get_normed_vectors()
        if isinstance(queries, np.ndarray):
            q = np.atleast_2d(queries).astype(np.float32)
            q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
            own = [None] * len(q)
        else:
            own = [self.get_index(w) for w in queries]
            q = normed[own]
        searched = normed[:restrict_vocab or None]
        results = []
        block = max(1, min(1024, (1 << 26) // max(1, len(searched))))
        for start in range(0, len(q), block):
            scores = q[start: start + block] @ searched.T
            best = top_k(scores, topn + 1)
            for j, row in enumerate(best.tolist()):
                skip = own[start + j]
                hits = [(self.index_to_key[i], float(scores[j, i])) for i in row if i != skip]
                results.append(hits[:topn])
        return results

    def most_similar_cosmul(self, positive=(), negative=(), topn=10, restrict_vocab=None):
        """3CosMul (Levy and Goldberg 2014): product of positive cosines over the product of
        negative ones, each shifted to [0, 1] as (1 + cos) / 2, with 1e-6 added below.

        Given vectors are normalised first; unlike gensim, restrict_vocab is honoured.
        """
        if isinstance(topn, Integral) and topn < 1:
            return []
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive:
            raise ValueError("cannot compute similarity with no input")
        normed = self.get_normed_vectors()
        searched = normed[:restrict_vocab or None]
        rows = []

        def unit(item):
            if isinstance(item, np.ndarray):
                return item / max(float(np.linalg.norm(item)), 1e-30)
            rows.append(self.get_index(item))
            return normed[rows[-1]]

        pos = np.stack([unit(p) for p in positive]).astype(np.float32)
        neg = np.array([unit(n) for n in negative], dtype=np.float32).reshape(len(negative), self.vector_size)
        scores = cos_mul_scores(searched, pos[None], neg[None])[0]
        if not topn:
            return scores
        return self._ranked(scores, rows, int(topn))

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_key = similar_by_word

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[np.asarray(vector, dtype=np.float32)], topn=topn,
                                 restrict_vocab=restrict_vocab)

    def similarity(self, w1, w2):
        """Cosine similarity of two words."""
        normed = self.get_normed_vectors()
        return float(normed[self.get_index(w1)] @ normed[self.get_index(w2)])

    def n_similarity(self, ws1, ws2):
        """Cosine similarity of the means of two word lists (raw vectors, as gensim)."""
        if not (len(ws1) and len(ws2)):
            raise ValueError("n_similarity needs two non-empty word lists")
        m1 = self[list(ws1)].mean(axis=0)
        m2 = self[list(ws2)].mean(axis=0)
        denom = float(np.linalg.norm(m1) * np.linalg.norm(m2))
        return float(m1 @ m2) / denom if denom > 0 else 0.0

    def distance(self, w1, w2):
        """Cosine distance, 1 - similarity."""
        return 1.0 - self.similarity(w1, w2)

    def distances(self, word_or_vector, other_words=()):
        """Cosine distances (float32 array) from a word or vector to `other_words` (default: all)."""
        normed = self.get_normed_vectors()
        if isinstance(word_or_vector, np.ndarray):
            query = word_or_vector / max(float(np.linalg.norm(word_or_vector)), 1e-30)
        else:
            query = normed[self.get_index(word_or_vector)]
        others = normed[[self.get_index(w) for w in other_words]] if len(other_words) else normed
        return (1 - others @ query.astype(np.float32)).astype(np.float32)

    def closer_than(self, key1, key2):
        """Words closer to `key1` than `key2` is (key1 itself left out), in vocabulary order."""
        normed = self.get_normed_vectors()
        i1, i2 = self.get_index(key1), self.get_index(key2)
        sims = normed @ normed[i1]
        closer = np.flatnonzero(sims > sims[i2])
        return [self.index_to_key[i] for i in closer.tolist() if i != i1]

    def rank(self, key1, key2):
        """1 + how many words are closer to `key1` than `key2` is."""
        return len(self.closer_than(key1, key2)) + 1

    def doesnt_match(self, words):
        """The word farthest from the mean of the words' unit vectors (unknown words ignored,
        with a warning, as gensim does)."""
        words = list(words)
        used = [w for w in words if w in self.key_to_index]
        if len(used) != len(words):
            logger.warning("ignoring words not in the vocabulary: %s",
                           sorted(set(words) - set(used)))
        if not used:
            raise ValueError("cannot select a word from an empty list")
        unit = self.get_normed_vectors()[[self.key_to_index[w] for w in used]]
        mean = unit.mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-30)
        return min(zip((unit @ mean).tolist(), used))[1]

    # ------------------------------------------------------------ word classes (w2v.clustering)
    def cluster(self, k, iterations=10, seed=1):
        """Word classes by spherical (cosine) K-means, word2vec.c's `-classes`: K-means++ from
        `seed`, then `iterations` Lloyd iterations on the unit-normalised vectors.

        Returns (classes, centroids): classes int64 (V,), the class 0..k-1 of `index_to_key[i]`;
        centroids float32 (k, vector_size), unit length. ValueError for k < 1, k > len(self), or
        vectors with NaN/infinity. See w2v.clustering.
        """
        from .clustering import spherical_kmeans

        return spherical_kmeans(self._vectors, k, iterations=iterations, seed=seed)

    # ------------------------------------------------------------ evaluation (w2v.evaluation)
    def evaluate_word_analogies(self, analogies=None, restrict_vocab=300000, case_insensitive=True,
                                dummy4unknown=False, method="add"):
        """gensim's analogy evaluation, batched: (accuracy, sections); see w2v.evaluation."""
        return evaluation.evaluate_word_analogies(
            self.get_normed_vectors(), self.index_to_key, analogies, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
            dummy4unknown=dummy4unknown, method=method)

    def evaluate_word_pairs(self, pairs=None, delimiter="\t", encoding="utf8", restrict_vocab=300000,
                            case_insensitive=True, dummy4unknown=False):
        """gensim's word-pair evaluation: ((pearson, p), (spearman, p), oov percent)."""
        return evaluation.evaluate_word_pairs(
            self.get_normed_vectors(), self.index_to_key, pairs, delimiter=delimiter, encoding=encoding, restrict_vocab=restrict_vocab,
            case_insensitive=case_insensitive, dummy4unknown=dummy4unknown)

    # ------------------------------------------------------------ files
    def save_word2vec_format(self, path, binary=False):
        formats.save_word2vec_format(path, self.index_to_key, self._vectors, binary=binary)

    @classmethod
    def load_word2vec_format(cls, path, binary=False, limit=None, unicode_errors="strict",
                             encoding="utf8"):
        """Read a word2vec.c text (binary=False) or binary file; binary=None detects which.

        A damaged or truncated file raises w2v.errors.DamagedFileError (a ValueError and an
        EOFError) naming the file and where; a missing one FileNotFoundError."""
        keys, vectors = formats.read_word2vec_format(path, binary=binary, limit=limit,
                                                     unicode_errors=unicode_errors,
                                                     encoding=encoding)
        return cls(vectors.shape[1], keys, vectors)

    def save(self, path):
        """Write the native format (.npz: vectors.npy + keys.json, no pickle), atomically."""
        formats.save_native(path, self.index_to_key, self._vectors)

    @classmethod
    def load(cls, path, mmap=None):
        """Read the native format; mmap='r' maps the vectors read-only instead of reading them.

        A normal load verifies the vectors' CRC-32; a mapped load checks the header and the
        shapes only: the values are not verified. Damage raises w2v.errors.DamagedFileError."""
        keys, vectors = formats.load_native(path, mmap=mmap)
        return cls(vectors.shape[1], keys, vectors)

    def __repr__(self):
        return f"<KeyedVectors: {len(self)} words, vector_size {self.vector_size}>"


def load_vectors(path, format=None, limit=None, unicode_errors="strict", mmap=None):
    """Load any vectors file: format 'text', 'binary', 'native' or None (extension or sniffing)."""
    path = os.fspath(path)
    fmt = format or formats.detect_format(path)
    if fmt not in formats.FORMATS:
        raise ValueError(f"unknown vectors format {fmt!r} (expected one of {formats.FORMATS})")
    if fmt == "native":
        kv = KeyedVectors.load(path, mmap=mmap)
        if limit is not None:
            kv = KeyedVectors(kv.vector_size, kv.index_to_key[:limit], kv.vectors[:limit])
        return kv
    return KeyedVectors.load_word2vec_format(path, binary=fmt == "binary", limit=limit,
                                             unicode_errors=unicode_errors)


def save_vectors(kv, path, format=None):
    """Save in format 'text', 'binary' or 'native'; None: from the extension (.txt/.vec, .bin, .npz)."""
    path = os.fspath(path)
    fmt = format or formats.format_from_extension(path)
    if fmt is None:
        raise ValueError(f"cannot tell the output format from the name {path!r}: use a .txt, "
                         f".vec, .bin or {formats.NATIVE_SUFFIX} name, or give the format")
    if fmt == "native":
        kv.save(path)
    elif fmt in ("text", "binary"):
        kv.save_word2vec_format(path, binary=fmt == "binary")
    else:
        raise ValueError(f"unknown vectors format {fmt!r} (expected one of {formats.FORMATS})")
