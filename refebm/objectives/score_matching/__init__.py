r"""Score matching: exact (Hyvarinen), sliced, denoising with its control variate, multi-scale.

Convention: \(p_\theta(x) = e^{-E_\theta(x)} / Z_\theta\) (the lectures' \(f = -E\)); the score
is \(s_\theta = \nabla_x \log p_\theta = -\nabla_x E_\theta\) and \(H_\theta = \nabla_x^2 \log
p_\theta = -\nabla_x^2 E_\theta\). Every loss is a mean over the batch (``reduction="none"``
returns the per-point terms) and is a pure function of the energy (or score), the data and,
where it is stochastic, the noise arrays; parameter gradients come from autograd on the outside,
``autograd.grad(lambda th: loss(partial(E, th), x))(th0)``.

The Fisher divergence (D13) is \(D_F(p, q) = \tfrac12 \mathbb E_p \|\nabla \log p - \nabla \log
q\|^2\). Integration by parts (D14, D15) turns \(D_F(p_\text{data}, p_\theta)\) into

\[
    J(\theta) = \mathbb E_{p_\text{data}}\big[\tfrac12 \|s_\theta(x)\|^2 + \operatorname{tr}
    H_\theta(x)\big] = \mathbb E_{p_\text{data}}\big[\tfrac12 \|\nabla_x E_\theta\|^2 -
    \textstyle\sum_i \partial^2 E_\theta / \partial x_i^2\big]
    = D_F(p_\text{data}, p_\theta)
    - \tfrac12 \mathbb E_{p_\text{data}} \|\nabla \log p_\text{data}\|^2,
\]

which needs no \(p_\text{data}\) score. (One summary of Song and Kingma 2021 prints the energy
form as a sum of squared second derivatives; the form above is the correct one.)

Submodules: [`exact`][refebm.objectives] (exact and sliced losses, population
forms), [`denoising`][refebm.objectives] (DSM, control variate, multi-scale),
[`closed_form`][refebm.objectives] (Gaussian and exponential-family estimators).
"""

from .closed_form import (
                          ExponentialFamilyFit,
                          GaussianFit,
                          score_matching_exponential_family,
                          score_matching_gaussian,
)
from .denoising import (
                          denoising_score_matching_loss,
                          dsm_control_variate,
                          multiscale_denoising_score_matching_loss,
)
from .exact import (
                          fisher_divergence,
                          score_matching_loss,
                          score_matching_population_loss,
                          sliced_score_matching_loss,
)

__all__ = [
    "score_matching_loss",
    "sliced_score_matching_loss",
    "denoising_score_matching_loss",
    "dsm_control_variate",
    "multiscale_denoising_score_matching_loss",
    "score_matching_population_loss",
    "fisher_divergence",
    "score_matching_gaussian",
    "score_matching_exponential_family",
    "GaussianFit",
    "ExponentialFamilyFit",
]
