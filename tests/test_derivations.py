"""The lecture derivations as chains of equalities (refebm.derivations).

Every default chain must hold to 1e-9 between consecutive lines; every deliberately wrong form
must break by more than 1e-3. Beyond the chains' own internal agreement, each derivation's end
values are compared with a second computation that shares nothing with the chain: closed forms
for Gaussian models, scipy.integrate with hand-written derivatives, or finite differences of
log Z from refebm.partition.adaptive.
"""

import functools
import math
import re

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from refebm import derivations as D
from refebm.derivations import (
    Chain,
    ChainResult,
    EnergyModel,
    GaussianData,
    MixtureModel,
    NCEProblem,
    Problem,
    ProductModel,
    Step,
    evaluate_chain,
    format_chain,
)

from seeding import make_rng

RTOL = 1e-9


_CHAINS = D.all_chains()
_WRONG = D.wrong_forms()


@functools.lru_cache(maxsize=1)
def _default_results():
    return tuple(evaluate_chain(c) for c in _CHAINS)


@functools.lru_cache(maxsize=1)
def _wrong_results():
    return tuple(evaluate_chain(c) for c in _WRONG)


def _closed_gaussian_fisher(m1, c1, m2, c2):
    r"""\tfrac12 E_{N(m1, c1)} ||s_1 - s_2||^2 for Gaussian scores, in closed form."""
    m1, m2 = np.atleast_1d(m1), np.atleast_1d(m2)
    c1, c2 = np.atleast_2d(c1), np.atleast_2d(c2)
    p1, p2 = np.linalg.inv(c1), np.linalg.inv(c2)
    a = p2 - p1
    return 0.5 * (np.trace(a @ c1 @ a.T) + np.sum((p2 @ (m1 - m2)) ** 2))


# ---------------------------------------------------------------------------------------------
# every default chain holds; every wrong form breaks


@pytest.mark.parametrize("i", range(len(_CHAINS)), ids=[c.id for c in _CHAINS])
def test_default_chain_holds(i):
    r = _default_results()[i]
    assert r.holds, format_chain(r)
    assert r.max_discrepancy <= RTOL
    assert r.tol == RTOL


def test_every_derivation_on_two_models():
    by_id = {}
    for r in _default_results():
        kind, model = r.id.split("[", 1)
        by_id.setdefault(kind, set()).add(model)
    for kind in ("D3", "D4", "D6", "D8", "D9", "D12", "D14", "D14-boundary", "D15", "D16",
                 "D19-posterior", "D19-gradient", "D19-optimum"):
        assert len(by_id.get(kind, ())) >= 2, (kind, by_id.get(kind))


@pytest.mark.parametrize("i", range(len(_WRONG)), ids=[c.id for c in _WRONG])
def test_wrong_form_breaks(i):
    r = _wrong_results()[i]
    assert not r.holds
    assert r.max_discrepancy > 1e-3, format_chain(r)
    assert r.discrepancies[-1] > 1e-3  # the break is at the wrong (last) line


def test_garbled_seed_form_breaks_where_the_correct_form_holds():
    probs = D.problems()
    for name in ("quartic-2d", "logcosh-2d"):
        r = evaluate_chain(D.garbled_score_matching(probs[name]))
        assert r.discrepancies[1] <= RTOL  # correct objective in E equals D_F
        assert r.discrepancies[2] > 1e-3  # seed 001's garbled form does not
        assert "WRONG" in format_chain(r)


# ---------------------------------------------------------------------------------------------
# second, independent computations of the chains' values


def test_d8_gaussian_matches_closed_form():
    b, a = 0.75, 2.0
    model = D.gaussian_1d(b, a)
    r = evaluate_chain(D.d8_log_partition_gradient(model))
    exact = np.array([b / a, -1 / (2 * a) - b ** 2 / (2 * a ** 2)])
    for v in r.values:
        np.testing.assert_allclose(v, exact, rtol=1e-10)
    x = np.array([[0.1], [0.9], [0.4]])
    r = evaluate_chain(D.d8_log_likelihood_gradient(model, x))
    grad_f = np.array([x.mean(), -0.5 * np.mean(x ** 2)])
    for v in r.values:
        np.testing.assert_allclose(v, grad_f - exact, rtol=1e-10)


def test_d8_quartic_matches_finite_differences_of_scipy_log_z():
    from refebm.partition import adaptive
    model = D.quartic_2d()
    r = evaluate_chain(D.d8_log_partition_gradient(model))

    def log_z(theta):
        return adaptive(model.family(theta), [(-np.inf, np.inf)] * 2, tol=1e-12).log_z

    h = 1e-4
    fd = np.array([(log_z(model.theta + h * e) - log_z(model.theta - h * e)) / (2 * h)
                   for e in np.eye(3)])
    np.testing.assert_allclose(r.values[-1], fd, rtol=1e-6)


