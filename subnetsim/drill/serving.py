"""The ``serving`` block of a drill report: did the AI stop, who kept serving, were they caught.

Measured from what the run recorded, never re-simulated: each node's own decisions
(``subnet.serving.ServingView``: when it verified the HALT and stopped), the transcript of
replies validators received while the chain's serving scope was halted, the watcher's evidence
and the chain's ``penalised`` events. Signatures in the evidence are re-checked with the
validators' own verifier (``provenance.verify_reply``).

"After the HALT" means after the block that carried it was produced (``halt_block`` x 12 s).
An honest miner answers after that only to queries that reached it before the HALT did (its
own gossip delay): ``honest_answers_in_flight`` counts the answers for which that holds, and
the ``honest_answers_only_in_flight`` check requires it of every one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from subnetsim.behaviours import HALT_IGNORING, SERVING_MINERS
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.provenance import hotkey_public_key, verify_reply
from subnetsim.subnet.serving import ServingNetwork

__all__ = ["serving_checks", "serving_report"]


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    p50, p95 = np.percentile(values, [50, 95])
    return {"p50": float(p50), "p95": float(p95), "max": float(max(values))}


def _first_after(times: Iterable[float], start: float) -> float | None:
    return next((t for t in times if t >= start), None)


def serving_report(run: Any) -> dict[str, Any] | None:
    """The ``serving`` object of the report of ``run`` (a ``drill.report.DrillRun``); None
    for a world without a serving network."""
    world = run.world
    governance = world.governance
    gate = world.chain.governance
    if governance is None or gate is None:
        return None
    serving = governance.serving
    for view in serving.views:  # every node reads what has reached it by now
        view.advance(world.env.now)
    halts = gate.serving_halts
    if not halts:
        return {"halt_block": None, "node_refusals": _refusals(serving),
                "nodes_halted_without_chain": _unbacked_halts(serving, gate.used_nonces)}
    halt_block, end_block = halts[0]
    halt_time = halt_block * BLOCK_SECONDS
    end_time = end_block * BLOCK_SECONDS if end_block is not None else None
    miners = [n for n in world.neurons if n.role == "miner" and n.behaviour in SERVING_MINERS]
    honest = {n.uid: n for n in miners if n.behaviour not in HALT_IGNORING["miner"]}
    rogue = {n.uid: n for n in miners if n.behaviour in HALT_IGNORING["miner"]}
    stops = {uid: _first_after(serving.views[uid].stops(), halt_time) for uid in honest}
    delays = [t - halt_time for t in stops.values() if t is not None]
    stop = _percentiles(delays)
    bound = float(np.max(serving.delays()[[serving.node_of(u) for u in range(len(serving.views))]]))
    during = [w for w in serving.transcript if w.time >= halt_time
              and (end_time is None or w.time < end_time)]
    honest_after = [w for w in during if w.uid in honest]
    in_flight = [w for w in honest_after if _before(w.time, stops[w.uid])]  # sent before it knew
    alarm = run.council.first_alarm
    halt = next((e for e in run.council.enactments if e.action == "HALT" and e.accepted), None)
    resume = _resume(serving, honest, end_time)
    return {
        "halt_block": halt_block,
        "resume_block": end_block,
        "gossip_bound_s": bound,
        "honest_miners": len(honest),
        "honest_stopped": len(delays),
        "honest_stop_p50_s": stop["p50"],
        "honest_stop_p95_s": stop["p95"],
        "honest_stop_max_s": stop["max"],
        "detection_to_signature_s": (halt.signing.finished_at - alarm.time
                                     if halt is not None and alarm is not None else None),
        "detection_to_chain_halt_s": halt_time - alarm.time if alarm is not None else None,
        "detection_to_last_honest_stop_s": (halt_time + stop["max"] - alarm.time
                                            if alarm is not None and stop["max"] is not None
                                            else None),
        "honest_answers_after_halt": len(honest_after),
        "honest_answers_in_flight": len(in_flight),
        "rogue_answers_after_halt": sum(1 for w in during if w.uid in rogue),
        "rogues": [_rogue(run, uid, neuron.hotkey, during) for uid, neuron in rogue.items()],
        "penalties_applied": sum(1 for e in run.log.events if e.kind == "penalised"),
        **resume,
        "node_refusals": _refusals(serving),
        "nodes_halted_without_chain": _unbacked_halts(serving, gate.used_nonces),
    }


def _before(time: float, stop: float | None) -> bool:
    """Whether ``time`` is before a miner's stop (never stopped: always)."""
    return stop is None or time < stop


