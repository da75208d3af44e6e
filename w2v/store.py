"""The corpus store: an encoded corpus on disk, trained on a block at a time.

A corpus in RAM costs 4 bytes per token for its ids (and 8 per sentence for its bounds), which
for the 1-10 billion tokens of a Wikipedia dump is more memory than a machine has. The store
writes the ids and sentence bounds once, to files in a cache directory, and training reads one
block of sentences at a time into each thread's reused buffers (`os.pread`, never a whole-file
memory map, whose resident pages would count in RSS): memory no longer grows with the corpus.

Layout of a store (a directory named by its key):

    header.json   version, key material (files, settings), sizes, the vocabulary's digest
    index.npz     per block: first sentence, first word, checksums of its ids and of its bounds;
                  the vocabulary (words in meta, counts) that the ids refer to
    ids.i32       int32 ids of the in-vocabulary tokens, corpus order
    bounds.i64    int64 sentence bounds (S + 1), global offsets into ids.i32

Blocks are runs of whole sentences of at least BLOCK_WORDS (1,000) words (the last one may be
shorter). Each epoch the plan (`w2v.plan`) puts the blocks in a new order, and each unit takes the
next BLOCKS_PER_UNIT (50) of them and shuffles their sentences together: reads stay sequential
within a block, a unit mixes text from 50 places of the corpus, and no whole-corpus permutation
or bounds array is ever held in RAM.

A store is built in a private directory beside its final place and renamed there when complete,
so a crash never leaves a half-written store where a later run would find it. On opening, sizes
are checked against the header; each block's checksums, sentence bounds and id range are checked
as it is read, before numba sees it: a damaged store raises DamagedFileError naming it.

A store found in the cache is verified whole (`verify`) before a run trains on any of it, unless
it is marked verified: once every block of a cached store has been read and checked (by `verify`
or by an epoch of training), `mark_verified` fsyncs its ids and bounds and then writes the marker
file `verified.json`. The marker says the files on disk are the ones that were checked, so a store
whose pages a crash never wrote back (they are not fsynced when built) is never marked; a marked
store skips the whole-store pass on later runs (0.3 of 0.37 s at 100M tokens, a 4 GB read at 1B),
and damage after that (a flipped bit on disk) is still caught by the block's check as it is read:
the run stops with DamagedFileError and the marker is removed, so that the next run verifies the
store, and rebuilds it.

The cache directory: `cache_dir=` / `-cache-dir`, else $W2V_CACHE_DIR, else the user cache
directory (platformdirs: ~/.cache/w2v on Linux). A corpus file changed since a store was built
(path, size, mtime, inode) gets another key: the stale store is never read, `w2v cache --clear`
frees it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import shutil
import stat
import struct
import threading
import time
import weakref
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numba import njit

from . import corpus as corpus_mod
from . import fastscan, shards
from .errors import DamagedFileError
from .fastscan import _FNV_OFFSET, _FNV_PRIME
from .formats import atomic_output, save_npz
from .plan import UNIT_WORDS, block_sentence_order
from .vocab import Vocab, id_remap

VERIFIED = "verified.json"  # a store's marker: its files were checked whole and fsynced (mark_verified)
STORE_VERSION = 2  # 2: 64-bit FNV-1a checksums per 1,000-word block (1: CRC-32 per 50,000 words)
# A unit trains BLOCKS_PER_UNIT blocks of BLOCK_WORDS words, taken from random places of the
# corpus, with their sentences shuffled together: UNIT_WORDS words, as an in-RAM corpus's units.
# Text from one place of the corpus per unit (one block of 50,000 or of 10,000 words) measured
# 0.011 lower analogy on SG-NS than the in-RAM shuffle; 50 blocks of 1,000 words per unit, none
# (docs/performance.md). The price: a block index of 24 bytes per 1,000 words in RAM (24 MB at
# 1B tokens) and 50 reads of ~4 KB per unit.
BLOCKS_PER_UNIT = 50
BLOCK_WORDS = UNIT_WORDS // BLOCKS_PER_UNIT
# ids read back from the first pass's spill at a time (2 MB): several windows are in flight
# between the encoding thread, the checksums and the writes
ENCODE_WINDOW = 1 << 19
_BUILDING = ".building-"


MODES = ("auto", "memory", "disk")
# corpus_store="auto" trains from a store on disk when the corpus files hold at least this much
# text (compressed files count AUTO_COMPRESSION times their size): about 23M English tokens,
# whose ids would take ~115 MB of RAM, as much as the runtime's own fixed cost (numba, ~120 MB).
# Below it, the ids cost less memory than the runtime, and a copy on disk would only add a pass.
AUTO_TEXT_BYTES = 128 << 20
AUTO_COMPRESSION = 3
# and an iterable (a list, a stream, -phrases' output) once it has yielded this many tokens
AUTO_ITERABLE_TOKENS = 24_000_000


def text_bytes(corpus_file) -> int | None:
    """Bytes of text in a corpus path (None when some file is compressed: unknown until read)."""
    files = corpus_mod.corpus_files(corpus_file)
    if any(str(f).endswith(corpus_mod.COMPRESSED_SUFFIXES) for f in files):
        return None
    return sum(os.path.getsize(f) for f in files)


def large_enough(corpus_file) -> bool:
    """corpus_store="auto"'s choice for a corpus path (AUTO_TEXT_BYTES)."""
    total = sum(os.path.getsize(f) * (AUTO_COMPRESSION if str(f).endswith(corpus_mod.COMPRESSED_SUFFIXES) else 1)
                for f in corpus_mod.corpus_files(corpus_file))
    return total >= AUTO_TEXT_BYTES


