"""Time the conformance kit: each deterministic check on the standard problems, ``check_sampler``
at n = 10^4, and ``refebm vectors``.

Goals (issue 13): each deterministic check on a standard problem under 1 s, ``check_sampler``
under 10 s at n = 10^4, ``refebm vectors`` under 30 s. The foreign functions timed are correct
ones written with refebm's own public functions, so each check also computes the reference once
more; a check that does not pass is reported (``status``), not hidden.

Prints one JSON line per measurement (the median over ``--repeats`` runs, the fastest, the goal
and whether the median meets it, and where a peer does part of the same work, the peer's median
from the same run: scipy's ``kstest`` for check_sampler's one-dimensional tests, ArviZ for R-hat
and ESS), after a first line with the versions. Checks that do not exist
(yet) in ``refebm.testing`` are reported as ``"missing"``.

Run: ``python benchmarks/bench_testing.py [--repeats 3] [--only NAME ...]``. Not a test; pytest
does not collect it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def _timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def _deterministic_cases():
    """(name, problem, thunk) for every deterministic check on every standard problem."""
    import refebm.testing as t
    from refebm import diff, objectives, samplers
    from refebm.objectives import parametric

    for name, p in t.problems().items():
        e = p.energy
        score = diff.score(e)
        eps, meps = float(p.step_size), float(p.mala_step_size)

        def langevin(x, z, h, score=score):
            return samplers.ula_step(score, samplers.ula_init(score, x), z, h)[0].x

        def mh(x, xp, e=e, meps=meps):
            return samplers.mala_log_acceptance(samplers.mala_init(e, x), samplers.mala_init(e, xp),
                                                meps)

        def mala(x, z, u, h, e=e):
            return samplers.mala_step(e, samplers.mala_init(e, x), z, u, h)[0].x

        x_prop = p.x + meps * np.asarray(score(p.x)) + np.sqrt(2 * meps) * p.noise
        cases = {
            "check_score": lambda p=p, score=score: t.check_score(score, p.energy, p.x),
            "check_score_matching_loss": lambda p=p, e=e: t.check_score_matching_loss(
                lambda x: objectives.score_matching_loss(e, x), e, p.x),
            "check_sliced_score_matching_loss": lambda p=p, e=e:
                t.check_sliced_score_matching_loss(
                    lambda x, v: objectives.sliced_score_matching_loss(e, x, v), e, p.x,
                    p.projections),
            "check_hutchinson_trace": lambda p=p, e=e: t.check_hutchinson_trace(
                lambda v: np.mean(np.einsum("mi,ij,mj->m", v, _cov(p), v)), _cov(p),
                p.projections[:, 0, :]),
            "check_denoising_score_matching_loss": lambda p=p, e=e:
                t.check_denoising_score_matching_loss(
                    lambda x, s, z: objectives.denoising_score_matching_loss(e, x, z, s), p.x,
                    p.sigma, p.noise, energy=e),
            "check_nce_loss": lambda p=p, e=e: t.check_nce_loss(
                lambda xd, xn: objectives.nce_loss(e, p.log_z, xd, xn, p.noise_log_prob), e,
                p.log_z, p.x, p.x_noise, p.noise_log_prob),
            "check_cd_gradient": lambda p=p: t.check_cd_gradient(
                lambda xd, xm: objectives.cd_gradient(parametric(p.energy_of_theta, p.theta),
                                                      xd, xm),
                p.energy_of_theta, p.theta, p.x, p.x_model),
            "check_langevin_step": lambda p=p, score=score: t.check_langevin_step(
                langevin, score, p.x, p.noise, eps),
            "check_mh_log_acceptance": lambda p=p, e=e, x_prop=x_prop: t.check_mh_log_acceptance(
                mh, e, p.x, x_prop, step_size=meps),
            "check_mala_step": lambda p=p, e=e: t.check_mala_step(
                mala, e, p.x, p.noise, p.uniform, meps),
        }
        if p.bounds is not None:
            def log_z(p=p):
                from refebm.partition import quadrature

                return t.check_log_partition(float(quadrature(p.energy, p.bounds).log_z),
                                             p.energy, p.bounds)
            cases["check_log_partition"] = log_z
        for check, thunk in cases.items():
            yield check, name, thunk


def _cov(p):
    a = np.arange(1.0, 1.0 + p.d**2).reshape(p.d, p.d)
    return a @ a.T / p.d


def _kstest_peer(x, target):
    """The 1-D part of check_sampler done with scipy: kstest of each coordinate and of 8 random
    projections against their normal CDFs (no thinning, no joint test)."""
    from scipy import stats

    mean, cov = np.asarray(target.mean), np.asarray(target.cov)
    u = np.random.default_rng(0).standard_normal((8, x.shape[1]))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    dirs = np.concatenate([np.eye(x.shape[1]), u])

    def run():
        return [stats.kstest(x @ v, stats.norm(v @ mean, np.sqrt(v @ cov @ v)).cdf).pvalue
                for v in dirs]

    return run


def _arviz_peer(name, chains):
    """ArviZ's rank-normalized rhat / bulk ess on the same chains, when ArviZ is installed."""
    try:
        import arviz
    except ImportError:
        return ()
    fn = getattr(arviz, name)
    return f"arviz.{name}", lambda: fn(chains)


