r"""\(\log Z\) by quadrature in one to four dimensions (D1, D5).

For \(p(x) = e^{-E(x)} / Z\) on a box \(B = \prod_i (a_i, b_i)\) (the lectures' \(f = -E\)),

\[
    \log Z = \log \int_B e^{-E(x)}\, dx .
\]

[`quadrature`][refebm.partition.quadrature.quadrature] is the library's own rule: a tensor product of double-exponential (DE)
rules, computed in log space and differentiable by autograd with respect to the parameters
the energy closes over. [`adaptive`][refebm.partition.adaptive] wraps `scipy.integrate` (``nquad``,
``cubature``, ``tanhsinh``) as an independent second computation of the same number.

The DE rule (Takahashi and Mori 1974) substitutes \(x = \phi(t)\) with \(u = \tfrac{\pi}{2}
\sinh t\) and applies the trapezoidal rule with step \(h\) in \(t\):

| interval | \(\phi(t)\) | name |
| --- | --- | --- |
| \((a, b)\) | \(a + (b - a)\,\sigma(2u)\) | tanh-sinh |
| \((a, \infty)\) | \(a + s\, e^{u}\) | exp-sinh |
| \((-\infty, b)\) | \(b - s\, e^{-u}\) | exp-sinh (mirrored) |
| \((-\infty, \infty)\) | \(c + s \sinh u\) | sinh-sinh |

with \(\sigma(z) = 1/(1 + e^{-z})\), so \((b - a)\sigma(2u) = (b-a)(1 + \tanh u)/2\) and the
distance to each end is computed directly (never as a difference of nearly equal numbers).
The transformed integrand \(e^{-E(\phi(t))} \phi'(t)\) decays double exponentially in
\(t\), even for integrable singularities at the ends, so the trapezoidal sum converges
quickly. How convergence is judged (a twin rule on new nodes, and the pattern of three
halvings of the step), what the error estimate bounds and what no rule can see are described
in the docstring of `quadrature` and measured by ``benchmarks/bench_quadrature_reliability.py``.
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
    """The result of [`quadrature`][refebm.partition.quadrature.quadrature] or [`adaptive`][refebm.partition.adaptive].

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
    last estimate (a [`QuadratureResult`][refebm.partition.QuadratureResult]), or ``None`` when there is none.
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
_ULPS_CUT = 2.0**12                # ... or 2^12 ulps at a cut from `points` (no singularity)
_TRIM = 1e-3                       # tails holding less than _TRIM * tol of the mass are dropped


class _Map(NamedTuple):
    kind: str          # "finite" (a, b), "lower" (a, inf), "upper" (-inf, b), "real"
    a: float
    b: float
    c: float = 0.0     # centre of the sinh-sinh map
    s: float = 1.0     # scale of the exp-sinh and sinh-sinh maps
    ulps_a: float = _ULPS  # nodes nearer a (b) than this many ulps are continued
    ulps_b: float = _ULPS


class _Cont(NamedTuple):
    """How the log-density is continued past the last evaluated node at one end."""

    index: tuple          # slabs of the evaluated tensor used by the fit, nearest the end first
    W: np.ndarray         # (n_continued, len(index)): continued log-density = W @ slabs
    W_low: np.ndarray     # the same model with one term fewer (for the error estimate)
    W_low2: np.ndarray | None = None  # two terms fewer (the power law alone), when W has four


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


def _log_close(end, ulps=_ULPS):
    """log of the distance below which a node is continued rather than evaluated."""
    return -math.inf if end == 0.0 else math.log(ulps * np.spacing(abs(end)))


def _x_of_t(m, t):
    u = _HALF_PI * math.sinh(t)
    return m.c + m.s * math.sinh(u)  # used for the sinh-sinh axes only


def _t_of_x(m, x):
    return math.asinh(math.asinh((x - m.c) / m.s) / _HALF_PI)


def _axis(m, h, t_lo, t_hi, offset=0.0):
    r"""Nodes and log-weights of the step-``h`` rule of map ``m`` inside ``[t_lo, t_hi]``.

    The nodes are \(t_j = (j + \text{offset})\, h\): offset 0 is the trapezoidal rule, offset
    1/2 its midpoint twin (the nodes the next halving of ``h`` would add).
    """
    f_lo, f_hi = _full_range(m)
    j = np.arange(math.ceil(f_lo / h - offset - 1e-9), math.floor(f_hi / h - offset + 1e-9) + 1)
    t = (j + offset) * h
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
    cont_lo = np.zeros(t.size, bool) if log_da is None else (t <= 0) & (log_da < _log_close(m.a, m.ulps_a))
    cont_hi = np.zeros(t.size, bool) if log_db is None else (t > 0) & (log_db < _log_close(m.b, m.ulps_b))
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
    W_low2 = None
    if k == 4:
        W, W_low = weights(4, [0, 1, 2, 3]), np.concatenate([weights(3, [0, 1, 2]), zero], 1)
        W_low2 = np.concatenate([weights(2, [0, 1]), zero, zero], 1)
    else:
        W = np.concatenate([weights(2, [0, 1]), zero], 1)
        W_low = np.concatenate([zero, weights(2, [1, 2])], 1)
    index = tuple(j if direction > 0 else -1 - j for j in rows)
    return _Cont(index, W, W_low, W_low2)


# ----------------------------------------------------------------------------------------------
# The tensor-product sum, written once for the host (decisions) and for xp (the traced value).

def _slab(F, axis, k):
    index = [slice(None)] * F.ndim
    index[axis] = slice(-1, None) if k == -1 else slice(k, k + 1)
    return F[tuple(index)]


