"""CURVE keys of one served run: the server's pair, and one pair per client allowed to call it.

``create_run_keys(folder, clients)`` writes ``server.key`` (public) and ``<name>.secret`` files
(a name's public and secret key, mode 0600) for the server and each client (``owner`` may stop
the server; validators may query it as their hotkey). The server allow-lists the clients' public
keys; a client needs its own secret file and the server's public key. Keys are z85 text, as
``zmq.curve_keypair`` makes them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import zmq

from subnetsim.subnet.errors import ConfigError

__all__ = ["OWNER", "KeyPair", "allowed_clients", "create_run_keys", "load_keypair",
           "server_public_key"]

OWNER = "owner"
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


@dataclasses.dataclass(frozen=True, slots=True)
class KeyPair:
    """A CURVE key pair, z85."""

    public: bytes
    secret: bytes


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name.startswith("."):
        raise ConfigError("key name", name, "letters, digits and ._- only")
    return name


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def create_run_keys(folder: Path, clients: Iterable[str]) -> None:
    """Fresh keys for the server, the owner and ``clients`` in ``folder`` (made 0700)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in ["server", OWNER, *clients]:
        public, secret = zmq.curve_keypair()
        _write_private(folder / f"{_check_name(name)}.secret",
                       json.dumps({"public": public.decode(), "secret": secret.decode()}))
        if name == "server":
            (folder / "server.key").write_text(public.decode(), encoding="utf-8")


def load_keypair(folder: Path, name: str) -> KeyPair:
    """A name's key pair; ConfigError if missing or malformed."""
    path = folder / f"{_check_name(name)}.secret"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pair = KeyPair(public=data["public"].encode("ascii"), secret=data["secret"].encode("ascii"))
    except OSError as error:
        raise ConfigError(str(path), None, f"cannot read key: {error.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeError):
        raise ConfigError(str(path), None, "not a subnetsim key file") from None
    if len(pair.public) != 40 or len(pair.secret) != 40:
        raise ConfigError(str(path), None, "keys must be 40 z85 characters")
    return pair


def server_public_key(folder: Path) -> bytes:
    """The server's public key, which a client needs to connect."""
    return load_keypair(folder, "server").public


def allowed_clients(folder: Path) -> dict[bytes, str]:
    """Public key -> name of every client key in ``folder`` (the server's allow list)."""
    names = sorted(path.name.removesuffix(".secret") for path in folder.glob("*.secret"))
    return {load_keypair(folder, name).public: name for name in names if name != "server"}
