r"""Denoising score matching, its control variate, and the multi-scale NCSN loss (D16-D18).

Convention: \(p_\theta = e^{-E_\theta} / Z_\theta\) (the lectures' \(f = -E\)); the model
enters through its score \(s_\theta = -\nabla_x E_\theta\), given as ``energy=`` or ``score=``.
"""

from __future__ import annotations

import numpy as np
from autograd.tracer import getval

from ... import _validate as _v
from ..._backend import array_namespace, to_numpy
from ._common import _model_score, _reduce, _reduction_iv, _score_values, _sigma_iv

__all__ = ["dsm_control_variate", "denoising_score_matching_loss",
           "multiscale_denoising_score_matching_loss"]


# ----------------------------------------------------------------------------------------
# denoising score matching and its control variate (D16, D17)
# ----------------------------------------------------------------------------------------

def _dsm_iv(x, sigma, noise, energy, score, conditional=False):
    xp = array_namespace(x, noise)
    x = _v.points("x", x, xp=xp)
    noise = _v.real_array("noise", noise, xp=xp, ndim=2)
    _v.same_shape("x", x, "noise", noise)
    s_fn, _ = _model_score(energy, score, conditional=conditional)
    return xp, x, noise, s_fn


def dsm_control_variate(x, sigma, noise, *, energy=None, score=None):
    r"""The control variate of Wang et al. (2020) at the scale of this library's DSM loss.

    Parameters
    ----------
    x : array, shape (n, d)
        Clean data.
    sigma : float > 0
        Noise level.
    noise : array, shape (n, d)
        Standard normal draws \(z\) (the same as given to the loss).
    energy, score : callable, keyword-only
        Exactly one: ``energy(x) -> (n,)`` (score by autograd, or analytic for an MLP) or
        ``score(x) -> (n, d)``.

    Returns
    -------
    c : array, shape (n,)
        \(c(x, z) = \frac{z^\top s_\theta(x)}{\sigma} + \frac{\|z\|^2 - d}{2\sigma^2}\), with
        \(\mathbb E_z[c \mid x] = 0\) exactly.

    Math
    ----
    D17. The seed writes \(c = \frac2\sigma z^\top \nabla_x \log p(x) + \frac{\|z\|^2}{\sigma^2}
    - \frac{d}{\sigma^2}\) for the loss \(\|s(x + \sigma z) + z/\sigma\|^2\) *without* the
    \(\tfrac12\). This library's loss has the \(\tfrac12\), so its control variate is half of
    that. Derivation: with \(s(x + \sigma z) = s(x) + \sigma \nabla_x s(x) z + O(\sigma^2)\),

    \[
        \tfrac12 \big\|s(x+\sigma z) + \tfrac z\sigma\big\|^2
        = \underbrace{\frac{\|z\|^2}{2\sigma^2} + \frac{z^\top s(x)}{\sigma}}_{O(1/\sigma^2),\,
        O(1/\sigma)}
        + z^\top \nabla_x s(x)\, z + \tfrac12 \|s(x)\|^2 + O(\sigma).
    \]

    The two leading terms have conditional mean \(d / (2\sigma^2)\) (as \(\mathbb E z = 0\),
    \(\mathbb E\|z\|^2 = d\)); subtracting them minus that mean is \(c\). The rest has mean
    \(\operatorname{tr} \nabla_x s + \tfrac12\|s\|^2 + O(\sigma)\) (the exact score-matching
    integrand, D15) and a variance bounded as \(\sigma \to 0\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives.score_matching import dsm_control_variate
    >>> c = dsm_control_variate(np.zeros((1, 2)), 0.5, np.array([[1.0, 1.0]]),
    ...                         score=lambda x: -x)          # (2 - 2) / (2 * 0.25) = 0
    >>> c.tolist()
    [0.0]
    """
    xp, x, noise, s_fn = _dsm_iv(x, sigma, noise, energy, score)
    _sigma_iv(sigma)
    n, d = np.shape(getval(x))
    s_clean = _score_values("score", s_fn(x), (n, d))
    return (xp.sum(noise * s_clean, axis=1) / sigma
            + (xp.sum(noise * noise, axis=1) - d) / (2.0 * sigma**2))