def _continued(F, axis, cont, low, xp):
    """Log-density at the continued nodes of one end (see `_fit`), -inf where a fitted
    node has zero density."""
    slabs = [_slab(F, axis, k) for k in cont.index]
    W = {0: cont.W, 1: cont.W_low, 2: cont.W_low2 if cont.W_low2 is not None else cont.W_low}[
        int(low)]
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
    """Mass on the outermost node of an untrimmed range means the integral does not converge.

    Not judged at a finite end while the mass sits on fewer than three effective nodes: a
    coarse grid puts a narrow peak at an end (a mode at a cut from ``points``) on its last
    node, while a non-integrable end spreads its mass over many nodes."""
    coarse = _effective_nodes(p) < 3.0
    for at, k, side in ((at_lo, 0, "lower"), (at_hi, -1, "upper")):
        if coarse and math.isfinite(m.a if k == 0 else m.b):
            continue
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
    p_out, p_in = float(p_out), float(p_in)
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


def _keep_cut_ends(m, old, old_full, new, new_full, lost):
    """A side that ends at a cut from ``points`` is never trimmed: a mode named there may be
    narrower than anything the coarse levels resolved, so its mass is not judged from them."""
    (lo, hi), (f_lo, f_hi) = new, new_full
    if m.ulps_a == _ULPS_CUT and (lo, f_lo) != (old[0], old_full[0]):
        lo, f_lo = old[0], old_full[0]  # `lost` still counts that side: an overestimate
    if m.ulps_b == _ULPS_CUT and (hi, f_hi) != (old[1], old_full[1]):
        hi, f_hi = old[1], old_full[1]
    return (lo, hi), (f_lo, f_hi), lost


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


def _x_at(m, t):
    r"""The point \(\phi(t)\) of map ``m`` (host NumPy), for reporting locations."""
    u = _HALF_PI * np.sinh(np.asarray(t, dtype=float))
    if m.kind == "real":
        return m.c + m.s * np.sinh(u)
    if m.kind == "finite":
        return m.a + (m.b - m.a) * np.exp(_log_sigmoid(2 * u))
    if m.kind == "lower":
        return m.a + m.s * np.exp(u)
    return m.b - m.s * np.exp(-u)


# ----------------------------------------------------------------------------------------------
# One level of the rule: its nodes, the energy there, and log Z_h.

class _Level(NamedTuple):
    e: object             # the energy values (an autograd box when traced)
    axes: list            # one _Axis per dimension
    F: np.ndarray         # host log-density on the evaluated grid
    L: np.ndarray         # host log(weight * density) on the whole grid, continued nodes included
    log_z: float          # host log Z_h
    margins: list | None  # the normalized mass along each axis (None when there is none)


_TWIN = (0.5, 0.25, 0.125, 0.0625)  # the twin's shift along each axis, in steps


def _level_axes(maps, ranges, h, twin=False):
    """The axes of the step-``h`` rule or (``twin``) of its shifted twin: shifted by h/2 in
    one dimension (the midpoint rule), by (1/2, 1/4, 1/8, 1/16) h in several, so that every
    aliasing mode of the lattice with integer wave numbers in {-1, 0, 1} changes phase."""
    out = []
    for m, (lo, hi), off in zip(maps, ranges, _TWIN):
        off = off if twin else 0.0
        out.append(_axis(m, h, lo - off * h, hi + off * h, off))
    return out


def _run_level(energy, axes, xp):
    e = _evaluate(energy, _grid(axes), xp)
    F = -np.reshape(to_numpy(getval(e)).astype(np.float64), [ax.x.size for ax in axes])
    L = _log_terms(F, axes, anp)
    if not np.isfinite(L).any():
        return _Level(e, axes, F, L, -math.inf, None)
    log_z, margins = _marginals(L)
    return _Level(e, axes, F, L, float(log_z), margins)


def _coarser(level, factor):
    r"""\(\log Z_{\text{factor}\cdot h}\) from the nodes of ``level`` whose index is a multiple of
    ``factor`` on every axis: the trapezoidal rule with a ``factor`` times longer step, at no
    further cost (its weights are ``factor`` times larger)."""
    L = level.L
    for i, ax in enumerate(level.axes):
        h = ax.t[1] - ax.t[0] if ax.t.size > 1 else 1.0
        j = np.rint(ax.t / h).astype(np.int64)
        index = [slice(None)] * L.ndim
        index[i] = np.flatnonzero(j % factor == 0)
        L = L[tuple(index)]
    finite = L[np.isfinite(L)]
    if finite.size == 0:
        return -math.inf
    c = finite.max()
    return float(c + math.log(np.exp(L - c).sum()) + L.ndim * math.log(factor))


def _log_mid(a, b):
    """log((e^a + e^b) / 2): the halved step from a rule and its midpoint twin."""
    return float(np.logaddexp(a, b) - math.log(2.0))


# ----------------------------------------------------------------------------------------------
# The stopping rule: the converged-looking level is checked by its midpoint twin.

_MIN_NODES = 5.0       # effective nodes that must carry each axis's marginal mass
_DE_GAIN = 1.0         # decimal digits a halving of h must gain, at least ...
_DE_ACCEL = 1.5        # ... and this many times the digits the previous halving gained,
_DE_FAST = 1.5         # ... unless it gained this many
_STRIKES = 3           # candidate levels failing the pattern before "not smooth" is raised


class _Check(NamedTuple):
    log_z: float          # log Z_{h/2} from the level and its twin
    error: float          # the error estimate (the h to h/2 change, plus tails and ends)
    deltas: tuple         # |log Z_{4h} - log Z_{2h}|, |log Z_{2h} - log Z_h|, |log Z_h - log Z_{h/2}|
    smooth: bool          # the digits gained per halving grow (double-exponential pattern)
    floor: float          # float64 resolution of log Z
    placement: float = 0.0  # its part from the placement of floats (see `_placement`)


def _resolution(log_z):
    return 16.0 * np.finfo(float).eps * (1.0 + abs(log_z))


def _gains(deltas, floor):
    """Decimal digits gained by each halving of h (capped at the rounding floor)."""
    d = [max(float(x), float(floor)) for x in deltas]
    return [math.log10(a / b) if math.isfinite(a) and math.isfinite(b) and b > 0 else 0.0
            for a, b in zip(d, d[1:])]  # no gain is read from an infinite floor


