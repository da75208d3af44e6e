"""Shards of a corpus (w2v/shards.py): byte ranges of one file cut at newlines, read by the compiled
pass (fastscan), and fsspec URLs. The Dask first pass over them is tested in test_dask_shards.py.

The rule under test: a range owns the lines that start inside it, so consecutive ranges read every
line exactly once, whatever the cut points; the passes over the ranges, joined in order, equal the
pass over the whole file (words in first-seen order, counts, ids, sentence bounds).
"""
from __future__ import annotations

import gzip
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from w2v import corpus, fastscan, shards, store, vocab
from w2v.shards import Shard

# bytes that have broken line and token cutting before: multi-byte characters (and their halves),
# multi-byte whitespace (NBSP, NEL, U+3000, U+2028), CR, CRLF, NUL, invalid UTF-8, empty lines
FRAGMENTS = [b"a", b"bc", b"word", b"word", b" ", b"  ", b"\t", b"\n", b"\n", b"\r\n", b"\r", b"\x00",
             b"\xff", b"\xfe", b"\xc3", b"\xe4\xb8", b"\xc3\xa9", b"\xe4\xb8\xad", b"\xf0\x9f\x98\x80",
             b"\xe3\x80\x80", b"\xc2\x85", b"\xc2\xa0", b"\xe2\x80\xa8", b"\n\n\n", b"t " * 12]


def whole_pass(path, max_sentence_length, block_bytes=64, workers=1):
    return fastscan.scan_files([path], max_sentence_length, block_bytes=block_bytes, workers=workers)


def python_pass(path, max_sentence_length):
    """The Python reference: decode the stream, split lines and tokens (corpus.iter_file_sentences)."""
    return vocab.scan_iterable(corpus.iter_file_sentences(path, max_sentence_length, block_bytes=3))


def merged(scans):
    """The Dask first pass's reduce, in miniature: the per-shard scans joined in shard order (words
    by first appearance, counts added, ids renumbered, sentence bounds concatenated)."""
    index, counts, ids, bounds = {}, [], [], [np.zeros(1, np.int64)]
    for s in scans:
        local = np.array([index.setdefault(w, len(index)) for w in s.words], dtype=np.int64)
        counts.extend([0] * (len(index) - len(counts)))
        for j, c in zip(local.tolist(), s.counts.tolist()):
            counts[j] += c
        offset = sum(i.shape[0] for i in ids)
        ids.append(local[s.ids] if s.ids.shape[0] else np.zeros(0, np.int64))
        bounds.append(s.bounds[1:] + offset)
    return list(index), np.array(counts, np.int64), np.concatenate(ids), np.concatenate(bounds)


def assert_equal_pass(got, want):
    words, counts, ids, bounds = (got.words, got.counts, got.ids, got.bounds) if hasattr(got, "words") else got
    assert words == want.words
    assert np.asarray(counts).tolist() == want.counts.tolist()
    assert np.asarray(ids).tolist() == want.ids.tolist()
    assert np.asarray(bounds).tolist() == want.bounds.tolist()


def ranges(path, cuts):
    size = os.path.getsize(path)
    points = [0] + sorted(min(c, size) for c in cuts) + [size]
    return [Shard(str(path), a, b) for a, b in zip(points, points[1:])]


@st.composite
def file_and_cuts(draw, max_cuts=5):
    data = b"".join(draw(st.lists(st.sampled_from(FRAGMENTS), max_size=60)))
    line_starts = [0] + [i + 1 for i, b in enumerate(data) if b == 10]
    # cuts anywhere, and often exactly at a line start or one byte off it (the off-by-one places)
    point = st.one_of(st.integers(0, len(data)), st.sampled_from(line_starts).flatmap(
        lambda s: st.sampled_from([max(0, s - 1), s, min(len(data), s + 1)])))
    return data, draw(st.lists(point, max_size=max_cuts))


