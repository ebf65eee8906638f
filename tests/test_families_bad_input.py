"""refebm.families: every public argument refuses bad input with a message that names it.

Nothing here depends on random draws: no false-failure rate applies.
"""

import numpy as np
import pytest

from refebm.families import (Bernoulli, Beta, Dirichlet, Exponential, ExponentialFamily, Gamma,
                             Gaussian, GaussianMixture, Poisson, Wishart)

from seeding import make_seed

NAN, INF = float("nan"), float("inf")
M2, C2 = np.array([0.0, 1.0]), np.array([[1.0, 0.2], [0.2, 0.5]])
W, MS, CS = np.array([0.4, 0.6]), np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([C2, np.eye(2)])


def _generic(**overrides):
    args = dict(natural_params=np.array([-1.0]), sufficient_stats=lambda x: x,
                log_base_measure=lambda x: 0.0 * x[:, 0],
                log_partition=lambda t: -np.log(-t[0]), event_shape=1,
                support=lambda x: x[:, 0] >= 0)
    args.update(overrides)
    positional = [args.pop(k) for k in ("natural_params", "sufficient_stats", "log_base_measure",
                                        "log_partition")]
    return ExponentialFamily(*positional, **args)


CONSTRUCTORS = [
    # Gaussian
    (lambda: Gaussian([0.0, NAN], C2), ValueError, r"`mean` must be finite"),
    (lambda: Gaussian([0.0, INF], C2), ValueError, r"`mean` must be finite"),
    (lambda: Gaussian([[0.0, 1.0]], C2), ValueError, r"`mean` must have 1 dimension"),
    (lambda: Gaussian(np.zeros(0), np.zeros((0, 0))), ValueError, r"`mean` must not be empty"),
    (lambda: Gaussian("0 1", C2), TypeError, r"`mean` must be a real array"),
    (lambda: Gaussian(M2, np.eye(3)), ValueError, r"`cov` must have shape \(2, 2\)"),
    (lambda: Gaussian(M2, np.ones((2, 3))), ValueError, r"`cov` must be a square matrix"),
    (lambda: Gaussian(M2, np.ones(2)), ValueError, r"`cov` must have 2 dimension"),
    (lambda: Gaussian(M2, [[1.0, 0.5], [0.0, 1.0]]), ValueError, r"`cov` must be symmetric"),
    (lambda: Gaussian(M2, [[1.0, 2.0], [2.0, 1.0]]), ValueError,
     r"`cov` must be positive definite, got smallest eigenvalue -1"),
    (lambda: Gaussian(M2, [[1.0, NAN], [NAN, 1.0]]), ValueError, r"`cov` must be finite"),
    (lambda: Gaussian(M2, None), TypeError, r"`cov` must be a real array"),
    # Exponential
    (lambda: Exponential(0.0), ValueError, r"`rate` must be > 0.0, got 0.0"),
    (lambda: Exponential(-1.0), ValueError, r"`rate` must be > 0.0, got -1.0"),
    (lambda: Exponential(NAN), ValueError, r"`rate` must be finite"),
    (lambda: Exponential(INF), ValueError, r"`rate` must be finite"),
    (lambda: Exponential([1.0]), TypeError, r"`rate` must be a real number"),
    (lambda: Exponential("1"), TypeError, r"`rate` must be a real number"),
    (lambda: Exponential(True), TypeError, r"`rate` must be a real number"),
    # Gamma
    (lambda: Gamma(0.0, 1.0), ValueError, r"`shape` must be > 0.0"),
    (lambda: Gamma(NAN, 1.0), ValueError, r"`shape` must be finite"),
    (lambda: Gamma(1.0, -2.0), ValueError, r"`rate` must be > 0.0, got -2.0"),
    (lambda: Gamma(1.0, INF), ValueError, r"`rate` must be finite"),
    (lambda: Gamma(np.ones(2), 1.0), TypeError, r"`shape` must be a real number"),
    # Beta
    (lambda: Beta(-0.5, 1.0), ValueError, r"`a` must be > 0.0, got -0.5"),
    (lambda: Beta(1.0, 0.0), ValueError, r"`b` must be > 0.0, got 0.0"),
    (lambda: Beta(NAN, 1.0), ValueError, r"`a` must be finite"),
    (lambda: Beta(1.0, None), TypeError, r"`b` must be a real number"),
    # Poisson
    (lambda: Poisson(0.0), ValueError, r"`rate` must be > 0.0, got 0.0"),
    (lambda: Poisson(NAN), ValueError, r"`rate` must be finite"),
    (lambda: Poisson("2"), TypeError, r"`rate` must be a real number"),
    # Bernoulli: the open interval (0, 1)
    (lambda: Bernoulli(0.0), ValueError, r"`p` must be > 0.0, got 0.0"),
    (lambda: Bernoulli(1.0), ValueError, r"`p` must be < 1.0, got 1.0"),
    (lambda: Bernoulli(1.5), ValueError, r"`p` must be < 1.0, got 1.5"),
    (lambda: Bernoulli(NAN), ValueError, r"`p` must be finite"),
    (lambda: Bernoulli([0.5]), TypeError, r"`p` must be a real number"),
    # Dirichlet
    (lambda: Dirichlet([1.0]), ValueError, r"`alpha` must have at least 2 entries"),
    (lambda: Dirichlet([1.0, -1.0]), ValueError, r"`alpha` must be > 0"),
    (lambda: Dirichlet([1.0, 0.0]), ValueError, r"`alpha` must be > 0"),
    (lambda: Dirichlet([1.0, NAN]), ValueError, r"`alpha` must be finite"),
    (lambda: Dirichlet([[1.0, 2.0]]), ValueError, r"`alpha` must have 1 dimension"),
    (lambda: Dirichlet([]), ValueError, r"`alpha` must not be empty"),
    (lambda: Dirichlet("ab"), TypeError, r"`alpha` must be a real array"),
    # Wishart
    (lambda: Wishart(1.0, C2), ValueError, r"`df` must be > 1, got 1.0"),
    (lambda: Wishart(-0.5, np.eye(1)), ValueError, r"`df` must be > 0, got -0.5"),
    (lambda: Wishart(NAN, C2), ValueError, r"`df` must be finite"),
    (lambda: Wishart([3.0], C2), TypeError, r"`df` must be a real number"),
    (lambda: Wishart(3.0, [[1.0, 2.0], [2.0, 1.0]]), ValueError,
     r"`scale` must be positive definite"),
    (lambda: Wishart(3.0, [[1.0, 0.1], [0.0, 1.0]]), ValueError, r"`scale` must be symmetric"),
    (lambda: Wishart(3.0, np.ones((2, 2, 2))), ValueError, r"`scale` must have 2 dimension"),
    (lambda: Wishart(3.0, np.zeros((0, 0))), ValueError, r"`scale` must not be empty"),
    # GaussianMixture
    (lambda: GaussianMixture([0.5, 0.6], MS, CS), ValueError, r"`weights` must sum to 1"),
    (lambda: GaussianMixture([0.0, 1.0], MS, CS), ValueError, r"`weights` must have entries > 0"),
    (lambda: GaussianMixture([-0.5, 1.5], MS, CS), ValueError,
     r"`weights` must have entries > 0"),
    (lambda: GaussianMixture([NAN, 1.0], MS, CS), ValueError, r"`weights` must be finite"),
    (lambda: GaussianMixture([[0.4, 0.6]], MS, CS), ValueError,
     r"`weights` must have 1 dimension"),
    (lambda: GaussianMixture(W, MS[:1], CS), ValueError, r"`means` must have shape \(2, d\)"),
    (lambda: GaussianMixture(W, M2, CS), ValueError, r"`means` must have 2 dimension"),
    (lambda: GaussianMixture(W, [[0.0, NAN], [1.0, 1.0]], CS), ValueError,
     r"`means` must be finite"),
    (lambda: GaussianMixture(W, MS, CS[:, :1, :1]), ValueError,
     r"`covs` must have shape \(2, 2, 2\)"),
    (lambda: GaussianMixture(W, MS, [C2, [[1.0, 2.0], [2.0, 1.0]]]), ValueError,
     r"`covs\[1\]` must be positive definite"),
    (lambda: GaussianMixture(W, MS, [C2, [[1.0, 0.5], [0.0, 1.0]]]), ValueError,
     r"`covs\[1\]` must be symmetric"),
    # ExponentialFamily
    (lambda: _generic(natural_params=np.array([[1.0]])), ValueError,
     r"`natural_params` must have 1 dimension"),
    (lambda: _generic(natural_params=np.array([NAN])), ValueError,
     r"`natural_params` must be finite"),
    (lambda: _generic(sufficient_stats=3.0), TypeError, r"`sufficient_stats` must be callable"),
    (lambda: _generic(log_base_measure=None), TypeError, r"`log_base_measure` must be callable"),
    (lambda: _generic(log_partition="A"), TypeError, r"`log_partition` must be callable"),
    (lambda: _generic(support=1), TypeError, r"`support` must be callable"),
    (lambda: _generic(sampler=1), TypeError, r"`sampler` must be callable"),
    (lambda: _generic(event_shape="d"), TypeError, r"`event_shape` must be an int"),
    (lambda: _generic(event_shape=True), TypeError, r"`event_shape` must be an int"),
    (lambda: _generic(event_shape=(0,)), ValueError, r"`event_shape` must have entries >= 1"),
    (lambda: _generic(discrete="no"), TypeError, r"`discrete` must be a bool"),
]


