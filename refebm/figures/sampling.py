r"""Figures on scores and samplers (D10, D11, D18, D21, D22).

Convention: \(p(x) = e^{-E(x)} / Z\), the lectures' \(f = -E\); the score is
\(\nabla_x \log p = -\nabla_x E\). Langevin steps are the CS236 ones,
\(x + \epsilon \nabla_x \log p + \sqrt{2 \epsilon} z\), unless a figure says otherwise.
"""

from __future__ import annotations

import numpy as np

from ..diagnostics import ess
from ..families import Gaussian, GaussianMixture
from ..samplers import annealed_langevin, mala_kernel, mh_kernel, sample, ula_kernel
from ..samplers.conventions import stationary_law
from ._common import figure_iv, finish, fixed_style, new_figure

__all__ = ["score_field", "chains", "ula_bias", "annealed_vs_plain"]


def _grid(lo, hi, m):
    """A square ``m x m`` grid on ``[lo, hi]^2``: the two meshes and the ``(m*m, 2)`` points."""
    axis = np.linspace(lo, hi, m)
    gx, gy = np.meshgrid(axis, axis)
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], axis=1)


# ---------------------------------------------------------------------------------------------
# D21: the score of a two-Gaussian mixture


@fixed_style
def score_field(out_dir, *, fast=False, rng=0):
    r"""The score of a two-Gaussian mixture as arrows over its density contours (D21).

    The mixture \(0.4\,\mathcal N((-1.5, -1), \Sigma_1) + 0.6\,\mathcal N((1.5, 1), \Sigma_2)\)
    of [`refebm.families.GaussianMixture`][refebm.families.GaussianMixture]. Arrows show the direction of
    \(\nabla_x \log p\), colored by \(\log_{10} \|\nabla_x \log p\|\): they point to the modes
    and vanish at them and at the saddle between them. Deterministic: ``rng`` is checked but
    not used.

    Math
    ----
    D21, D12: \(\nabla_x \log p = -\sum_k r_k(x) \Sigma_k^{-1} (x - \mu_k)\) with the
    responsibilities \(r_k\).
    """
    out_dir, fast, _ = figure_iv(out_dir, fast, rng)
    mix = GaussianMixture(np.array([0.4, 0.6]), np.array([[-1.5, -1.0], [1.5, 1.0]]),
                          np.array([[[0.8, 0.3], [0.3, 0.6]], [[0.7, -0.2], [-0.2, 0.9]]]))
    gx, gy, pts = _grid(-4.0, 4.0, 60 if fast else 200)
    density = np.exp(np.asarray(mix.log_prob(pts))).reshape(gx.shape)
    _, _, qpts = _grid(-4.0, 4.0, 15 if fast else 23)
    s = np.asarray(mix.score(qpts))
    norm = np.linalg.norm(s, axis=1)
    unit = s / np.maximum(norm, 1e-300)[:, None]

    fig, axes = new_figure(1, 1, width=8.6, height=6.2, fast=fast)
    ax = axes[0, 0]
    cs = ax.contourf(gx, gy, density, levels=14, cmap="Blues")
    fig.colorbar(cs, ax=ax, label="p(x)")
    q = ax.quiver(qpts[:, 0], qpts[:, 1], unit[:, 0], unit[:, 1], np.log10(norm + 1e-12),
                  cmap="autumn", angles="xy", scale=28, width=0.004)
    fig.colorbar(q, ax=ax, label="arrow colour: log10 ‖∇ₓ log p(x)‖ (arrows: direction)")
    ax.plot(*mix.means.T, "k+", ms=12, mew=2, label="component means")
    ax.set_aspect("equal")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("D21: the score ∇ₓ log p of a two-Gaussian mixture")
    data = {"grid_x": gx, "grid_y": gy, "density": density, "arrow_points": qpts, "score": s}
    return finish(fig, out_dir, "score_field", data)


# ---------------------------------------------------------------------------------------------
# D10, D11, D22: MH and Langevin chains on two modes


