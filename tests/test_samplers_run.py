"""Tests of refebm.samplers.sample (the driver) and of the steps on other array namespaces.

All checks are exact (the driver's bookkeeping; the same noise on two backends): no
false-failure rate applies.
"""

import numpy as np
import pytest

from refebm.samplers import (GibbsState, Kernel, SampleResult, annealed_langevin_from_noise,
                             ising_gibbs_step, mala_init, mala_kernel, mala_step, mh_init,
                             mh_kernel, mh_step, rbm_gibbs_step, sample, ula_init, ula_kernel,
                             ula_step)

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
    assert res.trace.shape == (3, 3, 2)      # (chain, draw, dim): 3 chains, 10 // 3 draws
    rng = make_rng(7)
    state, manual, accepted = k.init(x0), [], []
    for t in range(1, 11):
        state, info = k(state, rng)
        accepted.append(info.is_accepted)
        if t % 3 == 0:
            manual.append(state.x)
    np.testing.assert_array_equal(res.trace, np.stack(manual, axis=1))
    np.testing.assert_array_equal(res.trace[:, 1], manual[1])
    np.testing.assert_array_equal(res.state.x, state.x)
    np.testing.assert_array_equal(res.acceptance_rate, np.mean(accepted, axis=1))
    np.testing.assert_array_equal(res.chain_acceptance_rate, np.mean(accepted, axis=0))
    last = sample(k, x0, 10, rng=make_seed(7), keep="last")
    assert last.trace.shape == (3, 1, 2)
    np.testing.assert_array_equal(last.trace[:, 0], state.x)
    # a different chain count and draw count keep the axes apart
    other = sample(k, np.zeros((5, 2)), 4, rng=make_seed(7))
    assert other.trace.shape == (5, 4, 2) and other.chain_acceptance_rate.shape == (5,)


def test_callback_streams_the_kept_states():
    x0 = np.zeros((4, 2))
    seen = []

    def callback(step, state, info):
        seen.append((step, state.x.copy()))

    res = sample(mh_kernel(energy, 0.5), x0, 8, rng=make_seed(1), thin=2, keep="last",
                 callback=callback)
    full = sample(mh_kernel(energy, 0.5), x0, 8, rng=make_seed(1), thin=2)
    assert [s for s, _ in seen] == [2, 4, 6, 8]
    np.testing.assert_array_equal(np.stack([x for _, x in seen], axis=1), full.trace)
    np.testing.assert_array_equal(res.trace[:, 0], full.trace[:, -1])


def test_plain_callable_kernel_and_progress_bar():
    def kernel(x, rng):
        return x + 1.0, None

    res = sample(kernel, np.zeros((2, 1)), 3, rng=make_seed(0), progress=True)
    np.testing.assert_array_equal(res.trace[:, :, 0], [[1, 2, 3], [1, 2, 3]])
    assert res.acceptance_rate is None and res.chain_acceptance_rate is None
    assert res.diverged is None
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


def test_a_kernel_that_returns_the_wrong_thing_is_named():
    x0 = np.zeros((3, 2))
    with pytest.raises(TypeError, match=r"`kernel` \(kernel\) must return a pair \(state, info\)"):
        sample(lambda s, rng: s + 1.0, x0, 2, rng=make_seed(0))
    with pytest.raises(TypeError, match=r"must return a state whose positions .* shape of x0 "
                                        r"\(3, 2\)"):
        sample(lambda s, rng: (np.zeros((3, 1)), None), x0, 2, rng=make_seed(0))
    bad = Kernel(lambda x: x, lambda s, rng: (s, None, None), True, "mine")
    with pytest.raises(TypeError, match=r"`kernel` \(mine\) must return a pair"):
        sample(bad, x0, 2, rng=make_seed(0))


