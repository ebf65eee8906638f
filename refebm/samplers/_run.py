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

import warnings
from typing import Any, Callable, NamedTuple

import numpy as np

from .. import _validate as _v
from .._backend import array_namespace, is_numpy_namespace, to_numpy

__all__ = ["Kernel", "SampleResult", "DivergenceWarning", "sample"]


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
    trace : array, shape ``(n_chains, n_kept, d)``
        The kept positions in ArviZ's ``(chain, draw, dim)`` layout, so that
        ``refebm.diagnostics`` and ``arviz`` read it as it is: with ``keep="all"``, the state
        after steps ``thin, 2 thin, ...`` (``n_kept = n_steps // thin``); with ``keep="last"``,
        only the final state (``n_kept = 1``). The starting points are not included. Its dtype
        is that of the chains (the positions the kernel's ``init`` made of ``x0``: float32 for
        float32 ``x0`` and model, float64 otherwise).
    state : state
        The final kernel state (positions and whatever the kernel carries: energy, score).
    acceptance_rate : ndarray, shape ``(n_steps,)``
        Per step, the fraction of chains whose proposal was accepted (1 for kernels without an
        accept/reject step); ``None`` when the kernel's info has no ``is_accepted``.
    chain_acceptance_rate : ndarray, shape ``(n_chains,)``
        Per chain, the fraction of steps accepted; ``None`` as above.
    diverged : ndarray of bool, shape ``(n_chains,)``
        Per chain, whether any step reported it diverged (its info's ``diverged``: a position or
        score that is not finite); ``None`` when the kernel's info has no ``diverged``. A run
        with a diverged chain also warns ([`DivergenceWarning`][refebm.samplers.DivergenceWarning]).
    """

    trace: Any
    state: Any
    acceptance_rate: Any
    chain_acceptance_rate: Any
    diverged: Any


class DivergenceWarning(RuntimeWarning):
    """A chain left the finite range: its position or its score is NaN or infinite.

    Samplers without an accept/reject step (ULA, its decoupled and convention forms) cannot
    reject such a move; they flag the chain in ``info.diverged`` and warn with this class.
    """


def position(state):
    """The positions ``(n_chains, d)`` held in a kernel state (its ``x``, or the state itself)."""
    return state.x if hasattr(state, "x") else state


def _first_step_iv(out, n_chains, d, kernel):
    """What the kernel returned on its first step: a pair (state, info) whose positions have the
    shape of ``x0``. Checked once, so that a wrong kernel fails with a message, not deep in
    the loop."""
    name = getattr(kernel, "name", "kernel")
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"`kernel` ({name}) must return a pair (state, info), got {_v.show(out)}")
    state = out[0]
    x = position(state)
    shape = tuple(getattr(x, "shape", ())) if hasattr(x, "shape") else None
    if shape != (n_chains, d):
        raise TypeError(
            f"`kernel` ({name}) must return a state whose positions (its `x`, or the state "
            f"itself) have the shape of x0 ({n_chains}, {d}), got {_v.show(state)}")
    return out


def sample(kernel, x0, n_steps, rng, *, thin=1, keep="all", callback=None, progress=False):
    r"""Run ``kernel`` for ``n_steps`` steps from ``x0``, all chains at once.

    Parameters
    ----------
    kernel : Kernel or callable
        ``kernel(state, rng) -> (state, info)``. A [`Kernel`][refebm.samplers.Kernel] is started with
        ``kernel.init(x0)``; a plain callable uses ``x0`` itself as the state.
    x0 : array, shape ``(n_chains, d)``
        Starting points, one row per chain; finite. Its dtype sets the run's (float64 unless
        ``x0`` is float32).
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
        ``(trace, state, acceptance_rate, chain_acceptance_rate, diverged)``; ``trace`` is
        ``(n_chains, n_kept, d)``, ArviZ's ``(chain, draw, dim)``.

    Warns
    -----
    DivergenceWarning
        When a chain diverged (its kernel's info says so); ``diverged`` names the chains.

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
    >>> res.trace.shape, res.acceptance_rate.shape     # (chain, draw, dim) and per step
    ((4, 2, 2), (10,))
    """
    if not callable(kernel):
        raise TypeError(f"`kernel` must be callable (kernel(state, rng) -> (state, info)), "
                        f"got {_v.show(kernel)}")
    x0 = _v.points("x0", x0)
    n_steps = _v.integer("n_steps", n_steps, minimum=1)
    thin = _v.integer("thin", thin, minimum=1)
    if thin > n_steps:
        raise ValueError(f"`thin` must be <= n_steps ({n_steps}), got {thin}")
    _v.one_of("keep", keep, ("all", "last"))
    if callback is not None:
        _v.function("callback", callback)
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be a bool, got {_v.show(progress)}")
    gen = _v.rng(rng)
    xp = array_namespace(x0)

    state = kernel.init(x0) if hasattr(kernel, "init") else x0
    n_chains, d = (int(s) for s in x0.shape)
    n_kept = n_steps // thin if keep == "all" else 1
    on_numpy = is_numpy_namespace(xp)
    # the chains' dtype is what the kernel's init made of x0 (a float32 model keeps float32
    # points float32; float64 parameters make them float64)
    dtype = getattr(position(state), "dtype", x0.dtype) if on_numpy else np.float64
    trace = np.empty((n_chains, n_kept, d), dtype=dtype) if on_numpy else [None] * n_kept
    step_rate = np.empty(n_steps, dtype=dtype)
    chain_accepted = np.zeros(n_chains)
    chain_diverged = np.zeros(n_chains, dtype=bool)
    has_acceptance, has_divergence = True, True

    steps = range(1, n_steps + 1)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, total=n_steps, desc=getattr(kernel, "name", "sample"))
    k = 0
    for t in steps:
        out = kernel(state, gen)
        if t == 1:
            _first_step_iv(out, n_chains, d, kernel)
        state, info = out
        if has_acceptance:
            accepted = getattr(info, "is_accepted", None)
            if accepted is None:
                has_acceptance = False
            else:
                a = to_numpy(accepted)
                n_acc = np.count_nonzero(a) if a.dtype == np.bool_ else a.sum(dtype=np.float64)
                step_rate[t - 1] = n_acc / a.size
                chain_accepted += a
        if has_divergence:
            div = getattr(info, "diverged", None)
            if div is None:
                has_divergence = False
            else:
                chain_diverged |= to_numpy(div).astype(bool)
        if t % thin == 0:
            if keep == "all":
                if on_numpy:
                    trace[:, k] = position(state)
                else:
                    trace[k] = position(state)
                k += 1
            if callback is not None:
                callback(t, state, info)
    if keep == "last":
        if on_numpy:
            trace[:, 0] = position(state)
        else:
            trace[0] = position(state)
    if not on_numpy:
        trace = xp.stack(trace, axis=1)
    diverged = chain_diverged if has_divergence else None
    if has_divergence and chain_diverged.any():
        warnings.warn(
            f"{int(chain_diverged.sum())} of {n_chains} chains diverged (a position or score "
            f"that is not finite) in {n_steps} steps of '{getattr(kernel, 'name', 'kernel')}'; "
            "`diverged` names them: lower the step size", DivergenceWarning, stacklevel=2)
    if not has_acceptance:
        return SampleResult(trace, state, None, None, diverged)
    return SampleResult(trace, state, step_rate, (chain_accepted / n_steps).astype(dtype),
                        diverged)


# -- shared by the samplers: noise draws, the Metropolis rule, row selection --------------------

#: The largest float32 below 1: a float64 uniform rounded to float32 stays in [0, 1).
BELOW_ONE_FLOAT32 = np.float32(1.0) - np.finfo(np.float32).epsneg


def draw_normal(gen, like, xp):
    """Standard normal noise with the shape and dtype of ``like``, in namespace ``xp``. The draws
    are float64 and rounded to float32 for float32 chains, so a float32 run follows the same
    stream as a float64 run (its noise equal to float32 rounding)."""
    z = gen.standard_normal(tuple(like.shape))
    if is_numpy_namespace(xp):
        return z.astype(np.float32) if like.dtype == np.float32 else z
    return xp.asarray(z, dtype=like.dtype)


def draw_uniform(gen, n, xp, dtype=None):
    """Uniform(0, 1) draws of shape ``(n,)`` in namespace ``xp``: float64 draws, rounded to
    float32 (and kept below 1) when ``dtype`` is float32."""
    u = gen.random(n)
    if is_numpy_namespace(xp):
        if dtype == np.float32:
            return np.minimum(u.astype(np.float32), BELOW_ONE_FLOAT32)
        return u
    return xp.asarray(u)


def draw_proposal_noise(gen, x):
    """The draws of one Metropolis-Hastings step of the chains at ``x``, in this order: standard
    normal noise of the shape of ``x``, then one Uniform(0, 1) per chain; and ``x``'s namespace."""
    xp = array_namespace(x)
    z = draw_normal(gen, x, xp)
    return z, draw_uniform(gen, int(x.shape[0]), xp, getattr(x, "dtype", None)), xp


def acceptance_probability(log_ratio, xp):
    r"""\(\min(1, e^{\log r})\) per chain, 0 where \(\log r\) is NaN (no checks: the samplers'
    inner loop; [`refebm.samplers.log_acceptance_to_probability`][refebm.samplers.log_acceptance_to_probability] is the checked form)."""
    if is_numpy_namespace(xp):
        prob = np.minimum(log_ratio, 0.0)
        np.exp(prob, out=prob)
        prob[np.isnan(prob)] = 0.0          # a fresh array: NaN ratios are rejections
        return prob
    negative = log_ratio < 0
    clipped = xp.where(negative, log_ratio, xp.zeros_like(log_ratio))
    return xp.where(negative, xp.exp(clipped),
                    xp.where(log_ratio >= 0, xp.ones_like(log_ratio), xp.zeros_like(log_ratio)))


def metropolis_accept(log_ratio, uniform, xp):
    r"""The decision \(\log u < \log r\) per chain, False where \(\log r\) is NaN (no checks;
    [`refebm.samplers.accept`][refebm.samplers.accept] is the checked form)."""
    if is_numpy_namespace(xp):
        with np.errstate(divide="ignore"):
            return np.log(uniform) < log_ratio
    return xp.log(uniform) < log_ratio


def _rows(a):
    """A C-contiguous NumPy array ``(n, ...)`` viewed as ``n`` opaque records, one per row, or
    None. Choosing whole rows then copies each row as one block, not element by element."""
    if type(a) is not np.ndarray or a.ndim < 2 or a.size == 0 or not a.flags.c_contiguous:
        return None
    return a.reshape(a.shape[0], -1).view(np.dtype((np.void, a.itemsize * a[0].size)))[:, 0]


def select_rows(mask, new, old, xp):
    """Row-wise choice: row ``i`` of ``new`` where ``mask[i]``, else row ``i`` of ``old``."""
    if is_numpy_namespace(xp):
        rows_new, rows_old = _rows(new), _rows(old)
        if rows_new is not None and rows_old is not None and new.dtype == old.dtype:
            return np.where(mask, rows_new, rows_old).view(new.dtype).reshape(new.shape)
        return np.where(mask.reshape(mask.shape + (1,) * (new.ndim - 1)), new, old)
    cond = mask
    for _ in range(len(new.shape) - 1):
        cond = xp.expand_dims(cond, axis=-1)
    return xp.where(cond, new, old)


def chain_dtype(xp, *values):
    """The dtype of a step's chains by the package's rule: float32 when every floating array or
    NumPy scalar among ``values`` (the state's arrays, the noise, the uniforms, NumPy scalar
    parameters) is float32, else float64; Python numbers and callables do not count."""
    name = _v.result_dtype(*values)
    return getattr(np if is_numpy_namespace(xp) else xp, name)


def as_dtypes(dtype, xp, *values):
    """Each of ``values`` in ``dtype`` (see ``as_dtype``)."""
    return tuple(as_dtype(v, dtype, xp) for v in values)


def as_dtype(values, dtype, xp):
    """``values`` in ``dtype`` (the chains' dtype), without a copy when it already is."""
    if getattr(values, "dtype", None) == dtype:
        return values
    if is_numpy_namespace(xp):
        return np.asarray(values, dtype=dtype)
    return xp.astype(values, dtype)


def nonfinite_rows(a, xp):
    """Per row of ``a`` ``(n, ...)``, whether any entry is NaN or infinite (shape ``(n,)``)."""
    bad = ~xp.isfinite(a)
    if len(a.shape) == 1:
        return bad
    if is_numpy_namespace(xp):
        return bad.reshape(bad.shape[0], -1).any(axis=1)
    return xp.any(xp.reshape(bad, (bad.shape[0], -1)), axis=1)
