r"""The multivariate Gaussian with full covariance, as an exponential family and an EBM (D1, D12).

With mean \(\mu\), covariance \(\Sigma\) and precision \(P = \Sigma^{-1}\),

\[
    \theta = (P\mu,\ -\tfrac12 \operatorname{vec} P), \qquad
    T(x) = (x,\ \operatorname{vec}(x x^\top)), \qquad h = 1,

    E(x) = -\theta\cdot T(x) = \tfrac12 x^\top P x - \mu^\top P x
    = \tfrac12 (x-\mu)^\top P (x-\mu) - \tfrac12 \mu^\top P \mu,

    A(\theta) = \tfrac12 \mu^\top P \mu + \tfrac12 \log\det\Sigma + \tfrac d2 \log 2\pi .
\]

So this energy is the familiar quadratic \(\tfrac12 (x-\mu)^\top P (x-\mu)\) minus the
constant \(\tfrac12 \mu^\top P \mu\), and that constant sits in \(\log Z = A\); the
log density is the same either way. (The lectures' \(f = -E\).)
"""

from __future__ import annotations

import math

import numpy as np
from autograd.tracer import getval

from .. import _validate as v
from .._backend import LOG_2PI, array_namespace, concat, to_numpy
from ._expfam import ExponentialFamily, _host

__all__ = ["Gaussian"]


def _sym(m):
    r"""The symmetric part \((M + M^\top)/2\) of a square matrix."""
    return 0.5 * (m + m.T)


def _mahalanobis(r, cov, xp):
    r"""\(r_i^\top \Sigma^{-1} r_i\) for the rows of ``r`` (n, d)."""
    return xp.sum(r * xp.linalg.solve(cov, r.T).T, axis=1)


def _gaussian_log_density(x, mean, cov, xp):
    r"""\(\log N(x; \mu, \Sigma)\) for the rows of ``x``, centred so that it never cancels."""
    d = int(getval(mean).shape[0])
    _, logdet = xp.linalg.slogdet(cov)
    return -0.5 * _mahalanobis(x - mean, cov, xp) - 0.5 * logdet - 0.5 * d * LOG_2PI


def _gaussian_score(x, mean, cov, xp):
    r"""\(-\Sigma^{-1}(x - \mu)\) for the rows of ``x``."""
    return -xp.linalg.solve(cov, (x - mean).T).T


def _outer(a, b, xp):
    """Row-wise outer products: ``(n, d), (n, d) -> (n, d, d)``."""
    return xp.expand_dims(a, axis=2) * xp.expand_dims(b, axis=1)


