"""The plan: the sentence order of each epoch, its cut into units, and each unit's learning rate and seed."""
import numpy as np
import pytest

from w2v import plan


def test_sentence_order_is_a_seeded_permutation_per_epoch():
    fixed = plan.sentence_order(1000, seed=3, epoch=0, shuffle=False)
    assert np.array_equal(fixed, np.arange(1000))
    a0 = plan.sentence_order(1000, seed=3, epoch=0, shuffle=True)
    assert a0.dtype == np.int64 and np.array_equal(np.sort(a0), np.arange(1000))
    assert not np.array_equal(a0, fixed)
    assert np.array_equal(a0, plan.sentence_order(1000, seed=3, epoch=0, shuffle=True))  # reproducible
    assert not np.array_equal(a0, plan.sentence_order(1000, seed=3, epoch=1, shuffle=True))  # new each epoch
    assert not np.array_equal(a0, plan.sentence_order(1000, seed=4, epoch=0, shuffle=True))


@pytest.mark.parametrize("shuffle", [False, True])
def test_epoch_units_cover_every_sentence_once_in_order(shuffle):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, size=2000)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    order = plan.sentence_order(len(lengths), seed=1, epoch=2, shuffle=shuffle)
    starts, words_before = plan.epoch_units(bounds, order, unit_words=5000)
    assert starts[0] == 0 and starts[-1] == len(order) and np.all(np.diff(starts) > 0)
    seen = np.concatenate([order[starts[k]:starts[k + 1]] for k in range(len(starts) - 1)])
    assert np.array_equal(seen, order)  # every sentence once, in the epoch's order
    sizes = np.array([lengths[order[starts[k]:starts[k + 1]]].sum() for k in range(len(starts) - 1)])
    assert np.array_equal(words_before, np.concatenate([[0], np.cumsum(sizes)]))  # what the rate follows
    assert words_before[-1] == bounds[-1]
    assert sizes[:-1].min() >= 5000 - 300 and sizes.max() <= 5000 + 300  # about unit_words each
