"""Per-epoch evaluation and early stopping (w2v.monitor): the question sample, the held-out text,
its loss against the numpy reference, the stopping rule and the weights it keeps."""
import json

import numpy as np
import pytest

from w2v import Word2Vec, evaluation, huffman, kernels, monitor, objectives, sampling
from w2v.vocab import EncodedCorpus

STATS = {"raw_words", "effective_words", "loss", "predictions", "seconds"}


def _weights(model):
    return [model.wv.vectors, model.w_out_hs, model.w_out_ns]


def _bare_monitor(settings, words, seed=1, corpus=None):
    """A Monitor over a vocabulary alone (no held-out text: holdout 0)."""
    corpus = corpus or EncodedCorpus(np.zeros(4, np.int32), np.array([0, 2, 4], np.int64))
    w = np.zeros((len(words), 4), np.float32)
    return monitor.Monitor(settings, weights=(w, w[:0], w), index_to_key=words, corpus=corpus, tables=None,
                           cfg=None, seed=seed, workers=1)


def _question_words():
    words = []
    with open(evaluation.data_path(evaluation.ANALOGIES)) as f:
        for line in f:
            if not line.startswith(":"):
                words += line.split()
    return list(dict.fromkeys(w.lower() for w in words))


# ---------------------------------------------------------------- the question sample
def test_the_sample_covers_every_section_is_fixed_by_the_seed_and_weighs_sections_by_size():
    words = _question_words()
    settings = monitor.MonitorSettings(sets=("analogy",), holdout=0.0)
    a = _bare_monitor(settings, words, seed=3).sets["analogy"]
    names = evaluation.analogy_arrays(words).names
    assert len(a) == 19544 and len(names) == 14  # every question is answerable in this vocabulary
    assert 1900 <= len(a.sample) <= 2100
    assert np.array_equal(np.unique(a.sample_section), np.arange(14))
    same = _bare_monitor(settings, words, seed=3).sets["analogy"]
    other = _bare_monitor(settings, words, seed=4).sets["analogy"]
    assert np.array_equal(a.sample, same.sample)
    assert not np.array_equal(a.sample, other.sample)
    # the estimate weighs each section by its share of the whole set: with one section all right
    # and the others all wrong, it is that section's share exactly
    share = np.bincount(a.section) / len(a)
    for s in range(14):
        assert a.weights[a.sample_section == s].sum() == pytest.approx(share[s], abs=1e-12)


def test_a_section_of_one_question_is_still_in_the_sample(tmp_path):
    path = tmp_path / "mini.txt"
    lines = [": big"] + [f"a{i} b{i} c{i} d{i}" for i in range(10_000)] + [": small", "x y z t"]
    path.write_text("\n".join(lines) + "\n")
    words = sorted({w for line in lines if not line.startswith(":") for w in line.split()})
    a = _bare_monitor(monitor.MonitorSettings(sets=(str(path),), holdout=0.0), words).sets["mini"]
    assert 1990 <= len(a.sample) <= 2010
    small = [words.index(w) for w in "x y z t".split()]
    assert (a.sample == small).all(axis=1).sum() == 1  # 2,000 / 10,001 of a question, rounded up to it


# ---------------------------------------------------------------- held-out text
def test_held_out_items_are_drawn_from_the_seed_and_hold_the_fraction():
    sizes = np.random.default_rng(0).integers(1, 200, size=5000)
    held = monitor.choose_held_out(sizes, 0.01, seed=7)
    assert np.array_equal(held, monitor.choose_held_out(sizes, 0.01, seed=7))
    assert not np.array_equal(held, monitor.choose_held_out(sizes, 0.01, seed=8))
    words = sizes[held].sum()
    assert 0.01 * sizes.sum() <= words < 0.01 * sizes.sum() + 200 and np.all(np.diff(held) > 0)
    assert monitor.choose_held_out(sizes[:1], 0.3, 1).size == 0  # never the whole corpus
    assert monitor.choose_held_out(sizes[:2], 0.49, 1).size == 1


@pytest.fixture
def recorded_chunks(monkeypatch):
    """Every kernel call: (lr0, lr1, the sentences, or the ids for a store's block units)."""
    calls = []
    real = kernels.train_chunk

    def chunk(ids, bounds, sents, *rest):
        lr0, lr1 = rest[-3], rest[-2]
        calls.append((lr0, lr1, np.array(sents), ids[:bounds[-1]].copy() if len(bounds) < 10_000 else None))
        return real(ids, bounds, sents, *rest)

    monkeypatch.setattr(kernels, "train_chunk", chunk)
    return calls


