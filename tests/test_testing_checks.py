"""Conformance checks on planted bugs: every catalogued bug and convention of the deterministic
checks is named by its check with its id, and the correct twin passes.

The foreign implementations (``foreign_impls.py``) are written from the models' hand-written
derivatives, independently of refebm; refebm's side of each check comes from its objectives and
samplers, and the catalogue's ``reference(quantity, parts)`` is compared with those values as a
second computation of each reference.
"""

import numpy as np
import pytest

import foreign_impls as fi
from refebm.testing import _common, catalogue, problems
from refebm import testing as rt

P = problems()
DETERMINISTIC = ("score", "score_matching_loss", "sliced_score_matching_loss",
                 "hutchinson_trace", "denoising_score_matching_loss", "nce_loss", "cd_gradient",
                 "langevin_step", "mh_log_acceptance", "mala_step", "log_partition")
A = np.array([[2.0, 0.5, 0.1], [0.5, 1.5, -0.3], [0.1, -0.3, 1.0]])


def _hutch_probes():
    p = P["gaussian"]
    return np.concatenate([p.projections[:, 0, :], p.projections[:, 1, :1]], axis=1)


def run(quantity, prob, bug):
    """Run the check of ``quantity`` on the foreign implementation with ``bug`` planted."""
    p = P[prob]
    m = fi.model_for(p)
    if quantity == "score":
        return rt.check_score(fi.make_score(m, bug), p.energy, p.x)
    if quantity == "score_matching_loss":
        return rt.check_score_matching_loss(fi.make_sm_loss(m, bug), p.energy, p.x)
    if quantity == "sliced_score_matching_loss":
        vr = bug == "SSM-PLAIN"
        return rt.check_sliced_score_matching_loss(
            fi.make_ssm_loss(m, bug, variance_reduced=vr), p.energy, p.x, p.projections,
            variance_reduced=vr)
    if quantity == "hutchinson_trace":
        return rt.check_hutchinson_trace(fi.make_hutchinson(A, bug), A, _hutch_probes())
    if quantity == "denoising_score_matching_loss" and bug == "DSM-LEVEL-AVERAGE":
        return run_dsm_labels(prob, bug)
    if quantity == "denoising_score_matching_loss":
        return rt.check_denoising_score_matching_loss(fi.make_dsm_loss(m, bug), p.x, p.sigma,
                                                      p.noise, energy=p.energy)
    if quantity == "nce_loss":
        return rt.check_nce_loss(fi.make_nce_loss(m, p.log_z, p.noise_log_prob, bug), p.energy,
                                 p.log_z, p.x, p.x_noise, p.noise_log_prob)
    if quantity == "cd_gradient":
        return rt.check_cd_gradient(fi.make_cd_gradient(m, bug), p.energy_of_theta, p.theta,
                                    p.x, p.x_model)
    if quantity == "langevin_step":
        score = fi.make_score(m)
        conv = "tfp" if bug == "LANGEVIN-ONE-SYMBOL" else (
            "song_kingma" if bug == "LANGEVIN-CS236" else "cs236")
        form = conv if bug is None else bug
        return rt.check_langevin_step(fi.make_langevin(m, form), score, p.x, p.noise,
                                      p.step_size, convention=conv)
    if quantity == "mh_log_acceptance":
        eps = p.mala_step_size
        xp = p.x + np.sqrt(2 * eps) * p.noise + eps * fi.make_score(m)(p.x)
        return rt.check_mh_log_acceptance(fi.make_log_acceptance(m, bug, p.mala_step_size),
                                          p.energy, p.x, xp, step_size=p.mala_step_size)
    if quantity == "mala_step":
        return rt.check_mala_step(fi.make_mala(m, bug), p.energy, p.x, p.noise, p.uniform,
                                  p.mala_step_size)
    if quantity == "log_partition":
        g = P["gaussian"]
        log_z = g.log_z
        value = {None: log_z, "LOGZ-NOT-LOG": np.exp(log_z), "LOGZ-NEGATED": -log_z}[bug]
        return rt.check_log_partition(value, g.energy, g.bounds)
    raise AssertionError(quantity)


def run_dsm_labels(prob, bug):
    """The DSM check with one noise level per point (NCSN's labels); the model ignores sigma."""
    p = P[prob]
    m = fi.model_for(p)
    return rt.check_denoising_score_matching_loss(
        fi.make_dsm_levels_loss(m, bug), p.x, p.sigmas, p.noise,
        energy=lambda x, sigma: p.energy(x), labels=p.labels)


