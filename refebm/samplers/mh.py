r"""Metropolis-Hastings (D10): random-walk and general proposals, as deterministic steps.

With \(p(x) = e^{-E(x)} / Z\) (the lectures write \(f = -E\)), a proposal
\(x' \sim q(\cdot \mid x)\) is accepted with probability

\[
    \alpha(x, x') = \min\Bigl(1,\; \frac{p(x')\, q(x \mid x')}{p(x)\, q(x' \mid x)}\Bigr)
    = \min\bigl(1,\; \exp(E(x) - E(x') + \log q(x \mid x') - \log q(x' \mid x))\bigr),
\]

in which \(Z\) cancels (D6). For the symmetric random walk \(x' = x + \text{step\_size}\cdot z\),
\(z \sim N(0, I)\), the proposal terms cancel and \(\alpha = \min(1, e^{E(x) - E(x')})\)
\(= \min(1, e^{f(x') - f(x)})\), the lectures' rule. The step is taken in log space: accept when
\(\log u < \log r\) for \(u \sim U(0, 1)\); a NaN ratio (a proposal where the energy is NaN)
is a rejection, and \(E(x') = +\infty\) (outside the support) gives \(\alpha = 0\).

Each step function takes its noise as arrays (``proposal_noise``, ``uniform``), so a second
implementation fed the same arrays must return the same states. [`mh_kernel`][refebm.samplers.mh_kernel] draws that noise
from a ``numpy.random.Generator``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import _validate as _v
from .._backend import array_namespace
from ._run import (Kernel, acceptance_probability, as_dtype, as_dtypes, chain_dtype,
                   draw_proposal_noise, metropolis_accept, select_rows)

__all__ = [
    "MHState",
    "MHInfo",
    "mh_init",
    "log_acceptance_to_probability",
    "accept",
    "mh_step",
    "mh_general_step",
    "mh_kernel",
    "mh_general_kernel",
]


class MHState(NamedTuple):
    """The state of a batch of MH chains.

    Attributes
    ----------
    x : array, shape ``(n_chains, d)``
        Positions.
    energy : array, shape ``(n_chains,)``
        \\(E(x)\\) at those positions, carried so that no step evaluates it twice; in the dtype
        of ``x``.
    """

    x: Any
    energy: Any


class MHInfo(NamedTuple):
    """What one MH step reports, per chain.

    Attributes
    ----------
    acceptance_rate : array, shape ``(n_chains,)``
        The acceptance probability \\(\\alpha(x, x') = \\min(1, r)\\) (0 for a NaN ratio).
    is_accepted : array of bool, shape ``(n_chains,)``
        Whether the proposal was accepted (\\(\\log u < \\log r\\)).
    proposal : array, shape ``(n_chains, d)``
        The proposed points \\(x'\\).
    log_acceptance_ratio : array, shape ``(n_chains,)``
        \\(\\log r\\) itself (NaN where the energy at the proposal is NaN, \\(-\\infty\\) where
        it is \\(+\\infty\\)).
    """

    acceptance_rate: Any
    is_accepted: Any
    proposal: Any
    log_acceptance_ratio: Any


# -- the acceptance rule ---------------------------------------------------------------------

def log_acceptance_to_probability(log_ratio, xp=None):
    r"""The acceptance probability \(\min(1, e^{\log r})\) per chain, 0 where \(\log r\) is NaN.

    Parameters
    ----------
    log_ratio : array, shape ``(n,)``
        \(\log r\); may hold NaN and \(\pm\infty\).

    Math
    ----
    D10: \(\alpha = \min(1, r) = \exp(\min(0, \log r))\), computed without overflow.

    Examples
    --------
    >>> import numpy as np
    >>> log_acceptance_to_probability(np.array([0.5, np.log(0.25), np.nan, -np.inf])).tolist()
    [1.0, 0.25, 0.0, 0.0]
    """
    log_ratio = _v.real_array("log_ratio", log_ratio, ndim=1, finite=False)
    return acceptance_probability(log_ratio, array_namespace(log_ratio, xp=xp))


def accept(log_ratio, uniform, xp=None):
    r"""The accept decision \(\log u < \log r\) per chain (False where \(\log r\) is NaN).

    Since \(u \sim U(0, 1)\), \(P(\log u < \log r) = \min(1, r)\): this is the Metropolis
    rule, and ``accept(log_ratio, u)`` is True exactly for ``u < min(1, r)``.

    Examples
    --------
    >>> import numpy as np
    >>> log_r = np.log(np.array([0.3, 0.3, 2.0, np.nan]))
    >>> accept(log_r, np.array([0.29, 0.31, 0.99, 0.0])).tolist()
    [True, False, True, False]
    """
    log_ratio = _v.real_array("log_ratio", log_ratio, ndim=1, finite=False)
    uniform = _v.uniforms("uniform", uniform, tuple(log_ratio.shape))
    return metropolis_accept(log_ratio, uniform, array_namespace(log_ratio, uniform, xp=xp))


# -- input validation ------------------------------------------------------------------------

def _state_iv(state):
    _v.state_fields("state", state, ("x", "energy"), "mh_init")
    x = _v.points("state.x", state.x)
    n = int(x.shape[0])
    e = _v.real_array("state.energy", state.energy, shape=(n,), finite=False)
    return MHState(x, e), n


def _noise_iv(name, noise, x):
    noise = _v.real_array(name, noise, ndim=2)
    _v.same_shape("state.x", x, name, noise)
    return noise


def _step_size_iv(step_size):
    return _v.scalar("step_size", step_size, low=0.0, low_open=True)


def _energy_at(energy, x, xp):
    """``energy(x)`` checked to have shape ``(n,)``, in the dtype of ``x``."""
    return as_dtype(_v.returned_array("energy", energy(x), (int(x.shape[0]),), what="the rows "
                                      "of x"), x.dtype, xp)


# -- init and steps ---------------------------------------------------------------------------

def mh_init(energy, x):
    r"""Start MH chains at ``x``: evaluate \(E(x)\) once and carry it.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\); must be finite (no NaN, no inf) at the start.
    x : array, shape ``(n_chains, d)``
        Starting points, finite. float32 chains stay float32 (their energy too).

    Returns
    -------
    MHState

    Examples
    --------
    >>> import numpy as np
    >>> mh_init(lambda x: 0.5 * np.sum(x**2, axis=-1), np.array([[1.0, 2.0]])).energy.tolist()
    [2.5]
    """
    _v.function("energy", energy)
    x = _v.points("x", x)
    e = energy(x)
    _v.energy_values("energy", e, int(x.shape[0]), allow_inf=False)
    return MHState(x, as_dtype(e, x.dtype, array_namespace(x)))


def _finish(state, x_new, e_new, log_ratio, uniform, xp):
    is_accepted = metropolis_accept(log_ratio, uniform, xp)
    new_state = MHState(select_rows(is_accepted, x_new, state.x, xp),
                        xp.where(is_accepted, e_new, state.energy))
    return new_state, MHInfo(acceptance_probability(log_ratio, xp), is_accepted, x_new,
                             log_ratio)


def _rw_update(energy, state, proposal_noise, uniform, step_size, xp):
    x_new = state.x + step_size * proposal_noise
    e_new = _energy_at(energy, x_new, xp)
    return _finish(state, x_new, e_new, state.energy - e_new, uniform, xp)


def mh_step(energy, state, proposal_noise, uniform, step_size):
    r"""One random-walk Metropolis step for every chain, given its noise.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\). NaN at a proposal counts as a rejection.
    state : MHState
        Current positions ``x`` ``(n, d)`` and their energies ``(n,)`` (from [`mh_init`][refebm.samplers.mh_init]).
    proposal_noise : array, shape ``(n, d)``
        \(z\) in \(x' = x + \text{step\_size}\, z\); standard normal for the usual sampler,
        but any symmetric law gives a valid MH step.
    uniform : array, shape ``(n,)``
        \(u \in [0, 1)\) for the accept test \(\log u < E(x) - E(x')\).
    step_size : float
        Scale of the proposal, > 0.

    Returns
    -------
    state : MHState
    info : MHInfo

    Math
    ----
    D10 (CS236 lecture 11): \(x' = x + \sigma z\), accept with probability
    \(\min(1, \exp(E(x) - E(x'))) = \min(1, \exp(f(x') - f(x)))\). The chain satisfies
    detailed balance \(p(x) q(x' \mid x) \alpha(x, x') = p(x') q(x \mid x') \alpha(x', x)\),
    so \(p\) is stationary.

    Examples
    --------
    A move to lower energy is always accepted:

    >>> import numpy as np
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=-1)
    >>> s = mh_init(energy, np.array([[2.0]]))
    >>> s, info = mh_step(energy, s, np.array([[-1.0]]), np.array([0.999]), 0.5)
    >>> s.x.tolist(), s.energy.tolist(), info.acceptance_rate.tolist()
    ([[1.5]], [1.125], [1.0])
    """
    _v.function("energy", energy)
    state, n = _state_iv(state)
    proposal_noise = _noise_iv("proposal_noise", proposal_noise, state.x)
    uniform = _v.uniforms("uniform", uniform, (n,))
    step_size = _step_size_iv(step_size)
    xp = array_namespace(state.x, proposal_noise, uniform)
    dtype = chain_dtype(xp, *state, proposal_noise, uniform, step_size)
    x, e, proposal_noise, uniform = as_dtypes(dtype, xp, *state, proposal_noise, uniform)
    return _rw_update(energy, MHState(x, e), proposal_noise, uniform, step_size, xp)


def _general_update(energy, propose, proposal_log_prob, state, noise, uniform, xp):
    x = state.x
    n = int(x.shape[0])
    try:
        x_new = propose(x, noise)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"`propose` failed on x of shape {tuple(x.shape)} and `noise` of shape "
            f"{tuple(getattr(noise, 'shape', ()))}: {exc}") from exc
    _v.returned_array("propose", x_new, tuple(x.shape))
    x_new = as_dtype(x_new, x.dtype, xp)
    e_new = _energy_at(energy, x_new, xp)
    log_q_back = _v.returned_array("proposal_log_prob", proposal_log_prob(x, x_new), (n,),
                                   what="the rows of x")
    log_q_fwd = _v.returned_array("proposal_log_prob", proposal_log_prob(x_new, x), (n,),
                                  what="the rows of x")
    log_ratio = as_dtype(state.energy - e_new + log_q_back - log_q_fwd, x.dtype, xp)
    return _finish(state, x_new, e_new, log_ratio, uniform, xp)


def mh_general_step(energy, propose, proposal_log_prob, state, noise, uniform):
    r"""One Metropolis-Hastings step with any proposal, Hastings correction included.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\).
    propose : callable
        ``propose(x, noise) -> x'`` of shape ``(n, d)``: the proposal as a deterministic map
        of its noise.
    proposal_log_prob : callable
        ``proposal_log_prob(to, frm) -> (n,)``: \(\log q(\text{to} \mid \text{frm})\) row by
        row (constants that do not depend on the points may be dropped: they cancel).
    state : MHState
    noise : array
        The proposal's noise, passed to ``propose`` as it is; its first axis has length ``n``,
        and it must be finite.
    uniform : array, shape ``(n,)``
        \(u \in [0, 1)\) for the accept test.

    Returns
    -------
    state : MHState
    info : MHInfo

    Math
    ----
    D10 with the Hastings correction (Hastings 1970):
    \(\log r = E(x) - E(x') + \log q(x \mid x') - \log q(x' \mid x)\), accept when
    \(\log u < \log r\).

    Examples
    --------
    An independence proposal \(x' = z \sim N(0, 1)\) for the target \(N(0, 1)\) itself
    has \(r = 1\): every proposal is accepted.

    >>> import numpy as np
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=-1)
    >>> log_q = lambda to, frm: -0.5 * np.sum(to**2, axis=-1)
    >>> s = mh_init(energy, np.array([[3.0]]))
    >>> s, info = mh_general_step(energy, lambda x, z: z, log_q, s, np.array([[0.7]]),
    ...                           np.array([0.999]))
    >>> s.x.tolist(), bool(np.isclose(info.acceptance_rate[0], 1.0, rtol=1e-14))
    ([[0.7]], True)
    """
    _v.function("energy", energy)
    _v.function("propose", propose)
    _v.function("proposal_log_prob", proposal_log_prob)
    state, n = _state_iv(state)
    noise = _v.real_array("noise", noise, min_ndim=1)
    if int(noise.shape[0]) != n:
        raise ValueError(f"`noise` must have {n} rows (one per chain), got shape "
                         f"{tuple(noise.shape)}")
    uniform = _v.uniforms("uniform", uniform, (n,))
    xp = array_namespace(state.x, uniform)
    dtype = chain_dtype(xp, *state, noise, uniform)
    x, e, uniform = as_dtypes(dtype, xp, *state, uniform)
    state = MHState(x, e)
    return _general_update(energy, propose, proposal_log_prob, state, noise, uniform, xp)


# -- kernels ----------------------------------------------------------------------------------

def mh_kernel(energy, step_size):
    r"""Random-walk Metropolis as a [`Kernel`][refebm.samplers.Kernel].

    Each call draws \(z \sim N(0, I)\) and \(u \sim U(0, 1)\) from ``rng`` (normals first, then
    uniforms) and applies [`mh_step`][refebm.samplers.mh_step].

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\).
    step_size : float
        Proposal scale, > 0.

    Returns
    -------
    Kernel
        ``init(x) -> MHState``, ``step(state, rng) -> (MHState, MHInfo)``, ``exact=True``.

    Math
    ----
    D10: the kernel leaves \(p \propto e^{-E}\) invariant.

    Examples
    --------
    >>> import numpy as np
    >>> k = mh_kernel(lambda x: 0.5 * np.sum(x**2, axis=-1), step_size=0.5)
    >>> s = k.init(np.zeros((3, 2)))
    >>> s, info = k(s, np.random.default_rng(0))
    >>> s.x.shape, info.is_accepted.shape
    ((3, 2), (3,))
    """
    _v.function("energy", energy)
    step_size = float(_step_size_iv(step_size))

    def init(x):
        return mh_init(energy, x)

    def step(state, rng):
        z, u, xp = draw_proposal_noise(rng, state.x)
        return _rw_update(energy, state, z, u, step_size, xp)

    return Kernel(init, step, True, "rwmh")


def mh_general_kernel(energy, propose, proposal_log_prob):
    r"""Metropolis-Hastings with a general proposal as a [`Kernel`][refebm.samplers.Kernel].

    Each call draws ``noise`` \(\sim N(0, I)\) of the shape of ``x`` and \(u \sim U(0, 1)\) from
    ``rng`` and applies [`mh_general_step`][refebm.samplers.mh_general_step].

    Parameters
    ----------
    energy, propose, proposal_log_prob : callable
        As in [`mh_general_step`][refebm.samplers.mh_general_step]; ``propose(x, noise)`` receives standard normal noise of
        shape ``(n, d)``.

    Returns
    -------
    Kernel
        ``exact=True``: the Hastings correction makes \(p\) invariant for any proposal whose
        ``proposal_log_prob`` is its true log density.

    Examples
    --------
    >>> import numpy as np
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=-1)
    >>> k = mh_general_kernel(energy, lambda x, z: 0.5 * x + z,
    ...                       lambda to, frm: -0.5 * np.sum((to - 0.5 * frm)**2, axis=-1))
    >>> k.name, k.exact
    ('mh', True)
    """
    _v.function("energy", energy)
    _v.function("propose", propose)
    _v.function("proposal_log_prob", proposal_log_prob)

    def init(x):
        return mh_init(energy, x)

    def step(state, rng):
        z, u, xp = draw_proposal_noise(rng, state.x)
        return _general_update(energy, propose, proposal_log_prob, state, z, u, xp)

    return Kernel(init, step, True, "mh")
