"""The Governance panel's data: halt state, the council when there is one, and drills.

Governance is built concurrently with the dashboard, so nothing here imports it at import time.
Each feature is detected when asked for:

- drills: a module ``governance.drill`` with ``run_drill(drill, seed=...)`` (and optionally
  ``load_drill(path)``; without it ``run_drill`` gets the drill file's path). The report may be
  a mapping, a dataclass, or have ``as_json()``/``to_dict()``; the panel lists its fields.
- council: a world attribute ``council`` with ``status()`` returning
  ``{"members": [{"name", "online", "signed"}], "proposals": [{"proposal_id", "action",
  "scope", "signatures", "threshold", "status"}]}``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tui.snapshot import CouncilMember, DrillStatus, GovernanceSnapshot, ProposalView

__all__ = ["DRILL_FOLDER", "drills_available", "governance_of", "list_drills", "run_drill"]

DRILL_FOLDER = Path(__file__).resolve().parents[1] / "scenarios" / "drills"


def drills_available() -> bool:
    """Whether the governance drill module is installed (it lands in its own issue)."""
    return importlib.util.find_spec("governance.drill") is not None


def list_drills(folder: Path = DRILL_FOLDER) -> tuple[str, ...]:
    """Names of the drill files (``*.toml``) in ``folder``, sorted."""
    if not folder.is_dir():
        return ()
    return tuple(sorted(path.stem for path in folder.glob("*.toml")))


def run_drill(name: str, seed: int, folder: Path = DRILL_FOLDER) -> tuple[tuple[str, str], ...]:
    """Run a drill to its end and return its report as (field, text) pairs."""
    module = importlib.import_module("governance.drill")
    path = folder / f"{name}.toml"
    load = getattr(module, "load_drill", None)
    drill = load(path) if load is not None else path
    return report_lines(module.run_drill(drill, seed=seed))


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
    for method in ("as_json", "to_dict"):
        convert = getattr(value, method, None)
        if callable(convert):
            return convert()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return {"report": value}


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    return "-" if value is None else str(value)
