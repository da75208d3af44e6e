"""The gensim drop-in promise, end to end: tests/gensim_script.py, written for gensim from its
documentation, runs under gensim, and with only its imports changed, under w2v; what the two runs
print agrees (exactly where nothing is random, within tolerance for training)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, demo_lines, ppmi_rows

pytest.importorskip("gensim.models")

SCRIPT = Path(__file__).resolve().parent / "gensim_script.py"
W2V_IMPORTS = {
    "from gensim.models import Word2Vec, KeyedVectors": "from w2v import Word2Vec, KeyedVectors",
    "from gensim.models.word2vec import LineSentence": "from w2v import LineSentence",
    "from gensim.models.phrases import Phrases, ENGLISH_CONNECTOR_WORDS":
        "from w2v.phrases import Phrases, ENGLISH_CONNECTOR_WORDS",
    "from gensim.models.callbacks import CallbackAny2Vec": "from w2v.callbacks import CallbackAny2Vec",
}


def w2v_version(text: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(W2V_IMPORTS[line.rstrip("\n")] + "\n" if line.rstrip("\n") in W2V_IMPORTS else line
                   for line in lines)


def cooccurrence_pairs(sentences, path, n_words=150, skip=30, window=5):
    """WordSim-353's format: word pairs of the corpus' frequent words, scored by the cosine of their
    PPMI co-occurrence rows: what any trained model should correlate with, unlike WordSim-353, whose
    words this small corpus mostly lacks."""
    words, ppmi = ppmi_rows(sentences, n_words, skip, window)
    sims = ppmi @ ppmi.T
    with open(path, "w") as f:
        for i in range(len(words)):
            for j in range(i + 1, len(words)):
                f.write(f"{words[i]}\t{words[j]}\t{10 * sims[i, j]:.4f}\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{'gensim': (report, stdout), 'w2v': (report, stdout)} of the two runs."""
    tmp = tmp_path_factory.mktemp("script")
    lines = demo_lines(12000)
    corpus = tmp / "corpus.txt"
    corpus.write_text("".join(lines), encoding="utf-8")
    cooccurrence_pairs([line.split() for line in lines], tmp / "pairs.tsv")
    (tmp / "w2v_script.py").write_text(w2v_version(SCRIPT.read_text()))
    data = REPO / "w2v" / "data"
    env = dict(os.environ, PYTHONPATH=str(REPO))  # this checkout's w2v, whichever is installed
    out = {}
    for name, script in (("gensim", SCRIPT), ("w2v", tmp / "w2v_script.py")):
        (tmp / name).mkdir()
        done = subprocess.run([sys.executable, str(script), str(corpus), str(data), str(tmp / "pairs.tsv"),
                               str(tmp / name)], capture_output=True, text=True, env=env, cwd=str(tmp), timeout=600)
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
        report = next(line for line in done.stdout.splitlines() if line.startswith("REPORT "))
        out[name] = json.loads(report[len("REPORT "):]), done.stdout
    return out


def test_only_the_imports_differ():
    text = SCRIPT.read_text()
    ours = w2v_version(text)
    changed = [(a, b) for a, b in zip(text.splitlines(), ours.splitlines()) if a != b]
    assert len(changed) == len(W2V_IMPORTS) and len(ours.splitlines()) == len(text.splitlines())
    assert all(a.startswith("from gensim") and b.startswith("from w2v") for a, b in changed)
    body = ours.split("# --- end of imports")[1]
    assert not re.search(r"^\s*(from|import)\s+gensim|gensim\.", body, re.M)  # nothing below uses gensim


def test_what_nothing_random_decides_is_the_same(runs):
    theirs, ours = runs["gensim"][0], runs["w2v"][0]
    assert len(ours["phrases"]) > 100
    for key in ("phrases", "vocab_size", "corpus_count", "corpus_total_words", "counts", "train_count",
                "ns_new_words", "ns_vocab_after_update", "hs_new_words", "hs_vocab_after_update",
                "wordsim_oov", "analogy_questions"):
        assert ours[key] == pytest.approx(theirs[key]), key
    assert ours["ns_new_words"] and ours["hs_new_words"]  # the updates added words
    for run in (ours, theirs):
        assert run["loaded_same_vectors"] and run["kv_same_vectors"]
        assert run["truncated"] == "EOFError"  # gensim's except clause catches w2v's error


def test_training_results_agree_within_tolerance(runs):
    theirs, ours = runs["gensim"][0], runs["w2v"][0]
    for name in ("gensim", "w2v"):
        printed = [line for line in runs[name][1].splitlines() if line.startswith("Loss after epoch")]
        assert len(printed) == 5  # the callback ran once per epoch
    # per-epoch losses (one worker), measured 2% apart in the first epochs; gensim sums in float32,
    # which drifts as the sum grows (its later epochs' losses rise, 7-8% above w2v's by the 5th)
    np.testing.assert_allclose(ours["losses"][:2], theirs["losses"][:2], rtol=0.05)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=0.15)
    assert ours["losses"][-1] < 0.85 * ours["losses"][0]
    # vectors: Spearman correlation with the corpus' co-occurrences, measured 0.53 (gensim) and 0.56
    # (w2v) for skip-gram with negative sampling, 0.32 and 0.27 for the CBOW hs model after its update
    # (w2v restarts the inner nodes whose split changed at zero; gensim keeps rows by position)
    for key in ("ns_pairs_spearman", "hs_pairs_spearman"):
        assert ours[key] > 0.15 and theirs[key] > 0.15, key  # random vectors: about 0
        assert abs(ours[key] - theirs[key]) < 0.12, key
    assert abs(ours["analogy_accuracy"] - theirs["analogy_accuracy"]) < 0.05  # both near 0 on this corpus
    # score() on the two updated hs models (trained apart, so not the same weights): measured 2.4%
    # apart in the median, and ordering the sentences alike
    ours_score, theirs_score = np.array(ours["hs_score"]), np.array(theirs["hs_score"])
    assert np.median(np.abs(ours_score - theirs_score) / np.maximum(np.abs(theirs_score), 1.0)) < 0.1
    assert np.corrcoef(ours_score, theirs_score)[0, 1] > 0.98
