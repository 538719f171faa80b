"""The address of a numpy ufunc's inner loop, for compiled code that must compute what numpy does.

The compiled Yuma kernel must produce numpy's bytes (run digests hash its floats), and numpy's
float64 ``exp`` is its own SIMD code, not libm's (they differ in the last bit for ~5% of
arguments). So the kernel calls the very loop ``np.exp`` runs. A ufunc keeps its loops in the
public head of its C object, ``PyUFuncObject`` (numpy's ``ufuncobject.h``: ``functions``,
``data``, ``ntypes``, ``types``, part of numpy's C API since 1.0, the same in numpy 1.x and 2.x);
the first loop whose types match is the one numpy's type resolution picks. The head is read with
ctypes and checked against what Python sees of the ufunc (name, counts, type table), and the
loop is called once on sample arguments and compared with the ufunc itself, bit for bit: a
numpy whose layout or loop choice differed fails here, at import, with a clear message, instead
of computing different numbers.
"""

from __future__ import annotations

import ctypes

import numpy as np

__all__ = ["float64_loop"]


class _UFuncHead(ctypes.Structure):
    """The leading fields of ``PyUFuncObject`` (after ``PyObject_HEAD``), in numpy's order."""

    _fields_ = [
        ("ob_refcnt", ctypes.c_ssize_t), ("ob_type", ctypes.c_void_p),
        ("nin", ctypes.c_int), ("nout", ctypes.c_int), ("nargs", ctypes.c_int),
        ("identity", ctypes.c_int),
        ("functions", ctypes.POINTER(ctypes.c_void_p)), ("data", ctypes.POINTER(ctypes.c_void_p)),
        ("ntypes", ctypes.c_int), ("reserved1", ctypes.c_int),
        ("name", ctypes.c_char_p), ("types", ctypes.POINTER(ctypes.c_char)),
    ]


# numpy's inner loop: void loop(char **args, npy_intp const *dimensions, npy_intp const *steps,
# void *data).
_LOOP = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_ssize_t),
                         ctypes.POINTER(ctypes.c_ssize_t), ctypes.c_void_p)


def _sample() -> np.ndarray:
    """Arguments that reach every branch of a SIMD exp: a ramp over its range, zeros, huge and
    tiny values, a length that leaves a partial vector at the end."""
    ramp = np.linspace(-745.0, 709.0, 4093)
    return np.concatenate([ramp, [0.0, -0.0, 1e-300, 5e-324, -1e-300, 0.5, -0.5, 20.0, -20.0]])


def float64_loop(ufunc: np.ufunc) -> np.ndarray:
    """``[address, data]`` (int64, read-only) of ``ufunc``'s float64 -> float64 loop, the one
    numpy runs for a float64 array; raises ``RuntimeError`` if this numpy's ufunc object does not
    read as expected or the loop does not give the ufunc's own results."""
    head = _UFuncHead.from_address(id(ufunc))
    name = ufunc.__name__
    if (head.nin, head.nout, head.ntypes, head.name) != (1, 1, ufunc.ntypes, name.encode()):
        raise RuntimeError(f"numpy {np.__version__}: np.{name}'s C object is not laid out as "
                           "numpy's ufuncobject.h says; the compiled Yuma kernel cannot call it")
    codes = [np.dtype(code).num for signature in ufunc.types for code in signature
             if code not in "->"]
    if [ord(head.types[i]) for i in range(2 * head.ntypes)] != codes:
        raise RuntimeError(f"numpy {np.__version__}: np.{name}'s type table does not match its "
                           "types; the compiled Yuma kernel cannot call it")
    if "d->d" not in ufunc.types:
        raise RuntimeError(f"np.{name} has no float64 -> float64 loop")
    index = ufunc.types.index("d->d")
    loop = np.array([head.functions[index] or 0, head.data[index] or 0], dtype=np.int64)
    sample = _sample()
    out = sample.copy()
    pointers = (ctypes.c_void_p * 2)(out.ctypes.data, out.ctypes.data)
    dimensions = (ctypes.c_ssize_t * 1)(len(out))
    steps = (ctypes.c_ssize_t * 2)(8, 8)
    with np.errstate(all="ignore"):
        _LOOP(int(loop[0]))(pointers, dimensions, steps, int(loop[1]) or None)
        expected = ufunc(sample)
    if not np.array_equal(out.view(np.int64), expected.view(np.int64)):
        raise RuntimeError(f"numpy {np.__version__}: np.{name}'s first float64 loop gives other "
                           f"results than np.{name}; the compiled Yuma kernel cannot call it")
    loop.flags.writeable = False
    return loop
