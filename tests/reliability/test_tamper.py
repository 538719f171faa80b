"""The tamper matrix: one attack per row a run owns, each refused or detected by the real CLI.

A genuine run of ``tests/data/small.toml`` (240 blocks, a checkpoint every 40, one mid-run
command) is recorded once; every case edits a copy of its file as an attacker with ``sqlite3``
would, then runs ``subnetsim verify`` (with or without the head printed at the end of the run)
or ``subnetsim run --resume``. ``docs/audit.md`` lists what is caught without the anchor.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
from pathlib import Path

import pytest

from subnetsim.cli import main
from subnetsim.commands import hyperparameter_entry, replay
from subnetsim.sessions import save_session
from subnetsim.subnet.records import block_hash, contents_hash, digest
from subnetsim.subnet.scenario import load_scenario
from subnetsim.subnet.store import RunStore
from subnetsim.subnet.store.state_codec import CheckpointError, decode_state, encode_state
from subnetsim.world import CHECKPOINT_TYPES

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "data" / "small.toml"


@pytest.fixture(scope="module")
def genuine(tmp_path_factory) -> tuple[Path, str]:
    """A recorded run with a command log, and its anchor (``NUMBER:HASH``)."""
    folder = tmp_path_factory.mktemp("genuine")
    saved = save_session(load_scenario(SMALL), 3, [hyperparameter_entry(100, "kappa", 0.6)],
                         240, folder)
    return saved.db, f"240:{saved.digest}"


@pytest.fixture
def copy(genuine, tmp_path) -> tuple[Path, str]:
    path = tmp_path / "run.db"
    shutil.copy(genuine[0], path)
    return path, genuine[1]


def sql(path: Path, *statements: str, params: tuple = ()) -> None:
    """Edit the file behind the store's back (foreign keys off, as a hand edit would be)."""
    conn = sqlite3.connect(path)
    for statement in statements:
        changed = conn.execute(statement, params if "?" in statement else ()).rowcount
        assert changed > 0, f"the attack changed nothing: {statement}"
    conn.commit()
    conn.close()