# derandomized (as test_fuzz_loaders): the same examples on every run, no database in the tree
HYPO = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYPO
@given(case=file_and_cuts(), max_len=st.sampled_from([2, 3, 10_000]), block=st.sampled_from([1, 4, 64]),
       workers=st.sampled_from([1, 2]))
@example(case=(b"ab\ncd\n", [3]), max_len=3, block=64, workers=1)          # a cut at a line start
@example(case=(b"ab\ncd\n", [2]), max_len=3, block=64, workers=1)          # a cut on a \n
@example(case=("x\u00e9y z\n\u4e2d\n".encode(), [2, 9]), max_len=3, block=1, workers=1)  # inside characters
@example(case=(b"a\r\nb\r\n", [2]), max_len=3, block=64, workers=1)        # between \r and \n
@example(case=(b"t " * 40 + b"\nz\n", [5, 30, 50]), max_len=3, block=4, workers=2)  # a line longer than ranges
def test_ranges_read_in_one_pass_equal_the_whole_file(tmp_path, case, max_len, block, workers):
    data, cuts = case
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    want = whole_pass(path, max_len)
    assert_equal_pass(python_pass(path, max_len), want)
    got = fastscan.scan_files(ranges(path, cuts), max_len, block_bytes=block, workers=workers)
    assert_equal_pass(got, want)


@HYPO
@given(case=file_and_cuts(), max_len=st.sampled_from([2, 10_000]))
@example(case=(b"ab\ncd\n", [3]), max_len=2)
@example(case=("\u00e9\u00e9 \u00e9\n\u4e2d \u00e9\n".encode(), [1, 8]), max_len=2)
@example(case=(b"q \xff\nw \xfe\n", [4]), max_len=2)  # two invalid bytes, one word U+FFFD, in two shards
def test_ranges_scanned_apart_and_merged_equal_the_whole_file(tmp_path, case, max_len):
    """What the Dask workers do: each range scanned on its own, the counts added in shard order."""
    data, cuts = case
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    scans = [fastscan.scan_files([r], max_len, block_bytes=8, workers=1) for r in ranges(path, cuts)]
    assert_equal_pass(merged(scans), whole_pass(path, max_len))


@HYPO
@given(case=file_and_cuts(max_cuts=8))
def test_each_range_reads_the_lines_that_start_in_it(tmp_path, case):
    data, cuts = case
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 10 and i + 1 < len(data)] + [len(data)]

    def first_start(x):  # the reference: the first line start at or after x, the file's end if none
        return min(s for s in starts if s >= min(x, len(data)))
    pieces = []
    for r in ranges(path, cuts):
        with shards.open_shard(r) as f:
            piece = f.read()
        assert piece == data[first_start(r.start):max(first_start(r.start), first_start(r.stop))]
        pieces.append(piece)
    assert b"".join(pieces) == data


def test_a_line_of_more_than_10000_tokens_cut_inside_and_around(tmp_path):
    """The 10,000-token split of a long line is made where the line is read whole: in the range
    where it starts, however many ranges it crosses."""
    long_line = " ".join(f"w{i % 997}" for i in range(25_003)).encode()
    data = b"first line\n" + long_line + b"\r\n\nlast \xff line"
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    want = whole_pass(path, corpus.MAX_SENTENCE_LENGTH, block_bytes=1 << 12, workers=2)
    assert np.diff(want.bounds).tolist() == [2, 10_000, 10_000, 5_003, 3]
    size = len(data)
    for cuts in ([11], [12], [10], [5000], [20_000, 40_000], [size - 3], [100, 200, 300, size - 1],
                 [12 + len(long_line) + 1, 12 + len(long_line) + 2]):
        got = fastscan.scan_files(ranges(path, cuts), block_bytes=1 << 12, workers=2)
        assert_equal_pass(got, want)
        assert_equal_pass(merged([fastscan.scan_files([r], workers=1) for r in ranges(path, cuts)]), want)


