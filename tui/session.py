"""One dashboard session: a world, what it recorded, and its command log (worker only).

A session starts at genesis with a scenario and a seed and ends at a restart. It owns the
world and is touched only by the simulation worker (``tui.worker``, in the simulation
process); the app sees it through snapshots.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

import numpy as np

from subnetsim.drill.config import drill_of
from subnetsim.drill.log import DrillLog
from subnetsim.drill.report import build_report
from subnetsim.drill.runner import drill_run
from subnetsim.simulation import Simulation
from subnetsim.subnet.metagraph import metagraph_of
from subnetsim.subnet.records import BlockRecord, EpochRecord, EventRecord, ExtrinsicRecord
from subnetsim.subnet.scenario import Scenario
from subnetsim.tui.snapshot import (
    EpochPoint,
    LogEntry,
    UidDetail,
    epoch_point,
    group_labels,
    weights_view,
)
from subnetsim.tui.uid_history import UidHistory
from subnetsim.world import World

__all__ = ["Session", "format_event", "roles_and_behaviours"]

EVENT_LINES = 300  # log lines a snapshot carries (the Log panel keeps its own scrollback)


def format_event(kind: str, data: dict[str, Any]) -> str:
    """One readable line for a chain event, e.g. ``rejected commit_weights ... NotRegistered``."""
    if kind == "rejected":
        return f"rejected {data.get('kind')} from {data.get('hotkey')}: {data.get('error')}"
    if kind == "registered":
        return f"registered {data.get('hotkey')}" + "".join(
            f" {key}={value}" for key, value in sorted(data.items()) if key != "hotkey")
    if kind == "halt":
        until = data.get("until_block")
        return f"HALT {','.join(data.get('scopes', []))} until " + (
            f"block {until}" if until is not None else "a resume")
    details = " ".join(f"{key}={value}" for key, value in sorted(data.items()))
    return f"{kind} {details}".rstrip()


def roles_and_behaviours(world: World) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Role and behaviour per uid slot of the neuron holding it now ("" when empty)."""
    ledger = world.chain.ledger
    roles, behaviours = [""] * ledger.capacity, [""] * ledger.capacity
    for uid in np.flatnonzero(ledger.registered):
        roles[uid], behaviours[uid] = "unknown", "unknown"
    for neuron in world.occupants():
        if ledger.registered[neuron.uid] and ledger.hotkeys[neuron.uid] == neuron.hotkey:
            roles[neuron.uid], behaviours[neuron.uid] = neuron.role, neuron.behaviour
    return tuple(roles), tuple(behaviours)


def _halt_line(event: EventRecord, kind: str) -> LogEntry:
    """A halt as a uid's inspector lists it: did it stop the uid's pay?"""
    scopes = set(event.data.get("scopes", ()))
    if kind == "resume":
        text = "resumed: pay and weights flow again"
    elif scopes & {"emissions", "all"}:
        text = f"{kind} ({', '.join(sorted(scopes))}): its pay stopped"
    else:
        text = f"{kind} ({', '.join(sorted(scopes))}): pay continues"
    return LogEntry(seq=0, block=event.block, kind=kind, text=text)


