r"""Langevin parametrizations side by side, conversions between them, and their exact bias (D11).

Every unadjusted Langevin update has the form

\[
    x' = x + a\, \nabla_x \log p(x) + b\, z, \qquad z \sim N(0, I),
\]

with a drift coefficient \(a\) and a noise scale \(b\) that each source writes as a function of
its own step parameter (\(\nabla_x \log p = \nabla_x f = -\nabla_x E\), the score):

| convention | update | \(a\) | \(b\) |
| --- | --- | --- | --- |
| ``"cs236"`` | \(x + \epsilon \nabla \log p + \sqrt{2\epsilon} z\) | \(\epsilon\) | \(\sqrt{2\epsilon}\) |
| ``"song_kingma"`` | \(x + \tfrac{\epsilon^2}{2} \nabla \log p + \epsilon z\) | \(\epsilon^2/2\) | \(\epsilon\) |
| ``"tfp"`` | \(x + \tfrac{h}{2} \nabla \log p + \sqrt{h} z\) | \(h/2\) | \(\sqrt{h}\) |
| NCSN level \(i\) | TFP with \(h = \alpha_i = \epsilon \sigma_i^2/\sigma_L^2\) | \(\alpha_i/2\) | \(\sqrt{\alpha_i}\) |
| decoupled | \(x + a \nabla \log p + b z\) (IGEBM-style code) | \(a\) | \(b\) |

The first three (and NCSN at each level) satisfy \(b^2 = 2a\): they are one update written with
three step parameters, related by \(\epsilon_{\text{CS236}} = \epsilon_{\text{SK}}^2 / 2
= h / 2\) ([`convert_step`][refebm.samplers.conventions.convert_step]). A decoupled pair with \(b^2 \ne 2a\) is the CS236 update with
\(\epsilon = b^2 / 2\) on the tempered density \(p^{1/T}\), \(T = b^2 / (2a)\)
([`decoupled_temperature`][refebm.samplers.conventions.decoupled_temperature]): with the usual small noise (\(b^2 \ll 2a\)) it samples a
sharpened density, close to gradient descent.

None of them samples \(p\) exactly at a fixed step: on a Gaussian target the chain is a Gaussian
AR(1) process whose stationary law [`ula_stationary_gaussian`][refebm.samplers.conventions.ula_stationary_gaussian] gives in closed form.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np

from .. import _validate as _v
from .._backend import to_numpy
from .langevin import decoupled_langevin_step

__all__ = [
    "LangevinConvention",
    "CONVENTIONS",
    "drift_and_noise",
    "convert_step",
    "convention_step",
    "ncsn_step_sizes",
    "decoupled_temperature",
    "decoupled_as_tempered",
    "GaussianLaw",
    "ula_stationary_gaussian",
    "stationary_law",
]


class LangevinConvention(NamedTuple):
    """One parametrization of the Langevin update.

    Attributes
    ----------
    name : str
    update : str
        The update as text.
    drift : callable
        step -> \\(a\\), the coefficient of the score.
    noise_scale : callable
        step -> \\(b\\), the coefficient of \\(z\\).
    to_cs236 : callable
        step -> the CS236 \\(\\epsilon\\) of the same update.
    from_cs236 : callable
        CS236 \\(\\epsilon\\) -> this convention's step.
    """

    name: str
    update: str
    drift: Callable
    noise_scale: Callable
    to_cs236: Callable
    from_cs236: Callable


CONVENTIONS = {
    "cs236": LangevinConvention(
        "cs236", "x + eps * score + sqrt(2 eps) * z",
        lambda e: e, lambda e: math.sqrt(2.0 * e), lambda e: e, lambda e: e),
    "song_kingma": LangevinConvention(
        "song_kingma", "x + (eps**2 / 2) * score + eps * z",
        lambda e: 0.5 * e * e, lambda e: e, lambda e: 0.5 * e * e, lambda e: math.sqrt(2.0 * e)),
    "tfp": LangevinConvention(
        "tfp", "x + (h / 2) * score + sqrt(h) * z",
        lambda h: 0.5 * h, lambda h: math.sqrt(h), lambda h: 0.5 * h, lambda e: 2.0 * e),
}


def _convention_iv(name, convention):
    if not isinstance(convention, str) or convention not in CONVENTIONS:
        raise ValueError(f"`{name}` must be one of {tuple(CONVENTIONS)}, got {_v.show(convention)}")
    return CONVENTIONS[convention]


def _step_iv(step):
    return float(_v.scalar("step", step, low=0.0, low_open=True))


def drift_and_noise(step, *, convention="cs236"):
    r"""The drift coefficient \(a\) and noise scale \(b\) of one convention's step.

    Parameters
    ----------
    step : float
        The convention's step parameter (\(\epsilon\) or \(h\)), > 0.
    convention : {"cs236", "song_kingma", "tfp"}

    Returns
    -------
    (float, float)
        \((a, b)\) with \(x' = x + a \nabla \log p + b z\).

    Math
    ----
    D11: see the table in [`refebm.samplers.conventions`][refebm.samplers.conventions].

    Examples
    --------
    >>> drift_and_noise(0.5), drift_and_noise(0.5, convention="song_kingma")
    ((0.5, 1.0), (0.125, 0.5))
    >>> drift_and_noise(0.5, convention="tfp")
    (0.25, 0.7071067811865476)
    """
    conv = _convention_iv("convention", convention)
    step = _step_iv(step)
    return conv.drift(step), conv.noise_scale(step)


def convert_step(step, frm, to):
    r"""The step in convention ``to`` that gives the same update as ``step`` in ``frm``.

    Examples
    --------
    >>> convert_step(0.1, "song_kingma", "cs236"), convert_step(0.005, "cs236", "tfp")
    (0.005000000000000001, 0.01)
    """
    a = _convention_iv("frm", frm)
    b = _convention_iv("to", to)
    return b.from_cs236(a.to_cs236(_step_iv(step)))


def convention_step(score, state, noise, step, *, convention="cs236"):
    r"""One ULA step written in ``convention``: \(x + a(\text{step}) s(x) + b(\text{step}) z\).

    Parameters
    ----------
    score : callable
        ``score(x) -> (n, d)`` (\(= -\nabla E\)).
    state : ULAState
        From [`refebm.samplers.ula_init`][refebm.samplers.ula_init].
    noise : array ``(n, d)``
    step : float
        The convention's step parameter.
    convention : {"cs236", "song_kingma", "tfp"}

    Returns
    -------
    state : ULAState
    info : LangevinInfo
        As [`refebm.samplers.decoupled_langevin_step`][refebm.samplers.decoupled_langevin_step] with
        ``drift_and_noise(step, convention=convention)``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.samplers import ula_init
    >>> score = lambda x: -x
    >>> s, _ = convention_step(score, ula_init(score, np.array([[1.0]])), np.array([[1.0]]), 1.0,
    ...                        convention="song_kingma")
    >>> s.x.tolist()
    [[1.5]]
    """
    a, b = drift_and_noise(step, convention=convention)
    return decoupled_langevin_step(score, state, noise, a, b)


def ncsn_step_sizes(step_size, sigmas):
    r"""NCSN's per-level step sizes \(\alpha_i = \epsilon\, \sigma_i^2 / \sigma_L^2\) (D18).

    Level \(i\) of annealed Langevin is the TFP update with \(h = \alpha_i\) (CS236
    \(\epsilon_i = \alpha_i / 2\)).

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.allclose(ncsn_step_sizes(2e-5, [1.0, 0.1, 0.01]), [0.2, 0.002, 2e-5], rtol=1e-14))
    True
    """
    dtype = _v.result_dtype(step_size, sigmas)
    step_size = float(_v.scalar("step_size", step_size, low=0.0, low_open=True))
    sig = np.asarray(_v.decreasing_positive("sigmas", sigmas))
    return (step_size * sig**2 / sig[-1] ** 2).astype(dtype)


def decoupled_temperature(drift, noise_scale):
    r"""The temperature \(T = b^2 / (2a)\) that the decoupled update \(x + a s + b z\) samples.

    Math
    ----
    D11, D20: \(x + a \nabla \log p + b z = x + \epsilon \nabla \log p^{1/T} + \sqrt{2\epsilon} z\)
    with \(\epsilon = b^2/2\), \(T = b^2 / (2a)\). Its continuous-time limit
    \(dx = a \nabla \log p\, dt + b\, dW\) has stationary density \(\propto p^{2a/b^2} = p^{1/T}\).
    IGEBM-style settings (drift 10, noise 0.005) give \(T \approx 10^{-6}\).

    Examples
    --------
    >>> decoupled_temperature(10.0, 0.005)
    1.25e-06
    """
    a = float(_v.scalar("drift", drift, low=0.0, low_open=True))
    b = float(_v.scalar("noise_scale", noise_scale, low=0.0))
    return b * b / (2.0 * a)


def decoupled_as_tempered(drift, noise_scale):
    r"""A decoupled pair \((a, b)\) as (CS236 \(\epsilon\), temperature \(T\)).

    The update \(x + a s + b z\) equals the CS236 step with \(\epsilon = b^2 / 2\) on
    \(p^{1/T}\), \(T = b^2 / (2a)\) (whose score is \(s / T\)). ``noise_scale`` must be > 0.

    Examples
    --------
    >>> decoupled_as_tempered(0.5, 1.0)
    (0.5, 1.0)
    """
    a = float(_v.scalar("drift", drift, low=0.0, low_open=True))
    b = float(_v.scalar("noise_scale", noise_scale, low=0.0, low_open=True))
    return 0.5 * b * b, b * b / (2.0 * a)


class GaussianLaw(NamedTuple):
    """A Gaussian law: ``mean`` ``(d,)`` and ``cov`` ``(d, d)``."""

    mean: Any
    cov: Any


def ula_stationary_gaussian(mean, cov, drift, noise_scale):
    r"""The exact stationary law of ULA \(x + a \nabla \log p + b z\) on \(p = N(\mu, \Sigma)\).

    Parameters
    ----------
    mean : array ``(d,)``
        \(\mu\).
    cov : array ``(d, d)``
        \(\Sigma\), symmetric positive definite.
    drift : float
        \(a > 0\).
    noise_scale : float
        \(b \ge 0\).

    Returns
    -------
    GaussianLaw
        Mean \(\mu\) and covariance \(C = b^2 (I - M^2)^{-1}\), \(M = I - a \Sigma^{-1}\),
        computed from the eigendecomposition \(\Sigma^{-1} = Q \Lambda Q^\top\):
        \(C = Q\, \mathrm{diag}\bigl(b^2 / (a\lambda_k (2 - a\lambda_k))\bigr) Q^\top\).

    Raises
    ------
    ValueError
        If the iteration is unstable: the spectral radius of \(M\) is \(\ge 1\), that is
        \(a \lambda_{\max}(\Sigma^{-1}) \ge 2\).

    Math
    ----
    D11. With \(P = \Sigma^{-1}\), \(\nabla \log p(x) = P(\mu - x)\), so
    \(x' - \mu = (I - aP)(x - \mu) + b z\): a Gaussian AR(1) process. If
    \(\rho(M) < 1\) it has the unique stationary law \(N(\mu, C)\) where \(C\) solves the discrete
    Lyapunov equation \(C = M C M^\top + b^2 I\); \(M\) is symmetric and commutes with \(C\),
    so \(C = b^2 (I - M^2)^{-1}\). In 1-D with the CS236 step (\(a = \epsilon\),
    \(b^2 = 2\epsilon\)) on \(N(\mu, s^2)\): \(C = s^2 / (1 - \epsilon / (2 s^2))\), larger than
    \(s^2\); as \(a \to 0\), \(C \to (b^2 / 2a) \Sigma = T \Sigma\).

    Examples
    --------
    >>> import numpy as np
    >>> law = ula_stationary_gaussian(np.zeros(1), np.array([[2.0]]), 0.4, np.sqrt(0.8))
    >>> bool(np.isclose(law.cov[0, 0], 2.0 / (1 - 0.4 / (2 * 2.0)), rtol=1e-14))
    True
    """
    mean = _v.real_array("mean", mean, ndim=1)
    d = int(mean.shape[0])
    cov = _v.positive_definite("cov", cov, size=d)
    a = float(_v.scalar("drift", drift, low=0.0, low_open=True))
    b = float(_v.scalar("noise_scale", noise_scale, low=0.0))
    dtype = _v.result_dtype(mean, cov, drift, noise_scale)
    sigma = to_numpy(cov).astype(np.float64)
    # eigenvalues of the precision are 1 / eigenvalues of the covariance (same eigenvectors)
    w, q = np.linalg.eigh(sigma)
    lam = 1.0 / w
    m_eig = 1.0 - a * lam
    radius = float(np.max(np.abs(m_eig)))
    if radius >= 1.0:
        raise ValueError(
            f"`drift` {a!r} makes ULA unstable on this Gaussian: the spectral radius of "
            f"I - drift * cov^-1 is {radius:.6g} >= 1 (need drift < 2 / lambda_max(cov^-1) "
            f"= {2.0 / lam.max():.6g})")
    c_eig = b * b / (a * lam * (2.0 - a * lam))
    c = (q * c_eig) @ q.T
    return GaussianLaw(np.array(to_numpy(mean), dtype=dtype), (0.5 * (c + c.T)).astype(dtype))


def stationary_law(mean, cov, step, *, convention="cs236"):
    r"""The stationary law of ULA in ``convention`` with ``step`` on \(N(\mu, \Sigma)\).

    Equal to [`ula_stationary_gaussian`][refebm.samplers.conventions.ula_stationary_gaussian] with ``drift_and_noise(step,
    convention=convention)``: the same order (the target's ``mean`` and ``cov``, then the
    update's parameters), with the convention's step in place of the pair \((a, b)\).

    Examples
    --------
    >>> import numpy as np
    >>> c = float(stationary_law(np.zeros(1), np.eye(1), 0.2, convention="cs236").cov[0, 0])
    >>> bool(np.isclose(c, 1 / (1 - 0.1), rtol=1e-14))
    True
    """
    a, b = drift_and_noise(step, convention=convention)
    return ula_stationary_gaussian(mean, cov, a, b)
