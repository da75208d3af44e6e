"""The compiled pass over files equals the Python pass over the same files, byte for byte."""
import bz2
import gzip

import numpy as np
import pytest

from w2v import corpus, fastscan, vocab
from w2v.corpus import LineSentence

from conftest import DEMO


def python_pass(paths, max_sentence_length=corpus.MAX_SENTENCE_LENGTH, block_bytes=corpus.BLOCK_BYTES):
    def sentences():
        for p in paths:
            yield from corpus.iter_file_sentences(p, max_sentence_length, block_bytes)
    return vocab.scan_iterable(sentences())


def assert_same(fast, slow):
    assert fast.words == slow.words
    assert fast.counts.dtype == np.int64 and fast.counts.tolist() == slow.counts.tolist()
    assert fast.ids.dtype == np.int32 and np.array_equal(fast.ids, slow.ids)
    assert fast.bounds.dtype == np.int64 and fast.bounds.tolist() == slow.bounds.tolist()
    assert fast.pruned is False


def check(paths, max_sentence_length=corpus.MAX_SENTENCE_LENGTH, block_sizes=(1, 2, 3, 5, 7, 64),
          workers=(1, 2, 3)):
    """Every block size and worker count gives the Python pass's result (whose own block size,
    tiny or not, must not matter either)."""
    slow = python_pass(paths, max_sentence_length)
    for b in (1, 3):
        assert_same(python_pass(paths, max_sentence_length, block_bytes=b), slow)
    for b in block_sizes:
        for w in workers:
            assert_same(vocab.scan_files(paths, max_sentence_length, block_bytes=b, workers=w), slow)
    return slow


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_demo_corpus_equals_python_pass():
    slow = python_pass([DEMO])
    assert len(slow.words) > 10_000
    for block, workers in [(fastscan.BLOCK_BYTES, None), (300_000, 2), (70_000, 3), (1 << 20, 1)]:
        assert_same(vocab.scan_files([DEMO], block_bytes=block, workers=workers), slow)


def test_unicode_crlf_tabs_nul_and_control_whitespace(tmp_path):
    text = ("héllo wörld\r\nnaïve café\tfaçade\r\n"
            "日本語 の テキスト\u3000全角スペース\n"
            "emoji 😀👍🏽 mixed😀word\n"
            "a\x00b \x00 c\x00\n"
            "v\x0bf\x0cfs\x1cgs\x1drs\x1eus\x1fend\n"
            "lone\rcr  \t \n"
            "\n   \n\t\n"
            "last line without newline")
    slow = check([write(tmp_path / "u.txt", text.encode("utf-8"))])
    assert "a\x00b" in slow.words and "\x00" in slow.words and "mixed😀word" in slow.words
    assert "lone" in slow.words and "cr" in slow.words and "v" in slow.words
    assert len(slow.bounds) - 1 == 8  # the empty and blank lines give no sentence


UNICODE_SPACES = [c for c in map(chr, range(0x80, 0x110000)) if c.isspace()]


def test_unicode_whitespace_splits_exactly_as_str_split(tmp_path):
    assert len(UNICODE_SPACES) >= 19
    parts = []
    for k, space in enumerate(UNICODE_SPACES):
        parts.append(f"x{k}{space}y{k}é{space}{space}z")
    text = " ".join(parts) + "\n" + "\u2028".join(parts) + "\u0085\n\u00a0\n"
    slow = check([write(tmp_path / "ws.txt", text.encode("utf-8"))])
    assert not any(set(w) & set(UNICODE_SPACES) for w in slow.words)
    assert "x3" in slow.words and "y3é" in slow.words


def test_bytes_that_look_like_whitespace_but_are_not(tmp_path):
    # a lone \x85 or \xa0 is invalid UTF-8 (U+FFFD), not NEL / NBSP; a whitespace lead byte cut
    # short by the end of the file or by ASCII is not whitespace either
    data = (b"a\x85b c\xa0d e\xc2 f\xe2\x80 g\xe3\x80h \xe1\x9a\n"
            b"\xe2\x80\xe2\x80\xa8i \xc2\xc2\xa0j k\xe2\x81\x9f\xe2\x81\n"
            b"tail\xe2\x80")
    slow = check([write(tmp_path / "lookalike.bin", data)])
    assert "a\ufffdb" in slow.words and "c\ufffdd" in slow.words and "tail\ufffd" in slow.words


