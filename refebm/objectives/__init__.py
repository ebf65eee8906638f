r"""Learning objectives for energy-based models (D7-D9, D13-D20).

Every objective is a pure function of an energy (a callable closing over its parameters), the
data and, where it is stochastic, explicit noise arrays; parameter gradients come from autograd
on the outside::

    autograd.grad(lambda th: score_matching_loss(partial(E, th), x))(th0)

Convention: \(p_\theta(x) = e^{-E_\theta(x)} / Z_\theta\), the lectures' \(f = -E\); every loss
is to be *minimized*.

| module | objectives |
| --- | --- |
| likelihood | exact negative log-likelihood by quadrature or enumeration, its gradient, the KL / entropy decomposition (D8, D9) |
| contrastive | CD gradient, CD-k, persistent CD, short-run MCMC (D7, D8, D20) |
| score_matching | exact (Hyvarinen), sliced, denoising with control variate, multi-scale, closed forms for Gaussians and exponential families (D13-D18) |
| nce | noise-contrastive estimation with a learnable log Z (D19) |
| params | ``parametric(energy_of_theta, theta)``: the one helper for energies written as functions of their parameters, for the objectives that return a parameter gradient |
"""

from . import contrastive, likelihood, nce, params, score_matching
from .contrastive import (
                          CDResult,
                          cd_gradient,
                          cd_k,
                          cd_loss,
                          langevin_cd,
                          langevin_chains,
                          noise_init,
                          persistent_cd,
                          short_run,
)
from .likelihood import cross_entropy, entropy, kl_divergence, negative_log_likelihood, nll_gradient
from .nce import nce_logit, nce_loss, nce_population_loss
from .params import ParametricEnergy, parametric
from .score_matching import (
                          ExponentialFamilyFit,
                          GaussianFit,
                          denoising_score_matching_loss,
                          dsm_control_variate,
                          fisher_divergence,
                          multiscale_denoising_score_matching_loss,
                          score_matching_exponential_family,
                          score_matching_gaussian,
                          score_matching_loss,
                          score_matching_population_loss,
                          sliced_score_matching_loss,
)

__all__ = [
    "contrastive", "likelihood", "nce", "score_matching",
    "params", "parametric", "ParametricEnergy",
    "CDResult", "cd_loss", "cd_gradient", "langevin_chains", "langevin_cd", "cd_k",
    "persistent_cd", "short_run", "noise_init",
    "negative_log_likelihood", "nll_gradient", "cross_entropy", "kl_divergence", "entropy",
    "nce_logit", "nce_loss", "nce_population_loss",
    "score_matching_loss", "sliced_score_matching_loss", "denoising_score_matching_loss",
    "dsm_control_variate", "multiscale_denoising_score_matching_loss",
    "score_matching_population_loss", "fisher_divergence", "score_matching_gaussian",
    "score_matching_exponential_family", "GaussianFit", "ExponentialFamilyFit",
]
