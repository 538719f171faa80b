"""The FROST(Ed25519, SHA-512) ciphersuite of RFC 9591 §6.1 on libsodium, and FROST's errors.

Encoding and validation, scalar and group operations, and the hash functions H1..H5 (plus the DKG
challenge hash HDKG) that key generation (``subnetsim.governance.frost.keys``,
``subnetsim.governance.frost.dkg``) and
signing (``subnetsim.governance.frost.signing``) share; and the verification of a finished
signature, which is
plain Ed25519 and needs none of the signing protocol, so a verifier imports only this module.

Every scalar and group operation is libsodium's (``nacl.bindings``); Python only moves bytes,
compares them and range-checks integers. Scalars are 32-byte little-endian strings reduced mod L,
elements 32-byte compressed Edwards points. Inputs are validated when a value object is built
(DeserializeScalar / DeserializeElement of RFC 9591 §6.1), so an invalid object cannot exist.

Symbols (locals only): L group order, B base point, PK group key, R || z a signature's commitment
and response, c challenge.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

import nacl.exceptions
from nacl import bindings as sodium

from subnetsim.subnet.errors import SubnetSimError

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
invert_scalar = sodium.crypto_core_ed25519_scalar_invert
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


# --------------------------------------------- Ed25519 verification (RFC 8032 §5.1.7)


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
