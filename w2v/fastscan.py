"""The compiled first pass over corpus files: tokenize, count and encode bytes on every core.

It gives exactly what `vocab.scan` gives when it reads the same files through
`corpus.iter_file_sentences` in Python (words in order of first appearance, their counts, the
corpus in those ids, sentence bounds), at several times the speed:

- Tokens are split on the bytes of every character `str.split()` treats as whitespace: the ten
  ASCII ones (space, \\t, \\n, \\v, \\f, \\r, \\x1c-\\x1f) and the UTF-8 encodings of U+0085,
  U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. Whatever the bytes
  around them, those sequences always decode to those characters (their lead bytes are never
  continuation bytes), and ASCII bytes always decode to themselves, so splitting bytes and
  decoding each distinct token once with errors="replace" gives the same words as decoding the
  stream and splitting the text. Only \\n ends a line, as in `corpus.iter_file_sentences`.
- Distinct byte strings that decode to the same word (two different invalid bytes both become
  U+FFFD) are merged after decoding.
- The file is read in blocks by a reader thread (which also decompresses .gz/.bz2: zlib and bz2
  release the GIL), each block is cut after its last ASCII whitespace byte (the rest is carried
  to the next block, so no token or multi-byte character is ever cut), and the block is split
  at ASCII whitespace into one piece per worker. Each worker thread counts its pieces into its
  own hash table with a nogil numba function; the tables are merged at the end and words are
  numbered by the stream offset of their first occurrence, which is first-seen order. Within a
  token the function reads 8 bytes at a time, looking up only bytes <= 0x20 or >= 0x80 (the
  only ones that can start whitespace).
- A worker records token counts per line segment (a piece's lines, its first and last ones
  maybe partial); segments are joined into lines, and lines are split into sentences of at most
  `max_sentence_length` tokens at the end, so long lines may span blocks and pieces.

Pruning (max_vocab_size): the workers' tables hold at most max_vocab_size words together (each
worker an equal share). A new word that finds its worker's table full first makes it forget the
words counted at most min_reduce times there, min_reduce starting at 1 and rising by one after
each prune, until there is room: word2vec.c's ReduceVocab, in each table on its own. Unlike
word2vec.c, what a table forgets is not lost: each forgotten word's bytes, count and id are set
aside (to spill_dir when there is one, so that memory stays bounded), and at the end a word that
some table still holds gets them back. So:

- every word of the result has its exact count in the corpus, and all its tokens are encoded;
- a word is missing (its tokens are id -1, out of vocabulary) only if no table held it at the
  end, which needs every prune that forgot it to have found it counted at most min_reduce times
  in that table since it last came in: a word counted more than `FileScan.max_forgotten` (the
  sum of the thresholds of the prunes that forgot something) times is always kept.

Which rare words are kept depends on the order in which each table sees its words, so on the
number of workers and the block size: a serial pass (`vocab.scan_iterable`, word2vec.c)
may keep others. Without pruning the result is the serial pass's, whatever the workers.
"""
from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.core.extending import intrinsic

from . import corpus as corpus_mod
from .corpus import MAX_SENTENCE_LENGTH, open_binary
from .shards import Shard, open_shard, text_bytes_hint

BLOCK_BYTES = 8 << 20
# with a spill_dir: ids and line counts held before they are written out (2 MB and 2 MB; the
# ids in two buffers, one filled while the other is written), and the read size (3 blocks are
# alive: the one read, the one counted, one spare). 2 MB blocks rather than 1 MB: half the
# hand-offs between threads, 0.3-0.4 s less at 100M tokens on 2 busy cores
SPILL_IDS = 1 << 19
SPILL_LINES = 1 << 18
SPILL_BLOCK_BYTES = 1 << 21
# below this a block is counted on the calling thread, piece after piece: handing pieces to
# threads costs more than it saves
PARALLEL_MIN_BYTES = 1 << 16

TOKEN, LEAD, SPACE, NEWLINE = 0, 1, 2, 3          # byte classes: >= SPACE ends a token
DONE, GROW_WORDS, GROW_BYTES, GROW_LINES, PRUNE, TOO_MANY_IDS = 0, 1, 2, 3, 4, 5
NO_LIMIT = 1 << 62
# a worker's ids are int32: with pruning, words that come back after being forgotten take new ids
MAX_IDS = (1 << 31) - 1

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)


class Syntax(NamedTuple):
    """What separates tokens, as byte tables (read-only).

    byte_class: uint8 (256,) TOKEN, SPACE (ASCII whitespace but \\n), NEWLINE, or LEAD (first
    byte of a multi-byte whitespace character); spaces: uint8 (P, 3) the UTF-8 bytes of the
    multi-byte whitespace characters sorted, space_len: int64 (P,) their lengths;
    lead_first: int64 (257,) the rows of `spaces` starting with byte b are
    lead_first[b]:lead_first[b + 1].
    """
    byte_class: np.ndarray
    spaces: np.ndarray
    space_len: np.ndarray
    lead_first: np.ndarray


def make_syntax() -> Syntax:
    """The byte tables of `str.split()`'s whitespace in this Python."""
    chars = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    ascii_space = [ord(c) for c in chars if ord(c) < 0x80]
    multi = sorted(c.encode("utf-8") for c in chars if ord(c) >= 0x80)
    byte_class = np.full(256, TOKEN, dtype=np.uint8)
    byte_class[ascii_space] = SPACE
    byte_class[ord("\n")] = NEWLINE
    spaces = np.zeros((len(multi), 3), dtype=np.uint8)
    space_len = np.zeros(len(multi), dtype=np.int64)
    lead_first = np.zeros(257, dtype=np.int64)
    for k, seq in enumerate(multi):
        assert len(seq) <= 3
        spaces[k, :len(seq)] = list(seq)
        space_len[k] = len(seq)
        byte_class[seq[0]] = LEAD
        lead_first[seq[0] + 1:] = k + 1
    return Syntax(byte_class, spaces, space_len, lead_first)


SYNTAX = make_syntax()


@njit(nogil=True, cache=True, inline="always")
def _space_len(buf, i, end, syntax):
    """Length of the multi-byte whitespace character at buf[i] (LEAD byte), 0 if none."""
    lead = buf[i]
    for k in range(syntax.lead_first[lead], syntax.lead_first[lead + 1]):
        n = syntax.space_len[k]
        if i + n <= end:
            same = True
            for m in range(1, n):
                if buf[i + m] != syntax.spaces[k, m]:
                    same = False
                    break
            if same:
                return n
    return 0


