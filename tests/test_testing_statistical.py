"""refebm.testing.statistical: samplers against a law, R-hat, ESS, KSD and log Z checks.

Foreign implementations here are written independently of refebm's code (the R-hat and ESS of
the plain vector script, and the small functions below), each with one catalogued variant planted
at a time; the correct twin must pass and each variant must be named by its id.
"""

import math

import numpy as np
import pytest
from scipy.special import logsumexp

import vectors_plain_script as plain
from refebm.families import Exponential, Gaussian, GaussianMixture
from refebm.testing import catalogue
from refebm.testing import ForeignCallError, ForeignValueError
from refebm.testing.statistical import (check_ess, check_ksd, check_log_partition, check_rhat,
                                        check_sampler, detectable_shift, dkwm_epsilon)
from seeding import make_rng, make_seed

# -- foreign diagnostics (independent NumPy code) ----------------------------------------------


def foreign_rhat(x, *, split=True, rank=True, fold=True):
    s = plain._split(x) if split else x
    if not rank:
        return plain._gr(s)
    bulk = plain._gr(plain._z(s))
    return max(bulk, plain._gr(plain._z(np.abs(s - np.median(s))))) if fold else bulk


def foreign_ess(x, *, rank=True):
    s = plain._split(x)
    return plain._ess(plain._z(s) if rank else s)


def _rho(x):
    m, n = x.shape
    acov = np.array([np.correlate(c - c.mean(), c - c.mean(), "full")[n - 1:] / n for c in x])
    w = np.mean(acov[:, 0]) * n / (n - 1)
    var_plus = w * (n - 1) / n + np.var(x.mean(axis=1), ddof=1)
    return 1.0 - (w - acov.mean(axis=0)) / var_plus


def foreign_ess_first_negative(x):
    z = plain._z(plain._split(x))
    rho = _rho(z)
    neg = np.flatnonzero(rho < 0)
    t_stop = neg[0] if neg.size else rho.size
    return z.size / (1.0 + 2.0 * np.sum(rho[1:t_stop]))


def foreign_ess_old_stan(x):
    z = plain._split(x)
    m, n = z.shape
    var_plus = (n - 1) / n * np.mean(np.var(z, axis=1, ddof=1)) + np.var(z.mean(axis=1), ddof=1)
    rho = np.array([1.0 - np.mean((z[:, t:] - z[:, :n - t]) ** 2) / (2 * var_plus)
                    for t in range(n)])
    t = 1
    while t + 2 < n and rho[t + 1] + rho[t + 2] >= 0:
        t += 2
    return m * n / (1.0 + 2.0 * np.sum(rho[1:t + 1]))


def foreign_ksd(x, s, *, c=1.0, beta=-0.5, diagonal=False, divisor="n(n-1)", c_squared=True):
    n, d = x.shape
    r = x[:, None, :] - x[None, :, :]
    r2 = np.sum(r * r, axis=-1)
    q = (c * c if c_squared else c) + r2
    u = (q**beta * (s @ s.T) + 2 * beta * q ** (beta - 1) * np.einsum("ijk,ijk->ij", r,
                                                                     s[None] - s[:, None])
         - 2 * beta * d * q ** (beta - 1) - 4 * beta * (beta - 1) * q ** (beta - 2) * r2)
    total = u.sum() if diagonal else u.sum() - np.trace(u)
    return total / (n * (n - 1) if divisor == "n(n-1)" else n * n)


def ar1_chains(rng, m, n, rho):
    x = np.zeros((m, n))
    x[:, 0] = rng.standard_normal(m)
    for t in range(1, n):
        x[:, t] = rho * x[:, t - 1] + math.sqrt(1 - rho * rho) * rng.standard_normal(m)
    return x


# -- R-hat --------------------------------------------------------------------------------------

# The R-hat, ESS and KSD checks are deterministic given the draws; the draws only have to make
# the variants differ from refebm's value by more than the tolerance (1e-10 relative), which the
# constructions below do by margins of 1e-3 or more on every stream.

