"""When epochs run: subtensor's two schedules, as pure functions of the block.

- ``last_epoch_block`` (subtensor HEAD, dynamic tempo; ``run_coinbase.rs : should_run_epoch``):
  an epoch runs when ``block - LastEpochBlock >= tempo``, a period of ``tempo`` blocks anchored
  on the last epoch, or when an owner-triggered ``PendingEpochAt`` block is reached.
  ``LastEpochBlock`` starts at genesis minus a per-netuid stagger ``netuid % tempo``, saturating
  at 0 (``subnet.rs : init_new_network``). ``MaxEpochsPerBlock`` (2) caps epochs across
  *subnets* in one block; a world holds one subnet, so at most one epoch runs per block anyway.
- ``modulo`` (subtensor until 2026-05; ``blocks_until_next_epoch``): an epoch runs when
  ``(block + netuid + 1) % (tempo + 1) == tempo``, a period of ``tempo + 1``. Kept for replaying
  history recorded under it.
"""

from __future__ import annotations

__all__ = ["blocks_until_next_epoch", "epoch_due", "genesis_last_epoch_block", "nth_epoch_block"]


def genesis_last_epoch_block(netuid: int, tempo: int, genesis_block: int = 0) -> int:
    """``LastEpochBlock`` of a subnet created at ``genesis_block`` (``init_new_network``)."""
    return max(genesis_block - netuid % max(tempo, 1), 0)


def epoch_due(schedule: str, block: int, tempo: int, netuid: int, last_epoch_block: int,
              pending_epoch_at: int = 0) -> bool:
    """Whether the epoch runs at ``block`` (``should_run_epoch``)."""
    if schedule == "modulo":
        return (block + netuid + 1) % (tempo + 1) == tempo
    if pending_epoch_at > 0 and block >= pending_epoch_at:
        return True
    return block - last_epoch_block >= tempo


def blocks_until_next_epoch(schedule: str, block: int, tempo: int, netuid: int,
                            last_epoch_block: int) -> int:
    """Blocks from ``block`` to the next epoch at or after it (0: ``block`` runs one), assuming
    no epoch runs in between other than on schedule and no owner trigger."""
    if schedule == "modulo":
        return (tempo - (block + netuid + 1) % (tempo + 1)) % (tempo + 1)
    steps = max(1, -(-(block - last_epoch_block) // tempo))
    return last_epoch_block + steps * tempo - block


def nth_epoch_block(schedule: str, epochs: int, tempo: int, netuid: int,
                    last_epoch_block: int, block: int) -> int:
    """The block of the ``epochs``-th epoch after ``block`` (``block`` itself when 0)."""
    for _ in range(epochs):
        block += 1 + blocks_until_next_epoch(schedule, block + 1, tempo, netuid,
                                             last_epoch_block)
        last_epoch_block = block
    return block
