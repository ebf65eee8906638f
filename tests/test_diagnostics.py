"""Tests of refebm.diagnostics: autocovariance, ESS, R-hat, KSD and its bootstrap test.

Every statistical assertion states its bound and false-failure probability (<= 1e-6).
"""

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.signal import lfilter

from refebm import diagnostics
from refebm.diagnostics import (_geyer_tau, _rank_normalize, acceptance_rate, autocorrelation,
                                autocovariance, ess, ksd, ksd_test, ksd_test_from_weights, rhat,
                                stein_kernel_matrix)

from seeding import make_rng, make_seed

FALSE_FAILURE = 1e-6


def ar1(rng, rho, n_draws, n_chains):
    """Stationary AR(1) chains x_{t+1} = rho x_t + sqrt(1 - rho^2) z_t, x_0 ~ N(0, 1):
    shape (n_chains, n_draws), ArviZ's layout."""
    x0 = rng.standard_normal(n_chains)
    z = rng.standard_normal((n_chains, n_draws))
    z[:, 0] = 0.0
    out = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], z, axis=1, zi=(rho * x0)[:, None])[0]
    out[:, 0] = x0
    return out


# -- acceptance and autocovariance ------------------------------------------------------------

def test_acceptance_rate():
    assert acceptance_rate(np.array([True, False, True, True])) == 0.75
    np.testing.assert_array_equal(acceptance_rate(np.array([[1.0, 0.5], [0.0, 0.5]]), axis=0),
                                  [0.5, 0.5])
    with pytest.raises(ValueError, match="must be booleans or probabilities"):
        acceptance_rate(np.array([1.5]))
    with pytest.raises(ValueError, match="must not be empty"):
        acceptance_rate(np.zeros(0, dtype=bool))


