"""Shared machinery of the deterministic checks: dtype and tolerance rules, calling the foreign
function, comparing and looking up the catalogue (see ``refebm.testing.checks`` for the rules)."""

from __future__ import annotations

import math

import autograd
import numpy as np

from .. import _validate as _v
from .. import diff as _diff
from . import catalogue as _cat
from ._convert import ForeignCallError, ForeignValueError, call_foreign, to_numpy_value
from ._result import CheckResult, Tolerance, compare

_SAFETY = 8
_MODEL_OPS = 64

def _dtype_iv(dtype):
    if dtype in ("float64", np.float64):
        return np.float64
    if dtype in ("float32", np.float32):
        return np.float32
    raise ValueError(f"`dtype` must be 'float64' or 'float32', got {dtype!r}")


def _cast(a, dtype):
    """The array the foreign function receives, and the float64 copy refebm computes on (the
    float32 input rounded first, so both sides see the same numbers)."""
    foreign = np.asarray(a, dtype=dtype)
    return foreign, np.asarray(foreign, dtype=np.float64)


def _tolerance(ops, magnitude, dtype, what):
    eps = float(np.finfo(dtype).eps)
    magnitude = float(magnitude) if np.isfinite(magnitude) and magnitude > 0 else 1.0
    atol = _SAFETY * ops * eps * magnitude
    name = np.dtype(dtype).name
    return Tolerance(atol, 0.0, f"{name} rounding: {_SAFETY} x {ops} operations ({what}) x "
                                f"eps {eps:.3g} x term magnitude {magnitude:.3g}")


def _log2(n):
    return int(math.ceil(math.log2(max(int(n), 2))))


def _failed(name, expected, tolerance, message, got=None):
    return CheckResult(name, "fail", expected, got, tolerance=tolerance,
                       abs_error=float("inf"), rel_error=float("inf"),
                       mismatches=int(np.size(expected)), notes=(message,))


def _call(fn, args, call_text, expected_text, *, first_of_pair=False):
    """Run the foreign function; return (value as NumPy, None) or (None, message).
    ``first_of_pair``: a returned pair ``(value, extra)`` counts as ``value``."""
    if not callable(fn):
        raise TypeError(f"the foreign function must be callable, got {_v.show(fn)}")
    try:
        raw = call_foreign(fn, args, call_text=call_text)
        if first_of_pair and isinstance(raw, tuple) and len(raw) == 2:
            raw = raw[0]
        return to_numpy_value(raw, what=f"the foreign function ({call_text})",
                              expected=expected_text), None
    except (ForeignCallError, ForeignValueError) as err:
        return None, str(err)


def _run(name, fn, args, call_text, expected_text, expected, tolerance, parts, *, dtype,
         **finish):
    """Call the foreign function and grade it: a failed result naming what went wrong, or
    ``_finish`` on its value (``name`` is also the catalogue's quantity)."""
    got, err = _call(fn, args, call_text, expected_text)
    if err:
        return _failed(name, expected, tolerance, err)
    return _finish(name, name, expected, got, tolerance, parts, dtype=dtype,
                   call_text=call_text, **finish)


def _finish(name, quantity, expected, got, tolerance, parts, *, dtype, call_text,
            extra_entries=(), skip=(), notes=(), coefficients=None):
    """Compare, look up the catalogue, and build the result."""
    expected = np.asarray(expected, dtype=np.float64)
    notes = list(notes)
    got_dtype = got.dtype
    got64 = np.asarray(got, dtype=np.float64)
    if got64.shape != expected.shape and got64.size == expected.size and expected.ndim == 0:
        got64 = got64.reshape(())  # a 1-element array for a scalar is fine
    cmp = compare(expected, got64, tolerance)
    if got64.shape != expected.shape:
        notes.append(f"the foreign function ({call_text}) returned shape {got64.shape}; "
                     f"expected shape {expected.shape}")
    elif np.any(np.isnan(got64)):
        idx = tuple(int(i) for i in np.argwhere(np.isnan(got64))[0]) if got64.ndim else ()
        notes.append(f"the foreign function ({call_text}) returned NaN (first at index {idx}); "
                     "expected finite values")
    if cmp.equal:
        status = "pass"
    else:
        status = "fail"
    # catalogue
    entries = [e for e in _cat.entries(quantity) + tuple(extra_entries) if e.id not in skip]
    matches = []
    ref_from_parts = None
    for e in entries:
        value = e.evaluate(parts)
        if e.equals_reference:
            if status == "pass":
                matches.append(e)
            continue
        if value.shape == expected.shape:
            if ref_from_parts is None:
                ref_from_parts = expected
            if compare(expected, value, tolerance).equal:
                continue  # this form equals the reference on these inputs: cannot tell apart
        if status != "pass" and compare(value, got64, tolerance).equal:
            matches.append(e)
    if status != "pass":
        bugs = [m for m in matches if m.kind == "bug"]
        convs = [m for m in matches if m.kind == "convention"]
        matches = bugs + convs
        status = "known_bug" if bugs else ("equivalent_convention" if convs else "fail")
    if status == "fail" and got_dtype == np.float32 and dtype == np.float64 \
            and got64.shape == expected.shape:
        ratio = float(np.finfo(np.float32).eps / np.finfo(np.float64).eps)
        tol32 = Tolerance(tolerance.atol * ratio,
                          0.0, "float32")
        agree = compare(expected, got64, tol32).equal
        notes.append(
            "the foreign function returned float32 where float64 was expected; "
            + ("it agrees at float32 tolerance: compute in float64, or pass dtype='float32' to "
               "compare at float32 tolerance" if agree else
               "it does not agree even at float32 tolerance"))
    return CheckResult(name, status, expected, got64, tolerance=tolerance,
                       abs_error=cmp.abs_error, rel_error=cmp.rel_error,
                       mismatches=cmp.mismatches, worst_index=cmp.worst_index,
                       matches=matches, coefficients=coefficients, notes=notes)


def _points(name, x, d=None):
    return np.asarray(_v.points(name, x, d=d), dtype=np.float64)


def _score_of(energy, score):
    if score is not None:
        _v.function("score", score)
        return score
    if energy is None:
        raise ValueError("give the model: `energy` or `score=` (both are None)")
    _v.function("energy", energy)
    return _diff.score(energy)


def _vjp_rows(score, x, v):
    """v^T nabla_x s(x) v per row, for a score function (autograd)."""
    g = autograd.grad(lambda y: _sum_prod(score(y), v))(x)
    return np.sum(g * v, axis=-1)


def _sum_prod(a, b):
    import autograd.numpy as anp

    return anp.sum(a * b)


