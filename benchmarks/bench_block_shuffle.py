"""Quality of block shuffling (the corpus store) against sentence shuffling (the corpus in RAM).

    python benchmarks/bench_block_shuffle.py [--configs cbow-ns,sg-ns] [--seeds 1,2,3] [--epochs 5]

The same dev corpus, settings and seeds, trained once from RAM (each epoch a permutation of all
sentences) and once from a corpus store (each epoch a permutation of the blocks of ~50,000 words,
and of the sentences within each block), then scored by gensim's evaluators (bench_train.evaluate).
Prints one row per config and mode: means over the seeds and the per-seed spread.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import COMMON, CONFIGS, DATA, decompressed, evaluate  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="cbow-ns,sg-ns")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--block-words", type=int, help="the store's block size (default store.BLOCK_WORDS)")
    ap.add_argument("--modes", default="memory,disk")
    args = ap.parse_args()
    from w2v import Word2Vec, store
    if args.block_words:
        store.BLOCK_WORDS = args.block_words
    tmp = Path(tempfile.mkdtemp(prefix="w2v-shuffle-"))
    corpus = decompressed(DATA / "dev.txt.gz", tmp)
    seeds = [int(s) for s in args.seeds.split(",")]
    print("| config | order | analogy | WS353 | SimLex | wall s (median) |")
    print("|---|---|---|---|---|---|")
    for config in args.configs.split(","):
        labels = {"memory": "sentences shuffled (RAM)", "disk": f"blocks shuffled (store, {store.BLOCK_WORDS} words)"}
        for mode in args.modes.split(","):
            label = labels[mode]
            scores, walls = [], []
            for seed in seeds:
                kw = dict(COMMON, **CONFIGS[config], epochs=args.epochs, workers=args.threads, seed=seed)
                t = time.perf_counter()
                m = Word2Vec(corpus_file=str(corpus), corpus_store=mode, cache_dir=tmp / "cache", progress=False, **kw)
                walls.append(time.perf_counter() - t)
                scores.append(evaluate(m.wv.index_to_key, m.wv.vectors, DATA))
            cols = []
            for k in ("analogy", "ws353", "simlex"):
                vals = [s[k] for s in scores]
                cols.append(f"{statistics.mean(vals):.3f} ({min(vals):.3f}-{max(vals):.3f})")
            print(f"| {config} | {label} | {' | '.join(cols)} | {statistics.median(walls):.1f} |", flush=True)


if __name__ == "__main__":
    main()
