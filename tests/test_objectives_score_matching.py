"""Tests of refebm.objectives.score_matching (D13-D18).

Independent computations:
- exact loss: the Gaussian terms written by hand; the loop-over-dimensions Hessian trace of
  refebm.diff; MLPEnergy's one-pass Laplacian against the stacked autograd pass;
- D13: Fisher divergence and data score norm by scipy.integrate (quad, cubature) with analytic
  scores, against the library's population loss on its own Gauss-Legendre grid;
- D16: the population DSM loss by a tensor Gauss-Hermite rule over (x, z) (exact for the
  polynomial scores used), against D_F(q_sigma, p_theta) by scipy plus the constant C written in
  closed form for Gaussian data;
- sliced SM: the mean over all 2^d Rademacher vectors equals the exact loss;
- D17: the control variate's conditional mean by Gauss-Hermite (exact: it is quadratic in z);
  the variances of the plain and corrected estimators in closed form (quadratic forms of
  Gaussians), checked against Gauss-Hermite and then against samples;
- closed forms: sample mean / 1/n covariance (numpy), and the minimizer of the generic loss by a
  deterministic optimizer (scipy trust-exact with autograd derivatives);
- gradients: central finite differences (autograd.test_util.check_grads).

Random parameters and points feed exact checks: no false-failure rate applies, except in
test_control_variate_sample_variances, which states its false-failure rate.
"""

import doctest
import itertools
import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from scipy import integrate, optimize

import refebm.objectives.score_matching as sm
from refebm.diff import hessian_trace
from refebm.diff import score as diff_score
from refebm.energies import MLPEnergy, NoiseConditionalMLP, random_mlp_weights
from refebm.objectives import (
    denoising_score_matching_loss,
    dsm_control_variate,
    fisher_divergence,
    multiscale_denoising_score_matching_loss,
    score_matching_exponential_family,
    score_matching_gaussian,
    score_matching_loss,
    score_matching_population_loss,
    sliced_score_matching_loss,
)

from seeding import make_rng, make_seed


def test_docstring_examples():
    for module in (sm, sm.exact, sm.denoising, sm.closed_form):
        assert doctest.testmod(module, raise_on_error=False).failed == 0


# ------------------------------------------------------------------------------- test models

def gaussian_energy(mean, prec):
    def energy(x):
        u = x - mean
        return 0.5 * anp.sum((u @ prec) * u, axis=1)
    return energy


# 1-D quartic E(x) = a x^4/4 + b x^3/3 + c x^2/2 + e x, score -(a x^3 + b x^2 + c x + e)
Q1 = (0.3, -0.2, 0.5, 0.1)


def quartic1(theta=Q1):
    a, b, c, e = theta
    return lambda x: (a * x[:, 0] ** 4 / 4 + b * x[:, 0] ** 3 / 3 + c * x[:, 0] ** 2 / 2
                      + e * x[:, 0])


def quartic1_score(x, theta=Q1):
    a, b, c, e = theta
    return -(a * x**3 + b * x**2 + c * x + e)


# 2-D polynomial E(x) = sum_i a_i x_i^4 / 4 + x^T C x / 2 + k x_0^2 x_1 + g . x
A2, C2 = np.array([0.2, 0.3]), np.array([[0.8, 0.2], [0.2, 0.6]])
K2, G2 = 0.15, np.array([0.1, -0.3])


def poly2(x):
    return (anp.sum(A2 * x**4, axis=1) / 4 + 0.5 * anp.sum((x @ C2) * x, axis=1)
            + K2 * x[:, 0] ** 2 * x[:, 1] + x @ G2)


def poly2_score(x):
    s = -(A2 * x**3 + x @ C2 + G2)
    s[:, 0] -= 2 * K2 * x[:, 0] * x[:, 1]
    s[:, 1] -= K2 * x[:, 0] ** 2
    return s


