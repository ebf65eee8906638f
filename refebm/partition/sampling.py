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

import math
import warnings
from typing import Any, NamedTuple

import numpy as np

from .. import _validate as _v
from .._backend import array_namespace, is_numpy_namespace, logsumexp, to_numpy

__all__ = ["LogZEstimate", "AISResult", "DegenerateWeightsWarning", "importance_sampling", "ais",
           "rbm_ais", "pareto_k"]

#: Default of ``min_ess``: below this many effective samples the weights are called degenerate.
MIN_ESS = 10.0


class DegenerateWeightsWarning(RuntimeWarning):
    """Importance weights too uneven for the estimate and its standard error to be trusted.

    Raised as a warning by [`importance_sampling`][refebm.partition.importance_sampling],
    [`ais`][refebm.partition.ais] and [`rbm_ais`][refebm.partition.rbm_ais] when Kish's
    effective sample size is below ``min_ess`` or the Pareto tail index of the weights is above
    \\(\\min(1 - 1/\\log_{10} n, 0.7)\\); the result's ``stderr`` is then ``inf``.
    ``warnings.simplefilter("error", DegenerateWeightsWarning)`` turns it into an error.
    """


class LogZEstimate(NamedTuple):
    """An importance-sampling estimate of \\(\\log Z\\).

    Attributes
    ----------
    log_z : float
        \\(\\log \\hat Z = \\operatorname{logsumexp}(\\log w) - \\log n\\).
    stderr : float
        Delta-method standard error of ``log_z``: \\(\\mathrm{sd}(w) / (\\sqrt n \\bar w)\\);
        ``inf`` when the weights are degenerate (see
        [`DegenerateWeightsWarning`][refebm.partition.DegenerateWeightsWarning]), because the
        sample standard deviation of such weights says nothing about the error.
    log_weights : ndarray ``(n,)``
        \\(\\log w_i\\).
    ess : float
        Kish's effective sample size \\((\\sum w)^2 / \\sum w^2\\).
    pareto_k : float
        The Pareto tail index \\(\\hat k\\) of the largest weights
        ([`pareto_k`][refebm.partition.pareto_k]); NaN for fewer than 25 weights.
    """

    log_z: float
    stderr: float
    log_weights: Any
    ess: float
    pareto_k: float


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
    pareto_k : float
        As in [`LogZEstimate`][refebm.partition.LogZEstimate].
    """

    log_z: float
    stderr: float
    log_weights: Any
    ess: float
    samples: Any
    acceptance_rate: Any
    pareto_k: float


def _gpd_fit(exceedances):
    """Shape \\(k\\) of a generalized Pareto fit to sorted positive exceedances: the
    empirical-Bayes estimate of Zhang and Stephens (2009), with the weakly informative prior
    of Vehtari et al. (2024, appendix C) pulling \\(k\\) towards 0.5 by 10 pseudo-points."""
    x = np.asarray(exceedances, dtype=np.float64)
    n = x.size
    m = 30 + int(math.sqrt(n))
    b = 1.0 - np.sqrt(m / (np.arange(1, m + 1, dtype=np.float64) - 0.5))
    b = b / (3.0 * x[int(n / 4 + 0.5) - 1]) + 1.0 / x[-1]
    k = np.mean(np.log1p(-b[:, None] * x[None, :]), axis=1)
    log_lik = n * (np.log(-b / k) - k - 1.0)
    weights = 1.0 / np.sum(np.exp(log_lik[None, :] - log_lik[:, None]), axis=1)
    keep = weights >= 10 * np.finfo(np.float64).eps
    weights, b = weights[keep], b[keep]
    b_post = np.sum(b * weights) / np.sum(weights)
    k_post = np.mean(np.log1p(-b_post * x))
    return float((n * k_post + 10 * 0.5) / (n + 10))


def pareto_k(log_weights):
    r"""The Pareto tail index \(\hat k\) of importance weights (Vehtari et al. 2024, PSIS).

    Parameters
    ----------
    log_weights : array ``(n,)``
        \(\log w_i\); ``-inf`` entries (zero weights) allowed.

    Returns
    -------
    k : float
        The shape of a generalized Pareto fit to the \(M = \lceil \min(0.2 n, 3\sqrt n)
ceil\)
        largest weights above the next largest; NaN when \(n < 25\) or fewer than 5 of the tail
        weights differ. \(k < 1/2\): the weights have a finite variance and the delta-method
        standard error holds; \(k > \min(1 - 1/\log_{10} n, 0.7)\): the estimate of
        \(\mathbb E w\) is unreliable at this \(n\) whatever the sample variance says.

    Math
    ----
    The weights' upper tail is modelled as \(P(w > t) \sim t^{-1/k}\): moments of order
    \(\ge 1/k\) are infinite. The fit is the profile-posterior estimate of Zhang and Stephens
    (2009) with the prior of Vehtari et al. (2024).

    Examples
    --------
    Bounded weights have a short tail (\(k < 0\)); weights with \(P(w > t) = t^{-1}\) (a
    Pareto tail with infinite mean, \(k = 1\)) are flagged:

    >>> import numpy as np
    >>> u = (np.arange(4000) + 0.5) / 4000
    >>> bool(pareto_k(np.log(1.0 + u)) < 0), bool(pareto_k(-np.log(u)) > 0.7)
    (True, True)
    """
    lw = to_numpy(_v.real_array("log_weights", log_weights, ndim=1, finite=False))
    cast = np.float32 if _v.result_dtype(lw) == "float32" else float
    lw = np.asarray(lw, dtype=np.float64)
    if np.any(np.isnan(lw)) or np.any(lw == np.inf):
        raise ValueError(f"`log_weights` must not contain NaN or +inf, got {_v.show(log_weights)}")
    n = lw.size
    if n < 25:
        return cast("nan")
    tail_len = int(math.ceil(min(0.2 * n, 3.0 * math.sqrt(n))))
    order = np.sort(lw)
    cutoff = order[-tail_len - 1]
    tail = order[-tail_len:]
    if not np.isfinite(tail[0]):
        return cast("nan")
    top = tail[-1]
    exceed = np.exp(tail - top) - np.exp(cutoff - top)   # scaled by the largest weight
    exceed = exceed[exceed > 0]
    if exceed.size < 5 or np.ptp(exceed) == 0:
        return cast("nan")
    return cast(_gpd_fit(np.sort(exceed)))


def _k_threshold(n):
    return min(1.0 - 1.0 / math.log10(n), 0.7)


def _summarize(log_w, min_ess, what):
    """log Z, its standard error, Kish's ESS and Pareto k from log-weights (host NumPy); warns
    and reports ``stderr = inf`` when the weights are degenerate."""
    log_w = np.asarray(log_w, dtype=np.float64)
    n = log_w.shape[0]
    log_mean = float(logsumexp(log_w) - np.log(n))
    if not np.isfinite(log_mean):
        raise ValueError("every importance weight is zero (log weights all -inf): the proposal "
                         "puts no mass where the target has any")
    rel = np.exp(log_w - log_mean)                       # w_i / mean(w)
    stderr = float(np.sqrt(np.var(rel, ddof=1) / n)) if n > 1 else float("inf")
    ess = float(n / np.mean(rel**2))
    k = pareto_k(log_w)
    reasons = []
    if ess < min_ess:
        reasons.append(f"Kish's effective sample size is {ess:.3g} of n = {n} (below `min_ess` "
                       f"= {min_ess:g})")
    if np.isfinite(k) and k > _k_threshold(n):
        reasons.append(f"the Pareto tail index of the weights is {k:.2f} (above "
                       f"{_k_threshold(n):.2f}: their variance is effectively infinite)")
    if reasons:
        warnings.warn(
            f"{what}: the importance weights are degenerate: {'; '.join(reasons)}. log_z = "
            f"{log_mean:.6g} is unreliable and its standard error is reported as inf (the "
            f"delta-method value {stderr:.3g} would claim a precision it does not have); use a "
            "proposal closer to the target" + (" (more betas or kernel steps)" if what !=
            "importance_sampling" else ""), DegenerateWeightsWarning, stacklevel=3)
        stderr = float("inf")
    return log_mean, stderr, ess, k


def _min_ess_iv(min_ess):
    return float(_v.scalar("min_ess", min_ess, low=1.0))


def _energy_at(name, fn, x, n):
    values = fn(x)
    _v.energy_values(name, values, n, allow_inf=True)
    return np.asarray(to_numpy(values), dtype=np.float64)


def importance_sampling(energy, proposal_sample, proposal_log_prob, *, min_ess=MIN_ESS):
    r"""Estimate \(\log Z\) of \(e^{-E}\) by importance sampling from a normalized proposal.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``, \(E = -f\); ``+inf`` outside the support.
    proposal_sample : array ``(n, d)``
        Independent draws \(x_i \sim q\), \(n \ge 2\).
    proposal_log_prob : callable or array ``(n,)``
        \(\log q\), normalized: a callable ``(n, d) -> (n,)`` or its values at the draws.
    min_ess : float >= 1, keyword-only
        Below this effective sample size (Kish) the weights are degenerate: a
        [`DegenerateWeightsWarning`][refebm.partition.DegenerateWeightsWarning] and
        ``stderr = inf``. The same happens when the Pareto tail index of the weights exceeds
        \(\min(1 - 1/\log_{10} n, 0.7)\) ([`pareto_k`][refebm.partition.pareto_k]).

    Returns
    -------
    LogZEstimate
        ``log_z``, ``stderr``, ``log_weights``, ``ess``, ``pareto_k``; float32 numbers and
        weights when ``proposal_sample`` is float32 (computed in float64).

    Math
    ----
    D1, D5: \(Z = E_q[e^{-E(x)} / q(x)]\); \(\log w_i = -E(x_i) - \log q(x_i)\),
    \(\log \hat Z = \operatorname{logsumexp}(\log w) - \log n\) (no overflow for energies of any
    size), \(\mathrm{se} = \mathrm{sd}(w) / (\sqrt n \bar w)\). The standard error is a
    statement about the weights drawn: when a few of them dominate, the draws have not seen the
    tail that decides \(\mathbb E w\), and no sample statistic bounds the error; that is what
    the two degeneracy checks detect. Passing them is necessary, not sufficient: a proposal
    that misses a mode entirely gives even weights and a confident wrong answer.

    Examples
    --------
    When \(q \propto e^{-E}\) every weight equals \(Z\): \(E = x^2/2 + 3\), \(q = N(0, 1)\) give
    \(\log Z = \tfrac12 \log 2\pi - 3\) exactly, with standard error 0.

    >>> import numpy as np
    >>> x = np.array([[-1.0], [0.2], [2.0]])
    >>> log_q = -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> est = importance_sampling(lambda x: 0.5 * x[:, 0]**2 + 3.0, x, log_q, min_ess=1.0)
    >>> bool(np.isclose(est.log_z, 0.5 * np.log(2 * np.pi) - 3.0, rtol=1e-14)), est.stderr
    (True, 0.0)
    """
    _v.function("energy", energy)
    x = _v.points("proposal_sample", proposal_sample)
    n = int(x.shape[0])
    if n < 2:
        raise ValueError(f"`proposal_sample` must have at least 2 points, got shape "
                         f"{tuple(x.shape)}")
    if not callable(proposal_log_prob):
        _v.real_array("proposal_log_prob", proposal_log_prob, shape=(n,))
    min_ess = _min_ess_iv(min_ess)
    dtype = _v.result_dtype(x)
    e = _energy_at("energy", energy, x, n)
    if callable(proposal_log_prob):
        log_q = proposal_log_prob(x)
        log_q = _v.returned_values("proposal_log_prob", log_q, n, allow_neg_inf=False)
    else:
        log_q = proposal_log_prob
    log_q = np.asarray(to_numpy(_v.real_array("proposal_log_prob", log_q, shape=(n,))),
                       dtype=np.float64)
    log_w = -e - log_q
    log_z, stderr, ess, k = _summarize(log_w, min_ess, "importance_sampling")
    return _cast(LogZEstimate(log_z, stderr, log_w, ess, k), dtype)


def _cast(result, dtype):
    """Every float of ``result`` in the dtype of the caller's arrays (the dtype rule)."""
    if dtype == "float64":
        return result
    out = {}
    for name, value in result._asdict().items():
        out[name] = np.float32(value) if isinstance(value, float) else _v.as_dtype(value, dtype)
    return type(result)(**out)


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


