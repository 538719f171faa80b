"""Frozen configuration: subtensor's hyperparameters in natural units, and a strict loader.

Names and defaults follow subtensor (see ``docs/hyperparameters.md`` and the reference table in
``docs/yuma.md``); values are natural units: fractions instead of u16 proportions, blocks for
periods, TAO for amounts. A newly created subnet takes the ``init_new_network`` values
(immunity 5000, 64 validators, min one weight), since every simulated subnet is new; Yuma3 is
off by default (storage default) and one switch away.

Loading is strict: ``from_dict`` rejects unknown keys and out-of-range values with a
``ConfigError`` that names the dotted field and the value, so a typo in a scenario never runs
silently with a default. ``from_chain_units`` converts btcli/chain values (u16 kappa, per-million
bonds moving average, ...) to natural units.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from subnetsim.subnet.errors import ConfigError

U16_MAX = 65535  # the chain stores weights, bonds and shares as u16 fractions of this
PER_MILLION = 1_000_000

__all__ = [
    "ARITHMETICS",
    "COMMIT_REVEAL_VERSIONS",
    "EPOCH_SCHEDULES",
    "Hyperparameters",
    "U16_MAX",
    "from_chain_units",
    "from_dict",
    "from_toml",
    "parse_assignment",
    "replace_dotted",
    "to_dict",
]


def param(default: Any, low: float | None = None, high: float | None = None, doc: str = "") -> Any:
    """A dataclass field carrying its allowed closed range and a one-line doc."""
    return dataclasses.field(default=default, metadata={"range": (low, high), "doc": doc})


def choice(default: str, choices: tuple[str, ...], doc: str = "") -> Any:
    """A string field that takes one of ``choices`` (the first is the current chain's rule)."""
    return dataclasses.field(default=default, metadata={"choices": choices, "doc": doc})


EPOCH_SCHEDULES = ("last_epoch_block", "modulo")
COMMIT_REVEAL_VERSIONS = ("timelock", "v2")
ARITHMETICS = ("float", "exact")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Hyperparameters:
    """Subnet hyperparameters (subtensor names, natural units).

    Sources are subtensor's ``runtime/src/lib.rs`` initial values, the pallet ``Default*`` values
    and ``subnets/subnet.rs : init_new_network`` (cited per field in docs/hyperparameters.md).
    """

    tempo: int = param(360, 1, 50_400, "blocks between epochs")
    kappa: float = param(32767 / U16_MAX, 0.0, 1.0, "stake share that defines consensus")
    bonds_moving_avg: float = param(0.9, 0.0, 1.0, "EMA weight on old bonds; alpha = 1 - this")
    bonds_penalty: float = param(1.0, 0.0, 1.0, "beta: 1 bonds on clipped weights, 0 on raw")
    bonds_reset_enabled: bool = param(False, doc="a new miner commitment resets its bonds")
    liquid_alpha_enabled: bool = param(False, doc="per-bond sigmoid alpha (Yuma3 only)")
    alpha_low: float = param(45875 / U16_MAX, 0.025, 1.0, "liquid alpha lower bound")
    alpha_high: float = param(58982 / U16_MAX, 0.025, 1.0, "liquid alpha upper bound")
    alpha_sigmoid_steepness: float = param(1000.0, -32768, 32767, "liquid alpha slope x100")
    # Storage default false (pallet lib.rs); new subnets get true since 2026-03-24, but most
    # live subnets and every shipped snapshot ran classic bonds, so classic is the default.
    yuma3_enabled: bool = param(False, doc="Yuma3 absolute bonds (else classic EMA bonds)")
    immunity_period: int = param(5000, 0, 2**32, "blocks a new uid cannot be pruned")
    max_allowed_uids: int = param(256, 1, 4096, "subnet size")
    max_allowed_validators: int = param(64, 1, 4096, "top-k stake that gets a permit")
    min_allowed_weights: int = param(1, 0, 4096, "fewest non-zero weights per set_weights")
    max_weights_limit: float = param(1.0, 0.0, 1.0, "largest share one uid may receive")
    weights_rate_limit: int = param(100, 0, 2**32, "blocks between two weight settings")
    activity_cutoff: int = param(5000, 1, 2**32, "blocks after which a validator is inactive")
    commit_reveal_weights_enabled: bool = param(True, doc="weights are committed, then revealed")
    commit_reveal_period: int = param(1, 1, 100, "epochs between commit and reveal")
    stake_threshold: float = param(0.0, 0.0, None, "TAO below which a uid gets no permit")
    subnet_owner_cut: float = param(11796 / U16_MAX, 0.0, 1.0, "owner's share of emission")
    validator_take: float = param(11796 / U16_MAX, 0.0, 1.0, "validator's cut of dividends")
    # subtensor HEAD (dynamic tempo): an epoch when block - LastEpochBlock >= tempo; "modulo" is
    # the classic (block + netuid + 1) % (tempo + 1) == tempo, for replaying older history.
    epoch_schedule: str = choice("last_epoch_block", EPOCH_SCHEDULES,
                                 "when epochs run: period tempo (HEAD) or tempo + 1 (modulo)")
    # Mainnet's commit-reveal is timelocked (the chain reveals at the reveal epoch); "v2" is the
    # manual hash reveal.
    commit_reveal_version: str = choice("timelock", COMMIT_REVEAL_VERSIONS,
                                        "timelock: the chain reveals; v2: validators reveal")
    arithmetic: str = choice("float", ARITHMETICS,
                             "float64 epochs (fast) or subtensor's fixed point (exact)")

    def __post_init__(self) -> None:
        if self.alpha_low > self.alpha_high:
            raise ConfigError("alpha_low", self.alpha_low,
                              f"must be <= alpha_high ({self.alpha_high})")


# Fields given in chain units by btcli / subtensor storage, and their divisor.
_CHAIN_UNIT_DIVISORS: dict[str, float] = {
    "kappa": U16_MAX,
    "bonds_penalty": U16_MAX,
    "alpha_low": U16_MAX,
    "alpha_high": U16_MAX,
    "max_weights_limit": U16_MAX,
    "subnet_owner_cut": U16_MAX,
    "validator_take": U16_MAX,
    "bonds_moving_avg": PER_MILLION,
}


def from_chain_units(values: Mapping[str, Any], path: str = "hyperparameters") -> Hyperparameters:
    """Hyperparameters from chain units: u16 proportions and per-million bonds_moving_avg.

    Example: ``{"kappa": 32767, "bonds_moving_avg": 900000}`` gives kappa ~0.5 and 0.9.
    """
    natural: dict[str, Any] = {}
    for key, value in values.items():
        divisor = _CHAIN_UNIT_DIVISORS.get(key)
        if divisor is not None:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= divisor:
                raise ConfigError(f"{path}.{key}", value,
                                  f"chain units: integer in [0, {divisor:g}]")
            value = value / divisor
        natural[key] = value
    return from_dict(Hyperparameters, natural, path)


def from_toml(cls: type, file: str | Path, path: str = "") -> Any:
    """Load ``cls`` from a TOML file; unreadable or malformed files raise ConfigError."""
    if "\0" in str(file):  # a path from a file's contents: open() would raise ValueError
        raise ConfigError("path", str(file).replace("\0", "\\0"), "contains a NUL byte")
    try:
        data = tomllib.loads(Path(file).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(str(file), None, f"cannot read file: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(str(file), None, f"not valid TOML: {error}") from None
    return from_dict(cls, data, path)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` once per class (it evaluates every annotation's text: a world
    of 256 neurons parsed their options' hints 385 times)."""
    return typing.get_type_hints(cls)


def from_dict(cls: type, data: Mapping[str, Any], path: str = "") -> Any:
    """Build the frozen dataclass ``cls`` from plain data, strictly.

    Unknown keys, wrong types and out-of-range values raise ConfigError naming the dotted path.
    Nested dataclass fields take nested tables; tuples take lists.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(path or cls.__name__, data, "expected a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(_join(path, unknown[0]), data[unknown[0]],
                          f"unknown key (known: {known})")
    kwargs = {
        name: _coerce(hints[name], value, _join(path, name), fields[name].metadata)
        for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except ConfigError as error:
        raise ConfigError(_join(path, error.field), error.value, error.reason) from None
    except TypeError as error:  # a required field is missing
        raise ConfigError(path or cls.__name__, None, str(error)) from None


def to_dict(config: Any) -> dict[str, Any]:
    """Plain-data form of a config tree (tuples become lists), the inverse of ``from_dict``."""
    result: dict[str, Any] = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            value = to_dict(value)
        elif isinstance(value, tuple):
            value = [to_dict(v) if dataclasses.is_dataclass(v) else v for v in value]
        result[field.name] = value
    return result


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse a CLI ``key=value`` override; the value is read as a TOML value when it can be."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(text, text, "expected key=value, e.g. kappa=0.6")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def replace_dotted(config: Any, dotted: str, value: Any, path: str = "") -> Any:
    """A copy of ``config`` with the field at ``dotted`` (e.g. ``hyperparameters.kappa``) set."""
    head, _, rest = dotted.partition(".")
    data = to_dict(config)
    if head not in data:
        known = ", ".join(sorted(data))
        raise ConfigError(_join(path, head), value, f"unknown key (known: {known})")
    if rest:
        current = getattr(config, head)
        if not dataclasses.is_dataclass(current):
            raise ConfigError(_join(path, dotted), value, f"{head} has no sub-fields")
        data[head] = to_dict(replace_dotted(current, rest, value, _join(path, head)))
    else:
        data[head] = value
    return from_dict(type(config), data, path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _coerce(hint: Any, value: Any, path: str, metadata: Mapping[str, Any]) -> Any:
    """Check ``value`` against the field's type hint and range; return it in the field's type."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if value is None and len(options) < len(typing.get_args(hint)):
            return None
        return _coerce(options[0], value, path, metadata)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_dict(hint, value, path)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(path, value, "expected a list")
        item_hint = typing.get_args(hint)[0]
        return tuple(_coerce(item_hint, item, f"{path}[{i}]", {}) for i, item in enumerate(value))
    if origin in (dict, Mapping) or hint is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(path, value, "expected a table")
        return dict(value)
    return _coerce_scalar(hint, value, path, metadata)


def _coerce_scalar(hint: Any, value: Any, path: str, metadata: Mapping[str, Any]) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, value, "expected true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, value, "expected an integer")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, value, "expected a number")
        if not math.isfinite(value):
            raise ConfigError(path, value, "expected a finite number")
        value = float(value)
    elif hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, value, "expected a string")
        choices = metadata.get("choices")
        if choices and value not in choices:
            raise ConfigError(path, value, f"expected one of {', '.join(choices)}")
        return value
    low, high = metadata.get("range", (None, None))
    if low is not None and value < low:
        raise ConfigError(path, value, f"must be >= {low:g}")
    if high is not None and value > high:
        raise ConfigError(path, value, f"must be <= {high:g}")
    return value
