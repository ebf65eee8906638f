"""Tests of refebm.objectives.contrastive (D7, D8, D20).

Independent computations: gradients of linear-in-parameter energies written by hand; the exact
maximum-likelihood gradient in closed form (Gaussian, Gamma: digamma) for the unbiasedness of CD
with exact samples; the expected CD-1 gradient of one ULA step on a Gaussian derived in closed
form; ULA recursions written out here; the samplers' kernels fed the same random stream.

Statistical tests state their bound and false-failure rate in their docstrings; the other random
inputs feed exact checks (no false-failure rate applies).
"""

import doctest
import math

import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from scipy.special import digamma

import refebm.objectives.contrastive as contrastive
from refebm.objectives import (
    parametric,
    cd_gradient,
    cd_k,
    cd_loss,
    langevin_cd,
    langevin_chains,
    noise_init,
    persistent_cd,
    short_run,
)
from refebm.samplers import mala_kernel, ula_kernel

from seeding import make_rng, make_seed

Z_BOUND = 5.0  # two-sided normal tail 5.7e-7 per assertion


def test_docstring_examples():
    assert doctest.testmod(contrastive, raise_on_error=False).failed == 0


def gauss_energy(theta, x):
    """E = lam (x - mu)^2 / 2, theta = (mu, lam); d = 1."""
    mu, lam = theta[0], theta[1]
    return 0.5 * lam * (x[:, 0] - mu) ** 2


def gauss_grad(theta, x):
    mu, lam = theta
    u = x[:, 0] - mu
    return np.stack([-lam * u, 0.5 * u**2], axis=1)  # per-point dE/dtheta


def gamma_energy(theta, x):
    """Gamma(alpha, rate beta) on x > 0: E = -(alpha - 1) log x + beta x, theta = (alpha, beta)."""
    return -(theta[0] - 1.0) * anp.log(x[:, 0]) + theta[1] * x[:, 0]


def gamma_grad(theta, x):
    return np.stack([-np.log(x[:, 0]), x[:, 0]], axis=1)


def test_cd_loss_and_gradient_by_hand():
    rng = make_rng(0)
    xd, xm = rng.normal(size=(7, 2)), rng.normal(size=(5, 2))

    def energy(theta, x):  # linear in theta: gradient = mean features(data) - mean features(model)
        return theta["a"] * x[:, 0] + theta["b"] @ anp.stack([x[:, 1] ** 2, anp.sin(x[:, 0])])

    theta = {"a": 0.3, "b": np.array([0.5, -1.0])}
    loss = cd_loss(lambda x: energy(theta, x), xd, xm)
    assert math.isclose(loss, energy(theta, xd).mean() - energy(theta, xm).mean(), rel_tol=1e-14)
    g = cd_gradient(parametric(energy, theta), xd, xm)
    assert math.isclose(g["a"], xd[:, 0].mean() - xm[:, 0].mean(), rel_tol=1e-12)
    feats = lambda x: np.stack([x[:, 1] ** 2, np.sin(x[:, 0])], axis=1).mean(axis=0)  # noqa: E731
    np.testing.assert_allclose(g["b"], feats(xd) - feats(xm), rtol=1e-12)
    check_grads(lambda th: cd_loss(lambda x: gauss_energy(th, x), xd[:, :1], xm[:, :1]),
                modes=["rev"], order=1)(np.array([0.2, 1.3]))


@pytest.mark.parametrize("model", ["gaussian", "gamma"])
def test_cd_with_exact_samples_is_unbiased(model):
    """The CD gradient with exact model samples estimates the exact ML gradient without bias.

    Bound: CLT for the mean of n i.i.d. per-pair gradients, |mean - exact| <= 5.0 sd / sqrt(n)
    per component with the sample standard deviation (n = 200000): false-failure rate 5.7e-7
    per component (asymptotic).
    """
    rng = make_rng(1 if model == "gaussian" else 2)
    n = 200_000
    if model == "gaussian":
        theta = np.array([0.3, 1.7])  # model N(0.3, 1 / 1.7)
        xd = rng.normal(1.0, 0.8, size=(n, 1))
        xm = rng.normal(theta[0], 1 / math.sqrt(theta[1]), size=(n, 1))
        energy, grad_e = gauss_energy, gauss_grad
        exact = np.array([-theta[1] * (1.0 - theta[0]),
                          0.5 * (0.64 + (1.0 - theta[0]) ** 2) - 0.5 / theta[1]])
    else:
        theta = np.array([2.5, 1.5])
        xd = rng.gamma(4.0, 1 / 2.0, size=(n, 1))  # data Gamma(4, rate 2)
        xm = rng.gamma(theta[0], 1 / theta[1], size=(n, 1))
        energy, grad_e = gamma_energy, gamma_grad
        # d/dtheta [E_data E + log Z], log Z = lgamma(alpha) - alpha log beta
        exact = np.array([-(digamma(4.0) - math.log(2.0)) + digamma(theta[0]) - math.log(theta[1]),
                          4.0 / 2.0 - theta[0] / theta[1]])
    per_pair = grad_e(theta, xd) - grad_e(theta, xm)
    g = cd_gradient(parametric(energy, theta), xd, xm)
    np.testing.assert_allclose(g, per_pair.mean(axis=0), rtol=1e-10)
    se = per_pair.std(axis=0) / math.sqrt(n)
    assert np.all(np.abs(g - exact) <= Z_BOUND * se)


