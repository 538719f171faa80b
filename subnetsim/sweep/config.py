"""Sweep files: which scenario, which parameter settings, how many seeds, what to measure.

A sweep file is strict TOML (``scenarios/sweeps/*.toml``, format in ``docs/sweeps.md``)::

    scenario = "../default.toml"      # base scenario, relative to this file (or a table)
    mode = "grid"                     # grid | zip | random
    seeds = 4                         # runs per point
    root_seed = 2024                  # run seeds derive from it
    epochs = 10                       # or blocks = ...; neither: the scenario's budget
    metrics = ["emission_gini"]       # default: every metric
    [parameters]
    kappa = { start = 0.3, stop = 0.7, num = 5 }
    commit_reveal_weights_enabled = [false, true]

``load_sweep`` checks everything before a single run starts: unknown keys, unknown
parameters, empty lists, bad ranges and values the scenario rejects each end as one
ConfigError naming ``parameters.<name>`` (the CLI prints it and exits 2). The result is a
``Sweep``: the resolved base scenario, every point with its parameter values, and the run
seeds, derived from ``root_seed`` with ``subnetsim.subnet.rng.stream_seed`` so that every point
sees the
same seeds (common random numbers: differences between points are not seed noise).
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.subnet.config import Hyperparameters, from_dict, from_toml, param, to_dict
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.rng import numpy_stream, stream_seed
from subnetsim.subnet.scenario import Scenario, load_scenario
from subnetsim.sweep.metrics import METRICS, BehaviourGroups

__all__ = ["FAST_PATH_PARAMETERS", "Point", "Sweep", "SweepFile", "apply_parameters",
           "load_sweep", "resolve_sweep"]

MODES = ("grid", "zip", "random")
_RANGE_KEYS = frozenset({"start", "stop", "num", "step", "low", "high", "log"})
_HYPER_NAMES = tuple(field.name for field in dataclasses.fields(Hyperparameters))
_NEURON_PATH = re.compile(r"^neurons\[(\d+)\]\.(.+)$")
# Parameters the batched fast path may vary: they change how an epoch turns weights into
# incentive and dividends, never what an agent submits (see docs/sweeps.md).
FAST_PATH_PARAMETERS = frozenset({
    "kappa", "bonds_penalty", "bonds_moving_avg", "yuma3_enabled", "liquid_alpha_enabled",
    "alpha_low", "alpha_high", "alpha_sigmoid_steepness",
})
# Runs (points x seeds) a sweep may have unless its file raises ``max_runs``: counted before any
# expansion, so a grid of 10^10 points is refused at once instead of growing toward OOM.
MAX_RUNS = 100_000

# Set by the sweep itself, so they cannot be swept.
_RESERVED = {"seed": "run seeds come from root_seed and seeds",
             "blocks": "set the sweep's blocks or epochs instead"}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SweepFile:
    """The sweep file as written (checked field by field by
    ``subnetsim.subnet.config.from_dict``)."""

    name: str = ""
    description: str = ""
    # A path (relative to the sweep file) or an inline [scenario] table; checked by load_sweep.
    scenario: object = ""
    mode: str = dataclasses.field(default="grid", metadata={"choices": MODES})
    seeds: int = param(1, 1, 100_000, "runs per point")
    root_seed: int = param(0, 0, 2**63 - 1, "seed every run seed derives from")
    blocks: int | None = param(None, 1, 10_000_000, "block budget of each run")
    epochs: int | None = param(None, 1, 1_000_000, "epochs each run lasts")
    samples: int | None = param(None, 1, 1_000_000, "points drawn in random mode")
    warmup_epochs: int = param(0, 0, None, "epochs the metrics ignore")
    metrics: tuple[str, ...] = ()
    fast_path: bool = param(False, doc="replay consensus-only sweeps with the batched epoch")
    max_runs: int = param(MAX_RUNS, 1, None, "runs (points x seeds) the sweep may expand to; "
                          "counted before anything is expanded")
    parameters: dict = dataclasses.field(default_factory=dict)
    behaviours: BehaviourGroups = dataclasses.field(default_factory=BehaviourGroups)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One parameter setting: values by parameter name, in the sweep file's order."""

    index: int
    values: dict[str, Any]
    scenario: Scenario
    blocks: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Sweep:
    """A resolved sweep: every point and every run seed, ready to execute."""

    name: str
    file: SweepFile
    base: Scenario
    parameters: tuple[str, ...]
    points: tuple[Point, ...]
    run_seeds: tuple[int, ...]  # one per replicate, shared by every point
    metrics: tuple[str, ...]

    @property
    def runs(self) -> int:
        """Number of (point, replicate) runs."""
        return len(self.points) * len(self.run_seeds)

    def identity(self) -> dict[str, Any]:
        """Everything that decides the runs' results (``--resume`` must see the same)."""
        return {
            "name": self.name, "scenario": to_dict(self.base), "mode": self.file.mode,
            "parameters": list(self.parameters), "run_seeds": list(self.run_seeds),
            "fast_path": self.file.fast_path,
            "points": [{"values": p.values, "blocks": p.blocks} for p in self.points],
        }


