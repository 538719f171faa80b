"""Confidence intervals of a mean over seeds that stay inside the metric's range.

Student's t interval ``mean +- t sd / sqrt(n)`` is symmetric, so with few seeds it reaches
past what a metric can take (a share below 0, a Gini above 1). The *expanded percentile
bootstrap* (Hesterberg, "What teachers should know about the bootstrap", 2015, section 5.1)
keeps the percentile bootstrap's property that the interval lies between the smallest and the
largest observed value, hence inside any range the values respect, and widens the percentiles
so that its coverage with few seeds is close to the t interval's: the tail probability is
``alpha' / 2 = Phi(-sqrt(n / (n - 1)) * t(1 - alpha / 2, n - 1))``.

The resamples come from a generator seeded from the values themselves, so an interval is a
pure function of its data (the same table always prints the same interval).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable

import numpy as np

__all__ = ["FEW_SEEDS", "RESAMPLES", "Interval", "expanded_tail", "fresh_mean_interval",
           "mean_interval", "t_central_probability", "t_quantile", "t_two_sided_quantile"]

RESAMPLES = 4000
FEW_SEEDS = 5  # below this many seeds a summary warns that its intervals are rough

# Two-sided 95% quantiles t(0.975, df) for df = 1..30 (any statistics table, e.g. NIST/SEMATECH
# e-Handbook 1.3.6.7.2); larger df use the Cornish-Fisher expansion around the normal quantile.
_T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
          2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
          2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
_Z_975 = 1.959963984540054


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """Mean of ``count`` finite values and its 95% confidence interval (NaN when undefined)."""

    mean: float
    low: float
    high: float
    count: int


def t_quantile(df: int) -> float:
    """t(0.975, df): the 95% two-sided Student t quantile."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T_975):
        return _T_975[df - 1]
    z = _Z_975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def t_central_probability(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer ``df``: the finite sums of Abramowitz & Stegun,
    *Handbook of Mathematical Functions*, 26.7.3 (odd df) and 26.7.4 (even df), with
    theta = atan(t / sqrt(df))."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if t <= 0:
        return 0.0
    theta = math.atan(t / math.sqrt(df))
    cos2 = math.cos(theta) ** 2
    if df % 2:  # odd: 2/pi (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...))
        series, term = 0.0, math.cos(theta)
        for k in range(1, (df - 1) // 2 + 1):
            series += term
            term *= cos2 * (2 * k) / (2 * k + 1)
        return min(1.0, 2.0 / math.pi * (theta + math.sin(theta) * series))
    series, term = 0.0, 1.0  # even: sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...)
    for k in range(1, df // 2 + 1):
        series += term
        term *= cos2 * (2 * k - 1) / (2 * k)
    return min(1.0, math.sin(theta) * series)


def t_two_sided_quantile(level: float, df: int) -> float:
    """The t with P(|T| <= t) = ``level`` (bisection on :func:`t_central_probability`)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be inside (0, 1), got {level}")
    low, high = 0.0, 1.0
    while t_central_probability(high, df) < level:
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if t_central_probability(middle, df) < level:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return 0.5 * (low + high)


def expanded_tail(count: int) -> float:
    """The bootstrap tail probability alpha'/2 for a 95% interval from ``count`` values."""
    z = math.sqrt(count / (count - 1)) * t_quantile(count - 1)
    return 0.5 * math.erfc(z / math.sqrt(2.0))  # Phi(-z)


def mean_interval(values: Iterable[float | None]) -> Interval:
    """Mean of the finite ``values`` (None, as Parquet stores NaN, is left out like NaN) and
    its expanded-percentile-bootstrap 95% interval (no
    interval from one value). The interval lies within [min(values), max(values)]."""
    data = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    count = len(data)
    if count == 0:
        return Interval(mean=math.nan, low=math.nan, high=math.nan, count=0)
    # The mean lies between the extremes; summation rounding must not put it outside
    # (three equal values can average to one ulp above them).
    mean = float(np.clip(data.mean(), data.min(), data.max()))
    if count == 1:
        return Interval(mean=mean, low=math.nan, high=math.nan, count=1)
    if np.all(data == data[0]):
        return Interval(mean=mean, low=float(data[0]), high=float(data[0]), count=count)
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(data.tobytes()).digest()[:8],
                                               "little"))
    means = data[rng.integers(0, count, size=(RESAMPLES, count))].mean(axis=1)
    tail = expanded_tail(count)
    low, high = np.quantile(means, [tail, 1.0 - tail])
    # Rounding in the resampled means must not step outside the observed values.
    low = float(np.clip(low, data.min(), data.max()))
    high = float(np.clip(high, data.min(), data.max()))
    return Interval(mean=mean, low=min(low, mean), high=max(high, mean), count=count)


def fresh_mean_interval(values: Iterable[float | None],
                        bounds: tuple[float, float] = (-math.inf, math.inf),
                        fresh: int | None = None, level: float = 0.95) -> Interval:
    """Where the mean of ``fresh`` new seeds (default: as many as ``values`` has) will land,
    with probability ``level``: the prediction interval ``mean +- t s sqrt(1/n + 1/m)``
    (e.g. Montgomery & Runger, *Applied Statistics and Probability for Engineers*, 6th ed.,
    section 8.4, with m future values averaged), cut to the metric's ``bounds``.

    A tuning study reports this one, not :func:`mean_interval`: its user re-runs a chosen
    setting with seeds the study never saw, and that new mean carries its own noise on top of
    the uncertainty of the old one (a confidence interval of the old mean holds a fresh mean
    of as many seeds only about 83% of the time, less with few seeds).

    The interval contains the mean and lies inside ``bounds``; NaN bounds below two values.
    """
    data = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    count = len(data)
    if count == 0:
        return Interval(mean=math.nan, low=math.nan, high=math.nan, count=0)
    low_bound, high_bound = bounds
    mean = float(np.clip(data.mean(), data.min(), data.max()))
    if count == 1:
        return Interval(mean=mean, low=math.nan, high=math.nan, count=1)
    future = count if fresh is None else fresh
    if future < 1:
        raise ValueError(f"a fresh mean needs at least one seed, got {future}")
    t = t_quantile(count - 1) if level == 0.95 else t_two_sided_quantile(level, count - 1)
    half = t * float(data.std(ddof=1)) * math.sqrt(1 / count + 1 / future)
    low = min(max(mean - half, low_bound), mean)
    high = max(min(mean + half, high_bound), mean)
    return Interval(mean=mean, low=low, high=high, count=count)
