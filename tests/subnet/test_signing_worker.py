"""The signing worker: jobs run on a thread, in order, after the jobs they read, and a signed run
does not depend on where or when its signatures are made and checked
(``subnet.signing_worker``)."""

from __future__ import annotations

import dataclasses
import os
import threading

import numpy as np
import pytest
import torch

from subnetsim.subnet import signing_worker
from subnetsim.subnet.provenance import (
    hotkey_public_key,
    output_digest,
    secret_key_table,
    sign_batch,
    verify_batch,
    verify_reply,
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


def test_jobs_run_on_the_thread_in_order_and_a_failure_surfaces_where_it_is_read(mode,
                                                                                monkeypatch):
    mode("thread")
    monkeypatch.setattr(signing_worker, "_BACKLOG", 100)  # nothing runs at once in the caller
    ran = threading.Event()
    on = signing_worker.submit(lambda: ran.set() or threading.get_ident())
    assert ran.wait(5.0) and on.result() != threading.get_ident()  # not read: the thread ran it
    failed = signing_worker.submit(int, "not a number")
    with pytest.raises(RuntimeError, match="ValueError: invalid literal"):
        failed.result()
    assert signing_worker.submit(sum, [1, 2, 3]).result() == 6  # the thread goes on
    order: list[int] = []
    jobs = [signing_worker.submit(order.append, n) for n in range(8)]
    jobs[-1].result()  # waits for (or runs) every job queued before it
    assert order == list(range(8)) and all(job.done for job in jobs)


def test_a_job_runs_after_the_job_whose_result_it_reads(mode):
    """Whoever runs a job (the thread, or a reader that found it queued) first waits for its
    ``after``: a verification never reads signatures not yet made."""
    mode("thread")
    gate = threading.Event()
    first = signing_worker.submit(lambda: gate.wait(5.0) and "signed")
    second = signing_worker.submit(lambda: first.result() + " and checked", after=first)
    threading.Timer(0.05, gate.set).start()
    assert second.result() == "signed and checked"


@pytest.mark.parametrize("where", [*signing_worker.MODES, "here"])
def test_a_round_is_signed_and_checked_against_the_validators_own_digests(mode, where,
                                                                          monkeypatch):
    """The verification job reads the signing job's signatures once made (on the thread, or
    here when the thread was behind) and checks each reply against the digest the validator
    took of the output it received."""
    if where == "here":
        monkeypatch.setattr(signing_worker, "_BACKLOG", -1)  # always "behind": run here
    mode("thread" if where == "here" else where)
    answers = [torch.full((4, 1), float(i)) for i in range(4)]
    keys = secret_key_table(SEED, [f"miner-{i}" for i in range(4)])
    signers = [(i, f"miner-{i}", i) for i in (0, 1, 3)]
    batch = sign_batch(4, signers, QUERY, BLOCK, answers, keys).only([True, True, False, True])
    checks = [(i, f"miner-{i}", hotkey_public_key(SEED, f"miner-{i}"), output_digest(answers[i]))
              for i in (0, 1, 2, 3)]
    checks[1] = (1, "miner-1", hotkey_public_key(SEED, "miner-1"), output_digest(answers[0]))
    checks.append((3, "miner-3", hotkey_public_key(SEED, "miner-0"), output_digest(answers[3])))
    verdicts = verify_batch(checks, batch, query=QUERY, block=BLOCK).result()
    # 0 valid; 1 signed another output; 2 never signed; 3 valid; 3 under another hotkey's key
    assert verdicts.tolist() == [True, False, False, True, False]
    assert batch[2] is None and batch[3] is not None and batch[3].hotkey == "miner-3"
    assert verify_reply(hotkey_public_key(SEED, "miner-3"), batch[3], query=QUERY, block=BLOCK,
                        payload=answers[3])  # the one verifier agrees, reply by reply
    assert verify_batch(checks[:1], batch, query=bytes(16), block=BLOCK).result().tolist() == [
        False]
    whole = tuple(batch)  # as replies come over a wire: whole, one of them tampered with
    tampered = dataclasses.replace(whole[0], signature=bytes(64))
    verdicts = verify_batch(checks, (tampered, *whole[1:]), query=QUERY, block=BLOCK).result()
    assert verdicts.tolist() == [False, False, False, True, False]


def test_many_threads_reading_the_same_results_all_get_them(mode, monkeypatch):
    """Each reader gets the value (it stays with the job), and nobody holds the lock while it
    waits: the old process worker handed a result to its first reader only, and a second
    reader of the same job waited for it forever, holding the lock everyone needed."""
    mode("thread")
    monkeypatch.setattr(signing_worker, "_BACKLOG", 100)  # every job queued
    gate = threading.Event()
    jobs = [signing_worker.submit(lambda n=n: gate.wait(5.0) and n) for n in range(6)]
    got: list[list[int]] = []

    def read() -> None:
        got.append([job.result() for job in jobs])

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    submitted = signing_worker.submit(len, "four")  # the lock is free while they wait
    gate.set()
    for reader in readers:
        reader.join(10.0)
    assert not any(reader.is_alive() for reader in readers)
    assert got == [list(range(6))] * 4 and submitted.result() == 4


def test_a_forked_child_finishes_the_jobs_its_parent_had_not(mode):
    """A fork while jobs wait (or run) on the parent's thread: the child has no such thread,
    and runs them itself when it reads their results."""
    mode("thread")
    gate = threading.Event()
    running = signing_worker.submit(lambda: gate.wait(5.0) and 1)  # holds the thread
    queued = signing_worker.submit(lambda: running.result() + 1, after=running)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        gate.set()  # the child's copy of the gate: its own run of ``running`` ends at once
        try:
            os.write(writer, str(queued.result()).encode())
        finally:
            os._exit(0)
    gate.set()
    os.close(writer)
    with os.fdopen(reader) as answer:
        assert answer.read() == "2"
    os.waitpid(child, 0)
    assert queued.result() == 2


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
    moving the cryptography between the thread and in place change nothing."""
    outcomes = []
    for where, watched in (("thread", False), ("inline", True)):
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
