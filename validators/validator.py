"""A validator that queries real miners, scores them and sets weights (or copies, or colludes).

``Validator.validate`` is its SimPy process. Half-way into a block it wakes when something is
due: a *query round* (every ``validation.query_interval`` blocks, querying behaviours only)
samples miners from its own stream, sends them one input batch through the simulated network
with a deadline, scores the replies and folds the rewards into its EMA; a *weight step* (every
``weights_rate_limit + 1`` blocks) turns its behaviour's preference into weights and submits
them, committing and revealing when commit-reveal is on. Every round ends before the next block
(deadline <= 5 s from mid-block), so a checkpoint never splits one.

A round's replies are scored once their signatures are checked: those of the replies that
earn a reward (a failed check only takes a reward away, so the others score 0 either way; the
``unsigned`` count is of rewards refused for a missing or bad signature). The checks run on the
signing worker's thread (``subnet.provenance.verify_batch``), so a round is kept (``_Round``, with
everything it needs from the moment its replies arrived) and scored the next time anything
depends on the scores: this validator's next round or weight step, or anyone reading
``scores``, ``stats`` or ``state()``. Scoring later from the same inputs gives the same
scores, so the run is the same as if each round were scored on arrival.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from subnetsim.subnet.chain import BLOCK_SECONDS, Chain
from subnetsim.subnet.provenance import (
    output_digest,
    public_key_table,
    query_id,
    verify_batch,
)
from subnetsim.subnet.rng import numpy_stream
from subnetsim.subnet.scenario import ValidationConfig, ValidatorOptions
from subnetsim.subnet.serving import ServingNetwork
from subnetsim.subnet.signing_worker import Job
from subnetsim.subnet.transport.sim import (
    HALTED,
    OK,
    STATUS_NAMES,
    Query,
    Responses,
    SimNetwork,
)
from subnetsim.validators.policies import (
    HALT_IGNORING_BEHAVIOURS,
    QUERYING_BEHAVIOURS,
    copied_scores,
    operator_scores,
)
from subnetsim.validators.sampling import query_candidates, sample_targets, servable
from subnetsim.validators.scoring import (
    ScoredTask,
    duplicate_replies,
    ema,
    reply_losses,
    rewards_from_losses,
    weights_from_scores,
)
from subnetsim.validators.submission import WeightSubmitter

__all__ = ["STAT_NAMES", "Validator"]

# Counters are part of the checkpoint state, which the chain hashes: one that differed between
# a signed and an unsigned run (e.g. checks made) would give them different head hashes.
STAT_NAMES = ("rounds", *STATUS_NAMES, "invalid", "unsigned", "duplicate", "weight_steps",
              "halted_rounds")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Round:
    """A query round whose replies are in, waiting for its signature checks to be scored."""

    targets: np.ndarray  # (k,) uids queried
    status: np.ndarray  # (k,) what came back
    payloads: tuple[Any, ...]
    losses: np.ndarray  # (k,) as the replies came
    rewards: np.ndarray  # (k,) each reply's improvement over the baseline, before the checks
    seniority: np.ndarray | None  # (k,) for dedupe, as the ledger stood on arrival
    checked: np.ndarray  # (c,) indices whose signatures are being checked: the rewarded ones
    verdicts: Job[np.ndarray] | None  # one per checked index


class Validator:
    """One validator agent (see the module docstring)."""

    def __init__(self, *, uid: int, hotkey: str, behaviour: str, options: ValidatorOptions,
                 validation: ValidationConfig, batch: int, task: ScoredTask | None,
                 network: SimNetwork, own_hotkeys: tuple[str, ...], capacity: int,
                 seed: int) -> None:
        self.uid = uid
        self.hotkey = hotkey
        self.behaviour = behaviour
        self.options = options
        self.config = validation
        self.batch = batch
        self.task = task
        self.network = network
        self.own_hotkeys = own_hotkeys
        self.sample_stream = numpy_stream(seed, "validator.sample", uid)
        self.input_stream = numpy_stream(seed, "validator.inputs", uid)
        self.salt_stream = numpy_stream(seed, "validator.salt", uid)
        self.submitter = WeightSubmitter(hotkey=hotkey)
        self._scores = np.zeros(capacity)  # (n,) EMA of rewards per uid
        self.registered_at = np.zeros(capacity, dtype=np.int64)  # whose score it is
        self.answered_halted = np.zeros(capacity, dtype=bool)  # last answer was "halted"
        self.next_query = 1 + uid % validation.query_interval
        self.next_weights = 1 + uid % 10
        self._stats = dict.fromkeys(STAT_NAMES, 0)
        # Rounds in, oldest first, their signatures still being checked.
        self._unscored: collections.deque[_Round] = collections.deque()
        self.seed = seed  # hotkeys' public keys are the run's (subnet.provenance)
        self._keyed_hotkeys: list[str | None] | None = None  # the hotkeys of ``_key_table``
        self._key_table = np.zeros((0, 32), dtype=np.uint8)
        self.require_signatures = True  # off only to measure what verifying costs (benchmarks)
        self.serving: ServingNetwork | None = None  # this node's HALT view, once staged

    @property
    def scores(self) -> np.ndarray:
        """(n,) EMA of rewards per uid, every round in scored."""
        self._score_rounds()
        return self._scores

    @scores.setter
    def scores(self, value: np.ndarray) -> None:
        self._score_rounds()
        self._scores = value

    @property
    def stats(self) -> dict[str, int]:
        """Counters (``STAT_NAMES``), every round in counted."""
        self._score_rounds()
        return self._stats

    @property
    def queries(self) -> bool:
        """Whether this behaviour does the work of querying miners."""
        return self.behaviour in QUERYING_BEHAVIOURS and self.task is not None

    def validate(self, env: simpy.Environment, chain: Chain) -> Generator[simpy.Event, Any, None]:
        """SimPy process: query rounds and weight steps, mid-block, forever."""
        while True:
            due = min(self.next_query, self.next_weights) if self.queries else self.next_weights
            yield env.timeout(max(BLOCK_SECONDS * (due + 0.5) - env.now, 0.0))
            block = chain.block
            halted = self.halted(env.now)
            if self.queries and block >= self.next_query:
                self.next_query = block + (1 if self._chasing(env.now) else
                                           self.config.query_interval)
                if halted:
                    self._stats["halted_rounds"] += 1
                else:
                    yield from self._query_round(chain)
            if block >= self.next_weights:
                self.next_weights = block + chain.hyper.weights_rate_limit + 1
                if not halted:
                    self._weight_step(chain)

    def halted(self, now: float) -> bool:
        """Whether this validator has verified a serving HALT and obeys it (a rogue never)."""
        return (self.serving is not None and self.behaviour not in HALT_IGNORING_BEHAVIOURS
                and self.serving.halted(self.uid, now))

    def _chasing(self, now: float) -> bool:
        """A rogue validator that knows of a serving halt: it queries every block, and only
        the miners that have not answered it "halted" (whoever still serves)."""
        return (self.behaviour in HALT_IGNORING_BEHAVIOURS and self.serving is not None
                and self.serving.halted(self.uid, now))

    # --- querying ----------------------------------------------------------------------------

    def _query_round(self, chain: Chain) -> Generator[simpy.Event, Any, None]:
        ledger = chain.ledger
        self._score_rounds()
        self._forget_replaced(ledger.block_at_registration)
        candidates = query_candidates(self._servable(ledger), self.uid)
        if self._chasing(chain.env.now):
            candidates = candidates[~self.answered_halted[candidates]]
        if not len(candidates):
            return
        targets = sample_targets(self.sample_stream, candidates, self.config.sample_size)
        task = self.task
        assert task is not None, "only querying validators (which have a task) query"
        inputs, truth = task.sample(self.input_stream, self.batch, "query")
        query = Query(caller_hotkey=self.hotkey, targets=targets, payload=inputs,
                      deadline=self.config.deadline, block=chain.block,
                      query_id=query_id(self.hotkey, chain.block, output_digest(inputs)))
        sent_at, chain_halted = chain.env.now, chain.ledger.is_halted("serving")
        responses = yield self.network.request(query, self.uid)
        losses = reply_losses(responses.payloads, truth, task, self.config.max_reply_bytes)
        rewards = rewards_from_losses(losses, task.batch_baseline(truth))
        # A failed check can only take a reward away, so a reply that earns nothing (no better
        # than the baseline, or no answer at all) scores 0 whatever its signature: only the
        # rewarded replies are checked, and a round's scores are those of checking them all.
        if self.require_signatures:
            checked = np.flatnonzero(rewards > 0.0)
            verdicts = self._check_signatures(query, responses, checked, ledger.hotkeys)
        else:
            checked, verdicts = np.empty(0, np.int64), None
        if self.serving is not None:
            self._witness(sent_at, chain_halted, query, responses)
            self.answered_halted[targets] = responses.status == HALTED
        seniority = (ledger.block_at_registration[targets] * len(ledger.hotkeys) + targets
                     if self.config.dedupe else None)
        self._unscored.append(_Round(
            targets=targets, status=responses.status, payloads=responses.payloads,
            losses=losses, rewards=rewards, seniority=seniority,
            checked=checked, verdicts=verdicts))

    def _check_signatures(self, query: Query, responses: Responses, checked: np.ndarray,
                          hotkeys: list[str | None]) -> Job[np.ndarray]:
        """Start checking that each rewarded reply carries a valid signature by its target's
        hotkey over this query, this block and this very output (on the signing worker)."""
        payloads = responses.payloads
        return verify_batch(checked, self._public_keys(hotkeys)[responses.targets[checked]],
                            [payloads[index] for index in checked.tolist()], responses.signatures,
                            query=query.query_id, block=query.block)

    def _public_keys(self, hotkeys: list[str | None]) -> np.ndarray:
        """(uids, 32) uint8: each uid's registered hotkey's public key (zeros: none), made
        again when a hotkey changes."""
        if hotkeys != self._keyed_hotkeys:
            self._keyed_hotkeys = list(hotkeys)
            self._key_table = public_key_table(self.seed, hotkeys)
        return self._key_table

    def _score_rounds(self) -> None:
        """Score the rounds in, oldest first, each once its signatures are checked."""
        while self._unscored:
            self._score(self._unscored.popleft())

    def _score(self, done: _Round) -> None:
        """A rewarded reply without a valid signature scores 0; the rest earn their improvement
        over the baseline, folded into the EMA."""
        rewards = done.rewards
        if done.verdicts is not None:
            unsigned = done.checked[~done.verdicts.result()]
            rewards[unsigned] = 0.0
            done.losses[unsigned] = np.inf  # counted invalid too, as a reply without one
            self._stats["unsigned"] += len(unsigned)
        if done.seniority is not None:
            duplicate = duplicate_replies(done.payloads, done.seniority)
            rewards[duplicate] = 0.0
            self._stats["duplicate"] += int(duplicate.sum())
        self._scores[done.targets] = ema(self._scores[done.targets], rewards,
                                         self.config.ema_alpha)
        self._tally(done.status, done.losses)

    def _witness(self, sent_at: float, chain_halted: bool, query: Query,
                 responses: Responses) -> None:
        """Tell the network's transcript what answered (the provenance record); the miners
        answered when the query reached them, as it was sent."""
        assert self.serving is not None
        signatures = responses.signatures
        for index in np.flatnonzero(responses.status == OK).tolist():
            self.serving.witness(
                time=sent_at, uid=int(responses.targets[index]), caller=self.hotkey,
                block=query.block, chain_halted=chain_halted,
                reply=signatures[index] if index < len(signatures) else None)

    def _servable(self, ledger: Any) -> np.ndarray:
        return servable(ledger.registered, ledger.validator_permit, ledger.stake,
                        self.config.validator_stake)

    def _forget_replaced(self, block_at_registration: np.ndarray) -> None:
        """A uid that was re-registered holds a new miner: its old score is not its own."""
        replaced = block_at_registration != self.registered_at
        self._scores[replaced] = 0.0
        self.registered_at[replaced] = block_at_registration[replaced]

    def _tally(self, status: np.ndarray, losses: np.ndarray) -> None:
        self._stats["rounds"] += 1
        counts = np.bincount(status, minlength=len(STATUS_NAMES)).tolist()
        for name, count in zip(STATUS_NAMES, counts, strict=False):
            self._stats[name] += count
        self._stats["invalid"] += int(np.count_nonzero((status == OK) & ~np.isfinite(losses)))

    # --- weights -----------------------------------------------------------------------------

    def _weight_step(self, chain: Chain) -> None:
        ledger = chain.ledger
        self._score_rounds()
        self._forget_replaced(ledger.block_at_registration)
        eligible = ledger.registered.copy()
        eligible[self.uid] = False
        uids, weights = weights_from_scores(
            self._preference(chain), eligible, top_k=self.config.top_k,
            exponent=self.config.reward_exponent, max_weight=chain.hyper.max_weights_limit,
            min_weights=chain.hyper.min_allowed_weights)
        if uids:
            self._stats["weight_steps"] += 1
            self.submitter.submit(chain, uids, weights, self.salt_stream)

    def _preference(self, chain: Chain) -> np.ndarray:
        """Score per uid that this behaviour wants to turn into weights."""
        ledger = chain.ledger
        if self.behaviour in QUERYING_BEHAVIOURS:
            return self._scores
        if self.behaviour == "lazy":
            return self._servable(ledger).astype(np.float64)
        if self.behaviour == "weight_copier":
            return self._copied(chain)
        own = [uid for uid, hotkey in enumerate(ledger.hotkeys) if hotkey in self.own_hotkeys]
        return operator_scores(ledger.capacity, own)

    def _copied(self, chain: Chain) -> np.ndarray:
        if self.options.copy_source == "consensus":
            last = chain.last_epoch
            return last.consensus.copy() if last is not None else np.zeros(len(self._scores))
        ledger = chain.ledger
        sources = ledger.validator_permit & ledger.registered
        sources[self.uid] = False
        return copied_scores(ledger.weights, ledger.stake, np.flatnonzero(sources))

    # --- checkpoints -------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything that changes during a run (for checkpoints); every round in scored."""
        self._score_rounds()
        return {
            "streams": [s.bit_generator.state for s in
                        (self.sample_stream, self.input_stream, self.salt_stream)],
            "scores": self._scores.copy(), "registered_at": self.registered_at.copy(),
            "answered_halted": self.answered_halted.copy(),
            "next_query": self.next_query, "next_weights": self.next_weights,
            "pending": list(self.submitter.pending), "stats": dict(self._stats),
            "sealed_epoch": self.submitter.sealed_epoch,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Inverse of ``state``."""
        streams = (self.sample_stream, self.input_stream, self.salt_stream)
        for stream, stream_state in zip(streams, state["streams"], strict=True):
            stream.bit_generator.state = stream_state
        self._unscored.clear()
        self._scores = state["scores"].copy()
        self.registered_at = state["registered_at"].copy()
        self.answered_halted = state["answered_halted"].copy()
        self.next_query, self.next_weights = state["next_query"], state["next_weights"]
        self.submitter.pending = list(state["pending"])
        self.submitter.sealed_epoch = state.get("sealed_epoch", -1)
        self._stats = dict(state["stats"])
