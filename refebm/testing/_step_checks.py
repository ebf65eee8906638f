"""Checks of sampler steps: Langevin, Metropolis-Hastings, MALA (rules in
``refebm.testing.checks``)."""

from __future__ import annotations

import math

import numpy as np

from .. import _validate as _v
from .. import samplers as _smp
from ..samplers import conventions as _conv
from . import _common as _c
from ._result import compare


# ---- Langevin ------------------------------------------------------------------------------

_CONV_ENTRY = {"cs236": "LANGEVIN-CS236", "song_kingma": "LANGEVIN-SONG-KINGMA",
               "tfp": "LANGEVIN-TFP"}


def check_langevin_step(step_fn, score, x, noise, step_size, *, convention="cs236",
                        sigmas=None, zero_score_point="auto", dtype="float64"):
    r"""Check a foreign unadjusted Langevin step; recover its drift and noise coefficients.

    The foreign step is called on the given noise, on zero noise (which leaves
    \(x + a\, s(x)\)), and the two give \(a = \langle x'_0 - x, s\rangle / \|s\|^2\) and
    \(b = \langle x' - x'_0, z \rangle / \|z\|^2\). It is also called at a point
    \(x^*\) where the score is zero (every row at \(x^*\), the same noise), where the drift
    vanishes and \(x' - x^* = b z\): a second measurement of \(b\) that does not go through
    the zero-noise probe (and gives \(a\) from the first call when that probe fails). The
    result names the convention of
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
    zero_score_point : array ``(d,)``, "auto" or None
        A point where ``score`` is zero (a mode of the model); "auto" solves \(s(x) = 0\)
        from the mean of ``x`` (the probe is left out, with a note, where no root is found);
        None leaves the probe out.
    dtype : {"float64", "float32"}

    Returns
    -------
    CheckResult
        ``coefficients``: ``drift``, ``noise_scale``, ``temperature`` \(b^2/(2a)\), and
        ``stationary_variance`` on \(N(0, 1)\) against ``reference_variance``; with the
        zero-score probe, ``noise_scale_at_zero_score`` (a note says when it differs from
        ``noise_scale``: the noise term then depends on the score).

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
    >>> c = r.coefficients
    >>> round(c["stationary_variance"], 3), round(c["reference_variance"], 3)
    (0.103, 1.026)
    """
    name = "langevin_step"
    dt = _c._dtype_iv(dtype)
    x_f, x64 = _c._cast(_c._points("x", x), dt)
    n, d = x64.shape
    z = np.asarray(_v.real_array("noise", noise, shape=(n, d)))
    z_f, z64 = _c._cast(z, dt)
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
    tol = _c._tolerance(8, mag, dt, "the update's three terms and their products")
    call = f"step_fn(x, noise, step_size) with x {x64.shape}, step_size {step64!r}"
    got, err = _c._call(step_fn, (x_f, z_f, step_f), call, f"x' of shape {(n, d)}")
    if err:
        return _c._failed(name, expected, tol, err)
    notes = []
    coef = None
    if got.shape == (n, d) and np.all(np.isfinite(got)):
        g = np.asarray(got, dtype=np.float64)
        probe = _zero_score_probe(step_fn, score, x64, z_f, z64, step_f, dt, zero_score_point,
                                  notes)
        g0, err0 = _c._call(step_fn, (x_f, np.zeros_like(z_f), step_f),
                         "step_fn(x, zeros, step_size)", f"x' of shape {(n, d)}")
        zero_noise_ok = err0 is None and g0.shape == (n, d) and np.all(np.isfinite(g0))
        if not zero_noise_ok and probe is not None:
            notes.append("the zero-noise probe failed; the drift is recovered from the "
                         "zero-score probe's noise scale")
            g0 = g - _noise_scale(probe, z64) * z64
            err0 = None
        if err0 is None and g0.shape == (n, d):
            g0 = np.asarray(g0, dtype=np.float64)
            a = float(np.sum((g0 - x64) * s) / np.sum(s * s))
            b = float(np.sum((g - g0) * z64) / np.sum(z64 * z64))
            affine = compare(x64 + a * s + b * z64, g, tol).equal
            coef = {"drift": a, "noise_scale": b,
                    "temperature": b * b / (2 * a) if a > 0 else float("inf")}
            # a foreign drift of TFP's form h/2: the catalogue's forms with "a s(x)" use it,
            # so a TFP step with its noise scaled by the step is named whatever
            # ``convention`` says. (A drift equal to the step is LANGEVIN-ONE-SYMBOL's
            # territory, and Song-Kingma's eps^2/2 has the step as its right noise scale.)
            a_tfp = _conv.drift_and_noise(step64, convention="tfp")[0]
            if abs(a_tfp - a) <= 1e-9 * a_tfp + tol.atol / _rms(s):
                parts["drift"] = a_tfp
            if probe is not None:
                b_star = _noise_scale(probe, z64, a)
                coef["noise_scale_at_zero_score"] = b_star
                if abs(b_star - b) > 1e-9 * abs(b) + tol.atol / _rms(z64):
                    notes.append(f"at a zero of the score the noise scale is {b_star:.6g}, "
                                 f"elsewhere {b:.6g}: the noise term depends on the score")
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
                        near = (abs(ai - a) <= 1e-9 * ai + tol.atol
                                and abs(bi - b) <= 1e-9 * bi + tol.atol)
                        if near:
                            notes.append(f"this is NCSN's update at level {i} "
                                         f"(alpha_{i} = {al:.6g}, TFP h = alpha_{i})")
    skip = (_CONV_ENTRY[convention],)
    return _c._finish(name, "langevin_step", expected, got, tol, parts, dtype=dt, call_text=call,
                   skip=skip, notes=notes, coefficients=coef)


