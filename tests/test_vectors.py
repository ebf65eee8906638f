"""Golden vectors (refebm.vectors) and `refebm check`: the round trip through a plain script.

The plain script (tests/vectors_plain_script.py) does not import refebm: it computes every case
from the JSON alone, as a program in another language would. These tests are deterministic (the
vectors are built from a fixed seed; no random draws here).
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from refebm import vectors
from refebm.testing import catalogue

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "vectors_plain_script.py")


@pytest.fixture(scope="module")
def docs():
    return vectors.build()


@pytest.fixture(scope="module")
def vector_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("vectors")
    vectors.write(str(out))
    return str(out)


def _run(args, **kw):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, **kw)


def _plain(vector_dir, out, bug=None):
    args = [sys.executable, SCRIPT, vector_dir, str(out)] + (["--bug", bug] if bug else [])
    res = _run(args)
    assert res.returncode == 0, res.stderr
    with open(out) as fh:
        return json.load(fh)


def _refebm(*args):
    return _run([sys.executable, "-m", "refebm.cli", *args])


# -- the vectors themselves --------------------------------------------------------------------

def test_every_quantity_has_cases_and_ids_are_unique(docs):
    assert set(docs) == set(catalogue.QUANTITIES)
    ids = [t["tcId"] for d in docs.values() for g in d["testGroups"] for t in g["tests"]]
    assert len(ids) >= 60
    assert sorted(ids) == list(range(1, len(ids) + 1))
    for doc in docs.values():
        assert doc["numberOfTests"] == sum(len(g["tests"]) for g in doc["testGroups"]) >= 4
        assert set(doc["generatorVersion"]) == {"refebm", "numpy", "scipy"}
        for group in doc["testGroups"]:
            assert group["derivation"]["id"] in {f"D{i}" for i in range(1, 23)}


def test_every_catalogue_entry_is_defined_and_used(docs):
    """Every entry appears as a wrong form with its note, except the forms equal to refebm's
    value (conventions that give the same number, and CS236's step, which is the reference)."""
    used = {k for d in docs.values() for k in d["notes"]}
    missing = {e.id for e in catalogue.ENTRIES} - used
    assert missing == {e.id for e in catalogue.ENTRIES if e.equals_reference} | {
        "LANGEVIN-CS236"}
    for doc in docs.values():
        forms = {k for g in doc["testGroups"] for t in g["tests"] for k in t["wrongForms"]}
        assert forms == set(doc["notes"])
        for entry_id, note in doc["notes"].items():
            entry = catalogue.get(entry_id)
            assert note["kind"] == entry.kind and note["links"] == [entry.source]


def test_expected_equals_the_catalogue_reference_from_parts():
    """Two computations of every expected value: refebm's public functions (what the vectors
    hold) and the catalogue's formulas on the parts."""
    for quantity, comment, _, expected, parts in vectors.iter_cases():
        ref = catalogue.reference(quantity, parts)
        np.testing.assert_allclose(ref, expected, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{quantity}: {comment}")


# the quantities computed on every model family, and each family's parameter inputs
MODEL_QUANTITIES = ("score", "score_matching_loss", "sliced_score_matching_loss",
                    "hutchinson_trace", "denoising_score_matching_loss", "nce_loss",
                    "cd_gradient", "langevin_step", "mh_log_acceptance", "mala_step", "ksd")
PARAMS = {"quadratic_quartic": {"mean", "precision", "quartic"},
          "tanh_mlp": {"W0", "b0", "W1", "b1", "W2", "b2"},
          "gaussian_mixture": {"weights", "means", "covariances"}}


def _family_of(docs):
    return {t["tcId"]: t["inputs"].get("model") for d in docs.values() for t in _tests(d)}


def test_every_model_family_appears_in_each_model_quantity(docs):
    """One group per family, in MODEL_FAMILIES order; each case names its family with a string
    a program in any language can dispatch on, next to that family's parameters; the group's
    model text describes that family."""
    assert vectors.MODEL_FAMILIES == tuple(PARAMS)
    for quantity in MODEL_QUANTITIES:
        groups = docs[quantity]["testGroups"]
        assert len(groups) == len(vectors.MODEL_FAMILIES), quantity
        for family, group in zip(vectors.MODEL_FAMILIES, groups):
            assert group["tests"], (quantity, family)
            assert group["model"].startswith(f"model '{family}': E(x) = ")
            assert "score s(x)" in group["model"] and "grad_x s(x)" in group["model"]
            for t in group["tests"]:
                assert t["inputs"]["model"] == family
                assert PARAMS[family] <= set(t["inputs"]), (quantity, t["tcId"])
                others = set().union(*(PARAMS[f] for f in PARAMS if f != family))
                assert not others & set(t["inputs"]), (quantity, t["tcId"])
    for quantity in ("rhat", "ess", "ais_log_normalizer"):
        (group,) = docs[quantity]["testGroups"]
        assert "model" not in group
        assert all("model" not in t["inputs"] for t in group["tests"])
    for t in _tests(docs["log_partition"]):
        assert t["inputs"]["model"] == "quadratic_quartic"


def test_the_cd_gradient_names_theta_per_family(docs):
    groups = {g["tests"][0]["inputs"]["model"]: g for g in docs["cd_gradient"]["testGroups"]}
    assert groups["quadratic_quartic"]["derivation"]["formula"].endswith("theta = mean")
    assert "(W0, b0, W1, b1, W2, b2)" in groups["tanh_mlp"]["derivation"]["formula"]
    assert "log weights" in groups["gaussian_mixture"]["derivation"]["formula"]
    sizes = {"tanh_mlp": 16 * 2 + 16 + 16 * 16 + 16 + 16 + 1, "gaussian_mixture": 2 + 4}
    for family, size in sizes.items():
        for t in groups[family]["tests"]:
            assert t["expected"]["shape"] == [size]


def test_earlier_cases_keep_their_ids(docs):
    """Every file's first group (the quadratic-plus-quartic cases, or the only group) is
    numbered 1..N in quantity order; the other families' cases come after, in the same
    order, so adding a family does not renumber the earlier cases."""
    first = [t["tcId"] for d in docs.values() for t in d["testGroups"][0]["tests"]]
    rest = [t["tcId"] for d in docs.values() for g in d["testGroups"][1:] for t in g["tests"]]
    assert first == list(range(1, len(first) + 1))
    assert rest == list(range(len(first) + 1, len(first) + len(rest) + 1))
    assert len(first) == 67 and len(rest) == 26
    assert docs["score_matching_loss"]["testGroups"][0]["tests"][2]["tcId"] == 7


def _tests(doc):
    return [t for g in doc["testGroups"] for t in g["tests"]]


def test_wrong_forms_differ_from_expected(docs):
    for doc in docs.values():
        for t in _tests(doc):
            e = vectors.decode(t["expected"])
            tol = t["tolerance"]["float64"]
            for entry_id, enc in t["wrongForms"].items():
                w = vectors.decode(enc)
                assert w.shape != e.shape or np.any(
                    np.abs(w - e) > tol["atol"] + tol["rtol"] * np.abs(e)), entry_id


def test_values_round_trip_exactly(docs):
    for doc in docs.values():
        for t in _tests(doc):
            for obj in [t["expected"], *t["inputs"].values(), *t["wrongForms"].values()]:
                if isinstance(obj, dict):
                    hexed = vectors.decode(obj).ravel()
                    decimal = np.array(obj["values"], dtype=np.float64)
                    assert np.array_equal(hexed, decimal)
    x = np.array([0.1, 1 / 3, 5e-324, -2.0**-1074, 1.7976931348623157e308])
    enc = vectors.encode(x)
    assert np.array_equal(vectors.decode(json.loads(json.dumps(enc))), x)


def test_write_and_load_round_trip(docs, vector_dir):
    loaded = vectors.load(vector_dir)
    assert json.loads(json.dumps(docs)) == loaded
    one = vectors.load(os.path.join(vector_dir, "ksd_test.json"))
    assert one["quantity"] == "ksd"


def test_schema_validates_the_vectors(docs, vector_dir):
    jsonschema = pytest.importorskip("jsonschema")
    sch = vectors.schema()
    jsonschema.Draft202012Validator.check_schema(sch)
    for doc in docs.values():
        jsonschema.validate(doc, sch)
    with open(os.path.join(vector_dir, vectors.SCHEMA_NAME)) as fh:
        assert json.load(fh) == sch
    bad = json.loads(json.dumps(docs["score"]))
    bad["testGroups"][0]["tests"][0]["tcId"] = "one"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, sch)
    bad = json.loads(json.dumps(docs["score"]))
    bad["testGroups"][1]["tests"][0]["inputs"]["model"] = "resnet"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, sch)