def _rogue(run: Any, uid: int, hotkey: str, during: list[Any]) -> dict[str, Any]:
    """One rogue miner: what it served, whether the evidence verifies, what it cost it."""
    watcher = run.actors.get("watcher")
    submitted = watcher.accused.get(uid, []) if watcher is not None else []
    public_key = hotkey_public_key(run.seed, hotkey)
    penalty = next((e for e in run.log.events if e.kind == "penalised"
                    and e.data.get("hotkey") == hotkey), None)
    verified = bool(submitted) and penalty is not None and all(
        reply.hotkey == hotkey and verify_reply(public_key, reply) for reply in submitted)
    return {
        "uid": uid, "hotkey": hotkey,
        "answers_after_halt": sum(1 for w in during if w.uid == uid),
        "evidence_replies": len(submitted),
        "evidence_verified": verified,
        "penalty": None if penalty is None else {
            "block": penalty.block, "slashed_tao": penalty.data["slashed_tao"],
            "deregistered": penalty.data["deregistered"]},
    }


def _resume(serving: ServingNetwork, honest: dict[int, Any],
            end_time: float | None) -> dict[str, Any]:
    """How fast serving came back after the halt ended, and whether it did."""
    if end_time is None:
        return {"honest_restart_p95_s": None, "honest_answers_after_resume": 0}
    restarts = [t - end_time for uid in honest
                for t in [_first_after(serving.views[uid].restarts(), end_time)] if t is not None]
    return {"honest_restart_p95_s": _percentiles(restarts)["p95"],
            "honest_answers_after_resume": sum(serving.answers_after_halt.get(uid, 0)
                                               for uid in honest)}


def _refusals(serving: ServingNetwork) -> dict[str, int]:
    """How many times nodes refused a governance message, by the rule that refused it."""
    counts = Counter(d.reason for view in serving.views for d in view.decisions if not d.accepted)
    return dict(sorted(counts.items()))


def _unbacked_halts(serving: ServingNetwork, chain_nonces: set[bytes]) -> int:
    """Nodes that applied a proposal the chain never accepted (a forgery that got through)."""
    return sum(1 for view in serving.views
               if any(d.accepted and d.nonce not in chain_nonces for d in view.decisions))


def serving_checks(data: dict[str, Any] | None, submissions: list[dict[str, Any]],
                   expect_resume: bool) -> dict[str, bool]:
    """The serving checks a drill adds when its chain halted serving."""
    if data is None:
        return {}
    checks = {"no_node_halted_by_unverified_message": data["nodes_halted_without_chain"] == 0}
    forged = [s for s in submissions if "evidence" in s["label"] and s["label"] != "evidence"]
    if forged:
        checks["invalid_evidence_refused"] = not any(s["accepted"] for s in forged)
    if data["halt_block"] is None:
        return checks
    checks["honest_miners_stopped_within_gossip_bound"] = (
        data["honest_stopped"] == data["honest_miners"]
        and (data["honest_stop_max_s"] or 0.0) <= data["gossip_bound_s"] + 1e-9)
    checks["honest_answers_only_in_flight"] = (data["honest_answers_in_flight"]
                                               == data["honest_answers_after_halt"])
    if data["rogues"]:
        checks["rogues_proven_and_penalised"] = all(
            r["evidence_verified"] and r["penalty"] is not None for r in data["rogues"]
            if r["answers_after_halt"])
    if expect_resume and data["honest_miners"]:
        checks["serving_returned_after_resume"] = data["honest_answers_after_resume"] > 0
    return checks