SHORT = 8  # words of at most 8 bytes are their own key: no byte comparison needed
_EMPTY = 0


@njit(nogil=True, cache=True)
def _table_bits(slots):
    bits = 0
    while (1 << bits) < slots.shape[0]:
        bits += 1
    return bits


@njit(nogil=True, cache=True, inline="always")
def _key(buf, i, j):
    """The table key of the word buf[i:j] (see `_find`)."""
    if j - i <= SHORT:
        key = np.uint64(0)
        for m in range(j - 1, i - 1, -1):
            key = (key << np.uint64(8)) | np.uint64(buf[m])
        return key
    key = _FNV_OFFSET
    for m in range(i, j):
        key = (key ^ np.uint64(buf[m])) * _FNV_PRIME
    return key


_BELOW_SPACE = np.uint64(0x2121212121212121)
_HIGH_BITS = np.uint64(0x8080808080808080)
_ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)
_BYTE_INDEX = np.uint64(0x0001020304050607)


def wide(buf):
    """The whole 8-byte words of buf as uint64 (little-endian: byte k of a word is buf[8a + k])."""
    return buf[:buf.shape[0] & ~7].view(np.uint64)


@njit(nogil=True, cache=True)
def _load64(buf64, p):
    """The 8 bytes from byte p (p + 16 <= 8 * buf64.shape[0]), byte p lowest."""
    a = p >> 3
    s = np.uint64((p & 7) * 8)
    # no branch for p % 8 == 0 (then the second word shifts out whole): at random offsets it
    # mispredicted often enough to cost 5% of the count
    return (buf64[a] >> s) | ((buf64[a + 1] << np.uint64(1)) << (np.uint64(63) - s))


@njit(nogil=True, cache=True)
def _first_flag(flags):
    """The index of the lowest byte of flags (only high bits set, not 0) that is set."""
    lowest = flags & (~flags + np.uint64(1))
    return np.int64(((lowest >> np.uint64(7)) * _BYTE_INDEX) >> np.uint64(56))


@njit(nogil=True, cache=True, inline="always")
def _home_slot(key, length, shift):
    h = (key ^ np.uint64(length)) * _FIBONACCI
    h ^= h >> np.uint64(29)
    h *= _MIX
    return np.int64(h >> shift)


@njit(nogil=True, cache=True, inline="always")
def _find(slots, shift, key, length, meta, word_bytes, src, src_off):
    """(slot, row) of the word with this key and length whose bytes are src[src_off:...], or
    (the empty slot where it goes, -1).

    slots: int64 (2^k, 4) open addressing with linear probing: [key, length << 32 | row + 1,
    count, id], column 1 is 0 when empty; the count and the id the tokens are written as sit
    beside the key so that counting a token touches one cache line. The id is the row unless
    the table was pruned (`_prune`), which moves rows but keeps ids. key: the word's bytes
    packed little-endian if it has at most SHORT bytes, else a hash of them (then the bytes are
    compared too).
    """
    return _find_from(slots, _home_slot(key, length, shift), key, length, meta, word_bytes, src, src_off)


@njit(nogil=True, cache=True, inline="always")
def _find_from(slots, slot, key, length, meta, word_bytes, src, src_off):
    """`_find` from the word's home slot."""
    mask = slots.shape[0] - 1
    tag = length << 32
    key_signed = np.int64(key)
    while True:
        info = slots[slot, 1]
        if info == _EMPTY:
            return slot, -1
        if slots[slot, 0] == key_signed and (info & ~0xFFFFFFFF) == tag:
            w = (info & 0xFFFFFFFF) - 1
            if length <= SHORT:
                return slot, w
            off = meta[w, 1]
            same = True
            for m in range(length):
                if word_bytes[off + m] != src[src_off + m]:
                    same = False
                    break
            if same:
                return slot, w
        slot = (slot + 1) & mask


@intrinsic
def _prefetch(typingctx, arr, index):
    """A hint to the CPU to bring the cache line of arr[index] (1-d) in; no effect on results."""
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, [args[1]], wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        # a read, kept in all cache levels, of data
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(arr, index), codegen


# tokens cut (and their table slots prefetched) before any is looked up: the lookups of a batch
# then find their slots in cache instead of waiting for memory one token after the other
BATCH = 64


