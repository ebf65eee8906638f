r"""The concrete models the derivations are evaluated on, their checks, and the default ones.

Convention: \(p_\theta(x) = e^{-E_\theta(x)} / Z(\theta)\); the lectures' \(f_\theta = -E_\theta\).

* [`EnergyModel`][refebm.derivations.EnergyModel]: a parametric energy \(\theta \mapsto E_\theta\) at a point \(\theta\),
  with a box that holds all but \(10^{-16}\) of the mass of \(p_\theta\).
* [`GaussianData`][refebm.derivations.GaussianData]: a data density \(\mathcal N(m, \Sigma)\), whose log density, score
  \(-\Sigma^{-1}(x - m)\), entropy \(\tfrac12 \log\det(2\pi e \Sigma)\) and noisy version
  \(\mathcal N(m, \Sigma + \sigma^2 I)\) are closed forms.
* [`Problem`][refebm.derivations.Problem]: a data density and a model (D9, D14, D15, D16).
* [`NCEProblem`][refebm.derivations.NCEProblem]: data, noise, the ratio \(\nu\) and a model at its claimed optimum (D19).
* [`ProductModel`][refebm.derivations.ProductModel], [`MixtureModel`][refebm.derivations.MixtureModel]: normalized pieces (D3, D4).

Everything here is NumPy (autograd.numpy) only.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import autograd.numpy as anp
import numpy as np
from scipy.special import gamma as _gamma_fn

from .. import _validate as _v
from .._backend import LOG_2PI, array_namespace, is_numpy_namespace, to_numpy
from ._quadrature import check_faces, gaussian_tail_mass

__all__ = [
    "EnergyModel", "GaussianData", "Problem", "NCEProblem", "ProductModel", "MixtureModel",
    "gaussian_1d", "quartic_1d", "logcosh_1d", "quartic_2d", "logcosh_2d",
    "quadratic_quartic",
]

#: Largest mass of a Gaussian allowed outside an integration box (union bound over axes).
TAIL_MASS = 1e-16
_MAX_NODES_TOTAL = 200_000


class EnergyModel(NamedTuple):
    r"""A parametric energy at one parameter value, on a box.

    Attributes
    ----------
    name : str
        Shown in chain ids, like ``"quartic-2d"``.
    family : callable
        ``family(theta) -> energy`` with ``energy(x) -> (n,)`` for ``x`` of shape ``(n, d)``
        (the energy \(E_\theta = -f_\theta\)); autograd-traceable in ``theta``.
    theta : array, shape (k,)
        The parameter value.
    bounds : tuple of (lo, hi)
        A finite box, one pair per dimension, holding all but \(10^{-16}\) of the mass of
        every density integrated on it (checked where it matters).
    nodes : int
        Gauss-Legendre nodes per axis of the box (default 100).
    """

    name: str
    family: Callable
    theta: np.ndarray
    bounds: tuple
    nodes: int = 100

    @property
    def dim(self):
        return len(self.bounds)

    def energy(self, theta=None):
        """The energy at ``theta`` (default: the model's own)."""
        return self.family(self.theta if theta is None else theta)


class GaussianData(NamedTuple):
    r"""The data density \(\mathcal N(\text{mean}, \text{cov})\), closed form.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import GaussianData
    >>> g = GaussianData(np.zeros(1), np.eye(1))
    >>> g.score(np.array([[2.0]])).tolist(), g.noisy(1.0).cov.tolist()
    ([[-2.0]], [[2.0]])
    """

    mean: np.ndarray
    cov: np.ndarray

    @property
    def dim(self):
        return int(np.shape(self.mean)[0])

    def log_density(self, x):
        r"""\(\log \mathcal N(x; m, \Sigma)\), shape ``(n,)``."""
        r = x - self.mean
        prec = np.linalg.inv(self.cov)
        _, logdet = np.linalg.slogdet(self.cov)
        return -0.5 * anp.sum(anp.dot(r, prec) * r, axis=1) - 0.5 * (self.dim * LOG_2PI + logdet)

    def score(self, x):
        r"""\(\nabla_x \log p_\text{data}(x) = -\Sigma^{-1}(x - m)\), shape ``(n, d)``."""
        return -anp.dot(x - self.mean, np.linalg.inv(self.cov))

    def entropy(self):
        r"""\(H = \tfrac12 \log\det(2\pi e \Sigma)\)."""
        _, logdet = np.linalg.slogdet(self.cov)
        return 0.5 * (self.dim * (LOG_2PI + 1.0) + logdet)

    def mean_squared_score(self):
        r"""\(\mathbb E\|\nabla_x \log p\|^2 = \operatorname{tr} \Sigma^{-1}\)."""
        return float(np.trace(np.linalg.inv(self.cov)))

    def noisy(self, sigma):
        r"""The density of \(x + \sigma z\), \(z \sim \mathcal N(0, I)\):
        \(\mathcal N(m, \Sigma + \sigma^2 I)\)."""
        return GaussianData(self.mean, self.cov + sigma ** 2 * np.eye(self.dim))


class Problem(NamedTuple):
    """A data density (``data``, [`GaussianData`][refebm.derivations.GaussianData]) and a model (``model``,
    [`EnergyModel`][refebm.derivations.EnergyModel]), named ``name``; the model's box is the integration box."""

    name: str
    data: GaussianData
    model: EnergyModel


class NCEProblem(NamedTuple):
    r"""Noise-contrastive estimation: data, noise (both [`GaussianData`][refebm.derivations.GaussianData]),
    \(\nu = p(y{=}1)/p(y{=}0) > 0\) and a model whose ``theta`` is the claimed optimum
    (\(p_{\theta^*} = p_\text{data}\)); the model's box must hold data and noise."""

    name: str
    data: GaussianData
    noise: GaussianData
    nu: float
    model: EnergyModel


class ProductModel(NamedTuple):
    r"""\(p(x)\, p(y \mid x)\) with scalar ``x`` and ``y``.

    ``log_marginal(x) -> (n,)`` for ``x`` of shape ``(n, 1)`` and ``log_conditional(y, x) ->
    (n,)`` are normalized log densities; ``bounds`` is ``((x_lo, x_hi), (y_lo, y_hi))``.
    """

    name: str
    log_marginal: Callable
    log_conditional: Callable
    bounds: tuple
    nodes: int = 100


class MixtureModel(NamedTuple):
    r"""\(\sum_k w_k\, p_k(x)\): ``weights`` (a probability vector) and ``log_components`` (a
    tuple of normalized log densities ``(n, d) -> (n,)``) on the box ``bounds``."""

    name: str
    weights: np.ndarray
    log_components: tuple
    bounds: tuple
    nodes: int = 100


# ---------------------------------------------------------------------------------------------
# checks


def _fields(cls):
    return ", ".join(cls._fields)


def _type_iv(name, value, cls):
    if not isinstance(value, cls):
        raise TypeError(
            f"`{name}` must be of type {cls.__name__}({_fields(cls)}), got {_v.show(value)}")


def _numpy_iv(name, value):
    xp = array_namespace(value)
    if not is_numpy_namespace(xp):
        raise TypeError(
            f"`{name}` must be a NumPy array (the derivations use autograd and scipy), got an "
            f"array of {xp.__name__}")


def _box_iv(name, bounds, d=None):
    pairs = _v.bounds(name, bounds)
    for i, (lo, hi) in enumerate(pairs):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"`{name}[{i}]` must be finite (a box), got ({lo}, {hi})")
    if d is not None and len(pairs) != d:
        raise ValueError(f"`{name}` must have {d} (lo, hi) pairs, got {len(pairs)}")
    return tuple(pairs)


