r"""The default concrete models, and every derivation evaluated on two of them.

[`all_chains`][refebm.derivations.all_chains] is what ``refebm derivations`` prints; [`wrong_forms`][refebm.derivations.wrong_forms] are chains with a
deliberately wrong last line (the garbled score-matching objective in the summary of Song &
Kingma 2021, source 001, among them), each of which must break. Every box below holds all but \(10^{-16}\) of the mass of every density
integrated on it; the factories check this and raise otherwise.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from .denoising import (
    d16_denoising_score_matching,
    dsm_against_clean_data,
    dsm_without_constant,
)
from .likelihood import (
    d8_log_likelihood_gradient,
    d8_log_partition_gradient,
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
    _log_normal_1d,
    _log_quartic_density,
    _type_iv,
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

__all__ = ["energy_models", "query_points", "problems", "product_models", "mixture_models",
           "nce_problems", "all_chains", "wrong_forms", "DSM_SIGMA"]

#: The noise scale of the D16 chains, per problem.
DSM_SIGMA = {"logcosh-1d": 0.5, "quartic-2d": 0.4}


def energy_models():
    """The 1-D Gaussian (closed-form log Z) and the 2-D quartic (quadrature only).

    Examples
    --------
    >>> from refebm.derivations import energy_models
    >>> [m.name for m in energy_models()]
    ['gaussian-1d', 'quartic-2d']
    """
    return [gaussian_1d(), quartic_2d()]


def query_points(model):
    """Points ``x``, ``x_prime`` and ``x_train`` for the pointwise chains on ``model``.

    Examples
    --------
    >>> from refebm.derivations import gaussian_1d, query_points
    >>> [a.shape for a in query_points(gaussian_1d())]
    [(3, 1), (3, 1), (3, 1)]
    """
    _type_iv("model", model, EnergyModel)
    if model.dim not in (1, 2):
        raise ValueError(f"`model` must be 1-D or 2-D (the chains' query points are), got a "
                         f"{model.dim}-D model ({model.name})")
    if model.dim == 1:
        return (np.array([[-0.5], [0.375], [1.2]]), np.array([[0.8], [-1.0], [0.0]]),
                np.array([[0.1], [0.9], [0.4]]))
    return (np.array([[0.5, -0.3], [-1.2, 0.8], [1.0, 1.0]]),
            np.array([[-0.4, 0.6], [0.9, -0.5], [0.0, 0.0]]),
            np.array([[1.0, 0.2], [-0.8, 0.5]]))


def problems():
    """Gaussian data with non-Gaussian models, by name: two 1-D and two 2-D.

    Examples
    --------
    >>> from refebm.derivations import problems
    >>> sorted(problems())
    ['logcosh-1d', 'logcosh-2d', 'quartic-1d', 'quartic-2d']
    """
    return {
        "quartic-1d": Problem("quartic-1d", GaussianData(np.array([0.3]), np.array([[0.64]])),
                              quartic_1d()),
        "logcosh-1d": Problem("logcosh-1d", GaussianData(np.array([-0.5]), np.array([[1.44]])),
                              logcosh_1d()),
        "quartic-2d": Problem(
            "quartic-2d",
            GaussianData(np.array([0.3, -0.2]), np.array([[0.36, 0.12], [0.12, 0.25]])),
            quartic_2d()),
        "logcosh-2d": Problem(
            "logcosh-2d",
            GaussianData(np.array([-0.4, 0.6]), np.array([[0.8, -0.3], [-0.3, 0.6]])),
            logcosh_2d()),
    }


def _hetero_conditional(y, x):
    mean = 1.5 * anp.sin(x[:, 0])
    sd = 0.5 * anp.exp(0.3 * anp.tanh(x[:, 0]))
    return _log_normal_1d(y[:, 0], mean, sd)


def product_models():
    r"""Two products \(p(x) p(y \mid x)\): Gaussian with a linear-Gaussian conditional, and a
    quartic density \(\propto e^{-(x - 0.3)^4/4}\) with a heteroscedastic conditional
    \(\mathcal N(1.5 \sin x, (0.5 e^{0.3 \tanh x})^2)\).

    Examples
    --------
    >>> from refebm.derivations import product_models
    >>> [m.name for m in product_models()]
    ['gaussian-linear', 'quartic-heteroscedastic']
    """
    return [
        ProductModel("gaussian-linear",
                     lambda x: _log_normal_1d(x[:, 0], 0.2, 0.9),
                     lambda y, x: _log_normal_1d(y[:, 0], 0.8 * x[:, 0] - 0.3, 0.6),
                     ((-9.0, 9.0), (-10.0, 10.0)), 120),
        ProductModel("quartic-heteroscedastic",
                     lambda x: _log_quartic_density(x[:, 0], 0.3),
                     _hetero_conditional, ((-5.5, 6.0), (-9.0, 9.0)), 120),
    ]


def _log_gauss(mean, cov):
    return GaussianData(np.asarray(mean, dtype=float), np.asarray(cov, dtype=float)).log_density


def mixture_models():
    """A 1-D mixture (Gaussian and quartic components) and a 2-D one (two Gaussians and a
    product of quartic densities).

    Examples
    --------
    >>> from refebm.derivations import mixture_models
    >>> [m.weights.tolist() for m in mixture_models()]
    [[0.3, 0.7], [0.2, 0.5, 0.3]]
    """
    return [
        MixtureModel("gauss-quartic-1d", np.array([0.3, 0.7]),
                     (_log_gauss([-1.0], [[0.25]]),
                      lambda x: _log_quartic_density(x[:, 0], 1.0)),
                     ((-8.0, 8.0),), 160),
        MixtureModel("three-2d", np.array([0.2, 0.5, 0.3]),
                     (_log_gauss([-1.0, 0.5], [[0.5, 0.2], [0.2, 0.4]]),
                      _log_gauss([1.0, -0.5], [[0.3, -0.1], [-0.1, 0.6]]),
                      lambda x: _log_quartic_density(x[:, 0], 0.0)
                      + _log_quartic_density(x[:, 1], 1.0)),
                     ((-8.0, 8.0), (-8.0, 8.0)), 120),
    ]


def nce_problems():
    r"""NCE in 1-D and 2-D; the model \(\tfrac12 x^\top \Lambda x - b^\top x + q \sum x_i^4\)
    is at its optimum (the data's natural parameters, \(q = 0\)).

    Examples
    --------
    >>> from refebm.derivations import nce_problems
    >>> p = nce_problems()[0]
    >>> p.model.theta.tolist()     # b = m / v, Lambda = 1 / v, q = 0 for N(0.5, 0.49)
    [1.0204081632653061, 2.0408163265306123, 0.0]
    """
    d1 = GaussianData(np.array([0.5]), np.array([[0.49]]))
    n1 = GaussianData(np.array([0.0]), np.array([[2.25]]))
    d2 = GaussianData(np.array([0.3, -0.2]), np.array([[0.6, 0.2], [0.2, 0.5]]))
    n2 = GaussianData(np.array([0.2, 0.0]), np.array([[1.5, 0.3], [0.3, 1.2]]))
    return [
        NCEProblem("nce-1d", d1, n1, 1.0,
                   quadratic_quartic(d1.mean, d1.cov, bounds=((-14.0, 14.0),), nodes=200,
                                     name="quadratic-quartic-1d")),
        NCEProblem("nce-2d", d2, n2, 2.0,
                   quadratic_quartic(d2.mean, d2.cov, bounds=((-12.0, 12.0), (-12.0, 12.0)),
                                     nodes=120, name="quadratic-quartic-2d")),
    ]


def all_chains():
    """Every derivation, each on two concrete models: the list ``refebm derivations`` prints.

    Returns
    -------
    chains : list of Chain
        D3, D4, D6, D8 (log Z and log-likelihood forms), D9, D12, D14 (and its boundary term),
        D15, D16, D19 (posterior, gradient away from the optimum, optimum).

    Examples
    --------
    >>> from refebm.derivations import all_chains
    >>> sorted({c.id.split("[")[0] for c in all_chains()})[:4]
    ['D12', 'D14', 'D14-boundary', 'D15']
    """
    chains = []
    chains += [d3_product_normalized(m) for m in product_models()]
    chains += [d4_mixture_normalized(m) for m in mixture_models()]
    for model in energy_models():
        x, x_prime, x_train = query_points(model)
        chains.append(d6_ratio_without_z(model, x, x_prime))
        chains.append(d8_log_partition_gradient(model))
        chains.append(d8_log_likelihood_gradient(model, x_train))
        chains.append(d12_score_drops_z(model, x))
    probs = problems()
    chains += [d9_likelihood_is_kl(probs[k]) for k in ("quartic-1d", "quartic-2d")]
    for k in ("quartic-1d", "logcosh-1d"):
        chains.append(d14_univariate_score_matching(probs[k]))
        chains.append(d14_boundary_term(probs[k]))
    chains += [d15_multivariate_score_matching(probs[k]) for k in ("quartic-2d", "logcosh-2d")]
    chains += [d16_denoising_score_matching(probs[k], s) for k, s in DSM_SIGMA.items()]
    for p in nce_problems():
        x = np.asarray(p.data.mean)[None, :] + np.linspace(-1.5, 1.5, 4)[:, None]
        chains.append(d19_nce_posterior(p, x))
        # away from the optimum; the quartic coefficient stays small (a large one makes the
        # classifier's transition steep in the tails, which needs finer rules)
        off = p.model.theta + 0.1 * np.cos(np.arange(p.model.theta.shape[0]))
        off[-1] = 0.002
        chains.append(d19_nce_gradient(p, off, 0.2))
        chains.append(d19_nce_optimum(p))
    return chains


def wrong_forms():
    """Chains whose last line is a common wrong form; every one must break (discrepancy
    above 1e-3).

    Returns
    -------
    chains : list of Chain
        The garbled score-matching objective in the summary of Song & Kingma 2021 (source
        001), the Laplacian with the wrong sign, DSM
        without its constant or against the clean data, D8 without 1/Z, D9 with the entropy's
        sign flipped; each on two models.

    Examples
    --------
    >>> from refebm.derivations import evaluate_chain, wrong_forms
    >>> any(evaluate_chain(c).holds for c in wrong_forms())
    False
    """
    probs = problems()
    chains = []
    chains += [garbled_score_matching(probs[k]) for k in ("quartic-2d", "logcosh-2d")]
    chains += [laplacian_sign_flipped(probs[k]) for k in ("quartic-1d", "quartic-2d")]
    for k, s in DSM_SIGMA.items():
        chains.append(dsm_without_constant(probs[k], s))
        chains.append(dsm_against_clean_data(probs[k], s))
    chains += [log_partition_gradient_without_z(m) for m in energy_models()]
    chains += [likelihood_entropy_sign_flipped(probs[k]) for k in ("quartic-1d", "quartic-2d")]
    return chains