def test_invalid_utf8_and_characters_split_at_block_boundaries(tmp_path):
    # every invalid pattern next to every multi-byte character, so that with block sizes 1..7
    # some block boundary falls inside each of them
    pieces = [b"\xff", b"\xfe", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80", b"\xbf\xbf",
              b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", "é".encode(), "€".encode(),
              "😀".encode(), "\u3000".encode()]
    data = b""
    for i, a in enumerate(pieces):
        for j, b in enumerate(pieces):
            data += a + b"w" + b + (b"\n" if (i + j) % 3 == 0 else b" ")
    slow = check([write(tmp_path / "bad.txt", data)])
    assert any("\ufffd" in w for w in slow.words)


def test_distinct_invalid_bytes_that_decode_to_one_word_are_one_word(tmp_path):
    data = b"a\xffb x a\xfeb \xff \xfe \xfe y a\xc3b\n"
    slow = check([write(tmp_path / "same.txt", data)])
    assert slow.words == ["a\ufffdb", "x", "\ufffd", "y"]
    assert slow.counts.tolist() == [3, 1, 3, 1]


def test_long_lines_split_into_sentences(tmp_path):
    lines = [" ".join(f"w{i % 97}" for i in range(n)) for n in (9_999, 10_000, 10_001, 20_000, 25_123)]
    slow = check([write(tmp_path / "long.txt", "\n".join(lines).encode())],
                 block_sizes=(7, 4096, 1 << 20), workers=(1, 2))
    lengths = np.diff(slow.bounds).tolist()
    assert lengths == [9_999, 10_000, 10_000, 1, 10_000, 10_000, 10_000, 10_000, 5_123]
    for max_len in (1, 2, 3):
        check([tmp_path / "long.txt"], max_sentence_length=max_len, block_sizes=(4096,), workers=(2,))


def test_ten_megabyte_line_without_newline(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"t{k}" for k in rng.integers(0, 50_000, 2_000_000)]
    data = " ".join(words).encode()
    assert len(data) > 10_000_000 and b"\n" not in data
    path = write(tmp_path / "oneline.txt", data)
    slow = python_pass([path])
    assert np.diff(slow.bounds).tolist() == [10_000] * 200
    for block, w in [(fastscan.BLOCK_BYTES, 2), (1 << 20, 1), (100_000, 3)]:
        assert_same(vocab.scan_files([path], block_bytes=block, workers=w), slow)


def test_empty_and_blank_files(tmp_path):
    empty = write(tmp_path / "empty.txt", b"")
    blank = write(tmp_path / "blank.txt", b"\n \r\n\t\n" + "\u3000".encode())
    for paths in ([empty], [blank], [empty, blank, empty]):
        s = check(paths, block_sizes=(1, 64), workers=(1, 2))
        assert s.words == [] and s.ids.shape == (0,) and s.bounds.tolist() == [0]


def test_directory_of_plain_gz_and_bz2_files_with_lines_ending_at_file_ends(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "a.txt").write_bytes("b a c\nd é\n".encode())
    with gzip.open(d / "b.txt.gz", "wb") as f:
        f.write(b"tail of a\nline with no newline")       # the line ends with the file
    (d / "c.txt").write_bytes(b"")
    with bz2.open(d / "d.txt.bz2", "wb") as f:
        f.write(b"continues not\n\xff\xfe x \xe2\x82")
    (d / "e.txt").write_bytes(b"z a\n")
    paths = corpus.corpus_files(d)
    assert [p.name for p in paths] == ["a.txt", "b.txt.gz", "c.txt", "d.txt.bz2", "e.txt"]
    slow = check(paths)
    assert np.diff(slow.bounds).tolist() == [3, 2, 3, 4, 2, 3, 2]
    assert_same(vocab.scan(LineSentence(d)), slow)


