"""Pictures of a model: the learning curves by epoch and a 2-D map of words.

matplotlib is an optional extra (`pip install 'w2v[plot]'`), imported here only, and only when
a figure is drawn. Figures are `matplotlib.figure.Figure` objects on an Agg canvas, never made
through pyplot: nothing opens a window or changes the user's pyplot backend, and a figure
returned in a notebook still displays.

What a figure draws is computed by plain numpy functions (`training_series`, `epoch_marker`,
`project`, `place_labels`), so tests compare a figure's lines and points with them.
"""
from __future__ import annotations

import logging
import os
from typing import NamedTuple

import numpy as np

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'w2v[plot]'"
METHODS = ("pca", "tsne", "umap")
FORMATS = ("png", "svg", "pdf")
CURVES_SIZE = (1000, 500)   # pixels
MAP_SIZE = (1000, 800)


def available() -> bool:
    """True when matplotlib (the [plot] extra) can be imported."""
    try:
        _matplotlib()
    except ImportError:
        return False
    return True


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"plots need matplotlib: {INSTALL_HINT}") from None
    return Figure, FigureCanvasAgg


def _figure(size, dpi, layout=None):
    """An empty figure of `size` (width, height) pixels on its own Agg canvas."""
    Figure, FigureCanvasAgg = _matplotlib()
    width, height = _checked_size(size)
    if not dpi > 0:
        raise ValueError(f"dpi must be > 0, got {dpi}")
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _checked_size(size):
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height) in pixels, got {size!r}") from None
    if not (50 <= width <= 20000 and 50 <= height <= 20000):
        raise ValueError(f"size must be 50 to 20000 pixels each way, got {width}x{height}")
    return width, height


# ---------------------------------------------------------------- learning curves
class Series(NamedTuple):
    """The curves of `plot_training`, one value per epoch (NaN where an epoch lacks it)."""
    epochs: np.ndarray                 # int64 (n,): 1, 2, ... n, every epoch the model trained
    loss: np.ndarray                   # float64 (n,): training loss per prediction
    holdout_loss: np.ndarray | None    # float64 (n,), or None when no epoch has one
    scores: dict                       # name -> float64 (n,): the evaluation scores, by name


def training_series(epoch_stats) -> Series:
    """The curves in `epoch_stats` (a model's list of per-epoch dicts).

    The training loss of an epoch is its summed loss over its number of predictions (NaN for an
    epoch without predictions: there is nothing to average). "holdout_loss" and the scores of
    "eval" are taken as recorded, for the epochs that have them."""
    n = len(epoch_stats)
    loss = np.full(n, np.nan)
    holdout = np.full(n, np.nan)
    scores: dict = {}
    for i, stats in enumerate(epoch_stats):
        if stats.get("predictions"):
            loss[i] = float(stats["loss"]) / float(stats["predictions"])
        if stats.get("holdout_loss") is not None:
            holdout[i] = float(stats["holdout_loss"])
        for name, value in (stats.get("eval") or {}).items():
            if value is not None:
                scores.setdefault(name, np.full(n, np.nan))[i] = float(value)
    return Series(np.arange(1, n + 1), loss, None if np.isnan(holdout).all() else holdout, scores)


class Marker(NamedTuple):
    """The epoch `plot_training` marks with a vertical line."""
    epoch: int    # on the x axis: 1, 2, ... (epoch_stats index + 1)
    label: str    # "best epoch N" (early stopping's) or "lowest held-out loss: epoch N"
    kept: bool    # True: early stopping's best epoch; False: the held-out loss's lowest, no weights kept


