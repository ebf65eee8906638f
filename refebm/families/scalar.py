r"""One-dimensional exponential families in closed form (D1): Exponential, Gamma, Beta, Poisson,
Bernoulli.

Each is an [`ExponentialFamily`][refebm.families.ExponentialFamily] with event shape ``(1,)``: points are
``x`` of shape ``(n, 1)``, and ``(n,)`` is accepted as ``n`` points too; energies and log
densities have shape ``(n,)`` and a score has the shape of ``x``. The energy is
\(E(x) = -(\theta\cdot T(x) + \log h(x))\) and ``log_partition()`` is \(A(\theta)\)
(the lectures' \(f = -E\)):

- Exponential(\(\lambda\)): \(\theta = -\lambda\), \(T(x) = x\), \(h = 1\) on
  \(x \ge 0\), \(A = -\log\lambda\);
- Gamma(\(k, \beta\)): \(\theta = (k-1, -\beta)\), \(T(x) = (\log x, x)\),
  \(h = 1\) on \(x > 0\), \(A = \log\Gamma(k) - k\log\beta\);
- Beta(\(a, b\)): \(\theta = (a-1, b-1)\), \(T(x) = (\log x, \log(1-x))\),
  \(h = 1\) on \(0 < x < 1\), \(A = \log B(a, b)\);
- Poisson(\(\lambda\)): \(\theta = \log\lambda\), \(T(x) = x\),
  \(\log h(x) = -\log x!\) on \(\{0, 1, \dots\}\), \(A = \lambda\);
- Bernoulli(\(p\)): \(\theta = \log\frac{p}{1-p}\), \(T(x) = x\), \(h = 1\) on
  \(\{0, 1\}\), \(A = -\log(1-p)\).

Backends: Exponential, Gamma and Beta compute ``energy``, ``log_prob``, ``score``,
``log_partition`` and ``mean_sufficient_stats`` in any array-API namespace found from their
parameters. On NumPy the log-gamma and digamma terms go through ``autograd.scipy.special``
(differentiable); on other namespaces they are computed on the host by ``scipy.special`` from
explicit copies of the scalar parameters. Poisson and Bernoulli are NumPy-only.
"""

from __future__ import annotations

import numpy as np

from .. import _validate as v
from .._backend import array_namespace, concat
from ._expfam import (ExponentialFamily, _digamma, _host, _lgamma, _positive_scalar,
                      _real_scalar, _require_numpy)

__all__ = ["Exponential", "Gamma", "Beta", "Poisson", "Bernoulli"]


class _Scalar(ExponentialFamily):
    r"""The shared layout of the one-dimensional families: \(h = 1\) unless a family says
    otherwise."""

    event_shape = (1,)
    _flat_ok = True

    @classmethod
    def _theta_iv(cls, theta, m):
        xp = array_namespace(theta)
        return v.real_array("theta", theta, xp=xp, shape=(m,)), xp

    def _log_h(self, x):
        return self._xp.zeros_like(x[:, 0])


class Exponential(_Scalar):
    r"""The exponential distribution \(p(x) = \lambda e^{-\lambda x}\) on \(x \ge 0\).

    Parameters
    ----------
    rate : float
        \(\lambda > 0\) (a scalar; may be an autograd box or a 0-d array of any namespace).

    Notes
    -----
    Energy \(E(x) = \lambda x\) on the support \(x \ge 0\) (``+inf`` for \(x < 0\)),
    ``log_partition()`` \(= -\log\lambda\); \(\theta = -\lambda\), \(T(x) = x\),
    \(h = 1\), mean \(1/\lambda\), score \(-\lambda\).

    Math
    ----
    D1: \(\int_0^\infty e^{-\lambda x}\,dx = 1/\lambda\), the volume in the lectures.

    Examples
    --------
    >>> from refebm.families import Exponential
    >>> fam = Exponential(2.0)
    >>> round(float(fam.log_partition()), 15)      # log(1/2)
    -0.693147180559945
    >>> fam.energy([0.5, -1.0]).tolist()
    [1.0, inf]
    """

    def __init__(self, rate):
        xp = array_namespace(rate)
        self._xp = xp
        self.rate = _positive_scalar("rate", rate, xp)

    @classmethod
    def from_natural(cls, theta):
        r"""The family with natural parameter ``theta`` = \((-\lambda,)\)."""
        theta, xp = cls._theta_iv(theta, 1)
        return cls(-theta[0])

    _natural_rule = "theta < 0"

    def _in_natural_domain(self, t):
        return bool(t[0] < 0)

    @property
    def natural_params(self):
        return self._xp.reshape(-self.rate, (1,))

    def _support(self, x):
        return x[:, 0] >= 0

    def _stats(self, x):
        return x

    def _A(self, theta):
        return -self._xp.log(-theta[0])

    def _energy(self, x):
        return self.rate * x[:, 0]

    def _score(self, x):
        return -self.rate * self._xp.ones_like(x)

    def log_partition(self):
        return -self._xp.log(self.rate)

    def mean_sufficient_stats(self):
        return self._xp.reshape(1.0 / self.rate, (1,))

    def _sample(self, n, rng):
        return rng.exponential(1.0 / float(_host(self.rate)), size=(n, 1))

    def __repr__(self):
        return f"Exponential(rate={v.show(self.rate)})"


