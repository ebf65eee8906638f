r"""Chains about normalization: D3 (products), D4 (mixtures), D6 (ratios need no Z).

Convention: \(p_\theta(x) = e^{f_\theta(x)} / Z(\theta)\) with \(f_\theta = -E_\theta\).
Integrals are fixed Gauss-Legendre rules on each model's box, which holds all but
\(10^{-16}\) of the mass (checked); each line's table entry says which rule.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .. import compose as _compose
from .. import ratio as _ratio
from ._chain import Chain, Step
from ._quadrature import check_faces, legendre_rule, log_z_box
from .models import (
    check_model_mass,
    energy_model_iv,
    mixture_model_iv,
    points_iv,
    product_model_iv,
)

__all__ = ["d3_product_normalized", "d4_mixture_normalized", "d6_ratio_without_z"]


# ---------------------------------------------------------------------------------------------
# D3, D4: normalized pieces stay normalized


def d3_product_normalized(model):
    r"""D3: a product of normalized densities integrates to one.

    Parameters
    ----------
    model : ProductModel
        \(p(x)\) and \(p(y \mid x)\), scalar \(x, y\), on a 2-D box.

    Returns
    -------
    chain : Chain

    Math
    ----
    D3 (CS236 lecture 11, autoregressive models):

    \[
        \int\!\!\int p(x) p(y \mid x)\, dy\, dx = \int p(x) \Big[\int p(y \mid x)\, dy\Big] dx
        = \int p(x)\, dx = 1.
    \]

    Line 1 integrates the joint (the energy of [`refebm.compose.product`][refebm.compose.product]) on the 2-D
    rule; line 2 computes the inner integral for every outer node on a finer 1-D rule; line 3
    integrates the marginal on that finer rule.

    Examples
    --------
    >>> from refebm.derivations import d3_product_normalized, evaluate_chain
    >>> from refebm.derivations.catalog import product_models
    >>> evaluate_chain(d3_product_normalized(product_models()[0])).holds
    True
    """
    model = product_model_iv(model)
    joint = _compose.product(model.log_marginal, model.log_conditional, d_x=1)
    check_faces(f"`model` ({model.name})", lambda z: -joint(z), model.bounds, model.nodes)
    (xb, yb), n = model.bounds, model.nodes
    rule2 = legendre_rule(model.bounds, n)
    x_rule = legendre_rule((xb,), n)
    fine = n + n // 2
    y_fine = legendre_rule((yb,), fine)
    x_fine = legendre_rule((xb,), fine)

    def joint_integral():
        return anp.exp(rule2.log_integrate_exp(-joint(rule2.x)))

    def nested():
        nx, ny = x_rule.x.shape[0], y_fine.x.shape[0]
        xs = np.repeat(x_rule.x, ny, axis=0)
        ys = np.tile(y_fine.x, (nx, 1))
        cond = anp.reshape(anp.exp(model.log_conditional(ys, xs)), (nx, ny))
        inner = anp.dot(cond, y_fine.w)  # int p(y | x_i) dy, one per outer node
        return x_rule.integrate(anp.exp(model.log_marginal(x_rule.x)) * inner)

    def marginal():
        return x_fine.integrate(anp.exp(model.log_marginal(x_fine.x)))

    steps = (
        Step(r"\int\!\!\int p(x)\,p(y \mid x)\,dy\,dx", joint_integral, rule2.what),
        Step(r"\int p(x) \Big[\int p(y \mid x)\,dy\Big] dx", nested,
             f"inner: {y_fine.what}; outer: {x_rule.what}"),
        Step(r"\int p(x)\,dx", marginal, x_fine.what),
        Step(r"1", lambda: 1.0, "exact"),
    )
    return Chain(f"D3[{model.name}]", "a product of normalized densities is normalized", steps)


def d4_mixture_normalized(model):
    r"""D4: a mixture of normalized densities integrates to one.

    Parameters
    ----------
    model : MixtureModel

    Returns
    -------
    chain : Chain

    Math
    ----
    D4 (CS236 lecture 11, latent variables):
    \(\int \sum_k w_k p_k(x)\, dx = \sum_k w_k \int p_k(x)\, dx = \sum_k w_k = 1\).
    Line 1 integrates the energy of [`refebm.compose.mixture`][refebm.compose.mixture]; line 2 integrates each
    component on a finer rule.

    Examples
    --------
    >>> from refebm.derivations import d4_mixture_normalized, evaluate_chain
    >>> from refebm.derivations.catalog import mixture_models
    >>> evaluate_chain(d4_mixture_normalized(mixture_models()[0])).holds
    True
    """
    model = mixture_model_iv(model)
    energy = _compose.mixture(model.weights, list(model.log_components))
    check_faces(f"`model` ({model.name})", lambda x: -energy(x), model.bounds, model.nodes)
    rule = legendre_rule(model.bounds, model.nodes)
    fine = legendre_rule(model.bounds, model.nodes + model.nodes // 2)

    def mixture_integral():
        return anp.exp(rule.log_integrate_exp(-energy(rule.x)))

    def componentwise():
        return sum(w * fine.integrate(anp.exp(lp(fine.x)))
                   for w, lp in zip(model.weights, model.log_components))

    steps = (
        Step(r"\int \sum_k w_k\,p_k(x)\,dx", mixture_integral, rule.what),
        Step(r"\sum_k w_k \int p_k(x)\,dx", componentwise, fine.what),
        Step(r"\sum_k w_k", lambda: float(np.sum(model.weights)), "the weights"),
        Step(r"1", lambda: 1.0, "exact"),
    )
    return Chain(f"D4[{model.name}]", "a mixture of normalized densities is normalized", steps)


# ---------------------------------------------------------------------------------------------
# D6: ratios need no Z


def d6_ratio_without_z(model, x, x_prime):
    r"""D6: the ratio of two densities of an EBM needs no partition function.

    Parameters
    ----------
    model : EnergyModel
    x, x_prime : arrays, shape (n, d)
        The points compared, row by row.

    Returns
    -------
    chain : Chain
        Values of shape ``(n,)``.

    Math
    ----
    D6 (CS236 lecture 11):

    \[
        \frac{p_\theta(x)}{p_\theta(x')} = \frac{\exp(f_\theta(x)) / Z(\theta)}
        {\exp(f_\theta(x')) / Z(\theta)} = \exp(f_\theta(x) - f_\theta(x')).
    \]

    The first two lines use \(\log Z\) by quadrature; the last is
    [`refebm.ratio.log_ratio`][refebm.ratio.log_ratio], which never sees \(Z\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.derivations import d6_ratio_without_z, evaluate_chain, gaussian_1d
    >>> r = evaluate_chain(d6_ratio_without_z(gaussian_1d(0.0, 1.0), np.zeros((1, 1)), np.ones((1, 1))))
    >>> r.holds, bool(np.isclose(r.values[-1][0], np.exp(0.5), rtol=1e-14))
    (True, True)
    """
    model = energy_model_iv(model)
    check_model_mass(model)
    x = points_iv("x", x, model.dim)
    x_prime = points_iv("x_prime", x_prime, model.dim)
    _v.same_shape("x", x, "x_prime", x_prime)
    energy = model.energy()
    rule = legendre_rule(model.bounds, model.nodes)
    log_z = getval(log_z_box(model.family, model.theta, rule))

    def normalized_ratio():
        return anp.exp(-energy(x) - log_z) / anp.exp(-energy(x_prime) - log_z)

    def written_out():
        z = np.exp(log_z)
        return (anp.exp(-energy(x)) / z) / (anp.exp(-energy(x_prime)) / z)

    steps = (
        Step(r"\frac{p_\theta(x)}{p_\theta(x')}", normalized_ratio,
             f"p = exp(f - log Z), log Z on {rule.what}"),
        Step(r"\frac{\exp(f_\theta(x)) / Z(\theta)}{\exp(f_\theta(x')) / Z(\theta)}",
             written_out, "Z = exp(log Z)"),
        Step(r"\exp(f_\theta(x) - f_\theta(x'))",
             lambda: np.exp(_ratio.log_ratio(energy, x, x_prime)), "refebm.ratio.log_ratio"),
    )
    return Chain(f"D6[{model.name}]", "the ratio p(x)/p(x') needs no Z", steps)