def default_cache_dir() -> Path:
    env = os.environ.get("W2V_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs
    return Path(platformdirs.user_cache_dir("w2v"))


def files_fingerprint(corpus_file) -> list:
    """[resolved path, size, mtime (ns), inode] of each file of a corpus path, in reading order."""
    return [[os.path.realpath(f), st.st_size, st.st_mtime_ns, st.st_ino]
            for f in corpus_mod.corpus_files(corpus_file) for st in [os.stat(f)]]


def vocab_digest(vocab: Vocab) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update("\n".join(vocab.index_to_key).encode("utf-8", "surrogatepass"))
    h.update(np.ascontiguousarray(vocab.counts, dtype=np.int64).data)
    return h.hexdigest()


def store_key(files: list, max_sentence_length: int, spec: dict) -> str:
    """The name of the store of these files read with these settings: spec says where the
    vocabulary comes from ({"min_count": ..., ...} for one counted from the corpus itself, or
    {"vocab": digest} for a given one)."""
    material = json.dumps({"version": STORE_VERSION, "files": files, "max_sentence_length": max_sentence_length,
                           "spec": spec}, sort_keys=True)
    return hashlib.blake2b(material.encode(), digest_size=12).hexdigest()


# ---------------------------------------------------------------------------------- writing
class _BackgroundWrites:
    """Writes buffers to files on one thread of its own, in the order given, so that the caller's
    compiled work (the encoding of the next window) and the writes (which release the GIL) run
    at once. At most `depth` buffers wait (a window of ids is 4 MB); an error of a write is
    raised by the next call."""

    def __init__(self, depth: int = 2):
        self._queue = queue.Queue(maxsize=depth)
        self._error = None
        self._thread = threading.Thread(target=self._run, name="w2v-store-writes", daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            f, buf = item
            if self._error is None:
                try:
                    f.write(buf)
                except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
                    self._error = e

    def write(self, f, buf):
        if self._error is not None:
            raise self._error
        self._queue.put((f, buf))

    def close(self):
        """Wait for every write; raise the first error."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


class StoreWriter:
    """Writes whole sentences (ids and lengths) into the files of a store being built, cutting
    blocks of at least block_words words. The file writes run on a thread of their own.

    ids_over: a file of int32 ids that the caller reads front to back while it adds them, never
    more ids than it has read (the first pass's spill, remapped and compacted): the ids are
    written over it and it becomes the store's ids file at finish(). Its pages are already in the
    page cache, where a new file needs as many new pages as the corpus has ids (4 bytes a token)."""

    def __init__(self, directory, block_words: int | None = None, ids_over: str | None = None):
        self.dir = Path(directory)
        self.block_words = int(BLOCK_WORDS if block_words is None else block_words)
        self.ids_over = ids_over
        self.f_ids = open(self.dir / "ids.i32", "wb") if ids_over is None else open(ids_over, "r+b")
        self.f_bounds = open(self.dir / "bounds.i64", "wb")
        self.f_bounds.write(np.zeros(1, dtype=np.int64).data)
        self.n_words = 0
        self.n_sentences = 0
        # per closed block: (its end sentence, its end word) and the checksums of its ids and bounds
        self.ends = np.zeros((1024, 2), dtype=np.int64)
        self.sums = np.zeros((1024, 2), dtype=np.uint64)
        self.n_blocks = 0
        self.open = np.array([0, _FNV_OFFSET, _FNV_OFFSET], dtype=np.uint64)  # the open block's words, sums
        self.writes = _BackgroundWrites()

    def add(self, ids: np.ndarray, lengths: np.ndarray, owned: bool = False):
        """Append sentences: ids (int32) are the concatenation of sentences of these lengths (>= 1).
        owned: the caller never writes to ids again, so they are written out without a copy."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if not lengths.shape[0]:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        bounds = np.cumsum(lengths)
        bounds += self.n_words
        self.writes.write(self.f_ids, ids.data if owned else ids.tobytes())
        self.writes.write(self.f_bounds, bounds.data)  # bounds is this call's own array
        room = self.n_blocks + ids.shape[0] // self.block_words + 2
        if room > self.ends.shape[0]:
            grow = max(room, 2 * self.ends.shape[0])
            self.ends = np.concatenate([self.ends[:self.n_blocks], np.zeros((grow - self.n_blocks, 2), np.int64)])
            self.sums = np.concatenate([self.sums[:self.n_blocks], np.zeros((grow - self.n_blocks, 2), np.uint64)])
        self.n_blocks = _index_blocks(ids, lengths, bounds, self.block_words, self.n_sentences, self.open,
                                      self.ends, self.sums, self.n_blocks)
        self.n_words += int(ids.shape[0])
        self.n_sentences += int(lengths.shape[0])

    def finish(self, vocab: Vocab, header: dict):
        """Close the last block, write the index and then the header (atomically, fsynced).

        The ids and bounds are not fsynced: a store is a cache of its corpus, and one whose files a
        crash left short or wrong fails its size and checksum checks when it is next opened
        (`open_cached` verifies a found store whole) and is built again. Their fsync cost 0.1 s of
        a 2 s first pass at 100M tokens here (400 MB of ids), and more on a slower disk; it comes
        later, in `mark_verified`, once an epoch has read the store (by then mostly written back)."""
        if self.open[0]:
            self.ends[self.n_blocks] = (self.n_sentences, self.n_words)
            self.sums[self.n_blocks] = self.open[1:]
            self.n_blocks += 1
        self.writes.close()
        self.f_ids.truncate(4 * self.n_words)
        for f in (self.f_ids, self.f_bounds):
            f.flush()
            f.close()
        if self.ids_over is not None:
            os.replace(self.ids_over, self.dir / "ids.i32")
        header = dict(header, version=STORE_VERSION, format="w2v.CorpusStore", n_words=self.n_words,
                      n_sentences=self.n_sentences, n_blocks=self.n_blocks, vocab_size=len(vocab),
                      vocab_digest=vocab_digest(vocab), block_words=self.block_words, created=time.time())
        save_npz(self.dir / "index.npz",
                 {"block_sents": np.concatenate([[0], self.ends[:self.n_blocks, 0]]).astype(np.int64),
                  "block_bounds": np.concatenate([[0], self.ends[:self.n_blocks, 1]]).astype(np.int64),
                  "block_sums": self.sums[:self.n_blocks].copy(),
                  "counts": np.asarray(vocab.counts, dtype=np.int64)},
                 {"format": "w2v.CorpusStore", "version": STORE_VERSION, "index_to_key": vocab.index_to_key})
        with atomic_output(self.dir / "header.json", "w") as f:
            json.dump(header, f)

    def abort(self):
        try:
            self.writes.close()
        except BaseException:  # noqa: BLE001 - aborting already: the first error is the caller's
            pass
        for f in (self.f_ids, self.f_bounds):
            f.close()


@njit(nogil=True, cache=True)
def checksum(a):
    """A 64-bit FNV-1a over the values of a (any integer array): any one changed value changes it."""
    h = _FNV_OFFSET
    for x in a:
        h = (h ^ np.uint64(x)) * _FNV_PRIME
    return h


@njit(nogil=True, cache=True)
def _index_blocks(ids, lengths, bounds, block_words, first_sentence, open_, ends, sums, n_blocks):
    """Close a block after each sentence that brings the open one to block_words words: record its
    end (sentence, word) and the checksums of its ids and of its bounds. open_: the open block's
    words and running checksums, carried from call to call. Returns the number of blocks."""
    words, h_bounds = open_[0], open_[2]
    # where each block closed, in ids: their checksums come after, several blocks at once
    cuts = np.empty(min(lengths.shape[0], ids.shape[0] // max(block_words, 1) + 1) + 2, dtype=np.int64)
    cuts[0] = 0
    n_cuts = 1
    first_block = n_blocks
    t = 0
    for j in range(lengths.shape[0]):
        t += lengths[j]
        h_bounds = (h_bounds ^ np.uint64(bounds[j])) * _FNV_PRIME
        words += np.uint64(lengths[j])
        if words >= block_words:
            ends[n_blocks, 0] = first_sentence + j + 1
            ends[n_blocks, 1] = bounds[j]
            sums[n_blocks, 1] = h_bounds
            n_blocks += 1
            cuts[n_cuts] = t
            n_cuts += 1
            words, h_bounds = np.uint64(0), _FNV_OFFSET
    cuts[n_cuts] = t
    # segment k is ids[cuts[k]:cuts[k + 1]]: the open block's continuation, the blocks begun
    # here, and the part of the block left open (maybe empty)
    hashes = np.empty(n_cuts, dtype=np.uint64)
    hashes[:] = _FNV_OFFSET
    hashes[0] = open_[1]
    _fnv_segments(ids, cuts, hashes)
    for k in range(n_cuts - 1):
        sums[first_block + k, 0] = hashes[k]
    open_[0], open_[1], open_[2] = words, hashes[n_cuts - 1], h_bounds
    return n_blocks


@njit(nogil=True, cache=True)
def _fnv_segments(values, cuts, hashes):
    """In place: hashes[k] <- its FNV-1a continued over values[cuts[k]:cuts[k + 1]], four segments
    at a time: each step of one hash waits for the multiply before it, four run side by side."""
    n = hashes.shape[0]
    k = 0
    while k + 4 <= n:
        s0, s1, s2, s3 = cuts[k], cuts[k + 1], cuts[k + 2], cuts[k + 3]
        common = min(cuts[k + 1] - s0, cuts[k + 2] - s1, cuts[k + 3] - s2, cuts[k + 4] - s3)
        h0, h1, h2, h3 = hashes[k], hashes[k + 1], hashes[k + 2], hashes[k + 3]
        for m in range(common):
            h0 = (h0 ^ np.uint64(values[s0 + m])) * _FNV_PRIME
            h1 = (h1 ^ np.uint64(values[s1 + m])) * _FNV_PRIME
            h2 = (h2 ^ np.uint64(values[s2 + m])) * _FNV_PRIME
            h3 = (h3 ^ np.uint64(values[s3 + m])) * _FNV_PRIME
        hashes[k], hashes[k + 1], hashes[k + 2], hashes[k + 3] = h0, h1, h2, h3
        for lane in range(4):
            h = hashes[k + lane]
            for i in range(cuts[k + lane] + common, cuts[k + lane + 1]):
                h = (h ^ np.uint64(values[i])) * _FNV_PRIME
            hashes[k + lane] = h
        k += 4
    for lane in range(k, n):
        h = hashes[lane]
        for i in range(cuts[lane], cuts[lane + 1]):
            h = (h ^ np.uint64(values[i])) * _FNV_PRIME
        hashes[lane] = h


# what a marker names of its store's header: a marker copied into another store does not match it
_MARKED = ("key", "n_words", "n_sentences", "n_blocks", "vocab_digest", "created")

def _marker_matches(path: Path, header: dict) -> bool:
    """Whether the store at path has a marker (mark_verified) naming this header."""
    try:
        with open(path / VERIFIED, encoding="utf-8") as f:
            marker = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and all(marker.get(k) == header.get(k) for k in _MARKED)


_ADVICE = ": delete it (w2v cache --clear) and run again"  # ends the DamagedFileError of a store
_PROBLEMS = {1: "checksum mismatch", 2: "sentence bounds out of order", 3: "a word id outside the vocabulary"}


@njit(nogil=True, cache=True)
def _first_bad_block(ids, bounds, block_bounds, block_sents, sums, v):
    """Of the consecutive blocks whose words are ids (from block_bounds[0]) and whose bounds are
    bounds (from sentence block_sents[0]), the first whose checksums, bounds or ids are wrong:
    (its index, what is wrong: a key of _PROBLEMS), or (-1, 0)."""
    w_base, s_base = block_bounds[0], block_sents[0]
    n_blocks = sums.shape[0]
    # every block's checksums first, four blocks side by side (one block's FNV waits on each
    # multiply): the same values as checksum() of each; verify of a 100M-token store 0.097 -> 0.084 s
    h_ids = np.full(n_blocks, _FNV_OFFSET, dtype=np.uint64)
    _fnv_segments(ids, block_bounds - w_base, h_ids)
    h_bounds = np.full(n_blocks, _FNV_OFFSET, dtype=np.uint64)
    _fnv_segments(bounds, block_sents - s_base + 1, h_bounds)
    for b in range(n_blocks):
        w0, w1 = block_bounds[b] - w_base, block_bounds[b + 1] - w_base
        s0, s1 = block_sents[b] - s_base, block_sents[b + 1] - s_base
        if h_ids[b] != sums[b, 0] or h_bounds[b] != sums[b, 1]:
            return b, 1
        if bounds[s0] != block_bounds[b] or bounds[s1] != block_bounds[b + 1]:
            return b, 2
        for k in range(s0, s1):
            if bounds[k + 1] <= bounds[k]:
                return b, 2
        for t in range(w0, w1):
            if ids[t] < 0 or ids[t] >= v:
                return b, 3
    return -1, 0


def _remap_window(raw, first, ranges, id_map):
    """In place: raw (tokens first.. of the spill, counters' local ids) <- their vocabulary ids
    (or -1), by fastscan's remapping over the spill's ranges clipped to this window."""
    end = first + raw.shape[0]
    window = ranges[np.searchsorted(ranges[:, 1], first, side="right"):
                    np.searchsorted(ranges[:, 0], end, side="left")].copy()
    window[:, 0] = np.maximum(window[:, 0], first) - first
    window[:, 1] = np.minimum(window[:, 1], end) - first
    fastscan._remap_ranges(raw, window, id_map)


@njit(nogil=True, cache=True)
def _compact(raw, n_raw, sent_len, n_sent, state, out_ids, out_lens):
    """Move the in-vocabulary ids of raw[state[0]:n_raw] to out_ids, sentence by sentence of
    sent_len[state[1]:n_sent] raw tokens, keeping each sentence's count of kept ids in out_lens
    when it is not empty. state: raw position, sentence position, raw tokens of the current
    sentence still to come (0: none begun), ids kept, ids of complete sentences, sentences kept.
    Returns when raw or sent_len runs out."""
    ri, si, rem, n_out, n_done, n_lens = state[0], state[1], state[2], state[3], state[4], state[5]
    while si < n_sent:
        if rem == 0:
            rem = sent_len[si]
        take = min(rem, n_raw - ri)
        for t in range(ri, ri + take):
            # written whether kept or not (a branch per token mispredicts on rare words)
            j = raw[t]
            out_ids[n_out] = j
            n_out += j >= 0
        ri += take
        rem -= take
        if rem > 0:
            break  # raw ran out mid-sentence
        si += 1
        if n_out > n_done:
            out_lens[n_lens] = n_out - n_done
            n_lens += 1
            n_done = n_out
    state[0], state[1], state[2], state[3], state[4], state[5] = ri, si, rem, n_out, n_done, n_lens


def _read_into(f, a: np.ndarray) -> int:
    """Fill a from file f; returns the number of items read."""
    got = f.readinto(memoryview(a).cast("B"))
    return got // a.itemsize


def encode_spill(spill: fastscan.Spill, remap: np.ndarray, max_sentence_length: int, writer: StoreWriter):
    """Write the corpus of a spilled first pass into a store, in vocabulary ids: remap[first-seen
    id] is the vocabulary id or -1 (dropped). Memory: a few windows of ids, whatever the corpus.

    A thread of its own reads, remaps and compacts the windows (`_encoded_windows`) while this
    one checksums the blocks of the previous window and the writer's thread writes them."""
    windows = _Ahead(_encoded_windows(spill, remap, max_sentence_length), name="w2v-store-encode")
    try:
        for ids, lengths in windows:
            writer.add(ids, lengths, owned=True)
    finally:
        windows.close()


def _encoded_windows(spill: fastscan.Spill, remap: np.ndarray, max_sentence_length: int):
    """(ids, sentence lengths) of whole sentences of the spill in vocabulary ids, a window after
    the other, each in arrays of its own (handed to the writer without a copy)."""
    values = spill.id_map.values
    final_map = spill.id_map._replace(values=np.where(values >= 0, remap[values], -1).astype(np.int32))
    raw = np.empty(ENCODE_WINDOW, dtype=np.int32)
    lines = np.empty(ENCODE_WINDOW // 8, dtype=np.int64)
    sent_len = np.empty(0, dtype=np.int64)
    out_ids = np.empty(ENCODE_WINDOW + max_sentence_length, dtype=np.int32)
    out_lens = np.empty(ENCODE_WINDOW // 8, dtype=np.int64)
    state = np.zeros(6, dtype=np.int64)
    first, n_raw, n_sent = 0, 0, 0
    raw_left, lines_left = spill.n_ids, spill.n_lines
    with open(spill.ids_path, "rb") as f_ids, open(spill.lines_path, "rb") as f_lines:
        while True:
            if state[0] == n_raw and raw_left:
                first += n_raw
                n_raw = _read_into(f_ids, raw[:min(raw_left, raw.shape[0])])
                if n_raw == 0:
                    raise DamagedFileError(f"first-pass spill file ended early: {spill.ids_path}")
                raw_left -= n_raw
                _remap_window(raw[:n_raw], first, spill.ranges, final_map)
                state[0] = 0
            while state[1] == n_sent and lines_left:
                k = _read_into(f_lines, lines[:min(lines_left, lines.shape[0])])
                if k == 0:
                    raise DamagedFileError(f"first-pass spill file ended early: {spill.lines_path}")
                lines_left -= k
                sent_len = np.diff(fastscan._sentence_bounds(lines[:k], max_sentence_length))
                n_sent = sent_len.shape[0]
                if n_sent > out_lens.shape[0]:  # a chunk with very long lines
                    out_lens = np.empty(n_sent, dtype=np.int64)
                state[1] = 0
            if state[1] == n_sent or state[0] == n_raw:
                break  # no sentence left, or no token left for the one begun
            _compact(raw, n_raw, sent_len, n_sent, state, out_ids, out_lens)
            done, n_lens = int(state[4]), int(state[5])
            tail = int(state[3]) - done  # ids of the sentence not yet complete
            if n_lens:
                # the next window's ids go to a new array, beginning with this one's tail
                full, out_ids = out_ids, np.empty_like(out_ids)
                out_ids[:tail] = full[done:done + tail]
                yield full[:done], out_lens[:n_lens].copy()
            else:
                out_ids[:tail] = out_ids[done:done + tail]
            state[3], state[4], state[5] = tail, 0, 0
    if state[1] != n_sent or lines_left or raw_left or state[0] != n_raw or state[2] or state[3]:
        raise DamagedFileError("the first pass's spill files disagree: its tokens and lines do not add up")


_AHEAD_END = object()


class _Ahead:
    """Iterates a generator on a thread of its own, at most `depth` items ahead of the caller; an
    error of the generator is raised in the caller. close() stops it (its `finally`s run)."""

    def __init__(self, items, depth: int = 1, name: str = "w2v-ahead"):
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def _run(self, items):
        try:
            with contextlib.closing(items):
                for item in items:
                    if not self._put((item, None)):
                        return
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            self._put((None, e))
            return
        self._put((_AHEAD_END, None))

    def __iter__(self):
        while True:
            item, error = self._queue.get()
            if error is not None:
                raise error
            if item is _AHEAD_END:
                return
            yield item

    def close(self):
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------------------------- reading
class CorpusStore:
    """An encoded corpus on disk (module docstring); the trainer sees `n_words`, `n_sentences`,
    `block_words` (int64 words per block) and `reader()`."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            with open(self.path / "header.json", encoding="utf-8") as f:
                self.header = json.load(f)
            with np.load(self.path / "index.npz", allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(bytes(arrays["meta"]).decode("utf-8"))
            h = self.header
            if h.get("format") != "w2v.CorpusStore" or h.get("version") != STORE_VERSION:
                raise ValueError(f"format {h.get('format')!r} version {h.get('version')!r}")
            self.n_words, self.n_sentences = int(h["n_words"]), int(h["n_sentences"])
            self.block_sents, self.block_bounds = arrays["block_sents"], arrays["block_bounds"]
            self.block_sums = arrays["block_sums"]
            words, counts = meta["index_to_key"], arrays["counts"]
            b = int(h["n_blocks"])
            block_words = h.get("block_words", UNIT_WORDS)
            if not (isinstance(block_words, int) and not isinstance(block_words, bool) and block_words >= 1):
                raise ValueError(f"block_words {block_words!r}")
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error, struct.error,
                NotImplementedError, RuntimeError) as e:
            # NotImplementedError: zipfile's "zip file version 17.3"; RuntimeError: its "File ... is
            # encrypted" (one flipped flag bit)
            raise DamagedFileError(f"damaged corpus store {self.path} ({e})" + _ADVICE) from None
        problems = []
        if not (self.block_sents.shape == self.block_bounds.shape == (b + 1,) and self.block_sums.shape == (b, 2)
                and self.block_sums.dtype == np.uint64):
            problems.append("its block index has the wrong shape")
        elif not (self.block_sents[0] == 0 and self.block_sents[-1] == self.n_sentences and
                  self.block_bounds[0] == 0 and self.block_bounds[-1] == self.n_words and
                  np.all(np.diff(self.block_sents) > 0) and np.all(np.diff(self.block_bounds) > 0)):
            problems.append("its block index is not increasing")
        if len(words) != counts.shape[0] or len(words) != h.get("vocab_size"):
            problems.append("its vocabulary has the wrong size")
        for name, size in (("ids.i32", 4 * self.n_words), ("bounds.i64", 8 * (self.n_sentences + 1))):
            try:
                actual = os.path.getsize(self.path / name)
            except OSError:
                actual = None
            if actual != size:
                problems.append(f"{name} has {actual} bytes where {size} are expected")
        if problems:
            raise DamagedFileError(f"damaged corpus store {self.path}: " + "; ".join(problems) + _ADVICE)
        self.vocab = Vocab(list(words), counts.astype(np.int64))
        if vocab_digest(self.vocab) != h.get("vocab_digest"):
            raise DamagedFileError(f"damaged corpus store {self.path}: its vocabulary does not match its "
                                   "header" + _ADVICE)
        self.block_words = np.diff(self.block_bounds)
        self.blocks_per_unit = max(1, round(UNIT_WORDS / block_words))
        # blocks read and found intact by this object's readers (set from several threads: only to True)
        self.checked = np.zeros(b, dtype=bool)
        self.verified = _marker_matches(self.path, self.header)

    @property
    def private(self) -> bool:
        """An iterable's or an in-RAM corpus's store, removed when this process is done with it."""
        return str(self.header.get("key", "")).startswith("iterable-")

    def mark_verified(self) -> bool:
        """Once every block has been read and checked and the store is a cached one: fsync its ids
        and bounds, then write the marker (atomically), so that open_cached trusts the files from
        now on without reading them whole. Returns whether the store is marked."""
        if self.verified or self.private or not self.checked.all():
            return self.verified
        try:
            for name in ("ids.i32", "bounds.i64"):
                fd = os.open(self.path / name, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            with atomic_output(self.path / VERIFIED, "w") as f:
                json.dump({k: self.header.get(k) for k in _MARKED}, f)
        except OSError:  # a read-only cache, a full disk: the store stays as it was, verified on each open
            return False
        self.verified = True
        return True

    def unmark(self):
        """Remove the marker (a block was found damaged): the next open verifies the store whole."""
        self.verified = False
        with contextlib.suppress(OSError):
            os.remove(self.path / VERIFIED)

    @property
    def n_blocks(self) -> int:
        return int(self.block_words.shape[0])

    def reader(self) -> "BlockReader":
        return BlockReader(self)

    @property
    def paths(self) -> list[str]:
        """The store's directories (one; a ShardedStore has one per part)."""
        return [str(self.path)]

    def verify(self, window_words: int = 1 << 22, workers: int = 2) -> None:
        """Read every block once and check it as training would (DamagedFileError on the first
        damaged one): a store found in the cache is checked before a run trains on any of it.
        Reads runs of blocks of about window_words words, one compiled call (which releases the
        GIL) checking each run, on `workers` threads over halves of the store."""
        n = self.n_blocks
        parts = [(n * k // workers, n * (k + 1) // workers) for k in range(max(1, workers))]
        parts = [p for p in parts if p[1] > p[0]]
        if len(parts) == 1:
            self._verify_range(*parts[0], window_words)
            return
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(len(parts)) as pool:
            for f in [pool.submit(self._verify_range, g0, g1, window_words) for g0, g1 in parts]:
                f.result()

    def _verify_range(self, g0: int, end: int, window_words: int) -> None:
        read = BlockReader(self)
        while g0 < end:
            g1 = int(np.searchsorted(self.block_bounds, self.block_bounds[g0] + window_words, side="right")) - 1
            g1 = min(max(g1, g0 + 1), end)
            read.read_blocks(g0, g1)
            g0 = g1

    def fingerprint(self) -> dict:
        """What identifies the encoded corpus (for checkpoints): sizes and a hash of the block
        checksums and the vocabulary, read from the index (no pass over the ids)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(self.block_sums).data)
        h.update(np.ascontiguousarray(self.block_bounds).data)
        h.update(self.header["vocab_digest"].encode())
        return {"n_words": self.n_words, "n_sentences": self.n_sentences, "hash": "store:" + h.hexdigest()}

    def to_memory(self):
        """The whole corpus as an EncodedCorpus in RAM (tests, small stores)."""
        from .vocab import EncodedCorpus
        return EncodedCorpus(np.fromfile(self.path / "ids.i32", dtype=np.int32),
                             np.fromfile(self.path / "bounds.i64", dtype=np.int64))


class BlockReader:
    """One thread's reader: the ids, bounds (from 0) and sentence order of a unit's block, in
    buffers reused from unit to unit, checked before they are returned."""

    def __init__(self, store: CorpusStore):
        self.store = store
        self.fd_ids = os.open(store.path / "ids.i32", os.O_RDONLY)
        self.fd_bounds = os.open(store.path / "bounds.i64", os.O_RDONLY)
        self.ids = np.empty(0, dtype=np.int32)
        self.bounds = np.empty(0, dtype=np.int64)
        self.v = len(store.vocab)

    def __del__(self):
        for fd in (getattr(self, "fd_ids", None), getattr(self, "fd_bounds", None)):
            if fd is not None:
                os.close(fd)

    def _pread(self, fd, a: np.ndarray, offset: int):
        view = memoryview(a).cast("B")
        got = 0
        while got < len(view):
            k = os.preadv(fd, [view[got:]], offset + got)
            if k == 0:
                break
            got += k
        return got == len(view)

    def __call__(self, unit):
        """The unit's blocks one after the other: ids, bounds (from 0), and its sentence order."""
        s = self.store
        blocks = unit.blocks
        n_words = int(s.block_words[blocks].sum())
        n_sents = int((s.block_sents[blocks + 1] - s.block_sents[blocks]).sum())
        self._room(n_words, n_sents)
        w, k = 0, 0
        for b in blocks.tolist():
            ids, bounds = self.read_blocks(b, b + 1, w, k)
            w += ids.shape[0]
            k += bounds.shape[0] - 1
        ids, bounds = self.ids[:n_words], self.bounds[:n_sents + 1]
        return ids, bounds, block_sentence_order(n_sents, unit.seed, unit.shuffle)

    def _room(self, n_words, n_sents):
        if self.ids.shape[0] < n_words:
            self.ids = np.empty(n_words, dtype=np.int32)
        if self.bounds.shape[0] < n_sents + 1:
            self.bounds = np.empty(n_sents + 1, dtype=np.int64)

    def read_blocks(self, g0: int, g1: int, at_word: int = 0, at_sent: int = 0):
        """Blocks g0..g1-1 (consecutive in the files) read into the buffers at word at_word and
        sentence at_sent, and checked (DamagedFileError naming the first damaged block); returns
        their ids and bounds, the bounds rebased to start at at_word."""
        s = self.store
        w0, w1 = int(s.block_bounds[g0]), int(s.block_bounds[g1])
        s0, s1 = int(s.block_sents[g0]), int(s.block_sents[g1])
        self._room(at_word + w1 - w0, at_sent + s1 - s0)
        ids, bounds = self.ids[at_word:at_word + w1 - w0], self.bounds[at_sent:at_sent + s1 - s0 + 1]
        if not (self._pread(self.fd_ids, ids, 4 * w0) and self._pread(self.fd_bounds, bounds, 8 * s0)):
            where, problem = (f"block {g0}" if g1 == g0 + 1 else f"blocks {g0}-{g1 - 1}",
                              "a file is shorter than its index says")
        else:
            bad, why = _first_bad_block(ids, bounds, s.block_bounds[g0:g1 + 1], s.block_sents[g0:g1 + 1],
                                        s.block_sums[g0:g1], self.v)
            where, problem = (f"block {g0 + bad}", _PROBLEMS[why]) if bad >= 0 else (None, None)
        if problem is not None:
            s.unmark()
            raise DamagedFileError(f"damaged corpus store {s.path}: {where}: {problem}" + _ADVICE)
        s.checked[g0:g1] = True
        bounds += at_word - w0
        return ids, bounds


class ShardedStore:
    """Corpus stores of the shards of one corpus (each encoded by the Dask worker that read it, in
    the same vocabulary) seen as one store: blocks numbered across the parts, in shard order."""

    def __init__(self, parts: list):
        if not parts:
            raise ValueError("a sharded store needs at least one part")
        digests = {p.header["vocab_digest"] for p in parts}
        if len(digests) != 1:
            raise ValueError("the parts of a sharded store were encoded in different vocabularies")
        self.parts = parts
        self.vocab = parts[0].vocab
        self.header = {"vocab_digest": parts[0].header["vocab_digest"]}
        self.block_words = np.concatenate([p.block_words for p in parts])
        self.first_block = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([p.n_blocks for p in parts], out=self.first_block[1:])
        self.blocks_per_unit = parts[0].blocks_per_unit
        self.n_words = sum(p.n_words for p in parts)
        self.n_sentences = sum(p.n_sentences for p in parts)
        self.path = parts[0].path.parent

    @property
    def n_blocks(self) -> int:
        return int(self.first_block[-1])

    @property
    def paths(self) -> list[str]:
        return [str(p.path) for p in self.parts]

    def reader(self) -> "_ShardedReader":
        return _ShardedReader(self)

    def verify(self, window_words: int = 1 << 22, workers: int = 2) -> None:
        for p in self.parts:
            p.verify(window_words, workers)

    def mark_verified(self) -> bool:
        return all([p.mark_verified() for p in self.parts])

    def fingerprint(self) -> dict:
        h = hashlib.blake2b(digest_size=16)
        for p in self.parts:
            h.update(p.fingerprint()["hash"].encode())
        return {"n_words": self.n_words, "n_sentences": self.n_sentences, "hash": "store:" + h.hexdigest()}

    def to_memory(self):
        from .vocab import EncodedCorpus
        mem = [p.to_memory() for p in self.parts]
        ids = np.concatenate([m.ids for m in mem])
        offsets = np.cumsum([0] + [m.n_words for m in mem[:-1]])
        bounds = np.concatenate([mem[0].bounds[:1]] + [m.bounds[1:] + o for m, o in zip(mem, offsets)])
        return EncodedCorpus(ids, bounds)


class _ShardedReader:
    """BlockReader over a ShardedStore: each block read by its part's reader, gathered in buffers
    of its own."""

    def __init__(self, store: ShardedStore):
        self.store = store
        self.readers = [p.reader() for p in store.parts]
        self.ids = np.empty(0, dtype=np.int32)
        self.bounds = np.zeros(1, dtype=np.int64)

    def __call__(self, unit):
        s = self.store
        part_of = np.searchsorted(s.first_block, unit.blocks, side="right") - 1
        pieces = []
        for b, k in zip(unit.blocks.tolist(), part_of.tolist()):
            local = b - int(s.first_block[k])
            ids, bounds = self.readers[k].read_blocks(local, local + 1)
            pieces.append((ids.copy(), bounds.copy()))
        n_words = sum(i.shape[0] for i, _ in pieces)
        n_sents = sum(b.shape[0] - 1 for _, b in pieces)
        if self.ids.shape[0] < n_words:
            self.ids = np.empty(n_words, dtype=np.int32)
        if self.bounds.shape[0] < n_sents + 1:
            self.bounds = np.zeros(n_sents + 1, dtype=np.int64)
        w, k = 0, 0
        for ids, bounds in pieces:
            self.ids[w:w + ids.shape[0]] = ids
            self.bounds[k:k + bounds.shape[0]] = bounds + w
            w += ids.shape[0]
            k += bounds.shape[0] - 1
        return self.ids[:n_words], self.bounds[:n_sents + 1], block_sentence_order(n_sents, unit.seed, unit.shuffle)


def open_parts(paths):
    """A CorpusStore of one directory, or a ShardedStore of several."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if len(paths) == 1:
        return CorpusStore(paths[0])
    return ShardedStore([CorpusStore(p) for p in paths])


# ---------------------------------------------------------------------------------- the cache
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# the names w2v gives the directories of a cache: a store's key, or a private store's, maybe
# followed by a build's suffix. Nothing else under a cache directory is ever listed or removed
# (a cache_dir given by mistake, say a home directory, loses nothing to `w2v cache --clear`).
_STORE_NAME = re.compile(r"(?:[0-9a-f]{24}|iterable-[0-9]+-[0-9a-f]{12})(?:\.building-[0-9]+-[0-9]+)?")


def _is_ours(p: Path) -> bool:
    return p.is_dir() and not p.is_symlink() and _STORE_NAME.fullmatch(p.name) is not None


def _owner(p: Path) -> int | None:
    """The pid of the process a build or an iterable's store belongs to, None for a cached store."""
    if not _is_ours(p):
        return None
    if _BUILDING in p.name or p.name.startswith("iterable-"):
        try:
            return int(p.name.split(_BUILDING)[-1].rsplit("-", 2)[-2] if _BUILDING in p.name
                       else p.name.split("-")[1])
        except (ValueError, IndexError):
            return None
    return None


def _remove_stale_builds(cache_dir: Path):
    for p in cache_dir.iterdir():
        pid = _owner(p)
        if pid is not None and not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def _building_dir(cache_dir: Path, key: str) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(cache_dir)
    d = cache_dir / f"{key}{_BUILDING}{os.getpid()}-{time.monotonic_ns() % 10**9}"
    d.mkdir()
    return d


def _install(building: Path, final: Path) -> CorpusStore:
    """Move a complete store into place (another process may have been faster: then use its)."""
    if final.exists():
        try:
            found = CorpusStore(final)  # another process built the same store meanwhile
            shutil.rmtree(building, ignore_errors=True)
            return found
        except DamagedFileError:
            shutil.rmtree(final, ignore_errors=True)
    try:
        os.rename(building, final)
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
    return CorpusStore(final)


def open_cached(cache_dir, key: str, logger=None, vocab: str | None = None) -> CorpusStore | None:
    """The complete store of this key, checked block by block, or None; a damaged one is deleted
    (and None returned). vocab: the digest its vocabulary must have (else None, unread)."""
    final = Path(cache_dir) / key
    if not (final / "header.json").exists():
        return None
    try:
        found = CorpusStore(final)
        if vocab is not None and found.header.get("vocab_digest") != vocab:
            return None
        if not found.verified:
            found.verify()
        return found
    except DamagedFileError as e:
        if logger is not None:  # the error's advice (delete it, run again) is what happens here
            logger.warning("%s: rebuilding it", str(e).split(_ADVICE)[0])
        shutil.rmtree(final, ignore_errors=True)
        return None


def build_from_files(cache_dir, corpus_file, max_sentence_length: int, spec: dict, make_vocab, *,
                     progress=None, logger=None, **scan_options) -> CorpusStore:
    """The store of a corpus file (or directory) under cache_dir: reused when a complete one with
    the same files, settings and spec exists, else built with one compiled pass (fastscan) whose
    ids go to disk as they are read. make_vocab(words, counts) -> Vocab decides the vocabulary
    from the pass's first-seen words and counts. scan_options: fastscan.scan_files's block_bytes,
    workers."""
    files = files_fingerprint(corpus_file)
    # a FIFO or a device: its size and mtime say nothing of what it will yield (and a writer moves
    # the mtime), so its store is never looked up in the cache nor left there: private, as an iterable's
    one_pass = not all(stat.S_ISREG(os.stat(f[0]).st_mode) for f in files)

    def unchanged():
        if not one_pass and files != files_fingerprint(corpus_file):
            raise ValueError(f"the corpus {corpus_file} changed while it was being read: run again")
    return _build(cache_dir, [f[0] for f in files], files, unchanged, one_pass, max_sentence_length, spec,
                  make_vocab, progress, logger, scan_options)


def build_from_shard(cache_dir, shard, fingerprint: list, max_sentence_length: int, spec: dict, make_vocab, *,
                     progress=None, logger=None, **scan_options) -> CorpusStore:
    """The store of one shard of a corpus (`shards.Shard`: a file, a URL, the lines of a byte range
    of a file) under cache_dir, as build_from_files: keyed by `fingerprint` (shards.plan's, taken
    by the driver), which the file must still match before and after the pass."""
    shard = shards.Shard(*shard)
    shards.check_unchanged(shard, fingerprint)
    return _build(cache_dir, [shard], [list(fingerprint)], lambda: shards.check_unchanged(shard, fingerprint),
                  False, max_sentence_length, spec, make_vocab, progress, logger, scan_options)


def _build(cache_dir, sources, files, unchanged, one_pass, max_sentence_length, spec, make_vocab, progress,
           logger, scan_options) -> CorpusStore:
    """build_from_files / build_from_shard: `sources` read by fastscan, `files` their key material,
    unchanged() raises if they changed while read."""
    cache_dir = Path(cache_dir)
    key = f"iterable-{os.getpid()}-{os.urandom(6).hex()}" if one_pass else \
        store_key(files, max_sentence_length, spec)
    found = None if one_pass else open_cached(cache_dir, key, logger)
    if found is not None:
        return found
    building = _building_dir(cache_dir, key)
    try:
        scan = fastscan.scan_files(sources, max_sentence_length, spill_dir=building, progress=progress,
                                   **scan_options)
        vocab = make_vocab(scan.words, scan.counts)
        writer = _encoded_into(building, scan, vocab, max_sentence_length)
        unchanged()
        writer.finish(vocab, {"files": files, "max_sentence_length": max_sentence_length, "spec": spec,
                              "key": key})
        if one_pass:
            os.rename(building, cache_dir / key)
            found = CorpusStore(cache_dir / key)
            weakref.finalize(found, shutil.rmtree, str(cache_dir / key), True)
            return found
        return _install(building, cache_dir / key)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _encoded_into(building: Path, scan, vocab: Vocab, max_sentence_length: int) -> StoreWriter:
    """Encode a spilled scan (in `building`) into a store there, in vocab's ids: its ids file
    becomes the store's (written over, renamed by finish()), its lines file is removed. Returns
    the writer, to finish."""
    remap = id_remap(scan.words, vocab)
    # the spill's ids are read ahead of their compacted remapping, which is written over them
    writer = StoreWriter(building, ids_over=scan.spill.ids_path)
    try:
        encode_spill(scan.spill, remap, max_sentence_length, writer)
    except BaseException:
        writer.abort()
        raise
    os.remove(scan.spill.lines_path)
    if writer.n_words == 0:
        writer.abort()
        raise ValueError("the corpus has no words of the vocabulary")
    return writer


class SpillDirs:
    """For a one-pass scan of an iterable (vocab.scan_iterable's spill_dir): makes the private
    directory of a store that only this process will use (not a cache: an iterable has no key),
    removed when the store object is garbage collected or the process exits."""

    def __init__(self, cache_dir):
        self.cache_dir = Path(cache_dir)
        self.key = f"iterable-{os.getpid()}-{os.urandom(6).hex()}"
        self.building: Path | None = None

    def __call__(self) -> str:
        self.building = _building_dir(self.cache_dir, self.key)
        return str(self.building)

    def discard(self):
        if self.building is not None:
            shutil.rmtree(self.building, ignore_errors=True)

    def store(self, scan, vocab: Vocab, max_sentence_length: int) -> CorpusStore:
        """The store of a spilled scan, in vocab's ids."""
        return self._private(lambda: _encoded_into(self.building, scan, vocab, max_sentence_length), vocab,
                             max_sentence_length, {"iterable": True})

    def _private(self, write, vocab: Vocab, max_sentence_length: int, spec: dict) -> CorpusStore:
        """Finish the writer that write() fills in the building directory and install it as this
        process' private store, removed with the store object (or at exit)."""
        try:
            writer = write()
            writer.finish(vocab, {"files": [], "max_sentence_length": max_sentence_length, "spec": spec,
                                  "key": self.key, "pid": os.getpid()})
            final = self.cache_dir / self.key
            os.rename(self.building, final)
        except BaseException:
            self.discard()
            raise
        found = CorpusStore(final)
        weakref.finalize(found, shutil.rmtree, str(final), True)
        return found


def private_store(cache_dir, corpus, vocab: Vocab) -> CorpusStore:
    """A store of an EncodedCorpus in RAM that only this process uses (the Dask backend's workers
    read a store, not this process' RAM), removed when the store object is garbage collected or
    the process exits."""
    dirs = SpillDirs(cache_dir)
    building = dirs()

    def write():
        writer = StoreWriter(building)
        writer.add(corpus.ids, np.diff(corpus.bounds))
        return writer
    return dirs._private(write, vocab, 0, {"in_memory": True})


def write_encoded(cache_dir, key: str, corpus, vocab: Vocab, header: dict) -> CorpusStore:
    """A store of an EncodedCorpus already in RAM (an iterable's, a pruned pass's)."""
    cache_dir = Path(cache_dir)
    building = _building_dir(cache_dir, key)
    try:
        writer = StoreWriter(building)
        writer.add(corpus.ids, np.diff(corpus.bounds))
        writer.finish(vocab, dict(header, key=key))
        return _install(building, cache_dir / key)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def list_stores(cache_dir) -> list[dict]:
    """Each store under cache_dir: its header plus path and bytes on disk."""
    cache_dir = Path(cache_dir)
    out = []
    if not cache_dir.is_dir():
        return out
    for p in sorted(cache_dir.iterdir()):
        if not _is_ours(p):
            continue
        size = sum(f.stat().st_size for f in p.iterdir() if f.is_file())
        try:
            with open(p / "header.json", encoding="utf-8") as f:
                header = json.load(f)
        except (OSError, ValueError):
            header = {}
        out.append(dict(header, path=str(p), bytes=size, building=_BUILDING in p.name,
                        verified=_marker_matches(p, header)))
    return out


def clear(cache_dir) -> tuple[int, int]:
    """Delete every store (and abandoned build) under cache_dir; returns (stores, bytes) freed.
    Builds of running processes are left alone."""
    n = freed = 0
    for entry in list_stores(cache_dir):
        p = Path(entry["path"])
        pid = _owner(p)
        if pid is not None and _pid_alive(pid):
            continue
        shutil.rmtree(p, ignore_errors=True)
        n += 1
        freed += entry["bytes"]
    return n, freed
