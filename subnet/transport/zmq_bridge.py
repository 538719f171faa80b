"""A real ZeroMQ REQ/REP bridge: serve any ``Server`` (e.g. a simulation's miners) from another
process on 127.0.0.1, and query it from a simulation as if it were local.

Wire format (multipart frames, every frame checked where it enters):

* request: ``[b"subnetsim/1", b"query", header, inputs]``; header is JSON
  ``{"caller": str, "targets": [uid, ...], "deadline": s, "block": n, "shape": [B, in]}`` and
  ``inputs`` the float32 bytes of a ``(B, in)`` tensor (little-endian, C order).
* reply: ``[b"subnetsim/1", b"reply", header, tensor, ...]``; header is JSON
  ``{"status": [...], "service": [s or null for never], "payloads": [spec, ...]}`` where a spec
  is ``{"kind": "tensor", "shape": [...]}`` (its bytes are the next tensor frame) or
  ``{"kind": "none"}``. Anything that is not a float32 tensor within ``MAX_FRAME_BYTES`` is sent
  as ``none``: the caller scores it like any missing reply.
  The header's ``"signatures"`` (when the server signs) holds per target null or the miner's
  signed reply ``{"hotkey", "query", "block", "output", "signature"}`` (hex;
  ``subnet.provenance``); the caller verifies it like a local one.
* governance: ``[b"subnetsim/1", b"governance", message, signature]`` carries a HALT, EXTEND or
  RESUME to the served node, which checks it itself (``subnet.serving.WireNode``: the gate's
  checks against the group keys it holds from genesis) and answers
  ``[b"subnetsim/1", b"governance", {"accepted", "action", "reason", "serving_halted"}]``; a
  halted node answers queries ``HALTED`` (a rogue miner still answers).
* errors: ``[b"subnetsim/1", b"error", message]``; ``[b"subnetsim/1", b"stop"]`` ends a server,
  and only when the owner's key sent it.

Every connection is CURVE-encrypted and authenticated (``zmq_keys``: keys per run); the server
answers only allow-listed client keys, and a query's ``caller`` must be the name its key was
issued to, so no local process can speak as ``validator-0`` (or at all, without a key). Every
field is bounded: targets below ``capacity``, blocks in ``[0, MAX_BLOCK]``, a 2-D input, at most
``MAX_FRAME_BYTES`` per frame and ``MAXMSGSIZE`` per message. A request that fails validation
gets an error frame and the server keeps serving. A reply that
fails validation, or no reply within the client's timeout, reads as every target UNREACHABLE
(a zero score, never a crash of the run). The remote side answers from its own state: it does
not follow the caller's chain.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zmq

from subnetsim.subnet.errors import SubnetSimError
from subnetsim.subnet.provenance import SignedReply, compile_signing
from subnetsim.subnet.serving import WireNode
from subnetsim.subnet.transport.sim import (
    HALTED,
    OK,
    REFUSED,
    UNREACHABLE,
    Query,
    Server,
    ServerReply,
)
from subnetsim.subnet.transport.zmq_keys import (
    OWNER,
    allowed_clients,
    load_keypair,
    server_public_key,
)

__all__ = ["FrameError", "RemoteServer", "decode_query", "encode_query", "is_loopback", "serve"]

PROTOCOL = b"subnetsim/1"
MAX_FRAME_BYTES = 1 << 20  # one frame, one tensor: 1 MiB
MAX_TARGETS = 4096
MAX_BLOCK = 2**53  # far past any run, still exact as a float
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
STATUSES = (OK, REFUSED, UNREACHABLE, HALTED)
MAX_GOVERNANCE_BYTES = 1024


class FrameError(SubnetSimError):
    """A ZeroMQ message does not follow the bridge's wire format."""


