r"""What an EBM can do without its partition function: ratios, anomaly scores, denoising (D6).

With \(p(x) = e^{-E(x)} / Z\) (the lectures' \(f = -E\)), evaluating \(p(x)\) needs \(Z\), but
comparing two points does not (D6, CS236 lecture 11):

\[
    \frac{p(x)}{p(x')} = \frac{e^{-E(x)} / Z}{e^{-E(x')} / Z} = e^{E(x') - E(x)}
    = e^{f(x) - f(x')}.
\]

The lectures list the uses: anomaly detection (rank points by energy), denoising and image
restoration (move a point uphill in \(\log p\), which only needs the score \(-\nabla_x E\), D12).
Everything here is deterministic and, when given a score rather than an energy, runs on any
array namespace.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from . import _validate as _v
from . import diff as _diff
from ._backend import array_namespace, to_numpy

__all__ = ["log_ratio", "anomaly_score", "denoise", "Denoised"]


def _energy_at(energy, x, name="energy"):
    n = to_numpy(x).shape[0]
    return _v.energy_values(name, energy(x), n)


def log_ratio(energy, x, x_prime):
    r"""\(\log p(x) / p(x') = E(x') - E(x)\), row by row, without \(Z\).

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``.
    x, x_prime : arrays, shape (n, d)
        The points compared, row ``i`` of ``x`` with row ``i`` of ``x_prime``.

    Returns
    -------
    log_ratio : array, shape (n,)
        ``energy(x_prime) - energy(x)``: positive where ``x`` is the more probable point;
        ``-inf`` where only ``x`` is outside the support (``E(x) = +inf``). A pair with both
        points outside the support has no ratio and raises ``ValueError``.

    Math
    ----
    D6: \(\log \dfrac{p(x)}{p(x')} = -E(x) - \log Z + E(x') + \log Z = E(x') - E(x)
    = f(x) - f(x')\). Adding a constant to \(E\) (which moves \(\log Z\) by the same constant)
    leaves it unchanged.

    Examples
    --------
    For \(\mathcal N(0, 1)\), \(\log p(0)/p(1) = 1/2\):

    >>> import numpy as np
    >>> from refebm.ratio import log_ratio
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=-1)
    >>> log_ratio(energy, np.zeros((1, 1)), np.ones((1, 1))).tolist()
    [0.5]
    """
    _v.function("energy", energy)
    x = _v.points("x", x)
    x_prime = _v.points("x_prime", x_prime)
    _v.same_shape("x", x, "x_prime", x_prime)
    e_x = _energy_at(energy, x)
    e_xp = _energy_at(energy, x_prime)
    both = np.isinf(to_numpy(e_x)) & np.isinf(to_numpy(e_xp))
    if np.any(both):
        raise ValueError(
            f"`x` and `x_prime` are both outside the support (energy inf) in row(s) "
            f"{np.flatnonzero(both)[:5].tolist()}: p(x)/p(x') = 0/0 is undefined")
    return e_xp - e_x


def anomaly_score(energy, x, log_z=None):
    r"""Anomaly score of each point: larger means less probable under the model.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``.
    x : array, shape (n, d)
        Points to score.
    log_z : float, optional
        \(\log Z\) of ``energy`` when known (closed form, quadrature, enumeration).

    Returns
    -------
    score : array, shape (n,)
        Without ``log_z``: the energy \(E(x)\). It is defined only up to an additive constant,
        so it is good for *ranking* points and for thresholds chosen on the same model, not for
        comparing models. With ``log_z``: the negative log-likelihood \(-\log p(x) = E(x) +
        \log Z\), an absolute score (in nats) comparable across models. Both give the same
        ranking. Points outside the support score ``+inf``.

    Math
    ----
    D6: \(p(x) > p(x') \iff E(x) < E(x')\), so sorting by \(E\) sorts by \(p\) without \(Z\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.ratio import anomaly_score
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=-1)       # N(0, 1), log Z = log(2 pi)/2
    >>> x = np.array([[0.0], [3.0]])
    >>> anomaly_score(energy, x).tolist()
    [0.0, 4.5]
    >>> nll = anomaly_score(energy, x, log_z=0.5 * np.log(2 * np.pi))
    >>> bool(np.allclose(nll, [0.9189385332046727, 5.418938533204673], rtol=1e-15))
    True
    """
    _v.function("energy", energy)
    x = _v.points("x", x)
    e = _energy_at(energy, x)
    if log_z is None:
        return e
    return e + _plain(_v.scalar("log_z", log_z))


class Denoised(NamedTuple):
    """Result of [`denoise`][refebm.ratio.denoise]."""

    x: object  #: the last iterate, shape (n, d)
    path: object  #: all iterates x_0 ... x_T, shape (n_steps + 1, n, d), or None
    grad_norm: object  #: ||gradient of the objective|| at the last iterate, shape (n,)


def _plain(value):
    """A NumPy scalar as a Python float (so it combines with any namespace); boxes kept."""
    return float(value) if isinstance(value, (numbers.Real, np.generic, np.ndarray)) else value


def _model_score(energy, score):
    """The score function of the model: ``score`` when given, else that of ``energy``."""
    if score is not None:
        _v.function("score", score)
        if energy is not None:
            _v.function("energy", energy)
        return score, "score"
    if energy is None:
        raise TypeError("give the model: an energy as the first argument, or a score function "
                        "as `score=` (with None in the energy's place), got neither")
    _v.function("energy", energy)
    return _diff.score(energy), "energy"


def _score_at(name, score_fn, x):
    s = score_fn(x)
    host = to_numpy(s)
    if host.shape != tuple(to_numpy(x).shape):
        raise ValueError(f"`{name}` must give a score of shape {tuple(to_numpy(x).shape)} (that "
                         f"of `x`), got shape {host.shape}")
    return s


def denoise(energy, x, step_size, n_steps, *, score=None, y=None, sigma=None, keep_path=False):
    r"""MAP denoising by gradient ascent on \(\log p\) (plus a Gaussian observation term).

    Parameters
    ----------
    energy : callable or None
        The prior as an energy ``E(x) -> (n,)`` (its score is
        [`refebm.diff.score`][refebm.diff.score], analytic for the families, autograd otherwise);
        ``None`` when it is given as ``score=``.
    x : array, shape (n, d)
        The starting points (the noisy observations).
    step_size : float
        \(\eta > 0\). For a concave objective with Hessian eigenvalues in \([-L, 0)\), steps
        \(\eta < 2 / L\) converge.
    n_steps : int
        Number of steps \(T \ge 0\).
    score : callable, optional, keyword-only
        The prior's score ``s(x) -> (n, d)``; when given it is used and ``energy`` is not
        called (any array namespace).
    y : array, shape (n, d), optional
        Observation for restoration; defaults to ``x`` when ``sigma`` is given.
    sigma : float, optional
        Noise scale \(\sigma > 0\) of the observation model \(y = x + \sigma z\). Without it the
        iteration maximizes \(\log p\) alone (it moves towards a mode of the prior).
    keep_path : bool
        Keep every iterate in ``path``.

    Returns
    -------
    Denoised
        ``x`` (last iterate), ``path`` (``(T + 1, n, d)`` or ``None``) and ``grad_norm`` (the
        norm of the objective's gradient at ``x``, per point: near zero at convergence).

    Math
    ----
    D6 (denoising, restoration) with D12 (the score needs no \(Z\)): maximize

    \[
        J(x) = \log p(x) - \frac{\|x - y\|^2}{2 \sigma^2} \quad (\text{MAP of } x \text{ given }
        y = x + \sigma z), \qquad
        x_{t+1} = x_t + \eta \Big( s(x_t) + \frac{y - x_t}{\sigma^2} \Big),
    \]

    with \(s = \nabla_x \log p = -\nabla_x E\); without \(\sigma\) the second term is absent.
    The iteration is deterministic. For a Gaussian prior \(\mathcal N(\mu, \Sigma)\) the fixed
    point is the posterior mode \((\Sigma^{-1} + I/\sigma^2)^{-1} (\Sigma^{-1}\mu + y/\sigma^2)\).

    Examples
    --------
    Prior \(\mathcal N(0, 1)\), \(\sigma = 1\), \(y = 2\): the posterior mode is \(y/2 = 1\).

    >>> import numpy as np
    >>> from refebm.ratio import denoise
    >>> res = denoise(None, np.array([[2.0]]), 0.5, 3, score=lambda x: -x, sigma=1.0)
    >>> res.x.tolist()
    [[1.0]]
    """
    score_fn, kind = _model_score(energy, score)
    x = _v.points("x", x)
    xp = array_namespace(x)
    step_size = _plain(_v.tolerance("step_size", step_size))
    n_steps = _v.integer("n_steps", n_steps, minimum=0)
    keep_path = _v.boolean("keep_path", keep_path)
    if y is not None and sigma is None:
        raise ValueError("`sigma` must be given when `y` is given (the observation noise scale)")
    if sigma is not None:
        sigma = _plain(_v.tolerance("sigma", sigma))
        y = x if y is None else _v.same_shape("x", x, "y", _v.points("y", y))
    name = "score" if kind == "score" else "energy"

    def gradient(x_t):
        g = _score_at(name, score_fn, x_t)
        return g if sigma is None else g + (y - x_t) / sigma**2

    path = [x]
    for t in range(n_steps):
        x = x + step_size * gradient(x)
        if not np.all(np.isfinite(to_numpy(x))):
            raise ValueError(
                f"`denoise` diverged at step {t + 1} (non-finite iterate): reduce `step_size` "
                f"(got {step_size!r})")
        if keep_path:
            path.append(x)
    g = gradient(x)
    return Denoised(x=x, path=xp.stack(path, axis=0) if keep_path else None,
                    grad_norm=xp.sqrt(xp.sum(g * g, axis=-1)))
