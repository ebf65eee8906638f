"""The stopping rule of refebm.partition.quadrature, `points=`, `check=` and its messages (D1, D5).

Every value is compared with a closed form or with scipy's adaptive QUADPACK on the same
pieces (an independent algorithm with different nodes).
"""

import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from scipy import integrate
from scipy.special import gammaln, logsumexp
from scipy.stats import norm

from refebm.compose import mixture
from refebm.families import Gaussian, GaussianMixture
from refebm.partition import IntegrationError, quadrature

R = [(-np.inf, np.inf)]
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _plain_mixture(weights, means, sds):
    """A 1-D Gaussian mixture as a plain function (it names no points)."""
    log_w, means, sds = np.log(weights), np.asarray(means), np.asarray(sds)

    def energy(x):
        return -logsumexp(log_w + norm.logpdf(x[:, :1], means, sds), axis=1)
    return energy


def _quad_log_z(f, lo, hi, points=()):
    """log of the integral of ``f`` by QUADPACK, split at ``points``."""
    edges = [lo, *points, hi]
    total = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13, limit=200)[0]
                for a, b in zip(edges[:-1], edges[1:]))
    return math.log(total)


# --- a coincidentally small change between coarse levels no longer ends the refinement --------

@pytest.mark.parametrize("tol", [1e-4, 1e-6, 1e-8, 1e-10])
def test_the_gaussian_that_was_4500_tol_off(tol):
    mu, s = -0.831788, 2.804305
    res = quadrature(lambda x: 0.5 * ((x[:, 0] - mu) / s) ** 2, R, tol=tol)
    truth = HALF_LOG_2PI + math.log(s)
    assert abs(res.log_z - truth) <= tol
    assert abs(res.log_z - truth) <= res.error + 1e-15


def test_a_rotated_elongated_gaussian_in_3d():
    """Mixed aliasing modes (wave vectors like (1, -1, 0)) are invisible to a twin shifted by
    h/2 along every axis; the shifts (1/2, 1/4, 1/8) h and the whitening see them."""
    mean = np.array([6.557348858777379, -13.70001483522316, -0.14909832713773596])
    P = np.array([[4.613757856103538, 2.887762724820282, 1.7303144193875777],
                  [2.887762724820282, 2.1616469931487003, -0.32097828858058064],
                  [1.7303144193875777, -0.32097828858058064, 6.568360387222383]])
    truth = 3 * HALF_LOG_2PI - 0.5 * np.linalg.slogdet(P)[1]

    def energy(x):
        z = x - mean
        return 0.5 * np.einsum("ni,ij,nj->n", z, P, z)
    for tol in (1e-6, 1e-10):
        res = quadrature(energy, R * 3, tol=tol)
        assert abs(res.log_z - truth) <= tol


# --- non-smooth integrands are named, and `points=` resolves them -----------------------------

def _uniform(x):
    return np.where((x[:, 0] >= 0) & (x[:, 0] <= 1), 0.0, np.inf)


def _step(x):
    return 0.5 * x[:, 0] ** 2 + 5.0 * (x[:, 0] > 0.3)


def _cusp(x):
    return np.sqrt(np.abs(x[:, 0] - 0.2))


NON_SMOOTH = [  # energy, bounds, tol, where the feature is, cut points, closed-form log Z
    (_uniform, [(-1.0, 2.0)], 1e-4, 0.0, [0.0, 1.0], 0.0),
    (_step, R, 1e-4, 0.3, [0.3],
     HALF_LOG_2PI + math.log(norm.cdf(0.3) + math.exp(-5.0) * norm.sf(0.3))),
    (_cusp, R, 1e-5, 0.2, [0.2], math.log(4.0)),  # 2 * int_0^inf exp(-sqrt(y)) dy = 4
]


@pytest.mark.parametrize("energy, bounds, tol, where, cuts, truth", NON_SMOOTH,
                         ids=["uniform", "step", "cusp"])
def test_non_smooth_integrands_raise_and_say_where(energy, bounds, tol, where, cuts, truth):
    with pytest.raises(IntegrationError, match="not smooth") as info:
        quadrature(energy, bounds, tol=tol)
    message = str(info.value)
    assert "points=" in message
    lo, hi = (float(v) for v in message.split("between x = ")[1].split(":")[0].split(" and x = "))
    assert lo - 0.05 <= where <= hi + 0.05, message


@pytest.mark.parametrize("energy, bounds, tol, where, cuts, truth", NON_SMOOTH,
                         ids=["uniform", "step", "cusp"])
