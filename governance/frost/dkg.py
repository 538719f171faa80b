"""Distributed key generation, share refresh and share repair for FROST(Ed25519, SHA-512).

DKG: the three-part Pedersen/Feldman key generation with a Schnorr proof of knowledge from the
FROST paper (Komlo and Goldberg 2020, Fig. 1), as the Zcash Foundation's ``frost-core``
``keys::dkg`` implements it; RFC 9591 leaves DKG out of scope. No party ever holds the group
secret: it is the sum of every participant's constant term, and only its image PK is public.

Refresh (council rotation without a key change): the same three parts with a zero constant
term, so adding the new shares keeps PK and makes the old shares useless (``keys::refresh``).
Repair: t helpers rebuild a lost share without revealing theirs (``keys::repairable``).

Transport is the caller's: part-one packages need a broadcast channel, part-two packages
confidential authenticated ones. Every check that fails names the participant at fault.

Symbols (locals only): a_ij coefficient j of participant i's polynomial f_i, phi_ij = a_ij·B its
commitment, k / R proof nonce and commitment, c challenge, mu proof response, zeta repair
Lagrange coefficient.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from subnetsim.governance.frost.group import (
    IDENTITY,
    SIGNATURE_SIZE,
    ZERO_SCALAR,
    InvalidCommitmentError,
    InvalidProofOfKnowledgeError,
    InvalidSecretShareError,
    ProtocolError,
    RandomBytes,
    add_elements,
    add_scalars,
    check_identifiers,
    deserialize_element,
    deserialize_scalar,
    encode_identifier,
    evaluate_commitment,
    evaluate_polynomial,
    hash_dkg_challenge,
    multiply_base,
    multiply_element,
    multiply_scalars,
    random_scalar,
    subtract_scalars,
    sum_scalars,
)
from subnetsim.governance.frost.keys import (
    KeyPackage,
    PublicKeyPackage,
    derive_interpolating_value,
    vss_commit,
)

# ------------------------------------------------------------------------------ packages


@dataclass(frozen=True, slots=True, kw_only=True)
class Round1Package:
    """Broadcast by every participant in part one.

    Attributes:
        identifier: the sender.
        commitment: (phi_i0, ..., phi_i,t-1); phi_i0 is the identity in a refresh.
        proof_of_knowledge: R || mu proving knowledge of a_i0; None in a refresh.
    """

    identifier: int
    commitment: tuple[bytes, ...]
    proof_of_knowledge: bytes | None

    def __post_init__(self) -> None:
        encode_identifier(self.identifier)
        commitment = tuple(self.commitment)
        if not commitment:
            raise InvalidCommitmentError([self.identifier], "empty commitment")
        if commitment[0] != IDENTITY:  # the identity is legal here only as a refresh's zero term
            deserialize_element(commitment[0])
        for element in commitment[1:]:
            deserialize_element(element)
        object.__setattr__(self, "commitment", commitment)
        if self.proof_of_knowledge is not None:
            if len(self.proof_of_knowledge) != SIGNATURE_SIZE:
                raise InvalidProofOfKnowledgeError([self.identifier], "proof is not 64 bytes")
            deserialize_element(self.proof_of_knowledge[:32])
            deserialize_scalar(self.proof_of_knowledge[32:])


@dataclass(frozen=True, slots=True, kw_only=True)
class Round1Secret:
    """What a participant keeps from part one: its polynomial f_i (confidential)."""

    identifier: int
    coefficients: tuple[bytes, ...] = field(repr=False)
    max_signers: int

    def __post_init__(self) -> None:
        encode_identifier(self.identifier)
        object.__setattr__(self, "coefficients", tuple(map(deserialize_scalar, self.coefficients)))
        if not 1 <= len(self.coefficients) <= self.max_signers:
            raise ProtocolError(f"need 1 <= min_signers <= max_signers, got "
                                f"{len(self.coefficients)}, {self.max_signers}")

    @property
    def min_signers(self) -> int:
        """The threshold t (the polynomial has t coefficients)."""
        return len(self.coefficients)


@dataclass(frozen=True, slots=True, kw_only=True)
class Round2Package:
    """Sent privately from ``sender`` to ``receiver`` in part two: f_sender(receiver)."""

    sender: int
    receiver: int
    signing_share: bytes = field(repr=False)

    def __post_init__(self) -> None:
        encode_identifier(self.sender)
        encode_identifier(self.receiver)
        deserialize_scalar(self.signing_share)


@dataclass(frozen=True, slots=True, kw_only=True)
class Round2Secret:
    """What a participant keeps from part two: its commitment and f_i(i) (confidential)."""

    identifier: int
    commitment: tuple[bytes, ...]
    own_share: bytes = field(repr=False)
    max_signers: int

    @property
    def min_signers(self) -> int:
        """The threshold t."""
        return len(self.commitment)


# ---------------------------------------------------------------- proof of knowledge


def _proof_challenge(identifier: int, constant_commitment: bytes, proof_commitment: bytes) -> bytes:
    """c = HDKG(id || phi_i0 || R), as frost-core keys::dkg computes it."""
    return hash_dkg_challenge(encode_identifier(identifier) + constant_commitment
                              + proof_commitment)


def _prove_knowledge(identifier: int, secret: bytes, constant_commitment: bytes,
                     random_bytes: RandomBytes) -> bytes:
    """Schnorr proof R || mu with R = k·B and mu = k + a_i0·c."""
    nonce = random_scalar(random_bytes)
    proof_commitment = multiply_base(nonce)
    challenge = _proof_challenge(identifier, constant_commitment, proof_commitment)
    return proof_commitment + add_scalars(nonce, multiply_scalars(secret, challenge))


def verify_proof_of_knowledge(package: Round1Package) -> None:
    """Check R == mu·B − c·phi_i0; a failure proves the sender cheated (rogue-key defence).

    Raises:
        InvalidProofOfKnowledgeError: naming ``package.identifier``.
    """
    constant = package.commitment[0]
    if package.proof_of_knowledge is None or constant == IDENTITY:
        raise InvalidProofOfKnowledgeError([package.identifier], "no proof or zero secret")
    proof_commitment, response = package.proof_of_knowledge[:32], package.proof_of_knowledge[32:]
    challenge = _proof_challenge(package.identifier, constant, proof_commitment)
    if multiply_base(response) != add_elements(proof_commitment,
                                               multiply_element(challenge, constant)):
        raise InvalidProofOfKnowledgeError([package.identifier], "proof of knowledge fails")


# --------------------------------------------------------------------------- the parts


def part1(identifier: int, min_signers: int, max_signers: int, *,
          random_bytes: RandomBytes = secrets.token_bytes) -> tuple[Round1Secret, Round1Package]:
    """DKG part one: draw f_i, commit to it and prove knowledge of its constant term.

    Returns:
        The secret to keep for part two and the package to broadcast.
    """
    coefficients = tuple(random_scalar(random_bytes) for _ in range(min_signers))
    secret = Round1Secret(identifier=identifier, coefficients=coefficients,
                          max_signers=max_signers)
    commitment = vss_commit(coefficients)
    proof = _prove_knowledge(identifier, coefficients[0], commitment[0], random_bytes)
    return secret, Round1Package(identifier=identifier, commitment=commitment,
                                 proof_of_knowledge=proof)


def _peer_packages(identifier: int, min_signers: int, max_signers: int,
                   packages: Iterable[Round1Package]) -> dict[int, Round1Package]:
    """Exactly one package from each of the n − 1 others, all with the same threshold."""
    ordered = sorted(packages, key=lambda package: package.identifier)
    check_identifiers([package.identifier for package in ordered])
    if any(package.identifier == identifier for package in ordered):
        raise ProtocolError(f"participant {identifier} received its own round-one package")
    if len(ordered) != max_signers - 1:
        raise ProtocolError(f"expected {max_signers - 1} round-one packages, got {len(ordered)}")
    wrong = [package.identifier for package in ordered if len(package.commitment) != min_signers]
    if wrong:
        raise InvalidCommitmentError(wrong, f"commitment length is not the threshold {min_signers}")
    return {package.identifier: package for package in ordered}


def _deal_round2(secret: Round1Secret, peers: Iterable[int]) -> tuple[Round2Secret,
                                                                       tuple[Round2Package, ...]]:
    packages = tuple(
        Round2Package(sender=secret.identifier, receiver=peer,
                      signing_share=evaluate_polynomial(secret.coefficients,
                                                        encode_identifier(peer)))
        for peer in peers)
    own_share = evaluate_polynomial(secret.coefficients, encode_identifier(secret.identifier))
    kept = Round2Secret(identifier=secret.identifier, commitment=vss_commit(secret.coefficients),
                        own_share=own_share, max_signers=secret.max_signers)
    return kept, packages


def part2(secret: Round1Secret, round1_packages: Iterable[Round1Package],
          ) -> tuple[Round2Secret, tuple[Round2Package, ...]]:
    """DKG part two: verify every proof of knowledge, then deal f_i(l) to each other l.

    Raises:
        ProtocolError: missing, duplicate or own packages.
        InvalidCommitmentError: a package has another threshold (names its sender).
        InvalidProofOfKnowledgeError: a proof fails (names its sender).
    """
    peers = _peer_packages(secret.identifier, secret.min_signers, secret.max_signers,
                           round1_packages)
    for package in peers.values():
        verify_proof_of_knowledge(package)
    return _deal_round2(secret, peers)


def _received_shares(secret: Round2Secret, peers: dict[int, Round1Package],
                     round2_packages: Iterable[Round2Package]) -> bytes:
    """Check each f_l(i) against phi_l and return f_i(i) + Σ_l f_l(i).

    Raises:
        ProtocolError: the packages are not exactly one from each peer, addressed to us.
        InvalidSecretShareError: naming every sender whose share fails its commitment.
    """
    packages = sorted(round2_packages, key=lambda package: package.sender)
    if [package.sender for package in packages] != sorted(peers) or any(
            package.receiver != secret.identifier for package in packages):
        raise ProtocolError(f"participant {secret.identifier} needs one round-two package "
                            f"from each of {sorted(peers)}")
    own_x = encode_identifier(secret.identifier)
    cheaters = [package.sender for package in packages
                if multiply_base(package.signing_share)
                != evaluate_commitment(peers[package.sender].commitment, own_x)]
    if cheaters:
        raise InvalidSecretShareError(cheaters, "share fails the sender's commitment")
    return add_scalars(secret.own_share, sum_scalars(package.signing_share
                                                     for package in packages))


def _summed_commitment(secret: Round2Secret, peers: dict[int, Round1Package]) -> tuple[bytes, ...]:
    """Coefficient-wise sum of every participant's commitment: the group's VSS commitment."""
    summed = list(secret.commitment)
    for package in peers.values():
        summed = [add_elements(total, element)
                  for total, element in zip(summed, package.commitment, strict=True)]
    return tuple(summed)


def part3(secret: Round2Secret, round1_packages: Iterable[Round1Package],
          round2_packages: Iterable[Round2Package]) -> tuple[KeyPackage, PublicKeyPackage]:
    """DKG part three: verify received shares and derive the final key material.

    Returns:
        This participant's key package (s_i = Σ_l f_l(i)) and the public key package
        (PK = Σ_l phi_l0, and every PK_j), identical for every honest participant.
    """
    peers = _peer_packages(secret.identifier, secret.min_signers, secret.max_signers,
                           round1_packages)
    signing_share = _received_shares(secret, peers, round2_packages)
    summed = _summed_commitment(secret, peers)
    verifying_shares = {identifier: evaluate_commitment(summed, encode_identifier(identifier))
                        for identifier in sorted([*peers, secret.identifier])}
    public = PublicKeyPackage(verifying_shares=verifying_shares, group_public_key=summed[0],
                              min_signers=secret.min_signers)
    key = KeyPackage(identifier=secret.identifier, signing_share=signing_share,
                     verifying_share=verifying_shares[secret.identifier],
                     group_public_key=summed[0], min_signers=secret.min_signers)
    return key, public


# -------------------------------------------------------------------------------- refresh


def refresh_part1(identifier: int, min_signers: int, max_signers: int, *,
                  random_bytes: RandomBytes = secrets.token_bytes,
                  ) -> tuple[Round1Secret, Round1Package]:
    """Refresh part one: like :func:`part1` with a_i0 = 0, so there is nothing to prove.

    ``max_signers`` counts the participants taking part in this refresh; members left out are
    removed from the council, because their old shares stop matching anyone else's.
    """
    coefficients = (ZERO_SCALAR, *(random_scalar(random_bytes) for _ in range(min_signers - 1)))
    secret = Round1Secret(identifier=identifier, coefficients=coefficients,
                          max_signers=max_signers)
    return secret, Round1Package(identifier=identifier, commitment=vss_commit(coefficients),
                                 proof_of_knowledge=None)


def refresh_part2(secret: Round1Secret, round1_packages: Iterable[Round1Package],
                  ) -> tuple[Round2Secret, tuple[Round2Package, ...]]:
    """Refresh part two: require every constant term to be zero, then deal shares.

    Raises:
        InvalidCommitmentError: a package would change the group key (names its sender).
    """
    if secret.coefficients[0] != ZERO_SCALAR:
        raise ProtocolError("a refresh polynomial must have a zero constant term")
    peers = _peer_packages(secret.identifier, secret.min_signers, secret.max_signers,
                           round1_packages)
    wrong = [package.identifier for package in peers.values()
             if package.commitment[0] != IDENTITY or package.proof_of_knowledge is not None]
    if wrong:
        raise InvalidCommitmentError(wrong, "refresh commitment has a non-zero constant term")
    return _deal_round2(secret, peers)


def refresh_part3(secret: Round2Secret, round1_packages: Iterable[Round1Package],
                  round2_packages: Iterable[Round2Package], key_package: KeyPackage,
                  public_key_package: PublicKeyPackage) -> tuple[KeyPackage, PublicKeyPackage]:
    """Refresh part three: add the zero-sharing to the old share; PK stays the same.

    Returns:
        The refreshed key package and a public key package listing only the participants
        of this refresh (s_j' = s_j + Σ_l g_l(j), PK_j' = PK_j + Σ_l g_l(j)·B).

    Raises:
        ProtocolError: the old key material does not belong to this participant, or the
            threshold would change (a refresh cannot change t).
    """
    if key_package.identifier != secret.identifier or len({
            key_package.min_signers, public_key_package.min_signers, secret.min_signers}) != 1:
        raise ProtocolError("old key material does not match this refresh (identifier or t)")
    peers = _peer_packages(secret.identifier, secret.min_signers, secret.max_signers,
                           round1_packages)
    delta = _received_shares(secret, peers, round2_packages)
    summed = _summed_commitment(secret, peers)
    old_shares = public_key_package.verifying_shares
    missing = [identifier for identifier in [*peers, secret.identifier]
               if identifier not in old_shares]
    if missing:
        raise ProtocolError(f"participants {missing} hold no share of this group key")
    verifying_shares = {
        identifier: add_elements(old_shares[identifier],
                                 evaluate_commitment(summed, encode_identifier(identifier)))
        for identifier in sorted([*peers, secret.identifier])}
    group_public_key = public_key_package.group_public_key
    public = PublicKeyPackage(verifying_shares=verifying_shares, group_public_key=group_public_key,
                              min_signers=secret.min_signers)
    key = KeyPackage(identifier=secret.identifier,
                     signing_share=add_scalars(key_package.signing_share, delta),
                     verifying_share=verifying_shares[secret.identifier],
                     group_public_key=group_public_key, min_signers=secret.min_signers)
    return key, public


# --------------------------------------------------------------------------------- repair


def repair_deltas(helpers: Sequence[int], key_package: KeyPackage, lost_identifier: int, *,
                  random_bytes: RandomBytes = secrets.token_bytes) -> dict[int, bytes]:
    """Repair step one (helper h): split zeta_h·s_h into random additive deltas, one per helper.

    zeta_h is h's Lagrange coefficient over ``helpers`` evaluated at the lost identifier, so
    Σ_h zeta_h·s_h = f(lost). Delta j goes privately to helper j (h keeps its own).

    Returns:
        Mapping helper identifier -> delta.
    """
    helpers = check_identifiers(sorted(helpers))
    encode_identifier(lost_identifier)
    if lost_identifier in helpers or key_package.identifier not in helpers:
        raise ProtocolError("helpers must include this helper and exclude the lost participant")
    if len(helpers) < key_package.min_signers:
        raise ProtocolError(f"{len(helpers)} helpers, threshold is {key_package.min_signers}")
    zeta = derive_interpolating_value(helpers, key_package.identifier, at=lost_identifier)
    value = multiply_scalars(zeta, key_package.signing_share)
    deltas = {helper: random_scalar(random_bytes) for helper in helpers[:-1]}
    deltas[helpers[-1]] = subtract_scalars(value, sum_scalars(deltas.values()))
    return deltas


def repair_sigma(deltas: Iterable[bytes]) -> bytes:
    """Repair step two (each helper): sigma = Σ of the deltas it received (own included)."""
    return sum_scalars(map(deserialize_scalar, deltas))


def repair_share(sigmas: Iterable[bytes]) -> bytes:
    """Repair step three (lost participant): its signing share = Σ of the helpers' sigmas.

    Building a KeyPackage from it with the published verifying share checks the result.
    """
    return sum_scalars(map(deserialize_scalar, sigmas))
