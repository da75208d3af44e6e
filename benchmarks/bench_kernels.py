"""Kernel micro-benchmark: words/s and predictions/s of `kernels.train_chunk`.

    python benchmarks/bench_kernels.py [--words 1000000] [--configs sg-ns,cbow-ns,sg-hs,cbow-hs]
                                       [--workers 1,2] [--hot-rows 0,64]

Encodes a prefix of the dev corpus once, then times one epoch per config and thread count
(no vocabulary pass, no text): the cost of the numba kernel and the thread driver alone.
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing
CONFIGS = {
    "sg-ns": dict(sg=1, hs=0, negative=5, alpha=0.025),
    "cbow-ns": dict(sg=0, hs=0, negative=5, alpha=0.05),
    "sg-hs": dict(sg=1, hs=1, negative=0, alpha=0.025),
    "cbow-hs": dict(sg=0, hs=1, negative=0, alpha=0.05),
}


def main():
    from w2v import Word2Vec, trainer
    from w2v.backends.threads import HOT_ROWS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "dev.txt.gz"))
    p.add_argument("--words", type=int, default=1_000_000)
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--repeat", type=int, default=2, help="best of N epochs")
    p.add_argument("--extra", default="{}", help="JSON of extra Word2Vec keywords")
    p.add_argument("--workers", default="1", help="comma-separated thread counts, e.g. 1,2")
    p.add_argument("--hot-rows", default=str(HOT_ROWS),
                   help="comma-separated private hot-row counts per thread (backends.threads.HOT_ROWS), e.g. 0,64")
    args = p.parse_args()
    extra = json.loads(args.extra)
    opener = gzip.open if args.corpus.endswith(".gz") else open
    sents, n = [], 0
    with opener(args.corpus, "rt") as f:
        for line in f:
            toks = line.split()
            sents.append(toks)
            n += len(toks)
            if n >= args.words:
                break
    print(f"{'config':8} {'threads':>7} {'hot':>5} {'words/s':>10} {'predictions/s':>14} {'ns/prediction':>14}")
    for name, workers, hot in itertools.product(args.configs.split(","), map(int, args.workers.split(",")),
                                                map(int, args.hot_rows.split(","))):
        if workers == 1 and hot != int(args.hot_rows.split(",")[0]):
            continue  # one thread keeps no private rows: one row is enough
        model = Word2Vec(vector_size=100, window=5, min_count=5, sample=1e-3, workers=workers, epochs=1,
                         **CONFIGS[name], **extra)
        model.build_vocab(sents)
        corpus = model._encoded(sents, None)
        best = None
        for rep in range(args.repeat + 1):  # the first run loads/compiles the kernel
            t0 = time.perf_counter()
            stats = trainer.train(corpus, model.wv.vectors, model.w_out_hs, model.w_out_ns,
                                  model._kernel_tables(), model._kernel_config(), epochs=1, workers=workers,
                                  start_alpha=model.alpha, end_alpha=model.min_alpha, seed=rep,
                                  progress=False, hot_rows=hot, shuffle=model.settings.shuffle)[0]
            dt = time.perf_counter() - t0
            if rep and (best is None or dt < best[0]):
                best = (dt, stats)
        dt, stats = best
        print(f"{name:8} {workers:7} {hot if workers > 1 else '-':>5} {stats['raw_words'] / dt:10.0f} {stats['predictions'] / dt:14.0f} "
              f"{1e9 * dt / stats['predictions']:14.1f}", flush=True)


if __name__ == "__main__":
    main()
