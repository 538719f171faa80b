"""Tune files: what to search, what to optimise, under which constraints, on what budget.

A tune file is strict TOML (``scenarios/tune/*.toml``, format in ``docs/tuning.md``)::

    scenario = "../default.toml"        # base scenario, relative to this file (or a table)
    seeds = 4                           # runs per trial, the same seeds for every trial
    trials = 96                         # budget: trials in the study
    batch = 16                          # trials asked before any result is told
    [parameters]
    kappa = { low = 0.2, high = 0.8 }
    commit_reveal_period = { low = 1, high = 3 }        # integers stay integers
    liquid_alpha_enabled = [false, true]                # a list: one of these
    [[objectives]]
    metric = "copier_dividend_ratio"
    direction = "minimize"
    [[constraints]]
    metric = "loss_incentive_spearman"
    max = -0.3

``load_tune`` checks everything before the first run: unknown keys, unknown parameters or
metrics, empty lists, bad ranges, and bounds the scenario rejects each end as one ConfigError
(the CLI prints it and exits 2). Parameters are what ``run --set`` accepts (hyperparameter
names and dotted scenario paths), so every trial's setting is a ready override file.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from pathlib import Path
from typing import Any

from subnetsim.subnet.config import Hyperparameters, from_toml, param, to_dict
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.rng import stream_seed
from subnetsim.subnet.scenario import Scenario, block_budget, set_value
from subnetsim.sweep.config import base_scenario
from subnetsim.sweep.metrics import METRICS, BehaviourGroups

__all__ = ["Constraint", "Objective", "Parameter", "Tune", "TuneFile", "load_tune",
           "resolve_tune"]

SAMPLERS = ("auto", "tpe", "nsga2", "random")
DIRECTIONS = ("minimize", "maximize")
_HYPER_NAMES = tuple(field.name for field in dataclasses.fields(Hyperparameters))
_RESERVED = {"seed": "trial seeds come from root_seed and seeds",
             "blocks": "set the tune file's blocks or epochs instead"}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Objective:
    """Optimise the mean over seeds of one sweep metric."""

    metric: str
    direction: str = dataclasses.field(default="minimize", metadata={"choices": DIRECTIONS})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Constraint:
    """Keep the mean over seeds of one sweep metric within ``min`` and/or ``max``."""

    metric: str
    min: float | None = None
    max: float | None = None

    def violation(self, value: float) -> float:
        """How far ``value`` is outside the bounds (<= 0: satisfied; NaN counts as violated)."""
        if not math.isfinite(value):
            return 1.0
        over = value - self.max if self.max is not None else -math.inf
        under = self.min - value if self.min is not None else -math.inf
        return max(over, under)

    def text(self) -> str:
        """``-1 <= loss_incentive_spearman <= -0.3``-style description."""
        low = f"{self.min:g} <= " if self.min is not None else ""
        high = f" <= {self.max:g}" if self.max is not None else ""
        return f"{low}{self.metric}{high}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TuneFile:
    """The tune file as written (checked field by field by ``from_dict``)."""

    name: str = ""
    description: str = ""
    scenario: object = ""  # a path relative to the tune file, or an inline [scenario] table
    seeds: int = param(4, 1, 1000, "runs per trial (common random numbers across trials)")
    root_seed: int = param(0, 0, 2**63 - 1, "seed the run seeds and the sampler derive from")
    trials: int = param(64, 1, 100_000, "trials in the study (the budget)")
    batch: int = param(16, 1, 10_000, "trials asked together, before any is told")
    sampler: str = dataclasses.field(default="auto", metadata={"choices": SAMPLERS})
    population: int | None = param(None, 2, 10_000, "NSGA-II population (default: batch)")
    startup_trials: int | None = param(None, 0, 100_000,
                                       "TPE: random trials first (default: batch)")
    blocks: int | None = param(None, 1, 10_000_000, "block budget of each run")
    epochs: int | None = param(None, 1, 1_000_000, "epochs each run lasts")
    warmup_epochs: int = param(0, 0, None, "epochs the metrics ignore")
    confirm_seeds: int = param(8, 0, 1000, "fresh seeds each front point is re-run on "
                               "(its reported mean and interval; 0: report the study's)")
    parameters: dict = dataclasses.field(default_factory=dict)
    objectives: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    behaviours: BehaviourGroups = dataclasses.field(default_factory=BehaviourGroups)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    """One search dimension: a float or integer range (``log`` for log-uniform, ``step`` for
    a grid), or a list of choices."""

    name: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()

    @property
    def kind(self) -> str:
        if self.choices:
            return "categorical"
        return "int" if isinstance(self.low, int) and isinstance(self.high, int) else "float"

    def describe(self) -> dict[str, Any]:
        """JSON-ready form (``study.json``)."""
        if self.choices:
            return {"choices": list(self.choices)}
        spec: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            spec["log"] = True
        if self.step is not None:
            spec["step"] = self.step
        return spec


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Tune:
    """A resolved tune file: the base scenario, the search space, objectives, seeds."""

    name: str
    file: TuneFile
    base: Scenario
    blocks: int
    parameters: tuple[Parameter, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    run_seeds: tuple[int, ...]  # one per replicate, shared by every trial

    @property
    def confirm_seeds(self) -> tuple[int, ...]:
        """Seeds the front points are re-run on: a stream of their own, so the runs that
        report a front point are not the runs that chose it."""
        return tuple(stream_seed(self.file.root_seed, "tune.confirm", replicate) % 2**63
                     for replicate in range(self.file.confirm_seeds))

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric an objective or a constraint reads, in file order, once each."""
        names = [o.metric for o in self.objectives] + [c.metric for c in self.constraints]
        return tuple(dict.fromkeys(names))

    @property
    def sampler(self) -> str:
        """The sampler in use: ``auto`` is TPE for one objective, NSGA-II for several."""
        if self.file.sampler != "auto":
            return self.file.sampler
        return "tpe" if len(self.objectives) == 1 else "nsga2"

    def scenario_for(self, values: dict[str, Any]) -> Scenario:
        """The base scenario with a trial's values set (ConfigError if they clash)."""
        scenario = self.base
        for name, value in values.items():
            scenario = set_value(scenario, name, value)
        return scenario

    def sampler_seed(self, batch: int) -> int:
        """The sampler's seed for batch ``batch``: a fresh sampler per batch, so a resumed
        study asks what an uninterrupted one would."""
        return stream_seed(self.file.root_seed, "tune.sampler", batch) % 2**32

    def identity(self) -> dict[str, Any]:
        """Everything that decides the trials' results (a resumed study must see the same)."""
        return {
            "name": self.name, "scenario": to_dict(self.base), "blocks": self.blocks,
            "parameters": {p.name: p.describe() for p in self.parameters},
            "objectives": [dataclasses.asdict(o) for o in self.objectives],
            "constraints": [dataclasses.asdict(c) for c in self.constraints],
            "run_seeds": list(self.run_seeds), "sampler": self.sampler,
            "batch": self.file.batch, "population": self.file.population,
            "startup_trials": self.file.startup_trials, "root_seed": self.file.root_seed,
            "warmup_epochs": self.file.warmup_epochs,
            "confirm_seeds": list(self.confirm_seeds),
            "behaviours": dataclasses.asdict(self.file.behaviours),
        }


