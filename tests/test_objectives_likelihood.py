"""Tests of refebm.objectives.likelihood (D8, D9).

Independent computations: closed-form log Z (Gaussian, Gamma: lgamma, digamma); explicit
log-sum-exp over a table of states; model expectations E_p[grad_theta E] by scipy.integrate.quad
with its own normalization (the D8 identity); KL divergence and entropy by scipy.integrate.quad
(the D9 identity); central finite differences.

Random inputs feed exact checks: no false-failure rate applies.
"""

import doctest
import itertools
import math

import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from scipy import integrate
from scipy.special import digamma, gammaln, logsumexp

import refebm.objectives.likelihood as likelihood
from refebm.objectives import (
    parametric,
    cross_entropy,
    entropy,
    kl_divergence,
    negative_log_likelihood,
    nll_gradient,
)

from seeding import make_rng


def test_docstring_examples():
    assert doctest.testmod(likelihood, raise_on_error=False).failed == 0


def test_nll_gaussian_closed_form():
    rng = make_rng(0)
    x = rng.normal(size=(9, 1))
    mu, s2 = 0.4, 0.7
    energy = lambda y: 0.5 * (y[:, 0] - mu) ** 2 / s2  # noqa: E731
    expected = np.mean(0.5 * (x[:, 0] - mu) ** 2 / s2) + 0.5 * math.log(2 * math.pi * s2)
    assert math.isclose(negative_log_likelihood(energy, x, bounds=[(-np.inf, np.inf)]), expected,
                        rel_tol=1e-10)
    assert math.isclose(negative_log_likelihood(energy, x, log_z=0.5 * math.log(2 * math.pi * s2)),
                        expected, rel_tol=1e-14)
    # 2-D, correlated
    prec = np.array([[2.0, 0.6], [0.6, 1.0]])
    x2 = rng.normal(size=(5, 2))
    e2 = lambda y: 0.5 * anp.sum((y @ prec) * y, axis=1)  # noqa: E731
    expected = np.mean(e2(x2)) + math.log(2 * math.pi) - 0.5 * math.log(np.linalg.det(prec))
    assert math.isclose(negative_log_likelihood(e2, x2, bounds=[(-np.inf, np.inf)] * 2), expected,
                        rel_tol=1e-10)


def test_nll_enumerated_states():
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))
    j = np.array([[0.0, 0.5, -0.3], [0.5, 0.0, 0.8], [-0.3, 0.8, 0.0]])
    h = np.array([0.2, -0.1, 0.4])

    def energy_of(theta):
        return lambda s: -0.5 * anp.sum((s @ (theta[0] * j)) * s, axis=1) - s @ (theta[1] * h)

    theta = np.array([1.0, 1.0])
    data = states[[0, 3, 3, 5, 7]]
    e = energy_of(theta)
    expected = np.mean(e(data)) + logsumexp(-e(states))
    assert math.isclose(negative_log_likelihood(e, data, states=states), expected, rel_tol=1e-12)
    # D8 on a finite space: grad = mean dE/dtheta(data) - sum_s p(s) dE/dtheta(s)
    feats = lambda s: np.stack([-0.5 * np.sum((s @ j) * s, 1), -(s @ h)], 1)  # noqa: E731
    p = np.exp(-e(states) - logsumexp(-e(states)))
    exact = feats(data).mean(0) - p @ feats(states)
    np.testing.assert_allclose(nll_gradient(parametric(lambda th, s: energy_of(th)(s), theta), data,
                                            states=states), exact, rtol=1e-10)


def _quartic(theta, x):
    """E = t0 x + t1 x^2 + t2 x^4 (asymmetric through t0)."""
    t = x[:, 0]
    return theta[0] * t + theta[1] * t**2 + theta[2] * t**4


def test_nll_gradient_equals_d8_expectation():
    rng = make_rng(1)
    theta = np.array([0.6, -0.4, 0.3])
    x = rng.normal(size=(12, 1))
    got = nll_gradient(parametric(_quartic, theta), x, bounds=[(-np.inf, np.inf)])
    unnorm = lambda t: math.exp(-(theta[0] * t + theta[1] * t**2 + theta[2] * t**4))  # noqa: E731
    opts = dict(epsabs=1e-14, epsrel=1e-13, limit=200)
    z = integrate.quad(unnorm, -np.inf, np.inf, **opts)[0]
    model_mean = np.array([integrate.quad(lambda t, k=k: t**k * unnorm(t), -np.inf, np.inf,
                                          **opts)[0] / z for k in (1, 2, 4)])
    data_mean = np.array([np.mean(x[:, 0] ** k) for k in (1, 2, 4)])
    np.testing.assert_allclose(got, data_mean - model_mean, rtol=1e-9)


