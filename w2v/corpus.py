"""Reading a corpus: sentences of tokens from files, directories or Python iterables.

The file format is word2vec.c's and gensim's LineSentence: one sentence per line, tokens
separated by whitespace, plain, .gz or .bz2. Files are read in fixed-size binary blocks, so a
100 MB file that is one line with no newline (text8) streams in bounded memory: a sentence is
never longer than `max_sentence_length` tokens (longer lines are split into consecutive chunks,
never truncated). Invalid UTF-8 bytes become U+FFFD instead of stopping the run.
"""
from __future__ import annotations

import bz2
import codecs
import gzip
import io
import itertools
import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import CorpusNotFoundError, DamagedFileError

MAX_SENTENCE_LENGTH = 10_000
BLOCK_BYTES = 1 << 20


COMPRESSED_SUFFIXES = (".gz", ".bz2")


def open_binary(path, what="corpus"):
    """Open a plain, .gz or .bz2 file for binary reading: every reader of ours goes through here.

    A missing path or a directory raises FileNotFoundError / IsADirectoryError naming the path
    and what it was meant to be ("corpus", "vectors", ...).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} file not found: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{what} path is a directory: {path}")
    if path.endswith(COMPRESSED_SUFFIXES):
        return io.BufferedReader(_Decompressed(path, what), BLOCK_BYTES)
    return open(path, "rb")


class _Decompressed(io.RawIOBase):
    """The text of a .gz or .bz2 file; a truncated or damaged one raises DamagedFileError naming
    the file and how much of its text was read.

    .bz2: streams back to back (pbzip2's output, Wikipedia's multistream dumps), and anything
    after the last one that is not a stream is an error, where bz2.BZ2File ignores it: a damaged
    later stream would end the corpus there without a word. gzip already refuses such bytes."""

    def __init__(self, path, what, raw=None):
        # raw: the compressed bytes already open (an fsspec URL's file), else the path is opened
        self.path, self.what, self.text_bytes = path, what, 0
        self.raw = open(path, "rb") if raw is None else raw
        self.gz = gzip.GzipFile(fileobj=self.raw, mode="rb") if path.endswith(".gz") else None
        self.bz, self.pending, self.started = bz2.BZ2Decompressor(), b"", False

    def readable(self):
        return True

    def readinto(self, b):
        try:
            # in slices, so that the text counted before a failure is what was read
            b = memoryview(b)[:1 << 16]
            n = self.gz.readinto(b) if self.gz is not None else self._bz2_into(b)
        except (EOFError, OSError, zlib.error) as e:
            raise DamagedFileError(f"{self.what} file {self.path}: truncated or damaged after {self.text_bytes} "
                                   f"bytes of text: {e}") from None
        self.text_bytes += n
        return n

    def _bz2_into(self, b):
        while True:
            if self.bz.eof:
                self.pending = self.bz.unused_data or self.raw.read(1 << 16)
                if not self.pending:
                    return 0
                self.bz = bz2.BZ2Decompressor()
                try:
                    data = self.bz.decompress(self.pending, len(b))
                except OSError:
                    raise OSError("bytes after its last bz2 stream are not a bz2 stream") from None
            else:
                if self.bz.needs_input:
                    self.pending = self.raw.read(1 << 16)
                    if not self.pending:
                        if self.started:
                            raise EOFError("the file ends inside a bz2 stream")
                        return 0  # an empty file: no text
                    self.started = True
                else:
                    self.pending = b""
                data = self.bz.decompress(self.pending, len(b))
            if data:
                b[:len(data)] = data
                return len(data)

    def close(self):
        if not self.closed:
            if self.gz is not None:
                self.gz.close()
            self.raw.close()
        super().close()


def corpus_files(path) -> list[Path]:
    """The files of a corpus path: the file itself, or a directory's regular files in name order."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"corpus file not found: {p}")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
        if not files:
            raise ValueError(f"corpus directory has no files: {p}")
        return files
    return [p]


def _chunks(tokens: list, n: int) -> Iterator[list]:
    for i in range(0, len(tokens), n):
        yield tokens[i:i + n]


