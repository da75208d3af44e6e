"""The `w2v` command: one small function per subcommand.

`w2v train` accepts the word2vec C tool's single-dash flags (-train -output -size ...) and
GNU long options. Any expected failure (bad file, bad setting) prints one line on stderr,
`w2v: error: ...`, and exits with status 2; outputs are written atomically, so nothing partial
is left behind.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

EXIT_USAGE = 2

logger = logging.getLogger("w2v.cli")


class CLIError(Exception):
    """An expected failure: reported as one line, exit status 2."""


class _Given(argparse.Action):
    """Stores the value, and notes in `args.given` that the flag was typed (not its default)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = getattr(namespace, "given", frozenset()) | {self.dest}


def _flag(parser, c_name, long_name, **kw):
    """An option spelled like word2vec.c (-min-count) and like GNU (--min-count)."""
    parser.add_argument(c_name, long_name, action=_Given, **kw)


def _add_verbosity(parser):
    """word2vec.c's -debug N (0 silent, 1 progress and a line per epoch, 2 more detail), and
    --quiet / --verbose for -debug 0 / -debug 2."""
    _flag(parser, "-debug", "--debug", type=int, default=1, metavar="N",
          help="0: nothing on stderr but warnings and errors; 1: progress and results (default); 2: more detail")
    parser.add_argument("-q", "--quiet", action="store_const", const=0, dest="debug", help="same as -debug 0")
    parser.add_argument("-v", "--verbose", action="store_const", const=2, dest="debug", help="same as -debug 2")


def _check_output_paths(outputs, inputs):
    """Before any work: no output overwrites an input or another output, and each can be written."""
    from . import formats

    formats.check_distinct_paths(outputs, inputs)
    for _, path in outputs:
        if path:
            formats.check_writable(path)