def _embedded_check(level, twin, extra, t2):
    r"""The converged-looking rule of step \(h\) against its midpoint twin (D1, D5).

    With \(T_h\) the rule and \(M_h\) its twin (nodes at the midpoints),
    \(T_{h/2} = (T_h + M_h)/2\) halves the step, and subsampling every second (fourth) node of
    \(T_h\) gives \(T_{2h}\) (\(T_{4h}\)). On an integrand analytic in a strip around the
    real \(t\) axis the error falls like \(e^{-c/h}\): each halving squares it, so the
    decimal digits gained per halving are many and grow. Algebraic convergence (a kink, a step,
    a cusp inside the box: error \(O(h^p)\)) gains \(p \log_{10} 2\), a fraction of a digit
    for \(p \le 3\), the same at every halving. With \(\Delta_0 = |\log T_h - \log T_{h/2}|\),
    \(\Delta_1 = |\log T_{2h} - \log T_h|\), \(\Delta_2 = |\log T_{4h} - \log T_{2h}|\) and
    \(g_0, g_1\) the digits the last two halvings gained, the pattern is double-exponential
    when \(\Delta_0\) is at the floor of what the comparison resolves (rounding, the mass on
    the window's edge nodes, trimmed tails and continued ends, all added to the error), or
    \(g_0 \ge 1.5\) or \(g_0 \ge \max(1, 1.5\, g_1)\), with \(g_1 \ge 1\) as well once
    \(\Delta_2 < 10^{-3}\) (both halvings past the pre-asymptotic range).
    """
    log_half = _log_mid(level.log_z, twin.log_z)  # t2 = log T_2h, from `_coarser`
    d1 = abs(t2 - level.log_z)
    d2 = abs(_coarser(level, 4) - t2)
    if level.L.ndim == 1:
        d0 = abs(level.log_z - log_half)
        bound = d0
    else:  # two equally fine rules: their difference, and the step before, bound the error
        d0 = abs(level.log_z - twin.log_z)
        bound = max(d0, d1)
    extra = extra + max(_beyond(level), _beyond(twin))
    placement = _placement(level)
    floor = max(_resolution(log_half) + placement, extra)
    g1, g0 = _gains([d2, d1, d0], floor)
    fast = g0 >= _DE_FAST or g0 >= max(_DE_GAIN, _DE_ACCEL * g1)
    if d0 <= 8.0 * floor:
        smooth = True
    elif d1 >= 0.5:  # the coarser rules are too coarse to tell
        smooth = g0 >= _DE_GAIN
    elif d2 >= 1e-3:  # the first of the two halvings may be pre-asymptotic
        smooth = fast
    else:
        smooth = g1 >= _DE_GAIN and fast
    # never claim more than float64 resolves
    resolution = _resolution(log_half) + placement
    return _Check(log_half, max(bound + extra, resolution), (d2, d1, d0), smooth, floor,
                  placement)


def _placement(level):
    """How finely float64 places nodes where the mass is, on each axis: the spacing of floats
    at the centre of the marginal mass over its standard deviation (N(1e9, 1) cannot be
    integrated to better than about 1e-7 relative: floats there are 1.2e-7 apart), plus the
    three times the root sum of squares over the nodes of mass x |d log density / dx| x float
    spacing (the rounding noise of nodes crowded against a finite non-zero end, where a
    singular density is steep)."""
    margins = _margins_of(level)
    if margins is None:
        return 0.0
    out = 0.0
    for p, ax in zip(margins, level.axes):
        w = p[ax.n_lo:p.size - ax.n_hi]
        if w.sum() <= 0 or ax.x.size < 2:
            continue
        w = w / w.sum()
        centre = float(w @ ax.x)
        spread = math.sqrt(max(float(w @ (ax.x - centre) ** 2), 0.0))
        if spread > 0:
            out += float(np.spacing(abs(centre))) / spread
        log_w = ax.log_w[ax.n_lo:ax.log_w.size - ax.n_hi]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_m = np.log(w) - log_w  # log of the marginal density at the nodes
            slope = np.gradient(log_m, ax.x)
            terms = w * np.abs(slope) * np.spacing(np.abs(ax.x))
        terms = terms[np.isfinite(terms)]
        out += 3.0 * float(np.sqrt(np.sum(terms**2)))  # three standard deviations
    return out


def _beyond(level):
    """The mass beyond the window (both twins see the same window, so their comparison cannot
    see it): on each axis, the tail extrapolated from the two outermost nodes (see
    `_tail`), infinite when the mass grows outwards."""
    margins = _margins_of(level)
    if margins is None:
        return 0.0
    return float(sum(_tail(p[0], p[1]) + _tail(p[-1], p[-2]) for p in margins if p.size > 1))


def _effective_nodes(p):
    return 1.0 / float(np.sum(p**2)) if p.size else 0.0


def _margins_of(level):
    return level.margins


def _nonsmooth_region(maps, level, twin):
    """Where the rule and its twin disagree most: the cell between two neighbouring nodes on
    the axis (of the marginal mass) where the rule and its shifted twin differ most."""
    best = (-1.0, 0, (math.nan, math.nan))
    c = max(np.max(level.L[np.isfinite(level.L)]), np.max(twin.L[np.isfinite(twin.L)]))
    for i, (m, ax, tw, off) in enumerate(zip(maps, level.axes, twin.axes, _TWIN)):
        others = tuple(a for a in range(level.L.ndim) if a != i)
        pT = np.exp(level.L - c).sum(axis=others)
        pM = np.exp(twin.L - c).sum(axis=others)
        if ax.t.size < 2 or tw.t.size < 1:
            continue
        h = ax.t[1] - ax.t[0]
        mid = ax.t[:-1] + off * h  # the twin node inside each cell [t_j, t_j+1]
        k = np.clip(np.rint((mid - tw.t[0]) / h).astype(np.int64), 0, tw.t.size - 1)
        cells = np.flatnonzero(np.abs(tw.t[k] - mid) <= 1e-6 * h)
        if cells.size == 0:
            continue
        r = np.abs((1 - off) * pT[cells] + off * pT[cells + 1] - pM[k[cells]])
        j = int(cells[np.argmax(r)])
        if r.max() > best[0]:
            best = (float(r.max()), i, (float(_x_at(m, ax.t[j])), float(_x_at(m, ax.t[j + 1]))))
    return best[1], best[2]


