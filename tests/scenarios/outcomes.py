"""Outcome measurements on the shipped scenarios, shared by the tests and by docs/scenarios.md.

Run ``python -m tests.scenarios.outcomes`` to print every figure docs/scenarios.md reports.
Each function runs short, seeded simulations in-process and returns plain numbers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.subnet.config import replace_dotted
from subnetsim.subnet.records import EpochRecord, EventRecord
from subnetsim.subnet.scenario import Scenario, load_scenario
from subnetsim.sweep.metrics import spearman
from subnetsim.world import World, build_world

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@dataclasses.dataclass(slots=True)
class Observed:
    """A finished world and what its chain recorded on the way."""

    world: World
    epochs: list[EpochRecord] = dataclasses.field(default_factory=list)
    events: list[EventRecord] = dataclasses.field(default_factory=list)

    def record(self, block: Any, extrinsics: Any, events: list[EventRecord],
               epoch: EpochRecord | None) -> None:
        self.events.extend(events)
        if epoch is not None:
            self.epochs.append(epoch)

    def series(self, name: str, uids: list[int]) -> np.ndarray:
        """(epochs,) mean of an epoch output over ``uids``."""
        return np.array([np.mean([getattr(record, name)[uid] for uid in uids])
                         for record in self.epochs])


def scenario(name: str, **overrides: Any) -> Scenario:
    """A shipped scenario with dotted overrides (``hyperparameters__kappa=0.6``)."""
    loaded = load_scenario(SCENARIOS / f"{name}.toml")
    for key, value in overrides.items():
        loaded = replace_dotted(loaded, key.replace("__", "."), value)
    return loaded


def observe(config: Scenario, blocks: int, seed: int | None = None) -> Observed:
    """Run ``config`` for ``blocks`` blocks, keeping epochs and events."""
    holder: list[Observed] = []
    world = build_world(config, config.seed if seed is None else seed,
                        recorder=lambda *args: holder[0].record(*args))
    observed = Observed(world=world)
    holder.append(observed)
    world.run_to_block(blocks)
    return observed


def loss_incentive_spearman(observed: Observed) -> float:
    """Spearman correlation of true model loss (no valid answer: worst) and incentive."""
    result = observed.world.result()
    miners = [n.uid for n in result.neurons if n.role == "miner"]
    losses = np.where(np.isfinite(result.model_loss), result.model_loss, np.inf)[miners]
    return spearman(np.asarray(losses), result.incentive[miners])


def dividends_per_stake(observed: Observed, uids: list[int], skip_epochs: int = 0) -> float:
    """Mean over ``uids`` of dividends paid (TAO, summed over epochs) per TAO of stake."""
    values = []
    for uid in uids:
        paid = sum(record.dividends_tao[uid] for record in observed.epochs[skip_epochs:])
        stake = observed.epochs[skip_epochs].inputs.stake[uid]
        values.append(paid / stake)
    return float(np.mean(values))


def with_group(config: Scenario, index: int, **changes: Any) -> Scenario:
    """``config`` with fields of its ``index``-th neuron group replaced."""
    groups = list(config.neurons)
    groups[index] = dataclasses.replace(groups[index], **changes)
    return dataclasses.replace(config, neurons=tuple(groups))


def cabal_incentive(share: float, blocks: int = 1500) -> dict[str, float]:
    """Run cabal_attack.toml with the cabal holding ``share`` of the validator stake; the cabal
    miners' summed incentive and each side's mean validator trust at the end."""
    base = scenario("cabal_attack")
    honest, cabal = base.neurons[0], base.neurons[1]
    per_cabal = share / (1.0 - share) * honest.stake * honest.count / cabal.count
    observed = observe(with_group(base, 1, stake=per_cabal), blocks)
    result = observed.world.result()
    cabal_miners = [n.uid for n in result.neurons
                    if n.role == "miner" and n.behaviour == "lazy"]
    by = {"honest": [], "cabal": []}
    for neuron in result.neurons:
        if neuron.role == "validator":
            by[neuron.behaviour].append(result.validator_trust[neuron.uid])
    return {"share": share, "cabal_incentive": float(result.incentive[cabal_miners].sum()),
            "honest_vtrust": float(np.mean(by["honest"])),
            "cabal_vtrust": float(np.mean(by["cabal"]))}


def miner_uids(observed: Observed, behaviour: str) -> list[int]:
    """Uids of the current miners with ``behaviour``."""
    return [n.uid for n in observed.world.occupants()
            if n.role == "miner" and n.behaviour == behaviour]


def validator_uids(observed: Observed, behaviour: str) -> list[int]:
    """Uids of the validators with ``behaviour``."""
    return [n.uid for n in observed.world.occupants()
            if n.role == "validator" and n.behaviour == behaviour]


def default_outcomes(blocks: int = 2000) -> dict[str, Any]:
    """default.toml: ranking, trainers over time, cheaters' incentive."""
    observed = observe(scenario("default"), blocks)
    result = observed.world.result()
    trainers = miner_uids(observed, "trainer")
    series = observed.series("incentive", trainers)
    mean = {b: float(np.mean(result.incentive[miner_uids(observed, b)]))
            for b in ("honest", "trainer", "lazy", "noisy", "malformed")}
    invalid = sum(v.stats["invalid"] for v in observed.world.validators)
    return {"epochs": result.epochs, "spearman": loss_incentive_spearman(observed),
            "trainer_incentive_by_epoch": series.tolist(), "mean_incentive": mean,
            "invalid_replies": invalid, "digest": result.digest}


