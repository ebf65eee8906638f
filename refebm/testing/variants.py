r"""The known variants of MCMC diagnostics, KSD and log-Z normalizers, as plain NumPy functions.

Each function computes one form that other code computes instead of refebm's: older definitions
of \(\hat R\) and ESS, the V-statistic of the kernel Stein discrepancy, importance-sampling and
AIS normalizers averaged over the wrong count. The catalogue
([`refebm.testing.catalogue`][refebm.testing.catalogue]) names them, and the statistical checks
([`refebm.testing.statistical`][refebm.testing.statistical]) and the golden vectors
([`refebm.vectors`][refebm.vectors]) compute them on the same inputs as refebm's own value, so a
foreign value equal to one of them is diagnosed by name.

Chains are in ArviZ's layout ``(chain, draw)`` (one scalar quantity), float64.

References
----------
* Gelman & Rubin (1992), "Inference from iterative simulation using multiple sequences",
  Statistical Science 7(4). https://doi.org/10.1214/ss/1177011136
* Geyer (1992), "Practical Markov chain Monte Carlo", Statistical Science 7(4).
  https://doi.org/10.1214/ss/1177011137
* Gelman et al. (2013), Bayesian Data Analysis, 3rd ed., section 11.5 (split R-hat and the
  variogram ESS that Stan used up to version 2.17).
* Vehtari, Gelman, Simpson, Carpenter & Buerkner (2021), "Rank-normalization, folding, and
  localization", Bayesian Analysis 16(2). https://arxiv.org/abs/1903.08008
* Liu, Lee & Jordan (2016), "A kernelized Stein discrepancy for goodness-of-fit tests", ICML.
  https://arxiv.org/abs/1602.03253
* Neal (2001), "Annealed importance sampling", Statistics and Computing 11.
  https://arxiv.org/abs/physics/9803008
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..diagnostics import _autocovariance, _rank_normalize, _rhat_basic, _split
from ..diagnostics import ess, rhat, stein_kernel_matrix

__all__ = [
    "split_chains", "rank_normalize",
    "rhat_reference", "rhat_classic", "rhat_split_no_rank", "rhat_bulk_only",
    "ess_reference", "ess_no_rank", "ess_first_negative", "ess_old_stan",
    "ksd_reference", "ksd_v_statistic", "ksd_over_n_squared", "ksd_c_not_squared",
    "log_normalizer", "log_normalizer_summed", "log_normalizer_over_all_steps",
    "log_normalizer_mean_log",
]


def _chains(x):
    x = np.asarray(x, dtype=np.float64)
    return x[None] if x.ndim == 1 else x


def split_chains(x):
    """``(m, n) -> (2m, n // 2)``: first and last halves of each chain (an odd middle draw is
    dropped), as Vehtari et al. (2021) split them."""
    return _split(_chains(x))


def rank_normalize(x):
    r"""\(\Phi^{-1}((r - 3/8) / (S + 1/4))\) of the pooled average ranks \(r\) (eq. 14)."""
    return _rank_normalize(_chains(x))


# -- R-hat ---------------------------------------------------------------------------------

_gelman_rubin = _rhat_basic     # sqrt(((n-1)/n W + B/n) / W) on the chains as given


def rhat_reference(x):
    r"""refebm's \(\hat R\): ``refebm.diagnostics.rhat(x)``, the larger of the split
    \(\hat R\) of the rank-normalized draws and of the rank-normalized folded draws."""
    return float(rhat(_chains(x)))


def rhat_classic(x):
    r"""Gelman & Rubin (1992): \(\sqrt{(\frac{n-1}{n} W + \frac{B}{n}) / W}\) on the whole
    chains, no split, no ranks (needs 2 chains)."""
    return _gelman_rubin(_chains(x))


def rhat_split_no_rank(x):
    r"""Split \(\hat R\) of the raw draws (BDA3 section 11.4; Stan before 2.18)."""
    return _gelman_rubin(split_chains(x))


def rhat_bulk_only(x):
    r"""Split \(\hat R\) of the rank-normalized draws, without the folded (tail) version."""
    return _gelman_rubin(rank_normalize(split_chains(x)))


# -- ESS -----------------------------------------------------------------------------------

def _rho(x):
    r"""\(\hat\rho_t = 1 - (W - \overline{\hat\gamma_t}) / \widehat{\mathrm{var}}^+\) for every
    lag (autocovariances by FFT with divisor \(n\), averaged over chains)."""
    m, n = x.shape
    gamma = _autocovariance(x, 1).mean(axis=0)
    w = gamma[0] * n / (n - 1.0)
    var_plus = gamma[0] + (np.var(x.mean(axis=1), ddof=1) if m > 1 else 0.0)
    return 1.0 - (w - gamma) / var_plus


def ess_reference(x):
    """refebm's bulk ESS: ``refebm.diagnostics.ess(x)`` (rank-normalized split chains, Geyer's
    initial monotone sequence)."""
    return float(ess(_chains(x)))


def ess_no_rank(x):
    """ESS of the split chains as they are (``method="mean"``): no rank normalization."""
    return float(ess(_chains(x), method="mean"))


def ess_first_negative(x):
    r"""ESS of the rank-normalized split chains with the autocorrelation sum truncated at the
    first negative \(\hat\rho_t\) (instead of Geyer's pairs made monotone):
    \(S / (1 + 2 \sum_{t=1}^{T-1} \hat\rho_t)\), \(T = \min\{t : \hat\rho_t < 0\}\)."""
    z = rank_normalize(split_chains(x))
    rho = _rho(z)
    total = 0.0
    for t in range(1, rho.shape[0]):
        if rho[t] < 0.0:
            break
        total += rho[t]
    return float(z.size / (1.0 + 2.0 * total))


def ess_old_stan(x):
    r"""BDA3's ESS (Stan up to 2.17): raw split chains, the variogram
    \(V_t = \frac{1}{m(n-t)} \sum_j \sum_{i > t} (\psi_{ij} - \psi_{i-t,j})^2\),
    \(\hat\rho_t = 1 - V_t / (2\widehat{\mathrm{var}}^+)\), summed for \(t = 1 .. T\) with
    \(T\) the first odd lag where \(\hat\rho_{T+1} + \hat\rho_{T+2} < 0\); no monotone step,
    no ranks."""
    z = split_chains(x)
    m, n = z.shape
    b = n * np.var(z.mean(axis=1), ddof=1)
    w = np.mean(np.var(z, axis=1, ddof=1))
    var_plus = (n - 1.0) / n * w + b / n
    def rho(t):
        v = np.sum((z[:, t:] - z[:, :n - t]) ** 2) / (m * (n - t))
        return 1.0 - v / (2.0 * var_plus)

    total = rho(1)
    t = 1
    while t + 2 < n:
        pair = rho(t + 1) + rho(t + 2)
        if pair < 0.0:
            break
        total += pair
        t += 2
    return float(m * n / (1.0 + 2.0 * total))


# -- KSD -----------------------------------------------------------------------------------

def _u(x, s, c, beta):
    return np.asarray(stein_kernel_matrix(np.asarray(s, dtype=np.float64),
                                          np.asarray(x, dtype=np.float64), c=c, beta=beta),
                      dtype=np.float64)


def ksd_reference(x, s, c=1.0, beta=-0.5):
    r"""The U-statistic \(\frac{1}{n(n-1)} \sum_{i \ne j} u_p(x_i, x_j)\) (refebm's
    ``diagnostics.ksd``), from the points and the score values ``s`` at them."""
    u = _u(x, s, c, beta)
    n = u.shape[0]
    return float((u.sum() - np.trace(u)) / (n * (n - 1)))


def ksd_v_statistic(x, s, c=1.0, beta=-0.5):
    r"""The V-statistic \(\frac{1}{n^2} \sum_{i, j} u_p(x_i, x_j)\): the diagonal kept (biased
    upwards by \(\frac1n E[u_p(x, x)]\))."""
    u = _u(x, s, c, beta)
    return float(u.sum() / u.shape[0] ** 2)


def ksd_over_n_squared(x, s, c=1.0, beta=-0.5):
    r"""The off-diagonal sum divided by \(n^2\) instead of \(n(n-1)\)."""
    u = _u(x, s, c, beta)
    n = u.shape[0]
    return float((u.sum() - np.trace(u)) / n**2)


def ksd_c_not_squared(x, s, c=1.0, beta=-0.5):
    r"""The U-statistic with the IMQ kernel written \((c + \lVert r \rVert^2)^\beta\): refebm's
    kernel with scale \(\sqrt c\)."""
    return ksd_reference(x, s, float(np.sqrt(c)), beta)


# -- log Z from importance weights ---------------------------------------------------------

def log_normalizer(log_w):
    r"""\(\log \hat Z = \operatorname{logsumexp}_i \log w_i - \log n\): the mean of the
    weights (importance sampling, and AIS with one weight per particle)."""
    log_w = np.asarray(log_w, dtype=np.float64)
    return float(logsumexp(log_w) - np.log(log_w.shape[0]))


def log_normalizer_summed(log_w):
    r"""\(\operatorname{logsumexp}_i \log w_i\): the weights summed, not averaged (too high by
    \(\log n\))."""
    return float(logsumexp(np.asarray(log_w, dtype=np.float64)))


def log_normalizer_over_all_steps(log_w, n_transitions):
    r"""The weights summed and divided by \(n K\), particles times annealing transitions (too
    low by \(\log K\))."""
    log_w = np.asarray(log_w, dtype=np.float64)
    return float(logsumexp(log_w) - np.log(log_w.shape[0] * float(n_transitions)))


def log_normalizer_mean_log(log_w):
    r"""\(\frac1n \sum_i \log w_i\): the logs averaged instead of the weights (biased low by
    Jensen's inequality; a lower bound, not an estimate of \(\log Z\))."""
    return float(np.mean(np.asarray(log_w, dtype=np.float64)))
