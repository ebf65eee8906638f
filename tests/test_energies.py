"""Tests of refebm.energies: MLPEnergy, NoiseConditionalMLP, toy energies.

Independent computations: a plain NumPy forward pass written here layer by layer; autograd's
score and its loop-over-dimensions Hessian trace (refebm.diff) for the one-pass Laplacian;
PyTorch's nn.Sequential (when installed) for the weight layout; scipy.integrate for log Z of
the banana; central finite differences for the weight gradients.

Random weights and points below feed exact checks: no false-failure rate applies.
"""

import doctest
import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

import refebm.energies as energies
from refebm.diff import hessian_trace, score
from refebm.energies import (
    ACTIVATIONS,
    MLPEnergy,
    NoiseConditionalMLP,
    banana_energy,
    banana_log_z,
    banana_score,
    double_well_energy,
    double_well_score,
    flatten_weights,
    mlp,
    random_mlp_weights,
    ring_energy,
    ring_score,
    toys,
)

from seeding import make_rng, make_seed


def test_docstring_examples():
    for module in (energies, mlp, toys):
        assert doctest.testmod(module, raise_on_error=False).failed == 0


def _numpy_activation(name, a):
    if name == "tanh":
        return np.tanh(a)
    if name == "softplus":
        return np.log1p(np.exp(a))
    return a / (1.0 + np.exp(-a))


def _numpy_energy(weights, activation, x):
    h = x
    for i, (w, b) in enumerate(weights):
        a = h @ w + b
        h = a if i == len(weights) - 1 else _numpy_activation(activation, a)
    return h[:, 0]


def _weights(rng, sizes):
    return random_mlp_weights(sizes, rng, bias_scale=0.5)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("sizes", [[3, 1], [3, 5, 1], [3, 6, 4, 1], [2, 3, 3, 3, 1]])
def test_energy_matches_plain_numpy_forward(activation, sizes):
    rng = make_rng(1)
    w = _weights(rng, sizes)
    x = rng.normal(size=(7, sizes[0]))
    np.testing.assert_allclose(MLPEnergy(w, activation)(x), _numpy_energy(w, activation, x),
                               rtol=1e-12, atol=1e-14)


def test_flat_layout_equals_pairs():
    rng = make_rng(2)
    w = _weights(rng, [2, 4, 1])
    x = rng.normal(size=(5, 2))
    flat = flatten_weights(w)
    assert [a.shape for a in flat] == [(2, 4), (4,), (4, 1), (1,)]
    np.testing.assert_array_equal(MLPEnergy(flat)(x), MLPEnergy(w)(x))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_pytorch_sequential_layout(activation):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    act = {"tanh": torch.nn.Tanh, "swish": torch.nn.SiLU,
           "softplus": lambda: torch.nn.Softplus(beta=1.0, threshold=1e3)}[activation]
    seq = torch.nn.Sequential(torch.nn.Linear(3, 5), act(), torch.nn.Linear(5, 4), act(),
                              torch.nn.Linear(4, 1)).double()
    # torch.nn.Linear stores weight as (out, in): transpose to refebm's (in, out)
    weights = [(m.weight.detach().numpy().T, m.bias.detach().numpy())
               for m in seq if isinstance(m, torch.nn.Linear)]
    x = make_rng(3).normal(size=(6, 3))
    expected = seq(torch.from_numpy(x)).detach().numpy()[:, 0]
    np.testing.assert_allclose(MLPEnergy(weights, activation)(x), expected, rtol=1e-12)


@given(d=st.integers(1, 4), depth=st.integers(0, 3), width=st.integers(1, 6),
       activation=st.sampled_from(ACTIVATIONS), seed=st.integers(0, 2**31 - 1))
