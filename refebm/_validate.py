"""Every argument check of refebm, in one place.

Each check names the argument, the rule and the value it received, and raises ``ValueError``
(a value out of range, a wrong shape, NaN) or ``TypeError`` (a wrong kind of object). Checks
look through autograd boxes with ``getval`` and return the argument itself (converted to an
array where asked), so validating a parameter never breaks differentiation through it.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np
from autograd.tracer import getval

from ._backend import (array_namespace, foreign_array_message, foreign_library,
                       is_numpy_namespace, to_numpy)

__all__ = [
    "show",
    "real_array",
    "scalar",
    "positive",
    "integer",
    "points",
    "square_matrix",
    "positive_definite",
    "probability_vector",
    "rng",
    "function",
    "energy_values",
    "returned_values",
    "bounds",
    "tolerance",
    "same_shape",
    "one_of",
    "not_foreign",
    "uniforms",
    "returned_array",
    "state_fields",
    "decreasing_positive",
    "axis",
]


def show(value) -> str:
    """A short text of ``value`` for an error message."""
    raw = getval(value)
    if isinstance(raw, (numbers.Number, str, type(None), bool)):
        return repr(raw)
    shape = getattr(raw, "shape", None)
    if shape is not None:
        size = int(np.prod(shape)) if len(shape) else 1
        if size <= 6:
            try:
                return f"{np.array2string(to_numpy(raw), precision=6, separator=', ')} (shape {tuple(shape)})"
            except Exception:  # pragma: no cover - exotic arrays
                pass
        return f"an array of shape {tuple(shape)}"
    text = repr(raw)
    return text if len(text) <= 80 else text[:77] + "..."


def not_foreign(name, value):
    """``value`` unless it is a torch tensor or a JAX array (then ``TypeError`` naming ``name``
    and saying how to convert it: refebm computes on NumPy float64 arrays)."""
    if foreign_library(value) is not None:
        raise TypeError(foreign_array_message(name, value))
    return value


def _host(value):
    """A NumPy view of ``value`` for checking (autograd boxes unwrapped, CuPy copied)."""
    raw = getval(value)
    if isinstance(raw, np.ndarray):
        return raw
    if isinstance(raw, (numbers.Number, list, tuple)):
        return np.asarray(raw)
    return to_numpy(raw)


def real_array(name, value, *, xp=None, ndim=None, min_ndim=None, shape=None, finite=True,
               allow_empty=False, dtype=None):
    """``value`` as a real floating array of namespace ``xp``.

    ``ndim`` (an int or a tuple of allowed ints), ``min_ndim`` and ``shape`` (``None`` entries
    match any length) restrict the shape; ``finite`` forbids NaN and inf; ``allow_empty``
    permits zero elements. Integers are promoted to float64; a float32 input stays float32
    unless ``dtype`` says otherwise.
    """
    raw = getval(value)
    not_foreign(name, raw)
    if isinstance(raw, (str, bytes)) or raw is None or isinstance(raw, dict):
        raise TypeError(f"`{name}` must be a real array, got {show(value)}")
    xp = array_namespace(value, xp=xp)
    host = _host(value)
    if host.dtype == object or np.iscomplexobj(host) or host.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be a real array, got {show(value)} (dtype {host.dtype})")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if host.ndim not in allowed:
            rule = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"`{name}` must have {rule} dimension(s), got shape {host.shape}")
    if min_ndim is not None and host.ndim < min_ndim:
        raise ValueError(
            f"`{name}` must have at least {min_ndim} dimension(s), got shape {host.shape}")
    if shape is not None:
        ok = len(shape) == host.ndim and all(s is None or s == t for s, t in zip(shape, host.shape))
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"`{name}` must have shape {want}, got shape {host.shape}")
    if not allow_empty and host.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {host.shape}")
    if finite and host.size and not np.all(np.isfinite(host)):
        bad = "NaN" if np.any(np.isnan(host)) else "inf"
        raise ValueError(f"`{name}` must be finite, got {bad} in {show(value)}")
    if dtype is None and host.dtype.kind in "biu":
        dtype = "float64"
    if raw is not value:  # an autograd box: keep it on the tape
        return value
    if isinstance(raw, (np.ndarray, np.generic, numbers.Number, list, tuple)):
        out = np.asarray(raw, dtype=dtype)
        return out if is_numpy_namespace(xp) else xp.asarray(out)
    if dtype is not None:
        return xp.astype(value, getattr(xp, str(dtype)))
    return value


def real_dtype(name, value, xp):
    """``value`` if its dtype is real (bool, integer or floating), else ``TypeError``; no copy and
    no look at the values, so it is cheap enough for an elementwise function in a hot loop."""
    not_foreign(name, value)
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        if isinstance(value, (str, bytes, dict)) or value is None:
            raise TypeError(f"`{name}` must be a real array or number, got {show(value)}")
        dtype = np.asarray(value).dtype
    if isinstance(dtype, np.dtype):
        ok = dtype.kind in "biuf"
    else:
        ok = xp.isdtype(dtype, ("bool", "integral", "real floating"))
    if not ok:
        raise TypeError(f"`{name}` must be a real array or number, got {show(value)} "
                        f"(dtype {dtype})")
    return value


def scalar(name, value, *, low=None, high=None, low_open=False, high_open=False, finite=True):
    """A real scalar in ``[low, high]`` (open ends where asked); returns ``value`` unchanged."""
    raw = getval(value)
    not_foreign(name, raw)
    if isinstance(raw, bool) or not isinstance(raw, (numbers.Real, np.ndarray, np.generic)):
        if not hasattr(raw, "shape"):
            raise TypeError(f"`{name}` must be a real number, got {show(value)}")
    host = _host(value)
    if host.ndim != 0 or host.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be a real number, got {show(value)}")
    v = float(host)
    if np.isnan(v) or (finite and not np.isfinite(v)):
        raise ValueError(f"`{name}` must be finite, got {v!r}")
    if low is not None and (v <= low if low_open else v < low):
        raise ValueError(f"`{name}` must be {'>' if low_open else '>='} {low}, got {v!r}")
    if high is not None and (v >= high if high_open else v > high):
        raise ValueError(f"`{name}` must be {'<' if high_open else '<='} {high}, got {v!r}")
    return value


def positive(name, value, *, strict=True):
    """Every entry of ``value`` (scalar or array) is finite and > 0 (>= 0 if not ``strict``)."""
    not_foreign(name, value)
    host = _host(value)
    if host.dtype == object or host.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be real, got {show(value)}")
    if host.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {host.shape}")
    if not np.all(np.isfinite(host)):
        raise ValueError(f"`{name}` must be finite, got {show(value)}")
    bad = host <= 0 if strict else host < 0
    if np.any(bad):
        rule = "> 0" if strict else ">= 0"
        raise ValueError(f"`{name}` must be {rule}, got {show(value)}")
    return value


def integer(name, value, *, minimum=None, maximum=None):
    """A Python or NumPy integer (not bool) in ``[minimum, maximum]``; returned as ``int``."""
    raw = getval(value)
    not_foreign(name, raw)
    if isinstance(raw, bool) or not isinstance(raw, (numbers.Integral, np.integer)):
        raise TypeError(f"`{name}` must be an integer, got {show(value)}")
    v = operator.index(raw)
    if minimum is not None and v < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}, got {v}")
    return v


def points(name, x, *, d=None, xp=None, finite=True):
    """A batch of points of shape ``(n, d)`` with ``n >= 1``; ``d`` checked when given."""
    out = real_array(name, x, xp=xp, ndim=2, finite=finite)
    if d is not None and _host(x).shape[1] != d:
        raise ValueError(
            f"`{name}` must have shape (n, {d}) (event dimension {d}), got shape {_host(x).shape}")
    return out


def square_matrix(name, m, *, size=None, xp=None):
    """A finite square matrix, of side ``size`` when given."""
    out = real_array(name, m, xp=xp, ndim=2)
    shape = _host(m).shape
    if shape[0] != shape[1]:
        raise ValueError(f"`{name}` must be a square matrix, got shape {shape}")
    if size is not None and shape[0] != size:
        raise ValueError(f"`{name}` must have shape ({size}, {size}), got shape {shape}")
    return out


def positive_definite(name, m, *, size=None, xp=None, rtol=1e-12):
    """A symmetric positive-definite matrix (symmetric to ``rtol``, Cholesky succeeds)."""
    out = square_matrix(name, m, size=size, xp=xp)
    host = _host(m).astype(np.float64)
    scale = max(np.max(np.abs(host)), np.finfo(float).tiny)
    if np.max(np.abs(host - host.T)) > rtol * scale:
        raise ValueError(f"`{name}` must be symmetric, got {show(m)}")
    try:
        np.linalg.cholesky(host)
    except np.linalg.LinAlgError:
        eig = np.linalg.eigvalsh(host).min()
        raise ValueError(
            f"`{name}` must be positive definite, got smallest eigenvalue {eig:.3g}") from None
    return out


def probability_vector(name, p, *, xp=None, atol=1e-12, allow_zero=True):
    """A 1-D vector of non-negative entries that sum to one (within ``atol``)."""
    out = real_array(name, p, xp=xp, ndim=1)
    host = _host(p)
    if np.any(host < 0) or (not allow_zero and np.any(host == 0)):
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must have entries {rule}, got {show(p)}")
    if abs(host.sum() - 1.0) > atol:
        raise ValueError(f"`{name}` must sum to 1, got sum {host.sum()!r}")
    return out


def rng(value, name="rng"):
    """A `numpy.random.Generator` from a Generator, an int seed, or ``None`` (fresh)."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None:
        return np.random.default_rng()
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a numpy.random.Generator or an int seed, got {value!r}")
    if isinstance(value, (numbers.Integral, np.integer)):
        if value < 0:
            raise ValueError(f"`{name}` must be a non-negative int seed, got {value}")
        return np.random.default_rng(int(value))
    raise TypeError(
        f"`{name}` must be a numpy.random.Generator or an int seed, got {show(value)}")


