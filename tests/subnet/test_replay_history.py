"""``subnetsim replay``: a recorded weight history run epoch by epoch with chain storage."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from subnetsim.history import max_upscale_u16, parse_history, replay_history
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.yuma import EpochInputs, YumaParams, epoch

U16 = 65535


def history_data(epochs: int = 4) -> dict:
    """4 uids: validators 0 and 1, miners 2 and 3; uid 3 re-registers in the third epoch."""
    entries = []
    for index in range(epochs):
        entry = {"block": 100 * (index + 1), "stake_tao": [600.0, 400.0, 0.0, 0.0],
                 "weights": {"0": {"2": 65535, "3": 30000}} if index != 1 else {}}
        if index == 0:
            entry["weights"]["1"] = {"2": 1000, "3": 2000}
        if index == 2:
            entry["registered"] = [3]
        entries.append(entry)
    return {"n_uids": 4, "netuid": 1, "hyperparameters": {"kappa": 0.5, "tempo": 100},
            "epochs": entries}


def test_rows_are_max_upscaled_as_set_weights_stores_them():
    # math.rs : vec_u16_max_upscale_to_u16: I32F32 x * 65535 / max, rounded (half away from 0).
    assert max_upscale_u16([1000, 2000]).tolist() == [32768, 65535]  # 32767.5 rounds up
    assert max_upscale_u16([1, 3]).tolist() == [21845, 65535]
    assert max_upscale_u16([40000, 65535]).tolist() == [40000, 65535]
    assert max_upscale_u16([0, 0]).tolist() == [0, 0]


def test_each_epoch_sees_registrations_then_rows_then_runs_on_stored_state():
    history = parse_history(history_data())
    result = replay_history(history)
    outputs = result.outputs["history"]
    assert result.blocks == (100, 200, 300, 400)
    # Epoch 1 by hand: rows as stored (max-upscaled u16), permits from the first stake.
    first = epoch(EpochInputs(
        stake=[600.0, 400.0, 0.0, 0.0],
        weights=np.array([[0, 0, U16, 30000], [0, 0, 32768, U16], [0] * 4, [0] * 4]) / U16,
        bonds=np.zeros((4, 4)), validator_uids=np.arange(4),
        validator_permit=[True, True, False, False], last_update=[99, 99, 0, 0],
        block_at_registration=[0, 0, 0, 0], current_block=100, recent_registration_block=0),
        YumaParams(kappa=0.5))
    np.testing.assert_array_equal(outputs[0].incentive, first.incentive)
    np.testing.assert_array_equal(outputs[0].dividends, first.dividends)
    # Epoch 3: uid 3 was replaced at block 298, after validator 1's row (set at block 99):
    # that row's weight on uid 3 is outdated; validator 0 re-set its row at 299 and counts.
    third = outputs[2]
    assert third.incentive[3] > 0
    assert validator_trust_row_sum(third) > 0


def validator_trust_row_sum(outputs) -> float:
    return float(outputs.validator_trust[:2].sum())


def test_compare_runs_each_variant_like_a_separate_replay():
    history = parse_history(history_data())
    together = replay_history(history, ["classic", "yuma3", "yuma3_liquid"])
    for name in ("classic", "yuma3"):
        alone = replay_history(history, [name]).outputs[name]
        for a, b in zip(together.outputs[name], alone, strict=True):
            np.testing.assert_allclose(a.dividends, b.dividends, atol=1e-12)


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d.update(n_uids=0), "n_uids"),
    (lambda d: d["epochs"][1].update(stake_tao=[1.0]), "epochs[1].stake_tao"),
    (lambda d: d["epochs"][0]["weights"]["0"].update({"9": 5}), "epochs[0].weights.0"),
    (lambda d: d["epochs"][0]["weights"]["0"].update({"2": 70000}), "epochs[0].weights.0.2"),
    (lambda d: d["epochs"][2].update(block=150), "epochs"),
])
def test_a_malformed_history_names_the_field(change, field):
    data = history_data()
    change(data)
    with pytest.raises(ConfigError) as raised:
        parse_history(data)
    assert str(raised.value).startswith(field)


def test_the_command_prints_json_writes_parquet_and_a_plot(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(history_data()))
    run = subprocess.run([sys.executable, "-m", "subnetsim", "replay", str(path), "--json",
                          "--exact"], capture_output=True, text=True, check=True)
    report = json.loads(run.stdout)
    assert [e["block"] for e in report["epochs"]] == [100, 200, 300, 400]
    assert set(report["epochs"][0]) == {"block", "incentive", "dividends", "consensus",
                                        "validator_trust"}
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "subnetsim", "replay", str(path), "--compare",
                    "classic,yuma3,yuma3_liquid", "--out", str(out)], check=True,
                   capture_output=True)
    import pandas as pd

    frame = pd.read_parquet(out / "epochs.parquet")
    assert sorted(frame.variant.unique()) == ["classic", "yuma3", "yuma3_liquid"]
    assert len(frame) == 3 * 4 * 4 and (out / "dividends.png").stat().st_size > 0
    bad = subprocess.run([sys.executable, "-m", "subnetsim", "replay", str(path), "--compare",
                          "yuma9"], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
