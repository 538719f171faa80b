"""subnetsim: a Bittensor-style subnet simulator with a governance kill switch.

The public Python API (``docs/api.md``)::

    import subnetsim
    sc = subnetsim.load_scenario("default")              # a shipped name or a path
    sim = subnetsim.Simulation(sc, seed=3, overrides={"kappa": 0.6})
    sim.run(epochs=5)
    sim.set_hyperparameter("kappa", 0.55)                # recorded, as a dashboard edit is
    df = sim.epochs_frame()                              # pandas, one row per (epoch, uid)
    out = subnetsim.epoch(weights, stake, kappa=0.5)     # one Yuma epoch on your own W and S
    net = subnetsim.NetworkSimulation("dtao_default")   # a dTAO network of subnets
    net.run(blocks=720); net.subnets_frame()             # one row per (block, netuid)

The packages below it are layered, lowest first: ``subnetsim.subnet`` (the world: config,
consensus, ledger, chain, emission, gossip, transport, store) <- ``miners | validators |
governance`` (agents) <- the application (this package's own modules: composition root, runs,
CLI, sweeps, drills, this API) <- ``subnetsim.tui``. Names are imported lazily, so
``import subnetsim`` stays cheap (no torch, no pandas) until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from subnetsim.version import __version__

if TYPE_CHECKING:
    from subnetsim.api import epoch, load_scenario
    from subnetsim.network_simulation import NetworkSimulation
    from subnetsim.simulation import Simulation

__all__ = ["NetworkSimulation", "Simulation", "__version__", "epoch", "load_scenario"]

_LAZY = {
    "NetworkSimulation": "subnetsim.network_simulation",
    "Simulation": "subnetsim.simulation",
    "epoch": "subnetsim.api",
    "load_scenario": "subnetsim.api",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'subnetsim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
