"""``subnetsim replay --from yuma-simulation|metagraph``: other tools' files become the same
history a hand-written replay file gives, and malformed files are one-line errors (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from subnetsim.cli import main
from subnetsim.history import parse_history, replay_history
from subnetsim.history_import import import_history, submitted_row
from subnetsim.subnet.errors import ConfigError

U16 = 65535


def sdk_state_dict(block: int, rows_u16: np.ndarray, stake: list[float],
                   last_update: list[int]) -> dict:
    """A bittensor SDK ``Metagraph.state_dict()`` (torch mode, lite=False, without axons and
    neurons): Parameters, ``weights`` rows normalised to sum 1 in float32 as the SDK builds
    them from the chain's stored u16 rows (weight_utils.convert_weight_uids_and_vals_to_tensor)."""
    n = len(stake)
    weights = torch.tensor(rows_u16, dtype=torch.float32)
    sums = weights.sum(dim=1, keepdim=True)
    weights = torch.where(sums > 0, weights / sums.clamp(min=1), weights)

    def param(values, dtype):
        return torch.nn.Parameter(torch.tensor(values, dtype=dtype), requires_grad=False)

    return {"netuid": 7, "network": "finney", "version": param([900], torch.int64),
            "n": param([n], torch.int64), "block": param([block], torch.int64),
            "stake": param(stake, torch.float32), "total_stake": param(stake, torch.float32),
            "uids": param(list(range(n)), torch.int64),
            "last_update": param(last_update, torch.int64),
            "validator_permit": param([s > 0 for s in stake], torch.bool),
            "weights": torch.nn.Parameter(weights, requires_grad=False),
            "bonds": param(np.zeros((n, n)).tolist(), torch.int64),
            "consensus": param([0.0] * n, torch.float32)}


def test_submitted_rows_follow_the_sdk_emit_rule():
    # convert_weights_and_uids_for_emit: x / max * 65535, rounded; zeros dropped.
    assert submitted_row(np.array([0.5, 0.25, 0.0, 1e-7])) == {0: U16, 1: 32768}
    assert submitted_row(np.zeros(3)) == {}


def test_sdk_state_dicts_replay_like_the_history_they_record(tmp_path):
    """Two metagraph files; validator 1 did not set weights between them (last_update did not
    move), so only validator 0's row enters the second epoch, and u16 rows come back exactly
    from the SDK's float32 normalised weights."""
    stake = [700.0, 300.0, 0.0, 0.0, 0.0]
    first = np.zeros((5, 5), dtype=np.int64)
    first[0, 2:] = [U16, 40000, 123]
    first[1, 2:] = [9000, U16, 0]
    second = first.copy()
    second[0, 2:] = [100, 200, U16]
    torch.save(sdk_state_dict(360, first, stake, [355, 350, 0, 0, 0]), tmp_path / "block-360.pt")
    torch.save(sdk_state_dict(720, second, stake, [715, 350, 0, 0, 0]),
               tmp_path / "block-720.pt")

    data = import_history("metagraph", [tmp_path])
    expected = {"n_uids": 5, "netuid": 1, "hyperparameters": {}, "epochs": [
        {"block": 360, "stake_tao": stake,
         "weights": {"0": {"2": U16, "3": 40000, "4": 123}, "1": {"2": 9000, "3": U16}}},
        {"block": 720, "stake_tao": stake, "weights": {"0": {"2": 100, "3": 200, "4": U16}}}]}
    assert data == expected
    imported = replay_history(parse_history(data), exact=True).outputs["history"]
    by_hand = replay_history(parse_history(expected), exact=True).outputs["history"]
    for got, want in zip(imported, by_hand, strict=True):
        np.testing.assert_array_equal(got.dividends, want.dividends)
    assert imported[1].incentive[4] > imported[0].incentive[4]  # validator 0 moved to uid 4


def test_yuma_simulation_metagraph_dumps_mark_new_hotkeys_as_registrations(tmp_path):
    """yuma-simulation's archived files: {netuid, block, S, W, hotkeys} per block."""
    weights = torch.zeros(4, 4)
    weights[0, 2:] = torch.tensor([0.75, 0.25])
    for block, hotkeys in ((1000, ["a", "b", "c", "d"]), (1360, ["a", "b", "c", "e"])):
        torch.save({"netuid": 15, "block": block, "S": torch.tensor([1500.0, 0, 0, 0]),
                    "W": weights, "hotkeys": hotkeys},
                   tmp_path / f"netuid15_block{block}_{block}.pt")
    data = import_history("yuma-simulation", sorted(tmp_path.glob("*.pt")))
    assert [e.get("registered") for e in data["epochs"]] == [None, [3]]
    assert data["epochs"][1]["weights"] == {"0": {"2": U16, "3": 21845}}


