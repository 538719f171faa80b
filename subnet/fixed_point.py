"""subtensor's fixed-point arithmetic on whole numpy arrays (I32F32 bits held in int64).

A value ``x`` of type I32F32 is the integer ``bits = x * 2**32``; every function here takes and
returns such bit arrays and reproduces the ``substrate_fixed`` operation named in its doc
(``encointer/substrate-fixed`` v0.6.0, the crate subtensor pins; reference ``docs/yuma.md``
2.13):

- multiplication widens to 128 bits and shifts right arithmetically: ``floor(a * b / 2**32)``
  (``arith.rs : mul_div_widen``, ``mul_overflow``);
- division widens the dividend and divides integers: ``trunc(a * 2**32 / b)``
  (``div_overflow``); subtensor's ``safe_div`` gives 0 for a zero divisor;
- narrowing (I64F64 -> I32F32, fixed -> integer) drops bits, i.e. floors.

128-bit intermediates never exist here: products are split into 32-bit halves (each partial
product fits in uint64) and quotients are computed by long division a few bits at a time, so
every result is the exact integer the chain computes, vectorised over the whole array. Values
whose products exceed int64 (|x| >= 2**31 times a proportion) do not occur in an epoch.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "FRAC_BITS", "ONE", "HALF", "U16_MAX", "div", "exp", "fixed_proportion_to_u16",
    "from_int", "mul", "normalize_last", "narrow_ratio", "u16_proportion", "to_float",
]

FRAC_BITS = 32
ONE = 1 << FRAC_BITS
HALF = 1 << (FRAC_BITS - 1)
U16_MAX = 65535
_LOW32 = np.uint64((1 << 32) - 1)
_SHIFT32 = np.uint64(32)
# substrate_fixed consts.rs : E is U2F126; transcendental.rs narrows it to I9F23 (>> 103), and
# exp returns it widened to I32F32 (<< 9) for an argument of exactly 1.
_E_I9F23_BITS = 0xADF8_5458_A2BB_4A9A_AFDC_5620_273D_3CF1 >> 103
E_BITS = _E_I9F23_BITS << (FRAC_BITS - 23)


def from_int(values: np.ndarray | int) -> np.ndarray:
    """``I32F32::saturating_from_num`` of integers (u16 weights, bonds): ``x << 32``."""
    return np.asarray(values, dtype=np.int64) << FRAC_BITS


def to_float(bits: np.ndarray) -> np.ndarray:
    """The float64 value of I32F32 bits (exact for |x| < 2**21)."""
    return np.asarray(bits, dtype=np.float64) / ONE


def mul(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """``I32F32 * I32F32`` (saturating_mul / checked_mul without overflow): floor(a b / 2**32).

    Both magnitudes are split in 32-bit halves; ``a b >> 32`` is then
    ``ah bh << 32 + ah bl + al bh + (al bl >> 32)``, with the discarded low 32 bits deciding the
    floor of a negative product.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if _fits_unsigned_product(a, b):  # the common case: proportions, product below 2**64
        # Non-negative int64 reinterpreted as uint64 (a view, no copy); the shift in place.
        product = np.multiply(a.view(np.uint64), b.view(np.uint64))
        product >>= _SHIFT32
        return product.view(np.int64)
    negative = (a < 0) ^ (b < 0)
    ua = np.abs(a).astype(np.uint64)
    ub = np.abs(b).astype(np.uint64)
    ah, al = ua >> _SHIFT32, ua & _LOW32
    bh, bl = ub >> _SHIFT32, ub & _LOW32
    low = al * bl
    quotient = ((ah * bh) << _SHIFT32) + ah * bl + al * bh + (low >> _SHIFT32)
    inexact = (low & _LOW32) != 0
    signed = quotient.astype(np.int64)
    return np.where(negative, -signed - inexact, signed)


def _fits_unsigned_product(a: np.ndarray, b: np.ndarray) -> bool:
    """Both non-negative and max(a) * max(b) < 2**64: one uint64 product is exact."""
    if not a.size or not b.size:
        return True
    low_a, low_b = int(a.min()), int(b.min())
    return low_a >= 0 and low_b >= 0 and int(a.max()) * int(b.max()) < 1 << 64


