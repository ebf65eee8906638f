"""The ``refebm`` command.

``refebm report`` prints one row per identity refebm checks about itself (closed forms against
quadrature, enumeration two ways, grad log Z three ways, every derivation chain) and exits 1 if
any row fails. ``refebm derivations`` prints each lecture derivation with the value of every
line and exits 1 if a chain breaks. ``refebm figures`` regenerates every figure of the docs
(``--list``, ``--only NAME``, ``--out DIR``, ``--fast``).
"""

from __future__ import annotations

import argparse
import sys


def _report(args) -> int:
    from .report import format_table, run_checks

    rows = run_checks(progress=args.progress)
    print(format_table(rows))
    failed = [r for r in rows if not r.passed]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} identities hold.")
    return 1 if failed else 0


def _derivations(args) -> int:
    from .derivations import all_chains, evaluate_chain, format_chain, wrong_forms

    broken = 0
    for chain in all_chains():
        result = evaluate_chain(chain)
        print(format_chain(result), end="\n\n")
        broken += not result.holds
    if args.wrong_forms:
        print("Deliberately wrong forms (each must break):\n")
        for chain in wrong_forms():
            result = evaluate_chain(chain)
            print(format_chain(result), end="\n\n")
            broken += result.holds
    print(f"{broken} chain(s) broken." if broken else "Every chain holds.")
    return 1 if broken else 0


def _figures(args) -> int:
    from .figures import FIGURES, make_figures

    if args.list:
        for spec in FIGURES.values():
            print(f"{spec.name:<22} {', '.join(spec.ids):<14} {spec.caption}")
        return 0
    made = make_figures(args.only, args.out, fast=args.fast, rng=args.seed, progress=True)
    for fig in made:
        for path in fig.paths:
            print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refebm",
        description="A reference implementation of energy-based-model mathematics.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="check every identity refebm relies on; exit 1 on failure")
    rep.add_argument("--progress", action="store_true", help="show a progress bar")
    rep.set_defaults(func=_report)
    der = sub.add_parser("derivations",
                         help="print each lecture derivation line by line; exit 1 if one breaks")
    der.add_argument("--wrong-forms", action="store_true",
                     help="also show the deliberately wrong forms (which must break)")
    der.set_defaults(func=_derivations)
    fig = sub.add_parser("figures", help="regenerate every figure of the docs")
    fig.add_argument("--only", nargs="+", metavar="NAME", default=None,
                     help="make only these figures (see --list)")
    fig.add_argument("--list", action="store_true", help="list the figures and exit")
    fig.add_argument("--out", default="figures", help="output folder (default: figures)")
    fig.add_argument("--fast", action="store_true", help="small, quick versions")
    fig.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    fig.set_defaults(func=_figures)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:  # bad names, unwritable folders: a message, not a trace
        parser.exit(2, f"refebm {args.command}: error: {exc}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
