"""Vector files: round trips, gensim interoperability, and every kind of damaged input."""
import json
import struct
import zipfile

import numpy as np
import pytest

from w2v import KeyedVectors, formats

KEYS = ["the", "of", "héllo", "naïve", "x", "日本"]


def make_kv(n=None, d=7, seed=0):
    keys = KEYS if n is None else [f"w{i}" for i in range(n)]
    rng = np.random.default_rng(seed)
    vectors = (rng.standard_normal((len(keys), d)) * 3).astype(np.float32)
    vectors[0, 0] = 1e-30  # extremes must survive text too
    vectors[1, 1] = -3.4e38
    return KeyedVectors(d, keys, vectors)


def same(a, b):
    assert a.index_to_key == b.index_to_key
    assert a.vectors.dtype == np.float32
    np.testing.assert_array_equal(a.vectors, b.vectors)


@pytest.mark.parametrize("name,binary", [
    ("v.txt", False), ("v.bin", True), ("v.txt.gz", False), ("v.bin.bz2", True), ("v", True)])
def test_word2vec_round_trip(tmp_path, name, binary):
    kv = make_kv()
    kv.save_word2vec_format(tmp_path / name, binary=binary)
    same(KeyedVectors.load_word2vec_format(tmp_path / name, binary=binary), kv)
    same(KeyedVectors.load_word2vec_format(tmp_path / name, binary=None), kv)
    assert formats.detect_format(tmp_path / name) == ("binary" if binary else "text")


def test_limit_loads_first_words(tmp_path):
    kv = make_kv(n=50)
    for binary in (False, True):
        kv.save_word2vec_format(tmp_path / "v", binary=binary)
        part = KeyedVectors.load_word2vec_format(tmp_path / "v", binary=binary, limit=10)
        assert part.index_to_key == kv.index_to_key[:10]
        np.testing.assert_array_equal(part.vectors, kv.vectors[:10])


def test_binary_without_row_newlines_and_with_crlf_text(tmp_path):
    kv = make_kv()
    body = b"".join(k.encode() + b" " + v.astype("<f4").tobytes() for k, v in zip(KEYS, kv.vectors))
    (tmp_path / "g.bin").write_bytes(f"{len(KEYS)} 7\n".encode() + body)  # gensim's writer
    same(KeyedVectors.load_word2vec_format(tmp_path / "g.bin", binary=True), kv)
    kv.save_word2vec_format(tmp_path / "v.txt")
    crlf = (tmp_path / "v.txt").read_bytes().replace(b"\n", b"\r\n")
    (tmp_path / "crlf.txt").write_bytes(crlf)
    same(KeyedVectors.load_word2vec_format(tmp_path / "crlf.txt"), kv)


