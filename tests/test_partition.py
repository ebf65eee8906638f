"""Tests of refebm.partition: quadrature, adaptive (scipy) and enumeration of log Z (D1, D5).

Every quadrature value is checked against a closed form (Gaussian, Beta, Gamma, Cauchy,
Laplace, independent binary units) or against scipy.integrate through `adaptive`, and every
gradient against its analytic value and central finite differences.
"""

import itertools
import math
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import betaln, digamma, gammaln, ndtr

from refebm.partition import (IntegrationError, QuadratureResult, adaptive, enumerate_states,
                              quadrature)

from seeding import make_rng

INF = np.inf
LOG_2PI = math.log(2 * math.pi)


def gaussian(mean, cov):
    """Energy of N(mean, cov) without its normalizer, and the exact log Z."""
    mean, cov = np.asarray(mean, float), np.asarray(cov, float)
    precision = np.linalg.inv(cov)

    def energy(x):
        z = x - mean
        return 0.5 * anp.sum((z @ precision) * z, axis=-1)

    return energy, 0.5 * mean.size * LOG_2PI + 0.5 * np.linalg.slogdet(cov)[1]


def beta_energy(a, b, lo=0.0, hi=1.0):
    """(x - lo)^(a-1) (hi - x)^(b-1) on (lo, hi): log Z = betaln(a, b) + (a+b-1) log(hi-lo)."""
    def energy(x):
        return -(a - 1) * anp.log(x[:, 0] - lo) - (b - 1) * anp.log(hi - x[:, 0])
    return energy, betaln(a, b) + (a + b - 1) * math.log(hi - lo)


def gamma_energy(k, rate, shift=0.0, sign=1.0):
    """Gamma(k, rate) density of sign * (x - shift): log Z = gammaln(k) - k log(rate)."""
    def energy(x):
        y = sign * (x[:, 0] - shift)
        return -(k - 1) * anp.log(y) + rate * y
    return energy, gammaln(k) - k * math.log(rate)


def quartic(x):
    return 0.25 * anp.sum(x**2, axis=-1) ** 2 - anp.sum(anp.sin(3 * x), axis=-1)


COV2 = [[1.0, 0.8], [0.8, 2.0]]
COV3 = [[1.0, 0.5, 0.2], [0.5, 2.0, -0.3], [0.2, -0.3, 0.5]]


def _closed_form_cases():
    s = 1.7
    half_normal = 0.5 * LOG_2PI - math.log(2)
    cases = {
        "gauss-1d": (*gaussian([0.3], [[s**2]]), [(-INF, INF)]),
        "gauss-1d-box": (lambda x: 0.5 * ((x[:, 0] - 0.3) / s) ** 2,
                         math.log(s * math.sqrt(2 * math.pi)
                                  * (ndtr((2 - 0.3) / s) - ndtr((-1 - 0.3) / s))), [(-1.0, 2.0)]),
        "gauss-2d-corr": (*gaussian([0.3, -0.5], COV2), [(-INF, INF)] * 2),
        "gauss-3d-corr": (*gaussian([0.3, -0.5, 1.0], COV3), [(-INF, INF)] * 3),
        "half-normals-2d": (lambda x: 0.5 * x[:, 0] ** 2 + 0.5 * ((x[:, 1] - 1) / 2) ** 2,
                            2 * half_normal + math.log(2), [(0, INF), (-INF, 1)]),
        "beta-0.5-0.5": (*beta_energy(0.5, 0.5), [(0, 1)]),
        "beta-2-3": (*beta_energy(2, 3), [(0, 1)]),
        "beta-0.5-0.5-on-(1,3)": (*beta_energy(0.5, 0.5, 1, 3), [(1, 3)]),
        "gamma-0.5-1": (*gamma_energy(0.5, 1), [(0, INF)]),
        "gamma-3-2": (*gamma_energy(3, 2), [(0, INF)]),
        "gamma-0.5-1-shifted": (*gamma_energy(0.5, 1, shift=2.0), [(2, INF)]),
        "gamma-0.5-1-mirrored": (*gamma_energy(0.5, 1, sign=-1.0), [(-INF, 0)]),
        "cauchy": (lambda x: anp.log1p(x[:, 0] ** 2), math.log(math.pi), [(-INF, INF)]),
        "beta-gamma-2d": (lambda x: beta_energy(0.5, 0.5)[0](x[:, :1])
                          + gamma_energy(3, 2)[0](x[:, 1:]),
                          math.log(math.pi) + gammaln(3) - 3 * math.log(2), [(0, 1), (0, INF)]),
    }
    return cases