def test_load_rejects_other_files(tmp_path):
    p = tmp_path / "x_test.json"
    p.write_text('{"schema": "other"}')
    with pytest.raises(ValueError, match="not a refebm vector file"):
        vectors.load(str(p))
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        vectors.load(str(p))
    with pytest.raises(ValueError, match="holds no"):
        vectors.load(str(tmp_path / ".."))


# -- the round trip ----------------------------------------------------------------------------

def test_plain_script_does_not_use_refebm():
    """The plain script is the independent computation: NumPy, SciPy's ndtri and the JSON."""
    with open(SCRIPT) as fh:
        source = fh.read()
    assert "refebm" not in "".join(line for line in source.splitlines()
                                   if line.startswith(("import", "from")))
    assert "autograd" not in source and "jax" not in source and "torch" not in source


def test_plain_script_passes_refebm_check(vector_dir, tmp_path):
    _plain(vector_dir, tmp_path / "r.json")
    res = _refebm("check", str(tmp_path / "r.json"), "--vectors", vector_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines)
    assert "every case passes or is allowed" in lines[-1]
    assert "WRONG_RESULT" not in res.stdout and "NOT_PROVIDED" not in res.stdout


@pytest.mark.parametrize("bug, quantity", [
    ("SCORE-SIGN", "score"), ("SM-HALF-MISSING", "score_matching_loss"),
    ("LANGEVIN-NOISE-STEP", "langevin_step"), ("MALA-NO-ACCEPT", "mala_step"),
    ("RHAT-CLASSIC", "rhat"), ("KSD-V-STATISTIC", "ksd"),
    ("AIS-SUMMED-WEIGHTS", "ais_log_normalizer")])
