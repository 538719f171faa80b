"""A slow, scalar port of subtensor's fixed-point epoch: the oracle for ``subnet/yuma_exact.py``.

Python integers, one value at a time, in the order ``run_epoch.rs : epoch_mechanism`` and
``math.rs`` loop (sparse rows as lists of (uid, value)), with ``substrate_fixed``'s semantics:
I32F32 multiply floors the widened product, divide truncates the widened quotient, ``safe_div``
by zero gives 0. Written independently of the vectorised code (no shared helpers) so that a
mistake in one shows up as a disagreement.
"""

from __future__ import annotations

from fractions import Fraction

ONE = 1 << 32
U16 = 65535


def mul(a: int, b: int) -> int:
    return (a * b) >> 32  # Python's >> on negatives floors, as the arithmetic shift does


def div(a: int, b: int) -> int:
    """safe_div: truncating quotient, 0 for a zero divisor (or an overflowing quotient)."""
    if b == 0:
        return 0
    quotient = abs(a << 32) // abs(b)
    quotient = -quotient if (a < 0) != (b < 0) else quotient
    return quotient if -(1 << 63) <= quotient < 1 << 63 else 0


def exp(x: int) -> int:
    """math.rs : exp_safe with transcendental.rs : exp, term by term."""
    x = max(-20 * ONE, min(20 * ONE, x))
    if x == 0:
        return ONE
    if x == ONE:
        return (0xADF85458A2BB4A9AAFDC5620273D3CF1 >> 103) << 9
    operand = abs(x)
    result, term = operand + ONE, operand
    for i in range(2, 32):
        term = div(mul(term, operand), i << 32)
        result += term
    return div(ONE, result) if x < 0 else result


def to_u16(x: int) -> int:
    return max(0, min(U16, mul(x, U16 << 32) >> 32))


def normalize(values: list[int]) -> list[int]:
    total = sum(values)
    return values if total == 0 else [div(v, total) for v in values]


