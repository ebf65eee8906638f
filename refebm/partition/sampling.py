r"""Monte Carlo estimates of \(\log Z\): importance sampling and annealed importance sampling.

With \(p(x) = e^{-E(x)} / Z\) (the lectures' \(f = -E\)) and a normalized density \(q\) that can
be sampled,

\[
    Z = \int e^{-E(x)} dx = E_{x \sim q}\Bigl[\frac{e^{-E(x)}}{q(x)}\Bigr], \qquad
    \log \hat Z = \operatorname{logsumexp}_i(\log w_i) - \log n, \quad
    \log w_i = -E(x_i) - \log q(x_i).
\]

\(\hat Z\) is unbiased; \(\log \hat Z\) is biased low by about \(\mathrm{Var}(w) / (2 n
E[w]^2)\) (Jensen), which is the square of the reported standard error over 2. The standard error
comes from the delta method: \(\mathrm{se}(\log \hat Z) \approx \mathrm{sd}(w) / (\sqrt n\,
\bar w)\).

Annealed importance sampling (Neal 2001) moves the samples through bridges
\(E_\beta = (1 - \beta) E_0 + \beta E\) from a normalized base \(p_0 = e^{-E_0}\) to the
target with any kernel that leaves each bridge invariant, and multiplies the weights by
\(e^{-(\beta_k - \beta_{k-1})(E - E_0)}\) on the way. D1, D5 (Z's cost grows with dimension:
these estimators trade it for variance).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from .. import _validate as _v
from .._backend import array_namespace, is_numpy_namespace, logsumexp, to_numpy

__all__ = ["LogZEstimate", "AISResult", "importance_sampling", "ais"]


class LogZEstimate(NamedTuple):
    """An importance-sampling estimate of \\(\\log Z\\).

    Attributes
    ----------
    log_z : float
        \\(\\log \\hat Z = \\operatorname{logsumexp}(\\log w) - \\log n\\).
    stderr : float
        Delta-method standard error of ``log_z``: \\(\\mathrm{sd}(w) / (\\sqrt n \\bar w)\\).
    log_weights : ndarray ``(n,)``
        \\(\\log w_i\\).
    ess : float
        Kish's effective sample size \\((\\sum w)^2 / \\sum w^2\\).
    """

    log_z: float
    stderr: float
    log_weights: Any
    ess: float


class AISResult(NamedTuple):
    """An annealed-importance-sampling estimate of \\(\\log Z\\).

    Attributes
    ----------
    log_z, stderr, log_weights, ess
        As in [`LogZEstimate`][refebm.partition.LogZEstimate].
    samples : array ``(n, d)``
        The final states; with the weights, a weighted sample of the target.
    acceptance_rate : ndarray ``(K,)``
        Mean acceptance of the transitions at each \\(\\beta_k\\), ``k = 1..K`` (NaN for kernels
        that report none).
    """

    log_z: float
    stderr: float
    log_weights: Any
    ess: float
    samples: Any
    acceptance_rate: Any


def _summarize(log_w):
    """log Z, its delta-method standard error and Kish's ESS from log-weights (host NumPy)."""
    log_w = np.asarray(log_w, dtype=np.float64)
    n = log_w.shape[0]
    log_mean = float(logsumexp(log_w) - np.log(n))
    if not np.isfinite(log_mean):
        raise ValueError("every importance weight is zero (log weights all -inf): the proposal "
                         "puts no mass where the target has any")
    rel = np.exp(log_w - log_mean)                       # w_i / mean(w)
    stderr = float(np.sqrt(np.var(rel, ddof=1) / n)) if n > 1 else float("inf")
    ess = float(n / np.mean(rel**2))
    return log_mean, stderr, ess


def _energy_at(name, fn, x, n):
    values = fn(x)
    _v.energy_values(name, values, n, allow_inf=True)
    return np.asarray(to_numpy(values), dtype=np.float64)


