"""`w2v demo`: train on the embedded WordNet-glosses corpus and show what the vectors learned."""
from __future__ import annotations

import time
from importlib import resources

from . import evaluation
from .model import Word2Vec

QUERIES = ("king", "water", "music", "doctor", "red")


def corpus_path() -> str:
    return str(resources.files("w2v") / "data" / "wordnet-glosses.txt.gz")


def run(output="demo-vectors.txt", workers=2, epochs=5, out=print) -> int:
    path = corpus_path()
    out(f"training skip-gram, negative sampling on {path}")
    out(f"(WordNet 3.0 glosses, 1.47M tokens; WordNet licence in w2v/data/LICENSE-wordnet.txt)")
    t0 = time.perf_counter()
    model = Word2Vec(corpus_file=path, vector_size=100, window=5, min_count=5, sg=1, negative=5,
                     workers=workers, epochs=epochs)
    seconds = time.perf_counter() - t0
    words = sum(e["raw_words"] for e in model.epoch_stats)
    out(f"trained {len(model.wv)} words x {model.vector_size} dims, {epochs} epochs, {workers} threads "
        f"in {seconds:.1f} s ({words / seconds:,.0f} words/s)")
    for e, stats in enumerate(model.epoch_stats, 1):
        out(f"  epoch {e}: loss {stats['loss'] / max(stats['predictions'], 1):.4f} per prediction, "
            f"{stats['effective_words']:,} of {stats['raw_words']:,} words after subsampling")
    model.wv.save_word2vec_format(output)
    out(f"vectors saved to {output}")
    out("nearest neighbours:")
    for q in QUERIES:
        if q in model.wv:
            near = ", ".join(f"{w} {s:.2f}" for w, s in model.wv.most_similar(q, topn=6))
            out(f"  {q:8} {near}")
    (_, _), (rho, _), oov = model.wv.evaluate_word_pairs(evaluation.data_path("wordsim353.tsv"))
    out(f"WordSim-353 Spearman: {rho:.3f} ({oov:.1f}% of pairs out of vocabulary)")
    return 0
