r"""Building densities from pieces: products (D3), mixtures (D4), non-negative maps (D2).

Every function here takes callables and returns an *energy*: a callable ``energy(x) -> (n,)``
for ``x`` of shape ``(n, d)``, with \(p(x) = e^{-E(x)} / Z\) (the lectures' \(f = -E\)).

* [`product`][refebm.compose.product] and [`mixture`][refebm.compose.mixture] combine normalized log densities, so the energy they
  return is normalized already: \(\log Z = 0\) (D3, D4).
* [`square`][refebm.compose.square], [`exponential`][refebm.compose.exponential], [`absolute`][refebm.compose.absolute] and [`softplus`][refebm.compose.softplus] turn any real
  function \(f\) into a non-negative \(g\) and return \(E = -\log g\) (D2). Such a \(g\) is
  in general *not* normalized; its \(\log Z\) must be computed (``refebm.partition``).

The returned energies are written against the array namespace of their input, so they run on
NumPy (differentiably, through autograd.numpy), CuPy or any array-API namespace, provided the
callables given to them do.
"""

from __future__ import annotations

import numpy as np

from . import _validate as _v
from ._backend import array_namespace, is_numpy_namespace, logsumexp, to_numpy

__all__ = ["product", "mixture", "square", "exponential", "absolute", "softplus"]

#: Below this value of f, log(softplus(f)) is computed as f - exp(f)/2 (error < exp(2 f)).
_SOFTPLUS_TAIL = -30.0


def _n_points(x):
    return to_numpy(x).shape[0]


# ---------------------------------------------------------------------------------------------
# D3: products of normalized objects (autoregressive models)


def product(log_p_x, log_p_y_given_x, d_x):
    r"""Energy of the autoregressive product \(p(x)\, p(y \mid x)\) on points \(z = (x, y)\).

    Parameters
    ----------
    log_p_x : callable
        ``log_p_x(x) -> (n,)``: a normalized log density of ``x`` of shape ``(n, d_x)``.
    log_p_y_given_x : callable
        ``log_p_y_given_x(y, x) -> (n,)``: for every ``x``, a normalized log density of ``y``
        of shape ``(n, d_y)``.
    d_x : int
        Number of leading coordinates of ``z`` that form ``x``; the rest (at least one) form ``y``.

    Returns
    -------
    energy : callable
        ``energy(z) -> (n,)`` for ``z`` of shape ``(n, d_x + d_y)``, equal to
        ``-log_p_x(x) - log_p_y_given_x(y, x)``. It is normalized: \(\log Z = 0\).

    Math
    ----
    D3 (CS236 lecture 11): a product of normalized objects is normalized,

    \[
        \int\!\!\int p(x)\, p(y \mid x)\, dy\, dx = \int p(x) \underbrace{\int p(y \mid x)\,
        dy}_{=1}\, dx = \int p(x)\, dx = 1,
        \qquad E(x, y) = -\log p(x) - \log p(y \mid x).
    \]

    Chaining it gives the autoregressive factorization \(p(x) = \prod_i p(x_i \mid x_{<i})\).

    Examples
    --------
    \(x \sim \mathcal N(0, 1)\), \(y \mid x \sim \mathcal N(x, 1)\): at \(z = (0, 0)\) the
    energy is \(\log 2\pi\).

    >>> import numpy as np
    >>> from refebm.compose import product
    >>> log_n = lambda u, m: -0.5 * (u - m) ** 2 - 0.5 * np.log(2 * np.pi)
    >>> energy = product(lambda x: log_n(x[:, 0], 0.0),
    ...                  lambda y, x: log_n(y[:, 0], x[:, 0]), d_x=1)
    >>> bool(np.isclose(energy(np.zeros((1, 2)))[0], np.log(2 * np.pi), rtol=1e-15))
    True
    """
    _v.function("log_p_x", log_p_x)
    _v.function("log_p_y_given_x", log_p_y_given_x)
    d_x = _v.integer("d_x", d_x, minimum=1)

    def energy(z):
        z = _v.points("z", z)
        d = to_numpy(z).shape[1]
        if d <= d_x:
            raise ValueError(
                f"`z` must have more than d_x = {d_x} columns (x then at least one for y), "
                f"got shape {to_numpy(z).shape}")
        n = _n_points(z)
        x, y = z[:, :d_x], z[:, d_x:]
        lp_x = _v.returned_values("log_p_x", log_p_x(x), n, allow_neg_inf=True)
        lp_y = _v.returned_values("log_p_y_given_x", log_p_y_given_x(y, x), n,
                                  allow_neg_inf=True)
        return -lp_x - lp_y

    return energy


