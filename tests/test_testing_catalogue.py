"""The catalogue (JSON fields, plain-NumPy evaluation), the standard problems, CheckResult, and
the docs page's catalogue table kept equal to the catalogue."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from refebm.testing import CheckResult, Tolerance, catalogue, compare, problems

ROOT = Path(__file__).resolve().parents[1]


def test_entries_serialize_and_are_well_formed():
    ids = [e.id for e in catalogue.ENTRIES]
    assert len(ids) == len(set(ids))
    for e in catalogue.ENTRIES:
        d = json.loads(json.dumps(e.to_json()))
        assert set(d) >= {"id", "kind", "description", "formula", "correct_formula", "source"}
        assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", e.id), e.id
        assert e.kind in ("bug", "convention")
        assert e.quantity in catalogue.QUANTITIES
        assert e.description.endswith(".") and e.source
        assert catalogue.get(e.id) is e
    with pytest.raises(KeyError, match="no catalogue entry 'NOPE'"):
        catalogue.get("NOPE")
    with pytest.raises(ValueError, match="`quantity` must be one of"):
        catalogue.entries("nope")


def test_entries_on_plain_numpy_inputs():
    """Each score-matching form evaluated on hand-made parts equals its formula by hand."""
    s = np.array([[1.0, 2.0], [0.0, -1.0]])
    tr = np.array([-2.0, -3.0])
    parts = {"score": s, "trace": tr}
    sq = np.array([5.0, 1.0])
    assert catalogue.reference("score_matching_loss", parts) == np.mean(0.5 * sq + tr)
    want = {"SM-HALF-MISSING": np.mean(sq + tr), "SM-LAPLACIAN-SIGN": np.mean(0.5 * sq - tr),
            "SM-TRACE-OVER-D": np.mean(0.5 * sq + tr / 2), "SM-SUM": np.sum(0.5 * sq + tr)}
    for k, v in want.items():
        assert catalogue.get(k).evaluate(parts) == v
    # DSM: s~ = 0, z = 1, sigma = 0.5: every row is 1/2 |z/sigma|^2 = 4 per coordinate
    dsm = {"score_tilde": np.zeros((3, 1)), "noise": np.ones((3, 1)), "sigma": 0.5}
    assert catalogue.reference("denoising_score_matching_loss", dsm) == 2.0
    assert catalogue.get("DSM-SIGMA2-WEIGHT").evaluate(dsm) == 0.5
    assert catalogue.get("DSM-SIGMA4-WEIGHT").evaluate(dsm) == 0.125
    assert catalogue.get("DSM-SUM").evaluate(dsm) == 6.0
    # Hutchinson: quadratic forms 1, 2, 3 -> mean 2, sum 6
    assert catalogue.reference("hutchinson_trace", {"vav": np.array([1.0, 2.0, 3.0])}) == 2.0
    assert catalogue.get("HUTCH-NOT-AVERAGED").evaluate({"vav": np.array([1.0, 2.0, 3.0])}) == 6
    with pytest.raises(AttributeError, match="needs the part 'trace'"):
        catalogue.get("SM-SUM").evaluate({"score": s})


def test_langevin_entries_are_the_conventions_of_refebm():
    from refebm.samplers import conventions

    x = np.array([[1.0, -2.0]])
    s = np.array([[0.5, 0.25]])
    z = np.array([[0.3, -0.7]])
    for conv, eid in (("cs236", "LANGEVIN-CS236"), ("song_kingma", "LANGEVIN-SONG-KINGMA"),
                      ("tfp", "LANGEVIN-TFP")):
        a, b = conventions.drift_and_noise(0.2, convention=conv)
        got = catalogue.get(eid).evaluate({"x": x, "score": s, "noise": z, "step_size": 0.2})
        np.testing.assert_allclose(got, x + a * s + b * z, rtol=1e-15)


def test_problems_are_fixed_and_consistent():
    a, b = problems(), problems()
    assert sorted(a) == ["gaussian", "mixture", "mlp", "quartic"]
    for name, p in a.items():
        q = b[name]
        np.testing.assert_array_equal(p.x, q.x)
        np.testing.assert_array_equal(p.noise, q.noise)
        assert p.x.shape == (32, 2) and p.x_model.shape == (24, 2)
        assert p.x_noise.shape == (64, 2) and p.projections.shape == (4, 32, 2)
        assert set(np.unique(p.projections)) == {-1.0, 1.0}
        assert np.all((p.uniform > 0) & (p.uniform < 1)) and p.labels.max() < len(p.sigmas)
        np.testing.assert_array_equal(p.energy(p.x), p.energy_of_theta(p.theta, p.x))
    w = a["mlp"].params
    assert w["W0"].shape == (16, 2) and w["W1"].shape == (16, 16) and w["W2"].shape == (1, 16)


def test_mlp_problem_is_refebm_mlp_energy():
    """The MLP written with nn.Linear-layout weights equals refebm's MLPEnergy given the
    transposed weights: the same energy computed two ways."""
    from refebm.energies import MLPEnergy

    p = problems()["mlp"]
    w = p.params
    e = MLPEnergy([(w["W0"].T, w["b0"]), (w["W1"].T, w["b1"]), (w["W2"].T, w["b2"])])
    np.testing.assert_allclose(e(p.x), p.energy(p.x), rtol=1e-14, atol=1e-15)


def test_problem_log_z_and_families():
    """The Gaussian's stored log Z (closed form) equals quadrature of its energy; the mixture's
    energy equals refebm's GaussianMixture (normalized, so log Z = 0)."""
    from refebm.families import GaussianMixture
    from refebm.partition import quadrature

    g = problems()["gaussian"]
    res = quadrature(g.energy, g.bounds, tol=1e-11)
    assert abs(float(res.log_z) - g.log_z) < 1e-9
    m = problems()["mixture"]
    fam = GaussianMixture(m.params["weights"], m.params["means"], m.params["covs"])
    np.testing.assert_allclose(fam.energy(m.x), m.energy(m.x), rtol=1e-13)
    np.testing.assert_allclose(np.exp(g.noise_log_prob(np.zeros((1, 2)))), 1 / (8 * np.pi))


