r"""Classic toy energies with analytic scores: a double well, a ring, a banana (D12, D18, D22).

Convention: \(p = e^{-E}/Z\) (the lectures' \(f = -E\)); each ``*_score`` returns
\(\nabla_x \log p = -\nabla_x E\), tested equal to autograd's.
"""

from __future__ import annotations

import math

from .. import _validate as _v
from .._backend import array_namespace, concat

__all__ = ["double_well_energy", "double_well_score", "ring_energy", "ring_score",
           "banana_energy", "banana_score", "banana_log_z"]

# ----------------------------------------------------------------------------------------
# classic toy energies with analytic scores
# ----------------------------------------------------------------------------------------

def _toy_iv(x, xp, d=None, name="x"):
    xp = array_namespace(x, xp=xp)
    return _v.points(name, x, d=d, xp=xp), xp


def double_well_energy(x, barrier=1.0, *, xp=None):
    r"""A double well in the first coordinate, Gaussian in the others.

    Parameters
    ----------
    x : array, shape (n, d), d >= 1
    barrier : float > 0
        Height \(h\) of the barrier at \(x_1 = 0\) above the wells at \(x_1 = \pm 1\).

    Returns
    -------
    energy : array, shape (n,)

    Math
    ----
    \(E(x) = h (x_1^2 - 1)^2 + \tfrac12 \sum_{i \ge 2} x_i^2\); score \(s_1 = -4 h x_1 (x_1^2 -
    1)\), \(s_i = -x_i\) (D12). A standard bimodal test density (D18, D22).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.energies import double_well_energy
    >>> double_well_energy(np.array([[1.0, 2.0], [0.0, 0.0]]), barrier=3.0).tolist()
    [2.0, 3.0]
    """
    x, xp = _toy_iv(x, xp)
    _v.scalar("barrier", barrier, low=0.0, low_open=True)
    x1 = x[:, 0]
    rest = xp.sum(x[:, 1:] ** 2, axis=1) if x.shape[1] > 1 else 0.0 * x1
    return barrier * (x1 * x1 - 1.0) ** 2 + 0.5 * rest


def double_well_score(x, barrier=1.0, *, xp=None):
    r"""The analytic score of [`double_well_energy`][refebm.energies.double_well_energy], shape ``(n, d)``.

    Math
    ----
    \(s(x) = -\nabla E = (-4 h x_1 (x_1^2 - 1), -x_2, \dots, -x_d)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.energies import double_well_score
    >>> double_well_score(np.array([[2.0, 1.0]])).tolist()
    [[-24.0, -1.0]]
    """
    x, xp = _toy_iv(x, xp)
    _v.scalar("barrier", barrier, low=0.0, low_open=True)
    first = -4.0 * barrier * x[:, 0:1] * (x[:, 0:1] ** 2 - 1.0)
    return concat([first, -x[:, 1:]], axis=1, xp=xp)


def ring_energy(x, radius=2.0, width=0.25, *, xp=None):
    r"""A ring (a shell in d dimensions) of given radius and approximate width.

    Parameters
    ----------
    x : array, shape (n, d)
    radius : float > 0
    width : float > 0
        Near the ring the energy is \(\approx (\|x\| - r)^2 / (2 w^2)\).

    Math
    ----
    \(E(x) = (\|x\|^2 - r^2)^2 / (8 r^2 w^2)\), smooth everywhere (also at 0); score \(s(x) =
    -(\|x\|^2 - r^2)\, x / (2 r^2 w^2)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.energies import ring_energy
    >>> ring_energy(np.array([[2.0, 0.0], [0.0, 0.0]]), radius=2.0, width=0.5).tolist()
    [0.0, 2.0]
    """
    x, xp = _toy_iv(x, xp)
    _v.scalar("radius", radius, low=0.0, low_open=True)
    _v.scalar("width", width, low=0.0, low_open=True)
    u = xp.sum(x * x, axis=1) - radius**2
    return u * u / (8.0 * radius**2 * width**2)


def ring_score(x, radius=2.0, width=0.25, *, xp=None):
    r"""The analytic score of [`ring_energy`][refebm.energies.ring_energy], shape ``(n, d)``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.energies import ring_score
    >>> ring_score(np.array([[0.0, 4.0]]), radius=2.0, width=1.0).tolist()
    [[-0.0, -6.0]]
    """
    x, xp = _toy_iv(x, xp)
    _v.scalar("radius", radius, low=0.0, low_open=True)
    _v.scalar("width", width, low=0.0, low_open=True)
    u = xp.sum(x * x, axis=1, keepdims=True) - radius**2
    return -u * x / (2.0 * radius**2 * width**2)


def banana_energy(x, a=1.0, b=4.0, *, xp=None):
    r"""A banana (Rosenbrock-shaped) density on \(\mathbb R^2\).

    Parameters
    ----------
    x : array, shape (n, 2)
    a : float
        The mean of \(x_1\).
    b : float > 0
        The precision of \(x_2\) around the parabola \(x_1^2\).

    Math
    ----
    \(E(x) = \tfrac12 (a - x_1)^2 + \tfrac b2 (x_2 - x_1^2)^2\): \(x_1 \sim \mathcal N(a, 1)\)
    and \(x_2 \mid x_1 \sim \mathcal N(x_1^2, 1/b)\), so \(\log Z = \log 2\pi - \tfrac12 \log
    b\) ([`banana_log_z`][refebm.energies.banana_log_z]). Score: \(s_1 = (a - x_1) + 2 b x_1 (x_2 - x_1^2)\), \(s_2 =
    -b (x_2 - x_1^2)\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.energies import banana_energy
    >>> banana_energy(np.array([[1.0, 1.0], [0.0, 1.0]]), a=1.0, b=4.0).tolist()
    [0.0, 2.5]
    """
    x, xp = _toy_iv(x, xp, d=2)
    _v.scalar("a", a)
    _v.scalar("b", b, low=0.0, low_open=True)
    x1, x2 = x[:, 0], x[:, 1]
    return 0.5 * (a - x1) ** 2 + 0.5 * b * (x2 - x1 * x1) ** 2


def banana_score(x, a=1.0, b=4.0, *, xp=None):
    r"""The analytic score of [`banana_energy`][refebm.energies.banana_energy], shape ``(n, 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.energies import banana_score
    >>> banana_score(np.array([[0.0, 1.0]]), a=1.0, b=4.0).tolist()
    [[1.0, -4.0]]
    """
    x, xp = _toy_iv(x, xp, d=2)
    _v.scalar("a", a)
    _v.scalar("b", b, low=0.0, low_open=True)
    x1, x2 = x[:, 0:1], x[:, 1:2]
    r = x2 - x1 * x1
    return concat([(a - x1) + 2.0 * b * x1 * r, -b * r], axis=1, xp=xp)


def banana_log_z(b=4.0):
    r"""\(\log Z\) of [`banana_energy`][refebm.energies.banana_energy]: \(\log(2\pi) - \tfrac12 \log b\) (any ``a``).

    Math
    ----
    \(\int\!\!\int e^{-(a - x_1)^2/2 - b (x_2 - x_1^2)^2 / 2}\, dx_2\, dx_1 = \sqrt{2\pi / b}
    \cdot \sqrt{2\pi}\) (D1: integrate \(x_2\) first).

    Examples
    --------
    >>> import math
    >>> from refebm.energies import banana_log_z
    >>> math.isclose(banana_log_z(1.0), math.log(2 * math.pi))
    True
    """
    _v.scalar("b", b, low=0.0, low_open=True)
    return math.log(2.0 * math.pi) - 0.5 * math.log(b)
