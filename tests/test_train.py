"""Tests of refebm.train.fit, with the fits of the docs: a Gaussian, an exponential family and a
small 2-D MLP energy by each objective.

Independent computations: closed-form estimators (sample mean and variance, the score-matching
closed forms of refebm.objectives.score_matching) and the minimizer of the same deterministic
objective by scipy.optimize; runs with the same seed compared value for value.

Random data below are fixed inputs of deterministic optimizations (the assertions compare two
optimizers of the same objective, or two runs with one seed): no false-failure rate applies.
"""

import doctest
import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.misc.flatten import flatten
from scipy import optimize
from scipy.special import expit

import refebm.train as train
from refebm.energies import MLPEnergy, random_mlp_weights
from refebm.objectives import (
    cd_loss,
    denoising_score_matching_loss,
    langevin_chains,
    nce_loss,
    negative_log_likelihood,
    score_matching_exponential_family,
    score_matching_gaussian,
    score_matching_loss,
)
from refebm.train import FitResult, fit

from seeding import make_rng, make_seed

GD = dict(optimizer="sgd", options={"mass": 0.0})


def test_docstring_examples():
    assert doctest.testmod(train, raise_on_error=False).failed == 0


def test_quadratic_and_history():
    seen = []
    res = fit(lambda th: anp.sum((th - np.array([1.0, -2.0])) ** 2), np.zeros(2), steps=100,
              step_size=0.25, callback=lambda th, step, loss: seen.append((step, loss)), **GD)
    assert isinstance(res, FitResult)
    np.testing.assert_allclose(res.theta, [1.0, -2.0], atol=1e-12)
    assert res.losses.shape == (100,) and res.losses[0] == 5.0
    assert [s for s, _ in seen] == list(range(100))
    np.testing.assert_array_equal([v for _, v in seen], res.losses)
    for opt in ("adam", "rmsprop"):
        r = fit(lambda th: anp.sum((th - 3.0) ** 2), np.zeros(3), optimizer=opt, steps=100,
                step_size=0.1, progress=True)
        assert r.losses[-1] < 1e-2 * r.losses[0]


def gaussian_data():
    return make_rng(0).normal(1.3, 0.7, size=(200, 1))


def heavy_ball(loss, theta_ref, tol=1e-10):
    """Step, momentum and number of steps of the heavy-ball method for a locally quadratic loss.

    With the Hessian's extreme eigenvalues L and mu at the minimizer, step 4 / (sqrt L +
    sqrt mu)^2 and momentum ((sqrt k - 1) / (sqrt k + 1))^2, k = L / mu, converge at the rate
    (sqrt k - 1) / (sqrt k + 1) per step (Polyak 1964); autograd.misc.optimizers.sgd scales the
    momentum's velocity by (1 - mass), so its step is step / (1 - mass).
    """
    eig = np.linalg.eigvalsh(autograd.hessian(loss)(theta_ref))
    big, small = eig[-1], eig[0]
    k = big / small
    rate = (math.sqrt(k) - 1) / (math.sqrt(k) + 1)
    mass = rate**2
    step = 4 / (math.sqrt(big) + math.sqrt(small)) ** 2
    steps = int(math.ceil(math.log(tol) / math.log(rate))) + 50
    return dict(optimizer="sgd", step_size=step / (1 - mass), options={"mass": mass},
                steps=steps)


def test_gaussian_by_nll_is_the_mle():
    x = gaussian_data()

    def nll(theta, batch=x):  # theta = (mu, log s); log Z in closed form
        mu, log_s = theta[0], theta[1]
        energy = lambda y: 0.5 * (y[:, 0] - mu) ** 2 * anp.exp(-2 * log_s)  # noqa: E731
        return negative_log_likelihood(energy, batch, log_z=log_s + 0.5 * math.log(2 * math.pi))

    mle = np.array([x.mean(), math.log(x.std())])
    res = fit(nll, mle + 0.3, x, **heavy_ball(nll, mle))
    np.testing.assert_allclose(res.theta, mle, atol=1e-8)


def test_gaussian_by_score_matching_is_the_closed_form():
    x = gaussian_data()

    def loss(theta, batch=x):  # natural parameters: log p = h x - lam x^2 / 2
        return score_matching_loss(lambda y: 0.5 * theta[1] * y[:, 0] ** 2 - theta[0] * y[:, 0],
                                   batch)

    closed = score_matching_gaussian(x)
    lam = 1 / closed.cov[0, 0]
    res = fit(loss, np.array([0.0, 1.0]), x, **heavy_ball(loss, np.array([closed.mean[0] * lam,
                                                                          lam])))
    np.testing.assert_allclose([res.theta[0] / res.theta[1], 1 / res.theta[1]],
                               [closed.mean[0], closed.cov[0, 0]], rtol=1e-8)


