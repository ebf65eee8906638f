r"""Benchmark: chain-steps per second of MALA and random-walk Metropolis, refebm vs BlackJAX.

Prints one JSON line per (implementation, sampler, target, n_chains): the number of chain-steps
per second (``n_chains * n_steps / seconds``) and the mean acceptance rate, for

- targets: a correlated Gaussian in d = 2 and d = 50, and a 2-D mixture of four Gaussians;
- n_chains = 1, 1000, 10000 (``--quick``: 1, 1000), all chains advanced together;
- n_steps = 1000 (``--quick``: 100), keeping only the last state.

``--chains 10000`` runs one chain count only; ``--repeats R`` times every implementation R times,
interleaved (all implementations once, then all again, ...) so that a noisy, shared machine
slows them alike, and prints the median time with the range of the R rates; ``--targets`` and
``--steps`` pick targets and the number of steps.

``--keep-freed-memory`` asks glibc's malloc (``mallopt``) to keep freed memory in the process
instead of returning it to the system. NumPy allocates a fresh array for every temporary, and at
10000 chains x d = 50 each is 4 MB; with glibc's defaults such blocks are often handed back to
the system when freed and page-faulted in again on the next step, which on some machines costs
more than the arithmetic. XLA reuses its buffers, so this levels the field; it changes no result.
Without the flag the process runs with the system's defaults.

Implementations:

- ``refebm-analytic``: :func:`refebm.samplers.mala_kernel` given the target object's ``energy``
  method, so that it calls the object's ``energy_and_score`` (closed form, the work shared: the
  product \((x - \mu) P\) of a Gaussian, the log-terms of a mixture) once per proposal,
  and :func:`refebm.samplers.mh_kernel` (which needs no score), run by
  :func:`refebm.samplers.sample`;
- ``refebm-autograd``: MALA with the score from autograd (one forward and one reverse pass of the
  energy per step give both E and the score);
- ``blackjax``: ``blackjax.mala`` and ``blackjax.normal_random_walk``, ``jax.jit`` of
  ``jax.lax.scan`` over steps of ``jax.vmap`` over chains (compiled before timing), when jax and
  blackjax are installed (``pip install jax blackjax``; neither is a dependency of refebm).

Every implementation runs one thread (see ``REFEBM_BENCH_THREADS``), float64, the same step sizes
(both use the step x + eps grad log p + sqrt(2 eps) z). Before timing, each target's energy,
closed-form score, autograd score and JAX log density are checked to agree (1e-10). Run:
``python benchmarks/bench_samplers.py [--quick]``.
"""

from __future__ import annotations

import os

