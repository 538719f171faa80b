"""Miners: torch models that answer validators' queries, and how each behaviour serves.

``BEHAVIOURS`` names every miner behaviour a scenario may use (``idle`` miners hold a uid and
serve nothing; the rest are described in ``behaviours``). It lives here, free of torch, so that
the composition root can check a scenario without loading a model.
"""

BEHAVIOURS = ("idle", "honest", "trainer", "lazy", "noisy", "copycat", "sybil", "flaky",
              "malformed", "rogue")
DEFAULT_BEHAVIOUR = "idle"
SERVING_BEHAVIOURS = tuple(name for name in BEHAVIOURS if name != "idle")
HALT_IGNORING_BEHAVIOURS = ("rogue",)  # keep serving through a verified serving halt
