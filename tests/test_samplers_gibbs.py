"""Tests of refebm.samplers.gibbs: exact stationarity, invariance (chi-square), determinism.

Statistical assertions use Pearson's chi-square on state counts of N independent chains; with
K states and every expected count >= 50 the statistic is close to chi-square(K - 1), and the
threshold chi2.isf(1e-6, K - 1) gives false-failure <= 1e-6 per assertion.
"""

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from refebm import discrete
from refebm.samplers import (GibbsInfo, GibbsState, ising_gibbs_init, ising_gibbs_kernel,
                             ising_gibbs_step, rbm_gibbs_init, rbm_gibbs_kernel, rbm_gibbs_step,
                             sample)

from seeding import make_rng, make_seed


def ising_sweep(s, J, h, u):
    """The spins after one ising_gibbs_step from spins s."""
    return ising_gibbs_step(J, h, ising_gibbs_init(J, h, s), u)[0].x


def rbm_block(v, W, b, c, uh, uv):
    """(v', h) after one rbm_gibbs_step from visible units v."""
    x = rbm_gibbs_step(W, b, c, rbm_gibbs_init(W, b, c, v), uh, uv)[0].x
    m = W.shape[0]
    return x[:, :m], x[:, m:]

FALSE_FAILURE = 1e-6
N_CHAINS = 20000


def ising_params(d=4):
    rng = make_rng(30 + d)
    a = rng.normal(0, 0.4, (d, d))
    J = np.triu(a, 1) + np.triu(a, 1).T
    return J, rng.normal(0, 0.3, d)


def spin_states(d):
    return np.array(list(itertools.product([-1.0, 1.0], repeat=d)))


def ising_probs(J, h):
    s = spin_states(len(h))
    log_p = 0.5 * np.sum((s @ J) * s, axis=1) + s @ h   # -E
    p = np.exp(log_p - log_p.max())
    return s, p / p.sum()


def shrink_to_min_count(log_p, n, min_count=50.0):
    """The largest t in (0, 1] with n * min_s pi_t(s) >= min_count, where pi_t is prop. to
    exp(t log_p): the factor that scales a model's parameters (log_p is linear in them) so every
    expected count of a chi-square test on n draws is at least min_count.

    log pi_t(s_min) = t a_min - logsumexp(t a) has derivative a_min - E_t[a] <= 0, so the minimum
    probability decreases in t (bisection finds the boundary) and t -> 0 gives the uniform law,
    whose expected counts n / K must already reach min_count.
    """
    log_p = np.asarray(log_p, dtype=float)
    assert n / log_p.size >= min_count, "too few draws for the state space"

    def ok(t):
        lp = t * log_p
        return n * np.exp(lp.min() - logsumexp(lp)) >= min_count

    if ok(1.0):
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def conditional_plus(s, i, J, h):
    """P(s_i = +1 | rest) from two energy evaluations (no local-field formula)."""
    plus, minus = s.copy(), s.copy()
    plus[:, i], minus[:, i] = 1.0, -1.0
    e_plus = -0.5 * np.sum((plus @ J) * plus, axis=1) - plus @ h
    e_minus = -0.5 * np.sum((minus @ J) * minus, axis=1) - minus @ h
    return 1.0 / (1.0 + np.exp(e_plus - e_minus))


def state_index(s):
    bits_ = (s > 0).astype(int)
    return bits_ @ (2 ** np.arange(s.shape[1])[::-1])


def test_ising_step_follows_its_rule_and_the_sweep_is_exactly_stationary():
    d = 3
    J, h = ising_params(d)
    states, pi = ising_probs(J, h)
    K = len(states)
    # 1) the step's decisions: site i becomes +1 iff u_i < P(s_i = +1 | the other sites), with
    #    the other sites held at their values by crafted uniforms (so p does not change)
    for i in range(d):
        for start in states:
            s = np.tile(start, (2, 1))
            p = conditional_plus(s[:1], i, J, h)[0]
            got = ising_sweep(s, J, h, _holding_uniforms(s, i, J, h, p))
            assert got[0, i] == 1.0 and got[1, i] == -1.0
            others = [j for j in range(d) if j != i]
            np.testing.assert_array_equal(got[:, others], s[:, others])
    # 2) the exact sweep matrix, from the same rule, leaves pi invariant
    P = np.zeros((K, K))
    for a, start in enumerate(states):
        for b, end in enumerate(states):
            prob, s = 1.0, start.copy()
            for i in range(d):
                p = conditional_plus(s[None], i, J, h)[0]
                prob *= p if end[i] > 0 else 1 - p
                s[i] = end[i]
            P[a, b] = prob
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert np.max(np.abs(pi @ P - pi)) <= 1e-12


