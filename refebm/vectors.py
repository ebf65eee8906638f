r"""Golden test vectors: every checked quantity on fixed inputs, with its known wrong forms.

``write(out_dir)`` writes one JSON file per quantity, in the style of Project Wycheproof's test
vectors: a named, versioned schema (``schema()``), the generator's versions (refebm, NumPy,
SciPy), ``notes`` that define every catalogue entry the file uses (id, kind ``bug`` or
``convention``, description, formulas, source), and test groups of cases. Each case has a
``tcId`` (unique across all files), a comment, its inputs (shape, dtype, and the values twice:
as decimals and as C99 hex floats, so float64 round-trips exactly in any language), the
expected output, and ``wrongForms``: the output each catalogued bug or convention gives on the
same inputs. A group states the tolerance per dtype, the derivation id (D1 ... D22) and the
formula. A program in any language computes the quantity from the inputs, writes
``{tcId: value}`` to a JSON file, and ``refebm check RESULTS.json`` grades each case:

- ``PASSED``: within the tolerance of the expected output;
- ``EQUIVALENT_CONVENTION``: equal to the output of a catalogued convention (named);
- ``MATCHES_KNOWN_BUG``: equal to the output of a catalogued bug (id and source);
- ``WRONG_RESULT``: neither (expected and got are shown);
- ``NOT_PROVIDED``: the results have no value for the case.

Sampler vectors pin single transitions with their noise and uniforms given, never
trajectories (a trajectory changes with any harmless reordering of draws); whole-sampler
behaviour is graded by
[`refebm.testing.statistical.check_sampler`][refebm.testing.statistical.check_sampler].

The model-based quantities use three model families, each one any language can evaluate. Every
such case names its family in the string input ``model`` (one of ``MODEL_FAMILIES``) beside
that family's parameters, and a file holds one test group per family, whose ``model`` text
gives the energy, the score and its Jacobian:

The family ``"quadratic_quartic"`` has inputs ``mean`` \(\mu\), ``precision`` \(P\)
(symmetric positive definite) and ``quartic`` \(\gamma \ge 0\):

\[
    E(x) = \tfrac12 (x - \mu)^\top P (x - \mu) + \tfrac{\gamma}{4} \textstyle\sum_i x_i^4,
    \qquad s(x) = -P(x - \mu) - \gamma x^3, \qquad \nabla_x s = -P - 3\gamma\,
    \mathrm{diag}(x^2).
\]

The family ``"tanh_mlp"`` is the two-hidden-layer tanh network of
[`problems()["mlp"]`][refebm.testing.problems], with inputs ``W0 (16, 2)``, ``b0``,
``W1 (16, 16)``, ``b1``, ``W2 (1, 16)``, ``b2`` in PyTorch's ``nn.Linear`` layout
(``weight`` of shape ``(out, in)``): with \(h_1 = \tanh(W_0 x + b_0)\),
\(h_2 = \tanh(W_1 h_1 + b_1)\), \(D_\ell = \mathrm{diag}(1 - h_\ell^2)\) and
\(u = W_1^\top D_2 W_2^\top\),

\[
    E(x) = W_2 h_2 + b_2, \qquad s(x) = -W_0^\top D_1 u, \qquad
    \nabla_x s = -W_0^\top \bigl[\mathrm{diag}(-2 h_1 (1 - h_1^2) u)
    + D_1 W_1^\top \mathrm{diag}(-2 h_2 (1 - h_2^2) W_2^\top) W_1 D_1\bigr] W_0.
\]

The family ``"gaussian_mixture"`` is the asymmetric two-component mixture of
[`problems()["mixture"]`][refebm.testing.problems], with inputs ``weights`` \(w\) ``(K,)``,
``means`` \(m\) ``(K, d)`` and ``covariances`` \(C\) ``(K, d, d)``: with
\(P_k = C_k^{-1}\), \(g_k = -P_k (x - m_k)\) and the responsibilities
\(r_k(x) = w_k N(x; m_k, C_k) / \sum_j w_j N(x; m_j, C_j)\),

\[
    E(x) = -\log \textstyle\sum_k w_k N(x; m_k, C_k), \qquad s(x) = \sum_k r_k g_k,
    \qquad \nabla_x s = \sum_k r_k (g_k g_k^\top - P_k) - s s^\top.
\]

The quadratic-plus-quartic cases come first in every file and keep their ``tcId`` when cases of
other families are added (those are numbered after every first group). ``load`` reads the files
back with the ``json`` module only (no pickle, nothing executed).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any, NamedTuple

import numpy as np

__all__ = ["SCHEMA_NAME", "SCHEMA_VERSION", "STATUSES", "MODEL_FAMILIES", "iter_cases", "build",
           "write", "load", "schema", "encode", "decode", "grade", "CaseGrade", "read_results",
           "format_grades"]

#: The schema's name (each file's ``schema`` field) and version.
SCHEMA_NAME = "refebm_test_vectors_schema.json"
SCHEMA_VERSION = "1.1"   # 1.1: the string input ``model`` names a case's model family
#: Grades of one case.
STATUSES = ("PASSED", "EQUIVALENT_CONVENTION", "MATCHES_KNOWN_BUG", "WRONG_RESULT",
            "NOT_PROVIDED")

#: The model families of the model-based cases, as each case's ``inputs["model"]`` names them.
MODEL_FAMILIES = ("quadratic_quartic", "tanh_mlp", "gaussian_mixture")

# one group per family in every file; its ``model`` text gives E, the score and grad_x s
_MODEL_TEXT = {
    "quadratic_quartic": (
        "model 'quadratic_quartic': E(x) = 1/2 (x - mean)^T precision (x - mean) "
        "+ quartic/4 sum_i x_i^4; "
        "score s(x) = -precision (x - mean) - quartic x^3; "
        "grad_x s(x) = -precision - 3 quartic diag(x^2)"),
    "tanh_mlp": (
        "model 'tanh_mlp': E(x) = W2 tanh(W1 tanh(W0 x + b0) + b1) + b2, the weights in "
        "PyTorch's nn.Linear layout (W0 (16, 2), b0 (16,), W1 (16, 16), b1 (16,), W2 (1, 16), "
        "b2 (1,); a layer computes W h + b); with h1 = tanh(W0 x + b0), h2 = tanh(W1 h1 + b1), "
        "D1 = diag(1 - h1^2), D2 = diag(1 - h2^2), u = W1^T D2 W2^T (a 16-vector): "
        "score s(x) = -grad_x E = -W0^T D1 u; "
        "grad_x s(x) = -W0^T [ diag(-2 h1 (1 - h1^2) u) "
        "+ D1 W1^T diag(-2 h2 (1 - h2^2) W2^T) W1 D1 ] W0"),
    "gaussian_mixture": (
        "model 'gaussian_mixture': E(x) = -log sum_k weights_k N(x; means_k, covariances_k), "
        "weights (K,) summing to 1, means (K, d), covariances (K, d, d) symmetric positive "
        "definite; with P_k = covariances_k^-1, g_k(x) = -P_k (x - means_k) and the "
        "responsibilities r_k(x) = weights_k N(x; means_k, covariances_k) / sum_j weights_j "
        "N(x; means_j, covariances_j): score s(x) = sum_k r_k g_k; "
        "grad_x s(x) = sum_k r_k (g_k g_k^T - P_k) - s s^T"),
}

# what theta is in the CD gradient's cases, per family
_CD_THETA = {
    "quadratic_quartic": "mean",
    "tanh_mlp": ("(W0, b0, W1, b1, W2, b2), each flattened row-major, concatenated in that "
                 "order (337 numbers)"),
    "gaussian_mixture": ("(log weights (K,), means flattened row-major (K d,)), the "
                         "covariances fixed; the weights are the softmax of the log weights, "
                         "so d E / d log weights_k = weights_k - r_k(x) and d E / d means_k = "
                         "-r_k(x) P_k (x - means_k)"),
}


# -- encoding ----------------------------------------------------------------------------------

def encode(a):
    """An array (or number) as ``{"shape", "dtype": "float64", "values", "hex"}``: the values
    as decimals and as C99 hex floats (``float.hex``), both exact in float64."""
    a = np.asarray(a, dtype=np.float64)
    flat = a.ravel()
    return {"shape": list(a.shape), "dtype": "float64", "values": [float(v) for v in flat],
            "hex": [float(v).hex() for v in flat]}


def decode(obj):
    """An encoded array (``{"shape", "dtype", "values", "hex"}``) as a NumPy float64 array,
    read from the hex floats (exact); other JSON values are returned as they are."""
    if isinstance(obj, dict) and "hex" in obj and "shape" in obj:
        return np.array([float.fromhex(h) for h in obj["hex"]],
                        dtype=np.float64).reshape(obj["shape"])
    return obj


# -- the models --------------------------------------------------------------------------------

_MODELS = (
    ("1-D Gaussian", [0.7], [[1.6]], 0.0),
    ("1-D quartic", [-0.4], [[0.8]], 0.3),
    ("2-D correlated quartic", [0.5, -1.0], [[2.0, 0.6], [0.6, 1.0]], 0.25),
    ("3-D correlated quartic", [1.0, 0.0, -0.5],
     [[1.5, 0.3, -0.2], [0.3, 1.2, 0.4], [-0.2, 0.4, 2.0]], 0.1),
)


def _energy(mean, prec, quartic):
    import autograd.numpy as anp

    mean = np.asarray(mean, dtype=np.float64)
    prec = np.asarray(prec, dtype=np.float64)

    def energy(x):
        r = x - mean
        return 0.5 * anp.sum(anp.dot(r, prec) * r, axis=1) + 0.25 * quartic * anp.sum(x**4,
                                                                                       axis=1)

    return energy


def _model_inputs(mean, prec, quartic):
    return {"model": "quadratic_quartic", "mean": encode(mean), "precision": encode(prec),
            "quartic": encode(quartic)}


class _Model(NamedTuple):
    """One quadratic-plus-quartic model: its parameters, energy and encoded inputs."""

    name: str
    mean: np.ndarray
    prec: np.ndarray
    quartic: float
    energy: Any
    inputs: dict

    @property
    def d(self):
        return self.mean.shape[0]

    def near(self, rng, n):
        """``n`` points: standard normal draws of the vectors' stream around the mean."""
        return rng.normal(size=(n, self.d)) + self.mean


