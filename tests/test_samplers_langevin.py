"""Tests of refebm.samplers.langevin: MALA's ratio in closed form, ULA's known bias, invariance,
annealed Langevin on a two-mode mixture, determinism, bad input.

Bounds used (false-failure probability <= 1e-6 per assertion, stated at each test):
- DKWM: P(sup |F_N - F| > eps) <= 2 exp(-2 N eps^2) for N iid draws (Massart 1990).
- Gaussian sample mean: N (xbar - m)^T C^{-1} (xbar - m) ~ chi-square(d) exactly.
- Gaussian sample variance along a fixed direction v: (N - 1) v^T S v / v^T C v ~ chi-square(N - 1).
- Hoeffding for a binomial fraction: P(|phat - p| >= t) <= 2 exp(-2 N t^2).
"""

import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from scipy import stats
from scipy.signal import fftconvolve

from refebm.samplers import (DivergenceWarning, LangevinInfo, LangevinState, ULAState,
                             annealed_langevin, annealed_langevin_from_noise,
                             decoupled_langevin_step, energy_and_score, mala_init, mala_kernel,
                             mala_log_acceptance, mala_step, sample, ula_init, ula_kernel,
                             ula_step)
from refebm.samplers.conventions import ula_stationary_gaussian

from seeding import make_rng, make_seed

FALSE_FAILURE = 1e-6
N_CHAINS = 20000
DKWM_EPS = np.sqrt(np.log(2.0 / FALSE_FAILURE) / (2 * N_CHAINS))

MU = np.array([1.0, -2.0])
COV = np.array([[2.0, 0.8], [0.8, 1.0]])
PREC = np.linalg.inv(COV)


def gauss_energy(x):
    r = x - MU
    return 0.5 * anp.sum((r @ PREC) * r, axis=-1)


def gauss_score(x):
    return (MU - x) @ PREC


GAMMA_SHAPE, GAMMA_RATE = 3.0, 2.0


def gamma_energy(x):
    x1 = x[:, 0]
    inside = x1 > 0
    safe = anp.where(inside, x1, 1.0)
    return anp.where(inside, -(GAMMA_SHAPE - 1.0) * anp.log(safe) + GAMMA_RATE * safe, anp.inf)


def gamma_cdf(t):
    return stats.gamma(GAMMA_SHAPE, scale=1.0 / GAMMA_RATE).cdf(t)


# -- MALA's acceptance ratio in closed form ---------------------------------------------------

def mala_log_ratio_closed_form(x, x_new, mean, sd, eps):
    """Hand derivation for p = N(mean, diag(sd^2)), CS236 proposal with step eps.

    With u = x - mean, u' = x' - mean and c = 1 - eps / s^2 per coordinate, the forward residual
    is x' - x - eps s(x) = u' - c u and the backward one u - c u'. Then
    log r = (u^2 - u'^2) / (2 s^2) + ((u' - c u)^2 - (u - c u')^2) / (4 eps)
          = (u^2 - u'^2) [1 / (2 s^2) - (1 - c^2) / (4 eps)]
          = eps (u^2 - u'^2) / (4 s^4),
    using 1 - c^2 = (eps / s^2)(2 - eps / s^2); summed over coordinates.
    """
    u, u2 = x - mean, x_new - mean
    return np.sum(eps * (u**2 - u2**2) / (4.0 * sd**4), axis=-1)


def test_mala_log_acceptance_matches_hand_derived_closed_form():
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(0)
    mean, sd = np.array([0.5, -1.0, 2.0]), np.array([0.7, 1.3, 2.0])
    prec = 1.0 / sd**2

    def energy(x):
        return 0.5 * np.sum((x - mean) ** 2 * prec, axis=-1)

    def score(x):
        return (mean - x) * prec

    for eps in (0.01, 0.2, 0.9):
        x = mean + sd * rng.normal(size=(50, 3)) * 2
        z = rng.normal(size=(50, 3))
        x_new = x + eps * score(x) + np.sqrt(2 * eps) * z
        here = LangevinState(x, energy(x), score(x))
        there = LangevinState(x_new, energy(x_new), score(x_new))
        got = mala_log_acceptance(here, there, eps)
        want = mala_log_ratio_closed_form(x, x_new, mean, sd, eps)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        # and the step reports min(1, r) of the same ratio, from its own proposal
        state = mala_init(energy, x, score=score)
        _, info = mala_step(energy, state, z, np.full(50, 0.5), eps, score=score)
        np.testing.assert_array_equal(info.proposal, x_new)
        np.testing.assert_allclose(info.acceptance_rate, np.minimum(1.0, np.exp(want)),
                                   rtol=0, atol=1e-12)
        # the step's Info carries log r itself (fused arithmetic: equal up to rounding)
        np.testing.assert_allclose(info.log_acceptance_ratio, want, rtol=0, atol=1e-12)
        # the classic bug (scores of the two states swapped) differs from the closed form
        wrong = mala_log_acceptance(here._replace(score=score(x_new)),
                                    there._replace(score=score(x)), eps)
        assert np.max(np.abs(wrong - want)) > 1e-3


