"""The `refebm` command: every subcommand's output, exit codes and error messages; what
`--help` and `--version` import; the plain-text math of `report` and `derivations`."""

import json
import re
import subprocess
import sys

import pytest

from refebm import cli, derivations


def test_figures_list(capsys):
    assert cli.main(["figures", "--list"]) == 0
    out = capsys.readouterr().out
    assert "annealed_vs_plain" in out and "D18" in out


def test_figures_only_writes_the_named_figure(tmp_path, capsys):
    assert cli.main(["figures", "--only", "ratio", "--fast", "--out", str(tmp_path)]) == 0
    png = tmp_path / "ratio.png"
    assert png.stat().st_size > 0
    assert str(png) in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["ratio.png"]


def test_figures_unknown_name_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["figures", "--only", "nope", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "unknown figure 'nope'" in capsys.readouterr().err


def test_figures_unwritable_folder_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exc:
        cli.main(["figures", "--only", "ratio", "--out", str(blocker / "sub")])
    assert exc.value.code == 2
    assert "`out_dir`" in capsys.readouterr().err


def _tiny_chain(second_value):
    steps = (derivations.Step("a", lambda: 1.0), derivations.Step("b", lambda: second_value))
    return derivations.Chain("D0[toy]", "toy chain", steps)


def test_derivations_exit_status(monkeypatch, capsys):
    monkeypatch.setattr(derivations, "all_chains", lambda: [_tiny_chain(1.0)])
    monkeypatch.setattr(derivations, "wrong_forms", lambda: [_tiny_chain(2.0)])
    assert cli.main(["derivations", "--wrong-forms"]) == 0
    assert "Every chain holds and every wrong form breaks." in capsys.readouterr().out
    assert cli.main(["derivations"]) == 0
    assert capsys.readouterr().out.endswith("Every chain holds.\n")
    monkeypatch.setattr(derivations, "all_chains", lambda: [_tiny_chain(1.5)])
    assert cli.main(["derivations"]) == 1
    assert "1 chain(s) not as they must be." in capsys.readouterr().out
    monkeypatch.setattr(derivations, "all_chains", lambda: [_tiny_chain(1.0)])
    monkeypatch.setattr(derivations, "wrong_forms", lambda: [_tiny_chain(1.0)])
    assert cli.main(["derivations", "--wrong-forms"]) == 1  # a wrong form that holds is a failure


def test_derivations_wrong_form_must_break_clearly(monkeypatch, capsys):
    # A wrong form that differs from the truth by 1e-6 has not shown itself wrong: the rule is
    # a break by more than WRONG_FORM_MIN_BREAK (1e-3), far above rounding.
    monkeypatch.setattr(derivations, "all_chains", lambda: [_tiny_chain(1.0)])
    monkeypatch.setattr(derivations, "wrong_forms", lambda: [_tiny_chain(1.0 + 1e-6)])
    assert cli.main(["derivations", "--wrong-forms"]) == 1
    assert "should break by more than 0.001" in capsys.readouterr().out
    monkeypatch.setattr(derivations, "wrong_forms", lambda: [_tiny_chain(1.5)])
    assert cli.main(["derivations", "--wrong-forms"]) == 0
    out = capsys.readouterr().out
    assert "breaks by 0.333 at line 2, as it must" in out
    assert "Every chain holds and every wrong form breaks." in out


# ---------------------------------------------------------------------------------------------
# --version, --help, and what they import

def test_version(capsys):
    import refebm

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"refebm {refebm.__version__}"


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for word in ("report", "derivations", "figures", "--version"):
        assert word in out


HEAVY = ("numpy", "scipy", "scipy.stats", "matplotlib", "autograd", "tqdm")


@pytest.mark.parametrize("flag", ["--help", "--version", "report --help"])
def test_help_and_version_import_no_numerical_module(flag):
    # In a fresh interpreter, through the console script's entry point (refebm.cli:main), so
    # that no other test's imports hide an eager import. Import graph, not timing: --help is
    # fast because it never loads scipy.stats (about 3 s cold) or matplotlib.
    code = (
        "import sys\n"
        "from refebm.cli import main\n"
        "try:\n"
        f"    main({flag.split()!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "sys.stderr.write(repr(heavy))\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, f"{flag} imported {run.stderr}"


def test_import_refebm_is_lazy_but_complete():
    code = (
        "import sys, refebm\n"
        "assert 'numpy' not in sys.modules and 'refebm._backend' not in sys.modules\n"
        "assert refebm.get_backend() == 'numpy'\n"
        "assert callable(refebm.array_namespace) and callable(refebm.set_backend)\n"
        "from refebm import set_backend\n"
        "assert set(refebm.__all__) <= set(dir(refebm))\n"
        "assert refebm.families.Gaussian is not None\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr


# ---------------------------------------------------------------------------------------------
# report and derivations: 100 columns by default, --wide, --json, exit codes

WIDTH = 100


def _lines(text):
    return text.splitlines()


@pytest.fixture(scope="module")
def report_runs():
    """The three outputs of `refebm report` (computed once: each run evaluates every row)."""
    import contextlib
    import io

    outs = {}
    for flags in ((), ("--wide",), ("--json",)):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = cli.main(["report", *flags])
        outs[flags] = (code, buf.getvalue())
    return outs


def test_report_fits_100_columns_and_says_what_wrong_forms_do(report_runs):
    code, out = report_runs[()]
    assert code == 0
    too_wide = [line for line in _lines(out) if len(line) > WIDTH]
    assert not too_wide, too_wide
    assert "0e+00" not in out.split("Deliberately wrong forms")[1]
    wrong = [line for line in _lines(out) if line.startswith("wrong-")]
    assert wrong and all("as it must" in line for line in wrong)
    assert "Song & Kingma" in out and "seed 001" not in out
    assert out.rstrip().endswith("rows are as they must be.")


def test_report_wide_keeps_each_row_on_one_line(report_runs):
    from refebm import report

    code, out = report_runs[("--wide",)]
    assert code == 0
    for name, *_ in report.CHECKS:
        assert any(line.startswith(name) for line in _lines(out)), name


def test_report_json_has_every_row(report_runs):
    from refebm import report

    code, out = report_runs[("--json",)]
    assert code == 0
    doc = json.loads(out)
    rows = doc["rows"]
    assert [r["name"] for r in rows] == [entry[0] for entry in report.CHECKS]
    assert doc["failed"] == 0 and doc["passed"] == len(rows)
    keys = {"name", "kind", "ids", "derivation", "value", "reference", "error", "tol", "rule",
            "status", "result", "message"}
    for r in rows:
        assert set(r) == keys, r["name"]
        assert r["status"] == "pass" and r["value"] is not None and r["reference"] is not None
        assert all(re.fullmatch(r"D\d+", i) for i in r["ids"]), r["ids"]
        if r["kind"] == "wrong form":
            assert r["error"] > r["tol"] == derivations.WRONG_FORM_MIN_BREAK
            assert r["derivation"].startswith("wrong-") and "as it must" in r["result"]
        elif r["kind"] == "derivation":
            assert r["error"] <= r["tol"] and r["derivation"] in r["name"]
        else:
            assert r["kind"] == "identity" and r["derivation"] is None
            assert r["error"] <= r["tol"]
    kinds = {r["kind"] for r in rows}
    assert kinds == {"identity", "derivation", "wrong form"}


def test_report_exit_status_and_failing_rows(monkeypatch, capsys):
    from refebm import report

    def boom():
        raise RuntimeError("no value")

    monkeypatch.setattr(report, "_ROWS", [
        ("one = one", "D1", 1e-12, lambda: 0.0),
        ("off by a bit", "D1", 1e-12, lambda: 1e-6),
        ("raises", "D5", 1e-12, boom),
        ("wrong-x[toy]: a wrong form that holds", "D8", 1e-3, lambda: 1e-14, "wrong form",
         "wrong-x[toy]"),
    ])
    assert cli.main(["report"]) == 1
    out = capsys.readouterr().out
    assert "FAIL: breaks only by 1e-14 (must be > 0.001)" in out
    assert "RuntimeError: no value" in out
    assert "1 of 4 rows are as they must be; 3 FAIL." in out
    assert cli.main(["report", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in doc["rows"]] == ["pass", "FAIL", "FAIL", "FAIL"]
    assert doc["rows"][2]["error"] is None  # inf is not JSON: null, with the message
    with pytest.raises(SystemExit) as exc:
        cli.main(["report", "--json", "--wide"])
    assert exc.value.code == 2


@pytest.fixture(scope="module")
def derivation_runs():
    import contextlib
    import io

    outs = {}
    for flags in ((), ("--wide",), ("--json",)):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = cli.main(["derivations", "--wrong-forms", *flags])
        outs[flags] = (code, buf.getvalue())
    return outs


def test_derivations_fit_100_columns_as_plain_text(derivation_runs):
    code, out = derivation_runs[()]
    assert code == 0
    too_wide = [line for line in _lines(out) if len(line) > WIDTH]
    assert not too_wide, too_wide
    assert "\\" not in out  # no raw LaTeX
    assert "∇_θ log Z(θ)" in out
    assert out.count("as it must") == len(derivations.wrong_forms())
    assert "Every chain holds and every wrong form breaks." in out


def test_derivations_wide_keeps_the_latex(derivation_runs):
    code, out = derivation_runs[("--wide",)]
    assert code == 0
    for chain in derivations.all_chains()[:3]:
        for step in chain.steps:
            assert step.latex in out


def test_derivations_json_has_every_chain_and_line(derivation_runs):
    code, out = derivation_runs[("--json",)]
    assert code == 0
    doc = json.loads(out)
    chains = list(derivations.all_chains()) + list(derivations.wrong_forms())
    assert [c["id"] for c in doc["chains"]] == [c.id for c in chains]
    assert doc["failed"] == 0 and doc["passed"] == len(chains)
    n_right = len(derivations.all_chains())
    for k, (record, chain) in enumerate(zip(doc["chains"], chains)):
        assert record["expect"] == ("holds" if k < n_right else "breaks")
        assert record["status"] == "pass"
        assert [ln["latex"] for ln in record["lines"]] == [s.latex for s in chain.steps]
        assert record["lines"][0]["discrepancy"] is None
        assert all(isinstance(ln["text"], str) and "\\" not in ln["text"]
                   for ln in record["lines"])


# ---------------------------------------------------------------------------------------------
# the plain-text math

@pytest.mark.parametrize("latex, text, ascii_text", [
    (r"\nabla_\theta \log Z(\theta)", "∇_θ log Z(θ)", "grad_theta log Z(theta)"),
    (r"\frac{d}{2\sigma^2}", "d/(2σ²)", "d/(2sigma^2)"),
    (r"\tfrac12 \mathbb{E}_{p_\mathrm{data}}\|s\|^2", "1/2 E_(p_data)‖s‖²",
     "1/2 E_(p_data)||s||^2"),
    (r"\int\!\!\int p(x)\,p(y \mid x)\,dy\,dx", "∫∫ p(x) p(y | x) dy dx",
     "int int p(x) p(y | x) dy dx"),
    (r"\frac{\exp(f(x)) / Z}{\exp(f(x')) / Z}", "(exp(f(x)) / Z) / (exp(f(x')) / Z)",
     "(exp(f(x)) / Z) / (exp(f(x')) / Z)"),
    (r"\mathrm{tr}\,\Sigma^{-1}", "tr Σ⁻¹", "tr Sigma^(-1)"),
    (r"\frac{1}{Z(\theta)} \int", "1/Z(θ) ∫", "1/Z(theta) int"),
    (r"D^* = \frac{\nu p}{\nu p + q}", "D* = (ν p)/(ν p + q)", "D* = (nu p)/(nu p + q)"),
])
def test_latex_to_text(latex, text, ascii_text):
    assert derivations.latex_to_text(latex) == text
    assert derivations.latex_to_text(latex, ascii=True) == ascii_text
    assert derivations.latex_to_text(latex, ascii=True).isascii()


def test_latex_to_text_every_line_of_every_chain_is_readable():
    for chain in list(derivations.all_chains()) + list(derivations.wrong_forms()):
        for step in chain.steps:
            text = derivations.latex_to_text(step.latex)
            assert text and "\\" not in text and "{" not in text, (chain.id, text)
            assert derivations.latex_to_text(step.latex, ascii=True).isascii()


def test_format_chain_width_and_expect_are_checked():
    r = derivations.evaluate_chain(_tiny_chain(1.0))
    with pytest.raises(ValueError, match="`width` must be >= 40, got 20"):
        derivations.format_chain(r, width=20)
    with pytest.raises(ValueError, match="`expect` must be one of"):
        derivations.format_chain(r, expect="passes")
    with pytest.raises(TypeError, match="`latex` must be a string"):
        derivations.latex_to_text(3)


def test_math_falls_back_to_ascii_where_the_terminal_needs_it():
    import io

    latin1 = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    assert not cli._unicode_ok(latin1)
    assert cli._unicode_ok(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert cli._unicode_ok(io.StringIO())
    r = derivations.evaluate_chain(derivations.d8_log_partition_gradient(
        derivations.gaussian_1d()))
    text = derivations.format_chain(r, width=WIDTH, ascii=True)
    assert text.isascii() and "grad_theta log Z(theta)" in text
