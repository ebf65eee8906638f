r"""A small training loop over any objective, with autograd's optimizers.

``fit`` minimizes ``loss(theta, ...)`` with `autograd.misc.optimizers.adam`, ``sgd`` or
``rmsprop`` (which take ``grad(params, iter)`` and a callback), records the loss at every step,
draws minibatches and per-step noise from one explicit ``rng``, and shows a tqdm bar on request.
Parameters may be any autograd container (array, list, tuple, dict; for example an
[`MLPEnergy`][refebm.energies.MLPEnergy] weight list).

Convention: the objectives of [`refebm.objectives`][refebm.objectives] are all minimized; with \(p =
e^{-E} / Z\) (the lectures' \(f = -E\)), descending the CD gradient is the lectures' ascent on
\(f(x_\text{train}) - f(x_\text{sample})\) (D7).
"""

from __future__ import annotations

import inspect
import itertools
from typing import Any, NamedTuple

import autograd
import numpy as np
from autograd.misc import optimizers as _opt
from autograd.tracer import getval
from autograd.misc.flatten import flatten
from tqdm.auto import tqdm

from . import _validate as _v
from ._backend import to_numpy

__all__ = ["FitResult", "fit", "OPTIMIZERS"]

OPTIMIZERS = {"adam": _opt.adam, "sgd": _opt.sgd, "rmsprop": _opt.rmsprop}


class FitResult(NamedTuple):
    """The history of [`fit`][refebm.train.fit].

    ``theta`` are the final parameters (the structure of ``theta0``); ``losses`` ``(steps,)``
    the loss at the start of each step (before its update).
    """

    theta: Any
    losses: np.ndarray


def _takes_rng(loss):
    try:
        params = inspect.signature(loss).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return "rng" in params


def _batches(data, batch_size, gen):
    """Minibatches: a fresh permutation of ``data`` per epoch, ``batch_size`` rows at a time."""
    n = data.shape[0]
    while True:
        order = gen.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield data[order[start:start + batch_size]]