def _kernel_iv(kernel):
    if not callable(kernel):
        raise TypeError(f"`transition` must return a kernel (callable), got {_v.show(kernel)}")
    return kernel


def _position(state, n, d):
    x = state.x if hasattr(state, "x") else state
    shape = tuple(np.shape(to_numpy(x)))
    if shape != (n, d):
        raise ValueError(f"the kernel returned by `transition` must keep the chains' shape "
                         f"({n}, {d}) (a state with field `x`, or the array), got shape {shape}")
    return x


def ais(energy, init_sample, init_log_prob, betas, transition, rng, *, n_steps=1,
        min_ess=MIN_ESS):
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
        ``transition(beta, bridge_energy) -> kernel``, called once per \(\beta_k\), \(k \ge
        1\), with the bridge energy \(E_{\beta_k}\); the kernel must leave \(p_{\beta_k} \propto
        e^{-E_{\beta_k}}\) invariant. See "Kernel protocol" below; every kernel of
        [`refebm.samplers`][refebm.samplers] follows it, e.g.
        ``lambda beta, e: mala_kernel(e, 0.1)``, or for an RBM on the joint state a block Gibbs
        kernel with weights ``beta * W`` ([`rbm_ais`][refebm.partition.rbm_ais] does this).
    rng : numpy.random.Generator or int
        The generator handed to the kernels.
    n_steps : int >= 1, keyword-only
        Kernel steps per \(\beta_k\).
    min_ess : float >= 1, keyword-only
        As in [`importance_sampling`][refebm.partition.importance_sampling].

    Returns
    -------
    AISResult
        Float32 numbers and weights when ``init_sample`` is float32.

    Kernel protocol
    ---------------
    What ``transition`` returns is a callable ``kernel(state, rng) -> (state, info)`` with,
    optionally:

    - ``kernel.init(x) -> state`` building the state from points ``x`` ``(n, d)`` (without it
      the state is the array itself);
    - a state that is an array ``(n, d)`` or has the points as its field ``x``;
    - ``info.is_accepted`` ``(n,)``, averaged into ``acceptance_rate``;
    - ``kernel.exact``: ``False`` for a kernel that does not leave its target invariant (ULA),
      which triggers a ``RuntimeWarning`` (its bias enters the estimate); ``kernel.name`` for
      the message.

    [`refebm.samplers.Kernel`][refebm.samplers.Kernel] is exactly this. A fresh state is built
    from the points at every \(\beta_k\), so kernels that cache the energy in their state see
    the new bridge.

    Math
    ----
    With \(E_\beta = (1 - \beta) E_0 + \beta E\) and \(x_0 \sim p_0\): for \(k = 1..K\),
    \(\log w \mathrel{+}= -(\beta_k - \beta_{k-1})(E(x_{k-1}) - E_0(x_{k-1}))\), then
    \(x_k \sim T_k(x_{k-1}, \cdot)\) with \(T_k\) leaving \(p_{\beta_k}\) invariant. Then
    \(E[w] = Z / Z_0 = Z\) (Neal 2001, section 2), and \(\log \hat Z\), its standard error,
    bias and degeneracy checks are as for importance sampling
    ([`importance_sampling`][refebm.partition.importance_sampling]). With ``betas = [0, 1]``
    this is importance sampling from \(p_0\).

    Examples
    --------
    A one-step path from \(N(0, 1)\) to \(e^{-x^2/2 - 3}\) (the base is the target up to a
    constant) is exact:

    >>> import numpy as np
    >>> from refebm.samplers import mh_kernel
    >>> log_p0 = lambda x: -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> res = ais(lambda x: 0.5 * x[:, 0]**2 + 3.0, np.array([[0.1], [1.0]]), log_p0,
    ...           [0.0, 1.0], lambda beta, e: mh_kernel(e, 0.5), rng=0, min_ess=1.0)
    >>> bool(np.isclose(res.log_z, 0.5 * np.log(2 * np.pi) - 3.0, rtol=1e-14))
    True
    """
    _v.function("energy", energy)
    x = _v.points("init_sample", init_sample)
    n, d = (int(v) for v in x.shape)
    if n < 2:
        raise ValueError(f"`init_sample` must have at least 2 points, got shape {tuple(x.shape)}")
    _v.function("init_log_prob", init_log_prob)
    b = _betas_iv(betas)
    _v.function("transition", transition)
    gen = _v.rng(rng)
    n_steps = _v.integer("n_steps", n_steps, minimum=1)
    min_ess = _min_ess_iv(min_ess)
    dtype = _v.result_dtype(x)
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

        kernel = _kernel_iv(transition(beta, bridge))
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
        x = _position(state, n, d)
    if not is_numpy_namespace(xp):
        x = xp.asarray(x)
    log_z, stderr, ess, kk = _summarize(log_w, min_ess, "ais")
    return _cast(AISResult(log_z, stderr, log_w, ess, x, acceptance, kk), dtype)


def _rbm_gibbs(W, b, c):
    """Block Gibbs on the joint state ``(v, h)`` of the RBM ``(W, b, c)`` as a kernel: draws
    ``u_h`` ``(n, k)`` then ``u_v`` ``(n, m)``; \\(h' \\sim p(h \\mid v)\\), \\(v' \\sim p(v \\mid
    h')\\)."""
    m = W.shape[0]

    def sigmoid(a):
        return 0.5 + 0.5 * np.tanh(0.5 * a)

    def step(state, rng):
        v = state[:, :m]
        n = v.shape[0]
        u_h = rng.random((n, W.shape[1]))
        u_v = rng.random((n, m))
        h = (u_h < sigmoid(c + v @ W)).astype(np.float64)
        v = (u_v < sigmoid(b + h @ W.T)).astype(np.float64)
        return np.concatenate([v, h], axis=1), None

    return step


def rbm_ais(rbm, betas, n_samples, rng, *, n_steps=1, min_ess=MIN_ESS):
    r"""AIS for \(\log Z\) of a binary RBM, from its biases to its weights (Salakhutdinov and
    Murray 2008).

    Parameters
    ----------
    rbm : refebm.discrete.RBM
        The model \(E(v, h) = -b^\top v - c^\top h - v^\top W h\), units in \(\{0, 1\}\).
    betas : array ``(K + 1,)``
        \(0 = \beta_0 < \dots < \beta_K = 1\).
    n_samples : int >= 2
        Number of independent AIS runs (chains).
    rng : numpy.random.Generator or int
        Draws, in this order: the base sample (uniforms ``(n, m + k)``), then per \(\beta_k\)
        and step the hidden uniforms ``(n, k)`` and the visible uniforms ``(n, m)``.
    n_steps, min_ess
        As in [`ais`][refebm.partition.ais].

    Returns
    -------
    AISResult
        On the joint state ``(v, h)``: ``samples`` has shape ``(n, m + k)``, visible units
        first; ``acceptance_rate`` is NaN (Gibbs has no accept step).

    Math
    ----
    The base is the RBM without weights, independent units \(p_0(v, h) \propto e^{b^\top v +
    c^\top h}\) with \(\log Z_0 = \sum_i \operatorname{softplus}(b_i) + \sum_j
    \operatorname{softplus}(c_j)\), sampled exactly. The geometric bridge between \(E_0 =
    -b^\top v - c^\top h\) and \(E\) is the RBM with weights \(\beta W\) and the same biases,
    so block Gibbs with \(\beta_k W\) leaves it exactly invariant, and each step adds
    \((\beta_k - \beta_{k-1})\, v^\top W h\) to \(\log w\). It is [`ais`][refebm.partition.ais]
    with ``init_log_prob`` \(= \log p_0\) and ``transition`` that Gibbs kernel.

    Examples
    --------
    With \(W = 0\) the base is the model and AIS is exact:

    >>> import numpy as np
    >>> from refebm.discrete import RBM
    >>> rbm = RBM(np.zeros((3, 2)), np.array([0.5, -1.0, 0.0]), np.array([1.0, 0.2]))
    >>> res = rbm_ais(rbm, np.linspace(0, 1, 5), 100, 0)
    >>> bool(np.isclose(res.log_z, rbm.log_partition(), rtol=1e-14)), res.stderr
    (True, 0.0)
    """
    from ..discrete import RBM

    if not isinstance(rbm, RBM):
        raise TypeError(f"`rbm` must be a refebm.discrete.RBM, got {_v.show(rbm)}")
    b_sched = _betas_iv(betas)
    n = _v.integer("n_samples", n_samples, minimum=2)
    gen = _v.rng(rng)
    n_steps = _v.integer("n_steps", n_steps, minimum=1)
    min_ess = _min_ess_iv(min_ess)
    dtype = _v.result_dtype(rbm.W)
    W, b, c = (np.asarray(to_numpy(a), dtype=np.float64) for a in (rbm.W, rbm.b, rbm.c))
    m = W.shape[0]
    log_z0 = float(np.sum(np.logaddexp(0.0, b)) + np.sum(np.logaddexp(0.0, c)))
    p_on = 0.5 + 0.5 * np.tanh(0.5 * np.concatenate([b, c]))
    x = (gen.random((n, p_on.size)) < p_on).astype(np.float64)

    def energy(y):
        return -(y[:, :m] @ b) - (y[:, m:] @ c) - np.sum((y[:, :m] @ W) * y[:, m:], axis=1)

    def log_p0(y):
        return y[:, :m] @ b + y[:, m:] @ c - log_z0

    def transition(beta, _bridge):
        return _rbm_gibbs(beta * W, b, c)

    res = ais(energy, x, log_p0, b_sched, transition, gen, n_steps=n_steps, min_ess=min_ess)
    return _cast(res, dtype)