def test_points_resolve_non_smooth_integrands(energy, bounds, tol, where, cuts, truth):
    res = quadrature(energy, bounds, points=cuts, tol=1e-10)
    assert abs(res.log_z - truth) <= 1e-10
    assert res.error <= 1e-10
    # and QUADPACK split at the same points agrees (a second algorithm, finite range)
    lo, hi = max(bounds[0][0], -60.0), min(bounds[0][1], 60.0)
    f = lambda t: math.exp(-float(energy(np.array([[t]]))[0]))  # noqa: E731
    if energy is not _cusp:  # exp(-sqrt|x|) has mass beyond +-60
        assert abs(_quad_log_z(f, lo, hi, [c for c in cuts if lo < c < hi]) - truth) <= 1e-10


def test_points_take_one_sequence_per_axis():
    kink = lambda x: anp.abs(x[:, 0] - 0.2) + anp.abs(x[:, 1] + 0.5)  # noqa: E731
    res = quadrature(kink, R * 2, points=[[0.2], [-0.5]], tol=1e-10)
    assert abs(res.log_z - 2 * math.log(2.0)) <= 1e-10


# --- modes: what no rule can see, and what refebm's own objects name ---------------------------

FAR_AND_NARROW = [  # weights, means, standard deviations
    ([0.5, 0.5], [0.0, 1000.0], [1.0, 1.0]),
    ([0.5, 0.5], [0.0, 10.0], [1.0, 0.1]),
    ([0.5, 0.5], [0.0, 0.3], [1.0, 1e-5]),
]


@pytest.mark.parametrize("weights, means, sds", FAR_AND_NARROW, ids=["far", "narrow", "spike"])
def test_a_gaussian_mixture_names_its_modes(weights, means, sds):
    mix = GaussianMixture(np.array(weights), np.array(means)[:, None],
                          np.array(sds)[:, None, None] ** 2)
    res = quadrature(mix.energy, R, tol=1e-10)
    assert abs(res.log_z) <= 1e-10  # a mixture of normalized densities: log Z = 0 (D4)


@pytest.mark.parametrize("weights, means, sds", FAR_AND_NARROW, ids=["far", "narrow", "spike"])
def test_a_composed_mixture_of_families_names_its_modes(weights, means, sds):
    parts = [Gaussian(np.array([m]), np.array([[s * s]])) for m, s in zip(means, sds)]
    energy = mixture(np.array(weights), [g.log_prob for g in parts])
    assert abs(quadrature(energy, R, tol=1e-10).log_z) <= 1e-10


@pytest.mark.parametrize("weights, means, sds", FAR_AND_NARROW, ids=["far", "narrow", "spike"])
def test_the_same_mixture_as_a_plain_function_needs_points(weights, means, sds):
    energy = _plain_mixture(weights, means, sds)
    res = quadrature(energy, R, points=means, tol=1e-10)
    assert abs(res.log_z) <= 1e-10


def test_a_mode_the_grid_never_sees_is_missed_and_check_catches_it():
    """N(0, 1) + N(10, 0.1^2): the narrow mode lies between the nodes of every level, so the
    rule alone returns log(1/2) with a tiny error estimate (documented); ``check=True`` runs
    scipy's adaptive cubature, which finds it, and raises."""
    energy = _plain_mixture([0.5, 0.5], [0.0, 10.0], [1.0, 0.1])
    res = quadrature(energy, R)
    assert abs(res.log_z - math.log(0.5)) < 1e-8 and res.error < 1e-10
    with pytest.raises(IntegrationError, match="scipy's adaptive cubature gives"):
        quadrature(energy, R, check=True)


def test_check_passes_when_both_rules_agree():
    g = Gaussian(np.array([0.3, -1.0]), np.array([[2.0, 0.4], [0.4, 0.5]]))
    res = quadrature(g.energy, R * 2, check=True, tol=1e-9)
    assert abs(res.log_z - g.log_partition()) <= 1e-9


def test_a_far_narrow_mode_is_reported_as_unresolved():
    with pytest.raises(IntegrationError, match="sits on one node.*points=") as info:
        quadrature(lambda x: 0.5 * (x[:, 0] - 1e9) ** 2, R)
    assert "below the float64 resolution" not in str(info.value)


