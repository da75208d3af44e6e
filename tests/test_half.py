"""The compiled float32 -> float16 rounding must give numpy's bits for every input: the Dask
backend's driver and replicas each round the same change and must agree bit for bit."""
import numpy as np
import pytest

from w2v import half


def _numpy_bits(x):
    return x.astype(np.float16).view(np.uint16)


def _ours(x):
    out = np.empty(x.shape[0], dtype=np.uint16)
    half.to_f16(x, out)
    return out


def test_every_float16_and_the_midpoints_between_neighbours_round_as_numpy():
    """All 65,536 float16 values, and every float32 halfway between two neighbouring float16s
    and one ulp either side (ties to even, carries into the exponent, the subnormals, the step
    to infinity)."""
    h = np.arange(65536, dtype=np.uint16).view(np.float16)
    finite = h[np.isfinite(h)].astype(np.float32)
    finite = np.unique(finite)
    mid = ((finite[:-1].astype(np.float64) + finite[1:]) / 2).astype(np.float32)
    x = np.concatenate([h.astype(np.float32), mid, np.nextafter(mid, np.float32(np.inf)),
                        np.nextafter(mid, np.float32(-np.inf)),
                        np.float32([65504, 65519.99, 65520, 65536, 1e6, 3e38, np.inf, -np.inf, 0.0, -0.0,
                                    2 ** -25, 2 ** -25 * 1.0000001, 2 ** -26, 1e-45, -1e-45])])
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(_ours(x), _numpy_bits(x))


def test_random_float32_of_every_exponent_round_as_numpy():
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2 ** 32, size=2_000_000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = x[~np.isnan(x)]
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(_ours(x), _numpy_bits(x))


def test_nan_stays_nan():
    out = _ours(np.float32([np.nan, -np.nan]))
    assert np.isnan(out.view(np.float16)).all()


@pytest.mark.parametrize("value", [0.1, -3.75, 1e-6, 60000.0])
def test_the_table_reads_float16_bits_back(value):
    b = _numpy_bits(np.float32([value]))
    assert half.F16_TO_F32[b[0]] == np.float32(np.float16(value))