@pytest.fixture
def wide_chains():
    x = ar1_chains(make_rng("rhat-chains"), 4, 300, 0.5)
    x[1] *= 3.0      # one chain wider: the folded (tail) R-hat is far above the bulk one
    x[2] += 0.3      # one chain shifted: splitting and ranks change the value
    return x


def test_rhat_correct_twins_pass(wide_chains):
    assert check_rhat(foreign_rhat, wide_chains).status == "pass"
    az = pytest.importorskip("arviz")
    res = check_rhat(lambda c: az.rhat(c), wide_chains)
    assert res.status == "pass", str(res)


@pytest.mark.parametrize("entry_id, kwargs", [
    ("RHAT-CLASSIC", dict(split=False, rank=False)),
    ("RHAT-SPLIT-NO-RANK", dict(rank=False)),
    ("RHAT-BULK-ONLY", dict(fold=False))])
def test_rhat_variants_are_named(wide_chains, entry_id, kwargs):
    res = check_rhat(lambda c: foreign_rhat(c, **kwargs), wide_chains)
    assert res.status == "known_bug" and res.match_ids == (entry_id,), str(res)
    assert entry_id in str(res)


def test_float32_value_at_float64_tolerance_is_said(wide_chains):
    res = check_rhat(lambda c: np.float32(foreign_rhat(c)), wide_chains)
    assert res.status == "fail" and "float32" in str(res)
    assert check_rhat(lambda c: np.float32(foreign_rhat(c)), wide_chains,
                      rtol=1e-6).status == "pass"


def test_rhat_per_component(wide_chains):
    x = np.stack([wide_chains, 2.0 * wide_chains + 1.0], axis=-1)
    res = check_rhat(lambda c: np.array([foreign_rhat(c[..., k]) for k in range(2)]), x)
    assert res.status == "pass" and res.expected.shape == (2,)


# -- ESS ----------------------------------------------------------------------------------------

@pytest.fixture
def ess_chains():
    # negatively correlated draws: the first lag's autocorrelation is negative (-0.3, 12
    # standard errors below 0), so truncating at the first negative rho_t gives exactly S while
    # Geyer's pairs give about 1.9 S (below the cap S log10 S where every form agrees)
    return ar1_chains(make_rng("ess-chains"), 4, 400, -0.3)


def test_ess_correct_twins_pass(ess_chains):
    assert check_ess(foreign_ess, ess_chains).status == "pass"
    az = pytest.importorskip("arviz")
    assert check_ess(lambda c: az.ess(c), ess_chains).status == "pass"


@pytest.mark.parametrize("entry_id, fn, status", [
    ("ESS-NO-RANK", lambda c: foreign_ess(c, rank=False), "equivalent_convention"),
    ("ESS-FIRST-NEGATIVE", foreign_ess_first_negative, "known_bug"),
    ("ESS-OLD-STAN", foreign_ess_old_stan, "known_bug")])
def test_ess_variants_are_named(ess_chains, entry_id, fn, status):
    res = check_ess(fn, ess_chains)
    assert res.status == status and entry_id in res.match_ids, str(res)


def test_ess_first_negative_is_exactly_s_on_anticorrelated_chains(ess_chains):
    assert foreign_ess_first_negative(ess_chains) == pytest.approx(ess_chains.size, rel=1e-12)


# -- KSD ----------------------------------------------------------------------------------------

@pytest.fixture
def ksd_case():
    target = Gaussian(np.array([0.5, -1.0]), np.array([[1.0, 0.3], [0.3, 0.5]]))
    x = target.sample(40, rng=make_seed("ksd-points"))
    return x, target.score(x)


def test_ksd_correct_twin_passes(ksd_case):
    x, s = ksd_case
    for c in (1.0, 2.0):
        res = check_ksd(lambda a, b: foreign_ksd(a, b, c=c), x, s, c=c)
        assert res.status == "pass", str(res)


@pytest.mark.parametrize("entry_id, kwargs, status", [
    ("KSD-V-STATISTIC", dict(diagonal=True, divisor="n^2"), "known_bug"),
    ("KSD-OVER-N2", dict(divisor="n^2"), "known_bug"),
    ("KSD-IMQ-C-UNSQUARED", dict(c_squared=False), "equivalent_convention")])
