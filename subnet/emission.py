"""Pure emission arithmetic: the per-block split and the epoch's payout.

Per block (subtensor ``run_coinbase.rs : emit_to_subnets``): the subnet owner takes
``subnet_owner_cut``; of the rest, half is pending for miners and half for validators. At the
epoch the pending pools are paid by the epoch's server and validator shares; when no miner has
incentive, validators also receive the miners' pool (``distribute_emission``). Dividends pass
the validator's take to its owner and the rest to everyone staked on it, pro rata.

As on chain (``run_coinbase.rs : distribute_dividends_and_incentives``): the owner cut is staked
to the subnet owner's hotkey; incentive earned by the owner's hotkey is not paid but burned
(or recycled: the alpha leaves circulation either way); emission nobody can be paid (no
incentive and no dividends) is lost, not carried to the next epoch.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from subnetsim.subnet.config import param

RAO_PER_TAO = 1_000_000_000

__all__ = ["EmissionRules", "EpochPayout", "PendingEmission", "block_split", "block_split_exact",
           "settle_epoch", "split_dividend"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EmissionRules:
    """How much TAO a block mints for the subnet and how it is split."""

    block_emission: float = param(1.0, 0.0, None, "TAO minted per block for the subnet")
    miner_share: float = param(0.5, 0.0, 1.0, "miners' share of what the owner cut leaves")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PendingEmission:
    """Emission accrued since the last epoch, TAO."""

    owner: float = 0.0
    miners: float = 0.0
    validators: float = 0.0

    def plus(self, other: PendingEmission) -> PendingEmission:
        """Both amounts added."""
        return PendingEmission(owner=self.owner + other.owner, miners=self.miners + other.miners,
                               validators=self.validators + other.validators)

    @property
    def total(self) -> float:
        """All pending TAO."""
        return self.owner + self.miners + self.validators


def block_split(rules: EmissionRules, owner_cut: float) -> PendingEmission:
    """One block's emission split into owner, miner and validator parts."""
    owner = rules.block_emission * owner_cut
    rest = rules.block_emission - owner
    return PendingEmission(owner=owner, miners=rest * rules.miner_share,
                           validators=rest * (1 - rules.miner_share))


def block_split_exact(rules: EmissionRules, owner_cut: float) -> PendingEmission:
    """``block_split`` in the chain's U96F32 arithmetic (``run_coinbase.rs : emit_to_subnets``):
    the block's emission in rao, the owner cut u16/65535 (``get_float_subnet_owner_cut``), the
    miners' half of the rest, each pending amount floored to rao (``tou64``). TAO out."""
    emission = round(rules.block_emission * RAO_PER_TAO)
    cut_bits = (round(owner_cut * 65535) << 32) // 65535
    owner_bits = emission * cut_bits
    rest_bits = (emission << 32) - owner_bits
    server_bits = (rest_bits * round(rules.miner_share * (1 << 32))) >> 32
    validator_bits = rest_bits - server_bits
    return PendingEmission(owner=(owner_bits >> 32) / RAO_PER_TAO,
                           miners=(server_bits >> 32) / RAO_PER_TAO,
                           validators=(validator_bits >> 32) / RAO_PER_TAO)


def _split_pools(
    pending: PendingEmission, server_share: np.ndarray, validator_share: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """TAO per uid for miners (incentive) and validators (dividends) at an epoch.

    Args:
        pending: pools accrued since the last epoch.
        server_share: (n,) the epoch's normalised server emission (sums to 1 or 0).
        validator_share: (n,) the epoch's normalised validator emission.
    """
    miner_total = server_share.sum()
    validator_total = validator_share.sum()
    validator_pool = pending.validators
    miners = np.zeros_like(server_share)
    if miner_total > 0:
        miners = pending.miners * server_share / miner_total
    else:
        validator_pool += pending.miners  # no incentive: validators take the miners' pool
    validators = np.zeros_like(validator_share)
    if validator_total > 0:
        validators = validator_pool * validator_share / validator_total
    return miners, validators


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EpochPayout:
    """Where an epoch's pending emission goes, TAO.

    Attributes:
        incentive_tao: (n,) paid to each uid as a miner (0 for the owner's hotkey).
        dividends_tao: (n,) paid to each uid as a validator (before its take is split).
        owner_tao: the owner cut, staked to the owner's hotkey (a free balance without one).
        carried: emission still pending after the epoch (the chain drains every pool: empty).
        recycled: withheld owner incentive plus what nobody could be paid; it leaves supply.
    """

    incentive_tao: np.ndarray
    dividends_tao: np.ndarray
    owner_tao: float
    carried: PendingEmission
    recycled: float = 0.0

    def stake_credit(self, owner_uid: int | None) -> np.ndarray:
        """(n,) stake each uid gains from this payout (the owner cut on the owner's uid)."""
        credit = self.incentive_tao + self.dividends_tao
        if owner_uid is not None:
            credit = credit.copy()
            credit[owner_uid] += self.owner_tao
        return credit


def settle_epoch(pending: PendingEmission, server_share: np.ndarray,
                 validator_share: np.ndarray, owner_uid: int | None = None) -> EpochPayout:
    """The epoch's payout of ``pending``: the one rule the chain applies and that ``verify`` and
    the sweep fast path recompute.

    Args:
        pending: pools accrued since the last epoch.
        server_share: (n,) the epoch's normalised server emission (sums to 1 or 0).
        validator_share: (n,) the epoch's normalised validator emission.
        owner_uid: the subnet owner's hotkey uid, whose incentive is withheld, or None.
    """
    miners, validators = _split_pools(pending, server_share, validator_share)
    withheld = 0.0
    if owner_uid is not None:
        withheld = float(miners[owner_uid])
        miners = miners.copy()
        miners[owner_uid] = 0.0
    # The chain drains every pool at the epoch: what nobody can be paid is lost.
    unpaid = pending.miners + pending.validators - miners.sum() - validators.sum() - withheld
    recycled = withheld + (unpaid if unpaid > 1e-9 else 0.0)
    return EpochPayout(incentive_tao=miners, dividends_tao=validators, owner_tao=pending.owner,
                       carried=PendingEmission(), recycled=recycled)


def split_dividend(amount: float, owner_stakes: dict[str, float], validator_coldkey: str,
                   take: float) -> dict[str, float]:
    """A validator's dividend per coldkey: its take to the validator, the rest pro rata."""
    total = sum(owner_stakes.values())
    if total <= 0:
        return {validator_coldkey: amount}
    shares = {coldkey: amount * (1 - take) * stake / total
              for coldkey, stake in owner_stakes.items()}
    shares[validator_coldkey] = shares.get(validator_coldkey, 0.0) + amount * take
    return shares