def _models():
    for name, mean, prec, quartic in _MODELS:
        mean = np.array(mean, dtype=np.float64)
        prec = np.array(prec, dtype=np.float64)
        yield _Model(name, mean, prec, float(quartic), _energy(mean, prec, float(quartic)),
                     _model_inputs(mean, prec, float(quartic)))


class _Family(NamedTuple):
    """A model family beside the quadratic-plus-quartic one: a standard problem of
    ``refebm.testing.problems()`` with its parameters as the cases' model inputs."""

    name: str           # the comments' name
    inputs: dict        # {"model": family, parameters (encoded)}
    problem: Any        # the refebm.testing.Problem (energy, energy_of_theta, theta, inputs)


def _families():
    from .testing import problems

    probs = problems()
    mlp, mix = probs["mlp"], probs["mixture"]
    yield _Family("2-D tanh MLP 2-16-16-1",
                  {"model": "tanh_mlp",
                   **{k: encode(mlp.params[k]) for k in ("W0", "b0", "W1", "b1", "W2", "b2")}},
                  mlp)
    yield _Family("2-D Gaussian mixture, weights (0.3, 0.7), full covariances",
                  {"model": "gaussian_mixture", "weights": encode(mix.params["weights"]),
                   "means": encode(mix.params["means"]),
                   "covariances": encode(mix.params["covs"])},
                  mix)


def _score(energy):
    from .diff import score

    return score(energy)


# -- the cases of each quantity ----------------------------------------------------------------
# Each generator yields (comment, inputs, expected, parts); ``inputs`` maps names to arrays
# (encoded) or JSON scalars, ``parts`` are the catalogue's parts for the wrong forms.
# ``_cases_<quantity>(rng)`` makes the quadratic-plus-quartic cases from the vectors' random
# stream; ``_family_<quantity>(family)`` the cases of another family from the fixed inputs of
# its standard problem (points, noise, projections, step sizes), so adding a family leaves the
# stream, and every earlier case, as it was.

def _case_score(name, model, energy, x):
    s = np.asarray(_score(energy)(x))
    return (f"{name}, {x.shape[0]} points", {**model, "x": encode(x)}, s, {"grad_energy": -s})


def _cases_score(rng):
    for m in _models():
        x = m.near(rng, 3)
        yield _case_score(m.name, m.inputs, m.energy, x)


def _family_score(fam):
    yield _case_score(fam.name, fam.inputs, fam.problem.energy, fam.problem.x[:3])


def _case_sm(name, model, energy, x):
    from .diff import hessian_trace
    from .objectives import score_matching_loss

    s = np.asarray(_score(energy)(x))
    tr = np.asarray(hessian_trace(energy)(x))
    return (f"{name}, {x.shape[0]} points", {**model, "x": encode(x)},
            np.asarray(score_matching_loss(energy, x)), {"score": s, "trace": tr})