def load_sweep(path: str | Path) -> Sweep:
    """Read and resolve a sweep file; every problem is a one-line ConfigError."""
    path = Path(path)
    file = from_toml(SweepFile, path)
    return resolve_sweep(file, base_scenario(file.scenario, path), default_name=path.stem)


def base_scenario(value: Any, file_path: Path) -> Scenario:
    """The base scenario a sweep or tune file names: a path relative to the file, or an inline
    ``[scenario]`` table."""
    if isinstance(value, dict):
        return from_dict(Scenario, value, "scenario")
    if isinstance(value, str) and value:
        return load_scenario(file_path.parent / value)
    raise ConfigError("scenario", value,
                      "required: path of the base scenario TOML, or a [scenario] table")


def resolve_sweep(file: SweepFile, base: Scenario, default_name: str = "sweep") -> Sweep:
    """Check ``file`` against ``base`` and expand its points and seeds."""
    _check_budget(file)
    metrics = file.metrics or tuple(METRICS)
    for index, metric in enumerate(metrics):
        if metric not in METRICS:
            raise ConfigError(f"metrics[{index}]", metric,
                              f"unknown metric (known: {', '.join(METRICS)})")
    axes = _axes(file)
    if file.fast_path:
        _check_fast_path(axes)
    _check_size(file, axes)
    rows = _point_values(file, axes)
    points = tuple(_make_point(index, values, base, file) for index, values in enumerate(rows))
    seeds = tuple(stream_seed(file.root_seed, "sweep.run", replicate) % 2**63
                  for replicate in range(file.seeds))
    return Sweep(name=file.name or default_name, file=file, base=base,
                 parameters=tuple(axes), points=points, run_seeds=seeds, metrics=metrics)


def apply_parameters(scenario: Scenario, values: dict[str, Any]) -> Scenario:
    """``scenario`` with each parameter set: a hyperparameter name (``kappa``), a dotted path
    (``emission.block_emission``) or a neuron group field (``neurons[1].stake``,
    ``neurons[1].options.quality``)."""
    from subnetsim.subnet.scenario import set_value  # the same name resolution as `run --set`

    for name, value in values.items():
        match = _NEURON_PATH.match(name)
        if match:
            scenario = _set_group_field(scenario, int(match[1]), match[2], value)
        else:
            scenario = set_value(scenario, name, value)
    return scenario


# --- checks --------------------------------------------------------------------------------


def _check_budget(file: SweepFile) -> None:
    if file.blocks is not None and file.epochs is not None:
        raise ConfigError("epochs", file.epochs, "give blocks or epochs, not both")
    if file.mode == "random" and file.samples is None:
        raise ConfigError("samples", None, "mode = random needs samples (points to draw)")
    if file.mode != "random" and file.samples is not None:
        raise ConfigError("samples", file.samples, "only mode = random draws samples")
    if not file.parameters:
        raise ConfigError("parameters", {}, "empty: give at least one parameter to sweep")


def _check_fast_path(axes: dict[str, Any]) -> None:
    for name, values in axes.items():
        short = name.removeprefix("hyperparameters.")
        if short not in FAST_PATH_PARAMETERS:
            raise ConfigError(f"parameters.{name}", values,
                              "fast_path replays recorded weights, so it may only vary "
                              f"{', '.join(sorted(FAST_PATH_PARAMETERS))}")


# --- axes: one list of values (or a distribution) per parameter ------------------------------