def _header(frame: bytes) -> dict[str, Any]:
    if len(frame) > MAX_FRAME_BYTES:
        raise FrameError(f"header: {len(frame)} bytes, more than {MAX_FRAME_BYTES}")
    try:
        header = json.loads(frame.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FrameError(f"header: not JSON ({error})") from None
    if not isinstance(header, dict):
        raise FrameError(f"header: expected an object, got {type(header).__name__}")
    return header


def _field(header: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = header.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise FrameError(f"header.{name} = {value!r}: expected {kind}")
    return value


def _tensor(shape: Any, data: bytes, where: str) -> torch.Tensor:
    if (not isinstance(shape, list) or not 1 <= len(shape) <= 4
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                       for d in shape)):
        raise FrameError(f"{where}.shape = {shape!r}: expected 1-4 non-negative integers")
    if len(data) != 4 * math.prod(shape) or len(data) > MAX_FRAME_BYTES:
        raise FrameError(f"{where}: {len(data)} bytes do not hold a float32 tensor {shape}")
    return torch.from_numpy(np.frombuffer(data, dtype="<f4").reshape(shape).copy())


def encode_query(query: Query) -> list[bytes]:
    """The frames of a query (its payload must be a float32 tensor)."""
    inputs = query.payload.detach().to(torch.float32).contiguous()
    header = {"caller": query.caller_hotkey, "targets": [int(t) for t in query.targets],
              "deadline": float(query.deadline), "block": int(query.block),
              "shape": list(inputs.shape), "query_id": query.query_id.hex()}
    return [PROTOCOL, b"query", json.dumps(header).encode(), inputs.numpy().astype("<f4").tobytes()]


def decode_query(frames: list[bytes], capacity: int | None = None) -> Query:
    """A query from its frames; FrameError names the first thing wrong. With ``capacity``,
    every target must be a uid below it."""
    if len(frames) != 4 or frames[0] != PROTOCOL or frames[1] != b"query":
        raise FrameError(f"query: expected 4 frames [{PROTOCOL!r}, b'query', header, inputs]")
    header = _header(frames[2])
    targets = _field(header, "targets", list)
    limit = MAX_TARGETS if capacity is None else capacity
    if (len(targets) > MAX_TARGETS or len(set(map(str, targets))) != len(targets)
            or not all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < limit
                       for t in targets)):
        raise FrameError(f"header.targets: expected at most {MAX_TARGETS} distinct uids in"
                         f" [0, {limit})")
    deadline = float(_field(header, "deadline", (int, float)))
    if not 0 < deadline <= 60:
        raise FrameError(f"header.deadline = {deadline}: expected (0, 60] seconds")
    block = _field(header, "block", int)
    if not 0 <= block <= MAX_BLOCK:
        raise FrameError(f"header.block = {block}: expected an integer in [0, {MAX_BLOCK}]")
    caller = _field(header, "caller", str)
    if len(caller) > 256:
        raise FrameError("header.caller: longer than 256 characters")
    shape = header.get("shape")
    if not isinstance(shape, list) or len(shape) != 2:
        raise FrameError(f"header.shape = {shape!r}: expected [batch, inputs]")
    query_id = header.get("query_id", "")
    if not isinstance(query_id, str) or len(query_id) > 64:
        raise FrameError("header.query_id: expected at most 32 bytes of hex")
    try:
        identifier = bytes.fromhex(query_id)
    except ValueError:
        raise FrameError("header.query_id: not hex") from None
    return Query(caller_hotkey=caller, targets=np.array(targets, dtype=np.int64),
                 payload=_tensor(shape, frames[3], "inputs"), deadline=deadline, block=block,
                 query_id=identifier)


def _encode_reply(reply: ServerReply) -> list[bytes]:
    specs, tensors = [], []
    for payload in reply.payloads:
        if (isinstance(payload, torch.Tensor) and payload.dtype == torch.float32
                and payload.numel() * 4 <= MAX_FRAME_BYTES):
            specs.append({"kind": "tensor", "shape": list(payload.shape)})
            tensors.append(payload.detach().contiguous().numpy().astype("<f4").tobytes())
        else:
            specs.append({"kind": "none"})
    service = [float(s) if math.isfinite(s) else None for s in reply.service_seconds.tolist()]
    header: dict[str, Any] = {"status": [int(s) for s in reply.status], "service": service,
                              "payloads": specs}
    if reply.signatures:
        header["signatures"] = [None if signed is None else
                                {key: value for key, value in signed.as_json().items()
                                 if key != "message"} for signed in reply.signatures]
    return [PROTOCOL, b"reply", json.dumps(header).encode(), *tensors]


def _signatures(header: dict[str, Any], count: int) -> tuple[SignedReply | None, ...]:
    """The signed replies of a reply header (none when the server signs nothing)."""
    if "signatures" not in header:
        return ()
    entries = _field(header, "signatures", list)
    if len(entries) != count:
        raise FrameError(f"reply.signatures: {len(entries)} for {count} targets")
    signed: list[SignedReply | None] = []
    for index, entry in enumerate(entries):
        if entry is None:
            signed.append(None)
            continue
        try:
            reply = SignedReply.from_json(entry)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise FrameError(f"reply.signatures[{index}]: not a signed reply") from None
        if len(reply.hotkey) > 256 or len(reply.signature) != 64 or len(reply.digest) != 32:
            raise FrameError(f"reply.signatures[{index}]: wrong sizes")
        signed.append(reply)
    return tuple(signed)


