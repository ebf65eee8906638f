"""refebm.testing._sections: CDFs of projections u^T x of an energy's law on a 2-D or 3-D box.

Each CDF is compared with a second, independent computation: the closed-form law of a projected
Gaussian (a box of many standard deviations, truncation bounded in the test), the closed-form
CDF of a projected uniform box (a box spline), a projected Gaussian mixture, and scipy's nested
adaptive quadrature (``nquad``) of the half-space region for a non-Gaussian quartic energy. In
every case the reported ``error`` must bound the actual error; an energy the rule cannot resolve
must be flagged (a large ``error`` and a warning), never returned with a small one.
"""

import doctest
import itertools
import math
import warnings

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp

import refebm.testing._sections as sections
from refebm.testing._sections import ProjectionCDF, projection_law
from seeding import make_rng


def test_docstring_examples():
    assert doctest.testmod(sections, raise_on_error=False).failed == 0


# -- second ways --------------------------------------------------------------------------------

def gaussian_energy(mean, cov):
    prec = np.linalg.inv(cov)
    return lambda x: 0.5 * np.einsum("ni,ij,nj->n", x - mean, prec, x - mean)


def rotated_cov(rng, eigenvalues):
    q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    return (q * eigenvalues) @ q.T


def unit(rng, d):
    u = rng.normal(size=d)
    return u / np.linalg.norm(u)


def uniform_box_cdf(box, u, t):
    """P(u^T x <= t) for x uniform on the box: u^T x is a sum of independent uniforms on
    [a_i, b_i], whose CDF is the box spline sum_c (-1)^{#upper} max(t - c, 0)^d / (d! prod(b - a))
    over the 2^d corner sums c (all u_i != 0)."""
    box = np.asarray(box, dtype=float)
    d = len(u)
    a = np.minimum(box[:, 0] * u, box[:, 1] * u)
    b = np.maximum(box[:, 0] * u, box[:, 1] * u)
    out = np.zeros_like(t)
    for upper in itertools.product((0, 1), repeat=d):
        c = sum(b[i] if upper[i] else a[i] for i in range(d))
        out = out + (-1) ** sum(upper) * np.maximum(t - c, 0.0) ** d
    return np.clip(out / (math.factorial(d) * np.prod(b - a)), 0.0, 1.0)


def quartic(x):
    """A non-Gaussian, asymmetric, coupled energy."""
    x = np.asarray(x, dtype=float)
    return (0.25 * np.sum(x**4, axis=-1) + 0.5 * x[..., 0] * x[..., 1] - 0.8 * x[..., 0]
            + 0.3 * x[..., -1] ** 2)


def tensor_gauss_log_z(energy, box, n=64):
    """log of the box integral of exp(-E) by a tensor Gauss-Legendre rule (the quartic is entire:
    64 nodes per axis reach float64 rounding)."""
    g, w = np.polynomial.legendre.leggauss(n)
    nodes = [(lo + hi) / 2 + (hi - lo) / 2 * g for lo, hi in box]
    weights = [(hi - lo) / 2 * w for lo, hi in box]
    grid = np.stack(np.meshgrid(*nodes, indexing="ij"), axis=-1).reshape(-1, len(box))
    wt = np.prod(np.stack(np.meshgrid(*weights, indexing="ij"), axis=-1).reshape(-1, len(box)),
                 axis=1)
    return float(logsumexp(-energy(grid), b=wt))