# ---------------------------------------------------------------- train
def _add_train(sub):
    p = sub.add_parser("train", help="train word vectors (word2vec.c flags accepted)")
    _flag(p, "-train", "--train", required=True, metavar="FILE", help="corpus: text file (.gz/.bz2) or directory")
    _flag(p, "-output", "--output", metavar="FILE",
          help="write the vectors here (word2vec format), or with -classes the word classes")
    _flag(p, "-size", "--size", type=int, default=100, dest="size", help="vector size (default 100)")
    _flag(p, "-window", "--window", type=int, default=5)
    _flag(p, "-sample", "--sample", type=float, default=1e-3)
    _flag(p, "-hs", "--hs", type=int, default=0, choices=(0, 1))
    _flag(p, "-negative", "--negative", type=int, default=5)
    _flag(p, "-threads", "--threads", type=int, default=os.cpu_count() or 1)
    _flag(p, "-iter", "--iter", type=int, default=5, dest="iter")
    _flag(p, "-min-count", "--min-count", type=int, default=5, dest="min_count")
    _flag(p, "-alpha", "--alpha", type=float, default=None,
          help="start learning rate (default 0.05 for CBOW, 0.025 for skip-gram)")
    _flag(p, "-cbow", "--cbow", type=int, default=1, choices=(0, 1), help="1: CBOW (default), 0: skip-gram")
    _flag(p, "-binary", "--binary", type=int, default=0, choices=(0, 1))
    _flag(p, "-save-vocab", "--save-vocab", dest="save_vocab", metavar="FILE")
    _flag(p, "-read-vocab", "--read-vocab", dest="read_vocab", metavar="FILE")
    _flag(p, "-softmax", "--softmax", type=int, default=0, choices=(0, 1),
          help="1: exact full softmax (small vocabularies; needs -hs 0 -negative 0)")
    _flag(p, "-cbow-mean", "--cbow-mean", type=int, default=1, choices=(0, 1), dest="cbow_mean")
    _flag(p, "-seed", "--seed", type=int, default=1)
    _flag(p, "-shuffle", "--shuffle", type=int, default=1, choices=(0, 1),
          help="1: visit the sentences in a new random order every epoch (default); 0: file order, as word2vec.c")
    _flag(p, "-batch-window", "--batch-window", type=int, default=None, choices=(0, 1), dest="batch_window",
          help="skip-gram: 1 trains each window as one minibatch (the default: faster, shared negatives); "
               "0 keeps word2vec.c's pair-by-pair order")
    _flag(p, "-deterministic", "--deterministic", type=int, default=0, choices=(0, 1),
          help="1: the same vectors every run with several -threads (the same seed and -threads), at a cost in "
               "speed and one copy of the weights per thread; 0: Hogwild (default)")
    _flag(p, "-max-vocab-size", "--max-vocab-size", type=int, default=None, dest="max_vocab_size",
          help="the most words counting holds at once: beyond it, it forgets the rarest (word2vec.c's rule); "
               "read from -train, the words kept have their exact counts (default: no limit)")
    _flag(p, "-phrases", "--phrases", type=int, default=0, metavar="N",
          help="join frequent word pairs first: N passes of w2v phrases (thresholds 200, then 100)")
    _flag(p, "-save-model", "--save-model", dest="save_model", metavar="FILE",
          help="also save the whole model in w2v's native format")
    _flag(p, "-checkpoint", "--checkpoint", metavar="FILE",
          help="write the training state here every -checkpoint-every seconds, at the end, and on "
               "Ctrl-C or SIGTERM, so that -resume FILE can continue the run")
    _flag(p, "-checkpoint-every", "--checkpoint-every", type=float, default=600.0, dest="checkpoint_every",
          metavar="SECONDS", help="seconds between checkpoints (default 600)")
    _flag(p, "-resume", "--resume", metavar="FILE",
          help="continue the run that wrote this checkpoint, on the same -train corpus; the settings are "
               "the checkpoint's (flags given must agree with them; -threads may change)")
    _flag(p, "-corpus-store", "--corpus-store", dest="corpus_store", default="auto", choices=("auto", "memory", "disk"),
          help="where the encoded corpus lives while training: disk (a cache, read a block at a time), memory, "
               "or auto (default: disk from 128 MB of text)")
    _flag(p, "-cache-dir", "--cache-dir", dest="cache_dir", metavar="DIR",
          help="directory of the corpus cache (default $W2V_CACHE_DIR, else the user cache directory)")
    _flag(p, "-dask", "--dask", metavar="local|ADDRESS",
          help="train on Dask (pip install 'w2v[dask]'): 'local' starts a cluster of -dask-workers processes on "
               "this machine (localhost only); tcp://HOST:PORT or tls://HOST:PORT connects to a running scheduler "
               "with Dask's configured security (docs/distributed.md). -threads is then threads per worker")
    _flag(p, "-dask-workers", "--dask-workers", type=int, default=2, dest="dask_workers", metavar="N",
          help="worker processes of -dask local (default 2)")
    _flag(p, "-classes", "--classes", type=int, default=0, metavar="K",
          help="write K word classes to -output instead of vectors: one 'word class' line per word, by "
               "K-means on the unit vectors (cosine) after training, as word2vec.c; 0: vectors (default)")
    _flag(p, "-classes-iter", "--classes-iter", type=int, default=10, dest="classes_iter", metavar="N",
          help="K-means iterations for -classes (default 10, as word2vec.c)")
    _flag(p, "-eval-each-epoch", "--eval-each-epoch", dest="eval_each_epoch", nargs="?", const="bundled",
          metavar="SETS", help="after each epoch, score the vectors and log one line: the held-out loss and the "
          "sets SETS, comma-separated: analogy, wordsim353, simlex999 (the bundled ones, the default) or files")
    _flag(p, "-holdout", "--holdout", type=float, default=0.01, metavar="F",
          help="with -eval-each-epoch or -early-stopping: the fraction of the corpus never trained on, whose "
               "loss is measured each epoch (default 0.01; 0: none)")
    _flag(p, "-early-stopping", "--early-stopping", dest="early_stopping", metavar="METRIC[:PATIENCE[:MIN_DELTA]]",
          help="stop when METRIC has not improved by more than MIN_DELTA (default 0) for PATIENCE epochs (default "
               "2), and keep the best epoch's weights: METRIC holdout (the held-out loss) or a set's name (its "
               "validation half; the other half is reported)")
    _flag(p, "-keep-best", "--keep-best", dest="keep_best", type=int, default=1, choices=(0, 1),
          help="with -early-stopping, 1: end with the best epoch's weights (default); 0: the last epoch's "
               "(no copy of the weights in memory)")
    _add_verbosity(p)
    p.set_defaults(func=cmd_train)


def _monitor_kwargs(args) -> dict:
    """Word2Vec's evaluate, holdout, early_stopping and keep_best from the flags."""
    sets = args.eval_each_epoch
    if sets is not None and sets != "bundled":
        sets = [x for x in sets.split(",") if x]
    return dict(evaluate=True if sets == "bundled" else sets, holdout=args.holdout,
                early_stopping=args.early_stopping, keep_best=bool(args.keep_best))


