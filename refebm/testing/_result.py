r"""The result of one conformance check: status, errors, tolerance and the catalogue matches.

A check compares a foreign value with refebm's value on the same inputs and returns a
[`CheckResult`][refebm.testing.CheckResult]. Its ``status`` is one of

- ``"pass"``: the foreign value equals refebm's within ``tolerance``;
- ``"equivalent_convention"``: it differs, but equals the value of a catalogued *convention*
  (a different scale or parametrization with the same minimizer or the same chain), named in
  ``matches``;
- ``"known_bug"``: it equals the value of a catalogued *bug*, named in ``matches``;
- ``"fail"``: neither.

``result.ok`` is true for the first two; ``result.assert_ok()`` raises ``AssertionError`` with
``str(result)`` otherwise (``allow_conventions=False`` rejects conventions too).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = ["STATUSES", "Tolerance", "Comparison", "CheckResult", "compare"]

STATUSES = ("pass", "equivalent_convention", "known_bug", "fail")


class Tolerance(NamedTuple):
    r"""An elementwise tolerance \(|g - e| \le \text{atol} + \text{rtol}\,|e|\) and why.

    Attributes
    ----------
    atol, rtol : float
    reason : str
        Why it is that size (for example: float64 rounding of the reference's operation count).
    """

    atol: float
    rtol: float
    reason: str

    def bound(self, expected):
        """The elementwise bound ``atol + rtol * |expected|``."""
        return self.atol + self.rtol * np.abs(np.asarray(expected, dtype=np.float64))

    def __str__(self):
        return f"atol {self.atol:.3g}, rtol {self.rtol:.3g} ({self.reason})"


class Comparison(NamedTuple):
    """Elementwise comparison of two arrays of the same shape.

    Attributes
    ----------
    equal : bool
        Every element within tolerance.
    abs_error : float
        The largest \\(|g - e|\\).
    rel_error : float
        The largest \\(|g - e| / |e|\\) (inf where \\(e = 0 \\ne g\\)).
    mismatches : int
        How many elements are out of tolerance.
    worst_index : tuple or None
        The index of the element furthest out of tolerance (``()`` for a scalar).
    """

    equal: bool
    abs_error: float
    rel_error: float
    mismatches: int
    worst_index: Any


def compare(expected, got, tolerance):
    """Compare ``got`` with ``expected`` elementwise under ``tolerance`` (a `Tolerance`).

    Shapes must be equal (a shape difference is never equal: ``mismatches`` is the size of
    ``expected`` and the errors are inf). NaN is never equal to anything.
    """
    e = np.asarray(expected, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    if e.shape != g.shape:
        return Comparison(False, float("inf"), float("inf"), int(e.size), None)
    diff = np.abs(g - e)
    diff = np.where(np.isnan(diff), np.inf, diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0.0, diff / np.abs(e))
    bound = tolerance.bound(e)
    bad = ~(diff <= bound)
    excess = np.where(bad, diff - bound, -np.inf)
    if e.ndim == 0:
        worst = ()
    elif np.any(bad):
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), e.shape))
    else:
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), e.shape)) \
            if e.size else None
    return Comparison(bool(not np.any(bad)), float(np.max(diff)) if diff.size else 0.0,
                      float(np.max(rel)) if rel.size else 0.0, int(np.sum(bad)), worst)


def _show(value, limit=6):
    """A short text form of a value (scalars in full precision, arrays abbreviated)."""
    if value is None:
        return "None"
    arr = np.asarray(value)
    if arr.ndim == 0:
        try:
            return repr(float(arr))
        except (TypeError, ValueError):
            return repr(value)
    flat = arr.ravel()
    body = ", ".join(f"{float(v):.10g}" for v in flat[:limit])
    more = ", ..." if flat.size > limit else ""
    return f"array of shape {arr.shape}: [{body}{more}]"


class CheckResult:
    r"""What a conformance check found.

    Attributes
    ----------
    name : str
        The check (``"score_matching_loss"``, ``"langevin_step"``, ...).
    status : {"pass", "equivalent_convention", "known_bug", "fail"}
    expected : ndarray
        refebm's value on the check's inputs.
    got : ndarray or None
        The foreign value, converted to NumPy (``None`` when it could not be converted).
    abs_error, rel_error : float
        Largest absolute and relative errors of ``got`` against ``expected``.
    mismatches : int
        Number of elements out of tolerance (0 for a pass).
    worst_index : tuple or None
        Index of the element furthest out of tolerance.
    tolerance : Tolerance
        ``atol``, ``rtol`` and ``reason`` (why it is that size).
    matches : tuple of Entry
        The catalogue entries whose value on the same inputs equals ``got`` within tolerance
        (see [`refebm.testing.catalogue`][refebm.testing.catalogue]). A passing result may list
        conventions that compute the same number (an equivalent way of writing the formula).
    coefficients : dict or None
        For affine updates: the recovered ``drift`` \(a\), ``noise_scale`` \(b\) and
        ``temperature`` \(b^2/(2a)\), and what they imply (``stationary_variance``...).
    notes : tuple of str
        Further findings in words (the convention's name, the stationary law, a dtype warning).
    """

    __slots__ = ("name", "status", "expected", "got", "abs_error", "rel_error", "mismatches",
                 "worst_index", "tolerance", "matches", "coefficients", "notes")

    def __init__(self, name, status, expected, got, *, tolerance, abs_error=float("nan"),
                 rel_error=float("nan"), mismatches=0, worst_index=None, matches=(),
                 coefficients=None, notes=()):
        if status not in STATUSES:
            raise ValueError(f"`status` must be one of {STATUSES}, got {status!r}")
        self.name = name
        self.status = status
        self.expected = expected
        self.got = got
        self.abs_error = float(abs_error)
        self.rel_error = float(rel_error)
        self.mismatches = int(mismatches)
        self.worst_index = worst_index
        self.tolerance = tolerance
        self.matches = tuple(matches)
        self.coefficients = coefficients
        self.notes = tuple(notes)

    @property
    def ok(self):
        """True for ``"pass"`` and ``"equivalent_convention"``."""
        return self.status in ("pass", "equivalent_convention")

    @property
    def match_ids(self):
        """The ids of ``matches``, in order."""
        return tuple(m.id for m in self.matches)

    def assert_ok(self, *, allow_conventions=True):
        """Raise ``AssertionError`` with ``str(self)`` unless the check passed.

        An ``"equivalent_convention"`` result passes unless ``allow_conventions=False``.
        Returns the result itself, so ``check_x(...).assert_ok()`` can be chained.
        """
        allowed = ("pass", "equivalent_convention") if allow_conventions else ("pass",)
        if self.status not in allowed:
            raise AssertionError(str(self))
        return self

    def to_dict(self):
        """A JSON-ready dict (arrays as nested lists, entries as their JSON dicts)."""

        def plain(v):
            if v is None:
                return None
            a = np.asarray(v)
            return a.tolist() if a.dtype.kind in "fiub" else repr(v)

        return {
            "name": self.name, "status": self.status, "expected": plain(self.expected),
            "got": plain(self.got), "abs_error": self.abs_error, "rel_error": self.rel_error,
            "mismatches": self.mismatches,
            "worst_index": None if self.worst_index is None else list(self.worst_index),
            "tolerance": {"atol": self.tolerance.atol, "rtol": self.tolerance.rtol,
                          "reason": self.tolerance.reason},
            "matches": [m.to_json() for m in self.matches],
            "coefficients": self.coefficients, "notes": list(self.notes),
        }

    def __repr__(self):
        ids = ", ".join(self.match_ids)
        return (f"CheckResult(name={self.name!r}, status={self.status!r}, "
                f"abs_error={self.abs_error:.3g}, matches=[{ids}])")

    def __str__(self):
        head = {"pass": "PASS", "equivalent_convention": "EQUIVALENT CONVENTION",
                "known_bug": "KNOWN BUG", "fail": "FAIL"}[self.status]
        lines = [f"{self.name}: {head}"]
        lines.append(f"  expected: {_show(self.expected)}")
        lines.append(f"  got:      {_show(self.got)}")
        if self.status != "pass" or self.abs_error > 0:
            err = f"  abs error {self.abs_error:.3g}, rel error {self.rel_error:.3g}"
            exp = np.asarray(self.expected) if self.expected is not None else None
            if exp is not None and exp.ndim > 0:
                err += f", {self.mismatches} of {exp.size} out of tolerance"
                if self.mismatches and self.worst_index is not None:
                    err += f" (worst at index {self.worst_index})"
            lines.append(err)
        lines.append(f"  tolerance: {self.tolerance}")
        if self.coefficients:
            parts = ", ".join(f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v}"
                              for k, v in self.coefficients.items())
            lines.append(f"  coefficients: {parts}")
        for m in self.matches:
            if getattr(m, "equals_reference", False):
                lines.append(f"  same value as the equal form {m.id}: {m.description}")
                lines.append(f"    written:   {m.formula}")
                continue
            label = "convention" if m.kind == "convention" else "bug"
            lines.append(f"  matches {label} {m.id}: {m.description}")
            lines.append(f"    computes:  {m.formula}")
            lines.append(f"    should be: {m.correct_formula}")
            lines.append(f"    source:    {m.source}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)
