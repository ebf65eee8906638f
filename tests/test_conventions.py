"""Tests of refebm.samplers.conventions: exact conversions and ULA's exact stationary law.

All checks are exact (random inputs to an exact check: no false-failure rate applies).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import solve_discrete_lyapunov

from refebm.samplers import annealed_langevin_from_noise, ula_init, ula_step
from refebm.samplers.conventions import (CONVENTIONS, convention_step, convert_step,
                                         decoupled_as_tempered, decoupled_temperature,
                                         drift_and_noise, ncsn_step_sizes, stationary_law,
                                         ula_stationary_gaussian)
from refebm.samplers.langevin import decoupled_langevin_step

from seeding import make_rng, make_seed

NAMES = tuple(CONVENTIONS)


def score(x):
    return -(x - 0.5) * np.array([1.0, 3.0])


def _points():
    rng = make_rng(0)
    return rng.normal(size=(6, 2)), rng.normal(size=(6, 2))


def step_x(step_fn, score_fn, x, z, *params, **options):
    """The positions after one step of ``step_fn(score, state, noise, ...)`` from ``x``."""
    return step_fn(score_fn, ula_init(score_fn, x), z, *params, **options)[0].x


@pytest.mark.parametrize("frm", NAMES)
@pytest.mark.parametrize("to", NAMES)
@given(step=st.floats(1e-4, 2.0, allow_subnormal=False))
def test_a_converted_step_gives_the_same_update(frm, to, step):
    x, z = _points()
    a = step_x(convention_step, score, x, z, step, convention=frm)
    b = step_x(convention_step, score, x, z, convert_step(step, frm, to), convention=to)
    np.testing.assert_allclose(a, b, rtol=4e-15, atol=4e-15)
    np.testing.assert_allclose(convert_step(convert_step(step, frm, to), to, frm), step,
                               rtol=4e-16)


@given(step=st.floats(1e-4, 2.0, allow_subnormal=False))
def test_the_three_conventions_are_one_family(step):
    # b^2 = 2a in each, and CS236 is ula_step itself
    x, z = _points()
    for name in NAMES:
        a, b = drift_and_noise(step, convention=name)
        np.testing.assert_allclose(b * b, 2 * a, rtol=1e-15)
    np.testing.assert_array_equal(
        step_x(convention_step, score, x, z, step, convention="cs236"),
        step_x(ula_step, score, x, z, step))
    assert drift_and_noise(step, convention="song_kingma") == (0.5 * step * step, step)
    assert drift_and_noise(step, convention="tfp") == (0.5 * step, np.sqrt(step))


def test_ncsn_level_is_the_tfp_step_with_h_alpha():
    x, z = _points()
    sigmas = np.array([4.0, 2.0, 1.0])
    alphas = ncsn_step_sizes(0.01, sigmas)
    np.testing.assert_allclose(alphas, 0.01 * sigmas**2 / 1.0, rtol=1e-15)
    for i, sigma in enumerate(sigmas):
        # a one-level schedule [sigma] has alpha = step_size * sigma^2 / sigma^2 = step_size
        got = annealed_langevin_from_noise(lambda x, s: score(x), x, z[None, None], [sigma],
                                           alphas[i])
        want = step_x(convention_step, score, x, z, alphas[i], convention="tfp")
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-15)


@given(a=st.floats(1e-3, 5.0, allow_subnormal=False), b=st.floats(1e-3, 5.0,
                                                                   allow_subnormal=False))
def test_decoupled_pair_is_cs236_on_the_tempered_density(a, b):
    # x + a s + b z == x + eps grad log p^(1/T) + sqrt(2 eps) z with eps = b^2/2, T = b^2/(2a)
    x, z = _points()
    eps, temperature = decoupled_as_tempered(a, b)
    assert temperature == decoupled_temperature(a, b)
    got = step_x(decoupled_langevin_step, score, x, z, a, b)
    want = step_x(ula_step, lambda y: score(y) / temperature, x, z, eps)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def _spd(seed, d):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eig = rng.uniform(0.3, 3.0, size=d)
    return (q * eig) @ q.T


@pytest.mark.parametrize("d", [1, 2, 5])
@given(frac=st.floats(0.01, 0.99, allow_subnormal=False),
       b=st.floats(0.05, 3.0, allow_subnormal=False), seed=st.integers(0, 2**16))
def test_stationary_law_solves_the_discrete_lyapunov_equation(d, frac, b, seed):
    cov = _spd(seed, d)
    prec = np.linalg.inv(cov)
    a = frac * 2.0 / np.linalg.eigvalsh(prec).max()   # inside the stable range
    law = ula_stationary_gaussian(np.zeros(d), cov, a, b)
    m = np.eye(d) - a * prec
    lyap = solve_discrete_lyapunov(m, b * b * np.eye(d))
    np.testing.assert_allclose(law.cov, lyap, rtol=1e-9, atol=1e-12 * np.abs(lyap).max())
    np.testing.assert_allclose(m @ law.cov @ m.T + b * b * np.eye(d), law.cov, rtol=1e-10,
                               atol=1e-12 * np.abs(lyap).max())


@given(s2=st.floats(0.1, 10.0, allow_subnormal=False),
       frac=st.floats(0.01, 0.99, allow_subnormal=False))
def test_one_dimensional_cs236_closed_form(s2, frac):
    h = frac * 2 * s2   # stable iff h < 2 s^2
    law = stationary_law(np.array([1.5]), np.array([[s2]]), h, convention="cs236")
    np.testing.assert_allclose(law.cov[0, 0], s2 / (1 - h / (2 * s2)), rtol=1e-12)
    np.testing.assert_array_equal(law.mean, [1.5])


def test_small_steps_sample_the_tempered_gaussian():
    # as a -> 0 with b^2 / (2a) = T fixed, C -> T * Sigma (the temperature of the pair)
    cov = _spd(make_seed(3), 3)
    for temperature in (1.0, 0.01):
        a = 1e-7
        b = np.sqrt(2 * a * temperature)
        law = ula_stationary_gaussian(np.zeros(3), cov, a, b)
        np.testing.assert_allclose(law.cov, temperature * cov, rtol=1e-6)


def test_bad_input():
    cov = np.eye(2)
    with pytest.raises(ValueError, match="is unstable|unstable"):
        ula_stationary_gaussian(np.zeros(2), cov, 2.0, 1.0)
    with pytest.raises(ValueError, match="spectral radius"):
        stationary_law(np.zeros(1), np.array([[1.0]]), 2.0, convention="cs236")
    with pytest.raises(ValueError, match="`convention` must be one of"):
        drift_and_noise(0.1, convention="pytorch")
    with pytest.raises(ValueError, match="`frm` must be one of"):
        convert_step(0.1, "x", "cs236")
    with pytest.raises(ValueError, match="`to` must be one of"):
        convert_step(0.1, "cs236", 3)
    with pytest.raises(ValueError, match="`step` must be > 0"):
        drift_and_noise(0.0)
    with pytest.raises(ValueError, match="`step` must be finite"):
        convert_step(np.inf, "cs236", "tfp")
    with pytest.raises(ValueError, match="`drift` must be > 0"):
        decoupled_temperature(0.0, 1.0)
    with pytest.raises(ValueError, match="`noise_scale` must be >= 0"):
        decoupled_temperature(1.0, -1.0)
    with pytest.raises(ValueError, match="`noise_scale` must be > 0"):
        decoupled_as_tempered(1.0, 0.0)
    with pytest.raises(ValueError, match="`cov` must be positive definite"):
        ula_stationary_gaussian(np.zeros(2), -np.eye(2), 0.1, 1.0)
    with pytest.raises(ValueError, match=r"`cov` must have shape \(2, 2\)"):
        ula_stationary_gaussian(np.zeros(2), np.eye(3), 0.1, 1.0)
    with pytest.raises(ValueError, match="`mean` must have 1 dimension"):
        ula_stationary_gaussian(np.zeros((2, 1)), np.eye(2), 0.1, 1.0)
    with pytest.raises(ValueError, match="`mean` must be finite"):
        ula_stationary_gaussian(np.array([np.nan, 0.0]), np.eye(2), 0.1, 1.0)
    with pytest.raises(ValueError, match="`sigmas` must be strictly decreasing"):
        ncsn_step_sizes(0.1, [1.0, 2.0])
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        ncsn_step_sizes(0.0, [1.0])
    with pytest.raises(TypeError, match="takes 1 positional argument"):
        drift_and_noise(0.1, "cs236")     # options are keyword-only
    x, z = _points()
    with pytest.raises(ValueError, match="`convention` must be one of"):
        convention_step(score, ula_init(score, x), z, 0.1, convention="sk")
