r"""\(\log Z\) by quadrature in one to four dimensions (D1, D5).

For \(p(x) = e^{-E(x)} / Z\) on a box \(B = \prod_i (a_i, b_i)\) (the lectures' \(f = -E\)),

\[
    \log Z = \log \int_B e^{-E(x)}\, dx .
\]

:func:`quadrature` is the library's own rule: a tensor product of double-exponential (DE)
rules, computed in log space and differentiable by autograd with respect to the parameters
the energy closes over. :func:`adaptive` wraps :mod:`scipy.integrate` (``nquad``,
``cubature``, ``tanhsinh``) as an independent second computation of the same number.

The DE rule (Takahashi and Mori 1974) substitutes \(x = \phi(t)\) with \(u = \tfrac{\pi}{2}
\sinh t\) and applies the trapezoidal rule with step \(h\) in \(t\):

======================  ==========================================  ==================
interval                \(\phi(t)\)                                   name
======================  ==========================================  ==================
\((a, b)\)              \(a + (b - a)\,\sigma(2u)\)                  tanh-sinh
\((a, \infty)\)         \(a + s\, e^{u}\)                             exp-sinh
\((-\infty, b)\)        \(b - s\, e^{-u}\)                            exp-sinh (mirrored)
\((-\infty, \infty)\)   \(c + s \sinh u\)                             sinh-sinh
======================  ==========================================  ==================

with \(\sigma(z) = 1/(1 + e^{-z})\), so \((b - a)\sigma(2u) = (b-a)(1 + \tanh u)/2\) and the
distance to each end is computed directly (never as a difference of nearly equal numbers).
The transformed integrand \(e^{-E(\phi(t))} \phi'(t)\) decays double exponentially in
\(t\), even for integrable singularities at the ends, so the trapezoidal sum converges
quickly and its change between successive steps estimates its error.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .._backend import array_namespace, concat, is_numpy_namespace, logsumexp, to_numpy

__all__ = ["QuadratureResult", "IntegrationError", "quadrature"]


class QuadratureResult(NamedTuple):
    """The result of :func:`quadrature` or :func:`adaptive`.

    Attributes
    ----------
    log_z : float (or a 0-d array of the namespace; an autograd box when traced)
        The estimate of \\(\\log Z = \\log \\int e^{-E(x)} dx\\).
    error : float
        An estimate of the absolute error of ``log_z`` (about the relative error of ``Z``).
    n_evals : int
        The number of points at which the energy was evaluated.
    """

    log_z: object
    error: float
    n_evals: int


class IntegrationError(RuntimeError):
    """A quadrature that could not produce a number to its tolerance.

    Raised when the integrand is not integrable on the box (mass at the edge of the range)
    or when the error estimate does not reach ``tol`` within the budget. ``result`` holds the
    last estimate (a :class:`QuadratureResult`), or ``None`` when there is none.
    """

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


# ----------------------------------------------------------------------------------------------
# The double-exponential maps, one per axis (host NumPy: nodes and weights are constants).

_HALF_PI = 0.5 * math.pi
_H0 = 0.5                          # step in t of the first level
_RATIO = 2.0 ** (1.0 / 3.0)        # each level divides the step by this
_ERROR_FACTOR = 1.0 / (_RATIO**2 - 1.0)  # |L_k - L_{k-1}| -> error bound, O(h^2) convergence
_X_REL = 1e30                      # infinite ends: nodes reach |x - c| = s * 1e30
_LOG_TINY = math.log(1e-300)       # finite ends: nodes reach 1e-300 (relative) from the end
_ULPS = 2.0**30                    # nodes nearer a non-zero end than 2^30 ulps are continued
_TRIM = 1e-3                       # tails holding less than _TRIM * tol of the mass are dropped


class _Map(NamedTuple):
    kind: str          # "finite" (a, b), "lower" (a, inf), "upper" (-inf, b), "real"
    a: float
    b: float
    c: float = 0.0     # centre of the sinh-sinh map
    s: float = 1.0     # scale of the exp-sinh and sinh-sinh maps


class _Cont(NamedTuple):
    """How the log-density is continued past the last evaluated node at one end."""

    index: tuple          # slabs of the evaluated tensor used by the fit, nearest the end first
    W: np.ndarray         # (n_continued, len(index)): continued log-density = W @ slabs
    W_low: np.ndarray     # the same model with one term fewer (for the error estimate)


class _Axis(NamedTuple):
    """The nodes of one axis at one level, ascending in t.

    The first ``n_lo`` and last ``n_hi`` nodes lie nearer a finite, non-zero end than float64
    resolves well (2^30 ulps); the energy is not evaluated there but continued (``lo``, ``hi``).
    """

    t: np.ndarray
    x: np.ndarray         # the evaluated nodes, t[n_lo : len(t) - n_hi]
    log_w: np.ndarray     # log(h dphi/dt) at every node
    n_lo: int
    n_hi: int
    lo: _Cont | None
    hi: _Cont | None


def _make_map(i, lo, hi):
    if math.isfinite(lo) and math.isfinite(hi):
        width = hi - lo
        if not math.isfinite(width):
            raise ValueError(f"`bounds[{i}]` is too wide for float64 (hi - lo overflows), "
                             f"got ({lo}, {hi})")
        if width < 2.0**36 * np.spacing(max(abs(lo), abs(hi))):
            raise ValueError(f"`bounds[{i}]` is too narrow for float64 quadrature (width "
                             f"{width:.3g} at magnitude {max(abs(lo), abs(hi)):.3g}), got "
                             f"({lo}, {hi}); shift or rescale the variable")
        return _Map("finite", lo, hi)
    if math.isfinite(lo):
        return _Map("lower", lo, math.inf)
    if math.isfinite(hi):
        return _Map("upper", -math.inf, hi)
    return _Map("real", -math.inf, math.inf)


def _full_range(m):
    """The t-interval whose nodes reach 1e-300 from a finite end and s * 1e30 at an infinite one."""
    big = math.log(_X_REL)
    u_lo, u_hi = {"finite": (0.5 * _LOG_TINY, -0.5 * _LOG_TINY), "lower": (_LOG_TINY, big),
                  "upper": (-big, -_LOG_TINY),
                  "real": (-math.asinh(_X_REL), math.asinh(_X_REL))}[m.kind]
    return math.asinh(u_lo / _HALF_PI), math.asinh(u_hi / _HALF_PI)


def _log_sigmoid(z):
    return -np.logaddexp(0.0, -z)


def _log_close(end):
    """log of the distance below which a node is continued rather than evaluated."""
    return -math.inf if end == 0.0 else math.log(_ULPS * np.spacing(abs(end)))


def _x_of_t(m, t):
    u = _HALF_PI * math.sinh(t)
    return m.c + m.s * math.sinh(u)  # used for the sinh-sinh axes only


def _t_of_x(m, x):
    return math.asinh(math.asinh((x - m.c) / m.s) / _HALF_PI)


def _axis(m, h, t_lo, t_hi):
    """Nodes and log-weights of the step-``h`` rule of map ``m`` inside ``[t_lo, t_hi]``."""
    f_lo, f_hi = _full_range(m)
    j = np.arange(math.ceil(f_lo / h - 1e-9), math.floor(f_hi / h + 1e-9) + 1)
    t = j * h
    u = _HALF_PI * np.sinh(t)
    log_h_du = math.log(h) + np.log(_HALF_PI * np.cosh(t))
    log_da = log_db = None  # log distance to a and to b
    if m.kind == "real":
        x = m.c + m.s * np.sinh(u)
        log_w = log_h_du + math.log(m.s) + np.log(np.cosh(u))
    elif m.kind == "finite":
        lw = math.log(m.b - m.a)
        log_da, log_db = lw + _log_sigmoid(2 * u), lw + _log_sigmoid(-2 * u)
        x = np.where(t <= 0, m.a + np.exp(log_da), m.b - np.exp(log_db))
        log_w = log_h_du + lw + math.log(2.0) + _log_sigmoid(2 * u) + _log_sigmoid(-2 * u)
    elif m.kind == "lower":
        log_da = math.log(m.s) + u
        x = m.a + np.exp(log_da)
        log_w = log_h_du + log_da
    else:
        log_db = math.log(m.s) - u
        x = m.b - np.exp(log_db)
        log_w = log_h_du + log_db
    cont_lo = np.zeros(t.size, bool) if log_da is None else (t <= 0) & (log_da < _log_close(m.a))
    cont_hi = np.zeros(t.size, bool) if log_db is None else (t > 0) & (log_db < _log_close(m.b))
    first, last = int(cont_lo.sum()), t.size - int(cont_hi.sum())  # evaluated: [first, last)
    # the window, widened to keep the fitted nodes beside any continued node it holds
    i0 = int(np.searchsorted(t, t_lo - 1e-9 * h))
    i1 = int(np.searchsorted(t, t_hi + 1e-9 * h, side="right"))
    if i0 < first:
        i1 = max(i1, first + _fit_span(log_da[first:first + 2]) + 1)
    if i1 > last:
        i0 = min(i0, last - _fit_span(log_db[last - 2:last]) - 1)
    i0, i1 = max(i0, 0), min(i1, t.size)
    n_lo, n_hi = max(first - i0, 0), max(i1 - last, 0)
    xe = x[max(i0, first):min(i1, last)]
    log_scale = math.log(m.b - m.a if m.kind == "finite" else m.s)
    lo = _fit(np.log(xe - m.a), log_da[i0:first], 1, log_scale) if n_lo else None
    hi = _fit(np.log(m.b - xe[::-1]), log_db[last:i1], -1, log_scale) if n_hi else None
    return _Axis(t[i0:i1], xe, log_w[i0:i1], n_lo, n_hi, lo, hi)


def _fit_steps(step):
    """Node strides of the two fits: 0.3 (four nodes) and 0.7 (three nodes) in log distance."""
    return max(1, math.ceil(0.3 / step)), max(1, math.ceil(0.7 / step))


def _fit_span(ell):
    """How many nodes inward the fits reach."""
    m4, m2 = _fit_steps(abs(ell[1] - ell[0]))
    return max(3 * m4, 2 * m2)


def _fit(ell, ell_cont, direction, log_scale):
    r"""The continuation of the log-density at one end.

    With \(\ell = \log \delta\) the log distance to the end, the model is

    \[
        \log f(\delta) = c_0 + s\,\ell + c_1 r + c_2 r^2, \qquad r = \delta / \delta_3,
    \]

    a power law (the shape of an integrable end singularity, e.g. Beta or Gamma ends) times a
    smooth factor, fitted through four evaluated nodes near the end (``ell`` is ordered
    nearest first, \(\delta_3\) is the farthest of the four; ``direction`` -1 counts slabs
    from the far side). When those nodes are not all nearer the end than a tenth of the
    scale of the axis (``log_scale``; coarse levels), it is the power law through the nearest
    node and one about 2x farther. ``W_low`` is the alternative model used for the error
    estimate: one term fewer, or the power law through the next pair of nodes.
    """
    m4, m2 = _fit_steps(abs(ell[1] - ell[0]))
    k = 4 if ell.size > 3 * m4 and ell[3 * m4] <= log_scale + math.log(0.1) else 2
    m2 = max(1, min(m2, (ell.size - 1) // 2))
    rows = [0, m4, 2 * m4, 3 * m4] if k == 4 else [0, m2, 2 * m2]
    far = ell[rows[-1]]

    def basis(el, n):
        r = np.exp(el - far)
        return np.stack([np.ones_like(el), el - far, r, r * r][:n], axis=-1)

    def weights(n, used):
        return basis(ell_cont, n) @ np.linalg.inv(basis(ell[[rows[i] for i in used]], n))

    zero = np.zeros((ell_cont.size, 1))
    if k == 4:
        W, W_low = weights(4, [0, 1, 2, 3]), np.concatenate([weights(3, [0, 1, 2]), zero], 1)
    else:
        W = np.concatenate([weights(2, [0, 1]), zero], 1)
        W_low = np.concatenate([zero, weights(2, [1, 2])], 1)
    index = tuple(j if direction > 0 else -1 - j for j in rows)
    return _Cont(index, W, W_low)


# ----------------------------------------------------------------------------------------------
# The tensor-product sum, written once for the host (decisions) and for xp (the traced value).

def _slab(F, axis, k):
    index = [slice(None)] * F.ndim
    index[axis] = slice(-1, None) if k == -1 else slice(k, k + 1)
    return F[tuple(index)]


def _continued(F, axis, cont, low, xp):
    """Log-density at the continued nodes of one end (see :func:`_fit`), -inf where a fitted
    node has zero density."""
    slabs = [_slab(F, axis, k) for k in cont.index]
    W = cont.W_low if low else cont.W
    ok_host = np.logical_and.reduce([np.isfinite(to_numpy(getval(s))) for s in slabs])
    ok = xp.asarray(ok_host)
    zero = xp.asarray(0.0)
    shape = [1] * F.ndim
    shape[axis] = -1
    out = 0.0
    for j in range(W.shape[1]):
        if not W[:, j].any():
            continue
        out = out + xp.reshape(xp.asarray(W[:, j]), tuple(shape)) * xp.where(ok, slabs[j], zero)
    return xp.where(ok, out, xp.asarray(-math.inf))


def _log_terms(F, axes, xp, low=False):
    """log(weight * density) on the whole tensor grid, continued nodes included."""
    d = len(axes)
    for i, ax in enumerate(axes):
        parts = [F]
        if ax.n_lo:
            parts.insert(0, _continued(F, i, ax.lo, low, xp))
        if ax.n_hi:
            parts.append(_continued(F, i, ax.hi, low, xp))
        if len(parts) > 1:
            F = concat(parts, axis=i, xp=xp)
    for i, ax in enumerate(axes):
        shape = [1] * d
        shape[i] = -1
        F = F + xp.reshape(xp.asarray(ax.log_w), tuple(shape))
    return F


def _grid(axes):
    mesh = np.meshgrid(*[ax.x for ax in axes], indexing="ij")
    return np.stack([g.ravel() for g in mesh], axis=1)


def _evaluate(energy, X, xp):
    points = X if is_numpy_namespace(xp) else xp.asarray(X)
    with np.errstate(over="ignore", under="ignore"):
        e = energy(points)
    return _v.energy_values("energy", e, X.shape[0])


# ----------------------------------------------------------------------------------------------
# Decisions between levels (host values only).

def _marginals(C):
    """log of the sum of exp(C), and the normalized mass along each axis."""
    finite = C[np.isfinite(C)]
    if finite.size == 0:
        raise IntegrationError("`energy` is +inf at every node: no mass was found in `bounds`")
    c_max = finite.max()
    P = np.exp(C - c_max)
    total = P.sum()
    axes = range(C.ndim)
    margins = [P.sum(axis=tuple(a for a in axes if a != i)) / total for i in axes]
    return c_max + math.log(total), margins


def _edge_check(i, m, ax, p, at_lo, at_hi, thr):
    """Mass on the outermost node of an untrimmed range means the integral does not converge."""
    for at, k, side in ((at_lo, 0, "lower"), (at_hi, -1, "upper")):
        if at and p[k] > thr:
            continued = ax.n_lo if k == 0 else ax.n_hi
            where = f"x -> {m.a if k == 0 else m.b}" if continued else f"x = {ax.x[k]:.3g}"
            raise IntegrationError(
                f"the integrand has mass at the {side} edge of the integration range of "
                f"dimension {i} ({where} holds a fraction {p[k]:.3g} of the total): `energy` "
                "is not integrable on `bounds` (e^(-E) does not decay there), or it decays too "
                "slowly, or its mass lies too far out, to reach `tol`")


def _tail(p_out, p_in):
    """Mass beyond a boundary node, extrapolating the ratio of its mass to its neighbour's."""
    if p_out <= 0.0:
        return 0.0
    r = p_out / p_in if p_in > 0 else math.inf
    return p_out * r / (1.0 - r) if r < 1.0 else math.inf