def test_native_round_trip_and_mmap(tmp_path):
    kv = make_kv(n=300, d=5)
    kv.save(tmp_path / "v.npz")
    same(KeyedVectors.load(tmp_path / "v.npz"), kv)
    mapped = KeyedVectors.load(tmp_path / "v.npz", mmap="r")
    same(mapped, kv)
    assert isinstance(mapped.vectors, np.memmap) and not mapped.vectors.flags.writeable
    assert mapped.vectors.ctypes.data % 64 == 0  # aligned inside the zip
    assert mapped.most_similar("w3", topn=3) == kv.most_similar("w3", topn=3)
    # a plain .npz: numpy reads it without pickle
    with np.load(tmp_path / "v.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["vectors"], kv.vectors)
        assert json.loads(z["keys.json"]) == kv.index_to_key
    assert formats.detect_format(tmp_path / "v.npz") == "native"


def test_native_save_is_atomic(tmp_path, monkeypatch):
    kv = make_kv()
    kv.save(tmp_path / "v.npz")
    before = (tmp_path / "v.npz").read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(formats.json, "dumps", boom)
    with pytest.raises(RuntimeError):
        make_kv(seed=1).save(tmp_path / "v.npz")
    assert (tmp_path / "v.npz").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["v.npz"]


def test_gensim_reads_w2v_files_and_w2v_reads_gensim_files(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    kv = make_kv()
    for binary in (False, True):
        path = tmp_path / f"w2v.{binary}"
        kv.save_word2vec_format(path, binary=binary)
        g = gensim_models.KeyedVectors.load_word2vec_format(path, binary=binary)
        assert g.index_to_key == kv.index_to_key
        np.testing.assert_array_equal(g.vectors, kv.vectors)
        gpath = tmp_path / f"gensim.{binary}"
        g.save_word2vec_format(gpath, binary=binary)
        same(KeyedVectors.load_word2vec_format(gpath, binary=binary), kv)


def test_invalid_utf8_word_follows_unicode_errors(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"2 2\nok 1 2\nab\xffc 3 4\n")
    with pytest.raises(UnicodeDecodeError, match="line 3"):
        KeyedVectors.load_word2vec_format(path)
    assert KeyedVectors.load_word2vec_format(path, unicode_errors="ignore").index_to_key == ["ok", "abc"]
    assert KeyedVectors.load_word2vec_format(path, unicode_errors="replace").index_to_key[1] == "ab\ufffdc"
    bpath = tmp_path / "bad.bin"
    bpath.write_bytes(b"1 1\n\xe6\x97 " + struct.pack("<f", 1.5) + b"\n")  # cut multibyte char
    with pytest.raises(UnicodeDecodeError, match="byte 4"):
        KeyedVectors.load_word2vec_format(bpath, binary=True)
    assert KeyedVectors.load_word2vec_format(bpath, binary=True, unicode_errors="ignore").index_to_key == [""]


def test_duplicate_words_keep_first_as_gensim(tmp_path):
    path = tmp_path / "dup.txt"
    path.write_text("3 1\na 1\nb 2\na 3\n")
    kv = KeyedVectors.load_word2vec_format(path)
    assert kv.index_to_key == ["a", "b"] and kv.vectors[:, 0].tolist() == [1, 2]


def test_words_that_cannot_be_written(tmp_path):
    kv = KeyedVectors(1, ["a b"], np.ones((1, 1), np.float32))
    with pytest.raises(ValueError, match="spaces"):
        kv.save_word2vec_format(tmp_path / "v.txt")
    assert not (tmp_path / "v.txt").exists()


def _binary(rows, header=None, d=2, newline=True):
    body = b"".join(w + b" " + np.asarray(v, "<f4").tobytes() + (b"\n" if newline else b"")
                    for w, v in rows)
    return (header if header is not None else f"{len(rows)} {d}\n".encode()) + body


GOOD_ROWS = [(b"a", [1, 2]), (b"b", [3, 4]), (b"c", [5, 6])]

BAD_TEXT = [
    ("empty", b"", "empty file"),
    ("bad header", b"three 2\na 1 2\n", "line 1: bad header"),
    ("one-field header", b"3\na 1 2\n", "line 1: bad header"),
    ("no header newline", b"3 2", "line 1: bad header"),
    ("fewer rows", b"3 2\na 1 2\nb 3 4\n", "line 4: unexpected end of file: the header says 3 words, the file has 2"),
    ("more rows", b"2 2\na 1 2\nb 3 4\nc 5 6\n", "line 4: the header says 2 words but the file has more rows"),
    ("non-numeric", b"3 2\na 1 2\nb 3 x4\nc 5 6\n", "line 3: value 2 is not a number: 'x4'"),
    ("short row", b"3 2\na 1 2\nb 3\nc 5 6\n", "line 3: expected a word and 2 values, found 1"),
    ("long row", b"3 2\na 1 2\nb 3 4 5\nc 5 6\n", "line 3: expected a word and 2 values, found 3"),
    ("blank row", b"3 2\na 1 2\n\nc 5 6\n", "line 3: expected a word and 2 values, found 0"),
]

BAD_BINARY = [
    ("empty", b"", "empty file"),
    ("bad header", _binary(GOOD_ROWS, header=b"x y\n"), "line 1: bad header"),
    ("negative count", _binary(GOOD_ROWS, header=b"-3 2\n"), "line 1: bad header"),
    ("fewer rows", _binary(GOOD_ROWS, header=b"4 2\n"),
     "unexpected end of file at byte 37: the header says 4 words, the file has 3"),
    ("more rows", _binary(GOOD_ROWS, header=b"2 2\n"), "header says 2 words but data continues at byte 26"),
    ("truncated vector", _binary(GOOD_ROWS)[:-5], "truncated binary file: row 3 starting at byte 26"),
    ("truncated word", _binary(GOOD_ROWS)[:26] + b"cword", "row 3 starting at byte 26 has no space"),
]


@pytest.mark.parametrize("case,data,message", BAD_TEXT, ids=[c[0] for c in BAD_TEXT])
def test_bad_text_files_raise_located_errors(tmp_path, case, data, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as info:
        KeyedVectors.load_word2vec_format(path, binary=False)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("case,data,message", BAD_BINARY, ids=[c[0] for c in BAD_BINARY])
def test_bad_binary_files_raise_located_errors(tmp_path, case, data, message):
    path = tmp_path / "bad.bin"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as info:
        KeyedVectors.load_word2vec_format(path, binary=True)
    assert str(path) in str(info.value)


def test_good_binary_fixture_loads(tmp_path):
    path = tmp_path / "ok.bin"
    path.write_bytes(_binary(GOOD_ROWS))
    kv = KeyedVectors.load_word2vec_format(path, binary=True)
    assert kv.index_to_key == ["a", "b", "c"] and kv.vectors.tolist() == [[1, 2], [3, 4], [5, 6]]


def test_wrong_binary_flag_gets_a_hint(tmp_path):
    kv = make_kv(n=20, d=10)
    kv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    with pytest.raises(ValueError, match="looks like binary word2vec format, not text: binary=True reads it"):
        KeyedVectors.load_word2vec_format(tmp_path / "v.bin", binary=False)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        KeyedVectors.load_word2vec_format(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        KeyedVectors.load(tmp_path / "nope.npz")
    with pytest.raises(IsADirectoryError):
        KeyedVectors.load_word2vec_format(tmp_path)


def test_damaged_native_files(tmp_path):
    kv = make_kv(n=100, d=8)
    kv.save(tmp_path / "v.npz")
    data = (tmp_path / "v.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:2000])
    with pytest.raises(ValueError, match="not a w2v native vectors file"):
        KeyedVectors.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a w2v native vectors file"):
        KeyedVectors.load(tmp_path / "other.npz")
    with zipfile.ZipFile(tmp_path / "v.npz") as z:
        assert z.testzip() is None  # a valid zip, CRCs included


# ---------------------------------------------------------------- issue 19: loader errors
from w2v.errors import DamagedFileError  # noqa: E402

ABSURD_HEADERS = [b"99999999999 100\n", b"3 99999999999\n", b"99999999999 99999999999\n",
                  b"-3 100\n", b"3 -100\n", b"-1 -1\n", b"3 0\n", b"4 2\n"]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("header", ABSURD_HEADERS, ids=[h.strip().decode() for h in ABSURD_HEADERS])
def test_absurd_headers_are_damaged_file_errors_not_memory_errors(tmp_path, header, binary):
    """A header's sizes are checked against the file's size before anything is allocated."""
    path = tmp_path / ("v.bin" if binary else "v.txt")
    path.write_bytes(header + (_binary(GOOD_ROWS).split(b"\n", 1)[1] if binary else b"a 1 2\nb 3 4\nc 5 6\n"))
    with pytest.raises(DamagedFileError) as info:
        KeyedVectors.load_word2vec_format(path, binary=binary)
    assert str(path) in str(info.value)
    with pytest.raises(DamagedFileError):
        KeyedVectors.load_word2vec_format(path, binary=None)
    if header.startswith(b"99999999999 "):
        with pytest.raises(DamagedFileError):  # a limit bounds the rows read, not the check
            KeyedVectors.load_word2vec_format(path, binary=binary, limit=10 ** 9)


def test_damaged_file_error_is_a_value_error_and_an_eof_error(tmp_path):
    """gensim's callers catch EOFError for a truncated file; every bad input is a ValueError."""
    kv = make_kv(n=30, d=5)
    for name, binary in (("v.txt", False), ("v.bin", True), ("v.txt.gz", False)):
        kv.save_word2vec_format(tmp_path / name, binary=binary)
        data = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(data[: len(data) * 2 // 3])
        for catch in (EOFError, ValueError):
            with pytest.raises(catch, match=name):
                KeyedVectors.load_word2vec_format(tmp_path / name, binary=binary)


def _flip_vector_byte(data):
    """The native file with one byte of the first vector value changed (the zip stays valid)."""
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as z:
        info = z.getinfo("vectors.npy")
    name_len, extra_len = struct.unpack("<2H", data[info.header_offset + 26: info.header_offset + 30])
    npy = info.header_offset + 30 + name_len + extra_len
    header_len = struct.unpack("<H", data[npy + 8: npy + 10])[0]
    at = npy + 10 + header_len
    return data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:]


def test_native_load_verifies_the_vectors_crc_and_mmap_checks_shapes_only(tmp_path):
    kv = make_kv(n=100, d=8)
    kv.save(tmp_path / "v.npz")
    damaged = _flip_vector_byte((tmp_path / "v.npz").read_bytes())
    (tmp_path / "flip.npz").write_bytes(damaged)
    with pytest.raises(DamagedFileError, match="flip.npz.*CRC"):
        KeyedVectors.load(tmp_path / "flip.npz")
    # documented: a memory-mapped load does not read the values, so it cannot see this damage
    mapped = KeyedVectors.load(tmp_path / "flip.npz", mmap="r")
    assert mapped.vectors.shape == (100, 8) and mapped.vectors[0, 0] != kv.vectors[0, 0]
    assert "not verified" in formats.load_native.__doc__


def test_damaged_native_metadata_is_a_damaged_file_error(tmp_path):
    kv = make_kv(n=10, d=4)
    kv.save(tmp_path / "v.npz")

    def rewrite(name, member, payload):
        with zipfile.ZipFile(tmp_path / "v.npz") as src, zipfile.ZipFile(tmp_path / name, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, payload if info.filename == member else src.read(info.filename))
        return tmp_path / name

    meta = json.loads(zipfile.ZipFile(tmp_path / "v.npz").read("meta.json"))
    cases = [rewrite("version.npz", "meta.json", json.dumps({**meta, "version": "1"})),
             rewrite("keys-dict.npz", "keys.json", json.dumps({"a": 1})),
             rewrite("keys-dup.npz", "keys.json", json.dumps(["w0"] * 10)),
             rewrite("count.npz", "meta.json", json.dumps({**meta, "count": 11}))]
    for path in cases:
        with pytest.raises(DamagedFileError, match=path.name):
            KeyedVectors.load(path)
    data = (tmp_path / "v.npz").read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 100, 10):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(DamagedFileError, match="cut.npz"):
            KeyedVectors.load(tmp_path / "cut.npz")


def test_values_beyond_float32_or_nan_load_as_gensim_does_but_with_a_warning(tmp_path, caplog):
    import logging
    path = tmp_path / "v.txt"
    path.write_text("3 3\na 1 2 3\nb 1e300 0 0\nc nan 1 2\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="w2v.formats"):
        keys, vectors = formats.read_word2vec_format(path)
    assert keys == ["a", "b", "c"] and np.isinf(vectors[1, 0]) and np.isnan(vectors[2, 0])
    assert "2 word vectors hold a NaN or an infinity" in caplog.text and "'b', line 3" in caplog.text
    caplog.clear()
    path.write_text("2 2\na 1 2\nb 3 4\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="w2v.formats"):
        formats.read_word2vec_format(path)
    assert "NaN" not in caplog.text
