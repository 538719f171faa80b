"""Messaging between agents: in-simulation (``sim``) and across processes (``zmq_bridge``,
imported on its own so the simulation does not need ZeroMQ loaded)."""

from subnetsim.subnet.transport.sim import *  # noqa: F403 - the package re-exports the sim API
from subnetsim.subnet.transport.sim import __all__ as __all__