class Session:
    """A world with the history, events and command log the dashboard shows."""

    def __init__(self, number: int, scenario: Scenario, seed: int) -> None:
        self.number = number
        self.scenario = scenario
        self.seed = seed
        self.history: list[EpochPoint] = []
        self.events: collections.deque[LogEntry] = collections.deque(maxlen=EVENT_LINES)
        self._seq = 0
        self.halts: list[tuple[int, str]] = []  # (block, halt | extend | resume) in order
        self.drill_log: DrillLog | None = None  # a governed world's drill recorder
        self.drill_scenario: Scenario | None = None  # the drill the report measures
        self._verdict: tuple[int, str] | None = None  # (block, text) of the last report
        self._drill_end = 0
        self.uid_history = UidHistory()
        self.halt_lines: list[LogEntry] = []  # halts as every uid's inspector lists them
        # The same API a notebook uses: edits go through Simulation.set_hyperparameter.
        self.simulation = Simulation(scenario, seed, recorder=self.record)
        if scenario.governance is not None:
            self._watch_drill(scenario)

    @property
    def world(self) -> World:
        """The session's world."""
        return self.simulation.world

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The command log (hyperparameter edits), in the order applied."""
        return self.simulation.commands

    @property
    def block(self) -> int:
        """The last produced block."""
        return self.world.chain.block

    def run_to_block(self, block: int) -> None:
        """Advance the world to ``block``."""
        self.world.run_to_block(block)

    def log(self, block: int, kind: str, text: str) -> None:
        """Add a line to the session's log."""
        self._seq += 1
        self.events.append(LogEntry(seq=self._seq, block=block, kind=kind, text=text))

    def record(self, block: BlockRecord, extrinsics: list[ExtrinsicRecord],
               events: list[EventRecord], epoch: EpochRecord | None) -> None:
        """The chain's recorder: keep events and epoch summaries (the chain calls this)."""
        if self.drill_log is not None:
            self.drill_log(block, extrinsics, events, epoch)
        for event in events:
            text = format_event(event.kind, dict(event.data))
            self.log(event.block, event.kind, text)
            self.uid_history.add_event(event, self.world.chain.uid_of, text)
            if event.kind in ("halt", "resume", "halt_expired"):
                self.halts.append((event.block, self._halt_kind(event.kind)))
                self.halt_lines.append(_halt_line(event, self.halts[-1][1]))
        if epoch is not None:
            self.uid_history.add_epoch(epoch, self.world.model_losses())
            roles, behaviours = self.roles_and_behaviours()
            point = epoch_point(epoch, group_labels(roles, behaviours),
                                self.world.chain.ledger.registered)
            self.history.append(point)
            self.log(block.number, "epoch", f"epoch {point.index}: paid {point.emission:,.3f} "
                     f"TAO, stake Gini {point.stake_gini:.3f}, kappa {point.kappa:.4f}")

    def _halt_kind(self, kind: str) -> str:
        """``halt``, ``extend`` (a halt while halted) or ``resume`` (also an expiry)."""
        if kind != "halt":
            return "resume"
        halted = next((k != "resume" for _, k in reversed(self.halts)), False)
        return "extend" if halted else "halt"

    def start_drill(self, name: str, drill: Scenario) -> None:
        """Stage a drill's council and attacks in this session's world now (recorded)."""
        self.simulation.start_drill(name, drill)
        staged = self.world.governance
        assert staged is not None  # start_drill staged it or raised
        # The report measures the attacks as staged (their blocks count from here).
        self._watch_drill(dataclasses.replace(drill, attacks=staged.attacks), offset=self.block)

    def _watch_drill(self, drill: Scenario, offset: int = 0) -> None:
        """Record what the drill report needs from now on; it is due at the drill's budget."""
        self.drill_log = DrillLog()
        self.drill_log.start(self.world.chain)
        self.drill_scenario = drill
        self._drill_end = offset + drill.blocks

    def verdict(self) -> str:
        """The drill's checks once its block budget is reached ("" before, or without one)."""
        if self.drill_log is None or self.drill_scenario is None or self.block < self._drill_end:
            return ""
        if self._verdict is None or self._verdict[0] != self.block:
            report = build_report(drill_run(drill_of(self.drill_scenario), self.world,
                                            self.drill_log))
            failed = [name for name, ok in report.checks.items() if not ok]
            data = report.as_json()
            text = (f"report at block {self.block}: " + ("PASSED" if not failed else
                    "FAILED " + ", ".join(failed)) + f" ({len(report.checks)} checks) · halt "
                    f"{data['halt_block']} · resume {data['resume_block']} · attackers paid "
                    f"{data['attacker_emission_before_halt']:.1f} TAO before the halt")
            self._verdict = (self.block, text)
        return self._verdict[1]

    def inspect(self, uid: int) -> UidDetail | None:
        """The inspector's view of ``uid`` now (None for a slot out of range)."""
        ledger = self.world.chain.ledger
        if not 0 <= uid < ledger.capacity:
            return None
        roles, behaviours = self.roles_and_behaviours()
        hotkey = ledger.hotkeys[uid] if ledger.registered[uid] else ""
        weights = ledger.weights.astype(float)
        loss = self.world.model_losses()[uid] if self.world.miners is not None else np.nan
        return self.uid_history.detail(
            uid, (hotkey or "", roles[uid], behaviours[uid]), weights, tuple(self.halt_lines),
            model_loss_now=float(loss))

    def markers(self) -> tuple[tuple[int, str], ...]:
        """Halts, resumes and hyperparameter edits by block, for the charts."""
        edits = [(int(c["block"]), "edit") for c in self.commands
                 if c.get("command") == "set_hyperparameter"]
        return tuple(sorted([*self.halts, *edits]))

    def roles_and_behaviours(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Role and behaviour per uid slot of the neuron holding it now ("" when empty)."""
        return roles_and_behaviours(self.world)

    def next_epoch_block(self) -> int:
        """The next epoch block after the current one."""
        chain = self.world.chain
        ahead = chain.blocks_until_next_epoch(chain.block)
        return chain.block + (ahead if ahead > 0 else chain.hyper.tempo + 1)

    def views(self) -> dict[str, Any]:
        """The world-derived parts of a snapshot (metagraph, weights, roles, hyperparameters)."""
        chain = self.world.chain
        ledger = chain.ledger
        metagraph = metagraph_of(chain)
        roles, behaviours = self.roles_and_behaviours()
        return {
            "block": chain.block, "epoch_index": ledger.epoch_index,
            "blocks_until_epoch": self.next_epoch_block() - chain.block,
            "digest": chain.head_hash, "minted": chain.minted, "metagraph": metagraph,
            "roles": roles, "behaviours": behaviours, "hyper": ledger.hyper,
            "weights": weights_view(ledger.weights, ledger.weight_set, ledger.bonds,
                                    ledger.registered, metagraph.consensus),
            "history": tuple(self.history), "events": tuple(self.events),
            "commands": tuple(dict(c) for c in self.commands),
        }