def _decode_reply(frames: list[bytes], count: int) -> ServerReply:
    if len(frames) < 3 or frames[0] != PROTOCOL or frames[1] != b"reply":
        raise FrameError("reply: expected [protocol, b'reply', header, tensors...]")
    header = _header(frames[2])
    status, service = _field(header, "status", list), _field(header, "service", list)
    specs = _field(header, "payloads", list)
    if not len(status) == len(service) == len(specs) == count:
        raise FrameError(f"reply: {len(status)} statuses for {count} targets")
    if not all(s in STATUSES for s in status):
        raise FrameError(f"reply.status: unknown code in {status!r}")
    tensors = iter(frames[3:])
    payloads: list[torch.Tensor | None] = []
    for index, spec in enumerate(specs):
        kind = spec.get("kind") if isinstance(spec, dict) else None
        if kind == "tensor":
            payloads.append(_tensor(spec.get("shape"), next(tensors, b""), f"payloads[{index}]"))
        elif kind == "none":
            payloads.append(None)
        else:
            raise FrameError(f"payloads[{index}] = {spec!r}: expected kind tensor or none")
    if next(tensors, None) is not None:
        raise FrameError("reply: more tensor frames than tensor payloads")
    if not all(s is None or (isinstance(s, int | float) and s >= 0) for s in service):
        raise FrameError(f"reply.service: expected seconds or null, got {service!r}")
    seconds = [np.inf if s is None else float(s) for s in service]
    return ServerReply(status=np.array(status, dtype=np.int8), service_seconds=np.array(seconds),
                       payloads=tuple(payloads), signatures=_signatures(header, count))


def is_loopback(endpoint: str) -> bool:
    """Whether a tcp endpoint binds only the loopback interface (ipc/inproc count as local)."""
    if not endpoint.startswith("tcp://"):
        return True
    host = endpoint[len("tcp://"):].rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS


def serve(server: Server, endpoint: str = "tcp://127.0.0.1:*",
          ready: Callable[[str], None] | None = None, *, keys: Path,
          capacity: int | None = None, node: WireNode | None = None) -> int:
    """Answer queries for ``server`` on a CURVE REP socket until the owner's stop message;
    returns how many queries were answered. ``keys`` is the run's key folder (``zmq_keys``):
    only its clients are let in. ``ready`` gets the bound endpoint (with the port chosen), once
    the signing path is compiled (``provenance.compile_signing``: ~13 s after an install, which
    the first query would otherwise wait, beyond a client's timeout).
    ``node``: the served miners' own HALT verifier (governance frames go to it; the server's
    miners must consult it, e.g. ``MinerPool.serving = node``)."""
    from zmq.auth.thread import ThreadAuthenticator

    allowed = allowed_clients(keys)
    own = load_keypair(keys, "server")
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    authenticator = ThreadAuthenticator(context)
    authenticator.start()
    authenticator.configure_curve_callback("*", credentials_provider=_AllowList(allowed))
    socket = context.socket(zmq.REP)
    try:
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.MAXMSGSIZE, 4 * MAX_FRAME_BYTES)
        socket.curve_server = True
        socket.curve_publickey, socket.curve_secretkey = own.public, own.secret
        socket.bind(endpoint)
        compile_signing()
        if ready is not None:
            ready(socket.getsockopt_string(zmq.LAST_ENDPOINT))
        return _answer(socket, server, allowed, capacity, node)
    finally:
        socket.close()
        authenticator.stop()
        context.term()


class _AllowList:
    """ZAP credentials provider: a client key is let in only if the run issued it."""

    def __init__(self, allowed: dict[bytes, str]) -> None:
        self.allowed = allowed

    def callback(self, domain: str, key: bytes) -> bool:
        return key in self.allowed