# ---------------------------------------------------------------------------------------------
# D4: mixtures of normalized objects (latent variables)


def mixture(weights, log_probs):
    r"""Energy of the mixture \(\sum_k w_k\, p_k(x)\) of normalized densities.

    Parameters
    ----------
    weights : array, shape (K,)
        Mixture weights: non-negative, summing to one. Components of weight zero are dropped.
        May be an autograd box (gradients flow to the positive weights).
    log_probs : sequence of K callables
        ``log_probs[k](x) -> (n,)``: normalized log densities on the same space.

    Returns
    -------
    energy : callable
        ``energy(x) = -log sum_k w_k p_k(x)``, computed by ``logsumexp``; \(\log Z = 0\).

    Math
    ----
    D4 (CS236 lecture 11): a convex combination of normalized objects is normalized,

    \[
        \int \sum_k w_k\, p_k(x)\, dx = \sum_k w_k = 1, \qquad
        E(x) = -\log \sum_k e^{\log w_k + \log p_k(x)}.
    \]

    It is the marginal of a latent-variable model \(p(x) = \sum_k p(k)\, p(x \mid k)\).

    Examples
    --------
    Two equal components give back the component: \(E = -\log p_1\).

    >>> import numpy as np
    >>> from refebm.compose import mixture
    >>> log_n = lambda x: -0.5 * np.sum(x**2, axis=-1) - 0.5 * np.log(2 * np.pi)
    >>> energy = mixture(np.array([0.3, 0.7]), [log_n, log_n])
    >>> bool(np.isclose(energy(np.zeros((1, 1)))[0], 0.5 * np.log(2 * np.pi), rtol=1e-15))
    True
    """
    if callable(log_probs) or isinstance(log_probs, (str, bytes)) or not hasattr(
            log_probs, "__len__"):
        raise TypeError(f"`log_probs` must be a sequence of callables, got {_v.show(log_probs)}")
    log_probs = list(log_probs)
    for k, lp in enumerate(log_probs):
        _v.function(f"log_probs[{k}]", lp)
    weights = _v.probability_vector("weights", weights)
    host_w = to_numpy(weights)
    if host_w.shape[0] != len(log_probs):
        raise ValueError(
            f"`weights` must have one entry per component ({len(log_probs)} in `log_probs`), "
            f"got shape {host_w.shape}")
    keep = [k for k in range(len(log_probs)) if host_w[k] > 0]
    w_xp = array_namespace(weights)

    def energy(x):
        x = _v.points("x", x)
        xp = array_namespace(x)
        # plain NumPy weights follow the points to their namespace; others are used as given
        w = xp.asarray(host_w) if is_numpy_namespace(w_xp) and not is_numpy_namespace(xp) \
            else weights
        n = _n_points(x)
        terms = []
        for k in keep:
            lp = _v.returned_values(f"log_probs[{k}]", log_probs[k](x), n, allow_neg_inf=True)
            terms.append(xp.log(w[k]) + lp)
        return -logsumexp(xp.stack(terms, axis=0), axis=0, xp=xp)

    energy.quadrature_points = _component_points([log_probs[k] for k in keep])
    return energy


def _component_points(log_probs):
    """The points the components name for quadrature (their modes), merged per axis; a
    callable for [`quadrature`][refebm.partition.quadrature.quadrature], or ``None`` if a component
    names none."""
    owners = [getattr(lp, "__self__", None) for lp in log_probs]
    sources = [getattr(o, "quadrature_points", None) for o in owners]
    if not sources or not all(callable(s) for s in sources):
        return None

    def points():
        per = [s() for s in sources]
        if len({len(p) for p in per}) != 1:
            return None
        return [np.unique(np.concatenate([np.asarray(p[i], float).ravel() for p in per]))
                for i in range(len(per[0]))]

    return points


# ---------------------------------------------------------------------------------------------
# D2: non-negative parametrizations g(f) of any real f, as energies E = -log g


def _energy_of_g(f, minus_log_g):
    r"""The energy \(E(x) = -\log g(f(x))\), given ``minus_log_g(f_values, xp)``."""
    _v.function("f", f)

    def energy(x):
        x = _v.points("x", x)
        fx = _v.returned_values("f", f(x), _n_points(x))
        return minus_log_g(fx, array_namespace(x, fx))

    return energy


