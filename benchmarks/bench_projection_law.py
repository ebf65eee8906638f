"""Does the error of ``projection_law`` bound its CDF error? (the projections of check_sampler)

``refebm.testing._sections.projection_law(energy, bounds, u)`` gives the CDF of \\(u^\\top x\\)
under \\(p \\propto e^{-E}\\) on a box by quadrature on the box's sections, with an error estimate
that ``check_sampler`` adds to the DKWM band of that projection. This script draws random
problems whose projected CDF is known in closed form, runs the rule at the tolerance
``check_sampler`` asks for (1e-4) and at its default, and counts:

- ``quiet_wrong``: the true sup error over 401 points of t exceeds the stated error (plus the
  reference's own truncation error, below 1e-8) and no warning was given;
- ``warned``: the rule said it fell short of ``tol`` (a RuntimeWarning), so check_sampler widens
  that projection's band by the larger stated error and prints a note.

Classes (2,000 problems each in 2-D, 500 in 3-D, fresh for each seed):

- ``gauss2``, ``gauss3``: a Gaussian with a random covariance (condition number 1 to 30), a box
  from 6 to 9 marginal standard deviations on each side of the mean, a random direction;
  reference: the normal CDF of \\(u^\\top x\\) (the mass outside the box is below 1e-8);
- ``mixture2``: two Gaussian components (weights, means within 3 sd, random covariances), a box 6
  to 9 sd beyond the extreme means; reference: the mixture of the components' normal CDFs.

Prints JSON lines: one per (class, tol), then a total. Run:
``python benchmarks/bench_projection_law.py [--n 2000] [--n3 500] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

from refebm.testing._sections import projection_law  # noqa: E402

_REF_ERROR = 1e-8


def _cov(rng, d):
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    ev = np.exp(rng.uniform(0.0, np.log(30.0), size=d))
    ev = ev / ev.max() * rng.uniform(0.3, 3.0)
    return q @ np.diag(ev) @ q.T


def _problem(cls, rng):
    d = 3 if cls == "gauss3" else 2
    k = 2 if cls == "mixture2" else 1
    weights = rng.dirichlet([2.0] * k)
    covs = np.stack([_cov(rng, d) for _ in range(k)])
    sd = np.sqrt(np.max(np.diagonal(covs, axis1=1, axis2=2), axis=0))
    means = rng.uniform(-3.0, 3.0, size=(k, d)) * sd
    if k == 1:
        means[:] = 0.0
    lo = means.min(axis=0) - rng.uniform(6.0, 9.0, size=d) * sd
    hi = means.max(axis=0) + rng.uniform(6.0, 9.0, size=d) * sd
    precs = np.linalg.inv(covs)
    logdets = np.linalg.slogdet(covs)[1]

    def energy(x):
        terms = []
        for w, m, p, ld in zip(weights, means, precs, logdets):
            r = x - m
            terms.append(np.log(w) - 0.5 * np.einsum("ni,ij,nj->n", r, p, r) - 0.5 * ld)
        t = np.stack(terms)
        top = t.max(axis=0)
        return -(top + np.log(np.sum(np.exp(t - top), axis=0)))

    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)

    def exact(t):
        return sum(w * norm.cdf((t - u @ m) / np.sqrt(u @ c @ u))
                   for w, m, c in zip(weights, means, covs))

    return energy, np.stack([lo, hi], axis=1), u, exact


def _run(cls, n, tol, seed):
    rng = np.random.default_rng([seed, ("gauss2", "mixture2", "gauss3").index(cls)])
    quiet, warned, worst, times = 0, 0, 0.0, []
    for _ in range(n):
        energy, box, u, exact = _problem(cls, rng)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            law = projection_law(energy, box, u, tol=tol)
        times.append(time.perf_counter() - start)
        t = np.linspace(law.lo, law.hi, 401)
        err = float(np.max(np.abs(law.cdf(t) - exact(t))))
        said = any(issubclass(w.category, RuntimeWarning) for w in caught)
        warned += said
        if err > law.error + _REF_ERROR and not said:
            quiet += 1
        if law.error > 0:
            worst = max(worst, (err - _REF_ERROR) / law.error)
    return {"class": cls, "tol": tol, "n": n, "quiet_wrong": quiet, "warned": warned,
            "worst_error_ratio": round(worst, 4), "median_s": round(float(np.median(times)), 4),
            "max_s": round(float(np.max(times)), 3)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="problems per 2-D class")
    parser.add_argument("--n3", type=int, default=500, help="problems in the 3-D class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    total = {"total": True, "problems": 0, "quiet_wrong": 0, "warned": 0}
    for cls, n in (("gauss2", args.n), ("mixture2", args.n), ("gauss3", args.n3)):
        for tol in (1e-4, None):
            line = _run(cls, n, tol, args.seed)
            line["tol"] = "default" if tol is None else tol
            print(json.dumps(line), flush=True)
            total["problems"] += n
            total["quiet_wrong"] += line["quiet_wrong"]
            total["warned"] += line["warned"]
    print(json.dumps(total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
