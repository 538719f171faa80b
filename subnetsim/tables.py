"""btcli-style text tables: pure functions from columns to a string (the CLI prints them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["format_table", "metagraph_columns"]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Right-aligned columns under upper-case headers, like ``btcli subnets metagraph``."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def metagraph_columns(
    stake: np.ndarray,
    consensus: np.ndarray,
    incentive: np.ndarray,
    dividends: np.ndarray,
    emission: np.ndarray,
    validator_trust: np.ndarray,
    validator_permit: np.ndarray,
    only_nonzero: bool = False,
    emission_is_share: bool = False,
    uids: Sequence[int] | None = None,
) -> tuple[list[str], list[list[object]]]:
    """The UID/STAKE/.../VAL table of an epoch. Consensus, incentive, dividends and trust are
    shares; STAKE and EMISSION are TAO (EMISSION: paid to the uid at the epoch, as btcli shows
    it). Where no TAO was paid (one epoch on a snapshot) the column is the uid's share of the
    epoch's emission and is named ``EMISSION SHARE``. ``uids`` picks the rows (default:
    every uid)."""
    emission_header = "EMISSION SHARE" if emission_is_share else "EMISSION"
    headers = ["UID", "STAKE", "CONSENSUS", "INCENTIVE", "DIVIDENDS", emission_header, "VTRUST",
               "VAL"]
    rows = []
    for uid in range(len(stake)) if uids is None else uids:
        values = (stake[uid], consensus[uid], incentive[uid], dividends[uid], emission[uid])
        if only_nonzero and not any(values[1:]) and not validator_permit[uid]:
            continue
        rows.append(
            [uid, f"{stake[uid]:,.2f}", f"{consensus[uid]:.5f}", f"{incentive[uid]:.5f}",
             f"{dividends[uid]:.5f}", f"{emission[uid]:,.5f}", f"{validator_trust[uid]:.5f}",
             "*" if validator_permit[uid] else ""]
        )
    return headers, rows


def _cell(value: object) -> str:
    return value if isinstance(value, str) else str(value)
