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

import hashlib
import os
import threading
from pathlib import Path

import numpy as np

CHECKPOINT_VERSION = 1


def corpus_fingerprint(corpus, corpus_file=None) -> dict:
    """What identifies the encoded corpus a run trains on: its size and a hash of its ids and
    sentence bounds (blake2b, about 1 GB/s), and, for a file or directory, each file's resolved
    path, size and mtime (ns), to say what changed when the hash differs."""
    if hasattr(corpus, "fingerprint"):  # a corpus store: from its index, without a pass over the ids
        out = corpus.fingerprint()
    else:
        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(corpus.ids).data)
        h.update(np.ascontiguousarray(corpus.bounds).data)
        out = {"n_words": corpus.n_words, "n_sentences": corpus.n_sentences, "hash": h.hexdigest()}
    if corpus_file is not None:
        from . import shards
        if shards.is_url(corpus_file):  # [url, size, version]: read by Dask workers through fsspec
            out["files"] = [shards.file_fingerprint(f) for f in shards.list_files(corpus_file)]
            return out
        from .corpus import corpus_files
        out["files"] = [[str(Path(f).resolve()), os.stat(f).st_size, os.stat(f).st_mtime_ns]
                        for f in corpus_files(corpus_file)]
    return out


def corpus_differences(saved: dict, current: dict) -> list[str]:
    """What differs between the checkpoint's corpus and this one, in words; empty if they encode to
    the same ids (the same corpus, wherever its file now lies)."""
    if saved.get("hash") == current.get("hash"):
        return []
    if str(saved.get("hash")).startswith("store:") != str(current.get("hash")).startswith("store:"):
        # a store's plan shuffles blocks, an in-RAM corpus's sentences: not the same units
        where = lambda h: "a corpus store on disk" if str(h).startswith("store:") else "a corpus in memory"
        return [f"the checkpoint's run trained on {where(saved.get('hash'))}, this one on "
                f"{where(current.get('hash'))} (give the same corpus_store= setting)"]
    out = [f"{current[k]} {k[2:]} where the checkpoint's corpus had {saved.get(k)}"
           for k in ("n_words", "n_sentences") if saved.get(k) != current[k]]
    a, b = saved.get("files") or [], current.get("files") or []
    if len(a) != len(b):
        out.append(f"{len(b)} file(s) where the checkpoint's corpus had {len(a)}")
    for (pa, sa, ma), (pb, sb, mb) in zip(a, b):
        if pa != pb:
            out.append(f"file {pb} where the checkpoint's corpus had {pa}")
        if sa != sb:
            out.append(f"{pb} has {sb} bytes where the checkpoint's corpus had {sa}")
        elif ma != mb:
            out.append(f"{pb} was modified after the checkpoint's run read it")
    return out or ["the words differ (same size, another content)"]


class CheckpointWriter:
    """Writes checkpoints to one path from a background thread (see the module docstring)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def write(self, arrays: dict, meta: dict) -> None:
        """Snapshot `arrays` now and write them with `meta` in the background."""
        self.wait()
        snapshot = {k: np.array(v, copy=True) for k, v in arrays.items()}
        self._thread = threading.Thread(target=self._write, args=(snapshot, meta), daemon=False,
                                        name="w2v-checkpoint")
        self._thread.start()

    def _write(self, arrays, meta):
        from .formats import save_npz
        try:
            save_npz(self.path, arrays, meta)
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
