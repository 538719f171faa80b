"""docs/api.md: every Python example runs as written, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
EPOCH_COLUMNS_PROMISED = ("epoch", "block", "uid", "hotkey", "behaviour", "stake_tao",
                          "incentive", "dividends", "emission_tao", "consensus",
                          "validator_trust", "active")


def test_the_api_page_runs_and_its_frames_have_the_promised_columns(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    frame, metagraph, sim = namespace["df"], namespace["mg"], namespace["sim"]
    assert isinstance(frame, pd.DataFrame) and set(EPOCH_COLUMNS_PROMISED) <= set(frame.columns)
    assert frame.epoch.nunique() == 10 and sim.epoch == 10
    registered = int(sim.world.chain.ledger.registered.sum())
    assert len(metagraph) == registered and (frame.groupby("epoch").size() == registered).all()
    assert metagraph.columns[0] == "UID" and "EMISSION" in metagraph.columns
    assert sim.commands == [{"block": sim.commands[0]["block"], "command": "set_hyperparameter",
                             "name": "kappa", "value": 0.55}]
    assert "[" in capsys.readouterr().out  # the epoch example printed its result
