"""Yuma Consensus compiled with numba: the same epoch as ``subnet/yuma.py``, bit for bit.

``subnet/yuma.py`` is the readable numpy reference; this module computes the same epochs in
loops that numba compiles (``njit``, ``cache=True``, no fastmath), so an epoch costs a few
passes over ``v x n`` instead of ~40 numpy calls, and the stake-weighted median is a selection
(O(v) expected per column) instead of a full sort.

Bit compatibility with the reference is a requirement, not a nicety: the chain records epoch
outputs as float reprs in its hash chain, so a last-bit difference would change run digests.
Every float operation therefore follows the order in which numpy evaluates the reference:

- sums along the last axis (``normalize_last``, ``.sum(axis=-1)``) use numpy's pairwise
  summation (8 accumulators, blocks of 128; ``_pairwise_sum``);
- column sums (``axis=-2``) add the rows in order, one at a time; with one column (``n == 1``)
  numpy reduces that column as a contiguous run, pairwise;
- ``einsum("kv,kvn->kn")`` adds ``a_v * b_vn`` row after row (separately rounded, no FMA:
  numpy's baseline here is x86-64-v2), and ``einsum("kvn,kn->kv")`` is numpy's 2-lane SIMD dot
  product (``_einsum_dot``);
- normalisation multiplies by the reciprocal of the total, as ``consensus._reciprocal`` does;
- ``exp`` is numpy's: its AVX-512 float64 exp differs from libm's (numba's) in the last bit for
  ~5% of arguments, so liquid alpha calls numpy's own float64 exp loop, the function ``np.exp``
  runs, at its address (``EXP_LOOP``), on each row's exponents.

The one place that is not the same arithmetic is the median's stake test: the reference sums
the stake at or above a candidate as ``total - cumsum + s`` over a sorted column, the selection
sums it directly (in four interleaved chains). Both compare against ``kappa * total * (1 -
1e-12)``; they can only disagree when the true share lies within float64 round-off (~1e-16
relative) of that threshold, which the 1e-12 margin keeps away from every exact tie the chain
can produce (MEDIAN_TOLERANCE).

Batches share what does not vary: with one input and the same front parameters (stake
threshold, permits, activity, commit-reveal) the masks, stake, row-normalised weights and the
old bonds' column sums are computed once, and from SORTED_MEDIAN_BATCH epochs on every column
is sorted once and each kappa's consensus found in one forward sweep (the numpy reference does the
same by keeping a batch axis of 1). The (v, n) scratch matrix is kept between calls, output
arrays are reused once nothing references them, and W~ and the restarted old bonds are
recomputed where they are read instead of being stored.

Every function compiles with numpy's error model: a float division is IEEE's, as numpy's is.
Python's model tests each divisor for zero (to raise ZeroDivisionError), and that branch kept
LLVM from vectorising every loop that divides (liquid alpha's bonds pass at 64 x 256: 71 ->
56 us, measured interleaved).

Loops that run over many arrays at once are split into loops over few where that measured
faster (LLVM vectorises a loop only behind run-time checks that its arrays do not overlap; the
fewer arrays, the likelier it emits them), and per-entry tests are bitwise or selects rather
than branches (weight presence is random per entry, so a branch on it mispredicts about every
other time).

No loop here accumulates across threads. Epochs of a batch run in ranges on a few Python
threads (the kernel releases the GIL), each epoch writing only its own slots. One large epoch
(PARALLEL_EPOCH weights on) is split into parts (PART_AXES): the masks and the second bond
pass by rows, the median, clipping, column sums and first bond pass by columns, each row's or
column's values, its own sums included, computed whole by the one thread that takes it; the
totals over all columns (normalisations of incentive and dividends, emission) run after the
threads finish, on one thread, in numpy's order. So the bytes do not depend on the thread
count or on which thread took which range (tested with 1-5 threads against the reference).
Threads take ranges first come, first served, the caller never waits for a helper to start,
and whether an epoch splits at all follows the clock (SPLIT_PROBE): on this shared machine
another job often holds the second core, and then the split is the slower way.

Python threads rather than ``prange``: the threading layers here are ``omp`` (GNU libgomp,
which is not fork-safe: a forked sweep worker could not run a parallel region after its
parent had) and ``workqueue`` (not thread-safe: the batch threads and callers' threads could
enter it concurrently); tbb is not installed. A parfor kernel also cost ~10 s more on a cold
compile, and a parallel region on this machine waited for a scheduler slice (~8 ms measured).

One file, although it is long: numba's disk cache is invalidated by a change to the cached
function's own source file only, not to functions it calls from other files (numba's developer
notes, "Caching limitations"; extending it, numba PRs #8396 and #9563, was not merged). Split
into stage modules, an edit of one stage could leave the epoch running stale machine code from
the cache, silently; in one file every edit recompiles the whole kernel.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from subnetsim.subnet.consensus import MEDIAN_TOLERANCE
from subnetsim.subnet.ufunc_loop import float64_loop

__all__ = [
    "FLOAT_PARAMS", "INT_PARAMS", "run_epoch", "run_epochs", "weighted_median_columns",
    "weighted_median_columns_sorted",
]

NO_COMMIT = -1  # yuma.NO_COMMIT (yuma imports this module, so the value is repeated here)
NO_SNIPE_LIMIT = np.iinfo(np.int64).max
TINY = float(np.finfo(float).tiny)  # totals below this normalise to zero (consensus._reciprocal)
# The reference's threshold factor, computed once in Python exactly as it does.
KAPPA_MARGIN = 1.0 - MEDIAN_TOLERANCE
# numpy's own float64 exp loop ([address, data]), which liquid alpha calls (see above). An
# argument of the kernel, not a global: numba would bake a global's value into cached code.
EXP_LOOP = float64_loop(np.exp)
# numpy's pairwise summation: runs below 8 are added one by one, runs up to 128 with 8
# accumulators, longer runs split in two (numpy/_core/src/umath/loops_utils.h.src).
PAIRWISE_UNROLL = 8
PAIRWISE_BLOCK = 128

# Parameter columns of the packed arrays (order matters: the kernel reads them by index).
FLOAT_PARAMS = (
    "kappa", "bonds_penalty", "bonds_moving_avg", "alpha_low", "alpha_high",
    "alpha_sigmoid_steepness", "stake_threshold",
)
INT_PARAMS = (
    "yuma3_enabled", "liquid_alpha_enabled", "max_allowed_validators", "activity_cutoff",
    "commit_reveal_weights_enabled",
)
_KAPPA, _BETA, _MOVING_AVG, _ALPHA_LOW, _ALPHA_HIGH, _STEEPNESS, _THRESHOLD = range(7)
_YUMA3, _LIQUID, _MAX_VALIDATORS, _ACTIVITY_CUTOFF, _COMMIT_REVEAL = range(5)

# How K epochs are computed: each from its own inputs, or (one input, the same front
# parameters) sharing masks, stake and normalisation, with the consensus by selection per
# epoch or, from SORTED_MEDIAN_BATCH epochs up, from one sort per column for all K kappas.
MODE_EACH, MODE_SHARED, MODE_SHARED_SORTED = 0, 1, 2
SORTED_MEDIAN_BATCH = 4
# Columns of at most this many participating weights are sorted by insertion in the batch's
# one sort per column (_consensus_sorted), longer ones by mergesort.
INSERTION_SORT = 64
# The median's column blocks: v x COLUMN_BLOCK weights stay in cache (256 KiB at v = 256)
# between the pass that sums each column's positive stake and the columns' selections.
COLUMN_BLOCK = 128
# Batches from this size on run their epochs on numba.get_num_threads() threads.
PARALLEL_BATCH = 8
# A batch whose bonds output has at least this many bytes (beyond the 2 MiB L2 cache per
# core here) computes each epoch's bonds in the cache and streams them out (_stream_row).
STREAM_BONDS = 4 << 20
# Rows whose dividends' dot products are taken together (_dividend_rows): their 2 x DOT_ROWS
# chains run as DOT_ROWS / 2 independent vectors of four (_dot_rows_blocks).
DOT_ROWS = 8
# Ranges per thread of a batch or of a split part of one epoch, handed out first come, first
# served: a thread that gets its core late finds fewer left.
SPLIT_RANGES = 4
# One epoch from this many weights (validators x uids) on splits its rows and columns
# between numba.get_num_threads() threads. Measured on the shared 2-core machine (see
# docs/performance.md): at 256 x 1024 and 256 x 2048 a split epoch was never faster than an
# unsplit one (its ~30 compiled calls, thread hand-offs and trust's separate pass cost more
# than half of 2.6-6 ms gains whenever the second core is not wholly free).
PARALLEL_EPOCH = 256 * 4096
# The parts of an epoch, in order, and the axis along which threads split each
# (none: one thread runs it; rows; columns). A split part's threads all finish before the
# next part starts.
PART_FRONT, PART_MASKS, PART_COLUMNS, PART_BONDS, PART_MIDDLE, PART_ROWS, PART_TAIL = range(7)
PART_COUNT = 7
ALL_PARTS, SHARED_FRONT, SHARED_CONSENSUS = -1, -2, -3  # _epochs' other jobs
AXIS_NONE, AXIS_ROWS, AXIS_COLUMNS = range(3)
PART_AXES = (AXIS_NONE, AXIS_ROWS, AXIS_COLUMNS, AXIS_COLUMNS, AXIS_NONE, AXIS_ROWS, AXIS_NONE)

# Rows of the packed outputs: per-epoch float vectors (K, F_ROWS, n), the last four scratch
# kept between the parts of an epoch (column sums of A W~, reciprocals of the old bonds'
# column sums, reciprocals of the new bonds' column sums, the normalised bonds' column peaks) ...
(F_I, F_D, F_C, F_TRUST, F_EMISSION, F_SERVER, F_VALIDATOR, F_A, F_S, F_DELTA, F_OLD, F_SCALE,
 F_PEAK) = range(13)
F_ROWS = 13
# ... per-epoch bool vectors (K, B_ROWS, n), the last the bond columns that restart at zero ...
B_ACTIVE, B_PERMIT, B_RESTART = range(3)
B_ROWS = 3
# ... and of the packed per-uid integer inputs (Ki, U_ROWS, n).
U_LAST_UPDATE, U_REGISTERED, U_PERMIT, U_RESET = range(4)
U_ROWS = 4


# --- numpy's summation orders -------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _pairwise_sum(values):
    """numpy's ``add.reduce`` of a contiguous run (pairwise, 8-way unrolled)."""
    count = values.shape[0]
    if count < PAIRWISE_UNROLL:
        total = 0.0
        for i in range(count):
            total += values[i]
        return total
    if count <= PAIRWISE_BLOCK:
        return _pairwise_leaf(values)  # type: ignore[call-arg]  # the intrinsic's typing
    half = count // 2
    half -= half % 8
    return _pairwise_sum(values[:half]) + _pairwise_sum(values[half:])


