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

import warnings
from typing import Any, NamedTuple

import numpy as np
from autograd import make_vjp

from .. import _validate as _v
from .._backend import array_namespace, is_numpy_namespace, to_numpy
from ..diff import analytic_energy_and_score, analytic_score
from ._run import (DivergenceWarning, Kernel, acceptance_probability, as_dtype, as_dtypes,
                   chain_dtype, draw_normal, draw_proposal_noise, metropolis_accept,
                   nonfinite_rows, select_rows)

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
    log_acceptance_ratio : array ``(n,)``
        MALA's \\(\\log r\\) ([`mala_log_acceptance`][refebm.samplers.mala_log_acceptance]; NaN counts as a rejection); zeros
        for ULA, whose moves are all kept.
    diverged : array of bool ``(n,)``
        ULA: the new position or the score there is NaN or infinite (the step also warns with
        [`DivergenceWarning`][refebm.samplers.DivergenceWarning]). MALA: always False, since such a
        proposal has a NaN or \\(-\\infty\\) ratio and is rejected.
    """

    acceptance_rate: Any
    is_accepted: Any
    proposal: Any
    log_acceptance_ratio: Any
    diverged: Any


# -- energy and score -------------------------------------------------------------------------

def _energy_and_score(energy, score):
    """The unchecked ``x -> (E(x), s(x))`` used inside the samplers' loops (see
    [`energy_and_score`][refebm.samplers.energy_and_score] for the order in which a score is found)."""
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
        _v.returned_array("energy", e, (int(x.shape[0]),), what="the rows of x")
        return e, -vjp(np.ones(e.shape, dtype=e.dtype))

    return both_autograd


def energy_and_score(energy, *, score=None):
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

    Returns
    -------
    callable
        ``x -> (E(x), s(x))`` for finite ``x`` of shape ``(n, d)``; it checks what it returns:
        the energy has shape ``(n,)`` with no NaN and no \(-\infty\) (\(+\infty\), outside the
        support, is allowed), the score has shape ``(n, d)`` and is finite wherever the energy
        is; both come back in the dtype of ``x``. A violation raises ``ValueError`` naming
        ``energy`` or ``score`` (the samplers use the same rules, but inside their loops a NaN
        at a proposal is a rejection, not an error).

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
    both = _energy_and_score(energy, score)

    def checked(x):
        x = _v.points("x", x)
        xp = array_namespace(x)
        n = int(x.shape[0])
        e, s = both(x)
        _v.energy_values("energy", e, n)
        _v.returned_array("score", s, tuple(x.shape))
        bad = to_numpy(nonfinite_rows(s, xp)) & np.isfinite(to_numpy(e))
        if np.any(bad):
            raise ValueError(f"`score` returned NaN or inf at {int(bad.sum())} of {n} points "
                             "where the energy is finite")
        return as_dtype(e, x.dtype, xp), as_dtype(s, x.dtype, xp)

    return checked


def _score_only(energy, score):
    if score is not None:
        return _v.function("score", score)
    if energy is None:
        raise TypeError("give `energy` or `score` (at least one must be a callable), got None")
    both = _energy_and_score(energy, None)
    return lambda x: both(x)[1]


def _score_checked(s, x, xp, name="score"):
    """A score returned at ``x``, checked to have the shape of ``x``, in the dtype of ``x``."""
    return as_dtype(_v.returned_array(name, s, tuple(x.shape)), x.dtype, xp)


def _score_at(score_fn, x, xp, name="score"):
    """``score_fn(x)`` checked to have the shape of ``x``, in the dtype of ``x``."""
    return _score_checked(score_fn(x), x, xp, name)


def _step_size_iv(step_size):
    return _v.scalar("step_size", step_size, low=0.0, low_open=True)


def _noise_iv(noise, x):
    noise = _v.real_array("noise", noise, ndim=2)
    _v.same_shape("state.x", x, "noise", noise)
    return noise


# -- ULA --------------------------------------------------------------------------------------

def _ula_state_iv(state):
    _v.state_fields("state", state, ("x", "score"), "ula_init")
    x = _v.points("state.x", state.x)
    xp = array_namespace(x)
    s = _v.real_array("state.score", state.score, shape=tuple(x.shape))
    return ULAState(x, s), xp


def _ula_move(score_fn, state, noise, drift, noise_scale, xp):
    r"""\(x' = x + a s(x) + b z\) with the score at \(x\) carried in the state; the new state,
    its info and whether any chain diverged."""
    x = state.x
    x_new = x + drift * state.score + noise_scale * noise
    s_new = _score_at(score_fn, x_new, xp)
    diverged = nonfinite_rows(x_new, xp) | nonfinite_rows(s_new, xp)
    n = int(x.shape[0])
    ones = xp.ones((n,), dtype=x.dtype)
    info = LangevinInfo(ones, ones > 0, x_new, xp.zeros((n,), dtype=x.dtype), diverged)
    return ULAState(x_new, s_new), info


def _warn_diverged(info, what, stacklevel=3):
    bad = to_numpy(info.diverged)
    if bad.any():
        warnings.warn(
            f"{what} diverged in {int(bad.sum())} of {bad.size} chains: the new position or "
            "the score there is NaN or inf (`info.diverged` flags them); lower the step size "
            "or check the score", DivergenceWarning, stacklevel=stacklevel)


def ula_init(score, x):
    r"""Start ULA chains at ``x``: evaluate and check the score there.

    Parameters
    ----------
    score : callable
        ``score(x) -> (n, d)``, \(\nabla_x \log p = -\nabla_x E\); must be finite at ``x``.
    x : array ``(n, d)``
        Starting points, finite. float32 chains stay float32 (their score too).

    Returns
    -------
    ULAState

    Math
    ----
    D12: the score \(\nabla_x \log p = -\nabla_x E\) needs no \(Z\).

    Examples
    --------
    >>> import numpy as np
    >>> ula_init(lambda x: -x, np.array([[1.0, -2.0]])).score.tolist()
    [[-1.0, 2.0]]
    """
    _v.function("score", score)
    x = _v.points("x", x)
    xp = array_namespace(x)
    s = _score_at(score, x, xp)
    if np.any(to_numpy(nonfinite_rows(s, xp))):
        raise ValueError(f"`score` must be finite at the starting points, got "
                         f"{_v.show(s)}")
    return ULAState(x, s)


def decoupled_langevin_step(score, state, noise, drift, noise_scale):
    r"""The Langevin update with separate drift and noise coefficients: \(x + a s(x) + b z\).

    Parameters
    ----------
    score : callable
        ``score(x) -> (n, d)``, \(\nabla_x \log p = -\nabla_x E\).
    state : ULAState
        From [`ula_init`][refebm.samplers.ula_init]: positions ``x`` ``(n, d)`` and the score there.
    noise : array ``(n, d)``
        \(z\), standard normal for the sampler (cast to the dtype of ``state.x``).
    drift : float
        \(a > 0\), the coefficient of the score.
    noise_scale : float
        \(b \ge 0\), the coefficient of the noise.

    Returns
    -------
    state : ULAState
    info : LangevinInfo
        Nothing is rejected; ``diverged`` flags chains whose new position or score is not
        finite (with a [`DivergenceWarning`][refebm.samplers.DivergenceWarning]).

    Math
    ----
    D11, D20. Code that tunes \(a\) and \(b\) separately (IGEBM-style) samples the tempered
    density \(p^{1/T}\) with \(T = b^2 / (2a)\): the update equals the CS236 step
    \(x + \epsilon \nabla \log p^{1/T} + \sqrt{2\epsilon} z\) with \(\epsilon = b^2/2\)
    ([`refebm.samplers.conventions.decoupled_temperature`][refebm.samplers.conventions.decoupled_temperature]).

    Examples
    --------
    >>> import numpy as np
    >>> score = lambda x: -x
    >>> s, info = decoupled_langevin_step(score, ula_init(score, np.array([[1.0]])),
    ...                                   np.array([[2.0]]), 0.5, 0.1)
    >>> s.x.tolist()
    [[0.7]]
    """
    _v.function("score", score)
    state, xp = _ula_state_iv(state)
    noise = _noise_iv(noise, state.x)
    drift = _v.scalar("drift", drift, low=0.0, low_open=True)
    noise_scale = _v.scalar("noise_scale", noise_scale, low=0.0)
    dtype = chain_dtype(xp, *state, noise, drift, noise_scale)
    x, s, noise = as_dtypes(dtype, xp, *state, noise)
    state = ULAState(x, s)
    new_state, info = _ula_move(score, state, noise, drift, noise_scale, xp)
    _warn_diverged(info, "decoupled_langevin_step")
    return new_state, info


def ula_step(score, state, noise, step_size):
    r"""One unadjusted Langevin step (CS236 parametrization), given its noise.

    Parameters
    ----------
    score : callable
        ``score(x) -> (n, d)``: \(\nabla_x \log p = \nabla_x f = -\nabla_x E\).
    state : ULAState
        From [`ula_init`][refebm.samplers.ula_init]: positions ``x`` ``(n, d)`` and the score there.
    noise : array ``(n, d)``
        \(z\), standard normal for the sampler (cast to the dtype of ``state.x``).
    step_size : float
        \(\epsilon > 0\).

    Returns
    -------
    state : ULAState
        Positions \(x + \epsilon s(x) + \sqrt{2\epsilon}\, z\) and the score there.
    info : LangevinInfo
        Nothing is rejected; ``diverged`` flags chains whose new position or score is not
        finite (with a [`DivergenceWarning`][refebm.samplers.DivergenceWarning]).

    Math
    ----
    D11 (CS236 lecture 11): \(x^{t+1} = x^t + \epsilon \nabla_x \log p(x^t) + \sqrt{2\epsilon}
    z^t\). It converges to \(p\) only as \(\epsilon \to 0\) and \(T \to \infty\); at fixed
    \(\epsilon\) its stationary law is biased (on \(N(0, s^2)\): variance
    \(s^2 / (1 - \epsilon / (2 s^2))\)).

    Examples
    --------
    >>> import numpy as np
    >>> score = lambda x: -x
    >>> s, info = ula_step(score, ula_init(score, np.array([[1.0]])), np.array([[1.0]]), 0.5)
    >>> s.x.tolist(), s.score.tolist()
    ([[1.5]], [[-1.5]])
    """
    _v.function("score", score)
    state, xp = _ula_state_iv(state)
    noise = _noise_iv(noise, state.x)
    step_size = _step_size_iv(step_size)
    dtype = chain_dtype(xp, *state, noise, step_size)
    x, s, noise = as_dtypes(dtype, xp, *state, noise)
    state = ULAState(x, s)
    noise_scale = xp.sqrt(2.0 * xp.asarray(step_size, dtype=state.x.dtype))
    new_state, info = _ula_move(score, state, noise, step_size, noise_scale, xp)
    _warn_diverged(info, "ula_step")
    return new_state, info


def ula_kernel(energy, step_size, *, score=None):
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
        [`refebm.samplers.conventions.ula_stationary_gaussian`][refebm.samplers.conventions.ula_stationary_gaussian]. Each step is
        [`ula_step`][refebm.samplers.ula_step] with \(z\) drawn from ``rng``; a chain that diverges is flagged in
        ``info.diverged``, and the first step with a diverged chain warns
        ([`DivergenceWarning`][refebm.samplers.DivergenceWarning]).

    Math
    ----
    D11: \(x' = x + \epsilon s(x) + \sqrt{2 \epsilon} z\), \(z \sim N(0, I)\) drawn from ``rng``.

    Examples
    --------
    >>> import numpy as np
    >>> k = ula_kernel(None, 0.1, score=lambda x: -x)
    >>> s, info = k(k.init(np.zeros((5, 3))), np.random.default_rng(0))
    >>> s.x.shape, bool(info.is_accepted.all()), bool(info.diverged.any())
    ((5, 3), True, False)
    """
    if energy is not None:
        _v.function("energy", energy)
    score_fn = _score_only(energy, score)
    step_size = float(_step_size_iv(step_size))
    noise_scale = float(np.sqrt(2.0 * step_size))
    warned = []

    def init(x):
        return ula_init(score_fn, x)

    def step(state, rng):
        xp = array_namespace(state.x)
        z = draw_normal(rng, state.x, xp)
        new_state, info = _ula_move(score_fn, state, z, step_size, noise_scale, xp)
        if not warned and bool(np.any(to_numpy(info.diverged))):
            warned.append(True)
            _warn_diverged(info, "ula_kernel")
        return new_state, info

    return Kernel(init, step, False, "ula")


# -- MALA -------------------------------------------------------------------------------------

def mala_init(energy, x, *, score=None):
    r"""Start MALA chains at ``x``: evaluate \(E(x)\) and the score once and carry them.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\); finite at ``x``.
    x : array ``(n, d)``
        Starting points, finite. float32 chains stay float32 (energy and score too).
    score : callable, optional
        ``score(x) -> (n, d)``; without it, [`energy_and_score`][refebm.samplers.energy_and_score] finds one (the energy's
        own object, else autograd). Finite at ``x``.

    Returns
    -------
    LangevinState

    Math
    ----
    D12: \(s = -\nabla_x E\).

    Examples
    --------
    >>> import numpy as np
    >>> s = mala_init(lambda x: 0.5 * np.sum(x**2, axis=-1), np.array([[3.0]]))
    >>> s.energy.tolist(), s.score.tolist()
    ([4.5], [[-3.0]])
    """
    both = _energy_and_score(energy, score)
    x = _v.points("x", x)
    xp = array_namespace(x)
    e, s = both(x)
    _v.energy_values("energy", e, int(x.shape[0]), allow_inf=False)
    s = _score_checked(s, x, xp)
    if not np.all(np.isfinite(to_numpy(s))):
        raise ValueError("`score` must be finite at the starting points, got NaN or inf")
    return LangevinState(x, as_dtype(e, x.dtype, xp), s)


def _langevin_state_iv(name, state, *, current):
    _v.state_fields(name, state, ("x", "energy", "score"), "mala_init")
    x = _v.points(f"{name}.x", state.x, finite=current)
    xp = array_namespace(x)
    n = int(x.shape[0])
    e = _v.real_array(f"{name}.energy", state.energy, shape=(n,), finite=False)
    if current:
        _v.energy_values(f"{name}.energy", e, n, allow_inf=False)
    s = _v.real_array(f"{name}.score", state.score, shape=tuple(x.shape), finite=current)
    return LangevinState(x, e, s), xp


def mala_log_acceptance(state, proposal, step_size):
    r"""MALA's log acceptance ratio \(\log r\) per chain, from the current and proposed states.

    Parameters
    ----------
    state : LangevinState
        The current chains: ``x`` ``(n, d)``, ``energy`` ``(n,)`` and ``score`` ``(n, d)``,
        all finite.
    proposal : LangevinState
        The proposal \(x'\) with \(E(x')\) and \(s(x')\), of the same shapes. NaN or inf
        there is allowed and gives a NaN or \(-\infty\) ratio (a rejection).
    step_size : float
        \(\epsilon > 0\) of the CS236 proposal
        \(q(x' \mid x) = N(x' ; x + \epsilon s(x), 2\epsilon I)\).

    Returns
    -------
    array ``(n,)``
        In the dtype of ``state.x``.

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
    >>> here = LangevinState(np.array([[1.0]]), np.array([0.5]), np.array([[-1.0]]))
    >>> there = LangevinState(np.array([[0.0]]), np.array([0.0]), np.array([[0.0]]))
    >>> float(mala_log_acceptance(here, there, 0.5)[0])
    0.125
    """
    state, xp = _langevin_state_iv("state", state, current=True)
    proposal, _ = _langevin_state_iv("proposal", proposal, current=False)
    _v.same_shape("state.x", state.x, "proposal.x", proposal.x)
    step_size = _step_size_iv(step_size)
    dtype = chain_dtype(xp, *state, *proposal, step_size)
    x, e, s, x_new, e_new, s_new = as_dtypes(dtype, xp, *state, *proposal)
    forward = x_new - x - step_size * s
    backward = x - x_new - step_size * s_new
    log_q_ratio = (xp.sum(forward * forward, axis=-1)
                   - xp.sum(backward * backward, axis=-1)) / (4.0 * step_size)
    with np.errstate(invalid="ignore"):
        return e - e_new + log_q_ratio


def _row_sq_norm(a, xp):
    """Squared Euclidean norm of each row of ``a`` (an einsum on NumPy: no temporary)."""
    if is_numpy_namespace(xp):
        return np.einsum("ij,ij->i", a, a)
    return xp.sum(a * a, axis=-1)


def _mala_update(both, state, noise, uniform, step_size, noise_scale, xp):
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
    n = int(x.shape[0])
    e_new, s_new = both(x_new)
    e_new = as_dtype(_v.returned_array("energy", e_new, (n,), what="the rows of x"),
                     x.dtype, xp)
    s_new = _score_checked(s_new, x_new, xp)
    if fused:
        backward = np.add(score_x, s_new)
        backward *= step_size
        backward += step
    else:
        backward = step + step_size * (score_x + s_new)
    log_ratio = (state.energy - e_new + 0.5 * _row_sq_norm(noise, xp)
                 - _row_sq_norm(backward, xp) / (4.0 * step_size))
    is_accepted = metropolis_accept(log_ratio, uniform, xp)
    new_state = LangevinState(select_rows(is_accepted, x_new, x, xp),
                              xp.where(is_accepted, e_new, state.energy),
                              select_rows(is_accepted, s_new, score_x, xp))
    return new_state, LangevinInfo(acceptance_probability(log_ratio, xp), is_accepted, x_new,
                                   log_ratio, xp.zeros((n,), dtype=x.dtype) != 0)


def mala_step(energy, state, noise, uniform, step_size, *, score=None):
    r"""One Metropolis-adjusted Langevin step for every chain, given its noise.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\). NaN at a proposal counts as a rejection.
    state : LangevinState
        From [`mala_init`][refebm.samplers.mala_init]: positions, energies and scores.
    noise : array ``(n, d)``
        \(z\) in the proposal \(x' = x + \epsilon s(x) + \sqrt{2\epsilon} z\) (cast to the
        dtype of ``state.x``).
    uniform : array ``(n,)``
        \(u \in [0, 1)\) for the accept test \(\log u < \log r\).
    step_size : float
        \(\epsilon > 0\) (CS236 parametrization).
    score : callable, optional
        ``score(x) -> (n, d)``; when omitted, the energy's own object supplies it or autograd
        does (see [`energy_and_score`][refebm.samplers.energy_and_score]).

    Returns
    -------
    state : LangevinState
    info : LangevinInfo
        With ``log_acceptance_ratio``, the \(\log r\) of [`mala_log_acceptance`][refebm.samplers.mala_log_acceptance].

    Math
    ----
    D11 made exact by D10: propose with the Langevin update, accept with
    [`mala_log_acceptance`][refebm.samplers.mala_log_acceptance]. Detailed balance holds with respect to \(p \propto e^{-E}\).

    Examples
    --------
    >>> import numpy as np
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=-1)
    >>> s = mala_init(energy, np.array([[1.0]]), score=lambda x: -x)
    >>> s, info = mala_step(energy, s, np.array([[0.0]]), np.array([0.5]), 0.5,
    ...                     score=lambda x: -x)
    >>> s.x.tolist(), info.acceptance_rate.tolist()   # x' = 1 - 0.5 = 0.5, accepted
    ([[0.5]], [1.0])
    >>> info.log_acceptance_ratio.tolist()   # E(x) - E(x') - (x - x' + 0.5 x')^2 / 2
    [0.09375]
    """
    both = _energy_and_score(energy, score)
    state, xp = _langevin_state_iv("state", state, current=True)
    n = int(state.x.shape[0])
    noise = _noise_iv(noise, state.x)
    uniform = _v.uniforms("uniform", uniform, (n,))
    step_size = _step_size_iv(step_size)
    xp = array_namespace(state.x, noise, uniform)
    dtype = chain_dtype(xp, *state, noise, uniform, step_size)
    x, e, s, noise, uniform = as_dtypes(dtype, xp, *state, noise, uniform)
    state = LangevinState(x, e, s)
    noise_scale = xp.sqrt(2.0 * xp.asarray(step_size, dtype=state.x.dtype))
    return _mala_update(both, state, noise, uniform, step_size, noise_scale, xp)


def mala_kernel(energy, step_size, *, score=None):
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
    >>> s.energy.shape, s.score.shape, info.log_acceptance_ratio.shape
    ((4,), (4, 2), (4,))
    """
    both = _energy_and_score(energy, score)
    step_size = float(_step_size_iv(step_size))
    noise_scale = float(np.sqrt(2.0 * step_size))

    def init(x):
        return mala_init(energy, x, score=score)

    def step(state, rng):
        z, u, xp = draw_proposal_noise(rng, state.x)
        return _mala_update(both, state, z, u, step_size, noise_scale, xp)

    return Kernel(init, step, True, "mala")
