r"""Mode weights of samples, and annealed against plain Langevin (D18)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .._backend import array_namespace, concat
from ..samplers import annealed_langevin
from ._checks import _labels_iv, _numpy_points, _sigmas_iv

__all__ = ["Comparison", "mode_weights", "compare_samplers"]


class Comparison(NamedTuple):
    """What [`compare_samplers`][refebm.generation.compare_samplers] returns: the two sample sets and their mode weights.

    Attributes
    ----------
    annealed, plain : ndarray, shape (n, d)
        Annealed Langevin down the ladder, and plain Langevin at the smallest level.
    annealed_weights, plain_weights : ndarray, shape (K,)
        [`mode_weights`][refebm.generation.mode_weights] of each.
    """

    annealed: np.ndarray
    plain: np.ndarray
    annealed_weights: np.ndarray
    plain_weights: np.ndarray



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
        shape (the noise-free arcs of [`two_moons_from_noise`][refebm.generation.two_moons_from_noise], say).
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
        ``model.score`` or the exact [`noisy_mixture_score`][refebm.generation.noisy_mixture_score].
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
        Where the modes are, for [`mode_weights`][refebm.generation.mode_weights].
    labels : int array, shape (M,), optional
        The mode of each center.

    Returns
    -------
    Comparison
        ``(annealed, plain, annealed_weights, plain_weights)``; float32 when ``x0``,
        ``sigmas`` and ``centers`` all are, else float64 (the dtype rule of the conventions
        page).

    Math
    ----
    Annealed (Song and Ermon 2019, Algorithm 1): for \(i = 1, \dots, L\), \(T\) steps \(x
    \leftarrow x + \tfrac{\alpha_i}2 s(x, \sigma_i) + \sqrt{\alpha_i} z\) with \(\alpha_i =
    \epsilon \sigma_i^2 / \sigma_L^2\) ([`refebm.samplers.annealed_langevin`][refebm.samplers.annealed_langevin]). Plain: \(L
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
    dtype = _v.result_dtype(x0, sigmas, centers)
    sig = sig.astype(dtype)
    annealed = _v.as_dtype(np.asarray(annealed_langevin(score_fn, x0, sig, step_size,
                                                        n_steps_each, gen)), dtype)
    plain = _v.as_dtype(np.asarray(annealed_langevin(score_fn, x0, sig[-1:], plain_step_size,
                                                     sig.size * n_steps_each, gen)), dtype)
    return Comparison(annealed, plain,
                      _v.as_dtype(np.asarray(mode_weights(annealed, centers, labels)), dtype),
                      _v.as_dtype(np.asarray(mode_weights(plain, centers, labels)), dtype))


