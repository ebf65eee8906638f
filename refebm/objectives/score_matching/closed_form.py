r"""Closed-form score-matching estimators: Gaussians and exponential families (D15).

Convention: \(\log p_\theta = \theta^\top T(x) - A(\theta)\), i.e. \(E_\theta = -\theta^\top
T(x)\) (the lectures' \(f = \theta^\top T\)).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from autograd.tracer import getval

from ... import _validate as _v
from ..._backend import to_numpy
from ._common import _autograd_score_and_laplacian

__all__ = ["GaussianFit", "ExponentialFamilyFit", "score_matching_gaussian",
           "score_matching_exponential_family"]


# ----------------------------------------------------------------------------------------
# closed-form estimators
# ----------------------------------------------------------------------------------------

class GaussianFit(NamedTuple):
    """Mean ``(d,)`` and covariance ``(d, d)`` of a Gaussian fit."""

    mean: np.ndarray
    cov: np.ndarray


class ExponentialFamilyFit(NamedTuple):
    r"""The score-matching estimate \(\hat\theta = -A^{-1} b\) and its quadratic objective.

    ``A`` ``(k, k)`` and ``b`` ``(k,)`` define \(J(\theta) = \tfrac12 \theta^\top A \theta +
    b^\top \theta\); ``loss`` is \(J(\hat\theta) = \tfrac12 b^\top \hat\theta\).
    """

    theta: np.ndarray
    A: np.ndarray
    b: np.ndarray
    loss: float


def score_matching_gaussian(x):
    r"""The score-matching estimate of a Gaussian: the sample mean and the 1/n covariance.

    Parameters
    ----------
    x : array, shape (n, d)
        Data, ``n > d`` for a non-singular covariance.

    Returns
    -------
    GaussianFit
        ``mean`` \(= \bar x\), ``cov`` \(= \frac1n \sum_i (x_i - \bar x)(x_i - \bar x)^\top\),
        the same as the maximum-likelihood estimate.

    Math
    ----
    Hyvarinen (2005), section 3.1. For \(\log p = -\tfrac12 (x - \mu)^\top \Lambda (x - \mu) +
    c\): \(s = -\Lambda (x - \mu)\), \(\operatorname{tr} H = -\operatorname{tr} \Lambda\), so
    \(J = \tfrac12 \overline{(x - \mu)^\top \Lambda^2 (x - \mu)} - \operatorname{tr}\Lambda\).
    \(\partial_\mu J = -\Lambda^2 (\bar x - \mu) = 0\) gives \(\mu = \bar x\), and
    \(\partial_\Lambda J = \tfrac12 (\Lambda S + S \Lambda) - I = 0\) gives \(\Lambda = S^{-1}\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives.score_matching import score_matching_gaussian
    >>> fit = score_matching_gaussian(np.array([[0.0], [2.0]]))
    >>> fit.mean.tolist(), fit.cov.tolist()
    ([1.0], [[1.0]])
    """
    x = to_numpy(_v.points("x", x))
    n, d = x.shape
    if n < 2:
        raise ValueError(f"`x` must have at least 2 points for a covariance, got shape {x.shape}")
    mean = x.mean(axis=0)
    centered = x - mean
    return GaussianFit(mean, centered.T @ centered / n)


def _stats_derivatives(T, x):
    """Jacobian ``(n, k, d)`` and Laplacian ``(n, k)`` of ``T`` by autograd."""
    n, d = x.shape
    t0 = np.asarray(getval(T(x)))
    if t0.ndim != 2 or t0.shape[0] != n:
        raise ValueError(f"`T` must return shape ({n}, k), got shape {t0.shape}")
    k = t0.shape[1]
    jac, lap = [], []
    for j in range(k):
        grad_tj, lap_tj = _autograd_score_and_laplacian(lambda y, j=j: -T(y)[:, j], x)
        jac.append(grad_tj)  # the "score" of the energy -T_j is grad T_j
        lap.append(lap_tj)
    return np.stack(jac, axis=1), np.stack(lap, axis=1)


def score_matching_exponential_family(x, *, T=None, grad_T=None, laplacian_T=None, rcond=1e-12):
    r"""Closed-form score matching for \(\log p_\theta(x) = \theta^\top T(x) - A(\theta)\).

    Parameters
    ----------
    x : array, shape (n, d)
        Data (NumPy).
    T : callable, keyword-only
        Sufficient statistics ``T(x) -> (n, k)``; its Jacobian and Laplacian come from autograd.
        Give either ``T`` alone, or both of:
    grad_T : callable
        ``grad_T(x) -> (n, k, d)``, entry ``[i, j, l]`` \(= \partial T_j(x_i) / \partial x_l\).
    laplacian_T : callable
        ``laplacian_T(x) -> (n, k)``, entry ``[i, j]`` \(= \Delta T_j(x_i)\).
    rcond : float
        ``A`` must have a reciprocal condition number above ``rcond`` (else the parameters are
        not identified by score matching on these data and ``ValueError`` is raised).

    Returns
    -------
    ExponentialFamilyFit
        ``theta`` (the minimizer), ``A``, ``b``, ``loss``.

    Math
    ----
    Hyvarinen (2007), D15. The score is \(s_\theta = J_T^\top \theta\) (\(J_T\) the \(k \times
    d\) Jacobian of \(T\)) and \(\operatorname{tr} \nabla_x s_\theta = \theta^\top \Delta T\),
    so the objective is quadratic:

    \[
        J(\theta) = \tfrac12 \theta^\top A \theta + b^\top \theta, \quad
        A = \frac1n \sum_i J_T(x_i) J_T(x_i)^\top, \quad b = \frac1n \sum_i \Delta T(x_i),
    \]

    minimized by \(\hat\theta = -A^{-1} b\). A base measure \(h(x)\) is not included
    (\(\log h = 0\)).

    Examples
    --------
    A 1-D Gaussian, \(T = (x, x^2)\), \(\theta = (\mu / v, -1 / (2v))\); data with mean 1 and
    1/n variance 1 give \(\theta = (1, -\tfrac12)\):

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from refebm.objectives.score_matching import score_matching_exponential_family
    >>> T = lambda x: anp.concatenate([x, x**2], axis=1)
    >>> fit = score_matching_exponential_family(np.array([[0.0], [2.0]]), T=T)
    >>> np.round(fit.theta, 12).tolist()
    [1.0, -0.5]
    """
    x = to_numpy(_v.points("x", x))
    dtype = _v.result_dtype(x)
    x = x.astype(np.float64)   # computed in float64, returned in the caller's dtype
    n, d = x.shape
    if T is not None:
        if grad_T is not None or laplacian_T is not None:
            raise TypeError("give either `T` or both `grad_T` and `laplacian_T`, not both kinds")
        _v.function("T", T)
        jac, lap = _stats_derivatives(T, x)
    else:
        if grad_T is None or laplacian_T is None:
            raise TypeError(
                "give either `T` (derivatives by autograd) or both `grad_T` and `laplacian_T`")
        _v.function("grad_T", grad_T)
        _v.function("laplacian_T", laplacian_T)
        jac = to_numpy(_v.real_array("grad_T(x)", grad_T(x), ndim=3))
        if jac.shape[0] != n or jac.shape[2] != d:
            raise ValueError(f"`grad_T` must return shape ({n}, k, {d}), got shape {jac.shape}")
        lap = to_numpy(_v.real_array("laplacian_T(x)", laplacian_T(x), ndim=2))
        if lap.shape != jac.shape[:2]:
            raise ValueError(
                f"`laplacian_T` must return shape {jac.shape[:2]} to match `grad_T`, got shape "
                f"{lap.shape}")
    _v.tolerance("rcond", rcond)
    a_mat = np.einsum("ijl,iml->jm", jac, jac) / n
    b_vec = lap.mean(axis=0)
    eig = np.linalg.eigvalsh(a_mat)
    if eig[0] <= rcond * max(eig[-1], np.finfo(float).tiny):
        raise ValueError(
            "the score-matching matrix A = mean J_T J_T^T is singular on these data "
            f"(eigenvalues {eig[0]:.3g} .. {eig[-1]:.3g}): the parameters are not identified")
    theta = -np.linalg.solve(a_mat, b_vec)
    loss = float(0.5 * b_vec @ theta)
    if dtype == "float32":
        return ExponentialFamilyFit(theta.astype(np.float32), a_mat.astype(np.float32),
                                    b_vec.astype(np.float32), np.float32(loss))
    return ExponentialFamilyFit(theta, a_mat, b_vec, loss)
