"""A frozen, read-only view of the subnet at a block: btcli's metagraph columns.

The dashboard, the Python API (``Simulation.metagraph_frame``) and reports read the chain
through this view: copies, never the ledger's own arrays, so nothing outside the chain process
can change chain state by accident. Agents, which run inside the simulation, read the chain
(``Chain``/``Ledger``) directly, as a node reads its own chain state.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from subnetsim.subnet.chain import Chain

__all__ = ["Metagraph", "metagraph_of"]


def _frozen(array: np.ndarray) -> np.ndarray:
    copy = np.array(array, copy=True)
    copy.flags.writeable = False
    return copy


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Metagraph:
    """The subnet at ``block``; vectors are (n,) over uids, read-only copies.

    Columns follow ``btcli subnets metagraph``: UID, HOTKEY, STAKE, CONSENSUS, INCENTIVE,
    DIVIDENDS, EMISSION, VTRUST, VAL, UPDATED, ACTIVE.
    """

    block: int
    epoch_index: int
    hotkeys: tuple[str | None, ...]
    registered: np.ndarray
    stake: np.ndarray  # TAO
    consensus: np.ndarray
    incentive: np.ndarray
    dividends: np.ndarray
    emission: np.ndarray  # TAO paid at the last epoch
    validator_trust: np.ndarray
    validator_permit: np.ndarray
    last_update: np.ndarray  # block
    active: np.ndarray
    block_at_registration: np.ndarray
    halted_scopes: tuple[str, ...]

    @property
    def n(self) -> int:
        """Number of uid slots (``max_allowed_uids``)."""
        return len(self.hotkeys)

    @property
    def updated(self) -> np.ndarray:
        """Blocks since each uid last set weights (btcli's UPDATED)."""
        return self.block - self.last_update


def metagraph_of(chain: Chain) -> Metagraph:
    """The current metagraph of ``chain``."""
    ledger = chain.ledger
    n = ledger.capacity
    last = chain.last_epoch
    zeros = np.zeros(n)

    def epoch_field(name: str) -> np.ndarray:
        return getattr(last, name) if last is not None else zeros

    active = ledger.last_update + ledger.hyper.activity_cutoff >= chain.block
    return Metagraph(
        block=chain.block,
        epoch_index=ledger.epoch_index,
        hotkeys=tuple(ledger.hotkeys),
        registered=_frozen(ledger.registered),
        stake=_frozen(ledger.stake),
        consensus=_frozen(epoch_field("consensus")),
        incentive=_frozen(epoch_field("incentive")),
        dividends=_frozen(epoch_field("dividends")),
        emission=_frozen(ledger.last_emission),
        validator_trust=_frozen(epoch_field("validator_trust")),
        validator_permit=_frozen(ledger.validator_permit),
        last_update=_frozen(ledger.last_update),
        active=_frozen(active & ledger.registered),
        block_at_registration=_frozen(ledger.block_at_registration),
        halted_scopes=tuple(sorted(ledger.halted_scopes)),
    )