def case_file(tmp_path, **changes):
    """A yuma-simulation case as JSON (the fields of its BaseCase): one big and two small
    validators, two servers; everyone weights server 1 until epoch 2, then server 2."""
    case = {"name": "Case 1 - kappa moves first", "base_validator": "Big vali.",
            "validators": ["Big vali.", "Small vali.", "Small lazy vali."],
            "servers": ["Server 1", "Server 2"], "num_epochs": 4,
            "weights_epochs": [[[1.0, 0.0]] * 3] * 2 + [[[0.0, 1.0]] * 3] * 2,
            "stakes_epochs": [[0.8, 0.1, 0.1]] * 4}
    case.update(changes)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    return path


def test_a_yuma_simulation_case_becomes_a_history_and_replays(tmp_path, capsys):
    path = case_file(tmp_path, reset_bonds=True, reset_bonds_index=1, reset_bonds_epoch=3)
    saved = tmp_path / "history.json"
    code = main(["replay", str(path), "--from", "yuma-simulation", "--save-history", str(saved),
                 "--compare", "classic,yuma3", "--json"])
    assert code == 0
    history = json.loads(saved.read_text())
    assert history["n_uids"] == 5
    first, last = history["epochs"][0], history["epochs"][3]
    assert first["stake_tao"] == [0.8, 0.1, 0.1, 0.0, 0.0]  # servers are uids 3 and 4
    assert first["weights"] == {str(v): {"3": U16} for v in range(3)}
    assert last["weights"] == {str(v): {"4": U16} for v in range(3)}
    assert last["reset_bonds"] == [4] and "reset_bonds" not in history["epochs"][2]
    report = json.loads(capsys.readouterr().out)["variants"]
    for variant in ("classic", "yuma3"):
        epochs = report[variant]["epochs"]
        assert epochs[0]["incentive"][3] == pytest.approx(1.0)
        assert epochs[3]["incentive"][4] == pytest.approx(1.0)
        # Identical weights: dividends follow stake, 0.8 : 0.1 : 0.1 (up to the floors of
        # the u16 bonds the chain stores between epochs, ~1.5e-5 here).
        assert epochs[1]["dividends"][:3] == pytest.approx([0.8, 0.1, 0.1], abs=1e-4)


def test_a_full_matrix_case_is_read_as_is(tmp_path):
    full = np.zeros((5, 5))
    full[:3, 3] = 1.0
    path = case_file(tmp_path, weights_epochs=[full.tolist()], stakes_epochs=[[0.8, 0.1, 0.1]],
                     num_epochs=1, use_full_matrices=True)
    data = import_history("yuma-simulation", [path])
    assert data["epochs"][0]["weights"] == {str(v): {"3": U16} for v in range(3)}


@pytest.mark.parametrize(("changes", "field"), [
    ({"servers": []}, "servers"),
    ({"weights_epochs": [[[1.0, 0.0, 0.0]] * 3] * 4}, "weights_epochs[0]"),
    ({"stakes_epochs": [[0.8, 0.1]] * 4}, "stakes_epochs[0]"),
    ({"num_epochs": 9}, "num_epochs"),
    ({"weights_epochs": [[[1.0, float("nan")]] * 3] * 4}, "weights_epochs[0]"),
    ({"reset_bonds": True, "reset_bonds_index": 5, "reset_bonds_epoch": 1}, "reset_bonds_index"),
])
def test_a_malformed_case_names_the_field(tmp_path, changes, field):
    path = case_file(tmp_path, **changes)
    with pytest.raises(ConfigError) as raised:
        import_history("yuma-simulation", [path])
    assert str(raised.value).startswith(f"{path}: {field}")


class AxonInfo:
    """Stands for the SDK objects ``metagraph.save()`` adds to the state dict."""


def test_malformed_metagraph_files_are_one_line_errors(tmp_path, capsys):
    good = sdk_state_dict(360, np.eye(3, dtype=np.int64)[::-1] * U16, [1.0, 0.0, 0.0], [1, 0, 0])
    cases = {
        "objects.pt": ({**good, "axons": [AxonInfo()]}, "holds Python objects besides tensors"),
        "lite.pt": ({**good, "weights": torch.nn.Parameter(torch.zeros(0))}, "weights"),
        "nostake.pt": ({k: v for k, v in good.items() if k not in ("stake",)}, "S or stake"),
        "negative.pt": ({**good, "stake": torch.tensor([-1.0, 0, 0])}, "non-negative"),
    }
    for name, (content, message) in cases.items():
        torch.save(content, tmp_path / name)
        code = main(["replay", str(tmp_path / name), "--from", "metagraph"])
        err = capsys.readouterr().err.strip()
        assert code == 2 and message in err and len(err.splitlines()) == 1, (name, err)
    (tmp_path / "text.pt").write_text("not a tensor file")
    assert main(["replay", str(tmp_path / "text.pt"), "--from", "metagraph"]) == 2
    assert "not a torch.save file" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert "expected one history file" in capsys.readouterr().err
