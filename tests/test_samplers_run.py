"""Tests of refebm.samplers.sample (the driver) and of the steps on other array namespaces.

All checks are exact (the driver's bookkeeping; the same noise on two backends): no
false-failure rate applies.
"""

import numpy as np
import pytest

from refebm.samplers import (Kernel, SampleResult, annealed_langevin_from_noise, ising_gibbs_step,
                             mala_init, mala_kernel, mala_step, mh_init, mh_kernel, mh_step,
                             rbm_gibbs_step, sample, ula_kernel, ula_step)

from seeding import make_rng, make_seed


def energy(x):
    return 0.5 * np.sum(x**2, axis=-1)


def score(x):
    return -x


def test_trace_thinning_and_keep_last_match_a_manual_loop():
    x0 = np.linspace(-1, 1, 6).reshape(3, 2)
    k = mala_kernel(energy, 0.3, score=score)
    res = sample(k, x0, 10, rng=make_seed(7), thin=3)
    assert isinstance(res, SampleResult)
    assert res.trace.shape == (3, 3, 2)
    rng = make_rng(7)
    state, manual, accepted = k.init(x0), [], []
    for t in range(1, 11):
        state, info = k(state, rng)
        accepted.append(info.is_accepted)
        if t % 3 == 0:
            manual.append(state.x)
    np.testing.assert_array_equal(res.trace, np.stack(manual))
    np.testing.assert_array_equal(res.state.x, state.x)
    np.testing.assert_array_equal(res.acceptance_rate, np.mean(accepted, axis=1))
    np.testing.assert_array_equal(res.chain_acceptance_rate, np.mean(accepted, axis=0))
    last = sample(k, x0, 10, rng=make_seed(7), keep="last")
    assert last.trace.shape == (1, 3, 2)
    np.testing.assert_array_equal(last.trace[0], state.x)


def test_callback_streams_the_kept_states():
    x0 = np.zeros((4, 2))
    seen = []

    def callback(step, state, info):
        seen.append((step, state.x.copy()))

    res = sample(mh_kernel(energy, 0.5), x0, 8, rng=make_seed(1), thin=2, keep="last",
                 callback=callback)
    full = sample(mh_kernel(energy, 0.5), x0, 8, rng=make_seed(1), thin=2)
    assert [s for s, _ in seen] == [2, 4, 6, 8]
    np.testing.assert_array_equal(np.stack([x for _, x in seen]), full.trace)
    np.testing.assert_array_equal(res.trace[0], full.trace[-1])


def test_plain_callable_kernel_and_progress_bar():
    def kernel(x, rng):
        return x + 1.0, None

    res = sample(kernel, np.zeros((2, 1)), 3, rng=make_seed(0), progress=True)
    np.testing.assert_array_equal(res.trace[:, :, 0], [[1, 1], [2, 2], [3, 3]])
    assert res.acceptance_rate is None and res.chain_acceptance_rate is None
    k = ula_kernel(None, 0.1, score=score)
    assert isinstance(k, Kernel) and k.name == "ula"
    assert sample(k, np.zeros((2, 1)), 2, rng=make_seed(0)).acceptance_rate.tolist() == [1.0, 1.0]


