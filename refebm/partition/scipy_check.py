r"""\(\log Z\) by `scipy.integrate`: the independent cross-check of
[`refebm.partition.quadrature`][refebm.partition.quadrature.quadrature] (D1, D5).

NumPy only and not differentiable: scipy's integrators call the energy on plain arrays.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .quadrature import IntegrationError, QuadratureResult

__all__ = ["adaptive"]

_METHODS = ("nquad", "cubature", "tanhsinh")


def _reference_energy(energy_host, bounds):
    """The smallest energy on a coarse grid, to shift exp(-E) into range (exact identity)."""
    axes = []
    for lo, hi in bounds:
        if math.isfinite(lo) and math.isfinite(hi):
            axes.append(lo + (hi - lo) * np.array([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]))
        elif math.isfinite(lo):
            axes.append(lo + np.array([0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0]))
        elif math.isfinite(hi):
            axes.append(hi - np.array([0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0]))
        else:
            axes.append(np.array([-100.0, -10.0, -3.0, -1.0, 0.0, 1.0, 3.0, 10.0, 100.0]))
    mesh = np.meshgrid(*axes, indexing="ij")
    e = energy_host(np.stack([g.ravel() for g in mesh], axis=1))
    e = e[np.isfinite(e)]
    if e.size == 0:
        raise IntegrationError("`energy` is +inf on the whole reference grid: cannot shift it")
    return float(e.min())


def adaptive(energy, bounds, *, tol=1e-10, method="cubature"):
    r"""\(\log Z\) by `scipy.integrate`: the independent check of [`quadrature`][refebm.partition.quadrature.quadrature].

    NumPy only and not differentiable (scipy's integrators call the energy on plain arrays).

    Parameters
    ----------
    energy : callable
        ``energy(x) -> (n,)`` for ``x`` of shape ``(n, d)``, NumPy arrays; \(E = -f\).
    bounds : sequence of (lo, hi)
        The box, ``d <= 4`` pairs; infinite ends allowed.
    tol : float, default 1e-10
        Requested relative tolerance of \(Z\), i.e. absolute tolerance of \(\log Z\)
        (``nquad`` needs ``tol >= 50 eps``).
    method : {"cubature", "nquad", "tanhsinh"}
        ``"cubature"``: `scipy.integrate.cubature` (Gauss-Kronrod 21 product rule,
        adaptive subdivision, infinite limits by a change of variables). ``"nquad"``: nested
        QUADPACK (`scipy.integrate.nquad`), slow but the classic reference.
        ``"tanhsinh"``: `scipy.integrate.tanhsinh` nested over the axes in log space.

    Returns
    -------
    QuadratureResult
        ``log_z`` (a float), ``error`` (scipy's error estimate, relative to \(Z\)),
        ``n_evals`` (energy evaluations).

    Raises
    ------
    IntegrationError
        When scipy reports that it did not converge, or its error estimate exceeds ``tol``
        (the estimate is attached as ``.result``); when ``cubature`` or ``tanhsinh`` lands on
        an end where the energy is ``-inf``, or ``tanhsinh`` meets mass it cannot resolve next
        to a finite non-zero end (Beta(1/2, 1/2) at 1: its own error estimate would miss a
        5e-9 error there). ``nquad`` (QUADPACK's extrapolation) handles such ends.
    TypeError
        When called on autograd boxes (inside ``autograd.grad``).

    Math
    ----
    D1. For ``nquad`` and ``cubature`` the integrand is \(e^{-(E(x) - E_0)}\) with \(E_0\)
    the smallest energy on a coarse grid, and \(\log Z = \log \int e^{-(E - E_0)} + (-E_0)\),
    exact for any \(E_0\) and free of overflow for energies of size \(10^4\). ``tanhsinh``
    works with \(-E\) directly (``log=True``), one axis inside the other; an inner integral
    that did not converge is accepted only where it is below \(10^{-3}\)``tol`` of the largest
    in its batch. Cost: ``nquad`` calls the energy one point at a time (seconds in 2-D,
    hours in 3-D at ``tol=1e-10``); ``cubature`` and ``tanhsinh`` are vectorized.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.partition import adaptive
    >>> res = adaptive(lambda x: np.abs(x[:, 0]), [(0, np.inf)], method="nquad")
    >>> bool(abs(res.log_z) < 1e-12)
    True
    """
    _v.function("energy", energy)
    bounds = _v.bounds("bounds", bounds, max_dim=4)
    tol = float(_v.tolerance("tol", tol))
    _v.one_of("method", method, _METHODS)
    if method == "nquad" and tol < 50 * np.finfo(float).eps:
        raise ValueError(f"`tol` must be >= 50 * eps = {50 * np.finfo(float).eps:.3g} for "
                         f"method='nquad', got {tol!r}")
    counter = [0]

    def energy_host(x):
        e = energy(x)
        if getval(e) is not e:
            raise TypeError("`adaptive` is not differentiable (scipy calls the energy on plain "
                            "arrays); differentiate `quadrature` instead")
        host = np.asarray(e, dtype=np.float64)
        if host.shape == (x.shape[0],) and np.any(host == -np.inf):
            raise IntegrationError(
                f"scipy.integrate.{method} evaluated `energy` where it is -inf (at "
                f"x = {x[np.argmax(host == -np.inf)].tolist()}), an end singularity that it "
                "cannot step around")
        _v.energy_values("energy", host, x.shape[0])
        counter[0] += x.shape[0]
        return host

    import scipy.integrate as si

    with np.errstate(over="ignore", under="ignore"):
        if method == "tanhsinh":
            log_z, error = _nested_tanhsinh(si.tanhsinh, energy_host, bounds, tol)
        else:
            e0 = _reference_energy(energy_host, bounds)

            def density(x):
                return np.exp(-(energy_host(x) - e0))

            if method == "cubature":
                res = si.cubature(density, [lo for lo, _ in bounds], [hi for _, hi in bounds],
                                  rtol=tol, atol=0.0)
                value, abserr, ok = float(res.estimate), float(res.error), \
                    res.status == "converged"
            else:
                def scalar(*x):
                    return density(np.asarray([x], dtype=np.float64))[0]
                with warnings.catch_warnings():
                    warnings.simplefilter("error", si.IntegrationWarning)
                    try:
                        value, abserr = si.nquad(scalar, bounds,
                                                 opts={"epsabs": 0.0, "epsrel": tol, "limit": 200})
                        ok = True
                    except si.IntegrationWarning as w:
                        value, abserr, ok = math.nan, math.inf, False
                        why = str(w).strip().splitlines()[0]
            if not (math.isfinite(value) and value > 0):
                if method == "nquad" and not ok:
                    raise IntegrationError(f"scipy.integrate.nquad did not converge: {why}")
                raise IntegrationError(
                    f"scipy.integrate.{method} returned {value!r} for the shifted integral; "
                    "the energy may be non-integrable, or far below its value on the reference "
                    "grid (overflow)")
            log_z, error = math.log(value) - e0, abserr / value
            if not ok:
                raise IntegrationError(
                    f"scipy.integrate.{method} did not converge to `tol`={tol:g}: log Z is "
                    f"about {log_z!r} with an estimated error of {error:.3g}",
                    QuadratureResult(log_z, error, counter[0]))
    if not error <= tol:
        raise IntegrationError(
            f"scipy.integrate.{method} did not reach `tol`={tol:g}: log Z is about {log_z!r} "
            f"with an estimated error of {error:.3g}", QuadratureResult(log_z, error, counter[0]))
    return QuadratureResult(log_z, float(error), counter[0])


def _nested_tanhsinh(tanhsinh, energy_host, bounds, tol):
    """log Z as nested one-dimensional tanh-sinh integrals of exp(-E), in log space.

    tanhsinh may place abscissae exactly on an end (rounding) and ignores the values there;
    such points get log-integrand -inf without calling the energy at the end. Two checks
    keep it honest: an inner integral that did not converge is accepted only where it is
    negligible (below 1e-3 tol of the largest in its batch), and an integrand whose mass
    reaches the last float64 point before a finite non-zero end (where tanhsinh cannot
    resolve it and its error estimate is blind) raises.
    """
    d = len(bounds)
    log_rtol = math.log(tol / (2 * d))
    worst = [0.0]

    def integral(level, prefix):
        lo, hi = bounds[level]
        inside = 0.5 * (lo + hi) if math.isfinite(lo + hi) else (
            lo + 1.0 if math.isfinite(lo) else hi - 1.0 if math.isfinite(hi) else 0.0)
        ends = [e for e in (lo, hi) if math.isfinite(e) and e != 0.0]
        edge_mass = [-math.inf]  # largest log(f * distance) within 2^10 ulps of such an end

        def log_integrand(x, *pre):
            x, *pre = np.broadcast_arrays(x, *pre)
            at_end = (x == lo) | (x == hi)
            x = np.where(at_end, inside, x)
            if level == d - 1:
                pts = np.stack([*pre, x], axis=-1).reshape(-1, d)
                out = -energy_host(pts).reshape(x.shape)
            else:
                out = integral(level + 1, (*pre, x))
            out = np.where(at_end, -np.inf, out)
            for e in ends:
                dist = np.abs(x - e)
                near = ~at_end & (dist < 2.0**10 * np.spacing(abs(e)))
                if near.any():
                    edge_mass[0] = max(edge_mass[0], float(np.max((out + np.log(dist))[near])))
            return out

        res = tanhsinh(log_integrand, lo, hi, args=prefix, log=True, rtol=log_rtol)
        value = np.real(res.integral)
        top = float(np.max(value))
        ok = res.success | (value < top + math.log(1e-3 * tol))
        if not np.all(ok) or not math.isfinite(top):
            raise IntegrationError(
                f"scipy.integrate.tanhsinh did not converge on axis {level} (status "
                f"{np.unique(res.status[~ok]).tolist()}): the integrand may be non-integrable")
        if edge_mass[0] > top + math.log(tol):
            raise IntegrationError(
                f"scipy.integrate.tanhsinh cannot resolve the mass next to an end of axis "
                f"{level} (float64 has no points closer to it, and its error estimate does not "
                "see the missing mass): an end singularity at a non-zero end")
        rel = np.exp(np.real(res.error) - value)[res.success]
        worst[0] = max(worst[0], float(np.max(rel, initial=0.0)))
        return value

    log_z = float(integral(0, ()))
    return log_z, d * worst[0]
