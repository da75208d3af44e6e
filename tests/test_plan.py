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


def _bounds(n_sentences=3000, seed=0):
    lengths = np.random.default_rng(seed).integers(1, 60, size=n_sentences)
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_unit_learning_rate_follows_the_linear_schedule_over_the_call(shuffle):
    bounds = _bounds()
    n = int(bounds[-1])
    p = plan.Plan(bounds, epochs=3, start_alpha=0.05, end_alpha=0.001, seed=7, shuffle=shuffle, unit_words=4000)
    done = 0
    for e in range(3):
        units = p.units(e)
        assert sum(u.n_words for u in units) == n and [u.index for u in units] == list(range(len(units)))
        for u in units:
            assert u.epoch == e and u.words_before == done - e * n
            # the schedule, written out independently: alpha falls linearly in words over all epochs
            assert u.lr0 == pytest.approx(0.05 - 0.049 * done / (3 * n), rel=1e-12)
            done += u.n_words
            assert u.lr1 == pytest.approx(0.05 - 0.049 * done / (3 * n), rel=1e-12)
            assert u.lr1 < u.lr0
    assert p.units(0)[0].lr0 == 0.05 and p.units(2)[-1].lr1 == pytest.approx(0.001, rel=1e-12)


def test_units_have_their_own_streams_and_later_calls_draw_new_ones():
    bounds = _bounds()
    first = plan.Plan(bounds, epochs=2, start_alpha=0.025, end_alpha=0.0001, seed=3, unit_words=4000)
    second = plan.Plan(bounds, epochs=2, start_alpha=0.025, end_alpha=0.0001, seed=3, unit_words=4000,
                       first_epoch=2)
    units = [u for p in (first, second) for e in range(2) for u in p.units(e)]
    seeds = [u.seed for u in units]
    assert len(set(seeds)) == len(seeds)  # no two units of any epoch of either call share a stream
    assert [u.epoch for u in second.units(0)][0] == 2
    orders = [np.concatenate([u.sents for u in p.units(e)]) for p in (first, second) for e in range(2)]
    for i in range(4):
        for j in range(i):
            assert not np.array_equal(orders[i], orders[j])
    # the same plan twice gives the same units: a run can be rebuilt and resumed
    again = plan.Plan(bounds, epochs=2, start_alpha=0.025, end_alpha=0.0001, seed=3, unit_words=4000,
                      first_epoch=2)
    for a, b in zip(second.units(1), again.units(1)):
        assert a.seed == b.seed and a.lr0 == b.lr0 and np.array_equal(a.sents, b.sents)


def test_unit_seeds_are_well_mixed():
    """Neighbouring (epoch, unit) numbers must not give related seeds: each bit is set about half
    the time over a grid of them."""
    seeds = np.array([plan.unit_seed(1, e, k) for e in range(40) for k in range(50)], dtype=np.uint64)
    bits = ((seeds[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(float)
    freq = bits.mean(0)
    assert np.all(np.abs(freq - 0.5) < 5 * 0.5 / np.sqrt(len(seeds))), freq


def test_max_parallel_units_is_the_file_order_unit_count():
    bounds = _bounds(400)
    p = plan.Plan(bounds, epochs=1, start_alpha=0.025, end_alpha=0.0001, seed=1, shuffle=False, unit_words=4000)
    assert p.max_parallel_units() == len(p.units(0)) > 1
    one = plan.Plan(bounds[:3], epochs=1, start_alpha=0.025, end_alpha=0.0001, seed=1)
    assert one.max_parallel_units() == 1 == len(one.units(0))


@pytest.mark.parametrize("shuffle", [False, True])
def test_held_out_sentences_and_blocks_are_in_no_unit_and_out_of_the_schedule(shuffle):
    bounds = _bounds()
    sizes = np.diff(bounds)
    held = np.array([3, 17, 500, 2999], dtype=np.int64)
    n = int(bounds[-1] - sizes[held].sum())
    p = plan.Plan(bounds, epochs=2, start_alpha=0.05, end_alpha=0.001, seed=7, shuffle=shuffle, unit_words=4000,
                  held_out=held)
    assert p.n_words == n and p.total_words == 2 * n
    rest = np.setdiff1d(np.arange(len(sizes)), held)
    for e in range(2):
        units = p.units(e)
        seen = np.concatenate([u.sents for u in units])
        assert np.array_equal(np.sort(seen), rest)  # every other sentence, once
        assert sum(u.n_words for u in units) == n
    assert p.units(1)[-1].lr1 == pytest.approx(0.001, rel=1e-12)  # the schedule ends on the words trained
    blocks = np.full(40, 1000, dtype=np.int64)
    q = plan.Plan(block_words=blocks, blocks_per_unit=5, epochs=1, start_alpha=0.05, end_alpha=0.001, seed=7,
                  shuffle=shuffle, held_out=np.array([0, 39]))
    units = q.units(0)
    assert np.array_equal(np.sort(np.concatenate([u.blocks for u in units])), np.arange(1, 39))
    assert q.n_words == 38_000 and sum(u.n_words for u in units) == 38_000