def _trim(ax, p, thr, rng, full):
    """Drop the outer nodes whose tail mass is below ``thr`` (keeping one more)."""
    cum_lo, cum_hi = np.cumsum(p), np.cumsum(p[::-1])[::-1]
    n = p.size
    j_lo = max(int(np.argmax(cum_lo > thr)) - 1, 0)
    j_hi = min(n - 1 - int(np.argmax(cum_hi[::-1] > thr)) + 1, n - 1)
    dropped = (cum_lo[j_lo - 1] if j_lo > 0 else 0.0) + (cum_hi[j_hi + 1] if j_hi < n - 1 else 0.0)
    lo = rng[0] if j_lo == 0 else ax.t[j_lo]
    hi = rng[1] if j_hi == n - 1 else ax.t[j_hi]
    return (lo, hi), (full[0] and j_lo == 0, full[1] and j_hi == n - 1), dropped


def _adapt(m, ax, p):
    """Centre and scale of a sinh-sinh axis from the mass seen on it (efficiency only).

    The scale puts the bulk of the mass in the nearly linear part of the map: a few times the
    central 68% half-width for light tails, about one half-width for heavy (Cauchy-like) ones.
    """
    n_eff = 1.0 / np.sum(p**2)
    if n_eff < 2.0:  # the mass sits on one node: zoom in on it
        j = int(np.argmax(p))
        gap = max(ax.x[min(j + 1, p.size - 1)] - ax.x[j], ax.x[j] - ax.x[max(j - 1, 0)])
        return (m._replace(c=float(ax.x[j]), s=float(gap / math.pi)) if gap > 0 else m), True
    if n_eff < 4.0:  # too few nodes carry the mass to judge its shape
        return m, False
    cdf = np.cumsum(p) - 0.5 * p
    q01, q16, q50, q84, q99 = np.interp([0.01, 0.16, 0.5, 0.84, 0.99], cdf, ax.x)
    w68, w98 = 0.5 * (q84 - q16), 0.5 * (q99 - q01)
    if not (w68 > 0 and math.isfinite(w98)):
        return m, False
    kappa = min(max(4.0 * (2.33 * w68 / w98) ** 3, 0.5), 5.0)
    return m._replace(c=float(q50), s=float(kappa * w68)), False