def _divide_non_negative(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """floor(a 2**32 / b) for a >= 0, b > 0 without integer division: a float64 estimate
    (relative error below 2**-51, so off by at most one while the quotient stays below 2**50),
    corrected with the exact remainder a 2**32 - q b, computed modulo 2**64 (it lies in
    (-2b, 2b), so its int64 reading is exact for b < 2**61). None when out of that range.

    Written with in-place operations on two full-size buffers: at 64 x 256 the temporaries,
    not the arithmetic, were the cost."""
    if int(b.max()) >= 1 << 61:
        return None
    # 2**32 / b once per divisor (a row or column sum is shared by the whole row or column);
    # three roundings keep the estimate within 0.4 of the quotient below 2**50.
    a = np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape))  # the quotient's shape
    estimate = a.astype(np.float64)
    estimate *= float(ONE) / b.astype(np.float64)
    if estimate.size and estimate.max() >= 2.0**50:
        return None
    quotient = estimate.astype(np.int64)  # truncation: the floor of a non-negative estimate
    with np.errstate(over="ignore"):
        product = np.multiply(quotient, b, out=estimate.view(np.int64))
        remainder = a << FRAC_BITS
        remainder -= product
    quotient -= remainder < 0
    quotient += remainder >= b
    return quotient


def mul_non_negative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``mul`` for operands known to be >= 0 (no sign handling): the 32-bit split only."""
    ua, ub = a.astype(np.uint64), b.astype(np.uint64)
    ah, al = ua >> _SHIFT32, ua & _LOW32
    bh, bl = ub >> _SHIFT32, ub & _LOW32
    low = (al * bl) >> _SHIFT32
    return (((ah * bh) << _SHIFT32) + ah * bl + al * bh + low).astype(np.int64)


def div(a: np.ndarray | int, b: np.ndarray | int, saturate: bool = False) -> np.ndarray:
    """``I32F32 / I32F32``: trunc(a 2**32 / b); 0 where b == 0 (subtensor ``safe_div``).

    On overflow (|quotient| >= 2**31) ``safe_div``/``checked_div`` give 0 and
    ``saturating_div`` the extreme value (``saturate=True``). The 32 fraction bits are found by
    long division in steps small enough that the shifted remainder fits in uint64.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    zero = b == 0
    if a.size and b.size and int(a.min()) >= 0 and int(b.min()) >= 0:
        any_zero = bool(zero.any())
        fast = _divide_non_negative(a, np.where(zero, 1, b) if any_zero else b)
        if fast is not None:
            return np.where(zero, 0, fast) if any_zero else fast
    negative = (a < 0) ^ (b < 0)
    ua = np.abs(a).astype(np.uint64)
    ub = np.where(zero, 1, np.abs(b)).astype(np.uint64)
    quotient, remainder = ua // ub, ua % ub
    overflow = quotient >= np.uint64(1 << 31)
    step = 64 - int(ub.max(initial=np.uint64(1))).bit_length()
    if step <= 0:
        raise OverflowError("fixed_point.div: divisor beyond the range an epoch produces")
    left = FRAC_BITS
    while left:
        shift = np.uint64(min(step, left))
        remainder = remainder << shift
        quotient = (quotient << shift) + remainder // ub
        remainder = remainder % ub
        left -= int(shift)
    signed = np.where(overflow, 0, quotient).astype(np.int64)
    signed = np.where(negative, -signed, signed)
    if saturate:
        extreme = np.where(negative, np.iinfo(np.int64).min, np.iinfo(np.int64).max)
        signed = np.where(overflow, extreme, signed)
    return np.where(zero, 0, signed)


