"""The shipped scenarios, drills, sweeps and snapshots, addressable by name.

They are package data of ``subnetsim.scenarios`` (the repository's ``scenarios/`` folder), so
an installed wheel finds them wherever it runs. A reference is a path to a file, or the name of
a shipped file without ``.toml``: ``default``, ``large``, ``drills/cabal`` (or just ``cabal``
where a drill is expected), ``sweeps/kappa_commit_reveal``.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from subnetsim.subnet.errors import ConfigError

__all__ = [
    "DEFAULT_SCENARIO",
    "DEFAULT_SNAPSHOT",
    "resolve",
    "safe_file_name",
    "shipped",
    "shipped_path",
]

DEFAULT_SCENARIO = "default"
DEFAULT_SNAPSHOT = "snapshots/sn15_block4769998.json"
_ROOT = importlib.resources.files("subnetsim.scenarios")


def shipped_path(relative: str) -> Path:
    """The file system path of a shipped file (wheels install package data as plain files)."""
    return Path(str(_ROOT.joinpath(relative)))


def shipped(folder: str = "") -> tuple[str, ...]:
    """Names of the shipped ``.toml`` files in ``folder`` ('' for the scenarios), sorted."""
    directory = _ROOT.joinpath(folder) if folder else _ROOT
    return tuple(sorted(entry.name.removesuffix(".toml") for entry in directory.iterdir()
                        if entry.name.endswith(".toml")))


def resolve(reference: str | Path, folder: str = "", what: str = "scenario") -> Path:
    """A path for ``reference``: an existing file, else a shipped file of that name.

    ``folder`` is where a bare name is looked up first (``drills`` for a drill); a name with a
    folder (``drills/cabal``) is looked up from the top. Anything else is a ConfigError naming
    the shipped choices.
    """
    text = str(reference)
    if "\0" in text:
        raise ConfigError(what, text.replace("\0", "\\0"), "contains a NUL byte")
    path = Path(text)
    if path.is_file():
        return path
    if path.exists():
        raise ConfigError(what, text, "is not a file")
    name = text.removesuffix(".toml")
    candidates = [f"{folder}/{name}.toml"] if folder else []
    candidates.append(f"{name}.toml")
    for candidate in candidates:
        if ".." not in Path(candidate).parts and _ROOT.joinpath(candidate).is_file():
            return shipped_path(candidate)
    choices = ", ".join(shipped(folder))
    raise ConfigError(what, text, f"no such file, and no shipped {what} of that name "
                      f"(shipped: {choices})")


def safe_file_name(name: str) -> str:
    """``name`` as one file-name component: letters, digits, ``._-`` kept, anything else
    (``/``, ``..``, NUL, spaces) replaced, so a scenario name never writes outside ``runs/``."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    return cleaned.lstrip(".")[:100] or "scenario"
