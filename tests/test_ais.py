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

from refebm.discrete import RBM
from refebm.partition.sampling import (DegenerateWeightsWarning, ais, importance_sampling,
                                       pareto_k, rbm_ais)
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
    # (four particles: the weights are also reported as degenerate)
    with pytest.warns(RuntimeWarning, match="does not leave the bridge densities invariant"), \
            pytest.warns(RuntimeWarning, match="weights are degenerate"):
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
    # rbm_ais assembles the same run without help: the same draws give the same weights (its
    # Gibbs step is written independently of refebm.samplers.rbm_gibbs_kernel)
    same = rbm_ais(RBM(W, b, c), np.linspace(0, 1, 201), n, make_rng(21))
    np.testing.assert_allclose(same.log_weights, res.log_weights, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(same.samples, res.samples)


def fixed_rbm(m, k, scale):
    """RBM parameters by a rule (no seed): a smooth pattern of both signs."""
    i, j = np.arange(m)[:, None], np.arange(k)[None, :]
    return (scale * np.sin(1.7 * i + 2.3 * j + 0.4), 0.6 * np.cos(1.3 * np.arange(m)),
            0.5 * np.sin(2.1 * np.arange(k) + 1.0))


@pytest.mark.parametrize("m, k, scale", [(10, 4, 0.6), (6, 8, 0.9)])
def test_rbm_ais_recovers_the_exact_log_z(m, k, scale):
    # exact log Z two ways: enumeration over v (RBM.log_partition) and over h (here)
    W, b, c = fixed_rbm(m, k, scale)
    rbm = RBM(W, b, c)
    h = bits(k)
    by_h = logsumexp(h @ c + np.sum(softplus(b + h @ W.T), axis=1))
    np.testing.assert_allclose(rbm.log_partition(), by_h, rtol=1e-12)
    res = rbm_ais(rbm, np.linspace(0, 1, 301), 2000, make_rng("rbm_ais", m))
    check_estimate(res, by_h)   # 5.3 standard errors: false-failure rate 1.2e-7 (module doc)
    assert res.samples.shape == (2000, m + k) and np.all(np.isnan(res.acceptance_rate))
    assert np.isfinite(res.pareto_k) and res.pareto_k < 0.5   # bounded weights: a short tail


def test_rbm_ais_bad_input():
    rbm = RBM(*fixed_rbm(3, 2, 0.5))
    with pytest.raises(TypeError, match="`rbm` must be a refebm.discrete.RBM"):
        rbm_ais(np.zeros((3, 2)), [0.0, 1.0], 10, make_seed(0))
    with pytest.raises(ValueError, match="`betas` must start at 0 and end at 1"):
        rbm_ais(rbm, [0.0, 0.5], 10, make_seed(0))
    with pytest.raises(ValueError, match="`n_samples` must be >= 2"):
        rbm_ais(rbm, [0.0, 1.0], 1, make_seed(0))
    with pytest.raises(TypeError, match="`n_samples` must be an integer"):
        rbm_ais(rbm, [0.0, 1.0], 10.0, make_seed(0))
    with pytest.raises(ValueError, match="`min_ess` must be >= 1"):
        rbm_ais(rbm, [0.0, 1.0], 10, make_seed(0), min_ess=0.5)
    with pytest.raises(ValueError, match="`n_steps` must be >= 1"):
        rbm_ais(rbm, [0.0, 1.0], 10, make_seed(0), n_steps=0)


# -- degenerate weights: a warning, the ESS and an honest standard error --------------------------

def test_degenerate_weights_warn_and_report_no_precision():
    # deterministic weights: one dominates (log w = 0 against -50 for the rest), ESS = 1.0000...
    x = np.zeros((200, 1))
    log_q = np.full(200, 50.0)
    log_q[0] = 0.0
    with pytest.warns(DegenerateWeightsWarning,
                      match=r"Kish's effective sample size is 1 of n = 200 \(below `min_ess` = 10\)"
                            r".*reported as inf"):
        est = importance_sampling(lambda y: np.zeros(len(y)), x, log_q)
    assert est.stderr == np.inf and est.ess == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(est.log_z, -np.log(200.0) + np.log1p(199 * np.exp(-50.0)),
                               rtol=1e-15)
    # the threshold is the caller's: min_ess = 1 accepts it, and then the delta method's value
    with _no_degenerate_warning():
        est = importance_sampling(lambda y: np.zeros(len(y)), x, log_q, min_ess=1.0)
    assert 0.9 < est.stderr < 1.0     # sqrt((n / ESS - 1) / n): a precision it does not have
    # as an error, for callers who want one
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateWeightsWarning)
        with pytest.raises(DegenerateWeightsWarning, match="degenerate"):
            importance_sampling(lambda y: np.zeros(len(y)), x, log_q)


