"""Hostile frames against the miner server: each is refused, and valid queries still answer.

A real CURVE server (``zmq_bridge.serve``) runs the scenario's miners in a thread on 127.0.0.1;
the attacks are sent as raw frames through authenticated and unauthenticated sockets.
"""

from __future__ import annotations

import itertools
import json
import threading

import numpy as np
import pytest
import torch
import zmq

from subnetsim.subnet.scenario import load_scenario
from subnetsim.subnet.transport.sim import OK, REFUSED, Query
from subnetsim.subnet.transport.zmq_bridge import (
    MAX_FRAME_BYTES,
    PROTOCOL,
    RemoteServer,
    encode_query,
    is_loopback,
    serve,
)
from subnetsim.subnet.transport.zmq_keys import create_run_keys, load_keypair
from subnetsim.world import World
from tests.miners.test_remote import SCENARIO

BLOCKS = itertools.count(1000, 1000)  # a fresh rate-limit window for every valid query


def _query(caller: str = "validator-0", targets=(1, 2, 3)) -> Query:
    inputs = torch.from_numpy(np.random.default_rng(1).normal(size=(6, 8)).astype(np.float32))
    return Query(caller_hotkey=caller, targets=np.array(targets), payload=inputs, deadline=3.0,
                 block=next(BLOCKS))


def _header(**changes) -> bytes:
    header = {"caller": "validator-0", "targets": [1, 2], "deadline": 3.0, "block": 5,
              "shape": [6, 8]}
    header.update(changes)
    return json.dumps(header).encode()


INPUTS = np.zeros((6, 8), dtype="<f4").tobytes()
HOSTILE = {
    "uid at the subnet size": [PROTOCOL, b"query", _header(targets=[1, 64]), INPUTS],
    "uid 10**30": [PROTOCOL, b"query", _header(targets=[10**30]), INPUTS],
    "negative uid": [PROTOCOL, b"query", _header(targets=[-1]), INPUTS],
    "block 10**30": [PROTOCOL, b"query", _header(block=10**30), INPUTS],
    "negative block": [PROTOCOL, b"query", _header(block=-5), INPUTS],
    "float block": [PROTOCOL, b"query", _header(block=5.5), INPUTS],
    "huge shape": [PROTOCOL, b"query", _header(shape=[10**30, 8]), INPUTS],
    "3-d shape": [PROTOCOL, b"query", _header(shape=[6, 4, 2]), INPUTS],
}
# Well-formed frames with inputs the miners cannot use: they refuse every target, or the server
# answers an error; either way nothing crashes.
UNUSABLE = {
    "wrong input width": [PROTOCOL, b"query", _header(shape=[8, 6]), INPUTS],
    "zero rows": [PROTOCOL, b"query", _header(shape=[0, 8]), b""],
    "bytes short": [PROTOCOL, b"query", _header(), INPUTS[:-1]],
    "header not JSON": [PROTOCOL, b"query", b"\xff{", INPUTS],
    "header a list": [PROTOCOL, b"query", b"[1, 2]", INPUTS],
    "caller a number": [PROTOCOL, b"query", _header(caller=7), INPUTS],
    "someone else's name": [PROTOCOL, b"query", _header(caller="validator-1"), INPUTS],
    "deadline NaN": [PROTOCOL, b"query", _header(deadline="NaN"), INPUTS],
    "too many frames": [PROTOCOL, b"query", _header(), INPUTS, b"x"],
    "unknown verb": [PROTOCOL, b"destroy"],
    "other protocol": [b"subnetsim/0", b"query", _header(), INPUTS],
    "stop from a validator": [PROTOCOL, b"stop"],
}


