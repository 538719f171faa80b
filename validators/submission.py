"""Getting weights on chain: plain ``set_weights``, or commit now and reveal later.

With commit-reveal on, a validator commits its weights once per epoch and they become visible
(and copyable) ``commit_reveal_period`` epochs later, when they are already stale. Mainnet's
version is timelocked: the commit is sealed and the chain reveals it itself, so the validator
only commits. In the manual "v2" version it commits a hash and must reveal in the due epoch;
this object keeps the commitments it still has to reveal.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from subnetsim.subnet.chain import Chain
from subnetsim.subnet.extrinsics import (
    CommitTimelockedWeights,
    CommitWeights,
    RevealWeights,
    SetWeights,
    weights_commit_hash,
)

__all__ = ["PendingReveal", "WeightSubmitter"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PendingReveal:
    """Weights committed in ``epoch`` and not yet revealed."""

    epoch: int
    uids: tuple[int, ...]
    weights: tuple[float, ...]
    salt: str


@dataclasses.dataclass(slots=True)
class WeightSubmitter:
    """Submits one validator's weights the way the chain's current settings require."""

    hotkey: str
    pending: list[PendingReveal] = dataclasses.field(default_factory=list)
    sealed_epoch: int = -1  # the last epoch in which a timelocked commit was sent

    def sealed(self, chain: Chain) -> bool:
        """Whether ``submit`` would send nothing now: a timelocked commit already went out in
        this epoch (so there is no need to compute weights for it)."""
        hyper = chain.hyper
        return (hyper.commit_reveal_weights_enabled and hyper.commit_reveal_version == "timelock"
                and self.sealed_epoch == chain.epoch_index)

    def submit(self, chain: Chain, uids: tuple[int, ...], weights: tuple[float, ...],
               rng: np.random.Generator) -> None:
        """Publish ``weights`` on ``uids`` now (or commit them, and reveal what is due)."""
        if not chain.hyper.commit_reveal_weights_enabled:
            self.pending.clear()
            chain.submit(SetWeights(hotkey=self.hotkey, uids=uids, weights=weights))
            return
        if chain.hyper.commit_reveal_version == "timelock":
            self.pending.clear()
            if self.sealed_epoch != chain.epoch_index:
                self.sealed_epoch = chain.epoch_index
                chain.submit(CommitTimelockedWeights(hotkey=self.hotkey, uids=uids,
                                                     weights=weights))
            return
        self._reveal_due(chain)
        if not any(p.epoch == chain.epoch_index for p in self.pending):
            salt = f"{int(rng.integers(0, 2**62)):x}"
            commit = weights_commit_hash(self.hotkey, uids, weights, salt)
            chain.submit(CommitWeights(hotkey=self.hotkey, commit_hash=commit))
            self.pending.append(PendingReveal(epoch=chain.epoch_index, uids=uids,
                                              weights=weights, salt=salt))

    def _reveal_due(self, chain: Chain) -> None:
        period = chain.hyper.commit_reveal_period
        due = [p for p in self.pending if p.epoch + period == chain.epoch_index]
        if due:
            latest = due[-1]
            chain.submit(RevealWeights(hotkey=self.hotkey, uids=latest.uids,
                                       weights=latest.weights, salt=latest.salt))
        # Revealed or expired commitments are done; keep those still waiting.
        self.pending = [p for p in self.pending if p.epoch + period > chain.epoch_index]
