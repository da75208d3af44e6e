"""Fuzz every w2v file reader: damaged copies of small good files must load correctly or raise
the documented error (ValueError and its subclasses, FileNotFoundError), never anything else,
never hang, never crash the interpreter.

    python tools/fuzz_loaders.py --cases 100000            # every reader, 100,000 cases each
    python tools/fuzz_loaders.py --cases 300 --readers text binary

Each reader runs in its own child process (a segfault there is counted as a crash, not lost),
with hypothesis generating the damage (random truncation, byte flips, absurd headers, wrong
dimensions, duplicate words) and a per-case alarm counting hangs. Prints one row of counts per
reader: cases, clean loads, clean errors, other exceptions, crashes, hangs. tests/test_fuzz_loaders.py
runs the same properties with a small budget.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
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
    return {"text": d / "v.txt", "binary": d / "v.bin", "native": d / "v.npz", "model": d / "model.npz",
            "checkpoint": d / "checkpoint.npz", "vocab": d / "vocab.txt", "phrases": d / "phrases.npz",
            "frozen_phrases": d / "frozen.json"}


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


LOADERS = {"text": _load_text, "binary": _load_binary, "native": _load_native, "model": _load_model,
           "checkpoint": _load_model, "vocab": _load_vocab, "phrases": _load_phrases,
           "frozen_phrases": _load_phrases}
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
    zipped = reader in ("native", "model", "checkpoint", "phrases")
    number = st.one_of(st.sampled_from(ABSURD), st.integers(-2 ** 40, 2 ** 40))
    truncate = st.integers(0, 1 << 20).map(lambda k: ("truncate", k))
    flips = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(1, 255)), min_size=1, max_size=8).map(
        lambda f: ("flips", f))
    header = st.tuples(number, number).map(lambda vd: ("header", vd))
    dims = st.tuples(st.integers(0, 5), st.lists(number, min_size=1, max_size=3)).map(lambda x: ("shape", x))
    dup = st.just(("duplicate", None))
    kinds = [truncate, flips, dup] + ([dims] if zipped else [header])
    return st.lists(st.one_of(*kinds), min_size=1, max_size=3)


def apply_damage(reader: str, data: bytes, ops) -> bytes:
    for kind, arg in ops:
        if kind == "truncate" and data:
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


def run_case(reader: str, path: Path, data: bytes, counts: Counts, alarm_s: float = 0):
    """Write `data` to `path` and load it; count the outcome. Returns the unexpected exception."""
    import signal
    path.write_bytes(data)
    counts["cases"] += 1
    if alarm_s:
        signal.setitimer(signal.ITIMER_REAL, alarm_s)
    try:
        LOADERS[reader](path)
        counts["clean_loads"] += 1
    except _Hang:
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
        if alarm_s:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return None


class _Hang(BaseException):
    pass


def _on_alarm(_signum, _frame):
    raise _Hang()


def campaign(reader: str, base: Path, cases: int, workdir: Path, alarm_s: float = 5.0) -> Counts:
    """`cases` hypothesis examples against one reader, counted (nothing raised)."""
    import signal
    signal.signal(signal.SIGALRM, _on_alarm)
    counts = Counts()
    good = base.read_bytes()
    target = workdir / ("case" + "".join(base.suffixes))

    @settings(max_examples=cases, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(ops=damage(reader))
    def prop(ops):
        run_case(reader, target, apply_damage(reader, good, ops), counts, alarm_s)

    prop()
    return counts


def _child(reader, cases, result_file):
    import logging
    logging.disable(logging.WARNING)  # "duplicate words, keeping the first" on every such case
    with tempfile.TemporaryDirectory() as tmp:
        bases = make_base_files(tmp)
        work = Path(tmp) / "work"
        work.mkdir()
        counts = campaign(reader, bases[reader], cases, work)
        examples = [(what, data.hex()) for what, data in counts.examples[:5]]
        Path(result_file).write_text(json.dumps({"counts": dict(counts), "examples": examples}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000, help="cases per reader")
    ap.add_argument("--readers", nargs="*", default=list(LOADERS), choices=list(LOADERS))
    ap.add_argument("--child", nargs=3, metavar=("READER", "CASES", "RESULT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child[0], int(args.child[1]), args.child[2])
        return 0
    columns = ["cases", "clean_loads", "clean_errors", "other_exceptions", "crashes", "hangs"]
    print(f"{'reader':<15}" + "".join(f"{c:>17}" for c in columns))
    bad = 0
    for reader in args.readers:
        with tempfile.NamedTemporaryFile(suffix=".json") as result:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
            rc = subprocess.run([sys.executable, __file__, "--child", reader, str(args.cases), result.name],
                                env=env).returncode
            text = Path(result.name).read_text()
        if rc != 0 or not text:
            counts = dict.fromkeys(columns, 0)
            counts["crashes"] = 1
            examples = [(f"child exited with status {rc}", "")]
        else:
            out = json.loads(text)
            counts, examples = out["counts"], out["examples"]
        print(f"{reader:<15}" + "".join(f"{counts[c]:>17}" for c in columns), flush=True)
        for what, data in examples:
            print(f"    {what}: {data[:200]}")
        bad += counts["other_exceptions"] + counts["crashes"] + counts["hangs"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
