"""FROST(Ed25519, SHA-512) threshold signatures (RFC 9591) on libsodium's group operations.

Any ``min_signers`` of ``max_signers`` council members holding Shamir shares of one group key
produce, in two rounds, a 64-byte signature that a stock RFC 8032 Ed25519 verifier accepts.

Every scalar and group operation is libsodium's (``nacl.bindings``); Python only moves bytes,
compares them and range-checks integers. Scalars are 32-byte little-endian strings reduced mod L,
elements 32-byte compressed Edwards points. Inputs are validated when a value object is built
(DeserializeScalar / DeserializeElement of RFC 9591 §6.1), so an invalid object cannot exist.

Symbols (locals only): L group order, B base point, s_i signing share, PK / PK_i group key /
verifying share, d e / D E hiding and binding nonces / their commitments, rho binding factor,
R group commitment, c challenge, lam Lagrange coefficient, z signature (share) response.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import nacl.exceptions
from nacl import bindings as sodium

from subnet.errors import SubnetSimError

CONTEXT_STRING = b"FROST-ED25519-SHA512-v1"
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
SCALAR_SIZE = 32
ELEMENT_SIZE = 32
SIGNATURE_SIZE = 64
IDENTITY = bytes([1]) + bytes(31)  # encoding of the neutral element, never a valid Element
ZERO_SCALAR = bytes(32)
ONE_SCALAR = bytes([1]) + bytes(31)

RandomBytes = Callable[[int], bytes]
"""Source of n random bytes. The simulation passes a keyed stream so runs replay exactly."""


# ----------------------------------------------------------------------------- errors


class FrostError(SubnetSimError):
    """Base of every error the FROST and DKG code raises on purpose."""


class InvalidScalarError(FrostError):
    """Bytes are not a canonical scalar (wrong length or value >= L)."""


class InvalidElementError(FrostError):
    """Bytes are not a valid element: wrong length, non-canonical, off-curve, identity,
    small order or outside the prime-order subgroup."""


class InvalidIdentifierError(FrostError):
    """An identifier is 0, >= L, not an int, duplicated, unsorted or missing from a list."""


class ProtocolError(FrostError):
    """A parameter or message breaks the protocol's bookkeeping (counts, thresholds, entries)."""


class NonceReuseError(FrostError):
    """A nonce pair was used a second time: that would leak the signing share (RFC 9591 §7)."""


class InvalidSignatureError(FrostError):
    """An aggregate signature does not verify and no individual share is to blame."""


class CulpritError(FrostError):
    """A check that proves who misbehaved failed; ``identifiers`` names them (ascending)."""

    def __init__(self, identifiers: Iterable[int], reason: str) -> None:
        self.identifiers = tuple(sorted(identifiers))
        self.reason = reason
        super().__init__(f"participant(s) {list(self.identifiers)}: {reason}")

    @property
    def identifier(self) -> int:
        """The lowest blamed identifier (the only one, in most checks)."""
        return self.identifiers[0]


class InvalidSignatureShareError(CulpritError):
    """A signature share fails z_i·B == D_i + rho_i·E_i + (c·lam_i)·PK_i (RFC 9591 §5.4)."""


class InvalidSecretShareError(CulpritError):
    """A secret share fails its VSS commitment; names the sender (DKG) or receiving
    participant (trusted dealer, where the dealer is at fault)."""


class InvalidProofOfKnowledgeError(CulpritError):
    """A DKG participant's Schnorr proof of knowledge of its constant term fails."""


class InvalidCommitmentError(CulpritError):
    """A DKG or refresh commitment has the wrong shape (threshold, zero constant term)."""


# ------------------------------------------------------------ encoding and validation (§6.1)


def scalar_from_int(value: int) -> bytes:
    """SerializeScalar: encode 0 <= value < L as 32 little-endian bytes."""
    if not 0 <= value < GROUP_ORDER:
        raise InvalidScalarError(f"scalar {value} is outside [0, L)")
    return value.to_bytes(SCALAR_SIZE, "little")


def deserialize_scalar(data: bytes) -> bytes:
    """DeserializeScalar: accept only 32-byte canonical encodings (< L).

    libsodium silently reduces scalars >= L, so this check must happen at every boundary.
    """
    if len(data) != SCALAR_SIZE or int.from_bytes(data, "little") >= GROUP_ORDER:
        raise InvalidScalarError(f"not a canonical scalar: {bytes(data).hex()}")
    return bytes(data)


def deserialize_element(data: bytes) -> bytes:
    """DeserializeElement: reject non-canonical, off-curve, identity, small- and mixed-order."""
    if len(data) != ELEMENT_SIZE or not sodium.crypto_core_ed25519_is_valid_point(bytes(data)):
        raise InvalidElementError(f"not a prime-order group element: {bytes(data).hex()}")
    return bytes(data)


def encode_identifier(identifier: int) -> bytes:
    """Encode a participant identifier (an int in [1, L)) as a scalar."""
    if isinstance(identifier, bool) or not isinstance(identifier, int):
        raise InvalidIdentifierError(f"identifier must be an int, got {identifier!r}")
    if not 0 < identifier < GROUP_ORDER:
        raise InvalidIdentifierError(f"identifier {identifier} is outside [1, L)")
    return identifier.to_bytes(SCALAR_SIZE, "little")


