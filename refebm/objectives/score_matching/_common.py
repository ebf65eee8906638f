r"""Shared argument checks and derivative routines of the score-matching objectives.

Convention: \(p = e^{-E}/Z\) (the lectures' \(f = -E\)); scores are \(\nabla_x \log p =
-\nabla_x E\); "laplacian" is \(\Delta \log p = -\Delta E\).
"""

from __future__ import annotations

import autograd
import numpy as np
from autograd.tracer import getval

from ... import _validate as _v
from ..._backend import array_namespace, is_numpy_namespace, to_numpy
from ...diff import _bound_method, _energy_sum, _finite_result_iv, analytic_score
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
    method = _bound_method(energy, "score_and_laplacian")
    if method is not None and not isinstance(energy.__self__, NoiseConditionalMLP):
        return method
    return None


def _autograd_score_and_laplacian(energy, x):
    r"""Score and \(\operatorname{tr} \nabla_x^2 \log p\) of a per-point energy by autograd.

    With \(g(x) = \nabla_x E(x)\) (batch of gradients, shape (n, d)), the vector-Jacobian
    product of \(g\) with the cotangent \(e_k\) in every row is row \(i \mapsto H_E(x_i)
    e_k\), whose \(k\)-th entry is \(\partial_k^2 E(x_i)\); the Laplacian is the sum over
    \(k\). ``make_vjp`` traces \(E\) and \(g\) once, and its VJP is applied \(d\) times,
    so only the second-order reverse pass is repeated per dimension (as in a
    ``create_graph=True`` loop over dimensions). The whole computation stays traceable, so
    parameters closed over by ``energy`` can be differentiated through it.
    """
    n, d = np.shape(getval(x))
    vjp, g = autograd.make_vjp(autograd.grad(_energy_sum(energy, n)))(x)
    lap_e = 0.0
    for k in range(d):
        e_k = np.zeros((n, d))
        e_k[:, k] = 1.0
        lap_e = lap_e + vjp(e_k)[:, k]  # d_k^2 E at every point
    return ScoreAndLaplacian(-g, -lap_e)


def _score_and_laplacian(energy, x, xp, score=None):
    method = None if score is not None else _one_pass(energy)
    if score is not None:
        _numpy_only(xp, "the exact score-matching loss of a `score=` function")
        out = _autograd_score_and_divergence(score, x)
    elif method is not None:
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
    return analytic_score(energy)


def _model_iv(energy, score):
    """Check the model pair: ``score`` (when given) is callable and ``energy`` is ``None`` or
    callable; otherwise ``energy`` is callable. Returns ``"score"`` or ``"energy"``: the one
    that is used (a given ``score`` is the model's score and wins)."""
    if score is not None:
        _v.function("score", score)
        if energy is not None:
            _v.function("energy", energy)
        return "score"
    if energy is None:
        raise TypeError("give the model: an energy as the first argument, or a score function "
                        "as `score=` (with None in the energy's place), got neither")
    _v.function("energy", energy)
    return "energy"


def _model_score(energy, score, *, conditional=False):
    """A score function ``s(x)`` (or ``s(x, sigma)``): ``score`` when given, else the score of
    ``energy`` (analytic where the energy has one, autograd otherwise)."""
    if _model_iv(energy, score) == "score":
        return score, "score"
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


def _autograd_score_and_divergence(score, x):
    r"""A score function's values and divergence \(\operatorname{tr} \nabla_x s\) by autograd.

    ``make_vjp`` traces \(s\) once; the VJP with the cotangent \(e_k\) in every row gives row
    \(i \mapsto e_k^\top \nabla_x s(x_i)\), whose \(k\)-th entry is \(\partial_k s_k(x_i)\)
    (rows are independent: the score is per-point). Traceable, so parameters closed over by
    ``score`` can be differentiated through it.
    """
    n, d = np.shape(getval(x))
    vjp, s = autograd.make_vjp(score)(x)
    if np.shape(getval(s)) != (n, d):
        raise ValueError(f"`score` must return shape ({n}, {d}), got shape {np.shape(getval(s))}")
    div = 0.0
    for k in range(d):
        e_k = np.zeros((n, d))
        e_k[:, k] = 1.0
        div = div + vjp(e_k)[:, k]
    return ScoreAndLaplacian(s, div)


def _score_values(name, s, shape):
    host = to_numpy(s)
    if host.shape != shape:
        raise ValueError(f"`{name}` must return shape {shape}, got shape {host.shape}")
    _finite(f"`{name}`", s)
    return s


def _sigma_iv(sigma):
    return _v.scalar("sigma", sigma, low=0.0, low_open=True)
