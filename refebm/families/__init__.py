r"""Closed-form distributions written as energy-based models (D1, D12).

Every family here is an EBM \(p(x) = e^{-E(x)}/Z\) with its energy, log-partition, log
density, sampler and (for continuous ones) score in closed form; the lectures'
\(f = -E\).

For an exponential family \(p_\theta(x) = h(x)\exp(\theta\cdot T(x) - A(\theta))\) the
mapping is

\[
    E(x) = -\big(\theta\cdot T(x) + \log h(x)\big), \qquad \log Z = A(\theta), \qquad
    \log p(x) = -E(x) - A(\theta),
\]

with \(E = +\infty\) (log density \(-\infty\)) off the support. A constant that other
texts keep in the energy (for the Gaussian, \(\frac12\mu^\top\Sigma^{-1}\mu\)) therefore sits
in \(A\). [`GaussianMixture`][refebm.families.GaussianMixture] is normalized, so its energy is \(-\log p\) and its
log-partition is 0.

Shapes: points are ``x`` of shape ``(n, d)``; the one-dimensional families (``Exponential``,
``Gamma``, ``Beta``, ``Poisson``, ``Bernoulli``) take ``(n, 1)`` or ``(n,)``; ``Dirichlet``
takes ``(n, k)`` rows on the simplex and ``Wishart`` ``(n, p, p)`` matrices. Energies and log
densities are ``(n,)``; a score has the shape of ``x``.

| class | what | backends |
| --- | --- | --- |
| ExponentialFamily | any \((\theta, T, \log h, A)\) | NumPy |
| Gaussian | \(N(\mu, \Sigma)\), any \(d\) | any array-API namespace |
| Exponential | rate \(\lambda\) | any array-API namespace |
| Gamma | shape \(k\), rate \(\beta\) | any (log-gamma on the host off NumPy) |
| Beta | \(a, b\) | any (log-gamma on the host off NumPy) |
| Poisson | rate \(\lambda\) | NumPy |
| Bernoulli | \(p \in (0, 1)\) | NumPy |
| Dirichlet | \(\alpha\) | NumPy |
| Wishart | \(\nu\), scale \(V\) | NumPy |
| GaussianMixture | weights, means, covariances | any array-API namespace |

Parameters may be autograd boxes, so gradients with respect to them can be taken from outside
(``autograd.grad(lambda m: Gaussian(m, cov).log_partition())(m0)``); every analytic gradient
here is tested equal to autograd's.
"""

from ._expfam import ExponentialFamily
from .gaussian import Gaussian
from .mixture import GaussianMixture
from .multivariate import Dirichlet, Wishart
from .scalar import Bernoulli, Beta, Exponential, Gamma, Poisson

__all__ = [
    "ExponentialFamily",
    "Gaussian",
    "Exponential",
    "Gamma",
    "Beta",
    "Poisson",
    "Bernoulli",
    "Dirichlet",
    "Wishart",
    "GaussianMixture",
]
