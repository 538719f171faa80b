"""Every mistake the hostile tester found ends as one line on stderr and exit 2 (or, for a closed
pipe, a quiet exit), tried the way a user reaches it: the real command."""

from __future__ import annotations

import concurrent.futures
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from subnetsim.cli import main
from subnetsim.subnet.errors import SubnetSimError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.sweep import runner
from subnetsim.sweep.config import SweepFile, resolve_sweep
from subnetsim.sweep.runner import SweepLost, run_sweep

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "data" / "small.toml"
TINY_TUNE = ROOT / "tests" / "data" / "tiny_tune.toml"
HUGE = str(10**30)


def one_line(capsys, code: int, expected: int = 2) -> str:
    err = capsys.readouterr().err
    assert code == expected, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "s.db"
    assert main(["run", str(SMALL), "--db", str(path), "--blocks", "60", "--json"]) == 0
    return path


@pytest.mark.parametrize("command", ["verify", "metagraph", "export"])
def test_a_run_id_beyond_64_bits_is_a_missing_run(store, capsys, tmp_path, command):
    extra = ["--out", str(tmp_path / "x")] if command == "export" else []
    err = one_line(capsys, main([command, str(store), "--run", HUGE, *extra]))
    assert f"no run {HUGE}" in err


def test_a_block_beyond_64_bits_reads_as_the_head(store, capsys):
    assert main(["metagraph", str(store), "--block", str(2**63)]) == 0


@pytest.mark.parametrize(("content", "message"), [
    (bytes(range(256)) * 4, "not a text file"),
    (b'{"format": "subnetsim.snapshot/1", "stake": [1, 2], "block": 9223372036854775808,'
     b' "weights": {}}', "block: expected an integer in [0,"),
    (b'{"n_uids": 100000, "validator_uids": [], "validator_stake_tao": [],'
     b' "weights_validator_rows": [], "block": 1}', "n_uids: expected an integer in [1, 4096]"),
    (b'{"format": "subnetsim.snapshot/1", "stake": [' + b",".join([b"1"] * 20000) + b'],'
     b' "block": 1, "weights": {}}', "20000 uids, more than a subnet holds"),
])
def test_bad_snapshots_are_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "snap.json"
    path.write_bytes(content)
    assert message in one_line(capsys, main(["epoch", str(path)]))


@pytest.mark.parametrize("argv", [["metagraph", "{store}"], ["epoch", "--json"],
                                  ["epoch", "--all"]])
def test_a_closed_pipe_exits_quietly(store, argv):
    argv = [arg.replace("{store}", str(store)) for arg in argv]
    child = subprocess.Popen([sys.executable, "-m", "subnetsim", *argv], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # `| head -c 0`: the reader is gone before anything is written
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0 and err == b""


def test_export_to_an_existing_file_or_an_unwritable_place_is_one_line(store, capsys, tmp_path):
    existing = tmp_path / "file"
    existing.write_text("mine")
    one_line(capsys, main(["export", str(store), "--out", str(existing)]))
    assert existing.read_text() == "mine"
    one_line(capsys, main(["export", str(store), "--out", str(existing / "below")]))
    one_line(capsys, main(["export", str(store), "--out", "/proc/no-such/place"]))


def test_export_on_a_full_disk_is_one_line(store, tmp_path):
    def small_disk() -> None:  # writes past 4 KiB fail with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    result = subprocess.run([sys.executable, "-m", "subnetsim", "export", str(store), "--out",
                             str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
                            preexec_fn=small_disk, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["../../escape", "a\u0000b", "/abs/path", "..", "sp ace"])
