"""Approximate nearest neighbours by cosine: hnswlib and pynndescent indexes for most_similar.

An index answers gensim's indexer protocol, `most_similar(vector, num_neighbors)` -> [(word,
cosine)], best first, so `kv.most_similar(word, indexer=index)` asks it instead of scanning
every vector; gensim's own indexers (AnnoyIndexer) plug in the same way. `query` answers a
batch (B, d) at once. Both libraries are the [index] extra (`pip install 'w2v[index]'`),
imported only here.

The index holds the unit vectors; its candidates are rescored with the exact cosine (k dot
products), so a word found carries the same similarity as the exact search gives it.

File (`save`, `load_index`): one uncompressed .npz written by `formats.save_npz` (atomic,
nothing pickled). `meta` (JSON) holds the format and its version, the kind and its parameters,
the library and its version, a fingerprint of the vectors (count, size, a SHA-256 of the words
in order, a CRC-32 of the float32 values) and a few probe queries with their answers; the
library's own state is stored as named arrays plus JSON scalars. Loading refuses an index built
for other vectors (IndexMismatchError) and checks the probes after restoring, so a state that
the library no longer reads the same way is caught before it answers wrongly. pynndescent's
state is its private layout: an index written by another pynndescent version is refused too.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import time
import zipfile
import zlib

import numpy as np

from . import formats
from .errors import DamagedFileError, IndexMismatchError

logger = logging.getLogger(__name__)

INDEX_FORMAT = "w2v.index"
INDEX_VERSION = 1
INDEX_KINDS = ("hnsw", "nndescent")
_N_PROBES = 8
_PROBE_K = 10
# a restored index must find at least this share of the probe answers it found when built
# (pynndescent's search draws random starting points, so a correct restore may differ a little;
# a wrong one finds almost none)
_PROBE_AGREEMENT = 0.7


def _import(module, kind):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"the {kind} index needs {module}, which is not installed ({e}): "
                          "pip install 'w2v[index]'") from None


def index_path(vectors_path, kind):
    """Where the index of `kind` for the vectors file `vectors_path` is saved: beside it."""
    if kind not in INDEX_KINDS:
        raise ValueError(f"index kind must be one of {INDEX_KINDS}, got {kind!r}")
    return f"{os.fspath(vectors_path)}.{kind}.index"


def vectors_fingerprint(kv):
    """What ties an index to the vectors it was built from: count, vector size, a SHA-256 of the
    words in order, a CRC-32 of the values as little-endian float32."""
    words = hashlib.sha256()
    for start in range(0, len(kv.index_to_key), 65536):
        words.update("\n".join(kv.index_to_key[start: start + 65536]).encode("utf-8", "surrogateescape"))
        words.update(b"\n")
    crc = 0
    for start in range(0, len(kv.vectors), 65536):
        block = np.ascontiguousarray(kv.vectors[start: start + 65536], dtype="<f4")
        crc = zlib.crc32(memoryview(block).cast("B"), crc)
    return {"count": len(kv.index_to_key), "vector_size": int(kv.vector_size),
            "words_sha256": words.hexdigest(), "vectors_crc32": crc}


def _mismatch(fingerprint, expected):
    """The first way `fingerprint` (the index's) differs from `expected` (the vectors'), or None."""
    for field, what in (("count", "words"), ("vector_size", "dimensions"),
                        ("words_sha256", "words (or their order)"), ("vectors_crc32", "vector values")):
        if fingerprint.get(field) != expected[field]:
            if field in ("count", "vector_size"):
                return f"it was built for {fingerprint.get(field)} {what}, these vectors have {expected[field]}"
            return f"it was built for vectors with other {what}"
    return None


# ---------------------------------------------------------------- state <-> arrays and JSON
def _encode(value, arrays):
    """`value` as JSON, its arrays moved into `arrays` (named a0, a1, ...); compiled functions
    become a marker: the library's own set-up rebuilds them."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return value
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"$array": name}
    if isinstance(value, np.generic):
        return {"$scalar": value.dtype.str, "value": value.item()}
    if isinstance(value, type) and issubclass(value, np.generic):
        return {"$dtype": np.dtype(value).str}
    if isinstance(value, dict):
        return {"$dict": {str(k): _encode(v, arrays) for k, v in value.items()}}
    if isinstance(value, (tuple, list)):
        return {"$tuple" if isinstance(value, tuple) else "$list": [_encode(v, arrays) for v in value]}
    if type(value).__name__ in ("csr_array", "csr_matrix"):
        return {"$csr": type(value).__name__, "shape": list(value.shape),
                "parts": [_encode(np.asarray(p), arrays) for p in (value.data, value.indices, value.indptr)]}
    if callable(value):
        return {"$rebuilt": type(value).__name__}
    raise TypeError(f"cannot store a {type(value).__name__} in an index file")


