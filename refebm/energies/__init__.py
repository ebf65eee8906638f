r"""Free-form energies: a NumPy MLP with a one-pass score and Laplacian, and classic toys.

Convention: \(p(x) = e^{-E(x)} / Z\); the lectures' \(f = -E\). Every energy here maps points
``x`` of shape ``(n, d)`` to ``(n,)``; every score is \(s = \nabla_x \log p = -\nabla_x E\),
shape ``(n, d)``; every "laplacian" is the trace of the Hessian of \(\log p\),
\(\Delta \log p = -\Delta E\) (the same quantity as [`refebm.diff.hessian_trace`][refebm.diff.hessian_trace]).

[`MLPEnergy`][refebm.energies.MLPEnergy] holds an explicit list of weights, so a network trained in another framework
can be loaded and checked value for value. Its [`MLPEnergy.score_and_laplacian`][refebm.energies.MLPEnergy.score_and_laplacian] computes
the score and the Laplacian in one forward pass (forward-mode second derivatives), which is what
exact score matching (D15) needs; it is also differentiable by autograd with respect to the
weights, so the gradient of a score-matching loss flows through it.

Weight layout
-------------
``weights`` is a list of ``(W, b)`` pairs, ``W`` of shape ``(in, out)`` and ``b`` of shape
``(out,)``, applied as ``h @ W + b`` (a flat list ``[W0, b0, W1, b1, ...]`` is accepted too).
Every layer but the last is followed by the activation; the last layer has ``out = 1`` and its
output is the energy. So ``[(W0, b0), (W1, b1), (W2, b2)]`` with shapes ``(d, 64)``,
``(64, 64)``, ``(64, 1)`` is the energy \(E(x) = \phi(\phi(x W_0 + b_0) W_1 + b_1) W_2 + b_2\).

* PyTorch ``nn.Linear`` stores ``weight`` as ``(out, in)`` and computes ``x @ weight.T + bias``:
  transpose it, ``[(m.weight.detach().double().numpy().T, m.bias.detach().double().numpy())
  for m in seq if isinstance(m, torch.nn.Linear)]``. ``nn.Tanh``, ``nn.Softplus`` (beta 1) and
  ``nn.SiLU`` are ``"tanh"``, ``"softplus"`` and ``"swish"``.
* Flax ``nn.Dense`` and Haiku ``hk.Linear`` store ``kernel``/``w`` as ``(in, out)`` already:
  ``[(np.asarray(p[k]["kernel"], dtype=float), np.asarray(p[k]["bias"], dtype=float)) for k in
  ("Dense_0", "Dense_1", "Dense_2")]`` for a Flax parameter dict ``p = params["params"]``.
  Equinox ``eqx.nn.Linear`` stores ``weight`` as ``(out, in)``: transpose it like PyTorch's.
"""


from .activations import tanh
from .mlp import (
                  ACTIVATIONS,
                  MLPEnergy,
                  NoiseConditionalMLP,
                  ScoreAndLaplacian,
                  flatten_weights,
                  random_mlp_weights,
)
from .toys import (
                  banana_energy,
                  banana_log_z,
                  banana_score,
                  double_well_energy,
                  double_well_score,
                  ring_energy,
                  ring_score,
)

__all__ = [
    "ACTIVATIONS",
    "MLPEnergy",
    "NoiseConditionalMLP",
    "ScoreAndLaplacian",
    "random_mlp_weights",
    "flatten_weights",
    "tanh",
    "double_well_energy",
    "double_well_score",
    "ring_energy",
    "ring_score",
    "banana_energy",
    "banana_score",
    "banana_log_z",
]
