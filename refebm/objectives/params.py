r"""The one helper for energies written as ``energy_of_theta(theta, x)``.

Every objective takes its model as an energy ``energy(x) -> (n,)`` with the parameters closed
over, and its value is differentiated from outside (``autograd.grad(lambda th:
score_matching_loss(partial(E, th), x))(th0)``). The few functions that *return* a parameter
gradient ([`nll_gradient`][refebm.objectives.nll_gradient],
[`cd_gradient`][refebm.objectives.cd_gradient] and the CD variants built on it) need to know which
parameters to differentiate: they take a [`ParametricEnergy`][refebm.objectives.ParametricEnergy],
an energy that still closes over its parameters but keeps them, and the function of them, at hand.
"""

from __future__ import annotations

import autograd
import numpy as np
from autograd.misc.flatten import flatten

from .. import _validate as _v

__all__ = ["ParametricEnergy", "parametric"]


class ParametricEnergy:
    r"""An energy \(E_\theta(x)\) = ``energy_of_theta(theta, x)`` at fixed ``theta``.

    Call it as any energy, ``model(x) -> (n,)``; ``model.at(theta2)`` is the same energy at
    other parameters, and ``model.gradient(objective)`` is
    \(\nabla_\theta\, \mathtt{objective}(E_\theta)\) at ``model.theta`` by autograd. Build it
    with [`parametric`][refebm.objectives.parametric] (the same checks).

    Attributes
    ----------
    energy_of_theta : callable
    theta : array or autograd container
    """

    __slots__ = ("energy_of_theta", "theta")

    def __init__(self, energy_of_theta, theta):
        self.energy_of_theta = _v.function("energy_of_theta", energy_of_theta)
        self.theta = _v.parameters("theta", theta)

    def __call__(self, x):
        return self.energy_of_theta(self.theta, x)

    def __repr__(self):
        return f"ParametricEnergy({self.energy_of_theta!r}, theta={_v.show(self.theta)})"

    def at(self, theta):
        """The same energy at parameters ``theta`` (an autograd box is fine)."""
        out = object.__new__(ParametricEnergy)
        out.energy_of_theta, out.theta = self.energy_of_theta, _v.parameters("theta", theta)
        return out

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
    return ParametricEnergy(energy_of_theta, theta)


def gradient_in_dtype(gradient, *arrays):
    """The dtype rule for a parameter gradient: float32 leaves when every data array is
    float32 (passed on purpose), else as autograd returns it."""
    if _v.result_dtype(*arrays) != "float32":
        return gradient
    flat, unflatten = flatten(gradient)
    return unflatten(np.asarray(flat).astype(np.float32))


def parametric_iv(name, model):
    """``model`` if it is a [`ParametricEnergy`][refebm.objectives.ParametricEnergy], else a
    ``TypeError`` that says how to build one."""
    if not isinstance(model, ParametricEnergy):
        raise TypeError(
            f"`{name}` must be a ParametricEnergy so that the gradient has parameters to be "
            f"taken in: build it with refebm.objectives.parametric(energy_of_theta, theta), got "
            f"{_v.show(model)}")
    return model
