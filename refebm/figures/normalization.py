r"""Figures on the partition function and what can be done without it (D1, D2, D5, D6).

Convention: \(p(x) = e^{-E(x)} / Z\) with \(g = e^{-E}\) the unnormalized density; the
lectures' \(f = -E = \log g\).
"""

from __future__ import annotations

import math
import time
import warnings

import autograd.numpy as anp
import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln

from .. import compose
from ..energies import ring_energy, ring_score
from ..families import Beta, Exponential, Gamma, Gaussian
from ..partition import quadrature
from ..partition.sampling import ais
from ..ratio import anomaly_score, denoise
from ..samplers import mh_kernel
from ._common import figure_iv, finish, fixed_style, new_figure

__all__ = ["normalization", "quadrature_cost", "ratio"]


# ---------------------------------------------------------------------------------------------
# D1, D2: unnormalized and normalized densities


def _f_demo(x):
    r"""The real function \(f(x) = 1.2 \sin(1.5 x) + 0.3 x\) turned non-negative four ways."""
    return 1.2 * anp.sin(1.5 * x[:, 0]) + 0.3 * x[:, 0]


def _roots(f, lo, hi, n=2001):
    """The sign changes of a scalar function on ``[lo, hi]``, refined by Brent's method."""
    grid = np.linspace(lo, hi, n)
    vals = f(grid[:, None])
    out = []
    for a, b, fa, fb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]):
        if fa == 0.0:
            out.append(float(a))
        elif fa * fb < 0:
            out.append(brentq(lambda t: float(f(np.array([[t]]))[0]), a, b, xtol=1e-15))
    return out


def _log_z_pieces(energy, cuts):
    """\\(\\log Z\\) on ``[cuts[0], cuts[-1]]`` split at the inner cuts (zeros of g, kinks of
    |f|), one [`quadrature`][refebm.partition.quadrature.quadrature] per piece, combined by log-sum-exp."""
    parts = [quadrature(energy, [(a, b)], tol=1e-9).log_z for a, b in zip(cuts[:-1], cuts[1:])]
    return float(np.logaddexp.reduce(np.asarray(parts, dtype=float)))


