"""See and steer training: per-epoch evaluation, the held-out loss, early stopping.

After each epoch (`Monitor.end_epoch`, from Word2Vec's on_epoch_end), the current vectors are
scored and the scores recorded in that epoch's `epoch_stats` dict:

- `holdout_loss`: the mean loss per prediction of the held-out text, sentences (in-RAM corpus) or
  blocks (corpus store) drawn from the seed that the plan leaves out of every epoch
  (`Plan(held_out=)`), so never trained on: the honest learning curve. It is the training loss
  measured the same way (`kernels.train_chunk`, with subsampling, random windows and negatives)
  at learning rate 0: every update is then `w += 0 * ...`, which leaves each weight as it was,
  bit for bit (tests/test_monitor.py checks it for every model and objective). Its random
  streams are the same every epoch, so the curve moves with the weights alone.
- `eval`: {set name: score}: analogy accuracy (3CosAdd, gensim's rule) on a fixed sample of
  about SAMPLE_QUESTIONS questions, drawn from the seed in every section (the accuracy is the
  sample's sections weighted by their sizes: an estimate of the whole set's), and the Spearman
  correlation of each word-pair set, whole. Names: "analogy", "wordsim353", "simlex999" for
  the bundled sets, the file's stem for a user's file.

Early stopping (`EarlyStopping`): a metric, a patience and a minimum improvement. The metric is
never a reported score: "holdout" (the default) is the held-out loss; a set's name stops on a
validation half of that set (its questions or pairs split in two from the seed), recorded in
`validation`, while `eval` reports the other half. The run stops after `patience` epochs without
an improvement of more than `min_delta`; with keep_best, a copy of every matrix is taken at
each best epoch and put back when the run ends (stopped or not), so that training can go on
from the best epoch. The learning rate follows the schedule of all the epochs asked for:
stopping only cuts the run short.

At the end of a train() call, `final_scores` scores the whole sets (the reported halves).
Everything here works on arrays: the matrices, the vocabulary's words, the corpus and its
reader; evaluation goes through `w2v.evaluation`'s array functions.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from . import evaluation
from .backends.threads import ThreadsBackend
from .plan import UNIT_WORDS, WorkUnit, epoch_units, unit_seed

logger = logging.getLogger(__name__)

BUNDLED = {"analogy": evaluation.ANALOGIES, "wordsim353": evaluation.PAIRS[0], "simlex999": evaluation.PAIRS[1]}
HOLDOUT = "holdout"          # the early-stopping metric of the held-out loss
SAMPLE_QUESTIONS = 2000      # analogy questions scored per epoch
MIN_PER_SECTION = 20         # ... at least this many from each section (or all it has)
HELD_OUT_EPOCH = -1          # the held-out units' streams: an epoch number no training unit has
_MASK64 = (1 << 64) - 1
_COMPRESSED = (".gz", ".bz2")


def set_name(spec: str) -> str:
    """The name a set's scores are recorded under: a bundled set's, or a file's stem
    (~/data/my-pairs.tsv.gz -> my-pairs)."""
    if spec in BUNDLED:
        return spec
    base = os.path.basename(os.fspath(spec))
    for suffix in _COMPRESSED:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return os.path.splitext(base)[0] or base


def _is_analogy_file(path) -> bool:
    """Analogy files start with a ': section' line (comments and blank lines aside)."""
    from .corpus import open_binary
    with open_binary(path, "evaluation set") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").strip()
            if line and not line.startswith("#"):
                return line.startswith(":")
    return False


@dataclass(frozen=True)
class EarlyStopping:
    """Stop after `patience` epochs in a row whose `metric` did not improve on the best by more
    than `min_delta` (the held-out loss must fall, a score must rise)."""
    metric: str = HOLDOUT
    patience: int = 2
    min_delta: float = 0.0

    def __post_init__(self):
        if not isinstance(self.metric, str) or not self.metric:
            raise ValueError(f"early_stopping: the metric must be {HOLDOUT!r} or a set's name, got {self.metric!r}")
        if not isinstance(self.patience, int) or isinstance(self.patience, bool) or self.patience < 1:
            raise ValueError(f"early_stopping: patience must be an integer >= 1 (epochs), got {self.patience!r}")
        if not (isinstance(self.min_delta, (int, float)) and not isinstance(self.min_delta, bool)
                and math.isfinite(self.min_delta) and self.min_delta >= 0):
            raise ValueError(f"early_stopping: min_delta must be a number >= 0, got {self.min_delta!r}")

    @property
    def lower_is_better(self) -> bool:
        return self.metric == HOLDOUT

    @classmethod
    def parse(cls, spec) -> "EarlyStopping":
        """From an EarlyStopping, True (the defaults), a dict of its fields, or the string
        METRIC[:PATIENCE[:MIN_DELTA]] ("holdout", "analogy:3", "holdout:2:0.001")."""
        if isinstance(spec, cls):
            return spec
        if spec is True:
            return cls()
        if isinstance(spec, dict):
            return cls(**spec)
        if isinstance(spec, str):
            parts = spec.split(":")
            if len(parts) > 3:
                raise ValueError(f"early_stopping {spec!r}: expected METRIC[:PATIENCE[:MIN_DELTA]]")
            try:
                patience = int(parts[1]) if len(parts) > 1 else cls.patience
                min_delta = float(parts[2]) if len(parts) > 2 else cls.min_delta
            except ValueError:
                raise ValueError(f"early_stopping {spec!r}: expected METRIC[:PATIENCE[:MIN_DELTA]], PATIENCE "
                                 f"an integer, MIN_DELTA a number") from None
            return cls(parts[0], patience, min_delta)
        raise ValueError(f"early_stopping must be 'METRIC[:PATIENCE[:MIN_DELTA]]', an EarlyStopping or None, "
                         f"got {spec!r}")


@dataclass(frozen=True)
class MonitorSettings:
    """What Word2Vec(evaluate=, holdout=, early_stopping=, keep_best=) asks for; None of
    `from_arguments` when nothing is asked. sets: bundled names or file paths."""
    sets: tuple = ()
    holdout: float = 0.01
    early_stopping: EarlyStopping | None = None
    keep_best: bool = True
    sample_questions: int = SAMPLE_QUESTIONS
    restrict_vocab: int = 300000

    @classmethod
    def from_arguments(cls, evaluate, holdout, early_stopping, keep_best) -> "MonitorSettings | None":
        """evaluate: None or False (off), True (the bundled sets), or a list of bundled names
        and file paths ([] for the held-out loss alone); early_stopping as EarlyStopping.parse,
        None for none; it turns the monitor on, and its metric's set is evaluated."""
        if not (isinstance(holdout, (int, float)) and not isinstance(holdout, bool) and 0 <= holdout < 0.5):
            raise ValueError(f"holdout must be a fraction of the corpus in [0, 0.5), got {holdout!r}")
        stopping = None if early_stopping is None or early_stopping is False else EarlyStopping.parse(early_stopping)
        if evaluate is None or evaluate is False:
            if stopping is None:
                return None
            sets = ()
        elif evaluate is True:
            sets = tuple(BUNDLED)
        elif isinstance(evaluate, (str, os.PathLike)):
            sets = (os.fspath(evaluate),)
        else:
            sets = tuple(os.fspath(x) for x in evaluate)
        for spec in sets:
            if spec not in BUNDLED and not os.path.isfile(spec):
                raise ValueError(f"evaluate: {spec!r} is neither a bundled set ({', '.join(BUNDLED)}) nor a file")
        names = [set_name(x) for x in sets]
        if len(set(names)) != len(names):
            raise ValueError(f"evaluate: two sets have the same name ({', '.join(names)}): rename a file")
        if stopping is not None:
            if stopping.metric == HOLDOUT:
                if holdout <= 0:
                    raise ValueError("early_stopping on the held-out loss needs holdout > 0")
            elif stopping.metric not in names:
                if stopping.metric not in BUNDLED:
                    raise ValueError(f"early_stopping: unknown metric {stopping.metric!r}: {HOLDOUT!r}, a bundled "
                                     f"set ({', '.join(BUNDLED)}) or the name of a set given to evaluate "
                                     f"({', '.join(names) or 'none'})")
                sets += (stopping.metric,)
        return cls(sets, float(holdout), stopping, bool(keep_best))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sets"] = list(self.sets)
        return d

    @staticmethod
    def differences(given: "MonitorSettings | None", saved: "MonitorSettings | None") -> list[str]:
        """What differs between two monitors' settings, in words (None: no monitor)."""
        if given == saved:
            return []
        if given is None or saved is None:
            return [f"{'no evaluation' if given is None else 'evaluation'} where the checkpoint has "
                    f"{'none' if saved is None else 'evaluation'}"]
        a, b = given.to_dict(), saved.to_dict()
        return [f"{k}={a[k]!r} where the checkpoint has {b[k]!r}" for k in a if a[k] != b[k]]

    @classmethod
    def from_dict(cls, d: dict) -> "MonitorSettings":
        d = dict(d)
        es = d.get("early_stopping")
        d["early_stopping"] = EarlyStopping(**es) if es else None
        d["sets"] = tuple(d.get("sets", ()))
        return cls(**d)


