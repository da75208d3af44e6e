"""w2v's compiled kernels are cached in the user cache directory, never inside the package
(pip uninstall would leave them there, and a later editable install would import the leftover
folder as an empty namespace package), and a second process loads them from there."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_SCRIPT = """
import numpy as np
from w2v import half
out = np.empty(3, dtype=np.uint16)
half.to_f16(np.float32([1.0, 0.1, -2.0]), out)
print("hits", sum(half.to_f16.stats.cache_hits.values()), "misses", sum(half.to_f16.stats.cache_misses.values()))
print("cache", half.to_f16._cache._cache_path)
"""


def _package_cache_files():
    return {p: p.stat().st_mtime_ns for p in (REPO / "w2v").rglob("*") if p.suffix in (".nbi", ".nbc")}


def _run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    return dict(line.split(" ", 1) for line in res.stdout.splitlines())


def test_kernels_are_cached_in_the_user_cache_dir_and_reused(tmp_path):
    before = _package_cache_files()
    first = _run(tmp_path)
    cache = Path(first["cache"])
    assert str(cache).startswith(str(tmp_path / "xdg" / "w2v" / "numba"))
    assert any(p.suffix == ".nbi" for p in cache.iterdir()) and any(p.suffix == ".nbc" for p in cache.iterdir())
    assert _package_cache_files() == before  # nothing new or rewritten inside the package
    second = _run(tmp_path)
    assert second["hits"].split()[0] == "1", second  # loaded, not compiled again


def test_numba_cache_dir_still_wins(tmp_path, monkeypatch):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "mine"), XDG_CACHE_HOME=str(tmp_path / "xdg"),
               PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert str(tmp_path / "mine") in res.stdout