@njit(nogil=True, cache=True)
def count_tokens(buf, buf64, start, end, pos_base, syntax, slots, meta, word_bytes, state, ids_out,
                 line_counts):
    """Count and encode the tokens of buf[start:end] into one worker's hash table.

    buf: uint8 bytes, cut so that no token or multi-byte character crosses `start` or `end`;
    buf64: its whole 8-byte words, as uint64 (`wide`).
    slots: the table (see `_find`); meta: int64 (W, 6) per row: key, offset and length of its
    bytes in word_bytes (uint8), stream offset of its first occurrence (pos_base + index in
    buf: first-seen order across workers), count and id (both kept in slots until
    `_counts_to_meta`). state: int64 [n_words, n_word_bytes, n_ids, n_lines, tokens in the open
    line, ids given (n_words unless pruned), most words the table may hold].
    ids_out: int32 the tokens' ids; line_counts: int64 tokens per line ended by \n.
    Returns (where it stopped, DONE or what must happen before calling again from there: grow
    an array, or PRUNE the table, which is full).

    Works in batches of BATCH tokens: cut them (ending lines as it goes), then look them up in
    order. A token that cannot be counted yet (a table or array to grow) stops the call at that
    token, with the lines as they were before it: where and why it stops is as if tokens were
    looked up as soon as cut.
    """
    byte_class = syntax.byte_class
    n_words, n_bytes, n_ids, n_lines, line_tokens = state[0], state[1], state[2], state[3], state[4]
    n_given, limit = state[5], state[6]
    n_wide = buf64.shape[0] * 8
    shift = np.uint64(64 - _table_bits(slots))
    slots_flat = slots.reshape(-1)
    # per token of the batch: where it starts, its length, key and home slot, and the lines
    # before it (ended lines, tokens of the open line)
    tok_start = np.empty(BATCH, dtype=np.int64)
    tok_len = np.empty(BATCH, dtype=np.int64)
    tok_key = np.empty(BATCH, dtype=np.uint64)
    tok_home = np.empty(BATCH, dtype=np.int64)
    tok_lines = np.empty(BATCH, dtype=np.int64)
    tok_open = np.empty(BATCH, dtype=np.int64)
    status = DONE
    i = start
    while i < end and status == DONE:
        n_batch = 0
        lines_full = False
        while i < end and n_batch < BATCH:
            c = byte_class[buf[i]]
            if c == NEWLINE:
                if n_lines == line_counts.shape[0]:
                    lines_full = True
                    break
                line_counts[n_lines] = line_tokens
                n_lines += 1
                line_tokens = 0
                i += 1
                continue
            if c == SPACE:
                i += 1
                continue
            if c == LEAD:
                k = _space_len(buf, i, end, syntax)
                if k:
                    i += k
                    continue
            # the token's end: 8 bytes at a time while they are in the buffer, skipping those with
            # no byte <= 0x20 or >= 0x80 (only these can be whitespace); any such byte is looked up
            j = i + 1
            while j < end:
                if j + 8 <= end and j + 16 <= n_wide:
                    x = _load64(buf64, j)
                    flags = ((x - _BELOW_SPACE) | x) & _HIGH_BITS
                    if flags == 0:
                        j += 8
                        continue
                    j += _first_flag(flags)
                c = byte_class[buf[j]]
                if c >= SPACE:
                    break
                if c == LEAD and _space_len(buf, j, end, syntax) > 0:
                    break
                j += 1
            length = j - i
            if length <= SHORT and i + 16 <= n_wide:
                key = _load64(buf64, i) & (_ALL_BITS >> np.uint64(64 - 8 * length))
            else:
                key = _key(buf, i, j)
            home = _home_slot(key, length, shift)
            _prefetch(slots_flat, home * 4)
            tok_start[n_batch] = i
            tok_len[n_batch] = length
            tok_key[n_batch] = key
            tok_home[n_batch] = home
            tok_lines[n_batch] = n_lines
            tok_open[n_batch] = line_tokens
            n_batch += 1
            line_tokens += 1
            i = j
        for t in range(n_batch):
            at, length, key = tok_start[t], tok_len[t], tok_key[t]
            slot, w = _find_from(slots, tok_home[t], key, length, meta, word_bytes, buf, at)
            if w < 0:
                if n_words >= limit:
                    status = PRUNE
                elif n_words == meta.shape[0] or 2 * (n_words + 1) > slots.shape[0]:
                    status = GROW_WORDS
                elif n_bytes + length > word_bytes.shape[0]:
                    status = GROW_BYTES
                elif n_given == MAX_IDS:
                    status = TOO_MANY_IDS
                if status != DONE:
                    # stop at this token (lines_full, further on, waits for the next call)
                    i, n_lines, line_tokens = at, tok_lines[t], tok_open[t]
                    break
                for m in range(length):
                    word_bytes[n_bytes + m] = buf[at + m]
                w = n_words
                meta[w, 0] = np.int64(key)
                meta[w, 1] = n_bytes
                meta[w, 2] = length
                meta[w, 3] = pos_base + at
                meta[w, 4] = 0
                slots[slot, 0] = np.int64(key)
                slots[slot, 1] = (length << 32) | (w + 1)
                slots[slot, 2] = 0
                slots[slot, 3] = n_given
                n_words += 1
                n_bytes += length
                n_given += 1
            slots[slot, 2] += 1
            ids_out[n_ids] = slots[slot, 3]
            n_ids += 1
        if lines_full and status == DONE:
            status = GROW_LINES
    state[0], state[1], state[2], state[3], state[4] = n_words, n_bytes, n_ids, n_lines, line_tokens
    state[5] = n_given
    return i, status


@njit(nogil=True, cache=True)
def _prune(slots, meta, word_bytes, state, min_reduce, dropped, dropped_bytes):
    """Forget the words of a table counted at most min_reduce times (word2vec.c's ReduceVocab).

    The kept rows move up in order (their bytes too), keeping their ids; the table is rebuilt.
    Each forgotten word is written to dropped (int32 (n_words, 3): id, count, length; its bytes
    follow the previous ones' in dropped_bytes, uint8 (n_word_bytes,)), so that the end of the
    pass can give its count and tokens back to the word if a table still holds it then.
    Returns (words forgotten, their bytes).
    """
    _counts_to_meta(slots, meta)
    n_words = state[0]
    kept, kept_bytes, n_dropped, n_dropped_bytes = 0, 0, 0, 0
    for w in range(n_words):
        off, length = meta[w, 1], meta[w, 2]
        if meta[w, 4] <= min_reduce:
            dropped[n_dropped, 0] = meta[w, 5]
            dropped[n_dropped, 1] = meta[w, 4]
            dropped[n_dropped, 2] = length
            for m in range(length):
                dropped_bytes[n_dropped_bytes + m] = word_bytes[off + m]
            n_dropped += 1
            n_dropped_bytes += length
        else:
            for m in range(length):  # kept_bytes <= off: copying forward never overwrites unread bytes
                word_bytes[kept_bytes + m] = word_bytes[off + m]
            for col in range(meta.shape[1]):
                meta[kept, col] = meta[w, col]
            meta[kept, 1] = kept_bytes
            kept += 1
            kept_bytes += length
    slots[:] = 0
    shift = np.uint64(64 - _table_bits(slots))
    mask = slots.shape[0] - 1
    for w in range(kept):
        length = meta[w, 2]
        slot = _home_slot(np.uint64(meta[w, 0]), length, shift)
        while slots[slot, 1] != _EMPTY:
            slot = (slot + 1) & mask
        slots[slot, 0] = meta[w, 0]
        slots[slot, 1] = (length << 32) | (w + 1)
        slots[slot, 2] = meta[w, 4]
        slots[slot, 3] = meta[w, 5]
    state[0], state[1] = kept, kept_bytes
    return n_dropped, n_dropped_bytes


@njit(nogil=True, cache=True)
def _rehash(old, size):
    """The words of the table `old` in a table of `size` (a power of two) slots."""
    slots = np.zeros((size, old.shape[1]), dtype=np.int64)
    shift = np.uint64(64 - _table_bits(slots))
    for s in range(old.shape[0]):
        info = old[s, 1]
        if info == _EMPTY:
            continue
        slot = _home_slot(np.uint64(old[s, 0]), info >> 32, shift)
        while slots[slot, 1] != _EMPTY:
            slot = (slot + 1) & (size - 1)
        slots[slot] = old[s]
    return slots


