"""`w2v demo`: train on the embedded WordNet-glosses corpus and show what the vectors learned."""
from __future__ import annotations

import os
import time
from importlib import resources

from . import evaluation, monitor
from .model import Word2Vec

QUERIES = ("king", "water", "music", "doctor", "red")
# the map's words: groups whose members the glosses use in like contexts
MAP_GROUPS = {
    "animals": "dog cat horse sheep bird fish snake",
    "colours": "red blue green yellow white black brown",
    "body": "hand foot head arm leg eye ear",
    "music": "music song piano violin drum singer instrument",
    "family": "mother father son daughter brother sister wife",
    "food": "bread meat fruit cheese wine milk sugar",
}
CURVES = "demo-curves.png"
MAP = "demo-map.png"


def corpus_path() -> str:
    return str(resources.files("w2v") / "data" / "wordnet-glosses.txt.gz")


HOLDOUT = 0.01    # of the corpus's words, in whole sentences, never trained on: the held-out loss
SET_NAMES = {"analogy": "analogy", "wordsim353": "WordSim-353", "simlex999": "SimLex-999"}


def run(output="demo-vectors.txt", workers=2, epochs=5, out=print, pictures=True, corpus=None) -> int:
    """Train, save the vectors to `output`, print what they learned; with pictures=True also
    draw the learning curves and a map of words beside `output` (CURVES, MAP), or, without
    matplotlib, say in one line how to get them. corpus: another corpus file (tests).

    The training is watched (w2v.monitor): HOLDOUT of the corpus is held out and its loss, and
    the bundled sets' scores, are measured after each epoch, so that the curves show whether
    the vectors still improved; the whole sets are scored once at the end."""
    path = corpus or corpus_path()
    out(f"training skip-gram, negative sampling on {path}")
    out(f"(WordNet 3.0 glosses, 1.47M tokens; WordNet licence in w2v/data/LICENSE-wordnet.txt)")
    t0 = time.perf_counter()
    model = Word2Vec(corpus_file=path, vector_size=100, window=5, min_count=5, sg=1, negative=5,
                     workers=workers, epochs=epochs, evaluate=True, holdout=HOLDOUT)
    seconds = time.perf_counter() - t0
    words = sum(e["raw_words"] for e in model.epoch_stats)
    in_epochs = sum(e["seconds"] for e in model.epoch_stats)
    out(f"trained {len(model.wv)} words x {model.vector_size} dims, {epochs} epochs, {workers} threads "
        f"in {seconds:.1f} s ({words / max(in_epochs, 1e-9):,.0f} words/s in the epochs)")
    out(f"by epoch: loss per prediction on the training text and on {HOLDOUT:.0%} of it held out (never "
        f"trained on); analogy accuracy on a {monitor.SAMPLE_QUESTIONS:,}-question sample, word-pair Spearman")
    for line in epoch_lines(model.epoch_stats):
        out(line)
    model.wv.save_word2vec_format(output)
    out(f"vectors saved to {output}")
    out("nearest neighbours:")
    for q in QUERIES:
        if q in model.wv:
            near = ", ".join(f"{w} {s:.2f}" for w, s in model.wv.most_similar(q, topn=6))
            out(f"  {q:8} {near}")
    (_, _), (rho, _), oov = model.wv.evaluate_word_pairs(evaluation.data_path("wordsim353.tsv"))
    scores = ", ".join(f"{SET_NAMES.get(k, k)} {v:.3f}" for k, v in model.final_eval.items()
                       if k != "wordsim353")
    out(f"WordSim-353 Spearman: {rho:.3f} ({oov:.1f}% of pairs out of vocabulary)"
        + (f"; whole sets: {scores}" if scores else ""))
    if pictures:
        draw_pictures(model, os.path.dirname(os.path.abspath(output)), out,
                      title=f"w2v demo: skip-gram, negative sampling, {os.path.basename(path)}")
    return 0


def epoch_lines(epoch_stats) -> list[str]:
    """One line per epoch: the training and held-out loss per prediction, then the scores."""
    lines = []
    for e, stats in enumerate(epoch_stats, 1):
        line = f"  epoch {e}: loss {stats['loss'] / max(stats['predictions'], 1):.4f}"
        if stats.get("holdout_loss") is not None:
            line += f", held-out {stats['holdout_loss']:.4f}"
        scores = ", ".join(f"{k} {v:.3f}" for k, v in (stats.get("eval") or {}).items())
        lines.append(line + (f"; {scores}" if scores else ""))
    return lines


def map_words(wv) -> tuple[list, list]:
    """The map's words in the vocabulary and their groups; the 40 most frequent words after the
    first 20 (mostly function words) for a corpus that has too few of them."""
    words, groups = [], []
    for group, members in MAP_GROUPS.items():
        for w in members.split():
            if w in wv:
                words.append(w)
                groups.append(group)
    if len(words) >= 10:
        return words, groups
    return list(wv.index_to_key[20:60] or wv.index_to_key[:40]), None


def draw_pictures(model, directory, out=print, title=None) -> tuple[str, str] | None:
    """Save the learning curves and the map into `directory`; their paths, or None (after one
    line saying how to get them) without matplotlib."""
    from . import plot

    if not plot.available():
        out(f"pictures of the training and of the words: {plot.INSTALL_HINT}, then run w2v demo again")
        return None
    curves, word_map = os.path.join(directory, CURVES), os.path.join(directory, MAP)
    plot.save_figure(model.plot_training(title=title), curves)
    words, groups = map_words(model.wv)
    plot.save_figure(model.wv.plot_map(words, groups=groups), word_map)
    scored = any(e.get("eval") for e in model.epoch_stats)
    out(f"pictures: {curves} (loss{' and scores' if scored else ''} by epoch), {word_map} "
        f"(a map of {len(words)} words)")
    return curves, word_map
