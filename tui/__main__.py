"""``python -m tui [SCENARIO.toml] [--seed N] [--headless]``: the same as ``subnetsim tui``."""

from __future__ import annotations

import sys

from subnetsim.cli import main

if __name__ == "__main__":
    sys.exit(main(["tui", *sys.argv[1:]]))
