"""Data safety of every write: no output destroys an input, special files are written through,
writes are durable and leave no temporaries behind, and the pre-check fails where the write would.
"""
from __future__ import annotations

import fcntl
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from w2v import KeyedVectors, Word2Vec, formats
from w2v.cli import main

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = os.geteuid() == 0
NOBODY = 65534
TRAIN = ["-size", "8", "-iter", "1", "-min-count", "1", "-threads", "1"]
OTHER_UID = 4321


def run_python(code, **kw):
    """Run `code` in a fresh interpreter that imports this checkout's w2v."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code], env=env, cwd="/", capture_output=True,
                          text=True, timeout=120, **kw)


def temporaries(directory):
    return sorted(p.name for p in Path(directory).iterdir() if p.name.startswith(".tmp-"))


@pytest.fixture
def small_corpus(tmp_path):
    words = [f"w{i}" for i in range(30)]
    rng = np.random.default_rng(0)
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(rng.choice(words, 12)) for _ in range(200)) + "\n")
    return path


@pytest.fixture
def no_training(monkeypatch):
    """Any model built means the check came too late: refused paths must fail before any work."""
    def refuse(**kw):
        raise AssertionError("training started although an output path collides")
    monkeypatch.setattr("w2v.model.Word2Vec", refuse)


def assert_refused(capsys, argv, *expected):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("w2v: error: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, err


# ---------------------------------------------------------------- outputs never destroy inputs
@pytest.mark.parametrize("flags, expected", [
    (["-output", "{corpus}"], ["-output", "-train"]),
    (["-save-vocab", "{corpus}"], ["-save-vocab", "-train"]),
    (["-save-model", "{corpus}"], ["-save-model", "-train"]),
    (["-output", "{link}"], ["-output", "-train"]),        # a symlink to the corpus
    (["-output", "{hardlink}"], ["-output", "-train"]),    # another name of the same inode
    (["-output", "{tmp}/v.txt", "-save-model", "{tmp}/v.txt"], ["-save-model", "-output"]),
    (["-output", "{tmp}/v.txt", "-save-vocab", "{tmp}/./v.txt"], ["-save-vocab", "-output"]),
    (["-output", "{tmp}/vocab.txt", "-read-vocab", "{tmp}/vocab.txt"], ["-output", "-read-vocab"]),
])
def test_train_refuses_an_output_that_is_an_input_or_another_output(
        tmp_path, small_corpus, capsys, no_training, flags, expected):
    (tmp_path / "vocab.txt").write_text("w1 10\nw2 5\n")
    os.symlink(small_corpus, tmp_path / "link.txt")
    os.link(small_corpus, tmp_path / "hard.txt")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    names = dict(corpus=small_corpus, tmp=tmp_path, link=tmp_path / "link.txt",
                 hardlink=tmp_path / "hard.txt")
    argv = ["train", "-train", str(small_corpus)] + [f.format(**names) for f in flags] + TRAIN
    assert_refused(capsys, argv, "same file", *expected)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_train_refuses_outputs_among_a_corpus_directory(tmp_path, small_corpus, capsys, no_training):
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "a.txt").write_bytes(small_corpus.read_bytes())
    before = (corpus_dir / "a.txt").read_bytes()
    assert_refused(capsys, ["train", "-train", str(corpus_dir), "-output", str(corpus_dir / "a.txt")] + TRAIN,
                   "same file", "-train directory's file")
    # a new file there would be read as corpus by the next pass over the directory
    assert_refused(capsys, ["train", "-train", str(corpus_dir), "-save-vocab", str(corpus_dir / "v.txt"),
                            "-output", str(tmp_path / "vec.txt")] + TRAIN, "inside the -train directory")
    assert sorted(p.name for p in corpus_dir.iterdir()) == ["a.txt"]
    assert (corpus_dir / "a.txt").read_bytes() == before


def test_phrases_and_convert_refuse_writing_over_their_input(tmp_path, small_corpus, capsys):
    before = small_corpus.read_bytes()
    assert_refused(capsys, ["phrases", "-train", str(small_corpus), "-output", str(small_corpus)],
                   "same file", "-output", "-train")
    assert small_corpus.read_bytes() == before
    vec = tmp_path / "v.txt"
    KeyedVectors(2, ["a", "b"], np.eye(2, dtype=np.float32)).save_word2vec_format(vec)
    os.link(vec, tmp_path / "same.txt")
    vec_bytes = vec.read_bytes()
    for out in (vec, tmp_path / "same.txt"):
        assert_refused(capsys, ["convert", str(vec), str(out), "--to", "binary"], "same file", "OUT", "IN")
    assert vec.read_bytes() == vec_bytes


def test_distinct_outputs_and_character_devices_pass(tmp_path, small_corpus):
    formats.check_distinct_paths([("-output", tmp_path / "a"), ("-save-model", tmp_path / "b"),
                                  ("-save-vocab", None)], [("-train", small_corpus)])
    # nothing is replaced on a character device: it may take several outputs
    formats.check_distinct_paths([("-output", "/dev/null"), ("-save-model", "/dev/null")],
                                 [("-train", small_corpus)])


# ---------------------------------------------------------------- special files, links, modes
def test_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    payload = os.urandom(1 << 20)  # more than a pipe holds: the reader must run alongside
    received = bytearray()
    # also a writer: the reader's open returns at once, and closing it ends a reader left waiting
    keeper = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)

    def read():
        with open(fifo, "rb") as f:
            while len(received) < len(payload):
                chunk = f.read(len(payload) - len(received))
                if not chunk:
                    break
                received.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        with formats.atomic_output(fifo) as f:
            f.write(payload)
        reader.join(timeout=30)
    finally:
        os.close(keeper)
        reader.join(timeout=30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert bytes(received) == payload
    assert temporaries(tmp_path) == []


@pytest.mark.skipif(not IS_ROOT, reason="making a device node needs root")
def test_character_device_is_written_through_not_replaced(tmp_path):
    # a private copy of /dev/null (same major/minor): the real one is never put at risk
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod not permitted here")
    before = os.lstat(node)
    formats.check_writable(node)
    with formats.atomic_output(node) as f:
        f.write(b"x" * 100_000)
    # every writer, zip files too: /dev/null "seeks" and always tells 0
    kv = KeyedVectors(3, ["a", "b"], np.ones((2, 3), dtype=np.float32))
    kv.save_word2vec_format(node)
    kv.save_word2vec_format(node, binary=True)
    kv.save(node)
    model = Word2Vec(vector_size=4, min_count=1, workers=1)
    model.build_vocab(corpus_iterable=[["a", "b", "a"]] * 5)
    model.save(node)
    model.save_vocab(node)
    after = os.lstat(node)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("redirect", ["pipe", "file"])
def test_dev_stdout_is_written_through(tmp_path, redirect):
    code = ("from w2v import formats\n"
            "with formats.atomic_output('/dev/stdout', 'w') as f:\n"
            "    f.write('hello\\n')\n")
    if redirect == "pipe":
        assert run_python(code).stdout == "hello\n"
        return
    out = tmp_path / "out.txt"
    with open(out, "w") as f:
        inode = os.fstat(f.fileno()).st_ino
        env = dict(os.environ, PYTHONPATH=str(REPO))
        subprocess.run([sys.executable, "-c", code], stdout=f, env=env, check=True, timeout=120)
    # the redirected file itself received the bytes (not a new file renamed over its name)
    assert os.stat(out).st_ino == inode and out.read_text() == "hello\n"


def test_symlink_is_followed_and_stays_a_link(tmp_path):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    (real_dir / "v.txt").write_text("old\n")
    link = link_dir / "v.txt"
    os.symlink("../real/v.txt", link)
    formats.check_writable(link)
    with formats.atomic_output(link, "w") as f:
        f.write("new\n")
    assert link.is_symlink() and os.readlink(link) == "../real/v.txt"
    assert (real_dir / "v.txt").read_text() == "new\n"
    assert temporaries(real_dir) == [] and temporaries(link_dir) == []


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o640])
def test_existing_file_keeps_its_permissions(tmp_path, mode):
    path = tmp_path / "v.txt"
    path.write_text("old\n")
    path.chmod(mode)
    with formats.atomic_output(path, "w") as f:
        f.write("new\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == mode and path.read_text() == "new\n"


@pytest.mark.skipif(not IS_ROOT, reason="giving a file to another user needs root")
def test_existing_file_keeps_its_owner_when_root_rewrites_it(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("old\n")
    os.chown(path, OTHER_UID, OTHER_UID)
    with formats.atomic_output(path, "w") as f:
        f.write("new\n")
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (OTHER_UID, OTHER_UID)


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_follows_the_umask(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        KeyedVectors(3, ["a"], np.ones((1, 3), dtype=np.float32)).save(tmp_path / "v.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "v.npz").st_mode) == expected


# ---------------------------------------------------------------- durability and leftovers
def test_fsync_file_before_rename_and_directory_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(formats.os, "fsync", fsync)
    monkeypatch.setattr(formats.os, "replace", replace)
    target = tmp_path / "v.txt"
    with formats.atomic_output(target, "w") as f:
        f.write("data\n")
    kinds = [e[0] for e in events]
    assert kinds == ["fsync", "replace", "fsync"], events
    tmp_name = Path(events[0][1]).name
    assert tmp_name.startswith(f".tmp-{os.getpid()}-") and tmp_name.endswith("-v.txt")
    assert events[1][1] == str(target) and events[2][1] == str(tmp_path)


_SLOW_SAVE = """
import sys, time
from w2v import KeyedVectors, Word2Vec, formats
import numpy as np
kv = KeyedVectors(50, [f"n{{i}}" for i in range({rows})], np.full(({rows}, 50), 7, dtype=np.float32))
def stall(*args, **kwargs):
    # the vectors are in the temporary file; keys.json comes next: stop here
    print("writing", flush=True)
    time.sleep(3600)