def _cases_sm(rng):
    for m in _models():
        x = m.near(rng, 4)
        yield _case_sm(m.name, m.inputs, m.energy, x)


def _family_sm(fam):
    yield _case_sm(fam.name, fam.inputs, fam.problem.energy, fam.problem.x[3:7])


def _vhv(energy, x, v):
    from .diff import hutchinson_trace

    return np.stack([np.asarray(hutchinson_trace(energy, x, v[j])) for j in range(v.shape[0])])


def _case_ssm(name, model, energy, x, v, kind, vr):
    from .objectives import sliced_score_matching_loss

    s = np.asarray(_score(energy)(x))
    expected = np.asarray(sliced_score_matching_loss(energy, x, v, variance_reduced=vr))
    return (f"{name}, {x.shape[0]} points, {v.shape[0]} {kind} projections each, "
            f"{'variance-reduced' if vr else 'plain'} form",
            {**model, "x": encode(x), "v": encode(v), "variance_reduced": vr},
            expected, {"score": s, "v": v, "vhv": _vhv(energy, x, v), "variance_reduced": vr})


def _cases_ssm(rng):
    for k, m in enumerate(_models()):
        d = m.d
        x = m.near(rng, 3)
        for vr, kind in ((False, "Rademacher"), (True, "Gaussian")):
            if vr and k % 2 == 0:
                continue
            v = (rng.integers(0, 2, size=(2, 3, d)) * 2.0 - 1.0) if kind == "Rademacher" \
                else rng.normal(size=(2, 3, d))
            yield _case_ssm(m.name, m.inputs, m.energy, x, v, kind, vr)


def _family_ssm(fam):
    p = fam.problem
    x = p.x[7:10]
    yield _case_ssm(fam.name, fam.inputs, p.energy, x, p.projections[:2, 7:10], "Rademacher",
                    False)
    # Gaussian projections: standard normal rows of the problem's noise
    yield _case_ssm(fam.name, fam.inputs, p.energy, x, p.noise[:6].reshape(2, 3, p.d),
                    "Gaussian", True)


def _case_hutchinson(name, model, energy, x, v):
    from .diff import hutchinson_trace

    return (f"{name}: Hessian of log p at {x.shape[0]} points, {v.shape[0]} Rademacher probes "
            "each", {**model, "x": encode(x), "v": encode(v)},
            np.asarray(hutchinson_trace(energy, x, v)), {"vav": _vhv(energy, x, v)})


def _cases_hutchinson(rng):
    for m in _models():
        d = m.d
        x = m.near(rng, 2)
        v = rng.integers(0, 2, size=(3, 2, d)) * 2.0 - 1.0
        yield _case_hutchinson(m.name, m.inputs, m.energy, x, v)


def _family_hutchinson(fam):
    p = fam.problem
    yield _case_hutchinson(fam.name, fam.inputs, p.energy, p.x[10:12], p.projections[:3, 10:12])


def _case_dsm(name, model, energy, x, z, sigma):
    from .objectives import denoising_score_matching_loss

    st = np.asarray(_score(energy)(x + sigma * z))
    return (f"{name}, {x.shape[0]} points, sigma = {sigma}",
            {**model, "x": encode(x), "noise": encode(z), "sigma": encode(sigma)},
            np.asarray(denoising_score_matching_loss(energy, x, z, sigma)),
            {"score_tilde": st, "noise": z, "sigma": sigma})


def _cases_dsm(rng):
    from .objectives import multiscale_denoising_score_matching_loss

    for m, sigma in zip(_models(), (0.5, 0.1, 0.3, 1.0)):
        d = m.d
        x = m.near(rng, 4)
        z = rng.normal(size=(4, d))
        yield _case_dsm(m.name, m.inputs, m.energy, x, z, sigma)
    # one noise level per point (NCSN's labels), the model the same at every level
    m = list(_models())[2]
    sigmas = np.array([1.0, 0.5, 0.25])
    labels = np.array([0, 2, 1, 1, 0])
    x = m.near(rng, 5)
    z = rng.normal(size=(5, 2))
    sc = _score(m.energy)
    rows = sigmas[labels]
    expected = multiscale_denoising_score_matching_loss(
        None, x, z, sigmas, score=lambda y, sigma: sc(y), labels=labels,
        weights=np.ones(3))
    yield (f"{m.name}, 5 points, one level per point: sigma[labels[i]] with labels (0-based, "
           "stored as floats) into sigma = (1, 0.5, 0.25), no weights",
           {**m.inputs, "x": encode(x), "noise": encode(z),
            "sigma": encode(sigmas), "labels": encode(labels)},
           np.asarray(expected),
           {"score_tilde": np.asarray(sc(x + rows[:, None] * z)), "noise": z, "sigma": rows,
            "sigmas": sigmas,
            "score_levels": np.stack([np.asarray(sc(x + s_l * z)) for s_l in sigmas])})


def _family_dsm(fam):
    p = fam.problem
    yield _case_dsm(fam.name, fam.inputs, p.energy, p.x[12:16], p.noise[12:16], p.sigma)


def _case_nce(name, model, energy, log_z, xd, xn, scale):
    from .objectives import nce_loss

    from .families import Gaussian

    nu = xn.shape[0] / xd.shape[0]
    d = xd.shape[1]
    lq = Gaussian(np.zeros(d), scale**2 * np.eye(d)).log_prob
    return (f"{name}, {xd.shape[0]} data and {xn.shape[0]} noise points, noise "
            f"N(0, {scale}^2 I), nu = n_noise / n_data",
            {**model, "log_z": encode(log_z), "x_data": encode(xd), "x_noise": encode(xn),
             "noise_scale": encode(scale), "nu": encode(nu)},
            np.asarray(nce_loss(energy, log_z, xd, xn, lq, nu)),
            {"energy_data": np.asarray(energy(xd)), "energy_noise": np.asarray(energy(xn)),
             "log_q_data": np.asarray(lq(xd)), "log_q_noise": np.asarray(lq(xn)),
             "log_z": log_z, "nu": nu})


def _cases_nce(rng):
    for m, (log_z, n_noise) in zip(
            _models(), ((0.9, 6), (-0.3, 3), (1.4, 8), (2.0, 4))):
        d = m.d
        scale = 1.5
        xd = m.near(rng, 3)
        xn = scale * rng.normal(size=(n_noise, d))
        yield _case_nce(m.name, m.inputs, m.energy, log_z, xd, xn, scale)


