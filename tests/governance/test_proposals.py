"""Council-side proposals: drafting, what a member checks before signing, the signed record."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.signing import SigningKey

from subnetsim.governance.proposals import (
    ProposalBook,
    ProposalRefused,
    SignedProposal,
    SigningPolicy,
    check_before_signing,
)
from subnetsim.subnet.governance_gate import Proposal, decode_proposal
from subnetsim.subnet.rng import numpy_stream

NETWORK = bytes([3]) * 32
POLICY = SigningPolicy(network_id=NETWORK, allowed_scopes=("weights", "emissions"),
                       max_lifetime_blocks=100)


def message(**change) -> bytes:
    fields = {"network_id": NETWORK, "action": "HALT", "scopes": ("weights",), "proposal_id": 1,
              "nonce": bytes(16), "block": 10, "expiry": 60, **change}
    return Proposal(**fields).encode()


def test_a_member_accepts_a_proposal_it_can_stand_behind():
    proposal = check_before_signing(message(), "halt", current_block=12, policy=POLICY)
    assert proposal.action == "HALT" and proposal.scopes == ("weights",)


@pytest.mark.parametrize(("data", "key", "block", "reason"), [
    (message(network_id=bytes(32)), "halt", 12, "another network"),
    (message(action="RESUME"), "halt", 12, "not signed with the halt key"),
    (message(), "resume", 12, "not signed with the resume key"),
    (message(scopes=("all",)), "halt", 12, "outside the council's policy"),
    (message(), "halt", 9, "not valid at block 9"),
    (message(), "halt", 60, "not valid at block 60"),
    (message(expiry=111), "halt", 12, "lifetime over 100"),
    (message().replace(b"block=10", b"block=010"), "halt", 12, "malformed"),
])
def test_a_member_refuses_what_it_should_not_sign(data, key, block, reason):
    with pytest.raises(ProposalRefused, match=reason):
        check_before_signing(data, key, current_block=block, policy=POLICY)


def test_drafts_get_rising_ids_and_fresh_nonces_from_the_keyed_stream():
    def drafts(seed: int) -> list[Proposal]:
        book = ProposalBook(NETWORK, numpy_stream(seed, "council.proposals"))
        return [book.draft("HALT", ("weights", "emissions"), block, 50) for block in (5, 6, 7)]

    first = drafts(1)
    assert [p.proposal_id for p in first] == [1, 2, 3]
    assert len({p.nonce for p in first}) == 3
    assert first[0].scopes == ("emissions", "weights") and first[0].expiry == 55
    assert drafts(1) == first and drafts(2) != first


def test_a_signed_proposal_carries_what_a_standard_verifier_needs():
    key = SigningKey(bytes(range(32)))
    data = message()
    signed = SignedProposal(proposal=decode_proposal(data), message=data,
                            signature=key.sign(data).signature,
                            group_public_key=key.verify_key.encode())
    report = signed.as_json()

    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(report["group_public_key_hex"]))
    public.verify(bytes.fromhex(report["signature_hex"]), bytes.fromhex(report["message_hex"]))
    assert report["message"] == data.decode()
    call = signed.extrinsic("relay-7")
    assert (call.hotkey, bytes.fromhex(call.message)) == ("relay-7", data)