def check_identifiers(identifiers: Sequence[int]) -> tuple[int, ...]:
    """Require valid, distinct identifiers in ascending order (RFC 9591 §5: sorted lists)."""
    for identifier in identifiers:
        encode_identifier(identifier)
    for previous, current in zip(identifiers, identifiers[1:], strict=False):
        if current == previous:
            raise InvalidIdentifierError(f"duplicate identifier {current}")
        if current < previous:
            raise InvalidIdentifierError(f"identifiers not sorted ascending: {list(identifiers)}")
    return tuple(identifiers)


# ------------------------------------------------ libsodium group operations (no own maths)

add_scalars = sodium.crypto_core_ed25519_scalar_add
subtract_scalars = sodium.crypto_core_ed25519_scalar_sub
multiply_scalars = sodium.crypto_core_ed25519_scalar_mul
add_elements = sodium.crypto_core_ed25519_add


def sum_scalars(scalars: Iterable[bytes]) -> bytes:
    """Sum of scalars mod L (0 for an empty sum)."""
    total = ZERO_SCALAR
    for scalar in scalars:
        total = add_scalars(total, scalar)
    return total


def multiply_base(scalar: bytes) -> bytes:
    """scalar·B. libsodium refuses a zero scalar; the product is then the identity, by design."""
    if scalar == ZERO_SCALAR:
        return IDENTITY
    return sodium.crypto_scalarmult_ed25519_base_noclamp(scalar)


def multiply_element(scalar: bytes, element: bytes) -> bytes:
    """scalar·P for P in the prime-order subgroup or the identity.

    libsodium's noclamp multiply raises when the input or result is the identity; for our
    prime-order inputs that happens exactly when the scalar is 0 or P is the identity.
    """
    if scalar == ZERO_SCALAR or element == IDENTITY:
        return IDENTITY
    return sodium.crypto_scalarmult_ed25519_noclamp(scalar, element)


def evaluate_polynomial(coefficients: Sequence[bytes], x: bytes) -> bytes:
    """f(x) = a_0 + a_1 x + ... by Horner's rule (RFC 9591 App. C.1 polynomial_evaluate)."""
    value = ZERO_SCALAR
    for coefficient in reversed(coefficients):
        value = add_scalars(multiply_scalars(value, x), coefficient)
    return value


def evaluate_commitment(commitment: Sequence[bytes], x: bytes) -> bytes:
    """Σ_j x^j·C_j (Horner on points): the public image f(x)·B of a VSS commitment."""
    value = IDENTITY
    for element in reversed(commitment):
        value = add_elements(multiply_element(x, value), element)
    return value


def random_scalar(random_bytes: RandomBytes) -> bytes:
    """A uniform non-zero scalar: 64 random bytes reduced mod L (RFC 9591 App. D)."""
    while True:
        scalar = sodium.crypto_core_ed25519_scalar_reduce(random_bytes(64))
        if scalar != ZERO_SCALAR:
            return scalar


# -------------------------------------------------------------- hash functions (§6.1)


def _digest(prefix: bytes, data: bytes) -> bytes:
    return hashlib.sha512(CONTEXT_STRING + prefix + data).digest()


def hash_binding_factor(data: bytes) -> bytes:
    """H1: SHA-512(ctx || "rho" || m) reduced mod L."""
    return sodium.crypto_core_ed25519_scalar_reduce(_digest(b"rho", data))


def hash_challenge(data: bytes) -> bytes:
    """H2: SHA-512(m) reduced mod L, without context string, for RFC 8032 compatibility."""
    return sodium.crypto_core_ed25519_scalar_reduce(hashlib.sha512(data).digest())


def hash_nonce(data: bytes) -> bytes:
    """H3: SHA-512(ctx || "nonce" || m) reduced mod L."""
    return sodium.crypto_core_ed25519_scalar_reduce(_digest(b"nonce", data))


def hash_message(data: bytes) -> bytes:
    """H4: SHA-512(ctx || "msg" || m), 64 raw bytes."""
    return _digest(b"msg", data)


def hash_commitment_list(data: bytes) -> bytes:
    """H5: SHA-512(ctx || "com" || m), 64 raw bytes."""
    return _digest(b"com", data)


def hash_dkg_challenge(data: bytes) -> bytes:
    """HDKG (ZF extension): SHA-512(ctx || "dkg" || m) reduced mod L."""
    return sodium.crypto_core_ed25519_scalar_reduce(_digest(b"dkg", data))


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

    The dealer learns the group secret; use governance.dkg where no party may hold it.
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
    return multiply_scalars(numerator, sodium.crypto_core_ed25519_scalar_invert(denominator))


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


def verify_signature(group_public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Plain RFC 8032 §5.1.7 Ed25519 verification (libsodium), after RFC 9591 §6.1 checks.

    R and the key must be prime-order elements and z canonical; then libsodium checks
    z·B == R + c·PK. Returns False instead of raising, for node-side use.
    """
    if len(signature) != SIGNATURE_SIZE:
        return False
    try:
        deserialize_element(group_public_key)
        deserialize_element(signature[:ELEMENT_SIZE])
        deserialize_scalar(signature[ELEMENT_SIZE:])
    except (InvalidElementError, InvalidScalarError):
        return False
    try:
        sodium.crypto_sign_open(bytes(signature) + bytes(message), bytes(group_public_key))
    except nacl.exceptions.BadSignatureError:
        return False
    return True
