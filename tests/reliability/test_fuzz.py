"""Fuzzed inputs of every file format: refused as one-line user errors or accepted, never a
traceback (``fuzzing.attempt`` lets anything else escape).

A few dozen inputs per format run here; the 1,000-per-format campaign is a script (it takes
about ten minutes on two cores): ``python -m tests.reliability.fuzzing 1000``."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.fuzzing import READERS, attempt, mutants, originals


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    return originals(tmp_path_factory.mktemp("genuine"))


@pytest.mark.parametrize("kind", sorted(READERS))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_a_mutated_file_is_refused_or_accepted_never_a_traceback(genuine, tmp_path, kind, seed):
    data = next(mutants(seed, genuine[kind], 1))
    assert attempt(kind, data, tmp_path) in ("accepted", "refused")


@pytest.mark.parametrize("kind", sorted(READERS))
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=512))
def test_random_bytes_are_refused_never_a_traceback(tmp_path, kind, data):
    assert attempt(kind, data, tmp_path) in ("accepted", "refused")
