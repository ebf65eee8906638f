"""refebm.families.Gaussian and GaussianMixture: densities against scipy, every analytic
gradient against autograd (1e-10) and finite differences (1e-6), large energies.

Points and parameters come from hypothesis or from seeded generators as inputs to exact checks:
no false-failure rate applies.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import scipy.stats as st
from autograd.test_util import check_grads
from hypothesis import given
from hypothesis import strategies as hs
from scipy.special import logsumexp

from refebm.families import Gaussian, GaussianMixture

from seeding import make_seed


def spd(rng, d, ridge=0.5):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + ridge * np.eye(d)


def sym(m):
    return 0.5 * (m + m.T)


def _setup(d, seed):
    rng = np.random.default_rng(seed)   # inputs to exact checks: no false-failure rate applies
    return rng.uniform(-3, 3, size=d), spd(rng, d), rng.normal(size=(6, d)) * 2.0


@given(d=hs.integers(1, 4), seed=hs.integers(0, 2**16))
def test_gaussian_over_dimension(d, seed):
    mean, cov, x = _setup(d, seed)
    g = Gaussian(mean, cov)
    np.testing.assert_allclose(g.log_prob(x), st.multivariate_normal(mean, cov).logpdf(x)
                               .reshape(-1), rtol=1e-12, atol=1e-12)
    auto = autograd.elementwise_grad(lambda y: -g.energy(y))(x)
    np.testing.assert_allclose(g.score(x), auto, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.mean_sufficient_stats(),
                               autograd.grad(g.log_partition_natural)(g.natural_params),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.precision @ cov, np.eye(d), atol=1e-12)


@given(d=hs.integers(1, 4), seed=hs.integers(0, 2**16))
def test_gaussian_gradients_in_mean_and_cov(d, seed):
    mean, cov, x = _setup(d, seed)
    g = Gaussian(mean, cov)
    jac_mean = autograd.jacobian(lambda m: Gaussian(m, cov).energy(x))(mean)
    np.testing.assert_allclose(g.grad_energy_mean(x), jac_mean, rtol=1e-10, atol=1e-12)
    # cov enters through its symmetric part, so autograd gives the symmetric gradient directly
    jac_cov = autograd.jacobian(lambda c: Gaussian(mean, c).energy(x))(cov)
    np.testing.assert_allclose(g.grad_energy_cov(x), jac_cov, rtol=1e-10, atol=1e-12)
    jac_cov_sym = autograd.jacobian(lambda c: Gaussian(mean, sym(c)).energy(x))(cov)
    np.testing.assert_allclose(g.grad_energy_cov(x), jac_cov_sym, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.grad_log_partition_mean(),
                               autograd.grad(lambda m: Gaussian(m, cov).log_partition())(mean),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.grad_log_partition_cov(),
                               autograd.grad(lambda c: Gaussian(mean, c).log_partition())(cov),
                               rtol=1e-10, atol=1e-12)


def test_gaussian_cov_gradients_against_finite_differences():
    mean, cov, x = _setup(3, make_seed(11))
    # perturbations of cov are kept symmetric (the validation rejects asymmetric matrices)
    check_grads(lambda c: Gaussian(mean, sym(c)).log_partition(), modes=["rev"], order=1)(cov)
    check_grads(lambda c: anp.sum(Gaussian(mean, sym(c)).energy(x)), modes=["rev"], order=1)(cov)
    check_grads(lambda m: anp.sum(Gaussian(m, cov).log_prob(x)), modes=["rev"], order=1)(mean)
    # the analytic gradient of log p in (mean, cov): P(x - mu) and P r r'P / 2 - P / 2
    g = Gaussian(mean, cov)
    prec = np.linalg.inv(cov)
    r = (x - mean) @ prec
    np.testing.assert_allclose(-g.grad_energy_mean(x) - g.grad_log_partition_mean(), r,
                               rtol=1e-10, atol=1e-12)
    expected = 0.5 * np.einsum("ni,nj->nij", r, r) - 0.5 * prec
    np.testing.assert_allclose(-g.grad_energy_cov(x) - g.grad_log_partition_cov(), expected,
                               rtol=1e-10, atol=1e-12)


def test_gaussian_log_partition_gradient_through_parameters():
    mean, cov, _ = _setup(3, make_seed(12))
    grad = autograd.grad(lambda m: Gaussian(m, cov).log_partition())(mean)
    np.testing.assert_allclose(grad, np.linalg.solve(cov, mean), rtol=1e-12)


def test_gaussian_energy_is_the_centred_quadratic_minus_a_constant():
    mean, cov, x = _setup(3, make_seed(13))
    g = Gaussian(mean, cov)
    prec = np.linalg.inv(cov)
    centred = 0.5 * np.einsum("ni,ij,nj->n", x - mean, prec, x - mean)
    np.testing.assert_allclose(g.energy(x) - centred, -0.5 * mean @ prec @ mean, rtol=1e-12)
    expected_log_z = (0.5 * mean @ prec @ mean + 0.5 * np.linalg.slogdet(cov)[1]
                      + 1.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(g.log_partition(), expected_log_z, rtol=1e-13)


def test_gaussian_far_from_the_mean():
    mean = np.array([2.0, -1.0])
    cov = np.array([[0.5, 0.1], [0.1, 0.3]])
    g = Gaussian(mean, cov)
    x = mean + np.array([[80.0, 0.0], [0.0, -60.0], [50.0, 50.0]])
    energy, lp = g.energy(x), g.log_prob(x)
    assert np.all(np.isfinite(energy)) and np.all(energy > 5e3)
    np.testing.assert_allclose(lp, st.multivariate_normal(mean, cov).logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(g.score(x), -np.linalg.solve(cov, (x - mean).T).T, rtol=1e-12)


# --- the mixture --------------------------------------------------------------------------------

def _mixture_setup(k, d, seed):
    rng = np.random.default_rng(seed)   # inputs to exact checks: no false-failure rate applies
    w = rng.uniform(0.2, 1.0, size=k)
    weights = w / w.sum()
    means = rng.uniform(-3, 3, size=(k, d))
    covs = np.array([spd(rng, d) for _ in range(k)])
    x = rng.normal(size=(6, d)) * 2.5
    return weights, means, covs, x


def _scipy_mixture_logpdf(weights, means, covs, x):
    comps = [np.log(w) + st.multivariate_normal(m, c).logpdf(x).reshape(-1)
             for w, m, c in zip(weights, means, covs)]
    return logsumexp(np.stack(comps), axis=0)


@given(k=hs.integers(1, 3), d=hs.integers(1, 3), seed=hs.integers(0, 2**16))
def test_mixture_over_components_and_dimension(k, d, seed):
    weights, means, covs, x = _mixture_setup(k, d, seed)
    mix = GaussianMixture(weights, means, covs)
    np.testing.assert_allclose(mix.log_prob(x), _scipy_mixture_logpdf(weights, means, covs, x),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(mix.log_prob(x), -mix.energy(x))
    assert float(mix.log_partition()) == 0.0
    auto = autograd.elementwise_grad(lambda y: -mix.energy(y))(x)
    np.testing.assert_allclose(mix.score(x), auto, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mix.responsibilities(x).sum(axis=1), 1.0, rtol=1e-14)
    e, s = mix.energy_and_score(x)          # one evaluation of the log-terms, same numbers
    np.testing.assert_array_equal(e, mix.energy(x))
    np.testing.assert_array_equal(s, mix.score(x))


def test_mixture_parameter_gradients_match_autograd():
    weights, means, covs, x = _mixture_setup(3, 2, make_seed(21))
    mix = GaussianMixture(weights, means, covs)
    jac_w = autograd.jacobian(
        lambda w: -logsumexp_energy(w, means, covs, x))(weights)
    np.testing.assert_allclose(mix.grad_energy_weights(x), jac_w, rtol=1e-10, atol=1e-12)
    jac_m = autograd.jacobian(lambda m: GaussianMixture(weights, m, covs).energy(x))(means)
    np.testing.assert_allclose(mix.grad_energy_means(x), jac_m, rtol=1e-10, atol=1e-12)
    jac_c = autograd.jacobian(lambda c: GaussianMixture(weights, means, c).energy(x))(covs)
    np.testing.assert_allclose(mix.grad_energy_covs(x), jac_c, rtol=1e-10, atol=1e-12)


def logsumexp_energy(w, means, covs, x):
    """-E(x) of the mixture for free (unnormalized) weights w, written out with autograd: the
    validation of GaussianMixture requires weights that sum to one, so the partial derivatives
    in w are taken on this explicit formula."""
    from autograd.scipy.special import logsumexp as ag_logsumexp
    from autograd.scipy.stats import multivariate_normal as ag_mvn
    comps = [anp.log(w[j]) + ag_mvn.logpdf(x, means[j], covs[j]) for j in range(len(means))]
    return ag_logsumexp(anp.stack(comps, axis=1), axis=1)


def test_mixture_far_from_every_component():
    weights, means, covs, _ = _mixture_setup(2, 2, make_seed(22))
    mix = GaussianMixture(weights, means, covs)
    x = np.array([[150.0, -150.0], [0.0, 200.0]])
    energy = mix.energy(x)
    # E = -log sum_j w_j exp(-q_j), q_j = -log N(x; m_j, C_j), and sum_j w_j = 1, so
    # min_j q_j <= E <= min_j (q_j - log w_j): bounds from the parameters, not a number seen once.
    # Every q_j is above 745, where exp(-q_j) underflows, so a naive formula would give inf: it
    # is since |x - m_j| >= 196 and the largest eigenvalue of C_j = a a^T / 2 + I / 2 (a 2 x 2
    # standard normal) is below |a|_F^2 / 2 + 1/2 < 25.8 unless chi2_4 > 50.6 (probability 3e-10,
    # the false-failure rate of that assertion).
    q = np.stack([-st.multivariate_normal(m, c).logpdf(x) for m, c in zip(means, covs)])
    assert np.all(q > 745)
    assert np.all(np.isfinite(energy))
    assert np.all(q.min(axis=0) <= energy * (1 + 1e-12))
    assert np.all(energy <= (q - np.log(weights)[:, None]).min(axis=0) * (1 + 1e-12))
    np.testing.assert_allclose(-energy, _scipy_mixture_logpdf(weights, means, covs, x),
                               rtol=1e-12)
    score = mix.score(x)
    assert np.all(np.isfinite(score))
    auto = autograd.elementwise_grad(lambda y: -mix.energy(y))(x)
    np.testing.assert_allclose(score, auto, rtol=1e-10)
