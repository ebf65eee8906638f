"""Tests of refebm.discrete: every enumerated quantity against a brute-force loop written here.

The second computation is always an independent one: the energies are re-evaluated with explicit
sums over itertools.product states (not refebm's state arrays), Z by scipy's logsumexp, and
conditionals, marginals and gradients of log Z by summing the joint table.

Random parameters below feed exact checks: no false-failure rate applies.
"""

import doctest
import itertools
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit
from scipy.special import logsumexp as sp_logsumexp

import refebm.discrete as discrete
from refebm.discrete import MAX_ENUMERATED_UNITS, RBM, Ising, binary_states, spin_states

from seeding import make_rng

RTOL = 1e-10


# ---------------------------------------------------------------------------------------------
# brute force


def ising_energy_loop(J, h, s):
    n = len(s)
    return -0.5 * sum(J[i, j] * s[i] * s[j] for i in range(n) for j in range(n)) - sum(
        h[i] * s[i] for i in range(n))


def ising_table(J, h):
    """All spin states (itertools order) and their energies, by explicit loops."""
    n = len(h)
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    energies = np.array([ising_energy_loop(J, h, s) for s in states])
    return states, energies


def rbm_energy_loop(W, b, c, v, h):
    m, k = W.shape
    return (-sum(b[i] * v[i] for i in range(m)) - sum(c[j] * h[j] for j in range(k))
            - sum(v[i] * W[i, j] * h[j] for i in range(m) for j in range(k)))


def rbm_table(W, b, c):
    """All joint states (v, h) and their energies, by explicit loops."""
    m, k = W.shape
    vs = np.array(list(itertools.product([0.0, 1.0], repeat=m)))
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=k)))
    energies = np.array([[rbm_energy_loop(W, b, c, v, h) for h in hs] for v in vs])  # (2^m, 2^k)
    return vs, hs, energies


def random_ising(rng, n, scale=1.0):
    a = rng.normal(scale=scale, size=(n, n))
    J = np.triu(a, 1) + np.triu(a, 1).T
    return J, rng.normal(scale=scale, size=n)


def random_rbm(rng, m, k, scale=1.0):
    return (rng.normal(scale=scale, size=(m, k)), rng.normal(scale=scale, size=m),
            rng.normal(scale=scale, size=k))


def test_docstring_examples():
    assert doctest.testmod(discrete, raise_on_error=False).failed == 0


# ---------------------------------------------------------------------------------------------
# states


def test_states_are_all_configurations_in_order():
    for n in (1, 3, 5):
        b = np.asarray(binary_states(n))
        assert b.shape == (2**n, n) and b.dtype == np.float64
        np.testing.assert_array_equal(b, np.array(list(itertools.product([0.0, 1.0], repeat=n))))
        np.testing.assert_array_equal(np.asarray(spin_states(n)), 2 * b - 1)


def test_states_bad_input():
    with pytest.raises(ValueError, match="`n` must be >= 1, got 0"):
        binary_states(0)
    with pytest.raises(TypeError, match="`n` must be an integer"):
        binary_states(2.0)
    with pytest.raises(ValueError, match="limited to 22 units"):
        spin_states(MAX_ENUMERATED_UNITS + 1)


# ---------------------------------------------------------------------------------------------
# Ising


def test_ising_two_spins_closed_form():
    for j in (-0.7, 0.0, 1.3):
        model = Ising(np.array([[0.0, j], [j, 0.0]]), np.zeros(2))
        np.testing.assert_allclose(model.log_partition(), np.log(2 * np.exp(j) + 2 * np.exp(-j)),
                                   rtol=1e-14)


def test_ising_independent_spins_closed_form():
    h = np.array([0.3, -1.2, 2.0, 0.0])
    model = Ising(np.zeros((4, 4)), h)
    np.testing.assert_allclose(model.log_partition(), np.sum(np.log(2 * np.cosh(h))), rtol=1e-14)
    np.testing.assert_allclose(model.marginals(), expit(2 * h), rtol=1e-14)


def test_ising_h_defaults_to_zero():
    J = np.array([[0.0, 0.5], [0.5, 0.0]])
    np.testing.assert_allclose(Ising(J).log_partition(), Ising(J, np.zeros(2)).log_partition(),
                               rtol=0)


