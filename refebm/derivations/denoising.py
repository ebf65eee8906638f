r"""Chains about denoising score matching: D16, and two wrong forms of it.

Convention: \(s_\theta = \nabla_x \log p_\theta = -\nabla_x E_\theta\). Data are Gaussian,
\(\mathcal N(m, \Sigma)\), so the noisy density \(q_\sigma = \mathcal N(m, \Sigma + \sigma^2 I)\)
is a closed form; the models are not Gaussian. Expectations over \((x, z)\) are tensor
Gauss-Hermite rules (under the data in \(x\), standard normal in \(z\)); expectations over
\(\tilde x\) are Gauss-Legendre rules on the model's box under \(q_\sigma\).
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from .. import _validate as _v
from .. import diff as _diff
from ._chain import Chain, Step
from ._quadrature import hermite_rule, legendre_rule
from .models import check_data_mass, problem_iv
from .score import _fisher_to_data, _sq

__all__ = ["d16_denoising_score_matching", "dsm_without_constant", "dsm_against_clean_data"]

#: Gauss-Hermite nodes per axis in x (under the data) and in z (the noise) for D16.
_DSM_DATA_NODES = {1: 100, 2: 30}
_NOISE_HERMITE_NODES = {1: 40, 2: 12}


def _dsm_parts(problem, sigma):
    r"""The checked ``problem`` and ``sigma``, the noisy density \(q_\sigma\) (its mass checked on
    the box), the model's score and the Gauss-Legendre rule on the box."""
    problem = problem_iv(problem)
    sigma = float(_v.scalar("sigma", sigma, low=0.0, low_open=True))
    data, model = problem.data, problem.model
    noisy = data.noisy(sigma)
    check_data_mass(noisy, model.bounds, f"the noisy data density (sigma = {sigma:g})")
    score = _diff.score(model.energy())
    return problem, sigma, noisy, score, legendre_rule(model.bounds, model.nodes)


def _dsm_nodes(problem):
    r"""Nodes \(x_j, z_j\) and weights \(w_j\) of the tensor Gauss-Hermite rule for expectations
    over \((x, z)\), \(x\) under the data and \(z \sim \mathcal N(0, I)\), and its description."""
    data, model = problem.data, problem.model
    d = model.dim
    gx = hermite_rule(data.mean, data.cov, _DSM_DATA_NODES.get(d, 8))
    gz = hermite_rule(np.zeros(d), np.eye(d), _NOISE_HERMITE_NODES.get(d, 6))
    nx, nz = gx.x.shape[0], gz.x.shape[0]
    x = np.repeat(gx.x, nz, axis=0)
    z = np.tile(gz.x, (nx, 1))
    w = np.repeat(gx.w, nz) * np.tile(gz.w, nx)
    return x, z, w, f"{gx.what} in x (data), {gz.what} in z"


def _dsm_value(score, sigma, x, z, w):
    r"""\(J_\text{DSM} = \mathbb E_{x, z}[\tfrac12 \|s_\theta(x + \sigma z) + z / \sigma\|^2]\) on
    the nodes of `_dsm_nodes`."""
    return anp.dot(w, 0.5 * _sq(score(x + sigma * z) + z / sigma))


