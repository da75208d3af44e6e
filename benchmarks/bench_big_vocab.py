"""A vocabulary of ~10M words: the first pass with and without max_vocab_size bounding its tables.

    python benchmarks/bench_big_vocab.py [--tokens 250M] [--types 20M] [--exponent 1.1]
                                         [--max-vocab-sizes none,5M,2M] [--train] [--tmp DIR] [--keep]

The corpus is synthetic, written to a temp dir (never committed; --keep leaves it for a rerun):
--tokens tokens drawn from a power law over --types word types (rank k with probability about
k^-exponent, the continuous law's inverse CDF rounded down), 20 tokens a line. Word k is k - 1
in bijective base 26 (a, b, ..., z, aa, ...): frequent words are short, as in text. The defaults
give ~10.4M distinct words, ~1.4M of them seen 5 times or more, in 1.1 GB.

Each setting runs in its own subprocess (peak RSS is the child's own, os.wait4):
Word2Vec(corpus_store="disk", min_count 5, vector_size 32, 2 threads).build_vocab(corpus_file),
into an empty cache: the compiled first pass (count, prune, encode, write the store), then
the vocabulary and its matrices; with --train, one CBOW-NS epoch too. Printed per setting:
first-pass time, words the tables held at the end, the vocabulary kept (min_count 5), how
many of the unpruned run's vocabulary it has (and how many of its most frequent words, all
kept, before the first one lost), whether every kept
count equals the unpruned count, and peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit

REPO = Path(__file__).resolve().parents[1]
LINE_TOKENS = 20


def parse_size(s: str) -> int | None:
    s = s.strip().upper()
    if s in ("NONE", ""):
        return None
    mult = {"K": 10 ** 3, "M": 10 ** 6, "B": 10 ** 9}.get(s[-1])
    return int(float(s[:-1]) * mult) if mult else int(s)


@njit(cache=True)
def _spell(ranks, out):
    """Write the words of these ranks (>= 1) into out, a space between them and a newline after
    every LINE_TOKENS; returns the bytes written."""
    p = 0
    letters = np.empty(16, dtype=np.uint8)
    for t in range(ranks.shape[0]):
        k = ranks[t]
        n = 0
        while k > 0:  # bijective base 26
            k -= 1
            letters[n] = 97 + k % 26
            k //= 26
            n += 1
        for m in range(n - 1, -1, -1):
            out[p] = letters[m]
            p += 1
        out[p] = 10 if (t + 1) % LINE_TOKENS == 0 else 32
        p += 1
    return p


def make_corpus(path: Path, n_tokens: int, n_types: int, exponent: float, seed: int = 0):
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    a = 1.0 - exponent
    top = (n_types + 1.0) ** a
    tmp = path.with_suffix(".part")
    chunk = 10_000_000
    out = np.empty(chunk * 8, dtype=np.uint8)
    with open(tmp, "wb") as f:
        for start in range(0, n_tokens, chunk):
            u = rng.random(min(chunk, n_tokens - start))
            ranks = np.minimum(((top - 1.0) * u + 1.0) ** (1.0 / a), n_types).astype(np.int64)
            f.write(out[:_spell(ranks, out)].data)
    os.rename(tmp, path)


CHILD = r"""
import json, sys, time
corpus, cache, max_vocab_size, train, vocab_out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
from w2v import Word2Vec, fastscan
seen = {}
real = fastscan.scan_files
def spy(*a, **k):
    r = real(*a, **k)
    seen.update(counted=len(r.words), pruned=r.pruned, max_forgotten=r.max_forgotten, peak_words=r.peak_words)
    return r
fastscan.scan_files = spy
m = Word2Vec(vector_size=32, min_count=5, workers=2, epochs=1, sg=0, negative=5, hs=0, progress=False,
             corpus_store="disk", cache_dir=cache, max_vocab_size=max_vocab_size)
t = time.perf_counter()
m.build_vocab(corpus_file=corpus)
out = dict(seen, build_vocab=time.perf_counter() - t, vocab=len(m.wv), tokens_kept=m._corpus[1].n_words)
m.save_vocab(vocab_out)
if train:
    t = time.perf_counter()
    m.train()
    out["train"] = time.perf_counter() - t
