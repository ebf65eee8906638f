r"""Statistical conformance checks: samples against a target law, MCMC diagnostics, KSD, log Z.

The deterministic checks compare a foreign value with refebm's value on the same inputs. The
checks here deal with randomness in two ways:

* [`check_sampler`][refebm.testing.statistical.check_sampler] and the stochastic branch of
  [`check_log_partition`][refebm.testing.statistical.check_log_partition] test foreign *random*
  output against a known law, with a stated false-failure rate (default \(10^{-6}\), Bonferroni
  over the tests they run) and a stated power;
* [`check_rhat`][refebm.testing.statistical.check_rhat],
  [`check_ess`][refebm.testing.statistical.check_ess] and
  [`check_ksd`][refebm.testing.statistical.check_ksd] are deterministic given the draws: they
  compare a foreign diagnostic with refebm's on the same chains and name the variant it
  computes (the forms are in [`refebm.testing.variants`][refebm.testing.variants] and the
  catalogue).

Every check returns a ``CheckResult`` (``refebm.testing.CheckResult``).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
from scipy import stats

from .. import _validate as _v
from . import catalogue as _cat
from . import variants
from ._convert import ForeignCallError, ForeignValueError, to_numpy_value
from ._result import CheckResult, Tolerance, compare
from ._sections import LegendreCDF, gauss_legendre, projection_law

__all__ = ["check_sampler", "check_rhat", "check_ess", "check_ksd", "check_log_partition",
           "dkwm_epsilon", "detectable_shift", "mmd_threshold"]


# -- foreign values ----------------------------------------------------------------------------

def _foreign(what, value, expected_shape=None):
    """A foreign return value as float64 NumPy (converted by ``to_numpy_value``: torch via
    ``.detach()``, JAX and others via ``__array__``/``__dlpack__``), or a ForeignValueError
    that says what came back and what was expected."""
    expected = "a number or an array" if expected_shape is None else \
        f"a real array of shape {tuple(expected_shape)}"
    arr = to_numpy_value(value, what=what, expected=expected).astype(np.float64)
    if expected_shape is not None and arr.shape != tuple(expected_shape):
        if not (arr.size == 1 and int(np.prod(expected_shape)) == 1):
            raise ForeignValueError(f"{what} must return shape {tuple(expected_shape)}, got "
                                    f"shape {arr.shape}")
        arr = arr.reshape(expected_shape)
    if not np.all(np.isfinite(arr)):
        raise ForeignValueError(f"{what} returned a non-finite value: {_v.show(arr)}; expected "
                                "finite values")
    return arr


def _dtype_notes(raw):
    """A note when the foreign value is float32 but is compared at float64 tolerance."""
    dtype = getattr(raw, "dtype", None)
    if dtype is not None and "float32" in str(dtype):
        return ("the foreign value is float32, compared at float64 tolerance: compute in "
                "float64 (a float32 result differs by about 1e-7 relative)",)
    return ()


def _call(what, fn, *args):
    _v.function(what, fn)
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - report what the foreign code raised
        raise ForeignCallError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def _judge(name, quantity, expected, got, parts, tolerance, *, coefficients=None, notes=()):
    """Status and matches of ``got`` against ``expected`` and the catalogue's forms."""
    cmp = compare(expected, got, tolerance)
    matches = []
    for entry in _cat.entries(quantity):
        try:
            value = entry.evaluate(parts)
        except Exception:  # noqa: BLE001 - a form that does not apply to these inputs
            continue
        if value.shape == np.shape(got) and compare(value, got, tolerance).equal:
            if cmp.equal and not entry.equals_reference and \
                    not compare(value, expected, tolerance).equal:
                continue
            matches.append(entry)
    if cmp.equal:
        status = "pass"
        matches = [m for m in matches if m.kind == "convention"]
    elif any(m.kind == "convention" for m in matches):
        status = "equivalent_convention"
    elif matches:
        status = "known_bug"
    else:
        status = "fail"
    if status == "equivalent_convention":
        matches = [m for m in matches if m.kind == "convention"]
    return CheckResult(name, status, np.asarray(expected), np.asarray(got), tolerance=tolerance,
                       abs_error=cmp.abs_error, rel_error=cmp.rel_error,
                       mismatches=cmp.mismatches, worst_index=cmp.worst_index, matches=matches,
                       coefficients=coefficients, notes=notes)


# -- R-hat and ESS -----------------------------------------------------------------------------

def _draws_iv(name, value, *, layouts, min_draws, one_chain_2d=False):
    """Draws as float64 ``(chain, draw[, dim])`` with ``min_draws`` along axis 1 (a 2-D
    ``(n, d)`` array taken as one chain when ``one_chain_2d``); the errors name ``name``, its
    ``layouts`` and the shape."""
    x = np.asarray(_v.real_array(name, value, min_ndim=2), dtype=np.float64)
    if one_chain_2d and x.ndim == 2:
        x = x[None]
    if x.ndim > 3:
        raise ValueError(f"`{name}` must have shape {layouts}, got shape {x.shape}")
    if x.shape[1] < min_draws:
        raise ValueError(f"`{name}` must have at least {min_draws} draws per chain (axis 1 of "
                         f"{layouts.split(' or ')[-1]}), got shape {x.shape}")
    return x


def _chains_iv(chains):
    return _draws_iv("chains", chains, layouts="(chain, draw) or (chain, draw, dim)",
                     min_draws=8)


def _per_component(fn, x):
    if x.ndim == 2:
        return np.asarray(fn(x), dtype=np.float64)
    return np.array([fn(x[:, :, k]) for k in range(x.shape[2])])


