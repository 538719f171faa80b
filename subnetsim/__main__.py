"""``python -m subnetsim``: the same as the ``subnetsim`` command."""

import sys

from subnetsim.cli import main

sys.exit(main())