def test_exponential_family_by_score_matching_is_the_closed_form():
    u = make_rng(1).beta(2.0, 3.0, size=(100, 1))  # skewed, light tails
    x = (u - u.mean()) / u.std()

    def T(y):  # Hermite polynomials He_1 .. He_4: a well-conditioned score-matching matrix
        return anp.concatenate([y, y**2 - 1, y**3 - 3 * y, y**4 - 6 * y**2 + 3], axis=1)

    def loss(theta, batch=x):
        return score_matching_loss(lambda y: -(T(y) @ theta), batch)

    closed = score_matching_exponential_family(x, T=T)
    assert closed.theta[3] < 0  # on these data the fitted quartic density is normalizable
    res = fit(loss, np.zeros(4), x, **heavy_ball(loss, closed.theta, tol=1e-8))
    np.testing.assert_allclose(res.theta, closed.theta, rtol=1e-6)


def test_gaussian_by_fixed_noise_dsm_and_nce_match_scipy():
    x = gaussian_data()
    z = make_rng(2).normal(size=x.shape)
    xn = make_rng(3).normal(0.0, 2.0, size=(400, 1))

    def dsm(theta):
        return denoising_score_matching_loss(None, x, z, 0.3,
                                             score=lambda y: theta[0] - theta[1] * y)

    def log_pn(y):
        return -0.5 * y[:, 0] ** 2 / 4.0 - 0.5 * math.log(8 * math.pi)

    # fixed-noise DSM is quadratic in theta: heavy ball with Polyak's parameters converges at its
    # rate from anywhere
    ref = optimize.minimize(dsm, np.array([0.0, 1.0]), method="BFGS", jac=autograd.grad(dsm),
                            options={"gtol": 1e-12}).x
    res = fit(dsm, ref + 0.1, **heavy_ball(dsm, ref))
    np.testing.assert_allclose(res.theta, ref, rtol=1e-6, atol=1e-8)

    # NCE is not quadratic, and heavy ball tuned to the Hessian at the optimum need not converge
    # from elsewhere. It is a logistic loss in G(y) = -(theta . phi(y)) - log nu - log p_n(y),
    # phi = (y^2, y, 1): Hessian sum_i w_i s(G_i) phi_i phi_i^T with s = sigma (1 - sigma). In
    # coordinates u whitened by the Hessian H at scipy's minimizer (theta = ref + H^(-1/2) u),
    # on the ball |u| <= R every logit moves by at most R |psi_i| (psi_i = H^(-1/2) phi_i), so the
    # Hessian lies between mu I and L I computed from the bounds of s on those intervals. Gradient
    # descent with step 1/L then contracts the distance to the optimum by (1 - mu / L) per step
    # (e_{k+1} = (I - H_bar / L) e_k with mu <= H_bar <= L), and stays in the ball.
    nu = len(xn) / len(x)
    pts = np.concatenate([x, xn])
    w = np.concatenate([np.full(len(x), 1 / len(x)), np.full(len(xn), nu / len(xn))])
    phi = np.stack([pts[:, 0] ** 2, pts[:, 0], np.ones(len(pts))], axis=1)

    def nce_theta(theta):
        return nce_loss(lambda y: theta[0] * y[:, 0] ** 2 + theta[1] * y[:, 0], theta[2], x, xn,
                        log_pn)

    ref = optimize.minimize(nce_theta, np.array([0.5, 0.0, 1.0]), method="BFGS",
                            jac=autograd.grad(nce_theta), options={"gtol": 1e-12}).x
    eig, vec = np.linalg.eigh(autograd.hessian(nce_theta)(ref))
    half = vec @ np.diag(eig ** -0.5) @ vec.T          # H^(-1/2)

    def nce(u):
        return nce_theta(ref + half @ u)

    u0 = np.full(3, 0.1)
    # scipy's ref is not exactly the optimum u*: by strong convexity |u*| <= |grad at 0| / mu,
    # so the ball |u| <= radius holds every iterate (|u_k - u*| <= |u0 - u*|) once
    # |u0| + 2 off / mu <= radius (checked below)
    off = np.linalg.norm(autograd.grad(nce)(np.zeros(3)))
    radius = 1.5 * np.linalg.norm(u0) + 4 * off
    g_ref = -(phi @ ref) - math.log(nu) - log_pn(pts)
    reach = radius * np.linalg.norm(phi @ half, axis=1)

    def s(g):
        return expit(g) * expit(-g)

    s_max, s_min = s(np.maximum(np.abs(g_ref) - reach, 0.0)), s(np.abs(g_ref) + reach)
    psi = phi @ half
    mu = np.linalg.eigvalsh((w * s_min * psi.T) @ psi)[0]
    big = np.linalg.eigvalsh((w * s_max * psi.T) @ psi)[-1]
    assert 0 < mu <= 1 <= big and np.linalg.norm(u0) + 2 * off / mu <= radius
    steps = math.ceil(math.log(1e-10 / radius) / math.log1p(-mu / big))
    res = fit(nce, u0, steps=steps, step_size=1 / big, **GD)
    # |u_K - u*| <= 1e-10, so |grad| <= L 1e-10 there and u_K is within 1e-10 + off / mu of ref
    assert np.linalg.norm(autograd.grad(nce)(res.theta)) <= big * 1e-10
    assert np.linalg.norm(res.theta) <= 1e-10 + off / mu


