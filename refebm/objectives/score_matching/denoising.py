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

def _dsm_iv(energy, x, noise, sigma, score):
    s_fn, _ = _model_score(energy, score)
    xp = array_namespace(x, noise)
    x = _v.points("x", x, xp=xp)
    noise = _v.real_array("noise", noise, xp=xp, ndim=2)
    _v.same_shape("x", x, "noise", noise)
    _sigma_iv(sigma)
    return xp, x, noise, s_fn


def dsm_control_variate(energy, x, noise, sigma, *, score=None):
    r"""The control variate of Wang et al. (2020) at the scale of this library's DSM loss.

    Parameters
    ----------
    energy : callable or None
        ``energy(x) -> (n,)`` (score by autograd, or analytic for an MLP); ``None`` when the
        model is given as ``score=``.
    x : array, shape (n, d)
        Clean data.
    noise : array, shape (n, d)
        Standard normal draws \(z\) (the same as given to the loss).
    sigma : float > 0
        Noise level.
    score : callable, optional, keyword-only
        ``score(x) -> (n, d)``, the model's score; when given it is used and ``energy`` is not
        called (any backend).

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
    >>> c = dsm_control_variate(None, np.zeros((1, 2)), np.array([[1.0, 1.0]]), 0.5,
    ...                         score=lambda x: -x)          # (2 - 2) / (2 * 0.25) = 0
    >>> c.tolist()
    [0.0]
    """
    xp, x, noise, s_fn = _dsm_iv(energy, x, noise, sigma, score)
    n, d = np.shape(getval(x))
    s_clean = _score_values("score", s_fn(x), (n, d))
    c = (xp.sum(noise * s_clean, axis=1) / sigma
         + (xp.sum(noise * noise, axis=1) - d) / (2.0 * sigma**2))
    return _v.as_dtype(c, _v.result_dtype(x, noise))


def denoising_score_matching_loss(energy, x, noise, sigma, *, score=None, control_variate=False,
                                  reduction="mean"):
    r"""Denoising score matching with Gaussian noise, given the noise (Vincent 2011).

    Parameters
    ----------
    energy : callable or None
        ``energy(x) -> (n,)``: the model, whose score \(-\nabla_x E\) comes from autograd
        (NumPy only) or from the analytic method of an [`MLPEnergy`][refebm.energies.MLPEnergy];
        ``None`` when the model is given as ``score=``.
    x : array, shape (n, d)
        Clean data.
    noise : array, shape (n, d)
        The standard normal draws \(z\), one per point (so two implementations fed the same
        ``noise`` return the same number).
    sigma : float > 0
        Noise level: \(\tilde x = x + \sigma z\).
    score : callable, optional, keyword-only
        ``score(x) -> (n, d)``, the model as a score (any backend). DSM needs only the score;
        when ``score`` is given it is used and ``energy`` is not called.
    control_variate : bool
        Subtract [`dsm_control_variate`][refebm.objectives.dsm_control_variate] (same expectation,
        variance bounded as \(\sigma \to 0\)). It is computed in the cancellation-free form
        \(\tfrac12 \|s(\tilde x)\|^2 + z^\top (s(\tilde x) - s(x)) / \sigma + d / (2\sigma^2)\).
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
    >>> float(denoising_score_matching_loss(None, np.zeros((1, 2)), z, 0.5, score=lambda x: -x))
    1.125
    """
    xp, x, noise, s_fn = _dsm_iv(energy, x, noise, sigma, score)
    control_variate = _v.boolean("control_variate", control_variate)
    reduction = _reduction_iv(reduction)
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
    return _v.as_dtype(_reduce(terms, reduction, xp), _v.result_dtype(x, noise))