def test_scan_dispatches_files_to_the_compiled_pass(monkeypatch):
    calls = []
    real = fastscan.scan_files

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)
    monkeypatch.setattr(fastscan, "scan_files", spy)
    source = LineSentence(DEMO, max_sentence_length=7)
    fast = vocab.scan(source)
    assert len(calls) == 1 and calls[0][1] == 7
    assert_same(fast, python_pass([DEMO], max_sentence_length=7))
    # iterables stay in Python; pruning is compiled too, and loses no occurrence of a kept word
    vocab.scan(iter(source))
    assert len(calls) == 1
    pruned = vocab.scan(source, max_vocab_size=1000)
    assert len(calls) == 2 and calls[1][1] == 7 and pruned.pruned and not pruned.partial
    assert vocab.scan(iter(source), max_vocab_size=1000).partial  # the Python pass, as word2vec.c


FRAGMENTS = [b"a", b"b", b"ab", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b" ", b"\n",
             b"\r\n", b"\t", b"\x00", b"\x0b", b"\x1c", b"\x1f", b"\xc2\x85", b"\xc2\xa0", b"\xe3\x80\x80",
             b"\xe2\x80\xa8", b"\xe1\x9a\x80", b"\xc2", b"\xe2", b"\xe2\x80", b"\x85", b"\xa0",
             b"\xff", b"\x80", b"\xf0\x9f", b"\xed\xa0\x80"]


def test_random_byte_soup_equals_python_pass(tmp_path):
    """Fixed-seed random files made of whitespace, characters and invalid fragments."""
    rng = np.random.default_rng(18)
    path = tmp_path / "soup.bin"
    for _ in range(300):
        picks = rng.integers(0, len(FRAGMENTS), rng.integers(0, 60))
        path.write_bytes(b"".join(FRAGMENTS[k] for k in picks))
        max_len = int(rng.integers(1, 5))
        slow = python_pass([path], max_len)
        fast = vocab.scan_files([path], max_len, block_bytes=int(rng.integers(1, 10)),
                                workers=int(rng.integers(1, 4)))
        assert_same(fast, slow)


def test_long_random_byte_soup_read_8_bytes_at_a_time_equals_python_pass(tmp_path):
    """Large blocks: the pass skips 8 bytes at a time through tokens, from every alignment, and
    must stop at each whitespace byte, and only there (control bytes, invalid UTF-8 and
    multi-byte characters inside tokens)."""
    rng = np.random.default_rng(19)
    letters = [b"abcdefghijklmnopqrstuvwxyz"[k:k + 1] for k in range(26)]
    pieces = letters * 8 + FRAGMENTS
    path = tmp_path / "long-soup.bin"
    for _ in range(20):
        picks = rng.integers(0, len(pieces), int(rng.integers(0, 4000)))
        path.write_bytes(b"".join(pieces[k] for k in picks))
        slow = python_pass([path], 5)
        for block in (1 << 16, int(rng.integers(16, 100))):
            assert_same(vocab.scan_files([path], 5, block_bytes=block, workers=int(rng.integers(1, 4))), slow)


def test_a_file_that_cannot_be_read_raises(tmp_path):
    bad = write(tmp_path / "bad.gz", b"this is not gzip data\n")
    from w2v.errors import DamagedFileError
    with pytest.raises(DamagedFileError, match="bad.gz"):  # the documented error for a damaged file
        vocab.scan_files([bad])
    with pytest.raises(FileNotFoundError):
        vocab.scan_files([tmp_path / "missing.txt"])


def test_parallel_threads_are_used_for_large_blocks(tmp_path):
    # blocks above PARALLEL_MIN_BYTES go to the pool: equal result with real threads
    path = write(tmp_path / "big.txt", b"".join(
        f"{i % 1000} x{i % 7}\n".encode() for i in range(100_000)))
    slow = python_pass([path])
    assert_same(vocab.scan_files([path], block_bytes=fastscan.PARALLEL_MIN_BYTES * 2, workers=2), slow)


