r"""A derivation as a chain of equalities, each line evaluated on a concrete model.

A [`Chain`][refebm.derivations.Chain] is the list of lines of one derivation of the lectures. Each line is a
[`Step`][refebm.derivations.Step]: its LaTeX, and a function that evaluates *that line as written* (by quadrature,
enumeration, autograd or a closed form) to a number or a small array. [`evaluate_chain`][refebm.derivations.evaluate_chain]
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
import re
from typing import Any, Callable, NamedTuple

import numpy as np
from autograd.tracer import getval

from .. import _validate as _v

__all__ = ["Step", "Chain", "ChainResult", "evaluate_chain", "format_chain", "chain_verdict",
           "chain_record", "latex_to_text", "RTOL", "SCALE_FLOOR", "WRONG_FORM_MIN_BREAK"]

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
    and its ``steps`` (a tuple of [`Step`][refebm.derivations.Step], at least two)."""

    id: str
    title: str
    steps: tuple


class ChainResult(NamedTuple):
    """What [`evaluate_chain`][refebm.derivations.evaluate_chain] found.

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
        If ``chain`` is not a [`Chain`][refebm.derivations.Chain] of [`Step`][refebm.derivations.Step] or a line does not evaluate to a
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


# ---------------------------------------------------------------------------------------------
# Plain-text rendering: the lines' LaTeX as readable text, tables that fit a terminal

#: A wrong form "breaks as it must" when its largest discrepancy exceeds this: far above any
#: rounding or quadrature error of a chain that holds (those are below ``RTOL``).
WRONG_FORM_MIN_BREAK = 1e-3

_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "nu": "ν", "pi": "π", "rho": "ρ",
    "sigma": "σ", "tau": "τ", "phi": "φ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Sigma": "Σ",
    "Delta": "Δ", "Theta": "Θ", "Omega": "Ω", "Phi": "Φ",
    "nabla": "∇", "partial": "∂", "int": "∫", "sum": "∑", "prod": "∏", "cdot": "·",
    "times": "×", "sim": "~", "mid": "|", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
    "approx": "≈", "ne": "≠", "neq": "≠", "infty": "∞", "to": "→", "in": "∈", "propto": "∝",
    "exp": "exp", "log": "log", "min": "min", "max": "max", "det": "det", "tr": "tr",
    "|": "‖", "ldots": "...", "dots": "...", "cdots": "...",
}
_SPACES = {",": " ", ";": " ", ":": " ", " ": " ", "!": "", "quad": "  ", "qquad": "  "}
_DROPPED = {"big", "Big", "bigg", "Bigg", "left", "right", "displaystyle", "textstyle"}
_FONTS = {"mathrm", "mathbb", "mathcal", "mathbf", "text", "textrm", "operatorname",
          "boldsymbol", "mathit"}
_SUPERSCRIPTS = dict(zip("0123456789+-()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ⁿ"))
_TO_ASCII = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "eps", "η": "eta",
    "θ": "theta", "λ": "lambda", "μ": "mu", "ν": "nu", "π": "pi", "ρ": "rho", "σ": "sigma",
    "τ": "tau", "φ": "phi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Σ": "Sigma",
    "Δ": "Delta", "Θ": "Theta", "Ω": "Omega", "Φ": "Phi", "∇": "grad", "∂": "d", "∫": "int ",
    "∑": "sum", "∏": "prod ", "·": ".", "×": "x", "≤": "<=", "≥": ">=", "≈": "~=", "≠": "!=",
    "∞": "inf", "→": "->", "∈": "in", "∝": "propto", "‖": "||", "\u0303": "~",
}


def _tokens(latex):
    i, n = 0, len(latex)
    while i < n:
        c = latex[i]
        if c == "\\":
            j = i + 1
            while j < n and latex[j].isalpha():
                j += 1
            if j == i + 1:
                j = min(i + 2, n)  # a one-character command: \, \! \| \{ ...
            yield latex[i:j]
            i = j
        else:
            yield c
            i += 1


class _Reader:
    """Recursive reader of a LaTeX math string into plain text (the commands refebm uses)."""

    def __init__(self, latex):
        self.toks = list(_tokens(latex))
        self.pos = 0

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def group(self):
        """One argument: a ``{...}`` group, a command, or a single character."""
        while self.peek() == " ":
            self.take()
        tok = self.take()
        if tok is None:
            return ""
        if tok == "{":
            return self.until("}")
        return self.command(tok) if tok.startswith("\\") else tok

    def until(self, closing=None):
        out = []
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok == closing:
                self.take()
                break
            out.append(self.item())
        return "".join(out)

    def item(self):
        tok = self.take()
        if tok == "{":
            return self.until("}")
        if tok in ("_", "^"):
            return self.script(tok)
        if tok.startswith("\\"):
            return self.command(tok)
        return tok

    def script(self, kind):
        arg = self.group().strip()
        if kind == "^":
            if arg and all(c in _SUPERSCRIPTS for c in arg):
                return "".join(_SUPERSCRIPTS[c] for c in arg)
            if arg in ("'", "*"):
                return arg
            if len(arg) == 1:
                return "^" + arg
            return f"^({arg})"
        bracketed = arg.startswith("(") and arg.endswith(")") and _one_term(arg)
        return "_" + (arg if _simple(arg) or bracketed else f"({arg})")

    def command(self, tok):
        name = tok[1:]
        if name in _SPACES:
            return _SPACES[name]
        if name in _DROPPED:
            return ""
        if name in _FONTS:
            return self.group()
        if name in ("frac", "tfrac", "dfrac"):
            return _fraction(self.group().strip(), self.group().strip())
        if name == "sqrt":
            arg = self.group().strip()
            return "√" + (arg if _simple(arg) else f"({arg})")
        if name == "tilde":
            return self.group().strip() + "\u0303"
        if name == "hat":
            return self.group().strip() + "\u0302"
        if name == "bar":
            return self.group().strip() + "\u0304"
        if name in ("{", "}"):
            return name
        if name in _SYMBOLS:
            sym = _SYMBOLS[name]
            # an operator name or a big operator is followed by a space, unless a script or
            # its bracketed argument follows
            if (sym.isalpha() and len(sym) > 1) or sym in "∫∑∏":
                return sym if self.peek() in ("_", "^", "(", "[", "{") else sym + " "
            return sym
        return name  # an unknown command: its name, readable enough


def _simple(text):
    """True when ``text`` needs no parentheses as a subscript, numerator or denominator."""
    return all(c.isalnum() or c in "'*\u0303\u0302\u0304" or c in _SUPERSCRIPTS.values()
               for c in text)


def _one_term(text):
    """No space, sign or slash outside parentheses or brackets."""
    depth = 0
    for c in text:
        depth += (c in "([{") - (c in ")]}")
        if depth == 0 and c in " +-/":
            return False
    return True


#: One symbol or one call, like ``Z(θ)`` or ``p_θ(x)``: a denominator that needs no parentheses.
_CALL = re.compile("[^\\W\\d][\\w'\u0303]*(\\(.*\\))?")


def _fraction(num, den):
    """``num/den``, with parentheses where plain text needs them: around a numerator of
    several terms, and around a denominator that is not one symbol or one call like Z(θ)."""
    num_bare = _one_term(num)
    den_bare = _simple(den) and len(den) == 1 or (
        _one_term(den) and re.fullmatch(_CALL, den) is not None)
    num = num if num_bare else f"({num})"
    den = den if den_bare else f"({den})"
    return f"{num}/{den}" if len(num) + len(den) <= 16 else f"{num} / {den}"


def latex_to_text(latex, *, ascii=False):
    r"""A LaTeX math line as readable plain text.

    Greek letters and operators become their Unicode symbols (``ascii=True``: their names),
    ``\frac{a}{b}`` becomes ``a/b`` (parenthesized where needed), fonts, sizes and thin spaces
    are dropped, and simple superscripts become superscript digits.

    Parameters
    ----------
    latex : str
        One line of a derivation, as in [`Step.latex`][refebm.derivations.Step].
    ascii : bool, default False
        Only ASCII characters in the result (for terminals that cannot show Unicode).

    Returns
    -------
    text : str

    Examples
    --------
    >>> latex_to_text(r"\nabla_\theta \log Z(\theta)")
    '∇_θ log Z(θ)'
    >>> latex_to_text(r"\frac{d}{2\sigma^2}", ascii=True)
    'd/(2sigma^2)'
    """
    if not isinstance(latex, str):
        raise TypeError(f"`latex` must be a string, got {_v.show(latex)}")
    text = _Reader(latex).until()
    text = " ".join(text.split()).replace("∫ ∫", "∫∫")
    for opening, closing in ("()", "[]"):
        text = text.replace(opening + " ", opening).replace(" " + closing, closing)
    if ascii:
        ups = {v: k for k, v in _SUPERSCRIPTS.items()}
        text = re.sub(f"[{''.join(ups)}]+", lambda m: "^" + (
            m[0].translate(str.maketrans(ups)) if len(m[0]) == 1
            else f"({m[0].translate(str.maketrans(ups))})"), text)
        text = "".join(_TO_ASCII.get(c, c) for c in text)
        text = " ".join(text.split()).encode("ascii", "replace").decode("ascii")
    return text


def _wrap(text, width, indent=""):
    """``text`` wrapped to ``width`` columns, continuation lines indented by ``indent``."""
    import textwrap

    return textwrap.wrap(text, width=max(width, len(indent) + 20), subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False) or [""]


def _short_value(v, width):
    """A value in at most ``width`` characters: a scalar to 15 digits, an array's leading
    entries to 6 digits and the count of the rest."""
    flat = np.ravel(v)
    if v.ndim == 0:
        return f"{float(v):.15g}"
    for digits in (10, 8, 6):  # as many digits as fit, the same for every entry
        parts = [f"{float(a):.{digits}g}" for a in flat]
        full = f"[{', '.join(parts)}]"
        if len(full) <= width:
            return full
    for k in range(len(parts) - 1, 0, -1):
        text = f"[{', '.join(parts[:k])}, ...] ({flat.size} values)"
        if len(text) <= width:
            return text
    return f"[{parts[0]}, ...] ({flat.size} values)"


def _expect_iv(expect):
    return _v.one_of("expect", expect, ("holds", "breaks"))


def chain_verdict(result, *, expect="holds"):
    """Whether ``result`` is what it should be, and the sentence that says so.

    A derivation (``expect="holds"``) passes when it holds. A deliberately wrong form
    (``expect="breaks"``) passes when it breaks by more than `WRONG_FORM_MIN_BREAK`:
    its sentence is then "breaks by 0.551 at line 3, as it must".

    Returns
    -------
    (ok, sentence) : (bool, str)
    """
    if not isinstance(result, ChainResult):
        raise TypeError(f"`result` must be a ChainResult from evaluate_chain, got "
                        f"{_v.show(result)}")
    expect = _expect_iv(expect)
    worst = result.max_discrepancy
    disc = result.discrepancies
    where = ""
    if disc and not math.isnan(worst):
        line = max(range(1, len(disc)), key=lambda k: (disc[k], -k)) + 1
        where = f" at line {line}"
    if expect == "holds":
        if result.holds:
            return True, f"holds: largest discrepancy {worst:.3g} <= {result.tol:.3g}"
        return False, f"BREAKS{where}: largest discrepancy {worst:.3g} > {result.tol:.3g}"
    if worst > WRONG_FORM_MIN_BREAK:
        return True, f"breaks by {worst:.3g}{where}, as it must (a wrong form)"
    return False, (f"FAILS: this wrong form should break by more than "
                   f"{WRONG_FORM_MIN_BREAK:g}, but its largest discrepancy is {worst:.3g}")


def chain_record(result, *, expect="holds"):
    """A JSON-ready record of an evaluated chain: every line with its LaTeX, plain text,
    value, discrepancy and method, and the verdict of [`chain_verdict`][refebm.derivations.chain_verdict]."""
    ok, sentence = chain_verdict(result, expect=expect)
    n = len(result.values)
    latex = result.latex or ("",) * n
    hows = result.how or ("",) * n
    disc = result.discrepancies or (math.nan,) * n

    def number(x):
        return None if not math.isfinite(x) else float(x)

    lines = [{"line": i + 1, "latex": tex, "text": latex_to_text(tex),
              "value": np.asarray(v, dtype=float).tolist(), "discrepancy": number(d),
              "how": how}
             for i, (v, d, tex, how) in enumerate(zip(result.values, disc, latex, hows))]
    return {"id": result.id, "title": result.title,
            "ids": sorted(set(re.findall(r"D\d+", result.id)), key=lambda s: int(s[1:])),
            "expect": expect, "status": "pass" if ok else "FAIL", "verdict": sentence,
            "holds": bool(result.holds), "max_discrepancy": number(result.max_discrepancy),
            "tol": float(result.tol),
            "min_break": WRONG_FORM_MIN_BREAK if expect == "breaks" else None, "lines": lines}


def format_chain(result, *, width=None, expect="holds", ascii=False):
    r"""A text table of an evaluated chain: every line, its value, its discrepancy to the line
    before it, and how it was computed.

    Parameters
    ----------
    result : ChainResult
        From [`evaluate_chain`][refebm.derivations.evaluate_chain].
    width : int, optional
        Fit the table in this many columns: each line's LaTeX is shown as plain text
        ([`latex_to_text`][refebm.derivations.latex_to_text]), long values are shortened and long text wrapped. ``None``
        (the default) keeps the full text: the raw LaTeX and every value to 12-15 digits.
    expect : {"holds", "breaks"}, default "holds"
        ``"breaks"`` for a deliberately wrong form, whose verdict then reads "breaks by
        0.551 at line 3, as it must" (see [`chain_verdict`][refebm.derivations.chain_verdict]).
    ascii : bool, default False
        With ``width``, write the math with ASCII characters only.

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
    >>> c = Chain("demo", "a half", (Step(r"\tfrac12", lambda: 0.5), Step("1", lambda: 1.0)))
    >>> print(format_chain(evaluate_chain(c), width=60, expect="breaks"))
    demo  a half
      breaks by 0.5 at line 2, as it must (a wrong form)
      #  value  discrepancy  line
      1  0.5    -            1/2
      2  1      0.5          1
    """
    _, sentence = chain_verdict(result, expect=expect)
    sentence = sentence.replace("largest discrepancy", "max discrepancy")
    if width is not None:
        width = _v.integer("width", width, minimum=40)
    n = len(result.values)
    hows = result.how if result.how else ("",) * n
    latex = result.latex if result.latex else ("",) * n
    disc = result.discrepancies if result.discrepancies else (math.nan,) * n
    if width is None:
        head = [f"{result.id}  {result.title}", f"  {sentence}"]
        rows = [("#", "value", "discrepancy", "line")]
        for i, (v, d, tex, how) in enumerate(zip(result.values, disc, latex, hows)):
            d_text = "-" if math.isnan(d) else f"{d:.3g}"
            line = tex if not how else f"{tex}    [{how}]"
            rows.append((str(i + 1), _format_value(np.asarray(v)), d_text, line))
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        w2 = max(len(r[2]) for r in rows)
        body = [f"  {r[0]:>{w0}}  {r[1]:<{w1}}  {r[2]:<{w2}}  {r[3]}".rstrip() for r in rows]
        return "\n".join(head + body)

    head = _wrap(f"{result.id}  {result.title}", width, "    ")
    head += _wrap(f"  {sentence}", width, "    ")
    rows = [("#", "value", "discrepancy")]
    for i, (v, d) in enumerate(zip(result.values, disc)):
        rows.append((str(i + 1), _short_value(np.asarray(v), 34),
                     "-" if math.isnan(d) else f"{d:.3g}"))
    w0, w1, w2 = (max(len(r[k]) for r in rows) for k in range(3))
    start = 2 + w0 + 2 + w1 + 2 + w2 + 2
    if width - start < 30:  # no room beside the numbers: the text goes below them
        start = 4 + w0
    body = []
    for k, (r, tex, how) in enumerate(zip(rows, ("line", *latex), ("", *hows))):
        numbers = f"  {r[0]:>{w0}}  {r[1]:<{w1}}  {r[2]:<{w2}}"
        text = tex if k == 0 else latex_to_text(tex, ascii=ascii)
        pad = " " * start
        wrapped = _wrap(text, width - start, "  ")  # a formula's continuation: indented
        if start > len(numbers):
            body.append(f"{numbers:<{start}}{wrapped[0]}".rstrip())
            body += [pad + w for w in wrapped[1:]]
        else:
            body.append(numbers.rstrip())
            body += [pad + w for w in wrapped]
        if how:
            body += [pad + w for w in _wrap(f"[{how}]", width - start, " ")]
    return "\n".join(head + body)
