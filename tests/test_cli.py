import pytest

from w2v import KeyedVectors
from w2v.cli import main


def test_train_with_word2vec_c_flags(tmp_path, demo_file):
    out = tmp_path / "vec.txt"
    vocab = tmp_path / "vocab.txt"
    rc = main(["train", "-train", str(demo_file), "-output", str(out), "-size", "20", "-window", "3",
               "-sample", "1e-4", "-negative", "3", "-hs", "0", "-threads", "2", "-iter", "1",
               "-min-count", "10", "-cbow", "0", "-binary", "0", "-save-vocab", str(vocab)])
    assert rc == 0
    kv = KeyedVectors.load_word2vec_format(out)  # checks the header against the rows
    assert kv.vectors.shape[1] == 20 and kv.index_to_key[0] == vocab.read_text().split()[0]
    counts = [int(l.split()[1]) for l in vocab.read_text().splitlines()]
    assert min(counts) >= 10 and counts == sorted(counts, reverse=True)


def test_train_gnu_long_options_binary_and_read_vocab(tmp_path, demo_file):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("the 100\nof 50\na 40\n")
    out = tmp_path / "vec.bin"
    assert main(["train", "--train", str(demo_file), "--output", str(out), "--size", "8",
                 "--iter", "1", "--binary", "1", "--read-vocab", str(vocab)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"3 8\n") and len(data) == len(b"3 8\n") + sum(len(w) + 2 + 32 for w in ("the", "of", "a"))


def test_c_defaults(monkeypatch, tmp_path, demo_file):
    from w2v import cli
    seen = {}

    class Fake:
        def __init__(self, **kw):
            seen.update(kw)
            raise SystemExit(0)

    monkeypatch.setattr("w2v.model.Word2Vec", Fake)
    with pytest.raises(SystemExit):
        cli.main(["train", "-train", str(demo_file), "-output", str(tmp_path / "o")])
    assert seen["sg"] == 0 and seen["alpha"] == 0.05 and seen["vector_size"] == 100 and seen["negative"] == 5
    assert seen["shuffle"] is True and seen["batch_window"] is None  # the model's default
    seen.clear()
    with pytest.raises(SystemExit):
        cli.main(["train", "-train", str(demo_file), "-output", str(tmp_path / "o"), "-cbow", "0",
                  "-shuffle", "0", "--batch-window", "1"])
    assert seen["sg"] == 1 and seen["alpha"] == 0.025
    assert seen["shuffle"] is False and seen["batch_window"] is True


@pytest.mark.parametrize("args, msg", [
    (["-train", "{tmp}/missing.txt"], "missing.txt"),
    (["-train", "{tmp}/empty.txt"], "empty corpus"),
    (["-train", "{tmp}/rare.txt"], "min_count=5"),
    (["-train", "{corpus}", "-size", "0"], "vector_size must be >= 1"),
    (["-train", "{corpus}", "-size", "-5"], "vector_size must be >= 1"),
    (["-train", "{corpus}", "-window", "0"], "window must be >= 1"),
    (["-train", "{corpus}", "-hs", "0", "-negative", "0"], "no objective"),
    (["-train", "{corpus}", "-output", "{tmp}/no/such/dir/out.txt"], "does not exist"),
    (["-train", "{corpus}", "-seed", "-1"], "-seed: seed must be an integer >= 0, got -1"),
    (["-train", "{corpus}", "-threads", "0"], "-threads: workers must be >= 1"),
    (["-train", "{tmp}/pruned.txt", "-max-vocab-size", "2"], "-max-vocab-size 2 is too small for this corpus"),
])
def test_bad_input_one_line_exit_2_no_output(tmp_path, demo_file, capsys, args, msg):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "rare.txt").write_text("all words unique here\n")
    # "x" would pass min_count 5, but the tables of 1 word each forget it among the unique words
    (tmp_path / "pruned.txt").write_text("x " * 5 + " ".join(f"u{i}" for i in range(1000)) + "\n")
    args = [a.format(tmp=tmp_path, corpus=demo_file) for a in args]
    if "-output" not in args:
        args += ["-output", str(tmp_path / "out.txt")]
    before = set(tmp_path.iterdir())
    assert main(["train"] + args + ["-iter", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("w2v: error: ") and msg in err and "Traceback" not in err
    assert err.count("\n") == 1
    assert set(tmp_path.iterdir()) == before  # nothing written, no temp file left


def test_a_tiny_max_vocab_size_gives_a_small_vocabulary_with_exact_counts(tmp_path, demo_file):
    from collections import Counter
    vocab = tmp_path / "vocab.txt"
    assert main(["train", "-train", str(demo_file), "-output", str(tmp_path / "out.txt"), "-size", "8", "-iter", "1",
                 "-max-vocab-size", "10", "-min-count", "1", "-save-vocab", str(vocab)]) == 0
    kept = [line.split() for line in vocab.read_text().splitlines()]
    true = Counter(demo_file.read_text(encoding="utf-8").split())
    assert 1 <= len(kept) <= 10 and len(true) > 10_000
    assert all(int(c) == true[w] for w, c in kept)


def test_unwritable_output(tmp_path, demo_file, capsys):
    import os
    if os.geteuid() == 0:
        target = tmp_path / "adir"
        target.mkdir()  # a directory cannot be overwritten by a file, even by root
        out = target
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        out = ro / "out.txt"
    assert main(["train", "-train", str(demo_file), "-output", str(out), "-iter", "1"]) == 2
    assert capsys.readouterr().err.startswith("w2v: error: ")


# ---------------------------------------------------------------- issue 19: refuse before reading
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _w2v(args, cwd, timeout=120):
    """Run this worktree's `python -m w2v`; a hang (a FIFO opened with no writer) times out."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "w2v", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("argv", [
    ["train", "-train", "{fifo}", "-output", "{tmp}/o.txt", "-phrases", "1"],
    ["phrases", "-train", "{fifo}", "-output", "{tmp}/o.txt"],
    ["train", "-train", "{fifo}", "-output", "{tmp}/o.txt", "-seed", "-1"],
], ids=["train-phrases", "phrases", "bad-seed"])
def test_one_pass_inputs_and_bad_settings_are_refused_before_reading(tmp_path, argv):
    """A FIFO that nobody writes blocks whoever opens it: each command must refuse without
    opening it (two passes over a FIFO hang; a bad setting must not wait for the corpus)."""
    fifo = tmp_path / "corpus.fifo"
    os.mkfifo(fifo)
    try:
        done = _w2v([a.format(fifo=fifo, tmp=tmp_path) for a in argv], tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("the command opened the FIFO (it hung waiting for a writer) instead of refusing")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("w2v: error: ")
    assert ("-seed" in line) if "-seed" in argv else ("not a regular file" in line and str(fifo) in line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.fifo"]


def test_max_vocab_size_reads_a_fifo_once(tmp_path):
    """The compiled pass prunes and encodes in one pass: -max-vocab-size trains from a FIFO."""
    import threading
    from collections import Counter
    fifo = tmp_path / "corpus.fifo"
    os.mkfifo(fifo)
    text = "".join(f"the w{i % 7} x{i % 300} y{i}\n" for i in range(3000))

    def feed():
        with open(fifo, "w") as f:
            f.write(text)
    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = _w2v(["train", "-train", str(fifo), "-output", str(tmp_path / "o.txt"), "-size", "8", "-iter", "1",
                 "-min-count", "1", "-max-vocab-size", "50", "-save-vocab", str(tmp_path / "v.txt")], tmp_path)
    writer.join(5)
    assert done.returncode == 0, done.stderr
    kept = dict(line.split() for line in (tmp_path / "v.txt").read_text().splitlines())
    true = Counter(text.split())
    assert {"the", "w0", "w6"} <= set(kept) and len(kept) <= 50
    assert all(int(c) == true[w] for w, c in kept.items())


def test_matrices_that_cannot_fit_raise_a_clear_memory_error_before_allocating(monkeypatch, demo_sentences):
    from w2v import Word2Vec
    from w2v.errors import NotEnoughMemoryError

    monkeypatch.setattr("w2v.config.available_memory", lambda: 10 << 20)  # 10 MiB
    model = Word2Vec(vector_size=1000, min_count=1, workers=1, hs=1, negative=5)
    with pytest.raises(NotEnoughMemoryError) as info:
        model.build_vocab(demo_sentences)
    assert isinstance(info.value, MemoryError) and isinstance(info.value, ValueError)
    msg = str(info.value)
    assert "vector_size 1000" in msg and "w_in, w_out_ns, w_out_hs" in msg and "0.0 GiB of memory" in msg
    v = len(model.vocab)
    assert f"{4 * 1000 * (4 * v - 1) / 2**30:.1f} GiB" in msg
    monkeypatch.setattr("w2v.config.available_memory", lambda: 1 << 40)
    model.build_vocab(demo_sentences)  # fits: allocated
    assert model.wv.vectors.shape == (v, 1000)


def test_a_vector_size_too_large_for_memory_is_one_line_naming_the_memory(tmp_path, demo_file, capsys):
    assert main(["train", "-train", str(demo_file), "-output", str(tmp_path / "o.txt"), "-size", "100000000",
                 "-iter", "1", "-threads", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.endswith("\n")
    last = err.splitlines()[-1]
    assert last.startswith("w2v: error: the model needs ") and "vector_size 100000000" in last
    assert "GiB of memory is available" in last and "-size" in last
    assert list(tmp_path.iterdir()) == []


def test_the_install_ships_every_subpackage():
    """pytest imports w2v from the checkout; `pip install .` ships only the packages pyproject
    lists, and a missing one breaks `w2v demo` for a user while every test passes."""
    import tomllib
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    listed = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    packages = {".".join(p.parent.relative_to(repo).parts) for p in (repo / "w2v").rglob("__init__.py")}
    assert set(listed) == packages


def test_corpus_store_flags_and_the_cache_command(tmp_path, demo_file, capsys, monkeypatch):
    cache = tmp_path / "cache"
    args = ["train", "-train", str(demo_file), "-output", str(tmp_path / "v.txt"), "-size", "8", "-iter", "1",
            "-threads", "1", "-corpus-store", "disk", "-cache-dir", str(cache)]
    assert main(args) == 0
    assert main(["cache", "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "1 cached corpora" in out and str(demo_file) in out
    assert "verified" in out  # the run's epoch read the whole store: marked
    monkeypatch.setenv("W2V_CACHE_DIR", str(cache))
    assert main(["cache", "--clear"]) == 0
    assert "removed 1 cached corpora" in capsys.readouterr().out
    assert main(["cache", "--list"]) == 0 and "0 cached corpora" in capsys.readouterr().out
    assert main(args[:-4] + ["-corpus-store", "memory"]) == 0
    assert list(cache.iterdir()) == []