def narrow_ratio(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """floor(numerator * 2**32 / denominator) for non-negative integers of any size.

    This is an I64F64 quotient narrowed to I32F32 (``inplace_normalize_64`` then
    ``vec_fixed64_to_fixed32``: floor(floor(x 2**64 / s) / 2**32) = floor(x 2**32 / s)), computed
    on Python integers held in an object array: it runs on the (n,) stake vector only.
    """
    values = np.asarray(numerator, dtype=object)
    if denominator == 0:
        return np.zeros(values.shape, dtype=np.int64)
    return ((values << FRAC_BITS) // int(denominator)).astype(np.int64)


def u16_proportion(values: np.ndarray | int) -> np.ndarray:
    """``u16_proportion_to_fixed``: I32F32(x) / I32F32(65535), truncated (a u16 array is read
    through a table of all 65,536 quotients, computed once by ``div``)."""
    values = np.asarray(values, dtype=np.int64)
    if values.size > 256 and int(values.min()) >= 0 and int(values.max()) <= U16_MAX:
        return _u16_proportions()[values]
    return div(from_int(values), from_int(U16_MAX))


@functools.cache
def _u16_proportions() -> np.ndarray:
    table = div(from_int(np.arange(U16_MAX + 1)), from_int(U16_MAX))
    table.flags.writeable = False
    return table


def fixed_proportion_to_u16(bits: np.ndarray) -> np.ndarray:
    """``fixed_proportion_to_u16``: (x * 65535) narrowed to u16 (floor, saturating)."""
    # mul(x, 65535 << 32) is floor(x 65535 2**32 / 2**32) = x 65535 exactly, so the whole
    # conversion is one integer product and an arithmetic (flooring) shift. Bounding x to
    # [0, 1] first gives the same u16 (below 0 it saturates to 0, above 1 to 65535) and keeps
    # the product inside int64 for any input. (np.clip on integers looks up iinfo on every
    # call; two in-place bounds do not.)
    scaled = np.maximum(np.asarray(bits, dtype=np.int64), 0)
    np.minimum(scaled, ONE, out=scaled)
    scaled *= U16_MAX
    scaled >>= FRAC_BITS
    return scaled


def normalize_last(bits: np.ndarray) -> np.ndarray:
    """``inplace_normalize`` along the last axis: x / sum where the sum is not 0."""
    total = bits.sum(axis=-1, keepdims=True)
    quotient = div(bits, total)
    return np.where(total != 0, quotient, bits) if not total.all() else quotient


def exp(bits: np.ndarray) -> np.ndarray:
    """``math.rs : exp_safe`` on I32F32: clamp to [-20, 20], then substrate_fixed's Taylor
    series (``transcendental.rs : exp``): 1 + x + sum over i in 2..32 of term_i, with
    term_i = (term_{i-1} * x) / i in I32F32, on |x|; a negative argument returns 1 / result.
    Within [-20, 20] no step overflows, so the series' error branch is never taken."""
    x = np.clip(np.asarray(bits, dtype=np.int64), -20 * ONE, 20 * ONE)
    negative = x < 0
    magnitude = np.abs(x).astype(np.uint64)
    high, low = magnitude >> _SHIFT32, magnitude & _LOW32  # |x| = high 2**32 + low, high <= 20
    result = magnitude + np.uint64(ONE)
    term = magnitude.copy()
    product, part = np.empty_like(term), np.empty_like(term)
    for index in range(2, FRAC_BITS):
        # term * |x| >> 32 split as term * high + (term_hi * low) + (term_lo * low >> 32), each
        # product within uint64; then the I32F32 division by the integer i,
        # trunc((t << 32) / (i << 32)) = t // i. In place: the loop runs up to 30 times.
        np.multiply(term, high, out=product)
        np.right_shift(term, _SHIFT32, out=part)
        part *= low
        product += part
        np.bitwise_and(term, _LOW32, out=part)
        part *= low
        part >>= _SHIFT32
        product += part
        np.floor_divide(product, np.uint64(index), out=term)
        result += term
        if not term.any():  # every later term is 0 as well
            break
    result = result.astype(np.int64)
    if negative.any():
        result[negative] = div(np.full(int(negative.sum()), ONE), result[negative])
    result[x == 0] = ONE
    return np.where(x == ONE, E_BITS, result)
