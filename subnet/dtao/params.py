"""The network economy's parameters, subtensor names in natural units.

Defaults are subtensor main @ 14bc6f9f964b (spec 425) code defaults, or the live value where the
reference (``docs/dtao.md``, from the dTAO reference's section 8) marks a known
live one: ``tao_weight`` 0.18 (``migrate_rao``), ``subnet_moving_alpha`` 0.0003 (the live value
per latent-to/developer-docs PR #57; the code default is 0.000003).
"""

from __future__ import annotations

import dataclasses

from subnetsim.subnet.config import U16_MAX, choice, param
from subnetsim.subnet.dtao.shares import SHARE_RULES

__all__ = ["NetworkParams"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NetworkParams:
    """Network-wide dTAO parameters (one ``[network]`` table of a scenario)."""

    share_rule: str = choice("price", SHARE_RULES, "how TAO emission is shared across subnets")
    tao_weight: float = param(0.18, 0.0, 1.0, "TaoWeight: root stake's weight in subnets")
    subnet_moving_alpha: float = param(0.0003, 0.0, 1.0, "SubnetMovingAlpha of the EMA price")
    ema_price_halving_blocks: int = param(201_600, 0, None, "EMAPriceHalvingBlocks (slow start)")
    subnet_owner_cut: float = param(11_796 / U16_MAX, 0.0, 1.0, "SubnetOwnerCut")
    fee_rate: int = param(33, 0, 10_000, "swap FeeRate, u16 / 65535")
    pool_kind: str = choice("balancer", ("balancer", "constant_product"), "pool design")
    min_stake: float = param(0.002, 0.0, None, "DefaultMinStake, TAO")
    validator_take: float = param(11_796 / U16_MAX, 0.0, 11_796 / U16_MAX, "delegate take")
    emission_bar_quantile: float = param(0.61, 0.0, 1.0, "EmissionBarQuantile q of the "
                                         "price_gate rule ([POST] spec 440)")
    emission_gate_exponent: float = param(3.0, 0.0, None, "EmissionGateExponent h of the "
                                          "price_gate rule ([POST] spec 440)")
    flow_ema_factor: float = param(29_597_889_189_277 / 2**63, 0.0, 1.0,
                                   "FlowEmaSmoothingFactor (flow rules)")
    initial_issuance: float = param(0.0, 0.0, 21e6, "TotalIssuance at genesis beyond the "
                                    "scenario's balances, pools and stakes, TAO")
    # Subnet life cycle (coinbase/root.rs, migrations).
    network_min_lock_cost: float = param(1.0, 0.0, None, "NetworkMinLockCost, TAO")
    network_lock_reduction_interval: int = param(57_600, 1, None, "blocks, at 1 TAO per block")
    network_rate_limit: int = param(28_800, 0, None, "blocks between subnet registrations")
    network_immunity_period: int = param(864_000, 0, None, "blocks a new subnet is immune")
    subnet_limit: int = param(128, 1, 1024, "SubnetLimit")
    start_call_delay: int = param(0, 0, None, "StartCallDelay, blocks")
    max_epochs_per_block: int = param(2, 1, None, "MaxEpochsPerBlock (production): more due "
                                      "epochs wait a block")
    # Genesis of a simulated network (not chain parameters).
    root_stake_per_validator: float = param(0.0, 0.0, None, "root TAO each validator hotkey "
                                            "holds at genesis (its own coldkey's)")
    check_invariants_every: int = param(1, 0, None, "blocks between conservation checks "
                                        "(0: never; verify checks every checkpoint)")