def _decode(value, arrays):
    """The inverse of `_encode`; entries that were compiled functions are left out."""
    if not isinstance(value, dict):
        return value
    if "$array" in value:
        return arrays[value["$array"]]
    if "$scalar" in value:
        return np.dtype(value["$scalar"]).type(value["value"])
    if "$dtype" in value:
        return np.dtype(value["$dtype"]).type
    if "$dict" in value:
        return {k: _decode(v, arrays) for k, v in value["$dict"].items()
                if not (isinstance(v, dict) and "$rebuilt" in v)}
    if "$tuple" in value:
        return tuple(_decode(v, arrays) for v in value["$tuple"])
    if "$list" in value:
        return [_decode(v, arrays) for v in value["$list"]]
    if "$csr" in value:
        from scipy import sparse

        data, indices, indptr = (_decode(p, arrays) for p in value["parts"])
        matrix = getattr(sparse, value["$csr"])((data, indices, indptr), shape=tuple(value["shape"]))
        matrix.has_sorted_indices = True
        return matrix
    raise ValueError(f"unknown entry {sorted(value)[:3]}")


# ---------------------------------------------------------------- the indexes
class _Index:
    """An index over the unit vectors of a KeyedVectors; subclasses wrap one library.

    keys: the words (the KeyedVectors' index_to_key); params: the build and search settings;
    fingerprint: see `vectors_fingerprint`.
    """

    kind = ""
    library = ""
    defaults: dict = {}
    search_params: tuple = ()  # settings that change answers, not the structure: settable later

    def __init__(self, kv, **params):
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise TypeError(f"unknown {self.kind} index parameters {sorted(unknown)}; "
                            f"known: {sorted(self.defaults)}")
        self.params = {**self.defaults, **params}
        self._check_params()
        if len(kv.index_to_key) == 0:
            raise ValueError("cannot index an empty set of vectors")
        module = _import(self.library, self.kind)
        self._bind(kv)
        t0 = time.perf_counter()
        self._build(module, self._unit)
        self.build_seconds = time.perf_counter() - t0
        self._probes = self._probe()

    def _check_params(self):
        for name, value in self.params.items():
            if name == "threads":
                if not isinstance(value, int) or value < 0:
                    raise ValueError(f"threads must be an integer >= 0 (0: all cores), got {value!r}")

    def _bind(self, kv, fingerprint=None):
        self.keys = kv.index_to_key
        self.fingerprint = fingerprint or vectors_fingerprint(kv)
        self._unit = np.ascontiguousarray(kv.get_normed_vectors(), dtype=np.float32)

    def __len__(self):
        return len(self.keys)

    def __repr__(self):
        shown = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"<{type(self).__name__}: {len(self)} vectors, {shown}>"

    # ------------------------------------------------------------ queries
    def query(self, queries, k):
        """The `k` nearest words of each query by cosine: (rows (B, k) int64, cosines (B, k)
        float32), best first. queries: (B, d) or (d,), normalised here. A row of -1 (cosine
        -inf) pads an answer the index could not fill."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if q.ndim != 2 or q.shape[1] != self._unit.shape[1]:
            raise ValueError(f"queries must be (B, {self._unit.shape[1]}), got shape {np.shape(queries)}")
        norms = np.linalg.norm(q, axis=1, keepdims=True)
        q = q / np.where(norms > 0, norms, 1.0)
        k = min(int(k), len(self.keys))
        if k < 1 or len(q) == 0:
            return np.empty((len(q), 0), np.int64), np.empty((len(q), 0), np.float32)
        rows = np.asarray(self._search(q, k), dtype=np.int64).reshape(len(q), -1)
        found = rows >= 0
        cosines = np.einsum("bkd,bd->bk", self._unit[np.where(found, rows, 0)], q)
        cosines[~found] = -np.inf
        order = np.argsort(-cosines, axis=1, kind="stable")
        return np.take_along_axis(rows, order, 1), np.take_along_axis(cosines, order, 1)

    def most_similar(self, vector, num_neighbors):
        """gensim's indexer protocol: [(word, cosine)] of the `num_neighbors` words nearest
        `vector`, best first (query words included: KeyedVectors.most_similar leaves them out)."""
        rows, cosines = self.query(np.asarray(vector)[None], num_neighbors)
        return [(self.keys[r], c) for r, c in zip(rows[0].tolist(), cosines[0].tolist()) if r >= 0]

    def _probe(self):
        """Rows of probe words and the rows the index answers for them: saved, checked on load."""
        rows = np.unique(np.linspace(0, len(self.keys) - 1, _N_PROBES).astype(np.int64))
        found, _ = self.query(self._unit[rows], _PROBE_K)
        return {"rows": rows.tolist(), "found": found.tolist()}

    # ------------------------------------------------------------ files
    def save(self, path):
        """Write the index to `path` (one .npz, atomically; nothing pickled)."""
        module = _import(self.library, self.kind)
        arrays = {}
        state = _encode(self._state(), arrays)
        meta = {"format": INDEX_FORMAT, "version": INDEX_VERSION, "kind": self.kind,
                "params": self.params, "library": self.library,
                "library_version": getattr(module, "__version__", "unknown"),
                "vectors": self.fingerprint, "probes": self._probes, "state": state}
        formats.save_npz(path, arrays, meta)

    @classmethod
    def _restore(cls, kv, meta, arrays, fingerprint):
        index = cls.__new__(cls)
        index.params = {**cls.defaults, **meta["params"]}
        index._bind(kv, fingerprint)
        index.build_seconds = None
        module = _import(cls.library, cls.kind)
        index._load_state(module, _decode(meta["state"], arrays), meta)
        index._probes = meta["probes"]
        return index

    def _check_probes(self, path):
        rows = np.asarray(self._probes["rows"], dtype=np.int64)
        expected = self._probes["found"]
        found, _ = self.query(self._unit[rows], _PROBE_K)
        agree = sum(len(set(a) & set(b)) for a, b in zip(found.tolist(), expected))
        total = sum(len(b) for b in expected)
        if agree < _PROBE_AGREEMENT * total:
            raise IndexMismatchError(f"{path}: the restored {self.kind} index answers its probe queries "
                                     f"differently ({agree} of {total} neighbours agree): it does not "
                                     "read back as it was saved; build it again")

    # subclasses: _build(module, unit), _search(unit queries, k) -> rows, _state() -> dict,
    # _load_state(module, state, meta)


class HnswIndexer(_Index):
    """An hnswlib graph (HNSW, Malkov and Yashunin 2018) over the unit vectors, cosine space.

    M: links per node (memory and recall grow with it); ef_construction: the candidate list
    while building; ef: the candidate list while searching (at least the k asked for; larger is
    slower and finds more; settable after building); threads: for building and batch queries
    (0: all cores); seed: hnswlib's level draws (one thread builds the same graph every time).
    """

    kind = "hnsw"
    library = "hnswlib"
    # measured (docs/index.md): on 1M clustered vectors recall@10 0.993 at 106x exact search's
    # queries/s; M=16, ef_construction=100 builds in half the time but needs ef=256 for 0.975
    defaults = {"M": 32, "ef_construction": 200, "ef": 64, "threads": 0, "seed": 1}
    search_params = ("ef",)

    def _check_params(self):
        super()._check_params()
        for name in ("M", "ef_construction", "ef"):
            value = self.params[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")

    @property
    def ef(self):
        return self.params["ef"]

    @ef.setter
    def ef(self, value):
        self.params["ef"] = int(value)
        self._check_params()

    def _threads(self):
        return self.params["threads"] or -1

    def _build(self, hnswlib, unit):
        index = hnswlib.Index(space="cosine", dim=unit.shape[1])
        index.init_index(max_elements=len(unit), M=self.params["M"],
                         ef_construction=self.params["ef_construction"], random_seed=self.params["seed"])
        index.add_items(unit, np.arange(len(unit)), num_threads=self._threads())
        self._index = index

    def _search(self, q, k):
        self._index.set_ef(max(self.params["ef"], k))
        rows, _ = self._index.knn_query(q, k=k, num_threads=self._threads() if len(q) > 1 else 1)
        return rows

    def _state(self):
        return self._index.__getstate__()

    def _load_state(self, hnswlib, state, meta):
        (fields,) = state
        n, d = self.fingerprint["count"], self.fingerprint["vector_size"]
        per_element = fields["size_data_per_element"]
        if (fields["space"] != "cosine" or fields["dim"] != d or fields["cur_element_count"] != n
                or fields["data_level0"].size != fields["max_elements"] * per_element
                or per_element < 4 * d or len(fields["element_levels"]) != n
                or len(fields["label_lookup_external"]) != n or len(fields["label_lookup_internal"]) != n):
            raise DamagedFileError(f"hnswlib state of {fields['cur_element_count']} x {fields['dim']} "
                                   f"({fields['space']}) does not hold these {n} x {d} vectors")
        # hnswlib's state setter builds the index in place: it must get a fresh object
        index = hnswlib.Index.__new__(hnswlib.Index)
        index.__setstate__(state)
        self._index = index


class NNDescentIndexer(_Index):
    """A pynndescent search graph (NN-descent, Dong et al. 2011) over the unit vectors, cosine.

    n_neighbors: the k of the k-NN graph (recall, build time and memory grow with it);
    pruning_degree_multiplier, diversify_prob: how the search graph is thinned; n_trees: random
    projection trees for the start (None: pynndescent's choice); epsilon: how far past the
    current best the search goes (0.0 to about 0.3; larger finds more, slower; settable after
    building); threads: 0 for all cores; seed: pynndescent's random_state.
    The first build in a process compiles pynndescent's numba code (40 s to 2 minutes on 2 cores).
    """

    kind = "nndescent"
    library = "pynndescent"
    # epsilon 0.2 (pynndescent's default is 0.1), measured: recall@10 on 1M clustered vectors
    # 0.957 -> 0.987, on the dev vectors 0.919 -> 0.975, for about 1.5x the query time
    defaults = {"n_neighbors": 30, "pruning_degree_multiplier": 1.5, "diversify_prob": 1.0,
                "n_trees": None, "epsilon": 0.2, "threads": 0, "seed": 1}
    search_params = ("epsilon",)

    def _check_params(self):
        super()._check_params()
        if not isinstance(self.params["n_neighbors"], int) or self.params["n_neighbors"] < 2:
            raise ValueError(f"n_neighbors must be an integer >= 2, got {self.params['n_neighbors']!r}")
        if not 0.0 <= float(self.params["epsilon"]) <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {self.params['epsilon']!r}")

    @property
    def epsilon(self):
        return self.params["epsilon"]

    @epsilon.setter
    def epsilon(self, value):
        self.params["epsilon"] = float(value)
        self._check_params()

    def _build(self, pynndescent, unit):
        p = self.params
        index = pynndescent.NNDescent(
            unit, metric="cosine", n_neighbors=min(p["n_neighbors"], len(unit) - 1 or 1),
            n_trees=p["n_trees"], pruning_degree_multiplier=p["pruning_degree_multiplier"],
            diversify_prob=p["diversify_prob"], random_state=p["seed"], n_jobs=p["threads"] or None,
            compressed=True)
        index.prepare()
        self._index = index

    def _search(self, q, k):
        rows, _ = self._index.query(q, k=k, epsilon=self.params["epsilon"])
        return rows

    def _state(self):
        return self._index.__getstate__()

    def _load_state(self, pynndescent, state, meta):
        if meta.get("library_version") != pynndescent.__version__:
            raise IndexMismatchError(f"the nndescent index was written by pynndescent "
                                     f"{meta.get('library_version')}, this is {pynndescent.__version__}, "
                                     "whose saved layout may differ: build it again")
        n, d = self.fingerprint["count"], self.fingerprint["vector_size"]
        data = state.get("_raw_data")
        if not isinstance(data, np.ndarray) or data.shape != (n, d) or state.get("metric") != "cosine":
            raise DamagedFileError(f"pynndescent state does not hold these {n} x {d} vectors")
        index = pynndescent.NNDescent.__new__(pynndescent.NNDescent)
        index.__setstate__(state)
        self._index = index


INDEXERS = {"hnsw": HnswIndexer, "nndescent": NNDescentIndexer}


def build_index(kv, kind="hnsw", **params):
    """A new index of `kind` ('hnsw' or 'nndescent') over `kv`'s unit vectors; params as the
    class takes them (HnswIndexer, NNDescentIndexer)."""
    if kind not in INDEXERS:
        raise ValueError(f"index kind must be one of {INDEX_KINDS}, got {kind!r}")
    return INDEXERS[kind](kv, **params)


def _read(path, with_arrays=False):
    """(meta, arrays or None) of an index file; DamagedFileError naming it if unreadable."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"index file not found: {path}")
    formats.check_npz_sizes(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(bytes(npz["meta"]).decode("utf-8"))
            arrays = {name: npz[name] for name in npz.files if name != "meta"} if with_arrays else None
    except PermissionError:
        raise
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise DamagedFileError(f"{path}: not a w2v index file, or a damaged one "
                               f"({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or meta.get("format") != INDEX_FORMAT:
        raise DamagedFileError(f"{path}: not a w2v index file (format {str(meta)[:60]})")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DamagedFileError(f"{path}: index format version {str(version)[:40]!r} is not a number")
    if version > INDEX_VERSION:
        raise ValueError(f"{path}: index format version {version} is newer than this w2v reads "
                         f"({INDEX_VERSION})")
    return meta, arrays


def load_index(path, kv):
    """The index saved at `path`, bound to `kv` (the vectors it was built from).

    IndexMismatchError if it was built for other vectors or does not read back as saved (then
    build it again); DamagedFileError (a ValueError) for a damaged file; ImportError naming the
    [index] extra if its library is missing.
    """
    path = os.fspath(path)
    meta, _ = _read(path)
    kind = meta.get("kind")
    if kind not in INDEXERS:
        raise DamagedFileError(f"{path}: unknown index kind {str(kind)[:40]!r}")
    cls = INDEXERS[kind]
    fingerprint = vectors_fingerprint(kv)
    saved = meta.get("vectors")
    why = _mismatch(saved if isinstance(saved, dict) else {}, fingerprint)
    if why:
        raise IndexMismatchError(f"{path}: this {kind} index does not belong to these vectors: {why}")
    _import(cls.library, kind)
    _, arrays = _read(path, with_arrays=True)
    try:
        index = cls._restore(kv, meta, arrays, fingerprint)
    except (IndexMismatchError, DamagedFileError):
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as e:
        raise DamagedFileError(f"{path}: damaged {kind} index ({type(e).__name__}: {e})") from None
    index._check_probes(path)
    return index


def load_or_build(kv, kind, path, **params):
    """The index of `kind` saved at `path` if it belongs to `kv`, else a new one, saved there.

    An index for other vectors, or a damaged one, is built again (and the file replaced), with a
    warning saying why. A file that cannot be written leaves a warning: the index still answers.
    """
    if kind not in INDEXERS:
        raise ValueError(f"index kind must be one of {INDEX_KINDS}, got {kind!r}")
    if os.path.exists(path):
        try:
            index = load_index(path, kv)
            if index.kind == kind:
                for name in index.search_params:
                    if name in params:
                        setattr(index, name, params[name])
                logger.info("loaded the %s index %s", kind, path)
                return index
            logger.warning("%s holds a %s index, not %s: building a %s index", path, index.kind, kind, kind)
        except (IndexMismatchError, DamagedFileError) as e:
            logger.warning("%s; building the %s index again", e, kind)
    logger.info("building the %s index of %d vectors", kind, len(kv))
    index = build_index(kv, kind, **params)
    logger.info("built the %s index in %.1f s", kind, index.build_seconds)
    try:
        index.save(path)
        logger.info("saved the %s index to %s", kind, path)
    except OSError as e:
        logger.warning("could not save the %s index to %s (%s): it will be built again next time",
                       kind, path, e)
    return index
