"""The drill report: what the attack got, how fast the council halted it, what the halt held.

``build_report`` turns a finished drill (``DrillRun``) into a ``DrillReport``: plain JSON data
(``as_json``, the ``--json`` output) plus a text rendering, and named pass/fail checks. The
``halt`` object carries the HALT's canonical bytes, the group key and the signature in hex, so
anyone can check it with a stock Ed25519 verifier.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from subnetsim.drill.config import DrillConfig
from subnetsim.drill.serving import serving_checks, serving_report
from subnetsim.drill.text import render_text
from subnetsim.governance.council import Council, Enactment
from subnetsim.governance.monitor import Monitor
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.gossip import Propagation
from subnetsim.subnet.records import EpochRecord

if TYPE_CHECKING:
    from subnetsim.drill.log import DrillLog
    from subnetsim.world import World

__all__ = ["DrillReport", "DrillRun", "build_report"]

WEIGHT_CALLS = ("set_weights", "commit_weights", "reveal_weights", "commit_timelocked_weights")
CONSERVATION_TOLERANCE = 1e-6  # TAO; float sums over hundreds of blocks stay far below this


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DrillRun:
    """Everything a finished drill produced."""

    config: DrillConfig
    seed: int
    world: World
    council: Council
    monitor: Monitor
    log: DrillLog
    actors: dict[str, Any]
    network_id: bytes
    halt_block: int | None
    propagation: Propagation | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DrillReport:
    """The report: JSON data, the checks it passed, and a text rendering."""

    data: dict[str, Any]

    @property
    def checks(self) -> dict[str, bool]:
        """Named pass/fail checks."""
        return self.data["checks"]

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(self.checks.values())

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` output."""
        return self.data

    def text(self) -> str:
        """A human-readable summary."""
        return render_text(self.data)


def build_report(run: DrillRun) -> DrillReport:
    """Measure the drill from its log, its actors and the council's records."""
    config, chain = run.config, run.world.chain
    attackers = _attacker_uids(run)
    data: dict[str, Any] = {
        "drill": config.name, "seed": run.seed, "blocks": chain.block, "digest": chain.head_hash,
        "network_id_hex": run.network_id.hex(),
        "attack": {"kind": config.attack.kind, "start_block": config.attack.start_block,
                   "attacker_uids": list(attackers)},
        **_timeline(run),
        **_effects(run, attackers),
        "serving": serving_report(run),
    }
    data["checks"] = _checks(run, data)
    data["passed"] = all(data["checks"].values())
    return DrillReport(data=data)


def _timeline(run: DrillRun) -> dict[str, Any]:
    """Alarm, signing, halt, propagation, resume: when each happened."""
    attack, log, halt_block = run.config.attack, run.log, run.halt_block
    alarm = run.council.first_alarm
    halt = _first(run.council.enactments, "HALT")
    resume = _first(run.council.enactments, "RESUME")
    return {
        "alarms": [dataclasses.asdict(a) for a in run.monitor.alarms],
        "detection_block": alarm.block if alarm is not None else None,
        "detector": alarm.detector if alarm is not None else None,
        "signing": [_signing(e) for e in run.council.enactments],
        "halt_block": halt_block,
        "halt": halt.signed.as_json() if halt and halt.signed else None,
        "halt_scopes": sorted(log.halted_after.get(halt_block, ())) if halt_block else [],
        "time_to_halt_s": _seconds_to(halt_block, alarm.time if alarm else None),
        "attack_to_halt_s": _seconds_to(halt_block, attack.start_block * BLOCK_SECONDS)
        if attack.kind != "none" else None,
        "propagation": _propagation(run.propagation),
        "resume_block": resume.result.block
        if resume and resume.accepted and resume.result else None,
        "halt_end_block": _halt_end(log.halted_after, halt_block),
    }


def _effects(run: DrillRun, attackers: tuple[int, ...]) -> dict[str, Any]:
    """What the attack got, what crossed the halt, and whether the books balance."""
    log = run.log
    return {
        "attacker_emission_before_halt": _paid(log.epochs, attackers,
                                               run.config.attack.start_block, run.halt_block),
        "emission_paid_while_halted": _paid_while(log.epochs, log.halted_after, "emissions"),
        "weights_accepted_while_halted": _accepted_while(log, WEIGHT_CALLS, "weights"),
        "registrations_accepted_while_halted": _accepted_while(log, ("register",),
                                                               "registrations"),
        "submissions": _submissions(run.actors),
        "attack_registrations": _registrations(run.actors),
        "honest_uids_pruned": _honest_pruned(log.events),
        "conservation": {"max_residual_tao": log.max_residual_tao,
                         "ok": log.max_residual_tao <= CONSERVATION_TOLERANCE},
    }


def _first(enactments: Iterable[Enactment], action: str) -> Enactment | None:
    """The first accepted enactment of ``action``, else the first attempt of it."""
    matching = [e for e in enactments if e.action == action]
    return next((e for e in matching if e.accepted), matching[0] if matching else None)


def _attacker_uids(run: DrillRun) -> tuple[int, ...]:
    attack = run.config.attack
    if attack.kind == "sybil":
        return tuple(sorted({int(e.data["uid"]) for e in run.log.events
                             if e.kind == "registered" and e.data["hotkey"].startswith("sybil-")}))
    return tuple(sorted({*attack.validators, *attack.miners}))


