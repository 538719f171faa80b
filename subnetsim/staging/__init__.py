"""The kill switch of a world: a scenario's ``[governance]`` and ``[[attacks]]`` as processes.

``stage_governance`` (``subnetsim.staging.stage``) is what the composition root calls for a
scenario with a council; drills, the dashboard and headless runs all get their council,
monitor and attackers from it.
"""

from subnetsim.staging.stage import Governance, stage_governance

__all__ = ["Governance", "stage_governance"]
