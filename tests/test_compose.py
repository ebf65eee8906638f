"""Tests of refebm.compose (D2, D3, D4).

Independent computations: normalization by scipy.integrate (quad, dblquad) against closed-form
volumes; energies against log densities from scipy.stats written out here; g against its
definition (f^2, exp f, |f|, log(1 + exp f)) evaluated directly.

Random points below feed exact checks: no false-failure rate applies.
"""

import doctest
import math
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special, stats

import refebm.compose as compose
from refebm.compose import absolute, exponential, mixture, product, softplus, square

from seeding import make_rng

QUAD = dict(epsabs=1e-13, epsrel=1e-13, limit=200)
RTOL = 1e-10


def test_docstring_examples():
    assert doctest.testmod(compose, raise_on_error=False).failed == 0


def quad_1d(energy, lo=-np.inf, hi=np.inf, shift=0.0):
    """integral of exp(-E(x) - shift) over (lo, hi) by scipy.integrate.quad."""
    value, err = integrate.quad(lambda t: math.exp(-energy(np.array([[t]]))[0] - shift), lo, hi,
                                **QUAD)
    assert err < 1e-11
    return value


def cubature_2d(energy, lo, hi):
    """integral of exp(-E) over the box [lo, hi] (infinite ends allowed) by scipy's cubature."""
    res = integrate.cubature(lambda z: np.exp(-energy(z)), lo, hi, rtol=1e-12, atol=1e-13)
    assert res.status == "converged" and res.error < 1e-10
    return res.estimate


def log_normal(u, mean, sd):
    """log N(u; mean, sd^2) for autograd-traceable arrays."""
    return -0.5 * ((u - mean) / sd) ** 2 - anp.log(sd) - 0.5 * np.log(2 * np.pi)


# ---------------------------------------------------------------------------------------------
# D3: products


def test_product_of_gaussians_integrates_to_one():
    # x ~ N(0.5, 1.3^2), y | x ~ N(0.8 x - 0.2, (0.6 + 0.1 x^2)^2): not a joint Gaussian
    energy = product(lambda x: log_normal(x[:, 0], 0.5, 1.3),
                     lambda y, x: log_normal(y[:, 0], 0.8 * x[:, 0] - 0.2, 0.6 + 0.1 * x[:, 0]**2),
                     d_x=1)
    z = np.array([[0.3, -1.0], [2.0, 0.5]])
    want = -stats.norm.logpdf(z[:, 0], 0.5, 1.3) - stats.norm.logpdf(
        z[:, 1], 0.8 * z[:, 0] - 0.2, 0.6 + 0.1 * z[:, 0]**2)
    np.testing.assert_allclose(energy(z), want, rtol=1e-13)
    np.testing.assert_allclose(cubature_2d(energy, [-np.inf] * 2, [np.inf] * 2), 1.0,
                               rtol=RTOL)


def test_product_of_exponentials_integrates_to_one():
    # x ~ Exp(rate 2), y | x ~ Exp(rate 1 + x^2): support [0, inf)^2, -inf log density outside
    def log_exp(u, rate):
        return anp.where(u >= 0, anp.log(rate) - rate * anp.where(u >= 0, u, 0.0), -np.inf)

    energy = product(lambda x: log_exp(x[:, 0], 2.0), lambda y, x: log_exp(y[:, 0], 1 + x[:, 0]**2),
                     d_x=1)
    assert energy(np.array([[-1.0, 1.0]]))[0] == np.inf
    np.testing.assert_allclose(cubature_2d(energy, [0, 0], [np.inf] * 2), 1.0, rtol=RTOL)


