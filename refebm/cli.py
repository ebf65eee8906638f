"""The ``refebm`` command.

``refebm report`` prints one row per identity refebm checks about itself (closed forms against
quadrature, enumeration two ways, grad log Z three ways, every derivation chain, and the
deliberately wrong forms, which must break) and exits 1 if any row is not as it must be.
``refebm derivations`` prints each lecture derivation with the value of every line and exits 1
if a chain breaks (or, with ``--wrong-forms``, if a wrong form fails to break). Both fit 100
columns by default, with the math as plain text; ``--wide`` prints the full text (raw LaTeX,
every digit, one row per line) and ``--json`` a JSON document with a record of every row.
``refebm figures`` regenerates every figure of the docs (``--list``, ``--only NAME``,
``--out DIR``, ``--fast``). ``refebm vectors --out DIR`` writes the golden test vectors, and
``refebm check RESULTS.json`` grades another implementation's values on them (exit 0 only when
every case passes or is allowed by ``--allow FILE``).

This module imports only the standard library at the top: the numerical modules are imported by
the subcommand that needs them, so ``refebm --help`` and ``refebm --version`` start at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

#: Columns the default text output fits in.
WIDTH = 100


def _version() -> str:
    from . import __version__

    return __version__


def _unicode_ok(stream) -> bool:
    """Whether ``stream`` can show the math symbols of the plain-text formulas."""
    encoding = getattr(stream, "encoding", None)
    if encoding is None:  # an in-memory text stream (io.StringIO) holds any character
        return True
    try:
        "∇θ∫∑‖²⁻¹σν·x̃".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def _print_json(document) -> None:
    """One JSON document on stdout; non-finite numbers are already ``null`` in the records."""
    json.dump(document, sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write("\n")


def _report(args) -> int:
    from .report import format_report, report_record, run_checks

    rows = run_checks(progress=args.progress)
    failed = [r for r in rows if not r.passed]
    if args.json:
        _print_json({"command": "report", "version": _version(), "passed": len(rows) - len(failed),
                     "failed": len(failed), "rows": [report_record(r) for r in rows]})
        return 1 if failed else 0
    print(format_report(rows, width=None if args.wide else WIDTH))
    print(f"\n{len(rows) - len(failed)} of {len(rows)} rows are as they must be"
          + (f"; {len(failed)} FAIL." if failed else "."))
    return 1 if failed else 0


def _derivations(args) -> int:
    from .derivations import all_chains, chain_record, chain_verdict, evaluate_chain, \
        format_chain, wrong_forms

    width = None if args.wide else WIDTH
    ascii_only = not _unicode_ok(sys.stdout)
    groups = [("holds", all_chains())]
    if args.wrong_forms:
        groups.append(("breaks", wrong_forms()))
    failed = 0
    records = []
    for expect, chains in groups:
        if expect == "breaks" and not args.json:
            print("Deliberately wrong forms (each must break by more than 1e-3):\n")
        for chain in chains:
            result = evaluate_chain(chain)
            ok, _ = chain_verdict(result, expect=expect)
            failed += not ok
            if args.json:
                records.append(chain_record(result, expect=expect))
            else:
                print(format_chain(result, width=width, expect=expect, ascii=ascii_only),
                      end="\n\n")
    if args.json:
        _print_json({"command": "derivations", "version": _version(),
                     "passed": len(records) - failed, "failed": failed, "chains": records})
    else:
        what = "chain holds" + (" and every wrong form breaks" if args.wrong_forms else "")
        print(f"{failed} chain(s) not as they must be." if failed else f"Every {what}.")
    return 1 if failed else 0


def _figures(args) -> int:
    from .figures import FIGURES, make_figures

    if args.list:
        import textwrap

        for spec in FIGURES.values():
            head = f"{spec.name:<22} {', '.join(spec.ids):<14} "
            print("\n".join(textwrap.wrap(spec.caption, WIDTH, initial_indent=head,
                                           subsequent_indent=" " * len(head))))
        return 0
    made = make_figures(args.only, args.out, fast=args.fast, rng=args.seed, progress=True)
    for fig in made:
        for path in fig.paths:
            print(path)
    return 0


def _vectors(args) -> int:
    from .vectors import load, write

    paths = write(args.out, seed=args.seed)
    for path in paths:
        print(path)
    if args.count:
        print(f"{sum(doc['numberOfTests'] for doc in load(args.out).values())} cases")
    return 0


def _read_allow(path):
    """Entry ids (or quantity names) allowed, one per line (``#`` comments) or a JSON list."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if text.lstrip().startswith("["):
        items = json.loads(text)
        if not all(isinstance(i, str) for i in items):
            raise ValueError(f"{path}: the allow list must hold strings (entry ids), got "
                             f"{items!r}")
        return set(items)
    return {line.split("#", 1)[0].strip() for line in text.splitlines()} - {""}


def _check(args) -> int:
    from .vectors import build, format_grades, grade, load, read_results

    vectors = load(args.vectors) if args.vectors else build()
    results, dtype = read_results(args.results)
    allow = _read_allow(args.allow) if args.allow else set()
    known = {e for doc in vectors.values() for e in doc["notes"]} | set(vectors)
    unknown = sorted(allow - known)
    if unknown:
        raise ValueError(f"{args.allow}: unknown entry ids or quantities {unknown}")
    grades, problems = grade(results, vectors, dtype=dtype, allow=allow)
    ok = all(g.ok for g in grades) and not problems
    if args.json:
        _print_json({"command": "check", "version": _version(), "dtype": dtype, "ok": ok,
                     "cases": [g.to_json() for g in grades], "problems": problems})
    else:
        print(format_grades(grades, problems, width=WIDTH))
    return 0 if ok else 1


def _add_output_options(sub):
    group = sub.add_mutually_exclusive_group()
    group.add_argument("--wide", action="store_true",
                       help=f"full text: raw LaTeX, every digit, no wrapping at {WIDTH} columns")
    group.add_argument("--json", action="store_true",
                       help="a JSON document with a record of every row, instead of the table")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refebm",
        description="A reference implementation of energy-based-model mathematics.")
    parser.add_argument("--version", action="version", version=f"refebm {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="check every identity refebm relies on; exit 1 on failure",
                         description="Check every identity refebm relies on, each computed two "
                                     "independent ways; exit 1 if a row fails.")
    rep.add_argument("--progress", action="store_true", help="show a progress bar")
    _add_output_options(rep)
    rep.set_defaults(func=_report)
    der = sub.add_parser("derivations",
                         help="print each lecture derivation line by line; exit 1 if one breaks",
                         description="Print each lecture derivation line by line, with the "
                                     "value of every line; exit 1 if one breaks.")
    der.add_argument("--wrong-forms", action="store_true",
                     help="also show the deliberately wrong forms (which must break)")
    _add_output_options(der)
    der.set_defaults(func=_derivations)
    fig = sub.add_parser("figures", help="regenerate every figure of the docs")
    fig.add_argument("--only", nargs="+", metavar="NAME", default=None,
                     help="make only these figures (see --list)")
    fig.add_argument("--list", action="store_true", help="list the figures and exit")
    fig.add_argument("--out", default="figures", help="output folder (default: figures)")
    fig.add_argument("--fast", action="store_true", help="small, quick versions")
    fig.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    fig.set_defaults(func=_figures)
    vec = sub.add_parser("vectors", help="write the golden test vectors (one JSON file per "
                                         "quantity)")
    vec.add_argument("--out", required=True, metavar="DIR", help="output folder")
    vec.add_argument("--seed", type=int, default=0, help="random seed of the inputs (default 0)")
    vec.add_argument("--count", action="store_true", help="also print the number of cases")
    vec.set_defaults(func=_vectors)
    chk = sub.add_parser("check", help="grade a results file {tcId: value} against the golden "
                                       "vectors; exit 1 unless every case passes",
                         description="Grade each case as PASSED, EQUIVALENT_CONVENTION, "
                                     "MATCHES_KNOWN_BUG, WRONG_RESULT or NOT_PROVIDED; exit 0 "
                                     "only when every case passes or is allowed.")
    chk.add_argument("results", metavar="RESULTS.json",
                     help="{tcId: value}, or {\"dtype\": \"float32\", \"results\": {...}}")
    chk.add_argument("--vectors", metavar="DIR", default=None,
                     help="folder written by `refebm vectors` (default: the vectors of this "
                          "version, built in memory)")
    chk.add_argument("--json", action="store_true", help="a JSON report instead of the table")
    chk.add_argument("--allow", metavar="FILE", default=None,
                     help="entry ids (deliberate conventions) or quantity names to accept, one "
                          "per line or a JSON list")
    chk.set_defaults(func=_check)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader stopped early (`refebm derivations | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, OSError) as exc:  # bad names, unwritable folders: a message, not a trace
        parser.exit(2, f"refebm {args.command}: error: {exc}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
