"""The SQLite run store: round trips, buffered atomic writes, checkpoints, crashes, bad files."""

from __future__ import annotations

import dataclasses
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subnetsim.audit import verify_run
from subnetsim.subnet.emission import PendingEmission, settle_epoch
from subnetsim.subnet.errors import StoreError
from subnetsim.subnet.records import (
    GENESIS_PARENT,
    BlockRecord,
    EpochRecord,
    EventRecord,
    ExtrinsicRecord,
    block_hash,
    contents_hash,
    digest,
    epoch_to_data,
    extrinsics_hash,
    run_commitment,
)
from subnetsim.subnet.store.run_store import SCHEMA_VERSION, RunInfo, RunStore
from subnetsim.subnet.yuma import EpochInputs, YumaParams
from subnetsim.subnet.yuma import epoch as yuma_epoch

ROOT = Path(__file__).resolve().parents[2]


# -- a small deterministic chain, shared with test_audit and test_export -----------------------

def make_extrinsics(number: int) -> list[ExtrinsicRecord]:
    """Two extrinsics per block (one rejected), none on every fifth block."""
    if number % 5 == 0:
        return []
    return [
        ExtrinsicRecord(block=number, index=0, kind="set_weights", hotkey=f"hk{number % 3}",
                        payload={"uids": [0, 1, 2], "weights": [0.5, 0.25, number / 7]},
                        accepted=True),
        ExtrinsicRecord(block=number, index=1, kind="add_stake", hotkey="hk9",
                        payload={"amount": 1.5, "note": "é"}, accepted=False,
                        error="NotEnoughBalance"),
    ]


def make_epoch(number: int, index: int, n: int = 4) -> EpochRecord:
    """A real epoch of a 4-uid subnet (uids 0 and 1 validate), with weights that depend on
    ``index``, computed and paid by the chain's own functions."""
    weights = [[0, 0, 1 + index, 3], [0, 0, 2, 1 + index % 3]]
    inputs = EpochInputs(stake=[10.0, 5.0, 0.0, 0.0], weights=weights, bonds=np.zeros((2, n)),
                         validator_uids=[0, 1], validator_permit=[True, True, False, False],
                         last_update=[number] * n, block_at_registration=[0] * n,
                         current_block=number, recent_registration_block=max(number - 3, 0))
    params = YumaParams(kappa=0.5)
    pending = PendingEmission(owner=0.72, miners=1.64, validators=1.64)
    outputs = yuma_epoch(inputs, params)
    payout = settle_epoch(pending, outputs.server_emission, outputs.validator_emission)
    return EpochRecord.of(block=number, index=index, inputs=inputs, params=params,
                          pending=pending, outputs=outputs, payout=payout,
                          stake=inputs.stake + payout.incentive_tao + payout.dividends_tao)


def checkpoint_state(number: int) -> bytes:
    """The checkpoint bytes block ``number`` of the test chain commits to."""
    return f"state at {number}".encode()


