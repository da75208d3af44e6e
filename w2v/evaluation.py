"""Evaluation: word analogies (questions-words) and word-pair similarity (WordSim-353, SimLex-999).

The functions take arrays and a lookup, never a KeyedVectors: `normed`, the unit-normalised
float32 (V, d) matrix (`KeyedVectors.get_normed_vectors()`), and `index_to_key`, its V words in
order. `KeyedVectors.evaluate_word_analogies` / `evaluate_word_pairs` call them. The analogy
arithmetic (`cos_add_scores`, `cos_mul_scores`, `top_k`) lives here too and is what
`KeyedVectors.most_similar` / `most_similar_cosmul` use.

The answers are gensim's, but all analogy questions are answered in blocks of matrix products
instead of one most_similar call each. gensim's rules, kept exactly:
- only the first `restrict_vocab` words count; with case_insensitive, words are compared
  upper-cased and a folded word means its first (most frequent) spelling;
- a question with any word outside that vocabulary is skipped (counted in `skipped`);
- the answer is the best-scoring word of the first `restrict_vocab` other than the rows of the
  three question words, among gensim's top 5 the first whose folded form is not a question word.

The bundled sets live in w2v/data (see SOURCES.md); `data_path(name)` finds them.
"""
from __future__ import annotations

import io
import json
import logging
import os
from dataclasses import dataclass

import numpy as np

from .corpus import open_binary

logger = logging.getLogger(__name__)

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
ANALOGIES = "questions-words.txt"
PAIRS = ("wordsim353.tsv", "simlex999.txt")
_TOP = 5  # gensim looks at most_similar(..., topn=5) for an answer that is not a question word
_BLOCK_FLOATS = 1 << 24  # scores per block: 64 MB of float32


def data_path(name):
    """Path of a bundled data file ('questions-words.txt', 'wordsim353.tsv', 'simlex999.txt')."""
    path = os.path.join(DATA_DIR, name)
    if os.path.basename(name) != name or not os.path.isfile(path):
        available = sorted(f for f in os.listdir(DATA_DIR) if not f.startswith((".", "_")))
        raise FileNotFoundError(f"no bundled data file {name!r}; available: {', '.join(available)}")
    return path


def _vocabulary(index_to_key, restrict_vocab, case_insensitive):
    """(folded word -> row of its first spelling, canon (R,) row of each row's first spelling)."""
    keys = index_to_key[:restrict_vocab or None]
    fold = str.upper if case_insensitive else (lambda w: w)
    ok = {}
    canon = np.empty(len(keys), dtype=np.int64)
    for i, key in enumerate(keys):
        canon[i] = ok.setdefault(fold(key), i)
    return ok, canon, fold


def _check_unit(normed, index_to_key, rows=None):
    """ValueError unless `normed` matches `index_to_key` and its `rows` (default all) are unit
    length or zero: raw vectors would give plausible but wrong answers."""
    if normed.ndim != 2 or len(normed) != len(index_to_key):
        raise ValueError(f"normed must be ({len(index_to_key)}, d) for {len(index_to_key)} words, "
                         f"got shape {normed.shape}")
    sample = normed if rows is None else normed[rows]
    n = np.sqrt(np.einsum("ij,ij->i", sample, sample, dtype=np.float64))
    if not np.all((np.abs(n - 1) < 1e-3) | (n == 0)):
        raise ValueError("normed must hold unit-normalised rows "
                         "(KeyedVectors.get_normed_vectors()), not raw vectors")


# ---------------------------------------------------------------- analogy arithmetic
def top_k(scores, k):
    """Indices of the k largest entries of each row of `scores` (B, n), best first: (B, min(k, n))."""
    n = scores.shape[1]
    k = min(k, n)
    if k <= 0:
        return np.empty((scores.shape[0], 0), dtype=np.int64)
    if k < n:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n), scores.shape).copy()
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def cos_add_scores(candidates, terms, weights):
    """3CosAdd (Mikolov et al. 2013): cosine of each candidate with the weighted sum of the terms.

    candidates: float32 (n, d) unit rows. terms: (B, T, d), each query's vectors (unit vectors
    of words, for gensim's answers); weights: (T,) or (B, T), +1 positive, -1 negative.
    Returns float32 (B, n). The sum is normalised in float64 (so gensim's division by the sum
    of |weights| changes nothing); a zero sum stays zero and scores 0 everywhere.
    """
    weights = np.broadcast_to(np.asarray(weights, dtype=np.float64), terms.shape[:2])
    total = np.einsum("bt,btd->bd", weights, terms.astype(np.float64, copy=False))
    norm = np.linalg.norm(total, axis=1, keepdims=True)
    query = (total / np.where(norm > 0, norm, 1.0)).astype(np.float32)
    return query @ candidates.T


