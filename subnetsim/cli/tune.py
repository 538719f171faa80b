"""``subnetsim tune``: objective-driven search over scenario parameters with Optuna."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, TextIO

from subnetsim.cli.executor_options import add_executor_options, executor_choice

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``tune`` to the CLI."""
    command = commands.add_parser(
        "tune", help="search parameters that optimise sweep metrics (Optuna: TPE, NSGA-II)",
        description="Search the parameters of a tune file (docs/tuning.md) for the settings "
        "that optimise its objectives (means over seeds of sweep metrics) under its "
        "constraints: TPE for one objective, NSGA-II for several (a Pareto front). Trials run "
        "in batches on a process pool, in-process or on Dask, every trial on the same seeds. "
        "The study is stored in DIR/study.db (SQLite) or --storage, so a killed study "
        "continues with --resume. DIR receives the trial table, the front (CSV, Parquet), "
        "each front point as a --set override file and a scenario TOML, importances and "
        "plots; `subnetsim report DIR` makes one HTML page of it.",
    )
    command.add_argument("tune_file", type=Path, metavar="TUNE.toml",
                         help="tune file, or the name of a shipped one (e.g. copier_resistance)")
    command.add_argument("--out", type=Path, required=True, metavar="DIR",
                         help="output folder (study.json, study.db, tables, plots)")
    add_executor_options(command, "study")
    command.add_argument("--storage", metavar="URL",
                         help="Optuna storage URL shared by a team, e.g. "
                         "postgresql://user@host/db (default: sqlite:///DIR/study.db)")
    command.add_argument("--trials", type=int, metavar="N",
                         help="budget: finished trials the study should hold (default: the "
                         "file's trials); raise it with --resume to extend a study")
    command.add_argument("--resume", action="store_true",
                         help="continue the study in DIR (trials left running by a killed "
                         "invocation are evaluated again with their parameters)")
    command.set_defaults(handler=_tune)


def _tune(args: argparse.Namespace) -> int:
    from subnetsim.catalog import resolve
    from subnetsim.subnet.errors import ConfigError
    from subnetsim.sweep.provenance import provenance
    from subnetsim.sweep.report import few_seeds_warning
    from subnetsim.sweep.runner import open_executor
    from subnetsim.tune.config import load_tune
    from subnetsim.tune.outputs import write_outputs
    from subnetsim.tune.study import open_study, run_study

    tune = load_tune(resolve(str(args.tune_file), "tune", "tune file"))
    if args.trials is not None:
        if args.trials < 1:
            raise ConfigError("--trials", args.trials, "must be >= 1")
        tune = dataclasses.replace(tune, file=dataclasses.replace(tune.file, trials=args.trials))
    where = executor_choice(args)
    bar = _StudyBar(sys.stderr)
    with open_executor(where.kind, where.workers, where.scheduler) as executor:
        outcome = run_study(tune, args.out, executor, storage=args.storage, resume=args.resume,
                            provenance=provenance(where.kind, where.recorded_workers,
                                                  where.scheduler), progress=bar)
    bar.finish()
    study = open_study(tune, outcome.storage, create=False)
    files = write_outputs(tune, study, args.out)
    from subnetsim.tune.outputs import study_tables

    _print_front(tune, study_tables(tune, study).front)
    print(f"study {tune.name}: {outcome.finished} finished, {outcome.failed} failed trials "
          f"(evaluated {outcome.evaluated} now, {outcome.resumed} left running before); "
          f"{len(tune.run_seeds)} seeds per trial; sampler {tune.sampler}")
    print(f"results in {outcome.out_dir}: " + ", ".join(
        sorted({path.name for path in files.values()})))
    few = few_seeds_warning(len(tune.run_seeds))
    if few:
        print(f"warning: {few}", file=sys.stderr)
    if outcome.failed:
        print(f"{outcome.failed} trial(s) failed: see {outcome.out_dir / 'errors.csv'} and "
              "trials.csv (fail_reason)", file=sys.stderr)
    return 0


def _print_front(tune: Any, front: list[dict[str, Any]]) -> None:
    from subnetsim.tables import format_table
    from subnetsim.tune.outputs import interval_text

    headers = ["TRIAL", *(p.name for p in tune.parameters),
               *(f"{o.metric} ({o.direction[:3]})" for o in tune.objectives)]
    rows = [[row["trial"], *(_cell(row[p.name]) for p in tune.parameters),
             *(interval_text(row, o.metric) for o in tune.objectives)] for row in front]
    from subnetsim.report.html import front_basis

    print(f"Pareto front ({len(front)} trials; {front_basis(front, len(tune.run_seeds))}):")
    print(format_table(headers, rows))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


class _StudyBar:
    """Progress on stderr: a redrawn line on a terminal, one line per batch otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.drawn = False

    def __call__(self, progress: Any) -> None:
        text = (f"trials {progress.finished}/{progress.budget} finished; batch of "
                f"{progress.batch}: {progress.runs_done}/{progress.runs_total} runs")
        if self.tty:
            self.stream.write(f"\r{text} ")
            self.drawn = True
        elif progress.runs_done == progress.runs_total:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
