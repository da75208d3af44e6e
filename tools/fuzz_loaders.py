"""Fuzz every w2v file reader: damaged copies of small good files must load correctly or raise
the documented error (ValueError and its subclasses, FileNotFoundError), never anything else,
never hang, never crash the interpreter, never need much memory.

    python tools/fuzz_loaders.py --cases 100000            # every reader, 100,000 cases each
    python tools/fuzz_loaders.py --cases 300 --readers text binary store

Readers: word2vec text and binary, native vectors (loaded and memory-mapped), model, checkpoint,
vocabulary, phrases, frozen phrases, and the corpus store (a directory: one member damaged at a
time, then opened, verified and read unit by unit as training reads it). Hypothesis generates the
damage (random truncation, byte flips, absurd headers and .npy shapes, wrong dimensions,
duplicate words, absurd values in a store's header, ids and bounds), in runs of BATCH examples
seeded from --seed, so a campaign can be repeated.

Each reader runs in child processes with a 2 GiB address-space limit (an allocation for an
absurd size fails as MemoryError, counted, instead of swapping). A case that takes more than
--hang-seconds of CPU time (1 s; CPU, not wall time, so that a busy shared machine does not
make slow cases hangs) is stopped by SIGPROF and tried once more (the first call of a numba
function compiles it); over the limit twice, it is a hang. A child that dies (a
segfault) or stops reporting for WATCHDOG_S (stuck in compiled code, where no signal handler
runs) is counted as a crash or a hang, its input is kept under --findings, and a new child goes
on with the cases left. Prints one row per reader: cases, distinct inputs, clean loads, clean
errors, other exceptions, crashes, hangs, the CPU seconds of the slowest case that finished
(a first try stopped at the limit is not counted) and of that case run once more at the end
(warm: a first call's compilation is gone), the peak RSS of a
child, and the seconds taken. tests/test_fuzz_loaders.py runs the same properties with a small
budget.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ABSURD = [0, 1, 2, 3, -1, -3, 99, 4096, 2 ** 31, 2 ** 32 + 3, 10 ** 11 - 1, 2 ** 63 - 1, 2 ** 64, 10 ** 30]
SENTENCES = [["new", "york", "is", "big"], ["the", "new", "york", "times"], ["a", "b", "new", "york"],
             ["new", "york", "city"], ["x", "y", "z", "new", "york"]] * 4


# ---------------------------------------------------------------- the good files
def make_base_files(directory) -> dict:
    """{reader: path of a small good file it reads}; written once per run."""
    from w2v import KeyedVectors, Word2Vec
    from w2v.phrases import Phrases

    d = Path(directory)
    rng = np.random.default_rng(0)
    kv = KeyedVectors(3, ["the", "of", "héllo", "x"], rng.standard_normal((4, 3)).astype(np.float32))
    kv.save_word2vec_format(d / "v.txt", binary=False)
    kv.save_word2vec_format(d / "v.bin", binary=True)
    kv.save(d / "v.npz")
    model = Word2Vec(SENTENCES, vector_size=3, min_count=1, workers=1, epochs=1, hs=1, negative=2, seed=1)
    model.save(d / "model.npz")
    model.save_vocab(d / "vocab.txt")
    Word2Vec(SENTENCES, vector_size=3, min_count=1, workers=1, epochs=1, hs=1, negative=2, seed=1,
             checkpoint=d / "checkpoint.npz")
    phrases = Phrases(SENTENCES, min_count=1, threshold=0.1)
    phrases.save(d / "phrases.npz")
    phrases.freeze().save(d / "frozen.json")
    _make_store(d / "store", model.vocab)
    return {"text": d / "v.txt", "binary": d / "v.bin", "native": d / "v.npz", "model": d / "model.npz",
            "checkpoint": d / "checkpoint.npz", "vocab": d / "vocab.txt", "phrases": d / "phrases.npz",
            "frozen_phrases": d / "frozen.json", "store": d / "store"}


def _make_store(directory: Path, vocab):
    """A corpus store of SENTENCES cut into blocks of 8 words (so that it has several)."""
    from w2v.store import StoreWriter
    directory.mkdir()
    index = vocab.key_to_index
    ids = np.array([index[w] for s in SENTENCES for w in s], dtype=np.int32)
    writer = StoreWriter(directory, block_words=8)
    writer.add(ids, np.array([len(s) for s in SENTENCES]))
    writer.finish(vocab, {"key": "fuzz"})


# a store is a directory: its members are damaged one at a time (read_base, write_case)
STORE_MEMBERS = ("header.json", "index.npz", "ids.i32", "bounds.i64")


def read_base(path: Path):
    """The good file's bytes, or {member: bytes} for a directory (a store)."""
    if path.is_dir():
        return {name: (path / name).read_bytes() for name in STORE_MEMBERS}
    return path.read_bytes()


