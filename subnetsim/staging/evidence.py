"""After a serving halt: a watcher submits the signed replies that prove who kept serving.

``EvidenceWatcher`` holds what the network saw during a serving halt (``ServingNetwork``'s
transcript: the signed replies validators received while the chain's serving scope was
halted; in the world a rogue validator's counterparties or a whistle-blower publish them).
When a serving halt has ended (RESUME, or expiry), it submits, per uid, up to
``max_replies`` of that uid's replies answered at least ``evidence_grace_blocks`` into the
halt, as one ``SubmitEvidence``; the chain decides (``subnet.evidence``). Before the genuine
evidence it also tries the two forgeries anyone could try, which the chain must refuse: a
rogue's replies pinned on an honest neuron, and a rogue's reply with its output digest edited.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

import simpy

from subnetsim.staging.attacks import POLL_OFFSET_S, _Submitter
from subnetsim.subnet.chain import BLOCK_SECONDS, Chain
from subnetsim.subnet.evidence import EvidenceRules, in_halt
from subnetsim.subnet.extrinsics import SubmitEvidence
from subnetsim.subnet.provenance import SignedReply
from subnetsim.subnet.serving import ServingNetwork

__all__ = ["EvidenceWatcher"]

WATCHER = "evidence-watcher"
FORGER = "evidence-forger"


class EvidenceWatcher(_Submitter):
    """Submits evidence after each serving halt (see the module docstring)."""

    def __init__(self, chain: Chain, serving: ServingNetwork, rules: EvidenceRules,
                 max_replies: int = 16) -> None:
        super().__init__(chain)
        self.serving = serving
        self.rules = rules
        self.max_replies = max_replies
        self.accused: dict[int, list[SignedReply]] = {}  # uid -> the replies submitted

    def run(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(POLL_OFFSET_S)
        handled: set[tuple[int, int | None]] = set()
        while True:
            gate = self.chain.governance
            for halt in list(gate.serving_halts) if gate is not None else []:
                if halt[1] is not None and halt not in handled:
                    handled.add(halt)
                    self._accuse(env, halt)
            yield env.timeout(BLOCK_SECONDS)

    def _accuse(self, env: simpy.Environment, halt: tuple[int, int | None]) -> None:
        ledger = self.chain.ledger
        grace = self.rules.evidence_grace_blocks
        by_uid: dict[int, dict[bytes, SignedReply]] = {}
        for seen in self.serving.transcript:
            reply = seen.reply
            if reply is not None and in_halt(reply.block, [halt], grace):
                by_uid.setdefault(seen.uid, {}).setdefault(reply.query, reply)
        cases = {uid: list(replies.values())[:self.max_replies]
                 for uid, replies in sorted(by_uid.items())
                 if ledger.registered[uid] and ledger.hotkeys[uid] == next(
                     iter(replies.values())).hotkey}
        if cases:
            self._forgeries(env, cases)
        for uid, replies in cases.items():
            self.accused[uid] = replies
            self.submit(env, "evidence", SubmitEvidence(
                uid=uid, accused=replies[0].hotkey, replies=tuple(r.as_json() for r in replies),
                hotkey=WATCHER))

    def _forgeries(self, env: simpy.Environment, cases: dict[int, list[SignedReply]]) -> None:
        """A rogue's replies pinned on an innocent uid, and one with its output edited."""
        ledger = self.chain.ledger
        uid, replies = next(iter(cases.items()))
        innocent = next((u for u in range(ledger.capacity) if ledger.registered[u]
                         and u not in cases and str(ledger.hotkeys[u]).startswith("miner")),
                        None)
        if innocent is not None:
            framed = [dataclasses.replace(r, hotkey=str(ledger.hotkeys[innocent])) for r in replies]
            self.submit(env, f"forged evidence (framing uid {innocent})", SubmitEvidence(
                uid=innocent, accused=str(ledger.hotkeys[innocent]),
                replies=tuple(r.as_json() for r in framed), hotkey=FORGER))
        edited = [dataclasses.replace(replies[0], digest=bytes(32)), *replies[1:]]
        self.submit(env, "tampered evidence", SubmitEvidence(
            uid=uid, accused=replies[0].hotkey, replies=tuple(r.as_json() for r in edited),
            hotkey=FORGER))
