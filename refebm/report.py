"""``refebm report``: every identity refebm relies on, computed two independent ways.

Each row is one identity: a value computed by one route (a closed form, say), the same value by
an independent route (quadrature, enumeration, scipy, autograd), the largest relative (or, for
values near zero, absolute) difference, and the tolerance it must meet. The command exits 1 if
any row fails, so a broken install or a numerical regression is visible at once.
"""

from __future__ import annotations

import math
import re
from typing import Callable, NamedTuple

import autograd
import autograd.numpy as anp
import numpy as np
import scipy.stats as st
from autograd.tracer import getval

__all__ = ["Check", "Compared", "CHECKS", "run_checks", "format_table", "format_report",
           "report_record", "row_verdict"]


def _rel(a, b) -> float:
    """Largest |a - b| / max(1, |b|): relative for large values, absolute near zero."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


class Compared(NamedTuple):
    """What a row computes: its ``value`` by one route, the ``reference`` by another, and the
    ``error`` between them (`_rel` unless the row says otherwise)."""

    error: float
    value: object
    reference: object


def _plain(a):
    """A JSON-ready copy of a number or array: a float or a nested list of floats."""
    arr = np.asarray(getval(a), dtype=float)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def _cmp(a, b) -> Compared:
    """``a`` against ``b``, with their `_rel` difference."""
    return Compared(_rel(a, b), _plain(a), _plain(b))


_ROWS: list[tuple[str, str, float, Callable[[], float]]] = []


def _row(name, ids, tol):
    def register(fn):
        _ROWS.append((name, ids, tol, fn))
        return fn
    return register


_INF2 = [(-np.inf, np.inf)] * 2
_POINTS = np.array([[0.3, -1.2], [2.0, 0.5], [-1.5, 1.1]])


def _gaussian2():
    from . import families
    return families.Gaussian(mean=np.array([0.5, -1.0]), cov=np.array([[2.0, 0.3], [0.3, 1.0]]))


@_row("Gaussian 2-D: log Z closed form = quadrature", "D1", 1e-10)
def _gauss_quad():
    from . import partition
    g = _gaussian2()
    return _cmp(partition.quadrature(g.energy, _INF2, tol=1e-11).log_z, g.log_partition())


@_row("Gaussian 2-D: log Z closed form = scipy cubature", "D1", 1e-9)
def _gauss_cubature():
    from . import partition
    g = _gaussian2()
    return _cmp(partition.adaptive(g.energy, _INF2, tol=1e-11).log_z, g.log_partition())


@_row("Gaussian 2-D: log p = scipy.stats logpdf", "D1", 1e-12)
def _gauss_scipy():
    g = _gaussian2()
    ref = st.multivariate_normal(g.mean, g.cov).logpdf(_POINTS)
    return _cmp(g.log_prob(_POINTS), ref)


def _scalar_cases():
    from . import families
    return [
        ("Exponential(2)", families.Exponential(2.0), (0, np.inf), st.expon(scale=0.5)),
        ("Gamma(0.5, 1)", families.Gamma(0.5, 1.0), (0, np.inf), st.gamma(0.5)),
        ("Gamma(3, 2)", families.Gamma(3.0, 2.0), (0, np.inf), st.gamma(3.0, scale=0.5)),
        ("Beta(0.5, 0.5)", families.Beta(0.5, 0.5), (0, 1), st.beta(0.5, 0.5)),
        ("Beta(2, 3)", families.Beta(2.0, 3.0), (0, 1), st.beta(2.0, 3.0)),
    ]


def _register_scalar_rows():
    for label in ["Exponential(2)", "Gamma(0.5, 1)", "Gamma(3, 2)", "Beta(0.5, 0.5)", "Beta(2, 3)"]:
        def quad(label=label):
            from . import partition
            _, fam, box, _ = next(c for c in _scalar_cases() if c[0] == label)
            return _cmp(partition.quadrature(fam.energy, [box], tol=1e-11).log_z,
                        fam.log_partition())

        def scipy_pdf(label=label):
            _, fam, _, ref = next(c for c in _scalar_cases() if c[0] == label)
            x = np.array([0.05, 0.3, 0.7, 0.95])
            return _cmp(fam.log_prob(x[:, None]), ref.logpdf(x))

        _row(f"{label}: log Z closed form = quadrature", "D1", 1e-10)(quad)
        _row(f"{label}: log p = scipy.stats logpdf", "D1", 1e-12)(scipy_pdf)


_register_scalar_rows()


@_row("Poisson(3.5): log Z = truncated sum (tail < 1e-300)", "D1", 1e-12)
def _poisson():
    from . import families
    from ._backend import logsumexp
    fam = families.Poisson(3.5)
    k = np.arange(0.0, 400.0)[:, None]
    # Terms past k = 400 are below 3.5^k / k! < 1e-300 of the total (ratio 3.5/k < 0.01).
    return _cmp(logsumexp(-fam.energy(k)), fam.log_partition())


@_row("Bernoulli(0.3): log Z = enumeration of {0, 1}", "D1", 1e-12)
def _bernoulli():
    from . import families, partition
    fam = families.Bernoulli(0.3)
    return _cmp(partition.enumerate_states(fam.energy, np.array([[0.0], [1.0]])),
                fam.log_partition())


@_row("GaussianMixture: integrates to one (quadrature)", "D4", 1e-10)
def _mixture():
    from . import families, partition
    mix = families.GaussianMixture(np.array([0.2, 0.8]), np.array([[-2.0, 0.0], [2.0, 1.0]]),
                                   np.array([np.eye(2), [[1.0, 0.4], [0.4, 0.5]]]))
    return _cmp(partition.quadrature(mix.energy, _INF2, tol=1e-11).log_z, 0.0)


@_row("Product p(x) p(y|x): integrates to one (quadrature)", "D3", 1e-10)
def _product():
    from . import compose, partition

    def log_px(x):
        return -0.5 * x[:, 0] ** 2 - 0.5 * np.log(2 * np.pi)

    def log_py_given_x(y, x):
        return -0.5 * (y[:, 0] - np.sin(x[:, 0])) ** 2 / 0.25 - 0.5 * np.log(2 * np.pi * 0.25)

    energy = compose.product(log_px, log_py_given_x, 1)
    return _cmp(partition.quadrature(energy, _INF2, tol=1e-11).log_z, 0.0)


@_row("Shift: log Z(E + 1e4) = log Z(E) - 1e4", "D1", 1e-12)
def _shift():
    from . import partition
    g = _gaussian2()
    base = partition.quadrature(g.energy, _INF2, tol=1e-11).log_z
    # log Z is about -1e4 here, so an absolute tolerance of 1e-8 is a relative one of 1e-12.
    shifted = partition.quadrature(lambda x: g.energy(x) + 1e4, _INF2, tol=1e-8).log_z
    return _cmp(shifted, base - 1e4)


@_row("RBM 8x4: log Z summing hidden = summing visible", "D5", 1e-12)
def _rbm_two_ways():
    from . import discrete
    rng = np.random.default_rng(0)
    rbm = discrete.RBM(rng.normal(size=(8, 4)), rng.normal(size=8), rng.normal(size=4))
    return _cmp(rbm.log_partition(method="visible"), rbm.log_partition(method="hidden"))


@_row("RBM 8x4: log Z joint enumeration = summing hidden", "D5", 1e-12)
def _rbm_joint():
    from . import discrete
    rng = np.random.default_rng(0)
    rbm = discrete.RBM(rng.normal(size=(8, 4)), rng.normal(size=8), rng.normal(size=4))
    return _cmp(rbm.log_partition(method="joint"), rbm.log_partition(method="visible"))


@_row("Ising 10 spins: log Z class = partition.enumerate_states", "D5", 1e-12)
def _ising():
    from . import discrete, partition
    rng = np.random.default_rng(1)
    a = rng.normal(size=(10, 10)) * 0.3
    J = a + a.T
    np.fill_diagonal(J, 0.0)
    model = discrete.Ising(J, rng.normal(size=10) * 0.5)
    return _cmp(partition.enumerate_states(model.energy, model.states()), model.log_partition())


def _grad_three_ways(fam, energy_of_theta, box):
    """grad A: closed form, autograd through the closed form, autograd through quadrature."""
    from . import partition
    theta = np.asarray(fam.natural_params, dtype=float)
    closed = np.asarray(fam.mean_sufficient_stats(), dtype=float)
    through_a = autograd.grad(fam.log_partition_natural)(theta)
    through_quad = autograd.grad(
        lambda th: partition.quadrature(lambda x: energy_of_theta(th, x), box, tol=1e-11).log_z
    )(theta)
    return Compared(max(_rel(through_a, closed), _rel(through_quad, closed)),
                    [_plain(through_a), _plain(through_quad)], _plain(closed))


@_row("N(0.7, 1.5^2): grad log Z closed = autograd(A) = autograd(quadrature)", "D1, D8", 1e-8)
def _grad_gauss():
    from . import families
    fam = families.Gaussian(np.array([0.7]), np.array([[2.25]]))
    return _grad_three_ways(
        fam, lambda th, x: -(th[0] * x[:, 0] + th[1] * x[:, 0] ** 2), [(-np.inf, np.inf)])


@_row("Gamma(2.5, 1.5): grad log Z closed = autograd(A) = autograd(quadrature)", "D1, D8", 1e-8)
def _grad_gamma():
    from . import families
    fam = families.Gamma(2.5, 1.5)
    return _grad_three_ways(
        fam, lambda th, x: -(th[0] * anp.log(x[:, 0]) + th[1] * x[:, 0]), [(0.0, np.inf)])


@_row("Score: autograd = analytic, unchanged by log Z", "D12", 1e-12)
def _score():
    from . import diff
    g = _gaussian2()
    auto = diff.score(lambda x: g.energy(x) + 123.0)(_POINTS)
    return _cmp(auto, g.score(_POINTS))


@_row("ULA on N(mu, Sigma): closed-form stationary law = discrete Lyapunov solve", "D11", 1e-10)
def _ula_law():
    from scipy.linalg import solve_discrete_lyapunov

    from .samplers.conventions import ula_stationary_gaussian
    cov = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.2], [0.0, 0.2, 0.5]])
    a, b = 0.1, np.sqrt(0.2)
    m = np.eye(3) - a * np.linalg.inv(cov)
    law = ula_stationary_gaussian(np.zeros(3), cov, a, b)
    return _cmp(law.cov, solve_discrete_lyapunov(m, b ** 2 * np.eye(3)))


@_row("Langevin conventions: CS236 step = converted Song-Kingma and TFP steps", "D11", 1e-14)
def _conventions():
    from .samplers import ula_init
    from .samplers.conventions import convention_step, convert_step
    g = _gaussian2()
    z = np.random.default_rng(2).normal(size=_POINTS.shape)
    state = ula_init(g.score, _POINTS)
    ref = convention_step(g.score, state, z, 0.05, convention="cs236")[0].x
    steps = [convention_step(g.score, state, z, convert_step(0.05, "cs236", to),
                             convention=to)[0].x
             for to in ("song_kingma", "tfp")]
    return Compared(max(_rel(step, ref) for step in steps), [_plain(a) for a in steps],
                    _plain(ref))


@_row("MH on 7 states: normalized exp(-E) is stationary for the step's own rule", "D10", 1e-12)
def _mh_stationary():
    from .samplers.mh import log_acceptance_to_probability
    energy = np.array([0.3, -1.0, 2.0, 0.0, 0.7, -0.4, 1.5])
    n = energy.size
    pi = np.exp(-energy - np.log(np.sum(np.exp(-energy))))
    # Symmetric proposal: one of the two ring neighbours, each with probability 1/2.
    i = np.repeat(np.arange(n), 2)
    j = (i + np.tile([-1, 1], n)) % n
    P = np.zeros((n, n))
    P[i, j] = 0.5 * log_acceptance_to_probability(energy[i] - energy[j])
    P[np.arange(n), np.arange(n)] = 1.0 - P.sum(axis=1)
    return Compared(float(np.max(np.abs(pi @ P - pi))), _plain(pi @ P), _plain(pi))


@_row("Sliced SM over all 2^3 Rademacher vectors = exact score-matching loss", "D15", 1e-12)
def _ssm():
    import itertools

    from .objectives import score_matching_loss, sliced_score_matching_loss

    def energy(x):
        return anp.sum(x ** 4, axis=-1) / 4 - anp.sin(x[:, 0] * x[:, 1]) + 0.3 * x[:, 2] ** 2

    x = np.random.default_rng(3).normal(size=(5, 3))
    vs = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))
    v = np.broadcast_to(vs[:, None, :], (8, 5, 3)).copy()
    return _cmp(sliced_score_matching_loss(energy, x, v), score_matching_loss(energy, x))


@_row("MLPEnergy: one-pass Laplacian = autograd Hessian trace", "D15", 1e-10)
def _mlp_laplacian():
    from . import diff
    from .energies import MLPEnergy, random_mlp_weights
    model = MLPEnergy(random_mlp_weights([3, 16, 16, 1], 4, bias_scale=0.5), "tanh")
    x = np.random.default_rng(5).normal(size=(6, 3))
    return _cmp(model.score_and_laplacian(x).laplacian, diff.hessian_trace(model.energy)(x))


def _ids(chain_id):
    return ", ".join(re.findall(r"D\d+", chain_id))


_KINDS = ("identity", "derivation", "wrong form")


def _register_derivation_rows():
    """One row per derivation chain (its largest discrepancy between consecutive lines must be
    at most RTOL), and one per deliberately wrong form (whose largest discrepancy must exceed
    WRONG_FORM_MIN_BREAK: it must break)."""
    from .derivations import RTOL, WRONG_FORM_MIN_BREAK, all_chains, evaluate_chain, wrong_forms

    for kind, chains, tol in (("derivation", all_chains(), RTOL),
                              ("wrong form", wrong_forms(), WRONG_FORM_MIN_BREAK)):
        for chain in chains:
            def evaluate(chain=chain):
                return evaluate_chain(chain)
            _ROWS.append((f"{chain.id}: {chain.title}", _ids(chain.id), tol, evaluate, kind,
                          chain.id))


_register_derivation_rows()

CHECKS = _ROWS


class Check(NamedTuple):
    """One row of the report.

    Attributes
    ----------
    name : str
        What the row checks.
    ids : str
        Inventory ids, comma-separated (``"D1, D8"``).
    error : float
        The largest difference between the two routes (for a chain, between consecutive
        lines); ``inf`` when the row raised.
    tol : float
        For an identity or a derivation, the largest ``error`` allowed. For a wrong form, the
        smallest ``error`` allowed: a wrong form passes when it breaks by more than ``tol``.
    passed : bool
        Whether the row is as it must be.
    message : str
        Why a row raised (empty otherwise).
    kind : str
        ``"identity"`` (a value computed two ways), ``"derivation"`` (a chain of equalities)
        or ``"wrong form"`` (a chain with a deliberately wrong line, which must break).
    derivation : str
        The chain's id (``"D8[gaussian-1d]"``) for derivations and wrong forms, else ``""``.
    value, reference : float, list or None
        The two values compared: for an identity, the value by the route under test and the
        reference value; for a chain, its first line and its last line.
    """

    name: str
    ids: str
    error: float
    tol: float
    passed: bool
    message: str = ""
    kind: str = "identity"
    derivation: str = ""
    value: object = None
    reference: object = None


def run_checks(*, progress=False) -> list[Check]:
    """Evaluate every registered identity; an exception counts as a failure with error inf."""
    from tqdm.auto import tqdm

    from .derivations import ChainResult

    rows = []
    for entry in tqdm(_ROWS, disable=not progress, desc="identities"):
        name, ids, tol, fn = entry[:4]
        kind, derivation = entry[4:] if len(entry) > 4 else ("identity", "")
        try:
            out = fn()
        except Exception as exc:  # a failing identity is reported, not hidden
            rows.append(Check(name, ids, float("inf"), tol, False, f"{type(exc).__name__}: {exc}",
                              kind, derivation))
            continue
        value = reference = None
        if isinstance(out, ChainResult):
            err = float(out.max_discrepancy)
            value, reference = _plain(out.values[0]), _plain(out.values[-1])
        elif isinstance(out, Compared):
            err, value, reference = float(out.error), out.value, out.reference
        else:
            err = float(out)
        passed = err > tol if kind == "wrong form" else err <= tol
        rows.append(Check(name, ids, err, tol, bool(passed), "", kind, derivation, value,
                          reference))
    return rows


def _row_iv(name, row):
    """``row`` unless it is not a [`Check`][refebm.report.Check] (then ``TypeError`` naming ``name``)."""
    if not isinstance(row, Check):
        raise TypeError(f"`{name}` must be a refebm.report.Check row, got {row!r:.80}")
    return row


def _rows_iv(rows):
    """``rows`` as a non-empty list of [`Check`][refebm.report.Check] rows."""
    if isinstance(rows, (str, bytes, Check)) or not hasattr(rows, "__iter__"):
        raise TypeError(f"`rows` must be a sequence of Check rows, got {rows!r:.80}")
    rows = list(rows)
    if not rows:
        raise ValueError("`rows` must not be empty: a report has at least one row, got []")
    for i, r in enumerate(rows):
        _row_iv(f"rows[{i}]", r)
    return rows


def row_verdict(row) -> str:
    """The result of one row in words: ``"pass"``, ``"FAIL"``, or for a wrong form
    ``"breaks by 0.551, as it must"`` (or ``"FAIL: holds to 2e-12, must break"``)."""
    _row_iv("row", row)
    if row.kind != "wrong form":
        return "pass" if row.passed else "FAIL"
    if row.passed:
        return f"breaks by {row.error:.3g}, as it must"
    if math.isinf(row.error):
        return "FAIL: raised"
    return f"FAIL: breaks only by {row.error:.2g} (must be > {row.tol:g})"


def report_record(row) -> dict:
    """A JSON-ready record of one row (``refebm report --json`` prints one per line)."""
    _row_iv("row", row)

    def number(x):
        return float(x) if math.isfinite(x) else None

    return {
        "name": row.name, "kind": row.kind,
        "ids": [s.strip() for s in row.ids.split(",") if s.strip()],
        "derivation": row.derivation or None, "value": row.value, "reference": row.reference,
        "error": number(row.error), "tol": row.tol,
        "rule": "error > tol (must break)" if row.kind == "wrong form" else "error <= tol",
        "status": "pass" if row.passed else "FAIL", "result": row_verdict(row),
        "message": row.message,
    }


def _table_lines(rows, width, columns, cells):
    """Header and rows of one section; the first column wraps when ``width`` is given."""
    import textwrap

    widths = [max([len(columns[k])] + [len(cells(r)[k]) for r in rows]) for k in
              range(len(columns))]
    if width is not None:  # the first column takes what the others leave
        widths[0] = max(24, width - sum(w + 2 for w in widths[1:]))

    def line(parts):
        out = f"{parts[0]:<{widths[0]}}"
        for k, part in enumerate(parts[1:], start=1):
            align = "<" if k == 1 or k == len(parts) - 1 else ">"
            out += f"  {part:{align}{widths[k]}}"
        return out.rstrip()

    lines = [line(columns), "-" * (width or len(line(columns)))]
    for r in rows:
        parts = cells(r)
        name = (textwrap.wrap(parts[0], widths[0], subsequent_indent="  ")
                if width is not None else [parts[0]])
        lines.append(line([name[0], *parts[1:]]))
        lines += name[1:]
        if r.message:
            lines += (textwrap.wrap(r.message, width, initial_indent="    ",
                                    subsequent_indent="    ") if width else ["    " + r.message])
    return lines


def format_report(rows, *, width=100) -> str:
    """The report as text in three sections: identities, derivation chains, and the
    deliberately wrong forms, each shown with the result it must have ("breaks by 0.551, as it
    must"). ``width`` (default 100) wraps long names to fit; ``None`` keeps each row on one
    line, however long."""
    from . import _validate as _v

    rows = _rows_iv(rows)
    if width is not None:
        width = _v.integer("width", width, minimum=60)
    out = []
    sections = (
        ("identity", "Identities: one value computed two independent ways (error <= tol)",
         ("identity", "ids", "error", "tol", "result"),
         lambda r: (r.name, r.ids, f"{r.error:.2e}", f"{r.tol:.0e}", row_verdict(r))),
        ("derivation", "Derivations: largest discrepancy between consecutive lines (<= tol)",
         ("chain", "ids", "discrepancy", "tol", "result"),
         lambda r: (r.name, r.ids, f"{r.error:.2e}", f"{r.tol:.0e}", row_verdict(r))),
        ("wrong form", "Deliberately wrong forms: each must break (discrepancy > 1e-3)",
         ("wrong form", "ids", "result"),
         lambda r: (r.name, r.ids, row_verdict(r))),
    )
    for kind, title, columns, cells in sections:
        these = [r for r in rows if getattr(r, "kind", "identity") == kind]
        if not these:
            continue
        if kind == "wrong form":
            tol = these[0].tol
            title = title.replace("1e-3", f"{tol:g}")
        out += ([""] if out else []) + [title, ""] + _table_lines(these, width, columns, cells)
    return "\n".join(out)


def format_table(rows) -> str:
    """The report as one plain text table: one line per [`Check`][refebm.report.Check] in ``rows`` (a
    non-empty sequence), its result in words ([`row_verdict`][refebm.report.row_verdict]: a wrong
    form reads "breaks by 0.551, as it must"), its message indented below it.
    [`format_report`][refebm.report.format_report] splits the same rows into sections."""
    rows = _rows_iv(rows)
    width = max(len("identity"), *(len(r.name) for r in rows))
    head = f"{'identity':<{width}}  {'ids':<8}  {'error':>9}  {'tol':>7}  result"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.name:<{width}}  {r.ids:<8}  {r.error:9.2e}  {r.tol:7.0e}  "
                     f"{row_verdict(r)}")
        if r.message:
            lines.append(f"    {r.message}")
    return "\n".join(lines)
