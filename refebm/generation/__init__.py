r"""Score-based generation on toy data (D18; Song and Ermon 2019, NCSN).

One noise-conditional network \(s_\theta(x, \sigma) \approx \nabla_x \log p_\sigma(x)\) is trained
for the data density perturbed at every level of a geometric ladder \(\sigma_1 > \dots >
\sigma_L\), \(p_\sigma = p_\text{data} * \mathcal N(0, \sigma^2 I)\), by the multi-scale
denoising score-matching objective; samples come from annealed Langevin dynamics down the
ladder. The module also measures what the samples get right: the fraction of samples in each
mode ([`mode_weights`][refebm.generation.mode_weights]), for annealed Langevin and for plain Langevin with the same model
from the same start ([`compare_samplers`][refebm.generation.compare_samplers]).

Convention: \(p(x) = e^{-E(x)} / Z\) (the lectures' \(f = -E\)); a score is \(\nabla_x \log p
= -\nabla_x E\), shape ``(n, d)``. The network is a
[`NoiseConditionalMLP`][refebm.energies.NoiseConditionalMLP], an energy \(E_\theta(x, \sigma)\) whose score is
\(-\nabla_x E_\theta\). Langevin steps use NCSN's parametrization \(x + \tfrac{\alpha}{2} s +
\sqrt{\alpha} z\), the CS236 step with \(\epsilon = \alpha / 2\)
([`refebm.samplers.langevin`][refebm.samplers]).

Why the ladder (D18). Far from the data the score of \(p\) is estimated from almost no samples,
and where two modes are separated by a region of low density the score inside each mode does
not depend on the modes' weights at all: for \(p = w\, p_1 + (1 - w)\, p_2\) with disjoint
supports, \(\nabla \log p = \nabla \log p_1\) on the support of \(p_1\), whatever \(w\). Score
matching therefore cannot see \(w\), and plain Langevin, which never crosses the gap, keeps the
proportions of its starting points. Large noise fills the gap; the weights show in the score of
\(p_\sigma\), and Langevin at that level mixes between the modes before the ladder narrows.

NumPy only (the training differentiates with autograd); [`mode_weights`][refebm.generation.mode_weights] runs on any
array namespace.

Examples
--------
>>> import numpy as np
>>> from refebm.generation import mode_weights
>>> mode_weights(np.array([[-1.0, 0.0], [2.0, 0.0], [3.0, 1.0], [0.9, 0.0]]),
...              np.array([[-1.0, 0.0], [1.0, 0.0]])).tolist()
[0.25, 0.75]
"""

from .modes import Comparison, compare_samplers, mode_weights
from .ncsn import NCSNResult, geometric_sigmas, ncsn_loss, noisy_mixture_score, train_ncsn
from .toys import TwoMoons, two_moons, two_moons_from_noise

__all__ = [
    "NCSNResult",
    "Comparison",
    "TwoMoons",
    "geometric_sigmas",
    "ncsn_loss",
    "train_ncsn",
    "noisy_mixture_score",
    "mode_weights",
    "compare_samplers",
    "two_moons",
    "two_moons_from_noise",
]
