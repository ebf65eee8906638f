r"""The NCSN ladder, its loss and its training (D18)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .._backend import to_numpy
from ..energies import NoiseConditionalMLP, random_mlp_weights
from ..families import GaussianMixture
from ..objectives.score_matching import multiscale_denoising_score_matching_loss
from ..train import fit
from ._checks import _flag_iv, _numpy_points, _sigmas_iv, _stages_iv

__all__ = ["NCSNResult", "geometric_sigmas", "ncsn_loss", "train_ncsn", "noisy_mixture_score"]


class NCSNResult(NamedTuple):
    """What [`train_ncsn`][refebm.generation.train_ncsn] returns.

    Attributes
    ----------
    model : NoiseConditionalMLP
        The trained network; ``model.score(x, sigma)`` is \\(s_\\theta(x, \\sigma)\\), and
        ``model.layers`` its weights as ``(W, b)`` pairs.
    losses : ndarray, shape (S,)
        The minibatch loss [`ncsn_loss`][refebm.generation.ncsn_loss] at the start of each of the \\(S\\) steps (all
        stages, in order).
    sigmas : ndarray, shape (L,)
        The noise levels it was trained for, decreasing.
    """

    model: Any
    losses: np.ndarray
    sigmas: np.ndarray



# ----------------------------------------------------------------------------------------
# the noise ladder and the objective
# ----------------------------------------------------------------------------------------

def geometric_sigmas(data, n_levels, *, sigma_min=0.05):
    r"""The NCSN noise ladder: geometric from the data's diameter down to ``sigma_min``.

    Parameters
    ----------
    data : array, shape (N, d)
        Training points.
    n_levels : int >= 2
        \(L\).
    sigma_min : float > 0
        \(\sigma_L\); must be below the diameter.

    Returns
    -------
    sigmas : ndarray, shape (L,)
        \(\sigma_i = \sigma_1 (\sigma_L / \sigma_1)^{(i-1)/(L-1)}\), decreasing, with
        \(\sigma_1 = \max_{j,k} \|x_j - x_k\|\).

    Math
    ----
    D18; Song and Ermon (2020, "Improved techniques", technique 1): at \(\sigma_1\) equal to the
    largest distance between data points, \(p_{\sigma_1}\) is one broad bump that covers every
    mode and the gaps between them, so Langevin at that level moves freely between modes and
    starts from the modes' true proportions. \(\sigma_L = 0.05\) is small beside the width of
    the toy modes (1 for the Gaussian mixture, 0.1 for the moons), so \(p_{\sigma_L}\) is the
    data density up to a variance increase of \(\sigma_L^2\). A constant ratio
    \(\gamma = \sigma_{i} / \sigma_{i+1}\) makes each noisy density overlap the next one equally
    (technique 2), so the samples of one level are a good start for the next.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.generation import geometric_sigmas
    >>> geometric_sigmas(np.array([[0.0, 0.0], [3.0, 4.0]]), 3, sigma_min=0.2).tolist()
    [5.0, 1.0, 0.2]
    """
    dtype = _v.result_dtype(_numpy_points("data", data))
    x = np.asarray(to_numpy(data), dtype=np.float64)
    n_levels = _v.integer("n_levels", n_levels, minimum=2)
    sigma_min = float(_v.scalar("sigma_min", sigma_min, low=0.0, low_open=True))
    diameter = _diameter(x)
    if not diameter > sigma_min:
        raise ValueError(
            f"`sigma_min` must be below the diameter of `data` ({diameter!r}), got {sigma_min!r}")
    return _v.as_dtype(
        diameter * (sigma_min / diameter) ** (np.arange(n_levels) / (n_levels - 1.0)), dtype)


def _diameter(x, block=512):
    r"""\(\max_{j,k} \|x_j - x_k\|\), exactly: squared distances by the Gram identity
    \(\|a\|^2 + \|b\|^2 - 2 a \cdot b\) in blocks of rows, then every pair within a relative
    \(10^{-8}\) of a block's largest recomputed as \(\|a - b\|\) directly (the Gram identity
    loses digits to cancellation; the recomputation does not)."""
    x = x - np.mean(x, axis=0)
    norms = np.sum(x * x, axis=1)
    best = 0.0
    for start in range(0, x.shape[0], block):
        rows = x[start:start + block]
        sq = norms[start:start + block, None] + norms[None, :] - 2.0 * (rows @ x.T)
        top = np.max(sq)
        i, j = np.nonzero(sq >= top - 1e-8 * max(top, 1e-300))
        exact = np.sqrt(np.sum((rows[i] - x[j]) ** 2, axis=1))
        best = max(best, float(np.max(exact)))
    return best


def ncsn_loss(score, x, levels, noise, sigmas):
    r"""The multi-scale denoising score-matching loss with one noise level per point.

    Arguments in the order of every refebm function: the model, the data, the step's random
    draws (``levels`` then ``noise``, the order in which [`train_ncsn`][refebm.generation.train_ncsn]
    draws them), then the ladder. It is
    [`multiscale_denoising_score_matching_loss`][refebm.objectives.multiscale_denoising_score_matching_loss]
    ``(None, x, noise, sigmas, score=score, labels=levels)``, which computes it, with the ladder
    also checked to be strictly decreasing.

    Parameters
    ----------
    score : callable
        ``score(x, sigma) -> (n, d)`` with ``sigma`` of shape ``(n,)`` (one level per row), for
        instance ``NoiseConditionalMLP(weights).score``.
    x : array, shape (n, d)
        Clean data.
    levels : int array, shape (n,)
        The level \(l_i \in \{0, \dots, L - 1\}\) of each point (0-based: ``sigmas[l_i]``).
    noise : array, shape (n, d)
        Standard normal \(z_i\).
    sigmas : array, shape (L,)
        The ladder, strictly decreasing.

    Returns
    -------
    loss : scalar
        \(\frac1n \sum_i \tfrac12 \big\|\sigma_{l_i} s(x_i + \sigma_{l_i} z_i, \sigma_{l_i}) +
        z_i\big\|^2\); differentiable by autograd through ``score``. float32 when ``x``,
        ``noise`` and ``sigmas`` all are, else float64.

    Math
    ----
    D18, Song and Ermon (2019) eq. (5)-(6) with \(\lambda(\sigma) = \sigma^2\): each term is
    \(\sigma^2 \cdot \tfrac12 \|s(\tilde x, \sigma) + z / \sigma\|^2\), the weighted denoising
    loss of D16, of order 1 at every level. With \(l_i\) uniform on the levels its expectation
    is the multi-scale loss \(\frac1L \sum_l \sigma_l^2 \ell_\text{DSM}(\sigma_l)\) of
    [`refebm.objectives.score_matching.multiscale_denoising_score_matching_loss`][refebm.objectives.multiscale_denoising_score_matching_loss]; with
    every point repeated once at every level it equals that loss exactly. One network pass per
    step instead of \(L\) (NCSN's own training draws one level per point the same way).

    Examples
    --------
    The exact score of \(\mathcal N(0, I) * \mathcal N(0, \sigma^2 I)\) at \(x = 0\):
    \(\sigma s + z = z / (1 + \sigma^2)\), so with \(\sigma = 1\), \(z = (2, 0)\) the loss is
    \(\tfrac12 \cdot 1^2 = 0.5\).

    >>> import numpy as np
    >>> from refebm.generation import ncsn_loss
    >>> s = lambda x, sigma: -x / (1.0 + sigma[:, None] ** 2)
    >>> float(ncsn_loss(s, np.zeros((1, 2)), np.array([0]), np.array([[2.0, 0.0]]),
    ...                 np.array([1.0])))
    0.5
    """
    _v.function("score", score)
    x = _numpy_points("x", x)
    n, d = np.shape(getval(x))
    _v.not_foreign("levels", levels)
    lv = _v._host(levels)
    if lv.dtype.kind not in "iu":
        raise TypeError(f"`levels` must be an integer array, got {_v.show(levels)}"
                        f" (dtype {lv.dtype})")
    if lv.shape != (n,):
        raise ValueError(f"`levels` must have shape ({n},) (one per point), got shape {lv.shape}")
    _v.not_foreign("noise", noise)
    noise = _v.real_array("noise", noise, ndim=2)
    _v.same_shape("x", x, "noise", noise)
    sig = _sigmas_iv(sigmas)
    if np.any(lv < 0) or np.any(lv >= sig.size):
        raise ValueError(f"`levels` must lie in 0..{sig.size - 1} (indices into `sigmas`), got "
                         f"{_v.show(levels)}")
    dtype = _v.result_dtype(x, noise, sigmas)
    return _v.as_dtype(multiscale_denoising_score_matching_loss(
        None, x, noise, sig, score=score, labels=lv), dtype)


def train_ncsn(data, sigmas, *, hidden=64, activation="swish", steps=(3000, 1000),
               step_size=(1e-2, 1e-3), batch_size=None, rng=None, progress=False):
    r"""Train a noise-conditional score network on ``data`` (NCSN, D18).

    Parameters
    ----------
    data : array, shape (N, d)
        Training points.
    sigmas : array, shape (L,)
        Strictly decreasing noise levels (for instance [`geometric_sigmas`][refebm.generation.geometric_sigmas]).
    hidden : int >= 1
        Width of the two hidden layers of the
        [`NoiseConditionalMLP`][refebm.energies.NoiseConditionalMLP] (input \([x, \log\sigma]\), output the
        energy, scaled by \(1/\sigma\)).
    activation : {"swish", "softplus", "tanh"}
        Swish (the default) grows linearly for large inputs, as the noisy scores do far out
        at the large levels; tanh saturates there.
    steps : int >= 1, or sequence of them
        Adam steps ([`refebm.train.fit`][refebm.train.fit]), one entry per stage.
    step_size : float > 0, or sequence of them
        Adam's learning rate for each stage (the same length as ``steps``). Adam restarts at
        each stage. The default, 3000 steps at 1e-2 then 1000 at 1e-3, is a piecewise-constant
        decay: the small levels' scores are learned only once the rate drops, because their
        terms in the loss are small beside its noise (D16).
    batch_size : int, 1 <= batch_size <= N, optional
        Points per step, each with its own level and noise; default ``min(256, N)``.
    rng : numpy.random.Generator or int
        The only source of randomness. In order: the initial weights (Glorot normal,
        [`refebm.energies.random_mlp_weights`][refebm.energies.random_mlp_weights]), then per step the minibatch permutation
        (once per epoch), the levels ``rng.integers(0, L, batch_size)`` and the noise
        ``rng.standard_normal((batch_size, d))``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    NCSNResult
        ``(model, losses, sigmas)``.

    Math
    ----
    Minimizes [`ncsn_loss`][refebm.generation.ncsn_loss], an unbiased estimate of Song and Ermon's (2019) eq. (6) with
    \(\lambda(\sigma) = \sigma^2\),
    \(\frac1L \sum_l \tfrac{\sigma_l^2}2\, \mathbb E \|s_\theta(x + \sigma_l z, \sigma_l) + z /
    \sigma_l\|^2\), whose minimizer is \(s_\theta(\cdot, \sigma_l) = \nabla \log p_{\sigma_l}\)
    at every level (D16 at each \(\sigma_l\)).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.generation import train_ncsn
    >>> data = np.random.default_rng(0).normal(size=(64, 2))
    >>> res = train_ncsn(data, np.array([2.0, 0.5]), hidden=8, steps=(3, 2),
    ...                  step_size=(1e-2, 1e-3), batch_size=16, rng=0)
    >>> res.losses.shape, res.model.score(data[:4], 0.5).shape
    ((5,), (4, 2))
    """
    data = _numpy_points("data", data)
    x = np.asarray(to_numpy(data), dtype=np.float64)
    n, d = x.shape
    dtype = _v.result_dtype(data, sigmas)
    sig = _sigmas_iv(sigmas)
    hidden = _v.integer("hidden", hidden, minimum=1)
    if not isinstance(activation, str):
        raise TypeError(f"`activation` must be a string, got {_v.show(activation)}")
    _v.one_of("activation", activation, ("swish", "softplus", "tanh"))
    stages = _stages_iv(steps, step_size)
    batch_size = min(256, n) if batch_size is None else _v.integer(
        "batch_size", batch_size, minimum=1, maximum=n)
    progress = _flag_iv("progress", progress)
    gen = _v.rng(rng)
    n_levels = sig.size
    theta0 = random_mlp_weights([d + 1, hidden, hidden, 1], gen)

    def loss(theta, batch, rng):
        levels = rng.integers(0, n_levels, size=batch.shape[0])
        z = rng.standard_normal(batch.shape)
        model = NoiseConditionalMLP(theta, activation=activation)
        return ncsn_loss(model.score, batch, levels, z, sig)

    theta, losses = theta0, []
    for n_steps, rate in stages:
        res = fit(loss, theta, x, optimizer="adam", steps=n_steps, step_size=rate, rng=gen,
                  progress=progress, batch_size=batch_size)
        theta = res.theta
        losses.append(res.losses)
    if dtype != "float64":   # trained in float64; returned in the caller's dtype
        theta = [tuple(np.asarray(p, dtype=dtype) for p in layer) for layer in theta]
    return NCSNResult(NoiseConditionalMLP(theta, activation=activation),
                      np.concatenate(losses).astype(dtype), sig.astype(dtype))


def noisy_mixture_score(mixture):
    r"""The exact score of a Gaussian mixture perturbed by \(\mathcal N(0, \sigma^2 I)\).

    Parameters
    ----------
    mixture : GaussianMixture
        \(p = \sum_k w_k \mathcal N(\mu_k, \Sigma_k)\).

    Returns
    -------
    score_fn : callable
        ``score_fn(x, sigma) -> (n, d)`` for a scalar ``sigma > 0``: the score of
        \(p_\sigma = p * \mathcal N(0, \sigma^2 I) = \sum_k w_k \mathcal N(\mu_k, \Sigma_k +
        \sigma^2 I)\) (closed form, [`GaussianMixture.score`][refebm.families.GaussianMixture.score]). It is what a perfectly
        trained NCSN would return, so it separates the sampler's error from the model's.

    Math
    ----
    D18, D21: the sum of independent \(X \sim p\) and \(\sigma Z\) has density \(p * \mathcal
    N(0, \sigma^2 I)\); for one Gaussian component, \(\mathcal N(\mu, \Sigma + \sigma^2 I)\),
    and convolution is linear in the mixture.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.families import GaussianMixture
    >>> from refebm.generation import noisy_mixture_score
    >>> mix = GaussianMixture(np.array([1.0]), np.array([[0.0]]), np.array([[[1.0]]]))
    >>> noisy_mixture_score(mix)(np.array([[4.0]]), 1.0).tolist()   # -4 / (1 + 1)
    [[-2.0]]
    """
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"`mixture` must be a refebm.families.GaussianMixture, got "
                        f"{_v.show(mixture)}")
    weights = to_numpy(mixture.weights)
    means = to_numpy(mixture.means)
    covs = to_numpy(mixture.covs)
    eye = np.eye(mixture.dim, dtype=np.result_type(weights, means, covs))
    cache = {}

    def score_fn(x, sigma):
        sigma = float(_v.scalar("sigma", sigma, low=0.0, low_open=True))
        if sigma not in cache:
            cache[sigma] = GaussianMixture(weights, means, covs + sigma**2 * eye)
        return cache[sigma].score(x)

    return score_fn


