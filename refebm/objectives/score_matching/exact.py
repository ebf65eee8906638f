r"""Exact (Hyvarinen) and sliced score matching, and their population forms (D13-D15).

Convention: \(p_\theta = e^{-E_\theta} / Z_\theta\) (the lectures' \(f = -E\)); \(s_\theta =
\nabla_x \log p_\theta = -\nabla_x E_\theta\), \(H_\theta = \nabla_x^2 \log p_\theta\).
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from ... import _validate as _v
from ..._backend import array_namespace
from .. import _quadrature as _q
from ._common import (
    _energy_sum,
    _finite,
    _model_iv,
    _model_score,
    _numpy_only,
    _reduce,
    _reduction_iv,
    _score_and_laplacian,
)

__all__ = ["score_matching_loss", "sliced_score_matching_loss", "score_matching_population_loss",
           "fisher_divergence"]


# ----------------------------------------------------------------------------------------
# exact score matching (D13-D15)
# ----------------------------------------------------------------------------------------

def score_matching_loss(energy, x, *, score=None, reduction="mean"):
    r"""Hyvarinen's score-matching objective with the exact Hessian trace.

    Parameters
    ----------
    energy : callable or None
        ``energy(x) -> (n,)``, per-point and twice differentiable in ``x``. An
        [`MLPEnergy`][refebm.energies.MLPEnergy] (or the ``energy`` method of an object with a
        ``score_and_laplacian`` method) uses its one-pass forward-mode Laplacian and runs on any
        backend; any other energy uses autograd (NumPy only): one trace of \(E\) and
        \(\nabla_x E\), then one reverse-over-reverse pass per dimension for
        \(\partial_k^2 E\). ``None`` when the model is given as ``score=``.
    x : array, shape (n, d)
        Data.
    score : callable, optional, keyword-only
        A score model ``score(x) -> (n, d)`` (a score network that is not the gradient of an
        energy); its divergence \(\operatorname{tr} \nabla_x s\) comes from autograd, one
        VJP per dimension (NumPy only). When given it is used and ``energy`` is not called.
    reduction : {"mean", "none"}
        The batch mean, or the per-point terms ``(n,)``.

    Returns
    -------
    loss : scalar (or array of shape (n,))
        \(\frac1n \sum_i [\tfrac12 \|s_\theta(x_i)\|^2 + \operatorname{tr} H_\theta(x_i)]\).

    Math
    ----
    D13-D15, Hyvarinen (2005) eq. (4): for data with a smooth density that vanishes at infinity,

    \[
        \tfrac12 \mathbb E_{p_\text{data}} \|\nabla \log p_\text{data} - s_\theta\|^2
        = \mathbb E_{p_\text{data}}\big[\tfrac12 \|s_\theta\|^2 + \operatorname{tr} \nabla_x
        s_\theta\big] + \tfrac12 \mathbb E_{p_\text{data}}\|\nabla \log p_\text{data}\|^2,
    \]

    from \(-\int p\, \partial_i \log p\, s_i = -\int \partial_i p\, s_i = \int p\, \partial_i
    s_i\) (integration by parts, boundary term zero). In the energy:
    \(\tfrac12 \|\nabla_x E\|^2 - \Delta E\).

    Examples
    --------
    For \(E = \|x\|^2/2\) (standard normal model) the terms are \(\tfrac12\|x\|^2 - d\):

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from refebm.objectives.score_matching import score_matching_loss
    >>> x = np.array([[1.0, 2.0], [0.0, 0.0]])
    >>> score_matching_loss(lambda x: 0.5 * anp.sum(x**2, axis=1), x, reduction="none").tolist()
    [0.5, -2.0]
    """
    _model_iv(energy, score)
    xp = array_namespace(x)
    x = _v.points("x", x, xp=xp)
    reduction = _reduction_iv(reduction)
    s, lap = _score_and_laplacian(energy, x, xp, score=score)
    terms = 0.5 * xp.sum(s * s, axis=1) + lap
    return _v.as_dtype(_reduce(terms, reduction, xp), _v.result_dtype(x))


# ----------------------------------------------------------------------------------------
# sliced score matching
# ----------------------------------------------------------------------------------------

def _projections_iv(v, n, d):
    v = _v.real_array("v", v, ndim=(2, 3))
    shape = np.shape(getval(v))
    if shape[-2:] != (n, d):
        raise ValueError(
            f"`v` must have shape (m, {n}, {d}) or ({n}, {d}) to match `x`, got shape {shape}")
    return v


def sliced_score_matching_loss(energy, x, v, *, score=None, variance_reduced=False,
                               reduction="mean"):
    r"""Sliced score matching with given projection vectors (Song et al. 2019).

    Parameters
    ----------
    energy : callable or None
        ``energy(x) -> (n,)``, per-point, twice differentiable (autograd, NumPy only); ``None``
        when the model is given as ``score=``.
    x : array, shape (n, d)
        Data.
    v : array, shape (m, n, d) or (n, d)
        Projection vectors, ``m`` per point. Draw them with \(\mathbb E[v v^\top] = I\)
        (standard normal or Rademacher) for an unbiased estimate of the exact loss.
    score : callable, optional, keyword-only
        A score model ``score(x) -> (n, d)`` (NCSN-style score networks); then \(v^\top
        \nabla_x s\, v\) is one VJP of the score. When given it is used and ``energy`` is not
        called.
    variance_reduced : bool
        Use \(\tfrac12 \|s\|^2\) in place of \(\tfrac12 (v^\top s)^2\) (SSM-VR), exact when the
        score is cheap.
    reduction : {"mean", "none"}
        The mean over vectors and points, or the per-point means over vectors ``(n,)``.

    Returns
    -------
    loss : scalar (or (n,))
        \(\frac{1}{mn} \sum_{j,i} [v_{ji}^\top H_\theta(x_i) v_{ji} + \tfrac12 (v_{ji}^\top
        s_\theta(x_i))^2]\), or with \(\tfrac12 \|s_\theta(x_i)\|^2\) when variance-reduced.

    Math
    ----
    D15 with Hutchinson's identity \(\mathbb E_v[v^\top H v] = \operatorname{tr}(H\,\mathbb
    E[vv^\top]) = \operatorname{tr} H\) and \(\mathbb E_v[(v^\top s)^2] = \|s\|^2\); each
    \(v^\top H v\) is one Hessian-vector product, \(v^\top \nabla_x (v^\top s)\). With all
    \(2^d\) Rademacher vectors both identities hold exactly and the loss equals
    [`score_matching_loss`][refebm.objectives.score_matching_loss].

    Examples
    --------
    For \(E = \|x\|^2/2\), \(v^\top H v = -\|v\|^2\); with \(v = (1, 1)\) at \(x = (1, 0)\):
    \(-2 + \tfrac12 \cdot 1\).

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from refebm.objectives.score_matching import sliced_score_matching_loss
    >>> energy = lambda x: 0.5 * anp.sum(x**2, axis=1)
    >>> float(sliced_score_matching_loss(energy, np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]])))
    -1.5
    """
    kind = _model_iv(energy, score)
    xp = array_namespace(x, v)
    x = _v.points("x", x, xp=xp)
    _numpy_only(xp, "`sliced_score_matching_loss`")
    n, d = np.shape(getval(x))
    v = _projections_iv(v, n, d)
    variance_reduced = _v.boolean("variance_reduced", variance_reduced)
    reduction = _reduction_iv(reduction)
    m = np.shape(getval(v))[0] if np.ndim(getval(v)) == 3 else 1
    stacked = anp.concatenate([x] * m, axis=0) if m > 1 else x  # row j n + i is x_i
    v_flat = anp.reshape(v, (m * n, d))
    if kind == "score":
        vjp, s = autograd.make_vjp(score)(stacked)
        if np.shape(getval(s)) != (m * n, d):
            raise ValueError(f"`score` must return shape ({m * n}, {d}) for {m * n} points, "
                             f"got shape {np.shape(getval(s))}")
        quad = anp.sum(vjp(v_flat) * v_flat, axis=1)  # v^T (grad_x s) v
    else:
        vjp, g = autograd.make_vjp(autograd.grad(_energy_sum(energy, m * n)))(stacked)
        quad = -anp.sum(vjp(v_flat) * v_flat, axis=1)  # v^T H v with H = -grad^2 E
        s = -g
    _finite("v^T H v", quad)
    _finite("the score", s)
    if variance_reduced:
        half_sq = 0.5 * anp.sum(s * s, axis=1)
    else:
        half_sq = 0.5 * anp.sum(s * v_flat, axis=1) ** 2  # (v^T s)^2
    terms = anp.mean(anp.reshape(quad + half_sq, (m, n)), axis=0)
    return _v.as_dtype(_reduce(terms, reduction, anp), _v.result_dtype(x, v))


# ----------------------------------------------------------------------------------------
# population versions by quadrature (d <= 3)
# ----------------------------------------------------------------------------------------

def score_matching_population_loss(energy, data_log_prob, bounds, *, score=None, panels=None,
                                   tol=1e-9):
    r"""The population score-matching objective \(J(\theta)\) by quadrature (d <= 3).

    Parameters
    ----------
    energy : callable or None
        The model energy, ``energy(x) -> (n,)``; ``None`` when the model is given as ``score=``.
    data_log_prob : callable
        ``data_log_prob(x) -> (n,)``, the normalized log density of the data.
    bounds : sequence of (lo, hi)
        A finite box that holds the data's mass (checked to ``tol``).
    score : callable, optional, keyword-only
        A score model ``score(x) -> (n, d)`` in place of the energy (as in
        [`score_matching_loss`][refebm.objectives.score_matching_loss]).
    panels : int, optional
        Panels per dimension of the composite 16-point Gauss-Legendre rule (default 64, 16, 4
        for d = 1, 2, 3); a rule with half the panels must agree to ``tol`` or a
        ``RuntimeWarning`` says so.
    tol : float

    Returns
    -------
    loss : float
        \(\int p_\text{data}(x) [\tfrac12 \|s_\theta(x)\|^2 + \operatorname{tr} H_\theta(x)]\,
        dx\), differentiable in the parameters that ``energy`` closes over.

    Math
    ----
    D13-D15: \(J(\theta) + \tfrac12 \mathbb E_{p_\text{data}} \|\nabla \log p_\text{data}\|^2
    = D_F(p_\text{data}, p_\theta)\) ([`fisher_divergence`][refebm.objectives.fisher_divergence]).

    Examples
    --------
    Standard normal data and model: \(\mathbb E[\tfrac12 x^2 - 1] = -\tfrac12\).

    >>> import numpy as np
    >>> from refebm.objectives.score_matching import score_matching_population_loss
    >>> log_p = lambda x: -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> loss = score_matching_population_loss(lambda x: 0.5 * x[:, 0]**2, log_p, [(-12, 12)])
    >>> bool(np.isclose(loss, -0.5, rtol=1e-12))
    True
    """
    _model_iv(energy, score)
    _v.function("data_log_prob", data_log_prob)
    box, panels = _q.box_iv(bounds, panels)
    _v.tolerance("tol", tol)

    def integrand(nodes):
        return {"data_log_prob": score_matching_loss(energy, nodes, score=score,
                                                     reduction="none")}

    out = _q.expectations({"data_log_prob": data_log_prob}, integrand, box, panels, tol=tol)
    return out["data_log_prob"]


def fisher_divergence(energy, data_log_prob, bounds, *, score=None, panels=None, tol=1e-9):
    r"""\(D_F(p_\text{data}, p_\theta) = \tfrac12 \mathbb E_{p_\text{data}} \|\nabla \log
    p_\text{data} - s_\theta\|^2\) by quadrature (d <= 3, NumPy only).

    Parameters
    ----------
    energy : callable or None
        The model energy; ``None`` when the model is given as ``score=``.
    data_log_prob : callable
        ``data_log_prob(x) -> (n,)``, normalized (its score comes from autograd).
    bounds, score, panels, tol
        As in [`score_matching_population_loss`][refebm.objectives.score_matching_population_loss].
        The arguments come model first, as everywhere in refebm, although the divergence is written
        \(D_F(p_\text{data}, p_\theta)\).

    Math
    ----
    D13. Zero exactly when the two scores agree \(p_\text{data}\)-almost everywhere.

    Examples
    --------
    \(\mathcal N(0, 1)\) against the model \(\mathcal N(1, 1)\): \(\tfrac12 \cdot 1^2\).

    >>> import numpy as np
    >>> from refebm.objectives.score_matching import fisher_divergence
    >>> log_p = lambda x: -0.5 * x[:, 0]**2 - 0.5 * np.log(2 * np.pi)
    >>> fd = fisher_divergence(lambda x: 0.5 * (x[:, 0] - 1.0)**2, log_p, [(-12, 12)])
    >>> bool(np.isclose(fd, 0.5, rtol=1e-12))
    True
    """
    model_score, _ = _model_score(energy, score)
    _v.function("data_log_prob", data_log_prob)
    box, panels = _q.box_iv(bounds, panels)
    _v.tolerance("tol", tol)

    def integrand(nodes):
        data_score = autograd.grad(lambda y: anp.sum(data_log_prob(y)))(nodes)
        diff = data_score - model_score(nodes)
        return {"data_log_prob": 0.5 * anp.sum(diff * diff, axis=1)}

    out = _q.expectations({"data_log_prob": data_log_prob}, integrand, box, panels, tol=tol)
    return out["data_log_prob"]
