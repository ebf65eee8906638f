r"""Shared argument checks and derivative routines of the score-matching objectives.

Convention: \(p = e^{-E}/Z\) (the lectures' \(f = -E\)); scores are \(\nabla_x \log p =
-\nabla_x E\); "laplacian" is \(\Delta \log p = -\Delta E\).
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from ... import _validate as _v
from ..._backend import array_namespace, is_numpy_namespace, to_numpy
from ...diff import _energy_sum, _finite_result_iv
from ...energies import MLPEnergy, NoiseConditionalMLP, ScoreAndLaplacian

_REDUCTIONS = ("mean", "none")


# ----------------------------------------------------------------------------------------
# argument checks and shared derivative routines
# ----------------------------------------------------------------------------------------

def _numpy_only(xp, what):
    if not is_numpy_namespace(xp):
        raise TypeError(
            f"{what} uses autograd and needs NumPy arrays, got an array of {xp.__name__}; pass "
            "an MLPEnergy (analytic derivatives) or a `score=` function on other backends")


def _reduce(terms, reduction, xp):
    return xp.mean(terms) if reduction == "mean" else terms


def _reduction_iv(reduction):
    if not isinstance(reduction, str):
        raise TypeError(f"`reduction` must be 'mean' or 'none', got {_v.show(reduction)}")
    return _v.one_of("reduction", reduction, _REDUCTIONS)


def _finite(what, value):
    return _finite_result_iv(what, value, of="the model")


def _one_pass(energy):
    """The ``score_and_laplacian`` method behind ``energy``, or ``None``."""
    if isinstance(energy, MLPEnergy):
        return energy.score_and_laplacian
    owner = getattr(energy, "__self__", None)
    if getattr(energy, "__name__", None) == "energy" and owner is not None:
        method = getattr(owner, "score_and_laplacian", None)
        if callable(method) and not isinstance(owner, NoiseConditionalMLP):
            return method
    return None


def _autograd_score_and_laplacian(energy, x):
    r"""Score and \(\operatorname{tr} \nabla_x^2 \log p\) of a per-point energy by autograd.

    All \(d\) diagonal Hessian entries come from ONE reverse-over-reverse pass: the batch is
    stacked \(d\) times (copy \(k\) for direction \(e_k\)), \(g = \nabla_x E\) is taken for the
    whole stack, and the vector-Jacobian product of \(g\) with the stacked unit vectors gives
    row \(H_E(x_i) e_k\) for copy \(k\); its \(k\)-th entry is \(\partial_k^2 E(x_i)\).
    """
    n, d = np.shape(getval(x))
    stacked = anp.concatenate([x] * d, axis=0) if d > 1 else x  # row k n + i is x_i
    grad_e = autograd.grad(_energy_sum(energy, n * d))
    vjp, g = autograd.make_vjp(grad_e)(stacked)
    directions = np.repeat(np.eye(d), n, axis=0)  # row k n + i is e_k
    hess_rows = vjp(directions)  # row k n + i is H_E(x_i) e_k
    diag = anp.reshape(anp.sum(hess_rows * directions, axis=1), (d, n))
    return ScoreAndLaplacian(-g[:n], -anp.sum(diag, axis=0))


def _score_and_laplacian(energy, x, xp):
    method = _one_pass(energy)
    if method is not None:
        out = method(x)
    else:
        _numpy_only(xp, "the exact score-matching loss of a free-form energy")
        out = _autograd_score_and_laplacian(energy, x)
    _finite("the score", out.score)
    _finite("the Hessian trace", out.laplacian)
    return out


def _analytic_score(energy):
    if isinstance(energy, (MLPEnergy, NoiseConditionalMLP)):
        return energy.score
    owner = getattr(energy, "__self__", None)
    if getattr(energy, "__name__", None) == "energy" and owner is not None:
        s = getattr(owner, "score", None)
        if callable(s):
            return s
    return None


def _model_score(energy, score, *, conditional=False):
    """A score function ``s(x)`` (or ``s(x, sigma)``) from exactly one of ``energy``, ``score``."""
    if (energy is None) == (score is None):
        raise TypeError(
            "give exactly one of `energy=` (the score is -grad_x E) and `score=` (a score "
            f"function), got energy={_v.show(energy)} and score={_v.show(score)}")
    if score is not None:
        return _v.function("score", score), "score"
    _v.function("energy", energy)
    analytic = _analytic_score(energy)
    if analytic is not None:
        return analytic, "score"

    if conditional:
        def from_energy(x, sigma):
            _numpy_only(array_namespace(x), "the score of a free-form energy")
            n = np.shape(getval(x))[0]
            return -autograd.grad(_energy_sum(lambda y: energy(y, sigma), n))(x)
    else:
        def from_energy(x):
            _numpy_only(array_namespace(x), "the score of a free-form energy")
            n = np.shape(getval(x))[0]
            return -autograd.grad(_energy_sum(energy, n))(x)
    return from_energy, "energy"


def _score_values(name, s, shape):
    host = to_numpy(s)
    if host.shape != shape:
        raise ValueError(f"`{name}` must return shape {shape}, got shape {host.shape}")
    _finite(f"`{name}`", s)
    return s


def _sigma_iv(sigma):
    return _v.scalar("sigma", sigma, low=0.0, low_open=True)