def load_tune(path: str | Path) -> Tune:
    """Read and resolve a tune file; every problem is a one-line ConfigError."""
    path = Path(path)
    file = from_toml(TuneFile, path)
    return resolve_tune(file, base_scenario(file.scenario, path), default_name=path.stem)


def resolve_tune(file: TuneFile, base: Scenario, default_name: str = "tune") -> Tune:
    """Check ``file`` against ``base``; expand its search space and seeds."""
    if file.blocks is not None and file.epochs is not None:
        raise ConfigError("epochs", file.epochs, "give blocks or epochs, not both")
    if not file.objectives:
        raise ConfigError("objectives", [], "give at least one [[objectives]] table "
                          '(metric = "...", direction = "minimize" or "maximize")')
    if not file.parameters:
        raise ConfigError("parameters", {}, "empty: give at least one parameter to search")
    for where, metric in [*((f"objectives[{i}].metric", o.metric)
                            for i, o in enumerate(file.objectives)),
                          *((f"constraints[{i}].metric", c.metric)
                            for i, c in enumerate(file.constraints))]:
        _check_metric(where, metric)
    for index, constraint in enumerate(file.constraints):
        _check_constraint(f"constraints[{index}]", constraint)
    seen = [o.metric for o in file.objectives]
    if len(set(seen)) < len(seen):
        raise ConfigError("objectives", seen, "each metric may be one objective only")
    parameters = tuple(_parameter(name, spec, base) for name, spec in
                       _flatten(file.parameters))
    budget = block_budget(base, file.blocks, file.epochs)
    seeds = tuple(stream_seed(file.root_seed, "tune.run", replicate) % 2**63
                  for replicate in range(file.seeds))
    return Tune(name=file.name or default_name, file=file, base=base,
                blocks=base.blocks if budget is None else budget, parameters=parameters,
                objectives=file.objectives, constraints=file.constraints, run_seeds=seeds)


