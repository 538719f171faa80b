"""A dTAO network in the dashboard: the Subnets panel fills from the real simulation process,
Enter selects the subnet the per-subnet panels show, panels that do not apply say so, and a
finished session ends on ``subnetsim run``'s digest."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from subnetsim.network_report import subnet_table
from subnetsim.network_world import NetworkWorld
from subnetsim.run import run
from subnetsim.subnet.dtao.scenario import load_network_scenario
from subnetsim.tui import messages
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.driver import SPEEDS, SimulationDriver
from subnetsim.tui.widgets.metagraph import metagraph_rows
from subnetsim.tui.widgets.subnets import ALPHA_COLUMNS, FLOW_COLUMNS, alpha_rows, flow_rows
from tests.tui.test_driver import Inbox, finished_session

NET_SMALL = Path(__file__).resolve().parents[1] / "data" / "net_small.toml"
MAX = SPEEDS.index(None)
SIZE = (140, 48)


@pytest.fixture(scope="module")
def scenario():
    return load_network_scenario(NET_SMALL)


def test_network_session_finishes_on_the_headless_digest(scenario, tmp_path) -> None:
    finished = finished_session(scenario, 5, 60, tmp_path)
    assert finished.block == 60
    assert finished.digest == run(scenario, 5, blocks=60).digest
    # The snapshot's network view is the network's state at that block, read the same way
    # `subnetsim subnets` reads it.
    world = NetworkWorld(scenario, 5)
    world.start()
    world.run_to_block(60)
    assert finished.network is not None
    assert finished.network.rows == world.result().subnets
    assert [n for n, _ in finished.network.flows] == [1, 2]
    for (_, flow), (_, subnet) in zip(finished.network.flows,
                                      sorted(world.economy.subnets.items()), strict=True):
        assert flow == subnet.flow
    # Where block 60's alpha went, as the running network's coinbase split it: the owner cut,
    # then half of the rest to miners and half to validators, of which rp went to root.
    cut = scenario.network.subnet_owner_cut
    for _, flow in finished.network.flows:
        split = flow.split
        assert split.owner == pytest.approx(flow.alpha_out * cut, rel=1e-12)
        assert split.server == pytest.approx((flow.alpha_out - split.owner) / 2, rel=1e-12)
        assert split.root + split.recycled > 0
        assert split.validator + split.root + split.recycled == pytest.approx(split.server,
                                                                              rel=1e-12)
        assert flow.alpha_out > 0
    # Price history: one point per block, the last one the pool's spot price now.
    blocks, spot, ema = finished.network.prices[1]
    assert blocks[-1] == 60 and len(blocks) == 60
    assert spot[-1] == world.economy.subnets[1].pool.price
    assert ema[-1] == world.economy.subnets[1].moving_price


def test_select_subnet_switches_the_per_subnet_views(scenario, tmp_path) -> None:
    driver = SimulationDriver(scenario, 5, budget=10**6, speed=MAX, paused=True,
                              save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    driver.send(messages.StepBlocks(count=25))
    first = inbox.until(lambda s: s.block == 25 and s.state == "paused")
    assert first.network is not None and first.network.selected == 1
    driver.send(messages.SelectSubnet(netuid=2))
    second = inbox.until(lambda s: s.network is not None and s.network.selected == 2)
    driver.send(messages.SelectSubnet(netuid=9))
    refused = inbox.until(lambda s: "refused" in s.notice)
    driver.send(messages.SetHyperparameter(name="kappa", value=0.6))
    edit = inbox.until(lambda s: "hyperparameter edits" in s.notice)
    driver.send(messages.Restart())
    restarted = inbox.until(lambda s: s.session == 1)
    driver.stop()
    # A restart is a new network from genesis with the next seed, subnet 1 shown again.
    assert (restarted.seed, restarted.block, restarted.network.selected) == (6, 0, 1)
    assert restarted.network.prices == {} and restarted.history == ()
    assert "no subnet 9" in refused.notice and refused.network.selected == 2
    assert edit.commands == ()
    # By block 25 subnet 1 (tempo 20, netuid 1) had one epoch (Yuma's schedule: block 19);
    # subnet 2 (tempo 30) none yet. Each subnet's epochs are its own.
    assert [(p.index, p.block) for p in first.history] == [(1, 19)]
    assert first.history[0].emission > 0
    assert second.history == ()
    assert first.hyper.tempo == 20 and second.hyper.tempo == 30
    # The metagraphs are each subnet's own (different validator stakes in net_small).
    stake_1 = sorted(row[2] for row in metagraph_rows(first))
    stake_2 = sorted(row[2] for row in metagraph_rows(second))
    assert stake_1 != stake_2


async def test_subnets_panel_fills_and_enter_selects(scenario, tmp_path) -> None:
    driver = SimulationDriver(scenario, 5, budget=10**6, speed=MAX, paused=True,
                              save_folder=tmp_path)
    app = DashboardApp(driver, network=True)
    async with app.run_test(size=SIZE) as pilot:
        driver.send(messages.StepBlocks(count=30))
        await _until(pilot, lambda: app.latest is not None and app.latest.block == 30
                     and app.latest.state == "paused")
        await pilot.press("9")
        await _until(pilot, lambda: app.query_one(TabbedContent).active == "subnets")
        app.render_latest()
        await pilot.pause()
        table = app.query_one("#subnets-table", DataTable)
        headers, rows = subnet_table(app.latest.network.rows,
                                     dict(app.latest.network.blocks_since_epoch))
        assert [str(c.label) for c in table.columns.values()] == headers
        assert [table.get_row_at(i) for i in range(table.row_count)] == \
            [[str(cell) for cell in row] for row in rows]
        flows = app.query_one("#subnets-flows", DataTable)
        assert [str(c.label) for c in flows.columns.values()] == list(FLOW_COLUMNS)
        assert [flows.get_row_at(i) for i in range(flows.row_count)] == \
            flow_rows(app.latest.network)
        alpha = app.query_one("#subnets-alpha", DataTable)
        assert [str(c.label) for c in alpha.columns.values()] == list(ALPHA_COLUMNS)
        assert [alpha.get_row_at(i) for i in range(alpha.row_count)] == \
            alpha_rows(app.latest.network)
        split = dict(app.latest.network.flows)[1].split  # the snapshot's own record
        row = dict(zip(ALPHA_COLUMNS, alpha.get_row_at(0), strict=True))
        assert (row["NETUID"], row["α OWNER"], row["α MINERS"], row["α VALIDATORS"]) == (
            "1", f"{split.owner:.6f}", f"{split.server:.6f}", f"{split.validator:.6f}")
        assert float(row["α MINERS"]) > 0
        assert "τ injected into pools" in str(app.query_one("#subnets-flow-summary",
                                                            Static).render())
        # Enter on the row of netuid 2 selects it; the Overview then names it.
        target = next(i for i in range(table.row_count) if table.get_row_at(i)[0] == "2")
        table.focus()
        table.move_cursor(row=target)
        await pilot.press("enter")
        await _until(pilot, lambda: app.latest.network.selected == 2)
        # ] and [ step through the netuids from any panel (wrapping around).
        await pilot.press("4", "right_square_bracket")
        await _until(pilot, lambda: app.latest.network.selected == 1)
        await pilot.press("left_square_bracket")
        await _until(pilot, lambda: app.latest.network.selected == 2)
        await pilot.press("1")
        await pilot.pause()
        app.render_latest()
        await pilot.pause()
        figures = str(app.query_one("#overview-figures", Static).render())
        assert "netuid 2 of 2" in figures
        assert " α2\n" in figures  # a subnet's stake is its alpha, not TAO
        # Panels that do not apply to networks say why.
        await pilot.press("5")
        await pilot.pause()
        assert "not offered for dTAO networks" in str(
            app.query_one("#parameters-pane", Static).render())
        await pilot.press("q")


async def _until(pilot, check, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def test_headless_twin_runs_a_network_scenario_with_its_overrides(scenario, capsys) -> None:
    from subnetsim.cli import main
    from subnetsim.subnet.dtao.scenario import apply_network_overrides

    assert main(["tui", str(NET_SMALL), "--headless", "--blocks", "30",
                 "--set", "tao_weight=0.5"]) == 0
    out = capsys.readouterr().out
    changed = apply_network_overrides(scenario, ["tao_weight=0.5"])
    assert f"digest {run(changed, 5, blocks=30).digest}" in out
    assert run(changed, 5, blocks=30).digest != run(scenario, 5, blocks=30).digest
    assert "PRICE (τ/α)" in out  # btcli's subnet table, as `subnetsim run` prints it


def test_a_pruned_netuid_registered_again_starts_a_fresh_history(scenario) -> None:
    from subnetsim.subnet.dtao.scenario import SubnetRegistration
    from subnetsim.tui.network_session import NetworkSession

    # At the subnet limit (2) a registration at block 10 prunes netuid 1 (the lower EMA) and
    # the newcomer takes its netuid.
    newcomer = dataclasses.replace(
        scenario.subnets[1], name="newcomer",
        neurons=tuple(dataclasses.replace(g, stake=0.0) for g in scenario.subnets[1].neurons))
    pruning = dataclasses.replace(
        scenario, registrations=(SubnetRegistration(block=10, balance=50.0, start_delay=5,
                                                    subnet=newcomer),),
        network=dataclasses.replace(scenario.network, subnet_limit=2))
    session = NetworkSession(0, pruning, 5)
    session.run_to_block(10)
    old_world = session.world
    assert session.network_view().prices[1][0] == tuple(range(1, 11))
    session.run_to_block(14)
    view = session.network_view()
    assert session.world is not old_world and session.world is session.network_world.subnets[1]
    assert [row.name for row in view.rows] == ["newcomer", "beta"]
    assert view.prices[1][0][0] > 10  # the old subnet 1's prices are gone
    assert view.prices[2][0] == tuple(range(1, 15))
