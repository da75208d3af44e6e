"""Checkpoints: a model file plus the state of the `train()` call that was writing it.

A checkpoint is a model file (`Word2Vec.save`'s format, so `Word2Vec.load` reads it as the
model at that moment) whose metadata also holds `training`: the call's plan parameters
(epochs, learning rates, first epoch, unit size), the cursor (this call's epoch and the units
of it already trained), the stats of that epoch so far, and the corpus fingerprint. With the
same corpus, rebuilding the plan gives the same units, so resuming trains exactly the units
after the cursor: with one worker, the result is bit-identical to an uninterrupted run.

Writing must not stall training: `CheckpointWriter.write` copies the matrices (a snapshot, at
memory speed) and writes the file from a background thread while training goes on; the next
write first waits for the previous one. Every write is atomic (formats.atomic_output).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

CHECKPOINT_VERSION = 1


def corpus_fingerprint(corpus_file) -> dict:
    """What identifies a corpus on disk: each file's resolved path, size and mtime (ns)."""
    from .corpus import corpus_files
    files = corpus_files(corpus_file)
    return {"files": [[str(Path(f).resolve()), os.stat(f).st_size, os.stat(f).st_mtime_ns] for f in files]}


def fingerprint_differences(saved: dict, current: dict) -> list[str]:
    """What differs between two fingerprints, in words (empty if they are the same corpus)."""
    a, b = saved.get("files", []), current.get("files", [])
    if len(a) != len(b):
        return [f"the checkpoint's corpus has {len(a)} file(s), this one {len(b)}"]
    out = []
    for (pa, sa, ma), (pb, sb, mb) in zip(a, b):
        if pa != pb:
            out.append(f"file {pb} is not {pa}")
        if sa != sb:
            out.append(f"{pb} has {sb} bytes, the checkpoint's corpus {sa}")
        elif ma != mb:
            out.append(f"{pb} was modified after the checkpoint's run read it")
    return out


class CheckpointWriter:
    """Writes checkpoints to one path from a background thread (see the module docstring)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.written = 0

    def write(self, arrays: dict, meta: dict) -> None:
        """Snapshot `arrays` now and write them with `meta` in the background."""
        self.wait()
        snapshot = {k: np.array(v, copy=True) for k, v in arrays.items()}
        self._thread = threading.Thread(target=self._write, args=(snapshot, meta), daemon=False,
                                        name="w2v-checkpoint")
        self._thread.start()

    def _write(self, arrays, meta):
        from .formats import atomic_output
        import json
        try:
            arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
            with atomic_output(self.path) as f:
                np.savez(f, **arrays)
            self.written += 1
        except BaseException as e:  # raised by the next wait()
            self._error = e

    def wait(self) -> None:
        """Wait for the write in progress; raise its error, if it had one."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            e, self._error = self._error, None
            raise e
