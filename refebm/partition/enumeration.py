r"""\(\log Z\) of a finite state space by enumeration (D1, D5).

For an energy on finitely many states \(x_1, \dots, x_m\) (binary units, Ising spins, a
categorical table), the partition function is a finite sum, computed in log space:

\[
    \log Z = \log \sum_{j=1}^m e^{-E(x_j)} = \operatorname{logsumexp}_j\,(-E(x_j)).
\]

Its cost is the number of states: \(2^d\) for \(d\) binary units, which is why \(Z\) is
intractable for large models (D5).
"""

from __future__ import annotations

from .. import _validate as _v
from .._backend import array_namespace, logsumexp, to_numpy

__all__ = ["enumerate_states"]


def enumerate_states(energy, states, *, xp=None):
    r"""\(\log Z = \operatorname{logsumexp}(-E(\text{states}))\) over a finite table of states.

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (m,)`` for ``x`` of shape ``(m, d)``; \(E = -f\). ``+inf`` marks a
        state of zero probability.
    states : array, shape (m, d)
        Every state, one per row (non-empty, finite; integer and boolean tables are read as
        float64).
    xp : array namespace, optional
        Taken from ``states`` when not given.

    Returns
    -------
    log_z : scalar (0-d array of the namespace; an autograd box when traced)
        \(\log Z\), differentiable by autograd with respect to the parameters ``energy``
        closes over: \(\nabla_\theta \log Z = -\sum_j p(x_j) \nabla_\theta E(x_j)\) (D8).

    Raises
    ------
    ValueError
        When ``states`` is not a non-empty finite 2-D array, when ``energy`` returns the
        wrong shape, NaN or ``-inf``, or when every state has energy ``+inf`` (\(Z = 0\)).

    Math
    ----
    D1, D5: \(Z = \sum_j e^{-E(x_j)}\). With \(m = \max_j (-E(x_j))\),
    \(\log Z = m + \log \sum_j e^{-E(x_j) - m}\), which cannot overflow, and
    \(E + c\) gives \(\log Z - c\) exactly up to rounding.

    Examples
    --------
    Independent binary units with fields \(h_i\) and \(E(x) = -h \cdot x\):
    \(\log Z = \sum_i \log(1 + e^{h_i})\).

    >>> import itertools
    >>> import numpy as np
    >>> from refebm.partition import enumerate_states
    >>> h = np.array([0.5, -1.0, 2.0])
    >>> states = np.array(list(itertools.product([0, 1], repeat=3)))
    >>> log_z = enumerate_states(lambda x: -x @ h, states)
    >>> bool(np.isclose(log_z, np.sum(np.log1p(np.exp(h))), rtol=1e-15))
    True
    """
    _v.function("energy", energy)
    xp = array_namespace(states, xp=xp)
    states = _v.points("states", states, xp=xp)
    m = to_numpy(states).shape[0]
    e = _v.energy_values("energy", energy(states), m)
    if not (to_numpy(e) < float("inf")).any():
        raise ValueError(f"`energy` is +inf on all {m} states: Z = 0 and log Z is undefined")
    return logsumexp(-e, xp=xp)
