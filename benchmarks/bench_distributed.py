"""Single-process training against the Dask backend on a LocalCluster, in one run; a scaling model.

    python benchmarks/bench_distributed.py [--configs cbow-ns,sg-ns] [--seeds 1,2,3] [--epochs 5]
        [--corpus ../shared/data/dev.txt.gz] [--sweep 250000,1000000,4000000] [--json out.json]

Systems, same settings (vector_size 100, window 5, min_count 5, sample 1e-3, negative 5), the
same corpus store (block shuffle), every seed:
  single     one process, the threads backend, 2 threads (Hogwild)
  dask       LocalCluster of 2 worker processes x 1 thread, replicas averaged every round
             (DaskBackend's defaults: round_words, lr scaled by the replicas, float16 changes,
             each round waits for the last one's merge)
  dask-f32   the same with float32 changes (the defaults before 2026-11-29 (3))
  dask-pipe  pipelined rounds (the next round trains while the last one merges), round_words
             250,000 (a quarter: the pipeline makes replicas one round staler)
  control    the same cluster, replicas averaged only at the end of each epoch
The cluster is started once, before the runs: its start-up is timed and reported apart.
Quality by gensim's evaluators (bench_train.evaluate): analogy (30k words), WordSim-353, SimLex.

The sweep: one epoch of CBOW-NS on the cluster per round size, for the compute time and the bytes
per round that the scaling model needs (a round: each replica trains round_words words, sends the
rows it changed, gets the merged rows back).

Scaling model (printed, labelled as a model; this machine has 2 cores): N workers each train S
words per round in t_c seconds (measured per replica); the driver receives each worker's changed
rows (b_up bytes) and sends each the merged rows (b_down), over one link of B bits/s, and merges
in t_m(N) = N x the measured merge time per replica. Star through the driver:
    T(N) = t_c + t_m(N) + N (b_up + b_down) 8 / B,        speed-up(N) = N t_c / T(N)
and, as the lift, a reduce tree / all-reduce among the workers (each link carries about 2 b per
round whatever N; the merge is shared): T(N) = t_c + t_m(1) + 2 (b_up + b_down) 8 / B.
Pipelined rounds (the default) overlap the driver's part, D(N) = t_m(N) + N b 8 / B, with the next
round's compute: T(N) = t_c + t_o + max(0, D(N) - t_c), t_o what a round took beyond its compute
on this machine (not hidden).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DATA = REPO.parent / "shared" / "data"

from bench_train import CONFIGS, decompressed, evaluate  # noqa: E402

COMMON = dict(vector_size=100, window=5, min_count=5, sample=1e-3)
VARIANTS = {"dask-f32": {"wire": "float32"}, "dask-pipe": {"pipeline": True, "round_words": 250_000}}


def train(system, config, corpus, seed, epochs, client, cache, extra=None):
    from w2v import Word2Vec
    kw = dict(COMMON, **CONFIGS[config], epochs=epochs, seed=seed, progress=False, corpus_store="disk",
              cache_dir=cache)
    if system == "single":
        kw.update(workers=2)
    else:
        opts = dict(extra or {})
        opts.update(VARIANTS.get(system, {}))
        if system == "control":
            opts["round_words"] = 10 ** 12  # one round per epoch: averaged only at its end
        kw.update(workers=1, backend="dask", client=client, dask_options=opts)
    t0 = time.perf_counter()
    model = Word2Vec(corpus_file=str(corpus), **kw)
    wall = time.perf_counter() - t0
    stats = model.epoch_stats
    words = sum(e["raw_words"] for e in stats)
    row = {"system": system, "config": config, "seed": seed, "wall": wall,
           "train_seconds": sum(e["seconds"] for e in stats), "words": words,
           "loss": stats[-1]["loss"] / max(stats[-1]["predictions"], 1)}
    if "dask" in stats[0]:
        d = {k: sum(e["dask"][k] for e in stats) for k in stats[0]["dask"]}
        row.update({"rounds": d["rounds"], "bytes_up": d["bytes_up"], "bytes_down": d["bytes_down"],
                    "compute_seconds": d["compute_seconds"], "sync_seconds": d["sync_seconds"],
                    "rounds_per_epoch": d["rounds"] / len(stats)})
    row.update(evaluate(model.wv.index_to_key, model.wv.vectors, DATA))
    return row


def model_speedup(n, t_c, t_m, t_o, b, gbit, tree=False, pipelined=False):
    """n workers' speed-up over one: t_c compute, t_m merge per replica, t_o fixed overhead per round
    (what a round took beyond its compute and merge on this machine), b bytes per replica per round
    (up + down), gbit the link in Gb/s. Pipelined, the merge and the transfers of one round overlap
    the next round's compute: only what exceeds it adds to the round."""
    link = gbit * 1e9 / 8
    driver = (t_m if tree else n * t_m) + (2 * b if tree else n * b) / link
    t = t_c + t_o + (max(0.0, driver - t_c) if pipelined else driver)
    return n * t_c / t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="cbow-ns,sg-ns")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--corpus", default=str(DATA / "dev.txt.gz"))
    ap.add_argument("--sweep", default="250000,1000000,4000000,250000:pipe,1000000:pipe,4000000:pipe",
                    help="round_words[:pipe] values for the scaling sweep (pipe: pipelined)")
    ap.add_argument("--systems", default="single,dask,dask-f32,dask-pipe,control")
    ap.add_argument("--json")
    ap.add_argument("--tables-from", help="print the tables of a run saved with --json, run nothing")
    args = ap.parse_args()
    if args.tables_from:
        saved = json.loads(Path(args.tables_from).read_text())
        rows = saved["rows"]
        configs = list(dict.fromkeys(r["config"] for r in rows))
        systems = list(dict.fromkeys(r["system"] for r in rows))
        epochs = round(statistics.mean(r["rounds"] / r["rounds_per_epoch"] for r in rows if "rounds" in r))
        print_tables(rows, saved["sweep"], configs, systems, epochs)
        return

    from w2v.backends import dask as dask_backend
    tmp = Path(tempfile.mkdtemp(prefix="w2v-bench-dist-"))
    corpus = decompressed(Path(args.corpus), tmp)
    cache = tmp / "cache"
    t0 = time.perf_counter()
    client, cluster = dask_backend.local_client(2)
    client.run(lambda: __import__("w2v.kernels"))
    startup = time.perf_counter() - t0
    print(f"LocalCluster start-up (2 workers, w2v imported): {startup:.1f} s (not in the times below)")
    rows = []
    # warm every cache (corpus store, numba) so that no run pays for the first
    train("dask", "cbow-ns", corpus, 99, 1, client, cache)
    for config in args.configs.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            for system in args.systems.split(","):
                r = train(system, config, corpus, seed, args.epochs, client, cache)
                rows.append(r)
                print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}),
                      flush=True)
    sweep = []
    for spec in [x for x in args.sweep.split(",") if x]:
        words, _, mode = spec.partition(":")
        r = train("dask", "cbow-ns", corpus, 1, 1, client, cache,
                  {"round_words": int(words), "pipeline": mode == "pipe"})
        r["round_words"], r["pipelined"] = int(words), mode == "pipe"
        sweep.append(r)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
    client.close()
    cluster.close()
    print_tables(rows, sweep, args.configs.split(","), args.systems.split(","), args.epochs)
    if args.json:
        Path(args.json).write_text(json.dumps({"startup": startup, "rows": rows, "sweep": sweep}, indent=1))