def test_heavy_tailed_weights_are_caught_by_the_tail_index():
    # 1000 weights with P(w > t) = 1/t (quantiles of a Pareto law with k = 1, deterministic):
    # their ESS is above 10 but their mean does not exist; the tail index flags them
    u = (np.arange(1000) + 0.5) / 1000
    log_w = -np.log(u)
    x = np.zeros((1000, 1))
    with pytest.warns(DegenerateWeightsWarning, match=r"Pareto tail index of the weights is 0\.9"):
        est = importance_sampling(lambda y: np.zeros(len(y)), x, -log_w)
    assert est.ess > 10 and est.stderr == np.inf and est.pareto_k > 0.7
    # AIS with two betas is importance sampling: the same verdict
    log_p0 = lambda y: np.full(len(y), 0.0)   # noqa: E731
    with pytest.warns(DegenerateWeightsWarning, match=r"^ais: "):
        ais(lambda y: -log_w[: len(y)], x, log_p0, [0.0, 1.0],
            lambda beta, e: mh_kernel(e, 0.5), rng=make_seed(0))


def test_pareto_k_agrees_with_arviz():
    az = pytest.importorskip("arviz")
    # an exact comparison of two implementations on the same numbers: no false-failure rate
    for scale in (0.3, 1.0, 2.0):
        log_w = scale * make_rng("pareto", str(scale)).standard_normal(4000)
        _, k_az = az.psislw(log_w.copy())
        assert pareto_k(log_w) == pytest.approx(float(k_az), abs=1e-10)
    assert np.isnan(pareto_k(np.zeros(24)))           # too few weights for a tail fit
    with pytest.raises(ValueError, match="`log_weights` must not contain NaN"):
        pareto_k(np.array([0.0, np.nan] * 20))


def test_float32_inputs_give_float32_results():
    x = BASE_SD * make_rng(30).standard_normal((400, 2))
    est64 = importance_sampling(gauss_energy, x, base_log_prob)
    est32 = importance_sampling(gauss_energy, x.astype(np.float32), base_log_prob)
    assert est64.log_weights.dtype == np.float64 and isinstance(est64.log_z, float)
    for value in (est32.log_z, est32.stderr, est32.ess, est32.pareto_k):
        assert isinstance(value, np.float32)
    assert est32.log_weights.dtype == np.float32
    np.testing.assert_allclose(est32.log_z, est64.log_z, rtol=1e-6)
    res = ais(gauss_energy, x.astype(np.float32), base_log_prob, [0.0, 0.5, 1.0],
              lambda b, e: mh_kernel(e, 0.5), rng=make_seed(31))
    assert res.log_weights.dtype == np.float32 and isinstance(res.log_z, np.float32)
    assert res.samples.dtype == np.float32


class _no_degenerate_warning:
    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("error", DegenerateWeightsWarning)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


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
    with pytest.raises(ValueError, match="`min_ess` must be >= 1"):
        importance_sampling(gauss_energy, x0, base_log_prob, min_ess=0.0)
    with pytest.raises(TypeError, match="`min_ess` must be a real number"):
        ais(gauss_energy, x0, base_log_prob, [0.0, 1.0], tr, rng=make_seed(0), min_ess="10")
    with pytest.raises(ValueError, match=r"`proposal_log_prob` returned -inf"):
        importance_sampling(gauss_energy, x0, lambda y: np.full(5, -np.inf))
    with pytest.raises(ValueError, match=r"kernel returned by `transition` must keep the "
                                         r"chains' shape \(5, 2\)"):
        ais(gauss_energy, x0, base_log_prob, [0.0, 1.0],
            lambda b, e: (lambda state, rng: (np.zeros((5, 3)), None)), rng=make_seed(0))
