"""Approximate nearest neighbours against exact search: hnswlib, pynndescent and gensim's Annoy.

    python benchmarks/bench_index.py                           # 1M x 100 synthetic vectors
    python benchmarks/bench_index.py --words 100000 --dev      # 100k synthetic, then the dev vectors
    python benchmarks/bench_index.py --words 0 --vectors v.bin # a vectors file only

Synthetic vectors: a mixture of --clusters Gaussian clusters (seeded). Cluster sizes are drawn
from a flat Dirichlet; centres are N(0, I_d); by default each cluster is an isotropic Gaussian
whose RMS distance from its centre equals the centres' RMS norm (--spread 1). Calibrated on
the dev vectors: at their size (41,142 x 100, 41 clusters) this mixture is as hard for hnsw as
they are (recall@10 at ef 16/32/64: 0.885/0.942/0.979 against 0.879/0.943/0.974), and its
nearest neighbours' cosines are alike (about 0.68); clusters flattened along their axes
(--decay a: variance along the j-th axis as j ** -a, with a random orientation per cluster)
are easier (a = 1: 0.974/0.992/0.998). One isotropic cloud would have no neighbours worth
finding. The dev vectors: CBOW-NS, 100 dimensions, 5 epochs, min_count 5, trained on
/work/shared/data/dev.txt.gz (--dev), or any vectors file (--vectors).

For every data set: --queries words drawn with the seed; the exact answer is the top 10 by
cosine leaving the query word out (most_similar's answer). Exact search is timed two ways: one
query at a time through KeyedVectors.most_similar, and batched through most_similar_batch
(queries x vocabulary matrix products, in blocks that keep each product near 256 MB). Each
index is timed one query at a time through most_similar(word, indexer=...) -- the path a user
takes, query word left out -- and batched through its `query` (hnswlib spreads a batch over
--threads; pynndescent runs it on one thread; gensim's AnnoyIndexer has no batch call). Recall@10
is the share of the exact top 10 that the one-at-a-time answers hold. Search settings
(hnsw ef, nndescent epsilon) are swept on the same built index; Annoy's only setting through
gensim is the number of trees, fixed at build.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from w2v import KeyedVectors  # noqa: E402
from w2v import index as w2v_index  # noqa: E402

DEV_CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "dev.txt.gz")


def clustered_vectors(n, d, clusters, seed, decay=1.0, spread=0.5):
    """(n, d) float32: the Gaussian mixture described in the module docstring; a cluster's
    variance along its j-th axis falls as j ** -decay."""
    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(n, rng.dirichlet(np.ones(clusters)))
    centres = rng.standard_normal((clusters, d))
    axis_sd = np.arange(1, d + 1) ** (-decay / 2)
    # RMS distance from the centre = spread * sqrt(d), the centres' RMS norm times spread
    axis_sd *= spread * np.sqrt(d) / np.sqrt(np.sum(axis_sd ** 2))
    out = np.empty((n, d), dtype=np.float32)
    start = 0
    for c, size in enumerate(sizes.tolist()):
        if size == 0:
            continue
        rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
        offsets = (rng.standard_normal((size, d)) * axis_sd) @ rotation.T
        out[start: start + size] = centres[c] + offsets
        start += size
    return out[rng.permutation(n)]


def cluster_dimension(d, decay):
    """Participation ratio of one cluster: (sum of variances)^2 / sum of squared variances."""
    var = np.arange(1, d + 1) ** -decay
    return float(var.sum() ** 2 / np.sum(var ** 2))


def dev_vectors(corpus, threads, seed):
    from w2v import Word2Vec

    t0 = time.perf_counter()
    model = Word2Vec(corpus_file=corpus, vector_size=100, sg=0, negative=5, window=5, epochs=5,
                     min_count=5, workers=threads or os.cpu_count() or 1, seed=seed, progress=False)
    print(f"# trained the dev vectors ({len(model.wv)} words) in {time.perf_counter() - t0:.0f} s",
          flush=True)
    return model.wv


def exact(kv, words, topn, timed):
    """Exact answers (batched) and the queries/s of both exact ways."""
    kv.most_similar(words[0], topn=topn)  # the unit matrix is built once, outside the timings
    t0 = time.perf_counter()
    answers = kv.most_similar_batch(words, topn=topn)
    batched = len(words) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for w in words[:timed]:
        kv.most_similar(w, topn=topn)
    one = timed / (time.perf_counter() - t0)
    return [[kv.key_to_index[w] for w, _ in hits] for hits in answers], one, batched


def recall(found, truth):
    return float(np.mean([len(set(f) & set(t)) / max(len(t), 1) for f, t in zip(found, truth)]))


def one_at_a_time(kv, words, topn, indexer):
    kv.most_similar(words[0], topn=topn, indexer=indexer)  # warm-up (numba compiles, caches)
    t0 = time.perf_counter()
    answers = [kv.most_similar(w, topn=topn, indexer=indexer) for w in words]
    qps = len(words) / (time.perf_counter() - t0)
    return [[kv.key_to_index[w] for w, _ in hits] for hits in answers], qps


def batched(index, kv, words, topn):
    rows = np.array([kv.key_to_index[w] for w in words])
    queries = kv.get_normed_vectors()[rows]
    index.query(queries[:2], topn + 1)
    t0 = time.perf_counter()
    found, _ = index.query(queries, topn + 1)
    qps = len(words) / (time.perf_counter() - t0)
    return [[r for r in f if r != q][:topn] for f, q in zip(found.tolist(), rows.tolist())], qps


def save_and_load(index, kv, kind):
    """Seconds to save and load the index, and its file's size (MB): printed as a note."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=os.environ.get("W2V_BENCH_TMP")) as tmp:
        path = os.path.join(tmp, f"v.{kind}.index")
        t0 = time.perf_counter()
        index.save(path)
        saved = time.perf_counter() - t0
        t0 = time.perf_counter()
        w2v_index.load_index(path, kv)
        loaded = time.perf_counter() - t0
        print(f"# {kind}: file {os.path.getsize(path) / 1e6:,.0f} MB, saved in {saved:.1f} s, loaded "
              f"(fingerprint and probes checked) in {loaded:.1f} s", flush=True)