@njit(nogil=True, cache=True)
def _counts_to_meta(slots, meta):
    for s in range(slots.shape[0]):
        info = slots[s, 1]
        if info != _EMPTY:
            w = (info & 0xFFFFFFFF) - 1
            meta[w, 4] = slots[s, 2]
            meta[w, 5] = slots[s, 3]


@njit(nogil=True, cache=True)
def _find_dropped(slots, meta, word_bytes, dropped, dropped_bytes):
    """int64 the merged table's row of the word of each record of `dropped` (see `_prune`), -1
    for a word no table held at the end."""
    shift = np.uint64(64 - _table_bits(slots))
    rows = np.empty(dropped.shape[0], dtype=np.int64)
    off = 0
    for r in range(dropped.shape[0]):
        length = np.int64(dropped[r, 2])
        key = _key(dropped_bytes, off, off + length)
        rows[r] = _find(slots, shift, key, length, meta, word_bytes, dropped_bytes, off)[1]
        off += length
    return rows


@njit(nogil=True, cache=True)
def _merge_into(slots, meta, word_bytes, state, meta_w, word_bytes_w, n_w, local_to_merged):
    """Add one worker's n_w words to the merged table (sized for all workers' words): counts
    add up, the first occurrence is the earliest. local_to_merged[w] <- merged row."""
    shift = np.uint64(64 - _table_bits(slots))
    n_words, n_bytes = state[0], state[1]
    for v in range(n_w):
        key = np.uint64(meta_w[v, 0])
        off_w = meta_w[v, 1]
        length = meta_w[v, 2]
        slot, w = _find(slots, shift, key, length, meta, word_bytes, word_bytes_w, off_w)
        if w < 0:
            w = n_words
            for m in range(length):
                word_bytes[n_bytes + m] = word_bytes_w[off_w + m]
            meta[w, 0] = meta_w[v, 0]
            meta[w, 1] = n_bytes
            meta[w, 2] = length
            meta[w, 3] = meta_w[v, 3]
            meta[w, 4] = 0
            slots[slot, 0] = meta_w[v, 0]
            slots[slot, 1] = (length << 32) | (w + 1)
            n_words += 1
            n_bytes += length
        meta[w, 3] = min(meta[w, 3], meta_w[v, 3])
        meta[w, 4] += meta_w[v, 4]
        local_to_merged[v] = w
    state[0], state[1] = n_words, n_bytes


@njit(nogil=True, cache=True)
def _joined_words(meta, word_bytes, order):
    """The bytes of the words meta[order] joined by \\n (which no token contains)."""
    total = 0
    for w in order:
        total += meta[w, 2] + 1
    out = np.empty(max(total - 1, 0), dtype=np.uint8)
    p = 0
    for k in range(order.shape[0]):
        w = order[k]
        if k:
            out[p] = 10
            p += 1
        off = meta[w, 1]
        for m in range(meta[w, 2]):
            out[p] = word_bytes[off + m]
            p += 1
    return out


class IdMap(NamedTuple):
    """The workers' ids -> first-seen word ids (-1: a forgotten word, out of vocabulary).

    Id i of worker w is the global id offsets[w] + i. Dense (bits empty): its word is values[g].
    Sparse (after pruning, where most ids are of words forgotten for good): bit g of bits says
    whether global id g has a word, which is then values[rank[g >> 6] + the set bits below g in
    its 64-bit word]: 0.19 bytes per id instead of 4, whatever the number of prunes.
    """
    values: np.ndarray   # int32
    offsets: np.ndarray  # int64 (workers + 1,)
    bits: np.ndarray     # uint64 (ceil(ids / 64),), empty when dense
    rank: np.ndarray     # int64, values before each word of bits


def dense_map(values, offsets) -> IdMap:
    return IdMap(np.asarray(values, dtype=np.int32), np.asarray(offsets, dtype=np.int64),
                 np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))


@njit(nogil=True, cache=True)
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


# not inline="always": numba's IR inlining made the remap 5x slower than LLVM's own inlining
@njit(nogil=True, cache=True)
def _sparse_id(values, bits, rank, g):
    word = bits[g >> 6]
    bit = np.uint64(1) << np.uint64(g & 63)
    if word & bit == 0:
        return -1
    return values[rank[g >> 6] + _popcount(word & (bit - np.uint64(1)))]


@njit(nogil=True, cache=True)
def _set_bits(bits, local_ids, offset):
    for i in local_ids:
        g = offset + i
        bits[g >> 6] |= np.uint64(1) << np.uint64(g & 63)


@njit(nogil=True, cache=True)
def _bit_rank(bits):
    """int64 the set bits before each word of bits."""
    rank = np.empty(bits.shape[0], dtype=np.int64)
    total = 0
    for k in range(bits.shape[0]):
        rank[k] = total
        total += _popcount(bits[k])
    return rank


def _remap_ranges(ids, ranges, id_map):
    """In place: ids[start:end] <- their first-seen word ids (`IdMap`) for each (start, end, worker)."""
    _remap_arrays(ids, ranges, *id_map)


@njit(nogil=True, cache=True)
def _remap_arrays(ids, ranges, values, offsets, bits, rank):
    dense = bits.shape[0] == 0
    for r in range(ranges.shape[0]):
        base = offsets[ranges[r, 2]]
        if dense:
            for t in range(ranges[r, 0], ranges[r, 1]):
                ids[t] = values[base + ids[t]]
        else:
            for t in range(ranges[r, 0], ranges[r, 1]):
                ids[t] = _sparse_id(values, bits, rank, base + ids[t])


@njit(nogil=True, cache=True)
def _sentence_bounds(line_counts, max_len):
    """int64 bounds of the sentences of lines with these token counts: empty lines give none,
    a line of n tokens gives ceil(n / max_len) consecutive sentences."""
    n_sent = 0
    for n in line_counts:
        n_sent += (n + max_len - 1) // max_len
    bounds = np.empty(n_sent + 1, dtype=np.int64)
    bounds[0] = 0
    s = 0
    t = 0
    for n in line_counts:
        while n > 0:
            k = min(n, max_len)
            t += k
            n -= k
            s += 1
            bounds[s] = t
    return bounds


@njit(nogil=True, cache=True)
def _last_space(buf, lo, hi, byte_class):
    """Index of the last ASCII whitespace byte in buf[lo:hi], -1 if none."""
    for i in range(hi - 1, lo - 1, -1):
        c = byte_class[buf[i]]
        if c == SPACE or c == NEWLINE:
            return i
    return -1