def function(name, f):
    """``f`` is callable."""
    if not callable(f):
        raise TypeError(f"`{name}` must be callable, got {show(f)}")
    return f


def energy_values(name, values, n, *, allow_inf=True):
    """What an energy returned for ``n`` points: shape ``(n,)``, no NaN, no ``-inf``.

    ``+inf`` (outside the support) is allowed unless ``allow_inf`` is false.
    """
    host = _returned_host(name, values, n)
    if np.any(host == -np.inf):
        raise ValueError(
            f"`{name}` returned -inf (an infinite density) at {int((host == -np.inf).sum())} "
            f"of {n} points")
    if not allow_inf and np.any(np.isinf(host)):
        raise ValueError(f"`{name}` returned inf at {int(np.isinf(host).sum())} of {n} points")
    return values


def bounds(name, value, *, max_dim=None):
    """A list of ``(lo, hi)`` pairs with ``lo < hi``; infinite ends allowed, NaN not."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"`{name}` must be a sequence of (lo, hi) pairs, got {show(value)}")
    out = []
    for i, pair in enumerate(value):
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise TypeError(
                f"`{name}[{i}]` must be a (lo, hi) pair of numbers, got {show(pair)}") from None
        if np.isnan(lo) or np.isnan(hi):
            raise ValueError(f"`{name}[{i}]` must not contain NaN, got ({lo}, {hi})")
        if not lo < hi:
            raise ValueError(f"`{name}[{i}]` must have lo < hi, got ({lo}, {hi})")
        out.append((lo, hi))
    if not out:
        raise ValueError(f"`{name}` must not be empty, got {show(value)}")
    if max_dim is not None and len(out) > max_dim:
        raise ValueError(f"`{name}` must have at most {max_dim} pairs (dimensions), got {len(out)}")
    return out


def split_points(name, value, bounds):
    """Cut locations per axis for a box: ``None``, one sequence per dimension, or a flat
    sequence of numbers when the box has one dimension. Each location is finite and inside
    its axis's open interval. Returns one tuple per axis, sorted, duplicates removed."""
    d = len(bounds)
    if value is None:
        return [()] * d
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"`{name}` must be a sequence with one sequence of locations per "
                        f"dimension, got {show(value)}")
    items = list(value)
    if d == 1 and all(np.ndim(v) == 0 for v in items):
        items = [items]
    if len(items) != d:
        raise ValueError(f"`{name}` must have one sequence of locations per dimension ({d}), "
                         f"got {len(items)}")
    out = []
    for i, (axis, (lo, hi)) in enumerate(zip(items, bounds)):
        if axis is None:
            out.append(())
            continue
        try:
            locs = np.asarray(axis, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(f"`{name}[{i}]` must be a sequence of numbers, got "
                            f"{show(axis)}") from None
        if not np.all(np.isfinite(locs)):
            raise ValueError(f"`{name}[{i}]` must be finite, got {show(axis)}")
        outside = locs[(locs <= lo) | (locs >= hi)]
        if outside.size:
            raise ValueError(f"`{name}[{i}]` must lie inside the open interval ({lo}, {hi}) of "
                             f"`bounds[{i}]`, got {float(outside[0])!r}")
        out.append(tuple(sorted(set(float(v) for v in locs))))
    return out


def labels(name, value, n, n_levels=None, *, what="one per point"):
    """Integer labels of shape ``(n,)``, each in ``0..n_levels - 1`` (or ``>= 0`` when
    ``n_levels`` is None); returned as a host NumPy array."""
    raw = getval(value)
    host = to_numpy(raw) if hasattr(raw, "shape") else np.asarray(raw)
    if host.dtype.kind not in "iu":
        raise TypeError(f"`{name}` must be an integer array, got {show(value)} "
                        f"(dtype {host.dtype})")
    if host.shape != (n,):
        raise ValueError(f"`{name}` must have shape ({n},) ({what}), got shape {host.shape}")
    if n_levels is None and np.any(host < 0):
        raise ValueError(f"`{name}` must be >= 0, got {show(value)}")
    if n_levels is not None and (np.any(host < 0) or np.any(host >= n_levels)):
        raise ValueError(f"`{name}` must lie in 0..{n_levels - 1}, got {show(value)}")
    return host


def tolerance(name, value):
    """A finite tolerance > 0."""
    return scalar(name, value, low=0.0, low_open=True)


def same_shape(name_a, a, name_b, b):
    """``a`` and ``b`` have the same shape."""
    not_foreign(name_a, a)
    not_foreign(name_b, b)
    sa, sb = _host(a).shape, _host(b).shape
    if sa != sb:
        raise ValueError(f"`{name_b}` must have the shape of `{name_a}` {sa}, got shape {sb}")
    return b


def one_of(name, value, choices):
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, got {show(value)}")
    return value


def _returned_host(name, values, n):
    """A NumPy view of what callable ``name`` returned for ``n`` points, checked to have shape
    ``(n,)``, real dtype and no NaN."""
    if foreign_library(values) is not None:
        raise TypeError(foreign_array_message(None, values).replace(
            "an argument is", f"`{name}` returned"))
    host = _host(values)
    if host.shape != (n,):
        raise ValueError(
            f"`{name}` must return shape ({n},) for {n} points, got shape {host.shape}")
    if host.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must return real values, got dtype {host.dtype}")
    if np.any(np.isnan(host)):
        raise ValueError(f"`{name}` returned NaN at {int(np.isnan(host).sum())} of {n} points")
    return host


def returned_values(name, values, n, *, allow_neg_inf=False, allow_pos_inf=False):
    """What callable ``name`` returned for ``n`` points (a log density, a real function):
    shape ``(n,)``, real, no NaN; ``-inf`` and ``+inf`` only where allowed."""
    host = _returned_host(name, values, n)
    if not allow_neg_inf and np.any(host == -np.inf):
        raise ValueError(f"`{name}` returned -inf at {int((host == -np.inf).sum())} of {n} points")
    if not allow_pos_inf and np.any(host == np.inf):
        raise ValueError(f"`{name}` returned inf at {int((host == np.inf).sum())} of {n} points")
    return values


# -- samplers and diagnostics ------------------------------------------------------------------

def uniforms(name, u, shape):
    """An array of shape ``shape`` with every entry in ``[0, 1)`` (an accept test's draws)."""
    out = real_array(name, u, shape=shape)
    host = _host(u)
    if np.any(host < 0) or np.any(host >= 1):
        raise ValueError(f"`{name}` must lie in [0, 1), got {show(u)}")
    return out


def returned_array(name, values, shape, *, what="x"):
    """What callable ``name`` returned has shape ``shape`` (the shape of ``what``) and a real
    dtype; NaN is not looked at (the caller decides what NaN means)."""
    got = tuple(getattr(getval(values), "shape", ())) if hasattr(getval(values), "shape") else None
    if got != tuple(shape):
        raise ValueError(f"`{name}` must return shape {tuple(shape)} (the shape of {what}), "
                         f"got {'shape ' + str(got) if got is not None else show(values)}")
    dt = getattr(getval(values), "dtype", None)
    if isinstance(dt, np.dtype) and dt.kind not in "biuf":
        raise TypeError(f"`{name}` must return real values, got dtype {dt}")
    return values


def state_fields(name, state, fields, made_by):
    """``state`` has every attribute in ``fields`` (a sampler state from ``made_by``)."""
    if isinstance(state, np.ndarray) or not all(hasattr(state, f) for f in fields):
        raise TypeError(f"`{name}` must be a state with fields {tuple(fields)} (from "
                        f"{made_by}), got {show(state)}")
    return state


def decreasing_positive(name, value):
    """A non-empty, finite 1-D array of entries > 0 in strictly decreasing order; returned as a
    list of Python floats."""
    real_array(name, value, ndim=1)
    host = _host(value).astype(np.float64)
    if np.any(host <= 0):
        raise ValueError(f"`{name}` must be > 0, got {show(value)}")
    if host.size > 1 and np.any(np.diff(host) >= 0):
        raise ValueError(f"`{name}` must be strictly decreasing, got {show(value)}")
    return [float(s) for s in host]


def axis(name, value, ndim, array_name=None):
    """An integer axis (not bool) of an array with ``ndim`` dimensions (the argument
    ``array_name``, named in the message when given), in ``[-ndim, ndim)``; returned as a
    non-negative ``int``."""
    raw = getval(value)
    if isinstance(raw, (bool, np.bool_)) or not isinstance(raw, (numbers.Integral, np.integer)):
        raise TypeError(f"`{name}` must be an integer axis or None, got {show(value)}")
    v = operator.index(raw)
    if not -ndim <= v < ndim:
        of = f"`{array_name}`" if array_name else "an array"
        raise ValueError(f"`{name}` must be in [-{ndim}, {ndim}) for {of} of {ndim} "
                         f"dimension(s), got {v}")
    return v % ndim


def boolean(name, value):
    """``value`` is a Python or NumPy bool; returned as ``bool``."""
    if not isinstance(getval(value), (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {show(value)}")
    return bool(value)


def result_dtype(*arrays):
    """The dtype rule: ``"float32"`` when every floating array among ``arrays`` (``None`` and
    non-arrays skipped) is float32, as a caller who passes float32 on purpose does, else
    ``"float64"``."""
    names = [str(getattr(getval(a), "dtype", "")) for a in arrays if a is not None]
    floats = [n for n in names if n.startswith("float")]
    return "float32" if floats and all(n == "float32" for n in floats) else "float64"


def as_dtype(value, dtype):
    """``value`` (an array, an autograd box or a number) in floating dtype ``dtype`` (a name);
    an autograd box stays on the tape, a float64 Python number is returned as it is."""
    raw = getval(value)
    have = str(getattr(raw, "dtype", "float64"))   # a Python float is float64
    if have == dtype:
        return value
    if raw is not value:   # an autograd box
        return value.astype(np.dtype(dtype))
    if isinstance(raw, (np.ndarray, np.generic, numbers.Real)):
        return np.asarray(raw).astype(np.dtype(dtype))[()]
    xp = array_namespace(raw)
    return xp.astype(value, getattr(xp, dtype))


def parameters(name, theta):
    """``theta``, an autograd container (array, number, list, tuple, dict, nested) of real,
    finite, non-empty values; autograd boxes pass unchecked (they are being differentiated)."""
    raw = getval(theta)
    if raw is not theta:
        return theta
    if isinstance(raw, dict):
        if not raw:
            raise ValueError(f"`{name}` must not be empty, got {{}}")
        for key, value in raw.items():
            parameters(f"{name}[{key!r}]", value)
        return theta
    if isinstance(raw, (list, tuple)):
        if not raw:
            raise ValueError(f"`{name}` must not be empty, got {show(raw)}")
        for i, value in enumerate(raw):
            parameters(f"{name}[{i}]", value)
        return theta
    not_foreign(name, raw)
    if isinstance(raw, (bool, np.bool_, str, bytes)) or raw is None:
        raise TypeError(f"`{name}` must hold real numbers (an array, a number, or a list, "
                        f"tuple or dict of them), got {show(raw)}")
    real_array(name, raw)
    return theta