class Gamma(_Scalar):
    r"""The gamma distribution with shape \(k > 0\) and rate \(\beta > 0\).

    \(p(x) = \beta^k x^{k-1} e^{-\beta x} / \Gamma(k)\) on \(x > 0\).

    Parameters
    ----------
    shape : float
        \(k > 0\), stored as the attribute ``concentration``.
    rate : float
        \(\beta > 0\).

    Notes
    -----
    Energy \(E(x) = -(k-1)\log x + \beta x\) on the open half-line \(x > 0\) (``+inf``
    at \(x \le 0\); the point 0 has measure zero), ``log_partition()``
    \(= \log\Gamma(k) - k\log\beta\); \(\theta = (k-1, -\beta)\),
    \(T(x) = (\log x, x)\), \(h = 1\),
    \(\mathbb{E}[T] = (\psi(k) - \log\beta,\ k/\beta)\), score \((k-1)/x - \beta\).

    Math
    ----
    D1: \(\int_0^\infty x^{k-1} e^{-\beta x} dx = \Gamma(k)\beta^{-k}\).

    Examples
    --------
    >>> from refebm.families import Gamma
    >>> fam = Gamma(3.0, 2.0)
    >>> round(float(fam.log_partition()), 12)      # log(Gamma(3) / 2^3) = log(1/4)
    -1.38629436112
    >>> fam.score([[1.0]]).tolist()                # (k - 1)/x - beta
    [[0.0]]
    """

    def __init__(self, shape, rate):
        xp = array_namespace(shape, rate)
        self._xp = xp
        self.concentration = _positive_scalar("shape", shape, xp)
        self.rate = _positive_scalar("rate", rate, xp)

    @classmethod
    def from_natural(cls, theta):
        r"""The family with natural parameters ``theta`` = \((k - 1, -\beta)\)."""
        theta, xp = cls._theta_iv(theta, 2)
        return cls(theta[0] + 1.0, -theta[1])

    _natural_rule = "theta[0] > -1 and theta[1] < 0"

    def _in_natural_domain(self, t):
        return bool(t[0] > -1 and t[1] < 0)

    @property
    def natural_params(self):
        return self._xp.stack([self.concentration - 1.0, -self.rate])

    def _support(self, x):
        return x[:, 0] > 0

    def _stats(self, x):
        return concat([self._xp.log(x), x], axis=1, xp=self._xp)

    def _A(self, theta):
        k = theta[0] + 1.0
        return _lgamma(k, self._xp) - k * self._xp.log(-theta[1])

    def _energy(self, x):
        x = x[:, 0]
        return -(self.concentration - 1.0) * self._xp.log(x) + self.rate * x

    def _score(self, x):
        return (self.concentration - 1.0) / x - self.rate

    def log_partition(self):
        xp = self._xp
        return _lgamma(self.concentration, xp) - self.concentration * xp.log(self.rate)

    def mean_sufficient_stats(self):
        xp = self._xp
        k, b = self.concentration, self.rate
        return xp.stack([_digamma(k, xp) - xp.log(b), k / b])

    def _sample(self, n, rng):
        return rng.gamma(float(_host(self.concentration)), 1.0 / float(_host(self.rate)),
                         size=(n, 1))

    def __repr__(self):
        return f"Gamma(shape={v.show(self.concentration)}, rate={v.show(self.rate)})"