def print_tables(rows, sweep, configs, systems, epochs):
    print()
    # "vs single": the median over seeds of the ratio to the single-process run of the same seed,
    # which ran just before it (robust to other jobs' load coming and going); "best": the
    # fastest seed's wall time
    print("| config | system | wall s (mean) | best s | words/s | vs single | loss | analogy | WS-353 | SimLex | "
          "rounds/epoch | MB per round (up+down) | MB per epoch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for config in configs:
        for system in systems:
            rs = [r for r in rows if r["config"] == config and r["system"] == system]
            if not rs:
                continue
            mean = {k: statistics.mean(r[k] for r in rs) for k in ("wall", "words", "loss", "analogy", "ws353",
                                                                     "simlex")}
            wps = mean["words"] / mean["wall"]
            single = {r["seed"]: r["wall"] for r in rows if r["config"] == config and r["system"] == "single"}
            paired = [single[r["seed"]] / r["wall"] for r in rs if r["seed"] in single]
            extra = "| | |"
            if "rounds" in rs[0]:
                per_round = statistics.mean((r["bytes_up"] + r["bytes_down"]) / r["rounds"] for r in rs) / 1e6
                per_epoch = statistics.mean((r["bytes_up"] + r["bytes_down"]) / epochs for r in rs) / 1e6
                extra = f"{rs[0]['rounds_per_epoch']:.0f} | {per_round:.1f} | {per_epoch:.0f} |"
            ratio = f"{statistics.median(paired):.2f}x" if paired else ""
            sd = {k: statistics.pstdev(r[k] for r in rs) for k in ("analogy", "ws353")}
            print(f"| {config} | {system} | {mean['wall']:.1f} | {min(r['wall'] for r in rs):.1f} | {wps / 1e6:.2f}M | {ratio} | {mean['loss']:.3f} | "
                  f"{mean['analogy']:.3f} ±{sd['analogy']:.3f} | {mean['ws353']:.3f} ±{sd['ws353']:.3f} | "
                  f"{mean['simlex']:.3f} | {extra}")
    if sweep:
        print()
        print("Sweep (CBOW-NS, 1 epoch, 2 replicas): per replica and round")
        print("| round_words | pipelined | rounds | compute s | merge s | other s | MB up | MB down | "
              "analogy (1 epoch) | loss |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in sweep:
            n = r["rounds"]
            # not pipelined, the merge is on the round's path and modelled apart; pipelined, what
            # is not hidden is all that remains beyond the compute
            merge = 0.0 if r["pipelined"] else r["sync_seconds"]
            other = max(0.0, (r["train_seconds"] - r["compute_seconds"] - merge) / n)
            r["overhead"] = other
            print(f"| {r['round_words']:,} | {'yes' if r['pipelined'] else 'no'} | {n} | {r['compute_seconds'] / n:.3f} | "
                  f"{r['sync_seconds'] / n / 2:.3f} | {other:.3f} | {r['bytes_up'] / n / 2 / 1e6:.1f} | "
                  f"{r['bytes_down'] / n / 2 / 1e6:.1f} | {r['analogy']:.3f} | {r['loss']:.3f} |")
        print()
        print("Scaling model (a MODEL from the sweep's measured compute time and bytes per round; this machine "
              "has 2 cores): speed-up over one worker")
        ns = [1, 2, 4, 8, 16, 32, 64]
        print("| round_words | pipelined | network | topology | " + " | ".join(f"N={n}" for n in ns) + " |")
        print("|---|---|---|" + "---|" * len(ns))
        for r in sweep:
            n_r = r["rounds"]
            t_c = r["compute_seconds"] / n_r
            t_m = r["sync_seconds"] / n_r / 2
            b = (r["bytes_up"] + r["bytes_down"]) / n_r / 2  # bytes per replica per round
            for gbit in (10, 100):
                for tree in (False, True):
                    cells = " | ".join(f"{model_speedup(n, t_c, t_m, r['overhead'], b, gbit, tree, r['pipelined']):.1f}"
                                       for n in ns)
                    print(f"| {r['round_words']:,} | {'yes' if r['pipelined'] else 'no'} | {gbit} Gb/s | "
                          f"{'tree' if tree else 'star'} | {cells} |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