CASES = [(e.quantity, e.id) for e in catalogue.ENTRIES if e.quantity in DETERMINISTIC]


def test_catalogue_size():
    """At least 16 bug classes and 6 equivalent conventions among the deterministic checks."""
    kinds = [catalogue.get(i).kind for _, i in CASES]
    assert kinds.count("bug") >= 16 and kinds.count("convention") >= 6


# the Hutchinson trace has one problem (a matrix), the other quantities two
PLANTED = [(q, i, p) for q, i in CASES for p in ("gaussian", "quartic")
           if q != "hutchinson_trace" or p == "gaussian"]


@pytest.mark.parametrize("quantity,entry_id,prob", PLANTED)
def test_planted_entry_is_named(quantity, entry_id, prob):
    entry = catalogue.get(entry_id)
    result = run(quantity, prob, entry_id)
    assert entry_id in result.match_ids, str(result)
    if entry.equals_reference:
        assert result.status == "pass", str(result)
    elif entry.kind == "bug":
        assert result.status == "known_bug", str(result)
        assert result.match_ids[0] == entry_id or entry_id == "LANGEVIN-NOISE-STEP", str(result)
        with pytest.raises(AssertionError, match=entry_id):
            result.assert_ok()
    else:
        assert result.status == "equivalent_convention", str(result)
        result.assert_ok()
        with pytest.raises(AssertionError, match=entry_id):
            result.assert_ok(allow_conventions=False)


@pytest.mark.parametrize("prob", ["gaussian", "quartic"])
@pytest.mark.parametrize("quantity", DETERMINISTIC)
def test_correct_twin_passes(quantity, prob):
    result = run(quantity, prob, None)
    assert result.status == "pass", str(result)
    assert not [m for m in result.matches if not m.equals_reference], str(result)
    assert result.abs_error <= result.tolerance.atol
    result.assert_ok(allow_conventions=False)


@pytest.mark.parametrize("prob", ["gaussian", "quartic"])
def test_dsm_with_labels(prob):
    """One noise level per point (NCSN's labels): the correct twin passes, NCSN's sigma^2
    weighting is named per point, and the reference equals the per-row formula by hand."""
    r = run_dsm_labels(prob, None)
    assert r.status == "pass" and r.match_ids == ("DSM-TARGET-XTILDE",), str(r)
    p = P[prob]
    rows = p.sigmas[p.labels][:, None]
    s = fi._score(fi.model_for(p), p.x + rows * p.noise)
    assert abs(float(r.expected) - np.mean(0.5 * np.sum((s + p.noise / rows) ** 2, axis=1))) \
        <= r.tolerance.atol
    w = run_dsm_labels(prob, "DSM-SIGMA2-WEIGHT")
    assert w.status == "equivalent_convention" and w.match_ids == ("DSM-SIGMA2-WEIGHT",), str(w)


def test_dsm_labels_bad_input():
    p = P["gaussian"]
    loss = fi.make_dsm_levels_loss(fi.model_for(p))
    energy = lambda x, sigma: p.energy(x)  # noqa: E731
    with pytest.raises(TypeError, match="`labels` must be an integer array"):
        rt.check_denoising_score_matching_loss(loss, p.x, p.sigmas, p.noise, energy=energy,
                                               labels=p.labels * 1.0)
    with pytest.raises(ValueError, match="`labels` must have shape"):
        rt.check_denoising_score_matching_loss(loss, p.x, p.sigmas, p.noise, energy=energy,
                                               labels=p.labels + len(p.sigmas))


def test_entries_are_distinguishable():
    """On the standard inputs no two entries of a quantity give the same value (so the right
    id is the one named), and none equals the reference unless it says so."""
    for quantity in ("score_matching_loss", "denoising_score_matching_loss", "nce_loss",
                     "mala_step", "mh_log_acceptance", "sliced_score_matching_loss"):
        for prob in ("gaussian", "quartic"):
            result = run(quantity, prob, None)
            assert result.status == "pass"
    # a planted bug is the only match of its quantity (LANGEVIN-NOISE-STEP and -ONE-SYMBOL
    # coincide under CS236, which the catalogue says)
    r = run("langevin_step", "gaussian", "LANGEVIN-NOISE-STEP")
    assert set(r.match_ids) == {"LANGEVIN-NOISE-STEP", "LANGEVIN-ONE-SYMBOL"}


