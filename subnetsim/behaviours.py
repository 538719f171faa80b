"""The registry of behaviours: which names a scenario's neuron groups may use, per role.

The agent packages own their names (``subnetsim.miners.BEHAVIOURS``,
``subnetsim.validators.BEHAVIOURS``); this module is the one place the application reads them
from, for the composition root, sweeps and the dashboard.
"""

from __future__ import annotations

from subnetsim import miners, validators
from subnetsim.subnet.errors import ConfigError

__all__ = ["BEHAVIOURS", "HALT_IGNORING", "SCRIPTED_VALIDATORS", "SERVING_MINERS",
           "behaviour_of", "check_names"]

BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "validator": validators.BEHAVIOURS,
    "miner": miners.BEHAVIOURS,
}
DEFAULTS = {"validator": validators.DEFAULT_BEHAVIOUR, "miner": miners.DEFAULT_BEHAVIOUR}
SCRIPTED_VALIDATORS = validators.SCRIPTED_BEHAVIOURS
SERVING_MINERS = miners.SERVING_BEHAVIOURS
# Behaviours that keep serving (miners) or querying (validators) through a serving halt.
HALT_IGNORING: dict[str, tuple[str, ...]] = {
    "miner": miners.HALT_IGNORING_BEHAVIOURS,
    "validator": validators.HALT_IGNORING_BEHAVIOURS,
}
ALL_NAMES = tuple(dict.fromkeys((*validators.BEHAVIOURS, *miners.BEHAVIOURS)))


def behaviour_of(role: str, name: str, where: str = "neurons.behaviour") -> str:
    """The behaviour a group of ``role`` gets for ``name`` ('' means the role's default);
    ConfigError naming ``where`` for a name the role does not have."""
    behaviour = name or DEFAULTS[role]
    allowed = BEHAVIOURS[role]
    if behaviour not in allowed:
        raise ConfigError(where, behaviour,
                          f"unknown {role} behaviour (known: {', '.join(allowed)})")
    return behaviour


def check_names(names: tuple[str, ...], where: str) -> tuple[str, ...]:
    """``names`` if each is a behaviour of some role; ConfigError naming ``where`` otherwise."""
    unknown = [name for name in names if name not in ALL_NAMES]
    if unknown:
        raise ConfigError(where, unknown[0],
                          f"unknown behaviour (known: {', '.join(ALL_NAMES)})")
    return names
