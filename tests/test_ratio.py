"""Tests of refebm.ratio (D6): log-ratios, anomaly scores, MAP denoising.

Independent computations: normalized log densities from scipy.stats (log Z known) for ratios and
scores; the closed-form Gaussian posterior mode for denoising; a cubic with a known root for a
non-Gaussian prior.

Random parameters and points below feed exact checks: no false-failure rate applies.
"""

import doctest
import math

import autograd.numpy as anp
import numpy as np
import pytest
from scipy import stats

import refebm.ratio as ratio
from refebm.ratio import Denoised, anomaly_score, denoise, log_ratio

from seeding import make_rng


def test_docstring_examples():
    assert doctest.testmod(ratio, raise_on_error=False).failed == 0


def gaussian(rng, d):
    a = rng.normal(size=(d, d))
    cov = a @ a.T + 0.5 * np.eye(d)
    mean = rng.normal(size=d)
    prec = np.linalg.inv(cov)

    def energy(x):  # unnormalized: p = exp(-E) / Z with log Z = log det(2 pi cov) / 2
        u = x - mean
        return 0.5 * anp.sum((u @ prec) * u, axis=-1)

    log_z = 0.5 * np.linalg.slogdet(2 * np.pi * cov)[1]
    return mean, cov, prec, energy, log_z


# ---------------------------------------------------------------------------------------------
# log_ratio


def test_log_ratio_is_the_ratio_of_normalized_densities():
    rng = make_rng(0)
    mean, cov, _, energy, _ = gaussian(rng, 3)
    x, xp_ = rng.normal(size=(8, 3)), rng.normal(size=(8, 3)) * 2
    dist = stats.multivariate_normal(mean, cov)
    np.testing.assert_allclose(log_ratio(energy, x, xp_), dist.logpdf(x) - dist.logpdf(xp_),
                               rtol=1e-12, atol=1e-12)


def test_log_ratio_needs_no_z():
    # D6: shifting E by any constant (which moves log Z by the same constant) changes nothing
    rng = make_rng(1)
    _, _, _, energy, _ = gaussian(rng, 2)
    x, xp_ = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    base = log_ratio(energy, x, xp_)
    for c in (-1e3, 3.7, 1e4):
        np.testing.assert_allclose(log_ratio(lambda x: energy(x) + c, x, xp_), base,
                                   rtol=1e-12, atol=1e-11)


def test_log_ratio_outside_the_support():
    def energy(x):  # Exponential(1) in each coordinate, E = inf off the support
        return anp.where(anp.all(x >= 0, axis=-1), anp.sum(x, axis=-1), np.inf)

    x = np.array([[1.0, 1.0], [-1.0, 1.0], [0.5, 0.0]])
    xp_ = np.array([[2.0, 0.5], [1.0, 1.0], [-3.0, 0.0]])
    np.testing.assert_array_equal(log_ratio(energy, x, xp_), [0.5, -np.inf, np.inf])
    with pytest.raises(ValueError, match=r"both outside the support .* row\(s\) \[1\]"):
        log_ratio(energy, x, np.array([[1.0, 1.0], [-2.0, 0.0], [0.0, 0.0]]))


def test_log_ratio_on_every_namespace(xp, to_xp):
    def energy(x):
        return 0.5 * xp.sum(x**2, axis=-1) + xp.sum(x, axis=-1) ** 3 / 10

    rng = make_rng(2)
    x, xp_ = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    e = lambda u: 0.5 * np.sum(u**2, axis=-1) + np.sum(u, axis=-1) ** 3 / 10  # noqa: E731
    np.testing.assert_allclose(np.asarray(log_ratio(energy, to_xp(x), to_xp(xp_))),
                               e(xp_) - e(x), rtol=1e-13)