def d16_denoising_score_matching(problem, sigma):
    r"""D16: denoising score matching equals the Fisher divergence to the noisy density plus a
    constant.

    Parameters
    ----------
    problem : Problem
        Gaussian data \(\mathcal N(m, \Sigma)\) and a (non-Gaussian) model; the box must hold
        the noisy density \(q_\sigma = \mathcal N(m, \Sigma + \sigma^2 I)\).
    sigma : float
        Noise scale, > 0.

    Returns
    -------
    chain : Chain
        Five scalar lines.

    Math
    ----
    D16 (Vincent 2011; Song & Kingma 2021, eq. 11) with \(\tilde x = x + \sigma z\),
    \(\nabla_{\tilde x} \log q(\tilde x \mid x) = -z/\sigma\):

    \[
        \mathbb E_{q(x, \tilde x)}\big[\tfrac12 \|\nabla_{\tilde x} \log q(\tilde x \mid x)
        - s_\theta(\tilde x)\|^2\big]
        &= \mathbb E_{q_\sigma}[\tfrac12 \|s_\theta\|^2]
        + \tfrac1\sigma \mathbb E[z \cdot s_\theta(x + \sigma z)] + \frac{d}{2\sigma^2} \\
        &= \mathbb E_{q_\sigma}[\tfrac12 \|s_\theta\|^2 + \operatorname{tr} \nabla s_\theta]
        + \frac{d}{2\sigma^2} \\
        &= D_F(q_\sigma \,\|\, p_\theta) - \tfrac12 \mathbb E_{q_\sigma}\|\nabla \log q_\sigma\|^2
        + \frac{d}{2\sigma^2} \\
        &= D_F(q_\sigma \,\|\, p_\theta) + C, \quad
        C = \frac{d}{2\sigma^2} - \tfrac12 \operatorname{tr} (\Sigma + \sigma^2 I)^{-1},
    \]

    the second step by Gaussian integration by parts (Stein's lemma) in \(z\), the third by
    D15 applied to \(q_\sigma\). Line 1 and the cross term of line 2 are Gauss-Hermite rules
    over \((x, z)\); the rest are integrals over \(\tilde x\) on the box under the closed-form
    \(q_\sigma\). So the optimum of DSM is \(q_\sigma\), not \(p_\text{data}\)
    ([`dsm_against_clean_data`][refebm.derivations.dsm_against_clean_data]).

    Examples
    --------
    >>> from refebm.derivations import d16_denoising_score_matching, evaluate_chain
    >>> from refebm.derivations.catalog import problems
    >>> evaluate_chain(d16_denoising_score_matching(problems()["logcosh-1d"], 0.5)).holds
    True
    """
    problem, sigma, noisy, score, rule = _dsm_parts(problem, sigma)
    d = problem.model.dim
    trace = _diff.hessian_trace(problem.model.energy())
    x, z, w, how_xz = _dsm_nodes(problem)
    q = np.exp(noisy.log_density(rule.x))
    s_q = noisy.score(rule.x)
    s_t = score(rule.x)
    const_d = d / (2.0 * sigma ** 2)

    def dsm():
        return _dsm_value(score, sigma, x, z, w)

    def expanded():
        cross = anp.dot(w, anp.sum(z * score(x + sigma * z), axis=1)) / sigma
        return rule.integrate(q * 0.5 * _sq(s_t)) + cross + const_d

    def stein():
        return rule.integrate(q * (0.5 * _sq(s_t) + trace(rule.x))) + const_d

    def fisher_noisy():
        return 0.5 * rule.integrate(q * _sq(s_q - s_t))

    def fisher_minus():
        return fisher_noisy() - 0.5 * rule.integrate(q * _sq(s_q)) + const_d

    def fisher_plus_const():
        return fisher_noisy() + const_d - 0.5 * noisy.mean_squared_score()

    steps = (
        Step(r"\mathbb{E}_{q(x,\tilde x)}\big[\tfrac12 \|\nabla_{\tilde x} \log q(\tilde x \mid x)"
             r" - \nabla_{\tilde x} \log p_\theta(\tilde x)\|^2\big]", dsm, how_xz),
        Step(r"\mathbb{E}_{q_\sigma}[\tfrac12 \|s_\theta\|^2] + \tfrac1\sigma \mathbb{E}[z \cdot "
             r"s_\theta(x + \sigma z)] + \frac{d}{2\sigma^2}", expanded,
             f"first term: {rule.what} under q_sigma; cross term: Gauss-Hermite in (x, z)"),
        Step(r"\mathbb{E}_{q_\sigma}[\tfrac12 \|s_\theta\|^2 + \mathrm{tr}\,\nabla_{\tilde x} "
             r"s_\theta] + \frac{d}{2\sigma^2}", stein, "Stein's lemma in z"),
        Step(r"D_F(q_\sigma \,\|\, p_\theta) - \tfrac12 \mathbb{E}_{q_\sigma}\|\nabla \log "
             r"q_\sigma\|^2 + \frac{d}{2\sigma^2}", fisher_minus, "D15 applied to q_sigma"),
        Step(r"D_F(q_\sigma \,\|\, p_\theta) + C,\ C = \frac{d}{2\sigma^2} - \tfrac12 \mathrm{tr}"
             r"(\Sigma + \sigma^2 I)^{-1}", fisher_plus_const, "C in closed form"),
    )
    return Chain(f"D16[{problem.name}, sigma={sigma:g}]",
                 "denoising score matching is score matching to the noisy density", steps)


