"""Benchmark: the exact score-matching loss plus its parameter gradient on an MLP energy.

Prints one JSON line per (implementation, d): milliseconds per evaluation of the loss
E_data[1/2 ||grad_x E||^2 - Laplacian E] and its gradient with respect to all weights, for an
MLP with two hidden layers of 64 tanh units, a batch of 256 points, d = 2, 10, 50.

Implementations (the last two only when installed; neither is a dependency of refebm):

- ``refebm-generic``: :func:`refebm.objectives.score_matching_loss` on a plain autograd function
  (exact Hessian trace by autograd: E and grad_x E traced once, then one reverse-over-reverse
  pass per dimension), the MLP written with :func:`refebm.energies.tanh`, whose derivative is
  ``1 - tanh^2`` as in PyTorch and JAX;
- ``refebm-generic-anp-tanh``: the same generic path on the same MLP written with
  ``autograd.numpy.tanh``, which autograd differentiates as ``1 / cosh^2``, recomputing ``cosh``
  and ``sinh`` at every derivative order: the difference between the two lines is the cost of
  that rule;
- ``refebm-mlp``: the same loss on :class:`refebm.energies.MLPEnergy` (one-pass forward-mode
  Laplacian, differentiated by autograd);
- ``torch-loop``: PyTorch CPU, ``torch.autograd.grad(..., create_graph=True)`` once per
  dimension, then ``backward``;
- ``jax-jit``: ``jax.jit(jax.value_and_grad(loss))`` with the Hessian trace from
  ``jax.jacfwd(jax.grad(.))`` per point (vmapped).

Every implementation gets the same weights and data, and the loss values are checked equal
(relative 1e-8) before anything is timed. The implementations are timed interleaved (each once
per round) so that a noisy, shared machine slows them alike. Run:
``python benchmarks/bench_objectives.py``.
"""

from __future__ import annotations

import os

# One thread for every library, set before NumPy, PyTorch or JAX load their thread pools: on a
# shared machine a multi-threaded BLAS can be slower by orders of magnitude on these small
# matrices, and one thread compares the implementations, not the thread pools. Override with
# REFEBM_BENCH_THREADS.
THREADS = os.environ.get("REFEBM_BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      f"intra_op_parallelism_threads={THREADS}")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import autograd  # noqa: E402
import autograd.numpy as anp  # noqa: E402
import numpy as np  # noqa: E402

from refebm.energies import MLPEnergy, random_mlp_weights, tanh  # noqa: E402
from refebm.objectives import score_matching_loss  # noqa: E402

HIDDEN = (64, 64)
BATCH = 256


def _plain_energy(weights, tanh=tanh):
    def energy(x):
        h = x
        for w, b in weights[:-1]:
            h = tanh(h @ w + b)
        w, b = weights[-1]
        return (h @ w + b)[:, 0]
    return energy


def refebm_generic(weights, x):
    f = autograd.value_and_grad(lambda w: score_matching_loss(_plain_energy(w), x))
    return lambda: f(weights)[0]


def refebm_generic_anp_tanh(weights, x):
    f = autograd.value_and_grad(lambda w: score_matching_loss(_plain_energy(w, anp.tanh), x))
    return lambda: f(weights)[0]


def refebm_mlp(weights, x):
    f = autograd.value_and_grad(lambda w: score_matching_loss(MLPEnergy(w, "tanh"), x))
    return lambda: f(weights)[0]


def torch_loop(weights, x):
    import torch

    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(int(THREADS))
    params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
              for w, b in weights]
    xt = torch.tensor(x)
    d = x.shape[1]

    def run():
        xs = xt.clone().requires_grad_(True)
        h = xs
        for w, b in params[:-1]:
            h = torch.tanh(h @ w + b)
        e = (h @ params[-1][0] + params[-1][1])[:, 0]
        (g,) = torch.autograd.grad(e.sum(), xs, create_graph=True)
        lap = torch.zeros(xs.shape[0])
        for i in range(d):
            (row,) = torch.autograd.grad(g[:, i].sum(), xs, create_graph=True)
            lap = lap + row[:, i]
        loss = (0.5 * (g * g).sum(1) - lap).mean()
        for w, b in params:
            w.grad = None
            b.grad = None
        loss.backward()
        return float(loss.detach())

    return run