def _statistical_cases():
    from refebm.diagnostics import ess, ksd, rhat
    from refebm.families import Gaussian, GaussianMixture
    from refebm.testing import statistical as st

    target = Gaussian(np.array([1.0, -1.0]), np.array([[1.0, 0.5], [0.5, 2.0]]))
    x = target.sample(10_000, rng=0)
    yield ("check_sampler", "gaussian n=10^4 d=2", lambda: st.check_sampler(x, target),
           "scipy.stats.kstest on the same 10 marginals and projections", _kstest_peer(x, target))
    mix = GaussianMixture([0.3, 0.7], [[-1.5, 0.0], [1.0, 0.5]],
                          [np.eye(2) * 0.5, [[0.8, -0.3], [-0.3, 0.6]]])
    xm = mix.sample(10_000, rng=1)
    yield "check_sampler", "mixture n=10^4 d=2", lambda: st.check_sampler(xm, mix)
    cov3 = np.array([[1.5, 0.3, -0.2], [0.3, 1.2, 0.4], [-0.2, 0.4, 2.0]])
    g3 = Gaussian(np.zeros(3), cov3)
    x3 = g3.sample(10_000, rng=3)
    box = [(-8.0 * np.sqrt(c), 8.0 * np.sqrt(c)) for c in np.diag(cov3)]
    yield "check_sampler", "energy on a box n=10^4 d=3", lambda: st.check_sampler(
        x3, lambda y: g3.energy(y), bounds=box)
    chains = np.random.default_rng(2).standard_normal((4, 1000))
    yield ("check_rhat", "4 x 1000 draws", lambda: st.check_rhat(lambda c: rhat(c), chains),
           *_arviz_peer("rhat", chains))
    yield ("check_ess", "4 x 1000 draws", lambda: st.check_ess(lambda c: ess(c), chains),
           *_arviz_peer("ess", chains))
    pts = x[:200]
    yield "check_ksd", "200 points d=2", lambda: st.check_ksd(
        lambda a, s: ksd(s, a), pts, target.score)


GOALS = {"check_sampler": 10.0, "refebm vectors": 30.0}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement")
    parser.add_argument("--only", nargs="+", default=None, help="check names to time")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"`--repeats` must be >= 1, got {args.repeats}")
    import scipy

    import refebm

    print(json.dumps({"versions": {"refebm": refebm.__version__, "numpy": np.__version__,
                                   "scipy": scipy.__version__,
                                   "python": platform.python_version()},
                      "machine": platform.machine(), "cpus": os.cpu_count()}), flush=True)
    import refebm.testing as t

    wanted = set(args.only) if args.only else None
    for gen in (_deterministic_cases, _statistical_cases):
        for check, problem, thunk, *peer in gen():
            if wanted and check not in wanted:
                continue
            if not hasattr(t, check) and not hasattr(t.statistical, check):
                print(json.dumps({"check": check, "problem": problem, "status": "missing"}))
                continue
            try:
                thunk()                                   # warm-up (imports, caches)
                times, res = _timed(thunk, args.repeats)
                status = res.status
            except Exception as exc:  # noqa: BLE001 - report, do not stop the benchmark
                print(json.dumps({"check": check, "problem": problem,
                                  "status": f"error: {type(exc).__name__}: {exc}"[:300]}))
                continue
            goal = GOALS.get(check, 1.0)
            med = statistics.median(times)
            line = {"check": check, "problem": problem, "status": status,
                    "median_s": round(med, 4), "min_s": round(min(times), 4), "goal_s": goal,
                    "meets_goal": med < goal}
            if peer:                                      # the peer's figure, same run
                peer[1]()
                peer_times, _ = _timed(peer[1], args.repeats)
                line.update(peer=peer[0], peer_median_s=round(statistics.median(peer_times), 4))
            print(json.dumps(line), flush=True)
    if wanted and "refebm vectors" not in wanted:
        return 0
    times = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "refebm.cli", "vectors", "--out", out],
                                  capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                print(json.dumps({"check": "refebm vectors", "status": f"error: {done.stderr}"}))
                return 1
    med = statistics.median(times)
    print(json.dumps({"check": "refebm vectors", "problem": "all quantities", "status": "ok",
                      "median_s": round(med, 3), "min_s": round(min(times), 3),
                      "goal_s": GOALS["refebm vectors"], "meets_goal": med < 30.0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
