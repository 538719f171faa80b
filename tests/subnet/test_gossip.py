"""Gossip propagation: learning times against a message-by-message flooding oracle."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import simpy

from subnetsim.subnet.config import from_dict
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.gossip import GossipConfig, GossipNetwork, Propagation, build_peer_graph


def flood(graph: nx.Graph, origins: list[int], start: float) -> dict[int, float]:
    """Oracle: every node relays the message to all its peers the first time it hears it;
    each copy takes its link's delay. Returns the first arrival time at every node."""
    env = simpy.Environment(initial_time=start)
    learned: dict[int, float] = {}

    def arrive(node: int, delay: float):
        yield env.timeout(delay)
        if node in learned:
            return
        learned[node] = env.now
        for peer in sorted(graph[node]):
            env.process(arrive(peer, graph[node][peer]["delay"]))

    for origin in origins:
        env.process(arrive(origin, 0.0))
    env.run()
    return learned


@pytest.mark.parametrize("topology", ["random_regular", "small_world", "scale_free"])
def test_learning_times_match_a_flooding_simulation(topology):
    config = GossipConfig(nodes=60, degree=4, topology=topology, loss=0.2, origins=2)
    network = GossipNetwork(config, seed=5)
    propagation = network.propagate(120.0)
    oracle = flood(network.graph, [0, 1], 120.0)

    assert sorted(oracle) == list(range(60))
    assert propagation.learned_at == pytest.approx([oracle[node] for node in range(60)])


def test_with_constant_links_a_node_learns_after_its_hop_count():
    config = GossipConfig(nodes=40, degree=3, topology="small_world", latency="constant",
                          latency_median_s=0.1, processing_s=0.0)
    network = GossipNetwork(config, seed=1)
    hops = nx.single_source_shortest_path_length(network.graph, 0)
    delays = network.propagate(0.0).delays

    assert delays == pytest.approx([0.1 * hops[node] for node in range(40)])


def test_a_sparse_graph_is_joined_so_every_node_is_reached():
    # Degree-1 regular graphs are perfect matchings: 50 separate pairs before joining.
    config = GossipConfig(nodes=100, degree=1)
    graph = build_peer_graph(config, seed=3)
    assert nx.is_connected(graph)
    assert GossipNetwork(config, seed=3).propagate(0.0).summary()["reached"] == 1.0


def test_loss_delays_arrivals_by_whole_resends():
    base = dict(nodes=200, degree=6, latency="constant", latency_median_s=0.05,
                processing_s=0.0, resend_s=1.0)
    clean = GossipNetwork(GossipConfig(**base), seed=9)
    lossy = GossipNetwork(GossipConfig(**base, loss=0.5), seed=9)
    delays = np.array(list(nx.get_edge_attributes(lossy.graph, "delay").values()))

    resends = delays - 0.05
    assert np.allclose(resends, np.round(resends))  # latency + a whole number of resends
    assert 0.3 < np.mean(delays > 0.05) < 0.7  # about half the links lose the first send
    assert lossy.propagate(0.0).summary()["p50_s"] > clean.propagate(0.0).summary()["p50_s"]


def test_the_same_seed_gives_the_same_network_and_another_seed_another():
    config = GossipConfig(nodes=300, degree=6)

    def fingerprint(seed: int) -> list:
        return sorted(build_peer_graph(config, seed).edges(data="delay"))

    assert fingerprint(4) == fingerprint(4)
    assert fingerprint(4) != fingerprint(5)


def test_the_summary_is_the_percentiles_of_the_delays():
    delays = np.array([0.0, 1.0, 2.0, 3.0, np.inf])
    summary = Propagation(finalised_at=12.0, delays=delays).summary()
    assert summary == {"p50_s": 1.5, "p95_s": pytest.approx(2.85), "max_s": 3.0,
                       "reached": 0.8}


def test_origins_must_be_nodes():
    network = GossipNetwork(GossipConfig(nodes=10, degree=2), seed=0)
    with pytest.raises(ValueError, match="origins"):
        network.propagate(0.0, origins=[10])


@pytest.mark.parametrize(("data", "field"), [
    ({"nodes": 10, "degree": 10}, "gossip.degree"),
    ({"nodes": 11, "degree": 3}, "gossip.degree"),  # random_regular needs nodes * degree even
    ({"nodes": 10, "degree": 2, "origins": 11}, "gossip.origins"),
    ({"topology": "ring"}, "topology"),
    ({"latency": "pareto"}, "latency"),
    ({"loss": 1.0}, "loss"),
])
def test_a_bad_gossip_config_names_the_field(data, field):
    with pytest.raises(ConfigError, match=field):
        from_dict(GossipConfig, data)
