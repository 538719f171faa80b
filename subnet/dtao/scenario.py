"""Network scenario files: ``[network]`` (the economy) and ``[[subnets]]`` (a subnet each).

A file with a ``[[subnets]]`` array is a network scenario; everything else is a single-subnet
scenario (``subnet/scenario.py``), whose ``[network]`` table means the simulated links. Each
``[[subnets]]`` entry is a subnet scenario of its own (hyperparameters, registration, neurons,
task, validation; stakes in alpha) plus its pool at genesis and its life cycle; netuids are 1, 2,
... in listed order. Loading is strict like every scenario (``ConfigError`` with the dotted path).
"""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from pathlib import Path
from typing import Any

from subnetsim.subnet.config import (
    Hyperparameters,
    choice,
    from_dict,
    param,
    parse_assignment,
    replace_dotted,
)
from subnetsim.subnet.dtao.params import NetworkParams
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.ledger import SCOPES, RegistrationRules
from subnetsim.subnet.scenario import (
    NeuronGroup,
    QueryPolicy,
    Recording,
    Scenario,
    TaskConfig,
    ValidationConfig,
    load_named,
)

STAKER_KINDS = ("yield_chaser", "momentum", "holder")

__all__ = ["STAKER_KINDS", "NetworkScenario", "ScheduledHalt", "StakerGroup", "SubnetRegistration",
           "SubnetSpec",
           "apply_network_overrides", "is_network_file", "load_network_scenario",
           "network_scenario_from_dict", "subnet_scenario", "subnet_seed"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StakerGroup:
    """``count`` stakers of one kind (a ``[[stakers]]`` entry; ``subnetsim/stakers.py``)."""

    kind: str = choice("holder", STAKER_KINDS, "yield_chaser, momentum or holder")
    count: int = param(1, 0, 100_000, "how many")
    balance: float = param(100.0, 0.0, None, "TAO each starts with")
    interval: int = param(100, 1, None, "mean blocks between two decisions")
    trade_fraction: float = param(0.5, 0.0, 1.0, "share of the balance one buy spends")
    threshold: float = param(0.05, 0.0, None, "relative edge a move or a trade needs")
    start_block: int = param(1, 1, None, "first decision block (a rush: everyone at once)")
    netuid: int = param(0, 0, 65535, "holders: buy this subnet (0: one drawn by market cap)")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubnetSpec:
    """One subnet of a network scenario (a ``[[subnets]]`` entry)."""

    name: str = ""
    pool_tao: float = param(100.0, 0.0, None, "SubnetTAO at genesis, TAO")
    pool_alpha: float = param(100.0, 0.0, None, "SubnetAlphaIn at genesis, alpha")
    moving_price: float = param(0.0, 0.0, 1.0, "SubnetMovingPrice at genesis")
    start_block: int = param(0, 0, None, "block of the owner's start_call (0: at genesis)")
    emission_enabled: bool = param(True, doc="SubnetEmissionEnabled")
    owner_uid: int = param(0, 0, 4095, "uid of the owner's hotkey (its coldkey owns the subnet)")
    owner_burn: float = param(0.0, 0.0, 1.0, "the owner's burn policy: the share of every "
                              "scripted validator's weight set on the owner's uid")
    hyperparameters: Hyperparameters = dataclasses.field(default_factory=Hyperparameters)
    registration: RegistrationRules = dataclasses.field(default_factory=RegistrationRules)
    task: TaskConfig = dataclasses.field(default_factory=TaskConfig)
    validation: ValidationConfig = dataclasses.field(default_factory=ValidationConfig)
    query_policy: QueryPolicy = dataclasses.field(default_factory=QueryPolicy)
    neurons: tuple[NeuronGroup, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubnetRegistration:
    """A subnet registered during the run (a ``[[registrations]]`` entry): its coldkey starts
    with ``balance`` TAO and pays the lock cost at ``block``; the pool holds the lock at the
    median subnet price. ``subnet`` is the subnet (its pool and EMA fields are unused; its
    neurons register with it and hold no stake yet; their balances are not created)."""

    block: int = param(1, 1, None, "block after which the registration is submitted")
    balance: float = param(10_000.0, 0.0, None, "TAO of the registering coldkey at genesis")
    start_delay: int = param(0, 0, None, "blocks from registration to the owner's start_call")
    emission_enabled: bool = param(False, doc="SubnetEmissionEnabled (new subnets: false)")
    subnet: SubnetSpec = dataclasses.field(default_factory=SubnetSpec)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledHalt:
    """The kill switch on a schedule (a ``[[halts]]`` entry): a HALT scoped to one netuid (or
    0: the whole network) at ``block``, lifted at ``until_block`` (0: never)."""

    block: int = param(1, 1, None, "block after which the halt is applied")
    netuid: int = param(0, 0, 65535, "the subnet to halt (0: every subnet)")
    scopes: tuple[str, ...] = ("emissions",)
    until_block: int = param(0, 0, None, "block the halt ends at (0: it does not)")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NetworkScenario:
    """A network of subnets on one block clock."""

    name: str = "network"
    description: str = ""
    seed: int = param(0, 0, 2**63 - 1, "default seed")
    blocks: int = param(720, 1, 10_000_000, "block budget of a run")
    network: NetworkParams = dataclasses.field(default_factory=NetworkParams)
    recording: Recording = dataclasses.field(default_factory=Recording)
    subnets: tuple[SubnetSpec, ...] = ()
    stakers: tuple[StakerGroup, ...] = ()
    registrations: tuple[SubnetRegistration, ...] = ()
    halts: tuple[ScheduledHalt, ...] = ()

    def __post_init__(self) -> None:
        if not self.subnets:
            raise ConfigError("subnets", [], "a network scenario needs at least one subnet")
        if len(self.subnets) > self.network.subnet_limit:
            raise ConfigError("subnets", len(self.subnets),
                              f"more than subnet_limit ({self.network.subnet_limit})")
        for netuid, spec in enumerate(self.subnets, start=1):
            subnet_scenario(self, spec, netuid, f"subnets[{netuid - 1}]")
            _check_neurons(spec, f"subnets[{netuid - 1}]")
        for index, halt in enumerate(self.halts):
            unknown = set(halt.scopes) - {*SCOPES, "all"}
            if unknown:
                raise ConfigError(f"halts[{index}].scopes", sorted(unknown),
                                  f"unknown scope (known: {', '.join(SCOPES)}, all)")
            if halt.netuid > len(self.subnets):
                raise ConfigError(f"halts[{index}].netuid", halt.netuid,
                                  f"no such subnet at genesis (1..{len(self.subnets)})")
        for index, registration in enumerate(self.registrations):
            where = f"registrations[{index}].subnet"
            subnet_scenario(self, registration.subnet, 1, where)
            _check_neurons(registration.subnet, where)
            for group_index, group in enumerate(registration.subnet.neurons):
                if group.stake > 0:
                    raise ConfigError(f"{where}.neurons[{group_index}].stake", group.stake,
                                      "a registered subnet's neurons start without stake")


def _check_neurons(spec: SubnetSpec, where: str) -> None:
    for index, group in enumerate(spec.neurons):
        if group.role == "miner" and group.miner_options().join_block > 0:
            raise ConfigError(f"{where}.neurons[{index}].options.join_block",
                              group.miner_options().join_block,
                              "late joiners are not modelled in a network yet")


def subnet_scenario(network: NetworkScenario, spec: SubnetSpec, netuid: int,
                    where: str) -> Scenario:
    """The single-subnet scenario of ``spec`` as subnet ``netuid`` (what its chain and agents
    are built from); a ConfigError names the entry (``where``)."""
    try:
        return Scenario(name=spec.name or f"subnet{netuid}", seed=network.seed,
                        blocks=network.blocks, netuid=netuid, owner_uid=spec.owner_uid,
                        hyperparameters=spec.hyperparameters, registration=spec.registration,
                        recording=network.recording, task=spec.task, validation=spec.validation,
                        query_policy=spec.query_policy, neurons=spec.neurons)
    except ConfigError as error:
        raise ConfigError(f"{where}.{error.field}", error.value, error.reason) from None


def subnet_seed(seed: int, netuid: int) -> int:
    """A subnet world's own seed: keyed by (run seed, netuid), so subnets draw independently."""
    hashed = hashlib.blake2b(f"{seed}:subnet:{netuid}".encode(), digest_size=8).digest()
    return int.from_bytes(hashed, "little") & (2**63 - 1)


def is_network_file(path: str | Path) -> bool:
    """Whether a scenario file is a network scenario (has ``[[subnets]]``)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False  # the single-subnet loader reports it
    return "subnets" in data


def load_network_scenario(path: str | Path) -> NetworkScenario:
    """Read a network scenario TOML file; every problem is a one-line ConfigError."""
    return load_named(NetworkScenario, path)


def network_scenario_from_dict(data: dict[str, Any]) -> NetworkScenario:
    """A network scenario from plain data (the resolved config saved with a run)."""
    return from_dict(NetworkScenario, data)


def apply_network_overrides(scenario: NetworkScenario,
                            assignments: list[str]) -> NetworkScenario:
    """``scenario`` with CLI ``KEY=VALUE`` assignments applied in order (``--set``): a network
    parameter by name (``tao_weight=0.18``) or a dotted path (``recording.checkpoint_every``)."""
    names = {f.name for f in dataclasses.fields(NetworkParams)}
    for text in assignments:
        key, value = parse_assignment(text)
        scenario = replace_dotted(scenario, f"network.{key}" if key in names else key, value)
    return scenario
