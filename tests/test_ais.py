"""Tests of refebm.partition.sampling: importance sampling and AIS against exact log Z.

Statistical assertions: |log Zhat - log Z| <= 5.3 * stderr. By the CLT for the mean of the
weights and the delta method, (log Zhat - log Z) / stderr is asymptotically N(0, 1), and
P(|N(0, 1)| > 5.3) = 1.2e-7 <= 1e-6 (false-failure rate per assertion). The CLT needs weights
with finite variance: here they are bounded (a base wider than the Gaussian target makes
E - E0 bounded below, so every AIS factor exp(-(beta_k - beta_(k-1)) (E - E0)) is bounded; the
RBM's state space is finite), and each test checks that Kish's ESS is at least a tenth of n
(no handful of weights dominates). The bias of the log of a mean is about -stderr^2 / 2
(Jensen; O(var / n)); each test checks that it is below a tenth of the tolerance.
"""


import autograd.numpy as anp
import numpy as np
import pytest
from scipy.special import logsumexp

from refebm.partition.sampling import ais, importance_sampling
from refebm.samplers import (mala_kernel, mh_kernel, rbm_gibbs_kernel, ula_kernel)

from seeding import make_rng, make_seed

Z_TOL = 5.3   # standard errors; normal two-sided tail 1.2e-7


def check_estimate(est, truth):
    assert est.ess >= 0.1 * len(est.log_weights)     # no handful of weights dominates
    assert est.stderr**2 / 2 <= 0.1 * Z_TOL * est.stderr   # Jensen bias negligible
    assert abs(est.log_z - truth) <= Z_TOL * est.stderr


# -- a Gaussian target with known log Z ---------------------------------------------------------

MU = np.array([1.0, -0.5])
COV = np.array([[1.5, 0.6], [0.6, 0.8]])
PREC = np.linalg.inv(COV)
SHIFT = 7.0   # E = quadratic + 7: log Z = log((2 pi)^(d/2) |COV|^(1/2)) - 7
LOG_Z = np.log(2 * np.pi) + 0.5 * np.log(np.linalg.det(COV)) - SHIFT
BASE_SD = 2.0


def gauss_energy(x):
    r = x - MU
    return 0.5 * anp.sum((r @ PREC) * r, axis=-1) + SHIFT


def base_log_prob(x):
    return anp.sum(-0.5 * (x / BASE_SD) ** 2 - np.log(BASE_SD) - 0.5 * np.log(2 * np.pi), axis=-1)


def test_importance_sampling_recovers_gaussian_log_z():
    rng = make_rng(0)
    x = BASE_SD * rng.standard_normal((20000, 2))
    est = importance_sampling(gauss_energy, x, base_log_prob)
    check_estimate(est, LOG_Z)
    # the values version gives the same numbers
    same = importance_sampling(gauss_energy, x, base_log_prob(x))
    assert same.log_z == est.log_z and same.stderr == est.stderr


def test_importance_sampling_with_the_exact_proposal_is_exact():
    # random inputs to an exact check: no false-failure rate applies
    x = make_rng(1).multivariate_normal(MU, COV, size=50)
    r = x - MU
    log_q = -0.5 * np.sum((r @ PREC) * r, axis=-1) - LOG_Z - SHIFT
    est = importance_sampling(gauss_energy, x, log_q)
    np.testing.assert_allclose(est.log_z, LOG_Z, rtol=1e-13)
    assert est.stderr < 1e-13 and abs(est.ess - 50) < 1e-9
    # energies of size 1e4 do not overflow: log Z moves by exactly -1e4
    est_big = importance_sampling(lambda x: gauss_energy(x) + 1e4, x, log_q)
    np.testing.assert_allclose(est_big.log_z, LOG_Z - 1e4, rtol=1e-13)