def test_nll_gradient_gamma_closed_form():
    rng = make_rng(2)
    x = rng.gamma(3.0, 0.5, size=(10, 1))
    theta = np.array([2.5, 1.5])  # Gamma(alpha, rate beta), log Z = lgamma(a) - a log b

    def energy(th, y):
        return -(th[0] - 1.0) * anp.log(y[:, 0]) + th[1] * y[:, 0]

    nll = negative_log_likelihood(lambda y: energy(theta, y), x, bounds=[(0.0, np.inf)])
    expected = np.mean(energy(theta, x)) + gammaln(2.5) - 2.5 * math.log(1.5)
    assert math.isclose(nll, expected, rel_tol=1e-10)
    got = nll_gradient(parametric(energy, theta), x, bounds=[(0.0, np.inf)])
    exact = [np.mean(-np.log(x[:, 0])) + digamma(2.5) - math.log(1.5), np.mean(x) - 2.5 / 1.5]
    np.testing.assert_allclose(got, exact, rtol=1e-9)


def _mixture_log_prob(y):
    comp = anp.stack([-0.5 * ((y[:, 0] + 1.0) / 0.6) ** 2 - math.log(0.6) + math.log(0.4),
                      -0.5 * ((y[:, 0] - 1.2) / 0.9) ** 2 - math.log(0.9) + math.log(0.6)], 1)
    return anp.log(anp.sum(anp.exp(comp), axis=1)) - 0.5 * math.log(2 * math.pi)


def test_d9_cross_entropy_is_kl_plus_entropy():
    model = lambda y: _quartic(np.array([0.2, 0.3, 0.05]), y)  # noqa: E731
    box = [(-12.0, 12.0)]
    ce = cross_entropy(model, _mixture_log_prob, box)
    opts = dict(epsabs=1e-14, epsrel=1e-13, limit=200, points=[-1.0, 1.2])
    p = lambda t: math.exp(_mixture_log_prob(np.array([[t]]))[0])  # noqa: E731
    e = lambda t: float(model(np.array([[t]]))[0])  # noqa: E731
    log_z = math.log(integrate.quad(lambda t: math.exp(-e(t)), -12, 12, **opts)[0])
    kl = integrate.quad(lambda t: p(t) * (math.log(p(t)) + e(t) + log_z), -12, 12, **opts)[0]
    h = integrate.quad(lambda t: -p(t) * math.log(p(t)), -12, 12, **opts)[0]
    assert math.isclose(ce, kl + h, rel_tol=1e-9)
    assert math.isclose(kl_divergence(model, _mixture_log_prob, box), kl, rel_tol=1e-9)
    assert math.isclose(entropy(_mixture_log_prob, box), h, rel_tol=1e-9)
    assert kl > 0
    # KL is zero when the model is the data density
    normal = lambda y: -0.5 * y[:, 0] ** 2 - 0.5 * math.log(2 * math.pi)  # noqa: E731
    assert abs(kl_divergence(lambda y: 0.5 * y[:, 0] ** 2, normal, box)) < 1e-12


def test_gradients_match_finite_differences():
    x = make_rng(3).normal(size=(6, 1))
    check_grads(lambda th: negative_log_likelihood(lambda y: _quartic(th, y), x,
                                                   bounds=[(-np.inf, np.inf)]),
                modes=["rev"], order=1)(np.array([0.6, -0.4, 0.3]))
    for population in (cross_entropy, lambda e, lp, b: kl_divergence(e, lp, b)):
        check_grads(lambda th: population(lambda y: _quartic(th, y), _mixture_log_prob,
                                          [(-12.0, 12.0)]),
                    modes=["rev"], order=1)(np.array([0.2, 0.3, 0.05]))


