"""Miners stop serving when *they* have verified a HALT: at their own gossip delay, and never
for a forged, replayed, tampered or other-network one (``subnet.serving``).

The council's group signature is a plain Ed25519 signature, so a stock PyNaCl key stands in for
the group key here; the FROST side is tested in tests/governance.
"""

from __future__ import annotations

import numpy as np
import pytest
from nacl.signing import SigningKey

from subnetsim.subnet.gossip import GossipConfig, GossipNetwork
from subnetsim.subnet.governance_gate import Proposal
from subnetsim.subnet.provenance import hotkey_public_key, verify_reply
from subnetsim.subnet.serving import build_serving_network
from subnetsim.subnet.transport.sim import HALTED, OK, Query, ServerReply
from tests.miners.conftest import FIRST_MINER, TASK, make_pool_world

NETWORK = bytes(range(32))
HALT_KEY, RESUME_KEY = SigningKey(b"h" * 32), SigningKey(b"r" * 32)
HALT_AT = 12.0 * 3  # block 3 carries the HALT


def _signed(action: str, nonce: int, *, network: bytes = NETWORK, key: SigningKey | None = None,
            block: int = 2, expiry: int = 200) -> tuple[bytes, bytes]:
    proposal = Proposal(network_id=network, action=action, scopes=("all",), proposal_id=nonce,
                        nonce=nonce.to_bytes(16, "little"), block=block, expiry=expiry)
    message = proposal.encode()
    signer = key or (RESUME_KEY if action == "RESUME" else HALT_KEY)
    return message, signer.sign(message).signature


@pytest.fixture
def world():
    world = make_pool_world([("honest", {}), ("honest", {"quality": 0.5}), ("rogue", {})])
    serving = build_serving_network(
        GossipNetwork(GossipConfig(nodes=60, degree=4, latency_median_s=0.5), seed=5),
        world.chain.ledger.capacity, network_id=NETWORK,
        halt_key=bytes(HALT_KEY.verify_key), resume_key=bytes(RESUME_KEY.verify_key),
        max_halt_blocks=7200)
    world.pool.serving = serving
    world.env.run(until=HALT_AT)
    return world


def _serve(world) -> ServerReply:
    """What miners 0-2 answer a query that reaches them now."""
    inputs, _ = world.pool.task.sample(np.random.default_rng(7), TASK.batch, "query")
    query = Query(caller_hotkey="caller", targets=FIRST_MINER + np.arange(3), payload=inputs,
                  deadline=4.0, block=int(world.env.now // 12), query_id=bytes(range(16)))
    return world.pool.handle(query)


def _statuses(world) -> list[int]:
    return _serve(world).status.tolist()


def test_a_genuine_halt_stops_each_honest_miner_at_its_own_delay_and_never_the_rogue(world):
    serving = world.pool.serving
    serving.publish(*_signed("HALT", 1), at=HALT_AT)
    delays = serving.delays()
    arrival = {key: HALT_AT + delays[serving.node_of(FIRST_MINER + key)] for key in (0, 1)}
    assert arrival[0] != arrival[1]  # each node learns at its own time
    first, second = sorted(arrival, key=arrival.get)
    world.env.run(until=(arrival[first] + arrival[second]) / 2)
    assert _statuses(world) == [HALTED if key == first else OK for key in range(2)] + [OK]
    world.env.run(until=max(arrival.values()) + 1.0)
    assert _statuses(world) == [HALTED, HALTED, OK]  # the rogue keeps serving
    assert world.pool.stats[[0, 1], -1].tolist() != [0, 0]  # counted as halted replies
    serving.publish(*_signed("RESUME", 2), at=world.env.now)
    world.env.run(until=world.env.now + 5.0)
    assert _statuses(world) == [OK, OK, OK]


@pytest.mark.parametrize("forgery", ["forged key", "other network", "tampered", "expired"])
def test_a_forged_tampered_other_network_or_expired_halt_stops_no_miner(world, forgery):
    serving = world.pool.serving
    if forgery == "forged key":
        message, signature = _signed("HALT", 1, key=SigningKey(b"x" * 32))
    elif forgery == "other network":
        message, signature = _signed("HALT", 1, network=bytes(32))  # the council's real key
    elif forgery == "tampered":
        resume, signature = _signed("RESUME", 1)
        message = resume.replace(b"action=RESUME", b"action=HALT")
    else:
        message, signature = _signed("HALT", 1, block=0, expiry=2)
    serving.inject(message, signature, at=world.env.now)
    world.env.run(until=world.env.now + 10.0)
    assert _statuses(world) == [OK, OK, OK]
    refused = {d.reason for view in serving.views[FIRST_MINER:FIRST_MINER + 3]
               for d in view.decisions}
    assert refused == {{"forged key": "BadProposalSignature", "other network": "WrongNetwork",
                        "tampered": "BadProposalSignature",
                        "expired": "ProposalExpired"}[forgery]}


def test_a_replayed_halt_after_the_resume_stops_no_miner(world):
    serving = world.pool.serving
    halt = _signed("HALT", 1)
    serving.publish(*halt, at=HALT_AT)
    serving.publish(*_signed("RESUME", 2), at=HALT_AT + 30.0)
    world.env.run(until=HALT_AT + 40.0)
    assert _statuses(world) == [OK, OK, OK]
    serving.inject(*halt, at=world.env.now)  # the same signed bytes, gossiped again
    world.env.run(until=world.env.now + 10.0)
    assert _statuses(world) == [OK, OK, OK]
    assert serving.views[FIRST_MINER].decisions[-1].reason == "ProposalReplayed"


def test_every_answer_is_signed_by_its_miners_hotkey_over_query_block_and_output(world):
    reply = _serve(world)
    assert reply.status.tolist() == [OK, OK, OK]
    for uid, payload, signed in zip(FIRST_MINER + np.arange(3), reply.payloads,
                                    reply.signatures, strict=True):
        hotkey = world.chain.ledger.hotkeys[uid]
        public_key = hotkey_public_key(0, hotkey)
        assert signed.hotkey == hotkey
        assert verify_reply(public_key, signed, query=bytes(range(16)), block=3,
                            payload=payload)
        assert not verify_reply(hotkey_public_key(0, "miner-9"), signed)  # another hotkey
        assert not verify_reply(public_key, signed, payload=payload + 1)  # another output
        assert not verify_reply(public_key, signed, query=bytes(16))  # another query
        assert not verify_reply(public_key, signed, block=4)  # another block
