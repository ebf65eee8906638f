r"""Noise-contrastive estimation with a learnable \(\log Z\) (Gutmann and Hyvarinen 2010, D19).

Convention: the model is \(\log p_m(x) = -E_\theta(x) - c\) with \(c\) a free scalar that NCE
learns (at the optimum, \(c = \log Z_\theta\)); the lectures' \(f = -E\). Data are class 1,
noise class 0, and \(\nu = n_\text{noise} / n_\text{data}\) is the noise-to-data ratio of
Gutmann and Hyvarinen (2012); the summary of Song and Kingma in the seeds writes the reciprocal,
\(\nu_\text{seed} = p(y{=}1)/p(y{=}0) = 1/\nu\), so its posterior \(p(y{=}0 \mid x) = p_n / (p_n
+ \nu_\text{seed}\, p_m)\) is the same number as \(1 - \sigma(G)\) here.

The classifier's logit and the loss (the negative of their objective \(J_T\), normalized by the
number of data points, eq. (8) of the 2012 paper):

\[
    G(x) = \log p_m(x) - \log \nu - \log p_n(x), \qquad
    \ell = -\Big[\frac1{n_d} \sum_{i} \log \sigma(G(x_i)) + \nu \frac1{n_n} \sum_{j}
    \log \sigma(-G(y_j))\Big],
\]

with \(\sigma(G) = p_m / (p_m + \nu p_n)\) the posterior probability of "data". Each sum is a
mean, so the loss is an unbiased estimate of the population objective whatever the sample sizes
(``nu`` defaults to their ratio).
"""

from __future__ import annotations

import math

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .._backend import array_namespace, to_numpy
from . import _quadrature as _q

__all__ = ["nce_logit", "nce_loss", "nce_population_loss"]


def _log_sigmoid(t, xp):
    return -xp.logaddexp(xp.zeros_like(t), -t)


def _nu_iv(nu):
    return _v.scalar("nu", nu, low=0.0, low_open=True)


def _log_z_iv(log_z):
    return _v.scalar("log_z", log_z)


def _values_iv(name, values, n):
    host = to_numpy(values)
    if host.shape != (n,):
        raise ValueError(
            f"`{name}` must return shape ({n},) for {n} points, got shape {host.shape}")
    if not np.all(np.isfinite(host)):
        raise ValueError(f"`{name}` must return finite values, got NaN or inf at "
                         f"{int(np.sum(~np.isfinite(host)))} of {n} points")
    return values


def _logit(energy, log_z, x, noise_log_prob, nu, xp):
    n = np.shape(getval(x))[0]
    e = energy(x)
    _v.energy_values("energy", e, n, allow_inf=False)
    log_pn = _values_iv("noise_log_prob", noise_log_prob(x), n)
    return -e - log_z - math.log(float(nu)) - log_pn


def nce_logit(energy, log_z, x, noise_log_prob, nu):
    r"""The NCE classifier's logit \(G(x) = -E(x) - c - \log \nu - \log p_n(x)\).

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``.
    log_z : float
        The learnable normalizer \(c\) (an autograd box is fine).
    x : array, shape (n, d)
    noise_log_prob : callable
        ``noise_log_prob(x) -> (n,)``, the normalized log density of the noise.
    nu : float > 0
        \(n_\text{noise} / n_\text{data}\).

    Returns
    -------
    logit : array, shape (n,)
        \(\sigma(G(x))\) is the model's posterior probability that \(x\) is data.

    Math
    ----
    D19: \(p(\text{data} \mid x) = \frac{p_m(x)}{p_m(x) + \nu p_n(x)} = \sigma(G(x))\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives.nce import nce_logit
    >>> g = nce_logit(lambda x: x[:, 0], 0.5, np.ones((1, 1)), lambda x: 0.0 * x[:, 0], 2.0)
    >>> bool(np.isclose(g[0], -1.5 - np.log(2.0)))
    True
    """
    _v.function("energy", energy)
    _v.function("noise_log_prob", noise_log_prob)
    _log_z_iv(log_z)
    _nu_iv(nu)
    xp = array_namespace(x)
    x = _v.points("x", x, xp=xp)
    return _v.as_dtype(_logit(energy, log_z, x, noise_log_prob, nu, xp), _v.result_dtype(x))