@pytest.mark.parametrize("quantity", ["score_matching_loss", "sliced_score_matching_loss",
                                      "denoising_score_matching_loss", "nce_loss",
                                      "cd_gradient", "mh_log_acceptance", "mala_step",
                                      "langevin_step"])
@pytest.mark.parametrize("prob", ["gaussian", "mixture", "quartic", "mlp"])
def test_reference_from_parts_equals_refebm(quantity, prob):
    """The catalogue's reference formula on the check's parts equals refebm's own function:
    each reference value computed two independent ways."""
    p = P[prob]
    captured = {}
    real = _common._finish

    def spy(name, q, expected, got, tol, parts, **kw):
        captured.update(expected=expected, parts=parts, tol=tol)
        return real(name, q, expected, got, tol, parts, **kw)

    _common._finish = spy
    try:
        if quantity == "score_matching_loss":
            rt.check_score_matching_loss(lambda x: 0.0, p.energy, p.x)
        elif quantity == "sliced_score_matching_loss":
            rt.check_sliced_score_matching_loss(lambda x, v: 0.0, p.energy, p.x, p.projections)
        elif quantity == "denoising_score_matching_loss":
            rt.check_denoising_score_matching_loss(lambda x, s, z: 0.0, p.x, p.sigma, p.noise,
                                                   energy=p.energy)
        elif quantity == "nce_loss":
            rt.check_nce_loss(lambda a, b: 0.0, p.energy, p.log_z, p.x, p.x_noise,
                              p.noise_log_prob)
        elif quantity == "cd_gradient":
            rt.check_cd_gradient(lambda a, b: np.zeros_like(p.theta), p.energy_of_theta,
                                 p.theta, p.x, p.x_model)
        elif quantity == "mh_log_acceptance":
            rt.check_mh_log_acceptance(lambda a, b: np.zeros(len(a)), p.energy, p.x,
                                       p.x + 0.3 * p.noise, step_size=p.mala_step_size)
        elif quantity == "mala_step":
            rt.check_mala_step(lambda x, z, u, e: x, p.energy, p.x, p.noise, p.uniform,
                               p.mala_step_size)
        elif quantity == "langevin_step":
            from refebm.diff import score
            rt.check_langevin_step(lambda x, z, e: x, score(p.energy), p.x, p.noise,
                                   p.step_size)
    finally:
        _common._finish = real
    again = catalogue.reference(quantity, captured["parts"])
    np.testing.assert_allclose(again, captured["expected"], rtol=0,
                               atol=captured["tol"].atol)


def test_langevin_coefficients_and_stationary_law():
    """The recovered (a, b) are the planted ones, and the stationary variance on N(0, 1) is
    b^2 / (a (2 - a)) (the issue's example: TFP h = 0.1 with noise h: 0.103 instead of 1.03)."""
    p = P["gaussian"]
    m = fi.model_for(p)
    score = fi.make_score(m)
    r = rt.check_langevin_step(lambda x, z, h: x + 0.05 * score(x) + 0.1 * z, score, p.x,
                               p.noise, 0.1, convention="tfp")
    assert r.match_ids == ("LANGEVIN-NOISE-STEP",)
    c = r.coefficients
    assert abs(c["drift"] - 0.05) < 1e-14 and abs(c["noise_scale"] - 0.1) < 1e-14
    assert abs(c["temperature"] - 0.01 / 0.1) < 1e-13
    assert abs(c["stationary_variance"] - 0.01 / (0.05 * 1.95)) < 1e-13
    assert abs(c["reference_variance"] - 0.1 / (0.05 * 1.95)) < 1e-13
    assert round(c["stationary_variance"], 3) == 0.103
    # the same TFP step with its noise scaled by h is named under every stated convention (the
    # drift recovered from the foreign step is TFP's), and Song-Kingma's eps z noise is not
    # taken for that bug
    for conv in ("cs236", "tfp", "song_kingma"):
        r = rt.check_langevin_step(lambda x, z, h: x + 0.5 * h * score(x) + h * z, score, p.x,
                                   p.noise, 0.1, convention=conv)
        assert r.status == "known_bug" and r.match_ids == ("LANGEVIN-NOISE-STEP",), conv
        r = rt.check_langevin_step(lambda x, z, h: x + 0.5 * h * h * score(x) + h * z, score,
                                   p.x, p.noise, 0.1, convention=conv)
        assert r.status in ("pass", "equivalent_convention"), conv
        assert "LANGEVIN-NOISE-STEP" not in r.match_ids
    # Song-Kingma written where CS236 was meant: a convention, with its coefficients
    r = rt.check_langevin_step(fi.make_langevin(m, "song_kingma"), score, p.x, p.noise, 0.1)
    assert r.status == "equivalent_convention" and r.match_ids == ("LANGEVIN-SONG-KINGMA",)
    assert abs(r.coefficients["drift"] - 0.005) < 1e-14


