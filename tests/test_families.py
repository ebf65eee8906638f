"""refebm.families: every exponential family against independent computations.

For each family: log_prob against scipy.stats; the energy against its exponential-family form
-(theta . T + log h); log_partition() against A(theta) in natural coordinates; the closed-form
mean of T against autograd through A and against central finite differences; the parameter
gradient -T(x) against autograd through ``from_natural``; the analytic score against autograd;
the generic :class:`ExponentialFamily` (built from the family's callables, with autograd
derivatives) against the closed forms. Quadrature, sampling, backends and bad input are in the
other ``test_families_*`` files.

All points here are fixed or drawn from a seeded generator as inputs to exact checks: no
false-failure rate applies.
"""

import warnings

import autograd
import numpy as np
import pytest
import scipy.stats as st
from autograd.test_util import check_grads
from hypothesis import given
from hypothesis import strategies as hs

from refebm.families import (Bernoulli, Beta, Dirichlet, Exponential, ExponentialFamily, Gamma,
                             Gaussian, Poisson, Wishart)

from seeding import make_rng, make_seed

# log densities are sums of O(1..10) terms: both sides carry rounding of a few ulp of those
RTOL, ATOL = 1e-12, 1e-12


def spd(rng, d, ridge=0.5):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + ridge * np.eye(d)


def _make_cases():
    rng = make_rng(7)  # random inputs to exact checks: no false-failure rate applies
    cov3 = spd(rng, 3)
    mean3 = np.array([0.8, -1.3, 0.25])
    scale2 = np.array([[1.2, 0.35], [0.35, 0.6]])
    scale3 = spd(rng, 3, ridge=0.8)
    x_wishart2 = st.wishart(3.0, np.eye(2)).rvs(size=6, random_state=rng)
    x_wishart3 = st.wishart(4.0, np.eye(3)).rvs(size=5, random_state=rng)
    bad_wishart = np.array([[[1.0, 0.2], [0.3, 1.0]],        # not symmetric
                            [[1.0, 2.0], [2.0, 1.0]],        # eigenvalue -1
                            [[1.0, 1.0], [1.0, 1.0]]])       # singular
    return {
        # id: (family factory, points in the support, points outside (or None), scipy log density)
        "gaussian-1d": (
            lambda: Gaussian(np.array([0.7]), np.array([[2.3]])),
            rng.normal(size=(7, 1)) * 2.0, None,
            lambda x: st.norm(0.7, np.sqrt(2.3)).logpdf(x[:, 0])),
        "gaussian-3d": (
            lambda: Gaussian(mean3, cov3),
            rng.normal(size=(7, 3)) * 1.5, None,
            lambda x: st.multivariate_normal(mean3, cov3).logpdf(x)),
        "exponential": (
            lambda: Exponential(0.7),
            np.concatenate([[[0.0]], rng.exponential(2.0, size=(6, 1))]),
            np.array([[-0.5], [-1e-300]]),
            lambda x: st.expon(scale=1 / 0.7).logpdf(x[:, 0])),
        "gamma-shape<1": (
            lambda: Gamma(0.5, 1.3),
            rng.gamma(1.0, size=(7, 1)) + 1e-3, np.array([[0.0], [-2.0]]),
            lambda x: st.gamma(0.5, scale=1 / 1.3).logpdf(x[:, 0])),
        "gamma": (
            lambda: Gamma(3.2, 0.4),
            rng.gamma(3.0, 3.0, size=(7, 1)), np.array([[0.0], [-2.0]]),
            lambda x: st.gamma(3.2, scale=1 / 0.4).logpdf(x[:, 0])),
        "beta-arcsine": (
            lambda: Beta(0.5, 0.5),
            rng.uniform(0.01, 0.99, size=(7, 1)), np.array([[0.0], [1.0], [1.5], [-0.2]]),
            lambda x: st.beta(0.5, 0.5).logpdf(x[:, 0])),
        "beta": (
            lambda: Beta(2.5, 0.8),
            rng.uniform(0.01, 0.99, size=(7, 1)), np.array([[0.0], [1.0], [1.5], [-0.2]]),
            lambda x: st.beta(2.5, 0.8).logpdf(x[:, 0])),
        "poisson": (
            lambda: Poisson(3.7),
            np.arange(0.0, 15.0).reshape(-1, 1), np.array([[-1.0], [2.5], [0.1]]),
            lambda x: st.poisson(3.7).logpmf(x[:, 0])),
        "bernoulli": (
            lambda: Bernoulli(0.3),
            np.array([[0.0], [1.0], [1.0]]), np.array([[0.5], [2.0], [-1.0]]),
            lambda x: st.bernoulli(0.3).logpmf(x[:, 0])),
        "dirichlet": (
            lambda: Dirichlet(np.array([0.7, 2.0, 3.5])),
            rng.dirichlet([1.0, 1.0, 1.0], size=6),
            np.array([[0.2, 0.3, 0.6], [-0.1, 0.6, 0.5], [0.0, 0.5, 0.5]]),
            lambda x: st.dirichlet([0.7, 2.0, 3.5]).logpdf(x.T)),
        "wishart-2": (
            lambda: Wishart(3.3, scale2),
            x_wishart2, bad_wishart,
            lambda x: st.wishart(3.3, scale2).logpdf(np.moveaxis(x, 0, -1))),
        "wishart-3": (
            lambda: Wishart(2.6, scale3),
            x_wishart3, None,
            lambda x: st.wishart(2.6, scale3).logpdf(np.moveaxis(x, 0, -1))),
    }


