"""Load and query speed of w2v.KeyedVectors against gensim on the same synthetic file.

    python benchmarks/bench_vectors.py [--words 100000] [--dim 100] [--queries 1000]

Writes random vectors (text and binary word2vec format) to a temporary directory, then prints
one row per operation: seconds for w2v, for gensim, and gensim / w2v (above 1: w2v faster).
Times are the best of --repeat runs; queries run after one warm-up query (the unit matrix or
norms are cached), so they measure the search itself.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from w2v import KeyedVectors  # noqa: E402


def best_of(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--topn", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    try:
        from gensim.models import KeyedVectors as GensimKV
    except ImportError:
        GensimKV = None

    rng = np.random.default_rng(0)
    keys = [f"word{i}" for i in range(args.words)]
    vectors = rng.standard_normal((args.words, args.dim)).astype(np.float32)
    queries = [keys[i] for i in rng.choice(args.words, size=args.queries, replace=False)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        kv = KeyedVectors(args.dim, keys, vectors)
        paths = {"text": os.path.join(tmp, "v.txt"), "binary": os.path.join(tmp, "v.bin"),
                 "native": os.path.join(tmp, "v.npz")}
        kv.save_word2vec_format(paths["text"], binary=False)
        kv.save_word2vec_format(paths["binary"], binary=True)
        kv.save(paths["native"])
        # warm-up: numba's compiled scanner is loaded from its cache once per process
        KeyedVectors.load_word2vec_format(paths["binary"], binary=True, limit=10)

        for fmt in ("text", "binary"):
            binary = fmt == "binary"
            ours, loaded = best_of(
                lambda: KeyedVectors.load_word2vec_format(paths[fmt], binary=binary), args.repeat)
            assert np.array_equal(loaded.vectors, vectors)
            theirs = None
            if GensimKV is not None:
                theirs, g = best_of(
                    lambda: GensimKV.load_word2vec_format(paths[fmt], binary=binary),
                    1 if fmt == "text" else args.repeat)
                assert np.array_equal(g.vectors, vectors)
            rows.append((f"load {fmt} ({os.path.getsize(paths[fmt]) >> 20} MB)", ours, theirs))
        for mmap in (None, "r"):
            ours, _ = best_of(lambda: KeyedVectors.load(paths["native"], mmap=mmap), args.repeat)
            rows.append((f"load native{' mmap' if mmap else ''}", ours, None))

        kv.most_similar(queries[0], topn=args.topn)
        g = None
        if GensimKV is not None:
            g = GensimKV(args.dim)
            g.add_vectors(keys, vectors)
            g.most_similar(queries[0], topn=args.topn)
        # interleaved, so that load from other processes on the machine hits both alike
        ours = batch = theirs = float("inf")
        for _ in range(args.repeat):
            ours = min(ours, best_of(
                lambda: [kv.most_similar(q, topn=args.topn) for q in queries], 1)[0])
            batch = min(batch, best_of(
                lambda: kv.most_similar_batch(queries, topn=args.topn), 1)[0])
            if g is not None:
                theirs = min(theirs, best_of(
                    lambda: [g.most_similar(q, topn=args.topn) for q in queries], 1)[0])
        if g is None:
            theirs = None
        else:
            agree = sum([w for w, _ in kv.most_similar(q, topn=args.topn)] ==
                        [w for w, _ in g.most_similar(q, topn=args.topn)] for q in queries[:100])
        rows.append((f"{args.queries} most_similar", ours, theirs))
        rows.append((f"{args.queries} as one batch", batch, theirs))

    print(f"{args.words} words x {args.dim} dims, {args.queries} queries (top {args.topn}); "
          f"gensim {'not installed' if GensimKV is None else 'installed'}")
    print(f"{'operation':<28} {'w2v s':>9} {'gensim s':>9} {'gensim/w2v':>11}")
    for name, ours, theirs in rows:
        g = f"{theirs:9.3f}" if theirs is not None else f"{'-':>9}"
        ratio = f"{theirs / ours:10.1f}x" if theirs is not None else f"{'-':>11}"
        print(f"{name:<28} {ours:9.3f} {g} {ratio}")
    if GensimKV is not None:
        print(f"same top-{args.topn} words as gensim for {agree}/100 checked queries")


if __name__ == "__main__":
    main()
