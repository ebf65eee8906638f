r"""Chains about the likelihood: D8 (its gradient), D9 (maximum likelihood is minimum KL).

Convention: \(p_\theta(x) = e^{f_\theta(x)} / Z(\theta)\) with \(f_\theta = -E_\theta\), the
lectures' notation; the code evaluates the energies of the models. Integrals are fixed
Gauss-Legendre rules on each model's box (which holds all but \(10^{-16}\) of the mass, checked)
or Gauss-Hermite rules under Gaussian data; each line's table entry says which.
"""

from __future__ import annotations

from typing import NamedTuple

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from ._chain import Chain, Step
from ._quadrature import (
    legendre_rule,
    log_z_box,
    log_z_whole_space,
    param_jacobian,
    problem_rules,
    whole_space_what,
)
from .models import check_model_mass, energy_model_iv, points_iv, problem_iv

__all__ = [
    "d8_log_partition_gradient", "d8_log_likelihood_gradient", "d8_monte_carlo",
    "MonteCarloCheck", "d9_likelihood_is_kl", "log_partition_gradient_without_z",
    "likelihood_entropy_sign_flipped",
]

# ---------------------------------------------------------------------------------------------
# D8: grad log Z is an expectation


def _d8_steps(model, x_train):
    r"""The lines of D8. Each computes a term \(t\) equal to \(\nabla_\theta \log Z\); the line's
    value is \(t\) itself (``x_train`` is None) or \(\frac1n \sum_i \nabla_\theta
    f_\theta(x_i) - t\)."""
    family, theta, d = model.family, model.theta, model.dim
    rule = legendre_rule(model.bounds, model.nodes)
    fine = legendre_rule(model.bounds, model.nodes + model.nodes // 2)
    log_z = float(getval(log_z_box(family, theta, rule)))

    def line(term):
        if x_train is None:
            return term
        # (1/n) sum_i grad_theta f(x_i) = -(1/n) sum_i grad_theta E(x_i)
        return autograd.grad(lambda th: -anp.mean(family(th)(x_train)))(theta) - term

    def z_tilde(th):  # Z(theta) e^{-c}; the constant c = log Z(theta_0) keeps it near one
        return rule.integrate(anp.exp(-family(th)(rule.x) - log_z))

    def exp_f_tilde(th):  # exp(f_theta(x_j)) e^{-c} at every node
        return anp.exp(-family(th)(rule.x) - log_z)

    def grad_log_z():
        if x_train is None:  # the chain's first line: log Z over R^d, an independent rule
            return autograd.grad(lambda th: log_z_whole_space(family, th, d))(theta)
        return autograd.grad(lambda th: log_z_box(family, th, rule))(theta)

    def grad_z_over_z():
        return autograd.grad(z_tilde)(theta) / z_tilde(theta)

    def grad_inside():  # grad_theta exp(f_theta(x_j)) at every node, then the rule
        jac = param_jacobian(lambda th: (lambda x: exp_f_tilde(th)), theta, rule.x)
        return rule.integrate(jac) / z_tilde(theta)

    def chain_rule():  # exp(f) grad f at every node, grad f = -grad E
        grad_f = -param_jacobian(family, theta, rule.x)
        return rule.integrate(exp_f_tilde(theta)[:, None] * grad_f) / z_tilde(theta)

    def density():
        p = anp.exp(-family(theta)(rule.x) - log_z)
        return rule.integrate(p[:, None] * -param_jacobian(family, theta, rule.x))

    def expectation():  # on a second rule, normalized there
        log_p = -family(theta)(fine.x)
        p = anp.exp(log_p - fine.log_integrate_exp(log_p))
        return fine.integrate(p[:, None] * -param_jacobian(family, theta, fine.x))

    lead = "" if x_train is None else r"\frac1n \sum_i \nabla_\theta f_\theta(x_i) - "
    first_how = (f"autograd through log Z by {whole_space_what(d)}" if x_train is None
                 else f"autograd through log Z on {rule.what}")
    terms = [
        (r"\nabla_\theta \log Z(\theta)", grad_log_z, first_how),
        (r"\frac{\nabla_\theta Z(\theta)}{Z(\theta)}", grad_z_over_z,
         f"autograd through Z on {rule.what}"),
        (r"\frac{1}{Z(\theta)} \int \nabla_\theta \exp(f_\theta(x))\,dx", grad_inside,
         "per-node gradient of exp(f), then the rule"),
        (r"\frac{1}{Z(\theta)} \int \exp(f_\theta(x)) \nabla_\theta f_\theta(x)\,dx", chain_rule,
         "chain rule by hand: exp(f) grad f per node"),
        (r"\int \frac{\exp(f_\theta(x))}{Z(\theta)} \nabla_\theta f_\theta(x)\,dx", density,
         "normalized density times grad f"),
        (r"\mathbb{E}_{x \sim p_\theta}[\nabla_\theta f_\theta(x)]", expectation,
         f"expectation on a second rule: {fine.what}"),
    ]
    steps = [Step(lead + tex, (lambda t=t: line(t())), how) for tex, t, how in terms]
    if x_train is not None:
        n = x_train.shape[0]

        def log_likelihood():
            return autograd.grad(lambda th: anp.mean(-family(th)(x_train))
                                 - log_z_whole_space(family, th, d))(theta)

        steps.insert(0, Step(r"\nabla_\theta \frac1n \sum_i \log p_\theta(x_i)", log_likelihood,
                             f"autograd through the mean log-likelihood of {n} point(s), log Z "
                             f"by {whole_space_what(d)}"))
    return tuple(steps)


def d8_log_partition_gradient(model):
    r"""D8: \(\nabla_\theta \log Z(\theta) = \mathbb E_{p_\theta}[\nabla_\theta f_\theta]\), line by
    line.

    Parameters
    ----------
    model : EnergyModel

    Returns
    -------
    chain : Chain
        Six lines, each a vector of shape ``(k,)`` (one entry per parameter).

    Math
    ----
    D8 (CS236 lecture 11; Song & Kingma 2021, eq. 3):

    \[
        \nabla_\theta \log Z = \frac{\nabla_\theta Z}{Z}
        = \frac1Z \int \nabla_\theta e^{f_\theta(x)} dx
        = \frac1Z \int e^{f_\theta(x)} \nabla_\theta f_\theta(x)\, dx
        = \int \frac{e^{f_\theta(x)}}{Z} \nabla_\theta f_\theta(x)\, dx
        = \mathbb E_{x \sim p_\theta}[\nabla_\theta f_\theta(x)].
    \]

    The lectures' last step, \(\approx \nabla_\theta f_\theta(x_\text{sample})\) with one
    sample from \(p_\theta\), is a Monte Carlo estimate, not an equality; it is left out of the
    chain and checked by [`d8_monte_carlo`][refebm.derivations.d8_monte_carlo].

    Examples
    --------
    For the Gaussian \(E = a x^2/2 - b x\), \(\nabla_{(b, a)} \log Z = (b/a,
    -1/(2a) - b^2/(2a^2))\):

    >>> import numpy as np
    >>> from refebm.derivations import d8_log_partition_gradient, evaluate_chain, gaussian_1d
    >>> r = evaluate_chain(d8_log_partition_gradient(gaussian_1d(1.0, 2.0)))
    >>> r.holds, np.allclose(r.values[-1], [0.5, -0.375], rtol=1e-12)
    (True, True)
    """
    model = energy_model_iv(model)
    check_model_mass(model)
    return Chain(f"D8[{model.name}]", "grad log Z is the model expectation of grad f",
                 _d8_steps(model, None))


def d8_log_likelihood_gradient(model, x_train):
    r"""D8 as the lectures write it: the log-likelihood gradient down to the expectation that
    contrastive divergence estimates with one sample.

    Parameters
    ----------
    model : EnergyModel
    x_train : array, shape (n, d)
        Training points; the log-likelihood is their mean.

    Returns
    -------
    chain : Chain
        Seven lines of shape ``(k,)``: \(\nabla_\theta \frac1n \sum_i \log p_\theta(x_i)\),
        then \(\frac1n \sum_i \nabla_\theta f_\theta(x_i)\) minus each line of
        [`d8_log_partition_gradient`][refebm.derivations.d8_log_partition_gradient].

    Math
    ----
    D8, D7: \(\nabla_\theta \log p_\theta(x) = \nabla_\theta f_\theta(x) - \nabla_\theta \log
    Z(\theta) = \dots = \nabla_\theta f_\theta(x) - \mathbb E_{p_\theta}[\nabla_\theta f_\theta]
    \approx \nabla_\theta f_\theta(x_\text{train}) - \nabla_\theta f_\theta(x_\text{sample})\),
    the contrastive-divergence step (the approximation is [`d8_monte_carlo`][refebm.derivations.d8_monte_carlo]'s).

    Examples
    --------
    At the mean of a Gaussian the gradient in \(b\) vanishes: \(x - b/a = 0\).

    >>> import numpy as np
    >>> from refebm.derivations import d8_log_likelihood_gradient, evaluate_chain, gaussian_1d
    >>> r = evaluate_chain(d8_log_likelihood_gradient(gaussian_1d(1.0, 2.0), np.array([[0.5]])))
    >>> r.holds, abs(float(r.values[0][0])) < 1e-12
    (True, True)
    """
    model = energy_model_iv(model)
    check_model_mass(model)
    x_train = points_iv("x_train", x_train, model.dim)
    return Chain(f"D8[{model.name}]", "the log-likelihood gradient down to contrastive divergence",
                 _d8_steps(model, x_train))


class MonteCarloCheck(NamedTuple):
    r"""The single-sample line of D8 averaged over given samples.

    ``estimate``: \(\frac1n \sum_s \nabla_\theta f_\theta(x_s)\); ``exact``:
    \(\mathbb E_{p_\theta}[\nabla_\theta f_\theta]\) by quadrature; ``standard_error``:
    \(\sqrt{\operatorname{Var}_{p_\theta}[\nabla_\theta f_\theta] / n}\) per component, the
    variance by quadrature; ``n``: the number of samples."""

    estimate: np.ndarray
    exact: np.ndarray
    standard_error: np.ndarray
    n: int


def d8_monte_carlo(model, samples):
    r"""D8's last line: \(\mathbb E_{p_\theta}[\nabla_\theta f_\theta] \approx \nabla_\theta
    f_\theta(x_\text{sample})\), checked with exact samples given by the caller.

    Parameters
    ----------
    model : EnergyModel
    samples : array, shape (n, d), n >= 2
        Draws from \(p_\theta\) (exact ones, for the check to mean anything).

    Returns
    -------
    check : MonteCarloCheck
        Each single sample is an unbiased estimate of ``exact``; their mean has standard error
        ``standard_error``, so by the central limit theorem
        ``|estimate - exact| <= z * standard_error`` except with probability about
        ``2 * (1 - Phi(z))`` per component.

    Math
    ----
    D8, D7: \(\mathbb E_{x \sim p_\theta}[\nabla_\theta f_\theta(x)]\) is estimated by the
    sample mean; contrastive divergence uses a single sample.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import d8_monte_carlo, gaussian_1d
    >>> c = d8_monte_carlo(gaussian_1d(0.0, 1.0), np.array([[-1.0], [1.0]]))
    >>> c.estimate.tolist(), np.allclose(c.exact, [0.0, -0.5], atol=1e-12)
    ([0.0, -0.5], True)
    """
    model = energy_model_iv(model)
    check_model_mass(model)
    samples = points_iv("samples", samples, model.dim)
    n = samples.shape[0]
    if n < 2:
        raise ValueError(f"`samples` must hold at least 2 points, got shape {samples.shape}")
    family, theta = model.family, model.theta
    rule = legendre_rule(model.bounds, model.nodes)
    grad_f = -np.asarray(getval(param_jacobian(family, theta, samples)))
    log_p = -family(theta)(rule.x)
    p = np.exp(log_p - rule.log_integrate_exp(log_p))
    grad_f_nodes = -np.asarray(getval(param_jacobian(family, theta, rule.x)))
    exact = rule.integrate(p[:, None] * grad_f_nodes)
    second = rule.integrate(p[:, None] * grad_f_nodes ** 2)
    var = np.maximum(second - exact ** 2, 0.0)
    return MonteCarloCheck(grad_f.mean(axis=0), np.asarray(exact), np.sqrt(var / n), n)


# ---------------------------------------------------------------------------------------------
# D9: maximum likelihood is minimum KL


def d9_likelihood_is_kl(problem):
    r"""D9: the expected negative log-likelihood is the KL divergence plus the data entropy.

    Parameters
    ----------
    problem : Problem
        Gaussian data and a model whose box holds both densities.

    Returns
    -------
    chain : Chain

    Math
    ----
    D9 (Song & Kingma 2021, sec. 2):

    \[
        -\mathbb E_{p_\text{data}}[\log p_\theta(x)]
        = \int p_\text{data} \log \frac{p_\text{data}}{p_\theta}\, dx
        - \int p_\text{data} \log p_\text{data}\, dx
        = D_\text{KL}(p_\text{data} \,\|\, p_\theta) + H(p_\text{data}).
    \]

    Line 1 is a Gauss-Hermite expectation under the data; line 2 two integrals on the box;
    line 3 uses the closed-form entropy \(\tfrac12 \log\det(2\pi e \Sigma)\).

    Examples
    --------
    >>> from refebm.derivations import d9_likelihood_is_kl, evaluate_chain
    >>> from refebm.derivations.catalog import problems
    >>> evaluate_chain(d9_likelihood_is_kl(problems()["quartic-1d"])).holds
    True
    """
    problem = problem_iv(problem)
    data, model = problem.data, problem.model
    check_model_mass(model, "problem.model")
    family, theta = model.family, model.theta
    rule, gh = problem_rules(problem)
    log_z = log_z_box(family, theta, rule)

    def log_p_theta(x):
        return -family(theta)(x) - log_z

    def neg_expected_log_lik():
        return gh.integrate(family(theta)(gh.x)) + log_z_whole_space(family, theta, model.dim)

    log_pd = data.log_density(rule.x)
    p_d = np.exp(log_pd)

    def kl():
        return rule.integrate(p_d * (log_pd - log_p_theta(rule.x)))

    def kl_minus_neg_entropy():
        return kl() - rule.integrate(p_d * log_pd)

    steps = (
        Step(r"-\mathbb{E}_{x \sim p_\mathrm{data}}[\log p_\theta(x)]", neg_expected_log_lik,
             f"{gh.what} under the data; log Z by {whole_space_what(model.dim)}"),
        Step(r"\int p_\mathrm{data} \log\frac{p_\mathrm{data}}{p_\theta}\,dx "
             r"- \int p_\mathrm{data} \log p_\mathrm{data}\,dx", kl_minus_neg_entropy,
             rule.what),
        Step(r"D_\mathrm{KL}(p_\mathrm{data} \,\|\, p_\theta) + H(p_\mathrm{data})",
             lambda: kl() + data.entropy(), "KL on the box; H in closed form"),
    )
    return Chain(f"D9[{problem.name}]", "maximum likelihood is minimum KL divergence", steps)


# ---------------------------------------------------------------------------------------------
# wrong forms


def log_partition_gradient_without_z(model):
    r"""D8 with the \(1/Z\) forgotten: \(\nabla_\theta \log Z \ne \int \nabla_\theta
    e^{f_\theta(x)} dx\) unless \(Z = 1\); the chain breaks.

    Parameters
    ----------
    model : EnergyModel

    Returns
    -------
    chain : Chain

    Math
    ----
    Correct: \(\nabla_\theta \log Z = \frac1Z \int \nabla_\theta e^{f_\theta}\, dx\) (D8).

    Examples
    --------
    >>> from refebm.derivations import evaluate_chain, gaussian_1d, log_partition_gradient_without_z
    >>> evaluate_chain(log_partition_gradient_without_z(gaussian_1d())).holds
    False
    """
    model = energy_model_iv(model)
    check_model_mass(model)
    family, theta = model.family, model.theta
    rule = legendre_rule(model.bounds, model.nodes)

    def without_z():
        jac = param_jacobian(lambda th: (lambda x: anp.exp(-family(th)(x))), theta, rule.x)
        return rule.integrate(jac)

    steps = (
        Step(r"\nabla_\theta \log Z(\theta)",
             lambda: autograd.grad(lambda th: log_z_box(family, th, rule))(theta),
             f"autograd through log Z on {rule.what}"),
        Step(r"\int \nabla_\theta \exp(f_\theta(x))\,dx", without_z, "WRONG: 1/Z missing"),
    )
    return Chain(f"wrong-D8-no-Z[{model.name}]", "grad log Z without the 1/Z (wrong)", steps)


def likelihood_entropy_sign_flipped(problem):
    r"""D9 with the entropy's sign flipped: \(-\mathbb E_\text{data} \log p_\theta \ne
    D_\text{KL} - H\) (the lectures' \(-\mathbb E[\log p_\text{data}]\) is \(+H\)).

    Parameters
    ----------
    problem : Problem

    Returns
    -------
    chain : Chain

    Math
    ----
    Correct: \(-\mathbb E_{p_\text{data}}[\log p_\theta] = D_\text{KL}(p_\text{data} \,\|\,
    p_\theta) + H(p_\text{data})\) (D9).

    Examples
    --------
    >>> from refebm.derivations import evaluate_chain, likelihood_entropy_sign_flipped
    >>> from refebm.derivations.catalog import problems
    >>> evaluate_chain(likelihood_entropy_sign_flipped(problems()["quartic-1d"])).holds
    False
    """
    good = d9_likelihood_is_kl(problem)
    problem = problem_iv(problem)
    data = problem.data
    kl_plus_h = good.steps[-1].evaluate
    steps = (
        good.steps[0],
        Step(r"D_\mathrm{KL}(p_\mathrm{data} \,\|\, p_\theta) - H(p_\mathrm{data})",
             lambda: kl_plus_h() - 2.0 * data.entropy(), "WRONG: entropy sign flipped"),
    )
    return Chain(f"wrong-D9-entropy[{problem.name}]", "NLL as KL minus entropy (wrong)", steps)