def _halt_end(halted_after: dict[int, frozenset[str]], halt_block: int | None) -> int | None:
    """First block after ``halt_block`` with nothing halted (resumed or expired)."""
    if halt_block is None:
        return None
    return next((block for block in sorted(halted_after)
                 if block > halt_block and not halted_after[block]), None)


def _seconds_to(block: int | None, since: float | None) -> float | None:
    if block is None or since is None:
        return None
    return block * BLOCK_SECONDS - since


def _signing(enactment: Enactment) -> dict[str, Any]:
    outcome = enactment.signing
    return {
        "action": enactment.action, "rounds": outcome.rounds, "retries": outcome.retries,
        "signers": list(outcome.signers), "seconds": outcome.finished_at - outcome.started_at,
        "attempts": [{"signers": list(a.signers), "outcome": a.outcome,
                      "culprits": list(a.culprits), "refusals": dict(a.refusals)}
                     for a in outcome.attempts],
        "block": enactment.result.block if enactment.result else None,
        "accepted": enactment.accepted,
        "error": enactment.result.error if enactment.result else "not signed",
    }


def _propagation(propagation: Propagation | None) -> dict[str, float] | None:
    if propagation is None:
        return None
    return {"nodes": len(propagation.delays), **propagation.summary()}


def _paid(epochs: Iterable[EpochRecord], uids: Iterable[int], start: int,
          end: int | None) -> float:
    """TAO paid to ``uids`` by epochs in blocks [start, end) (end None: to the last)."""
    wanted = list(uids)
    total = 0.0
    for record in epochs:
        if record.block >= start and (end is None or record.block < end):
            total += float(record.emission_tao[wanted].sum())
    return total


def _paid_while(epochs: Iterable[EpochRecord], halted_after: dict[int, frozenset[str]],
                scope: str) -> float:
    """TAO paid by epochs that ran while ``scope`` was halted."""
    return sum(float(r.emission_tao.sum())
               for r in epochs if scope in halted_after.get(r.block, ()))


def _accepted_while(log: DrillLog, kinds: tuple[str, ...], scope: str) -> int:
    """Accepted calls of ``kinds`` in blocks halted in ``scope`` from start to end."""
    halted = log.halted_after
    return sum(1 for record in log.extrinsics
               if record.kind in kinds and record.accepted
               and scope in halted.get(record.block - 1, ()) and scope in halted[record.block])


def _submissions(actors: dict[str, Any]) -> list[dict[str, Any]]:
    """Every drill actor's call except registrations (a flood is summarised instead)."""
    return [{"actor": role, "label": s.label, "kind": s.kind, "block": s.result.block,
             "accepted": s.result.accepted, "error": s.result.error}
            for role, actor in actors.items() for s in actor.submissions if s.kind != "register"]


def _registrations(actors: dict[str, Any]) -> dict[str, int]:
    """The attack's registrations: submitted, accepted, and refused by a halt."""
    calls = [s for actor in actors.values() for s in actor.submissions if s.kind == "register"]
    return {"submitted": len(calls), "accepted": sum(s.result.accepted for s in calls),
            "refused_by_halt": sum(s.result.error == "SubnetHalted" for s in calls)}


def _honest_pruned(events: Iterable[Any]) -> int:
    return sum(1 for e in events if e.kind == "registered" and "pruned_hotkey" in e.data
               and not str(e.data["pruned_hotkey"]).startswith("sybil-"))


def _verifies(halt: dict[str, Any] | None) -> bool:
    if halt is None:
        return False
    try:
        VerifyKey(bytes.fromhex(halt["group_public_key_hex"])).verify(
            bytes.fromhex(halt["message_hex"]), bytes.fromhex(halt["signature_hex"]))
    except BadSignatureError:
        return False
    return True


def _checks(run: DrillRun, data: dict[str, Any]) -> dict[str, bool]:
    expect = run.config.expect
    submissions = data["submissions"]
    halted = data["halt_block"] is not None
    checks = {
        "halt_as_expected": halted == expect.halt,
        "resume_as_expected": (data["resume_block"] is not None) == expect.resume,
        "brake_as_expected": any(s["label"] == "brake vote" and s["accepted"]
                                 for s in submissions) == expect.brake,
        "no_emission_while_halted": data["emission_paid_while_halted"] == 0.0,
        "no_weights_while_halted": data["weights_accepted_while_halted"] == 0,
        "no_registrations_while_halted": data["registrations_accepted_while_halted"] == 0,
        "attacker_governance_rejected": not any(s["accepted"] for s in submissions
                                                if s["actor"].startswith("attack")
                                                and s["kind"] == "governance"),
        "ledger_conserved": data["conservation"]["ok"],
    }
    if halted:
        checks["exits_open_while_halted"] = all(s["accepted"] for s in submissions
                                                if s["label"] == "exit during halt")
    if data["halt"] is not None:
        checks["halt_signature_verifies"] = _verifies(data["halt"])
    checks |= serving_checks(data["serving"], submissions, expect.resume)
    return checks
