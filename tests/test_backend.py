"""The array namespace: defaults, explicit choices, mixing, and the log-sum-exp helper."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from scipy.special import logsumexp as scipy_logsumexp

from refebm import _backend as B

from seeding import make_rng


def test_default_is_autograd_numpy():
    assert B.array_namespace(np.ones(2)) is anp
    assert B.array_namespace(1.0, None, [1, 2]) is anp
    assert B.array_namespace(np.ones(2), xp=np) is anp


def test_array_api_strict_arrays_give_their_namespace():
    xps = pytest.importorskip("array_api_strict")
    assert B.array_namespace(xps.asarray([1.0]), 2.0) is xps


def test_mixing_two_foreign_namespaces_is_an_error():
    xps = pytest.importorskip("array_api_strict")

    class Other:
        def __array_namespace__(self):
            return np.linalg  # any module that is not array_api_strict

    with pytest.raises(TypeError, match="two namespaces"):
        B.array_namespace(xps.asarray([1.0]), Other())


def test_set_backend_rejects_unknown_names():
    with pytest.raises(ValueError, match="`name` must be one of"):
        B.set_backend("torch")
    assert B.get_backend() == "numpy"


def test_set_backend_cupy_needs_cupy():
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="CuPy"):
            B.set_backend("cupy")
        assert B.get_backend() == "numpy"
    else:  # pragma: no cover - machines with CuPy
        B.set_backend("cupy")
        B.set_backend("numpy")


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_logsumexp_matches_scipy(xp, axis):
    # random inputs to an exact check: no false-failure rate applies
    a = make_rng(0).normal(size=(4, 5)) * 1e3
    got = B.to_numpy(B.logsumexp(xp.asarray(a), axis=axis))
    np.testing.assert_allclose(got, scipy_logsumexp(a, axis=axis), rtol=1e-13)


def test_logsumexp_of_all_minus_inf_is_minus_inf(xp):
    a = xp.asarray([-np.inf, -np.inf])
    assert float(B.to_numpy(B.logsumexp(a))) == -np.inf


def test_logsumexp_is_differentiable():
    a = np.array([0.3, -1.2, 2.0])
    g = autograd.grad(lambda v: B.logsumexp(v))(a)
    np.testing.assert_allclose(g, np.exp(a - scipy_logsumexp(a)), rtol=1e-13)


def test_concat(xp):
    out = B.concat([xp.ones((2, 1)), xp.zeros((2, 2))], axis=1)
    np.testing.assert_array_equal(B.to_numpy(out), [[1, 0, 0], [1, 0, 0]])


def test_float_dtype_keeps_float32(xp):
    assert B.float_dtype(xp.ones(2, dtype=xp.float32)) == xp.float32
    assert B.float_dtype(xp.ones(2, dtype=xp.float64)) == xp.float64


class _FakeTorchTensor:
    """Stands for a torch tensor (module name ``torch``, ``__array__`` and ``__dlpack__``)."""

    def __init__(self, a):
        self._a = np.asarray(a)
        self.shape = self._a.shape

    def __array__(self, dtype=None, copy=None):
        return self._a

    def __dlpack__(self, stream=None):
        return self._a.__dlpack__()


_FakeTorchTensor.__module__ = "torch"


def test_array_namespace_rejects_an_xp_that_is_not_a_namespace():
    with pytest.raises(TypeError, match=r"`xp` must be an array namespace .* got 'bogus'"):
        B.array_namespace(xp="bogus")
    with pytest.raises(TypeError, match="`xp` must be an array namespace"):
        B.array_namespace(np.ones(2), xp=3)
    assert B.array_namespace(xp=np) is anp


def test_array_namespace_names_the_argument_holding_a_torch_tensor():
    def entry_point(x, noise):   # a refebm-style entry point: finds xp first
        return B.array_namespace(x, noise)

    with pytest.raises(TypeError, match=r"refebm computes on NumPy float64 arrays; convert "
                                        r"with `t\.detach\(\)\.cpu\(\)\.numpy\(\)`"):
        entry_point(np.ones((2, 1)), _FakeTorchTensor(np.ones((2, 1))))
    assert B.foreign_library(_FakeTorchTensor(1.0)) == "torch"
    assert B.foreign_library(np.ones(2)) is None
    msg = B.foreign_array_message("noise", _FakeTorchTensor(1.0))
    assert msg.startswith("`noise` is a torch array (torch._FakeTorchTensor): refebm computes")


def test_a_torch_tensor_passed_to_a_public_function_is_named():
    from refebm.energies import double_well_energy
    from refebm.families import Gaussian

    with pytest.raises(TypeError, match=r"`x` is a torch array .* refebm computes on NumPy"):
        double_well_energy(_FakeTorchTensor(np.ones((2, 1))))
    with pytest.raises(TypeError, match=r"`cov` is a torch array"):
        Gaussian(np.zeros(2), _FakeTorchTensor(np.eye(2)))
