"""The array namespace ``xp`` that refebm's math is written against.

On NumPy, ``xp`` is `autograd.numpy`, so every NumPy path is differentiable by autograd.
CuPy is used when asked for (``set_backend("cupy")`` or ``xp=cupy`` per call) or when the inputs
already live on the GPU; arrays are never copied between devices silently. Any other namespace
that follows the Python array API standard (``array_api_strict`` in the tests) is taken from the
arrays themselves through ``__array_namespace__``.

The public entry points find ``xp`` once with `array_namespace` and pass it down.
"""

from __future__ import annotations

import math
import sys

import autograd.numpy as anp
import numpy as np
from autograd.scipy.special import logsumexp as _ag_logsumexp
from autograd.tracer import getval

__all__ = [
    "array_namespace",
    "get_backend",
    "set_backend",
    "is_numpy_namespace",
    "logsumexp",
    "to_numpy",
    "foreign_library",
    "foreign_array_message",
]

_BACKENDS = ("numpy", "cupy")
_state = {"name": "numpy"}


def _cupy():
    try:
        import cupy
    except ImportError as exc:  # pragma: no cover - exercised only without CuPy
        raise ImportError(
            "the 'cupy' backend needs CuPy: install it with `pip install refebm[gpu]`"
        ) from exc
    return cupy


def set_backend(name: str) -> None:
    """Choose the default array namespace: ``"numpy"`` (autograd.numpy) or ``"cupy"``."""
    if name not in _BACKENDS:
        raise ValueError(f"`name` must be one of {_BACKENDS}, got {name!r}")
    if name == "cupy":
        _cupy()
    _state["name"] = name


def get_backend() -> str:
    """The name of the default array namespace."""
    return _state["name"]


def _default_namespace():
    return _cupy() if _state["name"] == "cupy" else anp


def is_numpy_namespace(xp) -> bool:
    """True when ``xp`` is NumPy or autograd's wrapper of it."""
    return xp is anp or xp is np


#: libraries whose arrays refebm does not compute on, and how to convert one to NumPy
_FOREIGN = {
    "torch": "`t.detach().cpu().numpy()`",
    "jax": "`numpy.asarray(a)`",
    "jaxlib": "`numpy.asarray(a)`",  # jax.Array's concrete class lives in jaxlib
    "tensorflow": "`t.numpy()`",
    "mlx": "`numpy.array(a)`",
}


def foreign_library(value):
    """The name of the library (``"torch"``, ``"jax"``, ...) whose array ``value`` is, or
    ``None`` for NumPy, CuPy, array-API arrays, Python objects and everything else."""
    root = type(getval(value)).__module__.partition(".")[0]
    return root if root in _FOREIGN else None


def foreign_array_message(name, value):
    """The one message for a torch tensor or JAX array passed where refebm wants an array."""
    raw = getval(value)
    lib = foreign_library(raw)
    kind = f"{type(raw).__module__}.{type(raw).__name__}"
    lib = {"jaxlib": "jax"}.get(lib, lib)
    who = f"`{name}`" if name else "an argument"
    return (f"{who} is a {lib} array ({kind}): refebm computes on NumPy float64 arrays; "
            f"convert with {_FOREIGN[lib]}")


def _caller_name(value, depth=2):
    """The name of the argument that holds ``value`` in the outermost refebm function on the
    stack (the public entry point the user called), for an error message; ``None`` if none."""
    try:
        frame = sys._getframe(depth)
    except ValueError:  # pragma: no cover - no such frame
        return None
    found = None
    while frame is not None and frame.f_globals.get("__name__", "").startswith("refebm"):
        code = frame.f_code
        n_args = code.co_argcount + code.co_kwonlyargcount
        for name in code.co_varnames[:n_args]:
            if frame.f_locals.get(name) is value and not name.startswith("_"):
                found = name
                break
        frame = frame.f_back
    return found