@given(n=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       scale=st.floats(0.01, 3.0, allow_subnormal=False))
def test_ising_against_brute_force(n, seed, scale):
    rng = np.random.default_rng(seed)
    J, h = random_ising(rng, n, scale)
    model = Ising(J, h)
    states, energies = ising_table(J, h)
    # energies on the brute-force states, in any order
    np.testing.assert_allclose(model.energy(states), energies, rtol=RTOL, atol=1e-12)
    log_z = sp_logsumexp(-energies)
    np.testing.assert_allclose(model.log_partition(), log_z, rtol=RTOL)
    np.testing.assert_allclose(model.log_prob(states), -energies - log_z, rtol=RTOL, atol=1e-12)
    p = np.exp(-energies - log_z)
    np.testing.assert_allclose(model.marginals(), p @ (states > 0), rtol=RTOL)
    # the model's own state array is the same set
    assert {tuple(s) for s in np.asarray(model.states())} == {tuple(s) for s in states}


def test_ising_conditional_against_joint_table():
    rng = make_rng(1)
    J, h = random_ising(rng, 5)
    model = Ising(J, h)
    states, energies = ising_table(J, h)
    index = {tuple(s): e for s, e in zip(states, energies)}
    for i in range(5):
        got = model.conditional_prob_plus(states, i)
        want = []
        for s in states:
            plus, minus = s.copy(), s.copy()
            plus[i], minus[i] = 1.0, -1.0
            e_p, e_m = index[tuple(plus)], index[tuple(minus)]
            want.append(np.exp(-e_p) / (np.exp(-e_p) + np.exp(-e_m)))
        np.testing.assert_allclose(got, want, rtol=RTOL)
    # the local field is (J s)_i + h_i, and does not depend on s_i
    phi = np.asarray(model.local_field(states))
    assert phi.shape == (32, 5)
    np.testing.assert_allclose(phi, np.array([[J[i] @ s + h[i] for i in range(5)] for s in states]),
                               rtol=RTOL, atol=1e-14)


def test_ising_gradient_of_log_partition_is_expectation():
    # D8: d log Z / d h = E[s], d log Z / d J_ij = E[s_i s_j] / 2 (entries taken independently)
    rng = make_rng(2)
    J, h = random_ising(rng, 4)
    states, energies = ising_table(J, h)
    p = np.exp(-energies - sp_logsumexp(-energies))
    g_h = autograd.grad(lambda h_: Ising(J, h_).log_partition())(h)
    np.testing.assert_allclose(g_h, p @ states, rtol=RTOL)
    g_J = autograd.grad(lambda J_: Ising(J_, h).log_partition())(J)
    np.testing.assert_allclose(g_J, 0.5 * np.einsum("s,si,sj->ij", p, states, states), rtol=RTOL)

    mask = 1.0 - np.eye(4)

    def log_z_of(a, h_):  # a symmetric, zero-diagonal J built from a free matrix
        return Ising((a + a.T) * mask, h_).log_partition()

    check_grads(log_z_of, modes=["rev"], order=2)(rng.normal(size=(4, 4)), h)


def test_ising_enumeration_limit_but_no_limit_without_z():
    n = MAX_ENUMERATED_UNITS + 1
    model = Ising(np.zeros((n, n)), np.full(n, 0.5))
    with pytest.raises(ValueError, match=r"this Ising model has 23 binary units, i.e. 2\^23"):
        model.log_partition()
    with pytest.raises(ValueError, match="limited to 22"):
        model.marginals()
    s = np.ones((2, n))
    np.testing.assert_allclose(model.energy(s), [-0.5 * n] * 2, rtol=1e-15)
    np.testing.assert_allclose(model.conditional_prob_plus(s, 3), expit(1.0), rtol=1e-15)