def importance_sampling(energy, proposal_sample, proposal_log_prob):
    r"""Estimate \(\log Z\) of \(e^{-E}\) by importance sampling from a normalized proposal.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\); ``+inf`` outside the support.
    proposal_sample : array ``(n, d)``
        Independent draws \(x_i \sim q\), \(n \ge 2\).
    proposal_log_prob : callable or array ``(n,)``
        \(\log q\), normalized: a callable ``(n, d) -> (n,)`` or its values at the draws.

    Returns
    -------
    LogZEstimate

    Math
    ----
    D1, D5: \(Z = E_q[e^{-E(x)} / q(x)]\); \(\log w_i = -E(x_i) - \log q(x_i)\),
    \(\log \hat Z = \operatorname{logsumexp}(\log w) - \log n\) (no overflow for energies of any
    size), \(\mathrm{se} = \mathrm{sd}(w) / (\sqrt n \bar w)\).

    Examples
    --------
    When \(q \propto e^{-E}\) every weight equals \(Z\): \(E = x^2/2 + 3\), \(q = N(0, 1)\) give
    \(\log Z = \tfrac12 \log 2\pi - 3\) exactly, with standard error 0.

    >>> import numpy as np
    >>> x = np.array([[-1.0], [0.2], [2.0]])
    >>> log_q = -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> est = importance_sampling(lambda x: 0.5 * x[:, 0]**2 + 3.0, x, log_q)
    >>> bool(np.isclose(est.log_z, 0.5 * np.log(2 * np.pi) - 3.0, rtol=1e-14)), est.stderr
    (True, 0.0)
    """
    _v.function("energy", energy)
    x = _v.points("proposal_sample", proposal_sample)
    n = int(x.shape[0])
    if n < 2:
        raise ValueError(f"`proposal_sample` must have at least 2 points, got shape "
                         f"{tuple(x.shape)}")
    e = _energy_at("energy", energy, x, n)
    if callable(proposal_log_prob):
        log_q = proposal_log_prob(x)
    else:
        log_q = proposal_log_prob
    log_q = np.asarray(to_numpy(_v.real_array("proposal_log_prob", log_q, shape=(n,))),
                       dtype=np.float64)
    log_w = -e - log_q
    log_z, stderr, ess = _summarize(log_w)
    return LogZEstimate(log_z, stderr, log_w, ess)


def _betas_iv(betas):
    b = np.asarray(to_numpy(_v.real_array("betas", betas, ndim=1)), dtype=np.float64)
    if b.size < 2:
        raise ValueError(f"`betas` must have at least 2 entries (0 and 1), got {_v.show(betas)}")
    if b[0] != 0.0 or b[-1] != 1.0:
        raise ValueError(f"`betas` must start at 0 and end at 1, got first {b[0]!r} and last "
                         f"{b[-1]!r}")
    if np.any(np.diff(b) <= 0):
        raise ValueError(f"`betas` must be strictly increasing, got {_v.show(betas)}")
    return b


