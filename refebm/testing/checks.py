r"""Deterministic conformance checks: run a foreign function, compare, name the mistake.

Every check takes the user's function first, then refebm's view of the same model (an energy, a
score, parameters), then the inputs, in the order of refebm's own functions. It calls the
foreign function on NumPy arrays (float64, or float32 with ``dtype="float32"``), converts what
it returns once (NumPy, torch, JAX, Python numbers: see ``_convert``), computes refebm's value
on the same inputs and returns a [`CheckResult`][refebm.testing.CheckResult]. When the values
differ, every catalogue entry of the quantity ([`catalogue`][refebm.testing.catalogue]) is
evaluated on the same inputs, and the entries that equal the foreign value are named.

Tolerances
----------
Elementwise \(|g - e| \le \text{atol}\) with \(\text{atol} = 8\, K\, \varepsilon\, M\):
\(\varepsilon\) the unit roundoff of the dtype (float64 \(2.2 \times 10^{-16}\), float32
\(1.2 \times 10^{-7}\)), \(K\) the operation count of the reference's computation (the
reduction over the batch and the dimension plus a fixed 64 for the model and its first and
second derivatives), \(M\) the magnitude of the terms summed (so cancellation in a mean of
large terms does not make the tolerance too small), 8 a safety factor for an implementation
that orders its operations differently. Every catalogued form differs from the correct one by
a relative amount of order one on the standard problems, so this tolerance separates them by
more than ten orders of magnitude in float64 and three in float32.
"""

from __future__ import annotations

import math

import autograd
import numpy as np

from .. import _validate as _v
from .. import diff as _diff
from .. import objectives as _obj
from .. import samplers as _smp
from ..samplers import conventions as _conv
from . import catalogue as _cat
from ._convert import ForeignCallError, ForeignValueError, call_foreign, to_numpy_value
from ._result import CheckResult, Tolerance, compare

__all__ = [
    "check_score", "check_score_matching_loss", "check_sliced_score_matching_loss",
    "check_hutchinson_trace", "check_denoising_score_matching_loss", "check_nce_loss",
    "check_cd_gradient", "check_langevin_step", "check_mh_log_acceptance", "check_mala_step",
    "check_log_partition",
]

_SAFETY = 8
_MODEL_OPS = 64


# ---- helpers -------------------------------------------------------------------------------

def _dtype_iv(dtype):
    if dtype in ("float64", np.float64):
        return np.float64
    if dtype in ("float32", np.float32):
        return np.float32
    raise ValueError(f"`dtype` must be 'float64' or 'float32', got {dtype!r}")


def _cast(a, dtype):
    """The array the foreign function receives, and the float64 copy refebm computes on (the
    float32 input rounded first, so both sides see the same numbers)."""
    foreign = np.asarray(a, dtype=dtype)
    return foreign, np.asarray(foreign, dtype=np.float64)


def _tolerance(ops, magnitude, dtype, what):
    eps = float(np.finfo(dtype).eps)
    magnitude = float(magnitude) if np.isfinite(magnitude) and magnitude > 0 else 1.0
    atol = _SAFETY * ops * eps * magnitude
    name = np.dtype(dtype).name
    return Tolerance(atol, 0.0, f"{name} rounding: {_SAFETY} x {ops} operations ({what}) x "
                                f"eps {eps:.3g} x term magnitude {magnitude:.3g}")


def _log2(n):
    return int(math.ceil(math.log2(max(int(n), 2))))


def _failed(name, expected, tolerance, message, got=None):
    return CheckResult(name, "fail", expected, got, tolerance=tolerance,
                       abs_error=float("inf"), rel_error=float("inf"),
                       mismatches=int(np.size(expected)), notes=(message,))


def _call(fn, args, call_text, expected_text):
    """Run the foreign function; return (value as NumPy, None) or (None, message)."""
    if not callable(fn):
        raise TypeError(f"the foreign function must be callable, got {_v.show(fn)}")
    try:
        raw = call_foreign(fn, args, call_text=call_text)
    except ForeignCallError as err:
        return None, str(err)
    try:
        return to_numpy_value(raw, what=f"the foreign function ({call_text})",
                              expected=expected_text), None
    except ForeignValueError as err:
        return None, str(err)


def _finish(name, quantity, expected, got, tolerance, parts, *, dtype, call_text,
            extra_entries=(), skip=(), notes=(), coefficients=None):
    """Compare, look up the catalogue, and build the result."""
    expected = np.asarray(expected, dtype=np.float64)
    notes = list(notes)
    got_dtype = got.dtype
    got64 = np.asarray(got, dtype=np.float64)
    if got64.shape != expected.shape and got64.size == expected.size and expected.ndim == 0:
        got64 = got64.reshape(())  # a 1-element array for a scalar is fine
    cmp = compare(expected, got64, tolerance)
    if got64.shape != expected.shape:
        notes.append(f"the foreign function ({call_text}) returned shape {got64.shape}; "
                     f"expected shape {expected.shape}")
    elif np.any(np.isnan(got64)):
        idx = tuple(int(i) for i in np.argwhere(np.isnan(got64))[0]) if got64.ndim else ()
        notes.append(f"the foreign function ({call_text}) returned NaN (first at index {idx}); "
                     "expected finite values")
    if cmp.equal:
        status = "pass"
    else:
        status = "fail"
    # catalogue
    entries = [e for e in _cat.entries(quantity) + tuple(extra_entries) if e.id not in skip]
    matches = []
    ref_from_parts = None
    for e in entries:
        value = e.evaluate(parts)
        if e.equals_reference:
            if status == "pass":
                matches.append(e)
            continue
        if value.shape == expected.shape:
            if ref_from_parts is None:
                ref_from_parts = expected
            if compare(expected, value, tolerance).equal:
                continue  # this form equals the reference on these inputs: cannot tell apart
        if status != "pass" and compare(value, got64, tolerance).equal:
            matches.append(e)
    if status != "pass":
        bugs = [m for m in matches if m.kind == "bug"]
        convs = [m for m in matches if m.kind == "convention"]
        matches = bugs + convs
        status = "known_bug" if bugs else ("equivalent_convention" if convs else "fail")
    if status == "fail" and got_dtype == np.float32 and dtype == np.float64 \
            and got64.shape == expected.shape:
        tol32 = Tolerance(tolerance.atol * float(np.finfo(np.float32).eps / np.finfo(np.float64).eps),
                          0.0, "float32")
        agree = compare(expected, got64, tol32).equal
        notes.append(
            "the foreign function returned float32 where float64 was expected; "
            + ("it agrees at float32 tolerance: compute in float64, or pass dtype='float32' to "
               "compare at float32 tolerance" if agree else
               "it does not agree even at float32 tolerance"))
    return CheckResult(name, status, expected, got64, tolerance=tolerance,
                       abs_error=cmp.abs_error, rel_error=cmp.rel_error,
                       mismatches=cmp.mismatches, worst_index=cmp.worst_index,
                       matches=matches, coefficients=coefficients, notes=notes)