def _nodes_iv(name, nodes, d):
    n = _v.integer(name, nodes, minimum=8)
    if n ** d > _MAX_NODES_TOTAL:
        raise ValueError(
            f"`{name}` must keep nodes**d <= {_MAX_NODES_TOTAL}, got {n}**{d} = {n ** d}")
    return n


def _probe(name, fun, x, *args):
    values = fun(x, *args) if args else fun(x)
    return _v.energy_values(name, values, x.shape[0])


def energy_model_iv(model, name="model", d=None):
    """Check an [`EnergyModel`][refebm.derivations.EnergyModel]; return it with ``theta`` as a float array and ``bounds``
    as a tuple of float pairs."""
    _type_iv(name, model, EnergyModel)
    if not isinstance(model.name, str) or not model.name:
        raise TypeError(f"`{name}.name` must be a non-empty string, got {_v.show(model.name)}")
    _v.function(f"{name}.family", model.family)
    _numpy_iv(f"{name}.theta", model.theta)
    theta = _v.real_array(f"{name}.theta", model.theta, ndim=1)
    bounds = _box_iv(f"{name}.bounds", model.bounds, d)
    nodes = _nodes_iv(f"{name}.nodes", model.nodes, len(bounds))
    energy = model.family(theta)
    _v.function(f"{name}.family(theta)", energy)
    probe = np.array([[0.5 * (lo + hi) for lo, hi in bounds]])
    _probe(f"{name}.family(theta)", energy, probe)
    return EnergyModel(model.name, model.family, theta, bounds, nodes)