formats.json.dumps = stall
kv.save({path!r})
"""


def _start_writer(path, rows=200_000):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_SAVE.format(rows=rows, path=str(path))],
                            env=env, cwd="/", stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line == "writing\n", proc.communicate(timeout=60)
    return proc


def test_sigkill_during_a_save_leaves_the_old_file_and_the_next_write_cleans_up(tmp_path):
    path = tmp_path / "v.npz"
    old = KeyedVectors(3, ["a", "b", "c"], np.arange(9, dtype=np.float32).reshape(3, 3))
    old.save(path)
    old_bytes = path.read_bytes()
    proc = _start_writer(path)
    try:
        left = temporaries(tmp_path)
        assert left == [n for n in left if n.startswith(f".tmp-{proc.pid}-") and n.endswith("-v.npz")]
        assert len(left) == 1 and (tmp_path / left[0]).stat().st_size > 40_000_000  # mid-write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()
    assert path.read_bytes() == old_bytes
    loaded = KeyedVectors.load(path)
    assert loaded.index_to_key == ["a", "b", "c"] and np.array_equal(loaded.vectors, old.vectors)
    assert len(temporaries(tmp_path)) == 1  # the dead writer's
    KeyedVectors(3, ["x"], np.ones((1, 3), dtype=np.float32)).save(path)
    assert temporaries(tmp_path) == []
    assert KeyedVectors.load(path).index_to_key == ["x"]


def test_a_live_writers_temporary_is_never_touched(tmp_path):
    path = tmp_path / "v.npz"
    other = tmp_path / "other.npz"
    stale_other = tmp_path / ".tmp-999999999-abcdef-other.npz"  # no such pid, another target
    stale_other.write_bytes(b"x")
    proc = _start_writer(path, rows=1000)
    try:
        live = [n for n in temporaries(tmp_path) if n.startswith(f".tmp-{proc.pid}-")]
        assert len(live) == 1
        with open(tmp_path / live[0], "rb") as f, pytest.raises(BlockingIOError):
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # the writer holds it
        KeyedVectors(3, ["x"], np.ones((1, 3), dtype=np.float32)).save(path)
        assert set(live) <= set(temporaries(tmp_path))  # the live writer's file is still there
        assert stale_other.exists()  # a stale file of another target is that target's writer's business
        formats.check_writable(other)
        KeyedVectors(3, ["y"], np.ones((1, 3), dtype=np.float32)).save(other)
        assert not stale_other.exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()


def test_long_output_names_still_get_a_temporary(tmp_path):
    path = tmp_path / ("v" * 240 + ".txt")
    formats.check_writable(path)
    KeyedVectors(3, ["a"], np.ones((1, 3), dtype=np.float32)).save_word2vec_format(path)
    assert path.read_text().startswith("1 3\n") and temporaries(tmp_path) == []


# ---------------------------------------------------------------- the pre-check tries the write
def _temporaries_fail(monkeypatch, errno, message):
    """Make creating w2v's temporary files fail with this OSError, as a full or read-only disk does."""
    real_open = os.open

    def failing(path, flags, *args, **kwargs):
        if os.path.basename(os.fspath(path)).startswith(".tmp-"):
            raise OSError(errno, message, os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(formats.os, "open", failing)


def test_check_writable_creates_a_temporary_file(tmp_path, monkeypatch):
    _temporaries_fail(monkeypatch, 28, "No space left on device")
    with pytest.raises(PermissionError, match="No space left"):
        formats.check_writable(tmp_path / "v.txt")
    monkeypatch.undo()
    formats.check_writable(tmp_path / "v.txt")
    assert list(tmp_path.iterdir()) == []


def _as_nobody(path):
    """In a forked child running as uid/gid 65534: the pre-check's verdict, then the write's.

    A fork, not a new interpreter: the interpreter may live where nobody cannot reach (/root).
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        lines = []
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                formats.check_writable(path)
                lines.append("accepted")
            except PermissionError as e:
                lines.append(f"refused: {e}")
            try:  # what the final write does
                with formats.atomic_output(path) as f:
                    f.write(b"new")
                lines.append("written")
            except PermissionError as e:
                lines.append(f"write failed: {e}")
        except BaseException as e:
            lines.append(f"child error: {e!r}")
        finally:
            os.write(write_end, "\n".join(lines).encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as r:
        out = r.read().decode().splitlines()
    os.waitpid(pid, 0)
    assert not any(line.startswith("child error") for line in out), out
    return out


@pytest.fixture
def sticky_dir():
    # under /tmp itself: pytest's tmp_path is private to root and nobody could not reach it
    d = Path(tempfile.mkdtemp(prefix="w2v-sticky-"))
    d.chmod(0o1777)
    yield d
    for p in d.iterdir():
        p.unlink()
    d.rmdir()


@pytest.mark.skipif(not IS_ROOT, reason="needs root to act as two other users")
def test_sticky_directory_other_users_file_is_refused_before_the_run(sticky_dir):
    theirs = sticky_dir / "v.txt"
    theirs.write_text("theirs\n")
    theirs.chmod(0o666)  # even writable by all: the sticky bit still forbids replacing it
    os.chown(theirs, OTHER_UID, OTHER_UID)
    out = _as_nobody(theirs)
    assert out[0].startswith("refused:") and "sticky" in out[0] and str(OTHER_UID) in out[0], out
    assert out[1].startswith("write failed:"), out  # the kernel agrees with the pre-check
    assert theirs.read_text() == "theirs\n"
    # nobody's own file, or a new name, in the same directory is fine
    mine = sticky_dir / "mine.txt"
    mine.write_text("mine\n")
    os.chown(mine, NOBODY, NOBODY)
    assert _as_nobody(mine) == ["accepted", "written"]
    assert _as_nobody(sticky_dir / "new.txt") == ["accepted", "written"]
    assert not [p for p in sticky_dir.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.skipif(not IS_ROOT, reason="needs root to act as another user")
def test_unwritable_special_file_is_refused_before_the_run(sticky_dir):
    fifo = sticky_dir / "fifo"
    os.mkfifo(fifo)
    fifo.chmod(0o644)  # root's: nobody may not write it
    out = _as_nobody(fifo)
    assert out[0].startswith("refused:") and "not writable" in out[0], out
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_cli_refuses_an_unreplaceable_output_before_training(tmp_path, small_corpus, capsys,
                                                             no_training, monkeypatch):
    _temporaries_fail(monkeypatch, 30, "Read-only file system")
    assert_refused(capsys, ["train", "-train", str(small_corpus), "-output", str(tmp_path / "v.txt")] + TRAIN,
                   "Read-only file system")


def test_native_vectors_stream_through_a_fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    kv = KeyedVectors(4, ["a", "b"], np.arange(8, dtype=np.float32).reshape(2, 4))
    kv.save(fifo)  # a pipe cannot tell() its position: the zip writer counts the bytes
    reader.join(timeout=30)
    (tmp_path / "copy.npz").write_bytes(received[0])
    for mmap in (None, "r"):
        loaded = KeyedVectors.load(tmp_path / "copy.npz", mmap=mmap)
        assert loaded.index_to_key == ["a", "b"] and np.array_equal(loaded.vectors, kv.vectors)


def test_a_locked_temporary_is_live_whatever_its_pid(tmp_path):
    # a writer in another pid namespace: its pid means nothing here, its lock does
    path = tmp_path / "v.txt"
    foreign = tmp_path / ".tmp-999999999-abcdef-v.txt"  # above any pid_max: no such process here
    fd = os.open(foreign, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with formats.atomic_output(path, "w") as f:
            f.write("new\n")
        assert foreign.exists()
    finally:
        os.close(fd)
    with formats.atomic_output(path, "w") as f:
        f.write("newer\n")
    assert not foreign.exists() and temporaries(tmp_path) == []