CASES = _closed_form_cases()


@pytest.mark.parametrize("name", list(CASES))
def test_quadrature_matches_closed_form(name):
    energy, exact, bounds = CASES[name]
    res = quadrature(energy, bounds)
    assert isinstance(res, QuadratureResult)
    np.testing.assert_allclose(res.log_z, exact, rtol=1e-10)
    # the error estimate covers the actual error (up to float64 rounding of log Z)
    assert abs(res.log_z - exact) <= res.error + 64 * np.finfo(float).eps * (1 + abs(exact))
    assert 0 <= res.error <= 1e-10


def test_laplace_split_at_its_kink():
    # |x - m| has a kink at m: split the box there (the docstring's advice); Z = 2 b
    m, b = 0.3, 1.5
    energy = lambda x: anp.abs(x[:, 0] - m) / b  # noqa: E731
    left, right = quadrature(energy, [(-INF, m)]), quadrature(energy, [(m, INF)])
    np.testing.assert_allclose(np.logaddexp(left.log_z, right.log_z), math.log(2 * b),
                               rtol=1e-10)


def test_energy_inf_outside_support_is_zero_mass():
    # +inf where the mass is e^-450 or less: no effect on log Z, no error
    base, exact = gaussian([0.0, 0.0], np.eye(2))
    energy = lambda x: anp.where(anp.abs(x[:, 0]) > 30, anp.inf, base(x))  # noqa: E731
    np.testing.assert_allclose(quadrature(energy, [(-INF, INF)] * 2).log_z, exact, rtol=1e-10)


def test_one_batched_call_per_level():
    calls = []

    def energy(x):
        calls.append(x.shape)
        return quartic(x)

    res = quadrature(energy, [(-INF, INF)] * 2)
    assert all(len(s) == 2 and s[1] == 2 for s in calls)
    assert sum(s[0] for s in calls) == res.n_evals
    assert 3 <= len(calls) <= 40


@pytest.mark.parametrize("method", ["nquad", "cubature", "tanhsinh"])
def test_quadrature_matches_adaptive_on_quartic_1d(method):
    ours, theirs = quadrature(quartic, [(-INF, INF)]), adaptive(quartic, [(-INF, INF)],
                                                                method=method)
    np.testing.assert_allclose(ours.log_z, theirs.log_z, rtol=1e-10)
    assert theirs.error <= 1e-10 and theirs.n_evals > 0


def test_quadrature_matches_cubature_on_quartic_2d():
    bounds = [(-INF, INF)] * 2
    np.testing.assert_allclose(quadrature(quartic, bounds).log_z,
                               adaptive(quartic, bounds, method="cubature").log_z, rtol=1e-10)


def test_quadrature_matches_cubature_on_finite_box_3d():
    # a 3-D box with a smooth, asymmetric integrand; cubature's own rule is Gauss-Kronrod
    energy = lambda x: quartic(x) + 0.3 * x[:, 0] * x[:, 1]  # noqa: E731
    bounds = [(-0.5, 1.0), (-1.0, 0.5), (0.0, 1.0)]
    np.testing.assert_allclose(quadrature(energy, bounds).log_z,
                               adaptive(energy, bounds, method="cubature").log_z, rtol=1e-10)


