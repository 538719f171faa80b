"""The network's state root: what each network block commits to.

Every block: the economy (each subnet's pool, AlphaOut, protocol alpha, EMA price, pending root
dividends, MinerBurned and first emission block; issuance, recycled and burned TAO and the
emission gate bar; every root stake and free balance) and each subnet chain's stakes and
pending pools; a block that commits to a checkpoint: every subnet's full ledger root too.

The amounts are hashed as float64 columns (exact ``repr`` text in rao worlds, whose integers may
pass 2^53), one column per field over the subnets in netuid order, so a 128-subnet block costs a
few array copies instead of a thousand ``repr`` calls. Root stakes and balances are hashed in
their dicts' order, which is the order they were first written in: deterministic for a
(scenario, seed), and kept by a checkpoint (``state_codec`` stores a dict's items in order).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from subnetsim.subnet.chain import Chain
from subnetsim.subnet.dtao.economy import Economy
from subnetsim.subnet.records import digest
from subnetsim.subnet.state_root import BytesDigest

__all__ = ["StakeDigests", "network_state_root"]


def network_state_root(economy: Economy, chains: dict[int, Chain], full: bool,
                       stake_digests: StakeDigests | None = None) -> str:
    """The state root of a network block (``full``: with every subnet's full ledger root).
    ``stake_digests`` keeps each subnet's stake digest between blocks (a network passes its
    own; stakes change only at epochs and stake calls)."""
    parts: list[bytes | str] = [_economy_bytes(economy)]
    if full:
        parts += [chain.ledger.state_root() for chain in chains.values()]
    else:
        parts.append(_light_roots(chains, stake_digests or StakeDigests()))
    return digest("network", *parts)


class StakeDigests:
    """Each subnet's stake digest, recomputed only when its stake bytes differ from the bytes
    it was taken of (a byte comparison: nothing is trusted that was not compared)."""

    def __init__(self) -> None:
        self._taken: dict[int, BytesDigest] = {}

    def of(self, key: int, stake: np.ndarray) -> bytes:
        return self._taken.setdefault(key, BytesDigest()).of(stake.tobytes())


def _economy_bytes(economy: Economy) -> bytes:
    subnets = list(economy.subnets.items())
    started = np.array([-1 if s.first_emission_block is None else s.first_emission_block
                        for _, s in subnets], dtype=np.int64)
    columns = [np.array([n for n, _ in subnets], dtype=np.int64).tobytes(), started.tobytes()]
    rows = [(s.pool.tao, s.pool.alpha, s.pool.weight_quote, s.alpha_out, s.protocol_alpha,
             s.moving_price, s.pending_root, s.miner_burned) for _, s in subnets]
    columns.append(_amounts(rows, economy.exact))
    columns.append(_amounts([(economy.issuance, economy.recycled_tao, economy.burned_tao,
                              economy.emission_gate_bar)],
                            economy.exact))
    for accounts in (economy.root_stake, economy.balances):
        columns.append(repr(list(accounts)).encode())
        columns.append(_amounts([tuple(accounts.values())], economy.exact))
    hasher = hashlib.blake2b(digest_size=32)
    for column in columns:
        hasher.update(len(column).to_bytes(8, "little"))
        hasher.update(column)
    return hasher.digest()


def _amounts(rows: list[tuple[Any, ...]], exact: bool) -> bytes:
    """Amounts as float64 bytes; their ``repr`` text in exact (integer rao) worlds."""
    if exact:
        return repr(rows).encode()
    return np.array(rows, dtype=float).tobytes()


def _light_roots(chains: dict[int, Chain], stake_digests: StakeDigests) -> bytes:
    """Every subnet's per-block fingerprint: its stakes (digest), pending pools and epoch
    count."""
    books = np.array([(chain.pending.owner, chain.pending.miners, chain.pending.validators,
                       chain.ledger.epoch_index) for chain in chains.values()], dtype=float)
    stakes = b"".join(stake_digests.of(netuid, chain.ledger.stake)
                      for netuid, chain in chains.items())
    return stakes + books.tobytes()
