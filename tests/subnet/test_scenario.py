"""Scenario overrides and block budgets, as `run --set/--epochs` and sweeps use them."""

from __future__ import annotations

import pytest

from subnetsim.run import run
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.scenario import apply_overrides, block_budget, load_scenario, set_value
from tests.subnet.test_run_cli import SMALL


@pytest.mark.parametrize(("tempo", "netuid", "epochs"), [(20, 1, 1), (20, 1, 3), (7, 0, 2),
                                                         (9, 9, 2), (5, 3, 4)])
def test_an_epoch_budget_runs_exactly_that_many_epochs(tempo, netuid, epochs):
    scenario = set_value(set_value(load_scenario(SMALL), "tempo", tempo), "netuid", netuid)
    blocks = block_budget(scenario, None, epochs)
    assert run(scenario, 1, blocks=blocks).epochs == epochs
    assert run(scenario, 1, blocks=blocks - 1).epochs == epochs - 1  # the last block is an epoch


def test_overrides_take_hyperparameter_names_and_dotted_paths():
    scenario = apply_overrides(load_scenario(SMALL),
                               ["kappa=0.6", "recording.checkpoint_every=7", "yuma3_enabled=true"])
    assert scenario.hyperparameters.kappa == 0.6
    assert scenario.hyperparameters.yuma3_enabled is True
    assert scenario.recording.checkpoint_every == 7


@pytest.mark.parametrize(("assignment", "field"), [("kapa=0.5", "kapa"),
                                                   ("kappa=2", "hyperparameters.kappa"),
                                                   ("recording.every=1", "recording.every")])
def test_bad_overrides_name_the_field(assignment, field):
    with pytest.raises(ConfigError) as error:
        apply_overrides(load_scenario(SMALL), [assignment])
    assert error.value.field == field