# ----------------------------------------------------------------------------------------------
# The rule on one box.

class _BoxResult(NamedTuple):
    log_z: float
    error: float
    n_evals: int
    parts: tuple          # ((e, axes), ...) whose traced log-sum-exps give log_z
    empty: bool           # no node had mass (only allowed for pieces of a split box)


def _de_box(energy, bounds, tol, budget, max_level, xp, cuts, allow_empty=False, frame=None,
            pilot=False):
    """The refinement loop on one box (the rule is described in `quadrature`). A ``pilot``
    run stops at the first level whose estimate moved by less than 1% (or at the budget) and
    returns that level unchecked: a rough picture of where the mass is."""
    d = len(bounds)
    maps = [_make_map(i, lo, hi)._replace(ulps_a=_ULPS_CUT if lo in cuts[i] else _ULPS,
                                          ulps_b=_ULPS_CUT if hi in cuts[i] else _ULPS)
            for i, (lo, hi) in enumerate(bounds)]
    ranges = [_full_range(m) for m in maps]
    full = [(True, True)] * d
    thr = _TRIM * tol
    frozen, n_evals, history, diffs, dropped, reshaped = False, 0, [], [], 0.0, [0] * d
    strikes, last, checked, was_smooth = 0, None, None, True
    for k in range(max_level + 1):
        h = _H0 * _RATIO**-k
        axes = _level_axes(maps, ranges, h)
        size = math.prod(ax.x.size for ax in axes)
        if n_evals + size > budget:
            if pilot and last is not None:
                return _BoxResult(last[1], math.inf, n_evals, ((last[0].e, last[0].axes),),
                                  False)
            raise _unfinished(f"the next level needs {size} more points than the budget "
                              f"`max_evals` allows ({budget - n_evals} left)", tol, last,
                              n_evals, checked, maps,
                              frame=frame, strikes=strikes)
        level = _run_level(energy, axes, xp)
        n_evals += size
        if not math.isfinite(level.log_z):
            if allow_empty and k >= 2:
                return _BoxResult(-math.inf, 0.0, n_evals, (), True)
            if k >= 2:
                raise IntegrationError(
                    "`energy` is +inf at every node of three levels: no mass was found in "
                    f"`bounds` {bounds}; if the density has support there, pass `points=` "
                    "with its location")
            continue
        log_z, margins = level.log_z, _margins_of(level)
        diffs.append(abs(log_z - history[-1]) if history else math.inf)
        diff = diffs[-1]
        if len(diffs) >= 3 and diff > 0.1 * diffs[-2]:  # slow (algebraic, maybe oscillating)
            diff = max(diff, diffs[-2])
        ends = _ends_error(level)
        error = diff * _ERROR_FACTOR + dropped + ends
        history.append(log_z)
        last = (level, log_z, error)
        widened = _widen(maps, axes, margins, ranges, full, thr)
        settled = k >= 2 and abs(history[-2] - history[-3]) <= 1e-2
        resolved = all(_effective_nodes(p) >= _MIN_NODES for p in margins)
        if pilot and settled and resolved:
            return _BoxResult(log_z, math.inf, n_evals, ((level.e, level.axes),), False)
        twin_axes = _level_axes(maps, ranges, h, twin=True)
        twin_size = math.prod(ax.x.size for ax in twin_axes)
        last_chance = n_evals + twin_size + size * _RATIO**d > budget  # the next level won't fit
        t2 = _coarser(level, 2)
        near = error <= tol or abs(t2 - log_z) <= tol
        if (resolved and not widened and n_evals + twin_size <= budget
                and (strikes or (near and settled) or last_chance)):
            twin = _run_level(energy, twin_axes, xp)
            size = twin_size
            n_evals += size
            checked = (_embedded_check(level, twin, dropped + max(ends, _ends_error(twin)), t2),
                       level, twin)
            check = checked[0]
            # after a check that showed algebraic convergence, two smooth checks in a row
            if check.smooth and check.error <= tol and (was_smooth or not strikes):
                return _BoxResult(check.log_z, check.error, n_evals,
                                  ((level.e, level.axes), (twin.e, twin.axes)), False)
            was_smooth = check.smooth
            if check.smooth and check.placement >= tol:
                raise _unfinished(
                    f"`tol`={tol:g} is below the float64 resolution of log Z for this energy "
                    f"(about {check.error:.2g}): floats are too sparse where the mass is, "
                    "relative to its width", tol, (level, check.log_z, check.error), n_evals,
                    None, maps, frame=frame, cause=" Ask for a larger `tol`, or shift the "
                    "variable so that the mass sits near the origin.")
            # algebraic: both halvings slow (a smooth integrand's first one gains many digits)
            slow = max(_gains(list(check.deltas), check.floor)) < _DE_FAST
            if not check.smooth and slow and check.deltas[1] < 1e-2:
                strikes += 1
                if strikes >= _STRIKES:
                    raise _not_smooth(tol, check, level, twin, maps, n_evals, frame=frame)
        floor = _resolution(log_z)
        if tol < floor and diff <= 10.0 * floor and resolved:
            raise _unfinished(f"`tol`={tol:g} is below the float64 resolution of log Z for "
                              f"this energy (about {floor:.2g})", tol, last, n_evals, None,
                              maps, frame=frame, cause=" Ask for a larger `tol`, or write the energy so that"
                              " its values near the mode are of order one (subtract a constant).")
        if k == max_level:
            raise _unfinished(f"`max_level`={max_level} was reached", tol, last, n_evals,
                              checked, maps)
        # the next level: drop negligible tails (far below tol until the estimate is within
        # 1%, as coarse grids can misjudge tails), then (early on) recentre the sinh-sinh maps
        dropped = 0.0
        trim_thr = thr if diffs[-1] <= 1e-2 else 1e-20 * thr
        for i, ax in enumerate(axes):
            if not widened:
                ranges[i], full[i], lost = _keep_cut_ends(
                    maps[i], ranges[i], full[i],
                    *_trim(ax, margins[i], trim_thr, ranges[i], full[i]))
                dropped += lost
        if not frozen:
            _adapt_maps(maps, axes, margins, ranges, full, reshaped)
            frozen = k >= 1 and diff <= 1e-3
    raise AssertionError("unreachable")  # pragma: no cover