# ---------------------------------------------------------------- pruning (max_vocab_size)
from collections import Counter  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def one_table(tokens, limit):
    """word2vec.c's rule on one table, in plain Python: the words it holds at the end. A new word
    that finds it full makes it forget the words counted at most min_reduce times, min_reduce
    rising by one after each prune, until there is room."""
    table, min_reduce = {}, 1
    for t in tokens:
        if t not in table:
            while len(table) >= limit:
                table = {w: c for w, c in table.items() if c > min_reduce}
                min_reduce += 1
            table[t] = 0
        table[t] += 1
    return set(table)


def zipf_text(seed, n_types, n_tokens, exponent, newline_p):
    """Tokens drawn from a Zipf law over n_types words (some of them not ASCII), lines of
    random length."""
    rng = np.random.default_rng(seed)
    types = [f"w{k}" if k % 5 else f"é{k}" for k in range(n_types)]
    p = 1.0 / np.arange(1, n_types + 1) ** exponent
    picks = rng.choice(n_types, n_tokens, p=p / p.sum())
    ends = rng.random(n_tokens) < newline_p
    tokens = [types[k] for k in picks]
    text = "".join(t + ("\n" if e else " ") for t, e in zip(tokens, ends))
    return tokens, text


def check_pruned(path, tokens, max_vocab_size, workers, block_bytes, spill_dir=None):
    fast = fastscan.scan_files([path], workers=workers, block_bytes=block_bytes, max_vocab_size=max_vocab_size,
                               spill_dir=spill_dir)
    true = Counter(tokens)
    kept = dict(zip(fast.words, fast.counts.tolist()))
    assert len(kept) == len(fast.words) <= max_vocab_size and fast.peak_words <= max_vocab_size
    assert all(c == true[w] for w, c in kept.items())  # exact counts, forgotten ones given back
    assert all(w in kept for w, c in true.items() if c > fast.max_forgotten)
    if spill_dir is None:
        # every token of a kept word is encoded; the others are -1, in their sentences
        assert [fast.words[i] if i >= 0 else None for i in fast.ids] == [t if t in kept else None for t in tokens]
        assert fast.bounds.tolist() == python_pass([path]).bounds.tolist()
    if workers == 1:
        assert set(kept) == one_table(tokens, max_vocab_size)
    if not fast.pruned:
        assert len(true) <= max_vocab_size
    return fast


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n_types=st.integers(1, 60), n_tokens=st.integers(0, 400),
       exponent=st.sampled_from([0.6, 1.0, 1.3]), newline_p=st.sampled_from([0.0, 0.1, 0.5]),
       max_vocab_size=st.integers(1, 12), workers=st.integers(1, 3), block_bytes=st.sampled_from([1, 5, 64, 1 << 16]))
def test_pruning_keeps_exact_counts_and_every_frequent_word(tmp_path, seed, n_types, n_tokens, exponent, newline_p,
                                                            max_vocab_size, workers, block_bytes):
    tokens, text = zipf_text(seed, n_types, n_tokens, exponent, newline_p)
    path = write(tmp_path / "zipf.txt", text.encode())
    check_pruned(path, tokens, max_vocab_size, workers, block_bytes)


def test_pruning_follows_word2vec_c_s_rule_on_one_table(tmp_path):
    # room for 2 words: c finds {a: 2, b: 1} and b goes (threshold 1); d finds {a: 3, c: 1} and c
    # goes (2); e finds {a: 3, d: 3} and both go (3)
    tokens = "a a b c a d d d e".split()
    path = write(tmp_path / "t.txt", " ".join(tokens).encode())
    fast = check_pruned(path, tokens, 2, workers=1, block_bytes=64)
    assert fast.words == ["e"] and fast.counts.tolist() == [1] and fast.pruned
    assert one_table(tokens, 2) == {"e"}
    assert fast.max_forgotten == 1 + 2 + 3
    # with a threshold that did not rise, e would find {a: 3, d: 3} full for ever
    tokens = "a a a b b b c".split()
    path = write(tmp_path / "t.txt", " ".join(tokens).encode())
    fast = check_pruned(path, tokens, 2, workers=1, block_bytes=64)
    assert fast.words == ["c"] and fast.max_forgotten == 3  # thresholds 1 and 2 forgot nothing