def nquad_half_space(energy, box, u, t, eps):
    """The box integral of exp(-E) over {u^T x <= t} by scipy's nested adaptive quadrature: the
    innermost variable runs up to the plane (u_d != 0), the outer ones are split where the
    plane meets the box's faces (kinks of the inner integrals)."""
    d = len(box)
    f = lambda *xs: math.exp(-float(energy(np.array(xs[::-1])[None])[0]))  # noqa: E731
    lo_d, hi_d = box[-1]

    def inner(*outer):                       # outer = (x_{d-2}, ..., x_0)
        xs = outer[::-1]
        c = (t - sum(u[i] * xs[i] for i in range(d - 1))) / u[-1]
        c = min(max(c, lo_d), hi_d)
        return (lo_d, c) if u[-1] > 0 else (c, hi_d)

    def opts_at(i):
        def opts(*outer):                    # x_i, with outer = (x_{i-1}, ..., x_0)
            xs = outer[::-1]
            known = sum(u[j] * xs[j] for j in range(i))
            free = [box[j] for j in range(i + 1, d)]
            kinks = sorted((t - known - sum(u[j] * c for j, c in zip(range(i + 1, d), ends)))
                           / u[i] for ends in itertools.product(*free))
            lo, hi = box[i]
            return {"points": [k for k in kinks if lo < k < hi], "epsabs": eps, "epsrel": eps,
                    "limit": 200}
        return opts

    ranges = [inner] + [list(box[i]) for i in range(d - 2, -1, -1)]
    opts = [{"epsabs": eps, "epsrel": eps, "limit": 200}] + [opts_at(i)
                                                             for i in range(d - 2, -1, -1)]
    return integrate.nquad(f, ranges, opts=opts)[0]


# -- Gaussians: the projection of N(mu, C) is N(u^T mu, u^T C u) ---------------------------------

@pytest.mark.parametrize("d, k, direction", [
    (2, 10.0, "random"), (2, 10.0, "axis"), (2, 10.0, "near-axis"),
    (3, 7.0, "random"), (3, 7.0, "axis"), (3, 7.0, "near-axis"),
])
def test_gaussian_projection_matches_the_closed_form(d, k, direction):
    rng = make_rng("sections-gaussian", d, int(k), direction)
    cov = rotated_cov(rng, np.linspace(0.5, 2.0, d))              # condition number 4
    mean = rng.normal(size=d)
    sd = np.sqrt(np.diag(cov))
    box = np.stack([mean - k * sd, mean + k * sd], axis=1)
    u = {"random": unit(rng, d), "axis": np.eye(d)[d - 1],
         "near-axis": np.r_[1.0, np.full(d - 1, 1e-7)] / np.sqrt(1 + (d - 1) * 1e-14)}[direction]
    law = projection_law(gaussian_energy(mean, cov), box, u, max_evaluations=8_000_000)
    assert isinstance(law, ProjectionCDF)
    ends = box * u[:, None]
    assert law.lo == pytest.approx(ends.min(axis=1).sum(), abs=1e-12)
    assert law.hi == pytest.approx(ends.max(axis=1).sum(), abs=1e-12)
    t = np.linspace(law.lo, law.hi, 4001)
    exact = stats.norm.cdf(t, u @ mean, np.sqrt(u @ cov @ u))
    # the box holds all but at most d * 2 Phi(-k) of the untruncated law; truncation moves the
    # CDF by at most twice that (zero at k = 10, 1.5e-11 at k = 7)
    outside = d * 2 * stats.norm.sf(k)
    truncation = 2 * outside / (1 - outside)
    actual = np.max(np.abs(law.cdf(t) - exact))
    assert actual <= law.error + truncation
    assert law.error <= {2: 1e-6, 3: 1e-5}[d]
    log_z = 0.5 * np.linalg.slogdet(2 * np.pi * cov)[1]           # the second way for log Z
    assert abs(law.log_z - log_z) <= 10 * law.error + truncation


# -- the uniform law: the projection's CDF is a box spline ---------------------------------------

