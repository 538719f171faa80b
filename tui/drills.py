"""The Governance panel's data: halt state, the council when there is one, and drills.

- drills: the shipped drill files, run with ``subnetsim.drill.runner.run_drill``; the panel
  lists the report's fields.
- council: a world attribute ``council`` with ``status()`` returning
  ``{"members": [{"name", "online", "signed"}], "proposals": [{"proposal_id", "action",
  "scope", "signatures", "threshold", "status"}]}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from subnetsim.catalog import shipped_path
from subnetsim.drill.config import load_drill
from subnetsim.drill.runner import run_drill as run_drill_report
from subnetsim.tui.snapshot import CouncilMember, DrillStatus, GovernanceSnapshot, ProposalView

__all__ = ["DRILL_FOLDER", "governance_of", "list_drills", "run_drill"]

DRILL_FOLDER = shipped_path("drills")


def list_drills(folder: Path = DRILL_FOLDER) -> tuple[str, ...]:
    """Names of the drill files (``*.toml``) in ``folder``, sorted."""
    if not folder.is_dir():
        return ()
    return tuple(sorted(path.stem for path in folder.glob("*.toml")))


def run_drill(name: str, seed: int, folder: Path = DRILL_FOLDER) -> tuple[tuple[str, str], ...]:
    """Run a drill to its end and return its report as (field, text) pairs."""
    return report_lines(run_drill_report(load_drill(folder / f"{name}.toml"), seed=seed).as_json())


def report_lines(report: Any) -> tuple[tuple[str, str], ...]:
    """A drill report flattened one level (``halt.signature_hex``) into (field, text) pairs."""
    data = _as_mapping(report)
    lines: list[tuple[str, str]] = []
    for key, value in data.items():
        if isinstance(value, Mapping) or dataclasses.is_dataclass(value):
            lines += [(f"{key}.{inner}", _text(item))
                      for inner, item in _as_mapping(value).items()]
        else:
            lines.append((str(key), _text(value)))
    return tuple(lines)


def governance_of(world: Any, drill: DrillStatus, drills: tuple[str, ...]) -> GovernanceSnapshot:
    """The governance part of a snapshot, read from ``world`` by its worker."""
    chain = world.chain
    status = getattr(getattr(world, "council", None), "status", None)
    data: Mapping[str, Any] = status() if callable(status) else {}
    members = tuple(CouncilMember(name=str(m["name"]), online=bool(m["online"]),
                                  signed=bool(m["signed"])) for m in data.get("members", ()))
    proposals = tuple(ProposalView(
        proposal_id=str(p["proposal_id"]), action=str(p["action"]), scope=str(p["scope"]),
        signatures=int(p["signatures"]), threshold=int(p["threshold"]), status=str(p["status"]),
    ) for p in data.get("proposals", ()))
    return GovernanceSnapshot(
        halted_scopes=tuple(sorted(chain.ledger.halted_scopes)), halt_until=chain.halt_until,
        council=members, proposals=proposals, has_council=callable(status), drills=drills,
        drill=drill,
    )


def _as_mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return {"report": value}


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    return "-" if value is None else str(value)