@intrinsic
def _pairwise_leaf(typingctx, values):
    """numpy's sum of a contiguous run of 8 to PAIRWISE_BLOCK values: eight accumulators
    start with the first eight values and add the next eight in turn, the accumulators are
    added as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the last ``count % 8``
    values one by one. The accumulators are two vectors of four here (the same adds in the
    same order, so the same bits; numba left the eight scalar chains unvectorised: 75 ns
    for 256 values)."""
    if not (isinstance(values, types.Array) and values.ndim == 1 and values.layout == "C"):
        return None
    signature = types.float64(values)

    def codegen(context, builder, sig, arguments):
        run = context.make_array(sig.args[0])(context, builder, arguments[0])
        i64, f64 = ir.IntType(64), ir.DoubleType()
        quad = ir.VectorType(f64, 4)
        count = run.nitems

        def load_quad(index):
            return builder.load(builder.bitcast(builder.gep(run.data, [index]),
                                                quad.as_pointer()), align=8)

        low = cgutils.alloca_once_value(builder, load_quad(ir.Constant(i64, 0)))
        high = cgutils.alloca_once_value(builder, load_quad(ir.Constant(i64, 4)))
        end = builder.and_(count, ir.Constant(i64, -8))
        with cgutils.for_range(builder, builder.sub(builder.lshr(end, ir.Constant(i64, 3)),
                                                    ir.Constant(i64, 1))) as loop:
            start = builder.shl(builder.add(loop.index, ir.Constant(i64, 1)),
                                ir.Constant(i64, 3))
            for accumulator, offset in ((low, 0), (high, 4)):
                index = builder.add(start, ir.Constant(i64, offset))
                builder.store(builder.fadd(builder.load(accumulator), load_quad(index)),
                              accumulator)
        r = [builder.extract_element(builder.load(accumulator), ir.Constant(i64, lane))
             for accumulator in (low, high) for lane in range(4)]
        total = builder.fadd(builder.fadd(builder.fadd(r[0], r[1]), builder.fadd(r[2], r[3])),
                             builder.fadd(builder.fadd(r[4], r[5]), builder.fadd(r[6], r[7])))
        total_slot = cgutils.alloca_once_value(builder, total)
        with cgutils.for_range(builder, builder.sub(count, end)) as loop:
            value = builder.load(builder.gep(run.data, [builder.add(end, loop.index)]))
            builder.store(builder.fadd(builder.load(total_slot), value), total_slot)
        return builder.load(total_slot)

    return signature, codegen


@njit(cache=True, error_model="numpy")
def _einsum_dot(a, b):
    """``einsum`` of two contiguous runs into one output (numpy's 2-lane SIMD dot product:
    each lane accumulates blocks of four pairs from the last, the lanes are added at the end,
    then the sum is added to the zero output)."""
    count = a.shape[0]
    lane0 = 0.0
    lane1 = 0.0
    i = 0
    while count - i >= 8:
        lane0 = a[i + 6] * b[i + 6] + lane0
        lane1 = a[i + 7] * b[i + 7] + lane1
        lane0 = a[i + 4] * b[i + 4] + lane0
        lane1 = a[i + 5] * b[i + 5] + lane1
        lane0 = a[i + 2] * b[i + 2] + lane0
        lane1 = a[i + 3] * b[i + 3] + lane1
        lane0 = a[i] * b[i] + lane0
        lane1 = a[i + 1] * b[i + 1] + lane1
        i += 8
    while i < count:
        lane0 = a[i] * b[i] + lane0
        # The odd last element pairs with a zero-padded lane (numpy's load_tillz).
        lane1 = a[i + 1] * b[i + 1] + lane1 if i + 1 < count else 0.0 * 0.0 + lane1
        i += 2
    return 0.0 + (lane0 + lane1)


