r"""Gibbs samplers for the Ising model and the RBM, as deterministic steps given their uniforms.

Conventions are those of [`refebm.discrete`][refebm.discrete] (\(p = e^{-E} / Z\), the lectures' \(f = -E\)):

* Ising, spins \(s \in \{-1, +1\}^d\): \(E(s) = -\tfrac12 s^\top J s - h^\top s\) with \(J\)
  symmetric, zero diagonal. One spin given the rest:
  \(P(s_i = +1 \mid s_{-i}) = \sigma(2 \phi_i)\), \(\phi_i = (sJ)_i + h_i\).
* RBM, binary \(v \in \{0,1\}^m\), \(h \in \{0,1\}^k\): \(E(v, h) = -b^\top v - c^\top h -
  v^\top W h\); \(P(h_j = 1 \mid v) = \sigma(c_j + (vW)_j)\) and
  \(P(v_i = 1 \mid h) = \sigma(b_i + (Wh)_i)\), each layer independent given the other.

A unit is set to 1 (or +1) exactly when its uniform is below its conditional probability, so
two implementations fed the same uniforms agree bit for bit up to the rounding of
\(\sigma\). Each conditional update leaves \(p\) invariant, hence so does their composition.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import _validate as _v
from .._backend import array_namespace, concat, to_numpy
from ._run import BELOW_ONE_FLOAT32, Kernel, as_dtypes, chain_dtype

__all__ = [
    "GibbsState",
    "GibbsInfo",
    "ising_gibbs_init",
    "ising_gibbs_step",
    "rbm_gibbs_init",
    "rbm_gibbs_step",
    "ising_gibbs_kernel",
    "rbm_gibbs_kernel",
]


class GibbsState(NamedTuple):
    """Gibbs chains: ``x`` ``(n, d)`` (spins, or visible and hidden units side by side)."""

    x: Any


class GibbsInfo(NamedTuple):
    """Per-chain report: Gibbs never rejects, so ``acceptance_rate`` is 1 and
    ``is_accepted`` True."""

    acceptance_rate: Any
    is_accepted: Any


def _sigmoid(a, xp):
    r"""\(\sigma(a) = 1/(1 + e^{-a}) = \tfrac12 (1 + \tanh(a/2))\), without overflow."""
    return 0.5 + 0.5 * xp.tanh(0.5 * a)


def _units_iv(name, x, values, d=None):
    x = _v.points(name, x, d=d)
    host = to_numpy(x)
    ok = (host == values[0]) | (host == values[1])
    if not np.all(ok):
        raise ValueError(f"`{name}` must have entries in {{{values[0]:g}, {values[1]:g}}}, "
                         f"got {float(host[~ok].ravel()[0])!r}")
    return x


def _ising_params_iv(J, h):
    J = _v.square_matrix("J", J)
    host = to_numpy(J).astype(np.float64)
    scale = max(float(np.max(np.abs(host))), np.finfo(float).tiny)
    if np.max(np.abs(host - host.T)) > 1e-12 * scale:
        raise ValueError(f"`J` must be symmetric, got max |J - J^T| = "
                         f"{np.max(np.abs(host - host.T)):.3g}")
    if np.any(np.diag(host) != 0):
        raise ValueError(f"`J` must have a zero diagonal, got diagonal {_v.show(np.diag(host))}")
    d = int(host.shape[0])
    h = _v.real_array("h", h, shape=(d,))
    return J, h, d


def _rbm_params_iv(W, b, c):
    W = _v.real_array("W", W, ndim=2)
    m, k = (int(s) for s in W.shape)
    b = _v.real_array("b", b, shape=(m,))
    c = _v.real_array("c", c, shape=(k,))
    return W, b, c, m, k


def _ones_info(x, xp):
    ones = xp.ones((int(x.shape[0]),), dtype=x.dtype)
    return GibbsInfo(ones, ones > 0)


def _ising_sweep(J, h, s, uniform, xp):
    d = int(s.shape[1])
    cols = [s[:, j] for j in range(d)]
    plus = xp.ones_like(cols[0])
    for i in range(d):
        field = xp.stack(cols, axis=-1) @ J[:, i] + h[i]
        p_plus = _sigmoid(2.0 * field, xp)
        cols[i] = xp.where(uniform[:, i] < p_plus, plus, -plus)
    return xp.stack(cols, axis=-1)


def _gibbs_state_iv(state, values, d):
    _v.state_fields("state", state, ("x",), "the Gibbs init")
    return _units_iv("state.x", state.x, values, d=d)


def ising_gibbs_init(J, h, x):
    r"""Start Ising Gibbs chains at the spins ``x`` ``(n, d)`` (entries in \(\{-1, +1\}\)).

    The couplings ``J`` ``(d, d)`` (symmetric, zero diagonal) and the field ``h`` ``(d,)`` are
    checked; float32 spins stay float32.

    Examples
    --------
    >>> import numpy as np
    >>> ising_gibbs_init(np.zeros((2, 2)), np.zeros(2), np.ones((3, 2))).x.shape
    (3, 2)
    """
    J, h, d = _ising_params_iv(J, h)
    x = _units_iv("x", x, (-1.0, 1.0), d=d)
    xp = array_namespace(x, J, h)
    return GibbsState(as_dtypes(chain_dtype(xp, J, h, x), xp, x)[0])


def ising_gibbs_step(J, h, state, uniform):
    r"""One systematic-scan Gibbs sweep of an Ising model (sites \(1, \dots, d\) in order).

    Parameters
    ----------
    J : array ``(d, d)``
        Couplings, symmetric with zero diagonal.
    h : array ``(d,)``
        Field.
    state : GibbsState
        Spins ``x`` ``(n, d)`` in \(\{-1, +1\}\), one chain per row ([`ising_gibbs_init`][refebm.samplers.ising_gibbs_init]).
    uniform : array ``(n, d)``
        \(u_{\cdot i} \in [0, 1)\) for site \(i\): the spin becomes +1 iff
        \(u_i < P(s_i = +1 \mid s_{-i})\), evaluated with the sites before \(i\) already updated.

    Returns
    -------
    state : GibbsState
        The new spins, in the dtype of ``state.x``.
    info : GibbsInfo

    Math
    ----
    \(P(s_i = +1 \mid s_{-i}) = \sigma(2\phi_i)\), \(\phi_i = \sum_{j \ne i} J_{ij} s_j + h_i\),
    from \(E(s_i{=}{-1}) - E(s_i{=}{+1}) = 2\phi_i\) (D6: no \(Z\)).

    Examples
    --------
    A single spin with field \(h\) is +1 with probability \(\sigma(2h)\):

    >>> import numpy as np
    >>> p = 1 / (1 + np.exp(-2 * 0.5))
    >>> J, h = np.zeros((1, 1)), np.array([0.5])
    >>> s, info = ising_gibbs_step(J, h, ising_gibbs_init(J, h, np.array([[-1.0], [-1.0]])),
    ...                            np.array([[p - 1e-9], [p + 1e-9]]))
    >>> s.x.tolist()
    [[1.0], [-1.0]]
    """
    J, h, d = _ising_params_iv(J, h)
    s = _gibbs_state_iv(state, (-1.0, 1.0), d)
    uniform = _v.uniforms("uniform", uniform, tuple(s.shape))
    xp = array_namespace(s, J, h, uniform)
    s, uniform = as_dtypes(chain_dtype(xp, J, h, s, uniform), xp, s, uniform)
    return GibbsState(_ising_sweep(J, h, s, uniform, xp)), _ones_info(s, xp)


def _rbm_block(W, b, c, v, uniform_h, uniform_v, xp):
    one_h = xp.ones((int(v.shape[0]), int(W.shape[1])), dtype=v.dtype)
    h = xp.where(uniform_h < _sigmoid(c + v @ W, xp), one_h, 0.0 * one_h)
    one_v = xp.ones_like(v)
    v_new = xp.where(uniform_v < _sigmoid(b + h @ W.T, xp), one_v, 0.0 * one_v)
    return v_new, h


def rbm_gibbs_init(W, b, c, x):
    r"""Start RBM block-Gibbs chains on the joint state \((v, h)\).

    Parameters
    ----------
    W : array ``(m, k)``; b : array ``(m,)``; c : array ``(k,)``
        Weights, visible and hidden biases.
    x : array ``(n, m + k)`` or ``(n, m)``
        Units in \(\{0, 1\}\): visible then hidden; visible units alone are padded with
        hidden zeros (the step draws \(h\) afresh from \(p(h \mid v)\), so their value is
        never used). float32 units stay float32.

    Examples
    --------
    >>> import numpy as np
    >>> rbm_gibbs_init(np.zeros((3, 2)), np.zeros(3), np.zeros(2), np.ones((4, 3))).x.shape
    (4, 5)
    """
    W, b, c, m, k = _rbm_params_iv(W, b, c)
    x = _v.real_array("x", x, ndim=2)
    xp = array_namespace(x, W, b, c)
    if int(x.shape[1]) == m:
        x = _units_iv("x", x, (0.0, 1.0), d=m)
        x = concat([x, xp.zeros((int(x.shape[0]), k), dtype=x.dtype)], axis=-1, xp=xp)
    x = _units_iv("x", x, (0.0, 1.0), d=m + k)
    return GibbsState(as_dtypes(chain_dtype(xp, W, b, c, x), xp, x)[0])


def rbm_gibbs_step(W, b, c, state, uniform_h, uniform_v):
    r"""One block-Gibbs step of an RBM: \(h \sim p(h \mid v)\), then \(v' \sim p(v \mid h)\).

    Parameters
    ----------
    W : array ``(m, k)``; b : array ``(m,)``; c : array ``(k,)``
        Weights, visible and hidden biases.
    state : GibbsState
        The joint units ``x`` ``(n, m + k)`` ([`rbm_gibbs_init`][refebm.samplers.rbm_gibbs_init]): visible ``x[:, :m]``;
        the hidden part is not used.
    uniform_h : array ``(n, k)``
        \(h_j = 1\) iff \(u_j < \sigma(c_j + (vW)_j)\).
    uniform_v : array ``(n, m)``
        \(v'_i = 1\) iff \(u_i < \sigma(b_i + (Wh)_i)\).

    Returns
    -------
    state : GibbsState
        ``x = [v', h]`` ``(n, m + k)``: if \(v \sim p(v)\), then \((v, h)\) and \((v', h)\) are
        draws of \(p(v, h)\).
    info : GibbsInfo

    Math
    ----
    The RBM's conditionals factorize over units (bipartite graph), so each layer is sampled in
    one block: \(P(h_j = 1 \mid v) = \sigma(c_j + \sum_i v_i W_{ij})\),
    \(P(v_i = 1 \mid h) = \sigma(b_i + \sum_j W_{ij} h_j)\). Used by CD-k (D7).

    Examples
    --------
    >>> import numpy as np
    >>> W, b, c = np.zeros((2, 1)), np.zeros(2), np.zeros(1)
    >>> s, _ = rbm_gibbs_step(W, b, c, rbm_gibbs_init(W, b, c, np.array([[1.0, 0.0]])),
    ...                       np.array([[0.4]]), np.array([[0.6, 0.2]]))
    >>> s.x.tolist()     # every conditional is 1/2: v' = (0, 1), h = 1
    [[0.0, 1.0, 1.0]]
    """
    W, b, c, m, k = _rbm_params_iv(W, b, c)
    x = _gibbs_state_iv(state, (0.0, 1.0), m + k)
    n = int(x.shape[0])
    uniform_h = _v.uniforms("uniform_h", uniform_h, (n, k))
    uniform_v = _v.uniforms("uniform_v", uniform_v, (n, m))
    xp = array_namespace(x, W, b, c, uniform_h, uniform_v)
    dtype = chain_dtype(xp, W, b, c, x, uniform_h, uniform_v)
    x, uniform_h, uniform_v = as_dtypes(dtype, xp, x, uniform_h, uniform_v)
    v_new, h = _rbm_block(W, b, c, x[:, :m], uniform_h, uniform_v, xp)
    return GibbsState(concat([v_new, h], axis=-1, xp=xp)), _ones_info(x, xp)


def _draw_uniform(rng, shape, xp, like):
    """Uniforms for chains like ``like``: float64 draws, rounded to float32 (kept below 1) for
    float32 chains, so both dtypes follow one stream."""
    u = rng.random(shape)
    if isinstance(like, np.ndarray):
        return np.minimum(u.astype(np.float32), BELOW_ONE_FLOAT32) if like.dtype == np.float32 else u
    return xp.asarray(u)


def ising_gibbs_kernel(J, h):
    r"""Systematic-scan Gibbs for an Ising model as a [`Kernel`][refebm.samplers.Kernel].

    Each call draws uniforms ``(n, d)`` from ``rng`` and applies [`ising_gibbs_step`][refebm.samplers.ising_gibbs_step].

    Returns
    -------
    Kernel
        State [`GibbsState`][refebm.samplers.GibbsState] (``x`` = spins), ``exact=True``.

    Examples
    --------
    >>> import numpy as np
    >>> k = ising_gibbs_kernel(np.array([[0.0, 1.0], [1.0, 0.0]]), np.zeros(2))
    >>> s, _ = k(k.init(np.ones((3, 2))), np.random.default_rng(0))
    >>> sorted(set(s.x.ravel().tolist())) <= [-1.0, 1.0]
    True
    """
    J, h, d = _ising_params_iv(J, h)

    def init(x):
        return ising_gibbs_init(J, h, x)

    def step(state, rng):
        s = state.x
        xp = array_namespace(s)
        u = _draw_uniform(rng, tuple(s.shape), xp, s)
        return GibbsState(_ising_sweep(J, h, s, u, xp)), _ones_info(s, xp)

    return Kernel(init, step, True, "ising_gibbs")


def rbm_gibbs_kernel(W, b, c):
    r"""Block Gibbs for an RBM on the joint state \((v, h)\) as a [`Kernel`][refebm.samplers.Kernel].

    The state ``x`` is ``(n, m + k)``: visible units, then hidden units (``init`` also takes
    visible units alone, see [`rbm_gibbs_init`][refebm.samplers.rbm_gibbs_init]). Each call draws ``uniform_h`` ``(n, k)``
    then ``uniform_v`` ``(n, m)`` from ``rng``, samples \(h' \sim p(h \mid v)\) and
    \(v' \sim p(v \mid h')\), and returns \((v', h')\); the old \(h\) is not used. The joint
    \(p(v, h)\) (and so the marginal \(p(v)\)) is invariant.

    Returns
    -------
    Kernel
        State [`GibbsState`][refebm.samplers.GibbsState], ``exact=True``.

    Examples
    --------
    >>> import numpy as np
    >>> k = rbm_gibbs_kernel(np.zeros((3, 2)), np.zeros(3), np.zeros(2))
    >>> s, _ = k(k.init(np.zeros((4, 5))), np.random.default_rng(0))
    >>> s.x.shape
    (4, 5)
    """
    W, b, c, m, k = _rbm_params_iv(W, b, c)

    def init(x):
        return rbm_gibbs_init(W, b, c, x)

    def step(state, rng):
        x = state.x
        xp = array_namespace(x)
        n = int(x.shape[0])
        u_h = _draw_uniform(rng, (n, k), xp, x)
        u_v = _draw_uniform(rng, (n, m), xp, x)
        v_new, h_new = _rbm_block(W, b, c, x[:, :m], u_h, u_v, xp)
        return GibbsState(concat([v_new, h_new], axis=-1, xp=xp)), _ones_info(x, xp)

    return Kernel(init, step, True, "rbm_gibbs")
