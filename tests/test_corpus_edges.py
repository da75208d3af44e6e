"""Corpus edge cases through `w2v train` (issue 19): each input either trains correctly or is
refused with one line, exit status 2, and nothing written. docs/reliability.md says which and why."""
import bz2
import gc
import gzip
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from w2v import Word2Vec
from w2v.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _text(n_lines=3000, seed=0, prefix="w"):
    rng = np.random.default_rng(seed)
    ids = rng.zipf(1.5, size=(n_lines, 12)) % 300
    return "".join(" ".join(f"{prefix}{i}" for i in row) + "\n" for row in ids).encode()


def _refused(tmp_path, capsys, argv, *needles):
    """argv is refused: one line naming each needle, exit 2, nothing written in tmp_path."""
    before = sorted(tmp_path.iterdir())
    capsys.readouterr()
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("w2v: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    assert sorted(tmp_path.iterdir()) == before


def _vocab(path):
    return [tuple(line.split()) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_a_truncated_gz_is_refused_naming_the_file_and_the_text_read(tmp_path, capsys):
    data = gzip.compress(_text(20_000))
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(data[:len(data) // 2])
    _refused(tmp_path, capsys, ["-train", str(cut), "-output", str(tmp_path / "v.txt"), "-iter", "1"],
             str(cut), "truncated or damaged after", "bytes of text")


def test_a_bz2_with_garbage_appended_is_refused_and_multistream_bz2_trains(tmp_path, capsys):
    text = _text()
    bad = tmp_path / "bad.bz2"
    bad.write_bytes(bz2.compress(text) + b"garbage after the stream\n")
    _refused(tmp_path, capsys, ["-train", str(bad), "-output", str(tmp_path / "v.txt"), "-iter", "1"],
             str(bad), "not a bz2 stream")
    # several streams back to back (pbzip2, Wikipedia's multistream dumps) are one corpus
    multi, plain = tmp_path / "multi.bz2", tmp_path / "plain.txt"
    multi.write_bytes(bz2.compress(text[:10_001]) + bz2.compress(text[10_001:]))
    plain.write_bytes(text)
    for src in (multi, plain):
        assert main(["train", "-train", str(src), "-save-vocab", str(tmp_path / f"{src.name}.vocab")]) == 0
    assert _vocab(tmp_path / "multi.bz2.vocab") == _vocab(tmp_path / "plain.txt.vocab")
    # a truncated multi-stream file is refused too
    cut = tmp_path / "cut.bz2"
    cut.write_bytes(multi.read_bytes()[:-50])
    _refused(tmp_path, capsys, ["-train", str(cut), "-output", str(tmp_path / "v.txt"), "-iter", "1"],
             str(cut), "ends inside a bz2 stream")


def test_a_million_empty_lines_are_an_empty_corpus_and_count_nothing(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"\n" * 10**6)
    _refused(tmp_path, capsys, ["-train", str(empty), "-output", str(tmp_path / "v.txt"), "-iter", "1"],
             "empty corpus")
    # between sentences they change nothing: same vocabulary, same sentences, same vectors
    text = _text(500)
    spaced = tmp_path / "spaced.txt"
    spaced.write_bytes(b"\n" * 10**6 + text.replace(b"\n", b"\n" + b"\n" * 2000))
    plain = tmp_path / "plain.txt"
    plain.write_bytes(text)
    for src in (spaced, plain):
        assert main(["train", "-train", str(src), "-output", str(tmp_path / f"{src.name}.vec"), "-size", "8",
                     "-iter", "1", "-threads", "1", "-min-count", "1"]) == 0
    assert (tmp_path / "spaced.txt.vec").read_bytes() == (tmp_path / "plain.txt.vec").read_bytes()


def test_a_single_20_mb_token(tmp_path, capsys):
    """One word: below min_count it is an empty vocabulary (min_count named); with -min-count 1 it
    trains (nothing to predict) and the word is written whole, as gensim keeps it (word2vec.c cuts
    words at 100 bytes)."""
    token = tmp_path / "token.txt"
    token.write_bytes(b"x" * (20 << 20))
    _refused(tmp_path, capsys, ["-train", str(token), "-output", str(tmp_path / "v.txt"), "-iter", "1"],
             "min_count=5")
    out = tmp_path / "v.txt"
    assert main(["train", "-train", str(token), "-output", str(out), "-iter", "1", "-size", "4",
                 "-min-count", "1"]) == 0
    header, row = out.read_bytes().split(b"\n", 1)
    assert header == b"1 4" and row.startswith(b"x" * (20 << 20) + b" ") and len(row.split()) == 5


def _w2v(args, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "w2v", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _through_fifo(fifo, data, args):
    """Run `w2v train -train FIFO args` while a thread writes data into the FIFO once; a second
    open of the FIFO would wait for a writer that never comes (the timeout fails the test)."""
    writer = threading.Thread(target=lambda: Path(fifo).write_bytes(data), daemon=True)
    writer.start()
    try:
        done = _w2v(["train", "-train", str(fifo), *args])
    except subprocess.TimeoutExpired:
        pytest.fail("w2v opened the FIFO a second time (it waited for a writer)")
    writer.join(5)
    return done


@pytest.mark.parametrize("store", ["auto", "memory", "disk"])
def test_a_fifo_is_read_once_and_never_cached(tmp_path, store):
    """A FIFO trains from one read whatever -corpus-store. Its size and mtime say nothing of what
    it will yield (and the writer moves its mtime), so with a store on disk the store is private
    to the run: never found by the next run, which trains on what the FIFO then yields, and
    removed at exit."""
    fifo, cache = tmp_path / "corpus.fifo", tmp_path / "cache"
    os.mkfifo(fifo)
    for k, seed in enumerate((0, 1)):
        text = _text(2000, seed=seed, prefix="ab"[k])
        plain = tmp_path / f"plain{k}.txt"
        plain.write_bytes(text)
        args = ["-output", str(tmp_path / f"v{k}.txt"), "-save-vocab", str(tmp_path / f"fifo{k}.vocab"),
                "-size", "8", "-iter", "1", "-corpus-store", store, "-cache-dir", str(cache)]
        done = _through_fifo(fifo, text, args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert main(["train", "-train", str(plain), "-save-vocab", str(tmp_path / f"plain{k}.vocab")]) == 0
        assert _vocab(tmp_path / f"fifo{k}.vocab") == _vocab(tmp_path / f"plain{k}.vocab")
        n_words = len(_vocab(tmp_path / f"plain{k}.vocab"))
        assert (tmp_path / f"v{k}.txt").read_text().split("\n", 1)[0] == f"{n_words} 8"
        assert not cache.exists() or list(cache.iterdir()) == []


def test_a_directory_skips_subdirectories_and_reads_a_binary_file_as_text(tmp_path):
    """A corpus directory stands for its regular files in name order (not recursive, as gensim's
    PathLineSentences); a binary file among them is text like any other (invalid UTF-8 becomes
    U+FFFD, NUL is a byte of a word): its bytes are counted, as word2vec.c would, never a crash."""
    d = tmp_path / "corpus"
    (d / "sub").mkdir(parents=True)
    text = _text(1000)
    (d / "a.txt").write_bytes(text)
    (d / "sub" / "b.txt").write_bytes(_text(1000, prefix="hidden"))
    blob = np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    blob = blob + b"\n" + b"w1 w2 w3\n" * 10
    (d / "blob.bin").write_bytes(blob)
    cat = tmp_path / "cat.txt"
    cat.write_bytes(text + blob)  # what the directory stands for: a.txt then blob.bin (name order)
    for src, name in ((d, "dir"), (cat, "cat")):
        assert main(["train", "-train", str(src), "-output", str(tmp_path / f"{name}.vec"), "-size", "8",
                     "-iter", "1", "-threads", "1", "-min-count", "1", "-save-vocab", str(tmp_path / f"{name}.vocab")]) == 0
    vocab = _vocab(tmp_path / "dir.vocab")
    assert vocab == _vocab(tmp_path / "cat.vocab")
    words = {w for w, _ in vocab}
    assert "w1" in words and not any(w.startswith("hidden") for w in words)
    assert (tmp_path / "dir.vec").read_bytes() == (tmp_path / "cat.vec").read_bytes()


@pytest.mark.parametrize("store", ["memory", "disk"])
@pytest.mark.parametrize("change", ["deleted", "replaced"])
def test_a_corpus_file_deleted_or_replaced_between_build_vocab_and_train(tmp_path, store, change):
    """train() with no corpus trains on what build_vocab read (its ids, in RAM or in the store);
    train(corpus_file=path) reads the path as it is now: the new text, or FileNotFoundError."""
    path = tmp_path / "c.txt"
    old, new = _text(1000), _text(600, seed=1)
    path.write_bytes(old)
    model = Word2Vec(vector_size=8, min_count=1, workers=1, epochs=1, corpus_store=store,
                     cache_dir=tmp_path / "cache")
    model.build_vocab(corpus_file=path)
    n_old, n_new = len(old.split()), sum(1 for w in new.decode().split() if w in model.wv.key_to_index)
    if change == "deleted":
        path.unlink()
    else:
        replacement = tmp_path / "new.txt"
        replacement.write_bytes(new)
        os.replace(replacement, path)
    assert model.train() == (model.epoch_stats[-1]["effective_words"], n_old)  # gensim's order: (effective, raw)
    if change == "deleted":
        with pytest.raises(FileNotFoundError, match="c.txt"):
            model.train(corpus_file=path)
    else:
        _, raw = model.train(corpus_file=path)
        assert raw == n_new != n_old
    del model
    gc.collect()