def epoch_marker(series: Series, best_epoch=None) -> Marker | None:
    """The epoch the curves mark, or None.

    best_epoch (an index into epoch_stats, as model.best_epoch: early stopping ran) is marked
    "best epoch N". Without it, a run that recorded a held-out loss at two epochs or more has
    its lowest marked "lowest held-out loss: epoch N" (the first of equal values: the epoch that
    early stopping on the held-out loss would call best), so the picture says whether more
    epochs still helped; the model then holds the last epoch's weights, not that epoch's, and
    the label does not say "best". Nothing is marked for a run without either."""
    n = len(series.epochs)
    if best_epoch is not None:
        if not (isinstance(best_epoch, (int, np.integer)) and not isinstance(best_epoch, bool)
                and 0 <= best_epoch < n):
            raise ValueError(f"best_epoch must be an index into the {n} epochs of epoch_stats, got {best_epoch!r}")
        epoch = int(series.epochs[best_epoch])
        return Marker(epoch, f"best epoch {epoch}", True)
    if series.holdout_loss is None or np.count_nonzero(~np.isnan(series.holdout_loss)) < 2:
        return None
    epoch = int(series.epochs[np.nanargmin(series.holdout_loss)])
    return Marker(epoch, f"lowest held-out loss: epoch {epoch}", False)


def plot_training(epoch_stats, *, best_epoch=None, title=None, size=CURVES_SIZE, dpi=100):
    """A figure of the loss per prediction by epoch (training, and held-out when recorded)
    and, in a second panel, every evaluation score by epoch. Returns a matplotlib Figure.

    best_epoch: early stopping's best epoch, an index into epoch_stats (model.best_epoch);
    a vertical line marks it, or the lowest held-out loss (`epoch_marker`), on every panel
    (in the loss panel's legend)."""
    series = training_series(epoch_stats)
    if not len(series.epochs):
        raise ValueError("no trained epochs to plot: epoch_stats is empty")
    marker = epoch_marker(series, best_epoch)
    from matplotlib.ticker import MaxNLocator

    fig = _figure(size, dpi, layout="constrained")
    axes = fig.subplots(1, 2 if series.scores else 1, squeeze=False)[0]
    ax = axes[0]
    ax.plot(series.epochs, series.loss, marker="o", label="training loss")
    if series.holdout_loss is not None:
        ax.plot(series.epochs, series.holdout_loss, marker="s", label="held-out loss")
    ax.set_ylabel("loss per prediction")
    ax.set_title("loss")
    if series.scores:
        for name, values in series.scores.items():
            axes[1].plot(series.epochs, values, marker="o", label=name)
        axes[1].set_ylabel("score")
        axes[1].set_title("evaluation")
    if marker is not None:
        for k, a in enumerate(axes):  # "_..." labels stay out of a legend
            a.axvline(marker.epoch, color="0.3", linestyle="--" if marker.kept else ":", linewidth=1.2, zorder=1,
                      label=marker.label if k == 0 else "_" + marker.label)
    for a in axes:
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.grid(True, alpha=0.3)
        a.legend()
    if title:
        fig.suptitle(title)
    return fig