@settings(max_examples=15)
@given(b=st.floats(-2.0, 2.0, allow_subnormal=False), a=st.floats(0.3, 5.0, allow_subnormal=False))
def test_d8_gaussian_property(b, a):
    r = evaluate_chain(D.d8_log_partition_gradient(D.gaussian_1d(b, a)))
    assert r.holds
    np.testing.assert_allclose(r.values[-1], [b / a, -1 / (2 * a) - b ** 2 / (2 * a ** 2)],
                               rtol=1e-10, atol=1e-12)


def test_d8_monte_carlo_single_sample_line():
    # The CD line: grad f at exact samples averages to E_p[grad f]. Exact samples from the
    # Gaussian N(b/a, 1/a). The bounds are exact (no CLT): the mean of x is N(mu, s^2/n), and
    # sum x_i^2 / s^2 is noncentral chi-square(n, n mu^2 / s^2). Each assertion uses two-sided
    # tails of 2.5e-8 each: false-failure probability 5e-8 per assertion, 1e-7 for the test.
    b, a = 0.75, 2.0
    mu, s2 = b / a, 1.0 / a
    n = 200_000
    rng = make_rng(20240611)
    x = rng.normal(mu, math.sqrt(s2), size=(n, 1))
    check = D.d8_monte_carlo(D.gaussian_1d(b, a), x)
    np.testing.assert_allclose(check.exact, [mu, -0.5 * (s2 + mu ** 2)], rtol=1e-10)
    # exact standard errors: Var[x] = s2, Var[x^2 / 2] = (2 s2^2 + 4 mu^2 s2) / 4
    np.testing.assert_allclose(
        check.standard_error, np.sqrt([s2 / n, (2 * s2 ** 2 + 4 * mu ** 2 * s2) / 4 / n]),
        rtol=1e-9)
    np.testing.assert_allclose(check.estimate, [x.mean(), -0.5 * np.mean(x ** 2)], rtol=1e-12)
    z = stats.norm.isf(2.5e-8)
    assert abs(check.estimate[0] - check.exact[0]) <= z * check.standard_error[0]
    lam = n * mu ** 2 / s2
    lo, hi = stats.ncx2.ppf([2.5e-8, 1 - 2.5e-8], n, lam)
    assert lo <= -2.0 * n * check.estimate[1] / s2 <= hi


def test_d9_gaussian_model_matches_closed_form_kl():
    model = D.gaussian_1d(0.75, 2.0)  # N(0.375, 0.5)
    data = GaussianData(np.array([0.3]), np.array([[0.64]]))
    r = evaluate_chain(D.d9_likelihood_is_kl(Problem("g", data, model)))
    assert r.holds
    m1, v1, m2, v2 = 0.3, 0.64, 0.375, 0.5
    kl = 0.5 * (math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)
    h = 0.5 * math.log(2 * math.pi * math.e * v1)
    nll = 0.5 * math.log(2 * math.pi * v2) + (v1 + (m1 - m2) ** 2) / (2 * v2)
    np.testing.assert_allclose(kl + h, nll, rtol=1e-14)
    for v in r.values:
        np.testing.assert_allclose(v, nll, rtol=1e-10)


def test_d6_and_d12_match_hand_derivatives():
    b, a = 0.75, 2.0
    model = D.gaussian_1d(b, a)
    x, xp, _ = D.query_points(model)
    r = evaluate_chain(D.d6_ratio_without_z(model, x, xp))
    e = lambda u: 0.5 * a * u ** 2 - b * u  # noqa: E731
    np.testing.assert_allclose(r.values[0], np.exp(e(xp[:, 0]) - e(x[:, 0])), rtol=1e-12)
    r = evaluate_chain(D.d12_score_drops_z(model, x))
    np.testing.assert_allclose(r.values[0], b - a * x, rtol=1e-12)
    q = D.quartic_2d()
    t0, t1, t2 = q.theta
    x, _, _ = D.query_points(q)
    hand = -np.stack([x[:, 0] ** 3 + t0 * x[:, 1] + t1 * x[:, 0],
                      x[:, 1] ** 3 + t0 * x[:, 0] - t2], axis=1)
    r = evaluate_chain(D.d12_score_drops_z(q, x))
    for v in r.values:
        np.testing.assert_allclose(v, hand, rtol=1e-12)


def _quartic_1d_fisher_by_quad(theta, m, v, objective=True):
    t0, t1, t2 = theta
    sd = math.sqrt(v)
    p = lambda u: math.exp(-0.5 * ((u - m) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))  # noqa: E731
    s = lambda u: -(t0 * u ** 3 + t1 * u - t2)  # noqa: E731
    ds = lambda u: -(3 * t0 * u ** 2 + t1)  # noqa: E731
    # +-12 sd holds all but 4e-33 of the data's mass
    kw = dict(a=m - 12 * sd, b=m + 12 * sd, epsabs=0.0, epsrel=1e-12, limit=200)
    fisher = 0.5 * integrate.quad(lambda u: p(u) * (-(u - m) / v - s(u)) ** 2, **kw)[0]
    if not objective:  # the objective's integrand can cancel to near 0 (quad then warns)
        return fisher, None
    objective = integrate.quad(lambda u: p(u) * (0.5 * s(u) ** 2 + ds(u)), **kw)[0] + 0.5 / v
    return fisher, objective