def _ends_error(level):
    r"""The error of the continued ends (see `_fit`).

    With \(\delta_1\) the change of \(\log T_h\) when the continued ends use one term fewer
    and \(\delta_2\) the change from that model to the power law alone, the terms of the
    model fall geometrically when \(\delta_2 > \delta_1\): the first omitted term is then
    estimated as \(10\,\delta_1^2/\delta_2\) (ten times the geometric guess), never above
    \(\delta_1\); otherwise \(\delta_1\)."""
    if not any(ax.n_lo or ax.n_hi for ax in level.axes):
        return 0.0
    low1 = _marginals(_log_terms(level.F, level.axes, anp, low=1))[0]
    low2 = _marginals(_log_terms(level.F, level.axes, anp, low=2))[0]
    d1, d2 = abs(level.log_z - low1), abs(low1 - low2)
    if d2 > d1 > 0.0:
        return min(d1, 10.0 * d1 * d1 / d2)
    return d1


def _widen(maps, axes, margins, ranges, full, thr):
    """Edge check, then widen a trimmed side whose tail (extrapolated from its two outer
    nodes) now holds mass: it was trimmed too early."""
    widened = False
    for i, ax in enumerate(axes):
        p = margins[i]
        _edge_check(i, maps[i], ax, p, *full[i], thr)
        (lo, hi), (f_lo, f_hi) = ranges[i], _full_range(maps[i])
        if not full[i][0] and _tail(p[0], p[1]) > thr:
            lo, widened = max(lo - 0.5 * (hi - lo), f_lo), True
        if not full[i][1] and _tail(p[-1], p[-2]) > thr:
            hi, widened = min(hi + 0.5 * (hi - ranges[i][0]), f_hi), True
        ranges[i], full[i] = (lo, hi), (full[i][0] or lo == f_lo, full[i][1] or hi == f_hi)
    return widened


def _adapt_maps(maps, axes, margins, ranges, full, reshaped):
    """Recentre and rescale the sinh-sinh axes from the mass seen (efficiency only)."""
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


def _traced(parts, xp):
    """log Z of a box from the traced energy values of its level (and twin)."""
    logs = []
    for e, axes in parts:
        F = -xp.reshape(e, tuple(ax.x.size for ax in axes))
        logs.append(logsumexp(_log_terms(F, axes, xp), xp=xp))
    if len(logs) == 1:
        return logs[0]
    return xp.logaddexp(logs[0], logs[1]) - math.log(2.0)


# ----------------------------------------------------------------------------------------------
# Messages that say what was observed.

def _observed(check):
    if check is None:
        return ""
    d2, d1, d0 = check[0].deltas
    g1, g0 = _gains([d2, d1, d0], check[0].floor)
    return (f" The last check of the rule against its midpoint twin changed log Z by {d0:.3g} "
            f"when halving h ({d1:.3g} and {d2:.3g} for the two halvings before: {g1:.2g} then "
            f"{g0:.2g} digits gained; a smooth integrand gains more at each halving).")


def _single_node(level, maps):
    """The axis and node holding nearly all the mass, when one does (a mode the grid missed)."""
    for i, p in enumerate(_margins_of(level) or []):
        if _effective_nodes(p) < 2.0:
            j = int(np.argmax(p))
            return i, float(_x_at(maps[i], level.axes[i].t[j]))
    return None


def _unfinished(why, tol, last, n_evals, checked=None, maps=None, cause=None, frame=None,
                strikes=0):
    if strikes >= 2 and not checked[0].smooth:
        return _not_smooth(tol, *checked, maps, n_evals, why, frame)
    if last is None:
        return IntegrationError(f"did not reach `tol`={tol:g}: {why}; no estimate was made")
    level, log_z, error = last
    smooth = checked is not None and checked[0].smooth
    if smooth:  # never state less than the last check's error estimate
        error = max(error, checked[0].error)
    result = QuadratureResult(float(log_z), float(error), int(n_evals))
    lone = _single_node(level, maps) if maps is not None else None
    if cause is not None:
        pass
    elif smooth:
        later = "" if checked[1] is level else (
            f"; the finer level after it changed log Z by {last[2]:.3g}, but its own check "
            "did not fit in the budget")
        cause = (" The last check gained digits the way a smooth integrand does, but its error "
                 f"estimate {checked[0].error:.3g} (in several dimensions the larger of the "
                 "twin's change and the change from the rule with twice the step) is above "
                 f"`tol`{later}. A finer level is needed: raise `max_evals` or `tol`.")
    elif lone is not None:
        cause = (f" Nearly all the mass sits on one node (dimension {lone[0]}, x = {lone[1]:.6g}):"
                 " the grid has not resolved a mode there (too narrow, or too far from the "
                 "origin for the initial grid); pass `points=` with its location.")
    else:
        cause = (" The estimates did not settle: the energy may be non-smooth or discontinuous "
                 "inside `bounds` (pass `points=` with the locations), or have mass the grid "
                 "misses; raise `max_evals` or `tol`.")
    return IntegrationError(
        f"did not reach `tol`={tol:g}: {why}. After {n_evals} evaluations log Z is about "
        f"{log_z!r} with an estimated error of {error:.3g}.{_observed(checked)}{cause}", result)