def jax_jit(weights, x):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def energy_one(w, xi):
        h = xi
        for wi, bi in w[:-1]:
            h = jnp.tanh(h @ wi + bi)
        return (h @ w[-1][0] + w[-1][1])[0]

    def loss(w, xs):
        g = jax.vmap(jax.grad(energy_one, argnums=1), in_axes=(None, 0))(w, xs)
        hess = jax.vmap(jax.jacfwd(jax.grad(energy_one, argnums=1), argnums=1),
                        in_axes=(None, 0))(w, xs)
        lap = jnp.trace(hess, axis1=1, axis2=2)
        return jnp.mean(0.5 * jnp.sum(g * g, axis=1) - lap)

    f = jax.jit(jax.value_and_grad(loss))
    w = [(jnp.asarray(a), jnp.asarray(b)) for a, b in weights]
    xs = jnp.asarray(x)

    def run():
        value, grads = f(w, xs)
        jax.block_until_ready(grads)
        return float(value)

    return run


def _available():
    impls = {"refebm-generic": refebm_generic, "refebm-generic-anp-tanh": refebm_generic_anp_tanh,
             "refebm-mlp": refebm_mlp}
    try:
        import torch  # noqa: F401

        impls["torch-loop"] = torch_loop
    except ImportError:
        pass
    try:
        import jax  # noqa: F401

        impls["jax-jit"] = jax_jit
    except ImportError:
        pass
    return impls


def _time(runs, repeats, budget_s):
    """Milliseconds per call of every run, interleaved: one call of each per round."""
    for run in runs.values():
        run()  # warm-up (and JIT compilation)
    times = {name: [] for name in runs}
    start = time.perf_counter()
    for i in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run()
            times[name].append(1e3 * (time.perf_counter() - t0))
        if time.perf_counter() - start > budget_s * len(runs) and i >= 2:
            break
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 10, 50])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds of timing per (implementation, d), at least 3 repeats")
    parser.add_argument("--only", nargs="+", default=None, help="implementations to run")
    args = parser.parse_args(argv)
    impls = _available()
    if args.only:
        impls = {k: v for k, v in impls.items() if k in args.only}
    from importlib.metadata import version

    versions = {"numpy": np.__version__, "autograd": version("autograd"),
                "python": platform.python_version(), "threads": int(THREADS)}
    if "torch-loop" in impls:
        import torch

        versions["torch"] = torch.__version__
    if "jax-jit" in impls:
        import jax

        versions["jax"] = jax.__version__
    for d in args.dims:
        rng = np.random.default_rng(d)
        weights = random_mlp_weights([d, *HIDDEN, 1], rng, bias_scale=0.1)
        x = rng.normal(size=(BATCH, d))
        runs = {name: make(weights, x) for name, make in impls.items()}
        values = {name: run() for name, run in runs.items()}
        ref = values["refebm-mlp"] if "refebm-mlp" in values else next(iter(values.values()))
        for name, value in values.items():
            if abs(value - ref) > 1e-8 * max(1.0, abs(ref)):
                sys.exit(f"{name} gives loss {value!r}, refebm-mlp {ref!r} (d = {d})")
        all_times = _time(runs, args.repeats, args.budget)
        for name, times in all_times.items():
            print(json.dumps({
                "benchmark": "score_matching_loss_and_weight_gradient", "impl": name, "d": d,
                "batch": BATCH, "hidden": list(HIDDEN), "activation": "tanh",
                "ms_median": round(statistics.median(times), 3), "ms_min": round(min(times), 3),
                "repeats": len(times), "loss": values[name], "cpus": os.cpu_count(),
                **versions}), flush=True)


if __name__ == "__main__":
    main()
