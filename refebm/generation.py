r"""Score-based generation on toy data (D18; Song and Ermon 2019, NCSN).

One noise-conditional network \(s_\theta(x, \sigma) \approx \nabla_x \log p_\sigma(x)\) is trained
for the data density perturbed at every level of a geometric ladder \(\sigma_1 > \dots >
\sigma_L\), \(p_\sigma = p_\text{data} * \mathcal N(0, \sigma^2 I)\), by the multi-scale
denoising score-matching objective; samples come from annealed Langevin dynamics down the
ladder. The module also measures what the samples get right: the fraction of samples in each
mode (:func:`mode_weights`), for annealed Langevin and for plain Langevin with the same model
from the same start (:func:`compare_samplers`).

Convention: \(p(x) = e^{-E(x)} / Z\) (the lectures' \(f = -E\)); a score is \(\nabla_x \log p
= -\nabla_x E\), shape ``(n, d)``. The network is a
:class:`~refebm.energies.NoiseConditionalMLP`, an energy \(E_\theta(x, \sigma)\) whose score is
\(-\nabla_x E_\theta\). Langevin steps use NCSN's parametrization \(x + \tfrac{\alpha}{2} s +
\sqrt{\alpha} z\), the CS236 step with \(\epsilon = \alpha / 2\)
(:mod:`refebm.samplers.langevin`).

Why the ladder (D18). Far from the data the score of \(p\) is estimated from almost no samples,
and where two modes are separated by a region of low density the score inside each mode does
not depend on the modes' weights at all: for \(p = w\, p_1 + (1 - w)\, p_2\) with disjoint
supports, \(\nabla \log p = \nabla \log p_1\) on the support of \(p_1\), whatever \(w\). Score
matching therefore cannot see \(w\), and plain Langevin, which never crosses the gap, keeps the
proportions of its starting points. Large noise fills the gap; the weights show in the score of
\(p_\sigma\), and Langevin at that level mixes between the modes before the ladder narrows.

NumPy only (the training differentiates with autograd); :func:`mode_weights` runs on any
array namespace.

Examples
--------
>>> import numpy as np
>>> from refebm.generation import mode_weights
>>> mode_weights(np.array([[-1.0, 0.0], [2.0, 0.0], [3.0, 1.0], [0.9, 0.0]]),
...              np.array([[-1.0, 0.0], [1.0, 0.0]])).tolist()
[0.25, 0.75]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from . import _validate as _v
from ._backend import array_namespace, concat, is_numpy_namespace, to_numpy
from .energies import NoiseConditionalMLP, random_mlp_weights
from .families import GaussianMixture
from .samplers import annealed_langevin
from .train import fit

__all__ = [
    "NCSNResult",
    "Comparison",
    "TwoMoons",
    "geometric_sigmas",
    "ncsn_loss",
    "train_ncsn",
    "noisy_mixture_score",
    "mode_weights",
    "compare_samplers",
    "two_moons",
    "two_moons_from_noise",
]


class NCSNResult(NamedTuple):
    """What :func:`train_ncsn` returns.

    Attributes
    ----------
    model : NoiseConditionalMLP
        The trained network; ``model.score(x, sigma)`` is \\(s_\\theta(x, \\sigma)\\), and
        ``model.layers`` its weights as ``(W, b)`` pairs.
    losses : ndarray, shape (S,)
        The minibatch loss :func:`ncsn_loss` at the start of each of the \\(S\\) steps (all
        stages, in order).
    sigmas : ndarray, shape (L,)
        The noise levels it was trained for, decreasing.
    """

    model: Any
    losses: np.ndarray
    sigmas: np.ndarray


class Comparison(NamedTuple):
    """What :func:`compare_samplers` returns: the two sample sets and their mode weights.

    Attributes
    ----------
    annealed, plain : ndarray, shape (n, d)
        Annealed Langevin down the ladder, and plain Langevin at the smallest level.
    annealed_weights, plain_weights : ndarray, shape (K,)
        :func:`mode_weights` of each.
    """

    annealed: np.ndarray
    plain: np.ndarray
    annealed_weights: np.ndarray
    plain_weights: np.ndarray


class TwoMoons(NamedTuple):
    """Points ``x`` ``(n, 2)`` of the two-moons set and the moon of each, ``labels`` ``(n,)``."""

    x: np.ndarray
    labels: np.ndarray


# ----------------------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------------------

def _numpy_points(name, x, d=None):
    xp = array_namespace(x)
    if not is_numpy_namespace(xp):
        raise TypeError(
            f"`{name}` must be a NumPy array (refebm.generation trains with autograd), got an "
            f"array of {getattr(xp, '__name__', xp)}")
    return _v.points(name, x, d=d)


def _sigmas_iv(sigmas):
    """``sigmas`` as a float64 NumPy vector, positive and strictly decreasing."""
    if isinstance(getval(sigmas), (str, bytes)) or getval(sigmas) is None:
        raise TypeError(f"`sigmas` must be a real array, got {_v.show(sigmas)}")
    host = np.asarray(to_numpy(_v.real_array("sigmas", sigmas, ndim=1)), dtype=np.float64)
    _v.positive("sigmas", host)
    if host.size > 1 and np.any(np.diff(host) >= 0):
        raise ValueError(
            f"`sigmas` must be strictly decreasing (sigma_1 > ... > sigma_L), got "
            f"{_v.show(host)}")
    return host


def _flag_iv(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {_v.show(value)}")
    return bool(value)


def _stages_iv(steps, step_size):
    """``steps`` and ``step_size`` as a list of ``(int, float)`` stages of equal length."""
    steps_seq = list(steps) if isinstance(steps, (list, tuple)) else [steps]
    rate_seq = list(step_size) if isinstance(step_size, (list, tuple)) else [step_size]
    if not steps_seq:
        raise ValueError(f"`steps` must not be empty, got {_v.show(steps)}")
    if len(steps_seq) != len(rate_seq):
        raise ValueError(
            f"`step_size` must have one entry per stage of `steps` ({len(steps_seq)}), got "
            f"{len(rate_seq)}")
    return [(_v.integer("steps", a, minimum=1),
             float(_v.scalar("step_size", b, low=0.0, low_open=True)))
            for a, b in zip(steps_seq, rate_seq)]


def _labels_iv(labels, m):
    """Integer labels ``(m,)`` with values ``0..K-1``; returns them and ``K``."""
    host = to_numpy(getval(labels))
    if host.dtype.kind not in "iu":
        raise TypeError(f"`labels` must be an integer array, got {_v.show(labels)}"
                        f" (dtype {host.dtype})")
    if host.shape != (m,):
        raise ValueError(f"`labels` must have shape ({m},) (one per center), got shape "
                         f"{host.shape}")
    if np.any(host < 0):
        raise ValueError(f"`labels` must be >= 0, got {_v.show(labels)}")
    return host, int(host.max()) + 1


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
    x = np.asarray(to_numpy(_numpy_points("data", data)), dtype=np.float64)
    n_levels = _v.integer("n_levels", n_levels, minimum=2)
    sigma_min = float(_v.scalar("sigma_min", sigma_min, low=0.0, low_open=True))
    diameter = _diameter(x)
    if not diameter > sigma_min:
        raise ValueError(
            f"`sigma_min` must be below the diameter of `data` ({diameter!r}), got {sigma_min!r}")
    return diameter * (sigma_min / diameter) ** (np.arange(n_levels) / (n_levels - 1.0))


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


def ncsn_loss(score, x, sigmas, levels, noise):
    r"""The multi-scale denoising score-matching loss with one noise level per point.

    Parameters
    ----------
    score : callable
        ``score(x, sigma) -> (n, d)`` with ``sigma`` of shape ``(n,)`` (one level per row), for
        instance ``NoiseConditionalMLP(weights).score``.
    x : array, shape (n, d)
        Clean data.
    sigmas : array, shape (L,)
        The ladder, strictly decreasing.
    levels : int array, shape (n,)
        The level \(l_i \in \{0, \dots, L - 1\}\) of each point (0-based: ``sigmas[l_i]``).
    noise : array, shape (n, d)
        Standard normal \(z_i\).

    Returns
    -------
    loss : scalar
        \(\frac1n \sum_i \tfrac12 \big\|\sigma_{l_i} s(x_i + \sigma_{l_i} z_i, \sigma_{l_i}) +
        z_i\big\|^2\); differentiable by autograd through ``score``.

    Math
    ----
    D18, Song and Ermon (2019) eq. (5)-(6) with \(\lambda(\sigma) = \sigma^2\): each term is
    \(\sigma^2 \cdot \tfrac12 \|s(\tilde x, \sigma) + z / \sigma\|^2\), the weighted denoising
    loss of D16, of order 1 at every level. With \(l_i\) uniform on the levels its expectation
    is the multi-scale loss \(\frac1L \sum_l \sigma_l^2 \ell_\text{DSM}(\sigma_l)\) of
    :func:`refebm.objectives.score_matching.multiscale_denoising_score_matching_loss`; with
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
    >>> float(ncsn_loss(s, np.zeros((1, 2)), np.array([1.0]), np.array([0]),
    ...                 np.array([[2.0, 0.0]])))
    0.5
    """
    _v.function("score", score)
    x = _numpy_points("x", x)
    n, d = np.shape(getval(x))
    sig = _sigmas_iv(sigmas)
    lv = to_numpy(getval(levels))
    if lv.dtype.kind not in "iu":
        raise TypeError(f"`levels` must be an integer array, got {_v.show(levels)}"
                        f" (dtype {lv.dtype})")
    if lv.shape != (n,):
        raise ValueError(f"`levels` must have shape ({n},) (one per point), got shape {lv.shape}")
    if np.any(lv < 0) or np.any(lv >= sig.size):
        raise ValueError(f"`levels` must lie in 0..{sig.size - 1} (indices into `sigmas`), got "
                         f"{_v.show(levels)}")
    noise = _v.real_array("noise", noise, ndim=2)
    _v.same_shape("x", x, "noise", noise)
    s_point = sig[lv]  # (n,) the level of each point
    s_col = np.reshape(s_point, (n, 1))
    out = score(x + s_col * noise, s_point)
    if np.shape(getval(out)) != (n, d):
        raise ValueError(f"`score` must return shape ({n}, {d}), got shape "
                         f"{np.shape(getval(out))}")
    r = s_col * out + noise
    return anp.mean(0.5 * anp.sum(r * r, axis=1))


def train_ncsn(data, sigmas, *, hidden=64, activation="swish", steps=(3000, 1000),
               step_size=(1e-2, 1e-3), batch_size=None, rng=None, progress=False):
    r"""Train a noise-conditional score network on ``data`` (NCSN, D18).

    Parameters
    ----------
    data : array, shape (N, d)
        Training points.
    sigmas : array, shape (L,)
        Strictly decreasing noise levels (for instance :func:`geometric_sigmas`).
    hidden : int >= 1
        Width of the two hidden layers of the
        :class:`~refebm.energies.NoiseConditionalMLP` (input \([x, \log\sigma]\), output the
        energy, scaled by \(1/\sigma\)).
    activation : {"swish", "softplus", "tanh"}
        Swish (the default) grows linearly for large inputs, as the noisy scores do far out
        at the large levels; tanh saturates there.
    steps : int >= 1, or sequence of them
        Adam steps (:func:`refebm.train.fit`), one entry per stage.
    step_size : float > 0, or sequence of them
        Adam's learning rate for each stage (the same length as ``steps``). Adam restarts at
        each stage. The default, 3000 steps at 1e-2 then 1000 at 1e-3, is a piecewise-constant
        decay: the small levels' scores are learned only once the rate drops, because their
        terms in the loss are small beside its noise (D16).
    batch_size : int, 1 <= batch_size <= N, optional
        Points per step, each with its own level and noise; default ``min(256, N)``.
    rng : numpy.random.Generator or int
        The only source of randomness. In order: the initial weights (Glorot normal,
        :func:`refebm.energies.random_mlp_weights`), then per step the minibatch permutation
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
    Minimizes :func:`ncsn_loss`, an unbiased estimate of Song and Ermon's (2019) eq. (6) with
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
    x = np.asarray(to_numpy(_numpy_points("data", data)), dtype=np.float64)
    n, d = x.shape
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
        return ncsn_loss(model.score, batch, sig, levels, z)

    theta, losses = theta0, []
    for n_steps, rate in stages:
        res = fit(loss, theta, x, optimizer="adam", steps=n_steps, step_size=rate, rng=gen,
                  progress=progress, batch_size=batch_size)
        theta = res.theta
        losses.append(res.losses)
    return NCSNResult(NoiseConditionalMLP(theta, activation=activation),
                      np.concatenate(losses), sig)


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
        \sigma^2 I)\) (closed form, :meth:`GaussianMixture.score`). It is what a perfectly
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
    eye = np.eye(mixture.dim)
    cache = {}

    def score_fn(x, sigma):
        sigma = float(_v.scalar("sigma", sigma, low=0.0, low_open=True))
        if sigma not in cache:
            cache[sigma] = GaussianMixture(weights, means, covs + sigma**2 * eye)
        return cache[sigma].score(x)

    return score_fn