@pytest.mark.parametrize("make, exc, match", CONSTRUCTORS)
def test_constructor_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


FAMILIES = {
    "gaussian": (Gaussian(M2, C2), np.zeros((3, 2))),
    "exponential": (Exponential(1.0), np.ones((3, 1))),
    "gamma": (Gamma(2.0, 1.0), np.ones((3, 1))),
    "beta": (Beta(2.0, 1.0), np.full((3, 1), 0.5)),
    "poisson": (Poisson(2.0), np.ones((3, 1))),
    "bernoulli": (Bernoulli(0.5), np.ones((3, 1))),
    "dirichlet": (Dirichlet([1.0, 2.0, 3.0]), np.full((3, 3), 1 / 3)),
    "wishart": (Wishart(3.0, C2), np.array([np.eye(2)] * 3)),
    "mixture": (GaussianMixture(W, MS, CS), np.zeros((3, 2))),
    "generic": (_generic(), np.ones((3, 1))),
}


def _bad_points(good):
    """(points, exception, message) triples derived from a good batch of points."""
    nan = good.copy()
    nan[0, ...] = NAN
    inf = good.copy()
    inf[-1, ...] = INF
    wrong_d = np.concatenate([good, good], axis=1)
    return [
        (nan, ValueError, r"`x` must be finite, got NaN"),
        (inf, ValueError, r"`x` must be finite, got inf"),
        (good[None], ValueError, r"`x` must have"),
        (good.reshape(-1)[0], ValueError, r"`x` must have"),
        (good[:0], ValueError, r"`x` must not be empty"),
        (wrong_d, ValueError, r"`x` must have shape \(n, "),
        ("x", TypeError, r"`x` must be a real array"),
    ]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_points_are_checked_by_every_method(name):
    fam, good = FAMILIES[name]
    methods = ["energy", "log_prob"]
    if not getattr(fam, "discrete", True):
        methods.append("score")
    if hasattr(fam, "energy_and_score"):
        methods.append("energy_and_score")
    if isinstance(fam, ExponentialFamily):
        methods += ["sufficient_stats", "log_base_measure", "in_support", "grad_energy_params"]
    for points, exc, match in _bad_points(good):
        for method in methods:
            with pytest.raises(exc, match=match):
                getattr(fam, method)(points)


