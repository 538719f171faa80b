"""Governance state is part of a run: spent nonces and the halt survive a checkpoint, so a HALT
replayed after a resume is refused."""

from __future__ import annotations

from pathlib import Path

from subnetsim.subnet.governance_gate import GateRules, GovernanceGate, genesis_hash
from subnetsim.subnet.scenario import load_scenario
from subnetsim.world import World, build_world
from tests.subnet.test_governance_gate import HALT_KEY, RESUME_KEY, make_proposal, signed

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = load_scenario(ROOT / "tests" / "data" / "small.toml")


# The network a gate is for is fixed at genesis (the drill runner registers it there too).
NETWORK = genesis_hash(World(SCENARIO, 3).chain.ledger, SCENARIO.netuid)


def _gate(world: World) -> GovernanceGate:
    return GovernanceGate(network_id=NETWORK,
                          halt_key=HALT_KEY.verify_key.encode(),
                          resume_key=RESUME_KEY.verify_key.encode(),
                          rules=GateRules(max_halt_blocks=500))


def _submit_and_produce(world: World, call):
    done = world.chain.submit(call)
    world.run_to_block(world.chain.block + 1)
    return done.value


def test_a_halt_replayed_after_a_resume_is_refused():
    world = build_world(SCENARIO, 3)
    world.attach_governance(_gate(world))
    world.run_to_block(10)
    halt = signed(make_proposal(world.chain, block=0, expiry=400, nonce=5))
    assert _submit_and_produce(world, halt).accepted
    assert world.chain.ledger.halted_scopes  # halted
    assert not _submit_and_produce(world, halt).accepted  # replay refused before the resume
    state, head = world.state(), world.chain.head_hash

    resumed = World.from_state(SCENARIO, 3, state, head)
    resumed.attach_governance(_gate(resumed))  # a fresh gate, as a resumed council builds one
    resumed.start()
    assert resumed.chain.ledger.halted_scopes == world.chain.ledger.halted_scopes
    assert resumed.chain.halt_until == world.chain.halt_until
    result = _submit_and_produce(resumed, halt)
    assert not result.accepted and result.error == "ProposalReplayed"


def test_without_the_saved_state_the_same_replay_would_pass():
    """The control: a gate that forgot its nonces accepts the replay (so the test above can
    fail)."""
    world = build_world(SCENARIO, 3)
    world.attach_governance(_gate(world))
    world.run_to_block(10)
    halt = signed(make_proposal(world.chain, block=0, expiry=400, nonce=5))
    assert _submit_and_produce(world, halt).accepted
    world.chain.governance = _gate(world)  # forgets the spent nonce
    assert _submit_and_produce(world, halt).accepted