def _family_nce(fam):
    p = fam.problem
    # the problem's noise is N(0, 2^2 I) and its c for the MLP; the mixture is normalized
    # (log Z = 0), so its c = 0.3 stands for a learned value that is off, which keeps the
    # form without c (NCE-LOGZ-MISSING) apart from the expected value
    log_z = {"tanh_mlp": p.log_z, "gaussian_mixture": 0.3}[fam.inputs["model"]]
    yield _case_nce(fam.name, fam.inputs, p.energy, log_z, p.x[16:19], p.x_noise[:6], 2.0)


def _cases_cd(rng):
    from .objectives import cd_gradient, parametric

    from functools import partial

    for m in _models():
        energy_of_theta = partial(_theta_energy, prec=m.prec, q=m.quartic)
        xd = m.near(rng, 4)
        xm = m.near(rng, 3) + 0.5
        grad = np.asarray(cd_gradient(parametric(energy_of_theta, m.mean.copy()), xd, xm))
        yield (f"{m.name}: gradient with respect to theta = mean, 4 data and 3 model samples",
               {**m.inputs, "x_data": encode(xd), "x_model": encode(xm)},
               grad, {"grad_data": -(xd - m.mean) @ m.prec,
                      "grad_model": -(xm - m.mean) @ m.prec})


def _theta_energy(theta, x, prec, q):
    import autograd.numpy as anp

    r = x - theta
    return 0.5 * anp.sum(anp.dot(r, prec) * r, axis=1) + 0.25 * q * anp.sum(x**4, axis=1)


def _family_cd(fam):
    from autograd import jacobian

    from .objectives import cd_gradient, parametric

    p = fam.problem
    xd, xm = p.x[19:23], p.x_model[:3]
    grad = np.asarray(cd_gradient(parametric(p.energy_of_theta, p.theta.copy()), xd, xm))
    # per-sample gradients (rows of the Jacobian of the energies), a second route to the mean
    per_sample = [np.asarray(jacobian(lambda th, x=x: p.energy_of_theta(th, x))(p.theta))
                  for x in (xd, xm)]
    theta = {"tanh_mlp": "the weights and biases", "gaussian_mixture":
             "(log weights, means)"}[fam.inputs["model"]]
    yield (f"{fam.name}: gradient with respect to theta = {theta}, "
           f"{xd.shape[0]} data and {xm.shape[0]} model samples",
           {**fam.inputs, "x_data": encode(xd), "x_model": encode(xm)},
           grad, {"grad_data": per_sample[0], "grad_model": per_sample[1]})


def _case_langevin(name, model, energy, x, z, eps):
    from .samplers import ula_init, ula_step

    sc = _score(energy)
    state, _ = ula_step(sc, ula_init(sc, x), z, eps)
    return (f"{name}, {x.shape[0]} chains, one CS236 step x + eps s(x) + sqrt(2 eps) z, "
            f"eps = {eps}",
            {**model, "x": encode(x), "noise": encode(z), "step_size": encode(eps)},
            np.asarray(state.x),
            {"x": x, "score": np.asarray(sc(x)), "noise": z, "drift": eps,
             "noise_scale": math.sqrt(2.0 * eps), "step_size": eps})


def _cases_langevin(rng):
    for m, eps in zip(_models(), (0.1, 0.05, 0.02, 0.2)):
        d = m.d
        x = m.near(rng, 3)
        z = rng.normal(size=(3, d))
        yield _case_langevin(m.name, m.inputs, m.energy, x, z, eps)


def _family_langevin(fam):
    p = fam.problem
    yield _case_langevin(fam.name, fam.inputs, p.energy, p.x[23:26], p.noise[23:26],
                         p.step_size)


def _mala_proposal(energy, x, z, eps):
    """MALA's CS236 proposal x + eps s(x) + sqrt(2 eps) z and refebm's log r for it."""
    from .samplers import mala_init, mala_log_acceptance

    xp = x + eps * np.asarray(_score(energy)(x)) + math.sqrt(2.0 * eps) * z
    return xp, np.asarray(mala_log_acceptance(mala_init(energy, x), mala_init(energy, xp), eps))


def _mala_parts(energy, x, xp, eps):
    sc = _score(energy)
    return {"x": x, "x_proposed": xp, "energy_x": np.asarray(energy(x)),
            "energy_proposed": np.asarray(energy(xp)), "score_x": np.asarray(sc(x)),
            "score_proposed": np.asarray(sc(xp)), "step_size": eps}


def _case_mh_mala(name, model, energy, x, z, eps):
    xp, lr = _mala_proposal(energy, x, z, eps)
    return (f"{name}, MALA (CS236 proposal N(x + eps s(x), 2 eps I)), eps = {eps}",
            {**model, "x": encode(x), "x_proposed": encode(xp), "step_size": encode(eps)},
            np.asarray(lr), _mala_parts(energy, x, xp, eps))


def _case_mh_walk(name, model, energy, x, xp):
    return (f"{name}, symmetric random-walk proposal (step_size null): log r = E(x) - E(x')",
            {**model, "x": encode(x), "x_proposed": encode(xp), "step_size": None},
            np.asarray(energy(x)) - np.asarray(energy(xp)), _mala_parts(energy, x, xp, None))


def _cases_mh(rng):
    for m, eps in zip(_models(), (0.3, 0.2, 0.1, 0.25)):
        d = m.d
        x = m.near(rng, 3)
        z = rng.normal(size=(3, d))
        yield _case_mh_mala(m.name, m.inputs, m.energy, x, z, eps)
    m = list(_models())[2]
    x = m.near(rng, 3)
    xp = x + 0.5 * rng.normal(size=(3, 2))
    yield _case_mh_walk(m.name, m.inputs, m.energy, x, xp)


def _family_mh(fam):
    p = fam.problem
    yield _case_mh_mala(fam.name, fam.inputs, p.energy, p.x[26:29], p.noise[26:29],
                        p.mala_step_size)
    yield _case_mh_walk(fam.name, fam.inputs, p.energy, p.x[29:32],
                        p.x[29:32] + 0.5 * p.noise[29:32])