def test_tol_below_the_placement_of_floats_says_so():
    """Floats near 1e9 are 1.2e-7 apart: log Z of N(1e9, 1) is known to about 1e-7."""
    energy = lambda x: 0.5 * (x[:, 0] - 1e9) ** 2  # noqa: E731
    with pytest.raises(IntegrationError, match="below the float64 resolution"):
        quadrature(energy, R, points=[1e9], tol=1e-10)
    res = quadrature(energy, R, points=[1e9], tol=1e-6)
    assert abs(res.log_z - HALF_LOG_2PI) <= 1e-6


# --- gradients through the new rule ------------------------------------------------------------

def test_gradient_through_whitening_and_twin():
    """d log Z / d theta for E = 1/2 x^T P(theta) x: -1/2 tr(P^{-1} dP) (D8), 2-D (whitened)."""
    A = np.array([[1.0, 0.8], [0.8, 2.0]])
    B = np.array([[0.5, -0.2], [-0.2, 0.1]])

    def log_z(theta):
        P = A + theta * B
        return quadrature(lambda x: 0.5 * anp.einsum("ni,ij,nj->n", x, P, x), R * 2,
                          tol=1e-11).log_z
    theta = 0.3
    exact = -0.5 * np.trace(np.linalg.solve(A + theta * B, B))
    assert abs(autograd.grad(log_z)(theta) - exact) <= 1e-8


def test_gradient_through_points():
    """Gamma(k, rate) split at 1: d log Z / d rate = -k / rate."""
    k = 2.5

    def log_z(rate):
        energy = lambda x: -(k - 1) * anp.log(x[:, 0]) + rate * x[:, 0]  # noqa: E731
        return quadrature(energy, [(0.0, np.inf)], points=[1.0], tol=1e-11).log_z
    rate = 1.7
    assert abs(log_z(rate) - (gammaln(k) - k * math.log(rate))) <= 1e-10
    assert abs(autograd.grad(log_z)(rate) + k / rate) <= 1e-8


# --- bad `points` -----------------------------------------------------------------------------

@pytest.mark.parametrize("points, error, match", [
    ([[0.0], [1.0]], ValueError, r"one sequence of locations per dimension \(1\), got 2"),
    ([np.nan], ValueError, r"`points\[0\]` must be finite"),
    ([5.0], ValueError, r"`points\[0\]` must lie inside the open interval \(-1.0, 2.0\)"),
    ("0.5", TypeError, "`points` must be a sequence"),
    ([["a"]], TypeError, r"`points\[0\]` must be a sequence of numbers"),
])
def test_bad_points(points, error, match):
    with pytest.raises(error, match=match):
        quadrature(_step, [(-1.0, 2.0)], points=points)


def test_check_must_be_a_bool():
    with pytest.raises(TypeError, match="`check` must be a bool"):
        quadrature(_step, R, check="yes")


def test_budget_spent_on_a_smooth_integrand_says_so():
    """A smooth 3-D energy on a box (non-zero at the faces) whose last check is smooth but whose
    several-dimension error bound (the change from the rule with twice the step) is still above
    tol when max_evals runs out: the error says the integrand looked smooth and asks for a
    larger budget, not points=, and the attached result's error bounds the true error (log Z by
    a 64-node tensor Gauss-Legendre rule, a second way)."""
    def energy(x):
        return (0.25 * np.sum(x**4, axis=1) + 0.5 * x[:, 0] * x[:, 1] - 0.8 * x[:, 0]
                + 0.3 * x[:, 2] ** 2)

    bounds = [(-2.0, 2.5), (-2.5, 2.0), (-1.5, 2.0)]
    g, w = np.polynomial.legendre.leggauss(64)
    nodes = [0.5 * (hi - lo) * g + 0.5 * (hi + lo) for lo, hi in bounds]
    weights = [0.5 * (hi - lo) * w for lo, hi in bounds]
    grid = np.stack(np.meshgrid(*nodes, indexing="ij"), axis=-1).reshape(-1, 3)
    log_w = np.log(np.einsum("i,j,k->ijk", *weights)).ravel()
    exact = logsumexp(log_w - energy(grid))
    with pytest.raises(IntegrationError, match="the way a smooth integrand does") as info:
        quadrature(energy, bounds, tol=1e-10, max_evals=5_000_000)
    assert "non-smooth" not in str(info.value)
    res = info.value.result
    assert abs(res.log_z - exact) <= res.error
    ok = quadrature(energy, bounds, tol=1e-10, max_evals=20_000_000)
    assert abs(ok.log_z - exact) <= ok.error