def check_model_mass(model, name="model"):
    """The box of ``model`` holds all but ~1e-16 of the mass of ``p_theta``."""
    energy = model.energy()
    check_faces(f"`{name}` ({model.name})", lambda x: -energy(x), model.bounds, model.nodes)


def gaussian_data_iv(data, name="data", d=None):
    """Check a [`GaussianData`][refebm.derivations.GaussianData]; return it with float arrays."""
    _type_iv(name, data, GaussianData)
    _numpy_iv(f"{name}.mean", data.mean)
    mean = _v.real_array(f"{name}.mean", data.mean, ndim=1)
    dim = mean.shape[0]
    if d is not None and dim != d:
        raise ValueError(
            f"`{name}.mean` must have {d} entries (the model's dimension), got {dim}")
    cov = _v.positive_definite(f"{name}.cov", data.cov, size=dim)
    return GaussianData(np.asarray(mean, dtype=np.float64), np.asarray(cov, dtype=np.float64))


def check_data_mass(data, bounds, what):
    """The box holds all but ``TAIL_MASS`` of ``N(mean, cov)``."""
    mass = gaussian_tail_mass(data.mean, data.cov, bounds)
    if not mass < TAIL_MASS:
        box = ", ".join(f"({lo:g}, {hi:g})" for lo, hi in bounds)
        raise ValueError(
            f"{what}: the box [{box}] leaves mass {mass:.3g} of the Gaussian outside, must be "
            f"< {TAIL_MASS:g}; widen the model's `bounds`")


def problem_iv(problem, name="problem", d=None):
    """Check a [`Problem`][refebm.derivations.Problem] (consistent dimensions, the data inside the box)."""
    _type_iv(name, problem, Problem)
    if not isinstance(problem.name, str) or not problem.name:
        raise TypeError(f"`{name}.name` must be a non-empty string, got {_v.show(problem.name)}")
    model = energy_model_iv(problem.model, f"{name}.model", d)
    data = gaussian_data_iv(problem.data, f"{name}.data", model.dim)
    check_data_mass(data, model.bounds, f"`{name}.data`")
    return Problem(problem.name, data, model)


def nce_problem_iv(problem, name="problem"):
    """Check an [`NCEProblem`][refebm.derivations.NCEProblem]."""
    _type_iv(name, problem, NCEProblem)
    if not isinstance(problem.name, str) or not problem.name:
        raise TypeError(f"`{name}.name` must be a non-empty string, got {_v.show(problem.name)}")
    model = energy_model_iv(problem.model, f"{name}.model")
    data = gaussian_data_iv(problem.data, f"{name}.data", model.dim)
    noise = gaussian_data_iv(problem.noise, f"{name}.noise", model.dim)
    nu = float(_v.scalar(f"{name}.nu", problem.nu, low=0.0, low_open=True))
    check_data_mass(data, model.bounds, f"`{name}.data`")
    check_data_mass(noise, model.bounds, f"`{name}.noise`")
    check_model_mass(model, f"{name}.model")
    return NCEProblem(problem.name, data, noise, nu, model)