def fit(loss, theta0, data=None, *, optimizer="adam", steps=1000, step_size=1e-3, rng=None,
        progress=False, callback=None, batch_size=None, options=None):
    r"""Minimize ``loss`` from ``theta0`` with an autograd optimizer.

    Parameters
    ----------
    loss : callable
        ``loss(theta)`` when ``data`` is None, else ``loss(theta, batch)``; it returns a scalar.
        If it has a parameter named ``rng``, it is called with ``rng=`` the generator (for
        per-step noise: DSM's ``z``, CD's chains, NCE's noise samples).
    theta0 : array or autograd container
        Starting parameters.
    data : array, shape (N, ...), optional
        Training data; ``batch`` is all of it, or ``batch_size`` rows per step (a fresh
        permutation each epoch; a last incomplete batch is dropped).
    optimizer : {"adam", "sgd", "rmsprop"}
        From `autograd.misc.optimizers` (``sgd`` has momentum ``mass=0.9`` unless
        ``options={"mass": 0.0}``).
    steps : int >= 1
    step_size : float > 0
    rng : numpy.random.Generator or int, optional
        The only source of randomness (minibatches, then whatever ``loss`` draws).
    progress : bool
        Show a tqdm progress bar with the current loss.
    callback : callable, optional
        ``callback(theta, step, loss_value)`` after the loss and gradient of each step.
    batch_size : int, optional
    options : dict, optional
        Extra keyword arguments of the optimizer (``b1``, ``b2``, ``eps``, ``mass``, ``gamma``).

    Returns
    -------
    FitResult
        ``(theta, losses)``.

    Math
    ----
    Stochastic gradient descent on the objectives of D7-D19: each step evaluates
    \(\ell(\theta_t)\) and \(\nabla_\theta \ell(\theta_t)\) with autograd's
    ``value_and_grad`` and applies the optimizer's update (Adam: Kingma and Ba 2015).

    Examples
    --------
    Fit the mean of a Gaussian by its quadratic loss, with plain gradient descent:

    >>> import numpy as np
    >>> from refebm.train import fit
    >>> res = fit(lambda th: (th - 3.0) ** 2, 0.0, optimizer="sgd", steps=200, step_size=0.1,
    ...           options={"mass": 0.0})
    >>> bool(abs(res.theta - 3.0) < 1e-12), res.losses.shape
    (True, (200,))
    """
    _v.function("loss", loss)
    if not isinstance(optimizer, str):
        raise TypeError(f"`optimizer` must be one of {tuple(OPTIMIZERS)}, got {_v.show(optimizer)}")
    _v.one_of("optimizer", optimizer, tuple(OPTIMIZERS))
    steps = _v.integer("steps", steps, minimum=1)
    step_size = float(_v.scalar("step_size", step_size, low=0.0, low_open=True))
    gen = _v.rng(rng)
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be a bool, got {_v.show(progress)}")
    if callback is not None:
        _v.function("callback", callback)
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise TypeError(f"`options` must be a dict of optimizer arguments, got {_v.show(options)}")
    _v.parameters("theta0", theta0)
    flat0, _ = flatten(theta0)
    flat_host = to_numpy(flat0)
    if flat_host.size == 0 or flat_host.dtype.kind not in "biuf":
        raise TypeError(f"`theta0` must hold real numbers, got {_v.show(theta0)}")
    if not np.all(np.isfinite(flat_host)):
        raise ValueError(f"`theta0` must be finite, got {_v.show(theta0)}")

    if data is None:
        if batch_size is not None:
            raise ValueError("`batch_size` needs `data`, got data=None")
        batches = None
    else:
        data = _v.real_array("data", data, min_ndim=1)
        n = data.shape[0]
        if batch_size is None:
            batches = itertools.repeat(data)
        else:
            batch_size = _v.integer("batch_size", batch_size, minimum=1, maximum=n)
            batches = _batches(data, batch_size, gen)
    kwargs = {"rng": gen} if _takes_rng(loss) else {}
    losses = np.empty(steps)
    bar = tqdm(total=steps, disable=not progress, desc="fit")

    def scalar_loss(th, args, step):
        value = loss(th, *args, **kwargs)
        raw = getval(value)
        if isinstance(raw, (str, bytes)) or raw is None:
            raise TypeError(f"`loss` must return a real scalar, got {_v.show(value)} at step "
                            f"{step}")
        host = to_numpy(raw) if hasattr(raw, "shape") else np.asarray(raw)
        if host.dtype.kind not in "biuf":
            raise TypeError(f"`loss` must return a real scalar, got {_v.show(value)} (dtype "
                            f"{host.dtype}) at step {step}")
        if host.shape != ():
            raise ValueError(f"`loss` must return a scalar, got shape {host.shape} at step "
                             f"{step}: reduce it to one number (for example its mean, "
                             "reduction='mean')")
        return value

    def gradient(theta, step):
        args = () if batches is None else (next(batches),)
        value, g = autograd.value_and_grad(lambda th: scalar_loss(th, args, step))(theta)
        value = float(value)
        if not np.isfinite(value):
            raise FloatingPointError(f"the loss is not finite at step {step}: {value!r}")
        flat_g, _ = flatten(g)
        if not np.all(np.isfinite(to_numpy(flat_g))):
            raise FloatingPointError(f"the gradient of the loss is not finite at step {step}")
        losses[step] = value
        return g

    def after(theta, step, g):
        bar.update(1)
        if progress:
            bar.set_postfix(loss=f"{losses[step]:.6g}")
        if callback is not None:
            callback(theta, step, losses[step])

    try:
        theta = OPTIMIZERS[optimizer](gradient, theta0, callback=after, num_iters=steps,
                                      step_size=step_size, **options)
    finally:
        bar.close()
    if _v.result_dtype(flat_host) == "float32":   # the dtype rule: float32 on purpose stays
        flat, unflatten = flatten(theta)
        theta = unflatten(np.asarray(flat).astype(np.float32))
        losses = losses.astype(np.float32)
    return FitResult(theta, losses)