def cos_mul_scores(candidates, positive, negative):
    """3CosMul (Levy and Goldberg 2014): the product of the positive cosines over the product of
    the negative ones (plus 1e-6), each cosine shifted to [0, 1] as (1 + cos) / 2.

    candidates: float32 (n, d) unit rows; positive (B, P, d) and negative (B, N, d) unit
    vectors (N may be 0: the denominator is then 1 + 1e-6, as gensim's). Returns float32 (B, n).
    """
    def product(vectors):
        out = np.ones((vectors.shape[0], len(candidates)), dtype=np.float32)
        for j in range(vectors.shape[1]):
            out *= (1 + vectors[:, j].astype(np.float32, copy=False) @ candidates.T) / 2
        return out

    return product(positive) / (product(negative) + np.float32(1e-6))


# ---------------------------------------------------------------- analogies
@dataclass
class _Questions:
    names: list      # section names, in file order
    rows: np.ndarray  # (Q, 4) int64: rows of a, b, c, expected
    section: np.ndarray  # (Q,) int64: section index of each answerable question
    words: list      # (Q,) folded (a, b, c, expected) tuples
    skipped: list    # per section: questions with a word outside the vocabulary
    unknown: list    # per section: those questions' folded tuples (dummy4unknown)


def _read_questions(path, ok, fold):
    names, rows, section, words, skipped, unknown = [], [], [], [], [], []
    with open_binary(path, "analogies") as f:
        for line_no, raw in enumerate(f, 1):
            line = raw.decode("utf-8")
            if line.startswith(": "):
                names.append(line.lstrip(": ").strip())
                skipped.append(0)
                unknown.append([])
                continue
            fields = line.split()
            if not names:
                if not fields:
                    continue
                raise ValueError(f"{path}: line {line_no}: question before the first "
                                 "': section' header")
            if len(fields) != 4:
                logger.info("%s: line %d: skipping, not 4 words", path, line_no)
                continue
            quad = tuple(fold(w) for w in fields)
            idx = [ok.get(w) for w in quad]
            if None in idx:
                skipped[-1] += 1
                unknown[-1].append(quad)
                continue
            rows.append(idx)
            section.append(len(names) - 1)
            words.append(quad)
    if not names:
        raise ValueError(f"{path}: no ': section' header: not an analogy questions file")
    return _Questions(names, np.array(rows, dtype=np.int64).reshape(-1, 4),
                      np.array(section, dtype=np.int64), words, skipped, unknown)


