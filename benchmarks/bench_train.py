"""Train w2v and gensim side by side on the dev corpus and print one table.

    python benchmarks/bench_train.py [--configs sg-ns,cbow-ns,sg-hs,cbow-hs] [--gensim-modes file,iterable]
                                     [--threads 2] [--corpus ../shared/data/dev.txt.gz] [--seeds 1,2,3,4]
                                     [--classic] [--equal-time] [--peer-seeds 3]
                                     [--word2vec-c word2vec.c] [--pword2vec pWord2Vec.cpp]

Peers: word2vec.c (tmikolov/word2vec) and Intel's pWord2Vec (IntelLabs/pWord2Vec, skip-gram with
negative sampling only), built from the given sources into a temp dir (gcc/g++ -O3 -march=native;
pWord2Vec with OpenMP and numpy's bundled OpenBLAS in place of MKL), never committed. Their wall
time includes writing the vectors (binary, ~0.1 s). word2vec.c has no seed flag: its repeats
differ only by thread timing. --classic also runs skip-gram in word2vec.c's pair-by-pair order
(batch_window=False). --equal-time trains w2v again, per seed, for as many epochs as fit in
gensim's median wall time (the learning rate decaying over them), and scores it: the quality a
user gets for gensim's time.

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
import tempfile
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


def peer_flags(config: str, threads: int, epochs: int) -> list:
    c = dict(COMMON, **CONFIGS[config])
    return ["-size", c["vector_size"], "-window", c["window"], "-sample", c["sample"], "-min-count", c["min_count"],
            "-negative", c["negative"], "-threads", threads, "-iter", epochs, "-alpha", c["alpha"], "-binary", 1]


def run_peer(system: str, config: str, corpus: str, threads: int, extra: dict) -> tuple:
    """(keys, vectors, raw words) of word2vec.c or pWord2Vec trained on the corpus in a temp dir."""
    import tempfile
    from gensim.models import KeyedVectors
    epochs = extra.get("epochs", COMMON["epochs"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "vectors.bin"
        argv = [extra["exe"], "-train", corpus, "-output", out, *peer_flags(config, threads, epochs)]
        if system == "word2vec.c":
            argv += ["-cbow", 1 - CONFIGS[config]["sg"], "-hs", CONFIGS[config]["hs"]]
        else:  # pWord2Vec: skip-gram, negative sampling; a minibatch is one window (2 * window + 1 words)
            argv += ["-batch-size", 2 * COMMON["window"] + 1]
        subprocess.run([str(a) for a in argv], check=True, capture_output=True)
        kv = KeyedVectors.load_word2vec_format(str(out), binary=True)
    keys = [k for k in kv.index_to_key if k != "</s>"]
    return keys, kv[keys], epochs * extra["corpus_words"]


def run_one(system: str, config: str, corpus: str, threads: int, data_dir: Path, extra: dict) -> dict:
    extra = dict(extra)
    peer = {k: extra.pop(k) for k in ("exe", "corpus_words") if k in extra}
    kw = dict(COMMON, **CONFIGS[config], workers=threads, **extra)
    t0 = time.perf_counter()
    epoch_seconds = None
    if system in ("word2vec.c", "pWord2Vec"):
        keys, vectors, raw = run_peer(system, config, corpus, threads, dict(extra, **peer))
        seconds = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out = {"system": system, "config": config, "threads": threads, "seconds": seconds,
               "words_per_s": raw / seconds, "peak_rss_mb": rss, "epochs": kw["epochs"]}
        out.update(evaluate(keys, vectors, data_dir))
        return out
    if system.startswith("w2v"):
        from w2v import Word2Vec
        if system == "w2v-classic":
            kw["batch_window"] = False
        model = Word2Vec(corpus_file=corpus, progress=False, **kw)
        raw = sum(e["raw_words"] for e in model.epoch_stats)
        epoch_seconds = sum(e["seconds"] for e in model.epoch_stats)
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
           "words_per_s": raw / seconds, "peak_rss_mb": rss, "epochs": kw["epochs"]}
    if epoch_seconds is not None:
        out["epoch_seconds"] = epoch_seconds
    out.update(evaluate(model.wv.index_to_key, model.wv.vectors, data_dir))
    return out


def build_peer(name: str, source: str, tmp: Path) -> Path:
    """Build word2vec.c or pWord2Vec from its source file into tmp; returns the executable."""
    if name == "word2vec.c":  # the build bench_scale.py times word2vec.c's vocabulary pass with
        from bench_scale import build_word2vec_c
        exe = build_word2vec_c(source, tmp)
        if exe is None:
            raise RuntimeError(f"building word2vec.c from {source} failed (gcc -O3, see bench_scale.py)")
        return exe
    exe = tmp / name
    # pWord2Vec: MKL's cblas_sgemm and thread setting, mapped onto numpy's bundled OpenBLAS (64-bit ints)
    import numpy
    libs = sorted((Path(numpy.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas64_*.so"))
    if not libs:
        raise RuntimeError("pWord2Vec: numpy's bundled OpenBLAS (numpy.libs/libscipy_openblas64_*.so) not found")
    (tmp / "mkl.h").write_text(
        "#pragma once\n#include <immintrin.h>\n#include <cstdint>\n#include <cstdio>\n#include <cstdlib>\n"
        "enum CBLAS_ORDER {CblasRowMajor=101, CblasColMajor=102};\n"
        "enum CBLAS_TRANSPOSE {CblasNoTrans=111, CblasTrans=112, CblasConjTrans=113};\n"
        'extern "C" void scipy_cblas_sgemm64_(int, int, int, int64_t, int64_t, int64_t, float, const float*, '
        "int64_t, const float*, int64_t, float, float*, int64_t);\n#define cblas_sgemm scipy_cblas_sgemm64_\n"
        'extern "C" void scipy_openblas_set_num_threads64_(int);\n'
        "#define mkl_set_num_threads scipy_openblas_set_num_threads64_\n")
    cmd = ["g++", "-std=c++11", "-fopenmp", "-O3", "-march=native", "-DUSE_MKL", f"-I{tmp}", source, "-o", exe,
           libs[0], f"-Wl,-rpath,{libs[0].parent}"]
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"building {name} failed:\n{r.stderr[-2000:]}")
    return exe


def corpus_words(corpus: str) -> int:
    """Tokens of the words that min_count keeps: the words every system trains on per epoch."""
    from w2v import Word2Vec
    m = Word2Vec(min_count=COMMON["min_count"], progress=False)
    m.build_vocab(corpus_file=corpus)
    return int(m.vocab.counts.sum())


def run_child(script, args, what, mode="--one") -> dict:
    """Run `script --one args...` in a fresh process (this checkout's w2v first on the path);
    returns the JSON object its last line of output holds."""
    cmd = [sys.executable, str(script), mode, *map(str, args)]
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
    if len(sys.argv) > 1 and sys.argv[1] == "--count-words":
        print(json.dumps({"words": corpus_words(sys.argv[2])}))
        return
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
    p.add_argument("--classic", action="store_true",
                   help="also run skip-gram with batch_window=False (word2vec.c's order), as the system w2v-classic")
    p.add_argument("--word2vec-c", help="word2vec.c's source (tmikolov/word2vec): built and run as a peer")
    p.add_argument("--pword2vec", help="pWord2Vec.cpp (IntelLabs/pWord2Vec): built and run as a peer (sg-ns only)")
    p.add_argument("--peer-seeds", type=int, default=0,
                   help="run the peers and w2v-classic on the first N seeds only (0: all)")
    p.add_argument("--equal-time", action="store_true",
                   help="per seed, train w2v for as many epochs as fit in gensim's median wall time and score it")
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
    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    peers = {}
    for name, source in (("word2vec.c", args.word2vec_c), ("pWord2Vec", args.pword2vec)):
        if source:
            peers[name] = build_peer(name, source, tmp)
    # counted in a child: Linux carries a process's peak RSS across exec into its children's
    # ru_maxrss, so a large parent would set every run's peak
    words = run_child(__file__, [corpus], "counting the corpus", mode="--count-words")["words"] if peers else 0
    systems = list(reversed(list(peers))) + (["w2v-classic"] if args.classic else []) + ["w2v"] + \
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
                    if system == "w2v-classic" and not CONFIGS[config]["sg"]:
                        continue  # batch_window only changes skip-gram
                    if system == "pWord2Vec" and config != "sg-ns":
                        continue  # skip-gram with negative sampling only
                    if system in ("w2v-classic", *peers) and args.peer_seeds and seed not in seeds[:args.peer_seeds]:
                        continue
                    sys_extra = dict(extra if system.startswith("w2v") else {}, seed=seed)
                    if system in peers:
                        sys_extra = {"exe": str(peers[system]), "corpus_words": words}
                    r = subprocess_run(system, config, corpus, threads, data_dir, sys_extra)
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
                    m = summary(rs)
                    ratios = [ref_runs[r["seed"]] / r["seconds"] for r in rs if r["seed"] in ref_runs]
                    m["ratio"] = statistics.median(ratios) if ratios else None
                    rows.append(dict(m, system=system + " median", seed=None))
                    show(m, system + " median", f"{m['ratio']:.2f}x" if ratios else "-")
            if args.equal_time and runs.get("gensim-file") and runs.get("w2v"):
                equal_time(config, threads, runs, seeds, corpus, data_dir, extra, rows, show)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)


def summary(runs: list) -> dict:
    """One row for several seeds' runs: quality (every float) averaged, time and speed medians."""
    m = {k: (statistics.mean(r[k] for r in runs) if isinstance(runs[0][k], float) else runs[0][k]) for k in runs[0]}
    m["seconds"] = statistics.median(r["seconds"] for r in runs)
    m["words_per_s"] = statistics.median(r["words_per_s"] for r in runs)
    return m


def equal_time(config, threads, runs, seeds, corpus, data_dir, extra, rows, show):
    """w2v trained, per seed, for the epochs that fit in gensim's median wall time at the rate of
    w2v's 5-epoch runs, their whole wall time (vocabulary pass and start-up included) spread over
    the epochs: a bound that stays under gensim's time, since the fixed cost is paid once."""
    budget = statistics.median(r["seconds"] for r in runs["gensim-file"])
    per_epoch = statistics.median(r["seconds"] / r["epochs"] for r in runs["w2v"])
    epochs = max(COMMON["epochs"], int(budget / per_epoch))
    label = f"w2v {epochs} epochs"
    done = []
    for seed in seeds:
        r = subprocess_run("w2v", config, corpus, threads, data_dir, dict(extra, seed=seed, epochs=epochs))
        r.update(seed=seed, system="w2v-equal-time")
        rows.append(r)
        done.append(r)
        show(r, f"{label} s{seed}", f"{budget / r['seconds']:.2f}x")
    m = summary(done)
    rows.append(dict(m, system="w2v-equal-time median", seed=None, gensim_budget=budget))
    show(m, f"{label} median", f"{budget / m['seconds']:.2f}x")


if __name__ == "__main__":
    main()