def _check_xp(xp):
    """``xp`` is an array namespace (a module or object with ``asarray``), not a name."""
    if isinstance(xp, str) or not hasattr(xp, "asarray"):
        raise TypeError(
            f"`xp` must be an array namespace (a module such as numpy or cupy), got {xp!r}; "
            "use set_backend(name) to choose one by name")
    root = getattr(xp, "__name__", "").partition(".")[0]
    if root in _FOREIGN:
        raise TypeError(
            f"`xp` is {xp.__name__}: refebm computes on NumPy float64 arrays (or CuPy); convert "
            f"the arrays with {_FOREIGN[root]}")
    return xp


def array_namespace(*arrays, xp=None):
    """Return the namespace for ``arrays``.

    An explicit ``xp`` wins (``numpy`` is mapped to ``autograd.numpy``); it must be a namespace,
    not a name. Otherwise CuPy arrays give CuPy, arrays with ``__array_namespace__`` other than
    NumPy's give their own namespace, and NumPy arrays, autograd boxes, Python scalars and
    ``None`` give the default backend. Mixing two non-default namespaces raises ``TypeError``.
    A torch tensor or a JAX array raises ``TypeError`` saying how to convert it (naming the
    caller's argument that holds it).
    """
    found = None
    for arg in arrays:
        a = getval(arg)
        if a is None or isinstance(a, (np.ndarray, np.generic, int, float, bool, complex,
                                       list, tuple)):
            continue
        if foreign_library(a) is not None:
            raise TypeError(foreign_array_message(_caller_name(arg), a))
        if xp is not None:
            continue
        get_ns = getattr(a, "__array_namespace__", None)
        if get_ns is None:
            continue
        ns = get_ns()
        if ns is np:
            continue
        if found is not None and ns is not found:
            raise TypeError(
                f"arrays from two namespaces were mixed: {found.__name__} and {ns.__name__}; "
                "move them to one device explicitly"
            )
        found = ns
    if xp is not None:
        return anp if xp is np else _check_xp(xp)
    return found if found is not None else _default_namespace()


def logsumexp(a, axis=None, xp=None):
    """``log(sum(exp(a)))`` over ``axis`` without overflow, differentiable on NumPy.

    On NumPy this is `autograd.scipy.special.logsumexp`; elsewhere it is the usual
    max-shifted sum. An axis that is all ``-inf`` gives ``-inf``.
    """
    xp = array_namespace(a, xp=xp)
    if is_numpy_namespace(xp):
        return _ag_logsumexp(a, axis=axis)
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    total = xp.sum(xp.exp(a - m), axis=axis, keepdims=True)
    tiny = xp.finfo(total.dtype).smallest_normal
    # An all -inf slice sums to 0: its log is -inf, taken without a divide-by-zero warning.
    out = xp.where(total > 0, xp.log(xp.maximum(total, tiny)), -xp.inf) + m
    if axis is None:
        return xp.reshape(out, ())
    return xp.squeeze(out, axis=axis)


def to_numpy(a):
    """Copy ``a`` to a NumPy array (explicitly: refebm never does this silently)."""
    a = getval(a)
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    if isinstance(a, np.ndarray):
        return a
    try:
        return np.asarray(a)
    except TypeError:
        return np.asarray(list(a))


LOG_2PI = math.log(2.0 * math.pi)


def concat(arrays, axis=0, xp=None):
    """Join arrays along ``axis`` (``concatenate`` on NumPy, ``concat`` in the array API)."""
    xp = array_namespace(*arrays, xp=xp)
    if is_numpy_namespace(xp):
        return anp.concatenate(arrays, axis=axis)
    return xp.concat(list(arrays), axis=axis)


def float_dtype(x, xp=None):
    """The floating dtype of ``x`` (float32 is kept when passed on purpose, else float64)."""
    xp = array_namespace(x, xp=xp)
    dt = getattr(getval(x), "dtype", None)
    return xp.float32 if dt == xp.float32 else xp.float64
