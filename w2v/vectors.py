"""KeyedVectors: trained vectors by word, and the queries on them (gensim's API)."""
from __future__ import annotations

import numpy as np

from . import formats


class KeyedVectors:
    """Word vectors: `vectors[i]` is the vector of `index_to_key[i]`.

    vectors: float32 array (V, vector_size); index_to_key: list of V words;
    key_to_index: dict word -> row.
    """

    def __init__(self, vector_size: int, index_to_key=(), vectors=None):
        self.vector_size = int(vector_size)
        self.index_to_key = list(index_to_key)
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        if vectors is None:
            vectors = np.zeros((len(self.index_to_key), self.vector_size), dtype=np.float32)
        self.vectors = vectors

    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, key):
        return key in self.key_to_index

    def get_index(self, key):
        try:
            return self.key_to_index[key]
        except KeyError:
            raise KeyError(f"word {key!r} not in vocabulary") from None

    def get_vector(self, key, norm=False):
        v = self.vectors[self.get_index(key)]
        if norm:
            return v / max(float(np.linalg.norm(v)), 1e-12)
        return v

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.get_vector(key)
        return np.vstack([self.get_vector(k) for k in key])

    def save_word2vec_format(self, path, binary=False):
        formats.save_word2vec_format(path, self.index_to_key, self.vectors, binary=binary)
