r"""Derivatives in \(x\) of \(\log p = -E - \log Z\): score, Hessian trace, Hutchinson (D12).

With \(p(x) = e^{-E(x)} / Z\) (the lectures' \(f = -E\)), \(\log Z\) does not depend on \(x\),
so every derivative in \(x\) of \(\log p\) is a derivative of \(-E\) alone (D12):

\[
    s(x) = \nabla_x \log p(x) = -\nabla_x E(x), \qquad
    \operatorname{tr} \nabla_x^2 \log p(x) = -\Delta E(x)
    = -\sum_{i=1}^d \partial^2 E / \partial x_i^2.
\]

Signs: every function here returns derivatives of \(\log p\) (of \(f\)), never of \(E\). The
Hessian trace that score matching needs (D15) is [`hessian_trace`][refebm.diff.hessian_trace]; the Laplacian of the
energy is its negative.

Energies are per-point (row ``i`` of the output depends only on row ``i`` of ``x``), so the
gradient of the batch sum is the batch of gradients. The derivatives come from autograd and are
therefore NumPy-only, except that [`score`][refebm.diff.score] uses an analytic score when the energy is the
``energy`` method of an object that also has a ``score`` method (the closed-form families), which
runs on any backend.
"""

from __future__ import annotations

import inspect

import autograd
import autograd.numpy as anp
import numpy as np

from . import _validate as _v
from ._backend import array_namespace, is_numpy_namespace, to_numpy

__all__ = ["score", "hessian_trace", "hutchinson_trace", "analytic_score",
           "analytic_energy_and_score"]


def _numpy_only_iv(x, what):
    xp = array_namespace(x)
    if not is_numpy_namespace(xp):
        raise TypeError(
            f"{what} uses autograd and needs NumPy arrays, got an array of {xp.__name__}; "
            "on other backends pass an analytic score (a family's `score`)")
    return xp


def _energy_sum(energy, n):
    """x -> sum_i E(x_i), checking that ``energy`` returns finite values of shape ``(n,)``."""

    def total(x):
        e = energy(x)
        _v.energy_values("energy", e, n, allow_inf=False)
        return anp.sum(e)

    return total


def _finite_result_iv(what, value, of="`energy`"):
    """``value`` (a derivative ``what`` of ``of``) has no NaN or inf entry."""
    host = to_numpy(value)
    if not np.all(np.isfinite(host)):
        bad = int(np.sum(~np.isfinite(host)))
        raise ValueError(f"{what} is not finite at {bad} entries (NaN or inf derivative of {of})")
    return value


def _bound_method(energy, name):
    """The callable attribute ``name`` of the object whose ``energy`` method is ``energy``."""
    if inspect.ismethod(energy) and getattr(energy, "__name__", None) == "energy":
        method = getattr(energy.__self__, name, None)
        if callable(method):
            return method
    return None


def analytic_score(energy):
    """The analytic score bound to ``energy``, or ``None``.

    It is found when ``energy`` is a bound method named ``energy`` whose object has a callable
    ``score`` (``Gaussian(...).energy`` -> ``Gaussian(...).score``); ``energy`` must be
    callable.
    """
    return _bound_method(_v.function("energy", energy), "score")


def analytic_energy_and_score(energy):
    """The ``energy_and_score`` method bound with ``energy``, or ``None``.

    It is found when ``energy`` is a bound method named ``energy`` whose object has a callable
    ``energy_and_score`` returning ``(E(x), score(x))`` in one call
    (``GaussianMixture(...).energy`` -> ``GaussianMixture(...).energy_and_score``); ``energy``
    must be callable.
    """
    return _bound_method(_v.function("energy", energy), "energy_and_score")


def score(energy):
    r"""The score \(x \mapsto -\nabla_x E(x)\) of an energy, shape ``(n, d)``.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)`` for ``x`` of shape ``(n, d)``; per-point.

    Returns
    -------
    score : callable
        ``score(x) -> (n, d)``. If ``energy`` is the ``energy`` method of an object with an
        analytic ``score`` method (a closed-form family), that method is returned as it is: it
        is exact, cheaper, and runs on every backend. Otherwise the score is
        ``-autograd.grad(lambda x: energy(x).sum())(x)`` (NumPy only: other namespaces raise
        ``TypeError``), and a non-finite energy or derivative raises ``ValueError``.

    Math
    ----
    D12: \(s(x) = \nabla_x \log p(x) = \nabla_x f(x) - \nabla_x \log Z = -\nabla_x E(x)\),
    because \(Z\) does not depend on \(x\). The score of \(E + c\) equals the score of \(E\) for
    every constant \(c\), even one that depends on the parameters.

    Examples
    --------
    The quartic \(E(x) = \sum_i x_i^4 / 4\) has score \(-x^3\).

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from refebm.diff import score
    >>> s = score(lambda x: anp.sum(x**4, axis=-1) / 4)
    >>> s(np.array([[1.0, -2.0]])).tolist()
    [[-1.0, 8.0]]
    """
    _v.function("energy", energy)
    analytic = analytic_score(energy)
    if analytic is not None:
        return analytic

    def score_fn(x):
        x = _v.points("x", x)
        _numpy_only_iv(x, "`score` of a free-form energy")
        n = to_numpy(x).shape[0]
        grad_e = autograd.grad(_energy_sum(energy, n))(x)
        return -_finite_result_iv("the score", grad_e)

    score_fn.__doc__ = f"Score -grad_x E of {getattr(energy, '__name__', 'an energy')} (autograd)."
    return score_fn


