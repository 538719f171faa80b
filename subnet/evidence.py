"""Evidence that a neuron kept serving through a serving halt, and the penalty it carries.

Once the council has halted the ``serving`` scope, an honest miner stops answering as soon as
it has verified the HALT (``subnet.serving``); a gossip delay is seconds, well under a block. A
rogue keeps answering, and every answer carries its own hotkey signature
(``subnet.provenance``). Anyone may later submit such replies (``SubmitEvidence``); the chain
accepts them only if they prove the case, and then penalises the accused.

The rule (parameters in ``[governance.gate]``, ``EvidenceRules``):

1. the accused is registered on ``uid`` under the hotkey named;
2. it has not been penalised for a halt already (one penalty per hotkey);
3. every reply is well formed, names the accused's hotkey and verifies against the accused's
   public key (``provenance.verify_reply``, the validators' own check);
4. the replies answer distinct queries, and each was answered in a block inside a serving
   halt the chain recorded, at least ``evidence_grace_blocks`` blocks after it began (a
   query in flight when the HALT arrived is no offence);
5. there are at least ``evidence_min_replies`` of them.

Then the chain burns ``rogue_slash_fraction`` of the stake on the uid (every staker pro rata,
as subtensor burns a slash) and, with ``rogue_deregister``, deregisters the uid (the rest of
its stake goes back to its owners, as pruning does). Evidence that fails a rule is refused
with the rule's error code and changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from subnetsim.subnet.config import param
from subnetsim.subnet.errors import ExtrinsicError
from subnetsim.subnet.extrinsics import SubmitEvidence
from subnetsim.subnet.ledger import Ledger
from subnetsim.subnet.provenance import SignedReply, verify_reply

__all__ = ["EvidenceRules", "MAX_EVIDENCE_REPLIES", "admit_evidence", "check_evidence",
           "in_halt"]

MAX_EVIDENCE_REPLIES = 64


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceRules:
    """The governance penalty for serving through a serving halt."""

    evidence_min_replies: int = param(3, 1, MAX_EVIDENCE_REPLIES,
                                      "signed post-HALT replies that prove a rogue")
    evidence_grace_blocks: int = param(1, 0, 10_000, "blocks after a halt starts before a "
                                       "reply counts (in-flight answers are no offence)")
    rogue_slash_fraction: float = param(0.5, 0.0, 1.0, "share of the uid's stake burned")
    rogue_deregister: bool = param(True, doc="deregister a proven rogue")


def in_halt(block: int, halts: Sequence[tuple[int, int | None]], grace: int) -> bool:
    """Whether ``block`` lies in a serving halt ``[start + grace, end)`` (end None: open)."""
    return any(start + grace <= block and (end is None or block < end) for start, end in halts)


def check_evidence(call: SubmitEvidence, ledger: Ledger, *,
                   halts: Sequence[tuple[int, int | None]], rules: EvidenceRules,
                   public_key_of: Callable[[str], bytes | None],
                   penalised: set[str]) -> list[SignedReply]:
    """The replies, if ``call`` proves its case (rules 1-5 of the module docstring).

    Raises:
        ExtrinsicError: EvidenceNotRegistered, EvidenceAlreadyPenalised, MalformedEvidence,
            BadEvidenceSignature, EvidenceOutsideHalt or NotEnoughEvidence.
    """
    uid = call.uid
    if (not isinstance(uid, int) or not 0 <= uid < ledger.capacity
            or not ledger.registered[uid] or ledger.hotkeys[uid] != call.accused):
        raise ExtrinsicError("EvidenceNotRegistered", f"{call.accused} is not on uid {uid}")
    if call.accused in penalised:
        raise ExtrinsicError("EvidenceAlreadyPenalised", call.accused)
    if not 0 < len(call.replies) <= MAX_EVIDENCE_REPLIES:
        raise ExtrinsicError("MalformedEvidence", f"1 to {MAX_EVIDENCE_REPLIES} replies")
    try:
        replies = [SignedReply.from_json(dict(data)) for data in call.replies]
    except (KeyError, TypeError, ValueError) as error:
        raise ExtrinsicError("MalformedEvidence", str(error)[:200]) from None
    public_key = public_key_of(call.accused)
    for reply in replies:
        if (public_key is None or reply.hotkey != call.accused
                or not verify_reply(public_key, reply)):
            raise ExtrinsicError("BadEvidenceSignature", f"a reply is not {call.accused}'s")
    if len({reply.query for reply in replies}) != len(replies):
        raise ExtrinsicError("MalformedEvidence", "replies to the same query twice")
    outside = [r.block for r in replies if not in_halt(r.block, halts, rules.evidence_grace_blocks)]
    if outside:
        raise ExtrinsicError("EvidenceOutsideHalt", f"block {outside[0]}")
    if len(replies) < rules.evidence_min_replies:
        raise ExtrinsicError("NotEnoughEvidence", f"{len(replies)} of "
                             f"{rules.evidence_min_replies} replies")
    return replies


def admit_evidence(call: SubmitEvidence, ledger: Ledger, *,
                   halts: Sequence[tuple[int, int | None]], rules: EvidenceRules,
                   public_key_of: Callable[[str], bytes | None],
                   penalised: set[str]) -> dict[str, Any]:
    """Check ``call`` and apply the penalty; the facts for the chain's log."""
    replies = check_evidence(call, ledger, halts=halts, rules=rules,
                             public_key_of=public_key_of, penalised=penalised)
    slashed = ledger.slash(call.uid, rules.rogue_slash_fraction)
    if rules.rogue_deregister:
        ledger.deregister(call.uid)
    penalised.add(call.accused)
    return {"uid": call.uid, "hotkey": call.accused, "replies": len(replies),
            "slashed_tao": slashed, "deregistered": rules.rogue_deregister}