def _minus_log_abs(f, xp, power):
    r"""\(-p \log |f|\), with \(+\infty\) where \(f = 0\) (and a NaN-free gradient elsewhere)."""
    zero = f == 0
    safe = xp.where(zero, xp.ones_like(f), f)
    return xp.where(zero, xp.full_like(f, float("inf")), -power * xp.log(xp.abs(safe)))


def square(f):
    r"""Energy of \(g = f^2\): \(E = -\log f^2 = -2 \log |f|\), \(+\infty\) where \(f = 0\).

    Parameters
    ----------
    f : callable
        Any real function ``f(x) -> (n,)`` (finite values).

    Math
    ----
    D2 (CS236 lecture 11, "parameterizing probability distributions"): any real \(f\) gives a
    non-negative \(g\), here \(g_\theta(x) = f_\theta(x)^2\); \(p = g / Z\) with
    \(Z = \int g\) in general \(\neq 1\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.compose import square
    >>> energy = square(lambda x: x[:, 0])
    >>> energy(np.array([[2.0], [0.0]])).tolist() == [-np.log(4.0), np.inf]
    True
    """
    return _energy_of_g(f, lambda fx, xp: _minus_log_abs(fx, xp, 2.0))


def exponential(f):
    r"""Energy of \(g = e^{f}\): \(E = -f\) (the EBM of D5).

    Parameters
    ----------
    f : callable
        Any real function ``f(x) -> (n,)`` (finite values).

    Math
    ----
    D2/D5: \(g_\theta(x) = \exp f_\theta(x)\), so \(E = -f\) and \(p = e^{f} / Z\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.compose import exponential
    >>> exponential(lambda x: x[:, 0])(np.array([[1.5]])).tolist()
    [-1.5]
    """
    return _energy_of_g(f, lambda fx, xp: -fx)


def absolute(f):
    r"""Energy of \(g = |f|\): \(E = -\log |f|\), \(+\infty\) where \(f = 0\).

    Parameters
    ----------
    f : callable
        Any real function ``f(x) -> (n,)`` (finite values).

    Math
    ----
    D2: \(g_\theta(x) = |f_\theta(x)|\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.compose import absolute
    >>> absolute(lambda x: x[:, 0])(np.array([[-np.e]])).tolist()
    [-1.0]
    """
    return _energy_of_g(f, lambda fx, xp: _minus_log_abs(fx, xp, 1.0))


def _log_softplus(f, xp):
    r"""\(\log\log(1 + e^{f})\) without underflow.

    For \(f \ge -30\) directly; below, \(\log \log(1 + u) = \log u + \log(1 - u/2 + u^2/3 - \dots)
    = f - u/2 + O(u^2)\) with \(u = e^{f} < 10^{-13}\), so the neglected term is below \(10^{-26}\).
    Both branches see clamped inputs, so neither produces inf or NaN gradients.
    """
    tail = f < _SOFTPLUS_TAIL
    f_body = xp.where(tail, xp.full_like(f, _SOFTPLUS_TAIL), f)
    f_tail = xp.where(tail, f, xp.full_like(f, _SOFTPLUS_TAIL))
    body = xp.log(xp.logaddexp(xp.zeros_like(f_body), f_body))
    return xp.where(tail, f_tail - 0.5 * xp.exp(f_tail), body)


def softplus(f):
    r"""Energy of \(g = \log(1 + e^{f})\): \(E = -\log \log(1 + e^{f})\), computed stably.

    Parameters
    ----------
    f : callable
        Any real function ``f(x) -> (n,)`` (finite values).

    Math
    ----
    D2: \(g_\theta(x) = \log(1 + \exp f_\theta(x))\), positive everywhere. For \(f \to -\infty\),
    \(g \approx e^{f}\) and \(E \approx -f\); for \(f \to +\infty\), \(g \approx f\). Energies of
    size \(10^4\) are exact: \(E(f=-10^4) = 10^4\).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.compose import softplus
    >>> energy = softplus(lambda x: x[:, 0])
    >>> bool(np.isclose(energy(np.array([[0.0]]))[0], -np.log(np.log(2.0)), rtol=1e-15))
    True
    >>> energy(np.array([[-1e4]])).tolist()
    [10000.0]
    """
    return _energy_of_g(f, lambda fx, xp: -_log_softplus(fx, xp))
