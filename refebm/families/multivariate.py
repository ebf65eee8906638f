r"""Exponential families on the simplex and on positive-definite matrices (D1): Dirichlet, Wishart.

Both are NumPy-only (their log-partitions need log-gamma, and the Wishart support test needs
eigenvalues). As for every exponential family here, the energy is
\(E(x) = -(\theta\cdot T(x) + \log h(x))\) on the support and ``+inf`` off it, and
``log_partition()`` is \(A(\theta)\) (the lectures' \(f = -E\)).
"""

from __future__ import annotations

import math

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from .. import _validate as v
from .._backend import array_namespace, concat
from ._expfam import (ExponentialFamily, _digamma, _host, _lgamma, _real_scalar,
                      _require_numpy)

__all__ = ["Dirichlet", "Wishart"]

#: how far from 1 the coordinates of a point may sum and still lie on the simplex
SIMPLEX_ATOL = 1e-9
#: relative asymmetry max|X - X^T| / max|X| tolerated for a point of the Wishart support
SYMMETRY_RTOL = 1e-12


class Dirichlet(ExponentialFamily):
    r"""The Dirichlet distribution on the simplex \(\{x \in (0,1)^k: \sum_i x_i = 1\}\).

    \(p(x) = \prod_i x_i^{\alpha_i - 1} / B(\alpha)\), a density with respect to Lebesgue
    measure on the first \(k-1\) coordinates (as in ``scipy.stats.dirichlet``).

    Parameters
    ----------
    alpha : array of shape (k,)
        Concentrations, all > 0, \(k \ge 2\).

    Notes
    -----
    Points are ``x`` of shape ``(n, k)``; a row lies in the support when all its entries are
    > 0 and they sum to 1 within ``SIMPLEX_ATOL`` = 1e-9 (the tolerance ``scipy.stats.dirichlet``
    uses); the energy is ``+inf`` at any other row. Energy
    \(E(x) = -\sum_i (\alpha_i - 1)\log x_i\), ``log_partition()``
    \(= \log B(\alpha) = \sum_i\log\Gamma(\alpha_i) - \log\Gamma(\alpha_0)\),
    \(\alpha_0 = \sum_i \alpha_i\); \(\theta = \alpha - 1\), \(T(x) = \log x\),
    \(h = 1\), \(\mathbb{E}[T] = \psi(\alpha) - \psi(\alpha_0)\).

    [`score`][refebm.families.ExponentialFamily.score] is the gradient of \(-E\) in the ambient coordinates of
    \(\mathbb{R}^k\), \((\alpha_i - 1)/x_i\) (what autograd gives for ``-energy``); its
    component along the simplex is its projection on \(\{v: \sum_i v_i = 0\}\).

    Math
    ----
    D1: \(\int_{\Delta} \prod_i x_i^{\alpha_i-1} dx
    = \prod_i\Gamma(\alpha_i) / \Gamma(\alpha_0)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.families import Dirichlet
    >>> fam = Dirichlet(np.array([1.0, 1.0, 1.0]))      # uniform on the triangle of area 1/2
    >>> round(float(fam.log_partition()), 12)           # log(1/2)
    -0.69314718056
    >>> fam.in_support(np.array([[0.2, 0.3, 0.5], [0.2, 0.3, 0.6]])).tolist()
    [True, False]
    >>> float(fam.energy(np.array([[0.2, 0.3, 0.6]]))[0])
    inf
    """

    def __init__(self, alpha):
        xp = array_namespace(alpha)
        _require_numpy(xp, "Dirichlet")
        self._xp = xp
        alpha = v.real_array("alpha", alpha, xp=xp, ndim=1)
        k = int(getval(alpha).shape[0])
        if k < 2:
            raise ValueError(f"`alpha` must have at least 2 entries, got shape {(k,)}")
        self.alpha = v.positive("alpha", alpha)
        self.event_shape = (k,)

    @classmethod
    def from_natural(cls, theta):
        r"""The Dirichlet with natural parameters ``theta`` = \(\alpha - 1\)."""
        theta = v.real_array("theta", theta, ndim=1)
        return cls(theta + 1.0)

    _natural_rule = "theta > -1"

    def _in_natural_domain(self, t):
        return bool(np.all(t > -1))

    @property
    def natural_params(self):
        return self.alpha - 1.0

    def _support(self, x):
        xh = _host(x)
        return np.all(xh > 0, axis=1) & (np.abs(np.sum(xh, axis=1) - 1.0) <= SIMPLEX_ATOL)

    def _stats(self, x):
        return anp.log(x)

    def _log_h(self, x):
        return anp.zeros_like(x[:, 0])

    def _A(self, theta):
        a = theta + 1.0
        return anp.sum(_lgamma(a, anp)) - _lgamma(anp.sum(a), anp)

    def _energy(self, x):
        return -anp.sum((self.alpha - 1.0) * anp.log(x), axis=1)

    def _score(self, x):
        return (self.alpha - 1.0) / x

    def log_partition(self):
        return anp.sum(_lgamma(self.alpha, anp)) - _lgamma(anp.sum(self.alpha), anp)

    def mean_sufficient_stats(self):
        return _digamma(self.alpha, anp) - _digamma(anp.sum(self.alpha), anp)

    def _sample(self, n, rng):
        return rng.dirichlet(_host(self.alpha), size=n)

    def __repr__(self):
        return f"Dirichlet(alpha={v.show(self.alpha)})"