def test_cd1_ula_bias_on_a_gaussian():
    """One ULA step from the data: the expected CD-1 gradient in closed form, not the ML one.

    Model E = lam (x - mu)^2 / 2, data N(m, v), x' = x - h lam (x - mu) + sqrt(2 h) z:
      E[g_mu]  = -h lam^2 (m - mu)                     (ML: -lam (m - mu))
      E[g_lam] = a / 2 - ((1 - h lam)^2 a + 2 h) / 2   (ML: a / 2 - 1 / (2 lam)), a = v + (m - mu)^2
    so CD-1 is the ML gradient scaled by h lam in mu, and its zero in lam is the ULA stationary
    variance a = 1 / (lam (1 - h lam / 2)), not 1 / lam.
    Bound: CLT per component, 5.0 sample standard errors (n = 200000): false-failure rate
    5.7e-7 per component (asymptotic).
    """
    rng = make_rng(3)
    n, h = 200_000, 0.2
    m, v = 1.0, 0.64
    theta = np.array([0.3, 1.7])
    mu, lam = theta
    xd = rng.normal(m, math.sqrt(v), size=(n, 1))
    z = rng.normal(size=(1, n, 1))
    res = langevin_cd(parametric(gauss_energy, theta), xd, xd, z, h)
    x_new = xd - h * lam * (xd - mu) + math.sqrt(2 * h) * z[0]
    np.testing.assert_allclose(res.x_model, x_new, rtol=1e-12, atol=1e-14)
    per_point = gauss_grad(theta, xd) - gauss_grad(theta, x_new)
    np.testing.assert_allclose(res.gradient, per_point.mean(axis=0), rtol=1e-10)
    a = v + (m - mu) ** 2
    expected = np.array([-h * lam**2 * (m - mu), 0.5 * a - 0.5 * ((1 - h * lam) ** 2 * a + 2 * h)])
    ml = np.array([-lam * (m - mu), 0.5 * a - 0.5 / lam])
    se = per_point.std(axis=0) / math.sqrt(n)
    assert np.all(np.abs(res.gradient - expected) <= Z_BOUND * se)
    assert np.all(np.abs(expected - ml) > 20 * se)  # the bias is resolved by this sample size


def test_langevin_chains_by_hand_and_mala_with_zero_uniforms():
    rng = make_rng(4)
    x0 = rng.normal(size=(5, 2))
    noise = rng.normal(size=(3, 5, 2))
    energy = lambda x: 0.25 * anp.sum(x**4, axis=1)  # noqa: E731 score -x^3
    x = x0.copy()
    for t in range(3):
        x = x - 0.05 * x**3 + math.sqrt(0.1) * noise[t]
    np.testing.assert_allclose(langevin_chains(energy, x0, noise, 0.05), x, rtol=1e-12)
    # u = 0 accepts every proposal: MALA then follows the ULA path exactly
    np.testing.assert_allclose(
        langevin_chains(energy, x0, noise, 0.05, uniform=np.zeros((3, 5))), x, rtol=1e-12)
    # u just below 1 rejects the proposals that lower the acceptance ratio below 1
    stay = langevin_chains(energy, x0, noise, 0.05, uniform=np.full((3, 5), 1 - 1e-16))
    assert stay.shape == (5, 2)


