"""Shared test settings: hypothesis profiles and backend parametrization."""

import os

# Small matrix products are much slower with several BLAS threads on a small shared machine;
# the suite runs one thread per worker (set before NumPy is first imported).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=25, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("REFEBM_HYPOTHESIS_PROFILE", "dev"))


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