def parse_params(text):
    """'M=16,ef_construction=200' -> {'M': 16, 'ef_construction': 200}."""
    out = {}
    for item in filter(None, (text or "").split(",")):
        name, value = item.split("=")
        out[name.strip()] = int(value) if value.strip().lstrip("-").isdigit() else float(value)
    return out


def run(name, kv, args, rows_out):
    rng = np.random.default_rng(args.seed)
    words = [kv.index_to_key[i] for i in rng.choice(len(kv), size=min(args.queries, len(kv)), replace=False)]
    timed = min(len(words), args.exact_timed or len(words))
    truth, exact_one, exact_batch = exact(kv, words, args.topn, timed)
    print(f"# {name}: {len(kv)} x {kv.vector_size}; exact: {exact_one:.1f} q/s one at a time "
          f"({timed} queries), {exact_batch:.0f} q/s batched", flush=True)

    def add(method, settings, build_s, found, one_qps, batch_qps):
        row = (name, method, settings, build_s, one_qps, one_qps / exact_one,
               batch_qps, batch_qps / exact_batch if batch_qps else None, recall(found, truth))
        rows_out.append(row)
        print(format_row(row), flush=True)

    add("exact", "most_similar", None, truth, exact_one, exact_batch)
    threads = {"threads": args.threads}
    for config in args.hnsw if "hnsw" in args.methods else ():
        index = w2v_index.build_index(kv, "hnsw", **parse_params(config), **threads)
        for ef in args.hnsw_ef:
            index.ef = ef
            found, one_qps = one_at_a_time(kv, words, args.topn, index)
            _, batch_qps = batched(index, kv, words, args.topn)
            add("hnsw", f"M={index.params['M']} efC={index.params['ef_construction']} ef={ef}",
                index.build_seconds, found, one_qps, batch_qps)
        if args.save:
            save_and_load(index, kv, "hnsw")
        del index
    for config in args.nndescent if "nndescent" in args.methods else ():
        index = w2v_index.build_index(kv, "nndescent", **parse_params(config), **threads)
        for eps in args.nndescent_epsilon:
            index.epsilon = eps
            found, one_qps = one_at_a_time(kv, words, args.topn, index)
            _, batch_qps = batched(index, kv, words, args.topn)
            add("nndescent", f"k={index.params['n_neighbors']} eps={eps}", index.build_seconds,
                found, one_qps, batch_qps)
        if args.save:
            save_and_load(index, kv, "nndescent")
        del index
    if "annoy" in args.methods:
        from gensim.models import KeyedVectors as GensimKeyedVectors
        from gensim.similarities.annoy import AnnoyIndexer

        g = GensimKeyedVectors(kv.vector_size, count=0)
        g.add_vectors(kv.index_to_key, kv.vectors)
        for trees in args.annoy_trees:
            t0 = time.perf_counter()
            index = AnnoyIndexer(g, trees)
            build_s = time.perf_counter() - t0
            found, one_qps = one_at_a_time(kv, words, args.topn, index)
            add("annoy (gensim)", f"trees={trees}", build_s, found, one_qps, None)
            del index
        del g


