"""Tests of refebm.generation: the NCSN loss against the library's multi-scale loss, the noisy
mixture score against quadrature, mode weights against a plain loop, the training and sampler
drivers against their documented draws, and the D18 claim: annealed Langevin recovers the 0.2 /
0.8 mode weights, plain Langevin does not, with the exact score and with a trained model.

Bounds used (false-failure probability <= 1e-6 per assertion, stated at each test):
- Exact binomial quantiles: for N independent chains, each in mode 0 with probability p, the
  count is Binomial(N, p); the interval [ppf(5e-7), isf(5e-7)] misses it with probability
  <= 1e-6 (`binomial_halfwidth`).
"""

import math

import autograd
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.signal import fftconvolve
from scipy.spatial.distance import pdist

from refebm.energies import NoiseConditionalMLP, random_mlp_weights
from refebm.families import GaussianMixture
from refebm.generation import (Comparison, NCSNResult, TwoMoons, compare_samplers,
                               geometric_sigmas, mode_weights, ncsn_loss, noisy_mixture_score,
                               train_ncsn, two_moons, two_moons_from_noise)
from refebm.objectives.score_matching import multiscale_denoising_score_matching_loss
from refebm.samplers import annealed_langevin
from refebm.train import fit

from seeding import make_rng, make_seed

FALSE_FAILURE = 1e-6

# The D18 mixture of Song and Ermon (2019, section 3.2.2): 0.2 N((-5,-5), I) + 0.8 N((5,5), I).
WEIGHTS = np.array([0.2, 0.8])
MEANS = np.array([[-5.0, -5.0], [5.0, 5.0]])
COVS = np.array([np.eye(2), np.eye(2)])
MIXTURE = GaussianMixture(WEIGHTS, MEANS, COVS)
BOX = 8.0  # chains start uniform on [-8, 8]^2
N_LEVELS, T_EACH, REL_STEP = 20, 25, 0.7  # L levels, T steps per level, sqrt(eps) / sigma_L
PLAIN_STEP = 0.1  # plain Langevin's alpha (CS236 step 0.05), L * T steps


def binomial_halfwidth(n, p, rate=FALSE_FAILURE):
    """Largest |k/n - p| inside the two-sided exact binomial interval of total mass 1 - rate."""
    lo = stats.binom.ppf(rate / 2, n, p)
    hi = stats.binom.isf(rate / 2, n, p)
    return max(p - lo / n, hi / n - p)


# -- geometric_sigmas -------------------------------------------------------------------------

def test_geometric_sigmas_from_the_diameter_to_sigma_min():
    # random inputs to an exact check: no false-failure rate applies
    data = make_rng(0).normal(size=(2500, 3)) * [1.0, 2.0, 0.5]
    got = geometric_sigmas(data, 7, sigma_min=0.05)
    diameter = pdist(data).max()  # a second computation of the largest pairwise distance
    np.testing.assert_allclose(got, np.geomspace(diameter, 0.05, 7), rtol=1e-12)
    np.testing.assert_allclose(got[:-1] / got[1:], (diameter / 0.05) ** (1 / 6), rtol=1e-12)


