"""What an edit changed: the parameter diff, and settings that have no effect.

Pure functions of hyperparameters and the command log, shared by the Parameters panel and the
A/B view. A setting "has no effect" when the consensus code never reads it in the current
mode (e.g. liquid alpha only shapes Yuma3's bonds), so the panel says so instead of accepting
it silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from subnetsim.subnet.config import Hyperparameters

__all__ = ["edit_blocks", "ineffective_settings", "parameter_diff"]


def ineffective_settings(hyper: Hyperparameters, scenario: Hyperparameters | None = None
                         ) -> list[str]:
    """One line per setting the current mode ignores (only changed ones, for the alphas)."""
    notes = []
    if hyper.liquid_alpha_enabled and not hyper.yuma3_enabled:
        notes.append("liquid_alpha_enabled has no effect with classic bonds "
                     "(set yuma3_enabled=true)")
    base = scenario or Hyperparameters()
    alphas = [name for name in ("alpha_low", "alpha_high", "alpha_sigmoid_steepness")
              if getattr(hyper, name) != getattr(base, name)]
    if alphas and not (hyper.liquid_alpha_enabled and hyper.yuma3_enabled):
        notes.append(f"{', '.join(alphas)} only matter with liquid alpha on Yuma3")
    if hyper.commit_reveal_period != base.commit_reveal_period and \
            not hyper.commit_reveal_weights_enabled:
        notes.append("commit_reveal_period has no effect with commit_reveal_weights_enabled"
                     "=false")
    return notes


def edit_blocks(commands: Sequence[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Blocks at which each hyperparameter was edited this session, in order."""
    blocks: dict[str, list[int]] = {}
    for entry in commands:
        if entry.get("command") == "set_hyperparameter":
            blocks.setdefault(str(entry["name"]), []).append(int(entry["block"]))
    return blocks


def parameter_diff(hyper: Hyperparameters, scenario: Hyperparameters,
                   commands: Sequence[Mapping[str, Any]]) -> list[tuple[str, Any, Any, str]]:
    """(name, scenario value, current value, edit blocks) for every value that differs or was
    edited, in field order."""
    edits = edit_blocks(commands)
    rows = []
    for field in dataclasses.fields(Hyperparameters):
        now, then = getattr(hyper, field.name), getattr(scenario, field.name)
        if now != then or field.name in edits:
            blocks = ", ".join(f"{b:,}" for b in edits.get(field.name, []))
            rows.append((field.name, then, now, blocks))
    return rows