@pytest.mark.parametrize("kernel", ["mala", "rwmh"])
def test_ais_recovers_gaussian_log_z(kernel):
    rng = make_rng(2)
    x0 = BASE_SD * rng.standard_normal((1000, 2))
    betas = np.linspace(0.0, 1.0, 51)

    def transition(beta, e):
        return mala_kernel(e, 0.3) if kernel == "mala" else mh_kernel(e, 0.8)

    res = ais(gauss_energy, x0, base_log_prob, betas, transition, rng)
    check_estimate(res, LOG_Z)
    assert res.samples.shape == (1000, 2) and res.acceptance_rate.shape == (50,)
    assert np.all((res.acceptance_rate > 0) & (res.acceptance_rate <= 1))


def test_ais_with_two_betas_is_importance_sampling_and_is_deterministic():
    rng = make_rng(3)
    x0 = BASE_SD * rng.standard_normal((200, 2))
    res = ais(gauss_energy, x0, base_log_prob, [0.0, 1.0], lambda b, e: mh_kernel(e, 0.5),
              rng=make_seed(5))
    est = importance_sampling(gauss_energy, x0, base_log_prob)
    np.testing.assert_allclose(res.log_weights, est.log_weights, rtol=1e-14)
    np.testing.assert_allclose(res.log_z, est.log_z, rtol=1e-14)
    betas = np.linspace(0, 1, 6)
    seed = make_seed(9)
    a = ais(gauss_energy, x0, base_log_prob, betas, lambda b, e: mala_kernel(e, 0.2), rng=seed)
    b = ais(gauss_energy, x0, base_log_prob, betas, lambda b, e: mala_kernel(e, 0.2), rng=seed)
    np.testing.assert_array_equal(a.log_weights, b.log_weights)
    np.testing.assert_array_equal(a.samples, b.samples)


def test_ais_warns_for_ula():
    x0 = np.zeros((4, 2))
    with pytest.warns(RuntimeWarning, match="does not leave the bridge densities invariant"):
        ais(gauss_energy, x0, base_log_prob, [0.0, 0.5, 1.0], lambda b, e: ula_kernel(e, 0.1),
            rng=make_seed(0))


# -- an RBM with exact log Z by enumeration -------------------------------------------------------

M_VIS, K_HID = 10, 4


def rbm_params():
    rng = make_rng(20)
    return rng.normal(0, 0.6, (M_VIS, K_HID)), rng.normal(0, 0.5, M_VIS), rng.normal(0, 0.5, K_HID)


def softplus(a):
    return np.logaddexp(0.0, a)


def bits(n):
    return ((np.arange(2**n)[:, None] >> np.arange(n)[::-1]) & 1).astype(float)


def rbm_log_z_two_ways(W, b, c):
    """log Z by enumerating the 2^10 visible states and, separately, the 2^4 hidden states."""
    v, h = bits(M_VIS), bits(K_HID)
    by_v = logsumexp(v @ b + np.sum(softplus(c + v @ W), axis=1))
    by_h = logsumexp(h @ c + np.sum(softplus(b + h @ W.T), axis=1))
    return by_v, by_h


def test_ais_with_gibbs_recovers_rbm_log_z():
    # The state is the joint (v, h). Base: independent Bernoulli units with the RBM's own biases,
    # log p0 = b.v + c.h - sum softplus(b) - sum softplus(c). The geometric bridge
    # (1 - beta) E0 + beta E is then the RBM with weights beta W and the same biases, so block
    # Gibbs with beta W leaves each bridge exactly invariant.
    W, b, c = rbm_params()
    by_v, by_h = rbm_log_z_two_ways(W, b, c)
    np.testing.assert_allclose(by_v, by_h, rtol=1e-12)
    try:
        from refebm.discrete import RBM
        np.testing.assert_allclose(RBM(W, b, c).log_partition(), by_v, rtol=1e-12)
    except ImportError:  # pragma: no cover - refebm.discrete is part of the package
        pass

    def energy(x):
        v, h = x[:, :M_VIS], x[:, M_VIS:]
        return -(v @ b) - (h @ c) - np.sum((v @ W) * h, axis=1)

    log_z0 = np.sum(softplus(b)) + np.sum(softplus(c))

    def log_p0(x):
        return x[:, :M_VIS] @ b + x[:, M_VIS:] @ c - log_z0

    rng = make_rng(21)
    n = 2000
    p_on = 1 / (1 + np.exp(-np.concatenate([b, c])))
    x0 = (rng.random((n, M_VIS + K_HID)) < p_on).astype(float)
    res = ais(energy, x0, log_p0, np.linspace(0, 1, 201),
              lambda beta, e: rbm_gibbs_kernel(beta * W, b, c), rng)
    check_estimate(res, by_v)
    assert np.all(res.acceptance_rate == 1.0)