def test_ksd_variants_are_named(ksd_case, entry_id, kwargs, status):
    x, s = ksd_case
    res = check_ksd(lambda a, b: foreign_ksd(a, b, c=2.0, **kwargs), x, s, c=2.0)
    assert res.status == status and res.match_ids == (entry_id,), str(res)


def test_ksd_score_callable_and_bad_returns(ksd_case):
    x, _ = ksd_case
    score = lambda a: -a  # noqa: E731
    assert check_ksd(lambda a, b: foreign_ksd(a, b), x, score).status == "pass"
    # problems of the foreign value are the deterministic checks' error types (a
    # ForeignValueError is also a TypeError and a ValueError; a ForeignCallError a RuntimeError)
    with pytest.raises(ForeignValueError, match=r"`fn` returned str 'ksd'; expected a real "
                                                r"array of shape \(\)"):
        check_ksd(lambda a, b: "ksd", x, score)
    with pytest.raises(ForeignValueError, match="`fn` returned a non-finite value"):
        check_ksd(lambda a, b: float("nan"), x, score)
    with pytest.raises(ValueError, match=r"`fn` must return shape \(\), got shape \(2,\)"):
        check_ksd(lambda a, b: np.zeros(2), x, score)
    with pytest.raises(ForeignCallError, match="`fn` raised ZeroDivisionError"):
        check_ksd(lambda a, b: 1 / 0, x, score)
    with pytest.raises(RuntimeError, match="`fn` raised ZeroDivisionError"):
        check_rhat(lambda c: 1 / 0, np.zeros((2, 10)) + np.arange(10))
    with pytest.raises(TypeError, match="`fn` returned NoneType None"):
        check_ess(lambda c: None, np.zeros((2, 10)) + np.arange(10))
    # a refebm-side argument is a plain ValueError/TypeError that names it
    with pytest.raises(TypeError, match="`fn`"):
        check_ksd(3, x, score)
    with pytest.raises(ValueError, match=r"`chains` must have at least 8 draws per chain"):
        check_rhat(lambda c: 1.0, np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"`chains` must have shape \(chain, draw\) or"):
        check_ess(lambda c: 1.0, np.zeros((2, 10, 1, 1)))


def test_torch_value_is_converted(ksd_case):
    torch = pytest.importorskip("torch")
    x, s = ksd_case
    res = check_ksd(lambda a, b: torch.tensor(foreign_ksd(a, b), requires_grad=True), x, s)
    assert res.status == "pass"


# -- log Z --------------------------------------------------------------------------------------

def _energy(x):
    return 0.5 * np.sum((x - 1.0) ** 2 / 0.64, axis=1)   # N(1, 0.8^2): log Z = log(0.8 sqrt(2 pi))


LOG_Z = math.log(0.8 * math.sqrt(2 * math.pi))


def test_log_partition_single_value():
    assert check_log_partition(LOG_Z, _energy, [(-np.inf, np.inf)]).status == "pass"
    res = check_log_partition(-LOG_Z, _energy, [(-np.inf, np.inf)])
    assert res.status == "known_bug" and res.match_ids == ("LOGZ-NEGATED",)
    states = np.arange(-3.0, 4.0)[:, None]
    ref = logsumexp(-_energy(states))
    assert check_log_partition(ref, _energy, states).status == "pass"
    assert check_log_partition(ref + 1e-6, _energy, states).status == "fail"


def _is_estimates(rng, k, n):
    """k independent importance-sampling estimates of log Z, n draws each, proposal N(1, 1.2^2)
    (wider than the target, so the weights are bounded)."""
    x = 1.0 + 1.2 * rng.standard_normal((k, n, 1))
    log_q = -0.5 * ((x[..., 0] - 1.0) / 1.2) ** 2 - math.log(1.2 * math.sqrt(2 * math.pi))
    log_w = -_energy(x.reshape(-1, 1)).reshape(k, n) - log_q
    return log_w


