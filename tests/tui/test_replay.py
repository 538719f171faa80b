"""Command logs: validation, and replays that apply each command at its block."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from subnetsim.cli import main
from subnetsim.commands import (
    advance,
    apply_command,
    check_command_log,
    hyperparameter_entry,
    load_session_file,
    replay,
)
from subnetsim.run import run
from subnetsim.sessions import save_session
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.world import build_world

SMALL = Path(__file__).resolve().parents[1] / "data" / "small.toml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SMALL)


def test_replay_applies_commands_at_their_blocks(scenario) -> None:
    log = [hyperparameter_entry(10, "kappa", 0.9), hyperparameter_entry(10, "tempo", 7)]
    world = build_world(scenario, 3)
    world.run_to_block(10)
    for entry in log:
        apply_command(world, entry)
    world.run_to_block(50)
    assert replay(scenario, 3, log, 50) == world.chain.head_hash
    assert world.chain.hyper.tempo == 7
    # Applied after the epoch at block 18 instead of before it: another trajectory.
    later = [dict(entry, block=30) for entry in log]
    assert replay(scenario, 3, later, 50) != world.chain.head_hash


def test_an_empty_log_replays_the_plain_run(scenario) -> None:
    assert replay(scenario, 3, [], 33) == run(scenario, 3, blocks=33).digest


@pytest.mark.parametrize(("log", "field"), [
    ({"block": 1}, "commands"),
    ([{"block": 1, "command": "halt"}], "commands[0]"),
    ([hyperparameter_entry(5, "kappa", 0.6), hyperparameter_entry(4, "kappa", 0.6)],
     "commands[1].block"),
    ([{"block": 1, "command": "set_hyperparameter", "name": "kappa"}], "commands[0]"),
])
def test_bad_logs_are_refused_with_the_entry(log, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        check_command_log(log)
    assert error.value.field == field


def test_a_command_past_the_last_block_is_an_error(scenario) -> None:
    with pytest.raises(ConfigError, match="after the last block"):
        advance(build_world(scenario, 3), 20, [hyperparameter_entry(40, "kappa", 0.6)])


def test_headless_twin_prints_the_run_digest(scenario, capsys) -> None:
    assert main(["tui", str(SMALL), "--headless", "--blocks", "30"]) == 0
    assert f"digest {run(scenario, 3, blocks=30).digest}" in capsys.readouterr().out


def test_headless_replay_of_a_saved_session_checks_its_digest(scenario, tmp_path,
                                                               capsys) -> None:
    log = [hyperparameter_entry(12, "kappa", 0.65)]
    saved = save_session(scenario, 3, log, 30, tmp_path)
    assert main(["tui", "--headless", "--replay", str(saved.session_file)]) == 0
    assert "digest matches the saved session" in capsys.readouterr().out
    data = json.loads(saved.session_file.read_text())
    data["digest"] = "0" * 64
    saved.session_file.write_text(json.dumps(data))
    assert main(["tui", "--headless", "--replay", str(saved.session_file)]) == 1
    assert load_session_file(saved.session_file)["commands"] == log


def test_replay_needs_headless(tmp_path, capsys) -> None:
    assert main(["tui", "--replay", str(tmp_path / "x.json")]) == 2
    assert "--replay" in capsys.readouterr().err
