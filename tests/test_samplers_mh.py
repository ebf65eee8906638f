"""Tests of refebm.samplers.mh: exact transition matrices, invariance, determinism, bad input.

Statistical tests here use the DKWM inequality: for N iid draws from a continuous F,
P(sup_x |F_N(x) - F(x)) > eps) <= 2 exp(-2 N eps^2) (Massart 1990). With eps chosen as
sqrt(log(2 / 1e-6) / (2N)) each assertion has false-failure probability <= 1e-6.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from refebm.samplers import (MHInfo, MHState, accept, log_acceptance_to_probability,
                             mh_general_kernel, mh_general_step, mh_init, mh_kernel, mh_step,
                             sample)

from seeding import make_rng, make_seed

FALSE_FAILURE = 1e-6
N_CHAINS = 20000
DKWM_EPS = np.sqrt(np.log(2.0 / FALSE_FAILURE) / (2 * N_CHAINS))


# -- targets written out by hand (independent of refebm.families) ---------------------------

GAMMA_SHAPE, GAMMA_RATE = 2.5, 1.5


def gamma_energy(x):
    """Gamma(2.5, rate 1.5) on x > 0: E = -(k - 1) log x + rate x; +inf outside the support."""
    x1 = x[:, 0]
    inside = x1 > 0
    safe = anp.where(inside, x1, 1.0)
    return anp.where(inside, -(GAMMA_SHAPE - 1.0) * anp.log(safe) + GAMMA_RATE * safe, anp.inf)


def gamma_cdf(t):
    return stats.gamma(GAMMA_SHAPE, scale=1.0 / GAMMA_RATE).cdf(t)


MU = np.array([1.0, -2.0])
COV = np.array([[2.0, 0.8], [0.8, 1.0]])
PREC = np.linalg.inv(COV)


def gauss_energy(x):
    r = x - MU
    return 0.5 * anp.sum((r @ PREC) * r, axis=-1)


def gauss_marginal_cdfs():
    return [stats.norm(MU[i], np.sqrt(COV[i, i])).cdf for i in range(2)]


def ks_distance(sample_1d, cdf):
    return stats.kstest(sample_1d, cdf).statistic


# -- the exact transition matrix on a finite grid -------------------------------------------

def grid_energy_fn(values):
    """An energy on the grid {0, 1, ..., K-1} of the line (+inf off the grid)."""
    values = np.asarray(values, dtype=float)
    K = len(values)

    def energy(x):
        k = np.rint(x[:, 0]).astype(int)
        on = (k >= 0) & (k < K) & (np.abs(x[:, 0] - k) < 1e-9)
        return np.where(on, values[np.clip(k, 0, K - 1)], np.inf)

    return energy


def rw_transition_matrix(values):
    """P[i, j] built from mh_step's own acceptance probabilities for the proposals i -> i +- 1.

    The proposal noise is +1 or -1 with probability 1/2 each (a symmetric discrete proposal);
    the step reports min(1, r) in info.acceptance_rate, and its accept decision is checked
    against that probability with crafted uniforms just below and just above it.
    """
    K = len(values)
    energy = grid_energy_fn(values)
    x = np.arange(K, dtype=float)[:, None]
    P = np.zeros((K, K))
    for direction in (-1.0, 1.0):
        state = mh_init(energy, x)
        noise = np.full((K, 1), direction)
        _, info = mh_step(energy, state, noise, np.full(K, 0.5), step_size=1.0)
        alpha = info.acceptance_rate
        below = np.clip(alpha * (1 - 1e-9), 0.0, 1.0 - 1e-16)
        s_below, i_below = mh_step(energy, state, noise, below, 1.0)
        for i in range(K):
            if alpha[i] > 0:
                assert i_below.is_accepted[i] and s_below.x[i, 0] == i + direction
        above = np.minimum(alpha * (1 + 1e-9) + 1e-300, 1.0 - 1e-16)
        _, i_above = mh_step(energy, state, noise, above, 1.0)
        assert not np.any(i_above.is_accepted[alpha < 1 - 1e-8])
        for i in range(K):
            j = i + int(direction)
            if 0 <= j < K:
                P[i, j] += 0.5 * alpha[i]
    P[np.arange(K), np.arange(K)] = 1.0 - P.sum(axis=1)
    return P


def boltzmann(values):
    p = np.exp(-(values - np.min(values)))
    return p / p.sum()


def test_random_walk_transition_matrix_is_exactly_stationary():
    values = np.array([0.3, 2.0, -1.0, 0.5, 4.0, 0.0, -0.7, 1.1])
    P = rw_transition_matrix(values)
    pi = boltzmann(values)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert np.max(np.abs(pi @ P - pi)) <= 1e-12
    flow = pi[:, None] * P
    np.testing.assert_allclose(flow, flow.T, rtol=0, atol=1e-13)  # detailed balance


@given(st.lists(st.floats(-5, 5, allow_nan=False, allow_subnormal=False), min_size=5,
                max_size=10))
def test_random_walk_stationary_for_any_energy(values):
    values = np.array(values)
    P = rw_transition_matrix(values)
    pi = boltzmann(values)
    assert np.max(np.abs(pi @ P - pi)) <= 1e-12
    flow = pi[:, None] * P
    assert np.max(np.abs(flow - flow.T)) <= 1e-13


def test_hastings_correction_with_an_asymmetric_proposal_is_exactly_stationary():
    # proposal: +1 with probability 0.7, -1 with probability 0.3 (noise = +1 / -1 selects)
    values = np.array([1.0, -0.5, 0.2, 2.5, 0.0, -1.5, 0.7])
    K = len(values)
    energy = grid_energy_fn(values)

    def propose(x, noise):
        return x + np.sign(noise)

    def log_q(to, frm):
        step = np.rint(to[:, 0] - frm[:, 0])
        return np.where(step > 0, np.log(0.7), np.log(0.3))

    x = np.arange(K, dtype=float)[:, None]
    P = np.zeros((K, K))
    for direction, prob in ((1.0, 0.7), (-1.0, 0.3)):
        state = mh_init(energy, x)
        _, info = mh_general_step(energy, propose, log_q, state, np.full((K, 1), direction),
                                  np.full(K, 0.5))
        for i in range(K):
            j = i + int(direction)
            if 0 <= j < K:
                P[i, j] += prob * info.acceptance_rate[i]
    P[np.arange(K), np.arange(K)] = 1.0 - P.sum(axis=1)
    pi = boltzmann(values)
    assert np.max(np.abs(pi @ P - pi)) <= 1e-12
    flow = pi[:, None] * P
    assert np.max(np.abs(flow - flow.T)) <= 1e-13
    # without the Hastings terms the same proposal would not be stationary
    P_wrong = np.zeros((K, K))
    for direction, prob in ((1.0, 0.7), (-1.0, 0.3)):
        for i in range(K):
            j = i + int(direction)
            if 0 <= j < K:
                P_wrong[i, j] = prob * min(1.0, np.exp(values[i] - values[j]))
    P_wrong[np.arange(K), np.arange(K)] = 1.0 - P_wrong.sum(axis=1)
    assert np.max(np.abs(pi @ P_wrong - pi)) > 1e-3


# -- the acceptance rule ---------------------------------------------------------------------

def test_acceptance_probability_and_decision():
    log_r = np.array([0.5, np.log(0.25), np.nan, -np.inf, np.inf, -1e4])
    np.testing.assert_array_equal(log_acceptance_to_probability(log_r),
                                  [1.0, 0.25, 0.0, 0.0, 1.0, 0.0])
    u = np.array([0.9, 0.2499, 0.0, 0.0, 0.999, 0.0])
    # u = 0 gives log u = -inf: everything but NaN and -inf is accepted
    np.testing.assert_array_equal(accept(log_r, u), [True, True, False, False, True, True])
    assert not accept(np.array([np.log(0.25)]), np.array([0.2501]))[0]


def test_nan_energy_at_the_proposal_is_a_rejection():
    def energy(x):
        return np.where(x[:, 0] > 1.0, np.nan, 0.5 * x[:, 0] ** 2)

    state = mh_init(energy, np.zeros((3, 1)))
    new, info = mh_step(energy, state, np.array([[2.0], [0.5], [3.0]]), np.zeros(3), 1.0)
    np.testing.assert_array_equal(info.is_accepted, [False, True, False])
    np.testing.assert_array_equal(info.acceptance_rate[[0, 2]], [0.0, 0.0])
    np.testing.assert_array_equal(new.x[:, 0], [0.0, 0.5, 0.0])
    assert np.all(np.isfinite(new.energy))


def test_large_energies_do_not_overflow():
    # shifting E by 1e4 changes no acceptance probability (Z cancels; differences only)
    x = np.linspace(-2, 2, 9)[:, None]
    noise = np.linspace(1.5, -1.5, 9)[:, None]

    def energy(x):
        return 0.5 * np.sum(x**2, axis=-1)

    def shifted(x):
        return energy(x) + 1e4

    _, a = mh_step(energy, mh_init(energy, x), noise, np.full(9, 0.5), 0.7)
    _, b = mh_step(shifted, mh_init(shifted, x), noise, np.full(9, 0.5), 0.7)
    np.testing.assert_allclose(a.acceptance_rate, b.acceptance_rate, rtol=0, atol=1e-10)
    _, c = mh_step(energy, mh_init(energy, x * 100), noise * 100, np.full(9, 0.5), 1.0)
    assert np.all(np.isfinite(c.acceptance_rate))


def test_a_move_downhill_is_always_accepted_and_state_carries_energy():
    state = mh_init(gauss_energy, np.array([[3.0, 0.0]]))
    # the proposal is the mode MU = (1, -2)
    new, info = mh_step(gauss_energy, state, np.array([[-2.0, -2.0]]), np.array([0.999999]), 1.0)
    assert info.is_accepted[0] and info.acceptance_rate[0] == 1.0
    np.testing.assert_array_equal(new.x, [[1.0, -2.0]])
    np.testing.assert_allclose(new.energy, gauss_energy(new.x), rtol=1e-15)
    np.testing.assert_array_equal(info.proposal, [[1.0, -2.0]])


# -- determinism and batch splits -------------------------------------------------------------

def test_steps_are_bit_identical_across_runs_and_batch_splits():
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(11)
    x = rng.normal(size=(10, 2))
    z = rng.normal(size=(10, 2))
    u = rng.random(10)
    full = mh_step(gauss_energy, mh_init(gauss_energy, x), z, u, 0.8)
    again = mh_step(gauss_energy, mh_init(gauss_energy, x), z, u, 0.8)
    parts = [mh_step(gauss_energy, mh_init(gauss_energy, x[s]), z[s], u[s], 0.8)
             for s in (slice(0, 3), slice(3, 10))]
    for field in range(2):
        np.testing.assert_array_equal(full[0][field], again[0][field])
        np.testing.assert_array_equal(full[0][field],
                                      np.concatenate([p[0][field] for p in parts]))
    np.testing.assert_array_equal(full[1].is_accepted,
                                  np.concatenate([p[1].is_accepted for p in parts]))

    def propose(x, noise):
        return 0.5 * x + noise

    def log_q(to, frm):
        return -0.5 * np.sum((to - 0.5 * frm) ** 2, axis=-1)

    g_full = mh_general_step(gauss_energy, propose, log_q, mh_init(gauss_energy, x), z, u)
    g_parts = [mh_general_step(gauss_energy, propose, log_q, mh_init(gauss_energy, x[s]), z[s],
                               u[s]) for s in (slice(0, 3), slice(3, 10))]
    np.testing.assert_array_equal(g_full[0].x, np.concatenate([p[0].x for p in g_parts]))


def test_kernel_equals_step_fed_the_kernels_draws():
    # the kernel draws normals (n, d) then uniforms (n,) from rng
    x = np.zeros((6, 2))
    k = mh_kernel(gauss_energy, 0.9)
    got, _ = k(k.init(x), make_rng(5))
    rng = make_rng(5)
    z, u = rng.standard_normal((6, 2)), rng.random(6)
    want, _ = mh_step(gauss_energy, mh_init(gauss_energy, x), z, u, 0.9)
    np.testing.assert_array_equal(got.x, want.x)
    r1 = sample(k, x, 20, rng=make_seed(3))
    r2 = sample(k, x, 20, rng=make_seed(3))
    np.testing.assert_array_equal(r1.trace, r2.trace)


# -- invariance: exact samples stay exact ---------------------------------------------------

@pytest.mark.parametrize("k_steps", [1, 10])
def test_random_walk_leaves_gamma_invariant(k_steps):
    # start N iid exact Gamma draws; after k steps each chain is still exactly Gamma and the
    # chains are independent, so DKWM applies (false-failure <= 1e-6 per assertion)
    rng = make_rng(100 + k_steps)
    x0 = rng.gamma(GAMMA_SHAPE, 1.0 / GAMMA_RATE, size=(N_CHAINS, 1))
    res = sample(mh_kernel(gamma_energy, 1.0), x0, k_steps, rng, keep="last")
    assert 0.2 < res.acceptance_rate.mean() < 0.95   # the chain moves (not a statistical claim)
    assert ks_distance(res.trace[:, -1, 0], gamma_cdf) <= DKWM_EPS


@pytest.mark.parametrize("k_steps", [1, 10])
def test_random_walk_leaves_correlated_gaussian_invariant(k_steps):
    # DKWM on each marginal: false-failure <= 1e-6 per assertion
    rng = make_rng(200 + k_steps)
    x0 = rng.multivariate_normal(MU, COV, size=N_CHAINS)
    res = sample(mh_kernel(gauss_energy, 1.2), x0, k_steps, rng, keep="last")
    for i, cdf in enumerate(gauss_marginal_cdfs()):
        assert ks_distance(res.trace[:, -1, i], cdf) <= DKWM_EPS


@pytest.mark.parametrize("k_steps", [1, 10])
def test_independence_sampler_with_hastings_correction_leaves_gamma_invariant(k_steps):
    # asymmetric proposal x' ~ N(2, 1.5^2) independent of x; DKWM, false-failure <= 1e-6
    m, s = 2.0, 1.5

    def propose(x, noise):
        return m + s * noise

    def log_q(to, frm):
        return -0.5 * ((to[:, 0] - m) / s) ** 2

    rng = make_rng(300 + k_steps)
    x0 = rng.gamma(GAMMA_SHAPE, 1.0 / GAMMA_RATE, size=(N_CHAINS, 1))
    res = sample(mh_general_kernel(gamma_energy, propose, log_q), x0, k_steps, rng,
                 keep="last")
    assert ks_distance(res.trace[:, -1, 0], gamma_cdf) <= DKWM_EPS


def test_dkwm_threshold_has_power_against_a_sign_bug():
    # a deterministic check that the KS threshold used above would catch a drifting chain:
    # shifting a large exact sample by a quarter of a standard deviation exceeds it
    q = stats.gamma(GAMMA_SHAPE, scale=1.0 / GAMMA_RATE).ppf((np.arange(N_CHAINS) + 0.5) / N_CHAINS)
    sd = np.sqrt(GAMMA_SHAPE) / GAMMA_RATE
    assert ks_distance(q + 0.25 * sd, gamma_cdf) > 3 * DKWM_EPS


# -- bad input --------------------------------------------------------------------------------

def _state():
    return mh_init(gauss_energy, np.zeros((3, 2)))


def test_bad_input():
    s = _state()
    z, u = np.zeros((3, 2)), np.full(3, 0.5)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        mh_step(gauss_energy, s, z, u, 0.0)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        mh_step(gauss_energy, s, z, u, -0.1)
    with pytest.raises(ValueError, match="`step_size` must be finite"):
        mh_step(gauss_energy, s, z, u, np.nan)
    with pytest.raises(TypeError, match="`step_size` must be a real number"):
        mh_step(gauss_energy, s, z, u, "0.1")
    with pytest.raises(ValueError, match="`proposal_noise` must have the shape"):
        mh_step(gauss_energy, s, np.zeros((3, 3)), u, 0.1)
    with pytest.raises(ValueError, match="`proposal_noise` must be finite"):
        mh_step(gauss_energy, s, np.full((3, 2), np.nan), u, 0.1)
    with pytest.raises(ValueError, match="`uniform` must have shape"):
        mh_step(gauss_energy, s, z, np.full(4, 0.5), 0.1)
    with pytest.raises(ValueError, match=r"`uniform` must lie in \[0, 1\)"):
        mh_step(gauss_energy, s, z, np.full(3, 1.5), 0.1)
    with pytest.raises(TypeError, match="`energy` must be callable"):
        mh_step("energy", s, z, u, 0.1)
    with pytest.raises(TypeError, match="`state` must be a state"):
        mh_step(gauss_energy, np.zeros((3, 2)), z, u, 0.1)
    with pytest.raises(ValueError, match="`state.x` must be finite"):
        mh_step(gauss_energy, MHState(np.full((3, 2), np.nan), np.zeros(3)), z, u, 0.1)
    with pytest.raises(ValueError, match=r"`energy` must return shape \(3,\)"):
        mh_step(lambda x: np.zeros((3, 1)), s, z, u, 0.1)
    with pytest.raises(ValueError, match="`x` must be finite"):
        mh_init(gauss_energy, np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        mh_init(gauss_energy, np.zeros(3))
    with pytest.raises(ValueError, match="`x` must not be empty"):
        mh_init(gauss_energy, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="`energy` returned inf"):
        mh_init(gamma_energy, np.array([[-1.0]]))
    with pytest.raises(ValueError, match=r"`energy` must return shape \(2,\)"):
        mh_init(lambda x: np.zeros(3), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        mh_kernel(gauss_energy, 0.0)
    with pytest.raises(TypeError, match="`energy` must be callable"):
        mh_kernel(None, 0.1)


def test_bad_input_general_step():
    s = _state()
    z, u = np.zeros((3, 2)), np.full(3, 0.5)

    def log_q(to, frm):
        return np.zeros(to.shape[0])

    with pytest.raises(TypeError, match="`propose` must be callable"):
        mh_general_step(gauss_energy, 1.0, log_q, s, z, u)
    with pytest.raises(TypeError, match="`proposal_log_prob` must be callable"):
        mh_general_step(gauss_energy, lambda x, n: x + n, None, s, z, u)
    with pytest.raises(ValueError, match="`noise` must have 3 rows"):
        mh_general_step(gauss_energy, lambda x, n: x, log_q, s, np.zeros((2, 2)), u)
    with pytest.raises(ValueError, match="`propose` must return shape"):
        mh_general_step(gauss_energy, lambda x, n: x[:, :1], log_q, s, z, u)
    with pytest.raises(ValueError, match="`proposal_log_prob` must return shape"):
        mh_general_step(gauss_energy, lambda x, n: x + n, lambda a, b: np.zeros(2), s, z, u)
    # noise that the proposal cannot combine with x: the message names both shapes
    with pytest.raises(ValueError, match=r"`propose` failed on x of shape \(3, 2\) and `noise` "
                                         r"of shape \(3, 3\)"):
        mh_general_step(gauss_energy, lambda x, n: x + n, log_q, s, np.zeros((3, 3)), u)
    with pytest.raises(ValueError, match="`noise` must be finite"):
        mh_general_step(gauss_energy, lambda x, n: x + n, log_q, s, np.full((3, 2), np.nan), u)
    with pytest.raises(TypeError, match=r"`state` must be a state with fields \('x', 'energy'\)"):
        mh_general_step(gauss_energy, lambda x, n: x + n, log_q, np.zeros((3, 2)), z, u)
    with pytest.raises(TypeError, match="`propose` must be callable"):
        mh_general_kernel(gauss_energy, None, log_q)


def test_bad_input_acceptance_rule():
    with pytest.raises(ValueError, match="`log_ratio` must have 1 dimension"):
        accept(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"`uniform` must have shape \(3\)"):
        accept(np.zeros(3), np.zeros(2))
    with pytest.raises(TypeError, match="`log_ratio` must be a real array"):
        log_acceptance_to_probability("0.5")


def test_info_fields():
    s = _state()
    _, info = mh_step(gauss_energy, s, np.zeros((3, 2)), np.full(3, 0.5), 0.1)
    assert isinstance(info, MHInfo) and info.is_accepted.dtype == bool
    assert MHInfo._fields == ("acceptance_rate", "is_accepted", "proposal",
                              "log_acceptance_ratio")


def test_info_carries_the_log_acceptance_ratio():
    # exact: log r = E(x) - E(x') for the random walk, computed here by hand
    x = np.array([[3.0, 0.0], [1.0, -2.0], [0.0, 0.0]])
    z = np.array([[-2.0, -2.0], [1.0, 0.5], [0.3, -0.1]])
    _, info = mh_step(gauss_energy, mh_init(gauss_energy, x), z, np.full(3, 0.5), 0.7)
    want = gauss_energy(x) - gauss_energy(x + 0.7 * z)
    np.testing.assert_allclose(info.log_acceptance_ratio, want, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(info.acceptance_rate, np.minimum(1.0, np.exp(want)), rtol=1e-14)


def test_float32_chains_stay_float32():
    # the dtype rule: float32 positions and noise give a float32 state, info and trace; float64
    # stays float64 (an energy that returns float64 for float32 input is cast back)
    for dtype in (np.float32, np.float64):
        x = np.zeros((4, 2), dtype=dtype)
        s = mh_init(gauss_energy, x)
        assert s.x.dtype == dtype and s.energy.dtype == dtype
        s, info = mh_step(gauss_energy, s, np.ones((4, 2), dtype), np.full(4, 0.5, dtype), 0.3)
        assert s.x.dtype == dtype and s.energy.dtype == dtype
        assert info.log_acceptance_ratio.dtype == dtype and info.acceptance_rate.dtype == dtype
        res = sample(mh_kernel(gauss_energy, 0.5), x, 3, rng=make_seed(12))
        assert res.trace.dtype == dtype and res.state.x.dtype == dtype
        assert res.state.energy.dtype == dtype and res.acceptance_rate.dtype == dtype
        s, _ = mh_general_step(gauss_energy, lambda y, n: y + n,
                               lambda a, b: np.zeros(a.shape[0]), mh_init(gauss_energy, x),
                               np.ones((4, 2), dtype), np.full(4, 0.5, dtype))
        assert s.x.dtype == dtype and s.energy.dtype == dtype
    # one float64 array (the noise, or a NumPy float64 step size) makes the step float64
    s32 = mh_init(gauss_energy, np.zeros((4, 2), np.float32))
    z32, u32 = np.ones((4, 2), np.float32), np.full(4, 0.5, np.float32)
    for z, u, h in ((np.ones((4, 2)), u32, 0.3), (z32, np.full(4, 0.5), 0.3),
                    (z32, u32, np.float64(0.3))):
        s, info = mh_step(gauss_energy, s32, z, u, h)
        assert s.x.dtype == s.energy.dtype == info.log_acceptance_ratio.dtype == np.float64
    s, _ = mh_step(gauss_energy, s32, z32, u32, np.float32(0.3))
    assert s.x.dtype == np.float32
