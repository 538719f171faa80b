"""A HALT over real sockets: miners served from another process over the CURVE ZeroMQ bridge
receive the council's HALT over the wire, verify it there, and answer ``halted`` there.

The council's signed HALT and RESUME come from running the same drill file and seed in this
process (a pure function of both), so the remote node, which derives the council's group keys
and the network id from the same genesis, must accept them, and nothing else.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from nacl.signing import SigningKey

from subnetsim.drill.config import load_drill
from subnetsim.drill.runner import simulate_drill
from subnetsim.subnet.provenance import hotkey_public_key, output_digest, query_id, verify_reply
from subnetsim.subnet.transport.sim import HALTED, OK, Query
from subnetsim.subnet.transport.zmq_bridge import RemoteServer

ROOT = Path(__file__).resolve().parents[2]
DRILL = ROOT / "tests" / "data" / "serving_halt.toml"


def _query(block: int) -> Query:
    inputs = torch.from_numpy(np.random.default_rng(block).normal(size=(4, 8)).astype(np.float32))
    return Query(caller_hotkey="validator-0", targets=np.array([1, 2, 3]), payload=inputs,
                 deadline=3.0, block=block,
                 query_id=query_id("validator-0", block, output_digest(inputs)))


@pytest.fixture(scope="module")
def signed():
    """The drill file, and the council's accepted HALT and RESUME as the chain saw them."""
    run = simulate_drill(load_drill(DRILL))
    enacted = {e.action: e.signed for e in run.council.enactments if e.accepted}
    return DRILL, enacted["HALT"], enacted["RESUME"]


def test_the_halt_arrives_over_the_wire_is_verified_there_and_queries_are_refused_there(
        signed, tmp_path):
    path, halt, resume = signed
    keys = tmp_path / "keys"
    child = subprocess.Popen([sys.executable, "-m", "subnetsim.remote", str(path), "--keys",
                              str(keys)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        endpoint = child.stdout.readline().strip()
        assert endpoint.startswith("tcp://127.0.0.1:"), child.stderr.read()
        client = RemoteServer(endpoint, timeout_ms=20_000, keys=keys, name="validator-0")
        block = halt.proposal.block + 1
        assert client.handle(_query(block)).status.tolist() == [OK, OK, OK]
        # Forgeries first: a key the council never had, and the HALT's bytes edited.
        forged = SigningKey(b"f" * 32).sign(halt.message).signature
        assert client.send_governance(halt.message, forged)["reason"] == "BadProposalSignature"
        edited = halt.message.replace(b"scope=serving", b"scope=all")
        assert client.send_governance(edited, halt.signature)["accepted"] is False
        assert client.handle(_query(block)).status.tolist() == [OK, OK, OK]
        decision = client.send_governance(halt.message, halt.signature)
        assert decision == {"accepted": True, "action": "HALT", "reason": "applied",
                            "serving_halted": True}
        reply = client.handle(_query(block + 1))
        assert reply.status.tolist() == [HALTED, HALTED, OK]  # the rogue keeps serving
        rogue = reply.signatures[2]  # and its answer is signed: evidence against it
        assert verify_reply(hotkey_public_key(6, "miner-3"), rogue, block=block + 1,
                            payload=reply.payloads[2])
        assert client.handle(_query(resume.proposal.block)).status[0] == HALTED
        assert client.send_governance(resume.message, resume.signature)["accepted"] is True
        assert client.handle(_query(resume.proposal.block + 1)).status.tolist() == [OK, OK, OK]
        replayed = client.send_governance(halt.message, halt.signature)
        assert replayed["reason"] == "ProposalReplayed"
        assert client.handle(_query(resume.proposal.block + 1)).status.tolist() == [OK, OK, OK]
        RemoteServer(endpoint, timeout_ms=20_000, keys=keys, name="owner").stop_remote()
        assert child.wait(timeout=20) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