THREADS = os.environ.get("REFEBM_BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      f"intra_op_parallelism_threads={THREADS}")
os.environ.setdefault("JAX_ENABLE_X64", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import autograd.numpy as anp  # noqa: E402
from autograd.tracer import getval  # noqa: E402
import numpy as np  # noqa: E402

from refebm.samplers import energy_and_score, mala_kernel, mh_kernel, sample  # noqa: E402

MIX_MEANS = np.array([[-2.0, -2.0], [2.0, -2.0], [-2.0, 2.0], [2.0, 2.0]])
MIX_LOG_W = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
MIX_VAR = 0.5


class CorrelatedGaussian:
    r"""\(N(\mu, P^{-1})\) as a NumPy target object: \(E(x) = \tfrac12 (x - \mu)^\top P (x - \mu)\),
    score \(-P(x - \mu)\). ``energy_and_score`` shares the product \((x - \mu) P\) between the
    two; the row-wise quadratic form is an ``einsum`` (no ``(n, d)`` temporary to sum)."""

    def __init__(self, mu, prec):
        self.mu, self.prec, self.half_prec = mu, prec, 0.5 * prec

    def energy(self, x):
        r = x - self.mu
        return anp.einsum("ij,ij->i", r @ self.half_prec, r)

    def score(self, x):
        return (self.mu - x) @ self.prec

    def energy_and_score(self, x):
        r = x - self.mu
        q = r @ self.prec
        e = np.einsum("ij,ij->i", q, r)
        e *= 0.5
        return e, np.negative(q, out=q)


def gaussian_target(d):
    """Correlated Gaussian: precision P = A A^T / d + I, mean 0.5."""
    rng = np.random.default_rng(d)
    a = rng.normal(size=(d, d))
    prec = a @ a.T / d + np.eye(d)
    mu = np.full(d, 0.5)
    gauss = CorrelatedGaussian(mu, prec)

    def energy(x):            # a plain function: samplers differentiate it with autograd
        return gauss.energy(x)

    def logdensity_jax(x):
        import jax.numpy as jnp
        r = x - mu
        return -0.5 * jnp.dot(r, jnp.asarray(prec) @ r)

    lam_max = np.linalg.eigvalsh(prec).max()
    # MALA step ~ 1 / (lambda_max d^(1/3)); RWMH scale ~ 2.4 / sqrt(d lambda_max)
    return dict(name=f"gaussian-d{d}", d=d, energy=energy, analytic=dict(energy=gauss.energy),
                logdensity_jax=logdensity_jax, mala_step=0.5 / (lam_max * d ** (1 / 3)),
                rw_step=2.4 / np.sqrt(d * lam_max))


class IsotropicMixture:
    r"""The 2-D mixture \(\sum_k w_k N(m_k, v I)\) as a NumPy target object.

    Its log-terms \(a_k(x) = \log w_k - \lVert x - m_k \rVert^2 / (2v)\) are stored
    components first, shape ``(K, n)``: NumPy reduces over a leading axis of length 4 as a few
    whole-array operations, but over a trailing axis of length 4 one short row at a time (about
    ten times slower at n = 10000). Expanding the square gives one ``(K, 2) @ (2, n)`` product
    instead of a ``(K, n, 2)`` array of differences.

    ``energy`` is written with ``autograd.numpy`` and shifts the log-sum-exp by the maximum taken
    outside the trace (``getval``): the value does not depend on the shift, so neither does the
    derivative, and autograd need not differentiate the maximum. ``energy_and_score`` shares the
    log-terms between the two, and :func:`refebm.samplers.energy_and_score` uses it when this
    object's ``energy`` method is passed without a ``score``.
    """

    def __init__(self, means, log_weights, var):
        self.means, self.var = means, var
        self.slopes = means / var                                    # (K, d)
        self.const = (log_weights - 0.5 * np.sum(means**2, axis=1) / var)[:, None]

    def log_terms(self, x, xp):
        sq = xp.einsum("ij,ij->i", x, x)
        return xp.dot(self.slopes, x.T) + (self.const - (0.5 / self.var) * sq)

    def energy(self, x):
        a = self.log_terms(x, anp)
        m = getval(a).max(axis=0)
        return -(m + anp.log(anp.sum(anp.exp(a - m), axis=0)))

    def _energy_and_responsibilities(self, x):
        a = self.log_terms(x, np)
        m = a.max(axis=0)
        a -= m
        np.exp(a, out=a)
        total = a.sum(axis=0)
        a /= total
        return -(m + np.log(total)), a

    def score(self, x):
        return self.energy_and_score(x)[1]

    def energy_and_score(self, x):
        e, r = self._energy_and_responsibilities(x)
        return e, (r.T @ self.means - x) / self.var


def mixture_target():
    mix = IsotropicMixture(MIX_MEANS, MIX_LOG_W, MIX_VAR)

    def logdensity_jax(x):
        import jax.numpy as jnp
        from jax.scipy.special import logsumexp
        sq = jnp.sum((x[None, :] - jnp.asarray(MIX_MEANS)) ** 2, axis=-1)
        return logsumexp(jnp.asarray(MIX_LOG_W) - 0.5 * sq / MIX_VAR)

    def energy(x):            # a plain function: samplers differentiate it with autograd
        return mix.energy(x)

    # the bound method: samplers find mix.energy_and_score and call it once per proposal
    return dict(name="mixture-2d", d=2, energy=energy, analytic=dict(energy=mix.energy),
                logdensity_jax=logdensity_jax, mala_step=0.2, rw_step=1.0)


def time_refebm(kernel, x0, n_steps, seed=0):
    t0 = time.perf_counter()
    res = sample(kernel, x0, n_steps, rng=seed, keep="last")
    seconds = time.perf_counter() - t0
    return seconds, float(np.mean(res.acceptance_rate))


def time_blackjax(target, sampler, x0, n_steps):
    import blackjax
    import jax
    import jax.numpy as jnp

    if sampler == "mala":
        algo = blackjax.mala(target["logdensity_jax"], target["mala_step"])
    else:
        algo = blackjax.normal_random_walk(target["logdensity_jax"], target["rw_step"])
    init = jax.vmap(algo.init)
    step = jax.vmap(algo.step)

    @jax.jit
    def run(key, position):
        state = init(position)

        def body(carry, key_t):
            st, acc = carry
            keys = jax.random.split(key_t, position.shape[0])
            st, info = step(keys, st)
            return (st, acc + jnp.mean(info.is_accepted)), None

        (state, acc), _ = jax.lax.scan(body, (state, 0.0), jax.random.split(key, n_steps))
        return state.position, acc / n_steps

    x = jnp.asarray(x0)
    key = jax.random.PRNGKey(0)
    out = run(key, x)                      # compile
    jax.block_until_ready(out)
    t0 = time.perf_counter()
    out = run(jax.random.PRNGKey(1), x)
    jax.block_until_ready(out)
    seconds = time.perf_counter() - t0
    return seconds, float(out[1])


def check_target(target, use_bj):
    """Energy, analytic score and autograd score agree (and -log density in JAX), or exit."""
    from autograd import elementwise_grad

    x = np.random.default_rng(1).normal(size=(16, target["d"]))
    energy = target["energy"]
    e, s = energy_and_score(**target["analytic"])(x)
    errors = dict(energy=np.max(np.abs(e - energy(x))),
                  score=np.max(np.abs(s + elementwise_grad(energy)(x))))
    if use_bj:
        import jax
        errors["jax"] = np.max(np.abs(e + np.asarray(jax.vmap(target["logdensity_jax"])(x))))
    for what, err in errors.items():
        if not err <= 1e-10 * max(1.0, float(np.max(np.abs(e)))):
            sys.exit(f"{target['name']}: {what} differs by {err:.3g}")


def keep_freed_memory():
    """Raise glibc's mmap and trim thresholds (32 MB, 1 GB); False where that is not glibc."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)
                and libc.mallopt(m_trim_threshold, 2**30))


def have_blackjax():
    try:
        import blackjax  # noqa: F401
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 steps; 1 and 1000 chains")
    parser.add_argument("--no-blackjax", action="store_true")
    parser.add_argument("--chains", type=int, nargs="+", help="chain counts to run")
    parser.add_argument("--repeats", type=int, default=1,
                        help="interleaved repeats per implementation; the median is reported")
    parser.add_argument("--targets", nargs="+", help="target names (gaussian-d2, ...)")
    parser.add_argument("--steps", type=int, help="steps per chain (default 1000; --quick 100)")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="glibc malloc keeps freed memory (see the module docstring)")
    args = parser.parse_args(argv)
    kept = keep_freed_memory() if args.keep_freed_memory else False
    n_steps = args.steps or (100 if args.quick else 1000)
    chain_counts = (1, 1000) if args.quick else (1, 1000, 10000)
    if args.chains:
        chain_counts = tuple(args.chains)
    use_bj = have_blackjax() and not args.no_blackjax
    meta = dict(python=platform.python_version(), numpy=np.__version__, threads=THREADS,
                machine=platform.machine(), n_steps=n_steps, keep_freed_memory=kept)
    if use_bj:
        import blackjax
        import jax
        meta.update(jax=jax.__version__, blackjax=blackjax.__version__)
    print(json.dumps(dict(meta=meta)), flush=True)
    targets = [gaussian_target(2), gaussian_target(50), mixture_target()]
    if args.targets:
        targets = [t for t in targets if t["name"] in args.targets]
    for target in targets:
        check_target(target, use_bj)
        for n_chains in chain_counts:
            x0 = np.random.default_rng(0).normal(size=(n_chains, target["d"]))
            runs = [
                ("refebm-analytic", "mala",
                 lambda: time_refebm(mala_kernel(step_size=target["mala_step"],
                                                 **target["analytic"]), x0, n_steps)),
                ("refebm-autograd", "mala",
                 lambda: time_refebm(mala_kernel(target["energy"], target["mala_step"]), x0,
                                     n_steps)),
                ("refebm", "rwmh",
                 lambda: time_refebm(mh_kernel(target["energy"], target["rw_step"]), x0,
                                     n_steps)),
            ]
            if use_bj:
                runs += [("blackjax", "mala", lambda: time_blackjax(target, "mala", x0, n_steps)),
                         ("blackjax", "rwmh", lambda: time_blackjax(target, "rwmh", x0, n_steps))]
            times = [[] for _ in runs]
            for _ in range(args.repeats):      # interleaved: every implementation once per round
                for j, (_, _, run) in enumerate(runs):
                    times[j].append(run())
            for (impl, sampler, _), results in zip(runs, times):
                seconds = float(np.median([s for s, _ in results]))
                rates = [n_chains * n_steps / s for s, _ in results]
                line = dict(impl=impl, sampler=sampler, target=target["name"], n_chains=n_chains,
                            n_steps=n_steps, seconds=round(seconds, 4),
                            chain_steps_per_s=round(n_chains * n_steps / seconds, 1),
                            acceptance=round(results[0][1], 3))
                if args.repeats > 1:
                    line.update(repeats=args.repeats, rate_min=round(min(rates), 1),
                                rate_max=round(max(rates), 1))
                print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
