r"""How often is refebm.partition.quadrature wrong without saying so? (D1, D5)

Draws random problems whose log Z is known in closed form, runs the rule at every tolerance in
``--tols``, and grades each run:

- ``within``: returned, and ``|log_z - truth| <= tol + slack``;
- ``quiet_wrong``: returned, and off by more than that (the goal is 0);
- ``raised``: raised ``IntegrationError`` where that was right (the estimate it had was off by
  more than ``tol``, or ``tol`` is below the float64 resolution of this log Z);
- ``below_resolution``: raised saying ``tol`` is below the float64 resolution of this log Z
  (the rounding of node positions crowded where the mass is, as near a singular non-zero end)
  where the simpler test below called ``tol`` reachable; the line gives the median and largest
  ratio of the resolution the rule stated to the error its estimate actually had;
- ``false_alarm``: any other raise although its last estimate was already within ``tol`` of the
  truth and ``tol`` was reachable in float64 (the goal is 0);
- ``warned``: returned with a warning.

``slack = 8 eps (1 + |truth|)`` (plus ``d eps cond(Sigma)`` for a Gaussian, whose precision
matrix is a float64 inverse) allows for the rounding of the closed form itself; "reachable"
means ``tol >= 2 slack``. For returned results the line also gives the median and
worst ratio of the true error (less the slack) to the reported error, and the time.

Classes (``--n`` problems each):

- ``gauss1``, ``gauss2``, ``gauss3``: N(mu, Sigma) on R^d, Sigma = Q diag(lambda) Q^T with a random
  rotation, condition number 10^U(0, 4), variances 10^U(-1, 1) times that spread, and mu at a
  Mahalanobis distance U(0, 10) from the origin;
- ``mixture1``, ``mixture2``: 2 or 3 Gaussian components in d = 1, 2 with means in [-3, 3]^d,
  standard deviations in [0.5, 2] and Dirichlet(2) weights, written as a plain function (no
  ``points``): modes the initial grid resolves;
- ``gamma``: Gamma(a, b) on (0, inf), a in [0.3, 5] (singular at 0 for a < 1), b = 10^U(-1, 1);
- ``beta``: Beta(a, b) on (c, c + w), a, b in [0.3, 5] (singular ends), c = 0 or U(-5, 5),
  w = 10^U(-1, 1);
- ``shifted``: ``gauss1``/``gauss2`` problems with the energy shifted by +-10^U(2, 4).

Run: ``python benchmarks/bench_quadrature_reliability.py [--n 1250] [--seed 0] [--workers 2]``
(the default, 10,000 problems at five tolerances, takes tens of minutes on two cores).
Not a test; ``tests/test_quadrature_reliability.py`` runs a small version of it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from typing import NamedTuple

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from scipy.special import betaln, gammaln, logsumexp  # noqa: E402

import refebm  # noqa: E402
from refebm.partition import IntegrationError, quadrature  # noqa: E402

TOLS = (1e-4, 1e-6, 1e-8, 1e-10, 1e-12)
CLASSES = ("gauss1", "mixture1", "gamma", "beta", "shifted", "gauss2", "mixture2", "gauss3")
EPS = np.finfo(float).eps


class Problem(NamedTuple):
    kind: str
    params: dict
    bounds: list
    truth: float


# ----------------------------------------------------------------------------------------------
# Problems (parameters only, so they travel to worker processes).

def _gaussian_params(rng, d):
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    cond = 10.0 ** rng.uniform(0, 4)
    spread = np.concatenate([[0.0, 1.0], rng.uniform(0, 1, size=d - 2)])[:d] if d > 1 else [0.0]
    lam = 10.0 ** rng.uniform(-1, 1) * cond ** np.asarray(spread)
    cov = (Q * lam) @ Q.T
    cov = 0.5 * (cov + cov.T)
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    mean = np.linalg.cholesky(cov) @ (direction * rng.uniform(0, 10))
    truth = 0.5 * d * math.log(2 * math.pi) + 0.5 * np.linalg.slogdet(cov)[1]
    return {"mean": mean, "precision": np.linalg.inv(cov), "shift": 0.0,
            "cond": float(np.linalg.cond(cov))}, truth


def problem(kind, rng):
    """One random problem of class ``kind`` drawn with generator ``rng``."""
    if kind.startswith("gauss"):
        d = int(kind[-1])
        params, truth = _gaussian_params(rng, d)
        return Problem("gauss", params, [(-np.inf, np.inf)] * d, truth)
    if kind == "shifted":
        d = int(rng.integers(1, 3))
        params, truth = _gaussian_params(rng, d)
        params["shift"] = float(rng.choice([-1.0, 1.0]) * 10.0 ** rng.uniform(2, 4))
        return Problem("gauss", params, [(-np.inf, np.inf)] * d, truth - params["shift"])
    if kind.startswith("mixture"):
        d = int(kind[-1])
        k = int(rng.integers(2, 4))
        params = {"log_w": np.log(rng.dirichlet([2.0] * k)),
                  "means": rng.uniform(-3, 3, size=(k, d)),
                  "sds": rng.uniform(0.5, 2.0, size=(k, d))}
        return Problem("mixture", params, [(-np.inf, np.inf)] * d, 0.0)
    if kind == "gamma":
        a, b = rng.uniform(0.3, 5.0), 10.0 ** rng.uniform(-1, 1)
        return Problem("gamma", {"a": a, "b": b}, [(0.0, np.inf)],
                       float(gammaln(a) - a * math.log(b)))
    if kind == "beta":
        a, b = rng.uniform(0.3, 5.0, size=2)
        c = 0.0 if rng.uniform() < 0.5 else float(rng.uniform(-5, 5))
        w = 10.0 ** rng.uniform(-1, 1)
        return Problem("beta", {"a": a, "b": b, "c": c, "w": w}, [(c, c + w)],
                       float(betaln(a, b) + (a + b - 1) * math.log(w)))
    raise ValueError(f"unknown class {kind!r}")


def energy_of(p):
    """The energy of problem ``p`` (plain NumPy, as a user would write it)."""
    q = p.params
    if p.kind == "gauss":
        mean, prec, shift = q["mean"], q["precision"], q["shift"]
        return lambda x: 0.5 * np.einsum("ni,ij,nj->n", x - mean, prec, x - mean) + shift
    if p.kind == "mixture":
        log_w, means, sds = q["log_w"], q["means"], q["sds"]

        def energy(x):
            z = (x[:, None, :] - means) / sds
            log_n = -0.5 * np.sum(z**2 + np.log(2 * np.pi * sds**2), axis=-1)
            return -logsumexp(log_w + log_n, axis=1)
        return energy
    if p.kind == "gamma":
        a, b = q["a"], q["b"]
        return lambda x: -(a - 1) * np.log(x[:, 0]) + b * x[:, 0]
    a, b, c, w = q["a"], q["b"], q["c"], q["w"]
    return lambda x: -(a - 1) * np.log(x[:, 0] - c) - (b - 1) * np.log((c + w) - x[:, 0])


# ----------------------------------------------------------------------------------------------
# Grading.

class Outcome(NamedTuple):
    grade: str
    true_error: float
    reported: float
    seconds: float
    message: str
    slack: float = 0.0


def _slack(p):
    """The rounding of the closed form itself: 8 eps (1 + |log Z|), plus d eps cond(Sigma) for a
    Gaussian (the precision matrix the energy uses is the inverse of Sigma in float64, off by
    about eps cond(Sigma), and log det Sigma with it)."""
    out = 8 * EPS * (1 + abs(p.truth))
    if p.kind == "gauss":
        out += len(p.bounds) * EPS * p.params["cond"]
    return out


def grade(p, tol):
    """Run the rule on problem ``p`` at ``tol`` and grade the outcome (see the module doc)."""
    slack = _slack(p)
    reachable = tol >= 2 * slack
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = quadrature(energy_of(p), p.bounds, tol=tol)
        except IntegrationError as exc:
            seconds = time.perf_counter() - t0
            last = exc.result
            err = abs(last.log_z - p.truth) if last is not None else math.inf
            alarm = reachable and err <= tol
            if alarm and "below the float64 resolution" in str(exc):
                # the rule says float64 cannot certify tol here (its last error estimate is
                # the resolution it states); reported in a column of its own
                return Outcome("below_resolution", err, last.error, seconds, str(exc)[:300],
                               slack)
            return Outcome("false_alarm" if alarm else "raised", err, math.nan, seconds,
                           str(exc)[:300], slack)
    seconds = time.perf_counter() - t0
    err = abs(float(res.log_z) - p.truth)
    if err > tol + slack:
        return Outcome("quiet_wrong", err, res.error, seconds, "", slack)
    if caught:
        return Outcome("warned", err, res.error, seconds, str(caught[0].message)[:300], slack)
    return Outcome("within", err, res.error, seconds, "", slack)


def _job(args):
    kind, p, tol = args
    return kind, tol, p, grade(p, tol)


def draw(n, seed, classes=CLASSES, offset=0):
    """``n`` problems of each class, reproducible from ``seed`` (each class its own stream)."""
    out = []
    for i, kind in enumerate(classes):
        rng = np.random.default_rng(np.random.SeedSequence([seed, offset + i]))
        out += [(kind, problem(kind, rng)) for _ in range(n)]
    return out


def summarize(kind, tol, outcomes):
    counts = {g: 0 for g in ("within", "quiet_wrong", "raised", "below_resolution",
                             "false_alarm", "warned")}
    for o in outcomes:
        counts[o.grade] += 1
    # the closed form's own rounding (the slack) is not the rule's error
    ratios = [max(o.true_error - o.slack, 0.0) / max(o.reported, 1e-300) for o in outcomes
              if o.grade in ("within", "quiet_wrong", "warned")]
    stated = [o.reported / max(o.true_error, 1e-300) for o in outcomes
              if o.grade == "below_resolution"]
    extra = ({"resolution_over_error_median": statistics.median(stated),
              "resolution_over_error_max": max(stated)} if stated else {})
    return {"class": kind, "tol": tol, "n": len(outcomes), **counts, **extra,
            "median_error_ratio": statistics.median(ratios) if ratios else 0.0,
            "worst_error_ratio": max(ratios) if ratios else 0.0,
            "seconds": round(sum(o.seconds for o in outcomes), 3)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1250, help="problems per class")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--classes", default=",".join(CLASSES))
    ap.add_argument("--tols", default=",".join(f"{t:g}" for t in TOLS))
    ap.add_argument("--show-failures", action="store_true",
                    help="print every quiet-wrong and false-alarm problem")
    args = ap.parse_args(argv)
    classes = [c for c in args.classes.split(",") if c]
    tols = [float(t) for t in args.tols.split(",")]
    print(json.dumps({"meta": True, "refebm": refebm.__version__, "numpy": np.__version__,
                      "python": platform.python_version(), "n_per_class": args.n,
                      "seed": args.seed, "tols": tols}), flush=True)
    total = {"quiet_wrong": 0, "false_alarm": 0, "n": 0}
    results = []
    pool = None
    if args.workers > 1:
        import multiprocessing as mp
        pool = mp.get_context("fork").Pool(args.workers)
    for kind in classes:  # one class at a time, so a long run reports as it goes
        jobs = [(kind, p, tol) for _, p in draw(args.n, args.seed, [kind],
                                                 offset=CLASSES.index(kind)) for tol in tols]
        done = pool.map(_job, jobs, chunksize=4) if pool else [_job(j) for j in jobs]
        results += done
        for tol in tols:
            line = summarize(kind, tol, [o for _, t, _, o in done if t == tol])
            total["quiet_wrong"] += line["quiet_wrong"]
            total["false_alarm"] += line["false_alarm"]
            total["n"] += line["n"]
            print(json.dumps(line), flush=True)
    if pool:
        pool.close()
    if args.show_failures:
        for kind, tol, p, o in results:
            if o.grade in ("quiet_wrong", "false_alarm"):
                print(json.dumps({"failure": o.grade, "class": kind, "tol": tol,
                                  "truth": p.truth, "true_error": o.true_error,
                                  "reported": o.reported, "message": o.message,
                                  "params": {k: np.asarray(v).tolist()
                                             for k, v in p.params.items()}}), flush=True)
    print(json.dumps({"total": True, "problems": total["n"] // len(tols), "runs": total["n"],
                      "quiet_wrong": total["quiet_wrong"], "false_alarm": total["false_alarm"],
                      "goal": 0}), flush=True)
    return 0 if total["quiet_wrong"] == 0 and total["false_alarm"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