def _points(name, x, d=None):
    return np.asarray(_v.points(name, x, d=d), dtype=np.float64)


def _score_of(energy, score):
    if score is not None:
        _v.function("score", score)
        return score
    if energy is None:
        raise ValueError("give the model: `energy` or `score=` (both are None)")
    _v.function("energy", energy)
    return _diff.score(energy)


def _vjp_rows(score, x, v):
    """v^T nabla_x s(x) v per row, for a score function (autograd)."""
    g = autograd.grad(lambda y: _sum_prod(score(y), v))(x)
    return np.sum(g * v, axis=-1)


def _sum_prod(a, b):
    import autograd.numpy as anp

    return anp.sum(a * b)


# ---- score ---------------------------------------------------------------------------------

def check_score(score_fn, energy, x, *, dtype="float64"):
    r"""Check a foreign score function against \(s = -\nabla_x E\).

    Parameters
    ----------
    score_fn : callable
        The foreign function, called as ``score_fn(x)`` with ``x`` ``(n, d)``; it should return
        ``(n, d)``.
    energy : callable
        refebm's view of the same model, ``energy(x) -> (n,)`` (autograd-differentiable).
    x : array ``(n, d)``
    dtype : {"float64", "float32"}
        The dtype the foreign function receives, and whose roundoff sets the tolerance.

    Returns
    -------
    CheckResult
        With ``coefficients={"factor": c}`` when the foreign score is \(c\, s\).

    Math
    ----
    D12: \(s(x) = \nabla_x \log p(x) = -\nabla_x E(x)\), free of \(\log Z\).

    Known entries: ``SCORE-SIGN``, ``SCORE-TRANSPOSED``, ``SCORE-SCALED``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_score
    >>> energy = lambda x: 0.5 * (x**2).sum(axis=1)
    >>> x = np.array([[1.0, 2.0], [0.5, -1.0]])
    >>> check_score(lambda x: x, energy, x).match_ids   # the gradient of E, not of log p
    ('SCORE-SIGN',)
    """
    name = "score"
    dt = _dtype_iv(dtype)
    x_f, x64 = _cast(_points("x", x), dt)
    _v.function("energy", energy)
    expected = np.asarray(_diff.score(energy)(x64), dtype=np.float64)
    n, d = x64.shape
    tol = _tolerance(_MODEL_OPS, np.max(np.abs(expected)), dt,
                     "the model's gradient")
    call = f"score_fn(x) with x of shape {x64.shape} {np.dtype(dt).name}"
    got, err = _call(score_fn, (x_f,), call, f"an array of shape {(n, d)}")
    if err:
        return _failed(name, expected, tol, err)
    parts = {"grad_energy": -expected}
    coef = None
    if got.shape == expected.shape and np.all(np.isfinite(got)):
        g = np.asarray(got, dtype=np.float64)
        factor = float(np.sum(g * expected) / np.sum(expected * expected))
        parts["factor"] = factor
        if compare(factor * expected, g, tol).equal and abs(factor - 1) > 1e-6:
            coef = {"factor": factor}
    skip = () if coef is not None and abs(coef["factor"] + 1) > 1e-6 else ("SCORE-SCALED",)
    return _finish(name, "score", expected, got, tol, parts, dtype=dt, call_text=call,
                   skip=skip, coefficients=coef)


# ---- score matching ------------------------------------------------------------------------

def check_score_matching_loss(loss_fn, energy, x, *, score=None, dtype="float64"):
    r"""Check a foreign (exact, Hyvarinen) score-matching loss.

    Parameters
    ----------
    loss_fn : callable
        Called as ``loss_fn(x)``; returns the scalar loss (the mean over the batch).
    energy : callable or None
        The model as refebm sees it (``None`` when ``score=`` is given).
    x : array ``(n, d)``
    score : callable, optional
        The model's score ``score(x) -> (n, d)`` instead of an energy.
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult

    Math
    ----
    D15: \(J = \frac1n \sum_i \big[\tfrac12 \|s(x_i)\|^2 + \operatorname{tr} \nabla_x s(x_i)\big]\)
    with \(s = -\nabla_x E\), so \(\operatorname{tr} \nabla_x s = -\Delta E\).

    Known entries: ``SM-HALF-MISSING``, ``SM-LAPLACIAN-SIGN``, ``SM-TRACE-OVER-D``, ``SM-SUM``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_score_matching_loss
    >>> energy = lambda x: 0.5 * (x**2).sum(axis=1)   # s = -x, tr = -d
    >>> x = np.array([[1.0, 2.0], [0.5, -1.0]])
    >>> half_missing = lambda x: np.mean((x**2).sum(axis=1) - 2.0)
    >>> check_score_matching_loss(half_missing, energy, x).match_ids
    ('SM-HALF-MISSING',)
    """
    name = "score_matching_loss"
    dt = _dtype_iv(dtype)
    x_f, x64 = _cast(_points("x", x), dt)
    s_fn = _score_of(energy, score)
    expected = np.asarray(_obj.score_matching_loss(energy, x64, score=score), dtype=np.float64)
    s = np.asarray(s_fn(x64), dtype=np.float64)
    n, d = x64.shape
    if score is None:
        tr = np.asarray(_diff.hessian_trace(energy)(x64), dtype=np.float64)
    else:
        tr = sum(_vjp_rows(score, x64, np.eye(d)[k] * np.ones_like(x64)) for k in range(d))
    parts = {"score": s, "trace": tr}
    mag = float(np.mean(0.5 * np.sum(s * s, axis=1) + np.abs(tr)))
    tol = _tolerance(2 * d + _log2(n) + _MODEL_OPS, mag, dt,
                     f"2d + log2(n) for the mean, {_MODEL_OPS} for the model's derivatives")
    call = f"loss_fn(x) with x of shape {x64.shape} {np.dtype(dt).name}"
    got, err = _call(loss_fn, (x_f,), call, "a scalar loss")
    if err:
        return _failed(name, expected, tol, err)
    return _finish(name, "score_matching_loss", expected, got, tol, parts, dtype=dt,
                   call_text=call)