def quadrature(energy, bounds, *, tol=1e-10, max_evals=5_000_000, max_level=40, xp=None):
    r"""\(\log Z = \log \int_B e^{-E(x)} dx\) by a tensor-product double-exponential rule.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)`` for ``x`` of shape ``(n, d)``; \(E = -f\). ``+inf`` marks points
        outside the support (zero mass); NaN and ``-inf`` are errors. Called once per level
        with all that level's nodes in one batch.
    bounds : sequence of (lo, hi)
        The box \(B\), one pair per dimension, ``d <= 4`` (``d = 4`` warns about the cost).
        Either end may be infinite. Bounds are constants (not differentiated).
    tol : float, default 1e-10
        Target for the estimated absolute error of ``log_z``.
    max_evals : int, default 5_000_000
        Budget of energy evaluations over all levels.
    max_level : int, default 40
        Most refinement levels (the step shrinks by \(2^{1/3}\) per level from 1/2).
    xp : array namespace, optional
        Namespace of the points handed to ``energy``; NumPy (autograd) by default.

    Returns
    -------
    QuadratureResult
        ``(log_z, error, n_evals)``. ``log_z`` is differentiable by autograd with respect to
        the parameters ``energy`` closes over: the nodes, the weights and every refinement
        decision are constants, and only the final log-sum-exp is traced, so the gradient is
        the same rule applied to \(\nabla_\theta \log Z = -\mathbb E_p[\nabla_\theta E]\) (D8).

    Raises
    ------
    IntegrationError
        When ``energy`` has mass at the edge of the range (not integrable on ``bounds``, or
        too heavy a tail), when the estimate does not settle within ``max_evals`` /
        ``max_level``, or when ``tol`` is below the float64 resolution of \(\log Z\). The
        last estimate is attached as ``.result``.

    Math
    ----
    D1, D5. With \(x_i = \phi_i(t_i)\) on each axis (module docstring) and step \(h\),

    \[
        \log Z_h = \operatorname{logsumexp}_{j}\Big(-E(\phi(t_j))
        + \sum_{i=1}^d \log\big(h\, \phi_i'(t_{j_i})\big)\Big),
        \qquad t_j = h\,(j_1, \dots, j_d),
    \]

    so an energy of size \(10^4\) never overflows and \(E + c\) gives \(\log Z - c\) up to
    rounding. Levels use \(h_k = 2^{-k/3}/2\); the error of \(\log Z_{h_k}\) is estimated as
    \(|\log Z_{h_k} - \log Z_{h_{k-1}}| / (2^{2/3} - 1)\) (a bound for any rate of
    convergence at least \(O(h^2)\); DE rules on smooth integrands converge far faster; when
    successive differences fall by less than 10x, the larger of the last two is used), plus
    the mass of the tails dropped between levels. Nodes are kept where \(e^{-E}\phi'\) is
    not negligible: once the estimate is within 1%, a tail holding less than
    \(10^{-3}\,\)``tol`` of the mass is not refined (before that only tails below
    \(10^{-23}\,\)``tol``), and a trimmed side is widened again if the mass extrapolated
    beyond it grows past that. A sinh-sinh axis is recentred and rescaled (at most twice,
    plus zooming on a peak that sits on one node) from the mass it has seen: efficiency
    only, the integral does not depend on the map. Near a finite,
    non-zero end float64 cannot place nodes closer than one ulp, so nodes within
    \(2^{30}\) ulps are not evaluated: the log-density is continued there as
    \(c_0 + s \log\delta + c_1 \delta + c_2 \delta^2\) in the distance \(\delta\) to the
    end, fitted on four evaluated nodes near it (a power law times a smooth factor, the
    shape of Beta- and Gamma-type ends such as Beta(1/2, 1/2)); the change when one term is
    dropped is added to ``error``. A zero end needs no continuation (floats are dense there).

    The integrand must be smooth inside the box (a kink costs accuracy: split ``bounds`` at
    it); singularities and discontinuities belong on its faces.

    Examples
    --------
    \(\int e^{-x^2/2} dx = \sqrt{2\pi}\):

    >>> import numpy as np
    >>> from refebm.partition import quadrature
    >>> res = quadrature(lambda x: 0.5 * np.sum(x**2, axis=-1), [(-np.inf, np.inf)])
    >>> bool(abs(res.log_z - 0.5 * np.log(2 * np.pi)) < 1e-13), res.error < 1e-10
    (True, True)

    Beta(1/2, 1/2) on (0, 1), whose density is infinite at both ends: \(Z = \pi\).

    >>> beta = lambda x: 0.5 * np.log(x[:, 0]) + 0.5 * np.log1p(-x[:, 0])
    >>> bool(abs(quadrature(beta, [(0, 1)]).log_z - np.log(np.pi)) < 1e-12)
    True
    """
    _v.function("energy", energy)
    bounds = _v.bounds("bounds", bounds, max_dim=4)
    tol = float(getval(_v.tolerance("tol", tol)))
    max_evals = _v.integer("max_evals", max_evals, minimum=1)
    max_level = _v.integer("max_level", max_level, minimum=2)
    xp = array_namespace(xp=xp)
    d = len(bounds)
    if d == 4:
        warnings.warn("quadrature in 4 dimensions evaluates the energy on tensor grids of "
                      "~n^4 points (10^5 to 10^7): expect seconds to minutes",
                      RuntimeWarning, stacklevel=2)
    maps = [_make_map(i, lo, hi) for i, (lo, hi) in enumerate(bounds)]
    ranges = [_full_range(m) for m in maps]
    full = [(True, True)] * d
    thr = _TRIM * tol
    frozen, n_evals, history, diffs, dropped, reshaped = False, 0, [], [], 0.0, [0] * d
    last = None  # (energy values, axes, estimate, error) of the latest level
    for k in range(max_level + 1):
        h = _H0 * _RATIO**-k
        axes = [_axis(m, h, *r) for m, r in zip(maps, ranges)]
        size = math.prod(ax.x.size for ax in axes)
        if n_evals + size > max_evals:
            raise _unfinished(f"the next level needs {size} more points than the budget "
                              f"`max_evals`={max_evals} allows", tol, last, n_evals)
        e = _evaluate(energy, _grid(axes), xp)
        n_evals += size
        F = -np.reshape(to_numpy(getval(e)).astype(np.float64), [ax.x.size for ax in axes])
        log_z, margins = _marginals(_log_terms(F, axes, anp))
        diffs.append(abs(log_z - history[-1]) if history else math.inf)
        diff = diffs[-1]
        if len(diffs) >= 3 and diff > 0.1 * diffs[-2]:  # slow (algebraic, maybe oscillating)
            diff = max(diff, diffs[-2])
        error = diff * _ERROR_FACTOR + dropped
        if any(ax.n_lo or ax.n_hi for ax in axes):  # uncertainty of the continued ends
            error += abs(log_z - _marginals(_log_terms(F, axes, anp, low=True))[0])
        history.append(log_z)
        last = (e, axes, log_z, error)
        widened = False
        for i, ax in enumerate(axes):
            p = margins[i]
            _edge_check(i, maps[i], ax, p, *full[i], thr)
            # a trimmed side whose tail (extrapolated from its two outer nodes) now holds mass
            # was trimmed too early: widen it
            (lo, hi), (f_lo, f_hi) = ranges[i], _full_range(maps[i])
            if not full[i][0] and _tail(p[0], p[1]) > thr:
                lo, widened = max(lo - 0.5 * (hi - lo), f_lo), True
            if not full[i][1] and _tail(p[-1], p[-2]) > thr:
                hi, widened = min(hi + 0.5 * (hi - ranges[i][0]), f_hi), True
            ranges[i], full[i] = (lo, hi), (full[i][0] or lo == f_lo, full[i][1] or hi == f_hi)
        settled = k >= 2 and abs(history[-2] - history[-3]) <= 1e-2
        if error <= tol and settled and not widened:
            break
        floor = 16.0 * np.finfo(float).eps * (1.0 + abs(log_z))
        if tol < floor and diff <= 10.0 * floor:
            raise _unfinished(f"`tol`={tol:g} is below the float64 resolution of log Z for "
                              f"this energy (about {floor:.2g})", tol, last, n_evals)
        if k == max_level:
            raise _unfinished(f"`max_level`={max_level} was reached", tol, last, n_evals)
        # the next level: drop negligible tails (far below tol until the estimate is within
        # 1%, as coarse grids can misjudge tails), then (early on) recentre the sinh-sinh maps
        dropped = 0.0
        trim_thr = thr if diffs[-1] <= 1e-2 else 1e-20 * thr
        for i, ax in enumerate(axes):
            if not widened:
                ranges[i], full[i], lost = _trim(ax, margins[i], trim_thr, ranges[i], full[i])
                dropped += lost
        if not frozen:
            for i, (m, ax) in enumerate(zip(maps, axes)):
                if m.kind != "real":
                    continue
                new, zoom = _adapt(m, ax, margins[i])
                if not zoom:  # reshape an axis twice at most: each change resets the resolution
                    new = new if reshaped[i] < 2 else m
                    reshaped[i] += new != m
                if new != m:
                    f_lo, f_hi = _full_range(new)
                    lo = f_lo if full[i][0] else max(_t_of_x(new, _x_of_t(m, ranges[i][0])), f_lo)
                    hi = f_hi if full[i][1] else min(_t_of_x(new, _x_of_t(m, ranges[i][1])), f_hi)
                    maps[i], ranges[i] = new, (lo, hi)
            frozen = k >= 1 and diff <= 1e-3
    e, axes, log_z, error = last
    if getval(e) is not e or not is_numpy_namespace(xp):
        F = -xp.reshape(e, tuple(ax.x.size for ax in axes))
        log_z = logsumexp(_log_terms(F, axes, xp), xp=xp)
    return QuadratureResult(log_z, float(error), int(n_evals))


def _unfinished(why, tol, last, n_evals):
    if last is None:
        return IntegrationError(f"did not reach `tol`={tol:g}: {why}; no estimate was made")
    _, _, log_z, error = last
    result = QuadratureResult(float(log_z), float(error), int(n_evals))
    return IntegrationError(
        f"did not reach `tol`={tol:g}: {why}. After {n_evals} evaluations log Z is about "
        f"{log_z!r} with an estimated error of {error:.3g}. The estimates did not settle: "
        "the energy may be non-integrable, non-smooth or discontinuous inside `bounds` "
        "(split `bounds` there), or its mass may be missed by the grid; raise `max_evals` or "
        "`tol`", result)

