"""`w2v train` stopped by Ctrl-C or SIGTERM: one line, exit 130 / 143, a checkpoint that -resume
continues to the same vectors as an uninterrupted run."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _w2v(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "w2v", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler))


def _train_flags(corpus, out):
    return ["train", "-train", corpus, "-output", out, "-size", 12, "-min-count", 2, "-threads", 1, "-iter", 12,
            "-cbow", 0, "-negative", 3, "-seed", 7]


def _stop_after_first_epoch(proc, sig):
    """Wait for the first epoch's log line, then send the signal; returns (rc, stderr)."""
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("w2v: epoch 1:"):
            proc.send_signal(sig)
            break
    err = "".join(lines) + proc.stderr.read()
    return proc.wait(timeout=120), err


@pytest.mark.slow
@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_saves_a_checkpoint_that_resume_finishes_exactly(tmp_path, demo_file, sig, code, word):
    full_out, out, ckpt = tmp_path / "full.txt", tmp_path / "v.txt", tmp_path / "run.ckpt"
    full = _w2v(*_train_flags(demo_file, full_out))
    rc, err = _stop_after_first_epoch(_w2v(*_train_flags(demo_file, out), "-checkpoint", ckpt), sig)
    assert rc == code, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"w2v: {word}; training state saved to {ckpt}") and "-resume" in last
    assert "Traceback" not in err and ckpt.exists() and not out.exists()
    resumed = _w2v(*_train_flags(demo_file, out), "-resume", ckpt)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    assert full.wait(timeout=300) == 0
    assert out.read_bytes() == full_out.read_bytes()  # one thread: bit-identical vectors


def test_resume_refuses_other_settings_and_nothing_saved_without_checkpoint(tmp_path, demo_file):
    ckpt, out = tmp_path / "run.ckpt", tmp_path / "v.txt"
    rc, err = _stop_after_first_epoch(_w2v(*_train_flags(demo_file, out)), signal.SIGINT)
    assert rc == 130 and err.strip().splitlines()[-1].startswith("w2v: interrupted; nothing saved")
    from w2v.cli import main
    assert main([str(a) for a in _train_flags(demo_file, out)] + ["-iter", "1", "-checkpoint", str(ckpt)]) == 0
    proc = _w2v(*_train_flags(demo_file, out), "-resume", ckpt, "-size", 20)
    assert proc.wait(timeout=60) == 2
    assert "other settings: vector_size=20 where the checkpoint has 12" in proc.stderr.read()