def test_trace_is_what_arviz_reads():
    # ArviZ takes (chain, draw[, dim]) as it is: the same ESS from the trace and from
    # arviz.from_dict, and refebm's diagnostics read the trace without a transpose
    az = pytest.importorskip("arviz")
    from refebm.diagnostics import ess

    res = sample(mh_kernel(energy, 1.0), np.zeros((4, 2)), 200, rng=make_seed(8))
    idata = az.from_dict(posterior={"x": res.trace})
    assert idata.posterior["x"].shape == (4, 200, 2)
    np.testing.assert_allclose(ess(res.trace), az.ess(idata)["x"].values, rtol=1e-10)
    np.testing.assert_allclose(ess(idata), ess(res.trace), rtol=0)


# -- the same steps on another array namespace ------------------------------------------------

def test_steps_agree_across_namespaces(xp, to_xp):
    rng = make_rng(3)
    x = rng.normal(size=(5, 2))
    z, u = rng.normal(size=(5, 2)), rng.random(5)

    def e_xp(y):
        return 0.5 * xp.sum(y * y, axis=-1)

    def s_xp(y):
        return -y

    got, ginfo = ula_step(s_xp, ula_init(s_xp, to_xp(x)), to_xp(z), 0.2)
    want, _ = ula_step(score, ula_init(score, x), z, 0.2)
    np.testing.assert_allclose(np.asarray(got.x), want.x, rtol=1e-15)
    assert not np.any(np.asarray(ginfo.diverged))
    st, _ = mh_step(e_xp, mh_init(e_xp, to_xp(x)), to_xp(z), to_xp(u), 0.7)
    want, _ = mh_step(energy, mh_init(energy, x), z, u, 0.7)
    np.testing.assert_allclose(np.asarray(st.x), want.x, rtol=1e-15)
    st, info = mala_step(e_xp, mala_init(e_xp, to_xp(x), score=s_xp), to_xp(z), to_xp(u), 0.3,
                         score=s_xp)
    want, winfo = mala_step(energy, mala_init(energy, x, score=score), z, u, 0.3, score=score)
    np.testing.assert_allclose(np.asarray(st.x), want.x, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(info.acceptance_rate), winfo.acceptance_rate,
                               rtol=1e-12)
    noise = rng.normal(size=(2, 3, 5, 2))
    got = annealed_langevin_from_noise(lambda y, s: -y / (1 + s**2), to_xp(x), to_xp(noise),
                                       [1.0, 0.5], 0.1, denoise=True)
    want = annealed_langevin_from_noise(lambda y, s: -y / (1 + s**2), x, noise, [1.0, 0.5], 0.1,
                                        denoise=True)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-14)
    J = np.array([[0.0, 0.5, -0.2], [0.5, 0.0, 0.3], [-0.2, 0.3, 0.0]])
    h = np.array([0.1, -0.2, 0.0])
    s = np.where(rng.random((5, 3)) < 0.5, -1.0, 1.0)
    uu = rng.random((5, 3))
    np.testing.assert_array_equal(
        np.asarray(ising_gibbs_step(to_xp(J), to_xp(h), GibbsState(to_xp(s)), to_xp(uu))[0].x),
        ising_gibbs_step(J, h, GibbsState(s), uu)[0].x)
    W = rng.normal(size=(3, 2))
    v = (rng.random((5, 3)) < 0.5).astype(float)
    uh, uv = rng.random((5, 2)), rng.random((5, 3))
    joint = np.concatenate([v, np.zeros((5, 2))], axis=1)
    got, _ = rbm_gibbs_step(to_xp(W), to_xp(h), to_xp(np.zeros(2)), GibbsState(to_xp(joint)),
                            to_xp(uh), to_xp(uv))
    want, _ = rbm_gibbs_step(W, h, np.zeros(2), GibbsState(joint), uh, uv)
    np.testing.assert_array_equal(np.asarray(got.x), want.x)
    res = sample(mala_kernel(e_xp, 0.3, score=s_xp), to_xp(x), 4, rng=make_seed(0), thin=2)
    ref = sample(mala_kernel(energy, 0.3, score=score), x, 4, rng=make_seed(0), thin=2)
    np.testing.assert_allclose(np.asarray(res.trace), ref.trace, rtol=1e-13)


