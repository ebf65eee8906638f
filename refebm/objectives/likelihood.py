r"""Exact maximum likelihood for models whose \(\log Z\) can be computed (D8, D9).

Convention: \(p_\theta(x) = e^{-E_\theta(x)} / Z_\theta\) (the lectures' \(f = -E\)). The
negative log-likelihood of data \(x_1, \dots, x_n\) is

\[
    \mathrm{NLL}(\theta) = \frac1n \sum_i E_\theta(x_i) + \log Z_\theta, \qquad
    \nabla_\theta \mathrm{NLL} = \frac1n \sum_i \nabla_\theta E_\theta(x_i)
    - \mathbb E_{p_\theta}[\nabla_\theta E_\theta]                     \quad\text{(D8)},
\]

with \(\log Z_\theta\) from [`refebm.partition.quadrature`][refebm.partition.quadrature.quadrature]
(continuous, \(d \le 3\)) or
[`refebm.partition.enumerate_states`][refebm.partition.enumerate_states] (finite state spaces); both
are differentiable by autograd through the parameters the energy closes over, so the gradient is
exact.

In population form (D9), \(-\mathbb E_{p_\text{data}} \log p_\theta = \mathrm{KL}(p_\text{data}
\,\|\, p_\theta) + H(p_\text{data})\): maximizing the likelihood minimizes the KL divergence.
"""

from __future__ import annotations

import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .._backend import array_namespace
from . import _quadrature as _q
from .params import gradient_in_dtype, parametric_iv

__all__ = [
    "negative_log_likelihood",
    "nll_gradient",
    "cross_entropy",
    "kl_divergence",
    "entropy",
]


def _log_z(energy, *, bounds, states, log_z, tol, d=None):
    given = [name for name, v in (("bounds", bounds), ("states", states), ("log_z", log_z))
             if v is not None]
    if len(given) != 1:
        raise TypeError(
            "give exactly one of `bounds` (log Z by quadrature), `states` (log Z by "
            f"enumeration) and `log_z` (known), got {given or 'none'}")
    if log_z is not None:
        return _v.scalar("log_z", log_z)
    from .. import partition

    if bounds is not None:
        box = _v.bounds("bounds", bounds)
        if d is not None and len(box) != d:
            raise ValueError(
                f"`bounds` must have one (lo, hi) pair per dimension of `x` ({d}), got "
                f"{len(box)} pair(s)")
        return partition.quadrature(energy, box, tol=tol).log_z
    states = _v.points("states", states, d=d)
    return partition.enumerate_states(energy, states)


def _nll_iv(energy, x, tol):
    _v.function("energy", energy)
    xp = array_namespace(x)
    x = _v.points("x", x, xp=xp)
    _v.tolerance("tol", tol)
    return xp, x