# ---------------------------------------------------------------- held-out text
def choose_held_out(sizes: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """int64, sorted: items (sentences, or a store's blocks, of `sizes` words) taken in an order
    drawn from the seed until they hold `fraction` of the words; at least one, never all (empty
    for fraction 0 or fewer than two items)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if fraction <= 0 or sizes.shape[0] < 2:
        return np.empty(0, dtype=np.int64)
    order = np.random.default_rng([seed & _MASK64, 0x401D]).permutation(sizes.shape[0])
    words = np.cumsum(sizes[order])
    k = int(np.searchsorted(words, fraction * words[-1], side="left")) + 1
    return np.sort(order[:min(max(k, 1), sizes.shape[0] - 1)]).astype(np.int64)


def held_out_of(corpus, fraction: float, seed: int) -> np.ndarray:
    """The held-out sentences of an EncodedCorpus, or blocks of a corpus store."""
    block_words = getattr(corpus, "block_words", None)
    sizes = block_words if block_words is not None else np.diff(corpus.bounds)
    return choose_held_out(sizes, fraction, seed)


def held_out_units(corpus, held: np.ndarray, seed: int) -> list[WorkUnit]:
    """The held-out text as work units at learning rate 0, with fixed streams (HELD_OUT_EPOCH)."""
    block_words = getattr(corpus, "block_words", None)
    if block_words is not None:
        m = corpus.blocks_per_unit
        groups = [held[i:i + m] for i in range(0, held.shape[0], m)]
        return [WorkUnit(HELD_OUT_EPOCH, k, None, 0, int(block_words[g].sum()), 0.0, 0.0,
                         unit_seed(seed, HELD_OUT_EPOCH, k), g, False) for k, g in enumerate(groups)]
    starts, before = epoch_units(corpus.bounds, held, UNIT_WORDS)
    return [WorkUnit(HELD_OUT_EPOCH, k, held[starts[k]:starts[k + 1]], int(before[k]),
                     int(before[k + 1] - before[k]), 0.0, 0.0, unit_seed(seed, HELD_OUT_EPOCH, k))
            for k in range(len(starts) - 1)]


def held_out_loss(corpus, units, w_in, w_out_hs, w_out_ns, tables, cfg, workers: int) -> float:
    """Mean loss per prediction of the units with the current weights, which stay as they are
    (learning rate 0). The threads share the rows (no private copies: nothing is written that
    changes), and the units' sums are added in unit order, whatever thread ran them."""
    if not units:
        return math.nan
    per_unit = np.zeros((len(units), 2), dtype=np.float64)

    def on_result(unit, result):
        per_unit[unit.index] = result[2], result[3]

    ThreadsBackend(corpus, w_in, w_out_hs, w_out_ns, tables, cfg, workers=workers, max_units=len(units),
                   hot_rows=0).run(units, on_result)
    loss, n = per_unit.sum(axis=0)
    return float(loss / n) if n else math.nan


# ---------------------------------------------------------------- question sets
def stratified_sample(section: np.ndarray, n: int, rng) -> np.ndarray:
    """Sorted indices of about n of the questions, in every section: a section's share of n,
    at least MIN_PER_SECTION (or all it has); everything when there are at most n."""
    if section.shape[0] <= n:
        return np.arange(section.shape[0])
    sizes = np.bincount(section)
    take = np.minimum(sizes, np.maximum(np.round(n * sizes / sizes.sum()).astype(np.int64), MIN_PER_SECTION))
    picked = [rng.choice(np.flatnonzero(section == s), size=int(k), replace=False)
              for s, k in enumerate(take) if k]
    return np.sort(np.concatenate(picked))


def _halves(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(validation, test): a random half of range(n) and the rest, sorted."""
    order = rng.permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2:])


class _Analogies:
    """An analogy set's questions (or a half of them), its per-epoch sample and their weights."""

    def __init__(self, arrays: evaluation.AnalogyArrays, keep: np.ndarray, sample_size: int, rng):
        self.canon = arrays.canon
        self.rows, self.section = arrays.rows[keep], arrays.section[keep]
        pick = stratified_sample(self.section, sample_size, rng)
        self.sample, self.sample_section = self.rows[pick], self.section[pick]
        # weight of each sampled question: its section's share of the set over the section's sample
        sizes = np.bincount(self.section, minlength=len(arrays.names)).astype(np.float64)
        drawn = np.bincount(self.section[pick], minlength=len(arrays.names)).astype(np.float64)
        self.weights = (sizes / max(sizes.sum(), 1) / np.maximum(drawn, 1))[self.section[pick]]

    def __len__(self):
        return self.rows.shape[0]

    def score(self, normed) -> float:
        right = evaluation.answer_top1(normed, self.canon, self.sample) == self.sample[:, 3]
        return float(self.weights @ right)

    def full_score(self, normed) -> float:
        right = evaluation._answer(normed, self.canon, self.rows, "add") == self.rows[:, 3]
        return float(right.mean())


class _Pairs:
    """A word-pairs set (or a half of it): Spearman correlation with the human scores."""

    def __init__(self, a, b, gold):
        self.a, self.b, self.gold = a, b, gold

    def __len__(self):
        return self.gold.shape[0]

    def score(self, normed) -> float:
        return spearman(self.gold, np.einsum("ij,ij->i", normed[self.a], normed[self.b]))

    full_score = score


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties given their mean rank (scipy.stats.rankdata's 'average', less 1)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    first = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    counts = np.diff(np.r_[first, x.shape[0]])
    ranks = np.empty(x.shape[0], dtype=np.float64)
    ranks[order] = np.repeat(first + (counts - 1) / 2.0, counts)
    return ranks


def spearman(a, b) -> float:
    """Spearman's rank correlation, as scipy.stats.spearmanr's (whose import alone takes a second,
    paid in the first epoch), NaN when either side is constant."""
    ra, rb = _ranks(np.asarray(a, np.float64)), _ranks(np.asarray(b, np.float64))
    ra -= ra.mean()
    rb -= rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb) / den if den > 0 else math.nan


def _unit_rows(w: np.ndarray) -> np.ndarray:
    """float32 rows scaled to unit length (zero rows stay zero), computed as
    KeyedVectors.fill_norms computes them, so that the scores equal wv.evaluate_*'s exactly
    (another rounding of the norms moves a near-zero Spearman correlation by 1e-6)."""
    out = np.empty(w.shape, dtype=np.float32)
    for start in range(0, w.shape[0], 65536):
        block = w[start: start + 65536].astype(np.float64)
        n = np.sqrt(np.einsum("ij,ij->i", block, block))
        out[start: start + block.shape[0]] = block / np.where(n > 0, n, 1.0)[:, None]
    return out


# ---------------------------------------------------------------- the monitor of a train() call
class Monitor:
    """The evaluation and early stopping of one train() call (module docstring).

    weights: [w_in, w_out_hs, w_out_ns], the model's matrices (best ones are copied and put back
    in place); index_to_key: the vocabulary's words; corpus: what the call trains on; tables,
    cfg: the kernel's (for the held-out loss); seed: the model's.
    """

    def __init__(self, settings: MonitorSettings, *, weights, index_to_key, corpus, tables, cfg, seed: int,
                 workers: int):
        self.settings = settings
        self.weights, self.tables, self.cfg, self.workers = list(weights), tables, cfg, workers
        self.corpus = corpus
        self.held = held_out_of(corpus, settings.holdout, seed) if settings.holdout > 0 else np.empty(0, np.int64)
        if settings.holdout > 0 and self.held.shape[0] == 0:
            raise ValueError("holdout: the corpus has a single sentence: nothing can be held out (holdout=0 trains "
                             "on it all, without a held-out loss)")
        self.units = held_out_units(corpus, self.held, seed)
        self.rows = min(len(index_to_key), settings.restrict_vocab)
        es = settings.early_stopping
        self.stop_set = es.metric if es is not None and es.metric != HOLDOUT else None
        self.sets, self.validation = {}, {}
        for spec in settings.sets:
            self._prepare(spec, index_to_key, seed)
        self.best_epoch, self.best_value, self.bad_epochs = None, None, 0
        self.stopped = False
        self.best_copy = None

    def _prepare(self, spec, index_to_key, seed):
        name = set_name(spec)
        path = evaluation.data_path(BUNDLED[spec]) if spec in BUNDLED else spec
        rng = np.random.default_rng([seed & _MASK64, 0xE7A1, sum(name.encode())])
        r = self.settings.restrict_vocab
        if spec == "analogy" or (spec not in BUNDLED and _is_analogy_file(path)):
            arrays = evaluation.analogy_arrays(index_to_key, path, restrict_vocab=r)
            n = arrays.rows.shape[0]
            if name == self.stop_set:
                # split each section in two, so that both halves have every section
                val, test = [], []
                for s in range(len(arrays.names)):
                    idx = np.flatnonzero(arrays.section == s)
                    v, t = _halves(idx.shape[0], rng)
                    val.append(idx[v])
                    test.append(idx[t])
                half = self.settings.sample_questions // 2
                self.validation[name] = _Analogies(arrays, np.sort(np.concatenate(val)), half, rng)
                self.sets[name] = _Analogies(arrays, np.sort(np.concatenate(test)), half, rng)
            else:
                self.sets[name] = _Analogies(arrays, np.arange(n), self.settings.sample_questions, rng)
        else:
            a, b, gold = evaluation.pair_arrays(index_to_key, path, restrict_vocab=r)
            if name == self.stop_set:
                v, t = _halves(gold.shape[0], rng)
                self.validation[name] = _Pairs(a[v], b[v], gold[v])
                self.sets[name] = _Pairs(a[t], b[t], gold[t])
            else:
                self.sets[name] = _Pairs(a, b, gold)
        need = 1 if isinstance(self.sets[name], _Analogies) else 3
        for group in (self.sets, self.validation):
            if name in group and len(group[name]) < need:
                if name == self.stop_set:
                    raise ValueError(f"early_stopping on {name}: too few of its {'questions' if need == 1 else 'pairs'}"
                                     f" have all their words in the vocabulary ({len(group[name])})")
                logger.warning("evaluation set %s: %d %s with known words: not scored", name, len(group[name]),
                               "questions" if need == 1 else "pairs")
                del group[name]

    # ------------------------------------------------------------ per epoch
    def _normed(self):
        return _unit_rows(self.weights[0][: self.rows])

    def scores(self, normed=None) -> tuple[float | None, dict, dict]:
        """(held-out loss or None, {set: score}, {set: validation score}) of the current weights."""
        loss = None
        if self.units:
            w_in, w_out_hs, w_out_ns = self.weights
            loss = held_out_loss(self.corpus, self.units, w_in, w_out_hs, w_out_ns, self.tables, self.cfg,
                                 self.workers)
        normed = self._normed() if normed is None and (self.sets or self.validation) else normed
        return (loss, {k: s.score(normed) for k, s in self.sets.items()},
                {k: s.score(normed) for k, s in self.validation.items()})

    def end_epoch(self, index: int, stats: dict, last: bool) -> None:
        """Score epoch `index` (of all epoch_stats) into stats and judge it (`stopped`: the run
        should stop). The best weights are put back when it stops or `last` (its final epoch)
        is reached."""
        t0 = time.perf_counter()
        loss, scores, validation = self.scores()
        if loss is not None:
            stats["holdout_loss"] = loss
        stats["eval"] = scores
        if validation:
            stats["validation"] = validation
        es = self.settings.early_stopping
        if es is not None:
            value = loss if es.metric == HOLDOUT else validation[es.metric]
            if self._improved(value):
                self.best_epoch, self.best_value, self.bad_epochs = index, value, 0
                if self.settings.keep_best:
                    self._keep()
            else:
                self.bad_epochs += 1
            self.stopped = self.bad_epochs >= es.patience
            if (self.stopped or last) and self.best_copy is not None and self.best_epoch != index:
                for w, best in zip(self.weights, self.best_copy):
                    w[...] = best
        logger.info("epoch %d: %s (%.2f s)%s", index + 1, _scores_line(loss, scores, validation),
                    time.perf_counter() - t0, self._verdict(index))

    def _improved(self, value) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        es = self.settings.early_stopping
        if es.lower_is_better:
            return value < self.best_value - es.min_delta
        return value > self.best_value + es.min_delta

    def _keep(self):
        if self.best_copy is None:
            self.best_copy = [np.array(w, copy=True) for w in self.weights]
        else:
            for best, w in zip(self.best_copy, self.weights):
                best[...] = w

    def _verdict(self, index) -> str:
        es = self.settings.early_stopping
        if es is None:
            return ""
        if self.stopped:
            kept = ("no epoch gave a finite value" if self.best_epoch is None else
                    f"the weights of epoch {self.best_epoch + 1} put back" if self.best_copy is not None else
                    f"best epoch {self.best_epoch + 1}; keep_best=False: the last epoch's weights kept")
            return f"; stopping: {es.metric} did not improve for {self.bad_epochs} epoch(s); {kept}"
        return f"; best {es.metric} at epoch {self.best_epoch + 1}" if self.best_epoch is not None else ""

    def final_scores(self) -> dict:
        """The whole sets (the reported halves) scored with the weights the model now holds."""
        if not self.sets:
            return {}
        t0 = time.perf_counter()
        normed = self._normed()
        out = {k: s.full_score(normed) for k, s in self.sets.items()}
        logger.info("full sets: %s (%.1f s)", _scores_line(None, out, {}), time.perf_counter() - t0)
        return out

    # ------------------------------------------------------------ checkpoints
    def state(self) -> tuple[dict, dict]:
        """(JSON-ready state, arrays) for a checkpoint: the best so far, and the copy of its weights."""
        state = {"best_epoch": self.best_epoch, "best_value": self.best_value, "bad_epochs": self.bad_epochs,
                 "stopped": self.stopped}
        arrays = {} if self.best_copy is None else dict(zip(BEST_ARRAYS, self.best_copy))
        return state, arrays

    def restore(self, state: dict, arrays: dict):
        self.best_epoch, self.best_value = state.get("best_epoch"), state.get("best_value")
        self.bad_epochs, self.stopped = int(state.get("bad_epochs", 0)), bool(state.get("stopped", False))
        if all(k in arrays for k in BEST_ARRAYS):
            self.best_copy = [arrays[k] for k in BEST_ARRAYS]  # read from the file: ours to write


BEST_ARRAYS = ("best_w_in", "best_w_out_hs", "best_w_out_ns")  # a checkpoint's copy of the best weights


def _scores_line(loss, scores: dict, validation: dict) -> str:
    parts = [] if loss is None else [f"held-out loss {loss:.4f}"]
    parts += [f"{k} {v:.4f}" for k, v in scores.items()]
    parts += [f"{k} (validation) {v:.4f}" for k, v in validation.items()]
    return ", ".join(parts) or "nothing to score"
