"""Train w2v and gensim side by side on the dev corpus and print one table.

    python benchmarks/bench_train.py [--configs sg-ns,cbow-ns,sg-hs,cbow-hs] [--gensim-modes file,iterable]
                                     [--threads 2] [--corpus ../shared/data/dev.txt.gz]

Every run is a fresh subprocess (so peak RSS is its own), on the same decompressed corpus,
with the same settings: vector_size 100, window 5, min_count 5, sample 1e-3, 5 epochs,
negative 5 or hs 1, alpha 0.025 (skip-gram) / 0.05 (CBOW). Both systems' vectors are scored
by the same referee (gensim's evaluators): analogy accuracy on questions-words (30,000 most
frequent words, 3CosAdd, case-insensitive), WordSim-353 and SimLex-999 Spearman.
gensim is a benchmark-only dependency. Timings on a noisy 2-core machine: read the ratios.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CONFIGS = {
    "sg-ns": dict(sg=1, hs=0, negative=5, alpha=0.025),
    "cbow-ns": dict(sg=0, hs=0, negative=5, alpha=0.05),
    "sg-hs": dict(sg=1, hs=1, negative=0, alpha=0.025),
    "cbow-hs": dict(sg=0, hs=1, negative=0, alpha=0.05),
}
COMMON = dict(vector_size=100, window=5, min_count=5, sample=1e-3, epochs=5)


def evaluate(keys, vectors, data_dir: Path) -> dict:
    from gensim.models import KeyedVectors
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(list(keys), vectors)
    analogy, _ = kv.evaluate_word_analogies(str(data_dir / "questions-words.txt"), restrict_vocab=30000)
    ws = kv.evaluate_word_pairs(str(data_dir / "wordsim353.tsv"))[1][0]
    sl = kv.evaluate_word_pairs(str(data_dir / "simlex999.txt"))[1][0]
    return {"analogy": float(analogy), "ws353": float(ws), "simlex": float(sl)}


def run_one(system: str, config: str, corpus: str, threads: int, data_dir: Path, extra: dict) -> dict:
    kw = dict(COMMON, **CONFIGS[config], workers=threads, **extra)
    t0 = time.perf_counter()
    if system.startswith("w2v"):
        from w2v import Word2Vec
        if system == "w2v-window":
            kw["batch_window"] = True
        model = Word2Vec(corpus_file=corpus, progress=False, **kw)
        raw = sum(e["raw_words"] for e in model.epoch_stats)
    else:
        from gensim.models import Word2Vec
        from gensim.models.word2vec import LineSentence
        if system == "gensim-file":
            model = Word2Vec(corpus_file=corpus, **kw)
        else:
            model = Word2Vec(sentences=LineSentence(corpus), **kw)
        raw = kw["epochs"] * sum(model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"system": system, "config": config, "threads": threads, "seconds": seconds,
           "words_per_s": raw / seconds, "peak_rss_mb": rss}
    out.update(evaluate(model.wv.index_to_key, model.wv.vectors, data_dir))
    return out


def run_child(script, args, what) -> dict:
    """Run `script --one args...` in a fresh process (this checkout's w2v first on the path);
    returns the JSON object its last line of output holds."""
    cmd = [sys.executable, str(script), "--one", *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def subprocess_run(system, config, corpus, threads, data_dir, extra) -> dict:
    return run_child(__file__, [system, config, corpus, threads, data_dir, json.dumps(extra)], f"{system} {config}")


def decompressed(corpus: Path, cache: Path) -> Path:
    if corpus.suffix != ".gz":
        return corpus
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / corpus.stem
    if not out.exists():
        with gzip.open(corpus, "rb") as src, open(out.with_suffix(".tmp"), "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(out.with_suffix(".tmp"), out)
    return out


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        system, config, corpus, threads, data_dir, extra = sys.argv[2:8]
        print(json.dumps(run_one(system, config, corpus, int(threads), Path(data_dir), json.loads(extra))))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(DATA / "dev.txt.gz"))
    p.add_argument("--data", default=str(DATA), help="folder with questions-words.txt, wordsim353.tsv, simlex999.txt")
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--gensim-modes", default="file", help="file, iterable, or file,iterable ('' for none)")
    p.add_argument("--threads", default="2", help="comma-separated thread counts, e.g. 1,2")
    p.add_argument("--w2v-extra", default="{}", help="JSON of extra Word2Vec keywords for w2v (e.g. options under test)")
    p.add_argument("--window-batch", action="store_true",
                   help="also run w2v with batch_window=True (skip-gram configs), as the system w2v-window")
    p.add_argument("--seeds", default="1", help="comma-separated seeds; with several, each seed is one paired repeat "
                   "(gensim, then w2v, back to back) and a 'median' row follows per system: quality averaged over the "
                   "seeds, the median time, and the median of the paired time ratios (quality differs by seed)")
    p.add_argument("--json", help="also write the rows to this file")
    args = p.parse_args()
    corpus = str(decompressed(Path(args.corpus), REPO / "bench-out"))
    data_dir = Path(args.data)
    extra = json.loads(args.w2v_extra)
    # compile (or load) w2v's kernels once, so the timed runs measure a warm start
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from w2v import Word2Vec; Word2Vec([['a','b']]*20, min_count=1, "
                    "vector_size=4, epochs=1, hs=1, negative=1, sg=1); Word2Vec([['a','b']]*20, min_count=1, "
                    "vector_size=4, epochs=1, hs=1, negative=1, sg=0)"],
                   check=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    print(f"w2v kernel compile/cache load: {time.perf_counter() - t0:.1f} s", flush=True)
    systems = (["w2v-window"] if args.window_batch else []) + ["w2v"] + \
        [f"gensim-{m}" for m in args.gensim_modes.split(",") if m]
    rows = []
    header = f"{'config':8} {'system':16} {'thr':>3} {'wall s':>7} {'words/s':>9} {'vs gensim-file':>14} " \
             f"{'RSS MB':>7} {'analogy':>7} {'WS353':>6} {'SimLex':>6}"
    seeds = [int(s) for s in args.seeds.split(",")]
    print(header, flush=True)

    def show(r, label, ratio):
        print(f"{r['config']:8} {label:16} {r['threads']:>3} {r['seconds']:7.1f} {r['words_per_s']:9.0f} {ratio:>14} "
              f"{r['peak_rss_mb']:7.0f} {r['analogy']:7.3f} {r['ws353']:6.3f} {r['simlex']:6.3f}", flush=True)

    for config in args.configs.split(","):
        for threads in map(int, args.threads.split(",")):
            runs = {}
            for seed in seeds:
                ref = None
                for system in reversed(systems):  # gensim first, so the ratio is known when w2v prints
                    if system == "w2v-window" and not CONFIGS[config]["sg"]:
                        continue  # batch_window only changes skip-gram
                    r = subprocess_run(system, config, corpus, threads, data_dir,
                                       dict(extra if system.startswith("w2v") else {}, seed=seed))
                    r["seed"] = seed
                    if system == "gensim-file":
                        ref = r["seconds"]
                    rows.append(r)
                    runs.setdefault(system, []).append(r)
                    label = system if len(seeds) == 1 else f"{system} s{seed}"
                    show(r, label, f"{ref / r['seconds']:.2f}x" if ref else "-")
            if len(seeds) > 1:  # per system: quality means over the seeds, median time, median paired ratio
                ref_runs = {r["seed"]: r["seconds"] for r in runs.get("gensim-file", [])}
                for system in reversed(systems):
                    rs = runs.get(system)
                    if not rs:
                        continue
                    m = {k: (statistics.mean(r[k] for r in rs) if isinstance(rs[0][k], float) else rs[0][k])
                         for k in rs[0]}
                    m["seconds"] = statistics.median(r["seconds"] for r in rs)
                    m["words_per_s"] = statistics.median(r["words_per_s"] for r in rs)
                    ratios = [ref_runs[r["seed"]] / r["seconds"] for r in rs if r["seed"] in ref_runs]
                    m["ratio"] = statistics.median(ratios) if ratios else None
                    rows.append(dict(m, system=system + " median", seed=None))
                    show(m, system + " median", f"{m['ratio']:.2f}x" if ratios else "-")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
