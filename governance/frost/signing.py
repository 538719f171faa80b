"""FROST(Ed25519, SHA-512) threshold signatures (RFC 9591) on libsodium's group operations.

Any ``min_signers`` of ``max_signers`` council members holding Shamir shares of one group key
produce, in two rounds, a 64-byte signature that a stock RFC 8032 Ed25519 verifier accepts.

This module holds the signing protocol: round one (nonces and commitments), binding factors and
challenge, round two, share verification and aggregation (§4-5). It is also the public face of
FROST: it re-exports the ciphersuite, errors and Ed25519 verification
(``subnetsim.governance.frost.group``)
and the key material (``subnetsim.governance.frost.keys``), so ``from subnetsim.governance.frost
import X`` serves all.

Symbols (locals only): s_i signing share, PK / PK_i group key / verifying share, d e / D E hiding
and binding nonces / their commitments, rho binding factor, R group commitment, c challenge,
lam Lagrange coefficient, z signature (share) response.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from subnetsim.governance.frost.group import (
    CONTEXT_STRING,
    ELEMENT_SIZE,
    GROUP_ORDER,
    IDENTITY,
    ONE_SCALAR,
    SCALAR_SIZE,
    SIGNATURE_SIZE,
    ZERO_SCALAR,
    CulpritError,
    FrostError,
    InvalidCommitmentError,
    InvalidElementError,
    InvalidIdentifierError,
    InvalidProofOfKnowledgeError,
    InvalidScalarError,
    InvalidSecretShareError,
    InvalidSignatureError,
    InvalidSignatureShareError,
    NonceReuseError,
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
    hash_binding_factor,
    hash_challenge,
    hash_commitment_list,
    hash_dkg_challenge,
    hash_message,
    hash_nonce,
    invert_scalar,
    multiply_base,
    multiply_element,
    multiply_scalars,
    random_scalar,
    scalar_from_int,
    subtract_scalars,
    sum_scalars,
    verify_signature,
)
from subnetsim.governance.frost.keys import (
    KeyPackage,
    PublicKeyPackage,
    SecretShare,
    derive_interpolating_value,
    derive_public_key_package,
    split_secret,
    trusted_dealer_keygen,
    verify_secret_share,
    vss_commit,
)

__all__ = [
    # signing (this module)
    "SignatureShare", "SigningCommitments", "SigningNonces", "SigningPackage", "aggregate",
    "combine_signature_shares", "commit", "compute_binding_factor_inputs",
    "compute_binding_factors", "compute_challenge", "compute_group_commitment",
    "encode_group_commitment_list", "generate_nonce", "sign", "verify_signature_share",
    # key material (subnetsim.governance.frost.keys)
    "KeyPackage", "PublicKeyPackage", "SecretShare", "derive_interpolating_value",
    "derive_public_key_package", "split_secret", "trusted_dealer_keygen", "verify_secret_share",
    "vss_commit",
    # ciphersuite and errors (subnetsim.governance.frost.group)
    "CONTEXT_STRING", "ELEMENT_SIZE", "GROUP_ORDER", "IDENTITY", "ONE_SCALAR", "SCALAR_SIZE",
    "SIGNATURE_SIZE", "ZERO_SCALAR", "CulpritError", "FrostError", "InvalidCommitmentError",
    "InvalidElementError", "InvalidIdentifierError", "InvalidProofOfKnowledgeError",
    "InvalidScalarError", "InvalidSecretShareError", "InvalidSignatureError",
    "InvalidSignatureShareError", "NonceReuseError", "ProtocolError", "RandomBytes",
    "add_elements", "add_scalars", "check_identifiers", "deserialize_element",
    "deserialize_scalar", "encode_identifier", "evaluate_commitment", "evaluate_polynomial",
    "hash_binding_factor", "hash_challenge", "hash_commitment_list", "hash_dkg_challenge",
    "hash_message", "hash_nonce", "invert_scalar", "multiply_base", "multiply_element",
    "multiply_scalars", "random_scalar", "scalar_from_int", "subtract_scalars", "sum_scalars",
    "verify_signature",
]

# ------------------------------------------------------------------ round one (§5.1)


@dataclass(frozen=True, slots=True, kw_only=True)
class SigningCommitments:
    """A signer's public round-one output (i, D_i, E_i)."""

    identifier: int
    hiding: bytes
    binding: bytes

    def __post_init__(self) -> None:
        encode_identifier(self.identifier)
        deserialize_element(self.hiding)
        deserialize_element(self.binding)

    def encode(self) -> bytes:
        """The 96-byte entry of encode_group_commitment_list (§4.3)."""
        return encode_identifier(self.identifier) + self.hiding + self.binding


