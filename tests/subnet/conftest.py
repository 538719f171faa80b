"""Fixtures for the chain-engine tests: a SimPy clock, a small chain factory and typed fakes.

Blocks are produced at ``env.now == 12 * number``. ``submit_at(chain, k, call)`` submits half a
block before block ``k`` so the call lands in block ``k``; ``call_after(k, action)`` runs a
governance-style action (or a probe) a quarter block after block ``k``. ``through(k)`` is the
``until`` that lets block ``k`` and its ``call_after`` actions happen, and nothing later.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Sequence
from typing import Any

import pytest
import simpy

from subnetsim.subnet.chain import BLOCK_SECONDS, Chain, ExtrinsicResult
from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.emission import EmissionRules
from subnetsim.subnet.extrinsics import Extrinsic
from subnetsim.subnet.ledger import Ledger, RegistrationRules
from subnetsim.subnet.records import BlockRecord, EpochRecord, EventRecord, ExtrinsicRecord


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Genesis:
    """A neuron the factory registers directly at genesis (no burn), in listed uid order."""

    hotkey: str
    coldkey: str
    stake: float = 0.0
    balance: float = 10.0
    registered_at: int = 0
    permit: bool = False


# Two validators (permits, own stake) and four miners; uids 6 and 7 stay free.
DEFAULT_NEURONS = (
    Genesis(hotkey="val-0", coldkey="cold-0", stake=100.0, permit=True),
    Genesis(hotkey="val-1", coldkey="cold-1", stake=50.0, permit=True),
    Genesis(hotkey="miner-2", coldkey="cold-2"),
    Genesis(hotkey="miner-3", coldkey="cold-3"),
    Genesis(hotkey="miner-4", coldkey="cold-4"),
    Genesis(hotkey="miner-5", coldkey="cold-5"),
)
# Coldkeys that own no uid: a nominator and someone who wants to register.
DEFAULT_BALANCES = {"nominator": 20.0, "newcomer": 10.0}
# Small and quiet by default; each test turns on the rule it is about.
BASE_HYPER: dict[str, Any] = {
    "max_allowed_uids": 8,
    "tempo": 360,
    "commit_reveal_weights_enabled": False,
    "weights_rate_limit": 0,
    "immunity_period": 0,
}


@dataclasses.dataclass(slots=True)
class RecorderFake:
    """Keeps everything the chain hands its recorder, in order."""

    blocks: list[BlockRecord] = dataclasses.field(default_factory=list)
    extrinsics: list[ExtrinsicRecord] = dataclasses.field(default_factory=list)
    events: list[EventRecord] = dataclasses.field(default_factory=list)
    epochs: list[EpochRecord] = dataclasses.field(default_factory=list)

    def __call__(self, block: BlockRecord, extrinsics: list[ExtrinsicRecord],
                 events: list[EventRecord], epoch: EpochRecord | None) -> None:
        self.blocks.append(block)
        self.extrinsics.extend(extrinsics)
        self.events.extend(events)
        if epoch is not None:
            self.epochs.append(epoch)

    def events_of(self, kind: str) -> list[EventRecord]:
        """Events of one kind, in order."""
        return [event for event in self.events if event.kind == kind]


def build_ledger(neurons: Sequence[Genesis] = DEFAULT_NEURONS,
                 balances: dict[str, float] | None = None,
                 rules: RegistrationRules | None = None, **hyper: Any) -> Ledger:
    """A ledger with ``neurons`` registered at genesis; ``hyper`` overrides BASE_HYPER."""
    ledger = Ledger(hyper=Hyperparameters(**{**BASE_HYPER, **hyper}),
                    rules=rules or RegistrationRules())
    for uid, neuron in enumerate(neurons):
        ledger.hotkeys[uid], ledger.coldkeys[uid] = neuron.hotkey, neuron.coldkey
        ledger.registered[uid] = True
        ledger.block_at_registration[uid] = neuron.registered_at
        ledger.last_update[uid] = neuron.registered_at
        ledger.validator_permit[uid] = neuron.permit
        ledger.balances[neuron.coldkey] = neuron.balance
        if neuron.stake:
            ledger.credit_stake(neuron.coldkey, uid, neuron.stake)
    ledger.balances.update(DEFAULT_BALANCES if balances is None else balances)
    return ledger


def through(block: int) -> float:
    """The ``until`` time at which block ``block`` has been produced and the next has not."""
    return (block + 0.5) * BLOCK_SECONDS


@pytest.fixture
def env() -> simpy.Environment:
    return simpy.Environment()


@pytest.fixture
def recorder() -> RecorderFake:
    return RecorderFake()


@pytest.fixture
def make_ledger() -> Callable[..., Ledger]:
    return build_ledger


@pytest.fixture
def make_chain(env: simpy.Environment, recorder: RecorderFake) -> Callable[..., Chain]:
    """``make_chain(neurons=..., balances=..., rules=..., emission=..., netuid=..., **hyper)``:
    a chain over ``build_ledger(...)`` whose block process is already started on ``env``."""

    def make(*, emission: EmissionRules | None = None, netuid: int = 1,
             **ledger_args: Any) -> Chain:
        chain = Chain(env, build_ledger(**ledger_args), emission or EmissionRules(),
                      recorder=recorder, netuid=netuid)
        env.process(chain.produce_blocks(env))
        return chain

    return make


@pytest.fixture
def chain(make_chain: Callable[..., Chain]) -> Chain:
    """The default small chain: DEFAULT_NEURONS, commit-reveal off, no rate limit."""
    return make_chain()


@pytest.fixture
def submit_at(env: simpy.Environment) -> Callable[[Chain, int, Extrinsic], simpy.Process]:
    """Submit ``extrinsic`` so it lands in block ``block``; the process's value is its
    ExtrinsicResult."""

    def submit(chain: Chain, block: int, extrinsic: Extrinsic) -> simpy.Process:
        def process() -> Generator[simpy.Event, Any, ExtrinsicResult]:
            yield env.timeout((block - 0.5) * BLOCK_SECONDS - env.now)
            result = yield chain.submit(extrinsic)
            return result

        return env.process(process())

    return submit


@pytest.fixture
def call_after(env: simpy.Environment) -> Callable[[int, Callable[[], Any]], simpy.Process]:
    """Run ``action()`` between block ``block`` and the next (a governance call, a probe)."""

    def call(block: int, action: Callable[[], Any]) -> simpy.Process:
        def process() -> Generator[simpy.Event, Any, Any]:
            yield env.timeout((block + 0.25) * BLOCK_SECONDS - env.now)
            return action()

        return env.process(process())

    return call
