"""The ai_halt drill end to end: the HALT stops the models, rogues are proven and penalised.

Read from the run itself (node decisions, the transcript, the ledger, the chain's extrinsic
records) and checked with a second Ed25519 implementation (``cryptography``), so the report's
own numbers and the verifier the code uses are not what vouches for them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from subnetsim.drill.config import load_drill
from subnetsim.drill.report import build_report
from subnetsim.drill.runner import simulate_drill
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.provenance import SignedReply, hotkey_public_key, reply_message

DRILL = Path(__file__).resolve().parents[2] / "scenarios" / "drills" / "ai_halt.toml"
HONEST_MINERS = range(8, 62)  # the 50 honest and the cabal's 4 lazy miners obey the halt
ROGUES = (62, 63)


@pytest.fixture(scope="module")
def ai_halt():
    """The drill as shipped (halt in 10, resume in 40, evidence in 41), run once."""
    run = simulate_drill(load_drill(DRILL))
    return run, build_report(run).as_json()


def test_every_honest_miner_stops_within_the_gossip_bound_and_serves_again_after_resume(ai_halt):
    run, report = ai_halt
    serving = run.world.governance.serving
    halt_time = report["halt_block"] * BLOCK_SECONDS
    bound = report["serving"]["gossip_bound_s"]
    for uid in HONEST_MINERS:
        stops = [t for t in serving.views[uid].stops() if t >= halt_time]
        assert stops and stops[0] - halt_time <= bound
        assert serving.views[uid].restarts()  # the RESUME reached it and it verified it
    assert report["checks"]["serving_returned_after_resume"]
    assert report["passed"], [name for name, ok in report["checks"].items() if not ok]


def test_honest_answers_after_the_halt_are_only_those_already_in_flight(ai_halt):
    run, report = ai_halt
    serving = run.world.governance.serving
    halt_time = report["halt_block"] * BLOCK_SECONDS
    end_time = report["serving"]["resume_block"] * BLOCK_SECONDS
    honest = [w for w in serving.transcript
              if w.uid in HONEST_MINERS and halt_time <= w.time < end_time]
    for seen in honest:  # each was answered before that miner had verified the HALT
        assert seen.time < serving.views[seen.uid].stops()[0]
    assert report["serving"]["honest_answers_after_halt"] == len(honest) == 0
    assert report["serving"]["rogue_answers_after_halt"] > 0


def test_both_rogues_are_proven_by_their_own_signatures_and_penalised(ai_halt):
    run, report = ai_halt
    ledger = run.world.chain.ledger
    rogues = {r["uid"]: r for r in report["serving"]["rogues"]}
    assert set(rogues) == set(ROGUES)
    evidence = [e for e in run.log.extrinsics if e.kind == "evidence"]
    accepted = {e.payload["uid"] for e in evidence if e.accepted}
    assert accepted == set(ROGUES)
    assert {e.error for e in evidence if not e.accepted} == {"BadEvidenceSignature"}
    for record in evidence:
        if not record.accepted:
            continue
        hotkey = record.payload["accused"]
        public = Ed25519PublicKey.from_public_bytes(hotkey_public_key(run.seed, hotkey))
        for data in record.payload["replies"]:
            reply = SignedReply.from_json(data)
            public.verify(reply.signature, reply_message(reply.query, reply.block, reply.digest))
            assert reply.block >= report["halt_block"] + 1  # past the grace block
    for uid in ROGUES:
        assert rogues[uid]["evidence_verified"] and rogues[uid]["penalty"]["deregistered"]
        assert rogues[uid]["penalty"]["slashed_tao"] == pytest.approx(25.0)  # half of 50 TAO
        assert not ledger.registered[uid]
    assert report["conservation"]["ok"]  # the slash is burned, not lost
