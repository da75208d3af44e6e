"""w2v.plot: the figures draw exactly the numbers they claim (line data against epoch_stats,
map points against a numpy PCA), labels do not pile up, and the files are real PNGs."""
from __future__ import annotations

import os
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from w2v import KeyedVectors, Word2Vec, plot  # noqa: E402
from w2v.cli import main  # noqa: E402


def synthetic_stats():
    """Five epochs as the evaluation branch records them: holdout_loss and eval scores, with
    gaps (epoch 2 lacks simlex999; epoch 4 lacks a held-out loss). The training loss falls to
    the end; the held-out loss is lowest at epoch 3 (index 2) and rises after."""
    stats = []
    for e in range(5):
        s = {"raw_words": 1000, "effective_words": 800 + e, "loss": 3000.0 - 400.0 * e + 7.0 * e * e,
             "predictions": 1000 + 10 * e, "seconds": 1.5,
             "holdout_loss": 3.2 - 0.3 * e + 0.06 * e * e,
             "eval": {"analogy": 0.05 + 0.04 * e, "wordsim353": 0.3 + 0.03 * e, "simlex999": 0.1 + 0.01 * e}}
        if e == 1:
            del s["eval"]["simlex999"]
        if e == 3:
            del s["holdout_loss"]
        stats.append(s)
    return stats


MARKERS = ("best epoch", "lowest held-out loss")


def lines_by_label(ax):
    """The curves of an axes by label, without the epoch marker."""
    return {line.get_label(): line for line in ax.get_lines() if not line.get_label().lstrip("_").startswith(MARKERS)}


def markers(ax):
    """The vertical lines that mark an epoch."""
    return [line for line in ax.get_lines() if line.get_label().lstrip("_").startswith(MARKERS)]


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def png_size(path):
    data = open(path, "rb").read(24)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# ---------------------------------------------------------------- learning curves
