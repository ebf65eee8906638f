r"""The exponential family written as an energy-based model (D1).

An exponential family has densities (or mass functions) on a support \(\mathcal{X}\)

\[
    p_\theta(x) = h(x) \exp\big(\theta \cdot T(x) - A(\theta)\big),
    \qquad A(\theta) = \log \int_{\mathcal{X}} h(x) \exp(\theta \cdot T(x))\, dx,
\]

with natural parameters \(\theta\), sufficient statistics \(T\), base measure \(h\)
and log-partition \(A\). As an EBM \(p(x) = \exp(-E(x)) / Z\) this is

\[
    E(x) = -\big(\theta \cdot T(x) + \log h(x)\big) \ (x \in \mathcal{X}), \qquad
    E(x) = +\infty \ (x \notin \mathcal{X}), \qquad \log Z = A(\theta),
\]

so ``log_prob(x) == -energy(x) - log_partition()`` and \(\int e^{-E} = e^{A}\). The
lectures' \(f = -E = \theta \cdot T + \log h\). Differentiating \(A\) gives the mean of the
sufficient statistics, \(\nabla_\theta A = \mathbb{E}_{p_\theta}[T(x)]\) (D8 applied to
\(f\)), and \(\nabla_\theta E(x) = -T(x)\).

[`ExponentialFamily`][refebm.families.ExponentialFamily] holds this structure for any \((\theta, T, \log h, A)\) given as
callables; its derivatives come from autograd. The named families (``Gaussian``, ``Gamma``, ...)
are subclasses that replace each generic piece by its closed form.
"""

from __future__ import annotations

import numpy as np
import scipy.special
from autograd import elementwise_grad, grad
from autograd.tracer import getval

from .. import _validate as v
from .._backend import array_namespace, float_dtype, is_numpy_namespace, to_numpy

__all__ = ["ExponentialFamily"]


# ---------------------------------------------------------------------------------------------
# helpers shared by the families
# ---------------------------------------------------------------------------------------------

def _host(a):
    """A NumPy copy of ``a`` for checks (autograd boxes unwrapped)."""
    return np.asarray(to_numpy(getval(a)))


def _real_scalar(name, value, xp):
    """A finite real scalar parameter, kept as a 0-d array of ``xp`` (or the autograd box)."""
    v.scalar(name, value)
    return v.real_array(name, value, xp=xp, ndim=0)


def _positive_scalar(name, value, xp):
    """A finite scalar parameter > 0."""
    v.scalar(name, value, low=0.0, low_open=True)
    return v.real_array(name, value, xp=xp, ndim=0)


def _require_numpy(xp, what):
    """Raise ``TypeError`` when ``what`` needs NumPy/autograd but ``xp`` is another namespace."""
    if not is_numpy_namespace(xp):
        raise TypeError(
            f"{what} needs NumPy (autograd or scipy); got arrays of namespace "
            f"{getattr(xp, '__name__', xp)!s}")


def _special(fname, a, xp):
    """``scipy.special.<fname>(a)``: through autograd on NumPy (differentiable); elsewhere on an
    explicit host copy of ``a``, returned with ``xp.asarray`` (not differentiable there)."""
    if is_numpy_namespace(xp):
        import autograd.scipy.special as ag_special
        return getattr(ag_special, fname)(a)
    return xp.asarray(getattr(scipy.special, fname)(_host(a)), dtype=float_dtype(a, xp=xp))


def _host_dtype(*arrays):
    """The NumPy float dtype the arrays of a family give under the dtype rule: float32 when
    every one is float32 (passed so on purpose), else float64 (integers count as float64)."""
    kinds = [np.asarray(_host(a)).dtype for a in arrays]
    return np.dtype(np.float32) if kinds and all(k == np.float32 for k in kinds) \
        else np.dtype(np.float64)


def _lgamma(a, xp):
    return _special("gammaln", a, xp)


def _digamma(a, xp):
    return _special("digamma", a, xp)


# ---------------------------------------------------------------------------------------------
# the general family
# ---------------------------------------------------------------------------------------------

