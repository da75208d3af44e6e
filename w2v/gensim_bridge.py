"""Conversion to and from gensim 4's Word2Vec and KeyedVectors, for code bases that move one step at
a time: `Word2Vec.from_gensim(model)`, `model.to_gensim()`, `KeyedVectors.from_gensim(kv)`,
`kv.to_gensim()` call these.

gensim is optional: it is imported here, inside the functions that build gensim objects, and its
absence is an ImportError naming the install command. Reading a gensim object needs no import.

A converted model keeps training in the other library as it would have in its own: every matrix,
the vocabulary with its counts, the subsampling and negative-sampling tables (recomputed from the
counts by each library's own formula, which is the same) and the Huffman tree. The tree is not
recomputed: gensim builds it with a heap, w2v as word2vec.c does, and the two break ties between
equal counts differently, so the same counts can give two different trees. The inner-node vectors
only mean something on the tree they were trained on, so each side takes the other's codes and
paths as they are (w2v keeps them beside the model: `Word2Vec._hs_tree`).

Rows: gensim allocates V inner-node rows (syn1) for the V - 1 inner nodes, w2v V - 1; the unused
last row is zero in a converted gensim model. w2v's vocabulary is in its own order (descending
count, equal counts by the word), so from_gensim moves every row with its word.
"""
from __future__ import annotations

import logging

import numpy as np

from .huffman import HuffmanTree
from .vocab import Vocab

logger = logging.getLogger(__name__)

INSTALL = "pip install 'w2v[gensim]' (or pip install gensim)"


def _gensim_models():
    try:
        import gensim.models
    except ImportError as e:
        raise ImportError(f"to_gensim() needs gensim, which is not installed: {INSTALL}") from e
    return gensim.models


# ---------------------------------------------------------------------------- KeyedVectors
def keyed_vectors_from_gensim(cls, kv):
    """A w2v KeyedVectors with gensim `kv`'s keys, vectors (dtype kept, copied), per-key attributes
    (`count`, ...) and empty slots."""
    for name in ("index_to_key", "vectors", "vector_size", "expandos"):
        if not hasattr(kv, name):
            raise TypeError(f"KeyedVectors.from_gensim needs a gensim KeyedVectors, got {type(kv).__name__} "
                            f"(no {name!r})")
    vectors = np.array(kv.vectors, copy=True)
    out = cls(int(kv.vector_size), 0, vectors.dtype)
    out.index_to_key = list(kv.index_to_key)
    out.key_to_index = {k: i for i, k in enumerate(out.index_to_key) if k is not None}
    out.next_index = int(getattr(kv, "next_index", len(out.index_to_key)))
    out.vectors = vectors
    out.expandos = {attr: np.array(values, copy=True) for attr, values in kv.expandos.items()}
    lockf = getattr(kv, "vectors_lockf", None)
    if isinstance(lockf, np.ndarray) and lockf.shape == (len(out.index_to_key),):
        out.vectors_lockf = lockf.copy()
    return out


def keyed_vectors_to_gensim(kv):
    """A gensim KeyedVectors with `kv`'s keys, vectors (dtype kept, copied), attributes and slots."""
    gensim_kv = _gensim_models().KeyedVectors(kv.vector_size, 0, kv.vectors.dtype)
    gensim_kv.index_to_key = list(kv.index_to_key)
    gensim_kv.key_to_index = {k: i for i, k in enumerate(gensim_kv.index_to_key) if k is not None}
    gensim_kv.next_index = kv.next_index
    gensim_kv.vectors = np.array(kv.vectors, copy=True)
    gensim_kv.expandos = {attr: np.array(values, copy=True) for attr, values in kv.expandos.items()}
    lockf = getattr(kv, "vectors_lockf", None)
    if lockf is not None:
        gensim_kv.vectors_lockf = lockf.copy()
    return gensim_kv


# ---------------------------------------------------------------------------- Word2Vec
# gensim's attributes that are w2v's settings of the same name
_SETTINGS = ("vector_size", "alpha", "window", "min_count", "max_vocab_size", "max_final_vocab", "sample",
             "seed", "workers", "min_alpha", "sg", "hs", "negative", "ns_exponent", "cbow_mean", "epochs")