def product_model_iv(model, name="model"):
    """Check a [`ProductModel`][refebm.derivations.ProductModel]."""
    _type_iv(name, model, ProductModel)
    if not isinstance(model.name, str) or not model.name:
        raise TypeError(f"`{name}.name` must be a non-empty string, got {_v.show(model.name)}")
    _v.function(f"{name}.log_marginal", model.log_marginal)
    _v.function(f"{name}.log_conditional", model.log_conditional)
    bounds = _box_iv(f"{name}.bounds", model.bounds, 2)
    nodes = _nodes_iv(f"{name}.nodes", model.nodes, 2)
    probe = np.array([[0.5 * (lo + hi)] for lo, hi in bounds])
    _probe(f"{name}.log_marginal", model.log_marginal, probe[:1])
    _probe(f"{name}.log_conditional", model.log_conditional, probe[1:], probe[:1])
    return ProductModel(model.name, model.log_marginal, model.log_conditional, bounds, nodes)


def mixture_model_iv(model, name="model"):
    """Check a [`MixtureModel`][refebm.derivations.MixtureModel]."""
    _type_iv(name, model, MixtureModel)
    if not isinstance(model.name, str) or not model.name:
        raise TypeError(f"`{name}.name` must be a non-empty string, got {_v.show(model.name)}")
    comps = model.log_components
    if callable(comps) or not isinstance(comps, (list, tuple)) or len(comps) == 0:
        raise TypeError(
            f"`{name}.log_components` must be a non-empty tuple of callables, got "
            f"{_v.show(comps)}")
    for k, c in enumerate(comps):
        _v.function(f"{name}.log_components[{k}]", c)
    weights = _v.probability_vector(f"{name}.weights", model.weights)
    if np.shape(weights)[0] != len(comps):
        raise ValueError(
            f"`{name}.weights` must have one entry per component ({len(comps)}), got shape "
            f"{np.shape(weights)}")
    bounds = _box_iv(f"{name}.bounds", model.bounds)
    nodes = _nodes_iv(f"{name}.nodes", model.nodes, len(bounds))
    probe = np.array([[0.5 * (lo + hi) for lo, hi in bounds]])
    for k, c in enumerate(comps):
        _probe(f"{name}.log_components[{k}]", c, probe)
    return MixtureModel(model.name, np.asarray(weights, dtype=np.float64), tuple(comps), bounds,
                        nodes)


