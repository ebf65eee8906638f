"""refebm.families: each closed-form log-partition against an independent integral of exp(-E).

Continuous 1-D families: ``scipy.integrate.quad`` (QUADPACK QAGS/QAGI), split at an interior point
so that each piece has at most one algebraic end-point singularity (QAGS extrapolates through
those: Gamma(0.5, .), Beta(0.5, 0.5), Dirichlet with alpha < 1). 2-D: ``dblquad`` on the simplex,
and the vectorized adaptive ``scipy.integrate.cubature`` on the plane. Discrete: enumeration
(Bernoulli) and a truncated sum with a geometric tail bound (Poisson). Everything is compared in
log space to 1e-10; no randomness is involved.

The integrand is exp(-(E(x) - c)) with a constant c (an energy value at a chosen point) so that
it stays near 1 even when E is large; then log Z = log(integral) - c.
"""

import numpy as np
import pytest
from scipy import integrate
from scipy.special import logsumexp

from refebm.families import (Bernoulli, Beta, Dirichlet, Exponential, Gamma, Gaussian,
                             GaussianMixture, Poisson, Wishart)

LOG_TOL = 1e-10       # |log quadrature - log_partition|
QUAD = dict(epsabs=0.0, epsrel=1e-13, limit=200)


def _log_quad(point_energy, pieces, shift):
    """log Z from the integral of exp(-(E - shift)) over the union of ``pieces`` (= Z e^shift)."""
    total, error = 0.0, 0.0
    for lo, hi in pieces:
        val, err = integrate.quad(lambda t: np.exp(-(point_energy(t) - shift)), lo, hi, **QUAD)
        total, error = total + val, error + err
    assert error <= 1e-11 * total, (total, error)     # QUADPACK's own estimate is tight
    return np.log(total) - shift


def _scalar_energy(fam):
    return lambda t: float(fam.energy(np.array([[t]]))[0])


ONE_D = {
    # id: (family, pieces of the support, a point for the shift)
    "exponential": (Exponential(0.7), [(0.0, np.inf)], 0.0),
    "gamma-shape<1": (Gamma(0.5, 1.3), [(0.0, 1.0), (1.0, np.inf)], 1.0),
    "gamma": (Gamma(3.2, 0.4), [(0.0, 1.0), (1.0, np.inf)], 5.0),
    "gamma-large-energy": (Gamma(400.0, 2.0), [(0.0, 200.0), (200.0, np.inf)], 200.0),
    "beta-arcsine": (Beta(0.5, 0.5), [(0.0, 0.5), (0.5, 1.0)], 0.5),
    "beta": (Beta(2.5, 0.8), [(0.0, 0.5), (0.5, 1.0)], 0.5),
    "gaussian": (Gaussian(np.array([0.7]), np.array([[2.3]])), [(-np.inf, 0.7), (0.7, np.inf)],
                 0.7),
    # far from 0, so that E = x^2/(2 s^2) - mu x/s^2 is about -900 at the mode
    "gaussian-shifted": (Gaussian(np.array([30.0]), np.array([[0.5]])),
                         [(-np.inf, 30.0), (30.0, np.inf)], 30.0),
    "wishart-p1": (Wishart(2.7, np.array([[1.8]])), [(0.0, 1.0), (1.0, np.inf)], 1.0),
}


@pytest.mark.parametrize("name", list(ONE_D))
def test_log_partition_by_quadrature_1d(name):
    fam, pieces, x0 = ONE_D[name]
    if isinstance(fam, Wishart):
        energy = lambda t: float(fam.energy(np.array([[[t]]]))[0])   # noqa: E731
    else:
        energy = _scalar_energy(fam)
    log_z = _log_quad(energy, pieces, shift=energy(x0))
    assert abs(log_z - float(fam.log_partition())) <= LOG_TOL


def test_dirichlet_log_partition_on_the_segment_with_singular_ends():
    fam = Dirichlet(np.array([0.5, 0.7]))       # density on x1 in (0, 1), x2 = 1 - x1
    energy = lambda t: float(fam.energy(np.array([[t, 1.0 - t]]))[0])   # noqa: E731
    log_z = _log_quad(energy, [(0.0, 0.5), (0.5, 1.0)], shift=energy(0.5))
    assert abs(log_z - float(fam.log_partition())) <= LOG_TOL


def test_dirichlet_log_partition_on_the_triangle():
    fam = Dirichlet(np.array([1.5, 2.0, 3.0]))
    shift = float(fam.energy(np.array([[0.2, 0.3, 0.5]]))[0])

    def integrand(x2, x1):
        return np.exp(-(float(fam.energy(np.array([[x1, x2, 1.0 - x1 - x2]]))[0]) - shift))

    val, err = integrate.dblquad(integrand, 0.0, 1.0, 0.0, lambda x1: 1.0 - x1,
                                 epsabs=0.0, epsrel=1e-12)
    assert err <= 1e-11 * val
    assert abs(np.log(val) - shift - float(fam.log_partition())) <= LOG_TOL