def _tree_of_gensim(gensim_wv, order):
    """w2v's HuffmanTree arrays of gensim's per-word 'code' and 'point' attributes, rows in `order`
    (gensim rows, w2v's vocabulary order). ValueError unless they are a tree's codes over V - 1
    inner nodes."""
    codes, points = gensim_wv.expandos.get("code"), gensim_wv.expandos.get("point")
    v = len(order)
    if codes is None or points is None or len(codes) < v or len(points) < v:
        raise ValueError("the gensim model has hs=1 but no Huffman codes ('code' and 'point' per word): "
                         "build its vocabulary first")
    lengths = np.array([len(codes[i]) for i in order], dtype=np.int32)
    if v > 1 and (lengths < 1).any():
        raise ValueError("the gensim model's Huffman codes leave a word without a code")
    width = max(int(lengths.max()), 1)
    tree_points = np.zeros((v, width), dtype=np.int32)
    tree_codes = np.zeros((v, width), dtype=np.uint8)
    for row, i in enumerate(order):
        n = lengths[row]
        if len(points[i]) != n:
            raise ValueError(f"the gensim model's Huffman code and path of word {gensim_wv.index_to_key[i]!r} "
                             "differ in length")
        tree_points[row, :n] = points[i]
        tree_codes[row, :n] = codes[i]
    if (tree_points >= max(v - 1, 1)).any() or (tree_codes > 1).any():
        raise ValueError(f"the gensim model's Huffman paths name inner nodes beyond the {v - 1} of {v} words")
    return HuffmanTree(tree_points, tree_codes, lengths)


def word2vec_from_gensim(cls, gensim_model):
    """A w2v Word2Vec holding gensim_model's settings, vocabulary, counts, weights, Huffman tree and
    gensim's bookkeeping (corpus_count, ...); it trains on from there. See the module docstring."""
    wv = getattr(gensim_model, "wv", None)
    if wv is None or not hasattr(gensim_model, "sg"):
        raise TypeError(f"Word2Vec.from_gensim needs a gensim Word2Vec, got {type(gensim_model).__name__}")
    if not len(wv):
        raise ValueError("the gensim model has no vocabulary: call its build_vocab() first")
    if not getattr(gensim_model, "shrink_windows", True):
        logger.warning("the gensim model has shrink_windows=False; w2v always shrinks the window at random, "
                       "as word2vec.c does, so further training in w2v will")
    settings = {name: getattr(gensim_model, name) for name in _SETTINGS}
    settings = {k: (int(v) if isinstance(v, (np.integer, bool)) else v) for k, v in settings.items()}
    # batch_window=False: the converted model trains on in gensim's (and word2vec.c's) pair-by-pair order
    model = cls(**settings, batch_window=False, compute_loss=bool(getattr(gensim_model, "compute_loss", False)),
                callbacks=tuple(getattr(gensim_model, "callbacks", ()) or ()),
                hashfxn=getattr(gensim_model, "hashfxn", hash), batch_words=getattr(gensim_model, "batch_words", 10000),
                comment=getattr(gensim_model, "comment", None))
    keys = list(wv.index_to_key)
    counts = np.array([int(wv.get_vecattr(i, "count")) for i in range(len(keys))], dtype=np.int64)
    if not all(isinstance(k, str) for k in keys):
        raise TypeError("w2v's Word2Vec vocabulary is words (str); the gensim model has other keys")
    # w2v's vocabulary order: descending count, equal counts by the word
    order = sorted(range(len(keys)), key=lambda i: (-counts[i], keys[i]))
    vocab = Vocab([keys[i] for i in order], counts[order])
    vocab.effective_min_count = int(getattr(gensim_model, "effective_min_count", model.settings.min_count))
    model._set_vocab(vocab)  # allocates the matrices as training wants them; the rows are replaced below
    v = len(vocab)
    model.wv.vectors[:] = np.asarray(wv.vectors, dtype=np.float32)[order]
    if model.w_out_ns.shape[0]:
        model.w_out_ns[:] = np.asarray(gensim_model.syn1neg, dtype=np.float32)[order]
    if model.settings.hs:
        model._hs_tree = _tree_of_gensim(wv, order) if v > 1 else None
        model.w_out_hs[:] = np.asarray(gensim_model.syn1, dtype=np.float32)[:v - 1]
    model.wv.norms = None
    model.corpus_count = int(getattr(gensim_model, "corpus_count", 0) or 0)
    model.corpus_total_words = int(getattr(gensim_model, "corpus_total_words", 0) or 0)
    model.train_count = int(getattr(gensim_model, "train_count", 0) or 0)
    model.total_train_time = float(getattr(gensim_model, "total_train_time", 0.0) or 0.0)
    model.running_training_loss = float(getattr(gensim_model, "running_training_loss", 0.0) or 0.0)
    model.min_alpha_yet_reached = float(getattr(gensim_model, "min_alpha_yet_reached", model.settings.alpha))
    raw = getattr(gensim_model, "raw_vocab", None)
    if raw:
        model.raw_vocab.update(raw)
    return model


