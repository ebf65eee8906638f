"""The docs machinery: the checker of printed output (the repository's conftest.py, which runs
every docs and README code block under Sybil), the docstrings' cross-reference syntax, and the
check of the built site (scripts/check_site.py on a strict mkdocs build, whenever mkdocs is
installed)."""

import importlib.util
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_conftest = _load("refebm_docs_conftest", ROOT / "conftest.py")
check_site = _load("refebm_check_site", ROOT / "scripts" / "check_site.py")


def _run_page(tmp_path, text):
    """Evaluate every block of a Markdown page as the suite does; the failures, as text."""
    from sybil import Sybil
    from sybil.example import SybilFailure

    page = tmp_path / "page.md"
    page.write_text(text)
    sybil = Sybil(parsers=[docs_conftest.PythonWithOutputParser()], path=str(tmp_path))
    document = sybil.parse(page)
    failures = []
    for example in document.examples():
        try:
            example.evaluate()
        except SybilFailure as failure:
            failures.append(str(failure))
    return failures


FENCE = "```"


def _page(code, output=None):
    text = f"{FENCE}python\n{code}\n{FENCE}\n"
    if output is not None:
        text += f"\n{FENCE}output\n{output}\n{FENCE}\n"
    return text


def test_output_block_must_match_what_the_block_prints(tmp_path):
    assert _run_page(tmp_path, _page("print(1 / 3, [1, 2])", "0.3333333333333333 [1, 2]")) == []
    failures = _run_page(tmp_path, _page("print(1 / 3)", "0.3335"))
    assert len(failures) == 1 and "differs" in failures[0]


def test_numbers_are_compared_to_the_digits_the_page_shows(tmp_path):
    # 0.333 stands for anything within 1e-3 of it (Sybil's NUMBER flag): 1/3 and 0.3339 pass,
    # 0.3345 does not; whitespace runs compare equal (NumPy's column padding).
    assert _run_page(tmp_path, _page("print(1 / 3)", "0.333")) == []
    assert _run_page(tmp_path, _page("print(0.3339)", "0.333")) == []
    assert len(_run_page(tmp_path, _page("print(0.3345)", "0.333"))) == 1
    assert _run_page(tmp_path, _page("print('[1.    0.5 ]')", "[1. 0.5 ]")) == []
    assert len(_run_page(tmp_path, _page("print(2, 3)", "2 4"))) == 1


def test_printing_without_an_output_block_fails_and_silence_passes(tmp_path):
    failures = _run_page(tmp_path, _page("print(42)"))
    assert len(failures) == 1 and "no ```output block" in failures[0]
    assert _run_page(tmp_path, _page("x = 42")) == []
    orphan = f"{FENCE}output\n42\n{FENCE}\n"
    failures = _run_page(tmp_path, orphan)
    assert len(failures) == 1 and "must follow a ```python block" in failures[0]


def test_blocks_of_one_page_share_a_namespace_in_order(tmp_path):
    text = _page("x = 21") + "\nSome text.\n\n" + _page("print(2 * x)", "42")
    assert _run_page(tmp_path, text) == []


def test_every_docs_page_and_the_readme_are_collected():
    # The pattern of conftest.py against the files on disk: every page with a python block.
    pages = sorted(p.relative_to(ROOT).as_posix() for p in [ROOT / "README.md",
                   *(ROOT / "docs").glob("*.md"), *(ROOT / "docs" / "figures").glob("*.md")])
    with_code = [p for p in pages if f"{FENCE}python" in (ROOT / p).read_text()]
    assert "README.md" in with_code and "docs/index.md" in with_code
    import fnmatch

    patterns = ["docs/*.md", "docs/figures/*.md", "README.md"]
    assert all(any(fnmatch.fnmatch(p, pat) for pat in patterns) for p in with_code)


ROLE_IN_SOURCE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc):`")
RST_TABLE = re.compile(r"^\s*={3,}(?: +={3,})+\s*$", re.M)


def _sources():
    return sorted((ROOT / "refebm").rglob("*.py"))


def test_docstrings_use_mkdocstrings_cross_references_not_sphinx_roles():
    found = [f"{p.relative_to(ROOT)}:{p.read_text()[:m.start()].count(chr(10)) + 1}: {m.group(0)}"
             for p in _sources() for m in ROLE_IN_SOURCE.finditer(p.read_text())]
    assert found == [], ("write [`name`][refebm.module.name] instead of a Sphinx role:\n"
                         + "\n".join(found))


def test_docstrings_have_markdown_tables_not_rst_tables():
    found = [str(p.relative_to(ROOT)) for p in _sources() if RST_TABLE.search(p.read_text())]
    assert found == []


def test_check_site_flags_raw_roles_unresolved_references_and_tables(tmp_path):
    good = tmp_path / "good"
    (good / "a").mkdir(parents=True)
    (good / "a" / "index.html").write_text(
        '<p>See <a href="x">quadrature</a> <span class="arithmatex">\\(x\\)</span></p>'
        '<pre><code>:func:`kept in source listings`  [x][refebm.y]</code></pre>')
    assert check_site.check(good)[0] == []
    bad = tmp_path / "bad"
    (bad / "b").mkdir(parents=True)
    (bad / "b" / "index.html").write_text(
        '<p>:func:<code>quadrature</code> and [<code>ess</code>][refebm.diagnostics.ess]</p>'
        '<p>=====  =====</p><span class="arithmatex">\\(x\\)</span>'
        '<a class="md-nav__link" href="#t">Title \\(x\\)</a>')
    problems = check_site.check(bad)[0]
    kinds = sorted({p.split(": ")[1] for p in problems})
    assert kinds == ["math in the navigation without javascripts/mathjax.js", "raw Sphinx role",
                     "unresolved cross-reference"]
    assert check_site.check(tmp_path / "empty")[0] != []


@pytest.mark.skipif(shutil.which("mkdocs") is None,
                    reason="mkdocs is not installed (the docs extra: pip install -e '.[docs]')")
def test_built_site_has_no_raw_roles_unresolved_references_or_raw_math(tmp_path):
    site = tmp_path / "site"
    subprocess.run(["mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT, check=True,
                   capture_output=True)
    problems, n_pages, math_pages = check_site.check(site)
    assert problems == [] and n_pages > 20 and math_pages > 10


def test_check_site_script_runs():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_site.py")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "check_site.py SITE_DIR" in out.stdout