def _holding_uniforms(s, i, J, h, p):
    """Uniforms that keep every site j != i at its value and put site i at +1 (row 0) and -1
    (row 1) with u_i just below / above p (sites before i keep their values, so p is unchanged).
    """
    d = s.shape[1]
    u = np.zeros((2, d))
    for j in range(d):
        if j == i:
            u[0, j] = p * (1 - 1e-9)
            u[1, j] = min(p * (1 + 1e-9) + 1e-12, 1 - 1e-16)
        else:
            # keep s_j: +1 needs u < p_j (u = 0 works since p_j > 0); -1 needs u >= p_j
            u[:, j] = np.where(s[:, j] > 0, 0.0, 1 - 1e-16)
    return u


def test_ising_conditional_matches_refebm_discrete():
    J, h = ising_params(5)
    model = discrete.Ising(J, h)
    s = spin_states(5)
    for i in range(5):
        np.testing.assert_allclose(model.conditional_prob_plus(s, i), conditional_plus(s, i, J, h),
                                   rtol=1e-12)


@pytest.mark.parametrize("k_steps", [1, 10])
def test_ising_gibbs_leaves_the_exact_law_invariant(k_steps):
    # chi-square on the 16 state counts of N independent chains started from exact draws. The
    # parameters come from the run's stream, shrunk by the rule of shrink_to_min_count so that
    # every expected count is >= 50 whatever the stream (the chi-square approximation's condition)
    J, h = ising_params(4)
    states = spin_states(4)
    t = shrink_to_min_count(0.5 * np.sum((states @ J) * states, axis=1) + states @ h, N_CHAINS)
    J, h = t * J, t * h
    states, pi = ising_probs(J, h)
    assert N_CHAINS * pi.min() >= 50 * (1 - 1e-9)
    rng = make_rng(40 + k_steps)
    x0 = states[rng.choice(len(pi), size=N_CHAINS, p=pi)]
    res = sample(ising_gibbs_kernel(J, h), x0, k_steps, rng, keep="last")
    counts = np.bincount(state_index(res.trace[:, -1]), minlength=len(pi))
    chi2 = np.sum((counts - N_CHAINS * pi) ** 2 / (N_CHAINS * pi))
    assert chi2 <= stats.chi2.isf(FALSE_FAILURE, len(pi) - 1)


def rbm_params(m=4, k=3, scale=0.8):
    rng = make_rng(50)
    return rng.normal(0, scale, (m, k)), rng.normal(0, 0.5, m), rng.normal(0, 0.5, k)


def binary_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


@pytest.mark.parametrize("k_steps", [1, 10])
def test_rbm_block_gibbs_leaves_the_joint_law_invariant(k_steps):
    # chi-square on the 2^(m+k) = 64 joint state counts (expected counts >= 50 checked)
    W, b, c = rbm_params(k=2, scale=0.5)
    m, k = W.shape
    joint = binary_states(m + k)
    v, hh = joint[:, :m], joint[:, m:]
    log_p = v @ b + hh @ c + np.sum((v @ W) * hh, axis=1)
    n = 40000
    # parameters from the run's stream, shrunk by the rule of shrink_to_min_count so that every
    # expected count is >= 50 whatever the stream (log_p is linear in W, b, c)
    t = shrink_to_min_count(log_p, n)
    W, b, c, log_p = t * W, t * b, t * c, t * log_p
    pi = np.exp(log_p - log_p.max())
    pi /= pi.sum()
    assert n * pi.min() >= 50 * (1 - 1e-9)
    rng = make_rng(60 + k_steps)
    x0 = joint[rng.choice(len(pi), size=n, p=pi)]
    res = sample(rbm_gibbs_kernel(W, b, c), x0, k_steps, rng, keep="last")
    idx = res.trace[:, -1].astype(int) @ (2 ** np.arange(m + k)[::-1])
    counts = np.bincount(idx, minlength=len(pi))
    chi2 = np.sum((counts - n * pi) ** 2 / (n * pi))
    assert chi2 <= stats.chi2.isf(FALSE_FAILURE, len(pi) - 1)