def _log_cubature(energy, lo, hi, shift):
    res = integrate.cubature(lambda x: np.exp(-(energy(x) - shift)), lo, hi, rtol=1e-12, atol=0.0)
    assert res.status == "converged" and res.error <= 1e-11 * res.estimate
    return np.log(res.estimate) - shift


def test_gaussian_log_partition_by_cubature_2d():
    fam = Gaussian(np.array([0.5, -1.0]), np.array([[1.0, 0.4], [0.4, 0.7]]))
    shift = float(fam.energy(np.array([[0.5, -1.0]]))[0])
    log_z = _log_cubature(fam.energy, [-np.inf, -np.inf], [np.inf, np.inf], shift)
    assert abs(log_z - float(fam.log_partition())) <= LOG_TOL


def test_mixture_integrates_to_one():
    mix1 = GaussianMixture(np.array([0.3, 0.7]), np.array([[-2.0], [1.5]]),
                           np.array([[[0.5]], [[2.0]]]))
    energy = lambda t: float(mix1.energy(np.array([[t]]))[0])   # noqa: E731
    log_z = _log_quad(energy, [(-np.inf, 0.0), (0.0, np.inf)], shift=0.0)
    assert abs(log_z - float(mix1.log_partition())) <= LOG_TOL and mix1.log_partition() == 0

    mix2 = GaussianMixture(np.array([0.2, 0.5, 0.3]),
                           np.array([[-2.0, 0.0], [1.0, 1.0], [0.0, -2.0]]),
                           np.array([np.eye(2), [[1.0, 0.5], [0.5, 1.0]],
                                     [[0.3, 0.0], [0.0, 2.0]]]))
    log_z = _log_cubature(mix2.energy, [-np.inf, -np.inf], [np.inf, np.inf], shift=0.0)
    assert abs(log_z) <= LOG_TOL


@pytest.mark.parametrize("rate", [0.2, 3.7, 40.0])
def test_poisson_log_partition_by_truncated_sum(rate):
    fam = Poisson(rate)
    # Terms t_x = exp(-E(x)) = rate^x / x!. For x >= N >= 2 rate, t_{x+1}/t_x = rate/(x+1) <= 1/2,
    # so the tail sum_{x > N} t_x <= t_N (a geometric series). Truncate where t_N is below
    # 1e-17 of the partial sum: the neglected relative mass is then < 1e-16.
    n_max = int(2 * rate) + 10
    while True:
        x = np.arange(0.0, n_max + 1)
        log_terms = -fam.energy(x)
        log_sum = logsumexp(log_terms)
        if log_terms[-1] - log_sum < np.log(1e-17):
            break
        n_max *= 2
    assert np.all(np.diff(log_terms[int(2 * rate) + 1:]) <= np.log(0.5))   # the ratio bound holds
    assert abs(log_sum - float(fam.log_partition())) <= LOG_TOL


@pytest.mark.parametrize("p", [1e-3, 0.3, 0.999])
def test_bernoulli_log_partition_by_enumeration(p):
    fam = Bernoulli(p)
    log_z = logsumexp(-fam.energy(np.array([0.0, 1.0])))
    assert abs(log_z - float(fam.log_partition())) <= LOG_TOL


def test_wishart_log_partition_by_cubature_2x2():
    # X = L L' with L = [[l1, 0], [l2, l3]], l1, l3 > 0, maps onto the 2x2 positive-definite
    # matrices with Jacobian |dX/dL| = 4 l1^2 l3 (the three free entries X11, X21, X22). With
    # df = 5 the integrand 4 l1^2 l3 exp(-E(L L')) is a polynomial times a Gaussian in L, so the
    # product Gauss-Kronrod rule converges quickly. Truncation: exp(-E) <= |X| exp(-|L|_F^2 /
    # (2 lambda_max(V))), so outside the box |l_i| <= 12 the neglected mass is < 1e-14 of Z.
    scale = np.array([[1.2, 0.35], [0.35, 0.6]])
    fam = Wishart(5.0, scale)

    def energy(z):
        l1, l2, l3 = z[:, 0], z[:, 1], z[:, 2]
        x = np.stack([np.stack([l1 * l1, l1 * l2], 1), np.stack([l1 * l2, l2 * l2 + l3 * l3], 1)],
                     1)
        return fam.energy(x) - np.log(4 * l1 ** 2 * l3)

    res = integrate.cubature(lambda z: np.exp(-energy(z)), [0.0, -12.0, 0.0], [12.0, 12.0, 12.0],
                             rtol=1e-11, atol=0.0)
    assert res.status == "converged" and res.error <= 1e-11 * res.estimate
    assert abs(np.log(res.estimate) - float(fam.log_partition())) <= LOG_TOL