def mixture1():
    w, m, s = np.array([0.3, 0.7]), np.array([-1.0, 1.5]), np.array([0.5, 0.8])

    def log_prob(x):
        comp = -0.5 * ((x[:, :1] - m) / s) ** 2 - np.log(s) - 0.5 * math.log(2 * math.pi)
        return autograd.scipy.special.logsumexp(comp + np.log(w), axis=1)

    def pdf_score(t):
        comp = w * np.exp(-0.5 * ((t - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        return comp.sum(), (comp * (-(t - m) / s**2)).sum() / comp.sum()

    return log_prob, pdf_score


def mixture2():
    w = np.array([0.35, 0.65])
    means = np.array([[-1.0, 0.5], [1.2, -0.4]])
    covs = np.array([[[0.6, 0.2], [0.2, 0.5]], [[0.9, -0.3], [-0.3, 0.7]]])
    precs = np.linalg.inv(covs)
    logdets = np.linalg.slogdet(covs)[1]

    def comps(x):
        u = x[:, None, :] - means  # (n, 2, 2)
        quad = anp.einsum("nki,kij,nkj->nk", u, precs, u)
        return -0.5 * quad - 0.5 * logdets - math.log(2 * math.pi) + np.log(w)

    def log_prob(x):
        return autograd.scipy.special.logsumexp(comps(x), axis=1)

    def score(x):
        c = comps(x)
        r = np.exp(c - log_prob(x)[:, None])
        u = x[:, None, :] - means
        return -np.einsum("nk,kij,nkj->ni", r, precs, u)

    return log_prob, score


# ----------------------------------------------------------------------------- exact loss

def test_exact_loss_gaussian_closed_form():
    rng = make_rng(0)
    d = 3
    a = rng.normal(size=(d, d))
    prec = a @ a.T + np.eye(d)
    mean = rng.normal(size=d)
    x = rng.normal(size=(9, d))
    u = x - mean
    expected = 0.5 * np.sum((u @ prec) ** 2, axis=1) - np.trace(prec)
    got = score_matching_loss(gaussian_energy(mean, prec), x, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert math.isclose(score_matching_loss(gaussian_energy(mean, prec), x), expected.mean(),
                        rel_tol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "softplus", "swish"])
def test_exact_loss_mlp_one_pass_equals_autograd(activation):
    rng = make_rng(1)
    w = random_mlp_weights([3, 6, 5, 1], rng, bias_scale=0.5)
    x = rng.normal(size=(7, 3))
    e = MLPEnergy(w, activation)
    one_pass = score_matching_loss(e, x, reduction="none")
    generic = score_matching_loss(lambda y: e(y), x, reduction="none")
    s = diff_score(e.energy)(x)
    loop = 0.5 * np.sum(s**2, axis=1) + hessian_trace(e.energy)(x)
    np.testing.assert_allclose(one_pass, loop, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(generic, loop, rtol=1e-10, atol=1e-12)
    # the gradients in the weights agree too
    g1 = autograd.grad(lambda w: score_matching_loss(MLPEnergy(w, activation), x))(w)
    g2 = autograd.grad(lambda w: score_matching_loss(lambda y: MLPEnergy(w, activation)(y), x))(w)
    for p1, p2 in zip(g1, g2):
        np.testing.assert_allclose(p1[0], p2[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(p1[1], p2[1], rtol=1e-10, atol=1e-12)


def test_exact_loss_energy_form_and_the_garbled_one():
    """E_data[1/2 |grad E|^2 - Laplacian E], not a sum of squared second derivatives.

    The points are a fixed grid, not a draw: the claim is about two formulas, and how far apart
    they are depends on the points (a random draw put them 0.03 apart once)."""
    x = np.stack(np.meshgrid(np.linspace(-1.5, 1.5, 4), np.linspace(-1.0, 2.0, 3)),
                 axis=-1).reshape(-1, 2)[:11]
    e = poly2(x)
    s = poly2_score(x)
    lap_e = (3 * A2 * x**2).sum(axis=1) + np.trace(C2) + 2 * K2 * x[:, 1]
    correct = np.mean(0.5 * np.sum(s**2, axis=1) - lap_e)
    assert math.isclose(score_matching_loss(poly2, x), correct, rel_tol=1e-12)
    second = np.stack([3 * A2[0] * x[:, 0] ** 2 + C2[0, 0] + 2 * K2 * x[:, 1],
                       3 * A2[1] * x[:, 1] ** 2 + C2[1, 1]], axis=1)
    garbled = np.mean(0.5 * np.sum(second**2, axis=1))
    assert abs(garbled - correct) > 0.1
    assert e.shape == (11,)


# ---------------------------------------------------------------------- D13: Fisher identity

def test_population_identity_1d():
    log_p, pdf_score = mixture1()
    model = quartic1()
    opts = dict(epsabs=1e-13, epsrel=1e-12, limit=400, points=[-1.0, 1.5])

    def fisher_integrand(t):
        p, sd = pdf_score(t)
        return 0.5 * p * (sd - quartic1_score(t)) ** 2

    def data_sq(t):
        p, sd = pdf_score(t)
        return 0.5 * p * sd**2

    fisher = integrate.quad(fisher_integrand, -15, 15, **opts)[0]
    half_sq = integrate.quad(data_sq, -15, 15, **opts)[0]
    pop = score_matching_population_loss(model, log_p, [(-15.0, 15.0)])
    assert math.isclose(pop + half_sq, fisher, rel_tol=1e-9)
    assert math.isclose(fisher_divergence(model, log_p, [(-15.0, 15.0)]), fisher, rel_tol=1e-9)


def test_population_identity_1d_mlp_model():
    log_p, pdf_score = mixture1()
    e = MLPEnergy(random_mlp_weights([1, 8, 8, 1], make_seed(3), bias_scale=0.5), "softplus")
    opts = dict(epsabs=1e-13, epsrel=1e-12, limit=400, points=[-1.0, 1.5])

    def fisher_integrand(t):
        p, sd = pdf_score(t)
        return 0.5 * p * (sd - e.score(np.array([[t]]))[0, 0]) ** 2

    fisher = integrate.quad(fisher_integrand, -15, 15, **opts)[0]
    half_sq = integrate.quad(lambda t: 0.5 * pdf_score(t)[0] * pdf_score(t)[1] ** 2, -15, 15,
                             **opts)[0]
    pop = score_matching_population_loss(e, log_p, [(-15.0, 15.0)])
    assert math.isclose(pop + half_sq, fisher, rel_tol=1e-9)


def test_population_identity_2d():
    log_p, data_score = mixture2()
    box = [(-10.0, 10.0), (-10.0, 10.0)]

    def integrands(x):
        p = np.exp(log_p(x))
        sd = data_score(x)
        diff = sd - poly2_score(x)
        return np.stack([0.5 * p * np.sum(diff**2, axis=1), 0.5 * p * np.sum(sd**2, axis=1)], 1)

    ref = integrate.cubature(integrands, [-10, -10], [10, 10], rtol=1e-12, atol=1e-15).estimate
    pop = score_matching_population_loss(poly2, log_p, box)
    assert math.isclose(pop + ref[1], ref[0], rel_tol=1e-9)


# ------------------------------------------------------------------------------ sliced SM

def _all_rademacher(n, d):
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))  # (2^d, d)
    return np.broadcast_to(signs[:, None, :], (2**d, n, d)).copy()


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_sliced_all_rademacher_equals_exact(d):
    rng = make_rng(10 + d)
    e = MLPEnergy(random_mlp_weights([d, 5, 1], rng, bias_scale=0.5), "tanh")
    x = rng.normal(size=(4, d))
    exact = score_matching_loss(e, x, reduction="none")
    v = _all_rademacher(4, d)
    for vr in (False, True):
        sliced = sliced_score_matching_loss(e, x, v, variance_reduced=vr, reduction="none")
        np.testing.assert_allclose(sliced, exact, rtol=1e-12, atol=1e-12)
    assert math.isclose(sliced_score_matching_loss(e, x, v), float(np.mean(exact)),
                        rel_tol=1e-12, abs_tol=1e-12)


def test_sliced_single_vectors_by_hand():
    """One vector per point, (n, d) or (1, n, d): v^T H v + (v^T s)^2 / 2 for a Gaussian."""
    rng = make_rng(12)
    prec = np.array([[2.0, 0.5], [0.5, 1.0]])
    mean = np.array([0.3, -0.1])
    x = rng.normal(size=(6, 2))
    v = rng.normal(size=(6, 2))
    s = -(x - mean) @ prec
    expected = -np.sum((v @ prec) * v, axis=1) + 0.5 * np.sum(v * s, axis=1) ** 2
    energy = gaussian_energy(mean, prec)
    got = sliced_score_matching_loss(energy, x, v, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_array_equal(sliced_score_matching_loss(energy, x, v[None]), np.mean(got))
    vr = sliced_score_matching_loss(energy, x, v, variance_reduced=True, reduction="none")
    np.testing.assert_allclose(vr, expected - 0.5 * np.sum(v * s, axis=1) ** 2
                               + 0.5 * np.sum(s**2, axis=1), rtol=1e-12)


# ------------------------------------------------------------------------------ DSM (D16)

def test_dsm_by_hand_and_paths_agree():
    rng = make_rng(20)
    x, z = rng.normal(size=(8, 2)), rng.normal(size=(8, 2))
    sigma = 0.37
    expected = 0.5 * np.sum((poly2_score(x + sigma * z) + z / sigma) ** 2, axis=1)
    np.testing.assert_allclose(
        denoising_score_matching_loss(poly2, x, z, sigma, reduction="none"), expected,
        rtol=1e-12)
    np.testing.assert_allclose(
        denoising_score_matching_loss(None, x, z, sigma, score=poly2_score, reduction="none"),
        expected, rtol=1e-12)
    e = MLPEnergy(random_mlp_weights([2, 6, 1], rng, bias_scale=0.3), "swish")
    np.testing.assert_allclose(
        denoising_score_matching_loss(e, x, z, sigma),  # analytic MLP score
        denoising_score_matching_loss(lambda y: e(y), x, z, sigma),  # autograd
        rtol=1e-12)


def _gh(n):
    """Probabilists' Gauss-Hermite nodes and weights normalized to N(0, 1)."""
    t, w = np.polynomial.hermite_e.hermegauss(n)
    return t, w / math.sqrt(2 * math.pi)


def _dsm_population(x_nodes, x_weights, sigma, model_kw, d):
    """E_{x, z} of the DSM terms on tensor Gauss-Hermite nodes (x from the data rule)."""
    tz, wz = _gh(10)
    z = np.array(list(itertools.product(tz, repeat=d)))
    wz = np.prod(np.array(list(itertools.product(wz, repeat=d))), axis=1)
    xs = np.repeat(x_nodes, len(z), axis=0)
    zs = np.tile(z, (len(x_nodes), 1))
    weights = np.repeat(x_weights, len(z)) * np.tile(wz, len(x_nodes))
    terms = denoising_score_matching_loss(model_kw.get("energy"), xs, zs, sigma,
                                          score=model_kw.get("score"), reduction="none")
    return float(np.sum(weights * terms))


def test_dsm_population_identity_1d():
    m, v, sigma = 0.4, 0.49, 0.5
    tx, wx = _gh(10)
    pop = _dsm_population((m + math.sqrt(v) * tx)[:, None], wx, sigma, {"energy": quartic1()}, 1)
    s2 = v + sigma**2  # q_sigma = N(m, v + sigma^2)

    def integrand(t):
        q = math.exp(-0.5 * (t - m) ** 2 / s2) / math.sqrt(2 * math.pi * s2)
        return 0.5 * q * (-(t - m) / s2 - quartic1_score(t)) ** 2

    fisher = integrate.quad(integrand, -15, 15, epsabs=1e-13, epsrel=1e-12, points=[m])[0]
    const = 1 / (2 * sigma**2) - 0.5 / s2
    assert math.isclose(pop, fisher + const, rel_tol=1e-9)


def test_dsm_population_identity_2d():
    m = np.array([0.3, -0.5])
    cov = np.array([[0.7, 0.25], [0.25, 0.5]])
    sigma = 0.4
    chol = np.linalg.cholesky(cov)
    tx, wx = _gh(8)
    u = np.array(list(itertools.product(tx, repeat=2)))
    wu = np.prod(np.array(list(itertools.product(wx, repeat=2))), axis=1)
    pop = _dsm_population(m + u @ chol.T, wu, sigma, {"score": poly2_score}, 2)
    s_cov = cov + sigma**2 * np.eye(2)
    s_prec = np.linalg.inv(s_cov)

    def integrand(x):
        diffm = x - m
        q = np.exp(-0.5 * np.sum((diffm @ s_prec) * diffm, axis=1)) / (
            2 * math.pi * math.sqrt(np.linalg.det(s_cov)))
        r = -diffm @ s_prec - poly2_score(x)
        return 0.5 * q * np.sum(r**2, axis=1)

    fisher = integrate.cubature(integrand, [-12, -12], [12, 12], rtol=1e-12, atol=1e-15).estimate
    const = 2 / (2 * sigma**2) - 0.5 * np.trace(s_prec)
    assert math.isclose(pop, fisher + const, rel_tol=1e-9)


def test_dsm_population_minimized_by_noisy_density():
    """For Gaussian data the DSM optimum over Gaussian models is N(m, v + sigma^2), not the data."""
    m, v, sigma = 0.4, 0.49, 0.5
    tx, wx = _gh(10)
    x_nodes = (m + math.sqrt(v) * tx)[:, None]

    def pop(theta):
        mu, log_s2 = theta
        return _dsm_population(x_nodes, wx, sigma,
                               {"score": lambda y: -(y - mu) / anp.exp(log_s2)}, 1)

    res = optimize.minimize(pop, [0.0, 0.0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
    np.testing.assert_allclose(res.x, [m, math.log(v + sigma**2)], atol=1e-6)


# --------------------------------------------------------------------- control variate (D17)

def test_control_variate_zero_conditional_mean_and_cancellation_free_form():
    rng = make_rng(30)
    x = rng.normal(size=(5, 2))
    tz, wz = _gh(6)
    z = np.array(list(itertools.product(tz, repeat=2)))
    wzz = np.prod(np.array(list(itertools.product(wz, repeat=2))), axis=1)
    for sigma in (0.05, 0.5):
        for i in range(5):
            xi = np.repeat(x[i:i + 1], len(z), axis=0)
            c = dsm_control_variate(None, xi, z, sigma, score=poly2_score)
            assert abs(np.sum(wzz * c)) <= 1e-12 / sigma**2  # E_z[c | x] = 0 exactly
        zz = rng.normal(size=(5, 2))
        plain = denoising_score_matching_loss(None, x, zz, sigma, score=poly2_score,
                                              reduction="none")
        cv = denoising_score_matching_loss(None, x, zz, sigma, score=poly2_score,
                                           control_variate=True,
                                           reduction="none")
        c = dsm_control_variate(None, x, zz, sigma, score=poly2_score)
        np.testing.assert_allclose(cv, plain - c, rtol=1e-9, atol=1e-12 / sigma**2)


def test_control_variate_taylor_remainder_is_order_sigma_squared():
    """E_z[l - c | x] - d / (2 sigma^2) - (1/2 |s|^2 + tr grad s)(x) = O(sigma^2) (docstring)."""
    x = np.array([[-0.7], [0.2], [1.1]])
    tz, wz = _gh(12)
    exact = score_matching_loss(quartic1(), x, reduction="none")
    ratios = []
    for sigma in (0.1, 0.05, 0.025):
        remainder = []
        for i in range(3):
            xi = np.repeat(x[i:i + 1], len(tz), axis=0)
            cv = denoising_score_matching_loss(quartic1(), xi, tz[:, None], sigma,
                                               control_variate=True, reduction="none")
            remainder.append(np.sum(wz * cv) - 1 / (2 * sigma**2) - exact[i])
        ratios.append(np.array(remainder) / sigma**2)
    # remainder / sigma^2 converges (a polynomial in sigma^2): successive gaps shrink by 4
    gap1, gap2 = ratios[0] - ratios[1], ratios[1] - ratios[2]
    # (an O(sigma) remainder would give 2; the ratio is 4 + O(sigma^2))
    np.testing.assert_allclose(gap1 / gap2, 4.0, rtol=0.05)


def _gaussian_setup():
    prec = np.array([[1.5, 0.4], [0.4, 0.8]])  # model N(mu, prec^-1)
    mu = np.array([0.2, -0.3])
    m = np.array([0.5, 0.1])  # data N(m, cov)
    cov = np.array([[0.9, -0.2], [-0.2, 0.6]])
    return prec, mu, m, cov


def _quadratic_forms(sigma, prec, mu, m, cov, cv_scale):
    """(A, b, k) with l - cv_scale * c = w^T A w + b^T w + k.

    w = (x, z) ~ N((m, 0), diag(cov, I)).
    """
    d = 2
    eye = np.eye(d)
    big_m = np.hstack([-prec, eye / sigma - sigma * prec])
    c0 = prec @ mu
    a = 0.5 * big_m.T @ big_m
    b = big_m.T @ c0
    k = 0.5 * c0 @ c0
    a_c = np.zeros((2 * d, 2 * d))
    a_c[:d, d:] = -prec / (2 * sigma)
    a_c[d:, :d] = -prec / (2 * sigma)
    a_c[d:, d:] = eye / (2 * sigma**2)
    b_c = np.concatenate([np.zeros(d), prec @ mu / sigma])
    k_c = -d / (2 * sigma**2)
    return a - cv_scale * a_c, b - cv_scale * b_c, k - cv_scale * k_c


def _moments(a, b, k, m, cov):
    mw = np.concatenate([m, np.zeros(2)])
    om = np.zeros((4, 4))
    om[:2, :2] = cov
    om[2:, 2:] = np.eye(2)
    mean = np.trace(a @ om) + mw @ a @ mw + b @ mw + k
    lin = 2 * a @ mw + b
    var = 2 * np.trace(a @ om @ a @ om) + lin @ om @ lin
    return mean, var


def test_control_variate_closed_form_variances():
    prec, mu, m, cov = _gaussian_setup()
    energy = gaussian_energy(mu, prec)
    # closed forms against Gauss-Hermite sums of the library's per-point terms (exact: degree 4)
    t, w = _gh(6)
    u = np.array(list(itertools.product(t, repeat=4)))
    wu = np.prod(np.array(list(itertools.product(w, repeat=4))), axis=1)
    x = m + u[:, :2] @ np.linalg.cholesky(cov).T
    z = u[:, 2:]
    for sigma in (0.3, 0.05):
        for cv, scale in ((False, 0.0), (True, 1.0)):
            terms = denoising_score_matching_loss(energy, x, z, sigma, control_variate=cv,
                                                  reduction="none")
            mean, var = _moments(*_quadratic_forms(sigma, prec, mu, m, cov, scale), m, cov)
            q_mean = np.sum(wu * terms)
            assert math.isclose(q_mean, mean, rel_tol=1e-10)
            assert math.isclose(np.sum(wu * terms**2) - q_mean**2, var, rel_tol=1e-8)
    # scaling as sigma -> 0: plain value variance ~ d / (2 sigma^4); corrected one bounded;
    # Wang's unhalved c (twice ours) leaves the 1/sigma^4 term in place for this loss
    limits = []
    for sigma in (1e-2, 1e-3, 1e-4):
        v_plain = _moments(*_quadratic_forms(sigma, prec, mu, m, cov, 0.0), m, cov)[1]
        v_cv = _moments(*_quadratic_forms(sigma, prec, mu, m, cov, 1.0), m, cov)[1]
        v_twice = _moments(*_quadratic_forms(sigma, prec, mu, m, cov, 2.0), m, cov)[1]
        assert math.isclose(v_plain * sigma**4, 1.0, rel_tol=20 * sigma**2)  # d / 2 = 1
        assert math.isclose(v_twice * sigma**4, 1.0, rel_tol=20 * sigma**2)
        limits.append(v_cv)
    assert abs(limits[1] - limits[2]) < 1e-2 * limits[2] and limits[2] < 10.0
    # gradient in mu: plain covariance ~ prec^2 / sigma^2, corrected bounded (closed form,
    # checked against autograd at sample points)
    for sigma in (0.1, 0.01):
        big_m = np.hstack([-prec, np.eye(2) / sigma - sigma * prec])
        corr = np.hstack([-prec, -sigma * prec])
        om = np.block([[cov, np.zeros((2, 2))], [np.zeros((2, 2)), np.eye(2)]])
        g_plain = prec @ big_m @ om @ big_m.T @ prec
        g_cv = prec @ corr @ om @ corr.T @ prec
        assert np.trace(g_plain) * sigma**2 == pytest.approx(np.trace(prec @ prec), rel=0.05)
        limit = prec @ prec @ cov @ prec @ prec  # sigma -> 0 limit of the corrected one
        assert np.trace(g_cv) == pytest.approx(np.trace(limit), rel=0.05)
        xs, zs = x[:3], z[:3]
        for cv, mat in ((False, big_m), (True, corr)):
            jac = autograd.jacobian(lambda mu_: denoising_score_matching_loss(
                gaussian_energy(mu_, prec), xs, zs, sigma, control_variate=cv,
                reduction="none"))(mu)
            expected = (np.hstack([xs, zs]) @ mat.T + prec @ mu) @ prec
            np.testing.assert_allclose(jac, expected, rtol=1e-9, atol=1e-9)


def test_control_variate_sample_variances():
    """Samples agree with the closed-form mean of c (0) and variances of l and l - c.

    Bounds: CLT for a mean, |mean - mu| <= 5.0 * sd / sqrt(N), and for a sample variance,
    |s^2 - var| <= 5.0 * sqrt(m4 - s^4) / sqrt(N) (m4 the sample fourth central moment; the
    terms are quadratic forms of Gaussians, so all moments exist; chi-square bounds would need
    Gaussian terms and do not apply). Two-sided 5.0-sigma normal tail: false-failure rate
    5.7e-7 per assertion (asymptotic, N = 200000).
    """
    prec, mu, m, cov = _gaussian_setup()
    sigma = 0.1
    n = 200_000
    rng = make_rng(31)
    x = m + rng.normal(size=(n, 2)) @ np.linalg.cholesky(cov).T
    z = rng.normal(size=(n, 2))
    energy = gaussian_energy(mu, prec)
    c = dsm_control_variate(energy, x, z, sigma)
    assert abs(c.mean()) <= 5.0 * c.std() / math.sqrt(n)
    for cv, scale in ((False, 0.0), (True, 1.0)):
        terms = denoising_score_matching_loss(energy, x, z, sigma, control_variate=cv,
                                              reduction="none")
        mean, var = _moments(*_quadratic_forms(sigma, prec, mu, m, cov, scale), m, cov)
        s2 = terms.var()
        m4 = np.mean((terms - terms.mean()) ** 4)
        assert abs(terms.mean() - mean) <= 5.0 * math.sqrt(s2 / n)
        assert abs(s2 - var) <= 5.0 * math.sqrt((m4 - s2**2) / n)


# ----------------------------------------------------------------------------- multi-scale

def test_multiscale_is_weighted_mean_of_single_levels():
    rng = make_rng(40)
    x = rng.normal(size=(6, 2))
    sigmas = np.array([1.0, 0.5, 0.1])
    noise = rng.normal(size=(3, 6, 2))
    net = NoiseConditionalMLP(random_mlp_weights([3, 5, 1], rng, bias_scale=0.3), "tanh")
    per_level = np.array([
        s**2 * denoising_score_matching_loss(None, x, noise[i], s,
                                             score=lambda y, s=s: net.score(y, s))
        for i, s in enumerate(sigmas)])
    got = multiscale_denoising_score_matching_loss(net, x, noise, sigmas,
                                                   reduction="none")
    np.testing.assert_allclose(got, per_level, rtol=1e-12)
    generic = multiscale_denoising_score_matching_loss(lambda y, s: net.energy(y, s), x, noise,
                                                       sigmas)
    assert math.isclose(generic, per_level.mean(), rel_tol=1e-12)
    weights = np.array([1.0, 2.0, 0.0])
    got_w = multiscale_denoising_score_matching_loss(None, x, noise, sigmas, score=net.score,
                                                     weights=weights)
    assert math.isclose(got_w, np.mean(weights * per_level / sigmas**2), rel_tol=1e-12)


def test_multiscale_with_labels_equals_every_level_and_ncsn_loss():
    rng = make_rng(41)
    n, d = 5, 2
    x = rng.normal(size=(n, d))
    sigmas = np.array([1.0, 0.5, 0.1])
    noise = rng.normal(size=(3, n, d))
    net = NoiseConditionalMLP(random_mlp_weights([3, 5, 1], rng, bias_scale=0.3), "tanh")
    # every point repeated once at every level, with the same noise: the two forms are equal
    labels = np.repeat(np.arange(3), n)
    x_rep, z_rep = np.tile(x, (3, 1)), noise.reshape(3 * n, d)
    for model, kw in ((net, {}), (None, {"score": net.score}),
                      (lambda y, s: net.energy(y, s), {})):
        by_label = multiscale_denoising_score_matching_loss(model, x_rep, z_rep, sigmas,
                                                            labels=labels, **kw)
        average = multiscale_denoising_score_matching_loss(model, x, noise, sigmas, **kw)
        assert math.isclose(by_label, average, rel_tol=1e-12)
    # per-point terms against a loop over points written here (lambda = sigma^2 by default)
    labels = np.array([2, 0, 1, 1, 0])
    terms = multiscale_denoising_score_matching_loss(None, x, noise[0], sigmas, score=net.score,
                                                     labels=labels, reduction="none")
    want = [sigmas[l]**2 * 0.5 * np.sum((net.score(x[i:i + 1] + sigmas[l] * noise[0][i:i + 1],
                                                   sigmas[l]) + noise[0][i] / sigmas[l])**2)
            for i, l in enumerate(labels)]
    np.testing.assert_allclose(terms, want, rtol=1e-12)
    w = np.array([3.0, 0.5, 2.0])
    weighted = multiscale_denoising_score_matching_loss(None, x, noise[0], sigmas, score=net.score,
                                                        labels=labels, weights=w)
    assert math.isclose(weighted, np.mean(w[labels] / sigmas[labels]**2 * np.array(want)),
                        rel_tol=1e-12)
    # the NCSN loss of refebm.generation (which delegates here) is the same number
    from refebm.generation import ncsn_loss
    assert math.isclose(ncsn_loss(net.score, x, labels, noise[0], sigmas),
                        multiscale_denoising_score_matching_loss(None, x, noise[0], sigmas,
                                                                 score=net.score, labels=labels),
                        rel_tol=1e-12)


def test_bad_input_multiscale_labels():
    x, z, sig = np.zeros((3, 2)), np.ones((3, 2)), np.array([1.0, 0.5])
    s = lambda y, sg: -y  # noqa: E731
    with pytest.raises(TypeError, match="`labels` must be an integer array"):
        multiscale_denoising_score_matching_loss(None, x, z, sig, score=s, labels=np.zeros(3))
    with pytest.raises(ValueError, match=r"`labels` must have shape \(3,\)"):
        multiscale_denoising_score_matching_loss(None, x, z, sig, score=s, labels=np.zeros(2, int))
    with pytest.raises(ValueError, match=r"`labels` must lie in 0..1"):
        multiscale_denoising_score_matching_loss(None, x, z, sig, score=s,
                                                 labels=np.array([0, 2, 1]))
    with pytest.raises(ValueError, match=r"`noise` must have shape \(3, 2\) \(one row per point\)"):
        multiscale_denoising_score_matching_loss(None, x, np.ones((2, 3, 2)), sig, score=s,
                                                 labels=np.array([0, 1, 1]))


# ------------------------------------------------------------ score models (score=) in SM and SSM

def _linear_field(d, rng):
    """A score field s(x) = A x + b with A not symmetric: not the gradient of any energy; its
    divergence is tr A and v^T (grad s) v = v^T A v, exactly."""
    a = rng.normal(size=(d, d))
    b = rng.normal(size=d)
    return a, b, (lambda y: y @ a.T + b)


def test_score_models_in_exact_and_sliced_score_matching():
    rng = make_rng(60)
    n, d = 7, 3
    x = rng.normal(size=(n, d))
    a, b, field = _linear_field(d, rng)
    s = x @ a.T + b
    want = 0.5 * np.sum(s * s, axis=1) + np.trace(a)
    np.testing.assert_allclose(score_matching_loss(None, x, score=field, reduction="none"), want,
                               rtol=1e-12)
    v = rng.normal(size=(4, n, d))
    sliced = sliced_score_matching_loss(None, x, v, score=field, reduction="none")
    by_hand = np.mean(np.einsum("mni,ij,mnj->mn", v, a, v)
                      + 0.5 * np.einsum("mni,ni->mn", v, s) ** 2, axis=0)
    np.testing.assert_allclose(sliced, by_hand, rtol=1e-12)
    vr = sliced_score_matching_loss(None, x, v, score=field, variance_reduced=True,
                                    reduction="none")
    np.testing.assert_allclose(vr, np.mean(np.einsum("mni,ij,mnj->mn", v, a, v), axis=0)
                               + 0.5 * np.sum(s * s, axis=1), rtol=1e-12)
    # all 2^d Rademacher vectors: the sliced loss of a score model is the exact one
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))
    v_all = np.broadcast_to(signs[:, None, :], (len(signs), n, d)).copy()
    assert math.isclose(sliced_score_matching_loss(None, x, v_all, score=field,
                                                   variance_reduced=True),
                        score_matching_loss(None, x, score=field), rel_tol=1e-12)
    # a score that is -grad E gives the energy's values
    e = MLPEnergy(random_mlp_weights([d, 6, 1], rng, bias_scale=0.3), "tanh")
    np.testing.assert_allclose(
        sliced_score_matching_loss(None, x, v, score=lambda y: -autograd.grad(
            lambda z: anp.sum(e(z)))(y), reduction="none"),
        sliced_score_matching_loss(e, x, v, reduction="none"), rtol=1e-12)
    np.testing.assert_allclose(score_matching_loss(None, x, score=e.score, reduction="none"),
                               score_matching_loss(e, x, reduction="none"), rtol=1e-10)
    # parameter gradients flow through a score model (autograd against finite differences)
    check_grads(lambda aa: sliced_score_matching_loss(None, x, v, score=lambda y: y @ aa.T),
                modes=["rev"], order=1)(a)
    check_grads(lambda aa: score_matching_loss(None, x, score=lambda y: y @ aa.T),
                modes=["rev"], order=1)(a)


def test_population_and_fisher_accept_score_models():
    log_p = lambda y: -0.5 * y[:, 0] ** 2 - 0.5 * math.log(2 * math.pi)  # noqa: E731
    shift = lambda y: -(y - 1.0)          # noqa: E731  the score of N(1, 1)
    assert math.isclose(fisher_divergence(None, log_p, [(-12, 12)], score=shift), 0.5,
                        rel_tol=1e-12)
    assert math.isclose(score_matching_population_loss(None, log_p, [(-12, 12)], score=shift),
                        score_matching_population_loss(lambda y: 0.5 * (y[:, 0] - 1.0) ** 2,
                                                       log_p, [(-12, 12)]), rel_tol=1e-12)


# --------------------------------------------------------------------------------- dtype rule

def _dtype_cases():
    e = lambda y: 0.5 * anp.sum(y**2, axis=1) + 0.1 * anp.sum(y**3, axis=1)  # noqa: E731
    s = lambda y: -y - 0.3 * y**2  # noqa: E731
    cond = lambda y, sg: -y / (1.0 + anp.reshape(sg, (-1, 1)) ** 2)  # noqa: E731  (n,) or scalar
    return {
        "score_matching_loss": lambda x, z: score_matching_loss(e, x),
        "score_matching_loss(score=)": lambda x, z: score_matching_loss(None, x, score=s),
        "sliced": lambda x, z: sliced_score_matching_loss(e, x, z),
        "sliced(score=)": lambda x, z: sliced_score_matching_loss(None, x, z, score=s),
        "dsm": lambda x, z: denoising_score_matching_loss(e, x, z, 0.3),
        "dsm_cv": lambda x, z: denoising_score_matching_loss(None, x, z, 0.3, score=s,
                                                             control_variate=True),
        "control_variate": lambda x, z: dsm_control_variate(None, x, z, 0.3, score=s),
        "multiscale": lambda x, z: multiscale_denoising_score_matching_loss(
            None, x, np.stack([z, z]), np.array([1.0, 0.5]), score=cond),
        "multiscale_labels": lambda x, z: multiscale_denoising_score_matching_loss(
            None, x, z, np.array([1.0, 0.5]), score=cond, labels=np.arange(len(x)) % 2),
    }


@pytest.mark.parametrize("name", list(_dtype_cases()))
def test_float64_unless_float32_on_purpose(name):
    fn = _dtype_cases()[name]
    rng = make_rng("dtype", name)
    x, z = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    out64 = np.asarray(fn(x, z))
    out32 = np.asarray(fn(x.astype(np.float32), z.astype(np.float32)))
    assert out64.dtype == np.float64 and out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=2e-4, atol=1e-5)
    # float32 data with float64 noise or projections (not every array float32): float64
    if name not in ("score_matching_loss", "score_matching_loss(score=)"):
        assert np.asarray(fn(x.astype(np.float32), z)).dtype == np.float64


# ---------------------------------------------------------------------------- closed forms

def test_gaussian_closed_form_is_mle_and_generic_minimizer():
    rng = make_rng(50)
    x = rng.normal(size=(40, 2)) @ np.array([[1.0, 0.3], [0.0, 0.7]]) + np.array([0.5, -1.0])
    fit = score_matching_gaussian(x)
    np.testing.assert_allclose(fit.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(fit.cov, np.cov(x.T, bias=True), rtol=1e-12)

    def loss(theta):  # natural parameters: log p = h . x - x^T L x / 2, L = [[a, c], [c, b]]
        h, (a, b, c) = theta[:2], theta[2:]
        lam = anp.array([[a, c], [c, b]])
        return score_matching_loss(lambda y: -(y @ h) + 0.5 * anp.sum((y @ lam) * y, axis=1), x)

    res = optimize.minimize(loss, np.array([0.0, 0.0, 1.0, 1.0, 0.0]), method="trust-exact",
                            jac=autograd.grad(loss), hess=autograd.hessian(loss),
                            options={"gtol": 1e-13})
    h, (a, b, c) = res.x[:2], res.x[2:]
    lam = np.array([[a, c], [c, b]])
    np.testing.assert_allclose(np.linalg.inv(lam), fit.cov, rtol=1e-8)
    np.testing.assert_allclose(np.linalg.solve(lam, h), fit.mean, rtol=1e-8)


def test_exponential_family_closed_form():
    rng = make_rng(51)
    x = rng.gamma(3.0, 0.5, size=(60, 1)) - 1.0  # asymmetric data

    def T(y):
        return anp.concatenate([y, y**2, y**3, y**4], axis=1)

    def grad_T(y):
        return np.stack([np.ones_like(y), 2 * y, 3 * y**2, 4 * y**3], axis=1)  # (n, 4, 1)

    def laplacian_T(y):
        return np.concatenate([np.zeros_like(y), 2 * np.ones_like(y), 6 * y, 12 * y**2], axis=1)

    fit = score_matching_exponential_family(x, T=T)
    fit2 = score_matching_exponential_family(x, grad_T=grad_T, laplacian_T=laplacian_T)
    np.testing.assert_allclose(fit.theta, fit2.theta, rtol=1e-12)
    np.testing.assert_allclose(fit.A, fit2.A, rtol=1e-12)

    def loss(theta):
        return score_matching_loss(lambda y: -(T(y) @ theta), x)

    res = optimize.minimize(loss, np.zeros(4), method="trust-exact", jac=autograd.grad(loss),
                            hess=autograd.hessian(loss), options={"gtol": 1e-13})
    np.testing.assert_allclose(res.x, fit.theta, rtol=1e-8, atol=1e-10)
    assert math.isclose(loss(fit.theta), fit.loss, rel_tol=1e-10)


def test_exponential_family_gaussian_matches_gaussian_closed_form():
    rng = make_rng(52)
    x = rng.normal(size=(30, 2)) + np.array([1.0, -0.5])

    def T(y):
        return anp.stack([y[:, 0], y[:, 1], y[:, 0] ** 2, y[:, 1] ** 2, y[:, 0] * y[:, 1]], axis=1)

    th = score_matching_exponential_family(x, T=T).theta
    lam = -np.array([[2 * th[2], th[4]], [th[4], 2 * th[3]]])
    fit = score_matching_gaussian(x)
    np.testing.assert_allclose(np.linalg.inv(lam), fit.cov, rtol=1e-10)
    np.testing.assert_allclose(np.linalg.solve(lam, th[:2]), fit.mean, rtol=1e-10)


# ------------------------------------------------------------------------------- gradients

def test_gradients_match_finite_differences():
    rng = make_rng(60)
    x = rng.normal(size=(5, 2))
    z = rng.normal(size=(5, 2))
    v = rng.normal(size=(3, 5, 2))
    w = random_mlp_weights([2, 4, 1], rng, bias_scale=0.3)
    theta = np.array([0.3, -0.2, 0.5])

    def energy_of(th):
        return lambda y: th[0] * anp.sum(y**4, axis=1) / 4 + th[1] * y[:, 0] * y[:, 1] + \
            0.5 * th[2] * anp.sum(y**2, axis=1)

    fd = dict(modes=["rev"], order=1)
    check_grads(lambda th: score_matching_loss(energy_of(th), x), **fd)(theta)
    check_grads(lambda w: score_matching_loss(MLPEnergy(w, "softplus"), x), **fd)(w)
    check_grads(lambda th: sliced_score_matching_loss(energy_of(th), x, v), **fd)(theta)
    check_grads(lambda th: sliced_score_matching_loss(energy_of(th), x, v,
                                                      variance_reduced=True), **fd)(theta)
    for cv in (False, True):
        check_grads(lambda th: denoising_score_matching_loss(
            energy_of(th), x, z, 0.3, control_variate=cv), **fd)(theta)
        check_grads(lambda w: denoising_score_matching_loss(
            MLPEnergy(w, "tanh"), x, z, 0.3, control_variate=cv), **fd)(w)
    wn = random_mlp_weights([3, 4, 1], rng, bias_scale=0.3)
    check_grads(lambda w: multiscale_denoising_score_matching_loss(
        NoiseConditionalMLP(w), x, np.stack([z, -z]), np.array([1.0, 0.2])), **fd)(wn)
    log_p = lambda y: -0.5 * y[:, 0] ** 2 - 0.5 * math.log(2 * math.pi)  # noqa: E731
    model = lambda th: lambda y: th[0] * y[:, 0] ** 4 + th[1] * y[:, 0] ** 2  # noqa: E731
    check_grads(lambda th: score_matching_population_loss(model(th), log_p, [(-12, 12)],
                                                          panels=16), **fd)(theta[:2] ** 2)
    check_grads(lambda th: fisher_divergence(model(th), log_p, [(-12, 12)], panels=16),
                **fd)(theta[:2] ** 2)


# -------------------------------------------------------------------------------- backends

def test_backends(xp, to_xp):
    rng = make_rng(70)
    x, z = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    w = random_mlp_weights([2, 5, 1], rng, bias_scale=0.3)
    e_np = MLPEnergy(w)
    e_xp = MLPEnergy([(to_xp(a), to_xp(b)) for a, b in w])
    assert math.isclose(float(score_matching_loss(e_xp, to_xp(x))), score_matching_loss(e_np, x),
                        rel_tol=1e-12)
    lin = lambda y: -1.3 * y + 0.2  # noqa: E731
    for cv in (False, True):
        got = denoising_score_matching_loss(None, to_xp(x), to_xp(z), 0.4, score=lin,
                                            control_variate=cv)
        assert math.isclose(float(got), denoising_score_matching_loss(
            None, x, z, 0.4, score=lin, control_variate=cv), rel_tol=1e-12)
    np.testing.assert_allclose(np.asarray(dsm_control_variate(None, to_xp(x), to_xp(z), 0.4,
                                                              score=lin)),
                               dsm_control_variate(None, x, z, 0.4, score=lin), rtol=1e-12)
    got = multiscale_denoising_score_matching_loss(
        None, to_xp(x), to_xp(np.stack([z, z])), np.array([1.0, 0.5]), score=lambda y, s: -y / s)
    assert math.isclose(float(got), multiscale_denoising_score_matching_loss(
        None, x, np.stack([z, z]), np.array([1.0, 0.5]), score=lambda y, s: -y / s), rel_tol=1e-12)
    if xp is not anp:
        with pytest.raises(TypeError, match="autograd and needs NumPy"):
            score_matching_loss(lambda y: xp.sum(y, axis=1), to_xp(x))


# ------------------------------------------------------------------------------- bad input

def _e(y):
    return 0.5 * anp.sum(y**2, axis=1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore:Output seems independent")
def test_bad_input_exact_and_sliced():
    x = np.zeros((3, 2))
    with pytest.raises(TypeError, match="`energy` must be callable"):
        score_matching_loss(3, x)
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        score_matching_loss(_e, np.zeros(3))
    with pytest.raises(ValueError, match="`x` must be finite"):
        score_matching_loss(_e, np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="`x` must not be empty"):
        score_matching_loss(_e, np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"`energy` must return shape \(3,\) for 3 points"):
        score_matching_loss(lambda y: anp.sum(y), x)
    with pytest.raises(ValueError, match="`energy` returned NaN"):
        score_matching_loss(lambda y: anp.sum(y, axis=1) * np.nan, x)
    with pytest.raises(ValueError, match="`reduction` must be one of"):
        score_matching_loss(_e, x, reduction="sum")
    with pytest.raises(TypeError, match="`reduction` must be"):
        score_matching_loss(_e, x, reduction=None)
    with pytest.raises(ValueError, match=r"`v` must have shape \(m, 3, 2\)"):
        sliced_score_matching_loss(_e, x, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="`v` must have 2 or 3 dimension"):
        sliced_score_matching_loss(_e, x, np.zeros(2))
    with pytest.raises(ValueError, match="`v` must be finite"):
        sliced_score_matching_loss(_e, x, np.full((3, 2), np.inf))
    with pytest.raises(ValueError, match="`reduction` must be one of"):
        sliced_score_matching_loss(_e, x, np.ones((3, 2)), reduction="max")
    with pytest.raises(TypeError, match="`variance_reduced` must be a bool"):
        sliced_score_matching_loss(_e, x, np.ones((3, 2)), variance_reduced="yes")
    with pytest.raises(TypeError, match="give the model: an energy as the first argument"):
        sliced_score_matching_loss(None, x, np.ones((3, 2)))
    with pytest.raises(TypeError, match="`energy` must be callable"):
        sliced_score_matching_loss("E", x, np.ones((3, 2)))
    with pytest.raises(TypeError, match="`score` must be callable"):
        sliced_score_matching_loss(None, x, np.ones((3, 2)), score=3.0)
    with pytest.raises(ValueError, match=r"`score` must return shape \(3, 2\)"):
        sliced_score_matching_loss(None, x, np.ones((3, 2)), score=lambda y: y[:, 0])
    with pytest.raises(TypeError, match="give the model: an energy as the first argument"):
        score_matching_loss(None, x)
    with pytest.raises(ValueError, match=r"`score` must return shape \(3, 2\)"):
        score_matching_loss(None, x, score=lambda y: y[:, :1])
    with pytest.raises(ValueError, match="`energy` returned NaN"):
        sliced_score_matching_loss(lambda y: anp.log(y[:, 0] - 1.0), x + 0.5, np.ones((3, 2)))


def test_bad_input_denoising():
    x, z = np.zeros((3, 2)), np.ones((3, 2))
    s = lambda y: -y  # noqa: E731
    with pytest.raises(ValueError, match="`sigma` must be > 0"):
        denoising_score_matching_loss(None, x, z, 0.0, score=s)
    with pytest.raises(ValueError, match="`sigma` must be > 0"):
        dsm_control_variate(None, x, z, -1.0, score=s)
    with pytest.raises(ValueError, match="`sigma` must be finite"):
        denoising_score_matching_loss(None, x, z, np.nan, score=s)
    with pytest.raises(TypeError, match="`sigma` must be a real number"):
        denoising_score_matching_loss(None, x, z, np.ones(2), score=s)
    with pytest.raises(ValueError, match="`noise` must have the shape of `x`"):
        denoising_score_matching_loss(None, x, np.ones((3, 3)), 0.1, score=s)
    with pytest.raises(ValueError, match="`noise` must be finite"):
        denoising_score_matching_loss(None, x, np.full((3, 2), np.nan), 0.1, score=s)
    with pytest.raises(TypeError, match="give the model: an energy as the first argument"):
        denoising_score_matching_loss(None, x, z, 0.1)
    # a given score is the model's score: it is used, and the energy is not called
    assert denoising_score_matching_loss("not called" and _e, x, z, 0.1, score=s) == \
        denoising_score_matching_loss(None, x, z, 0.1, score=s)
    with pytest.raises(TypeError, match="`score` must be callable"):
        denoising_score_matching_loss(None, x, z, 0.1, score="s")
    with pytest.raises(ValueError, match=r"`score` must return shape \(3, 2\)"):
        denoising_score_matching_loss(None, x, z, 0.1, score=lambda y: y[:, 0])
    with pytest.raises(ValueError, match="`score` is not finite"):
        denoising_score_matching_loss(None, x, z, 0.1, score=lambda y: y * np.nan)
    with pytest.raises(ValueError, match="`energy` returned NaN"):
        denoising_score_matching_loss(lambda y: anp.sum(y, 1) * np.nan, x, z, 0.1)
    with pytest.raises(TypeError, match="`control_variate` must be a bool"):
        denoising_score_matching_loss(None, x, z, 0.1, score=s, control_variate=1)
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        dsm_control_variate(None, np.zeros(3), z, 0.1, score=s)
    with pytest.raises(ValueError, match="`noise` must have the shape of `x`"):
        dsm_control_variate(None, x, np.ones((2, 2)), 0.1, score=s)
    with pytest.raises(TypeError, match="give the model"):
        dsm_control_variate(None, x, z, 0.1)
    with pytest.raises(TypeError, match="`energy` must be callable"):
        dsm_control_variate("E", x, z, 0.1)
    with pytest.raises(ValueError, match="`reduction` must be one of"):
        denoising_score_matching_loss(None, x, z, 0.1, score=s, reduction="sum")


def test_bad_input_multiscale():
    x = np.zeros((3, 2))
    s = lambda y, sig: -y  # noqa: E731
    sig = np.array([1.0, 0.5])
    noise = np.ones((2, 3, 2))
    with pytest.raises(ValueError, match="`sigmas` must be > 0"):
        multiscale_denoising_score_matching_loss(None, x, noise, np.array([1.0, 0.0]), score=s)
    with pytest.raises(ValueError, match="`sigmas` must have 1 dimension"):
        multiscale_denoising_score_matching_loss(None, x, noise, 1.0, score=s)
    with pytest.raises(ValueError, match=r"`noise` must have shape \(2, 3, 2\)"):
        multiscale_denoising_score_matching_loss(None, x, np.ones((3, 3, 2)), sig, score=s)
    with pytest.raises(ValueError, match=r"`noise` must have shape \(2, 3, 2\).*pass `labels`"):
        multiscale_denoising_score_matching_loss(None, x, np.ones((3, 2)), sig, score=s)
    with pytest.raises(ValueError, match="`noise` must have 2 or 3 dimension"):
        multiscale_denoising_score_matching_loss(None, x, np.ones(3), sig, score=s)
    with pytest.raises(ValueError, match=r"`weights` must have shape \(2,\)"):
        multiscale_denoising_score_matching_loss(None, x, noise, sig, score=s, weights=np.ones(3))
    with pytest.raises(ValueError, match="`weights` must be >= 0"):
        multiscale_denoising_score_matching_loss(None, x, noise, sig, score=s,
                                                 weights=np.array([1.0, -1.0]))
    with pytest.raises(TypeError, match="give the model"):
        multiscale_denoising_score_matching_loss(None, x, noise, sig)
    with pytest.raises(ValueError, match="`x` must be finite"):
        multiscale_denoising_score_matching_loss(None, x * np.nan, noise, sig, score=s)
    with pytest.raises(ValueError, match="`reduction` must be one of"):
        multiscale_denoising_score_matching_loss(None, x, noise, sig, score=s, reduction="sum")
    with pytest.raises(ValueError, match=r"`score` must return shape \(3, 2\)"):
        multiscale_denoising_score_matching_loss(None, x, noise, sig, score=lambda y, sg: y[:, :1])


@pytest.mark.filterwarnings("ignore:Output seems independent")
def test_bad_input_population_and_closed_forms():
    log_p = lambda y: -0.5 * y[:, 0] ** 2 - 0.5 * math.log(2 * math.pi)  # noqa: E731
    e1 = lambda y: 0.5 * y[:, 0] ** 2  # noqa: E731
    with pytest.raises(ValueError, match="must hold the mass of `data_log_prob`"):
        score_matching_population_loss(e1, log_p, [(-2.0, 2.0)])
    with pytest.raises(ValueError, match=r"`bounds\[0\]` must be finite"):
        score_matching_population_loss(e1, log_p, [(-np.inf, 2.0)])
    with pytest.raises(ValueError, match="at most 3 pairs"):
        fisher_divergence(e1, log_p, [(-1, 1)] * 4)
    with pytest.raises(ValueError, match="`panels` must be >= 2"):
        fisher_divergence(e1, log_p, [(-12, 12)], panels=1)
    with pytest.raises(TypeError, match="`data_log_prob` must be callable"):
        fisher_divergence(e1, None, [(-12, 12)])
    with pytest.raises(TypeError, match="`energy` must be callable"):
        fisher_divergence(1.0, log_p, [(-12, 12)])
    with pytest.raises(TypeError, match="give the model"):
        score_matching_population_loss(None, log_p, [(-12, 12)])
    with pytest.raises(ValueError, match="`tol` must be > 0"):
        fisher_divergence(e1, log_p, [(-12, 12)], tol=-1.0)
    with pytest.raises(ValueError, match="`data_log_prob` returned NaN"):
        fisher_divergence(e1, lambda y: y[:, 0] * np.nan, [(-12, 12)])
    with pytest.raises(ValueError, match="`tol` must be > 0"):
        score_matching_population_loss(e1, log_p, [(-12, 12)], tol=0.0)
    with pytest.raises(ValueError, match=r"`data_log_prob` must return shape"):
        score_matching_population_loss(e1, lambda y: y, [(-12, 12)])
    with pytest.warns(RuntimeWarning, match="did not settle"):
        score_matching_population_loss(lambda y: 50 * anp.cos(8 * y[:, 0]), log_p, [(-12, 12)],
                                       panels=8)
    with pytest.raises(ValueError, match="at least 2 points"):
        score_matching_gaussian(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        score_matching_exponential_family(np.zeros(3), T=lambda y: y)
    with pytest.raises(ValueError, match="`x` must be finite"):
        score_matching_gaussian(np.array([[np.inf], [0.0]]))
    x = np.linspace(-1, 1, 5)[:, None]
    with pytest.raises(ValueError, match="singular"):
        score_matching_exponential_family(x, T=lambda y: anp.concatenate([y, y], axis=1))
    with pytest.raises(TypeError, match="either `T` or both"):
        score_matching_exponential_family(x, T=lambda y: y, grad_T=lambda y: y)
    with pytest.raises(TypeError, match="either `T`"):
        score_matching_exponential_family(x, grad_T=lambda y: y)
    with pytest.raises(ValueError, match=r"`T` must return shape \(5, k\)"):
        score_matching_exponential_family(x, T=lambda y: y[:, 0])
    with pytest.raises(ValueError, match=r"`grad_T` must return shape \(5, k, 1\)"):
        score_matching_exponential_family(x, grad_T=lambda y: np.ones((5, 2, 3)),
                                          laplacian_T=lambda y: np.ones((5, 2)))
    with pytest.raises(ValueError, match="`laplacian_T` must return shape"):
        score_matching_exponential_family(x, grad_T=lambda y: np.ones((5, 2, 1)),
                                          laplacian_T=lambda y: np.ones((5, 3)))
    with pytest.raises(ValueError, match="`rcond` must be > 0"):
        score_matching_exponential_family(x, T=lambda y: y, rcond=-1.0)
