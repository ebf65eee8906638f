r"""Chains about noise-contrastive estimation: D19.

Convention (Song & Kingma 2021, sec. 5): the model is \(p_{\theta, c}(x) = e^{-E_\theta(x) -
c}\) with a learnable scalar \(c\) in place of \(\log Z\); data \(p_\text{data}\) and noise
\(p_n\) are Gaussian (closed form); \(\nu = p(y{=}1)/p(y{=}0)\), \(y = 1\) for data. The
classifier's posterior is

\[
    D_{\theta, c}(x) = p_{n,\theta}(y{=}1 \mid x) = \frac{\nu\, p_{\theta, c}(x)}{\nu\,
    p_{\theta, c}(x) + p_n(x)} = \sigma\big(\log\nu + \log p_{\theta, c}(x) - \log p_n(x)\big),
\]

and the population objective is

\[
    J(\theta, c) = \mathbb E_{p_{n,\text{data}}(x, y)}[\log p_{n,\theta}(y \mid x)]
    = \frac{\nu}{1+\nu} \mathbb E_{p_\text{data}}[\log D] + \frac{1}{1+\nu} \mathbb E_{p_n}
    [\log(1 - D)].
\]

"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from ._chain import Chain, Step
from ._quadrature import legendre_rule, log_z_box, param_jacobian
from .models import _numpy_iv, nce_problem_iv, points_iv

__all__ = ["d19_nce_posterior", "d19_nce_gradient", "d19_nce_optimum"]


def _log_softplus_parts(a):
    """``log sigma(a)`` and ``log(1 - sigma(a))`` without overflow."""
    return -anp.logaddexp(0.0, -a), -anp.logaddexp(0.0, a)


def _parts(problem):
    family = problem.model.family
    nu = problem.nu
    p1, p0 = nu / (1.0 + nu), 1.0 / (1.0 + nu)

    def logit(theta, c, x):  # log nu + log p_{theta,c}(x) - log p_n(x)
        return np.log(nu) - family(theta)(x) - c - problem.noise.log_density(x)

    return family, p1, p0, logit


def _objective_gradient_lines(problem, theta, c):
    """Line 1 (autograd through the box quadrature of J) and line 2 (the posterior form by
    Gauss-Hermite under data and noise) of the NCE gradient."""
    family, p1, p0, logit = _parts(problem)
    model, data, noise = problem.model, problem.data, problem.noise
    rule = legendre_rule(model.bounds, model.nodes)
    p_d = np.exp(data.log_density(rule.x))
    p_n = np.exp(noise.log_density(rule.x))
    params = anp.concatenate([theta, anp.array([c])])
    k = theta.shape[0]

    def objective(par):
        log_d, log_1md = _log_softplus_parts(logit(par[:k], par[k], rule.x))
        return p1 * rule.integrate(p_d * log_d) + p0 * rule.integrate(p_n * log_1md)

    fine = legendre_rule(model.bounds, model.nodes + model.nodes // 2)
    q_d = np.exp(data.log_density(fine.x))
    q_n = np.exp(noise.log_density(fine.x))

    def grad_logit(x):  # d a / d(theta, c) = (-grad_theta E, -1), (N, k + 1)
        jac = -param_jacobian(family, theta, x)
        return anp.concatenate([jac, -np.ones((x.shape[0], 1))], axis=1)

    def posterior_form():
        log_d, log_1md = _log_softplus_parts(logit(theta, c, fine.x))
        g = grad_logit(fine.x)
        return p1 * fine.integrate((q_d * anp.exp(log_1md))[:, None] * g) \
            - p0 * fine.integrate((q_n * anp.exp(log_d))[:, None] * g)

    first = Step(r"\nabla_{(\theta, c)} J(\theta, c)",
                 lambda: autograd.grad(objective)(params),
                 f"autograd through J on {rule.what}")
    second = Step(r"\tfrac{\nu}{1+\nu} \mathbb{E}_{p_\mathrm{data}}[(1 - D)\nabla \log "
                  r"p_{\theta,c}] - \tfrac{1}{1+\nu} \mathbb{E}_{p_n}[D\, \nabla \log p_{\theta,c}]",
                  posterior_form, f"posterior form on a second rule: {fine.what}")
    return first, second, rule, grad_logit


def d19_nce_posterior(problem, x):
    r"""D19: the NCE classifier's posterior, by Bayes' rule, and at the optimum.

    Parameters
    ----------
    problem : NCEProblem
        Its model's ``theta`` is the claimed optimum \(\theta^*\) (\(p_{\theta^*} \propto
        p_\text{data}\)).
    x : array, shape (n, d)
        Points where the posterior is evaluated.

    Returns
    -------
    chain : Chain
        Four lines of shape ``(n,)``.

    Math
    ----
    D19 (Song & Kingma 2021, sec. 5), \(p(y{=}0) = 1/(1+\nu)\), \(p(y{=}1) = \nu/(1+\nu)\):

    \[
        p_{n,\text{data}}(y{=}0 \mid x) = \frac{p_n(x)\, p(y{=}0)}{p(y{=}0) p_n(x) + p(y{=}1)
        p_\text{data}(x)} = \frac{p_n(x)}{p_n(x) + \nu\, p_\text{data}(x)}
        = \frac{p_n(x)}{p_n(x) + \nu\, p_{\theta^*}(x)}
        = 1 - \sigma(\log\nu + \log p_{\theta^*}(x) - \log p_n(x)).
    \]

    The third equality is the optimum's \(p_{\theta^*} = p_\text{data}\), with
    \(\log Z(\theta^*)\) by quadrature: it fails when \(\theta^*\) is not the optimum.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import d19_nce_posterior, evaluate_chain
    >>> from refebm.derivations.catalog import nce_problems
    >>> evaluate_chain(d19_nce_posterior(nce_problems()[0], np.array([[0.0], [1.0]]))).holds
    True
    """
    problem = nce_problem_iv(problem)
    model, data, noise, nu = problem.model, problem.data, problem.noise, problem.nu
    x = points_iv("x", x, model.dim)
    rule = legendre_rule(model.bounds, model.nodes)
    log_z = getval(log_z_box(model.family, model.theta, rule))
    p_d, p_n = np.exp(data.log_density(x)), np.exp(noise.log_density(x))
    log_pm = -model.energy()(x) - log_z
    py0, py1 = 1.0 / (1.0 + nu), nu / (1.0 + nu)
    steps = (
        Step(r"\frac{p_n(x)\,p(y=0)}{p(y=0)\,p_n(x) + p(y=1)\,p_\mathrm{data}(x)}",
             lambda: p_n * py0 / (py0 * p_n + py1 * p_d), "Bayes' rule, closed-form densities"),
        Step(r"\frac{p_n(x)}{p_n(x) + \nu\,p_\mathrm{data}(x)}",
             lambda: p_n / (p_n + nu * p_d), "nu = p(y=1)/p(y=0)"),
        Step(r"\frac{p_n(x)}{p_n(x) + \nu\,p_{\theta^*}(x)}",
             lambda: p_n / (p_n + nu * np.exp(log_pm)),
             f"the model at theta*, log Z on {rule.what}"),
        Step(r"1 - \sigma(\log\nu + \log p_{\theta^*}(x) - \log p_n(x))",
             lambda: np.exp(_log_softplus_parts(np.log(nu) + log_pm - noise.log_density(x))[1]),
             "logistic form, in log space"),
    )
    return Chain(f"D19-posterior[{problem.name}]", "the NCE classifier's posterior", steps)


def d19_nce_gradient(problem, theta=None, c=None):
    r"""D19: the gradient of the population NCE objective in \((\theta, c)\), two ways.

    Parameters
    ----------
    problem : NCEProblem
    theta : array, shape (k,), optional
        Where to evaluate (default: the model's ``theta``).
    c : float, optional
        The learnable log-normalizer (default: \(\log Z(\theta)\) by quadrature).

    Returns
    -------
    chain : Chain
        Two lines of shape ``(k + 1,)``: autograd through the quadrature of \(J\), and the
        posterior form \(\frac{\nu}{1+\nu} \mathbb E_\text{data}[(1 - D) \nabla a] -
        \frac{1}{1+\nu} \mathbb E_n[D\, \nabla a]\) with \(a = \log\nu - E_\theta - c - \log
        p_n\), \(\nabla a = (-\nabla_\theta E_\theta, -1)\).

    Math
    ----
    D19: \(\partial_a \log \sigma(a) = 1 - \sigma(a)\), \(\partial_a \log(1 - \sigma(a)) =
    -\sigma(a)\).

    Both lines use the model's box rules, which must resolve the classifier's transition
    \(\sigma(a(x))\): a model whose \(a(x)\) is steep where data or noise has mass (a large
    quartic coefficient, say) needs more ``nodes`` for the two lines to agree to 1e-9.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import d19_nce_gradient, evaluate_chain
    >>> from refebm.derivations.catalog import nce_problems
    >>> p = nce_problems()[0]
    >>> theta = p.model.theta + [0.1, 0.1, 0.002]     # b, Lambda, q: off the optimum
    >>> r = evaluate_chain(d19_nce_gradient(p, theta, 0.3))
    >>> r.holds, float(np.max(np.abs(r.values[0]))) > 1e-3
    (True, True)
    """
    problem = nce_problem_iv(problem)
    model = problem.model
    if theta is None:
        theta = model.theta
    else:
        _numpy_iv("theta", theta)
        theta = np.asarray(_v.real_array("theta", theta, shape=model.theta.shape),
                           dtype=np.float64)
    rule = legendre_rule(model.bounds, model.nodes)
    if c is None:
        c = float(getval(log_z_box(model.family, theta, rule)))
    else:
        c = float(_v.scalar("c", c))
    first, second, _, _ = _objective_gradient_lines(problem, theta, c)
    return Chain(f"D19-gradient[{problem.name}]", "the NCE gradient: autograd and posterior form",
                 (first, second))


def d19_nce_optimum(problem):
    r"""D19: at \(p_{\theta^*} = p_\text{data}\) and \(c^* = \log Z(\theta^*)\) the NCE gradient
    vanishes, in \(\theta\) and in \(c\) (so \(\log Z\) comes out as a by-product).

    Parameters
    ----------
    problem : NCEProblem
        Its model's ``theta`` is the claimed optimum.

    Returns
    -------
    chain : Chain
        Four lines of shape ``(k + 1,)``, the last the zero vector.

    Math
    ----
    D19: at the optimum \(D_{\theta^*, c^*}(x) = \nu p_\text{data}/(\nu p_\text{data} + p_n)
    = p_{n,\text{data}}(y{=}1 \mid x)\), and the integrand of the posterior form is zero at
    every \(x\):

    \[
        \frac{\nu}{1+\nu} p_\text{data} \frac{p_n}{\nu p_\text{data} + p_n}
        - \frac{1}{1+\nu} p_n \frac{\nu p_\text{data}}{\nu p_\text{data} + p_n} = 0.
    \]

    Examples
    --------
    >>> from refebm.derivations import d19_nce_optimum, evaluate_chain
    >>> from refebm.derivations.catalog import nce_problems
    >>> evaluate_chain(d19_nce_optimum(nce_problems()[0])).holds
    True
    """
    problem = nce_problem_iv(problem)
    model, data, noise, nu = problem.model, problem.data, problem.noise, problem.nu
    theta = model.theta
    rule = legendre_rule(model.bounds, model.nodes)
    c = float(getval(log_z_box(model.family, theta, rule)))
    first, second, rule, grad_logit = _objective_gradient_lines(problem, theta, c)
    p_d = np.exp(data.log_density(rule.x))
    p_n = np.exp(noise.log_density(rule.x))
    p1, p0 = nu / (1.0 + nu), 1.0 / (1.0 + nu)

    def data_posterior():
        d_star = nu * p_d / (nu * p_d + p_n)  # p_{n,data}(y = 1 | x)
        integrand = p1 * p_d * (1.0 - d_star) - p0 * p_n * d_star
        return rule.integrate(integrand[:, None] * grad_logit(rule.x))

    k = theta.shape[0]
    steps = (
        first, second,
        Step(r"\int \Big[\tfrac{\nu}{1+\nu} p_\mathrm{data}(1 - D^*) - \tfrac{1}{1+\nu} p_n D^*"
             r"\Big] \nabla \log p_{\theta,c}\,dx,\ D^* = \frac{\nu p_\mathrm{data}}{\nu "
             r"p_\mathrm{data} + p_n}", data_posterior,
             f"p_theta* = p_data substituted; {rule.what}"),
        Step(r"0", lambda: np.zeros(k + 1), "exact"),
    )
    return Chain(f"D19-optimum[{problem.name}]", "the NCE gradient vanishes at p_theta = p_data, "
                 "c = log Z", steps)
