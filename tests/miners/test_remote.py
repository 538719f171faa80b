"""Miners served from another process over the ZeroMQ bridge, and the bridge's frame checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from subnetsim.subnet.scenario import load_scenario
from subnetsim.subnet.transport.sim import OK, REFUSED, UNREACHABLE, Query, ServerReply
from subnetsim.subnet.transport.zmq_bridge import (
    PROTOCOL,
    FrameError,
    RemoteServer,
    _decode_reply,
    _encode_reply,
    decode_query,
    encode_query,
)
from subnetsim.subnet.transport.zmq_keys import create_run_keys
from subnetsim.world import World

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = """
seed = 4
[task]
hidden = 8
depth = 1
pretrain_steps = 32
[[neurons]]
role = "validator"
count = 1
behaviour = "honest"
stake = 1000.0
[[neurons]]
role = "miner"
count = 3
behaviour = "honest"
options = { quality_low = 0.2 }
[[neurons]]
role = "miner"
count = 1
behaviour = "malformed"
options = { fault = "nan" }
"""


def _query(caller: str = "validator-0") -> Query:
    inputs = torch.from_numpy(np.random.default_rng(1).normal(size=(6, 8)).astype(np.float32))
    return Query(caller_hotkey=caller, targets=np.array([1, 2, 3, 4, 9]), payload=inputs,
                 deadline=3.0, block=5)


def test_a_miner_served_in_a_subprocess_answers_exactly_like_the_local_one(tmp_path):
    path = tmp_path / "remote.toml"
    path.write_text(SCENARIO)
    keys = tmp_path / "keys"
    child = subprocess.Popen([sys.executable, "-m", "subnetsim.remote", str(path), "--keys",
                              str(keys)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        endpoint = child.stdout.readline().strip()
        assert endpoint.startswith("tcp://127.0.0.1:"), child.stderr.read()
        client = RemoteServer(endpoint, timeout_ms=20_000, keys=keys, name="validator-0")
        remote = client.handle(_query())
        local = World(load_scenario(path), 4).miners.handle(_query())
        assert remote.status.tolist() == local.status.tolist() == [OK, OK, OK, OK, UNREACHABLE]
        for theirs, ours in zip(remote.payloads[:3], local.payloads[:3], strict=True):
            assert torch.equal(theirs, ours)  # same seed, same bits, another process
        assert torch.isnan(remote.payloads[3]).all()  # bad replies cross the wire unchanged
        claimed = client.exchange(encode_query(_query(caller="nobody")))
        assert claimed[:2] == [PROTOCOL, b"error"] and b"issued to 'validator-0'" in claimed[2]
        garbage = client.exchange([b"not", b"our", b"protocol"])
        assert garbage[:2] == [PROTOCOL, b"error"]
        assert client.handle(_query()).status[0] == OK  # still serving after garbage
        assert client.stop_remote()[:2] == [PROTOCOL, b"error"]  # a validator may not stop it
        assert client.handle(_query()).status[0] == OK
        RemoteServer(endpoint, timeout_ms=20_000, keys=keys, name="owner").stop_remote()
        assert child.wait(timeout=20) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_query_frames_round_trip_and_bad_ones_name_the_field():
    query = _query()
    decoded = decode_query(encode_query(query))
    assert decoded.caller_hotkey == query.caller_hotkey and decoded.block == 5
    assert np.array_equal(decoded.targets, query.targets)
    assert torch.equal(decoded.payload, query.payload)
    frames = encode_query(query)
    with pytest.raises(FrameError, match="bytes do not hold"):
        decode_query([*frames[:3], frames[3][:-4]])
    with pytest.raises(FrameError, match="header.targets"):
        decode_query([*frames[:2], b'{"targets": [1, 1], "caller": "v"}', frames[3]])
    with pytest.raises(FrameError, match="not JSON"):
        decode_query([*frames[:2], b"{", frames[3]])
    with pytest.raises(FrameError, match="expected 4 frames"):
        decode_query(frames[:3])


def test_reply_frames_round_trip_and_anything_odd_is_refused():
    reply = ServerReply(status=np.array([OK, OK, REFUSED], dtype=np.int8),
                        service_seconds=np.array([0.1, np.inf, 0.1]),
                        payloads=(torch.ones(2, 1), {"junk": 1}, None))
    frames = _encode_reply(reply)
    decoded = _decode_reply(frames, 3)
    assert torch.equal(decoded.payloads[0], torch.ones(2, 1))
    assert decoded.payloads[1] is None and decoded.service_seconds[1] == np.inf
    with pytest.raises(FrameError, match="statuses for 4"):
        _decode_reply(frames, 4)
    with pytest.raises(FrameError, match="more tensor frames"):
        _decode_reply([*frames, b"\0" * 8], 3)
    with pytest.raises(FrameError, match="do not hold"):
        _decode_reply([*frames[:3], b"\0" * 3], 3)


def test_no_reply_in_time_reads_as_unreachable_not_an_exception(tmp_path):
    create_run_keys(tmp_path, ["validator-0"])
    client = RemoteServer("tcp://127.0.0.1:9", timeout_ms=50, keys=tmp_path,
                          name="validator-0")  # nothing listens there
    reply = client.handle(_query())
    assert (reply.status == UNREACHABLE).all() and client.errors
    client.close()