@pytest.mark.parametrize("method", ["nquad", "tanhsinh"])
def test_quadrature_matches_nested_scipy_on_box_2d(method):
    # a correlated Gaussian cut by a box: no closed form, two independent rules
    energy, _ = gaussian([0.3, -0.5], COV2)
    bounds = [(-3.0, 3.0), (-4.0, 4.0)]
    np.testing.assert_allclose(quadrature(energy, bounds).log_z,
                               adaptive(energy, bounds, method=method).log_z, rtol=1e-10)


@pytest.mark.parametrize("method", ["nquad", "cubature", "tanhsinh"])
def test_adaptive_matches_closed_forms(method):
    energy, exact = gaussian([0.3], [[2.0]])
    shifted = lambda x: energy(x) + 1e4  # noqa: E731  (energies of size 1e4 do not overflow)
    np.testing.assert_allclose(adaptive(shifted, [(-INF, INF)], method=method).log_z,
                               exact - 1e4, rtol=1e-12)
    energy, exact = gamma_energy(3, 2)
    np.testing.assert_allclose(adaptive(energy, [(0, INF)], method=method).log_z, exact,
                               rtol=1e-10)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_adaptive_refuses_unresolvable_end_singularities():
    # Beta(1/2, 1/2) has mass within one ulp of x = 1 that no point of float64 can see
    energy, _ = beta_energy(0.5, 0.5)
    for method in ("cubature", "tanhsinh"):
        with pytest.raises(IntegrationError, match="end"):
            adaptive(energy, [(0, 1)], method=method)


@pytest.mark.parametrize("c", [1e4, -1e4, 123.456, -1e-3])
def test_shift_identity(c):
    energy = lambda x: quartic(x) + 0.2 * x[:, 0]  # noqa: E731
    bounds = [(-INF, INF), (-1.0, 2.0)]
    base = quadrature(energy, bounds)
    shifted = quadrature(lambda x: energy(x) + c, bounds)
    # log Z - c is itself a float of size |c|: it holds log Z only to about ulp(c)
    np.testing.assert_allclose(shifted.log_z + c, base.log_z, rtol=1e-12,
                               atol=4 * np.spacing(abs(c)))
    assert np.isfinite(shifted.log_z)


def test_energies_of_size_1e4_do_not_overflow():
    energy, exact = gaussian([0.0, 1.0], COV2)
    for c in (1e4, -1e4):
        res = quadrature(lambda x: energy(x) + c, [(-INF, INF)] * 2)
        np.testing.assert_allclose(res.log_z, exact - c, rtol=1e-13)


# --- gradients -------------------------------------------------------------------------------

def test_gradient_wrt_mean_is_zero():
    g = autograd.grad(lambda m: quadrature(lambda x: 0.5 * anp.sum((x - m) ** 2, -1),
                                           [(-INF, INF)]).log_z)(0.7)
    assert abs(g) < 1e-10


def test_gradient_wrt_scale_and_precision():
    # log Z = log(sigma sqrt(2 pi)): d/d sigma = 1 / sigma; E = lam x^2 / 2: d/d lam = -1/(2 lam)
    def log_z_sigma(sigma):
        return quadrature(lambda x: 0.5 * (x[:, 0] / sigma) ** 2, [(-INF, INF)]).log_z

    def log_z_lam(lam):
        return quadrature(lambda x: 0.5 * lam * x[:, 0] ** 2, [(-INF, INF)]).log_z

    np.testing.assert_allclose(autograd.grad(log_z_sigma)(1.7), 1 / 1.7, rtol=1e-8)
    np.testing.assert_allclose(autograd.grad(log_z_lam)(2.0), -0.25, rtol=1e-8)


def test_gradient_wrt_precision_matrix():
    # log Z = d/2 log 2 pi - 1/2 log det P  =>  d log Z / d P = -1/2 P^{-1}
    P = np.linalg.inv(np.asarray(COV2))

    def log_z(P):
        return quadrature(lambda x: 0.5 * anp.sum((x @ P) * x, axis=-1), [(-INF, INF)] * 2).log_z

    np.testing.assert_allclose(autograd.grad(log_z)(P), -0.5 * np.asarray(COV2), atol=1e-9)


