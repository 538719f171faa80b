"""The council: DKG keys, members and coordinator over simulated links, and its response.

SimPy style: a tiny process asks the council's coordinator for a signature, ``env.run`` runs
the message exchange, and the result is checked with the ``cryptography`` package's Ed25519
verifier (an implementation independent of ours and of libsodium).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

import pytest
import simpy
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from subnetsim.governance.council import Council, CouncilConfig, ResponsePlan, generate_group_key
from subnetsim.governance.council_network import (
    COORDINATOR,
    CommitRequest,
    Envelope,
    LinkConfig,
    Refusal,
    SignRequest,
)
from subnetsim.governance.frost.signing import SigningPackage
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.governance_gate import Proposal
from subnetsim.subnet.scenario import load_scenario

NETWORK = bytes([9]) * 32
SEED = 21


@dataclasses.dataclass(slots=True)
class FakeChain:
    """What members read from the chain: the current block."""

    block: int = 5


@pytest.fixture(scope="module")
def keys():
    """A 7-member council's keys: HALT 3-of-7, RESUME 5-of-7 (DKG is the slow part)."""
    return {"halt": generate_group_key("halt", 7, 3, SEED),
            "resume": generate_group_key("resume", 7, 5, SEED)}


def halt_message(action: str = "HALT", network: bytes = NETWORK) -> bytes:
    return Proposal(network_id=network, action=action, scopes=("all",), proposal_id=1,
                    nonce=bytes(16), block=5, expiry=50).encode()


def council_with(keys, **config: Any) -> tuple[simpy.Environment, Council]:
    env = simpy.Environment()
    settings = {"members": 7, "halt_threshold": 3, "resume_threshold": 5, **config}
    council = Council(env, FakeChain(), CouncilConfig(**settings), ResponsePlan(), NETWORK, SEED,
                      keys=keys)
    for member in council.members:
        env.process(member.serve(env))
    return env, council


def collect(env: simpy.Environment, council: Council, key_name: str, message: bytes):
    def ask() -> Generator[simpy.Event, Any, Any]:
        outcome = yield from council.coordinator.collect_signature(env, key_name, message)
        return outcome

    process = env.process(ask())
    env.run(until=600)
    return process.value


def verifies(public_key: bytes, message: bytes, signature: bytes | None) -> bool:
    if signature is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


# ----------------------------------------------------------------------------------------------
# keys


def test_dkg_gives_every_member_a_share_of_one_key_deterministically(keys):
    halt = keys["halt"]
    assert sorted(halt.key_packages) == list(range(1, 8))
    assert {p.group_public_key for p in halt.key_packages.values()} == {
        halt.public.group_public_key}
    assert halt.public.min_signers == 3 and keys["resume"].public.min_signers == 5
    again = generate_group_key("halt", 7, 3, SEED)
    assert again.public.group_public_key == halt.public.group_public_key
    other = generate_group_key("halt", 7, 3, SEED + 1)
    assert other.public.group_public_key != halt.public.group_public_key


# ----------------------------------------------------------------------------------------------
# signing with faults


def test_an_honest_council_signs_in_one_round_with_threshold_signers(keys):
    env, council = council_with(keys)
    outcome = collect(env, council, "halt", halt_message())

    assert outcome.rounds == 1 and len(outcome.signers) == 3
    assert verifies(keys["halt"].public.group_public_key, halt_message(), outcome.signature)
    assert outcome.finished_at > outcome.started_at  # two round trips over real latency


def test_offline_members_are_suspected_and_another_subset_signs(keys):
    env, council = council_with(keys)
    first = council.coordinator.choose(3)  # what the keyed shuffle picks first
    env, council = council_with(keys, offline=first[:2])
    outcome = collect(env, council, "halt", halt_message())

    assert outcome.attempts[0].outcome == "no_commitment"
    assert outcome.attempts[0].culprits == first[:2]
    assert not set(outcome.signers) & set(first[:2])
    assert verifies(keys["halt"].public.group_public_key, halt_message(), outcome.signature)


def test_a_bad_share_names_its_signer_who_is_never_asked_again(keys):
    env, council = council_with(keys)
    cheat = council.coordinator.choose(3)[1]
    env, council = council_with(keys, malicious=(cheat,))
    outcome = collect(env, council, "halt", halt_message())

    assert outcome.attempts[0].outcome == "invalid_share"
    assert outcome.attempts[0].culprits == (cheat,)
    assert council.coordinator.proven == {cheat} and cheat not in outcome.signers
    assert verifies(keys["halt"].public.group_public_key, halt_message(), outcome.signature)


