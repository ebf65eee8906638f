r"""The two-moons toy data set, with its deterministic core."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .._backend import to_numpy


__all__ = ["TwoMoons", "two_moons", "two_moons_from_noise"]


class TwoMoons(NamedTuple):
    """Points ``x`` ``(n, 2)`` of the two-moons set and the moon of each, ``labels`` ``(n,)``."""

    x: np.ndarray
    labels: np.ndarray



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
        \pi t)\) (the layout of scikit-learn's ``make_moons``), plus ``scale * noise``;
        float32 when ``t`` and ``noise`` both are, else float64.

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
    lab = to_numpy(getval(_v.not_foreign("labels", labels)))
    if lab.dtype.kind not in "iu":
        raise TypeError(f"`labels` must be an integer array, got {_v.show(labels)}"
                        f" (dtype {lab.dtype})")
    if lab.ndim != 1 or lab.size == 0:
        raise ValueError(f"`labels` must have shape (n,) with n >= 1, got shape {lab.shape}")
    if np.any((lab != 0) & (lab != 1)):
        raise ValueError(f"`labels` must be 0 or 1, got {_v.show(labels)}")
    n = lab.size
    t_in = _v.real_array("t", _v.not_foreign("t", t), shape=(n,))
    t = np.asarray(to_numpy(t_in), dtype=np.float64)
    if np.any(t < 0) or np.any(t > 1):
        raise ValueError(f"`t` must lie in [0, 1], got {_v.show(t)}")
    z_in = _v.real_array("noise", _v.not_foreign("noise", noise), shape=(n, 2))
    z = np.asarray(to_numpy(z_in), dtype=np.float64)
    scale = float(_v.scalar("scale", scale, low=0.0))
    c, s = np.cos(np.pi * t), np.sin(np.pi * t)
    upper = np.stack([c, s], axis=1)
    lower = np.stack([1.0 - c, 0.5 - s], axis=1)
    return _v.as_dtype(np.where(lab[:, None] == 0, upper, lower) + scale * z,
                       _v.result_dtype(t_in, z_in))


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
        ``(x, labels)``; ``x`` is [`two_moons_from_noise`][refebm.generation.two_moons_from_noise] of the draws.

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