def _checked_monitor(args):
    """The monitor settings the flags ask for (None for none), checked; CLIError naming the flag."""
    from .monitor import MonitorSettings

    try:
        return MonitorSettings.from_arguments(**_monitor_kwargs(args))
    except ValueError as e:
        msg = str(e)
        if msg.startswith("early_stopping"):
            msg = "-early-stopping" + msg[len("early_stopping"):]
        elif msg.startswith("evaluate"):
            msg = "-eval-each-epoch" + msg[len("evaluate"):]
        else:
            msg = f"-holdout: {msg}"
        raise CLIError(msg) from None


def _train_kwargs(args, raw: bool = False) -> dict:
    """Word2Vec's keywords from the train flags; raw=True: by flag (dest) name, for -resume's check."""
    sg = 1 - args.cbow
    alpha = args.alpha if args.alpha is not None else (0.025 if sg else 0.05)
    if raw:
        return {"size": args.size, "window": args.window, "sample": args.sample, "hs": args.hs,
                "negative": args.negative, "iter": args.iter, "min_count": args.min_count, "alpha": alpha,
                "cbow": sg, "cbow_mean": args.cbow_mean, "softmax": bool(args.softmax), "seed": args.seed,
                "max_vocab_size": args.max_vocab_size, "shuffle": bool(args.shuffle),
                "batch_window": bool(args.batch_window), "deterministic": bool(args.deterministic)}
    return dict(vector_size=args.size, window=args.window, sample=args.sample, hs=args.hs,
                negative=args.negative, workers=args.threads, epochs=args.iter,
                min_count=args.min_count, alpha=alpha, sg=sg, cbow_mean=args.cbow_mean,
                softmax=bool(args.softmax), seed=args.seed, max_vocab_size=args.max_vocab_size,
                shuffle=bool(args.shuffle),
                batch_window=None if args.batch_window is None else bool(args.batch_window),
                deterministic=bool(args.deterministic))


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C is, so training stops the same way."""


def _on_sigterm(_signum, _frame):
    raise _Terminated()


# the settings a flag sets, for checking the flags given with -resume against the checkpoint's
_FLAG_SETTINGS = {"size": "vector_size", "window": "window", "sample": "sample", "hs": "hs",
                  "negative": "negative", "iter": "epochs", "min_count": "min_count", "alpha": "alpha",
                  "cbow": "sg", "cbow_mean": "cbow_mean", "softmax": "softmax", "seed": "seed",
                  "max_vocab_size": "max_vocab_size", "shuffle": "shuffle", "batch_window": "batch_window",
                  "deterministic": "deterministic"}


# the flag that sets each setting, for naming it in an error (the reverse of _FLAG_SETTINGS)
_SETTING_FLAGS = {setting: "-" + dest.replace("_", "-") for dest, setting in _FLAG_SETTINGS.items()}
_SETTING_FLAGS["workers"] = "-threads"


def _checked_settings(args):
    """The settings the flags ask for, checked before any reading; CLIError naming the flag."""
    from .config import Settings

    try:
        return Settings(**_train_kwargs(args))
    except ValueError as e:
        msg = str(e)
        setting = msg.split(" ", 1)[0]
        if setting in _SETTING_FLAGS:
            msg = f"{_SETTING_FLAGS[setting]}: {msg}"
        raise CLIError(msg) from None


def _refuse_one_pass_input(flag, path, why):
    """A FIFO or a device can be read once: refuse it, before reading, where `why` reads twice."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # a missing input is reported by the reader, naming it
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise CLIError(f"{flag} {path} is not a regular file (a FIFO, a pipe or a device can be read only "
                       f"once) and {why} reads the corpus twice: save it to a file first")


class _EpochDetails:
    """-debug 2: a second line per epoch, with what the first leaves out."""

    def on_epoch_end(self, model):
        import numpy as np

        stats = model.epoch_stats[-1]
        norms = np.linalg.norm(model.wv.vectors, axis=1)
        logger.debug("epoch %d details: %d predictions, %.1f%% of the words kept by subsampling, "
                     "vector norms mean %.4f max %.4f", len(model.epoch_stats), stats["predictions"],
                     100.0 * stats["effective_words"] / max(stats["raw_words"], 1), float(norms.mean()),
                     float(norms.max()) if len(norms) else 0.0)


def _check_classes(args):
    if args.classes < 0:
        raise CLIError(f"-classes must be a number of classes >= 1 (or 0 for vectors), got {args.classes}")
    if args.classes_iter < 0:
        raise CLIError(f"-classes-iter must be >= 0, got {args.classes_iter}")
    if args.classes and not args.output:
        raise CLIError("-classes writes the classes to -output: give -output FILE")