def make_block(number: int, parent_hash: str, checkpoint: bool = False
               ) -> tuple[BlockRecord, list[ExtrinsicRecord], list[EventRecord],
                          EpochRecord | None]:
    """Block ``number`` of the test chain: everything but the parent link depends on it alone."""
    extrinsics = make_extrinsics(number)
    ext_hash = extrinsics_hash(extrinsics)
    root = digest("state", str(number))
    events = [EventRecord(block=number, kind="tick", data={"n": number})]
    if checkpoint:  # the block commits to the checkpoint taken at it, as the chain's do
        events.append(EventRecord(block=number, kind="checkpoint",
                                  data={"state_digest": digest(checkpoint_state(number))}))
    if number % 4 == 0:
        events.append(EventRecord(block=number, kind="epoch", data={"index": number // 4}))
    epoch = make_epoch(number, number // 4) if number % 4 == 0 else None
    contents = contents_hash(events, epoch)
    block = BlockRecord(number=number, time=12.0 * number, parent_hash=parent_hash,
                        extrinsics_hash=ext_hash, state_root=root,
                        hash=block_hash(number, 12.0 * number, parent_hash, ext_hash, contents,
                                        root))
    return block, extrinsics, events, epoch


# Block 1's parent of a run made by ``new_run`` (the chain commits to its run row).
TEST_RUN = {"config_json": '{"tempo":4}', "seed": 7, "scenario_name": "default",
            "code_version": "test"}
TEST_COMMITMENT = run_commitment(**TEST_RUN)


def build_blocks(count: int, first: int = 1, parent: str = TEST_COMMITMENT,
                 checkpoints: tuple[int, ...] = ()) -> list[tuple]:
    """``count`` linked blocks of the test chain, as ``make_block`` tuples; the blocks in
    ``checkpoints`` commit to a checkpoint."""
    out = []
    for number in range(first, first + count):
        out.append(make_block(number, parent, number in checkpoints))
        parent = out[-1][0].hash
    return out


def new_run(store: RunStore, name: str = "default") -> int:
    return store.create_run(**{**TEST_RUN, "scenario_name": name})


def fill(store: RunStore, run_id: int, count: int) -> list[tuple]:
    """Append and flush blocks 1..count of the test chain."""
    blocks = build_blocks(count)
    for block, extrinsics, events, epoch in blocks:
        store.append_block(run_id, block, extrinsics, events, epoch)
    store.flush()
    return blocks


@pytest.fixture
def store(tmp_path: Path):
    with RunStore.open(tmp_path / "runs.db") as opened:
        yield opened


# -- round trips ------------------------------------------------------------------------------

def test_runs_round_trip_in_creation_order(store: RunStore):
    first = new_run(store, "a")
    second = store.create_run(scenario_name="b", config_json="{}", seed=2**63 - 1,
                              code_version="v2")
    assert store.latest_run_id() == second > first
    assert store.runs() == [store.run(first), store.run(second)]
    assert store.run(second) == RunInfo(run_id=second, scenario_name="b", config_json="{}",
                                        seed=2**63 - 1, code_version="v2", status="running")
    store.set_status(first, "finished")
    assert store.run(first).status == "finished"


def test_blocks_extrinsics_events_epochs_round_trip(store: RunStore):
    run_id = new_run(store)
    blocks = fill(store, run_id, 12)
    assert list(store.blocks(run_id)) == [b[0] for b in blocks]
    assert store.head(run_id) == blocks[-1][0]
    assert store.block(run_id, 3) == blocks[2][0]
    for block, extrinsics, _, _ in blocks:
        assert store.extrinsics(run_id, block.number) == extrinsics
    assert list(store.events(run_id)) == [e for b in blocks for e in b[2]]
    assert [e.data for e in store.events(run_id, kinds=["epoch"])] == [
        {"index": 1}, {"index": 2}, {"index": 3}]
    assert list(store.events(run_id, kinds="epoch")) == list(store.events(run_id, ["epoch"]))
    assert list(store.events(run_id, kinds=[])) == []
    assert [epoch_to_data(e) for e in store.epochs(run_id)] == [
        epoch_to_data(b[3]) for b in blocks if b[3] is not None]
    assert epoch_to_data(store.epoch_at_or_before(run_id, 11)) == epoch_to_data(blocks[7][3])
    assert store.epoch_at_or_before(run_id, 3) is None


def test_empty_run_and_missing_things(store: RunStore):
    run_id = new_run(store)
    assert store.head(run_id) is None
    assert list(store.blocks(run_id)) == []
    assert store.latest_checkpoint(run_id) is None
    assert store.extrinsics(run_id, 1) == []
    with pytest.raises(StoreError, match="run 1 has no block 5"):
        store.block(run_id, 5)
    for call in (lambda: store.run(99), lambda: store.head(99), lambda: store.extrinsics(99, 1),
                 lambda: store.blocks(99), lambda: store.set_status(99, "finished")):
        with pytest.raises(StoreError, match="no run 99"):
            call()


def test_latest_run_id_of_an_empty_store(store: RunStore):
    with pytest.raises(StoreError, match="holds no run"):
        store.latest_run_id()


def test_runs_in_one_file_are_separate(store: RunStore):
    one, two = new_run(store), new_run(store)
    fill(store, one, 6)
    fill(store, two, 3)
    assert store.head(one).number == 6 and store.head(two).number == 3
    store.truncate_after(two, 1)
    assert store.head(one).number == 6 and store.head(two).number == 1


def test_commands_round_trip(store: RunStore):
    run_id = new_run(store)
    store.append_command(run_id, 12.0, {"kind": "pause"})
    store.append_command(run_id, 36.5, {"kind": "set", "key": "kappa", "value": 0.6})
    other = new_run(store)
    store.append_command(other, 1.0, {"kind": "resume"})
    assert store.commands(run_id) == [(12.0, {"kind": "pause"}),
                                      (36.5, {"key": "kappa", "kind": "set", "value": 0.6})]
    assert store.commands(other) == [(1.0, {"kind": "resume"})]


json_data = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.dictionaries(st.text(max_size=6), json_data, max_size=5), data=json_data)
def test_any_json_payload_reads_back_equal_and_hashes_the_same(store: RunStore, payload, data):
    run_id = store.latest_run_id() if store.runs() else new_run(store)
    head = store.head(run_id)
    number = 1 if head is None else head.number + 1
    extrinsic = ExtrinsicRecord(block=number, index=0, kind="k", hotkey="h", payload=payload,
                                accepted=True)
    block = BlockRecord(number=number, time=0.5, parent_hash="p", extrinsics_hash="e",
                        state_root="s", hash="h")
    store.append_block(run_id, block, [extrinsic], [EventRecord(block=number, kind="x",
                                                                data={"v": data})])
    store.flush()
    (back,) = store.extrinsics(run_id, number)
    assert back == extrinsic
    assert extrinsics_hash([back]) == extrinsics_hash([extrinsic])
    assert list(store.events(run_id))[-1].data == {"v": data}


# -- buffered, atomic writes ------------------------------------------------------------------

def test_buffered_blocks_are_invisible_to_another_connection_until_flush(tmp_path: Path):
    path = tmp_path / "runs.db"
    with RunStore.open(path) as writer, RunStore.open(path, create=False) as reader:
        run_id = new_run(writer)
        for block, extrinsics, events, epoch in build_blocks(8):
            writer.append_block(run_id, block, extrinsics, events, epoch)
        assert writer.pending_blocks == 8
        assert reader.head(run_id) is None and list(reader.events(run_id)) == []
        raw = sqlite3.connect(path)
        assert raw.execute("SELECT COUNT(*) FROM extrinsics").fetchone() == (0,)
        writer.flush()
        assert writer.pending_blocks == 0
        assert reader.head(run_id).number == 8
        assert raw.execute("SELECT COUNT(*) FROM extrinsics").fetchone() == (14,)
        raw.close()


def test_clean_exit_flushes_and_an_exception_discards_the_buffer(tmp_path: Path):
    path = tmp_path / "runs.db"
    with RunStore.open(path) as store:
        run_id = new_run(store)
        store.append_block(run_id, *make_block(1, GENESIS_PARENT))
    with pytest.raises(RuntimeError), RunStore.open(path) as store:
        store.append_block(run_id, *make_block(2, store.head(run_id).hash))
        raise RuntimeError("crash")
    with RunStore.open(path) as store:
        assert store.head(run_id).number == 1


def test_other_writes_leave_the_buffer_alone(tmp_path: Path):
    with RunStore.open(tmp_path / "runs.db") as store:
        run_id = new_run(store)
        store.append_block(run_id, *make_block(1, GENESIS_PARENT))
        store.append_command(run_id, 1.0, {"kind": "pause"})
        new_run(store)
        assert store.pending_blocks == 1
        assert store.head(run_id) is None
        store.flush()
        assert store.head(run_id).number == 1


def test_set_status_commits_the_buffer_with_it(tmp_path: Path):
    path = tmp_path / "runs.db"
    with RunStore.open(path) as store, RunStore.open(path) as reader:
        run_id = new_run(store)
        store.append_block(run_id, *make_block(1, GENESIS_PARENT))
        store.set_status(run_id, "finished")
        assert reader.head(run_id).number == 1 and reader.run(run_id).status == "finished"
        with pytest.raises(StoreError, match="status = 'done'"):
            store.set_status(run_id, "done")


def test_a_failed_flush_rolls_back_and_keeps_the_buffer(tmp_path: Path):
    path = tmp_path / "runs.db"
    with RunStore.open(path) as store:
        run_id = new_run(store)
        blocks = build_blocks(3)
        for block, extrinsics, events, epoch in blocks[:2]:
            store.append_block(run_id, block, extrinsics, events, epoch)
        # Another writer sneaks in block 2: the flush must fail whole, not write block 1 alone.
        raw = sqlite3.connect(path)
        raw.execute("INSERT INTO blocks VALUES (?, 2, 0.0, 'p', 'e', 's', 'h')", (run_id,))
        raw.commit()
        with pytest.raises(StoreError, match="write failed"):
            store.flush()
        assert raw.execute("SELECT number FROM blocks").fetchall() == [(2,)]
        assert store.pending_blocks == 2
        raw.execute("DELETE FROM blocks")
        raw.commit()
        raw.close()
        store.flush()
        assert [b.number for b in store.blocks(run_id)] == [1, 2]


def test_append_block_checks_its_records(store: RunStore):
    run_id = new_run(store)
    block, extrinsics, events, _ = make_block(1, GENESIS_PARENT)
    store.append_block(run_id, block, extrinsics, events)
    cases = [
        ((block, extrinsics, events), "not above the previous block 1"),
        ((make_block(2, "p")[0], extrinsics, []), "extrinsic 0 belongs to block 1"),
        ((make_block(2, "p")[0], [], events), r"event 0 \(tick\) belongs to block 1"),
        ((make_block(2, "p")[0], [], [], make_epoch(3, 0)), "epoch 0 belongs to block 3"),
        ((make_block(2, "p")[0], make_extrinsics(2)[1:], []), "position 0 has index 1"),
        ((make_block(2, "p")[0], [], [EventRecord(block=2, kind="x", data={"v": np.int64(1)})]),
         "event 0 data: not plain JSON"),
        ((make_block(2, "p")[0], [], [], dataclasses.replace(make_epoch(2, 0),
                                                             incentive=[math.nan] * 4)),
         "epoch 0 outputs: not plain JSON"),
    ]
    for args, message in cases:
        with pytest.raises(StoreError, match=message):
            store.append_block(run_id, *args)
    assert store.pending_blocks == 1  # a refused block leaves nothing behind
    with pytest.raises(StoreError, match="no run 5"):
        store.append_block(5, *make_block(9, "p"))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"config_json": "{nope"}, "config_json: stored JSON is corrupt"),
    ({"config_json": {"a": 1}}, "config_json: expected a JSON string"),
    ({"seed": 2**64}, "seed = 18446744073709551616"),
    ({"seed": True}, "seed = True"),
])
def test_create_run_checks_its_arguments(store: RunStore, kwargs, message):
    arguments = {"scenario_name": "s", "config_json": "{}", "seed": 1, "code_version": "v"}
    with pytest.raises(StoreError, match=message):
        store.create_run(**{**arguments, **kwargs})


