"""What deterministic=True costs: speed and quality of deterministic training (rounds on private
replicas, merged by sum or by mean) against Hogwild, on the dev corpus, several seeds, and how far
two runs with the same seed land from each other.

    python benchmarks/bench_determinism.py [--configs sg-ns,cbow-ns,sg-hs,cbow-hs] [--seeds 1,2,3]
                                           [--modes hogwild,sum,mean] [--threads 2] [--json out.json]

Each run is a fresh subprocess (peak RSS is its own) with bench_train.py's settings (vector size
100, window 5, min_count 5, sample 1e-3, 5 epochs) and the same referee (gensim's evaluators:
analogy on questions-words, 30,000 most frequent words; WordSim-353 and SimLex-999 Spearman).
Modes run back to back for each seed, so that the machine's noise falls on all of them. The first
seed of each mode runs twice: the 'same seed' columns compare those two runs (identical bits,
or the median and smallest cosine between a word's two vectors). Speed is training words per
second (epoch_stats' seconds: no vocabulary pass) and CPU seconds per million words (all
threads: what training costs whatever else the machine runs); 'merge' is the share of training
time spent merging replicas. Timings on a noisy 2-core machine: read the ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from bench_train import COMMON, CONFIGS, DATA, decompressed, evaluate, run_child  # noqa: E402

MODES = ("hogwild", "sum", "mean")


def run_one(config: str, mode: str, seed: int, threads: int, corpus: str, data_dir: Path, out: str) -> dict:
    import functools

    from w2v import Word2Vec, trainer
    from w2v.backends.rounds import RoundsBackend

    merge_seconds = [0.0]

    class Timed(RoundsBackend):
        def _merge(self, pool):
            t0 = time.perf_counter()
            try:
                return super()._merge(pool)
            finally:
                merge_seconds[0] += time.perf_counter() - t0

    trainer.RoundsBackend = functools.partial(Timed, merge=mode if mode != "hogwild" else "sum")
    model = Word2Vec(workers=threads, seed=seed, deterministic=mode != "hogwild", progress=False, **COMMON,
                     **CONFIGS[config])
    model.build_vocab(corpus_file=corpus)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    model.train()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    seconds = sum(e["seconds"] for e in model.epoch_stats)
    raw = sum(e["raw_words"] for e in model.epoch_stats)
    np.save(out, model.wv.vectors)
    r = {"config": config, "mode": mode, "seed": seed, "threads": threads, "train_s": seconds,
         "words_per_s": raw / seconds, "cpu_s_per_mword": cpu / raw * 1e6, "merge_share": merge_seconds[0] / seconds,
         "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    r.update(evaluate(model.wv.index_to_key, model.wv.vectors, data_dir))
    return r


def subprocess_run(*args) -> dict:
    return run_child(__file__, args, str(args))


def same_seed(a_path: str, b_path: str) -> dict:
    a, b = np.load(a_path), np.load(b_path)
    if np.array_equal(a, b):
        return {"identical": True, "median_cos": 1.0, "min_cos": 1.0}
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-30)
    return {"identical": False, "median_cos": float(np.median(cos)), "min_cos": float(cos.min())}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        config, mode, seed, threads, corpus, data_dir, out = sys.argv[2:9]
        print(json.dumps(run_one(config, mode, int(seed), int(threads), corpus, Path(data_dir), out)))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(DATA / "dev.txt.gz"))
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--configs", default="sg-ns,cbow-ns,sg-hs,cbow-hs")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="also write the rows to this file")
    args = p.parse_args()
    corpus = str(decompressed(Path(args.corpus), REPO / "bench-out"))
    seeds = [int(s) for s in args.seeds.split(",")]
    modes = args.modes.split(",")
    subprocess.run([sys.executable, "-c", "from w2v import Word2Vec; [Word2Vec([['a','b']]*20, min_count=1, "
                    "vector_size=4, epochs=1, hs=1, negative=1, sg=sg, workers=2, deterministic=True) "
                    "for sg in (0, 1)]"], check=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    rows, summary = [], []
    print(f"{'config':8} {'mode':8} {'seed':>4} {'train s':>7} {'words/s':>9} {'CPU/Mw':>6} {'merge':>6} {'RSS MB':>6} "
          f"{'analogy':>7} {'WS353':>6} {'SimLex':>6}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs.split(","):
            runs = {m: [] for m in modes}
            repeat = {}
            for seed in seeds:
                for mode in modes:
                    for rep in ((0, 1) if seed == seeds[0] else (0,)):
                        out = os.path.join(tmp, f"{config}-{mode}-{seed}-{rep}.npy")
                        r = subprocess_run(config, mode, seed, args.threads, corpus, args.data, out)
                        r["repeat"] = rep
                        rows.append(r)
                        if rep == 0:
                            runs[mode].append(r)
                        else:
                            repeat[mode] = same_seed(os.path.join(tmp, f"{config}-{mode}-{seed}-0.npy"), out)
                        print(f"{config:8} {mode:8} {seed:>4} {r['train_s']:7.1f} {r['words_per_s']:9.0f} "
                              f"{r['cpu_s_per_mword']:6.2f} "
                              f"{r['merge_share']:6.1%} {r['peak_rss_mb']:6.0f} {r['analogy']:7.3f} "
                              f"{r['ws353']:6.3f} {r['simlex']:6.3f}", flush=True)
            for mode in modes:
                rs = runs[mode]
                s = {"config": config, "mode": mode, "seeds": len(rs), **repeat[mode],
                     "words_per_s": statistics.median(r["words_per_s"] for r in rs),
                     "cpu_s_per_mword": statistics.median(r["cpu_s_per_mword"] for r in rs),
                     "merge_share": statistics.median(r["merge_share"] for r in rs),
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in rs)}
                for k in ("analogy", "ws353", "simlex"):
                    vals = [r[k] for r in rs]
                    s[k] = statistics.mean(vals)
                    s[k + "_sd"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
                summary.append(s)
    print()
    print("| config | mode | words/s (median) | vs Hogwild | CPU s per M words | merge | peak RSS MB | analogy | "
          "WS353 | SimLex | same seed twice |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in summary:
        ref = next((t for t in summary if t["config"] == s["config"] and t["mode"] == "hogwild"), None)
        speed = f"{s['words_per_s'] / ref['words_per_s']:.2f}x" if ref else "-"
        twice = "identical" if s["identical"] else f"cos median {s['median_cos']:.4f}, min {s['min_cos']:.3f}"
        print(f"| {s['config']} | {s['mode']} | {s['words_per_s'] / 1e6:.2f}M | {speed} | {s['cpu_s_per_mword']:.2f} | "
              f"{s['merge_share']:.0%} | "
              f"{s['peak_rss_mb']:.0f} | {s['analogy']:.3f} ± {s['analogy_sd']:.3f} | {s['ws353']:.3f} ± "
              f"{s['ws353_sd']:.3f} | {s['simlex']:.3f} ± {s['simlex_sd']:.3f} | {twice} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