def _word_classes(kv, k, iterations, seed, flag):
    """Classes of kv's words (k checked against the vocabulary, with the flag named), logged."""
    import time

    if k > len(kv):
        raise CLIError(f"{flag} {k}: cannot make more classes than the {len(kv)} words of the vocabulary")
    t0 = time.perf_counter()
    classes, _ = kv.cluster(k, iterations=iterations, seed=seed)
    logger.info("%d words in %d classes (K-means, %d iterations) in %.1f s", len(kv), k, iterations,
                time.perf_counter() - t0)
    return classes


def cmd_train(args):
    import signal

    from . import formats
    from .model import Word2Vec

    if not args.output and not args.save_model and not args.save_vocab:
        raise CLIError("nothing to write: give -output FILE (and/or -save-model, -save-vocab)")
    checkpoint = args.checkpoint or args.resume
    _check_output_paths(
        outputs=[("-output", args.output), ("-save-vocab", args.save_vocab), ("-save-model", args.save_model),
                 ("-checkpoint", args.checkpoint)],
        inputs=[("-train", args.train), ("-read-vocab", args.read_vocab)])
    if args.checkpoint_every <= 0:
        raise CLIError(f"-checkpoint-every must be a number of seconds > 0, got {args.checkpoint_every}")
    _check_classes(args)
    _checked_settings(args)
    watch = _checked_monitor(args)
    if args.phrases:
        _refuse_one_pass_input("-train", args.train, f"-phrases {args.phrases}")
    corpus = dict(corpus_file=args.train)
    if args.phrases:
        from .phrases import phrased_corpus
        corpus = dict(corpus_iterable=phrased_corpus(args.train, args.phrases))
    progress = False if args.debug <= 0 else None
    callbacks = (_EpochDetails(),) if args.debug >= 2 else ()
    if args.dask_workers < 1:
        raise CLIError(f"-dask-workers must be >= 1, got {args.dask_workers}")
    if args.dask is not None and args.dask != "local" and "://" not in args.dask:
        raise CLIError(f"-dask takes 'local' or a scheduler address such as tcp://HOST:8786, got {args.dask!r}")
    dask = {} if args.dask is None else {
        "backend": "dask", "dask_workers": args.dask_workers, "client": None if args.dask == "local" else args.dask}
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if args.resume:
            expect = {_FLAG_SETTINGS[d]: v for d, v in _train_kwargs(args, raw=True).items()
                      if d in args.given and d in _FLAG_SETTINGS}
            if args.given & {"eval_each_epoch", "holdout", "early_stopping", "keep_best"}:
                expect["monitor"] = watch
            model = Word2Vec.resume(args.resume, **corpus, workers=args.threads if "threads" in args.given else None,
                                    checkpoint=checkpoint, checkpoint_every=args.checkpoint_every,
                                    expect_settings=expect, corpus_store=args.corpus_store,
                                    cache_dir=args.cache_dir, progress=progress, callbacks=callbacks, **dask)
        else:
            model = Word2Vec(**_train_kwargs(args), **_monitor_kwargs(args), checkpoint=checkpoint,
                             checkpoint_every=args.checkpoint_every, corpus_store=args.corpus_store,
                             cache_dir=args.cache_dir, progress=progress, callbacks=callbacks,
                             **dask)
            try:
                model.build_vocab(**corpus, vocab_file=args.read_vocab)
            except ValueError as e:
                if args.max_vocab_size is None or not str(e).startswith("max_vocab_size="):
                    raise
                raise CLIError(f"-max-vocab-size {args.max_vocab_size} is too small for this corpus: counting "
                               f"pruned every word that -min-count {args.min_count} would keep; raise "
                               "-max-vocab-size or leave it unset") from None
            if args.classes > len(model.wv):  # before any training, and before -save-vocab writes
                raise CLIError(f"-classes {args.classes}: cannot make more classes than the {len(model.wv)} "
                               "words of the vocabulary")
        if args.save_vocab:
            model.save_vocab(args.save_vocab)
        if (args.output or args.save_model) and not args.resume:
            model.train()
    except KeyboardInterrupt as e:
        code = 143 if isinstance(e, _Terminated) else 130
        what = "terminated" if code == 143 else "interrupted"
        if checkpoint and os.path.exists(checkpoint):
            print(f"w2v: {what}; training state saved to {checkpoint}: continue with the same command and "
                  f"-resume {checkpoint}", file=sys.stderr)
        else:
            print(f"w2v: {what}; nothing saved (-checkpoint FILE makes a run resumable)", file=sys.stderr)
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.classes:  # before anything is written, so that a failure leaves no output
        classes = _word_classes(model.wv, args.classes, args.classes_iter, args.seed, "-classes")
        formats.save_classes(args.output, model.wv.index_to_key, classes)
    elif args.output:
        model.wv.save_word2vec_format(args.output, binary=bool(args.binary))
    if args.save_model:
        model.save(args.save_model)
    return 0