def check_sliced_score_matching_loss(loss_fn, energy, x, projections, *, score=None,
                                     variance_reduced=False, dtype="float64"):
    r"""Check a foreign sliced score-matching loss with the given projections.

    Parameters
    ----------
    loss_fn : callable
        Called as ``loss_fn(x, projections)``; returns the scalar loss.
    energy : callable or None
        The model (``None`` when ``score=`` is given: score networks are accepted).
    x : array ``(n, d)``
    projections : array ``(m, n, d)`` or ``(n, d)``
        The projection vectors \(v\), ``m`` per point.
    score : callable, optional
    variance_reduced : bool
        Whether the reference is the variance-reduced form (SSM-VR).
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult

    Math
    ----
    D15 (Song et al. 2019): \(\frac{1}{mn} \sum_{j,i} [v_{ji}^\top \nabla_x s(x_i) v_{ji} +
    \tfrac12 (v_{ji}^\top s(x_i))^2]\); SSM-VR puts \(\tfrac12 \|s(x_i)\|^2\) in the second
    term. Both estimate \(J\) when \(\mathbb E[v v^\top] = I\).

    Known entries: ``SSM-VARIANCE-REDUCED`` and ``SSM-PLAIN`` (conventions: the other form),
    ``SSM-UNIT-SPHERE`` (convention: \(J/d\)), ``SSM-PROJECTIONS-SUMMED``,
    ``SSM-WRONG-VARIABLE``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_sliced_score_matching_loss
    >>> energy = lambda x: 0.5 * (x**2).sum(axis=1)   # s = -x, v^T grad s v = -|v|^2
    >>> x = np.array([[1.0, 2.0], [0.5, -1.0]])
    >>> v = np.array([[[1.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, -1.0]]])
    >>> vr = lambda x, v: np.mean(-(v**2).sum(-1)) + np.mean(0.5 * (x**2).sum(-1))
    >>> r = check_sliced_score_matching_loss(vr, energy, x, v)
    >>> r.status, r.match_ids
    ('equivalent_convention', ('SSM-VARIANCE-REDUCED',))
    """
    name = "sliced_score_matching_loss"
    dt = _dtype_iv(dtype)
    x_f, x64 = _cast(_points("x", x), dt)
    n, d = x64.shape
    v = np.asarray(_v.real_array("projections", projections, ndim=(2, 3)))
    v3 = v[None] if v.ndim == 2 else v
    if v3.shape[1:] != (n, d):
        raise ValueError(f"`projections` must have shape (m, {n}, {d}) or ({n}, {d}), "
                         f"got shape {v.shape}")
    v_f, v64 = _cast(v, dt)
    v64_3 = v64[None] if v64.ndim == 2 else v64
    s_fn = _score_of(energy, score)
    _v.boolean("variance_reduced", variance_reduced)
    expected = np.asarray(_obj.sliced_score_matching_loss(
        energy, x64, v64, score=score, variance_reduced=variance_reduced), dtype=np.float64)
    s = np.asarray(s_fn(x64), dtype=np.float64)
    if score is None:
        vhv = np.stack([np.asarray(_diff.hutchinson_trace(energy, x64, vj)) for vj in v64_3])
    else:
        vhv = np.stack([_vjp_rows(score, x64, vj) for vj in v64_3])
    parts = {"score": s, "v": v64_3, "vhv": vhv, "variance_reduced": bool(variance_reduced)}
    m = v64_3.shape[0]
    vs = np.einsum("mnd,nd->mn", v64_3, s)
    mag = float(np.mean(np.abs(vhv) + 0.5 * vs**2 + 0.5 * np.sum(s * s, axis=1)))
    tol = _tolerance(2 * d + _log2(n * m) + _MODEL_OPS, mag, dt,
                     f"2d + log2(mn) for the projections and mean, {_MODEL_OPS} for the model")
    call = (f"loss_fn(x, projections) with x {x64.shape} and projections {v.shape} "
            f"{np.dtype(dt).name}")
    got, err = _call(loss_fn, (x_f, v_f), call, "a scalar loss")
    if err:
        return _failed(name, expected, tol, err)
    skip = ("SSM-PLAIN",) if not variance_reduced else ("SSM-VARIANCE-REDUCED",)
    notes = ()
    res = _finish(name, "sliced_score_matching_loss", expected, got, tol, parts, dtype=dt,
                  call_text=call, skip=skip, notes=notes)
    if "SSM-UNIT-SPHERE" in res.match_ids:
        res.notes = res.notes + (f"unit-sphere projections estimate J/d = J/{d}: the same "
                                 "minimizer, a loss scaled by 1/d",)
    return res