def test_log_partition_estimates_pass_and_wrong_normalizers_are_named():
    # False-failure rate: the upper test is Markov's inequality on min_k (exact for any unbiased
    # Z estimate), the lower one the non-negative lower-tail bound with E[W^2] from the sample
    # (the weights are bounded by 1.5 Z here, so the plug-in is accurate); 1e-6 in all.
    log_w = _is_estimates(make_rng("is-estimates"), 200, 50)
    good = logsumexp(log_w, axis=1) - math.log(50)
    res = check_log_partition(good, _energy, [(-np.inf, np.inf)], n_particles=50,
                              n_transitions=10)
    assert res.status == "pass", str(res)
    summed = logsumexp(log_w, axis=1)
    res = check_log_partition(summed, _energy, [(-np.inf, np.inf)], n_particles=50,
                              n_transitions=10)
    assert res.status == "known_bug" and res.match_ids == ("AIS-SUMMED-WEIGHTS",), str(res)
    over = logsumexp(log_w, axis=1) - math.log(50 * 10)
    res = check_log_partition(over, _energy, [(-np.inf, np.inf)], n_particles=50,
                              n_transitions=10)
    assert res.status == "known_bug" and res.match_ids == ("AIS-OVER-ALL-STEPS",), str(res)
    res = check_log_partition(over, _energy, [(-np.inf, np.inf)])
    assert res.status == "fail"
    assert any("relative_variance=" in n for n in res.notes)


def test_log_partition_lower_test_with_a_stated_variance():
    # Var(Z_hat / Z) for 50 importance weights from N(1, 1.2^2): (int p^2 / q dx - 1) / 50 by
    # quadrature (and in closed form, b / (a^2 sqrt(2/a^2 - 1/b^2)), a = 0.8, b = 1.2); with it
    # the lower test is exact (false-failure rate 1e-6 in all).
    from scipy import integrate, stats

    p, q = stats.norm(1.0, 0.8), stats.norm(1.0, 1.2)     # the target (_energy), the proposal
    second = integrate.quad(lambda t: p.pdf(t) ** 2 / q.pdf(t), -30.0, 30.0)[0]
    assert second == pytest.approx(1.2 / (0.64 * math.sqrt(2 / 0.64 - 1 / 1.44)), rel=1e-10)
    rel_var = (second - 1.0) / 50
    log_w = _is_estimates(make_rng("is-estimates-v"), 200, 50)
    good = logsumexp(log_w, axis=1) - math.log(50)
    res = check_log_partition(good, _energy, [(-np.inf, np.inf)], relative_variance=rel_var)
    assert res.status == "pass" and not any("approximate" in n or "relative_variance=" in n
                                            for n in res.notes), str(res)
    over = good - math.log(10)
    res = check_log_partition(over, _energy, [(-np.inf, np.inf)], relative_variance=rel_var,
                              n_particles=50, n_transitions=10)
    assert res.status == "known_bug" and res.match_ids == ("AIS-OVER-ALL-STEPS",), str(res)
    # the lower threshold is the exact one: 1 - sqrt(2 (1 + v) log(2 / alpha) / K)
    assert res.coefficients["lower_threshold_of_mean_ratio"] == pytest.approx(
        1 - math.sqrt(2 * (1 + rel_var) * math.log(2e6) / 200), rel=1e-14)
    with pytest.raises(ValueError, match="`relative_variance`"):
        check_log_partition(good, _energy, [(-np.inf, np.inf)], relative_variance=-1.0)


def test_log_partition_false_failure_rate():
    # With relative_variance the two tests are exact, so at false_fail = 0.3 a correct estimator
    # fails at most 30% of the time: over 60 independent runs of 20 estimates, more than 37
    # failures has probability < 1e-6 (Binomial(60, 0.3) tail, checked below).
    from scipy import integrate, stats

    p, q = stats.norm(1.0, 0.8), stats.norm(1.0, 1.2)     # the target (_energy), the proposal
    rel_var = (integrate.quad(lambda t: p.pdf(t) ** 2 / q.pdf(t), -30.0, 30.0)[0] - 1.0) / 10
    rng = make_rng("log-z-rate")
    fails = 0
    for _ in range(60):
        est = logsumexp(_is_estimates(rng, 20, 10), axis=1) - math.log(10)
        fails += check_log_partition(est, _energy, [(-np.inf, np.inf)], false_fail=0.3,
                                     relative_variance=rel_var).status != "pass"
    assert stats.binom.sf(37, 60, 0.3) < 1e-6
    assert fails <= 37


