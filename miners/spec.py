"""A planned miner: who it is, how it behaves, when it registers, whose model it serves."""

from __future__ import annotations

import dataclasses

import numpy as np

from subnetsim.subnet.scenario import MinerOptions

__all__ = ["MinerSpec", "model_rows"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MinerSpec:
    """One planned miner: who it is, how it behaves, when it registers."""

    key: int
    hotkey: str
    coldkey: str
    behaviour: str
    options: MinerOptions
    quality: float
    join_block: int  # 0: registered at genesis
    group: int  # index of its scenario group (sybils of one group share a model)

    @classmethod
    def planned(cls, *, key: int, hotkey: str, coldkey: str, behaviour: str,
                options: MinerOptions, group: int, member: int, count: int) -> MinerSpec:
        """Member ``member`` of a group of ``count``: qualities spread evenly from
        ``quality_low`` up to ``quality``; late joiners ``join_interval`` blocks apart."""
        low = options.quality if options.quality_low is None else options.quality_low
        share = member / (count - 1) if count > 1 else 1.0
        join = options.join_block + member * options.join_interval if options.join_block else 0
        return cls(key=key, hotkey=hotkey, coldkey=coldkey, behaviour=behaviour,
                   options=options, quality=low + (options.quality - low) * share,
                   join_block=join, group=group)


def model_rows(specs: list[MinerSpec]) -> np.ndarray:
    """Model row of each miner: its own, except that sybils of one operator (or one group, when
    no operator is named) all use the first one's model."""
    rows = np.arange(len(specs))
    first: dict[str, int] = {}
    for spec in specs:
        if spec.behaviour == "sybil":
            owner = spec.options.operator or f"group {spec.group}"
            rows[spec.key] = first.setdefault(owner, spec.key)
    return rows