def test_compare_and_result():
    t = Tolerance(1e-12, 0.0, "test")
    c = compare(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0 + 1e-13]), t)
    assert not c.equal and c.mismatches == 1 and c.worst_index == (1,)
    assert c.abs_error == 0.5 and c.rel_error == 0.25
    assert compare(np.ones(2), np.ones(3), t).mismatches == 2
    assert not compare(1.0, np.nan, t).equal
    with pytest.raises(ValueError, match="`status` must be one of"):
        CheckResult("x", "ok", 1.0, 1.0, tolerance=t)


def _docs_table():
    text = (ROOT / "docs" / "verify.md").read_text()
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\| `([A-Z0-9-]+)` \| (bug|convention) \| `(\w+)` \| (.*) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3), m.group(4).replace("&#124;", "|"),
                                m.group(5).replace("&#124;", "|"))
    return rows


def test_docs_catalogue_table_lists_every_entry_with_its_source():
    rows = _docs_table()
    assert set(rows) == {e.id for e in catalogue.ENTRIES}
    for e in catalogue.ENTRIES:
        assert rows[e.id] == (e.kind, e.quantity, e.description, e.source), e.id


def test_docs_page_in_nav():
    assert "verify.md" in (ROOT / "mkdocs.yml").read_text()


@pytest.mark.parametrize("module", ["_loss_checks", "_step_checks", "_problems", "_result",
                                    "catalogue", "_convert", "_adapters", "statistical",
                                    "_sections"])
def test_docstring_examples(module):
    """Every check's example (its output included) runs as written."""
    import doctest
    import importlib

    mod = importlib.import_module(f"refebm.testing.{module}")
    assert doctest.testmod(mod, raise_on_error=False).failed == 0


def test_every_check_docstring_has_math_entries_and_example():
    import refebm.testing as rt

    for name in rt.checks.__all__:
        doc = getattr(rt, name).__doc__
        assert "Math\n    ----" in doc and "Examples\n    --------" in doc, name
        assert re.search(r"\bD\d+\b", doc), name
        assert "Known entries" in doc, name
        quantity = name[len("check_"):]
        for e in catalogue.entries(quantity):
            assert e.id in doc, (name, e.id)
