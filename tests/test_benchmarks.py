"""The benchmarks' measuring code runs and counts what it says (their timings are never
asserted: they go into docs/performance.md by hand)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks import bench_agents

ROOT = Path(__file__).resolve().parents[1]


def test_the_floors_days_take_turns_and_count_the_cryptography_where_it_ran():
    """``bench_agents.timed_days``: signing off and on, a few turns each; the same trajectory,
    nothing signed off, and on, the cryptography's CPU counted on the thread and here."""
    days = bench_agents.timed_days("default", 120, (False, True), 50)
    off, on = days[False], days[True]
    assert off["digest"] == on["digest"]  # signatures change no trajectory
    assert off["rounds"] == on["rounds"] > 0
    assert off["signed"] == off["checked"] == off["here_cpu"] == 0
    assert on["signed"] >= on["checked"] > 0
    assert on["thread_cpu"] + on["here_cpu"] > 0
    assert off["thread_cpu"] < 0.05 * (on["thread_cpu"] + on["here_cpu"])  # idle meanwhile
    assert 0 <= on["here_cpu"] <= on["main_cpu"]


def test_the_signing_benchmark_runs_a_short_comparison():
    """``bench_signing.py``'s own turns (it reads ``bench_agents.signing_counts``)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_signing.py"), "--blocks", "60",
         "--repeats", "1", "--runs", "bare"], capture_output=True, text=True, timeout=300,
        cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "same digest in all 2 runs: True" in result.stdout
