"""Key material for FROST(Ed25519, SHA-512): what signers and verifiers hold, and a trusted dealer.

The trusted dealer Shamir-shares a group secret with a Feldman VSS commitment (RFC 9591 App. C);
each participant checks its share and builds its key package. Lagrange interpolation (§4.2)
recombines shares at signing time and serves share repair. Keys generated without a dealer come
from ``subnetsim.governance.frost.dkg``; signing with them is
``subnetsim.governance.frost.signing``.

Symbols (locals only): L group order, B base point, s_i signing share, PK / PK_i group key /
verifying share, C_j VSS commitment element, lam Lagrange coefficient.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from subnetsim.governance.frost.group import (
    GROUP_ORDER,
    ONE_SCALAR,
    InvalidIdentifierError,
    InvalidSecretShareError,
    ProtocolError,
    RandomBytes,
    check_identifiers,
    deserialize_element,
    deserialize_scalar,
    encode_identifier,
    evaluate_commitment,
    evaluate_polynomial,
    invert_scalar,
    multiply_base,
    multiply_scalars,
    random_scalar,
    scalar_from_int,
    subtract_scalars,
)

# ------------------------------------------------------------------------ key material


def _validated_commitment(commitment: Sequence[bytes]) -> tuple[bytes, ...]:
    if not commitment:
        raise ProtocolError("a VSS commitment needs at least one element")
    return tuple(deserialize_element(element) for element in commitment)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretShare:
    """What the trusted dealer sends one participant (RFC 9591 App. C).

    Attributes:
        identifier: the receiving participant.
        signing_share: s_i = f(i); confidential.
        commitment: VSS commitment (C_0 = PK, ..., C_{t-1}); its length is the threshold.
    """

    identifier: int
    signing_share: bytes = field(repr=False)
    commitment: tuple[bytes, ...]

    def __post_init__(self) -> None:
        encode_identifier(self.identifier)
        deserialize_scalar(self.signing_share)
        object.__setattr__(self, "commitment", _validated_commitment(self.commitment))


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPackage:
    """Everything one signer holds; construction checks signing_share·B == verifying_share."""

    identifier: int
    signing_share: bytes = field(repr=False)
    verifying_share: bytes
    group_public_key: bytes
    min_signers: int

    def __post_init__(self) -> None:
        encode_identifier(self.identifier)
        deserialize_scalar(self.signing_share)
        deserialize_element(self.verifying_share)
        deserialize_element(self.group_public_key)
        if self.min_signers < 1:
            raise ProtocolError(f"min_signers must be >= 1, got {self.min_signers}")
        if multiply_base(self.signing_share) != self.verifying_share:
            raise ProtocolError(f"participant {self.identifier}: share does not match its key")


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicKeyPackage:
    """Public group information: the group key and every participant's verifying share."""

    verifying_shares: Mapping[int, bytes]
    group_public_key: bytes
    min_signers: int

    def __post_init__(self) -> None:
        shares = {identifier: self.verifying_shares[identifier]
                  for identifier in check_identifiers(sorted(self.verifying_shares))}
        for element in (*shares.values(), self.group_public_key):
            deserialize_element(element)
        if not 1 <= self.min_signers <= len(shares):
            raise ProtocolError(f"min_signers {self.min_signers} not in [1, {len(shares)}]")
        object.__setattr__(self, "verifying_shares", MappingProxyType(shares))

    def __reduce__(self) -> tuple[object, tuple[()]]:
        # A mappingproxy cannot be pickled; rebuild from a plain dict (e.g. across a process pool).
        return functools.partial(PublicKeyPackage, verifying_shares=dict(self.verifying_shares),
                                 group_public_key=self.group_public_key,
                                 min_signers=self.min_signers), ()


def vss_commit(coefficients: Sequence[bytes]) -> tuple[bytes, ...]:
    """RFC 9591 App. C.2 vss_commit: (a_0·B, ..., a_{t-1}·B)."""
    return tuple(multiply_base(coefficient) for coefficient in coefficients)


