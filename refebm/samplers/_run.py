r"""The kernel interface and the one driver, [`sample`][refebm.samplers.sample], that runs any kernel over many chains.

A *kernel* is ``kernel(state, rng) -> (state, info)``: one Markov step for every chain at once,
built from a deterministic step function by drawing that step's noise from ``rng``. The kernels
in [`refebm.samplers`][refebm.samplers] are [`Kernel`][refebm.samplers.Kernel] tuples that also carry ``init`` (``x0 -> state``),
so [`sample`][refebm.samplers.sample] can start them from points; a plain callable works too, with the points
themselves as its state.

The driver loops over steps (never over chains: every step updates all chains as one array),
keeps all states, every ``thin``-th state, or only the last one, and can stream each kept state to
a callback instead of storing it (10000 chains x 1000 steps x d = 50 is 4 GB of float64).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from .. import _validate as _v
from .._backend import array_namespace, is_numpy_namespace, to_numpy

__all__ = ["Kernel", "SampleResult", "sample"]


class Kernel(NamedTuple):
    """A Markov kernel over a batch of chains.

    Attributes
    ----------
    init : callable
        ``init(x) -> state`` for points ``x`` of shape ``(n_chains, d)``.
    step : callable
        ``step(state, rng) -> (state, info)``; ``rng`` is a ``numpy.random.Generator``.
    exact : bool
        True when the kernel leaves its target exactly invariant (MH, MALA, Gibbs); False for
        the unadjusted Langevin algorithm, whose stationary law is biased (D11).
    name : str
        A short name ("rwmh", "mala", "ula", ...).
    """

    init: Callable
    step: Callable
    exact: bool
    name: str

    def __call__(self, state, rng):
        return self.step(state, rng)


class SampleResult(NamedTuple):
    """What [`sample`][refebm.samplers.sample] returns.

    Attributes
    ----------
    trace : array, shape ``(n_kept, n_chains, d)``
        The kept positions: with ``keep="all"``, the state after steps ``thin, 2 thin, ...``
        (``n_kept = n_steps // thin``); with ``keep="last"``, only the final state
        (``n_kept = 1``). The starting points are not included.
    state : state
        The final kernel state (positions and whatever the kernel carries: energy, score).
    acceptance_rate : ndarray, shape ``(n_steps,)``
        Per step, the fraction of chains whose proposal was accepted (1 for kernels without an
        accept/reject step); ``None`` when the kernel's info has no ``is_accepted``.
    chain_acceptance_rate : ndarray, shape ``(n_chains,)``
        Per chain, the fraction of steps accepted; ``None`` as above.
    """

    trace: Any
    state: Any
    acceptance_rate: Any
    chain_acceptance_rate: Any


def position(state):
    """The positions ``(n_chains, d)`` held in a kernel state (its ``x``, or the state itself)."""
    return state.x if hasattr(state, "x") else state


def sample(kernel, x0, n_steps, rng, *, thin=1, keep="all", callback=None, progress=False):
    r"""Run ``kernel`` for ``n_steps`` steps from ``x0``, all chains at once.

    Parameters
    ----------
    kernel : Kernel or callable
        ``kernel(state, rng) -> (state, info)``. A [`Kernel`][refebm.samplers.Kernel] is started with
        ``kernel.init(x0)``; a plain callable uses ``x0`` itself as the state.
    x0 : array, shape ``(n_chains, d)``
        Starting points, one row per chain; finite.
    n_steps : int
        Number of steps, ``>= 1``.
    rng : numpy.random.Generator or int
        The source of every random draw. The same seed gives the same trace.
    thin : int, optional
        Keep every ``thin``-th state (``1 <= thin <= n_steps``).
    keep : {"all", "last"}, optional
        ``"all"`` keeps every ``thin``-th state; ``"last"`` only the final one (memory of one
        state, whatever ``n_steps``).
    callback : callable, optional
        ``callback(step, state, info)`` after every ``thin``-th step (``step`` counts from 1);
        use it to stream states to disk or to accumulate statistics with ``keep="last"``.
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    SampleResult
        ``(trace, state, acceptance_rate, chain_acceptance_rate)``.

    Math
    ----
    A Markov chain \(x_{t+1} \sim K(x_t, \cdot)\) run for \(T\) steps per chain; chains are
    independent given their starting points (D22: convergence to \(p\) holds as
    \(T \to \infty\) but can be slow, worse with dimension).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.samplers import mh_kernel, sample
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=-1)
    >>> res = sample(mh_kernel(energy, step_size=1.0), np.zeros((4, 2)), 10, rng=0, thin=5)
    >>> res.trace.shape, res.acceptance_rate.shape
    ((2, 4, 2), (10,))
    """
    x0 = _v.points("x0", x0)
    n_steps = _v.integer("n_steps", n_steps, minimum=1)
    thin = _v.integer("thin", thin, minimum=1)
    if thin > n_steps:
        raise ValueError(f"`thin` must be <= n_steps ({n_steps}), got {thin}")
    _v.one_of("keep", keep, ("all", "last"))
    if not callable(kernel):
        raise TypeError(f"`kernel` must be callable (kernel(state, rng) -> (state, info)), "
                        f"got {_v.show(kernel)}")
    if callback is not None:
        _v.function("callback", callback)
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be a bool, got {_v.show(progress)}")
    gen = _v.rng(rng)
    xp = array_namespace(x0)

    state = kernel.init(x0) if hasattr(kernel, "init") else x0
    n_chains, d = (int(s) for s in position(state).shape)
    n_kept = n_steps // thin if keep == "all" else 1
    on_numpy = is_numpy_namespace(xp)
    trace = np.empty((n_kept, n_chains, d), dtype=x0.dtype) if on_numpy else [None] * n_kept
    step_rate = np.empty(n_steps)
    chain_accepted = np.zeros(n_chains)
    has_acceptance = True

    steps = range(1, n_steps + 1)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, total=n_steps, desc=getattr(kernel, "name", "sample"))
    k = 0
    for t in steps:
        state, info = kernel(state, gen)
        if has_acceptance:
            accepted = getattr(info, "is_accepted", None)
            if accepted is None:
                has_acceptance = False
            else:
                a = to_numpy(accepted)
                n_acc = np.count_nonzero(a) if a.dtype == np.bool_ else a.sum(dtype=np.float64)
                step_rate[t - 1] = n_acc / a.size
                chain_accepted += a
        if t % thin == 0:
            if keep == "all":
                trace[k] = position(state)
                k += 1
            if callback is not None:
                callback(t, state, info)
    if keep == "last":
        trace[0] = position(state)
    if not on_numpy:
        trace = xp.stack(trace, axis=0)
    if not has_acceptance:
        return SampleResult(trace, state, None, None)
    return SampleResult(trace, state, step_rate, chain_accepted / n_steps)


def draw_normal(gen, like, xp):
    """Standard normal noise with the shape and dtype of ``like``, in namespace ``xp``."""
    shape = tuple(like.shape)
    if is_numpy_namespace(xp):
        if like.dtype == np.float32:
            return gen.standard_normal(shape, dtype=np.float32)
        return gen.standard_normal(shape)
    z = gen.standard_normal(shape)
    return xp.asarray(z, dtype=like.dtype)


def draw_uniform(gen, n, xp):
    """Uniform(0, 1) draws of shape ``(n,)`` in namespace ``xp``."""
    u = gen.random(n)
    if is_numpy_namespace(xp):
        return u
    return xp.asarray(u)


def draw_proposal_noise(gen, x):
    """The draws of one Metropolis-Hastings step of the chains at ``x``, in this order: standard
    normal noise of the shape of ``x``, then one Uniform(0, 1) per chain; and ``x``'s namespace."""
    xp = array_namespace(x)
    z = draw_normal(gen, x, xp)
    return z, draw_uniform(gen, int(x.shape[0]), xp), xp