def test_kernel_paths_equal_explicit_noise():
    rng = make_rng(5)
    theta = np.array([0.3, 1.7])
    xd = rng.normal(size=(6, 1))
    # ULA kernel: one normal draw (n, d) per step
    gen = make_rng(11)
    noise = np.stack([gen.standard_normal((6, 1)) for _ in range(3)])
    got = cd_k(parametric(gauss_energy, theta), xd, lambda e: ula_kernel(e, 0.1), 3,
               make_seed(11))
    ref = langevin_cd(parametric(gauss_energy, theta), xd, xd, noise, 0.1)
    np.testing.assert_allclose(got.x_model, ref.x_model, rtol=1e-12)
    np.testing.assert_allclose(got.gradient, ref.gradient, rtol=1e-12)
    # MALA kernel: a normal (n, d) then a uniform (n,) per step; persistent chains
    chains = rng.normal(size=(4, 1))
    gen = make_rng(12)
    draws = [(gen.standard_normal((4, 1)), gen.random(4)) for _ in range(2)]
    got = persistent_cd(parametric(gauss_energy, theta), xd, chains,
                        lambda e: mala_kernel(e, 0.3), 2,
                        make_seed(12))
    ref = langevin_cd(parametric(gauss_energy, theta), xd, chains,
                      np.stack([d[0] for d in draws]), 0.3,
                      uniform=np.stack([d[1] for d in draws]))
    np.testing.assert_allclose(got.x_model, ref.x_model, rtol=1e-12)
    np.testing.assert_allclose(got.gradient, ref.gradient, rtol=1e-12)
    # short-run: starting points first, then the (k, n, d) noise
    for init, bounds in (("uniform", (-1.0, 1.0)), ("gaussian", (-1.0, 1.0))):
        gen = make_rng(13)
        x0 = noise_init(5, 1, gen, init=init, bounds=bounds)
        noise = gen.standard_normal((4, 5, 1))
        got = short_run(parametric(gauss_energy, theta), xd, 4, 0.1, make_seed(13), n_samples=5,
                        init=init)
        ref = langevin_cd(parametric(gauss_energy, theta), xd, x0, noise, 0.1)
        np.testing.assert_allclose(got.x_model, ref.x_model, rtol=1e-12)
        np.testing.assert_allclose(got.gradient, ref.gradient, rtol=1e-12)


def test_noise_init():
    x = noise_init(1000, 3, make_seed(0), bounds=(2.0, 3.0))
    assert x.shape == (1000, 3) and x.min() >= 2.0 and x.max() < 3.0
    g = noise_init(4, 2, make_rng(0), init="gaussian")
    np.testing.assert_array_equal(g, make_rng(0).standard_normal((4, 2)))


def test_backends(xp, to_xp):
    rng = make_rng(6)
    xd, xm = rng.normal(size=(5, 2)), rng.normal(size=(3, 2))
    energy = lambda x: 0.5 * xp.sum(x * x, axis=1) if xp is not anp else 0.5 * anp.sum(x * x, 1)  # noqa: E731
    got = cd_loss(energy, to_xp(xd), to_xp(xm))
    expected = 0.5 * (np.sum(xd**2, 1).mean() - np.sum(xm**2, 1).mean())
    assert math.isclose(float(got), expected, rel_tol=1e-12)


# ------------------------------------------------------------------------------- bad input

