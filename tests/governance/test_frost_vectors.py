"""Conformance: every FROST(Ed25519, SHA-512) vector in tests/golden reproduces byte for byte.

Vectors: RFC 9591 App. E.1, the Zcash Foundation signing vectors (same keys, other nonce
randomness, and the big-identifier set 129/256/257), the ZF DKG vector, the ZF repair sums and
the ZF invalid element. Every expected value is read from the golden file.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl import bindings as sodium

from subnetsim.governance import frost
from subnetsim.governance.frost import dkg

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "frost_ed25519.json"
VECTORS = json.loads(GOLDEN.read_text())
SIGNING_VECTORS = ["rfc9591_e1", "zf_vectors", "zf_vectors_big_identifier"]
h = bytes.fromhex


def injected(*chunks: bytes) -> frost.RandomBytes:
    """A randomness source that replays the vector's random bytes in order."""
    remaining = list(chunks)

    def draw(size: int) -> bytes:
        chunk = remaining.pop(0)
        assert len(chunk) == size
        return chunk

    return draw


@dataclass(frozen=True, slots=True, kw_only=True)
class Replay:
    """Everything computed while replaying one signing vector through the public API."""

    shares: dict[int, frost.SecretShare]
    public: frost.PublicKeyPackage
    nonces: dict[int, tuple[bytes, bytes]]
    commitments: dict[int, frost.SigningCommitments]
    package: frost.SigningPackage
    binding_inputs: dict[int, bytes]
    binding_factors: dict[int, bytes]
    signature_shares: dict[int, frost.SignatureShare]
    signature: bytes


@functools.cache
def replay(name: str) -> Replay:
    vector = VECTORS[name]
    inputs = vector["inputs"]
    max_signers = int(vector["config"]["MAX_PARTICIPANTS"])
    coefficients = [h(c) for c in inputs["share_polynomial_coefficients"]]
    shares = frost.split_secret(h(inputs["group_secret_key"]), coefficients, max_signers)
    public = frost.derive_public_key_package(shares[0].commitment, range(1, max_signers + 1))
    keys = {share.identifier: frost.verify_secret_share(share) for share in shares}
    nonces, commitments, peeked = {}, {}, {}
    for output in vector["round_one_outputs"]:
        identifier = output["identifier"]
        randomness = injected(h(output["hiding_nonce_randomness"]),
                              h(output["binding_nonce_randomness"]))
        nonces[identifier], commitments[identifier] = frost.commit(keys[identifier],
                                                                   random_bytes=randomness)
        peeked[identifier] = (nonces[identifier].hiding, nonces[identifier].binding)
    package = frost.SigningPackage(message=h(inputs["message"]),
                                   commitments=tuple(commitments.values()))
    signature_shares = {i: frost.sign(package, nonces[i], keys[i]) for i in package.identifiers}
    return Replay(
        shares={share.identifier: share for share in shares}, public=public, nonces=peeked,
        commitments=commitments, package=package,
        binding_inputs=frost.compute_binding_factor_inputs(public.group_public_key, package),
        binding_factors=frost.compute_binding_factors(public.group_public_key, package),
        signature_shares=signature_shares,
        signature=frost.aggregate(package, signature_shares.values(), public))


@pytest.mark.parametrize("name", SIGNING_VECTORS)
def test_dealer_shares_and_group_key(name: str) -> None:
    vector, result = VECTORS[name], replay(name)
    assert result.public.group_public_key.hex() == vector["inputs"]["group_public_key"]
    for expected in vector["inputs"]["participant_shares"]:
        share = result.shares[expected["identifier"]]
        assert share.signing_share.hex() == expected["participant_share"]


@pytest.mark.parametrize("name", SIGNING_VECTORS)
def test_vss_commitment_and_verifying_shares(name: str) -> None:
    derived, result = VECTORS[name]["derived_intermediates"], replay(name)
    assert [c.hex() for c in result.shares[1].commitment] == derived["vss_commitment"]
    for identifier, expected in derived["participant_public_keys_signers"].items():
        assert result.public.verifying_shares[int(identifier)].hex() == expected