def check_rhat(fn, chains, *, rtol=1e-10):
    r"""Check a foreign \(\hat R\) against the rank-normalized split \(\hat R\) of Vehtari et al.

    Parameters
    ----------
    fn : callable
        ``fn(chains) -> float`` (or ``(dim,)`` for 3-D chains): the foreign \(\hat R\).
    chains : array ``(chain, draw)`` or ``(chain, draw, dim)``
        ArviZ's layout, at least 8 draws per chain.
    rtol : float
        Relative tolerance; the default covers float64 rounding of the \(O(mn)\) sums and the
        normal quantiles of the ranks.

    Returns
    -------
    CheckResult
        ``expected`` is [`refebm.diagnostics.rhat`][refebm.diagnostics.rhat] (``method="rank"``);
        ``matches`` names the variant a foreign value computes instead.

    Math
    ----
    With \(W\) the mean within-chain variance and \(B = N \mathrm{var}_j(\bar x_{\cdot j})\),
    \(\hat R = \sqrt{(\frac{N-1}{N} W + \frac{B}{N}) / W}\); refebm's value is
    \(\max(\hat R_{\text{bulk}}, \hat R_{\text{tail}})\) on split, rank-normalized (and, for the
    tail, folded) draws (Vehtari et al. 2021, eq. 3-4 and 14; D22). The catalogue knows
    ``RHAT-CLASSIC`` (Gelman & Rubin 1992: no split, no ranks), ``RHAT-SPLIT-NO-RANK`` (BDA3)
    and ``RHAT-BULK-ONLY`` (no folded tail version).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import variants
    >>> x = np.random.default_rng(0).standard_normal((4, 200))
    >>> x[0] *= 3.0                           # one chain with a wider spread
    >>> print(check_rhat(variants.rhat_classic, x).status, check_rhat(variants.rhat_classic,
    ...       x).match_ids)
    known_bug ('RHAT-CLASSIC',)
    """
    x = _chains_iv(chains)
    rtol = float(_v.scalar("rtol", rtol, low=0.0))
    expected = _per_component(variants.rhat_reference, x)
    raw = _call("`fn`", fn, x.copy())
    got = _foreign("`fn`", raw, expected.shape)
    tol = Tolerance(0.0, rtol, "float64 rounding of the O(chains x draws) variance sums and "
                               "the rank-based normal quantiles")
    return _judge("rhat", "rhat", expected, got, {"chains": x}, tol, notes=_dtype_notes(raw))


def check_ess(fn, chains, *, rtol=1e-8):
    r"""Check a foreign effective sample size against the bulk ESS of Vehtari et al. (2021).

    Parameters
    ----------
    fn : callable
        ``fn(chains) -> float`` (or ``(dim,)`` for 3-D chains).
    chains : array ``(chain, draw)`` or ``(chain, draw, dim)``
        ArviZ's layout, at least 8 draws per chain.
    rtol : float
        Relative tolerance; the default covers the rounding of FFT autocovariances (a direct
        sum and an FFT agree to about \(10^{-12}\) relative).

    Returns
    -------
    CheckResult
        ``expected`` is [`refebm.diagnostics.ess`][refebm.diagnostics.ess] (``method="bulk"``).

    Math
    ----
    \(\mathrm{ESS} = MN / \hat\tau\), \(\hat\tau = -1 + 2 \sum_{t=0}^{2K+1} \hat\rho_t\) on
    rank-normalized split chains with Geyer's initial monotone sequence (D22). The catalogue
    knows ``ESS-NO-RANK`` (split chains as they are), ``ESS-FIRST-NEGATIVE`` (the sum truncated
    at the first negative autocorrelation) and ``ESS-OLD-STAN`` (BDA3's variogram estimate, Stan
    up to 2.17).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.diagnostics import ess
    >>> x = np.random.default_rng(1).standard_normal((4, 300))
    >>> check_ess(lambda c: ess(c), x).status
    'pass'
    """
    x = _chains_iv(chains)
    rtol = float(_v.scalar("rtol", rtol, low=0.0))
    expected = _per_component(variants.ess_reference, x)
    raw = _call("`fn`", fn, x.copy())
    got = _foreign("`fn`", raw, expected.shape)
    tol = Tolerance(0.0, rtol, "float64 rounding of FFT autocovariances over the draws")
    return _judge("ess", "ess", expected, got, {"chains": x}, tol, notes=_dtype_notes(raw))


# -- KSD ---------------------------------------------------------------------------------------

def check_ksd(fn, samples, score, *, c=1.0, beta=-0.5, rtol=1e-10):
    r"""Check a foreign kernel Stein discrepancy (IMQ kernel, U-statistic).

    Parameters
    ----------
    fn : callable
        ``fn(samples, score_values) -> float``: the foreign \(\mathrm{KSD}^2\), given the points
        ``(n, d)`` and the score \(\nabla_x \log p\) at them ``(n, d)``.
    samples : array ``(n, d)``, n >= 2
    score : callable or array ``(n, d)``
        \(\nabla_x \log p = -\nabla_x E\) (a callable or its values at ``samples``).
    c, beta : float
        The IMQ kernel \((c^2 + \lVert x - y \rVert^2)^\beta\) both sides use.
    rtol : float
        Relative tolerance (rounding of the \(n^2\) kernel terms).

    Returns
    -------
    CheckResult
        ``expected`` is [`refebm.diagnostics.ksd`][refebm.diagnostics.ksd].

    Math
    ----
    \(\mathrm{KSD}^2_U = \frac{1}{n(n-1)} \sum_{i \ne j} u_p(x_i, x_j)\) (Liu, Lee & Jordan
    2016, eq. 8; D12). The catalogue knows ``KSD-V-STATISTIC`` (diagonal kept, divided by
    \(n^2\)), ``KSD-OVER-N2`` (off-diagonal sum over \(n^2\)) and the convention
    ``KSD-IMQ-C-UNSQUARED`` (the kernel written \((c + r^2)^\beta\)).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import variants
    >>> x = np.random.default_rng(2).standard_normal((50, 2))
    >>> check_ksd(variants.ksd_v_statistic, x, lambda x: -x).match_ids
    ('KSD-V-STATISTIC',)
    """
    x = np.asarray(_v.points("samples", samples), dtype=np.float64)
    if x.shape[0] < 2:
        raise ValueError(f"`samples` must have at least 2 points, got shape {x.shape}")
    c = float(_v.scalar("c", c, low=0.0, low_open=True))
    beta = float(_v.scalar("beta", beta, low=-1.0, high=0.0, low_open=True, high_open=True))
    rtol = float(_v.scalar("rtol", rtol, low=0.0))
    s = score(x) if callable(score) else score
    s = np.asarray(_v.real_array("score", s, shape=x.shape), dtype=np.float64)
    expected = np.asarray(variants.ksd_reference(x, s, c, beta))
    raw = _call("`fn`", fn, x.copy(), s.copy())
    got = _foreign("`fn`", raw, ())
    u_scale = abs(variants.ksd_v_statistic(x, s, c, beta)) + abs(float(expected))
    tol = Tolerance(rtol * u_scale, rtol, "float64 rounding of the n^2 Stein-kernel terms")
    return _judge("ksd", "ksd", expected, got, {"x": x, "score": s, "c": c, "beta": beta}, tol,
                  notes=(f"IMQ kernel (c^2 + |x - y|^2)^beta with c = {c:g}, beta = {beta:g}",
                         *_dtype_notes(raw)))