def test_d14_quartic_matches_scipy_quad():
    prob = D.problems()["quartic-1d"]
    r = evaluate_chain(D.d14_univariate_score_matching(prob))
    fisher, objective = _quartic_1d_fisher_by_quad(prob.model.theta, 0.3, 0.64)
    np.testing.assert_allclose(fisher, objective, rtol=1e-10)
    np.testing.assert_allclose(r.values[0], fisher, rtol=1e-10)
    np.testing.assert_allclose(r.values[-1], fisher, rtol=1e-10)


@settings(max_examples=10)
@given(t0=st.floats(0.2, 2.0, allow_subnormal=False), t1=st.floats(-2.0, 2.0, allow_subnormal=False),
       t2=st.floats(-1.0, 1.0, allow_subnormal=False))
def test_d14_quartic_property(t0, t1, t2):
    prob = D.problems()["quartic-1d"]
    prob = prob._replace(model=D.quartic_1d((t0, t1, t2)))
    r = evaluate_chain(D.d14_univariate_score_matching(prob))
    assert r.holds, format_chain(r)
    fisher, _ = _quartic_1d_fisher_by_quad((t0, t1, t2), 0.3, 0.64, objective=False)
    np.testing.assert_allclose(r.values[-1], fisher, rtol=1e-10)


def test_d14_d15_gaussian_model_match_closed_form_fisher():
    # a Gaussian model written as the quadratic-quartic family at q = 0
    data = GaussianData(np.array([0.3]), np.array([[0.64]]))
    model = D.quadratic_quartic([0.6], [[1.5]], bounds=((-12.0, 12.0),), nodes=200)
    exact = _closed_gaussian_fisher([0.3], [[0.64]], [0.6], [[1.5]])
    r14 = evaluate_chain(D.d14_univariate_score_matching(Problem("g1", data, model)))
    np.testing.assert_allclose(r14.values[0], exact, rtol=1e-10)
    np.testing.assert_allclose(r14.values[-1], exact, rtol=1e-10)
    data2 = GaussianData(np.array([0.3, -0.2]), np.array([[0.36, 0.12], [0.12, 0.25]]))
    cov2 = np.array([[1.0, -0.3], [-0.3, 0.8]])
    model2 = D.quadratic_quartic([0.1, 0.4], cov2, bounds=((-7.0, 7.0),) * 2, nodes=110)
    exact2 = _closed_gaussian_fisher(data2.mean, data2.cov, [0.1, 0.4], cov2)
    r15 = evaluate_chain(D.d15_multivariate_score_matching(Problem("g2", data2, model2)))
    assert r15.holds
    for v in r15.values:
        np.testing.assert_allclose(v, exact2, rtol=1e-10)


def test_d15_quartic_matches_scipy_cubature():
    prob = D.problems()["quartic-2d"]
    t0, t1, t2 = prob.model.theta
    data = prob.data
    r = evaluate_chain(D.d15_multivariate_score_matching(prob))
    prec = np.linalg.inv(data.cov)
    norm = 2 * np.pi * math.sqrt(np.linalg.det(data.cov))

    def integrand(x):  # hand-written scores, no autograd
        res = x - data.mean
        dens = np.exp(-0.5 * np.einsum("ni,ij,nj->n", res, prec, res)) / norm
        s_d = -res @ prec
        s_t = -np.stack([x[:, 0] ** 3 + t0 * x[:, 1] + t1 * x[:, 0],
                         x[:, 1] ** 3 + t0 * x[:, 0] - t2], axis=1)
        return dens * 0.5 * np.sum((s_d - s_t) ** 2, axis=1)

    res = integrate.cubature(integrand, [-7.0, -7.0], [7.0, 7.0], rtol=1e-12, atol=1e-14)
    assert res.status == "converged"
    np.testing.assert_allclose(r.values[0], res.estimate, rtol=1e-10)
    np.testing.assert_allclose(r.values[-1], res.estimate, rtol=1e-10)


def test_d16_gaussian_model_matches_closed_form():
    sigma = 0.5
    data = GaussianData(np.array([0.3]), np.array([[0.64]]))
    model = D.quadratic_quartic([0.6], [[1.5]], bounds=((-12.0, 12.0),), nodes=200)
    r = evaluate_chain(D.d16_denoising_score_matching(Problem("g1", data, model), sigma))
    assert r.holds
    fisher_noisy = _closed_gaussian_fisher([0.3], [[0.64 + sigma ** 2]], [0.6], [[1.5]])
    exact = fisher_noisy + 1 / (2 * sigma ** 2) - 0.5 / (0.64 + sigma ** 2)
    for v in r.values:
        np.testing.assert_allclose(v, exact, rtol=1e-10)


