"""Parameters: every hyperparameter with its current value, editable with validation.

Type ``name=value`` (or press Enter on a row to start from its current value). The value is
checked here with the same rules as a scenario file (type, range, alpha_low <= alpha_high), so
a bad value is refused with the reason before it reaches the simulation; a good one is sent to
the driver, applied at the next chunk boundary and recorded in the session's command log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from subnetsim.commands import FIXED_AT_GENESIS, validated_hyperparameters
from subnetsim.subnet.config import Hyperparameters, parse_assignment
from subnetsim.subnet.errors import SubnetSimError
from subnetsim.tui.messages import ParameterEdited
from subnetsim.tui.snapshot import Snapshot
from subnetsim.tui.tuning import edit_blocks, ineffective_settings, parameter_diff

__all__ = ["ParametersPane", "parameter_rows"]


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def parameter_rows(hyper: Hyperparameters, scenario: Hyperparameters | None = None,
                   commands: Sequence[Mapping[str, Any]] = ()
                   ) -> list[tuple[str, str, str, str, str, str]]:
    """(name, value, scenario value, blocks edited, allowed range, description) for every
    hyperparameter; the scenario column is blank where the value is the scenario's."""
    edits = edit_blocks(commands)
    rows = []
    for field in dataclasses.fields(Hyperparameters):
        low, high = field.metadata.get("range", (None, None))
        if field.type in ("bool", bool):
            allowed = "true/false"
        elif "choices" in field.metadata:
            allowed = " | ".join(field.metadata["choices"])
        else:
            allowed = f"[{'-inf' if low is None else f'{low:g}'}, " \
                      f"{'inf' if high is None else f'{high:g}'}]"
        doc = field.metadata.get("doc", "")
        if field.name in FIXED_AT_GENESIS:
            doc += " (fixed at genesis)"
        value = getattr(hyper, field.name)
        then = getattr(scenario, field.name) if scenario is not None else value
        rows.append((field.name, _value_text(value), "" if then == value else _value_text(then),
                     ", ".join(f"{b:,}" for b in edits.get(field.name, [])), allowed, doc))
    return rows


class ParametersPane(Vertical):
    """The hyperparameter table, an edit box and the session's changes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hyper: Hyperparameters | None = None

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="parameters-table", classes="main-table",
                                          cursor_type="row")
        yield table
        # No select-all on focus: Enter on a row pre-fills the text, and typing must edit it.
        yield Input(placeholder="name=value, e.g. kappa=0.6 — Enter applies at the next "
                    "chunk boundary, Esc leaves", id="parameter-input", select_on_focus=False)
        yield Static("", id="parameter-error")
        yield Static("", id="parameter-warnings")
        yield Static("", id="parameter-log")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("NAME", "VALUE", "SCENARIO", "EDITED AT",
                                              "RANGE", "DESCRIPTION")

    def show(self, snapshot: Snapshot) -> None:
        """Render ``snapshot``."""
        self._hyper = snapshot.hyper
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        table.add_rows(parameter_rows(snapshot.hyper, snapshot.scenario_hyper, snapshot.commands))
        table.move_cursor(row=cursor, animate=False)
        diff = parameter_diff(snapshot.hyper, snapshot.scenario_hyper or snapshot.hyper,
                              snapshot.commands)
        changes = [f"{name} {_value_text(then)} → {_value_text(now)}"
                   + (f" (block {blocks})" if blocks else " (at genesis)")
                   for name, then, now, blocks in diff]
        self.query_one("#parameter-log", Static).update(
            "Differs from the scenario: " + ("; ".join(changes) if changes else "nothing")
            + " · r restarts keeping these")
        notes = ineffective_settings(snapshot.hyper, snapshot.scenario_hyper)
        self.query_one("#parameter-warnings", Static).update(
            "\n".join(f"[yellow]no effect: {note}[/yellow]" for note in notes))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        name, value = event.data_table.get_row_at(event.cursor_row)[:2]
        box = self.query_one(Input)
        box.value = f"{name}={value}"
        box.focus()
        box.cursor_position = len(box.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#parameter-error", Static)
        try:
            name, value = parse_assignment(event.value)
            if self._hyper is None:
                raise SubnetSimError("no snapshot yet")
            validated_hyperparameters(self._hyper, name, value)
        except SubnetSimError as problem:
            error.update(f"[red]refused: {problem}[/red]")
            return
        error.update(f"[green]sent {name} = {value!r}: applies at the next chunk boundary[/green]")
        event.input.value = ""
        self.post_message(ParameterEdited(name, value))