def _rms(a):
    return max(float(np.sqrt(np.mean(a * a))), 1e-300)


def _find_zero_score(score, x64, where):
    """A point where ``score`` vanishes: ``where`` when given, else a root of s from the mean
    of ``x``; None when there is none to rounding."""
    from scipy.optimize import root

    if where is None:
        return None
    d = x64.shape[1]
    if isinstance(where, str):
        if where != "auto":
            raise ValueError(f"`zero_score_point` must be an array (d,), 'auto' or None, got "
                             f"{where!r}")
        sol = root(lambda y: np.asarray(score(y[None, :]), dtype=np.float64)[0],
                   np.mean(x64, axis=0), method="hybr")
        x_star = np.asarray(sol.x, dtype=np.float64)
    else:
        x_star = np.asarray(_v.real_array("zero_score_point", where, shape=(d,)),
                            dtype=np.float64)
    s_star = np.asarray(score(x_star[None, :]), dtype=np.float64)[0]
    scale = float(np.max(np.abs(np.asarray(score(x64), dtype=np.float64)))) + 1.0
    if not np.all(np.abs(s_star) <= 1e-10 * scale):
        if not isinstance(where, str):
            raise ValueError(f"`zero_score_point` must be a zero of `score`; the score there "
                             f"is {_v.show(s_star)}")
        return None
    return x_star


def _zero_score_probe(step_fn, score, x64, z_f, z64, step_f, dt, where, notes):
    """b from the foreign step at a zero of the score (the drift term vanishes there)."""
    n, d = x64.shape
    x_star = _find_zero_score(score, x64, where)
    if x_star is None:
        if where is not None:
            notes.append("no zero of the score was found: the zero-score probe is left out")
        return None
    xs_f, xs64 = _c._cast(np.broadcast_to(x_star, (n, d)).copy(), dt)
    gs, err = _c._call(step_fn, (xs_f, z_f, step_f), "step_fn(x*, noise, step_size) at a zero "
                       "x* of the score", f"x' of shape {(n, d)}")
    if err is not None or gs.shape != (n, d) or not np.all(np.isfinite(gs)):
        notes.append("the zero-score probe failed: " + (err or f"it returned shape "
                                                         f"{gs.shape} or non-finite values"))
        return None
    # the score at x* as the foreign step sees it (x* rounded to dtype): its drift a s(x*) is
    # taken out once a is known
    return np.asarray(gs, dtype=np.float64) - xs64, np.asarray(score(xs64), dtype=np.float64)


