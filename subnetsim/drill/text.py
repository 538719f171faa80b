"""Text rendering of a drill report (the default output of ``subnetsim drill``)."""

from __future__ import annotations

from typing import Any

__all__ = ["render_text"]


def _number(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def _block(value: int | None) -> str:
    return "-" if value is None else f"block {value}"


def _signing_line(entry: dict[str, Any]) -> str:
    excluded = [f"{culprit} ({_why(attempt, culprit)})" for attempt in entry["attempts"]
                for culprit in attempt["culprits"]]
    signers = ", ".join(map(str, entry["signers"])) or "none"
    line = (f"{entry['action']}: {entry['rounds']} round(s), {entry['retries']} retr"
            f"{'y' if entry['retries'] == 1 else 'ies'}, {entry['seconds']:.2f} s, "
            f"signers {signers}")
    if excluded:
        line += f"; passed over {', '.join(excluded)}"
    if entry["block"] is None:
        return f"{line}; not signed"
    outcome = "accepted" if entry["accepted"] else f"rejected ({entry['error']})"
    return f"{line}; {outcome} in {_block(entry['block'])}"


def _why(attempt: dict[str, Any], culprit: int) -> str:
    """Why a signer was passed over: it refused, timed out, or sent an invalid share."""
    refused = culprit in attempt["refusals"] or str(culprit) in attempt["refusals"]
    return "refused" if refused else attempt["outcome"].replace("_", " ")


def _attack_lines(data: dict[str, Any]) -> list[str]:
    attack = data["attack"]
    if attack["kind"] == "none":
        return ["attack       none"]
    uids = ", ".join(map(str, attack["attacker_uids"])) or "none"
    lines = [f"attack       {attack['kind']} from block {attack['start_block']} "
             f"(attacker uids: {uids})"]
    registrations = data["attack_registrations"]
    if registrations["submitted"]:
        lines.append(f"             {registrations['submitted']} registrations: "
                     f"{registrations['accepted']} accepted, {registrations['refused_by_halt']} "
                     f"refused by the halt; {data['honest_uids_pruned']} honest uids pruned")
    return lines


def _halt_lines(data: dict[str, Any]) -> list[str]:
    if data["halt_block"] is None:
        return ["halt         none"]
    scopes = ", ".join(data["halt_scopes"])
    lines = [f"halt         block {data['halt_block']} ({scopes}); "
             f"{_number(data['time_to_halt_s'], ' s')} after detection, "
             f"{_number(data['attack_to_halt_s'], ' s')} after the attack began"]
    propagation = data["propagation"]
    if propagation is not None:
        lines.append(f"propagation  {propagation['nodes']} nodes: p50 "
                     f"{propagation['p50_s']:.3f} s, p95 {propagation['p95_s']:.3f} s, max "
                     f"{propagation['max_s']:.3f} s ({propagation['reached']:.0%} reached)")
    halt = data["halt"]
    if halt is not None:
        lines.append(f"halt message {halt['message']}")
        lines.append(f"group key    {halt['group_public_key_hex']}")
        lines.append(f"signature    {halt['signature_hex']}")
    lines.append(f"resume       {_block(data['resume_block'])}; halt over in "
                 f"{_block(data['halt_end_block'])}")
    return lines


def _serving_lines(data: dict[str, Any]) -> list[str]:
    serving = data.get("serving")
    if not serving:
        return []
    refusals = ", ".join(f"{count} {reason}" for reason, count in
                         serving["node_refusals"].items()) or "none"
    if serving["halt_block"] is None:
        return [f"serving      not halted; nodes refused: {refusals}"]
    lines = [f"serving      halted in block {serving['halt_block']}: "
             f"{serving['honest_stopped']}/{serving['honest_miners']} honest miners stopped "
             f"(p50 {_number(serving['honest_stop_p50_s'], ' s', 3)}, p95 "
             f"{_number(serving['honest_stop_p95_s'], ' s', 3)}, max "
             f"{_number(serving['honest_stop_max_s'], ' s', 3)}; gossip bound "
             f"{serving['gossip_bound_s']:.3f} s)",
             f"             detection to signature "
             f"{_number(serving['detection_to_signature_s'], ' s')}, to chain halt "
             f"{_number(serving['detection_to_chain_halt_s'], ' s')}, to last honest stop "
             f"{_number(serving['detection_to_last_honest_stop_s'], ' s')}",
             f"             answers after the HALT: {serving['honest_answers_after_halt']} "
             f"honest ({serving['honest_answers_in_flight']} in flight), "
             f"{serving['rogue_answers_after_halt']} rogue; nodes refused: {refusals}"]
    for rogue in serving["rogues"]:
        penalty = rogue["penalty"]
        paid = ("no penalty" if penalty is None else
                f"slashed {penalty['slashed_tao']:.4f} TAO"
                + (", deregistered" if penalty["deregistered"] else "")
                + f" in block {penalty['block']}")
        lines.append(f"rogue        uid {rogue['uid']}: {rogue['answers_after_halt']} answers "
                     f"after the HALT, evidence {rogue['evidence_replies']} signed replies "
                     f"({'verified' if rogue['evidence_verified'] else 'NOT verified'}); {paid}")
    if serving["resume_block"] is not None:
        lines.append(f"serving back halt over in block {serving['resume_block']}; honest "
                     f"restart p95 {_number(serving['honest_restart_p95_s'], ' s', 3)}, "
                     f"{serving['honest_answers_after_resume']} honest answers since")
    return lines


def render_text(data: dict[str, Any]) -> str:
    """The report as aligned lines, ending with the checks and the verdict."""
    lines = [f"drill {data['drill']} (seed {data['seed']}): {data['blocks']} blocks, "
             f"digest {data['digest'][:16]}", *_attack_lines(data)]
    detection = (f"{_block(data['detection_block'])} by {data['detector']}"
                 if data["detection_block"] is not None else "none")
    lines.append(f"detection    {detection}")
    lines += [f"signing      {_signing_line(entry)}" for entry in data["signing"]]
    lines += _halt_lines(data)
    lines.append(f"damage       {data['attacker_emission_before_halt']:.4f} TAO paid to "
                 f"attackers before the halt; {data['emission_paid_while_halted']:.4f} TAO "
                 f"paid while halted")
    lines.append(f"halted calls {data['weights_accepted_while_halted']} weight and "
                 f"{data['registrations_accepted_while_halted']} registration calls accepted "
                 f"while halted")
    lines += _serving_lines(data)
    lines += [f"submitted    {s['label']} in {_block(s['block'])}: "
              f"{'accepted' if s['accepted'] else 'rejected, ' + str(s['error'])}"
              for s in data["submissions"]]
    conservation = data["conservation"]
    lines.append(f"ledger       {'conserved' if conservation['ok'] else 'NOT conserved'} "
                 f"(max drift {conservation['max_residual_tao']:.2e} TAO)")
    failed = [name for name, ok in data["checks"].items() if not ok]
    lines.append(f"checks       {len(data['checks']) - len(failed)}/{len(data['checks'])} passed"
                 + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    lines.append(f"result       {'PASSED' if data['passed'] else 'FAILED'}")
    return "\n".join(lines)
