r"""Annealed Langevin dynamics (NCSN, Song & Ermon 2019, Algorithm 1): D18.

Langevin dynamics mixes poorly between separated modes. NCSN samples the noise-perturbed
densities \(p_\sigma = p * N(0, \sigma^2 I)\) for decreasing \(\sigma_1 > \dots > \sigma_L\):
at large \(\sigma\) the modes are joined and chains move between them in proportion to their
weights; as \(\sigma\) shrinks the chains settle into the modes. Level \(i\) runs \(T\)
Langevin steps \(x \leftarrow x + \tfrac{\alpha_i}{2} s(x, \sigma_i) + \sqrt{\alpha_i} z\) with
\(\alpha_i = \epsilon \sigma_i^2 / \sigma_L^2\), where \(s(x, \sigma) = \nabla_x \log p_\sigma(x)\)
(\(= -\nabla_x E_\sigma\)).
"""

from __future__ import annotations

import numpy as np

from .. import _validate as _v
from .._backend import array_namespace, to_numpy
from ._run import as_dtype, chain_dtype, draw_normal, nonfinite_rows

__all__ = ["annealed_langevin", "annealed_langevin_from_noise"]


def _annealed_iv(score_fn, x0, sigmas, step_size, denoise):
    _v.function("score_fn", score_fn)
    x0 = _v.points("x0", x0)
    sig = _v.decreasing_positive("sigmas", sigmas)
    step_size = float(_v.scalar("step_size", step_size, low=0.0, low_open=True))
    if not isinstance(denoise, (bool, np.bool_)):
        raise TypeError(f"`denoise` must be a bool, got {_v.show(denoise)}")
    return x0, sig, step_size


def _score_at(score_fn, x, sigma, where, xp):
    s = as_dtype(_v.returned_array("score_fn", score_fn(x, sigma), tuple(x.shape)), x.dtype, xp)
    bad = to_numpy(nonfinite_rows(s, xp))
    if bad.any():
        raise ValueError(f"`score_fn` returned NaN or inf at {int(bad.sum())} of {bad.size} "
                         f"finite points ({where}, sigma={sigma!r})")
    return s


def _annealed_run(score_fn, x, sig, step_size, next_noise, n_steps_each, denoise, xp):
    sigma_last = sig[-1]
    for i, sigma in enumerate(sig):
        alpha = step_size * sigma**2 / sigma_last**2
        half, root = 0.5 * alpha, float(np.sqrt(alpha))
        for t in range(n_steps_each):
            where = f"level {i + 1} of {len(sig)}, step {t + 1}"
            s = _score_at(score_fn, x, sigma, where, xp)
            x = x + half * s + root * next_noise(i, t)
            bad = to_numpy(nonfinite_rows(x, xp))
            if bad.any():
                raise ValueError(
                    f"annealed Langevin diverged at {where} (sigma={sigma!r}, alpha={alpha:.6g}):"
                    f" {int(bad.sum())} of {bad.size} chains are no longer finite; `step_size` "
                    f"{step_size!r} is too large for this score")
    if denoise:
        x = x + sigma_last**2 * _score_at(score_fn, x, sigma_last, "the Tweedie step", xp)
    return x