def test_held_out_sentences_are_never_trained(recorded_chunks, demo_sentences):
    model = Word2Vec(vector_size=10, min_count=1, workers=2, epochs=2, evaluate=[], holdout=0.02, progress=False,
                     seed=3, sg=1)
    model.build_vocab(demo_sentences)
    initial = model.wv.vectors.copy()
    model.train()
    corpus = model._encoded(None, None)
    held = monitor.held_out_of(corpus, 0.02, 3)
    assert 0.02 * corpus.n_words <= np.diff(corpus.bounds)[held].sum() < 0.021 * corpus.n_words
    trained = [c for c in recorded_chunks if c[0] > 0]
    measured = [c for c in recorded_chunks if c[0] == 0 == c[1]]
    assert len(measured) == 2 * len(monitor.held_out_units(corpus, held, 3))  # once per epoch
    assert np.array_equal(np.sort(np.concatenate([c[2] for c in measured[:len(measured) // 2]])), held)
    rest = np.setdiff1d(np.arange(corpus.n_sentences), held)
    n_units = len(trained) // 2
    for epoch in (trained[:n_units], trained[n_units:]):  # every other sentence, once an epoch
        assert np.array_equal(np.sort(np.concatenate([c[2] for c in epoch])), rest)
    for stats in model.epoch_stats:
        assert stats["raw_words"] == corpus.n_words - np.diff(corpus.bounds)[held].sum()
    # the real kernel ran: words seen only in held-out sentences never were context words, so
    # their input vectors are the initial ones; the others moved
    only_held = np.setdiff1d(np.unique(np.concatenate([corpus.ids[corpus.bounds[s]:corpus.bounds[s + 1]]
                                                       for s in held])), corpus.ids[np.concatenate(
                                                           [np.arange(corpus.bounds[s], corpus.bounds[s + 1])
                                                            for s in rest])])
    assert len(only_held) > 20
    assert np.array_equal(model.wv.vectors[only_held], initial[only_held])
    assert not np.array_equal(model.wv.vectors[:100], initial[:100])


def test_held_out_blocks_of_a_corpus_store_are_never_trained(tmp_path, demo_file, monkeypatch):
    from w2v import store
    monkeypatch.setattr(store, "BLOCK_WORDS", 5_000)
    model = Word2Vec(vector_size=10, min_count=1, workers=2, epochs=2, evaluate=[], holdout=0.05, progress=False,
                     seed=3, sg=1, corpus_store="disk", cache_dir=tmp_path)
    model.build_vocab(corpus_file=demo_file)
    initial = model.wv.vectors.copy()
    model.train()
    corpus = model._encoded(None, None)
    held = monitor.held_out_of(corpus, 0.05, 3)
    assert hasattr(corpus, "block_words") and 2 <= len(held) < corpus.n_blocks // 10
    assert all(s["raw_words"] == corpus.n_words - corpus.block_words[held].sum() for s in model.epoch_stats)
    assert all("holdout_loss" in s for s in model.epoch_stats)
    ram = corpus.to_memory()
    in_held = np.zeros(corpus.n_words, dtype=bool)
    for b in held:
        in_held[corpus.block_bounds[b]:corpus.block_bounds[b + 1]] = True
    only_held = np.setdiff1d(ram.ids[in_held], ram.ids[~in_held])
    assert len(only_held) > 20
    assert np.array_equal(model.wv.vectors[only_held], initial[only_held])


# ---------------------------------------------------------------- the held-out loss
CONFIGS = {"sg-ns": dict(sg=1, hs=0, negative=3), "cbow-ns": dict(sg=0, hs=0, negative=3),
           "sg-hs": dict(sg=1, hs=1, negative=0), "cbow-hs": dict(sg=0, hs=1, negative=0),
           "sg-both": dict(sg=1, hs=1, negative=2), "cbow-sum": dict(sg=0, hs=0, negative=2, cbow_mean=0),
           "sg-window": dict(sg=1, hs=1, negative=2, batch_window=1),
           "softmax": dict(sg=1, hs=0, negative=0, softmax=1)}


def _tiny(config, seed=0, v=12, d=8, noise_word=5):
    """A corpus of random sentences over v words, random weights, deterministic kernel draws
    (window 1, no subsampling, all noise mass on one word, as tests/test_kernels.py)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 9, size=40)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = rng.integers(0, v, size=bounds[-1]).astype(np.int32)
    counts = np.sort(rng.integers(1, 100, size=v))[::-1]
    tree = huffman.build(counts)
    probs = np.zeros(v)
    probs[noise_word] = 1.0
    tables = kernels.Tables(np.ones(v, np.float32), sampling.alias_table(probs), tree.points,
                            (1 - tree.codes).astype(np.float32), tree.lengths)
    cfg = kernels.Config(sg=config["sg"], hs=config["hs"], negative=config["negative"], window=1,
                         cbow_mean=config.get("cbow_mean", 1), softmax=config.get("softmax", 0),
                         batch_window=config.get("batch_window", 0))
    w_in = ((rng.random((v, d)) - 0.5)).astype(np.float32)
    w_hs = ((rng.random((v - 1, d)) - 0.5)).astype(np.float32) if config["hs"] else np.zeros((0, d), np.float32)
    w_ns = ((rng.random((v, d)) - 0.5)).astype(np.float32) if config["negative"] or config.get("softmax") \
        else np.zeros((0, d), np.float32)
    return EncodedCorpus(ids, bounds), tables, cfg, tree, w_in, w_hs, w_ns


def _reference_loss(corpus, sentences, config, tree, w_in, w_hs, w_ns, noise_word):
    """Mean loss per prediction by w2v.objectives, at fixed weights: each position's context
    words (window 1) predict it, one by one (skip-gram) or as their mean or sum (CBOW)."""
    w_in, w_hs, w_ns = (w.astype(np.float64) for w in (w_in, w_hs, w_ns))
    total, n = 0.0, 0

    def losses(h, target):
        loss = 0.0
        if config["hs"]:
            m = tree.lengths[target]
            loss += objectives.hierarchical_softmax_loss_and_gradient(h, tree.points[target, :m],
                                                                      tree.codes[target, :m], w_hs)[0]
        if config["negative"]:
            neg = [noise_word] * config["negative"] if target != noise_word else []
            loss += objectives.neg_sampling_loss_and_gradient(h, target, w_ns, np.array(neg, dtype=np.int64))[0]
        if config.get("softmax"):
            loss += objectives.naive_softmax_loss_and_gradient(h, target, w_ns)[0]
        return loss

    for s in sentences:
        sent = corpus.ids[corpus.bounds[s]:corpus.bounds[s + 1]]
        for pos, center in enumerate(sent):
            ctx = [sent[c] for c in (pos - 1, pos + 1) if 0 <= c < len(sent)]
            if config["sg"]:
                for c in ctx:
                    total += losses(w_in[c], center)
                    n += 1
            else:
                h = w_in[ctx].sum(0) / (len(ctx) if config.get("cbow_mean", 1) else 1)
                total += losses(h, center)
                n += 1
    return total / n


@pytest.mark.parametrize("config", CONFIGS)
def test_held_out_loss_is_the_reference_loss_and_changes_no_weight(config):
    kw = CONFIGS[config]
    corpus, tables, cfg, tree, w_in, w_hs, w_ns = _tiny(kw)
    held = monitor.choose_held_out(np.diff(corpus.bounds), 0.3, seed=2)
    units = monitor.held_out_units(corpus, held, seed=2)
    before = [w.tobytes() for w in (w_in, w_hs, w_ns)]
    losses = [monitor.held_out_loss(corpus, units, w_in, w_hs, w_ns, tables, cfg, workers) for workers in (1, 3)]
    assert [w.tobytes() for w in (w_in, w_hs, w_ns)] == before  # bit for bit: nothing was trained
    reference = _reference_loss(corpus, held, kw, tree, w_in, w_hs, w_ns, noise_word=5)
    assert losses[0] == pytest.approx(reference, rel=1e-5)  # the kernel's tabulated sigmoid: 8e-6
    assert losses[1] == losses[0]  # the same sum whatever the threads


def test_held_out_loss_of_a_real_model_leaves_every_matrix_bit_identical(demo_sentences):
    model = Word2Vec(demo_sentences[:3000], vector_size=16, min_count=1, workers=2, epochs=1, sg=1, hs=1,
                     negative=3, progress=False)
    corpus = model._encoded(None, None)
    held = monitor.held_out_of(corpus, 0.05, 1)
    before = [w.tobytes() for w in _weights(model)]
    loss = monitor.held_out_loss(corpus, monitor.held_out_units(corpus, held, 1), *_weights(model)[:1],
                                 model.w_out_hs, model.w_out_ns, model._kernel_tables(), model._kernel_config(), 2)
    assert np.isfinite(loss) and loss > 0
    assert [w.tobytes() for w in _weights(model)] == before


# ---------------------------------------------------------------- early stopping
def _scripted(monkeypatch, metric, values):
    """Monitor.scores gives `values` in turn as the metric (held-out loss or a validation score)."""
    it = iter(values)

    def scores(self, normed=None):
        v = next(it)
        return (v, {}, {}) if metric == "holdout" else (1.0, {metric: 0.5}, {metric: v})

    monkeypatch.setattr(monitor.Monitor, "scores", scores)


class _Snapshots:
    """A callback keeping a copy of every matrix at each epoch's end."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, model):
        self.seen.append([w.copy() for w in _weights(model)])


LOSSES = [5.0, 4.0, 3.0, 3.5, 2.95, 3.2, 3.1, 1.0, 1.0, 1.0]  # best: epoch 2; 2.95 is no improvement by 0.1


@pytest.mark.parametrize("metric", ["holdout", "wordsim353"])
def test_early_stopping_stops_at_the_right_epoch_and_restores_the_best_matrices(metric, monkeypatch, demo_sentences):
    values = LOSSES if metric == "holdout" else [-x for x in LOSSES]  # a score must rise
    _scripted(monkeypatch, metric, values)
    snap = _Snapshots()
    model = Word2Vec(demo_sentences[:5000], vector_size=8, min_count=2, workers=1, epochs=10, sg=1, hs=1, negative=2,
                     progress=False, early_stopping=f"{metric}:2:0.1", callbacks=[snap])
    assert len(model.epoch_stats) == 5 and model.best_epoch == 2
    # the callbacks of the stopping epoch see the weights put back
    for w, best, last in zip(_weights(model), snap.seen[2], snap.seen[3]):
        assert w.shape[0] > 0 and np.array_equal(w, best) and not np.array_equal(w, last)
    key = "holdout_loss" if metric == "holdout" else "validation"
    assert all(key in s for s in model.epoch_stats)
    # no copy: the best epoch is still named, the last epoch's weights stay
    _scripted(monkeypatch, metric, values)
    snap = _Snapshots()
    model = Word2Vec(demo_sentences[:5000], vector_size=8, min_count=2, workers=1, epochs=10, sg=1, hs=1, negative=2,
                     progress=False, early_stopping=f"{metric}:2:0.1", keep_best=False, callbacks=[snap])
    assert len(model.epoch_stats) == 5 and model.best_epoch == 2
    for w, last in zip(_weights(model), snap.seen[-1]):
        assert np.array_equal(w, last)


def test_a_run_that_never_stops_ends_with_its_best_epoch(monkeypatch, demo_sentences):
    _scripted(monkeypatch, "holdout", [3.0, 2.0, 2.5, 2.1])
    snap = _Snapshots()
    model = Word2Vec(demo_sentences[:3000], vector_size=8, min_count=2, workers=1, epochs=4, progress=False,
                     early_stopping="holdout:3", callbacks=[snap])
    assert len(model.epoch_stats) == 4 and model.best_epoch == 1
    assert all(np.array_equal(w, b) for w, b in zip(_weights(model), snap.seen[1]))


def test_a_metric_that_is_never_finite_stops_the_run_after_patience_epochs(monkeypatch, demo_sentences, caplog):
    _scripted(monkeypatch, "holdout", [float("nan")] * 5)
    with caplog.at_level("INFO", logger="w2v.monitor"):
        model = Word2Vec(demo_sentences[:3000], vector_size=8, min_count=2, workers=1, epochs=5, progress=False,
                         early_stopping="holdout:2")
    assert len(model.epoch_stats) == 2 and model.best_epoch is None
    assert "no epoch gave a finite value" in caplog.text


def test_the_learning_rate_decays_over_the_epochs_asked_for_when_stopping_early(monkeypatch, demo_sentences):
    _scripted(monkeypatch, "holdout", [3.0, 3.0, 3.0, 3.0])
    rates = []
    real = kernels.train_chunk

    def chunk(*args):
        rates.append(args[-3:-1])
        return real(*args)

    monkeypatch.setattr(kernels, "train_chunk", chunk)
    model = Word2Vec(demo_sentences[:6000], vector_size=8, min_count=2, workers=1, epochs=10, alpha=0.03,
                     min_alpha=0.001, progress=False, early_stopping="holdout:2")
    assert len(model.epoch_stats) == 3 and model.best_epoch == 0
    assert rates[0][0] == 0.03 and rates[-1][1] == pytest.approx(0.03 - 0.029 * 3 / 10, rel=1e-9)


# ---------------------------------------------------------------- what epoch_stats holds
def test_epoch_stats_keys_follow_the_contract(tmp_path, demo_sentences):
    pairs = tmp_path / "my-pairs.tsv.gz"
    import gzip
    with gzip.open(pairs, "wt") as f:
        f.write("# mine\n" + "".join(f"{a}\t{b}\t{i % 10}\n" for i, (a, b) in enumerate(
            zip(demo_sentences[0], demo_sentences[1]))))
    questions = tmp_path / "mine.txt"
    questions.write_text(": s\n" + "".join(f"{s[0]} {s[1]} {s[2]} {s[3]}\n" for s in demo_sentences[:50]
                                           if len(s) >= 4))
    model = Word2Vec(demo_sentences, vector_size=32, min_count=2, workers=1, epochs=3, progress=False,
                     evaluate=["analogy", "wordsim353", "simlex999", str(pairs), str(questions)])
    for stats in model.epoch_stats:
        assert set(stats) == STATS | {"holdout_loss", "eval"}
        assert set(stats["eval"]) == {"analogy", "wordsim353", "simlex999", "my-pairs", "mine"}
        assert all(type(v) is float for v in [stats["holdout_loss"], *stats["eval"].values()])
    assert model.best_epoch is None and set(model.final_eval) == set(model.epoch_stats[0]["eval"])
    # the pair sets are scored whole each epoch: the last epoch's scores are the final ones
    assert model.final_eval["wordsim353"] == model.epoch_stats[-1]["eval"]["wordsim353"]
    # and the final scores are what the evaluation functions say of the trained vectors
    wv = model.wv
    assert model.final_eval["analogy"] == wv.evaluate_word_analogies(evaluation.data_path(evaluation.ANALOGIES))[0]
    assert model.final_eval["analogy"] > 0  # one worker: the same vectors every run, with 3 right answers
    assert np.array_equal(monitor._unit_rows(wv.vectors), wv.get_normed_vectors())
    for name in evaluation.PAIRS:  # the same unit vectors, bit for bit: the same correlations
        assert model.final_eval[name.split(".")[0]] == pytest.approx(
            wv.evaluate_word_pairs(evaluation.data_path(name))[1][0], abs=1e-12)
    stopped = Word2Vec(demo_sentences, vector_size=16, min_count=1, workers=2, epochs=2, progress=False,
                       evaluate=True, early_stopping="simlex999:1")
    for stats in stopped.epoch_stats:
        assert set(stats) == STATS | {"holdout_loss", "eval", "validation"}
        assert set(stats["eval"]) == {"analogy", "wordsim353", "simlex999"}
        assert set(stats["validation"]) == {"simlex999"}
    assert isinstance(stopped.best_epoch, int) and 0 <= stopped.best_epoch < len(stopped.epoch_stats)
    path = tmp_path / "m.npz"
    stopped.save(path)
    loaded = Word2Vec.load(path)
    assert loaded.epoch_stats == json.loads(json.dumps(stopped.epoch_stats))
    assert loaded.best_epoch == stopped.best_epoch and loaded.final_eval == stopped.final_eval
    assert loaded._monitor == stopped._monitor
    plain = Word2Vec(demo_sentences[:2000], vector_size=8, min_count=1, workers=1, epochs=1, progress=False)
    assert set(plain.epoch_stats[0]) == STATS and plain.best_epoch is None


def test_settings_are_checked_with_messages_that_name_them():
    for kw, match in [(dict(holdout=0.5, evaluate=True), "holdout must be"),
                      (dict(early_stopping="holdout:0"), "patience must be"),
                      (dict(early_stopping="holdout:x"), "PATIENCE an integer"),
                      (dict(early_stopping="nope"), "unknown metric 'nope'"),
                      (dict(early_stopping="holdout", holdout=0), "needs holdout > 0"),
                      (dict(evaluate=["no-such-file.txt"]), "neither a bundled set"),
                      (dict(early_stopping="holdout:2:-1"), "min_delta must be")]:
        with pytest.raises(ValueError, match=match):
            Word2Vec(**kw)
    assert Word2Vec(early_stopping="analogy")._monitor.sets == ("analogy",)  # its set is evaluated
    assert Word2Vec(early_stopping=True)._monitor.early_stopping == monitor.EarlyStopping("holdout", 2, 0.0)
    assert Word2Vec(early_stopping={"metric": "simlex999", "patience": 3})._monitor.early_stopping.patience == 3
    assert Word2Vec(evaluate=False)._monitor is None and Word2Vec()._monitor is None


def test_sets_without_known_words_are_left_out_and_a_single_sentence_cannot_be_held_out(tmp_path, caplog):
    words = ["a", "b", "c", "d", "e"]
    questions = tmp_path / "q.txt"
    questions.write_text(": s\nx y z t\n")  # no question answerable
    pairs = tmp_path / "p.tsv"
    pairs.write_text("a\tb\t1\nc\td\t2\nx\ty\t3\n")  # two known pairs: too few for a correlation
    with caplog.at_level("WARNING", logger="w2v.monitor"):
        m = _bare_monitor(monitor.MonitorSettings(sets=(str(questions), str(pairs)), holdout=0.0), words)
    assert m.sets == {} and "q: 0 questions" in caplog.text and "p: 2 pairs" in caplog.text
    for spec, metric in ((questions, "q"), (pairs, "p")):
        with pytest.raises(ValueError, match=f"early_stopping on {metric}: too few"):
            _bare_monitor(monitor.MonitorSettings(sets=(str(spec),), holdout=0.0,
                                                  early_stopping=monitor.EarlyStopping(metric)), words)
    one = EncodedCorpus(np.zeros(3, np.int32), np.array([0, 3], np.int64))
    with pytest.raises(ValueError, match="single sentence"):
        _bare_monitor(monitor.MonitorSettings(holdout=0.01), words, corpus=one)
    assert _bare_monitor(monitor.MonitorSettings(holdout=0.0), words, corpus=one).units == []


def test_unit_rows_leave_zero_rows_zero():
    w = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    assert np.array_equal(monitor._unit_rows(w), np.array([[0.6, 0.8], [0.0, 0.0]], dtype=np.float32))


# ---------------------------------------------------------------- checkpoints


def test_resume_with_early_stopping_is_bit_identical(tmp_path, demo_file, ctrl_c_at_unit):
    kw = dict(vector_size=12, min_count=2, workers=1, epochs=6, seed=5, progress=False, sg=1, negative=3,
              evaluate=["wordsim353"], early_stopping="holdout:2:0.15")
    full = Word2Vec(corpus_file=demo_file, **kw)
    assert len(full.epoch_stats) == 4 and full.best_epoch == 1  # the resumed run must stop there too
    ckpt = tmp_path / "run.ckpt"
    ctrl_c_at_unit(21)  # the demo file is 6 units an epoch: unit 3 of epoch 4, one epoch after the best
    with pytest.raises(KeyboardInterrupt):
        Word2Vec(corpus_file=demo_file, checkpoint=ckpt, **kw)
    with np.load(ckpt) as z:
        assert {"best_w_in", "best_w_out_ns", "best_w_out_hs"} <= set(z.files)
        state = json.loads(bytes(z["meta"]).decode())["training"]["monitor"]
    assert state["best_epoch"] == 1 and state["bad_epochs"] == 1 and not state["stopped"]
    resumed = Word2Vec.resume(ckpt, corpus_file=demo_file)
    for a, b in zip(_weights(full), _weights(resumed)):
        assert np.array_equal(a, b)
    assert [{k: v for k, v in s.items() if k != "seconds"} for s in full.epoch_stats] == \
        [{k: v for k, v in s.items() if k != "seconds"} for s in resumed.epoch_stats]
    assert resumed.best_epoch == full.best_epoch
    again = Word2Vec.resume(ckpt, corpus_file=demo_file)  # the run had stopped: nothing left to do
    assert len(again.epoch_stats) == len(full.epoch_stats) and again.best_epoch == full.best_epoch
    assert np.array_equal(again.wv.vectors, full.wv.vectors)
    with pytest.raises(ValueError, match="other settings: no evaluation where the checkpoint has evaluation"):
        Word2Vec.resume(ckpt, corpus_file=demo_file, expect_settings={"monitor": None})
    other = monitor.MonitorSettings.from_arguments(["wordsim353"], 0.01, "holdout:3:0.15", True)
    with pytest.raises(ValueError, match=r"early_stopping=\{'metric': 'holdout', 'patience': 3, 'min_delta': 0.15\} "
                                         r"where the checkpoint has \{[^}]*'patience': 2"):
        Word2Vec.resume(ckpt, corpus_file=demo_file, expect_settings={"monitor": other})


def test_spearman_is_scipys_with_ties():
    from scipy.stats import spearmanr
    rng = np.random.default_rng(1)
    for gold in (rng.integers(0, 5, 300).astype(float), rng.random(50), np.repeat([1.0, 2.0], 20)):
        model = np.round(rng.random(gold.shape[0]), 1)  # ties on both sides
        assert monitor.spearman(gold, model) == pytest.approx(spearmanr(gold, model)[0], abs=1e-12)
    assert np.isnan(monitor.spearman([1, 2, 3], [5, 5, 5]))


# ---------------------------------------------------------------- the fast analogy answer
def test_answer_top1_is_gensims_answer_also_when_a_folded_question_word_scores_best():
    rng = np.random.default_rng(0)
    v, d = 600, 12
    base = [f"w{i}" for i in range(v // 2)]
    words = base + [w.upper() for w in base]  # every word has a second spelling, whose vector is close
    normed = rng.standard_normal((v, d)).astype(np.float32)
    normed[v // 2:] = normed[: v // 2] + 0.05 * rng.standard_normal((v // 2, d)).astype(np.float32)
    normed /= np.linalg.norm(normed, axis=1, keepdims=True)
    _, canon, _ = evaluation._vocabulary(words, 300000, True)
    rows = rng.integers(0, v // 2, size=(3000, 4))
    rows[:1000, 2] = rows[:1000, 1]  # b == c: their sum points at b's second spelling
    exact = evaluation._answer(normed, canon, rows, "add")
    fast = evaluation.answer_top1(normed, canon, rows)
    assert np.array_equal(fast, exact)
    scores = normed @ (normed[rows[:, 1]] + normed[rows[:, 2]] - normed[rows[:, 0]]).T
    scores[rows[:, :3].T, np.arange(len(rows))] = -np.inf
    assert (canon[scores.argmax(axis=0)] == rows[:, 1]).sum() > 100  # the fallback was needed


# ---------------------------------------------------------------- the command line
def test_cli_logs_one_line_per_epoch_and_saves_the_scores(tmp_path, demo_file, capsys):
    from w2v import cli
    model_path = tmp_path / "m.npz"
    code = cli.main(["train", "-train", str(demo_file), "-output", str(tmp_path / "v.txt"), "-size", "10",
                     "-iter", "3", "-min-count", "2", "-threads", "1", "-eval-each-epoch", "wordsim353,analogy",
                     "-holdout", "0.02", "-early-stopping", "holdout:1", "-save-model", str(model_path)])
    assert code == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "held-out loss" in line]
    model = Word2Vec.load(model_path)
    assert len(lines) == len(model.epoch_stats) >= 1
    assert all("wordsim353" in line and "analogy" in line for line in lines)
    assert set(model.epoch_stats[0]["eval"]) == {"wordsim353", "analogy"}
    assert model._monitor.holdout == 0.02 and model.best_epoch is not None
    for flags, message in [(["-early-stopping", "holdout:0"], "-early-stopping: patience must be"),
                           (["-eval-each-epoch", "nope.txt"], "-eval-each-epoch: 'nope.txt' is neither"),
                           (["-holdout", "0.9", "-eval-each-epoch"], "-holdout: holdout must be")]:
        assert cli.main(["train", "-train", str(demo_file), "-output", str(tmp_path / "w.txt"), *flags]) == 2
        assert message in capsys.readouterr().err
