"""`Word2Vec`: the user API, with gensim's names.

    from w2v import Word2Vec
    model = Word2Vec(corpus_file="corpus.txt", vector_size=100, sg=1, workers=2)
    model.wv.most_similar("king")

The corpus is read once: `build_vocab` counts the words and encodes the text to int32 ids in
the same pass; `train` reuses those ids for every epoch, and across calls when it is provably
the same corpus (see `Word2Vec._encoded`).

Every keyword of gensim 4's `Word2Vec`, `build_vocab` and `train` is either implemented, or
listed in `GENSIM_KEYWORDS` below: accepted and ignored where it means nothing here, else
accepted only with the value that is what w2v does (NotImplementedError for any other).
Keywords that are neither raise TypeError, as Python does.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import itertools
import json
import logging
import os
import struct
import weakref
import zipfile
import zlib
from collections import defaultdict
from dataclasses import fields

import numpy as np

from . import checkpoint as checkpoint_mod
from . import corpus as corpus_mod
from . import monitor as monitor_mod
from . import huffman, kernels, sampling, shards, trainer
from . import plan as plan_mod
from . import store as store_mod
from .backends import rounds, threads
from .config import Settings
from .errors import DamagedFileError
from .formats import save_npz
from .vectors import KeyedVectors
from .vocab import RULE_DEFAULT, RULE_DISCARD, RULE_KEEP, Vocab, encode, scan

logger = logging.getLogger(__name__)

# 2: a Huffman tree taken from gensim is stored (hs_points, hs_codes, hs_lengths); a model without
# one is written as version 1, which w2v versions before 2 read as well
FORMAT_VERSION = 2
_SETTING_NAMES = {f.name for f in fields(Settings)}

IGNORED = "ignored"
# gensim 4's keywords that w2v's signatures do not name, per method (for build_vocab, those of
# prepare_vocab, which gensim's build_vocab passes its **kwargs to). Each maps to IGNORED and
# why it means nothing here, or to (the value that is what w2v does, what to do instead): any
# other value raises NotImplementedError. Implemented keywords are in the signatures; the
# ignored ones that w2v always accepted (total_examples, total_words, progress_per) too.
GENSIM_KEYWORDS = {
    "__init__": {
        "hashfxn": (IGNORED, "initial vectors are drawn from `seed`, no word is hashed"),
        "null_word": (0, "w2v has no padding word"),
        "sorted_vocab": (1, "the vocabulary is always sorted by descending count"),
        "batch_words": (IGNORED, "the trainer sizes its own chunks; sentences are split at 10,000 "
                                 "tokens, never truncated"),
        "comment": (IGNORED, "w2v keeps no lifecycle log"),
        "shrink_windows": (True, "the window is always shrunk at random, as word2vec.c does"),
    },
    "build_vocab": {
        "min_count": (None, "set min_count in Word2Vec(...)"),
        "sample": (None, "set sample in Word2Vec(...)"),
        "dry_run": (False, "w2v.vocab.scan and Vocab.from_counts give the counts without a model"),
    },
    "train": {
        "word_count": (0, "each train() call decays its rate from start_alpha to end_alpha: set those"),
        "queue_factor": (IGNORED, "w2v has no job queue: threads take chunks of the encoded corpus"),
        "report_delay": (IGNORED, "progress is shown by Word2Vec(progress=...)"),
    },
}


def _check_gensim_keywords(method, given: dict, known) -> None:
    """Raise TypeError for a keyword that is not gensim's either, NotImplementedError for a gensim
    keyword with a value w2v does not implement; accept the rest (they change nothing)."""
    table = GENSIM_KEYWORDS[method]
    qualname = "Word2Vec()" if method == "__init__" else f"Word2Vec.{method}()"
    for name, value in given.items():
        if name not in table:
            close = difflib.get_close_matches(name, [*known, *table], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{qualname} got an unexpected keyword argument {name!r}{hint}")
        default, note = table[name]
        if default is IGNORED:
            continue
        same = value is None if default is None else (
            isinstance(value, (bool, int, float, np.integer, np.bool_)) and value == default)
        if not same:
            raise NotImplementedError(
                f"{qualname}: gensim's {name}={value!r} is not implemented in w2v ({name}={default!r} "
                f"is what w2v does): {note}")


def _parameters(method) -> list:
    return [p for p in inspect.signature(method).parameters if p not in ("self", "gensim_kwargs")]


class Word2Vec:
    """word2vec: skip-gram (sg=1) or CBOW (sg=0) with negative sampling (negative=K),
    hierarchical softmax (hs=1), both, or the exact full softmax (softmax=True).

    Trained weights: `wv.vectors` (= w_in, the embeddings), `w_out_ns` (syn1neg) and
    `w_out_hs` (syn1). `epoch_stats` has one dict per trained epoch: raw_words,
    effective_words, loss (summed, float64), predictions and seconds.

    The arguments up to cbow_mean may be given by position, in gensim's order; the rest are
    keyword-only, so that a gensim call by position never lands on another parameter. gensim's
    hashfxn, batch_words and comment are accepted and ignored; null_word=0, sorted_vocab=1 and
    shrink_windows=True are what w2v does, other values raise NotImplementedError
    (`GENSIM_KEYWORDS`). trim_rule applies to the build_vocab that a corpus given here runs (as
    gensim: it is not kept for later calls). compute_loss is recorded as gensim does; the loss
    is computed either way.

    Skip-gram trains each window as one minibatch by default (batch_window=None: True for sg=1),
    HogBatch's order, 1.4-2.3x faster end to end at the same quality (README); batch_window=False keeps
    word2vec.c's and gensim's pair-by-pair order.

    Reproducibility: with workers=1 and a seed, a run is bit-for-bit reproducible. With several
    workers the threads share the weights without locks (Hogwild), and the vectors change from
    run to run; deterministic=True trains in rounds on one private replica of the weights per
    worker, merged in a fixed order, so that the same seed and workers give the same vectors
    every run (at a cost in speed and memory: docs/reliability.md).

    gensim's attributes: corpus_count, corpus_total_words (set by build_vocab), raw_vocab
    (build_vocab(keep_raw_vocab=True)), train_count, total_train_time, running_training_loss,
    compute_loss, cum_table, and the settings (model.window, model.sg, ...).

    Watching training (w2v.monitor): evaluate=True scores the bundled sets after each epoch (or a
    list of "analogy", "wordsim353", "simlex999" and file paths; [] for the held-out loss alone),
    and holdout=0.01 keeps that fraction of the corpus out of training to measure its loss:
    each epoch's dict gains holdout_loss and eval ({set: score}); final_eval holds the whole
    sets' scores at the end. early_stopping="holdout:2:0" (METRIC[:PATIENCE[:MIN_DELTA]], or
    an EarlyStopping) stops when the metric stops improving; keep_best puts back the best
    epoch's weights, every matrix, and best_epoch says which it was (an index into epoch_stats).
    """

    def __init__(self, sentences=None, corpus_file=None, vector_size=100, alpha=0.025, window=5,
                 min_count=5, max_vocab_size=None, sample=1e-3, seed=1, workers=3, min_alpha=0.0001,
                 sg=0, hs=0, negative=5, ns_exponent=0.75, cbow_mean=1, *, epochs=5, callbacks=(),
                 max_final_vocab=None, softmax=False, batch_window=None, shuffle=True, deterministic=False,
                 progress=None,
                 checkpoint=None, checkpoint_every=600.0, corpus_store="auto", cache_dir=None, trim_rule=None,
                 compute_loss=False, evaluate=None, holdout=0.01, early_stopping=None, keep_best=True,
                 backend="threads", client=None, dask_workers=2, dask_options=None, **gensim_kwargs):
        _check_gensim_keywords("__init__", gensim_kwargs, _INIT_PARAMETERS)
        self._set_backend(backend, client, dask_workers, dask_options)
        self._monitor = monitor_mod.MonitorSettings.from_arguments(evaluate, holdout, early_stopping, keep_best)
        self.best_epoch: int | None = None  # early stopping's best epoch, an index into epoch_stats
        self.final_eval: dict = {}          # the whole sets' scores at the end of the last train() call
        if corpus_store not in store_mod.MODES:
            raise ValueError(f"corpus_store must be one of {', '.join(store_mod.MODES)}, got {corpus_store!r}")
        self.corpus_store, self.cache_dir = corpus_store, cache_dir
        self.settings = Settings(
            vector_size=vector_size, alpha=alpha, window=window, min_count=min_count,
            max_vocab_size=max_vocab_size, max_final_vocab=max_final_vocab, sample=sample, seed=seed,
            workers=workers, min_alpha=min_alpha, sg=sg, hs=hs, negative=negative,
            ns_exponent=ns_exponent, cbow_mean=cbow_mean, epochs=epochs, softmax=bool(softmax),
            batch_window=None if batch_window is None else bool(batch_window), shuffle=bool(shuffle),
            deterministic=bool(deterministic))
        self.callbacks = tuple(callbacks)
        self.progress = progress
        if not (isinstance(checkpoint_every, (int, float)) and not isinstance(checkpoint_every, bool)
                and checkpoint_every > 0):
            raise ValueError(f"checkpoint_every must be a number of seconds > 0, got {checkpoint_every!r}")
        self.checkpoint, self.checkpoint_every = checkpoint, float(checkpoint_every)
        self.wv = KeyedVectors(vector_size)
        self.vocab: Vocab | None = None
        self.w_out_ns = np.zeros((0, vector_size), dtype=np.float32)
        self.w_out_hs = np.zeros((0, vector_size), dtype=np.float32)
        self.epoch_stats: list[dict] = []
        # gensim's bookkeeping: sentences and tokens build_vocab read, train() calls and seconds
        self.corpus_count, self.corpus_total_words = 0, 0
        self.raw_vocab = defaultdict(int)
        self.train_count, self.total_train_time = 0, 0.0
        self.compute_loss = bool(compute_loss)
        self.min_alpha_yet_reached = alpha
        # accepted and ignored (GENSIM_KEYWORDS), kept as gensim keeps them
        self.hashfxn = gensim_kwargs.get("hashfxn", hash)
        self.batch_words = gensim_kwargs.get("batch_words", 10000)
        self.comment = gensim_kwargs.get("comment")
        self._loss_base = (0.0, 0)  # running_training_loss = base + losses of epoch_stats[index:]
        self._corpus = None        # (_source_key, EncodedCorpus) of the corpus build_vocab read
        self._corpus_file = None   # its path, if it was a file (for checkpoints' fingerprints)
        self._tables = None
        self._cum_table = None
        self._hs_tree = None       # a Huffman tree taken from gensim (from_gensim); None: built from the counts
        if sentences is not None or corpus_file is not None:
            self.build_vocab(sentences, corpus_file=corpus_file, trim_rule=trim_rule)
            self.train(compute_loss=compute_loss)  # the corpus build_vocab just encoded: nothing can have changed it

    # gensim's attributes for what w2v always does
    null_word, sorted_vocab, shrink_windows = 0, 1, True

    BACKENDS = ("threads", "dask")

    def _set_backend(self, backend, client, dask_workers, dask_options):
        """backend="threads" (Hogwild threads in this process) or "dask": replicas on Dask workers
        (w2v.backends.dask), `workers` threads each; client: a dask.distributed.Client or a
        scheduler address, None for a LocalCluster of dask_workers processes started per train()
        call; dask_options: DaskBackend's round_words, full_sync_every, slots, combine, lr_scale,
        wire ("float16", the default, or "float32": the dtype of the changes sent each round),
        pipeline (True: a round trains while the last one merges); range_bytes: the largest byte
        range of a corpus file that the first pass on the workers reads as one shard
        (shards.RANGE_BYTES)."""
        if backend not in self.BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(self.BACKENDS)}, got {backend!r}")
        if not (isinstance(dask_workers, (int, np.integer)) and not isinstance(dask_workers, bool)
                and dask_workers >= 1):
            raise ValueError(f"dask_workers must be an integer >= 1, got {dask_workers!r}")
        known = {"round_words", "full_sync_every", "slots", "dashboard", "combine", "lr_scale", "wire", "pipeline",
                 "range_bytes"}
        unknown = set(dask_options or {}) - known
        if unknown:
            raise ValueError(f"unknown dask_options {sorted(unknown)}; known: {sorted(known)}")
        range_bytes = (dask_options or {}).get("range_bytes")
        if range_bytes is not None and not (isinstance(range_bytes, (int, np.integer))
                                            and not isinstance(range_bytes, bool) and range_bytes >= 1):
            raise ValueError(f"dask_options range_bytes must be an integer >= 1, got {range_bytes!r}")
        self.backend, self.client, self.dask_workers = backend, client, int(dask_workers)
        self.dask_options = dict(dask_options or {})

    @property
    def layer1_size(self) -> int:
        return self.settings.vector_size

    @property
    def effective_min_count(self) -> int:
        """gensim's: min_count as raised to fit max_final_vocab by the last build_vocab."""
        found = self.vocab.effective_min_count if self.vocab is not None else None
        return self.settings.min_count if found is None else found

    def __getattr__(self, name):
        # gensim exposes the settings as attributes: model.window, model.sg, ...
        if name in _SETTING_NAMES and "settings" in self.__dict__:
            return getattr(self.__dict__["settings"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # gensim's names for the output weights
    @property
    def syn1neg(self):
        return self.w_out_ns

    @property
    def syn1(self):
        return self.w_out_hs

    # ------------------------------------------------------------------ vocabulary
    @staticmethod
    def _source_key(corpus_iterable, corpus_file):
        """What tells, without reading it, that a corpus still has the content it had when this
        key was taken; None where nothing does."""
        if corpus_file is not None and shards.is_url(corpus_file):
            return ("url", [shards.file_fingerprint(f) for f in shards.list_files(corpus_file)])
        if corpus_file is not None:
            # size and mtime change with the content; inode and device with a file replaced by a
            # rename. Not seen: a rewrite to the same size within one mtime tick
            return ("file", tuple((os.path.realpath(f), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
                                  for f in corpus_mod.corpus_files(corpus_file) for st in [os.stat(f)]))
        if iter(corpus_iterable) is corpus_iterable:
            # a one-shot iterator that build_vocab read to its end yields nothing more: what it
            # yielded is the encoded corpus. Held by reference, so no other object can take its id
            return ("iterator", corpus_iterable)
        # a list or a restartable stream can change between two reads (extend, a file underneath)
        # and a freed list's id can be reused: nothing short of reading it again tells
        return None

    @staticmethod
    def _same_source(a, b) -> bool:
        if a is None or b is None or a[0] != b[0]:
            return False
        return a[1] is b[1] if a[0] == "iterator" else a[1] == b[1]

    def build_vocab(self, corpus_iterable=None, corpus_file=None, *, update=False, progress_per=None,
                    keep_raw_vocab=False, trim_rule=None, vocab_file=None, **gensim_kwargs):
        """Count the words of a corpus (one pass, which also encodes it) and set up the weights.

        Sets corpus_count (sentences, as trained: empty ones are not counted, longer ones than
        10,000 tokens count once per 10,000) and corpus_total_words (every token, kept or not).
        keep_raw_vocab: keep every word's count in raw_vocab (word -> count, in order of first
        appearance), else raw_vocab is empty as in gensim. trim_rule(word, count, min_count) ->
        RULE_KEEP / RULE_DISCARD / RULE_DEFAULT: gensim's per-word override of min_count.
        vocab_file: take the words and counts from a `word count` file instead (word2vec.c's
        -read-vocab); min_count, max_final_vocab and trim_rule still apply.

        update=True: online training, as gensim's (see `_grow_vocab`): the new corpus' counts are
        added to the words the model has, its words that pass min_count (and trim_rule) and that
        the model lacks are added, the trained rows are kept, and train() then trains on this
        corpus (given again or not).

        gensim's progress_per is accepted and ignored; dry_run=True and prepare_vocab's min_count
        / sample raise NotImplementedError (set those in Word2Vec()): a model is never reset by a
        keyword it did not understand.
        """
        _check_gensim_keywords("build_vocab", gensim_kwargs, _BUILD_VOCAB_PARAMETERS)
        if trim_rule is not None and not callable(trim_rule):
            raise TypeError(f"trim_rule must be a function (word, count, min_count) -> RULE_*, got {trim_rule!r}")
        if update:
            if vocab_file is not None:
                raise ValueError("update=True adds the words of a corpus; vocab_file= is not read with it")
            return self._update_vocab(corpus_iterable, corpus_file, keep_raw_vocab, trim_rule)
        s = self.settings
        source, restartable = self._resolve(corpus_iterable, corpus_file)
        if source is None and (vocab_file is not None or s.max_vocab_size is not None or trim_rule is not None
                               or keep_raw_vocab):
            raise ValueError(f"the corpus URL {corpus_file} is counted on the Dask workers, which give the "
                             "vocabulary of min_count and max_final_vocab only: vocab_file=, max_vocab_size, "
                             "trim_rule and keep_raw_vocab read the corpus in this process (copy it to a file)")
        key = self._source_key(corpus_iterable, corpus_file)  # stamped before reading
        # the store caches a vocabulary counted by min_count / max_final_vocab / max_vocab_size
        # alone, and keeps no word it dropped: a trim_rule or a raw vocabulary to keep read the file
        # in RAM instead (and so does max_vocab_size on Dask, whose shards are counted unpruned)
        if corpus_file is not None and vocab_file is None and (s.max_vocab_size is None or self.backend != "dask") \
                and trim_rule is None and not keep_raw_vocab and self._on_disk(corpus_file):
            corpus = self._store_of_file(corpus_file)
            vocab = corpus.vocab
            logger.info("vocabulary: %d words (min_count=%d); corpus %d words in %d sentences, on disk in %s",
                        len(vocab), s.min_count, corpus.n_words, corpus.n_sentences, corpus.path)
            self._set_vocab(vocab)
            # the store holds the kept words only: the dropped ones' tokens are not counted
            self.corpus_count, self.corpus_total_words = corpus.n_sentences, vocab.total_words
            self.raw_vocab = defaultdict(int)
            self._corpus = (key, corpus)
            self._corpus_file = corpus_file
            return self
        result, dirs = self._scan(source)
        try:
            if vocab_file is not None:
                pairs = Vocab.read_counts(vocab_file)
            else:
                pairs = zip(result.words, result.counts.tolist())
            pairs = list(pairs)
            try:
                vocab = Vocab.from_counts(pairs, min_count=s.min_count, max_final_vocab=s.max_final_vocab,
                                          trim_rule=trim_rule)
            except ValueError as e:
                if not result.pruned:
                    raise
                raise ValueError(f"max_vocab_size={s.max_vocab_size} is too small for this corpus: no word "
                                 f"that counting kept (it forgot rare words to stay within it) has a count of "
                                 f"min_count={s.min_count}; raise max_vocab_size (or lower min_count)"
                                 ) from None
        except BaseException:
            if dirs is not None:
                dirs.discard()
            raise
        if result.partial and restartable:
            # the Python pass forgot occurrences while counting; encode again so early occurrences
            # of kept words are trained on (the counts stay word2vec.c's pruned ones)
            result = scan(source)
        n_sentences, n_tokens = _scanned_size(result)
        corpus = self._encode(result, dirs, vocab)
        if corpus.n_words == 0:
            raise ValueError("the corpus has no words of the vocabulary")
        logger.info("vocabulary: %d words (min_count=%d) of %d distinct; corpus %d words in %d sentences",
                    len(vocab), s.min_count, int(np.count_nonzero(result.counts)), corpus.n_words,
                    corpus.n_sentences)
        self._set_vocab(vocab)
        self.corpus_count, self.corpus_total_words = n_sentences, n_tokens
        self.raw_vocab = defaultdict(int, ((w, c) for w, c in pairs if w is not None and c > 0)
                                     if keep_raw_vocab else ())
        self._corpus = (key, corpus)
        self._corpus_file = corpus_file
        return self

    def build_vocab_from_freq(self, word_freq, keep_raw_vocab=False, corpus_count=None, trim_rule=None,
                              update=False):
        """The vocabulary of a {word: count} mapping, without reading a corpus (gensim's
        signature). min_count, max_final_vocab and trim_rule apply; corpus_count is recorded
        (0 if None), corpus_total_words is the sum of the counts. train() then needs a corpus.
        update=True grows a trained model's vocabulary as build_vocab(update=True) does."""
        if trim_rule is not None and not callable(trim_rule):
            raise TypeError(f"trim_rule must be a function (word, count, min_count) -> RULE_*, got {trim_rule!r}")
        s = self.settings
        pairs = [(w, int(c)) for w, c in dict(word_freq).items()]
        if update:
            self._need_vocab_to_update()
            self._grow_vocab(pairs, self._new_words(pairs, trim_rule))
        else:
            self._set_vocab(Vocab.from_counts(pairs, min_count=s.min_count, max_final_vocab=s.max_final_vocab,
                                              trim_rule=trim_rule))
        self.corpus_count = int(corpus_count or 0)
        self.corpus_total_words = sum(c for _, c in pairs)
        self.raw_vocab = defaultdict(int, pairs if keep_raw_vocab else ())
        self._corpus, self._corpus_file = None, None
        return self

    # ------------------------------------------------------------------ online training
    def _need_vocab_to_update(self):
        if self.vocab is None:
            raise RuntimeError("update=True grows a vocabulary: build one first with build_vocab(corpus) "
                               "(gensim raises RuntimeError too)")

    def _update_vocab(self, corpus_iterable, corpus_file, keep_raw_vocab, trim_rule):
        """build_vocab(update=True): count a new corpus, grow the vocabulary, encode the corpus
        in the grown vocabulary (train() with no corpus, or with this one, trains on it)."""
        self._need_vocab_to_update()
        if corpus_file is not None and shards.is_url(corpus_file):
            raise ValueError(f"build_vocab(update=True) reads the corpus in this process: the corpus URL "
                             f"{corpus_file} is read by Dask workers for a new vocabulary only (copy it to a file)")
        source, restartable = corpus_mod.resolve(corpus_iterable, corpus_file)
        key = self._source_key(corpus_iterable, corpus_file)
        result, dirs = self._scan(source)
        try:
            pairs = [(w, c) for w, c in zip(result.words, result.counts.tolist()) if w is not None and c > 0]
            found = self._new_words(pairs, trim_rule)
            if result.partial and restartable:
                result = scan(source)
            n_sentences, n_tokens = _scanned_size(result)
            self._grow_vocab(pairs, found)
        except BaseException:
            if dirs is not None:
                dirs.discard()
            raise
        corpus = self._encode(result, dirs, self.vocab)
        self.corpus_count, self.corpus_total_words = n_sentences, n_tokens
        self.raw_vocab = defaultdict(int, pairs if keep_raw_vocab else ())
        self._corpus, self._corpus_file = (key, corpus), corpus_file
        logger.info("vocabulary updated: %d words; corpus %d words in %d sentences", len(self.vocab),
                    corpus.n_words, corpus.n_sentences)
        return self

    def _new_words(self, pairs, trim_rule) -> Vocab | None:
        """The words of a new corpus that an update may add: those passing min_count (raised for
        max_final_vocab) and trim_rule, judged on the new counts alone, as gensim."""
        s = self.settings
        try:
            return Vocab.from_counts(pairs, min_count=s.min_count, max_final_vocab=s.max_final_vocab,
                                     trim_rule=trim_rule)
        except ValueError:
            return None  # no word passes: only the counts of known words grow

    def _grow_vocab(self, pairs, found: Vocab | None):
        """Add the new corpus' counts (pairs) to the vocabulary's words, whatever their count there,
        and add the words of `found` that it lacks, as gensim does; re-sort the vocabulary by count
        (gensim appends the new words), moving every trained row with its word.

        w_in: old rows kept; a new word's row is drawn as build_vocab draws rows (uniform in
        +-0.5/d), from a generator seeded by (seed, old vocabulary size). w_out_ns: old rows kept,
        new ones zero. w_out_hs: the Huffman tree is rebuilt from the new counts; an inner node
        of the new tree takes the vector of the old node with the same words below each of its
        two branches (negated when the branches are swapped), and other inner nodes start at zero
        as every inner node does in a new model (gensim keeps the rows by position, so they then
        sit at unrelated nodes: its issue #2884)."""
        s = self.settings
        old = self.vocab
        old_index = old.key_to_index
        counts = dict(zip(old.index_to_key, old.counts.tolist()))
        for w, c in pairs:
            if w in counts:
                counts[w] += c
        if found is not None:
            for w, c in zip(found.index_to_key, found.counts.tolist()):
                if w not in old_index:
                    counts[w] = c
        merged = Vocab.from_counts(counts.items(), min_count=0)
        merged.effective_min_count = found.effective_min_count if found is not None else old.effective_min_count
        from_old = np.array([old_index.get(w, -1) for w in merged.index_to_key], dtype=np.int64)
        kept = from_old >= 0
        v, d = len(merged), s.vector_size
        spare = threads.spare_rows(v, s.workers, s.softmax)
        from .config import check_matrix_memory
        check_matrix_memory(v, d, spare, s)
        w_in = threads.allocate(v, d, spare)
        w_in[kept] = self.wv.vectors[from_old[kept]]
        rng = np.random.default_rng([s.seed, len(old)])
        w_in[~kept] = (rng.random((int((~kept).sum()), d), dtype=np.float32) - 0.5) / d
        w_out_ns = threads.allocate(v if (s.negative > 0 or s.softmax) else 0, d, spare)
        if w_out_ns.shape[0]:
            w_out_ns[kept] = self.w_out_ns[from_old[kept]]
        w_out_hs = threads.allocate(max(v - 1, 0) if s.hs else 0, d, spare)
        if s.hs and len(old) > 1 and v > 1:
            _carry_inner_nodes(self._huffman_tree(), merged.counts, from_old, self.w_out_hs, w_out_hs)
        self.vocab = merged
        self._hs_tree = None
        self.wv = KeyedVectors(d, merged.index_to_key, w_in)
        self.wv.expandos["count"] = np.array(merged.counts, dtype=np.int64)
        self.w_out_ns, self.w_out_hs = w_out_ns, w_out_hs
        self._tables = None
        self._cum_table = None

    # ------------------------------------------------------------------ the corpus store
    def _scan(self, source):
        """scan() of a corpus iterable; one that is not a file goes to a private store on disk as it
        is read, from its first token with corpus_store="disk", from AUTO_ITERABLE_TOKENS with
        "auto" (not with max_vocab_size: the Python pass prunes in RAM). Returns (Scan, the
        store.SpillDirs it may have written to, or None)."""
        s = self.settings
        dask = self.backend == "dask"
        if (self.corpus_store == "memory" and not dask) or s.max_vocab_size is not None or \
                isinstance(source, corpus_mod.LineSentence):
            return scan(source, max_vocab_size=s.max_vocab_size), None
        dirs = store_mod.SpillDirs(self._cache())
        after = 0 if self.corpus_store == "disk" or dask else store_mod.AUTO_ITERABLE_TOKENS
        try:
            return scan(source, spill_after=after, spill_dir=dirs), dirs
        except BaseException:
            dirs.discard()
            raise

    @staticmethod
    def _encode(result, dirs, vocab: Vocab):
        """The corpus of a scan in vocab's ids: in RAM, or a private store when the scan spilled."""
        if result.spill is not None:
            return dirs.store(result, vocab, corpus_mod.MAX_SENTENCE_LENGTH)
        return encode(result, vocab)

    def _cache(self):
        return store_mod.default_cache_dir() if self.cache_dir is None else self.cache_dir

    def _on_disk(self, corpus_file) -> bool:
        """Whether this corpus file is trained from a corpus store on disk (corpus_store=; always
        with the Dask backend, whose workers read the store)."""
        if self.backend == "dask":
            return True
        if self.corpus_store == "auto":
            return store_mod.large_enough(corpus_file)
        return self.corpus_store == "disk"

    def _store_of_file(self, corpus_file, vocab: Vocab | None = None):
        """The corpus store of a file, from the cache or built now. vocab None: the vocabulary is
        counted from the file with this model's settings; else the ids are this vocabulary's."""
        s = self.settings
        cache = self._cache()
        counted = {"min_count": s.min_count, "max_final_vocab": s.max_final_vocab}
        if s.max_vocab_size is not None:  # absent otherwise: the keys of stores built before it stay
            counted["max_vocab_size"] = s.max_vocab_size
        if self.backend == "dask" and (shards.is_url(corpus_file) or shards.sharded(corpus_file, self._range_bytes())):
            return self._sharded_store(corpus_file, vocab)
        if vocab is not None:
            digest = store_mod.vocab_digest(vocab)
            # the store build_vocab made of this file, when its vocabulary is this one (a resume)
            found = store_mod.open_cached(
                cache, store_mod.store_key(store_mod.files_fingerprint(corpus_file),
                                           corpus_mod.MAX_SENTENCE_LENGTH, counted), logger, vocab=digest)
            if found is not None:
                return found
            spec, make = {"vocab": digest}, (lambda words, counts: vocab)
        else:
            spec = counted

            def make(words, counts):
                return Vocab.from_arrays(words, counts, min_count=s.min_count,
                                         max_final_vocab=s.max_final_vocab)
        bar = trainer.PassProgress(store_mod.text_bytes(corpus_file), self.progress)
        try:
            return store_mod.build_from_files(cache, corpus_file, corpus_mod.MAX_SENTENCE_LENGTH, spec, make,
                                              progress=bar.update, logger=logger, max_vocab_size=s.max_vocab_size)
        finally:
            bar.close()

    def _range_bytes(self) -> int:
        return int(self.dask_options.get("range_bytes") or shards.RANGE_BYTES)

    def _resolve(self, corpus_iterable, corpus_file):
        """corpus.resolve, or (None, True) for a corpus URL (with the Dask backend: its workers read
        it through fsspec; this process never does)."""
        if corpus_file is None or not shards.is_url(corpus_file):
            return corpus_mod.resolve(corpus_iterable, corpus_file)
        if corpus_iterable is not None:
            raise ValueError("give exactly one of sentences (an iterable of token lists) or corpus_file (a path)")
        if self.backend != "dask":
            raise ValueError(f"the corpus {corpus_file} is a URL, which the Dask backend's workers read through "
                             "fsspec: train with backend='dask' (w2v train -dask local|ADDRESS; pip install "
                             "'w2v[dask]'); with no client, a LocalCluster on this machine reads it")
        return None, True

    def _sharded_store(self, corpus_file, vocab: Vocab | None):
        """The Dask backend's first pass over a corpus directory, a URL, or a file larger than one
        byte range: the shards (files, byte ranges of them cut at newlines) are counted and encoded
        on the workers (backends.dask.first_pass); the vocabulary is counted from them unless given."""
        from .backends import dask as dask_backend
        s = self.settings

        def make(words, counts):
            if vocab is not None:
                return vocab
            return Vocab.from_arrays(words, counts, min_count=s.min_count,
                                     max_final_vocab=s.max_final_vocab)
        threads = max(1, s.workers)
        _, found = dask_backend.first_pass(self._dask_client(), corpus_file, self._cache(),
                                           corpus_mod.MAX_SENTENCE_LENGTH, make, threads=threads,
                                           range_bytes=self._range_bytes())
        return found

    def _set_vocab(self, vocab: Vocab):
        s = self.settings
        self.vocab = vocab
        v, d = len(vocab), s.vector_size
        rng = np.random.default_rng(s.seed)
        # each matrix is the leading rows of an array with room for the threads' private rows,
        # which training then uses in place instead of copying the matrix (threads.spare_rows)
        spare = threads.spare_rows(v, s.workers, s.softmax)
        # before allocating: a clear error naming the memory needed, not a MemoryError traceback
        from .config import check_matrix_memory
        check_matrix_memory(v, d, spare, s)

        def matrix(rows):
            return threads.allocate(rows, d, spare)

        w_in = matrix(v)
        w_in[:] = (rng.random((v, d), dtype=np.float32) - 0.5) / d
        self.wv = KeyedVectors(d, vocab.index_to_key, w_in)
        self.wv.expandos["count"] = np.array(vocab.counts, dtype=np.int64)  # gensim's get_vecattr(w, "count")
        self.w_out_ns = matrix(v if (s.negative > 0 or s.softmax) else 0)
        self.w_out_hs = matrix(max(v - 1, 0) if s.hs else 0)
        self._tables = None
        self._cum_table = None
        self._hs_tree = None
        self.epoch_stats = []
        self._loss_base = (0.0, 0)

    def _kernel_tables(self) -> kernels.Tables:
        if self._tables is None:
            s = self.settings
            counts = self.vocab.counts
            keep = sampling.keep_probabilities(counts, s.sample)
            noise = sampling.alias_table(sampling.noise_distribution(counts, s.ns_exponent)) \
                if s.negative > 0 else np.zeros(1, dtype=np.uint64)
            if s.hs and len(counts) > 1:
                tree = self._huffman_tree()
                points, labels, lengths = tree.points, (1 - tree.codes).astype(np.float32), tree.lengths
            else:
                points = np.zeros((max(len(counts), 1), 1), dtype=np.int32)
                labels = np.zeros(points.shape, dtype=np.float32)
                lengths = np.zeros(len(counts), dtype=np.int32)
            self._tables = kernels.Tables(keep, noise, points, labels, lengths)
        return self._tables

    def _huffman_tree(self) -> huffman.HuffmanTree:
        """The tree hierarchical softmax trains on: the one taken from gensim, or the counts'."""
        return self._hs_tree if self._hs_tree is not None else huffman.build(self.vocab.counts)

    def _kernel_config(self) -> kernels.Config:
        s = self.settings
        return kernels.Config(sg=s.sg, hs=s.hs, negative=s.negative, window=s.window,
                              cbow_mean=s.cbow_mean, softmax=int(s.softmax),
                              batch_window=int(s.batch_window))

    def save_vocab(self, path):
        """Write the vocabulary as `word count` lines (word2vec.c's -save-vocab)."""
        self._need_vocab()
        self.vocab.save(path)

    def _need_vocab(self):
        if self.vocab is None:
            raise ValueError("no vocabulary: call build_vocab() first (or pass a corpus to Word2Vec())")

    # ------------------------------------------------------------------ training
    def _encoded(self, corpus_iterable, corpus_file):
        """The corpus to train on as ids. No corpus given: the one build_vocab read, as it was
        then. A file, or the very iterator build_vocab read: build_vocab's ids while the file is
        unchanged. Any other iterable (a list, a restartable stream): read and encoded again.

        Why re-encode rather than key an iterable by a fingerprint (token count and a hash taken
        while scanning): checking a fingerprint reads the whole iterable again anyway, and a
        mismatch then needs one more pass; encoding again is one pass, right whatever the tokens'
        hashes, and cheap next to training: 0.13 s for the demo corpus as a list (1.47M tokens),
        where one 2-thread epoch takes 1.7 s and gensim reads an iterable once per epoch.
        """
        return self._encoded_and_size(corpus_iterable, corpus_file)[0]

    def _encoded_and_size(self, corpus_iterable, corpus_file):
        """`_encoded`, and the (sentences, tokens) read (build_vocab's for its corpus; None for a
        corpus store, which does not count the tokens it drops)."""
        if corpus_iterable is None and corpus_file is None:
            if self._corpus is None:
                raise ValueError("give the corpus to train on: corpus_iterable or corpus_file "
                                 "(this model has no corpus read by build_vocab)")
            return self._corpus[1], (self.corpus_count, self.corpus_total_words)
        source, _ = self._resolve(corpus_iterable, corpus_file)
        key = self._source_key(corpus_iterable, corpus_file)
        if self._corpus is not None and self._same_source(self._corpus[0], key):
            return self._corpus[1], (self.corpus_count, self.corpus_total_words)
        if corpus_file is not None and self._on_disk(corpus_file):
            return self._store_of_file(corpus_file, self.vocab), None
        result, dirs = self._scan(source)
        size = _scanned_size(result)
        corpus = self._encode(result, dirs, self.vocab)
        if corpus.n_words == 0:
            raise ValueError("the corpus has no words of the vocabulary")
        return corpus, size

    def train(self, corpus_iterable=None, corpus_file=None, total_examples=None, total_words=None,
              epochs=None, start_alpha=None, end_alpha=None, *, callbacks=None, compute_loss=False,
              **gensim_kwargs):
        """Train on a corpus; with none given, on the one build_vocab read (as it was then).
        Returns (effective, raw) words as gensim: effective are those trained on after
        downsampling, raw the in-vocabulary tokens read (gensim: all tokens read).

        A list or other restartable iterable is read again (it may have changed since
        build_vocab); a file is read again only if it changed. total_examples / total_words
        (gensim's size of the corpus, for its learning-rate schedule) are not needed: the corpus is
        counted as it is encoded, and the rate follows that count. When given they must be
        integers >= 0, and one that differs from the count is logged as a warning, as gensim does;
        gensim raises ValueError when both are missing, w2v does not. epochs defaults to the
        model's. compute_loss is recorded (gensim's attribute); the loss is always computed.
        queue_factor and report_delay are accepted and ignored; word_count other than 0 raises
        NotImplementedError.
        """
        _check_gensim_keywords("train", gensim_kwargs, _TRAIN_PARAMETERS)
        self._need_vocab()
        s = self.settings
        epochs = s.epochs if epochs is None else epochs
        if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        epochs = int(epochs)
        for name, value in (("total_examples", total_examples), ("total_words", total_words)):
            if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool)
                                      or value < 0):
                raise ValueError(f"{name} must be an integer >= 0 (the corpus' size, as gensim's), got {value!r}")
        corpus, size = self._encoded_and_size(corpus_iterable, corpus_file)
        if size is not None:
            for name, given, counted in (("total_examples", total_examples, size[0]),
                                         ("total_words", total_words, size[1])):
                if given is not None and given != counted:
                    logger.warning("supplied %s (%d) did not equal the corpus' count (%d); w2v trains on "
                                   "the corpus read and schedules the learning rate by its count",
                                   name, given, counted)
        self.compute_loss = bool(compute_loss)
        if corpus_iterable is None and corpus_file is None:
            corpus_file = self._corpus_file
        return self._train(corpus, corpus_file, epochs=epochs,
                           start_alpha=s.alpha if start_alpha is None else start_alpha,
                           end_alpha=s.min_alpha if end_alpha is None else end_alpha,
                           callbacks=self.callbacks if callbacks is None else tuple(callbacks))

    def _train(self, corpus, corpus_file, *, epochs, start_alpha, end_alpha, callbacks, first_epoch=None,
               cursor=None, epoch_so_far=None, monitor_state=None, unit_words=None):
        """Run the driver over an encoded corpus; with `cursor`, resume a call from a checkpoint
        (and monitor_state: its monitor's (state, arrays)). unit_words: words per work unit (the
        checkpoint's when resuming); None: the plan's default, or for deterministic training units
        short enough that a round is a small part of an epoch (backends.rounds.unit_words)."""
        s = self.settings
        monitor = None
        if unit_words is None:
            unit_words = rounds.unit_words(corpus.n_words) if s.deterministic else plan_mod.UNIT_WORDS

        def hook(name):
            def call():
                for cb in callbacks:
                    fn = getattr(cb, name, None)
                    if fn is not None:
                        fn(self)
            return call

        def epoch_end(e, stats):
            # recorded before the callbacks run, so that they (and get_latest_training_loss) see it
            self.epoch_stats.append(stats)
            if monitor is not None:
                monitor.end_epoch(len(self.epoch_stats) - 1, stats, last=e == epochs - 1)
                self.best_epoch = monitor.best_epoch
            self.wv.vectors = self.wv.vectors  # invalidate cached norms: the weights moved in place
            hook("on_epoch_end")()

        if first_epoch is None:
            first_epoch = len(self.epoch_stats)
        if getattr(self, "backend", "threads") == "dask" and not hasattr(corpus, "block_words"):
            corpus = store_mod.private_store(self._cache(), corpus, self.vocab)  # the workers read it
        if self._monitor is not None:
            monitor = monitor_mod.Monitor(
                self._monitor, weights=(self.wv.vectors, self.w_out_hs, self.w_out_ns),
                index_to_key=self.vocab.index_to_key, corpus=corpus, tables=self._kernel_tables(),
                cfg=self._kernel_config(), seed=s.seed, workers=s.workers)
            if monitor_state is not None:
                monitor.restore(*monitor_state)
        self.best_epoch = None if monitor is None else monitor.best_epoch
        # gensim's running_training_loss restarts at 0 in each train() call
        self._loss_base = (0.0, first_epoch)
        save_checkpoint, writer = None, None
        if self.checkpoint is not None:
            writer = checkpoint_mod.CheckpointWriter(self.checkpoint)
            call = {"version": checkpoint_mod.CHECKPOINT_VERSION, "epochs": epochs, "start_alpha": start_alpha,
                    "end_alpha": end_alpha, "first_epoch": first_epoch, "unit_words": unit_words,
                    "corpus": checkpoint_mod.corpus_fingerprint(corpus, corpus_file)}

            def save_checkpoint(at, so_far):
                arrays, meta = self._arrays_and_meta()
                meta["training"] = dict(call, cursor=list(at), epoch_so_far=so_far)
                if monitor is not None:
                    meta["training"]["monitor"], best = monitor.state()
                    arrays.update(best)
                writer.write(arrays, meta)
        make_backend = self._make_backend()
        try:
            hook("on_train_begin")()
            trainer.train(
                corpus, self.wv.vectors, self.w_out_hs, self.w_out_ns, self._kernel_tables(),
                self._kernel_config(), epochs=epochs, workers=s.workers, start_alpha=start_alpha,
                end_alpha=end_alpha, seed=s.seed, first_epoch=first_epoch,
                on_epoch_begin=lambda _e: hook("on_epoch_begin")(), on_epoch_end=epoch_end,
                progress=self.progress, shuffle=s.shuffle, deterministic=s.deterministic, cursor=cursor,
                epoch_so_far=epoch_so_far, chunk_words=unit_words, checkpoint=save_checkpoint,
                checkpoint_every=self.checkpoint_every, held_out=None if monitor is None else monitor.held,
                should_stop=None if monitor is None else lambda _e: monitor.stopped, backend=make_backend)
        finally:
            self.wv.vectors = self.wv.vectors  # an interrupted epoch moved the weights too
            if writer is not None:
                writer.wait()  # the last checkpoint is on disk before train() returns or raises
        stats = self.epoch_stats[first_epoch:]
        if monitor is not None:
            self.final_eval = monitor.final_scores()
        self.min_alpha_yet_reached = end_alpha
        self.train_count += 1
        self.total_train_time += sum(e["seconds"] for e in stats)
        hook("on_train_end")()
        return sum(e["effective_words"] for e in stats), sum(e["raw_words"] for e in stats)

    def _dask_client(self):
        """The model's dask.distributed.Client: `client` (connected once), or a LocalCluster of
        dask_workers processes started on first use and closed with the model (or at exit)."""
        found = getattr(self, "_dask", None)
        if found is None:
            from .backends import dask as dask_backend
            if self.client is None:
                client, cluster = dask_backend.local_client(
                    self.dask_workers, dashboard=bool(self.dask_options.get("dashboard", False)))

                def close(client=client, cluster=cluster):
                    client.close()
                    cluster.close()
                self._dask_close = weakref.finalize(self, close)
                found = self._dask = client
            else:
                found = self._dask = dask_backend.connect(self.client)
        return found

    def close(self):
        """Stop the LocalCluster the Dask backend started, if any (also done when the model is
        garbage collected, and at exit)."""
        closer = getattr(self, "_dask_close", None)
        if closer is not None:
            closer()
        self._dask = None

    def _make_backend(self):
        """What trainer.train makes its backend with (None: threads)."""
        if getattr(self, "backend", "threads") != "dask":
            return None
        import functools

        from .backends import dask as dask_backend
        opts = {k: v for k, v in self.dask_options.items() if k not in ("dashboard", "range_bytes")}
        if self.client is None:
            opts.setdefault("slots", self.dask_workers)
        return functools.partial(dask_backend.DaskBackend, client=self._dask_client(), **opts)

    @property
    def running_training_loss(self) -> float:
        """gensim's: the loss summed over the epochs of the current (or last) train() call so far,
        from 0 at the call's start or from the value last assigned to it. Updated at each epoch's
        end (gensim's grows during the epoch)."""
        value, since = self._loss_base
        return value + sum(e["loss"] for e in self.epoch_stats[since:])

    @running_training_loss.setter
    def running_training_loss(self, value):
        # gensim callbacks reset it (model.running_training_loss = 0.0) to read per-epoch losses
        self._loss_base = (float(value), len(self.epoch_stats))

    def get_latest_training_loss(self) -> float:
        """gensim's: running_training_loss, the loss summed since the current train() call began
        (the last epoch's alone is epoch_stats[-1]["loss"])."""
        return self.running_training_loss

    def plot_training(self, **kwargs):
        """The learning curves: a matplotlib Figure of the loss per prediction by epoch
        (training, and held-out when recorded) and every evaluation score in epoch_stats, with
        best_epoch (early stopping's) marked, or else the lowest held-out loss. Keywords (title,
        size, dpi) go to w2v.plot.plot_training. Needs matplotlib: pip install 'w2v[plot]'."""
        from . import plot

        kwargs.setdefault("best_epoch", self.best_epoch)
        return plot.plot_training(self.epoch_stats, **kwargs)

    def reset_from(self, other_model):
        """gensim's: take another model's vocabulary (words, counts, corpus_count,
        corpus_total_words) with freshly initialised weights, to train on another corpus."""
        other_model._need_vocab()
        self._set_vocab(Vocab(list(other_model.vocab.index_to_key), other_model.vocab.counts.copy()))
        self.corpus_count, self.corpus_total_words = other_model.corpus_count, other_model.corpus_total_words
        self._corpus, self._corpus_file = None, None

    def init_weights(self):
        """gensim's: weights back to their untrained state (the same draw as after build_vocab),
        vocabulary and corpus kept."""
        self._need_vocab()
        corpus, corpus_file = self._corpus, self._corpus_file
        self._set_vocab(self.vocab)
        self._corpus, self._corpus_file = corpus, corpus_file

    def init_sims(self, replace=False):
        """gensim's deprecated name: wv.init_sims."""
        self.wv.init_sims(replace=replace)

    # ------------------------------------------------------------------ gensim's queries
    @property
    def cum_table(self) -> np.ndarray:
        """gensim's negative-sampling table, uint32 (V,): cumulative count**ns_exponent scaled to
        2**31 - 1, computed as gensim computes it (empty without negative sampling). w2v's trainer
        draws negatives from an alias table of the same distribution instead; this is for code
        that reads gensim's."""
        if self._cum_table is None:
            s = self.settings
            if self.vocab is None or not s.negative:
                return np.zeros(0, dtype=np.uint32)
            power = self.vocab.counts.astype(np.float64) ** float(s.ns_exponent)
            cumulative = np.cumsum(power)
            # gensim sums in a Python loop; np.cumsum adds in the same order, so the floats agree
            self._cum_table = np.round(cumulative / cumulative[-1] * (2 ** 31 - 1)).astype(np.uint32)
        return self._cum_table

    def predict_output_word(self, context_words_list, topn=10):
        """gensim's: the topn most probable centre words given context words, as (word,
        probability) pairs by softmax(w_out_ns . h), h the mean (cbow_mean=1) or sum of the
        context vectors. Needs output rows per word: negative > 0 or softmax=True (RuntimeError
        otherwise, as gensim's). None, with a warning, when no context word is in the vocabulary."""
        self._need_vocab()
        if self.w_out_ns.shape[0] == 0:
            raise RuntimeError("predict_output_word needs the negative-sampling output weights: train with "
                               "negative > 0 (or softmax=True); this model has hs only")
        index = self.wv.key_to_index
        rows = [index[w] for w in context_words_list if w in index]
        if not rows:
            logger.warning("All the input context words are out-of-vocabulary for the current model.")
            return None
        hidden = np.sum(self.wv.vectors[rows], axis=0)
        if self.settings.cbow_mean:
            hidden /= len(rows)
        scores = self.w_out_ns[:len(self.vocab)] @ hidden
        prob = np.exp(scores - scores.max())  # shifted: gensim's exp overflows past scores of 88
        prob /= prob.sum()
        top = np.argsort(-prob, kind="stable")[:topn]
        return [(self.vocab.index_to_key[i], prob[i]) for i in top]

    def estimate_memory(self, vocab_size=None, report=None) -> dict:
        """gensim's: bytes the model needs for vocab_size words (default: its vocabulary), with
        gensim's keys: vocab, vectors, syn1 (hs), syn1neg (negative sampling or softmax), total.
        The matrices are w2v's sizes (syn1 has V - 1 rows); vocab is w2v's per-word tables
        (the word, its dict entry, count, keep probability, alias table, Huffman path with hs)."""
        s = self.settings
        v = int(vocab_size or (len(self.vocab) if self.vocab is not None else 0))
        d = s.vector_size
        report = report or {}
        report["vocab"] = v * (_VOCAB_BYTES_HS if s.hs else _VOCAB_BYTES)
        report["vectors"] = v * d * 4
        if s.hs:
            report["syn1"] = max(v - 1, 0) * d * 4
        if s.negative or s.softmax:
            report["syn1neg"] = v * d * 4
        report["total"] = sum(value for key, value in report.items() if key != "total")
        logger.info("estimated required memory for %d words and %d dimensions: %d bytes", v, d, report["total"])
        return report

    def score(self, sentences, total_sentences=int(1e6), chunksize=100, queue_factor=2, report_delay=1):
        """gensim's: the log-probability of each sentence under hierarchical softmax (hs=1), a float32
        array, one score per sentence of the first total_sentences. Each word is predicted from its
        full window (skip-gram: by each context word; CBOW: by their mean or sum), unknown words
        left out, no subsampling; nothing is updated. As gensim's, a node of a word's path whose
        score u . h is beyond +-6 is left out of the sum, and a sentence counts its first 10,000
        known words. RuntimeError without hs or without a vocabulary, as gensim's. chunksize,
        queue_factor and report_delay (gensim's job queue) are accepted and ignored."""
        if self.vocab is None:
            raise RuntimeError("score() needs a vocabulary: build_vocab() and train a model with hs=1 first")
        if not self.settings.hs:
            raise RuntimeError("score() is implemented for hierarchical softmax only (hs=1), as gensim's; this "
                               "model has hs=0")
        index = self.vocab.key_to_index
        tables, cfg = self._kernel_tables(), self._kernel_config()
        w_in, w_out_hs = self.wv.vectors, self.w_out_hs
        scores, block = [], []

        def flush():
            bounds = np.zeros(len(block) + 1, dtype=np.int64)
            np.cumsum([len(ids) for ids in block], out=bounds[1:])
            ids = np.fromiter((i for sent in block for i in sent), dtype=np.int32, count=int(bounds[-1]))
            out = np.zeros(len(block), dtype=np.float64)
            kernels.score_hs(ids, bounds, w_in, w_out_hs, tables, cfg, out)
            scores.append(out.astype(np.float32))
            block.clear()

        for sentence in itertools.islice(sentences, max(int(total_sentences), 0)):
            if isinstance(sentence, str):
                raise TypeError("each sentence must be a list of string tokens, got a str")
            block.append([index[w] for w in sentence if w in index][:corpus_mod.MAX_SENTENCE_LENGTH])
            if len(block) >= 65536:
                flush()
        if block:
            flush()
        return np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)

    # ------------------------------------------------------------------ gensim
    @classmethod
    def from_gensim(cls, model) -> "Word2Vec":
        """A w2v model of a gensim 4 Word2Vec: its settings, vocabulary and counts, every weight
        matrix and its Huffman tree (hs), so that training goes on here (see w2v.gensim_bridge).
        The vocabulary is put in w2v's order (descending count, then the word), rows moved with
        their words. Skip-gram goes on in gensim's pair-by-pair order (batch_window=False).
        Reading a gensim model does not import gensim."""
        from .gensim_bridge import word2vec_from_gensim
        return word2vec_from_gensim(cls, model)

    def to_gensim(self):
        """A gensim 4 Word2Vec of this model (the same rows, weights, counts and Huffman tree), which
        gensim trains on from there. Needs gensim (ImportError naming the install command);
        NotImplementedError for softmax=True, which gensim does not have."""
        from .gensim_bridge import word2vec_to_gensim
        return word2vec_to_gensim(self)

    # ------------------------------------------------------------------ persistence
    def _arrays_and_meta(self) -> tuple[dict, dict]:
        version = 1 if self._hs_tree is None else 2
        meta = {"format": "w2v.Word2Vec", "version": version, "settings": self.settings.to_dict(),
                "index_to_key": self.vocab.index_to_key, "epoch_stats": self.epoch_stats,
                "monitor": None if self._monitor is None else self._monitor.to_dict(),
                "best_epoch": self.best_epoch, "final_eval": self.final_eval,
                "gensim": {"corpus_count": self.corpus_count, "corpus_total_words": self.corpus_total_words,
                           "train_count": self.train_count, "total_train_time": self.total_train_time,
                           "loss_base": list(self._loss_base)}}
        arrays = {"w_in": self.wv.vectors, "w_out_ns": self.w_out_ns, "w_out_hs": self.w_out_hs,
                  "counts": self.vocab.counts}
        if self._hs_tree is not None:  # without it, the inner-node rows would meet another tree on load
            arrays.update(hs_points=self._hs_tree.points, hs_codes=self._hs_tree.codes,
                          hs_lengths=self._hs_tree.lengths)
        return arrays, meta

    def save(self, fname_or_handle, separately=None, sep_limit=10 * 1024 ** 2, ignore=frozenset(),
             pickle_protocol=None):
        """Save the whole model: numpy arrays plus JSON in one uncompressed .npz, atomically.

        gensim's signature: separately, sep_limit, ignore and pickle_protocol choose how gensim
        pickles; w2v writes no pickle and accepts and ignores them."""
        self._need_vocab()
        save_npz(fname_or_handle, *self._arrays_and_meta())

    @classmethod
    def load(cls, fname, mmap=None) -> "Word2Vec":
        """Load a model written by `save` (or a checkpoint: the model as it was then).

        mmap='r' (gensim's) maps the three weight matrices read-only from the file instead of
        reading them: queries work, training raises (as gensim's read-only maps do)."""
        if mmap not in (None, "r"):
            raise ValueError(f"mmap must be None or 'r', got {mmap!r}")
        return cls._read(fname, mmap=mmap)[0]

    @classmethod
    def _read(cls, path, mmap=None) -> tuple["Word2Vec", dict, dict]:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"model file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(bytes(arrays["meta"]).decode("utf-8"))
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError, zlib.error,
                struct.error, RuntimeError) as e:
            # NotImplementedError: zipfile's "zip file version 17.3"; RuntimeError: its "File ... is
            # encrypted" (one flipped flag bit)
            raise DamagedFileError(f"not a w2v model file, or a damaged one: {path} ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != "w2v.Word2Vec":
            raise ValueError(f"not a w2v model file: {path}")
        settings, words, counts, w_in, w_out_ns, w_out_hs, tree = _checked_model(path, meta, arrays)
        model = cls(**settings.to_dict())
        model.vocab = Vocab(words, counts)
        model.wv = KeyedVectors(settings.vector_size, words, w_in)
        model.wv.expandos["count"] = np.array(counts, dtype=np.int64)
        model.w_out_ns, model.w_out_hs = w_out_ns, w_out_hs
        model._hs_tree = tree
        model.epoch_stats = meta.get("epoch_stats", [])
        try:
            if meta.get("monitor"):
                model._monitor = monitor_mod.MonitorSettings.from_dict(meta["monitor"])
        except (TypeError, ValueError) as e:
            raise DamagedFileError(f"damaged w2v model file {path}: its monitor settings: {e}") from None
        best = meta.get("best_epoch")
        model.best_epoch = best if isinstance(best, int) and not isinstance(best, bool) else None
        model.final_eval = meta.get("final_eval") or {}
        g = meta.get("gensim", {})
        if isinstance(g, dict):
            model.corpus_count = int(g.get("corpus_count", 0))
            model.corpus_total_words = int(g.get("corpus_total_words", 0))
            model.train_count = int(g.get("train_count", 0))
            model.total_train_time = float(g.get("total_train_time", 0.0))
            base = g.get("loss_base", (0.0, 0))
            model._loss_base = (float(base[0]), int(base[1]))
        if mmap == "r":
            model.wv.vectors, model.w_out_ns, model.w_out_hs = (
                _member_memmap(path, name, w) for name, w in
                (("w_in", model.wv.vectors), ("w_out_ns", model.w_out_ns), ("w_out_hs", model.w_out_hs)))
        return model, meta, arrays

    @classmethod
    def resume(cls, path, corpus_iterable=None, corpus_file=None, *, workers=None, callbacks=(), progress=None,
               checkpoint=None, checkpoint_every=600.0, expect_settings=None, corpus_store="auto",
               cache_dir=None, backend="threads", client=None, dask_workers=2, dask_options=None) -> "Word2Vec":
        """Continue the `train()` call that wrote checkpoint `path`, on the same corpus, where it
        stopped; returns the model once that call's epochs are done.

        The checkpoint holds the settings, the weights and where the call stood; the corpus is
        read again and must encode to the same ids (ValueError naming what differs). With
        workers=1 (the checkpoint's workers unless given) and a seed, the result is bit-identical to
        the uninterrupted run. Checkpoints go on being written to `checkpoint`, by default `path`.
        expect_settings: {setting: value} that the checkpoint's settings must have (ValueError
        naming each that differs), e.g. the flags a command line repeats ("monitor": the
        monitor.MonitorSettings, or None). corpus_store, cache_dir: as in Word2Vec() (a run that
        trained from a store must resume from one: blocks are its units).

        A run with evaluation or early stopping goes on with the same ones: the same held-out
        text, question samples, best epoch so far and copy of its weights (saved in the
        checkpoint); a run that early stopping ended has nothing left to do.
        backend, client, dask_workers, dask_options: as in Word2Vec(); a run may resume on another backend.
        """
        model, meta, arrays = cls._read(path)
        model._set_backend(backend, client, dask_workers, dask_options)
        state = _checked_training_state(path, meta)

        differ = []
        for k, v in (expect_settings or {}).items():
            if k == "monitor":
                differ += monitor_mod.MonitorSettings.differences(v, model._monitor)
            elif getattr(model.settings, k) != v:
                differ.append(f"{k}={v!r} where the checkpoint has {getattr(model.settings, k)!r}")
        if differ:
            raise ValueError(f"checkpoint {path} was written with other settings: " + "; ".join(differ))
        if workers is not None:
            model.settings = dataclasses.replace(model.settings, workers=workers)
        model.callbacks, model.progress = tuple(callbacks), progress
        model.checkpoint = os.fspath(path) if checkpoint is None else checkpoint
        model.checkpoint_every = float(checkpoint_every)
        if corpus_store not in store_mod.MODES:
            raise ValueError(f"corpus_store must be one of {', '.join(store_mod.MODES)}, got {corpus_store!r}")
        model.corpus_store, model.cache_dir = corpus_store, cache_dir
        epoch, units_done = state["cursor"]
        watched = state.get("monitor")
        if watched is not None:
            model.best_epoch = watched.get("best_epoch")
        if epoch >= state["epochs"] or (watched is not None and watched.get("stopped")):
            return model  # the call had finished, or early stopping had ended it
        corpus = model._encoded(corpus_iterable, corpus_file)
        differs = checkpoint_mod.corpus_differences(state["corpus"],
                                                    checkpoint_mod.corpus_fingerprint(corpus, corpus_file))
        if differs:
            raise ValueError(f"checkpoint {path} was written for another corpus: " + "; ".join(differs))
        model._train(corpus, corpus_file, epochs=state["epochs"], start_alpha=state["start_alpha"],
                     end_alpha=state["end_alpha"], callbacks=model.callbacks, first_epoch=state["first_epoch"],
                     cursor=plan_mod.Cursor(epoch, units_done), epoch_so_far=state["epoch_so_far"],
                     monitor_state=None if watched is None else (watched, arrays),
                     unit_words=state["unit_words"])
        return model


# w2v's tables per vocabulary word, estimated: the str (about 60 bytes), its list slot and dict
# entry (about 110), count, keep probability and alias table (28); hs adds a Huffman path (points
# int32 and labels float32 rows as wide as the longest code, about 40 for large vocabularies)
_VOCAB_BYTES = 200
_VOCAB_BYTES_HS = _VOCAB_BYTES + 330


def _member_memmap(path, name, loaded):
    """A read-only memory map of member `name` of an uncompressed .npz, checked against the
    array read from it (same dtype and shape)."""
    with open(path, "rb") as f, zipfile.ZipFile(f) as zf:
        info = zf.getinfo(name + ".npy")
        f.seek(info.header_offset)
        local = f.read(30)
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                 else np.lib.format.read_array_header_2_0)(f)
        offset = f.tell()
    if info.compress_type != zipfile.ZIP_STORED or fortran or dtype != loaded.dtype or shape != loaded.shape:
        raise DamagedFileError(f"{path}: member {name} cannot be memory-mapped")
    if loaded.size == 0:
        return loaded
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def _inner_node_keys(tree, word_keys):
    """Per inner node of a Huffman tree, uint64 sums of the keys of the words below it and of
    those below its branch 1: with random 64-bit word keys, equal sums mean equal word sets."""
    n_inner = tree.points.shape[0] - 1
    below = np.zeros(n_inner, dtype=np.uint64)
    below_1 = np.zeros(n_inner, dtype=np.uint64)
    on_path = np.arange(tree.points.shape[1]) < tree.lengths[:, None]
    nodes = tree.points[on_path]
    keys = np.repeat(word_keys, tree.lengths)  # row-major, as the mask walks points
    np.add.at(below, nodes, keys)
    np.add.at(below_1, nodes, np.where(tree.codes[on_path] == 1, keys, np.uint64(0)))
    return below, below_1


