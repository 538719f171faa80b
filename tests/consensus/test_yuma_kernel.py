"""The compiled kernel (``subnet/yuma_kernel.py``) against the numpy reference.

The kernel promises the reference's exact bits (the chain hashes epoch outputs as float reprs),
so these tests compare bytes; the 1e-12 relative check runs first so that a failure also says
how far apart the two are. The golden vectors run through both backends in
``test_yuma_vectors.py``; here: Hypothesis inputs, batches, realistic sizes, thread counts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from benchmarks.inputs import random_epoch_inputs
from subnetsim.subnet import yuma_kernel
from subnetsim.subnet.consensus import weighted_median_columns
from subnetsim.subnet.ufunc_loop import float64_loop
from subnetsim.subnet.yuma import (
    EpochInputs,
    EpochOutputs,
    YumaParams,
    _packed_params,
    epoch,
    epoch_batch,
)
from tests.consensus.test_yuma_oracle import shared_row_batches
from tests.strategies import epoch_cases, epoch_inputs, yuma_params

RELATIVE = 1e-12
ROOT = Path(__file__).resolve().parents[2]


def assert_same_outputs(compiled: EpochOutputs, reference: EpochOutputs) -> None:
    """Within 1e-12 relative (zeros exactly), then byte for byte (so -0.0 != 0.0 too)."""
    for field in dataclasses.fields(EpochOutputs):
        ours = np.asarray(getattr(compiled, field.name))
        theirs = np.asarray(getattr(reference, field.name))
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, field.name
        if ours.dtype.kind == "f":
            np.testing.assert_allclose(ours, theirs, rtol=RELATIVE, atol=0, err_msg=field.name)
        difference = np.flatnonzero(ours.ravel() != theirs.ravel())
        assert ours.tobytes() == np.ascontiguousarray(theirs).tobytes(), (
            f"{field.name}: bits differ at {difference[:5]}"
        )


@settings(max_examples=300, deadline=None)
@given(case=epoch_cases(min_rows=0))
def test_compiled_epoch_is_the_reference(case):
    inputs, params = case
    assert_same_outputs(epoch(inputs, params), epoch(inputs, params, backend="numpy"))


@settings(max_examples=60, deadline=None)
@given(batch=shared_row_batches())
def test_compiled_batch_over_inputs_is_the_reference(batch):
    inputs, params = batch
    assert_same_outputs(
        epoch_batch(inputs, params), epoch_batch(inputs, params, backend="numpy")
    )


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_compiled_batch_over_params_is_the_reference_and_single_epochs(data):
    inputs = data.draw(epoch_inputs(yuma3=data.draw(st.booleans())))
    params = data.draw(st.lists(yuma_params(n=inputs.n), min_size=1, max_size=6))
    outputs = epoch_batch(inputs, params)
    assert_same_outputs(outputs, epoch_batch(inputs, params, backend="numpy"))
    for index, p in enumerate(params):
        note(f"batch element {index}: {p!r}")
        assert_same_outputs(outputs.select(index), epoch(inputs, p))


@pytest.mark.parametrize("yuma3", [False, True])
@pytest.mark.parametrize(("validators", "uids"), [(64, 256), (1, 1), (3, 300), (9, 9), (130, 200)])
def test_compiled_epoch_is_the_reference_at_realistic_sizes(validators, uids, yuma3):
    # Sizes that reach numpy's pairwise split (> 128), its 8-way unroll remainders and the
    # 2-lane dot product's odd tail.
    params = YumaParams(yuma3_enabled=yuma3, liquid_alpha_enabled=yuma3, kappa=0.4)
    for seed in range(3):
        inputs = random_epoch_inputs(validators, uids, seed)
        assert_same_outputs(epoch(inputs, params), epoch(inputs, params, backend="numpy"))


def _tie_heavy_column_case(data):
    """Up to 9 voters x 6 columns of few distinct weights, with small integer stakes."""
    rows = data.draw(st.integers(0, 9))
    columns = data.draw(st.integers(1, 6))
    entry = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1)
    size = rows * columns
    weights = np.array(data.draw(st.lists(entry, min_size=size, max_size=size)))
    weights = weights.reshape(rows, columns)
    stake_entry = st.integers(0, 4).map(float)
    stake = np.array(data.draw(st.lists(stake_entry, min_size=rows, max_size=rows)))
    return weights, stake


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_selection_median_is_the_sorted_median(data):
    # Few distinct weights and small integer stakes: ties in value and stake shares of exactly
    # kappa, where the tie rules decide.
    weights, stake = _tie_heavy_column_case(data)
    kappa = data.draw(st.sampled_from([0.0, 0.25, 0.5, 32767 / 65535, 0.75, 1.0]))
    expected = weighted_median_columns(weights[None], stake[None], np.array([kappa]))[0]
    got = yuma_kernel.weighted_median_columns(weights, stake, kappa)
    assert got.tobytes() == expected.tobytes(), (got, expected)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_sorted_median_for_many_kappas_is_the_sorted_median(data):
    # The batch path: one sort per column, then the kappas in rising order in one sweep along
    # it (drawn in any order, repeats included). Same tie-heavy inputs as the selection test
    # above.
    weights, stake = _tie_heavy_column_case(data)
    kappa = st.sampled_from([0.0, 0.25, 0.5, 32767 / 65535, 0.75, 1.0])
    kappas = data.draw(st.lists(kappa, min_size=1, max_size=8))
    expected = weighted_median_columns(weights[None], stake[None], np.array(kappas))
    got = yuma_kernel.weighted_median_columns_sorted(weights, stake, kappas)
    assert got.tobytes() == expected.tobytes(), (got, expected)


@pytest.mark.parametrize("yuma3", [False, True])
def test_shared_input_batch_is_the_reference_at_a_realistic_size(yuma3):
    # One weight history, many settings: the shared front and the sorted median.
    inputs = random_epoch_inputs(64, 256, 1)
    settings = [YumaParams(kappa=0.2 + 0.05 * i, bonds_moving_avg=0.8 + 0.05 * (i % 3),
                           bonds_penalty=(0.0, 0.5, 1.0)[i % 3], yuma3_enabled=yuma3,
                           liquid_alpha_enabled=yuma3 and i % 2 == 0) for i in range(10)]
    assert_same_outputs(epoch_batch(inputs, settings),
                        epoch_batch(inputs, settings, backend="numpy"))


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("yuma3", [False, True])
def test_a_batch_that_streams_its_bonds_is_the_reference(yuma3, shared):
    # Bonds outputs of at least STREAM_BONDS bytes are computed in the cache and streamed out
    # with non-temporal stores, for K settings over one input (shared) or K inputs; rows of
    # odd length start at every alignment (the stores' partial lines), and restarting bond
    # columns (registered since the last epoch, reset) check the normalised old bonds the
    # shared front computes once for all classic epochs.
    v, n = 61, 259
    batch = -(-yuma_kernel.STREAM_BONDS // (v * n * 8))

    def restarting(seed):
        base = random_epoch_inputs(v, n, seed)
        registered = base.block_at_registration.copy()
        registered[[3, 100, 258]] = base.recent_registration_block + 60
        return dataclasses.replace(base, block_at_registration=registered,
                                   reset_bond_uids=(5, 77))

    inputs = restarting(2) if shared else [restarting(seed) for seed in range(batch)]
    settings = [YumaParams(kappa=0.2 + 0.6 * i / batch, bonds_moving_avg=0.8 + 0.05 * (i % 3),
                           bonds_penalty=(0.0, 0.5, 1.0)[i % 3], yuma3_enabled=yuma3,
                           liquid_alpha_enabled=yuma3 and i % 2 == 0) for i in range(batch)]
    if not shared:
        settings = settings[:1]
    # Other inputs first: the recycled output then holds other values wherever a store
    # were missing.
    epoch_batch(random_epoch_inputs(v, n, 3) if shared else inputs[::-1], settings)
    assert_same_outputs(epoch_batch(inputs, settings),
                        epoch_batch(inputs, settings, backend="numpy"))


def split_epoch(inputs: EpochInputs, params: YumaParams, threads: int) -> EpochOutputs:
    """One epoch through ``run_epoch`` with its rows and columns split between ``threads``
    threads (when it is large enough for that)."""
    fparams, iparams = _packed_params(params)
    return yuma_kernel.run_epoch(inputs, fparams, iparams, EpochOutputs, threads)


@pytest.fixture
def split_epochs(monkeypatch):
    """Counts the epochs ``run_epoch`` splits between threads."""
    calls = []
    split = yuma_kernel._run_split

    def counted(threads, yuma3, arguments):
        calls.append(threads)
        split(threads, yuma3, arguments)

    monkeypatch.setattr(yuma_kernel, "_run_split", counted)
    return calls


@pytest.mark.parametrize("yuma3", [False, True])
@pytest.mark.parametrize(("validators", "uids"), [(256, 1024), (261, 1011)])
def test_a_split_epoch_is_the_reference_at_any_thread_count(validators, uids, yuma3,
                                                            split_epochs, monkeypatch):
    # Realistic sizes split from a quarter of the threshold (256 x 4096 takes ~0.5 s through
    # numpy; the subprocess test below splits one that large), and an odd one: ranges that
    # are not multiples of the row/column steps, a column split that is not numpy's pairwise
    # split. Every per-column result is computed whole by one thread and every sum across
    # columns after the threads finish, so 1, 2 and 3 threads give the same bytes as each
    # other and as the numpy reference.
    monkeypatch.setattr(yuma_kernel, "PARALLEL_EPOCH", 256 * 1000)
    params = YumaParams(yuma3_enabled=yuma3, liquid_alpha_enabled=yuma3, kappa=0.4)
    inputs = random_epoch_inputs(validators, uids, 5)
    reference = epoch(inputs, params, backend="numpy")
    for threads in (1, 2, 3):
        assert_same_outputs(split_epoch(inputs, params, threads), reference)
    # One thread runs the unsplit epoch; two and three split it.
    assert split_epochs == [2, 3]


def test_an_automatic_split_follows_the_faster_way(monkeypatch):
    # On a machine whose other core is busy a split epoch is slower than an unsplit one, so
    # an automatic split runs the way (split or not) that took less time lately, and times
    # the other way again after SPLIT_PROBE epochs (the same bytes either way); a caller
    # that asks for threads still gets them. The clock here advances only by what each way
    # is made to cost.
    monkeypatch.setattr(yuma_kernel, "PARALLEL_EPOCH", 0)
    monkeypatch.setattr(yuma_kernel, "_split_times", {})
    monkeypatch.setattr(yuma_kernel, "SPLIT_PROBE", 4)
    monkeypatch.setattr(yuma_kernel.numba, "get_num_threads", lambda: 2)
    clock = [100.0]
    monkeypatch.setattr(yuma_kernel, "_clock", lambda: clock[0])
    cost = {"split": 5.0, "whole": 8.0}
    ways = []
    split, whole = yuma_kernel._run_split, yuma_kernel._epoch_single

    def timed_split(threads, yuma3, arguments):
        ways.append(threads)
        split(threads, yuma3, arguments)
        clock[0] += cost["split"]

    def whole_epoch(*arguments):
        ways.append(1)
        whole(*arguments)
        clock[0] += cost["whole"]

    monkeypatch.setattr(yuma_kernel, "_run_split", timed_split)
    monkeypatch.setattr(yuma_kernel, "_epoch_single", whole_epoch)
    inputs, params = random_epoch_inputs(8, 40, 0), YumaParams()
    reference = epoch(inputs, params, backend="numpy")
    fparams, iparams = _packed_params(params)

    def run(count=1, threads=None):
        for _ in range(count):
            outputs = yuma_kernel.run_epoch(inputs, fparams, iparams, EpochOutputs, threads)
            assert_same_outputs(outputs, reference)
        return ways[-count:]

    # The first epoch of a way after the other is not timed (it wakes idle helper threads),
    # and the next goes the same way and is. The split twice (untimed, 5), the unsplit twice
    # (untimed, 8): the split is faster, so split (untimed after the change, then 5 twice);
    # the unsplit is probed four epochs after it was last timed.
    assert run(8) == [2, 2, 1, 1, 2, 2, 2, 1]
    cost["split"] = 20.0  # the second core got busy
    # The probe's timed unsplit epoch (8), the split again (faster lately: untimed, then
    # 20, slower), unsplit (untimed, 8), once more, and the split probed four epochs after
    # its last timing (untimed: it is the first after unsplit ones).
    assert run(7) == [1, 2, 2, 1, 1, 1, 2]
    assert run(threads=2) == [2]  # asked for, and timed: the epoch before was a split too
    assert run(7) == [1, 1, 1, 2, 2, 1, 1]
    cost["split"] = 5.0  # the core is free again: the next probe of the split wins
    assert run(8) == [1, 2, 2, 2, 1, 1, 2, 2]


def test_sums_across_columns_do_not_depend_on_the_thread_count(monkeypatch):
    # The sums across columns (the incentive's and dividends' normalisations, the emission
    # total) are numpy's pairwise sums of whole rows. Summing each thread's columns and then
    # the threads' partial sums would move a total by an ulp for some inputs, and then its
    # reciprocal for most of those: over 12 inputs whose column counts split off-tree
    # (1011 = 512 + 499 for two threads, numpy's pairwise split is 504 + 507) some output
    # would differ from the reference. (Checked: such a partial-sum incentive total fails
    # here.)
    monkeypatch.setattr(yuma_kernel, "PARALLEL_EPOCH", 0)
    params = YumaParams(kappa=0.4)
    for seed in range(12):
        inputs = random_epoch_inputs(32, 1011, seed)
        reference = epoch(inputs, params, backend="numpy")
        for threads in (2, 3, 4):
            assert_same_outputs(split_epoch(inputs, params, threads), reference)


@settings(max_examples=50, deadline=None)
@given(case=epoch_cases(min_rows=0), threads=st.integers(2, 5))
def test_a_split_epoch_is_the_reference_on_any_inputs(case, threads):
    # Every epoch split (the threshold lowered to 0): tiny and degenerate shapes (no rows,
    # one column, fewer rows or columns than threads), masks, permits, ties, both bond kinds.
    inputs, params = case
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yuma_kernel, "PARALLEL_EPOCH", 0)
        outputs = split_epoch(inputs, params, threads)
    assert_same_outputs(outputs, epoch(inputs, params, backend="numpy"))


def test_unknown_backend_is_refused():
    inputs = random_epoch_inputs(2, 3, 0)
    with pytest.raises(ValueError, match="backend"):
        epoch(inputs, YumaParams(), backend="torch")


THREADS_SCRIPT = """
import hashlib, json, sys
import numpy as np
sys.path.insert(0, {root!r})
from benchmarks.inputs import random_epoch_inputs
from subnetsim.subnet.yuma import YumaParams, epoch, epoch_batch
import numba
histories = [random_epoch_inputs(16, 64, seed) for seed in range(12)]
settings = [YumaParams(kappa=0.3 + 0.03 * i, yuma3_enabled=i % 2 == 1,
                       liquid_alpha_enabled=i % 4 == 1) for i in range(12)]