# ---------------------------------------------------------------- demo
def _add_demo(sub):
    p = sub.add_parser("demo", help="train on the embedded WordNet-glosses corpus and show results")
    p.add_argument("--output", default="demo-vectors.txt", help="where to save the vectors")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--no-pictures", dest="pictures", action="store_false",
                   help="do not draw the learning curves and the word map (saved beside --output)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args):
    from . import demo
    return demo.run(output=args.output, workers=args.threads, epochs=args.epochs, pictures=args.pictures)


# ---------------------------------------------------------------- plot
def _add_plot(sub):
    p = sub.add_parser("plot", help="draw the learning curves, or a 2-D map of words (needs w2v[plot])",
                       description="Without --map or --top: the loss (training and held-out) and every "
                                   "evaluation score by epoch, from a model file. With --map WORD... or "
                                   "--top N: a 2-D map of words, from a model or a vectors file.")
    p.add_argument("model", metavar="MODEL",
                   help="model file (-save-model, model.save, a -checkpoint); for a map, also a vectors file")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the picture: .png, .svg or .pdf")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--map", nargs="+", metavar="WORD", help="a map of these words")
    what.add_argument("--top", type=int, metavar="N", help="a map of the N most frequent words")
    p.add_argument("--method", choices=("pca", "tsne", "umap"), default="pca",
                   help="map projection: pca (default), tsne (needs scikit-learn), umap (needs umap-learn)")
    p.add_argument("--raw", action="store_true",
                   help="project the vectors as they are, not at unit length (the default: cosine geometry)")
    p.add_argument("--seed", type=int, default=1, help="seed of t-SNE and UMAP (default 1)")
    p.add_argument("--size", metavar="WxH", help="picture size in pixels (default 1000x500 curves, 1000x800 map)")
    p.add_argument("--dpi", type=int, default=100, help="dots per inch: text size relative to the picture (default 100)")
    p.set_defaults(func=cmd_plot)


def _picture_size(text):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CLIError(f"--size must be WIDTHxHEIGHT in pixels, such as 1000x800, got {text!r}") from None
    if not (50 <= width <= 20000 and 50 <= height <= 20000):
        raise CLIError(f"--size must be 50 to 20000 pixels each way, got {text}")
    return width, height


