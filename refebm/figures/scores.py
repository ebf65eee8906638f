r"""Figures on score matching: exact, sliced and denoising fits, and DSM's variance (D15-D17).

Convention: \(p_\theta(x) = e^{-E_\theta(x)} / Z_\theta\), the lectures' \(f = -E\); the score
is \(s_\theta = \nabla_x \log p_\theta = -\nabla_x E_\theta\). The denoising loss is
\(\tfrac12 \|s_\theta(x + \sigma z) + z / \sigma\|^2\) (the convention of
[`refebm.objectives.denoising_score_matching_loss`][refebm.objectives.denoising_score_matching_loss]).
"""

from __future__ import annotations

from functools import partial

import autograd.numpy as anp
import numpy as np

from ..families import Gaussian, GaussianMixture
from ..objectives.score_matching import (denoising_score_matching_loss, fisher_divergence,
                                         score_matching_exponential_family,
                                         score_matching_population_loss,
                                         sliced_score_matching_loss)
from ..partition import quadrature
from ..train import fit
from ._common import figure_iv, finish, fixed_style, new_figure

__all__ = ["score_matching_fits", "dsm_variance"]


# ---------------------------------------------------------------------------------------------
# D15, D16: fits by exact, sliced and denoising score matching

#: Data density of the score-matching fits: a two-component mixture on the line.
_FIT_DATA = GaussianMixture(np.array([0.35, 0.65]), np.array([[-1.5], [1.2]]),
                            np.array([[[0.25]], [[0.49]]]))
_DSM_SIGMA = 0.3


def _stats(x):
    r"""Sufficient statistics \(T(x) = (x, x^2, x^3, x^4)\), shape ``(n, 4)``."""
    u = x[:, 0:1]
    return anp.concatenate([u, u**2, u**3, u**4], axis=1)


def _poly_energy(theta, x):
    r"""The quartic exponential family as an energy: \(E_\theta(x) = -\theta^\top T(x)\)."""
    return -anp.sum(_stats(x) * theta, axis=1)