def _case_mala(name, model, energy, x, z, eps):
    from .samplers import mala_init, mala_step

    xp, lr = _mala_proposal(energy, x, z, eps)
    # uniforms a factor e^{0.4} away from min(1, r) on either side, so the decisions of
    # the correct and the wrong forms are not decided by rounding
    offset = np.where(np.arange(x.shape[0]) % 2 == 0, -0.4, 0.4)
    u = np.clip(np.exp(np.minimum(lr, 0.0) + offset), 1e-3, 0.999)
    state, _ = mala_step(energy, mala_init(energy, x), z, u, eps)
    parts = _mala_parts(energy, x, xp, eps)
    parts["uniform"] = u
    return (f"{name}, {x.shape[0]} chains, one MALA step (CS236 proposal, accept where "
            f"log u < log r), eps = {eps}",
            {**model, "x": encode(x), "noise": encode(z), "uniform": encode(u),
             "step_size": encode(eps)},
            np.asarray(state.x), parts)


def _cases_mala(rng):
    for m, eps in zip(_models(), (0.8, 0.5, 0.3, 0.6)):
        d = m.d
        x = m.near(rng, 4)
        z = rng.normal(size=(4, d))
        yield _case_mala(m.name, m.inputs, m.energy, x, z, eps)


def _family_mala(fam):
    p = fam.problem
    yield _case_mala(fam.name, fam.inputs, p.energy, p.x[:4], p.noise[:4], p.mala_step_size)


def _cases_log_partition(rng):
    from .partition import enumerate_states, quadrature

    for m in _models():
        if m.quartic == 0.0 or m.d >= 2:
            lz = float(quadrature(_energy(m.mean, m.prec, 0.0),
                                  [(-np.inf, np.inf)] * m.d).log_z)
            yield (f"{m.name} without the quartic term: log Z = d/2 log 2 pi - 1/2 log det P",
                   {**_model_inputs(m.mean, m.prec, 0.0), "states": None}, np.asarray(lz),
                   {"log_z": lz})
    for m in list(_models())[1:3]:
        states = rng.integers(-2, 3, size=(6, m.d)).astype(np.float64)
        lz = float(enumerate_states(m.energy, states))
        yield (f"{m.name} on 6 states: log Z = logsumexp(-E(states))",
               {**m.inputs, "states": encode(states)}, np.asarray(lz),
               {"log_z": lz})


def _chain_sets(rng):
    def ar1(m, n, rho=0.5):
        x = np.zeros((m, n))
        x[:, 0] = rng.normal(size=m)
        for t in range(1, n):
            x[:, t] = rho * x[:, t - 1] + math.sqrt(1 - rho * rho) * rng.normal(size=m)
        return x

    base = ar1(4, 60)
    yield "4 AR(1) chains (rho 0.5) of 60 draws, same law", base
    shifted = ar1(4, 60)
    shifted[0] += 1.0
    yield "4 AR(1) chains of 60 draws, chain 0 shifted by 1", shifted
    wide = ar1(4, 60)
    wide[1] *= 3.0
    yield "4 AR(1) chains of 60 draws, chain 1 three times wider", wide
    heavy = rng.standard_t(1.5, size=(3, 50))
    yield "3 chains of 50 independent t(1.5) draws (heavy tails)", heavy
    trend = ar1(2, 80, 0.8) + np.linspace(0.0, 1.5, 80)
    yield "2 AR(1) chains (rho 0.8) of 80 draws with a linear trend", trend


def _cases_rhat(rng):
    from .diagnostics import rhat

    for comment, x in _chain_sets(rng):
        yield comment, {"chains": encode(x)}, np.asarray(rhat(x)), {"chains": x}


def _cases_ess(rng):
    from .diagnostics import ess

    for comment, x in _chain_sets(rng):
        yield comment, {"chains": encode(x)}, np.asarray(ess(x)), {"chains": x}


def _case_ksd(name, model, energy, x, c, beta):
    from .diagnostics import ksd

    sc = _score(energy)
    return (f"{name}, {x.shape[0]} points, IMQ kernel (c^2 + |r|^2)^beta, c = {c}, "
            f"beta = {beta}",
            {**model, "x": encode(x), "c": encode(c), "beta": encode(beta)},
            np.asarray(ksd(sc, x, c=c, beta=beta)),
            {"x": x, "score": np.asarray(sc(x)), "c": c, "beta": beta})


def _cases_ksd(rng):
    for m, (c, beta) in zip(
            _models(), ((1.0, -0.5), (2.0, -0.5), (0.5, -0.3), (1.5, -0.7))):
        x = m.near(rng, 6)
        yield _case_ksd(m.name, m.inputs, m.energy, x, c, beta)


def _family_ksd(fam):
    p = fam.problem
    yield _case_ksd(fam.name, fam.inputs, p.energy, p.x[4:10], 1.0, -0.5)


def _cases_ais(rng):
    from .testing.variants import log_normalizer

    for n, k, spread in ((5, 10, 1.0), (8, 100, 3.0), (4, 1, 0.3), (6, 50, 30.0)):
        log_w = rng.normal(size=n) * spread - 2.0
        yield (f"{n} log weights (spread {spread}), {k} annealing transitions",
               {"log_weights": encode(log_w), "n_transitions": k},
               np.asarray(log_normalizer(log_w)), {"log_weights": log_w, "n_transitions": k})


class _Spec(NamedTuple):
    quantity: str
    check: str
    derivation: str
    formula: str
    rtol: float
    rtol32: float
    cases: Any
    output: str


