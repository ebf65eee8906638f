r"""The MLP energy and its noise-conditional variant, with a one-pass score and Laplacian.

Convention: \(p = e^{-E}/Z\) (the lectures' \(f = -E\)); scores \(\nabla_x \log p =
-\nabla_x E\); "laplacian" \(\Delta \log p = -\Delta E\). The weight layout is described in
[`refebm.energies`][refebm.energies].
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .._backend import array_namespace, to_numpy

__all__ = ["ACTIVATIONS", "ScoreAndLaplacian", "MLPEnergy", "NoiseConditionalMLP",
           "random_mlp_weights", "flatten_weights"]

ACTIVATIONS = ("tanh", "softplus", "swish")


class ScoreAndLaplacian(NamedTuple):
    r"""The score \(\nabla_x \log p\), ``(n, d)``, and \(\Delta \log p = -\Delta E\), ``(n,)``."""

    score: object
    laplacian: object


# ----------------------------------------------------------------------------------------
# activations with their first and second derivatives
# ----------------------------------------------------------------------------------------

def _sigmoid(a, xp):
    return 0.5 * (1.0 + xp.tanh(0.5 * a))  # no overflow for large |a|


def _activation(name, a, xp, order):
    r"""\(\phi(a)\) and its first ``order`` derivatives, as a tuple of ``order + 1`` arrays."""
    if name == "tanh":
        t = xp.tanh(a)
        d1 = 1.0 - t * t
        out = (t, d1, -2.0 * t * d1)
    elif name == "softplus":
        sig = _sigmoid(a, xp)
        value = xp.logaddexp(xp.zeros_like(a), a)  # log(1 + e^a) without overflow
        out = (value, sig, sig * (1.0 - sig))
    else:  # swish (SiLU): a * sigmoid(a)
        sig = _sigmoid(a, xp)
        dsig = sig * (1.0 - sig)
        out = (a * sig, sig + a * dsig, dsig * (2.0 + a * (1.0 - 2.0 * sig)))
    return out[: order + 1]


# ----------------------------------------------------------------------------------------
# weights
# ----------------------------------------------------------------------------------------

def _layers_iv(weights, in_dim=None, name="weights"):
    """``weights`` as a list of ``(W, b)`` pairs with chained shapes ending in one output."""
    raw = getval(weights)
    if not isinstance(raw, (list, tuple)):
        raise TypeError(
            f"`{name}` must be a list of (W, b) pairs or a flat list [W0, b0, W1, b1, ...], "
            f"got {_v.show(weights)}")
    if len(raw) == 0:
        raise ValueError(f"`{name}` must not be empty, got {_v.show(weights)}")
    paired = isinstance(raw[0], (list, tuple))
    if paired:
        pairs = []
        for i in range(len(raw)):
            if not isinstance(raw[i], (list, tuple)) or len(raw[i]) != 2:
                raise ValueError(f"`{name}[{i}]` must be a (W, b) pair, got {_v.show(raw[i])}")
            pairs.append((weights[i][0], weights[i][1]))
    else:
        if len(raw) % 2:
            raise ValueError(
                f"`{name}` as a flat list must have an even length [W0, b0, W1, b1, ...], "
                f"got length {len(raw)}")
        pairs = [(weights[2 * i], weights[2 * i + 1]) for i in range(len(raw) // 2)]
    layers = []
    prev = in_dim
    for i, (w, b) in enumerate(pairs):
        w = _v.real_array(f"{name}[{i}] W", w, ndim=2)
        b = _v.real_array(f"{name}[{i}] b", b, ndim=1)
        w_shape, b_shape = np.shape(getval(w)), np.shape(getval(b))
        if prev is not None and w_shape[0] != prev:
            raise ValueError(
                f"`{name}[{i}] W` must have {prev} rows (the width of the layer before), got "
                f"shape {w_shape}")
        if b_shape[0] != w_shape[1]:
            raise ValueError(
                f"`{name}[{i}] b` must have shape ({w_shape[1]},) to match W of shape {w_shape}, "
                f"got shape {b_shape}")
        prev = w_shape[1]
        layers.append((w, b))
    if prev != 1:
        raise ValueError(
            f"the last layer of `{name}` must have 1 output (the energy), got {prev}")
    return layers


def random_mlp_weights(layer_sizes, rng, *, bias_scale=0.0):
    r"""Glorot-normal weights for an MLP energy with the given layer sizes.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[d, width_1, ..., width_k, 1]``: input dimension, hidden widths, and the output 1.
    rng : numpy.random.Generator or int
        Source of the draws.
    bias_scale : float, optional
        Standard deviation of the biases (0 gives zero biases).

    Returns
    -------
    weights : list of (W, b)
        ``W`` of shape ``(in, out)`` drawn from \(\mathcal N(0, 2 / (\text{in} + \text{out}))\),
        ``b`` of shape ``(out,)`` from \(\mathcal N(0, \text{bias\_scale}^2)\).

    Math
    ----
    Glorot and Bengio (2010), normal variant: \(\operatorname{Var} W_{ij} = 2 / (n_\text{in} +
    n_\text{out})\).

    Examples
    --------
    >>> from refebm.energies import random_mlp_weights
    >>> [w.shape for w, b in random_mlp_weights([2, 8, 1], 0)]
    [(2, 8), (8, 1)]
    """
    gen = _v.rng(rng)
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
        raise TypeError(f"`layer_sizes` must be a sequence of ints, got {_v.show(layer_sizes)}")
    sizes = [_v.integer(f"layer_sizes[{i}]", s, minimum=1) for i, s in enumerate(layer_sizes)]
    if len(sizes) < 2:
        raise ValueError(f"`layer_sizes` must have at least 2 entries [d, ..., 1], got {sizes}")
    if sizes[-1] != 1:
        raise ValueError(f"`layer_sizes` must end in 1 (the energy), got {sizes}")
    _v.scalar("bias_scale", bias_scale, low=0.0)
    out = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = gen.normal(0.0, math.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))
        b = gen.normal(0.0, 1.0, size=n_out) * float(bias_scale)
        out.append((w, b))
    return out


def flatten_weights(weights):
    """The flat list ``[W0, b0, W1, b1, ...]`` of a list of ``(W, b)`` pairs (or a flat list).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.energies import flatten_weights
    >>> w = [(np.ones((2, 3)), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))]
    >>> [a.shape for a in flatten_weights(w)]
    [(2, 3), (3,), (3, 1), (1,)]
    """
    return [a for pair in _layers_iv(weights) for a in pair]


# ----------------------------------------------------------------------------------------
# the forward pass: value, Jacobian and Laplacian through the layers
# ----------------------------------------------------------------------------------------

def _first_layer(layers, x, extra):
    """Pre-activation of the first layer and the rows of ``W0`` that multiply ``x``."""
    d = np.shape(getval(x))[1]
    w0, b0 = layers[0]
    if extra is None:
        return x @ w0 + b0, w0
    w_x = w0[:d, :]
    return x @ w_x + extra @ w0[d:, :] + b0, w_x


def _forward(layers, activation, x, xp, *, extra=None, order=0):
    r"""Energy of an MLP at ``x`` and, for ``order=2``, \(\nabla_x E\) and \(\Delta E\).

    ``extra`` (shape ``(n, k)``) are inputs appended after ``x`` that do not depend on ``x``
    (the noise level of [`NoiseConditionalMLP`][refebm.energies.NoiseConditionalMLP]). Forward mode: with \(a = h W + b\),
    \(h' = \phi(a)\),

    \[
        J_a = J_h W, \quad L_a = L_h W, \qquad
        J_{h'} = \phi'(a) \odot J_a, \quad
        L_{h'} = \phi'(a) \odot L_a + \phi''(a) \odot \textstyle\sum_k (J_a)_{k}^2,
    \]

    where \(J = \partial a / \partial x\) is stored as ``(n, d, width)`` and \(L = \sum_k
    \partial^2 a / \partial x_k^2\) as ``(n, width)``.
    """
    n, d = np.shape(getval(x))
    a, w_x = _first_layer(layers, x, extra)
    jac = None  # None while J_a is the constant w_x of the first layer (then L_a = 0)
    lap = None
    for w, b in layers[1:]:
        if order == 0:
            (h,) = _activation(activation, a, xp, 0)
        else:
            h, d1, d2 = _activation(activation, a, xp, 2)
            width = np.shape(getval(a))[1]
            if jac is None:
                lap = d2 * xp.reshape(xp.sum(w_x * w_x, axis=0), (1, width))
                jac = xp.reshape(d1, (n, 1, width)) * xp.reshape(w_x, (1, d, width))
            else:
                lap = d1 * lap + d2 * xp.sum(jac * jac, axis=1)
                jac = xp.reshape(d1, (n, 1, width)) * jac
        a = h @ w + b
        if order:
            width_out = np.shape(getval(w))[1]
            jac = xp.reshape(xp.reshape(jac, (n * d, width)) @ w, (n, d, width_out))
            lap = lap @ w
    energy = xp.reshape(a, (n,))
    if order == 0:
        return energy
    if jac is None:  # a single linear layer: E = x w + b
        return energy, xp.zeros_like(x) + xp.reshape(w_x, (1, d)), xp.zeros_like(energy)
    return energy, xp.reshape(jac, (n, d)), xp.reshape(lap, (n,))


def _backward_score(layers, activation, x, xp, *, extra=None):
    r"""\(\nabla_x E\) by hand-written reverse mode (one forward, one backward sweep)."""
    a, w_x = _first_layer(layers, x, extra)
    slopes = []
    for w, b in layers[1:]:
        h, d1 = _activation(activation, a, xp, 1)
        slopes.append(d1)
        a = h @ w + b
    g = xp.ones_like(a)  # dE/da of the output layer, (n, 1)
    for (w, _), d1 in zip(reversed(layers[1:]), reversed(slopes)):
        g = (g @ w.T) * d1  # dE/da of the layer below
    return g @ w_x.T


def _activation_iv(activation):
    if not isinstance(activation, str):
        raise TypeError(f"`activation` must be a string, one of {ACTIVATIONS}, got "
                        f"{_v.show(activation)}")
    return _v.one_of("activation", activation, ACTIVATIONS)


def _torch_layout_layers(weights, biases, weight_name="weights[{i}]",
                         bias_name="biases[{i}]", positions=None):
    """``[(W.T, b), ...]`` from PyTorch's layout: ``weights[i]`` ``(out, in)``, ``biases[i]``
    ``(out,)``; the last layer of one output (``(1, in)`` or ``(in,)``, bias ``(1,)`` or ``()``).
    Errors name layer ``i`` as ``weight_name.format(i=positions[i])`` (default: ``i``)."""
    for name, seq in (("weights", weights), ("biases", biases)):
        raw = getval(seq)
        _v.not_foreign(name, raw)
        if not isinstance(raw, (list, tuple)):
            raise TypeError(
                f"`{name}` must be a list of arrays, one per layer (nn.Linear layout: weight "
                f"(out, in), bias (out,)), got {_v.show(seq)}")
        if len(raw) == 0:
            raise ValueError(
                f"`{name}` must not be empty (one array per layer), got {_v.show(seq)}")
    if len(getval(weights)) != len(getval(biases)):
        raise ValueError(
            f"`biases` must have one array per layer of `weights` ({len(getval(weights))} "
            f"layers), got {len(getval(biases))}")
    k = len(getval(weights))
    pos = list(range(k)) if positions is None else list(positions)
    layers = []
    prev = None
    for i in range(k):
        last = i == k - 1
        wn, bn = weight_name.format(i=pos[i]), bias_name.format(i=pos[i])
        w = _v.real_array(wn, weights[i], ndim=(1, 2) if last else 2)
        b = _v.real_array(bn, biases[i], ndim=(0, 1) if last else 1)
        w_shape, b_shape = np.shape(getval(w)), np.shape(getval(b))
        if len(w_shape) == 1:  # the last layer as a vector (in,)
            w = w[None, :]
            w_shape = (1,) + w_shape
        if prev is not None and w_shape[1] != prev[1]:
            raise ValueError(
                f"`{wn}` must have {prev[1]} columns (`in` = the `out` of "
                f"`{weight_name.format(i=pos[i - 1])}` of shape {prev[0]}; nn.Linear layout "
                f"(out, in)), got shape {w_shape}")
        if len(b_shape) == 0:
            b = b[None]
            b_shape = (1,)
        if b_shape != (w_shape[0],):
            raise ValueError(
                f"`{bn}` must have shape ({w_shape[0]},) to match `{wn}` of shape {w_shape} "
                f"(out, in), got shape {b_shape}")
        if last and w_shape[0] != 1:
            raise ValueError(
                f"`{wn}`, the last layer, must have 1 output row (its output is the energy; "
                f"MLPEnergy has a scalar output), got shape {w_shape}")
        prev = (w_shape, w_shape[0])
        layers.append((w.T, b))
    return layers


_TORCH_MODULE_NAMES = ("module[{i}].weight", "module[{i}].bias")
_TORCH_ACTIVATIONS = {"Tanh": "tanh", "Softplus": "softplus", "SiLU": "swish"}


def _is_torch_object(value):
    return any(str(getattr(c, "__module__", "")).split(".")[0] == "torch"
               for c in type(value).__mro__)


def _torch_sequential_arrays(module):
    """``(weights, biases, activation, positions)`` of a ``torch.nn.Sequential``: float64 NumPy
    copies in ``nn.Linear`` layout, and each ``nn.Linear``'s position in the Sequential."""
    expect = ("a torch.nn.Sequential of nn.Linear layers with one activation kind between them "
              "(nn.Tanh, nn.Softplus, nn.SiLU)")
    if not _is_torch_object(module):
        raise TypeError(
            f"`module` must be {expect}, got {_v.show(module)}; for arrays in nn.Linear layout "
            "use MLPEnergy.from_torch_layout")
    import torch  # only now: the value is a torch object, so torch is installed

    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(
            f"`module` must be {expect}, got a {type(module).__name__} (its forward cannot be "
            "read layer by layer; pass its weights to MLPEnergy.from_torch_layout)")
    children = list(module)
    if not children:
        raise ValueError(f"`module` must not be an empty Sequential: {expect}")
    weights, biases, positions = [], [], []
    activation, act_at = None, None
    prev_linear = None
    for i, layer in enumerate(children):
        if isinstance(layer, torch.nn.Linear):
            if prev_linear is True:
                raise ValueError(
                    f"`module[{i}]` is an nn.Linear right after the nn.Linear `module[{i - 1}]`: "
                    f"MLPEnergy applies the activation between every two layers ({expect})")
            w = layer.weight.detach().to("cpu", torch.float64).numpy()
            weights.append(np.array(w, dtype=np.float64))
            if layer.bias is None:
                biases.append(np.zeros(w.shape[0]))
            else:
                b = layer.bias.detach().to("cpu", torch.float64).numpy()
                biases.append(np.array(b, dtype=np.float64))
            positions.append(i)
            prev_linear = True
            continue
        kind = _TORCH_ACTIVATIONS.get(type(layer).__name__)
        if kind is None or type(layer).__module__.split(".")[0] != "torch":
            raise TypeError(
                f"`module[{i}]` is {layer!r}, which MLPEnergy does not support: {expect}")
        if kind == "softplus" and float(layer.beta) != 1.0:
            raise ValueError(
                f"`module[{i}]` is {layer!r}: MLPEnergy's softplus has beta 1, got beta "
                f"{float(layer.beta)!r}")
        if prev_linear is not True:
            where = "first" if prev_linear is None else "right after another activation"
            raise ValueError(
                f"`module[{i}]` ({layer!r}) comes {where}: every activation must follow an "
                f"nn.Linear ({expect})")
        if activation is not None and kind != activation:
            raise ValueError(
                f"`module[{i}]` is {layer!r} but `module[{act_at}]` is "
                f"{children[act_at]!r}: MLPEnergy applies one activation kind throughout")
        activation, act_at = kind, i
        prev_linear = False
    if prev_linear is not True:
        raise ValueError(
            f"`module[{len(children) - 1}]` ({children[-1]!r}) follows the last nn.Linear: the "
            "last layer's output is the energy, with no activation after it")
    return weights, biases, activation or "tanh", positions


def _check_energy_out(e, n):
    _v.energy_values("energy", e, n, allow_inf=False)
    return e


class MLPEnergy:
    r"""A multilayer-perceptron energy \(E_\theta : \mathbb R^d \to \mathbb R\), explicit weights.

    Parameters
    ----------
    weights : list of (W, b) pairs, or flat list [W0, b0, W1, b1, ...]
        ``W`` of shape ``(in, out)`` (PyTorch's ``nn.Linear.weight`` transposed), ``b`` of
        shape ``(out,)``; the last layer has one output. See the module docstring for loading a
        PyTorch ``nn.Sequential`` or a JAX pytree. Autograd boxes are accepted, so
        ``autograd.grad(lambda w: loss(MLPEnergy(w), x))(weights)`` differentiates through it.
    activation : {"tanh", "softplus", "swish"}
        Applied after every layer but the last.

    Notes
    -----
    An instance is an energy: ``MLPEnergy(w)(x)`` is ``MLPEnergy(w).energy(x)``. Its methods run
    on any array namespace (the weights and ``x`` must share it).

    Math
    ----
    \(E(x) = h_K W_K + b_K\) with \(h_0 = x\), \(h_k = \phi(h_{k-1} W_{k-1} + b_{k-1})\). The
    score is \(s = -\nabla_x E\) (D12) and the Laplacian \(\Delta \log p = -\Delta E\) is the
    Hessian trace of score matching (D15), computed in one forward pass by
    [`score_and_laplacian`][refebm.energies.MLPEnergy.score_and_laplacian].

    Examples
    --------
    A one-hidden-unit tanh network \(E(x) = \tanh(x_1 + x_2)\):

    >>> import numpy as np
    >>> from refebm.energies import MLPEnergy
    >>> e = MLPEnergy([(np.ones((2, 1)), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
    >>> bool(np.isclose(e(np.array([[0.25, 0.25]]))[0], np.tanh(0.5)))
    True
    """

    __slots__ = ("layers", "activation", "d")

    def __init__(self, weights, activation="tanh"):
        self.activation = _activation_iv(activation)
        self.layers = _layers_iv(weights)
        self.d = int(np.shape(getval(self.layers[0][0]))[0])

    def __repr__(self):
        shapes = [tuple(np.shape(getval(w))) for w, _ in self.layers]
        return f"MLPEnergy(layers={shapes}, activation={self.activation!r})"

    @classmethod
    def from_torch_layout(cls, weights, biases, activation="tanh"):
        r"""An MLP energy from weights in PyTorch's ``nn.Linear`` layout.

        Parameters
        ----------
        weights : list of arrays
            ``weights[i]`` of shape ``(out, in)``, as ``nn.Linear.weight``; the layer computes
            ``h @ weights[i].T + biases[i]``. The last layer has one output (its output is the
            energy): shape ``(1, in)``, or a vector ``(in,)``. MLPEnergy has a scalar output
            only, so a last layer with ``out > 1`` is an error.
        biases : list of arrays
            ``biases[i]`` of shape ``(out,)``, one per layer; the last may be a scalar.
        activation : {"tanh", "softplus", "swish"}
            ``nn.Tanh``, ``nn.Softplus`` (beta 1) and ``nn.SiLU``, after every layer but the last.

        Returns
        -------
        MLPEnergy
            With ``W = weights[i].T`` (a view, no copy); the dtype is kept (float32 stays
            float32, integers become float64).

        Notes
        -----
        NumPy arrays only: a torch tensor or JAX array raises the standard ``TypeError``
        naming ``weights[i]`` or ``biases[i]``. For a ``torch.nn.Sequential`` use
        [`from_torch`][refebm.energies.MLPEnergy.from_torch].

        Examples
        --------
        \(E(x) = 2 \tanh(x_1 - x_2) + 0.5\):

        >>> import numpy as np
        >>> from refebm.energies import MLPEnergy
        >>> e = MLPEnergy.from_torch_layout([np.array([[1.0, -1.0]]), np.array([[2.0]])],
        ...                                 [np.zeros(1), np.array([0.5])], "tanh")
        >>> e
        MLPEnergy(layers=[(2, 1), (1, 1)], activation='tanh')
        >>> bool(np.isclose(e(np.array([[0.5, 0.25]]))[0], 2 * np.tanh(0.25) + 0.5))
        True
        """
        activation = _activation_iv(activation)
        return cls(_torch_layout_layers(weights, biases), activation)

    @classmethod
    def from_torch(cls, module):
        r"""An MLP energy from a ``torch.nn.Sequential`` of ``nn.Linear`` and one activation.

        Parameters
        ----------
        module : torch.nn.Sequential
            ``nn.Linear`` layers with one activation kind between them (``nn.Tanh``,
            ``nn.Softplus`` with beta 1, or ``nn.SiLU``), none after the last ``nn.Linear``,
            which has one output (the energy). A ``Linear`` without bias counts as a zero bias.

        Returns
        -------
        MLPEnergy
            Its weights float64 NumPy copies of the module's (``weight.T`` and ``bias``), so
            later training of ``module`` does not change it.

        Notes
        -----
        torch is imported only when ``module`` is a torch object; it is not a dependency.
        ``nn.Softplus`` returns its input unchanged above ``threshold`` (20), where the exact
        softplus differs from it by less than \(e^{-20} \approx 2 \times 10^{-9}\); refebm
        computes the exact softplus. Any other layer (``Dropout``, ``ReLU``, a nested
        ``Sequential``, two activation kinds, an activation after the last layer) is a
        ``TypeError`` or ``ValueError`` naming it as ``module[i]``.

        Examples
        --------
        With torch installed (``tests/test_energies_torch_layout.py`` checks it against
        torch's own forward pass and autograd):

        >>> import torch                                                # doctest: +SKIP
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(),
        ...                           torch.nn.Linear(16, 1))          # doctest: +SKIP
        >>> MLPEnergy.from_torch(net)                                   # doctest: +SKIP
        MLPEnergy(layers=[(2, 16), (16, 1)], activation='tanh')
        """
        weights, biases, activation, positions = _torch_sequential_arrays(module)
        return cls(_torch_layout_layers(weights, biases, *_TORCH_MODULE_NAMES,
                                        positions=positions), activation)

    def _x_iv(self, x):
        xp = array_namespace(x, getval(self.layers[0][0]))
        x = _v.points("x", x, d=self.d, xp=xp)
        return x, xp

    def __call__(self, x):
        return self.energy(x)

    def energy(self, x):
        r"""\(E(x)\), shape ``(n,)``, for ``x`` of shape ``(n, d)``.

        Examples
        --------
        >>> import numpy as np
        >>> from refebm.energies import MLPEnergy
        >>> MLPEnergy([(np.full((1, 1), 2.0), np.array([1.0]))]).energy(np.array([[3.0]])).tolist()
        [7.0]
        """
        x, xp = self._x_iv(x)
        return _check_energy_out(_forward(self.layers, self.activation, x, xp), x.shape[0])

    def score(self, x):
        r"""\(s(x) = -\nabla_x E(x)\), shape ``(n, d)``, by a hand-written backward pass.

        Examples
        --------
        >>> import numpy as np
        >>> from refebm.energies import MLPEnergy
        >>> MLPEnergy([(np.array([[2.0], [-1.0]]), np.zeros(1))]).score(np.zeros((1, 2))).tolist()
        [[-2.0, 1.0]]
        """
        x, xp = self._x_iv(x)
        return -_backward_score(self.layers, self.activation, x, xp)

    def score_and_laplacian(self, x):
        r"""The score and \(\Delta \log p = -\Delta E\) in one forward pass.

        Parameters
        ----------
        x : array, shape (n, d)

        Returns
        -------
        ScoreAndLaplacian
            ``score`` \(= -\nabla_x E\), shape ``(n, d)``; ``laplacian`` \(= -\sum_i
            \partial^2 E / \partial x_i^2\), shape ``(n,)``.

        Math
        ----
        Forward-mode propagation of the value, the Jacobian \(J = \partial h / \partial x\)
        (``(n, d, width)``) and the Laplacian \(L = \sum_k \partial^2 h / \partial x_k^2\)
        (``(n, width)``) of each layer: through \(a = hW + b\), \(J_a = J_h W\), \(L_a = L_h W\);
        through \(h' = \phi(a)\), \(J_{h'} = \phi'(a) J_a\), \(L_{h'} = \phi'(a) L_a + \phi''(a)
        \sum_k (J_a)_k^2\) (chain rule twice). Cost \(O(n d \cdot \text{width}^2)\), about \(d\)
        forward passes, with no nested differentiation. Used by the exact score-matching loss
        (D15).

        Examples
        --------
        \(E = \tanh(x_1 + x_2)\) at 0: \(\nabla E = (1, 1)\), \(\Delta E = 0\).

        >>> import numpy as np
        >>> from refebm.energies import MLPEnergy
        >>> e = MLPEnergy([(np.ones((2, 1)), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
        >>> s, lap = e.score_and_laplacian(np.zeros((1, 2)))
        >>> s.tolist(), bool(lap[0] == 0.0)
        ([[-1.0, -1.0]], True)
        """
        x, xp = self._x_iv(x)
        e, grad_e, lap_e = _forward(self.layers, self.activation, x, xp, order=2)
        _check_energy_out(e, x.shape[0])
        return ScoreAndLaplacian(-grad_e, -lap_e)


def _sigma_iv(sigma, n, xp, x_dtype="float64"):
    """``sigma`` as a column ``(n, 1)``: a positive scalar or a positive ``(n,)`` array.

    Its dtype follows the dtype rule: float32 when ``sigma`` is float32, or a Python number
    beside float32 points ``x`` (Python numbers take the dtype of the arrays); else float64."""
    raw = _v.not_foreign("sigma", getval(sigma))
    if isinstance(raw, (bool, str, bytes)) or raw is None:
        raise TypeError(f"`sigma` must be a positive number or array, got {_v.show(sigma)}")
    host = to_numpy(raw)
    if host.dtype.kind not in "biuf":
        raise TypeError(f"`sigma` must be real, got {_v.show(sigma)}")
    if host.ndim > 1 or (host.ndim == 1 and host.shape[0] != n):
        raise ValueError(f"`sigma` must be a scalar or have shape ({n},), got shape {host.shape}")
    _v.positive("sigma", host)
    weak = isinstance(raw, (int, float)) and x_dtype == "float32"
    dtype = np.float32 if host.dtype == np.float32 or weak else np.float64
    column = np.broadcast_to(host.astype(dtype), (n,)).reshape(n, 1)
    return xp.asarray(np.ascontiguousarray(column))


class NoiseConditionalMLP:
    r"""A noise-conditional MLP energy \(E_\theta(x, \sigma)\) for multi-scale (NCSN) training.

    Parameters
    ----------
    weights : list of (W, b) pairs, or flat list
        As for [`MLPEnergy`][refebm.energies.MLPEnergy], with a first layer of ``d + 1`` inputs: the network reads
        \([x, \log \sigma]\) (the last input row of ``W0`` multiplies \(\log\sigma\)).
    activation : {"tanh", "softplus", "swish"}
    scale_by_sigma : bool, optional
        If true (default), \(E(x, \sigma) = g([x, \log\sigma]) / \sigma\), so the score is the
        network's score divided by \(\sigma\) (the scaling recommended for NCSN score networks,
        Song and Ermon 2020, "Improved techniques"); if false, \(E = g([x, \log \sigma])\).

    Math
    ----
    D18: one network for all noise levels; \(s_\theta(x, \sigma) = -\nabla_x E_\theta(x,
    \sigma)\) estimates the score of the data convolved with \(\mathcal N(0, \sigma^2 I)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.energies import NoiseConditionalMLP
    >>> net = NoiseConditionalMLP([(np.array([[1.0], [0.0]]), np.zeros(1))])  # g = x
    >>> net.score(np.array([[5.0]]), 2.0).tolist()
    [[-0.5]]
    """

    __slots__ = ("layers", "activation", "d", "scale_by_sigma")

    def __init__(self, weights, activation="tanh", scale_by_sigma=True):
        self.activation = _activation_iv(activation)
        self.layers = _layers_iv(weights)
        if not isinstance(scale_by_sigma, (bool, np.bool_)):
            raise TypeError(f"`scale_by_sigma` must be a bool, got {_v.show(scale_by_sigma)}")
        self.scale_by_sigma = bool(scale_by_sigma)
        d_in = int(np.shape(getval(self.layers[0][0]))[0])
        if d_in < 2:
            raise ValueError(
                "the first layer of `weights` must have d + 1 >= 2 inputs ([x, log sigma]), "
                f"got {d_in}")
        self.d = d_in - 1

    def __repr__(self):
        shapes = [tuple(np.shape(getval(w))) for w, _ in self.layers]
        return (f"NoiseConditionalMLP(layers={shapes}, activation={self.activation!r}, "
                f"scale_by_sigma={self.scale_by_sigma})")

    def _iv(self, x, sigma):
        xp = array_namespace(x, getval(self.layers[0][0]))
        x = _v.points("x", x, d=self.d, xp=xp)
        n = x.shape[0]
        sig = _sigma_iv(sigma, n, xp, str(getattr(getval(x), "dtype", "float64")))
        return x, xp, sig, xp.log(sig)

    def __call__(self, x, sigma):
        return self.energy(x, sigma)

    def energy(self, x, sigma):
        r"""\(E(x, \sigma)\), shape ``(n,)``; ``sigma`` a scalar or shape ``(n,)``."""
        x, xp, sig, log_sig = self._iv(x, sigma)
        e = _forward(self.layers, self.activation, x, xp, extra=log_sig)
        if self.scale_by_sigma:
            e = e / xp.reshape(sig, (x.shape[0],))
        return _check_energy_out(e, x.shape[0])

    def score(self, x, sigma):
        r"""\(s(x, \sigma) = -\nabla_x E(x, \sigma)\), shape ``(n, d)``."""
        x, xp, sig, log_sig = self._iv(x, sigma)
        g = _backward_score(self.layers, self.activation, x, xp, extra=log_sig)
        return -g / sig if self.scale_by_sigma else -g

    def score_and_laplacian(self, x, sigma):
        r"""Score and \(\Delta_x \log p(x \mid \sigma) = -\Delta_x E(x, \sigma)\) in one pass."""
        x, xp, sig, log_sig = self._iv(x, sigma)
        e, grad_e, lap_e = _forward(self.layers, self.activation, x, xp, extra=log_sig, order=2)
        _check_energy_out(e, x.shape[0])
        if self.scale_by_sigma:
            grad_e = grad_e / sig
            lap_e = lap_e / xp.reshape(sig, (x.shape[0],))
        return ScoreAndLaplacian(-grad_e, -lap_e)
