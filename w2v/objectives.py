r"""The math of word2vec in plain numpy: losses and exact gradients, the reference for the kernels.

Notation: v = v_c is the vector that predicts (a center word's input vector in skip-gram, the
mean of the context input vectors in CBOW), d its size; U (V x d) holds the output vectors u_w;
sigma(x) = 1 / (1 + e^-x). Two identities do most of the work:

    sigma'(x) = sigma(x) (1 - sigma(x)),      d/dx log sigma(x) = 1 - sigma(x),
    sigma(-x) = 1 - sigma(x).

**Naive softmax.** Scores s = U v, y_hat = softmax(s), y the one-hot vector of the word o.
L = -log y_hat_o = -s_o + log sum_w exp(s_w). Then dL/ds_w = y_hat_w - [w = o], i.e.
dL/ds = y_hat - y; since s_w = u_w . v, the chain rule gives

    dL/dv = U^T (y_hat - y),        dL/dU = (y_hat - y) v^T.

**Negative sampling.** With K words k_1..k_K drawn from the noise distribution,
L = -log sigma(u_o . v) - sum_k log sigma(-u_k . v). By the identities,
d/dv[-log sigma(u . v)] = -(1 - sigma(u . v)) u and d/dv[-log sigma(-u . v)] = sigma(u . v) u, so

    dL/dv   = (sigma(u_o . v) - 1) u_o + sum_k sigma(u_k . v) u_k,
    dL/du_o = (sigma(u_o . v) - 1) v,     dL/du_k = sigma(u_k . v) v   (summed if k repeats).

In the form the kernels use: with label t = 1 for o and 0 for each k, every term is
g = t - sigma(u . v), and dL/dv = -sum g u, dL/du = -g v.

**Hierarchical softmax.** A word's leaf is reached from the root of a Huffman tree through
inner nodes n_1..n_L, taking branch c_j in {0, 1} at node n_j. Each inner node is a binary
classifier theta_n; word2vec.c's convention: code 0 means label 1, so the probability of the
branch taken is sigma((1 - 2 c_j) theta_j . v) and P(word) is their product. Then

    L = -sum_j log sigma((1 - 2 c_j) theta_j . v),
    dL/dv = -sum_j (1 - c_j - sigma(theta_j . v)) theta_j,   dL/dtheta_j = -(1 - c_j - sigma(theta_j . v)) v,

the negative-sampling formula with label 1 - c_j (word2vec.c: g = (1 - code - f) * alpha).
The leaf probabilities of any tree sum to 1, because sigma(x) + sigma(-x) = 1 at every node.

**Skip-gram** sums the pair loss of the center word against each outside word in the window:
L = sum_o L(v_c, o), so dL/dv_c is the sum of the pair gradients and the output gradients add up.

**CBOW** predicts the center word from h = (1/n) sum_i v_{w_i} over the n context words (or
the sum, mean=False). By the chain rule dL/dv_{w_i} = (1/n) dL/dh for the mean (dL/dh for the
sum), once per occurrence. word2vec.c and gensim add the full dL/dh to every context row for
the mean, an input learning rate n times larger: w2v's kernels do the same (docs/compat.md);
`cbow` below is the true gradient.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "softmax", "naive_softmax_loss_and_gradient", "neg_sampling_loss_and_gradient",
           "hierarchical_softmax_loss_and_gradient", "hs_pair_loss", "skipgram", "cbow", "hs_sentence_score",
           "gradcheck"]


def sigmoid(x):
    """1 / (1 + exp(-x)), elementwise, without overflow for large |x|."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