def check_hutchinson_trace(fn, jacobian_or_fn, probes, *, dtype="float64"):
    r"""Check a foreign Hutchinson trace estimate with the given probe vectors.

    Parameters
    ----------
    fn : callable
        Called as ``fn(probes)``; returns the estimate (a scalar for one matrix, ``(n,)`` for a
        batch).
    jacobian_or_fn : array ``(d, d)`` or ``(n, d, d)``, or callable
        The matrix \(A\) whose trace is estimated, or its product ``matvec(v)`` (``v`` of the
        probes' shape, returning the same shape).
    probes : array ``(m, d)`` or ``(m, n, d)``
        \(v_1, \dots, v_m\).
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult

    Math
    ----
    D15: \(\widehat{\operatorname{tr}} A = \frac1m \sum_k v_k^\top A v_k\), unbiased when
    \(\mathbb E[v v^\top] = I\).

    Known entries: ``HUTCH-NOT-AVERAGED``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_hutchinson_trace
    >>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> v = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]])
    >>> summed = lambda v: np.einsum("md,de,me->", v, a, v)
    >>> check_hutchinson_trace(summed, a, v).match_ids
    ('HUTCH-NOT-AVERAGED',)
    """
    name = "hutchinson_trace"
    dt = _dtype_iv(dtype)
    v = np.asarray(_v.real_array("probes", probes, ndim=(2, 3)))
    v_f, v64 = _cast(v, dt)
    if callable(jacobian_or_fn):
        av = to_numpy_value(jacobian_or_fn(v64), what="`jacobian_or_fn`",
                            expected=f"A v of shape {v64.shape}")
        av = np.asarray(av, dtype=np.float64)
        if av.shape != v64.shape:
            raise ValueError(f"`jacobian_or_fn` must return A v of the probes' shape "
                             f"{v64.shape}, got shape {av.shape}")
    else:
        a = np.asarray(_v.real_array("jacobian_or_fn", jacobian_or_fn, ndim=(2, 3)),
                       dtype=np.float64)
        if v64.ndim == 2:
            if a.shape != (v64.shape[1],) * 2:
                raise ValueError(f"`jacobian_or_fn` must have shape {(v64.shape[1],) * 2} for "
                                 f"probes of shape {v64.shape}, got shape {a.shape}")
            av = v64 @ a.T
        else:
            if a.shape != (v64.shape[1], v64.shape[2], v64.shape[2]):
                raise ValueError(f"`jacobian_or_fn` must have shape "
                                 f"{(v64.shape[1], v64.shape[2], v64.shape[2])} for probes of "
                                 f"shape {v64.shape}, got shape {a.shape}")
            av = np.einsum("nde,mne->mnd", a, v64)
    vav = np.sum(v64 * av, axis=-1)
    expected = np.mean(vav, axis=0)
    m, d = v64.shape[0], v64.shape[-1]
    tol = _tolerance(2 * d + _log2(m), np.mean(np.abs(vav)), dt,
                     "2d for each quadratic form, log2(m) for the mean")
    call = f"fn(probes) with probes of shape {v64.shape} {np.dtype(dt).name}"
    got, err = _call(fn, (v_f,), call,
                     "a scalar" if v64.ndim == 2 else f"an array of shape {expected.shape}")
    if err:
        return _failed(name, expected, tol, err)
    return _finish(name, "hutchinson_trace", expected, got, tol, {"vav": vav}, dtype=dt,
                   call_text=call)


def check_denoising_score_matching_loss(loss_fn, x, sigma, noise, *, energy=None, score=None,
                                        dtype="float64"):
    r"""Check a foreign denoising score-matching loss with the given noise.

    Parameters
    ----------
    loss_fn : callable
        Called as ``loss_fn(x, sigma, noise)``; returns the scalar loss.
    x : array ``(n, d)``
    sigma : float > 0
        Noise level, \(\tilde x = x + \sigma z\).
    noise : array ``(n, d)``
        \(z\).
    energy, score : callable, keyword-only
        The model (one of them).
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult

    Math
    ----
    D16 (Vincent 2011): \(\frac1n \sum_i \tfrac12 \|s(\tilde x_i) + z_i/\sigma\|^2\); the target
    \(-(\tilde x - x)/\sigma^2\) is the same number as \(-z/\sigma\).

    Known entries: ``DSM-TARGET-SIGN``, ``DSM-SUM`` (bugs); ``DSM-SIGMA2-WEIGHT``,
    ``DSM-SIGMA4-WEIGHT`` (conventions: weights with the same minimizer); ``DSM-TARGET-XTILDE``
    (the same number, reported with a pass).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_denoising_score_matching_loss
    >>> score = lambda x: -x
    >>> x = np.array([[1.0, 2.0], [0.5, -1.0]]); z = np.array([[0.3, -0.2], [1.0, 0.1]])
    >>> ncsn = lambda x, s, z: np.mean(0.5 * ((s * -(x + s * z)) + z) ** 2 @ np.ones(2))
    >>> r = check_denoising_score_matching_loss(ncsn, x, 0.5, z, score=score)
    >>> r.status, r.match_ids
    ('equivalent_convention', ('DSM-SIGMA2-WEIGHT',))
    """
    name = "denoising_score_matching_loss"
    dt = _dtype_iv(dtype)
    x_f, x64 = _cast(_points("x", x), dt)
    n, d = x64.shape
    sigma = float(_v.scalar("sigma", sigma, low=0.0, low_open=True))
    sigma_f = dt(sigma)
    sigma64 = float(sigma_f)
    z = np.asarray(_v.real_array("noise", noise, shape=(n, d)))
    z_f, z64 = _cast(z, dt)
    s_fn = _score_of(energy, score)
    expected = np.asarray(_obj.denoising_score_matching_loss(
        energy, x64, z64, sigma64, score=score), dtype=np.float64)
    st = np.asarray(s_fn(x64 + sigma64 * z64), dtype=np.float64)
    parts = {"score_tilde": st, "noise": z64, "sigma": sigma64}
    mag = float(np.mean(0.5 * np.sum((np.abs(st) + np.abs(z64) / sigma64) ** 2, axis=1)))
    tol = _tolerance(3 * d + _log2(n) + _MODEL_OPS, mag, dt,
                     f"3d + log2(n) for the residual and mean, {_MODEL_OPS} for the model")
    call = (f"loss_fn(x, sigma, noise) with x {x64.shape}, sigma {sigma64!r}, noise {z.shape} "
            f"{np.dtype(dt).name}")
    got, err = _call(loss_fn, (x_f, sigma_f, z_f), call, "a scalar loss")
    if err:
        return _failed(name, expected, tol, err)
    return _finish(name, "denoising_score_matching_loss", expected, got, tol, parts, dtype=dt,
                   call_text=call)