class ExponentialFamily:
    r"""An exponential family \(h(x)\exp(\theta\cdot T(x) - A(\theta))\) as an EBM.

    Parameters
    ----------
    natural_params : array of shape (m,)
        The natural parameters \(\theta\).
    sufficient_stats : callable
        ``T(x) -> (n, m)`` for points ``x`` of shape ``(n, *event_shape)`` in the support.
    log_base_measure : callable
        ``log h(x) -> (n,)`` for points in the support.
    log_partition : callable
        ``A(theta) -> scalar``; must be autograd-differentiable for [`mean_sufficient_stats`][refebm.families.ExponentialFamily.mean_sufficient_stats].
    event_shape : int or tuple of int
        The shape of one point (``d`` or ``(d,)`` for vectors, ``(p, p)`` for matrices).
    support : callable, optional
        ``support(x) -> (n,)`` booleans, true where ``x`` lies in \(\mathcal{X}\). Default: the
        whole space.
    discrete : bool
        True for a mass function (then there is no [`score`][refebm.families.ExponentialFamily.score]).
    sampler : callable, optional
        ``sampler(n, rng) -> (n, *event_shape)``, used by [`sample`][refebm.families.ExponentialFamily.sample].

    Notes
    -----
    The energy is \(E(x) = -(\theta\cdot T(x) + \log h(x))\) on the support and ``+inf`` off
    it, and ``log_partition()`` is \(A(\theta)\), so
    ``log_prob(x) = -energy(x) - log_partition()`` and \(\int e^{-E(x)}dx = e^{A(\theta)}\).
    The lectures' \(f = -E\).

    Here every derivative is autograd's: [`mean_sufficient_stats`][refebm.families.ExponentialFamily.mean_sufficient_stats] is
    \(\nabla_\theta A\) and [`score`][refebm.families.ExponentialFamily.score] is \(-\nabla_x E\), so this generic class is
    NumPy-only. The named subclasses compute each of them in closed form instead.

    Math
    ----
    D1: \(Z(\theta) = \int h(x) e^{\theta\cdot T(x)} dx = e^{A(\theta)}\);
    D12: \(\nabla_x \log p(x) = \theta \cdot \nabla_x T(x) + \nabla_x \log h(x)\),
    independent of \(A\); D8: \(\nabla_\theta A(\theta) = \mathbb{E}_{p_\theta}[T(x)]\).

    Examples
    --------
    The Rayleigh distribution with scale \(\sigma\): \(T(x) = x^2\), \(h(x) = x\),
    \(\theta = -1/(2\sigma^2)\), \(A(\theta) = -\log(-2\theta) = \log\sigma^2\).

    >>> import autograd.numpy as anp
    >>> from refebm.families import ExponentialFamily
    >>> rayleigh = ExponentialFamily(
    ...     anp.array([-0.125]),                       # sigma = 2
    ...     lambda x: x ** 2, lambda x: anp.log(x[:, 0]),
    ...     lambda theta: -anp.log(-2.0 * theta[0]),
    ...     event_shape=1, support=lambda x: x[:, 0] > 0)
    >>> round(float(rayleigh.log_partition()), 12)     # log sigma^2 = log 4
    1.38629436112
    >>> round(float(rayleigh.mean_sufficient_stats()[0]), 12)   # E[x^2] = 2 sigma^2
    8.0
    >>> float(rayleigh.energy(anp.array([[-1.0]]))[0])
    inf
    """

    discrete = False
    #: whether 1-D input of shape (n,) is accepted as n points (only for event shape (1,))
    _flat_ok = False
    _xp = None
    _name = None

    def __init__(self, natural_params, sufficient_stats, log_base_measure, log_partition, *,
                 event_shape, support=None, discrete=False, sampler=None):
        xp = array_namespace(natural_params)
        self._xp = xp
        self._theta = v.real_array("natural_params", natural_params, xp=xp, ndim=1)
        self._T = v.function("sufficient_stats", sufficient_stats)
        self._logh = v.function("log_base_measure", log_base_measure)
        self._A_fn = v.function("log_partition", log_partition)
        self._support_fn = None if support is None else v.function("support", support)
        self._sampler = None if sampler is None else v.function("sampler", sampler)
        if isinstance(discrete, (bool, np.bool_)):
            self.discrete = bool(discrete)
        else:
            raise TypeError(f"`discrete` must be a bool, got {v.show(discrete)}")
        if isinstance(event_shape, (int, np.integer)) and not isinstance(event_shape, bool):
            event_shape = (event_shape,)
        if (not isinstance(event_shape, tuple) or not event_shape
                or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                           for s in event_shape)):
            raise TypeError(
                f"`event_shape` must be an int or a non-empty tuple of ints, got "
                f"{v.show(event_shape)}")
        if any(s < 1 for s in event_shape):
            raise ValueError(f"`event_shape` must have entries >= 1, got {event_shape}")
        self.event_shape = tuple(int(s) for s in event_shape)

    # --- the structure -----------------------------------------------------------------------

    @property
    def natural_params(self):
        r"""The natural parameters \(\theta\), shape ``(m,)``."""
        return self._theta

    def _stats(self, x):
        t = self._T(x)
        m = int(getval(self.natural_params).shape[0])
        n = int(getval(x).shape[0])
        got = tuple(getattr(getval(t), "shape", ()))
        if got != (n, m):
            raise ValueError(
                f"`natural_params` has {m} entries but `sufficient_stats` returned shape {got} "
                f"for {n} points; it must return ({n}, {m}): one statistic per natural parameter")
        return t

    def _log_h(self, x):
        return self._logh(x)

    def _support(self, x):
        xp = self._xp
        if self._support_fn is None:
            n = int(getval(x).shape[0])   # the whole space: every (finite, validated) point
            return xp.all(xp.isfinite(xp.reshape(x, (n, -1))), axis=1)
        return self._support_fn(x)

    def _A(self, theta):
        return self._A_fn(theta)

    def _in_natural_domain(self, theta):
        """Whether the host array ``theta`` is a natural parameter with finite ``A``."""
        return True

    #: the rule of the natural parameter space, for error messages
    _natural_rule = "A(theta) finite"

    def _energy(self, x):
        """The energy at points that all lie in the support."""
        return -(self._stats(x) @ self.natural_params + self._log_h(x))

    def _score(self, x):
        """The score at points that all lie in the support (autograd here)."""
        _require_numpy(self._xp, f"the score of {self._label()} by autograd")
        return elementwise_grad(lambda y: -self._energy(y))(x)

    def _sample(self, n, rng):
        if self._sampler is None:
            raise TypeError(
                f"{self._label()} was built without `sampler`, so it cannot draw samples")
        return self._sampler(n, rng)

    # --- helpers ----------------------------------------------------------------------------

    def _label(self):
        return self._name or type(self).__name__

    def _points(self, x, name="x"):
        """``x`` as an array of shape ``(n, *event_shape)`` and the shape it came in."""
        xp = self._xp
        xp_x = array_namespace(x)
        if (not isinstance(getval(x), (list, tuple)) and xp_x is not xp
                and not (is_numpy_namespace(xp_x) and is_numpy_namespace(xp))):
            raise TypeError(
                f"`{name}` is an array of namespace {getattr(xp_x, '__name__', xp_x)} but the "
                f"parameters of {self._label()} are of namespace {getattr(xp, '__name__', xp)};"
                " move them to one namespace explicitly")
        ev = self.event_shape
        flat = self._flat_ok and ev == (1,)
        ndim = (1, 2) if flat else 1 + len(ev)
        x = v.real_array(name, x, xp=xp, ndim=ndim)
        shape_in = tuple(getval(x).shape)
        if flat and len(shape_in) == 1:
            return xp.reshape(x, (shape_in[0], 1)), shape_in
        if shape_in[1:] != ev:
            want = "(n, " + ", ".join(str(s) for s in ev) + ")"
            extra = " or (n,)" if flat else ""
            raise ValueError(
                f"`{name}` must have shape {want}{extra} for {self._label()} (event shape "
                f"{ev}), got shape {shape_in}")
        return x, shape_in

    def _host_support(self, x, inside=None):
        """The support mask of ``x`` on the host (``inside`` when already computed)."""
        inside = np.asarray(_host(self._support(x) if inside is None else inside))
        n = int(getval(x).shape[0])
        if inside.shape != (n,) or inside.dtype != bool:
            raise ValueError(
                f"`support` must return booleans of shape ({n},) for {n} points, got "
                f"{v.show(inside)}")
        return inside

    def _on_support(self, x, fn, fill=np.inf):
        """``fn(x)`` on the support and ``fill`` elsewhere, never evaluating ``fn`` off it."""
        xp = self._xp
        inside = self._support(x)
        inside_host = self._host_support(x, inside)
        if inside_host.all():
            return fn(x)
        n = inside_host.shape[0]
        if not inside_host.any():
            return xp.full((n,), fill, dtype=float_dtype(x, xp=xp))
        i0 = int(np.argmax(inside_host))
        mask = xp.reshape(inside, (n,) + (1,) * (len(getval(x).shape) - 1))
        safe = xp.where(mask, x, x[i0:i0 + 1, ...])   # off-support rows replaced by a point inside
        out = fn(safe)
        return xp.where(inside, out, xp.full(getval(out).shape, fill, dtype=getval(out).dtype))

    def _require_support(self, x, what, name="x"):
        inside = self._host_support(x)
        if not inside.all():
            raise ValueError(
                f"`{name}` must lie in the support of {self._label()} for {what}; "
                f"{int((~inside).sum())} of {inside.size} points are outside (the energy is "
                "+inf there)")

    # --- the public API ---------------------------------------------------------------------

    def in_support(self, x):
        r"""Booleans ``(n,)``: whether each point lies in the support \(\mathcal{X}\)."""
        x, _ = self._points(x)
        return self._support(x)

    def sufficient_stats(self, x):
        r"""The sufficient statistics \(T(x)\), shape ``(n, m)``, for ``x`` in the support."""
        x, _ = self._points(x)
        self._require_support(x, "sufficient_stats")
        return self._stats(x)

    def log_base_measure(self, x):
        r"""\(\log h(x)\), shape ``(n,)``; ``x`` must lie in the support."""
        x, _ = self._points(x)
        self._require_support(x, "log_base_measure")
        return self._log_h(x)

    def energy(self, x):
        r"""The energy \(E(x) = -(\theta\cdot T(x) + \log h(x))\), ``+inf`` off the support.

        ``x`` has shape ``(n, *event_shape)`` (``(n,)`` also for univariate families); returns
        ``(n,)``. The lectures' \(f = -E\).
        """
        x, _ = self._points(x)
        return self._on_support(x, self._energy)

    def log_partition(self):
        r"""The log-partition \(\log Z = A(\theta)\), so that ``log_prob = -energy - A``."""
        return self._A(self.natural_params)

    def log_partition_natural(self, theta):
        r"""\(A(\theta)\) at any natural parameter ``theta`` of shape ``(m,)``.

        This is the log-partition as a function of the natural parameters, for
        differentiating (``autograd.grad(fam.log_partition_natural)``).
        """
        m = int(getval(self.natural_params).shape[0])
        theta = v.real_array("theta", theta, xp=self._xp, shape=(m,))
        rule = (f"`theta` must lie in the natural parameter space of {self._label()} "
                f"({self._natural_rule}), got {v.show(theta)}")
        if not self._in_natural_domain(_host(theta)):
            raise ValueError(rule)
        with np.errstate(all="ignore"):   # a non-finite A is reported below
            a = self._A(theta)
        if not np.all(np.isfinite(_host(a))):
            raise ValueError(rule + f" (A(theta) = {float(np.asarray(_host(a)).ravel()[0])!r})")
        return a

    def mean_sufficient_stats(self):
        r"""\(\mathbb{E}_{p_\theta}[T(x)] = \nabla_\theta A(\theta)\), shape ``(m,)``."""
        _require_numpy(self._xp, f"mean_sufficient_stats of {self._label()} by autograd")
        return grad(self._A)(self.natural_params)

    def grad_log_partition(self):
        r"""\(\nabla_\theta A(\theta)\), the same as [`mean_sufficient_stats`][refebm.families.ExponentialFamily.mean_sufficient_stats]."""
        return self.mean_sufficient_stats()

    def grad_energy_params(self, x):
        r"""\(\nabla_\theta E(x) = -T(x)\), shape ``(n, m)``; ``x`` must lie in the support."""
        x, _ = self._points(x)
        self._require_support(x, "grad_energy_params")
        return -self._stats(x)

    def grad_log_prob_params(self, x):
        r"""\(\nabla_\theta \log p_\theta(x) = T(x) - \mathbb{E}_{p_\theta}[T]\), ``(n, m)``."""
        x, _ = self._points(x)
        self._require_support(x, "grad_log_prob_params")
        return self._stats(x) - self.mean_sufficient_stats()

    def log_prob(self, x):
        r"""\(\log p(x) = -E(x) - A(\theta)\), shape ``(n,)``; ``-inf`` off the support."""
        x, _ = self._points(x)
        return -self._on_support(x, self._energy) - self.log_partition()

    def score(self, x):
        r"""The score \(\nabla_x \log p(x) = -\nabla_x E(x)\) (D12), the shape of ``x``.

        Defined for continuous families at points inside the (open) support; ``log Z`` does
        not enter.
        """
        if self.discrete:
            raise TypeError(f"{self._label()} is discrete: it has no score")
        x, shape_in = self._points(x)
        self._require_support(x, "the score")
        return self._xp.reshape(self._score(x), shape_in)

    def sample(self, n, rng):
        """``n`` independent draws, a NumPy array of shape ``(n, *event_shape)``: float32 for a
        family built from float32 parameters, else float64 (the dtype rule).

        ``rng`` is a ``numpy.random.Generator`` or an int seed.
        """
        n = v.integer("n", n, minimum=1)
        gen = v.rng(rng)
        out = np.asarray(to_numpy(self._sample(n, gen)),
                         dtype=_host_dtype(self.natural_params))
        return np.reshape(out, (n,) + self.event_shape)

    def __repr__(self):
        return f"{self._label()}(natural_params={v.show(self.natural_params)})"