# ----------------------------------------------------------------------------------------
# what the samples get right
# ----------------------------------------------------------------------------------------

def mode_weights(samples, centers, labels=None):
    r"""The fraction of samples nearest to each mode.

    Parameters
    ----------
    samples : array, shape (n, d)
    centers : array, shape (M, d)
        The modes' centers, or (with ``labels``) reference points that trace each mode's
        shape (the noise-free arcs of :func:`two_moons_from_noise`, say).
    labels : int array, shape (M,), optional
        The mode of each center, values ``0..K-1``; default: center ``k`` is mode ``k``.

    Returns
    -------
    weights : array, shape (K,)
        \(\hat w_k = \frac1n \#\{i : \text{label of the center nearest to } x_i = k\}\)
        (Euclidean distance; a tie goes to the first center), summing to 1. In the namespace
        of ``samples``.

    Math
    ----
    D18: the estimate of the mode weights that plain Langevin gets wrong. For \(n\) independent
    samples from a law that puts mass \(w_k\) in the region nearest to mode \(k\), \(n \hat w_k
    \sim \operatorname{Binomial}(n, w_k)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.generation import mode_weights
    >>> x = np.array([[0.0, 0.1], [5.0, 5.0], [4.0, 6.0], [0.2, 0.0]])
    >>> mode_weights(x, np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]]),
    ...              labels=np.array([0, 0, 1])).tolist()
    [0.5, 0.5]
    """
    xp = array_namespace(samples, centers)
    x = _v.points("samples", samples, xp=xp)
    d = int(x.shape[1])
    c = _v.points("centers", centers, d=d, xp=xp)
    m = int(c.shape[0])
    if labels is None:
        lab_host, k = np.arange(m), m
    else:
        lab_host, k = _labels_iv(labels, m)
    lab = xp.asarray(lab_host)
    n = int(x.shape[0])
    nearest = []
    for start in range(0, n, 4096):
        block = x[start:min(start + 4096, n), ...]
        diff = xp.expand_dims(block, axis=1) - xp.expand_dims(c, axis=0)
        nearest.append(xp.take(lab, xp.argmin(xp.sum(diff * diff, axis=2), axis=1)))
    nearest = nearest[0] if len(nearest) == 1 else concat(nearest, axis=0, xp=xp)
    counts = [xp.sum(xp.astype(nearest == j, xp.float64)) for j in range(k)]
    return xp.stack(counts) / n