def test_stochastic_losses_get_the_generator_and_minibatches():
    x = gaussian_data()
    seen = []

    def dsm(theta, batch, rng):
        seen.append(batch[:, 0].copy())
        z = rng.standard_normal(batch.shape)
        return denoising_score_matching_loss(None, batch, z, 0.3,
                                             score=lambda y: theta[0] - theta[1] * y)

    a = fit(dsm, np.array([0.0, 1.0]), x, steps=6, step_size=0.01, rng=make_seed(7), batch_size=100)
    # one epoch = two batches, a permutation of the rows
    np.testing.assert_array_equal(np.sort(np.concatenate(seen[:2])), np.sort(x[:, 0]))
    b = fit(dsm, np.array([0.0, 1.0]), x, steps=6, step_size=0.01,
            rng=make_rng(7), batch_size=100)
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.losses, b.losses)


def test_gaussian_by_persistent_langevin_cd_runs_reproducibly():
    x = gaussian_data()

    def energy_of(theta):
        return lambda y: 0.5 * (y[:, 0] - theta[0]) ** 2 * anp.exp(-2 * theta[1])

    def run(seed):
        chains = {"x": np.zeros((100, 1))}  # persistent chains, advanced at every step

        def cd(theta, batch, rng):
            raw = autograd.tracer.getval(theta)
            noise = rng.standard_normal((5, 100, 1))
            chains["x"] = langevin_chains(energy_of(raw), chains["x"], noise, 0.05)
            return cd_loss(energy_of(theta), batch, chains["x"])

        return fit(cd, np.array([0.0, 0.0]), x, steps=30, step_size=0.05, rng=seed)

    a, b = run(make_seed(11)), run(make_seed(11))
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert np.all(np.isfinite(a.theta))


def ring_data():
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    r = 2.0 + 0.2 * np.cos(5 * t)  # deterministic data: no draws
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def test_mlp_energy_by_score_matching_on_a_ring():
    # What theory promises: score matching is quadratic in an MLP's last layer (E = w . h(x) + c
    # with hidden units h), so with the hidden layer held fixed the fitted last layer is the
    # closed-form optimum of the exponential family with T = h (D15; E = -theta . T, w = -theta)
    # and the loss falls from the start by exactly 1/2 (w0 - w*)^T A (w0 - w*), a margin computed
    # from the data. Hidden units chosen by a rule (five directions on the circle, bias -1; A is
    # well conditioned, cond ~ 3.5) and deterministic data: no draws, so no false-failure rate.
    x = ring_data()
    angles = 2 * np.pi * np.arange(5) / 5
    w1, b1 = np.stack([np.cos(angles), np.sin(angles)]), np.full(5, -1.0)

    def loss(w, batch=x):
        return score_matching_loss(MLPEnergy([(w1, b1), (w[:, None], np.zeros(1))], "softplus"),
                                   batch)

    closed = score_matching_exponential_family(x, T=lambda y: anp.logaddexp(0.0, y @ w1 + b1))
    w_star, w0 = -closed.theta, np.zeros(5)
    res = fit(loss, w0, x, **heavy_ball(loss, w_star))
    np.testing.assert_allclose(res.theta, w_star, rtol=1e-6)
    np.testing.assert_allclose(loss(w_star), closed.loss, rtol=1e-10)
    margin = 0.5 * (w0 - w_star) @ closed.A @ (w0 - w_star)
    np.testing.assert_allclose(res.losses[0] - loss(res.theta), margin, rtol=1e-6)