def test_ais_normalizer_entries_on_parts():
    log_w = make_rng("ais-parts").standard_normal(7)
    parts = {"log_weights": log_w, "n_transitions": 5}
    ref = float(catalogue.reference("ais_log_normalizer", parts))
    assert ref == pytest.approx(logsumexp(log_w) - math.log(7), rel=1e-14)
    assert float(catalogue.get("AIS-SUMMED-WEIGHTS").evaluate(parts)) == pytest.approx(
        ref + math.log(7), rel=1e-14)
    assert float(catalogue.get("AIS-OVER-ALL-STEPS").evaluate(parts)) == pytest.approx(
        ref - math.log(5), rel=1e-14)
    assert float(catalogue.get("AIS-MEAN-LOG-WEIGHTS").evaluate(parts)) <= ref


# -- samplers -----------------------------------------------------------------------------------

TARGET = Gaussian(np.array([1.0, -1.0]), np.array([[1.0, 0.5], [0.5, 2.0]]))


def test_dkwm_and_power_formulas():
    eps = dkwm_epsilon(10_000, 1e-6 / 11)
    assert eps == pytest.approx(math.sqrt(math.log(2 * 11 / 1e-6) / 20_000), rel=1e-14)
    delta, lo, hi = detectable_shift(eps)
    from scipy.stats import norm

    assert 2 * norm.cdf(delta / 2) - 1 == pytest.approx(2 * eps, rel=1e-10)
    grid = np.linspace(-10, 10, 200_001)
    for r in (lo, hi):
        assert np.max(np.abs(norm.cdf(grid) - norm.cdf(grid / r))) == pytest.approx(2 * eps,
                                                                                    rel=1e-6)


def test_check_sampler_passes_exact_draws():
    # False-failure rate <= 1e-6: DKWM and McDiarmid's bound for the kernel distance, with
    # Bonferroni over 11 tests (both exact for independent draws).
    x = TARGET.sample(10_000, rng=make_seed("exact-draws"))
    res = check_sampler(x, TARGET)
    assert res.status == "pass", str(res)
    assert res.coefficients["thin"] == 1 and res.coefficients["tests"] == 11
    assert res.coefficients["detectable_mean_shift"] < 0.16


def test_check_sampler_stated_power():
    # A mean error 1.2 times the stated detectable shift must fail: the stated power holds with
    # probability >= 1 - 1e-6 / 11, so this fails to detect with probability <= 1e-7.
    x = TARGET.sample(10_000, rng=make_seed("power-draws"))
    delta = check_sampler(x, TARGET).coefficients["detectable_mean_shift"]
    shifted = x + np.array([1.2 * delta * 1.0, 0.0])
    res = check_sampler(shifted, TARGET)
    assert res.status == "fail" and res.got[0] > res.expected[0], str(res)


def test_check_sampler_mixture_mala_chain_passes_after_thinning():
    from refebm.samplers import mala_kernel, sample

    mix = GaussianMixture([0.3, 0.7], [[-1.0], [1.5]], [[[0.5]], [[0.8]]])
    out = sample(mala_kernel(mix.energy, 0.8, score=mix.score), mix.sample(8, rng=make_seed(
        "mala-init")), 1500, make_seed("mala-chain"))
    trace = np.asarray(out.trace if hasattr(out, "trace") else out[0])
    # False-failure rate 1e-6 as above, for the thinned draws (the thinning rule leaves a lag-1
    # autocorrelation the band is widened for).
    res = check_sampler(trace[:, 300:], mix)
    assert res.status == "pass", str(res)
    assert res.coefficients["thin"] > 1


