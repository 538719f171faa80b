"""Drill files: a scenario, an attack, and the defence that should stop it (TOML, strict).

A drill file holds a whole scenario (``[scenario]``, the format of ``docs/scenario-format.md``)
plus the attack, the monitor's thresholds, the council, its response plan, the chain's
governance rules, the gossip network and the stakeholders' brake. Unknown keys and bad values
are rejected with the dotted path, like every config in subnetsim (``docs/drills.md``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from subnetsim.governance.council import CouncilConfig, ResponsePlan
from subnetsim.governance.monitor import MonitorConfig
from subnetsim.subnet.config import from_toml, param
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.gossip import GossipConfig
from subnetsim.subnet.governance_gate import GateRules
from subnetsim.subnet.scenario import Scenario

__all__ = ["ATTACKS", "AttackConfig", "BrakePlan", "DrillConfig", "Expectations", "load_drill"]

ATTACKS = ("none", "agents", "cabal", "sybil", "forged_halt")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AttackConfig:
    """The attack a drill stages; fields beyond ``kind`` and ``start_block`` are per kind.

    ``agents``: the scenario's own adversarial behaviours (e.g. ``cabal`` validators pushing
    ``lazy`` miners) carry the attack; ``validators`` and ``miners`` name their uids for the
    report. ``cabal``: scripted ``fixed`` validators turn into a cabal at ``start_block``.
    """

    kind: str = dataclasses.field(default="none", metadata={"choices": ATTACKS,
                                                            "doc": "which attack"})
    start_block: int = param(50, 1, 10_000_000, "block the attack starts in")
    # cabal (and agents): the attacking validators and the miners they push
    validators: tuple[int, ...] = ()
    miners: tuple[int, ...] = ()
    # sybil: a burst of registrations paid by one coldkey
    funding_uid: int = param(0, 0, 4095, "uid whose coldkey pays the sybil registrations")
    registrations: int = param(0, 0, 100_000, "sybil hotkeys to register")
    per_block: int = param(4, 1, 4096, "sybil registrations submitted per block")
    # forged_halt: replays of the council's own HALT at these blocks
    replay_blocks: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BrakePlan:
    """Stakeholders' last resort: burn TAO to force a halt if the council does not act."""

    voters: tuple[int, ...] = ()  # uids whose coldkeys vote
    amount: float = param(0.0, 0.0, None, "TAO each voter burns")
    after_blocks: int = param(20, 1, 10_000_000, "blocks after the first alarm without a halt")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Expectations:
    """What must hold for the drill to pass (the CLI exits 1 otherwise)."""

    halt: bool = param(True, doc="a HALT must take effect")
    resume: bool = param(False, doc="a RESUME must take effect")
    brake: bool = param(False, doc="the stakeholders' brake must fire")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DrillConfig:
    """A whole drill."""

    name: str = "drill"
    description: str = ""
    # The scenario's seed and blocks are the drill's default seed and block budget.
    scenario: Scenario = dataclasses.field(default_factory=Scenario)
    attack: AttackConfig = dataclasses.field(default_factory=AttackConfig)
    monitor: MonitorConfig = dataclasses.field(default_factory=MonitorConfig)
    council: CouncilConfig = dataclasses.field(default_factory=CouncilConfig)
    response: ResponsePlan = dataclasses.field(default_factory=ResponsePlan)
    gate: GateRules = dataclasses.field(default_factory=GateRules)
    gossip: GossipConfig = dataclasses.field(default_factory=GossipConfig)
    stakeholders: BrakePlan = dataclasses.field(default_factory=BrakePlan)
    expect: Expectations = dataclasses.field(default_factory=Expectations)

    def __post_init__(self) -> None:
        size = sum(group.count for group in self.scenario.neurons)
        attack = self.attack
        for name, uids in (("attack.validators", attack.validators),
                           ("attack.miners", attack.miners),
                           ("stakeholders.voters", self.stakeholders.voters)):
            if any(not 0 <= uid < size for uid in uids):
                raise ConfigError(name, list(uids), f"uids must be in [0, {size})")
        if attack.kind == "cabal" and not (attack.validators and attack.miners):
            raise ConfigError("attack.validators", list(attack.validators),
                              "a cabal needs validators and miners")
        if attack.kind == "sybil" and not 0 <= attack.funding_uid < size:
            raise ConfigError("attack.funding_uid", attack.funding_uid,
                              f"must be a genesis uid in [0, {size})")
        if self.response.halt_blocks > self.gate.max_halt_blocks:
            raise ConfigError("response.halt_blocks", self.response.halt_blocks,
                              f"the chain refuses halts over {self.gate.max_halt_blocks} blocks")


def load_drill(path: str | Path) -> DrillConfig:
    """Read a drill TOML file; every problem is a one-line ConfigError naming the field."""
    drill = from_toml(DrillConfig, path)
    if drill.name == "drill":
        drill = dataclasses.replace(drill, name=Path(path).stem)
    return drill
