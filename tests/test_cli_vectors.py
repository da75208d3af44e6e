"""`w2v similar / analogy / eval / convert` through w2v.cli.main, errors included."""
import json

import numpy as np
import pytest

from w2v import KeyedVectors
from w2v.cli import main


@pytest.fixture
def vectors_file(tmp_path):
    rng = np.random.default_rng(0)
    d = 16
    offset = rng.standard_normal(d) * 2
    vec = {}
    for a, b in (("athens", "greece"), ("berlin", "germany"), ("paris", "france"), ("rome", "italy")):
        vec[a] = rng.standard_normal(d)
        vec[b] = vec[a] + offset
    for i in range(20):
        vec[f"noise{i}"] = rng.standard_normal(d)
    kv = KeyedVectors(d, list(vec), np.array(list(vec.values()), dtype=np.float32))
    path = tmp_path / "vectors.bin"
    kv.save_word2vec_format(path, binary=True)
    return path, kv


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_similar(capsys, vectors_file):
    path, kv = vectors_file
    code, out, err = run(capsys, "similar", path, "athens", "-n", "3")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["word", "cosine"] and len(lines) == 4
    best, score = kv.most_similar("athens", topn=1)[0]
    assert lines[1].split() == [best, f"{score:.4f}"]
    code, out, _ = run(capsys, "similar", path, "athens", "rome", "-n", "2")
    assert [line.split()[0] for line in out.splitlines()[1:]] == \
           [w for w, _ in kv.most_similar(["athens", "rome"], topn=2)]


def test_analogy(capsys, vectors_file):
    path, _ = vectors_file
    code, out, _ = run(capsys, "analogy", path, "athens", "greece", "berlin", "-n", "1")
    assert code == 0 and out.splitlines()[1].split()[0] == "germany"
    code, out, _ = run(capsys, "analogy", path, "athens", "greece", "paris", "--mul")
    assert code == 0 and out.splitlines()[1].split()[0] == "france"


def test_eval_table_and_json(capsys, vectors_file, tmp_path):
    path, _ = vectors_file
    questions = tmp_path / "q.txt"
    questions.write_text(": capital-common-countries\nathens greece berlin germany\n"
                         "athens greece rome italy\nathens greece oslo norway\n")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("athens\tgreece\t8\nathens\trome\t3\nberlin\tgermany\t9\nparis\tnoise3\t1\n")
    code, out, err = run(capsys, "eval", path, "--analogies", questions, "--pairs", pairs)
    assert code == 0, err
    assert "capital-common-countries" in out and "100.0%" in out and "pairs.tsv" in out
    code, out, _ = run(capsys, "eval", path, "--analogies", questions, "--pairs", pairs, "--json")
    result = json.loads(out)
    assert result["analogies"]["correct"] == 2 and result["analogies"]["skipped"] == 1
    assert result["pairs"][0]["oov_ratio"] == 0


def test_eval_defaults_to_bundled_sets(capsys, vectors_file):
    path, _ = vectors_file
    code, out, err = run(capsys, "eval", path, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["analogies"]["file"].endswith("questions-words.txt")
    assert [p["file"].rsplit("/", 1)[1] for p in result["pairs"]] == ["wordsim353.tsv", "simlex999.txt"]


@pytest.mark.parametrize("out_name,fmt", [("v.txt", "text"), ("v.vec", "text"), ("v.npz", "native"),
                                          ("v.bin", "binary"), ("v.data", None)])
def test_convert_round_trip(capsys, vectors_file, tmp_path, out_name, fmt):
    path, kv = vectors_file
    argv = ["convert", path, tmp_path / out_name] + (["--to", "text"] if fmt is None else [])
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    back_path = tmp_path / "back.bin"
    code, _, err = run(capsys, "convert", tmp_path / out_name, back_path)
    assert code == 0, err
    assert back_path.read_bytes() == path.read_bytes()
    code, _, _ = run(capsys, "convert", path, tmp_path / "head.txt", "--limit", "3")
    assert len(KeyedVectors.load_word2vec_format(tmp_path / "head.txt")) == 3


BAD_FILES = {
    "empty.txt": (b"", "empty file"),
    "header.txt": (b"two 3\n", "line 1: bad header"),
    "fewer.txt": (b"3 2\na 1 2\n", "line 3: unexpected end of file"),
    "more.txt": (b"1 2\na 1 2\nb 3 4\n", "line 3: the header says 1 words but the file has more rows"),
    "nan.txt": (b"2 2\na 1 2\nb 3 four\n", "line 3: value 2 is not a number"),
    "short.txt": (b"2 2\na 1 2\nb 3\n", "line 3: expected a word and 2 values, found 1"),
    "cut.bin": (b"2 2\na \x00\x00\x80?\x00\x00\x00@\nb \x00\x00", "truncated binary file: row 2 starting at byte 15"),
    "more.bin": (b"1 2\na \x00\x00\x80?\x00\x00\x00@\nb \x00\x00\x80?\x00\x00\x00@\n", "data continues at byte 15"),
    "utf8.txt": (b"1 1\n\xff 1\n", "line 2"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["similar", "convert", "eval"])
def test_bad_files_exit_2_with_one_line(capsys, tmp_path, name, command):
    data, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    argv = {"similar": ["similar", path, "a"], "convert": ["convert", path, tmp_path / "out.txt"],
            "eval": ["eval", path]}[command]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("w2v: error: ") and message in err and str(path) in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize("argv,message", [
    (["similar", "{missing}", "a"], "vectors file not found"),
    (["similar", "{vectors}", "nosuchword"], "'nosuchword' not in vocabulary"),
    (["analogy", "{vectors}", "athens", "greece", "nowhere"], "'nowhere' not in vocabulary"),
    (["eval", "{vectors}", "--analogies", "{missing}"], "evaluation file not found"),
    (["convert", "{vectors}", "{tmp}/out.unknown"], "cannot tell the output format"),
    (["convert", "{vectors}", "{tmp}/no/such/dir/out.txt"], "output directory does not exist"),
])
def test_cli_errors(capsys, vectors_file, tmp_path, argv, message):
    path, _ = vectors_file
    argv = [a.format(vectors=path, missing=tmp_path / "missing.txt", tmp=tmp_path) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("w2v: error: ") and message in err
    assert "Traceback" not in err


def test_output_piped_into_head_ends_quietly(tmp_path):
    """`w2v similar VECTORS w -n 20000 | head -1`: the closed pipe is not an error."""
    import subprocess
    import sys

    import numpy as np

    from w2v import KeyedVectors
    rng = np.random.default_rng(0)
    kv = KeyedVectors(4, [f"word{i}" for i in range(20_000)], rng.random((20_000, 4), dtype=np.float32))
    kv.save_word2vec_format(tmp_path / "v.txt")
    p = subprocess.Popen([sys.executable, "-m", "w2v", "similar", str(tmp_path / "v.txt"), "word0", "-n", "19999"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline()
    p.stdout.close()  # as head does after its line
    err = p.stderr.read()
    assert p.wait(timeout=60) == 0 and first and err == b""