class SigningNonces:
    """A signer's secret nonce pair (d_i, e_i), usable for exactly one signature share.

    Deliberately mutable (not a frozen value): it is a one-shot capability, and its single owner
    must be able to spend it. Spending drops the scalars; a second use raises NonceReuseError.
    """

    __slots__ = ("_hiding", "_binding", "commitments")

    def __init__(self, *, hiding: bytes, binding: bytes, commitments: SigningCommitments) -> None:
        self._hiding: bytes | None = deserialize_scalar(hiding)
        self._binding: bytes | None = deserialize_scalar(binding)
        self.commitments = commitments

    def __repr__(self) -> str:
        return f"SigningNonces(identifier={self.commitments.identifier}, consumed={self.consumed})"

    def __reduce__(self) -> tuple[object, ...]:
        # Blocks pickle, copy and deepcopy: a copy or a persisted replay could sign twice.
        raise NonceReuseError("signing nonces cannot be copied or persisted")

    @property
    def consumed(self) -> bool:
        """Whether the nonces have been spent."""
        return self._hiding is None

    @property
    def hiding(self) -> bytes:
        """The hiding nonce d_i (for inspection and tests); raises once spent."""
        return self._peek()[0]

    @property
    def binding(self) -> bytes:
        """The binding nonce e_i (for inspection and tests); raises once spent."""
        return self._peek()[1]

    def _peek(self) -> tuple[bytes, bytes]:
        if self._hiding is None or self._binding is None:
            raise NonceReuseError(f"nonces of participant {self.commitments.identifier} are spent")
        return self._hiding, self._binding

    def consume(self) -> tuple[bytes, bytes]:
        """Return (d_i, e_i) and mark them spent, so they can never sign twice."""
        nonces = self._peek()
        self._hiding = self._binding = None
        return nonces


def generate_nonce(secret: bytes, random_bytes: RandomBytes = secrets.token_bytes) -> bytes:
    """RFC 9591 §4.1 nonce_generate: H3(random_bytes(32) || secret).

    Hedged: the nonce stays unpredictable under a weak RNG as long as the share is secret.
    """
    return hash_nonce(random_bytes(32) + secret)


def commit(key_package: KeyPackage, *, random_bytes: RandomBytes = secrets.token_bytes,
           ) -> tuple[SigningNonces, SigningCommitments]:
    """RFC 9591 §5.1 commit: draw the hiding nonce, then the binding nonce, and commit to both.

    Args:
        key_package: the signer's key material.
        random_bytes: randomness source; called twice with 32 (hiding first, then binding).

    Returns:
        The secret nonces (keep, use once) and the public commitments (send to coordinator).
    """
    hiding = generate_nonce(key_package.signing_share, random_bytes)
    binding = generate_nonce(key_package.signing_share, random_bytes)
    commitments = SigningCommitments(identifier=key_package.identifier,
                                     hiding=multiply_base(hiding), binding=multiply_base(binding))
    return SigningNonces(hiding=hiding, binding=binding, commitments=commitments), commitments


# --------------------------------------------------------- binding and challenge (§4.3-4.6)


@dataclass(frozen=True, slots=True, kw_only=True)
class SigningPackage:
    """The coordinator's round-two request: the message and the sorted commitment list."""

    message: bytes
    commitments: tuple[SigningCommitments, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.message, bytes):
            raise ProtocolError(f"message must be bytes, got {type(self.message).__name__}")
        object.__setattr__(self, "commitments", tuple(self.commitments))
        if not self.commitments:
            raise ProtocolError("a signing package needs at least one commitment")
        check_identifiers(self.identifiers)

    @property
    def identifiers(self) -> tuple[int, ...]:
        """The signer set, ascending."""
        return tuple(entry.identifier for entry in self.commitments)

    def commitments_of(self, identifier: int) -> SigningCommitments:
        """The commitments of one signer; ProtocolError if it is not in the set."""
        for entry in self.commitments:
            if entry.identifier == identifier:
                return entry
        raise ProtocolError(f"participant {identifier} is not in the signing package")


