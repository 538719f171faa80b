"""``Simulation``: a world to drive from Python (a notebook, a script, the dashboard).

    sim = subnetsim.Simulation("default", seed=3, overrides={"kappa": 0.6})
    sim.run(epochs=5)
    sim.set_hyperparameter("kappa", 0.55)    # recorded in sim.commands, like a dashboard edit
    sim.run(epochs=5)
    sim.epochs_frame()                       # one row per (epoch, registered uid)

Mid-run changes go through ``subnetsim.commands`` (the path the dashboard and replays use), so
``(scenario, seed, sim.commands)`` reproduces the run: ``commands.replay`` gives its digest.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from subnetsim.api import load_scenario
from subnetsim.commands import advance, apply_command, drill_entry, hyperparameter_entry
from subnetsim.frames import (
    METAGRAPH_COLUMNS,
    Occupancy,
    concat_columns,
    epoch_rows,
    metagraph_rows,
)
from subnetsim.progress import block_progress
from subnetsim.subnet.chain import Recorder
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.metagraph import metagraph_of
from subnetsim.subnet.records import BlockRecord, EpochRecord, EventRecord, ExtrinsicRecord
from subnetsim.subnet.scenario import Scenario, set_value
from subnetsim.world import RunResult, World, build_world

__all__ = ["Simulation"]


class Simulation:
    """One world, its command log and the tables it has produced so far.

    Args:
        scenario: a ``Scenario``, a TOML path or a shipped scenario's name.
        seed: the run seed (default: the scenario's).
        overrides: scenario values to change before genesis, by hyperparameter name (``kappa``)
            or dotted path (``recording.checkpoint_every``).
        recorder: also called with every block the chain produces (e.g. a run store's).
    """

    def __init__(self, scenario: Scenario | str | Path = "default", seed: int | None = None,
                 overrides: Mapping[str, Any] | None = None, *,
                 recorder: Recorder | None = None) -> None:
        base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        for key, value in (overrides or {}).items():
            base = set_value(base, key, value)
        self.scenario = base
        self.seed = base.seed if seed is None else seed
        if self.seed < 0:
            raise ConfigError("seed", self.seed, "must be >= 0")
        self.commands: list[dict[str, Any]] = []
        self._outer = recorder
        self._rows: list[dict[str, list[Any]]] = []
        self.last_epoch: EpochRecord | None = None
        self.world: World = build_world(base, self.seed, recorder=self._record)
        self._occupancy = Occupancy(self.world.neurons, self.world.joiners)

    # --- where it stands ---------------------------------------------------------------------

    @property
    def block(self) -> int:
        """The last produced block."""
        return self.world.chain.block

    @property
    def epoch(self) -> int:
        """Epochs run so far."""
        return self.world.chain.epoch_index

    @property
    def digest(self) -> str:
        """The head block's hash (a run is a function of scenario, seed and commands)."""
        return self.world.chain.head_hash

    # --- driving -----------------------------------------------------------------------------

    def run(self, *, blocks: int | None = None, epochs: int | None = None,
            progress: bool = False) -> None:
        """Advance by ``blocks`` blocks or until ``epochs`` more epochs have run (one of them);
        ``progress=True`` draws a bar on stderr."""
        if (blocks is None) == (epochs is None):
            raise ConfigError("run", {"blocks": blocks, "epochs": epochs},
                              "give exactly one of blocks or epochs")
        count = blocks if blocks is not None else epochs
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError("blocks" if blocks is not None else "epochs", count,
                              "expected a whole number >= 0")
        target = self.block + count if blocks is not None else self._epoch_block(count)
        self.run_to(target, progress=progress)

    def run_to(self, block: int, *, progress: bool = False) -> None:
        """Advance until ``block`` has been produced."""
        with block_progress(enabled=progress) as update:
            advance(self.world, block, progress=update)

    def set_hyperparameter(self, name: str, value: Any) -> None:
        """Change a hyperparameter from the next block on; recorded in ``commands``.

        ConfigError (naming the field) for a name, value or genesis-only parameter the
        running chain cannot take."""
        entry = hyperparameter_entry(self.block, name, value)
        apply_command(self.world, entry)
        self.commands.append(entry)

    def start_drill(self, name: str, drill: Scenario) -> None:
        """Stage ``drill``'s council and attacks (a scenario with ``[governance]``) in this
        world now, its blocks counted from here; recorded in ``commands``."""
        entry = drill_entry(self.block, name, drill)
        apply_command(self.world, entry)
        self.commands.append(entry)

    # --- tables ------------------------------------------------------------------------------

    def epochs_frame(self) -> pd.DataFrame:
        """Every epoch so far: one row per (epoch, registered uid), ``subnetsim.frames``
        columns (shares, TAO paid, stake, who holds the uid, the epoch's hyperparameters)."""
        return pd.DataFrame(concat_columns(self._rows))

    def metagraph_frame(self) -> pd.DataFrame:
        """The metagraph now, btcli's columns, one row per registered uid."""
        ledger = self.world.chain.ledger
        rows = metagraph_rows(metagraph_of(self.world.chain), self._occupancy.by_uid,
                              ledger.coldkeys)
        return pd.DataFrame(rows, columns=list(METAGRAPH_COLUMNS))

    def result(self) -> RunResult:
        """The run's summary now (what ``subnetsim run --json`` prints)."""
        return self.world.result()

    # --- internals ---------------------------------------------------------------------------

    def _epoch_block(self, epochs: int) -> int:
        """The block at which the ``epochs``-th epoch from now runs (the current block when 0)."""
        chain = self.world.chain
        block = self.block
        for _ in range(epochs):
            block += 1 + chain.blocks_until_next_epoch(block + 1)
        return block

    def _record(self, block: BlockRecord, extrinsics: list[ExtrinsicRecord],
                events: list[EventRecord], epoch: EpochRecord | None) -> None:
        self._occupancy.apply(events)
        if epoch is not None:
            self.last_epoch = epoch
            self._rows.append(epoch_rows(epoch, self._occupancy.by_uid,
                                         scenario=self.scenario.name, seed=self.seed))
        if self._outer is not None:
            self._outer(block, extrinsics, events, epoch)
