"""``subnetsim report``: one self-contained HTML page for a sweep or a study folder."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``report`` to the CLI."""
    command = commands.add_parser(
        "report", help="one HTML page for a sweep or study folder (readable offline)",
        description="Write one self-contained HTML file for the folder of `subnetsim sweep` or "
        "`subnetsim tune`: parameters, metrics with their 95% intervals and seed counts, "
        "the Pareto front (studies), figures and trajectories (inline PNG), failures with "
        "tracebacks, and provenance (versions, code version, executor, platform). Nothing "
        "is fetched from the network when it is opened.",
    )
    command.add_argument("folder", type=Path, metavar="DIR", help="sweep or study folder")
    command.add_argument("--output", "-o", type=Path, metavar="FILE",
                         help="where to write the page (default: DIR/report.html)")
    command.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from subnetsim.report.html import build_report

    page = build_report(args.folder)
    target = args.output or args.folder / "report.html"
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as error:
        from subnetsim.subnet.errors import ConfigError

        raise ConfigError("--output", str(target), f"cannot write: {error.strerror}") from None
    print(f"report: {target} ({len(page) // 1024} KiB)")
    return 0