def points_iv(name, x, d):
    """Points of shape ``(n, d)``, NumPy."""
    _numpy_iv(name, x)
    return np.asarray(to_numpy(_v.points(name, x, d=d)), dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# the example families (E = -f), each returning an EnergyModel


def _gaussian_1d_family(theta):
    def energy(x):
        return 0.5 * theta[1] * x[:, 0] ** 2 - theta[0] * x[:, 0]
    return energy


def gaussian_1d(b=0.75, a=2.0, *, nodes=120):
    r"""The 1-D Gaussian in natural parameters: \(E_\theta(x) = \tfrac12 a x^2 - b x\),
    \(\theta = (b, a)\), mean \(b/a\), variance \(1/a\).

    \(\log Z(\theta) = \tfrac12 \log(2\pi/a) + b^2/(2a)\); the box is the mean \(\pm 10\)
    standard deviations (the density on its faces is \(e^{-50}\) of the peak).

    Examples
    --------
    >>> from refebm.derivations import gaussian_1d
    >>> m = gaussian_1d(1.0, 4.0)
    >>> m.bounds
    ((-4.75, 5.25),)
    """
    a = float(_v.scalar("a", a, low=0.0, low_open=True))
    b = float(_v.scalar("b", b))
    mean, sd = b / a, 1.0 / math.sqrt(a)
    return EnergyModel("gaussian-1d", _gaussian_1d_family, np.array([b, a]),
                       ((mean - 10 * sd, mean + 10 * sd),), _nodes_iv("nodes", nodes, 1))


def _quartic_1d_family(theta):
    def energy(x):
        u = x[:, 0]
        return 0.25 * theta[0] * u ** 4 + 0.5 * theta[1] * u ** 2 - theta[2] * u
    return energy


def quartic_1d(theta=(1.0, -1.0, 0.5), *, bounds=((-9.0, 9.0),), nodes=200):
    r"""\(E_\theta(x) = \tfrac14 \theta_0 x^4 + \tfrac12 \theta_1 x^2 - \theta_2 x\)
    (\(\theta_0 > 0\); a double well when \(\theta_1 < 0\)).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import quartic_1d
    >>> quartic_1d().energy()(np.array([[1.0], [2.0]])).tolist()   # 1/4 - 1/2 - 1/2, 4 - 2 - 1
    [-0.75, 1.0]
    """
    theta = np.asarray(_v.real_array("theta", theta, shape=(3,)), dtype=np.float64)
    _v.positive("theta[0]", theta[0])
    return EnergyModel("quartic-1d", _quartic_1d_family, theta, _box_iv("bounds", bounds, 1),
                       _nodes_iv("nodes", nodes, 1))


def _logcosh_1d_family(theta):
    def energy(x):
        u = x[:, 0] - theta[1]
        # log cosh u = log(e^u + e^-u) - log 2: smooth to every order, no overflow
        return theta[0] * (anp.logaddexp(u, -u) - math.log(2.0)) + 0.5 * theta[2] * x[:, 0] ** 2
    return energy


def logcosh_1d(theta=(1.5, 0.4, 0.3), *, bounds=((-13.0, 13.0),), nodes=240):
    r"""\(E_\theta(x) = \theta_0 \log\cosh(x - \theta_1) + \tfrac12 \theta_2 x^2\): not a
    polynomial, Gaussian tails when \(\theta_2 > 0\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import logcosh_1d
    >>> logcosh_1d((1.0, 0.0, 2.0)).energy()(np.zeros((1, 1))).tolist()
    [0.0]
    """
    theta = np.asarray(_v.real_array("theta", theta, shape=(3,)), dtype=np.float64)
    return EnergyModel("logcosh-1d", _logcosh_1d_family, theta, _box_iv("bounds", bounds, 1),
                       _nodes_iv("nodes", nodes, 1))


def _quartic_2d_family(theta):
    def energy(x):
        x1, x2 = x[:, 0], x[:, 1]
        return 0.25 * (x1 ** 4 + x2 ** 4) + theta[0] * x1 * x2 + 0.5 * theta[1] * x1 ** 2 \
            - theta[2] * x2
    return energy


def quartic_2d(theta=(0.4, -0.5, 0.7), *, bounds=((-7.0, 7.0), (-7.0, 7.0)), nodes=110):
    r"""\(E_\theta(x) = \tfrac14 (x_1^4 + x_2^4) + \theta_0 x_1 x_2 + \tfrac12 \theta_1 x_1^2
    - \theta_2 x_2\): two modes in \(x_1\) when \(\theta_1 < 0\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import quartic_2d
    >>> quartic_2d((1.0, 2.0, 3.0)).energy()(np.array([[1.0, 1.0]])).tolist()  # 1/2 + 1 + 1 - 3
    [-0.5]
    """
    theta = np.asarray(_v.real_array("theta", theta, shape=(3,)), dtype=np.float64)
    return EnergyModel("quartic-2d", _quartic_2d_family, theta, _box_iv("bounds", bounds, 2),
                       _nodes_iv("nodes", nodes, 2))


def _logcosh_2d_family(theta):
    def energy(x):
        u = x[:, 0] + x[:, 1]
        lc = anp.logaddexp(u, -u) - math.log(2.0)
        return theta[0] * lc + 0.5 * theta[1] * (x[:, 0] ** 2 + x[:, 1] ** 2) - theta[2] * x[:, 1]
    return energy


def logcosh_2d(theta=(1.2, 0.8, 0.3), *, bounds=((-11.0, 11.0), (-11.0, 11.0)), nodes=120):
    r"""\(E_\theta(x) = \theta_0 \log\cosh(x_1 + x_2) + \tfrac12 \theta_1 \|x\|^2 - \theta_2
    x_2\): not a polynomial.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import logcosh_2d
    >>> logcosh_2d((5.0, 2.0, 1.0)).energy()(np.array([[1.0, -1.0]])).tolist()  # 0 + 2 + 1
    [3.0]
    """
    theta = np.asarray(_v.real_array("theta", theta, shape=(3,)), dtype=np.float64)
    return EnergyModel("logcosh-2d", _logcosh_2d_family, theta, _box_iv("bounds", bounds, 2),
                       _nodes_iv("nodes", nodes, 2))


def _quadratic_quartic_family(d):
    iu = np.triu_indices(d)
    n_lam = len(iu[0])

    def family(theta):
        b = theta[:d]
        lam_upper = theta[d:d + n_lam]
        q = theta[d + n_lam]

        def energy(x):
            # 1/2 x^T Lambda x from the upper-triangular entries (off-diagonals counted twice)
            quad = 0.0
            for j in range(n_lam):
                r, c = int(iu[0][j]), int(iu[1][j])
                factor = 0.5 if r == c else 1.0
                quad = quad + factor * lam_upper[j] * x[:, r] * x[:, c]
            return quad - anp.dot(x, b) + q * anp.sum(x ** 4, axis=1)
        return energy

    return family


def quadratic_quartic(mean, cov, q=0.0, *, bounds, nodes=100, name=None):
    r"""\(E_\theta(x) = \tfrac12 x^\top \Lambda x - b^\top x + q \sum_i x_i^4\) at the
    \(\theta = (b, \operatorname{triu}\Lambda, q)\) with \(\Lambda = \Sigma^{-1}\),
    \(b = \Sigma^{-1} m\): at \(q = 0\) it is \(\mathcal N(m, \Sigma)\) up to \(Z\) (D19's optimum).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import quadratic_quartic
    >>> m = quadratic_quartic([1.0], [[0.5]], bounds=((-9.0, 11.0),))
    >>> m.theta.tolist()     # b = 2, Lambda = 2, q = 0
    [2.0, 2.0, 0.0]
    """
    mean = np.asarray(_v.real_array("mean", mean, ndim=1), dtype=np.float64)
    d = mean.shape[0]
    cov = np.asarray(_v.positive_definite("cov", cov, size=d), dtype=np.float64)
    q = float(_v.scalar("q", q, low=0.0))
    prec = np.linalg.inv(cov)
    theta = np.concatenate([prec @ mean, prec[np.triu_indices(d)], [q]])
    bounds = _box_iv("bounds", bounds, d)
    nodes = _nodes_iv("nodes", nodes, d)
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"`name` must be a non-empty string, got {_v.show(name)}")
    return EnergyModel(name or f"quadratic-quartic-{d}d", _quadratic_quartic_family(d), theta,
                       bounds, nodes)


# ---------------------------------------------------------------------------------------------
# closed-form normalized densities for D3 and D4


def _log_normal_1d(u, mean, sd):
    return -0.5 * ((u - mean) / sd) ** 2 - anp.log(sd) - 0.5 * LOG_2PI


#: log of the integral of exp(-u^4 / 4) over the real line: 2 sqrt(2) Gamma(5/4).
_LOG_Z_QUARTIC = math.log(2.0 * math.sqrt(2.0) * _gamma_fn(1.25))


def _log_quartic_density(u, center):
    return -0.25 * (u - center) ** 4 - _LOG_Z_QUARTIC
