"""The signing worker: jobs run in a second process, in order, and a signed run does not depend
on where or when its signatures are made and checked (``subnet.signing_worker``)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from subnetsim.subnet import signing_worker
from subnetsim.subnet.provenance import (
    hotkey_public_key,
    hotkey_secret_key,
    output_digest,
    sign_batch,
    verify_batch,
)
from subnetsim.subnet.scenario import scenario_from_dict
from subnetsim.world import World

SEED = 5
QUERY, BLOCK = bytes(range(16)), 9


@pytest.fixture()
def mode():
    """Restore the process's mode after a test that picks one."""
    before = signing_worker._mode
    yield signing_worker.use
    signing_worker.use(before)


def test_jobs_run_in_another_process_and_a_failure_surfaces_where_it_is_read(mode):
    mode("process")
    assert signing_worker.submit(os.getpid).result() != os.getpid()
    failed = signing_worker.submit(int, "not a number")  # stdlib: the worker imports no test
    with pytest.raises(RuntimeError, match="ValueError: invalid literal"):
        failed.result()
    assert signing_worker.submit(sum, [1, 2, 3]).result() == 6  # the worker goes on


@pytest.mark.parametrize("where", [*signing_worker.MODES, "spilled"])
def test_a_round_is_signed_and_checked_against_the_validators_own_digests(mode, where,
                                                                          monkeypatch):
    """The verification job reads the signing job's batch (in the worker, by reference; or
    sent whole when it was signed here because the worker was behind) and checks each reply
    against the digest the validator took of the output it received."""
    if where == "spilled":
        monkeypatch.setattr(signing_worker, "_BACKLOG", -1)  # always "behind": sign here
    mode("process" if where == "spilled" else where)
    answers = [torch.full((4, 1), float(i)) for i in range(4)]
    signers = [(i, f"miner-{i}", hotkey_secret_key(SEED, f"miner-{i}")) for i in (0, 1, 3)]
    batch = sign_batch(4, signers, QUERY, BLOCK, answers).only([True, True, False, True])
    checks = [(i, f"miner-{i}", hotkey_public_key(SEED, f"miner-{i}"), output_digest(answers[i]))
              for i in (0, 1, 2, 3)]
    checks[1] = (1, "miner-1", hotkey_public_key(SEED, "miner-1"), output_digest(answers[0]))
    checks.append((3, "miner-3", hotkey_public_key(SEED, "miner-0"), output_digest(answers[3])))
    verdicts = verify_batch(checks, batch, query=QUERY, block=BLOCK).result()
    # 0 valid; 1 signed another output; 2 never signed; 3 valid; 3 under another hotkey's key
    assert verdicts == [True, False, False, True, False]
    assert batch[2] is None and batch[3] is not None and batch[3].hotkey == "miner-3"
    assert verify_batch(checks[:1], batch, query=bytes(16), block=BLOCK).result() == [False]


def _tiny() -> World:
    scenario = scenario_from_dict({
        "name": "signing-worker", "seed": SEED, "blocks": 24,
        "hyperparameters": {"max_allowed_uids": 10, "tempo": 9, "weights_rate_limit": 2},
        "task": {"hidden": 8, "depth": 1, "pretrain_steps": 16, "batch": 8},
        "validation": {"query_interval": 1, "sample_size": 6, "deadline": 4.0},
        "query_policy": {"rate_limit": 0},
        "neurons": [
            {"role": "validator", "count": 2, "behaviour": "honest", "stake": 1000.0},
            {"role": "miner", "count": 4, "behaviour": "honest",
             "options": {"quality": 1.0, "quality_low": 0.2}},
            {"role": "miner", "count": 1, "behaviour": "lazy"},
            {"role": "miner", "count": 1, "behaviour": "malformed"},
        ],
    })
    world = World(scenario, scenario.seed)
    world.start()
    return world


def test_a_signed_run_is_the_same_wherever_and_whenever_the_signatures_are_checked(mode):
    """Rounds are scored when their checks are in (the next time anything needs the scores):
    reading every validator's scores after every block (scoring each round at once) and
    moving the cryptography between a process, a thread and in place change nothing."""
    outcomes = []
    for where, watched in (("process", False), ("thread", False), ("inline", True)):
        mode(where)
        world = _tiny()
        waiting = 0
        for block in range(1, 25) if watched else (24,):
            world.run_to_block(block)
            if watched:
                for validator in world.validators:
                    waiting += len(validator._unscored)
                    validator.scores  # noqa: B018 - reading scores scores the rounds in
                    assert not validator._unscored
        assert waiting or not watched  # rounds did wait to be scored
        scores = np.stack([v.scores for v in world.validators])
        stats = [v.stats for v in world.validators]
        outcomes.append((world.chain.head_hash, scores, stats))
        assert sum(s["rounds"] for s in stats) >= 40 and scores.max() > 0
        assert sum(s["unsigned"] for s in stats) == 0  # honest replies verify
    for digest, scores, stats in outcomes[1:]:
        assert digest == outcomes[0][0] and stats == outcomes[0][2]
        np.testing.assert_array_equal(scores, outcomes[0][1])