def _not_smooth(tol, check, level, twin, maps, n_evals, why=None, frame=None):
    axis, (x0, x1) = _nonsmooth_region(maps, level, twin)
    if frame is None:
        where = f"in dimension {axis} between x = {x0:.6g} and x = {x1:.6g}"
    else:  # the rule ran in whitened coordinates y, x = mean + L y
        mean, chol = frame
        a, b = (mean + chol[:, axis] * y for y in (x0, x1))
        where = (f"between x = {np.array2string(a, precision=4)} and x = "
                 f"{np.array2string(b, precision=4)} (a slab across that segment)")
    d2, d1, d0 = check.deltas
    g1, g0 = _gains([d2, d1, d0], check.floor)
    result = QuadratureResult(float(check.log_z), float(max(d1, d0)), int(n_evals))
    return IntegrationError(
        f"the integrand is not smooth inside `bounds`: halving the step changed log Z by "
        f"{d2:.3g}, {d1:.3g}, then {d0:.3g} ({g1:.2g} then {g0:.2g} digits gained: algebraic, "
        "not double-exponential, convergence), so no error estimate can be trusted at "
        f"`tol`={tol:g}{'' if why is None else ' (' + why + ')'}. The rule and its shifted twin "
        f"disagree most {where}: a kink, step or cusp is likely there. Pass "
        "`points=` with its location (or split `bounds` there).", result)


# ----------------------------------------------------------------------------------------------
# The public rule: split at the given points, integrate each box, combine.

def _structure_points(energy, d):
    """Points an energy's object names itself (modes of a mixture), via ``quadrature_points``."""
    owner = getattr(energy, "__self__", None)
    source = getattr(energy, "quadrature_points", None) or getattr(owner, "quadrature_points",
                                                                   None)
    if not callable(source):
        return None
    pts = source()
    return None if pts is None or len(pts) != d else pts


def _boxes(bounds, points):
    """The boxes of the grid cut by ``points`` (per axis, inside the bounds)."""
    edges = []
    for (lo, hi), p in zip(bounds, points):
        cuts = sorted(float(v) for v in p if lo < v < hi)
        edges.append([lo, *cuts, hi])
    pieces = [[]]
    for e in edges:
        pieces = [box + [(a, b)] for box in pieces for a, b in zip(e[:-1], e[1:])]
    return pieces