def test_a_file_smaller_than_its_ranges(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"a b\nc\n")
    want = whole_pass(path, 10)
    # more ranges than bytes: most own no line
    got = fastscan.scan_files([Shard(str(path), k, k + 1) for k in range(6)] + [Shard(str(path), 6, 100)], 10)
    assert_equal_pass(got, want)
    empty = tmp_path / "e.txt"
    empty.write_bytes(b"")
    assert fastscan.scan_files([Shard(str(empty), 0, 1), Shard(str(empty), 1, 2)]).words == []


def test_compressed_files_are_one_shard(tmp_path):
    gz = tmp_path / "a.txt.gz"
    gz.write_bytes(gzip.compress(b"x y\n" * 100_000))
    plain = tmp_path / "b.txt"
    plain.write_bytes(b"x y\n" * 100_000)
    planned = shards.plan(str(tmp_path), n_workers=2, range_bytes=50_000)
    assert planned[0] == (Shard(str(gz)), store.files_fingerprint(gz)[0])  # whole, not cut
    assert [s.path for s, _ in planned[1:]] == [str(plain)] * (len(planned) - 1) and len(planned) > 2
    assert not shards.sharded(str(gz), range_bytes=10)
    with pytest.raises(ValueError, match="compressed file cannot be read by byte ranges"):
        shards.open_shard(Shard(str(gz), 0, 10))


def test_how_many_ranges():
    mb = 1 << 20
    assert shards.n_ranges(10 * mb, 2, 16 * mb) == 1           # one range: no cut
    assert shards.n_ranges(34 * mb, 2, 16 * mb) == 4            # 3 rounded up to a multiple of 2 workers
    assert shards.n_ranges(33 * mb, 4, 16 * mb) == 3            # fewer than the workers: not rounded
    assert shards.n_ranges(100_000 * mb, 8, 16 * mb) == 32      # at most 4 per worker
    for size, n in [(0, 1), (1, 1), (10, 3), (1000, 7)]:
        pieces = shards.cut(size, n)
        assert pieces[0][0] == 0 and pieces[-1][1] == size and all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))