def test_chained_product_is_the_joint_gaussian():
    # x1 ~ N(0, 1), x2 | x1 ~ N(a x1, s^2), x3 | x1, x2 ~ N(b x2 + c x1, t^2): the chain rule
    # gives N(0, Sigma) with Sigma from the linear model; compared with scipy's logpdf.
    a, s, b, c, t = 0.7, 0.5, -1.2, 0.3, 0.9
    pair = product(lambda x: log_normal(x[:, 0], 0.0, 1.0),
                   lambda y, x: log_normal(y[:, 0], a * x[:, 0], s), d_x=1)
    triple = product(lambda x: -pair(x),
                     lambda y, x: log_normal(y[:, 0], b * x[:, 1] + c * x[:, 0], t), d_x=2)
    L = np.array([[1.0, 0, 0], [a, 1, 0], [c + b * a, b, 1]])  # x = L (noise scaled by D)
    D = np.diag([1.0, s, t])
    cov = L @ D @ D @ L.T
    z = make_rng(0).normal(size=(6, 3))
    np.testing.assert_allclose(triple(z), -stats.multivariate_normal(np.zeros(3), cov).logpdf(z),
                               rtol=1e-12)


def test_product_is_differentiable_in_its_parameters():
    z = np.array([[0.3, -1.0], [2.0, 0.5]])

    def total(theta):
        energy = product(lambda x: log_normal(x[:, 0], theta[0], 1.0),
                         lambda y, x: log_normal(y[:, 0], theta[1] * x[:, 0], 1.0), d_x=1)
        return anp.sum(energy(z))

    check_grads(total, modes=["rev"], order=2)(np.array([0.2, -0.4]))


def test_product_on_every_namespace(xp, to_xp):
    def lp_x(x):
        return -0.5 * x[:, 0] ** 2 - 0.5 * math.log(2 * math.pi)

    def lp_y(y, x):
        return -0.5 * xp.sum((y - x[:, :1]) ** 2, axis=-1) - math.log(2 * math.pi)

    z = make_rng(1).normal(size=(4, 3))
    got = product(lp_x, lp_y, d_x=1)(to_xp(z))
    want = -stats.norm.logpdf(z[:, 0]) - stats.norm.logpdf(z[:, 1], z[:, 0]) - stats.norm.logpdf(
        z[:, 2], z[:, 0])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13)


def test_product_bad_input():
    lp = lambda x: -0.5 * anp.sum(x**2, axis=-1)  # noqa: E731
    lpy = lambda y, x: -0.5 * anp.sum(y**2, axis=-1)  # noqa: E731
    with pytest.raises(TypeError, match="`log_p_x` must be callable"):
        product(1.0, lpy, 1)
    with pytest.raises(TypeError, match="`log_p_y_given_x` must be callable"):
        product(lp, None, 1)
    with pytest.raises(ValueError, match="`d_x` must be >= 1, got 0"):
        product(lp, lpy, 0)
    with pytest.raises(TypeError, match="`d_x` must be an integer"):
        product(lp, lpy, 1.5)
    energy = product(lp, lpy, 2)
    with pytest.raises(ValueError, match=r"`z` must have more than d_x = 2 columns"):
        energy(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"`z` must have 2 dimension\(s\)"):
        energy(np.zeros(3))
    with pytest.raises(ValueError, match="`z` must be finite"):
        energy(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"`log_p_x` must return shape \(3,\)"):
        product(lambda x: x, lpy, 1)(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="`log_p_y_given_x` returned NaN at 1 of 1 points"):
        product(lp, lambda y, x: y[:, 0] * np.nan, 1)(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="`log_p_x` returned inf"):
        product(lambda x: x[:, 0] + np.inf, lpy, 1)(np.zeros((1, 2)))


# ---------------------------------------------------------------------------------------------
# D4: mixtures


MIX_W = np.array([0.2, 0.5, 0.3])
MIX_PARTS = [(-2.0, 0.5), (1.0, 1.0), (4.0, 2.0)]


def mix_log_probs():
    return [lambda x, m=m, s=s: log_normal(x[:, 0], m, s) for m, s in MIX_PARTS]


def test_mixture_energy_and_normalization_1d():
    energy = mixture(MIX_W, mix_log_probs())
    x = np.linspace(-6, 9, 11)[:, None]
    want = -np.log(sum(w * stats.norm.pdf(x[:, 0], m, s) for w, (m, s) in zip(MIX_W, MIX_PARTS)))
    np.testing.assert_allclose(energy(x), want, rtol=1e-13)
    np.testing.assert_allclose(quad_1d(energy), 1.0, rtol=RTOL)