digest = hashlib.sha256()
# K inputs (each epoch its own front), then one input (the shared front, the sorted median),
# then single epochs large enough to be split between the threads.
large = random_epoch_inputs(256, 4096, 3)
for out in (epoch_batch(histories, settings), epoch_batch(histories[0], settings),
            epoch(large, settings[0]), epoch(large, settings[1])):
    for name in sorted(out.__dataclass_fields__):
        digest.update(np.ascontiguousarray(getattr(out, name)).tobytes())
print(json.dumps({{"threads": numba.get_num_threads(), "digest": digest.hexdigest()}}))
"""


def test_batch_bytes_do_not_depend_on_the_thread_count():
    digests = {}
    for threads in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
        done = subprocess.run(
            [sys.executable, "-c", THREADS_SCRIPT.format(root=str(ROOT))],
            env=env, capture_output=True, text=True, check=True, cwd=ROOT,
        )
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        assert answer["threads"] == threads
        digests[threads] = answer["digest"]
    assert digests[1] == digests[2]


@pytest.mark.parametrize("batch", [False, True])
def test_outputs_a_caller_keeps_are_never_reused(batch):
    # The kernel recycles its output arrays once nothing references them: a kept result (or
    # any view of it) must survive later calls, and a dropped one may be reused.
    first, second = random_epoch_inputs(8, 24, 0), random_epoch_inputs(8, 24, 1)
    settings = [YumaParams(kappa=0.3 + 0.1 * i) for i in range(3)]

    def run(inputs):
        return epoch_batch(inputs, settings) if batch else epoch(inputs, YumaParams())

    kept = run(first)
    kept_bonds = kept.bonds.copy()
    view = kept.incentive[..., :5]
    kept_view = view.copy()
    del kept
    for _ in range(3):
        other = run(second)
        assert np.array_equal(view, kept_view)
    held = run(first)
    assert np.array_equal(held.bonds, kept_bonds)
    assert not np.shares_memory(held.bonds, other.bonds)
    if not batch:
        # A single epoch's result itself is handed out again, rewritten, once dropped ...
        del held, other
        reused = [id(run(second)) for _ in range(2)]  # (not in the assert: pytest keeps it)
        assert reused[0] == reused[1]
        # ... but not while one of its fields is held (the same view, no new one made).
        field = run(first).dividends
        kept_field = field.copy()
        other = run(second)
        assert np.array_equal(field, kept_field)
    assert_same_outputs(other, epoch_batch(second, settings, backend="numpy") if batch
                        else epoch(second, YumaParams(), backend="numpy"))


@numba.njit
def _exp_rows_through_numpys_loop(values, loop):
    """Each row in place through numpy's exp loop, as liquid alpha's pass calls it."""
    for r in range(values.shape[0]):
        row = values[r].copy()
        yuma_kernel._numpy_loop(loop[0], loop[1], row)
        values[r] = row


def test_liquid_alphas_exp_is_numpys_own_bit_for_bit():
    # numpy's float64 exp is its own SIMD code; libm's (numba's np.exp) differs from it in the
    # last bit for ~5% of arguments, which would change every liquid-alpha run digest. The
    # kernel calls the loop np.exp runs: rows of many lengths (whole vectors and partial
    # tails), the sigmoid's clipped range, and the edges.
    rng = np.random.default_rng(7)
    for width in (1, 3, 8, 13, 256, 1011):
        values = rng.uniform(-20.0, 20.0, (5, width))
        values[0, :min(width, 4)] = [0.0, -0.0, 20.0, -20.0][:min(width, 4)]
        through_loop = values.copy()
        _exp_rows_through_numpys_loop(through_loop, yuma_kernel.EXP_LOOP)
        assert through_loop.tobytes() == np.exp(values).tobytes(), width


def test_a_ufunc_without_a_float64_loop_is_refused_clearly():
    with pytest.raises(RuntimeError, match="no float64 -> float64 loop"):
        float64_loop(np.logical_not)
    assert float64_loop(np.sqrt)[0] != float64_loop(np.exp)[0]
