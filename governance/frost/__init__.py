"""FROST(Ed25519, SHA-512) threshold signatures (RFC 9591) and distributed key generation.

``group`` holds the ciphersuite over libsodium's group operations, ``keys`` the key material
(trusted-dealer keygen, refresh, repair), ``dkg`` the Pedersen DKG and ``signing`` the two-round
protocol. This package re-exports the signing module's public names, so ``frost.sign(...)``
reads as one API.
"""

from subnetsim.governance.frost.signing import *  # noqa: F403 - the public face of FROST
from subnetsim.governance.frost.signing import __all__ as __all__
