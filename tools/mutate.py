"""Mutation testing for w2v: plant small bugs in the source, one at a time, and see which the tests miss.

Run from the repository root with the project's interpreter (no extra dependency):

    python tools/mutate.py --list                        # the mutants of the default modules
    python tools/mutate.py w2v/sampling.py --sample 20   # 20 random mutants of one module
    python tools/mutate.py --jobs 2 --timeout 300        # everything, two scratch copies
    python tools/mutate.py --only sampling:26:36:arith   # one mutant by id (as --list prints it)
    python tools/mutate.py --report                      # the table of what the results file holds

Mutants come from the AST and are applied as byte-span replacements, so the rest of the file is
byte-identical: arithmetic (+ -, * /, // %, << >>, & |), comparisons (< <=, > >=, == !=, is, in),
and/or, `not x` -> `x`, if-conditions negated, integers n -> n+1 (0 -> 1, 1 -> 0), True <-> False,
`x op= y` -> `x = y` and -> `pass`, a call statement -> `pass`, `return x` -> `return None`.
Never mutated: strings (docstrings, messages), f-strings, annotations, decorators, `raise`
statements, logging/print/warnings calls, and any statement whose first line carries
`# pragma: no mutate` (on a `def` line: the whole function).

Each mutant runs in a scratch copy (--workdir, default /tmp/w2v-mutate/copy-J) that persists
between runs, so numba's on-disk cache (keyed by file path and mtime) stays warm: the mutated
file is rewritten, its module's test selection runs (`pytest -x -q -p no:cacheprovider`), then the
original bytes, mtime and numba cache files are put back. Modules whose jitted code imports the
mutated one lose their cache for that run, since numba does not track cross-module dependencies.

Outcomes: killed (a test failed), error (the tests could not run: a crash, a compile/typing
error, a collection error), timeout (ran past --timeout: an endless loop), survived (all passed:
a missing test or an equivalent mutant). Score = (killed + error + timeout) / run.
Results are appended to a JSON-lines file (--results); a rerun skips mutants already recorded
for the same module source, so an interrupted campaign resumes.
"""
from __future__ import annotations

import argparse
import ast
import bisect
import glob
import hashlib
import json
import os
import random
import signal
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODULES = ["w2v/kernels.py", "w2v/sampling.py", "w2v/huffman.py", "w2v/vocab.py",
                   "w2v/trainer.py", "w2v/plan.py", "w2v/backends/threads.py"]
# module stem -> test globs run for its mutants (the first failure stops the run, so cheap tests first)
DEFAULT_TESTS = {  # the fast tests that exercise each module, in the order that kills soonest
    "kernels": ["tests/test_kernels.py", "tests/test_kernels_stats.py", "tests/test_sampling.py",
                "tests/test_trainer.py"],
    "sampling": ["tests/test_sampling.py", "tests/test_kernels_stats.py", "tests/test_kernels.py"],
    "huffman": ["tests/test_sampling.py", "tests/test_kernels.py"],
    "vocab": ["tests/test_vocab.py", "tests/test_fast_scan.py", "tests/test_model_api.py"],
    "trainer": ["tests/test_trainer.py", "tests/test_plan.py", "tests/test_checkpoint.py",
                "tests/test_backend_threads.py"],
    "plan": ["tests/test_plan.py", "tests/test_trainer.py", "tests/test_checkpoint.py"],
    "threads": ["tests/test_backend_threads.py", "tests/test_trainer.py", "tests/test_checkpoint.py",
                "tests/test_kernels.py"],
    "monitor": ["tests/test_monitor.py"],
}
PRAGMA = "# pragma: no mutate"
SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
        ast.FloorDiv: ast.Mod, ast.Mod: ast.FloorDiv, ast.LShift: ast.RShift,
        ast.RShift: ast.LShift, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd,
        ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
        ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
        ast.In: ast.NotIn, ast.NotIn: ast.In, ast.And: ast.Or, ast.Or: ast.And}
SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
          ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|",
          ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
          ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
          ast.And: "and", ast.Or: "or"}
QUIET_CALLS = {"log", "logger", "logging", "warnings", "print", "_log", "LOG"}


@dataclass
class Mutant:
    id: str
    module: str       # path relative to the repository root
    line: int
    operator: str
    original: str
    mutated: str
    start: int        # byte offsets of the replaced span in the module's source
    end: int
    sha: str          # of the unmutated module, so results of an older source are not reused

    def apply(self, src: bytes) -> bytes:
        return src[:self.start] + self.mutated.encode() + src[self.end:]


def _op_pattern(op, suffix: str = "") -> bytes:
    words = SYMBOL[type(op)].split()
    if words[0].isalpha():
        return rb"\b" + rb"\s+".join(w.encode() for w in words) + rb"\b"
    # a lone symbol must not be part of a longer one (< in <=, / in //, * in **)
    return rb"(?<![<>=!*/])" + re.escape((words[0] + suffix).encode()) + rb"(?![<>=*/])"


