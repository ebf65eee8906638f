"""Tests of refebm.diff (D12, D15): score, Hessian trace, Hutchinson's estimate.

Independent computations: scores and Hessian traces written out by hand for Gaussians and
quartics; central finite differences of the score; the exact Hutchinson mean over all 2^d
Rademacher vectors; and a Laurent-Massart tail bound for Gaussian projection vectors.

Random parameters and points below feed exact checks: no false-failure rate applies, except in
test_hutchinson_gaussian_vectors_is_unbiased, which states its false-failure rate.
"""

import doctest
import itertools
import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from hypothesis import given
from hypothesis import strategies as st

import refebm.diff as diff
from refebm._backend import array_namespace
from refebm.diff import (analytic_energy_and_score, analytic_score, hessian_trace,
                         hutchinson_trace, score)

from seeding import make_rng

RTOL = 1e-12


def test_docstring_examples():
    assert doctest.testmod(diff, raise_on_error=False).failed == 0


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.5 * np.eye(d)


def gaussian_energy(mean, prec):
    def energy(x):
        u = x - mean
        return 0.5 * anp.sum((u @ prec) * u, axis=-1)
    return energy


def quartic_energy(a):
    """E(x) = sum_i x_i^4 / 4 + a x_0 x_1 + sum_i log cosh x_i (a non-Gaussian, d >= 2)."""
    def energy(x):
        return (anp.sum(x**4, axis=-1) / 4 + a * x[:, 0] * x[:, 1]
                + anp.sum(anp.log(anp.cosh(x)), axis=-1))
    return energy


def quartic_score(a, x):
    s = -(x**3) - np.tanh(x)
    s[:, 0] -= a * x[:, 1]
    s[:, 1] -= a * x[:, 0]
    return s


def quartic_hessian_energy(a, x):
    """Hessian of E per point, (n, d, d), written by hand."""
    n, d = x.shape
    h = np.zeros((n, d, d))
    idx = np.arange(d)
    h[:, idx, idx] = 3 * x**2 + 1 / np.cosh(x) ** 2
    h[:, 0, 1] = h[:, 1, 0] = a
    return h


# ---------------------------------------------------------------------------------------------
# score


def test_score_standard_normal():
    x = make_rng(0).normal(size=(7, 4))
    np.testing.assert_allclose(score(lambda x: 0.5 * anp.sum(x**2, axis=-1))(x), -x, rtol=RTOL)


@given(d=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_score_correlated_gaussian(d, seed):
    rng = np.random.default_rng(seed)
    mean, prec = rng.normal(size=d), random_spd(rng, d)
    x = rng.normal(size=(6, d))
    got = score(gaussian_energy(mean, prec))(x)
    assert got.shape == (6, d)
    np.testing.assert_allclose(got, -(x - mean) @ prec, rtol=1e-10, atol=1e-12)


def test_score_quartic():
    rng = make_rng(1)
    x = rng.normal(size=(9, 3)) * 2
    np.testing.assert_allclose(score(quartic_energy(0.7))(x), quartic_score(0.7, x), rtol=RTOL)


def test_score_does_not_see_log_z():
    # D12: E and E + c have the same score, for a constant c and for a c(theta)
    rng = make_rng(2)
    x = rng.normal(size=(5, 3))
    base = quartic_energy(0.4)
    s0 = score(base)(x)
    np.testing.assert_array_equal(score(lambda x: base(x) + 7.25)(x), s0)

    def shifted(theta):
        return lambda x: quartic_energy(theta)(x) + anp.log1p(theta**2) * 1e3

    np.testing.assert_array_equal(score(shifted(0.4))(x), s0)
    # and its derivative in theta is that of the unshifted score
    d_shifted = autograd.grad(lambda t: anp.sum(score(shifted(t))(x)))(0.4)
    d_base = autograd.grad(lambda t: anp.sum(score(quartic_energy(t))(x)))(0.4)
    np.testing.assert_allclose(d_shifted, d_base, rtol=1e-14)
    np.testing.assert_allclose(d_base, -np.sum(x[:, 1]) - np.sum(x[:, 0]), rtol=1e-12)


def test_score_is_differentiable_in_parameters():
    x = make_rng(3).normal(size=(4, 2))
    check_grads(lambda a: anp.sum(score(quartic_energy(a))(x) ** 2), modes=["rev"], order=2)(0.3)


class _Gauss:
    """A tiny closed-form Gaussian with an analytic score, backend-agnostic."""

    def __init__(self, mean, prec):
        self.mean, self.prec = mean, prec

    def energy(self, x):
        u = x - self.mean
        return 0.5 * array_namespace(x).sum((u @ self.prec) * u, axis=-1)

    def score(self, x):
        return -((x - self.mean) @ self.prec)

    def other(self, x):
        return self.energy(x)


def test_analytic_score_is_used_for_bound_energy_methods(xp, to_xp):
    prec = np.array([[2.0, 0.5], [0.5, 1.0]])
    g = _Gauss(to_xp([1.0, -1.0]), to_xp(prec))
    assert score(g.energy) == g.score
    assert analytic_score(g.energy) == g.score
    assert analytic_score(g.other) is None and analytic_score(lambda x: x) is None
    assert analytic_energy_and_score(g.energy) is None       # _Gauss has no joint method
    x = np.array([[0.0, 0.5], [2.0, 1.0]])
    np.testing.assert_allclose(np.asarray(score(g.energy)(to_xp(x))),
                               -(x - [1.0, -1.0]) @ prec, rtol=RTOL)


def test_analytic_energy_and_score_is_found_on_the_energy_object():
    from refebm.families import GaussianMixture

    mix = GaussianMixture(np.array([0.3, 0.7]), np.array([[0.0, 1.0], [2.0, 0.0]]),
                          np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]]]))
    assert analytic_energy_and_score(mix.energy) == mix.energy_and_score
    assert analytic_energy_and_score(mix.score) is None
    assert analytic_energy_and_score(lambda x: x) is None