CASES = _make_cases()
IDS = list(CASES)
CONTINUOUS = [k for k in IDS if k not in ("poisson", "bernoulli")]
WITH_OUTSIDE = [k for k in IDS if CASES[k][2] is not None]


def _case(name):
    make, inside, outside, ref = CASES[name]
    return make(), inside, outside, ref


@pytest.mark.parametrize("name", IDS)
def test_log_prob_matches_scipy(name):
    fam, x, _, ref = _case(name)
    np.testing.assert_allclose(fam.log_prob(x), ref(x), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", IDS)
def test_log_prob_is_minus_energy_minus_log_partition(name):
    fam, x, _, _ = _case(name)
    energy, log_z = fam.energy(x), fam.log_partition()
    if isinstance(fam, Gaussian):
        # log_prob is computed centred: equal up to the rounding of the two terms
        diff = np.abs(fam.log_prob(x) - (-energy - log_z))
        assert np.all(diff <= 1e-14 * (np.abs(energy) + abs(log_z) + 1.0)), diff
    else:
        np.testing.assert_array_equal(fam.log_prob(x), -energy - log_z)


@pytest.mark.parametrize("name", IDS)
def test_energy_is_the_exponential_family_form(name):
    fam, x, _, _ = _case(name)
    natural = -(fam.sufficient_stats(x) @ fam.natural_params + fam.log_base_measure(x))
    np.testing.assert_allclose(fam.energy(x), natural, rtol=RTOL, atol=ATOL)
    assert np.all(fam.in_support(x))


@pytest.mark.parametrize("name", WITH_OUTSIDE)
def test_energy_is_inf_off_the_support_and_never_nan(name):
    fam, inside, outside, _ = _case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no log-of-negative warnings either
        e_out, lp_out = fam.energy(outside), fam.log_prob(outside)
        mixed = np.concatenate([outside[:1], inside, outside[1:]])
        e_mixed = fam.energy(mixed)
    assert np.all(e_out == np.inf) and np.all(lp_out == -np.inf)
    assert not np.any(fam.in_support(outside))
    assert not np.any(np.isnan(e_mixed))
    np.testing.assert_array_equal(e_mixed[1:1 + len(inside)], fam.energy(inside))
    assert np.all(e_mixed[[0, *range(1 + len(inside), len(mixed))]] == np.inf)
    with pytest.raises(ValueError, match="must lie in the support"):
        fam.sufficient_stats(mixed)
    with pytest.raises(ValueError, match="must lie in the support"):
        fam.grad_energy_params(mixed)
    if not fam.discrete:
        with pytest.raises(ValueError, match="must lie in the support"):
            fam.score(mixed)


@pytest.mark.parametrize("name", IDS)
def test_log_partition_in_natural_coordinates(name):
    fam, _, _, _ = _case(name)
    np.testing.assert_allclose(fam.log_partition(), fam.log_partition_natural(fam.natural_params),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", IDS)
def test_from_natural_round_trip(name):
    fam, x, _, _ = _case(name)
    again = type(fam).from_natural(fam.natural_params)
    np.testing.assert_allclose(again.natural_params, fam.natural_params, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(again.log_prob(x), fam.log_prob(x), rtol=1e-12, atol=1e-12)


def _central_difference(f, theta, h=1e-5):
    """Central differences of a scalar function, step h * max(1, |theta_i|)."""
    out = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = h * max(1.0, abs(theta[i]))
        out[i] = (float(f(theta + step)) - float(f(theta - step))) / (2 * step[i])
    return out


@pytest.mark.parametrize("name", IDS)
def test_mean_sufficient_stats_is_grad_log_partition(name):
    fam, _, _, _ = _case(name)
    theta = np.asarray(fam.natural_params, dtype=float)
    closed = fam.mean_sufficient_stats()
    # autograd through A written in natural coordinates
    np.testing.assert_allclose(closed, autograd.grad(fam.log_partition_natural)(theta),
                               rtol=1e-10, atol=1e-12)
    # autograd through the closed-form A in the family's own parameters
    own = autograd.grad(lambda t: type(fam).from_natural(t).log_partition())(theta)
    np.testing.assert_allclose(closed, own, rtol=1e-10, atol=1e-12)
    # central finite differences of A (truncation h^2 A''' ~ 1e-10, rounding ~ 1e-10)
    np.testing.assert_allclose(closed, _central_difference(fam.log_partition_natural, theta),
                               rtol=1e-6, atol=1e-8)
    check_grads(fam.log_partition_natural, modes=["rev"], order=1)(theta)
    np.testing.assert_array_equal(fam.grad_log_partition(), closed)


@pytest.mark.parametrize("name", IDS)
def test_grad_energy_params_matches_autograd(name):
    fam, x, _, _ = _case(name)
    theta = np.asarray(fam.natural_params, dtype=float)
    cls = type(fam)
    jac = autograd.jacobian(lambda t: cls.from_natural(t).energy(x))(theta)
    np.testing.assert_allclose(fam.grad_energy_params(x), jac, rtol=1e-10, atol=1e-10)
    jac_lp = autograd.jacobian(lambda t: cls.from_natural(t).log_prob(x))(theta)
    np.testing.assert_allclose(fam.grad_log_prob_params(x), jac_lp, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", CONTINUOUS)
def test_score_matches_autograd(name):
    fam, x, _, _ = _case(name)
    auto = autograd.elementwise_grad(lambda y: -fam.energy(y))(x)
    np.testing.assert_allclose(fam.score(x), auto, rtol=1e-10, atol=1e-12)
    assert fam.score(x).shape == x.shape


@pytest.mark.parametrize("name", ["poisson", "bernoulli"])
def test_discrete_families_have_no_score(name):
    fam, x, _, _ = _case(name)
    with pytest.raises(TypeError, match="discrete"):
        fam.score(x)


@pytest.mark.parametrize("name", IDS)
def test_generic_exponential_family_agrees_with_the_closed_form(name):
    fam, x, outside, _ = _case(name)
    generic = ExponentialFamily(
        fam.natural_params, fam.sufficient_stats, fam.log_base_measure,
        fam.log_partition_natural, event_shape=fam.event_shape, support=fam.in_support,
        discrete=fam.discrete)
    assert isinstance(fam, ExponentialFamily)
    np.testing.assert_allclose(generic.energy(x), fam.energy(x), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(generic.log_prob(x), fam.log_prob(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(generic.mean_sufficient_stats(), fam.mean_sufficient_stats(),
                               rtol=1e-10, atol=1e-12)
    if not fam.discrete:
        np.testing.assert_allclose(generic.score(x), fam.score(x), rtol=1e-10, atol=1e-12)
    if outside is not None:
        assert np.all(generic.energy(outside) == np.inf)


# --- univariate shapes --------------------------------------------------------------------------

@pytest.mark.parametrize("fam", [Exponential(1.5), Gamma(2.0, 3.0), Beta(2.0, 3.0)],
                         ids=["exponential", "gamma", "beta"])
def test_univariate_families_accept_flat_points(fam):
    flat = np.array([0.1, 0.4, 0.7])
    col = flat[:, None]
    np.testing.assert_array_equal(fam.energy(flat), fam.energy(col))
    assert fam.energy(flat).shape == (3,)
    assert fam.score(flat).shape == (3,) and fam.score(col).shape == (3, 1)
    np.testing.assert_array_equal(fam.score(flat), fam.score(col)[:, 0])
    assert fam.sample(4, rng=make_seed(0)).shape == (4, 1)


# --- hypothesis over parameters -----------------------------------------------------------------

PROBS = np.array([0.001, 0.1, 0.5, 0.9, 0.999])


def _pos(lo, hi):
    return hs.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@given(k=_pos(0.2, 30.0), b=_pos(0.05, 20.0))
def test_gamma_over_parameters(k, b):
    ref = st.gamma(k, scale=1 / b)
    x = ref.ppf(PROBS)
    x = x[x > 0]
    fam = Gamma(k, b)
    np.testing.assert_allclose(fam.log_prob(x), ref.logpdf(x), rtol=1e-12, atol=1e-12)
    theta = np.asarray(fam.natural_params)
    np.testing.assert_allclose(fam.mean_sufficient_stats(),
                               autograd.grad(fam.log_partition_natural)(theta), rtol=1e-10)
    np.testing.assert_allclose(fam.mean_sufficient_stats()[1], ref.mean(), rtol=1e-12)


@given(a=_pos(0.2, 30.0), b=_pos(0.2, 30.0))
def test_beta_over_parameters(a, b):
    ref = st.beta(a, b)
    x = ref.ppf(PROBS)
    x = x[(x > 0) & (x < 1)]
    fam = Beta(a, b)
    np.testing.assert_allclose(fam.log_prob(x), ref.logpdf(x), rtol=1e-12, atol=1e-12)
    auto = autograd.elementwise_grad(lambda y: -fam.energy(y))(x)
    np.testing.assert_allclose(fam.score(x), auto, rtol=1e-10, atol=1e-12)
    theta = np.asarray(fam.natural_params)
    np.testing.assert_allclose(fam.mean_sufficient_stats(),
                               autograd.grad(fam.log_partition_natural)(theta), rtol=1e-10)


@given(rate=_pos(0.05, 20.0))
def test_exponential_over_parameters(rate):
    ref = st.expon(scale=1 / rate)
    x = ref.ppf(PROBS)
    fam = Exponential(rate)
    np.testing.assert_allclose(fam.log_prob(x), ref.logpdf(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fam.mean_sufficient_stats(), [ref.mean()], rtol=1e-12)


@given(rate=_pos(0.01, 50.0))
def test_poisson_over_parameters(rate):
    x = np.arange(0.0, 3 * rate + 10)
    fam = Poisson(rate)
    np.testing.assert_allclose(fam.log_prob(x), st.poisson(rate).logpmf(x), rtol=1e-12,
                               atol=1e-12)


@given(p=_pos(1e-3, 1 - 1e-3))
def test_bernoulli_over_parameters(p):
    fam = Bernoulli(p)
    x = np.array([0.0, 1.0])
    np.testing.assert_allclose(fam.log_prob(x), st.bernoulli(p).logpmf(x), rtol=1e-12)
    theta = np.asarray(fam.natural_params)
    np.testing.assert_allclose(fam.mean_sufficient_stats(),
                               autograd.grad(fam.log_partition_natural)(theta), rtol=1e-10)


@given(alpha=hs.lists(_pos(0.2, 20.0), min_size=2, max_size=5), seed=hs.integers(0, 2**16))
def test_dirichlet_over_parameters(alpha, seed):
    alpha = np.array(alpha)
    # random inputs to an exact check: no false-failure rate applies
    x = np.random.default_rng(seed).dirichlet(np.ones(alpha.size), size=4)
    fam = Dirichlet(alpha)
    np.testing.assert_allclose(fam.log_prob(x), st.dirichlet(alpha).logpdf(x.T), rtol=1e-12,
                               atol=1e-12)
    theta = np.asarray(fam.natural_params)
    np.testing.assert_allclose(fam.mean_sufficient_stats(),
                               autograd.grad(fam.log_partition_natural)(theta), rtol=1e-10,
                               atol=1e-12)


@given(p=hs.integers(1, 3), extra=_pos(0.1, 8.0), seed=hs.integers(0, 2**16))
def test_wishart_over_parameters(p, extra, seed):
    # random inputs to an exact check: no false-failure rate applies
    rng = np.random.default_rng(seed)
    scale, df = spd(rng, p), p - 1 + extra
    x = st.wishart(p + 1.0, np.eye(p)).rvs(size=3, random_state=rng).reshape(3, p, p)
    fam = Wishart(df, scale)
    np.testing.assert_allclose(fam.log_prob(x), st.wishart(df, scale).logpdf(np.moveaxis(x, 0, -1)),
                               rtol=1e-12, atol=1e-12)
    auto = autograd.elementwise_grad(lambda y: -fam.energy(y))(x)
    np.testing.assert_allclose(fam.score(x), auto, rtol=1e-10, atol=1e-10)
    theta = np.asarray(fam.natural_params)
    np.testing.assert_allclose(fam.mean_sufficient_stats(),
                               autograd.grad(fam.log_partition_natural)(theta), rtol=1e-10,
                               atol=1e-12)


# --- autograd through the constructors' parameters ---------------------------------------------

def test_parameters_may_be_autograd_boxes():
    # d/dk log Gamma(k) - k log b = digamma(k) - log b; d/db = -k/b
    gk = autograd.grad(lambda k: Gamma(k, 2.0).log_partition())(3.0)
    gb = autograd.grad(lambda b: Gamma(3.0, b).log_partition())(2.0)
    np.testing.assert_allclose([gk, gb], [1.5 - np.euler_gamma - np.log(2.0), -1.5], rtol=1e-12)
    # d/drate of the Exponential energy at x is x
    g = autograd.grad(lambda r: Exponential(r).energy(np.array([[0.25], [2.0]])).sum())(1.0)
    np.testing.assert_allclose(g, 2.25, rtol=1e-15)
    # d/dp of the Bernoulli log_prob at 1 is 1/p
    g = autograd.grad(lambda p: Bernoulli(p).log_prob(np.array([1.0]))[0])(0.25)
    np.testing.assert_allclose(g, 4.0, rtol=1e-12)
    # d/dalpha_0 of log B(alpha) is digamma(alpha_0) - digamma(sum alpha)
    from scipy.special import digamma
    alpha = np.array([0.7, 2.0, 3.5])
    g = autograd.grad(lambda a: Dirichlet(a).log_partition())(alpha)
    np.testing.assert_allclose(g, digamma(alpha) - digamma(alpha.sum()), rtol=1e-12)
    # d/ddf of the Wishart log partition
    g = autograd.grad(lambda df: Wishart(df, np.eye(2)).log_partition())(3.0)
    np.testing.assert_allclose(
        g, 0.5 * (2 * np.log(2.0) + digamma(1.5) + digamma(1.0)), rtol=1e-12)


def test_large_energies_do_not_overflow():
    cases = [
        (Gamma(3.2, 0.4), np.array([[2.5e4], [1e-300]])),
        (Exponential(0.7), np.array([[1.5e4]])),
        (Poisson(3.7), np.array([[1e4]])),
        (Beta(2.5, 0.8), np.array([[1e-300]])),
    ]
    for fam, x in cases:
        energy, lp = fam.energy(x), fam.log_prob(x)
        assert np.all(np.isfinite(energy)) and np.all(np.isfinite(lp))
        assert np.max(np.abs(energy)) > 600           # exp(-E) itself would under/overflow
        ref = {Gamma: lambda y: st.gamma(3.2, scale=2.5).logpdf(y),
               Exponential: lambda y: st.expon(scale=1 / 0.7).logpdf(y),
               Poisson: lambda y: st.poisson(3.7).logpmf(y),
               Beta: lambda y: st.beta(2.5, 0.8).logpdf(y)}[type(fam)]
        np.testing.assert_allclose(lp, ref(x[:, 0]), rtol=1e-12)


def test_generic_exponential_family_rayleigh_against_scipy():
    # Rayleigh(sigma): T(x) = x^2, log h(x) = log x on x > 0, theta = -1/(2 sigma^2),
    # A(theta) = -log(-2 theta); a family that is not one of the named classes.
    import autograd.numpy as anp
    sigma = 1.7
    draw = lambda n, rng: rng.rayleigh(sigma, size=(n, 1))   # noqa: E731
    fam = ExponentialFamily(
        np.array([-0.5 / sigma**2]), lambda x: x**2, lambda x: anp.log(x[:, 0]),
        lambda t: -anp.log(-2.0 * t[0]), event_shape=1, support=lambda x: x[:, 0] > 0,
        sampler=draw)
    x = np.array([[0.1], [1.0], [2.5], [6.0]])
    ref = st.rayleigh(scale=sigma)
    np.testing.assert_allclose(fam.log_prob(x), ref.logpdf(x[:, 0]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fam.mean_sufficient_stats(), [2 * sigma**2], rtol=1e-12)
    np.testing.assert_allclose(fam.score(x), 1 / x - x / sigma**2, rtol=1e-12)
    np.testing.assert_allclose(fam.grad_energy_params(x), -x**2, rtol=1e-15)
    assert fam.energy(np.array([[-1.0]]))[0] == np.inf
    assert fam.sample(3, rng=make_seed(0)).shape == (3, 1)
