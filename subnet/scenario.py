"""Scenario files: a frozen config tree read strictly from TOML (``scenarios/*.toml``).

A scenario says what subnet to build (hyperparameters, emission, registration rules), which
neurons live on it (groups of validators and miners with a behaviour and a stake
distribution), what task the miners serve, how validators query them and how the simulated
network behaves, how long to run and what to record. Unknown keys and bad values are rejected
with the dotted path (``neurons[2].stake: must be >= 0``), behaviour options included
(``neurons[3].options.qualty: unknown key``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from subnetsim.subnet import schedule
from subnetsim.subnet.config import (
    Hyperparameters,
    from_dict,
    from_toml,
    param,
    parse_assignment,
    replace_dotted,
)
from subnetsim.subnet.emission import EmissionRules
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.governance_config import AttackConfig, GovernanceConfig, check_uids
from subnetsim.subnet.ledger import RegistrationRules

__all__ = [
    "MinerOptions",
    "NetworkConfig",
    "NeuronGroup",
    "QueryPolicy",
    "Recording",
    "Scenario",
    "TaskConfig",
    "ValidationConfig",
    "ValidatorOptions",
    "apply_overrides",
    "block_budget",
    "load_scenario",
    "scenario_from_dict",
    "set_value",
]


def choice(default: str, choices: tuple[str, ...], doc: str) -> Any:
    """A string field restricted to ``choices`` (checked by the strict loader)."""
    return dataclasses.field(default=default, metadata={"choices": choices, "doc": doc})


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

    def miner_options(self) -> MinerOptions:
        """The group's options read as miner options (strict)."""
        return from_dict(MinerOptions, self.options, "options")

    def validator_options(self) -> ValidatorOptions:
        """The group's options read as validator options (strict)."""
        return from_dict(ValidatorOptions, self.options, "options")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MinerOptions:
    """Settings of a miner group (``[neurons.options]``); each behaviour reads its own."""

    operator: str = param("", doc="who runs these uids; sybils of one operator share a model")
    quality: float = param(1.0, 0.0, 1.0, "pre-training as a fraction of task.pretrain_steps")
    quality_low: float | None = param(None, 0.0, 1.0,
                                      "if set: qualities spread evenly from this up to quality")
    train_interval: int = param(10, 1, None, "trainer: blocks between online training rounds")
    train_steps: int = param(2, 1, 10_000, "trainer: SGD steps per round")
    answer: str = choice("constant", ("constant", "random"), "lazy: what it answers")
    noise: float = param(0.5, 0.0, None, "noisy: std of noise added to answers")
    victim: int = param(-1, -1, 4095, "copycat: uid it copies (-1: the top miner by incentive)")
    relay_seconds: float = param(0.3, 0.0, 60.0, "copycat: extra seconds to relay a query")
    miss_probability: float = param(0.3, 0.0, 1.0, "flaky: chance to miss a deadline")
    offline_every: int = param(0, 0, None, "flaky: period of offline windows in blocks (0: none)")
    offline_blocks: int = param(0, 0, None, "flaky: length of each offline window")
    fault: str = choice("mixed", ("nan", "shape", "oversized", "junk", "mixed"),
                        "malformed: the kind of bad reply")
    join_block: int = param(0, 0, None, "0: registered at genesis; else block of the first try")
    join_interval: int = param(1, 1, None, "blocks between the group's registration tries")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ValidatorOptions:
    """Settings of a validator group (``[neurons.options]``)."""

    operator: str = param("", doc="cabal / self_dealer: push the miners of this operator")
    copy_source: str = choice("weights", ("weights", "consensus"),
                              "weight_copier: copy visible weight rows or last consensus")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TaskConfig:
    """The task miners serve and validators score (``[task]``)."""

    kind: str = choice("regression", ("regression", "digits"),
                       "regression: synthetic teacher; digits: scikit-learn's bundled digits")
    input_dim: int = param(8, 1, 1024, "regression: input features")
    teacher_width: int = param(16, 1, 1024, "regression: hidden units of the teacher")
    target_noise: float = param(0.05, 0.0, None, "regression: std of noise on targets")
    held_out: int = param(1024, 16, 1_000_000, "regression: held-out examples for model_loss")
    hidden: int = param(32, 1, 4096, "miner MLP hidden width")
    depth: int = param(2, 1, 16, "miner MLP hidden layers")
    batch: int = param(16, 1, 4096, "inputs per validator query")
    pretrain_steps: int = param(512, 0, 1_000_000, "SGD steps of a quality-1.0 miner")
    pretrain_batch: int = param(32, 1, 4096, "examples per pre-training step")
    learning_rate: float = param(0.01, 0.0, 10.0, "SGD step size (pre-training and trainers)")
    momentum: float = param(0.9, 0.0, 0.999, "SGD momentum")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NetworkConfig:
    """The simulated network between validators and miners (``[network]``)."""

    latency: float = param(0.2, 0.0, 60.0, "median round trip, seconds")
    jitter: float = param(0.5, 0.0, 5.0, "lognormal sigma of the round trip")
    loss_probability: float = param(0.0, 0.0, 1.0, "chance a query or its reply is lost")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ValidationConfig:
    """How validators query and score (``[validation]``)."""

    query_interval: int = param(10, 1, None, "blocks between two query rounds of a validator")
    sample_size: int = param(16, 1, 4096, "miners queried per round")
    deadline: float = param(4.0, 0.1, 5.0, "seconds a validator waits for replies")
    ema_alpha: float = param(0.1, 0.0, 1.0, "weight of a new reward in the score EMA")
    top_k: int = param(0, 0, 4096, "weights on the best k scores only (0: all)")
    reward_exponent: float = param(1.0, 0.1, 10.0, "weights = score ** this (sharpening)")
    validator_stake: float = param(1024.0, 0.0, None,
                                   "uids with a permit and this much stake are validators, not "
                                   "queried (Bittensor's vpermit_tao_limit)")
    dedupe: bool = param(False, doc="identical replies in a round: only the oldest uid scores")
    max_reply_bytes: int = param(65_536, 1, None, "larger replies are malformed")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class QueryPolicy:
    """Who a miner answers (``[query_policy]``), like Bittensor's axon blacklist."""

    min_stake: float = param(10.0, 0.0, None, "callers with less stake are refused")
    rate_limit: int = param(4, 0, None, "queries per caller per window (0: unlimited)")
    rate_window: int = param(20, 1, None, "blocks per rate-limit window")


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
    # The genesis uid holding the subnet owner's hotkey (its coldkey owns the subnet): it is
    # never pruned, always permitted, gets the owner cut as stake, and its incentive is
    # recycled (the "owner burn" pattern). None: the owner has no hotkey on the subnet.
    owner_uid: int | None = param(None, 0, 4095, "uid of the subnet owner's hotkey")
    hyperparameters: Hyperparameters = dataclasses.field(default_factory=Hyperparameters)
    emission: EmissionRules = dataclasses.field(default_factory=EmissionRules)
    registration: RegistrationRules = dataclasses.field(default_factory=RegistrationRules)
    recording: Recording = dataclasses.field(default_factory=Recording)
    task: TaskConfig = dataclasses.field(default_factory=TaskConfig)
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    validation: ValidationConfig = dataclasses.field(default_factory=ValidationConfig)
    query_policy: QueryPolicy = dataclasses.field(default_factory=QueryPolicy)
    neurons: tuple[NeuronGroup, ...] = ()
    # The kill switch and what attacks it (docs/drills.md); None: no council in this world.
    governance: GovernanceConfig | None = None
    attacks: tuple[AttackConfig, ...] = ()

    def __post_init__(self) -> None:
        genesis = 0
        for index, group in enumerate(self.neurons):
            if group.role not in ("validator", "miner"):
                raise ConfigError(f"neurons[{index}].role", group.role,
                                  "expected validator or miner")
            if group.role == "validator":
                _options(group.validator_options, index)
                genesis += group.count
                continue
            options = _options(group.miner_options, index)
            if options.join_block == 0:
                genesis += group.count
            elif group.stake > 0:
                raise ConfigError(f"neurons[{index}].stake", group.stake,
                                  "late joiners (options.join_block > 0) start without stake")
        if genesis > self.hyperparameters.max_allowed_uids:
            raise ConfigError("neurons", genesis,
                              f"more neurons at genesis than max_allowed_uids "
                              f"({self.hyperparameters.max_allowed_uids})")
        if self.attacks and self.governance is None:
            raise ConfigError("attacks", len(self.attacks),
                              "attacks need a [governance] table (the council that answers)")
        check_uids(self.governance, self.attacks, genesis)
        if self.owner_uid is not None and self.owner_uid >= genesis:
            raise ConfigError("owner_uid", self.owner_uid,
                              f"must be a genesis uid (0..{genesis - 1})")