def nce_loss(energy, log_z, x_data, x_noise, noise_log_prob, nu=None):
    r"""The NCE loss with a learnable \(\log Z\), given data and noise samples.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``; the model is \(\log p_m = -E - c\).
    log_z : float
        \(c\), learned jointly with the energy's parameters (differentiate with respect to it).
    x_data : array, shape (n_data, d)
    x_noise : array, shape (n_noise, d)
        Samples from the noise distribution.
    noise_log_prob : callable
        ``noise_log_prob(x) -> (n,)``, normalized log density of the noise.
    nu : float > 0, optional
        The noise-to-data ratio in the classifier's prior; default ``n_noise / n_data``.

    Returns
    -------
    loss : scalar
        \(-\big[\overline{\log \sigma(G(x))}_\text{data} + \nu\, \overline{\log
        \sigma(-G(y))}_\text{noise}\big]\); numerically stable (\(\log\sigma(t) =
        -\operatorname{logaddexp}(0, -t)\)). Runs on any array namespace.

    Math
    ----
    D19, Gutmann and Hyvarinen (2012) eq. (8) with \(1/T_d\) normalization: the population
    objective is minimized exactly at \(p_m = p_\text{data}\), which makes \(c\) the true
    \(\log Z_\theta\) when the family contains the data density
    ([`nce_population_loss`][refebm.objectives.nce_population_loss]).

    Examples
    --------
    Model = noise and \(\nu = 1\): every logit is 0, the loss is \(2 \log 2\).

    >>> import numpy as np
    >>> from refebm.objectives.nce import nce_loss
    >>> log_pn = lambda x: -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> energy = lambda x: 0.5 * x[:, 0]**2
    >>> x = np.array([[0.3], [-1.2]])
    >>> bool(np.isclose(nce_loss(energy, 0.5 * np.log(2 * np.pi), x, x + 1, log_pn), 2 * np.log(2)))
    True
    """
    _v.function("energy", energy)
    _v.function("noise_log_prob", noise_log_prob)
    _log_z_iv(log_z)
    xp = array_namespace(x_data, x_noise)
    x_data = _v.points("x_data", x_data, xp=xp)
    n_data, d = np.shape(getval(x_data))
    x_noise = _v.points("x_noise", x_noise, d=d, xp=xp)
    n_noise = np.shape(getval(x_noise))[0]
    nu = n_noise / n_data if nu is None else _nu_iv(nu)
    g_data = _logit(energy, log_z, x_data, noise_log_prob, nu, xp)
    g_noise = _logit(energy, log_z, x_noise, noise_log_prob, nu, xp)
    loss = -(xp.mean(_log_sigmoid(g_data, xp)) + nu * xp.mean(_log_sigmoid(-g_noise, xp)))
    return _v.as_dtype(loss, _v.result_dtype(x_data, x_noise))


def nce_population_loss(energy, log_z, data_log_prob, noise_log_prob, nu, bounds, *,
                        panels=None, tol=1e-9):
    r"""The population NCE objective by quadrature on a box (d <= 3, NumPy).

    Parameters
    ----------
    energy, log_z, noise_log_prob, nu
        As in [`nce_loss`][refebm.objectives.nce_loss] (``nu`` is required here).
    data_log_prob : callable
        ``data_log_prob(x) -> (n,)``, the normalized log density of the data.
    bounds : sequence of (lo, hi)
        A finite box holding the mass of both densities (checked to ``tol``).
    panels : int, optional
        Panels per dimension of the composite 16-point Gauss-Legendre rule (default 64, 16, 4
        for d = 1, 2, 3); a rule with half as many must agree to ``tol`` (else a warning).
    tol : float

    Returns
    -------
    loss : float
        \(-\big[\int p_\text{data} \log \sigma(G) + \nu \int p_n \log \sigma(-G)\big]\),
        differentiable in ``log_z`` and the energy's parameters.

    Math
    ----
    D19: pointwise in \(x\), \(-[p_d \log \sigma(G) + \nu p_n \log(1 - \sigma(G))]\) is a
    binary cross-entropy minimized at \(\sigma(G) = p_d / (p_d + \nu p_n)\), i.e. \(p_m =
    p_d\); so if some \((\theta, c)\) gives \(-E_\theta - c = \log p_\text{data}\), it is the
    minimizer and \(c = \log Z_\theta\). The minimum is \(-\mathbb E_{p_d} \log \frac{p_d}{p_d
    + \nu p_n} - \nu \mathbb E_{p_n} \log \frac{\nu p_n}{p_d + \nu p_n}\).

    Examples
    --------
    Data = noise = model = \(\mathcal N(0, 1)\), \(\nu = 1\): \(2 \log 2\).

    >>> import numpy as np
    >>> from refebm.objectives.nce import nce_population_loss
    >>> log_p = lambda x: -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> loss = nce_population_loss(lambda x: 0.5 * x[:, 0]**2, 0.5 * np.log(2 * np.pi),
    ...                            log_p, log_p, 1.0, [(-12, 12)])
    >>> bool(np.isclose(loss, 2 * np.log(2), rtol=1e-12))
    True
    """
    _v.function("energy", energy)
    _v.function("data_log_prob", data_log_prob)
    _v.function("noise_log_prob", noise_log_prob)
    _log_z_iv(log_z)
    _nu_iv(nu)
    box, panels = _q.box_iv(bounds, panels)
    _v.tolerance("tol", tol)
    def integrand(nodes):
        g = _logit(energy, log_z, nodes, noise_log_prob, nu, anp)
        return {"data_log_prob": -_log_sigmoid(g, anp),
                "noise_log_prob": -nu * _log_sigmoid(-g, anp)}

    out = _q.expectations({"data_log_prob": data_log_prob, "noise_log_prob": noise_log_prob},
                          integrand, box, panels, tol=tol)
    return out["data_log_prob"] + out["noise_log_prob"]
