r"""MCMC diagnostics: acceptance, autocorrelation, ESS, R-hat, kernel Stein discrepancy.

Draws follow ArviZ's layout, which is also the trace layout of [`refebm.samplers.sample`][refebm.samplers.sample]:
an array of shape ``(n_chains, n_draws)`` for one scalar quantity, or
``(n_chains, n_draws, d, ...)`` for several (each diagnosed separately); a 1-D array is one
chain. Where ArviZ is installed, an ``arviz.InferenceData``, an ``xarray.Dataset`` or an
``xarray.DataArray`` with ``chain`` and ``draw`` dimensions is accepted too (its posterior, and
the variable ``var_name`` when it holds several).

* [`ess`][refebm.diagnostics.ess] and [`rhat`][refebm.diagnostics.rhat] follow Vehtari, Gelman, Simpson, Carpenter & Buerkner (2021),
  "Rank-normalization, folding, and localization: an improved R-hat for assessing convergence of
  MCMC" (Bayesian Analysis 16(2)): split chains, rank-normalize, Geyer's initial monotone
  sequence for the autocorrelation sum (D22: a chain's draws are correlated; ESS says how many
  independent draws they are worth).
* [`ksd`][refebm.diagnostics.ksd] and [`ksd_test`][refebm.diagnostics.ksd_test] measure how far a sample is from a density known only through
  its score \(\nabla_x \log p = -\nabla_x E\) (D12: no \(Z\) needed), with the inverse
  multiquadric kernel (Gorham & Mackey 2017) and a wild bootstrap (Liu, Lee & Jordan 2016;
  Chwialkowski, Strathmann & Gretton 2016).

These functions are NumPy/SciPy only (ranks, FFT, normal quantiles); other namespaces raise
``TypeError``. What they return has the dtype of the draws: float32 arrays and NumPy float32
numbers for float32 draws, float64 arrays and Python floats otherwise. The statistics are
computed in float64 either way.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from . import _validate as _v
from ._backend import array_namespace, is_numpy_namespace

__all__ = [
    "acceptance_rate",
    "autocovariance",
    "autocorrelation",
    "ess",
    "rhat",
    "stein_kernel_matrix",
    "ksd",
    "KSDTestResult",
    "ksd_test",
    "ksd_test_from_weights",
]


def _numpy_iv(name, x):
    xp = array_namespace(x)
    if not is_numpy_namespace(xp):
        raise TypeError(f"`{name}` must be a NumPy array (diagnostics use SciPy), got an array "
                        f"of {xp.__name__}")


def _from_arviz(x, var_name, name="x"):
    """The ``(chain, draw, ...)`` NumPy values of an ``arviz.InferenceData`` (its posterior),
    an ``xarray.Dataset`` (variable ``var_name``) or an ``xarray.DataArray``; anything else is
    returned as it is."""
    module = type(x).__module__.split(".")[0]
    if module not in ("arviz", "xarray"):
        if var_name is not None:
            raise TypeError(f"`var_name` applies to an arviz.InferenceData or xarray object "
                            f"`{name}`, got `{name}` = {_v.show(x)} and var_name={var_name!r}")
        return x
    obj = x
    if module == "arviz" or (hasattr(obj, "groups") and hasattr(obj, "posterior")):
        if not hasattr(obj, "posterior"):
            raise ValueError(f"`{name}` must hold a posterior group, got groups "
                             f"{list(obj.groups())}")
        obj = obj.posterior
    if hasattr(obj, "data_vars"):
        names = list(obj.data_vars)
        if var_name is None:
            if len(names) != 1:
                raise ValueError(f"`var_name` must name one of the variables {names} of `{name}`, "
                                 "got None")
            var_name = names[0]
        elif var_name not in names:
            raise ValueError(f"`var_name` must be one of {names}, got {var_name!r}")
        obj = obj[var_name]
    dims = tuple(getattr(obj, "dims", ()))
    if "chain" not in dims or "draw" not in dims:
        raise ValueError(f"`{name}` must have dimensions 'chain' and 'draw', got {dims}")
    return np.asarray(obj.transpose("chain", "draw", ...).values)


def _draws_iv(x, var_name=None, min_draws=4):
    """``x`` as float64 ``(n_chains, n_draws, k)``, the trailing shape to return and the dtype of
    the draws."""
    x = _from_arviz(x, var_name)
    _numpy_iv("x", x)
    x = _v.real_array("x", x, min_ndim=1)
    dtype = x.dtype
    x = np.asarray(x, dtype=np.float64)
    trailing = x.shape[2:]
    if x.ndim == 1:
        x = x[None, :, None]
    else:
        x = x.reshape(x.shape[0], x.shape[1], -1)
    if x.shape[1] < min_draws:
        raise ValueError(f"`x` must have at least {min_draws} draws per chain (axis 1 of "
                         f"(chain, draw[, dim])), got shape {x.shape[:2] + trailing}")
    return x, trailing, dtype


def _number(value, dtype):
    """A single number in the dtype rule: a Python float, or a NumPy float32 for float32 input."""
    return np.float32(value) if dtype == np.float32 else float(value)


def _per_quantity(x, trailing, dtype, fn):
    out = np.array([fn(x[:, :, k]) for k in range(x.shape[2])])
    return _number(out[0], dtype) if trailing == () else out.reshape(trailing).astype(dtype)


# -- acceptance and autocorrelation ------------------------------------------------------------

def acceptance_rate(is_accepted, axis=None):
    r"""The fraction of accepted proposals (or the mean acceptance probability).

    Parameters
    ----------
    is_accepted : array of bool or of probabilities in [0, 1]
        Any shape, e.g. ``(n_chains, n_steps)`` stacked from the kernels' infos.
    axis : int, optional
        Average over this axis only (default: all); an integer in ``[-ndim, ndim)``.

    Math
    ----
    D10: \(\hat a = \frac1T \sum_t 1[\text{accepted}_t]\), an estimate of
    \(E[\min(1, r)]\).

    Examples
    --------
    >>> import numpy as np
    >>> acceptance_rate(np.array([[True, False], [True, True]]))
    0.75
    """
    _numpy_iv("is_accepted", is_accepted)
    a = np.asarray(is_accepted)
    in_dtype = a.dtype
    if a.dtype != bool:
        a = np.asarray(_v.real_array("is_accepted", a), dtype=np.float64)
        if np.any(a < 0) or np.any(a > 1):
            raise ValueError(f"`is_accepted` must be booleans or probabilities in [0, 1], "
                             f"got {_v.show(a)}")
    if a.size == 0:
        raise ValueError(f"`is_accepted` must not be empty, got shape {a.shape}")
    if axis is not None:
        axis = _v.axis("axis", axis, a.ndim, "is_accepted")
    out = np.mean(a, axis=axis)
    if in_dtype == np.float32 and np.ndim(out):
        out = out.astype(np.float32)
    return _number(out, in_dtype) if np.ndim(out) == 0 else out


def _draw_axis_iv(x, var_name=None):
    x = _from_arviz(x, var_name)
    _numpy_iv("x", x)
    x = _v.real_array("x", x, min_ndim=1)
    axis = 0 if x.ndim == 1 else 1
    if x.shape[axis] < 2:
        raise ValueError(f"`x` must have at least 2 draws per chain (axis {axis} of "
                         f"(chain, draw[, dim])), got shape {x.shape}")
    return x, axis


def _autocovariance(x, axis):
    n = x.shape[axis]
    m = 1
    while m < 2 * n:
        m *= 2
    centered = x - x.mean(axis=axis, keepdims=True)
    f = np.fft.rfft(centered, n=m, axis=axis)
    acov = np.fft.irfft(f * np.conj(f), n=m, axis=axis)
    return np.take(acov, np.arange(n), axis=axis) / n


def autocovariance(x, *, var_name=None):
    r"""Autocovariance of each chain at every lag, by FFT (biased estimator, divisor \(n\)).

    Parameters
    ----------
    x : array ``(n_draws,)``, ``(n_chains, n_draws)`` or ``(n_chains, n_draws, d, ...)``
        At least 2 draws per chain; or an ArviZ / xarray object (see the module).
    var_name : str, optional
        The variable of an ``InferenceData`` or ``Dataset`` that holds several.

    Returns
    -------
    array of the shape of ``x``
        \(\hat\gamma_t = \frac1n \sum_{i=0}^{n-1-t} (x_i - \bar x)(x_{i+t} - \bar x)\) along
        the draw axis, in the dtype of ``x``.

    Math
    ----
    The sum over \(i\) is a correlation, computed as \(\mathcal F^{-1} |\mathcal F(x -
    \bar x)|^2\) with zero padding to length \(\ge 2n\) so that no circular wrap-around enters.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(autocovariance(np.array([1.0, -1.0, 1.0, -1.0])), 12).tolist()
    [1.0, -0.75, 0.5, -0.25]
    """
    x, axis = _draw_axis_iv(x, var_name)
    return _autocovariance(np.asarray(x, dtype=np.float64), axis).astype(x.dtype, copy=False)


def autocorrelation(x, *, var_name=None):
    r"""Autocorrelation \(\hat\rho_t = \hat\gamma_t / \hat\gamma_0\) of each chain, by FFT.

    Takes ``x`` as [`autocovariance`][refebm.diagnostics.autocovariance] does (at least 2 draws per chain). A constant chain
    has \(\hat\gamma_0 = 0\) and no autocorrelation: its entries are returned as NaN (the only
    NaN this function returns).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(autocorrelation(np.array([1.0, -1.0, 1.0, -1.0])), 12).tolist()
    [1.0, -0.75, 0.5, -0.25]
    """
    x, axis = _draw_axis_iv(x, var_name)
    acov = _autocovariance(np.asarray(x, dtype=np.float64), axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = acov / np.take(acov, [0], axis=axis)
    return out.astype(x.dtype, copy=False)


# -- ESS and R-hat (Vehtari et al. 2021) -------------------------------------------------------

def _split(chains):
    """(m, n) -> (2m, n // 2): first and last halves of each chain (the middle draw of an odd
    chain is dropped)."""
    half = chains.shape[1] // 2
    return np.concatenate([chains[:, :half], chains[:, chains.shape[1] - half:]], axis=0)


def _rank_normalize(chains):
    r"""\(z = \Phi^{-1}((r - 3/8) / (S + 1/4))\) with \(r\) the pooled average ranks (eq. 14)."""
    ranks = stats.rankdata(chains, method="average").reshape(chains.shape)
    return stats.norm.ppf((ranks - 0.375) / (chains.size + 0.25))


def _geyer_tau(chains):
    r"""Integrated autocorrelation time \(\hat\tau\) of ``(m, n)`` chains and the last lag used.

    \(\hat\rho_t = 1 - (W - \overline{\gamma_t}) / \widehat{\mathrm{var}}^+\) (eq. 10), summed in
    pairs \(P_k = \hat\rho_{2k} + \hat\rho_{2k+1}\) while positive and made monotone (Geyer
    1992's initial monotone sequence); \(\hat\tau = -1 + 2\sum_{t \le 2K+1} \hat\rho_t\), with
    the last even lag added when positive and \(\hat\tau \ge 1/\log_{10}(mn)\) as in Stan.
    """
    m, n = chains.shape
    acov = _autocovariance(chains, 1)                 # (m, n)
    gamma = acov.mean(axis=0)                         # average over chains, per lag
    w = gamma[0] * n / (n - 1.0)                      # mean within-chain variance
    var_plus = gamma[0]
    if m > 1:
        var_plus = var_plus + np.var(chains.mean(axis=1), ddof=1)
    rho = np.zeros(n)
    rho[0] = 1.0
    rho_even, rho_odd = 1.0, 1.0 - (w - gamma[1]) / var_plus
    rho[1] = rho_odd
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:
        rho_even = 1.0 - (w - gamma[t + 1]) / var_plus
        rho_odd = 1.0 - (w - gamma[t + 2]) / var_plus
        if rho_even + rho_odd >= 0.0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    last = t - 2
    if rho_even > 0.0:
        rho[last + 1] = rho_even
    t = 1
    while t <= last - 2:                              # make the pair sums monotone
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * np.sum(rho[:last + 1]) + np.sum(rho[last + 1:last + 2])
    return max(tau, 1.0 / np.log10(m * n)), last


def _ess_basic(chains):
    if np.ptp(chains) < np.finfo(float).resolution:
        return float(chains.size)
    tau, _ = _geyer_tau(chains)
    return chains.size / tau


def _rhat_basic(chains):
    r"""\(\hat R = \sqrt{(\frac{n-1}{n} W + \frac1n B) / W}\),
    \(B = n\,\mathrm{var}(\bar x_{\cdot j})\)
    (Gelman & Rubin 1992; Vehtari et al. 2021 eq. 3-4)."""
    n = chains.shape[1]
    b = n * np.var(chains.mean(axis=1), ddof=1)
    w = np.mean(np.var(chains, axis=1, ddof=1))
    return float(np.sqrt((b / w + n - 1.0) / n))


def _ess_tail(chains):
    out = []
    for prob in (0.05, 0.95):
        q = np.quantile(chains, prob)
        out.append(_ess_basic(_split((chains <= q).astype(np.float64))))
    return min(out)


def ess(x, *, method="bulk", var_name=None):
    r"""Effective sample size of MCMC draws (Vehtari et al. 2021).

    Parameters
    ----------
    x : array ``(n_draws,)``, ``(n_chains, n_draws)`` or ``(n_chains, n_draws, d, ...)``
        ArviZ's layout; at least 4 draws per chain. Or an ``arviz.InferenceData`` (its
        posterior), ``xarray.Dataset`` or ``xarray.DataArray`` with ``chain`` and ``draw``
        dimensions.
    method : {"bulk", "tail", "mean"}
        ``"bulk"``: ESS of the rank-normalized split chains (the default; reliable for the
        centre of the distribution even with heavy tails). ``"tail"``: the smaller of the ESS of
        the indicators \(1[x \le q_{0.05}]\) and \(1[x \le q_{0.95}]\) on split chains.
        ``"mean"``: ESS of the split chains as they are (for the posterior mean of \(x\)).
    var_name : str, optional
        The variable of an ``InferenceData`` or ``Dataset`` that holds several.

    Returns
    -------
    float, or array of the trailing shape ``(d, ...)`` (in the dtype of ``x``)

    Math
    ----
    \(\mathrm{ESS} = MN / \hat\tau\), \(\hat\tau = 1 + 2 \sum_{t \ge 1} \hat\rho_t\) with the
    autocorrelations combined across chains and truncated by Geyer's initial monotone sequence.
    For an AR(1) chain \(x_{t+1} = \rho x_t + \sqrt{1 - \rho^2} z_t\),
    \(\tau = (1 + \rho)/(1 - \rho)\). D22.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((4, 1000))   # 4 chains of independent draws
    >>> bool(3000 < ess(x) < 5500)
    True
    """
    _v.one_of("method", method, ("bulk", "tail", "mean"))
    x, trailing, dtype = _draws_iv(x, var_name)

    def one(chains):
        if method == "bulk":
            return _ess_basic(_rank_normalize(_split(chains)))
        if method == "tail":
            return _ess_tail(chains)
        return _ess_basic(_split(chains))

    return _per_quantity(x, trailing, dtype, one)


def rhat(x, *, method="rank", var_name=None):
    r"""The potential scale reduction \(\hat R\) across chains (Vehtari et al. 2021).

    Parameters
    ----------
    x : array ``(n_draws,)``, ``(n_chains, n_draws)`` or ``(n_chains, n_draws, d, ...)``
        ArviZ's layout, or an ArviZ / xarray object as in [`ess`][refebm.diagnostics.ess]; at least 4 draws per
        chain; one chain is enough for the split versions.
    method : {"rank", "split", "identity"}
        ``"rank"`` (default): \(\max(\hat R_{\text{bulk}}, \hat R_{\text{tail}})\), the split
        \(\hat R\) of the rank-normalized draws and of the rank-normalized folded draws
        \(|x - \mathrm{median}(x)|\). ``"split"``: split \(\hat R\) of the raw draws.
        ``"identity"``: Gelman & Rubin's \(\hat R\) without splitting (needs 2 chains).
    var_name : str, optional
        As in [`ess`][refebm.diagnostics.ess].

    Returns
    -------
    float, or array of the trailing shape ``(d, ...)`` (in the dtype of ``x``)

    Math
    ----
    With \(M\) chains of \(N\) draws, \(W\) the mean within-chain variance and
    \(B = N \mathrm{var}_j(\bar x_{\cdot j})\):
    \(\hat R = \sqrt{\bigl(\frac{N-1}{N} W + \frac{B}{N}\bigr) / W}\). Chains that agree give
    \(\hat R \approx 1\) (exactly \(\sqrt{(N-1)/N}\) when all chain means are equal); chains
    shifted by \(\delta_j\) with within-chain variance \(\sigma^2\) give
    \(\hat R^2 \approx 1 + \mathrm{var}_j(\delta_j) / \sigma^2\) for large \(N\).
    Rank normalization makes the rank version invariant under monotone transformations of
    \(x\).

    Examples
    --------
    >>> import numpy as np
    >>> half = np.arange(8.0)
    >>> x = np.stack([np.concatenate([half, half])] * 3)   # 3 chains of 16 draws, equal halves
    >>> bool(np.isclose(rhat(x, method="split"), np.sqrt(7 / 8), rtol=1e-12))
    True
    """
    _v.one_of("method", method, ("rank", "split", "identity"))
    x, trailing, dtype = _draws_iv(x, var_name)
    if method == "identity" and x.shape[0] < 2:
        raise ValueError(f"`x` must have at least 2 chains (axis 0) for method='identity', got "
                         f"{x.shape[0]}")

    def one(chains):
        if method == "identity":
            return _rhat_basic(chains)
        split = _split(chains)
        if method == "split":
            return _rhat_basic(split)
        bulk = _rhat_basic(_rank_normalize(split))
        tail = _rhat_basic(_rank_normalize(np.abs(split - np.median(split))))
        return max(bulk, tail)

    return _per_quantity(x, trailing, dtype, one)


# -- kernel Stein discrepancy ------------------------------------------------------------------

def _ksd_iv(score, x, c, beta):
    _numpy_iv("x", x)
    x = _v.points("x", x)
    dtype = x.dtype
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < 2:
        raise ValueError(f"`x` must have at least 2 points, got shape {x.shape}")
    c = float(_v.scalar("c", c, low=0.0, low_open=True))
    beta = float(_v.scalar("beta", beta, low=-1.0, high=0.0, low_open=True, high_open=True))
    if callable(score):
        s = score(x)
        name = "score"
        shape = tuple(getattr(s, "shape", ()))
        if shape != x.shape:
            raise ValueError(f"`score` must return shape {x.shape} (the shape of x), "
                             f"got shape {shape}")
    else:
        s, name = score, "score"
    s = np.asarray(_v.real_array(name, s, shape=x.shape), dtype=np.float64)
    return x, s, c, beta, dtype


def _stein_block(x_rows, s_rows, x, s, c, beta):
    r"""Rows of the Stein kernel matrix \(u_p(x_i, x_j)\) for the IMQ kernel."""
    d = x.shape[1]
    r2 = (np.sum(x_rows**2, axis=1)[:, None] + np.sum(x**2, axis=1)[None, :]
          - 2.0 * x_rows @ x.T)
    r2 = np.maximum(r2, 0.0)
    q = c * c + r2
    k = q**beta
    qb1 = k / q                                        # q^(beta - 1)
    # r . (s(y) - s(x)) with r = x - y: x.s(y) - y.s(y) - x.s(x) + y.s(x)
    xs_y = x_rows @ s.T
    ys_y = np.sum(x * s, axis=1)[None, :]
    xs_x = np.sum(x_rows * s_rows, axis=1)[:, None]
    ys_x = s_rows @ x.T
    r_dot = xs_y - ys_y - xs_x + ys_x
    return (k * (s_rows @ s.T) + 2.0 * beta * qb1 * r_dot - 2.0 * beta * d * qb1
            - 4.0 * beta * (beta - 1.0) * (qb1 / q) * r2)


def stein_kernel_matrix(score, x, *, c=1.0, beta=-0.5):
    r"""The Stein kernel \(u_p(x_i, x_j)\) of the IMQ kernel for all pairs, shape ``(n, n)``.

    Parameters
    ----------
    x : array ``(n, d)``
    score : callable or array ``(n, d)``
        \(s_p = \nabla \log p = -\nabla E\) (a callable, or its values at ``x``).
    c : float
        IMQ scale, > 0.
    beta : float
        IMQ exponent in (-1, 0).

    Math
    ----
    With \(k(x, y) = (c^2 + \lVert r \rVert^2)^\beta\), \(r = x - y\), \(q = c^2 + \lVert r
    \rVert^2\):

    \[
        u_p(x, y) &= s(x)^\top s(y)\, k + s(x)^\top \nabla_y k + s(y)^\top \nabla_x k
        + \operatorname{tr} \nabla_x \nabla_y^\top k \\
        &= q^\beta s(x)^\top s(y) + 2\beta q^{\beta-1} r^\top (s(y) - s(x))
        - 2\beta d\, q^{\beta-1} - 4\beta(\beta-1) q^{\beta-2} \lVert r \rVert^2.
    \]

    \(E_{x \sim p}[u_p(x, y)] = 0\) for every \(y\) (Stein's identity), so
    \(\mathrm{KSD}^2(q, p) = E_{x, y \sim q}[u_p(x, y)]\) is 0 iff \(q = p\) (for the IMQ
    kernel with \(\beta \in (-1, 0)\); Gorham & Mackey 2017).

    Examples
    --------
    >>> import numpy as np
    >>> u = stein_kernel_matrix(lambda x: -x, np.array([[0.0], [1.0]]))
    >>> float(u[0, 0])   # s(0) = 0, r = 0: -2 beta d c^(2(beta - 1)) = 1
    1.0
    """
    x, s, c, beta, dtype = _ksd_iv(score, x, c, beta)
    return _stein_block(x, s, x, s, c, beta).astype(dtype, copy=False)


def _row_blocks(n, budget=2**22):
    size = max(1, budget // max(n, 1))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def ksd(score, x, *, c=1.0, beta=-0.5):
    r"""Kernel Stein discrepancy \(\mathrm{KSD}^2\) of the sample ``x`` from \(p\): U-statistic.

    Parameters
    ----------
    x : array ``(n, d)``, n >= 2
        The sample (independent draws for an unbiased estimate).
    score : callable or array ``(n, d)``
        \(\nabla_x \log p = -\nabla_x E\); \(p\) need not be normalized.
    c, beta : float
        IMQ kernel \((c^2 + \lVert x - y \rVert^2)^\beta\); default \(c = 1\), \(\beta = -1/2\).

    Returns
    -------
    float
        \(\frac{1}{n(n-1)} \sum_{i \ne j} u_p(x_i, x_j)\), unbiased for \(\mathrm{KSD}^2\)
        (it can be negative); computed in row blocks, never holding the ``(n, n)`` matrix.

    Math
    ----
    Liu, Lee & Jordan (2016), eq. (8); Chwialkowski et al. (2016); D12 (only the score is
    needed). See [`stein_kernel_matrix`][refebm.diagnostics.stein_kernel_matrix].

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[-1.0], [1.0]])
    >>> u01 = stein_kernel_matrix(lambda x: -x, x)[0, 1]
    >>> bool(np.isclose(ksd(lambda x: -x, x), u01, rtol=1e-15))
    True
    """
    x, s, c, beta, dtype = _ksd_iv(score, x, c, beta)
    n = x.shape[0]
    total = 0.0
    for rows in _row_blocks(n):
        block = _stein_block(x[rows], s[rows], x, s, c, beta)
        idx = np.arange(rows.start, rows.stop)
        total += block.sum() - block[idx - rows.start, idx].sum()
    return _number(total / (n * (n - 1)), dtype)


class KSDTestResult(NamedTuple):
    """The KSD goodness-of-fit test.

    Attributes
    ----------
    statistic : float
        The U-statistic \\(\\mathrm{KSD}^2\\) (computed in float64 whatever the dtype of ``x``).
    p_value : float
        \\((1 + \\#\\{b : B_b \\ge \\text{statistic}\\}) / (1 + n_\\text{boot})\\); a replicate
        within rounding of the statistic (all weights equal) counts as a tie, \\(\\ge\\).
    bootstrap : ndarray ``(n_boot,)``
        The bootstrap statistics \\(B_b\\).
    """

    statistic: float
    p_value: float
    bootstrap: Any


def ksd_test_from_weights(score, x, weights, *, c=1.0, beta=-0.5):
    r"""The KSD test with its bootstrap multipliers given: the deterministic core.

    Parameters
    ----------
    x, score, c, beta
        As in [`ksd`][refebm.diagnostics.ksd].
    weights : array ``(n_boot, n)``
        Multipliers \(W_{bi}\); Rademacher (\(\pm 1\), mean 0, variance 1) in
        [`ksd_test`][refebm.diagnostics.ksd_test].

    Returns
    -------
    KSDTestResult

    Math
    ----
    \(B_b = \frac{1}{n(n-1)} \sum_{i \ne j} W_{bi} W_{bj} u_p(x_i, x_j)\). Under \(H_0: q = p\)
    the U-statistic is degenerate and \(B_b\) has its limit law given the data (wild bootstrap
    for degenerate U-statistics: Dehling & Mikosch 1994; Chwialkowski et al. 2016, for
    independent draws). Given the data, \(E[B_b] = 0\) and
    \(\mathrm{Var}(B_b) = 2 \sum_{i \ne j} u_{ij}^2 / (n(n-1))^2\) for Rademacher \(W\).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[-1.0], [0.5], [2.0]])
    >>> res = ksd_test_from_weights(lambda x: -x, x, np.ones((3, 3)))
    >>> bool(np.allclose(res.bootstrap, res.statistic, rtol=1e-14)), res.p_value
    (True, 1.0)
    """
    x, s, c, beta, dtype = _ksd_iv(score, x, c, beta)
    n = x.shape[0]
    _numpy_iv("weights", weights)
    w = np.asarray(_v.real_array("weights", weights, ndim=2), dtype=np.float64)
    if w.shape[1] != n:
        raise ValueError(f"`weights` must have shape (n_boot, {n}), got shape {w.shape}")
    total, magnitude = 0.0, 0.0
    boot = np.zeros(w.shape[0])
    for rows in _row_blocks(n):
        block = _stein_block(x[rows], s[rows], x, s, c, beta)
        idx = np.arange(rows.start, rows.stop)
        diag = block[idx - rows.start, idx]
        total += block.sum() - diag.sum()
        magnitude += np.abs(block).sum()
        boot += np.sum(w[:, rows] * (w @ block.T), axis=1) - (w[:, rows] ** 2) @ diag
    statistic = total / (n * (n - 1))
    boot /= n * (n - 1)
    # A replicate whose weights are all equal (+1 or -1) equals the statistic exactly; rounding
    # must not decide such ties. Both sums add about 2n products of terms bounded by |u_ij|,
    # so their rounding is below 4 n eps sum |u_ij| / (n (n - 1)), and replicates that close
    # to the statistic count as ties (>=).
    tie = 4.0 * n * np.finfo(np.float64).eps * np.max(np.abs(w)) ** 2 * magnitude / (n * (n - 1))
    p_value = (1.0 + np.sum(boot >= statistic - tie)) / (1.0 + w.shape[0])
    return KSDTestResult(_number(statistic, dtype), _number(p_value, dtype),
                         boot.astype(dtype, copy=False))


def ksd_test(score, x, rng, *, n_boot=1000, c=1.0, beta=-0.5):
    r"""Goodness-of-fit test of a sample against \(p \propto e^{-E}\) using only its score.

    Parameters
    ----------
    x : array ``(n, d)``
        Independent draws to test (thin an MCMC trace first: the bootstrap assumes
        independence).
    score : callable or array ``(n, d)``
        \(\nabla_x \log p = -\nabla_x E\).
    rng : numpy.random.Generator or int
    n_boot : int
        Number of bootstrap draws, >= 1.
    c, beta : float
        IMQ kernel parameters.

    Returns
    -------
    KSDTestResult
        Equal to [`ksd_test_from_weights`][refebm.diagnostics.ksd_test_from_weights] with
        ``weights = 2.0 * rng.integers(0, 2, size=(n_boot, n)) - 1``.

    Math
    ----
    Reject \(H_0: q = p\) at level \(\alpha\) when the p-value is \(\le \alpha\) (valid as
    \(n \to \infty\)); see [`ksd_test_from_weights`][refebm.diagnostics.ksd_test_from_weights].

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> res = ksd_test(lambda x: -x, 3.0 * rng.standard_normal((300, 1)), rng, n_boot=99)
    >>> res.p_value   # a N(0, 9) sample is not N(0, 1)
    0.01
    """
    gen = _v.rng(rng)
    n_boot = _v.integer("n_boot", n_boot, minimum=1)
    _numpy_iv("x", x)
    n = int(np.shape(x)[0]) if np.ndim(x) == 2 else 0
    if n == 0:
        _v.points("x", x)
    weights = 2.0 * gen.integers(0, 2, size=(n_boot, n)) - 1.0
    return ksd_test_from_weights(score, x, weights, c=c, beta=beta)