# ---------------------------------------------------------------- map of words
def project(vectors, method="pca", *, normalize=True, seed=1):
    """2-D coordinates of the rows of `vectors` (n, d): float64 (n, 2), and the fraction of
    the variance each axis explains (PCA; None for the others).

    normalize=True (default) projects the unit vectors, the geometry that cosine similarity and
    most_similar see, so a frequent word's long vector does not pull it out of its neighbours.
    PCA: the two principal axes of the centred rows, each signed so that its largest loading is
    positive (the picture does not flip between runs). "tsne" (scikit-learn) and "umap"
    (umap-learn) use the cosine metric and `seed`."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"a map needs at least 2 vectors, got an array of shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("cannot map vectors with NaN or infinite values")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if normalize:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1.0)
    if method == "pca":
        centred = x - x.mean(axis=0)
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        axes = vt[:2]
        flip = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
        axes = axes * np.where(flip == 0, 1.0, flip)[:, None]
        coords = centred @ axes.T
        variance = s ** 2
        ratio = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(len(axes))
        if coords.shape[1] < 2:  # vectors of one dimension: a line
            coords = np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]))])
            ratio = np.append(ratio, 0.0)
        return coords, ratio
    if method == "tsne":
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            raise ImportError("the t-SNE map needs scikit-learn: pip install scikit-learn") from None
        perplexity = float(min(30.0, max(1.0, (len(x) - 1) / 3)))
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", metric="cosine", random_state=seed)
        return np.asarray(tsne.fit_transform(x), dtype=np.float64), None
    try:
        import umap
    except ImportError:
        raise ImportError("the UMAP map needs umap-learn: pip install umap-learn") from None
    reducer = umap.UMAP(n_components=2, n_neighbors=max(2, min(15, len(x) - 1)), metric="cosine",
                        random_state=seed)
    return np.asarray(reducer.fit_transform(x), dtype=np.float64), None


def _label_candidates(size, gap, rows, columns):
    """Lower-left corners (k, 2) of candidate boxes of `size` (w, h) around a point at (0, 0),
    nearest first: beside the point, then stacked above and below it on the left, centre and
    right, then farther out."""
    w, h = size
    spots = []
    near_first = lambda k: [0] + [i * sign for i in range(1, k + 1) for sign in (1, -1)]  # 0, 1, -1, 2, ...
    for row in near_first(rows):
        y = row * (h + gap) - h / 2
        for col in near_first(columns)[1:3] + [0] + near_first(columns)[3:]:  # right, left, centre, farther
            if col == 0 and row == 0:
                continue  # over the point itself
            x = -w / 2 if col == 0 else (gap + (abs(col) - 1) * (w + gap)) * (1 if col > 0 else -1) - (w if col < 0 else 0)
            spots.append((x, y))
    spots = np.array(spots)
    # distance from the point to the nearest edge of each box; ties keep the order above
    dx = np.maximum(np.maximum(spots[:, 0], -(spots[:, 0] + w)), 0.0)
    dy = np.maximum(np.maximum(spots[:, 1], -(spots[:, 1] + h)), 0.0)
    return spots[np.argsort(np.hypot(dx, dy), kind="stable")]


def _overlap(boxes, others):
    """Area of intersection of each box (k, 4) with each of others (m, 4): (k, m). Boxes are
    x0, y0, x1, y1."""
    w = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(boxes[:, None, 0], others[None, :, 0])
    h = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(boxes[:, None, 1], others[None, :, 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def place_labels(anchors, sizes, bounds, *, marker=6.0, gap=3.0, rows=6, columns=2):
    """Where to put each point's label so that labels cover neither each other nor the points.

    anchors: float (n, 2), the points in pixels; sizes: float (n, 2), each label's (width,
    height) in pixels; bounds: (x0, y0, x1, y1), the area labels must stay inside; marker: the
    side in pixels of the square each point covers. Returns float64 (n, 2): each label's
    lower-left corner relative to its point.

    Greedy, in the given order (put the words that matter most first): each label takes the
    nearest of its candidate spots (`_label_candidates`) that overlaps no label placed before
    it, no other point and nothing outside `bounds`; where every spot is taken, the one that
    overlaps least."""
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    sizes = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    n = len(anchors)
    x0, y0, x1, y1 = (float(b) for b in bounds)
    half = marker / 2
    points = np.hstack([anchors - half, anchors + half])
    placed = np.empty((n, 4))
    offsets = np.zeros((n, 2))

    def area_out(b):
        inside = (np.clip(np.minimum(b[:, 2], x1) - np.maximum(b[:, 0], x0), 0, None)
                  * np.clip(np.minimum(b[:, 3], y1) - np.maximum(b[:, 1], y0), 0, None))
        return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inside

    for i in range(n):
        w, h = sizes[i]
        spots = _label_candidates((w, h), gap + half, rows, columns)
        corners = anchors[i] + spots
        boxes = np.hstack([corners, corners + (w, h)])
        cost = area_out(boxes) * 10.0  # a label cut off by the edge is worse than one half-covered
        if i:
            cost += _overlap(boxes, placed[:i]).sum(axis=1)
        others = np.delete(points, i, axis=0)
        if len(others):
            cost += _overlap(boxes, others).sum(axis=1)
        free = np.flatnonzero(cost <= 1e-9)
        best = free[0] if len(free) else int(np.argmin(cost))
        offsets[i] = spots[best]
        placed[i] = boxes[best]
    return offsets


def plot_map(vectors, words, *, method="pca", normalize=True, seed=1, groups=None, spread_labels=True,
             title=None, size=MAP_SIZE, dpi=100):
    """A 2-D map of words: the rows of `vectors` (n, d) projected by `project`, a point and a
    label per word. groups (optional, n names) colours the points by group, with a legend.
    spread_labels=True moves labels apart (`place_labels`); False puts each beside its point.
    Returns a matplotlib Figure; its scatter's offsets are the projected coordinates."""
    words = [str(w) for w in words]
    vectors = np.asarray(vectors)
    if len(words) != len(vectors):
        raise ValueError(f"{len(words)} words for {len(vectors)} vectors")
    if groups is not None and len(groups) != len(words):
        raise ValueError(f"{len(groups)} groups for {len(words)} words")
    coords, ratio = project(vectors, method, normalize=normalize, seed=seed)
    fig = _figure(size, dpi)
    ax = fig.add_axes((0.07, 0.07, 0.9, 0.86))
    if groups is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=16, color="tab:blue", zorder=2)
    else:
        names = list(dict.fromkeys(groups))
        colours = {g: f"C{k % 10}" for k, g in enumerate(names)}
        ax.scatter(coords[:, 0], coords[:, 1], s=16, color=[colours[g] for g in groups], zorder=2)
        for g in names:  # legend entries only
            ax.scatter([], [], s=16, color=colours[g], label=str(g))
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    ax.set_xlim(lo[0] - 0.12 * span[0], hi[0] + 0.12 * span[0])
    ax.set_ylim(lo[1] - 0.06 * span[1], hi[1] + 0.06 * span[1])
    if method == "pca":
        ax.set_xlabel(f"PC1 ({100 * ratio[0]:.1f}% of the variance)")
        ax.set_ylabel(f"PC2 ({100 * ratio[1]:.1f}% of the variance)")
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    what = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}[method]
    ax.set_title(title or f"{what} of {len(words)} word vectors" + (" (unit length)" if normalize else ""))
    _draw_labels(fig, ax, coords, words, spread_labels)
    return fig


