"""The chain side of the kill switch: canonical proposal bytes and the gate's acceptance rules.

A FROST group signature is a plain Ed25519 signature, so these chain-level tests sign with
ordinary PyNaCl keys standing in for the council's HALT and RESUME group keys. Blocks are
produced at 12 s; ``submit_at(chain, k, call)`` makes a call land in block ``k``.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey

from subnetsim.subnet.emission import EmissionRules
from subnetsim.subnet.extrinsics import AddStake, BrakeVote, Register, RemoveStake, SubmitProposal
from subnetsim.subnet.governance_gate import (
    ALL_SCOPES,
    GateRules,
    GovernanceGate,
    Proposal,
    ProposalError,
    decode_proposal,
    genesis_hash,
)
from tests.subnet.conftest import through

HALT_KEY = SigningKey(bytes(range(32)))
RESUME_KEY = SigningKey(bytes(range(32, 64)))


@pytest.fixture
def gated(chain):
    """The default chain with a governance gate registered at genesis."""
    chain.governance = GovernanceGate(
        network_id=genesis_hash(chain.ledger, chain.netuid),
        halt_key=HALT_KEY.verify_key.encode(), resume_key=RESUME_KEY.verify_key.encode(),
        rules=GateRules(max_halt_blocks=50, brake_fraction=0.1, brake_halt_blocks=10))
    return chain


def make_proposal(chain, action="HALT", scopes=("all",), *, block=0, expiry=20, nonce=1,
                  network_id=None) -> Proposal:
    return Proposal(network_id=network_id or chain.governance.network_id, action=action,
                    scopes=scopes, proposal_id=nonce, nonce=nonce.to_bytes(16, "little"),
                    block=block, expiry=expiry)


def signed(proposal: Proposal, key: SigningKey | None = None) -> SubmitProposal:
    if key is None:
        key = RESUME_KEY if proposal.action == "RESUME" else HALT_KEY
    message = proposal.encode()
    return SubmitProposal(message=message.hex(), signature=key.sign(message).signature.hex())


# ----------------------------------------------------------------------------------------------
# encoding


proposals = st.builds(
    Proposal,
    network_id=st.binary(min_size=32, max_size=32),
    action=st.sampled_from(["HALT", "EXTEND", "RESUME"]),
    scopes=st.one_of(st.just(("all",)), st.sets(st.sampled_from(ALL_SCOPES[:-1]), min_size=1)
                     .map(lambda names: tuple(sorted(names)))),
    proposal_id=st.integers(0, 2**64 - 1),
    nonce=st.binary(min_size=16, max_size=16),
    block=st.integers(0, 2**40),
    expiry=st.integers(2**40 + 1, 2**64 - 1),
)


@given(proposals)
def test_decoding_the_canonical_bytes_gives_back_the_proposal(proposal):
    assert decode_proposal(proposal.encode()) == proposal


def test_the_encoding_is_the_documented_ascii_line():
    proposal = Proposal(network_id=bytes([0xAB]) * 32, action="HALT",
                        scopes=("emissions", "weights"), proposal_id=7,
                        nonce=bytes([1]) * 16, block=120, expiry=220)
    assert proposal.encode() == (
        b"subnetsim-governance/v1|network=" + b"ab" * 32 + b"|action=HALT"
        b"|scope=emissions,weights|proposal=7|nonce=" + b"01" * 16 + b"|block=120|expiry=220")


CANONICAL = Proposal(network_id=bytes(32), action="HALT", scopes=("staking", "weights"),
                     proposal_id=7, nonce=bytes(16), block=120, expiry=220).encode()


@pytest.mark.parametrize("message", [
    CANONICAL.replace(b"v1", b"v2"),
    CANONICAL.replace(b"proposal=7", b"proposal=07"),
    CANONICAL.replace(b"block=120", b"block=+120"),
    CANONICAL.replace(b"network=00", b"network=0A"),
    CANONICAL.replace(b"staking,weights", b"weights,staking"),
    CANONICAL.replace(b"staking,weights", b"all,weights"),
    CANONICAL.replace(b"staking,weights", b"mining"),
    CANONICAL.replace(b"staking,weights", b"weights,weights"),
    CANONICAL.replace(b"HALT", b"halt"),
    CANONICAL.replace(b"|action", b"| action"),
    CANONICAL.replace(b"expiry=220", b"expiry=120"),
    CANONICAL.replace(b"expiry=220", b"expiry=18446744073709551616"),
    CANONICAL + b"\n",
    CANONICAL + b"|extra=1",
    CANONICAL.replace(b"|block=120", b"") + b"|block=120",
    "subnetsim-governance/v1|network=é".encode(),
    b"",
])
def test_anything_but_the_canonical_form_is_refused(message):
    with pytest.raises(ProposalError):
        decode_proposal(message)


# ----------------------------------------------------------------------------------------------
# acceptance


def test_a_signed_halt_halts_its_scopes_until_its_expiry(env, gated, submit_at):
    done = submit_at(gated, 3, signed(make_proposal(gated, scopes=("weights",), expiry=8)))
    env.run(until=through(7))

    assert done.value.accepted and done.value.facts["action"] == "HALT"
    assert gated.ledger.halted_scopes == frozenset({"weights"}) and gated.halt_until == 8
    env.run(until=through(8))
    assert gated.ledger.halted_scopes == frozenset()  # not extended: it expired by itself


def test_extend_moves_the_end_of_the_halt(env, gated, submit_at):
    submit_at(gated, 2, signed(make_proposal(gated, expiry=6, nonce=1)))
    extend = submit_at(gated, 5, signed(make_proposal(gated, "EXTEND", block=4, expiry=12,
                                                      nonce=2)))
    env.run(until=through(11))

    assert extend.value.accepted
    assert gated.ledger.is_halted("weights") and gated.halt_until == 12


@pytest.mark.parametrize(("change", "error"), [
    ({"network_id": b"\x07" * 32}, "WrongNetwork"),
    ({"expiry": 4}, "ProposalExpired"),
    ({"block": 9, "expiry": 30}, "ProposalNotYetValid"),
    ({"expiry": 51}, "HaltTooLong"),
])
def test_a_proposal_outside_its_network_or_window_is_refused(env, gated, submit_at, change,
                                                             error):
    fields = {"block": 0, "expiry": 20, **change}
    done = submit_at(gated, 4, signed(make_proposal(gated, **fields)))
    env.run(until=through(4))

    assert done.value.error == error
    assert gated.ledger.halted_scopes == frozenset() and not gated.governance.used_nonces


@pytest.mark.parametrize(("action", "key"), [
    ("HALT", RESUME_KEY),  # the RESUME key is not the HALT key: separate domains
    ("RESUME", HALT_KEY),  # the cheap key cannot release the brake
    ("HALT", SigningKey(bytes(32))),  # a key nobody registered
])
def test_a_proposal_signed_by_the_wrong_key_is_refused(env, gated, submit_at, action, key):
    gated.set_halt(("all",), until_block=None)
    done = submit_at(gated, 2, signed(make_proposal(gated, action), key))
    env.run(until=through(2))

    assert done.value.error == "BadProposalSignature"
    assert gated.ledger.halted_scopes == frozenset({"all"})


def test_a_replayed_proposal_is_refused_even_after_a_resume(env, gated, submit_at):
    halt = signed(make_proposal(gated, nonce=1, expiry=40))
    submit_at(gated, 2, halt)
    resume = submit_at(gated, 3, signed(make_proposal(gated, "RESUME", nonce=2)))
    replay = submit_at(gated, 5, halt)
    env.run(until=through(5))

    assert resume.value.accepted
    assert replay.value.error == "ProposalReplayed"
    assert gated.ledger.halted_scopes == frozenset()


def test_a_refused_proposal_does_not_spend_its_nonce(env, gated, submit_at):
    resume = signed(make_proposal(gated, "RESUME", nonce=9))
    early = submit_at(gated, 2, resume)
    submit_at(gated, 3, signed(make_proposal(gated, nonce=1)))
    later = submit_at(gated, 4, resume)
    env.run(until=through(4))

    assert early.value.error == "NotHalted"
    assert later.value.accepted and gated.ledger.halted_scopes == frozenset()


def test_tampering_with_a_signed_message_breaks_its_signature(env, gated, submit_at):
    original = signed(make_proposal(gated, scopes=("weights",)))
    tampered = bytes.fromhex(original.message).replace(b"scope=weights", b"scope=all")
    done = submit_at(gated, 2, dataclasses.replace(original, message=tampered.hex()))
    env.run(until=through(2))

    assert done.value.error == "BadProposalSignature"


@pytest.mark.parametrize("call", [
    SubmitProposal(message="zz", signature="00" * 64),
    SubmitProposal(message="AB", signature="00" * 64),
    SubmitProposal(message="abc", signature="00" * 64),
    SubmitProposal(message="00", signature="00" * 63),
])
def test_malformed_payloads_are_refused_with_a_code(env, gated, submit_at, call):
    done = submit_at(gated, 2, call)
    env.run(until=through(2))
    assert done.value.error == "MalformedProposal"


def test_a_resume_may_reopen_some_scopes_only(env, gated, submit_at):
    submit_at(gated, 2, signed(make_proposal(gated, nonce=1, expiry=30)))
    submit_at(gated, 3, signed(make_proposal(gated, "RESUME", scopes=("weights",), nonce=2)))
    env.run(until=through(3))

    ledger = gated.ledger
    assert not ledger.is_halted("weights")
    assert all(ledger.is_halted(scope) for scope in ("emissions", "registrations", "staking"))
    assert gated.halt_until == 30


def test_extend_needs_a_halt_of_those_scopes(env, gated, submit_at):
    nothing = submit_at(gated, 2, signed(make_proposal(gated, "EXTEND", nonce=1)))
    submit_at(gated, 3, signed(make_proposal(gated, scopes=("weights",), nonce=2)))
    wider = submit_at(gated, 4, signed(make_proposal(gated, "EXTEND", nonce=3)))
    env.run(until=through(4))

    assert nothing.value.error == "NotHalted"
    assert wider.value.error == "ExtendScopeMismatch"


def test_governance_calls_and_exits_stay_open_in_a_total_halt(env, gated, submit_at):
    gated.set_halt(("all",), until_block=None)
    exit_call = submit_at(gated, 2, RemoveStake(hotkey="val-0", coldkey="cold-0", amount=5.0))
    stake_call = submit_at(gated, 2, AddStake(hotkey="val-0", coldkey="cold-0", amount=5.0))
    resume = submit_at(gated, 3, signed(make_proposal(gated, "RESUME")))
    env.run(until=through(3))

    assert exit_call.value.accepted and stake_call.value.error == "SubnetHalted"
    assert resume.value.accepted and gated.ledger.halted_scopes == frozenset()


def test_without_a_gate_governance_calls_are_refused(env, chain, submit_at):
    done = submit_at(chain, 2, SubmitProposal(message="00", signature="00" * 64))
    env.run(until=through(2))
    assert done.value.error == "GovernanceNotConfigured"


def test_calls_before_the_halt_in_its_block_still_run(env, gated, submit_at):
    before = submit_at(gated, 2, Register(hotkey="early", coldkey="newcomer"))
    submit_at(gated, 2, signed(make_proposal(gated, scopes=("registrations",))))
    after = submit_at(gated, 2, Register(hotkey="late", coldkey="nominator"))
    env.run(until=through(2))

    assert before.value.accepted and after.value.error == "SubnetHalted"


# ----------------------------------------------------------------------------------------------
# emission during a halt


def test_an_emissions_halt_holds_the_epoch_payout_until_it_ends(env, make_chain, submit_at,
                                                                recorder):
    chain = make_chain(tempo=5, emission=EmissionRules(block_emission=1.0), epoch_schedule="modulo")
    chain.governance = GovernanceGate(network_id=genesis_hash(chain.ledger, chain.netuid),
                                      halt_key=HALT_KEY.verify_key.encode(),
                                      resume_key=RESUME_KEY.verify_key.encode())
    ledger = chain.ledger
    start = ledger.total_stake() + ledger.total_balance()
    submit_at(chain, 2, signed(make_proposal(chain, scopes=("emissions",), expiry=7)))
    env.run(until=through(11))

    # tempo 5, netuid 1: epochs in blocks 3 and 9. Blocks 1 and 2 accrued (block 2's emission
    # runs in on_initialize, before the halting extrinsic); blocks 3-6 halted.
    paid = {r.block: r.emission_tao.sum()
            for r in recorder.epochs}
    assert paid[3] == 0.0
    owner_cut = chain.hyper.subnet_owner_cut
    assert paid[9] == pytest.approx((2 + 3) * (1 - owner_cut))  # blocks 1-2 and blocks 7-9
    assert chain.minted == pytest.approx(2 + 5)  # blocks 1-2 and 7-11
    total = ledger.total_stake() + ledger.total_balance() + ledger.burned + chain.pending.total
    assert total == pytest.approx(start + chain.minted)


# ----------------------------------------------------------------------------------------------
# the stakeholders' brake


def test_the_brake_burns_votes_and_fires_at_its_share_of_stake(env, gated, submit_at):
    ledger = gated.ledger
    needed = 0.1 * ledger.total_stake()  # 15 TAO of the 150 staked
    first = submit_at(gated, 2, BrakeVote(coldkey="nominator", amount=10.0))
    second = submit_at(gated, 3, BrakeVote(coldkey="newcomer", amount=needed - 10.0))
    env.run(until=through(3))

    assert first.value.accepted and not first.value.facts["fired"]
    assert second.value.facts["fired"]
    assert ledger.halted_scopes == frozenset({"all"}) and gated.halt_until == 3 + 10
    assert ledger.burned == pytest.approx(needed)
    assert ledger.balances["nominator"] == pytest.approx(20.0 - 10.0)


def test_a_resume_cannot_lift_the_brake_before_it_ends(env, gated, submit_at):
    submit_at(gated, 2, BrakeVote(coldkey="nominator", amount=20.0))
    early = submit_at(gated, 4, signed(make_proposal(gated, "RESUME", nonce=1)))
    env.run(until=through(11))
    assert early.value.error == "HaltLockedByBrake" and gated.ledger.is_halted("weights")
    env.run(until=through(12))
    assert gated.ledger.halted_scopes == frozenset()  # fired in block 2, ended at 2 + 10


@pytest.mark.parametrize(("call", "error"), [
    (BrakeVote(coldkey="nominator", amount=0.0), "AmountTooLow"),
    (BrakeVote(coldkey="nominator", amount=50.0), "NotEnoughBalance"),
])
def test_a_brake_vote_needs_a_positive_amount_it_can_pay(env, gated, submit_at, call, error):
    done = submit_at(gated, 2, call)
    env.run(until=through(2))
    assert done.value.error == error and gated.ledger.burned == 0.0


def test_the_brake_is_off_unless_the_chain_enables_it(env, chain, submit_at):
    chain.governance = GovernanceGate(network_id=bytes(32), halt_key=HALT_KEY.verify_key.encode(),
                                      resume_key=RESUME_KEY.verify_key.encode())
    done = submit_at(chain, 2, BrakeVote(coldkey="nominator", amount=1.0))
    env.run(until=through(2))
    assert done.value.error == "BrakeDisabled"