_SPECS = (
    _Spec("score", "check_score", "D12", "s(x) = grad_x log p(x) = -grad_x E(x)", 1e-12, 1e-5,
          _cases_score, "(n, d) score at x"),
    _Spec("score_matching_loss", "check_score_matching_loss", "D15",
          "mean_i [ 1/2 |s(x_i)|^2 + tr grad_x s(x_i) ]", 1e-12, 1e-5, _cases_sm, "scalar"),
    _Spec("sliced_score_matching_loss", "check_sliced_score_matching_loss", "D15",
          "mean_{j,i} [ v_ji^T grad_x s(x_i) v_ji + 1/2 (v_ji^T s(x_i))^2 ] (plain); "
          "1/2 |s(x_i)|^2 in place of 1/2 (v^T s)^2 when variance_reduced", 1e-12, 1e-5,
          _cases_ssm, "scalar"),
    _Spec("hutchinson_trace", "check_hutchinson_trace", "D15",
          "1/m sum_j v_j^T grad_x s(x_i) v_j (Hessian of log p), per point", 1e-12, 1e-5,
          _cases_hutchinson, "(n,)"),
    _Spec("denoising_score_matching_loss", "check_denoising_score_matching_loss", "D16",
          "mean_i 1/2 | s(x_i + sigma_i z_i) + z_i / sigma_i |^2, sigma_i = sigma, or "
          "sigma[labels[i]] when labels are given", 1e-12, 1e-5, _cases_dsm,
          "scalar"),
    _Spec("nce_loss", "check_nce_loss", "D19",
          "-[ mean_data log sig(G) + nu mean_noise log sig(-G) ], G = -E - log_z - log q - "
          "log nu, q = N(0, noise_scale^2 I)", 1e-12, 1e-5, _cases_nce, "scalar"),
    _Spec("cd_gradient", "check_cd_gradient", "D7",
          "mean_data grad_theta E - mean_model grad_theta E, theta = mean", 1e-12, 1e-5,
          _cases_cd, "(d,)"),
    _Spec("langevin_step", "check_langevin_step", "D11", "x' = x + eps s(x) + sqrt(2 eps) z",
          1e-13, 1e-6, _cases_langevin, "(n, d)"),
    _Spec("mh_log_acceptance", "check_mh_log_acceptance", "D10",
          "log r = E(x) - E(x') + log q(x | x') - log q(x' | x), q(x' | x) = N(x'; x + eps "
          "s(x), 2 eps I); without the q terms when step_size is null", 1e-11, 1e-4,
          _cases_mh, "(n,)"),
    _Spec("mala_step", "check_mala_step", "D11",
          "x' = x + eps s(x) + sqrt(2 eps) z where log u < log r (MALA), else x", 1e-13, 1e-6,
          _cases_mala, "(n, d)"),
    _Spec("log_partition", "check_log_partition", "D1",
          "log Z = log int exp(-E) dx (closed form without the quartic term), or "
          "logsumexp_k(-E(states_k)) on a finite state space", 1e-10, 1e-6,
          _cases_log_partition, "scalar"),
    _Spec("rhat", "check_rhat", "D22",
          "max(split R-hat of rank-normalized draws, of rank-normalized folded draws) "
          "(Vehtari et al. 2021)", 1e-10, 1e-4, _cases_rhat, "scalar"),
    _Spec("ess", "check_ess", "D22",
          "bulk ESS: S / tau on rank-normalized split chains, Geyer's initial monotone "
          "sequence (Vehtari et al. 2021)", 1e-8, 1e-3, _cases_ess, "scalar"),
    _Spec("ksd", "check_ksd", "D12",
          "1/(n(n-1)) sum_{i != j} u_p(x_i, x_j), IMQ kernel (c^2 + |x - y|^2)^beta",
          1e-11, 1e-4, _cases_ksd, "scalar"),
    _Spec("ais_log_normalizer", "check_log_partition", "D1",
          "log Z_hat = logsumexp_i log w_i - log n", 1e-13, 1e-6, _cases_ais, "scalar"),
)


# the quantities with cases of every model family, and their generators
_FAMILY_CASES = {
    "score": _family_score, "score_matching_loss": _family_sm,
    "sliced_score_matching_loss": _family_ssm, "hutchinson_trace": _family_hutchinson,
    "denoising_score_matching_loss": _family_dsm, "nce_loss": _family_nce,
    "cd_gradient": _family_cd, "langevin_step": _family_langevin,
    "mh_log_acceptance": _family_mh, "mala_step": _family_mala, "ksd": _family_ksd,
}


def _versions():
    import scipy

    from . import __version__

    return {"refebm": __version__, "numpy": np.__version__, "scipy": scipy.__version__}


def _note(entry):
    return {"kind": entry.kind, "description": entry.description, "formula": entry.formula,
            "correctFormula": entry.correct_formula, "links": [entry.source]}


def _tolerance(expected, rtol, rtol32):
    scale = max(1.0, float(np.max(np.abs(expected))) if np.size(expected) else 1.0)
    return {"float64": {"atol": rtol * scale, "rtol": rtol},
            "float32": {"atol": rtol32 * scale, "rtol": rtol32}}


def _within(a, b, tol):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    return bool(np.all(np.abs(a - b) <= tol["atol"] + tol["rtol"] * np.abs(b)))


def iter_cases(*, seed=0):
    """Every case before encoding: ``(quantity, comment, inputs, expected, parts)``, where
    ``expected`` is refebm's value (from its public functions) and ``parts`` are the
    catalogue's parts of the same inputs (``catalogue.reference(quantity, parts)`` is a second
    computation of ``expected``). ``inputs["model"]`` names the model family of a model-based
    case; each quantity's quadratic-plus-quartic cases come first."""
    rng = np.random.default_rng(seed)
    families = list(_families())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec in _SPECS:
            cases = list(spec.cases(rng))
            if spec.quantity in _FAMILY_CASES:
                for fam in families:
                    cases.extend(_FAMILY_CASES[spec.quantity](fam))
            for comment, inputs, expected, parts in cases:
                yield (spec.quantity, comment, inputs, np.asarray(expected, dtype=np.float64),
                       parts)


def _group_text(spec, family):
    """The derivation formula and model text of one group (``family`` None: no model)."""
    formula = spec.formula
    if spec.quantity == "cd_gradient":
        formula = formula.replace("theta = mean", f"theta = {_CD_THETA[family]}")
    return formula, (None if family is None else _MODEL_TEXT[family])