def write_case(path: Path, data):
    """Write a case: bytes to a file, or {member: bytes} to the files of a directory."""
    if isinstance(data, dict):
        path.mkdir(exist_ok=True)
        for name, member in data.items():
            (path / name).write_bytes(member)
    else:
        path.write_bytes(data)


def case_bytes(data) -> bytes:
    """One byte string for a case (a store's members joined, each after its name and length)."""
    if isinstance(data, dict):
        return b"".join(b"%s %d\n" % (name.encode(), len(m)) + m for name, m in sorted(data.items()))
    return data


# ---------------------------------------------------------------- loading, and what a good load is
def _check_kv(kv):
    assert len(kv.index_to_key) == kv.vectors.shape[0] == len(set(kv.index_to_key))
    assert kv.vectors.dtype == np.float32 and kv.vectors.ndim == 2 and kv.vectors.shape[1] == kv.vector_size


def _check_model(m):
    v, d = len(m.vocab), m.settings.vector_size
    assert m.wv.vectors.shape == (v, d) and len(m.wv.index_to_key) == v
    for w in (m.w_out_ns, m.w_out_hs):
        assert w.dtype == np.float32 and w.shape[1] == d and w.shape[0] <= v


def _load_text(path):
    from w2v import KeyedVectors
    _check_kv(KeyedVectors.load_word2vec_format(path, binary=False))


def _load_binary(path):
    from w2v import KeyedVectors
    _check_kv(KeyedVectors.load_word2vec_format(path, binary=True))


def _load_native(path):
    from w2v import KeyedVectors
    _check_kv(KeyedVectors.load(path))
    _check_kv(KeyedVectors.load(path, mmap="r"))


def _load_model(path):
    from w2v import Word2Vec
    _check_model(Word2Vec.load(path))


def _load_vocab(path):
    from w2v.vocab import Vocab
    pairs = Vocab.read_counts(path)
    assert pairs and len({w for w, _ in pairs}) == len(pairs)
    assert all(isinstance(w, str) and isinstance(c, int) and 0 <= c < 2 ** 63 for w, c in pairs)


def _load_phrases(path):
    from w2v.phrases import Phrases
    p = Phrases.load(path)
    p.export_phrases()
    p[["new", "york", "is", "new", "york"]]


def _load_store(path):
    """Open the store, verify it as a cached one is, and read every unit as training does."""
    from w2v.plan import Plan
    from w2v.store import CorpusStore
    store = CorpusStore(path)
    store.verify()
    v = len(store.vocab)
    read = store.reader()
    plan = Plan.for_corpus(store, epochs=1, start_alpha=0.025, end_alpha=0.0001, seed=1)
    words = 0
    for unit in plan.units(0):
        ids, bounds, sents = read(unit)
        assert ids.dtype == np.int32 and (ids.shape[0] == 0 or 0 <= ids.min() <= ids.max() < v)
        assert bounds[0] == 0 and bounds[-1] == ids.shape[0] and np.all(np.diff(bounds) > 0)
        assert sorted(sents.tolist()) == list(range(bounds.shape[0] - 1))
        words += ids.shape[0]
    assert words == store.n_words


LOADERS = {"text": _load_text, "binary": _load_binary, "native": _load_native, "model": _load_model,
           "checkpoint": _load_model, "vocab": _load_vocab, "phrases": _load_phrases,
           "frozen_phrases": _load_phrases, "store": _load_store}
# what a reader may raise for a bad file: the documented ValueError (DamagedFileError and
# UnicodeDecodeError among them) and FileNotFoundError (a file that is gone)
DOCUMENTED = (ValueError, FileNotFoundError)