def _check_threshold(min_signers: int, max_signers: int) -> None:
    if not 1 <= min_signers <= max_signers < GROUP_ORDER:
        raise ProtocolError(f"need 1 <= min_signers <= max_signers, got {min_signers}, "
                            f"{max_signers}")


def split_secret(secret: bytes, coefficients: Sequence[bytes],
                 max_signers: int) -> tuple[SecretShare, ...]:
    """RFC 9591 App. C.1 secret_share_shard plus vss_commit, for identifiers 1..max_signers.

    Args:
        secret: the group secret s (canonical scalar).
        coefficients: a_1 .. a_{t-1}; the threshold is len(coefficients) + 1.
        max_signers: number of shares n.

    Returns:
        The n shares, each carrying the VSS commitment.
    """
    _check_threshold(len(coefficients) + 1, max_signers)
    polynomial = (deserialize_scalar(secret), *map(deserialize_scalar, coefficients))
    commitment = vss_commit(polynomial)
    return tuple(
        SecretShare(identifier=identifier, commitment=commitment,
                    signing_share=evaluate_polynomial(polynomial, encode_identifier(identifier)))
        for identifier in range(1, max_signers + 1))


def derive_public_key_package(commitment: Sequence[bytes],
                              identifiers: Iterable[int]) -> PublicKeyPackage:
    """RFC 9591 App. C.2 derive_group_info: PK = C_0 and PK_i = Σ_j i^j·C_j."""
    shares = {identifier: evaluate_commitment(commitment, encode_identifier(identifier))
              for identifier in identifiers}
    return PublicKeyPackage(verifying_shares=shares, group_public_key=commitment[0],
                            min_signers=len(commitment))


def trusted_dealer_keygen(
    min_signers: int, max_signers: int, *, random_bytes: RandomBytes = secrets.token_bytes,
) -> tuple[tuple[SecretShare, ...], PublicKeyPackage]:
    """RFC 9591 App. C trusted_dealer_keygen with a fresh random secret.

    The dealer learns the group secret; use subnetsim.governance.frost.dkg where no party may hold
    it.
    """
    _check_threshold(min_signers, max_signers)
    polynomial = [random_scalar(random_bytes) for _ in range(min_signers)]
    shares = split_secret(polynomial[0], polynomial[1:], max_signers)
    public = derive_public_key_package(shares[0].commitment, range(1, max_signers + 1))
    return shares, public


def verify_secret_share(share: SecretShare) -> KeyPackage:
    """RFC 9591 App. C.2 vss_verify: s_i·B == Σ_j i^j·C_j, then build the key package.

    Raises:
        InvalidSecretShareError: the share does not match the dealer's commitment.
    """
    expected = evaluate_commitment(share.commitment, encode_identifier(share.identifier))
    verifying_share = multiply_base(share.signing_share)
    if verifying_share != expected:
        raise InvalidSecretShareError([share.identifier], "share fails the dealer's commitment")
    return KeyPackage(identifier=share.identifier, signing_share=share.signing_share,
                      verifying_share=verifying_share, group_public_key=share.commitment[0],
                      min_signers=len(share.commitment))


def derive_interpolating_value(identifiers: Sequence[int], identifier: int, *,
                               at: int = 0) -> bytes:
    """Lagrange coefficient of ``identifier`` over ``identifiers``, evaluated at ``at``.

    At x = 0 this is RFC 9591 §4.2 derive_interpolating_value:
    lam_i = Π_{j≠i} x_j / (x_j − x_i). Other points serve share repair.
    """
    if len(set(identifiers)) != len(identifiers):
        raise InvalidIdentifierError(f"duplicate identifiers in {list(identifiers)}")
    if identifier not in identifiers:
        raise InvalidIdentifierError(f"identifier {identifier} is not in the list")
    x_i, x = encode_identifier(identifier), scalar_from_int(at)
    numerator = denominator = ONE_SCALAR
    for other in identifiers:
        if other != identifier:
            x_j = encode_identifier(other)
            numerator = multiply_scalars(numerator, subtract_scalars(x, x_j))
            denominator = multiply_scalars(denominator, subtract_scalars(x_i, x_j))
    return multiply_scalars(numerator, invert_scalar(denominator))