def test_mala_step_with_autograd_score_equals_analytic_score():
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(1)
    x = rng.normal(size=(7, 2))
    z, u = rng.normal(size=(7, 2)), rng.random(7)
    a = mala_step(gauss_energy, mala_init(gauss_energy, x), z, u, 0.3)
    b = mala_step(gauss_energy, mala_init(gauss_energy, x, score=gauss_score), z, u, 0.3,
                  score=gauss_score)
    for field in range(3):
        np.testing.assert_allclose(a[0][field], b[0][field], rtol=1e-10, atol=1e-12)
    e, s = energy_and_score(gauss_energy)(x)
    np.testing.assert_allclose(s, gauss_score(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(e, gauss_energy(x), rtol=1e-15)


class _CountingTarget:
    """A target object with energy, score and a joint energy_and_score that counts its calls."""

    def __init__(self):
        self.joint_calls = 0

    def energy(self, x):
        return gauss_energy(x)

    def score(self, x):
        return gauss_score(x)

    def energy_and_score(self, x):
        self.joint_calls += 1
        return gauss_energy(x), gauss_score(x)


def test_energy_and_score_prefers_a_bound_joint_method():
    # exact: the same arithmetic by three routes
    target = _CountingTarget()
    separate = energy_and_score(target.energy, score=target.score)   # an explicit score wins
    rng = make_rng(2)
    x, z, u = rng.normal(size=(9, 2)), rng.normal(size=(50, 9, 2)), rng.random((50, 9))
    s_joint = mala_init(target.energy, x)
    s_sep = mala_init(target.energy, x, score=target.score)
    s_auto = mala_init(gauss_energy, x)
    for t in range(50):
        s_joint, _ = mala_step(target.energy, s_joint, z[t], u[t], 0.3)
        s_sep, _ = mala_step(target.energy, s_sep, z[t], u[t], 0.3, score=target.score)
        s_auto, _ = mala_step(gauss_energy, s_auto, z[t], u[t], 0.3)
    assert target.joint_calls == 51        # init and one call per step, never energy + score
    for field in range(3):
        np.testing.assert_array_equal(s_joint[field], s_sep[field])
        np.testing.assert_allclose(s_joint[field], s_auto[field], rtol=1e-10, atol=1e-12)
    e, s = separate(x)
    np.testing.assert_array_equal(e, gauss_energy(x))
    assert target.joint_calls == 51
    energy_and_score(target.energy)(x)
    assert target.joint_calls == 52


class _BadJointTarget(_CountingTarget):
    def energy_and_score(self, x):
        return gauss_energy(x)


def test_energy_and_score_rejects_a_joint_method_that_returns_no_pair():
    target = _BadJointTarget()
    with pytest.raises(TypeError, match=r"`energy_and_score` method .* must return a pair"):
        mala_init(target.energy, np.zeros((3, 2)))


def ula_x(score, x, noise, step_size):
    """The positions after one ula_step from x (a fresh state)."""
    return ula_step(score, ula_init(score, x), noise, step_size)[0].x


def test_ula_step_formula():
    x = np.array([[1.0, 2.0]])
    z = np.array([[0.5, -1.0]])
    state, info = ula_step(gauss_score, ula_init(gauss_score, x), z, 0.1)
    want = x + 0.1 * gauss_score(x) + np.sqrt(0.2) * z
    np.testing.assert_allclose(state.x, want, rtol=1e-15)
    np.testing.assert_array_equal(state.score, gauss_score(state.x))    # carried to the next step
    np.testing.assert_array_equal(info.proposal, state.x)
    assert info.is_accepted.all() and not info.diverged.any()
    np.testing.assert_array_equal(info.log_acceptance_ratio, [0.0])
    d_state, _ = decoupled_langevin_step(gauss_score, ula_init(gauss_score, x), z, 0.1,
                                         np.sqrt(0.2))
    np.testing.assert_allclose(d_state.x, state.x, rtol=1e-15)
    # a second step from the returned state equals a step from a fresh state at its positions
    two, _ = ula_step(gauss_score, state, z, 0.1)
    np.testing.assert_array_equal(two.x, ula_x(gauss_score, state.x, z, 0.1))


# -- determinism and batch splits -------------------------------------------------------------

def test_steps_are_bit_identical_across_runs_and_batch_splits():
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(2)
    x = rng.normal(size=(10, 2))
    z, u = rng.normal(size=(10, 2)), rng.random(10)
    halves = (slice(0, 3), slice(3, 10))
    full = ula_x(gauss_score, x, z, 0.2)
    np.testing.assert_array_equal(full, ula_x(gauss_score, x, z, 0.2))
    np.testing.assert_array_equal(full, np.concatenate(
        [ula_x(gauss_score, x[s], z[s], 0.2) for s in halves]))
    for score in (None, gauss_score):
        m_full = mala_step(gauss_energy, mala_init(gauss_energy, x, score=score), z, u, 0.2,
                           score=score)
        m_parts = [mala_step(gauss_energy, mala_init(gauss_energy, x[s], score=score), z[s],
                             u[s], 0.2, score=score) for s in halves]
        for field in range(3):
            np.testing.assert_array_equal(m_full[0][field],
                                          np.concatenate([p[0][field] for p in m_parts]))

    def score_fn(x, sigma):
        return -x / (1.0 + sigma**2)

    noise = rng.normal(size=(3, 4, 10, 2))
    a_full = annealed_langevin_from_noise(score_fn, x, noise, [2.0, 1.0, 0.5], 0.1, denoise=True)
    a_parts = [annealed_langevin_from_noise(score_fn, x[s], noise[:, :, s], [2.0, 1.0, 0.5], 0.1,
                                            denoise=True) for s in halves]
    np.testing.assert_array_equal(a_full, np.concatenate(a_parts))


def test_kernels_equal_steps_fed_the_kernels_draws():
    x = np.zeros((5, 2))
    k = mala_kernel(gauss_energy, 0.4)
    got, _ = k(k.init(x), make_rng(9))
    rng = make_rng(9)
    z, u = rng.standard_normal((5, 2)), rng.random(5)
    want, _ = mala_step(gauss_energy, mala_init(gauss_energy, x), z, u, 0.4)
    np.testing.assert_array_equal(got.x, want.x)
    k = ula_kernel(None, 0.4, score=gauss_score)
    got, info = k(k.init(x), make_rng(9))
    np.testing.assert_array_equal(got.x, ula_x(gauss_score, x,
                                               make_rng(9).standard_normal((5, 2)), 0.4))
    assert info.is_accepted.all() and not k.exact


def test_annealed_langevin_rng_equals_core_with_the_same_draws():
    def score_fn(x, sigma):
        return -x / (1.0 + sigma**2)

    x0 = np.linspace(-1, 1, 8).reshape(4, 2)
    got = annealed_langevin(score_fn, x0, [3.0, 1.0, 0.3], 0.05, 6, rng=make_seed(4),
                            denoise=True)
    noise = make_rng(4).standard_normal((3, 6, 4, 2))
    want = annealed_langevin_from_noise(score_fn, x0, noise, [3.0, 1.0, 0.3], 0.05, denoise=True)
    np.testing.assert_array_equal(got, want)


def test_annealed_langevin_schedule_and_tweedie_step():
    # one level per sigma: alpha_i = eps sigma_i^2 / sigma_L^2; update x + alpha/2 s + sqrt(alpha) z
    seen = []

    def score_fn(x, sigma):
        seen.append(sigma)
        return -x / (1.0 + sigma**2)

    x0 = np.array([[1.0, -2.0]])
    noise = np.ones((2, 1, 1, 2))
    got = annealed_langevin_from_noise(score_fn, x0, noise, [2.0, 0.5], 0.1, denoise=True)
    x = x0
    for sigma in (2.0, 0.5):
        alpha = 0.1 * sigma**2 / 0.25
        x = x + 0.5 * alpha * (-x / (1 + sigma**2)) + np.sqrt(alpha) * 1.0
    x = x + 0.25 * (-x / 1.25)   # Tweedie: E[x0 | x] = x / (1 + sigma^2) for p = N(0, 1)
    np.testing.assert_allclose(got, x, rtol=1e-14)
    np.testing.assert_allclose(x, got / 1.0, rtol=1e-14)
    assert seen == [2.0, 0.5, 0.5]


# -- ULA: the known biased stationary law ------------------------------------------------------

def _chi2_two_sided(df, prob=FALSE_FAILURE):
    return stats.chi2.ppf(prob / 2, df), stats.chi2.isf(prob / 2, df)


def _check_gaussian_law(x, mean, cov):
    """Exact tests for N iid draws of N(mean, cov); each assertion false-failure <= 1e-6."""
    n, d = x.shape
    diff = x.mean(axis=0) - mean
    assert n * diff @ np.linalg.solve(cov, diff) <= stats.chi2.isf(FALSE_FAILURE, d)
    lo, hi = _chi2_two_sided(n - 1)
    s = np.cov(x, rowvar=False).reshape(d, d)
    directions = list(np.eye(d)) + list(np.linalg.eigh(cov)[1].T)
    for v in directions:
        ratio = (n - 1) * (v @ s @ v) / (v @ cov @ v)
        assert lo <= ratio <= hi


@pytest.mark.parametrize("d", [1, 2])
def test_ula_samples_its_biased_stationary_law_not_the_target(d):
    # start N chains from exact draws of ULA's stationary law N(mu, C) and take 10 steps: the
    # chain is a Gaussian AR(1), so the result is again N iid draws of N(mu, C) and the exact
    # chi-square tests of _check_gaussian_law apply (false-failure <= 1e-6 per assertion)
    mean = MU[:d]
    cov = COV[:d, :d]
    prec = np.linalg.inv(cov)
    eps = 0.3
    law = ula_stationary_gaussian(mean, cov, eps, np.sqrt(2 * eps))
    if d == 1:   # the 1-D closed form s^2 / (1 - eps / (2 s^2))
        np.testing.assert_allclose(law.cov[0, 0], cov[0, 0] / (1 - eps / (2 * cov[0, 0])),
                                   rtol=1e-12)
    rng = make_rng(40 + d)
    x0 = rng.multivariate_normal(mean, law.cov, size=N_CHAINS)
    res = sample(ula_kernel(None, eps, score=lambda x: (mean - x) @ prec), x0, 10, rng,
                 keep="last")
    _check_gaussian_law(res.trace[:, -1], mean, law.cov)
    # the bias is far outside what the test resolves: the target's variance along the first
    # eigenvector lies outside the chi-square interval centred on the biased law's
    lo, hi = _chi2_two_sided(N_CHAINS - 1)
    v = np.linalg.eigh(cov)[1][:, 0]
    assert (N_CHAINS - 1) * (v @ cov @ v) / (v @ law.cov @ v) < lo


@pytest.mark.parametrize("k_steps", [1, 10])
def test_mala_leaves_the_target_invariant_gaussian(k_steps):
    # exact target draws stay exact after k MALA steps: chi-square tests on the mean and the
    # variances (false-failure <= 1e-6 per assertion) and DKWM on the marginals (<= 1e-6 each)
    rng = make_rng(50 + k_steps)
    x0 = rng.multivariate_normal(MU, COV, size=N_CHAINS)
    res = sample(mala_kernel(gauss_energy, 0.5), x0, k_steps, rng, keep="last")
    assert 0.3 < res.acceptance_rate.mean() < 0.99   # it moves (not a statistical claim)
    _check_gaussian_law(res.trace[:, -1], MU, COV)
    for i in range(2):
        cdf = stats.norm(MU[i], np.sqrt(COV[i, i])).cdf
        assert stats.kstest(res.trace[:, -1, i], cdf).statistic <= DKWM_EPS


@pytest.mark.parametrize("k_steps", [1, 10])
def test_mala_leaves_gamma_invariant(k_steps):
    # asymmetric target; DKWM on N iid chains, false-failure <= 1e-6
    def score(x):
        safe = np.where(x > 0, x, 1.0)
        return np.where(x > 0, (GAMMA_SHAPE - 1.0) / safe - GAMMA_RATE, 0.0)

    rng = make_rng(60 + k_steps)
    x0 = rng.gamma(GAMMA_SHAPE, 1.0 / GAMMA_RATE, size=(N_CHAINS, 1))
    for s in (score, None):
        res = sample(mala_kernel(gamma_energy, 0.3, score=s), x0, k_steps, rng, keep="last")
        assert stats.kstest(res.trace[:, -1, 0], gamma_cdf).statistic <= DKWM_EPS


# -- annealed Langevin on a two-mode mixture ---------------------------------------------------

WEIGHTS = np.array([0.2, 0.8])
MEANS = np.array([-4.0, 4.0])
SD = 1.0
SIGMAS = np.geomspace(10.0, 0.5, 10)
EPS, T_EACH = 0.05, 100
BOX = (-8.0, 8.0)


def mixture_score(x, sigma):
    """Exact score of p_sigma = sum_k w_k N(m_k, SD^2 + sigma^2) for x of shape (n, 1).

    The responsibility of the first component is sigmoid(log w_0 N_0 - log w_1 N_1).
    """
    v = SD**2 + sigma**2
    logp = np.log(WEIGHTS) - 0.5 * (x - MEANS) ** 2 / v
    r0 = 0.5 * (1.0 + np.tanh(0.5 * (logp[:, :1] - logp[:, 1:])))
    return (r0 * (MEANS[0] - x) + (1.0 - r0) * (MEANS[1] - x)) / v


def exact_left_mass(sigmas, eps, t_each, dx=0.04, half_width=60.0):
    """P(x < 0) under the exact law of the annealed chain, propagated on a grid.

    Each step x' = x + (alpha/2) s(x) + sqrt(alpha) z pushes the mass at each grid point to
    x + (alpha/2) s(x) (shared linearly between the two nearest grid points) and convolves with
    N(0, alpha). Halving dx (0.04 -> 0.02 -> 0.01), or moving the grid, changes the result by
    less than 1.5e-3 (most of it from where the edges of the uniform start fall on the grid);
    the grid holds all but 1e-5 of the mass.
    """
    g = np.arange(-half_width, half_width + dx / 2, dx)
    n = len(g)
    p = ((g >= BOX[0]) & (g <= BOX[1])).astype(float)
    p /= p.sum()
    for sigma in sigmas:
        alpha = eps * sigma**2 / sigmas[-1] ** 2
        target = g + 0.5 * alpha * mixture_score(g[:, None], sigma)[:, 0]
        pos = (target - g[0]) / dx
        i0 = np.clip(np.floor(pos).astype(int), 0, n - 2)
        frac = np.clip(pos - i0, 0.0, 1.0)
        half = np.ceil(8 * np.sqrt(alpha) / dx)
        kx = np.arange(-half, half + 1) * dx
        kernel = np.exp(-0.5 * kx**2 / alpha)
        kernel /= kernel.sum()
        for _ in range(t_each):
            q = (np.bincount(i0, p * (1 - frac), minlength=n)
                 + np.bincount(i0 + 1, p * frac, minlength=n))
            p = fftconvolve(q, kernel, mode="same")
    assert abs(p.sum() - 1.0) < 1e-4
    return float(p[g < 0].sum())


def test_annealed_langevin_recovers_mode_weights_and_plain_langevin_does_not():
    # How the finite-step bias is accounted for: the exact law of the annealed chain (the
    # chain's own finite steps, not the target) is propagated on a grid; its mass left of 0 is
    # p_star. The schedule (10 levels from 10 to 0.5, 100 steps each, eps = 0.05) was chosen so
    # that |p_star - 0.2| <= 0.015 (it is 0.210), which is asserted. The fraction of N = 10000
    # independent chains left of 0 is then Binomial(N, p_star)/N: by Hoeffding,
    # |phat - p_star| <= t = sqrt(log(2 / 1e-6) / (2N)) = 0.027 fails with probability <= 1e-6;
    # the grid error (<= 2e-3) is added to t.
    n = 10000
    t = np.sqrt(np.log(2.0 / FALSE_FAILURE) / (2 * n)) + 2e-3
    p_star = exact_left_mass(SIGMAS, EPS, T_EACH)
    assert abs(p_star - WEIGHTS[0]) <= 0.015
    rng = make_rng(70)
    x0 = rng.uniform(*BOX, size=(n, 1))
    x = annealed_langevin(mixture_score, x0, SIGMAS, EPS, T_EACH, rng)
    phat = np.mean(x[:, 0] < 0)
    assert abs(phat - p_star) <= t
    # plain Langevin at the last level, same start and the same number of steps: the chains
    # stay in the mode they start in; its exact left mass is about 1/2, and the same Hoeffding
    # bound (false-failure <= 1e-6) puts the sample fraction far from the weight 0.2
    sigma_last = SIGMAS[-1:]
    p_plain = exact_left_mass(sigma_last, EPS, T_EACH * len(SIGMAS), half_width=20.0)
    assert p_plain > 0.45
    x_plain = annealed_langevin(mixture_score, x0, sigma_last, EPS, T_EACH * len(SIGMAS), rng)
    phat_plain = np.mean(x_plain[:, 0] < 0)
    assert abs(phat_plain - p_plain) <= t
    assert phat_plain - WEIGHTS[0] > 0.2


# -- bad input --------------------------------------------------------------------------------

def test_bad_input_ula_and_decoupled():
    x, z = np.zeros((3, 2)), np.zeros((3, 2))
    s = ula_init(gauss_score, x)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        ula_step(gauss_score, s, z, 0.0)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        ula_step(gauss_score, s, z, -1.0)
    with pytest.raises(ValueError, match="`step_size` must be finite"):
        ula_step(gauss_score, s, z, np.nan)
    with pytest.raises(ValueError, match="`noise` must have the shape"):
        ula_step(gauss_score, s, np.zeros((2, 2)), 0.1)
    with pytest.raises(ValueError, match="`noise` must be finite"):
        ula_step(gauss_score, s, np.full((3, 2), np.nan), 0.1)
    with pytest.raises(ValueError, match="`state.x` must be finite"):
        ula_step(gauss_score, ULAState(np.array([[np.nan, 0.0]]), np.zeros((1, 2))), z[:1], 0.1)
    with pytest.raises(ValueError, match="`state.score` must be finite"):
        ula_step(gauss_score, ULAState(x, np.full((3, 2), np.nan)), z, 0.1)
    with pytest.raises(ValueError, match="`state.score` must have shape"):
        ula_step(gauss_score, ULAState(x, np.zeros((3, 1))), z, 0.1)
    with pytest.raises(TypeError, match=r"`state` must be a state with fields \('x', 'score'\)"):
        ula_step(gauss_score, x, z, 0.1)
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        ula_init(gauss_score, np.zeros(2))
    with pytest.raises(ValueError, match=r"`score` must return shape \(3, 2\)"):
        ula_step(lambda x: x[:, :1], s, z, 0.1)
    with pytest.raises(TypeError, match="`score` must be callable"):
        ula_step(1.0, s, z, 0.1)
    with pytest.raises(ValueError, match="`score` must be finite at the starting points"):
        ula_init(lambda x: np.full(x.shape, np.nan), x)
    with pytest.raises(ValueError, match="`drift` must be > 0"):
        decoupled_langevin_step(gauss_score, s, z, 0.0, 0.1)
    with pytest.raises(ValueError, match="`noise_scale` must be >= 0"):
        decoupled_langevin_step(gauss_score, s, z, 0.1, -0.1)
    with pytest.raises(TypeError, match="`energy` must be callable"):
        energy_and_score(None)
    with pytest.raises(TypeError, match="`score` must be callable"):
        energy_and_score(gauss_energy, score=np.zeros(2))
    with pytest.raises(TypeError, match="give `energy` or `score`"):
        ula_kernel(None, 0.1)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        ula_kernel(gauss_energy, 0.0)
    with pytest.raises(ValueError, match=r"`score` must return shape"):
        ula_init(lambda x: np.zeros(3), x)


def test_bad_input_mala():
    x = np.zeros((3, 2))
    s = mala_init(gauss_energy, x)
    z, u = np.zeros((3, 2)), np.full(3, 0.5)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        mala_step(gauss_energy, s, z, u, 0.0)
    with pytest.raises(TypeError, match=r"`state` must be a state with fields \('x', 'energy', "
                                        r"'score'\) \(from mala_init\)"):
        mala_step(gauss_energy, x, z, u, 0.1)
    with pytest.raises(ValueError, match="`noise` must have the shape"):
        mala_step(gauss_energy, s, np.zeros((3, 1)), u, 0.1)
    with pytest.raises(ValueError, match=r"`uniform` must lie in \[0, 1\)"):
        mala_step(gauss_energy, s, z, np.full(3, -0.5), 0.1)
    with pytest.raises(ValueError, match="`state.score` must have shape"):
        mala_step(gauss_energy, LangevinState(x, np.zeros(3), np.zeros((3, 1))), z, u, 0.1)
    with pytest.raises(ValueError, match=r"`score` must return shape \(3, 2\)"):
        mala_step(gauss_energy, s, z, u, 0.1, score=lambda x: x[:, 0])
    with pytest.raises(ValueError, match=r"`score` must return shape \(3, 2\)"):
        mala_init(gauss_energy, x, score=lambda x: x.T)
    with pytest.raises(ValueError, match="`energy` returned inf"):
        mala_init(gamma_energy, -np.ones((3, 1)))
    with pytest.raises(ValueError, match="`x` must be finite"):
        mala_init(gauss_energy, np.full((3, 2), np.inf))
    with pytest.raises(TypeError, match="`energy` must be callable"):
        mala_kernel(3.0, 0.1)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        mala_kernel(gauss_energy, -0.1)


def test_bad_input_annealed():
    def score_fn(x, sigma):
        return -x

    x0 = np.zeros((3, 2))
    with pytest.raises(ValueError, match="`sigmas` must be strictly decreasing"):
        annealed_langevin(score_fn, x0, [0.1, 1.0], 0.1, 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`sigmas` must be strictly decreasing"):
        annealed_langevin(score_fn, x0, [1.0, 1.0], 0.1, 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`sigmas` must be > 0"):
        annealed_langevin(score_fn, x0, [1.0, -0.5], 0.1, 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`sigmas` must be finite"):
        annealed_langevin(score_fn, x0, [np.nan, 0.5], 0.1, 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`sigmas` must have 1 dimension"):
        annealed_langevin(score_fn, x0, [[1.0]], 0.1, 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`sigmas` must not be empty"):
        annealed_langevin(score_fn, x0, [], 0.1, 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        annealed_langevin(score_fn, x0, [1.0], 0.0, 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`n_steps_each` must be >= 1"):
        annealed_langevin(score_fn, x0, [1.0], 0.1, 0, rng=make_seed(0))
    with pytest.raises(TypeError, match="`n_steps_each` must be an integer"):
        annealed_langevin(score_fn, x0, [1.0], 0.1, 2.5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`x0` must be finite"):
        annealed_langevin(score_fn, np.full((3, 2), np.nan), [1.0], 0.1, 5, rng=make_seed(0))
    with pytest.raises(TypeError, match="`rng` must be"):
        annealed_langevin(score_fn, x0, [1.0], 0.1, 5, rng="seed")
    with pytest.raises(TypeError, match="`denoise` must be a bool"):
        annealed_langevin(score_fn, x0, [1.0], 0.1, 5, rng=make_seed(0), denoise="yes")
    with pytest.raises(TypeError, match="`score_fn` must be callable"):
        annealed_langevin(None, x0, [1.0], 0.1, 5, rng=make_seed(0))
    with pytest.raises(ValueError, match=r"`score_fn` must return shape \(3, 2\)"):
        annealed_langevin(lambda x, s: x[:, 0], x0, [1.0], 0.1, 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`noise` must have shape"):
        annealed_langevin_from_noise(score_fn, x0, np.zeros((1, 4, 3, 2)), [1.0, 0.5], 0.1)
    with pytest.raises(ValueError, match="`noise` must have 4 dimension"):
        annealed_langevin_from_noise(score_fn, x0, np.zeros((4, 3, 2)), [1.0], 0.1)


def test_bad_input_mala_log_acceptance():
    x = np.array([[1.0, 0.5], [0.0, -1.0]])
    here = LangevinState(x, gauss_energy(x), gauss_score(x))
    there = LangevinState(x + 0.1, gauss_energy(x + 0.1), gauss_score(x + 0.1))
    # a negative step would flip the sign of the proposal terms; 0 and NaN would give NaN
    for bad, rule in ((-0.3, "> 0"), (0.0, "> 0"), (np.nan, "finite"), (np.inf, "finite")):
        with pytest.raises(ValueError, match=f"`step_size` must be {rule}"):
            mala_log_acceptance(here, there, bad)
    with pytest.raises(TypeError, match="`step_size` must be a real number"):
        mala_log_acceptance(here, there, np.array([0.1, 0.2]))
    # a scalar energy would broadcast over the chains
    with pytest.raises(ValueError, match=r"`state.energy` must have shape \(2\)"):
        mala_log_acceptance(here._replace(energy=np.float64(1.0)), there, 0.1)
    with pytest.raises(ValueError, match=r"`proposal.energy` must have shape \(2\)"):
        mala_log_acceptance(here, there._replace(energy=np.zeros(3)), 0.1)
    with pytest.raises(ValueError, match=r"`proposal.x` must have the shape of `state.x`"):
        mala_log_acceptance(here, LangevinState(x[:1], there.energy[:1], there.score[:1]), 0.1)
    with pytest.raises(ValueError, match="`state.score` must have shape"):
        mala_log_acceptance(here._replace(score=x[:, :1]), there, 0.1)
    with pytest.raises(ValueError, match="`state.x` must be finite"):
        mala_log_acceptance(here._replace(x=np.full((2, 2), np.nan)), there, 0.1)
    with pytest.raises(ValueError, match="`state.energy` returned NaN"):
        mala_log_acceptance(here._replace(energy=np.array([np.nan, 0.0])), there, 0.1)
    with pytest.raises(TypeError, match="`proposal` must be a state with fields"):
        mala_log_acceptance(here, x, 0.1)
    # a NaN or +inf energy at the proposal is allowed: it is a NaN or -inf ratio, a rejection
    out = mala_log_acceptance(here, there._replace(energy=np.array([np.nan, np.inf])), 0.1)
    assert np.isnan(out[0]) and out[1] == -np.inf


def test_energy_and_score_checks_what_it_returns():
    f = energy_and_score(gauss_energy, score=lambda x: np.where(x > 5, np.nan, gauss_score(x)))
    with pytest.raises(ValueError, match="`score` returned NaN or inf at 1 of 2 points"):
        f(np.array([[0.0, 0.0], [6.0, 0.0]]))
    with pytest.raises(ValueError, match="`energy` returned NaN at 1 of 2 points"):
        energy_and_score(lambda x: np.array([0.0, np.nan]), score=gauss_score)(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"`energy` must return shape \(2,\)"):
        energy_and_score(lambda x: np.zeros(()), score=gauss_score)(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"`score` must return shape \(2, 2\)"):
        energy_and_score(gauss_energy, score=lambda x: x[:, :1])(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`x` must be finite"):
        energy_and_score(gauss_energy)(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        energy_and_score(gauss_energy)(np.zeros(2))
    # +inf energy (outside the support) with any score there is accepted
    e, _ = energy_and_score(gamma_energy, score=lambda x: np.where(x > 0, 1.0, np.nan))(
        np.array([[-1.0], [1.0]]))
    assert e[0] == np.inf and np.isfinite(e[1])


def test_ula_divergence_is_flagged_and_warned():
    # Not a statistical claim: with step 50 on N(0, 1), x <- -49 x + 10 z grows by a factor 49
    # per step whatever the draws (it stays finite only on a set of noise of probability 0) and
    # overflows within 200 steps; with step 0.1 it contracts (|1 - 0.1| < 1) and cannot
    # overflow in 20 steps; MALA rejects NaN ratios by construction.
    # a NaN score at the new point: the chain cannot continue; it is flagged, never silent
    def score(x):
        return np.where(np.abs(x) > 2.0, np.nan, -x)

    x = np.array([[0.0], [0.5]])
    with pytest.warns(DivergenceWarning, match="ula_step diverged in 1 of 2 chains"):
        s, info = ula_step(score, ula_init(score, x), np.array([[5.0], [0.0]]), 0.5)
    np.testing.assert_array_equal(info.diverged, [True, False])
    assert isinstance(info, LangevinInfo)
    with pytest.warns(DivergenceWarning, match="decoupled_langevin_step diverged in 1 of 2"):
        decoupled_langevin_step(score, ula_init(score, x), np.array([[5.0], [0.0]]), 0.5, 1.0)
    # a divergent step size (50 on N(0, 1): x <- -24 x + 10 z) overflows; sample reports it
    k = ula_kernel(None, 50.0, score=lambda x: -x)
    with pytest.warns(DivergenceWarning, match="chains diverged"), \
            pytest.warns(DivergenceWarning, match="ula_kernel diverged in 3 of 3 chains"), \
            np.errstate(over="ignore", invalid="ignore"):
        res = sample(k, np.ones((3, 1)), 400, rng=make_seed(21), keep="last")
    assert res.diverged.all() and res.diverged.shape == (3,)
    # a stable run reports no divergence and no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        ok = sample(ula_kernel(None, 0.1, score=lambda x: -x), np.ones((3, 1)), 20,
                    rng=make_seed(22))
    assert ok.diverged.tolist() == [False, False, False]
    # MALA rejects such proposals: its chains stay finite and are never flagged
    m = sample(mala_kernel(lambda x: 0.5 * np.sum(x**2, axis=-1), 50.0), np.ones((3, 1)), 50,
               rng=make_seed(23))
    assert not m.diverged.any() and np.all(np.isfinite(m.trace))


def test_annealed_langevin_raises_on_divergence_and_nan_scores():
    x0 = np.ones((4, 1))
    with pytest.raises(ValueError, match=r"annealed Langevin diverged at level 1 of 1.*"
                                         r"`step_size` 50.0 is too large"), \
            np.errstate(over="ignore"):
        annealed_langevin(lambda x, s: -x, x0, [1.0], 50.0, 1000, rng=make_seed(24))
    with pytest.raises(ValueError, match=r"`score_fn` returned NaN or inf at 4 of 4 finite "
                                         r"points \(level 2 of 2, step 1"):
        annealed_langevin(lambda x, s: -x if s > 0.5 else np.full(x.shape, np.nan), x0,
                          [1.0, 0.1], 0.1, 3, rng=make_seed(25))
    with pytest.raises(ValueError, match=r"`score_fn` returned NaN or inf .*the Tweedie step"):
        annealed_langevin_from_noise(_nan_after_first_call(), x0, np.zeros((1, 1, 4, 1)), [1.0],
                                     0.1, denoise=True)


def _nan_after_first_call():
    calls = []

    def score_fn(x, sigma):
        calls.append(sigma)
        return -x if len(calls) == 1 else np.full(x.shape, np.nan)

    return score_fn


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_rule_langevin(dtype):
    # float32 chains give float32 states, infos, traces and noise; float64 stays float64
    x = np.linspace(-1, 1, 8).reshape(4, 2).astype(dtype)
    z, u = np.full((4, 2), 0.3, dtype), np.full(4, 0.5, dtype)
    s = ula_init(gauss_score, x)
    assert s.x.dtype == dtype and s.score.dtype == dtype
    s, info = ula_step(gauss_score, s, z, 0.1)
    assert s.x.dtype == dtype and s.score.dtype == dtype and info.proposal.dtype == dtype
    m = mala_init(gauss_energy, x)
    assert m.energy.dtype == dtype and m.score.dtype == dtype
    m, info = mala_step(gauss_energy, m, z, u, 0.1)
    assert {m.x.dtype, m.energy.dtype, m.score.dtype, info.log_acceptance_ratio.dtype,
            info.acceptance_rate.dtype} == {np.dtype(dtype)}
    for kernel in (mala_kernel(gauss_energy, 0.1), ula_kernel(gauss_energy, 0.1)):
        res = sample(kernel, x, 3, rng=make_seed(26))
        assert res.trace.dtype == dtype and res.state.x.dtype == dtype
        assert res.state.score.dtype == dtype
    out = annealed_langevin(lambda y, sg: -y, x, [1.0, 0.5], 0.1, 2, rng=make_seed(27))
    assert out.dtype == dtype
    out = annealed_langevin_from_noise(lambda y, sg: -y, x, np.zeros((2, 2, 4, 2), dtype),
                                       [1.0, 0.5], 0.1)
    assert out.dtype == dtype
    e, sc = energy_and_score(gauss_energy)(x)
    assert e.dtype == dtype and sc.dtype == dtype
    here = LangevinState(x, gauss_energy(x).astype(dtype), gauss_score(x).astype(dtype))
    assert mala_log_acceptance(here, here, 0.1).dtype == dtype
    d, _ = decoupled_langevin_step(gauss_score, ula_init(gauss_score, x), z, 0.1, 0.2)
    assert d.x.dtype == dtype and d.score.dtype == dtype
    # mixed: one float64 array among the arguments makes the call float64
    x32 = x.astype(np.float32)
    s, _ = ula_step(gauss_score, ula_init(gauss_score, x32), np.full((4, 2), 0.3), 0.1)
    assert s.x.dtype == s.score.dtype == np.float64
    m, info = mala_step(gauss_energy, mala_init(gauss_energy, x32), z.astype(np.float32),
                        u.astype(np.float32), np.float64(0.1))
    assert m.x.dtype == info.log_acceptance_ratio.dtype == np.float64
    out = annealed_langevin(lambda y, sg: -y, x32, np.array([1.0, 0.5]), 0.1, 2,
                            rng=make_seed(29))
    assert out.dtype == np.float64
    out = annealed_langevin(lambda y, sg: -y, x32, [1.0, 0.5], 0.1, 2, rng=make_seed(29))
    assert out.dtype == np.float32                    # Python numbers do not set the dtype


def test_float32_mala_agrees_with_float64_to_float32_rounding():
    # the same chains in both dtypes: one step agrees to float32 resolution (a first-order
    # bound: |dx| <= a few ulps of float32 times the size of the terms)
    rng = make_rng(28)
    x = rng.normal(size=(50, 2))
    z, u = rng.normal(size=(50, 2)), rng.random(50)
    s64, i64 = mala_step(gauss_energy, mala_init(gauss_energy, x), z, u, 0.2)
    s32, i32 = mala_step(gauss_energy, mala_init(gauss_energy, x.astype(np.float32)), z, u, 0.2)
    np.testing.assert_allclose(i32.proposal, i64.proposal, rtol=0, atol=1e-5)
    np.testing.assert_allclose(i32.log_acceptance_ratio, i64.log_acceptance_ratio, rtol=0,
                               atol=1e-4)