def test_d16_logcosh_matches_scipy_cubature_over_x_and_z():
    prob = D.problems()["logcosh-1d"]
    sigma = D.DSM_SIGMA["logcosh-1d"]
    t0, t1, t2 = prob.model.theta
    m, sd = float(prob.data.mean[0]), math.sqrt(float(prob.data.cov[0, 0]))
    r = evaluate_chain(D.d16_denoising_score_matching(prob, sigma))

    def integrand(p):  # hand-written score -(t0 tanh(x - t1) + t2 x), no autograd
        x, z = p[:, 0], p[:, 1]
        xt = x + sigma * z
        score = -(t0 * np.tanh(xt - t1) + t2 * xt)
        return stats.norm.pdf(x, m, sd) * stats.norm.pdf(z) * 0.5 * (score + z / sigma) ** 2

    res = integrate.cubature(integrand, [m - 12 * sd, -12.0], [m + 12 * sd, 12.0],
                             rtol=1e-12, atol=1e-14)
    assert res.status == "converged"
    for v in r.values:
        np.testing.assert_allclose(v, res.estimate, rtol=1e-10)


def test_d14_boundary_term_by_hand():
    prob = D.problems()["quartic-1d"]
    t0, t1, t2 = prob.model.theta
    (a, b), = prob.model.bounds
    s = lambda u: -(t0 * u ** 3 + t1 * u - t2)  # noqa: E731
    p = lambda u: stats.norm.pdf(u, 0.3, 0.8)  # noqa: E731
    r = evaluate_chain(D.d14_boundary_term(prob))
    np.testing.assert_allclose(r.values[0], p(b) * s(b) - p(a) * s(a), rtol=1e-10)
    assert abs(float(r.values[0])) < 1e-16


def test_d19_gradient_matches_finite_differences_of_scipy_objective():
    p = D.nce_problems()[0]
    theta = p.model.theta + np.array([0.1, 0.1, 0.002])
    c = 0.2
    r = evaluate_chain(D.d19_nce_gradient(p, theta, c))
    nu = p.nu

    def objective(par):  # hand-written J(theta, c) by scipy.integrate.quad
        b, lam, q, cc = par

        def log_normal(x, m, sd):
            return -0.5 * ((x - m) / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)

        def logit(x):
            return (math.log(nu) - (0.5 * lam * x ** 2 - b * x + q * x ** 4) - cc
                    - log_normal(x, 0.0, 1.5))

        kw = dict(epsabs=1e-14, epsrel=1e-13, limit=200)
        data = integrate.quad(lambda x: math.exp(log_normal(x, 0.5, 0.7))
                              * -np.logaddexp(0.0, -logit(x)), -14, 14, **kw)[0]
        noise = integrate.quad(lambda x: math.exp(log_normal(x, 0.0, 1.5))
                               * -np.logaddexp(0.0, logit(x)), -14, 14, **kw)[0]
        return nu / (1 + nu) * data + 1 / (1 + nu) * noise

    par = np.concatenate([theta, [c]])
    h = 1e-5
    fd = np.array([(objective(par + h * e) - objective(par - h * e)) / (2 * h)
                   for e in np.eye(4)])
    np.testing.assert_allclose(r.values[0], fd, rtol=1e-6)


def test_d19_optimum_and_log_z_by_product():
    p = D.nce_problems()[0]
    r = evaluate_chain(D.d19_nce_optimum(p))
    assert r.holds
    assert np.max(np.abs(r.values[0])) < 1e-12
    # c off log Z: the c-component of the gradient is no longer zero; c too large makes the
    # model density too small, so increasing c lowers J further: the gradient is negative
    m, v = 0.5, 0.49
    log_z = 0.5 * math.log(2 * math.pi * v) + m ** 2 / (2 * v)  # of E = x^2/(2v) - (m/v) x
    off = evaluate_chain(D.d19_nce_gradient(p, p.model.theta, log_z + 0.5))
    assert off.holds
    assert off.values[0][-1] < -1e-3
    # a wrong claimed optimum breaks the optimum and posterior chains
    wrong = p._replace(model=p.model._replace(theta=p.model.theta + [0.2, 0.1, 0.0]))
    assert evaluate_chain(D.d19_nce_optimum(wrong)).max_discrepancy > 1e-3
    x = np.array([[0.0], [1.0]])
    assert evaluate_chain(D.d19_nce_posterior(wrong, x)).max_discrepancy > 1e-3


def test_d19_posterior_closed_form():
    p = D.nce_problems()[0]
    x = np.array([[-1.0], [0.5], [2.0]])
    r = evaluate_chain(D.d19_nce_posterior(p, x))
    pd = stats.norm.pdf(x[:, 0], 0.5, 0.7)
    pn = stats.norm.pdf(x[:, 0], 0.0, 1.5)
    np.testing.assert_allclose(r.values[-1], pn / (pn + 1.0 * pd), rtol=1e-12)