@fixed_style
def score_matching_fits(out_dir, *, fast=False, rng=0):
    r"""One model family fitted to the same data by exact, sliced and denoising score matching.

    Data: draws of \(0.35\,\mathcal N(-1.5, 0.5^2) + 0.65\,\mathcal N(1.2, 0.7^2)\). Model:
    the quartic exponential family \(\log p_\theta = \theta^\top (x, x^2, x^3, x^4) - A(\theta)\).
    Exact score matching is solved in closed form
    ([`refebm.objectives.score_matching_exponential_family`][refebm.objectives.score_matching_exponential_family]); sliced (one Gaussian
    projection per point and step) and denoising (\(\sigma = 0.3\), fresh noise each step)
    score matching are minimized with Adam ([`refebm.train.fit`][refebm.train.fit]). Each fit is normalized
    by quadrature; the legend gives its Fisher divergence to the data density (by quadrature).
    DSM fits the noised density \(p_\text{data} * \mathcal N(0, \sigma^2)\) (dotted), which is
    wider than the data (D16).

    Math
    ----
    D15: \(J(\theta) = \mathbb E[\tfrac12 s_\theta^2 + s_\theta']\), sliced:
    \(\mathbb E[v^2 s_\theta' + \tfrac12 (v s_\theta)^2]\); D16: \(\mathbb E\,\tfrac12
    (s_\theta(x + \sigma z) + z / \sigma)^2\).
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    n, steps, batch_size = (200, 60, 100) if fast else (2000, 1000, 500)
    x = _FIT_DATA.sample(n, rng=gen)
    exact = score_matching_exponential_family(x, T=_stats).theta

    def ssm_loss(theta, batch, rng):
        v = rng.standard_normal(batch.shape)
        return sliced_score_matching_loss(partial(_poly_energy, theta), batch, v)

    def dsm_loss(theta, batch, rng):
        z = rng.standard_normal(batch.shape)
        return denoising_score_matching_loss(partial(_poly_energy, theta), batch, z, _DSM_SIGMA)

    theta0 = np.array([0.0, -0.5, 0.0, 0.0])  # the standard normal
    fits = {"exact SM (closed form)": exact}
    losses = {}
    for label, loss in (("sliced SM (Adam)", ssm_loss),
                        ("denoising SM, σ = 0.3 (Adam)", dsm_loss)):
        res = fit(loss, theta0, x, steps=steps, step_size=0.02, rng=gen, batch_size=batch_size)
        fits[label] = np.asarray(res.theta)
        losses[label] = res.losses

    grid = np.linspace(-4.0, 4.0, 400)[:, None]
    true_p = np.exp(np.asarray(_FIT_DATA.log_prob(grid)))
    noised = GaussianMixture(_FIT_DATA.weights, _FIT_DATA.means,
                             _FIT_DATA.covs + _DSM_SIGMA**2)
    fig, axes = new_figure(1, 3, width=16.0, height=4.6, fast=fast)
    ax = axes[0, 0]
    ax.hist(x[:, 0], bins=60, density=True, color="0.85", label=f"{n} data points")
    ax.plot(grid[:, 0], true_p, "k-", lw=2, label="data density")
    ax.plot(grid[:, 0], np.exp(np.asarray(noised.log_prob(grid))), "k:", lw=1.5,
            label="noised data density (DSM's target)")
    axes[0, 1].plot(grid[:, 0], np.asarray(_FIT_DATA.score(grid))[:, 0], "k-", lw=2,
                    label="data score")
    axes[0, 1].plot(grid[:, 0], np.asarray(noised.score(grid))[:, 0], "k:", lw=1.5,
                    label="noised data score")
    data = {"x": x, "grid": grid[:, 0], "true_density": true_p}
    # Sliced SM lands almost on the exact fit: the exact curve is drawn wide and pale, the
    # sliced one dashed on top of it, and the inset shows their difference.
    styles = [dict(lw=3.2, alpha=0.55, zorder=2), dict(lw=1.5, ls=(0, (4, 2.5)), zorder=3),
              dict(lw=1.5, zorder=2)]
    scores = []
    for k, (label, theta) in enumerate(fits.items()):
        energy = partial(_poly_energy, theta)
        log_z = float(quadrature(energy, [(-np.inf, np.inf)], tol=1e-9).log_z)
        p = np.exp(-np.asarray(energy(grid)) - log_z)
        s = np.asarray(_stats_score(theta, grid))
        fd = float(fisher_divergence(energy, _FIT_DATA.log_prob, [(-8.0, 8.0)]))
        ax.plot(grid[:, 0], p, color=f"C{k}", label=f"{label}: D_F = {fd:.3f}", **styles[k])
        axes[0, 1].plot(grid[:, 0], s, color=f"C{k}", label=label, **styles[k])
        scores.append(s)
        data[f"theta_{k}"] = theta
        data[f"density_{k}"] = p
        data[f"fisher_{k}"] = np.array(fd)
    data["sliced_minus_exact_score"] = scores[1] - scores[0]
    inset = axes[0, 1].inset_axes([0.06, 0.05, 0.34, 0.28])
    inset.plot(grid[:, 0], scores[1] - scores[0], color="C1", lw=1.0)
    inset.axhline(0, color="0.7", lw=0.6)
    inset.set_title("sliced - exact score", fontsize=7)
    inset.tick_params(labelsize=6)
    ax.set_title("D15, D16: quartic EBM fitted three ways")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(fontsize=7.5, loc="upper left")
    ax = axes[0, 1]
    ax.set_ylim(-12, 12)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_title("scores s(x) = d/dx log p(x)")
    ax.set_xlabel("x")
    ax.set_ylabel("score")
    ax.legend(fontsize=7.5, loc="upper right")
    ax = axes[0, 2]
    for k, (label, values) in enumerate(losses.items(), start=1):
        ax.plot(np.arange(1, steps + 1), values, color=f"C{k}", lw=0.7, label=label)
        data[f"losses_{k}"] = values
    ax.set_xscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("minibatch loss")
    ax.set_title("the stochastic objectives during training")
    ax.legend(fontsize=7.5, loc="center right")
    return finish(fig, out_dir, "score_matching_fits", data)


def _stats_score(theta, x):
    r"""\(s_\theta(x) = \theta^\top T'(x)\) with \(T' = (1, 2x, 3x^2, 4x^3)\)."""
    u = x[:, 0]
    return theta[0] + 2 * theta[1] * u + 3 * theta[2] * u**2 + 4 * theta[3] * u**3


# ---------------------------------------------------------------------------------------------
# D16, D17: the variance of DSM and its control variate


@fixed_style
def dsm_variance(out_dir, *, fast=False, rng=0):
    r"""The variance of the DSM estimator against \(\sigma\), without and with the control
    variate (D16, D17).

    Data: \(\tfrac12 \mathcal N((-1.5, 0), 0.5 I) + \tfrac12 \mathcal N((1.5, 0), 0.5 I)\);
    model: the fixed Gaussian \(\mathcal N(0, [[1.5, 0.3], [0.3, 1]])\). For each \(\sigma\),
    fresh \((x, z)\) pairs give the per-pair loss terms of
    [`refebm.objectives.denoising_score_matching_loss`][refebm.objectives.denoising_score_matching_loss], plain and with
    ``control_variate=True``. Left: their sample variances, with the leading term
    \(d / (2\sigma^4)\) of the plain one. Right: both means minus \(d / (2\sigma^2)\),
    \(\pm 2\) standard errors: the same expectation, which tends to the exact score-matching
    objective \(J\) (by quadrature) as \(\sigma \to 0\).

    Math
    ----
    D16: the plain term is \(\tfrac12 \|s(x + \sigma z) + z/\sigma\|^2 = \|z\|^2 / (2\sigma^2)
    + z^\top s(x) / \sigma + O(1)\), variance \(\sim d / (2\sigma^4)\). D17: subtracting
    \(c = z^\top s(x)/\sigma + (\|z\|^2 - d)/(2\sigma^2)\), which has mean zero, leaves a
    variance bounded as \(\sigma \to 0\).
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    n = 300 if fast else 20000
    sigmas = np.geomspace(1e-3, 1.0, 4 if fast else 13)
    data_mix = GaussianMixture(np.array([0.5, 0.5]), np.array([[-1.5, 0.0], [1.5, 0.0]]),
                               np.array([0.5 * np.eye(2), 0.5 * np.eye(2)]))
    model = Gaussian(np.zeros(2), np.array([[1.5, 0.3], [0.3, 1.0]]))
    d = 2
    var_plain, var_cv, mean_plain, mean_cv = [], [], [], []
    for sigma in sigmas:
        x = data_mix.sample(n, rng=gen)
        z = gen.standard_normal((n, d))
        plain = np.asarray(denoising_score_matching_loss(None, x, z, float(sigma), score=model.score,
                                                         reduction="none"))
        cv = np.asarray(denoising_score_matching_loss(None, x, z, float(sigma), score=model.score,
                                                      control_variate=True, reduction="none"))
        var_plain.append(np.var(plain, ddof=1))
        var_cv.append(np.var(cv, ddof=1))
        mean_plain.append(np.mean(plain))
        mean_cv.append(np.mean(cv))
    var_plain, var_cv = np.array(var_plain), np.array(var_cv)
    shift = d / (2.0 * sigmas**2)
    mean_plain, mean_cv = np.array(mean_plain) - shift, np.array(mean_cv) - shift
    j_exact = float(score_matching_population_loss(model.energy, data_mix.log_prob,
                                                   [(-7.0, 7.0), (-6.0, 6.0)]))

    fig, axes = new_figure(1, 2, width=12.5, height=4.6, fast=fast)
    ax = axes[0, 0]
    ax.loglog(sigmas, var_plain, "o-", label="plain DSM")
    ax.loglog(sigmas, var_cv, "s-", label="DSM with control variate")
    ax.loglog(sigmas, d / (2.0 * sigmas**4), "k:", label="d / (2σ⁴)")
    ax.set_xlabel("σ")
    ax.set_ylabel(f"variance of one term ({n} pairs per σ)")
    ax.set_title("D16, D17: DSM's variance blows up as σ → 0; the control variate fixes it")
    ax.legend(fontsize=8, loc="upper right")
    ax = axes[0, 1]
    ax.errorbar(sigmas, mean_plain, yerr=2 * np.sqrt(var_plain / n), fmt="o", capsize=3,
                label="plain DSM")
    ax.errorbar(sigmas * 1.08, mean_cv, yerr=2 * np.sqrt(var_cv / n), fmt="s", capsize=3,
                label="with control variate (σ shifted 8% for legibility)")
    ax.axhline(j_exact, color="k", ls=":", label=f"exact SM objective J = {j_exact:.4f}")
    ax.set_xscale("log")
    lo = min(mean_cv.min(), j_exact) - 1.0
    ax.set_ylim(lo, max(mean_cv.max(), j_exact) + 1.0)
    ax.set_xlabel("σ")
    ax.set_ylabel("mean loss - d / (2σ²)  (± 2 s.e.)")
    ax.set_title("same expectation; plain error bars leave the frame at small σ")
    ax.legend(fontsize=8, loc="upper left")
    data = {"sigmas": sigmas, "variance_plain": var_plain, "variance_control_variate": var_cv,
            "mean_plain_shifted": mean_plain, "mean_control_variate_shifted": mean_cv,
            "exact_sm_objective": np.array(j_exact)}
    return finish(fig, out_dir, "dsm_variance", data)