@fixed_style
def normalization(out_dir, *, fast=False, rng=0):
    r"""Unnormalized \(g\) against normalized \(p = g / Z\); four non-negative maps of one f.

    Top row: four closed-form families (Gaussian, Exponential, Gamma, Beta) as EBMs, their
    \(g = e^{-E}\) and \(p = g / Z\), with \(Z = e^{A(\theta)}\) in closed form and by
    quadrature (D1). Bottom row: one real function \(f\) on \([-3, 3]\) and the four
    non-negative \(g = f^2, e^f, |f|, \log(1 + e^f)\) of [`refebm.compose`][refebm.compose], normalized by
    quadrature (D2). Deterministic: ``rng`` is checked but not used.

    Math
    ----
    D1: \(p = g / Z\), \(Z = \int g\); D2: any real \(f\) gives a non-negative \(g\).
    """
    out_dir, fast, _ = figure_iv(out_dir, fast, rng)
    n_grid = 200 if fast else 600
    families = [
        ("Gaussian(1, 0.7²)", Gaussian(np.array([1.0]), np.array([[0.49]])), (-np.inf, np.inf)),
        ("Exponential(1.5)", Exponential(1.5), (0.0, np.inf)),
        ("Gamma(3, 2)", Gamma(3.0, 2.0), (0.0, np.inf)),
        ("Beta(2, 5)", Beta(2.0, 5.0), (0.0, 1.0)),
    ]
    x = np.linspace(-1.0, 4.0, n_grid)
    fig, axes = new_figure(2, 2, width=11.0, height=7.5, fast=fast)
    data = {"x_families": x}
    log_z_closed, log_z_quad = [], []
    for k, (label, fam, support) in enumerate(families):
        inside = (x > support[0]) & (x < support[1])
        xs = x[inside][:, None]
        g = np.exp(-np.asarray(fam.energy(xs)))
        p = np.exp(np.asarray(fam.log_prob(xs)))
        lz = float(fam.log_partition())
        lz_q = float(quadrature(fam.energy, [support], tol=1e-10).log_z)
        log_z_closed.append(lz)
        log_z_quad.append(lz_q)
        color = f"C{k}"
        axes[0, 0].plot(xs[:, 0], g, color=color, label=f"{label}: Z = {math.exp(lz):.4g}")
        axes[0, 1].plot(xs[:, 0], p, color=color,
                        label=f"{label}: |log Z closed - quad| = {abs(lz - lz_q):.1e}")
        data[f"g_{k}"] = g
        data[f"p_{k}"] = p
    data["log_z_closed"] = np.array(log_z_closed)
    data["log_z_quadrature"] = np.array(log_z_quad)
    axes[0, 0].set_title("D1: unnormalized g(x) = exp(-E(x))")
    axes[0, 1].set_title("D1: normalized p(x) = g(x) / Z, Z = exp(A(θ))")
    for ax in axes[0]:
        ax.set_xlabel("x")
        ax.legend(fontsize=7.5, loc="upper right")
    axes[0, 0].set_ylabel("g(x)")
    axes[0, 1].set_ylabel("p(x)")

    lo, hi = -3.0, 3.0
    u = np.linspace(lo, hi, n_grid)[:, None]
    f_u = _f_demo(u)
    cuts = [lo, *_roots(_f_demo, lo, hi), hi]
    maps = [("f²", compose.square(_f_demo)), ("exp f", compose.exponential(_f_demo)),
            ("|f|", compose.absolute(_f_demo)), ("log(1 + exp f)", compose.softplus(_f_demo))]
    axes[1, 0].plot(u[:, 0], f_u, color="k", label="f(x) = 1.2 sin(1.5x) + 0.3x")
    axes[1, 0].axhline(0.0, color="0.6", lw=0.8)
    log_z_maps = []
    for k, (label, energy) in enumerate(maps):
        g = np.exp(-np.asarray(energy(u)))
        lz = _log_z_pieces(energy, cuts)
        log_z_maps.append(lz)
        axes[1, 0].plot(u[:, 0], g, color=f"C{k}", ls="--", label=f"g = {label}")
        axes[1, 1].plot(u[:, 0], g / math.exp(lz), color=f"C{k}",
                        label=f"p = {label} / Z, Z = {math.exp(lz):.4g}")
        data[f"g_map_{k}"] = g
    data["x_maps"] = u[:, 0]
    data["f"] = f_u
    data["log_z_maps"] = np.array(log_z_maps)
    axes[1, 0].set_title("D2: one f, four non-negative g")
    axes[1, 1].set_title("D2: each g normalized by quadrature on [-3, 3]")
    for ax in axes[1]:
        ax.set_xlabel("x")
        ax.legend(fontsize=7.5, loc="upper left")
    axes[1, 0].set_ylabel("f(x), g(x)")
    axes[1, 1].set_ylabel("p(x)")
    return finish(fig, out_dir, "normalization", data)


# ---------------------------------------------------------------------------------------------
# D5: the cost of Z grows exponentially with dimension


def _gaussian_energy(x):
    return 0.5 * anp.sum(x**2, axis=-1)


def _quartic_energy(x):
    return 0.25 * anp.sum(x**4, axis=-1)


#: log of int exp(-x^4 / 4) dx = 4^(1/4) Gamma(1/4) / 2, per dimension
_QUARTIC_LOG_Z1 = 0.25 * math.log(4.0) + float(gammaln(0.25)) - math.log(2.0)


_AIS_BASE_STD = 1.5