def build(*, seed=0):
    """The vector documents, one per quantity: ``{quantity: document}`` (what ``write``
    writes), each with one test group per model family (``MODEL_FAMILIES`` order).
    Deterministic for a given ``seed``.

    The ``tcId`` numbering runs over every file's first group (the quadratic-plus-quartic
    cases, or the only group of a quantity without a model) in quantity order, then over the
    other groups in the same order, so the first groups' ids do not move when a family's cases
    are added."""
    from .testing import catalogue

    versions = _versions()
    by_group = {}
    for quantity, comment, inputs, expected, parts in iter_cases(seed=seed):
        family = inputs.get("model")
        by_group.setdefault(quantity, {}).setdefault(family, []).append(
            (comment, inputs, expected, parts))
    order = {name: k for k, name in enumerate((None,) + MODEL_FAMILIES)}
    groups = {q: sorted(g, key=order.__getitem__) for q, g in by_group.items()}
    tc_ids, tc = {}, 0
    for first in (True, False):
        for spec in _SPECS:
            for k, family in enumerate(groups[spec.quantity]):
                if (k == 0) != first:
                    continue
                for j in range(len(by_group[spec.quantity][family])):
                    tc += 1
                    tc_ids[spec.quantity, family, j] = tc
    docs = {}
    for spec in _SPECS:
        entries = catalogue.entries(spec.quantity)
        used = {}
        test_groups = []
        n_tests = 0
        for family in groups[spec.quantity]:
            tests = []
            for j, (comment, inputs, expected, parts) in enumerate(
                    by_group[spec.quantity][family]):
                tol = _tolerance(expected, spec.rtol, spec.rtol32)
                wrong = {}
                for entry in entries:
                    try:
                        value = entry.evaluate(parts)
                    except Exception:  # noqa: BLE001 - a form that needs parts this case lacks
                        continue
                    if not np.all(np.isfinite(value)) or _within(value, expected,
                                                                 tol["float64"]):
                        continue
                    wrong[entry.id] = encode(value)
                    used[entry.id] = entry
                tests.append({"tcId": tc_ids[spec.quantity, family, j], "comment": comment,
                              "inputs": inputs, "expected": encode(expected),
                              "tolerance": tol, "wrongForms": wrong})
            formula, model = _group_text(spec, family)
            group = {"type": "".join(w.title() for w in spec.quantity.split("_")) + "Test",
                     "derivation": {"id": spec.derivation, "formula": formula}}
            if model is not None:
                group["model"] = model
            group.update({"output": spec.output, "tests": tests})
            test_groups.append(group)
            n_tests += len(tests)
        docs[spec.quantity] = {
            "schema": SCHEMA_NAME, "schemaVersion": SCHEMA_VERSION,
            "quantity": spec.quantity, "check": f"refebm.testing.{spec.check}",
            "generatorVersion": versions, "numberOfTests": n_tests,
            "header": [f"Test vectors of {spec.quantity}: compute the output from the "
                       "inputs (hex floats are exact), write {tcId: value} to a JSON file "
                       "and grade it with `refebm check RESULTS.json`."],
            "notes": {k: _note(used[k]) for k in sorted(used)},
            "testGroups": test_groups}
    return docs