def denoising_score_matching_loss(x, sigma, noise, *, energy=None, score=None,
                                  control_variate=False, reduction="mean"):
    r"""Denoising score matching with Gaussian noise, given the noise (Vincent 2011).

    Parameters
    ----------
    x : array, shape (n, d)
        Clean data.
    sigma : float > 0
        Noise level: \(\tilde x = x + \sigma z\).
    noise : array, shape (n, d)
        The standard normal draws \(z\), one per point (so two implementations fed the same
        ``noise`` return the same number).
    energy, score : callable, keyword-only
        The model, exactly one of: ``energy(x) -> (n,)`` (its score \(-\nabla_x E\) comes from
        autograd, NumPy only, or from the analytic method of an
        :class:`~refebm.energies.MLPEnergy`) or ``score(x) -> (n, d)`` (any backend). DSM needs
        only the score, so the keyword names what is passed.
    control_variate : bool
        Subtract :func:`dsm_control_variate` (same expectation, variance bounded as
        \(\sigma \to 0\)). It is computed in the cancellation-free form \(\tfrac12
        \|s(\tilde x)\|^2 + z^\top (s(\tilde x) - s(x)) / \sigma + d / (2\sigma^2)\).
    reduction : {"mean", "none"}

    Returns
    -------
    loss : scalar (or (n,))
        \(\frac1n \sum_i \tfrac12 \|s_\theta(x_i + \sigma z_i) + z_i / \sigma\|^2\), summed over
        dimensions, averaged over the batch: the convention of Song and Kingma (2021) and of
        NCSN (Song and Ermon 2019, whose multi-scale loss multiplies it by \(\sigma^2\)).

    Math
    ----
    D16: with \(q_\sigma(\tilde x \mid x) = \mathcal N(x, \sigma^2 I)\), \(\nabla_{\tilde x}
    \log q_\sigma(\tilde x \mid x) = -z/\sigma\), and

    \[
        \mathbb E_{x, z}\, \tfrac12 \|s_\theta(\tilde x) + z/\sigma\|^2
        = D_F(q_\sigma, p_\theta) + \tfrac{d}{2\sigma^2} - \tfrac12 \mathbb E_{q_\sigma}
        \|\nabla \log q_\sigma\|^2,
    \]

    where \(q_\sigma = p_\text{data} * \mathcal N(0, \sigma^2 I)\): the optimum is the noisy
    density, not the data density, and the variance of the plain estimator grows like
    \(1/\sigma^4\) (its value) and \(1/\sigma^2\) (its parameter gradient) as \(\sigma \to 0\).

    Examples
    --------
    For the score \(s(x) = -x\) and \(x = 0\): \(\tfrac12 \|{-\sigma z} + z / \sigma\|^2\).

    >>> import numpy as np
    >>> from refebm.objectives.score_matching import denoising_score_matching_loss
    >>> z = np.array([[1.0, 0.0]])
    >>> float(denoising_score_matching_loss(np.zeros((1, 2)), 0.5, z, score=lambda x: -x))
    1.125
    """
    reduction = _reduction_iv(reduction)
    if not isinstance(control_variate, (bool, np.bool_)):
        raise TypeError(f"`control_variate` must be a bool, got {_v.show(control_variate)}")
    xp, x, noise, s_fn = _dsm_iv(x, sigma, noise, energy, score)
    _sigma_iv(sigma)
    n, d = np.shape(getval(x))
    s_noisy = _score_values("score", s_fn(x + sigma * noise), (n, d))
    if control_variate:
        s_clean = _score_values("score", s_fn(x), (n, d))
        terms = (0.5 * xp.sum(s_noisy * s_noisy, axis=1)
                 + xp.sum(noise * (s_noisy - s_clean), axis=1) / sigma
                 + d / (2.0 * sigma**2))
    else:
        r = s_noisy + noise / sigma
        terms = 0.5 * xp.sum(r * r, axis=1)
    return _reduce(terms, reduction, xp)


