r"""Fixed quadrature rules for the lines of the derivations, and per-node derivatives.

Two rules, both differentiable by autograd in whatever the integrand closes over:

* `legendre_rule`: the tensor Gauss-Legendre rule on a box
  \(\prod_i [l_i, h_i]\), for \(\int_\text{box} g(x)\, dx \approx \sum_j w_j g(x_j)\). The models
  of the derivations have light tails (Gaussian or quartic) and their boxes are checked to leave
  out less than \(10^{-16}\) of the mass (`check_faces`, `gaussian_tail_mass`), so
  the box integral equals the integral over \(\mathbb R^d\) to that accuracy.
* `hermite_rule`: the tensor Gauss-Hermite rule for expectations under
  \(\mathcal N(\mu, \Sigma)\): \(\mathbb E[g(x)] \approx \sum_j w_j g(\mu + \sqrt2 L t_j)\),
  \(L L^\top = \Sigma\); exact for polynomials of degree below twice the nodes per dimension.

Using the two rules for different lines of one chain makes consecutive lines independent
computations, not one sum rearranged.
"""

from __future__ import annotations

import functools
import math

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.differential_operators import make_jvp_reversemode
from scipy.special import ndtr

from .. import partition as _partition
from .._backend import logsumexp, to_numpy

#: Largest density, relative to the peak on the grid, allowed on the faces of a box.
FACE_RATIO = 1e-16


class Rule:
    """Nodes ``x`` of shape ``(N, d)`` and weights ``w`` of shape ``(N,)`` (NumPy constants)."""

    __slots__ = ("x", "w", "what")

    def __init__(self, x, w, what):
        self.x, self.w, self.what = x, w, what

    def integrate(self, values):
        r"""\(\sum_j w_j v_j\) for ``values`` of shape ``(N,)`` or ``(N, k)``."""
        return anp.dot(self.w, values)

    def log_integrate_exp(self, log_values):
        r"""\(\log \sum_j w_j e^{l_j}\), without overflow."""
        return logsumexp(np.log(self.w) + log_values)


@functools.lru_cache(maxsize=32)
def _leggauss(n):
    return np.polynomial.legendre.leggauss(n)


@functools.lru_cache(maxsize=32)
def _hermgauss(n):
    return np.polynomial.hermite.hermgauss(n)


@functools.lru_cache(maxsize=64)
def _legendre(bounds, n):
    t, w = _leggauss(n)
    axes, weights = [], []
    for lo, hi in bounds:
        axes.append(0.5 * (hi - lo) * t + 0.5 * (hi + lo))
        weights.append(0.5 * (hi - lo) * w)
    grid = np.meshgrid(*axes, indexing="ij")
    x = np.stack([g.ravel() for g in grid], axis=1)
    wgrid = np.meshgrid(*weights, indexing="ij")
    wt = np.prod(np.stack([g.ravel() for g in wgrid], axis=1), axis=1)
    x.setflags(write=False)
    wt.setflags(write=False)
    return x, wt


def legendre_rule(bounds, n):
    """Tensor Gauss-Legendre rule with ``n`` nodes per dimension on the box ``bounds``."""
    key = tuple((float(lo), float(hi)) for lo, hi in bounds)
    x, w = _legendre(key, int(n))
    box = " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in key)
    return Rule(x, w, f"{n}-node Gauss-Legendre per axis on {box}")


def hermite_rule(mean, cov, n):
    r"""Tensor Gauss-Hermite rule, ``n`` nodes per dimension, for expectations under
    \(\mathcal N(\text{mean}, \text{cov})\) (weights sum to one)."""
    mean = np.asarray(mean, dtype=np.float64)
    d = mean.shape[0]
    t, w = _hermgauss(int(n))
    grid = np.meshgrid(*([t] * d), indexing="ij")
    tt = np.stack([g.ravel() for g in grid], axis=1)
    wgrid = np.meshgrid(*([w] * d), indexing="ij")
    wt = np.prod(np.stack([g.ravel() for g in wgrid], axis=1), axis=1) / math.pi ** (d / 2)
    chol = np.linalg.cholesky(np.asarray(cov, dtype=np.float64))
    x = mean + math.sqrt(2.0) * tt @ chol.T
    return Rule(x, wt, f"{n}-node Gauss-Hermite per axis")


def param_jacobian(family, theta, x):
    r"""\(J_{jk} = \partial E_\theta(x_j) / \partial \theta_k\), shape ``(N, K)``.

    One Jacobian-vector product per parameter (reverse over reverse), not one pass per node.
    """
    jvp = make_jvp_reversemode(lambda th: family(th)(x))(theta)
    k = to_numpy(theta).shape[0]
    return anp.stack([jvp(e) for e in np.eye(k)], axis=1)


def grad_x(fun, x):
    r"""Per-point gradient \(\nabla_x \phi(x_j)\), shape ``(N, d)``, of a per-point ``fun``."""
    return autograd.grad(lambda y: anp.sum(fun(y)))(x)


