r"""Fixed composite Gauss-Legendre rules on a box, for population objectives (d <= 3).

A population objective is an integral against a known density, \(\int p(x)\, \ell(x)\, dx\),
whose integrand \(\ell\) may take either sign, so it is not a partition function; it is computed
here with a fixed tensor-product rule (differentiable by autograd through \(\ell\)), with two
guards: the density must hold its whole mass inside the box, and the rule with half the panels
must agree with the full rule.
"""

from __future__ import annotations

import warnings

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from .. import _validate as _v

_ORDER = 16
_DEFAULT_PANELS = {1: 64, 2: 16, 3: 4}


def box_rule(bounds, panels):
    """Nodes ``(N, d)`` and weights ``(N,)`` of the composite Gauss-Legendre rule on a box."""
    t, w = np.polynomial.legendre.leggauss(_ORDER)
    axes, weights = [], []
    for lo, hi in bounds:
        edges = np.linspace(lo, hi, panels + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[:-1] + edges[1:])
        axes.append((mid[:, None] + half[:, None] * t[None, :]).ravel())
        weights.append((half[:, None] * w[None, :]).ravel())
    grids = np.meshgrid(*axes, indexing="ij")
    wgrids = np.meshgrid(*weights, indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=1)
    wts = np.prod(np.stack([g.ravel() for g in wgrids], axis=1), axis=1)
    return nodes, wts


def box_iv(bounds, panels):
    """Checked finite bounds (at most 3 dimensions) and a panel count."""
    box = _v.bounds("bounds", bounds, max_dim=3)
    for i, (lo, hi) in enumerate(box):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(
                f"`bounds[{i}]` must be finite (truncate to a box that holds the mass), "
                f"got ({lo}, {hi})")
    if panels is None:
        panels = _DEFAULT_PANELS[len(box)]
    panels = _v.integer("panels", panels, minimum=2)
    return box, panels


def log_density_values(name, log_density, nodes):
    """``log_density(nodes)`` checked: shape ``(N,)``, no NaN, no ``+inf``."""
    values = log_density(nodes)
    host = np.asarray(getval(values))
    if host.shape != (nodes.shape[0],):
        raise ValueError(
            f"`{name}` must return shape ({nodes.shape[0]},) for {nodes.shape[0]} points, got "
            f"shape {host.shape}")
    if np.any(np.isnan(host)) or np.any(host == np.inf):
        raise ValueError(f"`{name}` returned NaN or +inf at some of the quadrature nodes")
    return values


def expectations(densities, integrand, bounds, panels, *, tol=1e-9):
    r"""\(\int p_j(x)\, \ell_j(x)\, dx\) for the log densities ``densities`` (name -> callable).

    ``integrand(nodes) -> dict name -> (N,)`` gives \(\ell_j\) at the nodes. The rule with half
    the panels must agree with the full rule to ``tol`` relative to ``max(1, |value|)`` on every
    expectation and every mass (else a ``RuntimeWarning`` with both values); each density must
    then integrate to 1 over the box to ``tol`` (else ``ValueError``: the box cuts off mass).
    Returns a dict name -> value (autograd-differentiable through ``integrand``).
    """
    results, masses = [], []
    for n_panels in (panels, max(panels // 2, 1)):
        nodes, wts = box_rule(bounds, n_panels)
        probs = {name: anp.exp(log_density_values(name, log_density, nodes))
                 for name, log_density in densities.items()}
        masses.append({k: float(np.sum(wts * getval(p))) for k, p in probs.items()})
        values = integrand(nodes)
        results.append({k: anp.sum(wts * probs[k] * values[k]) for k in densities})
    fine, coarse = results
    for k in densities:
        pairs = (("the mass of", masses[0][k], masses[1][k]),
                 ("the expectation under", float(getval(fine[k])), float(getval(coarse[k]))))
        for what, a, b in pairs:
            if abs(a - b) > tol * max(1.0, abs(a)):
                warnings.warn(
                    f"the quadrature of {what} `{k}` did not settle: {a!r} with {panels} "
                    f"panels, {b!r} with half as many; increase `panels`",
                    RuntimeWarning, stacklevel=3)
        if abs(masses[0][k] - 1.0) > tol:
            raise ValueError(
                f"`bounds` must hold the mass of `{k}`: its integral over the box is "
                f"{masses[0][k]!r}, not 1 to {tol:g}; widen the box (or check that `{k}` is "
                "normalized)")
    return fine
