"""Shards of a corpus for a first pass on several machines: files, byte ranges of one file cut at
newlines, and fsspec URLs (s3://, gcs://, file://, ...).

A shard is `Shard(path, start, stop)`: a local path or an fsspec URL, and the byte range
[start, stop) whose lines it owns (start=0, stop=None: the whole file, which may be .gz/.bz2).

The rule: **a range owns the lines that start inside it.** A line starts at offset 0 and just
after each \\n. So a range reads from the first line start at or after `start` to the first line
start at or after `stop` (the end of the file if there is none). Ranges [c0, c1), [c1, c2), ...
with c0 = 0 and the last ending at the file's size read every line exactly once and whole,
wherever the cuts fall: a cut inside a multi-byte UTF-8 character, between \\r and \\n, or inside
a line longer than a range moves to the next line start (a range may then own no line). Nothing
of the first pass crosses a \\n (a token, the replacement of invalid UTF-8, which resynchronises
at every ASCII byte, the split of a line into sentences of 10,000 tokens), so the passes over the
ranges, joined in order, are the pass over the file. Cut points are plain byte offsets: the
driver needs no read of the file to choose them, only its size.

A compressed file cannot be cut (a range of a gzip stream is not text): it stays one shard.

URLs are read through fsspec (a dependency of Dask, so of `w2v[dask]`), streamed in blocks as
local files are: the file is never held whole in memory.
"""
from __future__ import annotations

import io
import os
import re
from typing import NamedTuple

from . import corpus as corpus_mod

# The largest byte range read as one shard (ranges are cut to about half of it at least). Each range
# costs its own vocabulary (growing a hash table, decoding and merging its words): measured on the
# dev corpus, ~0.05 s a range, 25% of counting a 16 MB range on one core, 6% of a 64 MB one.
RANGE_BYTES = 64 << 20
# At most this many ranges per worker: enough that a slow or lost worker costs a quarter of its
# share, few enough that the store stays a few parts (each part holds 2 open files per reader).
RANGES_PER_WORKER = 4
_SEEK_BYTES = 1 << 16   # read size when looking for the next line start
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class Shard(NamedTuple):
    """A file (a local path or an fsspec URL), or the lines starting in bytes [start, stop) of one."""
    path: str
    start: int = 0
    stop: int | None = None

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop is None


def is_url(path) -> bool:
    """Whether a corpus path is an fsspec URL (protocol://...) rather than a local path."""
    return isinstance(path, str) and _URL.match(path) is not None


def compressed(path) -> bool:
    return str(path).endswith(corpus_mod.COMPRESSED_SUFFIXES)


def _fs(url):
    """(fsspec filesystem, path within it) of a URL."""
    try:
        import fsspec
    except ImportError as e:
        raise ImportError(f"reading the corpus URL {url} needs fsspec, which comes with Dask: "
                          "pip install 'w2v[dask]'") from e
    return fsspec.core.url_to_fs(url)


# fsspec's info() keys that change when an object is rewritten, by backend: S3 and HTTP (ETag),
# GCS (generation, md5Hash, updated), local and SFTP (mtime, ino), Azure (last_modified), memory
# (created). All those present are kept.
_VERSION_KEYS = ("ETag", "etag", "generation", "md5Hash", "mtime", "ino", "LastModified", "last_modified",
                 "updated", "created")


def _url_fingerprint(url) -> list:
    fs, p = _fs(url)
    info = fs.info(p)
    if info.get("type") == "directory":
        raise IsADirectoryError(f"corpus path is a directory: {url}")
    return [url, int(info["size"]), [[k, str(info[k])] for k in _VERSION_KEYS if k in info]]


def file_fingerprint(path) -> list:
    """What says, without reading it, that a file still has its content: [resolved path, size,
    mtime (ns), inode] for a local file (as store.files_fingerprint), [url, size, version] for a URL
    (version: the ETag, generation or mtime fsspec reports)."""
    path = os.fspath(path)
    if is_url(path):
        return _url_fingerprint(path)
    st = os.stat(path)
    return [os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino]


def shard_fingerprint(shard: Shard) -> list:
    """The fingerprint of the file, and the range for a byte range: the key material of its part."""
    found = file_fingerprint(shard.path)
    return found if shard.whole else found + [shard.start, shard.stop]


def check_unchanged(shard: Shard, fingerprint: list) -> None:
    """Raise if the shard's file is no longer the one `fingerprint` (shard_fingerprint's, taken by the
    driver) describes. The path is not compared: a worker may see shared storage under another name."""
    now = shard_fingerprint(shard)
    if now[1:] != list(fingerprint)[1:]:
        raise ValueError(f"the corpus file {shard.path} changed while it was being read: run again")


def list_files(corpus) -> list[str]:
    """The files of a corpus path or URL: the file itself, or a directory's files (not those named
    .*) in name order, as corpus.corpus_files."""
    if not is_url(corpus):
        return [os.fspath(f) for f in corpus_mod.corpus_files(corpus)]
    fs, p = _fs(corpus)
    if not fs.exists(p):
        raise FileNotFoundError(f"corpus file not found: {corpus}")
    if not fs.isdir(p):
        return [corpus]
    names = sorted(e["name"] for e in fs.ls(p, detail=True)
                   if e.get("type") == "file" and not e["name"].rstrip("/").rsplit("/", 1)[-1].startswith("."))
    if not names:
        raise ValueError(f"corpus directory has no files: {corpus}")
    return [fs.unstrip_protocol(n) for n in names]