class Beta(_Scalar):
    r"""The beta distribution \(p(x) = x^{a-1}(1-x)^{b-1} / B(a, b)\) on \(0 < x < 1\).

    Parameters
    ----------
    a, b : float
        Both > 0.

    Notes
    -----
    Energy \(E(x) = -(a-1)\log x - (b-1)\log(1-x)\) on the open interval \((0, 1)\)
    (``+inf`` elsewhere, the end points included), ``log_partition()`` \(= \log B(a, b)
    = \log\Gamma(a) + \log\Gamma(b) - \log\Gamma(a+b)\); \(\theta = (a-1, b-1)\),
    \(T(x) = (\log x, \log(1-x))\), \(h = 1\),
    \(\mathbb{E}[T] = (\psi(a) - \psi(a+b),\ \psi(b) - \psi(a+b))\),
    score \((a-1)/x - (b-1)/(1-x)\).

    Math
    ----
    D1: \(\int_0^1 x^{a-1}(1-x)^{b-1}dx = B(a, b)\).

    Examples
    --------
    >>> from refebm.families import Beta
    >>> fam = Beta(2.0, 3.0)
    >>> round(float(fam.log_partition()), 12)      # log B(2, 3) = log(1/12)
    -2.484906649788
    >>> fam.energy([[0.5], [1.0]]).tolist()[1]
    inf
    """

    def __init__(self, a, b):
        xp = array_namespace(a, b)
        self._xp = xp
        self.a = _positive_scalar("a", a, xp)
        self.b = _positive_scalar("b", b, xp)

    @classmethod
    def from_natural(cls, theta):
        r"""The family with natural parameters ``theta`` = \((a - 1, b - 1)\)."""
        theta, xp = cls._theta_iv(theta, 2)
        return cls(theta[0] + 1.0, theta[1] + 1.0)

    _natural_rule = "theta > -1"

    def _in_natural_domain(self, t):
        return bool(np.all(t > -1))

    @property
    def natural_params(self):
        return self._xp.stack([self.a - 1.0, self.b - 1.0])

    def _support(self, x):
        return (x[:, 0] > 0) & (x[:, 0] < 1)

    def _stats(self, x):
        xp = self._xp
        return concat([xp.log(x), xp.log1p(-x)], axis=1, xp=xp)

    def _A(self, theta):
        xp = self._xp
        a, b = theta[0] + 1.0, theta[1] + 1.0
        return _lgamma(a, xp) + _lgamma(b, xp) - _lgamma(a + b, xp)

    def _energy(self, x):
        xp = self._xp
        x = x[:, 0]
        return -(self.a - 1.0) * xp.log(x) - (self.b - 1.0) * xp.log1p(-x)

    def _score(self, x):
        return (self.a - 1.0) / x - (self.b - 1.0) / (1.0 - x)

    def log_partition(self):
        xp = self._xp
        return _lgamma(self.a, xp) + _lgamma(self.b, xp) - _lgamma(self.a + self.b, xp)

    def mean_sufficient_stats(self):
        xp = self._xp
        psi_ab = _digamma(self.a + self.b, xp)
        return xp.stack([_digamma(self.a, xp) - psi_ab, _digamma(self.b, xp) - psi_ab])

    def _sample(self, n, rng):
        return rng.beta(float(_host(self.a)), float(_host(self.b)), size=(n, 1))

    def __repr__(self):
        return f"Beta(a={v.show(self.a)}, b={v.show(self.b)})"


