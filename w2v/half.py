"""float16 in compiled code: numba has no float16 type, so float32 values are rounded to float16
bits (uint16) here, exactly as numpy's astype(np.float16) rounds them (to nearest, ties to even;
subnormals; overflow to infinity), and float16 bits are read back through a table of all 65,536
values. Used to halve the bytes the Dask backend sends each round, inside the kernels that find
and apply the changes, without numpy's slower conversion passes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# every float16 bit pattern as float32 (256 KB): reading a float16 is one lookup
F16_TO_F32 = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)

INF_BITS = 0x7C00  # exponent bits all set: infinity or NaN


@njit(nogil=True, cache=True)
def f16_bits(x):
    """The float16 bits of float32 bits `x` (an integer), rounded as numpy rounds."""
    x = np.int64(x)
    sign = (x >> 16) & 0x8000
    exp = (x >> 23) & 0xFF
    mant = x & 0x7FFFFF
    if exp == 0xFF:  # infinity, NaN (keeps the payload's top bits, as numpy does)
        if mant == 0:
            return sign | 0x7C00
        h = 0x7C00 | (mant >> 13)
        return sign | (h if h != 0x7C00 else 0x7C01)
    if exp >= 143:  # 2^16 and above: beyond the largest float16
        return sign | 0x7C00
    if exp >= 113:  # a normal float16 (rounding may carry into the exponent, up to infinity)
        h = ((exp - 112) << 10) | (mant >> 13)
        rest = mant & 0x1FFF
        if rest > 0x1000 or (rest == 0x1000 and (h & 1) == 1):
            h += 1
        return sign | h
    if exp >= 102:  # a float16 subnormal, or rounds up to the smallest one
        m = mant | 0x800000
        shift = 126 - exp
        h = m >> shift
        rest = m & ((np.int64(1) << shift) - 1)
        half = np.int64(1) << (shift - 1)
        if rest > half or (rest == half and (h & 1) == 1):
            h += 1
        return sign | h
    return sign  # below half the smallest subnormal: zero, keeping the sign


@njit(nogil=True, cache=True)
def to_f16(values, out):
    """out[i] = the float16 bits of values[i] (1-D float32 -> uint16)."""
    scratch = np.empty(1, dtype=np.float32)
    bits = scratch.view(np.uint32)
    for i in range(values.shape[0]):
        scratch[0] = values[i]
        out[i] = f16_bits(bits[0])
