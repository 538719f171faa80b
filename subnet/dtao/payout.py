"""Who gets a subnet's validator and root alpha at its epoch: the per-hotkey root / alpha split
(subtensor ``run_coinbase.rs : calculate_dividend_distribution``, spec 425; reference 3.6 step 5).

Yuma gives each hotkey h a dividend d_h, computed with stake weights alpha_h + tw root_h. The
chain then splits every dividend by the hotkey's **own** stakes (its alpha on the subnet, its
TAO on root, not inherited):

    root_part_h  = d_h (tw root_h) / (alpha_h + tw root_h)
    alpha_part_h = d_h - root_part_h

and pays the validator pool pro rata to alpha_part and the pending root alpha pro rata to
root_part (each normalised over every hotkey). So a hotkey's root stake earns it root
dividends, not alpha dividends: with equal alpha stakes two hotkeys earn equal alpha whatever
their root stakes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dividend_parts"]


def dividend_parts(dividends: np.ndarray, alpha_stake: np.ndarray,
                   weighted_root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha_part, root_part) of each uid's dividend.

    Args:
        dividends: (n,) Yuma's validator emission per uid (any scale; the pools are shared
            pro rata to each part).
        alpha_stake: (n,) each uid's hotkey's alpha on the subnet, before the epoch's payout.
        weighted_root: (n,) tao_weight x each uid's hotkey's root stake.
    """
    total = alpha_stake + weighted_root
    root_fraction = np.divide(weighted_root, total, out=np.zeros_like(total), where=total > 0)
    root_part = dividends * root_fraction
    return dividends - root_part, root_part