def iter_file_sentences(path, max_sentence_length: int = MAX_SENTENCE_LENGTH,
                        block_bytes: int = BLOCK_BYTES) -> Iterator[list[str]]:
    """Yield the token lists of one text file, in bounded memory.

    Memory is O(block_bytes + max_sentence_length tokens) whatever the line lengths.
    Empty lines yield nothing.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""      # text after the last newline, not yet split
    carry: list = []  # whole tokens of a long line not yet emitted (< max_sentence_length)
    with open_binary(path) as f:
        while True:
            block = f.read(block_bytes)
            text = decoder.decode(block, final=not block)
            if text:
                lines = (pending + text).split("\n")
                pending = lines.pop()
                for line in lines:
                    toks = line.split()
                    if carry:
                        toks = carry + toks
                        carry = []
                    if toks:
                        yield from _chunks(toks, max_sentence_length)
                if len(pending) > block_bytes:
                    # a line with no newline in sight: emit its whole tokens in full chunks,
                    # keep the last (maybe partial) token and any remainder
                    toks = pending.split()
                    tail = "" if pending[-1].isspace() else toks.pop()
                    toks = carry + toks
                    n_full = len(toks) - len(toks) % max_sentence_length
                    yield from _chunks(toks[:n_full], max_sentence_length)
                    carry = toks[n_full:]
                    pending = tail
            if not block:
                break
    toks = carry + pending.split()
    if toks:
        yield from _chunks(toks, max_sentence_length)


def iter_path_sentences(path, max_sentence_length: int = MAX_SENTENCE_LENGTH) -> Iterator[list[str]]:
    """Token lists of a file or of every file in a directory."""
    for f in corpus_files(path):
        yield from iter_file_sentences(f, max_sentence_length)


def iter_sentences(sentences: Iterable, max_sentence_length: int = MAX_SENTENCE_LENGTH) -> Iterator[list]:
    """Token lists of a Python iterable of token lists, long ones split into chunks."""
    for s in sentences:
        if isinstance(s, str):
            raise TypeError("each sentence must be a list of string tokens, got a str: "
                            "pass [line.split() for line in lines] or use corpus_file=")
        if len(s) > max_sentence_length:
            yield from _chunks(list(s), max_sentence_length)
        elif len(s):
            yield s


def _decode(line) -> str:
    return line if isinstance(line, str) else line.decode("utf-8", errors="replace")


def _line_sentences(lines, limit, max_sentence_length):
    """gensim's rule: the first `limit` lines, each split on whitespace, in chunks."""
    for line in itertools.islice(lines, limit):
        yield from _chunks(_decode(line).split(), max_sentence_length)


def _check_length(max_sentence_length):
    if isinstance(max_sentence_length, bool) or not isinstance(max_sentence_length, int) \
            or max_sentence_length < 1:
        raise ValueError(f"max_sentence_length must be an integer >= 1, got {max_sentence_length!r}")


def _is_file_object(source):
    return hasattr(source, "seek") and hasattr(source, "read")


class LineSentence:
    """gensim's LineSentence: one sentence per line, tokens split on whitespace, lines longer than
    `max_sentence_length` tokens cut into consecutive sentences; a restartable iterable.

    source: a path (plain, .gz or .bz2) or, unlike gensim, a directory (its files in name
    order), or an open file object (text or binary; read from its start each pass, as gensim
    does). limit: read only the first `limit` lines (of each file). Invalid UTF-8 becomes U+FFFD
    where gensim raises UnicodeDecodeError. A path with no limit streams in bounded memory
    whatever its line lengths, and Word2Vec counts it with the compiled pass.
    """

    def __init__(self, source, max_sentence_length: int = MAX_SENTENCE_LENGTH, limit=None):
        _check_length(max_sentence_length)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit must be None or an integer >= 0, got {limit!r}")
        if not _is_file_object(source):
            corpus_files(source)  # fail now, not at the first iteration
        self.source = source
        self.max_sentence_length = max_sentence_length
        self.limit = limit

    def paths(self):
        """The files to read, when the compiled pass can read them (a path, no limit), else None."""
        if self.limit is not None or _is_file_object(self.source):
            return None
        return corpus_files(self.source)

    def __iter__(self):
        if _is_file_object(self.source):
            self.source.seek(0)
            return _line_sentences(self.source, self.limit, self.max_sentence_length)
        if self.limit is None:
            return iter_path_sentences(self.source, self.max_sentence_length)
        return self._limited()

    def _limited(self):
        for path in corpus_files(self.source):
            with open_binary(path) as f:
                yield from _line_sentences(f, self.limit, self.max_sentence_length)