def test_score_and_laplacian_equal_autograd(d, depth, width, activation, seed):
    rng = np.random.default_rng(seed)
    sizes = [d] + [width] * depth + [1]
    e = MLPEnergy(_weights(rng, sizes), activation)
    x = rng.normal(size=(5, d))
    s, lap = e.score_and_laplacian(x)
    s_ag = score(e.energy)(x) if depth else -np.broadcast_to(e.layers[0][0][:, 0], (5, d))
    np.testing.assert_allclose(s, s_ag, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(e.score(x), s_ag, rtol=1e-10, atol=1e-12)
    if depth:  # a linear energy has zero Laplacian (autograd warns that it is constant)
        np.testing.assert_allclose(lap, hessian_trace(e.energy)(x), rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_array_equal(lap, np.zeros(5))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_derivatives_equal_autograd(activation):
    a = np.linspace(-30, 30, 121)
    f0, f1, f2 = (lambda t, k=k: mlp._activation(activation, t, anp, 2)[k] for k in range(3))
    d1 = autograd.elementwise_grad(f0)(a)
    d2 = autograd.elementwise_grad(autograd.elementwise_grad(f0))(a)
    np.testing.assert_allclose(f1(a), d1, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(f2(a), d2, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_laplacian_differentiable_in_weights(activation):
    rng = make_rng(4)
    w = _weights(rng, [2, 4, 3, 1])
    x = rng.normal(size=(6, 2))

    def one_pass(w):
        s, lap = MLPEnergy(w, activation).score_and_laplacian(x)
        return anp.sum(lap) + 0.5 * anp.sum(s**2)

    def generic(w):
        e = MLPEnergy(w, activation)
        g = autograd.elementwise_grad(lambda y: e(y))
        lap = sum(autograd.elementwise_grad(lambda y, i=i: g(y)[:, i])(x)[:, i] for i in range(2))
        return -anp.sum(lap) + 0.5 * anp.sum(g(x) ** 2)

    check_grads(one_pass, modes=["rev"], order=1)(w)
    g1 = autograd.grad(one_pass)(w)
    g2 = autograd.grad(generic)(w)
    for (a1, b1), (a2, b2) in zip(g1, g2):
        np.testing.assert_allclose(a1, a2, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b1, b2, rtol=1e-10, atol=1e-12)


def test_large_energies_do_not_overflow():
    w = [(np.full((1, 1), 1e4), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))]
    x = np.array([[1.0], [-1.0]])
    for activation in ACTIVATIONS:
        e = MLPEnergy(w, activation)
        assert np.all(np.isfinite(e(x)))
        s, lap = e.score_and_laplacian(x)
        assert np.all(np.isfinite(s)) and np.all(np.isfinite(lap))
    np.testing.assert_allclose(MLPEnergy(w, "softplus")(x), [1e4, 0.0], atol=1e-12)


def test_noise_conditional_equals_autograd():
    rng = make_rng(5)
    d = 2
    w = _weights(rng, [d + 1, 5, 4, 1])
    x = rng.normal(size=(6, d))
    sigma = rng.uniform(0.1, 2.0, size=6)
    for scale in (True, False):
        net = NoiseConditionalMLP(w, "swish", scale_by_sigma=scale)
        plain = MLPEnergy(w, "swish")
        expected = plain(np.concatenate([x, np.log(sigma)[:, None]], axis=1))
        expected = expected / sigma if scale else expected
        np.testing.assert_allclose(net(x, sigma), expected, rtol=1e-12)
        f = lambda y: net.energy(y, sigma)  # noqa: E731
        s, lap = net.score_and_laplacian(x, sigma)
        np.testing.assert_allclose(s, score(f)(x), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(net.score(x, sigma), s, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(lap, hessian_trace(f)(x), rtol=1e-10, atol=1e-12)
    # a scalar sigma is the same as a constant array
    np.testing.assert_array_equal(net.energy(x, 0.7), net.energy(x, np.full(6, 0.7)))


@pytest.mark.parametrize("name", ["double_well", "ring", "banana"])
def test_toy_scores_equal_autograd(name):
    rng = make_rng(6)
    energy, analytic, kw = {
        "double_well": (double_well_energy, double_well_score, {"barrier": 2.5}),
        "ring": (ring_energy, ring_score, {"radius": 1.5, "width": 0.3}),
        "banana": (banana_energy, banana_score, {"a": 0.7, "b": 3.0}),
    }[name]
    for d in ((1, 3) if name != "banana" else (2,)):
        x = rng.normal(size=(8, d))
        np.testing.assert_allclose(analytic(x, **kw), score(lambda y: energy(y, **kw))(x),
                                   rtol=1e-10, atol=1e-12)


def test_banana_log_z_by_scipy():
    a, b = 0.4, 2.5

    def formula(x1, x2):
        return 0.5 * (a - x1) ** 2 + 0.5 * b * (x2 - x1 * x1) ** 2

    x = make_rng(8).normal(size=(20, 2))
    np.testing.assert_allclose(banana_energy(x, a=a, b=b), formula(x[:, 0], x[:, 1]), rtol=1e-14)
    val, err = integrate.dblquad(lambda x2, x1: math.exp(-formula(x1, x2)), -9, 9,
                                 lambda x1: x1 * x1 - 7, lambda x1: x1 * x1 + 7,
                                 epsabs=1e-12, epsrel=1e-11)
    assert math.isclose(math.log(val), banana_log_z(b), rel_tol=1e-9)


def test_backends(xp, to_xp):
    rng = make_rng(7)
    w = _weights(rng, [2, 4, 1])
    x = rng.normal(size=(3, 2))
    e_np = MLPEnergy(w, "tanh")
    e_xp = MLPEnergy([(to_xp(a), to_xp(b)) for a, b in w], "tanh")
    s, lap = e_xp.score_and_laplacian(to_xp(x))
    s_np, lap_np = e_np.score_and_laplacian(x)
    np.testing.assert_allclose(np.asarray(s), s_np, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(lap), lap_np, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(e_xp.score(to_xp(x))), s_np, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(e_xp(to_xp(x))), e_np(x), rtol=1e-12)
    for f, kw in ((double_well_energy, {}), (ring_energy, {}), (banana_energy, {}),
                  (double_well_score, {}), (ring_score, {}), (banana_score, {})):
        np.testing.assert_allclose(np.asarray(f(to_xp(x), **kw)), f(x, **kw), rtol=1e-12)


# ---------------------------------------------------------------------------------- bad input

def _good():
    return [(np.ones((2, 3)), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))]


@pytest.mark.parametrize("weights, exc, match", [
    ("abc", TypeError, "`weights` must be a list"),
    ([], ValueError, "must not be empty"),
    ([np.ones((2, 1))], ValueError, "even length"),
    ([(np.ones((2, 1)),)], ValueError, "must be a \\(W, b\\) pair"),
    ([(np.ones(2), np.zeros(1))], ValueError, "W` must have 2 dimension"),
    ([(np.ones((2, 1)), np.zeros(2))], ValueError, "b` must have shape \\(1,\\)"),
    ([(np.ones((2, 3)), np.zeros(3)), (np.ones((2, 1)), np.zeros(1))], ValueError, "3 rows"),
    ([(np.ones((2, 3)), np.zeros(3))], ValueError, "must have 1 output"),
    ([(np.full((2, 1), np.nan), np.zeros(1))], ValueError, "finite"),
    ([(np.array([["a"], ["b"]]), np.zeros(1))], TypeError, "real array"),
])
def test_bad_weights(weights, exc, match):
    with pytest.raises(exc, match=match):
        MLPEnergy(weights)
    with pytest.raises(exc, match=match):
        NoiseConditionalMLP(weights)


def test_bad_arguments():
    e = MLPEnergy(_good())
    with pytest.raises(ValueError, match="`activation` must be one of"):
        MLPEnergy(_good(), "relu")
    with pytest.raises(TypeError, match="`activation` must be a string"):
        MLPEnergy(_good(), 3)
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 2\)"):
        e(np.ones((3, 3)))
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        e.score(np.ones(2))
    with pytest.raises(ValueError, match="`x` must be finite"):
        e.score_and_laplacian(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="`x` must not be empty"):
        e(np.ones((0, 2)))
    net = NoiseConditionalMLP(_good())
    x = np.zeros((2, 1))
    with pytest.raises(ValueError, match="`sigma` must be > 0"):
        net(x, 0.0)
    with pytest.raises(ValueError, match="`sigma` must be > 0"):
        net.score(x, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"`sigma` must be a scalar or have shape \(2,\)"):
        net.score_and_laplacian(x, np.ones(3))
    with pytest.raises(ValueError, match="`sigma` must be finite"):
        net(x, np.inf)
    with pytest.raises(TypeError, match="`sigma` must be"):
        net(x, "1")
    with pytest.raises(TypeError, match="`scale_by_sigma` must be a bool"):
        NoiseConditionalMLP(_good(), scale_by_sigma=1)
    with pytest.raises(ValueError, match="d \\+ 1 >= 2 inputs"):
        NoiseConditionalMLP([(np.ones((1, 1)), np.zeros(1))])
    with pytest.raises(ValueError, match=r"`layer_sizes` must end in 1"):
        random_mlp_weights([2, 3], make_seed(0))
    with pytest.raises(ValueError, match=r"`layer_sizes` must have at least 2"):
        random_mlp_weights([1], make_seed(0))
    with pytest.raises(ValueError, match=r"`layer_sizes\[1\]` must be >= 1"):
        random_mlp_weights([2, 0, 1], make_seed(0))
    with pytest.raises(TypeError, match="`layer_sizes` must be a sequence"):
        random_mlp_weights(3, make_seed(0))
    with pytest.raises(ValueError, match="`bias_scale` must be >= 0"):
        random_mlp_weights([2, 1], make_seed(0), bias_scale=-1.0)
    with pytest.raises(TypeError, match="`rng` must be"):
        random_mlp_weights([2, 1], "seed")
    with pytest.raises(ValueError, match="must have 1 output"):
        flatten_weights([(np.ones((2, 3)), np.zeros(3))])
    with pytest.raises(TypeError, match="`weights` must be a list"):
        flatten_weights(np.ones((2, 1)))


def test_bad_toy_arguments():
    x = np.zeros((2, 2))
    with pytest.raises(ValueError, match="`barrier` must be > 0"):
        double_well_energy(x, barrier=0.0)
    with pytest.raises(ValueError, match="`barrier` must be finite"):
        double_well_score(x, barrier=np.nan)
    with pytest.raises(ValueError, match="`radius` must be > 0"):
        ring_energy(x, radius=-1.0)
    with pytest.raises(ValueError, match="`width` must be > 0"):
        ring_score(x, width=0.0)
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 2\)"):
        banana_energy(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`b` must be > 0"):
        banana_score(x, b=0.0)
    with pytest.raises(TypeError, match="`a` must be a real number"):
        banana_energy(x, a="1")
    with pytest.raises(ValueError, match="`b` must be > 0"):
        banana_log_z(-2.0)
    with pytest.raises(ValueError, match="`x` must be finite"):
        ring_energy(np.array([[np.inf, 0.0]]))


# -- refebm.energies.tanh: the output-form derivative rule --------------------------------------

def test_tanh_value_and_derivatives_equal_autograd_numpy_tanh():
    # Two ways: refebm's rule 1 - y^2 against autograd's own 1 / cosh^2 rule, to orders 1-3, in
    # both modes. The output form's error is absolute (about 2^-52 per order, scaled by the size
    # of the derivative's polynomial in y: |d^3/da^3 tanh| <= 2), so atol, not rtol.
    a = np.linspace(-25.0, 25.0, 401)
    np.testing.assert_array_equal(energies.tanh(a), np.tanh(a))
    ours, theirs = energies.tanh, anp.tanh
    for order in (1, 2, 3):
        ours, theirs = autograd.elementwise_grad(ours), autograd.elementwise_grad(theirs)
        np.testing.assert_allclose(ours(a), theirs(a), rtol=0, atol=2e-15)
    jvp = autograd.make_jvp(energies.tanh)(a)(np.ones_like(a))[1]
    np.testing.assert_allclose(jvp, 1.0 / np.cosh(a) ** 2, rtol=0, atol=4e-16)
    check_grads(energies.tanh, modes=["fwd", "rev"], order=3)(np.array([-1.3, 0.2, 2.5]))


def test_tanh_energy_gives_the_same_score_matching_loss_and_gradient():
    # the generic autograd path through an energy written with either tanh: the same numbers
    # to rounding (the loss is a second and its gradient a third derivative of the energy)
    from refebm.objectives import score_matching_loss

    rng = make_rng(3)
    weights = random_mlp_weights([3, 8, 8, 1], rng, bias_scale=0.1)
    x = rng.normal(size=(20, 3))

    def plain(w, act):
        def energy(y):
            h = y
            for m, b in w[:-1]:
                h = act(h @ m + b)
            return (h @ w[-1][0] + w[-1][1])[:, 0]
        return energy

    results = [autograd.value_and_grad(lambda w: score_matching_loss(plain(w, act), x))(weights)
               for act in (energies.tanh, anp.tanh)]
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    def flat(grads):
        return np.concatenate([np.ravel(g) for g in flatten_weights(grads)])

    np.testing.assert_allclose(flat(results[0][1]), flat(results[1][1]), rtol=1e-10, atol=1e-13)
    mlp_loss = score_matching_loss(MLPEnergy(weights, "tanh"), x)
    np.testing.assert_allclose(results[0][0], mlp_loss, rtol=1e-12)


def test_tanh_other_namespaces(xp, to_xp):
    a = np.array([-2.0, 0.0, 0.7])
    got = energies.tanh(to_xp(a))
    assert type(got) is type(to_xp(a))
    np.testing.assert_allclose(np.asarray(got), np.tanh(a), rtol=1e-15)


@pytest.mark.parametrize("bad", ["x", None, np.array(["a"]), 1 + 2j, np.array([1j])])
def test_tanh_bad_input(bad):
    with pytest.raises(TypeError, match=r"`a` must be a real array or number"):
        energies.tanh(bad)


@pytest.mark.parametrize("sigma", [0.5, np.float32(0.5), np.full(3, 0.5, np.float32)])
def test_noise_conditional_mlp_keeps_float32(sigma):
    # the dtype rule: float32 weights and points stay float32; a Python sigma takes their dtype
    w = [(np.array([[0.5, -0.3], [0.1, 0.4], [0.2, 0.1]], np.float32), np.zeros(2, np.float32)),
         (np.array([[0.7], [-0.2]], np.float32), np.zeros(1, np.float32))]
    net = NoiseConditionalMLP(w)
    x = np.array([[0.1, 0.2], [0.3, -0.4], [1.0, 0.0]], np.float32)
    assert net.score(x, sigma).dtype == np.float32
    assert net.energy(x, sigma).dtype == np.float32
    w64 = [(a.astype(np.float64), b.astype(np.float64)) for a, b in w]
    ref = NoiseConditionalMLP(w64).score(x.astype(np.float64), 0.5)
    np.testing.assert_allclose(net.score(x, sigma), ref, rtol=1e-5)
