"""Suite-wide settings: how the tests are spread over xdist workers (`make test` runs two).

Each test file goes to one worker, so a module-scoped fixture (a scenario run, a sweep) is built
once rather than once per worker; the tune tests share one session-scoped study, so their files
go together too. Without xdist (`pytest tests/x.py`) the groups are ignored.
"""

from __future__ import annotations

import pytest

# Folders whose files share one session-scoped fixture: they run on the same worker.
SHARED_FIXTURE_FOLDERS = ("tests/tune/",)


def xdist_group_of(nodeid: str) -> str:
    """The worker group of a test: its folder if that folder shares a fixture, else its file."""
    path = nodeid.split("::", 1)[0]
    for folder in SHARED_FIXTURE_FOLDERS:
        if path.startswith(folder):
            return folder
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(xdist_group_of(item.nodeid)))