def check_nce_loss(loss_fn, energy, log_z, x_data, x_noise, noise_log_prob, *, nu=None,
                   dtype="float64"):
    r"""Check a foreign noise-contrastive estimation loss.

    Parameters
    ----------
    loss_fn : callable
        Called as ``loss_fn(x_data, x_noise)``; returns the scalar loss at the model's current
        energy and \(c = \log Z\) (the ones given here).
    energy : callable
    log_z : float
        The learned normalizer \(c\).
    x_data : array ``(n_data, d)``
    x_noise : array ``(n_noise, d)``
    noise_log_prob : callable
        ``noise_log_prob(x) -> (n,)``.
    nu : float, optional
        Noise-to-data ratio (default ``n_noise / n_data``).
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult

    Math
    ----
    D19 (Gutmann and Hyvarinen 2012): \(G = -E - c - \log q - \log \nu\),
    \(J = -[\overline{\log \sigma(G)}_\text{data} + \nu\, \overline{\log \sigma(-G)}_\text{noise}]\).
    Writing the prior as \(-\log k\) with a logistic loss is the same number.

    Known entries: ``NCE-LOGIT-SIGN``, ``NCE-LOGZ-MISSING``, ``NCE-NU-IGNORED`` (bugs);
    ``NCE-LOG-K`` (the same number, reported with a pass).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import log_expit
    >>> from refebm.testing import check_nce_loss
    >>> energy = lambda x: 0.5 * (x**2).sum(axis=1)
    >>> log_q = lambda x: -0.125 * (x**2).sum(axis=1) - np.log(8 * np.pi)
    >>> xd = np.array([[0.1, 0.2], [-0.5, 1.0]]); xn = np.array([[2.0, 1.0], [-1.0, 3.0],
    ...                                                           [0.5, -2.0], [1.5, 1.5]])
    >>> def no_logz(xd, xn):   # c left out
    ...     g = lambda x: -energy(x) - log_q(x) - np.log(2.0)
    ...     return -(log_expit(g(xd)).mean() + 2.0 * log_expit(-g(xn)).mean())
    >>> check_nce_loss(no_logz, energy, 1.8, xd, xn, log_q).match_ids
    ('NCE-LOGZ-MISSING',)
    """
    name = "nce_loss"
    dt = _dtype_iv(dtype)
    xd_f, xd = _cast(_points("x_data", x_data), dt)
    xn_f, xn = _cast(_points("x_noise", x_noise, d=xd.shape[1]), dt)
    _v.function("energy", energy)
    _v.function("noise_log_prob", noise_log_prob)
    c = float(_v.scalar("log_z", log_z))
    nu_val = xn.shape[0] / xd.shape[0] if nu is None else float(
        _v.scalar("nu", nu, low=0.0, low_open=True))
    expected = np.asarray(_obj.nce_loss(energy, c, xd, xn, noise_log_prob, nu_val),
                          dtype=np.float64)
    parts = {"energy_data": np.asarray(energy(xd)), "energy_noise": np.asarray(energy(xn)),
             "log_q_data": np.asarray(noise_log_prob(xd)),
             "log_q_noise": np.asarray(noise_log_prob(xn)), "log_z": c, "nu": nu_val}
    mag = float(np.mean(np.abs(parts["energy_data"])) + np.mean(np.abs(parts["energy_noise"]))
                + abs(c) + np.mean(np.abs(parts["log_q_data"])) + 1.0) * (1 + nu_val)
    tol = _tolerance(16 + _log2(xd.shape[0] + xn.shape[0]) + _MODEL_OPS, mag, dt,
                     f"16 for the logit and log-sigmoid, log2(n) for the means, {_MODEL_OPS} "
                     "for the model")
    call = (f"loss_fn(x_data, x_noise) with x_data {xd.shape} and x_noise {xn.shape} "
            f"{np.dtype(dt).name}")
    got, err = _call(loss_fn, (xd_f, xn_f), call, "a scalar loss")
    if err:
        return _failed(name, expected, tol, err)
    return _finish(name, "nce_loss", expected, got, tol, parts, dtype=dt, call_text=call)


def check_cd_gradient(grad_fn, energy_of_theta, theta, x_data, x_model, *, dtype="float64"):
    r"""Check a foreign contrastive-divergence gradient (given the model samples).

    Parameters
    ----------
    grad_fn : callable
        Called as ``grad_fn(x_data, x_model)``; returns the gradient at the parameters
        ``theta`` (an array of ``theta``'s shape, or a list of arrays, one per parameter
        tensor, whose flattened concatenation has ``theta``'s size).
    energy_of_theta : callable
        ``energy_of_theta(theta, x) -> (n,)``.
    theta : array
        The parameters.
    x_data : array ``(n_data, d)``
    x_model : array ``(n_model, d)``
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult

    Math
    ----
    D7, D8: \(\nabla_\theta \mathrm{NLL} \approx \overline{\nabla_\theta E(x_d)} -
    \overline{\nabla_\theta E(x_m)}\) (descend on it). With \(f = -E\) the loss
    \(-\bar f_d + \bar f_m\) has the same gradient.

    Known entries: ``CD-SIGN`` (also: terms swapped), ``CD-SUM`` (bugs); ``CD-LOG-DENSITY``
    (the same number, reported with a pass).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_cd_gradient
    >>> e = lambda th, x: th[0] * x[:, 0] + th[1] * x[:, 1] ** 2
    >>> xd = np.array([[1.0, 2.0], [3.0, 0.0]]); xm = np.array([[0.5, 1.0]])
    >>> flipped = lambda xd, xm: np.array([xm[:, 0].mean() - xd[:, 0].mean(),
    ...                                    (xm[:, 1]**2).mean() - (xd[:, 1]**2).mean()])
    >>> check_cd_gradient(flipped, e, np.array([0.3, 0.2]), xd, xm).match_ids
    ('CD-SIGN',)
    """
    name = "cd_gradient"
    dt = _dtype_iv(dtype)
    _v.function("energy_of_theta", energy_of_theta)
    theta = np.asarray(_v.real_array("theta", theta), dtype=np.float64)
    xd_f, xd = _cast(_points("x_data", x_data), dt)
    xm_f, xm = _cast(_points("x_model", x_model, d=xd.shape[1]), dt)
    expected = np.asarray(_obj.cd_gradient(_obj.parametric(energy_of_theta, theta), xd, xm),
                          dtype=np.float64).reshape(theta.shape)
    jac = autograd.jacobian(lambda th: energy_of_theta(th, xd))
    jm = autograd.jacobian(lambda th: energy_of_theta(th, xm))
    gd = np.asarray(jac(theta)).reshape(xd.shape[0], -1)
    gm = np.asarray(jm(theta)).reshape(xm.shape[0], -1)
    parts = {"grad_data": gd.reshape((xd.shape[0],) + theta.shape),
             "grad_model": gm.reshape((xm.shape[0],) + theta.shape)}
    mag = float(max(np.max(np.abs(gd)), np.max(np.abs(gm)), 1e-300))
    tol = _tolerance(_log2(xd.shape[0] + xm.shape[0]) + _MODEL_OPS, mag, dt,
                     f"log2(n) for the two means, {_MODEL_OPS} for the parameter gradient")
    call = f"grad_fn(x_data, x_model) with x_data {xd.shape}, x_model {xm.shape}"
    got, err = _call(grad_fn, (xd_f, xm_f), call, f"an array of shape {theta.shape}")
    if err:
        return _failed(name, expected, tol, err)
    if got.shape != theta.shape and got.size == theta.size:
        got = got.reshape(theta.shape)
    return _finish(name, "cd_gradient", expected, got, tol, parts, dtype=dt, call_text=call)