# -- log Z -------------------------------------------------------------------------------------

def _reference_log_z(energy, bounds_or_states, kind):
    from ..partition import enumerate_states, quadrature

    arr = np.asarray(bounds_or_states, dtype=np.float64) \
        if not callable(bounds_or_states) else None
    if kind is None:
        kind = "bounds" if (arr is not None and arr.ndim == 2 and arr.shape[1] == 2
                            and arr.shape[0] <= 4 and np.all(arr[:, 0] < arr[:, 1])
                            and np.any(~np.isfinite(arr) | (arr[:, 1] - arr[:, 0] != 1)))\
            else "states"
    _v.one_of("kind", kind, ("bounds", "states"))
    if kind == "bounds":
        res = quadrature(energy, bounds_or_states)
        return float(res.log_z), float(res.error), "quadrature"
    log_z = float(enumerate_states(energy, bounds_or_states))
    n = np.asarray(bounds_or_states).shape[0]
    return log_z, 4.0 * n * np.finfo(float).eps * max(1.0, abs(log_z)), "enumeration"


def check_log_partition(log_z, energy, bounds_or_states, *, kind=None, false_fail=1e-6,
                        relative_variance=None, n_particles=None, n_transitions=None,
                        rtol=1e-9):
    r"""Check a foreign \(\log Z\): one value, or a sample of independent stochastic estimates.

    Parameters
    ----------
    log_z : float or array ``(K,)``
        One foreign value (compared within the reference's error), or \(K \ge 2\) independent
        estimates \(\log \hat Z_k\) from an unbiased estimator of \(Z\) (importance sampling,
        AIS), tested with false-failure rate ``false_fail``.
    energy : callable
        ``energy(x) -> (n,)``, \(p \propto e^{-E}\).
    bounds_or_states : sequence of (lo, hi), or array ``(N, d)`` of states
        Integration box for [`refebm.partition.quadrature`][refebm.partition.quadrature.quadrature]
        (error-controlled), or the finite state space for
        [`refebm.partition.enumerate_states`][refebm.partition.enumerate_states].
    kind : {"bounds", "states"}, optional
        Says which ``bounds_or_states`` is when the shape leaves it open (a ``(d, 2)`` array of
        unit-width intervals reads as states).
    false_fail : float
        Probability of failing a correct estimator (stochastic branch), in (0, 0.5).
    relative_variance : float, optional
        A bound \(v \ge \mathrm{Var}(\hat Z / Z)\) the user vouches for (from the
        estimator's theory, or a larger pilot run). With it the lower test's rate holds
        exactly; without it the lower test uses the sample's second moment, and its rate is
        approximate (a note says so): heavy-tailed weights can make it fail a correct
        estimator.
    n_particles, n_transitions : int, optional
        The foreign estimator's particle count \(n\) and number of annealing transitions
        \(K\): with them the check names an AIS normalizer averaged over the wrong count.
    rtol : float
        Extra relative tolerance of the single-value branch.

    Returns
    -------
    CheckResult
        For estimates: ``got`` is the sample, ``expected`` refebm's \(\log Z\) (repeated), and
        ``coefficients`` hold the recovered offset and both one-sided thresholds.

    Math
    ----
    D1, D5. An unbiased \(\hat Z\) has \(E[\hat Z / Z] = 1\), so by Markov's inequality
    \(P(\log \hat Z_k - \log Z \ge s) \le e^{-s}\), and for \(K\) independent estimates
    \(P(\min_k \log \hat Z_k - \log Z \ge s) \le e^{-Ks}\): the check fails when
    \(\min_k \log\hat Z_k > \log Z + \log(2/\alpha)/K\) (distribution-free). Below, with
    \(W_k = \hat Z_k / Z \ge 0\), the lower tail bound for non-negative variables
    \(P(\bar W \le 1 - t) \le \exp(-K t^2 / (2 E[W^2]))\) (with the sample second moment)
    gives the threshold \(\bar W < 1 - \sqrt{2 (1 + v) \log(2/\alpha) / K}\), exact when
    \(v\) bounds the variance. No test of the lower side can be distribution-free (a
    \(W\) that is \(1/p\) with probability \(p\) and 0 otherwise has mean 1 and
    \(\bar W = 0\) with probability \((1 - p)^K\)), so without ``relative_variance``
    \(1 + v\) is replaced by the sample's \(\overline{W^2}\). An offset
    of the estimates by \(\log n\) (weights summed: ``AIS-SUMMED-WEIGHTS``) or by
    \(-\log K\) (divided by particles times transitions: ``AIS-OVER-ALL-STEPS``) is named when
    the estimates shifted back pass both tests.

    Examples
    --------
    >>> import numpy as np
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=1)
    >>> r = check_log_partition(0.5 * np.log(2 * np.pi), energy, [(-np.inf, np.inf)])
    >>> r.status
    'pass'
    """
    _v.function("energy", energy)
    false_fail = float(_v.scalar("false_fail", false_fail, low=0.0, high=0.5, low_open=True,
                                 high_open=True))
    rtol = float(_v.scalar("rtol", rtol, low=0.0))
    ref, ref_err, how = _reference_log_z(energy, bounds_or_states, kind)
    got = _foreign("`log_z`", log_z)
    if got.ndim == 0 or got.size == 1:
        got = got.reshape(())
        tol = Tolerance(ref_err, rtol, f"the {how} error estimate of refebm's log Z plus "
                                       f"rtol {rtol:g}")
        return _judge("log_partition", "log_partition", np.asarray(ref), got,
                      {"log_z": ref}, tol)
    if got.ndim != 1 or got.shape[0] < 2:
        raise ValueError(f"`log_z` must be one value or a 1-D sample of at least 2 estimates, "
                         f"got shape {got.shape}")
    if relative_variance is not None:
        relative_variance = float(_v.scalar("relative_variance", relative_variance, low=0.0))
    return _stochastic_log_z(got, ref, ref_err, false_fail, relative_variance, n_particles,
                             n_transitions)