def test_d3_d4_single_components_are_one():
    for m in D.product_models():
        r = evaluate_chain(D.d3_product_normalized(m))
        np.testing.assert_allclose(r.values[0], 1.0, rtol=1e-12)
    for m in D.mixture_models():
        r = evaluate_chain(D.d4_mixture_normalized(m))
        np.testing.assert_allclose(r.values[0], 1.0, rtol=1e-12)
    # an unnormalized conditional breaks D3 at the line that integrates it out
    m = D.product_models()[0]
    bad = m._replace(log_conditional=lambda y, x: m.log_conditional(y, x) + 0.1 * x[:, 0] ** 2
                     / (1 + x[:, 0] ** 2))
    r = evaluate_chain(D.d3_product_normalized(bad))
    assert r.discrepancies[1] <= RTOL and r.discrepancies[2] > 1e-3


# ---------------------------------------------------------------------------------------------
# evaluate_chain and format_chain


def test_evaluate_chain_discrepancy_rules():
    def chain(*values):
        return Chain("t", "t", tuple(Step(str(v), (lambda v=v: v)) for v in values))

    r = evaluate_chain(chain(1.0, 1.0 + 5e-10, 1.0))
    assert r.holds and r.max_discrepancy == pytest.approx(5e-10, rel=1e-6)
    assert not evaluate_chain(chain(1.0, 1.0 + 2e-9)).holds
    # lines equal to zero are compared absolutely, below SCALE_FLOOR
    assert evaluate_chain(chain(0.0, 5e-13)).holds
    assert not evaluate_chain(chain(0.0, 5e-12)).holds
    r = evaluate_chain(chain(1.0, float("nan")))
    assert not r.holds and r.max_discrepancy == math.inf
    assert math.isnan(r.discrepancies[0])
    r = evaluate_chain(chain(1.0, 1.5), rtol=0.5)
    assert r.holds and r.tol == 0.5


def test_evaluate_chain_rejects_bad_chains():
    ok = Step("1", lambda: 1.0)
    with pytest.raises(TypeError, match="`chain` must be a Chain"):
        evaluate_chain([ok, ok])
    with pytest.raises(ValueError, match="at least 2 lines"):
        evaluate_chain(Chain("a", "b", (ok,)))
    with pytest.raises(TypeError, match=r"`chain.steps\[1\]` must be a Step"):
        evaluate_chain(Chain("a", "b", (ok, 1.0)))
    with pytest.raises(TypeError, match=r"`chain.steps\[0\].evaluate` must be callable"):
        evaluate_chain(Chain("a", "b", (Step("x", 1.0), ok)))
    with pytest.raises(TypeError, match=r"`chain.steps\[0\].latex` must be a string"):
        evaluate_chain(Chain("a", "b", (Step(3, lambda: 1.0), ok)))
    with pytest.raises(ValueError, match="must have one shape"):
        evaluate_chain(Chain("a", "b", (ok, Step("v", lambda: [1.0, 1.0]))))
    with pytest.raises(TypeError, match="must evaluate to a real number"):
        evaluate_chain(Chain("a", "b", (ok, Step("v", lambda: "one"))))
    with pytest.raises(ValueError, match="`rtol` must be > 0"):
        evaluate_chain(Chain("a", "b", (ok, ok)), rtol=0.0)
    with pytest.raises(ValueError, match="`rtol` must be finite"):
        evaluate_chain(Chain("a", "b", (ok, ok)), rtol=float("nan"))


def test_format_chain_shows_every_line():
    chain = D.d8_log_partition_gradient(D.gaussian_1d())
    r = evaluate_chain(chain)
    text = format_chain(r)
    assert r.id in text and r.title in text and "holds" in text
    for step, v in zip(chain.steps, r.values):
        assert step.latex in text
        assert f"{float(v[0]):.12g}" in text
    wrong = format_chain(_wrong_results()[0])
    assert "BREAKS" in wrong
    with pytest.raises(TypeError, match="`result` must be a ChainResult"):
        format_chain(chain)
    assert isinstance(r, ChainResult)


# ---------------------------------------------------------------------------------------------
# bad input to the factories


def _model(**kw):
    m = D.gaussian_1d()
    return m._replace(**kw)


@pytest.mark.parametrize("model, kind, match", [
    ("gaussian", TypeError, r"`model` must be of type EnergyModel\(name, family, theta"),
    (_model(name=""), TypeError, r"`model.name` must be a non-empty string"),
    (_model(family=3), TypeError, r"`model.family` must be callable"),
    (_model(theta=np.array([np.nan, 1.0])), ValueError, r"`model.theta` must be finite"),
    (_model(theta=np.ones((2, 1))), ValueError, r"`model.theta` must have 1 dimension"),
    (_model(theta="ab"), TypeError, r"`model.theta` must be a real array"),
    (_model(bounds=((-np.inf, 3.0),)), ValueError, r"`model.bounds\[0\]` must be finite"),
    (_model(bounds=((3.0, -3.0),)), ValueError, r"lo < hi"),
    (_model(bounds=((-1.0, 1.0),)), ValueError, r"too small"),
    (_model(nodes=3), ValueError, r"`model.nodes` must be >= 8"),
    (_model(nodes=2.5), TypeError, r"`model.nodes` must be an integer"),
    (_model(family=lambda th: (lambda x: x)), ValueError, r"must return shape \(1,\)"),
    (_model(family=lambda th: (lambda x: np.full(x.shape[0], np.nan))), ValueError,
     r"returned NaN"),
])
def test_energy_model_bad_input(model, kind, match):
    with pytest.raises(kind, match=match):
        D.d8_log_partition_gradient(model)