# ---- Langevin ------------------------------------------------------------------------------

_CONV_ENTRY = {"cs236": "LANGEVIN-CS236", "song_kingma": "LANGEVIN-SONG-KINGMA",
               "tfp": "LANGEVIN-TFP"}


def check_langevin_step(step_fn, score, x, noise, step_size, *, convention="cs236",
                        sigmas=None, dtype="float64"):
    r"""Check a foreign unadjusted Langevin step; recover its drift and noise coefficients.

    The foreign step is called on the given noise, on zero noise (which leaves
    \(x + a\, s(x)\)), and the two give \(a = \langle x'_0 - x, s\rangle / \|s\|^2\) and
    \(b = \langle x' - x'_0, z \rangle / \|z\|^2\). The result names the convention of
    [`refebm.samplers.conventions`][refebm.samplers.conventions] the pair \((a, b)\) belongs to,
    or the bug, and states the stationary law it samples on \(N(0, 1)\) (its variance from
    [`ula_stationary_gaussian`][refebm.samplers.conventions.ula_stationary_gaussian]).

    Parameters
    ----------
    step_fn : callable
        Called as ``step_fn(x, noise, step_size)``; returns ``x'`` ``(n, d)``.
    score : callable
        The model's score ``score(x) -> (n, d)`` (refebm's view of the foreign model).
    x : array ``(n, d)``
    noise : array ``(n, d)``
    step_size : float
        The step parameter in ``convention``.
    convention : {"cs236", "song_kingma", "tfp"}
        How ``step_size`` is meant.
    sigmas : array, optional
        NCSN noise levels: then each level's TFP step \(\alpha_i = \epsilon \sigma_i^2 /
        \sigma_L^2\) is also tried (as a note naming the level).
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult
        ``coefficients``: ``drift``, ``noise_scale``, ``temperature`` \(b^2/(2a)\), and
        ``stationary_variance`` on \(N(0, 1)\) against ``reference_variance``.

    Math
    ----
    D11: \(x' = x + a\, s(x) + b z\); CS236 \((\epsilon, \sqrt{2\epsilon})\), Song-Kingma
    \((\epsilon^2/2, \epsilon)\), TFP \((h/2, \sqrt h)\); \(b^2 = 2a\) samples \(p\) as
    \(a \to 0\), otherwise \(p^{1/T}\) with \(T = b^2/(2a)\). On \(N(0,1)\) the chain's
    stationary variance is \(b^2 / (a(2 - a))\).

    Known entries: ``LANGEVIN-CS236``, ``LANGEVIN-SONG-KINGMA``, ``LANGEVIN-TFP``
    (conventions), ``LANGEVIN-NOISE-STEP``, ``LANGEVIN-ONE-SYMBOL`` (bugs).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_langevin_step
    >>> score = lambda x: -x
    >>> x = np.array([[1.0, -0.5], [0.2, 0.3]]); z = np.array([[0.5, 1.0], [-1.0, 0.2]])
    >>> tfp_noise_bug = lambda x, z, h: x + 0.5 * h * score(x) + h * z
    >>> r = check_langevin_step(tfp_noise_bug, score, x, z, 0.1, convention="tfp")
    >>> r.match_ids
    ('LANGEVIN-NOISE-STEP',)
    >>> round(r.coefficients["stationary_variance"], 3), round(r.coefficients["reference_variance"], 3)
    (0.103, 1.026)
    """
    name = "langevin_step"
    dt = _dtype_iv(dtype)
    x_f, x64 = _cast(_points("x", x), dt)
    n, d = x64.shape
    z = np.asarray(_v.real_array("noise", noise, shape=(n, d)))
    z_f, z64 = _cast(z, dt)
    _v.function("score", score)
    step = float(_v.scalar("step_size", step_size, low=0.0, low_open=True))
    step_f = dt(step)
    step64 = float(step_f)
    a_ref, b_ref = _conv.drift_and_noise(step64, convention=convention)
    state = _smp.ula_init(score, x64)
    expected = np.asarray(_smp.decoupled_langevin_step(score, state, z64, a_ref, b_ref)[0].x,
                          dtype=np.float64)
    s = np.asarray(score(x64), dtype=np.float64)
    parts = {"x": x64, "score": s, "noise": z64, "drift": a_ref, "noise_scale": b_ref,
             "step_size": step64}
    mag = float(np.max(np.abs(x64)) + abs(a_ref) * np.max(np.abs(s))
                + abs(b_ref) * np.max(np.abs(z64)))
    tol = _tolerance(8, mag, dt, "the update's three terms and their products")
    call = f"step_fn(x, noise, step_size) with x {x64.shape}, step_size {step64!r}"
    got, err = _call(step_fn, (x_f, z_f, step_f), call, f"x' of shape {(n, d)}")
    if err:
        return _failed(name, expected, tol, err)
    notes = []
    coef = None
    if got.shape == (n, d) and np.all(np.isfinite(got)):
        g0, err0 = _call(step_fn, (x_f, np.zeros_like(z_f), step_f),
                         "step_fn(x, zeros, step_size)", f"x' of shape {(n, d)}")
        if err0 is None and g0.shape == (n, d):
            g0 = np.asarray(g0, dtype=np.float64)
            g = np.asarray(got, dtype=np.float64)
            a = float(np.sum((g0 - x64) * s) / np.sum(s * s))
            b = float(np.sum((g - g0) * z64) / np.sum(z64 * z64))
            affine = compare(x64 + a * s + b * z64, g, tol).equal
            coef = {"drift": a, "noise_scale": b,
                    "temperature": b * b / (2 * a) if a > 0 else float("inf")}
            try:
                var = float(_conv.ula_stationary_gaussian(np.zeros(1), np.eye(1), a, b).cov[0, 0])
            except ValueError:
                var = float("inf")
            coef["stationary_variance"] = var
            coef["reference_variance"] = float(_conv.ula_stationary_gaussian(
                np.zeros(1), np.eye(1), a_ref, b_ref).cov[0, 0])
            if not affine:
                notes.append("the foreign step is not of the form x + a s(x) + b z with the "
                             "given score (the drift uses another score, or the update is "
                             "not affine in the noise)")
            else:
                notes.append(
                    f"on N(0, 1) this update's stationary variance is {var:.4g} "
                    f"(temperature b^2/(2a) = {coef['temperature']:.4g}); the reference "
                    f"update's is {coef['reference_variance']:.4g}")
                if sigmas is not None:
                    alphas = _conv.ncsn_step_sizes(step64, sigmas)
                    for i, al in enumerate(np.asarray(alphas)):
                        ai, bi = _conv.drift_and_noise(float(al), convention="tfp")
                        if abs(ai - a) <= 1e-9 * ai + tol.atol and abs(bi - b) <= 1e-9 * bi + tol.atol:
                            notes.append(f"this is NCSN's update at level {i} "
                                         f"(alpha_{i} = {al:.6g}, TFP h = alpha_{i})")
    skip = (_CONV_ENTRY[convention],)
    return _finish(name, "langevin_step", expected, got, tol, parts, dtype=dt, call_text=call,
                   skip=skip, notes=notes, coefficients=coef)


