"""A tiny subnet for validator tests: a chain, a network, and a typed fake miner server.

Uids 0-2 are validators (stake 5000, 3000, 2000), uids 3-7 miners answering like this:
3 perfect, 4 half-right, 5 junk (not a tensor), 6 too slow, 7 wrong shape. Every answer is
signed with its hotkey's key (``subnet.provenance``), as a real miner signs, unless
``FakeMiners.signing`` says otherwise for a uid.
The fake task's truth is always ones; its baseline loss is 1 (predicting zeros).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import simpy
import torch

from subnetsim.subnet.chain import Chain
from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.emission import EmissionRules
from subnetsim.subnet.ledger import Ledger, RegistrationRules
from subnetsim.subnet.provenance import hotkey_secret_key, sign_reply
from subnetsim.subnet.scenario import NetworkConfig, ValidationConfig, ValidatorOptions
from subnetsim.subnet.transport.sim import OK, UNREACHABLE, Query, ServerReply, SimNetwork
from subnetsim.validators.validator import Validator

BATCH = 4
STAKES = (5000.0, 3000.0, 2000.0)  # above validation.validator_stake: not queried


class OnesTask:
    """A typed fake task: inputs are zeros, the truth is ones, the loss is MSE."""

    output_dim = 1
    baseline_loss = 1.0

    def sample(self, rng: np.random.Generator, count: int, pool: str = "train") -> Any:
        rng.random()  # draw, like a real task, so streams move
        return torch.zeros(count, 2), torch.ones(count, 1)

    def losses(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ((predictions - targets) ** 2).mean(dim=(-2, -1))

    def batch_baseline(self, targets: torch.Tensor) -> float:
        return self.baseline_loss  # zeros are the know-nothing answer for all-ones truth


class FakeMiners:
    """A typed fake server for uids 3-7 (see the module docstring).

    ``signing`` per uid: ``"unsigned"`` (no signature), ``"other_key"`` (signed by another
    hotkey's key), ``"other_output"`` (a valid signature over a different answer).
    ``answers``: what each uid answers (a test may change one).
    """

    def __init__(self) -> None:
        self.signing: dict[int, str] = {}
        self.answers: dict[int, Any] = {
            3: torch.ones(BATCH, 1), 4: torch.full((BATCH, 1), 0.5), 5: "junk",
            6: torch.ones(BATCH, 1), 7: torch.ones(BATCH + 1, 1)}

    def handle(self, query: Query) -> ServerReply:
        answers = self.answers
        targets = query.targets.tolist()
        status = np.array([OK if uid in answers else UNREACHABLE for uid in targets], np.int8)
        service = np.array([100.0 if uid == 6 else 0.01 for uid in targets])
        return ServerReply(status=status, service_seconds=service,
                           payloads=tuple(answers.get(uid) for uid in targets),
                           signatures=tuple(self._sign(uid, query, answers.get(uid))
                                            for uid in targets))

    def _sign(self, uid: int, query: Query, answer: Any) -> Any:
        mode = self.signing.get(uid, "valid")
        if answer is None or mode == "unsigned":
            return None
        signer = "hotkey-0" if mode == "other_key" else f"hotkey-{uid}"
        signed = answer + 1 if mode == "other_output" else answer
        reply = sign_reply(hotkey_secret_key(0, signer), signer, query.query_id, query.block,
                           signed)
        return dataclasses.replace(reply, hotkey=f"hotkey-{uid}")


@dataclasses.dataclass(slots=True)
class ValidatorWorld:
    env: simpy.Environment
    chain: Chain
    network: SimNetwork
    miners: FakeMiners

    def validator(self, uid: int, behaviour: str = "honest", own: tuple[str, ...] = (),
                  copy_source: str = "weights", **config: Any) -> Validator:
        validation = ValidationConfig(**({"query_interval": 1, "sample_size": 8,
                                          "ema_alpha": 0.5} | config))
        return Validator(uid=uid, hotkey=f"hotkey-{uid}", behaviour=behaviour,
                         options=ValidatorOptions(copy_source=copy_source),
                         validation=validation, batch=BATCH,
                         task=OnesTask(), network=self.network, own_hotkeys=own,
                         capacity=self.chain.ledger.capacity, seed=0)

    def start(self, *validators: Validator) -> None:
        self.env.process(self.chain.produce_blocks(self.env))
        for validator in validators:
            self.env.process(validator.validate(self.env, self.chain))

    def weights(self, uid: int) -> np.ndarray:
        """The validator's weight row as stored on chain, normalised."""
        row = self.chain.ledger.weights[uid].astype(float)
        return row / row.sum() if row.sum() else row


def make_validator_world(**hyper: Any) -> ValidatorWorld:
    env = simpy.Environment()
    settings = {"max_allowed_uids": 8, "weights_rate_limit": 5, "tempo": 20,
                "commit_reveal_weights_enabled": False} | hyper
    ledger = Ledger(hyper=Hyperparameters(**settings), rules=RegistrationRules())
    for uid in range(8):
        ledger.hotkeys[uid], ledger.coldkeys[uid] = f"hotkey-{uid}", f"cold-{uid}"
        ledger.registered[uid] = True
    for uid, stake in enumerate(STAKES):
        ledger.credit_stake(f"cold-{uid}", uid, stake)
        ledger.validator_permit[uid] = True
    chain = Chain(env, ledger, EmissionRules())
    network = SimNetwork(env, 0, NetworkConfig(latency=0.1, jitter=0.0))
    miners = FakeMiners()
    network.attach(miners)
    return ValidatorWorld(env=env, chain=chain, network=network, miners=miners)
