"""`w2v train -classes K`, `w2v classes`, and -debug N / --quiet / --verbose."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from w2v import KeyedVectors, Word2Vec
from w2v.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _read_classes(path):
    """word2vec.c's -classes output: "word class" lines, no header; (words, classes)."""
    words, classes = [], []
    for line in Path(path).read_text(encoding="utf-8").split("\n")[:-1]:
        word, cls = line.split(" ")  # exactly two fields, one space
        words.append(word)
        classes.append(int(cls))
    return words, np.array(classes)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory, demo_sentences):
    path = tmp_path_factory.mktemp("classes") / "small.txt"
    path.write_text("\n".join(" ".join(s) for s in demo_sentences[:8000]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def vectors_file(tmp_path):
    rng = np.random.default_rng(0)
    kv = KeyedVectors(8, [f"w{i}" for i in range(40)], rng.standard_normal((40, 8)).astype(np.float32))
    path = tmp_path / "vectors.txt"
    kv.save_word2vec_format(path)
    return path, kv


def test_train_classes_writes_every_vocabulary_word_once_in_order(tmp_path, small_corpus, capsys):
    out, model_path = tmp_path / "classes.txt", tmp_path / "model.npz"
    assert main(["train", "-train", str(small_corpus), "-output", str(out), "-size", "16", "-iter", "1",
                 "-threads", "1", "-classes", "12", "-save-model", str(model_path), "-seed", "3"]) == 0
    assert "12 classes" in capsys.readouterr().err
    words, classes = _read_classes(out)
    model = Word2Vec.load(model_path)  # -save-model still saves the model
    assert words == model.wv.index_to_key  # every word once, vocabulary order
    assert classes.min() == 0 and classes.max() == 11 and len(set(classes.tolist())) == 12
    expected, _ = model.wv.cluster(12, iterations=10, seed=3)  # the run's seed
    assert np.array_equal(classes, expected)
    fewer, _ = model.wv.cluster(12, iterations=1, seed=3)
    out1 = tmp_path / "classes1.txt"
    assert main(["train", "-train", str(small_corpus), "-output", str(out1), "-size", "16", "-iter", "1",
                 "-threads", "1", "-classes", "12", "-classes-iter", "1", "-seed", "3"]) == 0
    assert np.array_equal(_read_classes(out1)[1], fewer)


def test_classes_subcommand_file_and_stdout(tmp_path, vectors_file, capsys):
    path, kv = vectors_file
    expected, _ = kv.cluster(5, iterations=4, seed=2)
    out = tmp_path / "classes.txt"
    assert main(["classes", str(path), "-k", "5", "-o", str(out), "--iter", "4", "--seed", "2"]) == 0
    assert _read_classes(out) == (kv.index_to_key, pytest.approx(expected))
    capsys.readouterr()
    assert main(["classes", str(path), "-k", "5", "--iter", "4", "--seed", "2", "--quiet"]) == 0
    stdout, stderr = capsys.readouterr()
    assert stderr == ""
    assert stdout == "".join(f"{w} {c}\n" for w, c in zip(kv.index_to_key, expected.tolist()))
    gz = tmp_path / "classes.txt.gz"
    assert main(["classes", str(path), "-k", "5", "-o", str(gz), "--iter", "4", "--seed", "2"]) == 0
    import gzip
    assert gzip.decompress(gz.read_bytes()).decode() == stdout


def _nan_vectors(tmp):
    kv = KeyedVectors(4, ["a", "b", "c"], np.array([[1, 0, 0, 0], [0, np.nan, 1, 0], [0, 0, 1, 1]], dtype=np.float32))
    kv.save_word2vec_format(tmp / "nan.txt")
    return tmp / "nan.txt"


@pytest.mark.parametrize("argv, msg", [
    (["classes", "{vectors}", "-k", "0", "-o", "{tmp}/o.txt"], "-k must be a number of classes >= 1, got 0"),
    (["classes", "{vectors}", "-k", "41", "-o", "{tmp}/o.txt"], "-k 41: cannot make more classes than the 40 words"),
    (["classes", "{nan}", "-k", "2", "-o", "{tmp}/o.txt"], "NaN or infinite values in 1 rows (first: 1)"),
    (["classes", "{vectors}", "-k", "2", "--iter", "-1", "-o", "{tmp}/o.txt"], "--iter must be >= 0"),
    (["train", "-train", "{corpus}", "-output", "{tmp}/o.txt", "-classes", "-1"], "-classes must be a number"),
    (["train", "-train", "{corpus}", "-output", "{tmp}/o.txt", "-classes", "2", "-classes-iter", "-2"],
     "-classes-iter must be >= 0"),
    (["train", "-train", "{corpus}", "-save-model", "{tmp}/m.npz", "-classes", "2"], "give -output FILE"),
    (["train", "-train", "{corpus}", "-output", "{tmp}/o.txt", "-classes", "100000", "-save-vocab", "{tmp}/v.txt",
      "-save-model", "{tmp}/m.npz"], "-classes 100000: cannot make more classes than the"),
])
def test_bad_classes_input_one_line_exit_2_nothing_written(tmp_path, vectors_file, small_corpus, capsys, argv, msg):
    nan = _nan_vectors(vectors_file[0].parent)
    before = set(tmp_path.iterdir())
    argv = [a.format(vectors=vectors_file[0], nan=nan, tmp=tmp_path, corpus=small_corpus) for a in argv]
    assert main(argv + (["-iter", "1", "-size", "8"] if argv[0] == "train" else [])) == 2
    err = capsys.readouterr().err
    last = err.splitlines()[-1]  # after the vocabulary line, where the check needs the vocabulary
    assert last.startswith("w2v: error: ") and msg in last and "Traceback" not in err, err
    assert set(tmp_path.iterdir()) == before  # nothing written, no temporary left


def _w2v(args):
    """This worktree's `python -m w2v` in a fresh process: everything it prints, numba's and
    tqdm's included, not only what w2v's loggers say."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "w2v", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("quiet", [["-debug", "0"], ["--quiet"]], ids=["debug0", "quiet"])
def test_debug_0_prints_nothing_on_stderr(tmp_path, small_corpus, quiet):
    done = _w2v(["train", "-train", str(small_corpus), "-output", str(tmp_path / "c.txt"), "-size", "8",
                 "-iter", "2", "-threads", "2", "-classes", "5", *quiet])
    assert done.returncode == 0 and done.stderr == "" and done.stdout == ""
    assert len(_read_classes(tmp_path / "c.txt")[0]) > 100


def test_debug_levels_add_lines(tmp_path, small_corpus, capsys):
    argv = ["train", "-train", str(small_corpus), "-output", str(tmp_path / "c.txt"), "-size", "8", "-iter", "2",
            "-threads", "1", "-classes", "5"]
    assert main(argv) == 0
    default = capsys.readouterr().err
    assert "vocabulary:" in default and "epoch 2:" in default and "5 classes" in default
    assert "details" not in default and "k-means iteration" not in default
    assert main(argv + ["-debug", "2"]) == 0
    verbose = capsys.readouterr().err
    assert "epoch 2 details:" in verbose and "k-means iteration 1:" in verbose
    assert main(argv + ["--verbose"]) == 0
    assert "epoch 2 details:" in capsys.readouterr().err
    assert main(argv + ["-debug", "0"]) == 0
    assert capsys.readouterr().err == ""


def test_debug_0_turns_the_progress_bar_off(monkeypatch, tmp_path, small_corpus):
    """A terminal would show tqdm's bar (which no captured stderr shows): -debug 0 asks for none."""
    seen = []

    class Fake:
        def __init__(self, **kw):
            seen.append(kw["progress"])
            raise SystemExit(0)

    monkeypatch.setattr("w2v.model.Word2Vec", Fake)
    for flags in ([], ["-debug", "0"], ["--quiet"], ["-debug", "2"]):
        with pytest.raises(SystemExit):
            main(["train", "-train", str(small_corpus), "-output", str(tmp_path / "o"), *flags])
    assert seen == [None, False, False, None]