def dsm_without_constant(problem, sigma):
    r"""DSM equated to \(D_F(q_\sigma \,\|\, p_\theta)\) without its constant: wrong (the
    constant \(d/(2\sigma^2) - \tfrac12 \operatorname{tr}(\Sigma + \sigma^2 I)^{-1}\) is not zero).

    Parameters
    ----------
    problem : Problem
    sigma : float

    Returns
    -------
    chain : Chain

    Math
    ----
    D16: the equality holds only up to \(C\); \(C\) grows like \(d/(2\sigma^2)\), which is why
    the DSM loss value is large and its variance blows up as \(\sigma \to 0\).

    Examples
    --------
    >>> from refebm.derivations import dsm_without_constant, evaluate_chain
    >>> from refebm.derivations.catalog import problems
    >>> evaluate_chain(dsm_without_constant(problems()["logcosh-1d"], 0.5)).holds
    False
    """
    problem, sigma, noisy, score, rule = _dsm_parts(problem, sigma)
    x, z, w, how_xz = _dsm_nodes(problem)
    q = np.exp(noisy.log_density(rule.x))
    steps = (
        Step(r"J_\mathrm{DSM}(\theta)", lambda: _dsm_value(score, sigma, x, z, w), how_xz),
        Step(r"D_F(q_\sigma \,\|\, p_\theta)",
             lambda: 0.5 * rule.integrate(q * _sq(noisy.score(rule.x) - score(rule.x))),
             "WRONG: the constant is missing"),
    )
    return Chain(f"wrong-D16-constant[{problem.name}, sigma={sigma:g}]",
                 "DSM without its constant (wrong)", steps)


def dsm_against_clean_data(problem, sigma):
    r"""DSM equated to the Fisher divergence to the *clean* data plus the same constant: wrong,
    since DSM matches the noisy density \(q_\sigma\) (Song & Kingma 2021, sec. 3.2).

    Parameters
    ----------
    problem : Problem
    sigma : float

    Returns
    -------
    chain : Chain

    Math
    ----
    \(J_\text{DSM} = D_F(q_\sigma \,\|\, p_\theta) + C \ne D_F(p_\text{data} \,\|\, p_\theta)
    + C\).

    Examples
    --------
    >>> from refebm.derivations import dsm_against_clean_data, evaluate_chain
    >>> from refebm.derivations.catalog import problems
    >>> evaluate_chain(dsm_against_clean_data(problems()["logcosh-1d"], 0.5)).holds
    False
    """
    problem, sigma, noisy, score, rule = _dsm_parts(problem, sigma)
    x, z, w, how_xz = _dsm_nodes(problem)
    const = problem.model.dim / (2.0 * sigma ** 2) - 0.5 * noisy.mean_squared_score()
    steps = (
        Step(r"J_\mathrm{DSM}(\theta)", lambda: _dsm_value(score, sigma, x, z, w), how_xz),
        Step(r"D_F(p_\mathrm{data} \,\|\, p_\theta) + C",
             lambda: _fisher_to_data(problem, rule) + const,
             "WRONG: the clean data density in place of q_sigma"),
    )
    return Chain(f"wrong-D16-clean[{problem.name}, sigma={sigma:g}]",
                 "DSM as score matching to the clean data (wrong)", steps)