def test_bad_input():
    k = mh_kernel(energy, 0.5)
    x0 = np.zeros((3, 2))
    with pytest.raises(ValueError, match="`n_steps` must be >= 1"):
        sample(k, x0, 0, rng=make_seed(0))
    with pytest.raises(TypeError, match="`n_steps` must be an integer"):
        sample(k, x0, 2.0, rng=make_seed(0))
    with pytest.raises(ValueError, match="`thin` must be >= 1"):
        sample(k, x0, 5, rng=make_seed(0), thin=0)
    with pytest.raises(ValueError, match=r"`thin` must be <= n_steps \(5\)"):
        sample(k, x0, 5, rng=make_seed(0), thin=6)
    with pytest.raises(ValueError, match="`keep` must be one of"):
        sample(k, x0, 5, rng=make_seed(0), keep="first")
    with pytest.raises(ValueError, match="`x0` must be finite"):
        sample(k, np.array([[np.nan, 0.0]]), 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`x0` must have 2 dimension"):
        sample(k, np.zeros(3), 5, rng=make_seed(0))
    with pytest.raises(ValueError, match="`x0` must not be empty"):
        sample(k, np.zeros((0, 2)), 5, rng=make_seed(0))
    with pytest.raises(TypeError, match="`kernel` must be callable"):
        sample("mala", x0, 5, rng=make_seed(0))
    with pytest.raises(TypeError, match="`callback` must be callable"):
        sample(k, x0, 5, rng=make_seed(0), callback=3)
    with pytest.raises(TypeError, match="`progress` must be a bool"):
        sample(k, x0, 5, rng=make_seed(0), progress="yes")
    with pytest.raises(TypeError, match="`rng` must be"):
        sample(k, x0, 5, rng=2.5)
    with pytest.raises(ValueError, match="`rng` must be a non-negative"):
        sample(k, x0, 5, rng=-1)


# -- the same steps on another array namespace ------------------------------------------------

def test_steps_agree_across_namespaces(xp, to_xp):
    rng = make_rng(3)
    x = rng.normal(size=(5, 2))
    z, u = rng.normal(size=(5, 2)), rng.random(5)

    def e_xp(y):
        return 0.5 * xp.sum(y * y, axis=-1)

    def s_xp(y):
        return -y

    got = ula_step(to_xp(x), s_xp, 0.2, to_xp(z))
    np.testing.assert_allclose(np.asarray(got), ula_step(x, score, 0.2, z), rtol=1e-15)
    st, _ = mh_step(mh_init(to_xp(x), e_xp), e_xp, to_xp(z), to_xp(u), 0.7)
    want, _ = mh_step(mh_init(x, energy), energy, z, u, 0.7)
    np.testing.assert_allclose(np.asarray(st.x), want.x, rtol=1e-15)
    st, info = mala_step(mala_init(to_xp(x), e_xp, s_xp), e_xp, 0.3, to_xp(z), to_xp(u),
                         score=s_xp)
    want, winfo = mala_step(mala_init(x, energy, score), energy, 0.3, z, u, score=score)
    np.testing.assert_allclose(np.asarray(st.x), want.x, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(info.acceptance_rate), winfo.acceptance_rate,
                               rtol=1e-12)
    noise = rng.normal(size=(2, 3, 5, 2))
    got = annealed_langevin_from_noise(lambda y, s: -y / (1 + s**2), [1.0, 0.5], 0.1, to_xp(x),
                                       to_xp(noise), denoise=True)
    want = annealed_langevin_from_noise(lambda y, s: -y / (1 + s**2), [1.0, 0.5], 0.1, x, noise,
                                        denoise=True)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-14)
    J = np.array([[0.0, 0.5, -0.2], [0.5, 0.0, 0.3], [-0.2, 0.3, 0.0]])
    h = np.array([0.1, -0.2, 0.0])
    s = np.where(rng.random((5, 3)) < 0.5, -1.0, 1.0)
    uu = rng.random((5, 3))
    np.testing.assert_array_equal(np.asarray(ising_gibbs_step(to_xp(s), to_xp(J), to_xp(h),
                                                              to_xp(uu))),
                                  ising_gibbs_step(s, J, h, uu))
    W = rng.normal(size=(3, 2))
    v = (rng.random((5, 3)) < 0.5).astype(float)
    uh, uv = rng.random((5, 2)), rng.random((5, 3))
    got = rbm_gibbs_step(to_xp(v), to_xp(W), to_xp(h), to_xp(np.zeros(2)), to_xp(uh), to_xp(uv))
    want = rbm_gibbs_step(v, W, h, np.zeros(2), uh, uv)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(np.asarray(a), b)
    res = sample(mala_kernel(e_xp, 0.3, score=s_xp), to_xp(x), 4, rng=make_seed(0), thin=2)
    ref = sample(mala_kernel(energy, 0.3, score=score), x, 4, rng=make_seed(0), thin=2)
    np.testing.assert_allclose(np.asarray(res.trace), ref.trace, rtol=1e-13)