@fixed_style
def chains(out_dir, *, fast=False, rng=0):
    r"""Random-walk MH and Langevin chains on a two-mode density, with traces (D10, D11, D22).

    Target: \(\tfrac12 \mathcal N((-2, 0), 0.5 I) + \tfrac12 \mathcal N((2, 0), 0.5 I)\). All
    chains start in the left mode. Top: one chain of each sampler over the density; bottom
    left: the traces of \(x_1\); bottom right: the fraction of chains in the right mode
    (\(x_1 > 0\)) over the steps, against the target's 1/2 (band: \(\pm 3\) binomial standard
    errors for that many independent chains). Both converge, slowly, because crossing the
    low-density region between the modes is rare (D22); the legend gives the bulk effective
    sample size of \(x_1\) ([`refebm.diagnostics.ess`][refebm.diagnostics.ess], second half of the chains) per
    1000 steps of one chain.

    Math
    ----
    D10: propose \(x' = x + \delta z\), accept with \(\min(1, e^{E(x) - E(x')})\).
    D11: ULA \(x' = x + \epsilon \nabla \log p(x) + \sqrt{2\epsilon} z\).
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    n_steps, n_chains = (200, 40) if fast else (2000, 200)
    mix = GaussianMixture(np.array([0.5, 0.5]), np.array([[-2.0, 0.0], [2.0, 0.0]]),
                          np.array([0.5 * np.eye(2), 0.5 * np.eye(2)]))
    x0 = np.tile(np.array([[-2.0, 0.0]]), (n_chains, 1))
    mh_step_size, ula_step_size = 0.9, 0.05
    res_mh = sample(mh_kernel(mix.energy, mh_step_size), x0, n_steps, gen)
    res_ula = sample(ula_kernel(mix.energy, ula_step_size), x0, n_steps, gen)
    trace_mh = np.asarray(res_mh.trace).transpose(1, 0, 2)     # (step, chain, dim) to plot
    trace_ula = np.asarray(res_ula.trace).transpose(1, 0, 2)
    steps = np.arange(1, n_steps + 1)
    right_mh = np.mean(trace_mh[:, :, 0] > 0, axis=1)
    right_ula = np.mean(trace_ula[:, :, 0] > 0, axis=1)

    gx, gy, pts = _grid(-4.5, 4.5, 50 if fast else 160)
    density = np.exp(np.asarray(mix.log_prob(pts))).reshape(gx.shape)
    fig, axes = new_figure(2, 2, width=11.5, height=8.0, fast=fast)
    n_path = min(n_steps, 800)
    for ax, trace in ((axes[0, 0], trace_mh), (axes[0, 1], trace_ula)):
        ax.contour(gx, gy, density, levels=8, colors="0.6", linewidths=0.8)
        path = np.concatenate([x0[:1], trace[:n_path, 0]], axis=0)
        ax.plot(path[:, 0], path[:, 1], lw=0.6, color="C0", alpha=0.8)
        ax.plot(*path[0], "go", ms=7, label="start")
        ax.plot(*path[-1], "rs", ms=7, label=f"step {n_path}")
        ax.set_aspect("equal")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.legend(fontsize=8, loc="upper left")
    axes[0, 0].set_title(f"D10: one chain, random-walk MH (δ = {mh_step_size}), "
                         f"acceptance {np.mean(res_mh.acceptance_rate):.2f}")
    axes[0, 1].set_title(f"D11: one chain, ULA (ε = {ula_step_size})")
    half = n_steps // 2
    ess_mh, ess_ula = (float(ess(t[half:, :, 0].T)) * 1000.0 / (n_chains * (n_steps - half))
                       for t in (trace_mh, trace_ula))
    ax = axes[1, 0]
    ax.plot(steps, trace_mh[:, 0, 0], lw=0.6,
            label=f"MH, chain 0 (ESS of x₁: {ess_mh:.1f} per 1000 steps)")
    ax.plot(steps, trace_ula[:, 0, 0], lw=0.6,
            label=f"ULA, chain 0 (ESS of x₁: {ess_ula:.1f} per 1000 steps)")
    ax.set_xlabel("step")
    ax.set_ylabel("x₁")
    ax.set_title("traces of x₁: mode switches are rare")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[1, 1]
    band = 3.0 * np.sqrt(0.25 / n_chains)
    ax.axhspan(0.5 - band, 0.5 + band, color="0.85", label="target 1/2 ± 3 s.e.")
    ax.plot(steps, right_mh, label="MH")
    ax.plot(steps, right_ula, label="ULA")
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.set_ylabel("fraction of chains with x₁ > 0")
    ax.set_title(f"D22: {n_chains} chains started in the left mode")
    ax.legend(fontsize=8, loc="upper left")
    data = {"trace_mh": trace_mh[:, :4], "trace_ula": trace_ula[:, :4],
            "right_fraction_mh": right_mh, "right_fraction_ula": right_ula,
            "acceptance_mh": np.asarray(res_mh.acceptance_rate), "density": density,
            "ess_per_1000_steps": np.array([ess_mh, ess_ula])}
    return finish(fig, out_dir, "chains", data)


# ---------------------------------------------------------------------------------------------
# D11: ULA's bias


@fixed_style
def ula_bias(out_dir, *, fast=False, rng=0):
    r"""ULA's stationary variance against its step size: closed form, ULA and MALA (D11).

    Target \(\mathcal N(1, 1.5^2)\) (not centred, so a sign error in the drift would show).
    For each step size \(\epsilon\) (CS236 parametrization), independent chains start at
    exact draws of the target and run \(\lceil 10/\epsilon \rceil\) steps (at least 50), long
    past the relaxation time \(1/\epsilon\) of ULA on this target; the variance of their
    final states is the empirical stationary variance, with \(\pm 2\) standard errors
    \(\hat v \sqrt{2/(n-1)}\). ULA follows
    [`refebm.samplers.conventions.stationary_law`][refebm.samplers.conventions.stationary_law]; MALA stays at \(s^2\). Right: MALA's
    mean acceptance rate.

    Math
    ----
    D11: on \(\mathcal N(\mu, s^2)\) ULA is the AR(1) chain
    \(x' - \mu = (1 - \epsilon / s^2)(x - \mu) + \sqrt{2\epsilon} z\), whose stationary
    variance is \(s^2 / (1 - \epsilon / (2 s^2))\).
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    mu, s = 1.0, 1.5
    target = Gaussian(np.array([mu]), np.array([[s * s]]))
    n_chains = 300 if fast else 4000
    eps = np.geomspace(0.1, 3.5, 4 if fast else 12)
    closed_eps = np.geomspace(0.01, 3.9, 200)
    closed = np.array([stationary_law(np.array([mu]), np.array([[s * s]]), e).cov[0, 0]
                       for e in closed_eps])
    var_ula, var_mala, acc_mala = [], [], []
    for e in eps:
        n_steps = max(50, int(np.ceil(10.0 / e)))
        x0 = mu + s * gen.standard_normal((n_chains, 1))
        last_ula = np.asarray(sample(ula_kernel(target.energy, e), x0, n_steps, gen,
                                     keep="last").trace[:, -1])
        res = sample(mala_kernel(target.energy, e), x0, n_steps, gen, keep="last")
        var_ula.append(np.var(last_ula[:, 0], ddof=1))
        var_mala.append(np.var(np.asarray(res.trace[:, -1])[:, 0], ddof=1))
        acc_mala.append(np.mean(res.acceptance_rate))
    var_ula, var_mala = np.array(var_ula), np.array(var_mala)
    se = np.sqrt(2.0 / (n_chains - 1))

    fig, axes = new_figure(1, 2, width=12.0, height=4.6, fast=fast)
    ax = axes[0, 0]
    ax.plot(closed_eps, closed, "k-", label="closed form s² / (1 - ε / 2s²)")
    ax.errorbar(eps, var_ula, yerr=2 * se * var_ula, fmt="o", color="C0", capsize=3,
                label=f"ULA, {n_chains} chains (± 2 s.e.)")
    ax.errorbar(eps, var_mala, yerr=2 * se * var_mala, fmt="s", color="C1", capsize=3,
                label="MALA (exact invariance)")
    ax.axhline(s * s, color="C1", ls=":", label="target variance s² = 2.25")
    ax.axvline(2 * s * s, color="0.5", ls="--", lw=0.8, label="ULA unstable for ε ≥ 2s²")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step size ε  (x' = x + ε ∇log p + √(2ε) z)")
    ax.set_ylabel("stationary variance")
    ax.set_title("D11: ULA is biased for ε > 0; MALA is not (target N(1, 1.5²))")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[0, 1]
    ax.semilogx(eps, acc_mala, "s-", color="C1")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("step size ε")
    ax.set_ylabel("mean acceptance rate")
    ax.set_title("MALA's price: acceptance falls with ε")
    data = {"step_sizes": eps, "variance_ula": var_ula, "variance_mala": var_mala,
            "acceptance_mala": np.array(acc_mala), "closed_form_step_sizes": closed_eps,
            "closed_form_variance": closed}
    return finish(fig, out_dir, "ula_bias", data)


# ---------------------------------------------------------------------------------------------
# D18: plain against annealed Langevin


#: NCSN's epsilon: level i uses alpha_i = epsilon sigma_i^2 / sigma_L^2 (sigma_L = 0.3), so the
#: CS236 step alpha_i / 2 is about 0.055 of the noised variance 1 + sigma_i^2 at the wide levels.
_ANNEALED_STEP = 1e-2
#: The noise levels: 12 geometric levels from 20 (one wide mode) down to 0.3.
_ANNEALED_SIGMAS = np.geomspace(20.0, 0.3, 12)


@fixed_style
def annealed_vs_plain(out_dir, *, fast=False, rng=0):
    r"""Plain against annealed Langevin on the 0.2 / 0.8 mixture, with exact scores (D18).

    Target: \(0.2\,\mathcal N((-5, -5), I) + 0.8\,\mathcal N((5, 5), I)\) (Song and Ermon 2019,
    section 3.2.2). Chains start uniform on \([-8, 8]^2\). Plain ULA with the exact score
    leaves each chain in the basin it starts in, so it reports the modes' weights as about
    1/2 each; annealed Langevin ([`refebm.samplers.annealed_langevin`][refebm.samplers.annealed_langevin]) uses the exact
    scores of the noised mixtures \(p_\sigma = p * \mathcal N(0, \sigma^2 I)\), whose wide
    early levels let the chains find the weights. Bars: fraction of chains in each mode
    (\(x_1 + x_2 < 0\) or \(> 0\)), \(\pm 2\) binomial standard errors.

    Math
    ----
    D18: the noised mixture is the mixture with covariances \(\Sigma_k + \sigma^2 I\); level
    \(i\) takes \(T\) steps \(x + \tfrac{\alpha_i}{2} \nabla \log p_{\sigma_i} + \sqrt{\alpha_i}
    z\), \(\alpha_i = \epsilon \sigma_i^2 / \sigma_L^2\).
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    n, n_plain, n_each = (200, 100, 15) if fast else (1000, 500, 100)
    weights = np.array([0.2, 0.8])
    means = np.array([[-5.0, -5.0], [5.0, 5.0]])
    covs = np.array([np.eye(2), np.eye(2)])
    mix = GaussianMixture(weights, means, covs)
    sigmas = _ANNEALED_SIGMAS
    noised = {float(sig): GaussianMixture(weights, means, covs + sig**2 * np.eye(2))
              for sig in sigmas}

    def score_fn(x, sigma):
        return noised[sigma].score(x)

    exact = mix.sample(n, rng=gen)
    x0 = gen.uniform(-8.0, 8.0, size=(n, 2))
    plain = np.asarray(sample(ula_kernel(mix.energy, 0.05), x0, n_plain, gen,
                              keep="last").trace[:, -1])
    annealed = np.asarray(annealed_langevin(score_fn, x0, sigmas, _ANNEALED_STEP, n_each, gen))

    def second_mode(x):
        return float(np.mean(x[:, 0] + x[:, 1] > 0))

    fracs = np.array([second_mode(exact), second_mode(plain), second_mode(annealed)])
    fig, axes = new_figure(1, 4, width=16.0, height=4.4, fast=fast)
    panels = [("exact samples", exact),
              (f"plain ULA (ε = 0.05, {n_plain} steps)", plain),
              (f"annealed Langevin ({len(sigmas)} levels × {n_each} steps)", annealed)]
    for ax, (label, x) in zip(axes[0, :3], panels):
        ax.scatter(x[:, 0], x[:, 1], s=3, alpha=0.5)
        ax.set_xlim(-9, 9)
        ax.set_ylim(-9, 9)
        ax.set_aspect("equal")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.set_title(f"D18: {label}", fontsize=10)
    ax = axes[0, 3]
    labels = ["exact", "plain", "annealed"]
    err = 2.0 * np.sqrt(fracs * (1 - fracs) / n)
    ax.bar(np.arange(3) - 0.2, 1 - fracs, 0.4, yerr=err, capsize=3, label="mode (-5, -5)")
    ax.bar(np.arange(3) + 0.2, fracs, 0.4, yerr=err, capsize=3, label="mode (5, 5)")
    ax.axhline(0.2, color="C0", ls=":", lw=1)
    ax.axhline(0.8, color="C1", ls=":", lw=1)
    ax.set_xticks(np.arange(3), labels)
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of samples (dotted: true weights)")
    ax.set_title("mode weights (± 2 s.e.)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    data = {"exact": exact, "plain": plain, "annealed": annealed, "sigmas": sigmas,
            "second_mode_fraction": fracs}
    return finish(fig, out_dir, "annealed_vs_plain", data)