@njit(nogil=True, cache=True)
def _next_space(buf, lo, hi, byte_class):
    """Index of the first ASCII whitespace byte in buf[lo:hi], hi if none."""
    for i in range(lo, hi):
        c = byte_class[buf[i]]
        if c == SPACE or c == NEWLINE:
            return i
    return hi


def _grown(a, n):
    """`a` with room for at least n rows (its first rows kept)."""
    new = np.empty((max(n, 2 * a.shape[0]),) + a.shape[1:], dtype=a.dtype)
    new[:a.shape[0]] = a
    return new


class _Counter:
    """One worker's hash table of words, grown as needed, and its output for one piece.

    limit: the most words the table may hold; a new word that finds it full first makes the
    table forget its rarest words (`prune`). What it forgot goes to `dropped`."""

    def __init__(self, limit=NO_LIMIT, dropped_path=None):
        self.slots = np.zeros((1 << 14, 4), dtype=np.int64)
        self.meta = np.zeros((1 << 13, 6), dtype=np.int64)
        self.word_bytes = np.zeros(1 << 16, dtype=np.uint8)
        self.state = np.zeros(7, dtype=np.int64)
        self.state[6] = limit
        self.ids = np.zeros(1 << 10, dtype=np.int32)
        self.lines = np.zeros(1 << 10, dtype=np.int64)
        self.min_reduce = 1
        self.prunes = 0
        self.forgotten_max = 0  # the most occurrences of one word that its prunes may have forgotten
        self.peak_words = 0
        self.dropped = _Dropped(dropped_path)

    @property
    def n_words(self):
        return int(self.state[0])

    @property
    def n_given(self):
        """Ids given so far: the tokens' ids are below this."""
        return int(self.state[5])

    def count(self, buf, start, end, pos_base, ids_out=None):
        """Count buf[start:end]; afterwards its tokens are ids_out[:state[2]] (by default
        self.ids, else ids_out must have room for (end - start + 1) // 2) and its line segments
        are self.lines[:state[3]] followed by state[4] (the unfinished one)."""
        if ids_out is None:
            need = (end - start + 1) // 2  # tokens are separated by at least one byte
            if self.ids.shape[0] < need:
                self.ids = np.empty(need, dtype=np.int32)
            ids_out = self.ids
        self.state[2:5] = 0
        buf64 = wide(buf)
        while True:
            start, status = count_tokens(buf, buf64, start, end, pos_base, SYNTAX, self.slots, self.meta,
                                         self.word_bytes, self.state, ids_out, self.lines)
            if status == DONE:
                self.peak_words = max(self.peak_words, self.n_words)
                return
            if status == PRUNE:
                self.prune()
            elif status == GROW_WORDS:
                n = self.n_words
                if n == self.meta.shape[0]:
                    self.meta = _grown(self.meta, n + 1)
                if 2 * (n + 1) > self.slots.shape[0]:
                    self.slots = _rehash(self.slots, 2 * self.slots.shape[0])
            elif status == GROW_BYTES:
                self.word_bytes = _grown(self.word_bytes, int(self.state[1]) + (end - start))
            elif status == TOO_MANY_IDS:
                raise ValueError(f"max_vocab_size: one counting thread gave {MAX_IDS} ids (words that were "
                                 "forgotten and came back take new ones); raise max_vocab_size")
            else:
                self.lines = _grown(self.lines, self.lines.shape[0] + 1)

    def prune(self):
        """Make room for a word: forget the words counted at most min_reduce times, min_reduce
        rising by one after each prune (word2vec.c's rule), until the table has room."""
        self.peak_words = max(self.peak_words, self.n_words)
        while self.n_words >= self.state[6]:
            dropped = np.empty((self.n_words, 3), dtype=np.int32)
            dropped_bytes = np.empty(int(self.state[1]), dtype=np.uint8)
            k, kb = _prune(self.slots, self.meta, self.word_bytes, self.state, self.min_reduce, dropped,
                           dropped_bytes)
            if k:
                self.forgotten_max += self.min_reduce
                self.dropped.add(dropped[:k], dropped_bytes[:kb])
            self.prunes += 1
            self.min_reduce += 1

    def segments(self):
        n = int(self.state[3])
        return self.lines[:n], int(self.state[4])


class _Dropped:
    """The words a worker's table forgot, as `_prune` wrote them: in RAM, or appended to the files
    path.i32 (records) and path.u8 (bytes) so that memory stays bounded."""

    def __init__(self, path=None):
        self.path = path
        self.parts = []
        self.files = None
        self.n = 0

    def add(self, records, data):
        self.n += records.shape[0]
        if self.path is None:
            self.parts.append((records.copy(), data.copy()))
            return
        if self.files is None:
            self.files = open(self.path + ".i32", "wb"), open(self.path + ".u8", "wb")
        self.files[0].write(np.ascontiguousarray(records).data)
        self.files[1].write(data.data)

    def read(self, records=1 << 20):
        """(records, bytes) in the order added, a bounded number at a time."""
        if self.path is None:
            yield from self.parts
            return
        if self.files is None:
            return
        for f in self.files:
            f.flush()
        with open(self.path + ".i32", "rb") as f_rec, open(self.path + ".u8", "rb") as f_bytes:
            while True:
                rec = np.fromfile(f_rec, dtype=np.int32, count=3 * records).reshape(-1, 3)
                if not rec.shape[0]:
                    return
                yield rec, np.fromfile(f_bytes, dtype=np.uint8, count=int(rec[:, 2].sum(dtype=np.int64)))

    def close(self, remove=True):
        self.parts = []
        if self.files is not None:
            for f in self.files:
                f.close()
            self.files = None
            if remove:
                for ext in (".i32", ".u8"):
                    try:
                        os.remove(self.path + ext)
                    except FileNotFoundError:
                        pass


def _room(a, used, needed):
    """`a`, or a larger copy of its first `used` rows, with room for `needed` rows.

    Not ndarray.resize: that zero-fills the new part, writing every page twice."""
    if needed <= a.shape[0]:
        return a
    new = np.empty(max(needed, 2 * a.shape[0]), dtype=a.dtype)
    new[:used] = a[:used]
    return new