def negative_log_likelihood(energy, x, *, bounds=None, states=None, log_z=None, tol=1e-10):
    r"""The exact NLL \(\frac1n \sum_i E(x_i) + \log Z\).

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``.
    x : array, shape (n, d)
        Data (points of the state space for a discrete model).
    bounds : sequence of d pairs (lo, hi), keyword-only
        Integrate \(e^{-E}\) over this box (\(d \le 3\), infinite ends allowed) with
        [`refebm.partition.quadrature`][refebm.partition.quadrature.quadrature]; one pair per column
        of ``x``.
    states : array, shape (m, d), keyword-only
        All states of a finite model: \(\log Z = \operatorname{logsumexp}(-E(\text{states}))\)
        by [`refebm.partition.enumerate_states`][refebm.partition.enumerate_states].
    log_z : float, keyword-only
        A known \(\log Z\) (closed form). Give exactly one of ``bounds``, ``states``,
        ``log_z``.
    tol : float
        Quadrature tolerance.

    Returns
    -------
    nll : scalar
        Differentiable by autograd in the energy's parameters (NumPy); float32 when ``x`` is
        float32.

    Raises
    ------
    ValueError
        When ``bounds`` or ``states`` do not have the dimension of ``x``.

    Math
    ----
    D5, D8: \(-\frac1n \sum_i \log p_\theta(x_i) = \frac1n \sum_i E_\theta(x_i) + \log
    Z_\theta\).

    Examples
    --------
    Standard normal: \(\tfrac12 x^2 + \tfrac12 \log 2\pi\).

    >>> import numpy as np
    >>> from refebm.objectives.likelihood import negative_log_likelihood
    >>> nll = negative_log_likelihood(lambda x: 0.5 * x[:, 0]**2, np.array([[1.0]]),
    ...                               log_z=0.5 * np.log(2 * np.pi))
    >>> bool(np.isclose(nll, 0.5 + 0.5 * np.log(2 * np.pi)))
    True
    """
    xp, x = _nll_iv(energy, x, tol)
    n, d = np.shape(getval(x))
    log_z_value = _log_z(energy, bounds=bounds, states=states, log_z=log_z, tol=tol, d=d)
    e = energy(x)
    _v.energy_values("energy", e, n)
    if np.any(np.isinf(np.asarray(getval(e)))):
        raise ValueError("`x` has points outside the support of the model (energy +inf): the "
                         "negative log-likelihood is +inf")
    return _v.as_dtype(xp.mean(e) + log_z_value, _v.result_dtype(x))


def nll_gradient(energy, x, *, bounds=None, states=None, tol=1e-10):
    r"""The exact gradient \(\nabla_\theta \mathrm{NLL}\) by autograd through \(\log Z_\theta\).

    Parameters
    ----------
    energy : ParametricEnergy
        The model, ``parametric(energy_of_theta, theta)``
        ([`parametric`][refebm.objectives.parametric]); the gradient is taken in its
        ``theta``.
    x : array, shape (n, d)
    bounds, states, tol
        As in [`negative_log_likelihood`][refebm.objectives.negative_log_likelihood] (one of
        ``bounds``, ``states``).

    Returns
    -------
    gradient : like ``energy.theta``
        \(\frac1n \sum_i \nabla_\theta E_\theta(x_i) - \mathbb E_{p_\theta}[\nabla_\theta
        E_\theta]\): the quantity that [`cd_gradient`][refebm.objectives.cd_gradient]
        estimates from model samples.

    Math
    ----
    D8: \(\nabla_\theta \log Z_\theta = \frac{1}{Z_\theta} \int \nabla_\theta e^{-E_\theta}
    = -\mathbb E_{p_\theta}[\nabla_\theta E_\theta]\).

    Examples
    --------
    \(E_\mu = (x - \mu)^2 / 2\), \(\log Z\) free of \(\mu\): the gradient is \(\mu - \bar x\).

    >>> import numpy as np
    >>> from refebm.objectives import nll_gradient, parametric
    >>> model = parametric(lambda mu, x: 0.5 * (x[:, 0] - mu)**2, 0.0)
    >>> g = nll_gradient(model, np.array([[1.0], [3.0]]), bounds=[(-40.0, 40.0)])
    >>> bool(np.isclose(g, -2.0, atol=1e-8))
    True
    """
    parametric_iv("energy", energy)
    _nll_iv(energy, x, tol)
    if bounds is None and states is None:
        raise TypeError("give one of `bounds` (quadrature) and `states` (enumeration)")
    return gradient_in_dtype(energy.gradient(lambda e: negative_log_likelihood(
        e, x, bounds=bounds, states=states, tol=tol)), x)


def _population_iv(data_log_prob, bounds, panels, tol):
    _v.function("data_log_prob", data_log_prob)
    box, panels = _q.box_iv(bounds, panels)
    _v.tolerance("tol", tol)
    return box, panels


def _data_expectation(f, data_log_prob, box, panels, tol):
    out = _q.expectations({"data_log_prob": data_log_prob},
                          lambda nodes: {"data_log_prob": f(nodes)}, box, panels, tol=tol)
    return out["data_log_prob"]


