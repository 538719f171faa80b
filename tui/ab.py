"""A/B: the session forked at the current block into two worlds that differ in one setting.

Both sides start from the session's state at a block boundary (``World.state`` /
``World.from_state``, the checkpoint path), on the same seed, so every difference between
them comes from the setting: side A with ``name = a``, side B with ``name = b``. The worker
advances both in lockstep while the session waits, and posts an ``ABView`` (both metagraphs
and their per-group histories) for the A/B panel.
"""

from __future__ import annotations

from typing import Any

from subnetsim.commands import apply_command, hyperparameter_entry
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.metagraph import metagraph_of
from subnetsim.subnet.records import BlockRecord, EpochRecord, EventRecord, ExtrinsicRecord
from subnetsim.tui.session import Session, roles_and_behaviours
from subnetsim.tui.snapshot import ABSide, ABView, EpochPoint, epoch_point, group_labels
from subnetsim.world import World

__all__ = ["ABRun"]


class _Side:
    """One forked world with its setting and the epochs it has run since the fork."""

    def __init__(self, label: str, session: Session, state: bytes, name: str,
                 value: Any) -> None:
        self.label, self.value = label, value
        self.history: list[EpochPoint] = list(session.history)
        self.world = World.from_state(session.scenario, session.seed, state,
                                      session.world.chain.head_hash, recorder=self.record)
        self.world.start()
        apply_command(self.world, hyperparameter_entry(self.world.chain.block, name, value))

    def record(self, block: BlockRecord, extrinsics: list[ExtrinsicRecord],
               events: list[EventRecord], epoch: EpochRecord | None) -> None:
        if epoch is not None:
            roles, behaviours = roles_and_behaviours(self.world)
            self.history.append(epoch_point(epoch, group_labels(roles, behaviours),
                                            self.world.chain.ledger.registered))

    def view(self) -> ABSide:
        roles, behaviours = roles_and_behaviours(self.world)
        return ABSide(label=self.label, value=self.value, digest=self.world.chain.head_hash,
                      metagraph=metagraph_of(self.world.chain), behaviours=behaviours,
                      history=tuple(self.history))


class ABRun:
    """Two forks of ``session`` at its current block: ``name = a`` and ``name = b``."""

    def __init__(self, session: Session, name: str, a: Any, b: Any) -> None:
        if session.world.governance is not None:
            raise ConfigError("A/B", name, "a world with a council cannot be forked yet "
                              "(its council and attackers are not in a checkpoint)")
        self.name, self.fork_block = name, session.block
        state = session.world.state()
        self.sides = (_Side("A", session, state, name, a), _Side("B", session, state, name, b))

    @property
    def block(self) -> int:
        """The block both sides have reached."""
        return min(side.world.chain.block for side in self.sides)

    def step(self) -> None:
        """One block on each side."""
        for side in self.sides:
            side.world.run_to_block(side.world.chain.block + 1)

    def view(self) -> ABView:
        """Both sides now."""
        return ABView(name=self.name, fork_block=self.fork_block, block=self.block,
                      sides=tuple(side.view() for side in self.sides))