def _log_multigamma(a, p):
    r"""\(\log\Gamma_p(a) = \frac{p(p-1)}{4}\log\pi + \sum_{j=1}^p \log\Gamma(a + (1-j)/2)\)."""
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out = out + _lgamma(a + 0.5 * (1 - j), anp)
    return out


def _multidigamma(a, p):
    r"""\(\psi_p(a) = \sum_{j=1}^p \psi(a + (1-j)/2) = \frac{d}{da}\log\Gamma_p(a)\)."""
    out = 0.0
    for j in range(1, p + 1):
        out = out + _digamma(a + 0.5 * (1 - j), anp)
    return out


class Wishart(ExponentialFamily):
    r"""The Wishart distribution on \(p \times p\) symmetric positive-definite matrices.

    \[
        p(X) = \frac{|X|^{(\nu-p-1)/2} \exp(-\tfrac12\operatorname{tr}(V^{-1}X))}
        {2^{\nu p/2} |V|^{\nu/2} \Gamma_p(\nu/2)},
    \]

    a density with respect to Lebesgue measure on the \(p(p+1)/2\) entries on and below the
    diagonal (as in ``scipy.stats.wishart``).

    Parameters
    ----------
    df : float
        Degrees of freedom \(\nu > p - 1\) (real).
    scale : array of shape (p, p)
        The scale matrix \(V\), symmetric positive definite.

    Notes
    -----
    Points are ``x`` of shape ``(n, p, p)`` (event shape ``(p, p)``). A matrix lies in the
    support when it is symmetric (to ``SYMMETRY_RTOL`` = 1e-12 relative) and positive
    definite; the energy is ``+inf`` at any other. Energy
    \(E(X) = -\frac{\nu-p-1}{2}\log|X| + \frac12\operatorname{tr}(V^{-1}X)\),
    ``log_partition()`` \(= \frac{\nu p}{2}\log 2 + \frac\nu2\log|V| + \log\Gamma_p(\nu/2)\);
    \(\theta = (\frac{\nu-p-1}{2}, -\frac12\operatorname{vec}V^{-1})\) (length
    \(1 + p^2\)), \(T(X) = (\log|X|, \operatorname{vec}X)\), \(h = 1\),
    \(\mathbb{E}[T] = (\psi_p(\nu/2) + p\log 2 + \log|V|,\ \nu\operatorname{vec}V)\).

    [`score`][refebm.families.ExponentialFamily.score] is \(\frac{\nu-p-1}{2}X^{-1} - \frac12 V^{-1}\), the gradient of
    \(-E\) with respect to the \(p^2\) entries of \(X\) taken as independent (what
    autograd gives for ``-energy``). Only the symmetric part of ``scale`` enters the math.

    Math
    ----
    D1: \(\int_{X \succ 0} |X|^{(\nu-p-1)/2} e^{-\operatorname{tr}(V^{-1}X)/2} dX =
    2^{\nu p/2}|V|^{\nu/2}\Gamma_p(\nu/2)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.families import Wishart
    >>> fam = Wishart(2.0, np.eye(1))                   # p = 1: chi-square with 2 d.o.f.
    >>> round(float(fam.log_partition()), 12)           # log(2 Gamma(1)) = log 2
    0.69314718056
    >>> fam.energy(np.array([[[2.0]], [[-1.0]]])).tolist()    # x/2 on x > 0
    [1.0, inf]
    """

    def __init__(self, df, scale):
        xp = array_namespace(df, scale)
        _require_numpy(xp, "Wishart")
        self._xp = xp
        self.scale = v.positive_definite("scale", scale, xp=xp)
        p = int(getval(self.scale).shape[0])
        v.scalar("df", df, low=p - 1, low_open=True)
        self.df = _real_scalar("df", df, xp)
        self.dim = p
        self.event_shape = (p, p)
        self._scale = 0.5 * (self.scale + self.scale.T)

    @classmethod
    def from_natural(cls, theta):
        r"""The Wishart with natural parameters ``theta`` =
        \((\frac{\nu-p-1}{2}, -\frac12\operatorname{vec}V^{-1})\)."""
        theta = v.real_array("theta", theta, ndim=1)
        m = int(getval(theta).shape[0])
        p = int(round(math.sqrt(m - 1))) if m > 1 else 0
        if p < 1 or 1 + p * p != m:
            raise ValueError(f"`theta` must have length 1 + p^2 for some p >= 1, got length {m}")
        big = anp.reshape(theta[1:], (p, p))
        scale = anp.linalg.inv(-(big + big.T))
        return cls(2.0 * theta[0] + p + 1.0, 0.5 * (scale + scale.T))

    _natural_rule = "theta[0] > -1 and -(M + M^T) positive definite for the matrix block M"

    def _in_natural_domain(self, t):
        p = self.dim
        big = np.reshape(t[1:], (p, p))
        try:
            np.linalg.cholesky(-(big + big.T))
        except np.linalg.LinAlgError:
            return False
        return bool(t[0] > -1)

    @property
    def _inv_scale(self):
        inv = anp.linalg.inv(self._scale)
        return 0.5 * (inv + inv.T)

    @property
    def natural_params(self):
        p = self.dim
        eta1 = anp.reshape(0.5 * (self.df - p - 1.0), (1,))
        return concat([eta1, anp.reshape(-0.5 * self._inv_scale, (p * p,))], xp=anp)

    def _support(self, x):
        xh = _host(x)
        asym = np.max(np.abs(xh - np.swapaxes(xh, 1, 2)), axis=(1, 2))
        size = np.max(np.abs(xh), axis=(1, 2))
        symmetric = asym <= SYMMETRY_RTOL * size
        lowest = np.linalg.eigvalsh(0.5 * (xh + np.swapaxes(xh, 1, 2)))[:, 0]
        return symmetric & (lowest > 0)

    def _stats(self, x):
        p = self.dim
        n = int(getval(x).shape[0])
        _, logdet = anp.linalg.slogdet(x)
        return concat([anp.reshape(logdet, (n, 1)), anp.reshape(x, (n, p * p))], axis=1, xp=anp)

    def _log_h(self, x):
        return anp.zeros_like(x[:, 0, 0])

    def _A(self, theta):
        p = self.dim
        big = anp.reshape(theta[1:], (p, p))
        _, logdet_inv_scale = anp.linalg.slogdet(-(big + big.T))
        half_df = theta[0] + 0.5 * (p + 1)
        return half_df * (p * math.log(2.0) - logdet_inv_scale) + _log_multigamma(half_df, p)

    def _energy(self, x):
        p = self.dim
        _, logdet = anp.linalg.slogdet(x)
        trace = anp.sum(anp.reshape(self._inv_scale, (1, p, p)) * x, axis=(1, 2))
        return -0.5 * (self.df - p - 1.0) * logdet + 0.5 * trace

    def _score(self, x):
        p = self.dim
        return 0.5 * (self.df - p - 1.0) * anp.linalg.inv(x) - 0.5 * self._inv_scale

    def log_partition(self):
        p = self.dim
        _, logdet_scale = anp.linalg.slogdet(self._scale)
        return (0.5 * self.df * (p * math.log(2.0) + logdet_scale)
                + _log_multigamma(0.5 * self.df, p))

    def mean_sufficient_stats(self):
        p = self.dim
        _, logdet_scale = anp.linalg.slogdet(self._scale)
        mean_logdet = _multidigamma(0.5 * self.df, p) + p * math.log(2.0) + logdet_scale
        return concat([anp.reshape(mean_logdet, (1,)),
                       anp.reshape(self.df * self._scale, (p * p,))], xp=anp)

    def _sample(self, n, rng):
        r"""Bartlett: \(X = LAA^\top L^\top\) with \(LL^\top = V\), \(A\) lower
        triangular, \(A_{ii}^2 \sim \chi^2_{\nu - i}\) (\(i = 0..p-1\)),
        \(A_{ij} \sim N(0, 1)\) below the diagonal."""
        p, df = self.dim, float(_host(self.df))
        chol = np.linalg.cholesky(_host(self._scale))
        chi2 = rng.chisquare(df - np.arange(p), size=(n, p))
        normal = rng.standard_normal((n, p, p))
        bartlett = np.tril(normal, -1) + np.sqrt(chi2)[:, :, None] * np.eye(p)
        la = chol @ bartlett
        x = la @ np.swapaxes(la, 1, 2)
        return 0.5 * (x + np.swapaxes(x, 1, 2))

    def __repr__(self):
        return f"Wishart(df={v.show(self.df)}, scale={v.show(self.scale)})"