def test_bad_input_geometric_sigmas():
    data = np.array([[0.0, 0.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="`n_levels` must be >= 2"):
        geometric_sigmas(data, 1)
    with pytest.raises(TypeError, match="`n_levels` must be an integer"):
        geometric_sigmas(data, 3.0)
    with pytest.raises(ValueError, match="`sigma_min` must be > 0"):
        geometric_sigmas(data, 3, sigma_min=0.0)
    with pytest.raises(ValueError,
                       match=r"`sigma_min` must be below the diameter of `data` \(5.0\)"):
        geometric_sigmas(data, 3, sigma_min=5.0)
    with pytest.raises(ValueError, match="`sigma_min` must be finite"):
        geometric_sigmas(data, 3, sigma_min=np.nan)
    with pytest.raises(ValueError, match="`data` must have 2 dimension"):
        geometric_sigmas(np.zeros(3), 3)
    with pytest.raises(ValueError, match="`data` must be finite"):
        geometric_sigmas(np.array([[0.0, np.inf]]), 3)
    with pytest.raises(ValueError, match="`data` must not be empty"):
        geometric_sigmas(np.zeros((0, 2)), 3)


def test_numpy_only_entry_points_refuse_other_namespaces():
    xps = pytest.importorskip("array_api_strict")
    data = xps.asarray([[0.0, 0.0], [3.0, 4.0]])
    with pytest.raises(TypeError, match="`data` must be a NumPy array"):
        geometric_sigmas(data, 3)
    with pytest.raises(TypeError, match="`x0` must be a NumPy array"):
        compare_samplers(lambda x, s: -x, [1.0], data, make_seed(0), step_size=0.1, n_steps_each=1,
                         plain_step_size=0.1, centers=np.zeros((1, 2)))


# -- ncsn_loss --------------------------------------------------------------------------------

def small_net(hidden=6):
    return random_mlp_weights([3, hidden, hidden, 1], make_rng("small_net"), bias_scale=0.3)


def test_ncsn_loss_with_every_level_equals_the_multiscale_loss_value_and_gradient():
    # One point per (level, datum) pair: the per-point loss averages lambda = sigma^2 times the
    # DSM loss over the levels, which is multiscale_denoising_score_matching_loss exactly.
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(1)
    sigmas = np.array([3.0, 1.0, 0.2])
    x = rng.normal(size=(5, 2))
    noise = rng.normal(size=(3, 5, 2))
    levels = np.repeat(np.arange(3), 5)
    flat_x, flat_noise = np.tile(x, (3, 1)), noise.reshape(15, 2)

    def ours(w):
        return ncsn_loss(NoiseConditionalMLP(w, activation="swish").score, flat_x, levels,
                         flat_noise, sigmas)

    def library(w):
        return multiscale_denoising_score_matching_loss(
            NoiseConditionalMLP(w, activation="swish"), x, noise, sigmas)

    w = small_net()
    np.testing.assert_allclose(ours(w), library(w), rtol=1e-12)
    g_ours, g_lib = autograd.grad(ours)(w), autograd.grad(library)(w)
    for (a, b), (c, d) in zip(g_ours, g_lib):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(b, d, rtol=1e-10, atol=1e-14)


@given(d=st.integers(1, 3), n_levels=st.integers(1, 4), n=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1),
       scale=st.floats(0.1, 10.0, allow_nan=False, allow_subnormal=False))
def test_ncsn_loss_equals_the_multiscale_loss_over_shapes(d, n_levels, n, seed, scale):
    # random inputs to an exact check: no false-failure rate applies
    rng = np.random.default_rng(seed)
    sigmas = np.sort(rng.uniform(0.05, 5.0, size=n_levels))[::-1] * scale
    sigmas = sigmas + np.arange(n_levels)[::-1] * 1e-3  # strictly decreasing
    x = rng.normal(size=(n, d)) * scale
    noise = rng.normal(size=(n_levels, n, d))
    a = rng.normal(size=d)

    def score(y, sigma):  # the score of N(a, (1 + sigma^2) I), sigma a scalar or (n,)
        s = np.asarray(sigma, dtype=float).reshape(-1, 1)
        return -(y - a) / (1.0 + s**2)

    ours = ncsn_loss(score, np.tile(x, (n_levels, 1)), np.repeat(np.arange(n_levels), n),
                     noise.reshape(n_levels * n, d), sigmas)
    want = multiscale_denoising_score_matching_loss(None, x, noise, sigmas, score=score)
    assert ours == pytest.approx(float(want), rel=1e-12, abs=1e-300)


def test_ncsn_loss_closed_form_and_zero_at_the_exact_score_of_a_point_mass():
    # Data at one point a (a point mass): p_sigma = N(a, sigma^2 I), whose exact score makes
    # sigma s(a + sigma z) + z = 0 for every z, so the loss is exactly 0. With the score of
    # N(a, (1 + sigma^2) I) instead, sigma s + z = z / (1 + sigma^2): loss = mean ||z||^2 / (2 (1 +
    # sigma^2)^2), checked by hand.
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(2)
    a = np.array([1.0, -2.0])
    sigmas = np.array([2.0, 0.5, 0.1])
    levels = rng.integers(0, 3, size=40)
    z = rng.normal(size=(40, 2))
    x = np.tile(a, (40, 1))
    exact = ncsn_loss(lambda y, s: -(y - a) / s[:, None] ** 2, x, levels, z, sigmas)
    assert exact == pytest.approx(0.0, abs=1e-14)
    wide = ncsn_loss(lambda y, s: -(y - a) / (1 + s[:, None] ** 2), x, levels, z, sigmas)
    s = sigmas[levels]
    want = np.mean(np.sum(z**2, axis=1) / (2 * (1 + s**2) ** 2))
    assert wide == pytest.approx(want, rel=1e-12)


def test_bad_input_ncsn_loss():
    x, z = np.zeros((3, 2)), np.zeros((3, 2))
    sig, lv = np.array([2.0, 1.0]), np.array([0, 1, 1])

    def score(y, s):
        return -y

    with pytest.raises(TypeError, match="`score` must be callable"):
        ncsn_loss(None, x, lv, z, sig)
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        ncsn_loss(score, np.zeros(3), lv, z, sig)
    with pytest.raises(ValueError, match="`x` must be finite"):
        ncsn_loss(score, np.full((3, 2), np.nan), lv, z, sig)
    with pytest.raises(ValueError, match="`sigmas` must be strictly decreasing"):
        ncsn_loss(score, x, lv, z, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="`sigmas` must be > 0"):
        ncsn_loss(score, x, lv, z, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="`sigmas` must have 1 dimension"):
        ncsn_loss(score, x, lv, z, np.ones((2, 2)))
    with pytest.raises(TypeError, match="`sigmas` must be a real array"):
        ncsn_loss(score, x, lv, z, "big")
    with pytest.raises(TypeError, match="`levels` must be an integer array"):
        ncsn_loss(score, x, np.array([0.0, 1.0, 1.0]), z, sig)
    with pytest.raises(ValueError, match=r"`levels` must have shape \(3,\)"):
        ncsn_loss(score, x, np.array([0, 1]), z, sig)
    with pytest.raises(ValueError, match=r"`levels` must lie in 0..1"):
        ncsn_loss(score, x, np.array([0, 1, 2]), z, sig)
    with pytest.raises(ValueError, match="`noise` must have the shape of `x`"):
        ncsn_loss(score, x, lv, np.zeros((3, 3)), sig)
    with pytest.raises(ValueError, match="`noise` must be finite"):
        ncsn_loss(score, x, lv, np.full((3, 2), np.inf), sig)
    with pytest.raises(ValueError, match=r"`score` must return shape \(3, 2\)"):
        ncsn_loss(lambda y, s: y[:, :1], x, lv, z, sig)


# -- train_ncsn -------------------------------------------------------------------------------

def test_train_ncsn_is_fit_on_ncsn_loss_with_the_documented_draws():
    # The documented order of draws (initial weights, then per step the batch permutation, the
    # levels, the noise), replayed by hand with refebm.train.fit: the same weights and losses.
    # random inputs to an exact check: no false-failure rate applies
    data = make_rng(3).normal(size=(40, 2))
    sigmas = np.array([4.0, 1.0, 0.25])
    got = train_ncsn(data, sigmas, hidden=5, steps=(4, 3), step_size=(1e-2, 1e-3),
                     batch_size=16, rng=make_seed(7))
    assert isinstance(got, NCSNResult) and got.losses.shape == (7,)
    np.testing.assert_array_equal(got.sigmas, sigmas)

    gen = make_rng(7)
    theta = random_mlp_weights([3, 5, 5, 1], gen)

    def loss(th, batch, rng):
        lv = rng.integers(0, 3, size=batch.shape[0])
        z = rng.standard_normal(batch.shape)
        return ncsn_loss(NoiseConditionalMLP(th, activation="swish").score, batch, lv, z, sigmas)

    losses = []
    for steps, rate in [(4, 1e-2), (3, 1e-3)]:
        res = fit(loss, theta, data, steps=steps, step_size=rate, batch_size=16, rng=gen)
        theta, losses = res.theta, losses + list(res.losses)
    np.testing.assert_array_equal(got.losses, losses)
    for (w, b), (w2, b2) in zip(got.model.layers, theta):
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(b, b2)
    again = train_ncsn(data, sigmas, hidden=5, steps=(4, 3), step_size=(1e-2, 1e-3),
                       batch_size=16, rng=make_seed(7))
    np.testing.assert_array_equal(again.losses, got.losses)


def test_bad_input_train_ncsn():
    data, sig = np.zeros((8, 2)), np.array([1.0, 0.5])
    with pytest.raises(ValueError, match="`data` must have 2 dimension"):
        train_ncsn(np.zeros(8), sig, rng=make_seed(0))
    with pytest.raises(ValueError, match="`data` must be finite"):
        train_ncsn(np.full((8, 2), np.nan), sig, rng=make_seed(0))
    with pytest.raises(ValueError, match="`sigmas` must be strictly decreasing"):
        train_ncsn(data, np.array([0.5, 1.0]), rng=make_seed(0))
    with pytest.raises(ValueError, match="`sigmas` must be finite"):
        train_ncsn(data, np.array([np.inf, 1.0]), rng=make_seed(0))
    with pytest.raises(ValueError, match="`hidden` must be >= 1"):
        train_ncsn(data, sig, hidden=0, rng=make_seed(0))
    with pytest.raises(TypeError, match="`hidden` must be an integer"):
        train_ncsn(data, sig, hidden=2.5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`activation` must be one of"):
        train_ncsn(data, sig, activation="relu", rng=make_seed(0))
    with pytest.raises(TypeError, match="`activation` must be a string"):
        train_ncsn(data, sig, activation=1, rng=make_seed(0))
    with pytest.raises(ValueError, match="`steps` must be >= 1"):
        train_ncsn(data, sig, steps=0, step_size=0.1, rng=make_seed(0))
    with pytest.raises(ValueError, match="`steps` must not be empty"):
        train_ncsn(data, sig, steps=(), step_size=(), rng=make_seed(0))
    with pytest.raises(ValueError, match="`step_size` must have one entry per stage"):
        train_ncsn(data, sig, steps=(2, 2), step_size=0.1, rng=make_seed(0))
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        train_ncsn(data, sig, steps=2, step_size=-0.1, rng=make_seed(0))
    with pytest.raises(ValueError, match="`batch_size` must be <= 8"):
        train_ncsn(data, sig, batch_size=9, rng=make_seed(0))
    with pytest.raises(TypeError, match="`progress` must be a bool"):
        train_ncsn(data, sig, steps=1, step_size=0.1, progress="yes", rng=make_seed(0))
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        train_ncsn(data, sig, steps=1, step_size=0.1, rng="seed")


# -- noisy_mixture_score ----------------------------------------------------------------------

def test_noisy_mixture_score_equals_the_derivative_of_the_convolution_by_quadrature():
    # p_sigma(x) = integral p(y) N(x - y; 0, sigma^2 I) dy by a tensor trapezoid rule (the
    # integrand is a smooth Gaussian product; its tails beyond the grid are below 1e-30), then
    # the score by central differences of log p_sigma with h = 1e-4 (error O(h^2)): a second
    # computation that never uses the closed form N(mu, Sigma + sigma^2 I).
    mix = GaussianMixture(np.array([0.3, 0.7]), np.array([[-1.0, 0.5], [1.5, -0.5]]),
                          np.array([[[0.5, 0.2], [0.2, 0.4]], [[0.3, -0.1], [-0.1, 0.6]]]))
    score_fn = noisy_mixture_score(mix)
    sigma = 0.7
    g = np.linspace(-9.0, 9.0, 721)
    yy = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    p_data = np.exp(mix.log_prob(yy))
    dy = g[1] - g[0]

    def log_p_sigma(x):
        k = np.exp(-0.5 * np.sum((x - yy) ** 2, axis=1) / sigma**2) / (2 * np.pi * sigma**2)
        return math.log(np.sum(p_data * k) * dy * dy)

    h = 1e-4
    for x in np.array([[0.3, -0.2], [-2.0, 1.0], [2.5, 1.5]]):
        want = [(log_p_sigma(x + h * e) - log_p_sigma(x - h * e)) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(score_fn(x[None, :], sigma)[0], want, rtol=1e-6, atol=1e-8)


def test_bad_input_noisy_mixture_score():
    with pytest.raises(TypeError, match="`mixture` must be a refebm.families.GaussianMixture"):
        noisy_mixture_score(lambda x: x)
    score_fn = noisy_mixture_score(MIXTURE)
    with pytest.raises(ValueError, match="`sigma` must be > 0"):
        score_fn(np.zeros((1, 2)), 0.0)
    with pytest.raises(ValueError, match="`sigma` must be finite"):
        score_fn(np.zeros((1, 2)), np.nan)
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 2\)"):
        score_fn(np.zeros((1, 3)), 1.0)


# -- mode_weights -----------------------------------------------------------------------------

def test_mode_weights_equals_a_plain_loop(xp):
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(4)
    samples = rng.normal(size=(5000, 2)) * 3
    centers = rng.normal(size=(7, 2)) * 3
    labels = np.array([0, 2, 1, 1, 0, 2, 2])
    want = np.zeros(3)
    want_plain = np.zeros(7)
    for s in samples:
        j = min(range(7), key=lambda i: math.dist(s, centers[i]))
        want[labels[j]] += 1 / 5000
        want_plain[j] += 1 / 5000
    got = mode_weights(xp.asarray(samples), xp.asarray(centers), labels=labels)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    got_plain = mode_weights(xp.asarray(samples), xp.asarray(centers))
    np.testing.assert_allclose(np.asarray(got_plain), want_plain, rtol=1e-12)


def test_mode_weights_tie_goes_to_the_first_center():
    got = mode_weights(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([[1.0, 0.0], [-1.0, 0.0]]))
    assert got.tolist() == [1.0, 0.0]


def test_bad_input_mode_weights():
    s, c = np.zeros((4, 2)), np.zeros((2, 2))
    with pytest.raises(ValueError, match="`samples` must have 2 dimension"):
        mode_weights(np.zeros(4), c)
    with pytest.raises(ValueError, match="`samples` must be finite"):
        mode_weights(np.full((4, 2), np.nan), c)
    with pytest.raises(ValueError, match="`samples` must not be empty"):
        mode_weights(np.zeros((0, 2)), c)
    with pytest.raises(ValueError, match=r"`centers` must have shape \(n, 2\)"):
        mode_weights(s, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`centers` must be finite"):
        mode_weights(s, np.full((2, 2), np.inf))
    with pytest.raises(TypeError, match="`labels` must be an integer array"):
        mode_weights(s, c, labels=np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"`labels` must have shape \(2,\)"):
        mode_weights(s, c, labels=np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="`labels` must be >= 0"):
        mode_weights(s, c, labels=np.array([0, -1]))
    with pytest.raises(TypeError, match="`samples` must be a real array"):
        mode_weights("points", c)


# -- compare_samplers -------------------------------------------------------------------------

def test_compare_samplers_is_annealed_then_plain_langevin_from_one_generator():
    # random inputs to an exact check: no false-failure rate applies
    score_fn = noisy_mixture_score(MIXTURE)
    sigmas = np.array([8.0, 2.0, 0.5])
    x0 = make_rng(5).uniform(-BOX, BOX, size=(50, 2))
    got = compare_samplers(score_fn, sigmas, x0, make_seed(9), step_size=0.01, n_steps_each=4,
                           plain_step_size=0.2, centers=MEANS)
    assert isinstance(got, Comparison)
    gen = make_rng(9)
    annealed = annealed_langevin(score_fn, x0, sigmas, 0.01, 4, gen)
    plain = annealed_langevin(score_fn, x0, sigmas[-1:], 0.2, 12, gen)
    np.testing.assert_array_equal(got.annealed, annealed)
    np.testing.assert_array_equal(got.plain, plain)
    np.testing.assert_array_equal(got.annealed_weights, mode_weights(annealed, MEANS))
    np.testing.assert_array_equal(got.plain_weights, mode_weights(plain, MEANS))


def test_bad_input_compare_samplers():
    score_fn, sig, x0 = (lambda x, s: -x), np.array([2.0, 1.0]), np.zeros((3, 2))
    kw = dict(step_size=0.1, n_steps_each=2, plain_step_size=0.1, centers=MEANS)
    with pytest.raises(TypeError, match="`score_fn` must be callable"):
        compare_samplers(3.0, sig, x0, make_seed(0), **kw)
    with pytest.raises(ValueError, match="`sigmas` must be strictly decreasing"):
        compare_samplers(score_fn, sig[::-1], x0, make_seed(0), **kw)
    with pytest.raises(ValueError, match="`x0` must be finite"):
        compare_samplers(score_fn, sig, np.full((3, 2), np.nan), make_seed(0), **kw)
    with pytest.raises(ValueError, match="`x0` must have 2 dimension"):
        compare_samplers(score_fn, sig, np.zeros(3), make_seed(0), **kw)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        compare_samplers(score_fn, sig, x0, 1.5, **kw)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        compare_samplers(score_fn, sig, x0, make_seed(0), **{**kw, "step_size": 0.0})
    with pytest.raises(ValueError, match="`n_steps_each` must be >= 1"):
        compare_samplers(score_fn, sig, x0, make_seed(0), **{**kw, "n_steps_each": 0})
    with pytest.raises(ValueError, match="`plain_step_size` must be > 0"):
        compare_samplers(score_fn, sig, x0, make_seed(0), **{**kw, "plain_step_size": -1.0})
    with pytest.raises(ValueError, match=r"`centers` must have shape \(n, 2\)"):
        compare_samplers(score_fn, sig, x0, make_seed(0), **{**kw, "centers": np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"`labels` must have shape \(2,\)"):
        compare_samplers(score_fn, sig, x0, make_seed(0), labels=np.array([0]), **kw)
    with pytest.raises(ValueError, match="`score_fn` must return shape"):
        compare_samplers(lambda x, s: x[:, :1], sig, x0, make_seed(0), **kw)


# -- two moons --------------------------------------------------------------------------------

def test_two_moons_from_noise_lies_on_the_arcs():
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(6)
    labels = rng.integers(0, 2, size=200)
    t = rng.random(200)
    x = two_moons_from_noise(labels, t, np.zeros((200, 2)))
    centers = np.where(labels[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    np.testing.assert_allclose(np.linalg.norm(x - centers, axis=1), 1.0, rtol=1e-12)
    upper = labels == 0
    assert np.all(x[upper, 1] >= -1e-15) and np.all(x[~upper, 1] <= 0.5 + 1e-15)
    z = rng.normal(size=(200, 2))
    np.testing.assert_allclose(two_moons_from_noise(labels, t, z, scale=0.3) - x, 0.3 * z,
                               rtol=1e-12, atol=1e-15)


def test_two_moons_replays_its_draws_and_has_binomial_moon_counts():
    n = 20000
    got = two_moons(n, make_seed(11), weights=(0.2, 0.8), scale=0.1)
    assert isinstance(got, TwoMoons)
    gen = make_rng(11)
    labels = (gen.random(n) >= 0.2).astype(int)
    t, z = gen.random(n), gen.standard_normal((n, 2))
    np.testing.assert_array_equal(got.labels, labels)
    np.testing.assert_array_equal(got.x, two_moons_from_noise(labels, t, z, scale=0.1))
    # the count in the upper moon is Binomial(n, 0.2): exact two-sided interval at 1e-6
    # (false-failure <= 1e-6)
    assert abs(np.mean(got.labels == 0) - 0.2) <= binomial_halfwidth(n, 0.2)


def test_bad_input_two_moons():
    with pytest.raises(ValueError, match="`n` must be >= 1"):
        two_moons(0, make_seed(0))
    with pytest.raises(ValueError, match="`weights` must sum to 1"):
        two_moons(5, make_seed(0), weights=(0.5, 0.6))
    with pytest.raises(ValueError, match="`weights` must have entries >= 0"):
        two_moons(5, make_seed(0), weights=(-0.5, 1.5))
    with pytest.raises(ValueError, match="`weights` must have 2 entries"):
        two_moons(5, make_seed(0), weights=(0.5, 0.25, 0.25))
    with pytest.raises(ValueError, match="`scale` must be >= 0"):
        two_moons(5, make_seed(0), scale=-0.1)
    lab, t, z = np.array([0, 1]), np.array([0.1, 0.2]), np.zeros((2, 2))
    with pytest.raises(TypeError, match="`labels` must be an integer array"):
        two_moons_from_noise(np.array([0.0, 1.0]), t, z)
    with pytest.raises(ValueError, match="`labels` must be 0 or 1"):
        two_moons_from_noise(np.array([0, 2]), t, z)
    with pytest.raises(ValueError, match=r"`labels` must have shape \(n,\)"):
        two_moons_from_noise(np.zeros((2, 1), dtype=int), t, z)
    with pytest.raises(ValueError, match=r"`t` must lie in \[0, 1\]"):
        two_moons_from_noise(lab, np.array([0.1, 1.5]), z)
    with pytest.raises(ValueError, match=r"`t` must have shape \(2\)"):
        two_moons_from_noise(lab, np.array([0.1]), z)
    with pytest.raises(ValueError, match=r"`noise` must have shape \(2, 2\)"):
        two_moons_from_noise(lab, t, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`noise` must be finite"):
        two_moons_from_noise(lab, t, np.full((2, 2), np.nan))


# -- D18: annealed against plain Langevin on the 0.2 / 0.8 mixture ---------------------------

def mode0_mass_of_the_exact_chain(sigmas, step_size, t_each, dx=0.04):
    """P(chain ends nearer (-5, -5)) under the exact law of Langevin with the exact score.

    The two covariances are I and the means differ along (1, 1), so the noisy score is
    -(x - sum_k r_k(u) mu_k) / (1 + sigma^2) with responsibilities that depend on x only through
    u = (x_1 + x_2) / sqrt(2). The u coordinate of the chain is therefore itself a 1-D Markov
    chain, u' = u + (alpha/2) s_u(u) + sqrt(alpha) z, z ~ N(0, 1), with s_u the score of the 1-D
    mixture 0.2 N(-5 sqrt 2, 1 + sigma^2) + 0.8 N(5 sqrt 2, 1 + sigma^2); nearer (-5, -5) means
    u < 0; the uniform start on [-8, 8]^2 gives u a triangular density on [-8 sqrt 2, 8 sqrt 2].
    Its law is propagated on a grid: each step moves the mass at each node to u + (alpha/2)
    s_u(u) (shared linearly between the two nearest nodes) and convolves with N(0, alpha).
    Halving dx changes the result by less than 1e-5; the grid holds all but 1e-12 of the mass.
    """
    half_sep = 5.0 * math.sqrt(2.0)
    log_w = np.log(WEIGHTS)
    half = 8.0 * (math.sqrt(step_size) * sigmas[0] / sigmas[-1] + sigmas[0]) + 2 * half_sep
    g = np.arange(-half, half + dx / 2, dx)
    n = g.size
    p = np.clip(BOX * math.sqrt(2.0) - np.abs(g), 0.0, None)
    p /= p.sum()
    for sigma in sigmas:
        v = 1.0 + sigma**2
        a = (log_w[0] - 0.5 * (g + half_sep) ** 2 / v) - (log_w[1] - 0.5 * (g - half_sep) ** 2 / v)
        r0 = 0.5 * (1.0 + np.tanh(0.5 * a))
        score = (r0 * (-half_sep - g) + (1.0 - r0) * (half_sep - g)) / v
        alpha = step_size * sigma**2 / sigmas[-1] ** 2
        pos = (g + 0.5 * alpha * score - g[0]) / dx
        i0 = np.clip(np.floor(pos).astype(int), 0, n - 2)
        frac = np.clip(pos - i0, 0.0, 1.0)
        reach = math.ceil(8 * math.sqrt(alpha) / dx)
        k = np.arange(-reach, reach + 1)
        kernel = np.exp(-0.5 * (k * dx) ** 2 / alpha)
        kernel /= kernel.sum()
        for _ in range(t_each):
            q = (np.bincount(i0, p * (1.0 - frac), minlength=n)
                 + np.bincount(i0 + 1, p * frac, minlength=n))
            p = fftconvolve(q, kernel, mode="same")
    assert abs(p.sum() - 1.0) < 1e-9
    return float(p[g < 0].sum())


@pytest.fixture(scope="module")
def ladder():
    """The data of the D18 mixture and its NCSN ladder: 20 levels from the diameter to 0.05."""
    data = MIXTURE.sample(10000, rng=make_seed(0))
    sigmas = geometric_sigmas(data, N_LEVELS, sigma_min=0.05)
    return data, sigmas, (REL_STEP * sigmas[-1]) ** 2


#: How far a trained model's annealed weight may sit from 0.2 beyond the binomial noise. Over
#: 23 trainings at the settings of `trained` (hidden 32, 1500 + 500 Adam steps, 20 levels, 25
#: steps per level; data, weights and chains from 23 different seeds) the annealed weight of
#: mode (-5, -5) ranged over 0.163 to 0.272 (2000 or 4000 chains each), so the model's error is
#: at most about 0.07 there, beside the sampler's own 0.021 with the exact score. 0.10 covers it.
#: Twelve more trainings with the suite's seed helper (REFEBM_TEST_SEED = 1 ... 12, 2000 chains)
#: gave 0.177 to 0.233 (plain Langevin with the same models: 0.27 to 0.92).
#: (Larger models trained longer do better; see docs/score-based-generation.md.)
MODEL_ALLOWANCE = 0.10


def test_annealed_langevin_with_the_exact_score_recovers_the_weights_plain_does_not(ladder):
    # The sampler's systematic error, measured without sampling: the exact law of annealed
    # Langevin at these settings (20 levels, 25 steps each, eps = (0.7 sigma_L)^2) with the
    # exact noisy-mixture score puts mass p_star in mode (-5, -5); |p_star - 0.2| <= 0.025 is
    # asserted (it is 0.021). N independent chains give a count ~ Binomial(N, p_star): the
    # exact two-sided 1e-6 interval (false-failure <= 1e-6), widened by 1e-3 for the grid.
    data, sigmas, eps = ladder
    n = 2000
    p_star = mode0_mass_of_the_exact_chain(sigmas, eps, T_EACH)
    assert abs(p_star - WEIGHTS[0]) <= 0.025
    p_plain = mode0_mass_of_the_exact_chain(sigmas[-1:], PLAIN_STEP, N_LEVELS * T_EACH)
    # the bound the annealed weight meets: binomial noise around 0.2 plus the sampler's 0.025
    bound = binomial_halfwidth(n, WEIGHTS[0]) + 0.025
    # plain Langevin keeps the chains in the basin they start in: p_plain is about 1/2, so far
    # from 0.2 that its own binomial interval stays outside the bound (checked exactly here)
    assert abs(p_plain - WEIGHTS[0]) - binomial_halfwidth(n, p_plain) - 1e-3 > bound
    rng = make_rng(1)
    x0 = rng.uniform(-BOX, BOX, size=(n, 2))
    got = compare_samplers(noisy_mixture_score(MIXTURE), sigmas, x0, rng, step_size=eps,
                           n_steps_each=T_EACH, plain_step_size=PLAIN_STEP, centers=MEANS)
    # binomial around the exact chain's own law (false-failure <= 1e-6 each)
    assert abs(got.annealed_weights[0] - p_star) <= binomial_halfwidth(n, p_star) + 1e-3
    assert abs(got.plain_weights[0] - p_plain) <= binomial_halfwidth(n, p_plain) + 1e-3
    # hence the D18 claim, with the same false-failure rates
    assert abs(got.annealed_weights[0] - WEIGHTS[0]) <= bound
    assert abs(got.plain_weights[0] - WEIGHTS[0]) > bound


@pytest.fixture(scope="module")
def trained(ladder):
    """A small NCSN trained on the ladder: 32 hidden units, 1500 Adam steps at 1e-2, then 500
    at 1e-3, batches of 256 (about 15 s here)."""
    data, sigmas, _ = ladder
    return train_ncsn(data, sigmas, hidden=32, steps=(1500, 500), step_size=(1e-2, 1e-3),
                      batch_size=256, rng=make_seed(0))


def test_trained_ncsn_annealed_recovers_the_weights(ladder, trained):
    # Given the trained model, each chain ends in mode (-5, -5) independently with a fixed
    # probability q, so the count is Binomial(n, q). Asserted: |p_hat - 0.2| <= (exact binomial
    # 1e-6 half-width at 0.2, 0.045) + MODEL_ALLOWANCE, which fails with probability <= 1e-6 for
    # every model with |q - 0.2| <= 0.094 (the half-width at q = 0.3 is 0.051). That a training
    # lands within that is a property of training, measured (see MODEL_ALLOWANCE), not bounded.
    # Restated claim: this test used to assert also that plain Langevin with the trained model
    # lands outside the 1e-6 band around 0.2. That is not true of every training (it failed for
    # about 1 in 10 seeds): plain Langevin at sigma_L goes wherever the learned score in the
    # low-density gap sends it (0.04 to 0.92 over the measured trainings, 0.27 for one), so no
    # bound on it holds. D18's plain-Langevin claim is asserted with the exact score in
    # test_annealed_langevin_with_the_exact_score_recovers_the_weights_plain_does_not, at 1e-6.
    data, sigmas, eps = ladder
    assert trained.losses.shape == (2000,) and np.all(np.isfinite(trained.losses))
    n = 2000
    rng = make_rng(2)
    x0 = rng.uniform(-BOX, BOX, size=(n, 2))
    got = compare_samplers(trained.model.score, sigmas, x0, rng, step_size=eps,
                           n_steps_each=T_EACH, plain_step_size=PLAIN_STEP, centers=MEANS)
    band = binomial_halfwidth(n, WEIGHTS[0])
    assert abs(got.annealed_weights[0] - WEIGHTS[0]) <= band + MODEL_ALLOWANCE
    assert 0.0 <= got.plain_weights[0] <= 1.0
