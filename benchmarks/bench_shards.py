"""The first pass of one corpus file on a Dask LocalCluster: the file as one shard, or cut into byte
ranges at newlines (w2v/shards.py), against the driver's own pass (the threads backend's).

    python benchmarks/bench_shards.py [--corpus ../shared/data/dev.txt.gz] [--workers 2] [--repeats 3]
        [--range-mb 1000,20,10]

The corpus is decompressed to one plain file first (a .gz cannot be cut). Each run counts and
encodes into a fresh cache directory (nothing is found in the cache); the cluster (N processes x 1
thread) is started once, before the runs, and its start-up is reported apart. Prints the median
wall seconds per setting, and the CPU seconds of the busiest worker process and of all of them
(the work done, with what cutting adds; on a machine whose cores are shared with other work the
wall time says little of the parallelism). Same vocabulary and ids in every setting
(tests/test_dask_shards.py).
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "dev.txt.gz"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--range-mb", default="1000,20,10", help="range_bytes in MB, one setting each")
    args = ap.parse_args()

    from w2v import shards, store
    from w2v.backends import dask as dask_backend
    from w2v.corpus import MAX_SENTENCE_LENGTH
    from w2v.vocab import Vocab

    def make(words, counts):
        return Vocab.from_counts(zip(words, counts.tolist()), min_count=5)

    work = Path(tempfile.mkdtemp(prefix="w2v-bench-shards-"))
    try:
        text = work / "corpus.txt"
        opener = gzip.open if args.corpus.endswith(".gz") else open
        with opener(args.corpus, "rb") as src, open(text, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        size = os.path.getsize(text)
        t0 = time.perf_counter()
        client, cluster = dask_backend.local_client(args.workers)
        startup = time.perf_counter() - t0
        print(f"corpus {size / 1e6:.1f} MB plain; LocalCluster {args.workers} processes x 1 thread, "
              f"start-up {startup:.1f} s (not counted)")
        rows = []

        def cpu():
            return client.run(time.process_time)

        def timed(label, run, on_workers=True):
            times, busiest, total = [], [], []
            for k in range(args.repeats):
                cache = work / f"cache-{len(rows)}-{k}"
                c0 = cpu() if on_workers else time.process_time()
                t = time.perf_counter()
                found = run(cache)
                times.append(time.perf_counter() - t)
                if on_workers:
                    c1 = cpu()
                    spent = [c1[w] - c0[w] for w in c0]
                else:
                    spent = [time.process_time() - c0]
                busiest.append(max(spent))
                total.append(sum(spent))
                shutil.rmtree(cache, ignore_errors=True)
            rows.append((label, statistics.median(times), statistics.median(busiest), statistics.median(total), found))

        timed(f"driver's pass (this process, {args.workers} threads)",
              lambda cache: store.build_from_files(cache, text, MAX_SENTENCE_LENGTH, {"min_count": 5}, make,
                                                   workers=args.workers).n_words, on_workers=False)
        for mb in [float(x) for x in args.range_mb.split(",")]:
            rb = int(mb * (1 << 20))
            n = len(shards.plan(str(text), args.workers, rb))
            timed(f"workers, {n} shard{'s' if n > 1 else ''} (range_bytes {mb:g} MB)",
                  lambda cache, rb=rb: dask_backend.first_pass(client, str(text), cache, MAX_SENTENCE_LENGTH, make,
                                                                threads=1, range_bytes=rb)[1].n_words)
        print(f"{'first pass':<48} {'wall s':>7} {'CPU s busiest':>14} {'CPU s all':>10} {'words':>10}")
        for label, sec, busiest, total, words in rows:
            print(f"{label:<48} {sec:7.2f} {busiest:14.2f} {total:10.2f} {words:10d}")
        client.close()
        cluster.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
