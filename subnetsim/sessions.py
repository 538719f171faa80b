"""Save a session: replay it into a SQLite run store, with its command log beside it.

Saving replays (scenario, seed, command log) from genesis into a recorded world instead of
keeping every block of the live session in memory; the saved run's digest must equal the live
session's, which is the replay guarantee checked every time the user presses ``s``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from subnetsim.commands import advance
from subnetsim.run import open_recorded_world  # the recorded-world set-up of `subnetsim run`
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.config import to_dict
from subnetsim.subnet.scenario import Scenario, scenario_from_dict
from subnetsim.subnet.store import RunStore

__all__ = ["SavedRun", "save_session", "session_scenario"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SavedRun:
    """Where a session was saved and the digest its replay reached."""

    db: Path
    session_file: Path
    run_id: int
    digest: str


def save_session(scenario: Scenario, seed: int, commands: Sequence[Mapping[str, Any]],
                 blocks: int, folder: Path) -> SavedRun:
    """Record the session into ``folder``: ``<name>-seed<seed>-block<blocks>.db`` (run store,
    commands table filled) and ``.session.json`` (resolved scenario, seed, blocks, digest and
    the command log, which ``subnetsim tui --headless --replay`` replays)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"tui-{scenario.name}-seed{seed}-block{blocks}"
    db = folder / f"{stem}.db"
    with RunStore.open(db) as store:
        world, run_id = open_recorded_world(scenario, seed, store, False)
        advance(world, blocks, commands)
        digest = world.chain.head_hash
        for entry in commands:
            store.append_command(run_id, entry["block"] * BLOCK_SECONDS, entry)
        store.finish_run(run_id)
    session_file = folder / f"{stem}.session.json"
    session = {"scenario": to_dict(scenario), "seed": seed, "blocks": blocks, "digest": digest,
               "run_store": db.name, "run_id": run_id, "commands": [dict(c) for c in commands]}
    session_file.write_text(json.dumps(session, indent=1) + "\n", encoding="utf-8")
    return SavedRun(db=db, session_file=session_file, run_id=run_id, digest=digest)


def session_scenario(session: Mapping[str, Any]) -> Scenario:
    """The resolved scenario a saved session ran."""
    return scenario_from_dict(session["scenario"])