def _fresh_window(frames: list[bytes]) -> list[bytes]:
    """The frames with block 5 moved to an unused window, so no rate limit hides the attack."""
    try:
        header = json.loads(frames[2])
    except (IndexError, ValueError):
        return frames
    if isinstance(header, dict) and header.get("block") == 5:
        header["block"] = next(BLOCKS)
        return [*frames[:2], json.dumps(header).encode(), *frames[3:]]
    return frames


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    keys = tmp_path_factory.mktemp("keys")
    create_run_keys(keys, ["validator-0"])
    path = keys.parent / "remote.toml"
    path.write_text(SCENARIO)
    miners = World(load_scenario(path), 4).miners
    bound: list[str] = []
    ready = threading.Event()
    thread = threading.Thread(target=serve, args=(miners, "tcp://127.0.0.1:*"),
                              kwargs={"keys": keys, "capacity": 64,
                                      "ready": lambda e: (bound.append(e), ready.set())},
                              daemon=True)
    thread.start()
    assert ready.wait(300)  # ready once the signing path is compiled (~13 s with no cache)
    yield bound[0], keys
    RemoteServer(bound[0], timeout_ms=10_000, keys=keys, name="owner").stop_remote()
    thread.join(10)
    assert not thread.is_alive()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_frame_gets_an_error_and_the_server_keeps_serving(server, name):
    endpoint, keys = server
    client = RemoteServer(endpoint, timeout_ms=10_000, keys=keys, name="validator-0")
    reply = client.exchange(_fresh_window(HOSTILE[name]))
    assert reply is not None and reply[:2] == [PROTOCOL, b"error"], reply
    assert client.handle(_query()).status.tolist() == [OK, OK, OK]
    client.close()


@pytest.mark.parametrize("name", sorted(UNUSABLE))
def test_unusable_inputs_are_refused_and_the_server_keeps_serving(server, name):
    endpoint, keys = server
    client = RemoteServer(endpoint, timeout_ms=10_000, keys=keys, name="validator-0")
    reply = client.exchange(_fresh_window(UNUSABLE[name]))
    assert reply is not None and reply[:2] in ([PROTOCOL, b"error"], [PROTOCOL, b"reply"])
    if reply[1] == b"reply":
        assert set(json.loads(reply[2])["status"]) == {REFUSED}
    assert client.handle(_query()).status.tolist() == [OK, OK, OK]
    client.close()


def test_a_message_beyond_maxmsgsize_is_dropped_and_the_server_keeps_serving(server):
    endpoint, keys = server
    client = RemoteServer(endpoint, timeout_ms=1_000, keys=keys, name="validator-0")
    huge = [PROTOCOL, b"query", _header(), b"\0" * (4 * MAX_FRAME_BYTES + 1)]
    assert client.exchange(huge) is None  # the server drops the connection, no reply
    client = RemoteServer(endpoint, timeout_ms=10_000, keys=keys, name="validator-0")
    assert client.handle(_query()).status.tolist() == [OK, OK, OK]
    client.close()


def _raw_request(endpoint: str, frames: list[bytes], curve: tuple[bytes, bytes, bytes] | None):
    """The server's reply to ``frames``, or None if none came (or the request could not even
    be sent: a failed CURVE handshake can drop the connection's pipe, and a REQ socket with no
    pipe blocks in send, which hung this test once)."""
    context = zmq.Context.instance()
    socket = context.socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVTIMEO, 700)
    socket.setsockopt(zmq.SNDTIMEO, 700)
    if curve is not None:
        socket.curve_serverkey, socket.curve_publickey, socket.curve_secretkey = curve
    socket.connect(endpoint)
    try:
        socket.send_multipart(frames)
        return socket.recv_multipart()
    except zmq.Again:
        return None
    finally:
        socket.close()


def test_an_unauthenticated_or_unknown_client_gets_nothing(server):
    endpoint, keys = server
    frames = encode_query(_query())
    assert _raw_request(endpoint, frames, None) is None  # no CURVE: no handshake
    public, secret = zmq.curve_keypair()  # a key the run never issued
    server_key = load_keypair(keys, "server").public
    assert _raw_request(endpoint, frames, (server_key, public, secret)) is None
    assert _raw_request(endpoint, [PROTOCOL, b"stop"], (server_key, public, secret)) is None
    client = RemoteServer(endpoint, timeout_ms=10_000, keys=keys, name="validator-0")
    assert client.handle(_query()).status.tolist() == [OK, OK, OK]  # still serving
    client.close()


@pytest.mark.parametrize(("endpoint", "local"), [
    ("tcp://127.0.0.1:5555", True), ("tcp://localhost:*", True), ("ipc:///tmp/x", True),
    ("tcp://0.0.0.0:5555", False), ("tcp://*:5555", False), ("tcp://10.0.0.2:1", False)])
def test_binding_beyond_loopback_is_recognised(endpoint, local):
    assert is_loopback(endpoint) is local