def multiscale_denoising_score_matching_loss(energy, x, noise, sigmas, *, score=None,
                                             labels=None, weights=None, reduction="mean"):
    r"""The multi-scale denoising loss of NCSN (Song and Ermon 2019), given the noise.

    Two forms: the average over all levels (every point perturbed at every level, ``noise`` of
    shape ``(L, n, d)``), or one level per point (``labels``, ``noise`` of shape ``(n, d)``), as
    NCSN's training loss draws it.

    Parameters
    ----------
    energy : callable or None
        A noise-conditional energy ``energy(x, sigma) -> (n,)`` (for instance a
        [`NoiseConditionalMLP`][refebm.energies.NoiseConditionalMLP]); ``None`` when the model is
        given as ``score=``.
    x : array, shape (n, d)
        Clean data.
    noise : array, shape (L, n, d), or (n, d) with ``labels``
        Standard normal draws: one array per level, or one row per point.
    sigmas : array, shape (L,)
        Noise levels \(\sigma_1, \dots, \sigma_L > 0\).
    score : callable, optional, keyword-only
        A noise-conditional score ``score(x, sigma) -> (n, d)``; when given it is used and
        ``energy`` is not called. Without ``labels`` the model is called once per level with a
        scalar ``sigma``; with ``labels``, once, with ``sigma`` of shape ``(n,)`` (the level of
        each row), as NCSN calls its network.
    labels : int array, shape (n,), optional, keyword-only
        The level \(l_i \in \{0, \dots, L - 1\}\) of each point (0-based indices into
        ``sigmas``).
    weights : array, shape (L,), optional
        \(\lambda(\sigma_l)\); default \(\sigma_l^2\), which makes every level's term of order 1.
    reduction : {"mean", "none"}
        The scalar; or, without ``labels``, the ``(L,)`` weighted per-level losses, with
        ``labels`` the ``(n,)`` weighted per-point terms.

    Returns
    -------
    loss : scalar (or (L,), or (n,))
        Without labels: \(\frac1L \sum_l \lambda(\sigma_l)\, \ell_\text{DSM}(\sigma_l)\), with
        \(\ell_\text{DSM}\) of
        [`denoising_score_matching_loss`][refebm.objectives.denoising_score_matching_loss]. With
        labels: \(\frac1n \sum_i \lambda(\sigma_{l_i})\, \tfrac12 \|s(x_i + \sigma_{l_i} z_i,
        \sigma_{l_i}) + z_i / \sigma_{l_i}\|^2\).

    Math
    ----
    D18, Song and Ermon (2019) eq. (5)-(6): the expectation over a uniform random level of the
    weighted DSM loss; with \(\lambda = \sigma^2\), \(\sigma^2 \ell = \tfrac12 \|\sigma s(\tilde
    x, \sigma) + z\|^2\) has a scale independent of \(\sigma\). With labels drawn uniformly
    the per-point form is an unbiased estimate of the average form; with every point repeated
    once at every level (and the same noise) the two are equal exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives.score_matching import multiscale_denoising_score_matching_loss
    >>> z = np.ones((2, 1, 1))
    >>> float(multiscale_denoising_score_matching_loss(
    ...     None, np.zeros((1, 1)), z, np.array([1.0, 2.0]), score=lambda x, s: -x / s**2))
    0.0
    >>> float(multiscale_denoising_score_matching_loss(            # one level per point
    ...     None, np.zeros((2, 1)), np.ones((2, 1)), np.array([1.0, 2.0]),
    ...     score=lambda x, s: 0.0 * x, labels=np.array([0, 1])))  # (1/2)(1 + 1) / 2
    0.5
    """
    s_fn, _ = _model_score(energy, score, conditional=True)
    xp = array_namespace(x, noise)
    x = _v.points("x", x, xp=xp)
    n, d = np.shape(getval(x))
    noise = _v.real_array("noise", noise, xp=xp, ndim=(2, 3))
    sig = _v.real_array("sigmas", sigmas, ndim=1)
    sig_host = np.asarray(to_numpy(sig), dtype=np.float64)
    _v.positive("sigmas", sig_host)
    n_levels = sig_host.shape[0]
    if labels is not None:
        levels = _v.labels("labels", labels, n, n_levels,
                           what="one index into `sigmas` per point of `x`")
        if np.shape(getval(noise)) != (n, d):
            raise ValueError(
                f"`noise` must have shape ({n}, {d}) (one row per point) with `labels`, got "
                f"shape {np.shape(getval(noise))}")
    elif np.shape(getval(noise)) != (n_levels, n, d):
        raise ValueError(
            f"`noise` must have shape ({n_levels}, {n}, {d}) (one (n, d) array per level), got "
            f"shape {np.shape(getval(noise))}; pass `labels` for one level per point")
    if weights is None:
        lam = sig_host**2
    else:
        lam = np.asarray(to_numpy(_v.real_array("weights", weights, ndim=1)), dtype=np.float64)
        if lam.shape != (n_levels,):
            raise ValueError(
                f"`weights` must have shape ({n_levels},) like `sigmas`, got shape {lam.shape}")
        _v.positive("weights", lam, strict=False)
    reduction = _reduction_iv(reduction)
    dtype = _v.result_dtype(x, noise)
    if labels is not None:
        s_rows = sig_host[levels]                          # (n,) the level of each point
        s_col = xp.asarray(np.reshape(s_rows, (n, 1)))
        s_noisy = _score_values("score", s_fn(x + s_col * noise, xp.asarray(s_rows)), (n, d))
        r = s_noisy + noise / s_col
        terms = xp.asarray(lam[levels]) * (0.5 * xp.sum(r * r, axis=1))
        return _v.as_dtype(xp.mean(terms) if reduction == "mean" else terms, dtype)
    per_level = []
    for level in range(n_levels):
        sigma = float(sig_host[level])
        z = noise[level, ...]
        s_noisy = _score_values("score", s_fn(x + sigma * z, sigma), (n, d))
        r = s_noisy + z / sigma
        per_level.append(float(lam[level]) * xp.mean(0.5 * xp.sum(r * r, axis=1)))
    per_level = xp.stack(per_level)
    return _v.as_dtype(xp.mean(per_level) if reduction == "mean" else per_level, dtype)