def spill_paths(spill_dir) -> tuple[str, str]:
    """The files a first pass spills into spill_dir: int32 ids, int64 tokens per line."""
    return os.path.join(spill_dir, "spill-ids.i32"), os.path.join(spill_dir, "spill-lines.i64")


class _Output:
    """The pass's growing outputs: ids in worker rows with the ranges saying which worker, and
    tokens per line; lines[n_lines - 1] is the line still open.

    ids_hint: the most tokens expected. An upper bound costs only address space (pages of
    np.empty are not touched until written) and saves the copies of growing.

    spill_dir: where to write the ids and line counts out between blocks once they pass
    SPILL_IDS / SPILL_LINES (files spill-ids.i32 and spill-lines.i64), so that memory stays
    bounded whatever the corpus size; ranges then count ids from the start of the stream. The ids
    are written on a thread of their own while the next blocks are counted into a second buffer
    (on the counting thread, a write of the page cache took 0.1 s at 100M tokens, 0.6 s on a
    busy machine, while the other counting threads waited)."""

    def __init__(self, ids_hint=0, spill_dir=None):
        self.spill_dir = spill_dir
        if spill_dir is not None:
            ids_hint = min(ids_hint, SPILL_IDS + SPILL_BLOCK_BYTES)
            ids_path, lines_path = spill_paths(spill_dir)
            self.f_ids, self.f_lines = open(ids_path, "wb"), open(lines_path, "wb")
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="w2v-scan-spill")
            self._writing = None  # the write under way (a Future) ...
            self._spare = None    # ... of this buffer, which takes the next ids once it is done
        self.ids = np.empty(max(ids_hint, 1 << 16), dtype=np.int32)
        self.n_ids = 0
        self.ids_before = 0   # ids spilled to disk
        self.lines_before = 0  # lines spilled to disk
        self.ranges = []
        self.lines = np.zeros(1 << 12, dtype=np.int64)
        self.n_lines = 1

    def spill(self, force=False):
        """With a spill_dir: write out the ids (and the ended lines) once there are enough of them,
        or all of them (force, at the end of the pass, the open line too)."""
        if self.spill_dir is None:
            return
        if self.n_ids and (force or self.n_ids >= SPILL_IDS):
            full = self.ids
            spare = self._written()
            self._writing = self._writer.submit(self.f_ids.write, full[:self.n_ids].data)
            self.ids, self._spare = (np.empty_like(full) if spare is None else spare), full
            self.ids_before += self.n_ids
            self.n_ids = 0
        ended = self.n_lines if force else self.n_lines - 1
        if ended and (force or ended >= SPILL_LINES):
            self.f_lines.write(self.lines[:ended].data)
            self.lines_before += ended
            self.lines[0] = self.lines[self.n_lines - 1]
            self.n_lines -= ended
        if force:
            self._written()
            self.f_ids.close()
            self.f_lines.close()

    def _written(self):
        """Wait for the write under way (raising its error); its buffer, free again (None if none)."""
        if self._writing is None:
            return None
        writing, self._writing = self._writing, None
        writing.result()
        return self._spare

    def close(self):
        if self.spill_dir is not None:
            # after an error elsewhere: the write's own error, if any, would only hide that one
            self._writer.shutdown(wait=True)
            self.f_ids.close()
            self.f_lines.close()

    def free_ids(self, room):
        """Where a worker may write `room` ids in place (then `add` it with in_place=True)."""
        self.ids = _room(self.ids, self.n_ids, self.n_ids + room)
        return self.ids[self.n_ids:]

    def add(self, worker, counter, in_place=False):
        k = int(counter.state[2])
        if k:
            if not in_place:
                self.ids = _room(self.ids, self.n_ids, self.n_ids + k)
                self.ids[self.n_ids:self.n_ids + k] = counter.ids[:k]
            self.ranges.append((self.ids_before + self.n_ids, self.ids_before + self.n_ids + k, worker))
            self.n_ids += k
        ended, open_tokens = counter.segments()
        m = ended.shape[0]
        self.lines = _room(self.lines, self.n_lines, self.n_lines + m)
        if m:
            self.lines[self.n_lines - 1] += ended[0]
            self.lines[self.n_lines:self.n_lines + m - 1] = ended[1:]
            self.n_lines += m - 1
            self.lines[self.n_lines] = open_tokens
            self.n_lines += 1
        else:
            self.lines[self.n_lines - 1] += open_tokens

    def end_line(self):
        self.lines = _room(self.lines, self.n_lines, self.n_lines + 1)
        self.lines[self.n_lines] = 0
        self.n_lines += 1

    def take_ids(self):
        """The ids, the unused tail given back (realloc shrinks in place, no copy)."""
        ids, self.ids = self.ids, None
        ids.resize(self.n_ids, refcheck=False)
        return ids


_END = object()


class _Reader(threading.Thread):
    """Reads (and decompresses) the files into blocks cut after their last ASCII whitespace.

    Puts (buf, n, pos, file_ends) on `full`: buf[:n] is to be counted, buf[0] is at stream offset
    pos. Buffers come back through `free` once counted, so at most three are alive.
    """

    def __init__(self, paths, block_bytes):
        super().__init__(daemon=True, name="w2v-scan-reader")
        self.paths = paths
        self.block_bytes = block_bytes
        self.full = queue.Queue()
        self.free = queue.Queue()
        for _ in range(3):
            self.free.put(np.empty(block_bytes, dtype=np.uint8))
        self.stop = threading.Event()
        self.bytes_read = 0

    def _put(self, item):
        self.full.put(item)

    def _take(self):
        while not self.stop.is_set():
            try:
                return self.free.get(timeout=0.1)
            except queue.Empty:
                pass
        raise _Stopped

    def run(self):
        try:
            self._read_all()
        except _Stopped:
            return
        except BaseException as e:  # handed to the counting thread, which raises it
            self._put(e)
        self._put(_END)

    def _read_all(self):
        pos = 0
        for path in self.paths:
            carry = np.zeros(0, dtype=np.uint8)
            with (open_shard(path) if isinstance(path, Shard) else open_binary(path)) as f:
                while True:
                    buf = self._take()
                    nc = carry.shape[0]
                    if buf.shape[0] < nc + self.block_bytes:
                        buf = np.empty(nc + self.block_bytes, dtype=np.uint8)
                    buf[:nc] = carry
                    n = nc
                    view = memoryview(buf)
                    while n < nc + self.block_bytes:
                        k = f.readinto(view[n:nc + self.block_bytes])
                        if not k:
                            break
                        n += k
                    self.bytes_read += n - nc
                    if n == nc:  # end of file: what is carried is the last token
                        self._put((buf, n, pos, True))
                        pos += n
                        break
                    cut = _last_space(buf, nc, n, SYNTAX.byte_class) + 1
                    if cut == 0:
                        # no whitespace in sight: the token goes on
                        carry = buf[:n].copy()
                        self.free.put(buf)
                        continue
                    carry = buf[cut:n].copy()
                    self._put((buf, cut, pos, False))
                    pos += cut


