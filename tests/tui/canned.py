"""Canned snapshots and a stub driver: the dashboard under test without a simulation.

The numbers are made up by hand (simple formulas), so the SVG goldens do not move when the
simulation's trajectories change; nothing here depends on a clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.metagraph import Metagraph
from subnetsim.tui import messages
from subnetsim.tui.snapshot import (
    ABSide,
    ABView,
    CouncilMemberView,
    DrillStatus,
    EpochPoint,
    GovernanceSnapshot,
    LogEntry,
    ProposalView,
    Snapshot,
    UidDetail,
    weights_view,
)

VALIDATORS, MINERS, SLOTS = 4, 8, 14  # two empty slots at the end


def _metagraph(block: int) -> Metagraph:
    n, uids = SLOTS, np.arange(SLOTS)
    registered = uids < VALIDATORS + MINERS
    is_validator = uids < VALIDATORS
    miner_share = np.where(~is_validator & registered, uids - VALIDATORS + 1.0, 0.0)
    miner_share /= miner_share.sum()
    validator_share = np.where(is_validator, uids + 1.0, 0.0)
    validator_share /= validator_share.sum()
    hotkeys = tuple(f"validator-{u}" if u < VALIDATORS else f"miner-{u}" if registered[u]
                    else None for u in range(n))
    return Metagraph(
        block=block, epoch_index=5, hotkeys=hotkeys, registered=registered,
        stake=np.where(is_validator, 1000.0 * (uids + 1), np.where(registered, 2.5 * uids, 0.0)),
        consensus=miner_share, incentive=miner_share, dividends=validator_share,
        emission=np.round(miner_share * 10 + validator_share * 10, 4),
        validator_trust=np.where(is_validator, 0.9 + 0.02 * uids, 0.0),
        validator_permit=is_validator.copy(), last_update=np.where(is_validator, block - 7, 0),
        active=registered.copy(), block_at_registration=np.zeros(n, dtype=np.int64),
        halted_scopes=("weights",),
    )


def _history() -> tuple[EpochPoint, ...]:
    points = []
    for index in range(1, 6):
        miners = min(1.0, 0.3 * index)
        points.append(EpochPoint(
            index=index, block=20 * index, emission=16.0 + index, stake_gini=0.8 - 0.02 * index,
            kappa=0.5, incentive_by_group=(("miner:honest", miners * 0.8),
                                           ("miner:lazy", miners * 0.2)),
            dividends_by_group=(("validator:cabal", 0.25), ("validator:honest", 0.75)),
        ))
    return tuple(points)


def _weights() -> np.ndarray:
    weights = np.zeros((SLOTS, SLOTS), dtype=np.int32)
    for row in range(VALIDATORS):
        for column in range(VALIDATORS, VALIDATORS + MINERS):
            weights[row, column] = 1000 * ((column + row) % MINERS + 1)
    return weights


def _behaviour(uid: int) -> str:
    if uid >= VALIDATORS + MINERS:
        return ""
    if uid == VALIDATORS - 1:
        return "cabal"
    return "lazy" if uid >= VALIDATORS + MINERS - 2 else "honest"


def canned_snapshot(block: int = 117, state: str = "running") -> Snapshot:
    """A 12-uid subnet at ``block``, halted on weights, with history, events and a drill."""
    metagraph = _metagraph(block)
    weights = _weights()
    roles = tuple("validator" if u < VALIDATORS else "miner" if u < VALIDATORS + MINERS else ""
                  for u in range(SLOTS))
    behaviours = tuple(_behaviour(u) for u in range(SLOTS))
    events = (
        LogEntry(seq=1, block=20, kind="epoch", text="epoch 1: paid 17.000 TAO"),
        LogEntry(seq=2, block=33, kind="rejected",
                 text="rejected commit_weights from validator-3: CommittingWeightsTooFast"),
        LogEntry(seq=3, block=90, kind="alarm", text="emission concentration jumped"),
        LogEntry(seq=4, block=95, kind="halt", text="HALT weights until block 200"),
        LogEntry(seq=5, block=100, kind="command", text="set kappa = 0.6 (was 0.5)"),
    )
    governance = GovernanceSnapshot(
        halted_scopes=("weights",), halt_until=200, has_council=True,
        council=tuple(CouncilMemberView(name=f"member-{i}", online=i != 4, signed=i < 3,
                                        behaviour={4: "offline", 5: "malicious"}.get(i, "honest"))
                      for i in range(1, 6)),
        proposals=(ProposalView(proposal_id="p-7", action="RESUME", scope="weights",
                                signatures=2, threshold=4, status="collecting"),),
        drills=("cabal", "forged_halt"),
        drill=DrillStatus(state="running", name="cabal"),
        halt_block=95,
        rounds=("HALT #1 at 93: signers 1,4,5: commitments missing, excluded 4",
                "HALT #2 at 94: signers 1,2,5: invalid share, excluded 5",
                "HALT #3 at 94: signers 1,2,3: aggregate verified"),
        lifecycle=(("detected", 90, "weight_bloc"), ("proposed", 93, "HALT weights"),
                   ("signed", 94, "3 round(s)"), ("applied", 95, ""),
                   ("gossiped", 95, "p50 0.25 s, p95 0.31 s after the block"),
                   ("resumed", None, "")),
        verdict="report at block 117: PASSED (10 checks) · halt 95 · resume None",
    )
    return Snapshot(
        session=0, scenario_name="canned", seed=3, block=block, epoch_index=5,
        blocks_until_epoch=3, budget=240, state=state, speed_label="100 blocks/s",
        blocks_per_second=100.0, digest="ab" * 32, minted=float(block), metagraph=metagraph,
        roles=roles, behaviours=behaviours,
        weights=weights_view(weights, weights > 0, weights // 2, metagraph.registered,
                             metagraph.consensus),
        history=_history(), events=events, hyper=Hyperparameters(tempo=20, kappa=0.6),
        scenario_hyper=Hyperparameters(tempo=20, kappa=0.5),
        commands=({"block": 100, "command": "set_hyperparameter", "name": "kappa",
                   "value": 0.6},),
        governance=governance, notice="", markers=((60, "edit"), (95, "halt")),
    )


@dataclasses.dataclass
class StubDriver:
    """Posts canned snapshots and records the commands it is sent.

    ``answer`` may turn a command into a new snapshot to post (like the real driver does).
    """

    snapshots: list[Snapshot]
    answer: Callable[[messages.Command, Snapshot], Snapshot | None] | None = None
    commands: list[messages.Command] = dataclasses.field(default_factory=list)
    stopped: bool = False
    post: Callable[[Snapshot], None] | None = None

    def start(self, post: Callable[[Snapshot], None]) -> None:
        self.post = post
        for snapshot in self.snapshots:
            post(snapshot)

    def send(self, command: messages.Command) -> None:
        self.commands.append(command)
        if self.answer is not None and self.post is not None:
            reply = self.answer(command, self.snapshots[-1])
            if reply is not None:
                self.snapshots.append(reply)
                self.post(reply)

    def stop(self) -> None:
        self.stopped = True


def pause_answer(command: messages.Command, last: Snapshot) -> Snapshot | None:
    """Answer TogglePause like the real driver: flip the state and say so."""
    if isinstance(command, messages.TogglePause):
        state = "paused" if last.state == "running" else "running"
        return dataclasses.replace(last, state=state, notice=state)
    return None


def canned_detail(uid: int) -> UidDetail:
    """A made-up inspector view of ``uid`` over the canned history's five epochs."""
    blocks = tuple(20 * index for index in range(1, 6))
    grow = tuple(0.1 * index for index in range(1, 6))
    return UidDetail(
        uid=uid, hotkey=f"miner-{uid}", role="miner", behaviour=_behaviour(uid), blocks=blocks,
        series=(("stake", tuple(2.5 * uid + g for g in grow)), ("incentive", grow),
                ("dividends", (0.0,) * 5), ("validator_trust", (0.0,) * 5),
                ("emission_tao", tuple(g * 3 for g in grow)),
                ("model_loss", tuple(0.5 - g / 2 for g in grow))),
        weights_given=(), weights_received=((0, 0.4), (1, 0.35), (2, 0.25)),
        events=(LogEntry(seq=1, block=0, kind="registered", text=f"registered miner-{uid}"),
                LogEntry(seq=2, block=33, kind="rejected", text="rejected serve: Timeout"),
                LogEntry(seq=0, block=95, kind="halt", text="halt (weights): pay continues")),
        model_loss_now=0.2,
    )


def inspect_answer(command: messages.Command, last: Snapshot) -> Snapshot | None:
    """Answer InspectUid like the real driver: the next snapshot carries the uid's detail."""
    if isinstance(command, messages.InspectUid):
        detail = None if command.uid is None else canned_detail(command.uid)
        return dataclasses.replace(last, inspected=detail)
    return pause_answer(command, last)


def canned_ab() -> ABView:
    """A made-up A/B: side B's incentive is side A's reversed."""
    snapshot = canned_snapshot()
    metagraph = snapshot.metagraph
    shifted = dataclasses.replace(metagraph, incentive=metagraph.incentive[::-1].copy())
    sides = (ABSide(label="A", value=0.5, digest="aa" * 32, metagraph=metagraph,
                    behaviours=snapshot.behaviours, history=snapshot.history),
             ABSide(label="B", value=0.6, digest="bb" * 32, metagraph=shifted,
                    behaviours=snapshot.behaviours, history=snapshot.history))
    return ABView(name="kappa", fork_block=60, block=117, sides=sides)
