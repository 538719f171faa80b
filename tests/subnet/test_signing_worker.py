"""The signing worker: jobs run on a thread, in order, after the jobs they read, and a signed run
does not depend on where or when its signatures are made and checked
(``subnet.signing_worker``)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest
import torch
from nacl.signing import SigningKey

from subnetsim.subnet import signing_worker
from subnetsim.subnet.provenance import (
    hotkey_public_key,
    output_digest,
    reply_message,
    secret_key_table,
    sign_batch,
    verify_batch,
    verify_reply,
)
from subnetsim.subnet.scenario import scenario_from_dict
from subnetsim.subnet.sodium import sign_replies
from subnetsim.world import World

SEED = 5
QUERY, BLOCK = bytes(range(16)), 9


@pytest.fixture()
def mode():
    """Restore the process's mode after a test that picks one."""
    before = signing_worker._mode
    yield signing_worker.use
    signing_worker.use(before)


def _keys(count: int) -> tuple[np.ndarray, np.ndarray]:
    """(count, 64) libsodium secret keys and (count, 32) public keys of test hotkeys."""
    hotkeys = [f"miner-{n}" for n in range(count)]
    public = np.frombuffer(b"".join(hotkey_public_key(SEED, h) for h in hotkeys), np.uint8)
    return secret_key_table(SEED, hotkeys), public.reshape(count, 32)


def _verify(checks: list[tuple[int, str, bytes, Any]], signatures: Any, query: bytes,
            block: int) -> Any:
    """``verify_batch`` of ``(index, hotkey, public key, payload)`` checks (the hotkey says
    who should have signed; its key is what decides)."""
    keys = np.frombuffer(b"".join(key for _, _, key, _ in checks), np.uint8).reshape(-1, 32)
    return verify_batch([index for index, _, _, _ in checks], keys,
                        [payload for _, _, _, payload in checks], signatures, query=query,
                        block=block)


def _answers(rows: int, salt: int) -> list[torch.Tensor]:
    """``rows`` answers of a round (small tensors)."""
    rng = np.random.default_rng(salt)
    return [torch.from_numpy(rng.standard_normal((4, 2)).astype(np.float32))
            for _ in range(rows)]


def _signed_and_checked() -> tuple[Any, Any, np.ndarray]:
    """A signing job (16 answers by 4 hotkeys), the verification job that reads it, and the
    verdicts expected: every reply checked under its signer's public key but row 3, checked
    under another key."""
    secret, _ = _keys(4)
    answers = _answers(16, 1)
    hotkeys = [f"miner-{row % 4}" for row in range(16)]
    batch = sign_batch(16, [(row, hotkeys[row], row % 4) for row in range(16)], QUERY, BLOCK,
                       answers, secret)
    checks = [(row, hotkeys[row], hotkey_public_key(SEED, hotkeys[row]), answers[row])
              for row in range(16)]
    checks[3] = (3, hotkeys[3], hotkey_public_key(SEED, "miner-0"), answers[3])
    expected = np.ones(16, np.bool_)
    expected[3] = False
    return batch.job, _verify(checks, batch, QUERY, BLOCK), expected


