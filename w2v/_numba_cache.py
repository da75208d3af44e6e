"""Where numba keeps w2v's compiled kernels: the user cache directory, never the package.

numba writes a function's cache next to its source (`w2v/__pycache__/*.nbi, *.nbc`) when that
directory is writable, and falls back to its own user-wide directory when it is not (a read-only
install works; checked, numba 0.57-0.68). Files numba writes into the package are unknown to
pip: `pip uninstall w2v` leaves `site-packages/w2v/__pycache__` behind, and a later editable
install then imports that folder as an empty namespace package ("cannot import name 'Word2Vec'
from 'w2v' (unknown location)"). So w2v's own functions are cached under

    <user cache dir>/w2v/numba/py<X.Y>-numba<version>/<hash of the package's path>/<module dir>

(`~/.cache/w2v/numba/...` on Linux): one cache per interpreter, numba version and installed copy,
as in-tree caching had, and nothing inside the package. `NUMBA_CACHE_DIR`, when set, still
wins, as numba documents. The locator is numba's own user-wide one with another root; the list
it is inserted into is numba internals (`CacheImpl._locator_classes`): on another layout w2v
leaves numba's choice alone.
"""
from __future__ import annotations

import hashlib
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def cache_root() -> str:
    import numba
    import platformdirs
    tag = f"py{sys.version_info[0]}.{sys.version_info[1]}-numba{numba.__version__}"
    where = hashlib.sha1(PACKAGE_DIR.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return os.path.join(platformdirs.user_cache_dir("w2v"), "numba", tag, where)


def install() -> bool:
    """Put w2v's locator first in numba's list (once). Returns whether it is in place."""
    try:
        from numba.core import caching, config
    except ImportError:  # pragma: no cover
        return False
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    user_wide = getattr(caching, "UserWideCacheLocator", None) or getattr(caching, "_UserWideCacheLocator", None)
    classes = getattr(impl, "_locator_classes", None)
    if user_wide is None or not isinstance(classes, list):
        return False
    if any(getattr(c, "_w2v", False) for c in classes):
        return True

    class W2VCacheLocator(user_wide):
        _w2v = True

        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            sub = os.path.relpath(os.path.dirname(os.path.abspath(py_file)), PACKAGE_DIR)
            self._cache_path = os.path.normpath(os.path.join(cache_root(), sub))

        @classmethod
        def from_function(cls, py_func, py_file):
            if config.CACHE_DIR:  # NUMBA_CACHE_DIR: numba's own locator
                return None
            if not os.path.abspath(py_file).startswith(PACKAGE_DIR + os.sep):
                return None
            return super().from_function(py_func, py_file)  # None if the directory cannot be made

    classes.insert(0, W2VCacheLocator)
    return True


install()
