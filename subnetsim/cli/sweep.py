"""``subnetsim sweep``: run a parameter sweep file on a process pool, Dask or in-process."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from subnetsim.cli.executor_options import add_executor_options, executor_choice

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``sweep`` to the CLI."""
    command = commands.add_parser(
        "sweep", help="run many seeds per parameter setting and compare outcomes",
        description="Run every (point, seed) of a sweep file (docs/sweeps.md), writing each run "
        "as it finishes (Parquet, long format) to DIR, then print and save a per-point summary "
        "(mean and 95% interval of each metric over seeds: summary.csv), per-epoch trajectories "
        "(trajectories.parquet), plots (PNG) and provenance (sweep.json) in DIR. "
        "`subnetsim report DIR` turns it into one HTML page.",
    )
    command.add_argument("sweep_file", type=Path, metavar="SWEEP.toml", help="sweep file")
    command.add_argument("--out", type=Path, required=True, metavar="DIR",
                         help="output folder (runs/, epochs.parquet, summary.csv, plots)")
    add_executor_options(command, "sweep")
    command.add_argument("--resume", action="store_true",
                         help="continue the sweep in DIR: skip runs already written")
    command.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from subnetsim.progress import task_progress
    from subnetsim.sweep.config import load_sweep
    from subnetsim.sweep.provenance import provenance
    from subnetsim.sweep.report import few_seeds_warning, format_summary
    from subnetsim.sweep.runner import open_executor, run_sweep

    sweep = load_sweep(args.sweep_file)
    where = executor_choice(args)
    with task_progress("runs") as update, \
            open_executor(where.kind, where.workers, where.scheduler) as executor:
        progress = None if update is None else (
            lambda state: update(state.skipped + state.done + state.failed, state.total))
        outcome = run_sweep(sweep, args.out, executor, resume=args.resume, progress=progress,
                            provenance=provenance(where.kind, where.recorded_workers,
                                                  where.scheduler))
    print(f"sweep {sweep.name}: {len(sweep.points)} points x {len(sweep.run_seeds)} seeds; "
          f"ran {outcome.ran}, skipped {outcome.skipped} (already done), "
          f"failed {outcome.failed}")
    print(format_summary(sweep, outcome.summary))
    print(f"\nresults in {outcome.out_dir}: " + ", ".join(
        path.name for path in outcome.files.values()))
    few = few_seeds_warning(len(sweep.run_seeds))
    for warning in [*([few] if few else []), *outcome.warnings]:
        print(f"warning: {warning}", file=sys.stderr)
    if outcome.failed:
        print(f"{outcome.failed} run(s) failed: see {outcome.files['errors']}", file=sys.stderr)
    return 0 if not outcome.failed else 1