class Gaussian(ExponentialFamily):
    r"""The Gaussian \(N(\mu, \Sigma)\) on \(\mathbb{R}^d\), any \(d \ge 1\).

    Parameters
    ----------
    mean : array of shape (d,)
    cov : array of shape (d, d)
        Symmetric positive definite. Only its symmetric part enters the math, so autograd's
        gradient with respect to ``cov`` is the symmetric gradient described below.

    Notes
    -----
    Points are ``x`` of shape ``(n, d)``. The energy is the exponential-family one,
    \(E(x) = \tfrac12 x^\top P x - \mu^\top P x\), and ``log_partition()`` is
    \(A = \tfrac12 \mu^\top P\mu + \tfrac12\log\det\Sigma + \tfrac d2\log 2\pi\); this
    \(E\) differs from \(\tfrac12 (x-\mu)^\top P (x-\mu)\) by the constant
    \(\tfrac12\mu^\top P\mu\), which is in \(A\). ``log_prob`` is computed in the
    centred form \(-\tfrac12 (x-\mu)^\top P (x-\mu) - \tfrac12\log\det\Sigma - \tfrac d2
    \log 2\pi\), which equals ``-energy - log_partition`` up to rounding and does not lose
    digits when \(\mu^\top P \mu\) is large.

    Natural parameters \(\theta = (P\mu, -\tfrac12\operatorname{vec}P)\) (length
    \(d + d^2\), row-major ``vec``), \(T(x) = (x, \operatorname{vec} xx^\top)\);
    \(A(\theta)\) uses the symmetric part of the matrix block, so
    \(\nabla_\theta A = \mathbb{E}[T] = (\mu, \operatorname{vec}(\Sigma + \mu\mu^\top))\).

    Gradients with respect to ``mean`` and ``cov`` (in addition to the natural ones):

    - [`grad_energy_mean`][refebm.families.Gaussian.grad_energy_mean] \(= -Px\), [`grad_log_partition_mean`][refebm.families.Gaussian.grad_log_partition_mean] \(= P\mu\);
    - [`grad_energy_cov`][refebm.families.Gaussian.grad_energy_cov] \(= -\tfrac12 uu^\top + \tfrac12(vu^\top + uv^\top)\) with
      \(u = Px\), \(v = P\mu\); [`grad_log_partition_cov`][refebm.families.Gaussian.grad_log_partition_cov]
      \(= \tfrac12 P - \tfrac12 vv^\top\).

    A ``cov`` gradient \(G\) is the symmetric matrix with \(dE = \sum_{ij} G_{ij}
    d\Sigma_{ij}\) for every symmetric perturbation \(d\Sigma\).

    Energy, log density, score, log-partition, natural parameters, mean statistics and
    [`from_noise`][refebm.families.Gaussian.from_noise] work in any array-API namespace (the one of ``mean`` and ``cov``);
    ``sample`` returns NumPy arrays.

    Math
    ----
    D1: \(\int e^{-\frac{1}{2}(x-\mu)^\top P (x-\mu)}dx = (2\pi)^{d/2}\det\Sigma^{1/2}\)
    (the lectures' \(\sqrt{2\pi\sigma^2}\) for \(d = 1\)); D12: the score is
    \(\nabla_x\log p(x) = -P(x-\mu)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.families import Gaussian
    >>> g = Gaussian(np.array([1.0, 0.0]), np.array([[2.0, 0.0], [0.0, 0.5]]))
    >>> round(float(g.log_partition() - np.log(2 * np.pi)), 12)   # mu'P mu / 2 + logdet / 2
    0.25
    >>> g.score(np.array([[1.0, 1.0]])).tolist()                     # -P (x - mu)
    [[-0.0, -2.0]]
    """

    def __init__(self, mean, cov):
        xp = array_namespace(mean, cov)
        self._xp = xp
        self.mean = v.real_array("mean", mean, xp=xp, ndim=1)
        d = int(getval(self.mean).shape[0])
        self.cov = v.positive_definite("cov", cov, size=d, xp=xp)
        self.dim = d
        self.event_shape = (d,)
        self._cov = _sym(self.cov)

    @classmethod
    def from_natural(cls, theta):
        r"""The Gaussian with natural parameters
        ``theta`` = \((P\mu, -\frac12\operatorname{vec}P)\)."""
        xp = array_namespace(theta)
        theta = v.real_array("theta", theta, xp=xp, ndim=1)
        m = int(getval(theta).shape[0])
        d = int(round((math.sqrt(1 + 4 * m) - 1) / 2))
        if d < 1 or d + d * d != m:
            raise ValueError(
                f"`theta` must have length d + d^2 for some d >= 1, got length {m}")
        eta, big = theta[:d], xp.reshape(theta[d:], (d, d))
        cov = _sym(xp.linalg.inv(-(big + big.T)))
        return cls(cov @ eta, cov)

    def quadrature_points(self):
        """The mean, one location per axis: where [`quadrature`][refebm.partition.quadrature.quadrature]
        cuts the box, so a Gaussian far from the origin or very narrow is resolved. One array
        of shape ``(1,)`` per axis, in the dtype of the mean (as a mixture's)."""
        mean = np.asarray(to_numpy(getval(self.mean)))
        return [mean[i:i + 1].copy() for i in range(mean.shape[0])]

    @property
    def precision(self):
        r"""The precision matrix \(P = \Sigma^{-1}\) (symmetrized)."""
        return _sym(self._xp.linalg.inv(self._cov))

    @property
    def natural_params(self):
        xp, d = self._xp, self.dim
        prec = self.precision
        return concat([prec @ self.mean, xp.reshape(-0.5 * prec, (d * d,))], axis=0, xp=xp)

    _natural_rule = "-(M + M^T) positive definite for the matrix block M"

    def _in_natural_domain(self, t):
        d = self.dim
        big = np.reshape(t[d:], (d, d))
        try:
            np.linalg.cholesky(-(big + big.T))
        except np.linalg.LinAlgError:
            return False
        return True

    def _support(self, x):
        return self._xp.isfinite(x[:, 0])   # all of R^d (points are validated finite)

    def _stats(self, x):
        xp, d = self._xp, self.dim
        n = int(getval(x).shape[0])
        return concat([x, xp.reshape(_outer(x, x, xp), (n, d * d))], axis=1, xp=xp)

    def _log_h(self, x):
        return self._xp.zeros_like(x[:, 0])

    def _A(self, theta):
        xp, d = self._xp, self.dim
        eta, big = theta[:d], xp.reshape(theta[d:], (d, d))
        prec = -(big + big.T)
        _, logdet_prec = xp.linalg.slogdet(prec)
        return (0.5 * xp.sum(eta * xp.linalg.solve(prec, xp.reshape(eta, (d, 1)))[:, 0])
                - 0.5 * logdet_prec + 0.5 * d * LOG_2PI)

    def _half_mu_p_mu(self):
        xp, d = self._xp, self.dim
        return 0.5 * _mahalanobis(xp.reshape(self.mean, (1, d)), self._cov, xp)[0]

    def _energy(self, x):
        xp = self._xp
        return 0.5 * _mahalanobis(x - self.mean, self._cov, xp) - self._half_mu_p_mu()

    def _score(self, x):
        return _gaussian_score(x, self.mean, self._cov, self._xp)

    def log_partition(self):
        _, logdet = self._xp.linalg.slogdet(self._cov)
        return self._half_mu_p_mu() + 0.5 * logdet + 0.5 * self.dim * LOG_2PI

    def log_prob(self, x):
        x, _ = self._points(x)
        return _gaussian_log_density(x, self.mean, self._cov, self._xp)

    def mean_sufficient_stats(self):
        xp, d = self._xp, self.dim
        second = self._cov + xp.reshape(self.mean, (d, 1)) * xp.reshape(self.mean, (1, d))
        return concat([self.mean, xp.reshape(second, (d * d,))], axis=0, xp=xp)

    # --- gradients in the (mean, cov) parametrization -----------------------------------------

    def grad_energy_mean(self, x):
        r"""\(\partial E(x)/\partial\mu = -Px\), shape ``(n, d)``."""
        x, _ = self._points(x)
        return -self._xp.linalg.solve(self._cov, x.T).T

    def grad_log_partition_mean(self):
        r"""\(\partial A/\partial\mu = P\mu\), shape ``(d,)``."""
        xp, d = self._xp, self.dim
        return xp.linalg.solve(self._cov, xp.reshape(self.mean, (d, 1)))[:, 0]

    def grad_energy_cov(self, x):
        r"""\(\partial E(x)/\partial\Sigma = -\frac12 uu^\top + \frac12(vu^\top + uv^\top)\),
        \(u = Px\), \(v = P\mu\); shape ``(n, d, d)`` (symmetric gradient)."""
        x, _ = self._points(x)
        xp = self._xp
        u = xp.linalg.solve(self._cov, x.T).T
        vv = xp.zeros_like(u) + self.grad_log_partition_mean()
        return -0.5 * _outer(u, u, xp) + 0.5 * (_outer(vv, u, xp) + _outer(u, vv, xp))

    def grad_log_partition_cov(self):
        r"""\(\partial A/\partial\Sigma = \frac12 P - \frac12 (P\mu)(P\mu)^\top\), ``(d, d)``."""
        xp, d = self._xp, self.dim
        pm = self.grad_log_partition_mean()
        return 0.5 * self.precision - 0.5 * xp.reshape(pm, (d, 1)) * xp.reshape(pm, (1, d))

    # --- sampling -----------------------------------------------------------------------------

    def from_noise(self, noise):
        r"""The deterministic core of [`sample`][refebm.families.ExponentialFamily.sample]: \(x = \mu + L z\) row by row, with
        \(LL^\top = \Sigma\) (Cholesky) and ``noise`` \(z\) of shape ``(n, d)``."""
        xp = self._xp
        z, _ = self._points(noise, name="noise")
        return self.mean + z @ xp.linalg.cholesky(self._cov).T

    def _sample(self, n, rng):
        z = rng.standard_normal((n, self.dim))
        on_host = Gaussian(_host(self.mean), _host(self._cov))   # an explicit copy to NumPy
        return to_numpy(on_host.from_noise(z))

    def __repr__(self):
        return f"Gaussian(mean={v.show(self.mean)}, cov={v.show(self.cov)})"