def test_check_sampler_fails_a_biased_langevin_chain():
    # LANGEVIN-NOISE-STEP on N(0, 1) with eps = 0.1: x + eps s + eps z has stationary variance
    # eps^2 / (eps (2 - eps)) = 0.053 (sd ratio 0.23), far beyond the stated power: missed with
    # probability <= 1e-7.
    rng = make_rng("ula-bug")
    target = Gaussian(np.zeros(1), np.eye(1))
    x = np.zeros((4, 5000, 1))
    for t in range(1, 5000):
        x[:, t] = x[:, t - 1] - 0.1 * x[:, t - 1] + 0.1 * rng.standard_normal((4, 1))
    res = check_sampler(x[:, 200:], target)
    assert res.status == "fail", str(res)


def test_check_sampler_energy_with_bounds():
    # Rejection sampling from exp(-x^4 / 4) on [-4, 4] (independent draws); false-failure rate
    # 1e-6 as above plus the quadrature error added to the band.
    rng = make_rng("quartic-draws")
    u = rng.uniform(-4, 4, size=40_000)
    x = u[rng.uniform(size=u.size) < np.exp(-u**4 / 4)][:5000, None]
    energy = lambda x: 0.25 * np.sum(x**4, axis=1)  # noqa: E731
    res = check_sampler(x, energy, bounds=[(-4.0, 4.0)])
    assert res.status == "pass", str(res)
    assert check_sampler(2.0 * x, energy, bounds=[(-4.0, 4.0)]).status == "fail"
    # a plain NumPy energy (not differentiable by autograd) works as well: nothing needs a score
    plain_energy = lambda x: 0.25 * np.asarray(x, dtype=float)[:, 0] ** 4  # noqa: E731
    res = check_sampler(x, plain_energy, bounds=[(-4.0, 4.0)])
    assert res.status == "pass" and res.coefficients["tests"] == 1


def test_check_sampler_scalar_family():
    # False-failure rate 1e-6 (DKWM, Bonferroni over 2 tests) for the exact draws; Exp(1)
    # is 0.25 away from Exp(2) in Kolmogorov distance, over six times the band (0.04): missed
    # with probability <= 5e-7.
    x = make_rng("expon").exponential(0.5, size=(5000, 1))
    assert check_sampler(x, Exponential(2.0)).status == "pass"
    assert check_sampler(x, Exponential(1.0)).status == "fail"


def test_check_sampler_bad_input():
    x = TARGET.sample(100, rng=make_seed("bad"))
    with pytest.raises(ValueError, match="`samples` must have 2 coordinates"):
        check_sampler(x[:, :1], TARGET)
    with pytest.raises(ValueError, match="`bounds` must be given"):
        check_sampler(x, lambda y: np.sum(y**2, axis=1))
    with pytest.raises(ValueError, match="`bounds` must be finite"):
        check_sampler(x, lambda y: np.sum(y**2, axis=1), bounds=[(-np.inf, 1), (0, 1)])
    with pytest.raises(ValueError, match="`false_fail`"):
        check_sampler(x, TARGET, false_fail=0.0)
    with pytest.raises(ValueError, match="at least 20 draws"):
        check_sampler(x[:5], TARGET)
    with pytest.raises(ValueError, match="`n_joint` must be >= 2, got 1"):
        check_sampler(x, TARGET, n_joint=1)
    with pytest.raises(ValueError, match="`n_projections` must be >= 0, got -1"):
        check_sampler(x, TARGET, n_projections=-1)
    with pytest.raises(TypeError, match="`n_joint`"):
        check_sampler(x, TARGET, n_joint=2.5)


def test_bound_helpers_bad_input():
    from refebm.testing.statistical import mmd_threshold

    for fn in (dkwm_epsilon, mmd_threshold):
        with pytest.raises(ValueError, match="`n` must be >= 1, got 0"):
            fn(0, 0.1)
        with pytest.raises(ValueError, match="`alpha` must be > 0.0, got 0.0"):
            fn(10, 0.0)
        with pytest.raises(ValueError, match="`alpha` must be < 1.0, got 1.5"):
            fn(10, 1.5)
    with pytest.raises(ValueError, match="`kappa` must be <= 1.0, got 2.0"):
        mmd_threshold(10, 0.1, 2.0)
    with pytest.raises(ValueError, match="`kappa`"):
        mmd_threshold(10, 0.1, float("nan"))