@pytest.mark.parametrize("name", SIGNING_VECTORS)
def test_round_one_nonces_and_commitments(name: str) -> None:
    result = replay(name)
    for expected in VECTORS[name]["round_one_outputs"]:
        identifier = expected["identifier"]
        hiding, binding = result.nonces[identifier]
        assert hiding.hex() == expected["hiding_nonce"]
        assert binding.hex() == expected["binding_nonce"]
        commitments = result.commitments[identifier]
        assert commitments.hiding.hex() == expected["hiding_nonce_commitment"]
        assert commitments.binding.hex() == expected["binding_nonce_commitment"]


@pytest.mark.parametrize("name", SIGNING_VECTORS)
def test_binding_factor_inputs_and_factors(name: str) -> None:
    result = replay(name)
    for expected in VECTORS[name]["round_one_outputs"]:
        identifier = expected["identifier"]
        assert result.binding_inputs[identifier].hex() == expected["binding_factor_input"]
        assert result.binding_factors[identifier].hex() == expected["binding_factor"]


@pytest.mark.parametrize("name", SIGNING_VECTORS)
def test_intermediate_values(name: str) -> None:
    derived, result = VECTORS[name]["derived_intermediates"], replay(name)
    message, public_key = result.package.message, result.public.group_public_key
    encoded = frost.encode_group_commitment_list(result.package.commitments)
    assert frost.hash_message(message).hex() == derived["msg_hash_H4"]
    assert encoded.hex() == derived["encoded_commitment_list"]
    assert frost.hash_commitment_list(encoded).hex() == derived["encoded_commitment_hash_H5"]
    group_commitment = frost.compute_group_commitment(result.package, result.binding_factors)
    assert group_commitment.hex() == derived["group_commitment_R"]
    challenge = frost.compute_challenge(group_commitment, public_key, message)
    assert challenge.hex() == derived["challenge_c_H2"]
    for identifier, expected in derived["lagrange_coefficients"].items():
        value = frost.derive_interpolating_value(result.package.identifiers, int(identifier))
        assert value.hex() == expected


@pytest.mark.parametrize("name", SIGNING_VECTORS)
def test_signature_shares(name: str) -> None:
    result = replay(name)
    for expected in VECTORS[name]["round_two_outputs"]:
        share = result.signature_shares[expected["identifier"]]
        assert share.share.hex() == expected["sig_share"]
        frost.verify_signature_share(share, result.package, result.public)


@pytest.mark.parametrize("name", SIGNING_VECTORS)
def test_final_signature_verifies_in_stock_ed25519(name: str) -> None:
    vector, result = VECTORS[name], replay(name)
    assert result.signature.hex() == vector["final_signature"]
    public_key = h(vector["inputs"]["group_public_key"])
    message = h(vector["inputs"]["message"])
    Ed25519PublicKey.from_public_bytes(public_key).verify(result.signature, message)
    assert frost.verify_signature(public_key, message, result.signature)
    assert not frost.verify_signature(public_key, message + b"!", result.signature)


# ----------------------------------------------------------------------------- ZF DKG

DKG = VECTORS["zf_dkg"]
DKG_IDS = [1, 2, 3]


def dkg_participant(identifier: int) -> dict:
    return DKG["inputs"][str(identifier)]


def dkg_round1(identifier: int) -> dkg.Round1Package:
    entry = dkg_participant(identifier)
    return dkg.Round1Package(identifier=identifier,
                             commitment=tuple(map(h, entry["vss_commitments"])),
                             proof_of_knowledge=h(entry["proof_of_knowledge"]))


@functools.cache
def dkg_replay() -> tuple[dict, dict, dict]:
    """Parts two and three for every participant, from the vector's polynomials.

    The vector's ``secret`` fields are deliberately never read: they do not match the rest of
    the vector (see the golden file's CAUTION note).
    """
    max_signers = DKG["config"]["MAX_PARTICIPANTS"]
    seconds, sent = {}, {}
    for identifier in DKG_IDS:
        entry = dkg_participant(identifier)
        secret = dkg.Round1Secret(identifier=identifier, max_signers=max_signers,
                                  coefficients=(h(entry["signing_key"]), h(entry["coefficient"])))
        others = [dkg_round1(other) for other in DKG_IDS if other != identifier]
        seconds[identifier], packages = dkg.part2(secret, others)
        sent.update({(package.sender, package.receiver): package for package in packages})
    finals = {}
    for identifier in DKG_IDS:
        others = [other for other in DKG_IDS if other != identifier]
        finals[identifier] = dkg.part3(seconds[identifier], [dkg_round1(o) for o in others],
                                       [sent[(o, identifier)] for o in others])
    return seconds, sent, finals