class Poisson(_Scalar):
    r"""The Poisson distribution \(p(x) = \lambda^x e^{-\lambda} / x!\), \(x = 0, 1, \dots\)

    Parameters
    ----------
    rate : float
        \(\lambda > 0\).

    Notes
    -----
    A mass function (``discrete = True``, no score). Energy
    \(E(x) = -x\log\lambda + \log x!\) at non-negative integers, ``+inf`` at every other
    real ``x`` (negative or non-integer); ``log_partition()`` \(= \lambda\);
    \(\theta = \log\lambda\), \(T(x) = x\), \(\log h(x) = -\log x!\),
    \(A(\theta) = e^\theta\), mean \(\lambda\). NumPy-only (\(\log x!\) needs
    ``gammaln``). Samples are float arrays of integers, shape ``(n, 1)``.

    Math
    ----
    D1: \(\sum_{x \ge 0} \lambda^x / x! = e^\lambda\).

    Examples
    --------
    >>> from refebm.families import Poisson
    >>> fam = Poisson(3.0)
    >>> float(fam.log_partition())
    3.0
    >>> fam.energy([0.0, 0.5, -1.0]).tolist()
    [0.0, inf, inf]
    """

    discrete = True

    def __init__(self, rate):
        xp = array_namespace(rate)
        _require_numpy(xp, "Poisson")
        self._xp = xp
        self.rate = _positive_scalar("rate", rate, xp)

    @classmethod
    def from_natural(cls, theta):
        r"""The family with natural parameter ``theta`` = \((\log\lambda,)\)."""
        theta, xp = cls._theta_iv(theta, 1)
        return cls(xp.exp(theta[0]))

    _natural_rule = "any real theta"

    @property
    def natural_params(self):
        return self._xp.reshape(self._xp.log(self.rate), (1,))

    def _support(self, x):
        x = x[:, 0]
        return (x >= 0) & (x == self._xp.floor(x))

    def _stats(self, x):
        return x

    def _log_h(self, x):
        return -_lgamma(x[:, 0] + 1.0, self._xp)

    def _A(self, theta):
        return self._xp.exp(theta[0])

    def _energy(self, x):
        x = x[:, 0]
        return -x * self._xp.log(self.rate) + _lgamma(x + 1.0, self._xp)

    def log_partition(self):
        return self.rate

    def mean_sufficient_stats(self):
        return self._xp.reshape(self.rate, (1,))

    def _sample(self, n, rng):
        return rng.poisson(float(_host(self.rate)), size=(n, 1)).astype(np.float64)

    def __repr__(self):
        return f"Poisson(rate={v.show(self.rate)})"


class Bernoulli(_Scalar):
    r"""The Bernoulli distribution \(p(1) = p\), \(p(0) = 1 - p\).

    Parameters
    ----------
    p : float
        In the open interval \((0, 1)\): the end points 0 and 1 are excluded because the
        natural parameter \(\log(p/(1-p))\) must be finite.

    Notes
    -----
    A mass function (``discrete = True``, no score). Energy \(E(x) = -\theta x\) on
    \(\{0, 1\}\) (``+inf`` at every other real ``x``), ``log_partition()``
    \(= -\log(1-p) = \log(1 + e^\theta)\); \(\theta = \log(p/(1-p))\), \(T(x) = x\),
    \(h = 1\), mean \(p\). NumPy-only. Samples are float arrays of 0 and 1.

    Math
    ----
    D1: \(\sum_{x\in\{0,1\}} e^{\theta x} = 1 + e^\theta\).

    Examples
    --------
    >>> from refebm.families import Bernoulli
    >>> fam = Bernoulli(0.75)
    >>> round(float(fam.natural_params[0]), 12)    # log 3
    1.098612288668
    >>> round(float(fam.log_partition()), 12)      # -log(1/4)
    1.38629436112
    """

    discrete = True

    def __init__(self, p):
        xp = array_namespace(p)
        _require_numpy(xp, "Bernoulli")
        self._xp = xp
        v.scalar("p", p, low=0.0, high=1.0, low_open=True, high_open=True)
        self.p = _real_scalar("p", p, xp)

    @classmethod
    def from_natural(cls, theta):
        r"""The family with natural parameter ``theta`` = \((\log(p/(1-p)),)\)."""
        theta, xp = cls._theta_iv(theta, 1)
        return cls(1.0 / (1.0 + xp.exp(-theta[0])))

    _natural_rule = "any real theta"

    @property
    def natural_params(self):
        xp = self._xp
        return xp.reshape(xp.log(self.p) - xp.log1p(-self.p), (1,))

    def _support(self, x):
        x = x[:, 0]
        return (x == 0) | (x == 1)

    def _stats(self, x):
        return x

    def _A(self, theta):
        return self._xp.logaddexp(0.0, theta[0])

    def _energy(self, x):
        return -self.natural_params[0] * x[:, 0]

    def log_partition(self):
        return -self._xp.log1p(-self.p)

    def mean_sufficient_stats(self):
        return self._xp.reshape(self.p, (1,))

    def _sample(self, n, rng):
        return (rng.random(size=(n, 1)) < float(_host(self.p))).astype(np.float64)

    def __repr__(self):
        return f"Bernoulli(p={v.show(self.p)})"