def test_quadrature_cdfs_equal_the_closed_form():
    """Two ways to the marginal CDFs: Gauss-Legendre quadrature of exp(-E) on a box (energy
    target) and the normal CDF (family target): the coordinates' KS statistics agree."""
    x = TARGET.sample(3000, rng=make_seed("cdf-two-ways"))
    energy = lambda y: TARGET.energy(y)  # noqa: E731 - an energy, not the family
    bounds = [(1.0 - 12.0, 1.0 + 12.0), (-1.0 - 17.0, -1.0 + 17.0)]
    by_quadrature = check_sampler(x, energy, bounds=bounds, n_projections=0)
    closed = check_sampler(x, TARGET, n_projections=0)
    np.testing.assert_allclose(by_quadrature.got[:2], closed.got[:2], rtol=0, atol=1e-9)
    assert by_quadrature.coefficients["tests"] == 3        # two coordinates and the joint test
    # the kernel distance: target terms by quadrature and in closed form
    np.testing.assert_allclose(by_quadrature.got[2], closed.got[2], rtol=1e-8)


@pytest.mark.parametrize("d", [2, 3])
def test_projection_cdfs_of_an_energy_equal_the_closed_form(d):
    """Two ways to the projections' CDFs: quadrature on the box's sections (energy target) and
    the normal CDF of u^T x (family target), on the same directions (rng=0): the KS statistics
    agree within the stated quadrature error, and the energy target runs the same m tests."""
    cov = np.array([[1.0, 0.5, -0.2], [0.5, 2.0, 0.3], [-0.2, 0.3, 1.5]])[:d, :d]
    target = Gaussian(np.zeros(d), cov)
    x = target.sample(2000, rng=make_seed("projections", d))
    bounds = [(-7.0 * math.sqrt(c), 7.0 * math.sqrt(c)) for c in np.diag(cov)]
    by_quadrature = check_sampler(x, lambda y: target.energy(y), bounds=bounds,
                                  n_projections=4)
    closed = check_sampler(x, target, n_projections=4)
    assert by_quadrature.coefficients["tests"] == closed.coefficients["tests"] == d + 5
    extra = by_quadrature.expected - closed.expected      # the quadrature errors, >= 0
    assert np.all(extra >= 0)
    assert np.all(np.abs(by_quadrature.got[:-1] - closed.got[:-1]) <= extra[:-1] + 1e-12)
    assert by_quadrature.status == closed.status == "pass"


def test_kernel_terms_two_ways():
    """E_P k(x, Y) and E_P k(Y, Y') of a Gaussian mixture in closed form (the convolution of
    normals) against the quadrature rule of the energy on a wide box, in 1, 2 and 3 dimensions
    (1e-13 apart in 1-D and 2-D, within the rule's error estimate in 3-D); and against a direct
    Gauss-Hermite sum in 1-D."""
    from refebm.testing.statistical import _law

    rng = make_rng("kernel-terms")
    for d, half in ((1, 14.0), (2, 14.0), (3, 12.0)):
        a = rng.standard_normal((d, d))
        cov = a @ a.T / d + 0.5 * np.eye(d)
        means = rng.standard_normal((2, d))
        mix = GaussianMixture([0.35, 0.65], means, np.stack([cov, 0.7 * cov]))
        sd = np.sqrt(np.diag(cov)) * 1.5
        bounds = [(float(means[:, i].min() - half * sd[i]), float(means[:, i].max()
                                                                  + half * sd[i]))
                  for i in range(d)]
        closed, grid = _law(mix, None), _law(lambda y: mix.energy(y), bounds)
        lam = np.diag(cov) * rng.uniform(0.5, 2.0, size=d)
        pts = mix.sample(40, rng=make_seed("kernel-terms", d))
        # within the rule's stated error (what check_sampler adds to the threshold)
        np.testing.assert_allclose(grid.embedding(pts, lam), closed.embedding(pts, lam),
                                   rtol=0, atol=grid.error + 1e-13)
        assert grid.kappa(lam) == pytest.approx(closed.kappa(lam), abs=grid.error + 1e-13)
    # 1-D N(m, c) by Gauss-Hermite: E k(x, Y) = sum_j w_j exp(-(x - m - sqrt(2c) t_j)^2 / 2lam)
    t, w = np.polynomial.hermite.hermgauss(80)
    g = Gaussian(np.array([0.3]), np.array([[0.8]]))
    x = np.array([[-1.0], [0.5], [2.0]])
    direct = [np.sum(w * np.exp(-(xi - 0.3 - np.sqrt(1.6) * t) ** 2 / 2.6)) / np.sqrt(np.pi)
              for xi in x[:, 0]]
    np.testing.assert_allclose(_law(g, None).embedding(x, np.array([1.3])), direct, rtol=1e-13)