def test_log_ratio_bad_input():
    energy = lambda x: anp.sum(x**2, axis=-1)  # noqa: E731
    x = np.zeros((3, 2))
    with pytest.raises(TypeError, match="`energy` must be callable"):
        log_ratio(1, x, x)
    with pytest.raises(ValueError, match=r"`x_prime` must have the shape of `x` \(3, 2\)"):
        log_ratio(energy, x, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension\(s\)"):
        log_ratio(energy, np.zeros(2), x)
    with pytest.raises(ValueError, match="`x_prime` must be finite, got NaN"):
        log_ratio(energy, x, np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="`x` must not be empty"):
        log_ratio(energy, np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"`energy` must return shape \(3,\)"):
        log_ratio(lambda x: x, x, x)
    with pytest.raises(ValueError, match="`energy` returned NaN"):
        log_ratio(lambda x: x[:, 0] * np.nan, x, x)


# ---------------------------------------------------------------------------------------------
# anomaly_score


def test_anomaly_score_with_and_without_log_z():
    rng = make_rng(3)
    mean, cov, _, energy, log_z = gaussian(rng, 3)
    x = rng.normal(size=(50, 3)) * 3
    np.testing.assert_array_equal(anomaly_score(energy, x), energy(x))
    nll = -stats.multivariate_normal(mean, cov).logpdf(x)
    np.testing.assert_allclose(anomaly_score(energy, x, log_z=log_z), nll, rtol=1e-12)


def test_anomaly_ranking_is_shift_invariant_and_that_of_the_density():
    rng = make_rng(4)
    mean, cov, _, energy, log_z = gaussian(rng, 2)
    x = rng.normal(size=(40, 2)) * 2
    e = energy(x)
    assert np.min(np.diff(np.sort(e))) > 1e-6  # no near-ties, so the ranking is well defined
    want = np.argsort(-stats.multivariate_normal(mean, cov).pdf(x))  # least probable last
    for c in (0.0, -250.0, 1e4):
        shifted = lambda u, c=c: energy(u) + c  # noqa: E731
        np.testing.assert_array_equal(np.argsort(anomaly_score(shifted, x)), want)
        np.testing.assert_array_equal(np.argsort(anomaly_score(shifted, x, log_z=log_z - c)),
                                      want)
        # with the matching log Z the absolute score does not move either
        np.testing.assert_allclose(anomaly_score(shifted, x, log_z=log_z - c),
                                   anomaly_score(energy, x, log_z=log_z), rtol=1e-12, atol=1e-10)


def test_anomaly_score_on_every_namespace(xp, to_xp):
    x = np.array([[0.0, 1.0], [2.0, -1.0]])
    energy = lambda u: 0.5 * xp.sum(u**2, axis=-1)  # noqa: E731
    np.testing.assert_allclose(np.asarray(anomaly_score(energy, to_xp(x))), [0.5, 2.5], rtol=0)
    got = anomaly_score(energy, to_xp(x), log_z=np.float64(np.log(2 * np.pi)))
    np.testing.assert_allclose(np.asarray(got), np.array([0.5, 2.5]) + np.log(2 * np.pi),
                               rtol=1e-15)


def test_anomaly_score_bad_input():
    energy = lambda x: anp.sum(x**2, axis=-1)  # noqa: E731
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="`log_z` must be finite, got nan"):
        anomaly_score(energy, x, log_z=np.nan)
    with pytest.raises(ValueError, match="`log_z` must be finite, got inf"):
        anomaly_score(energy, x, log_z=np.inf)
    with pytest.raises(TypeError, match="`log_z` must be a real number"):
        anomaly_score(energy, x, log_z=np.zeros(2))
    with pytest.raises(TypeError, match="`log_z` must be a real number"):
        anomaly_score(energy, x, log_z="1")
    with pytest.raises(TypeError, match="`energy` must be callable"):
        anomaly_score(None, x)
    with pytest.raises(ValueError, match="`x` must be finite, got inf"):
        anomaly_score(energy, np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match="`energy` returned -inf"):
        anomaly_score(lambda x: x[:, 0] - np.inf, x)


# ---------------------------------------------------------------------------------------------
# denoise


