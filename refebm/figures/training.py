r"""Figures on training EBMs: contrastive divergence, short-run MCMC, NCE (D7, D19, D20).

Convention: \(p_\theta(x) = e^{-E_\theta(x)} / Z_\theta\), the lectures' \(f = -E\). Every
objective is minimized; the CD gradient \(\nabla_\theta[\overline{E_\theta(x_\text{data})} -
\overline{E_\theta(x_\text{model})}]\) ([`refebm.objectives.cd_gradient`][refebm.objectives.cd_gradient]) is the
lectures' ascent direction on \(f(x_\text{train}) - f(x_\text{sample})\), negated (D7).
Langevin steps are the CS236 ones, \(x + \epsilon \nabla_x \log p_\theta + \sqrt{2\epsilon} z\)
([`refebm.samplers.ula_step`][refebm.samplers.ula_step]).

The two 2-D EBMs here are [`refebm.energies.MLPEnergy`][refebm.energies.MLPEnergy] networks (2-32-32-1, swish) plus
a fixed wide quadratic \(\|x\|^2 / (2 \cdot 3^2)\), which keeps \(e^{-E}\) integrable from the
first step, so that \(\log Z_\theta\) and the exact negative log-likelihood can be computed by
quadrature at any time during training. Their chains use the network's hand-written score
([`refebm.energies.MLPEnergy.score`][refebm.energies.MLPEnergy.score]); the parameter gradients use autograd.
"""

from __future__ import annotations

from functools import partial

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.misc.optimizers import adam
from scipy.optimize import minimize

from ..energies import MLPEnergy, random_mlp_weights
from ..families import GaussianMixture
from ..objectives.contrastive import cd_gradient, cd_loss, noise_init
from ..objectives.params import parametric
from ..objectives.likelihood import negative_log_likelihood
from ..objectives.nce import nce_logit, nce_loss
from ..partition import quadrature
from ..samplers import ula_init, ula_step
from ..train import fit
from ._common import figure_iv, finish, fixed_style, new_figure

__all__ = ["cd_training", "short_run", "nce"]

_BASE_SCALE = 3.0
_LAYERS = [2, 32, 32, 1]
_ACTIVATION = "swish"
_BOX = [(-np.inf, np.inf), (-np.inf, np.inf)]


def _energy_of_theta(theta, x):
    r"""\(E_\theta(x) = \mathrm{MLP}_\theta(x) + \|x\|^2 / (2 \cdot 3^2)\)."""
    return MLPEnergy(theta, _ACTIVATION)(x) + 0.5 * (x[:, 0] ** 2 + x[:, 1] ** 2) / _BASE_SCALE**2


def _score_of_theta(theta):
    r"""\(x \mapsto -\nabla_x E_\theta(x)\), with the network's analytic score."""
    model = MLPEnergy(theta, _ACTIVATION)

    def score(x):
        return model.score(x) - x / _BASE_SCALE**2

    return score


def _four_modes():
    r"""The data density: four Gaussians at \((\pm 1.5, \pm 1.5)\), variance 0.15."""
    means = np.array([[1.5, 1.5], [-1.5, 1.5], [-1.5, -1.5], [1.5, -1.5]])
    return GaussianMixture(np.full(4, 0.25), means, np.array([0.15 * np.eye(2)] * 4))


def _langevin(theta, x0, n_steps, step_size, gen, keep=()):
    """``n_steps`` ULA steps on \\(E_\\theta\\) from ``x0``; returns the last state and the
    states after the steps listed in ``keep`` (0 is ``x0``)."""
    score = _score_of_theta(theta)
    kept = {0: x0} if 0 in keep else {}
    state = ula_init(score, x0)
    for t in range(1, n_steps + 1):
        state, _ = ula_step(score, state, gen.standard_normal(x0.shape), step_size)
        if t in keep:
            kept[t] = state.x
    return state.x, kept


def _log_density_grid(theta, m):
    """The model log density \\(-E_\\theta - \\log Z_\\theta\\) on an ``m x m`` grid of
    ``[-3.5, 3.5]^2``, with \\(\\log Z_\\theta\\) by quadrature on the plane."""
    axis = np.linspace(-3.5, 3.5, m)
    gx, gy = np.meshgrid(axis, axis)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    energy = partial(_energy_of_theta, theta)
    log_z = float(quadrature(energy, _BOX, tol=1e-6).log_z)
    return gx, gy, (-np.asarray(energy(pts)) - log_z).reshape(m, m)


