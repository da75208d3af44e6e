"""Files: word2vec.c text and binary vectors, w2v's native vectors file, atomic writes.

Every writer goes through `atomic_output`: the bytes go to a temporary file beside the target,
fsynced and renamed over it only once complete, so a crash never leaves a half-written file;
devices and FIFOs are written straight through. `check_writable` and `check_distinct_paths`
let a command refuse, before any work, an output it could not write or one that would destroy
an input.

word2vec format: a header line "V d", then V rows. Text rows are `word v1 ... vd`; binary rows
are `word`, a space, d little-endian float32, and (word2vec.c) a newline, which gensim omits;
both are read. Readers parse in bulk (numpy on whole blocks, one numba pass over a binary body)
and reject damaged files with one `DamagedFileError` (a ValueError and an EOFError) naming the
file and the line or byte offset: never a silent partial load. The header's sizes are checked
against the file's size before anything is allocated for them.

Native format (`.npz`): an uncompressed numpy .npz holding `vectors.npy` (float32 (V, d), the
first member, its data 64-byte aligned so that it can be memory-mapped in place), `keys.json`
(the V words, in order) and `meta.json`. `np.load` reads it too; nothing is pickled. A normal
load verifies every member's CRC-32 against the zip directory.
"""
from __future__ import annotations

import bz2
import contextlib
import fcntl
import gc
import gzip
import hashlib
import io
import json
import logging
import mmap as _mmap
import os
import re
import secrets
import shutil
import stat
import struct
import tokenize
import zipfile
import zlib

import numba
import numpy as np

from .corpus import COMPRESSED_SUFFIXES, corpus_files, open_binary
from .errors import DamagedFileError

logger = logging.getLogger(__name__)

NATIVE_SUFFIX = ".npz"
NATIVE_FORMAT = "w2v.KeyedVectors"
NATIVE_VERSION = 1
FORMATS = ("text", "binary", "native")
_TEXT_SUFFIXES = (".txt", ".vec")
_BINARY_SUFFIXES = (".bin", ".w2v")
_ROWS_PER_BLOCK = 8192  # text rows parsed per numpy call: bounds the float64 scratch
_NUMBER_BYTES = frozenset(b"0123456789+-.eEinfatyINFATY \t\r")
# no word vectors have a million dimensions: a header saying more is damaged (a file of 0 rows
# would otherwise pass its size check whatever its dimension)
MAX_VECTOR_SIZE = 1 << 20


_TMP_PREFIX = ".tmp-"
# Names that stand for a process's streams or kernel objects, not files to replace.
_WRITE_THROUGH_ROOTS = ("/dev/", "/proc/")


def _existing(path):
    """os.stat(path) following symlinks, or None if nothing is there."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _writes_through(path, st):
    """True if `path` is written in place: a device, a FIFO, /dev/stdout; never replaced."""
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"output path is a directory: {path}")
    return st is not None and (not stat.S_ISREG(st.st_mode)
                               or os.path.abspath(path).startswith(_WRITE_THROUGH_ROOTS))


def _replace_target(path):
    """The file that a write to `path` replaces: a symlink's target (the link stays a link)."""
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"output directory does not exist: {directory}")
    return target, directory


