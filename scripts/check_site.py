"""Check a built docs site for what ``mkdocs build --strict`` lets through.

    python scripts/check_site.py SITE_DIR

Fails (exit 1, one line per finding) when the rendered text of a page, outside code listings
(``<pre>``, where the API pages show each function's source), holds

- a raw Sphinx role (``:func:`x```, ``:class:``, ``:mod:``, ``:meth:``, ``:attr:``, ``:data:``,
  ``:obj:``, ``:exc:``), which mkdocstrings does not resolve;
- an unresolved cross-reference: ``[text][refebm.x]`` left as text, or an ``<autoref>`` element;
- an RST table (a line of ``=====  =====``);
- math in the navigation or table of contents on a page that does not load
  ``javascripts/mathjax.js`` (which typesets those entries).

It also fails when no page holds math for MathJax (the arithmatex spans), so a broken math
setup does not pass as "nothing to check".
"""

import pathlib
import re
import sys

ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc):(?:`|<code)")
UNRESOLVED = re.compile(r"\]\[(?:refebm|~?refebm)[\w.]*\]|<autoref\b")
RST_TABLE = re.compile(r"^\s*={3,}(?: +={3,})+\s*$", re.M)
PRE = re.compile(r"<pre\b.*?</pre>", re.S)
NAV_LINK = re.compile(r'<a\b[^>]*class="md-nav__link[^"]*"[^>]*>(.*?)</a>', re.S)


def check(site):
    site = pathlib.Path(site)
    pages = sorted(site.rglob("*.html"))
    problems = []
    math_pages = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        text = PRE.sub("", html)
        name = page.relative_to(site)
        for pattern, what in ((ROLE, "raw Sphinx role"), (UNRESOLVED, "unresolved cross-reference"),
                              (RST_TABLE, "RST table")):
            for m in pattern.finditer(text):
                snippet = text[max(0, m.start() - 60):m.end() + 40].replace("\n", " ")
                problems.append(f"{name}: {what}: ...{snippet}...")
        if 'class="arithmatex"' in html:
            math_pages += 1
        nav_math = [m.group(1) for m in NAV_LINK.finditer(html) if "\\(" in m.group(1)]
        if nav_math and "javascripts/mathjax.js" not in html:
            problems.append(f"{name}: math in the navigation without javascripts/mathjax.js")
    if not pages:
        problems.append(f"{site}: no HTML pages")
    elif math_pages == 0:
        problems.append(f"{site}: no page holds math for MathJax (arithmatex)")
    return problems, len(pages), math_pages


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems, n_pages, math_pages = check(argv[1])
    for p in problems:
        print(p)
    print(f"check_site: {n_pages} pages, {math_pages} with math, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
