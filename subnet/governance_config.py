"""A scenario's governance and attacks: the council, its plan, the monitor, the chain's rules.

A scenario may declare ``[governance]`` (the council's size and thresholds, its response plan,
the monitor's detectors, the chain's governance rules, the gossip graph, the stakeholders'
brake and what a drill expects) and ``[[attacks]]`` (kind, start block, per-kind
parameters). These are plain, strictly loaded config values, so they live with the scenario
in the world's layer; the agents that act on them (``governance/``) and the composition root
that builds them (``subnetsim.staging``) read them from here (``docs/drills.md``).
"""

from __future__ import annotations

import dataclasses

from subnetsim.subnet.config import param
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.evidence import EvidenceRules
from subnetsim.subnet.gossip import GossipConfig
from subnetsim.subnet.governance_gate import GateRules, ProposalError, check_scopes

__all__ = ["ATTACKS", "AttackConfig", "BrakePlan", "CouncilConfig", "Expectations",
           "GovernanceConfig", "LinkConfig", "MonitorConfig", "ResponsePlan", "check_uids"]

ATTACKS = ("none", "agents", "cabal", "sybil", "forged_halt")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LinkConfig:
    """Latency and loss of the links between council parties."""

    latency_median_s: float = param(0.15, 0.0, 60.0, "median one-way latency, seconds")
    latency_sigma: float = param(0.5, 0.0, 5.0, "lognormal sigma of the latency")
    loss: float = param(0.0, 0.0, 0.99, "chance a message is lost")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CouncilConfig:
    """Who is on the council, its thresholds, and how its members behave."""

    members: int = param(7, 1, 255, "council size n")
    halt_threshold: int = param(3, 1, 255, "signers a HALT or EXTEND needs")
    resume_threshold: int = param(5, 1, 255, "signers a RESUME needs (higher than HALT)")
    offline: tuple[int, ...] = ()  # members that never answer
    malicious: tuple[int, ...] = ()  # members that send invalid signature shares
    captured: tuple[int, ...] = ()  # members that refuse to sign a HALT or EXTEND
    round_timeout_s: float = param(2.0, 0.001, 600.0, "coordinator's wait per FROST round")
    max_attempts: int = param(8, 1, 1000, "signing rounds before the coordinator gives up")
    max_lifetime_blocks: int = param(7200, 1, 10_000_000, "longest proposal a member signs")
    links: LinkConfig = dataclasses.field(default_factory=LinkConfig)

    def __post_init__(self) -> None:
        if self.halt_threshold > self.members:
            raise ConfigError("halt_threshold", self.halt_threshold,
                              f"must be <= members ({self.members})")
        if not self.halt_threshold < self.resume_threshold <= self.members:
            raise ConfigError("resume_threshold", self.resume_threshold,
                              f"must be above halt_threshold ({self.halt_threshold}) and "
                              f"<= members ({self.members})")
        for name in ("offline", "malicious", "captured"):
            members = getattr(self, name)
            if any(not 1 <= member <= self.members for member in members):
                raise ConfigError(name, list(members),
                                  f"members are numbered 1..{self.members}")

    def behaviour_of(self, member: int) -> str:
        """honest, offline, malicious or captured."""
        for name in ("offline", "malicious", "captured"):
            if member in getattr(self, name):
                return name
        return "honest"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResponsePlan:
    """What the council does once alarmed."""

    halt_scopes: tuple[str, ...] = ("all",)
    halt_blocks: int = param(100, 1, 10_000_000, "lifetime of a HALT or EXTEND, blocks")
    extend_margin_blocks: int = param(5, 0, 10_000_000, "extend this long before expiry")
    resume_after_blocks: int = param(0, 0, 10_000_000, "resume this long after the halt; 0: "
                                     "never (the halt expires by itself)")
    resume_scopes: tuple[str, ...] = ("all",)
    resume_valid_blocks: int = param(10, 1, 10_000_000, "lifetime of a RESUME proposal")
    relay: str = "governance-relay"

    def __post_init__(self) -> None:
        for name in ("halt_scopes", "resume_scopes"):
            scopes = getattr(self, name)
            try:
                check_scopes(tuple(sorted(set(scopes))))
            except ProposalError as error:
                raise ConfigError(name, list(scopes), str(error)) from None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MonitorConfig:
    """Detector thresholds; 0 disables a detector."""

    interval_blocks: int = param(1, 1, 100_000, "blocks between checks")
    concentration_jump: float = param(0.15, 0.0, 1.0, "rise of incentive HHI over one epoch")
    correlation_threshold: float = param(0.99, -1.0, 1.0, "correlation that puts two "
                                         "validators in one bloc")
    divergence_threshold: float = param(0.9, -1.0, 1.0, "a bloc correlating less than this "
                                        "with the other validators diverges")
    bloc_stake_fraction: float = param(0.3, 0.0, 1.0, "validator stake share of a divergent "
                                       "bloc that raises an alarm")
    registration_window_blocks: int = param(10, 1, 1_000_000, "window of the burst detector")
    registration_burst: int = param(8, 0, 1_000_000, "registrations in the window that alarm")
    scheduled_alarms: tuple[int, ...] = ()  # blocks with a planned drill alarm (an exercise)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AttackConfig:
    """An attack the scenario stages; fields beyond ``kind`` and ``start_block`` are per kind.

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
    """What must hold for a drill to pass (``subnetsim drill`` exits 1 otherwise)."""

    halt: bool = param(True, doc="a HALT must take effect")
    resume: bool = param(False, doc="a RESUME must take effect")
    brake: bool = param(False, doc="the stakeholders' brake must fire")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GovernanceConfig:
    """A scenario's ``[governance]``: the kill switch its world runs with."""

    council: CouncilConfig = dataclasses.field(default_factory=CouncilConfig)
    response: ResponsePlan = dataclasses.field(default_factory=ResponsePlan)
    monitor: MonitorConfig = dataclasses.field(default_factory=MonitorConfig)
    gate: GateRules = dataclasses.field(default_factory=GateRules)
    gossip: GossipConfig = dataclasses.field(default_factory=GossipConfig)
    evidence: EvidenceRules = dataclasses.field(default_factory=EvidenceRules)
    stakeholders: BrakePlan = dataclasses.field(default_factory=BrakePlan)
    expect: Expectations = dataclasses.field(default_factory=Expectations)

    def __post_init__(self) -> None:
        if self.response.halt_blocks > self.gate.max_halt_blocks:
            raise ConfigError("response.halt_blocks", self.response.halt_blocks,
                              f"the chain refuses halts over {self.gate.max_halt_blocks} blocks")


def check_uids(governance: GovernanceConfig | None, attacks: tuple[AttackConfig, ...],
               size: int) -> None:
    """Uids named by the attacks and the brake must be genesis uids (``[0, size)``)."""
    named: list[tuple[str, tuple[int, ...]]] = []
    for index, attack in enumerate(attacks):
        named += [(f"attacks[{index}].validators", attack.validators),
                  (f"attacks[{index}].miners", attack.miners)]
        if attack.kind == "cabal" and not (attack.validators and attack.miners):
            raise ConfigError(f"attacks[{index}].validators", list(attack.validators),
                              "a cabal needs validators and miners")
        if attack.kind == "sybil" and not 0 <= attack.funding_uid < size:
            raise ConfigError(f"attacks[{index}].funding_uid", attack.funding_uid,
                              f"must be a genesis uid in [0, {size})")
    if governance is not None:
        named.append(("governance.stakeholders.voters", governance.stakeholders.voters))
    for name, uids in named:
        if any(not 0 <= uid < size for uid in uids):
            raise ConfigError(name, list(uids), f"uids must be in [0, {size})")
