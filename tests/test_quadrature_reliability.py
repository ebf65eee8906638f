"""The quadrature's error estimate over random problems with known log Z (D1, D5).

A small version of ``benchmarks/bench_quadrature_reliability.py`` (the same problem classes
and grading, a few hundred problems): no result may be off by more than ``tol`` while being
returned as converged (quiet wrong), and no problem the rule had already resolved may raise
(false alarm). The problems come from the suite's seed helper, so ``REFEBM_TEST_SEED=k`` draws
fresh ones; the claim is deterministic (an error bound), not statistical, so it must hold for
every draw.
"""

import importlib.util
import pathlib

import pytest

from seeding import make_rng

_PATH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "bench_quadrature_reliability.py"
_spec = importlib.util.spec_from_file_location("bench_quadrature_reliability", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# (class, problems, tolerances): every one-dimensional class at every tolerance, fewer of the
# costlier multi-dimensional ones
PLAN = [
    ("gauss1", 40, bench.TOLS),
    ("mixture1", 30, bench.TOLS),
    ("gamma", 40, bench.TOLS),
    ("beta", 40, bench.TOLS),
    ("shifted", 12, (1e-4, 1e-8, 1e-12)),
    ("gauss2", 10, (1e-4, 1e-10)),
    ("mixture2", 6, (1e-6,)),
    ("gauss3", 3, (1e-8,)),
]


@pytest.mark.parametrize("kind, n, tols", PLAN, ids=[p[0] for p in PLAN])
def test_no_quiet_wrong_results_and_no_false_alarms(kind, n, tols):
    rng = make_rng("quadrature-reliability", kind)
    bad = []
    for _ in range(n):
        problem = bench.problem(kind, rng)
        for tol in tols:
            outcome = bench.grade(problem, tol)
            if outcome.grade in ("quiet_wrong", "false_alarm", "warned"):
                bad.append((outcome.grade, tol, outcome.true_error, outcome.reported,
                            outcome.message, problem.params))
    assert not bad, f"{len(bad)} bad outcomes, first: {bad[0]}"


def test_the_grading_sees_a_quiet_wrong_result():
    """The grader itself: a result off by more than tol is called quiet wrong."""
    problem = bench.problem("gauss1", make_rng("grader"))
    wrong = problem._replace(truth=problem.truth + 1e-3)
    assert bench.grade(wrong, 1e-6).grade == "quiet_wrong"