def _answer(socket: zmq.Socket, server: Server, allowed: dict[bytes, str],
            capacity: int | None, node: WireNode | None = None) -> int:
    answered = 0
    while True:
        message = socket.recv_multipart(copy=False)
        who = allowed.get(str(message[0].get("User-Id")).encode()) if message else None
        frames = [frame.bytes for frame in message]
        if frames[:2] == [PROTOCOL, b"stop"]:
            if who == OWNER:
                socket.send_multipart([PROTOCOL, b"stopped"])
                return answered
            socket.send_multipart([PROTOCOL, b"error", b"stop: only the owner may stop"])
            continue
        if frames[:2] == [PROTOCOL, b"governance"]:
            socket.send_multipart(_governance(frames, node))
            continue
        try:
            query = decode_query(frames, capacity)
            if node is not None:
                node.hear_block(query.block)
            if query.caller_hotkey != who:
                raise FrameError(f"header.caller = {query.caller_hotkey!r}: this key was issued"
                                 f" to {who!r}")
            reply = _encode_reply(server.handle(query))
            answered += 1
        except FrameError as error:
            reply = [PROTOCOL, b"error", str(error).encode()]
        except (RuntimeError, ValueError, IndexError) as error:  # e.g. inputs of another width
            reply = [PROTOCOL, b"error", f"query refused by the server: {error}".encode()[:4096]]
        socket.send_multipart(reply)


def _governance(frames: list[bytes], node: WireNode | None) -> list[bytes]:
    """A governance message for the served node: checked there, the node's decision back."""
    if node is None:
        return [PROTOCOL, b"error", b"governance: this server holds no council keys"]
    if len(frames) != 4 or any(len(f) > MAX_GOVERNANCE_BYTES for f in frames[2:]):
        return [PROTOCOL, b"error", b"governance: expected [protocol, governance, msg, sig]"]
    decision = node.receive(frames[2], frames[3])
    answer = {"accepted": decision.accepted, "action": decision.action,
              "reason": decision.reason, "serving_halted": decision.serving_halted}
    return [PROTOCOL, b"governance", json.dumps(answer).encode()]


class RemoteServer:
    """A ``Server`` whose answers come from a bridge in another process (REQ socket, with the
    lazy-pirate reset after a timeout so one lost reply does not wedge the socket)."""

    def __init__(self, endpoint: str, timeout_ms: int = 5000, *, keys: Path,
                 name: str) -> None:
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self._pair = load_keypair(keys, name)  # this client's CURVE identity
        self._server_key = server_public_key(keys)
        self.errors: list[str] = []  # why replies were refused, for inspection
        self._socket: zmq.Socket | None = None

    def _connect(self) -> zmq.Socket:
        if self._socket is None:
            context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
            socket = context.socket(zmq.REQ)
            socket.setsockopt(zmq.LINGER, 0)
            socket.setsockopt(zmq.RCVTIMEO, self.timeout_ms)
            # A REQ socket without a pipe (the server gone, a CURVE handshake refused) blocks
            # in send; bounded, a dead server costs one timeout, not the run.
            socket.setsockopt(zmq.SNDTIMEO, self.timeout_ms)
            socket.setsockopt(zmq.MAXMSGSIZE, 64 * MAX_FRAME_BYTES)
            socket.curve_serverkey = self._server_key
            socket.curve_publickey, socket.curve_secretkey = self._pair.public, self._pair.secret
            socket.connect(self.endpoint)
            self._socket = socket
        return self._socket

    def exchange(self, frames: list[bytes]) -> list[bytes] | None:
        """Send raw frames, return the raw reply (None after a timeout, sending or waiting)."""
        socket = self._connect()
        try:
            socket.send_multipart(frames)
            return socket.recv_multipart()
        except zmq.Again:
            self.close()
            return None

    def handle(self, query: Query) -> ServerReply:
        """Ask the remote server; a missing or invalid reply is UNREACHABLE for every target."""
        count = len(query.targets)
        frames = self.exchange(encode_query(query))
        try:
            if frames is None:
                raise FrameError(f"no reply within {self.timeout_ms} ms")
            return _decode_reply(frames, count)
        except FrameError as error:
            self.errors.append(str(error))
            return ServerReply(status=np.full(count, UNREACHABLE, dtype=np.int8),
                               service_seconds=np.full(count, np.inf), payloads=(None,) * count)

    def send_governance(self, message: bytes, signature: bytes) -> dict[str, Any] | None:
        """Relay a HALT, EXTEND or RESUME to the served node; its decision (None: no answer)."""
        frames = self.exchange([PROTOCOL, b"governance", message, signature])
        if frames is None or frames[:2] != [PROTOCOL, b"governance"] or len(frames) != 3:
            self.errors.append(f"governance: {frames!r:.200}")
            return None
        try:
            return _header(frames[2])
        except FrameError as error:
            self.errors.append(str(error))
            return None

    def stop_remote(self) -> list[bytes] | None:
        """Ask the remote server to stop (it obeys only the owner's key); returns its reply."""
        return self.exchange([PROTOCOL, b"stop"])

    def close(self) -> None:
        """Drop the socket (a new one connects on the next call)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