def _plane_frame(axes):
    """The common frame of the plane panels: \\([-3.5, 3.5]^2\\), equal aspect, labelled axes."""
    for ax in axes:
        ax.set_xlim(-3.5, 3.5)
        ax.set_ylim(-3.5, 3.5)
        ax.set_aspect("equal")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")


def _show_log_density(ax, gx, gy, log_p):
    """Filled contours of \\(\\log p\\) on one fixed scale, -10 to 0 nats (values outside it
    drawn in the end colours), so that panels can be compared."""
    return ax.contourf(gx, gy, np.clip(log_p, -10.0, 0.0), levels=np.linspace(-10.0, 0.0, 21),
                       cmap="Blues")


# ---------------------------------------------------------------------------------------------
# D7, D20: persistent contrastive divergence with Langevin chains


@fixed_style
def cd_training(out_dir, *, fast=False, rng=0):
    r"""Training a 2-D MLP energy by contrastive divergence with persistent Langevin chains.

    Data: four Gaussians at \((\pm 1.5, \pm 1.5)\). Each Adam step (rate 0.01) advances 256
    persistent chains by 5 ULA steps (\(\epsilon = 0.02\)) on the current energy and descends
    the CD gradient of [`refebm.objectives.cd_gradient`][refebm.objectives.cd_gradient] on a minibatch of 256 data
    points. Panels: the data; the model density \(p_\theta\) (normalized by quadrature,
    shown as \(\log p_\theta\) on a fixed scale from -10 to 0 nats) with the chains at four
    iterations; the exact negative log-likelihood of held-out data under \(p_\theta\)
    (quadrature, every 10 iterations) against that of the true density, with its start, its
    peak and its last value marked. CD does not descend the NLL: from seed 0 the NLL first
    swings between about 4 and 6 with a spike to 8.6 at iteration 80, while the model's mass
    is still one broad blob, and only after about 150 iterations falls, noisily, to 2.59 at
    iteration 400, against the true density's 2.34.

    Math
    ----
    D7: \(\theta \leftarrow \theta - \eta\, \nabla_\theta[\overline{E_\theta(x_\text{data})}
    - \overline{E_\theta(x_\text{chains})}]\) (Adam's version of it), the estimate of
    \(\nabla_\theta \mathrm{NLL}\) by D8; D20: the chains are Langevin chains.
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    n_iter, n_grid = (12, 40) if fast else (400, 110)
    k, step_size, n_chains, batch = 5, 0.02, 256, 256
    mix = _four_modes()
    data = mix.sample(2000, rng=gen)
    test = mix.sample(1000, rng=gen)
    theta0 = random_mlp_weights(_LAYERS, gen)
    chains = [noise_init(n_chains, 2, gen, bounds=(-3.5, 3.5))]
    snap_at = sorted({0, n_iter // 4, n_iter // 2, n_iter - 1})
    nll_at = sorted(set(np.linspace(0, n_iter - 1, 3 if fast else 41).astype(int)))
    snaps, nll = {}, []

    def gradient(theta, i):
        x, _ = _langevin(theta, chains[0], k, step_size, gen)
        chains[0] = x
        minibatch = data[gen.choice(len(data), batch, replace=False)]
        return cd_gradient(parametric(_energy_of_theta, theta), minibatch, x)

    def callback(theta, i, g):
        if i in snap_at:
            snaps[i] = (theta, chains[0].copy())
        if i in nll_at:
            nll.append(float(negative_log_likelihood(partial(_energy_of_theta, theta), test,
                                                     bounds=_BOX, tol=1e-6)))

    adam(gradient, theta0, callback=callback, num_iters=n_iter, step_size=0.01)
    entropy = float(-np.mean(np.asarray(mix.log_prob(test))))

    fig, axes = new_figure(2, 3, width=13.5, height=8.6, fast=fast)
    ax = axes[0, 0]
    ax.scatter(data[:600, 0], data[:600, 1], s=3, color="k")
    ax.set_title("data: four Gaussians (600 of 2000 shown)")
    data_out = {"data": data, "nll_iterations": np.array(nll_at), "test_nll": np.array(nll),
                "data_entropy": np.array(entropy)}
    for ax, i in zip([axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]], snap_at):
        theta, x = snaps[i]
        gx, gy, log_p = _log_density_grid(theta, n_grid)
        filled = _show_log_density(ax, gx, gy, log_p)
        ax.scatter(x[:, 0], x[:, 1], s=3, color="C3")
        ax.set_title(f"D7, D20: iteration {i + 1}: log p_θ, {n_chains} chains")
        data_out[f"log_density_{i}"] = log_p
        data_out[f"chains_{i}"] = x
    _plane_frame(list(axes[0]) + list(axes[1, :2]))
    fig.colorbar(filled, ax=[axes[0, 2], axes[1, 1]], label="log p_θ(x), nats", shrink=0.6)
    ax = axes[1, 2]
    its = np.array(nll_at) + 1
    ax.plot(its, nll, "o-", ms=3.5, label="held-out NLL under p_θ (exact, quadrature)")
    ax.axhline(entropy, color="k", ls=":",
               label=f"NLL of the true density (the floor) {entropy:.3f}")
    peak = int(np.argmax(nll))
    for j, text, offset in ((0, f"start {nll[0]:.1f}", (8, -14)),
                            (peak, f"peak {nll[peak]:.1f} at iteration {its[peak]}", (12, -4)),
                            (len(nll) - 1, f"{nll[-1]:.2f} at iteration {its[-1]}", (-70, 16))):
        ax.annotate(text, xy=(its[j], nll[j]), xytext=offset, textcoords="offset points",
                    fontsize=8, arrowprops=dict(arrowstyle="-", lw=0.6, color="0.4"))
    ax.set_xlabel("iteration")
    ax.set_ylabel("nats per point")
    ax.set_title("D7: exact held-out NLL during CD (not monotone)")
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.88))
    return finish(fig, out_dir, "cd_training", data_out)


# ---------------------------------------------------------------------------------------------
# D20: short-run MCMC from noise


@fixed_style
def short_run(out_dir, *, fast=False, rng=0):
    r"""Short-run MCMC (Nijkamp et al. 2019): an energy trained so that \(K\) Langevin steps
    from uniform noise produce data (D20).

    Data: four Gaussians at \((\pm 1.5, \pm 1.5)\). Each Adam step (rate 0.01) starts 200 fresh
    chains uniform on \([-3, 3]^2\) ([`refebm.objectives.noise_init`][refebm.objectives.noise_init]), runs \(K\) ULA steps
    (\(\epsilon = 0.02\)) and descends the CD gradient against a minibatch. After training,
    fresh chains from noise are shown at steps \(0, K/4, K/2, K\) over the learned
    \(\log p_\theta\) (normalized by quadrature; scale -10 to 0 nats). The chains after
    \(K\) steps look like the data even where \(p_\theta\) itself need not (its modes need
    not have the data's weights): short-run MCMC trains a sampler, not necessarily a
    density. Bottom
    right: the contrastive surrogate \(\overline{E(x_\text{data})} - \overline{E(x_K)}\)
    during training.

    Math
    ----
    D20: \(x_0 \sim U[-3, 3]^2\), \(x_{t+1} = x_t - \epsilon \nabla_x E_\theta(x_t) +
    \sqrt{2 \epsilon} z_t\), \(t < K\); the gradient of D7 with \(x_K\) as the model samples.
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    n_iter, k, n_grid = (12, 8, 40) if fast else (250, 20, 110)
    step_size, n_chains = 0.02, 200
    mix = _four_modes()
    data = mix.sample(2000, rng=gen)
    theta0 = random_mlp_weights(_LAYERS, gen)
    surrogate = []

    def gradient(theta, i):
        x0 = noise_init(n_chains, 2, gen, bounds=(-3.0, 3.0))
        x, _ = _langevin(theta, x0, k, step_size, gen)
        minibatch = data[gen.choice(len(data), n_chains, replace=False)]
        surrogate.append(float(cd_loss(partial(_energy_of_theta, theta), minibatch, x)))
        return cd_gradient(parametric(_energy_of_theta, theta), minibatch, x)

    theta = adam(gradient, theta0, num_iters=n_iter, step_size=0.01)
    keep = (0, k // 4, k // 2, k)
    x0 = noise_init(1000, 2, gen, bounds=(-3.0, 3.0))
    _, kept = _langevin(theta, x0, k, step_size, gen, keep=keep)
    gx, gy, log_p = _log_density_grid(theta, n_grid)

    fig, axes = new_figure(2, 3, width=13.5, height=8.6, fast=fast)
    ax = axes[0, 0]
    ax.scatter(data[:1000, 0], data[:1000, 1], s=3, color="k")
    ax.set_title("data (1000 of 2000 shown)")
    panels = [axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]]
    data_out = {"data": data, "log_density": log_p, "surrogate": np.array(surrogate)}
    for ax, t in zip(panels, keep):
        filled = _show_log_density(ax, gx, gy, log_p)
        ax.scatter(kept[t][:, 0], kept[t][:, 1], s=3, color="C3")
        ax.set_title(f"D20: step {t} of {k}, 1000 fresh chains")
        data_out[f"chains_step_{t}"] = kept[t]
    _plane_frame([axes[0, 0], *panels])
    fig.suptitle(f"Short-run MCMC: {k} Langevin steps from uniform noise over the learned "
                 "log p_θ, after training")
    fig.colorbar(filled, ax=[axes[0, 2], axes[1, 1]], label="log p_θ(x), nats", shrink=0.6)
    ax = axes[1, 2]
    ax.plot(np.arange(1, n_iter + 1), surrogate, lw=0.8)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean E(data) - mean E(x_K)")
    ax.set_title("contrastive surrogate during training")
    return finish(fig, out_dir, "short_run", data_out)


# ---------------------------------------------------------------------------------------------
# D19: noise-contrastive estimation with a learnable log Z

_NCE_MEAN, _NCE_STD = 1.0, 0.8


def _nce_energy(theta, x):
    r"""\(E_\theta(x) = (x - \mu)^2 / (2 s^2)\), \(\theta = (\mu, \log s)\); \(\log Z_\theta =
    \log s + \tfrac12 \log 2\pi\)."""
    return 0.5 * (x[:, 0] - theta[0]) ** 2 * anp.exp(-2.0 * theta[1])


def _nce_noise_log_prob(tau):
    def log_prob(x):
        return -0.5 * (x[:, 0] / tau) ** 2 - np.log(tau) - 0.5 * np.log(2.0 * np.pi)
    return log_prob


def _nce_objective(x_data, x_noise, tau):
    """NCE loss of ``params = (mu, log s, c)`` with noise ``N(0, tau^2)``."""
    log_pn = _nce_noise_log_prob(tau)

    def loss(params):
        return nce_loss(partial(_nce_energy, params[:2]), params[2], x_data, x_noise, log_pn)

    return loss


@fixed_style
def nce(out_dir, *, fast=False, rng=0):
    r"""NCE's learned \(\log Z\) against the truth, and the effect of the noise's variance (D19).

    Model: \(E_\theta(x) = (x - \mu)^2 / (2 s^2)\) with a free normalizer \(c\), so
    \(\log p = -E_\theta - c\); data: 500 draws of \(\mathcal N(1, 0.8^2)\); noise:
    \(\mathcal N(0, \tau^2)\), as many draws as data (\(\nu = 1\)). Left: Adam on
    [`refebm.objectives.nce_loss`][refebm.objectives.nce_loss] with \(\tau = 2\): the learned \(c\) against the true
    \(\log Z_\theta = \log(s \sqrt{2\pi})\) of the current \(\theta\). Middle: the learned
    classifier \(\sigma(G(x))\) against the optimal \(p_d / (p_d + \nu p_n)\). Right: for each
    \(\tau\), fresh data and noise are drawn many times and the loss minimized (BFGS); the
    root-mean-square errors of \(c\) (against \(\log(0.8\sqrt{2\pi})\)) and of \(\hat\mu\)
    grow when the noise is much narrower or much wider than the data.

    Math
    ----
    D19: \(G(x) = -E_\theta(x) - c - \log\nu - \log p_n(x)\), loss
    \(-[\overline{\log\sigma(G)}_\text{data} + \nu\,\overline{\log\sigma(-G)}_\text{noise}]\),
    minimized at \(-E_\theta - c = \log p_\text{data}\), making \(c = \log Z_\theta\).
    """
    out_dir, fast, gen = figure_iv(out_dir, fast, rng)
    n, steps = (200, 60) if fast else (500, 600)
    taus = np.geomspace(0.4, 12.0, 3 if fast else 7)
    n_rep = 2 if fast else 10
    true_log_z = np.log(_NCE_STD) + 0.5 * np.log(2.0 * np.pi)

    tau0 = 2.0
    x_data = _NCE_MEAN + _NCE_STD * gen.standard_normal((n, 1))
    x_noise = tau0 * gen.standard_normal((n, 1))
    loss = _nce_objective(x_data, x_noise, tau0)
    path = []

    def record(params, step, value):
        path.append(np.array(params, dtype=float))

    res = fit(loss, np.array([0.0, 0.0, 0.0]), steps=steps, step_size=0.05,
              callback=record)
    path = np.array(path)
    final = np.asarray(res.theta, dtype=float)
    log_z_path = path[:, 1] + 0.5 * np.log(2.0 * np.pi)

    grid = np.linspace(-5.0, 6.0, 300)[:, None]
    log_pn = _nce_noise_log_prob(tau0)
    posterior = 1.0 / (1.0 + np.exp(-np.asarray(nce_logit(partial(_nce_energy, final[:2]),
                                                          final[2], grid, log_pn, 1.0))))
    log_pd = (-0.5 * ((grid[:, 0] - _NCE_MEAN) / _NCE_STD) ** 2 - np.log(_NCE_STD)
              - 0.5 * np.log(2.0 * np.pi))
    optimal = 1.0 / (1.0 + np.exp(np.asarray(log_pn(grid)) - log_pd))

    rmse_c, rmse_mu = [], []
    for tau in taus:
        err_c, err_mu = [], []
        for _ in range(n_rep):
            xd = _NCE_MEAN + _NCE_STD * gen.standard_normal((n, 1))
            xn = tau * gen.standard_normal((n, 1))
            objective = _nce_objective(xd, xn, float(tau))
            start = np.array([np.mean(xd), np.log(np.std(xd)),
                              np.log(np.std(xd)) + 0.5 * np.log(2.0 * np.pi)])
            opt = minimize(autograd.value_and_grad(objective), start, jac=True, method="BFGS")
            err_c.append(opt.x[2] - true_log_z)
            err_mu.append(opt.x[0] - _NCE_MEAN)
        rmse_c.append(np.sqrt(np.mean(np.square(err_c))))
        rmse_mu.append(np.sqrt(np.mean(np.square(err_mu))))

    fig, axes = new_figure(1, 3, width=16.0, height=4.6, fast=fast)
    ax = axes[0, 0]
    it = np.arange(1, len(path) + 1)
    ax.plot(it, path[:, 2], label="learned c")
    ax.plot(it, log_z_path, "--", label="log Z_θ of the current θ (closed form)")
    ax.axhline(true_log_z, color="k", ls=":", label=f"log Z of the data model {true_log_z:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("log normalizer")
    ax.set_title(f"D19: NCE learns log Z (noise N(0, {tau0:g}²))")
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[0, 1]
    ax.plot(grid[:, 0], posterior, label="learned σ(G(x))")
    ax.plot(grid[:, 0], optimal, "k:", label="optimal p_d / (p_d + ν p_n)")
    ax.set_xlabel("x")
    ax.set_ylabel("P(data | x)")
    ax.set_title("the NCE classifier (ν = 1)")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[0, 2]
    ax.loglog(taus, rmse_c, "o-", label="RMSE of c = log Z")
    ax.loglog(taus, rmse_mu, "s-", label="RMSE of μ")
    ax.axvline(_NCE_STD, color="0.6", ls="--", lw=0.8, label="data std 0.8")
    ax.set_xlabel("noise std τ")
    ax.set_ylabel(f"RMSE over {n_rep} data sets of {n}")
    ax.set_title("the noise choice matters")
    ax.legend(fontsize=8, loc="upper right")
    data = {"path": path, "log_z_path": log_z_path, "final": final, "posterior": posterior,
            "optimal_posterior": optimal, "taus": taus, "rmse_log_z": np.array(rmse_c),
            "rmse_mu": np.array(rmse_mu)}
    return finish(fig, out_dir, "nce", data)
