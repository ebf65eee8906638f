"""Foreign values to NumPy, once, at the boundary of a check.

A check calls the user's function on NumPy arrays and hands what it returns to
``to_numpy_value``: NumPy arrays and scalars, Python
numbers, torch tensors (``requires_grad`` ones through ``.detach()``, GPU ones through
``.cpu()``), JAX arrays, anything with ``__dlpack__`` or ``__array__``, and lists or tuples of
those (concatenated when flattened). torch and jax are never imported here: a value is
recognized by its type's module. Anything else (a string, None, a dict) is a
``ForeignValueError`` whose message says what the
foreign function returned and what was expected.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["ForeignValueError", "ForeignCallError", "to_numpy_value", "call_foreign",
           "describe"]


class ForeignValueError(TypeError, ValueError):
    """A foreign function returned something that is not what the check expects: not a real
    number or array (a TypeError), or the wrong shape or a non-finite value (a ValueError)."""


class ForeignCallError(RuntimeError):
    """A foreign function raised; the message names the call and the exception."""


def _module(value):
    return type(value).__module__ or ""


def describe(value, limit=60):
    """A short description of a returned value: its type, dtype and shape, or its text."""
    mod = _module(value)
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        kind = f"{mod.split('.')[0]}.{type(value).__name__}"
        return f"{kind} of dtype {dtype} and shape {tuple(shape)}"
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}"


def _one(value, what, expected):
    mod = _module(value)
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (bool, np.bool_)):
        arr = np.asarray(value)
    elif isinstance(value, (numbers.Real, np.generic)):
        arr = np.asarray(value)
    elif mod.startswith("torch"):
        t = value.detach() if hasattr(value, "detach") else value
        if getattr(t, "is_conj", lambda: False)():  # pragma: no cover - complex tensors
            t = t.resolve_conj()
        arr = t.cpu().numpy() if hasattr(t, "cpu") else np.asarray(t)
    elif mod.startswith(("jax", "jaxlib")):
        arr = np.asarray(value)
    elif isinstance(value, (str, bytes)) or value is None or isinstance(value, dict):
        raise ForeignValueError(
            f"{what} returned {describe(value)}; expected {expected}")
    elif hasattr(value, "__array__"):
        arr = np.asarray(value)
    elif hasattr(value, "__dlpack__"):
        arr = np.from_dlpack(value)
    else:
        raise ForeignValueError(f"{what} returned {describe(value)}; expected {expected}")
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ForeignValueError(
            f"{what} returned {describe(value)} (dtype {arr.dtype}); expected {expected} "
            "as real numbers")
    return arr


def to_numpy_value(value, *, what="the foreign function", expected="a real array"):
    """``value`` as a NumPy array (dtype kept: float32 stays float32 so the check can say so).

    Lists and tuples of arrays (for example a gradient per parameter tensor) are flattened and
    concatenated in order; a list of numbers becomes a 1-D array.
    """
    if isinstance(value, (list, tuple)):
        if not value:
            raise ForeignValueError(f"{what} returned an empty {type(value).__name__}; "
                                    f"expected {expected}")
        parts = [_one(v, what, expected) for v in value]
        if all(p.ndim == 0 for p in parts):
            return np.asarray(parts)
        return np.concatenate([p.ravel() for p in parts])
    return _one(value, what, expected)


def call_foreign(fn, args, *, call_text):
    """``fn(*args)``; an exception becomes ForeignCallError naming ``call_text`` and the error."""
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001 - any error of foreign code is reported
        raise ForeignCallError(
            f"the foreign function raised {type(err).__name__}: {err} (called as {call_text})"
        ) from err
