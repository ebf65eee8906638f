r"""Chains about scores and score matching: D12, D14, D15, and the wrong forms of D15.

Convention: \(p_\theta = e^{f_\theta} / Z\), \(f_\theta = -E_\theta\); the model score is
\(s_\theta = \nabla_x \log p_\theta = \nabla_x f_\theta = -\nabla_x E_\theta\) and
\(\operatorname{tr} \nabla_x s_\theta = -\Delta E_\theta\). Data are Gaussian
(\(s_\text{data}(x) = -\Sigma^{-1}(x - m)\) in closed form); the models are not, so no line is
trivially Gaussian. Scores and Hessian traces come from [`refebm.diff`][refebm.diff]; the lines written with
\(E\) use a separate autograd computation of \(\nabla_x E\) and \(\partial^2 E/\partial x_i^2\).
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from .. import diff as _diff
from ._chain import Chain, Step
from ._quadrature import grad_x, hessian_diagonal, legendre_rule, log_z_box, problem_rules
from .models import check_model_mass, energy_model_iv, points_iv, problem_iv

__all__ = [
    "d12_score_drops_z", "d14_univariate_score_matching", "d14_boundary_term",
    "d15_multivariate_score_matching", "garbled_score_matching", "laplacian_sign_flipped",
]

def _sq(a):
    return anp.sum(a ** 2, axis=1)


# ---------------------------------------------------------------------------------------------
# D12


def d12_score_drops_z(model, x):
    r"""D12: the score of an EBM does not involve \(Z\).

    Parameters
    ----------
    model : EnergyModel
    x : array, shape (n, d)
        Points where the score is evaluated.

    Returns
    -------
    chain : Chain
        Values of shape ``(n, d)``.

    Math
    ----
    D12 (CS236 lecture 12; Song & Kingma 2021, sec. 3):

    \[
        \nabla_x \log p_\theta(x) = \nabla_x f_\theta(x) - \nabla_x \log Z(\theta)
        = \nabla_x f_\theta(x), \qquad \nabla_x \log Z(\theta) = 0.
    \]

    Line 1 is \(\nabla_x p_\theta / p_\theta\) with the normalized density (\(\log Z\) by
    quadrature); line 2 differentiates \(f_\theta(x) - \log Z(\theta)\); line 3 is
    [`refebm.diff.score`][refebm.diff.score], which never sees \(Z\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import d12_score_drops_z, evaluate_chain, gaussian_1d
    >>> r = evaluate_chain(d12_score_drops_z(gaussian_1d(1.0, 2.0), np.array([[0.0]])))
    >>> r.holds, r.values[-1].tolist()    # b - a x
    (True, [[1.0]])
    """
    model = energy_model_iv(model)
    check_model_mass(model)
    x = points_iv("x", x, model.dim)
    energy = model.energy()
    rule = legendre_rule(model.bounds, model.nodes)
    log_z = log_z_box(model.family, model.theta, rule)

    def density(y):
        return anp.exp(-energy(y) - log_z)

    steps = (
        Step(r"\nabla_x \log p_\theta(x) = \frac{\nabla_x p_\theta(x)}{p_\theta(x)}",
             lambda: grad_x(density, x) / density(x)[:, None],
             f"autograd of the normalized density; log Z on {rule.what}"),
        Step(r"\nabla_x f_\theta(x) - \nabla_x \log Z(\theta)",
             lambda: grad_x(lambda y: -energy(y) - log_z, x), "autograd of f - log Z"),
        Step(r"\nabla_x f_\theta(x)", lambda: _diff.score(energy)(x), "refebm.diff.score"),
    )
    return Chain(f"D12[{model.name}]", "the score does not involve Z", steps)


# ---------------------------------------------------------------------------------------------
# D14


def _univariate_iv(problem):
    problem = problem_iv(problem)
    if problem.model.dim != 1:
        raise ValueError(
            f"`problem` must be univariate (a 1-D model and data) for D14, got dimension "
            f"{problem.model.dim}")
    return problem


def d14_univariate_score_matching(problem):
    r"""D14: univariate score matching by integration by parts, step by step.

    Parameters
    ----------
    problem : Problem
        1-D Gaussian data and a 1-D model.

    Returns
    -------
    chain : Chain
        Seven scalar lines, from the Fisher divergence to the objective that needs no data
        score.

    Math
    ----
    D14 (CS236 lecture 12), with \(s_\theta = \nabla_x f_\theta\) and \(p = p_\text{data}\) on
    the box \([a, b]\):

    \[
        \tfrac12 \mathbb E_p[(s_\text{data} - s_\theta)^2]
        &= \tfrac12 \int p\, (s_\text{data} - s_\theta)^2 dx \\
        &= \tfrac12 \int p\, s_\text{data}^2 + \tfrac12 \int p\, s_\theta^2
        - \int p\, s_\text{data} s_\theta \\
        &= \tfrac12 \int p\, s_\text{data}^2 + \tfrac12 \int p\, s_\theta^2 - \int p'\, s_\theta \\
        &= \tfrac12 \int p\, s_\text{data}^2 + \tfrac12 \int p\, s_\theta^2
        - \big[p\, s_\theta\big]_a^b + \int p\, s_\theta' \\
        &= \tfrac12 \int p\, s_\text{data}^2 + \tfrac12 \int p\, s_\theta^2 + \int p\, s_\theta' \\
        &= \mathbb E_p[\tfrac12 s_\theta^2 + s_\theta'] + \text{const}.
    \]

    Line 1 and the last are Gauss-Hermite expectations under the data, the others integrals on
    the box; \(p'\) is autograd's derivative of the density (not \(p\, s_\text{data}\)); the
    boundary term is [`d14_boundary_term`][refebm.derivations.d14_boundary_term]; the constant is \(\tfrac12 \mathbb
    E[s_\text{data}^2] = 1/(2\sigma^2)\).

    Examples
    --------
    >>> from refebm.derivations import d14_univariate_score_matching, evaluate_chain
    >>> from refebm.derivations.catalog import problems
    >>> evaluate_chain(d14_univariate_score_matching(problems()["quartic-1d"])).holds
    True
    """
    problem = _univariate_iv(problem)
    data, model = problem.data, problem.model
    energy = model.energy()
    score, slope = _diff.score(energy), _diff.hessian_trace(energy)  # s_theta, s_theta'
    rule, gh = problem_rules(problem)
    x = rule.x
    p = np.exp(data.log_density(x))
    s_data = data.score(x)[:, 0]
    s_theta = score(x)[:, 0]
    const = 0.5 * data.mean_squared_score()

    def boundary():
        return _boundary(problem)

    def data_term():
        return 0.5 * rule.integrate(p * s_data ** 2)

    def model_term():
        return 0.5 * rule.integrate(p * s_theta ** 2)

    def fisher_expectation():
        return 0.5 * gh.integrate((data.score(gh.x)[:, 0] - score(gh.x)[:, 0]) ** 2)

    def fisher_integral():
        return 0.5 * rule.integrate(p * (s_data - s_theta) ** 2)

    def expanded():
        return data_term() + model_term() - rule.integrate(p * s_data * s_theta)

    def derivative_of_density():
        dp = grad_x(lambda y: anp.exp(data.log_density(y)), x)[:, 0]
        return data_term() + model_term() - rule.integrate(dp * s_theta)

    def by_parts():
        return data_term() + model_term() - boundary() + rule.integrate(p * slope(x))

    def boundary_dropped():
        return data_term() + model_term() + rule.integrate(p * slope(x))

    def objective():
        return gh.integrate(0.5 * score(gh.x)[:, 0] ** 2 + slope(gh.x)) + const

    a, b = model.bounds[0]
    steps = (
        Step(r"\tfrac12 \mathbb{E}_{p_\mathrm{data}}[(s_\mathrm{data}(x) - s_\theta(x))^2]",
             fisher_expectation, f"{gh.what} under the data"),
        Step(r"\tfrac12 \int p_\mathrm{data}(x)(s_\mathrm{data}(x) - s_\theta(x))^2\,dx",
             fisher_integral, rule.what),
        Step(r"\tfrac12 \int p_\mathrm{data} s_\mathrm{data}^2 + \tfrac12 \int p_\mathrm{data} "
             r"s_\theta^2 - \int p_\mathrm{data} s_\mathrm{data} s_\theta", expanded, rule.what),
        Step(r"\tfrac12 \int p_\mathrm{data} s_\mathrm{data}^2 + \tfrac12 \int p_\mathrm{data} "
             r"s_\theta^2 - \int p_\mathrm{data}' s_\theta", derivative_of_density,
             "p' by autograd"),
        Step(r"\tfrac12 \int p_\mathrm{data} s_\mathrm{data}^2 + \tfrac12 \int p_\mathrm{data} "
             r"s_\theta^2 - \big[p_\mathrm{data} s_\theta\big]_a^b + \int p_\mathrm{data} "
             r"s_\theta'", by_parts, f"integration by parts on [{a:g}, {b:g}]"),
        Step(r"\tfrac12 \int p_\mathrm{data} s_\mathrm{data}^2 + \tfrac12 \int p_\mathrm{data} "
             r"s_\theta^2 + \int p_\mathrm{data} s_\theta'", boundary_dropped,
             "boundary term dropped (see its own chain)"),
        Step(r"\mathbb{E}_{p_\mathrm{data}}[\tfrac12 s_\theta(x)^2 + s_\theta'(x)] + \mathrm{const}",
             objective, f"{gh.what}; const = 1/(2 sigma^2) in closed form"),
    )
    return Chain(f"D14[{problem.name}]", "univariate score matching by integration by parts",
                 steps)


def _boundary(problem):
    data, model = problem.data, problem.model
    a, b = model.bounds[0]
    ends = np.array([[a], [b]])
    values = np.exp(data.log_density(ends)) * _diff.score(model.energy())(ends)[:, 0]
    return values[1] - values[0]


def d14_boundary_term(problem):
    r"""D14's boundary term \([p_\text{data}\, s_\theta]_a^b\) at the edges of the box is zero.

    Parameters
    ----------
    problem : Problem
        1-D Gaussian data and a 1-D model.

    Returns
    -------
    chain : Chain
        Two scalar lines: the boundary term, and 0.

    Math
    ----
    D14: \(p_\text{data}(x)\, s_\theta(x) \to 0\) as \(x \to \pm\infty\) (the data density
    vanishes faster than the score grows); on the box it is below \(10^{-16}\) times a
    polynomial in the box size.

    Examples
    --------
    >>> from refebm.derivations import d14_boundary_term, evaluate_chain
    >>> from refebm.derivations.catalog import problems
    >>> evaluate_chain(d14_boundary_term(problems()["quartic-1d"])).holds
    True
    """
    problem = _univariate_iv(problem)
    a, b = problem.model.bounds[0]
    steps = (
        Step(r"\big[p_\mathrm{data}(x)\, s_\theta(x)\big]_{x=a}^{x=b}",
             lambda: _boundary(problem), f"at the box edges a = {a:g}, b = {b:g}"),
        Step(r"0", lambda: 0.0, "exact"),
    )
    return Chain(f"D14-boundary[{problem.name}]", "the boundary term vanishes", steps)


# ---------------------------------------------------------------------------------------------
# D15


def _energy_form(energy, x):
    r"""\(\tfrac12 \|\nabla_x E\|^2 - \sum_i \partial^2 E / \partial x_i^2\) per point."""
    return 0.5 * _sq(grad_x(energy, x)) - anp.sum(hessian_diagonal(energy, x), axis=1)


def _fisher_to_data(problem, rule):
    data, energy = problem.data, problem.model.energy()
    p = np.exp(data.log_density(rule.x))
    return 0.5 * rule.integrate(p * _sq(data.score(rule.x) - _diff.score(energy)(rule.x)))


def d15_multivariate_score_matching(problem):
    r"""D15: multivariate score matching, \(D_F = \mathbb E[\tfrac12 \|s_\theta\|^2 +
    \operatorname{tr} \nabla_x s_\theta] + \text{const}\).

    Parameters
    ----------
    problem : Problem
        Gaussian data and a model of any dimension (the default ones are 2-D).

    Returns
    -------
    chain : Chain
        Five scalar lines.

    Math
    ----
    D15 (CS236 lecture 12; Song & Kingma 2021, eq. 9 written correctly):

    \[
        \tfrac12 \mathbb E\|s_\text{data} - s_\theta\|^2
        &= \tfrac12 \mathbb E\|s_\text{data}\|^2 - \mathbb E[s_\text{data} \cdot s_\theta]
        + \tfrac12 \mathbb E\|s_\theta\|^2 \\
        &= \tfrac12 \mathbb E\|s_\text{data}\|^2 + \mathbb E[\operatorname{tr} \nabla_x s_\theta]
        + \tfrac12 \mathbb E\|s_\theta\|^2 \\
        &= \mathbb E[\tfrac12 \|s_\theta\|^2 + \operatorname{tr} \nabla_x s_\theta]
        + \tfrac12 \operatorname{tr} \Sigma^{-1} \\
        &= \mathbb E\Big[\tfrac12 \|\nabla_x E_\theta\|^2 - \sum_i \frac{\partial^2
        E_\theta}{\partial x_i^2}\Big] + \tfrac12 \operatorname{tr} \Sigma^{-1},
    \]

    the second step integrating by parts in each coordinate (boundary terms vanish as in D14).
    Line 1 is on the box; the others are Gauss-Hermite expectations under the data. The summary of
    Song & Kingma 2021 (source 001) transcribes the objective as \(\mathbb E[\tfrac12 \sum_i
    (\partial^2 E / \partial x_i^2)^2] + C\), which is wrong:
    [`garbled_score_matching`][refebm.derivations.garbled_score_matching] shows it breaking.

    Examples
    --------
    >>> from refebm.derivations import d15_multivariate_score_matching, evaluate_chain
    >>> from refebm.derivations.catalog import problems
    >>> evaluate_chain(d15_multivariate_score_matching(problems()["quartic-2d"])).holds
    True
    """
    problem = problem_iv(problem)
    data, model = problem.data, problem.model
    energy = model.energy()
    score, trace = _diff.score(energy), _diff.hessian_trace(energy)
    rule, gh = problem_rules(problem)
    s_d, s_t = data.score(gh.x), score(gh.x)
    half_data = 0.5 * gh.integrate(_sq(s_d))
    const = 0.5 * data.mean_squared_score()

    steps = (
        Step(r"\tfrac12 \mathbb{E}_{p_\mathrm{data}}\|s_\mathrm{data}(x) - s_\theta(x)\|^2",
             lambda: _fisher_to_data(problem, rule), rule.what),
        Step(r"\tfrac12 \mathbb{E}\|s_\mathrm{data}\|^2 - \mathbb{E}[s_\mathrm{data} \cdot "
             r"s_\theta] + \tfrac12 \mathbb{E}\|s_\theta\|^2",
             lambda: half_data - gh.integrate(anp.sum(s_d * s_t, axis=1))
             + 0.5 * gh.integrate(_sq(s_t)), f"{gh.what} under the data"),
        Step(r"\tfrac12 \mathbb{E}\|s_\mathrm{data}\|^2 + \mathbb{E}[\mathrm{tr}\,\nabla_x "
             r"s_\theta] + \tfrac12 \mathbb{E}\|s_\theta\|^2",
             lambda: half_data + gh.integrate(trace(gh.x)) + 0.5 * gh.integrate(_sq(s_t)),
             "integration by parts; refebm.diff.hessian_trace"),
        Step(r"\mathbb{E}_{p_\mathrm{data}}[\tfrac12 \|s_\theta\|^2 + \mathrm{tr}\,\nabla_x "
             r"s_\theta] + \tfrac12 \mathrm{tr}\,\Sigma^{-1}",
             lambda: gh.integrate(0.5 * _sq(s_t) + trace(gh.x)) + const,
             "constant in closed form"),
        Step(r"\mathbb{E}_{p_\mathrm{data}}\big[\tfrac12 \|\nabla_x E_\theta\|^2 - \sum_i "
             r"\partial^2 E_\theta / \partial x_i^2\big] + \tfrac12 \mathrm{tr}\,\Sigma^{-1}",
             lambda: gh.integrate(_energy_form(energy, gh.x)) + const,
             "in terms of E: autograd gradient and Hessian diagonal of E"),
    )
    return Chain(f"D15[{problem.name}]", "multivariate score matching", steps)


def garbled_score_matching(problem):
    r"""The score-matching objective as garbled in the summary of Song & Kingma 2021 (source
    001), shown to be wrong.

    Parameters
    ----------
    problem : Problem

    Returns
    -------
    chain : Chain
        Three lines: the Fisher divergence, the correct objective in terms of \(E\) (equal to
        it), and \(\mathbb E[\tfrac12 \sum_i (\partial^2 E / \partial x_i^2)^2] + C\) (not
        equal: the chain breaks at the last line).

    Math
    ----
    Correct (D15): \(D_F = \mathbb E_{p_\text{data}}[\tfrac12 \|\nabla_x E\|^2 - \sum_i
    \partial^2 E / \partial x_i^2] + C\), \(C = \tfrac12 \mathbb E\|s_\text{data}\|^2\).
    The garbled form squares the second derivatives and drops the gradient term.

    Examples
    --------
    >>> from refebm.derivations import evaluate_chain, garbled_score_matching
    >>> from refebm.derivations.catalog import problems
    >>> r = evaluate_chain(garbled_score_matching(problems()["quartic-2d"]))
    >>> r.holds, r.discrepancies[1] < 1e-9, r.discrepancies[2] > 1e-3
    (False, True, True)
    """
    problem = problem_iv(problem)
    data, model = problem.data, problem.model
    energy = model.energy()
    rule, gh = problem_rules(problem)
    const = 0.5 * data.mean_squared_score()
    steps = (
        Step(r"D_F(p_\mathrm{data} \,\|\, p_\theta)", lambda: _fisher_to_data(problem, rule),
             rule.what),
        Step(r"\mathbb{E}\big[\tfrac12 \|\nabla_x E_\theta\|^2 - \sum_i \partial^2 E_\theta / "
             r"\partial x_i^2\big] + C", lambda: gh.integrate(_energy_form(energy, gh.x)) + const,
             "correct (D15)"),
        Step(r"\mathbb{E}\big[\tfrac12 \sum_i (\partial^2 E_\theta / \partial x_i^2)^2\big] + C",
             lambda: gh.integrate(0.5 * _sq(hessian_diagonal(energy, gh.x))) + const,
             "WRONG: the garbled form in source 001, the summary of Song & Kingma 2021"),
    )
    return Chain(f"wrong-D15-garbled[{problem.name}]",
                 "the score-matching objective in E as garbled in Song & Kingma's summary "
                 "(wrong)", steps)


def laplacian_sign_flipped(problem):
    r"""The score-matching objective with the Laplacian of \(E\) added instead of subtracted
    (the sign slip between \(\operatorname{tr} \nabla_x^2 \log p = -\Delta E\) and
    \(\Delta E\)); the chain breaks at its second line.

    Parameters
    ----------
    problem : Problem

    Returns
    -------
    chain : Chain

    Math
    ----
    Wrong: \(\mathbb E[\tfrac12 \|\nabla_x E\|^2 + \sum_i \partial^2 E / \partial x_i^2] + C
    \ne D_F(p_\text{data} \,\|\, p_\theta)\) unless \(\mathbb E[\Delta E] = 0\).

    Examples
    --------
    >>> from refebm.derivations import evaluate_chain, laplacian_sign_flipped
    >>> from refebm.derivations.catalog import problems
    >>> evaluate_chain(laplacian_sign_flipped(problems()["quartic-2d"])).holds
    False
    """
    problem = problem_iv(problem)
    data, model = problem.data, problem.model
    energy = model.energy()
    rule, gh = problem_rules(problem)
    const = 0.5 * data.mean_squared_score()

    def flipped():
        lap = anp.sum(hessian_diagonal(energy, gh.x), axis=1)
        return gh.integrate(0.5 * _sq(grad_x(energy, gh.x)) + lap) + const

    steps = (
        Step(r"D_F(p_\mathrm{data} \,\|\, p_\theta)", lambda: _fisher_to_data(problem, rule),
             rule.what),
        Step(r"\mathbb{E}\big[\tfrac12 \|\nabla_x E_\theta\|^2 + \sum_i \partial^2 E_\theta / "
             r"\partial x_i^2\big] + C", flipped, "WRONG: Laplacian sign flipped"),
    )
    return Chain(f"wrong-D15-sign[{problem.name}]", "score matching with the Laplacian's sign "
                 "flipped (wrong)", steps)