def test_points_bad_input():
    m = D.gaussian_1d()
    good = np.zeros((2, 1))
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 1\)"):
        D.d6_ratio_without_z(m, np.zeros((2, 2)), good)
    with pytest.raises(ValueError, match=r"`x_prime` must have the shape of `x`"):
        D.d6_ratio_without_z(m, good, np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"`x` must be finite"):
        D.d12_score_drops_z(m, np.array([[np.nan]]))
    with pytest.raises(ValueError, match=r"`x` must have 2 dimension"):
        D.d12_score_drops_z(m, np.zeros(3))
    with pytest.raises(ValueError, match=r"`x` must not be empty"):
        D.d12_score_drops_z(m, np.zeros((0, 1)))
    with pytest.raises(ValueError, match=r"`x_train` must have shape \(n, 1\)"):
        D.d8_log_likelihood_gradient(m, np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"`samples` must hold at least 2 points"):
        D.d8_monte_carlo(m, np.zeros((1, 1)))
    import array_api_strict as xps
    with pytest.raises(TypeError, match="must be a NumPy array"):
        D.d12_score_drops_z(m, xps.asarray([[0.0]]))


def test_problem_bad_input():
    prob = D.problems()["quartic-1d"]
    with pytest.raises(TypeError, match=r"`problem` must be of type Problem"):
        D.d9_likelihood_is_kl(prob.model)
    with pytest.raises(TypeError, match=r"`problem.data` must be of type GaussianData"):
        D.d14_univariate_score_matching(prob._replace(data=(0.3, 0.64)))
    with pytest.raises(ValueError, match=r"`problem.data.mean` must have 1 entries"):
        D.d14_univariate_score_matching(
            prob._replace(data=GaussianData(np.zeros(2), np.eye(2))))
    with pytest.raises(ValueError, match=r"`problem.data.cov` must be positive definite"):
        D.d14_univariate_score_matching(
            prob._replace(data=GaussianData(np.zeros(1), -np.eye(1))))
    with pytest.raises(ValueError, match=r"leaves mass .* outside"):
        D.d14_univariate_score_matching(
            prob._replace(data=GaussianData(np.array([7.0]), np.eye(1))))
    with pytest.raises(ValueError, match=r"must be univariate"):
        D.d14_univariate_score_matching(D.problems()["quartic-2d"])
    with pytest.raises(ValueError, match=r"must be univariate"):
        D.d14_boundary_term(D.problems()["quartic-2d"])
    with pytest.raises(TypeError, match=r"`problem.model` must be of type EnergyModel"):
        D.d15_multivariate_score_matching(prob._replace(model=None))


@pytest.mark.parametrize("sigma, kind, match", [
    (0.0, ValueError, r"`sigma` must be > 0"),
    (-1.0, ValueError, r"`sigma` must be > 0"),
    (float("nan"), ValueError, r"`sigma` must be finite"),
    ("a", TypeError, r"`sigma` must be a real number"),
    (3.0, ValueError, r"noisy data density .* leaves mass"),
])
def test_dsm_sigma_bad_input(sigma, kind, match):
    prob = D.problems()["logcosh-1d"]
    for factory in (D.d16_denoising_score_matching, D.dsm_without_constant,
                    D.dsm_against_clean_data):
        with pytest.raises(kind, match=match):
            factory(prob, sigma)


def test_nce_bad_input():
    p = D.nce_problems()[0]
    with pytest.raises(TypeError, match=r"`problem` must be of type NCEProblem"):
        D.d19_nce_optimum(D.problems()["quartic-1d"])
    with pytest.raises(ValueError, match=r"`problem.nu` must be > 0"):
        D.d19_nce_optimum(p._replace(nu=0.0))
    with pytest.raises(ValueError, match=r"`problem.noise`: the box .* leaves mass"):
        D.d19_nce_optimum(p._replace(noise=GaussianData(np.zeros(1), np.array([[9.0]]))))
    with pytest.raises(ValueError, match=r"`theta` must have shape \(3\)"):
        D.d19_nce_gradient(p, np.zeros(2))
    with pytest.raises(ValueError, match=r"`c` must be finite"):
        D.d19_nce_gradient(p, None, float("inf"))
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 1\)"):
        D.d19_nce_posterior(p, np.zeros((2, 2)))