HEADER = ("data", "method", "settings", "build s", "q/s 1-by-1", "x exact", "q/s batched", "x exact",
          "recall@10")


def format_row(row):
    name, method, settings, build_s, one, one_x, batch, batch_x, rec = row
    return (f"| {name} | {method} | {settings} | {'-' if build_s is None else f'{build_s:.0f}'} | "
            f"{one:,.0f} | {one_x:.1f} | {'-' if not batch else f'{batch:,.0f}'} | "
            f"{'-' if batch_x is None else f'{batch_x:.2f}'} | {rec:.3f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=1_000_000, help="synthetic vectors (0: none)")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--spread", type=float, default=1.0,
                    help="RMS distance of a cluster's points from its centre over the centres' RMS norm")
    ap.add_argument("--decay", type=float, default=0.0,
                    help="a cluster's variance along its j-th axis falls as j ** -decay")
    ap.add_argument("--dev", action="store_true", help="also train and index the dev corpus' vectors")
    ap.add_argument("--dev-corpus", default=DEV_CORPUS)
    ap.add_argument("--vectors", help="also index this vectors file")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--exact-timed", type=int, default=0,
                    help="time exact one-at-a-time search on this many of the queries (0: all)")
    ap.add_argument("--topn", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="index build and batch threads (0: all)")
    ap.add_argument("--methods", nargs="+", default=["hnsw", "nndescent", "annoy"],
                    choices=["hnsw", "nndescent", "annoy"])
    ap.add_argument("--hnsw", nargs="+", default=["M=16,ef_construction=100", "M=32,ef_construction=200"],
                    help="hnsw build parameters, one index per string")
    ap.add_argument("--hnsw-ef", type=int, nargs="+", default=[32, 64, 128, 256])
    ap.add_argument("--nndescent", nargs="+", default=["n_neighbors=30"],
                    help="nndescent build parameters, one index per string")
    ap.add_argument("--nndescent-epsilon", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    ap.add_argument("--annoy-trees", type=int, nargs="+", default=[100])
    ap.add_argument("--save", action="store_true",
                    help="also save and load each w2v index (in $W2V_BENCH_TMP or the temp directory)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    rows = []
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER), flush=True)
    if args.words:
        t0 = time.perf_counter()
        vectors = clustered_vectors(args.words, args.dim, args.clusters, args.seed, args.decay, args.spread)
        print(f"# {args.words} synthetic vectors in {time.perf_counter() - t0:.0f} s; a cluster's "
              f"intrinsic dimension (participation ratio): {cluster_dimension(args.dim, args.decay):.1f}", flush=True)
        kv = KeyedVectors(args.dim, [f"w{i}" for i in range(args.words)], vectors)
        del vectors
        run(f"synthetic {args.words // 1000}k" if args.words < 10**6 else f"synthetic {args.words / 1e6:g}M",
            kv, args, rows)
        del kv
    if args.dev:
        if not os.path.exists(args.dev_corpus):
            sys.exit(f"dev corpus not found: {args.dev_corpus}")
        run("dev vectors", dev_vectors(args.dev_corpus, args.threads, args.seed), args, rows)
    if args.vectors:
        from w2v.vectors import load_vectors
        run(os.path.basename(args.vectors), load_vectors(args.vectors), args, rows)
    print()
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows:
        print(format_row(row))


if __name__ == "__main__":
    main()
