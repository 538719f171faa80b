"""The evidence rule: which signed replies prove a rogue, and what the penalty does."""

from __future__ import annotations

import dataclasses

import pytest

from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.errors import ExtrinsicError
from subnetsim.subnet.evidence import EvidenceRules, admit_evidence
from subnetsim.subnet.extrinsics import SubmitEvidence
from subnetsim.subnet.ledger import Ledger, RegistrationRules
from subnetsim.subnet.provenance import hotkey_public_key, hotkey_secret_key, sign_reply

SEED = 9
HALTS = [(10, 40)]  # serving halted from block 10 to block 40
RULES = EvidenceRules(evidence_min_replies=3, evidence_grace_blocks=1,
                      rogue_slash_fraction=0.5, rogue_deregister=True)


def _ledger() -> Ledger:
    ledger = Ledger(hyper=Hyperparameters(max_allowed_uids=4), rules=RegistrationRules())
    for uid in range(4):
        ledger.hotkeys[uid], ledger.coldkeys[uid] = f"miner-{uid}", f"cold-{uid}"
        ledger.registered[uid] = True
    ledger.credit_stake("cold-2", 2, 40.0)
    ledger.credit_stake("delegator", 2, 20.0)
    return ledger


def _replies(hotkey: str, blocks: list[int], signer: str | None = None) -> tuple[dict, ...]:
    key = hotkey_secret_key(SEED, signer or hotkey)
    return tuple(dataclasses.replace(
        sign_reply(key, signer or hotkey, bytes([i]) * 16, block, None), hotkey=hotkey).as_json()
        for i, block in enumerate(blocks))


def _admit(ledger: Ledger, call: SubmitEvidence, penalised: set[str] | None = None) -> dict:
    return admit_evidence(call, ledger, halts=HALTS, rules=RULES,
                          public_key_of=lambda hotkey: hotkey_public_key(SEED, hotkey),
                          penalised=set() if penalised is None else penalised)


def test_proven_evidence_burns_half_the_stake_pro_rata_and_deregisters():
    ledger = _ledger()
    before = ledger.total_stake() + ledger.total_balance() + ledger.burned
    facts = _admit(ledger, SubmitEvidence(uid=2, accused="miner-2",
                                          replies=_replies("miner-2", [11, 12, 30])))
    assert facts["slashed_tao"] == pytest.approx(30.0) and facts["deregistered"]
    assert ledger.burned == pytest.approx(30.0)
    assert ledger.balances["delegator"] == pytest.approx(10.0)  # the rest goes back to owners
    assert not ledger.registered[2] and ledger.hotkeys[2] is None
    assert ledger.total_stake() + ledger.total_balance() + ledger.burned == pytest.approx(before)


@pytest.mark.parametrize(("uid", "accused", "blocks", "signer", "code"), [
    (2, "miner-2", [10, 11, 12], None, "EvidenceOutsideHalt"),  # block 10: within grace
    (2, "miner-2", [11, 12, 40], None, "EvidenceOutsideHalt"),  # block 40: halt over
    (2, "miner-2", [11, 12], None, "NotEnoughEvidence"),
    (1, "miner-1", [11, 12, 13], "miner-2", "BadEvidenceSignature"),  # framing uid 1
    (1, "miner-2", [11, 12, 13], None, "EvidenceNotRegistered"),  # miner-2 is not on uid 1
])
def test_evidence_that_does_not_prove_the_case_is_refused_and_changes_nothing(
        uid, accused, blocks, signer, code):
    ledger = _ledger()
    stake = ledger.stake.copy()
    call = SubmitEvidence(uid=uid, accused=accused, replies=_replies(accused, blocks, signer))
    with pytest.raises(ExtrinsicError) as error:
        _admit(ledger, call)
    assert error.value.code == code
    assert (ledger.stake == stake).all() and ledger.registered.all() and ledger.burned == 0


def test_edited_replies_duplicates_and_a_second_penalty_are_refused():
    ledger = _ledger()
    replies = _replies("miner-2", [11, 12, 13])
    edited = (dict(replies[0], output="00" * 32), *replies[1:])
    for bad, code in ((edited, "BadEvidenceSignature"),
                      ((replies[0], replies[0], replies[1]), "MalformedEvidence"),
                      (({"hotkey": "miner-2"},), "MalformedEvidence")):
        with pytest.raises(ExtrinsicError) as error:
            _admit(ledger, SubmitEvidence(uid=2, accused="miner-2", replies=bad))
        assert error.value.code == code
    with pytest.raises(ExtrinsicError) as error:
        _admit(ledger, SubmitEvidence(uid=2, accused="miner-2", replies=replies),
               penalised={"miner-2"})
    assert error.value.code == "EvidenceAlreadyPenalised"