def _ais_log_z(energy, d, n_particles, n_temps, gen):
    """AIS from N(0, 1.5^2 I) to ``energy`` in ``d`` dimensions; returns the result and the
    number of points at which ``energy`` was evaluated."""
    count = [0]

    def counted(x):
        count[0] += int(np.shape(x)[0])
        return energy(x)

    def base_log_prob(x):
        return (-0.5 * np.sum(x**2, axis=-1) / _AIS_BASE_STD**2
                - d * (math.log(_AIS_BASE_STD) + 0.5 * math.log(2.0 * math.pi)))

    betas = np.concatenate([[0.0], np.geomspace(1e-2, 1.0, n_temps)])
    x0 = _AIS_BASE_STD * gen.standard_normal((n_particles, d))
    res = ais(counted, x0, base_log_prob, betas, lambda beta, e: mh_kernel(e, 1.0), gen)
    return res, count[0]


@fixed_style
def quadrature_cost(out_dir, *, fast=False, rng=0):
    r"""Cost and error of \(\log Z\) by quadrature against dimension (D5).

    [`refebm.partition.quadrature`][refebm.partition.quadrature.quadrature] on \(\mathbb R^d\), \(d = 1, \dots, 4\) (3 when
    ``fast``), for the Gaussian \(E = \|x\|^2 / 2\) and the quartic \(E = \sum_i x_i^4 / 4\),
    at two tolerances: the number of energy evaluations, the wall-clock time, and the error
    against the closed forms \(\log Z = \tfrac d2 \log 2\pi\) and
    \(d \log(4^{1/4}\Gamma(1/4)/2)\). Beside it, annealed importance sampling
    ([`refebm.partition.sampling.ais`][refebm.partition.ais]) in \(d = 1, \dots, 6\) (3 when ``fast``): 400
    particles from \(\mathcal N(0, 1.5^2 I)\), 40 geometric temperatures, one random-walk MH
    step each; its cost counts target-energy evaluations, its error is shown with its reported
    standard error. Deterministic for a seed except the timings.

    Math
    ----
    D5: a tensor-product rule with \(m\) nodes per axis costs \(m^d\) evaluations; AIS costs
    particles x temperatures evaluations in any dimension, and pays in variance instead.
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    dims = np.arange(1, 4 if fast else 5)
    ais_dims = np.arange(1, 4 if fast else 7)
    n_particles, n_temps = (100, 15) if fast else (400, 40)
    tols = (1e-4,) if fast else (1e-4, 1e-8)
    cases = [("Gaussian", _gaussian_energy, 0.5 * math.log(2.0 * math.pi)),
             ("quartic", _quartic_energy, _QUARTIC_LOG_Z1)]
    fig, axes = new_figure(1, 3, width=13.5, height=4.9, fast=fast)
    data = {"dims": dims, "tols": np.array(tols)}
    markers = {"Gaussian": "o", "quartic": "s"}
    for ci, (label, energy, log_z1) in enumerate(cases):
        for ti, tol in enumerate(tols):
            n_evals, seconds, errors, est = [], [], [], []
            for d in dims:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="quadrature in 4 dimensions",
                                            category=RuntimeWarning)
                    start = time.perf_counter()
                    # the quartic in 4-D at tol 1e-8 needs some 3.5e7 evaluations, beyond the
                    # default budget of 5e6: that growth is what the figure shows
                    res = quadrature(energy, [(-np.inf, np.inf)] * int(d), tol=tol,
                                     max_evals=100_000_000)
                    seconds.append(time.perf_counter() - start)
                n_evals.append(res.n_evals)
                errors.append(abs(float(res.log_z) - d * log_z1))
                est.append(res.error)
            key = f"{label}_tol{ti}"
            data[f"n_evals_{key}"] = np.array(n_evals)
            data[f"abs_error_{key}"] = np.array(errors)
            data[f"estimated_error_{key}"] = np.array(est)
            data[f"quadrature_{key}_seconds"] = np.array(seconds)
            style = dict(color=f"C{ti}", marker=markers[label], ls="-" if ci == 0 else "--",
                         label=f"{label}, tol={tol:g}")
            axes[0, 0].semilogy(dims, n_evals, **style)
            axes[0, 1].semilogy(dims, seconds, **style)
            axes[0, 2].semilogy(dims, np.maximum(errors, 1e-17), **style)
        n_evals, seconds, errors, stderrs = [], [], [], []
        for d in ais_dims:
            start = time.perf_counter()
            res, count = _ais_log_z(energy, int(d), n_particles, n_temps, gen)
            seconds.append(time.perf_counter() - start)
            n_evals.append(count)
            errors.append(abs(res.log_z - d * log_z1))
            stderrs.append(res.stderr)
        data[f"n_evals_{label}_ais"] = np.array(n_evals)
        data[f"abs_error_{label}_ais"] = np.array(errors)
        data[f"stderr_{label}_ais"] = np.array(stderrs)
        data[f"ais_{label}_seconds"] = np.array(seconds)
        style = dict(color="C3", marker=markers[label], ls="-" if ci == 0 else "--",
                     label=f"{label}, AIS ({n_particles} × {n_temps})")
        axes[0, 0].semilogy(ais_dims, n_evals, **style)
        axes[0, 1].semilogy(ais_dims, seconds, **style)
        axes[0, 2].semilogy(ais_dims, errors, **style)
        axes[0, 2].semilogy(ais_dims, stderrs, color="C3", ls=":", marker=markers[label],
                            mfc="none", label=f"{label}, AIS reported stderr")
    for ti, tol in enumerate(tols):
        axes[0, 2].axhline(tol, color=f"C{ti}", lw=0.8, ls=":")
    axes[0, 0].set_title("D5: energy evaluations for log Z")
    axes[0, 1].set_title("D5: wall-clock time (this machine)")
    axes[0, 2].set_title("|log Z - closed form| (thin dotted: tol)")
    axes[0, 0].set_ylabel("evaluations")
    axes[0, 1].set_ylabel("seconds")
    axes[0, 2].set_ylabel("absolute error of log Z")
    for ax in axes[0]:
        ax.set_xlabel("dimension d")
        ax.set_xticks(ais_dims)
    # One legend for the three panels, below them, so that it hides no point (the d = 1 points
    # sit in the panels' upper-left corners).
    handles, labels = axes[0, 2].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return finish(fig, out_dir, "quadrature_cost", data)


# ---------------------------------------------------------------------------------------------
# D6: ratios without Z -- anomaly scores and denoising

_RADIUS, _WIDTH = 2.0, 0.25


def _ring(x):
    return ring_energy(x, radius=_RADIUS, width=_WIDTH)


def _ring_score(x):
    return ring_score(x, radius=_RADIUS, width=_WIDTH)


@fixed_style
def ratio(out_dir, *, fast=False, rng=0):
    r"""Anomaly scores and denoising with an energy whose \(Z\) is never used (D6).

    The model is the ring energy of [`refebm.energies.ring_energy`][refebm.energies.ring_energy] (radius 2, width
    0.25). Left: the anomaly score [`refebm.ratio.anomaly_score`][refebm.ratio.anomaly_score] (the energy, defined up to
    a constant) over the plane; points near the ring (angle uniform, radius
    \(\mathcal N(2, 0.25^2)\)) and uniform outliers on \([-4, 4]^2\), flagged above the 99th
    percentile of the scores of a separate set of ring points. Right: points on the ring, their
    noisy copies \(y = x + 0.5 z\), and the MAP denoising paths of [`refebm.ratio.denoise`][refebm.ratio.denoise].

    Math
    ----
    D6: \(p(x) / p(x') = e^{E(x') - E(x)}\): ranking by \(E\) ranks by \(p\) and the score
    \(-\nabla E\) drives denoising, neither needing \(Z\).
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    n_in, n_out, n_ref = (100, 20, 200) if fast else (300, 40, 2000)
    n_denoise, n_steps = (12, 60) if fast else (30, 200)

    def ring_points(n):
        angle = gen.uniform(0.0, 2.0 * np.pi, n)
        radius = _RADIUS + _WIDTH * gen.standard_normal(n)
        return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)

    reference = ring_points(n_ref)
    inliers = ring_points(n_in)
    outliers = gen.uniform(-4.0, 4.0, size=(n_out, 2))
    threshold = float(np.quantile(np.asarray(anomaly_score(_ring, reference)), 0.99))
    s_in = np.asarray(anomaly_score(_ring, inliers))
    s_out = np.asarray(anomaly_score(_ring, outliers))

    m = 80 if fast else 300
    grid = np.linspace(-4.0, 4.0, m)
    gx, gy = np.meshgrid(grid, grid)
    e_grid = np.asarray(_ring(np.stack([gx.ravel(), gy.ravel()], axis=1))).reshape(m, m)

    fig, axes = new_figure(1, 2, width=12.0, height=5.6, fast=fast)
    ax = axes[0, 0]
    levels = np.linspace(0.0, 12.0, 13)
    cs = ax.contourf(gx, gy, np.minimum(e_grid, 12.0), levels=levels, cmap="viridis_r")
    fig.colorbar(cs, ax=ax, label="anomaly score E(x) (clipped at 12)")
    ax.contour(gx, gy, e_grid, levels=[threshold], colors="r", linewidths=1.2)
    ax.scatter(inliers[:, 0], inliers[:, 1], s=8, c="w", edgecolors="k", linewidths=0.3,
               label=f"ring points: {np.mean(s_in > threshold):.0%} flagged")
    ax.scatter(outliers[:, 0], outliers[:, 1], s=22, c="r", marker="x",
               label=f"uniform points: {np.mean(s_out > threshold):.0%} flagged")
    ax.plot([], [], color="r", label=f"threshold E = {threshold:.2f} (99% of ring points)")
    ax.set_title("D6: anomaly score = energy, no Z needed")
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)

    angle = np.linspace(0.0, 2.0 * np.pi, n_denoise, endpoint=False)
    clean = _RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    sigma = 0.5
    noisy = clean + sigma * gen.standard_normal(clean.shape)
    res = denoise(None, noisy, 0.01, n_steps, score=_ring_score, sigma=sigma, keep_path=True)
    path = np.asarray(res.path)
    denoised = np.asarray(res.x)

    def ring_distance(x):
        return float(np.mean(np.abs(np.linalg.norm(x, axis=1) - _RADIUS)))

    ax = axes[0, 1]
    ax.contour(gx, gy, e_grid, levels=[0.5, 2.0, 8.0], colors="0.7", linewidths=0.8)
    for i in range(n_denoise):
        ax.plot(path[:, i, 0], path[:, i, 1], color="C0", lw=0.8)
    ax.scatter(clean[:, 0], clean[:, 1], s=18, c="k", label="clean x (on the ring)")
    ax.scatter(noisy[:, 0], noisy[:, 1], s=18, c="C1", marker="^",
               label=f"noisy y = x + 0.5 z: mean | |x| - 2 | = {ring_distance(noisy):.3f}")
    ax.scatter(denoised[:, 0], denoised[:, 1], s=18, c="C2", marker="s",
               label=f"denoised ({n_steps} steps): mean | |x| - 2 | = "
                     f"{ring_distance(denoised):.3f}")
    ax.set_title("D6: MAP denoising by ascent on log p(x) - |x - y|² / 2σ²")
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    for ax in axes[0]:
        ax.set_aspect("equal")
        ax.set_xlim(-4, 4)
        ax.set_ylim(-4, 4)
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
    data = {"inliers": inliers, "outliers": outliers, "score_inliers": s_in,
            "score_outliers": s_out, "threshold": np.array(threshold), "energy_grid": e_grid,
            "clean": clean, "noisy": noisy, "denoised": denoised, "path": path}
    return finish(fig, out_dir, "ratio", data)