def posterior_mode(mean, prec, y, sigma):
    d = len(mean)
    return np.linalg.solve(prec + np.eye(d) / sigma**2, (prec @ mean)[:, None] + y.T / sigma**2).T


def steps_for(prec, sigma, eps=1e-15):
    """Step size 1/L and the number of gradient steps that contract the error by ``eps``."""
    lam = np.linalg.eigvalsh(prec + np.eye(len(prec)) / sigma**2)
    rate = 1 - lam.min() / lam.max()
    return 1 / lam.max(), int(math.ceil(math.log(eps) / math.log(rate)))


class _Gauss:
    def __init__(self, mean, prec):
        self.mean, self.prec = mean, prec

    def energy(self, x):
        u = x - self.mean
        return 0.5 * anp.sum((u @ self.prec) * u, axis=-1)

    def score(self, x):
        return -((x - self.mean) @ self.prec)


def test_denoise_converges_to_the_gaussian_posterior_mode():
    rng = make_rng(5)
    mean, _, prec, energy, _ = gaussian(rng, 3)
    y = rng.normal(size=(4, 3)) * 3
    sigma = 0.8
    step, n_steps = steps_for(prec, sigma)
    want = posterior_mode(mean, prec, y, sigma)
    for model, score in ((energy, None), (None, lambda x: -((x - mean) @ prec)),
                         (_Gauss(mean, prec).energy, None)):
        res = denoise(model, y, step, n_steps, score=score, sigma=sigma)
        assert isinstance(res, Denoised) and res.path is None
        np.testing.assert_allclose(res.x, want, rtol=1e-10, atol=1e-12)
        assert np.all(res.grad_norm < 1e-10)
    # starting elsewhere with the observation given explicitly: the same (unique) mode
    res = denoise(energy, np.zeros_like(y), step, n_steps, y=y, sigma=sigma)
    np.testing.assert_allclose(res.x, want, rtol=1e-10, atol=1e-12)


def test_denoise_without_observation_goes_to_the_prior_mode():
    rng = make_rng(6)
    mean, _, prec, energy, _ = gaussian(rng, 2)
    step, n_steps = steps_for(prec, np.inf)
    res = denoise(energy, rng.normal(size=(3, 2)), step, n_steps)
    np.testing.assert_allclose(res.x, np.tile(mean, (3, 1)), rtol=1e-10, atol=1e-12)


def test_denoise_non_gaussian_prior():
    # E = x^4 / 4, sigma = 1, y = 2: the mode solves -x^3 + (2 - x) = 0, i.e. x = 1
    res = denoise(lambda x: anp.sum(x**4, axis=-1) / 4, np.array([[2.0]]), 0.05, 400, sigma=1.0)
    np.testing.assert_allclose(res.x, [[1.0]], rtol=1e-12)


def test_denoise_path_and_determinism():
    x0 = np.array([[2.0, -1.0], [0.5, 0.5]])
    score = lambda x: -x  # noqa: E731
    res = denoise(None, x0, 0.1, 5, score=score, keep_path=True)
    assert res.path.shape == (6, 2, 2)
    np.testing.assert_array_equal(res.path[0], x0)
    np.testing.assert_array_equal(res.path[-1], res.x)
    np.testing.assert_allclose(res.path, 0.9 ** np.arange(6)[:, None, None] * x0, rtol=1e-14)
    again = denoise(None, x0, 0.1, 5, score=score, keep_path=True)
    np.testing.assert_array_equal(again.path, res.path)
    zero = denoise(None, x0, 0.1, 0, score=score)
    np.testing.assert_array_equal(zero.x, x0)
    np.testing.assert_allclose(zero.grad_norm, np.linalg.norm(x0, axis=1), rtol=1e-15)