def test_a_scenario_name_never_writes_outside_runs(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "s.toml"
    escaped = name.replace("\\", "\\\\").replace("\u0000", "\\u0000")
    scenario.write_text(SMALL.read_text().replace('name = "small"', f'name = "{escaped}"'))
    assert main(["run", str(scenario), "--blocks", "2"]) == 0
    written = [p for p in tmp_path.rglob("*.db")]
    assert len(written) == 1 and written[0].parent == tmp_path / "runs", written


def test_resume_with_a_corrupt_scenario_row_is_one_line(tmp_path, capsys):
    import sqlite3

    path = tmp_path / "r.db"
    assert main(["run", str(SMALL), "--db", str(path), "--blocks", "50"]) == 0
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE runs SET config_json = '{\"hyperparameters\": 7'")
    capsys.readouterr()
    assert "stored scenario is corrupt" in one_line(capsys, main(["run", "--db", str(path),
                                                                  "--resume"]))


def test_resume_of_another_schema_or_a_non_store_is_one_line(tmp_path, capsys):
    path = tmp_path / "r.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(4000))
    one_line(capsys, main(["run", "--db", str(path), "--resume"]))
    one_line(capsys, main(["verify", str(path)]))


# --- sweeps -----------------------------------------------------------------------------------

def _sweep_file(tmp_path: Path, body: str, blocks: int = 20) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(f'scenario = "{SMALL.as_posix()}"\nblocks = {blocks}\n{body}')
    return path


@pytest.mark.parametrize(("body", "message"), [
    ("[parameters]\nkappa = { start = 0.0, stop = 1.0, num = 100000 }\n"
     "tempo = { start = 1, stop = 100000, num = 100000 }\n", "more than max_runs = 100000"),
    ("[parameters]\nkappa = { start = 0.0, stop = 1.0, num = 1000000000 }\n",
     "1000000000 values: more than max_runs"),
    ("[parameters]\nkappa = { start = 0.0, stop = 1.0, step = 1e-12 }\n", "values: more than"),
    ("seeds = 1000\n[parameters]\nkappa = { start = 0.0, stop = 1.0, num = 101 }\n",
     "101 points x 1000 seeds"),
])
def test_an_oversized_sweep_is_refused_before_it_is_expanded(tmp_path, capsys, body, message):
    started = time.monotonic()
    code = main(["sweep", str(_sweep_file(tmp_path, body)), "--out", str(tmp_path / "o"),
                 "--executor", "serial"])
    assert message in one_line(capsys, code)
    assert time.monotonic() - started < 10  # nothing was expanded


def test_max_runs_sets_the_limit(tmp_path):
    def sweep(max_runs: int):
        return resolve_sweep(SweepFile(scenario=str(SMALL), blocks=20, seeds=2, max_runs=max_runs,
                                       parameters={"kappa": [0.1, 0.2, 0.3]}),
                             load_scenario(SMALL))

    with pytest.raises(SubnetSimError, match="3 points x 2 seeds"):
        sweep(5)
    assert len(sweep(6).points) == 3


def test_a_damaged_run_file_is_run_again_on_resume(tmp_path, capsys):
    sweep = _sweep_file(tmp_path, "seeds = 1\n[parameters]\nkappa = [0.3, 0.6]\n")
    out = tmp_path / "o"
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "serial"]) == 0
    damaged = sorted((out / "runs").glob("p*.parquet"))[0]
    damaged.write_bytes(b"PAR1" + bytes(100))
    capsys.readouterr()
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "serial",
                 "--resume"]) == 0
    assert "ran 1, skipped 1" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["sweep", "tune"])
def test_an_unreachable_dask_scheduler_from_the_environment_is_one_line(tmp_path, capsys,
                                                                        monkeypatch, command):
    # Both commands read $DASK_SCHEDULER_ADDRESS (tune once ignored it and ran locally).
    pytest.importorskip("distributed")
    monkeypatch.setattr(runner, "SCHEDULER_TIMEOUT_S", 1)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:9")
    job = (_sweep_file(tmp_path, "[parameters]\nkappa = [0.3]\n") if command == "sweep"
           else TINY_TUNE)
    err = one_line(capsys, main([command, str(job), "--out", str(tmp_path / "o")]))
    assert "cannot reach the Dask scheduler" in err and "tcp://127.0.0.1:9" in err


class _LostScheduler(concurrent.futures.Executor):
    """Every future comes back cancelled, as Dask's do when the scheduler goes away."""

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.cancel()
        future.set_running_or_notify_cancel()  # what an executor does with a cancelled task
        return future


def test_a_lost_scheduler_is_one_line_with_the_resume_hint(tmp_path):
    sweep = resolve_sweep(SweepFile(scenario=str(SMALL), blocks=20, parameters={"kappa": [0.3]}),
                          load_scenario(SMALL))
    with pytest.raises(SweepLost, match="rerun with --resume") as caught:
        run_sweep(sweep, tmp_path / "o", _LostScheduler())
    assert isinstance(caught.value, SubnetSimError)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if entry.name.isdigit() and int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _interruptible() -> None:
    """In the sweep's process before it starts: SIGINT as a terminal's Ctrl-C delivers it. A
    test run started as a background job of a non-interactive shell has SIGINT ignored, every
    child inherits that, and Python then never raises KeyboardInterrupt (two CI runs here
    failed so: the sweep sat in its wait, the SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_the_workers_of_a_killed_or_interrupted_sweep_exit(tmp_path, sig):
    sweep = _sweep_file(tmp_path, "seeds = 4\n[parameters]\nkappa = [0.3]\n", blocks=10**6)
    parent = subprocess.Popen([sys.executable, "-m", "subnetsim", "sweep", str(sweep), "--out",
                               str(tmp_path / "o"), "--executor", "process", "--workers", "2"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=_interruptible)
    try:
        deadline = time.monotonic() + 120
        while len(_children(parent.pid)) < 3 and time.monotonic() < deadline:  # 2 + the tracker
            assert parent.poll() is None, "the sweep ended before it was killed"
            time.sleep(0.2)
        workers = _children(parent.pid)
        assert len(workers) >= 2
        time.sleep(3)  # let them import and start computing
        os.kill(parent.pid, sig)
        assert parent.wait(timeout=30) == (130 if sig == signal.SIGINT else -sig)
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() for pid in workers):
            assert time.monotonic() < deadline, "workers outlived their sweep"
            time.sleep(0.2)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_a_store_whose_schema_text_is_not_utf8_is_one_line(store, tmp_path, capsys):
    """Found by fuzzing: SQLite's message about such a schema is not UTF-8 either."""
    data = bytearray(store.read_bytes())
    at = data.index(b"CREATE TABLE runs")
    data[at + 6] = 0x9E
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(bytes(data))
    assert "damaged schema" in one_line(capsys, main(["verify", str(damaged)]))
