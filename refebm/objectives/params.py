r"""The one helper for energies written as ``energy_of_theta(theta, x)``.

Every objective takes its model as an energy ``energy(x) -> (n,)`` with the parameters closed
over, and its value is differentiated from outside (``autograd.grad(lambda th:
score_matching_loss(partial(E, th), x))(th0)``). The few functions that *return* a parameter
gradient ([`nll_gradient`][refebm.objectives.nll_gradient],
[`cd_gradient`][refebm.objectives.cd_gradient] and the CD variants built on it) need to
know which parameters to differentiate: they take a [`ParametricEnergy`][refebm.objectives.ParametricEnergy], an energy that
still closes over its parameters but keeps them, and the function of them, at hand.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import autograd

from .. import _validate as _v

__all__ = ["ParametricEnergy", "parametric"]


class ParametricEnergy(NamedTuple):
    r"""An energy \(E_\theta(x)\) = ``energy_of_theta(theta, x)`` at fixed ``theta``.

    Call it as any energy, ``model(x) -> (n,)``; ``model.at(theta2)`` is the same energy at
    other parameters, and ``model.gradient(objective)`` is
    \(\nabla_\theta\, \mathtt{objective}(E_\theta)\) at ``model.theta`` by autograd. Build it
    with [`parametric`][refebm.objectives.parametric].
    """

    energy_of_theta: Callable
    theta: Any

    def __call__(self, x):
        return self.energy_of_theta(self.theta, x)

    def at(self, theta):
        """The same energy at parameters ``theta``."""
        return ParametricEnergy(self.energy_of_theta, theta)

    def gradient(self, objective):
        r"""\(\nabla_\theta\, \mathtt{objective}(E_\theta)\) at ``self.theta``, shaped like it."""
        _v.function("objective", objective)
        return autograd.grad(lambda th: objective(self.at(th)))(self.theta)


def parametric(energy_of_theta, theta):
    r"""Close ``energy_of_theta(theta, x)`` over ``theta``, keeping both at hand.

    Parameters
    ----------
    energy_of_theta : callable
        ``energy_of_theta(theta, x) -> (n,)``, differentiable in ``theta`` by autograd.
    theta : array or autograd container (list, tuple, dict)
        The parameters.

    Returns
    -------
    ParametricEnergy
        An energy ``model(x) -> (n,)`` that every objective accepts, and that the functions
        returning a parameter gradient (``nll_gradient``, ``cd_gradient``, ``langevin_cd``,
        ``cd_k``, ``persistent_cd``, ``short_run``) differentiate with respect to ``theta``.

    Examples
    --------
    \(E_\theta(x) = \theta x\): the gradient of the batch mean of \(E_\theta\) is
    \(\bar x\).

    >>> import numpy as np
    >>> from refebm.objectives import parametric
    >>> model = parametric(lambda th, x: th * x[:, 0], 0.3)
    >>> model(np.array([[1.0], [3.0]])).tolist()
    [0.3, 0.8999999999999999]
    >>> float(model.gradient(lambda e: np.mean(e(np.array([[1.0], [3.0]])))))
    2.0
    """
    _v.function("energy_of_theta", energy_of_theta)
    return ParametricEnergy(energy_of_theta, theta)


def parametric_iv(name, model):
    """``model`` if it is a [`ParametricEnergy`][refebm.objectives.ParametricEnergy], else a ``TypeError`` that says how."""
    if not isinstance(model, ParametricEnergy):
        raise TypeError(
            f"`{name}` must be a ParametricEnergy so that the gradient has parameters to be "
            f"taken in: build it with refebm.objectives.parametric(energy_of_theta, theta), got "
            f"{_v.show(model)}")
    return model
