"""refebm.families on other array namespaces: the backend-agnostic paths of Gaussian,
Exponential, Gamma, Beta and GaussianMixture give the NumPy values, in the caller's namespace.

Fixed inputs to exact checks: no false-failure rate applies.
"""

import numpy as np
import pytest

from refebm._backend import array_namespace, is_numpy_namespace, to_numpy
from refebm.families import (Bernoulli, Beta, Dirichlet, Exponential, Gamma, Gaussian,
                             GaussianMixture, Poisson, Wishart)

from seeding import make_seed

MEAN = np.array([0.5, -1.0, 2.0])
COV = np.array([[1.5, 0.3, -0.2], [0.3, 0.9, 0.1], [-0.2, 0.1, 0.7]])
X3 = np.array([[0.1, 0.2, 0.3], [-1.0, 2.0, 0.5], [3.0, -2.0, 1.0], [150.0, 0.0, -80.0]])
X1 = np.array([[0.3], [0.5], [0.01], [0.95]])

FAMILIES = {
    "gaussian": (lambda to: Gaussian(to(MEAN), to(COV)), X3, None),
    "exponential": (lambda to: Exponential(to(0.7)), X1, np.array([[-1.0], [0.5]])),
    "gamma": (lambda to: Gamma(to(0.6), to(1.7)), X1, np.array([[0.0], [0.5]])),
    "beta": (lambda to: Beta(to(0.5), to(2.5)), X1, np.array([[1.0], [0.5], [-3.0]])),
    "mixture": (lambda to: GaussianMixture(
        to([0.25, 0.75]), to([MEAN, -MEAN]), to([COV, np.eye(3)])), X3, None),
}


def _np(a):
    return np.asarray(to_numpy(a), dtype=np.float64)


def _same_namespace(out, xp):
    if is_numpy_namespace(xp):
        return isinstance(out, (np.ndarray, np.generic))
    return array_namespace(out) is xp


@pytest.mark.parametrize("name", list(FAMILIES))
def test_backend_agnostic_paths_match_numpy(name, xp, to_xp):
    make, points, outside = FAMILIES[name]
    ref = make(lambda a: np.asarray(a, dtype=np.float64))
    fam = make(to_xp)
    x = to_xp(points)
    for method in ("energy", "log_prob", "score"):
        out = getattr(fam, method)(x)
        assert _same_namespace(out, xp), method
        np.testing.assert_allclose(_np(out), getattr(ref, method)(points), rtol=1e-12,
                                   atol=1e-13)
    out = fam.log_partition()
    assert _same_namespace(out, xp)
    np.testing.assert_allclose(_np(out), ref.log_partition(), rtol=1e-12, atol=1e-15)
    if name != "mixture":
        for method in ("natural_params", "mean_sufficient_stats"):
            value = getattr(fam, method)
            value = value() if callable(value) else value
            np.testing.assert_allclose(_np(value), np.asarray(
                getattr(ref, method)() if callable(getattr(ref, method)) else
                getattr(ref, method)), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(_np(fam.sufficient_stats(x)), ref.sufficient_stats(points),
                                   rtol=1e-12)
    if outside is not None:
        energy = _np(fam.energy(to_xp(outside)))
        np.testing.assert_array_equal(energy, ref.energy(outside))
        assert energy[0] == np.inf and np.isfinite(energy[1])


def test_gaussian_and_mixture_from_noise_in_any_namespace(xp, to_xp):
    z = np.array([[0.5, -1.0, 0.25], [1.0, 0.0, -2.0]])
    g = Gaussian(to_xp(MEAN), to_xp(COV))
    np.testing.assert_allclose(_np(g.from_noise(to_xp(z))), Gaussian(MEAN, COV).from_noise(z),
                               rtol=1e-14)
    make = FAMILIES["mixture"][0]
    comps = np.array([1, 0])
    np.testing.assert_allclose(
        _np(make(to_xp).from_noise(comps, to_xp(z))),
        make(lambda a: np.asarray(a, dtype=float)).from_noise(comps, z), rtol=1e-14)
    # sampling returns NumPy whatever the namespace of the parameters
    assert isinstance(g.sample(3, rng=make_seed(0)), np.ndarray)
    assert isinstance(make(to_xp).sample(3, rng=make_seed(0)), np.ndarray)


def test_mixing_namespaces_is_refused():
    strict = pytest.importorskip("array_api_strict")
    g = Gaussian(strict.asarray(MEAN), strict.asarray(COV))
    with pytest.raises(TypeError, match="move them to one namespace"):
        g.energy(X3)
    with pytest.raises(TypeError, match="move them to one namespace"):
        Gaussian(MEAN, COV).energy(strict.asarray(X3))
    mix = FAMILIES["mixture"][0](strict.asarray)
    with pytest.raises(TypeError, match="move them to one namespace"):
        mix.score(X3)


def test_numpy_only_families_say_so():
    strict = pytest.importorskip("array_api_strict")
    one = strict.asarray(0.5)
    for make in (lambda: Poisson(one), lambda: Bernoulli(one),
                 lambda: Dirichlet(strict.asarray([1.0, 2.0])),
                 lambda: Wishart(strict.asarray(3.0), strict.asarray(np.eye(2)))):
        with pytest.raises(TypeError, match="needs NumPy"):
            make()
