r"""Small discrete EBMs whose partition function is computed exactly by enumeration (D1, D5).

An Ising model on spins \(s \in \{-1, +1\}^n\) and a restricted Boltzmann machine (RBM) on
visible \(v \in \{0, 1\}^m\) and hidden \(h \in \{0, 1\}^k\) units. Both are written with the
energy convention \(p = e^{-E} / Z\) (the lectures' \(f = -E\)). They are small on purpose: every
quantity that needs \(Z\) sums over all \(2^n\) states, which D5 says grows exponentially with the
dimension, so enumeration is refused past [`MAX_ENUMERATED_UNITS`][refebm.discrete] units with a clear error.
The parts that need no \(Z\) (energies, local fields, the conditionals used by Gibbs samplers)
work at any size.

The parameters are bound in the object and used without copying, so an object built from
autograd boxes is differentiable: ``autograd.grad(lambda W: RBM(W, b, c).log_partition())(W0)``
is the exact \(\mathbb{E}_p[v h^\top]\). The math runs on the namespace ``xp`` of the parameters
(autograd.numpy by default, or any array-API namespace).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as _v
from ._backend import array_namespace, float_dtype, logsumexp, to_numpy

__all__ = ["MAX_ENUMERATED_UNITS", "binary_states", "spin_states", "Ising", "RBM", "RBMMarginals"]

#: Largest number of binary units summed over by exact enumeration (2**22 ~ 4.2 million states).
MAX_ENUMERATED_UNITS = 22


# ---------------------------------------------------------------------------------------------
# helpers


def _host(a):
    """A NumPy copy of ``a`` for checks (autograd boxes unwrapped)."""
    return to_numpy(a)


def _enumeration_iv(n_units, what):
    if n_units > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"{what} has {n_units} binary units, i.e. 2^{n_units} states; exact enumeration is "
            f"limited to {MAX_ENUMERATED_UNITS} units (MAX_ENUMERATED_UNITS)")


def _host_bits(n):
    """All of {0, 1}^n on the host, row r = the binary digits of r, most significant first."""
    r = np.arange(2 ** n, dtype=np.int64)[:, None]
    return ((r >> np.arange(n - 1, -1, -1, dtype=np.int64)[None, :]) & 1).astype(np.float64)


def binary_states(n, *, xp=None, dtype=None):
    r"""Every configuration of ``n`` binary units, shape ``(2**n, n)``, entries in {0, 1}.

    Row ``r`` holds the binary digits of ``r``, most significant first, so the rows are in
    lexicographic order.

    Parameters
    ----------
    n : int
        Number of units, ``1 <= n <= MAX_ENUMERATED_UNITS``.
    xp : namespace, optional
        Array namespace of the result (default: the current backend).
    dtype : dtype, optional
        Floating dtype of the result (default float64).

    Math
    ----
    The state space \(\{0, 1\}^n\) that the exact partition function
    \(Z = \sum_{x \in \{0,1\}^n} e^{-E(x)}\) sums over (D1, D5).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.discrete import binary_states
    >>> binary_states(2).tolist()
    [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    n = _v.integer("n", n, minimum=1)
    _enumeration_iv(n, "the state space")
    xp = array_namespace(xp=xp)
    dtype = xp.float64 if dtype is None else dtype
    return xp.asarray(_host_bits(n), dtype=dtype)


def spin_states(n, *, xp=None, dtype=None):
    r"""Every configuration of ``n`` spins, shape ``(2**n, n)``, entries in {-1, +1}.

    The same order as [`binary_states`][refebm.discrete.binary_states] with 0 mapped to -1.

    Math
    ----
    \(s = 2x - 1\) for \(x \in \{0, 1\}^n\).

    Examples
    --------
    >>> from refebm.discrete import spin_states
    >>> spin_states(2).tolist()
    [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
    """
    n = _v.integer("n", n, minimum=1)
    _enumeration_iv(n, "the state space")
    xp = array_namespace(xp=xp)
    dtype = xp.float64 if dtype is None else dtype
    return xp.asarray(2.0 * _host_bits(n) - 1.0, dtype=dtype)


def _sigmoid(a, xp):
    """1 / (1 + exp(-a)) without overflow: exp(-log(1 + exp(-a)))."""
    return xp.exp(-xp.logaddexp(xp.zeros_like(a), -a))


def _softplus(a, xp):
    """log(1 + exp(a)) without overflow."""
    return xp.logaddexp(xp.zeros_like(a), a)


def _units_iv(name, x, size, values, xp):
    """A batch ``(N, size)`` whose entries are all in ``values`` (a pair of numbers)."""
    x = _v.points(name, x, d=size, xp=xp)
    host = _host(x)
    if not np.all((host == values[0]) | (host == values[1])):
        bad = host[(host != values[0]) & (host != values[1])].ravel()[0]
        raise ValueError(
            f"`{name}` must have entries in {{{values[0]:g}, {values[1]:g}}}, got {float(bad)!r}")
    return x


def _symmetric_zero_diagonal_iv(name, J, rtol=1e-12):
    host = _host(J).astype(np.float64)
    scale = max(float(np.max(np.abs(host))), np.finfo(float).tiny)
    if np.max(np.abs(host - host.T)) > rtol * scale:
        raise ValueError(
            f"`{name}` must be symmetric, got max |J - J^T| = {np.max(np.abs(host - host.T)):.3g}")
    diag = np.diag(host)
    if np.any(diag != 0):
        raise ValueError(f"`{name}` must have a zero diagonal, got diagonal {_v.show(diag)}")


# ---------------------------------------------------------------------------------------------
# Ising model


class Ising:
    r"""Ising model on ``n`` spins \(s \in \{-1, +1\}^n\).

    Parameters
    ----------
    J : array, shape (n, n)
        Couplings: symmetric with a zero diagonal. May be an autograd box.
    h : array, shape (n,), optional
        External field (default zero). May be an autograd box.
    xp : namespace, optional
        Array namespace (default: the one of ``J`` and ``h``).

    Math
    ----
    \[
        E(s) = -\tfrac12 s^\top J s - h^\top s, \qquad
        p(s) = \frac{e^{-E(s)}}{Z}, \qquad Z = \sum_{s \in \{-1,+1\}^n} e^{-E(s)}
    \]

    (D1, D5; the lectures' \(f = -E\)). The conditional of one spin given the others needs no
    \(Z\) (D6): with the local field \(\phi_i = (J s)_i + h_i\), which does not involve \(s_i\)
    because \(J_{ii} = 0\),

    \[
        P(s_i = +1 \mid s_{-i}) = \frac{1}{1 + e^{E(s_i=+1) - E(s_i=-1)}} = \sigma(2 \phi_i).
    \]

    Examples
    --------
    Two spins with coupling 1 and no field: \(Z = 2e^{1} + 2e^{-1}\).

    >>> import numpy as np
    >>> from refebm.discrete import Ising
    >>> model = Ising(np.array([[0.0, 1.0], [1.0, 0.0]]), np.zeros(2))
    >>> bool(np.isclose(model.log_partition(), np.log(2 * np.e + 2 / np.e), rtol=1e-12))
    True
    """

    def __init__(self, J, h=None, *, xp=None):
        xp = array_namespace(J, h, xp=xp)
        J = _v.square_matrix("J", J, xp=xp)
        n = _host(J).shape[0]
        _symmetric_zero_diagonal_iv("J", J)
        if h is None:
            h = xp.zeros((n,), dtype=float_dtype(J, xp=xp))
        h = _v.real_array("h", h, xp=xp, shape=(n,))
        self.J, self.h, self.n, self.xp = J, h, n, xp

    def __repr__(self):
        return f"Ising(n={self.n})"

    def _spins(self, s, name="s"):
        return _units_iv(name, s, self.n, (-1.0, 1.0), self.xp)

    def states(self):
        """All ``2**n`` spin configurations, shape ``(2**n, n)`` (order of [`spin_states`][refebm.discrete.spin_states])."""
        _enumeration_iv(self.n, "this Ising model")
        return spin_states(self.n, xp=self.xp, dtype=float_dtype(self.J, xp=self.xp))

    def _energy(self, s):
        xp = self.xp
        return -0.5 * xp.sum((s @ self.J) * s, axis=-1) - s @ self.h

    def energy(self, s):
        r"""\(E(s) = -\tfrac12 s^\top J s - h^\top s\) per row of ``s`` ``(N, n)`` -> ``(N,)``."""
        return self._energy(self._spins(s))

    def log_partition(self):
        r"""\(\log Z = \log \sum_s e^{-E(s)}\), exact, by enumerating the ``2**n`` states."""
        return logsumexp(-self._energy(self.states()), axis=0, xp=self.xp)

    def log_prob(self, s):
        r"""\(\log p(s) = -E(s) - \log Z\) per row of ``s`` -> ``(N,)``."""
        return -self.energy(s) - self.log_partition()

    def marginals(self):
        r"""Exact \(P(s_i = +1)\) for every spin, shape ``(n,)``, by enumeration.

        \[
            P(s_i = +1) = \sum_s p(s)\, \tfrac12 (1 + s_i)
        \]

        """
        states = self.states()
        log_p = -self._energy(states) - self.log_partition()
        return self.xp.exp(log_p) @ ((states + 1.0) / 2.0)

    def local_field(self, s):
        r"""\(\phi = s J + h\) per row of ``s``, shape ``(N, n)``; entry ``i`` excludes \(s_i\)."""
        return self._spins(s) @ self.J + self.h

    def conditional_prob_plus(self, s, i):
        r"""\(P(s_i = +1 \mid s_{-i}) = \sigma(2 \phi_i)\) per row of ``s`` -> ``(N,)``.

        The value of ``s[:, i]`` itself is ignored. Needs no \(Z\); any ``n`` works.
        """
        i = _v.integer("i", i, minimum=0, maximum=self.n - 1)
        s = self._spins(s)
        phi_i = s @ self.J[:, i] + self.h[i]
        return _sigmoid(2.0 * phi_i, self.xp)


# ---------------------------------------------------------------------------------------------
# restricted Boltzmann machine


class RBMMarginals(NamedTuple):
    """Exact marginal probabilities of an RBM's units being on."""

    visible: object  #: P(v_i = 1), shape (m,)
    hidden: object  #: P(h_j = 1), shape (k,)


class RBM:
    r"""Restricted Boltzmann machine with binary visible and hidden units.

    Parameters
    ----------
    W : array, shape (m, k)
        Visible-hidden weights. May be an autograd box.
    b : array, shape (m,)
        Visible biases. May be an autograd box.
    c : array, shape (k,)
        Hidden biases. May be an autograd box.
    xp : namespace, optional
        Array namespace (default: the one of the parameters).

    Math
    ----
    \[
        E(v, h) = -b^\top v - c^\top h - v^\top W h, \qquad
        v \in \{0,1\}^m,\; h \in \{0,1\}^k,\qquad p(v, h) = e^{-E(v, h)} / Z.
    \]

    Summing one layer out analytically gives the free energies (the energies of the marginals),

    \[
        F(v) = -\log \sum_h e^{-E(v,h)}
        = -b^\top v - \sum_{j=1}^k \operatorname{softplus}(c_j + (v W)_j),

        F'(h) = -\log \sum_v e^{-E(v,h)}
        = -c^\top h - \sum_{i=1}^m \operatorname{softplus}(b_i + (W h)_i),
    \]

    so \(Z = \sum_v e^{-F(v)} = \sum_h e^{-F'(h)} = \sum_{v,h} e^{-E(v,h)}\) (D1, D4: the hidden
    units make \(p(v)\) a mixture over \(2^k\) components). The conditionals factorize:
    \(P(h_j = 1 \mid v) = \sigma(c_j + (vW)_j)\), \(P(v_i = 1 \mid h) = \sigma(b_i + (W h)_i)\).
    The gradient of \(\log Z\) is an expectation (D8): \(\partial \log Z / \partial W =
    \mathbb{E}_p[v h^\top]\).

    Examples
    --------
    With zero weights the units are independent: \(\log Z = m\log(1+e^{b}) + k\log(1+e^{c})\).

    >>> import numpy as np
    >>> from refebm.discrete import RBM
    >>> rbm = RBM(np.zeros((3, 2)), np.full(3, 0.5), np.full(2, -1.0))
    >>> exact = 3 * np.log1p(np.exp(0.5)) + 2 * np.log1p(np.exp(-1.0))
    >>> bool(np.isclose(rbm.log_partition(), exact, rtol=1e-12))
    True
    """

    def __init__(self, W, b, c, *, xp=None):
        xp = array_namespace(W, b, c, xp=xp)
        W = _v.real_array("W", W, xp=xp, ndim=2)
        m, k = _host(W).shape
        b = _v.real_array("b", b, xp=xp, shape=(m,))
        c = _v.real_array("c", c, xp=xp, shape=(k,))
        self.W, self.b, self.c, self.m, self.k, self.xp = W, b, c, m, k, xp

    def __repr__(self):
        return f"RBM(m={self.m}, k={self.k})"

    def _dtype(self):
        return float_dtype(self.W, xp=self.xp)

    def _visible(self, v, name="v"):
        return _units_iv(name, v, self.m, (0.0, 1.0), self.xp)

    def _hidden(self, h, name="h"):
        return _units_iv(name, h, self.k, (0.0, 1.0), self.xp)

    # states -----------------------------------------------------------------------------------
    def visible_states(self):
        """All ``2**m`` visible configurations, shape ``(2**m, m)``."""
        _enumeration_iv(self.m, "the visible layer")
        return binary_states(self.m, xp=self.xp, dtype=self._dtype())

    def hidden_states(self):
        """All ``2**k`` hidden configurations, shape ``(2**k, k)``."""
        _enumeration_iv(self.k, "the hidden layer")
        return binary_states(self.k, xp=self.xp, dtype=self._dtype())

    # energies ---------------------------------------------------------------------------------
    def _energy(self, v, h):
        xp = self.xp
        return -(v @ self.b) - (h @ self.c) - xp.sum((v @ self.W) * h, axis=-1)

    def energy(self, v, h):
        r"""\(E(v, h) = -b^\top v - c^\top h - v^\top W h\) per row -> ``(N,)``."""
        v, h = self._visible(v), self._hidden(h)
        if _host(v).shape[0] != _host(h).shape[0]:
            raise ValueError(
                f"`h` must have as many rows as `v` ({_host(v).shape[0]}), "
                f"got shape {_host(h).shape}")
        return self._energy(v, h)

    def _free_energy(self, v):
        return -(v @ self.b) - self.xp.sum(_softplus(self.c + v @ self.W, self.xp), axis=-1)

    def _free_energy_hidden(self, h):
        return -(h @ self.c) - self.xp.sum(
            _softplus(self.b + h @ self.W.T, self.xp), axis=-1)

    def free_energy(self, v):
        r"""Free energy, hidden units summed out: \(F(v) = -b^\top v - \sum_j
        \operatorname{softplus}(c_j + (vW)_j)\) -> ``(N,)``."""
        return self._free_energy(self._visible(v))

    def free_energy_hidden(self, h):
        r"""Free energy, visible units summed out: \(F'(h) = -c^\top h - \sum_i
        \operatorname{softplus}(b_i + (Wh)_i)\) -> ``(N,)``."""
        return self._free_energy_hidden(self._hidden(h))

    # partition function -----------------------------------------------------------------------
    def log_partition(self, method="auto"):
        r"""\(\log Z\), exact, by enumeration.

        Parameters
        ----------
        method : {"auto", "visible", "hidden", "joint"}
            ``"visible"``: \(\log \sum_v e^{-F(v)}\) over ``2**m`` states; ``"hidden"``:
            \(\log \sum_h e^{-F'(h)}\) over ``2**k`` states; ``"joint"``: \(\log \sum_{v,h}
            e^{-E(v,h)}\) over ``2**(m+k)`` states; ``"auto"``: the smaller layer. All agree.
        """
        _v.one_of("method", method, ("auto", "visible", "hidden", "joint"))
        if method == "auto":
            method = "visible" if self.m <= self.k else "hidden"
        if method == "visible":
            return logsumexp(-self._free_energy(self.visible_states()), axis=0, xp=self.xp)
        if method == "hidden":
            return logsumexp(-self._free_energy_hidden(self.hidden_states()), axis=0, xp=self.xp)
        _enumeration_iv(self.m + self.k, "the joint state space (visible + hidden)")
        joint = binary_states(self.m + self.k, xp=self.xp, dtype=self._dtype())
        return logsumexp(-self._energy(joint[:, :self.m], joint[:, self.m:]), axis=0, xp=self.xp)

    def log_prob(self, v, h):
        r"""\(\log p(v, h) = -E(v, h) - \log Z\) -> ``(N,)``."""
        return -self.energy(v, h) - self.log_partition()

    def log_prob_visible(self, v):
        r"""\(\log p(v) = -F(v) - \log Z\) -> ``(N,)``."""
        return -self.free_energy(v) - self.log_partition()

    def log_prob_hidden(self, h):
        r"""\(\log p(h) = -F'(h) - \log Z\) -> ``(N,)``."""
        return -self.free_energy_hidden(h) - self.log_partition()

    # conditionals and marginals ---------------------------------------------------------------
    def prob_h_given_v(self, v):
        r"""\(P(h_j = 1 \mid v) = \sigma(c + vW)\), shape ``(N, k)``; needs no \(Z\)."""
        return _sigmoid(self.c + self._visible(v) @ self.W, self.xp)

    def prob_v_given_h(self, h):
        r"""\(P(v_i = 1 \mid h) = \sigma(b + h W^\top)\), shape ``(N, m)``; needs no \(Z\)."""
        return _sigmoid(self.b + self._hidden(h) @ self.W.T, self.xp)

    def marginals(self):
        r"""Exact \(P(v_i = 1)\) and \(P(h_j = 1)\) as [`RBMMarginals`][refebm.discrete.RBMMarginals].

        Enumerates the smaller layer and sums the other out through the conditionals, e.g.
        \(P(h_j = 1) = \sum_v p(v)\, \sigma(c_j + (vW)_j)\).
        """
        xp = self.xp
        log_z = self.log_partition()
        if self.m <= self.k:
            v = self.visible_states()
            p = xp.exp(-self._free_energy(v) - log_z)
            return RBMMarginals(p @ v, p @ _sigmoid(self.c + v @ self.W, xp))
        h = self.hidden_states()
        p = xp.exp(-self._free_energy_hidden(h) - log_z)
        return RBMMarginals(p @ _sigmoid(self.b + h @ self.W.T, xp), p @ h)