def _axes(file: SweepFile) -> dict[str, Any]:
    """Parameter name -> tuple of values, or a distribution (random mode)."""
    axes: dict[str, Any] = {}
    for name, spec in _flatten(file.parameters):
        where = f"parameters.{name}"
        _check_name(name, spec, where)
        axes[name] = _axis(spec, file.mode, where, file.max_runs)
    if file.mode == "zip":
        lengths = {name: len(values) for name, values in axes.items()}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{name}: {count}" for name, count in lengths.items())
            raise ConfigError("parameters", detail, "mode = zip needs lists of equal length")
    return axes


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested TOML tables (``hyperparameters.kappa = [...]``) become dotted names."""
    items = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not set(value) <= _RANGE_KEYS:
            items += _flatten(value, f"{name}.")
        else:
            items.append((name, value))
    return items


def _check_name(name: str, spec: Any, where: str) -> None:
    if name in _RESERVED:
        raise ConfigError(where, spec, f"cannot be swept: {_RESERVED[name]}")
    if _NEURON_PATH.match(name):
        return
    head = name.split(".")[0]
    fields = [field.name for field in dataclasses.fields(Scenario)]
    if name in _HYPER_NAMES or (head in fields and "." in name) or name in fields:
        return
    close = difflib.get_close_matches(name, [*_HYPER_NAMES, *fields], n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ConfigError(where, spec, "unknown parameter (a hyperparameter like kappa, a dotted "
                      f"scenario path like emission.block_emission, or neurons[i].field){hint}")


def _check_size(file: SweepFile, axes: dict[str, Any]) -> None:
    """Refuse a sweep whose runs exceed ``max_runs``, from the axes' lengths alone."""
    lengths = [len(axis) for axis in axes.values() if isinstance(axis, tuple)]
    if file.mode == "grid":
        points = math.prod(lengths)
    elif file.mode == "zip":
        points = max(lengths, default=1)
    else:
        points = file.samples or 0
    if points * file.seeds > file.max_runs:
        raise ConfigError("parameters", f"{points} points x {file.seeds} seeds",
                          f"more than max_runs = {file.max_runs} runs; raise max_runs in the"
                          " sweep file if you mean it")


def _axis(spec: Any, mode: str, where: str, limit: int) -> Any:
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(where, spec, "empty list: give at least one value")
        for value in spec:
            _check_scalar(value, where)
        return tuple(spec)
    if isinstance(spec, dict):
        return _range(spec, mode, where, limit)
    _check_scalar(spec, where)
    return (spec,)


def _check_scalar(value: Any, where: str) -> None:
    if not isinstance(value, bool | int | float | str):
        raise ConfigError(where, value, "values must be numbers, booleans or strings")


def _range(spec: dict[str, Any], mode: str, where: str, limit: int) -> Any:
    """``{start, stop, num}`` / ``{start, stop, step}``: values (stop included);
    ``{low, high, log}``: a uniform (or log-uniform) distribution for mode = random."""
    for key, value in spec.items():
        if key != "log" and (isinstance(value, bool) or not isinstance(value, int | float)
                             or not math.isfinite(value)):
            raise ConfigError(f"{where}.{key}", value, "expected a finite number")
    if {"low", "high"} & set(spec):
        return _distribution(spec, mode, where)
    keys = set(spec)
    if not {"start", "stop"} <= keys or len(keys & {"num", "step"}) != 1 or keys - {
            "start", "stop", "num", "step"}:
        raise ConfigError(where, spec, "a range needs start, stop and one of num or step")
    start, stop = spec["start"], spec["stop"]
    if start > stop:
        raise ConfigError(where, spec, f"bad range: start ({start}) > stop ({stop})")
    if "num" in spec:
        _check_count(spec["num"], limit, where, spec)
        return _linspace(start, stop, spec["num"], where, spec)
    step = spec["step"]
    if step <= 0:
        raise ConfigError(where, spec, f"bad range: step ({step}) must be > 0")
    count = math.floor((stop - start) / step + 1e-9) + 1
    _check_count(count, limit, where, spec)
    values = [start + i * step for i in range(count)]
    return tuple(values if all(isinstance(v, int) for v in spec.values()) else
                 (round(v, 12) for v in values))


def _check_count(count: Any, limit: int, where: str, spec: dict) -> None:
    """Refuse a range of more values than the sweep may run, before making them."""
    if isinstance(count, int) and count > limit:
        raise ConfigError(where, spec, f"{count} values: more than max_runs = {limit}")