class _Stopped(Exception):
    pass


class Spill(NamedTuple):
    """The corpus of a pass with a spill_dir, on disk in counters' local ids: token t (counted by
    the worker of the range (start, end, worker) of `ranges` holding t) has the first-seen id
    that id_map gives its local id (`_remap_ranges`). lines_path holds int64 tokens per line."""
    ids_path: str
    lines_path: str
    n_ids: int
    n_lines: int
    ranges: np.ndarray      # int64 (R, 3), in stream order, covering 0..n_ids
    id_map: IdMap


class FileScan(NamedTuple):
    """What the pass found, in first-seen ids (vocab.Scan's fields)."""
    words: list          # id -> word (str)
    counts: np.ndarray   # int64 (V,)
    ids: np.ndarray      # int32 (N,) the corpus, -1 for a forgotten word (None when spilled)
    bounds: np.ndarray   # int64 (S + 1,) sentence bounds (None when spilled)
    spill: Spill | None = None
    pruned: bool = False      # whether a table forgot words (max_vocab_size)
    max_forgotten: int = 0    # a word counted more often than this is never forgotten
    peak_words: int = 0       # the most words the tables held together


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def scan_files(paths, max_sentence_length: int = MAX_SENTENCE_LENGTH, *,
               block_bytes: int | None = None, workers: int | None = None, spill_dir=None,
               progress=None, max_vocab_size: int | None = None) -> FileScan:
    """Count and encode the text files `paths` (plain, .gz or .bz2), in that order.

    A path may be a `shards.Shard`: an fsspec URL, or the lines starting in a byte range of a plain
    file (the pass over consecutive ranges of a file is the pass over the file).
    Equal to `vocab.scan` of `corpus.iter_file_sentences` over each path; block_bytes (the read
    size) and workers (counting threads, default: the cores this process may use) change
    nothing but the speed. With spill_dir, the corpus is written there as it is read (memory
    bounded by the vocabulary, not the corpus) and returned as `FileScan.spill`, for
    `store.encode_spill`. progress(bytes_read) is called after each block.

    max_vocab_size: the most words the counting tables hold together (module docstring,
    "Pruning"); then the result depends on block_bytes and workers too.
    """
    if max_sentence_length < 1:
        raise ValueError(f"max_sentence_length must be >= 1, got {max_sentence_length}")
    if block_bytes is None:
        block_bytes = BLOCK_BYTES if spill_dir is None else SPILL_BLOCK_BYTES
    block_bytes = max(1, int(block_bytes))
    workers = default_workers() if workers is None else max(1, int(workers))
    if max_vocab_size is None:
        counters = [_Counter() for _ in range(workers)]
    else:
        if max_vocab_size < 1:
            raise ValueError(f"max_vocab_size must be >= 1, got {max_vocab_size}")
        workers = min(workers, max_vocab_size)  # every table holds a word at least
        counters = [_Counter(max_vocab_size // workers + (k < max_vocab_size % workers),
                             None if spill_dir is None else os.path.join(spill_dir, f"dropped-{k}"))
                    for k in range(workers)]
    paths = [p if isinstance(p, Shard) else os.fspath(p) for p in paths]
    out = _Output(_ids_hint(paths), spill_dir)
    reader = _Reader(paths, block_bytes)
    reader.start()
    pool = ThreadPoolExecutor(workers - 1, thread_name_prefix="w2v-scan") if workers > 1 else None
    try:
        while True:
            item = reader.full.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            buf, n, pos, file_ends = item
            _count_block(buf, n, pos, counters, out, pool)
            if file_ends:
                out.end_line()
            reader.free.put(buf)
            out.spill()
            if progress is not None:
                progress(reader.bytes_read)
        out.spill(force=True)
    finally:
        reader.stop.set()
        out.close()
        if pool is not None:
            pool.shutdown()
    try:
        return _finish(counters, out, max_sentence_length, pool_size=workers)
    finally:
        for c in counters:
            c.dropped.close()


def _plain_bytes(p) -> int:
    if isinstance(p, Shard):
        return text_bytes_hint(p)
    return 0 if p.endswith(corpus_mod.COMPRESSED_SUFFIXES) else os.path.getsize(p)