def _check_metric(where: str, metric: str) -> None:
    if metric not in METRICS:
        close = difflib.get_close_matches(metric, list(METRICS), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConfigError(where, metric, f"unknown metric (known: {', '.join(METRICS)}){hint}")


def _check_constraint(where: str, constraint: Constraint) -> None:
    if constraint.min is None and constraint.max is None:
        raise ConfigError(where, dataclasses.asdict(constraint), "give min, max or both")
    if constraint.min is not None and constraint.max is not None and \
            constraint.min > constraint.max:
        raise ConfigError(where, dataclasses.asdict(constraint),
                          f"min ({constraint.min:g}) > max ({constraint.max:g})")


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested tables (``[parameters.emission]``) become dotted names; a range is a leaf."""
    items = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not set(value) <= {"low", "high", "log",
                                                                     "step"}:
            items += _flatten(value, f"{name}.")
        else:
            items.append((name, value))
    return items


def _parameter(name: str, spec: Any, base: Scenario) -> Parameter:
    where = f"parameters.{name}"
    if name in _RESERVED:
        raise ConfigError(where, spec, f"cannot be tuned: {_RESERVED[name]}")
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(where, spec, "empty list: give at least two choices")
        for value in spec:
            if not isinstance(value, bool | int | float | str):
                raise ConfigError(where, value, "choices must be numbers, booleans or strings")
        parameter = Parameter(name=name, choices=tuple(spec))
        probes = list(spec)
    elif isinstance(spec, dict):
        parameter = _range(name, spec, where)
        probes = [parameter.low, parameter.high]
    else:
        raise ConfigError(where, spec, "expected a range {low, high} or a list of choices "
                          "(a fixed value belongs in the scenario)")
    for value in probes:
        _probe(base, name, value, where, spec)
    return parameter


def _range(name: str, spec: dict[str, Any], where: str) -> Parameter:
    if not {"low", "high"} <= set(spec):
        raise ConfigError(where, spec, "a range needs low and high (and optional log, step)")
    for key in ("low", "high", "step"):
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value)):
            raise ConfigError(f"{where}.{key}", value, "expected a finite number")
    low, high, step, log = spec["low"], spec["high"], spec.get("step"), spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log", log, "expected true or false")
    if low >= high:
        raise ConfigError(where, spec, f"bad range: low ({low}) must be < high ({high})")
    if log and low <= 0:
        raise ConfigError(where, spec, "bad range: log needs low > 0")
    if step is not None and (step <= 0 or log):
        raise ConfigError(where, spec, "bad range: step must be > 0 (and not with log)")
    integer = isinstance(low, int) and isinstance(high, int)
    if integer and step is not None and not isinstance(step, int):
        raise ConfigError(where, spec, "bad range: an integer range needs an integer step")
    if not integer:
        low, high = float(low), float(high)
    return Parameter(name=name, low=low, high=high, log=log, step=step)


def _probe(base: Scenario, name: str, value: Any, where: str, spec: Any) -> None:
    """The scenario must accept the value (an unknown name or an out-of-range bound fails)."""
    try:
        set_value(base, name, value)
    except ConfigError as error:
        if "unknown key" in error.reason:
            close = difflib.get_close_matches(name, _HYPER_NAMES, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(where, spec, "unknown parameter (a hyperparameter like kappa or "
                              f"a dotted scenario path like emission.block_emission){hint}") \
                from None
        own = error.field.endswith(name.split(".")[-1])
        raise ConfigError(where, value, error.reason if own else str(error)) from None