def test_gradient_of_betaln():
    # d/da betaln(a, b) = digamma(a) - digamma(a + b); a, b < 1 uses the continued end at 1
    def log_z(theta):
        return quadrature(beta_energy(theta[0], theta[1])[0], [(0, 1)]).log_z

    for a, b in [(0.7, 2.5), (2.0, 0.6)]:
        expected = [digamma(a) - digamma(a + b), digamma(b) - digamma(a + b)]
        np.testing.assert_allclose(autograd.grad(log_z)(np.array([a, b])), expected, rtol=1e-8)


def test_check_grads_finite_differences():
    # tol 1e-13 so that a refinement decision flipping between +-eps moves log Z by < 1e-13
    def beta_log_z(theta):
        return quadrature(beta_energy(theta[0], theta[1])[0], [(0, 1)], tol=1e-13).log_z

    def gauss_log_z(theta):
        return quadrature(lambda x: 0.5 * ((x[:, 0] - theta[0]) / theta[1]) ** 2
                          + theta[2] * anp.sin(x[:, 0]), [(-INF, INF)], tol=1e-13).log_z

    check_grads(beta_log_z, modes=["rev"], order=1)(np.array([0.7, 2.5]))
    check_grads(gauss_log_z, modes=["rev"], order=1)(np.array([0.3, 1.4, 0.5]))


# --- hypothesis ------------------------------------------------------------------------------

@given(st.integers(1, 3), st.data())
def test_gaussian_any_dimension_and_covariance(d, data):
    unit = st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)
    scale = st.floats(0.3, 3.0, allow_nan=False, allow_subnormal=False)
    L = np.zeros((d, d))
    for i in range(d):
        L[i, i] = data.draw(scale)
        for j in range(i):
            L[i, j] = data.draw(unit)
    mean = np.array([3 * data.draw(unit) for _ in range(d)])
    energy, exact = gaussian(mean, L @ L.T)
    res = quadrature(energy, [(-INF, INF)] * d)
    np.testing.assert_allclose(res.log_z, exact, rtol=1e-10, atol=1e-12)


# --- xp namespaces ---------------------------------------------------------------------------

def test_quadrature_on_namespaces(xp):
    def energy(x):
        return 0.5 * xp.sum(x**2, axis=-1)

    res = quadrature(energy, [(-INF, INF), (0, INF)], xp=xp)
    exact = LOG_2PI - math.log(2)
    np.testing.assert_allclose(float(res.log_z), exact, rtol=1e-10)


def test_enumerate_states_on_namespaces(xp, to_xp):
    h = np.array([0.5, -1.0, 2.0])
    states = to_xp(list(itertools.product([0, 1], repeat=3)))
    log_z = enumerate_states(lambda x: -xp.sum(x * to_xp(h), axis=-1), states)
    np.testing.assert_allclose(float(log_z), np.sum(np.log1p(np.exp(h))), rtol=1e-14)


# --- enumeration -----------------------------------------------------------------------------

def test_enumerate_states_matches_direct_sum():
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(0)
    states = rng.normal(size=(7, 2))
    W = rng.normal(size=(2, 2))
    energy = lambda x: anp.sum((x @ W) * x, axis=-1)  # noqa: E731
    direct = np.log(np.sum(np.exp(-energy(states))))
    np.testing.assert_allclose(enumerate_states(energy, states), direct, rtol=1e-14)
    # shifting the energy moves log Z by exactly the shift; size 1e4 does not overflow
    np.testing.assert_allclose(enumerate_states(lambda x: energy(x) + 1e4, states),
                               direct - 1e4, rtol=1e-15)