def test_mixture_normalization_2d():
    # a 2-D mixture of a correlated Gaussian and a product of a Gaussian and a logistic density
    cov = np.array([[1.0, 0.6], [0.6, 0.8]])
    icov = np.linalg.inv(cov)
    log_det = np.linalg.slogdet(cov)[1]

    def lp_gauss(x):
        u = x - np.array([1.0, -0.5])
        return -0.5 * anp.sum((u @ icov) * u, axis=-1) - 0.5 * log_det - np.log(2 * np.pi)

    def lp_other(x):  # N(-1, 0.7^2) times a logistic density with location 0.5, scale 0.4
        u = (x[:, 1] - 0.5) / 0.4
        return log_normal(x[:, 0], -1.0, 0.7) - u - 2 * anp.logaddexp(0.0, -u) - np.log(0.4)

    x = np.array([[0.2, 0.9], [-1.0, -3.0]])
    np.testing.assert_allclose(
        lp_other(x), stats.norm.logpdf(x[:, 0], -1, 0.7) + stats.logistic.logpdf(x[:, 1], 0.5, 0.4),
        rtol=1e-13)
    energy = mixture(np.array([0.35, 0.65]), [lp_gauss, lp_other])
    np.testing.assert_allclose(cubature_2d(energy, [-np.inf] * 2, [np.inf] * 2), 1.0, rtol=RTOL)


def test_mixture_zero_weight_component_is_dropped():
    def never(x):
        raise AssertionError("a component of weight zero was evaluated")

    energy = mixture(np.array([0.4, 0.0, 0.6]), [mix_log_probs()[0], never, mix_log_probs()[2]])
    ref = mixture(np.array([0.4, 0.6]), [mix_log_probs()[0], mix_log_probs()[2]])
    x = np.linspace(-3, 3, 5)[:, None]
    np.testing.assert_allclose(energy(x), ref(x), rtol=0)


def test_mixture_gradient_in_the_weights():
    # d E / d w_k = -p_k(x) / p(x) (the weights taken as free coordinates)
    x = np.array([[0.3], [-1.5]])
    dens = np.array([[stats.norm.pdf(x[i, 0], m, s) for m, s in MIX_PARTS] for i in range(2)])
    for i in range(2):
        g = autograd.grad(lambda w: mixture(w, mix_log_probs())(x)[i])(MIX_W)
        np.testing.assert_allclose(g, -dens[i] / (dens[i] @ MIX_W), rtol=1e-12)