def compare_samplers(score_fn, sigmas, x0, rng, *, step_size, n_steps_each, plain_step_size,
                     centers, labels=None):
    r"""Annealed Langevin against plain Langevin with the same score model and start (D18).

    Parameters
    ----------
    score_fn : callable
        ``score_fn(x, sigma) -> (n, d)`` for a scalar ``sigma``: a trained model's
        ``model.score`` or the exact :func:`noisy_mixture_score`.
    sigmas : array, shape (L,)
        Strictly decreasing noise levels.
    x0 : array, shape (n, d)
        Start of both samplers (NCSN: uniform noise over the data's box).
    rng : numpy.random.Generator or int
        Annealed Langevin draws first, then plain Langevin.
    step_size : float > 0
        Annealed Langevin's \(\epsilon\): level \(i\) steps with \(\alpha_i = \epsilon
        \sigma_i^2 / \sigma_L^2\).
    n_steps_each : int >= 1
        \(T\), steps per level.
    plain_step_size : float > 0
        Plain Langevin's \(\alpha\) (fixed), for \(L T\) steps: as many score evaluations as
        annealed Langevin.
    centers : array, shape (M, d)
        Where the modes are, for :func:`mode_weights`.
    labels : int array, shape (M,), optional
        The mode of each center.

    Returns
    -------
    Comparison
        ``(annealed, plain, annealed_weights, plain_weights)``.

    Math
    ----
    Annealed (Song and Ermon 2019, Algorithm 1): for \(i = 1, \dots, L\), \(T\) steps \(x
    \leftarrow x + \tfrac{\alpha_i}2 s(x, \sigma_i) + \sqrt{\alpha_i} z\) with \(\alpha_i =
    \epsilon \sigma_i^2 / \sigma_L^2\) (:func:`refebm.samplers.annealed_langevin`). Plain: \(L
    T\) steps \(x \leftarrow x + \tfrac{\alpha}2 s(x, \sigma_L) + \sqrt{\alpha} z\), Langevin
    on the least noisy density only (D11), which is the same function run with the one level
    \(\sigma_L\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.families import GaussianMixture
    >>> from refebm.generation import compare_samplers, noisy_mixture_score
    >>> mix = GaussianMixture(np.array([0.5, 0.5]), np.array([[-3.0], [3.0]]),
    ...                       np.array([[[1.0]], [[1.0]]]))
    >>> out = compare_samplers(noisy_mixture_score(mix), np.array([6.0, 1.0]),
    ...                        np.array([[-3.0], [3.0], [2.0]]), 0, step_size=0.01,
    ...                        n_steps_each=2, plain_step_size=0.01,
    ...                        centers=np.array([[-3.0], [3.0]]))
    >>> out.annealed.shape, float(out.plain_weights.sum())
    ((3, 1), 1.0)
    """
    _v.function("score_fn", score_fn)
    sig = _sigmas_iv(sigmas)
    x0 = _numpy_points("x0", x0)
    gen = _v.rng(rng)
    step_size = float(_v.scalar("step_size", step_size, low=0.0, low_open=True))
    n_steps_each = _v.integer("n_steps_each", n_steps_each, minimum=1)
    plain_step_size = float(_v.scalar("plain_step_size", plain_step_size, low=0.0,
                                      low_open=True))
    _numpy_points("centers", centers, d=int(x0.shape[1]))
    if labels is not None:
        _labels_iv(labels, int(np.shape(getval(centers))[0]))
    annealed = np.asarray(annealed_langevin(score_fn, sig, step_size, n_steps_each, x0, gen))
    plain = np.asarray(annealed_langevin(score_fn, sig[-1:], plain_step_size,
                                         sig.size * n_steps_each, x0, gen))
    return Comparison(annealed, plain, np.asarray(mode_weights(annealed, centers, labels)),
                      np.asarray(mode_weights(plain, centers, labels)))