@intrinsic
def _dot_rows_blocks(typingctx, rows, b, lanes):
    """The whole blocks of eight of ``_einsum_dot_rows``: its 2 x DOT_ROWS chains (two lanes
    per row) held four to a vector, ``[row q lane 0, row q lane 1, row q + 1 lane 0, row q + 1
    lane 1]``; each step is a vector multiply and then a vector add (separately rounded, as
    the scalar chains: no fused multiply-add) of the same operands in the same order, so
    every chain gets the same bits with a quarter of the instructions, and DOT_ROWS / 2
    independent vector chains hide the add latency. Writes the lanes (row q's at ``2 q``,
    ``2 q + 1``) to ``lanes`` and returns how many elements it took (``b``'s length rounded
    down to a multiple of 8). ``rows`` must have DOT_ROWS rows."""
    signature = types.intp(rows, b, lanes)

    def codegen(context, builder, sig, arguments):
        block = context.make_array(sig.args[0])(context, builder, arguments[0])
        vector = context.make_array(sig.args[1])(context, builder, arguments[1])
        out = context.make_array(sig.args[2])(context, builder, arguments[2])
        i64, i32, f64 = ir.IntType(64), ir.IntType(32), ir.DoubleType()
        pair, quad = ir.VectorType(f64, 2), ir.VectorType(f64, 4)
        stride = cgutils.unpack_tuple(builder, block.strides, 2)[0]  # bytes per row
        block_address = builder.ptrtoint(block.data, i64)
        vector_address = builder.ptrtoint(vector.data, i64)
        accumulators = [cgutils.alloca_once_value(builder, ir.Constant(quad, [0.0] * 4))
                        for _ in range(DOT_ROWS // 2)]

        def load_pair(address):
            return builder.load(builder.inttoptr(address, pair.as_pointer()), align=8)

        both = ir.Constant(ir.VectorType(i32, 4), [0, 1, 2, 3])
        twice = ir.Constant(ir.VectorType(i32, 4), [0, 1, 0, 1])
        blocks = builder.lshr(vector.nitems, ir.Constant(i64, 3))
        with cgutils.for_range(builder, blocks) as loop:
            for offset in (6, 4, 2, 0):
                index = builder.add(builder.shl(loop.index, ir.Constant(i64, 3)),
                                    ir.Constant(i64, offset))
                element = builder.shl(index, ir.Constant(i64, 3))  # bytes into a row
                x = load_pair(builder.add(vector_address, element))
                x = builder.shuffle_vector(x, x, twice)
                for number, accumulator in enumerate(accumulators):
                    first, second = (
                        load_pair(builder.add(block_address, builder.add(
                            builder.mul(stride, ir.Constant(i64, row)), element)))
                        for row in (2 * number, 2 * number + 1))
                    values = builder.shuffle_vector(first, second, both)
                    builder.store(builder.fadd(builder.fmul(values, x),
                                               builder.load(accumulator)), accumulator)
        for number, accumulator in enumerate(accumulators):
            chains = builder.load(accumulator)
            for lane in range(4):
                builder.store(builder.extract_element(chains, ir.Constant(i32, lane)),
                              builder.gep(out.data, [ir.Constant(i64, 4 * number + lane)]))
        return builder.shl(blocks, ir.Constant(i64, 3))

    return signature, codegen


@njit(cache=True, error_model="numpy")
def _einsum_dot_rows(rows, b, out, lanes):
    """``_einsum_dot(rows[q], b)`` into ``out[q]`` for every row ``q`` of a (DOT_ROWS, n)
    block: each row keeps its own two lanes and order (the same bits), the rows' chains
    interleaved so that they hide the add latency that one row's two chains are bound by;
    the whole blocks of eight in vectors (``_dot_rows_blocks``), the last few elements here.
    ``lanes``: scratch of 2 x DOT_ROWS."""
    count = b.shape[0]
    start: int = _dot_rows_blocks(rows, b, lanes)  # type: ignore[call-arg]  # its typing
    for q in range(DOT_ROWS):
        lane0, lane1 = lanes[2 * q], lanes[2 * q + 1]
        i = start
        while i < count:
            lane0 = rows[q, i] * b[i] + lane0
            # The odd last element pairs with a zero-padded lane (numpy's load_tillz).
            lane1 = rows[q, i + 1] * b[i + 1] + lane1 if i + 1 < count else 0.0 * 0.0 + lane1
            i += 2
        out[q] = 0.0 + (lane0 + lane1)


@njit(cache=True, error_model="numpy")
def _reciprocal(total):
    """1 / total, or 0 for a zero or subnormal total (``consensus._reciprocal``)."""
    return 1.0 / total if total >= TINY else 0.0


@njit(cache=True, error_model="numpy")
def _normalize(values):
    """``consensus.normalize_last`` of one vector, in place."""
    scale = _reciprocal(_pairwise_sum(values))
    for i in range(values.shape[0]):
        values[i] = values[i] * scale


# --- streaming stores ----------------------------------------------------------------------


@intrinsic
def _stream_row(typingctx, destination, source):
    """``destination[:] = source`` (float64 rows of equal length) with non-temporal stores
    (``movntpd``: written to memory without first reading the lines into the cache) for the
    whole 64-byte lines of ``destination``, plain stores for its partial lines at either end.
    A batch's bonds output (32 MiB at K = 256, 64 x 256) does not stay in the cache; plain
    stores read every line from memory before writing it (twice the traffic). The values
    and their order are the same; only how they reach memory differs. Call ``_store_fence``
    before other threads read them (non-temporal stores are weakly ordered)."""
    signature = types.void(destination, source)

    def codegen(context, builder, sig, arguments):
        out = context.make_array(sig.args[0])(context, builder, arguments[0])
        src = context.make_array(sig.args[1])(context, builder, arguments[1])
        i64 = ir.IntType(64)
        line = ir.VectorType(ir.DoubleType(), 8)
        count = out.nitems
        misaligned = builder.and_(builder.ptrtoint(out.data, i64), ir.Constant(i64, 63))
        head = builder.lshr(builder.and_(builder.sub(ir.Constant(i64, 64), misaligned),
                                         ir.Constant(i64, 63)), ir.Constant(i64, 3))
        head = builder.select(builder.icmp_unsigned("<", head, count), head, count)
        lines = builder.lshr(builder.sub(count, head), ir.Constant(i64, 3))
        tail = builder.add(head, builder.shl(lines, ir.Constant(i64, 3)))

        def copy(first, last):
            with cgutils.for_range(builder, builder.sub(last, first)) as loop:
                index = builder.add(first, loop.index)
                builder.store(builder.load(builder.gep(src.data, [index])),
                              builder.gep(out.data, [index]))

        copy(ir.Constant(i64, 0), head)
        nontemporal = builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
        with cgutils.for_range(builder, lines) as loop:
            index = builder.add(head, builder.shl(loop.index, ir.Constant(i64, 3)))
            values = builder.load(builder.bitcast(builder.gep(src.data, [index]),
                                                  line.as_pointer()), align=8)
            store = builder.store(values, builder.bitcast(builder.gep(out.data, [index]),
                                                          line.as_pointer()), align=64)
            store.set_metadata("nontemporal", nontemporal)
        copy(tail, count)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _store_fence(typingctx):
    """A full memory fence (``mfence``): this thread's non-temporal stores reach memory
    before any later store, such as the one that tells another thread this range is done."""
    signature = types.void()

    def codegen(context, builder, sig, arguments):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _numpy_loop(typingctx, address, data, values):
    """Run the numpy ufunc inner loop at ``address`` (one input, one output, both float64)
    over ``values`` (1-D, contiguous) in place, as numpy's own call of it on a contiguous
    array does: ``loop(args, dimensions, steps, data)`` with ``args`` = (values, values),
    ``dimensions`` = (len,), ``steps`` = (8, 8). ``data`` is the loop's data pointer.
    Typed for a C-contiguous float64 vector only (the loop reads it by address)."""
    if not (isinstance(values, types.Array) and values.ndim == 1 and values.layout == "C"
            and values.dtype == types.float64):
        return None
    signature = types.void(address, data, values)

    def codegen(context, builder, sig, arguments):
        array = context.make_array(sig.args[2])(context, builder, arguments[2])
        byte_pointer = ir.IntType(8).as_pointer()
        i64 = ir.IntType(64)
        loop_type = ir.FunctionType(ir.VoidType(), [byte_pointer.as_pointer(),
                                                    i64.as_pointer(), i64.as_pointer(),
                                                    byte_pointer])
        pointers = cgutils.alloca_once(builder, byte_pointer, size=2)
        steps = cgutils.alloca_once(builder, i64, size=2)
        dimensions = cgutils.alloca_once(builder, i64)
        start = builder.bitcast(array.data, byte_pointer)
        for index in range(2):
            builder.store(start, builder.gep(pointers, [ir.Constant(i64, index)]))
            builder.store(ir.Constant(i64, 8), builder.gep(steps, [ir.Constant(i64, index)]))
        builder.store(array.nitems, dimensions)
        loop = builder.inttoptr(arguments[0], loop_type.as_pointer())
        builder.call(loop, [pointers, dimensions, steps,
                            builder.inttoptr(arguments[1], byte_pointer)])
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _unowned(typingctx, array):
    """``array`` itself (the same type, data, shape and strides) without its meminfo: views
    taken of it then count no references. Every view numba makes (a row, ``fv[F_C]``)
    adds one to its owner's count and takes it off again, each an atomic ``lock xadd``, and
    the row loops take several views a row: at 64 x 256 those were ~11% of an epoch's time
    (perf: samples on ``NRT_incref``/``NRT_decref``), ~40% of a 4 x 8 epoch's. With no
    meminfo they return at once. Only for arrays that outlive the call (its arguments):
    nothing here owns them."""
    if not isinstance(array, types.Array):
        return None
    signature = array(array)

    def codegen(context, builder, sig, arguments):
        view = context.make_array(array)(context, builder, arguments[0])
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()

    return signature, codegen


# --- the stake-weighted median by selection -----------------------------------------------


@njit(cache=True, error_model="numpy")
def _weighted_median(values, stakes, count, threshold):
    """Largest ``x`` among ``values[:count]`` whose holders of weights ``>= x`` have at least
    ``threshold`` stake, or 0 when none has.

    Quickselect on stake: each round first sums, without writing anything, the stake of the
    weights above and equal to a pivot (four chains, so the adds do not wait on each other);
    only then does it compact the one side that can hold the answer to the front of
    ``values`` (in place, branch-free: every element is written, the write index advances
    when it belongs), the stake above that side carried. Splitting into both sides at once
    wrote every element twice and cost 2.8x more. ``values``/``stakes`` are clobbered.
    """
    carried = 0.0
    while count > 0:
        # Deterministic median-of-three pivot (no randomness: results must be reproducible).
        a, b, c = values[0], values[count // 2], values[count - 1]
        pivot = max(min(a, b), min(max(a, b), c))
        above0 = above1 = above2 = above3 = 0.0
        equal0 = equal1 = equal2 = equal3 = 0.0
        i = 0
        while i + 4 <= count:
            v0, v1, v2, v3 = values[i], values[i + 1], values[i + 2], values[i + 3]
            s0, s1, s2, s3 = stakes[i], stakes[i + 1], stakes[i + 2], stakes[i + 3]
            above0 += s0 if v0 > pivot else 0.0
            above1 += s1 if v1 > pivot else 0.0
            above2 += s2 if v2 > pivot else 0.0
            above3 += s3 if v3 > pivot else 0.0
            equal0 += s0 if v0 == pivot else 0.0
            equal1 += s1 if v1 == pivot else 0.0
            equal2 += s2 if v2 == pivot else 0.0
            equal3 += s3 if v3 == pivot else 0.0
            i += 4
        while i < count:
            above0 += stakes[i] if values[i] > pivot else 0.0
            equal0 += stakes[i] if values[i] == pivot else 0.0
            i += 1
        above_total = (above0 + above1) + (above2 + above3)
        equal_total = (equal0 + equal1) + (equal2 + equal3)
        if carried + above_total >= threshold:
            # The smallest weight above the pivot already has enough stake (carried stays
            # below the threshold, so some weight is above the pivot, unless the threshold
            # is <= 0: then the pivot, with nothing above it, is the largest weight).
            high = 0
            for i in range(count):
                value = values[i]
                values[high] = value
                stakes[high] = stakes[i]
                high += value > pivot
            if high == 0:
                return pivot
            count = high
        elif carried + above_total + equal_total >= threshold:
            return pivot
        else:
            carried += above_total + equal_total
            low = 0
            for i in range(count):
                value = values[i]
                values[low] = value
                stakes[low] = stakes[i]
                low += value < pivot
            count = low
    return 0.0


@njit(cache=True, error_model="numpy")
def _positive_stake(W, participants, count, participant_stakes, first, last, totals):
    """Each column's stake of positive weights, for columns ``first:last`` (rows in order),
    in one row-major pass (contiguous, vectorised over the columns)."""
    width = last - first
    totals[:width] = 0.0
    for q in range(count):
        row = W[participants[q], first:last]
        stake = participant_stakes[q]
        for j in range(width):
            totals[j] += stake if row[j] > 0 else 0.0


@njit(cache=True, error_model="numpy")
def _column_positives(W, participants, count, participant_stakes, j, values, stakes):
    """Column ``j``'s positive weights of the participating rows, with their stakes, into
    ``values``/``stakes`` (rows in order); returns how many."""
    m = 0
    every_row = count == W.shape[0]  # no indirection then (loop-invariant: LLVM unswitches)
    for q in range(count):
        weight = W[q if every_row else participants[q], j]
        values[m] = weight
        stakes[m] = participant_stakes[q]
        m += weight > 0
    return m


@njit(cache=True, error_model="numpy")
def _consensus_columns(W, stake_rows, threshold, first, last, C):
    """Consensus of columns ``first:last``. Only rows with stake take part, and zero weights
    stay out of the selection: with any stake participating, 0 always has enough stake at or
    above it, so the answer is a positive weight or 0. A column whose positive weights
    together hold less than the threshold has consensus 0 without a selection (the selection
    would carry that same stake down to an empty set), and is never gathered: the columns'
    positive stake comes from a row-major pass over a block of COLUMN_BLOCK columns
    (contiguous and vectorised, ~5x cheaper than gathering every column), which also brings
    the block into cache for the columns that are then gathered one by one."""
    v = W.shape[0]
    participants = np.empty(v, dtype=np.int64)
    participant_stakes = np.empty(v)
    count = 0
    for r in range(v):
        if stake_rows[r] > 0:
            participants[count] = r
            participant_stakes[count] = stake_rows[r]
            count += 1
    values = np.empty(v)
    stakes = np.empty(v)
    totals = np.empty(COLUMN_BLOCK)
    for j0 in range(first, last, COLUMN_BLOCK):
        j1 = min(last, j0 + COLUMN_BLOCK)
        _positive_stake(W, participants, count, participant_stakes, j0, j1, totals)
        for j in range(j0, j1):
            if totals[j - j0] < threshold:
                C[j] = 0.0
            else:
                m = _column_positives(W, participants, count, participant_stakes, j, values,
                                      stakes)
                C[j] = _weighted_median(values, stakes, m, threshold)


# --- the median by one sort per column, for many kappas over the same weights -------------


@njit(cache=True, error_model="numpy")
def _consensus_sorted(W, stake_rows, thresholds, out_f, first, last):
    """Consensus of columns ``first:last`` for each of K thresholds: each column's participating
    positive weights are sorted once (descending, with the running stake of the weights at or
    above each), then for each threshold the first position whose running stake reaches it
    holds the answer (a tie group's running stake only grows within the
    group, so the first position reaching it carries the group's value). Writes
    ``out_f[k, F_C]``."""
    v = W.shape[0]
    values = np.empty(v)
    stakes = np.empty(v)
    ordered = np.empty(v)
    running = np.empty(v)
    rising = np.argsort(thresholds, kind="mergesort")
    for j in range(first, last):
        count = 0
        for r in range(v):
            stake = stake_rows[r]
            weight = W[r, j]
            if stake > 0 and weight > 0:
                values[count] = weight
                stakes[count] = stake
                count += 1
        # Ascending and stable (the running stake's rounding follows this order, so it
        # must not depend on the method): short columns by insertion, in place with their
        # stakes (a few hundred moves; numba's argsort cost ~1 us a column more), long ones
        # by mergesort, the kind _top_k_nonzero compiles anyway (a second sort kind would
        # add seconds to the cold compile). Both are stable: the same order.
        if count <= INSERTION_SORT:
            for i in range(1, count):
                value, stake = values[i], stakes[i]
                p = i
                while p > 0 and values[p - 1] > value:
                    values[p] = values[p - 1]
                    stakes[p] = stakes[p - 1]
                    p -= 1
                values[p] = value
                stakes[p] = stake
            total = 0.0
            for p in range(count):
                total += stakes[count - 1 - p]
                running[p] = total
                ordered[p] = values[count - 1 - p]
        else:
            order = np.argsort(values[:count], kind="mergesort")
            total = 0.0
            for p in range(count):
                index = order[count - 1 - p]
                total += stakes[index]
                running[p] = total
                ordered[p] = values[index]
        # The thresholds in ascending order, the position only moving forward: K + count
        # steps per column instead of K binary searches (whose branches, taken at random,
        # cost most of this function). A NaN threshold sorts last and is never reached.
        position = 0
        for k in rising:
            threshold = thresholds[k]
            while position < count and not running[position] >= threshold:
                position += 1
            out_f[k, F_C, j] = ordered[position] if position < count else 0.0


# --- one epoch ----------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _top_k_nonzero(S, k, owner, permit):
    """``consensus.top_k_nonzero`` (stable ascending order) plus the owner's permit."""
    n = S.shape[0]
    positive = 0
    signed = False  # a negative or NaN stake: only the sort orders those as the reference does
    for uid in range(n):
        positive += S[uid] > 0
        signed |= not S[uid] >= 0
    if not signed and positive <= k:
        # At most k stakes above zero: the sort puts them all in the top k (zeros first).
        for uid in range(n):
            permit[uid] = S[uid] > 0 or uid == owner
        return
    order = np.argsort(S, kind="mergesort")
    for position in range(n):
        uid = order[position]
        permit[uid] = (S[uid] != 0 and position >= n - k) or uid == owner


@njit(cache=True, error_model="numpy")
def _uid_front(stake, uids, scalars, fp, ip, fv, bv):
    """Sections 2.1-2.4 (activity, stake, permits, active stake) into ``fv``/``bv``, and the
    bond columns that restart from zero (new since the last epoch, or reset)."""
    n = stake.shape[0]
    current_block, recent_block, owner = scalars[0], scalars[1], scalars[2]
    S, A = fv[F_S], fv[F_A]
    active, permit, restart = bv[B_ACTIVE], bv[B_PERMIT], bv[B_RESTART]
    for j in range(n):
        active[j] = uids[U_LAST_UPDATE, j] + ip[_ACTIVITY_CUTOFF] >= current_block
        below = stake[j] < fp[_THRESHOLD] and j != owner
        S[j] = 0.0 if below else stake[j]
        restart[j] = uids[U_REGISTERED, j] >= recent_block or uids[U_RESET, j] != 0
    _normalize(S)
    _top_k_nonzero(S, ip[_MAX_VALIDATORS], owner, permit)
    for j in range(n):
        A[j] = S[j] * active[j] * (uids[U_PERMIT, j] != 0)
    _normalize(A)


@njit(cache=True, error_model="numpy")
def _masked_weights(weights, weight_set, rows, uids, commit, owner, commit_reveal, W,
                    present, want_present, first, last):
    """Section 2.5 (``yuma._masked_weights``) of rows ``first:last``: masks, then row
    normalisation, into ``W``; the sparse presence mask into ``present`` when
    ``want_present`` (liquid alpha reads it). ``W``'s rows may be longer than ``n`` (padded:
    ``_padded_row``)."""
    n = weights.shape[1]
    registered = uids[U_REGISTERED]
    for r in range(first, last):
        uid = rows[r]
        update = uids[U_LAST_UPDATE, uid]
        # A commit older than a uid's registration drops the entry (sniping); without a
        # commit, no registration block is above this limit.
        limit = commit[r] if commit_reveal and commit[r] != NO_COMMIT else NO_SNIPE_LIMIT
        out = W[r, :n]
        if uids[U_PERMIT, uid] == 0:  # a row without a permit keeps nothing
            out[:] = 0.0
            if want_present:
                present[r, :] = False
            continue
        # Bitwise rather than short-circuit tests: weight_set is random per entry, and a
        # branch on it mispredicted about every other weight. The self-weight (but the
        # owner's) is dropped after the loop, which then reads four arrays, not five.
        set_row, weight_row = weight_set[r], weights[r]
        if want_present:
            present_row = present[r]
            for j in range(n):
                keep = set_row[j] & (update > registered[j]) & (registered[j] <= limit)
                present_row[j] = keep
                out[j] = weight_row[j] if keep else 0.0
            if uid != owner:
                present_row[uid] = False
        else:
            for j in range(n):
                keep = set_row[j] & (update > registered[j]) & (registered[j] <= limit)
                out[j] = weight_row[j] if keep else 0.0
        if uid != owner:
            out[uid] = 0.0
        _normalize(out)


@njit(cache=True, error_model="numpy")
def _old_reciprocals(bonds, restart, out, first, last):
    """1 / column sums of the stored bonds with restarted columns zeroed (classic bonds
    normalise them; ``normalize_columns(old)`` is ``old * out``), for columns ``first:last``."""
    v, n = bonds.shape
    sums, restarts = out[first:last], restart[first:last]
    sums[:] = 0.0
    for r in range(v):
        row = bonds[r, first:last]
        for j in range(last - first):
            sums[j] = sums[j] + (0.0 if restarts[j] else row[j])
    if n == 1:  # numpy sums a single column as a contiguous run: pairwise
        column = np.empty(v)
        for r in range(v):
            column[r] = 0.0 if restart[0] else bonds[r, 0]
        out[0] = _pairwise_sum(column)
    for j in range(last - first):
        sums[j] = _reciprocal(sums[j])


@njit(cache=True, error_model="numpy")
def _rank(W, C, A_rows, beta, classic, I, delta_sums, with_trust, rows, trust, first, last):
    """Sections 2.7-2.9 for columns ``first:last`` in one pass: the stake-weighted column sums
    of the clipped weights (``einsum("kv,kvn->kn")``, not yet normalised), for classic bonds
    the column sums of ``A * W~`` with W~ = W + beta (Wc - W), and, ``with_trust`` (the
    columns are all of them), the clipped weights' row sums (trust, into ``trust[rows[r]]``;
    an epoch split between threads takes them from ``_trust_rows``)."""
    v, n = W.shape[0], C.shape[0]  # W's rows may be padded (_padded_row)
    # Views of the columns, indexed from 0: an index that numba cannot prove non-negative
    # gets a wraparound test per access, and then LLVM does not vectorise the loop (7x
    # slower here).
    width = last - first
    C_part, I_part, delta_part = C[first:last], I[first:last], delta_sums[first:last]
    I_part[:] = 0.0
    delta_part[:] = 0.0
    clipped_row = np.empty(n)
    clipped_part = clipped_row[first:last]
    for r in range(v):
        a = A_rows[r]
        W_row = W[r, first:last]
        if classic:
            for j in range(width):
                w = W_row[j]
                clipped = min(w, C_part[j])
                clipped_part[j] = clipped
                I_part[j] = a * clipped + I_part[j]
                delta_part[j] = delta_part[j] + a * (w + beta * (clipped - w))
        else:
            for j in range(width):
                clipped = min(W_row[j], C_part[j])
                clipped_part[j] = clipped
                I_part[j] = a * clipped + I_part[j]
        if with_trust:
            trust[rows[r]] = _pairwise_sum(clipped_row)
    if n == 1 and v > 0:  # numpy's inner run is then the row axis: pairwise, dot product
        column = np.empty(v)
        for r in range(v):
            column[r] = min(W[r, 0], C[0])
        I[0] = _einsum_dot(A_rows, column)
        if classic:
            for r in range(v):
                w = W[r, 0]
                column[r] = A_rows[r] * (w + beta * (column[r] - w))
            delta_sums[0] = _pairwise_sum(column)


@njit(cache=True, error_model="numpy")
def _trust_rows(W, C, rows, trust, first, last):
    """The clipped weights' row sums of rows ``first:last`` (``_rank``'s trust, for an epoch
    whose columns were split between threads)."""
    n = C.shape[0]  # W's rows may be padded (_padded_row)
    clipped_row = np.empty(n)
    for r in range(first, last):
        for j in range(n):
            clipped_row[j] = min(W[r, j], C[j])
        trust[rows[r]] = _pairwise_sum(clipped_row)


@njit(cache=True, error_model="numpy")
def _classic_bonds_columns(W, C, bonds, restart, old_reciprocals, old_scaled, shared_old,
                           A_rows, beta, alpha, delta_sums, B, scale, peak, first, last):
    """Section 2.10a's first pass (``yuma._classic_bonds``), columns ``first:last``: ``B``
    gets the moving average of the new and the old bonds, ``scale`` the reciprocal of each
    column's sum of it and ``peak`` the column maximum of the normalised bonds. W~ and the
    restarted old bonds are recomputed from ``W`` and ``bonds`` (the same operations, so the
    same bits) instead of being kept in memory. With ``shared_old`` (a batch over one
    input) the normalised old bonds come from ``old_scaled``, which ``_shared_front``
    computed once for all epochs with the same operations."""
    v, n = W.shape[0], C.shape[0]  # W's rows may be padded (_padded_row)
    keep = 1 - alpha
    width = last - first  # views of the columns, indexed from 0 (see _rank)
    C_part, restart_part = C[first:last], restart[first:last]
    old_part = old_reciprocals[first:last]
    delta_reciprocals = np.empty(width)
    for j in range(width):
        delta_reciprocals[j] = _reciprocal(delta_sums[first + j])
    mix = np.zeros(width)
    top = np.full(width, -np.inf)
    for r in range(v):
        # Two loops per row, each over few arrays: LLVM vectorises them (one loop over all
        # nine arrays it did not).
        a = A_rows[r]
        W_row, bonds_row, B_row = W[r, first:last], bonds[r, first:last], B[r, first:last]
        if shared_old:
            old_row = old_scaled[r, first:last]
            for j in range(width):
                w = W_row[j]
                wb = w + beta * (min(w, C_part[j]) - w)
                B_row[j] = alpha * (a * wb * delta_reciprocals[j]) + keep * old_row[j]
        else:
            for j in range(width):
                w = W_row[j]
                wb = w + beta * (min(w, C_part[j]) - w)
                old = 0.0 if restart_part[j] else bonds_row[j]
                B_row[j] = alpha * (a * wb * delta_reciprocals[j]) + keep * (old * old_part[j])
        for j in range(width):
            mixed = B_row[j]
            mix[j] = mix[j] + mixed
            # max(top, mixed) as numba computes it (NaN included), written as the select
            # that LLVM turns into a vector max (numba's max stayed scalar here).
            top[j] = mixed if mixed > top[j] else top[j]
    if n == 1 and v > 0:
        mix[0] = _pairwise_sum(np.ascontiguousarray(B[:, 0]))
    # The column peak of the normalised bonds B * mix is the column peak of B times mix:
    # rounding is monotonic, so scaling by mix >= 0 keeps the largest entry the largest.
    # Knowing it before the second pass lets one pass normalise, upscale and take the
    # dividends' dot products.
    for j in range(width):
        scale[first + j] = _reciprocal(mix[j])
        peak[first + j] = top[j] * scale[first + j]


@njit(cache=True, error_model="numpy")
def _yuma3_bonds_columns(W, C, bonds, restart, present, beta, alpha, liquid, exp_loop, low,
                         high, steepness, B, scale, first, last):
    """Section 2.10b's first pass (``yuma._yuma3_bonds``), columns ``first:last``: ``B``
    gets the new bonds, ``scale`` the reciprocal of each column's sum. Liquid alpha's
    sigmoid takes numpy's exp (``exp_loop``: ``EXP_LOOP``) of each row's exponents."""
    v, n = W.shape[0], C.shape[0]  # W's rows may be padded (_padded_row)
    keep = 1 - alpha
    width = last - first  # views of the columns, indexed from 0 (see _rank)
    C_part, restart_part = C[first:last], restart[first:last]
    slope = steepness / 100.0
    sums = np.zeros(width)
    exp_terms = np.empty(width)  # each row's sigmoid exponents, then numpy's exp of them
    for r in range(v):
        W_row, bonds_row, B_row = W[r, first:last], bonds[r, first:last], B[r, first:last]
        if liquid:
            # The row's exponents, then numpy's exp of them in one call (the pair update
            # below reads them back). W~ and the old bond are computed again there: kept in
            # row buffers instead, they measured no faster.
            for j in range(width):
                w = W_row[j]
                wb = w + beta * (min(w, C_part[j]) - w)
                old = 0.0 if restart_part[j] else bonds_row[j]
                # Buying (W~ >= old): the distance above consensus; selling: the drop.
                distance = min(max(wb - C_part[j] if wb >= old else old - wb, 0.0), 1.0)
                exp_terms[j] = min(max(-slope * (distance - 0.5), -20.0), 20.0)
            _numpy_loop(exp_loop[0], exp_loop[1], exp_terms)  # type: ignore[call-arg]  # intrinsic
        present_row = present[r if liquid else 0, first:last]
        for j in range(width):
            w = W_row[j]
            clipped = min(w, C_part[j])
            wb = w + beta * (clipped - w)
            old = 0.0 if restart_part[j] else bonds_row[j]
            if not liquid:
                value = alpha * wb + keep * old
            else:
                # Computed for every pair, then selected: presence is random per entry, and
                # a branch on it mispredicted about every other pair.
                if beta == 0:
                    present_b = present_row[j]
                elif beta == 1:
                    present_b = present_row[j] & ((C_part[j] != 0) | (w <= 0))
                else:
                    present_b = wb > 0
                pair = min(max(low + (high - low) / (1.0 + exp_terms[j]), low), high)
                ema = min(1.0, (1 - pair) * old + max(0.0, pair * wb))
                value = ema if present_b else 0.0  # mat_ema_alpha_sparse: present entries
            B_row[j] = value
            sums[j] = sums[j] + value
    if n == 1 and v > 0:
        sums[0] = _pairwise_sum(np.ascontiguousarray(B[:, 0]))
    for j in range(width):
        scale[first + j] = _reciprocal(sums[j])


@njit(cache=True, error_model="numpy")
def _dividend_rows(B, scale, peak, classic, A_rows, I, rows, dividends, first, last):
    """The bonds' second pass, rows ``first:last``: each row of the column-normalised bonds
    (``B * scale``) dotted with the incentive into ``dividends[rows[r]]`` (not yet
    normalised; Yuma3 weights it by the row's active stake), and for classic bonds ``B``
    upscaled to its column maximum (``consensus.column_max_upscale``, math.rs
    ``inplace_col_max_upscale_sparse``: the maximum becomes exactly 1). DOT_ROWS rows at a
    time, their dot products interleaved (``_einsum_dot_rows``: each row's bits are its own)."""
    n = B.shape[1]
    block = np.zeros((DOT_ROWS, n))
    dots = np.empty(DOT_ROWS)
    lanes = np.empty(2 * DOT_ROWS)
    for r0 in range(first, last, DOT_ROWS):
        width = min(DOT_ROWS, last - r0)
        for q in range(width):
            B_row, block_row = B[r0 + q], block[q]
            if classic:
                for j in range(n):
                    value = B_row[j] * scale[j]
                    block_row[j] = value
                    B_row[j] = value / peak[j] if peak[j] >= TINY else 0.0
            else:
                for j in range(n):
                    block_row[j] = B_row[j] * scale[j]
        _einsum_dot_rows(block, I, dots, lanes)
        for q in range(width):
            dividends[rows[r0 + q]] = dots[q] if classic else A_rows[r0 + q] * dots[q]


@njit(cache=True, error_model="numpy")
def _emission_shares(I, D, A, S, server, validator, combined):
    """Section 2.11 (``yuma._emission_shares``)."""
    n = I.shape[0]
    for j in range(n):
        combined[j] = I[j] + D[j]
    total = _pairwise_sum(combined)
    use_active = _pairwise_sum(A) > 0
    scale = _reciprocal(total)
    for j in range(n):
        fallback = A[j] if use_active else S[j]
        if total > 0:
            server[j] = I[j] / total
            validator[j] = D[j] / total
            combined[j] = combined[j] * scale
        else:
            server[j] = 0.0
            validator[j] = fallback
            combined[j] = fallback


@njit(cache=True, error_model="numpy")
def _any_positive(values):
    return (values > 0).any()


@njit(cache=True, error_model="numpy")
def _row_stakes(A, rows):
    A_rows = np.empty(rows.shape[0])
    for r in range(rows.shape[0]):
        A_rows[r] = A[rows[r]]
    return A_rows


@njit(cache=True, error_model="numpy")
def _consensus(W, A_rows, kappa, C, first, last):
    """Section 2.6 for one epoch's columns ``first:last``, by selection."""
    total = _pairwise_sum(A_rows)
    if A_rows.shape[0] > 0 and total > 0:
        _consensus_columns(W, A_rows, (kappa * total) * KAPPA_MARGIN, first, last, C)
    else:
        C[first:last] = 0.0


@njit(cache=True, error_model="numpy")
def _shared_front(mode, stake, weights, bonds, weight_set, uids, commit, scalars, rows,
                  fparams, iparams, out_f, out_b, W_scratch, present_scratch, want_present):
    """The part of K epochs that reads only inputs and front parameters, when all K share
    them (``MODE_SHARED*``): computed once into epoch 0's slots (each epoch copies them into
    its own: ``_epoch_part``), before ``_shared_consensus``."""
    fp, ip = fparams[0], iparams[0]
    _uid_front(stake[0], uids[0], scalars[0], fp, ip, out_f[0], out_b[0])
    _masked_weights(weights[0], weight_set[0], rows, uids[0], commit[0], scalars[0, 2],
                    ip[_COMMIT_REVEAL] != 0, W_scratch[0], present_scratch[0], want_present,
                    0, rows.shape[0])
    _old_reciprocals(bonds[0], out_b[0, B_RESTART], out_f[0, F_OLD], 0, stake.shape[1])
    if W_scratch.shape[0] > 1:  # classic bonds: the normalised old bonds, once for all K
        restart, old_reciprocals, old_scaled = out_b[0, B_RESTART], out_f[0, F_OLD], W_scratch[1]
        for r in range(rows.shape[0]):
            for j in range(stake.shape[1]):
                old = 0.0 if restart[j] else bonds[0, r, j]
                old_scaled[r, j] = old * old_reciprocals[j]


@njit(cache=True, error_model="numpy")
def _shared_consensus(rows, fparams, out_f, W_scratch, first, last):
    """With ``MODE_SHARED_SORTED``, every epoch's consensus of columns ``first:last`` from one
    sort per column (after ``_shared_front``; threads take disjoint column ranges)."""
    A_rows = _row_stakes(out_f[0, F_A], rows)
    total = _pairwise_sum(A_rows)
    if rows.shape[0] > 0 and total > 0:
        thresholds = np.empty(out_f.shape[0])
        for k in range(out_f.shape[0]):
            kappa = fparams[k if fparams.shape[0] > 1 else 0, _KAPPA]
            thresholds[k] = (kappa * total) * KAPPA_MARGIN
        _consensus_sorted(W_scratch[0], A_rows, thresholds, out_f, first, last)
    else:
        out_f[:, F_C, first:last] = 0.0


@njit(cache=True, error_model="numpy")
def _epoch_part(part, first, last, whole, k, mode, stake, weights, bonds, weight_set, uids,
                commit, scalars, rows, fparams, iparams, out_f, out_b, out_bonds, W_scratch,
                present_scratch, exp_loop, want_present, bonds_work):
    """Part ``part`` of epoch ``k`` (inputs and params of batch size 1 broadcast), over rows
    or columns ``first:last`` for the parts that PART_AXES splits. ``whole``: the epoch runs
    on one thread, so ``_rank`` takes the trust row sums in its pass. Shared modes read the
    front that ``_shared_front`` computed.

    Every value a part writes is a row's or a column's own, computed in full by the one
    thread that owns that row or column; the reductions across rows and across columns
    (normalisations, totals) are in the unsplit parts. So the bytes do not depend on how
    the parts are split.

    With a ``bonds_work`` of the bonds' shape (a batch whose bonds output does not fit in the
    cache: STREAM_BONDS), the bonds are computed there, in the cache, and the rows part
    streams them into ``out_bonds[k]`` (``_stream_row``); else (a 0-row array) in place."""
    xi = k if stake.shape[0] > 1 else 0
    pi = k if fparams.shape[0] > 1 else 0
    si = k if mode == MODE_EACH else 0
    fp, ip = fparams[pi], iparams[pi]
    fv, bv = out_f[k], out_b[k]
    W, present = W_scratch[si], present_scratch[si if want_present else 0]
    stream = bonds_work.shape[0] > 0
    B = bonds_work if stream else out_bonds[k]
    yuma3 = ip[_YUMA3] != 0
    liquid = yuma3 and ip[_LIQUID] != 0
    if part == PART_FRONT:
        fv[F_TRUST] = 0.0
        if mode == MODE_EACH:
            _uid_front(stake[xi], uids[xi], scalars[xi], fp, ip, fv, bv)
        elif k > 0:  # the shared front, in epoch 0's slots (read only by now)
            for row in (F_S, F_A, F_OLD):
                fv[row] = out_f[0, row]
            bv[:] = out_b[0]
    elif part == PART_MASKS:
        if mode == MODE_EACH:
            _masked_weights(weights[xi], weight_set[xi], rows, uids[xi], commit[xi],
                            scalars[xi, 2], ip[_COMMIT_REVEAL] != 0, W, present, want_present,
                            first, last)
    elif part == PART_COLUMNS:
        A_rows = _row_stakes(fv[F_A], rows)
        if mode == MODE_EACH and not yuma3:
            _old_reciprocals(bonds[xi], bv[B_RESTART], fv[F_OLD], first, last)
        if mode != MODE_SHARED_SORTED:
            _consensus(W, A_rows, fp[_KAPPA], fv[F_C], first, last)
        _rank(W, fv[F_C], A_rows, fp[_BETA], not yuma3, fv[F_I], fv[F_DELTA], whole, rows,
              fv[F_TRUST], first, last)
        if not yuma3:
            shared_old = W_scratch.shape[0] > 1 and mode != MODE_EACH
            _classic_bonds_columns(W, fv[F_C], bonds[xi], bv[B_RESTART], fv[F_OLD],
                                   W_scratch[1 if shared_old else 0], shared_old, A_rows,
                                   fp[_BETA], 1.0 - fp[_MOVING_AVG], fv[F_DELTA], B,
                                   fv[F_SCALE], fv[F_PEAK], first, last)
    elif part == PART_BONDS:
        if yuma3:
            # A part of its own: liquid alpha applies only when some consensus is positive, a
            # test of every column, complete only once all of PART_COLUMNS has run.
            liquid = liquid and _any_positive(fv[F_C])
            _yuma3_bonds_columns(W, fv[F_C], bonds[xi], bv[B_RESTART], present, fp[_BETA],
                                 1.0 - fp[_MOVING_AVG], liquid, exp_loop, fp[_ALPHA_LOW],
                                 fp[_ALPHA_HIGH], fp[_STEEPNESS], B, fv[F_SCALE], first, last)
    elif part == PART_MIDDLE:
        _normalize(fv[F_I])
    elif part == PART_ROWS:
        if not whole:
            _trust_rows(W, fv[F_C], rows, fv[F_TRUST], first, last)
        _dividend_rows(B, fv[F_SCALE], fv[F_PEAK], not yuma3, _row_stakes(fv[F_A], rows),
                       fv[F_I], rows, fv[F_D], first, last)
        for r in range(first, last):
            if not bv[B_PERMIT, rows[r]]:
                B[r, :] = 0.0
            if stream:
                _stream_row(out_bonds[k, r], B[r])  # type: ignore[call-arg]  # its typing
        if stream:
            _store_fence()  # type: ignore[call-arg]  # the intrinsic's own typing
    elif part == PART_TAIL:
        v = rows.shape[0]
        dividend_rows = np.empty(v)
        for r in range(v):
            dividend_rows[r] = fv[F_D, rows[r]]
        _normalize(dividend_rows)
        fv[F_D] = 0.0
        for r in range(v):
            fv[F_D, rows[r]] = dividend_rows[r]
        _emission_shares(fv[F_I], fv[F_D], fv[F_A], fv[F_S], fv[F_SERVER], fv[F_VALIDATOR],
                         fv[F_EMISSION])


@njit(cache=True, error_model="numpy")
def _part_size(part, v, n):
    """How many rows or columns part ``part`` runs over (0: not split)."""
    axis = PART_AXES[part]
    return v if axis == AXIS_ROWS else n if axis == AXIS_COLUMNS else 0


@njit(cache=True, nogil=True, error_model="numpy")
def _epochs(mode, part, first, last, stake, weights, bonds, weight_set, uids, commit, scalars,
            rows, fparams, iparams, out_f, out_b, out_bonds, W_scratch, present_scratch,
            exp_loop, want_present):
    """``_epochs_of`` on the arguments without their meminfos (``_unowned``: the caller
    holds them for the call; the views taken of them below count no references)."""
    _epochs_of(  # each "type: ignore": mypy does not see the intrinsic's own typing
        mode, part, first, last,
        _unowned(stake), _unowned(weights), _unowned(bonds),  # type: ignore[call-arg]
        _unowned(weight_set), _unowned(uids), _unowned(commit),  # type: ignore[call-arg]
        _unowned(scalars), _unowned(rows), _unowned(fparams),  # type: ignore[call-arg]
        _unowned(iparams), _unowned(out_f), _unowned(out_b),  # type: ignore[call-arg]
        _unowned(out_bonds), _unowned(W_scratch),  # type: ignore[call-arg]
        _unowned(present_scratch), exp_loop, want_present)  # type: ignore[call-arg]


@njit(cache=True, nogil=True, error_model="numpy")
def _epochs_of(mode, part, first, last, stake, weights, bonds, weight_set, uids, commit,
               scalars, rows, fparams, iparams, out_f, out_b, out_bonds, W_scratch,
               present_scratch, exp_loop, want_present):
    """Epochs ``first:last`` of the batch, each part whole (``part == ALL_PARTS``), the shared
    front alone (SHARED_FRONT), the shared consensus of columns ``first:last``
    (SHARED_CONSENSUS), or part ``part`` of epoch 0 over its rows or columns
    ``first:last`` (a split epoch). Without the GIL, so threads can run disjoint ranges side
    by side. The one place that calls ``_epoch_part``, and the one entry for all of these
    (``_epoch_single`` comes through here too): on a cold compile LLVM optimises the epoch's
    whole body again in every function that calls it (two more call sites cost ~17 s)."""
    if part == SHARED_FRONT:
        _shared_front(mode, stake, weights, bonds, weight_set, uids, commit, scalars, rows,
                      fparams, iparams, out_f, out_b, W_scratch, present_scratch, want_present)
        return
    if part == SHARED_CONSENSUS:
        _shared_consensus(rows, fparams, out_f, W_scratch, first, last)
        return
    whole = part == ALL_PARTS
    v, n = rows.shape[0], stake.shape[1]
    epochs = range(first, last) if whole else range(0, 1)
    parts = range(PART_COUNT) if whole else range(part, part + 1)
    # A batch whose bonds output outgrows the cache computes each epoch's bonds in one
    # (v, n) array kept in the cache and streams them out (_epoch_part).
    stream = whole and out_bonds.shape[0] * v * n * 8 >= STREAM_BONDS
    bonds_work = np.empty((v if stream else 0, n))
    for k in epochs:
        for each in parts:
            _epoch_part(each, 0 if whole else first, _part_size(each, v, n) if whole else last,
                        whole, k, mode, stake, weights, bonds, weight_set, uids, commit, scalars,
                        rows, fparams, iparams, out_f, out_b, out_bonds, W_scratch,
                        present_scratch, exp_loop, want_present, bonds_work)


@njit(cache=True, nogil=True, error_model="numpy")
def _epoch_single(stake, weights, bonds, weight_set, last_update, registered, permit, reset,
                  commit, current_block, recent_block, owner, rows, fparams, iparams, out_f,
                  out_b, out_bonds, W_scratch, present_scratch, exp_loop, want_present):
    """One epoch straight from ``EpochInputs``' own arrays: the per-uid integers and scalars
    are packed here rather than in Python (which cost ~8 us of a 64 x 256 epoch's ~20 us of
    wrapper), and the (1, ...) views have the types the batch path passes, so ``_epochs``
    and everything under it compile once for both."""
    n = stake.shape[0]
    v = rows.shape[0]
    uids = np.empty((1, U_ROWS, n), dtype=np.int64)
    for j in range(n):
        uids[0, U_LAST_UPDATE, j] = last_update[j]
        uids[0, U_REGISTERED, j] = registered[j]
        uids[0, U_PERMIT, j] = permit[j]
        uids[0, U_RESET, j] = 0
    for uid in reset:
        uids[0, U_RESET, uid] = 1
    scalars = np.empty((1, 3), dtype=np.int64)
    scalars[0, 0], scalars[0, 1], scalars[0, 2] = current_block, recent_block, owner
    _epochs(MODE_EACH, ALL_PARTS, 0, 1, stake.reshape((1, n)), weights.reshape((1, v, n)),
            bonds.reshape((1, v, n)), weight_set.reshape((1, v, n)), uids,
            commit.reshape((1, v)), scalars, rows, fparams, iparams, out_f, out_b, out_bonds,
            W_scratch, present_scratch, exp_loop, want_present)


# --- entry point --------------------------------------------------------------------------


_scratch = threading.local()


def _padded_row(n: int) -> int:
    """The row length of the (v, n) weights scratch: whole 64-byte lines, an odd number of
    them. The median gathers columns, one weight from each row; with rows a multiple of
    1 KiB apart every row's weight falls into the same few sets of the L1 cache (n = 256:
    2 of its 64 sets; n = 4096: 1), and the gather missed L1 on nearly every weight
    (padded: 10.4 -> 7.4 us at 64 x 256, 1.70 -> 1.37 ms at 256 x 4096, gather alone)."""
    lines = -(-n // 8)
    return 8 * (lines | 1)


def _scratch_array(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A per-thread array kept between calls (allocating and faulting in fresh (v, n)
    matrices every epoch cost more than the epoch's arithmetic at 64 x 256)."""
    arrays = _scratch.__dict__.setdefault("arrays", {})
    array = arrays.get(name)
    if array is None or array.shape != shape or array.dtype != dtype:
        array = np.empty(shape, dtype=dtype)
        arrays[name] = array
    return array


def _output_array(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A new output array, or the one this thread returned last time when nothing references
    it any more (no view of it is alive: the caller has dropped those outputs). A batch's
    (K, v, n) bonds are 32 MiB at K = 256, 64 x 256, and faulting in fresh pages for them
    cost about as much as writing them."""
    arrays = _scratch.__dict__.setdefault("outputs", {})
    array = arrays.get(name)
    # References: the dict, the local name and getrefcount's argument; any view adds one.
    if (array is None or array.shape != shape or array.dtype != dtype
            or sys.getrefcount(array) > _UNREFERENCED):
        array = np.empty(shape, dtype=dtype)
        arrays[name] = array
    return array


_UNREFERENCED = 3
_pools: dict[int, ThreadPoolExecutor] = {}  # by helper thread count, made on first use


class _Ranges:
    """Ranges handed out first come, first served to the threads that run them, and the
    count of ranges still running (one per call of ``_in_ranges``)."""

    def __init__(self, bounds: list[int]) -> None:
        self.bounds = bounds
        self.next = 0
        self.running = 0
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()

    def run(self, function: Any, arguments: tuple[Any, ...]) -> None:
        """Claim and run ranges until none is left."""
        while True:
            with self.lock:
                index = self.next
                if index + 1 >= len(self.bounds) or self.errors:
                    return
                self.next += 1
                self.running += 1
            try:
                function(self.bounds[index], self.bounds[index + 1], *arguments)
            except BaseException as error:  # raised again on the calling thread
                with self.lock:
                    self.errors.append(error)
            finally:
                with self.lock:
                    self.running -= 1

    def wait(self) -> None:
        """Until every claimed range has finished (a helper that starts later finds none).
        Polls, yielding the GIL, rather than sleeping on a condition: waking a thread whose
        virtual CPU has halted took 0.1-0.4 ms here, a few times per split epoch."""
        while self.running:
            time.sleep(0)
        if self.errors:
            raise self.errors[0]


def _in_ranges(function: Any, bounds: list[int], threads: int, *arguments: Any) -> None:
    """``function(first, last, *arguments)`` for each range between consecutive ``bounds``
    on up to ``threads`` threads: the calling thread and pool threads take ranges first come,
    first served (the kernel releases the GIL), and this returns once every range has run.
    It never waits for a helper to start: on a shared machine a helper thread can wait
    milliseconds for a core, and then the calling thread runs the ranges itself."""
    helpers = min(threads, len(bounds) - 1) - 1
    if helpers <= 0:
        for index in range(len(bounds) - 1):
            function(bounds[index], bounds[index + 1], *arguments)
        return
    pool = _pools.get(helpers)
    if pool is None:
        pool = _pools[helpers] = ThreadPoolExecutor(helpers, thread_name_prefix="yuma-kernel")
    ranges = _Ranges(bounds)
    for _ in range(helpers):
        pool.submit(ranges.run, function, arguments)
    try:
        ranges.run(function, arguments)
    finally:  # never return while a helper still writes into the outputs
        ranges.wait()


def _bounds(size: int, threads: int, step: int) -> list[int]:
    """``threads`` contiguous ranges of ``range(size)`` as evenly as multiples of ``step``
    allow (the last range takes the remainder)."""
    return [min(size, (size * index // threads + step - 1) // step * step)
            for index in range(threads)] + [size]


# Split parts' ranges: rows in the dividends' blocks of four, columns in whole cache lines
# (the per-column vectors and the bond rows have no line written by two threads).
ROW_STEP, COLUMN_STEP = DOT_ROWS, 8


def _shrinking_bounds(size: int, threads: int, step: int = 1) -> list[int]:
    """Ranges of ``range(size)`` that shrink towards the end (each 1/(2 threads) of what is
    left, at most 1/(SPLIT_RANGES threads) of all, in multiples of ``step`` but for the
    last), for a batch's epochs: the threads, taking them first come first served, run out
    of work at nearly the same moment. With equal ranges the caller waited up to one whole
    range (32 epochs of a K = 256 batch, ~2 ms) for the last range a helper had started."""
    if size == 0:
        return [0, 0]
    largest = -(-size // (SPLIT_RANGES * threads))
    bounds = [0]
    while bounds[-1] < size:
        left = size - bounds[-1]
        piece = -(-min(largest, -(-left // (2 * threads))) // step) * step
        bounds.append(bounds[-1] + min(left, max(step, piece)))
    return bounds


def _run_batch(mode: int, batch: int, arguments: tuple[Any, ...]) -> None:
    """All epochs of a batch: the shared front first (shared modes; its consensus from one
    sort per column split by columns), then the epochs, in SPLIT_RANGES contiguous ranges per
    thread on up to ``numba.get_num_threads()`` threads. Each epoch and each column writes
    only its own slots, so the bytes do not depend on the thread count."""
    threads = 1 if batch < PARALLEL_BATCH else min(numba.get_num_threads(), batch)
    if mode != MODE_EACH:
        _epochs(mode, SHARED_FRONT, 0, 0, *arguments)
        if mode == MODE_SHARED_SORTED:
            n = arguments[0].shape[1]
            ranges = 1 if threads == 1 else max(1, min(SPLIT_RANGES * threads,
                                                        -(-n // COLUMN_STEP)))
            _in_ranges(functools.partial(_epochs, mode, SHARED_CONSENSUS),
                       _bounds(n, ranges, COLUMN_STEP), threads, *arguments)
    bounds = [0, batch] if threads == 1 else _shrinking_bounds(batch, threads)
    _in_ranges(functools.partial(_epochs, mode, ALL_PARTS), bounds, threads, *arguments)


def _run_split(threads: int, yuma3: bool, arguments: tuple[Any, ...]) -> None:
    """One epoch (``run_epochs``' arguments, batch size 1) with its row and column parts split
    into SPLIT_RANGES ranges per thread (equal ranges: shrinking ones, as batches take,
    measured 0.89-0.91x of these in three runs with the second core busy, 1.1-1.6x in
    others), run on ``threads`` threads.

    Each helper is handed the whole epoch, not one part at a time: every thread goes through
    the parts in order, takes ranges of a part until none is left, and waits (polling) until
    the part's last range has finished before the next part, rather than sleeping between
    parts. A small gain, measured with the two ways taking turns (30 split epochs each at
    256 x 4096): 6.06 against 6.13 ms classic, 6.91 against 7.24 ms with liquid alpha."""
    v, n = arguments[1].shape[1:]
    parts = []
    for part in range(PART_COUNT):
        if part == PART_BONDS and not yuma3:
            continue  # classic bonds are in PART_COLUMNS: no barrier for an empty part
        axis = PART_AXES[part]
        if axis == AXIS_NONE:
            bounds = [0, 0]
        else:
            size, step = (v, ROW_STEP) if axis == AXIS_ROWS else (n, COLUMN_STEP)
            bounds = _bounds(size, max(1, min(SPLIT_RANGES * threads, -(-size // step))), step)
        parts.append((functools.partial(_epochs, MODE_EACH, part), _Ranges(bounds)))
    # One slot per thread; a thread that finds every slot taken has nothing to do.
    _in_ranges(_parts_in_order, list(range(threads + 1)), threads, parts, arguments)


def _parts_in_order(first: int, last: int, parts: list[tuple[Any, _Ranges]],
                    arguments: tuple[Any, ...]) -> None:
    """One thread's way through a split epoch's parts (``_run_split``): ranges of each part
    while any is left, then the wait for the part's other threads. A thread that starts late
    passes the parts already done without running anything."""
    for function, ranges in parts:
        ranges.run(function, arguments)
        ranges.wait()


def _stacked(arrays: list[np.ndarray]) -> np.ndarray:
    """(K, ...) read-only: a view for one input, a stack for several (one numba signature).
    ``EpochInputs`` arrays are read-only already, so a view of one needs no flag set."""
    if len(arrays) == 1 and not arrays[0].flags.writeable:
        return arrays[0][None]
    stacked = arrays[0][None] if len(arrays) == 1 else np.stack(arrays)
    stacked.flags.writeable = False
    return stacked


def _packed_uids(inputs_list: Sequence[Any], n: int) -> np.ndarray:
    """(K, U_ROWS, n) per-uid integer inputs (writable, as ``_epoch_single`` packs them: one
    array type for both entries)."""
    uids = np.empty((len(inputs_list), U_ROWS, n), dtype=np.int64)
    for index, x in enumerate(inputs_list):
        uids[index, U_LAST_UPDATE] = x.last_update
        uids[index, U_REGISTERED] = x.block_at_registration
        uids[index, U_PERMIT] = x.validator_permit
        uids[index, U_RESET] = 0
        if x.reset_bond_uids:
            uids[index, U_RESET, list(x.reset_bond_uids)] = 1
    return uids


_NO_RESET = np.empty(0, dtype=np.int64)
# A split epoch is the faster way only while its helper threads get a core. On this shared
# machine another job often holds the second core, and a 256 x 4096 epoch split between
# two threads then took 10-25% longer than on one (bench_yuma; a numpy job on the other
# core: 11.4 against 9.7 ms, medians of 20 alternating). Whether the helpers "kept up" (the
# previous test) said yes for ~40% of those slow splits. So an automatic split follows the
# clock: per shape, the wall times of split and of unsplit epochs are kept (explicit
# ``threads`` runs count too; a time taken right after one of the same way is averaged
# with it, so that one odd epoch does not decide alone), the faster way runs, and the other
# is timed again once SPLIT_PROBE epochs of the shape have run since it last was (or it
# never was). Counted in epochs, not seconds: a chain's epochs are seconds apart. The first
# epoch after a change of way is not timed, and the next one goes the same way and is: the
# first split after unsplit ones wakes helper threads that have been idle (their virtual
# CPUs halted), and timed, that one slow epoch kept every later probe of the split slow the
# same way, so an automatic epoch, once unsplit, stayed unsplit (bench_yuma, classic 256 x
# 4096: 11.2-12.4 ms "automatic" against 6.8 ms split, in two runs of three).
SPLIT_PROBE = 16
# Per shape: [split seconds, epoch number it was taken at, unsplit seconds, epoch number,
# epochs so far, way of the last epoch (1 split, 0 unsplit, -1 none yet)].
_split_times: dict[tuple[int, int, bool], list[float]] = {}
_clock = time.perf_counter


def _auto_split(key: tuple[int, int, bool]) -> bool:
    """Whether an epoch of this shape splits (first: yes, twice, then the other way twice, and
    so on: see SPLIT_PROBE)."""
    times = _split_times.get(key)
    if times is None:
        return True
    split_seconds, split_at, whole_seconds, whole_at, count, last = times
    if last >= 0 and (split_at if last else whole_at) != count - 1:
        return bool(last)  # the last epoch was the untimed first of its way: time this one
    faster_split = split_seconds <= whole_seconds
    other_at = whole_at if faster_split else split_at
    return faster_split != (count - other_at >= SPLIT_PROBE)


def _timed_split(key: tuple[int, int, bool], split: bool, seconds: float) -> None:
    times = _split_times.setdefault(key, [np.inf, -np.inf, np.inf, -np.inf, 0, -1])
    index = 0 if split else 2
    kept, kept_at = times[index:index + 2]
    count, last = times[4:6]
    if last == split:  # else the first of its way after the other: not timed
        times[index:index + 2] = [(kept + seconds) / 2 if kept_at == count - 1 else seconds,
                                  count]
    times[4:6] = [count + 1, int(split)]


def _input_arguments(inputs_list: Sequence[Any]) -> tuple[np.ndarray, ...]:
    """The kernel's (K, ...) input arrays of ``yuma.EpochInputs`` (1 or K of them)."""
    n = inputs_list[0].stake.shape[0]
    scalars = np.array([[x.current_block, x.recent_registration_block,
                         -1 if x.owner_uid is None else x.owner_uid] for x in inputs_list],
                       dtype=np.int64)
    return (
        _stacked([x.stake for x in inputs_list]),
        _stacked([x.weights for x in inputs_list]), _stacked([x.bonds for x in inputs_list]),
        _stacked([x.weight_set for x in inputs_list]), _packed_uids(inputs_list, n),
        _stacked([x.commit_block for x in inputs_list]), scalars,
    )


class _SingleEpoch:
    """One thread's arrays for single epochs of one shape (v, n, with or without liquid
    alpha), and the result ``build`` made of the outputs' views (``yuma.EpochOutputs``, which
    is immutable), which ``run_epoch`` hands out again, rewritten, once nothing outside holds
    it, its arrays or any view of them: every reference count is then what it was when they
    were made (a view of a view counts on the array that owns the memory). Making the eleven
    views and the result anew took ~4.5 us of a ~120 us 64 x 256 epoch."""

    def __init__(self, v: int, n: int, liquid: bool, build: Any) -> None:
        self.key = (v, n, liquid, build)
        self.out_f = np.empty((1, F_ROWS, n))
        self.out_b = np.empty((1, B_ROWS, n), dtype=np.bool_)
        self.out_bonds = np.empty((1, v, n))
        self.W = np.empty((1, v, _padded_row(n)))
        self.present = np.empty((1, v, n) if liquid else (1, 1, 1), dtype=np.bool_)
        self.tail = (self.out_f, self.out_b, self.out_bonds, self.W, self.present, EXP_LOOP,
                     liquid)
        named = _named_outputs(self.out_f[0], self.out_b[0], self.out_bonds[0])
        self.result = build(**named)
        self.held = (self.result, self.out_f, self.out_b, self.out_bonds, *named.values())
        del named  # it holds the views too
        self.counts = self.references()

    def references(self) -> list[int]:
        return [sys.getrefcount(held) for held in self.held]

    def unreferenced(self) -> bool:
        return self.references() == self.counts


def _single_epoch(v: int, n: int, liquid: bool, build: Any) -> _SingleEpoch:
    """This thread's ``_SingleEpoch``, or a new one (kept instead) when it has another shape
    or is still held: one per thread, so that epochs of many shapes keep no more memory."""
    key = (v, n, liquid, build)
    space: _SingleEpoch | None = getattr(_scratch, "single", None)
    if space is None or space.key != key or not space.unreferenced():
        space = _scratch.single = _SingleEpoch(v, n, liquid, build)
    return space


def run_epoch(inputs: Any, fparams: np.ndarray, iparams: np.ndarray, build: Any,
              threads: int | None = None) -> Any:
    """One epoch (the chain's path) of ``yuma.EpochInputs`` and packed params of batch size
    1: ``run_epochs`` without the batch bookkeeping or axis, the inputs' arrays passed to
    ``_epoch_single`` as they are. From PARALLEL_EPOCH weights on, its rows and columns are
    split between ``threads`` threads (default: ``numba.get_num_threads()`` or 1, whichever
    was faster lately: SPLIT_PROBE); the same bytes either way.
    Returns ``build(**outputs by EpochOutputs field name)`` (``_SingleEpoch``: the same
    object again once the caller has dropped it)."""
    n = inputs.stake.shape[0]
    rows = inputs.validator_uids
    v = rows.shape[0]
    liquid = bool(iparams[0, _YUMA3] and iparams[0, _LIQUID])
    space = _single_epoch(v, n, liquid, build)
    outputs = (rows, fparams, iparams, *space.tail)
    split = 1
    large = v * n >= PARALLEL_EPOCH
    if large:
        key = (v, n, liquid)
        split = (threads if threads is not None
                 else numba.get_num_threads() if _auto_split(key) else 1)
        start = _clock()
    if split > 1:
        _run_split(split, bool(iparams[0, _YUMA3]), _input_arguments([inputs]) + outputs)
    else:
        reset = (np.array(inputs.reset_bond_uids, dtype=np.int64) if inputs.reset_bond_uids
                 else _NO_RESET)
        owner = -1 if inputs.owner_uid is None else inputs.owner_uid
        arguments = (
            inputs.stake, inputs.weights, inputs.bonds, inputs.weight_set, inputs.last_update,
            inputs.block_at_registration, inputs.validator_permit, reset, inputs.commit_block,
            inputs.current_block, inputs.recent_registration_block, owner, *outputs,
        )
        _epoch_single(*arguments)
    if large:
        _timed_split(key, split > 1, _clock() - start)
    return space.result


def _named_outputs(vectors: np.ndarray, flags: np.ndarray,
                   bonds: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "incentive": vectors[F_I], "dividends": vectors[F_D], "consensus": vectors[F_C],
        "validator_trust": vectors[F_TRUST], "bonds": bonds,
        "emission": vectors[F_EMISSION], "server_emission": vectors[F_SERVER],
        "validator_emission": vectors[F_VALIDATOR],
        "validator_permit": flags[B_PERMIT], "active": flags[B_ACTIVE],
        "active_stake": vectors[F_A],
    }


def run_epochs(inputs_list: Sequence[Any], fparams: np.ndarray,
               iparams: np.ndarray) -> dict[str, np.ndarray]:
    """K epochs of ``yuma.EpochInputs`` (1 or K, sharing ``validator_uids``) and packed params
    ``fparams``/``iparams`` ((1 or K, len(FLOAT_PARAMS)/len(INT_PARAMS)), read-only).
    Returns the outputs by ``EpochOutputs`` field name, each with a batch axis K (views of
    three packed arrays)."""
    first = inputs_list[0]
    batch = max(len(inputs_list), fparams.shape[0])
    n = first.stake.shape[0]
    rows = first.validator_uids
    v = rows.shape[0]
    mode = MODE_EACH
    if batch > 1 and len(inputs_list) == 1:
        front_f = fparams[:, [_THRESHOLD]]
        front_i = iparams[:, [_MAX_VALIDATORS, _ACTIVITY_CUTOFF, _COMMIT_REVEAL]]
        if (front_f == front_f[0]).all() and (front_i == front_i[0]).all():
            mode = MODE_SHARED_SORTED if batch >= SORTED_MEDIAN_BATCH else MODE_SHARED
    if batch == 1:
        liquid = bool(iparams[0, _YUMA3] and iparams[0, _LIQUID])
    else:
        liquid = bool((iparams[:, _YUMA3] & iparams[:, _LIQUID]).any())
    out_f = _output_array("vectors", (batch, F_ROWS, n), np.float64)
    out_b = _output_array("flags", (batch, B_ROWS, n), np.bool_)
    out_bonds = _output_array("bonds", (batch, v, n), np.float64)
    # One W per epoch, or one for all; a batch of classic epochs over one input also keeps
    # the normalised old bonds in a second slot (_shared_front).
    classic = not iparams[:, _YUMA3].any()
    scratch_count = batch if mode == MODE_EACH else 2 if classic else 1
    W_scratch = _scratch_array("W", (scratch_count, v, _padded_row(n)), np.float64)
    if liquid:
        present = _scratch_array("present", (scratch_count, v, n), np.bool_)
    else:
        present = _scratch_array("present-unused", (1, 1, 1), np.bool_)
    arguments = _input_arguments(inputs_list) + (
        rows, fparams, iparams, out_f, out_b, out_bonds, W_scratch, present, EXP_LOOP, liquid,
    )
    _run_batch(mode, batch, arguments)
    return _named_outputs(out_f.swapaxes(0, 1), out_b.swapaxes(0, 1), out_bonds)


def weighted_median_columns(weights: np.ndarray, stake: np.ndarray, kappa: float) -> np.ndarray:
    """The consensus of every column of ``(v, n)`` weights by selection: the compiled twin of
    ``consensus.weighted_median_columns`` for one epoch (for tests and measurements)."""
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    stake = np.ascontiguousarray(stake, dtype=np.float64)
    out = np.zeros(weights.shape[1])
    total = _pairwise_sum(stake) if len(stake) else 0.0
    if len(stake) and total > 0:
        threshold = (kappa * total) * KAPPA_MARGIN
        _consensus_columns(weights, stake, threshold, 0, weights.shape[1], out)
    return out


def weighted_median_columns_sorted(weights: np.ndarray, stake: np.ndarray,
                                   kappas: Sequence[float]) -> np.ndarray:
    """(K, n) consensus for K kappas from one sort per column (the batch path), for tests."""
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    stake = np.ascontiguousarray(stake, dtype=np.float64)
    out = np.zeros((len(kappas), F_ROWS, weights.shape[1]))
    total = _pairwise_sum(stake) if len(stake) else 0.0
    if len(stake) and total > 0:
        thresholds = np.array([(kappa * total) * KAPPA_MARGIN for kappa in kappas])
        _consensus_sorted(weights, stake, thresholds, out, 0, weights.shape[1])
    return out[:, F_C].copy()