def test_autocovariance_matches_the_direct_sum():
    # random inputs to an exact check: no false-failure rate applies
    x = make_rng(0).normal(size=(3, 37))                     # 3 chains of 37 draws
    got = autocovariance(x)
    c = x - x.mean(axis=1, keepdims=True)
    want = np.array([[np.sum(c[j, : 37 - t] * c[j, t:]) / 37 for t in range(37)]
                     for j in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(autocorrelation(x), want / want[:, :1], rtol=1e-10, atol=1e-12)
    # (chain, draw, dim): each dim separately; one chain given as a 1-D array
    x3 = make_rng(0).normal(size=(3, 37, 2))
    np.testing.assert_allclose(autocovariance(x3)[:, :, 1], autocovariance(x3[:, :, 1]),
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(autocovariance(x[1]), want[1], rtol=1e-11, atol=1e-13)


# -- ESS ---------------------------------------------------------------------------------------

def _split_chains(x):
    chains = x
    half = chains.shape[1] // 2
    return np.concatenate([chains[:, :half], chains[:, chains.shape[1] - half:]], axis=0)


def test_ess_of_ar1_matches_n_times_1_minus_rho_over_1_plus_rho():
    # ESS = N (1 - rho) / (1 + rho) for AR(1), tau = (1 + rho) / (1 - rho). Sampling
    # variability: the relative variance of a summed-autocorrelation estimate with window M is
    # about 2 (2M + 1) / N (Sokal 1989, eq. 3.19; Madras & Sokal 1988). We check that the
    # window Geyer's rule chose is M <= 60 and allow 5.3 standard deviations (normal tail
    # 1.2e-7 <= 1e-6). Truncating at the window omits at most sum_{t > M} 2 rho^t / tau of tau
    # (a deterministic bias, computed from the window actually used and added).
    rho, n_draws, n_chains = 0.5, 200000, 4
    x = ar1(make_rng(1), rho, n_draws, n_chains)
    n = n_draws * n_chains
    tau = (1 + rho) / (1 - rho)
    want = n / tau
    for method, chains in (("mean", _split_chains(x)),
                           ("bulk", _rank_normalize(_split_chains(x)))):
        _, window = _geyer_tau(chains)
        assert window <= 60
        bias = 2 * rho ** (window + 1) / ((1 - rho) * tau)
        tol = 5.3 * np.sqrt(2 * (2 * 60 + 1) / n) + bias
        assert abs(ess(x, method=method) / want - 1) <= tol


def test_ess_of_independent_draws_is_about_n():
    # independent chains: tau = 1, ESS = N; window M <= 60 as above, 5.3 sd (<= 1e-6)
    x = make_rng(2).standard_normal((4, 50000))
    n = x.size
    tol = 5.3 * np.sqrt(2 * (2 * 60 + 1) / n)
    assert abs(ess(x, method="mean") / n - 1) <= tol
    assert abs(ess(x, method="bulk") / n - 1) <= tol


def test_ess_shapes_and_constant_chain():
    x = make_rng(3).standard_normal((2, 100, 3))
    assert ess(x).shape == (3,) and rhat(x).shape == (3,)
    np.testing.assert_array_equal(ess(x), [ess(x[:, :, k]) for k in range(3)])
    x4 = make_rng(3).standard_normal((2, 100, 3, 2))           # trailing dims keep their shape
    assert ess(x4).shape == (3, 2) and rhat(x4).shape == (3, 2)
    assert ess(x4)[1, 0] == ess(x4[:, :, 1, 0])
    assert ess(np.ones((2, 20)), method="mean") == 20 * 2
    assert isinstance(ess(np.arange(10.0)), float)


def test_ess_and_rhat_match_arviz():
    # random inputs to an exact check (two implementations of the same formulas)
    az = pytest.importorskip("arviz")
    rng = make_rng(4)
    x = np.exp(ar1(rng, 0.7, 1001, 4)) + np.array([0.0, 0.0, 0.1, 0.2])[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in ("bulk", "tail", "mean"):
            np.testing.assert_allclose(ess(x, method=method), az.ess(x, method=method),
                                       rtol=1e-10)
        for method in ("rank", "split", "identity"):
            np.testing.assert_allclose(rhat(x, method=method), az.rhat(x, method=method),
                                       rtol=1e-10)
        # the same layout through ArviZ's own containers: InferenceData, Dataset, DataArray
        y = np.stack([x, np.log(x)], axis=-1)                     # (chain, draw, 2)
        idata = az.from_dict(posterior={"a": x, "b": y})
        np.testing.assert_allclose(ess(idata, var_name="b"), az.ess(idata)["b"].values,
                                   rtol=1e-10)
        np.testing.assert_allclose(rhat(idata.posterior, var_name="a"),
                                   az.rhat(idata)["a"].values, rtol=1e-10)
        np.testing.assert_allclose(ess(idata.posterior["b"], method="tail"),
                                   az.ess(idata, method="tail")["b"].values, rtol=1e-10)
        # xarray dims in another order are put back to (chain, draw, ...)
        np.testing.assert_array_equal(
            ess(idata.posterior["b"].transpose("b_dim_0", "draw", "chain")), ess(y))
        np.testing.assert_allclose(autocorrelation(idata, var_name="a"), autocorrelation(x),
                                   rtol=0)
        with pytest.raises(ValueError, match=r"`var_name` must name one of the variables "
                                             r"\['a', 'b'\]"):
            ess(idata)
        with pytest.raises(ValueError, match=r"`var_name` must be one of \['a', 'b'\], got 'c'"):
            rhat(idata, var_name="c")
        with pytest.raises(ValueError, match="`x` must have dimensions 'chain' and 'draw'"):
            ess(idata.posterior["b"].isel(chain=0))
    with pytest.raises(TypeError, match="`var_name` applies to an arviz.InferenceData"):
        ess(x, var_name="a")


# -- R-hat -------------------------------------------------------------------------------------

def test_rhat_of_agreeing_chains_is_exactly_sqrt_n_minus_1_over_n():
    # identical chain means give B = 0: R-hat = sqrt((N - 1) / N) exactly
    half = make_rng(5).normal(size=50)
    x = np.stack([np.concatenate([half, half])] * 4)       # (4 chains, 100 draws)
    np.testing.assert_allclose(rhat(x, method="split"), np.sqrt(49 / 50), rtol=1e-12)
    np.testing.assert_allclose(rhat(x, method="identity"), np.sqrt(99 / 100), rtol=1e-12)
    np.testing.assert_allclose(rhat(x, method="rank"), np.sqrt(49 / 50), rtol=1e-12)


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.3])
def test_rhat_of_iid_and_shifted_gaussian_chains_follows_its_exact_law(shift):
    # iid N(delta_j, 1) chains: with m chains of N draws, B / W ~ noncentral F(m - 1, m (N - 1),
    # lambda) with lambda = N sum_j (delta_j - mean delta)^2, and R-hat^2 = (N - 1)/N + (B/W)/N
    # exactly; two-sided test at total false-failure 1e-6. Split R-hat is the same law with 2m
    # chains of N/2 draws (each half keeps its chain's shift).
    m, n = 8, 400
    rng = make_rng(6)
    deltas = shift * np.arange(m)
    x = rng.standard_normal((m, n)) + deltas[:, None]
    for method, chains, length, d in (("identity", m, n, deltas),
                                      ("split", 2 * m, n // 2, np.concatenate([deltas, deltas]))):
        f = (rhat(x, method=method) ** 2 - (length - 1) / length) * length
        df1, df2 = chains - 1, chains * (length - 1)
        lam = length * np.sum((d - d.mean()) ** 2)
        law = stats.f(df1, df2) if lam == 0 else stats.ncf(df1, df2, lam)
        assert law.ppf(FALSE_FAILURE / 2) <= f <= law.isf(FALSE_FAILURE / 2)
    if shift == 0.3:
        # R-hat grows with the shift: the whole acceptance interval lies above 1.1
        lam = n * np.sum((deltas - deltas.mean()) ** 2)
        low = stats.ncf(m - 1, m * (n - 1), lam).ppf(FALSE_FAILURE / 2)
        assert np.sqrt((n - 1) / n + low / n) > 1.1


def test_rank_rhat_is_invariant_under_monotone_maps_and_detects_separated_chains():
    rng = make_rng(7)
    x = rng.standard_normal((8, 2000)) + np.array([0, 0, 0, 0, 14, 14, 14, 14])[:, None]
    np.testing.assert_allclose(rhat(x, method="rank"), rhat(np.exp(x / 3), method="rank"),
                               rtol=1e-12)
    np.testing.assert_allclose(ess(x, method="bulk"), ess(np.exp(x / 3), method="bulk"),
                               rtol=1e-12)
    # With a shift of 14 sd the two groups do not overlap unless some draw is 7 sd out
    # (probability <= 16000 * 2 * Phi(-7) = 4e-8). Then every rank-normalized draw of the low
    # chains lies in the lower half of the normal scores; each split chain's mean of z is a
    # sample without replacement from those scores (range < 4.5), within 0.3 of -0.8 (or +0.8)
    # except with probability <= 16 * 2 exp(-2 * 1000 * 0.3^2 / 4.5^2) < 1e-7 (Hoeffding 1963,
    # sampling without replacement). So var(chain means) >= 0.25 and W <= 1.1, which gives
    # R-hat >= sqrt(1 - 1/1000 + 0.25 / 1.1) > 1.1.
    assert rhat(x, method="rank") > 1.1


# -- kernel Stein discrepancy ------------------------------------------------------------------

def _imq(x, y, c=1.0, beta=-0.5):
    return (c * c + anp.sum((x - y) ** 2)) ** beta


def _stein_kernel_autograd(x, y, score, c=1.0, beta=-0.5):
    """u_p(x, y) from its definition, with autograd derivatives of the IMQ kernel."""
    gx = autograd.grad(_imq, 0)(x, y, c, beta)
    gy = autograd.grad(_imq, 1)(x, y, c, beta)
    d = len(x)
    trace = sum(autograd.grad(lambda xx, i=i: autograd.grad(_imq, 1)(xx, y, c, beta)[i])(x)[i]
                for i in range(d))
    sx, sy = score(x[None])[0], score(y[None])[0]
    return _imq(x, y, c, beta) * sx @ sy + sx @ gy + sy @ gx + trace


def test_stein_kernel_formula_matches_autograd():
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(8)
    x = rng.normal(size=(5, 3))

    def score(x):
        return -(x - 0.3) * np.array([1.0, 2.0, 0.5]) + np.sin(x)

    for c, beta in ((1.0, -0.5), (0.7, -0.3)):
        u = stein_kernel_matrix(score, x, c=c, beta=beta)
        want = np.array([[_stein_kernel_autograd(x[i], x[j], score, c, beta) for j in range(5)]
                         for i in range(5)])
        np.testing.assert_allclose(u, want, rtol=1e-10, atol=1e-12)
    n = 5
    u = stein_kernel_matrix(score, x)
    np.testing.assert_allclose(ksd(score, x), (u.sum() - np.trace(u)) / (n * (n - 1)),
                               rtol=1e-12)


def test_stein_identity_by_quadrature():
    # E_{x ~ N(0,1)} u_p(x, y) = 0 for every y: adaptive quadrature, exact tier
    def inner(y):
        def f(t):
            return stein_kernel_matrix(lambda x: -x, np.array([[t], [y]]))[0, 1] * \
                stats.norm.pdf(t)
        return integrate.quad(f, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-13, limit=200)[0]

    for y in (-2.0, 0.0, 0.7, 3.0):
        assert abs(inner(y)) < 1e-10


def _population_moments(sd_q, nodes=200):
    """D = E_q u, zeta1 = Var_x E_y u, E_q u^2 for 1-D q = N(0, sd_q^2), p = N(0, 1).

    Gauss-Hermite product rule; its error (< 1e-6 at 200 nodes, from comparing 120 and 200) is
    negligible next to the tolerances below.
    """
    t, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    x = sd_q * t[:, None]
    u = stein_kernel_matrix(lambda x: -x, x)
    d_pop = w @ u @ w
    g = u @ w
    return d_pop, w @ g**2 - d_pop**2, w @ (u**2) @ w


def test_ksd_passes_exact_samples_and_detects_a_wrong_variance():
    # Null (q = p = N(0,1)): the U-statistic is degenerate (zeta1 = 0 by Stein's identity), so
    # Var(KSD^2) = 2 E_p[u^2] / (n (n - 1)) exactly; Chebyshev: P(|KSD^2| >= 1000 sd) <= 1e-6.
    # Alternative (q = N(0, 9)): non-degenerate, Var = (4 (n - 2) zeta1 + 2 zeta2) / (n (n - 1))
    # (Hoeffding 1948); by the U-statistic CLT, |KSD^2 - D| <= 5.3 sd fails w.p. ~1.2e-7.
    # n = 2500 makes D - 5.3 sd larger than the null threshold, so the wrong variance is detected.
    n = 2500
    rng = make_rng(9)
    _, _, e_u2_null = _population_moments(1.0)
    null_threshold = 1000 * np.sqrt(2 * e_u2_null / (n * (n - 1)))
    assert abs(ksd(lambda x: -x, rng.standard_normal((n, 1)))) <= null_threshold

    d_pop, zeta1, e_u2 = _population_moments(3.0)
    sd_alt = np.sqrt((4 * (n - 2) * zeta1 + 2 * (e_u2 - d_pop**2)) / (n * (n - 1)))
    assert d_pop - 5.3 * sd_alt > null_threshold          # the test has the power it claims
    stat = ksd(lambda x: -x, 3.0 * rng.standard_normal((n, 1)))
    assert abs(stat - d_pop) <= 5.3 * sd_alt
    assert stat > null_threshold


def test_wild_bootstrap_rejects_a_wrong_variance():
    # Given the data, each Rademacher bootstrap statistic has mean 0 and variance
    # V = 2 sum_{i != j} u_ij^2 / (n (n-1))^2; by Cantelli, P(B_b >= stat) <= V / (V + stat^2)
    # =: pi. With 199 draws, p <= 0.05 fails only if >= 10 of them exceed stat, which has
    # probability <= P(Binomial(199, pi) >= 10); we assert that bound is <= 1e-6 for the data
    # at hand (it holds whenever stat is near its mean D: the CLT event of the test above).
    n = 1000
    rng = make_rng(10)
    x = 3.0 * rng.standard_normal((n, 1))
    res = ksd_test(lambda x: -x, x, rng, n_boot=199)
    u = stein_kernel_matrix(lambda x: -x, x)
    off = u - np.diag(np.diag(u))
    v = 2 * np.sum(off**2) / (n * (n - 1)) ** 2
    pi = v / (v + res.statistic**2)
    assert res.statistic > 0 and stats.binom.sf(9, 199, pi) <= FALSE_FAILURE
    assert res.p_value <= 0.05


def test_bootstrap_core_matches_the_explicit_double_sum(monkeypatch):
    # random inputs to an exact check: no false-failure rate applies
    rng = make_rng(11)
    x = rng.normal(size=(40, 2))
    w = 2.0 * rng.integers(0, 2, size=(7, 40)) - 1
    res = ksd_test_from_weights(lambda x: -x, x, w)
    u = stein_kernel_matrix(lambda x: -x, x)
    off = u - np.diag(np.diag(u))
    want = np.einsum("bi,ij,bj->b", w, off, w) / (40 * 39)
    np.testing.assert_allclose(res.bootstrap, want, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.statistic, ksd(lambda x: -x, x), rtol=1e-12)
    assert res.p_value == (1 + np.sum(want >= res.statistic)) / 8
    again = ksd_test(lambda x: -x, x, rng=make_seed(3), n_boot=7)
    weights = 2.0 * make_rng(3).integers(0, 2, size=(7, 40)) - 1.0
    np.testing.assert_array_equal(again.bootstrap,
                                  ksd_test_from_weights(lambda x: -x, x, weights).bootstrap)
    # row blocks do not change the result (large n is computed in pieces): blocks of 7 rows
    monkeypatch.setattr(diagnostics, "_row_blocks",
                        lambda n: [slice(i, min(i + 7, n)) for i in range(0, n, 7)])
    np.testing.assert_allclose(ksd(lambda x: -x, x), (u.sum() - np.trace(u)) / (40 * 39),
                               rtol=1e-12)
    np.testing.assert_allclose(ksd_test_from_weights(lambda x: -x, x, w).bootstrap, want,
                               rtol=1e-10, atol=1e-14)


# -- bad input --------------------------------------------------------------------------------

def test_bad_input():
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="`method` must be one of"):
        ess(x, method="median")
    with pytest.raises(ValueError, match="`method` must be one of"):
        rhat(x, method="bulk")
    with pytest.raises(ValueError, match="at least 4 draws"):
        ess(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`x` must be finite"):
        ess(np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="`x` must have at least 1 dimension"):
        rhat(np.float64(1.0))
    with pytest.raises(ValueError, match="at least 2 chains"):
        rhat(np.zeros((1, 10)), method="identity")
    with pytest.raises(TypeError, match="`x` must be a real array"):
        ess("chain")
    with pytest.raises(TypeError, match="`x` must be a real array"):
        autocovariance("chain")
    with pytest.raises(ValueError, match="`x` must not be empty"):
        autocorrelation(np.zeros(0))
    with pytest.raises(ValueError, match="`x` must be finite"):
        autocovariance(np.array([1.0, np.inf]))
    pts = make_rng(0).normal(size=(5, 2))
    with pytest.raises(ValueError, match=r"`score` must return shape \(5, 2\)"):
        ksd(lambda x: x[:, :1], pts)
    with pytest.raises(ValueError, match=r"`score` must have shape"):
        ksd(np.zeros((5, 3)), pts)
    with pytest.raises(ValueError, match="`c` must be > 0"):
        ksd(lambda x: -x, pts, c=0.0)
    with pytest.raises(ValueError, match="`beta` must be < 0"):
        ksd(lambda x: -x, pts, beta=0.5)
    with pytest.raises(ValueError, match="`beta` must be > -1"):
        ksd(lambda x: -x, pts, beta=-1.0)
    with pytest.raises(ValueError, match="at least 2 points"):
        ksd(lambda x: -x, pts[:1])
    with pytest.raises(ValueError, match="`x` must be finite"):
        ksd(lambda x: -x, np.full((3, 1), np.inf))
    with pytest.raises(ValueError, match=r"`weights` must have shape \(n_boot, 5\)"):
        ksd_test_from_weights(lambda x: -x, pts, np.ones((3, 4)))
    with pytest.raises(ValueError, match="`n_boot` must be >= 1"):
        ksd_test(lambda x: -x, pts, rng=make_seed(0), n_boot=0)
    with pytest.raises(TypeError, match="`rng` must be"):
        ksd_test(lambda x: -x, pts, rng=1.5)
    with pytest.raises(ValueError, match="`x` must have 2 dimension"):
        ksd_test(lambda x: -x, np.zeros(5), rng=make_seed(0))
    with pytest.raises(ValueError, match="`score` must be finite"):
        ksd(lambda x: np.full(x.shape, np.nan), pts)


def test_bad_input_acceptance_and_autocorrelation():
    # a single draw has no autocorrelation (it was NaN); the axis must be an integer in range
    with pytest.raises(ValueError, match=r"`x` must have at least 2 draws per chain \(axis 0"):
        autocorrelation(np.array([1.0]))
    with pytest.raises(ValueError, match=r"`x` must have at least 2 draws per chain \(axis 1"):
        autocovariance(np.zeros((3, 1)))
    a = np.array([[True, False], [True, True]])
    with pytest.raises(TypeError, match="`axis` must be an integer axis or None, got 2.5"):
        acceptance_rate(a, axis=2.5)
    with pytest.raises(TypeError, match="`axis` must be an integer axis or None, got True"):
        acceptance_rate(a, axis=True)
    with pytest.raises(ValueError, match=r"`axis` must be in \[-2, 2\) for `is_accepted` of 2 "
                                         r"dimension\(s\), got 2"):
        acceptance_rate(a, axis=2)
    np.testing.assert_array_equal(acceptance_rate(a, axis=-1), [0.5, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_rule_diagnostics(dtype):
    # what comes back has the dtype of the draws: float32 arrays and NumPy float32 numbers, or
    # float64 arrays and Python floats; the values are the float64 computation's, rounded
    x = make_rng(12).normal(size=(2, 50, 3)).astype(dtype)
    assert autocovariance(x).dtype == dtype and autocorrelation(x).dtype == dtype
    assert ess(x).dtype == dtype and rhat(x).dtype == dtype
    number = np.float32 if dtype == np.float32 else float
    assert type(ess(x[:, :, 0])) is number and type(rhat(x[:, :, 0])) is number
    np.testing.assert_allclose(ess(x), ess(x.astype(np.float64)), rtol=1e-6)
    pts = make_rng(13).normal(size=(6, 2)).astype(dtype)
    assert stein_kernel_matrix(lambda y: -y, pts).dtype == dtype
    res = ksd_test(lambda y: -y, pts, rng=make_seed(14), n_boot=5)
    assert res.bootstrap.dtype == dtype and type(res.statistic) is number
    assert type(res.p_value) is number and type(ksd(lambda y: -y, pts)) is number
    assert acceptance_rate(np.full((2, 3), 0.5, dtype=dtype), axis=0).dtype == dtype


def test_bootstrap_ties_do_not_depend_on_rounding():
    # All-equal Rademacher rows give a replicate equal to the statistic exactly; they count as
    # ties (>=) whatever the dtype of x or the rounding of the two sums (exact check: the
    # p-value is fixed by counting rows, with no false-failure rate).
    rng = make_rng(15)
    for _ in range(20):
        n = int(rng.integers(3, 7))
        x = rng.normal(size=(n, 2))
        w = 2.0 * rng.integers(0, 2, size=(30, n)) - 1.0
        w[:4] = [[1.0] * n, [-1.0] * n, [1.0] * n, [-1.0] * n]
        p64 = ksd_test_from_weights(lambda y: -y, x, w).p_value
        x32 = x.astype(np.float32)
        p32 = ksd_test_from_weights(lambda y: -y, x32, w).p_value
        p32_as_64 = ksd_test_from_weights(lambda y: -y, x32.astype(np.float64), w).p_value
        assert p32 == p32_as_64
        res = ksd_test_from_weights(lambda y: -y, x, w)
        u = stein_kernel_matrix(lambda y: -y, x)
        off = u - np.diag(np.diag(u))
        boot = np.einsum("bi,ij,bj->b", w, off, w) / (n * (n - 1))
        ties = np.isclose(boot, res.statistic, rtol=1e-12, atol=0)
        assert ties[:4].all()
        assert p64 == (1 + np.sum((boot > res.statistic) | ties)) / 31