def _tmp_tail(basename):
    """The target's name as it ends a temporary's name: hashed if the whole would pass 255 bytes."""
    if len(basename.encode("utf-8", "surrogateescape")) <= 200:
        return basename
    return "h" + hashlib.sha256(basename.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _tmp_name(directory, basename):
    name = f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}-{_tmp_tail(basename)}"
    return os.path.join(directory, name)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_stale_temporaries(directory, basename):
    """Remove the temporary files that dead writers of `basename` left in `directory`.

    A writer's temporary is `.tmp-<pid>-<hex>-<basename>`; it is removed only when no process
    with that pid is alive and nobody holds the file's lock (a writer locks its temporary while
    it writes), so a live writer's file is never touched; a reused pid keeps a stale file until
    that process ends too. Returns the paths removed.
    """
    pattern = re.compile(re.escape(_TMP_PREFIX) + r"(\d+)-[0-9a-f]+-" + re.escape(_tmp_tail(basename)) + r"\Z")
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if m is None or int(m.group(1)) <= 0 or _pid_alive(int(m.group(1))):
            continue
        stale = os.path.join(directory, name)
        try:
            fd = os.open(stale, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            continue  # another writer cleaned it first
        except OSError:
            fd = None  # not ours to read: the pid alone decides
        try:
            if fd is not None:
                # a writer holds its temporary locked: this catches a live writer whose pid
                # means nothing here (another pid namespace on the same kernel)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(stale)
        except (BlockingIOError, FileNotFoundError):
            continue
        except OSError as e:
            logger.warning("could not remove %s, left by a writer that no longer runs: %s", stale, e)
            continue
        finally:
            if fd is not None:
                os.close(fd)
        removed.append(stale)
        logger.info("removed %s, left by a writer that no longer runs", stale)
    return removed


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_ownership_and_mode(fd, st):
    """Give the new file the replaced file's owner and permission bits (the owner if we may)."""
    if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(PermissionError):
            os.fchown(fd, st.st_uid, st.st_gid)
    os.fchmod(fd, stat.S_IMODE(st.st_mode))  # after fchown, which clears set-id bits


class _Stream(io.RawIOBase):
    """A device or FIFO opened for writing, shown as a stream that cannot seek or tell.

    /dev/null "seeks" and always tells 0, which would lead a zip writer (np.savez, the native
    format) to write a central directory with impossible offsets; a stream makes it count bytes.
    """

    def __init__(self, f):
        super().__init__()
        self._f = f
        self.name = f.name

    def writable(self):
        return True

    def write(self, data):
        return self._f.write(data)

    def flush(self):
        if not self.closed:
            self._f.flush()

    def fileno(self):
        return self._f.fileno()


@contextlib.contextmanager
def atomic_output(path, mode="wb", append=False):
    """Yield a file object whose contents replace `path` only if the block completes.

    append=True keeps what `path` holds and adds to it: the existing bytes are copied into the
    temporary first (one copy of the old file; the price of staying atomic, where opening the
    file in "ab" mode would leave a half-appended file after a crash). A missing file starts
    empty; a device or FIFO is opened for appending.

    A regular file (or a new one) is written to `.tmp-<pid>-<hex>-<name>` beside it, fsynced,
    renamed over it and the directory fsynced: after a crash or a power cut the path holds the
    old file or the new one, whole. A symlink is followed: its target is replaced and the link
    stays a link. The replaced file's permission bits (and owner, when we may) are kept; a new
    file gets 0666 less the umask. Anything else that exists (a character device such as
    /dev/null, a FIFO) and names under /dev and /proc (/dev/stdout) are written straight through,
    never replaced. Temporaries that dead writers left for the same target are removed first.
    """
    path = os.fspath(path)
    st = _existing(path)
    if _writes_through(path, st):
        with open(path, mode.replace("w", "a") if append else mode) as f:
            yield _Stream(f) if "b" in mode else f
        return
    target, directory = _replace_target(path)
    if not os.access(directory, os.W_OK):
        raise PermissionError(f"output directory is not writable: {directory}")
    basename = os.path.basename(target)
    remove_stale_temporaries(directory, basename)
    tmp = _tmp_name(directory, basename)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until closed: "a writer is here"
        if st is not None:
            _copy_ownership_and_mode(fd, st)
        with os.fdopen(fd, mode) as f:
            fd = None  # the file object owns it now
            if append and st is not None:
                with open(target, "rb") as old:
                    shutil.copyfileobj(old, f if "b" in mode else f.buffer, 1 << 22)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def save_npz(path, arrays: dict, meta: dict) -> None:
    """Write `arrays` and the JSON `meta` (as the uint8 member `meta`) to one uncompressed .npz,
    atomically: the container of w2v's models, checkpoints and phrases models."""
    members = dict(arrays, meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))
    with atomic_output(path) as f:
        np.savez(f, **members)


def is_npz_container(path) -> bool:
    """True for a file that `save_npz` wrote (a model, a checkpoint, a phrases model): a zip
    with a `meta` member. False for anything else, a native vectors file included."""
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return "meta.npy" in zf.namelist()
    except (OSError, *_DAMAGED_ZIP_ERRORS):
        return False


def check_writable(path):
    """Raise now, before a long run, if `path` could not be written later.

    Tries what `atomic_output` will do: a file written through must be writable; otherwise a
    temporary file is created (and removed) in the target's directory, and replacing an
    existing file that the sticky bit protects from us (another user's file in /tmp) is refused
    as the kernel's rename would refuse it.
    """
    path = os.fspath(path)
    st = _existing(path)
    if _writes_through(path, st):
        if not os.access(path, os.W_OK):
            raise PermissionError(f"output is not writable: {path}")
        return
    target, directory = _replace_target(path)
    tmp = _tmp_name(directory, os.path.basename(target))
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as e:
        raise PermissionError(f"cannot create a file in the output directory {directory}: "
                              f"{e.strerror}") from None
    os.unlink(tmp)
    if st is not None:
        dir_st = os.stat(directory)
        euid = os.geteuid()
        if (dir_st.st_mode & stat.S_ISVTX and euid != 0
                and st.st_uid != euid and dir_st.st_uid != euid):
            raise PermissionError(f"cannot replace {path}: it belongs to another user (uid "
                                  f"{st.st_uid}) in a sticky directory ({directory}); "
                                  "choose another name")