def test_autograd_paths_are_numpy_only():
    xp = pytest.importorskip("array_api_strict")
    energy = lambda x: 0.5 * x[:, 0] ** 2  # noqa: E731
    x = xp.zeros((2, 1), dtype=xp.float64)
    with pytest.raises(TypeError, match="uses autograd and needs NumPy arrays, got an array of"):
        score(energy)(x)
    with pytest.raises(TypeError, match="`hessian_trace` uses autograd and needs NumPy arrays"):
        hessian_trace(energy)(x)
    with pytest.raises(TypeError, match="`hutchinson_trace` uses autograd and needs NumPy"):
        hutchinson_trace(energy, x, x)


def test_score_bad_input():
    with pytest.raises(TypeError, match="`energy` must be callable"):
        score(np.zeros(3))
    s = score(lambda x: anp.sum(x**2, axis=-1))
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension\(s\)"):
        s(np.zeros(3))
    with pytest.raises(ValueError, match="`x` must be finite, got NaN"):
        s(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="`x` must not be empty"):
        s(np.zeros((0, 2)))
    with pytest.raises(TypeError, match="`x` must be a real array"):
        s("x")
    with pytest.raises(ValueError, match=r"`energy` must return shape \(3,\) for 3 points"):
        score(lambda x: anp.sum(x**2))(np.zeros((3, 2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match="`energy` returned inf at 1 of 2 points"):
            score(lambda x: -anp.log(anp.abs(x[:, 0])))(np.array([[0.0], [1.0]]))
        with pytest.raises(ValueError, match="the score is not finite at 1 entries"):
            score(lambda x: anp.sqrt(anp.abs(x[:, 0])))(np.array([[0.0], [1.0]]))


# ---------------------------------------------------------------------------------------------
# Hessian trace


@given(d=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_hessian_trace_gaussian(d, seed):
    rng = np.random.default_rng(seed)
    mean, prec = rng.normal(size=d), random_spd(rng, d)
    x = rng.normal(size=(4, d))
    got = hessian_trace(gaussian_energy(mean, prec))(x)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, np.full(4, -np.trace(prec)), rtol=1e-10)


def test_hessian_trace_quartic_exact_and_finite_differences():
    rng = make_rng(4)
    x = rng.normal(size=(6, 3))
    energy = quartic_energy(-0.6)
    got = hessian_trace(energy)(x)
    exact = -np.trace(quartic_hessian_energy(-0.6, x), axis1=1, axis2=2)
    np.testing.assert_allclose(got, exact, rtol=RTOL)
    # central differences of the score: d s_i / d x_i ~ (s_i(x + h e_i) - s_i(x - h e_i)) / 2h
    s = score(energy)
    h = 1e-5
    fd = sum((s(x + h * e)[:, i] - s(x - h * e)[:, i]) / (2 * h)
             for i, e in enumerate(np.eye(3)))
    np.testing.assert_allclose(got, fd, rtol=1e-6)


def test_hessian_trace_is_differentiable_in_parameters():
    x = make_rng(5).normal(size=(3, 2))
    check_grads(lambda a: anp.sum(hessian_trace(quartic_energy(a))(x * a)), modes=["rev"])(0.8)


def test_hessian_trace_bad_input():
    with pytest.raises(TypeError, match="`energy` must be callable"):
        hessian_trace("energy")
    t = hessian_trace(lambda x: anp.sum(x**2, axis=-1))
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension\(s\)"):
        t(np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="`x` must be finite, got inf"):
        t(np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match=r"`energy` must return shape \(2,\)"):
        hessian_trace(lambda x: x)(np.zeros((2, 2)))


# ---------------------------------------------------------------------------------------------
# Hutchinson


def test_hutchinson_all_rademacher_vectors_is_exact():
    rng = make_rng(6)
    d, n = 4, 5
    x = rng.normal(size=(n, d))
    a = 0.9
    energy = quartic_energy(a)
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))  # (2^d, d)
    v = np.broadcast_to(signs[:, None, :], (2**d, n, d))
    exact = -np.trace(quartic_hessian_energy(a, x), axis1=1, axis2=2)
    np.testing.assert_allclose(hutchinson_trace(energy, x, v), exact, rtol=RTOL)
    np.testing.assert_allclose(hutchinson_trace(energy, x, v), hessian_trace(energy)(x), rtol=RTOL)


