"""The driver: what each train() call hands the kernel, and what callbacks see."""
import itertools
import os
import signal
import threading
import time

import numpy as np
import pytest

from w2v import Word2Vec, kernels


@pytest.fixture
def recorded_units(monkeypatch):
    """Record (lr0, lr1, seed, first sentence) of every unit the backend runs, training nothing."""
    calls = []

    def fake_chunk(ids, bounds, sents, w_in, w_out_hs, w_out_ns, tables, cfg, lr0, lr1, seed):
        calls.append((lr0, lr1, int(seed), int(sents[0])))
        raw = int((bounds[sents + 1] - bounds[sents]).sum())
        # long enough for the driver to poll its progress, and before the first result too
        time.sleep(0.3 if len(calls) == 1 else 0.08)
        return raw, raw - 1, 1.5, 2

    monkeypatch.setattr(kernels, "train_chunk", fake_chunk)
    return calls


def test_each_train_call_decays_alpha_over_its_own_epochs_and_draws_new_streams(recorded_units, demo_sentences):
    model = Word2Vec(vector_size=8, min_count=2, workers=1, epochs=2, alpha=0.03, min_alpha=0.001, progress=False)
    model.build_vocab(demo_sentences)
    model.train(demo_sentences)
    first = list(recorded_units)
    recorded_units.clear()
    model.train(demo_sentences, start_alpha=0.01, end_alpha=0.0005)
    second = list(recorded_units)
    assert len(first) == len(second) > 4
    for calls, (a0, a1) in ((first, (0.03, 0.001)), (second, (0.01, 0.0005))):
        assert calls[0][0] == pytest.approx(a0) and calls[-1][1] == pytest.approx(a1)
        lr = np.array([c[:2] for c in calls])
        assert np.all(np.diff(lr[:, 0]) < 0) and np.allclose(lr[1:, 0], lr[:-1, 1])  # falls, no jumps
    # every unit the kernel ran had its own stream, and the second call continued them: no unit
    # seed and no epoch order repeats
    assert len({c[2] for c in first + second}) == len(first + second)
    assert not {c[2] for c in first} & {c[2] for c in second}
    assert [c[3] for c in first] != [c[3] for c in second]
    assert len(model.epoch_stats) == 4
    # each epoch's stats add up its units' results
    per_epoch = len(first) // 2
    for stats in model.epoch_stats:
        assert stats["raw_words"] == model._encoded(None, None).n_words
        assert (stats["loss"], stats["predictions"]) == (1.5 * per_epoch, 2 * per_epoch)
        assert stats["raw_words"] - stats["effective_words"] == per_epoch


def test_progress_follows_the_words_trained(recorded_units, demo_sentences, monkeypatch):
    from w2v import trainer
    seen = []
    monkeypatch.setattr(trainer._Progress, "update", lambda self, done, lr, loss, epoch: seen.append(
        (done, lr, loss, epoch)))
    model = Word2Vec(vector_size=8, min_count=2, workers=1, epochs=2, progress=False)
    model.build_vocab(demo_sentences)
    model.train(demo_sentences)
    n = model.epoch_stats[0]["raw_words"]
    assert len(seen) >= 2 and {s[3] for s in seen} == {0, 1}
    for done, lr, loss, epoch in seen:
        assert epoch * n <= done <= (epoch + 1) * n and 0 < lr <= model.alpha
        assert loss == (pytest.approx(0.75) if done > epoch * n else 0.0)  # 0 before the epoch's first result
    assert any(s[0] == 0 for s in seen)  # a poll came before the first result
    assert [s[0] for s in seen] == sorted(s[0] for s in seen)


def test_progress_is_a_bar_on_a_terminal_and_log_lines_elsewhere(caplog):
    import logging
    from w2v import trainer
    assert trainer._Progress(100, True).bar is not None
    assert trainer._Progress(100, None).bar is None  # pytest's stderr is no terminal
    quiet = trainer._Progress(200, False)
    quiet.last_log -= 10
    with caplog.at_level(logging.INFO, logger="w2v.trainer"):
        quiet.update(50, 0.01, 2.5, 0)
        quiet.update(60, 0.01, 2.5, 0)  # within 5 s of the last line: no new one
    assert "25.0% done, epoch 1, lr 0.01000, loss 2.5000" in caplog.text and "30.0%" not in caplog.text


def test_callbacks_see_the_epoch_they_are_called_for(demo_sentences):
    seen = []
    begun = []

    class LossLogger:  # gensim's loss idiom: the loss summed since train() began
        def on_epoch_begin(self, model):
            begun.append(len(model.epoch_stats))

        def on_epoch_end(self, model):
            seen.append((len(model.epoch_stats), model.get_latest_training_loss(),
                         model.epoch_stats[-1]["raw_words"]))

    model = Word2Vec(demo_sentences[:3000], vector_size=8, min_count=2, workers=1, epochs=3, progress=False,
                     callbacks=[LossLogger()])
    assert [s[0] for s in seen] == [1, 2, 3] and begun == [0, 1, 2]
    assert [s[1] for s in seen] == list(itertools.accumulate(e["loss"] for e in model.epoch_stats))
    assert all(s[1] > 0 and s[2] > 0 for s in seen)
    model.train(demo_sentences[:3000], epochs=1, callbacks=[LossLogger()])
    assert seen[-1][:2] == (4, model.epoch_stats[3]["loss"])  # a new call starts from 0


