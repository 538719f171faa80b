"""Do a study's front points hold up on fresh seeds? Re-run each front trial with seeds the
study never saw and check whether the new mean of each objective lands inside the interval the
study reported (and how far it moved).

Run after `subnetsim tune TUNE.toml --out DIR`:

    .venv/bin/python benchmarks/tune_recheck.py TUNE.toml DIR [--workers 2] [--seeds N]

Fresh seeds come from ``stream_seed(root_seed, "tune.recheck", r)``, disjoint in practice from
the study's ``"tune.run"`` stream. Prints one row per (front trial, objective) and the share
inside; numbers go into docs/tuning.md by hand. A front point is chosen *because* its means
looked good, so some regression towards the middle on fresh seeds is expected (the winner's
curse): this check measures it rather than assuming it away.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from subnetsim.subnet.rng import stream_seed  # noqa: E402
from subnetsim.sweep.runner import open_executor  # noqa: E402
from subnetsim.tune.config import load_tune  # noqa: E402
from subnetsim.tune.evaluate import evaluate_batch  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tune_file", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, help="fresh seeds per trial (default: the study's)")
    args = parser.parse_args()
    tune = load_tune(args.tune_file)
    count = args.seeds or len(tune.run_seeds)
    fresh = tuple(stream_seed(tune.file.root_seed, "tune.recheck", r) % 2**63
                  for r in range(count))
    assert not set(fresh) & (set(tune.run_seeds) | set(tune.confirm_seeds))
    recheck = dataclasses.replace(tune, run_seeds=fresh)
    with (args.folder / "front.csv").open(newline="") as handle:
        front = list(csv.DictReader(handle))
    trials = [(int(row["trial"]), _values(tune, row)) for row in front]
    with open_executor("process", args.workers) as executor:
        results = evaluate_batch(recheck, trials, executor)
    inside = total = 0
    print(f"{len(front)} front trials, {len(tune.run_seeds)} study seeds, {count} fresh seeds")
    print("trial  objective                 reported mean [95% interval]     fresh mean  inside")
    for row, result in zip(front, results, strict=True):
        for objective in tune.objectives:
            metric = objective.metric
            mean, low, high = (float(row[f"{metric}_{p}"]) for p in ("mean", "low", "high"))
            new = result.interval(metric).mean
            hit = low <= new <= high
            inside += hit
            total += 1
            print(f"{row['trial']:>5}  {metric:<24}  {mean:8.4f} [{low:8.4f}, {high:8.4f}]"
                  f"   {new:9.4f}  {'yes' if hit else 'NO'}")
    print(f"inside: {inside}/{total} ({100 * inside / max(total, 1):.0f}%)")
    return 0


def _values(tune, row):
    values = {}
    for parameter in tune.parameters:
        text = row[parameter.name]
        if parameter.kind == "categorical":
            values[parameter.name] = next(c for c in parameter.choices if str(c) == text)
        elif parameter.kind == "int":
            values[parameter.name] = int(text)
        else:
            values[parameter.name] = float(text)
    return values


if __name__ == "__main__":
    sys.exit(main())
