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
import warnings
from numbers import Integral

import numpy as np

from . import evaluation, formats
from .errors import EmptyListError
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


def _is_float_type(dtype):
    try:
        return np.dtype(dtype).kind == "f"
    except TypeError:
        return False


class KeyedVectors:
    """Word vectors: `vectors[i]` is the vector of `index_to_key[i]` (gensim's KeyedVectors).

    vectors: (V, vector_size) array of the instance's float type (float32 unless another was
    asked for); index_to_key: list of V words; key_to_index: dict word -> row; norms: (V,)
    once `fill_norms()` ran; expandos: per-word attributes ('count', ...), one array each, read
    and written with get_vecattr / set_vecattr.

    KeyedVectors(vector_size, count=0, dtype=np.float32) is gensim's constructor: `count` empty
    slots that add_vector fills in order. w2v's own form KeyedVectors(vector_size, keys, vectors)
    (a list of words where gensim has `count`, then their vectors) builds a filled instance.
    Keys are words (str) or ints, as in gensim; an int that is not a key stands for its row.
    """

    def __init__(self, vector_size, count=0, dtype=np.float32, mapfile_path=None):
        index_to_key = vectors = None
        if not isinstance(count, Integral):  # w2v's form: (vector_size, keys[, vectors])
            index_to_key, count = count, 0
            if dtype is None or not _is_float_type(dtype):
                vectors, dtype = dtype, np.float32
        if isinstance(vector_size, bool) or not isinstance(vector_size, Integral) or vector_size < 0:
            raise ValueError(f"vector_size must be an integer >= 0, got {vector_size!r}")
        if count < 0:
            raise ValueError(f"count must be an integer >= 0, got {count!r}")
        if not _is_float_type(dtype):
            raise ValueError(f"dtype must be a float type (np.float16, np.float32, np.float64), "
                             f"got {dtype!r}")
        self.vector_size = int(vector_size)
        self._dtype = np.dtype(dtype)
        self.mapfile_path = mapfile_path  # unused, as in gensim
        self.expandos = {}
        self._normed = None
        if index_to_key is not None:
            self.index_to_key = list(index_to_key)
            self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
            self.next_index = len(self.index_to_key)
            if vectors is None:
                vectors = np.zeros((len(self.index_to_key), self.vector_size), dtype=self._dtype)
        else:
            self.index_to_key = [None] * int(count)
            self.key_to_index = {}
            self.next_index = 0  # the slot that add_vector fills next
            vectors = np.zeros((int(count), self.vector_size), dtype=self._dtype)
        self.vectors = vectors

    @classmethod
    def _of_dtype(cls, keys, vectors, counts=None):
        """An instance holding `keys` and their `vectors`, whose dtype it keeps; 'count' if given."""
        kv = cls(vectors.shape[1], 0, vectors.dtype)
        kv.index_to_key = list(keys)
        kv.key_to_index = {w: i for i, w in enumerate(kv.index_to_key)}
        kv.next_index = len(kv.index_to_key)
        kv.vectors = vectors
        if counts is not None:
            kv.expandos["count"] = np.asarray(counts, dtype=np.int64)
        return kv

    # ------------------------------------------------------------ storage and lookup
    @property
    def vectors(self):
        return self._vectors

    @vectors.setter
    def vectors(self, value):
        if not isinstance(value, np.ndarray) or value.dtype != self._dtype:
            value = np.asarray(value, dtype=self._dtype)
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
        out_dtype = np.result_type(vectors.dtype, np.float32)  # float16 is queried in float32
        norms = np.empty(len(vectors), dtype=out_dtype)
        normed = np.empty(vectors.shape, dtype=out_dtype)
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
        """The unit-normalised matrix, (V, d), cached: do not modify it."""
        self.fill_norms()
        return self._normed

    def unit_normalize_all(self):
        """Normalise `vectors` in place to unit length (irreversible: the norms are lost)."""
        self.fill_norms()
        if not self._vectors.flags.writeable:
            raise ValueError("vectors are read-only (memory-mapped): cannot normalise in place")
        self._vectors[...] = self._normed
        self.fill_norms(force=True)

    def init_sims(self, replace=False):
        """gensim 3's name: fill_norms(); replace=True also unit_normalize_all()."""
        warnings.warn("init_sims() is deprecated (as in gensim 4): use fill_norms()",
                      DeprecationWarning, stacklevel=2)
        self.fill_norms()
        if replace:
            self.unit_normalize_all()

    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, key):
        return self.has_index_for(key)

    def has_index_for(self, key):
        """True if `key` has a row: a word of the vocabulary, or an int in range (gensim's rule)."""
        return self.get_index(key, -1) >= 0

    def get_index(self, key, default=None):
        """Row of `key`: a key's own row; else an int in range is that row (gensim's rule: an int
        key that was added wins over the row of that number). KeyError naming the key."""
        index = self.key_to_index.get(key) if isinstance(key, (str, Integral)) and not isinstance(key, bool) \
            else None
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

    def word_vec(self, *args, **kwargs):
        """gensim 3's name for get_vector."""
        warnings.warn("word_vec() is deprecated (as in gensim 4): use get_vector()",
                      DeprecationWarning, stacklevel=2)
        return self.get_vector(*args, **kwargs)

    def __getitem__(self, key):
        if isinstance(key, (str, Integral)):
            return self.get_vector(key)
        return self._vectors[[self.get_index(k) for k in key]]

    # ------------------------------------------------------------ per-word attributes
    def allocate_vecattrs(self, attrs=None, types=None):
        """Make the attribute arrays `attrs` (of `types`) exist, one value per row of
        index_to_key; with no arguments, resize every existing one (new rows get 0)."""
        if attrs is None:
            attrs = list(self.expandos)
            types = [self.expandos[a].dtype for a in attrs]
        attrs, types = list(attrs), list(types)
        if len(attrs) != len(types):
            raise ValueError(f"{len(attrs)} attribute names but {len(types)} types")
        size = len(self.index_to_key)
        for attr, t in zip(attrs, types):
            if t is int:
                t = np.int64  # not the platform's C long
            elif t is str:
                t = object  # not numpy's fixed-width strings
            if attr not in self.expandos:
                self.expandos[attr] = np.zeros(size, dtype=t)
                continue
            prev = self.expandos[attr]
            if not np.issubdtype(t, prev.dtype):
                raise TypeError(f"cannot store {np.dtype(t)} values in attribute {attr!r}, which "
                                f"holds {prev.dtype} values")
            if len(prev) != size:
                grown = np.zeros(size, dtype=prev.dtype)
                grown[: min(len(prev), size)] = prev[: min(len(prev), size)]
                self.expandos[attr] = grown

    def set_vecattr(self, key, attr, val):
        """Set attribute `attr` (such as 'count') of `key` to `val`; the first value set for an
        attribute fixes its type."""
        self.allocate_vecattrs(attrs=[attr], types=[type(val)])
        self.expandos[attr][self.get_index(key)] = val

    def get_vecattr(self, key, attr):
        """Attribute `attr` of `key`; KeyError naming the attribute if none was ever set."""
        index = self.get_index(key)
        if attr not in self.expandos:
            raise KeyError(f"no attribute {attr!r} is set for these vectors (set_vecattr(key, "
                           f"{attr!r}, value) sets one; load_word2vec_format sets 'count')")
        return self.expandos[attr][index]

    def sort_by_descending_frequency(self):
        """Reorder the rows by descending 'count' (gensim's order: equal counts, later row first)."""
        if not len(self):
            return
        if "count" not in self.expandos:
            raise KeyError("sort_by_descending_frequency needs the 'count' attribute: "
                           "set_vecattr(key, 'count', n) or load_word2vec_format sets it")
        self.allocate_vecattrs()
        counts = np.asarray(self.expandos["count"], dtype=np.int64)
        order = np.lexsort((-np.arange(len(counts)), -counts))
        self.index_to_key = [self.index_to_key[i] for i in order.tolist()]
        for attr in self.expandos:
            self.expandos[attr] = self.expandos[attr][order]
        if len(self._vectors):
            self.vectors = self._vectors[order]
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key) if w is not None}

    # ------------------------------------------------------------ adding vectors
    def resize_vectors(self, seed=0):
        """Make `vectors` match index_to_key's length; new rows are uniform in
        [-1/vector_size, 1/vector_size) from numpy's default_rng(seed), as gensim draws them."""
        shape = (len(self.index_to_key), self.vector_size)
        if self._vectors.shape != shape:
            rng = np.random.default_rng(seed=seed)
            fresh = rng.random(shape, dtype=np.float32)  # gensim's draw, in float32
            fresh *= 2.0
            fresh -= 1.0
            fresh /= self.vector_size
            old = self._vectors[: shape[0]]
            fresh = fresh.astype(self._dtype, copy=False)
            fresh[: len(old)] = old
            self.vectors = fresh
        self.allocate_vecattrs()
        self.norms = None

    def add_vector(self, key, vector):
        """Add `key` with `vector` in the next empty slot (KeyedVectors(d, count) makes them), or
        at the end, growing every array (costly one at a time: gensim warns too). Returns its row."""
        key = self._checked_key(key)
        vector = np.asarray(vector)
        if vector.shape != (self.vector_size,):
            raise ValueError(f"vector must have shape ({self.vector_size},), got {vector.shape}")
        target = self.next_index
        if target >= len(self) or self.index_to_key[target] is not None:
            target = len(self)
            warnings.warn("Adding single vectors to a KeyedVectors which grows by one each time can "
                          "be costly. Consider adding in batches or preallocating to the required "
                          "size.", UserWarning, stacklevel=2)
            self.add_vectors([key], vector[None])
            self.next_index = target + 1
        else:
            self.index_to_key[target] = key
            self.key_to_index[key] = target
            self._vectors[target] = vector
            self.norms = None
            self.next_index += 1
        return target

    @staticmethod
    def _checked_key(key):
        """A key as stored: a str, or an int (gensim's other key type; numpy ints become int)."""
        if isinstance(key, str):
            return key
        if isinstance(key, Integral) and not isinstance(key, bool):
            return int(key)
        raise TypeError(f"keys must be str or int, as in gensim; got {type(key).__name__} {key!r}")

    def add_vectors(self, keys, weights, extras=None, replace=False):
        """Append `keys` with their `weights` (one row each); a key already present keeps its
        vector unless replace=True. extras: {attribute: array of one value per key}.

        A key repeated within `keys` counts as present after its first occurrence, as if the
        keys were added one by one (gensim adds it twice, leaving two rows for one key).
        """
        if isinstance(keys, (str, Integral)):
            keys = [keys]
            weights = np.asarray(weights).reshape(1, -1)
        keys = [self._checked_key(key) for key in keys]
        weights = np.asarray(weights)
        if weights.ndim != 2 or weights.shape != (len(keys), self.vector_size):
            raise ValueError(f"weights must be ({len(keys)}, {self.vector_size}) for {len(keys)} "
                             f"keys, got shape {weights.shape}")
        extras = {attr: np.asarray(v) for attr, v in (extras or {}).items()}
        for attr, values in extras.items():
            if values.shape[:1] != (len(keys),):
                raise ValueError(f"extras[{attr!r}] must hold one value per key ({len(keys)}), "
                                 f"got shape {values.shape}")
        self.allocate_vecattrs(list(extras), [v.dtype for v in extras.values()])
        new_pos, replaced = [], {}  # positions in keys of new rows; row -> last position
        first = len(self.index_to_key)
        for i, key in enumerate(keys):
            row = self.key_to_index.get(key)
            if row is None:
                row = first + len(new_pos)
                self.key_to_index[key] = row
                self.index_to_key.append(key)
                new_pos.append(i)
            else:
                replaced[row] = i
        if new_pos:
            self.vectors = np.concatenate((self._vectors, weights[new_pos].astype(self._dtype)))
            self.allocate_vecattrs()
            for attr, values in extras.items():
                self.expandos[attr][first:] = values[new_pos]
        if replace and replaced:
            rows, pos = list(replaced), list(replaced.values())
            self._vectors[rows] = weights[pos]
            for attr, values in extras.items():
                self.expandos[attr][rows] = values[pos]
            self.norms = None

    def __setitem__(self, keys, weights):
        """kv[key] = vector, kv[[keys]] = vectors: add_vectors with replace=True."""
        if not isinstance(keys, list):
            keys = [keys]
            weights = np.asarray(weights).reshape(1, -1)
        self.add_vectors(keys, weights, replace=True)

    def vectors_for_all(self, keys, allow_inference=True, copy_vecattrs=False):
        """A new KeyedVectors of the given keys that have vectors, each once, in the given order.
        As gensim: with allow_inference, an int key in range that is not a key takes that row.

        Its 'count' is made up as gensim does (len, len - 1, ...) unless copy_vecattrs=True copies
        every attribute. allow_inference=False: only keys, no rows by number.
        """
        vocab, seen = [], set()
        for key in keys:
            if key not in seen:
                seen.add(key)
                if (key in self) if allow_inference else (key in self.key_to_index):
                    vocab.append(key)
        rows = [self.get_index(k) for k in vocab]
        kv = KeyedVectors._of_dtype(vocab, self._vectors[rows].astype(self._dtype))
        kv.expandos["count"] = np.arange(len(vocab), 0, -1, dtype=np.int64)
        if copy_vecattrs:
            self.allocate_vecattrs()
            for attr, values in self.expandos.items():
                kv.expandos[attr] = values[rows]
        return kv

    def __str__(self):
        return f"{self.__class__.__name__}<vector_size={self.vector_size}, {len(self)} keys>"

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

    def _ranked(self, scores, exclude, topn, offset=0):
        """[(word, score)] of the `topn` best of `scores` (V',) leaving out the rows `exclude`;
        scores[i] is row offset + i."""
        exclude = {r - offset for r in exclude}
        best = top_k(scores[None, :], topn + len(exclude))[0]
        out = [(self.index_to_key[i + offset], float(scores[i])) for i in best.tolist()
               if i not in exclude]
        return out[:topn]

    def most_similar(self, positive=None, negative=None, topn=10, clip_start=0, clip_end=None,
                     restrict_vocab=None, indexer=None):
        """Words closest by cosine to the mean of the unit `positive` minus `negative` (3CosAdd).

        positive/negative: words, vectors, or (word or vector, weight) pairs; a single word or
        vector is accepted. The query words are left out of the result. Only rows
        clip_start:clip_end are searched; restrict_vocab=N searches the first N words (and
        overrides the clips). topn=None returns the cosines of all searched words.
        indexer: an approximate index asked instead of the exact search when topn is an int:
        any object with most_similar(unit query vector, n) -> [(word, cosine)] best first
        (gensim's protocol: w2v.index's HnswIndexer and NNDescentIndexer, gensim's AnnoyIndexer).
        Its answers are filtered as the exact search's are: query words and words outside the
        clips left out (gensim returns the indexer's answer as is).
        Returns [(word, cosine)], best first.
        """
        if isinstance(topn, Integral) and topn < 1:
            return []
        terms, weights, rows = self._query(positive, negative)
        clip_end = clip_end or len(self._vectors)
        if restrict_vocab:
            clip_start, clip_end = 0, restrict_vocab
        if indexer is not None and isinstance(topn, Integral):
            total = weights @ terms.astype(np.float64)
            norm = float(np.linalg.norm(total))
            unit = (total / (norm if norm > 0 else 1.0)).astype(np.float32)
            return self._ask_indexer(indexer, unit, rows, int(topn), clip_start, clip_end)
        searched = self.get_normed_vectors()[clip_start:clip_end]
        scores = cos_add_scores(searched, terms[None], weights)[0]
        if not topn:
            return scores
        return self._ranked(scores, rows, int(topn), offset=clip_start)

    def _ask_indexer(self, indexer, unit, exclude_rows, topn, clip_start, clip_end):
        """The indexer's `topn` best for `unit` that are not query words and lie in the clips:
        asks for topn + the query words, and for twice as many while filtering leaves too few."""
        exclude = {self.index_to_key[r] for r in exclude_rows}
        clipped = clip_start > 0 or clip_end < len(self)

        def kept(key):
            if key in exclude:
                return False
            return not clipped or clip_start <= self.key_to_index.get(key, -1) < clip_end

        asked = topn + len(exclude)
        while True:
            hits = list(indexer.most_similar(unit, asked))
            out = [(key, float(sim)) for key, sim in hits if kept(key)]
            if len(out) >= topn or len(hits) < asked or asked >= len(self):
                return out[:topn]
            asked = min(2 * asked, len(self))

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

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
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

    def similar_by_key(self, key, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[key], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        return self.similar_by_key(word, topn, restrict_vocab)

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[np.asarray(vector, dtype=np.float32)], topn=topn,
                                 restrict_vocab=restrict_vocab)

    def similarity(self, w1, w2):
        """Cosine similarity of two words."""
        normed = self.get_normed_vectors()
        return float(normed[self.get_index(w1)] @ normed[self.get_index(w2)])

    def n_similarity(self, ws1, ws2):
        """Cosine similarity of the means of two word lists (raw vectors, as gensim); unknown
        words are left out, as gensim's get_mean_vector does (none known: 0.0). An empty list
        raises EmptyListError, a ValueError and gensim's ZeroDivisionError."""
        if not (len(ws1) and len(ws2)):
            raise EmptyListError("n_similarity needs two non-empty word lists")
        m1 = self.get_mean_vector(ws1, pre_normalize=False).astype(np.float64)
        m2 = self.get_mean_vector(ws2, pre_normalize=False).astype(np.float64)
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

    def words_closer_than(self, word1, word2):
        """gensim's deprecated name for closer_than."""
        warnings.warn("words_closer_than() is deprecated (as in gensim 4): use closer_than()",
                      DeprecationWarning, stacklevel=2)
        return self.closer_than(word1, word2)

    def most_similar_to_given(self, key1, keys_list):
        """The key of `keys_list` most similar to `key1` (the first of equals)."""
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    def relative_cosine_similarity(self, wa, wb, topn=10):
        """similarity(wa, wb) over the sum of the cosines of wa's `topn` nearest words
        (Leeuwenberg et al. 2016, eq. 1)."""
        sims = self.similar_by_word(wa, topn)
        if not sims:
            raise ValueError("Cannot calculate relative cosine similarity without any similar words.")
        return float(self.similarity(wa, wb)) / sum(sim for _, sim in sims)

    @staticmethod
    def cosine_similarities(vector_1, vectors_all):
        """Cosine of `vector_1` (d,) with each row of `vectors_all` (n, d): (n,) (NaN for a zero
        vector, as gensim)."""
        norm = np.linalg.norm(vector_1)
        all_norms = np.linalg.norm(vectors_all, axis=1)
        return np.dot(vectors_all, vector_1) / (norm * all_norms)

    def rank_by_centrality(self, words, use_norm=True):
        """[(cosine, word)] of the known `words` with the normalised mean of their vectors (unit
        vectors with use_norm), most central first; unknown words ignored with a warning."""
        used = [w for w in words if w in self]
        if len(used) != len(words):
            logger.warning("ignoring words not in the vocabulary: %s", set(words) - set(used))
        if not used:
            raise ValueError("cannot select a word from an empty list")
        vectors = np.vstack([self.get_vector(w, norm=use_norm) for w in used]).astype(np.float32)
        mean = vectors.astype(np.float64).mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-30)
        dists = vectors @ mean.astype(np.float32)
        return sorted(zip(dists.tolist(), used), reverse=True)

    def get_mean_vector(self, keys, weights=None, pre_normalize=True, post_normalize=False,
                        ignore_missing=True):
        """Weighted mean of the keys' vectors (unit vectors with pre_normalize) divided by the sum
        of |weights|; keys may be words, rows or vectors (used as given). Unknown keys are skipped,
        or a KeyError with ignore_missing=False. post_normalize: unit length (float32)."""
        if len(keys) == 0:
            raise ValueError("cannot compute mean with no input")
        if isinstance(weights, list):
            weights = np.array(weights, dtype=self._dtype)
        if weights is None:
            weights = np.ones(len(keys), dtype=self._dtype)
        if len(keys) != weights.shape[0]:
            raise ValueError("keys and weights array must have same number of elements")
        mean = np.zeros(self.vector_size, self._dtype)
        total_weight = 0
        for idx, key in enumerate(keys):
            if isinstance(key, np.ndarray):
                mean += weights[idx] * key
                total_weight += abs(weights[idx])
            elif key in self:
                mean += weights[idx] * self.get_vector(key, norm=pre_normalize)
                total_weight += abs(weights[idx])
            elif not ignore_missing:
                raise KeyError(f"word {key!r} not in vocabulary")
        if total_weight > 0:
            mean = mean / total_weight
        if post_normalize:
            norm = float(np.linalg.norm(mean))
            mean = (mean / norm if norm > 0 else mean).astype(np.float32)
        return mean

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

    # ------------------------------------------------------------ pictures (w2v.plot, [plot] extra)
    def plot_map(self, words=None, *, top=None, method="pca", normalize=True, seed=1, groups=None, **kwargs):
        """A 2-D map of `words` (or of the `top` first words, the most frequent in a trained
        model): a matplotlib Figure; save it with w2v.plot.save_figure or fig.savefig.

        method: "pca" (default), "tsne" (scikit-learn) or "umap" (umap-learn); normalize=True
        projects the unit vectors. Words not in the vocabulary are left out with a warning.
        groups: a group name per word, colouring the points. Other keywords (size, dpi, title,
        spread_labels) go to w2v.plot.plot_map. Needs matplotlib: pip install 'w2v[plot]'."""
        from . import plot

        if (words is None) == (top is None):
            raise ValueError("give either words or top (the number of most frequent words)")
        if words is None:
            if top < 2:
                raise ValueError(f"top must be >= 2 words for a map, got {top}")
            words = self.index_to_key[:top]
        else:
            words = list(words)
            missing = sorted({w for w in words if w not in self.key_to_index})
            if missing:
                logger.warning("ignoring words not in the vocabulary: %s", missing)
                if groups is not None:
                    groups = [g for w, g in zip(words, groups) if w in self.key_to_index]
                words = [w for w in words if w in self.key_to_index]
        rows = [self.key_to_index[w] for w in words]
        return plot.plot_map(self._vectors[rows], words, method=method, normalize=normalize, seed=seed,
                             groups=groups, **kwargs)

    # ------------------------------------------------------------ evaluation (w2v.evaluation)
    _SIMILARITY_METHODS = {"most_similar": "add", "most_similar_cosmul": "mul"}

    def evaluate_word_analogies(self, analogies=None, restrict_vocab=300000, case_insensitive=True,
                                dummy4unknown=False, similarity_function="most_similar", *,
                                method=None):
        """gensim's analogy evaluation, batched: (accuracy, sections); see w2v.evaluation.

        analogies: a path, default the bundled questions-words.txt. similarity_function:
        'most_similar' (3CosAdd, gensim's answers exactly) or 'most_similar_cosmul' (3CosMul;
        gensim 4.4 accepts the argument but always uses 3CosAdd). method='add' / 'mul' says the
        same in w2v's words and wins when given.
        """
        if method is None:
            if similarity_function not in self._SIMILARITY_METHODS:
                raise ValueError(f"similarity_function must be one of "
                                 f"{sorted(self._SIMILARITY_METHODS)}, got {similarity_function!r}")
            method = self._SIMILARITY_METHODS[similarity_function]
        return evaluation.evaluate_word_analogies(
            self.get_normed_vectors(), self.index_to_key, analogies, restrict_vocab=restrict_vocab,
            case_insensitive=case_insensitive, dummy4unknown=dummy4unknown, method=method)

    def evaluate_word_pairs(self, pairs=None, delimiter="\t", encoding="utf8", restrict_vocab=300000,
                            case_insensitive=True, dummy4unknown=False):
        """gensim's word-pair evaluation: ((pearson, p), (spearman, p), oov percent)."""
        result = evaluation.evaluate_word_pairs(
            self.get_normed_vectors(), self.index_to_key, pairs, delimiter=delimiter,
            encoding=encoding, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
            dummy4unknown=dummy4unknown)
        self.log_evaluate_word_pairs(result[0], result[1], result[2], pairs)
        return result

    @staticmethod
    def log_accuracy(section):
        """Log one section of evaluate_word_analogies' result ("name: 12.5% (1/8)")."""
        correct, incorrect = len(section["correct"]), len(section["incorrect"])
        if correct + incorrect > 0:
            logger.info("%s: %.1f%% (%i/%i)", section["section"],
                        100.0 * correct / (correct + incorrect), correct, correct + incorrect)

    @staticmethod
    def log_evaluate_word_pairs(pearson, spearman, oov, pairs):
        logger.info("Pearson correlation coefficient against %s: %.4f", pairs, pearson[0])
        logger.info("Spearman rank-order correlation coefficient against %s: %.4f", pairs, spearman[0])
        logger.info("Pairs with unknown words ratio: %.1f%%", oov)

    # ------------------------------------------------------------ files
    def _write_order(self, sort_attr):
        """Rows in the order to write: by descending `sort_attr` (stable), or None (as stored)."""
        if sort_attr not in self.expandos:
            return None
        self.allocate_vecattrs()
        values = self.expandos[sort_attr]
        if values.dtype.kind == "u":
            values = values.astype(np.int64)
        if values.dtype.kind in "ifb":
            order = np.argsort(-values.astype(np.float64 if values.dtype.kind == "b" else values.dtype),
                               kind="stable")
        else:
            order = np.array(sorted(range(len(values)), key=lambda i: -values[i]), dtype=np.int64)
        return None if np.array_equal(order, np.arange(len(order))) else order

    def save_word2vec_format(self, fname, fvocab=None, binary=False, total_vec=None,
                             write_header=True, prefix="", append=False, sort_attr="count"):
        """Write word2vec.c's text (binary=False) or binary format, atomically (gensim's call).

        Rows go in descending order of the attribute `sort_attr` (most frequent first) when the
        vectors have it, else as stored. fvocab: also write `word value` lines of that attribute
        (word2vec.c's -save-vocab), in the same order. total_vec: the count in the header
        (default: every word); write_header=False: no header (GloVe's layout); prefix: put
        before every word. append=True adds to the end of an existing file; the result still
        replaces the file in one rename, so the existing bytes are copied once (see
        formats.atomic_output). Text values carry 9 significant digits (17 for float64
        vectors), enough to read back every value exactly.
        """
        if any(k is None for k in self.index_to_key):
            empty = sum(k is None for k in self.index_to_key)
            raise ValueError(f"{empty} of the {len(self)} slots made by KeyedVectors(vector_size, "
                             "count) are still empty: fill them (add_vector) before saving")
        if len(self._vectors) != len(self.index_to_key):
            raise ValueError(f"{len(self.index_to_key)} words but {len(self._vectors)} vectors: "
                             "call resize_vectors() first")
        order = self._write_order(sort_attr)
        if sort_attr not in self.expandos:
            if fvocab is not None:
                raise ValueError(f"Cannot store vocabulary with '{sort_attr}' because that "
                                 "attribute does not exist")
            # a model's vectors are stored most frequent first already: nothing to say
            logger.debug("attribute %s not present in %s; writing the words in their stored order",
                        sort_attr, self)
        keys = self.index_to_key if order is None else [self.index_to_key[i] for i in order.tolist()]
        if not all(isinstance(k, str) for k in keys):  # int keys are written as their digits, as gensim
            keys = [k if isinstance(k, str) else str(k) for k in keys]
        vectors = self._vectors if order is None else self._vectors[order]
        if fvocab is not None:
            values = self.expandos[sort_attr]
            formats.save_word_counts(fvocab, keys, values if order is None else values[order],
                                     prefix=prefix, append=append)
        formats.save_word2vec_format(fname, keys, vectors, binary=binary, total_vec=total_vec,
                                     write_header=write_header, prefix=prefix, append=append)

    @classmethod
    def load_word2vec_format(cls, fname, fvocab=None, binary=False, encoding="utf8",
                             unicode_errors="strict", limit=None, datatype=np.float32,
                             no_header=False):
        """Read a word2vec.c text (binary=False) or binary file; binary=None detects which.

        fvocab: a `word count` file (word2vec.c's -save-vocab) giving the 'count' attribute;
        without one, counts are made up as gensim does (rows read, then one less per row) so that
        the file's order is the frequency order. limit: read the first `limit` words. datatype:
        the float type of the vectors. no_header: a text file without the "V d" line.
        A damaged or truncated file raises w2v.errors.DamagedFileError (a ValueError and an
        EOFError) naming the file and where; a missing one FileNotFoundError."""
        keys, vectors, rows_read = formats.read_word2vec_format(
            fname, binary=binary, limit=limit, unicode_errors=unicode_errors, encoding=encoding,
            dtype=datatype, no_header=no_header, return_rows=True)
        if fvocab is None:
            counts = rows_read - np.arange(len(keys), dtype=np.int64)
        else:
            from .vocab import Vocab

            known = dict(Vocab.read_counts(fvocab))
            missing = [k for k in keys if k not in known]
            if missing:
                logger.warning("%s: %d words of %s are missing (count 0), such as %r", fvocab,
                               len(missing), fname, missing[0])
            counts = [known.get(k, 0) for k in keys]
        return cls._of_dtype(keys, vectors, counts)

    def intersect_word2vec_format(self, fname, lockf=0.0, binary=False, encoding="utf8",
                                  unicode_errors="strict"):
        """Copy into this instance the vectors that a word2vec.c file has for its words; no word is
        added, other words keep their vectors. The file's vector size must be this one's.

        lockf is recorded in `vectors_lockf` for the merged rows (gensim's lock factor: 0.0 means
        "do not train further"); w2v's trainer does not read it, so training still moves them.
        """
        keys, vectors = formats.read_word2vec_format(fname, binary=binary, encoding=encoding,
                                                     unicode_errors=unicode_errors)
        if vectors.shape[1] != self.vector_size:
            raise ValueError(f"incompatible vector size {vectors.shape[1]} in file {fname} "
                             f"(these vectors have {self.vector_size})")
        pairs = [(self.key_to_index[k], i) for i, k in enumerate(keys) if k in self.key_to_index]
        lockf_rows = getattr(self, "vectors_lockf", None)
        if lockf_rows is None or len(lockf_rows) != len(self):
            self.vectors_lockf = np.ones(len(self), dtype=np.float32)
        if pairs:
            rows, src = (list(x) for x in zip(*pairs))
            self._vectors[rows] = vectors[src]
            self.vectors_lockf[rows] = lockf
            self.norms = None
        logger.info("merged %d vectors into a %s matrix from %s", len(pairs), self._vectors.shape, fname)
        return len(pairs)

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

    @classmethod
    def from_gensim(cls, kv) -> "KeyedVectors":
        """The keys, vectors (dtype kept), per-key attributes and empty slots of a gensim 4
        KeyedVectors, copied. Does not import gensim."""
        from .gensim_bridge import keyed_vectors_from_gensim
        return keyed_vectors_from_gensim(cls, kv)

    def to_gensim(self):
        """A gensim 4 KeyedVectors with these keys, vectors (dtype kept), attributes and slots,
        copied. Needs gensim (ImportError naming the install command)."""
        from .gensim_bridge import keyed_vectors_to_gensim
        return keyed_vectors_to_gensim(self)

    def similarity_unseen_docs(self, *args, **kwargs):
        raise NotImplementedError("similarity_unseen_docs is Doc2Vec's (as in gensim); w2v has "
                                  "no Doc2Vec: compare get_mean_vector() of the two documents")

    def __repr__(self):
        return f"<KeyedVectors: {len(self)} words, vector_size {self.vector_size}>"


def load_word2vec_format(*args, **kwargs):
    """gensim's module-level alias of KeyedVectors.load_word2vec_format."""
    return KeyedVectors.load_word2vec_format(*args, **kwargs)


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
