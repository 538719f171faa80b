"""Project-level guarantees, checked on the wheel a user installs, not only the source tree.

The card folders (``subnet/``, ``miners/``, ...) install beneath ``subnetsim``; the import layers,
the type checker and a user's install are all checked on the built wheel's layout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CARD_FOLDERS = ("subnet", "miners", "validators", "governance", "tui", "scenarios")
DATA_SUFFIXES = {".py", ".tcss", ".toml", ".json", ".npz", ".md", ".typed"}
# A stable place for the unpacked wheel, so mypy's cache survives between runs (gitignored).
UNPACKED = ROOT / ".wheel-check"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this tree, as ``pip install <clone>`` builds it."""
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch folder
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = out.glob("subnetsim-*.whl")
    return built


@pytest.fixture(scope="session")
def unpacked(wheel: Path) -> Path:
    """The wheel's files as pip lays them into site-packages."""
    shutil.rmtree(UNPACKED, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(UNPACKED)
    return UNPACKED


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_wheel_holds_every_package_and_data_file_of_the_tree(wheel: Path):
    tracked = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "subnetsim",
                    *CARD_FOLDERS], ROOT).stdout.split()
    expected = {("subnetsim/" + path if not path.startswith("subnetsim/") else path)
                for path in tracked if Path(path).suffix in DATA_SUFFIXES}
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if ".dist-info/" not in name}
    assert expected, "git ls-files found nothing: not a checkout?"
    assert shipped == expected
    # the pieces a first-wave wheel lacked
    for needed in ("subnetsim/subnet/transport/zmq_bridge.py", "subnetsim/tui/widgets/log.py",
                   "subnetsim/tui/app.tcss", "subnetsim/scenarios/default.toml",
                   "subnetsim/scenarios/drills/cabal.toml", "subnetsim/miners/data/digits.npz"):
        assert needed in shipped


def test_no_top_level_package_but_subnetsim_is_installed(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"subnetsim"}


def test_import_layers_hold_with_at_most_two_ignores(unpacked: Path):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    assert sum(len(c.get("ignore_imports", [])) for c in contracts) <= 2
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    result = _run([str(BIN / "lint-imports"), "--no-cache", str(ROOT / "pyproject.toml")],
                  unpacked.parent.parent, env)  # outside the tree: only the wheel's layout
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(contracts)} kept, 0 broken" in result.stdout


def test_the_type_checker_is_clean(unpacked: Path):
    result = _run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                   "--cache-dir", str(ROOT / ".mypy_cache"), "-p", "subnetsim"], unpacked,
                  timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_ruff_finds_nothing():
    result = _run([str(BIN / "ruff"), "check", "."], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_reads_the_shared_folder():
    # A user's clone has no shared folder beside it: read the copies in the repo.
    needles = ("../" + "shared", "/work/" + "shared")  # split so this file does not match itself
    tracked = _run(["git", "ls-files", "*.py"], ROOT).stdout.split()
    offenders = [path for path in tracked
                 if any(needle in (ROOT / path).read_text(encoding="utf-8")
                        for needle in needles)]
    assert offenders == []


@pytest.mark.slow
def test_pip_install_of_the_clone_works_outside_it_beside_pypi_validators(wheel, tmp_path):
    """A fresh venv gets the wheel by a normal (not editable) pip install; its dependencies
    come from this environment (a .pth line), so the test needs no network. Then, from a
    folder outside the clone: --version, a recorded run by shipped name, the headless
    dashboard, and the PyPI ``validators`` package still importable beside us."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path).check_returncode()
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                tmp_path).stdout.strip()
    ours = _run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                tmp_path).stdout.strip()
    Path(site, "deps-from-test-env.pth").write_text(ours + "\n")
    install = _run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], tmp_path)
    assert install.returncode == 0, install.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    cli = str(venv / "bin" / "subnetsim")

    version = _run([cli, "--version"], work, env)
    assert version.returncode == 0 and re.fullmatch(r"subnetsim \S+\n", version.stdout)
    ran = _run([cli, "run", "default", "--epochs", "3", "--json"], work, env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    summary = json.loads(ran.stdout)
    assert summary["epochs"] == 3 and (work / summary["db"]).exists()
    headless = _run([cli, "tui", "--headless", "--blocks", "60"], work, env)
    assert headless.returncode == 0 and "digest" in headless.stdout, headless.stderr[-3000:]
    where = _run([str(python), "-c", "import subnetsim, validators; "
                  "print(subnetsim.__file__); print(bool(validators.url('https://example.org')))"],
                 work, env)
    assert where.returncode == 0, where.stderr
    module_file, url_ok = where.stdout.split()
    assert module_file.startswith(site) and url_ok == "True"
