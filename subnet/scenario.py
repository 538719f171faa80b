"""Scenario files: a frozen config tree read strictly from TOML (``scenarios/*.toml``).

A scenario says what subnet to build (hyperparameters, emission, registration rules), which
neurons live on it (groups of validators and miners with a behaviour and a stake
distribution), how long to run and what to record. Unknown keys and bad values are rejected
with the dotted path (``neurons[2].stake: must be >= 0``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from subnet.config import Hyperparameters, from_dict, from_toml, param
from subnet.emission import EmissionRules
from subnet.errors import ConfigError
from subnet.ledger import RegistrationRules

__all__ = ["NeuronGroup", "Recording", "Scenario", "load_scenario", "scenario_from_dict"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NeuronGroup:
    """``count`` neurons of one role and behaviour, registered at genesis in listed order."""

    role: str = param("miner", doc="validator or miner")
    count: int = param(1, 0, 4096, "how many")
    behaviour: str = param("", doc="behaviour name; empty: the role's default")
    stake: float = param(0.0, 0.0, None, "TAO staked by each neuron's own coldkey")
    stake_spread: float = param(0.0, 0.0, 5.0, "lognormal sigma of stake; 0: all equal")
    balance: float = param(10.0, 0.0, None, "free TAO of each neuron's coldkey")
    options: dict = dataclasses.field(default_factory=dict)  # behaviour-specific settings


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """What the run store keeps."""

    checkpoint_every: int = param(360, 1, None, "blocks between checkpoints")
    record_epochs: bool = param(True, doc="store every epoch's inputs and outputs")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A whole simulated subnet."""

    name: str = "scenario"
    description: str = ""
    seed: int = param(0, 0, 2**63 - 1, "default seed")
    blocks: int = param(720, 1, 10_000_000, "block budget of a run")
    netuid: int = param(1, 0, 65535, "subnet id (epoch schedule offset)")
    hyperparameters: Hyperparameters = dataclasses.field(default_factory=Hyperparameters)
    emission: EmissionRules = dataclasses.field(default_factory=EmissionRules)
    registration: RegistrationRules = dataclasses.field(default_factory=RegistrationRules)
    recording: Recording = dataclasses.field(default_factory=Recording)
    neurons: tuple[NeuronGroup, ...] = ()

    def __post_init__(self) -> None:
        total = sum(group.count for group in self.neurons)
        if total > self.hyperparameters.max_allowed_uids:
            raise ConfigError("neurons", total,
                              f"more neurons than max_allowed_uids "
                              f"({self.hyperparameters.max_allowed_uids})")
        for index, group in enumerate(self.neurons):
            if group.role not in ("validator", "miner"):
                raise ConfigError(f"neurons[{index}].role", group.role,
                                  "expected validator or miner")


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario TOML file; every problem is a one-line ConfigError."""
    scenario = from_toml(Scenario, path)
    if scenario.name == "scenario":
        scenario = dataclasses.replace(scenario, name=Path(path).stem)
    return scenario


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """A scenario from plain data (the resolved config saved with a run)."""
    return from_dict(Scenario, data)
