"""A recorded network run read back: its state at the head, and btcli's subnet table.

``network_at_head`` restores the run's latest checkpoint (proven against the stored chain, as a
resume does) and replays the blocks after it without recording; the replayed head must hash to
the stored head, so the table printed is the recorded run's, not a recomputation that drifted.
"""

from __future__ import annotations

from typing import Any

from subnetsim.audit import verify_checkpoint
from subnetsim.commands import advance
from subnetsim.network_world import NetworkWorld, SubnetRow, decode_network_state
from subnetsim.subnet.dtao.halving import TOTAL_SUPPLY_RAO
from subnetsim.subnet.dtao.invariants import check_invariants
from subnetsim.subnet.dtao.network import held_alpha
from subnetsim.subnet.dtao.scenario import NetworkScenario
from subnetsim.subnet.errors import ConfigError, StoreError, VerificationError
from subnetsim.subnet.store.state_codec import decode_state
from subnetsim.world import CHECKPOINT_TYPES

__all__ = ["check_checkpoint_invariants", "network_at_head", "subnet_table"]


def check_checkpoint_invariants(store: Any, run_id: int) -> int:
    """The network's conservation laws (``subnet/dtao/invariants.py``, the check the run made
    every block) on every stored checkpoint; VerificationError naming the first that fails.
    Returns how many checkpoints were checked."""
    checked = 0
    for number, blob in store.checkpoints(run_id):
        data = decode_network_state(blob)
        held = {}
        for netuid, subnet_blob in enumerate(data["subnets"], start=1):
            subnet = decode_state(subnet_blob, CHECKPOINT_TYPES)
            held[netuid] = held_alpha(subnet["ledger"], subnet["pending"])
        problems = check_invariants(data["economy"], held)
        if problems:
            raise VerificationError(f"checkpoint at block {number}: {problems[0]}")
        checked += 1
    return checked


def network_at_head(store: Any, run_id: int, scenario: Any, seed: int) -> NetworkWorld:
    """The recorded network's world at its stored head; StoreError if it does not replay to it."""
    from subnetsim.run import build_any_world

    if not isinstance(scenario, NetworkScenario):
        raise ConfigError("run", run_id, "is a single-subnet run (use `subnetsim metagraph`)")
    head = store.head(run_id)
    if head is None:
        raise StoreError(f"run {run_id}: no blocks recorded")
    checkpoint = None
    for number, blob in store.checkpoints(run_id):
        if number <= head.number:
            checkpoint = (number, blob)
    if checkpoint is None:
        world = build_any_world(scenario, seed)
        assert isinstance(world, NetworkWorld)
    else:
        block = verify_checkpoint(store, run_id, *checkpoint)
        world = NetworkWorld.from_state(scenario, seed, checkpoint[1], block.hash)
        world.start()
    advance(world, head.number)
    if world.network.head_hash != head.hash:
        raise StoreError(f"run {run_id}: replaying to block {head.number} does not reproduce "
                         "its stored hash (a different code version, or an altered store)")
    return world


def subnet_table(rows: tuple[SubnetRow, ...], blocks_since_epoch: dict[int, int]
                 ) -> tuple[list[str], list[list[object]]]:
    """``btcli subnets list``'s columns, rows by market cap. EMISSION is the TAO injected into
    the pool this block (``tao_in_emission``, as btcli shows it: chain buys excluded)."""
    headers = ["NETUID", "NAME", "PRICE (τ/α)", "MARKET CAP", "EMISSION (τ)", "P (τ_in, α_in)",
               "STAKE (α_out)", "SUPPLY", "TEMPO"]
    supply_cap = TOTAL_SUPPLY_RAO / 1e9
    ordered = sorted(rows, key=lambda r: (-(r.alpha_in + r.alpha_out) * r.price, r.netuid))
    table = [[row.netuid, row.name, f"{row.price:.6f}",
              f"{(row.alpha_in + row.alpha_out) * row.price:,.2f}",
              f"{row.tao_in_emission:.6f}", f"{row.tao_in:,.2f}, {row.alpha_in:,.2f}",
              f"{row.alpha_out:,.2f}",
              f"{row.alpha_in + row.alpha_out:,.2f}/{supply_cap / 1e6:.0f}M",
              f"{blocks_since_epoch.get(row.netuid, 0)}/{row.tempo}"] for row in ordered]
    return headers, table