def _carry_inner_nodes(old_tree, new_counts, from_old, w_inner_old, w_inner_new):
    """Copy into w_inner_new (the new tree's inner-node rows, zeros) the row of each inner node of
    old_tree that splits the same words the same way; negated where its branches are swapped.
    from_old: int64 (V_new,) old index of each new word, -1 for new words."""
    word_keys = np.random.default_rng(0x5EED).integers(0, 2 ** 63, size=len(new_counts), dtype=np.uint64)
    old_keys = np.zeros(old_tree.points.shape[0], dtype=np.uint64)
    kept = from_old >= 0
    old_keys[from_old[kept]] = word_keys[kept]
    old_below, old_below_1 = _inner_node_keys(old_tree, old_keys)
    new_below, new_below_1 = _inner_node_keys(huffman.build(new_counts), word_keys)
    old_node = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(old_below, old_below_1))}
    with np.errstate(over="ignore"):
        new_below_0 = new_below - new_below_1  # uint64 wraps, as the sums did
    for j, (a, b, b0) in enumerate(zip(new_below.tolist(), new_below_1.tolist(), new_below_0.tolist())):
        i = old_node.get((a, b))
        if i is not None:
            w_inner_new[j] = w_inner_old[i]
        elif (i := old_node.get((a, b0))) is not None:
            # the same split with the branches swapped: sigma(-x) = 1 - sigma(x) keeps the classifier
            w_inner_new[j] = -w_inner_old[i]


