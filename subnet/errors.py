"""The project's error types.

Every error a user can cause (a bad scenario file, a bad CLI value, a rejected extrinsic) is a
``SubnetSimError``: the CLI prints its message on one line and exits 2, never a traceback.
Bugs are not wrapped: they raise whatever Python raises and stop the run.
"""

from __future__ import annotations


class SubnetSimError(Exception):
    """Base class of every error subnetsim raises on purpose."""


class ConfigError(SubnetSimError):
    """A configuration value is unknown, of the wrong type or out of range.

    Attributes:
        field: dotted path of the offending key, e.g. ``"hyperparameters.kappa"``.
        value: the offending value as given.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} = {value!r}: {reason}")


class SnapshotError(SubnetSimError):
    """A metagraph snapshot file is missing fields, has wrong shapes or bad numbers."""


class ExtrinsicError(SubnetSimError):
    """The chain rejected an extrinsic; ``code`` names the rule, like subtensor's error enum."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


class StoreError(SubnetSimError):
    """A run store is unreadable, of another schema, or does not hold what was asked."""


class VerificationError(SubnetSimError):
    """A recorded run does not verify: its hash chain or a recomputed epoch differs."""