def _sample_ints(counts, sample) -> np.ndarray:
    """gensim's per-word 'sample_int' (prepare_vocab): the keep probability scaled to 2**32 - 1."""
    counts = counts.astype(np.float64)
    total = counts.sum()
    if not sample:
        threshold = total
    elif sample < 1.0:
        threshold = sample * total
    else:
        threshold = int(sample * (3 + np.sqrt(5)) / 2)
    with np.errstate(divide="ignore"):
        probability = np.minimum((np.sqrt(counts / threshold) + 1) * (threshold / counts), 1.0)
    return (probability * (2 ** 32 - 1)).astype(np.uint32)


def word2vec_to_gensim(model):
    """A gensim Word2Vec holding `model`'s settings, vocabulary (same rows), counts, weights, Huffman
    tree and bookkeeping; gensim computes its tables (sample_int, cum_table) from the counts."""
    models = _gensim_models()
    model._need_vocab()
    s = model.settings
    if s.softmax:
        raise NotImplementedError("gensim has no full softmax: a softmax=True model has no gensim counterpart "
                                  "(its vectors do: model.wv.to_gensim())")
    if s.batch_window:
        logger.info("batch_window=True is w2v's: the gensim model trains skip-gram pair by pair")
    g = models.Word2Vec(**{name: getattr(s, name) for name in _SETTINGS}, compute_loss=model.compute_loss,
                        callbacks=tuple(model.callbacks), hashfxn=model.hashfxn, batch_words=model.batch_words,
                        comment=model.comment)
    vocab = model.vocab
    v, d = len(vocab), s.vector_size
    g.wv = models.KeyedVectors(d, v, dtype=np.float32)
    g.wv.index_to_key = list(vocab.index_to_key)
    g.wv.key_to_index = {w: i for i, w in enumerate(g.wv.index_to_key)}
    g.wv.next_index = v
    g.wv.vectors = np.array(model.wv.vectors[:v], dtype=np.float32, copy=True)
    g.wv.vectors_lockf = np.ones(1, dtype=np.float32)  # gensim's init_weights: every row trains
    g.wv.allocate_vecattrs(["count", "sample_int"], [np.int64, np.uint32])
    g.wv.expandos["count"][:] = vocab.counts
    g.wv.expandos["sample_int"][:] = _sample_ints(vocab.counts, s.sample)
    g.effective_min_count = model.effective_min_count
    g.raw_vocab = type(model.raw_vocab)(int, model.raw_vocab)
    if s.hs:
        tree = model._huffman_tree()
        codes = np.empty(v, dtype=object)
        points = np.empty(v, dtype=object)
        for i in range(v):
            n = int(tree.lengths[i])
            codes[i] = tree.codes[i, :n].astype(np.uint8)
            points[i] = tree.points[i, :n].astype(np.uint32)
        g.wv.expandos["code"], g.wv.expandos["point"] = codes, points
        g.syn1 = np.zeros((v, d), dtype=np.float32)  # gensim's V rows; the last is no node's
        g.syn1[:v - 1] = model.w_out_hs[:v - 1]
    if s.negative:
        g.syn1neg = np.array(model.w_out_ns[:v], dtype=np.float32, copy=True)
        g.make_cum_table()
    g.corpus_count, g.corpus_total_words = model.corpus_count, model.corpus_total_words
    g.train_count, g.total_train_time = model.train_count, model.total_train_time
    g.running_training_loss = float(model.running_training_loss)
    g.min_alpha_yet_reached = float(model.min_alpha_yet_reached)
    return g