def _draw_labels(fig, ax, coords, words, spread):
    renderer = fig.canvas.get_renderer()
    anchors = ax.transData.transform(coords)
    fontsize = 8
    sizes = np.zeros((len(words), 2))
    for i, word in enumerate(words):  # each label's size in pixels, from a throwaway text
        t = ax.text(0, 0, word, fontsize=fontsize)
        box = t.get_window_extent(renderer)
        sizes[i] = box.width, box.height
        t.remove()
    px = fig.dpi / 72.0
    if spread:
        b = ax.get_window_extent(renderer)
        offsets = place_labels(anchors, sizes, (b.x0, b.y0, b.x1, b.y1), marker=4.5 * px, gap=1.5 * px)
    else:
        offsets = np.tile([3.0 * px, -0.5 * sizes[:, 1].mean()], (len(words), 1))
    for (x, y), (dx, dy), (w, h), word in zip(coords, offsets, sizes, words):
        # a label that had to move away from its point gets a thin line back to it
        far = max(dx, -(dx + w), 0.0) ** 2 + max(dy, -(dy + h), 0.0) ** 2 > (h * 1.2) ** 2
        ax.annotate(word, (x, y), xytext=(dx / px, dy / px), textcoords="offset points", fontsize=fontsize,
                    ha="left", va="bottom", zorder=3,
                    arrowprops=dict(arrowstyle="-", color="0.6", lw=0.5, shrinkA=0, shrinkB=2) if far else None)


# ---------------------------------------------------------------- files
def save_figure(fig, path, format=None):
    """Write `fig` to `path` atomically, at the figure's size in pixels. format: png, svg or
    pdf; None: from the name's extension."""
    from .formats import atomic_output

    path = os.fspath(path)
    fmt = format or os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the picture format from {path!r}: use a .png, .svg or .pdf name")
    with atomic_output(path, "wb") as f:
        fig.savefig(f, format=fmt, dpi=fig.dpi)
    return path
