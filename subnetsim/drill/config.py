"""Drill files are scenarios: a world with ``[governance]`` and ``[[attacks]]`` (TOML, strict).

A drill file is a scenario file (``docs/scenario-format.md``) that declares the council, its
response plan, the monitor's thresholds, the chain's governance rules, the gossip graph, the
stakeholders' brake and what must hold (``[governance]``), and the attacks (``[[attacks]]``).
``subnetsim tui`` runs the same file live; ``subnetsim drill`` runs it headless and reports
(``docs/drills.md``). Unknown keys and bad values are rejected with the dotted path.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.governance_config import (
    ATTACKS,
    AttackConfig,
    BrakePlan,
    CouncilConfig,
    Expectations,
    GovernanceConfig,
    MonitorConfig,
    ResponsePlan,
)
from subnetsim.subnet.scenario import Scenario, load_scenario

__all__ = ["ATTACKS", "AttackConfig", "BrakePlan", "DrillConfig", "Expectations", "drill_of",
           "load_drill"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DrillConfig:
    """A drill: a scenario with a council (its name and description are the scenario's)."""

    scenario: Scenario

    def __post_init__(self) -> None:
        if self.scenario.governance is None:
            raise ConfigError("governance", None, "a drill needs a [governance] table "
                              "(the council, its plan and thresholds)")

    @property
    def name(self) -> str:
        """The drill's name (the scenario's)."""
        return self.scenario.name

    @property
    def governance(self) -> GovernanceConfig:
        """The scenario's ``[governance]``."""
        assert self.scenario.governance is not None  # checked in __post_init__
        return self.scenario.governance

    @property
    def attack(self) -> AttackConfig:
        """The first attack (the one the report measures); ``kind = none`` without one."""
        return self.scenario.attacks[0] if self.scenario.attacks else AttackConfig()

    @property
    def council(self) -> CouncilConfig:
        """The council's config."""
        return self.governance.council

    @property
    def response(self) -> ResponsePlan:
        """The council's response plan."""
        return self.governance.response

    @property
    def monitor(self) -> MonitorConfig:
        """The monitor's thresholds."""
        return self.governance.monitor

    @property
    def expect(self) -> Expectations:
        """What must hold for the drill to pass."""
        return self.governance.expect


def drill_of(scenario: Scenario) -> DrillConfig:
    """The drill a scenario with a ``[governance]`` table is."""
    return DrillConfig(scenario=scenario)


def load_drill(path: str | Path) -> DrillConfig:
    """Read a drill (scenario) TOML file; every problem is a one-line ConfigError."""
    return drill_of(load_scenario(path))
