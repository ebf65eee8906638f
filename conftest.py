"""Run the code blocks of the docs pages and the README as tests (Sybil).

Every ```python block of ``docs/*.md``, ``docs/figures/*.md`` and ``README.md`` is executed, in
page order and in one namespace per page. What a block prints is compared with the ```output
block that follows it (only blank lines between the two):

- numbers are compared to the precision the page writes them with (Sybil's NUMBER doctest flag:
  ``0.901`` matches anything that prints within 1e-3 of it, ``2.1614286874386144`` anything
  within 1e-16), so a page states its tolerance by the digits it shows;
- runs of whitespace compare equal (NORMALIZE_WHITESPACE);
- a block that prints and has no output block after it fails, and so does an output block with
  no python block before it.

Shell blocks (```bash) are not run. ``<!-- skip: next -->`` (Sybil's skip directive) skips the
next block; no page uses it today.
"""

import contextlib
import doctest
import io
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from sybil import Region, Sybil  # noqa: E402
from sybil.evaluators.doctest import NUMBER, OutputChecker  # noqa: E402
from sybil.evaluators.python import pad  # noqa: E402
from sybil.parsers.markdown import SkipParser  # noqa: E402
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer  # noqa: E402

_FLAGS = NUMBER | doctest.NORMALIZE_WHITESPACE
_CHECKER = OutputChecker()


def _evaluate(example):
    """Run one python block, capturing stdout, and compare it with its output block."""
    __tracebackhide__ = True
    source, want = example.parsed
    if source is None:
        return "an ```output block must follow a ```python block (only blank lines between)"
    code = compile(pad(source, example.line + source.line_offset), example.path, "exec",
                   dont_inherit=True)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(code, example.namespace)
    example.namespace.pop("__builtins__", None)
    got = buffer.getvalue()
    if want is None:
        if got.strip():
            return ("the block prints, but no ```output block follows it to check what it "
                    f"prints; it printed:\n{got}")
        return None
    if _CHECKER.check_output(want, got, _FLAGS):
        return None
    return f"printed output differs from the page's output block:\nexpected:\n{want}\ngot:\n{got}"


class PythonWithOutputParser:
    """Pair each ```python block with the ```output block right after it, if any."""

    def __init__(self):
        self.lexer = FencedCodeBlockLexer(
            language=r"[^\n]*", mapping={"language": "language", "source": "source"})

    def __call__(self, document):
        regions = [r for r in self.lexer(document)
                   if r.lexemes["language"].strip() in ("python", "output")]
        used = set()
        for i, region in enumerate(regions):
            language = region.lexemes["language"].strip()
            if language == "python":
                following = regions[i + 1] if i + 1 < len(regions) else None
                if (following is not None
                        and following.lexemes["language"].strip() == "output"
                        and not document.text[region.end:following.start].strip()):
                    used.add(i + 1)
                    yield Region(region.start, following.end,
                                 parsed=(region.lexemes["source"],
                                         str(following.lexemes["source"])),
                                 evaluator=_evaluate)
                else:
                    yield Region(region.start, region.end,
                                 parsed=(region.lexemes["source"], None), evaluator=_evaluate)
            elif i not in used:
                yield Region(region.start, region.end, parsed=(None, None), evaluator=_evaluate)


def _setup(namespace):
    import numpy as np

    namespace["__refebm_printoptions__"] = np.get_printoptions()


def _teardown(namespace):
    import numpy as np

    np.set_printoptions(**namespace["__refebm_printoptions__"])


def pytest_configure(config):
    # The blocks of one page share a namespace, so under pytest-xdist (``-n 2``) they must run on
    # one worker: the default "load" distribution becomes "loadfile" (one file, one worker).
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadfile"


pytest_collect_file = Sybil(
    parsers=[PythonWithOutputParser(), SkipParser()],
    patterns=["docs/*.md", "docs/figures/*.md", "README.md"],
    setup=_setup,
    teardown=_teardown,
).pytest()
