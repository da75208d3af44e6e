"""One frozen, validated settings object for training.

The names are gensim's; `w2v.cli` maps the word2vec C tool's flags onto them in one place.
Every check raises ValueError with a message that names the setting and the bad value, so the
API and the CLI report the same sentence.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Settings:
    vector_size: int = 100
    alpha: float = 0.025
    window: int = 5
    min_count: int = 5
    max_vocab_size: int | None = None
    max_final_vocab: int | None = None
    sample: float = 1e-3
    seed: int = 1
    workers: int = 3
    min_alpha: float = 0.0001
    sg: int = 0
    hs: int = 0
    negative: int = 5
    ns_exponent: float = 0.75
    cbow_mean: int = 1
    epochs: int = 5
    softmax: bool = False
    # skip-gram: train each window as one minibatch (HogBatch, Ji et al. 2016): negatives drawn
    # once per center word, output rows updated once per window; False is word2vec.c's order.
    # None: the default, True for skip-gram without the full softmax. The field's own default is
    # False so that settings saved before that default (no such key) load as they trained.
    batch_window: bool | None = False
    # visit the sentences in a new random order every epoch (drawn from seed and epoch); False is
    # file order, as word2vec.c and gensim read
    shuffle: bool = True
    # several workers: train in rounds on private replicas merged in a fixed order, so that the
    # same seed gives the same vectors run after run (backends/rounds.py); False is Hogwild
    deterministic: bool = False

    def __post_init__(self):
        def need(cond, msg):
            if not cond:
                raise ValueError(msg)

        def is_int(v):
            return isinstance(v, int) and not isinstance(v, bool)

        for name in ("vector_size", "window", "min_count", "seed", "workers", "negative", "epochs"):
            need(is_int(getattr(self, name)), f"{name} must be an integer, got {getattr(self, name)!r}")
        need(self.vector_size >= 1, f"vector_size must be >= 1, got {self.vector_size}")
        need(self.window >= 1, f"window must be >= 1, got {self.window}")
        need(self.min_count >= 0, f"min_count must be >= 0, got {self.min_count}")
        need(self.seed >= 0, f"seed must be an integer >= 0, got {self.seed}")
        need(self.workers >= 1, f"workers must be >= 1, got {self.workers}")
        need(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        need(self.negative >= 0, f"negative must be >= 0, got {self.negative}")
        for name in ("max_vocab_size", "max_final_vocab"):
            v = getattr(self, name)
            need(v is None or (is_int(v) and v >= 1), f"{name} must be None or an integer >= 1, got {v!r}")
        need(self.sg in (0, 1), f"sg must be 0 (CBOW) or 1 (skip-gram), got {self.sg!r}")
        need(self.hs in (0, 1), f"hs must be 0 or 1, got {self.hs!r}")
        need(self.cbow_mean in (0, 1), f"cbow_mean must be 0 (sum) or 1 (mean), got {self.cbow_mean!r}")
        for name in ("alpha", "min_alpha", "sample", "ns_exponent"):
            v = getattr(self, name)
            need(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
                 f"{name} must be a finite number, got {v!r}")
        need(self.alpha > 0, f"alpha must be > 0, got {self.alpha}")
        need(0 <= self.min_alpha <= self.alpha,
             f"min_alpha must be between 0 and alpha ({self.alpha}), got {self.min_alpha}")
        need(self.sample >= 0, f"sample must be >= 0 (0 disables subsampling), got {self.sample}")
        if self.batch_window is None:
            object.__setattr__(self, "batch_window", bool(self.sg == 1 and not self.softmax))
        need(isinstance(self.batch_window, bool), f"batch_window must be True, False or None, got {self.batch_window!r}")
        need(not (self.batch_window and self.softmax), "batch_window does not apply to the full softmax")
        if self.softmax:
            need(self.hs == 0 and self.negative == 0,
                 "softmax=True is the exact full softmax: it needs hs=0 and negative=0")
        else:
            need(self.hs == 1 or self.negative > 0,
                 "no objective: hs=0 and negative=0; set hs=1, negative>0, or softmax=True")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Settings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def available_memory() -> int | None:
    """Bytes of memory that a new allocation can use without swapping: MemAvailable from
    /proc/meminfo (free memory plus the page cache the kernel can drop), else the free pages;
    None where neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_matrix_memory(v: int, d: int, spare: int, s: Settings) -> None:
    """Raise NotEnoughMemoryError (a MemoryError and a ValueError) before the model allocates
    its matrices if they cannot fit in the memory available: (rows + spare) x d float32 each,
    plus the (v, d) float32 draw that initialises w_in. The message names the bytes and the
    settings that ask for them."""
    from .errors import NotEnoughMemoryError

    rows = {"w_in": v, "w_out_ns": v if (s.negative > 0 or s.softmax) else 0,
            "w_out_hs": max(v - 1, 0) if s.hs else 0}
    needed = 4 * d * (sum(r + spare for r in rows.values() if r) + v)
    available = available_memory()
    if available is not None and needed > available:
        used = ", ".join(name for name, r in rows.items() if r)
        raise NotEnoughMemoryError(
            f"the model needs {needed / 2**30:.1f} GiB for its matrices ({used}: {v} words x vector_size "
            f"{d} x 4 bytes, workers={s.workers}, negative={s.negative}, hs={s.hs}) but {available / 2**30:.1f} "
            "GiB of memory is available: lower vector_size (-size) or the vocabulary (a higher min_count, "
            "max_final_vocab)")
