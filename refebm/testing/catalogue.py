r"""The catalogue of known bugs and equivalent conventions that the checks name.

Each [`Entry`][refebm.testing.catalogue.Entry] has an ``id`` (``"SM-HALF-MISSING"``), a ``kind``
(``"bug"``: the value is wrong; ``"convention"``: a different but legitimate way of writing the
same method, with the same minimizer or the same chain), the ``quantity`` it belongs to (the
name of the check, without ``check_``), a one-sentence ``description`` (the diagnosis), the
``formula`` it computes, the ``correct_formula``, and a public ``source`` (a paper, or the id of
the derivation in refebm's inventory, D1 to D22, that gives the correct form).

An entry is evaluated on plain NumPy inputs, the quantity's *parts*: the ingredients of the
reference value that the check computes once from the model (scores, Hessian-vector products,
energies), listed in ``PARTS``. ``entry.evaluate(parts)`` is the value the wrong form produces,
``reference(quantity, parts)`` is the correct value; both are NumPy float64. ``entry.to_json()``
gives the JSON fields ``id, kind, quantity, description, formula, correct_formula, source``.

Entries with ``equals_reference=True`` are conventions that are *equal* to refebm's value, not
merely equivalent (the DSM target written as \(-(\tilde x - x)/\sigma^2\) instead of
\(-z/\sigma\)): a foreign value that passes is reported with them, so the user learns that
their form is the same number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.special import log_expit

__all__ = ["Entry", "ENTRIES", "PARTS", "QUANTITIES", "entries", "get", "reference"]


@dataclass(frozen=True)
class Entry:
    """One catalogued bug or convention (see the module docstring)."""

    id: str
    kind: str
    quantity: str
    description: str
    formula: str
    correct_formula: str
    source: str
    compute: Callable = field(repr=False, compare=False)
    equals_reference: bool = False

    def evaluate(self, parts):
        """The value this form gives on ``parts`` (a mapping of NumPy inputs), as float64."""
        return np.asarray(self.compute(_Parts(parts)), dtype=np.float64)

    def to_json(self):
        """The JSON-ready fields: id, kind, quantity, description, formula, correct_formula,
        source, equals_reference."""
        return {"id": self.id, "kind": self.kind, "quantity": self.quantity,
                "description": self.description, "formula": self.formula,
                "correct_formula": self.correct_formula, "source": self.source,
                "equals_reference": self.equals_reference}


class _Parts(dict):
    """Attribute access to the parts, as float64 arrays (flags and counts pass through)."""

    def __getattr__(self, name):
        try:
            v = self[name]
        except KeyError:
            raise AttributeError(
                f"this entry needs the part {name!r}; the parts given were {sorted(self)}"
            ) from None
        if isinstance(v, (bool, str)) or v is None:
            return v
        return np.asarray(v, dtype=np.float64)


# ---- sources -------------------------------------------------------------------------------

_HYV = ("Hyvarinen (2005), Estimation of non-normalized statistical models by score matching, "
        "JMLR 6, https://jmlr.org/papers/v6/hyvarinen05a.html (D15)")
_SSM = ("Song, Garg, Shi, Ermon (2019), Sliced score matching, UAI, "
        "https://arxiv.org/abs/1905.07088 (D15)")
_HUT = ("Hutchinson (1989), A stochastic estimator of the trace of the influence matrix for "
        "Laplacian smoothing splines, https://doi.org/10.1080/03610918908812806 (D15)")
_VIN = ("Vincent (2011), A connection between score matching and denoising autoencoders, "
        "https://doi.org/10.1162/NECO_a_00142 (D16)")
_NCSN = ("Song and Ermon (2019), Generative modeling by estimating gradients of the data "
         "distribution, https://arxiv.org/abs/1907.05600 (D18)")
_SK = ("Song and Kingma (2021), How to train your energy-based models, "
       "https://arxiv.org/abs/2101.03288 (D11)")
_NCE = ("Gutmann and Hyvarinen (2012), Noise-contrastive estimation of unnormalized statistical "
        "models, JMLR 13, https://jmlr.org/papers/v13/gutmann12a.html (D19)")
_HIN = ("Hinton (2002), Training products of experts by minimizing contrastive divergence, "
        "https://doi.org/10.1162/089976602760128018 (D7, D8)")
_RT = ("Roberts and Tweedie (1996), Exponential convergence of Langevin distributions and their "
       "discrete approximations, Bernoulli 2(4), https://doi.org/10.2307/3318418 (D11)")
_HAST = ("Hastings (1970), Monte Carlo sampling methods using Markov chains and their "
         "applications, https://doi.org/10.1093/biomet/57.1.97 (D6, D10)")
_TFP = ("TensorFlow Probability, tfp.mcmc.MetropolisAdjustedLangevinAlgorithm (h/2 drift, sqrt(h) "
        "noise), https://www.tensorflow.org/probability/api_docs/python/tfp/mcmc/"
        "MetropolisAdjustedLangevinAlgorithm (D11)")
_CS236 = ("CS236 (Stanford) lecture notes, lectures 11-12, https://deepgenerativemodels.github.io/ "
          "(D11)")
_Z = "refebm derivation D1 (Z = integral of exp(-E)); D2 (log-space computation)"
_D12 = "refebm derivation D12 (score = grad log p = -grad E, free of Z)"


# ---- reference values from parts -----------------------------------------------------------

def _sq(a):
    return np.sum(a * a, axis=-1)


def _sm_rows(p):
    return 0.5 * _sq(p.score) + p.trace


def _ssm_plain(p):
    vs = np.einsum("mnd,nd->mn", p.v, p.score)
    return np.mean(p.vhv + 0.5 * vs**2)


def _ssm_vr(p):
    return np.mean(p.vhv) + np.mean(0.5 * _sq(p.score))


def _ssm(p):
    return _ssm_vr(p) if p.get("variance_reduced", False) else _ssm_plain(p)


def _sigma_rows(p):
    return np.broadcast_to(p.sigma, p.noise.shape[:1])


def _dsm_rows(p):
    sigma = _sigma_rows(p)
    return 0.5 * _sq(p.score_tilde + p.noise / sigma[:, None])


def _nce(p, *, sign=1.0, with_logz=True, with_nu=True):
    nu = p.nu
    c = p.log_z if with_logz else 0.0
    log_nu = np.log(nu) if with_nu else 0.0
    g_data = -p.energy_data - c - p.log_q_data - log_nu
    g_noise = -p.energy_noise - c - p.log_q_noise - log_nu
    weight = nu if with_nu else 1.0
    return -(np.mean(log_expit(sign * g_data)) + weight * np.mean(log_expit(-sign * g_noise)))


def _cd(p):
    return np.mean(p.grad_data, axis=0) - np.mean(p.grad_model, axis=0)


def _log_q(to, frm, score_frm, drift, var):
    """log N(to; frm + drift * score(frm), var I) without the constant."""
    return -_sq(to - frm - drift * score_frm) / (2.0 * var)


def _mh_parts(p):
    """(energy difference, log q(x|x'), log q(x'|x)) for MALA's CS236 proposal, or zeros when
    the proposal is symmetric (``step_size`` None)."""
    de = p.energy_x - p.energy_proposed
    if p.get("step_size") is None:
        z = np.zeros_like(de)
        return de, z, z
    eps = float(p.step_size)
    rev = _log_q(p.x, p.x_proposed, p.score_proposed, eps, 2.0 * eps)
    fwd = _log_q(p.x_proposed, p.x, p.score_x, eps, 2.0 * eps)
    return de, rev, fwd


def _mh(p):
    de, rev, fwd = _mh_parts(p)
    return de + rev - fwd


def _mala_from_log_r(p, log_r, *, threshold_sign=1.0):
    """x' from a log acceptance ratio: accept where log u < log r (threshold_sign=-1: where
    log r > -log u)."""
    log_u = np.log(p.uniform)
    accepted = (log_u < log_r) if threshold_sign > 0 else (log_r > -log_u)
    return np.where(accepted[:, None], p.x_proposed, p.x)


def _langevin(p, a, b):
    return p.x + a * p.score + b * p.noise


def _langevin_ref(p):
    return _langevin(p, p.drift, p.noise_scale)


_REFERENCE = {
    "score": lambda p: -p.grad_energy,
    "score_matching_loss": lambda p: np.mean(_sm_rows(p)),
    "sliced_score_matching_loss": _ssm,
    "hutchinson_trace": lambda p: np.mean(p.vav, axis=0),
    "denoising_score_matching_loss": lambda p: np.mean(_dsm_rows(p)),
    "nce_loss": _nce,
    "cd_gradient": _cd,
    "langevin_step": _langevin_ref,
    "mh_log_acceptance": _mh,
    "mala_step": lambda p: _mala_from_log_r(p, _mh(p)),
    "log_partition": lambda p: p.log_z,
}

QUANTITIES = tuple(_REFERENCE)

PARTS = {
    "score": {"grad_energy": "(n, d) gradient of the energy, nabla_x E"},
    "score_matching_loss": {"score": "(n, d) s(x) = -nabla E",
                            "trace": "(n,) tr nabla_x s(x) = -Laplacian of E"},
    "sliced_score_matching_loss": {
        "score": "(n, d) s(x)", "v": "(m, n, d) projections",
        "vhv": "(m, n) v^T nabla_x s(x) v", "variance_reduced": "bool: the reference form"},
    "hutchinson_trace": {"vav": "(m,) or (m, n): v_k^T A v_k per probe"},
    "denoising_score_matching_loss": {
        "score_tilde": "(n, d) s(x + sigma z)", "noise": "(n, d) z",
        "sigma": "scalar or (n,) noise level per sample",
        "sigmas": "(L,) all noise levels (with labels)",
        "score_levels": "(L, n, d) s(x + sigma_l z) at every level (with labels)"},
    "nce_loss": {"energy_data": "(n_data,)", "energy_noise": "(n_noise,)",
                 "log_q_data": "(n_data,) noise log density at the data",
                 "log_q_noise": "(n_noise,) noise log density at the noise samples",
                 "log_z": "scalar c", "nu": "scalar noise-to-data ratio"},
    "cd_gradient": {"grad_data": "(n_data, p) per-sample nabla_theta E at the data",
                    "grad_model": "(n_model, p) per-sample nabla_theta E at the model samples"},
    "langevin_step": {"x": "(n, d)", "score": "(n, d) s(x)", "noise": "(n, d) z",
                      "drift": "a of the reference convention", "noise_scale": "its b",
                      "step_size": "the step parameter as given"},
    "mh_log_acceptance": {"x": "(n, d)", "x_proposed": "(n, d)", "energy_x": "(n,)",
                          "energy_proposed": "(n,)", "score_x": "(n, d)",
                          "score_proposed": "(n, d)",
                          "step_size": "CS236 eps of MALA's proposal, or None (symmetric)"},
    "mala_step": {"x": "(n, d)", "x_proposed": "(n, d) x + eps s(x) + sqrt(2 eps) z",
                  "uniform": "(n,)", "energy_x": "(n,)", "energy_proposed": "(n,)",
                  "score_x": "(n, d)", "score_proposed": "(n, d)", "step_size": "eps"},
    "log_partition": {"log_z": "scalar: refebm's log Z"},
}


def reference(quantity, parts):
    """The correct value of ``quantity`` on ``parts`` (NumPy float64)."""
    if quantity not in _REFERENCE:
        raise ValueError(f"`quantity` must be one of {QUANTITIES}, got {quantity!r}")
    return np.asarray(_REFERENCE[quantity](_Parts(parts)), dtype=np.float64)


# ---- the entries ---------------------------------------------------------------------------

_SM_OK = "mean_i [ 1/2 |s(x_i)|^2 + tr nabla_x s(x_i) ]"
_SSM_OK = "mean_{j,i} [ v^T nabla_x s v + 1/2 (v^T s)^2 ]  (v with E[v v^T] = I)"
_DSM_OK = "mean_i 1/2 | s(x_i + sigma z_i) + z_i / sigma |^2"
_NCE_OK = ("-[ mean_data log sig(G) + nu mean_noise log sig(-G) ],  "
           "G = -E - c - log q - log nu")
_CD_OK = "mean_data nabla_theta E - mean_model nabla_theta E"
_MH_OK = "E(x) - E(x') + log q(x | x') - log q(x' | x)"
_MALA_OK = "x' = proposal where log u < log r, else x"
_LANGEVIN_OK = "x + a s(x) + b z with (a, b) of the stated convention (b^2 = 2a)"


def _conv_ab(name):
    def ab(p):
        from ..samplers.conventions import drift_and_noise

        return drift_and_noise(float(p.step_size), convention=name)

    return ab


def _langevin_conv(name):
    ab = _conv_ab(name)
    return lambda p: _langevin(p, *ab(p))


def _mh_mismatch(p):
    # proposal with CS236 eps (drift eps, variance 2 eps); correction written with the TFP step
    # h = eps (drift eps / 2, variance eps)
    eps = float(p.step_size)
    de = p.energy_x - p.energy_proposed
    rev = _log_q(p.x, p.x_proposed, p.score_proposed, 0.5 * eps, eps)
    fwd = _log_q(p.x_proposed, p.x, p.score_x, 0.5 * eps, eps)
    return de + rev - fwd


def _mh_reverse_wrong_state(p):
    de, _, fwd = _mh_parts(p)
    eps = float(p.step_size)
    rev = _log_q(p.x, p.x, p.score_x, eps, 2.0 * eps)
    return de + rev - fwd


def _mh_inverted(p):
    de, rev, fwd = _mh_parts(p)
    return de - rev + fwd


def _mh_new_new(p):
    _, rev, fwd = _mh_parts(p)
    return rev - fwd


def _mh_energy_sign(p):
    de, rev, fwd = _mh_parts(p)
    return -de + rev - fwd


def _mh_clipped(p):
    return np.minimum(0.0, _mh(p))


def _mala_with(log_r_fn):
    return lambda p: _mala_from_log_r(p, log_r_fn(p))


ENTRIES = (
    # -- score ------------------------------------------------------------------------------
    Entry("SCORE-SIGN", "bug", "score",
          "The gradient of the energy is returned instead of the score: the sign of E versus "
          "f = -E is lost, and a sampler or loss built on it climbs the energy.",
          "nabla_x E(x)", "s(x) = nabla_x log p(x) = -nabla_x E(x)", _D12,
          lambda p: p.grad_energy),
    Entry("SCORE-TRANSPOSED", "bug", "score",
          "The score is returned in the (d, n) layout instead of (n, d): rows are coordinates, "
          "not points.",
          "(-nabla_x E(x))^T, shape (d, n)", "-nabla_x E(x), shape (n, d)", _D12,
          lambda p: -p.grad_energy.T),
    Entry("SCORE-SCALED", "bug", "score",
          "The score is off by a constant factor c (shown in the coefficients), commonly 2 or "
          "1/2 from a dropped 1/2 in a quadratic energy or a stray temperature.",
          "c * (-nabla_x E(x)) with c != 1", "-nabla_x E(x)", _D12,
          lambda p: -float(p.get("factor", 2.0)) * p.grad_energy),
    # -- exact score matching ---------------------------------------------------------------
    Entry("SM-HALF-MISSING", "bug", "score_matching_loss",
          "The 1/2 in front of |s|^2 is missing: the minimizer is no longer the data score "
          "(for a Gaussian model the fitted covariance doubles).",
          "mean_i [ |s(x_i)|^2 + tr nabla_x s(x_i) ]", _SM_OK, _HYV,
          lambda p: np.mean(_sq(p.score) + p.trace)),
    Entry("SM-LAPLACIAN-SIGN", "bug", "score_matching_loss",
          "The Laplacian term has the wrong sign (the garbled transcription in terms of E): "
          "+Laplacian E where -Laplacian E (= tr nabla s) belongs; the loss is unbounded below.",
          "mean_i [ 1/2 |s(x_i)|^2 - tr nabla_x s(x_i) ]", _SM_OK, _HYV,
          lambda p: np.mean(0.5 * _sq(p.score) - p.trace)),
    Entry("SM-TRACE-OVER-D", "bug", "score_matching_loss",
          "The trace is divided by the dimension d (a mean over coordinates): its minimizer is "
          "s/d, so the model learns p^(1/d).",
          "mean_i [ 1/2 |s(x_i)|^2 + tr nabla_x s(x_i) / d ]", _SM_OK, _HYV,
          lambda p: np.mean(0.5 * _sq(p.score) + p.trace / p.score.shape[-1])),
    Entry("SM-SUM", "bug", "score_matching_loss",
          "The batch is summed, not averaged: the loss and its gradient grow with the batch "
          "size n, so a learning rate tuned at one n is wrong at another.",
          "sum_i [ 1/2 |s(x_i)|^2 + tr nabla_x s(x_i) ]", _SM_OK, _HYV,
          lambda p: np.sum(_sm_rows(p))),
    # -- sliced score matching --------------------------------------------------------------
    Entry("SSM-VARIANCE-REDUCED", "convention", "sliced_score_matching_loss",
          "The variance-reduced form (1/2 |s|^2 in place of 1/2 (v^T s)^2): the same expected "
          "loss and minimizer, a different value at finitely many projections.",
          "mean_{j,i} v^T nabla_x s v + mean_i 1/2 |s|^2", _SSM_OK, _SSM,
          _ssm_vr),
    Entry("SSM-PLAIN", "convention", "sliced_score_matching_loss",
          "The plain form (1/2 (v^T s)^2) where the variance-reduced one was asked for: the "
          "same expected loss and minimizer, a different value at finitely many projections.",
          "mean_{j,i} [ v^T nabla_x s v + 1/2 (v^T s)^2 ]",
          "mean_{j,i} v^T nabla_x s v + mean_i 1/2 |s|^2", _SSM, _ssm_plain),
    Entry("SSM-UNIT-SPHERE", "convention", "sliced_score_matching_loss",
          "The projections are normalized to the unit sphere (E[v v^T] = I/d): the loss "
          "estimates J/d, a scale with the same minimizer.",
          "mean_{j,i} [ u^T nabla_x s u + 1/2 (u^T s)^2 ],  u = v / |v|", _SSM_OK, _SSM,
          lambda p: np.mean((p.vhv + 0.5 * np.einsum("mnd,nd->mn", p.v, p.score) ** 2)
                            / _sq(p.v))),
    Entry("SSM-PROJECTIONS-SUMMED", "bug", "sliced_score_matching_loss",
          "The m projections are summed, not averaged: the loss is m times too large, so its "
          "scale depends on how many projections are drawn.",
          "mean_i sum_j [ v^T nabla_x s v + 1/2 (v^T s)^2 ]", _SSM_OK, _SSM,
          lambda p: p.v.shape[0] * _ssm_plain(p)),
    Entry("SSM-WRONG-VARIABLE", "bug", "sliced_score_matching_loss",
          "The derivative of v^T s is taken with respect to v instead of x, which gives v^T s "
          "where v^T nabla_x s v belongs: the loss no longer depends on the score's Jacobian.",
          "mean_{j,i} [ v^T s + 1/2 (v^T s)^2 ]", _SSM_OK, _SSM,
          lambda p: np.mean(np.einsum("mnd,nd->mn", p.v, p.score)
                            + 0.5 * np.einsum("mnd,nd->mn", p.v, p.score) ** 2)),
    # -- Hutchinson -------------------------------------------------------------------------
    Entry("HUTCH-NOT-AVERAGED", "bug", "hutchinson_trace",
          "The m probe terms are summed, not averaged: the estimate is m times the trace.",
          "sum_k v_k^T A v_k", "(1/m) sum_k v_k^T A v_k", _HUT,
          lambda p: np.sum(p.vav, axis=0)),
    # -- denoising score matching -----------------------------------------------------------
    Entry("DSM-TARGET-SIGN", "bug", "denoising_score_matching_loss",
          "The target's sign is flipped (DSM of -E: the model's score is taken as +nabla E, or "
          "the target as +z/sigma): the minimizer points away from the data.",
          "mean_i 1/2 | s(x_i + sigma z_i) - z_i / sigma |^2", _DSM_OK, _VIN,
          lambda p: np.mean(0.5 * _sq(p.score_tilde - p.noise / _sigma_rows(p)[:, None]))),
    Entry("DSM-SUM", "bug", "denoising_score_matching_loss",
          "The batch is summed, not averaged: the loss grows with the batch size n.",
          "sum_i 1/2 | s(x_i + sigma z_i) + z_i / sigma |^2", _DSM_OK, _VIN,
          lambda p: np.sum(_dsm_rows(p))),
    Entry("DSM-SIGMA2-WEIGHT", "convention", "denoising_score_matching_loss",
          "The loss is weighted by sigma^2 (NCSN's lambda(sigma) = sigma^2, written "
          "|sigma s + z|^2 / 2): the same minimizer at each level.",
          "mean_i 1/2 | sigma s(x_i + sigma z_i) + z_i |^2", _DSM_OK, _NCSN,
          lambda p: np.mean(np.broadcast_to(p.sigma, p.noise.shape[:1]) ** 2 * _dsm_rows(p))),
    Entry("DSM-SIGMA4-WEIGHT", "convention", "denoising_score_matching_loss",
          "The loss is weighted by sigma^4 (written in the noise's own units, "
          "|sigma^2 s + (x~ - x)|^2 / 2): the same minimizer at each level.",
          "mean_i 1/2 | sigma^2 s(x~_i) + (x~_i - x_i) |^2", _DSM_OK, _VIN,
          lambda p: np.mean(np.broadcast_to(p.sigma, p.noise.shape[:1]) ** 4 * _dsm_rows(p))),
    Entry("DSM-TARGET-XTILDE", "convention", "denoising_score_matching_loss",
          "The target written as -(x~ - x)/sigma^2 is the same number as -z/sigma "
          "(x~ = x + sigma z): an equal form, not a different one.",
          "mean_i 1/2 | s(x~_i) + (x~_i - x_i) / sigma^2 |^2", _DSM_OK, _VIN,
          lambda p: np.mean(_dsm_rows(p)), equals_reference=True),
    Entry("DSM-LEVEL-AVERAGE", "convention", "denoising_score_matching_loss",
          "The multi-scale loss is averaged over all noise levels (each point perturbed at "
          "every level with its noise z_i) instead of one level per point: with levels drawn "
          "uniformly the per-point form is an unbiased estimate of this average, the same "
          "minimizer.",
          "mean_l mean_i 1/2 | s(x_i + sigma_l z_i) + z_i / sigma_l |^2",
          "mean_i 1/2 | s(x_i + sigma_{l_i} z_i) + z_i / sigma_{l_i} |^2 (labels l_i)", _NCSN,
          lambda p: np.mean(0.5 * _sq(p.score_levels
                                       + p.noise[None] / p.sigmas[:, None, None]))),
    # -- NCE --------------------------------------------------------------------------------
    Entry("NCE-LOGIT-SIGN", "bug", "nce_loss",
          "The classifier's logit has the wrong sign (noise classified as data): the loss is "
          "minimized by the noise density, not the data density.",
          "-[ mean_data log sig(-G) + nu mean_noise log sig(G) ]", _NCE_OK, _NCE,
          lambda p: _nce(p, sign=-1.0)),
    Entry("NCE-LOGZ-MISSING", "bug", "nce_loss",
          "The learned log normalizer c is left out of the logit: the model is treated as "
          "normalized and the energy alone must absorb log Z.",
          "G = -E - log q - log nu (no c)", _NCE_OK, _NCE,
          lambda p: _nce(p, with_logz=False)),
    Entry("NCE-NU-IGNORED", "bug", "nce_loss",
          "The noise-to-data ratio nu is ignored (no log nu in the logit, no weight nu on the "
          "noise term): with nu != 1 the estimate of log Z is off by log nu.",
          "-[ mean_data log sig(G') + mean_noise log sig(-G') ],  G' = -E - c - log q",
          _NCE_OK, _NCE, lambda p: _nce(p, with_nu=False)),
    Entry("NCE-LOG-K", "convention", "nce_loss",
          "The logit written with '- log k' (k = nu noise samples per data point) and a "
          "logistic loss is refebm's loss exactly: the same number.",
          "logistic loss on G = log p_model - log q - log k", _NCE_OK, _NCE,
          lambda p: _nce(p), equals_reference=True),
    # -- contrastive divergence -------------------------------------------------------------
    Entry("CD-SIGN", "bug", "cd_gradient",
          "The gradient has the wrong sign, or the data and model terms are swapped (the same "
          "value): descending it raises the data's energy.",
          "mean_model nabla_theta E - mean_data nabla_theta E", _CD_OK, _HIN,
          lambda p: -_cd(p)),
    Entry("CD-SUM", "bug", "cd_gradient",
          "The two terms are summed over their samples, not averaged: with different data and "
          "model batch sizes the gradient is no longer the likelihood's.",
          "sum_data nabla_theta E - sum_model nabla_theta E", _CD_OK, _HIN,
          lambda p: np.sum(p.grad_data, axis=0) - np.sum(p.grad_model, axis=0)),
    Entry("CD-LOG-DENSITY", "convention", "cd_gradient",
          "The loss written with f = -E, -mean_data f + mean_model f, has the same gradient: "
          "the same number.",
          "-mean_data nabla_theta f + mean_model nabla_theta f,  f = -E", _CD_OK, _HIN,
          _cd, equals_reference=True),
    # -- Langevin ---------------------------------------------------------------------------
    Entry("LANGEVIN-CS236", "convention", "langevin_step",
          "The CS236 step x + eps s + sqrt(2 eps) z with the given number as eps: the same "
          "Langevin update with another step parameter (convert with convert_step).",
          "x + eps s(x) + sqrt(2 eps) z", _LANGEVIN_OK, _CS236, _langevin_conv("cs236")),
    Entry("LANGEVIN-SONG-KINGMA", "convention", "langevin_step",
          "The Song-Kingma step x + (eps^2/2) s + eps z with the given number as eps: the same "
          "Langevin update with another step parameter (convert with convert_step).",
          "x + (eps^2 / 2) s(x) + eps z", _LANGEVIN_OK, _SK, _langevin_conv("song_kingma")),
    Entry("LANGEVIN-TFP", "convention", "langevin_step",
          "The TFP step x + (h/2) s + sqrt(h) z with the given number as h: the same Langevin "
          "update with another step parameter (convert with convert_step).",
          "x + (h / 2) s(x) + sqrt(h) z", _LANGEVIN_OK, _TFP, _langevin_conv("tfp")),
    Entry("LANGEVIN-NOISE-STEP", "bug", "langevin_step",
          "The noise is scaled by the step itself instead of the convention's square root "
          "(sqrt(2 eps), sqrt(h)): b^2 != 2a, so the chain samples p^(1/T) with T = b^2/(2a), "
          "far too narrow at small steps.",
          "x + a s(x) + step * z", _LANGEVIN_OK, _RT,
          lambda p: _langevin(p, p.drift, float(p.step_size))),
    Entry("LANGEVIN-ONE-SYMBOL", "bug", "langevin_step",
          "One symbol is used for both the drift and the noise scale (x + step s + step z): "
          "b^2 != 2a, so the chain samples a tempered density (under CS236 this is also "
          "LANGEVIN-NOISE-STEP).",
          "x + step s(x) + step z", _LANGEVIN_OK, _RT,
          lambda p: _langevin(p, float(p.step_size), float(p.step_size))),
    # -- Metropolis-Hastings log acceptance (also named by check_mala_step) ------------------
    Entry("MH-REVERSE-WRONG-STATE", "bug", "mh_log_acceptance",
          "The reverse proposal density q(x | x') is centred at the current state's drift "
          "x + eps s(x) instead of the proposal's x' + eps s(x'): detailed balance fails.",
          "E(x) - E(x') + log N(x; x + eps s(x), 2 eps) - log q(x' | x)", _MH_OK, _HAST,
          _mh_reverse_wrong_state),
    Entry("MH-HASTINGS-INVERTED", "bug", "mh_log_acceptance",
          "The Hastings ratio is inverted: log q(x' | x) - log q(x | x') where its negative "
          "belongs.",
          "E(x) - E(x') + log q(x' | x) - log q(x | x')", _MH_OK, _HAST, _mh_inverted),
    Entry("MH-NEW-MINUS-NEW", "bug", "mh_log_acceptance",
          "The energy difference is taken between the proposal and itself (new minus new), so "
          "it is 0 and a symmetric proposal is always accepted.",
          "E(x') - E(x') + log q(x | x') - log q(x' | x)", _MH_OK, _HAST, _mh_new_new),
    Entry("MH-ENERGY-SIGN", "bug", "mh_log_acceptance",
          "The energy difference has the wrong sign (E(x') - E(x), from mixing up E and "
          "f = -E): moves uphill in energy are favoured.",
          "E(x') - E(x) + log q(x | x') - log q(x' | x)", _MH_OK, _HAST, _mh_energy_sign),
    Entry("MH-CORRECTION-MISMATCH", "bug", "mh_log_acceptance",
          "The Hastings correction is written for another parametrization than the proposal "
          "(proposal x + eps s + sqrt(2 eps) z, correction with drift eps/2 and variance eps): "
          "the chain is not reversible with respect to p.",
          "E(x) - E(x') + log N(x; x' + (eps/2) s(x'), eps) - log N(x'; x + (eps/2) s(x), eps)",
          _MH_OK, _HAST, _mh_mismatch),
    Entry("MH-CLIPPED", "convention", "mh_log_acceptance",
          "The log acceptance probability min(0, log r) is returned instead of log r: the same "
          "accept decision.",
          "min(0, log r)", _MH_OK, _HAST, _mh_clipped),
    # -- MALA step --------------------------------------------------------------------------
    Entry("MALA-NO-ACCEPT", "bug", "mala_step",
          "Every proposal is taken (no accept step): this is ULA, biased at any fixed step.",
          "x' = x + eps s(x) + sqrt(2 eps) z always", _MALA_OK, _RT,
          lambda p: p.x_proposed),
    Entry("MALA-THRESHOLD-SIGN", "bug", "mala_step",
          "The log-uniform threshold has the wrong sign: a proposal is accepted where "
          "log r > -log u instead of log r > log u.",
          "accept where log r > -log u", _MALA_OK, _HAST,
          lambda p: _mala_from_log_r(p, _mh(p), threshold_sign=-1.0)),
    Entry("MALA-REVERSE-WRONG-STATE", "bug", "mala_step",
          "MH-REVERSE-WRONG-STATE inside the step: the reverse density is centred at the "
          "current state.", "accept with the log r of MH-REVERSE-WRONG-STATE", _MALA_OK, _HAST,
          _mala_with(_mh_reverse_wrong_state)),
    Entry("MALA-HASTINGS-INVERTED", "bug", "mala_step",
          "MH-HASTINGS-INVERTED inside the step: the Hastings ratio is inverted.",
          "accept with the log r of MH-HASTINGS-INVERTED", _MALA_OK, _HAST,
          _mala_with(_mh_inverted)),
    Entry("MALA-NEW-MINUS-NEW", "bug", "mala_step",
          "MH-NEW-MINUS-NEW inside the step: the energy difference is 0.",
          "accept with the log r of MH-NEW-MINUS-NEW", _MALA_OK, _HAST,
          _mala_with(_mh_new_new)),
    Entry("MALA-ENERGY-SIGN", "bug", "mala_step",
          "MH-ENERGY-SIGN inside the step: the energy difference has the wrong sign.",
          "accept with the log r of MH-ENERGY-SIGN", _MALA_OK, _HAST,
          _mala_with(_mh_energy_sign)),
    Entry("MALA-CORRECTION-MISMATCH", "bug", "mala_step",
          "MH-CORRECTION-MISMATCH inside the step: the correction is written for another "
          "parametrization than the proposal.",
          "accept with the log r of MH-CORRECTION-MISMATCH", _MALA_OK, _HAST,
          _mala_with(_mh_mismatch)),
    # -- log partition ----------------------------------------------------------------------
    Entry("LOGZ-NOT-LOG", "bug", "log_partition",
          "Z is returned instead of log Z.", "Z = exp(log Z)", "log Z", _Z,
          lambda p: np.exp(p.log_z)),
    Entry("LOGZ-NEGATED", "bug", "log_partition",
          "The sign of log Z is flipped (log of the normalizing constant 1/Z of p = e^{-E}/Z).",
          "-log Z", "log Z", _Z, lambda p: -p.log_z),
)

# ---- statistical quantities: R-hat, ESS, KSD, log Z from importance weights -----------------
# (computed by refebm.testing.variants; checked by refebm.testing.statistical)

_VEH = ("Vehtari, Gelman, Simpson, Carpenter and Buerkner (2021), Rank-normalization, folding, "
        "and localization: an improved R-hat, Bayesian Analysis 16(2), arXiv:1903.08008 (D22)")
_GR = ("Gelman and Rubin (1992), Inference from iterative simulation using multiple sequences, "
       "Statistical Science 7(4), doi:10.1214/ss/1177011136 (D22)")
_BDA = ("Gelman et al. (2013), Bayesian Data Analysis, 3rd ed., section 11.5 (split R-hat, "
        "variogram ESS; Stan up to 2.17) (D22)")
_GEY = "Geyer (1992), Practical Markov chain Monte Carlo, Statistical Science 7(4), doi:10.1214/ss/1177011137 (D22)"
_KSD = ("Liu, Lee and Jordan (2016), A kernelized Stein discrepancy for goodness-of-fit tests, "
        "ICML, arXiv:1602.03253 (D12)")
_AIS = "Neal (2001), Annealed importance sampling, Statistics and Computing 11, arXiv:physics/9803008 (D1, D5)"


def _per_chain_component(fn):
    def compute(p):
        x = np.asarray(p.chains, dtype=np.float64)
        if x.ndim == 3:
            return np.array([fn(x[:, :, k]) for k in range(x.shape[2])])
        return fn(x)

    return compute


def _variant(name):
    def fn(*args):
        from . import variants

        return getattr(variants, name)(*args)

    return fn


def _chains_form(name):
    return _per_chain_component(_variant(name))


def _ksd_form(name):
    return lambda p: _variant(name)(p.x, p.score, float(p.c), float(p.beta))


_REFERENCE.update({
    "rhat": _chains_form("rhat_reference"),
    "ess": _chains_form("ess_reference"),
    "ksd": _ksd_form("ksd_reference"),
    "ais_log_normalizer": lambda p: _variant("log_normalizer")(p.log_weights),
})
QUANTITIES = tuple(_REFERENCE)
PARTS.update({
    "rhat": {"chains": "(chain, draw[, dim]) draws, ArviZ's layout"},
    "ess": {"chains": "(chain, draw[, dim]) draws, ArviZ's layout"},
    "ksd": {"x": "(n, d) points", "score": "(n, d) s(x)", "c": "IMQ scale",
            "beta": "IMQ exponent"},
    "ais_log_normalizer": {"log_weights": "(n,) log importance (or AIS) weights",
                           "n_transitions": "K, the number of annealing transitions"},
})

_RHAT_OK = "max(split R-hat of rank-normalized draws, of rank-normalized folded draws)"
_ESS_OK = "S / tau, rank-normalized split chains, Geyer's initial monotone sequence"
_KSD_OK = "1/(n(n-1)) sum_{i != j} u_p(x_i, x_j)"
_AIS_OK = "logsumexp_i log w_i - log n"

ENTRIES = ENTRIES + (
    Entry("RHAT-CLASSIC", "bug", "rhat",
          "Gelman and Rubin's original R-hat: whole chains, no split and no ranks, so a trend "
          "within chains and chains that differ only in spread go unnoticed.",
          "sqrt(((n-1)/n W + B/n) / W) on the whole chains", _RHAT_OK, _GR,
          _chains_form("rhat_classic")),
    Entry("RHAT-SPLIT-NO-RANK", "bug", "rhat",
          "Split R-hat of the raw draws (BDA3, Stan before 2.18): no rank normalization, so "
          "heavy tails and chains that differ only in spread go unnoticed.",
          "sqrt(((n-1)/n W + B/n) / W) on split raw chains", _RHAT_OK, _BDA,
          _chains_form("rhat_split_no_rank")),
    Entry("RHAT-BULK-ONLY", "bug", "rhat",
          "Only the bulk R-hat of the rank-normalized split chains: the folded (tail) version "
          "is missing, so chains that differ in scale but not location pass.",
          "split R-hat of rank-normalized draws only", _RHAT_OK, _VEH,
          _chains_form("rhat_bulk_only")),
    Entry("ESS-NO-RANK", "convention", "ess",
          "ESS of the split chains without rank normalization (ArviZ's method='mean'): the ESS "
          "of the sample mean, a different (legitimate) quantity from the bulk ESS, undefined "
          "for heavy tails.",
          "S / tau on split raw chains (Geyer's monotone sequence)", _ESS_OK, _VEH,
          _chains_form("ess_no_rank")),
    Entry("ESS-FIRST-NEGATIVE", "bug", "ess",
          "The autocorrelation sum is truncated at the first negative rho_t instead of Geyer's "
          "positive pair sums made monotone: noisy at long lags, it over- or under-states ESS.",
          "S / (1 + 2 sum_{t < T} rho_t), T = first t with rho_t < 0", _ESS_OK, _GEY,
          _chains_form("ess_first_negative")),
    Entry("ESS-OLD-STAN", "bug", "ess",
          "BDA3's variogram ESS (Stan up to 2.17): raw split chains, rho_t = 1 - V_t / (2 var+), "
          "pair sums until the first negative one, no monotone step and no ranks.",
          "S / (1 + 2 sum_{t=1}^{T} rho_t), rho_t = 1 - V_t / (2 var+)", _ESS_OK, _BDA,
          _chains_form("ess_old_stan")),
    Entry("KSD-V-STATISTIC", "bug", "ksd",
          "The V-statistic: the diagonal u_p(x_i, x_i) is kept, which biases KSD^2 upwards by "
          "E[u_p(x, x)] / n, so a perfect sampler never reaches 0.",
          "1/n^2 sum_{i, j} u_p(x_i, x_j)", _KSD_OK, _KSD, _ksd_form("ksd_v_statistic")),
    Entry("KSD-OVER-N2", "bug", "ksd",
          "The off-diagonal sum is divided by n^2 instead of n(n - 1): the U-statistic scaled "
          "by (n - 1)/n.",
          "1/n^2 sum_{i != j} u_p(x_i, x_j)", _KSD_OK, _KSD, _ksd_form("ksd_over_n_squared")),
    Entry("KSD-IMQ-C-UNSQUARED", "convention", "ksd",
          "The IMQ kernel is written (c + |x - y|^2)^beta: the same kernel with scale sqrt(c); "
          "pass c**2 to compare.",
          "U-statistic with k = (c + r^2)^beta", _KSD_OK + " with k = (c^2 + r^2)^beta", _KSD,
          _ksd_form("ksd_c_not_squared")),
    Entry("AIS-SUMMED-WEIGHTS", "bug", "ais_log_normalizer",
          "The weights are summed, not averaged: log Z is too high by log n (n particles).",
          "logsumexp_i log w_i", _AIS_OK, _AIS,
          lambda p: _variant("log_normalizer_summed")(p.log_weights)),
    Entry("AIS-OVER-ALL-STEPS", "bug", "ais_log_normalizer",
          "The weights are averaged over particles times annealing transitions (n K) instead of "
          "over particles: log Z is too low by log K.",
          "logsumexp_i log w_i - log(n K)", _AIS_OK, _AIS,
          lambda p: _variant("log_normalizer_over_all_steps")(p.log_weights,
                                                              float(p.n_transitions))),
    Entry("AIS-MEAN-LOG-WEIGHTS", "bug", "ais_log_normalizer",
          "The log weights are averaged instead of the weights: by Jensen's inequality a lower "
          "bound on log Z, not an estimate of it.",
          "mean_i log w_i", _AIS_OK, _AIS,
          lambda p: _variant("log_normalizer_mean_log")(p.log_weights)),
)

_BY_ID = {e.id: e for e in ENTRIES}
if len(_BY_ID) != len(ENTRIES):  # an id written twice would make `get` return the wrong entry
    raise ValueError("catalogue ids must be unique, repeated: "
                     f"{sorted({e.id for e in ENTRIES if [f.id for f in ENTRIES].count(e.id) > 1})}")


def get(entry_id):
    """The entry with id ``entry_id``."""
    try:
        return _BY_ID[entry_id]
    except KeyError:
        raise KeyError(f"no catalogue entry {entry_id!r}; known ids: {sorted(_BY_ID)}") from None


def entries(quantity=None, *, kind=None):
    """The entries of ``quantity`` (all when None), optionally of one ``kind``."""
    if quantity is not None and quantity not in _REFERENCE:
        raise ValueError(f"`quantity` must be one of {QUANTITIES}, got {quantity!r}")
    return tuple(e for e in ENTRIES if (quantity is None or e.quantity == quantity)
                 and (kind is None or e.kind == kind))

