"""Serve a scenario's miners from their own process over the ZeroMQ bridge.

``python -m subnetsim.remote SCENARIO.toml [--seed N] [--endpoint tcp://127.0.0.1:PORT]
[--keys DIR]`` builds the scenario's world (genesis chain, pre-trained miners), makes the run's
CURVE keys in ``DIR`` if it holds none (the server's, the owner's, one per validator hotkey),
prints the bound endpoint on one line and answers authenticated queries until the owner's stop
message. The miners judge callers against the genesis chain: they do not follow a remote
simulation's later blocks. A scenario with a council (``[governance]``) makes the served miners
one node of its network: it holds the council's group keys and the network id from genesis,
verifies every HALT or RESUME sent over the wire itself, and while halted its miners answer
``halted`` (a ``rogue`` one keeps answering).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from subnetsim.subnet.errors import SubnetSimError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.subnet.serving import ServingView, WireNode
from subnetsim.subnet.transport.zmq_bridge import is_loopback, serve
from subnetsim.subnet.transport.zmq_keys import create_run_keys

__all__ = ["main", "wire_node"]


def wire_node(world: Any) -> WireNode:
    """The served miners' node: the council's genesis keys and the network id of ``world``
    (a world at genesis), the same ones ``staging.stage_governance`` registers."""
    from subnetsim.governance.council import council_keys
    from subnetsim.subnet.governance_gate import genesis_hash

    governance = world.scenario.governance
    keys = council_keys(governance.council, world.seed)
    view = ServingView(network_id=genesis_hash(world.chain.ledger, world.scenario.netuid),
                       halt_key=keys["halt"].public.group_public_key,
                       resume_key=keys["resume"].public.group_public_key,
                       max_halt_blocks=governance.gate.max_halt_blocks)
    return WireNode(view)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 on a user error)."""
    parser = argparse.ArgumentParser(prog="python -m subnetsim.remote", description=__doc__)
    parser.add_argument("scenario", help="scenario TOML whose miners to serve")
    parser.add_argument("--seed", type=int, help="run seed (default: the scenario's)")
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:*",
                        help="ZeroMQ endpoint to bind (default: a free port on 127.0.0.1)")
    parser.add_argument("--keys", type=Path, help="the run's CURVE key folder (made when empty;"
                        " default: runs/keys/<scenario>-seed<seed>)")
    args = parser.parse_args(argv)
    from subnetsim.catalog import safe_file_name
    from subnetsim.world import World

    try:
        scenario = load_scenario(args.scenario)
        seed = scenario.seed if args.seed is None else args.seed
        world = World(scenario, seed)
        keys = args.keys or Path("runs", "keys", f"{safe_file_name(scenario.name)}-seed{seed}")
        if not (keys / "server.secret").exists():
            create_run_keys(keys, [n.hotkey for n in world.neurons if n.role == "validator"])
    except (SubnetSimError, OSError) as error:
        print(f"subnetsim.remote: error: {error}", file=sys.stderr)
        return 2
    if world.miners is None:
        print("subnetsim.remote: error: the scenario has no serving miners", file=sys.stderr)
        return 2
    if not is_loopback(args.endpoint):
        print(f"subnetsim.remote: warning: {args.endpoint} is reachable beyond this machine"
              " (CURVE still authenticates every client)", file=sys.stderr)
    print(f"subnetsim.remote: keys in {keys}", file=sys.stderr)
    node = wire_node(world) if scenario.governance is not None else None
    world.miners.serving = node
    try:
        serve(world.miners, args.endpoint, ready=lambda endpoint: print(endpoint, flush=True),
              keys=keys, capacity=world.chain.ledger.capacity, node=node)
    except SubnetSimError as error:
        print(f"subnetsim.remote: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