def _ids_hint(paths) -> int:
    """Room to reserve for the ids: a plain file of S bytes has at most (S + 1) // 2 tokens.

    Capped at a quarter of the memory in bytes, so that the reservation is never refused by the
    kernel's overcommit heuristic; beyond it the buffer grows by doubling."""
    bound = sum((_plain_bytes(p) + 1) // 2 for p in paths)
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        memory = 1 << 32
    return min(bound, memory // 16)


def _count_block(buf, n, pos, counters, out, pool):
    """Split buf[:n] at ASCII whitespace into one piece per worker, count them, collect."""
    k = len(counters)
    cuts = [0]
    for p in range(1, k):
        lo = max(cuts[-1], p * n // k)
        cuts.append(min(n, _next_space(buf, lo, n, SYNTAX.byte_class) + 1))
    cuts.append(n)
    # the first piece's ids go straight to the output, the others' are copied after it
    in_place = out.free_ids((cuts[1] + 1) // 2)
    if pool is None or n < PARALLEL_MIN_BYTES:
        for w in range(k):
            counters[w].count(buf, cuts[w], cuts[w + 1], pos, in_place if w == 0 else None)
    else:
        futures = [pool.submit(counters[w].count, buf, cuts[w], cuts[w + 1], pos)
                   for w in range(1, k)]
        counters[0].count(buf, cuts[0], cuts[1], pos, in_place)
        for f in futures:
            f.result()
    for w in range(k):
        out.add(w, counters[w], in_place=w == 0)


def _finish(counters, out, max_sentence_length, pool_size):
    if out.spill_dir is not None:
        out.ids = out.lines = None  # on disk already: their memory serves the merge below
    total_words = sum(c.n_words for c in counters)
    total_bytes = sum(int(c.state[1]) for c in counters)
    size = 1 << max(4, (2 * total_words + 1).bit_length())
    slots = np.zeros((size, 4), dtype=np.int64)
    meta = np.zeros((max(total_words, 1), 5), dtype=np.int64)
    word_bytes = np.zeros(max(total_bytes, 1), dtype=np.uint8)
    state = np.zeros(2, dtype=np.int64)
    pruned = any(c.prunes for c in counters)
    offsets = np.cumsum([0] + [c.n_given for c in counters]).astype(np.int64)
    # per worker, its ids that have a word, as local id << 32 | merged row: its table's words,
    # then (pruned) the forgotten records of words a table held at the end, which get their
    # counts back. 8 bytes for each, and only for these: most ids given are of words forgotten
    has_word = [[] for _ in counters]
    for k, c in enumerate(counters):
        local_to_merged = np.empty(c.n_words, dtype=np.int64)
        _counts_to_meta(c.slots, c.meta)
        _merge_into(slots, meta, word_bytes, state, c.meta, c.word_bytes, c.n_words, local_to_merged)
        has_word[k].append((c.meta[:c.n_words, 5] << 32) | local_to_merged)
        c.slots = c.meta = c.word_bytes = c.ids = c.lines = None  # merged: free before the next one
    for k, c in enumerate(counters):
        for dropped, dropped_bytes in c.dropped.read():
            rows = _find_dropped(slots, meta, word_bytes, dropped, dropped_bytes)
            found = rows >= 0
            np.add.at(meta[:, 4], rows[found], dropped[found, 1])
            has_word[k].append((dropped[found, 0].astype(np.int64) << 32) | rows[found])
    n_words = int(state[0])
    order = np.argsort(meta[:n_words, 3], kind="stable")  # first-seen order
    text = _joined_words(meta, word_bytes, order).tobytes().decode("utf-8", errors="replace")
    decoded = text.split("\n") if n_words else []
    if pruned:
        _restore_dropped_by_text(counters, has_word, slots, meta, word_bytes, decoded, order)
    del slots
    index = dict(zip(decoded, range(n_words)))
    rank = np.empty(n_words, dtype=np.int64)
    if len(index) == n_words:
        rank[order] = np.arange(n_words)
        counts = meta[order, 4].copy()
    else:
        # different invalid bytes decoding to the same word: one word, the first one's id
        index = {}
        for word in decoded:
            index.setdefault(word, len(index))
        rank[order] = [index[w] for w in decoded]
        counts = np.zeros(len(index), dtype=np.int64)
        np.add.at(counts, rank, meta[:n_words, 4])
    words = list(index)
    id_map = _id_map(has_word, offsets, rank, sparse=pruned)
    ranges = np.array(out.ranges, dtype=np.int64).reshape(-1, 3)
    pruning = dict(pruned=pruned, max_forgotten=sum(c.forgotten_max for c in counters),
                   peak_words=sum(c.peak_words for c in counters))
    if out.spill_dir is not None:
        spill = Spill(*spill_paths(out.spill_dir), out.ids_before, out.lines_before, ranges, id_map)
        return FileScan(words, counts, None, None, spill, **pruning)
    ids = out.take_ids()
    _remap_parallel(ids, ranges, id_map, pool_size)
    bounds = _sentence_bounds(out.lines[:out.n_lines], max_sentence_length)
    return FileScan(words, counts, ids, bounds, **pruning)


def _id_map(has_word, offsets, rank, sparse) -> IdMap:
    """The IdMap of the workers' ids that have a word (has_word: per worker, arrays of local id
    << 32 | merged row); rank: merged row -> first-seen id. Without pruning every id has a word,
    its row: dense."""
    if not sparse:
        return dense_map(np.concatenate([rank[p & 0xFFFFFFFF] for parts in has_word for p in parts] or
                                        [np.zeros(0, np.int64)]), offsets)
    n = int(offsets[-1])
    bits = np.zeros((n + 63) >> 6, dtype=np.uint64)
    values = []
    for k in range(len(has_word)):
        keys = np.concatenate(has_word[k]) if has_word[k] else np.zeros(0, np.int64)
        has_word[k] = None
        keys.sort()
        _set_bits(bits, keys >> 32, offsets[k])
        values.append(rank[keys & 0xFFFFFFFF].astype(np.int32))
    return IdMap(np.concatenate(values), offsets, bits, _bit_rank(bits))


def _restore_dropped_by_text(counters, has_word, slots, meta, word_bytes, decoded, order):
    """The forgotten records whose bytes differ from every kept word's but decode to a kept word
    (only possible for text with U+FFFD, from invalid UTF-8 or written): their counts go back to
    that word, their ids to has_word (see `_finish`)."""
    row_of = {w: order[k] for k, w in enumerate(decoded) if "\ufffd" in w}
    if not row_of:
        return
    for k, c in enumerate(counters):
        for dropped, dropped_bytes in c.dropped.read():
            ends = np.cumsum(dropped[:, 2], dtype=np.int64)
            starts = ends - dropped[:, 2]
            high = np.add.reduceat((dropped_bytes >= 0x80).astype(np.int64), starts) if starts.shape[0] else starts
            unmatched = _find_dropped(slots, meta, word_bytes, dropped, dropped_bytes) < 0
            for r in np.flatnonzero(unmatched & (high > 0)):
                row = row_of.get(dropped_bytes[starts[r]:ends[r]].tobytes().decode("utf-8", errors="replace"))
                if row is not None:
                    meta[row, 4] += dropped[r, 1]
                    has_word[k].append(np.array([(int(dropped[r, 0]) << 32) | int(row)], dtype=np.int64))


def _remap_parallel(ids, ranges, id_map, n_threads):
    if n_threads < 2 or ids.shape[0] < PARALLEL_MIN_BYTES or ranges.shape[0] < 2:
        _remap_ranges(ids, ranges, id_map)
        return
    # contiguous groups of ranges holding about equal numbers of tokens
    ends = np.cumsum(ranges[:, 1] - ranges[:, 0])
    splits = np.searchsorted(ends, ends[-1] * np.arange(1, n_threads) / n_threads)
    groups = np.split(ranges, splits)
    threads = [threading.Thread(target=_remap_ranges, args=(ids, g, id_map))
               for g in groups if g.shape[0]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