# ---------------------------------------------------------------- the damage
def _replace_npy_shape(data: bytes, which: int, shape) -> bytes:
    """`data` with the shape in its `which`-th .npy header replaced, the file's length kept."""
    starts = [m.start() for m in re.finditer(rb"\x93NUMPY", data)]
    if not starts:
        return data
    at = starts[which % len(starts)]
    if at + 10 > len(data):
        return data
    header_len = struct.unpack("<H", data[at + 8: at + 10])[0]
    header = data[at + 10: at + 10 + header_len]
    m = re.search(rb"'shape': \([^)]*\)", header)
    if m is None:
        return data
    new = header[:m.start()] + b"'shape': " + repr(tuple(shape)).encode() + header[m.end():]
    new = new.rstrip(b" \n")
    if len(new) + 1 > header_len:
        return data
    new = new + b" " * (header_len - len(new) - 1) + b"\n"
    return data[:at + 10] + new + data[at + 10 + header_len:]


def _rewrite_zip(data: bytes, edit) -> bytes:
    """A zip whose members are `edit(name, bytes)` of the original's (None drops one)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            new = edit(info.filename, src.read(info.filename))
            if new is not None:
                dst.writestr(info, new)
    return out.getvalue()


def _json_npy(obj) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(json.dumps(obj).encode("utf-8"), dtype=np.uint8))
    return buf.getvalue()


def _duplicate_words(reader: str, data: bytes) -> bytes:
    if reader in ("text", "binary", "vocab"):
        lines = data.split(b"\n")
        first = 1 if reader != "vocab" else 0
        if len(lines) > first + 2:
            word = lines[first].split(b" ", 1)[0]
            lines[first + 1] = word + b" " + lines[first + 1].split(b" ", 1)[-1]
        return b"\n".join(lines)
    if reader == "frozen_phrases":
        doc = json.loads(data)
        doc["phrases"] = doc["phrases"] + doc["phrases"][:1]
        return json.dumps(doc).encode()

    def edit(name, member):
        if reader == "native" and name == "keys.json":
            keys = json.loads(member)
            return json.dumps([keys[0]] + keys[:-1]).encode()
        if name == "meta.npy":
            meta = json.loads(np.load(io.BytesIO(member)).tobytes())
            key = "index_to_key" if "index_to_key" in meta else "words"
            meta[key] = [meta[key][0]] + meta[key][:-1]
            return _json_npy(meta)
        return member
    return _rewrite_zip(data, edit)


def _header_line(reader, data, v, d):
    if reader in ("text", "binary"):
        return f"{v} {d}".encode() + data[data.find(b"\n"):] if b"\n" in data else data
    if reader == "vocab":
        return data + f"w{v} {d}\n".encode()
    return data


def damage(reader: str):
    """A hypothesis strategy: a function from the good file's bytes to damaged bytes."""
    if reader == "store":
        return _store_damage()
    zipped = reader in ("native", "model", "checkpoint", "phrases")
    kinds = [_truncate, _flips, st.just(("duplicate", None))] + ([_dims] if zipped else [_header])
    return st.lists(st.one_of(*kinds), min_size=1, max_size=3)


_number = st.one_of(st.sampled_from(ABSURD), st.integers(-2 ** 40, 2 ** 40))
_truncate = st.integers(0, 1 << 20).map(lambda k: ("truncate", k))
_flips = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(1, 255)), min_size=1, max_size=8).map(
    lambda f: ("flips", f))
_header = st.tuples(_number, _number).map(lambda vd: ("header", vd))
_dims = st.tuples(st.integers(0, 5), st.lists(_number, min_size=1, max_size=3)).map(lambda x: ("shape", x))
_HEADER_KEYS = ("n_words", "n_sentences", "n_blocks", "vocab_size", "block_words", "version", "vocab_digest",
                "format")


def _store_damage():
    """Damage to one member of a store at a time: its header's numbers (absurd, negative, of another
    type), its index (a zip of .npy: npy shapes, duplicate words), its ids and bounds (values)."""
    json_value = st.one_of(_number, st.sampled_from([None, "x", 1.5, [], {}, True]))
    header = st.tuples(st.sampled_from(_HEADER_KEYS), json_value).map(lambda kv: ("json", kv))
    value = st.tuples(st.integers(0, 1 << 10), _number).map(lambda pv: ("value", pv))
    member_ops = [
        st.one_of(_truncate, _flips, header),                                 # header.json
        st.one_of(_truncate, _flips, _dims, st.just(("duplicate", None))),    # index.npz
        st.one_of(_truncate, _flips, value),                                  # ids.i32
        st.one_of(_truncate, _flips, value),                                  # bounds.i64
    ]
    one = st.one_of(*[ops.map(lambda op, k=k: ("member", (k, op))) for k, ops in enumerate(member_ops)])
    return st.lists(one, min_size=1, max_size=3)