def _scanned_size(result) -> tuple[int, int]:
    """(sentences, tokens) a scan read: gensim's corpus_count and corpus_total_words."""
    if result.spill is not None:
        return int(result.spill.n_lines), int(result.spill.n_ids)
    return int(result.bounds.shape[0] - 1), int(result.ids.shape[0])


_EPOCH_STATS_KEYS = ("raw_words", "effective_words", "loss", "predictions", "seconds")
_INIT_PARAMETERS = _parameters(Word2Vec.__init__)
_BUILD_VOCAB_PARAMETERS = _parameters(Word2Vec.build_vocab)
_TRAIN_PARAMETERS = _parameters(Word2Vec.train)


def _checked_model(path, meta: dict, arrays: dict):
    """Everything a model file holds, checked for what training relies on before any kernel reads
    it: version, settings, unique words, counts (non-negative, in vocabulary order) and every
    matrix's dtype and shape against the vocabulary. Raises ValueError naming the file."""
    def bad(what):
        return ValueError(f"damaged w2v model file {path}: {what}")

    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise bad(f"format version {version!r} is not a version number")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} is a w2v model of format version {version}; this w2v reads versions up to "
                         f"{FORMAT_VERSION}: upgrade w2v")
    try:
        settings = Settings(**meta["settings"])
    except (KeyError, TypeError, ValueError) as e:
        raise bad(f"settings: {e}") from None
    words = meta.get("index_to_key")
    if (not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words)
            or len(set(words)) != len(words)):
        raise bad("the vocabulary is not a list of unique, non-empty words")
    v, d = len(words), settings.vector_size
    counts = arrays.get("counts")
    if (counts is None or counts.dtype.kind not in "iu" or counts.shape != (v,) or (counts < 0).any()
            or (np.diff(counts) > 0).any()):
        raise bad(f"counts must be {v} non-negative integers in descending order")
    uses_ns = settings.negative > 0 or settings.softmax
    expected = {"w_in": v, "w_out_ns": v if uses_ns else 0, "w_out_hs": max(v - 1, 0) if settings.hs else 0}
    matrices = []
    for name, rows in expected.items():
        w = arrays.get(name)
        if w is None or w.dtype != np.float32 or w.shape != (rows, d):
            got = "missing" if w is None else f"{w.dtype} {w.shape}"
            raise bad(f"{name} must be float32 ({rows}, {d}) for {v} words, got {got}")
        if not np.isfinite(w).all():
            raise bad(f"{name} holds non-finite values (NaN or inf)")
        matrices.append(w)
    return (settings, words, counts.astype(np.int64), *matrices, _checked_tree(arrays, v, settings.hs, bad))