def test_resume_needs_its_higher_threshold(keys):
    # Three members out: four honest remain, enough for HALT (3) but not for RESUME (5).
    env, council = council_with(keys, offline=(1, 2), malicious=(3,), max_attempts=6)
    resume = collect(env, council, "resume", halt_message("RESUME"))
    env, council = council_with(keys, offline=(1, 2), malicious=(3,))
    halt = collect(env, council, "halt", halt_message())

    assert resume.signature is None and resume.rounds == 6
    assert all(len(a.signers) == 5 for a in resume.attempts)
    assert verifies(keys["halt"].public.group_public_key, halt_message(), halt.signature)


def test_a_signature_from_fewer_than_threshold_members_never_appears(keys):
    env, council = council_with(keys, offline=(1, 2, 3, 4, 5), max_attempts=5)
    outcome = collect(env, council, "halt", halt_message())
    assert outcome.signature is None and outcome.signers == ()


def test_lossy_links_cost_retries_but_the_council_still_signs(keys):
    lossy = LinkConfig(latency_median_s=0.3, latency_sigma=0.8, loss=0.2)
    env, council = council_with(keys, links=lossy, max_attempts=20)
    outcome = collect(env, council, "halt", halt_message())

    assert council.network.lost > 0
    assert verifies(keys["halt"].public.group_public_key, halt_message(), outcome.signature)


def test_captured_members_refuse_to_halt_but_not_to_resume(keys):
    env, council = council_with(keys, captured=(1, 2, 3, 4, 5), max_attempts=4)
    halt = collect(env, council, "halt", halt_message())
    env, council = council_with(keys, captured=(1, 2, 3, 4, 5))
    resume = collect(env, council, "resume", halt_message("RESUME"))

    assert halt.signature is None
    assert any("captured" in reason for a in halt.attempts for reason in a.refusals.values())
    assert verifies(keys["resume"].public.group_public_key, halt_message("RESUME"),
                    resume.signature)


def test_members_refuse_to_sign_for_another_network(keys):
    env, council = council_with(keys, max_attempts=2)
    outcome = collect(env, council, "halt", halt_message(network=bytes(32)))
    assert outcome.signature is None
    assert all("another network" in reason for a in outcome.attempts
               for reason in a.refusals.values())


def test_a_member_refuses_a_package_whose_message_was_swapped(keys):
    env, council = council_with(keys)
    member = council.members[0]
    replies = council.network.inboxes[COORDINATOR]

    def coordinator() -> Generator[simpy.Event, Any, Any]:
        inbox = council.network.inboxes[member.identifier]
        yield inbox.put(Envelope(sender=COORDINATOR, receiver=member.identifier,
                                 message=CommitRequest(session=1, key_name="halt",
                                                       message=halt_message())))
        commit = (yield replies.get()).message
        package = SigningPackage(message=halt_message("EXTEND"), commitments=(commit.commitments,))
        yield inbox.put(Envelope(sender=COORDINATOR, receiver=member.identifier,
                                 message=SignRequest(session=1, key_name="halt", package=package)))
        return (yield replies.get()).message

    process = env.process(coordinator())
    env.run(until=60)
    assert isinstance(process.value, Refusal) and "altered" in process.value.reason


@pytest.mark.parametrize(("settings", "field"), [
    ({"halt_threshold": 8}, "halt_threshold"),
    ({"resume_threshold": 3}, "resume_threshold"),
    ({"offline": (0,)}, "offline"),
    ({"malicious": (8,)}, "malicious"),
])
def test_a_bad_council_config_names_the_field(settings, field, tmp_path):
    with pytest.raises(ConfigError, match=f"^{field}"):
        CouncilConfig(**{"members": 7, "halt_threshold": 3, "resume_threshold": 5, **settings})
    # In a scenario file the field is named by its whole path.
    table = {"members": 7, "halt_threshold": 3, "resume_threshold": 5, **settings}
    lines = "".join(f"{key} = {list(value) if isinstance(value, tuple) else value}\n"
                    for key, value in table.items())
    (tmp_path / "bad.toml").write_text(f"[governance.council]\n{lines}")
    with pytest.raises(ConfigError, match=f"^governance\\.council\\.{field} "):
        load_scenario(tmp_path / "bad.toml")


def test_a_bad_scope_in_the_response_plan_is_a_config_error():
    with pytest.raises(ConfigError, match="halt_scopes"):
        ResponsePlan(halt_scopes=("all", "weights"))
