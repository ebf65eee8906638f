"""The test suite's one seed helper: every random generator and seed a test uses comes from here.

No test builds a generator from a bare literal. A test takes its generator from
:func:`make_rng` (or the ``rng`` fixture of ``conftest.py``) and every integer seed it passes to a
refebm function from :func:`make_seed`. Both mix the run's base seed, read once from the
environment variable ``REFEBM_TEST_SEED`` (default 0), with the keys the test names, through
``numpy.random.SeedSequence``::

    from seeding import make_rng, make_seed

    x = make_rng(3).normal(size=(5, 2))           # stream "3" of this run
    data, noise = make_rng("data"), make_rng("noise")   # independent streams: different keys
    res = sample(kernel, x0, 20, rng=make_seed(5))      # a refebm call given an int seed;
    # make_rng(5) is exactly np.random.default_rng(make_seed(5)), so the two can be compared

The same keys give the same stream within a run, different keys give independent streams, and
``REFEBM_TEST_SEED=k pytest`` reruns the whole suite with fresh streams for every k. The default
run (k = 0) is deterministic. A statistical test must therefore hold on every stream: it states
its bound and its false-failure rate (at most 1e-6 per assertion) in a comment.

(This lives in its own module rather than in ``conftest.py`` because the repository root has a
``conftest.py`` too, so ``import conftest`` would be ambiguous.)
"""

import hashlib
import os

import numpy as np

__all__ = ["TEST_SEED", "make_rng", "make_seed", "seed_sequence"]


def _base_seed():
    raw = os.environ.get("REFEBM_TEST_SEED", "0").strip() or "0"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"REFEBM_TEST_SEED must be a non-negative integer, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"REFEBM_TEST_SEED must be a non-negative integer, got {value}")
    return value


#: The base seed of this run (``REFEBM_TEST_SEED``, default 0).
TEST_SEED = _base_seed()


def _key_to_int(key):
    if isinstance(key, (bool, np.bool_)):
        raise TypeError(f"seed keys must be int or str, got {key!r}")
    if isinstance(key, (int, np.integer)):
        if key < 0:
            raise ValueError(f"seed keys must be >= 0, got {key}")
        return int(key)
    if isinstance(key, str):
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    raise TypeError(f"seed keys must be int or str, got {type(key).__name__}")


def seed_sequence(*keys):
    """The ``numpy.random.SeedSequence`` of this run's base seed and ``keys`` (ints or strings)."""
    return np.random.SeedSequence([TEST_SEED, *(_key_to_int(k) for k in keys)])


def make_seed(*keys):
    """A non-negative int seed (below 2**63) for the stream named by ``keys`` in this run."""
    return int(seed_sequence(*keys).generate_state(1, np.uint64)[0] >> np.uint64(1))


def make_rng(*keys):
    """A ``numpy.random.Generator`` for the stream named by ``keys``: ``default_rng(make_seed(*keys))``."""
    return np.random.default_rng(make_seed(*keys))
