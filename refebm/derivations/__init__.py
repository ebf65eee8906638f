r"""The lectures' derivations as executable chains of equalities (D3, D4, D6, D8, D9, D12, D14,
D15, D16, D19).

Each derivation is a [`Chain`][refebm.derivations.Chain] of [`Step`][refebm.derivations.Step] s: the LaTeX of one line and a function that
evaluates that line, as written, on a concrete model (by quadrature, autograd or a closed form).
[`evaluate_chain`][refebm.derivations.evaluate_chain] checks that consecutive lines agree to ``rtol = 1e-9`` (relative to the
lines' size, absolute below ``1e-3``: see `refebm.derivations._chain`), and
[`format_chain`][refebm.derivations.format_chain] prints the table. Factories take a model, so every derivation can be
evaluated on any model of the right kind; [`all_chains`][refebm.derivations.all_chains] evaluates each on two default models,
and [`wrong_forms`][refebm.derivations.wrong_forms] shows common wrong forms (the garbled score-matching objective in the summary of Song & Kingma
2021, source 001, among them) breaking.

Convention: \(p_\theta(x) = e^{-E_\theta(x)} / Z(\theta)\); the lectures' \(f_\theta =
-E_\theta\) appears in the LaTeX of the CS236 derivations, \(E_\theta\) in those of Song & Kingma.
NumPy (autograd.numpy) only.

Integrals are fixed rules, named in each line's table entry: tensor Gauss-Legendre on a model's
box (checked to hold all but 1e-16 of the mass of every density integrated on it), Gauss-Hermite
under Gaussian data, and [`refebm.partition.quadrature`][refebm.partition.quadrature.quadrature] over the whole space for the first
line of D8 and D9. Their node counts are set for models in one or two dimensions; larger or
rougher models need more ``nodes`` (a chain that does not resolve its integrands breaks, it
does not pass quietly).

Examples
--------
>>> from refebm.derivations import d8_log_partition_gradient, evaluate_chain, quartic_2d
>>> evaluate_chain(d8_log_partition_gradient(quartic_2d())).holds
True
"""

from ._chain import (
    RTOL,
    SCALE_FLOOR,
    WRONG_FORM_MIN_BREAK,
    Chain,
    ChainResult,
    Step,
    chain_record,
    chain_verdict,
    evaluate_chain,
    format_chain,
    latex_to_text,
)
from .catalog import (
    DSM_SIGMA,
    all_chains,
    energy_models,
    mixture_models,
    nce_problems,
    problems,
    product_models,
    query_points,
    wrong_forms,
)
from .denoising import (
    d16_denoising_score_matching,
    dsm_against_clean_data,
    dsm_without_constant,
)
from .likelihood import (
    MonteCarloCheck,
    d8_log_likelihood_gradient,
    d8_log_partition_gradient,
    d8_monte_carlo,
    d9_likelihood_is_kl,
    likelihood_entropy_sign_flipped,
    log_partition_gradient_without_z,
)
from .models import (
    EnergyModel,
    GaussianData,
    MixtureModel,
    NCEProblem,
    Problem,
    ProductModel,
    gaussian_1d,
    logcosh_1d,
    logcosh_2d,
    quadratic_quartic,
    quartic_1d,
    quartic_2d,
)
from .nce import d19_nce_gradient, d19_nce_optimum, d19_nce_posterior
from .normalization import d3_product_normalized, d4_mixture_normalized, d6_ratio_without_z
from .score import (
    d12_score_drops_z,
    d14_boundary_term,
    d14_univariate_score_matching,
    d15_multivariate_score_matching,
    garbled_score_matching,
    laplacian_sign_flipped,
)

__all__ = [
    "Step", "Chain", "ChainResult", "evaluate_chain", "format_chain", "RTOL", "SCALE_FLOOR",
    "WRONG_FORM_MIN_BREAK", "chain_verdict", "chain_record", "latex_to_text",
    "all_chains", "wrong_forms", "DSM_SIGMA", "energy_models", "query_points", "problems", "product_models",
    "mixture_models", "nce_problems",
    "EnergyModel", "GaussianData", "Problem", "NCEProblem", "ProductModel", "MixtureModel",
    "gaussian_1d", "quartic_1d", "logcosh_1d", "quartic_2d", "logcosh_2d", "quadratic_quartic",
    "d3_product_normalized", "d4_mixture_normalized", "d6_ratio_without_z",
    "d8_log_partition_gradient", "d8_log_likelihood_gradient", "d8_monte_carlo",
    "MonteCarloCheck", "d9_likelihood_is_kl", "d12_score_drops_z",
    "d14_univariate_score_matching", "d14_boundary_term", "d15_multivariate_score_matching",
    "d16_denoising_score_matching", "d19_nce_posterior", "d19_nce_gradient", "d19_nce_optimum",
    "garbled_score_matching", "laplacian_sign_flipped", "dsm_without_constant",
    "dsm_against_clean_data", "log_partition_gradient_without_z",
    "likelihood_entropy_sign_flipped",
]