def test_mmd_threshold_formula_and_false_failure_rate():
    from refebm.testing.statistical import mmd_threshold

    assert mmd_threshold(400, 1e-3, 0.25) == pytest.approx(
        math.sqrt(0.75 / 400) + math.sqrt(math.log(1e3) / 400), rel=1e-15)
    # The bound is distribution-free, so at false_fail = 0.3 a correct sampler fails at most 30%
    # of the time: over 60 independent runs the failures exceed 37 (Binomial(60, 0.3) tail)
    # with probability < 1e-6.
    fails = sum(check_sampler(TARGET.sample(300, rng=make_seed("rate", i)), TARGET,
                              false_fail=0.3, n_projections=2).status == "fail"
                for i in range(60))
    from scipy.stats import binom

    assert binom.sf(37, 60, 0.3) < 1e-6
    assert fails <= 37


def test_check_sampler_joint_test_sees_a_wrong_correlation():
    # The marginals are right (each column is a draw from its marginal) but the coordinates are
    # independent: only the joint law is wrong. The kernel distance of the product of marginals
    # from the target (closed form) exceeds the stated detectable distance, so the joint test
    # fails with probability >= 1 - 1e-6 / 3 (projections off: m = 3 tests).
    from refebm.testing.statistical import _gauss_cross

    target = Gaussian(np.array([1.0, -1.0]), np.array([[1.0, 1.2], [1.2, 2.0]]))  # corr 0.85
    x = target.sample(10_000, rng=make_seed("wrong-correlation"))
    x[:, 1] = make_rng("shuffle").permutation(x[:, 1])
    res = check_sampler(x, target, n_projections=0)
    mu, cov = np.asarray(target.mean)[None], np.asarray(target.cov)[None]
    prod = np.diag(np.diag(cov[0]))[None]
    lam = np.diag(cov[0])
    one = np.ones(1)
    mmd2 = (_gauss_cross(one, mu, cov, one, mu, cov, lam)
            + _gauss_cross(one, mu, prod, one, mu, prod, lam)
            - 2 * _gauss_cross(one, mu, cov, one, mu, prod, lam))
    assert math.sqrt(mmd2) > res.coefficients["detectable_mmd"]
    assert res.status == "fail" and res.got[2] > res.expected[2], str(res)
    assert res.got[0] < res.expected[0] and res.got[1] < res.expected[1]


def test_check_sampler_projection_rule_that_falls_short_widens_its_band_and_says_so():
    # A strongly correlated 3-D Gaussian on a box 12 sd wide: the sections' rule runs out of
    # evaluations before 1e-4. That projection's band is widened by the rule's (large) error,
    # the note says so, and exact draws still pass (false-failure rate 1e-6 as above, the band
    # only wider).
    cov = np.array([[1.0, 0.95, 0.9], [0.95, 1.0, 0.95], [0.9, 0.95, 1.0]])
    target = Gaussian(np.zeros(3), cov)
    x = target.sample(2000, rng=make_seed("short-rule"))
    res = check_sampler(x, lambda y: target.energy(y), bounds=[(-12.0, 12.0)] * 3,
                        n_projections=1)
    assert res.status == "pass", str(res)
    eps = res.coefficients["epsilon"]
    assert res.expected[3] - eps > 1e-4                       # the projection's own error
    assert any(n.startswith("projection on") and "above `tol`" in n for n in res.notes)