# -- the signatures the docs quote ------------------------------------------------------------

def _public_functions():
    import inspect

    from refebm import diagnostics, samplers
    from refebm.samplers import conventions

    out = {}
    for mod in (samplers, conventions, diagnostics):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                out[name] = obj
    return out


def _check_quote(quote, fn):
    """A quoted call ``name(a, b, *, c=1)`` against ``inspect.signature(fn)``: every bare name
    at position i is the name of parameter i, every keyword is a parameter of that kind, and
    the quote binds. Returns an error text or None."""
    import ast
    import inspect

    sig = inspect.signature(fn)
    text = quote.replace(", *,", ",").replace("(*, ", "(").replace(", *)", ")")
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        return f"not a call: {exc}"
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(call.args) > len(positional):
        return f"{len(call.args)} positional arguments, the code takes {len(positional)}"
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Name) and arg.id != positional[i].name:
            return f"argument {i} is `{arg.id}`, the code's is `{positional[i].name}`"
    names = {p.name for p in params}
    for kw in call.keywords:
        if kw.arg not in names:
            return f"keyword `{kw.arg}` is not a parameter of the code"
    required = [p.name for p in positional[len(call.args):] if p.default is p.empty]
    missing = [n for n in required if n not in {kw.arg for kw in call.keywords}]
    if missing:
        return f"the quote leaves out required arguments {missing}"
    return None


def test_signatures_quoted_in_the_docs_match_the_code():
    # every `name(args)` quoted on the sampling, diagnostics and conventions pages, for a public
    # function of refebm.samplers, its conventions or refebm.diagnostics, names the arguments
    # in the code's order (quotes abbreviated with "..." are skipped)
    import pathlib
    import re

    functions = _public_functions()
    root = pathlib.Path(__file__).resolve().parents[1]
    checked, errors = 0, []
    for page in ("docs/sampling.md", "docs/diagnostics.md", "docs/conventions.md"):
        text = (root / page).read_text()
        for m in re.finditer(r"`(?:[\w.]+\.)?(\w+)(\([^`]*\))`", text.replace("\n", " ")):
            name, args = m.group(1), m.group(2)
            if name not in functions or "..." in args or "->" in text[m.end():m.end() + 3]:
                continue
            error = _check_quote(name + re.sub(r"\s+", " ", args), functions[name])
            checked += 1
            if error:
                errors.append(f"{page}: `{name}{args}`: {error}")
    assert not errors, "\n".join(errors)
    assert checked >= 15          # the pages do quote the signatures


def test_the_signature_check_catches_a_swapped_order():
    from refebm.samplers import mh_step as step

    assert _check_quote("mh_step(energy, state, proposal_noise, uniform, step_size)", step) is None
    assert "argument 0 is `state`" in _check_quote(
        "mh_step(state, energy, proposal_noise, uniform, step_size)", step)
    assert "keyword `noise`" in _check_quote("mh_step(energy, state, noise=z)", step)
    assert "leaves out required" in _check_quote("mh_step(energy, state)", step)


def test_a_float32_run_follows_the_float64_stream():
    # kernels draw float64 noise and round it for float32 chains: ULA (no accept test, so no
    # decision can flip) from the same seed agrees with the float64 run to float32 rounding,
    # amplified by at most (1 + eps |s'|)^steps (exact check on fixed draws)
    x0 = np.linspace(-1, 1, 10).reshape(5, 2)
    k = ula_kernel(None, 0.1, score=score)
    r64 = sample(k, x0, 4, rng=make_seed(30))
    r32 = sample(k, x0.astype(np.float32), 4, rng=make_seed(30))
    assert r32.trace.dtype == np.float32 and r64.trace.dtype == np.float64
    np.testing.assert_allclose(r32.trace, r64.trace, rtol=0, atol=1e-5)
    assert r32.acceptance_rate.dtype == np.float32