def test_plan_cuts_plain_files_by_their_share(tmp_path):
    for name, n in (("a.txt", 30_000), ("b.txt", 10_000), (".hidden", 5)):
        (tmp_path / name).write_bytes(b"w " * (n // 2))
    planned = shards.plan(str(tmp_path), n_workers=2, range_bytes=10_000)
    # 40,000 bytes in ranges of at most 10,000 on 2 workers: 4 ranges, 3 of the larger file
    assert [(os.path.basename(s.path), s.start, s.stop) for s, _ in planned] == [
        ("a.txt", 0, 10_000), ("a.txt", 10_000, 20_000), ("a.txt", 20_000, 30_000), ("b.txt", 0, None)]
    assert planned[0][1] == store.files_fingerprint(tmp_path / "a.txt")[0] + [0, 10_000]


# ---------------------------------------------------------------- the parts' cache keys
def test_a_part_is_keyed_by_its_range_and_its_file(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("the cat sat\non the mat\nthe end\n")
    v = vocab.Vocab.from_counts([("the", 3), ("cat", 1), ("mat", 1), ("on", 1), ("sat", 1), ("end", 1)], min_count=1)
    spec = {"vocab": store.vocab_digest(v)}
    first, second = ranges(path, [12])  # at the start of line 2

    def build(shard):
        return store.build_from_shard(tmp_path / "cache", shard, shards.shard_fingerprint(shard), 100, spec,
                                      lambda w, c: v)
    a, b = build(first), build(second)
    assert a.path != b.path and a.to_memory().n_words == 3 and b.to_memory().n_words == 5
    assert build(first).path == a.path  # found in the cache
    stale = shards.shard_fingerprint(first)
    path.write_text("the cat sat\non the mat\nthe end\nthe end\n")
    with pytest.raises(ValueError, match="changed while it was being read"):
        store.build_from_shard(tmp_path / "cache", first, stale, 100, spec, lambda w, c: v)
    assert build(first).path != a.path  # the file changed: another key


# ---------------------------------------------------------------- fsspec URLs
@pytest.fixture
def memfs():
    fsspec = pytest.importorskip("fsspec")  # comes with w2v[dask]
    fs = fsspec.filesystem("memory")
    root = f"/w2v-test-{os.getpid()}-{os.urandom(4).hex()}"
    yield fs, root
    fs.rm(root, recursive=True)


def test_memory_urls_equal_local_files(tmp_path, memfs):
    fs, root = memfs
    data = "héllo wörld\r\n中文 字\n\n".encode() + b"\xff\xfe " + b"t " * 30 + b"\nend"
    local = tmp_path / "c.txt"
    local.write_bytes(data)
    fs.pipe(f"{root}/c.txt", data)
    fs.pipe(f"{root}/d.txt.gz", gzip.compress(data))
    fs.pipe(f"{root}/.hidden", b"x")
    url = f"memory://{root}/c.txt"
    assert shards.list_files(f"memory://{root}") == [url, f"memory://{root}/d.txt.gz"]
    want = whole_pass(local, 4)
    assert_equal_pass(fastscan.scan_files([Shard(url)], 4, block_bytes=5), want)
    assert_equal_pass(fastscan.scan_files([Shard(f"memory://{root}/d.txt.gz")], 4, block_bytes=5), want)
    for cuts in ([5], [14, 15, 16], [40, 41]):
        assert_equal_pass(fastscan.scan_files([Shard(url, r.start, r.stop) for r in ranges(local, cuts)], 4,
                                              block_bytes=3), want)
    before = shards.file_fingerprint(url)
    assert before[:2] == [url, len(data)]
    fs.pipe(f"{root}/c.txt", data)  # rewritten, same size: another version
    assert shards.file_fingerprint(url) != before
    with pytest.raises(FileNotFoundError, match="corpus file not found"):
        shards.list_files(f"memory://{root}/nothing.txt")


def test_urls_are_read_in_blocks_never_whole(tmp_path, memfs, monkeypatch):
    from fsspec.implementations.memory import MemoryFile
    fs, root = memfs
    fs.pipe(f"{root}/c.txt", b"a b c\n" * 100_000)
    asked = []
    read, readinto = MemoryFile.read, MemoryFile.readinto
    monkeypatch.setattr(MemoryFile, "read", lambda self, n=-1: asked.append(n) or read(self, n))
    monkeypatch.setattr(MemoryFile, "readinto", lambda self, b: asked.append(len(memoryview(b))) or readinto(self, b))
    url = f"memory://{root}/c.txt"
    for shard in (Shard(url), Shard(url, 1000, 50_000)):
        asked.clear()
        fastscan.scan_files([shard], block_bytes=4096, workers=1)
        # blocks of 4096 bytes, and 64 KB looking for the range's first line start
        assert asked and all(0 <= n <= 1 << 16 for n in asked), asked


def test_a_url_without_the_dask_backend_names_it(memfs):
    from w2v import Word2Vec
    fs, root = memfs
    fs.pipe(f"{root}/c.txt", b"a b c\n")
    with pytest.raises(ValueError, match=r"backend='dask'.*w2v\[dask\]"):
        Word2Vec(corpus_file=f"memory://{root}/c.txt", min_count=1, progress=False)


def test_a_url_without_fsspec_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(ImportError, match=r"pip install 'w2v\[dask\]'"):
        shards.list_files("s3://bucket/corpus/")


def test_url_fingerprints_of_checkpoints(memfs):
    from w2v import checkpoint
    fs, root = memfs
    fs.pipe(f"{root}/c.txt", b"a b c\n")
    fp = checkpoint.corpus_fingerprint(vocab.EncodedCorpus(np.zeros(3, np.int32), np.array([0, 3])),
                                       f"memory://{root}")
    assert fp["files"][0][:2] == [f"memory://{root}/c.txt", 6]
