"""Distributed key generation, refresh and repair: the group key works, cheaters are named.

Signatures are checked with the ``cryptography`` package's Ed25519 verifier; the group secret
is reconstructed with a Python-integer Lagrange oracle.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl import bindings as sodium

from subnetsim.governance import frost
from subnetsim.governance.frost import dkg

L = 2**252 + 27742317777372353535851937790883648493


def randomness(seed: int) -> frost.RandomBytes:
    return random.Random(seed).randbytes


def run_part1(identifiers, min_signers, seed, *, refresh=False):
    start = dkg.refresh_part1 if refresh else dkg.part1
    return {i: start(i, min_signers, len(identifiers), random_bytes=randomness(seed * 1000 + i))
            for i in identifiers}


def others(packages: dict, identifier: int) -> list:
    return [package for other, package in packages.items() if other != identifier]


def run_part2(firsts, *, refresh=False):
    step = dkg.refresh_part2 if refresh else dkg.part2
    broadcast = {i: package for i, (_, package) in firsts.items()}
    seconds, mailbox = {}, {}
    for i, (secret, _) in firsts.items():
        seconds[i], sent = step(secret, others(broadcast, i))
        mailbox.update({(p.sender, p.receiver): p for p in sent})
    return broadcast, seconds, mailbox


def inbox(mailbox: dict, receiver: int) -> list:
    return [package for (_, to), package in mailbox.items() if to == receiver]


def run_dkg(identifiers, min_signers, seed=0):
    broadcast, seconds, mailbox = run_part2(run_part1(identifiers, min_signers, seed))
    return {i: dkg.part3(seconds[i], others(broadcast, i), inbox(mailbox, i))
            for i in identifiers}


def run_refresh(results, identifiers, min_signers, seed=1):
    broadcast, seconds, mailbox = run_part2(
        run_part1(identifiers, min_signers, seed, refresh=True), refresh=True)
    return {i: dkg.refresh_part3(seconds[i], others(broadcast, i), inbox(mailbox, i),
                                 results[i][0], results[i][1]) for i in identifiers}


def signature_from(keys: dict[int, frost.KeyPackage], public: frost.PublicKeyPackage,
                   message: bytes) -> bytes:
    rounds = {i: frost.commit(keys[i]) for i in sorted(keys)}
    package = frost.SigningPackage(message=message,
                                   commitments=tuple(r[1] for r in rounds.values()))
    shares = [frost.sign(package, rounds[i][0], keys[i]) for i in package.identifiers]
    return frost.combine_signature_shares(package, shares, public.group_public_key)


def stock_verifies(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def reconstructed_public_key(keys: list[frost.KeyPackage]) -> bytes:
    """Integer Lagrange interpolation at 0, then s·B by raw libsodium (the oracle)."""
    secret = 0
    for key in keys:
        coefficient = 1
        for other in keys:
            if other.identifier != key.identifier:
                coefficient = coefficient * other.identifier * pow(
                    other.identifier - key.identifier, -1, L) % L
        secret = (secret + coefficient * int.from_bytes(key.signing_share, "little")) % L
    return sodium.crypto_scalarmult_ed25519_base_noclamp(secret.to_bytes(32, "little"))


# -------------------------------------------------------------------------------- DKG


@pytest.mark.parametrize(("identifiers", "min_signers"), [
    ([1, 2], 2), ([1, 2, 3], 2), ([1, 2, 3, 4, 5], 3), ([5, 9, 130, 256, 257], 4),
])
def test_dkg_group_key_signs_and_everyone_agrees(identifiers, min_signers) -> None:
    results = run_dkg(identifiers, min_signers)
    public = results[identifiers[0]][1]
    assert all(other == public for _, other in results.values())
    keys = {i: results[i][0] for i in identifiers}
    signers = {i: keys[i] for i in identifiers[-min_signers:]}
    signature = signature_from(signers, public, b"HALT")
    assert stock_verifies(public.group_public_key, b"HALT", signature)
    assert reconstructed_public_key(list(signers.values())) == public.group_public_key
    fewer = list(signers.values())[1:]
    if fewer:
        assert reconstructed_public_key(fewer) != public.group_public_key


def test_dkg_7_of_12_signs() -> None:
    identifiers = list(range(1, 13))
    results = run_dkg(identifiers, 7, seed=3)
    public = results[1][1]
    keys = {i: results[i][0] for i in (2, 3, 5, 7, 11, 12, 8)}
    rounds = {i: frost.commit(keys[i]) for i in sorted(keys)}
    package = frost.SigningPackage(message=b"m", commitments=tuple(r[1] for r in rounds.values()))
    shares = [frost.sign(package, rounds[i][0], keys[i]) for i in package.identifiers]
    assert stock_verifies(public.group_public_key, b"m", frost.aggregate(package, shares, public))


def test_bad_proof_of_knowledge_names_the_sender() -> None:
    firsts = run_part1([1, 2, 3, 4], 3, seed=4)
    broadcast = {i: package for i, (_, package) in firsts.items()}
    proof = broadcast[3].proof_of_knowledge
    broadcast[3] = dataclasses.replace(
        broadcast[3], proof_of_knowledge=proof[:32] + frost.add_scalars(proof[32:],
                                                                       frost.ONE_SCALAR))
    # Rogue key: participant 4 claims participant 2's constant term with its own proof.
    broadcast[4] = dataclasses.replace(
        broadcast[4], commitment=(broadcast[2].commitment[0], *broadcast[4].commitment[1:]))
    with pytest.raises(frost.InvalidProofOfKnowledgeError) as caught:
        dkg.part2(firsts[1][0], others(broadcast, 1))
    assert caught.value.identifier == 3
    with pytest.raises(frost.InvalidProofOfKnowledgeError) as caught:
        dkg.part2(firsts[1][0], [broadcast[2], broadcast[4]] + [firsts[3][1]])
    assert caught.value.identifier == 4
    unproven = dataclasses.replace(firsts[2][1], proof_of_knowledge=None)
    with pytest.raises(frost.InvalidProofOfKnowledgeError) as caught:
        dkg.part2(firsts[1][0], [unproven, firsts[3][1], firsts[4][1]])
    assert caught.value.identifier == 2


def test_bad_share_names_the_sender() -> None:
    broadcast, seconds, mailbox = run_part2(run_part1([1, 2, 3, 4], 3, seed=5))
    bad = mailbox[(4, 2)]
    mailbox[(4, 2)] = dataclasses.replace(
        bad, signing_share=frost.add_scalars(bad.signing_share, frost.ONE_SCALAR))
    with pytest.raises(frost.InvalidSecretShareError) as caught:
        dkg.part3(seconds[2], others(broadcast, 2), inbox(mailbox, 2))
    assert caught.value.identifiers == (4,)
    key, public = dkg.part3(seconds[1], others(broadcast, 1), inbox(mailbox, 1))
    assert public.verifying_shares[1] == key.verifying_share


def test_dkg_bookkeeping() -> None:
    firsts = run_part1([1, 2, 3], 2, seed=6)
    broadcast = {i: package for i, (_, package) in firsts.items()}
    secret = firsts[1][0]
    with pytest.raises(frost.ProtocolError):
        dkg.part2(secret, [broadcast[2]])  # missing a participant
    with pytest.raises(frost.ProtocolError):
        dkg.part2(secret, [broadcast[1], broadcast[2], broadcast[3]])  # own package included
    with pytest.raises(frost.InvalidIdentifierError):
        dkg.part2(secret, [broadcast[2], broadcast[2]])
    _, other_threshold = dkg.part1(3, 3, 3, random_bytes=randomness(7))
    with pytest.raises(frost.InvalidCommitmentError) as caught:
        dkg.part2(secret, [broadcast[2], other_threshold])
    assert caught.value.identifier == 3
    with pytest.raises(frost.ProtocolError):
        dkg.part1(1, 4, 3)
    broadcast, seconds, mailbox = run_part2(firsts)
    with pytest.raises(frost.ProtocolError):
        dkg.part3(seconds[1], others(broadcast, 1), [mailbox[(2, 1)]])  # share from 3 missing
    with pytest.raises(frost.ProtocolError):
        dkg.part3(seconds[1], others(broadcast, 1), [mailbox[(2, 1)], mailbox[(2, 3)]])


# ---------------------------------------------------------------------------- refresh


def test_refresh_keeps_group_key_and_retires_old_shares() -> None:
    identifiers = [1, 2, 3, 4, 5]
    old = run_dkg(identifiers, 3, seed=8)
    new = run_refresh(old, identifiers, 3)
    old_public, new_public = old[1][1], new[1][1]
    assert new_public.group_public_key == old_public.group_public_key
    for i in identifiers:
        assert new[i][0].signing_share != old[i][0].signing_share
        assert new_public.verifying_shares[i] != old_public.verifying_shares[i]
        assert new[i][1] == new_public
    fresh = {i: new[i][0] for i in (1, 3, 5)}
    assert stock_verifies(new_public.group_public_key, b"m",
                          signature_from(fresh, new_public, b"m"))
    mixed = {1: new[1][0], 3: new[3][0], 5: old[5][0]}
    assert not stock_verifies(new_public.group_public_key, b"m",
                              signature_from(mixed, new_public, b"m"))
    rounds = {i: frost.commit(mixed[i]) for i in (1, 3, 5)}
    package = frost.SigningPackage(message=b"m", commitments=tuple(r[1] for r in rounds.values()))
    shares = [frost.sign(package, rounds[i][0], mixed[i]) for i in (1, 3, 5)]
    with pytest.raises(frost.InvalidSignatureShareError) as caught:
        frost.aggregate(package, shares, new_public)
    assert caught.value.identifiers == (5,)


def test_refresh_without_a_member_removes_it() -> None:
    old = run_dkg([1, 2, 3, 4, 5], 3, seed=9)
    new = run_refresh(old, [1, 2, 3, 4], 3)
    public = new[1][1]
    assert sorted(public.verifying_shares) == [1, 2, 3, 4]
    assert public.group_public_key == old[1][1].group_public_key
    assert stock_verifies(public.group_public_key, b"m",
                          signature_from({i: new[i][0] for i in (2, 3, 4)}, public, b"m"))
    removed_with_new = {2: new[2][0], 3: new[3][0], 5: old[5][0]}
    assert not stock_verifies(public.group_public_key, b"m",
                              signature_from(removed_with_new, public, b"m"))


def test_refresh_rejects_a_non_zero_constant_term_and_a_new_threshold() -> None:
    firsts = run_part1([1, 2, 3], 2, seed=10, refresh=True)
    _, rogue = dkg.part1(2, 2, 3, random_bytes=randomness(11))  # a real secret, would change PK
    with pytest.raises(frost.InvalidCommitmentError) as caught:
        dkg.refresh_part2(firsts[1][0], [rogue, firsts[3][1]])
    assert caught.value.identifier == 2
    with pytest.raises(frost.ProtocolError):
        dkg.refresh_part2(run_part1([1, 2, 3], 2, seed=12)[1][0],
                          [firsts[2][1], firsts[3][1]])  # own polynomial not zero at 0
    old = run_dkg([1, 2, 3], 2, seed=13)
    with pytest.raises(frost.ProtocolError):
        run_refresh(old, [1, 2, 3], 3)


# ----------------------------------------------------------------------------- repair


def test_repair_recovers_a_lost_share() -> None:
    results = run_dkg([1, 2, 3, 4, 5], 3, seed=14)
    helpers, lost = [1, 3, 4], 2
    deltas = {h: dkg.repair_deltas(helpers, results[h][0], lost, random_bytes=randomness(h))
              for h in helpers}
    sigmas = [dkg.repair_sigma([deltas[h][j] for h in helpers]) for j in helpers]
    recovered = dkg.repair_share(sigmas)
    assert recovered == results[lost][0].signing_share
    public = results[1][1]
    key = frost.KeyPackage(identifier=lost, signing_share=recovered,
                           verifying_share=public.verifying_shares[lost],
                           group_public_key=public.group_public_key, min_signers=3)
    assert key == results[lost][0]
    with pytest.raises(frost.ProtocolError):
        dkg.repair_deltas([1, 3], results[1][0], lost)
    with pytest.raises(frost.ProtocolError):
        dkg.repair_deltas([1, 2, 3], results[1][0], lost)
