"""The network's Python API: per-subnet frames, staking, the scoped kill switch."""

from __future__ import annotations

from pathlib import Path

import pytest

import subnetsim
from subnetsim.network_simulation import FRAME_COLUMNS

NET = Path(__file__).resolve().parents[1] / "data" / "net_small.toml"


def test_frames_hold_one_row_per_block_and_subnet_and_match_the_run() -> None:
    net = subnetsim.NetworkSimulation(NET, overrides={"tao_weight": 0.1})
    assert net.scenario.network.tao_weight == 0.1
    net.run(blocks=30)
    frame = net.subnets_frame()
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert len(frame) == 30 * 2
    last = frame[frame.block == 30].set_index("netuid")
    for row in net.result().subnets:
        assert last.loc[row.netuid, "price"] == row.price
    per_block = frame.groupby("block").emission_share.sum()
    assert per_block.to_numpy() == pytest.approx(1.0)
    # Where each block's TAO went: injected or spent on protocol buys, never more than given.
    spent = frame.tao_in_emission + frame.excess_tao
    assert (spent <= frame.tao_emission + 1e-12).all()


def test_stake_and_halt_from_python() -> None:
    net = subnetsim.NetworkSimulation(NET)
    net.run(blocks=2)
    coldkey = "coldkey-2"
    done = net.stake(coldkey, "validator-0", netuid=1, tao=2.0)
    net.run(blocks=1)
    assert done.value[0] and done.value[1]["alpha"] > 0
    net.halt(2)
    net.run(blocks=3)
    frame = net.subnets_frame()
    assert frame[(frame.block == 6) & (frame.netuid == 2)].halted.item()
    assert frame[(frame.block == 6) & (frame.netuid == 2)].emission_share.item() == 0.0
    net.resume(2)
    net.run(blocks=1)
    assert net.subnets_frame().iloc[-1].emission_share > 0