def annealed_langevin_from_noise(score_fn, x0, noise, sigmas, step_size, *, denoise=False):
    r"""Annealed Langevin dynamics (NCSN) with all its noise given: the deterministic core.

    Parameters
    ----------
    score_fn : callable
        ``score_fn(x, sigma) -> (n, d)``: the score of the noise-perturbed density
        \(p_\sigma = p * N(0, \sigma^2 I)\) (\(\sigma\) passed as a Python float).
    x0 : array ``(n, d)``
        Starting points (NCSN: uniform noise). Its dtype is the run's (float32 kept).
    noise : array ``(L, T, n, d)``
        \(z_{i,t}\) for level \(i\), step \(t\); ``T`` is the number of steps per level
        (cast to the dtype of ``x0``).
    sigmas : array ``(L,)``
        \(\sigma_1 > \sigma_2 > \dots > \sigma_L > 0\), strictly decreasing.
    step_size : float
        \(\epsilon > 0\); level \(i\) uses \(\alpha_i = \epsilon \sigma_i^2 / \sigma_L^2\).
    denoise : bool, optional
        Finish with one Tweedie denoising step \(x + \sigma_L^2 s(x, \sigma_L)\).

    Returns
    -------
    array ``(n, d)``

    Raises
    ------
    ValueError
        If ``score_fn`` returns NaN or inf at a finite point, or a chain diverges (a position
        that is no longer finite, from a step too large for the score); the message names the
        level and the step.

    Math
    ----
    D18; Song & Ermon (2019), Algorithm 1: for \(i = 1..L\),
    \(\alpha_i = \epsilon \sigma_i^2 / \sigma_L^2\), and \(T\) times
    \(x \leftarrow x + \tfrac{\alpha_i}{2} s(x, \sigma_i) + \sqrt{\alpha_i} z\). This is the
    TFP parametrization with \(h = \alpha_i\), i.e. the CS236 step with
    \(\epsilon_i = \alpha_i / 2\). The optional last step is Tweedie's formula
    \(E[x_0 \mid x_\sigma] = x_\sigma + \sigma^2 \nabla \log p_\sigma(x_\sigma)\).

    Examples
    --------
    >>> import numpy as np
    >>> score = lambda x, sigma: -x / (1.0 + sigma**2)   # p = N(0, 1), p_sigma = N(0, 1 + sigma^2)
    >>> out = annealed_langevin_from_noise(score, np.array([[2.0]]), np.zeros((1, 1, 1, 1)),
    ...                                    [1.0], 0.5)
    >>> out.tolist()   # 2 + 0.25 * (-2 / 2)
    [[1.75]]
    """
    params = (sigmas, step_size)          # NumPy arrays and scalars among them set the dtype
    x0, sig, step_size = _annealed_iv(score_fn, x0, sigmas, step_size, denoise)
    noise = _v.real_array("noise", noise, ndim=4)
    shape = tuple(noise.shape)
    if shape[0] != len(sig) or shape[2:] != tuple(x0.shape) or shape[1] < 1:
        raise ValueError(
            f"`noise` must have shape (L={len(sig)}, T >= 1, {x0.shape[0]}, {x0.shape[1]}), "
            f"got shape {shape}")
    xp = array_namespace(x0, noise)
    dtype = chain_dtype(xp, x0, noise, *params)
    x0, noise = as_dtype(x0, dtype, xp), as_dtype(noise, dtype, xp)
    return _annealed_run(score_fn, x0, sig, step_size, lambda i, t: noise[i, t, ...], shape[1],
                         denoise, xp)


def annealed_langevin(score_fn, x0, sigmas, step_size, n_steps_each, rng, *, denoise=False):
    r"""Annealed Langevin dynamics (NCSN, Song & Ermon 2019, Algorithm 1), noise from ``rng``.

    Parameters
    ----------
    score_fn : callable
        ``score_fn(x, sigma) -> (n, d)``, the score of \(p_\sigma = p * N(0, \sigma^2 I)\).
    x0 : array ``(n, d)``
        Starting points. Its dtype is the run's (float32 kept, noise drawn in float32).
    sigmas : array ``(L,)``
        Strictly decreasing noise levels.
    step_size : float
        \(\epsilon > 0\); \(\alpha_i = \epsilon \sigma_i^2 / \sigma_L^2\).
    n_steps_each : int
        \(T \ge 1\) steps per level.
    rng : numpy.random.Generator or int
    denoise : bool, optional
        Finish with the Tweedie step \(x + \sigma_L^2 s(x, \sigma_L)\).

    Returns
    -------
    array ``(n, d)``
        Equal, value for value, to [`annealed_langevin_from_noise`][refebm.samplers.annealed_langevin_from_noise] with
        ``noise = rng.standard_normal((L, T, n, d))`` (the draws are made one step at a time,
        in that order, so the full noise array is never held).

    Raises
    ------
    ValueError
        As [`annealed_langevin_from_noise`][refebm.samplers.annealed_langevin_from_noise]: a NaN score or a diverged chain is an error.

    Math
    ----
    D18: see [`annealed_langevin_from_noise`][refebm.samplers.annealed_langevin_from_noise].

    Examples
    --------
    >>> import numpy as np
    >>> score = lambda x, sigma: -x / (1.0 + sigma**2)
    >>> annealed_langevin(score, np.zeros((3, 2)), [2.0, 1.0], 0.1, 5, rng=0).shape
    (3, 2)
    """
    params = (sigmas, step_size)
    x0, sig, step_size = _annealed_iv(score_fn, x0, sigmas, step_size, denoise)
    n_steps_each = _v.integer("n_steps_each", n_steps_each, minimum=1)
    gen = _v.rng(rng)
    xp = array_namespace(x0)
    x0 = as_dtype(x0, chain_dtype(xp, x0, *params), xp)
    return _annealed_run(score_fn, x0, sig, step_size,
                         lambda i, t: draw_normal(gen, x0, xp), n_steps_each, denoise, xp)