@pytest.mark.parametrize("prob", ["gaussian", "quartic"])
def test_langevin_zero_score_probe(prob):
    """At a zero x* of the score the foreign step moves by b z alone: the noise scale measured
    there equals the one from the zero-noise probe and the planted one (sqrt(2 eps))."""
    p = P[prob]
    score = fi.make_score(fi.model_for(p))
    r = rt.check_langevin_step(fi.make_langevin(fi.model_for(p)), score, p.x, p.noise, 0.1)
    assert r.status == "pass", str(r)
    c = r.coefficients
    assert abs(c["noise_scale_at_zero_score"] - np.sqrt(0.2)) < 1e-12
    assert abs(c["noise_scale"] - np.sqrt(0.2)) < 1e-12
    assert r.notes[0].startswith("on N(0, 1)")


def test_langevin_zero_score_probe_separates_drift_from_noise():
    p = P["gaussian"]
    score = fi.make_score(fi.model_for(p))
    mode = p.params["mean"]
    # a step that normalizes its noise: zero noise gives NaN, so the zero-noise probe fails
    # and the drift comes from the zero-score probe's b
    def normalized(x, z, e):
        with np.errstate(invalid="ignore", divide="ignore"):
            return x + e * score(x) + np.sqrt(2 * e) * z / np.std(z)

    r = rt.check_langevin_step(normalized, score, p.x, p.noise, 0.1, zero_score_point=mode)
    b = np.sqrt(0.2) / np.std(p.noise)
    assert abs(r.coefficients["drift"] - 0.1) < 1e-12, str(r)
    assert abs(r.coefficients["noise_scale"] - b) < 1e-12
    assert any("zero-noise probe failed" in n for n in r.notes)
    # noise that grows with the score: b at the mode differs from b elsewhere, named in a note
    r = rt.check_langevin_step(
        lambda x, z, e: x + e * score(x) + np.sqrt(2 * e) * z * (1 + np.abs(score(x))),
        score, p.x, p.noise, 0.1)
    assert r.status == "fail"
    assert abs(r.coefficients["noise_scale_at_zero_score"] - np.sqrt(0.2)) < 1e-12
    assert any("the noise term depends on the score" in n for n in r.notes), str(r)
    with pytest.raises(ValueError, match="`zero_score_point` must be a zero of `score`"):
        rt.check_langevin_step(fi.make_langevin(fi.model_for(p)), score, p.x, p.noise, 0.1,
                               zero_score_point=mode + 1.0)
    r = rt.check_langevin_step(fi.make_langevin(fi.model_for(p)), score, p.x, p.noise, 0.1,
                               zero_score_point=None)
    assert r.status == "pass" and "noise_scale_at_zero_score" not in r.coefficients


def test_langevin_ncsn_level_is_named():
    p = P["gaussian"]
    score = fi.make_score(fi.model_for(p))
    sig = p.sigmas
    alpha1 = 0.01 * sig[1] ** 2 / sig[-1] ** 2
    step = lambda x, z, e: x + alpha1 / 2 * score(x) + np.sqrt(alpha1) * z
    r = rt.check_langevin_step(step, score, p.x, p.noise, 0.01, convention="tfp", sigmas=sig)
    assert any("NCSN's update at level 1" in n for n in r.notes), str(r)


def test_decoupled_update_fails_with_its_temperature():
    p = P["gaussian"]
    score = fi.make_score(fi.model_for(p))
    r = rt.check_langevin_step(lambda x, z, e: x + 0.1 * score(x) + 0.005 * z, score, p.x,
                               p.noise, 0.1)
    assert r.status == "fail"
    assert abs(r.coefficients["temperature"] - 0.005**2 / 0.2) < 1e-15
    assert "temperature" in str(r)