def test_planted_bug_is_named(docs, vector_dir, tmp_path, bug, quantity):
    results = _plain(vector_dir, tmp_path / "r.json", bug)
    grades, problems = vectors.grade(results, vector_dir)
    assert not problems
    hit = [g for g in grades if g.quantity == quantity]
    assert any(g.status == "MATCHES_KNOWN_BUG" and bug in g.ids for g in hit)
    assert all(g.status in ("PASSED", "MATCHES_KNOWN_BUG") for g in hit)
    assert all(g.status == "PASSED" for g in grades if g.quantity != quantity)
    for g in hit:
        if g.status == "MATCHES_KNOWN_BUG":
            assert g.links == tuple(catalogue.get(i).source for i in g.ids)
    if quantity in MODEL_QUANTITIES:   # named on the cases of every model family
        family = _family_of(docs)
        named = {family[g.tc_id] for g in hit if bug in g.ids}
        assert named == set(vectors.MODEL_FAMILIES)


def test_planted_convention_is_named(vector_dir, tmp_path):
    """The multi-scale DSM averaged over every level where one level per point is asked: an
    equivalent convention, named, and allowed by an allow file."""
    results = _plain(vector_dir, tmp_path / "r.json", "DSM-LEVEL-AVERAGE")
    grades, problems = vectors.grade(results, vector_dir)
    assert not problems
    hit = [g for g in grades if g.status != "PASSED"]
    assert len(hit) == 1 and hit[0].quantity == "denoising_score_matching_loss"
    assert hit[0].status == "EQUIVALENT_CONVENTION" and hit[0].ids == ("DSM-LEVEL-AVERAGE",)
    grades, _ = vectors.grade(results, vector_dir, allow=("DSM-LEVEL-AVERAGE",))
    assert all(g.ok for g in grades)


def test_planted_bug_fails_the_command(vector_dir, tmp_path):
    _plain(vector_dir, tmp_path / "r.json", "SM-HALF-MISSING")
    res = _refebm("check", str(tmp_path / "r.json"), "--vectors", vector_dir)
    assert res.returncode == 1
    assert "SM-HALF-MISSING" in res.stdout and "MATCHES_KNOWN_BUG" in res.stdout
    res = _refebm("check", str(tmp_path / "r.json"), "--vectors", vector_dir, "--json")
    report = json.loads(res.stdout)
    assert res.returncode == 1 and report["ok"] is False
    bad = [c for c in report["cases"] if c["status"] != "PASSED"]
    assert bad and all(c["ids"] == ["SM-HALF-MISSING"] for c in bad)


def test_convention_is_named_and_can_be_allowed(vector_dir, tmp_path):
    _plain(vector_dir, tmp_path / "r.json", "LANGEVIN-TFP")
    res = _refebm("check", str(tmp_path / "r.json"), "--vectors", vector_dir)
    assert res.returncode == 1
    assert "EQUIVALENT_CONVENTION" in res.stdout and "LANGEVIN-TFP" in res.stdout
    grades, _ = vectors.grade(json.loads((tmp_path / "r.json").read_text()), vector_dir)
    family = _family_of(vectors.load(vector_dir))
    named = {family[g.tc_id] for g in grades if g.ids == ("LANGEVIN-TFP",)}
    assert named == set(vectors.MODEL_FAMILIES)
    assert all(g.status == "PASSED" for g in grades if g.quantity != "langevin_step")
    allow = tmp_path / "allow.txt"
    allow.write_text("# we write TFP's step on purpose\nLANGEVIN-TFP\n")
    res = _refebm("check", str(tmp_path / "r.json"), "--vectors", vector_dir, "--allow",
                  str(allow))
    assert res.returncode == 0, res.stdout
    assert "allowed: LANGEVIN-TFP" in res.stdout
    allow.write_text('["NO-SUCH-ID"]')
    res = _refebm("check", str(tmp_path / "r.json"), "--vectors", vector_dir, "--allow",
                  str(allow))
    assert res.returncode == 2 and "NO-SUCH-ID" in res.stderr