# -- checkpoints and truncation ---------------------------------------------------------------

def test_checkpoint_commits_the_buffer_and_keeps_the_latest_k(tmp_path: Path):
    path = tmp_path / "runs.db"
    with RunStore.open(path, keep_checkpoints=2) as store, RunStore.open(path) as reader:
        run_id = new_run(store)
        for block, extrinsics, events, epoch in build_blocks(9):
            store.append_block(run_id, block, extrinsics, events, epoch)
            if block.number % 3 == 0:
                store.save_checkpoint(run_id, block.number, f"state {block.number}".encode())
                assert reader.head(run_id).number == block.number
        assert reader.latest_checkpoint(run_id) == (9, b"state 9")
        blocks = [row[0] for row in sqlite3.connect(path).execute(
            "SELECT block FROM checkpoints ORDER BY block")]
        assert blocks == [6, 9]
        with pytest.raises(StoreError, match="expected bytes"):
            store.save_checkpoint(run_id, 9, "text")
    with pytest.raises(StoreError, match="keep_checkpoints = 0"):
        RunStore.open(path, keep_checkpoints=0)


def test_truncate_after_drops_everything_later_and_appending_resumes(store: RunStore):
    run_id = new_run(store)
    blocks = build_blocks(12, checkpoints=(6, 10))
    for block, extrinsics, events, epoch in blocks:
        store.append_block(run_id, block, extrinsics, events, epoch)
    store.save_checkpoint(run_id, 6, checkpoint_state(6))
    store.save_checkpoint(run_id, 10, checkpoint_state(10))
    store.truncate_after(run_id, 6)
    assert store.head(run_id) == blocks[5][0]
    assert store.latest_checkpoint(run_id) == (6, checkpoint_state(6))
    assert store.extrinsics(run_id, 7) == []
    assert max(e.block for e in store.events(run_id)) == 6
    assert [e.index for e in store.epochs(run_id)] == [1]
    for block, extrinsics, events, epoch in blocks[6:]:
        store.append_block(run_id, block, extrinsics, events, epoch)
    store.save_checkpoint(run_id, 10, checkpoint_state(10))  # taken again as block 10 recurs
    assert list(store.blocks(run_id)) == [b[0] for b in blocks]
    assert verify_run(store, run_id).digest == blocks[-1][0].hash
    store.truncate_after(run_id, 0)
    assert store.head(run_id) is None and list(store.epochs(run_id)) == []


