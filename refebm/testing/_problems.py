r"""Small fixed problems with every input a check needs, to rebuild in any framework.

[`problems()`][refebm.testing.problems] returns four two-dimensional models, each with its
parameters as plain NumPy arrays and the same fixed inputs (points, noise, projections, noise
levels, labels, step sizes, uniforms). Every energy is written out in its ``description`` so it
can be rebuilt in PyTorch or JAX; the MLP's weights are in PyTorch's ``nn.Linear`` layout
(``weight`` of shape ``(out, in)``, ``bias`` ``(out,)``) and load with
``layer.weight.data = torch.from_numpy(W)``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import autograd.numpy as anp
import numpy as np

__all__ = ["Problem", "problems"]

_SEED = 20261207  # the problems' fixed inputs; never changes (golden values depend on it)


class Problem(NamedTuple):
    r"""One standard problem.

    Attributes
    ----------
    name : str
    description : str
        The energy written out, \(p = e^{-E}/Z\).
    d : int
        Dimension (2).
    energy : callable
        ``energy(x) -> (n,)`` (autograd-differentiable).
    energy_of_theta : callable
        ``energy_of_theta(theta, x) -> (n,)``, the same energy as a function of its flat
        parameter vector.
    theta : ndarray
        The flat parameters at which ``energy_of_theta`` equals ``energy``.
    params : dict of ndarray
        The parameters by name (the MLP's in ``nn.Linear`` layout: ``W0 (16, 2)``, ``b0``,
        ``W1 (16, 16)``, ``b1``, ``W2 (1, 16)``, ``b2``).
    bounds : ndarray (d, 2) or None
        A box that holds all but a negligible part of the mass (None where \(e^{-E}\) is not
        integrable, as for the MLP).
    x : ndarray (32, 2)
        Data points.
    x_model : ndarray (24, 2)
        "Model samples" for the CD gradient.
    x_noise : ndarray (64, 2)
        Noise samples for NCE, from \(N(0, 2^2 I)\) (``nu = 2``).
    noise : ndarray (32, 2)
        Standard normal \(z\) for DSM and Langevin.
    projections : ndarray (4, 32, 2)
        Rademacher projection vectors, ``m = 4`` per point.
    sigma : float
        DSM noise level.
    sigmas : ndarray (3,)
        Decreasing noise levels for the multi-scale loss and annealed Langevin.
    labels : ndarray (32,) of int
        A noise level index per point.
    step_size : float
        Langevin step (CS236 \(\epsilon\)).
    mala_step_size : float
        MALA step (CS236 \(\epsilon\)), large enough that some proposals are rejected.
    uniform : ndarray (32,)
        Uniforms for the accept steps.
    log_z : float
        The value of \(c\) (the learned \(\log Z\)) for NCE.
    """

    name: str
    description: str
    d: int
    energy: Callable
    energy_of_theta: Callable
    theta: Any
    params: dict
    bounds: Any
    x: Any
    x_model: Any
    x_noise: Any
    noise: Any
    projections: Any
    sigma: float
    sigmas: Any
    labels: Any
    step_size: float
    mala_step_size: float
    uniform: Any
    log_z: float

    def noise_log_prob(self, x):
        """Log density of the NCE noise \\(N(0, 2^2 I)\\) at ``x`` ``(n, d)``."""
        x = anp.asarray(x)
        return -0.5 * anp.sum(x**2, axis=1) / 4.0 - self.d * (0.5 * np.log(2 * np.pi) + np.log(2.0))


# ---- energies ------------------------------------------------------------------------------

def _gaussian_theta(theta, x):
    mu = theta[:2]
    p = anp.reshape(theta[2:], (2, 2))
    r = x - mu
    return 0.5 * anp.sum(anp.dot(r, p) * r, axis=1)


def _mixture_theta(theta, x):
    # theta = (logits (2), means (2, 2)); covariances fixed below
    logits = theta[:2]
    means = anp.reshape(theta[2:6], (2, 2))
    log_w = logits - anp.log(anp.sum(anp.exp(logits)))
    terms = []
    for k in range(2):
        prec = _MIX_PREC[k]
        r = x - means[k]
        q = anp.sum(anp.dot(r, prec) * r, axis=1)
        terms.append(log_w[k] - 0.5 * q - 0.5 * _MIX_LOGDET[k] - np.log(2 * np.pi))
    stacked = anp.stack(terms, axis=0)
    m = anp.max(stacked, axis=0)
    return -(m + anp.log(anp.sum(anp.exp(stacked - m), axis=0)))


def _quartic_theta(theta, x):
    x0, x1 = x[:, 0], x[:, 1]
    return (theta[0] * (x0**4 + x1**4) / 4.0 + theta[1] * x0**2 / 2.0 + theta[2] * x0 * x1
            + theta[3] * x1)


_MLP_SHAPES = (("W0", (16, 2)), ("b0", (16,)), ("W1", (16, 16)), ("b1", (16,)),
               ("W2", (1, 16)), ("b2", (1,)))


def _mlp_unflatten(theta):
    out, i = {}, 0
    for name, shape in _MLP_SHAPES:
        size = int(np.prod(shape))
        out[name] = anp.reshape(theta[i:i + size], shape)
        i += size
    return out


def _mlp_theta(theta, x):
    w = _mlp_unflatten(theta)
    h = anp.tanh(anp.dot(x, w["W0"].T) + w["b0"])
    h = anp.tanh(anp.dot(h, w["W1"].T) + w["b1"])
    return (anp.dot(h, w["W2"].T) + w["b2"])[:, 0]


_MIX_COVS = (np.array([[0.5, 0.0], [0.0, 0.5]]), np.array([[0.8, -0.3], [-0.3, 0.6]]))
_MIX_PREC = tuple(np.linalg.inv(c) for c in _MIX_COVS)
_MIX_LOGDET = tuple(float(np.linalg.slogdet(c)[1]) for c in _MIX_COVS)


def _bind(f, theta):
    def energy(x):
        return f(theta, x)

    return energy


def problems():
    """The standard problems: ``{"gaussian", "mixture", "quartic", "mlp"}`` -> Problem.

    Every call returns the same values (fixed seed). The inputs are shared across problems
    except ``x``, which is drawn near each model's mass.

    Examples
    --------
    >>> p = problems()["mlp"]
    >>> p.params["W0"].shape, p.x.shape, p.projections.shape, float(p.step_size)
    ((16, 2), (32, 2), (4, 32, 2), 0.1)
    """
    rng = np.random.default_rng(_SEED)
    n, m, d = 32, 4, 2
    noise = rng.standard_normal((n, d))
    projections = rng.choice([-1.0, 1.0], size=(m, n, d))
    uniform = rng.uniform(size=n)
    labels = rng.integers(0, 3, size=n)
    x_noise = 2.0 * rng.standard_normal((2 * n, d))
    base = rng.standard_normal((n, d))
    base_model = rng.standard_normal((24, d))

    mu = np.array([0.5, -1.0])
    cov = np.array([[1.0, 0.6], [0.6, 0.5]])
    prec = np.linalg.inv(cov)
    chol = np.linalg.cholesky(cov)
    gauss_theta = np.concatenate([mu, prec.ravel()])

    mix_theta = np.array([np.log(0.3), np.log(0.7), -1.5, 0.0, 1.0, 0.5])
    quartic_theta = np.array([1.0, -1.0, 0.3, 0.2])

    w0 = rng.standard_normal((16, 2)) / np.sqrt(2.0)
    b0 = 0.1 * rng.standard_normal(16)
    w1 = rng.standard_normal((16, 16)) / 4.0
    b1 = 0.1 * rng.standard_normal(16)
    w2 = rng.standard_normal((1, 16)) / 4.0
    b2 = np.array([0.05])
    mlp = {"W0": w0, "b0": b0, "W1": w1, "b1": b1, "W2": w2, "b2": b2}
    mlp_theta = np.concatenate([mlp[k].ravel() for k, _ in _MLP_SHAPES])

    common = dict(noise=noise, projections=projections, sigma=0.5,
                  sigmas=np.array([1.0, 0.5, 0.25]), labels=labels, step_size=0.1,
                  mala_step_size=0.3, uniform=uniform, x_noise=x_noise)
    out = {}
    out["gaussian"] = Problem(
        "gaussian",
        "E(x) = 1/2 (x - mu)^T P (x - mu), mu = (0.5, -1), P = inv([[1, 0.6], [0.6, 0.5]])",
        d, _bind(_gaussian_theta, gauss_theta), _gaussian_theta, gauss_theta,
        {"mean": mu, "cov": cov, "precision": prec},
        np.stack([mu - 14 * np.sqrt(np.diag(cov)), mu + 14 * np.sqrt(np.diag(cov))], axis=1),
        x=mu + base @ chol.T, x_model=mu + 1.3 * base_model @ chol.T,
        log_z=float(np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(cov)[1]), **common)
    out["mixture"] = Problem(
        "mixture",
        "E(x) = -log(0.3 N(x; (-1.5, 0), 0.5 I) + 0.7 N(x; (1, 0.5), [[0.8, -0.3], [-0.3, 0.6]]))",
        d, _bind(_mixture_theta, mix_theta), _mixture_theta, mix_theta,
        {"weights": np.array([0.3, 0.7]), "means": np.array([[-1.5, 0.0], [1.0, 0.5]]),
         "covs": np.stack(_MIX_COVS)},
        np.array([[-12.0, 12.0], [-12.0, 12.0]]),
        x=np.where(np.arange(n)[:, None] % 3 == 0, np.array([-1.5, 0.0]) + 0.7 * base,
                   np.array([1.0, 0.5]) + 0.8 * base),
        x_model=0.5 + base_model, log_z=0.0, **common)
    out["quartic"] = Problem(
        "quartic",
        "E(x) = (x1^4 + x2^4)/4 - x1^2/2 + 0.3 x1 x2 + 0.2 x2",
        d, _bind(_quartic_theta, quartic_theta), _quartic_theta, quartic_theta,
        {"theta": quartic_theta}, np.array([[-6.0, 6.0], [-6.0, 6.0]]),
        x=base, x_model=1.1 * base_model, log_z=1.0, **common)
    out["mlp"] = Problem(
        "mlp",
        "E(x) = W2 tanh(W1 tanh(W0 x + b0) + b1) + b2 (nn.Linear layout, 2 -> 16 -> 16 -> 1)",
        d, _bind(_mlp_theta, mlp_theta), _mlp_theta, mlp_theta, mlp, None,
        x=base, x_model=1.2 * base_model, log_z=0.5, **common)
    return out