class _Finder(ast.NodeVisitor):
    def __init__(self, src: bytes, module: str):
        self.src, self.module = src, module
        self.lines = src.split(b"\n")
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line) + 1)
        self.sha = hashlib.sha1(src).hexdigest()[:12]
        self.found: list[Mutant] = []

    def off(self, line: int, col: int) -> int:   # ast columns are UTF-8 byte offsets
        return self.starts[line - 1] + col

    def span(self, node) -> tuple[int, int]:
        return self.off(node.lineno, node.col_offset), self.off(node.end_lineno, node.end_col_offset)

    def add(self, operator: str, start: int, end: int, mutated: str):
        line = bisect.bisect_right(self.starts, start)
        col = start - self.starts[line - 1]
        self.found.append(Mutant(f"{Path(self.module).stem}:{line}:{col}:{operator}", self.module, line,
                                 operator, self.src[start:end].decode(), mutated, start, end, self.sha))

    def add_op(self, op, left, right, operator: str, suffix: str = ""):
        """Swap the operator written between the spans of `left` and `right` (`suffix`: = of op=)."""
        a, b = self.span(left)[1], self.span(right)[0]
        gap = self.src[a:b]
        hit = re.search(_op_pattern(op, suffix), gap)
        if b"#" in gap or hit is None:
            return
        self.add(operator, a + hit.start(), a + hit.end(), SYMBOL[SWAP[type(op)]] + suffix)

    def generic_visit(self, node):
        if isinstance(node, ast.stmt) and PRAGMA.encode() in self.lines[node.lineno - 1]:
            return
        if isinstance(node, (ast.JoinedStr, ast.Raise)):
            return
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.value.id if (
                isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)) else None
            if name in QUIET_CALLS:
                return
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns", "decorator_list", "type_comment"):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    self.visit(child)
        self.mutate(node)

    def mutate(self, node):
        if isinstance(node, ast.BinOp) and type(node.op) in SWAP:
            self.add_op(node.op, node.left, node.right, "arith")
        elif isinstance(node, ast.Compare):
            for op, left, right in zip(node.ops, [node.left] + node.comparators, node.comparators):
                self.add_op(op, left, right, "cmp")
        elif isinstance(node, ast.BoolOp):
            for left, right in zip(node.values, node.values[1:]):
                self.add_op(node.op, left, right, "bool")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            s, e = self.span(node.operand)
            self.add("not", *self.span(node), self.src[s:e].decode())
        elif isinstance(node, (ast.If, ast.IfExp)):
            s, e = self.span(node.test)
            self.add("negate", s, e, f"not ({self.src[s:e].decode()})")
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            self.add("bool-const", *self.span(node), str(not node.value))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            n = node.value
            self.add("int", *self.span(node), str({0: 1, 1: 0}.get(n, n + 1)))
        elif isinstance(node, ast.AugAssign):
            s, e = self.span(node)
            if type(node.op) in SWAP:
                self.add_op(node.op, node.target, node.value, "aug-op", "=")
            target = self.src[s:self.span(node.target)[1]].decode()
            value = self.src[self.span(node.value)[0]:e].decode()
            self.add("aug-assign", s, e, f"{target} = {value}")
            self.add("aug-remove", s, e, "pass")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self.add("call-remove", *self.span(node), "pass")
        elif isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                self.add("return", *self.span(node.value), "None")


def find_mutants(module: str, root: Path = REPO) -> list[Mutant]:
    """Every mutant of `module` that compiles and differs from the original's AST."""
    src = (root / module).read_bytes()
    tree = ast.parse(src)
    finder = _Finder(src, module)
    finder.visit(tree)
    reference = ast.dump(tree)
    out, seen = [], set()
    for m in sorted(finder.found, key=lambda m: (m.start, m.end, m.id)):
        if m.id in seen:
            continue
        try:
            if ast.dump(ast.parse(m.apply(src))) == reference:
                continue
        except SyntaxError:
            continue
        seen.add(m.id)
        out.append(m)
    return out


# ---------------------------------------------------------------- running

