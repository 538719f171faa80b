"""The installed version of subnetsim (from the package metadata, defined in pyproject.toml)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("subnetsim")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

# What a run store records as the code that made a run, and block 1's parent commits to.
CODE_VERSION = f"subnetsim {__version__}"
