"""Tests of refebm.objectives.nce (D19).

Independent computations: the loss written with densities and plain logarithms (no logits);
the population minimizer found by a deterministic optimizer (scipy trust-exact / BFGS with
autograd derivatives of the quadrature objective) against the true parameters and true log Z;
the minimum value by scipy.integrate.quad; a CLT check that the sample loss estimates the
population loss.

Random inputs feed exact checks (no false-failure rate applies), except in
test_sample_loss_estimates_population, which states its false-failure rate.
"""

import doctest
import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from scipy import integrate, optimize

import refebm.objectives.nce as nce
from refebm.objectives import nce_logit, nce_loss, nce_population_loss

from seeding import make_rng

LOG2PI = math.log(2 * math.pi)


def test_docstring_examples():
    assert doctest.testmod(nce, raise_on_error=False).failed == 0


def normal_log_prob(mean, var):
    return lambda x: -0.5 * (x[:, 0] - mean) ** 2 / var - 0.5 * math.log(2 * math.pi * var)


def quad_energy(theta):
    """E = a x^2 + b x (a Gaussian family in natural parameters), theta = (a, b)."""
    return lambda x: theta[0] * x[:, 0] ** 2 + theta[1] * x[:, 0]


def test_loss_by_densities():
    rng = make_rng(0)
    xd, xn = rng.normal(size=(7, 1)), rng.normal(size=(11, 1)) * 1.5
    theta, log_z, nu = np.array([0.4, -0.3]), 0.9, 2.5
    log_pn = normal_log_prob(0.0, 2.25)

    def direct(x):
        pm = np.exp(-quad_energy(theta)(x) - log_z)
        pn = np.exp(log_pn(x))
        return pm, pn

    pm, pn = direct(xd)
    term_d = np.log(pm / (pm + nu * pn)).mean()
    pm, pn = direct(xn)
    term_n = np.log(nu * pn / (pm + nu * pn)).mean()
    expected = -(term_d + nu * term_n)
    assert math.isclose(nce_loss(quad_energy(theta), log_z, xd, xn, log_pn, nu), expected,
                        rel_tol=1e-12)
    # default nu is n_noise / n_data
    assert math.isclose(nce_loss(quad_energy(theta), log_z, xd, xn, log_pn),
                        nce_loss(quad_energy(theta), log_z, xd, xn, log_pn, 11 / 7), rel_tol=1e-15)
    g = nce_logit(quad_energy(theta), log_z, xd, log_pn, nu)
    pm, pn = direct(xd)
    np.testing.assert_allclose(1 / (1 + np.exp(-g)), pm / (pm + nu * pn), rtol=1e-12)


def test_huge_energies_stay_finite():
    xd, xn = np.array([[100.0]]), np.array([[-100.0]])
    log_pn = normal_log_prob(0.0, 1.0)
    loss = nce_loss(lambda x: 1e4 * x[:, 0] ** 2, 0.0, xd, xn, log_pn, 1.0)
    assert np.isfinite(loss) and loss > 1e7  # -log sigma(G) ~ |G| for the data point
    g = autograd.grad(lambda c: nce_loss(lambda x: 1e4 * x[:, 0] ** 2, c, xd, xn, log_pn))(0.0)
    assert np.isfinite(g)


def _true_params(m, v):
    return np.array([1 / (2 * v), -m / v, m**2 / (2 * v) + 0.5 * math.log(2 * math.pi * v)])


@pytest.mark.parametrize("nu", [1.0, 3.0])
def test_population_minimizer_is_the_data_density_1d(nu):
    m, v = 0.7, 0.64
    log_pd, log_pn = normal_log_prob(m, v), normal_log_prob(0.0, 2.25)
    box = [(-12.0, 12.0)]

    def objective(p):
        return nce_population_loss(quad_energy(p[:2]), p[2], log_pd, log_pn, nu, box)

    truth = _true_params(m, v)
    grad_at_truth = autograd.grad(objective)(truth)
    assert np.max(np.abs(grad_at_truth)) < 1e-10
    res = optimize.minimize(objective, np.array([0.3, 0.0, 1.0]), method="trust-exact",
                            jac=autograd.grad(objective), hess=autograd.hessian(objective),
                            options={"gtol": 1e-12})
    np.testing.assert_allclose(res.x, truth, atol=1e-6)

    def min_integrand(t):
        pd = math.exp(log_pd(np.array([[t]]))[0])
        pn = math.exp(log_pn(np.array([[t]]))[0])
        return -(pd * math.log(pd / (pd + nu * pn)) + nu * pn * math.log(nu * pn / (pd + nu * pn)))

    minimum = integrate.quad(min_integrand, -12, 12, epsabs=1e-13, epsrel=1e-12, points=[m])[0]
    assert math.isclose(objective(truth), minimum, rel_tol=1e-9)


