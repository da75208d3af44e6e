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
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

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
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    return open(path, "rb")


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


class LineSentence:
    """A restartable iterable over a file or directory of LineSentence text (gensim's name)."""

    def __init__(self, source, max_sentence_length: int = MAX_SENTENCE_LENGTH):
        corpus_files(source)  # fail now, not at the first iteration
        self.source = source
        self.max_sentence_length = max_sentence_length

    def __iter__(self):
        return iter_path_sentences(self.source, self.max_sentence_length)


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
