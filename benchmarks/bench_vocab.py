"""The first pass over a corpus file: tokens/s of the Python pass and of the compiled one.

    python benchmarks/bench_vocab.py [--corpus ../shared/data/dev.txt.gz] [--repeat 17]
                                     [--runs 2] [--workers N] [--no-old-big] [--no-gz]

Files are made in a temporary directory, deleted at the end: the corpus decompressed (the dev
corpus: 5.8M tokens), then `--repeat` copies of it in one file (17: 99M tokens, 570 MB), plain
and gzip level 1. Each pass runs `--runs` times (the machine is shared: take the best, and
look at the CPU seconds, which are what the pass used whatever else ran). "scan" is the pass
alone (count, and encode to first-seen ids); "+encode" adds `Vocab.from_counts` (min_count 5)
and `encode`, which both passes share. The reader thread's decompression is inside the time:
.gz is bound by it, so its rate is reported apart.

On a machine shared with other jobs the counting threads may not get a core each (then cpu s
is about wall s). The last lines estimate the wall time on free cores from one run: all CPU
seconds, minus, per block, what the other pieces used beside the longest one (the reader's
time counts as serial: a pessimistic estimate).
"""
from __future__ import annotations

import argparse
import gzip
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn):
    c0, t0 = cpu_seconds(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, cpu_seconds() - c0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "dev.txt.gz"))
    p.add_argument("--repeat", type=int, default=17, help="copies of the corpus in the big file (0: none)")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--workers", type=int, default=None, help="counting threads (default: all cores)")
    p.add_argument("--no-old-big", action="store_true", help="skip the Python pass on the big file")
    p.add_argument("--no-gz", action="store_true", help="skip the .gz file")
    args = p.parse_args()

    from w2v import corpus, fastscan
    from w2v.vocab import Vocab, encode, scan_files, scan_iterable

    workers = args.workers or fastscan.default_workers()

    def old(path):
        return scan_iterable(corpus.LineSentence(path))

    def new(path):
        return scan_files([path], workers=workers)

    def new_and_encode(path):
        s = new(path)
        v = Vocab.from_counts(zip(s.words, s.counts.tolist()), min_count=5)
        n = len(s.ids)
        return encode(s, v), n

    def read_only(path, n):
        with corpus.open_binary(path) as f:
            while f.read(fastscan.BLOCK_BYTES):
                pass
        return None, n

    def free_core_estimate(path):
        """(tokens, CPU s, estimated wall s on `workers` free cores) of one compiled pass."""
        saved = [0.0]
        real_count, real_block = fastscan._Counter.count, fastscan._count_block

        def count(self, *a, **k):
            t0 = time.thread_time()
            real_count(self, *a, **k)
            self.seconds = time.thread_time() - t0

        def block(buf, n, pos, counters, out, pool):
            for c in counters:
                c.seconds = 0.0
            real_block(buf, n, pos, counters, out, pool)
            t = [c.seconds for c in counters]
            saved[0] += sum(t) - max(t)
        fastscan._Counter.count, fastscan._count_block = count, block
        try:
            out, _, cpu = timed(lambda: new(path))
        finally:
            fastscan._Counter.count, fastscan._count_block = real_count, real_block
        return len(out.ids), cpu, cpu - saved[0]

    tmp = Path(tempfile.mkdtemp(prefix="w2v-bench-vocab-"))
    try:
        small = tmp / "dev.txt"
        with gzip.open(args.corpus, "rb") as src, open(small, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 24)
        files = [("dev", small)]
        if args.repeat:
            big = tmp / f"dev-x{args.repeat}.txt"
            data = small.read_bytes()
            with open(big, "wb") as f:
                for _ in range(args.repeat):
                    f.write(data)
            files.append((f"dev x{args.repeat}", big))
            if not args.no_gz:
                with open(big, "rb") as src, gzip.open(str(big) + ".gz", "wb", compresslevel=1) as dst:
                    shutil.copyfileobj(src, dst, 1 << 24)
                files.append((f"dev x{args.repeat} .gz", Path(str(big) + ".gz")))
        new(small)  # loads the compiled functions from numba's cache (or compiles them)
        print(f"cores usable: {fastscan.default_workers()}, counting threads: {workers}")
        print(f"{'file':<16} {'MB':>6} {'tokens':>11}  {'pass':<18} {'wall s':>7} {'cpu s':>7} "
              f"{'Mtok/s':>7} {'Mtok/cpu-s':>10}")
        n_tokens = 0
        for name, path in files:
            mb = path.stat().st_size / 1e6
            passes = [("new scan", new), ("new scan+encode", new_and_encode)]
            if path.suffix == ".gz":
                passes.insert(0, ("decompress only", lambda q: read_only(q, n_tokens)))
            if not (args.no_old_big and path != small) and not path.suffix == ".gz":
                passes.insert(0, ("old scan (Python)", old))
            for label, fn in passes:
                for _ in range(args.runs):
                    out, wall, cpu = timed(lambda: fn(path))
                    n = out[1] if isinstance(out, tuple) else len(out.ids)
                    n_tokens = n
                    del out
                    print(f"{name:<16} {mb:6.0f} {n:11,d}  {label:<18} {wall:7.2f} {cpu:7.2f} "
                          f"{n / wall / 1e6:7.1f} {n / cpu / 1e6:10.1f}", flush=True)
        if workers > 1:
            for name, path in files:
                if path.suffix != ".gz":
                    for _ in range(args.runs):
                        n, cpu, est = free_core_estimate(path)
                        print(f"{name:<16} new scan: cpu {cpu:.2f} s, estimated wall on {workers} free "
                              f"cores {est:.2f} s = {n / est / 1e6:.1f} Mtok/s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