def cmd_plot(args):
    from . import formats

    mapping = args.map is not None or args.top is not None
    _check_output_paths(outputs=[("-o", args.output)], inputs=[("MODEL", args.model)])
    if os.path.splitext(args.output)[1].lower() not in (".png", ".svg", ".pdf"):
        raise CLIError(f"-o {args.output}: the picture's name must end in .png, .svg or .pdf")
    if args.top is not None and args.top < 2:
        raise CLIError(f"--top must be >= 2 words for a map, got {args.top}")
    if not 10 <= args.dpi <= 1000:
        raise CLIError(f"--dpi must be 10 to 1000, got {args.dpi}")
    size = _picture_size(args.size) if args.size else None
    if not os.path.exists(args.model):
        raise FileNotFoundError(f"model file not found: {args.model}")
    try:
        from . import plot
        if not plot.available():
            raise ImportError(f"w2v plot needs matplotlib: {plot.INSTALL_HINT}")
        model = None
        if formats.is_npz_container(args.model):
            from .model import Word2Vec
            model = Word2Vec.load(args.model)
        if not mapping:
            if model is None:
                raise CLIError(f"{args.model} is a vectors file, which holds no training history: the curves come "
                               "from a model file (w2v train -save-model FILE, model.save, or a -checkpoint "
                               "file); --map and --top draw maps from vectors files too")
            if not model.epoch_stats:
                raise CLIError(f"{args.model}: the model has no trained epochs to plot")
            fig = model.plot_training(title=os.path.basename(args.model), dpi=args.dpi,
                                      **({"size": size} if size else {}))
            what = f"learning curves of {len(model.epoch_stats)} epochs"
        else:
            from .vectors import load_vectors
            kv = model.wv if model is not None else load_vectors(args.model)
            if args.top is not None and args.top > len(kv):
                raise CLIError(f"--top {args.top}: the vocabulary has {len(kv)} words")
            if args.map is not None and sum(w in kv for w in args.map) < 2:
                raise CLIError("--map needs at least 2 words of the vocabulary; not in it: "
                               + " ".join(w for w in args.map if w not in kv))
            fig = kv.plot_map(args.map, top=args.top, method=args.method, normalize=not args.raw, seed=args.seed,
                              dpi=args.dpi, **({"size": size} if size else {}))
            what = f"{args.method} map of {len(fig.axes[0].texts)} words"
    except ImportError as e:
        raise CLIError(str(e)) from None
    plot.save_figure(fig, args.output)
    print(f"wrote the {what} to {args.output}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- similar / analogy / eval / convert
def _add_similar(sub):
    p = sub.add_parser("similar", help="nearest words by cosine (word2vec.c's distance)")
    p.add_argument("vectors", metavar="VECTORS", help="vectors file: text, binary or native")
    p.add_argument("words", metavar="WORD", nargs="+",
                   help="query word(s); several are combined into one query, as the C tool does")
    p.add_argument("-n", "--topn", type=int, default=10, help="how many neighbours (default 10)")
    p.add_argument("--index", choices=("hnsw", "nndescent"),
                   help="search an approximate index (hnswlib or pynndescent: pip install 'w2v[index]') "
                        "instead of every vector: built on first use and saved beside the vectors as "
                        "VECTORS.KIND.index, loaded after that (built again if the vectors changed)")
    p.add_argument("--index-file", metavar="FILE",
                   help="where the --index is saved and loaded (default: VECTORS.KIND.index)")
    _add_verbosity(p)
    p.set_defaults(func=cmd_similar)


def _print_neighbours(hits):
    width = max([len(w) for w, _ in hits] + [4])
    print(f"{'word':<{width}}  cosine")
    for word, score in hits:
        print(f"{word:<{width}}  {score:.4f}")


def cmd_similar(args):
    from . import formats
    from .vectors import load_vectors

    if args.index_file and not args.index:
        raise CLIError("--index-file names where the --index is kept: give --index hnsw|nndescent too")
    path = None
    if args.index:
        from .index import index_path
        path = args.index_file or index_path(args.vectors, args.index)
        # distinct, not necessarily writable: a saved index is only read, and one that cannot be
        # saved still answers (load_or_build warns)
        formats.check_distinct_paths([("--index-file", path)], [("VECTORS", args.vectors)])
    kv = load_vectors(args.vectors)
    indexer = None
    if args.index:
        from .index import load_or_build
        indexer = load_or_build(kv, args.index, path)
    _print_neighbours(kv.most_similar(positive=args.words, topn=args.topn, indexer=indexer))
    return 0


def _add_analogy(sub):
    p = sub.add_parser("analogy", help="A is to B as C is to ? (3CosAdd; --mul for 3CosMul)")
    p.add_argument("vectors", metavar="VECTORS", help="vectors file: text, binary or native")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("c", metavar="C")
    p.add_argument("-n", "--topn", type=int, default=10, help="how many answers (default 10)")
    p.add_argument("--mul", action="store_true", help="3CosMul (Levy and Goldberg 2014)")
    p.set_defaults(func=cmd_analogy)


def cmd_analogy(args):
    from .vectors import load_vectors

    kv = load_vectors(args.vectors)
    query = kv.most_similar_cosmul if args.mul else kv.most_similar
    _print_neighbours(query(positive=[args.b, args.c], negative=[args.a], topn=args.topn))
    return 0


def _add_eval(sub):
    p = sub.add_parser("eval", help="analogy accuracy and word-pair correlations (bundled sets by default)")
    p.add_argument("vectors", metavar="VECTORS", help="vectors file: text, binary or native")
    p.add_argument("--analogies", metavar="FILE",
                   help="questions file (default: the bundled questions-words.txt)")
    p.add_argument("--no-analogies", action="store_true", help="skip the analogy evaluation")
    p.add_argument("--pairs", metavar="FILE", nargs="+",
                   help="word-pair files (default: the bundled wordsim353.tsv and simlex999.txt)")
    p.add_argument("--restrict-vocab", type=int, default=300000, metavar="N",
                   help="only the first N words count (default 300000)")
    p.add_argument("--case-sensitive", action="store_true", help="do not fold case")
    p.add_argument("--mul", action="store_true", help="answer analogies with 3CosMul")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args):
    from . import evaluation
    from .vectors import load_vectors

    if args.restrict_vocab < 1:
        raise CLIError(f"--restrict-vocab must be >= 1, got {args.restrict_vocab}")
    for path in ([args.analogies] if args.analogies else []) + (args.pairs or []):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"evaluation file not found: {path}")
    kv = load_vectors(args.vectors)
    result = evaluation.evaluate(
        kv.get_normed_vectors(), kv.index_to_key, analogies=False if args.no_analogies else args.analogies, pairs=args.pairs,
        restrict_vocab=args.restrict_vocab, case_insensitive=not args.case_sensitive,
        method="mul" if args.mul else "add")
    print(evaluation.to_json(result) if args.json else evaluation.format_table(result))
    return 0