# ----------------------------------------------------------------------------------------
# the two-moons set
# ----------------------------------------------------------------------------------------

def two_moons_from_noise(labels, t, noise, *, scale=0.1):
    r"""The two-moons points for given moons, arc positions and noise: the deterministic core.

    Parameters
    ----------
    labels : int array, shape (n,)
        0 (upper moon) or 1 (lower moon).
    t : array, shape (n,)
        Positions along the arc, in \([0, 1]\).
    noise : array, shape (n, 2)
        Standard normal draws.
    scale : float >= 0
        The noise's standard deviation.

    Returns
    -------
    x : ndarray, shape (n, 2)
        Upper moon \((\cos \pi t, \sin \pi t)\), lower moon \((1 - \cos \pi t, \tfrac12 - \sin
        \pi t)\) (the layout of scikit-learn's ``make_moons``), plus ``scale * noise``.

    Math
    ----
    D18's second toy: each moon is a half circle of radius 1 (centers \((0, 0)\) and \((1,
    \tfrac12)\)), blurred by \(\mathcal N(0, \text{scale}^2 I)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.generation import two_moons_from_noise
    >>> x = two_moons_from_noise(np.array([0, 1]), np.array([0.5, 0.0]), np.zeros((2, 2)))
    >>> x.round(12).tolist()
    [[0.0, 1.0], [0.0, 0.5]]
    """
    lab = to_numpy(getval(labels))
    if lab.dtype.kind not in "iu":
        raise TypeError(f"`labels` must be an integer array, got {_v.show(labels)}"
                        f" (dtype {lab.dtype})")
    if lab.ndim != 1 or lab.size == 0:
        raise ValueError(f"`labels` must have shape (n,) with n >= 1, got shape {lab.shape}")
    if np.any((lab != 0) & (lab != 1)):
        raise ValueError(f"`labels` must be 0 or 1, got {_v.show(labels)}")
    n = lab.size
    t = np.asarray(to_numpy(_v.real_array("t", t, shape=(n,))), dtype=np.float64)
    if np.any(t < 0) or np.any(t > 1):
        raise ValueError(f"`t` must lie in [0, 1], got {_v.show(t)}")
    z = np.asarray(to_numpy(_v.real_array("noise", noise, shape=(n, 2))), dtype=np.float64)
    scale = float(_v.scalar("scale", scale, low=0.0))
    c, s = np.cos(np.pi * t), np.sin(np.pi * t)
    upper = np.stack([c, s], axis=1)
    lower = np.stack([1.0 - c, 0.5 - s], axis=1)
    return np.where(lab[:, None] == 0, upper, lower) + scale * z