def test_mlp_energy_nested_weights_follow_gradient_descent():
    # fit on an MLP's nested (W, b) pairs is plain gradient descent on the flattened parameters:
    # the same iterates and losses as a hand-written loop (an exact check of fit's plumbing)
    x = ring_data()
    w0 = random_mlp_weights([2, 16, 16, 1], make_rng("ring-mlp"), bias_scale=0.1)

    def loss(w, batch):
        return score_matching_loss(MLPEnergy(w, "softplus"), batch)

    res = fit(loss, w0, x, steps=5, step_size=0.02, **GD)
    flat, unflatten = flatten(w0)
    flat_loss = lambda v: loss(unflatten(v), x)  # noqa: E731
    losses = []
    for _ in range(5):
        value, g = autograd.value_and_grad(flat_loss)(flat)
        losses.append(value)
        flat = flat - 0.02 * g
    np.testing.assert_allclose(res.losses, losses, rtol=1e-12)
    np.testing.assert_allclose(flatten(res.theta)[0], flat, rtol=1e-12, atol=1e-15)
    assert [a.shape for pair in res.theta for a in pair] == [a.shape for pair in w0 for a in pair]


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore:Output seems independent")
def test_bad_input():
    q = lambda th: anp.sum(th**2)  # noqa: E731
    with pytest.raises(TypeError, match="`loss` must be callable"):
        fit(None, np.zeros(2))
    with pytest.raises(ValueError, match="`optimizer` must be one of"):
        fit(q, np.zeros(2), optimizer="lbfgs")
    with pytest.raises(TypeError, match="`optimizer` must be one of"):
        fit(q, np.zeros(2), optimizer=None)
    with pytest.raises(ValueError, match="`steps` must be >= 1"):
        fit(q, np.zeros(2), steps=0)
    with pytest.raises(TypeError, match="`steps` must be an integer"):
        fit(q, np.zeros(2), steps=1.5)
    with pytest.raises(ValueError, match="`step_size` must be > 0"):
        fit(q, np.zeros(2), step_size=0.0)
    with pytest.raises(ValueError, match="`step_size` must be finite"):
        fit(q, np.zeros(2), step_size=np.nan)
    with pytest.raises(TypeError, match="`rng` must be"):
        fit(q, np.zeros(2), rng="x")
    with pytest.raises(TypeError, match="`progress` must be a bool"):
        fit(q, np.zeros(2), progress="yes")
    with pytest.raises(TypeError, match="`callback` must be callable"):
        fit(q, np.zeros(2), callback=3)
    with pytest.raises(TypeError, match="`options` must be a dict"):
        fit(q, np.zeros(2), options=[1])
    with pytest.raises(ValueError, match="`theta0` must be finite"):
        fit(q, np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="`theta0` must not be empty"):
        fit(q, [])
    with pytest.raises(TypeError, match="`theta0` must hold real numbers"):
        fit(q, "theta")
    with pytest.raises(TypeError, match=r"`theta0\[1\]` must hold real numbers"):
        fit(q, [np.zeros(2), None])
    with pytest.raises(ValueError, match=r"`theta0\['w'\]` must be finite"):
        fit(q, {"w": np.array([np.inf])})
    with pytest.raises(ValueError, match="`batch_size` needs `data`"):
        fit(q, np.zeros(2), batch_size=2)
    with pytest.raises(ValueError, match="`batch_size` must be <= 3"):
        fit(lambda th, b: q(th), np.zeros(2), np.zeros((3, 1)), batch_size=4)
    with pytest.raises(ValueError, match="`data` must be finite"):
        fit(lambda th, b: q(th), np.zeros(2), np.array([[np.inf]]))
    with pytest.raises(FloatingPointError, match="not finite at step 0"):
        fit(lambda th: anp.sum(anp.log(th - 1.0)), np.zeros(2))
    with pytest.raises(FloatingPointError, match="gradient of the loss is not finite"):
        fit(lambda th: anp.sum(anp.sqrt(anp.abs(th))), np.zeros(2))


def test_a_loss_that_is_not_one_number_is_named():
    with pytest.raises(ValueError, match=r"`loss` must return a scalar, got shape \(3,\) at "
                                         r"step 0: reduce it to one number"):
        fit(lambda th: th**2, np.ones(3), steps=2)
    with pytest.raises(ValueError, match=r"`loss` must return a scalar, got shape \(1,\)"):
        fit(lambda th, batch: anp.sum(th * batch, axis=0), np.ones(1), np.ones((4, 1)), steps=2)
    with pytest.raises(TypeError, match="`loss` must return a real scalar, got 'a'"):
        fit(lambda th: "a", np.ones(3), steps=2)
    with pytest.raises(TypeError, match="`loss` must return a real scalar, got None"):
        fit(lambda th: None, np.ones(3), steps=2)


def test_float32_parameters_stay_float32():
    res = fit(lambda th: anp.sum((th - 3.0) ** 2), np.zeros(2, np.float32), optimizer="sgd",
              steps=50, step_size=0.1, options={"mass": 0.0})
    assert res.theta.dtype == np.float32 and res.losses.dtype == np.float32
    res64 = fit(lambda th: anp.sum((th - 3.0) ** 2), np.zeros(2), optimizer="sgd", steps=50,
                step_size=0.1, options={"mass": 0.0})
    assert res64.theta.dtype == np.float64 and res64.losses.dtype == np.float64
    np.testing.assert_allclose(res.theta, res64.theta, rtol=1e-6)