@pytest.mark.parametrize("box, u", [
    ([(0.0, 1.0), (-1.0, 2.0)], [0.6, -0.8]),
    ([(-0.5, 2.0), (1.0, 1.5)], [0.28, 0.96]),
    ([(0.0, 1.0), (-1.0, 2.0), (0.5, 3.0)], [0.48, -0.6, 0.64]),
    ([(-2.0, 0.0), (0.0, 0.5), (1.0, 4.0)], [-0.36, 0.48, 0.8]),
])
def test_uniform_box_matches_the_box_spline(box, u):
    u = np.array(u)
    law = projection_law(lambda x: np.zeros(len(x)), box, u)
    t = np.linspace(law.lo - 0.5, law.hi + 0.5, 2001)
    actual = np.max(np.abs(law.cdf(t) - uniform_box_cdf(box, u, t)))
    # the section's size is a polynomial in v between corner projections (degree d - 1) and the
    # rule is exact for it: both errors are rounding
    assert actual <= law.error + 1e-13
    assert actual <= 1e-12 and law.error <= 1e-12
    volume = np.prod([hi - lo for lo, hi in box])
    assert law.log_z == pytest.approx(math.log(volume), abs=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_uniform_box_along_an_axis_is_the_uniform_cdf(d):
    """Every corner projects on one of two values: one gap, no kinks inside."""
    box = [(-1.0, 2.0), (0.5, 1.0), (-3.0, -2.5)][:d]
    for i in range(d):
        u = -np.eye(d)[i]                                # also a negative direction
        law = projection_law(lambda x: np.zeros(len(x)), box, u)
        lo, hi = box[i]
        assert (law.lo, law.hi) == (-hi, -lo)
        t = np.linspace(-hi - 1, -lo + 1, 501)
        assert np.max(np.abs(law.cdf(t) - np.clip((t + hi) / (hi - lo), 0, 1))) <= 1e-13


def test_uniform_cube_along_a_face_diagonal_is_the_2d_box_spline():
    """u_3 = 0: the 3-D section is a rectangle, and u^T x involves x_1 and x_2 only."""
    box3 = [(0.0, 1.0), (-1.0, 2.0), (0.5, 3.0)]
    u = np.array([0.6, 0.8, 0.0])
    law = projection_law(lambda x: np.zeros(len(x)), box3, u)
    t = np.linspace(law.lo - 0.5, law.hi + 0.5, 2001)
    actual = np.max(np.abs(law.cdf(t) - uniform_box_cdf(box3[:2], u[:2], t)))
    assert actual <= law.error + 1e-13 and actual <= 1e-12


# -- a non-Gaussian energy against scipy's nested quadrature -------------------------------------

@pytest.mark.parametrize("box, u, ts", [
    ([(-2.0, 2.5), (-2.5, 2.0)], [0.6, -0.8], [-2.0, -0.4, 0.9, 2.3]),
    ([(-2.0, 2.5), (-2.5, 2.0), (-1.5, 2.0)], [0.48, -0.6, 0.64], [-1.0, 0.3]),
])
def test_quartic_matches_nested_scipy_quadrature(box, u, ts):
    u = np.array(u)
    law = projection_law(quartic, box, u)
    assert law.error <= {2: 1e-6, 3: 1e-5}[len(box)]
    log_z = tensor_gauss_log_z(quartic, box)
    assert abs(law.log_z - log_z) <= 10 * law.error
    eps = 1e-11 if len(box) == 2 else 1e-10
    for t in ts:
        exact = nquad_half_space(quartic, box, u, t, eps) / math.exp(log_z)
        # nquad's own error is below 1e-9 at this eps (checked against a tighter eps)
        assert abs(float(law.cdf(t)) - exact) <= law.error + 1e-9


def test_truncated_gaussian_with_mass_on_the_faces_matches_scipy():
    """A box of 1.5 standard deviations: the density is far from zero on the faces, so the
    section's mass has kinks at every corner projection."""
    mean, cov = np.array([0.3, -0.2]), np.array([[1.0, 0.6], [0.6, 2.0]])
    energy = gaussian_energy(mean, cov)
    sd = np.sqrt(np.diag(cov))
    box = [(m - 1.5 * s, m + 1.5 * s) for m, s in zip(mean, sd)]
    u = np.array([0.8, 0.6])
    law = projection_law(energy, box, u)
    z = nquad_half_space(energy, box, u, law.hi + 1.0, 1e-12)
    assert abs(law.log_z - math.log(z)) <= 10 * law.error
    for t in np.linspace(law.lo, law.hi, 7)[1:-1]:
        exact = nquad_half_space(energy, box, u, t, 1e-12) / z
        assert abs(float(law.cdf(t)) - exact) <= law.error + 1e-10


# -- the error estimate flags what the rule does not resolve -------------------------------------

def mixture_energy(weights, means, sds):
    def energy(x):
        d = x.shape[1]
        terms = [math.log(w) - 0.5 * np.sum(((x - m) / s) ** 2, axis=1) - d * math.log(s)
                 for w, m, s in zip(weights, means, sds)]
        return -logsumexp(np.stack(terms), axis=0)
    return energy


@pytest.mark.parametrize("d, spike_sd", [(2, 0.3), (2, 0.03), (3, 0.3), (3, 0.1)])
def test_a_narrow_mode_is_flagged_not_quietly_wrong(d, spike_sd):
    """A broad Gaussian plus a narrow one (30% of the mass) on a box of +-7 broad standard
    deviations: the projection is a mixture of normals. Resolved (sd 0.3 in 2-D), the CDF is
    right to its error; not resolved within the default budget (narrower in 2-D, and in 3-D,
    where the budget buys fewer nodes per axis), the levels disagree: ``error`` is large,
    bounds the actual error, and a warning says so."""
    weights, means, sds = [0.7, 0.3], [np.zeros(d), np.full(d, 0.7)], [1.0, spike_sd]
    u = np.r_[1.3, np.ones(d - 1)]
    u = u / np.linalg.norm(u)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        law = projection_law(mixture_energy(weights, means, sds), [(-7.0, 7.0)] * d, u)
    t = np.linspace(law.lo, law.hi, 20001)
    exact = sum(w * stats.norm.cdf(t, u @ m, s) for w, m, s in zip(weights, means, sds))
    actual = np.max(np.abs(law.cdf(t) - exact))
    assert actual <= law.error + 2e-11              # truncation at 7 sd moves the CDF < 1.1e-11
    tol = {2: 1e-6, 3: 1e-5}[d]
    if law.error > tol:
        assert any("error estimate" in str(w.message) for w in caught)
    if spike_sd < 0.3 or d == 3:
        # not resolved within the default budget: flagged, with an estimate far above tol
        assert law.error > 1e3 * tol
        assert any(issubclass(w.category, RuntimeWarning) for w in caught)
    else:
        assert law.error <= tol and not caught


def test_a_discontinuous_energy_gets_an_honest_error():
    """Uniform on the triangle x + y <= 1 (E = +inf outside): x has density 2 (1 - x). The
    chords along y end inside the box at the jump, where no rule has a break."""
    energy = lambda x: np.where(x[:, 0] + x[:, 1] <= 1.0, 0.0, np.inf)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        law = projection_law(energy, [(0.0, 1.0), (0.0, 1.0)], np.array([1.0, 0.0]))
    t = np.linspace(0.0, 1.0, 1001)
    actual = np.max(np.abs(law.cdf(t) - (1.0 - (1.0 - t) ** 2)))
    assert actual <= law.error
    assert law.error > 1e-6


# -- log_z, the returned callable, and bad input -------------------------------------------------

def test_a_given_log_z_normalizes_and_a_wrong_one_is_reported():
    cov = np.array([[1.0, 0.3], [0.3, 0.5]])
    energy = gaussian_energy(np.zeros(2), cov)
    box = [(-10.0, 10.0), (-10.0, 10.0)]
    u = np.array([0.6, 0.8])
    log_z = 0.5 * np.linalg.slogdet(2 * np.pi * cov)[1]
    free = projection_law(energy, box, u)
    given = projection_law(energy, box, u, log_z=log_z)
    t = np.linspace(-5, 5, 101)
    assert np.max(np.abs(given.cdf(t) - free.cdf(t))) <= free.error + given.error
    assert given.error <= 1e-6
    with pytest.warns(RuntimeWarning, match="error estimate"):
        wrong = projection_law(energy, box, u, log_z=log_z + 0.1)
    # the CDF ends at exp(-0.1) instead of 1: the error says at least that much
    assert wrong.error >= 1 - math.exp(-0.1)
    assert float(wrong.cdf(wrong.hi - 1e-9)) == pytest.approx(math.exp(-0.1), abs=1e-6)


def test_cdf_is_vectorized_clipped_and_monotone():
    law = projection_law(quartic, [(-2.0, 2.5), (-2.5, 2.0)], np.array([0.6, -0.8]))
    t = np.linspace(law.lo - 1, law.hi + 1, 24).reshape(2, 3, 4)
    f = law.cdf(t)
    assert f.shape == (2, 3, 4)
    assert np.all(f[t <= law.lo] == 0.0) and np.all(f[t >= law.hi] == 1.0)
    assert np.all((f >= 0) & (f <= 1))
    assert np.all(np.diff(law.cdf(np.linspace(law.lo, law.hi, 5001))) >= -law.error)
    assert np.ndim(law.cdf(0.0)) == 0


def _nan_energy(x):
    out = np.zeros(len(x))
    out[0] = np.nan
    return out


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(energy=None), TypeError, "`energy` must be callable"),
    (dict(bounds=[(0, 1)]), ValueError, r"`bounds` must have 2 or 3 .* got 1"),
    (dict(bounds=[(0, 1)] * 4, u=np.ones(4) / 2), ValueError, r"`bounds` must have 2 or 3"),
    (dict(bounds=[(0, 1), (0, np.inf)]), ValueError, r"`bounds` must be finite"),
    (dict(bounds=[(0, 1), (1, 0)]), ValueError, r"`bounds\[1\]` must have lo < hi"),
    (dict(bounds=[(0, 1), (0, np.nan)]), ValueError, r"`bounds\[1\]` must not contain NaN"),
    (dict(bounds="box"), TypeError, r"`bounds` must be a sequence"),
    (dict(u=np.ones(3) / math.sqrt(3)), ValueError, r"`u` must have shape \(2\)"),
    (dict(u=np.array([1.0, 1.0])), ValueError, r"`u` must be a unit vector .* got norm 1.414"),
    (dict(u=np.array([np.nan, 1.0])), ValueError, r"`u` must be finite"),
    (dict(u="up"), TypeError, r"`u` must be a real array"),
    (dict(log_z=float("nan")), ValueError, r"`log_z` must be finite"),
    (dict(log_z="one"), TypeError, r"`log_z` must be a real number"),
    (dict(tol=0.0), ValueError, r"`tol` must be > 0.0, got 0.0"),
    (dict(tol=-1e-3), ValueError, r"`tol` must be > 0.0, got -0.001"),
    (dict(max_evaluations=0), ValueError, r"`max_evaluations` must be >= 1, got 0"),
    (dict(max_evaluations=1.5), TypeError, r"`max_evaluations` must be an integer"),
    (dict(energy=_nan_energy), ValueError, r"`energy` returned NaN"),
    (dict(energy=lambda x: np.zeros((len(x), 1))), ValueError, r"`energy` must return shape"),
    (dict(energy=lambda x: np.full(len(x), -np.inf)), ValueError, r"`energy` returned -inf"),
    (dict(energy=lambda x: np.full(len(x), np.inf)), ValueError, r"`energy` is \+inf at every"),
])
def test_bad_input_names_the_argument(kwargs, exc, match):
    args = dict(energy=lambda x: np.zeros(len(x)), bounds=[(0.0, 1.0), (0.0, 2.0)],
                u=np.array([0.6, 0.8]))
    args.update(kwargs)
    options = {k: args.pop(k) for k in ("log_z", "tol", "max_evaluations") if k in args}
    with pytest.raises(exc, match=match):
        projection_law(args["energy"], args["bounds"], args["u"], **options)


