r"""Langevin samplers (D11, D18, D20): ULA, MALA and annealed Langevin, as deterministic steps.

Every step here uses the CS236 parametrization (D11; lecture notes 000 and 004):

\[
    x' = x + \epsilon\, \nabla_x \log p(x) + \sqrt{2 \epsilon}\, z, \qquad z \sim N(0, I),
\]

with \(\nabla_x \log p = \nabla_x f = -\nabla_x E\): the score, which needs no \(Z\) (D12).
Song & Kingma's \(x + (\epsilon^2/2) \nabla \log p + \epsilon z\), TensorFlow Probability's
\(x + (h/2) \nabla \log p + \sqrt{h} z\), NCSN's per-level \(\alpha_i\) and decoupled
(drift, noise) pairs are converted to this one by [`refebm.samplers.conventions`][refebm.samplers.conventions].

* ULA ([`ula_step`][refebm.samplers.ula_step]) repeats the update without correction. It does **not** sample \(p\) for
  \(\epsilon > 0\): on \(N(\mu, s^2)\) its stationary variance is \(s^2 / (1 - \epsilon/(2 s^2))\)
  ([`refebm.samplers.conventions.ula_stationary_gaussian`][refebm.samplers.conventions.ula_stationary_gaussian]).
* MALA ([`mala_step`][refebm.samplers.mala_step]) uses the update as a Metropolis-Hastings proposal and accepts it
  with the Hastings ratio, which makes \(p\) exactly invariant.
* Annealed Langevin ([`refebm.samplers.annealed`][refebm.samplers], NCSN, Song & Ermon 2019, Algorithm 1)
  runs Langevin on a sequence of noise-perturbed densities with decreasing \(\sigma\) (D18).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from autograd import make_vjp

from .. import _validate as _v
from .._backend import array_namespace, is_numpy_namespace, to_numpy
from ..diff import analytic_energy_and_score, analytic_score
from ._run import Kernel, draw_normal, draw_proposal_noise
from .mh import (_accept, _acceptance_probability, _energy_shape_iv, _noise_iv, _select,
                 _step_size_iv, _uniform_iv)

__all__ = [
    "ULAState",
    "LangevinState",
    "LangevinInfo",
    "energy_and_score",
    "ula_init",
    "ula_step",
    "decoupled_langevin_step",
    "ula_kernel",
    "mala_init",
    "mala_log_acceptance",
    "mala_step",
    "mala_kernel",
]


class ULAState(NamedTuple):
    """Unadjusted Langevin chains: positions ``x`` ``(n, d)`` and the score there ``(n, d)``."""

    x: Any
    score: Any


class LangevinState(NamedTuple):
    """MALA chains: positions ``x`` ``(n, d)``, \\(E(x)\\) ``(n,)`` and the score ``(n, d)``.

    Energy and score at the current point are carried, so each MALA step evaluates them once,
    at the proposal.
    """

    x: Any
    energy: Any
    score: Any


class LangevinInfo(NamedTuple):
    """Per-chain report of a Langevin step.

    Attributes
    ----------
    acceptance_rate : array ``(n,)``
        \\(\\min(1, r)\\) for MALA; ones for ULA (nothing is rejected).
    is_accepted : array of bool ``(n,)``
    proposal : array ``(n, d)``
        The Langevin update \\(x'\\) before the accept test.
    """

    acceptance_rate: Any
    is_accepted: Any
    proposal: Any


# -- energy and score -------------------------------------------------------------------------

def energy_and_score(energy, score=None):
    r"""A function ``x -> (E(x), s(x))`` with \(s = -\nabla_x E\), in one pass when possible.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\), per-point.
    score : callable, optional
        ``score(x) -> (n, d)``, \(\nabla_x \log p = -\nabla_x E\). When given, ``energy``
        and ``score`` are called one after the other. When omitted, the first that applies is
        used:

        1. ``energy`` is the bound ``energy`` method of an object with a callable
           ``energy_and_score`` method (``GaussianMixture(...).energy``, or a target object of
           your own; [`refebm.diff.analytic_energy_and_score`][refebm.diff.analytic_energy_and_score]): that method, which
           returns the pair ``(E(x), s(x))`` and can share the work the two have in common (a
           mixture's log-terms, say);
        2. the analytic ``score`` of such an object ([`refebm.diff.analytic_score`][refebm.diff.analytic_score]);
        3. autograd: one forward pass of ``energy`` and one reverse pass
           (``autograd.make_vjp``) give both values (NumPy only).

    Math
    ----
    D12: \(\nabla_x \log p = -\nabla_x E\); the gradient of \(\sum_i E(x_i)\) is the batch of
    per-point gradients because row \(i\) of the output depends only on row \(i\) of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> f = energy_and_score(lambda x: 0.5 * np.sum(x**2, axis=-1))
    >>> e, s = f(np.array([[1.0, -2.0]]))
    >>> e.tolist(), s.tolist()
    ([2.5], [[-1.0, 2.0]])
    """
    _v.function("energy", energy)
    if score is None:
        joint = analytic_energy_and_score(energy)
        if joint is not None:
            def both_joint(x):
                out = joint(x)
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise TypeError(
                        "the `energy_and_score` method of the energy's object must return a "
                        f"pair (energy, score), got {_v.show(out)}")
                return out

            return both_joint
        score = analytic_score(energy)
    if score is not None:
        _v.function("score", score)

        def both(x):
            return energy(x), score(x)

        return both

    def both_autograd(x):
        xp = array_namespace(x)
        if not is_numpy_namespace(xp):
            raise TypeError(
                "the autograd score of `energy` needs NumPy arrays, got an array of "
                f"{xp.__name__}; pass `score=` on other backends")
        vjp, e = make_vjp(energy)(x)
        _energy_shape_iv(e, int(x.shape[0]))
        return e, -vjp(np.ones(e.shape, dtype=e.dtype))

    return both_autograd


def _score_only(energy, score):
    if score is not None:
        return _v.function("score", score)
    if energy is None:
        raise TypeError("give `energy` or `score` (at least one must be a callable), got None")
    both = energy_and_score(energy)
    return lambda x: both(x)[1]


def _score_shape_iv(s, x, name="score"):
    shape = tuple(s.shape) if hasattr(s, "shape") else None
    if shape != tuple(x.shape):
        raise ValueError(
            f"`{name}` must return shape {tuple(x.shape)} (the shape of x), got shape {shape}")
    return s


# -- ULA --------------------------------------------------------------------------------------

def decoupled_langevin_step(x, score, drift, noise_scale, noise):
    r"""The Langevin update with separate drift and noise coefficients: \(x + a s(x) + b z\).

    Parameters
    ----------
    x : array ``(n, d)``
    score : callable
        ``score(x) -> (n, d)``, \(\nabla_x \log p = -\nabla_x E\).
    drift : float
        \(a > 0\), the coefficient of the score.
    noise_scale : float
        \(b \ge 0\), the coefficient of the noise.
    noise : array ``(n, d)``
        \(z\), standard normal for the sampler.

    Returns
    -------
    array ``(n, d)``

    Math
    ----
    D11, D20. Code that tunes \(a\) and \(b\) separately (IGEBM-style) samples the tempered
    density \(p^{1/T}\) with \(T = b^2 / (2a)\): the update equals the CS236 step
    \(x + \epsilon \nabla \log p^{1/T} + \sqrt{2\epsilon} z\) with \(\epsilon = b^2/2\)
    ([`refebm.samplers.conventions.decoupled_temperature`][refebm.samplers.conventions.decoupled_temperature]).

    Examples
    --------
    >>> import numpy as np
    >>> decoupled_langevin_step(np.array([[1.0]]), lambda x: -x, 0.5, 0.1,
    ...                         np.array([[2.0]])).tolist()
    [[0.7]]
    """
    x = _v.points("x", x)
    _v.function("score", score)
    drift = _v.scalar("drift", drift, low=0.0, low_open=True)
    noise_scale = _v.scalar("noise_scale", noise_scale, low=0.0)
    noise = _noise_iv("noise", noise, x)
    s = _score_shape_iv(score(x), x)
    return x + drift * s + noise_scale * noise


def ula_step(x, score, step_size, noise):
    r"""One unadjusted Langevin step (CS236 parametrization), given its noise.

    Parameters
    ----------
    x : array ``(n, d)``
        Current positions.
    score : callable
        ``score(x) -> (n, d)``: \(\nabla_x \log p = \nabla_x f = -\nabla_x E\).
    step_size : float
        \(\epsilon > 0\).
    noise : array ``(n, d)``
        \(z\), standard normal for the sampler.

    Returns
    -------
    array ``(n, d)``
        \(x + \epsilon s(x) + \sqrt{2\epsilon}\, z\).

    Math
    ----
    D11 (CS236 lecture 11): \(x^{t+1} = x^t + \epsilon \nabla_x \log p(x^t) + \sqrt{2\epsilon}
    z^t\). It converges to \(p\) only as \(\epsilon \to 0\) and \(T \to \infty\); at fixed
    \(\epsilon\) its stationary law is biased (on \(N(0, s^2)\): variance
    \(s^2 / (1 - \epsilon / (2 s^2))\)).

    Examples
    --------
    >>> import numpy as np
    >>> ula_step(np.array([[1.0]]), lambda x: -x, 0.5, np.array([[1.0]])).tolist()
    [[1.5]]
    """
    x = _v.points("x", x)
    _v.function("score", score)
    step_size = _step_size_iv(step_size)
    noise = _noise_iv("noise", noise, x)
    xp = array_namespace(x, noise)
    s = _score_shape_iv(score(x), x)
    return x + step_size * s + xp.sqrt(2.0 * xp.asarray(step_size, dtype=x.dtype)) * noise


def ula_init(x, score):
    r"""Start ULA chains at ``x``: evaluate and check the score there (shape ``(n, d)``).

    Math
    ----
    D12: the score \(\nabla_x \log p = -\nabla_x E\) needs no \(Z\).

    Examples
    --------
    >>> import numpy as np
    >>> ula_init(np.array([[1.0, -2.0]]), lambda x: -x).score.tolist()
    [[-1.0, 2.0]]
    """
    x = _v.points("x", x)
    _v.function("score", score)
    return ULAState(x, _score_shape_iv(score(x), x))


def ula_kernel(energy, step_size, score=None):
    r"""The unadjusted Langevin algorithm (CS236 step) as a [`Kernel`][refebm.samplers.Kernel].

    Parameters
    ----------
    energy : callable or None
        ``energy(x) -> (n,)``, \(E = -f\); may be ``None`` when ``score`` is given.
    step_size : float
        \(\epsilon > 0\).
    score : callable, optional
        ``score(x) -> (n, d)``; when omitted, the energy's own object supplies it or autograd
        does (see [`energy_and_score`][refebm.samplers.energy_and_score]).

    Returns
    -------
    Kernel
        ``exact=False``: the stationary law is biased (D11); see
        [`refebm.samplers.conventions.ula_stationary_gaussian`][refebm.samplers.conventions.ula_stationary_gaussian].

    Math
    ----
    D11: \(x' = x + \epsilon s(x) + \sqrt{2 \epsilon} z\), \(z \sim N(0, I)\) drawn from ``rng``.

    Examples
    --------
    >>> import numpy as np
    >>> k = ula_kernel(None, 0.1, score=lambda x: -x)
    >>> s, info = k(k.init(np.zeros((5, 3))), np.random.default_rng(0))
    >>> s.x.shape, bool(info.is_accepted.all())
    ((5, 3), True)
    """
    if energy is not None:
        _v.function("energy", energy)
    score_fn = _score_only(energy, score)
    step_size = float(_step_size_iv(step_size))
    noise_scale = float(np.sqrt(2.0 * step_size))

    def init(x):
        return ula_init(x, score_fn)

    def step(state, rng):
        x = state.x
        xp = array_namespace(x)
        z = draw_normal(rng, x, xp)
        x_new = x + step_size * state.score + noise_scale * z
        s_new = _score_shape_iv(score_fn(x_new), x_new)
        n = int(x.shape[0])
        ones = xp.ones((n,), dtype=x.dtype)
        return ULAState(x_new, s_new), LangevinInfo(ones, ones > 0, x_new)

    return Kernel(init, step, False, "ula")


# -- MALA -------------------------------------------------------------------------------------

def mala_init(x, energy, score=None):
    r"""Start MALA chains at ``x``: evaluate \(E(x)\) and the score once and carry them.

    Without ``score``, [`energy_and_score`][refebm.samplers.energy_and_score] finds one (the energy's own object, else
    autograd); the energy must be finite and the score finite, of shape ``(n, d)``, at the
    starting points.

    Math
    ----
    D12: \(s = -\nabla_x E\).

    Examples
    --------
    >>> import numpy as np
    >>> s = mala_init(np.array([[3.0]]), lambda x: 0.5 * np.sum(x**2, axis=-1))
    >>> s.energy.tolist(), s.score.tolist()
    ([4.5], [[-3.0]])
    """
    x = _v.points("x", x)
    both = energy_and_score(energy, score)
    e, s = both(x)
    _v.energy_values("energy", e, int(x.shape[0]), allow_inf=False)
    _score_shape_iv(s, x)
    if not np.all(np.isfinite(to_numpy(s))):
        raise ValueError("`score` must be finite at the starting points, got NaN or inf")
    return LangevinState(x, e, s)


def mala_log_acceptance(x, energy_x, score_x, x_new, energy_new, score_new, step_size):
    r"""MALA's log acceptance ratio \(\log r\) per chain, from the two states.

    Parameters
    ----------
    x, x_new : array ``(n, d)``
        Current point and proposal.
    energy_x, energy_new : array ``(n,)``
        \(E\) at each.
    score_x, score_new : array ``(n, d)``
        \(s = -\nabla E\) at each.
    step_size : float
        \(\epsilon\) of the CS236 proposal
        \(q(x' \mid x) = N(x' ; x + \epsilon s(x), 2\epsilon I)\).

    Returns
    -------
    array ``(n,)``

    Math
    ----
    \[
        \log r = E(x) - E(x') + \log q(x \mid x') - \log q(x' \mid x), \qquad
        \log q(a \mid b) = -\frac{\lVert a - b - \epsilon s(b) \rVert^2}{4 \epsilon} + C.
    \]

    The reverse term moves from \(x'\) with the score at \(x'\); the forward term from \(x\)
    with the score at \(x\) (Roberts & Tweedie 1996). Swapping the two scores is the classic
    bug; the tests compare this against a hand-derived closed form on a Gaussian.

    Examples
    --------
    >>> import numpy as np
    >>> # N(0, 1): E = x^2/2, s = -x; x = 1 -> x' = 0, eps = 0.5:
    >>> # E(x) - E(x') = 0.5, forward residual -0.5, backward residual 1: (0.25 - 1) / 2 = -0.375
    >>> float(mala_log_acceptance(np.array([[1.0]]), np.array([0.5]), np.array([[-1.0]]),
    ...                           np.array([[0.0]]), np.array([0.0]), np.array([[0.0]]), 0.5)[0])
    0.125
    """
    xp = array_namespace(x, x_new)
    two_eps = 2.0 * step_size
    forward = x_new - x - step_size * score_x
    backward = x - x_new - step_size * score_new
    log_q_ratio = (xp.sum(forward * forward, axis=-1)
                   - xp.sum(backward * backward, axis=-1)) / (2.0 * two_eps)
    return energy_x - energy_new + log_q_ratio


def _row_sq_norm(a, xp):
    """Squared Euclidean norm of each row of ``a`` (an einsum on NumPy: no temporary)."""
    if is_numpy_namespace(xp):
        return np.einsum("ij,ij->i", a, a)
    return xp.sum(a * a, axis=-1)


def _mala_update(state, both, step_size, noise_scale, noise, uniform, xp):
    r"""The MALA step with the proposal terms fused.

    The forward residual \(x' - x - \epsilon s(x)\) is \(\sqrt{2\epsilon} z\), so
    \(\log q(x' \mid x) = -\lVert z \rVert^2 / 2\); the backward residual is
    \(x - x' - \epsilon s(x') = -(\sqrt{2\epsilon} z + \epsilon (s(x) + s(x')))\). This equals
    [`mala_log_acceptance`][refebm.samplers.mala_log_acceptance] (which recomputes both from the states) up to rounding.
    """
    x, score_x = state.x, state.score
    fused = is_numpy_namespace(xp) and isinstance(x, np.ndarray)
    if fused:   # the same sums in the same order, without temporaries
        step = np.multiply(noise, noise_scale)
        x_new = np.multiply(score_x, step_size)
        x_new += x
        x_new += step
    else:
        step = noise_scale * noise
        x_new = x + step_size * score_x + step
    e_new, s_new = both(x_new)
    _energy_shape_iv(e_new, int(x.shape[0]))
    _score_shape_iv(s_new, x_new)
    if fused:
        backward = np.add(score_x, s_new)
        backward *= step_size
        backward += step
    else:
        backward = step + step_size * (score_x + s_new)
    log_ratio = (state.energy - e_new + 0.5 * _row_sq_norm(noise, xp)
                 - _row_sq_norm(backward, xp) / (4.0 * step_size))
    is_accepted = _accept(log_ratio, uniform, xp)
    new_state = LangevinState(_select(is_accepted, x_new, x, xp),
                              xp.where(is_accepted, e_new, state.energy),
                              _select(is_accepted, s_new, score_x, xp))
    return new_state, LangevinInfo(_acceptance_probability(log_ratio, xp), is_accepted,
                                   x_new)


def mala_step(state, energy, step_size, noise, uniform, *, score=None):
    r"""One Metropolis-adjusted Langevin step for every chain, given its noise.

    Parameters
    ----------
    state : LangevinState
        From [`mala_init`][refebm.samplers.mala_init]: positions, energies and scores.
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\). NaN at a proposal counts as a rejection.
    step_size : float
        \(\epsilon > 0\) (CS236 parametrization).
    noise : array ``(n, d)``
        \(z\) in the proposal \(x' = x + \epsilon s(x) + \sqrt{2\epsilon} z\).
    uniform : array ``(n,)``
        \(u \in [0, 1)\) for the accept test \(\log u < \log r\).
    score : callable, optional
        ``score(x) -> (n, d)``; when omitted, the energy's own object supplies it or autograd
        does (see [`energy_and_score`][refebm.samplers.energy_and_score]).

    Returns
    -------
    state : LangevinState
    info : LangevinInfo

    Math
    ----
    D11 made exact by D10: propose with the Langevin update, accept with
    [`mala_log_acceptance`][refebm.samplers.mala_log_acceptance]. Detailed balance holds with respect to \(p \propto e^{-E}\).

    Examples
    --------
    >>> import numpy as np
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=-1)
    >>> s = mala_init(np.array([[1.0]]), energy, score=lambda x: -x)
    >>> s, info = mala_step(s, energy, 0.5, np.array([[0.0]]), np.array([0.5]),
    ...                     score=lambda x: -x)
    >>> s.x.tolist(), info.acceptance_rate.tolist()   # x' = 1 - 0.5 = 0.5, log r = 0
    ([[0.5]], [1.0])
    """
    if not all(hasattr(state, f) for f in ("x", "energy", "score")):
        raise TypeError("`state` must be a LangevinState (x, energy, score) from mala_init, "
                        f"got {_v.show(state)}")
    x = _v.points("state.x", state.x)
    n = int(x.shape[0])
    _v.real_array("state.energy", state.energy, shape=(n,), finite=False)
    _v.real_array("state.score", state.score, shape=tuple(x.shape), finite=False)
    both = energy_and_score(energy, score)
    step_size = _step_size_iv(step_size)
    noise = _noise_iv("noise", noise, x)
    uniform = _uniform_iv(uniform, n)
    xp = array_namespace(x, noise, uniform)
    noise_scale = xp.sqrt(2.0 * xp.asarray(step_size, dtype=x.dtype))
    return _mala_update(LangevinState(x, state.energy, state.score), both, step_size,
                        noise_scale, noise, uniform, xp)


def mala_kernel(energy, step_size, score=None):
    r"""MALA as a [`Kernel`][refebm.samplers.Kernel].

    Each call draws \(z \sim N(0, I)\) then \(u \sim U(0, 1)\) from ``rng`` and applies
    [`mala_step`][refebm.samplers.mala_step].

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\).
    step_size : float
        \(\epsilon > 0\) (CS236 parametrization).
    score : callable, optional
        ``score(x) -> (n, d)``. When omitted, [`energy_and_score`][refebm.samplers.energy_and_score] picks the energy's own
        object's ``energy_and_score`` or ``score`` method, else autograd (one forward and one
        reverse pass per step give both \(E\) and the score).

    Returns
    -------
    Kernel
        ``exact=True``.

    Examples
    --------
    >>> import numpy as np
    >>> k = mala_kernel(lambda x: 0.5 * np.sum(x**2, axis=-1), 0.1)
    >>> s, info = k(k.init(np.zeros((4, 2))), np.random.default_rng(0))
    >>> s.energy.shape, s.score.shape
    ((4,), (4, 2))
    """
    both = energy_and_score(energy, score)
    step_size = float(_step_size_iv(step_size))
    noise_scale = float(np.sqrt(2.0 * step_size))

    def init(x):
        return mala_init(x, energy, score)

    def step(state, rng):
        z, u, xp = draw_proposal_noise(rng, state.x)
        return _mala_update(state, both, step_size, noise_scale, z, u, xp)

    return Kernel(init, step, True, "mala")