def test_product_and_mixture_bad_input():
    m = D.product_models()[0]
    with pytest.raises(TypeError, match=r"`model` must be of type ProductModel"):
        D.d3_product_normalized(D.mixture_models()[0])
    with pytest.raises(ValueError, match=r"`model.bounds` must have 2 \(lo, hi\) pairs"):
        D.d3_product_normalized(m._replace(bounds=((-9.0, 9.0),)))
    with pytest.raises(TypeError, match=r"`model.log_marginal` must be callable"):
        D.d3_product_normalized(m._replace(log_marginal=None))
    with pytest.raises(ValueError, match=r"too small"):
        D.d3_product_normalized(m._replace(bounds=((-2.0, 2.0), (-10.0, 10.0))))
    mix = D.mixture_models()[0]
    with pytest.raises(ValueError, match=r"`model.weights` must sum to 1"):
        D.d4_mixture_normalized(mix._replace(weights=np.array([0.5, 0.6])))
    with pytest.raises(ValueError, match=r"one entry per component"):
        D.d4_mixture_normalized(mix._replace(weights=np.array([0.2, 0.3, 0.5])))
    with pytest.raises(TypeError, match=r"`model.log_components` must be a non-empty tuple"):
        D.d4_mixture_normalized(mix._replace(log_components=lambda x: x[:, 0]))
    with pytest.raises(TypeError, match=r"`model.log_components\[1\]` must be callable"):
        D.d4_mixture_normalized(mix._replace(log_components=(mix.log_components[0], 2)))


