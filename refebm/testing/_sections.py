r"""The law of a 1-D projection \(u^\top x\) of \(p \propto e^{-E}\) on a box (\(d = 2, 3\)).

``check_sampler`` tests random projections of a sampler's draws against the projected target.
For an energy on a finite box there is no closed form: the density of \(v = u^\top x\) is the
mass of \(p\) on the section of the box by the hyperplane \(u^\top x = v\), computed here by
quadrature on the section (a segment in 2-D, a convex polygon in 3-D) and integrated to a CDF
panel by panel, refined until two levels of the rule agree.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Callable, NamedTuple

import numpy as np

from .. import _validate as _v
from .._backend import to_numpy

__all__ = ["ProjectionCDF", "projection_law", "LegendreCDF", "gauss_legendre"]

_CHUNK = 2**16          # energy rows per call
_V_NODES = 8            # Gauss-Legendre nodes per panel in v (Legendre degree 7 per panel)

_S_NODES = 8            # Gauss-Legendre nodes per piece of a section direction
# The levels of the rule: (panels in v, pieces per section direction); each level has about
# 1.5 times the resolution of the one before, in v and along the section.
_LEVELS = {2: [(12, 1), (16, 2), (24, 3), (32, 4), (48, 6), (64, 8), (96, 12), (128, 16),
               (192, 24), (256, 32)],
           3: [(12, 1), (16, 2), (24, 3), (32, 4), (40, 5), (48, 6), (64, 8), (96, 12)]}
_TOL = {2: 1e-6, 3: 1e-5}
# The difference between two levels is about the coarser level's error; under-resolved levels
# have errors of either sign, so the finer one's error can be as large as the difference
# (measured: up to 0.7 times it on random 3-D Gaussians): ``error`` is twice the difference.
_SAFETY = 2.0


class ProjectionCDF(NamedTuple):
    """The CDF of \\(u^\\top x\\) under \\(p \\propto e^{-E}\\) on a box.

    Attributes
    ----------
    cdf : callable
        ``cdf(t)``: \\(F_u(t) = P(u^\\top x \\le t)\\), vectorized over ``t`` (any shape), in
        \\([0, 1]\\), 0 for ``t <= lo`` and 1 for ``t >= hi``.
    error : float
        An estimate of \\(\\sup_t |F_u(t) - \\hat F_u(t)|\\) (see ``projection_law``).
    lo, hi : float
        The range of \\(u^\\top x\\) over the box.
    log_z : float
        The quadrature's \\(\\log \\int_{\\text{box}} e^{-E(x)}\\,dx\\).
    """

    cdf: Callable
    error: float
    lo: float
    hi: float
    log_z: float


def projection_law(energy, bounds, u, *, log_z=None, tol=None, max_evaluations=4_000_000):
    r"""The CDF of the projection \(u^\top x\) of \(p(x) \propto e^{-E(x)}\) on a finite box.

    Parameters
    ----------
    energy : callable
        \(E\): ``energy(x) -> (n,)`` for ``x`` of shape ``(n, d)``; ``+inf`` marks points
        outside the support, NaN raises.
    bounds : sequence of (lo, hi)
        The box, \(d = 2\) or \(3\) finite pairs.
    u : array ``(d,)``
        A unit vector (norm 1 within \(10^{-8}\); it is renormalized exactly).
    log_z : float, optional
        \(\log \int_{\text{box}} e^{-E}\) when known: the CDF is normalized by it instead of
        by the quadrature's own mass, and ``error`` includes their relative difference.
    tol : float, optional
        The target for ``error``: \(10^{-6}\) in 2-D and \(10^{-5}\) in 3-D by default.
    max_evaluations : int
        At most this many energy evaluations over all levels (default \(4 \cdot 10^6\)).

    Returns
    -------
    ProjectionCDF
        ``cdf``, ``error``, ``lo``, ``hi`` (the range of \(u^\top x\) on the box) and the
        quadrature's ``log_z``.

    Raises
    ------
    ValueError
        Bad arguments; an energy that returns NaN, ``-inf`` or a wrong shape; no mass at any
        node.

    Math
    ----
    For \(v = u^\top x\) with \(\|u\| = 1\) the coarea formula gives the density
    (D1, D5: the normalizer is the box integral of \(e^{-E}\))

    \[
    q(v) = \frac{1}{Z} \int_{\{x \in B:\ u^\top x = v\}} e^{-E(x)}\, dS(x),
    \qquad F_u(t) = \int_{lo}^{t} q(v)\, dv,
    \]

    with \(dS\) the \((d-1)\)-dimensional measure of the section. The section's vertices move
    linearly in \(v\) between the sorted corner projections \(u^\top c\), where its size has
    kinks, so \(v\) is cut there first, each gap into panels (in proportion to its length) of
    8 Gauss-Legendre nodes. In 2-D the section is the chord \(\{v u + s w\}\), \(w \perp u\),
    with composite Gauss-Legendre in \(s\). In 3-D it is the convex polygon where the plane
    cuts the box's 12 edges; with \((u, e_1, e_2)\) orthonormal, \(x = v u + \alpha e_1 +
    \beta e_2\), \(dS = d\alpha\, d\beta\), composite Gauss-Legendre in \(\beta\) along each
    chord and in \(\alpha\) between cuts at the vertices (where the chord's ends have kinks)
    and at points equally spaced along the perimeter (so a steep side, whose chord end sweeps
    fast, gets narrow pieces). Per panel, \(q\) at the nodes gives its degree-7 Legendre
    interpolant, integrated exactly to the CDF. Energies are shifted by their minimum on each
    rule's nodes before \(e^{-E}\).

    **Levels and stopping rule.** The rule is refined through levels, each with about 1.25
    to 1.5 times the panels in \(v\) and the pieces per section direction of the one before.
    The error of a level is estimated by twice \(\max |F_\ell - F_{\ell-1}|\) over the panel
    ends of both levels, plus the Legendre tail \(\sum_{\text{panels}} h\,(|c_6| + |c_7|)\)
    of level \(\ell\) (which covers the CDF between panel ends); twice, because two
    under-resolved levels err with either sign, and the finer one's error has been measured
    up to 0.7 times their difference. Refinement stops at the first level \(\ell \ge 2\) whose
    estimate is \(\le\) ``tol`` and whose previous difference was within ``tol`` too, so
    three levels agree (two coarse levels that agree by coincidence after a large difference,
    as both can see a narrow mixture component alike, do not end it), or when the next level
    would take the energy evaluations past ``max_evaluations``; then ``error`` uses the larger of the
    last two differences and a ``RuntimeWarning`` gives it. On a smooth, resolved energy the
    estimate (about the error of the coarser level) overstates the error; a mode narrower than
    the node spacing makes the levels disagree, and ``error`` is large. A feature between the
    nodes of every level cannot be seen by any rule. The rule is not adaptive: its nodes fill
    the box evenly, so a box many times wider than the law's narrowest direction within a
    section (a strongly correlated 3-D target on a generous box) needs more than the default
    budget, and says so.

    **Measured** by ``benchmarks/bench_projection_law.py`` (closed-form projected CDFs;
    random covariances with condition numbers 1 to 30, boxes 6 to 9 standard deviations
    beyond the mass, random directions): over 9,000 runs (2,000 2-D Gaussians and 2,000 2-D
    two-component mixtures, 500 3-D Gaussians, each at ``tol`` 1e-4 and the default), no
    returned ``error`` failed to bound the true sup error without a warning (the worst ratio of
    true to stated error was 0.05 for 2-D Gaussians, 0.08 for mixtures, 0.87 in 3-D). 2-D
    runs took 5 to 25 ms (median), at most 0.2 s, and warned in 40 of the 8,000; 3-D runs took
    0.36 s (median), at most 0.7 s, and ran out of budget (and warned) in 103 of 500 at
    1e-4 and 235 of 500 at the default 1e-5: the even node layout is costly for correlated
    3-D laws on wide boxes.

    Examples
    --------
    The uniform law on the unit square, projected on the diagonal: \(P(x + y \le 1/2) = 1/8\).

    >>> import numpy as np
    >>> law = projection_law(lambda x: np.zeros(len(x)), [(0, 1), (0, 1)],
    ...                      np.array([1.0, 1.0]) / np.sqrt(2))
    >>> print(round(float(law.cdf(0.5 / np.sqrt(2))), 12), law.error < 1e-10)
    0.125 True
    """
    energy, box, u, log_z, tol, max_evaluations = _projection_law_iv(
        energy, bounds, u, log_z, tol, max_evaluations)
    d = box.shape[0]
    lo, hi = _projection_range(box, u)
    tol = _TOL[d] if tol is None else tol
    laws, diffs, used, converged = [], [], 0, False
    for n_panels, pieces in _LEVELS[d]:
        if laws and used + _rule_size(box, u, lo, hi, n_panels, pieces) > max_evaluations:
            break
        rule = _section_rule(box, u, lo, hi, n_panels, pieces, _S_NODES)
        used += rule.points.shape[0]
        laws.append(_level_cdf(energy, rule))
        if len(laws) >= 2:
            diffs.append(_sup_difference(laws[-1], laws[-2]))
        converged = _converged(diffs, laws[-1].tail, tol)
        if converged:
            break
    law = laws[-1]
    # converged: the last difference (the coarser level's error); not converged: the larger
    # of the last two, since the last one alone may be small by coincidence
    error = _SAFETY * (diffs[-1] if converged else max(diffs[-2:], default=0.5)) + law.tail
    scale = 1.0
    if log_z is not None:
        scale = math.exp(law.log_mass - log_z)
        error += abs(scale - 1.0)
    if not error <= tol:
        warnings.warn(f"projection_law: the CDF error estimate {error:.3g} is above `tol` = "
                      f"{tol:g} after {used} energy evaluations (the energy has features "
                      f"narrower than the rule's nodes, or `log_z` disagrees with the "
                      f"quadrature's mass); raise `max_evaluations` or `tol`",
                      RuntimeWarning, stacklevel=2)

    def cdf(t):
        t = np.asarray(t, dtype=np.float64)
        return np.where(t >= hi, 1.0, np.clip(scale * law(t), 0.0, 1.0))

    return ProjectionCDF(cdf, float(error), float(lo), float(hi), float(law.log_mass))


# -- steps ---------------------------------------------------------------------------------------

def _projection_law_iv(energy, bounds, u, log_z, tol, max_evaluations):
    _v.function("energy", energy)
    box = _v.bounds("bounds", bounds)
    if len(box) not in (2, 3):
        raise ValueError(f"`bounds` must have 2 or 3 (lo, hi) pairs (dimensions), got {len(box)}")
    box = np.asarray(box, dtype=np.float64)
    if not np.all(np.isfinite(box)):
        raise ValueError(f"`bounds` must be finite (a box), got {box.tolist()}")
    d = box.shape[0]
    u = np.asarray(_v.real_array("u", u, shape=(d,)), dtype=np.float64)
    norm = float(np.linalg.norm(u))
    if abs(norm - 1.0) > 1e-8:
        raise ValueError(f"`u` must be a unit vector (norm 1 within 1e-8), got norm {norm!r}")
    if log_z is not None:
        _v.scalar("log_z", log_z)
        log_z = float(log_z)
    if tol is not None:
        _v.tolerance("tol", tol)
        tol = float(tol)
    max_evaluations = _v.integer("max_evaluations", max_evaluations, minimum=1)
    return energy, box, u / norm, log_z, tol, max_evaluations


def _projection_range(box, u):
    """The range of \\(u^\\top x\\) on the box: \\(\\sum_i \\min\\) (\\(\\max\\)) of
    \\(u_i lo_i, u_i hi_i\\)."""
    ends = box * u[:, None]
    return float(np.sum(np.min(ends, axis=1))), float(np.sum(np.max(ends, axis=1)))


def _corners(box):
    return np.array(list(itertools.product(*box)), dtype=np.float64)        # (2^d, d)


class _Rule(NamedTuple):
    edges: np.ndarray       # (P + 1,) panel ends in v
    points: np.ndarray      # (N, d) section nodes
    weights: np.ndarray     # (N,) section weights (measure of the section)
    owner: np.ndarray       # (N,) which v-node (0 .. P * 8 - 1) each point belongs to


def _box_edges(d):
    """The box's edges as pairs of corner indices (corners differing in one coordinate)."""
    return [(i, j) for i in range(2**d) for j in range(i + 1, 2**d) if bin(i ^ j).count("1") == 1]


def _crossed_edges(proj, v):
    """The edges whose ends project on both sides of ``v`` (the edges the section cuts)."""
    d = int(round(math.log2(proj.size)))
    return np.array([(i, j) for i, j in _box_edges(d)
                     if min(proj[i], proj[j]) < v < max(proj[i], proj[j])])


def _panel_edges(box, u, lo, hi, n_panels):
    """Panel ends: the sorted corner projections (where the section's size has kinks), each
    gap cut into equal panels, as many as its share of ``n_panels`` by length; at least one."""
    tiny = 1e-12 * (hi - lo)
    kept = [lo]
    for c in np.sort(_corners(box) @ u):
        if lo + tiny < c < hi - tiny and c > kept[-1] + tiny:
            kept.append(float(c))
    kept.append(hi)
    breaks = np.array(kept)
    edges = [breaks[:1]]
    for a, b in zip(breaks[:-1], breaks[1:]):
        k = max(1, int(round(n_panels * (b - a) / (hi - lo))))
        edges.append(np.linspace(a, b, k + 1)[1:])
    return breaks, np.concatenate(edges)


def gauss_legendre(a, b, pieces, m):
    """Composite Gauss-Legendre on [a, b] (arrays broadcast): nodes and weights, last axis."""
    g, w = np.polynomial.legendre.leggauss(m)
    cuts = np.linspace(0.0, 1.0, pieces + 1)
    t = ((cuts[:-1, None] + cuts[1:, None]) / 2 + (cuts[1:, None] - cuts[:-1, None]) / 2 * g)
    wt = ((cuts[1:, None] - cuts[:-1, None]) / 2 * w)
    t, wt = t.ravel(), wt.ravel()                                   # on [0, 1]
    a, b = np.asarray(a)[..., None], np.asarray(b)[..., None]
    return a + (b - a) * t, (b - a) * wt


def _section_rule(box, u, lo, hi, n_panels, pieces, m):
    d = box.shape[0]
    breaks, edges = _panel_edges(box, u, lo, hi, n_panels)
    v_nodes, _ = gauss_legendre(edges[:-1], edges[1:], 1, _V_NODES)    # (P, 8)
    v_flat = v_nodes.ravel()
    owner_ids = np.arange(v_flat.size)
    build = _segments if d == 2 else _polygons
    pts, wts, own = build(box, u, breaks, v_flat, owner_ids, pieces, m)
    return _Rule(edges, pts, wts, own)


def _rule_size(box, u, lo, hi, n_panels, pieces):
    """The number of nodes ``_section_rule`` will place, without placing them."""
    breaks, edges = _panel_edges(box, u, lo, hi, n_panels)
    per_panel = np.histogram(0.5 * (edges[:-1] + edges[1:]), bins=breaks)[0] * _V_NODES
    if box.shape[0] == 2:
        return int(np.sum(per_panel)) * pieces * _S_NODES
    proj = _corners(box) @ u
    sides = np.array([len(_crossed_edges(proj, 0.5 * (a + b)))
                      for a, b in zip(breaks[:-1], breaks[1:])])
    alpha_pieces = sides - 1 + 3 * pieces
    return int(np.sum(per_panel * alpha_pieces)) * _S_NODES * pieces * _S_NODES


def _chord(box, p0, w):
    """The segment \\(\\{p_0 + s w\\} \\cap\\) box: ``(s_lo, s_hi)`` for points ``p0 (..., d)`` and
    a unit direction ``w (d,)`` (empty chords come back with ``s_hi = s_lo``; an axis with
    \\(w_i = 0\\) is skipped: the callers' points lie inside its slab)."""
    s_lo = np.full(p0.shape[:-1], -np.inf)
    s_hi = np.full(p0.shape[:-1], np.inf)
    for i in range(box.shape[0]):
        if w[i] == 0.0:
            continue
        a = (box[i, 0] - p0[..., i]) / w[i]
        b = (box[i, 1] - p0[..., i]) / w[i]
        s_lo = np.maximum(s_lo, np.minimum(a, b))
        s_hi = np.minimum(s_hi, np.maximum(a, b))
    return s_lo, np.maximum(s_hi, s_lo)


def _segments(box, u, breaks, v, ids, pieces, m):
    """2-D: the section is the chord \\(\\{v u + s w\\}\\), \\(w = (-u_2, u_1)\\); composite
    Gauss-Legendre in \\(s\\)."""
    w = np.array([-u[1], u[0]])
    p0 = v[:, None] * u
    s, ws = gauss_legendre(*_chord(box, p0, w), pieces, m)             # (K, M)
    pts = p0[:, None, :] + s[..., None] * w                         # (K, M, 2)
    own = np.broadcast_to(ids[:, None], s.shape)
    return pts.reshape(-1, 2), ws.ravel(), own.ravel()


def _polygons(box, u, breaks, v, ids, pieces, m):
    """3-D: the section is the convex polygon where the plane \\(u^\\top x = v\\) cuts the box's
    edges (fixed between two corner projections, each vertex linear in \\(v\\)). With
    \\((u, e_1, e_2)\\) orthonormal, \\(x = v u + \\alpha e_1 + \\beta e_2\\) and
    \\(dS = d\\alpha\\, d\\beta\\). The chord in \\(\\beta\\) at each \\(\\alpha\\) has ends linear
    in \\(\\alpha\\) between vertices, so \\(\\alpha\\) is cut at the vertices and at ``3 pieces``
    points equally spaced along the perimeter (a steep edge, whose chord end sweeps fast, gets
    narrow pieces), \\(\\beta\\) at ``pieces`` equal steps; ``m`` Gauss-Legendre nodes per piece."""
    corners = _corners(box)
    proj = corners @ u
    e1, e2 = np.linalg.svd(u[None, :])[2][1:]                      # an orthonormal plane basis
    n_perimeter = 3 * pieces
    pts, wts, own = [], [], []
    for a, b in zip(breaks[:-1], breaks[1:]):
        sel = (v > a) & (v < b)
        if not np.any(sel):
            continue
        cut = _crossed_edges(proj, 0.5 * (a + b))
        A, B = corners[cut[:, 0]], corners[cut[:, 1]]
        pa, pb = proj[cut[:, 0]], proj[cut[:, 1]]
        mid = A + ((0.5 * (a + b) - pa) / (pb - pa))[:, None] * (B - A)
        rel = mid - mid.mean(axis=0)
        order = np.argsort(np.arctan2(rel @ e2, rel @ e1))            # around the polygon
        A, B, pa, pb = A[order], B[order], pa[order], pb[order]
        vs = v[sel]
        k = vs.size
        verts = A + ((vs[:, None] - pa) / (pb - pa))[..., None] * (B - A)   # (k, nv, 3)
        alpha_v = verts @ e1                                                  # (k, nv)
        side = np.linalg.norm(np.roll(verts, -1, axis=1) - verts, axis=2)   # (k, nv)
        run = np.concatenate([np.zeros((k, 1)), np.cumsum(side, axis=1)], axis=1)
        target = (np.arange(n_perimeter) + 0.5) / n_perimeter * run[:, -1:]  # (k, Np)
        j = np.sum(run[:, None, 1:-1] <= target[..., None], axis=-1)          # side index
        frac = (target - np.take_along_axis(run, j, axis=1)) / np.maximum(
            np.take_along_axis(side, j, axis=1), np.finfo(float).tiny)
        a0 = np.take_along_axis(alpha_v, j, axis=1)
        a1 = np.take_along_axis(np.roll(alpha_v, -1, axis=1), j, axis=1)
        cuts = np.sort(np.concatenate([alpha_v, a0 + frac * (a1 - a0)], axis=1), axis=1)
        alpha, w_alpha = gauss_legendre(cuts[:, :-1], cuts[:, 1:], 1, m)    # (k, pieces', m)
        alpha, w_alpha = alpha.reshape(k, -1), w_alpha.reshape(k, -1)
        p0 = vs[:, None, None] * u + alpha[..., None] * e1                  # (k, Na, 3)
        beta, w_beta = gauss_legendre(*_chord(box, p0, e2), pieces, m)      # (k, Na, Nb)
        x = p0[:, :, None, :] + beta[..., None] * e2                        # (k, Na, Nb, 3)
        pts.append(x.reshape(-1, 3))
        wts.append((w_alpha[..., None] * w_beta).ravel())
        own.append(np.repeat(ids[sel], beta.shape[1] * beta.shape[2]))
    return np.concatenate(pts), np.concatenate(wts), np.concatenate(own)


def _energies(energy, x):
    out = []
    for i in range(0, x.shape[0], _CHUNK):
        block = x[i:i + _CHUNK]
        vals = energy(block)
        _v.energy_values("energy", vals, block.shape[0])
        out.append(np.asarray(to_numpy(vals), dtype=np.float64))
    return np.concatenate(out)


class LegendreCDF:
    """A CDF from a density known at 8 Gauss-Legendre nodes in each panel between ``edges``
    (``density`` of shape ``(P, 8)``, any positive scale): per panel the degree-7 Legendre
    interpolant, integrated exactly. ``mass`` is the density's integral (the CDF is normalized
    by it), ``coef`` the normalized density's Legendre coefficients per panel, ``h`` the panels'
    half-widths; outside the panels the CDF is 0 below and its total above."""

    def __init__(self, edges, density):
        gl, gw = np.polynomial.legendre.leggauss(_V_NODES)
        self.edges, self.h = edges, np.diff(edges) / 2.0
        self.mass = float(np.sum(density * gw * self.h[:, None]))
        if not self.mass > 0.0:
            raise ValueError("`energy` gives zero mass at every quadrature node in `bounds`")
        vander = np.polynomial.legendre.legvander(gl, _V_NODES - 1)
        self.coef = np.linalg.solve(vander, (density / self.mass).T).T       # (P, 8)
        self.integ = np.polynomial.legendre.legint(self.coef.T, lbnd=-1).T * self.h[:, None]
        panel_mass = np.polynomial.legendre.legval(1.0, self.integ.T)
        self.cum = np.concatenate([[0.0], np.cumsum(panel_mass)])

    def __call__(self, t):
        t = np.asarray(t, dtype=np.float64)
        e = self.edges
        k = np.clip(np.searchsorted(e, t, side="right") - 1, 0, e.size - 2)
        h = self.h[k]
        s = np.clip((t - (e[k] + h)) / h, -1.0, 1.0)
        out = self.cum[k] + np.polynomial.legendre.legval(s, np.moveaxis(self.integ[k], -1, 0),
                                                          tensor=False)
        return np.where(t <= e[0], 0.0, np.where(t >= e[-1], self.cum[-1], out))


class _PanelCDF(LegendreCDF):
    r"""The CDF of one level: the section masses ``rule.weights * g`` summed to the density at
    the v-nodes; ``tail``: \(\sum h (|c_6| + |c_7|)\) of the normalized density;
    ``log_mass``: \(\log \int_{\text{box}} e^{-E}\) (``g`` is \(e^{-(E - E_\min)}\))."""

    def __init__(self, rule, g, e_min):
        p = rule.edges.size - 1
        q = np.bincount(rule.owner, weights=rule.weights * g, minlength=p * _V_NODES)
        super().__init__(rule.edges, q.reshape(p, _V_NODES))
        self.log_mass = math.log(self.mass) - e_min              # log of the box integral
        self.tail = float(np.sum(self.h * (np.abs(self.coef[:, -1]) + np.abs(self.coef[:, -2]))))


def _level_cdf(energy, rule):
    """One level: the energy on the rule's nodes, shifted by its minimum, to a ``_PanelCDF``."""
    e_vals = _energies(energy, rule.points)
    finite = e_vals[np.isfinite(e_vals)]
    if finite.size == 0:
        raise ValueError("`energy` is +inf at every quadrature node in `bounds`: the box holds "
                         "no mass that the rule can see")
    e_min = float(np.min(finite))
    return _PanelCDF(rule, np.exp(-(e_vals - e_min)), e_min)


def _sup_difference(fine, coarse):
    """\\(\\max |F_\\text{fine} - F_\\text{coarse}|\\) over the panel ends of both rules."""
    t = np.union1d(fine.edges, coarse.edges)
    return float(np.max(np.abs(fine(t) - coarse(t))))


def _converged(diffs, tail, tol):
    """Stop after at least three levels when the last two levels differ by at most ``tol``
    (with the Legendre tail) and the two before them by at most ``tol`` as well: three levels
    agree. A coincidentally small difference between two coarse levels after a large one (a
    narrow component both coarse levels see alike) does not end the refinement."""
    if len(diffs) < 2:
        return False
    return _SAFETY * diffs[-1] + tail <= tol and diffs[-2] <= tol
