"""Argument checks: each names the argument, the rule and the value."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from refebm import _validate as V

from seeding import make_rng


def test_real_array_promotes_ints_and_keeps_float32():
    assert V.real_array("x", [1, 2]).dtype == np.float64
    assert V.real_array("x", np.ones(2, np.float32)).dtype == np.float32


@pytest.mark.parametrize("bad, kind, match", [
    ("abc", TypeError, "`x` must be a real array"),
    (None, TypeError, "`x` must be a real array"),
    ([1 + 2j], TypeError, "`x` must be a real array"),
    ([np.nan], ValueError, "`x` must be finite, got NaN"),
    ([np.inf], ValueError, "`x` must be finite, got inf"),
    (np.ones((0,)), ValueError, "`x` must not be empty"),
])
def test_real_array_rejects(bad, kind, match):
    with pytest.raises(kind, match=match):
        V.real_array("x", bad)


def test_real_array_shapes():
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension\(s\), got shape \(3,\)"):
        V.real_array("x", np.ones(3), ndim=2)
    with pytest.raises(ValueError, match=r"`x` must have shape \(any, 2\), got shape \(3, 3\)"):
        V.real_array("x", np.ones((3, 3)), shape=(None, 2))
    with pytest.raises(ValueError, match="at least 2"):
        V.real_array("x", np.ones(3), min_ndim=2)


def test_checks_pass_autograd_boxes_through():
    def f(m):
        m = V.real_array("mean", m, ndim=1)
        V.positive("scale", m)
        return anp.sum(m ** 2)
    np.testing.assert_allclose(autograd.grad(f)(np.array([1.0, 2.0])), [2.0, 4.0])


def test_scalar_rules():
    assert V.scalar("tol", 0.5, low=0, low_open=True) == 0.5
    with pytest.raises(ValueError, match=r"`step_size` must be > 0, got -0.1"):
        V.scalar("step_size", -0.1, low=0, low_open=True)
    with pytest.raises(ValueError, match=r"`p` must be <= 1, got 1.5"):
        V.scalar("p", 1.5, high=1)
    with pytest.raises(ValueError, match="`tol` must be finite"):
        V.tolerance("tol", np.nan)
    with pytest.raises(TypeError, match="`tol` must be a real number"):
        V.scalar("tol", "1e-3")
    with pytest.raises(TypeError, match="`tol` must be a real number"):
        V.scalar("tol", np.ones(2))


def test_positive():
    with pytest.raises(ValueError, match=r"`rate` must be > 0"):
        V.positive("rate", np.array([1.0, 0.0]))
    V.positive("rate", 0.0, strict=False)
    with pytest.raises(ValueError, match=r"`rate` must be >= 0"):
        V.positive("rate", -1.0, strict=False)
    with pytest.raises(ValueError, match="`rate` must be finite"):
        V.positive("rate", np.inf)


def test_integer():
    assert V.integer("n", np.int64(3), minimum=1) == 3
    with pytest.raises(TypeError, match="`n` must be an integer, got 2.0"):
        V.integer("n", 2.0)
    with pytest.raises(TypeError, match="`n` must be an integer, got True"):
        V.integer("n", True)
    with pytest.raises(ValueError, match="`n` must be >= 1, got 0"):
        V.integer("n", 0, minimum=1)
    with pytest.raises(ValueError, match="`n` must be <= 4, got 5"):
        V.integer("n", 5, maximum=4)


def test_points():
    assert V.points("x", np.ones((3, 2)), d=2).shape == (3, 2)
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 3\)"):
        V.points("x", np.ones((3, 2)), d=3)


def test_positive_definite():
    V.positive_definite("cov", np.eye(2))
    with pytest.raises(ValueError, match="`cov` must be symmetric"):
        V.positive_definite("cov", np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="`cov` must be positive definite, got smallest"):
        V.positive_definite("cov", np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="`cov` must be a square matrix"):
        V.positive_definite("cov", np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"`cov` must have shape \(3, 3\)"):
        V.positive_definite("cov", np.eye(2), size=3)


def test_probability_vector():
    V.probability_vector("weights", [0.2, 0.8])
    with pytest.raises(ValueError, match="`weights` must sum to 1"):
        V.probability_vector("weights", [0.2, 0.7])
    with pytest.raises(ValueError, match="`weights` must have entries >= 0"):
        V.probability_vector("weights", [-0.2, 1.2])
    with pytest.raises(ValueError, match="`weights` must have entries > 0"):
        V.probability_vector("weights", [0.0, 1.0], allow_zero=False)


def test_rng():
    # no assertion depends on a drawn value: no false-failure rate applies
    g = make_rng(1)
    assert V.rng(g) is g
    assert isinstance(V.rng(3), np.random.Generator)
    assert isinstance(V.rng(None), np.random.Generator)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        V.rng("seed")
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        V.rng(True)
    with pytest.raises(ValueError, match="`rng` must be a non-negative int seed"):
        V.rng(-1)


def test_function_and_energy_values():
    with pytest.raises(TypeError, match="`energy` must be callable"):
        V.function("energy", 3.0)
    V.energy_values("energy", np.array([0.0, np.inf]), 2)
    with pytest.raises(ValueError, match=r"`energy` must return shape \(3,\)"):
        V.energy_values("energy", np.zeros((3, 1)), 3)
    with pytest.raises(ValueError, match="`energy` returned NaN at 1 of 2 points"):
        V.energy_values("energy", np.array([0.0, np.nan]), 2)
    with pytest.raises(ValueError, match="returned -inf"):
        V.energy_values("energy", np.array([0.0, -np.inf]), 2)
    with pytest.raises(ValueError, match="returned inf"):
        V.energy_values("energy", np.array([0.0, np.inf]), 2, allow_inf=False)


def test_bounds():
    assert V.bounds("bounds", [(-np.inf, 1)]) == [(-np.inf, 1.0)]
    with pytest.raises(ValueError, match=r"`bounds\[0\]` must have lo < hi, got \(1.0, 1.0\)"):
        V.bounds("bounds", [(1, 1)])
    with pytest.raises(ValueError, match="must not contain NaN"):
        V.bounds("bounds", [(np.nan, 1)])
    with pytest.raises(TypeError, match=r"`bounds\[0\]` must be a \(lo, hi\) pair"):
        V.bounds("bounds", [(1, 2, 3)])
    with pytest.raises(TypeError, match="`bounds` must be a sequence"):
        V.bounds("bounds", 3.0)
    with pytest.raises(ValueError, match="`bounds` must not be empty"):
        V.bounds("bounds", [])
    with pytest.raises(ValueError, match="at most 4 pairs"):
        V.bounds("bounds", [(0, 1)] * 5, max_dim=4)


def test_same_shape_and_one_of():
    with pytest.raises(ValueError, match=r"`noise` must have the shape of `x` \(2, 2\)"):
        V.same_shape("x", np.ones((2, 2)), "noise", np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"`method` must be one of \('a', 'b'\), got 'c'"):
        V.one_of("method", "c", ("a", "b"))


def test_show_is_short_for_big_arrays():
    assert V.show(np.ones((100, 3))) == "an array of shape (100, 3)"
    assert "shape (2,)" in V.show(np.ones(2))


class _FakeJaxArray:
    """Stands for a JAX array: module ``jaxlib...``, ``__array__``, ``__array_namespace__``."""

    def __init__(self, a):
        self._a = np.asarray(a)
        self.shape = self._a.shape

    def __array__(self, dtype=None, copy=None):
        return self._a

    def __array_namespace__(self, api_version=None):
        raise AssertionError("refebm must not compute on a JAX namespace")


_FakeJaxArray.__module__ = "jaxlib.xla_extension"


@pytest.mark.parametrize("check", [
    lambda v: V.real_array("x", v),
    lambda v: V.points("x", v),
    lambda v: V.scalar("x", v),
    lambda v: V.positive("x", v),
    lambda v: V.integer("x", v),
    lambda v: V.real_dtype("x", v, np),
    lambda v: V.same_shape("y", np.ones(2), "x", v),
    lambda v: V.not_foreign("x", v),
])
def test_every_array_check_names_a_jax_array_and_says_how_to_convert(check):
    with pytest.raises(TypeError, match=r"^`x` is a jax array \(jaxlib\.xla_extension\."
                                        r"_FakeJaxArray\): refebm computes on NumPy float64 "
                                        r"arrays; convert with `numpy\.asarray\(a\)`$"):
        check(_FakeJaxArray(np.ones((2, 2))))


def test_a_callable_returning_a_jax_array_is_named():
    with pytest.raises(TypeError, match=r"`energy` returned a jax array"):
        V.energy_values("energy", _FakeJaxArray(np.ones(3)), 3)


def test_labels_are_integer_indices_of_the_right_shape_and_range():
    assert V.labels("labels", np.array([0, 2, 1]), 3, 3).tolist() == [0, 2, 1]
    with pytest.raises(TypeError, match="`labels` must be an integer array"):
        V.labels("labels", np.array([0.0, 1.0]), 2, 2)
    with pytest.raises(ValueError, match=r"`labels` must have shape \(3,\) \(one per point\)"):
        V.labels("labels", np.array([0, 1]), 3, 2)
    with pytest.raises(ValueError, match=r"`labels` must lie in 0..1"):
        V.labels("labels", np.array([0, 2]), 2, 2)
    with pytest.raises(ValueError, match="`labels` must be >= 0"):
        V.labels("labels", np.array([0, -1]), 2)
