"""Serve a scenario's miners from their own process over the ZeroMQ bridge.

``python -m subnetsim.remote SCENARIO.toml [--seed N] [--endpoint tcp://127.0.0.1:PORT]`` builds
the scenario's world (genesis chain, pre-trained miners), prints the bound endpoint on one line
and answers queries until a stop message. The miners judge callers against the genesis chain:
they do not follow a remote simulation's later blocks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from subnetsim.subnet.errors import SubnetSimError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.subnet.transport.zmq_bridge import serve

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 on a user error)."""
    parser = argparse.ArgumentParser(prog="python -m subnetsim.remote", description=__doc__)
    parser.add_argument("scenario", help="scenario TOML whose miners to serve")
    parser.add_argument("--seed", type=int, help="run seed (default: the scenario's)")
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:*",
                        help="ZeroMQ endpoint to bind (default: a free port on 127.0.0.1)")
    args = parser.parse_args(argv)
    from subnetsim.world import World

    try:
        scenario = load_scenario(args.scenario)
        world = World(scenario, scenario.seed if args.seed is None else args.seed)
    except SubnetSimError as error:
        print(f"subnetsim.remote: error: {error}", file=sys.stderr)
        return 2
    if world.miners is None:
        print("subnetsim.remote: error: the scenario has no serving miners", file=sys.stderr)
        return 2
    serve(world.miners, args.endpoint, ready=lambda endpoint: print(endpoint, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
