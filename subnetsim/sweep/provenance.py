"""Where a result came from: software versions, code version, executor and machine.

A sweep or a study records this once (``sweep.json``, ``study.json``) so that a table can be
traced to the code and the environment that produced it. It is informative only: results do
not depend on it (a run is a pure function of scenario and seed), so ``--resume`` ignores it.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["code_version", "installed_packages", "provenance"]


def provenance(executor: str, workers: int | None, scheduler: str | None = None) -> dict[str, Any]:
    """Everything worth knowing about how results were produced, as a JSON-ready dict."""
    return {
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "executor": executor,
        "workers": workers or os.cpu_count() or 1,
        "scheduler": scheduler,
        "code": code_version(),
        "packages": installed_packages(),
    }


def code_version() -> dict[str, Any]:
    """The git commit of the source tree when subnetsim runs from a checkout (with whether it
    had uncommitted changes), else the installed package version."""
    version = _package_version("subnetsim")
    source = Path(__file__).resolve().parents[2]
    commit = _git(source, "rev-parse", "HEAD")
    if commit is None:
        return {"package_version": version, "git_commit": None}
    dirty = _git(source, "status", "--porcelain", "--untracked-files=no")
    return {"package_version": version, "git_commit": commit, "git_dirty": bool(dirty)}


def installed_packages() -> dict[str, str]:
    """Name -> version of every installed distribution (dependencies included), sorted."""
    found = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found[name.lower()] = distribution.version
    return dict(sorted(found.items()))


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