print(json.dumps(out))
"""


def measured(argv):
    """(wall s, peak RSS MB, stdout) of a subprocess."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    out, err = p.stdout.read(), p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    if status:
        raise RuntimeError(f"child failed ({status}): {err.decode()[-2000:]}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, out.decode()


def read_vocab(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return {w: int(c) for w, c in (line.split() for line in f)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", default="250M")
    ap.add_argument("--types", default="20M")
    ap.add_argument("--exponent", type=float, default=1.1)
    ap.add_argument("--max-vocab-sizes", default="none,5M,2M", help="'none' first: the others are compared to it")
    ap.add_argument("--train", action="store_true", help="train one CBOW-NS epoch after build_vocab")
    ap.add_argument("--tmp", help="where the corpus and caches go (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the corpus for a rerun")
    args = ap.parse_args()
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="w2v-big-vocab-"))
    tmp.mkdir(parents=True, exist_ok=True)
    n_tokens, n_types = parse_size(args.tokens), parse_size(args.types)
    sizes = [parse_size(s) for s in args.max_vocab_sizes.split(",")]
    corpus = tmp / f"zipf-{n_tokens}-{n_types}-{args.exponent}.txt"
    rows = []
    try:
        t = time.perf_counter()
        make_corpus(corpus, n_tokens, n_types, args.exponent)
        print(f"# corpus: {n_tokens:,} tokens over {n_types:,} types (exponent {args.exponent}), "
              f"{corpus.stat().st_size / 1e9:.2f} GB, made in {time.perf_counter() - t:.0f} s", flush=True)
        full = None
        for size in sizes:
            cache = tmp / f"cache-{size}"
            shutil.rmtree(cache, ignore_errors=True)
            vocab_file = tmp / f"vocab-{size}.txt"
            wall, rss, out = measured([sys.executable, "-c", CHILD, str(corpus), str(cache), json.dumps(size),
                                       "1" if args.train else "0", str(vocab_file)])
            row = dict(json.loads(out), size=size, wall=wall, rss=rss)
            kept = read_vocab(vocab_file)
            if size is None:
                full = kept
            elif full is not None:
                ranked = sorted(full, key=lambda w: (-full[w], w))
                row["of_full"] = sum(w in kept for w in full)
                # the first word of the unpruned vocabulary that pruning lost: all above it are kept
                row["top_kept"] = next((i for i, w in enumerate(ranked) if w not in kept), len(ranked))
                row["lost_count"] = full[ranked[row["top_kept"]]] if row["top_kept"] < len(ranked) else None
                row["exact"] = all(full.get(w) == c for w, c in kept.items())
            shutil.rmtree(cache, ignore_errors=True)
            vocab_file.unlink()
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{n_tokens / 1e6:.0f}M tokens, {n_types / 1e6:.0f}M types; build_vocab = compiled first pass "
          "+ vocabulary + store; 2 threads, vector_size 32, min_count 5\n")
    print("| max_vocab_size | build_vocab s | Mtok/s | words held at the end | vocabulary (min_count 5) | "
          "of the unpruned vocabulary | its top words all kept | counts exact | max_forgotten | train s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        size = "none" if r["size"] is None else f"{r['size'] / 1e6:g}M"
        of_full = f"{r['of_full'] / len(full):.1%}" if "of_full" in r else ""
        top = f"{r['top_kept']:,} (count {r['lost_count']:,} lost)" if r.get("lost_count") else \
            ("all" if "top_kept" in r else "")
        exact = {True: "yes", False: "NO"}.get(r.get("exact"), "")
        train = f"{r['train']:.0f}" if "train" in r else ""
        print(f"| {size} | {r['build_vocab']:.1f} | {n_tokens / r['build_vocab'] / 1e6:.1f} | {r['counted']:,} | "
              f"{r['vocab']:,} | {of_full} | {top} | {exact} | {r['max_forgotten'] if r['pruned'] else ''} | "
              f"{train} | {r['rss']:.0f} |")


if __name__ == "__main__":
    main()
