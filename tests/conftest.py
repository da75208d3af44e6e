"""Shared fixtures: slices of the embedded demo corpus and a similarity measure defined from it."""
from __future__ import annotations

import gzip
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "w2v" / "data" / "wordnet-glosses.txt.gz"
SHARED_DATA = REPO.parent / "shared" / "data"


def demo_lines(n_lines: int) -> list[str]:
    out = []
    with gzip.open(DEMO, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(line)
            if len(out) >= n_lines:
                break
    return out


@pytest.fixture(autouse=True, scope="session")
def _corpus_cache_in_a_temp_dir(tmp_path_factory):
    """No test writes the user's corpus cache (tests that use one give their own cache_dir)."""
    import os
    old = os.environ.get("W2V_CACHE_DIR")
    os.environ["W2V_CACHE_DIR"] = str(tmp_path_factory.mktemp("w2v-cache"))
    yield
    if old is None:
        del os.environ["W2V_CACHE_DIR"]
    else:
        os.environ["W2V_CACHE_DIR"] = old


@pytest.fixture
def ctrl_c_handled():
    """Python's Ctrl-C handler installed for the test, whatever the process inherited: a process
    started with SIGINT ignored (a background job of a non-interactive shell) would otherwise
    never see the test's SIGINT."""
    import signal
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


@pytest.fixture(scope="session")
def demo_sentences() -> list[list[str]]:
    """About 300k tokens of the demo corpus as token lists."""
    return [line.split() for line in demo_lines(25_000)]


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory, demo_sentences) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "demo.txt"
    path.write_text("\n".join(" ".join(s) for s in demo_sentences) + "\n", encoding="utf-8")
    return path


def ppmi_rows(sentences, n_words: int = 300, skip: int = 30, window: int = 5, keep=None):
    """The corpus's words ranked skip..skip+n_words by frequency (those `keep` accepts), and their
    PPMI co-occurrence rows (within `window`), each of unit length."""
    from collections import Counter
    counts = Counter(w for s in sentences for w in s)
    words = [w for w, _ in counts.most_common(skip + n_words)[skip:] if keep is None or keep(w)]
    index = {w: i for i, w in enumerate(words)}
    k = len(words)
    cooc = np.zeros((k, k))
    for s in sentences:
        ids = np.array([index.get(w, -1) for w in s])
        for off in range(1, window + 1):
            a, b = ids[:-off], ids[off:]
            ok = (a >= 0) & (b >= 0)
            np.add.at(cooc, (a[ok], b[ok]), 1.0)
            np.add.at(cooc, (b[ok], a[ok]), 1.0)
    total = cooc.sum()
    row = cooc.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(cooc * total / (row * row.T))
    ppmi = np.nan_to_num(np.maximum(pmi, 0.0), posinf=0.0)
    ppmi /= np.linalg.norm(ppmi, axis=1, keepdims=True) + 1e-12
    return words, ppmi


def cooccurrence_agreement(wv, sentences, n_words: int = 300, skip: int = 30, window: int = 5) -> float:
    """Spearman correlation between the model's cosines and the cosines of PPMI co-occurrence
    rows, over all pairs of the corpus's words ranked skip..skip+n_words by frequency.

    Random vectors score about 0; vectors that learned anything about contexts score well above.
    """
    words, ppmi = ppmi_rows(sentences, n_words, skip, window, keep=lambda w: w in wv)
    vecs = np.array([wv[w] for w in words], dtype=np.float64)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-12
    iu = np.triu_indices(len(words), 1)
    return float(spearmanr((ppmi @ ppmi.T)[iu], (vecs @ vecs.T)[iu])[0])


@pytest.fixture
def ctrl_c_at_unit(monkeypatch, ctrl_c_handled):
    """Send this process SIGINT (Ctrl-C) when the backend starts training unit number n (counted
    over the whole run; units at learning rate 0, the held-out loss's, are not counted), and give
    the main thread time to stop the others before that unit trains."""
    def arm(n):
        from w2v import kernels
        real = kernels.train_chunk
        calls = [0]

        def chunk(*args):
            if args[-3] > 0:  # lr0
                calls[0] += 1
                if calls[0] == n:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.3)
            return real(*args)

        monkeypatch.setattr(kernels, "train_chunk", chunk)
        return calls
    return arm


def dask_client(n_workers):
    """A fixture's body: a Client of an embedded LocalCluster of n_workers, closed after."""
    from w2v.backends import dask as dask_backend
    c, cluster = dask_backend.local_client(n_workers)
    yield c
    c.close()
    cluster.close()
