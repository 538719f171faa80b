"""The Governance panel's data, read from a world's staged council (simulation side only).

The council (``world.governance``, staged by the composition root from the scenario's
``[governance]``, or injected by a dashboard drill) is read between chunks into plain values:
members and how they behave, each signing attempt (who committed, whose shares came back,
whether the aggregate verified, who was excluded), and the proposal's life from detection to
resume with block numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from subnetsim.behaviours import HALT_IGNORING, SERVING_MINERS
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.governance_gate import SIGNING_KEY
from subnetsim.tui.snapshot import (
    CouncilMemberView,
    DrillStatus,
    GovernanceSnapshot,
    ProposalView,
)

__all__ = ["council_snapshot"]

OUTCOME_TEXT = {"signed": "aggregate verified", "no_commitment": "commitments missing",
                "no_share": "shares missing", "invalid_share": "invalid share"}


def council_snapshot(world: Any, drill: DrillStatus, drills: tuple[str, ...],
                     halts: Sequence[tuple[int, str]], verdict: str = "") -> GovernanceSnapshot:
    """The governance part of a snapshot; ``halts`` are the session's (block, halt|resume)."""
    chain = world.chain
    governance = getattr(world, "governance", None)
    halt_block = _halt_in_force(halts) if chain.ledger.halted_scopes else None
    base = {"halted_scopes": tuple(sorted(chain.ledger.halted_scopes)),
            "halt_until": chain.halt_until, "drills": drills, "drill": drill,
            "halt_block": halt_block, "verdict": verdict, "halts": tuple(halts)}
    if governance is None:
        return GovernanceSnapshot(**base)
    council = governance.council
    last = council.enactments[-1].signing.signers if council.enactments else ()
    members = tuple(CouncilMemberView(name=f"member-{m.identifier}",
                                      online=m.behaviour != "offline",
                                      signed=m.identifier in last, behaviour=m.behaviour)
                    for m in council.members)
    occupants = world.occupants()
    serving = _serving_states(world, occupants)  # first: it brings every node up to now
    return GovernanceSnapshot(
        **base, has_council=True, council=members, proposals=_proposals(council),
        rounds=tuple(_rounds(council)),
        lifecycle=_lifecycle(governance, halts) + _serving_steps(world, occupants),
        serving=serving)


def _serving_states(world: Any, occupants: Sequence[Any]) -> tuple[str, ...]:
    """Each uid's serving state as its own node sees it now (the nodes' views are the ones
    the miners and validators consult; reading them processes what has reached them)."""
    serving, now = world.governance.serving, world.env.now
    states = [""] * world.chain.ledger.capacity
    for neuron in occupants:
        if not serving.halted(neuron.uid, now):
            states[neuron.uid] = "serving"
        elif neuron.behaviour in HALT_IGNORING[neuron.role]:
            states[neuron.uid] = "rogue"
        else:
            states[neuron.uid] = "halted"
    return tuple(states)


def _serving_steps(world: Any, occupants: Sequence[Any]
                   ) -> tuple[tuple[str, int | None, str], ...]:
    """The serving halt on the timeline: when the miners stopped (by their own nodes'
    clocks), who kept serving, who was penalised on evidence."""
    gate = world.chain.governance
    serving_halts = gate.serving_halts if gate is not None else []
    if not serving_halts:
        return (("serving halted", None, ""),)
    start, end = serving_halts[0]
    serving = world.governance.serving
    miners = [n for n in occupants if n.role == "miner" and n.behaviour in SERVING_MINERS]
    obeying = [n for n in miners if n.behaviour not in HALT_IGNORING["miner"]]
    since = start * BLOCK_SECONDS
    delays = [stop - since for n in obeying
              for stop in serving.views[n.uid].stops()[-1:] if stop >= since]
    detail = f"{len(delays)}/{len(obeying)} miners stopped"
    if delays:
        detail += f", the last {max(delays):.2f} s after the block"
    rogues = [str(n.uid) for n in miners if n.behaviour in HALT_IGNORING["miner"]]
    if rogues:
        detail += f"; still serving: uid {', '.join(rogues)}"
    steps = [("serving halted", start, detail)]
    if end is not None:
        steps.append(("serving back", end, "halt over"))
    if gate is not None and gate.penalised:
        steps.append(("rogues penalised", None, ", ".join(sorted(gate.penalised))))
    return tuple(steps)


def _halt_in_force(halts: Sequence[tuple[int, str]]) -> int | None:
    """The block of the last halt not followed by a resume."""
    for block, kind in reversed(halts):
        if kind == "halt":
            return block
        if kind == "resume":
            return None
    return None


def _proposals(council: Any) -> tuple[ProposalView, ...]:
    views = []
    for enactment in council.enactments:
        key = council.keys[SIGNING_KEY[enactment.action]]
        signed = enactment.signed
        status = ("accepted" if enactment.accepted else "not signed" if enactment.result
                  is None else f"rejected: {enactment.result.error}")
        views.append(ProposalView(
            proposal_id=str(signed.proposal.proposal_id) if signed else "-",
            action=enactment.action, scope=",".join(signed.proposal.scopes) if signed else "-",
            signatures=len(enactment.signing.signers), threshold=key.public.min_signers,
            status=status))
    return tuple(views)


def _rounds(council: Any) -> list[str]:
    """``HALT #1 signers 1,2,3: aggregate verified`` / ``... invalid share, excluded 3``."""
    lines = []
    for enactment in council.enactments:
        for number, attempt in enumerate(enactment.signing.attempts, start=1):
            signers = ",".join(str(s) for s in attempt.signers)
            line = f"{enactment.action} #{number} at {_block(attempt.started_at)}: " \
                   f"signers {signers}: {OUTCOME_TEXT.get(attempt.outcome, attempt.outcome)}"
            if attempt.culprits:
                line += f", excluded {','.join(str(c) for c in attempt.culprits)}"
            lines.append(line)
    return lines


def _lifecycle(governance: Any, halts: Sequence[tuple[int, str]]
               ) -> tuple[tuple[str, int | None, str], ...]:
    """detected → proposed → signed → applied → gossiped → extended → resumed, with blocks."""
    council = governance.council
    alarm = council.first_alarm
    steps: list[tuple[str, int | None, str]] = [
        ("detected", alarm.block if alarm else None, alarm.detector if alarm else "")]
    halt = next((e for e in council.enactments if e.action == "HALT"), None)
    steps.append(("proposed", _block(halt.requested_at) if halt else None,
                  "HALT " + ",".join(council.plan.halt_scopes) if halt else ""))
    signed = halt is not None and halt.signed is not None
    steps.append(("signed", _block(halt.signing.finished_at) if halt and signed else None,
                  f"{halt.signing.rounds} round(s)" if halt else ""))
    applied = next((block for block, kind in halts if kind == "halt"), None)
    steps.append(("applied", applied, ""))
    gossip = ""
    if applied is not None:
        summary = governance.propagation(applied).summary()
        gossip = f"p50 {summary['p50_s']:.2f} s, p95 {summary['p95_s']:.2f} s after the block"
    steps.append(("gossiped", applied, gossip))
    extends = [e.result.block for e in council.enactments
               if e.action == "EXTEND" and e.accepted and e.result]
    if extends:
        steps.append(("extended", extends[-1], f"{len(extends)} time(s)"))
    resumed = next((block for block, kind in halts if kind == "resume"), None)
    steps.append(("resumed", resumed, ""))
    return tuple(steps)


def _block(seconds: float) -> int:
    return int(seconds // BLOCK_SECONDS)