def encode_group_commitment_list(commitments: Sequence[SigningCommitments]) -> bytes:
    """RFC 9591 §4.3: concatenation of (i, D_i, E_i) entries, 96 bytes each."""
    return b"".join(entry.encode() for entry in commitments)


def compute_binding_factor_inputs(group_public_key: bytes,
                                  signing_package: SigningPackage) -> dict[int, bytes]:
    """RFC 9591 §4.4: PK || H4(msg) || H5(encoded list) || i, per signer (192 bytes each)."""
    prefix = (group_public_key + hash_message(signing_package.message)
              + hash_commitment_list(encode_group_commitment_list(signing_package.commitments)))
    return {identifier: prefix + encode_identifier(identifier)
            for identifier in signing_package.identifiers}


def compute_binding_factors(group_public_key: bytes,
                            signing_package: SigningPackage) -> dict[int, bytes]:
    """RFC 9591 §4.4 compute_binding_factors: rho_i = H1(binding factor input of i)."""
    inputs = compute_binding_factor_inputs(group_public_key, signing_package)
    return {identifier: hash_binding_factor(data) for identifier, data in inputs.items()}


def compute_group_commitment(signing_package: SigningPackage,
                             binding_factors: Mapping[int, bytes]) -> bytes:
    """RFC 9591 §4.5: R = Σ (D_i + rho_i·E_i) over the whole list.

    Never a one-multiplication shortcut: it would stop binding the signer set.
    """
    total = IDENTITY
    for entry in signing_package.commitments:
        binding_part = multiply_element(binding_factors[entry.identifier], entry.binding)
        total = add_elements(total, add_elements(entry.hiding, binding_part))
    if total == IDENTITY:
        raise InvalidElementError("group commitment is the identity")
    return total


def compute_challenge(group_commitment: bytes, group_public_key: bytes, message: bytes) -> bytes:
    """RFC 9591 §4.6: c = H2(R || PK || msg), exactly the RFC 8032 challenge."""
    return hash_challenge(group_commitment + group_public_key + message)


@dataclass(frozen=True, slots=True, kw_only=True)
class _SigningContext:
    """Per-package values every signer and the coordinator recompute identically."""

    binding_factors: Mapping[int, bytes]
    group_commitment: bytes
    challenge: bytes


def _signing_context(signing_package: SigningPackage, group_public_key: bytes) -> _SigningContext:
    binding_factors = compute_binding_factors(group_public_key, signing_package)
    group_commitment = compute_group_commitment(signing_package, binding_factors)
    challenge = compute_challenge(group_commitment, group_public_key, signing_package.message)
    return _SigningContext(binding_factors=binding_factors, group_commitment=group_commitment,
                           challenge=challenge)


# ------------------------------------------------------- round two and aggregation (§5.2-5.4)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureShare:
    """A signer's round-two output z_i (canonical scalar)."""

    identifier: int
    share: bytes

    def __post_init__(self) -> None:
        encode_identifier(self.identifier)
        deserialize_scalar(self.share)


def sign(signing_package: SigningPackage, nonces: SigningNonces,
         key_package: KeyPackage) -> SignatureShare:
    """RFC 9591 §5.2 sign: z_i = d_i + e_i·rho_i + lam_i·s_i·c. Spends ``nonces``.

    Raises:
        ProtocolError: fewer than min_signers commitments, or the package lacks or alters
            this signer's commitments (checked before the nonces are spent).
        NonceReuseError: the nonces were already used.
    """
    if len(signing_package.commitments) < key_package.min_signers:
        raise ProtocolError(f"{len(signing_package.commitments)} signers, "
                            f"threshold is {key_package.min_signers}")
    if signing_package.commitments_of(key_package.identifier) != nonces.commitments:
        raise ProtocolError(f"package alters participant {key_package.identifier}'s commitments")
    context = _signing_context(signing_package, key_package.group_public_key)
    lam = derive_interpolating_value(signing_package.identifiers, key_package.identifier)
    hiding, binding = nonces.consume()
    rho = context.binding_factors[key_package.identifier]
    key_part = multiply_scalars(multiply_scalars(lam, key_package.signing_share), context.challenge)
    share = add_scalars(add_scalars(hiding, multiply_scalars(binding, rho)), key_part)
    return SignatureShare(identifier=key_package.identifier, share=share)