def test_a_forgotten_word_comes_back_with_its_earlier_count_and_tokens(tmp_path):
    tokens = "x y x z x y x".split()  # y is forgotten at the first prune, then seen again at the end
    path = write(tmp_path / "t.txt", " ".join(tokens).encode())
    fast = check_pruned(path, tokens, 2, workers=1, block_bytes=64)
    assert dict(zip(fast.words, fast.counts.tolist())) == {"x": 4, "y": 2}


def test_nothing_pruned_equals_the_serial_pass(tmp_path):
    path = write(tmp_path / "t.txt", b"a b c\nb c d\r\n\xff e\n")
    slow = python_pass([path])
    for workers in (1, 2, 3):
        got = vocab.scan_files([path], block_bytes=3, workers=workers, max_vocab_size=1000)
        assert_same(got, slow)


def test_forgotten_invalid_utf8_rejoins_the_word_it_decodes_to(tmp_path):
    # a\xffb is forgotten, a\xfeb kept: both are "a\ufffdb", one word of count 2 and both tokens
    path = write(tmp_path / "bad.txt", b"a\xffb x a\xfeb\n")
    fast = fastscan.scan_files([path], workers=1, block_bytes=64, max_vocab_size=1)
    assert fast.words == ["a\ufffdb"] and fast.counts.tolist() == [2] and fast.ids.tolist() == [0, -1, 0]


def test_pruning_with_the_corpus_spilled_to_disk_equals_it_in_ram(tmp_path, monkeypatch):
    monkeypatch.setattr(fastscan, "SPILL_IDS", 5)
    monkeypatch.setattr(fastscan, "SPILL_LINES", 2)
    tokens, text = zipf_text(3, 300, 20_000, 1.0, 0.1)
    path = write(tmp_path / "zipf.txt", text.encode())
    for workers in (1, 2):
        ram = check_pruned(path, tokens, 40, workers, block_bytes=4096)
        spill_dir = tmp_path / f"spill{workers}"
        spill_dir.mkdir()
        disk = check_pruned(path, tokens, 40, workers, block_bytes=4096, spill_dir=spill_dir)
        assert ram.pruned and disk.words == ram.words and disk.counts.tolist() == ram.counts.tolist()
        ids = np.fromfile(disk.spill.ids_path, dtype=np.int32)
        fastscan._remap_ranges(ids, disk.spill.ranges, disk.spill.id_map)
        assert np.array_equal(ids, ram.ids)
        # sparse: bits for every id given, a value for those of kept words only
        id_map = disk.spill.id_map
        assert id_map.bits.shape[0] == (id_map.offsets[-1] + 63) // 64 and id_map.values.shape[0] < id_map.offsets[-1]
        # what the tables forgot was set aside on disk, and removed once given back
        assert sorted(p.name for p in spill_dir.iterdir()) == ["spill-ids.i32", "spill-lines.i64"]


def test_a_batch_of_tokens_stopped_anywhere_resumes_exactly(tmp_path, monkeypatch):
    """The kernel cuts a batch of tokens (ending lines as it goes) before looking them up: a
    lookup that must wait for a table or array to grow stops the call at that token, with the
    lines as they were before it. Tables that start with room for one word, one byte and one
    line make that happen at almost every token, in batches that also end lines."""
    real_init = fastscan._Counter.__init__

    def tiny(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.slots = np.zeros((4, 4), dtype=np.int64)
        self.meta = np.zeros((1, 6), dtype=np.int64)
        self.word_bytes = np.zeros(1, dtype=np.uint8)
        self.lines = np.zeros(1, dtype=np.int64)
    monkeypatch.setattr(fastscan._Counter, "__init__", tiny)
    rng = np.random.default_rng(5)
    words = [f"w{k}" for k in range(300)] + [f"a_rather_long_word_{k}" for k in range(100)] + ["é", "日本"]
    lines = [" ".join(rng.choice(words, rng.integers(0, 9))) for _ in range(700)]
    path = write(tmp_path / "grow.txt", "\n".join(lines).encode())
    check([path], block_sizes=(3, 64, 1 << 16), workers=(1, 2))
