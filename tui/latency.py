"""Key latency of the dashboard in a real terminal (tmux), while the simulation runs.

``python -m subnetsim.tui.latency [--size 120x40] [--speed max] [--trials 20]`` starts ``subnetsim
tui``
in a detached tmux session, presses keys and polls the screen until the answer shows:

- ``help``: ``?`` opens the help screen (the dashboard's process alone),
- ``pause``: ``space`` turns RUNNING into PAUSED and back (a round trip through the command
  pipe, the simulation process and a snapshot).

It prints a table of p50/p95/max milliseconds per key and the blocks/s the status bar showed.
``--startup`` instead times the simulation process's start-up per multiprocessing start method
(first snapshot after ``start``, the same for a second driver in the same process, and
``stop``). A timing tool, not a test: nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SESSION = "subnetsim-latency"
POLL_SECONDS = 0.005
ROOT = Path(__file__).resolve().parents[1]


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def _screen() -> str:
    return _tmux("capture-pane", "-p", "-t", SESSION)


def _wait_for(predicate, timeout: float = 5.0) -> float:  # noqa: ANN001 - a small callable
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if predicate(_screen()):
            return time.perf_counter() - start
        time.sleep(POLL_SECONDS)  # polling flat out would starve the tmux server we measure
    raise TimeoutError("the dashboard did not answer within 5 s")


def _press(key: str, predicate) -> float:  # noqa: ANN001
    start = time.perf_counter()
    _tmux("send-keys", "-t", SESSION, key)
    _wait_for(predicate)
    return time.perf_counter() - start


def _rates(samples: list[str]) -> list[float]:
    found = [re.search(r"· ([\d,]+) blocks/s \(target", screen) for screen in samples]
    return [float(match.group(1).replace(",", "")) for match in found if match]


def measure(size: str, speed: str, trials: int, root: Path = ROOT) -> dict[str, list[float]]:
    """Latencies (seconds) per key kind, and the blocks/s readings, for one terminal size;
    ``root`` is the checkout whose dashboard runs (with this checkout's interpreter)."""
    width, height = size.split("x")
    command = (f"cd {root} && PYTHONPATH={root} {sys.executable} -m tui --speed {speed} "
               "--blocks 100000000")
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)  # a stale one
    _tmux("new-session", "-d", "-s", SESSION, "-x", width, "-y", height, command)
    try:
        _wait_for(lambda screen: "RUNNING" in screen, timeout=30)
        time.sleep(2.0)  # let it reach full speed
        results: dict[str, list[float]] = {"help": [], "pause": [], "blocks/s": []}
        for _ in range(trials):
            results["blocks/s"] += _rates([_screen()])
            results["help"].append(_press("?", lambda s: "subnetsim dashboard" in s))
            _press("Escape", lambda s: "subnetsim dashboard" not in s)
            results["pause"].append(_press("Space", lambda s: "PAUSED" in s))
            _press("Space", lambda s: "RUNNING" in s)
            time.sleep(0.3)
        return results
    finally:
        _tmux("kill-session", "-t", SESSION)


def startup_times(method: str, scenario_path: Path) -> dict[str, float]:
    """Seconds from ``start`` to the first snapshot for two drivers in turn, and to ``stop``."""
    from subnetsim.subnet.scenario import load_scenario
    from subnetsim.tui.driver import SimulationDriver

    scenario = load_scenario(scenario_path)
    times: dict[str, float] = {}
    for name in ("first", "second"):
        driver = SimulationDriver(scenario, scenario.seed, paused=True, start_method=method,
                                  save_folder=Path("/tmp/subnetsim-startup"))
        started = time.perf_counter()
        driver.start(lambda snapshot: None)
        driver.snapshot()
        times[name] = time.perf_counter() - started
        started = time.perf_counter()
        driver.stop()
        times[f"{name} stop"] = time.perf_counter() - started
    return times


def _print_startup(scenario_path: Path) -> None:
    print(f"{'method':>11} {'first s':>8} {'second s':>9} {'stop ms':>8}  ({scenario_path.name})")
    for method in ("spawn", "forkserver"):
        # A fresh interpreter per method: the fork server lives as long as its parent.
        output = subprocess.run(
            [sys.executable, "-m", "subnetsim.tui.latency", "--startup-method", method,
             "--scenario", str(scenario_path)],
            check=True, capture_output=True, text=True, cwd=ROOT).stdout
        times = json.loads(output)
        print(f"{method:>11} {times['first']:8.2f} {times['second']:9.2f} "
              f"{times['first stop'] * 1000:8.0f}")


def _percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    return values[max(0, math.ceil(fraction * len(values)) - 1)]


def main() -> int:
    """Print the latency table (or, with --startup, the start-up table)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", help="terminal WxH (repeatable)")
    parser.add_argument("--speed", default="max")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--startup", action="store_true", help="time process start-up instead")
    parser.add_argument("--startup-method", help=argparse.SUPPRESS)  # one method, as JSON
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "default.toml")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="run the dashboard of another checkout (e.g. an older commit's)")
    args = parser.parse_args()
    if args.startup_method:
        print(json.dumps(startup_times(args.startup_method, args.scenario)))
        return 0
    if args.startup:
        _print_startup(args.scenario)
        return 0
    if shutil.which("tmux") is None:
        print("tmux is not installed (apt-get install -y tmux)", file=sys.stderr)
        return 2
    print(f"{'size':>8} {'key':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  blocks/s")
    for size in args.size or ["120x40", "80x24"]:
        results = measure(size, args.speed, args.trials, args.root.resolve())
        rate = statistics.median(results["blocks/s"]) if results["blocks/s"] else float("nan")
        for key in ("help", "pause"):
            values = sorted(v * 1000 for v in results[key])
            print(f"{size:>8} {key:>6} {statistics.median(values):8.1f} "
                  f"{_percentile(values, 0.95):8.1f} {values[-1]:8.1f}  {rate:,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