def test_hutchinson_single_vector_is_the_quadratic_form():
    rng = make_rng(7)
    x, v = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    want = -np.einsum("ni,nij,nj->n", v, quartic_hessian_energy(0.2, x), v)
    got2 = hutchinson_trace(quartic_energy(0.2), x, v)
    got3 = hutchinson_trace(quartic_energy(0.2), x, v[None])
    assert got2.shape == (3,)
    np.testing.assert_allclose(got2, want, rtol=RTOL)
    np.testing.assert_array_equal(got2, got3)


def test_hutchinson_gaussian_vectors_is_unbiased():
    # E = x^T A x / 2, so v^T (grad^2 log p) v = -v^T A v. For m standard normal vectors per
    # point, sum_j v_j^T A v_j = sum_i a_i Z_i^2 with weights a = the eigenvalues of A repeated
    # m times (a_i >= 0), and the estimate minus tr(-A) is -Y/m with Y = sum_i a_i (Z_i^2 - 1).
    # Laurent & Massart (2000, Lemma 1): P(Y >= 2 |a|_2 sqrt(t) + 2 |a|_inf t) <= e^-t and
    # P(Y <= -2 |a|_2 sqrt(t)) <= e^-t. With n independent points and both tails, the
    # false-failure probability of the assertion is <= 2 n e^-t = 1e-6.
    rng = make_rng(8)
    d, n, m = 3, 5, 20000
    A = random_spd(rng, d)
    lam = np.linalg.eigvalsh(A)
    x = rng.normal(size=(n, d))
    v = rng.normal(size=(m, n, d))
    est = hutchinson_trace(gaussian_energy(np.zeros(d), A), x, v)
    t = math.log(2 * n / 1e-6)
    norm2, norm_inf = math.sqrt(m) * np.linalg.norm(lam), lam.max()
    dev = est + np.trace(A)  # = -Y / m
    assert np.all(dev <= 2 * norm2 * math.sqrt(t) / m), (dev, norm2)
    assert np.all(dev >= -(2 * norm2 * math.sqrt(t) + 2 * norm_inf * t) / m), (dev, norm2)


def test_hutchinson_bad_input():
    energy = lambda x: anp.sum(x**2, axis=-1)  # noqa: E731
    x = np.zeros((3, 2))
    with pytest.raises(TypeError, match="`energy` must be callable"):
        hutchinson_trace(None, x, x)
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension\(s\)"):
        hutchinson_trace(energy, np.zeros(2), x)
    with pytest.raises(ValueError, match=r"`v` must have 2 or 3 dimension\(s\)"):
        hutchinson_trace(energy, x, np.zeros(2))
    with pytest.raises(ValueError, match=r"`v` must have 2 or 3 dimension\(s\)"):
        hutchinson_trace(energy, x, np.zeros((1, 1, 3, 2)))
    with pytest.raises(ValueError, match=r"`v` must have shape \(m, 3, 2\) or \(3, 2\)"):
        hutchinson_trace(energy, x, np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match="`v` must be finite, got NaN"):
        hutchinson_trace(energy, x, np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="`v` must not be empty"):
        hutchinson_trace(energy, x, np.zeros((0, 3, 2)))
    with pytest.raises(TypeError, match="`v` must be a real array"):
        hutchinson_trace(energy, x, "v")


@pytest.mark.parametrize("lookup", [analytic_score, analytic_energy_and_score])
def test_analytic_lookup_of_a_non_callable_is_an_error(lookup):
    with pytest.raises(TypeError, match=r"`energy` must be callable, got 2\.5"):
        lookup(2.5)
