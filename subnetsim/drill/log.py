"""The drill's recorder: everything the chain reports, the halt state after every block, and
the books (total TAO must stay ``initial + minted``)."""

from __future__ import annotations

import dataclasses

from subnetsim.subnet.chain import Chain
from subnetsim.subnet.governance_gate import expand_scopes
from subnetsim.subnet.records import BlockRecord, EpochRecord, EventRecord, ExtrinsicRecord

__all__ = ["DrillLog", "total_tao"]


def total_tao(chain: Chain) -> float:
    """Every TAO that exists: stake, free balances, burned and emission still pending."""
    ledger = chain.ledger
    return ledger.total_stake() + ledger.total_balance() + ledger.burned + chain.pending.total


@dataclasses.dataclass(slots=True)
class DrillLog:
    """The drill's recorder: what the chain reports each block, the halt after each block, and
    how far the books drift from ``initial + minted`` (they must not)."""

    chain: Chain | None = None
    initial_tao: float = 0.0
    epochs: list[EpochRecord] = dataclasses.field(default_factory=list)
    events: list[EventRecord] = dataclasses.field(default_factory=list)
    extrinsics: list[ExtrinsicRecord] = dataclasses.field(default_factory=list)
    halted_after: dict[int, frozenset[str]] = dataclasses.field(default_factory=dict)
    max_residual_tao: float = 0.0

    def start(self, chain: Chain) -> None:
        """Take the books at genesis."""
        self.chain = chain
        self.initial_tao = total_tao(chain)
        self.halted_after[chain.block] = expand_scopes(chain.ledger.halted_scopes)

    def __call__(self, block: BlockRecord, extrinsics: list[ExtrinsicRecord],
                 events: list[EventRecord], epoch: EpochRecord | None) -> None:
        chain = self.chain
        if chain is None:
            raise RuntimeError("DrillLog.start(chain) must run before the first block")
        self.extrinsics.extend(extrinsics)
        self.events.extend(events)
        if epoch is not None:
            self.epochs.append(epoch)
        self.halted_after[block.number] = expand_scopes(chain.ledger.halted_scopes)
        residual = abs(total_tao(chain) - (self.initial_tao + chain.minted))
        self.max_residual_tao = max(self.max_residual_tao, residual)