def n_ranges(text_bytes: int, n_workers: int, range_bytes: int = RANGE_BYTES) -> int:
    """How many byte ranges to cut `text_bytes` of plain text into for n_workers: ranges of at most
    range_bytes, their number rounded up to a multiple of n_workers (equal shares) and at most
    RANGES_PER_WORKER per worker (then larger ranges)."""
    n = max(1, -(-int(text_bytes) // max(1, int(range_bytes))))
    w = max(1, int(n_workers))
    if n > w:
        n = min(RANGES_PER_WORKER * w, -(-n // w) * w)
    return n


def cut(size: int, n: int) -> list[tuple[int, int]]:
    """n ranges of about equal bytes covering [0, size)."""
    return [(size * k // n, size * (k + 1) // n) for k in range(n)]


def plan(corpus, n_workers: int, range_bytes: int = RANGE_BYTES) -> list[tuple[Shard, list]]:
    """The shards of a corpus (a path or URL, or a list of files) and their fingerprints, in
    reading order: a compressed file is one shard; the plain files' bytes are cut into
    `n_ranges(their total)` ranges, each file into its share of them (one if small)."""
    files = list_files(corpus) if isinstance(corpus, (str, os.PathLike)) else [os.fspath(f) for f in corpus]
    prints = [file_fingerprint(f) for f in files]
    plain = sum(fp[1] for f, fp in zip(files, prints) if not compressed(f))
    total = n_ranges(plain, n_workers, range_bytes) if plain else 1
    out = []
    for f, fp in zip(files, prints):
        size = fp[1]
        n = 1 if compressed(f) or not plain else max(1, -(-size * total // plain))
        if n == 1:
            out.append((Shard(f), fp))
        else:
            out.extend((Shard(f, a, b), fp + [a, b]) for a, b in cut(size, n))
    return out


def sharded(corpus, range_bytes: int = RANGE_BYTES) -> bool:
    """Whether a corpus is more than one shard (on one worker): several files, or a plain file of
    more than range_bytes."""
    files = list_files(corpus)
    if len(files) > 1:
        return True
    return not compressed(files[0]) and file_fingerprint(files[0])[1] > range_bytes


# ---------------------------------------------------------------------------------- reading
def _find_newline(b, lo: int, hi: int) -> int:
    """Index of the first \\n in b[lo:hi] (a writable buffer), -1 if none."""
    view = memoryview(b).cast("B")
    while lo < hi:
        piece = bytes(view[lo:min(hi, lo + _SEEK_BYTES)])
        i = piece.find(b"\n")
        if i >= 0:
            return lo + i
        lo += len(piece)
    return -1


def line_start(f, x: int) -> int:
    """The offset of the first line start at or after x in the seekable binary file f (its size if
    none), with f positioned there."""
    if x <= 0:
        f.seek(0)
        return 0
    pos = x - 1  # a line starts at x when the byte before it is a \n
    f.seek(pos)
    while True:
        piece = f.read(_SEEK_BYTES)
        if not piece:
            return pos
        i = piece.find(b"\n")
        if i >= 0:
            f.seek(pos + i + 1)
            return pos + i + 1
        pos += len(piece)


class _LineRange(io.RawIOBase):
    """The bytes of the lines of `raw` that start in [start, stop) (the module's rule): from the
    first line start at or after `start` to the first \\n at or after stop - 1, included."""

    def __init__(self, raw, start: int, stop: int, name: str):
        self.raw, self.stop, self.name = raw, stop, name
        self.pos = line_start(raw, start)
        self.done = self.pos >= stop

    def readable(self):
        return True

    def readinto(self, b):
        if self.done:
            return 0
        n = self.raw.readinto(b)
        if not n:
            self.done = True
            return 0
        if self.pos + n > self.stop - 1:
            # the line holding byte stop - 1 is the range's last: it ends at its \n
            i = _find_newline(b, max(0, self.stop - 1 - self.pos), n)
            if i >= 0:
                n, self.done = i + 1, True
        self.pos += n
        return n

    def close(self):
        if not self.closed:
            self.raw.close()
        super().close()


def open_shard(shard):
    """A binary file object reading a shard's bytes: a whole file (plain, .gz or .bz2, local or a
    URL) or the lines of a byte range of a plain one."""
    shard = Shard(*shard)
    path = os.fspath(shard.path)
    if not shard.whole and compressed(path):
        raise ValueError(f"a compressed file cannot be read by byte ranges: {path}")
    if not is_url(path):
        if shard.whole:
            return corpus_mod.open_binary(path)
        corpus_mod.open_binary(path).close()  # the missing-file and directory errors, naming the path
        raw = open(path, "rb")
    else:
        fs, p = _fs(path)
        if not fs.exists(p):
            raise FileNotFoundError(f"corpus file not found: {path}")
        raw = fs.open(p, "rb")
        if shard.whole:
            if compressed(path):
                return io.BufferedReader(corpus_mod._Decompressed(path, "corpus", raw=raw), corpus_mod.BLOCK_BYTES)
            return raw
    stop = shard.stop if shard.stop is not None else 1 << 62
    try:
        return _LineRange(raw, shard.start, stop, path)
    except BaseException:
        raw.close()
        raise


def text_bytes_hint(shard) -> int:
    """Bytes of text a shard holds at most, as far as known without reading (0: unknown)."""
    shard = Shard(*shard)
    if is_url(shard.path) or compressed(shard.path):
        return 0
    try:
        size = os.path.getsize(shard.path)
    except OSError:
        return 0
    # a range's last line may reach past stop: a hint only, the buffers grow past it
    return size if shard.whole else max(0, min(size, shard.stop) - shard.start)