def _options(read: Any, index: int) -> Any:
    try:
        return read()
    except ConfigError as error:
        raise ConfigError(f"neurons[{index}].{error.field}", error.value, error.reason) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario TOML file; every problem is a one-line ConfigError."""
    return load_named(Scenario, path)


def load_named(cls: type, path: str | Path) -> Any:
    """Read a scenario-like TOML file (``cls`` has a ``name`` field); an unnamed one is named
    after its file."""
    scenario = from_toml(cls, path)
    if scenario.name == dataclasses.fields(cls)[0].default:
        scenario = dataclasses.replace(scenario, name=Path(path).stem)
    return scenario


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """A scenario from plain data (the resolved config saved with a run)."""
    return from_dict(Scenario, data)


def set_value(scenario: Scenario, key: str, value: Any) -> Scenario:
    """``scenario`` with one value set: a hyperparameter name (``kappa``) or a dotted path
    (``recording.checkpoint_every``); checked like the file itself."""
    if key in _HYPERPARAMETER_NAMES:
        key = f"hyperparameters.{key}"
    return replace_dotted(scenario, key, value)


def apply_overrides(scenario: Scenario, assignments: list[str]) -> Scenario:
    """``scenario`` with CLI ``KEY=VALUE`` assignments applied in order (``--set``)."""
    for text in assignments:
        scenario = set_value(scenario, *parse_assignment(text))
    return scenario


def block_budget(scenario: Any, blocks: int | None, epochs: int | None) -> int | None:
    """Blocks to simulate for ``--blocks`` / ``--epochs`` (None: the scenario's own budget):
    up to the ``epochs``-th epoch under the scenario's ``epoch_schedule`` (``subnet/schedule.py``).
    """
    if blocks is not None:
        if blocks < 1:
            raise ConfigError("--blocks", blocks, "must be >= 1")
        return blocks
    if epochs is None:
        return None
    if epochs < 1:
        raise ConfigError("--epochs", epochs, "must be >= 1")
    hyper = scenario.hyperparameters
    start = schedule.genesis_last_epoch_block(scenario.netuid, hyper.tempo)
    return schedule.nth_epoch_block(hyper.epoch_schedule, epochs, hyper.tempo, scenario.netuid,
                                    start, 0)


_HYPERPARAMETER_NAMES = frozenset(f.name for f in dataclasses.fields(Hyperparameters))