def _log_z_tests(est, ref, ref_err, alpha, relative_variance):
    k = est.shape[0]
    upper = math.log(2.0 / alpha) / k + ref_err
    too_high = float(np.min(est) - ref) > upper
    w = np.exp(est - ref)
    mean_w = float(np.mean(w))
    m2 = float(np.mean(w * w)) if relative_variance is None else 1.0 + relative_variance
    lower = 1.0 - math.sqrt(2.0 * m2 * math.log(2.0 / alpha) / k)
    too_low = mean_w * math.exp(ref_err) < lower
    return too_high, too_low, upper, lower, mean_w


def _stochastic_log_z(est, ref, ref_err, alpha, rel_var, n_particles, n_transitions):
    too_high, too_low, upper, lower, mean_w = _log_z_tests(est, ref, ref_err, alpha, rel_var)
    k = est.shape[0]
    coeffs = {"estimates": int(k), "offset_median": float(np.median(est) - ref),
              "min_minus_log_z": float(np.min(est) - ref), "upper_threshold": upper,
              "mean_ratio": mean_w, "lower_threshold_of_mean_ratio": lower}
    if rel_var is None:
        lower_how = ("the non-negative lower-tail bound on mean Z_k/Z with the sample's second "
                     "moment (approximate: pass relative_variance= for a rate that holds)")
    else:
        lower_how = (f"the non-negative lower-tail bound on mean Z_k/Z with Var(Z_k/Z) <= "
                     f"{rel_var:.3g}")
    tol = Tolerance(upper, 0.0, f"Markov's inequality on min_k log Z_k (upper, exact) and "
                                f"{lower_how}, each at {alpha / 2:.3g}: false-failure rate "
                                f"{alpha:.3g}")
    expected = np.full(k, ref)
    abs_err = float(np.max(np.abs(est - ref)))
    caveat = [] if rel_var is not None else [
        "the lower test used the sample's second moment of Z_k/Z; its false-failure rate is "
        "exact only with relative_variance= (a bound on Var(Z_k/Z))"]
    if not (too_high or too_low):
        return CheckResult("log_partition", "pass", expected, est, tolerance=tol,
                           abs_error=abs_err, rel_error=abs_err / max(abs(ref), 1e-300),
                           coefficients=coeffs,
                           notes=(f"{k} estimates consistent with an unbiased estimator of Z "
                                  f"(false-failure rate {alpha:.3g})", *caveat))
    matches, notes = [], []
    shifts = []
    if n_particles is not None:
        n = _v.integer("n_particles", n_particles, minimum=1)
        shifts.append(("AIS-SUMMED-WEIGHTS", math.log(n)))
        if n_transitions is not None:
            kk = _v.integer("n_transitions", n_transitions, minimum=1)
            shifts.append(("AIS-OVER-ALL-STEPS", -math.log(kk)))
    for entry_id, shift in shifts:
        h, lo, *_ = _log_z_tests(est - shift, ref, ref_err, alpha, rel_var)
        if not (h or lo) and shift != 0.0:
            matches.append(_cat.get(entry_id))
    if too_high:
        notes.append(f"min_k log Z_k - log Z = {np.min(est) - ref:.6g} > {upper:.6g}: the "
                     "estimates are too high for an unbiased estimator of Z")
    if too_low:
        notes.append(f"mean_k Z_k / Z = {mean_w:.6g} < {lower:.6g}: too low for an unbiased "
                     "estimator of Z (or its weights have no finite variance)")
        notes.extend(caveat)
    status = "known_bug" if matches else "fail"
    return CheckResult("log_partition", status, expected, est, tolerance=tol, abs_error=abs_err,
                       rel_error=abs_err / max(abs(ref), 1e-300), mismatches=k,
                       matches=matches, coefficients=coeffs, notes=notes)


# -- samples against a law ---------------------------------------------------------------------