def multiscale_denoising_score_matching_loss(x, sigmas, noise, *, energy=None, score=None,
                                             weights=None, reduction="mean"):
    r"""The multi-scale denoising loss of NCSN (Song and Ermon 2019), given the noise per level.

    Parameters
    ----------
    x : array, shape (n, d)
        Clean data.
    sigmas : array, shape (L,)
        Noise levels \(\sigma_1, \dots, \sigma_L > 0\).
    noise : array, shape (L, n, d)
        Standard normal draws, one array per level.
    energy, score : callable, keyword-only
        Exactly one: a noise-conditional energy ``energy(x, sigma) -> (n,)`` (for instance a
        :class:`~refebm.energies.NoiseConditionalMLP`) or score ``score(x, sigma) -> (n, d)``,
        called with a scalar ``sigma``.
    weights : array, shape (L,), optional
        \(\lambda(\sigma_l)\); default \(\sigma_l^2\), which makes every level's term of order 1.
    reduction : {"mean", "none"}
        The scalar, or the ``(L,)`` weighted per-level losses.

    Returns
    -------
    loss : scalar (or (L,))
        \(\frac1L \sum_l \lambda(\sigma_l)\, \ell_\text{DSM}(\sigma_l)\), with
        \(\ell_\text{DSM}\) of :func:`denoising_score_matching_loss`.

    Math
    ----
    D18, Song and Ermon (2019) eq. (6): the expectation over a uniform random level of the
    weighted DSM loss; with \(\lambda = \sigma^2\), \(\sigma^2 \ell = \tfrac12 \|\sigma s(\tilde
    x, \sigma) + z\|^2\) has a scale independent of \(\sigma\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives.score_matching import multiscale_denoising_score_matching_loss
    >>> z = np.ones((2, 1, 1))
    >>> float(multiscale_denoising_score_matching_loss(
    ...     np.zeros((1, 1)), np.array([1.0, 2.0]), z, score=lambda x, s: -x / s**2))
    0.0
    """
    reduction = _reduction_iv(reduction)
    xp = array_namespace(x, noise)
    x = _v.points("x", x, xp=xp)
    n, d = np.shape(getval(x))
    sig = _v.real_array("sigmas", sigmas, ndim=1)
    sig_host = to_numpy(sig)
    _v.positive("sigmas", sig_host)
    n_levels = sig_host.shape[0]
    noise = _v.real_array("noise", noise, xp=xp, ndim=3)
    if np.shape(getval(noise)) != (n_levels, n, d):
        raise ValueError(
            f"`noise` must have shape ({n_levels}, {n}, {d}) (one (n, d) array per level), got "
            f"shape {np.shape(getval(noise))}")
    if weights is None:
        lam = sig_host**2
    else:
        lam = to_numpy(_v.real_array("weights", weights, ndim=1))
        if lam.shape != (n_levels,):
            raise ValueError(
                f"`weights` must have shape ({n_levels},) like `sigmas`, got shape {lam.shape}")
        _v.positive("weights", lam, strict=False)
    s_fn, _ = _model_score(energy, score, conditional=True)
    per_level = []
    for level in range(n_levels):
        sigma = float(sig_host[level])
        z = noise[level, ...]
        s_noisy = _score_values("score", s_fn(x + sigma * z, sigma), (n, d))
        r = s_noisy + z / sigma
        per_level.append(float(lam[level]) * xp.mean(0.5 * xp.sum(r * r, axis=1)))
    per_level = xp.stack(per_level)
    return xp.mean(per_level) if reduction == "mean" else per_level