def test_the_curves_are_the_epoch_stats():
    stats = synthetic_stats()
    fig = plot.plot_training(stats)
    loss_ax, eval_ax = fig.axes
    lines = lines_by_label(loss_ax)
    assert set(lines) == {"training loss", "held-out loss"}
    epochs = [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(lines["training loss"].get_xdata(), epochs)
    np.testing.assert_allclose(lines["training loss"].get_ydata(), [s["loss"] / s["predictions"] for s in stats])
    np.testing.assert_array_equal(lines["held-out loss"].get_xdata(), epochs)
    np.testing.assert_allclose(lines["held-out loss"].get_ydata(),
                               [s.get("holdout_loss", np.nan) for s in stats])  # NaN: a gap in the line
    scores = lines_by_label(eval_ax)
    assert set(scores) == {"analogy", "wordsim353", "simlex999"}
    for name, line in scores.items():
        np.testing.assert_array_equal(line.get_xdata(), epochs)
        np.testing.assert_allclose(line.get_ydata(), [s["eval"].get(name, np.nan) for s in stats])


def test_early_stoppings_best_epoch_is_marked_on_every_panel():
    stats = synthetic_stats()
    for best in range(5):
        fig = plot.plot_training(stats, best_epoch=best)
        assert len(fig.axes) == 2
        for k, ax in enumerate(fig.axes):
            (line,) = markers(ax)
            np.testing.assert_array_equal(line.get_xdata(), [best + 1, best + 1])  # epochs count from 1
            np.testing.assert_array_equal(line.get_ydata(), [0, 1])  # the axes' full height
            assert line.get_linestyle() == "--"
            # named once, in the loss panel's legend
            assert (f"best epoch {best + 1}" in legend_texts(ax)) == (k == 0)
        assert set(lines_by_label(fig.axes[0])) == {"training loss", "held-out loss"}
    for bad in (-1, 5, 2.0, True):
        with pytest.raises(ValueError, match="best_epoch must be an index into the 5 epochs"):
            plot.plot_training(stats, best_epoch=bad)


def test_without_early_stopping_the_lowest_held_out_loss_is_marked():
    stats = synthetic_stats()
    series = plot.training_series(stats)
    assert np.nanargmin(series.loss) == 4  # the training loss is lowest at the end, the held-out loss is not
    fig = plot.plot_training(stats)
    for k, ax in enumerate(fig.axes):
        (line,) = markers(ax)
        np.testing.assert_array_equal(line.get_xdata(), [3, 3])
        assert line.get_linestyle() == ":"  # not early stopping's: no weights were kept
        assert ("lowest held-out loss: epoch 3" in legend_texts(ax)) == (k == 0)
    # a tie keeps the first, as early stopping on the held-out loss would
    tied = [dict(s, holdout_loss=v) for s, v in zip(stats, [3.0, 2.0, 2.5, 2.0, 2.2])]
    assert [m.get_xdata()[0] for m in markers(plot.plot_training(tied).axes[0])] == [2]
    # a held-out loss at one epoch alone marks nothing; nor does a run without one
    one = [dict(s) for s in stats]
    for s in one[1:]:
        s.pop("holdout_loss", None)
    assert plot.epoch_marker(plot.training_series(one)) is None
    assert [markers(ax) for ax in plot.plot_training(one).axes] == [[], []]
    bare = [{k: s[k] for k in ("loss", "predictions")} for s in stats]
    assert markers(plot.plot_training(bare).axes[0]) == []


def test_curves_of_todays_epoch_stats_have_the_training_loss_alone():
    stats = [{"raw_words": 10, "effective_words": 9, "loss": 50.0 / (e + 1), "predictions": 20, "seconds": 0.1}
             for e in range(3)]
    stats.append({"raw_words": 10, "effective_words": 0, "loss": 0.0, "predictions": 0, "seconds": 0.1})
    fig = plot.plot_training(stats)
    assert len(fig.axes) == 1
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
    # an epoch without predictions has no mean loss: a gap, not a plotted 0
    np.testing.assert_allclose(line.get_ydata(), [2.5, 1.25, 50 / 60, np.nan])
    with pytest.raises(ValueError, match="no trained epochs"):
        plot.plot_training([])


# ---------------------------------------------------------------- map
def reference_pca(vectors):
    """The two principal coordinates of the unit rows, from the covariance's eigenvectors."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    centred = unit - unit.mean(axis=0)
    values, vecs = np.linalg.eigh(centred.T @ centred)
    return centred @ vecs[:, ::-1][:, :2]


def rows_of_many_lengths(seed=3, n=40, d=12):
    """Rows in three directions, with lengths from 0.1 to 10: unit rows and raw rows give
    different maps."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, d))
    rows = centres[rng.integers(0, 3, n)] + 0.4 * rng.normal(size=(n, d))
    return (rows * 10 ** rng.uniform(-1, 1, size=(n, 1))).astype(np.float32)


def same_up_to_axis_signs(a, b):
    signs = np.sign(np.sum(a * b, axis=0))
    np.testing.assert_allclose(a, b * signs, rtol=1e-6, atol=1e-9)


def test_pca_is_the_principal_axes_of_the_unit_vectors():
    vectors = rows_of_many_lengths()
    coords, ratio = plot.project(vectors)
    same_up_to_axis_signs(coords, reference_pca(vectors.astype(np.float64)))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    total = ((unit - unit.mean(axis=0)) ** 2).sum()
    np.testing.assert_allclose(ratio, (coords ** 2).sum(axis=0) / total, rtol=1e-6)
    raw, _ = plot.project(vectors, normalize=False)
    assert not np.allclose(np.abs(raw), np.abs(coords), atol=1e-3)  # the lengths matter here
    # signed so that each axis's largest loading is positive: the same picture on every run
    again, _ = plot.project(vectors[::-1].copy())
    np.testing.assert_allclose(again[::-1], coords, atol=1e-9)


def test_the_map_points_are_the_projection(tmp_path):
    vectors = rows_of_many_lengths()
    words = [f"w{i}" for i in range(len(vectors))]
    fig = plot.plot_map(vectors, words)
    (points,) = fig.axes[0].collections
    coords, _ = plot.project(vectors)
    np.testing.assert_array_equal(points.get_offsets(), coords)
    same_up_to_axis_signs(np.asarray(points.get_offsets()), reference_pca(vectors.astype(np.float64)))
    # every label is its word, anchored at its point
    texts = fig.axes[0].texts
    assert [t.get_text() for t in texts] == words
    np.testing.assert_allclose([t.xy for t in texts], coords)


def test_a_models_map_is_its_vectors_projection(trained, caplog):
    kv = trained.wv
    words = kv.index_to_key[5:25]
    fig = kv.plot_map(words + ["not-a-word"])
    assert "ignoring words not in the vocabulary: ['not-a-word']" in caplog.text
    coords, _ = plot.project(kv.vectors[5:25])
    np.testing.assert_array_equal(fig.axes[0].collections[0].get_offsets(), coords)
    assert [t.get_text() for t in fig.axes[0].texts] == words
    top = kv.plot_map(top=12)
    assert [t.get_text() for t in top.axes[0].texts] == kv.index_to_key[:12]
    with pytest.raises(ValueError, match="either words or top"):
        kv.plot_map()


def boxes_overlap(boxes):
    """Summed area of the pairwise intersections of boxes (n, 4) x0 y0 x1 y1."""
    b = np.asarray(boxes)
    w = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    h = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    area = np.clip(w, 0, None) * np.clip(h, 0, None)
    return float(np.triu(area, 1).sum())


def drawn_label_boxes(fig):
    """Each label's text box in pixels, as drawn (an Annotation's own extent adds its line)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return np.array([Text.get_window_extent(t, renderer).extents for t in fig.axes[0].texts])


def test_labels_of_a_dense_cluster_do_not_pile_up():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 20))
    vectors = np.vstack([c + 0.03 * rng.normal(size=(15, 20)) for c in centres])
    words = [f"word{i}" for i in range(len(vectors))]
    spread = drawn_label_boxes(plot.plot_map(vectors, words))
    piled = drawn_label_boxes(plot.plot_map(vectors, words, spread_labels=False))
    assert boxes_overlap(piled) > 5000  # the test's cluster is dense enough to pile labels
    assert boxes_overlap(spread) < 0.02 * boxes_overlap(piled)
    width, height = plot.MAP_SIZE
    assert (spread[:, :2] >= 0).all() and (spread[:, 2] <= width).all() and (spread[:, 3] <= height).all()


def test_place_labels_finds_free_spots_around_one_point():
    anchors = np.tile([[500.0, 400.0]], (12, 1))
    sizes = np.tile([[60.0, 12.0]], (12, 1))
    offsets = plot.place_labels(anchors, sizes, (0, 0, 1000, 800), marker=6.0)
    corners = anchors + offsets
    boxes = np.hstack([corners, corners + sizes])
    assert boxes_overlap(boxes) == 0
    point = (boxes[:, 0] < 503) & (boxes[:, 2] > 497) & (boxes[:, 1] < 403) & (boxes[:, 3] > 397)
    assert not point.any()  # no label covers the point
    # the first label takes the nearest spot: just right of the point, centred on it
    np.testing.assert_allclose(offsets[0], [6.0, -6.0])
    # at the right edge, labels go left instead of out of bounds
    edge = plot.place_labels([[995.0, 400.0]], [[60.0, 12.0]], (0, 0, 1000, 800))
    assert edge[0, 0] + 60 <= 0


# ---------------------------------------------------------------- files
def test_the_png_is_a_png_of_the_requested_size(tmp_path):
    import matplotlib.image

    path = tmp_path / "curves.png"
    plot.save_figure(plot.plot_training(synthetic_stats(), size=(640, 360), dpi=80), path)
    assert png_size(path) == (640, 360)
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (360, 640)
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 20  # drawn, not blank
    path = tmp_path / "map.png"
    plot.save_figure(plot.plot_map(rows_of_many_lengths(), [f"w{i}" for i in range(40)], size=(777, 555)), path)
    assert png_size(path) == (777, 555)
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plot.save_figure(plot.plot_training(synthetic_stats()), tmp_path / "curves.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "map.png"]


# ---------------------------------------------------------------- models, the CLI and the demo
@pytest.fixture(scope="module")
def trained(demo_sentences):
    return Word2Vec(demo_sentences[:3000], vector_size=16, min_count=3, workers=1, seed=3, epochs=3)


@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.w2v"
    trained.save(path)
    return path


def test_a_models_curves_are_its_epoch_stats(trained):
    (line,) = trained.plot_training().axes[0].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 4))
    np.testing.assert_allclose(line.get_ydata(), [e["loss"] / e["predictions"] for e in trained.epoch_stats])


def test_a_models_best_epoch_is_marked_and_saved_with_it(monkeypatch, demo_sentences, tmp_path):
    from w2v import monitor

    held_out = iter([3.0, 2.0, 1.5, 1.7, 1.8, 1.9])

    def scores(self, normed=None):  # scripted held-out losses: the best is epoch 3 (index 2)
        return next(held_out), {}, {}

    monkeypatch.setattr(monitor.Monitor, "scores", scores)
    model = Word2Vec(demo_sentences[:3000], vector_size=8, min_count=2, workers=1, epochs=6, progress=False,
                     early_stopping="holdout:2")
    assert len(model.epoch_stats) == 5 and model.best_epoch == 2
    model.save(tmp_path / "m.w2v")
    for m in (model, Word2Vec.load(tmp_path / "m.w2v")):
        (line,) = markers(m.plot_training().axes[0])
        np.testing.assert_array_equal(line.get_xdata(), [3, 3])
        assert line.get_label() == "best epoch 3"
    # best_epoch= overrides the model's
    (line,) = markers(model.plot_training(best_epoch=4).axes[0])
    assert line.get_xdata()[0] == 5


def test_cli_plot_curves_and_maps(model_file, trained, tmp_path, capsys):
    curves = tmp_path / "curves.png"
    assert main(["plot", str(model_file), "-o", str(curves)]) == 0
    assert png_size(curves) == plot.CURVES_SIZE
    assert "learning curves of 3 epochs" in capsys.readouterr().err
    words = trained.wv.index_to_key[10:20]
    word_map = tmp_path / "map.png"
    assert main(["plot", str(model_file), "--map", *words, "-o", str(word_map), "--size", "640x480"]) == 0
    assert png_size(word_map) == (640, 480)
    vectors = tmp_path / "vectors.txt"
    trained.wv.save_word2vec_format(vectors)
    top = tmp_path / "top.svg"
    assert main(["plot", str(vectors), "--top", "30", "-o", str(top)]) == 0
    assert top.read_text().lstrip().startswith("<?xml") and "<svg" in top.read_text()


@pytest.mark.parametrize("args, msg", [
    (["{vectors}", "-o", "{tmp}/c.png"], "no training history"),
    (["{model}", "-o", "{model}"], "MODEL"),
    (["{model}", "-o", "{tmp}/c.jpg"], ".png, .svg or .pdf"),
    (["{model}", "--top", "1", "-o", "{tmp}/c.png"], "--top must be >= 2"),
    (["{model}", "--map", "nosuchword", "-o", "{tmp}/c.png"], "not in it: nosuchword"),
    (["{model}", "--size", "big", "-o", "{tmp}/c.png"], "WIDTHxHEIGHT"),
    (["{tmp}/missing.w2v", "-o", "{tmp}/c.png"], "missing.w2v"),
])
def test_cli_plot_errors_are_one_line_and_write_nothing(model_file, trained, tmp_path, capsys, args, msg):
    vectors = tmp_path / "vectors.txt"
    trained.wv.save_word2vec_format(vectors)
    before = model_file.read_bytes()
    args = [a.format(tmp=tmp_path, model=model_file, vectors=vectors) for a in args]
    assert main(["plot", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("w2v: error: ") and msg in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.txt"]
    assert model_file.read_bytes() == before


def without_matplotlib(monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)


def test_without_the_plot_extra_the_cli_names_it(model_file, tmp_path, capsys, monkeypatch):
    without_matplotlib(monkeypatch)
    assert not plot.available()
    assert main(["plot", str(model_file), "-o", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["w2v: error: w2v plot needs matplotlib: pip install 'w2v[plot]'"]
    with pytest.raises(ImportError, match=r"pip install 'w2v\[plot\]'"):
        plot.plot_training([{"loss": 1.0, "predictions": 1}])
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    from conftest import demo_lines
    path = tmp_path_factory.mktemp("demo") / "small.txt"
    path.write_text("".join(demo_lines(4000)), encoding="utf-8")
    return path


def test_demo_saves_both_pictures_and_says_where(small_corpus, tmp_path, monkeypatch):
    from w2v import demo

    drawn = {}
    save = plot.save_figure

    def keep(fig, path, format=None):
        drawn[os.path.basename(path)] = fig
        return save(fig, path, format)

    monkeypatch.setattr(plot, "save_figure", keep)
    lines = []
    assert demo.run(output=str(tmp_path / "v.txt"), workers=1, epochs=3, out=lines.append,
                    corpus=str(small_corpus)) == 0
    curves, word_map = tmp_path / demo.CURVES, tmp_path / demo.MAP
    assert png_size(curves) == plot.CURVES_SIZE and png_size(word_map) == plot.MAP_SIZE
    assert lines[-1] == (f"pictures: {curves} (loss and scores by epoch), {word_map} (a map of "
                         + lines[-1].split("map of ")[1])
    # the demo trains with the monitor on: the curves have the held-out loss and the scores
    loss_ax, eval_ax = drawn[demo.CURVES].axes
    held_out = lines_by_label(loss_ax)["held-out loss"]
    np.testing.assert_array_equal(held_out.get_xdata(), [1, 2, 3])
    assert np.isfinite(held_out.get_ydata()).all()
    scores = lines_by_label(eval_ax)
    assert {"wordsim353", "simlex999"} <= set(scores)
    assert all(np.isfinite(line.get_ydata()).all() for line in scores.values())
    # ... and its lines print the numbers drawn, one epoch a line
    printed = [line for line in lines if line.startswith("  epoch ")]
    assert len(printed) == 3
    for e, line in enumerate(printed):
        assert f", held-out {held_out.get_ydata()[e]:.4f}; " in line
        assert f"wordsim353 {scores['wordsim353'].get_ydata()[e]:.3f}" in line
    # no early stopping: the lowest held-out loss is marked
    (mark,) = markers(loss_ax)
    assert mark.get_xdata()[0] == 1 + np.argmin(held_out.get_ydata())


def test_demo_without_the_plot_extra_runs_and_says_how_to_get_the_pictures(small_corpus, tmp_path, monkeypatch):
    from w2v import demo

    without_matplotlib(monkeypatch)
    lines = []
    assert demo.run(output=str(tmp_path / "v.txt"), workers=1, epochs=1, out=lines.append,
                    corpus=str(small_corpus)) == 0
    assert (tmp_path / "v.txt").exists() and not (tmp_path / demo.CURVES).exists()
    hints = [line for line in lines if "w2v[plot]" in line]
    assert hints == [lines[-1]] and "pip install 'w2v[plot]'" in hints[0]
    assert [line for line in lines if line.startswith("  epoch ")][0].startswith("  epoch 1: loss ")


def test_kv_plot_map_keeps_groups_aligned_when_words_are_missing():
    kv = KeyedVectors(4)
    kv.add_vectors(["a", "b", "c"], np.eye(3, 4, dtype=np.float32) + 0.1)
    fig = kv.plot_map(["a", "zz", "b", "c"], groups=["x", "gone", "y", "y"])
    colours = fig.axes[0].collections[0].get_facecolors()
    assert [t.get_text() for t in fig.axes[0].texts] == ["a", "b", "c"]
    assert not np.allclose(colours[0], colours[1]) and np.allclose(colours[1], colours[2])


def test_other_projections_are_drawn_as_computed():
    pytest.importorskip("sklearn")
    vectors = rows_of_many_lengths(n=30)
    fig = plot.plot_map(vectors, [f"w{i}" for i in range(30)], method="tsne", seed=5)
    coords, ratio = plot.project(vectors, "tsne", seed=5)
    assert ratio is None
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), coords, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="method must be one of"):
        plot.project(vectors, "mds")


def test_umap_without_umap_learn_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match="pip install umap-learn"):
        plot.project(rows_of_many_lengths(n=10), "umap")


def test_import_w2v_does_not_import_matplotlib():
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    code = "import sys, w2v, w2v.cli, w2v.demo, w2v.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False"
