r"""A derivation as a chain of equalities, each line evaluated on a concrete model.

A :class:`Chain` is the list of lines of one derivation of the lectures. Each line is a
:class:`Step`: its LaTeX, and a function that evaluates *that line as written* (by quadrature,
enumeration, autograd or a closed form) to a number or a small array. :func:`evaluate_chain`
evaluates every line and compares each with the one before it.

Discrepancy between consecutive lines \(v_{k-1}\) and \(v_k\) (arrays of one shape):

\[
    \delta_k = \frac{\max_j |v_{k,j} - v_{k-1,j}|}
    {\max(\max_j |v_{k,j}|,\ \max_j |v_{k-1,j}|,\ s_0)},
    \qquad s_0 = 10^{-3} \ (\texttt{SCALE\_FLOOR}).
\]

It is a relative difference for lines of size at least \(s_0\), and an absolute one,
\(|\Delta| / s_0\), for lines that are (close to) zero, whose relative difference would mean
nothing. The chain holds when every \(\delta_k \le\) ``rtol`` (default \(10^{-9}\)): lines of
size one agree to nine digits, lines equal to zero are below \(10^{-12}\). A line that evaluates
to NaN or infinity gives \(\delta = \infty\): the chain does not hold, and the table shows why.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np
from autograd.tracer import getval

from .. import _validate as _v

__all__ = ["Step", "Chain", "ChainResult", "evaluate_chain", "format_chain", "RTOL",
           "SCALE_FLOOR"]

#: Default largest discrepancy between consecutive lines of a chain that holds.
RTOL = 1e-9
#: Lines smaller than this are compared absolutely: the tolerance there is RTOL * SCALE_FLOOR.
SCALE_FLOOR = 1e-3


class Step(NamedTuple):
    """One line of a derivation.

    Attributes
    ----------
    latex : str
        The line as written in the lectures (LaTeX, without the leading ``=``).
    evaluate : callable
        ``evaluate() -> float or array``: the value of this line on the chain's model.
    how : str
        How ``evaluate`` computes it (the quadrature rule, closed form, ...), for the table.
    """

    latex: str
    evaluate: Callable[[], Any]
    how: str = ""


class Chain(NamedTuple):
    """A derivation: ``id`` (inventory id and model, like ``"D8[gaussian-1d]"``), ``title``
    and its ``steps`` (a tuple of :class:`Step`, at least two)."""

    id: str
    title: str
    steps: tuple


class ChainResult(NamedTuple):
    """What :func:`evaluate_chain` found.

    Attributes
    ----------
    id, title : str
        Those of the chain.
    values : tuple of numpy arrays
        The value of every line (0-d arrays for numbers).
    max_discrepancy : float
        The largest discrepancy between consecutive lines (see the module docstring).
    holds : bool
        ``max_discrepancy <= tol``.
    tol : float
        The tolerance used.
    latex : tuple of str
        The lines.
    discrepancies : tuple of float
        One per line; the first line's is ``nan`` (it has no predecessor).
    how : tuple of str
        How each line was evaluated.
    """

    id: str
    title: str
    values: tuple
    max_discrepancy: float
    holds: bool
    tol: float
    latex: tuple = ()
    discrepancies: tuple = ()
    how: tuple = ()


def _chain_iv(chain):
    if not isinstance(chain, Chain):
        raise TypeError(
            f"`chain` must be a Chain(id, title, steps), got {_v.show(chain)}")
    if not isinstance(chain.id, str) or not isinstance(chain.title, str):
        raise TypeError(
            f"`chain.id` and `chain.title` must be strings, got {_v.show(chain.id)} and "
            f"{_v.show(chain.title)}")
    steps = tuple(chain.steps) if isinstance(chain.steps, (list, tuple)) else None
    if steps is None:
        raise TypeError(f"`chain.steps` must be a tuple of Step, got {_v.show(chain.steps)}")
    if len(steps) < 2:
        raise ValueError(f"`chain.steps` must hold at least 2 lines, got {len(steps)}")
    for i, step in enumerate(steps):
        if not isinstance(step, Step):
            raise TypeError(f"`chain.steps[{i}]` must be a Step(latex, evaluate), got "
                            f"{_v.show(step)}")
        if not isinstance(step.latex, str):
            raise TypeError(f"`chain.steps[{i}].latex` must be a string, got "
                            f"{_v.show(step.latex)}")
        _v.function(f"chain.steps[{i}].evaluate", step.evaluate)
    return steps


def _value(i, step):
    raw = getval(step.evaluate())
    try:
        value = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"line {i + 1} of the chain ({step.latex!r}) must evaluate to a real number or "
            f"array, got {_v.show(raw)}") from None
    return value


def discrepancy(previous, current, *, scale_floor=SCALE_FLOOR):
    """The discrepancy between two line values (see the module docstring); ``inf`` if either is
    not finite."""
    a = np.asarray(previous, dtype=np.float64)
    b = np.asarray(current, dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return math.inf
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), scale_floor)
    return float(np.max(np.abs(b - a))) / scale


def evaluate_chain(chain, *, rtol=RTOL):
    r"""Evaluate every line of ``chain`` and check that consecutive lines agree.

    Parameters
    ----------
    chain : Chain
        The derivation, with at least two lines.
    rtol : float, optional
        Largest discrepancy allowed between consecutive lines (default ``1e-9``).

    Returns
    -------
    result : ChainResult
        The values, the discrepancies, and whether the chain holds.

    Raises
    ------
    TypeError
        If ``chain`` is not a :class:`Chain` of :class:`Step` or a line does not evaluate to a
        real number or array.
    ValueError
        If two lines evaluate to arrays of different shapes (the chain is malformed).

    Math
    ----
    \(\delta_k = \max|v_k - v_{k-1}| / \max(\|v_k\|_\infty, \|v_{k-1}\|_\infty, 10^{-3})\);
    the chain holds iff \(\max_k \delta_k \le\) ``rtol``.

    Examples
    --------
    >>> from refebm.derivations import Chain, Step, evaluate_chain
    >>> c = Chain("demo", "1/2 + 1/2 = 1", (Step("1/2 + 1/2", lambda: 0.5 + 0.5), Step("1", lambda: 1.0)))
    >>> r = evaluate_chain(c)
    >>> r.holds, r.max_discrepancy
    (True, 0.0)
    """
    steps = _chain_iv(chain)
    rtol = _v.tolerance("rtol", rtol)
    values = [_value(i, s) for i, s in enumerate(steps)]
    for i in range(1, len(values)):
        if values[i].shape != values[0].shape:
            raise ValueError(
                f"line {i + 1} of chain {chain.id!r} has shape {values[i].shape} but line 1 has "
                f"shape {values[0].shape}: the lines of a chain must have one shape")
    disc = [math.nan] + [discrepancy(values[i - 1], values[i]) for i in range(1, len(values))]
    worst = max(disc[1:])
    return ChainResult(
        id=chain.id, title=chain.title, values=tuple(values), max_discrepancy=worst,
        holds=bool(worst <= rtol), tol=float(rtol), latex=tuple(s.latex for s in steps),
        discrepancies=tuple(disc), how=tuple(s.how for s in steps))


def _format_value(v, max_entries=6):
    flat = np.ravel(v)
    if v.ndim == 0:
        return f"{float(v):.15g}"
    shown = ", ".join(f"{float(a):.12g}" for a in flat[:max_entries])
    more = f", ... ({flat.size} values)" if flat.size > max_entries else ""
    return f"[{shown}{more}]"


def format_chain(result):
    """A text table of an evaluated chain: every line, its value, its discrepancy to the line
    before it, and how it was computed.

    Parameters
    ----------
    result : ChainResult
        From :func:`evaluate_chain`.

    Returns
    -------
    table : str

    Examples
    --------
    >>> from refebm.derivations import Chain, Step, evaluate_chain, format_chain
    >>> c = Chain("demo", "two halves", (Step("1/2 + 1/2", lambda: 1.0), Step("1", lambda: 1.0)))
    >>> print(format_chain(evaluate_chain(c)))  # doctest: +NORMALIZE_WHITESPACE
    demo  two halves
      holds: max discrepancy 0 <= 1e-09
       #  value  discrepancy  line
       1  1      -            1/2 + 1/2
       2  1      0            1
    """
    if not isinstance(result, ChainResult):
        raise TypeError(f"`result` must be a ChainResult from evaluate_chain, got "
                        f"{_v.show(result)}")
    verdict = "holds" if result.holds else "BREAKS"
    head = [f"{result.id}  {result.title}",
            f"  {verdict}: max discrepancy {result.max_discrepancy:.3g} "
            f"{'<=' if result.holds else '>'} {result.tol:.3g}"]
    rows = [("#", "value", "discrepancy", "line")]
    hows = result.how if result.how else ("",) * len(result.values)
    latex = result.latex if result.latex else ("",) * len(result.values)
    disc = result.discrepancies if result.discrepancies else (math.nan,) * len(result.values)
    for i, (v, d, tex, how) in enumerate(zip(result.values, disc, latex, hows)):
        d_text = "-" if math.isnan(d) else f"{d:.3g}"
        line = tex if not how else f"{tex}    [{how}]"
        rows.append((str(i + 1), _format_value(np.asarray(v)), d_text, line))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    body = [f"  {r[0]:>{w0}}  {r[1]:<{w1}}  {r[2]:<{w2}}  {r[3]}".rstrip() for r in rows]
    return "\n".join(head + body)