def test_coarse_levels_agreeing_by_coincidence_do_not_stop_the_rule():
    """A 2-D mixture with a minor component (found by benchmarks/bench_projection_law.py):
    at tol 1e-4 the levels of 16 and 24 panels agreed to 4e-5 after differing by 3e-2, both
    wrong by 7e-4; stopping there stated an error of 8e-5. The rule now waits for three levels
    to agree, and the stated error bounds the true one (closed-form mixture CDF)."""
    from scipy.stats import norm

    from refebm.families import GaussianMixture

    w = [0.918, 0.082]
    covs = np.array([[[2.774, 0.262], [0.262, 2.166]], [[0.780, 0.041], [0.041, 1.058]]])
    means = np.array([[-0.096, -2.879], [-0.092, -0.068]])
    mix = GaussianMixture(w, means, covs)
    u = np.array([0.6896, -0.7242])
    u /= np.linalg.norm(u)
    law = projection_law(lambda y: mix.energy(y), [(-12.85, 10.53), (-12.12, 10.69)], u,
                         tol=1e-4)
    t = np.linspace(law.lo, law.hi, 401)
    exact = sum(wk * norm.cdf((t - u @ m) / np.sqrt(u @ c @ u))
                for wk, m, c in zip(w, means, covs))
    assert law.error <= 1e-4
    assert np.max(np.abs(law.cdf(t) - exact)) <= law.error
