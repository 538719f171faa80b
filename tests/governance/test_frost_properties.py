"""Properties and negative cases of FROST signing, checked against independent oracles.

Oracles: the ``cryptography`` package's Ed25519 verifier for signatures, Python integers mod L
for Shamir and Lagrange arithmetic, raw libsodium calls for group facts (small order, subgroup).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import pickle
import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl import bindings as sodium

from subnetsim.governance import frost

L = 2**252 + 27742317777372353535851937790883648493
P = 2**255 - 19
BASE = sodium.crypto_scalarmult_ed25519_base_noclamp(bytes([1]) + bytes(31))
# The eight small-order encodings (order 1, 2, 4, 8) that must never be accepted.
SMALL_ORDER = [bytes.fromhex(x) for x in (
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
)]
HYPOTHESIS = settings(max_examples=25, deadline=None)


def randomness(seed: int) -> frost.RandomBytes:
    return random.Random(seed).randbytes


@functools.cache
def dealer(min_signers: int, max_signers: int, seed: int = 0):
    shares, public = frost.trusted_dealer_keygen(min_signers, max_signers,
                                                 random_bytes=randomness(seed))
    return {share.identifier: frost.verify_secret_share(share) for share in shares}, public


def signing_round(keys: dict[int, frost.KeyPackage], signers, message: bytes):
    """Round one and two for ``signers``; returns the package and the shares."""
    rounds = {i: frost.commit(keys[i]) for i in sorted(signers)}
    package = frost.SigningPackage(message=message,
                                   commitments=tuple(r[1] for r in rounds.values()))
    return package, [frost.sign(package, rounds[i][0], keys[i]) for i in package.identifiers]


def stock_verifies(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def as_int(scalar: bytes) -> int:
    return int.from_bytes(scalar, "little")


def add_one(scalar: bytes) -> bytes:
    return ((as_int(scalar) + 1) % L).to_bytes(32, "little")


# ------------------------------------------------------------------ signatures verify


@pytest.mark.parametrize("signers", list(itertools.combinations(range(1, 6), 3)))
def test_every_3_of_5_signer_set_produces_a_stock_ed25519_signature(signers) -> None:
    keys, public = dealer(3, 5)
    package, shares = signing_round(keys, signers, b"subnet-7|HALT|v1|42")
    signature = frost.aggregate(package, shares, public)
    assert stock_verifies(public.group_public_key, b"subnet-7|HALT|v1|42", signature)
    assert not stock_verifies(public.group_public_key, b"subnet-7|RESUME|v1|42", signature)


@HYPOTHESIS
@given(signers=st.sets(st.integers(1, 12), min_size=7), message=st.binary(max_size=64))
def test_any_7_or_more_of_12_sign(signers: set[int], message: bytes) -> None:
    keys, public = dealer(7, 12)
    package, shares = signing_round(keys, signers, message)
    signature = frost.aggregate(package, shares, public)
    assert stock_verifies(public.group_public_key, message, signature)
    assert frost.verify_signature(public.group_public_key, message, signature)


@HYPOTHESIS
@given(data=st.data(), max_signers=st.integers(1, 8), seed=st.integers(0, 2**32))
def test_random_thresholds_sign(data: st.DataObject, max_signers: int, seed: int) -> None:
    min_signers = data.draw(st.integers(1, max_signers))
    shares, public = frost.trusted_dealer_keygen(min_signers, max_signers,
                                                 random_bytes=randomness(seed))
    keys = {share.identifier: frost.verify_secret_share(share) for share in shares}
    signers = data.draw(st.sets(st.sampled_from(sorted(keys)), min_size=min_signers))
    package, signature_shares = signing_round(keys, signers, b"m")
    assert stock_verifies(public.group_public_key, b"m",
                          frost.aggregate(package, signature_shares, public))


# ------------------------------------------------------- Shamir and Lagrange vs integers


@HYPOTHESIS
@given(seed=st.integers(0, 2**32), data=st.data())
def test_shares_and_lagrange_match_integer_oracle(seed: int, data: st.DataObject) -> None:
    rng = random.Random(seed)
    polynomial = [rng.randrange(L) for _ in range(4)]
    shares = frost.split_secret(polynomial[0].to_bytes(32, "little"),
                                [a.to_bytes(32, "little") for a in polynomial[1:]], 9)
    for share in shares:
        assert as_int(share.signing_share) == sum(
            a * share.identifier**j for j, a in enumerate(polynomial)) % L
    signers = sorted(data.draw(st.sets(st.integers(1, 9), min_size=4)))
    secret = 0
    for i in signers:
        oracle = 1
        for j in signers:
            oracle = oracle * j * pow(j - i, -1, L) % L if j != i else oracle
        assert as_int(frost.derive_interpolating_value(signers, i)) == oracle
        secret = (secret + oracle * as_int(shares[i - 1].signing_share)) % L
    assert secret == polynomial[0]
    base = sodium.crypto_scalarmult_ed25519_base_noclamp(secret.to_bytes(32, "little"))
    assert base == shares[0].commitment[0]


# --------------------------------------------------------------------------- threshold


def test_fewer_than_threshold_cannot_sign() -> None:
    keys, public = dealer(3, 5)
    package, _ = signing_round(keys, [1, 2, 3], b"m")
    short_rounds = {i: frost.commit(keys[i]) for i in (2, 4)}
    short = frost.SigningPackage(message=b"m",
                                 commitments=tuple(r[1] for r in short_rounds.values()))
    with pytest.raises(frost.ProtocolError):
        frost.sign(short, short_rounds[2][0], keys[2])
    # Signers that ignore the threshold still cannot produce a valid signature.
    lowered = {i: dataclasses.replace(keys[i], min_signers=2) for i in (2, 4)}
    shares = [frost.sign(short, short_rounds[i][0], lowered[i]) for i in (2, 4)]
    lowered_public = dataclasses.replace(public, min_signers=2)
    for share in shares:  # each share is honest ...
        frost.verify_signature_share(share, short, lowered_public)
    signature = frost.combine_signature_shares(short, shares, public.group_public_key)
    assert not stock_verifies(public.group_public_key, b"m", signature)  # ... the result is not
    with pytest.raises(frost.ProtocolError):
        frost.aggregate(short, shares, public)
    with pytest.raises(frost.InvalidSignatureError):
        frost.aggregate(short, shares, lowered_public)


# ------------------------------------------------------------------------ cheater found


@HYPOTHESIS
@given(signers=st.sets(st.integers(1, 5), min_size=3),
       data=st.data())
def test_tampered_share_names_its_signer(signers: set[int], data: st.DataObject) -> None:
    keys, public = dealer(3, 5)
    cheaters = data.draw(st.sets(st.sampled_from(sorted(signers)), min_size=1, max_size=2))
    package, shares = signing_round(keys, signers, b"m")
    tampered = [dataclasses.replace(share, share=add_one(share.share))
                if share.identifier in cheaters else share for share in shares]
    with pytest.raises(frost.InvalidSignatureShareError) as caught:
        frost.aggregate(package, tampered, public)
    assert caught.value.identifiers == tuple(sorted(cheaters))
    assert caught.value.identifier == min(cheaters)
    for share in tampered:
        if share.identifier in cheaters:
            with pytest.raises(frost.InvalidSignatureShareError):
                frost.verify_signature_share(share, package, public)
        else:
            frost.verify_signature_share(share, package, public)


def test_signer_given_another_message_is_blamed() -> None:
    keys, public = dealer(3, 5)
    rounds = {i: frost.commit(keys[i]) for i in (1, 2, 3)}
    commitments = tuple(r[1] for r in rounds.values())
    honest = frost.SigningPackage(message=b"HALT", commitments=commitments)
    other = frost.SigningPackage(message=b"RESUME", commitments=commitments)
    shares = [frost.sign(other if i == 2 else honest, rounds[i][0], keys[i]) for i in (1, 2, 3)]
    with pytest.raises(frost.InvalidSignatureShareError) as caught:
        frost.aggregate(honest, shares, public)
    assert caught.value.identifiers == (2,)


# ------------------------------------------------------------------------------ nonces


def test_nonces_are_single_use() -> None:
    keys, _ = dealer(3, 5)
    rounds = {i: frost.commit(keys[i]) for i in (1, 2, 3)}
    package = frost.SigningPackage(message=b"m", commitments=tuple(r[1] for r in rounds.values()))
    nonces = rounds[1][0]
    frost.sign(package, nonces, keys[1])
    assert nonces.consumed
    again = frost.SigningPackage(message=b"other", commitments=package.commitments)
    with pytest.raises(frost.NonceReuseError):
        frost.sign(again, nonces, keys[1])
    with pytest.raises(frost.NonceReuseError):
        _ = nonces.hiding
    assert "consumed=True" in repr(nonces)


def test_nonces_cannot_be_copied_or_pickled() -> None:
    keys, _ = dealer(3, 5)
    nonces, _ = frost.commit(keys[1])
    for duplicate in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(frost.NonceReuseError):
            duplicate(nonces)


def test_key_material_survives_pickling() -> None:
    keys, public = dealer(3, 5)
    assert pickle.loads(pickle.dumps(public)) == public
    assert pickle.loads(pickle.dumps(keys[2])) == keys[2]


def test_rejected_package_does_not_spend_nonces() -> None:
    keys, public = dealer(3, 5)
    rounds = {i: frost.commit(keys[i]) for i in (1, 2, 3, 4)}
    without_me = frost.SigningPackage(message=b"m",
                                      commitments=tuple(rounds[i][1] for i in (2, 3, 4)))
    with pytest.raises(frost.ProtocolError):
        frost.sign(without_me, rounds[1][0], keys[1])
    swapped = dataclasses.replace(rounds[1][1], hiding=rounds[1][1].binding,
                                  binding=rounds[1][1].hiding)
    altered = frost.SigningPackage(message=b"m",
                                   commitments=(swapped, rounds[2][1], rounds[3][1]))
    with pytest.raises(frost.ProtocolError):
        frost.sign(altered, rounds[1][0], keys[1])
    assert not rounds[1][0].consumed
    package = frost.SigningPackage(message=b"m",
                                   commitments=tuple(rounds[i][1] for i in (1, 2, 3)))
    shares = [frost.sign(package, rounds[i][0], keys[i]) for i in (1, 2, 3)]
    assert stock_verifies(public.group_public_key, b"m", frost.aggregate(package, shares, public))


def test_nonces_are_hedged_with_the_secret_share() -> None:
    keys, _ = dealer(3, 5)
    fixed = bytes(32)
    first, _ = frost.commit(keys[1], random_bytes=lambda size: fixed)
    second, _ = frost.commit(keys[2], random_bytes=lambda size: fixed)
    assert first.hiding == first.binding  # same randomness, same share ...
    assert first.hiding != second.hiding  # ... but a different share gives a different nonce
    fresh_a, _ = frost.commit(keys[1])
    fresh_b, _ = frost.commit(keys[1])
    assert fresh_a.hiding != fresh_b.hiding


# ------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize("bad", [0, -1, L, L + 5, True, 1.0, "1"])
def test_invalid_identifiers_rejected(bad) -> None:
    with pytest.raises(frost.InvalidIdentifierError):
        frost.encode_identifier(bad)


def test_identifier_lists_must_be_distinct_and_sorted() -> None:
    assert frost.encode_identifier(L - 1) == (L - 1).to_bytes(32, "little")
    assert frost.encode_identifier(257) == bytes([1, 1]) + bytes(30)
    with pytest.raises(frost.InvalidIdentifierError, match="duplicate"):
        frost.check_identifiers([1, 2, 2])
    with pytest.raises(frost.InvalidIdentifierError, match="sorted"):
        frost.check_identifiers([1, 3, 2])
    with pytest.raises(frost.InvalidIdentifierError):
        frost.derive_interpolating_value([1, 2, 2], 1)
    with pytest.raises(frost.InvalidIdentifierError):
        frost.derive_interpolating_value([1, 2, 3], 4)


def test_signing_package_rejects_bad_lists() -> None:
    keys, _ = dealer(3, 5)
    commitments = {i: frost.commit(keys[i])[1] for i in (1, 2, 3)}
    for order in ([2, 1, 3], [1, 1, 3]):
        with pytest.raises(frost.InvalidIdentifierError):
            frost.SigningPackage(message=b"m", commitments=tuple(commitments[i] for i in order))
    with pytest.raises(frost.InvalidIdentifierError):
        frost.SigningCommitments(identifier=0, hiding=commitments[1].hiding,
                                 binding=commitments[1].binding)
    with pytest.raises(frost.ProtocolError):
        frost.SigningPackage(message=b"m", commitments=())


# ----------------------------------------------------------------------------- scalars


@pytest.mark.parametrize("value", [L, L + 1, 2**253, 2**256 - 1])
def test_non_canonical_scalars_rejected(value: int) -> None:
    encoded = value.to_bytes(32, "little")
    with pytest.raises(frost.InvalidScalarError):
        frost.deserialize_scalar(encoded)
    with pytest.raises(frost.InvalidScalarError):
        frost.SignatureShare(identifier=1, share=encoded)
    with pytest.raises(frost.InvalidScalarError):
        frost.scalar_from_int(value)


def test_scalar_length_and_edges() -> None:
    assert frost.deserialize_scalar((L - 1).to_bytes(32, "little")) == (L - 1).to_bytes(32,
                                                                                        "little")
    with pytest.raises(frost.InvalidScalarError):
        frost.deserialize_scalar(bytes(31))


def test_signature_with_non_canonical_z_is_rejected() -> None:
    keys, public = dealer(3, 5)
    package, shares = signing_round(keys, [1, 2, 3], b"m")
    signature = frost.aggregate(package, shares, public)
    malleated = signature[:32] + (as_int(signature[32:]) + L).to_bytes(32, "little")  # z + L
    assert not frost.verify_signature(public.group_public_key, b"m", malleated)
    assert not stock_verifies(public.group_public_key, b"m", malleated)


# ---------------------------------------------------------------------------- elements


def times_eight(point: bytes) -> bytes:
    for _ in range(3):
        point = sodium.crypto_core_ed25519_add(point, point)
    return point


@pytest.mark.parametrize("point", SMALL_ORDER)
def test_identity_and_small_order_points_rejected(point: bytes) -> None:
    assert times_eight(point) == frost.IDENTITY  # oracle: it really has small order
    with pytest.raises(frost.InvalidElementError):
        frost.deserialize_element(point)
    with pytest.raises(frost.InvalidElementError):
        frost.SigningCommitments(identifier=1, hiding=BASE, binding=point)
    keys, public = dealer(3, 5)
    package, shares = signing_round(keys, [1, 2, 3], b"m")
    signature = frost.aggregate(package, shares, public)
    assert not frost.verify_signature(point, b"m", signature)
    assert not frost.verify_signature(public.group_public_key, b"m", point + signature[32:])


@pytest.mark.parametrize("torsion", SMALL_ORDER[1:])
def test_mixed_order_points_rejected(torsion: bytes) -> None:
    mixed = sodium.crypto_core_ed25519_add(BASE, torsion)  # libsodium add accepts this
    assert mixed != BASE and times_eight(mixed) == times_eight(BASE)  # oracle: B + torsion
    with pytest.raises(frost.InvalidElementError):
        frost.deserialize_element(mixed)
    with pytest.raises(frost.InvalidElementError):
        frost.PublicKeyPackage(verifying_shares={1: BASE}, group_public_key=mixed, min_signers=1)


@pytest.mark.parametrize("encoding", [
    (2).to_bytes(32, "little"),  # y = 2 is not on the curve
    P.to_bytes(32, "little"),  # y = p: non-canonical encoding of y = 0
    (P + 1).to_bytes(32, "little"),  # y = p + 1: non-canonical identity
    bytes(31),  # too short
])
def test_off_curve_and_non_canonical_encodings_rejected(encoding: bytes) -> None:
    with pytest.raises(frost.InvalidElementError):
        frost.deserialize_element(encoding)


def test_group_commitment_identity_is_refused() -> None:
    negated = sodium.crypto_core_ed25519_sub(frost.IDENTITY, BASE)
    first = frost.SigningCommitments(identifier=1, hiding=BASE, binding=BASE)
    second = frost.SigningCommitments(identifier=2, hiding=negated, binding=negated)
    package = frost.SigningPackage(message=b"m", commitments=(first, second))
    one = frost.ONE_SCALAR
    with pytest.raises(frost.InvalidElementError):
        frost.compute_group_commitment(package, {1: one, 2: one})


# ------------------------------------------------------------------------ key material


def test_dealer_rejects_bad_thresholds_and_bad_shares() -> None:
    for min_signers, max_signers in ((0, 3), (4, 3)):
        with pytest.raises(frost.ProtocolError):
            frost.trusted_dealer_keygen(min_signers, max_signers)
    shares, _ = frost.trusted_dealer_keygen(2, 3, random_bytes=randomness(5))
    forged = dataclasses.replace(shares[1], signing_share=add_one(shares[1].signing_share))
    with pytest.raises(frost.InvalidSecretShareError) as caught:
        frost.verify_secret_share(forged)
    assert caught.value.identifier == 2
    key = frost.verify_secret_share(shares[0])
    with pytest.raises(frost.ProtocolError):
        dataclasses.replace(key, signing_share=shares[1].signing_share)


def test_errors_belong_to_the_project_hierarchy() -> None:
    from subnetsim.subnet.errors import SubnetSimError

    assert issubclass(frost.InvalidSignatureShareError, frost.CulpritError)
    assert issubclass(frost.FrostError, SubnetSimError)