def _add_convert(sub):
    p = sub.add_parser("convert", help="convert vectors between text, binary and native formats, or for "
                       "TensorFlow's Embedding Projector")
    p.add_argument("input", metavar="IN", help="vectors file: text, binary or native")
    p.add_argument("output", metavar="OUT", help="output file; format from its extension "
                   "(.txt/.vec text, .bin binary, .npz native) or --to; with --to projector, a directory")
    p.add_argument("--to", choices=("text", "binary", "native", "projector"),
                   help="output format; projector: vectors.tsv, metadata.tsv and a projector config in "
                        "the directory OUT (created if missing), for projector.tensorflow.org or TensorBoard")
    p.add_argument("--from", dest="from_", choices=("text", "binary", "native"),
                   help="input format (default: from the extension or the bytes)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N words")
    p.set_defaults(func=cmd_convert)


def _check_projector_output(directory, input_path):
    """Before any reading: the projector's files in `directory` can be written and none is the input."""
    from . import formats

    if os.path.exists(directory) and not os.path.isdir(directory):
        raise CLIError(f"--to projector writes files into a directory: OUT {directory} is a file")
    paths = formats.projector_paths(directory)
    formats.check_distinct_paths([(f"OUT's {name}", path) for name, path in paths.items()],
                                 [("IN", input_path)])
    if os.path.isdir(directory):
        for path in paths.values():
            formats.check_writable(path)
        return
    parent = os.path.dirname(os.path.abspath(directory))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"output directory's parent does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"cannot create the directory {directory}: {parent} is not writable")


def cmd_convert(args):
    from . import formats
    from .vectors import load_vectors, save_vectors

    fmt = args.to or formats.format_from_extension(args.output)
    if fmt is None:
        raise CLIError(f"cannot tell the output format from {args.output!r}: "
                       "use a .txt, .vec, .bin or .npz name, or --to text|binary|native|projector")
    if args.limit is not None and args.limit < 0:
        raise CLIError(f"--limit must be >= 0, got {args.limit}")
    if fmt == "projector":
        _check_projector_output(args.output, args.input)
    else:
        _check_output_paths(outputs=[("OUT", args.output)], inputs=[("IN", args.input)])
    kv = load_vectors(args.input, format=args.from_, limit=args.limit)
    if fmt == "projector":
        formats.save_projector(args.output, kv.index_to_key, kv.vectors,
                               tensor_name=os.path.basename(args.input))
        print(f"wrote {len(kv)} vectors of size {kv.vector_size} to {args.output}/vectors.tsv and their words "
              f"to metadata.tsv: load both at https://projector.tensorflow.org, or point TensorBoard "
              f"at {args.output}", file=sys.stderr)
        return 0
    save_vectors(kv, args.output, format=fmt)
    print(f"wrote {len(kv)} vectors of size {kv.vector_size} to {args.output} ({fmt})",
          file=sys.stderr)
    return 0


# ---------------------------------------------------------------- classes
def _add_classes(sub):
    p = sub.add_parser("classes", help="word classes by K-means over trained vectors (word2vec.c's -classes)")
    p.add_argument("vectors", metavar="VECTORS", help="vectors file: text, binary or native")
    p.add_argument("-k", "--k", type=int, required=True, metavar="K", help="number of classes")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the 'word class' lines here (default: standard output)")
    p.add_argument("--iter", type=int, default=10, metavar="N", help="K-means iterations (default 10)")
    p.add_argument("--seed", type=int, default=1, help="seed of the K-means++ initialisation (default 1)")
    _add_verbosity(p)
    p.set_defaults(func=cmd_classes)


def cmd_classes(args):
    from . import formats
    from .vectors import load_vectors

    if args.k < 1:
        raise CLIError(f"-k must be a number of classes >= 1, got {args.k}")
    if args.iter < 0:
        raise CLIError(f"--iter must be >= 0, got {args.iter}")
    if args.output:
        _check_output_paths(outputs=[("-o", args.output)], inputs=[("VECTORS", args.vectors)])
    kv = load_vectors(args.vectors)
    classes = _word_classes(kv, args.k, args.iter, args.seed, "-k")
    if args.output:
        formats.save_classes(args.output, kv.index_to_key, classes)
    else:
        try:
            for block in formats.classes_text(kv.index_to_key, classes):
                sys.stdout.write(block)
            sys.stdout.flush()
        except BrokenPipeError:  # `w2v classes ... | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
    return 0