def softmax(x):
    """Softmax along the last axis (1-D or 2-D), stable: the max is subtracted first."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def naive_softmax_loss_and_gradient(center_vec, outside_idx, outside_vectors):
    """Full softmax: loss = -log softmax(U v)[o]; returns (loss, dL/dv, dL/dU)."""
    scores = outside_vectors @ center_vec                 # (V,)
    shifted = scores - scores.max()
    log_z = np.log(np.exp(shifted).sum())
    loss = log_z - shifted[outside_idx]
    delta = np.exp(shifted - log_z)                       # y_hat
    delta[outside_idx] -= 1.0                             # y_hat - y
    return loss, outside_vectors.T @ delta, np.outer(delta, center_vec)


def neg_sampling_loss_and_gradient(center_vec, outside_idx, outside_vectors, negative_indices):
    """Negative sampling: loss = -log sigma(u_o . v) - sum_k log sigma(-u_k . v).

    negative_indices: K row indices; a repeated index counts once per occurrence.
    Returns (loss, dL/dv, dL/dU) with dL/dU of U's full shape.
    """
    negative_indices = np.asarray(negative_indices, dtype=np.int64)
    rows = np.concatenate([[outside_idx], negative_indices])
    labels = np.zeros(len(rows))
    labels[0] = 1.0
    scores = outside_vectors[rows] @ center_vec
    signs = 2.0 * labels - 1.0                            # +1 for o, -1 for negatives
    loss = -_log_sigmoid(signs * scores).sum()
    g = labels - sigmoid(scores)                          # -dL/dscore
    grad_center = -(g @ outside_vectors[rows])
    grad_outside = np.zeros_like(outside_vectors, dtype=np.float64)
    np.add.at(grad_outside, rows, -np.outer(g, center_vec))
    return loss, grad_center, grad_outside


def hierarchical_softmax_loss_and_gradient(center_vec, path_nodes, path_codes, inner_vectors):
    """Hierarchical softmax: loss = -sum_j log sigma((1 - 2 c_j) theta_{n_j} . v).

    path_nodes: inner-node row indices from the root; path_codes: the branch taken at each,
    word2vec.c's convention (code 0 means label 1). Returns (loss, dL/dv, dL/dTheta).
    """
    nodes = np.asarray(path_nodes, dtype=np.int64)
    codes = np.asarray(path_codes, dtype=np.float64)
    scores = inner_vectors[nodes] @ center_vec
    loss = -_log_sigmoid((1.0 - 2.0 * codes) * scores).sum()
    g = (1.0 - codes) - sigmoid(scores)                   # -dL/dscore, label 1 - code
    grad_inner = np.zeros_like(inner_vectors, dtype=np.float64)
    np.add.at(grad_inner, nodes, -np.outer(g, center_vec))
    return loss, -(g @ inner_vectors[nodes]), grad_inner


def hs_pair_loss(paths, max_exp=None):
    """Adapt hierarchical softmax to the pair signature (center_vec, outside_idx, outside_vectors).

    paths: maps a word index to (path_nodes, path_codes); outside_vectors are the inner nodes.
    max_exp: leave out the nodes whose score theta . v is beyond +-max_exp (gensim's score does).
    """
    def loss_and_gradient(center_vec, outside_idx, outside_vectors):
        nodes, codes = (np.asarray(x) for x in paths[outside_idx])
        if max_exp is not None:
            keep = np.abs(outside_vectors[nodes] @ center_vec) < max_exp
            nodes, codes = nodes[keep], codes[keep]
        return hierarchical_softmax_loss_and_gradient(center_vec, nodes, codes, outside_vectors)
    return loss_and_gradient


def _pair_kwargs(kwargs, m):
    """The keyword arguments of the m-th pair: per-pair lists are indexed, the rest passed on.

    Negative sampling takes `negative_indices` as one index array per outside word (a list of
    arrays, or a 2-D array); a 1-D array of ints is shared by every pair.
    """
    out = {}
    for k, val in kwargs.items():
        if k == "negative_indices":
            arr = val if isinstance(val, list) else np.asarray(val)
            per_pair = isinstance(val, list) and len(val) and np.ndim(val[0]) == 1 or np.ndim(arr) == 2
            out[k] = np.asarray(val[m]) if per_pair else np.asarray(val)
        else:
            out[k] = val
    return out


def skipgram(center_word, window_size, outside_words, word2ind, center_vectors, outside_vectors,
             loss_and_gradient, **kwargs):
    """Skip-gram loss of one window: sum over outside words o of loss_and_gradient(v_c, o, U).

    window_size is informational: outside_words is the window already cut. loss_and_gradient
    has the pair signature (center_vec, outside_idx, outside_vectors, **kw) -> (loss, dv, dU);
    for hierarchical softmax pass hs_pair_loss(paths) and the inner-node matrix as
    outside_vectors. Per-pair keyword arguments: see _pair_kwargs.
    Returns (loss, dL/dcenter_vectors, dL/doutside_vectors), full shapes.
    """
    c = word2ind[center_word]
    v = center_vectors[c]
    loss = 0.0
    grad_center = np.zeros_like(center_vectors, dtype=np.float64)
    grad_outside = np.zeros_like(outside_vectors, dtype=np.float64)
    for m, word in enumerate(outside_words):
        pair_loss, g_v, g_out = loss_and_gradient(v, word2ind[word], outside_vectors, **_pair_kwargs(kwargs, m))
        loss += pair_loss
        grad_center[c] += g_v
        grad_outside += g_out
    return loss, grad_center, grad_outside


def cbow(center_word, window_size, outside_words, word2ind, center_vectors, outside_vectors,
         loss_and_gradient, mean=True, **kwargs):
    """CBOW loss of one window: h = mean (or sum) of the outside words' input vectors predicts
    the center word through loss_and_gradient (the pair signature of `skipgram`).

    Returns (loss, dL/dcenter_vectors, dL/doutside_vectors): the true gradient, dL/dh / n to
    each context row for the mean (dL/dh for the sum), once per occurrence.
    """
    idx = np.array([word2ind[w] for w in outside_words], dtype=np.int64)
    scale = 1.0 / len(idx) if mean else 1.0
    hidden = center_vectors[idx].sum(axis=0) * scale
    loss, g_h, grad_outside = loss_and_gradient(hidden, word2ind[center_word], outside_vectors,
                                                **_pair_kwargs(kwargs, 0))
    grad_center = np.zeros_like(center_vectors, dtype=np.float64)
    np.add.at(grad_center, idx, np.broadcast_to(g_h * scale, (len(idx), len(g_h))))
    return loss, grad_center, grad_outside


def hs_sentence_score(sentence, word2ind, center_vectors, inner_vectors, paths, window, sg=True, mean=True,
                      max_exp=6.0):
    """gensim's Word2Vec.score of one sentence (a list of known words): minus the hierarchical-softmax
    loss of every word predicted from its full window (no reduced window, no subsampling), the
    nodes scored beyond +-max_exp left out. Skip-gram: gensim predicts word i from each context
    word's vector; `skipgram` predicts the context from word i's, the same pairs the other way
    round (the window is symmetric), so the sum is the same. CBOW: from the mean (or sum) of the
    context vectors, a zero vector for a word with no context."""
    loss_fn = hs_pair_loss(paths, max_exp)
    total = 0.0
    for i, word in enumerate(sentence):
        outside = sentence[max(i - window, 0): i] + sentence[i + 1: i + window + 1]
        if sg:
            total += skipgram(word, window, outside, word2ind, center_vectors, inner_vectors, loss_fn)[0]
        elif outside:
            total += cbow(word, window, outside, word2ind, center_vectors, inner_vectors, loss_fn, mean=mean)[0]
        else:
            total += loss_fn(np.zeros(center_vectors.shape[1]), word2ind[word], inner_vectors)[0]
    return -total


def gradcheck(f, x, eps=1e-4, rtol=1e-5, atol=1e-7, n_coords=None, seed=0):
    """Check f(x) -> (loss, grad) against central differences, in place on x (restored).

    Checks every coordinate, or a random subset of n_coords (200 when x has more than 200).
    A coordinate passes when |numeric - analytic| <= atol + rtol * max(|numeric|, |analytic|);
    atol absorbs the rounding of near-zero gradients. Raises AssertionError naming the worst
    coordinate. Use float64 x: float32 differences are too coarse for rtol 1e-5.
    """
    x = np.asarray(x)
    _, grad = f(x)
    grad = np.asarray(grad, dtype=np.float64)
    if grad.shape != x.shape:
        raise AssertionError(f"gradient shape {grad.shape} differs from x's {x.shape}")
    size = x.size
    if n_coords is None and size > 200:
        n_coords = 200
    coords = np.arange(size) if n_coords is None or n_coords >= size else \
        np.random.default_rng(seed).choice(size, n_coords, replace=False)
    flat = x.reshape(-1)
    worst = (0.0, None, 0.0, 0.0)
    for i in coords:
        old = flat[i]
        flat[i] = old + eps
        up = f(x)[0]
        flat[i] = old - eps
        down = f(x)[0]
        flat[i] = old
        numeric = (up - down) / (2 * eps)
        analytic = grad.reshape(-1)[i]
        excess = abs(numeric - analytic) - (atol + rtol * max(abs(numeric), abs(analytic)))
        if worst[1] is None or excess > worst[0]:
            worst = (excess, i, numeric, analytic)
    excess, i, numeric, analytic = worst
    if excess > 0:
        where = tuple(int(k) for k in np.unravel_index(i, x.shape))
        raise AssertionError(f"gradient check failed at coordinate {where}: "
                             f"numeric {numeric:.10g}, analytic {analytic:.10g}")
    return True