def _n_alpha(n, alpha):
    """A sample size (>= 1) and a probability in (0, 1), validated."""
    return (_v.integer("n", n, minimum=1),
            float(_v.scalar("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)))


def dkwm_epsilon(n, alpha):
    r"""The DKWM band: \(P(\sup_t |F_n(t) - F(t)| > \epsilon) \le 2 e^{-2n\epsilon^2} = \alpha\)
    for \(\epsilon = \sqrt{\log(2/\alpha) / (2n)}\) (Massart 1990).

    Examples
    --------
    >>> round(dkwm_epsilon(10_000, 1e-6 / 11), 6)
    0.029075
    """
    n, alpha = _n_alpha(n, alpha)
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * n))


def detectable_shift(eps):
    r"""The smallest mean shift and sd ratios of a normal law that a DKWM test with band
    ``eps`` detects (with probability at least \(1 - \alpha\)): the Kolmogorov distance must
    reach \(2\epsilon\).

    Returns
    -------
    (float, float, float)
        ``(delta, r_low, r_high)``: a shift of ``delta`` standard deviations, or a standard
        deviation off by a factor below ``r_low`` or above ``r_high``.

    Math
    ----
    \(\sup_t |\Phi(t) - \Phi(t - \delta)| = 2\Phi(\delta/2) - 1\) and
    \(\sup_t |\Phi(t) - \Phi(t/r)| = |\Phi(t_r) - \Phi(t_r/r)|\) with
    \(t_r^2 = 2 r^2 \log r / (r^2 - 1)\). If the sample's law \(G\) is that far from \(F\), the
    empirical CDF (within \(\epsilon\) of \(G\) with probability \(1 - \alpha\)) is more than
    \(\epsilon\) from \(F\).

    Examples
    --------
    >>> [round(v, 3) for v in detectable_shift(0.029075)]
    [0.146, 0.785, 1.273]
    """
    from scipy.optimize import brentq

    target = 2.0 * eps
    if target >= 1.0:
        return math.inf, 0.0, math.inf
    delta = 2.0 * stats.norm.ppf(0.5 + target / 2.0)

    def dist(r):
        t = math.sqrt(2.0 * r * r * math.log(r) / (r * r - 1.0))
        return abs(stats.norm.cdf(t) - stats.norm.cdf(t / r)) - target

    hi = brentq(dist, 1.0 + 1e-9, 1e6) if dist(1e6) > 0 else math.inf
    lo = brentq(dist, 1e-9, 1.0 - 1e-9) if dist(1e-9) > 0 else 0.0
    return float(delta), float(lo), float(hi)


def mmd_threshold(n, alpha, kappa=0.0):
    r"""The bound on the kernel distance of \(n\) independent draws from their law:
    \(P(\lVert \hat\mu_n - \mu_P \rVert_{\mathcal H} > t) \le \alpha\) for
    \(t = \sqrt{(1 - \kappa)/n} + \sqrt{\log(1/\alpha)/n}\), any kernel with
    \(k(x, x) = 1\), \(0 \le k \le 1\), and \(\kappa = E_P k(Y, Y')\).

    Math
    ----
    \(E \lVert \hat\mu_n - \mu_P \rVert^2 = (1 - \kappa)/n\) (Jensen bounds the mean of
    the norm by its root), and replacing one draw moves the norm by at most
    \(\lVert k(x, \cdot) - k(x', \cdot) \rVert / n \le \sqrt 2 / n\), so McDiarmid's
    inequality gives \(P(\text{norm} - E\,\text{norm} \ge s) \le e^{-n s^2}\)
    (Gretton et al. 2012, theorem 7, in the one-sample form). Distribution-free: it holds for
    every law \(P\).

    Examples
    --------
    >>> round(mmd_threshold(10_000, 1e-6 / 11), 4)
    0.0503
    """
    n, alpha = _n_alpha(n, alpha)
    kappa = float(_v.scalar("kappa", kappa, low=0.0, high=1.0))
    return math.sqrt((1.0 - kappa) / n) + math.sqrt(math.log(1.0 / alpha) / n)


def _gauss_cross(wa, ma, ca, wb, mb, cb, lam, *, pairwise=False):
    r"""\(\sum_{k,l} w^a_k w^b_l\, E\,k(Y_k, Y_l)\) for \(Y_k \sim N(m^a_k, C^a_k)\),
    \(Y_l \sim N(m^b_l, C^b_l)\) and the kernel
    \(k(x, y) = \exp(-\tfrac12 (x - y)^\top \Lambda^{-1} (x - y))\),
    \(\Lambda = \mathrm{diag}(\lambda)\): each term is
    \(\sqrt{|\Lambda| / |S|} \exp(-\tfrac12 \delta^\top S^{-1} \delta)\) with
    \(S = C^a_k + C^b_l + \Lambda\), \(\delta = m^a_k - m^b_l\) (the convolution of two
    normal densities). ``pairwise`` returns the sum over \(l\) for each \(k\)."""
    big_s = ca[:, None] + cb[None, :] + np.diag(lam)
    delta = ma[:, None, :] - mb[None, :, :]
    _, logdet = np.linalg.slogdet(big_s)
    quad = np.einsum("kli,kli->kl", delta, np.linalg.solve(big_s, delta[..., None])[..., 0])
    terms = np.exp(0.5 * (np.sum(np.log(lam)) - logdet) - 0.5 * quad) * wb[None, :]
    per_k = wa * np.sum(terms, axis=1)
    return per_k if pairwise else float(np.sum(per_k))


def _kernel_pair_mean(x, lam):
    """(1/n^2) sum_ij k(x_i, x_j) for the Gaussian kernel with per-axis variances lam."""
    y = x / np.sqrt(lam)
    sq = np.sum(y * y, axis=1)
    total = 0.0
    for a in range(0, y.shape[0], 1024):
        d2 = sq[a:a + 1024, None] + sq[None, :] - 2.0 * (y[a:a + 1024] @ y.T)
        total += float(np.sum(np.exp(-0.5 * np.maximum(d2, 0.0))))
    return total / y.shape[0] ** 2


class _Law:
    r"""What the subclasses share: the dimension, the error of their CDF values (quadrature) and
    whether they give CDFs of 1-D projections. Each subclass defines ``cdf(i, t)`` (marginal i
    at points t), ``moments(i)`` (mean and sd of coordinate i), where ``projections_ok``
    ``projection_cdf(u, t)``, and in two or more dimensions the Gaussian kernel's terms
    ``embedding(x, lam)`` (\(E_P k(x_i, Y)\)) and ``kappa(lam)`` (\(E_P k(Y, Y')\))."""

    def __init__(self, d):
        self.d = d
        self.error = 0.0          # error of the CDF values (quadrature)
        self.projections_ok = False
        self.warnings = []        # what a quadrature rule said it fell short of, as notes

    def projection_error(self, u):
        """The error of ``projection_cdf(u, .)`` (0 where it is closed form)."""
        return 0.0


class _GaussianLaw(_Law):
    def __init__(self, weights, means, covs):
        super().__init__(means.shape[1])
        self.w, self.mu, self.cov = weights, means, covs
        self.projections_ok = True

    def _mix(self, loc, scale, t):
        t = np.asarray(t, dtype=np.float64)[:, None]
        return np.sum(self.w * stats.norm.cdf((t - loc) / scale), axis=1)

    def cdf(self, i, t):
        return self._mix(self.mu[:, i], np.sqrt(self.cov[:, i, i]), t)

    def projection_cdf(self, u, t):
        scale = np.sqrt(np.einsum("i,kij,j->k", u, self.cov, u))
        return self._mix(self.mu @ u, scale, t)

    def moments(self, i):
        m = float(self.w @ self.mu[:, i])
        var = float(self.w @ (self.cov[:, i, i] + self.mu[:, i] ** 2)) - m * m
        return m, math.sqrt(var)

    def embedding(self, x, lam):
        zeros = np.zeros((x.shape[0], self.d, self.d))
        return _gauss_cross(np.ones(x.shape[0]), x, zeros, self.w, self.mu, self.cov, lam,
                            pairwise=True)

    def kappa(self, lam):
        return _gauss_cross(self.w, self.mu, self.cov, self.w, self.mu, self.cov, lam)


class _ScipyLaw(_Law):
    def __init__(self, dist):
        super().__init__(1)
        self.dist = dist

    def cdf(self, i, t):
        return self.dist.cdf(np.asarray(t, dtype=np.float64))

    def moments(self, i):
        return float(self.dist.mean()), float(self.dist.std())


class _GridLaw(_Law):
    r"""Marginal CDFs of \(e^{-E}\) on a finite box by composite Gauss-Legendre quadrature.

    Each axis is cut into ``P`` panels with 8 Gauss-Legendre nodes; the marginal density at
    the nodes is the tensor rule over the other axes; within a panel it is the degree-7
    Legendre interpolant, integrated exactly, so the CDF at any point is spectrally accurate
    for a smooth energy. ``error`` estimates the CDF error from the last Legendre coefficients.
    """

    _PANELS = {1: 256, 2: 96, 3: 16}

    def __init__(self, energy, bounds):
        b = np.asarray(bounds, dtype=np.float64)
        d = b.shape[0]
        super().__init__(d)
        self.energy, self.bounds = energy, b
        self.projections_ok = d >= 2
        self._projections = {}
        if d > 3:
            raise ValueError(f"`bounds` of an energy target may have at most 3 dimensions for "
                             f"check_sampler's quadrature CDFs, got {d}")
        if not np.all(np.isfinite(b)):
            raise ValueError(f"`bounds` must be finite for check_sampler's quadrature CDFs, got "
                             f"{b.tolist()}")
        p = self._PANELS[d]
        self.edges = [np.linspace(lo, hi, p + 1) for lo, hi in b]
        rules = [gauss_legendre(e[:-1], e[1:], 1, 8) for e in self.edges]   # (p, 8) each
        nodes, weights = [x.ravel() for x, _ in rules], [w.ravel() for _, w in rules]
        grid = np.stack(np.meshgrid(*nodes, indexing="ij"), axis=-1).reshape(-1, d)
        e_vals = np.concatenate([np.asarray(energy(grid[i:i + 2**17]), dtype=np.float64)
                                 for i in range(0, grid.shape[0], 2**17)])
        if np.any(np.isnan(e_vals)):
            raise ValueError("`target` energy returned NaN inside `bounds`")
        log_g = -e_vals - np.min(e_vals[np.isfinite(e_vals)])
        dens = np.exp(log_g).reshape((8 * p,) * d)
        w_all = functools.reduce(np.multiply.outer, weights)       # tensor-rule weights
        self.nodes = nodes
        self.mass = dens * w_all / float(np.sum(dens * w_all))      # each node's mass
        self.marginals, self.mom, errors = [], [], []
        for i in range(d):
            others = tuple(j for j in range(d) if j != i)
            node_mass = np.sum(self.mass, axis=others) if others else self.mass
            law = LegendreCDF(self.edges[i], (node_mass / weights[i]).reshape(p, 8))
            self.marginals.append(law)
            m = float(node_mass @ nodes[i])
            self.mom.append((m, math.sqrt(max(float(node_mass @ (nodes[i] - m) ** 2), 0.0))))
            errors.append(float(np.sum(np.abs(law.coef[:, -1]) * 2.0 * law.h)))
        self.error = max(errors)

    def cdf(self, i, t):
        t = np.asarray(t, dtype=np.float64)
        return np.clip(np.where(t >= self.edges[i][-1], 1.0, self.marginals[i](t)), 0.0, 1.0)

    def moments(self, i):
        return self.mom[i]

    def _projection(self, u):
        """The projection's CDF by quadrature on the box's sections (``_sections``), to a
        tolerance well below the DKWM band; a warning that it fell short becomes a note."""
        key = tuple(np.asarray(u, dtype=np.float64).tolist())
        if key not in self._projections:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                law = projection_law(self.energy, self.bounds, u, tol=1e-4)
            self.warnings.extend(f"projection on {np.round(u, 3).tolist()}: {w.message}"
                                 for w in caught if issubclass(w.category, RuntimeWarning))
            self._projections[key] = law
        return self._projections[key]

    def projection_cdf(self, u, t):
        return self._projection(u).cdf(np.asarray(t, dtype=np.float64))

    def projection_error(self, u):
        return float(self._projection(u).error)

    def _axis_kernels(self, x, lam):
        return [np.exp(-0.5 * (x[:, i, None] - self.nodes[i][None, :]) ** 2 / lam[i])
                for i in range(self.d)]

    def embedding(self, x, lam):
        out = np.empty(x.shape[0])
        for a in range(0, x.shape[0], 256):
            k = self._axis_kernels(x[a:a + 256], lam)
            t = k[0] @ self.mass.reshape(self.mass.shape[0], -1)
            if self.d == 1:
                out[a:a + 256] = t[:, 0]
            elif self.d == 2:
                out[a:a + 256] = np.sum(t * k[1], axis=1)
            else:
                t = t.reshape(t.shape[0], self.mass.shape[1], self.mass.shape[2])
                out[a:a + 256] = np.einsum("nbc,nb,nc->n", t, k[1], k[2])
        return out

    def kappa(self, lam):
        t = self.mass
        for i in range(self.d):
            g = np.exp(-0.5 * (self.nodes[i][:, None] - self.nodes[i][None, :]) ** 2 / lam[i])
            t = np.moveaxis(np.tensordot(g, t, axes=([1], [i])), 0, i)
        return float(np.sum(self.mass * t))


def _law(target, bounds):
    from ..families import Gaussian, GaussianMixture

    if isinstance(target, Gaussian):
        mean = np.asarray(target.mean, dtype=np.float64).reshape(1, -1)
        cov = np.asarray(target.cov, dtype=np.float64)[None]
        return _GaussianLaw(np.ones(1), mean, cov)
    if isinstance(target, GaussianMixture):
        return _GaussianLaw(np.asarray(target.weights, dtype=np.float64),
                            np.asarray(target.means, dtype=np.float64),
                            np.asarray(target.covs, dtype=np.float64))
    name = type(target).__name__
    if name == "Exponential":
        return _ScipyLaw(stats.expon(scale=1.0 / float(target.rate)))
    if name == "Gamma":
        return _ScipyLaw(stats.gamma(float(target.concentration),
                                     scale=1.0 / float(target.rate)))
    if name == "Beta":
        return _ScipyLaw(stats.beta(float(target.a), float(target.b)))
    energy = getattr(target, "energy", target)
    if not callable(energy):
        raise TypeError(f"`target` must be a refebm family (Gaussian, GaussianMixture, "
                        f"Exponential, Gamma, Beta) or an energy callable, got "
                        f"{_v.show(target)}")
    if bounds is None:
        raise ValueError("`bounds` must be given when `target` is an energy: the marginal CDFs "
                         "are computed by quadrature on that box, got bounds=None")
    bounds = _v.bounds("bounds", bounds)
    return _GridLaw(energy, bounds)


def _samples_iv(samples):
    return _draws_iv("samples", samples, layouts="(n, d) or (chain, draw, d)", min_draws=20,
                     one_chain_2d=True)


def _thinning(x):
    """The ESS rule: the smallest bulk ESS over coordinates gives \\(\\hat\\tau =
    N / \\mathrm{ESS}\\); keep every draw when \\(\\hat\\tau \\le 1.5\\) (independent draws
    within estimation noise), else every \\(\\lceil 2\\hat\\tau \\rceil\\)-th draw of each
    chain."""
    from ..diagnostics import ess

    min_ess = float(np.min(np.atleast_1d(ess(x, method="bulk"))))
    tau = x.shape[0] * x.shape[1] / max(min_ess, 1.0)
    k = 1 if tau <= 1.5 else int(math.ceil(2.0 * tau))
    return k, min_ess, tau


def _lag1(y):
    """The largest lag-1 autocorrelation over the coordinates of the thinned chains."""
    c = y - y.mean(axis=1, keepdims=True)
    num = np.sum(c[:, 1:] * c[:, :-1], axis=(0, 1))
    den = np.sum(c * c, axis=(0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / den, 0.0)
    return float(max(np.max(r), 0.0))


def _ks_sup(sorted_t, cdf_values):
    n = sorted_t.shape[0]
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - cdf_values), np.max(cdf_values - (i - 1) / n)))