@pytest.mark.parametrize("identifier", DKG_IDS)
def test_dkg_vector_commitment_and_proof(identifier: int) -> None:
    entry = dkg_participant(identifier)
    coefficients = (h(entry["signing_key"]), h(entry["coefficient"]))
    assert [c.hex() for c in frost.vss_commit(coefficients)] == entry["vss_commitments"]
    dkg.verify_proof_of_knowledge(dkg_round1(identifier))


def test_dkg_vector_round_two_shares() -> None:
    _, sent, _ = dkg_replay()
    for receiver in DKG_IDS:
        for sender, expected in dkg_participant(receiver)["signing_shares"].items():
            assert sent[(int(sender), receiver)].signing_share.hex() == expected


def test_dkg_vector_final_key_material() -> None:
    _, _, finals = dkg_replay()
    for identifier in DKG_IDS:
        key, public = finals[identifier]
        entry = dkg_participant(identifier)
        assert key.signing_share.hex() == entry["signing_share"]
        assert key.verifying_share.hex() == entry["verifying_share"]
        assert public.group_public_key.hex() == DKG["inputs"]["verifying_key"]
        for other in DKG_IDS:
            expected = dkg_participant(other)["verifying_share"]
            assert public.verifying_shares[other].hex() == expected


def test_dkg_vector_keys_sign_a_verifiable_signature() -> None:
    _, _, finals = dkg_replay()
    keys = {identifier: finals[identifier][0] for identifier in DKG_IDS}
    rounds = {i: frost.commit(keys[i]) for i in (1, 3)}
    package = frost.SigningPackage(message=b"HALT",
                                   commitments=tuple(r[1] for r in rounds.values()))
    shares = [frost.sign(package, rounds[i][0], keys[i]) for i in (1, 3)]
    signature = frost.aggregate(package, shares, finals[1][1])
    public_key = h(DKG["inputs"]["verifying_key"])
    Ed25519PublicKey.from_public_bytes(public_key).verify(signature, b"HALT")


def test_dkg_vector_caveat_holds() -> None:
    """The implied group secret is Σ a_i0; the vector's top-level ``secret`` is not."""
    implied = frost.ZERO_SCALAR
    for identifier in DKG_IDS:
        implied = sodium.crypto_core_ed25519_scalar_add(
            implied, h(dkg_participant(identifier)["signing_key"]))
    base = sodium.crypto_scalarmult_ed25519_base_noclamp
    assert base(implied).hex() == DKG["inputs"]["verifying_key"]
    assert base(h(DKG["inputs"]["secret"])).hex() != DKG["inputs"]["verifying_key"]


def test_dkg_vector_tampered_proof_names_sender() -> None:
    honest = dkg_round1(2)
    proof = bytearray(honest.proof_of_knowledge)
    proof[40] ^= 1  # inside mu, keeps it canonical
    forged = dkg.Round1Package(identifier=2, commitment=honest.commitment,
                               proof_of_knowledge=bytes(proof))
    with pytest.raises(frost.InvalidProofOfKnowledgeError) as caught:
        dkg.verify_proof_of_knowledge(forged)
    assert caught.value.identifier == 2


# --------------------------------------------------------------- repair and elements


def test_repair_share_sums() -> None:
    repair = VECTORS["zf_repair_share"]
    deltas = [h(repair["scalar_generation"][f"random_scalar_{i}"]) for i in (1, 2, 3)]
    assert dkg.repair_sigma(deltas).hex() == repair["scalar_generation"]["random_scalar_sum"]
    sigmas = [h(repair["sigma_generation"][f"sigma_{i}"]) for i in (1, 2, 3, 4)]
    assert dkg.repair_share(sigmas).hex() == repair["sigma_generation"]["sigma_sum"]


def test_invalid_element_is_rejected() -> None:
    invalid = h(VECTORS["zf_invalid_element"]["invalid_element"])
    with pytest.raises(frost.InvalidElementError):
        frost.deserialize_element(invalid)
    valid = h(VECTORS["rfc9591_e1"]["inputs"]["group_public_key"])
    with pytest.raises(frost.InvalidElementError):
        frost.SigningCommitments(identifier=1, hiding=invalid, binding=valid)
    assert not frost.verify_signature(invalid, b"test", h(VECTORS["rfc9591_e1"]["final_signature"]))