def test_denoise_on_every_namespace(xp, to_xp):
    rng = make_rng(7)
    mean, _, prec, _, _ = gaussian(rng, 2)
    y = rng.normal(size=(3, 2))
    step, n_steps = steps_for(prec, 0.5)
    m, p = to_xp(mean), to_xp(prec)
    res = denoise(None, to_xp(y), step, n_steps, score=lambda x: -((x - m) @ p), sigma=0.5,
                  keep_path=True)
    np.testing.assert_allclose(np.asarray(res.x), posterior_mode(mean, prec, y, 0.5),
                               rtol=1e-10, atol=1e-12)
    assert tuple(res.path.shape) == (n_steps + 1, 3, 2)


def test_denoise_bad_input():
    score = lambda x: -x  # noqa: E731
    x = np.ones((2, 2))
    with pytest.raises(TypeError, match="`energy` must be callable, got 'E'"):
        denoise("E", x, 0.1, 3)
    with pytest.raises(TypeError, match="`score` must be callable, got 3"):
        denoise(None, x, 0.1, 3, score=3)
    with pytest.raises(TypeError, match="give the model: an energy as the first argument"):
        denoise(None, x, 0.1, 3)
    with pytest.raises(ValueError, match=r"`score` must give a score of shape \(2, 2\)"):
        denoise(None, x, 0.1, 3, score=lambda x: x[None])
    with pytest.raises(ValueError, match=r"`energy` must return shape \(2,\)"):
        denoise(lambda x: x, x, 0.1, 3)
    with pytest.raises(ValueError, match="`step_size` must be > 0.0, got -0.1"):
        denoise(None, x, -0.1, 3, score=score)
    with pytest.raises(ValueError, match="`step_size` must be finite, got nan"):
        denoise(None, x, np.nan, 3, score=score)
    with pytest.raises(TypeError, match="`step_size` must be a real number"):
        denoise(None, x, "0.1", 3, score=score)
    with pytest.raises(ValueError, match="`n_steps` must be >= 0, got -1"):
        denoise(None, x, 0.1, -1, score=score)
    with pytest.raises(TypeError, match="`n_steps` must be an integer"):
        denoise(None, x, 0.1, 2.5, score=score)
    with pytest.raises(ValueError, match="`sigma` must be given when `y` is given"):
        denoise(None, x, 0.1, 3, y=x, score=score)
    with pytest.raises(ValueError, match="`sigma` must be > 0.0, got 0.0"):
        denoise(None, x, 0.1, 3, sigma=0.0, score=score)
    with pytest.raises(ValueError, match=r"`y` must have the shape of `x` \(2, 2\)"):
        denoise(None, x, 0.1, 3, y=np.ones((3, 2)), sigma=1.0, score=score)
    with pytest.raises(ValueError, match="`y` must be finite"):
        denoise(None, x, 0.1, 3, y=np.full((2, 2), np.inf), sigma=1.0, score=score)
    with pytest.raises(TypeError, match="`keep_path` must be a bool, got 1"):
        denoise(None, x, 0.1, 3, keep_path=1, score=score)
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension\(s\)"):
        denoise(None, np.ones(2), 0.1, 3, score=score)
    with pytest.raises(ValueError, match="`x` must be finite, got NaN"):
        denoise(None, np.full((1, 2), np.nan), 0.1, 3, score=score)
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match=r"diverged at step \d+ .* reduce `step_size`"):
            denoise(None, np.array([[3.0]]), 1.0, 50, score=lambda x: -(x**3))


def test_float32_points_give_float32_results():
    x = make_rng(8).normal(size=(3, 2))
    energy = lambda y: 0.5 * anp.sum(y**2, axis=-1)  # noqa: E731
    for dt in (np.float64, np.float32):
        xd = x.astype(dt)
        assert log_ratio(energy, xd, xd[::-1].copy()).dtype == dt
        assert anomaly_score(energy, xd, log_z=0.9).dtype == dt
        res = denoise(energy, xd, 0.1, 3, sigma=1.0, keep_path=True)
        assert res.x.dtype == dt and res.path.dtype == dt and res.grad_norm.dtype == dt
        res = denoise(None, xd, 0.1, 3, score=lambda y: -y)
        assert res.x.dtype == dt