def _answer(normed, canon, rows, method):
    """Predicted row (canonical, -1 for none) for each question (Q, 4), in blocks."""
    n_vocab = len(normed)
    preds = np.empty(len(rows), dtype=np.int64)
    block = max(1, min(4096, _BLOCK_FLOATS // max(1, n_vocab)))
    for start in range(0, len(rows), block):
        a, b, c = (rows[start: start + block, j] for j in range(3))
        if method == "add":
            # gensim: cosine with the normalised mean of b + c - a over unit vectors
            scores = cos_add_scores(normed, normed[rows[start: start + block, [1, 2, 0]]], (1, 1, -1))
        else:
            scores = cos_mul_scores(normed, normed[rows[start: start + block, 1:3]],
                                    normed[rows[start: start + block, :1]])
        here = np.arange(len(a))
        for col in (a, b, c):
            scores[here, col] = -np.inf
        best = top_k(scores, _TOP)
        valid = np.isfinite(np.take_along_axis(scores, best, axis=1))
        cand = canon[best]
        usable = valid & (cand != a[:, None]) & (cand != b[:, None]) & (cand != c[:, None])
        # gensim keeps its loop variable: with no usable word, the last one it looked at
        n_valid = valid.sum(axis=1)
        pick = np.where(usable.any(axis=1), usable.argmax(axis=1), np.maximum(n_valid - 1, 0))
        chosen = cand[here, pick] if cand.shape[1] else np.full(len(a), -1)
        preds[start: start + len(a)] = np.where(n_valid > 0, chosen, -1)
    return preds


def answer_top1(normed, canon, rows):
    """`_answer`'s predictions by a faster route, for scoring the same questions again and again
    (w2v.monitor, each epoch): the best-scoring word other than a, b and c is the answer whenever
    it is not a folded form of a question word, as gensim's rule then takes it; the few other
    questions go through `_answer`. An argmax where `_answer` sorts the top 5 of each row (6x
    faster on 41k words); equal to it but where two words score exactly the same."""
    preds = np.empty(len(rows), dtype=np.int64)
    block = max(1, min(512, _BLOCK_FLOATS // max(1, len(normed))))
    for start in range(0, len(rows), block):
        r = rows[start: start + block]
        scores = cos_add_scores(normed, normed[r[:, [1, 2, 0]]], (1, 1, -1))
        here = np.arange(len(r))
        for j in range(3):
            scores[here, r[:, j]] = -np.inf
        top = scores.argmax(axis=1)
        best = canon[top]
        preds[start: start + len(r)] = best
        # a folded question word on top (or nothing to choose from): gensim's rule looks further
        folded = (best == r[:, 0]) | (best == r[:, 1]) | (best == r[:, 2]) | ~np.isfinite(scores[here, top])
        if folded.any():
            preds[start + np.flatnonzero(folded)] = _answer(normed, canon, r[folded], "add")
    return preds


@dataclass
class AnalogyArrays:
    """The answerable questions of an analogy file in one vocabulary, for `answer_top1` /
    `_answer`: rows (Q, 4) int64 (a, b, c, expected, canonical rows), section (Q,) int64 index
    into names; canon (R,) as `_vocabulary`'s; questions: every well-formed question, skipped too."""
    rows: np.ndarray
    section: np.ndarray
    names: list
    canon: np.ndarray
    questions: int


def analogy_arrays(index_to_key, analogies=None, restrict_vocab=300000, case_insensitive=True) -> AnalogyArrays:
    """An analogy file (default the bundled questions-words.txt) read once into row numbers."""
    path = os.fspath(analogies) if analogies is not None else data_path(ANALOGIES)
    ok, canon, fold = _vocabulary(index_to_key, restrict_vocab, case_insensitive)
    qs = _read_questions(path, ok, fold)
    return AnalogyArrays(qs.rows, qs.section, qs.names, canon, len(qs.rows) + sum(qs.skipped))


def pair_arrays(index_to_key, pairs, delimiter="\t", encoding="utf8", restrict_vocab=300000,
                case_insensitive=True):
    """The pairs of a word-pairs file with both words known: (rows_a, rows_b) int64 (P,) and the
    human scores float64 (P,); Spearman of gold against normed[a] . normed[b] is
    evaluate_word_pairs' (without dummy4unknown)."""
    ok, _, fold = _vocabulary(index_to_key, restrict_vocab, case_insensitive)
    read, _ = _read_pairs(os.fspath(pairs), delimiter, encoding, fold)
    known = [(ok[a], ok[b], g) for a, b, g in read if a in ok and b in ok]
    return (np.array([a for a, _, _ in known], dtype=np.int64), np.array([b for _, b, _ in known], dtype=np.int64),
            np.array([g for _, _, g in known], dtype=np.float64))


def _tally(correct, incorrect):
    total = correct + incorrect
    return {"correct": correct, "incorrect": incorrect,
            "accuracy": correct / total if total else 0.0}


def evaluate_word_analogies(normed, index_to_key, analogies=None, restrict_vocab=300000,
                            case_insensitive=True, dummy4unknown=False, method="add"):
    """Accuracy on an analogy file (": section" lines, then "a b c expected" lines).

    normed: float32 (V, d) unit rows of the words `index_to_key` (a list of V words, most
    frequent first).

    analogies: path (plain, .gz or .bz2), default the bundled questions-words.txt. method: "add" (3CosAdd, gensim's
    answers exactly) or "mul" (3CosMul). dummy4unknown: count skipped questions as incorrect.

    Returns gensim's shape `(accuracy, sections)`: `sections` is a list of dicts
    {'section', 'correct', 'incorrect'} (lists of folded (a, b, c, expected) tuples) plus
    'skipped' (int), ending with the 'Total accuracy' section, which also holds 'questions'
    (all well-formed questions), 'oov_ratio' (percent skipped) and 'semantic' / 'syntactic'
    ({'correct', 'incorrect', 'accuracy'}; a section is syntactic when its name starts "gram").
    """
    if method not in ("add", "mul"):
        raise ValueError(f"method must be 'add' (3CosAdd) or 'mul' (3CosMul), got {method!r}")
    path = os.fspath(analogies) if analogies is not None else data_path(ANALOGIES)
    ok, canon, fold = _vocabulary(index_to_key, restrict_vocab, case_insensitive)
    _check_unit(normed, index_to_key, slice(len(canon)))
    qs = _read_questions(path, ok, fold)
    normed = normed[: len(canon)]
    preds = _answer(normed, canon, qs.rows, method) if len(qs.rows) else np.empty(0, np.int64)
    right = preds == qs.rows[:, 3]

    sections = [{"section": name, "correct": [], "incorrect": [], "skipped": skipped}
                for name, skipped in zip(qs.names, qs.skipped)]
    for quad, sec, good in zip(qs.words, qs.section.tolist(), right.tolist()):
        sections[sec]["correct" if good else "incorrect"].append(quad)
    if dummy4unknown:
        for sec, unknown in zip(sections, qs.unknown):
            sec["incorrect"].extend(unknown)
    n_skipped = sum(qs.skipped)
    n_questions = len(qs.words) + n_skipped
    if n_questions == 0:
        raise ValueError(f"{path}: no analogy questions (lines of 4 words)")

    def part(pred):
        chosen = [s for s in sections if pred(s["section"])]
        return _tally(sum(len(s["correct"]) for s in chosen), sum(len(s["incorrect"]) for s in chosen))

    total = {
        "section": "Total accuracy",
        "correct": [q for s in sections for q in s["correct"]],
        "incorrect": [q for s in sections for q in s["incorrect"]],
        "skipped": n_skipped,
        "questions": n_questions,
        "oov_ratio": 100.0 * n_skipped / n_questions,
        "semantic": part(lambda name: not name.startswith("gram")),
        "syntactic": part(lambda name: name.startswith("gram")),
    }
    accuracy = _tally(len(total["correct"]), len(total["incorrect"]))["accuracy"]
    for s in sections:
        logger.info("%s: %d/%d", s["section"], len(s["correct"]),
                    len(s["correct"]) + len(s["incorrect"]))
    sections.append(total)
    return accuracy, sections


# ---------------------------------------------------------------- word pairs
def _read_pairs(path, delimiter, encoding, fold):
    pairs, bad = [], 0
    with io.TextIOWrapper(open_binary(path, "word pairs"), encoding=encoding) as f:
        for line_no, line in enumerate(f, 1):
            if not line or line.startswith("#"):
                continue
            fields = line.split(delimiter)
            if len(fields) != 3 and delimiter is not None:
                fields = line.split()  # tolerate whitespace-separated files
            try:
                a, b, sim = fields
                pairs.append((fold(a.strip()), fold(b.strip()), float(sim)))
            except ValueError:
                if line.strip():
                    bad += 1
                    logger.info("%s: line %d: skipping, not 'word word score'", path, line_no)
    return pairs, bad


def _pair_similarities(normed, index_to_key, path, delimiter, encoding, restrict_vocab,
                       case_insensitive, dummy4unknown):
    """(human scores, model cosines, number of pairs with unknown words) of a pairs file."""
    ok, _, fold = _vocabulary(index_to_key, restrict_vocab, case_insensitive)
    read, _ = _read_pairs(path, delimiter, encoding, fold)
    known = [(ok[a], ok[b], s) for a, b, s in read if a in ok and b in ok]
    oov = len(read) - len(known)
    gold = [s for _, _, s in known]
    model = []
    if known:
        ia = np.array([a for a, _, _ in known])
        ib = np.array([b for _, b, _ in known])
        _check_unit(normed, index_to_key, np.concatenate([ia, ib]))
        model = (normed[ia] * normed[ib]).sum(axis=1).astype(np.float64).tolist()
    if dummy4unknown:
        gold += [s for a, b, s in read if a not in ok or b not in ok]
        model += [0.0] * oov
    return gold, model, oov


def evaluate_word_pairs(normed, index_to_key, pairs=None, delimiter="\t", encoding="utf8",
                        restrict_vocab=300000, case_insensitive=True, dummy4unknown=False):
    """Correlation of cosine similarities with human scores ("word1 word2 score" lines).

    normed, index_to_key: as in evaluate_word_analogies.

    pairs: path (plain, .gz or .bz2), default the bundled wordsim353.tsv; "#" lines are comments; fields split by
    `delimiter`, or by whitespace when that does not give 3. Returns gensim's shape
    `((pearson, p_value), (spearman, p_value), oov_ratio_percent)`.
    """
    from scipy import stats

    path = os.fspath(pairs) if pairs is not None else data_path(PAIRS[0])
    gold, model, oov = _pair_similarities(normed, index_to_key, path, delimiter, encoding,
                                          restrict_vocab, case_insensitive, dummy4unknown)
    if len(gold) < 2:
        raise ValueError(f"{path}: {len(gold)} similarity judgements with known words, "
                         f"need at least 2 ({oov} pairs with unknown words)")
    pearson = stats.pearsonr(gold, model)
    spearman = stats.spearmanr(gold, model)
    oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
    return ((float(pearson[0]), float(pearson[1])),
            (float(spearman[0]), float(spearman[1])), oov_ratio)


# ---------------------------------------------------------------- everything at once
def evaluate(normed, index_to_key, analogies=None, pairs=None, restrict_vocab=300000,
             case_insensitive=True, method="add"):
    """All evaluations as one JSON-ready dict (what `w2v eval` prints).

    normed, index_to_key: as in evaluate_word_analogies.
    analogies: a path, default the bundled questions-words.txt, or False for none. pairs: paths,
    default the bundled WordSim-353 and SimLex-999.
    """
    result = {"vocabulary": len(index_to_key), "restrict_vocab": restrict_vocab, "analogies": None,
              "pairs": []}
    if analogies is not False:
        path = analogies if analogies is not None else data_path(ANALOGIES)
        accuracy, sections = evaluate_word_analogies(
            normed, index_to_key, path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
            method=method)
        total = sections[-1]
        result["analogies"] = {
            "file": os.fspath(path), "method": method, "accuracy": accuracy,
            "correct": len(total["correct"]), "answered": len(total["correct"]) + len(total["incorrect"]),
            "skipped": total["skipped"], "semantic": total["semantic"],
            "syntactic": total["syntactic"],
            "sections": [{"section": s["section"], **_tally(len(s["correct"]), len(s["incorrect"])),
                          "skipped": s["skipped"]} for s in sections[:-1]],
        }
    for path in (pairs if pairs is not None else [data_path(p) for p in PAIRS]):
        entry = {"file": os.fspath(path)}
        gold, _, oov = _pair_similarities(normed, index_to_key, path, "\t", "utf8",
                                          restrict_vocab, case_insensitive, False)
        if len(gold) < 2:
            # a set the vectors do not cover is a result, not an error, in a summary
            entry.update(pearson=None, pearson_p=None, spearman=None, spearman_p=None,
                         oov_ratio=100.0 * oov / max(1, len(gold) + oov))
        else:
            (pr, pp), (sr, sp), oov = evaluate_word_pairs(
                normed, index_to_key, path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
            entry.update(pearson=pr, pearson_p=pp, spearman=sr, spearman_p=sp, oov_ratio=oov)
        result["pairs"].append(entry)
    return result


def format_table(result):
    """The `w2v eval` table for a result of `evaluate`."""
    lines = []
    a = result["analogies"]
    if a:
        lines.append(f"analogies ({os.path.basename(a['file'])}, 3Cos{a['method'].capitalize()}, "
                     f"vocabulary {result['vocabulary']}, restrict {result['restrict_vocab']})")
        lines.append(f"  {'section':<28} {'accuracy':>9} {'correct':>8} {'answered':>9} {'skipped':>8}")
        for s in a["sections"]:
            lines.append(f"  {s['section']:<28} {100 * s['accuracy']:8.1f}% {s['correct']:8d} "
                         f"{s['correct'] + s['incorrect']:9d} {s['skipped']:8d}")
        for name in ("semantic", "syntactic"):
            t = a[name]
            lines.append(f"  {name:<28} {100 * t['accuracy']:8.1f}% {t['correct']:8d} "
                         f"{t['correct'] + t['incorrect']:9d}")
        lines.append(f"  {'total':<28} {100 * a['accuracy']:8.1f}% {a['correct']:8d} "
                     f"{a['answered']:9d} {a['skipped']:8d}")
    if result["pairs"]:
        if lines:
            lines.append("")
        lines.append(f"word pairs {'':<18} {'pearson':>8} {'spearman':>9} {'oov':>7}")
        for p in result["pairs"]:
            if p["pearson"] is None:
                scores = f"{'-':>8} {'-':>9}"
            else:
                scores = f"{p['pearson']:8.4f} {p['spearman']:9.4f}"
            lines.append(f"  {os.path.basename(p['file']):<26} {scores} {p['oov_ratio']:6.1f}%")
    return "\n".join(lines)


def to_json(result):
    return json.dumps(result, indent=2)