# ---- Metropolis-Hastings and MALA -----------------------------------------------------------

def _mh_setup(energy, x64, xp64, step, score):
    e_x = np.asarray(energy(x64), dtype=np.float64)
    e_p = np.asarray(energy(xp64), dtype=np.float64)
    parts = {"x": x64, "x_proposed": xp64, "energy_x": e_x, "energy_proposed": e_p,
             "step_size": step}
    if step is not None:
        s_fn = _score_of(energy, score)
        parts["score_x"] = np.asarray(s_fn(x64), dtype=np.float64)
        parts["score_proposed"] = np.asarray(s_fn(xp64), dtype=np.float64)
    return parts


def check_mh_log_acceptance(fn, energy, x, x_proposed, *, step_size=None, score=None,
                            dtype="float64"):
    r"""Check a foreign Metropolis-Hastings log acceptance ratio \(\log r\) per chain.

    Parameters
    ----------
    fn : callable
        Called as ``fn(x, x_proposed)``; returns \(\log r\) ``(n,)``.
    energy : callable
    x, x_proposed : array ``(n, d)``
        Current and proposed states.
    step_size : float, optional
        The CS236 \(\epsilon\) of MALA's proposal \(N(x + \epsilon s(x), 2\epsilon I)\); when
        omitted the proposal is symmetric and \(\log r = E(x) - E(x')\).
    score : callable, optional
        The model's score (default: autograd of ``energy``).
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult

    Math
    ----
    D6, D10: \(\log r = E(x) - E(x') + \log q(x \mid x') - \log q(x' \mid x)\).

    Known entries: ``MH-REVERSE-WRONG-STATE``, ``MH-HASTINGS-INVERTED``, ``MH-NEW-MINUS-NEW``,
    ``MH-ENERGY-SIGN``, ``MH-CORRECTION-MISMATCH`` (bugs); ``MH-CLIPPED`` (convention:
    \(\min(0, \log r)\)).

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_mh_log_acceptance
    >>> energy = lambda x: 0.5 * (x**2).sum(axis=1)
    >>> x = np.array([[1.0], [0.2]]); xp = np.array([[0.4], [1.1]])
    >>> check_mh_log_acceptance(lambda x, y: energy(y) - energy(x), energy, x, xp).match_ids
    ('MH-ENERGY-SIGN',)
    """
    name = "mh_log_acceptance"
    dt = _dtype_iv(dtype)
    x_f, x64 = _cast(_points("x", x), dt)
    xp_f, xp64 = _cast(_points("x_proposed", x_proposed, d=x64.shape[1]), dt)
    if xp64.shape != x64.shape:
        raise ValueError(f"`x_proposed` must have the shape of `x` {x64.shape}, "
                         f"got shape {xp64.shape}")
    _v.function("energy", energy)
    step = None if step_size is None else float(dt(_v.scalar("step_size", step_size, low=0.0,
                                                             low_open=True)))
    parts = _mh_setup(energy, x64, xp64, step, score)
    if step is None:
        expected = parts["energy_x"] - parts["energy_proposed"]
    else:
        cur = _smp.mala_init(energy, x64, score=score)
        prop = _smp.mala_init(energy, xp64, score=score)
        expected = np.asarray(_smp.mala_log_acceptance(cur, prop, step), dtype=np.float64)
    n, d = x64.shape
    mag = float(np.max(np.abs(parts["energy_x"])) + np.max(np.abs(parts["energy_proposed"])))
    if step is not None:
        mag += float(np.max(np.sum((np.abs(xp64) + np.abs(x64)
                                    + step * np.abs(parts["score_x"])) ** 2, axis=1)) / step)
    tol = _tolerance(4 * d + _MODEL_OPS, mag, dt,
                     f"4d for the proposal densities, {_MODEL_OPS} for the energies")
    call = f"fn(x, x_proposed) with x {x64.shape} {np.dtype(dt).name}"
    got, err = _call(fn, (x_f, xp_f), call, f"log r of shape {(n,)}")
    if err:
        return _failed(name, expected, tol, err)
    skip = () if step is not None else ("MH-REVERSE-WRONG-STATE", "MH-HASTINGS-INVERTED",
                                        "MH-CORRECTION-MISMATCH")
    return _finish(name, "mh_log_acceptance", expected, got, tol, parts, dtype=dt,
                   call_text=call, skip=skip)