@pytest.mark.parametrize("saved", [False, True], ids=["in-place", "copied"])
def test_keyboard_interrupt_stops_the_threads_and_leaves_the_model_consistent(saved, tmp_path, demo_sentences,
                                                                             ctrl_c_handled):
    """Ctrl-C in a notebook: train() raises KeyboardInterrupt once its threads have stopped, with
    the private rows merged into the model's matrices; nothing writes the weights afterwards."""
    model = Word2Vec(vector_size=16, min_count=2, workers=2, epochs=200, sg=0, progress=False)
    model.build_vocab(demo_sentences)
    if saved:  # a loaded model's matrices have no spare rows: training works on copies
        model.save(tmp_path / "m.npz")
        model = Word2Vec.load(tmp_path / "m.npz")
    before = model.wv.vectors.copy()
    alive = set(threading.enumerate())
    # a real signal, as Ctrl-C sends: it interrupts the wait for the threads, where interrupt_main waits
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        timer.start()
        model.train(demo_sentences)
    timer.cancel()
    assert set(threading.enumerate()) == alive  # every training thread has ended
    after = model.wv.vectors.copy()
    assert 1 <= len(model.epoch_stats) < 200
    # the most frequent words' rows were private during training: their progress was merged
    assert np.abs(after[:256] - before[:256]).max() > 1e-3 and np.isfinite(after).all()
    time.sleep(0.5)
    assert np.array_equal(model.wv.vectors, after)


@pytest.mark.parametrize("workers", [1, 2])
def test_divergence_stops_training_with_a_clear_error(workers, demo_sentences):
    from w2v.errors import TrainingDivergedError
    with pytest.raises(TrainingDivergedError, match=r"epoch 1 at learning rate .*lower alpha"):
        Word2Vec(demo_sentences[:5000], vector_size=16, min_count=2, alpha=5.0, workers=workers, epochs=3,
                 progress=False)
    model = Word2Vec(vector_size=16, min_count=2, workers=workers, epochs=1, progress=False)
    model.build_vocab(demo_sentences[:5000])
    model.wv.vectors[len(model.wv) - 1, 0] = np.inf  # a bad custom initialisation of a rare word
    with pytest.raises(FloatingPointError, match="became NaN or infinite in epoch 1"):
        model.train(demo_sentences[:5000])


def test_cli_reports_divergence_without_a_traceback(tmp_path, demo_file):
    from w2v.cli import main
    out = tmp_path / "v.txt"
    rc = main(["train", "-train", str(demo_file), "-output", str(out), "-alpha", "5", "-size", "8", "-iter", "1",
               "-threads", "1", "-min-count", "2"])
    assert rc != 0 and not out.exists()


def test_a_cold_kernel_cache_is_announced_once_before_compiling(tmp_path):
    """With numba's cache empty, the first training compiles for ~20 s while the progress bar would
    stand at 0%: one line says so first. With the cache warm (the next run), no such line."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n" * 200)
    env = {**os.environ, "PYTHONPATH": str(root), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    lines = []
    for run in range(2):
        done = subprocess.run([sys.executable, "-m", "w2v", "train", "-train", str(corpus), "-output",
                               str(tmp_path / "v.txt"), "-size", "8", "-iter", "1", "-min-count", "1"],
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        lines.append(done.stderr.splitlines())
    cold, warm = lines
    said = [i for i, line in enumerate(cold) if "compiling the training kernels (first run only" in line]
    epoch = [i for i, line in enumerate(cold) if line.startswith("w2v: epoch 1")]
    assert len(said) == 1 and said[0] < epoch[0], cold
    assert not any("compiling" in line for line in warm), warm


def test_should_stop_ends_the_run_after_that_epoch_with_a_checkpoint(recorded_units, demo_sentences):
    from w2v import trainer
    from w2v.plan import Cursor
    model = Word2Vec(vector_size=8, min_count=2, workers=1, epochs=1, progress=False)
    model.build_vocab(demo_sentences)
    corpus = model._encoded(None, None)
    saved, asked = [], []

    def should_stop(e):
        asked.append(e)
        return e == 1

    stats = trainer.train(corpus, model.wv.vectors, model.w_out_hs, model.w_out_ns, model._kernel_tables(),
                          model._kernel_config(), epochs=5, workers=1, start_alpha=0.03, end_alpha=0.001, seed=1,
                          progress=False, should_stop=should_stop, held_out=np.array([0, 5]),
                          checkpoint=lambda cursor, so_far: saved.append(cursor))
    assert len(stats) == 2 and asked == [0, 1] and saved == [Cursor(2, 0)]
    n = corpus.n_words - int(np.diff(corpus.bounds)[[0, 5]].sum())
    assert stats[0]["raw_words"] == n
    assert recorded_units[-1][1] == pytest.approx(0.03 - 0.029 * 2 / 5, rel=1e-9)  # the 5-epoch schedule
