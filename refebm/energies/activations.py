r"""Activations for hand-written energies, with the derivative rule of PyTorch and JAX.

autograd differentiates ``autograd.numpy.tanh`` as \(g / \cosh^2 a\). That is exact, but the
derivative is a new expression in \(a\) (a ``cosh``, a power and a division), and every further
derivative order differentiates that expression again: an exact score-matching loss with its
parameter gradient is a third-order derivative of the energy, and then most of the time goes to
recomputing ``sinh`` and ``cosh``.

[`tanh`][refebm.energies.tanh] here is the same function with the derivative written in terms of its output
\(y = \tanh a\),

\[
    \frac{d}{da} \tanh a = 1 - y^2 ,
\]

so each derivative order costs two multiplications and a subtraction on arrays already
computed. PyTorch (``tanh_backward``) and JAX (``jax.numpy.tanh``) use this rule. Its rounding
error is absolute, not relative: \(1 - y^2\) is within about \(2^{-52}\) of
\(\operatorname{sech}^2 a\) for every \(a\) (for \(|a| > 19.1\), \(y = \pm 1\) exactly and the
computed derivative is 0 where the true one is below \(10^{-16}\)). Where relative accuracy of
tiny derivatives matters, use ``autograd.numpy.tanh``.
"""

from __future__ import annotations

from autograd.extend import defjvp, defvjp, primitive

from .. import _validate as _v
from .._backend import array_namespace

__all__ = ["tanh"]


@primitive
def tanh(a):
    r"""\(\tanh a\), elementwise, differentiated by autograd as \(1 - \tanh^2 a\).

    Parameters
    ----------
    a : array or number
        Real, any shape; NumPy, or another namespace's array for the value alone.

    Returns
    -------
    array
        \(\tanh a\), the same shape and namespace as ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> from autograd import grad
    >>> float(grad(lambda a: tanh(a))(0.5)) == float(1.0 - np.tanh(0.5) ** 2)
    True
    """
    xp = array_namespace(a)
    return xp.tanh(_v.real_dtype("a", a, xp))


def _tanh_derivative(y):
    return 1.0 - y * y


defvjp(tanh, lambda y, a: lambda g: g * _tanh_derivative(y))
defjvp(tanh, lambda g, y, a: g * _tanh_derivative(y))