def two_moons(n, rng, *, weights=(0.5, 0.5), scale=0.1):
    r"""Draw ``n`` points of the two-moons set with given moon weights.

    Parameters
    ----------
    n : int >= 1
    rng : numpy.random.Generator or int
        Draws, in order: the moons ``rng.random(n) >= weights[0]`` (1 = lower moon), the arc
        positions ``rng.random(n)``, the noise ``rng.standard_normal((n, 2))``.
    weights : (float, float)
        Probabilities of the upper and lower moon, summing to 1.
    scale : float >= 0
        Noise standard deviation.

    Returns
    -------
    TwoMoons
        ``(x, labels)``; ``x`` is :func:`two_moons_from_noise` of the draws.

    Math
    ----
    A two-mode density for D18 whose modes are curved: the arcs of radius 1 come within 0.5 of
    each other, five noise standard deviations at ``scale=0.1``.

    Examples
    --------
    >>> from refebm.generation import two_moons
    >>> m = two_moons(5, 0)
    >>> m.x.shape, m.labels.shape
    ((5, 2), (5,))
    """
    n = _v.integer("n", n, minimum=1)
    gen = _v.rng(rng)
    w = np.asarray(to_numpy(_v.probability_vector("weights", weights)), dtype=np.float64)
    if w.shape != (2,):
        raise ValueError(f"`weights` must have 2 entries (upper, lower moon), got {_v.show(w)}")
    scale = float(_v.scalar("scale", scale, low=0.0))
    labels = (gen.random(n) >= w[0]).astype(np.int64)
    t = gen.random(n)
    z = gen.standard_normal((n, 2))
    return TwoMoons(two_moons_from_noise(labels, t, z, scale=scale), labels)