# -- bad input --------------------------------------------------------------------------------

def test_bad_input():
    x0 = np.zeros((5, 2))

    def tr(beta, e):
        return mh_kernel(e, 0.1)

    with pytest.raises(ValueError, match="`betas` must start at 0 and end at 1"):
        ais(gauss_energy, x0, base_log_prob, [0.1, 1.0], tr, rng=make_seed(0))
    with pytest.raises(ValueError, match="`betas` must start at 0 and end at 1"):
        ais(gauss_energy, x0, base_log_prob, [0.0, 0.9], tr, rng=make_seed(0))
    with pytest.raises(ValueError, match="`betas` must be strictly increasing"):
        ais(gauss_energy, x0, base_log_prob, [0.0, 0.5, 0.5, 1.0], tr, rng=make_seed(0))
    with pytest.raises(ValueError, match="`betas` must have at least 2 entries"):
        ais(gauss_energy, x0, base_log_prob, [0.0], tr, rng=make_seed(0))
    with pytest.raises(ValueError, match="`betas` must be finite"):
        ais(gauss_energy, x0, base_log_prob, [0.0, np.nan, 1.0], tr, rng=make_seed(0))
    with pytest.raises(ValueError, match="`init_sample` must be finite"):
        ais(gauss_energy, np.full((5, 2), np.nan), base_log_prob, [0.0, 1.0], tr, rng=make_seed(0))
    with pytest.raises(ValueError, match="at least 2 points"):
        ais(gauss_energy, x0[:1], base_log_prob, [0.0, 1.0], tr, rng=make_seed(0))
    with pytest.raises(TypeError, match="`init_log_prob` must be callable"):
        ais(gauss_energy, x0, np.zeros(5), [0.0, 1.0], tr, rng=make_seed(0))
    with pytest.raises(TypeError, match="`transition` must be callable"):
        ais(gauss_energy, x0, base_log_prob, [0.0, 1.0], None, rng=make_seed(0))
    with pytest.raises(TypeError, match="`transition` must return a kernel"):
        ais(gauss_energy, x0, base_log_prob, [0.0, 1.0], lambda b, e: 3, rng=make_seed(0))
    with pytest.raises(ValueError, match="`n_steps` must be >= 1"):
        ais(gauss_energy, x0, base_log_prob, [0.0, 1.0], tr, rng=make_seed(0), n_steps=0)
    with pytest.raises(TypeError, match="`rng` must be"):
        ais(gauss_energy, x0, base_log_prob, [0.0, 1.0], tr, rng="x")
    with pytest.raises(ValueError, match=r"`energy` must return shape \(5,\)"):
        ais(lambda x: np.zeros(4), x0, base_log_prob, [0.0, 1.0], tr, rng=make_seed(0))
    with pytest.raises(ValueError, match="`energy` returned NaN"):
        importance_sampling(lambda x: np.full(5, np.nan), x0, base_log_prob)
    with pytest.raises(ValueError, match=r"`proposal_log_prob` must have shape \(5\)"):
        importance_sampling(gauss_energy, x0, np.zeros(4))
    with pytest.raises(ValueError, match="`proposal_log_prob` must be finite"):
        importance_sampling(gauss_energy, x0, np.full(5, np.nan))
    with pytest.raises(ValueError, match="every importance weight is zero"):
        importance_sampling(lambda x: np.full(5, np.inf), x0, base_log_prob)
    with pytest.raises(ValueError, match="`proposal_sample` must have 2 dimension"):
        importance_sampling(gauss_energy, np.zeros(5), base_log_prob)
    with pytest.raises(TypeError, match="`energy` must be callable"):
        importance_sampling("E", x0, base_log_prob)
