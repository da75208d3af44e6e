"""Per-epoch evaluation and early stopping on the dev corpus: what watching costs, and what
early stopping chooses against a fixed number of epochs.

    python benchmarks/bench_monitor.py cost [--configs sg-ns,cbow-ns] [--threads 2]
    python benchmarks/bench_monitor.py stopping [--configs sg-ns,cbow-ns] [--threads 2]
                                       [--runs fixed:5,fixed:15,holdout:2,analogy:2] [--max-epochs 15]

cost: one training run of 6 epochs with evaluate=True per config. Each epoch's evaluation is
timed right after the epoch itself, and the cost is the median over epochs 2-6 of the ratio of
the two (so that a load that changes from minute to minute cancels out); the same ratio in
CPU time (all threads) is less moved by other jobs on the machine. The parts of the
evaluation (held-out loss, the analogy sample, the two word-pair sets) are timed afterwards,
median of 5.

stopping: each run trains the same corpus with the same 1% held out (evaluate=True, holdout 0.01,
seed 1), for a fixed number of epochs ("fixed:N") or with early stopping on a metric
("METRIC:PATIENCE[:MIN_DELTA]", at most --max-epochs epochs, the learning rate decaying over all
of them). Every run is scored by the same referee: analogy accuracy on the test half of the
questions (the half that early stopping on "analogy" never sees; the same split for every run),
WordSim-353 and SimLex-999 Spearman on the whole sets, and the held-out loss, all with the
weights the run ends with. Timings on a noisy 2-core machine: read the ratios.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CONFIGS = {
    "sg-ns": dict(sg=1, hs=0, negative=5, alpha=0.025),
    "cbow-ns": dict(sg=0, hs=0, negative=5, alpha=0.05),
}
COMMON = dict(vector_size=100, window=5, min_count=5, sample=1e-3, seed=1)


def _median_seconds(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _monitor_of(model, settings):
    from w2v import monitor
    return monitor.Monitor(settings, weights=(model.wv.vectors, model.w_out_hs, model.w_out_ns),
                           index_to_key=model.wv.index_to_key, corpus=model._encoded(None, None),
                           tables=model._kernel_tables(), cfg=model._kernel_config(), seed=model.seed,
                           workers=model.workers)


def cost(config, corpus, threads, epochs=6):
    from w2v import Word2Vec, monitor
    evals, cpu = [], [(time.process_time(), time.process_time())]
    end_epoch = monitor.Monitor.end_epoch

    def timed(self, *args, **kw):
        t0, c0 = time.perf_counter(), time.process_time()
        end_epoch(self, *args, **kw)
        evals.append(time.perf_counter() - t0)
        cpu.append((c0, time.process_time()))

    monitor.Monitor.end_epoch = timed
    try:
        model = Word2Vec(corpus_file=corpus, epochs=epochs, workers=threads, progress=False, evaluate=True,
                         **COMMON, **CONFIGS[config])
    finally:
        monitor.Monitor.end_epoch = end_epoch
    epoch = statistics.median(e["seconds"] for e in model.epoch_stats[1:])
    ratio = statistics.median(t / e["seconds"] for t, e in zip(evals[1:], model.epoch_stats[1:]))
    # CPU seconds of epoch k: from the end of the previous evaluation to the start of this one
    cpu_ratio = statistics.median((cpu[k][1] - cpu[k][0]) / (cpu[k][0] - cpu[k - 1][1]) for k in range(2, len(cpu)))
    m = _monitor_of(model, model._monitor)
    w_in, w_hs, w_ns = m.weights
    parts = {"held-out loss": lambda: monitor.held_out_loss(m.corpus, m.units, w_in, w_hs, w_ns, m.tables, m.cfg,
                                                            m.workers)}
    parts["normalise"] = m._normed
    normed = m._normed()
    for name, s in m.sets.items():
        parts[name] = (lambda s=s: s.score(normed))
    seconds = {k: _median_seconds(f) for k, f in parts.items()}
    held_words = int(sum(u.n_words for u in m.units))
    return {"config": config, "epoch_s": epoch, "parts": seconds, "total_s": statistics.median(evals[1:]),
            "ratio": ratio, "cpu_ratio": cpu_ratio, "held_words": held_words,
            "questions": len(m.sets["analogy"].sample), "vocab": len(model.wv),
            "full_eval_s": _median_seconds(m.final_scores, repeat=1)}


def print_cost(rows):
    print("| config | epoch (s) | held-out loss | analogy sample | wordsim353 | simlex999 | normalise | "
          "evaluation per epoch (s) | % of its epoch | % in CPU time | full sets at the end (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = r["parts"]
        print(f"| {r['config']} | {r['epoch_s']:.2f} | {p['held-out loss']:.3f} | {p['analogy']:.3f} | "
              f"{p['wordsim353']:.4f} | {p['simlex999']:.4f} | {p['normalise']:.3f} | {r['total_s']:.3f} | "
              f"{100 * r['ratio']:.1f}% | {100 * r['cpu_ratio']:.1f}% | {r['full_eval_s']:.1f} |")
    r = rows[0]
    print(f"\nvocabulary {r['vocab']} words, {r['questions']} questions in the sample, "
          f"{r['held_words']} held-out words")


def stopping_run(config, corpus, threads, run, max_epochs):
    from w2v import Word2Vec, monitor
    kind, _, rest = run.partition(":")
    kw = dict(COMMON, **CONFIGS[config], workers=threads, progress=False, evaluate=True, holdout=0.01)
    if kind == "fixed":
        kw["epochs"] = int(rest)
    else:
        kw.update(epochs=max_epochs, early_stopping=run)
    t0 = time.perf_counter()
    model = Word2Vec(corpus_file=corpus, **kw)
    seconds = time.perf_counter() - t0
    referee = _monitor_of(model, monitor.MonitorSettings(
        sets=tuple(monitor.BUNDLED), holdout=0.01, early_stopping=monitor.EarlyStopping("analogy")))
    scores = referee.final_scores()
    loss, _, _ = referee.scores()
    return {"config": config, "run": run, "epochs": len(model.epoch_stats), "best": model.best_epoch,
            "seconds": seconds, "holdout_loss": loss, **scores,
            "curve": [(e.get("holdout_loss"), e["eval"].get("analogy"), e.get("validation", {}).get("analogy"))
                      for e in model.epoch_stats]}


def print_stopping(rows):
    print("| config | run | epochs trained | best epoch | analogy (test half) | WS-353 | SimLex-999 | "
          "held-out loss | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        best = "-" if r["best"] is None else r["best"] + 1
        print(f"| {r['config']} | {r['run']} | {r['epochs']} | {best} | {r['analogy']:.4f} | "
              f"{r['wordsim353']:.4f} | {r['simlex999']:.4f} | {r['holdout_loss']:.4f} | {r['seconds']:.0f} |")
    for r in rows:
        curve = "; ".join(f"{i + 1}: {h:.4f} / {a:.3f}" + (f" / {v:.3f}" if v is not None else "")
                          for i, (h, a, v) in enumerate(r["curve"]))
        print(f"\n{r['config']} {r['run']}: epoch: held-out loss / analogy sample [/ validation]: {curve}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("cost", "stopping"))
    ap.add_argument("--configs", default="sg-ns,cbow-ns")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--corpus", default=str(DATA / "dev.txt.gz"))
    ap.add_argument("--runs", default="fixed:5,fixed:15,holdout:2,analogy:2")
    ap.add_argument("--max-epochs", type=int, default=15)
    args = ap.parse_args()
    configs = args.configs.split(",")
    if args.what == "cost":
        print_cost([cost(c, args.corpus, args.threads) for c in configs])
    else:
        rows = []
        for c in configs:
            for run in args.runs.split(","):
                rows.append(stopping_run(c, args.corpus, args.threads, run, args.max_epochs))
                print(rows[-1], flush=True)
        print_stopping(rows)


if __name__ == "__main__":
    main()