def _same_file(a, b):
    """True if paths `a` and `b` name one file: the same resolved path, or the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    sa, sb = _existing(a), _existing(b)
    return sa is not None and sb is not None and (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _is_char_device(path):
    st = _existing(path)
    return st is not None and stat.S_ISCHR(st.st_mode)


def check_distinct_paths(outputs, inputs=()):
    """Raise ValueError, before any work, if an output would overwrite an input or another output.

    outputs, inputs: (label, path) pairs such as ("-output", "vec.txt"); None paths are skipped.
    An input directory stands for its corpus files, and for any new file written directly in it
    (the next pass over the corpus would read that file). Paths are compared resolved and, when
    both exist, by (device, inode), which catches hard links. A character device (/dev/null, a
    terminal) is written through and destroys nothing, so it may be named several times.
    """
    outputs = [(label, os.fspath(p)) for label, p in outputs if p is not None]
    named_inputs = []
    for label, p in inputs:
        if p is None:
            continue
        p = os.fspath(p)
        if os.path.isdir(p):
            named_inputs += [(f"the {label} directory's file", os.fspath(f)) for f in corpus_files(p)]
        named_inputs.append((label, p))
    for i, (out_label, out) in enumerate(outputs):
        if _is_char_device(out):
            continue
        for in_label, inp in named_inputs:
            if os.path.isdir(inp):
                real_out = os.path.realpath(out)
                if (os.path.dirname(real_out) == os.path.realpath(inp)
                        and not os.path.basename(real_out).startswith(".")):
                    raise ValueError(f"{out_label} {out} is inside the {in_label} directory {inp}: "
                                     "it would be read as part of the corpus; write it elsewhere")
            elif _same_file(out, inp):
                raise ValueError(f"{out_label} {out} is the same file as {in_label} {inp}: writing "
                                 "it would destroy the input; choose another output name")
        for other_label, other in outputs[:i]:
            if _same_file(out, other):
                raise ValueError(f"{out_label} {out} is the same file as {other_label} {other}: "
                                 "one would overwrite the other; choose two names")


# ---------------------------------------------------------------- format detection
def _strip_compression(path: str) -> str:
    for suffix in COMPRESSED_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def format_from_extension(path):
    """'text', 'binary' or 'native' from the file name (.txt/.vec, .bin, .npz), else None."""
    name = _strip_compression(os.fspath(path)).lower()
    if name.endswith(NATIVE_SUFFIX):
        return "native"
    if name.endswith(_TEXT_SUFFIXES):
        return "text"
    if name.endswith(_BINARY_SUFFIXES):
        return "binary"
    return None


def sniff_format(path):
    """'native', 'text' or 'binary' from the file's bytes: the zip magic, else the first row.

    A text row after the header is a word, then only number characters up to the newline;
    a binary row's raw float32 bytes essentially never look like that.
    """
    path = os.fspath(path)
    with open_binary(path, "vectors") as f:
        head = f.read(1 << 16)
    if head.startswith(b"PK\x03\x04"):
        return "native"
    _, d, body_start = _parse_header(head, path)
    space = head.find(b" ", body_start)
    if space < 0:
        return "text"  # no row at all (or a damaged one): the text reader reports it better
    newline = head.find(b"\n", space)
    row = head[space + 1: newline if newline >= 0 else len(head)]
    if row and set(row) <= _NUMBER_BYTES and len(row.split()) == d:
        return "text"
    return "binary"


def detect_format(path):
    """The format of an existing vectors file: by extension, else by sniffing its bytes."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"vectors file not found: {path}")
    fmt = format_from_extension(path)
    if fmt == "native":
        return fmt
    sniffed = sniff_format(path)
    return fmt if fmt is not None and sniffed != "native" else sniffed


# ---------------------------------------------------------------- word2vec format: reading
@contextlib.contextmanager
def _file_bytes(path):
    """The whole file as a bytes-like object: memory-mapped when plain, decompressed otherwise."""
    with open_binary(path, "vectors") as f:
        if path.endswith(COMPRESSED_SUFFIXES):
            try:
                data = f.read()
            except DamagedFileError:
                raise  # open_binary's, naming the file already
            except (EOFError, OSError, zlib.error) as e:
                raise DamagedFileError(f"{path}: truncated or damaged compressed file: {e}") from None
            yield data
            return
        if os.fstat(f.fileno()).st_size == 0:
            yield b""
            return
        mm = _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ)
        try:
            yield mm
        finally:
            try:
                mm.close()
            except BufferError:
                # numba's first compile keeps its arguments in a reference cycle for a while;
                # the mapping is released when that is collected
                gc.collect()
                with contextlib.suppress(BufferError):
                    mm.close()


