"""``NetworkSimulation``: a dTAO network from Python, with per-subnet frames.

    import subnetsim
    net = subnetsim.NetworkSimulation("dtao_default", seed=3)
    net.run(blocks=720)
    df = net.subnets_frame()          # pandas: one row per (block, netuid)
    net.stake("my-coldkey", "validator-0", netuid=2, tao=10.0)   # a swap through the pool
    net.halt(2)                        # the kill switch on one netuid
    sn2 = net.subnet(2)                # that subnet's World (chain, ledger, last epoch)

Rows are taken at the end of every block (after its extrinsics), from the economy's state and
the block's flows: what ``DynamicInfo`` shows per subnet, plus where the block's TAO went.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from subnetsim.catalog import resolve
from subnetsim.commands import advance
from subnetsim.network_world import NetworkResult, NetworkWorld
from subnetsim.subnet.dtao.network import NetworkCall
from subnetsim.subnet.dtao.scenario import (
    NetworkScenario,
    apply_network_overrides,
    load_network_scenario,
)
from subnetsim.subnet.errors import ConfigError
from subnetsim.world import World

__all__ = ["FRAME_COLUMNS", "NetworkSimulation"]

FRAME_COLUMNS = ("block", "netuid", "name", "price", "moving_price", "tao_in", "alpha_in",
                 "alpha_out", "protocol_alpha", "emission_share", "tao_emission",
                 "tao_in_emission", "excess_tao", "alpha_in_emission", "alpha_out_emission",
                 "root_proportion", "miner_burned", "emission_enabled", "halted")


class NetworkSimulation:
    """One network world and the per-subnet rows it has produced so far.

    Args:
        scenario: a ``NetworkScenario``, a TOML path or a shipped network scenario's name.
        seed: the run seed (default: the scenario's).
        overrides: values to change before genesis (``{"tao_weight": 0.1}``, dotted paths).
    """

    def __init__(self, scenario: NetworkScenario | str | Path = "dtao_default",
                 seed: int | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        if not isinstance(scenario, NetworkScenario):
            scenario = load_network_scenario(resolve(scenario))
        assignments = [f"{key}={_toml(value)}" for key, value in (overrides or {}).items()]
        self.scenario = apply_network_overrides(scenario, assignments)
        self.seed = self.scenario.seed if seed is None else seed
        if self.seed < 0:
            raise ConfigError("seed", self.seed, "must be >= 0")
        self._rows: list[tuple[Any, ...]] = []
        self.world = NetworkWorld(self.scenario, self.seed, recorder=self._record)
        self.world.start()

    @property
    def block(self) -> int:
        """The last block produced."""
        return self.world.network.block

    @property
    def digest(self) -> str:
        """The network's head hash."""
        return self.world.network.head_hash

    def run(self, blocks: int) -> None:
        """Advance ``blocks`` blocks."""
        advance(self.world, self.block + blocks)

    def subnet(self, netuid: int) -> World:
        """Subnet ``netuid``'s world (its chain, ledger, epochs and agents)."""
        return self.world.subnets[netuid]

    def stake(self, coldkey: str, hotkey: str, netuid: int, tao: float,
              limit_price: float | None = None) -> Any:
        """Queue ``add_stake`` for the next block; the returned event's value is
        (accepted, facts) once that block is produced."""
        return self.world.network.submit(NetworkCall(
            kind="add_stake", coldkey=coldkey, hotkey=hotkey, netuid=netuid, amount=tao,
            limit_price=limit_price, allow_partial=limit_price is not None))

    def unstake(self, coldkey: str, hotkey: str, netuid: int, alpha: float) -> Any:
        """Queue ``remove_stake`` for the next block."""
        return self.world.network.submit(NetworkCall(
            kind="remove_stake", coldkey=coldkey, hotkey=hotkey, netuid=netuid, amount=alpha))

    def halt(self, netuid: int | None, scopes: tuple[str, ...] = ("emissions",),
             until_block: int | None = None) -> None:
        """The kill switch, now: one netuid, or (None) the whole network."""
        self.world.network.halt(netuid, scopes, until_block)

    def resume(self, netuid: int | None = None) -> None:
        """Lift the halts of one netuid, or of every subnet."""
        self.world.network.resume(netuid)

    def subnets_frame(self) -> pd.DataFrame:
        """One row per (block, netuid) since genesis, ``FRAME_COLUMNS``."""
        return pd.DataFrame(self._rows, columns=list(FRAME_COLUMNS))

    def result(self) -> NetworkResult:
        """The run's summary now (what ``subnetsim run --json`` prints)."""
        return self.world.result()

    def _record(self, block: Any, extrinsics: Any, events: Any, epoch: Any) -> None:
        economy = self.world.network.economy
        for netuid, s in sorted(economy.subnets.items()):
            flow = s.flow
            self._rows.append((block.number, netuid, s.name, s.pool.price, s.moving_price,
                               float(s.pool.tao), float(s.pool.alpha), float(s.alpha_out),
                               float(s.protocol_alpha), flow.share, float(flow.tao_emission),
                               float(flow.tao_in), float(flow.excess_tao),
                               float(flow.alpha_in), float(flow.alpha_out),
                               flow.root_proportion, s.miner_burned, s.emission_enabled,
                               s.emission_halted))


def _toml(value: Any) -> str:
    """A Python value as the TOML text ``--set`` parses."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