def test_float32_results_use_the_float32_tolerance(vector_dir, tmp_path):
    results = _plain(vector_dir, tmp_path / "r.json")
    as32 = {k: np.asarray(v, dtype=np.float32).astype(np.float64).tolist()
            for k, v in results.items()}
    grades, _ = vectors.grade(as32, vector_dir, dtype="float32")
    assert all(g.status == "PASSED" for g in grades)
    grades64, _ = vectors.grade(as32, vector_dir)
    assert any(g.status != "PASSED" for g in grades64)
    path = tmp_path / "r32.json"
    path.write_text(json.dumps({"dtype": "float32", "results": as32}))
    assert _refebm("check", str(path), "--vectors", vector_dir).returncode == 0


# -- bad results files -------------------------------------------------------------------------

def test_bad_values_name_the_case(vector_dir, tmp_path):
    results = _plain(vector_dir, tmp_path / "r.json")
    results["1"] = [[float("nan")] * 1] * 3
    results["5"] = "zero"
    results["9"] = [1.0, 2.0, 3.0]            # a scalar case given a vector
    results["999"] = 1.0
    results["x"] = 1.0
    del results["12"]
    grades, problems = vectors.grade(results, vector_dir)
    by = {g.tc_id: g for g in grades}
    assert by[1].status == "WRONG_RESULT" and "case 1" in by[1].detail and "NaN" in by[1].detail
    assert by[5].status == "WRONG_RESULT" and "case 5" in by[5].detail
    assert by[9].status == "WRONG_RESULT" and "case 9: shape (3,)" in by[9].detail
    assert by[12].status == "NOT_PROVIDED"
    assert any("case 999" in p for p in problems) and any("'x'" in p for p in problems)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(results).replace("NaN", "null"))
    res = _refebm("check", str(path), "--vectors", vector_dir)
    assert res.returncode == 1 and "case 999" in res.stdout


def test_hex_float_strings_are_read(vector_dir, tmp_path):
    results = _plain(vector_dir, tmp_path / "r.json")
    hexed = {k: [float(v).hex() for v in np.ravel(val)] if np.ndim(val) else float(val).hex()
             for k, val in results.items()}
    hexed = {k: (np.array([float.fromhex(h) for h in v]).reshape(np.shape(results[k])).tolist()
                 if isinstance(v, list) else v) for k, v in hexed.items()}
    grades, _ = vectors.grade(hexed, vector_dir)
    assert all(g.status == "PASSED" for g in grades)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"), ("[1, 2]", "must hold a JSON object"),
    ('{"dtype": "float16", "results": {}}', "`dtype` must be")])
def test_malformed_results_files(vector_dir, tmp_path, text, message):
    path = tmp_path / "r.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        vectors.read_results(str(path))
    res = _refebm("check", str(path), "--vectors", vector_dir)
    assert res.returncode == 2 and message.replace("`", "") in res.stderr.replace("`", "")


def test_nothing_in_the_results_is_executed(vector_dir, tmp_path):
    marker = tmp_path / "pwned"
    results = {"1": f"__import__('os').mkdir({str(marker)!r})"}
    grades, _ = vectors.grade(results, vector_dir)
    assert grades[0].status == "WRONG_RESULT" and "is not a number" in grades[0].detail
    assert not marker.exists()


def test_help_lists_the_subcommands():
    res = _refebm("--help")
    assert res.returncode == 0 and "vectors" in res.stdout and "check" in res.stdout
    res = _refebm("vectors", "--help")
    assert "--out" in res.stdout


def test_vectors_command_writes_the_files(tmp_path):
    res = _refebm("vectors", "--out", str(tmp_path / "v"), "--count")
    assert res.returncode == 0, res.stderr
    names = sorted(os.listdir(tmp_path / "v"))
    assert len([n for n in names if n.endswith("_test.json")]) == len(catalogue.QUANTITIES)
    assert vectors.SCHEMA_NAME in names
    n = int(res.stdout.split()[-2])
    assert n >= 60 and math.isfinite(n)


def test_check_without_vectors_builds_this_versions_vectors(vector_dir, tmp_path):
    _plain(vector_dir, tmp_path / "r.json")
    res = _refebm("check", str(tmp_path / "r.json"), "--json")
    report = json.loads(res.stdout)
    assert res.returncode == 0 and report["ok"] and len(report["cases"]) >= 60
