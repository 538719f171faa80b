"""Dynamic TAO: the multi-subnet economy of subtensor spec 425 (pools, coinbase, shares).

Pure maths lives in small modules (``halving``, ``balancer``, ``pool``, ``shares``,
``coinbase``); ``economy`` holds the network's mutable state and runs one block of the coinbase
with them. Rules and numbers follow ``docs/dtao.md`` (a copy of the reference's rules with their
subtensor sources); the unit-test vectors are in ``tests/data/dtao_vectors.json``.
"""