def test_jobs_run_on_the_native_thread_without_the_gil_and_in_order(mode, monkeypatch):
    """Queued jobs finish while this thread holds the GIL and never lets it go (a Python
    thread could not: it needs the GIL between batches), each verification after the signing
    job it reads; the signatures are libsodium's (as PyNaCl makes them)."""
    mode("thread")
    monkeypatch.setattr(signing_worker, "_BACKLOG", 100)  # every job queued
    here = signing_worker.stats["here"]
    jobs = [_signed_and_checked() for _ in range(6)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(100.0)  # no other Python thread gets the GIL meanwhile
    try:
        deadline = time.monotonic() + 10.0
        lane = signing_worker._lane()
        while lane.control.behind() and time.monotonic() < deadline:
            pass  # pure Python: holds the GIL
        assert not lane.control.behind()
    finally:
        sys.setswitchinterval(switch)
    for _, checked, expected in jobs:
        np.testing.assert_array_equal(checked.result(), expected)
    assert signing_worker.stats["here"] == here  # none run here: the thread ran them all
    secret, _ = _keys(4)
    answer = _answers(16, 1)[5]
    made = SigningKey(secret[1, :32].tobytes()).sign(
        reply_message(QUERY, BLOCK, output_digest(answer)))  # row 5: miner-1's
    assert jobs[0][0].result()[5, 32:].tobytes() == made.signature


def test_the_cryptographys_cpu_time_is_counted_on_the_thread_that_ran_it(mode, monkeypatch):
    """``cpu["here"]`` counts the rows a caller ran and ``thread_seconds()`` the signing
    thread's own CPU clock: the split the benchmark's floor reads (bench_agents.py). Inline,
    every row runs here; queued and left alone, every row runs on the thread, whose clock
    then accounts for the CPU the process spent besides this thread's."""
    if signing_worker.thread_seconds() is None:
        pytest.skip("no per-thread CPU clock on this platform")
    monkeypatch.setattr(signing_worker, "_BACKLOG", 100)  # every job queued
    mode("inline")
    _signed_and_checked()  # the batches loaded (numba's cache) or compiled
    here, mine = signing_worker.cpu["here"], time.thread_time()
    for _ in range(10):
        _signed_and_checked()
    here, mine = signing_worker.cpu["here"] - here, time.thread_time() - mine
    assert 0.5 * mine < here <= mine  # the rows are most of the work, and all of it ran here
    mode("thread")
    _signed_and_checked()[1].result()  # the thread started
    before = signing_worker.cpu["here"], signing_worker.thread_seconds()
    process, mine = time.process_time(), time.thread_time()
    jobs = [_signed_and_checked() for _ in range(10)]
    deadline = time.monotonic() + 10.0
    while not all(signed.done and checked.done for signed, checked, _ in jobs):
        assert time.monotonic() < deadline
    thread = signing_worker.thread_seconds() - before[1]
    others = (time.process_time() - process) - (time.thread_time() - mine)
    assert signing_worker.cpu["here"] == before[0]  # nothing ran here
    assert thread > 0.5 * here  # the same work as inline, give or take the machine's mood
    assert abs(others - thread) <= 0.2 * thread + 0.01
    for _, checked, expected in jobs:
        np.testing.assert_array_equal(checked.result(), expected)


def test_a_reader_runs_a_job_the_thread_has_not_started_after_the_job_it_reads(mode,
                                                                             monkeypatch):
    """Reading a queued job runs it here, first waiting for (or running) the job it reads:
    a verification never reads signatures not yet made, whoever gets to which job first."""
    mode("thread")
    monkeypatch.setattr(signing_worker, "_BACKLOG", 100)
    for _ in range(20):
        signed, checked, expected = _signed_and_checked()
        np.testing.assert_array_equal(checked.result(), expected)
        assert signed.done and checked.done


def test_rows_shared_between_the_thread_and_readers_make_the_results_made_in_place(
        mode, monkeypatch):
    """Readers take a job's rows a chunk at a time beside the thread (read at once, in a
    shuffled order, rounds of 1 to 40 rows): every claim and verdict equals the one made in
    place, and nothing is left unfinished."""
    monkeypatch.setattr(signing_worker, "_BACKLOG", 1000)
    secret, _ = _keys(4)
    sizes = [1 + (7 * n) % 40 for n in range(30)]
    outcomes = {}
    for where in ("inline", "thread"):
        mode(where)
        jobs = []
        for size, answers in ((size, _answers(size, size)) for size in sizes):
            hotkeys = [f"miner-{row % 4}" for row in range(size)]
            batch = sign_batch(size, [(row, hotkeys[row], row % 4) for row in range(size)],
                               QUERY, BLOCK, answers, secret)
            checks = [(row, hotkeys[row], hotkey_public_key(SEED, hotkeys[row ^ (row == 5)]),
                       answers[row]) for row in range(size)]
            jobs.append((batch.job, _verify(checks, batch, QUERY, BLOCK)))
        order = np.random.default_rng(3).permutation(2 * len(jobs))
        for pick in order.tolist():
            jobs[pick // 2][pick % 2].result()
        outcomes[where] = [(signed.result().copy(), checked.result().copy())
                           for signed, checked in jobs]
        assert all(signed.done and checked.done for signed, checked in jobs)
    for (claims, verdicts), (in_place, expected) in zip(outcomes["thread"], outcomes["inline"],
                                                        strict=True):
        np.testing.assert_array_equal(claims, in_place)
        np.testing.assert_array_equal(verdicts, expected)
    assert sum(not v.all() for _, v in outcomes["inline"]) == sum(size > 5 for size in sizes)


def test_a_batch_that_does_not_fit_is_refused_at_once(mode):
    """The thread reads arrays by address: a wrong shape, type or row index is a ValueError
    when submitted, never a read outside an array."""
    mode("thread")
    secret, _ = _keys(4)
    prefix, headers = np.zeros(70, np.uint8), np.zeros(8, np.uint8)
    sources = np.array([[0, 8, 0, 0]] * 4, np.int64)  # header only: no data read
    key_rows, claims = np.arange(4, dtype=np.int64), np.zeros((4, 96), np.uint8)
    with pytest.raises(ValueError, match="key rows outside"):
        signing_worker.submit(sign_replies, prefix, headers, sources, secret, key_rows + 4,
                              claims)
    with pytest.raises(ValueError, match="not C-ordered"):  # a view: its rows are not 32 bytes
        signing_worker.submit(sign_replies, prefix, headers, sources, secret, key_rows,
                              claims[:, :32])
    with pytest.raises(ValueError, match="claims: expected one row of 96 bytes"):
        signing_worker.submit(sign_replies, prefix, headers, sources, secret, key_rows,
                              claims[:, :32].copy())
    with pytest.raises(ValueError, match="expects writable C-ordered arrays"):  # int32 rows
        signing_worker.submit(sign_replies, prefix, headers, sources, secret,
                              key_rows.astype(np.int32), claims)
    with pytest.raises(ValueError, match="outside the headers"):
        signing_worker.submit(sign_replies, prefix, headers[:4], sources, secret, key_rows,
                              claims)
    with pytest.raises(ValueError, match="not a libsodium batch"):
        signing_worker.submit(len, prefix)
    assert signing_worker.submit(sign_replies, prefix, headers, sources, secret, key_rows,
                                 claims).result() is claims


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
    checks = [(i, f"miner-{i}", hotkey_public_key(SEED, f"miner-{i}"), answers[i])
              for i in (0, 1, 2, 3)]
    checks[1] = (1, "miner-1", hotkey_public_key(SEED, "miner-1"), answers[0])
    checks.append((3, "miner-3", hotkey_public_key(SEED, "miner-0"), answers[3]))
    verdicts = _verify(checks, batch, QUERY, BLOCK).result()
    # 0 valid; 1 signed another output; 2 never signed; 3 valid; 3 under another hotkey's key
    assert verdicts.tolist() == [True, False, False, True, False]
    assert batch[2] is None and batch[3] is not None and batch[3].hotkey == "miner-3"
    assert verify_reply(hotkey_public_key(SEED, "miner-3"), batch[3], query=QUERY, block=BLOCK,
                        payload=answers[3])  # the one verifier agrees, reply by reply
    assert _verify(checks[:1], batch, bytes(16), BLOCK).result().tolist() == [
        False]
    whole = tuple(batch)  # as replies come over a wire: whole, one of them tampered with
    tampered = dataclasses.replace(whole[0], signature=bytes(64))
    verdicts = _verify(checks, (tampered, *whole[1:]), QUERY, BLOCK).result()
    assert verdicts.tolist() == [False, False, False, True, False]


def test_a_claim_for_an_index_outside_the_batch_is_refused(mode):
    """An index the batch has no row for (negative, or past its end) is a False verdict, never
    another row's claim read from the end."""
    mode("thread")
    answers = [torch.full((4, 1), float(i)) for i in range(4)]
    keys = secret_key_table(SEED, [f"miner-{i}" for i in range(4)])
    batch = sign_batch(4, [(i, f"miner-{i}", i) for i in range(4)], QUERY, BLOCK, answers, keys)
    key = hotkey_public_key(SEED, "miner-3")
    checks = [(3, "miner-3", key, answers[3]), (-1, "miner-3", key, answers[3]),
              (4, "miner-3", key, answers[3])]
    assert _verify(checks, batch, QUERY, BLOCK).result().tolist() == [True, False, False]


def test_drain_returns_once_every_queued_job_has_run(mode, monkeypatch):
    """``drain`` (the benchmark's end of a timed chunk) leaves no job behind (8 rounds are
    ~10 ms of libsodium: without it the last ones are still queued when checked)."""
    mode("thread")
    monkeypatch.setattr(signing_worker, "_BACKLOG", 100)  # every job queued
    jobs = [_signed_and_checked() for _ in range(8)]
    signing_worker.drain()
    assert all(signed.done and checked.done for signed, checked, _ in jobs)
    for _, checked, expected in jobs:
        np.testing.assert_array_equal(checked.result(), expected)


def test_many_threads_reading_the_same_results_all_get_them(mode, monkeypatch):
    """Each reader gets the result (it stays with the job), and nobody holds the lock while
    it waits: the old process worker handed a result to its first reader only, and a second
    reader of the same job waited for it forever, holding the lock everyone needed."""
    mode("thread")
    monkeypatch.setattr(signing_worker, "_BACKLOG", 100)  # every job queued
    jobs = [_signed_and_checked() for _ in range(6)]
    got: list[list[bool]] = []

    def read() -> None:
        got.append([bool((checked.result() == expected).all())
                    for _, checked, expected in jobs])

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    submitted = _signed_and_checked()  # the lock is free while they wait
    for reader in readers:
        reader.join(10.0)
    assert not any(reader.is_alive() for reader in readers)
    assert got == [[True] * 6] * 4
    np.testing.assert_array_equal(submitted[1].result(), submitted[2])


def test_a_forked_child_finishes_the_jobs_its_parent_had_not(mode, monkeypatch):
    """A fork while jobs wait (or run) on the parent's thread: the child has no such thread,
    and runs them itself when it reads their results."""
    mode("thread")
    monkeypatch.setattr(signing_worker, "_BACKLOG", 100)
    jobs = [_signed_and_checked() for _ in range(8)]  # the last ones still queued at the fork
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            fine = all((checked.result() == expected).all() for _, checked, expected in jobs)
            again = _signed_and_checked()  # and the child's own thread serves new jobs
            fine = fine and bool((again[1].result() == again[2]).all())
            os.write(writer, b"ok" if fine else b"wrong")
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answer:
        assert answer.read() == "ok"
    os.waitpid(child, 0)
    assert all((checked.result() == expected).all() for _, checked, expected in jobs)


def test_jobs_queued_at_exit_finish_before_their_arrays_go(tmp_path):
    """The thread reads a job's arrays until it is done: a process that exits with jobs
    queued waits for them. An exit handler registered before the worker's (so run after it)
    finds every job's signatures written."""
    script = tmp_path / "exit.py"
    script.write_text(
        "import atexit\n"
        "import numpy as np\n"
        "outputs = []\n"
        "atexit.register(lambda: print('all written', all(o.any(axis=1).all() for o in outputs)))\n"
        "from subnetsim.subnet import signing_worker\n"
        "from subnetsim.subnet.sodium import sign_replies\n"
        "signing_worker._BACKLOG = 1000\n"
        "keys, headers = np.zeros((1, 64), np.uint8), np.zeros(8, np.uint8)\n"
        "sources = np.array([[0, 8, 0, 0]] * 16, np.int64)\n"
        "for n in range(200):\n"
        "    outputs.append(np.zeros((16, 96), np.uint8))\n"
        "    signing_worker.submit(sign_replies, np.full(120, n % 256, np.uint8), headers,\n"
        "                          sources, keys, np.zeros(16, np.int64), outputs[-1])\n"
        "print('queued at exit', signing_worker._lane().control.behind() > 0)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["queued at exit True", "all written True"]


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