def _ordered_shares(signing_package: SigningPackage,
                    signature_shares: Iterable[SignatureShare]) -> tuple[SignatureShare, ...]:
    """Shares sorted by signer, exactly one for each signer of the package."""
    shares = tuple(sorted(signature_shares, key=lambda share: share.identifier))
    if tuple(share.identifier for share in shares) != signing_package.identifiers:
        raise ProtocolError(f"shares from {[share.identifier for share in shares]} do not match "
                            f"signers {list(signing_package.identifiers)}")
    return shares


def _share_is_valid(share: SignatureShare, signing_package: SigningPackage,
                    verifying_share: bytes, context: _SigningContext) -> bool:
    """RFC 9591 §5.4: z_i·B == D_i + rho_i·E_i + (c·lam_i)·PK_i."""
    entry = signing_package.commitments_of(share.identifier)
    lam = derive_interpolating_value(signing_package.identifiers, share.identifier)
    commitment_share = add_elements(
        entry.hiding, multiply_element(context.binding_factors[share.identifier], entry.binding))
    key_part = multiply_element(multiply_scalars(context.challenge, lam), verifying_share)
    return multiply_base(share.share) == add_elements(commitment_share, key_part)


def _verifying_share(public_key_package: PublicKeyPackage, identifier: int) -> bytes:
    if identifier not in public_key_package.verifying_shares:
        raise ProtocolError(f"no verifying share for participant {identifier}")
    return public_key_package.verifying_shares[identifier]


def verify_signature_share(signature_share: SignatureShare, signing_package: SigningPackage,
                           public_key_package: PublicKeyPackage) -> None:
    """RFC 9591 §5.4 verify_signature_share; raises InvalidSignatureShareError naming the signer."""
    verifying_share = _verifying_share(public_key_package, signature_share.identifier)
    context = _signing_context(signing_package, public_key_package.group_public_key)
    if not _share_is_valid(signature_share, signing_package, verifying_share, context):
        raise InvalidSignatureShareError([signature_share.identifier], "invalid signature share")


def _combine(context: _SigningContext, shares: Iterable[SignatureShare]) -> bytes:
    return context.group_commitment + sum_scalars(share.share for share in shares)


def combine_signature_shares(signing_package: SigningPackage,
                             signature_shares: Iterable[SignatureShare],
                             group_public_key: bytes) -> bytes:
    """RFC 9591 §5.3 aggregate, unchecked: R || Σ z_i. Prefer :func:`aggregate`."""
    shares = _ordered_shares(signing_package, signature_shares)
    return _combine(_signing_context(signing_package, group_public_key), shares)


def aggregate(signing_package: SigningPackage, signature_shares: Iterable[SignatureShare],
              public_key_package: PublicKeyPackage) -> bytes:
    """Aggregate shares into a signature and verify it before release (RFC 9591 §5.3, §5.4).

    Shares are checked one by one only when the aggregate fails, as the RFC recommends.

    Returns:
        The 64-byte signature R || z, valid for the group key.

    Raises:
        ProtocolError: shares do not match the signer set, or fewer than min_signers.
        InvalidSignatureShareError: names every signer whose share is invalid.
        InvalidSignatureError: the signature fails although every share checks out.
    """
    shares = _ordered_shares(signing_package, signature_shares)
    if len(shares) < public_key_package.min_signers:
        raise ProtocolError(f"{len(shares)} shares, threshold is {public_key_package.min_signers}")
    verifying_shares = [_verifying_share(public_key_package, share.identifier) for share in shares]
    group_public_key = public_key_package.group_public_key
    context = _signing_context(signing_package, group_public_key)
    signature = _combine(context, shares)
    if verify_signature(group_public_key, signing_package.message, signature):
        return signature
    culprits = [share.identifier for share, verifying_share in zip(shares, verifying_shares,
                                                                   strict=True)
                if not _share_is_valid(share, signing_package, verifying_share, context)]
    if culprits:
        raise InvalidSignatureShareError(culprits, "invalid signature share")
    raise InvalidSignatureError("aggregate signature does not verify; every share is valid")
