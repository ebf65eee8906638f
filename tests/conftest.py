"""Shared test settings: the ``rng`` fixture, hypothesis profiles and backend parametrization.

Seeds
-----
Tests take generators and seeds from ``seeding.py`` (``make_rng(*keys)``, ``make_seed(*keys)``)
or from the ``rng`` fixture below; ``REFEBM_TEST_SEED=k pytest`` reruns the suite with fresh
streams (see ``seeding.py``).

Hypothesis
----------
``REFEBM_HYPOTHESIS_PROFILE`` picks the profile:

- ``default`` (plain ``pytest``): derandomized and without an example database, so every run in
  every checkout draws the same examples and never replays a failure stored by an earlier run.
- ``ci`` (used by ``.ci/run``): the same, and prints the blob that reproduces a failure.
- ``explore``: randomized, 500 examples per test, failures stored in ``.hypothesis/`` and
  replayed until fixed; for looking for new counterexamples, not a pass/fail gate.

With ``REFEBM_TEST_SEED=k`` (k != 0) every hypothesis test is also seeded from k (through
``hypothesis.seed``), so one number reproduces a whole fresh run, hypothesis draws included.
"""

import os

# Small matrix products are much slower with several BLAS threads on a small shared machine;
# the suite runs one thread per worker (set before NumPy is first imported).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import seed as _hypothesis_seed

from seeding import TEST_SEED, make_rng, make_seed


@pytest.fixture
def rng(request):
    """A generator for this test, keyed by its node id (parameters included)."""
    return make_rng(request.node.nodeid)


_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("default", derandomize=True, database=None, max_examples=25, **_COMMON)
settings.register_profile("ci", derandomize=True, database=None, max_examples=25,
                          print_blob=True, **_COMMON)
settings.register_profile("explore", derandomize=False, max_examples=500, print_blob=True,
                          **_COMMON)
settings.load_profile(os.environ.get("REFEBM_HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(items):
    """With ``REFEBM_TEST_SEED=k`` (k != 0), seed every hypothesis test from k and its name."""
    if TEST_SEED == 0:
        return
    for item in items:
        func = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
        if getattr(func, "is_hypothesis_test", False):
            _hypothesis_seed(make_seed("hypothesis", func.__module__, func.__qualname__))(func)


def pytest_report_header(config):
    profile = settings.get_current_profile_name()
    return f"refebm: REFEBM_TEST_SEED={TEST_SEED}, hypothesis profile {profile!r}"


def _namespaces():
    import autograd.numpy as anp

    out = [pytest.param(anp, id="numpy")]
    try:
        import array_api_strict

        out.append(pytest.param(array_api_strict, id="array_api_strict"))
    except ImportError:  # pragma: no cover
        pass
    out.append(pytest.param("cupy", id="cupy", marks=pytest.mark.gpu))
    return out


def _cupy_or_skip():
    try:
        import cupy
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no CuPy, no driver or no GPU
        pytest.skip(f"CuPy with a working GPU is not available: {type(exc).__name__}")
    return cupy


@pytest.fixture(params=_namespaces())
def xp(request):
    """The array namespaces the backend-agnostic paths run on (CuPy skips without a GPU)."""
    if request.param == "cupy":
        return _cupy_or_skip()
    return request.param


@pytest.fixture
def to_xp(xp):
    """Move a NumPy array to the namespace under test."""
    def move(a):
        return xp.asarray(np.asarray(a, dtype=np.float64))
    return move