def test_model_constructors_bad_input():
    with pytest.raises(ValueError, match=r"`a` must be > 0"):
        D.gaussian_1d(0.0, -1.0)
    with pytest.raises(ValueError, match=r"`b` must be finite"):
        D.gaussian_1d(np.inf)
    with pytest.raises(ValueError, match=r"`theta` must have shape \(3\)"):
        D.quartic_1d((1.0, 2.0))
    with pytest.raises(ValueError, match=r"`theta\[0\]` must be > 0"):
        D.quartic_1d((-1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match=r"`cov` must be positive definite"):
        D.quadratic_quartic([0.0], [[-1.0]], bounds=((-5.0, 5.0),))
    with pytest.raises(ValueError, match=r"`q` must be >= 0"):
        D.quadratic_quartic([0.0], [[1.0]], q=-1.0, bounds=((-5.0, 5.0),))
    with pytest.raises(TypeError, match=r"`bounds` must be a sequence of \(lo, hi\) pairs"):
        D.quadratic_quartic([0.0], [[1.0]], bounds=0.5)
    with pytest.raises(ValueError, match=r"`bounds` must not be empty"):
        D.quadratic_quartic([0.0], [[1.0]], bounds=())
    with pytest.raises(ValueError, match=r"`bounds` must have 1 \(lo, hi\) pairs, got 2"):
        D.quadratic_quartic([0.0], [[1.0]], bounds=((-5.0, 5.0),) * 2)
    with pytest.raises(ValueError, match=r"`bounds\[0\]` must be finite"):
        D.quadratic_quartic([0.0], [[1.0]], bounds=((-np.inf, 5.0),))
    with pytest.raises(ValueError, match=r"`nodes` must be >= 8"):
        D.quadratic_quartic([0.0], [[1.0]], bounds=((-5.0, 5.0),), nodes=2)
    with pytest.raises(ValueError, match=r"`bounds` must have 2 \(lo, hi\) pairs, got 1"):
        D.quartic_2d(bounds=((-7.0, 7.0),))
    with pytest.raises(TypeError, match=r"`model` must be of type EnergyModel"):
        D.query_points(0.5)
    q3 = D.quadratic_quartic(np.zeros(3), np.eye(3), bounds=((-9.0, 9.0),) * 3, nodes=8)
    with pytest.raises(ValueError, match=r"`model` must be 1-D or 2-D"):
        D.query_points(q3)


def test_models_are_autograd_traceable_in_theta():
    import autograd
    m = D.quartic_2d()
    x = np.array([[0.3, -0.4]])
    g = autograd.grad(lambda th: anp.sum(m.family(th)(x)))(m.theta)
    np.testing.assert_allclose(g, [0.3 * -0.4, 0.5 * 0.09, 0.4], rtol=1e-14)


def test_energy_model_fields():
    m = EnergyModel("m", D.gaussian_1d().family, np.array([0.0, 1.0]), ((-10.0, 10.0),))
    assert m.nodes == 100 and m.dim == 1
    assert isinstance(D.mixture_models()[0], MixtureModel)
    assert isinstance(D.product_models()[0], ProductModel)
    assert isinstance(D.nce_problems()[0], NCEProblem)


# -- docs/derivations.md: every chain's section is what the chain evaluates to today ----------

_PAGE = __import__("pathlib").Path(__file__).resolve().parents[1] / "docs" / "derivations.md"
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


def _chains_with_builders():
    """``[(chain, builder name, expect)]`` for every chain of `all_chains` and `wrong_forms`, the
    builder recorded by wrapping each factory that the catalogue calls."""
    from refebm.derivations import catalog

    built, saved = [], {}
    for name, fn in vars(catalog).items():
        if callable(fn) and getattr(fn, "__module__", "").startswith("refebm.derivations.") \
                and fn.__module__ != catalog.__name__ and not isinstance(fn, type) \
                and not name.startswith("_") and name not in ("query_points", "evaluate_chain"):
            saved[name] = fn

    def recording(name, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            chain = fn(*args, **kwargs)
            if isinstance(chain, D.Chain):
                built.append((chain.id, chain.title, name))
            return chain
        return wrapper

    try:
        for name, fn in saved.items():
            setattr(catalog, name, recording(name, fn))
        good, wrong = D.all_chains(), D.wrong_forms()
    finally:
        for name, fn in saved.items():
            setattr(catalog, name, fn)
    names = {(i, t): n for i, t, n in built}
    return ([(c, names[c.id, c.title], "holds") for c in good]
            + [(c, names[c.id, c.title], "breaks") for c in wrong])


def _page_section(result, builder, expect):
    """The Markdown section of one evaluated chain, as docs/derivations.md shows it."""
    from refebm.derivations._chain import _format_value

    tol = f"{result.tol:g}".replace("e-0", "e-")   # 1e-9, as the page writes it
    verdict = (f"holds: largest discrepancy {result.max_discrepancy:.3g} ≤ {tol}"
               if expect == "holds" else
               f"**breaks**: largest discrepancy {result.max_discrepancy:.3g} > {tol}")
    lines = [f"### `{result.id}`: {result.title}", "",
             f"Built by `refebm.derivations.{builder}`; {verdict}.", "",
             r"\[", r"\begin{aligned}"]
    for k, latex in enumerate(result.latex):
        end = r" \\" if k < len(result.latex) - 1 else ""
        lines.append(("& " if k == 0 else "&= ") + latex + end)
    lines += [r"\end{aligned}", r"\]", "", "| line | value | discrepancy | evaluated by |",
              "| --- | --- | --- | --- |"]
    for k, (v, d, how) in enumerate(zip(result.values, result.discrepancies, result.how)):
        disc = "-" if k == 0 else f"{d:.3g}"
        lines.append(f"| {k + 1} | `{_format_value(np.asarray(v))}` | {disc} | {how} |")
    return "\n".join(lines)


def _page_sections(text):
    """The page's chain sections, in page order: ``[(id, title, text)]``."""
    out = []
    for block in re.split(r"\n(?=## |### )", text):
        m = re.match(r"### `([^`]+)`: (.*)\n", block)
        if m:
            out.append((m.group(1), m.group(2), block.strip()))
    return out


def _same_up_to_rounding(page, now):
    """Equal text, and numbers equal to 1e-9 relative (values are printed to 15 digits), or
    both below 1e-9 (a discrepancy at the rounding level varies with the BLAS in its last
    digits, and so does a value that is zero in exact arithmetic)."""
    if _NUMBER.sub("#", page) != _NUMBER.sub("#", now):
        return False
    for a, b in zip(_NUMBER.findall(page), _NUMBER.findall(now)):
        a, b = float(a), float(b)
        if not (abs(a - b) <= 1e-9 * max(abs(a), abs(b)) or max(abs(a), abs(b)) < 1e-9):
            return False
    return True


def test_the_derivations_page_shows_every_chain_as_it_evaluates():
    # Deterministic rules (no randomness): the page's numbers are the chains' numbers to the
    # digits the page shows, its labels and LaTeX the chains' own.
    page = _page_sections(_PAGE.read_text(encoding="utf-8"))
    chains = _chains_with_builders()
    assert sorted((i, t) for i, t, _ in page) == sorted((c.id, c.title) for c, _, _ in chains)
    shown = {(i, t): text for i, t, text in page}
    for chain, builder, expect in chains:
        now = _page_section(D.evaluate_chain(chain), builder, expect)
        assert _same_up_to_rounding(shown[chain.id, chain.title], now), (
            f"docs/derivations.md is out of date for {chain.id}; it should read:\n{now}")


def test_the_derivations_page_summary_counts_and_largest_discrepancies():
    # The table at the top of docs/derivations.md: chains per inventory id and the largest
    # discrepancy among them (deterministic rules; compared as in the test above).
    rows = re.findall(r"^\| \[(D\d+)\]\(#[^)]*\) \| (\d+) \| (\S+) \|$",
                      _PAGE.read_text(encoding="utf-8"), flags=re.M)
    worst = {}
    for chain in D.all_chains():
        key = re.match(r"D\d+", chain.id).group(0)
        worst.setdefault(key, []).append(D.evaluate_chain(chain).max_discrepancy)
    assert sorted(r[0] for r in rows) == sorted(worst)
    for key, count, largest in rows:
        assert int(count) == len(worst[key]), key
        assert _same_up_to_rounding(largest, f"{max(worst[key]):.2g}"), (key, max(worst[key]))