def epoch(case: dict) -> dict:
    """One epoch of ``case`` (stake rao, u16 weight rows, u16 bonds, permits, params)."""
    n, rows = case["n"], case["rows"]  # rows: {uid: [(j, u16), ...]} incl. explicit zeros
    total = sum(case["stake_rao"])
    stake = [(s << 32) // total if total else 0 for s in case["stake_rao"]]
    active = [lu + case["activity_cutoff"] >= case["block"] for lu in case["last_update"]]
    permit = list(case["permit"])
    order = sorted(range(n), key=lambda i: stake[i])  # stable, ascending
    new_permit = [s != 0 for s in stake]
    if n >= case["max_validators"]:
        for i in order[: n - case["max_validators"]]:
            new_permit[i] = False
    active_stake = normalize([s if (a and p) else 0 for s, a, p in zip(stake, active, permit,
                                                                          strict=True)])
    weights = []
    for i in range(n):
        row = [] if not permit[i] else [(j, w << 32) for j, w in rows.get(i, []) if j != i]
        row = [(j, w) for j, w in row if not case["last_update"][i] <= case["registered"][j]]
        row_sum = sum(w for _, w in row)
        weights.append([(j, div(w, row_sum)) for j, w in row] if row_sum > 0 else row)
    consensus = _consensus(weights, active_stake, n, div(case["kappa_u16"] << 32, U16 << 32))
    clipped = [[(j, consensus[j] if consensus[j] < w else w) for j, w in row
                if not (consensus[j] < w and consensus[j] <= 0)] for row in weights]
    trust = [sum(w for _, w in row) for row in clipped]
    ranks = [0] * n
    for i, row in enumerate(clipped):
        for j, w in row:
            ranks[j] += mul(active_stake[i], w)
    incentive = normalize(ranks)
    bonds_w = clipped  # bonds_penalty 1 (the cases use the default)
    recent = [case["registered"][j] >= case["recent"] for j in range(n)]
    old = [[(j, b) for j, b in case["bonds"].get(i, []) if not recent[j]] for i in range(n)]
    if case["yuma3"]:
        ema, dividends = _yuma3(old, bonds_w, consensus, incentive, active_stake, case, n)
    else:
        ema, dividends = _classic(old, bonds_w, incentive, active_stake, case, n)
    dividends = normalize(dividends)
    stored = {i: {j: to_u16(v) for j, v in row} for i, row in enumerate(ema) if new_permit[i]}
    return {"incentive": [to_u16(x) for x in incentive],
            "dividends": [to_u16(x) for x in dividends],
            "consensus": [to_u16(x) for x in consensus], "trust": [to_u16(x) for x in trust],
            "bonds": stored}


def _consensus(weights, active_stake, n, kappa):
    voters = [i for i in range(n) if active_stake[i] > 0]
    use = normalize([active_stake[i] for i in voters])
    minority = sum(use) - kappa
    result = []
    for j in range(n):
        score = [dict(weights[i]).get(j, 0) for i in voters]
        result.append(_median(use, score, list(range(len(use))), minority, 0, sum(use)))
    return result


def _median(stake, score, index, minority, lo, hi):
    """math.rs : weighted_median, the mid-pivot quickselect, literally."""
    while True:
        if not index:
            return 0
        if len(index) == 1:
            return score[index[0]]
        pivot = score[index[len(index) // 2]]
        lower = [k for k in index if score[k] < pivot]
        upper = [k for k in index if score[k] > pivot]
        lo_stake, hi_stake = sum(stake[k] for k in lower), sum(stake[k] for k in upper)
        if minority < lo + lo_stake and lower:
            index, hi = lower, lo + lo_stake
        elif hi - hi_stake <= minority and upper:
            index, lo = upper, hi - hi_stake
        else:
            return pivot


def _col_normalize(matrix, n):
    sums = [0] * n
    for row in matrix:
        for j, v in row:
            sums[j] += v
    return [[(j, div(v, sums[j]) if sums[j] else v) for j, v in row] for row in matrix]


def _alpha(case) -> int:
    return ONE - int(Fraction(case["bonds_moving_average"], 1_000_000) * ONE)


def _classic(old, bonds_w, incentive, active_stake, case, n):
    old = _col_normalize([[(j, b << 32) for j, b in row] for row in old], n)
    delta = _col_normalize([[(j, mul(w, active_stake[i])) for j, w in row]
                            for i, row in enumerate(bonds_w)], n)
    alpha = _alpha(case)
    ema = []
    for new_row, old_row in zip(delta, old, strict=True):
        acc = [0] * n
        for j, v in new_row:
            acc[j] += mul(alpha, v)
        for j, v in old_row:
            acc[j] += mul(ONE - alpha, v)
        ema.append([(j, v) for j, v in enumerate(acc) if v > 0])
    ema = _col_normalize(ema, n)
    dividends = [sum(mul(incentive[j], v) for j, v in row) for row in ema]
    peaks = [0] * n
    for row in ema:
        for j, v in row:
            peaks[j] = max(peaks[j], v)
    return [[(j, div(v, peaks[j]) if peaks[j] else v) for j, v in row] for row in ema], dividends


def _yuma3(old, bonds_w, consensus, incentive, active_stake, case, n):
    old = [[(j, div(b << 32, U16 << 32)) for j, b in row] for row in old]
    liquid = case["liquid"] and any(c != 0 for c in consensus)
    ema = []
    for new_row, old_row in zip(bonds_w, old, strict=True):
        if liquid:
            ema.append(_liquid_row(new_row, old_row, consensus, case, n))
            continue
        alpha, acc = _alpha(case), [0] * n
        for j, v in new_row:
            acc[j] += mul(alpha, v)
        for j, v in old_row:
            acc[j] += mul(ONE - alpha, v)
        ema.append([(j, v) for j, v in enumerate(acc) if v > 0])
    normalized = _col_normalize(ema, n)
    share = [sum(mul(v, incentive[j]) for j, v in row) for row in normalized]
    return ema, [mul(s, a) for s, a in zip(share, active_stake, strict=True)]


def _liquid_row(new_row, old_row, consensus, case, n):
    low = div(case["alpha_low_u16"] << 32, U16 << 32)
    high = div(case["alpha_high_u16"] << 32, U16 << 32)
    slope = div(case["steepness"] << 32, -100 << 32)
    weight, bond = dict(new_row), dict(old_row)
    alphas = []
    for j in range(n):
        w, b = weight.get(j, 0), bond.get(j, 0)
        diff = max(0, min(ONE, w - consensus[j])) if w >= b else max(0, min(ONE, b - w))
        sigmoid = div(ONE, ONE + exp(mul(slope, diff - (ONE >> 1))))
        alphas.append(max(low, min(high, low + mul(sigmoid, high - low))))
    decayed = [0] * n
    for j, v in old_row:
        decayed[j] = mul(ONE - alphas[j], v)
    out = []
    for j, v in new_row:
        value = min(decayed[j] + max(mul(alphas[j], v), 0), ONE)
        if value > 0:
            out.append((j, value))
    return out