def quadrature(energy, bounds, *, points=None, tol=1e-10, check=False, max_evals=5_000_000,
               max_level=40, xp=None):
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
    points : sequence, optional
        Where the integrand is not smooth or has narrow or far modes, as in
        `scipy.integrate.quad`: one sequence of locations per dimension (a flat sequence
        of numbers when ``d = 1``). Each axis is cut there and every box of the cut grid is
        integrated on its own, so kinks, steps and cusps sit on faces, where the rule resolves
        them, and a mode at a cut gets nodes clustered double-exponentially around it. When
        omitted and ``energy`` is a bound method of an object with ``quadrature_points()``
        (refebm's Gaussian and mixture families, [`refebm.compose.mixture`][refebm.compose.mixture] of them), the
        object's modes are used.
    tol : float, default 1e-10
        Target for the absolute error of ``log_z`` (about the relative error of \(Z\)).
    check : bool, default False
        Also compute \(\log Z\) with [`refebm.partition.adaptive`][refebm.partition.adaptive] (scipy's adaptive
        Gauss-Kronrod cubature: different nodes, a different error estimate) on the whole
        box, or on each piece when ``points`` is given, and raise [`IntegrationError`][refebm.partition.IntegrationError] when the two differ by more than ``tol`` plus both
        error estimates. NumPy only, not under autograd.
    max_evals : int, default 5_000_000
        Budget of energy evaluations over all levels and boxes.
    max_level : int, default 40
        Most refinement levels per box (the step shrinks by \(2^{1/3}\) per level from 1/2).
    xp : array namespace, optional
        Namespace of the points handed to ``energy``; NumPy (autograd) by default.

    Returns
    -------
    QuadratureResult
        ``(log_z, error, n_evals)``. ``log_z`` is differentiable by autograd with respect to
        the parameters ``energy`` closes over: the nodes, the weights and every refinement
        decision are constants, and only the final log-sum-exps are traced, so the gradient is
        the same rule applied to \(\nabla_\theta \log Z = -\mathbb E_p[\nabla_\theta E]\) (D8).

    Raises
    ------
    IntegrationError
        With what was observed and the last estimate attached as ``.result``: mass at the edge
        of the range (not integrable on ``bounds``, or too heavy a tail); an integrand that is
        not smooth (algebraic convergence, with the region where it was seen); a mode sitting
        on a single node (a mode the grid did not resolve); the budget or ``max_level``
        reached; ``tol`` below the float64 resolution of \(\log Z\); disagreement with the
        independent rule when ``check=True``.

    Math
    ----
    D1, D5. With \(x_i = \phi_i(t_i)\) on each axis (module docstring) and step \(h\),

    \[
        \log T_h = \operatorname{logsumexp}_{j}\Big(-E(\phi(t_j))
        + \sum_{i=1}^d \log\big(h\, \phi_i'(t_{j_i})\big)\Big),
        \qquad t_j = h\,(j_1, \dots, j_d),
    \]

    so an energy of size \(10^4\) never overflows and \(E + c\) gives \(\log Z - c\) up to
    rounding. Levels use \(h_k = 2^{-k/3}/2\); tails holding less than \(10^{-3}\,\)``tol`` of
    the mass are trimmed (their mass is added to the error), sinh-sinh axes are recentred and
    rescaled from the mass seen, and nodes within \(2^{30}\) ulps of a finite non-zero end are
    continued by a fitted power law (the change when one term is dropped is added to the
    error).

    **The stopping rule.** A level is a candidate when its change from the previous level,
    or from the rule with twice its step, is below ``tol`` and every axis's marginal mass is
    spread over at least five effective nodes. A candidate is checked against a twin
    \(M_h\) on new nodes: the same maps and window, shifted by \(h/2\) in one dimension (the
    midpoint rule, so \(T_{h/2} = (T_h + M_h)/2\)) and by \((1/2, 1/4, 1/8, 1/16)\,h\) in
    several (so every aliasing mode of the lattice with wave numbers in \(\{-1, 0, 1\}\)
    changes phase; a twin shifted by \(h/2\) on every axis cannot see modes such as
    \((1, -1, 0)\), the dominant ones of a rotated, elongated density). Every second and
    fourth node of \(T_h\) give \(T_{2h}\) and \(T_{4h}\) at no cost. On an integrand analytic
    in a strip around the real \(t\) axis the error of \(T_h\) falls like \(e^{-c/h}\): each
    halving squares it, so the digits gained per halving are many and grow, while a kink,
    step or cusp inside the box (error \(O(h^p)\)) gains \(p \log_{10} 2\) digits, the same
    at every halving. With \(\Delta_0\) the twin's change (\(|\log T_h - \log T_{h/2}|\) in one
    dimension, \(|\log T_h - \log M_h|\) in several), \(\Delta_1 = |\log T_{2h} - \log T_h|\) and
    \(\Delta_2 = |\log T_{4h} - \log T_{2h}|\), the result \(\log\big((T_h + M_h)/2\big)\) is
    accepted when the three halvings show the double-exponential pattern (\(\Delta_0\) gains
    at least 1.5 digits over \(\Delta_1\), or at least one digit and 1.5 times what
    \(\Delta_1\) gained over \(\Delta_2\), which must itself be a digit once
    \(\Delta_2 < 10^{-3}\); or \(\Delta_0\) sits at the floor of what the comparison resolves)
    and the error estimate is below ``tol``. The error estimate is \(\Delta_0\) in one
    dimension (the error of \(T_h\), far above that of \(T_{h/2}\)) and
    \(\max(\Delta_0, \Delta_1)\) in several (the error of the rule with twice the step), plus
    the mass in trimmed tails and beyond the window (extrapolated from its outermost nodes),
    the uncertainty of continued ends, and never less than the float64 resolution of
    \(\log Z\): \(16\epsilon(1 + |\log Z|)\) plus, per axis, the spacing of floats where the mass
    is over its width (floats near \(10^9\) are \(1.2 \times 10^{-7}\) apart). A
    coincidentally small change between two coarse levels cannot end the refinement: it
    must be confirmed on new nodes and by the pattern of three halvings. After three
    candidates whose last two halvings both gained under 1.5 digits (algebraic convergence),
    [`IntegrationError`][refebm.partition.IntegrationError] says the integrand is not smooth,
    names the region where the rule and its twin disagree most, and asks for ``points=``.

    On \(\mathbb R^d\) with \(d \ge 2\) and no ``points``, a rough first pass (tolerance
    \(10^{-3}\)) measures the mean \(\mu\) and covariance \(LL^\top\) of the mass and the rule
    runs in \(y\) with \(x = \mu + L y\), adding \(\log|\det L|\): the integral is unchanged,
    and a correlated or elongated density becomes round, which an axis-aligned tensor grid
    resolves with far fewer nodes (efficiency only).

    **What this can and cannot see.** Measured by ``benchmarks/bench_quadrature_reliability.py``
    over thousands of random problems (Gaussians in one to three dimensions with condition
    numbers up to \(10^4\) and means up to 10 standard deviations out, mixtures whose modes
    the initial grid resolves, Gamma and Beta with endpoint singularities, energies shifted
    by \(10^4\)) at tolerances \(10^{-4}\) to \(10^{-12}\): the error estimate bounded the true
    error in every case. No rule that samples the integrand can see a feature that lies
    between the nodes of every level it tries: a mode far narrower than the node spacing or
    far from where the grid looks (N(0, 1) + N(1000, 1), a spike of width \(10^{-5}\)) is
    missed with a small error estimate. Name such places with ``points=`` (refebm's own
    mixtures do it for you), or confirm with ``check=True``.

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

    A kink at \(x = 0.2\) (\(e^{-|x - 0.2|}\), \(Z = 2\)) is named with ``points=``:

    >>> kink = lambda x: np.abs(x[:, 0] - 0.2)
    >>> res = quadrature(kink, [(-np.inf, np.inf)], points=[0.2], tol=1e-8)
    >>> bool(abs(res.log_z - np.log(2.0)) < 1e-8)
    True
    """
    _v.function("energy", energy)
    bounds = _v.bounds("bounds", bounds, max_dim=4)
    tol = float(getval(_v.tolerance("tol", tol)))
    max_evals = _v.integer("max_evals", max_evals, minimum=1)
    max_level = _v.integer("max_level", max_level, minimum=2)
    check = _v.boolean("check", check)
    xp = array_namespace(xp=xp)
    d = len(bounds)
    named = points is not None
    if points is None:
        points = _structure_points(energy, d)
    points = _v.split_points("points", points, bounds)
    if d == 4:
        warnings.warn("quadrature in 4 dimensions evaluates the energy on tensor grids of "
                      "~n^4 points (10^5 to 10^7): expect seconds to minutes",
                      RuntimeWarning, stacklevel=2)
    frame, n_evals = None, 0
    if d >= 2 and not any(points) and all(math.isinf(lo) and math.isinf(hi) for lo, hi in bounds):
        frame, n_evals = _whitening(energy, bounds, max_evals, max_level, xp)
    if frame is not None:
        mean, chol = frame
        log_det = float(np.sum(np.log(np.diag(chol))))
        integrand = _affine_energy(energy, mean, chol, xp)
        try:
            res = _de_box(integrand, bounds, tol, max_evals - n_evals, max_level, xp, points,
                          frame=frame)
        except IntegrationError as exc:
            if exc.result is not None:
                exc.result = exc.result._replace(log_z=exc.result.log_z + log_det,
                                                 n_evals=exc.result.n_evals + n_evals)
            raise
        # the nodes' placement in x (the rule saw only y, centred at 0)
        sd = np.sqrt(np.sum(chol**2, axis=1))
        placed = float(np.sum(np.spacing(np.abs(mean)) / sd))
        if placed >= tol:
            raise IntegrationError(
                f"did not reach `tol`={tol:g}: `tol` is below the float64 resolution of log Z "
                f"for this energy (about {placed:.2g}): floats are too sparse where the mass is "
                f"(near x = {np.array2string(mean, precision=4)}), relative to its width. Ask "
                "for a larger `tol`, or shift the variable so that the mass sits near the origin.",
                QuadratureResult(res.log_z + log_det, res.error + placed, n_evals + res.n_evals))
        full = [(bounds, res._replace(log_z=res.log_z + log_det, error=res.error + placed))]
        n_evals += res.n_evals
    else:
        log_det, integrand = 0.0, energy
        boxes = _boxes(bounds, points)
        results = []
        for box in boxes:
            res = _de_box(energy, box, tol, max_evals - n_evals, max_level, xp, points,
                          allow_empty=len(boxes) > 1)
            n_evals += res.n_evals
            results.append((box, res))
        full = [(box, r) for box, r in results if not r.empty]
    if not full:
        raise IntegrationError("`energy` is +inf at every node of every box of `bounds` cut "
                               "at `points`: no mass was found")
    host = np.array([r.log_z for _, r in full])
    log_z = float(host.max() + math.log(np.exp(host - host.max()).sum()))
    error = float(sum(math.exp(r.log_z - log_z) * r.error for _, r in full))
    if check:  # on the pieces the caller named, else on the whole box
        _cross_check(energy, [box for box, _ in full] if named else [bounds], log_z, error,
                     tol)
    traced = [_traced(r.parts, xp) + log_det for _, r in full]
    if any(getval(t) is not t for t in traced) or not is_numpy_namespace(xp):
        log_z = traced[0] if len(traced) == 1 else logsumexp(xp.stack(traced), xp=xp)
    return QuadratureResult(log_z, error, int(n_evals))


def _affine_energy(energy, mean, chol, xp):
    r"""\(y \mapsto E(\mu + L y)\): the energy in whitened coordinates (constants only)."""
    shift, lin = xp.asarray(mean), xp.asarray(chol.T)

    def whitened(y):
        return energy(y @ lin + shift)
    return whitened


def _whitening(energy, bounds, max_evals, max_level, xp):
    r"""Mean \(\mu\) and Cholesky factor \(L\) of the mass, from two rough passes.

    On \(\mathbb R^d\) the integral is unchanged by \(x = \mu + L y\) (it gains
    \(\log|\det L|\)), and in \(y\) a correlated or elongated density is round, so an
    axis-aligned tensor grid resolves it with far fewer nodes (efficiency only). Each pass
    stops at the first level whose estimate moved by less than 1%; the second runs in the
    coordinates the first found. ``None`` when a pass fails or sees a degenerate covariance.
    """
    d = len(bounds)
    mean, chol, n_evals = np.zeros(d), np.eye(d), 0
    for _ in range(2):
        try:
            pilot = _de_box(_affine_energy(energy, mean, chol, xp), bounds, 1e-3,
                            max_evals // 20, max_level, xp, [()] * d, pilot=True)
        except IntegrationError:
            return None, n_evals
        n_evals += pilot.n_evals
        moments = _moments(*pilot.parts[0])
        if moments is None:
            return None, n_evals
        m_y, c_y = moments
        mean, chol = mean + chol @ m_y, chol @ c_y
    return (mean, chol), n_evals


def _moments(e, axes):
    """Mean and Cholesky factor of the covariance of the mass on a level's grid, each axis's
    variance widened by a twelfth of the squared node spacing where the mass is (a coarse grid
    sees a narrow direction as one row of nodes); ``None`` if degenerate."""
    if any(ax.n_lo or ax.n_hi for ax in axes):
        return None
    F = -np.reshape(to_numpy(getval(e)).astype(np.float64), [ax.x.size for ax in axes])
    L = _log_terms(F, axes, anp)
    w = np.exp(L - L[np.isfinite(L)].max())
    w /= w.sum()
    X = _grid(axes)
    mean = w.ravel() @ X
    cov = (X - mean).T @ ((X - mean) * w.ravel()[:, None])
    for i, ax in enumerate(axes):
        p = w.sum(axis=tuple(a for a in range(w.ndim) if a != i))
        gaps = np.diff(ax.x)
        if gaps.size:
            gap = float(0.5 * (p[:-1] + p[1:]) @ gaps / max(float(p.sum()), 1e-300))
            cov[i, i] += gap * gap / 12.0
    cov = 0.5 * (cov + cov.T)
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(chol)) or np.linalg.cond(cov) > 1e12:
        return None
    return mean, chol


def _cross_check(energy, boxes, log_z, error, tol):
    """``check=True``: scipy's adaptive cubature on ``boxes``, compared with ``log_z``."""
    from .scipy_check import adaptive  # a sibling module that imports this one

    logs, errs = [], []
    for box in boxes:
        try:
            other = adaptive(energy, box, tol=max(tol, 1e-12))
        except IntegrationError as exc:
            raise IntegrationError(
                f"`check=True`: the independent rule (scipy's adaptive cubature) could not "
                f"confirm log Z on the box {box}: {exc}", QuadratureResult(log_z, error, 0)
            ) from exc
        logs.append(other.log_z)
        errs.append(other.error)
    host = np.array(logs)
    other_z = float(host.max() + math.log(np.exp(host - host.max()).sum()))
    other_err = float(sum(math.exp(lz - other_z) * e for lz, e in zip(logs, errs)))
    if abs(other_z - log_z) > tol + error + other_err:
        raise IntegrationError(
            f"`check=True`: the double-exponential rule gives log Z = {log_z!r} (estimated "
            f"error {error:.3g}) but scipy's adaptive cubature gives {other_z!r} (estimated "
            f"error {other_err:.3g}): they differ by {abs(other_z - log_z):.3g} > `tol`={tol:g}"
            ". One of them missed part of the mass or a non-smooth feature; pass `points=` "
            "where the density has narrow modes, kinks or steps.",
            QuadratureResult(log_z, error, 0))