def write(out_dir, *, seed=0):
    """Write the vectors to ``out_dir`` (created if needed): ``<quantity>_test.json`` for each
    quantity and the schema as ``refebm_test_vectors_schema.json``. Returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for quantity, doc in build(seed=seed).items():
        path = os.path.join(out_dir, f"{quantity}_test.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, allow_nan=False)
            fh.write("\n")
        paths.append(path)
    path = os.path.join(out_dir, SCHEMA_NAME)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(schema(), fh, indent=1)
        fh.write("\n")
    paths.append(path)
    return paths


def load(path):
    """Read vectors back: a ``*_test.json`` file (one document) or a folder of them
    (``{quantity: document}``). JSON only: nothing is unpickled or executed."""
    if os.path.isdir(path):
        out = {}
        for name in sorted(os.listdir(path)):
            if name.endswith("_test.json"):
                doc = load(os.path.join(path, name))
                out[doc["quantity"]] = doc
        if not out:
            raise ValueError(f"`path` {path!r} holds no *_test.json vector files")
        return out
    with open(path, encoding="utf-8") as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_NAME:
        raise ValueError(f"{path}: not a refebm vector file (its `schema` must be "
                         f"{SCHEMA_NAME!r})")
    return doc


def schema():
    """The JSON Schema (draft 2020-12) of a vector file."""
    array = {"type": "object", "required": ["shape", "dtype", "values", "hex"],
             "additionalProperties": False,
             "properties": {"shape": {"type": "array", "items": {"type": "integer",
                                                                 "minimum": 0}},
                            "dtype": {"enum": ["float64"]},
                            "values": {"type": "array", "items": {"type": "number"}},
                            "hex": {"type": "array", "items": {"type": "string"}}}}
    tol = {"type": "object", "required": ["atol", "rtol"],
           "properties": {"atol": {"type": "number", "minimum": 0},
                          "rtol": {"type": "number", "minimum": 0}}}
    case = {"type": "object",
            "required": ["tcId", "comment", "inputs", "expected", "tolerance", "wrongForms"],
            "additionalProperties": False,
            "properties": {
                "tcId": {"type": "integer", "minimum": 1},
                "comment": {"type": "string"},
                "inputs": {"type": "object",
                           "properties": {"model": {"enum": list(MODEL_FAMILIES)}},
                           "additionalProperties": {
                               "anyOf": [{"$ref": "#/$defs/array"},
                                         {"type": ["boolean", "integer", "null"]}]}},
                "expected": {"$ref": "#/$defs/array"},
                "tolerance": {"type": "object", "required": ["float64", "float32"],
                              "properties": {"float64": tol, "float32": tol}},
                "wrongForms": {"type": "object",
                               "additionalProperties": {"$ref": "#/$defs/array"}}}}
    note = {"type": "object", "required": ["kind", "description", "formula", "correctFormula",
                                           "links"],
            "properties": {"kind": {"enum": ["bug", "convention"]},
                           "description": {"type": "string"}, "formula": {"type": "string"},
                           "correctFormula": {"type": "string"},
                           "links": {"type": "array", "items": {"type": "string"}}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_NAME, "title": "refebm test vectors", "version": SCHEMA_VERSION,
        "type": "object",
        "required": ["schema", "schemaVersion", "quantity", "check", "generatorVersion",
                     "numberOfTests", "notes", "testGroups"],
        "properties": {
            "schema": {"const": SCHEMA_NAME},
            "schemaVersion": {"type": "string"},
            "quantity": {"type": "string"},
            "check": {"type": "string"},
            "generatorVersion": {"type": "object", "required": ["refebm", "numpy", "scipy"],
                                 "additionalProperties": {"type": "string"}},
            "numberOfTests": {"type": "integer", "minimum": 0},
            "header": {"type": "array", "items": {"type": "string"}},
            "notes": {"type": "object", "additionalProperties": note},
            "testGroups": {"type": "array", "items": {
                "type": "object", "required": ["type", "derivation", "tests"],
                "properties": {
                    "type": {"type": "string"},
                    "derivation": {"type": "object", "required": ["id", "formula"],
                                   "properties": {"id": {"type": "string",
                                                         "pattern": "^D([1-9]|1[0-9]|2[0-2])$"},
                                                  "formula": {"type": "string"}}},
                    "model": {"type": "string"}, "output": {"type": "string"},
                    "tests": {"type": "array", "items": case}}}}},
        "$defs": {"array": array}}


# -- grading -----------------------------------------------------------------------------------

class CaseGrade(NamedTuple):
    """The grade of one case.

    Attributes
    ----------
    tc_id : int
    quantity : str
    status : str
        One of ``STATUSES``.
    ids : tuple of str
        The catalogue entries matched (conventions or bugs).
    links : tuple of str
        Their sources.
    detail : str
        Expected against got, or what was wrong with the value.
    allowed : bool
        Matched an entry (or quantity) of the allow list.
    """

    tc_id: int
    quantity: str
    status: str
    ids: tuple
    links: tuple
    detail: str
    allowed: bool

    @property
    def ok(self):
        return self.status == "PASSED" or self.allowed

    def to_json(self):
        return {"tcId": self.tc_id, "quantity": self.quantity, "status": self.status,
                "ids": list(self.ids), "links": list(self.links), "detail": self.detail,
                "allowed": self.allowed}


def _parse_value(tc, value):
    """A results value (number, nested lists, hex-float strings) as float64, or a message."""
    def conv(v):
        if isinstance(v, bool) or v is None:
            raise ValueError(f"{v!r} is not a number")
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, str):
            try:
                return float.fromhex(v) if "0x" in v.lower() else float(v)
            except ValueError:
                raise ValueError(f"{v!r} is not a number") from None
        if isinstance(v, list):
            return [conv(u) for u in v]
        raise ValueError(f"a {type(v).__name__} is not a number or a list of numbers")

    if isinstance(value, dict) and "hex" in value and "shape" in value:
        try:
            return decode(value), None
        except Exception as exc:  # noqa: BLE001
            return None, f"case {tc}: malformed encoded array ({exc})"
    try:
        arr = np.array(conv(value), dtype=np.float64)
    except ValueError as exc:
        return None, f"case {tc}: {exc}"
    return arr, None


def read_results(path):
    """Read a results file: ``{tcId: value}``, or ``{"dtype": "float32", "results": {...}}``.
    Returns ``(values, dtype)``; raises ValueError naming what is malformed."""
    with open(path, encoding="utf-8") as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: must hold a JSON object {{tcId: value}}, got a "
                         f"{type(doc).__name__}")
    dtype = "float64"
    if "results" in doc:
        dtype = doc.get("dtype", "float64")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"{path}: `dtype` must be 'float64' or 'float32', got {dtype!r}")
        doc = doc["results"]
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: `results` must be a JSON object {{tcId: value}}")
    return doc, dtype


def _format_array(a):
    a = np.asarray(a)
    if a.ndim == 0:
        return f"{float(a):.10g}"
    flat = ", ".join(f"{float(v):.6g}" for v in a.ravel()[:3])
    return f"[{flat}{', ...' if a.size > 3 else ''}] shape {a.shape}"


def grade(results, vectors, *, dtype="float64", allow=()):
    """Grade ``results`` (``{tcId: value}``; keys may be strings) against ``vectors`` (a folder,
    or what ``load``/``build`` return).

    Returns
    -------
    (list of CaseGrade, list of str)
        One grade per case of the vectors, in tcId order, and the problems found in the
        results (unknown ids), each naming the case.
    """
    if isinstance(vectors, (str, os.PathLike)):
        vectors = load(vectors)
    if "testGroups" in vectors:
        vectors = {vectors["quantity"]: vectors}
    allow = set(allow)
    cases = {}
    for quantity, doc in vectors.items():
        for group in doc["testGroups"]:
            for test in group["tests"]:
                cases[int(test["tcId"])] = (quantity, doc, test)
    problems = []
    given = {}
    for key, value in results.items():
        try:
            tc = int(key)
        except (TypeError, ValueError):
            problems.append(f"results: key {key!r} is not a tcId (an integer)")
            continue
        if tc not in cases:
            problems.append(f"results: case {tc} is not a case of the vectors (tcIds "
                            f"{min(cases)}..{max(cases)})")
            continue
        given[tc] = value
    grades = []
    for tc in sorted(cases):
        quantity, doc, test = cases[tc]
        if tc not in given:
            grades.append(CaseGrade(tc, quantity, "NOT_PROVIDED", (), (), "no value given",
                                    quantity in allow))
            continue
        got, message = _parse_value(tc, given[tc])
        if got is None:
            grades.append(CaseGrade(tc, quantity, "WRONG_RESULT", (), (), message, False))
            continue
        expected = decode(test["expected"])
        tol = test["tolerance"][dtype]
        if got.shape != expected.shape and got.size == expected.size == 1:
            got = got.reshape(expected.shape)
        if np.any(np.isnan(got)):
            grades.append(CaseGrade(tc, quantity, "WRONG_RESULT", (), (),
                                    f"case {tc}: the value contains NaN", False))
            continue
        if _within(got, expected, tol):
            grades.append(CaseGrade(tc, quantity, "PASSED", (), (), "", False))
            continue
        conv, bugs = [], []
        for entry_id, enc in test["wrongForms"].items():
            if _within(got, decode(enc), tol):
                (conv if doc["notes"][entry_id]["kind"] == "convention" else bugs).append(
                    entry_id)
        ids = tuple(conv) if conv else tuple(bugs)
        links = tuple(doc["notes"][i]["links"][0] for i in ids)
        if ids:
            status = "EQUIVALENT_CONVENTION" if conv else "MATCHES_KNOWN_BUG"
            detail = "; ".join(doc["notes"][i]["description"] for i in ids[:1])
        elif got.shape != expected.shape:
            status = "WRONG_RESULT"
            detail = f"case {tc}: shape {got.shape}, expected shape {expected.shape}"
        else:
            status = "WRONG_RESULT"
            detail = f"expected {_format_array(expected)}, got {_format_array(got)}"
        grades.append(CaseGrade(tc, quantity, status, ids, links, detail,
                                bool(allow & set(ids))))
    return grades, problems


def format_grades(grades, problems=(), *, width=100):
    """The grades as a table that fits ``width`` columns, with a summary line."""
    lines = [f"{'tcId':>5}  {'quantity':<29} {'status':<22} detail", "-" * width]
    for g in grades:
        what = ", ".join(g.ids) if g.ids else g.detail
        if g.ids and g.links:
            what += f" ({g.links[0]})"
        if g.allowed:
            what = "allowed: " + what
        head = f"{g.tc_id:>5}  {g.quantity[:29]:<29} {g.status:<22} "
        room = width - len(head)
        lines.append(head + (what if len(what) <= room else what[:room - 3] + "..."))
    for p in problems:
        lines.append(p if len(p) <= width else p[:width - 3] + "...")
    counts = {}
    for g in grades:
        counts[g.status] = counts.get(g.status, 0) + 1
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if s in counts)
    ok = all(g.ok for g in grades) and not problems
    lines.append("-" * width)
    lines.append(f"{len(grades)} cases: {summary}; " + ("every case passes or is allowed."
                                                        if ok else "NOT all cases pass."))
    return "\n".join(lines)