def test_mixture_large_energies_do_not_overflow():
    # log densities near -1e4: exp underflows but logsumexp does not
    parts = [lambda x: -1e4 - x[:, 0] ** 2, lambda x: -1e4 + 1.0 - x[:, 0] ** 2]
    energy = mixture(np.array([0.5, 0.5]), parts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = energy(np.zeros((1, 1)))
    np.testing.assert_allclose(got, [1e4 - np.log(0.5 + 0.5 * np.e)], rtol=1e-15)


def test_mixture_on_every_namespace(xp, to_xp):
    def part(m):
        return lambda x: -0.5 * xp.sum((x - m) ** 2, axis=-1) - math.log(2 * math.pi)

    energy = mixture(np.array([0.3, 0.7]), [part(-1.0), part(2.0)])
    x = make_rng(2).normal(size=(5, 2))
    want = -np.log(0.3 * stats.multivariate_normal([-1, -1]).pdf(x)
                   + 0.7 * stats.multivariate_normal([2, 2]).pdf(x))
    np.testing.assert_allclose(np.asarray(energy(to_xp(x))), want, rtol=1e-13)
    energy_xp = mixture(to_xp([0.3, 0.7]), [part(-1.0), part(2.0)])
    np.testing.assert_allclose(np.asarray(energy_xp(to_xp(x))), want, rtol=1e-13)


def test_mixture_bad_input():
    lps = mix_log_probs()
    with pytest.raises(ValueError, match="`weights` must sum to 1, got sum"):
        mixture(np.array([0.2, 0.5, 0.4]), lps)
    with pytest.raises(ValueError, match="`weights` must have entries >= 0"):
        mixture(np.array([-0.2, 0.9, 0.3]), lps)
    with pytest.raises(ValueError, match="`weights` must be finite"):
        mixture(np.array([np.nan, 0.5, 0.5]), lps)
    with pytest.raises(ValueError, match=r"`weights` must have 1 dimension\(s\)"):
        mixture(np.ones((1, 3)) / 3, lps)
    with pytest.raises(ValueError, match=r"`weights` must have one entry per component \(3"):
        mixture(np.array([0.5, 0.5]), lps)
    with pytest.raises(ValueError, match="`weights` must not be empty"):
        mixture(np.array([]), [])
    with pytest.raises(TypeError, match="`log_probs` must be a sequence of callables"):
        mixture(np.array([1.0]), lps[0])
    with pytest.raises(TypeError, match=r"`log_probs\[1\]` must be callable"):
        mixture(np.array([0.5, 0.5]), [lps[0], 2.0])
    energy = mixture(MIX_W, lps)
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension\(s\)"):
        energy(np.zeros(2))
    with pytest.raises(ValueError, match="`x` must be finite, got inf"):
        energy(np.array([[np.inf]]))
    with pytest.raises(ValueError, match=r"`log_probs\[0\]` must return shape \(2,\)"):
        mixture(np.array([1.0]), [lambda x: x])(np.zeros((2, 2)))


# ---------------------------------------------------------------------------------------------
# D2: non-negative parametrizations


def f_hat(x):  # x exp(-x^2 / 4): zero at 0, negative for x < 0
    return x[:, 0] * anp.exp(-x[:, 0] ** 2 / 4)


def f_bump(x):
    return -0.5 * x[:, 0] ** 2


def f_odd(x):
    return x[:, 0] * anp.exp(-0.5 * x[:, 0] ** 2)


# (map, f, closed-form Z = integral of g over the real line)
D2_CASES = [
    # g = x^2 exp(-x^2/2): the second moment of N(0, 1) times sqrt(2 pi)
    pytest.param(square, f_hat, math.sqrt(2 * math.pi), id="square"),
    # g = exp(-x^2/2)
    pytest.param(exponential, f_bump, math.sqrt(2 * math.pi), id="exponential"),
    # g = |x| exp(-x^2/2): 2 * integral_0^inf x exp(-x^2/2) dx = 2
    pytest.param(absolute, f_odd, 2.0, id="absolute"),
    # g = log(1 + u), u = exp(-x^2/2): sum_k (-1)^(k+1) u^k / k integrates to
    # sqrt(2 pi) sum_k (-1)^(k+1) k^(-3/2) = sqrt(2 pi) (1 - 2^(-1/2)) zeta(3/2)
    pytest.param(softplus, f_bump,
                 math.sqrt(2 * math.pi) * (1 - 2**-0.5) * special.zeta(1.5), id="softplus"),
]


@pytest.mark.parametrize("make, f, volume", D2_CASES)
def test_nonnegative_maps_normalize_by_quadrature(make, f, volume):
    energy = make(f)
    # at the zero of f_hat, E = inf and exp(-E) = 0 = g: the integrand stays exact there
    np.testing.assert_allclose(quad_1d(energy), volume, rtol=RTOL)
    np.testing.assert_allclose(quad_1d(energy, shift=math.log(volume)), 1.0, rtol=RTOL)


def g_direct(kind, fx):
    return {"square": fx**2, "exponential": np.exp(fx), "absolute": np.abs(fx),
            "softplus": np.log1p(np.exp(fx))}[kind]


@pytest.mark.parametrize("kind", ["square", "exponential", "absolute", "softplus"])
def test_nonnegative_maps_match_their_definition(kind):
    make = {"square": square, "exponential": exponential, "absolute": absolute,
            "softplus": softplus}[kind]
    rng = make_rng(3)
    coef = rng.normal(size=3)

    def f(x):
        return anp.tanh(x @ coef) * 5.0

    x = np.concatenate([rng.normal(size=(40, 3)), np.zeros((1, 3))])  # f = 0 at the last row
    fx = np.tanh(x @ coef) * 5.0
    g = g_direct(kind, fx)
    assert np.all(g >= 0)
    energy = make(f)(x)
    # -log(g) is the less accurate side: g carries a relative rounding error of a few ulp, which
    # -log turns into an absolute error of about 1e-15 (a relative one of 1e-15 / |log g|, large
    # where g is near 1, e.g. exp(f) with f near 0). Hence atol 1e-14 beside rtol 1e-13.
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(energy, -np.log(g), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(np.exp(-energy), g, rtol=1e-13)


def test_zero_of_f_gives_infinite_energy_without_warnings():
    x = np.array([[0.0], [1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for make in (square, absolute):
            e = make(lambda x: x[:, 0])(x)
            assert e[0] == np.inf and np.isfinite(e[1])
            # gradients in a parameter stay finite (no NaN through the f = 0 branch)
            g = autograd.grad(lambda a: anp.sum(make(lambda x: a * x[:, 0])(x[1:])))(2.0)
            np.testing.assert_allclose(g, -(2.0 if make is square else 1.0) / 2.0, rtol=1e-14)


@given(t=st.floats(-1e4, 1e4, allow_subnormal=False, allow_nan=False))
def test_softplus_energy_is_stable(t):
    e = softplus(lambda x: x[:, 0])(np.array([[t]]))[0]
    assert np.isfinite(e)
    if -700 < t < 30:
        # the direct formula is accurate here (exp(t) neither overflows nor underflows to 0) up
        # to a few ulp in log1p(exp(t)), which -log turns into an absolute error near 1e-15
        # (relative error unbounded where log1p(exp(t)) is near 1, t near 0.54): atol 1e-14
        np.testing.assert_allclose(e, -np.log(np.log1p(np.exp(t))), rtol=1e-13, atol=1e-14)
    if t <= -40:
        # log log(1 + e^t) = t - e^t/2 + O(e^(2t)): equal to t in double precision
        assert e == -t or abs(e + t) <= 1e-13 * abs(t)


def test_softplus_gradient_on_both_branches():
    for a in (1.0, -40.0, -1e3):
        x = np.array([[1.0], [0.5]])
        check_grads(lambda a_: anp.sum(softplus(lambda x: a_ * x[:, 0])(x)), modes=["rev"])(a)
    # exact derivative of -log log(1 + e^f) in f: -sigmoid(f) / log(1 + e^f)
    fs = np.array([-50.0, -31.0, -29.0, 0.0, 25.0])
    got = autograd.elementwise_grad(lambda f: softplus(lambda x: x[:, 0])(f[:, None]))(fs)
    np.testing.assert_allclose(got, -special.expit(fs) / np.logaddexp(0, fs), rtol=1e-12)


@pytest.mark.parametrize("make", [square, exponential, absolute, softplus])
def test_nonnegative_maps_on_every_namespace(make, xp, to_xp):
    x = np.linspace(-2, 2, 7)[:, None]
    got = make(lambda u: u[:, 0] * 1.5 - 0.5)(to_xp(x))
    want = make(lambda u: u[:, 0] * 1.5 - 0.5)(x)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-14)


@pytest.mark.parametrize("make", [square, exponential, absolute, softplus])
def test_nonnegative_maps_bad_input(make):
    with pytest.raises(TypeError, match="`f` must be callable"):
        make(np.ones(3))
    with pytest.raises(ValueError, match=r"`f` must return shape \(2,\) for 2 points"):
        make(lambda x: x)(np.zeros((2, 2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match="`f` returned NaN at 1 of 2 points"):
            make(lambda x: anp.log(x[:, 0]))(np.array([[1.0], [-1.0]]))
        with pytest.raises(ValueError, match="`f` returned inf"):
            make(lambda x: 1.0 / x[:, 0])(np.array([[1.0], [0.0]]))
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension\(s\)"):
        make(lambda x: x[:, 0])(np.zeros(2))
    with pytest.raises(ValueError, match="`x` must be finite, got NaN"):
        make(lambda x: x[:, 0])(np.array([[np.nan]]))