def copier_ratio(commit_reveal: bool, blocks: int = 2000) -> dict[str, float]:
    """weight_copying.toml: the copier's dividends per stake over the honest validators'."""
    observed = observe(scenario("weight_copying",
                                hyperparameters__commit_reveal_weights_enabled=commit_reveal),
                       blocks)
    honest = dividends_per_stake(observed, validator_uids(observed, "honest"), skip_epochs=3)
    copier = dividends_per_stake(observed, validator_uids(observed, "weight_copier"), 3)
    trust = observed.world.result().validator_trust
    return {"honest": honest, "copier": copier, "ratio": copier / honest,
            "copier_vtrust": float(trust[validator_uids(observed, "weight_copier")].mean())}


def theft_outcomes(blocks: int = 2000, **overrides: Any) -> dict[str, Any]:
    """model_theft.toml: incentive and relay statistics of the victim and the copycats."""
    from subnetsim.miners.miner import STAT_NAMES

    observed = observe(scenario("model_theft", **overrides), blocks)
    result, pool = observed.world.result(), observed.world.miners
    victims = {spec.options.victim for spec in pool.specs if spec.behaviour == "copycat"}
    rows = {}
    for spec in pool.specs:
        uid = observed.world.chain.uid_of(spec.hotkey)
        if spec.behaviour == "copycat" or uid in victims:
            rows[uid] = {"behaviour": spec.behaviour, "stake": float(result.stake[uid]),
                         "incentive": float(result.incentive[uid]),
                         **dict(zip(STAT_NAMES, pool.stats[spec.key].tolist(), strict=True))}
    return rows


def sybil_outcomes(dedupe: bool, blocks: int = 2000) -> dict[str, Any]:
    """sybil_flood.toml: the farm's incentive vs the honest miners', with or without dedupe."""
    observed = observe(scenario("sybil_flood", validation__dedupe=dedupe), blocks)
    result = observed.world.result()
    sybils, honest = miner_uids(observed, "sybil"), miner_uids(observed, "honest")
    return {"sybils": len(sybils), "farm_incentive": float(result.incentive[sybils].sum()),
            "best_single_sybil": float(result.incentive[sybils].max()),
            "best_honest": float(result.incentive[honest].max()),
            "duplicates_zeroed": sum(v.stats["duplicate"] for v in observed.world.validators),
            "pruned": _pruned(observed), "burn": observed.world.chain.ledger.burn}


def _pruned(observed: Observed) -> dict[str, int]:
    behaviour = {n.hotkey: n.behaviour for n in [*observed.world.neurons,
                                                   *observed.world.joiners]}
    counts: dict[str, int] = {}
    for event in observed.events:
        pruned = event.data.get("pruned_hotkey") if event.kind == "registered" else None
        if pruned:
            counts[behaviour[pruned]] = counts.get(behaviour[pruned], 0) + 1
    return counts


def churn_outcomes(blocks: int = 2400) -> dict[str, Any]:
    """churn.toml: who was pruned, in what order, and what the burn did."""
    observed = observe(scenario("churn"), blocks)
    registrations = [e for e in observed.events if e.kind == "registered"]
    behaviour = {n.hotkey: n.behaviour for n in observed.world.neurons}
    order = [behaviour.get(e.data.get("pruned_hotkey"), "newcomer") for e in registrations
             if e.data.get("pruned_hotkey")]
    rejected = sum(1 for e in observed.events
                   if e.kind == "rejected" and e.data.get("kind") == "register")
    return {"registered": len(registrations), "pruned_in_order": order,
            "burns_paid": [e.data["burn"] for e in registrations], "rejected": rejected,
            "newcomers_left": sum(1 for n in observed.world.occupants()
                                  if n.hotkey.startswith("joiner"))}


def main() -> None:
    """Print every figure docs/scenarios.md reports (the shipped scenarios' own lengths)."""
    import json

    figures = {
        "default": default_outcomes(2000),
        "weight_copying": {"commit_reveal_on": copier_ratio(True, 3000),
                           "commit_reveal_off": copier_ratio(False, 3000)},
        "model_theft": theft_outcomes(2000),
        "cabal_attack": [cabal_incentive(share) for share in (0.2, 0.4, 0.48, 0.52, 0.6, 0.8)],
        "sybil_flood": {"dedupe_on": sybil_outcomes(True, 3000),
                        "dedupe_off": sybil_outcomes(False, 3000)},
        "churn": churn_outcomes(3600),
    }
    print(json.dumps(figures, indent=1, default=float))


if __name__ == "__main__":
    main()
