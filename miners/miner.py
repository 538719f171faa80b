"""All miners of a simulation: their models, their query policy, and their SimPy process.

``MinerPool`` is the in-simulation ``Server`` behind the network: a validator's query to k
miners arrives as one call, the pool checks the caller against each miner's query policy,
evaluates every model that has to answer in one batched forward pass, and shapes each answer
by its miner's behaviour (see ``miners.behaviours``). ``MinerPool.serve`` is the miners'
process: late joiners register when their block comes, trainers take SGD steps as blocks pass.

Miners are identified by a *key* (their position in the scenario's plan), which never changes;
their uid is whatever the chain gave their hotkey, looked up when a query arrives.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
import torch

from subnetsim.miners.behaviours import (
    HALT_IGNORING_BEHAVIOURS,
    MODEL_BEHAVIOURS,
    lazy_answer,
    malformed_answer,
    noisy_answer,
    offline,
    pretrain_steps,
)
from subnetsim.miners.models import Architecture, ModelBank
from subnetsim.miners.policy import ADMITTED, RATE_LIMITED, QueryGuard
from subnetsim.miners.spec import MinerSpec, model_rows
from subnetsim.miners.tasks import Task
from subnetsim.subnet.chain import BLOCK_SECONDS, Chain
from subnetsim.subnet.extrinsics import Register
from subnetsim.subnet.provenance import secret_key_table, sign_batch
from subnetsim.subnet.rng import numpy_stream
from subnetsim.subnet.scenario import QueryPolicy, TaskConfig
from subnetsim.subnet.serving import ServingState
from subnetsim.subnet.transport.sim import HALTED, OK, REFUSED, UNREACHABLE, Query, ServerReply

__all__ = ["STAT_NAMES", "MinerPool", "MinerSpec"]

SERVICE_SECONDS = 0.02  # a model's time to answer a small batch
STAT_NAMES = ("queries", "answered", "refused", "rate_limited", "missed", "relayed",
              "relay_refused", "relay_rate_limited", "halted")
_STAT = {name: index for index, name in enumerate(STAT_NAMES)}
NO_ANSWER = (None, np.inf)


class MinerPool:
    """The miners of one simulation (see the module docstring)."""

    def __init__(self, *, specs: list[MinerSpec], task: Task, task_config: TaskConfig,
                 policy: QueryPolicy, chain: Chain, seed: int) -> None:
        self.specs = specs
        self.task = task
        self.chain = chain
        count = len(specs)
        self.key_by_hotkey = {spec.hotkey: spec.key for spec in specs}
        self._hotkeys_seen: list[str | None] = []  # the ledger's hotkeys _key_of_uid is for
        self._key_of_uid = np.zeros(0, dtype=np.int64)
        self.model_row = model_rows(specs)
        behaviours = np.array([spec.behaviour for spec in specs])
        self.serves_model = np.isin(behaviours, MODEL_BEHAVIOURS)  # answers with its own model
        self.is_copycat = behaviours == "copycat"
        self.is_flaky = behaviours == "flaky"
        self.obeys_halts = ~np.isin(behaviours, HALT_IGNORING_BEHAVIOURS)
        # Each miner's hotkey key pair, from its keyed stream (subnet.provenance).
        self.signing_keys = secret_key_table(seed, [spec.hotkey for spec in specs])
        self.sign_replies = True  # off only to measure what signing costs (benchmarks)
        self.serving: ServingState | None = None  # the nodes' HALT views, once a council is
        #                                              staged (subnetsim.staging)
        # Behaviours whose answers are more than a model's output (or no model's output).
        self.special = np.isin(behaviours, ("lazy", "malformed", "noisy", "copycat", "flaky"))
        self.bank = ModelBank(Architecture(input_dim=task.input_dim, hidden=task_config.hidden,
                                           depth=task_config.depth, output_dim=task.output_dim),
                              count)
        self.guard = QueryGuard(policy, count, chain.ledger.capacity)
        self.answer_streams = [numpy_stream(seed, "miner.answer", s.key) for s in specs]
        self.train_streams = {s.key: numpy_stream(seed, "miner.train", s.key)
                              for s in specs if s.behaviour == "trainer"}
        self.phase = [int(numpy_stream(seed, "miner.flaky", s.key).integers(0, 1 << 16))
                      for s in specs]
        self.joined = np.array([s.join_block == 0 for s in specs])
        self.next_join = np.array([s.join_block for s in specs], dtype=np.int64)
        self.next_train = np.array([s.options.train_interval for s in specs], dtype=np.int64)
        self.stats = np.zeros((count, len(STAT_NAMES)), dtype=np.int64)
        self.learning = (task_config.learning_rate, task_config.momentum,
                         task_config.pretrain_batch)
        self.seed = seed
        self._pretrain(task_config, seed)

    # --- building ----------------------------------------------------------------------------

    def _pretrain(self, config: TaskConfig, seed: int) -> None:
        """Initialise every model from its own stream, then pre-train them all together on the
        shared public stream, each for the steps its quality buys."""
        owners = [s for s in self.specs
                  if s.behaviour in MODEL_BEHAVIOURS and self.model_row[s.key] == s.key]
        for spec in owners:
            self.bank.initialise(spec.key, numpy_stream(seed, "miner.init", spec.key))
        rows = torch.tensor([s.key for s in owners], dtype=torch.long)
        steps = torch.tensor([pretrain_steps(s.quality, config.pretrain_steps) for s in owners],
                             dtype=torch.long)
        public = numpy_stream(seed, "miners.pretrain")

        def data(step: int, active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.task.sample(public, config.pretrain_batch)  # one batch for everyone

        self.bank.train(rows, steps, data, self.task.losses, config.learning_rate,
                        config.momentum)

    # --- serving queries ---------------------------------------------------------------------

    def handle(self, query: Query) -> ServerReply:
        """Answer a validator's query for each target uid (the network's ``Server``)."""
        targets = query.targets
        count = len(targets)
        status = np.full(count, UNREACHABLE, dtype=np.int8)
        service = np.full(count, np.inf)
        payloads: list[Any] = [None] * count
        keys = self._keys_of(targets)
        block = query.block
        known = keys >= 0
        for index in np.flatnonzero(known)[self.is_flaky[keys[known]]].tolist():
            known[index] = not self._offline(int(keys[index]), block)
        present = np.flatnonzero(known)
        if not len(present) or not self._valid_inputs(query.payload):
            status[present], service[present] = REFUSED, SERVICE_SECONDS
            return ServerReply(status=status, service_seconds=service, payloads=tuple(payloads))
        halted = self._halted(targets[present], keys[present])
        if halted.any():  # a halted miner answers "halted" to everyone, before any policy
            status[present[halted]], service[present[halted]] = HALTED, SERVICE_SECONDS
            self.stats[keys[present[halted]], _STAT["halted"]] += 1
            present = present[~halted]
        verdict = self._check(keys[present], query.caller_hotkey, block)
        self.stats[keys[present], _STAT["queries"]] += 1  # keys are distinct within a query
        self._count(keys[present], verdict, "")
        status[present] = np.where(verdict == ADMITTED, OK, REFUSED)
        service[present[verdict != ADMITTED]] = SERVICE_SECONDS
        admitted = present[verdict == ADMITTED]
        answers = self._answers(keys[admitted], query.payload, block)
        signers: list[tuple[int, str, int]] = []  # (index, hotkey, key row) per answer
        for index, key, (payload, seconds) in zip(admitted.tolist(), keys[admitted].tolist(),
                                                  answers, strict=True):
            payloads[index], service[index] = payload, seconds
            if payload is not None:
                signers.append((index, self.specs[key].hotkey, key))
        signatures = (sign_batch(count, signers, query.query_id, block, payloads,
                                 self.signing_keys)
                      if self.sign_replies else ())
        return ServerReply(status=status, service_seconds=service, payloads=tuple(payloads),
                           signatures=signatures)

    def _halted(self, uids: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """(k,) which of these miners have verified a serving HALT by now and obey it."""
        halted = np.zeros(len(uids), dtype=bool)
        if self.serving is None:
            return halted
        now = self.chain.env.now
        for index in np.flatnonzero(self.obeys_halts[keys]).tolist():
            halted[index] = self.serving.halted(int(uids[index]), now)
        return halted

    def _check(self, keys: np.ndarray, caller_hotkey: str, block: int) -> np.ndarray:
        """The query policy of miners ``keys`` for one caller (verdict codes per miner)."""
        caller_uid = self.chain.uid_of(caller_hotkey)
        stake = float(self.chain.ledger.stake[caller_uid]) if caller_uid is not None else 0.0
        return self.guard.admit(keys, caller_uid, stake, block)

    def _count(self, keys: np.ndarray, verdict: np.ndarray, prefix: str) -> None:
        """Tally policy outcomes on the rows of ``keys``."""
        limited = verdict == RATE_LIMITED
        refused = (verdict != ADMITTED) & ~limited
        self.stats[keys[refused], _STAT[prefix + "refused"]] += 1  # distinct keys
        self.stats[keys[limited], _STAT[prefix + "rate_limited"]] += 1

    def _valid_inputs(self, payload: Any) -> bool:
        """A query's inputs must be a float32 ``(B, input_dim)`` batch of at most 4,096 rows."""
        return (isinstance(payload, torch.Tensor) and payload.dtype == torch.float32
                and payload.dim() == 2 and payload.shape[1] == self.task.input_dim
                and 0 < payload.shape[0] <= 4096)

    def _answers(self, keys: np.ndarray, inputs: torch.Tensor,
                 block: int) -> list[tuple[Any, float]]:
        """(payload, service seconds) per admitted miner; one forward pass for all models."""
        sources = np.where(self.serves_model[keys], keys, -1)
        for index in np.flatnonzero(self.is_copycat[keys]).tolist():
            sources[index] = self._source(int(keys[index]), block)
        answering = np.flatnonzero(sources >= 0)
        answers: list[tuple[Any, float]] = [NO_ANSWER] * len(keys)
        if len(answering):
            unique_rows, position = _distinct(self.model_row[sources[answering]])
            outputs = self.bank.forward(torch.from_numpy(unique_rows), inputs).unbind(0)
            for index, row in zip(answering.tolist(), position.tolist(), strict=True):
                answers[index] = (outputs[row], SERVICE_SECONDS)
        shape = (inputs.shape[0], self.task.output_dim)
        for index in np.flatnonzero(self.special[keys]).tolist():
            answers[index] = self._shape_answer(int(keys[index]), int(sources[index]),
                                                answers[index][0], shape)
        missed = np.array([answer[0] is None for answer in answers], dtype=bool)
        self.stats[keys[~missed], _STAT["answered"]] += 1
        self.stats[keys[missed], _STAT["missed"]] += 1
        return answers

    def _source(self, key: int, block: int) -> int:
        """Whose model a copycat replays: its victim's, if the victim lets it ask; else -1."""
        spec = self.specs[key]
        victim = self._victim(spec)
        if victim < 0 or not self.serves_model[victim] or self._offline(victim, block):
            return -1
        verdict = self._check(np.array([victim]), spec.hotkey, block)
        self._count(np.array([key]), verdict, "relay_")
        if verdict[0] != ADMITTED:
            return -1
        self.stats[victim, _STAT["relayed"]] += 1
        return victim

    def _shape_answer(self, key: int, source: int, answer: torch.Tensor | None,
                      shape: tuple[int, int]) -> tuple[Any, float]:
        """The answer of a miner whose behaviour changes what (or when) it replies."""
        spec = self.specs[key]
        rng = self.answer_streams[key]
        if spec.behaviour == "lazy":
            return lazy_answer(spec.options.answer, shape, rng), SERVICE_SECONDS
        if spec.behaviour == "malformed":
            return malformed_answer(spec.options.fault, shape, rng), SERVICE_SECONDS
        if answer is None:
            return NO_ANSWER
        if self.specs[source].behaviour == "noisy":
            noise = self.specs[source].options.noise
            answer = noisy_answer(answer, noise, self.answer_streams[source])
        seconds = SERVICE_SECONDS
        if spec.behaviour == "copycat":
            seconds += spec.options.relay_seconds * float(rng.lognormal(0.0, 0.5))
        if spec.behaviour == "flaky" and rng.random() < spec.options.miss_probability:
            return NO_ANSWER
        return answer, seconds

    def _victim(self, spec: MinerSpec) -> int:
        """Key of the miner a copycat copies (a fixed uid, or the top miner by incentive)."""
        uid = spec.options.victim
        if uid < 0:
            last = self.chain.last_epoch
            if last is None:
                return -1
            incentive = last.incentive.copy()
            own = self.chain.uid_of(spec.hotkey)
            if own is not None:
                incentive[own] = -1.0
            uid = int(np.argmax(incentive))
        hotkeys = self.chain.ledger.hotkeys
        hotkey = hotkeys[uid] if uid < len(hotkeys) else None
        return self.key_by_hotkey.get(hotkey, -1) if hotkey is not None else -1

    def _keys_of(self, uids: np.ndarray) -> np.ndarray:
        """Miner key per uid (-1: no miner of ours), from a table rebuilt when a hotkey
        changed (a registration, a pruning or a restore; comparing the lists is cheap)."""
        hotkeys = self.chain.ledger.hotkeys
        if hotkeys != self._hotkeys_seen:
            self._hotkeys_seen = list(hotkeys)
            self._key_of_uid = np.array([self.key_by_hotkey.get(hotkey, -1) if hotkey else -1
                                         for hotkey in hotkeys], dtype=np.int64)
        return self._key_of_uid[uids]

    def _offline(self, key: int, block: int) -> bool:
        spec = self.specs[key]
        options = spec.options
        return spec.behaviour == "flaky" and offline(block, options.offline_every,
                                                     options.offline_blocks, self.phase[key])

    # --- the process: joining and online training --------------------------------------------

    def serve(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        """SimPy process: a quarter into each block with work due, register late joiners and
        train the trainers (a checkpoint at a block boundary never splits this work)."""
        while True:
            wake = self._next_due()
            if wake is None:
                return
            yield env.timeout(max(BLOCK_SECONDS * (wake + 0.25) - env.now, 0.0))
            block = self.chain.block
            self._join_due(block)
            self._train_due(block)

    def _next_due(self) -> int | None:
        block = self.chain.block
        due = [int(self.next_join[~self.joined].min())] if (~self.joined).any() else []
        trainers = list(self.train_streams)
        if trainers:
            due.append(int(self.next_train[trainers].min()))
        return max(min(due), block) if due else None

    def _join_due(self, block: int) -> None:
        for key in np.flatnonzero(~self.joined).tolist():
            spec = self.specs[key]
            if self.chain.uid_of(spec.hotkey) is not None:
                self.joined[key] = True
            elif self.next_join[key] <= block:
                self.chain.submit(Register(hotkey=spec.hotkey, coldkey=spec.coldkey))
                self.next_join[key] = block + spec.options.join_interval

    def _train_due(self, block: int) -> None:
        due = [key for key in self.train_streams if self.next_train[key] <= block]
        if not due:
            return
        for key in due:
            self.next_train[key] = block + self.specs[key].options.train_interval
        active = [key for key in due if self.chain.uid_of(self.specs[key].hotkey) is not None]
        if active:
            self._train(active)

    def _train(self, keys: list[int]) -> None:
        """Online SGD for trainers ``keys``, each on fresh draws from its own stream."""
        learning_rate, momentum, batch = self.learning
        steps = [self.specs[key].options.train_steps for key in keys]
        longest = max(steps)
        inputs, targets = [], []
        for key, count in zip(keys, steps, strict=True):
            x, y = self.task.sample(self.train_streams[key], count * batch)
            inputs.append(_pad_steps(x, count, longest, batch))
            targets.append(_pad_steps(y, count, longest, batch))
        x_all, y_all = torch.stack(inputs, dim=1), torch.stack(targets, dim=1)

        def data(step: int, active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return x_all[step][active], y_all[step][active]

        self.bank.train(torch.tensor(keys, dtype=torch.long), torch.tensor(steps), data,
                        self.task.losses, learning_rate, momentum)

    # --- outcomes and checkpoints ------------------------------------------------------------

    def model_losses(self) -> np.ndarray:
        """(n,) per uid: held-out loss of what its miner serves now (a copycat: its victim's
        answers); NaN for uids without a miner or whose miner serves nothing valid."""
        inputs, targets = self.task.held_out()
        outputs = self.bank.forward(torch.arange(len(self.specs)), inputs)
        losses = np.full(self.chain.ledger.capacity, np.nan)
        for spec in self.specs:
            uid = self.chain.uid_of(spec.hotkey)
            source = self._victim(spec) if spec.behaviour == "copycat" else spec.key
            if uid is None or source < 0 or (spec.behaviour == "copycat"
                                             and not self.serves_model[source]):
                continue
            answer = self._held_out_answer(source, outputs, inputs.shape[0])
            if answer is not None:
                losses[uid] = float(self.task.losses(answer[None], targets)[0])
        return losses

    def _held_out_answer(self, key: int, outputs: torch.Tensor,
                         rows: int) -> torch.Tensor | None:
        spec = self.specs[key]
        rng = numpy_stream(self.seed, "miner.held_out", key)  # not the serving stream
        if spec.behaviour == "lazy":
            return lazy_answer(spec.options.answer, (rows, self.task.output_dim), rng)
        if spec.behaviour not in MODEL_BEHAVIOURS:
            return None
        answer = outputs[self.model_row[key]]
        if spec.behaviour == "noisy":
            answer = noisy_answer(answer, spec.options.noise, rng)
        return answer

    def state(self) -> dict[str, Any]:
        """Everything that changes during a run (for checkpoints)."""
        return {
            "bank": self.bank.state(), "guard": self.guard.state(),
            "answer_streams": [s.bit_generator.state for s in self.answer_streams],
            "train_streams": {k: s.bit_generator.state for k, s in self.train_streams.items()},
            "joined": self.joined.copy(), "next_join": self.next_join.copy(),
            "next_train": self.next_train.copy(), "stats": self.stats.copy(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Inverse of ``state``."""
        self.bank.restore(state["bank"])
        self.guard.restore(state["guard"])
        for stream, stream_state in zip(self.answer_streams, state["answer_streams"], strict=True):
            stream.bit_generator.state = stream_state
        for key, stream_state in state["train_streams"].items():
            self.train_streams[key].bit_generator.state = stream_state
        for name in ("joined", "next_join", "next_train", "stats"):
            setattr(self, name, state[name].copy())


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for a short non-empty vector, with fewer
    calls: the distinct values ascending, and each value's position among them."""
    ordered = np.sort(values)
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    distinct = ordered[keep]
    return distinct, np.searchsorted(distinct, values)


def _pad_steps(values: torch.Tensor, steps: int, longest: int, batch: int) -> torch.Tensor:
    """(steps * batch, ...) draws as (longest, batch, ...), zero-padded past ``steps``."""
    shaped = values.reshape(steps, batch, *values.shape[1:])
    if steps == longest:
        return shaped
    padding = torch.zeros(longest - steps, batch, *values.shape[1:], dtype=values.dtype)
    return torch.cat([shaped, padding])
