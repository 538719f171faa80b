"""Where a batch of runs executes: the options ``sweep`` and ``tune`` share, read one way.

``--executor serial|process|dask``, ``--workers`` and ``--scheduler`` (else
``$DASK_SCHEDULER_ADDRESS``, the variable Dask's own tools read). A scheduler address, given
or from the environment, makes Dask the default executor; ``--executor serial`` or
``process`` ignores the variable, so a shell that exports it can still run locally.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

__all__ = ["ExecutorChoice", "add_executor_options", "executor_choice"]

SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutorChoice:
    """The executor kind, its worker count (None: one per CPU) and the Dask scheduler."""

    kind: str
    workers: int | None
    scheduler: str | None

    @property
    def recorded_workers(self) -> int | None:
        """The worker count provenance records (a serial run has exactly one)."""
        return 1 if self.kind == "serial" else self.workers


def add_executor_options(command: argparse.ArgumentParser, job: str) -> None:
    """Add --executor, --workers and --scheduler to ``command``; ``job`` names what runs
    (``"sweep"``, ``"study"``) in the help."""
    command.add_argument("--executor", choices=["serial", "process", "dask"],
                         help="where runs execute: in this process, a process pool "
                         "(default), or Dask distributed (default with a scheduler address)")
    command.add_argument("--workers", type=int,
                         help="parallel workers for process/dask (default: one per CPU)")
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help=f"Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: "
                         f"${SCHEDULER_VARIABLE}, else a LocalCluster started for the {job})")


def executor_choice(args: argparse.Namespace) -> ExecutorChoice:
    """The executor the options (and the environment) ask for."""
    from_env = os.environ.get(SCHEDULER_VARIABLE) if args.executor in (None, "dask") else None
    scheduler = args.scheduler or from_env or None
    kind = args.executor or ("dask" if scheduler else "process")
    return ExecutorChoice(kind=kind, workers=args.workers, scheduler=scheduler)
