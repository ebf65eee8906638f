"""Time log Z by refebm.partition.quadrature against scipy.integrate.nquad and cubature.

Prints one JSON line per (problem, method): median wall time over a few repeats, the achieved
absolute error of log Z against the reference, the method's own error estimate, and the speedup
of refebm over each scipy method. All methods work at tol 1e-10 (scipy: epsrel / rtol 1e-10,
atol 0) on the same infinite box R^d.

Problems: correlated Gaussians in 2-D and 3-D (reference: the closed form
d/2 log 2 pi + 1/2 log det Sigma), and E(x) = ||x||^4 / 4 - sum_i sin(3 x_i) in 2-D and 3-D
(reference: refebm.partition.quadrature at tol 1e-13, computed in the same run; the line also
shows its difference from scipy.integrate.cubature at rtol 1e-13, computed once offline, which
took 0.7 s in 2-D and 143 s in 3-D).

A scipy call longer than ``--max-seconds`` (default 120) is stopped; its line then carries
``"timed_out": true`` and the speedup is a lower bound.

Run: ``python benchmarks/bench_partition.py [--repeats 5] [--max-seconds 120]``.
Not a test; pytest does not collect it.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import signal
import statistics
import time

import numpy as np
import scipy
import scipy.integrate as si

from refebm.partition import quadrature

TOL = 1e-10

# scipy.integrate.cubature at rtol 1e-13 on R^d (its own error estimates 9e-14 and 1e-13)
CUBATURE_1E13 = {2: 2.186174732852435, 3: 3.0932464079853816}


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def _gaussian(d):
    rng = np.random.default_rng(20240601 + d)  # fixed problem instance, not a statistical test
    A = rng.normal(size=(d, d))
    sigma = A @ A.T / d + 0.5 * np.eye(d)
    mean = rng.normal(size=d)
    precision = np.linalg.inv(sigma)

    def energy(x):
        z = x - mean
        return 0.5 * np.einsum("ni,ij,nj->n", z, precision, z)

    exact = 0.5 * d * math.log(2 * math.pi) + 0.5 * np.linalg.slogdet(sigma)[1]
    return energy, exact, "closed form"


def _quartic(d):
    def energy(x):
        return 0.25 * np.sum(x**2, axis=-1) ** 2 - np.sum(np.sin(3 * x), axis=-1)

    ref = quadrature(energy, [(-np.inf, np.inf)] * d, tol=1e-13).log_z
    return energy, float(ref), "refebm.partition.quadrature at tol 1e-13"


def _timed(fn, repeats, max_seconds):
    times, out = [], None
    for _ in range(repeats):
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, max_seconds)
        start = time.perf_counter()
        try:
            out = fn()
        except _Timeout:
            return [time.perf_counter() - start], None, True
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        times.append(time.perf_counter() - start)
        if times[-1] > 10.0:  # slow methods: one repeat is enough to compare
            break
    return times, out, False


def _refebm(energy, d):
    res = quadrature(energy, [(-np.inf, np.inf)] * d, tol=TOL)
    return float(res.log_z), res.error, res.n_evals


def _nquad(energy, d):
    count = [0]

    def f(*x):
        count[0] += 1
        return math.exp(-energy(np.asarray([x]))[0])

    value, err = si.nquad(f, [(-np.inf, np.inf)] * d, opts={"epsabs": 0.0, "epsrel": TOL})
    return math.log(value), err / value, count[0]


def _cubature(energy, d):
    count = [0]

    def f(x):
        count[0] += x.shape[0]
        return np.exp(-energy(x))

    res = si.cubature(f, [-np.inf] * d, [np.inf] * d, rtol=TOL, atol=0.0)
    return math.log(float(res.estimate)), float(res.error / res.estimate), count[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()
    problems = [("gaussian", 2, _gaussian), ("gaussian", 3, _gaussian),
                ("quartic", 2, _quartic), ("quartic", 3, _quartic)]
    methods = [("refebm.quadrature", _refebm), ("scipy.nquad", _nquad),
               ("scipy.cubature", _cubature)]
    for name, d, make in problems:
        energy, ref, source = make(d)
        rows = {}
        for method, run in methods:
            times, out, timed_out = _timed(lambda: run(energy, d), args.repeats, args.max_seconds)
            row = {"problem": f"{name}-{d}d", "d": d, "method": method, "tol": TOL,
                   "time_s": statistics.median(times), "repeats": len(times),
                   "timed_out": timed_out, "reference": ref, "reference_source": source}
            if out is not None:
                log_z, est, n_evals = out
                row.update(log_z=log_z, abs_error=abs(log_z - ref), estimated_error=est,
                           n_evals=n_evals)
            if name == "quartic":
                row["reference_minus_cubature_1e-13"] = ref - CUBATURE_1E13[d]
            rows[method] = row
        base = rows["refebm.quadrature"]["time_s"]
        for method, row in rows.items():
            if method == "refebm.quadrature":
                for other in ("scipy.nquad", "scipy.cubature"):
                    key = "speedup_vs_" + other.split(".")[1]
                    row[key] = rows[other]["time_s"] / base
                    row[key + "_is_lower_bound"] = rows[other]["timed_out"]
            else:
                row["refebm_speedup"] = row["time_s"] / base
            row.update(numpy=np.__version__, scipy=scipy.__version__,
                       python=platform.python_version())
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
