"""How long training stands still for each checkpoint of a model of about 1 GB of weights.

    python benchmarks/bench_checkpoint.py [--words 1300000] [--size 100] [--every 0.5] [--epochs 2]

A synthetic corpus is written to a temporary directory: every one of `--words` distinct words
once (so min_count=1 keeps them all: V x size x 4 bytes per matrix, two matrices with skip-gram
and negative sampling: 1.04 GB at the defaults), then Zipf-distributed tokens. The model is
built by `build_vocab` on that file and trained with `checkpoint_every=--every` seconds, so
that checkpoints are written back to back.

Per checkpoint the table shows what the training loop waits for inside
`CheckpointWriter.write`: the previous checkpoint's background write still in progress (wait),
then the copy of the matrices (snapshot), and the background write's own time (not a pause).
The pause per checkpoint is wait + snapshot; the units in flight when the checkpoint falls due
finish first (the threads are stopped at a unit boundary), which is not counted here.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2v import Word2Vec  # noqa: E402
from w2v import checkpoint as checkpoint_mod  # noqa: E402


def write_corpus(path: Path, n_words: int, n_tokens: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for start in range(0, n_words, 20):
            f.write(" ".join(f"w{i}" for i in range(start, min(start + 20, n_words))) + "\n")
        for _ in range(0, n_tokens, 1_000_000):
            ids = rng.zipf(1.2, size=1_000_000) % n_words
            lines = ids.reshape(-1, 20)
            f.write("".join(" ".join(f"w{i}" for i in row) + "\n" for row in lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=1_300_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--tokens", type=int, default=4_000_000)
    ap.add_argument("--every", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    records = []
    write_one = checkpoint_mod.CheckpointWriter.write
    save_one = checkpoint_mod.CheckpointWriter._write

    def timed_write(self, arrays, meta):
        t0 = time.perf_counter()
        self.wait()
        t1 = time.perf_counter()
        write_one(self, arrays, meta)  # its own wait() returns at once now
        records.append({"wait": t1 - t0, "snapshot": time.perf_counter() - t1})

    def timed_save(self, arrays, meta):
        t0 = time.perf_counter()
        save_one(self, arrays, meta)
        records_bg.append(time.perf_counter() - t0)

    records_bg = []
    checkpoint_mod.CheckpointWriter.write = timed_write
    checkpoint_mod.CheckpointWriter._write = timed_save

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "zipf.txt"
        t0 = time.perf_counter()
        write_corpus(corpus, args.words, args.tokens)
        print(f"corpus: {corpus.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
        model = Word2Vec(vector_size=args.size, min_count=1, sg=1, negative=5, workers=args.workers,
                         epochs=args.epochs, checkpoint=tmp / "ckpt.npz", checkpoint_every=args.every,
                         corpus_store="memory", progress=False)
        model.build_vocab(corpus_file=corpus)
        gb = sum(w.nbytes for w in (model.wv.vectors, model.w_out_ns, model.w_out_hs)) / 2**30
        print(f"vocabulary {len(model.wv)} words x {args.size}: {gb:.2f} GiB of weights")
        t0 = time.perf_counter()
        model.train()
        wall = time.perf_counter() - t0
        ckpt = (tmp / "ckpt.npz").stat().st_size / 2**30

    print(f"training {wall:.1f} s, {len(records)} checkpoints of {ckpt:.2f} GiB")
    print("| # | wait for previous write (s) | snapshot copy (s) | pause (s) | background write (s) |")
    print("|---|---|---|---|---|")
    for i, r in enumerate(records):
        bg = f"{records_bg[i]:.2f}" if i < len(records_bg) else ""
        print(f"| {i + 1} | {r['wait']:.3f} | {r['snapshot']:.3f} | {r['wait'] + r['snapshot']:.3f} | {bg} |")
    snaps = np.array([r["snapshot"] for r in records])
    pauses = np.array([r["wait"] + r["snapshot"] for r in records])
    print(f"snapshot per GiB: median {np.median(snaps) / gb:.3f} s, max {snaps.max() / gb:.3f} s")
    print(f"pause per GiB (with waits for the previous write): median {np.median(pauses) / gb:.3f} s, "
          f"max {pauses.max() / gb:.3f} s; background write median {np.median(records_bg):.2f} s "
          f"({gb / np.median(records_bg):.2f} GiB/s)")


if __name__ == "__main__":
    main()