def verify(path: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["verify", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.err.strip()


def test_the_genuine_run_verifies_with_and_without_its_anchor(copy, capsys):
    path, anchor = copy
    assert verify(path, capsys) == (0, "")
    assert verify(path, capsys, "--expect", anchor) == (0, "")
    assert verify(path, capsys, "--expect", anchor.split(":")[1]) == (0, "")
    code, err = verify(path, capsys, "--expect", "240:" + "0" * 64)
    assert code == 1 and "expected the finished run's" in err


ATTACKS = {
    "delete the last 50 blocks": [
        *(f"DELETE FROM {t} WHERE block > 190" for t in ("extrinsics", "events", "epochs",
                                                           "checkpoints")),
        "DELETE FROM blocks WHERE number > 190"],
    "delete every block": [
        *(f"DELETE FROM {t}" for t in ("extrinsics", "events", "epochs", "checkpoints")),
        "DELETE FROM blocks"],
    "edit config_json": ["UPDATE runs SET config_json = replace(config_json, '\"tempo\":20',"
                         " '\"tempo\":21')"],
    "edit the seed": ["UPDATE runs SET seed = 4"],
    "edit the scenario name": ["UPDATE runs SET scenario_name = 'other'"],
    "edit the code version": ["UPDATE runs SET code_version = 'subnetsim 9'"],
    "edit the status": ["UPDATE runs SET status = 'running'"],
    "replace a checkpoint": ["UPDATE checkpoints SET state = X'00' WHERE block = 240"],
    "delete the latest checkpoint": ["DELETE FROM checkpoints WHERE block = 240"],
    "forge a command row": ["INSERT INTO commands VALUES (1, 1, 1200.0, '{\"block\":100,"
                            "\"command\":\"set_hyperparameter\",\"name\":\"kappa\","
                            "\"value\":0.9}')"],
    "edit a command row": ["UPDATE commands SET command_json = replace(command_json, '0.6',"
                           " '0.9')"],
    "delete a command row": ["DELETE FROM commands"],
    "edit an event": ["UPDATE events SET data_json = replace(data_json, 'kappa', 'kapp4')"
                      " WHERE kind = 'command'"],
    "edit an epoch": ["UPDATE epochs SET outputs_json = replace(outputs_json, '0.', '1.')"
                      " WHERE epoch_index = 3"],
    "edit an extrinsic": ["UPDATE extrinsics SET accepted = 1 - accepted WHERE block ="
                          " (SELECT MIN(block) FROM extrinsics) AND idx = 0"],
    "an orphan event": ["INSERT INTO events VALUES (1, 100000, 0, 'halt', '{}')"],
    "a text value that is not UTF-8": ["UPDATE blocks SET hash = CAST(X'9e9f' AS TEXT) WHERE"
                                       " number = 5"],
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_each_attack_fails_verify_without_an_anchor(copy, capsys, attack):
    path, _ = copy
    sql(path, *ATTACKS[attack])
    code, err = verify(path, capsys)
    assert code == 1 and err.startswith("subnetsim verify: FAILED:"), err
    assert "\n" not in err


def _rewrite_from(path: Path, first: int, *, head_too: bool, forge_root: bool = True) -> None:
    """A forger's rewrite: recompute every hash from block ``first`` on (state roots edited at
    ``first``), and optionally the run row's recorded head."""
    with RunStore.open(path, create=False) as store:
        blocks = list(store.blocks(1))
        events = {}
        for event in store.events(1):
            events.setdefault(event.block, []).append(event)
        epochs = {e.block: e for e in store.epochs(1)}
    conn = sqlite3.connect(path)
    parent = blocks[first - 2].hash if first > 1 else blocks[0].parent_hash
    for block in blocks[first - 1:]:
        forged = forge_root and block.number == first
        root = digest("forged", block.state_root) if forged else block.state_root
        new = block_hash(block.number, block.time, parent, block.extrinsics_hash,
                         contents_hash(events.get(block.number, []), epochs.get(block.number)),
                         root)
        conn.execute("UPDATE blocks SET parent_hash = ?, state_root = ?, hash = ? WHERE number"
                     " = ?", (parent, root, new, block.number))
        parent = new
    if head_too:
        conn.execute("UPDATE runs SET head_hash = ?", (parent,))
    conn.commit()
    conn.close()


def test_truncation_with_a_forged_run_row_is_caught_only_by_the_anchor(copy, capsys):
    path, anchor = copy
    sql(path, *ATTACKS["delete the last 50 blocks"][:-1], "DELETE FROM blocks WHERE number > 190",
        "UPDATE runs SET head_number = 190, head_hash = (SELECT hash FROM blocks WHERE number ="
        " 190)")
    code, _ = verify(path, capsys, "--expect", anchor)
    assert code == 1


def test_an_edit_with_every_later_hash_recomputed_is_caught_only_by_the_anchor(copy, capsys):
    path, anchor = copy
    _rewrite_from(path, 150, head_too=True)
    assert verify(path, capsys)[0] == 0  # a consistent forgery: nothing inside can tell
    code, err = verify(path, capsys, "--expect", anchor)
    assert code == 1 and "expected the finished run's" in err
    _rewrite_from(path, 150, head_too=False)
    assert verify(path, capsys)[0] == 1  # without the run row's head, the forgery shows


def _latest_checkpoint(path: Path) -> tuple[int, bytes]:
    with RunStore.open(path, create=False) as store:
        checkpoint = store.latest_checkpoint(1)
    assert checkpoint is not None
    return checkpoint


def _resume(path: Path, capsys) -> tuple[int, str]:
    sql(path, "UPDATE runs SET status = 'running', head_number = NULL, head_hash = NULL")
    code = main(["run", "--db", str(path), "--resume", "--blocks", "300"])
    return code, capsys.readouterr().err.strip()


def test_a_checkpoint_with_5000_tao_added_is_refused_on_resume(copy, capsys):
    path, _ = copy
    number, blob = _latest_checkpoint(path)
    state = decode_state(blob, CHECKPOINT_TYPES)
    state["ledger"].stake[5] += 5000.0
    forged = encode_state(state, CHECKPOINT_TYPES)
    sql(path, "UPDATE checkpoints SET state = ? WHERE block = ?", params=(forged, number))
    assert verify(path, capsys)[0] == 1
    code, err = _resume(path, capsys)
    assert code == 2 and "cannot be trusted" in err and err.count("\n") == 0
    # Even with the block's committed digest forged and every hash recomputed, the restored
    # ledger does not give the state root its block records.
    sql(path, "UPDATE events SET data_json = ? WHERE block = ? AND kind = 'checkpoint'",
        params=(f'{{"state_digest":"{digest(forged)}"}}', number))
    _rewrite_from(path, number, head_too=False, forge_root=False)
    assert verify(path, capsys) == (0, "")  # the forgery is consistent: only the state root tells
    code, err = _resume(path, capsys)
    assert code == 2 and "refusing to resume" in err


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {_Payload.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(copy, capsys, tmp_path):
    path, _ = copy
    _Payload.marker = tmp_path / "pwned"
    evil = pickle.dumps({"block": 240, "x": _Payload()})
    with pytest.raises(CheckpointError, match="not a subnetsim data-only checkpoint"):
        decode_state(evil, CHECKPOINT_TYPES)
    number, _ = _latest_checkpoint(path)
    sql(path, "UPDATE checkpoints SET state = ? WHERE block = ?", params=(evil, number))
    code, err = _resume(path, capsys)
    assert code == 2 and err.startswith("subnetsim run: error:")
    assert not _Payload.marker.exists()


def test_a_genuine_checkpoint_resumes_to_the_uninterrupted_digest(copy, capsys):
    path, _ = copy
    code, _ = _resume(path, capsys)
    assert code == 0
    commands = [hyperparameter_entry(100, "kappa", 0.6)]
    with RunStore.open(path, create=False) as store:
        assert store.head(1).hash == replay(load_scenario(SMALL), 3, commands, 300)