def test_rbm_step_rule_and_refebm_discrete_conditionals():
    W, b, c = rbm_params()
    v = binary_states(4)
    p_h = 1 / (1 + np.exp(-(c + v @ W)))
    below = p_h * (1 - 1e-9)
    v_new, h = rbm_block(v, W, b, c, below, np.zeros((16, 4)))
    np.testing.assert_array_equal(h, np.ones((16, 3)))
    np.testing.assert_array_equal(v_new, np.ones((16, 4)))   # u = 0 < any probability
    above = np.minimum(p_h * (1 + 1e-9) + 1e-12, 1 - 1e-16)
    _, h = rbm_block(v, W, b, c, above, np.zeros((16, 4)))
    np.testing.assert_array_equal(h, np.zeros((16, 3)))
    h_all = binary_states(3)
    p_v = 1 / (1 + np.exp(-(b + h_all @ W.T)))
    try:
        from refebm.discrete import RBM
    except ImportError:  # pragma: no cover
        return
    model = RBM(W, b, c)
    np.testing.assert_allclose(model.prob_h_given_v(v), p_h, rtol=1e-12)
    np.testing.assert_allclose(model.prob_v_given_h(h_all), p_v, rtol=1e-12)


def test_steps_are_bit_identical_across_runs_and_batch_splits():
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(70)
    J, h = ising_params(4)
    s = np.where(rng.random((10, 4)) < 0.5, -1.0, 1.0)
    u = rng.random((10, 4))
    halves = (slice(0, 3), slice(3, 10))
    full = ising_sweep(s, J, h, u)
    np.testing.assert_array_equal(full, ising_sweep(s, J, h, u))
    np.testing.assert_array_equal(full, np.concatenate(
        [ising_sweep(s[q], J, h, u[q]) for q in halves]))
    W, b, c = rbm_params()
    v = (rng.random((10, 4)) < 0.5).astype(float)
    uh, uv = rng.random((10, 3)), rng.random((10, 4))
    full = rbm_block(v, W, b, c, uh, uv)
    parts = [rbm_block(v[q], W, b, c, uh[q], uv[q]) for q in halves]
    for i in range(2):
        np.testing.assert_array_equal(full[i], np.concatenate([p[i] for p in parts]))
    # the kernels draw uniforms (n, d) [Ising] / (n, k) then (n, m) [RBM] from rng
    k = ising_gibbs_kernel(J, h)
    got, _ = k(k.init(s), make_rng(1))
    np.testing.assert_array_equal(
        got.x, ising_sweep(s, J, h, make_rng(1).random((10, 4))))
    k = rbm_gibbs_kernel(W, b, c)
    x = np.concatenate([v, np.zeros((10, 3))], axis=1)
    got, _ = k(k.init(x), make_rng(2))
    g = make_rng(2)
    uh2, uv2 = g.random((10, 3)), g.random((10, 4))
    vv, hh = rbm_block(v, W, b, c, uh2, uv2)
    np.testing.assert_array_equal(got.x, np.concatenate([vv, hh], axis=1))
    assert isinstance(got, GibbsState)


def test_bad_input():
    J, h = ising_params(3)
    s = GibbsState(np.ones((2, 3)))
    u = np.full((2, 3), 0.5)
    with pytest.raises(ValueError, match="`J` must be symmetric"):
        ising_gibbs_step(J + np.triu(np.ones((3, 3)), 1), h, s, u)
    with pytest.raises(ValueError, match="`J` must have a zero diagonal"):
        ising_gibbs_step(J + np.eye(3), h, s, u)
    with pytest.raises(ValueError, match="`J` must be a square matrix"):
        ising_gibbs_step(np.zeros((3, 2)), h, s, u)
    with pytest.raises(ValueError, match=r"`h` must have shape \(3\)"):
        ising_gibbs_step(J, np.zeros(2), s, u)
    with pytest.raises(ValueError, match=r"`state.x` must have entries in \{-1, 1\}"):
        ising_gibbs_step(J, h, GibbsState(np.zeros((2, 3))), u)
    with pytest.raises(ValueError, match=r"`state.x` must have shape \(n, 3\)"):
        ising_gibbs_step(J, h, GibbsState(np.ones((2, 4))), u)
    with pytest.raises(TypeError, match=r"`state` must be a state with fields \('x',\)"):
        ising_gibbs_step(J, h, np.ones((2, 3)), u)
    with pytest.raises(ValueError, match=r"`x` must have entries in \{-1, 1\}"):
        ising_gibbs_init(J, h, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"`uniform` must lie in \[0, 1\)"):
        ising_gibbs_step(J, h, s, np.full((2, 3), 1.0))
    with pytest.raises(ValueError, match=r"`uniform` must have shape \(2, 3\)"):
        ising_gibbs_step(J, h, s, np.full((3, 3), 0.5))
    with pytest.raises(ValueError, match="`J` must be finite"):
        ising_gibbs_kernel(np.full((2, 2), np.nan), np.zeros(2))
    W, b, c = rbm_params()
    v = np.ones((2, 4))
    sv = rbm_gibbs_init(W, b, c, v)
    uh, uv = np.zeros((2, 3)), np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"`b` must have shape \(4\)"):
        rbm_gibbs_step(W, np.zeros(3), c, sv, uh, uv)
    with pytest.raises(ValueError, match=r"`c` must have shape \(3\)"):
        rbm_gibbs_step(W, b, np.zeros(4), sv, uh, uv)
    with pytest.raises(ValueError, match=r"`state.x` must have entries in \{0, 1\}"):
        rbm_gibbs_step(W, b, c, GibbsState(-sv.x), uh, uv)
    with pytest.raises(ValueError, match=r"`state.x` must have shape \(n, 7\)"):
        rbm_gibbs_step(W, b, c, GibbsState(v), uh, uv)
    with pytest.raises(ValueError, match=r"`x` must have entries in \{0, 1\}"):
        rbm_gibbs_init(W, b, c, -v)
    with pytest.raises(ValueError, match=r"`uniform_h` must have shape \(2, 3\)"):
        rbm_gibbs_step(W, b, c, sv, np.zeros((2, 4)), uv)
    with pytest.raises(ValueError, match=r"`uniform_v` must lie in \[0, 1\)"):
        rbm_gibbs_step(W, b, c, sv, uh, np.full((2, 4), -0.1))
    with pytest.raises(ValueError, match="`W` must have 2 dimension"):
        rbm_gibbs_kernel(np.zeros(3), b, c)
    k = rbm_gibbs_kernel(W, b, c)
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 7\)"):
        k.init(np.zeros((2, 5)))