def test_enumerate_states_binary_units_value_and_gradient():
    # E(x) = -h . x on {0,1}^d: log Z = sum log(1 + e^h), d log Z / d h = sigmoid(h)
    h = np.array([0.5, -1.0, 2.0, 0.1])
    states = np.array(list(itertools.product([0, 1], repeat=4)))

    def log_z(h):
        return enumerate_states(lambda x: -x @ h, states)

    np.testing.assert_allclose(log_z(h), np.sum(np.log1p(np.exp(h))), rtol=1e-14)
    np.testing.assert_allclose(autograd.grad(log_z)(h), 1 / (1 + np.exp(-h)), rtol=1e-12)
    check_grads(log_z, modes=["rev"], order=1)(h)


def test_enumerate_states_inf_energy_is_zero_probability():
    states = np.array([[0.0], [1.0], [2.0]])
    energy = lambda x: anp.where(x[:, 0] > 1.5, anp.inf, x[:, 0])  # noqa: E731
    np.testing.assert_allclose(enumerate_states(energy, states), np.log(1 + np.exp(-1)),
                               rtol=1e-15)


# --- failures are loud -----------------------------------------------------------------------

@pytest.mark.parametrize("energy, bounds", [
    (lambda x: 0 * x[:, 0], [(-INF, INF)]),                # E = 0 on the real line
    (lambda x: anp.log(x[:, 0]), [(0, 1)]),                 # density 1/x at a zero end
    (lambda x: anp.log1p(-x[:, 0]), [(0, 1)]),              # density 1/(1-x) at a non-zero end
    (lambda x: -x[:, 0], [(0, INF)]),                       # growing density
    (lambda x: 0.5 * x[:, 0] ** 2 + 0 * x[:, 1], [(-INF, INF), (-INF, INF)]),  # flat in x_1
], ids=["zero", "1/x", "1/(1-x)", "exp(x)", "flat-axis"])
def test_non_integrable_energies_raise(energy, bounds):
    with pytest.raises(IntegrationError, match="not integrable"):
        quadrature(energy, bounds)


def test_unreachable_tolerances_raise_with_the_estimate():
    energy, exact = gaussian([0.0], [[1.0]])
    with pytest.raises(IntegrationError, match="below the float64 resolution") as info:
        quadrature(energy, [(-INF, INF)], tol=1e-17)
    assert abs(info.value.result.log_z - exact) < 1e-13
    with pytest.raises(IntegrationError, match="max_evals") as info:
        quadrature(quartic, [(-INF, INF)] * 2, max_evals=3000)
    assert isinstance(info.value.result, QuadratureResult)
    # a jump inside the box converges like O(h): the estimate never settles to 1e-10
    step = lambda x: anp.where(x[:, 0] < 0.3, 0.0, 1.0)  # noqa: E731
    with pytest.raises(IntegrationError, match="did not reach") as info:
        quadrature(step, [(0, 1)], max_level=12)
    assert abs(info.value.result.log_z - math.log(0.3 + 0.7 * math.exp(-1))) < 1e-2


def test_four_dimensions_warn():
    energy, exact = gaussian(np.zeros(4), np.eye(4))
    with pytest.warns(RuntimeWarning, match="4 dimensions"):
        res = quadrature(energy, [(-INF, INF)] * 4, tol=1e-4)
    assert abs(res.log_z - exact) < 1e-4


# --- bad input -------------------------------------------------------------------------------

GOOD = [(-INF, INF)]


