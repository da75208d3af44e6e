"""Scale on one machine: first pass, training and peak memory from 10M to 1B tokens, beside
gensim corpus_file and word2vec.c's vocabulary pass.

    python benchmarks/bench_scale.py [--sizes 10M,100M,1B] [--threads 2] [--gensim-max 100M]
                                     [--word2vec-c SOURCE.c] [--tmp DIR] [--keep]

Corpora are the dev corpus's lines, shuffled and repeated up to each size, written to a temp
dir (never committed; --keep leaves them for a rerun). Every run is its own subprocess; peak RSS
is the child's own (os.wait4). Per size:

- word2vec.c: its vocabulary pass only (`-save-vocab` with no `-output`: it stops after counting),
  one thread, built with gcc -O3 from --word2vec-c (tmikolov/word2vec's word2vec.c; where it is
  not given or does not build, the row says so);
- w2v cold: Word2Vec(corpus_file, corpus_store="disk") into an empty cache, CBOW-NS, 1 epoch:
  the first pass (count, encode, write the store), training, the whole wall time, peak RSS;
- w2v cached: the same corpus again: the first pass reads the cache (build_vocab only);
- gensim corpus_file: CBOW-NS, 1 epoch (up to --gensim-max tokens; beyond, scaled from the
  largest size run, and marked so);
- "fixed": the RSS of a process that imported w2v and trained on a tiny corpus, which is the
  runtime's fixed cost; "beyond fixed" is peak RSS minus it.

Settings: vector_size 100, window 5, min_count 5, sample 1e-3, negative 5, alpha 0.05.
A noisy 2-core machine: read ratios from one run.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "data" / "dev.txt.gz"
SETTINGS = dict(vector_size=100, window=5, min_count=5, sample=1e-3, negative=5, hs=0, sg=0, alpha=0.05,
                epochs=1)


def parse_size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 10 ** 3, "M": 10 ** 6, "B": 10 ** 9, "G": 10 ** 9}.get(s[-1])
    return int(float(s[:-1]) * mult) if mult else int(s)


def make_corpus(path: Path, n_tokens: int, seed: int = 0):
    """The dev corpus's lines, each copy in a new random order, up to n_tokens tokens."""
    if path.exists():
        return
    with gzip.open(DEV, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    lens = np.array([len(l.split()) for l in lines])
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    done = 0
    with open(tmp, "wb", buffering=1 << 24) as out:
        while done < n_tokens:
            order = rng.permutation(len(lines))
            cum = np.cumsum(lens[order])
            take = int(np.searchsorted(cum, n_tokens - done, side="left")) + 1
            take = min(take, len(order))
            out.write(b"".join(lines[i] for i in order[:take]))
            done += int(cum[take - 1])
    os.rename(tmp, path)


def run_child(argv, env=None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of a subprocess."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate()
    _, status, usage = os.wait4(p.pid, 0) if p.returncode is None else (0, p.returncode, None)
    wall = time.perf_counter() - t0
    if p.returncode:
        raise RuntimeError(f"{argv[:3]} failed ({p.returncode}): {err.decode()[-2000:]}")
    return wall, usage, out.decode()


def measured(argv, env=None):
    """Run argv; returns (wall s, peak RSS MB, stdout), RSS from the child's rusage.

    The dirty pages that the runs before left (the corpus just generated, a store just written)
    are written back first, outside the timing: otherwise the kernel may write them back (and
    throttle new writes) during whichever run comes next, which moved the first pass by 25%."""
    os.sync()
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status:
        raise RuntimeError(f"{' '.join(map(str, argv[:4]))} failed ({status}): {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out.decode()


CHILD = r"""
import json, sys, time
mode, corpus, cache, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
settings = json.loads(sys.argv[5])
out = {}
if mode == "gensim":
    from gensim.models import Word2Vec
    t = time.perf_counter()
    m = Word2Vec(corpus_file=corpus, workers=threads, **settings)
    out["total"] = time.perf_counter() - t
    out["words"] = m.corpus_total_words
else:
    from w2v import Word2Vec
    if mode == "fixed":
        Word2Vec([["a", "b", "c", "d"]] * 500, min_count=1, workers=threads, epochs=1, progress=False)
    else:
        m = Word2Vec(workers=threads, progress=False, corpus_store="disk", cache_dir=cache, **settings)
        t = time.perf_counter()
        m.build_vocab(corpus_file=corpus)
        out["first_pass"] = time.perf_counter() - t
        out["words"] = m._corpus[1].n_words
        if mode == "w2v":
            t2 = time.perf_counter()
            m.train()
            out["train"] = time.perf_counter() - t2
        out["total"] = time.perf_counter() - t
print(json.dumps(out))
"""


def build_word2vec_c(source: str | None, tmp: Path) -> Path | None:
    if not source or not Path(source).exists():
        return None
    exe = tmp / "word2vec"
    r = subprocess.run(["gcc", "-O3", "-march=native", "-funroll-loops", "-Wno-unused-result", "-pthread",
                        str(source), "-o", str(exe), "-lm"], capture_output=True)
    return exe if r.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10M,100M,1B")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gensim-max", default="100M")
    ap.add_argument("--word2vec-c", help="path of word2vec.c (tmikolov/word2vec), built here with gcc -O3")
    ap.add_argument("--tmp", help="where corpora, caches and the build go (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the corpora (and caches) for a rerun")
    ap.add_argument("--pass-repeats", type=int, default=1,
                    help="time word2vec.c's vocabulary pass and w2v's first pass (no cache) this many times, "
                         "alternating, and report the median of the paired ratios (the first pass moves by a "
                         "quarter between runs here)")
    args = ap.parse_args()
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="w2v-scale-"))
    tmp.mkdir(parents=True, exist_ok=True)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    gensim_max = parse_size(args.gensim_max)
    py = sys.executable
    w2vc = build_word2vec_c(args.word2vec_c, tmp)
    settings = json.dumps(SETTINGS)
    fixed = measured([py, "-c", CHILD, "fixed", "-", "-", str(args.threads), settings])[1]
    rows = []
    gensim_rate = None
    try:
        for n in sizes:
            corpus = tmp / f"corpus-{n}.txt"
            t = time.perf_counter()
            make_corpus(corpus, n)
            print(f"# corpus {n:,} tokens: {corpus.stat().st_size / 1e9:.2f} GB "
                  f"(made in {time.perf_counter() - t:.0f} s)", file=sys.stderr, flush=True)
            row = {"size": n}
            # word2vec.c's vocabulary pass alone: -save-vocab without -output, one thread
            c_pass = [str(w2vc), "-train", str(corpus), "-save-vocab", str(tmp / "vocab.txt"),
                      "-threads", "1", "-min-count", "5"]
            if w2vc is not None:
                wall, rss, _ = measured(c_pass)
                row["c"] = dict(wall=wall, rss=rss)
            cache = tmp / f"cache-{n}"
            shutil.rmtree(cache, ignore_errors=True)
            wall, rss, out = measured([py, "-c", CHILD, "w2v", str(corpus), str(cache), str(args.threads), settings])
            row["w2v"] = dict(json.loads(out), wall=wall, rss=rss)
            wall, rss, out = measured([py, "-c", CHILD, "w2v-cached", str(corpus), str(cache), str(args.threads),
                                       settings])
            row["cached"] = dict(json.loads(out), wall=wall, rss=rss)
            if w2vc is not None:
                row["pass_pairs"] = [(row["c"]["wall"], row["w2v"]["first_pass"])]
                for _ in range(args.pass_repeats - 1):
                    c_wall = measured(c_pass)[0]
                    shutil.rmtree(cache, ignore_errors=True)
                    out = measured([py, "-c", CHILD, "w2v-first", str(corpus), str(cache), str(args.threads),
                                    settings])[2]
                    row["pass_pairs"].append((c_wall, json.loads(out)["first_pass"]))
            if n <= gensim_max:
                wall, rss, out = measured([py, "-c", CHILD, "gensim", str(corpus), "-", str(args.threads), settings])
                row["gensim"] = dict(json.loads(out), wall=wall, rss=rss)
                gensim_rate = (n, wall, rss)
            elif gensim_rate is not None:
                n0, wall0, rss0 = gensim_rate
                row["gensim"] = dict(wall=wall0 * n / n0, rss=rss0, scaled_from=n0)
            if not args.keep:
                shutil.rmtree(cache, ignore_errors=True)
                corpus.unlink()
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nfixed cost (w2v imported, kernels run once): {fixed:.0f} MB peak RSS; threads={args.threads}; "
          f"CBOW-NS, 1 epoch\n")
    print("| tokens | system | first pass s | first pass tok/s | train words/s | wall s | peak RSS MB | beyond fixed MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = r["size"]
        label = f"{n / 1e6:,.0f}M" if n < 10 ** 9 else f"{n / 1e9:g}B"
        if "c" in r:
            c = r["c"]
            print(f"| {label} | word2vec.c vocab pass (1 thread) | {c['wall']:.1f} | {n / c['wall'] / 1e6:.1f}M | | "
                  f"{c['wall']:.1f} | {c['rss']:.0f} | |")
        w = r["w2v"]
        print(f"| {label} | w2v, no cache | {w['first_pass']:.1f} | {n / w['first_pass'] / 1e6:.1f}M | "
              f"{w['words'] / w['train'] / 1e6:.2f}M | {w['wall']:.1f} | {w['rss']:.0f} | {w['rss'] - fixed:.0f} |")
        c = r["cached"]
        print(f"| {label} | w2v, cached (first pass only) | {c['first_pass']:.2f} | | | {c['wall']:.1f} | "
              f"{c['rss']:.0f} | {c['rss'] - fixed:.0f} |")
        if "gensim" in r:
            g = r["gensim"]
            note = f" (scaled from {g['scaled_from'] / 1e6:.0f}M)" if "scaled_from" in g else ""
            print(f"| {label} | gensim corpus_file{note} | | | | {g['wall']:.1f} | "
                  f"{g['rss']:.0f}{'?' if note else ''} | |")
            print(f"| {label} | **w2v / gensim wall** | | | | **{g['wall'] / w['wall']:.2f}x** | | |")
        if "c" in r:
            pairs = r.get("pass_pairs", [(r["c"]["wall"], w["first_pass"])])
            ratio = statistics.median(c / f for c, f in pairs)
            how = "" if len(pairs) == 1 else f" (median of {len(pairs)} paired runs)"
            print(f"| {label} | **w2v first pass / word2vec.c vocab pass speed{how}** | "
                  f"**{ratio:.2f}x** | | | | | |")
    for r in rows:
        if len(r.get("pass_pairs", [])) > 1:
            print(f"\n{r['size']:,} tokens, first pass pairs (word2vec.c s, w2v s, ratio): " + ", ".join(
                f"{c:.2f} / {f:.2f} / {c / f:.2f}x" for c, f in r["pass_pairs"]))


if __name__ == "__main__":
    main()
