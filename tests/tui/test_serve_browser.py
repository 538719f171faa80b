"""``subnetsim serve`` in a real browser: headless Chromium shows a live block counter."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tui.cdp import ensure_chromium, open_browser

SMALL = Path(__file__).resolve().parents[1] / "data" / "small.toml"
BLOCK = re.compile(r"block ([\d,]+)/240")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path):  # noqa: ANN201
    ensure_chromium()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "subnetsim", "serve", str(SMALL), "--port", str(port),
         "--speed", "10"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        for _ in range(300):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError(server.stderr.read().decode() if server.stderr else "no port")
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the dashboards it started
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _blocks(text: str) -> list[int]:
    return [int(found.replace(",", "")) for found in BLOCK.findall(text)]


async def test_the_served_dashboard_shows_a_live_block_counter(served, tmp_path) -> None:
    async with open_browser(served) as browser:
        text = await browser.watch_until(lambda t: len(set(_blocks(t))) >= 3, seconds=60)
        blocks = _blocks(text)
        assert len(set(blocks)) >= 3, text[-2000:]
        assert blocks == sorted(blocks)  # the counter moves forward while the page watches
        await browser.screenshot(tmp_path / "page.png")
    assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_serve_refuses_a_bad_scenario_or_setting_in_one_line(capsys) -> None:
    from subnetsim.cli import main

    for argv in (["serve", "nope.toml"], ["serve", str(SMALL), "--set", "kapa=1"],
                 ["serve", str(SMALL), "--port", "0"]):
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert error.startswith("subnetsim serve: error:") and len(error.splitlines()) == 1


def test_tui_set_changes_the_scenario_before_genesis(capsys) -> None:
    from subnetsim.cli import main
    from subnetsim.run import run
    from subnetsim.subnet.scenario import apply_overrides, load_scenario

    assert main(["tui", str(SMALL), "--set", "kappa=0.6", "--headless", "--blocks", "45"]) == 0
    digest = capsys.readouterr().out.split("digest ")[-1].strip()
    changed = apply_overrides(load_scenario(SMALL), ["kappa=0.6"])
    assert digest == run(changed, 3, blocks=45).digest != run(load_scenario(SMALL), 3,
                                                               blocks=45).digest