def test_sliced_score_model_accepted():
    """A score network (score=) is checked like an energy: the same reference value."""
    p = P["quartic"]
    m = fi.model_for(p)
    s = lambda x: -np.stack([x[:, 0] ** 3 - x[:, 0] + 0.3 * x[:, 1],
                             x[:, 1] ** 3 + 0.3 * x[:, 0] + 0.2], axis=1)
    import autograd.numpy as anp

    s_ag = lambda x: -anp.stack([x[:, 0] ** 3 - x[:, 0] + 0.3 * x[:, 1],
                                 x[:, 1] ** 3 + 0.3 * x[:, 0] + 0.2], axis=1)
    np.testing.assert_allclose(s(p.x), fi.make_score(m)(p.x), rtol=1e-14)
    r = rt.check_sliced_score_matching_loss(fi.make_ssm_loss(m), None, p.x, p.projections,
                                            score=s_ag)
    assert r.status == "pass", str(r)
    r = rt.check_score_matching_loss(fi.make_sm_loss(m, "SM-TRACE-OVER-D"), None, p.x,
                                     score=s_ag)
    assert r.match_ids == ("SM-TRACE-OVER-D",), str(r)


def test_cd_gradient_as_list_of_parameter_arrays():
    p = P["gaussian"]
    g = fi.make_cd_gradient(fi.model_for(p))
    r = rt.check_cd_gradient(lambda a, b: [g(a, b)[:2], g(a, b)[2:].reshape(2, 2)],
                             p.energy_of_theta, p.theta, p.x, p.x_model)
    assert r.status == "pass", str(r)


def test_score_scaled_reports_factor():
    r = run("score", "gaussian", "SCORE-SCALED")
    assert abs(r.coefficients["factor"] - 0.5) < 1e-12
    assert "factor = 0.5" in str(r)


def test_log_partition_enumeration():
    states = np.array([[a, b] for a in (-1.0, 1.0) for b in (-1.0, 1.0)])
    energy = lambda s: -0.4 * s[:, 0] * s[:, 1] - 0.2 * s[:, 0]
    log_z = np.log(np.sum(np.exp(-energy(states))))
    assert rt.check_log_partition(log_z, energy, states).status == "pass"
    assert rt.check_log_partition(np.exp(log_z), energy, states).match_ids == ("LOGZ-NOT-LOG",)


def test_assert_twins():
    p = P["gaussian"]
    m = fi.model_for(p)
    r = rt.assert_score_matching_loss(fi.make_sm_loss(m), p.energy, p.x)
    assert r.status == "pass"
    with pytest.raises(AssertionError, match="SM-HALF-MISSING"):
        rt.assert_score_matching_loss(fi.make_sm_loss(m, "SM-HALF-MISSING"), p.energy, p.x)
    rt.assert_sliced_score_matching_loss(fi.make_ssm_loss(m, "SSM-UNIT-SPHERE"), p.energy, p.x,
                                         p.projections)
    with pytest.raises(AssertionError, match="SSM-UNIT-SPHERE"):
        rt.assert_sliced_score_matching_loss(fi.make_ssm_loss(m, "SSM-UNIT-SPHERE"), p.energy,
                                             p.x, p.projections, allow_conventions=False)
    assert rt.assert_score.__name__ == "assert_score"
    assert "check_score" in rt.assert_score.__doc__


def test_result_text_and_dict():
    r = run("score_matching_loss", "gaussian", "SM-HALF-MISSING")
    text = str(r)
    for piece in ("score_matching_loss: KNOWN BUG", "expected:", "got:", "tolerance:",
                  "matches bug SM-HALF-MISSING", "should be:", "source:", "Hyvarinen"):
        assert piece in text, text
    import json

    d = json.loads(json.dumps(r.to_dict()))
    assert d["status"] == "known_bug" and d["matches"][0]["id"] == "SM-HALF-MISSING"
    assert "SM-HALF-MISSING" in repr(r)


def test_float32_mode_passes_float32_code_and_names_bugs():
    """dtype='float32': the foreign function gets float32 arrays and the tolerance scales
    with float32's epsilon; a float32 implementation passes and a planted bug is named."""
    p = P["quartic"]
    m = fi.model_for(p)

    def loss32(x, sigma, z):
        assert x.dtype == np.float32 and z.dtype == np.float32
        return np.float32(fi.make_dsm_loss(m)(x, sigma, z))

    r = rt.check_denoising_score_matching_loss(loss32, p.x, p.sigma, p.noise, energy=p.energy,
                                               dtype="float32")
    assert r.status == "pass", str(r)
    assert "float32 rounding" in r.tolerance.reason
    bad = lambda x, s, z: np.float32(fi.make_dsm_loss(m, "DSM-TARGET-SIGN")(x, s, z))
    r = rt.check_denoising_score_matching_loss(bad, p.x, p.sigma, p.noise, energy=p.energy,
                                               dtype="float32")
    assert r.match_ids == ("DSM-TARGET-SIGN",)
