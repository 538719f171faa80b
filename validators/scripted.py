"""Scripted validators: weights from a fixed preference or fresh noise, no real queries.

They make the chain engine testable on its own (and cheap to benchmark): a ``fixed`` validator
believes in a quality vector over the miners (shared truth plus its own noise) and sets it every
step; a ``random`` validator sets fresh random weights every step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from subnetsim.subnet.chain import BLOCK_SECONDS, Chain
from subnetsim.subnet.rng import numpy_stream
from subnetsim.validators.submission import WeightSubmitter

__all__ = ["ScriptedValidator"]


@dataclasses.dataclass(slots=True)
class ScriptedValidator:
    """A validator whose weights follow a script (``fixed`` or ``random``)."""

    uid: int
    hotkey: str
    coldkey: str
    behaviour: str
    rng: np.random.Generator
    belief: np.ndarray  # (n,) preference over uids (fixed behaviour)
    miner_uids: tuple[int, ...]
    next_block: int
    # The owner's burn policy (dTAO networks): this share of the weight goes to the owner's
    # uid, whose miner incentive the chain burns (it then counts as MinerBurned).
    burn_uid: int | None = None
    burn_share: float = 0.0
    submitter: WeightSubmitter = dataclasses.field(init=False)
    serving: Any = None  # this node's HALT view (subnet.serving), once a council is staged
    # A fixed validator's last row and what it was computed from (``_fixed_row``).
    _fixed: tuple[Any, tuple[tuple[int, ...], tuple[float, ...]]] | None = dataclasses.field(
        default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.submitter = WeightSubmitter(hotkey=self.hotkey)

    @classmethod
    def for_uid(cls, *, uid: int, hotkey: str, coldkey: str, behaviour: str, seed: int,
                capacity: int, miner_uids: tuple[int, ...]) -> ScriptedValidator:
        """The scripted validator on ``uid``: its belief is the run's shared quality vector
        plus its own noise (both from keyed streams)."""
        quality = numpy_stream(seed, "world.quality").random(capacity)
        noise = numpy_stream(seed, "validator.belief", uid).normal(0, 0.05, capacity)
        return cls(uid=uid, hotkey=hotkey, coldkey=coldkey, behaviour=behaviour,
                   rng=numpy_stream(seed, "validator", uid),
                   belief=np.clip(quality + noise, 0.0, None), miner_uids=miner_uids,
                   next_block=1 + uid % 10)

    def validate(self, env: simpy.Environment, chain: Chain) -> Generator[simpy.Event, Any, None]:
        """SimPy process: wake mid-block every ``weights_rate_limit + 1`` blocks, set weights."""
        while True:
            # Mid-block wake-ups: extrinsics land in the next block, and a checkpoint taken at a
            # block boundary never has a validator half-way through a step.
            yield env.timeout(max(BLOCK_SECONDS * (self.next_block + 0.5) - env.now, 0.0))
            if self.serving is None or not self.serving.halted(self.uid, env.now):
                self.step(chain)
            self.next_block += chain.hyper.weights_rate_limit + 1

    def step(self, chain: Chain) -> None:
        """One weight-setting step."""
        if not self.miner_uids or self.submitter.sealed(chain):
            return
        if self.behaviour == "random":
            uids, scaled = self._row(self.rng.random(len(self.miner_uids)))
        else:
            uids, scaled = self._fixed_row()
        self.submitter.submit(chain, uids, scaled, self.rng)

    def _row(self, weights: np.ndarray) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """The uids and weights (max-scaled Python floats) to submit for ``weights`` over
        the miners, with the owner's burn share added."""
        uids = self.miner_uids
        if self.burn_uid is not None and self.burn_share > 0:
            uids, weights = self._with_burn(uids, weights)
        return uids, tuple((weights / max(weights.max(), 1e-12)).tolist())

    def _fixed_row(self) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """A fixed validator's row: the same every step until its belief, miners or burn
        change (an attack rewrites the belief in place, so its bytes are compared)."""
        belief = self.belief
        key = (belief.dtype.str, belief.tobytes(), self.miner_uids, self.burn_uid,
               self.burn_share)
        if self._fixed is None or self._fixed[0] != key:
            self._fixed = (key, self._row(belief[np.array(self.miner_uids)]))
        return self._fixed[1]

    def _with_burn(self, uids: tuple[int, ...],
                   weights: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
        """``burn_share`` of the row on the owner's uid, the rest spread as before."""
        assert self.burn_uid is not None
        total = weights.sum()
        spread = weights / total * (1 - self.burn_share) if total > 0 else weights * 0
        if self.burn_uid in uids:
            spread[uids.index(self.burn_uid)] += self.burn_share
            return uids, spread
        return (*uids, self.burn_uid), np.append(spread, self.burn_share)

    def state(self) -> dict[str, Any]:
        """Everything that changes during a run (for checkpoints)."""
        return {"rng": self.rng.bit_generator.state, "next_block": self.next_block,
                "pending": list(self.submitter.pending),
                "sealed_epoch": self.submitter.sealed_epoch}

    def restore(self, state: dict[str, Any]) -> None:
        """Inverse of ``state``."""
        self.rng.bit_generator.state = state["rng"]
        self.next_block = state["next_block"]
        self.submitter.pending = list(state["pending"])
        self.submitter.sealed_epoch = state.get("sealed_epoch", -1)
