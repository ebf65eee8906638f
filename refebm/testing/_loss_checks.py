"""Checks of scores, losses, gradients and log Z (rules in ``refebm.testing.checks``)."""

from __future__ import annotations

import autograd
import numpy as np

from .. import _validate as _v
from .. import diff as _diff
from .. import objectives as _obj
from . import _common as _c
from ._convert import to_numpy_value
from ._result import compare


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
    dt = _c._dtype_iv(dtype)
    x_f, x64 = _c._cast(_c._points("x", x), dt)
    _v.function("energy", energy)
    expected = np.asarray(_diff.score(energy)(x64), dtype=np.float64)
    n, d = x64.shape
    tol = _c._tolerance(_c._MODEL_OPS, np.max(np.abs(expected)), dt,
                     "the model's gradient")
    call = f"score_fn(x) with x of shape {x64.shape} {np.dtype(dt).name}"
    got, err = _c._call(score_fn, (x_f,), call, f"an array of shape {(n, d)}")
    if err:
        return _c._failed(name, expected, tol, err)
    parts = {"grad_energy": -expected}
    coef = None
    if got.shape == expected.shape and np.all(np.isfinite(got)):
        g = np.asarray(got, dtype=np.float64)
        factor = float(np.sum(g * expected) / np.sum(expected * expected))
        parts["factor"] = factor
        if compare(factor * expected, g, tol).equal and abs(factor - 1) > 1e-6:
            coef = {"factor": factor}
    skip = () if coef is not None and abs(coef["factor"] + 1) > 1e-6 else ("SCORE-SCALED",)
    return _c._finish(name, "score", expected, got, tol, parts, dtype=dt, call_text=call,
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
    dt = _c._dtype_iv(dtype)
    x_f, x64 = _c._cast(_c._points("x", x), dt)
    s_fn = _c._score_of(energy, score)
    expected = np.asarray(_obj.score_matching_loss(energy, x64, score=score), dtype=np.float64)
    s = np.asarray(s_fn(x64), dtype=np.float64)
    n, d = x64.shape
    if score is None:
        tr = np.asarray(_diff.hessian_trace(energy)(x64), dtype=np.float64)
    else:
        tr = sum(_c._vjp_rows(score, x64, np.eye(d)[k] * np.ones_like(x64)) for k in range(d))
    parts = {"score": s, "trace": tr}
    mag = float(np.mean(0.5 * np.sum(s * s, axis=1) + np.abs(tr)))
    tol = _c._tolerance(2 * d + _c._log2(n) + _c._MODEL_OPS, mag, dt,
                     f"2d + log2(n) for the mean, {_c._MODEL_OPS} for the model's derivatives")
    call = f"loss_fn(x) with x of shape {x64.shape} {np.dtype(dt).name}"
    return _c._run(name, loss_fn, (x_f,), call, "a scalar loss", expected, tol, parts,
                   dtype=dt)


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
    dt = _c._dtype_iv(dtype)
    x_f, x64 = _c._cast(_c._points("x", x), dt)
    n, d = x64.shape
    v = np.asarray(_v.real_array("projections", projections, ndim=(2, 3)))
    v3 = v[None] if v.ndim == 2 else v
    if v3.shape[1:] != (n, d):
        raise ValueError(f"`projections` must have shape (m, {n}, {d}) or ({n}, {d}), "
                         f"got shape {v.shape}")
    v_f, v64 = _c._cast(v, dt)
    v64_3 = v64[None] if v64.ndim == 2 else v64
    s_fn = _c._score_of(energy, score)
    _v.boolean("variance_reduced", variance_reduced)
    expected = np.asarray(_obj.sliced_score_matching_loss(
        energy, x64, v64, score=score, variance_reduced=variance_reduced), dtype=np.float64)
    s = np.asarray(s_fn(x64), dtype=np.float64)
    if score is None:
        vhv = np.stack([np.asarray(_diff.hutchinson_trace(energy, x64, vj)) for vj in v64_3])
    else:
        vhv = np.stack([_c._vjp_rows(score, x64, vj) for vj in v64_3])
    parts = {"score": s, "v": v64_3, "vhv": vhv, "variance_reduced": bool(variance_reduced)}
    m = v64_3.shape[0]
    vs = np.einsum("mnd,nd->mn", v64_3, s)
    mag = float(np.mean(np.abs(vhv) + 0.5 * vs**2 + 0.5 * np.sum(s * s, axis=1)))
    tol = _c._tolerance(2 * d + _c._log2(n * m) + _c._MODEL_OPS, mag, dt,
                     f"2d + log2(mn) for the projections and mean, {_c._MODEL_OPS} for the model")
    call = (f"loss_fn(x, projections) with x {x64.shape} and projections {v.shape} "
            f"{np.dtype(dt).name}")
    got, err = _c._call(loss_fn, (x_f, v_f), call, "a scalar loss")
    if err:
        return _c._failed(name, expected, tol, err)
    skip = ("SSM-PLAIN",) if not variance_reduced else ("SSM-VARIANCE-REDUCED",)
    notes = ()
    res = _c._finish(name, "sliced_score_matching_loss", expected, got, tol, parts, dtype=dt,
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
    dt = _c._dtype_iv(dtype)
    v = np.asarray(_v.real_array("probes", probes, ndim=(2, 3)))
    v_f, v64 = _c._cast(v, dt)
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
    tol = _c._tolerance(2 * d + _c._log2(m), np.mean(np.abs(vav)), dt,
                     "2d for each quadratic form, log2(m) for the mean")
    call = f"fn(probes) with probes of shape {v64.shape} {np.dtype(dt).name}"
    return _c._run(name, fn, (v_f,), call,
                   "a scalar" if v64.ndim == 2 else f"an array of shape {expected.shape}",
                   expected, tol, {"vav": vav}, dtype=dt)


def check_denoising_score_matching_loss(loss_fn, x, sigma, noise, *, energy=None, score=None,
                                        labels=None, dtype="float64"):
    r"""Check a foreign denoising score-matching loss with the given noise.

    Parameters
    ----------
    loss_fn : callable
        Called as ``loss_fn(x, sigma, noise)``; returns the scalar loss. With ``labels``,
        called as ``loss_fn(x, sigma, noise, labels)`` (NCSN's multi-scale training loss).
    x : array ``(n, d)``
    sigma : float > 0, or array ``(L,)`` with ``labels``
        Noise level, \(\tilde x = x + \sigma z\); with ``labels`` the levels
        \(\sigma_1, \dots, \sigma_L\).
    noise : array ``(n, d)``
        \(z\).
    energy, score : callable, keyword-only
        The model (one of them); with ``labels`` noise-conditional, ``energy(x, sigma)`` or
        ``score(x, sigma)`` with ``sigma`` the ``(n,)`` level of each row, as in
        [`multiscale_denoising_score_matching_loss`][refebm.objectives.multiscale_denoising_score_matching_loss].
    labels : int array ``(n,)``, keyword-only
        One level per point (0-based indices into ``sigma``): the reference is then
        \(\frac1n \sum_i \tfrac12 \|s(x_i + \sigma_{l_i} z_i) + z_i/\sigma_{l_i}\|^2\),
        refebm's multi-scale loss with ``labels`` and unit weights.
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
    (the same number, reported with a pass); with ``labels``, ``DSM-LEVEL-AVERAGE``
    (convention: the average over all levels in place of one level per point).

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
    dt = _c._dtype_iv(dtype)
    x_f, x64 = _c._cast(_c._points("x", x), dt)
    n, d = x64.shape
    if labels is not None:
        return _check_dsm_labels(loss_fn, x_f, x64, sigma, noise, labels, energy, score, dt)
    sigma = float(_v.scalar("sigma", sigma, low=0.0, low_open=True))
    sigma_f = dt(sigma)
    sigma64 = float(sigma_f)
    z = np.asarray(_v.real_array("noise", noise, shape=(n, d)))
    z_f, z64 = _c._cast(z, dt)
    s_fn = _c._score_of(energy, score)
    expected = np.asarray(_obj.denoising_score_matching_loss(
        energy, x64, z64, sigma64, score=score), dtype=np.float64)
    st = np.asarray(s_fn(x64 + sigma64 * z64), dtype=np.float64)
    parts = {"score_tilde": st, "noise": z64, "sigma": sigma64}
    mag = float(np.mean(0.5 * np.sum((np.abs(st) + np.abs(z64) / sigma64) ** 2, axis=1)))
    tol = _c._tolerance(3 * d + _c._log2(n) + _c._MODEL_OPS, mag, dt,
                     f"3d + log2(n) for the residual and mean, {_c._MODEL_OPS} for the model")
    call = (f"loss_fn(x, sigma, noise) with x {x64.shape}, sigma {sigma64!r}, noise {z.shape} "
            f"{np.dtype(dt).name}")
    return _c._run(name, loss_fn, (x_f, sigma_f, z_f), call, "a scalar loss", expected, tol,
                   parts, dtype=dt, skip=("DSM-LEVEL-AVERAGE",))


def _check_dsm_labels(loss_fn, x_f, x64, sigmas, noise, labels, energy, score, dt):
    """check_denoising_score_matching_loss with one level per point (``labels``)."""
    from ..objectives.score_matching._common import _model_score

    name = "denoising_score_matching_loss"
    n, d = x64.shape
    sig = np.asarray(_v.real_array("sigma", sigmas, ndim=1), dtype=np.float64)
    _v.positive("sigma", sig)
    sig_f, sig64 = _c._cast(sig, dt)
    lab = np.asarray(labels)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"`labels` must be an integer array (indices into `sigma`), got "
                        f"{_v.show(labels)} (dtype {lab.dtype})")
    if lab.shape != (n,) or np.any(lab < 0) or np.any(lab >= sig64.shape[0]):
        raise ValueError(f"`labels` must have shape ({n},) with values in "
                         f"0..{sig64.shape[0] - 1} (indices into `sigma`), got "
                         f"{_v.show(labels)}")
    z_f, z64 = _c._cast(np.asarray(_v.real_array("noise", noise, shape=(n, d))), dt)
    s_fn, _ = _model_score(energy, score, conditional=True)
    expected = np.asarray(_obj.multiscale_denoising_score_matching_loss(
        energy, x64, z64, sig64, score=score, labels=lab, weights=np.ones_like(sig64)),
        dtype=np.float64)
    rows = sig64[lab]
    st = np.asarray(s_fn(x64 + rows[:, None] * z64, rows), dtype=np.float64)
    levels = np.stack([np.asarray(s_fn(x64 + s_l * z64, np.full(n, s_l)), dtype=np.float64)
                       for s_l in sig64])
    parts = {"score_tilde": st, "noise": z64, "sigma": rows, "sigmas": sig64,
             "score_levels": levels}
    mag = float(np.mean(0.5 * np.sum((np.abs(st) + np.abs(z64) / rows[:, None]) ** 2, axis=1)))
    tol = _c._tolerance(3 * d + _c._log2(n) + _c._MODEL_OPS, mag, dt,
                        f"3d + log2(n) for the residual and mean, {_c._MODEL_OPS} for the model")
    call = (f"loss_fn(x, sigma, noise, labels) with x {x64.shape}, {sig64.shape[0]} levels, "
            f"labels {lab.shape} {np.dtype(dt).name}")
    return _c._run(name, loss_fn, (x_f, sig_f, z_f, lab.copy()), call, "a scalar loss",
                   expected, tol, parts, dtype=dt)


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
    \(J = -[\overline{\log \sigma(G)}_\text{data}
    + \nu\, \overline{\log \sigma(-G)}_\text{noise}]\).
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
    dt = _c._dtype_iv(dtype)
    xd_f, xd = _c._cast(_c._points("x_data", x_data), dt)
    xn_f, xn = _c._cast(_c._points("x_noise", x_noise, d=xd.shape[1]), dt)
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
    tol = _c._tolerance(16 + _c._log2(xd.shape[0] + xn.shape[0]) + _c._MODEL_OPS, mag, dt,
                     f"16 for the logit and log-sigmoid, log2(n) for the means, {_c._MODEL_OPS} "
                     "for the model")
    call = (f"loss_fn(x_data, x_noise) with x_data {xd.shape} and x_noise {xn.shape} "
            f"{np.dtype(dt).name}")
    return _c._run(name, loss_fn, (xd_f, xn_f), call, "a scalar loss", expected, tol, parts,
                   dtype=dt)


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
    dt = _c._dtype_iv(dtype)
    _v.function("energy_of_theta", energy_of_theta)
    theta = np.asarray(_v.real_array("theta", theta), dtype=np.float64)
    xd_f, xd = _c._cast(_c._points("x_data", x_data), dt)
    xm_f, xm = _c._cast(_c._points("x_model", x_model, d=xd.shape[1]), dt)
    expected = np.asarray(_obj.cd_gradient(_obj.parametric(energy_of_theta, theta), xd, xm),
                          dtype=np.float64).reshape(theta.shape)
    jac = autograd.jacobian(lambda th: energy_of_theta(th, xd))
    jm = autograd.jacobian(lambda th: energy_of_theta(th, xm))
    gd = np.asarray(jac(theta)).reshape(xd.shape[0], -1)
    gm = np.asarray(jm(theta)).reshape(xm.shape[0], -1)
    parts = {"grad_data": gd.reshape((xd.shape[0],) + theta.shape),
             "grad_model": gm.reshape((xm.shape[0],) + theta.shape)}
    mag = float(max(np.max(np.abs(gd)), np.max(np.abs(gm)), 1e-300))
    tol = _c._tolerance(_c._log2(xd.shape[0] + xm.shape[0]) + _c._MODEL_OPS, mag, dt,
                     f"log2(n) for the two means, {_c._MODEL_OPS} for the parameter gradient")
    call = f"grad_fn(x_data, x_model) with x_data {xd.shape}, x_model {xm.shape}"
    got, err = _c._call(grad_fn, (xd_f, xm_f), call, f"an array of shape {theta.shape}")
    if err:
        return _c._failed(name, expected, tol, err)
    if got.shape != theta.shape and got.size == theta.size:
        got = got.reshape(theta.shape)
    return _c._finish(name, "cd_gradient", expected, got, tol, parts, dtype=dt, call_text=call)


# ---- log partition -------------------------------------------------------------------------

def check_log_partition(log_z, energy, bounds_or_states, **options):
    r"""Check a foreign \(\log Z\) against refebm's error-controlled value.

    The same check as
    [`refebm.testing.statistical.check_log_partition`][refebm.testing.statistical.check_log_partition]
    (which it calls with ``options``: ``kind``, ``false_fail``, ``n_particles``,
    ``n_transitions``, ``rtol``), with ``log_z`` also accepted as a callable that returns the
    value.

    Parameters
    ----------
    log_z : float, array ``(K,)``, or callable returning one
        The foreign value (a deterministic one: quadrature, enumeration, a closed form), or a
        sample of stochastic estimates (AIS, importance sampling), tested with a stated
        false-failure rate.
    energy : callable
    bounds_or_states : sequence of (lo, hi), or array ``(N, d)``
        Integration bounds (refebm's [`quadrature`][refebm.partition.quadrature.quadrature],
        infinite bounds allowed) or the complete list of discrete states
        ([`enumerate_states`][refebm.partition.enumerate_states]).
    **options
        Passed on (see above).

    Returns
    -------
    CheckResult
        Tolerance: the quadrature's error estimate plus float64 rounding of the log-sum-exp
        (enumeration: rounding alone); for estimates, the thresholds of the stated
        false-failure rate.

    Math
    ----
    D1, D2, D5: \(\log Z = \log \int e^{-E(x)} dx\) (or the sum over states), computed in
    log space.

    Known entries: ``LOGZ-NOT-LOG``, ``LOGZ-NEGATED``; for estimates, ``AIS-SUMMED-WEIGHTS``,
    ``AIS-OVER-ALL-STEPS``, ``AIS-MEAN-LOG-WEIGHTS``.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.testing import check_log_partition
    >>> energy = lambda x: 0.5 * (x**2).sum(axis=1)
    >>> r = check_log_partition(2 * np.pi, energy, [(-np.inf, np.inf)] * 2)
    >>> r.match_ids
    ('LOGZ-NOT-LOG',)
    >>> check_log_partition(lambda: np.log(2 * np.pi), energy, [(-np.inf, np.inf)] * 2).status
    'pass'
    """
    from .statistical import check_log_partition as _check

    value = log_z() if callable(log_z) else log_z
    return _check(value, energy, bounds_or_states, **options)