def check_sampler(samples, target, *, false_fail=1e-6, bounds=None, n_projections=8,
                  n_joint=10_000, rng=0):
    r"""Test draws from a foreign sampler against a target with a known law.

    Parameters
    ----------
    samples : array ``(n, d)`` or ``(chain, draw, d)``
        Draws (a chain's successive states, or independent draws), at least 20 per chain.
    target : refebm family or energy callable
        ``Gaussian``, ``GaussianMixture`` (closed-form marginal and projected CDFs and kernel
        mean), ``Exponential``, ``Gamma``, ``Beta`` (scipy's CDFs), or an energy
        ``energy(x) -> (n,)`` (or an object with ``energy``) on a finite box ``bounds`` with
        \(d \le 3\) (marginal CDFs and kernel mean by tensor Gauss-Legendre quadrature, the
        CDFs of projections by quadrature on the box's sections, ``projection_law`` in
        ``refebm.testing._sections``).
    false_fail : float
        The probability of failing a sampler whose draws follow ``target`` (independent after
        thinning), in (0, 0.5). Default \(10^{-6}\).
    bounds : sequence of (lo, hi), optional
        Required when ``target`` is an energy.
    n_projections : int
        Random unit directions \(u\) whose projections \(u^\top x\) are tested too
        (\(d \ge 2\)).
    n_joint : int
        At most this many thinned draws (evenly spaced) enter the joint kernel test.
    rng : numpy.random.Generator or int
        Draws the projection directions (default 0: the check is deterministic).

    Returns
    -------
    CheckResult
        ``got``: the test statistics (KS distances, then the kernel distance); ``expected``:
        their thresholds; ``coefficients``: the thinning (``thin``, ``ess``, ``tau``), the draws
        used, the DKWM ``epsilon``, the kernel test's ``mmd_threshold``, and the power:
        ``detectable_mean_shift`` (in standard deviations of the coordinate),
        ``detectable_sd_ratio`` (low, high) and ``detectable_mmd``.

    Math
    ----
    **Thinning.** With \(\hat\tau = N / \min \mathrm{ESS}_{\text{bulk}}\) over
    coordinates, every draw is kept when \(\hat\tau \le 1.5\), else every
    \(\lceil 2\hat\tau \rceil\)-th (for an AR(1) chain, a lag where the autocorrelation
    is below \(e^{-2}\)); the thresholds are widened by \(\sqrt{(1 + r)/(1 - r)}\) with
    \(r\) the largest remaining lag-1 autocorrelation.

    **Tests.** On \(n\) thinned draws, \(m = d + n_{\text{proj}} + 1\) tests share the rate
    \(\alpha\) (Bonferroni, \(\alpha/m\) each; \(m = 1\) in one dimension, where the
    coordinate's law is the joint law): for each coordinate and each projection, the
    Kolmogorov distance \(\sup_t |F_n(t) - F(t)|\) against the DKWM band
    \(\epsilon = \sqrt{\log(2m/\alpha) / (2n)}\) (Massart 1990), plus the quadrature error
    estimate of \(F\) for energy targets (a projection's CDF is computed to \(10^{-4}\);
    when the rule falls short, its larger error widens that projection's band and a note
    says so); for the joint law, the kernel distance
    \(T = \lVert \frac1n \sum_i k(x_i, \cdot) - E_P k(Y, \cdot) \rVert_{\mathcal H}\),

    \[
      T^2 = \frac{1}{n^2} \sum_{i,j} k(x_i, x_j) - \frac2n \sum_i E_P k(x_i, Y)
            + E_P k(Y, Y'),
    \]

    with the Gaussian kernel whose length on each axis is the target's standard deviation (the
    target's terms in closed form for Gaussian mixtures, by the quadrature rule for energies),
    against [`mmd_threshold`][refebm.testing.statistical.mmd_threshold] at \(\alpha/m\).
    Both bounds are distribution-free and exact for independent draws, so a sampler whose
    draws follow the target fails with probability at most \(\alpha\). (The kernel Stein
    discrepancy has no such bound: its kernel is unbounded where the score is, so a
    threshold would rest on an estimated variance.)

    **Power.** A coordinate whose law \(G\) has \(\sup_t |G - F| \ge 2\epsilon\) fails with
    probability at least \(1 - \alpha/m\). For a normal coordinate that is a mean error of
    \(\delta = 2\Phi^{-1}(1/2 + \epsilon)\) standard deviations or a standard deviation off
    by the factors in ``detectable_sd_ratio``
    ([`detectable_shift`][refebm.testing.statistical.detectable_shift]). A joint law whose
    kernel distance from the target exceeds ``detectable_mmd`` (the threshold plus
    \((1 + \sqrt{\log(m/\alpha)})/\sqrt n\), McDiarmid's bound for the foreign law) fails
    with probability at least \(1 - \alpha/m\): this sees a wrong correlation with right
    marginals. At \(n = 10^4\) independent draws in \(d = 2\) with 8 projections
    (\(m = 11\), \(\alpha = 10^{-6}\)): \(\epsilon = 0.0291\), a mean error of 0.146 sd,
    an sd ratio outside [0.785, 1.27].

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.families import Gaussian
    >>> target = Gaussian(np.array([1.0, -1.0]), np.array([[1.0, 0.5], [0.5, 2.0]]))
    >>> x = target.sample(10_000, rng=0)
    >>> res = check_sampler(x, target)
    >>> res.status, res.coefficients["thin"], round(res.coefficients["epsilon"], 2)
    ('pass', 1, 0.03)
    >>> check_sampler(x * 1.3, target).status
    'fail'
    """
    false_fail = float(_v.scalar("false_fail", false_fail, low=0.0, high=0.5, low_open=True,
                                 high_open=True))
    n_projections = _v.integer("n_projections", n_projections, minimum=0)
    n_joint = _v.integer("n_joint", n_joint, minimum=2)
    gen = _v.rng(rng)
    x = _samples_iv(samples)
    law = _law(target, bounds)
    d = x.shape[2]
    if d != law.d:
        raise ValueError(f"`samples` must have {law.d} coordinates (the target's dimension), "
                         f"got shape {np.shape(samples)}")
    k, min_ess, tau = _thinning(x)
    y = x[:, ::k, :]
    r1 = _lag1(y)
    inflate = math.sqrt((1.0 + r1) / (1.0 - r1)) if r1 < 1.0 else math.inf
    flat = y.reshape(-1, d)
    n = flat.shape[0]
    n_proj = n_projections if (law.projections_ok and d >= 2) else 0
    joint = d >= 2
    m = d + n_proj + (1 if joint else 0)
    alpha_i = false_fail / m
    eps = dkwm_epsilon(n, alpha_i) * inflate + law.error
    stats_, thresholds, labels = [], [], []
    for i in range(d):
        t = np.sort(flat[:, i])
        stats_.append(_ks_sup(t, law.cdf(i, t)))
        thresholds.append(eps)
        labels.append(f"coordinate {i}")
    if n_proj:
        u = gen.standard_normal((n_proj, d))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        for j in range(n_proj):
            t = np.sort(flat @ u[j])
            stats_.append(_ks_sup(t, law.projection_cdf(u[j], t)))
            thresholds.append(eps + law.projection_error(u[j]))
            labels.append(f"projection {j} on {np.round(u[j], 3).tolist()}")
    mmd_thr, detect_mmd, nj = math.nan, math.nan, 0
    if joint:
        xs = flat[np.unique(np.linspace(0, n - 1, min(n, n_joint)).astype(int))]
        nj = xs.shape[0]
        lam = np.array([law.moments(i)[1] ** 2 for i in range(d)])
        kappa = law.kappa(lam)
        t2 = _kernel_pair_mean(xs, lam) - 2.0 * float(np.mean(law.embedding(xs, lam))) + kappa
        spread = (1.0 + math.sqrt(math.log(1.0 / alpha_i))) / math.sqrt(nj)
        mmd_thr = mmd_threshold(nj, alpha_i, min(max(kappa, 0.0), 1.0)) * inflate \
            + math.sqrt(3.0 * law.error)
        detect_mmd = mmd_thr + spread * inflate
        stats_.append(math.sqrt(max(t2, 0.0)))
        thresholds.append(mmd_thr)
        labels.append("joint: kernel distance (Gaussian kernel, target's sd per axis)")
    got = np.array(stats_)
    thr = np.array(thresholds)
    bad = got > thr
    delta, r_lo, r_hi = detectable_shift(eps)
    coeffs = {"thin": k, "ess": min_ess, "tau": tau, "lag1_after_thinning": r1,
              "draws_used": n, "tests": m, "alpha_per_test": alpha_i, "epsilon": eps,
              "mmd_threshold": mmd_thr, "joint_draws": nj, "detectable_mean_shift": delta,
              "detectable_sd_ratio": (r_lo, r_hi), "detectable_mmd": detect_mmd}
    ratio = got / thr
    worst = int(np.argmax(ratio))
    notes = [f"{labels[i]}: statistic {got[i]:.4g} > threshold {thr[i]:.4g}"
             for i in np.flatnonzero(bad)]
    power = (f"detects a mean error of {delta:.3g} sd or an sd ratio outside [{r_lo:.3g}, "
             f"{r_hi:.3g}] in any coordinate")
    if joint:
        power += f", or a joint law at kernel distance > {detect_mmd:.3g}"
    notes.extend(law.warnings)
    notes.append(f"false-failure rate {false_fail:.3g} (Bonferroni over {m} tests); {power}, "
                 f"with probability >= {1 - alpha_i:.7g}")
    tol = Tolerance(eps, 0.0, f"DKWM band at {alpha_i:.3g} per test on {n} draws (thinned by "
                              f"{k})" + (", kernel distance by McDiarmid's inequality"
                                         if joint else ""))
    return CheckResult("sampler", "fail" if np.any(bad) else "pass", thr, got, tolerance=tol,
                       abs_error=float(np.max(got - thr)), rel_error=float(ratio[worst]),
                       mismatches=int(np.sum(bad)), worst_index=(worst,), coefficients=coeffs,
                       notes=notes)