def hessian_diagonal(fun, x):
    r"""Per-point \(\partial^2 \phi / \partial x_i^2\), shape ``(N, d)``, of a per-point ``fun``
    (one reverse-over-reverse pass per dimension)."""
    d = to_numpy(x).shape[1]
    first = autograd.grad(lambda y: anp.sum(fun(y)))
    cols = [autograd.grad(lambda y, i=i: anp.sum(first(y)[:, i]))(x)[:, i] for i in range(d)]
    return anp.stack(cols, axis=1)


def face_points(bounds, n):
    """Points on the faces of the box: each coordinate in turn pinned to ``lo`` and ``hi``, the
    others on ``n`` Gauss-Legendre nodes."""
    key = tuple((float(lo), float(hi)) for lo, hi in bounds)
    d = len(key)
    faces = []
    for i in range(d):
        others = key[:i] + key[i + 1:]
        inner = _legendre(others, int(n))[0] if others else np.zeros((1, 0))
        for edge in key[i]:
            column = np.full((inner.shape[0], 1), edge)
            faces.append(np.concatenate([inner[:, :i], column, inner[:, i:]], axis=1))
    return np.concatenate(faces, axis=0)


def check_faces(what, log_g, bounds, n):
    r"""Raise ``ValueError`` if the unnormalized density \(e^{\log g}\) on the faces of the box
    exceeds ``FACE_RATIO`` times its largest value on the grid: the box would cut off mass."""
    inner = to_numpy(log_g(legendre_rule(bounds, n).x))
    face = to_numpy(log_g(face_points(bounds, n)))
    if np.any(np.isnan(inner)) or not np.any(np.isfinite(inner)):
        raise ValueError(f"{what}: the log density is NaN or nowhere finite on the grid")
    peak = float(np.max(inner))
    worst = float(np.max(face))
    if not math.isfinite(peak) or not worst - peak < math.log(FACE_RATIO):
        ratio = math.exp(min(worst - peak, 700.0)) if math.isfinite(worst - peak) else math.inf
        box = ", ".join(f"({lo:g}, {hi:g})" for lo, hi in bounds)
        raise ValueError(
            f"{what}: the box [{box}] is too small: the density on its faces is {ratio:.3g} of "
            f"its peak, must be < {FACE_RATIO:g} (mass would be cut off); widen `bounds`")


def gaussian_tail_mass(mean, cov, bounds):
    r"""Union bound on the mass of \(\mathcal N(\text{mean}, \text{cov})\) outside the box:
    \(\sum_i P(x_i < l_i) + P(x_i > h_i)\) from the exact marginals."""
    mean = np.asarray(mean, dtype=np.float64)
    sd = np.sqrt(np.diag(np.asarray(cov, dtype=np.float64)))
    total = 0.0
    for i, (lo, hi) in enumerate(bounds):
        total += float(ndtr((lo - mean[i]) / sd[i]) + ndtr(-(hi - mean[i]) / sd[i]))
    return total


#: Gauss-Hermite nodes per axis for expectations under Gaussian data, by dimension.
HERMITE_NODES = {1: 200, 2: 100, 3: 20}


def hermite_nodes(d):
    """Gauss-Hermite nodes per axis for a ``d``-dimensional Gaussian expectation."""
    return HERMITE_NODES.get(d, 8)


def problem_rules(problem):
    r"""The two rules of a [`Problem`][refebm.derivations.Problem]: Gauss-Legendre on the model's box
    (integrals \(\int_\text{box} g\, dx\)) and Gauss-Hermite under the data (expectations
    \(\mathbb E_{p_\text{data}}[g]\))."""
    model, data = problem.model, problem.data
    return (legendre_rule(model.bounds, model.nodes),
            hermite_rule(data.mean, data.cov, hermite_nodes(model.dim)))


def log_z_box(family, theta, rule):
    r"""\(\log Z(\theta) = \log \int_\text{box} e^{-E_\theta(x)} dx\) on ``rule``
    (differentiable in ``theta``)."""
    return rule.log_integrate_exp(-family(theta)(rule.x))


#: Absolute tolerance asked of [`refebm.partition.quadrature`][refebm.partition.quadrature.quadrature] for log Z.
LOG_Z_TOL = 1e-12


def log_z_whole_space(family, theta, d):
    r"""\(\log Z(\theta)\) over \(\mathbb R^d\) by [`refebm.partition.quadrature`][refebm.partition.quadrature.quadrature] (a
    double-exponential rule, independent of the box rules here; differentiable in ``theta``)."""
    return _partition.quadrature(family(theta), [(-np.inf, np.inf)] * d, tol=LOG_Z_TOL).log_z


def whole_space_what(d):
    """How `log_z_whole_space` computes log Z, for a chain's table."""
    return f"refebm.partition.quadrature over R^{d} (tol {LOG_Z_TOL:g})"