def _noise_scale(step, z64, a=0.0):
    """b from x' - x = a s + b z at the probe (step = (x' - x, s))."""
    dx, s = step
    return float(np.sum((dx - a * s) * z64) / np.sum(z64 * z64))


# ---- Metropolis-Hastings and MALA -----------------------------------------------------------

def _mh_setup(energy, x64, xp64, step, score):
    e_x = np.asarray(energy(x64), dtype=np.float64)
    e_p = np.asarray(energy(xp64), dtype=np.float64)
    parts = {"x": x64, "x_proposed": xp64, "energy_x": e_x, "energy_proposed": e_p,
             "step_size": step}
    if step is not None:
        s_fn = _c._score_of(energy, score)
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
    dt = _c._dtype_iv(dtype)
    x_f, x64 = _c._cast(_c._points("x", x), dt)
    xp_f, xp64 = _c._cast(_c._points("x_proposed", x_proposed, d=x64.shape[1]), dt)
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
    tol = _c._tolerance(4 * d + _c._MODEL_OPS, mag, dt,
                     f"4d for the proposal densities, {_c._MODEL_OPS} for the energies")
    call = f"fn(x, x_proposed) with x {x64.shape} {np.dtype(dt).name}"
    skip = () if step is not None else ("MH-REVERSE-WRONG-STATE", "MH-HASTINGS-INVERTED",
                                        "MH-CORRECTION-MISMATCH")
    return _c._run(name, fn, (x_f, xp_f), call, f"log r of shape {(n,)}", expected, tol, parts,
                   dtype=dt, skip=skip)


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
    dt = _c._dtype_iv(dtype)
    x_f, x64 = _c._cast(_c._points("x", x), dt)
    n, d = x64.shape
    z_f, z64 = _c._cast(np.asarray(_v.real_array("noise", noise, shape=(n, d))), dt)
    u_f, u64 = _c._cast(np.asarray(_v.uniforms("uniform", uniform, (n,))), dt)
    _v.function("energy", energy)
    step = float(dt(_v.scalar("step_size", step_size, low=0.0, low_open=True)))
    state = _smp.mala_init(energy, x64, score=score)
    new, info = _smp.mala_step(energy, state, z64, u64, step, score=score)
    expected = np.asarray(new.x, dtype=np.float64)
    s_fn = _c._score_of(energy, score)
    s = np.asarray(s_fn(x64), dtype=np.float64)
    xp64 = x64 + step * s + math.sqrt(2 * step) * z64
    parts = _mh_setup(energy, x64, xp64, step, score)
    parts["uniform"] = u64
    mag = float(np.max(np.abs(xp64)) + np.max(np.abs(x64)))
    tol = _c._tolerance(8, mag, dt, "the proposal's three terms")
    call = f"step_fn(x, noise, uniform, step_size) with x {x64.shape}, step_size {step!r}"
    got, err = _c._call(step_fn, (x_f, z_f, u_f, dt(step)), call,
                        f"x' of shape {(n, d)} or (x', accepted)", first_of_pair=True)
    if err:
        return _c._failed(name, expected, tol, err)
    notes = []
    if np.shape(got) == (n, d):
        moved = int(np.sum(np.any(np.asarray(got, dtype=np.float64) != x64, axis=1)))
        notes.append(f"the foreign step moved {moved} of {n} chains; refebm accepted "
                     f"{int(np.sum(np.asarray(info.is_accepted)))}")
    return _c._finish(name, "mala_step", expected, got, tol, parts, dtype=dt, call_text=call,
                   notes=notes)
