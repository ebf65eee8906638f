"""MLPEnergy from PyTorch's layout (``from_torch_layout``) and from an ``nn.Sequential``
(``from_torch``): energies and scores against a hand-written NumPy forward pass, the standard
MLP problem's own forward pass, the existing constructor, and (with torch) torch's forward pass
and autograd."""

import numpy as np
import pytest

from refebm.energies import MLPEnergy
from refebm.testing import problems


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


ACTS = {"tanh": np.tanh, "softplus": lambda a: np.logaddexp(0.0, a),
        "swish": lambda a: a / (1.0 + np.exp(-a))}
DACTS = {"tanh": lambda a: 1.0 - np.tanh(a) ** 2,
         "softplus": lambda a: 1.0 / (1.0 + np.exp(-a)),
         "swish": lambda a: _sig(a) * (1.0 + a * (1.0 - _sig(a)))}


def _torch_layout(rng, sizes):
    ws = [rng.normal(0.0, 0.6, (n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(0.0, 0.2, n_out) for n_out in sizes[1:]]
    return ws, bs


def _numpy_forward(ws, bs, act, x):
    """Energy and its gradient in x, written out layer by layer in nn.Linear layout."""
    h, pre = x, []
    for w, b in zip(ws[:-1], bs[:-1]):
        a = h @ w.T + b
        pre.append(a)
        h = ACTS[act](a)
    energy = (h @ ws[-1].T + bs[-1])[:, 0]
    g = np.broadcast_to(ws[-1], (x.shape[0], ws[-1].shape[1]))   # dE/dh of the last hidden
    for w, a in zip(reversed(ws[:-1]), reversed(pre)):
        g = (g * DACTS[act](a)) @ w
    return energy, g


@pytest.mark.parametrize("act", ["tanh", "softplus", "swish"])
def test_from_torch_layout_matches_a_numpy_forward_pass_and_the_constructor(rng, act):
    ws, bs = _torch_layout(rng, [3, 8, 5, 1])
    x = rng.normal(size=(7, 3))
    e = MLPEnergy.from_torch_layout(ws, bs, act)
    energy, grad = _numpy_forward(ws, bs, act, x)
    np.testing.assert_allclose(e.energy(x), energy, rtol=1e-13, atol=0)
    np.testing.assert_allclose(e.score(x), -grad, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(e.score_and_laplacian(x).score, -grad, rtol=1e-13, atol=1e-15)
    ref = MLPEnergy([(w.T, b) for w, b in zip(ws, bs)], act)
    np.testing.assert_array_equal(e.energy(x), ref.energy(x))
    np.testing.assert_array_equal(e.score(x), ref.score(x))


def test_from_torch_layout_is_the_standard_mlp_problem():
    p = problems()["mlp"]
    w = p.params
    e = MLPEnergy.from_torch_layout([w["W0"], w["W1"], w["W2"]], [w["b0"], w["b1"], w["b2"]])
    np.testing.assert_allclose(e.energy(p.x), p.energy(p.x), rtol=1e-13, atol=1e-15)


def test_last_layer_as_a_vector_and_a_scalar_bias(rng):
    ws, bs = _torch_layout(rng, [2, 4, 1])
    x = rng.normal(size=(5, 2))
    full = MLPEnergy.from_torch_layout(ws, bs, "softplus")
    vec = MLPEnergy.from_torch_layout([ws[0], ws[1][0]], [bs[0], bs[1][0]], "softplus")
    np.testing.assert_array_equal(vec.energy(x), full.energy(x))
    assert repr(vec) == "MLPEnergy(layers=[(2, 4), (4, 1)], activation='softplus')"


def test_float32_weights_stay_float32(rng):
    ws, bs = _torch_layout(rng, [2, 4, 1])
    e = MLPEnergy.from_torch_layout([w.astype(np.float32) for w in ws],
                                    [b.astype(np.float32) for b in bs])
    assert e.energy(np.zeros((2, 2), np.float32)).dtype == np.float32


@pytest.mark.parametrize(("weights", "biases", "activation", "error", "match"), [
    ([np.ones((4, 2)), np.ones((1, 3))], [np.ones(4), np.ones(1)], "tanh", ValueError,
     r"`weights\[1\]` must have 4 columns .* got shape \(1, 3\)"),
    ([np.ones((4, 2)), np.ones((1, 4))], [np.ones(3), np.ones(1)], "tanh", ValueError,
     r"`biases\[0\]` must have shape \(4,\) to match `weights\[0\]` of shape \(4, 2\)"),
    ([np.ones((4, 2)), np.ones((3, 4))], [np.ones(4), np.ones(3)], "tanh", ValueError,
     r"`weights\[1\]`, the last layer, must have 1 output row .* got shape \(3, 4\)"),
    ([np.ones((4, 2)), np.ones((1, 4))], [np.ones(4)], "tanh", ValueError,
     r"`biases` must have one array per layer of `weights` \(2 layers\), got 1"),
    ([np.ones(2), np.ones((1, 4))], [np.ones(4), np.ones(1)], "tanh", ValueError,
     r"`weights\[0\]` must have 2 dimension\(s\), got shape \(2,\)"),
    ([np.ones((4, 2)), np.ones((1, 4))], [np.ones(4), np.ones(1)], "relu", ValueError,
     r"`activation` must be one of \('tanh', 'softplus', 'swish'\), got 'relu'"),
    ([], [], "tanh", ValueError, r"`weights` must not be empty"),
    (np.ones((1, 2)), [np.ones(1)], "tanh", TypeError, r"`weights` must be a list of arrays"),
    ([np.ones((1, 2))], "abc", "tanh", TypeError, r"`biases` must be a list of arrays"),
    ([np.array([[np.nan, 1.0]])], [np.ones(1)], "tanh", ValueError,
     r"`weights\[0\]` must be finite"),
])
def test_from_torch_layout_bad_input(weights, biases, activation, error, match):
    with pytest.raises(error, match=match):
        MLPEnergy.from_torch_layout(weights, biases, activation)


def test_from_torch_rejects_what_is_not_a_torch_module():
    with pytest.raises(TypeError, match=r"`module` must be a torch.nn.Sequential .* "
                                        r"use MLPEnergy.from_torch_layout"):
        MLPEnergy.from_torch([np.ones((1, 2)), np.ones(1)])


# ---- with torch ------------------------------------------------------------------------------

def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize(("act", "layer"), [("tanh", "Tanh"), ("softplus", "Softplus"),
                                            ("swish", "SiLU")])
def test_from_torch_matches_torch_forward_and_autograd(rng, act, layer):
    torch = _torch()
    torch.manual_seed(int(rng.integers(2**31)))
    a = getattr(torch.nn, layer)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), a(), torch.nn.Linear(16, 16), a(),
                              torch.nn.Linear(16, 1)).double()
    e = MLPEnergy.from_torch(net)
    assert repr(e) == f"MLPEnergy(layers=[(3, 16), (16, 16), (16, 1)], activation='{act}')"
    x = rng.normal(size=(9, 3))
    xt = torch.tensor(x, requires_grad=True)
    et = net(xt)[:, 0]
    (gt,) = torch.autograd.grad(et.sum(), xt)
    et, gt = et.detach().numpy(), gt.numpy()
    np.testing.assert_allclose(e.energy(x), et, rtol=1e-12, atol=1e-12 * np.abs(et).max())
    np.testing.assert_allclose(e.score(x), -gt, rtol=1e-12, atol=1e-12 * np.abs(gt).max())
    # the same arrays through from_torch_layout give the same model, bit for bit
    ref = MLPEnergy.from_torch_layout([m.weight.detach().numpy() for m in net[::2]],
                                      [m.bias.detach().numpy() for m in net[::2]], act)
    np.testing.assert_array_equal(e.energy(x), ref.energy(x))


def test_from_torch_copies_float64_from_float32_and_handles_no_bias(rng):
    torch = _torch()
    torch.manual_seed(int(rng.integers(2**31)))
    net = torch.nn.Sequential(torch.nn.Linear(2, 4, bias=False), torch.nn.Tanh(),
                              torch.nn.Linear(4, 1))
    e = MLPEnergy.from_torch(net)
    assert all(w.dtype == np.float64 and b.dtype == np.float64 for w, b in e.layers)
    np.testing.assert_array_equal(e.layers[0][1], np.zeros(4))
    before = e.layers[0][0].copy()
    with torch.no_grad():
        net[0].weight.add_(1.0)
    np.testing.assert_array_equal(e.layers[0][0], before)   # a copy, not a view


def test_from_torch_bad_modules():
    torch = _torch()
    nn = torch.nn
    cases = [
        (nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)), TypeError,
         r"`module\[1\]` is ReLU\(\), which MLPEnergy does not support"),
        (nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 4), nn.SiLU(), nn.Linear(4, 1)),
         ValueError, r"`module\[3\]` is SiLU\(\) but `module\[1\]` is Tanh\(\): MLPEnergy applies "
                     r"one activation kind"),
        (nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Tanh()), ValueError,
         r"`module\[3\]` \(Tanh\(\)\) follows the last nn.Linear"),
        (nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(3, 1)), ValueError,
         r"`module\[2\].weight` must have 4 columns"),
        (nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2)), ValueError,
         r"`module\[2\].weight`, the last layer, must have 1 output row"),
        (nn.Sequential(nn.Linear(2, 4), nn.Softplus(beta=2.0), nn.Linear(4, 1)), ValueError,
         r"`module\[1\]` is Softplus\(.*\): MLPEnergy's softplus has beta 1, got beta 2.0"),
        (nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1)), ValueError,
         r"`module\[1\]` is an nn.Linear right after the nn.Linear `module\[0\]`"),
        (nn.Sequential(nn.Tanh(), nn.Linear(2, 1)), ValueError, r"`module\[0\]` \(Tanh\(\)\) "
                                                                 r"comes first"),
        (nn.Sequential(), ValueError, r"`module` must not be an empty Sequential"),
        (nn.Linear(2, 1), TypeError, r"`module` must be a torch.nn.Sequential .* got a Linear"),
    ]
    for module, error, match in cases:
        with pytest.raises(error, match=match):
            MLPEnergy.from_torch(module)


def test_from_torch_layout_rejects_torch_tensors_with_the_standard_message():
    torch = _torch()
    with pytest.raises(TypeError, match=r"`weights\[0\]`.*refebm computes on NumPy"):
        MLPEnergy.from_torch_layout([torch.ones(1, 2)], [np.ones(1)])