def _gauss(x):
    return 0.5 * anp.sum(x**2, axis=-1)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(energy="x"), TypeError, "`energy` must be callable"),
    (dict(bounds=[(1.0, 0.0)]), ValueError, r"`bounds\[0\]` must have lo < hi"),
    (dict(bounds=[(0.0, 0.0)]), ValueError, "lo < hi"),
    (dict(bounds=[(np.nan, 1.0)]), ValueError, "NaN"),
    (dict(bounds=[]), ValueError, "must not be empty"),
    (dict(bounds="ab"), TypeError, "`bounds` must be a sequence"),
    (dict(bounds=[(0.0,)]), TypeError, r"`bounds\[0\]` must be a \(lo, hi\) pair"),
    (dict(bounds=[(0, 1)] * 5), ValueError, "at most 4"),
    (dict(bounds=[(1.0, 1.0 + 1e-9)]), ValueError, "too narrow"),
    (dict(bounds=[(-1e308, 1e308)]), ValueError, "too wide"),
    (dict(tol=0.0), ValueError, "`tol` must be > 0"),
    (dict(tol=-1e-3), ValueError, "`tol` must be > 0"),
    (dict(tol=np.nan), ValueError, "`tol` must be finite"),
    (dict(tol="small"), TypeError, "`tol` must be a real number"),
    (dict(max_evals=0), ValueError, "`max_evals` must be >= 1"),
    (dict(max_evals=1e6), TypeError, "`max_evals` must be an integer"),
    (dict(max_level=1), ValueError, "`max_level` must be >= 2"),
    (dict(energy=lambda x: anp.sum(x, axis=-1, keepdims=True)), ValueError, r"shape \(\d+,\)"),
    (dict(energy=lambda x: x[:, 0] * np.nan), ValueError, "returned NaN"),
    (dict(energy=lambda x: anp.where(x[:, 0] == 0.0, -anp.inf, 0.5 * x[:, 0] ** 2)),
     ValueError, "-inf"),
    (dict(energy=lambda x: x[:, 0].astype(complex)), TypeError, "real"),
])
def test_quadrature_bad_input(kwargs, error, match):
    args = dict(energy=_gauss, bounds=GOOD)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        quadrature(args.pop("energy"), args.pop("bounds"), **args)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(energy=3.0), TypeError, "`energy` must be callable"),
    (dict(bounds=[(2.0, 1.0)]), ValueError, "lo < hi"),
    (dict(bounds=[(0, 1)] * 5), ValueError, "at most 4"),
    (dict(tol=0.0), ValueError, "`tol` must be > 0"),
    (dict(tol=1e-15, method="nquad"), ValueError, "50 \\* eps"),
    (dict(method="simpson"), ValueError, "`method` must be one of"),
    (dict(energy=lambda x: x[:, 0] * np.nan), ValueError, "returned NaN"),
    (dict(energy=lambda x: -x[:, 0]), IntegrationError, "non-integrable|did not"),
])
def test_adaptive_bad_input(kwargs, error, match):
    args = dict(energy=_gauss, bounds=[(0.0, INF)], method="cubature")
    args.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(error, match=match):
            adaptive(args.pop("energy"), args.pop("bounds"), **args)


def test_adaptive_is_not_differentiable():
    def log_z(m):
        return adaptive(lambda x: 0.5 * anp.sum((x - m) ** 2, -1), GOOD).log_z

    with pytest.raises(TypeError, match="not differentiable"):
        autograd.grad(log_z)(0.3)


@pytest.mark.parametrize("states, error, match", [
    (np.zeros(3), ValueError, "`states` must have 2 dimension"),
    (np.zeros((0, 2)), ValueError, "`states` must not be empty"),
    (np.array([[0.0, np.nan]]), ValueError, "`states` must be finite"),
    (np.array([[0.0, np.inf]]), ValueError, "`states` must be finite"),
    ("01", TypeError, "`states` must be a real array"),
])
def test_enumerate_states_bad_states(states, error, match):
    with pytest.raises(error, match=match):
        enumerate_states(_gauss, states)


@pytest.mark.parametrize("energy, error, match", [
    (None, TypeError, "`energy` must be callable"),
    (lambda x: x, ValueError, r"must return shape \(4,\)"),
    (lambda x: x[:, 0] * np.nan, ValueError, "returned NaN"),
    (lambda x: -np.inf * np.ones(4), ValueError, "-inf"),
    (lambda x: np.inf * np.ones(4), ValueError, "Z = 0"),
])
def test_enumerate_states_bad_energy(energy, error, match):
    states = np.array(list(itertools.product([0, 1], repeat=2)), dtype=float)
    with pytest.raises(error, match=match):
        enumerate_states(energy, states)
