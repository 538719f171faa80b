"""The simulated network: one event per query, seeded latency and loss, deadlines."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from subnetsim.subnet.scenario import NetworkConfig
from subnetsim.subnet.transport.sim import (
    OK,
    REFUSED,
    TIMEOUT,
    UNREACHABLE,
    Query,
    ServerReply,
    SimNetwork,
)


class EchoServer:
    """A typed fake server: answers for uids 0-9 after ``service`` seconds, refuses uid 9."""

    def __init__(self, service: float = 0.0) -> None:
        self.service = service
        self.seen: list[Query] = []

    def handle(self, query: Query) -> ServerReply:
        self.seen.append(query)
        targets = query.targets
        status = np.where(targets < 9, OK, np.where(targets == 9, REFUSED, UNREACHABLE))
        service = np.where(targets < 10, self.service, np.inf)
        return ServerReply(status=status.astype(np.int8), service_seconds=service,
                           payloads=tuple(f"reply {t}" for t in targets.tolist()))


def _send(network: SimNetwork, env: simpy.Environment, targets, deadline=2.0):
    box = {}

    def caller(env):
        box["sent"] = env.now
        query = Query(caller_hotkey="v", targets=np.array(targets), payload=None,
                      deadline=deadline, block=0)
        box["responses"] = yield network.request(query, 0)
        box["done"] = env.now

    env.process(caller(env))
    env.run(until=100)
    return box


def test_replies_arrive_in_one_event_with_status_per_target():
    env = simpy.Environment()
    network = SimNetwork(env, 1, NetworkConfig(latency=0.1, jitter=0.0))
    network.attach(EchoServer(service=0.05))
    box = _send(network, env, [3, 9, 12])
    responses = box["responses"]
    assert responses.status.tolist() == [OK, REFUSED, UNREACHABLE]
    assert responses.payloads == ("reply 3", None, None)
    assert box["done"] - box["sent"] == pytest.approx(2.0)  # someone never answered: deadline
    assert responses.seconds[0] == pytest.approx(0.15)


def test_when_everyone_answers_the_caller_waits_only_for_the_slowest():
    env = simpy.Environment()
    network = SimNetwork(env, 1, NetworkConfig(latency=0.2, jitter=0.5))
    network.attach(EchoServer())
    box = _send(network, env, [0, 1, 2, 3])
    assert box["done"] - box["sent"] == pytest.approx(box["responses"].seconds.max())
    assert len(set(box["responses"].seconds.tolist())) == 4  # jittered per target


def test_late_and_lost_replies_time_out():
    env = simpy.Environment()
    slow = SimNetwork(env, 1, NetworkConfig(latency=0.1, jitter=0.0))
    slow.attach(EchoServer(service=5.0))
    assert _send(slow, env, [0, 1])["responses"].status.tolist() == [TIMEOUT, TIMEOUT]
    env = simpy.Environment()
    lossy = SimNetwork(env, 1, NetworkConfig(latency=0.1, loss_probability=1.0))
    lossy.attach(EchoServer())
    assert _send(lossy, env, [0, 1])["responses"].count(TIMEOUT) == 2


def test_latency_is_a_function_of_seed_and_caller_and_its_state_round_trips():
    def seconds(seed, state=None):
        env = simpy.Environment()
        network = SimNetwork(env, seed, NetworkConfig(latency=0.2, jitter=0.5))
        network.attach(EchoServer())
        if state is not None:
            network.restore(state)
        first = _send(network, env, [0, 1, 2])["responses"].seconds
        return first, network.state()

    one, state = seconds(7)
    assert np.array_equal(one, seconds(7)[0])
    assert not np.array_equal(one, seconds(8)[0])
    second_round, _ = seconds(7, state)
    assert not np.array_equal(one, second_round)  # the stream moved on, and resumed there


def test_no_server_means_unreachable():
    env = simpy.Environment()
    box = _send(SimNetwork(env, 1, NetworkConfig()), env, [0, 1])
    assert box["responses"].status.tolist() == [UNREACHABLE, UNREACHABLE]