# ---------------------------------------------------------------- main
# ---------------------------------------------------------------- phrases
def _add_phrases(sub):
    p = sub.add_parser("phrases", help="rewrite a corpus with frequent word pairs joined (word2phrase)")
    _flag(p, "-train", "--train", required=True, metavar="FILE", help="corpus: text file (.gz/.bz2) or directory")
    _flag(p, "-output", "--output", required=True, metavar="FILE", help="the rewritten corpus")
    _flag(p, "-min-count", "--min-count", type=int, default=5, dest="min_count")
    _flag(p, "-threshold", "--threshold", type=float, default=100.0)
    _flag(p, "-delimiter", "--delimiter", default="_")
    _flag(p, "-scoring", "--scoring", default="word2phrase", choices=("word2phrase", "npmi"))
    _add_verbosity(p)
    p.set_defaults(func=cmd_phrases)


def cmd_phrases(args):
    from . import formats
    from .corpus import LineSentence
    from .phrases import Phrases

    _check_output_paths(outputs=[("-output", args.output)], inputs=[("-train", args.train)])
    _refuse_one_pass_input("-train", args.train, "phrases")
    learner = Phrases(min_count=args.min_count, threshold=args.threshold, delimiter=args.delimiter,
                      scoring=args.scoring)  # settings checked before any reading
    corpus = LineSentence(args.train)
    if next(iter(corpus), None) is None:
        raise CLIError(f"empty corpus: no tokens in {args.train}")
    model = learner.add_vocab(corpus).freeze()
    with formats.atomic_output(args.output, "w") as f:
        for sentence in model[corpus]:
            f.write(" ".join(sentence) + "\n")
    logger.info("%d phrases joined; corpus written to %s", len(model.phrasegrams), args.output)
    return 0


SUBCOMMANDS = [_add_train, _add_demo, _add_phrases, _add_plot]
SUBCOMMANDS += [_add_similar, _add_analogy, _add_eval, _add_convert, _add_classes]


# ---------------------------------------------------------------- cache
def _add_cache(sub):
    p = sub.add_parser("cache", help="list or clear the corpus cache (encoded corpora on disk)")
    p.add_argument("--cache-dir", "-cache-dir", dest="cache_dir", metavar="DIR",
                   help="the cache directory (default $W2V_CACHE_DIR, else the user cache directory)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list the cached corpora (default)")
    what.add_argument("--clear", action="store_true", help="delete every cached corpus")
    p.set_defaults(func=cmd_cache)


def cmd_cache(args):
    from . import store
    cache = args.cache_dir or store.default_cache_dir()
    if args.clear:
        n, freed = store.clear(cache)
        print(f"removed {n} cached corpora ({freed / 1e6:.1f} MB) from {cache}")
        return 0
    entries = store.list_stores(cache)
    print(f"{cache}: {len(entries)} cached corpora, {sum(e['bytes'] for e in entries) / 1e6:.1f} MB")
    for e in entries:
        files = ", ".join(f[0] for f in e.get("files", [])) or "?"
        state = "being built" if e["building"] else \
            f"{e.get('n_words', '?')} words, {e.get('vocab_size', '?')} in vocabulary, " + \
            ("verified" if e["verified"] else "checked whole on its next use")
        print(f"  {os.path.basename(e['path'])}  {e['bytes'] / 1e6:9.1f} MB  {state}  {files}")
    return 0


SUBCOMMANDS.append(_add_cache)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="w2v", description="word2vec embeddings: train, query, evaluate")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in SUBCOMMANDS:
        add(sub)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (it may be replaced after set-up)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.given = getattr(args, "given", frozenset())
    # progress and per-epoch lines (a tqdm bar replaces the progress lines on a terminal)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("w2v: %(message)s"))
    log = logging.getLogger("w2v")
    if not log.handlers:
        log.addHandler(handler)
    debug = getattr(args, "debug", 1)
    log.setLevel(logging.WARNING if debug <= 0 else logging.INFO if debug == 1 else logging.DEBUG)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `w2v similar ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except (CLIError, ValueError, TypeError, OSError, KeyError, EOFError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        if isinstance(e, OSError) and e.filename and str(e.filename) not in str(e):
            msg = f"{e.strerror or e}: {e.filename}"
        print(f"w2v: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("w2v: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