def test_population_minimizer_is_the_data_density_2d():
    m = np.array([0.5, -0.3])
    cov = np.array([[0.6, 0.2], [0.2, 0.4]])
    prec = np.linalg.inv(cov)
    log_det = math.log(np.linalg.det(cov))

    def log_pd(x):
        u = x - m
        return -0.5 * anp.sum((u @ prec) * u, axis=1) - 0.5 * log_det - LOG2PI

    def log_pn(x):
        return -0.5 * anp.sum(x * x, axis=1) / 2.25 - math.log(2.25) - LOG2PI

    def energy(p):  # E = x^T L x / 2 - h . x, L = [[p0, p2], [p2, p1]], h = (p3, p4)
        lam = anp.array([[p[0], p[2]], [p[2], p[1]]])
        return lambda x: 0.5 * anp.sum((x @ lam) * x, axis=1) - x @ p[3:5]

    box = [(-10.0, 10.0), (-10.0, 10.0)]
    nu = 2.0

    def objective(p):
        return nce_population_loss(energy(p), p[5], log_pd, log_pn, nu, box, panels=12)

    h = prec @ m
    log_z = 0.5 * m @ prec @ m + 0.5 * log_det + LOG2PI
    truth = np.array([prec[0, 0], prec[1, 1], prec[0, 1], h[0], h[1], log_z])
    res = optimize.minimize(objective, np.array([1.0, 1.0, 0.0, 0.0, 0.0, 2.0]),
                            method="trust-exact", jac=autograd.grad(objective),
                            hess=autograd.hessian(objective), options={"gtol": 1e-12})
    np.testing.assert_allclose(res.x, truth, atol=1e-6)


def test_sample_loss_estimates_population():
    """The sample NCE loss is an unbiased estimate of the population loss.

    Bound: CLT for the two independent sample means, |loss - population| <= 5.0 * sqrt(var_d /
    n_d + nu^2 var_n / n_n) with sample variances (n_d = 100000, n_n = 200000): false-failure
    rate 5.7e-7 (asymptotic).
    """
    rng = make_rng(1)
    m, v, nu = 0.7, 0.64, 2.0
    log_pd, log_pn = normal_log_prob(m, v), normal_log_prob(0.0, 2.25)
    theta, log_z = np.array([0.5, -0.4]), 1.2  # not the optimum
    xd = rng.normal(m, math.sqrt(v), size=(100_000, 1))
    xn = rng.normal(0.0, 1.5, size=(200_000, 1))
    loss = nce_loss(quad_energy(theta), log_z, xd, xn, log_pn, nu)
    pop = nce_population_loss(quad_energy(theta), log_z, log_pd, log_pn, nu, [(-12, 12)])
    gd = nce_logit(quad_energy(theta), log_z, xd, log_pn, nu)
    gn = nce_logit(quad_energy(theta), log_z, xn, log_pn, nu)
    td, tn = np.logaddexp(0, -gd), np.logaddexp(0, gn)  # -log sigma(G), -log sigma(-G)
    assert math.isclose(loss, td.mean() + nu * tn.mean(), rel_tol=1e-12)
    se = math.sqrt(td.var() / len(td) + nu**2 * tn.var() / len(tn))
    assert abs(loss - pop) <= 5.0 * se


def test_gradients_match_finite_differences():
    rng = make_rng(2)
    xd, xn = rng.normal(size=(6, 1)), rng.normal(size=(9, 1)) * 1.5
    log_pn = normal_log_prob(0.0, 2.25)
    log_pd = normal_log_prob(0.7, 0.64)
    fd = dict(modes=["rev"], order=1)
    check_grads(lambda p: nce_loss(quad_energy(p[:2]), p[2], xd, xn, log_pn, 1.5), **fd)(
        np.array([0.4, -0.2, 0.8]))
    check_grads(lambda p: nce_population_loss(quad_energy(p[:2]), p[2], log_pd, log_pn, 1.5,
                                              [(-12, 12)], panels=16), **fd)(
        np.array([0.4, -0.2, 0.8]))


def test_backends(xp, to_xp):
    rng = make_rng(3)
    xd, xn = rng.normal(size=(4, 1)), rng.normal(size=(6, 1))
    e = lambda x: 0.3 * x[:, 0] ** 2  # noqa: E731
    lpn = lambda x: -0.5 * x[:, 0] ** 2 - 0.5 * LOG2PI  # noqa: E731
    got = nce_loss(e, 0.5, to_xp(xd), to_xp(xn), lpn, 2.0)
    assert math.isclose(float(got), nce_loss(e, 0.5, xd, xn, lpn, 2.0), rel_tol=1e-12)