def test_bad_input():
    xd, xm = np.zeros((3, 1)), np.ones((2, 1))
    th = np.array([0.0, 1.0])
    e = lambda x: gauss_energy(th, x)  # noqa: E731
    with pytest.raises(TypeError, match="`energy` must be callable"):
        cd_loss(None, xd, xm)
    with pytest.raises(ValueError,
                       match=r"`x_model` must have the event dimension of `x_data` \(1\)"):
        cd_loss(e, xd, np.ones((2, 2)))
    with pytest.raises(ValueError, match="`x_data` must be finite"):
        cd_loss(e, np.array([[np.nan]]), xm)
    with pytest.raises(ValueError, match="`x_data` must have 2 dimension"):
        cd_loss(e, np.zeros(3), xm)
    with pytest.raises(ValueError, match="`x_model` must not be empty"):
        cd_loss(e, xd, np.ones((0, 1)))
    with pytest.raises(ValueError, match=r"`energy` must return shape \(3,\)"):
        cd_loss(lambda x: x, xd, xm)
    with pytest.raises(ValueError, match="`energy` returned NaN"):
        cd_loss(lambda x: x[:, 0] * np.nan, xd, xm)
    with pytest.raises(TypeError, match="`energy_of_theta` must be callable"):
        cd_gradient(parametric("E", th), xd, xm)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        langevin_chains(e, xd, np.zeros((1, 3, 1)), 0.0)
    with pytest.raises(ValueError, match=r"`noise` must have shape \(k, 3, 1\)"):
        langevin_chains(e, xd, np.zeros((1, 2, 1)), 0.1)
    with pytest.raises(ValueError, match="`noise` must have 3 dimension"):
        langevin_chains(e, xd, np.zeros((3, 1)), 0.1)
    with pytest.raises(ValueError, match="`noise` must be finite"):
        langevin_chains(e, xd, np.full((1, 3, 1), np.inf), 0.1)
    with pytest.raises(ValueError, match=r"`uniform` must have shape \(k, 3\)"):
        langevin_chains(e, xd, np.zeros((1, 3, 1)), 0.1, uniform=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="`uniform` must have 1 rows"):
        langevin_chains(e, xd, np.zeros((1, 3, 1)), 0.1, uniform=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`x0` must be finite"):
        langevin_cd(parametric(gauss_energy, th), xd, np.array([[np.inf]]), np.zeros((1, 1, 1)),
                    0.1)
    make = lambda en: ula_kernel(en, 0.1)  # noqa: E731
    with pytest.raises(ValueError, match="`k` must be >= 1"):
        cd_k(parametric(gauss_energy, th), xd, make, 0, make_seed(0))
    with pytest.raises(TypeError, match="`k` must be an integer"):
        cd_k(parametric(gauss_energy, th), xd, make, 1.5, make_seed(0))
    with pytest.raises(TypeError, match="`make_kernel` must be callable"):
        cd_k(parametric(gauss_energy, th), xd, None, 1, make_seed(0))
    with pytest.raises(TypeError, match="`rng` must be"):
        cd_k(parametric(gauss_energy, th), xd, make, 1, "seed")
    with pytest.raises(ValueError,
                       match=r"`chains` must have the event dimension of `x_data` \(1\)"):
        persistent_cd(parametric(gauss_energy, th), xd, np.zeros((2, 2)), make, 1, make_seed(0))
    with pytest.raises(ValueError, match="`init` must be one of"):
        short_run(parametric(gauss_energy, th), xd, 2, 0.1, make_seed(0), init="laplace")
    with pytest.raises(ValueError, match=r"`bounds\[0\]` must have lo < hi"):
        short_run(parametric(gauss_energy, th), xd, 2, 0.1, make_seed(0), bounds=(1.0, -1.0))
    with pytest.raises(ValueError, match="`bounds` must be finite"):
        noise_init(2, 1, make_seed(0), bounds=(-np.inf, 1.0))
    with pytest.raises(ValueError, match="`n_samples` must be >= 1"):
        short_run(parametric(gauss_energy, th), xd, 2, 0.1, make_seed(0), n_samples=0)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        short_run(parametric(gauss_energy, th), xd, 2, -0.1, make_seed(0))
    with pytest.raises(ValueError, match="`d` must be >= 1"):
        noise_init(2, 0, make_seed(0))
    with pytest.raises(TypeError, match="`init` must be 'uniform' or 'gaussian'"):
        noise_init(2, 1, make_seed(0), init=None)


def test_gradients_need_a_parametric_energy():
    x = np.zeros((3, 1))
    e = lambda y: y[:, 0] ** 2  # noqa: E731
    for call in (lambda: cd_gradient(e, x, x),
                 lambda: langevin_cd(e, x, x, np.zeros((1, 3, 1)), 0.1),
                 lambda: cd_k(e, x, lambda en: ula_kernel(en, 0.1), 1, make_seed(0)),
                 lambda: persistent_cd(e, x, x, lambda en: ula_kernel(en, 0.1), 1, make_seed(0)),
                 lambda: short_run(e, x, 1, 0.1, make_seed(0))):
        with pytest.raises(TypeError, match=r"`energy` must be a ParametricEnergy .*"
                                            r"refebm.objectives.parametric\(energy_of_theta"):
            call()
    with pytest.raises(TypeError, match="`energy_of_theta` must be callable"):
        parametric("E", 1.0)
    model = parametric(gauss_energy, np.array([0.3, 1.7]))
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        short_run(model, x, 2, -0.1, make_seed(0))
    with pytest.raises(ValueError, match=r"`noise` must have shape \(k, 3, 1\)"):
        langevin_cd(model, x, x, np.zeros((2, 3, 2)), 0.1)
    # the helper: the same energy, re-evaluated at other parameters, and its gradient
    np.testing.assert_array_equal(model(x), gauss_energy(model.theta, x))
    np.testing.assert_array_equal(model.at(np.array([0.0, 1.0]))(x + 1.0), 0.5 * np.ones(3))


def test_float32_data_give_float32_losses_and_chains():
    rng = make_rng(80)
    xd = rng.normal(size=(6, 1))
    xm = rng.normal(size=(4, 1))
    energy = lambda y: 0.5 * 1.7 * (y[:, 0] - 0.3) ** 2  # noqa: E731
    assert np.asarray(cd_loss(energy, xd, xm)).dtype == np.float64
    assert np.asarray(cd_loss(energy, xd.astype(np.float32), xm.astype(np.float32))).dtype \
        == np.float32
    model = parametric(gauss_energy, np.array([0.3, 1.7]))
    res = short_run(model, xd.astype(np.float32), 3, 0.1, make_seed(81))
    assert res.x_model.dtype == np.float32
    res64 = short_run(model, xd, 3, 0.1, make_seed(81))
    np.testing.assert_allclose(res.x_model, res64.x_model, rtol=1e-5, atol=1e-6)