def ais(energy, init_sample, init_log_prob, betas, transition, rng, *, n_steps=1):
    r"""Annealed importance sampling of \(\log Z\) along geometric bridges (Neal 2001).

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, the target's \(E = -f\).
    init_sample : array ``(n, d)``
        Independent draws of the base \(p_0\), \(n \ge 2\).
    init_log_prob : callable
        \(\log p_0\), normalized, ``(n, d) -> (n,)``. The base energy is
        \(E_0 = -\log p_0\) (so \(Z_0 = 1\)); a base known as an energy \(E_0\) with
        \(\log Z_0\) is passed as ``lambda x: -E0(x) - log_z0``.
    betas : array ``(K + 1,)``
        \(0 = \beta_0 < \beta_1 < \dots < \beta_K = 1\).
    transition : callable
        ``transition(beta, bridge_energy) -> kernel``: a kernel (see
        [`refebm.samplers`][refebm.samplers]) that leaves \(p_\beta \propto e^{-E_\beta}\) invariant, e.g.
        ``lambda beta, e: mala_kernel(e, 0.1)`` or, for an RBM on the joint state, a Gibbs
        kernel with the bridge's parameters. A kernel with ``exact=False`` (ULA) triggers a
        warning: its bias enters the estimate.
    rng : numpy.random.Generator or int
    n_steps : int
        Kernel steps per \(\beta_k\), >= 1.

    Returns
    -------
    AISResult

    Math
    ----
    With \(E_\beta = (1 - \beta) E_0 + \beta E\) and \(x_0 \sim p_0\): for \(k = 1..K\),
    \(\log w \mathrel{+}= -(\beta_k - \beta_{k-1})(E(x_{k-1}) - E_0(x_{k-1}))\), then
    \(x_k \sim T_k(x_{k-1}, \cdot)\) with \(T_k\) leaving \(p_{\beta_k}\) invariant. Then
    \(E[w] = Z / Z_0 = Z\) (Neal 2001, section 2), and \(\log \hat Z\), its standard error and
    bias are as for importance sampling ([`importance_sampling`][refebm.partition.importance_sampling]). With ``betas = [0, 1]``
    this is importance sampling from \(p_0\).

    Examples
    --------
    A one-step path from \(N(0, 1)\) to \(e^{-x^2/2 - 3}\) (the base is the target up to a
    constant) is exact:

    >>> import numpy as np
    >>> from refebm.samplers import mh_kernel
    >>> log_p0 = lambda x: -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> res = ais(lambda x: 0.5 * x[:, 0]**2 + 3.0, np.array([[0.1], [1.0]]), log_p0,
    ...           [0.0, 1.0], lambda beta, e: mh_kernel(e, 0.5), rng=0)
    >>> bool(np.isclose(res.log_z, 0.5 * np.log(2 * np.pi) - 3.0, rtol=1e-14))
    True
    """
    _v.function("energy", energy)
    x = _v.points("init_sample", init_sample)
    n = int(x.shape[0])
    if n < 2:
        raise ValueError(f"`init_sample` must have at least 2 points, got shape {tuple(x.shape)}")
    _v.function("init_log_prob", init_log_prob)
    b = _betas_iv(betas)
    _v.function("transition", transition)
    gen = _v.rng(rng)
    n_steps = _v.integer("n_steps", n_steps, minimum=1)
    xp = array_namespace(x)

    def base_energy(y):
        return -init_log_prob(y)

    log_w = np.zeros(n)
    acceptance = np.full(len(b) - 1, np.nan)
    warned = False
    for k in range(1, len(b)):
        e0 = _energy_at("init_log_prob", base_energy, x, n)
        e1 = _energy_at("energy", energy, x, n)
        with np.errstate(invalid="ignore"):
            delta = np.where(e1 == e0, 0.0, e1 - e0)     # inf - inf where both are outside
        log_w = log_w - (b[k] - b[k - 1]) * delta
        beta = float(b[k])

        def bridge(y, beta=beta):
            return (1.0 - beta) * base_energy(y) + beta * energy(y)

        kernel = transition(beta, bridge)
        if not callable(kernel):
            raise TypeError(f"`transition` must return a kernel (callable), got "
                            f"{_v.show(kernel)}")
        if getattr(kernel, "exact", True) is False and not warned:
            warnings.warn(
                f"the transition kernel '{getattr(kernel, 'name', 'kernel')}' does not leave "
                "the bridge densities invariant (e.g. ULA): its bias enters the AIS estimate",
                RuntimeWarning, stacklevel=2)
            warned = True
        state = kernel.init(x) if hasattr(kernel, "init") else x
        rates = []
        for _ in range(n_steps):
            state, info = kernel(state, gen)
            accepted = getattr(info, "is_accepted", None)
            if accepted is not None:
                rates.append(float(np.mean(to_numpy(accepted))))
        if rates:
            acceptance[k - 1] = float(np.mean(rates))
        x = state.x if hasattr(state, "x") else state
    if not is_numpy_namespace(xp):
        x = xp.asarray(x)
    log_z, stderr, ess = _summarize(log_w)
    return AISResult(log_z, stderr, log_w, ess, x, acceptance)