def _source_files(repo: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return [f for f in out if f and (repo / f).is_file()]


def sync_copy(repo: Path, copy: Path) -> None:
    """Make `copy` a copy of the repository's files with their mtimes, keeping its caches."""
    files = _source_files(repo)
    for f in files:
        src, dst = repo / f, copy / f
        st = src.stat()
        if dst.exists() and dst.stat().st_mtime_ns == st.st_mtime_ns and dst.read_bytes() == src.read_bytes():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    keep = set(files)
    for path in copy.rglob("*"):
        rel = path.relative_to(copy).as_posix()
        if path.is_file() and "__pycache__" not in path.parts and rel not in keep:
            path.unlink()


def _numba_cache(pyfile: Path) -> dict[Path, bytes]:
    d = pyfile.parent / "__pycache__"
    return {p: p.read_bytes() for p in d.glob(f"{pyfile.stem}.*.nb[ic]")} if d.is_dir() else {}


def _restore_cache(pyfile: Path, saved: dict[Path, bytes]) -> None:
    for p in set(_numba_cache(pyfile)) - set(saved):
        p.unlink()
    for p, data in saved.items():
        if not p.exists() or p.read_bytes() != data:
            p.write_bytes(data)


def _jit_dependents(copy: Path, module: str) -> list[Path]:
    """Modules of the package with jitted code that import `module` (their cache would go stale)."""
    dotted = module[:-3].replace("/", ".")
    out = []
    for py in (copy / dotted.split(".")[0]).rglob("*.py"):
        text = py.read_text(encoding="utf-8")
        if py == copy / module or "njit" not in text:
            continue
        here = py.relative_to(copy).with_suffix("").parts
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[:len(here) - node.level] + ((node.module,) if node.module else ())) \
                    if node.level else node.module
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            if dotted in names:
                out.append(py)
                break
    return out


def tests_for(copy: Path, module: str, tests: dict[str, list[str]]) -> list[str]:
    globs = tests.get(Path(module).stem, [])
    found = []
    for g in globs:
        found += [f for f in sorted(glob.glob(g, root_dir=copy)) if f not in found]
    return found or ["tests"]


