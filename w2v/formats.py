"""Files: word2vec.c text and binary vectors, atomic writes.

Every writer goes through `atomic_output`: the bytes go to a temporary file beside the target,
which is renamed over it only once complete, so a crash never leaves a half-written file.
"""
from __future__ import annotations

import contextlib
import os
import tempfile

import numpy as np


@contextlib.contextmanager
def atomic_output(path, mode="wb"):
    """Yield a file object whose contents replace `path` only if the block completes."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"output directory does not exist: {directory}")
    if not os.access(directory, os.W_OK):
        raise PermissionError(f"output directory is not writable: {directory}")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_writable(path):
    """Raise now, before a long run, if `path` could not be written later."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"output directory does not exist: {directory}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"output path is a directory: {path}")
    if not os.access(directory, os.W_OK):
        raise PermissionError(f"output directory is not writable: {directory}")


def save_word2vec_format(path, keys, vectors, binary=False):
    """Write word2vec.c's format: header "V d", then one row per word (text, or binary float32)."""
    vectors = np.ascontiguousarray(vectors, dtype="<f4")
    with atomic_output(path) as f:
        f.write(f"{len(keys)} {vectors.shape[1]}\n".encode())
        for key, row in zip(keys, vectors):
            if binary:
                f.write(key.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                f.write((key + " " + " ".join(repr(float(x)) for x in row) + "\n").encode("utf-8"))