def _parse_header(buf, path):
    """(V, d, offset of the first row) from the "V d" line; ValueError if it is not one."""
    if len(buf) == 0:
        raise DamagedFileError(f"{path}: empty file (expected a header line 'V d')")
    end = buf.find(b"\n", 0, 4096)
    if end < 0:
        raise DamagedFileError(f"{path}: line 1: bad header: no newline in the first 4096 bytes "
                         "(expected 'V d': number of words and vector size)")
    line = bytes(buf[:end])
    parts = line.split()
    try:
        vocab_size, vector_size = (int(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        vocab_size = vector_size = None
    if vocab_size is None or vocab_size < 0 or vector_size < 1:
        shown = line[:80].decode("utf-8", "replace")
        raise DamagedFileError(f"{path}: line 1: bad header {shown!r} "
                         "(expected 'V d': number of words and vector size)")
    return vocab_size, vector_size, end + 1


def _count_headerless(buf, path):
    """(V, d, 0) of a text file without a header: its lines, and the values on the first."""
    if len(buf) == 0:
        raise DamagedFileError(f"{path}: empty file (no_header=True: expected rows 'word v1 ... vd')")
    end = buf.find(b"\n")
    first = bytes(buf[: end if end >= 0 else len(buf)]).split()
    if len(first) < 2:
        raise DamagedFileError(f"{path}: line 1: expected a word and its values, found "
                               f"{len(first)} field(s)")
    step = 1 << 24
    n_lines = sum(bytes(buf[i: i + step]).count(b"\n") for i in range(0, len(buf), step))
    n_lines += 0 if buf[len(buf) - 1: len(buf)] == b"\n" else 1
    return n_lines, len(first) - 1, 0


def _decode_word(raw, unicode_errors, encoding, where):
    try:
        return raw.decode(encoding, errors=unicode_errors)
    except UnicodeDecodeError as e:
        # keep the type (a ValueError, as gensim raises), add where it happened
        raise UnicodeDecodeError(e.encoding, e.object, e.start, e.end,
                                 f"{e.reason} in the word at {where} "
                                 "(unicode_errors='ignore' or 'replace' accepts it)") from None


@numba.njit(cache=True, nogil=True)
def _scan_binary(buf, pos, n_rows, row_bytes, out, word_start, word_end):
    """Walk binary rows: word, space, `row_bytes` raw bytes; newlines before a word skipped.

    buf: uint8 (n,); out: uint8 (n_rows, row_bytes), filled; word_start/word_end: int64
    (n_rows,), filled. Returns (rows read, position after them, status): status 0 ok,
    1 end of data before a row began, 2 a word without its space, 3 a row cut short.
    """
    n = buf.shape[0]
    for i in range(n_rows):
        while pos < n and buf[pos] == 10:
            pos += 1
        if pos >= n:
            return i, pos, 1
        start = pos
        while pos < n and buf[pos] != 32:
            pos += 1
        if pos >= n:
            return i, start, 2
        word_start[i] = start
        word_end[i] = pos
        pos += 1
        if pos + row_bytes > n:
            return i, start, 3
        out[i, :] = buf[pos: pos + row_bytes]
        pos += row_bytes
    return n_rows, pos, 0


def _trailing_data(buf, pos):
    """Offset of the first non-whitespace byte at or after `pos`, or -1."""
    tail = bytes(buf[pos: pos + 4096]) if len(buf) - pos <= 4096 else None
    if tail is None:
        return pos  # megabytes after the last row: certainly more rows
    stripped = tail.lstrip(b" \t\r\n")
    return -1 if not stripped else pos + len(tail) - len(stripped)


def _read_binary(buf, path, vocab_size, vector_size, start, unicode_errors, encoding, check_tail,
                 declared, dtype=np.float32):
    row_bytes = 4 * vector_size
    data = np.frombuffer(buf, dtype=np.uint8)
    raw = np.empty((vocab_size, row_bytes), dtype=np.uint8)
    word_start = np.empty(vocab_size, dtype=np.int64)
    word_end = np.empty(vocab_size, dtype=np.int64)
    done, pos, status = _scan_binary(data, start, vocab_size, row_bytes, raw, word_start, word_end)
    del data  # release the export of buf (an mmap cannot close while exported)
    if status == 1:
        raise DamagedFileError(f"{path}: unexpected end of file at byte {pos}: the header says "
                               f"{declared} words, the file has {done}")
    if status == 2:
        raise DamagedFileError(f"{path}: truncated or damaged binary file: row {done + 1} starting at "
                         f"byte {pos} has no space after its word")
    if status == 3:
        raise DamagedFileError(f"{path}: truncated binary file: row {done + 1} starting at byte {pos} "
                         f"needs {row_bytes} bytes of vector ({vector_size} float32), the file "
                         f"ends at byte {len(buf)}")
    if check_tail:
        extra = _trailing_data(buf, pos)
        if extra >= 0:
            raise DamagedFileError(f"{path}: the header says {vocab_size} words but data continues at "
                             f"byte {extra} (more rows than the header says, or a wrong vector size)")
    keys = [_decode_word(bytes(buf[s:e]), unicode_errors, encoding, f"{path}: byte {s}")
            for s, e in zip(word_start.tolist(), word_end.tolist())]
    vectors = raw.view("<f4").astype(dtype, copy=False)
    return keys, vectors


def _locate_text_error(path, lines, first_line_no, vector_size):
    """Raise the ValueError that names the first bad row among `lines` (bulk parse failed)."""
    for k, line in enumerate(lines):
        fields = line.split(b" ", 1)[1].split() if b" " in line else []
        line_no = first_line_no + k
        if len(fields) != vector_size:
            raise DamagedFileError(f"{path}: line {line_no}: expected a word and {vector_size} values, "
                             f"found {len(fields)} values")
        for col, field in enumerate(fields, 1):
            try:
                float(field)
            except ValueError:
                shown = field[:40].decode("utf-8", "replace")
                raise DamagedFileError(f"{path}: line {line_no}: value {col} is not a number: "
                                 f"{shown!r}") from None
    raise DamagedFileError(f"{path}: lines {first_line_no}-{first_line_no + len(lines) - 1}: "
                     "could not parse the values")


def _read_text(buf, path, vocab_size, vector_size, start, unicode_errors, encoding, check_tail,
               declared, dtype=np.float32):
    vectors = np.empty((vocab_size, vector_size), dtype=dtype)
    keys = []
    pos = start
    size = len(buf)
    for block_start in range(0, vocab_size, _ROWS_PER_BLOCK):
        n = min(_ROWS_PER_BLOCK, vocab_size - block_start)
        lines = []
        for i in range(block_start, block_start + n):
            if pos >= size:
                raise DamagedFileError(f"{path}: line {i + 2}: unexpected end of file: the header says "
                                       f"{declared} words, the file has {i}")
            end = buf.find(b"\n", pos)
            if end < 0:
                end = size
            lines.append(bytes(buf[pos:end]).rstrip())
            pos = end + 1
        words, bodies = [], []
        for line in lines:
            word, _, body = line.partition(b" ")
            words.append(word)
            bodies.append(body)
        # gensim parses each value as a double, then rounds to float32: the same here
        try:
            values = np.fromstring(b" ".join(bodies), dtype=np.float64, sep=" ")
        except ValueError:
            values = None
        if values is None or values.size != n * vector_size or any(
                b.count(b" ") + 1 != vector_size and len(b.split()) != vector_size for b in bodies):
            _locate_text_error(path, lines, block_start + 2, vector_size)
        vectors[block_start: block_start + n] = values.reshape(n, vector_size)
        keys.extend(_decode_word(w, unicode_errors, encoding, f"{path}: line {block_start + 2 + k}")
                    for k, w in enumerate(words))
    if check_tail and pos < size:
        extra = _trailing_data(buf, pos)
        if extra >= 0:
            line_no = vocab_size + 2 + bytes(buf[pos:extra]).count(b"\n")
            raise DamagedFileError(f"{path}: line {line_no}: the header says {vocab_size} words but the "
                             "file has more rows")
    return keys, vectors


def _drop_duplicates(keys, vectors, path):
    """gensim keeps the first row of a repeated word and drops the others (with a warning)."""
    if len(set(keys)) == len(keys):
        return keys, vectors
    seen, keep = set(), []
    for i, k in enumerate(keys):
        if k not in seen:
            seen.add(k)
            keep.append(i)
    logger.warning("%s: %d duplicate words, keeping the first row of each",
                   path, len(keys) - len(keep))
    return [keys[i] for i in keep], np.ascontiguousarray(vectors[keep])


def _rows_to_allocate(path, n_rows, vector_size, body_bytes, binary):
    """How many of the header's `n_rows` rows to allocate for: never more than the file could hold.

    The shortest row is an empty word, a space and the values: 4 bytes each in binary, a digit
    each with a space between them in text (newlines are optional at the end). A header that
    promises more rows gets room for one row more than could fit, so the reader still reaches
    the end of the data and names where it stops, with memory bounded by the file's size.
    """
    if vector_size > MAX_VECTOR_SIZE:
        raise DamagedFileError(f"{path}: line 1: the header says vectors of {vector_size} values "
                               f"(at most {MAX_VECTOR_SIZE} are read): a damaged header")
    min_row = 4 * vector_size + 1 if binary else 2 * vector_size
    return min(n_rows, body_bytes // min_row + 1)


def read_word2vec_format(path, binary=None, limit=None, unicode_errors="strict", encoding="utf-8",
                         *, dtype=np.float32, no_header=False, return_rows=False):
    """Read a word2vec.c vectors file (plain, .gz or .bz2): (keys list, (V, d) array of `dtype`).

    binary: True, False, or None to decide from the bytes. limit: read only the first `limit`
    words (the rest of the file is not checked). unicode_errors: as in bytes.decode, for words
    ('strict' raises UnicodeDecodeError, a ValueError, naming the line or byte). dtype: a float
    type; text values are parsed as float64 and rounded once to it, binary float32 values are
    converted. no_header: a text file without the "V d" line (GloVe's layout): V is its number
    of lines, d the number of values on the first. return_rows: also return how many rows were
    read, repeated words included (gensim numbers its made-up counts by it).
    """
    path = os.fspath(path)
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 0):
        raise ValueError(f"limit must be None or an integer >= 0, got {limit!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"datatype must be a float type (np.float16, np.float32, np.float64), "
                         f"got {dtype}")
    if no_header and binary:
        raise NotImplementedError("no_header=True reads text files only: a binary file without its "
                                  "'V d' header cannot be split into rows")
    with _file_bytes(path) as buf:
        if no_header:
            binary = False
            vocab_size, vector_size, start = _count_headerless(buf, path)
        else:
            vocab_size, vector_size, start = _parse_header(buf, path)
        n = vocab_size if limit is None else min(vocab_size, int(limit))
        if binary is None:
            binary = sniff_format(path) == "binary"
        rows = _rows_to_allocate(path, n, vector_size, len(buf) - start, binary)
        reader = _read_binary if binary else _read_text
        try:
            keys, vectors = reader(buf, path, rows, vector_size, start, unicode_errors, encoding,
                                   check_tail=n == vocab_size, declared=vocab_size, dtype=dtype)
            if rows < n:  # the reader found them all: the bound above is wrong, not the file
                raise DamagedFileError(f"{path}: the header says {vocab_size} words, the file holds "
                                       f"fewer")
        except ValueError as e:
            if isinstance(e, UnicodeDecodeError):
                raise
            actual = sniff_format(path)
            if actual != ("binary" if binary else "text"):
                raise type(e)(f"{e} (the file looks like {actual} word2vec format, "
                                 f"not {'binary' if binary else 'text'}: "
                                 f"binary={actual == 'binary'} reads it)") from None
            raise
    rows_read = len(keys)
    _warn_not_finite(keys, vectors, path, header=not no_header)
    keys, vectors = _drop_duplicates(keys, vectors, path)
    return (keys, vectors, rows_read) if return_rows else (keys, vectors)


def _warn_not_finite(keys, vectors, path, header=True):
    """Rows with a NaN or an infinity (a text value beyond the float type, 1e300 in float32, or
    written as nan/inf) load, as gensim loads them, but never silently: every similarity with
    such a word is NaN."""
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad.shape[0]:
        first = int(bad[0])
        logger.warning("%s: %d word vectors hold a NaN or an infinity (the first: %r, line %d; a text value "
                       "beyond %s's range reads as infinity): their similarities will be NaN",
                       path, bad.shape[0], keys[first], first + (2 if header else 1), vectors.dtype)


# ---------------------------------------------------------------- word2vec format: writing
def _check_keys(keys):
    for k in keys:
        if not k or any(c in k for c in " \n\r"):
            raise ValueError(f"cannot write word {k!r} in word2vec format: "
                             "words must be non-empty, without spaces or newlines")


@contextlib.contextmanager
def _compressed_output(path, append=False):
    # appending to a .gz/.bz2 adds a member after the existing ones: both formats read
    # concatenated members as one stream
    with atomic_output(path, "wb", append=append) as raw:
        if path.endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
                yield f
        elif path.endswith(".bz2"):
            with bz2.BZ2File(raw, mode="wb") as f:
                yield f
        else:
            yield raw


def save_word2vec_format(path, keys, vectors, binary=False, *, total_vec=None, write_header=True,
                         prefix="", append=False):
    """Write word2vec.c's format: header "V d", then one row per word (text, or binary float32).

    Text values are written with 9 significant digits, which round-trips every float32.
    Binary rows end with "\\n" as word2vec.c writes them. A .gz/.bz2 name compresses.
    gensim's options: total_vec, the V written in the header (default len(keys)); write_header=False
    writes no header (GloVe's layout); prefix is put before every word; append=True adds to the
    existing file (atomically: see `atomic_output`).
    """
    path = os.fspath(path)
    keys = list(keys)
    # float64 vectors keep their precision in text (17 digits round-trip a double); binary rows
    # are float32 whatever the vectors are, as word2vec.c reads them
    wide = not binary and np.asarray(vectors).dtype == np.float64
    vectors = np.ascontiguousarray(vectors, dtype="<f8" if wide else "<f4")
    if vectors.ndim != 2 or vectors.shape[0] != len(keys):
        raise ValueError(f"vectors must be ({len(keys)}, d), got shape {vectors.shape}")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
    if prefix:
        keys = [prefix + k for k in keys]
    _check_keys(keys)
    if total_vec is None:
        total_vec = len(keys)
    elif isinstance(total_vec, bool) or not isinstance(total_vec, (int, np.integer)) or total_vec < 0:
        raise ValueError(f"total_vec must be None or an integer >= 0, got {total_vec!r}")
    d = vectors.shape[1]
    row_format = " ".join(["%.17g" if wide else "%.9g"] * d)
    with _compressed_output(path, append=append) as f:
        if write_header:
            f.write(f"{int(total_vec)} {d}\n".encode())
        for start in range(0, len(keys), _ROWS_PER_BLOCK):
            block = vectors[start: start + _ROWS_PER_BLOCK]
            if binary:
                parts = []
                for key, row in zip(keys[start: start + len(block)], block):
                    parts += (key.encode("utf-8"), b" ", row.tobytes(), b"\n")
            else:
                parts = [f"{key} {row_format % tuple(row)}\n".encode("utf-8")
                         for key, row in zip(keys[start: start + len(block)], block.tolist())]
            f.write(b"".join(parts))


def save_word_counts(path, keys, counts, prefix="", append=False):
    """word2vec.c's -save-vocab layout, `word count` per line (gensim's fvocab), atomically."""
    path = os.fspath(path)
    keys = [prefix + k for k in keys]
    _check_keys(keys)
    with _compressed_output(path, append=append) as f:
        f.write("".join(f"{k} {c.item() if hasattr(c, 'item') else c}\n"
                        for k, c in zip(keys, counts)).encode("utf-8"))


def classes_text(keys, classes):
    """word2vec.c's `-classes` output as text blocks: one "word class" line per word, in the given
    (vocabulary) order, no header."""
    keys = list(keys)
    classes = np.asarray(classes)
    if classes.shape != (len(keys),):
        raise ValueError(f"classes must be ({len(keys)},), got shape {classes.shape}")
    _check_keys(keys)
    for start in range(0, len(keys), _ROWS_PER_BLOCK):
        yield "".join(f"{key} {c}\n" for key, c in zip(keys[start: start + _ROWS_PER_BLOCK],
                                                       classes[start: start + _ROWS_PER_BLOCK].tolist()))


def save_classes(path, keys, classes):
    """Write `classes_text` to `path`, atomically; a .gz/.bz2 name compresses."""
    path = os.fspath(path)
    blocks = classes_text(keys, classes)
    first = next(blocks, "")  # a bad key or shape raises here, before the file is opened
    with _compressed_output(path) as f:
        f.write(first.encode("utf-8"))
        for block in blocks:
            f.write(block.encode("utf-8"))


# ---------------------------------------------------------------- TensorFlow's Embedding Projector
PROJECTOR_FILES = ("vectors.tsv", "metadata.tsv", "projector_config.pbtxt", "projector_config.json")


def projector_paths(directory):
    """The files `save_projector` writes in `directory`, by name: {name: path}."""
    return {name: os.path.join(os.fspath(directory), name) for name in PROJECTOR_FILES}


def save_projector(directory, keys, vectors, tensor_name="w2v"):
    """Write what TensorFlow's Embedding Projector loads, each file atomically, into `directory`
    (created if missing; its parent must exist):

    - vectors.tsv: one row per word, d tab-separated values (9 significant digits: float32 exact);
    - metadata.tsv: the words, one per line, in the same order; one column, so no header row
      (the projector wants a header only with two columns or more); as gensim's word2vec2tensor;
    - projector_config.pbtxt: TensorBoard's ProjectorConfig naming the two files (a log
      directory holding these three files shows the vectors in TensorBoard's projector tab);
    - projector_config.json: the same for the standalone projector (projector.tensorflow.org,
      "Load" takes the two .tsv files; a config URL takes this file).

    A word holding a tab or a line break would shift every later row: refused (ValueError).
    """
    keys = list(keys)
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] != len(keys):
        raise ValueError(f"vectors must be ({len(keys)}, d), got shape {vectors.shape}")
    for k in keys:
        if any(c in k for c in "\t\n\r"):
            raise ValueError(f"cannot write word {k!r} to metadata.tsv: a tab or a line break in a "
                             "word would misalign every later row")
    directory = os.fspath(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(f"projector output {directory} exists and is not a directory")
    os.makedirs(directory, exist_ok=True)
    paths = projector_paths(directory)
    wide = vectors.dtype == np.float64
    vectors = np.ascontiguousarray(vectors, dtype=np.float64 if wide else np.float32)
    row_format = "\t".join(["%.17g" if wide else "%.9g"] * vectors.shape[1])
    with atomic_output(paths["vectors.tsv"]) as f:
        for start in range(0, len(keys), _ROWS_PER_BLOCK):
            block = vectors[start: start + _ROWS_PER_BLOCK].tolist()
            f.write("".join(f"{row_format % tuple(row)}\n" for row in block).encode("ascii"))
    with atomic_output(paths["metadata.tsv"]) as f:
        for start in range(0, len(keys), _ROWS_PER_BLOCK):
            f.write("".join(f"{k}\n" for k in keys[start: start + _ROWS_PER_BLOCK]).encode("utf-8"))
    shape = [len(keys), int(vectors.shape[1])]
    quoted = json.dumps(tensor_name, ensure_ascii=False)  # a quoted string in both syntaxes
    pbtxt = (f"embeddings {{\n  tensor_name: {quoted}\n  tensor_shape: {shape[0]}\n"
             f"  tensor_shape: {shape[1]}\n  tensor_path: \"vectors.tsv\"\n"
             f"  metadata_path: \"metadata.tsv\"\n}}\n")
    config = {"embeddings": [{"tensorName": tensor_name, "tensorShape": shape,
                              "tensorPath": "vectors.tsv", "metadataPath": "metadata.tsv"}]}
    for file_name, text in (("projector_config.pbtxt", pbtxt),
                            ("projector_config.json", json.dumps(config, indent=2, ensure_ascii=False) + "\n")):
        with atomic_output(paths[file_name]) as f:
            f.write(text.encode("utf-8"))
    return paths


# ---------------------------------------------------------------- native format
_ZIP_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # 30 bytes, ends with name and extra lengths


def save_native(path, keys, vectors):
    """Write the native .npz: vectors.npy (64-byte aligned, for mmap), keys.json, meta.json."""
    path = os.fspath(path)
    keys = list(keys)
    vectors = np.ascontiguousarray(vectors, dtype="<f4")
    if vectors.ndim != 2 or vectors.shape[0] != len(keys):
        raise ValueError(f"vectors must be ({len(keys)}, d), got shape {vectors.shape}")
    meta = {"format": NATIVE_FORMAT, "version": NATIVE_VERSION, "count": len(keys),
            "vector_size": int(vectors.shape[1])}
    with atomic_output(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        info = zipfile.ZipInfo("vectors.npy", date_time=(1980, 1, 1, 0, 0, 0))
        with zf.open(info, "w", force_zip64=True) as member:
            data_start = zf.fp.tell()  # after the local header; zf.fp counts bytes on a pipe too
            member.write(_npy_header(vectors, data_start))
            flat = vectors.reshape(-1)
            step = 1 << 22
            for i in range(0, flat.size, step):
                member.write(flat[i: i + step].tobytes())
        zf.writestr(zipfile.ZipInfo("keys.json", date_time=(1980, 1, 1, 0, 0, 0)),
                    json.dumps(keys, ensure_ascii=False))
        zf.writestr(zipfile.ZipInfo("meta.json", date_time=(1980, 1, 1, 0, 0, 0)),
                    json.dumps(meta))


def _npy_header(array, file_offset):
    """A .npy v1 header padded so that the array data starts 64-byte aligned in the file."""
    header = repr({"descr": "<f4", "fortran_order": False, "shape": array.shape})
    fixed = len(np.lib.format.MAGIC_PREFIX) + 2 + 2  # magic, version, header length
    pad = (-(file_offset + fixed + len(header) + 1)) % 64
    header = header + " " * pad + "\n"
    return np.lib.format.magic(1, 0) + struct.pack("<H", len(header)) + header.encode("latin1")


def _native_error(path, what):
    return DamagedFileError(f"{path}: not a w2v native vectors file, or a damaged one ({what})")


# what reading a damaged zip or .npy header can raise (a PermissionError is let through);
# RuntimeError: zipfile's "File ... is encrypted, password required" (one flipped flag bit)
_DAMAGED_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, struct.error,
                       NotImplementedError, zlib.error, KeyError, IndexError, OverflowError,
                       SyntaxError, TypeError, RuntimeError, tokenize.TokenError)


def _is_int(x, low=0):
    return isinstance(x, int) and not isinstance(x, bool) and x >= low


def _crc32_of_file_range(f, start, stop, crc=0):
    f.seek(start)
    remaining = stop - start
    while remaining > 0:
        block = f.read(min(remaining, 1 << 22))
        if not block:
            break
        crc = zlib.crc32(block, crc)
        remaining -= len(block)
    return crc


def load_native(path, mmap=None):
    """Read a native .npz: (keys, vectors); mmap='r' maps the vectors read-only in place.

    Every damage is a DamagedFileError (a ValueError and an EOFError) naming the file; a newer
    format version is a ValueError naming both versions. A normal load verifies the CRC-32 of
    every member, the vectors included. A memory-mapped load checks the zip directory, the
    metadata members' CRCs, the .npy header and every size and shape, but does not read the
    vectors, so their values are not verified: damage inside the vector data goes unnoticed.
    """
    path = os.fspath(path)
    if mmap not in (None, "r"):
        raise ValueError(f"mmap must be None or 'r', got {mmap!r}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"vectors file not found: {path}")
    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        try:
            with zipfile.ZipFile(f) as zf:
                names = set(zf.namelist())
                if not {"vectors.npy", "keys.json", "meta.json"} <= names:
                    raise _native_error(path, f"members {sorted(names)}")
                meta = json.loads(zf.read("meta.json"))
                keys = json.loads(zf.read("keys.json").decode("utf-8"))
                info = zf.getinfo("vectors.npy")
        except DamagedFileError:
            raise
        except PermissionError:
            raise
        except (OSError, *_DAMAGED_ZIP_ERRORS) as e:
            raise _native_error(path, f"bad zip or metadata: {type(e).__name__}: {e}") from None
        if not isinstance(meta, dict) or meta.get("format") != NATIVE_FORMAT:
            raise _native_error(path, f"meta.json format is {str(meta)[:80]}")
        version = meta.get("version", 0)
        if not _is_int(version):
            raise _native_error(path, f"format version {str(version)[:40]!r} is not a version number")
        if version > NATIVE_VERSION:
            raise ValueError(f"{path}: native format version {version} is newer than "
                             f"this w2v reads ({NATIVE_VERSION})")
        # words, or ints: gensim's other key type, which KeyedVectors keeps as well
        if not isinstance(keys, list) or not all(isinstance(k, str) or _is_int(k, low=-2 ** 63) for k in keys):
            raise _native_error(path, "keys.json is not a list of words")
        if len(set(keys)) != len(keys):
            raise _native_error(path, f"keys.json repeats {len(keys) - len(set(keys))} words")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise _native_error(path, "vectors.npy is compressed")
        f.seek(info.header_offset)
        local = f.read(_ZIP_LOCAL_HEADER.size)
        if len(local) < _ZIP_LOCAL_HEADER.size or local[:4] != b"PK\x03\x04":
            raise _native_error(path, "damaged zip entry for vectors.npy")
        name_len, extra_len = _ZIP_LOCAL_HEADER.unpack(local)[-2:]
        member_start = info.header_offset + _ZIP_LOCAL_HEADER.size + name_len + extra_len
        f.seek(member_start)
        try:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)
        except (OSError, *_DAMAGED_ZIP_ERRORS) as e:
            raise _native_error(path, f"bad vectors.npy header: {e}") from None
        offset = f.tell()
        if (dtype != np.dtype("<f4") or fortran or len(shape) != 2 or shape[0] != len(keys)
                or meta.get("count", len(keys)) != len(keys)
                or meta.get("vector_size", shape[1] if shape else 0) != (shape[1] if shape else 0)):
            raise _native_error(path, f"vectors.npy is {dtype} {shape}, keys {len(keys)}, "
                                      f"meta.json says {meta.get('count')} x {meta.get('vector_size')}")
        data_bytes = shape[0] * shape[1] * 4
        needed = offset + data_bytes
        if file_size < needed or offset - member_start + data_bytes != info.file_size:
            raise DamagedFileError(f"{path}: truncated or damaged: vectors.npy ({shape[0]} x {shape[1]} "
                                   f"float32) needs bytes up to {needed} and a {offset - member_start + data_bytes}"
                                   f"-byte member; the file has {file_size} bytes, the zip directory "
                                   f"says {info.file_size}")
        if mmap == "r":
            return keys, np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=shape)
        crc = _crc32_of_file_range(f, member_start, offset)
        vectors = np.fromfile(f, dtype="<f4", count=shape[0] * shape[1], offset=0)  # f is at offset
        if vectors.size != shape[0] * shape[1]:
            raise DamagedFileError(f"{path}: truncated: vectors.npy ends early")
        if zlib.crc32(vectors.data, crc) != info.CRC:
            raise DamagedFileError(f"{path}: damaged: the CRC-32 of vectors.npy does not match the zip "
                                   "directory's (the vector values were changed after writing)")
    return keys, vectors.reshape(shape)


# a deflate stream expands at most about 1032 times
_MAX_DEFLATE_RATIO = 1032


def check_npz_sizes(path):
    """Raise DamagedFileError naming `path` unless every .npy member of the .npz declares an
    array that fits in the bytes the member has, and every member fits in the file.

    np.load allocates the array its header declares before reading the data, so a damaged header
    ((10**12,) for (10,)) would otherwise be a MemoryError; this reads only the headers.
    """
    path = os.fspath(path)
    file_size = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                ratio = 1 if info.compress_type == zipfile.ZIP_STORED else _MAX_DEFLATE_RATIO
                if info.compress_size > file_size or info.file_size > ratio * max(info.compress_size, 1):
                    raise DamagedFileError(f"{path}: damaged zip directory: member {info.filename} says "
                                           f"{info.file_size} bytes, the file has {file_size}")
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(member)
                    header_bytes = member.tell()
                count = 1
                for n in shape:
                    count *= n
                if dtype.hasobject or count * dtype.itemsize != info.file_size - header_bytes:
                    raise DamagedFileError(f"{path}: damaged member {info.filename}: its header says {dtype} "
                                           f"{shape}, its data has {info.file_size - header_bytes} bytes")
    except DamagedFileError:
        raise
    except PermissionError:
        raise
    except (OSError, *_DAMAGED_ZIP_ERRORS) as e:
        raise DamagedFileError(f"{path}: not a valid .npz file, or a damaged one "
                               f"({type(e).__name__}: {e})") from None