def test_bad_input():
    x = np.zeros((3, 1))
    e = lambda y: 0.5 * y[:, 0] ** 2  # noqa: E731
    with pytest.raises(TypeError, match="exactly one of `bounds`"):
        negative_log_likelihood(e, x)
    with pytest.raises(TypeError, match="exactly one of `bounds`"):
        negative_log_likelihood(e, x, bounds=[(-1, 1)], log_z=0.0)
    with pytest.raises(ValueError, match="`log_z` must be finite"):
        negative_log_likelihood(e, x, log_z=np.nan)
    with pytest.raises(TypeError, match="`energy` must be callable"):
        negative_log_likelihood(None, x, log_z=0.0)
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        negative_log_likelihood(e, np.zeros(3), log_z=0.0)
    with pytest.raises(ValueError, match="`x` must be finite"):
        negative_log_likelihood(e, np.array([[np.inf]]), log_z=0.0)
    with pytest.raises(ValueError, match="`energy` returned NaN"):
        negative_log_likelihood(lambda y: y[:, 0] * np.nan, x, log_z=0.0)
    with pytest.raises(ValueError, match=r"`energy` must return shape \(3,\)"):
        negative_log_likelihood(lambda y: y, x, log_z=0.0)
    with pytest.raises(ValueError, match="outside the support"):
        negative_log_likelihood(lambda y: anp.where(y[:, 0] > 0, y[:, 0], np.inf), x - 1,
                                log_z=0.0)
    with pytest.raises(ValueError, match="`tol` must be > 0"):
        negative_log_likelihood(e, x, bounds=[(-9, 9)], tol=0.0)
    with pytest.raises(ValueError, match=r"`bounds\[0\]` must have lo < hi"):
        negative_log_likelihood(e, x, bounds=[(1.0, 0.0)])
    with pytest.raises(ValueError, match="`states` must have 2 dimension"):
        negative_log_likelihood(e, x, states=np.zeros(3))
    with pytest.raises(ValueError, match="`states` must be finite"):
        nll_gradient(parametric(lambda th, y: th * y[:, 0], 1.0), x, states=np.full((3, 1), np.nan))
    with pytest.raises(TypeError, match="one of `bounds`"):
        nll_gradient(parametric(lambda th, y: th * y[:, 0], 1.0), x)
    with pytest.raises(TypeError, match="`energy_of_theta` must be callable"):
        nll_gradient(parametric(None, 1.0), x, bounds=[(-9, 9)])
    normal = lambda y: -0.5 * y[:, 0] ** 2 - 0.5 * math.log(2 * math.pi)  # noqa: E731
    with pytest.raises(ValueError, match="must hold the mass of `data_log_prob`"):
        cross_entropy(e, normal, [(-3.0, 3.0)])
    with pytest.raises(ValueError, match=r"`bounds\[0\]` must be finite"):
        kl_divergence(e, normal, [(-np.inf, 3.0)])
    with pytest.raises(TypeError, match="`data_log_prob` must be callable"):
        entropy(3.0, [(-12.0, 12.0)])
    with pytest.raises(ValueError, match="`panels` must be >= 2"):
        entropy(normal, [(-12.0, 12.0)], panels=0)


def test_data_dimension_must_match_bounds_and_states():
    # data of dimension 2 against a 1-D box used to return a number (the NLL of the first
    # column's box and both columns' energies); now every mismatch is named
    e2 = lambda y: 0.5 * anp.sum(y**2, axis=1)  # noqa: E731
    x2 = make_rng(70).normal(size=(4, 2))
    with pytest.raises(ValueError, match=r"`bounds` must have one \(lo, hi\) pair per dimension "
                                         r"of `x` \(2\), got 1 pair"):
        negative_log_likelihood(e2, x2, bounds=[(-9.0, 9.0)])
    with pytest.raises(ValueError, match=r"`bounds` must have one \(lo, hi\) pair per dimension "
                                         r"of `x` \(1\), got 2 pair"):
        negative_log_likelihood(e2, x2[:, :1], bounds=[(-9.0, 9.0)] * 2)
    with pytest.raises(ValueError, match=r"`bounds` must have one \(lo, hi\) pair per dimension"):
        nll_gradient(parametric(lambda th, y: th * anp.sum(y**2, axis=1), 0.5), x2,
                     bounds=[(-9.0, 9.0)])
    with pytest.raises(ValueError, match=r"`states` must have shape \(n, 2\)"):
        negative_log_likelihood(e2, x2, states=np.zeros((4, 1)))
    with pytest.raises(TypeError, match=r"`energy` must be a ParametricEnergy.*"
                                        r"parametric\(energy_of_theta, theta\)"):
        nll_gradient(e2, x2, bounds=[(-9.0, 9.0)] * 2)
    # matched dimensions: the 2-D standard normal, log Z = log(2 pi), two ways
    nll = negative_log_likelihood(e2, x2, bounds=[(-np.inf, np.inf)] * 2)
    assert math.isclose(nll, np.mean(e2(x2)) + math.log(2 * math.pi), rel_tol=1e-9)


def test_nll_follows_float32_data():
    e = lambda y: 0.5 * y[:, 0] ** 2  # noqa: E731
    x = make_rng(71).normal(size=(5, 1))
    got64 = negative_log_likelihood(e, x, log_z=0.5 * math.log(2 * math.pi))
    got32 = negative_log_likelihood(e, x.astype(np.float32), log_z=0.5 * math.log(2 * math.pi))
    assert np.asarray(got64).dtype == np.float64 and np.asarray(got32).dtype == np.float32
    assert math.isclose(got32, got64, rel_tol=1e-6)