def _checked_tree(arrays: dict, v: int, hs: int, bad):
    """The stored Huffman tree (version 2, from gensim) or None, checked so that every path the
    kernels walk stays within the V - 1 inner-node rows."""
    names = ("hs_points", "hs_codes", "hs_lengths")
    found = [arrays.get(name) for name in names]
    if all(a is None for a in found):
        return None
    points, codes, lengths = found
    if not hs or v < 2 or any(a is None for a in found):
        raise bad("a Huffman tree needs hs=1, two words or more, and all of hs_points, hs_codes, hs_lengths")
    if (points.dtype != np.int32 or codes.dtype != np.uint8 or lengths.dtype != np.int32 or points.ndim != 2
            or points.shape[0] != v or codes.shape != points.shape or lengths.shape != (v,)):
        raise bad(f"hs_points int32 and hs_codes uint8 must be ({v}, L), hs_lengths int32 ({v},)")
    if ((lengths < 1) | (lengths > points.shape[1])).any() or (points < 0).any() or (points >= v - 1).any() \
            or (codes > 1).any():
        raise bad(f"the Huffman tree has a path outside the {v - 1} inner nodes")
    return huffman.HuffmanTree(points, codes, lengths)


def _checked_training_state(path, meta: dict) -> dict:
    """The `training` entry of a checkpoint (w2v.checkpoint), checked; ValueError naming the file."""
    state = meta.get("training")
    if not isinstance(state, dict):
        raise ValueError(f"{path} is a model file, not a checkpoint: it holds no training state to resume")

    def need(cond, what):
        if not cond:
            raise ValueError(f"damaged w2v checkpoint {path}: {what}")

    def is_int(x, low=0):
        return isinstance(x, int) and not isinstance(x, bool) and x >= low

    version = state.get("version")
    need(is_int(version, 1), f"checkpoint version {version!r} is not a version number")
    if version > checkpoint_mod.CHECKPOINT_VERSION:
        raise ValueError(f"{path} is a checkpoint of version {version}; this w2v reads versions up to "
                         f"{checkpoint_mod.CHECKPOINT_VERSION}: upgrade w2v")
    need(is_int(state.get("epochs"), 1) and is_int(state.get("first_epoch")) and is_int(state.get("unit_words"), 1),
         "epochs, first_epoch or unit size")
    need(all(isinstance(state.get(k), (int, float)) and not isinstance(state.get(k), bool)
             for k in ("start_alpha", "end_alpha")), "learning rates")
    cursor = state.get("cursor")
    need(isinstance(cursor, list) and len(cursor) == 2 and is_int(cursor[0]) and is_int(cursor[1])
         and cursor[0] <= state["epochs"], f"cursor {cursor!r}")
    so_far = state.get("epoch_so_far")
    need(so_far is None or (isinstance(so_far, dict) and set(so_far) == set(_EPOCH_STATS_KEYS)), "epoch stats")
    need(isinstance(state.get("corpus"), dict) and isinstance(state["corpus"].get("hash"), str), "corpus fingerprint")
    watched = state.get("monitor")
    need(watched is None or (isinstance(watched, dict) and meta.get("monitor") and
                             (watched.get("best_epoch") is None or is_int(watched["best_epoch"]))),
         "monitor state")
    return state

__all__ = ["Word2Vec"]