class PathLineSentences(LineSentence):
    """gensim's PathLineSentences: LineSentence over every file of a directory in name order
    (or one file); `limit` lines of each. Not recursive. Unlike gensim, names starting with "."
    are skipped, and a missing path is a FileNotFoundError that is also a ValueError (gensim's
    class for it)."""

    def __init__(self, source, max_sentence_length: int = MAX_SENTENCE_LENGTH, limit=None):
        if _is_file_object(source) or not os.path.exists(source):
            raise CorpusNotFoundError(f"corpus path is neither a file nor a directory: {source}")
        super().__init__(source, max_sentence_length, limit)
        self.input_files = [os.fspath(f) for f in corpus_files(source)]


class Text8Corpus:
    """gensim's Text8Corpus: the whole file is one stream of whitespace-separated tokens (line
    ends are whitespace too), cut into sentences of `max_sentence_length` tokens, the last one
    shorter; read in blocks, so a file of one 100 MB line takes bounded memory."""

    def __init__(self, fname, max_sentence_length: int = MAX_SENTENCE_LENGTH):
        _check_length(max_sentence_length)
        corpus_files(fname)
        self.fname = fname
        self.max_sentence_length = max_sentence_length

    def __iter__(self):
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        sentence, partial = [], ""
        n = self.max_sentence_length
        with open_binary(self.fname) as f:
            while True:
                block = f.read(BLOCK_BYTES)
                text = partial + decoder.decode(block, final=not block)
                if not block:
                    sentence += text.split()
                    break
                tokens = text.split()
                # the last token may go on in the next block
                partial = tokens.pop() if tokens and not text[-1].isspace() else ""
                sentence += tokens
                while len(sentence) >= n:
                    yield sentence[:n]
                    sentence = sentence[n:]
        while sentence:
            yield sentence[:n]
            sentence = sentence[n:]


class BrownCorpus:
    """gensim's BrownCorpus: the files of an NLTK Brown corpus directory, one sentence per line,
    tokens `word/TAG`; yields `word/TA` (lower-cased word, first two letters of the tag) for the
    tokens whose tag starts with two letters (punctuation tags dropped). Files are read in name
    order (gensim: the directory's order, which depends on the file system)."""

    def __init__(self, dirname):
        if not os.path.isdir(dirname):
            raise CorpusNotFoundError(f"Brown corpus directory not found: {dirname}")
        self.dirname = dirname

    def __iter__(self):
        for name in sorted(os.listdir(self.dirname)):
            path = os.path.join(self.dirname, name)
            if not os.path.isfile(path):
                continue
            with open_binary(path) as f:
                for line in f:
                    pairs = [t.split("/") for t in _decode(line).split()]
                    words = [f"{token.lower()}/{tag[:2]}" for token, tag in
                             (p for p in pairs if len(p) == 2) if tag[:2].isalpha()]
                    if words:
                        yield words


def resolve(sentences=None, corpus_file=None) -> tuple[Iterable, bool]:
    """The sentence stream for one of (sentences, corpus_file), and whether it can be read twice."""
    if (sentences is None) == (corpus_file is None):
        raise ValueError("give exactly one of sentences (an iterable of token lists) or corpus_file (a path)")
    if corpus_file is not None:
        return LineSentence(corpus_file), True  # checks that the path exists
    if isinstance(sentences, (str, os.PathLike)):
        raise TypeError("sentences must be an iterable of token lists; for a path use corpus_file=")
    restartable = iter(sentences) is not sentences
    return sentences, restartable
