"""Validators: query miners, score their answers, set weights on the chain.

``BEHAVIOURS`` names every validator behaviour a scenario may use: the scripted engine-test
validators (``SCRIPTED_BEHAVIOURS``: ``fixed`` weights, ``random`` weights; ``scripted``) and the
real agents (``AGENT_BEHAVIOURS``; ``validator`` and ``policies``).
"""

SCRIPTED_BEHAVIOURS = ("fixed", "random")
AGENT_BEHAVIOURS = ("honest", "lazy", "weight_copier", "cabal", "self_dealer", "rogue")
BEHAVIOURS = (*SCRIPTED_BEHAVIOURS, *AGENT_BEHAVIOURS)
DEFAULT_BEHAVIOUR = "fixed"
HALT_IGNORING_BEHAVIOURS = ("rogue",)  # keep querying through a verified serving halt