def _store_member_damage(name: str, data: bytes, op) -> bytes:
    kind, arg = op
    if kind == "json":
        try:
            doc = json.loads(data)
            doc[arg[0]] = arg[1]
            return json.dumps(doc).encode()
        except Exception:  # the damage so far left no JSON object to edit
            return data
    if kind == "value":
        width, dtype = (4, "<i4") if name == "ids.i32" else (8, "<i8")
        if len(data) < width:
            return data
        at = (arg[0] % (len(data) // width)) * width
        x = np.array(arg[1] % (1 << (8 * width)), dtype=np.uint64 if width == 8 else np.uint32)
        return data[:at] + x.astype(dtype.replace("i", "u")).tobytes() + data[at + width:]
    reader = "phrases" if name == "index.npz" else "vocab"  # a zip of .npy; or plain bytes
    return apply_damage(reader, data, [op])


def apply_damage(reader: str, data, ops):
    """The good file's bytes (a store's {member: bytes}) with the damage `ops` applied."""
    for kind, arg in ops:
        if kind == "member":
            name = STORE_MEMBERS[arg[0]]
            data = dict(data, **{name: _store_member_damage(name, data[name], arg[1])})
        elif kind == "truncate" and data:
            data = data[: arg % len(data)]
        elif kind == "flips" and data:
            b = bytearray(data)
            for pos, x in arg:
                b[pos % len(b)] ^= x
            data = bytes(b)
        elif kind == "header":
            data = _header_line(reader, data, *arg)
        elif kind == "shape":
            data = _replace_npy_shape(data, arg[0], arg[1])
        elif kind == "duplicate":
            try:
                data = _duplicate_words(reader, data)
            except Exception:  # the damage so far left nothing to duplicate in
                pass
    return data


# ---------------------------------------------------------------- one property, two budgets
class Counts(dict):
    def __init__(self):
        super().__init__(cases=0, clean_loads=0, clean_errors=0, other_exceptions=0, crashes=0, hangs=0)
        self.examples = []
        self.seen = set()          # digests of the distinct damaged inputs
        self.slowest_cpu_s = 0.0   # the most CPU time one case took
        self.slowest = None        # ... and its input


def run_case(reader: str, path: Path, data, counts: Counts, limit_s: float = 0):
    """Write `data` to `path` and load it; count the outcome. Returns the unexpected exception.

    limit_s: CPU seconds a case may take before it counts as a hang (SIGPROF: CPU time, not wall
    time, so that a busy shared machine does not turn slow cases into hangs); 0: no limit. The
    first call of a numba function compiles it (or loads numba's cache), which can take longer:
    a case over the limit is tried once more, and is a hang only if it is over the limit again.
    Python's garbage collector is off while a case runs: a full collection of the fuzzer's own
    objects (hypothesis keeps every example of a run) took up to a second of CPU in a long
    campaign, and was counted against the case it fell into."""
    import gc
    write_case(path, data)
    counts["cases"] += 1
    counts.seen.add(hashlib.blake2b(case_bytes(data), digest_size=8).digest())
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_counted(reader, path, data, counts, limit_s)
    finally:
        if gc_enabled:
            gc.enable()


def _load_counted(reader, path, data, counts, limit_s):
    import signal
    for attempt in (1, 2):
        if limit_s:
            signal.setitimer(signal.ITIMER_PROF, limit_s)
        cpu0 = time.process_time()
        hung = False
        try:
            LOADERS[reader](path)
            counts["clean_loads"] += 1
        except _Hang:
            hung = True
            if attempt == 1:
                continue
            counts["hangs"] += 1
            counts.examples.append(("hang", data))
        except DOCUMENTED:
            counts["clean_errors"] += 1
        except BaseException as e:  # noqa: B902 - what the property forbids, counted
            if isinstance(e, KeyboardInterrupt):
                raise
            counts["other_exceptions"] += 1
            counts.examples.append((f"{type(e).__name__}: {str(e)[:200]}", data))
            return e
        finally:
            if limit_s:
                signal.setitimer(signal.ITIMER_PROF, 0)
            took = time.process_time() - cpu0
            if not hung and took > counts.slowest_cpu_s:  # the slowest case that finished
                counts.slowest_cpu_s, counts.slowest = took, data
        return None
    return None


class _Hang(BaseException):
    pass


def _on_alarm(_signum, _frame):
    raise _Hang()


BATCH = 10_000        # cases per hypothesis run (its engine's memory grows with the cases of a run)
SNAPSHOT_CASES = 25   # a child writes its counts (its heartbeat) every this many cases
WATCHDOG_S = 600.0    # a child silent this long is stuck where no signal reaches (compiled code)
MEMORY_LIMIT = 2 << 30  # address space of a child: a reader allocating for an absurd size fails


def campaign(reader: str, base: Path, cases: int, workdir: Path, limit_s: float = 1.0, seed: int = 0,
             on_progress=None) -> Counts:
    """`cases` hypothesis examples against one reader, counted (nothing raised); in runs of BATCH
    examples, run k seeded with seed + k, so that a campaign can be repeated."""
    import signal
    from hypothesis import seed as hypothesis_seed
    signal.signal(signal.SIGPROF, _on_alarm)
    counts = Counts()
    good = read_base(base)
    target = workdir / ("case" + "".join(base.suffixes))
    done = 0
    while done < cases:
        n = min(BATCH, cases - done)

        @hypothesis_seed(seed + done // BATCH)
        @settings(max_examples=n, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck))
        @given(ops=damage(reader))
        def prop(ops):
            run_case(reader, target, apply_damage(reader, good, ops), counts, limit_s)
            if on_progress is not None and counts["cases"] % SNAPSHOT_CASES == 0:
                on_progress(counts)

        before = counts["cases"]
        prop()
        done += max(counts["cases"] - before, 1)
    return counts


def _snapshot(counts: Counts, result_file: str, finished: bool):
    doc = {"counts": dict(counts), "distinct": len(counts.seen), "slowest_cpu_s": counts.slowest_cpu_s,
           "slowest_again_s": getattr(counts, "slowest_again_s", None),
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "finished": finished,
           "examples": [(what, case_bytes(data).hex()) for what, data in counts.examples[:5]]}
    tmp = result_file + ".tmp"
    Path(tmp).write_text(json.dumps(doc))
    os.replace(tmp, result_file)


def _child(reader, cases, result_file, workdir, limit_s, seed):
    import logging
    import warnings
    logging.disable(logging.WARNING)  # "duplicate words, keeping the first" on every such case
    warnings.simplefilter("ignore")   # numpy's "overflow encountered in cast" for 1e300 in a text file
    with tempfile.TemporaryDirectory() as tmp:
        bases = make_base_files(tmp)
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        counts = campaign(reader, bases[reader], cases, Path(workdir), limit_s, seed,
                          on_progress=lambda c: _snapshot(c, result_file, False))
        if counts.slowest is not None:  # the slowest case once more, warm: was it the input, or the first call?
            t0 = time.process_time()
            run_case(reader, Path(workdir) / ("case" + "".join(bases[reader].suffixes)), counts.slowest, Counts(),
                     limit_s)
            counts.slowest_again_s = time.process_time() - t0
        _snapshot(counts, result_file, True)


def _run_reader(reader: str, cases: int, limit_s: float, seed: int, findings: Path) -> dict:
    """Run a reader's cases in child processes: a child that dies (a crash) or goes silent (a hang
    in compiled code) is counted with the case in hand, which is saved under `findings`, and a
    new child goes on with the cases left. The watchdog starts with a child's first case: before,
    it makes its good files (and may compile numba's kernels, for minutes at nice 19 on a busy
    machine); a child that fails before its first case is an error of the campaign, not a finding."""
    total = dict.fromkeys(["cases", "clean_loads", "clean_errors", "other_exceptions", "crashes", "hangs"], 0)
    total.update(distinct=0, slowest_cpu_s=0.0, slowest_again_s=0.0, peak_rss_mb=0.0, examples=[], seconds=0.0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    t0 = time.monotonic()
    for restart in range(20):
        left = cases - total["cases"]
        if left <= 0:
            break
        with tempfile.TemporaryDirectory() as work:
            result = os.path.join(work, "result.json")
            child = subprocess.Popen([sys.executable, __file__, "--child", reader, str(left), result, work,
                                      str(limit_s), str(seed + 1000 * restart)], env=env)
            last, beat = None, time.monotonic()
            while child.poll() is None:
                time.sleep(1.0)
                stamp = os.path.getmtime(result) if os.path.exists(result) else None
                if stamp != last or not _case_files(work):
                    last, beat = stamp, time.monotonic()
                elif time.monotonic() - beat > WATCHDOG_S:
                    child.kill()
                    child.wait()
                    break
            out = json.loads(Path(result).read_text()) if os.path.exists(result) else None
            for k in ("cases", "clean_loads", "clean_errors", "other_exceptions", "crashes", "hangs"):
                total[k] += out["counts"][k] if out else 0
            if out:
                total["distinct"] += out["distinct"]
                if out["slowest_cpu_s"] >= total["slowest_cpu_s"]:
                    total["slowest_cpu_s"] = out["slowest_cpu_s"]
                    total["slowest_again_s"] = out["slowest_again_s"] or 0.0
                total["peak_rss_mb"] = max(total["peak_rss_mb"], out["peak_rss_mb"])
                total["examples"] += out["examples"]
            if out and out["finished"] and child.returncode == 0:
                break
            if not _case_files(work):
                raise RuntimeError(f"the {reader} child failed before its first case (status {child.returncode})")
            # the child died or hung in the middle of a case: count it, keep its input
            what = "hangs" if child.returncode == -9 else "crashes"  # -9: the watchdog's kill
            total[what] += 1
            total["cases"] += 1
            findings.mkdir(parents=True, exist_ok=True)
            kept = findings / f"{reader}-{what}-{restart}"
            for p in _case_files(work):
                shutil.copytree(p, kept) if p.is_dir() else shutil.copy(p, kept)
            total["examples"].append((f"child {'hung' if what == 'hangs' else 'died'} (status {child.returncode}), "
                                      f"input kept in {kept}", ""))
    total["seconds"] = time.monotonic() - t0
    return total


def _case_files(work) -> list:
    return [p for p in Path(work).iterdir() if p.name.startswith("case")]


COLUMNS = ["cases", "distinct", "clean_loads", "clean_errors", "other_exceptions", "crashes", "hangs",
           "slowest_cpu_s", "slowest_again_s", "peak_rss_mb", "seconds"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000, help="cases per reader")
    ap.add_argument("--readers", nargs="*", default=list(LOADERS), choices=list(LOADERS))
    ap.add_argument("--hang-seconds", type=float, default=1.0,
                    help="CPU seconds after which a case counts as a hang (default 1)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed of the first run of examples")
    ap.add_argument("--findings", default="fuzz-findings", help="where the inputs of crashes and hangs are kept")
    ap.add_argument("--json", help="also write the counts to this file")
    ap.add_argument("--jobs", type=int, default=1, help="readers fuzzed at the same time (default 1)")
    ap.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        reader, cases, result, work, limit_s, seed = args.child
        _child(reader, int(cases), result, work, float(limit_s), int(seed))
        return 0
    print(f"{'reader':<15}" + "".join(f"{c:>17}" for c in COLUMNS), flush=True)
    from concurrent.futures import ThreadPoolExecutor, as_completed
    bad, rows = 0, {}
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {pool.submit(_run_reader, reader, args.cases, args.hang_seconds, args.seed, Path(args.findings)):
                   reader for reader in args.readers}
        for future in as_completed(futures):
            reader, counts = futures[future], future.result()
            rows[reader] = counts
            print(f"{reader:<15}" + "".join(f"{counts[c]:>17.3f}" if isinstance(counts[c], float) else
                                            f"{counts[c]:>17}" for c in COLUMNS), flush=True)
            for what, data in counts["examples"][:5]:
                print(f"    {what}: {data[:200]}")
            bad += counts["other_exceptions"] + counts["crashes"] + counts["hangs"]
            if args.json:
                Path(args.json).write_text(json.dumps({r: rows[r] for r in args.readers if r in rows}, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