def hessian_trace(energy):
    r"""The trace of the Hessian of \(\log p\): \(x \mapsto -\Delta E(x)\), shape ``(n,)``.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)`` for ``x`` of shape ``(n, d)``; per-point, twice differentiable.

    Returns
    -------
    hessian_trace : callable
        ``hessian_trace(x) -> (n,)``, exact: one reverse-over-reverse autograd pass per
        dimension \(i\) (not per point) gives \(\partial^2 \log p / \partial x_i^2\) for the
        whole batch. NumPy only. Note the sign: this is the trace for \(\log p\), the negative
        of the Laplacian of the energy.

    Math
    ----
    D12, D15: \(\operatorname{tr} \nabla_x^2 \log p(x) = \sum_{i=1}^d \partial_i s_i(x) =
    -\sum_{i=1}^d \partial^2 E / \partial x_i^2\); it is the term of the score-matching
    objective \(\mathbb{E}_{p_\text{data}}[\tfrac12 \|s_\theta\|^2 + \operatorname{tr} \nabla_x
    s_\theta]\). For \(\mathcal N(\mu, \Sigma)\) it is \(-\operatorname{tr} \Sigma^{-1}\).

    Examples
    --------
    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from refebm.diff import hessian_trace
    >>> t = hessian_trace(lambda x: anp.sum(x**4, axis=-1) / 4)   # -sum_i 3 x_i^2
    >>> t(np.array([[1.0, 2.0]])).tolist()
    [-15.0]
    """
    _v.function("energy", energy)

    def trace_fn(x):
        x = _v.points("x", x)
        _numpy_only_iv(x, "`hessian_trace`")
        n, d = to_numpy(x).shape
        grad_e = autograd.grad(_energy_sum(energy, n))  # x -> grad E, (n, d)
        total = 0.0
        for i in range(d):  # d_i (d_i E) for every point at once
            second = autograd.grad(lambda x_, i=i: anp.sum(grad_e(x_)[:, i]))(x)  # (n, d)
            total = total + second[:, i]
        return -_finite_result_iv("the Hessian trace", total)

    return trace_fn


def hutchinson_trace(energy, x, v):
    r"""Hutchinson's estimate of \(\operatorname{tr} \nabla_x^2 \log p(x)\) from given vectors.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``; per-point, twice differentiable.
    x : array, shape (n, d)
        Points.
    v : array, shape (m, n, d) or (n, d)
        Projection vectors: ``m`` per point (one when 2-D). The estimate is deterministic given
        ``v``; draw them from any distribution with \(\mathbb{E}[v v^\top] = I\) (Rademacher,
        standard normal) for an unbiased estimate.

    Returns
    -------
    trace : array, shape (n,)
        \(\frac1m \sum_{j=1}^m v_j^\top H(x) v_j\) with \(H = \nabla_x^2 \log p = -\nabla_x^2
        E\), one Hessian-vector product per vector, all in one batched autograd pass. NumPy only.

    Math
    ----
    D15 (sliced score matching): \(\mathbb{E}_v[v^\top H v] = \operatorname{tr}(H\,
    \mathbb{E}[v v^\top]) = \operatorname{tr} H\). With all \(2^d\) Rademacher vectors the
    off-diagonal terms cancel exactly and the mean is \(\operatorname{tr} H\).

    Examples
    --------
    For \(E = \|x\|^2 / 2\), \(H = -I\) and \(v^\top H v = -\|v\|^2\):

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from refebm.diff import hutchinson_trace
    >>> energy = lambda x: 0.5 * anp.sum(x**2, axis=-1)
    >>> hutchinson_trace(energy, np.zeros((1, 2)), np.array([[[1.0, -1.0]], [[1.0, 1.0]]])).tolist()
    [-2.0]
    """
    _v.function("energy", energy)
    x = _v.points("x", x)
    _numpy_only_iv(x, "`hutchinson_trace`")
    n, d = to_numpy(x).shape
    v = _v.real_array("v", v, ndim=(2, 3))
    v_host = to_numpy(v)
    if v_host.shape[-2:] != (n, d):
        raise ValueError(
            f"`v` must have shape (m, {n}, {d}) or ({n}, {d}) to match `x`, "
            f"got shape {v_host.shape}")
    m = v_host.shape[0] if v_host.ndim == 3 else 1
    x_rep = anp.concatenate([x] * m, axis=0)  # row j n + i is x_i
    v_flat = anp.reshape(v, (m * n, d))  # row j n + i is v_j for x_i
    grad_e = autograd.grad(_energy_sum(energy, m * n))

    def directional(x_):  # sum over rows of v_j . grad E(x): its gradient is H_E v row by row
        return anp.sum(grad_e(x_) * v_flat)

    hess_e_v = autograd.grad(directional)(x_rep)  # (m n, d), = (grad^2 E) v
    quad = -anp.sum(hess_e_v * v_flat, axis=-1)  # v^T (grad^2 log p) v
    return _finite_result_iv("the Hutchinson estimate", anp.mean(anp.reshape(quad, (m, n)), axis=0))
