"""A headless Chromium driven over the DevTools protocol (aiohttp's websocket client).

Just enough for the browser test: open a page, collect the websocket frames it receives (the
served dashboard's screen updates), and take a screenshot. No browser is downloaded: this uses
Debian's ``chromium`` package, installed by ``ensure_chromium`` when missing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["Browser", "ensure_chromium", "open_browser"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--window-size=1280,800")


def ensure_chromium() -> str:
    """The chromium binary; installs Debian's package first when it is missing (as root)."""
    found = shutil.which("chromium")
    if found is None:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True,
                       capture_output=True, timeout=1200)
        found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("chromium is not installed and apt-get could not install it")
    return found


class Browser:
    """One page of a headless Chromium; ``frames`` holds every websocket message it got."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.frames: list[str] = []
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a DevTools command and wait for its answer (collecting frames meanwhile)."""
        number = next(self._ids)
        await self.socket.send_json({"id": number, "method": method, "params": params})
        while True:
            message = await self.socket.receive_json()
            self._note(message)
            if message.get("id") == number:
                return message.get("result", {})

    async def watch_until(self, done: Callable[[str], bool], seconds: float) -> str:
        """Collect frames until ``done(text of all frames)`` or the time is up; the text."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not done(self.text()):
            with contextlib.suppress(asyncio.TimeoutError):
                self._note(await asyncio.wait_for(self.socket.receive_json(), 1.0))
        return self.text()

    def text(self) -> str:
        """Every frame received so far, decoded (binary frames arrive base64-encoded)."""
        return "".join(_decode(frame) for frame in self.frames)

    async def screenshot(self, path: Path) -> None:
        """Save the page as a PNG."""
        shot = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    def _note(self, message: dict[str, Any]) -> None:
        if message.get("method") == "Network.webSocketFrameReceived":
            self.frames.append(message["params"]["response"]["payloadData"])


@contextlib.asynccontextmanager
async def open_browser(url: str) -> AsyncIterator[Browser]:
    """A headless Chromium on ``url`` (websocket frames recorded from the start)."""
    profile = tempfile.mkdtemp(prefix="subnetsim-chromium-")
    process = subprocess.Popen([ensure_chromium(), *FLAGS, f"--user-data-dir={profile}",
                                "about:blank"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        port = await _devtools_port(Path(profile) / "DevToolsActivePort")
        async with aiohttp.ClientSession() as http:
            targets = await (await http.get(f"http://127.0.0.1:{port}/json")).json()
            page = next(target for target in targets if target["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                browser = Browser(socket)
                await browser.call("Network.enable")
                await browser.call("Page.enable")
                await browser.call("Page.navigate", url=url)
                yield browser
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


async def _devtools_port(port_file: Path) -> str:
    for _ in range(300):
        if port_file.exists() and port_file.read_text().strip():
            return port_file.read_text().split()[0]
        await asyncio.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


def _decode(frame: str) -> str:
    try:
        return base64.b64decode(frame, validate=True).decode("utf-8", "replace")
    except ValueError:
        return frame