# ------------------------------------------------------------------------------- bad input

def test_bad_input():
    xd, xn = np.zeros((3, 1)), np.ones((4, 1))
    e = lambda x: x[:, 0] ** 2  # noqa: E731
    lpn = normal_log_prob(0.0, 1.0)
    lpd = normal_log_prob(0.0, 1.0)
    with pytest.raises(ValueError, match="`nu` must be > 0"):
        nce_loss(e, 0.0, xd, xn, lpn, 0.0)
    with pytest.raises(ValueError, match="`nu` must be > 0"):
        nce_logit(e, 0.0, xd, lpn, -1.0)
    with pytest.raises(ValueError, match="`nu` must be finite"):
        nce_loss(e, 0.0, xd, xn, lpn, np.nan)
    with pytest.raises(TypeError, match="`nu` must be a real number"):
        nce_loss(e, 0.0, xd, xn, lpn, "2")
    with pytest.raises(ValueError, match="`log_z` must be finite"):
        nce_loss(e, np.inf, xd, xn, lpn)
    with pytest.raises(TypeError, match="`log_z` must be a real number"):
        nce_loss(e, np.zeros(2), xd, xn, lpn)
    with pytest.raises(ValueError, match=r"`x_noise` must have shape \(n, 1\)"):
        nce_loss(e, 0.0, xd, np.ones((4, 2)), lpn)
    with pytest.raises(ValueError, match="`x_data` must have 2 dimension"):
        nce_loss(e, 0.0, np.zeros(3), xn, lpn)
    with pytest.raises(ValueError, match="`x_noise` must be finite"):
        nce_loss(e, 0.0, xd, np.full((2, 1), np.nan), lpn)
    with pytest.raises(ValueError, match="`x_noise` must not be empty"):
        nce_loss(e, 0.0, xd, np.ones((0, 1)), lpn)
    with pytest.raises(ValueError, match=r"`noise_log_prob` must return shape \(3,\)"):
        nce_loss(e, 0.0, xd, xn, lambda x: x)
    with pytest.raises(ValueError, match="`noise_log_prob` must return finite"):
        nce_loss(e, 0.0, xd, xn, lambda x: x[:, 0] * np.nan)
    with pytest.raises(TypeError, match="`noise_log_prob` must be callable"):
        nce_loss(e, 0.0, xd, xn, None)
    with pytest.raises(ValueError, match="`energy` returned NaN"):
        nce_loss(lambda x: x[:, 0] * np.nan, 0.0, xd, xn, lpn)
    with pytest.raises(ValueError, match=r"`energy` must return shape \(3,\)"):
        nce_loss(lambda x: x, 0.0, xd, xn, lpn)
    with pytest.raises(TypeError, match="`energy` must be callable"):
        nce_population_loss(1.0, 0.0, lpd, lpn, 1.0, [(-12, 12)])
    with pytest.raises(ValueError, match=r"`bounds\[0\]` must be finite"):
        nce_population_loss(e, 0.0, lpd, lpn, 1.0, [(-np.inf, 12)])
    with pytest.raises(ValueError, match="must hold the mass of `noise_log_prob`"):
        nce_population_loss(e, 0.0, lpd, normal_log_prob(0.0, 25.0), 1.0, [(-12, 12)])
    with pytest.raises(ValueError, match="`nu` must be > 0"):
        nce_population_loss(e, 0.0, lpd, lpn, 0.0, [(-12, 12)])
    with pytest.raises(ValueError, match="`tol` must be > 0"):
        nce_population_loss(e, 0.0, lpd, lpn, 1.0, [(-12, 12)], tol=-1.0)
    with pytest.raises(TypeError, match="`data_log_prob` must be callable"):
        nce_population_loss(e, 0.0, "p", lpn, 1.0, [(-12, 12)])


def test_float32_samples_give_a_float32_loss():
    rng = make_rng(90)
    xd, xn = rng.normal(size=(5, 1)), rng.normal(size=(7, 1))
    e = lambda x: 0.5 * x[:, 0] ** 2  # noqa: E731
    lpn = normal_log_prob(0.0, 1.0)
    l64 = nce_loss(e, 0.9, xd, xn, lpn)
    l32 = nce_loss(e, 0.9, xd.astype(np.float32), xn.astype(np.float32), lpn)
    assert np.asarray(l64).dtype == np.float64 and np.asarray(l32).dtype == np.float32
    assert np.isclose(l32, l64, rtol=1e-6)
    assert nce_logit(e, 0.9, xd.astype(np.float32), lpn, 1.0).dtype == np.float32
