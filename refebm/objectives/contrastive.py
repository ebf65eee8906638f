r"""Maximum-likelihood gradients from model samples: CD, CD-k, persistent CD, short-run MCMC.

Convention: \(p_\theta(x) = e^{-E_\theta(x)} / Z_\theta\); the lectures write \(f_\theta =
-E_\theta\) and *ascend* \(\nabla_\theta (f_\theta(x_\text{train}) - f_\theta(x_\text{sample}))\)
(D7). This module returns the gradient of the negative log-likelihood estimate, to *descend* on:

\[
    \nabla_\theta \Big[\frac1n \sum_i E_\theta(x_i) - \frac1m \sum_j E_\theta(\tilde x_j)\Big]
    \approx \nabla_\theta \Big[\frac1n \sum_i E_\theta(x_i) + \log Z_\theta\Big]
    = -\nabla_\theta \frac1n \sum_i \log p_\theta(x_i),
\]

because \(\nabla_\theta \log Z_\theta = -\mathbb E_{p_\theta}[\nabla_\theta E_\theta]\) (D8).
The samples \(\tilde x_j\) are treated as constants (no gradient flows through the sampler).
With exact samples the estimate is unbiased (D8); with \(k\) MCMC steps started at the data
(CD-k), at persistent chains (PCD) or at noise (short-run MCMC, D20) it is biased.

The functions that return a parameter gradient take the model as a
[`ParametricEnergy`][refebm.objectives.ParametricEnergy], built by ``parametric(energy_of_theta,
theta)`` from the energy as a function of its parameters; ``theta`` is any autograd container
(array, list, tuple, dict), and gradients come back in its shape. Arguments come in the package's
order: the model, the data, the noise arrays, then scalars and options. Chains use
[`refebm.samplers`][refebm.samplers]; the Langevin step is the CS236 one, \(x + \epsilon \nabla_x
\log p + \sqrt{2\epsilon}\, z\) (Song and Kingma's \(x + \frac{\eta^2}{2} \nabla_x \log p + \eta z\)
is \(\epsilon = \eta^2 / 2\); see [`refebm.samplers.conventions`][refebm.samplers.conventions]).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .._backend import array_namespace
from ..diff import score as _score
from ..samplers import mala_init, mala_step, sample, ula_init, ula_step
from .params import gradient_in_dtype, parametric_iv

__all__ = [
    "CDResult",
    "cd_loss",
    "cd_gradient",
    "langevin_chains",
    "langevin_cd",
    "cd_k",
    "persistent_cd",
    "short_run",
    "noise_init",
]


class CDResult(NamedTuple):
    """A contrastive gradient and the model samples it used.

    ``gradient`` has the structure of ``theta``; ``x_model`` ``(m, d)`` are the final chain
    states (for persistent CD: the updated persistent chains, to pass to the next call).
    """

    gradient: Any
    x_model: Any


def _energy_call(energy, x, name="energy"):
    e = energy(x)
    _v.energy_values(name, e, np.shape(getval(x))[0], allow_inf=False)
    return e


def _event_dim_iv(name, x, x_data, xp=None):
    """Points ``x`` of the event dimension of ``x_data`` (the message names both)."""
    x = _v.points(name, x, xp=xp)
    d, shape = np.shape(getval(x_data))[1], np.shape(getval(x))
    if shape[1] != d:
        raise ValueError(f"`{name}` must have the event dimension of `x_data` ({d}), got shape "
                         f"{shape}")
    return x


def cd_loss(energy, x_data, x_model):
    r"""The contrastive surrogate \(\overline{E(x_\text{data})} - \overline{E(x_\text{model})}\).

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``.
    x_data : array, shape (n, d)
    x_model : array, shape (m, d)
        Model samples (constants: no gradient flows through them).

    Returns
    -------
    loss : scalar
        Its gradient in the parameters is the CD estimate of the NLL gradient (D7, D8). Runs on
        any array namespace.

    Math
    ----
    D7: the lectures' step on \(\nabla_\theta (f(x_\text{train}) - f(x_\text{sample}))\),
    written with \(E = -f\) and negated so that it is descended.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives.contrastive import cd_loss
    >>> float(cd_loss(lambda x: x[:, 0]**2, np.array([[1.0], [3.0]]), np.array([[2.0]])))
    1.0
    """
    _v.function("energy", energy)
    xp = array_namespace(x_data, x_model)
    x_data = _v.points("x_data", x_data, xp=xp)
    x_model = _event_dim_iv("x_model", x_model, x_data, xp=xp)
    loss = xp.mean(_energy_call(energy, x_data)) - xp.mean(_energy_call(energy, x_model))
    return _v.as_dtype(loss, _v.result_dtype(x_data, x_model))


def cd_gradient(energy, x_data, x_model):
    r"""The CD gradient \(\nabla_\theta [\overline{E_\theta(x_d)} - \overline{E_\theta(x_m)}]\).

    Parameters
    ----------
    energy : ParametricEnergy
        The model at its current parameters, ``parametric(energy_of_theta, theta)``
        ([`parametric`][refebm.objectives.parametric]).
    x_data : array, shape (n, d)
    x_model : array, shape (m, d)
        Samples from the model (exact, or the end of MCMC chains), treated as constants.

    Returns
    -------
    gradient : like ``energy.theta``
        The gradient of the NLL estimate: descend on it. The lectures' \(f = -E\) version is
        its negative, which they ascend.

    Math
    ----
    D7, D8: \(\nabla_\theta \mathrm{NLL} = \mathbb E_\text{data}[\nabla_\theta E_\theta] -
    \mathbb E_{p_\theta}[\nabla_\theta E_\theta]\); with exact samples from \(p_\theta\) this
    estimate is unbiased.

    Examples
    --------
    \(E_\theta(x) = \theta x\): the gradient is \(\bar x_\text{data} - \bar x_\text{model}\).

    >>> import numpy as np
    >>> from refebm.objectives import cd_gradient, parametric
    >>> model = parametric(lambda th, x: th * x[:, 0], 0.3)
    >>> float(cd_gradient(model, np.array([[1.0], [3.0]]), np.array([[0.5]])))
    1.5
    """
    parametric_iv("energy", energy)
    return gradient_in_dtype(energy.gradient(lambda e: cd_loss(e, x_data, x_model)), x_data,
                             x_model)


def _noise_stack_iv(name, noise, x0, ndim=3):
    noise = _v.real_array(name, noise, ndim=ndim)
    n, d = np.shape(getval(x0))
    shape = np.shape(getval(noise))
    if shape[1:] != ((n, d) if ndim == 3 else (n,)):
        want = f"(k, {n}, {d})" if ndim == 3 else f"(k, {n})"
        raise ValueError(f"`{name}` must have shape {want} (one array per step), got shape {shape}")
    return noise


def langevin_chains(energy, x0, noise, step_size, *, uniform=None):
    r"""Run \(k\) Langevin steps from ``x0`` with the given noise (ULA, or MALA with ``uniform``).

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)``; its score comes from [`refebm.diff.score`][refebm.diff.score].
    x0 : array, shape (n, d)
        Starting points (the data for CD-k, the persistent chains for PCD, noise for short-run).
    noise : array, shape (k, n, d)
        Standard normal draws, one array per step (\(k = \) ``noise.shape[0]``).
    step_size : float > 0
        \(\epsilon\) of the CS236 step.
    uniform : array, shape (k, n), optional
        Uniform draws for MALA's accept test; without them the steps are unadjusted (ULA).

    Returns
    -------
    x : array, shape (n, d)
        The chains after \(k\) steps.

    Math
    ----
    D11, D20: \(x^{t+1} = x^t + \epsilon \nabla_x \log p(x^t) + \sqrt{2\epsilon}\, z^t\) with
    [`refebm.samplers.ula_step`][refebm.samplers.ula_step]; with ``uniform``, the proposal is
    accepted by [`refebm.samplers.mala_step`][refebm.samplers.mala_step].

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives.contrastive import langevin_chains
    >>> energy = lambda x: 0.5 * np.sum(x**2, axis=1)          # s(x) = -x
    >>> langevin_chains(energy, np.array([[2.0]]), np.zeros((2, 1, 1)), 0.5).tolist()
    [[0.5]]
    """
    _v.function("energy", energy)
    x = _v.points("x0", x0)
    noise = _noise_stack_iv("noise", noise, x)
    _v.scalar("step_size", step_size, low=0.0, low_open=True)
    k = np.shape(noise)[0]
    score = _score(energy)
    if uniform is None:
        state = ula_init(score, x)
        for t in range(k):
            state, _ = ula_step(score, state, noise[t], step_size)
        return state.x
    uniform = _noise_stack_iv("uniform", uniform, x, ndim=2)
    if np.shape(uniform)[0] != k:
        raise ValueError(
            f"`uniform` must have {k} rows like `noise` (one per step), got shape "
            f"{np.shape(uniform)}")
    state = mala_init(energy, x, score=score)
    for t in range(k):
        state, _ = mala_step(energy, state, noise[t], uniform[t], step_size, score=score)
    return state.x


def langevin_cd(energy, x_data, x0, noise, step_size, *, uniform=None):
    r"""Contrastive gradient with Langevin chains from ``x0``, given all the noise.

    The deterministic core of CD-k (``x0 = x_data``), persistent CD (``x0`` = the chains) and
    short-run MCMC (``x0`` = noise, D20): two implementations fed the same arrays return the
    same gradient.

    Parameters
    ----------
    energy : ParametricEnergy
        ``parametric(energy_of_theta, theta)``.
    x_data : array, shape (n, d)
    x0 : array, shape (m, d)
        Starting points of the chains.
    noise : array, shape (k, m, d)
    step_size : float > 0
    uniform : array, shape (k, m), optional
        MALA's uniforms; ULA without them.

    Returns
    -------
    CDResult
        ``gradient`` (like ``energy.theta``) from [`cd_gradient`][refebm.objectives.cd_gradient] and
        ``x_model``, the chains after \(k\) steps of
        [`langevin_chains`][refebm.objectives.langevin_chains] on \(E_\theta\).

    Math
    ----
    D7, D20: \(\nabla_\theta[\overline{E_\theta(x)} - \overline{E_\theta(\tilde x_k)}]\),
    \(\tilde x_k\) from \(k\) Langevin steps.

    Examples
    --------
    \(E_\theta = \theta x^2 / 2\), \(\theta = 1\), one step of size \(1/2\) without noise from
    \(x_0 = 2\) gives \(\tilde x = 1\); the gradient is \((2^2 - 1^2)/2\).

    >>> import numpy as np
    >>> from refebm.objectives import langevin_cd, parametric
    >>> model = parametric(lambda th, x: 0.5 * th * x[:, 0]**2, 1.0)
    >>> res = langevin_cd(model, np.array([[2.0]]), np.array([[2.0]]), np.zeros((1, 1, 1)), 0.5)
    >>> float(res.gradient), res.x_model.tolist()
    (1.5, [[1.0]])
    """
    parametric_iv("energy", energy)
    x_data = _v.points("x_data", x_data)
    x0 = _event_dim_iv("x0", x0, x_data)
    x_model = langevin_chains(energy, x0, noise, step_size, uniform=uniform)
    return CDResult(cd_gradient(energy, x_data, x_model), x_model)


def _run_kernel(energy, x0, make_kernel, k, rng):
    _v.function("make_kernel", make_kernel)
    k = _v.integer("k", k, minimum=1)
    gen = _v.rng(rng)
    kernel = make_kernel(energy)
    _v.function("make_kernel(energy)", kernel)
    return sample(kernel, x0, k, gen, keep="last").trace[:, -1]


def cd_k(energy, x_data, make_kernel, k, rng):
    r"""CD-k (Hinton 2002): \(k\) steps of any kernel started at the data.

    Parameters
    ----------
    energy : ParametricEnergy
        ``parametric(energy_of_theta, theta)``.
    x_data : array, shape (n, d)
    make_kernel : callable
        ``make_kernel(energy) -> kernel`` with ``kernel(state, rng) -> (state, info)`` (a
        [`refebm.samplers.Kernel`][refebm.samplers.Kernel], e.g. ``lambda e: mala_kernel(e, 0.1)``),
        built for the current parameters.
    k : int >= 1
    rng : numpy.random.Generator or int

    Returns
    -------
    CDResult
        The gradient (descend on it) and the chains after \(k\) steps.

    Math
    ----
    D7 with \(\tilde x = K^k(x_\text{data}, \cdot)\): biased for finite \(k\) (on a Gaussian
    with one ULA step the expected gradient is known in closed form; see the docs page
    "Maximum likelihood and CD").

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives import cd_k, parametric
    >>> from refebm.samplers import ula_kernel
    >>> model = parametric(lambda th, x: 0.5 * th * x[:, 0]**2, 1.0)
    >>> res = cd_k(model, np.zeros((3, 1)), lambda e: ula_kernel(e, 0.1), 2, 0)
    >>> res.x_model.shape
    (3, 1)
    """
    parametric_iv("energy", energy)
    x_data = _v.points("x_data", x_data)
    x_model = _run_kernel(energy, x_data, make_kernel, k, rng)
    return CDResult(cd_gradient(energy, x_data, x_model), x_model)


def persistent_cd(energy, x_data, chains, make_kernel, k, rng):
    r"""Persistent CD (Tieleman 2008): advance the persistent chains \(k\) steps, then contrast.

    Parameters
    ----------
    energy, x_data, make_kernel, k, rng
        As in [`cd_k`][refebm.objectives.cd_k].
    chains : array, shape (m, d)
        The persistent chains from the previous call (initially, e.g., noise or data).

    Returns
    -------
    CDResult
        ``x_model`` are the updated chains: pass them back at the next parameter update.

    Math
    ----
    D7: the chains follow a slowly changing \(p_\theta\), so after enough updates they are
    close to samples of the current model without restarting.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives import parametric, persistent_cd
    >>> from refebm.samplers import mala_kernel
    >>> model = parametric(lambda th, x: 0.5 * th * x[:, 0]**2, 1.0)
    >>> res = persistent_cd(model, np.zeros((3, 1)), np.ones((5, 1)),
    ...                     lambda e: mala_kernel(e, 0.1), 1, 0)
    >>> res.x_model.shape
    (5, 1)
    """
    parametric_iv("energy", energy)
    x_data = _v.points("x_data", x_data)
    chains = _event_dim_iv("chains", chains, x_data)
    x_model = _run_kernel(energy, chains, make_kernel, k, rng)
    return CDResult(cd_gradient(energy, x_data, x_model), x_model)


def noise_init(n, d, rng, *, init="uniform", bounds=(-1.0, 1.0)):
    r"""Starting points of short-run chains: uniform on a cube or standard normal.

    Parameters
    ----------
    n, d : int >= 1
    rng : numpy.random.Generator or int
    init : {"uniform", "gaussian"}
    bounds : (lo, hi)
        The cube \([lo, hi]^d\) for ``"uniform"`` (Nijkamp et al. 2019 use \([-1, 1]\)).

    Returns
    -------
    x0 : array, shape (n, d)

    Examples
    --------
    >>> from refebm.objectives.contrastive import noise_init
    >>> x0 = noise_init(4, 2, 0, bounds=(0.0, 1.0))
    >>> x0.shape, bool((x0 >= 0).all() and (x0 < 1).all())
    ((4, 2), True)
    """
    n = _v.integer("n", n, minimum=1)
    d = _v.integer("d", d, minimum=1)
    gen = _v.rng(rng)
    if not isinstance(init, str):
        raise TypeError(f"`init` must be 'uniform' or 'gaussian', got {_v.show(init)}")
    _v.one_of("init", init, ("uniform", "gaussian"))
    (lo, hi), = _v.bounds("bounds", [bounds])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"`bounds` must be finite, got ({lo}, {hi})")
    if init == "uniform":
        return gen.uniform(lo, hi, size=(n, d))
    return gen.standard_normal((n, d))


def short_run(energy, x_data, k, step_size, rng, *, n_samples=None, init="uniform",
              bounds=(-1.0, 1.0)):
    r"""Short-run MCMC (Nijkamp et al. 2019, D20): \(k\) ULA steps from noise, then contrast.

    Parameters
    ----------
    energy, x_data
        As in [`cd_k`][refebm.objectives.cd_k].
    k : int >= 1
        Number of Langevin steps (the paper uses 100).
    step_size : float > 0
        \(\epsilon\) of the CS236 step.
    rng : numpy.random.Generator or int
        Draws, in this order: the starting points ([`noise_init`][refebm.objectives.noise_init]),
        then the noise ``(k, n_samples, d)`` of
        [`langevin_chains`][refebm.objectives.langevin_chains] (so
        [`langevin_cd`][refebm.objectives.langevin_cd] fed the same arrays gives the same result).
    n_samples : int, optional
        Number of chains; default ``len(x_data)``.
    init, bounds
        As in [`noise_init`][refebm.objectives.noise_init].

    Returns
    -------
    CDResult

    Math
    ----
    D20: the synthesized \(\tilde x = \text{ULA}^k(x_0)\), \(x_0 \sim U[-1, 1]^d\), replaces
    the model samples in D7; the learned energy is then a good short-run generator even when
    \(p_\theta\) itself is not a good density.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.objectives import parametric, short_run
    >>> model = parametric(lambda th, x: 0.5 * th * x[:, 0]**2, 1.0)
    >>> res = short_run(model, np.zeros((4, 1)), 3, 0.1, 0)
    >>> res.x_model.shape
    (4, 1)
    """
    parametric_iv("energy", energy)
    x_data = _v.points("x_data", x_data)
    n, d = np.shape(getval(x_data))
    n = n if n_samples is None else _v.integer("n_samples", n_samples, minimum=1)
    k = _v.integer("k", k, minimum=1)
    _v.scalar("step_size", step_size, low=0.0, low_open=True)
    gen = _v.rng(rng)
    x0 = noise_init(n, d, gen, init=init, bounds=bounds)
    noise = gen.standard_normal((k, n, d))
    if _v.result_dtype(x_data) == "float32":   # float32 data on purpose: float32 chains
        x0, noise = x0.astype(np.float32), noise.astype(np.float32)
    return langevin_cd(energy, x_data, x0, noise, step_size)