def run_tests(copy: Path, files: list[str], extra: list[str], timeout: float) -> tuple[str, float, str, str]:
    """(outcome, seconds, detail, pytest's output) of one run of the tests in `copy`."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    # the copy, not an editable install, is what tests and their subprocesses import
    env["PYTHONPATH"] = str(copy) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"   # a .pyc keyed by whole-second mtime could outlive a mutant
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *extra, *files]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        return "timeout", time.monotonic() - t0, f"over {timeout:.0f} s", ""
    out = out.decode(errors="replace")
    seconds = time.monotonic() - t0
    rc = proc.returncode
    if rc == 0:
        return "survived", seconds, "", out
    failed = re.search(r"^(FAILED|ERROR) \S+", out, re.M)
    compile_error = re.search(r"\b(TypingError|LoweringError|UnsupportedError|NumbaError|SyntaxError)\b", out)
    if rc == 1 and not compile_error:
        return "killed", seconds, failed.group(0) if failed else "", out
    # a signal (rc < 0: a segfault from an out-of-bounds index), a collection error, a numba compile error
    detail = f"signal {-rc}" if rc < 0 else compile_error.group(1) if compile_error else f"pytest exit {rc}"
    return "error", seconds, detail, out


def run_mutant(copy: Path, m: Mutant, tests, extra, timeout) -> tuple[str, float, str]:
    path = copy / m.module
    original, st = path.read_bytes(), path.stat()
    if hashlib.sha1(original).hexdigest()[:12] != m.sha:
        raise RuntimeError(f"{path} differs from the source the mutants were made from")
    dependents = _jit_dependents(copy, m.module)
    saved = {p: _numba_cache(p) for p in [path, *dependents]}
    try:
        for p in dependents:
            for f in saved[p]:
                f.unlink()
        path.write_bytes(m.apply(original))
        # a stamp numba cannot confuse with the original's (same size and mtime would reuse its cache)
        os.utime(path, ns=(st.st_atime_ns, max(time.time_ns(), st.st_mtime_ns + 10**9)))
        outcome, seconds, detail, _ = run_tests(copy, tests_for(copy, m.module, tests), extra, timeout)
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        for p, files in saved.items():
            _restore_cache(p, files)
    return outcome, seconds, detail


def load_results(path: Path) -> dict[tuple[str, str], dict]:
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done[(r["id"], r.get("sha", ""))] = r
    return done


def table(mutants: list[Mutant], done: dict) -> str:
    rows, survivors = {}, []
    for m in mutants:
        r = done.get((m.id, m.sha))
        if r is None:
            continue
        row = rows.setdefault(m.module, dict(run=0, killed=0, error=0, timeout=0, survived=0))
        row["run"] += 1
        row[r["outcome"]] += 1
        if r["outcome"] == "survived":
            survivors.append(f"  {m.id:<34} {m.original!r} -> {m.mutated!r}")
    lines = [f"{'module':<24} {'run':>5} {'killed':>7} {'error':>6} {'timeout':>8} {'survived':>9} {'score':>6}"]
    total = dict(run=0, killed=0, error=0, timeout=0, survived=0)
    for module, row in sorted(rows.items()) + [("total", total)]:
        if module != "total":
            for k in total:
                total[k] += row[k]
        score = (row["run"] - row["survived"]) / row["run"] if row["run"] else float("nan")
        lines.append(f"{module:<24} {row['run']:>5} {row['killed']:>7} {row['error']:>6} "
                     f"{row['timeout']:>8} {row['survived']:>9} {score:>6.0%}")
    return "\n".join(lines + (["survivors:"] + survivors if survivors else []))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("modules", nargs="*", help="files to mutate (default: the trainer's core; missing ones skipped)")
    p.add_argument("--list", action="store_true", help="print the mutants and stop")
    p.add_argument("--report", action="store_true", help="print the table of recorded results and stop")
    p.add_argument("--only", action="append", default=[], metavar="ID", help="run these mutants only")
    p.add_argument("--sample", type=int, help="run a random sample of N mutants")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="parallel scratch copies")
    p.add_argument("--timeout", type=float, help="seconds per mutant (default: max(180, 5 x baseline))")
    p.add_argument("--tests", action="append", default=[], metavar="STEM=GLOB[,GLOB]",
                   help="test files for a module, e.g. sampling=tests/test_sampling.py")
    p.add_argument("--pytest-args", default="", help="extra pytest arguments, e.g. \"-m 'not slow'\"")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/w2v-mutate"))
    p.add_argument("--results", type=Path, help="JSON lines (default: WORKDIR/results.jsonl)")
    args = p.parse_args(argv)

    modules = [m for m in (args.modules or DEFAULT_MODULES) if (REPO / m).is_file()]
    mutants = [m for mod in modules for m in find_mutants(mod)]
    if args.only:
        mutants = [m for m in mutants if m.id in args.only]
    if args.sample is not None and args.sample < len(mutants):
        mutants = sorted(random.Random(args.seed).sample(mutants, args.sample),
                         key=lambda m: (m.module, m.start, m.id))
    if args.list:
        for m in mutants:
            print(f"{m.id:<34} {m.original!r} -> {m.mutated!r}")
        print(f"{len(mutants)} mutants of {len(modules)} modules")
        return 0
    results = args.results or args.workdir / "results.jsonl"
    done = load_results(results)
    if args.report:
        print(table(mutants, done))
        return 0
    tests = {k: list(v) for k, v in DEFAULT_TESTS.items()}
    for spec in args.tests:
        stem, _, globs = spec.partition("=")
        tests[stem] = globs.split(",")
    extra = shlex.split(args.pytest_args)
    todo = [m for m in mutants if (m.id, m.sha) not in done]
    print(f"{len(mutants)} mutants, {len(mutants) - len(todo)} already in {results}, {len(todo)} to run")
    if not todo:
        print(table(mutants, done))
        return 0

    copies = [args.workdir / f"copy-{j}" for j in range(max(1, min(args.jobs, len(todo))))]
    timeouts = {}
    for copy in copies:
        copy.mkdir(parents=True, exist_ok=True)
        sync_copy(REPO, copy)
        files = sorted({f for m in todo for f in tests_for(copy, m.module, tests)})
        outcome, seconds, _, out = run_tests(copy, files, extra, 3600)
        if outcome != "survived":
            print(out[-3000:])
            print(f"the unmutated tests do not pass in {copy} ({outcome}); nothing run")
            return 1
        print(f"baseline {copy}: {seconds:.0f} s ({' '.join(files)})")
        timeouts[copy] = args.timeout or max(180.0, 5 * seconds)

    queue, lock = list(reversed(todo)), threading.Lock()
    results.parent.mkdir(parents=True, exist_ok=True)

    def worker(copy: Path):
        while True:
            with lock:
                if not queue:
                    return
                m = queue.pop()
            outcome, seconds, detail = run_mutant(copy, m, tests, extra, timeouts[copy])
            record = {k: v for k, v in asdict(m).items() if k not in ("start", "end")}
            record.update(outcome=outcome, seconds=round(seconds, 1), detail=detail)
            with lock:
                with results.open("a") as f:
                    f.write(json.dumps(record) + "\n")
                done[(m.id, m.sha)] = record
                print(f"{outcome:<9} {seconds:6.1f} s  {m.id:<34} {m.original!r} -> {m.mutated!r}  {detail}",
                      flush=True)

    def terminated(_signum, _frame):
        raise KeyboardInterrupt  # the tests run in their own sessions: SIGTERM would orphan them

    signal.signal(signal.SIGTERM, terminated)
    threads = [threading.Thread(target=worker, args=(c,)) for c in copies]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:   # let the running mutants finish so their files are restored
        with lock:
            queue.clear()
        print("interrupted: waiting for the running mutants to finish and restore their files")
        for t in threads:
            t.join()
    print(table(mutants, done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
