"""Phrases: tokens/s of counting and of applying, w2v against gensim, on the same corpus.

    python benchmarks/bench_phrases.py [--corpus ../shared/data/dev.txt.gz] [--lines N]

Same settings for both (min_count 5, threshold 100, word2phrase scoring for w2v, gensim's
default scorer for gensim: the scores differ by design, see docs/compat.md, the work does not).
The corpus is read into memory first, so the times are of counting and applying alone.
"""
from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "dev.txt.gz"))
    p.add_argument("--lines", type=int, default=0, help="only the first N lines (0: all)")
    args = p.parse_args()
    from gensim.models.phrases import Phrases as GensimPhrases

    from w2v.phrases import Phrases
    opener = gzip.open if args.corpus.endswith(".gz") else open
    with opener(args.corpus, "rt") as f:
        sents = [line.split() for i, line in enumerate(f) if not args.lines or i < args.lines]
    n = sum(map(len, sents))
    ours, t_count = timed(lambda: Phrases(sents, min_count=5, threshold=100))
    frozen = ours.freeze()
    _, t_apply = timed(lambda: sum(1 for _ in frozen[sents]))
    theirs, g_count = timed(lambda: GensimPhrases(sents, min_count=5, threshold=100))
    gfrozen = theirs.freeze()
    _, g_apply = timed(lambda: sum(1 for _ in gfrozen[sents]))
    print(f"corpus: {n:,} tokens; w2v found {len(frozen.phrasegrams):,} phrases, gensim {len(gfrozen.phrasegrams):,}")
    print(f"{'step':10} {'w2v tok/s':>12} {'gensim tok/s':>13} {'ratio':>7}")
    for step, ours_t, theirs_t in (("count", t_count, g_count), ("apply", t_apply, g_apply)):
        print(f"{step:10} {n / ours_t:12,.0f} {n / theirs_t:13,.0f} {theirs_t / ours_t:6.2f}x")


if __name__ == "__main__":
    main()
