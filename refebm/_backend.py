"""The array namespace ``xp`` that refebm's math is written against.

On NumPy, ``xp`` is :mod:`autograd.numpy`, so every NumPy path is differentiable by autograd.
CuPy is used when asked for (``set_backend("cupy")`` or ``xp=cupy`` per call) or when the inputs
already live on the GPU; arrays are never copied between devices silently. Any other namespace
that follows the Python array API standard (``array_api_strict`` in the tests) is taken from the
arrays themselves through ``__array_namespace__``.

The public entry points find ``xp`` once with :func:`array_namespace` and pass it down.
"""

from __future__ import annotations

import math

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


def array_namespace(*arrays, xp=None):
    """Return the namespace for ``arrays``.

    An explicit ``xp`` wins (``numpy`` is mapped to ``autograd.numpy``). Otherwise CuPy arrays
    give CuPy, arrays with ``__array_namespace__`` other than NumPy's give their own namespace,
    and NumPy arrays, autograd boxes, Python scalars and ``None`` give the default backend.
    Mixing two non-default namespaces raises ``TypeError``.
    """
    if xp is not None:
        return anp if xp is np else xp
    found = None
    for a in arrays:
        a = getval(a)
        if a is None or isinstance(a, (np.ndarray, np.generic, int, float, bool, complex)):
            continue
        if isinstance(a, (list, tuple)):
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
    return found if found is not None else _default_namespace()


def logsumexp(a, axis=None, xp=None):
    """``log(sum(exp(a)))`` over ``axis`` without overflow, differentiable on NumPy.

    On NumPy this is :func:`autograd.scipy.special.logsumexp`; elsewhere it is the usual
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