def test_univariate_flat_points_are_accepted_but_not_matrices():
    with pytest.raises(ValueError, match=r"`x` must have 1 or 2 dimension"):
        Gamma(2.0, 1.0).energy(np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 1\) or \(n,\)"):
        Gamma(2.0, 1.0).energy(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension"):
        Gaussian(np.zeros(1), np.eye(1)).energy(np.ones(3))      # only where documented


@pytest.mark.parametrize("name", list(FAMILIES))
def test_sample_arguments(name):
    fam, _ = FAMILIES[name]
    for n, exc, match in [(0, ValueError, r"`n` must be >= 1, got 0"),
                          (-2, ValueError, r"`n` must be >= 1"),
                          (1.5, TypeError, r"`n` must be an integer"),
                          ("3", TypeError, r"`n` must be an integer")]:
        with pytest.raises(exc, match=match):
            fam.sample(n, rng=make_seed(0))
    with pytest.raises(TypeError, match=r"`rng` must be a numpy.random.Generator"):
        fam.sample(2, rng="seed")
    with pytest.raises(ValueError, match=r"`rng` must be a non-negative int seed"):
        fam.sample(2, rng=-1)


def test_generic_family_without_sampler():
    with pytest.raises(TypeError, match="without `sampler`"):
        _generic().sample(3, rng=make_seed(0))


@pytest.mark.parametrize("fam, bad, match", [
    (Gaussian(M2, C2), np.zeros(6), r"`theta` must lie in the natural parameter space"),
    (Gaussian(M2, C2), np.zeros(5), r"`theta` must have shape \(6\)"),
    (Gamma(2.0, 1.0), np.array([0.0, 1.0]), r"natural parameter space of Gamma"),
    (Gamma(2.0, 1.0), np.array([-1.5, -1.0]), r"natural parameter space of Gamma"),
    (Beta(2.0, 1.0), np.array([-1.0, 0.0]), r"natural parameter space of Beta"),
    (Exponential(1.0), np.array([0.0]), r"natural parameter space of Exponential"),
    (Dirichlet([1.0, 2.0]), np.array([-2.0, 0.0]), r"natural parameter space of Dirichlet"),
    (Wishart(3.0, C2), np.array([-1.5, -0.5, 0.0, 0.0, -0.5]), r"natural parameter space"),
    (Wishart(3.0, C2), np.array([0.5, 0.5, 0.0, 0.0, 0.5]), r"natural parameter space"),
    (Poisson(1.0), np.array([NAN]), r"`theta` must be finite"),
    (Bernoulli(0.5), np.array([[0.0]]), r"`theta` must have shape \(1\)"),
])
def test_log_partition_natural_arguments(fam, bad, match):
    with pytest.raises(ValueError, match=match):
        fam.log_partition_natural(bad)


def test_from_natural_arguments():
    with pytest.raises(ValueError, match=r"`theta` must have length d \+ d\^2"):
        Gaussian.from_natural(np.zeros(5))
    with pytest.raises(ValueError, match=r"`theta` must have length 1 \+ p\^2"):
        Wishart.from_natural(np.zeros(3))
    with pytest.raises(ValueError, match=r"`theta` must have shape \(2\)"):
        Gamma.from_natural(np.zeros(3))
    with pytest.raises(ValueError, match=r"`shape` must be > 0"):     # theta[0] <= -1
        Gamma.from_natural(np.array([-1.0, -1.0]))
    with pytest.raises(ValueError, match=r"`cov` must be positive definite"):
        Gaussian.from_natural(np.array([0.0, 1.0]))


def test_from_noise_arguments():
    g, mix = FAMILIES["gaussian"][0], FAMILIES["mixture"][0]
    with pytest.raises(ValueError, match=r"`noise` must have shape \(n, 2\)"):
        g.from_noise(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"`noise` must be finite"):
        g.from_noise(np.full((3, 2), NAN))
    with pytest.raises(ValueError, match=r"`components` must lie in 0..1"):
        mix.from_noise(np.array([0, 2]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"`components` must be integers of shape \(2,\)"):
        mix.from_noise(np.array([0.0, 1.0]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"`components` must be integers of shape \(2,\)"):
        mix.from_noise(np.array([0, 1, 1]), np.zeros((2, 2)))


def test_generic_family_support_must_return_booleans():
    fam = _generic(support=lambda x: x[:, 0])            # floats, not booleans
    with pytest.raises(ValueError, match=r"`support` must return booleans of shape \(3,\)"):
        fam.energy(np.ones((3, 1)))
    fam = _generic(support=lambda x: x[:2, 0] > 0)       # the wrong length
    with pytest.raises(ValueError, match=r"`support` must return booleans of shape \(3,\)"):
        fam.energy(np.ones((3, 1)))


def _rayleigh(natural_params):
    import autograd.numpy as anp

    return ExponentialFamily(natural_params, lambda x: x ** 2, lambda x: anp.log(x[:, 0]),
                             lambda theta: -anp.log(-2.0 * theta[0]), event_shape=1,
                             support=lambda x: x[:, 0] > 0)


def test_natural_params_of_the_wrong_length_are_named():
    fam = _rayleigh(np.array([-0.125, 0.5]))   # T(x) = x^2 has one statistic
    with pytest.raises(ValueError, match=r"`natural_params` has 2 entries but "
                                         r"`sufficient_stats` returned shape \(3, 1\)"):
        fam.energy(np.ones((3, 1)))


def test_log_partition_natural_outside_the_natural_space_is_an_error():
    fam = _rayleigh(np.array([-0.125]))
    with pytest.raises(ValueError, match=r"`theta` must lie in the natural parameter space"):
        fam.log_partition_natural(np.array([0.5]))   # A = -log(-1): not finite