def test_ising_large_energies_do_not_overflow():
    J = np.array([[0.0, 1e4, 0.0], [1e4, 0.0, -1e4], [0.0, -1e4, 0.0]])
    model = Ising(J, np.array([1e4, 0.0, -1e4]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        states, energies = ising_table(model.J, model.h)
        np.testing.assert_allclose(model.log_partition(), sp_logsumexp(-energies), rtol=RTOL)
        assert np.all(np.isfinite(model.marginals()))
        cond = np.asarray(model.conditional_prob_plus(states, 1))
    assert np.all((cond >= 0) & (cond <= 1))


def test_ising_float32_kept():
    model = Ising(np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32), np.zeros(2, np.float32))
    assert np.asarray(model.states()).dtype == np.float32
    assert np.asarray(model.log_partition()).dtype == np.float32
    np.testing.assert_allclose(model.log_partition(), np.log(2 * np.e + 2 / np.e), rtol=1e-6)


def test_ising_on_every_namespace(xp, to_xp):
    rng = make_rng(3)
    J, h = random_ising(rng, 4)
    ref = Ising(J, h)
    model = Ising(to_xp(J), to_xp(h))
    s = ref.states()
    np.testing.assert_allclose(np.asarray(model.log_partition()), ref.log_partition(), rtol=RTOL)
    np.testing.assert_allclose(np.asarray(model.marginals()), ref.marginals(), rtol=RTOL)
    np.testing.assert_allclose(np.asarray(model.energy(to_xp(s))), ref.energy(s), rtol=RTOL)
    np.testing.assert_allclose(np.asarray(model.conditional_prob_plus(to_xp(s), 2)),
                               ref.conditional_prob_plus(s, 2), rtol=RTOL)


def test_ising_bad_input():
    J = np.array([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="`J` must be a square matrix"):
        Ising(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=r"`J` must have 2 dimension\(s\)"):
        Ising(np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="`J` must be symmetric"):
        Ising(np.array([[0.0, 1.0], [0.5, 0.0]]), np.zeros(2))
    with pytest.raises(ValueError, match="`J` must have a zero diagonal"):
        Ising(np.array([[1.0, 1.0], [1.0, 0.0]]), np.zeros(2))
    with pytest.raises(ValueError, match="`J` must be finite, got NaN"):
        Ising(np.array([[0.0, np.nan], [np.nan, 0.0]]), np.zeros(2))
    with pytest.raises(ValueError, match="`J` must be finite, got inf"):
        Ising(np.array([[0.0, np.inf], [np.inf, 0.0]]), np.zeros(2))
    with pytest.raises(ValueError, match="`J` must not be empty"):
        Ising(np.zeros((0, 0)), np.zeros(0))
    with pytest.raises(TypeError, match="`J` must be a real array"):
        Ising("J", np.zeros(2))
    with pytest.raises(ValueError, match=r"`h` must have shape \(2\)"):
        Ising(J, np.zeros(3))
    with pytest.raises(ValueError, match="`h` must be finite"):
        Ising(J, np.array([0.0, np.nan]))
    model = Ising(J, np.zeros(2))
    with pytest.raises(ValueError, match=r"`s` must have entries in \{-1, 1\}, got 0.0"):
        model.energy(np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"`s` must have shape \(n, 2\)"):
        model.energy(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"`s` must have 2 dimension\(s\)"):
        model.log_prob(np.ones(2))
    with pytest.raises(ValueError, match="`s` must be finite"):
        model.local_field(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="`i` must be <= 1, got 2"):
        model.conditional_prob_plus(np.ones((1, 2)), 2)
    with pytest.raises(ValueError, match="`i` must be >= 0, got -1"):
        model.conditional_prob_plus(np.ones((1, 2)), -1)
    with pytest.raises(TypeError, match="`i` must be an integer"):
        model.conditional_prob_plus(np.ones((1, 2)), 1.0)


# ---------------------------------------------------------------------------------------------
# RBM


def test_rbm_independent_units_closed_form():
    b, c = np.array([0.5, -2.0, 1.0]), np.array([-1.0, 3.0])
    rbm = RBM(np.zeros((3, 2)), b, c)
    want = np.sum(np.log1p(np.exp(b))) + np.sum(np.log1p(np.exp(c)))
    for method in ("auto", "visible", "hidden", "joint"):
        np.testing.assert_allclose(rbm.log_partition(method), want, rtol=1e-14)
    marg = rbm.marginals()
    np.testing.assert_allclose(marg.visible, expit(b), rtol=1e-14)
    np.testing.assert_allclose(marg.hidden, expit(c), rtol=1e-14)


@given(m=st.integers(1, 5), k=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       scale=st.floats(0.01, 3.0, allow_subnormal=False))
def test_rbm_against_brute_force(m, k, seed, scale):
    rng = np.random.default_rng(seed)
    W, b, c = random_rbm(rng, m, k, scale)
    rbm = RBM(W, b, c)
    vs, hs, table = rbm_table(W, b, c)
    log_z = sp_logsumexp(-table)
    # the three enumerations agree with each other and with the brute-force joint sum
    for method in ("visible", "hidden", "joint", "auto"):
        np.testing.assert_allclose(rbm.log_partition(method), log_z, rtol=1e-12)
    # free energies: the hidden (visible) layer summed out by brute force
    np.testing.assert_allclose(rbm.free_energy(vs), -sp_logsumexp(-table, axis=1),
                               rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(rbm.free_energy_hidden(hs), -sp_logsumexp(-table, axis=0),
                               rtol=RTOL, atol=1e-12)
    # joint energy on every pair
    vv = np.repeat(vs, len(hs), axis=0)
    hh = np.tile(hs, (len(vs), 1))
    np.testing.assert_allclose(rbm.energy(vv, hh), table.ravel(), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(rbm.log_prob(vv, hh), -table.ravel() - log_z, rtol=RTOL,
                               atol=1e-12)
    p = np.exp(-table - log_z)  # (2^m, 2^k)
    np.testing.assert_allclose(np.exp(rbm.log_prob_visible(vs)), p.sum(axis=1), rtol=RTOL)
    np.testing.assert_allclose(np.exp(rbm.log_prob_hidden(hs)), p.sum(axis=0), rtol=RTOL)
    # conditionals from the joint table: P(h_j = 1 | v) = sum_h p(v, h) h_j / p(v)
    np.testing.assert_allclose(rbm.prob_h_given_v(vs), (p @ hs) / p.sum(axis=1)[:, None],
                               rtol=RTOL)
    np.testing.assert_allclose(rbm.prob_v_given_h(hs), (p.T @ vs) / p.sum(axis=0)[:, None],
                               rtol=RTOL)
    marg = rbm.marginals()
    np.testing.assert_allclose(marg.visible, p.sum(axis=1) @ vs, rtol=RTOL)
    np.testing.assert_allclose(marg.hidden, p.sum(axis=0) @ hs, rtol=RTOL)


def test_rbm_gradient_of_log_partition_is_expectation():
    # D8: d log Z / dW = E_p[v h^T], d log Z / db = E_p[v], d log Z / dc = E_p[h]
    rng = make_rng(4)
    W, b, c = random_rbm(rng, 3, 4)
    vs, hs, table = rbm_table(W, b, c)
    p = np.exp(-table - sp_logsumexp(-table))
    for method in ("visible", "hidden", "joint"):
        gW, gb, gc = autograd.grad(lambda W_, b_, c_: RBM(W_, b_, c_).log_partition(method),
                                   argnum=(0, 1, 2))(W, b, c)
        np.testing.assert_allclose(gW, vs.T @ p @ hs, rtol=RTOL)
        np.testing.assert_allclose(gb, p.sum(axis=1) @ vs, rtol=RTOL)
        np.testing.assert_allclose(gc, p.sum(axis=0) @ hs, rtol=RTOL)
    check_grads(lambda W_, b_, c_: RBM(W_, b_, c_).log_partition(), modes=["rev"], order=2)(
        W, b, c)
    # and the gradient of a visible log-likelihood, through the free energy
    check_grads(lambda W_: anp.sum(RBM(W_, b, c).log_prob_visible(vs[:3])), modes=["rev"])(W)


def test_rbm_enumeration_limits():
    big = MAX_ENUMERATED_UNITS + 1
    rbm = RBM(np.zeros((big, 2)), np.zeros(big), np.zeros(2))
    np.testing.assert_allclose(rbm.log_partition(), (big + 2) * np.log(2.0), rtol=1e-14)  # auto
    np.testing.assert_allclose(rbm.log_partition("hidden"), (big + 2) * np.log(2.0), rtol=1e-14)
    with pytest.raises(ValueError, match="the visible layer has 23 binary units"):
        rbm.log_partition("visible")
    with pytest.raises(ValueError, match="the joint state space"):
        rbm.log_partition("joint")
    rbm2 = RBM(np.zeros((12, 11)), np.zeros(12), np.zeros(11))
    with pytest.raises(ValueError, match=r"the joint state space \(visible \+ hidden\) has 23"):
        rbm2.log_partition("joint")
    np.testing.assert_allclose(rbm.marginals().visible, np.full(big, 0.5), rtol=1e-14)


def test_rbm_large_energies_do_not_overflow():
    W = np.array([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4]])
    rbm = RBM(W, np.array([-1e4, 0.0, 1e4]), np.array([1e4, -1e4]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vs, hs, table = rbm_table(W, rbm.b, rbm.c)
        for method in ("visible", "hidden", "joint"):
            np.testing.assert_allclose(rbm.log_partition(method), sp_logsumexp(-table), rtol=1e-12)
        ph = np.asarray(rbm.prob_h_given_v(vs))
        pv = np.asarray(rbm.prob_v_given_h(hs))
        marg = rbm.marginals()
    assert np.all((ph >= 0) & (ph <= 1)) and np.all((pv >= 0) & (pv <= 1))
    assert np.all(np.isfinite(marg.visible)) and np.all(np.isfinite(marg.hidden))


def test_rbm_on_every_namespace(xp, to_xp):
    rng = make_rng(5)
    W, b, c = random_rbm(rng, 3, 2)
    ref = RBM(W, b, c)
    rbm = RBM(to_xp(W), to_xp(b), to_xp(c))
    for method in ("visible", "hidden", "joint"):
        np.testing.assert_allclose(np.asarray(rbm.log_partition(method)),
                                   ref.log_partition(method), rtol=RTOL)
    v, h = np.asarray(ref.visible_states()), np.asarray(ref.hidden_states())
    np.testing.assert_allclose(np.asarray(rbm.prob_h_given_v(to_xp(v))), ref.prob_h_given_v(v),
                               rtol=RTOL)
    np.testing.assert_allclose(np.asarray(rbm.prob_v_given_h(to_xp(h))), ref.prob_v_given_h(h),
                               rtol=RTOL)
    marg, ref_marg = rbm.marginals(), ref.marginals()
    np.testing.assert_allclose(np.asarray(marg.visible), ref_marg.visible, rtol=RTOL)
    np.testing.assert_allclose(np.asarray(marg.hidden), ref_marg.hidden, rtol=RTOL)


def test_rbm_bad_input():
    W, b, c = np.zeros((3, 2)), np.zeros(3), np.zeros(2)
    with pytest.raises(ValueError, match=r"`W` must have 2 dimension\(s\)"):
        RBM(np.zeros(3), b, c)
    with pytest.raises(ValueError, match="`W` must be finite, got NaN"):
        RBM(np.full((3, 2), np.nan), b, c)
    with pytest.raises(ValueError, match="`W` must not be empty"):
        RBM(np.zeros((0, 2)), np.zeros(0), c)
    with pytest.raises(TypeError, match="`W` must be a real array"):
        RBM(None, b, c)
    with pytest.raises(ValueError, match=r"`b` must have shape \(3\)"):
        RBM(W, np.zeros(2), c)
    with pytest.raises(ValueError, match=r"`c` must have shape \(2\)"):
        RBM(W, b, np.zeros(3))
    with pytest.raises(ValueError, match="`c` must be finite, got inf"):
        RBM(W, b, np.array([0.0, np.inf]))
    rbm = RBM(W, b, c)
    with pytest.raises(ValueError, match=r"`v` must have entries in \{0, 1\}, got -1.0"):
        rbm.free_energy(np.array([[1.0, 0.0, -1.0]]))
    with pytest.raises(ValueError, match=r"`v` must have shape \(n, 3\)"):
        rbm.prob_h_given_v(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"`h` must have entries in \{0, 1\}, got 0.5"):
        rbm.prob_v_given_h(np.array([[0.5, 0.0]]))
    with pytest.raises(ValueError, match=r"`h` must have shape \(n, 2\)"):
        rbm.free_energy_hidden(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"`h` must have as many rows as `v` \(2\)"):
        rbm.energy(np.zeros((2, 3)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="`method` must be one of"):
        rbm.log_partition("exact")
