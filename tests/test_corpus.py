import bz2
import gzip

import pytest

from w2v import corpus


def test_lines_gz_bz2_and_directory(tmp_path):
    text = "a b c\n\nd e\nf"
    (tmp_path / "plain.txt").write_text(text)
    with gzip.open(tmp_path / "z.txt.gz", "wt") as f:
        f.write(text)
    with bz2.open(tmp_path / "y.txt.bz2", "wt") as f:
        f.write(text)
    expect = [["a", "b", "c"], ["d", "e"], ["f"]]
    for name in ("plain.txt", "z.txt.gz", "y.txt.bz2"):
        assert list(corpus.iter_file_sentences(tmp_path / name)) == expect
    assert list(corpus.iter_path_sentences(tmp_path)) == expect * 3


def test_long_lines_are_split_not_truncated(tmp_path):
    words = [f"w{i}" for i in range(25_001)]
    (tmp_path / "long.txt").write_text(" ".join(words) + "\nx y\n")
    got = list(corpus.iter_file_sentences(tmp_path / "long.txt", max_sentence_length=10_000))
    assert [len(s) for s in got] == [10_000, 10_000, 5_001, 2]
    assert sum(got[:3], []) == words


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_one_huge_line_without_newline_streams_in_chunks(tmp_path, block):
    words = [f"t{i % 977}" for i in range(3_000)]
    (tmp_path / "text8").write_text(" ".join(words))
    got = list(corpus.iter_file_sentences(tmp_path / "text8", max_sentence_length=1000, block_bytes=block))
    assert all(len(s) <= 1000 for s in got)
    assert sum(got, []) == words


def test_invalid_utf8_is_replaced(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 ok\n\xff\xfe word\n")
    got = list(corpus.iter_file_sentences(tmp_path / "bad.txt"))
    assert got == [["caf\ufffd", "ok"], ["\ufffd\ufffd", "word"]]


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        list(corpus.iter_path_sentences(tmp_path / "nope.txt"))
    with pytest.raises(ValueError, match="exactly one"):
        corpus.resolve(None, None)
    with pytest.raises(TypeError, match="list of string tokens"):
        list(corpus.iter_sentences(["a sentence as a string"]))
    with pytest.raises(ValueError, match="no files"):
        corpus.corpus_files(tmp_path)


def test_open_binary_names_the_path_and_what_it_is(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"vectors file not found: .*nope\.txt\.gz"):
        corpus.open_binary(tmp_path / "nope.txt.gz", "vectors")
    with pytest.raises(IsADirectoryError, match=f"corpus path is a directory: {tmp_path}"):
        corpus.open_binary(tmp_path)
    with gzip.open(tmp_path / "a.gz", "wb") as f:
        f.write(b"x y\n")
    with bz2.open(tmp_path / "a.bz2", "wb") as f:
        f.write(b"x y\n")
    (tmp_path / "a").write_bytes(b"x y\n")
    for name in ("a", "a.gz", "a.bz2"):
        with corpus.open_binary(tmp_path / name) as f:
            assert f.read() == b"x y\n"


def test_only_corpus_opens_compressed_files_for_reading():
    """One opener: every other module reads .gz/.bz2 through corpus.open_binary."""
    import ast
    import pathlib
    for path in pathlib.Path(corpus.__file__).parent.glob("*.py"):
        if path.name == "corpus.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name):
                call = f"{node.func.value.id}.{node.func.attr}"
                assert call not in ("gzip.open", "bz2.open"), f"{path.name} calls {call}"


def test_corpus_imports_nothing_of_ours_and_formats_only_corpus_and_errors():
    """The opener's home is a ground module, so its readers can import it without cycles."""
    import ast

    from w2v import formats

    def ours(module):
        found = set()
        for node in ast.walk(ast.parse(open(module.__file__).read())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("w2v")):
                base = (node.module or "").removeprefix("w2v").lstrip(".")
                found |= {base} if base else {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("w2v")}
        return found

    assert ours(corpus) <= {"errors"}  # errors imports nothing
    assert ours(formats) == {"corpus", "errors"}  # errors imports nothing