def test_steps_return_state_and_info():
    # the step takes a state and returns (state, info); visible units alone start the RBM with
    # hidden zeros, which the step never reads (h is drawn afresh from p(h | v))
    J, h = ising_params(3)
    s, info = ising_gibbs_step(J, h, ising_gibbs_init(J, h, np.ones((2, 3))), np.zeros((2, 3)))
    assert isinstance(s, GibbsState) and isinstance(info, GibbsInfo)
    assert info.is_accepted.all() and info.acceptance_rate.tolist() == [1.0, 1.0]
    W, b, c = rbm_params()
    v = np.array([[1.0, 0.0, 1.0, 1.0]])
    padded = rbm_gibbs_init(W, b, c, v)
    np.testing.assert_array_equal(padded.x, [[1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]])
    other = GibbsState(np.concatenate([v, np.ones((1, 3))], axis=1))
    u_h, u_v = np.full((1, 3), 0.4), np.full((1, 4), 0.6)
    a, _ = rbm_gibbs_step(W, b, c, padded, u_h, u_v)
    b_, _ = rbm_gibbs_step(W, b, c, other, u_h, u_v)
    np.testing.assert_array_equal(a.x, b_.x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_rule_gibbs(dtype):
    # float32 units and parameters stay float32 through init, step, kernel and sample; float64
    # stays float64; one float64 array among them (the couplings, say) makes the call float64
    J, h = (a.astype(dtype) for a in ising_params(3))
    s0 = np.ones((4, 3), dtype=dtype)
    s, info = ising_gibbs_step(J, h, ising_gibbs_init(J, h, s0), np.full((4, 3), 0.5, dtype))
    assert s.x.dtype == dtype and info.acceptance_rate.dtype == dtype
    res = sample(ising_gibbs_kernel(J, h), s0, 2, rng=make_seed(80))
    assert res.trace.dtype == dtype and res.state.x.dtype == dtype
    W, b, c = (a.astype(dtype) for a in rbm_params())
    v0 = np.ones((4, 4), dtype=dtype)
    s, _ = rbm_gibbs_step(W, b, c, rbm_gibbs_init(W, b, c, v0), np.full((4, 3), 0.5, dtype),
                          np.full((4, 4), 0.5, dtype))
    assert s.x.dtype == dtype
    res = sample(rbm_gibbs_kernel(W, b, c), np.zeros((4, 7), dtype=dtype), 2, rng=make_seed(81))
    assert res.trace.dtype == dtype and res.state.x.dtype == dtype
    J64, h64 = ising_params(3)
    assert ising_gibbs_init(J64, h64, s0.astype(np.float32)).x.dtype == np.float64
    s, _ = ising_gibbs_step(J, h, GibbsState(s0), np.full((4, 3), 0.5))
    assert s.x.dtype == np.float64