def check_mala_step(step_fn, energy, x, noise, uniform, step_size, *, score=None,
                    dtype="float64"):
    r"""Check a foreign MALA step (proposal and accept test) with the given noise and uniforms.

    Parameters
    ----------
    step_fn : callable
        Called as ``step_fn(x, noise, uniform, step_size)``; returns ``x'`` ``(n, d)`` or
        ``(x', accepted)``.
    energy : callable
    x : array ``(n, d)``
    noise : array ``(n, d)``
        \(z\) in the proposal \(x + \epsilon s(x) + \sqrt{2\epsilon} z\).
    uniform : array ``(n,)``
        \(u\) of the accept test \(\log u < \log r\).
    step_size : float
        CS236 \(\epsilon\).
    score : callable, optional
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult
        ``mismatches`` counts the differing coordinates; the notes say how many chains
        accepted in the foreign step and in refebm's.

    Math
    ----
    D10, D11: \(x' = x + \epsilon s(x) + \sqrt{2\epsilon} z\), accepted when
    \(\log u < \log r\) (``check_mh_log_acceptance``).

    Known entries: ``MALA-NO-ACCEPT``, ``MALA-THRESHOLD-SIGN``, ``MALA-REVERSE-WRONG-STATE``,
    ``MALA-HASTINGS-INVERTED``, ``MALA-NEW-MINUS-NEW``, ``MALA-ENERGY-SIGN``,
    ``MALA-CORRECTION-MISMATCH``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_mala_step, problems
    >>> p = problems()["gaussian"]
    >>> score = lambda x: (p.params["mean"] - x) @ p.params["precision"]
    >>> ula = lambda x, z, u, eps: x + eps * score(x) + np.sqrt(2 * eps) * z
    >>> check_mala_step(ula, p.energy, p.x, p.noise, p.uniform, p.mala_step_size).match_ids
    ('MALA-NO-ACCEPT',)
    """
    name = "mala_step"
    dt = _dtype_iv(dtype)
    x_f, x64 = _cast(_points("x", x), dt)
    n, d = x64.shape
    z_f, z64 = _cast(np.asarray(_v.real_array("noise", noise, shape=(n, d))), dt)
    u_f, u64 = _cast(np.asarray(_v.uniforms("uniform", uniform, (n,))), dt)
    _v.function("energy", energy)
    step = float(dt(_v.scalar("step_size", step_size, low=0.0, low_open=True)))
    state = _smp.mala_init(energy, x64, score=score)
    new, info = _smp.mala_step(energy, state, z64, u64, step, score=score)
    expected = np.asarray(new.x, dtype=np.float64)
    s_fn = _score_of(energy, score)
    s = np.asarray(s_fn(x64), dtype=np.float64)
    xp64 = x64 + step * s + math.sqrt(2 * step) * z64
    parts = _mh_setup(energy, x64, xp64, step, score)
    parts["uniform"] = u64
    mag = float(np.max(np.abs(xp64)) + np.max(np.abs(x64)))
    tol = _tolerance(8, mag, dt, "the proposal's three terms")
    call = f"step_fn(x, noise, uniform, step_size) with x {x64.shape}, step_size {step!r}"
    if not callable(step_fn):
        raise TypeError(f"the foreign function must be callable, got {_v.show(step_fn)}")
    try:
        raw = call_foreign(step_fn, (x_f, z_f, u_f, dt(step)), call_text=call)
        if isinstance(raw, tuple) and len(raw) == 2:
            raw = raw[0]
        got = to_numpy_value(raw, what=f"the foreign function ({call})",
                             expected=f"x' of shape {(n, d)} or (x', accepted)")
    except (ForeignCallError, ForeignValueError) as err:
        return _failed(name, expected, tol, str(err))
    notes = []
    if np.shape(got) == (n, d):
        moved = int(np.sum(np.any(np.asarray(got, dtype=np.float64) != x64, axis=1)))
        notes.append(f"the foreign step moved {moved} of {n} chains; refebm accepted "
                     f"{int(np.sum(np.asarray(info.is_accepted)))}")
    return _finish(name, "mala_step", expected, got, tol, parts, dtype=dt, call_text=call,
                   notes=notes)


# ---- log partition -------------------------------------------------------------------------

def check_log_partition(log_z, energy, bounds_or_states, *, tol=1e-10, **kwargs):
    r"""Check a foreign \(\log Z\) against refebm's error-controlled value.

    Parameters
    ----------
    log_z : float, or callable returning one
        The foreign value (a deterministic one: quadrature, enumeration, a closed form). A 1-D
        sample of stochastic estimates (AIS, importance sampling) is passed on to
        ``refebm.testing.statistical.check_log_partition`` with ``kwargs``.
    energy : callable
    bounds_or_states : array ``(d, 2)`` or ``(N, d)``
        Integration bounds (refebm's [`quadrature`][refebm.partition.quadrature]) or the
        complete list of discrete states ([`enumerate_states`][refebm.partition.enumerate_states]).
        A ``(2, 2)`` array is taken as bounds.
    tol : float
        The quadrature's target error.

    Returns
    -------
    CheckResult
        Tolerance: the quadrature's error estimate (three times it) plus float64 rounding of
        the log-sum-exp, or float64 rounding alone for enumeration.

    Math
    ----
    D1, D2, D5: \(\log Z = \log \int e^{-E(x)} dx\) (or the sum over states).

    Known entries: ``LOGZ-NOT-LOG``, ``LOGZ-NEGATED``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_log_partition
    >>> energy = lambda x: 0.5 * (x**2).sum(axis=1)
    >>> r = check_log_partition(2 * np.pi, energy, np.array([[-12.0, 12.0], [-12.0, 12.0]]))
    >>> r.match_ids
    ('LOGZ-NOT-LOG',)
    """
    from .. import partition as _part

    name = "log_partition"
    raw = log_z() if callable(log_z) else log_z
    val = to_numpy_value(raw, what="`log_z`", expected="a float log Z")
    if val.ndim == 1 and val.size > 1:
        try:
            from .statistical import check_log_partition as stat_check
        except ImportError as err:  # pragma: no cover - depends on the statistical module
            raise NotImplementedError(
                "a sample of stochastic log Z estimates needs "
                "refebm.testing.statistical.check_log_partition") from err
        return stat_check(val, energy, bounds_or_states, **kwargs)
    if kwargs:
        raise TypeError(f"unexpected keyword arguments {sorted(kwargs)} for a deterministic "
                        "log Z")
    _v.function("energy", energy)
    arr = np.asarray(_v.real_array("bounds_or_states", bounds_or_states, ndim=2),
                     dtype=np.float64)
    n_evals = None
    is_bounds = arr.shape[1] == 2 and arr.shape[0] <= 6 and bool(np.all(arr[:, 0] < arr[:, 1]))
    if is_bounds:
        res = _part.quadrature(energy, arr, tol=tol)
        expected = np.asarray(float(res.log_z))
        err_est = float(res.error)
        n_evals = int(res.n_evals)
        tolerance = Tolerance(3 * err_est + _SAFETY * (_log2(n_evals) + 8)
                              * np.finfo(np.float64).eps * max(1.0, abs(float(expected))), 0.0,
                              f"3 x the quadrature's error estimate {err_est:.2g} plus float64 "
                              f"rounding of a log-sum-exp over {n_evals} nodes")
    else:
        expected = np.asarray(float(_part.enumerate_states(energy, arr)))
        tolerance = Tolerance(_SAFETY * (_log2(arr.shape[0]) + 8) * np.finfo(np.float64).eps
                              * max(1.0, abs(float(expected))), 0.0,
                              f"float64 rounding of a log-sum-exp over {arr.shape[0]} states")
    parts = {"log_z": float(expected)}
    return _finish(name, "log_partition", expected, val, tolerance, parts, dtype=np.float64,
                   call_text="log_z")