# -- opening files ----------------------------------------------------------------------------

def test_pragmas_and_schema_version(store: RunStore):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        str(SCHEMA_VERSION),)
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    conn.close()


def test_other_schema_version_is_refused(tmp_path: Path):
    path = tmp_path / "runs.db"
    RunStore.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 99; this subnetsim reads version 2"):
        RunStore.open(path)


@pytest.mark.parametrize(("content", "message"), [
    (b"this is not a database, just text\n" * 40, "not a SQLite database"),
    (b"SQLite format 3\x00" + b"\xff" * 200, "not a SQLite database"),
])
def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message) as caught:
        RunStore.open(path)
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == content  # refused, and left untouched


def test_another_sqlite_database_is_refused(tmp_path: Path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a subnetsim run store"):
        RunStore.open(path)


def test_missing_or_empty_file_without_create(tmp_path: Path):
    with pytest.raises(StoreError, match="missing.db: cannot open run store"):
        RunStore.open(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(StoreError, match="empty file"):
        RunStore.open(tmp_path / "empty.db", create=False)
    with pytest.raises(StoreError, match="cannot open run store"):
        RunStore.open(tmp_path / "no" / "such" / "dir.db")


# -- a real crash -----------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from tests.subnet.test_store import TEST_COMMITMENT, checkpoint_state, make_block, new_run
    from subnetsim.subnet.store import RunStore

    path, last = sys.argv[1], int(sys.argv[2])
    store = RunStore.open(path)
    runs = store.runs()
    run_id = runs[0].run_id if runs else new_run(store)
    store.claim_writer(run_id)
    checkpoint = store.latest_checkpoint(run_id)
    # Resume as the simulator does: back to the checkpoint and the hash of its block.
    start, parent = (1, TEST_COMMITMENT) if checkpoint is None else (
        checkpoint[0] + 1, store.block(run_id, checkpoint[0]).hash)
    store.truncate_after(run_id, start - 1)
    print("ready", flush=True)
    for number in range(start, last + 1):
        block, extrinsics, events, epoch = make_block(number, parent, number % 7 == 0)
        store.append_block(run_id, block, extrinsics, events, epoch)
        parent = block.hash
        if number % 7 == 0:
            store.save_checkpoint(run_id, number, checkpoint_state(number))
        elif number % 3 == 0:
            store.flush()
    store.set_status(run_id, "finished")
    store.close()
""")


def _check_after_crash(path: Path) -> int:
    """The store opens, its chain verifies, and its checkpoint matches a stored block."""
    with RunStore.open(path, create=False) as store:
        run_id = store.latest_run_id()
        report = verify_run(store, run_id)
        head = store.head(run_id)
        checkpoint = store.latest_checkpoint(run_id)
        if checkpoint is not None:
            assert head is not None and checkpoint[0] <= head.number
            assert checkpoint[1] == checkpoint_state(checkpoint[0])
        return report.blocks_checked


def _kill_while_writing(script: Path, path: Path, delay: float) -> None:
    """Start a writer that would run for minutes and SIGKILL it ``delay`` seconds in."""
    child = subprocess.Popen([sys.executable, str(script), str(path), str(10**7), str(ROOT)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        with pytest.raises(subprocess.TimeoutExpired):  # still writing when killed
            child.wait(timeout=delay)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:  # a failed assertion must not leave it writing
            child.kill()
            child.wait()
        child.stdout.close()


def test_sigkill_at_a_random_moment_leaves_a_consistent_store(tmp_path: Path):
    path, script = tmp_path / "crash.db", tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random(20240531)
    heads = []
    for _ in range(4):
        # The writer spends most of its time in commits, so the kill usually lands inside one.
        _kill_while_writing(script, path, rng.uniform(0.02, 0.25))
        heads.append(_check_after_crash(path))
    assert heads[-1] > 0
    # A last, uninterrupted resume ends on exactly the uninterrupted chain's digest. (The
    # timeout only guards against a hang: every block commits, and fsync on a busy disk is slow.)
    last = heads[-1] + 20
    subprocess.run([sys.executable, str(script), str(path), str(last), str(ROOT)], check=True,
                   capture_output=True, timeout=240)
    with RunStore.open(path, create=False) as store:
        assert store.run(1).status == "finished"
        assert verify_run(store, 1).digest == build_blocks(
            last, checkpoints=tuple(range(7, last + 1, 7)))[-1][0].hash