def _linspace(start: float, stop: float, num: Any, where: str, spec: dict) -> tuple:
    if not isinstance(num, int) or num < 1:
        raise ConfigError(where, spec, f"bad range: num ({num}) must be an integer >= 1")
    if num == 1:
        return (start,)
    values = np.linspace(start, stop, num)
    if isinstance(start, int) and isinstance(stop, int) and np.all(values == np.round(values)):
        return tuple(int(v) for v in values)  # an integer range stays integer (tempo, counts)
    return tuple(round(float(v), 12) for v in values)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Distribution:
    """Values drawn uniformly from [low, high] (log-uniformly with ``log``), random mode."""

    low: float
    high: float
    log: bool


def _distribution(spec: dict[str, Any], mode: str, where: str) -> _Distribution:
    if mode != "random":
        raise ConfigError(where, spec, "{low, high} draws values: it needs mode = random "
                          "(for a grid use {start, stop, num})")
    if set(spec) - {"low", "high", "log"} or not {"low", "high"} <= set(spec):
        raise ConfigError(where, spec, "a distribution needs low and high (and optional log)")
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log", log, "expected true or false")
    if low > high:
        raise ConfigError(where, spec, f"bad range: low ({low}) > high ({high})")
    if log and low <= 0:
        raise ConfigError(where, spec, "bad range: log needs low > 0")
    return _Distribution(low=float(low), high=float(high), log=log)


# --- points -----------------------------------------------------------------------------------


def _point_values(file: SweepFile, axes: dict[str, Any]) -> list[dict[str, Any]]:
    names = list(axes)
    if file.mode == "grid":
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*axes.values())]
    if file.mode == "zip":
        return [dict(zip(names, combo, strict=True)) for combo in zip(*axes.values(), strict=True)]
    rng = numpy_stream(file.root_seed, "sweep.points")
    rows = []
    for _ in range(file.samples or 0):
        rows.append({name: _draw(rng, axis) for name, axis in axes.items()})
    return rows


def _draw(rng: np.random.Generator, axis: Any) -> Any:
    if isinstance(axis, _Distribution):
        if axis.log:
            return float(math.exp(rng.uniform(math.log(axis.low), math.log(axis.high))))
        return float(rng.uniform(axis.low, axis.high))
    return axis[int(rng.integers(len(axis)))]


def _make_point(index: int, values: dict[str, Any], base: Scenario, file: SweepFile) -> Point:
    scenario = base
    resolved = {}
    for name, value in values.items():
        try:
            scenario = apply_parameters(scenario, {name: value})
        except ConfigError as error:
            # Name the other field when the value clashes with one (alpha_high < alpha_low).
            own = error.field.endswith(name.split(".")[-1])
            raise ConfigError(f"parameters.{name}", value,
                              error.reason if own else str(error)) from None
        resolved[name] = _read_back(scenario, name)
    return Point(index=index, values=resolved, scenario=scenario,
                 blocks=_blocks(scenario, file.blocks, file.epochs))


def _blocks(scenario: Scenario, blocks: int | None, epochs: int | None) -> int:
    from subnetsim.subnet.scenario import block_budget  # the same epoch schedule as `run --epochs`

    budget = block_budget(scenario, blocks, epochs)
    return scenario.blocks if budget is None else budget


def _read_back(scenario: Scenario, name: str) -> Any:
    """The value as the scenario holds it (1 becomes 1.0 for a float field)."""
    match = _NEURON_PATH.match(name)
    node: Any = scenario.neurons[int(match[1])] if match else scenario
    path = match[2] if match else (f"hyperparameters.{name}" if name in _HYPER_NAMES else name)
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def _set_group_field(scenario: Scenario, index: int, field: str, value: Any) -> Scenario:
    from subnetsim.subnet.config import replace_dotted

    groups = list(scenario.neurons)
    if index >= len(groups):
        raise ConfigError(f"neurons[{index}]", value,
                          f"the scenario has {len(groups)} neuron groups")
    group = groups[index]
    if field.startswith("options."):
        options = {**group.options, field.removeprefix("options."): value}
        groups[index] = dataclasses.replace(group, options=options)
    else:
        groups[index] = replace_dotted(group, field, value, f"neurons[{index}]")
    data = to_dict(scenario)
    data["neurons"] = [to_dict(g) for g in groups]
    return from_dict(Scenario, data)