def cross_entropy(energy, data_log_prob, bounds, *, panels=None, tol=1e-9):
    r"""The population NLL \(-\mathbb E_{p_\text{data}} \log p_\theta = \mathbb
    E_{p_\text{data}}[E_\theta] + \log Z_\theta\) (d <= 3, NumPy).

    Parameters
    ----------
    energy : callable
        The model energy.
    data_log_prob : callable
        ``data_log_prob(x) -> (n,)``, normalized.
    bounds : sequence of (lo, hi)
        A finite box holding the data's mass (checked to ``tol``); \(\log Z\) is integrated over the
        same box by [`refebm.partition.quadrature`][refebm.partition.quadrature.quadrature].
    panels : int, optional
        Panels per dimension of the Gauss-Legendre rule for the data expectation.
    tol : float

    Math
    ----
    D9: equals [`kl_divergence`][refebm.objectives.kl_divergence] +
    [`entropy`][refebm.objectives.entropy].

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives.likelihood import cross_entropy
    >>> log_p = lambda x: -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> h = cross_entropy(lambda x: 0.5 * x[:, 0]**2, log_p, [(-12.0, 12.0)])
    >>> bool(np.isclose(h, 0.5 * np.log(2 * np.pi * np.e), rtol=1e-10))
    True
    """
    _v.function("energy", energy)
    box, panels = _population_iv(data_log_prob, bounds, panels, tol)
    mean_energy = _data_expectation(energy, data_log_prob, box, panels, tol)
    return mean_energy + _log_z(energy, bounds=box, states=None, log_z=None, tol=tol * 1e-1)


def kl_divergence(energy, data_log_prob, bounds, *, panels=None, tol=1e-9):
    r"""\(\mathrm{KL}(p_\text{data} \,\|\, p_\theta) = \mathbb E_{p_\text{data}}[\log
    p_\text{data} + E_\theta] + \log Z_\theta\) by quadrature (d <= 3, NumPy).

    Parameters are those of [`cross_entropy`][refebm.objectives.cross_entropy], in the same order
    (the model first, then the data's density), although the divergence is written with the data
    first.

    Math
    ----
    D9: \(\mathrm{KL} \ge 0\), zero iff \(p_\theta = p_\text{data}\); it differs from the
    population NLL by the entropy of the data, which does not depend on \(\theta\).

    Examples
    --------
    \(\mathrm{KL}(\mathcal N(0, 1) \,\|\, \mathcal N(1, 1)) = \tfrac12\).

    >>> import numpy as np
    >>> from refebm.objectives.likelihood import kl_divergence
    >>> log_p = lambda x: -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> kl = kl_divergence(lambda x: 0.5 * (x[:, 0] - 1)**2, log_p, [(-12.0, 12.0)])
    >>> bool(np.isclose(kl, 0.5, rtol=1e-10))
    True
    """
    _v.function("energy", energy)
    box, panels = _population_iv(data_log_prob, bounds, panels, tol)
    inner = _data_expectation(lambda y: data_log_prob(y) + energy(y), data_log_prob, box,
                              panels, tol)
    return inner + _log_z(energy, bounds=box, states=None, log_z=None, tol=tol * 1e-1)


def entropy(data_log_prob, bounds, *, panels=None, tol=1e-9):
    r"""The differential entropy \(H(p) = -\mathbb E_p \log p\) by quadrature (d <= 3).

    Math
    ----
    D9. For \(\mathcal N(\mu, \sigma^2)\), \(\tfrac12 \log(2\pi e \sigma^2)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives.likelihood import entropy
    >>> log_p = lambda x: -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> bool(np.isclose(entropy(log_p, [(-12.0, 12.0)]), 0.5 * np.log(2 * np.pi * np.e)))
    True
    """
    box, panels = _population_iv(data_log_prob, bounds, panels, tol)
    return -_data_expectation(data_log_prob, data_log_prob, box, panels, tol)

