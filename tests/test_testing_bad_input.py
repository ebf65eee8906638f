"""Bad input to every deterministic check: the message says what the foreign function returned
and what was expected; refebm-side arguments are validated with the argument, rule and value."""

import numpy as np
import pytest

import foreign_impls as fi
from refebm import testing as rt
from refebm.testing import problems

P = problems()
G = P["gaussian"]
M = fi.model_for(G)
A = np.array([[2.0, 0.5], [0.5, 1.5]])
XP = G.x + 0.3 * G.noise


def _runners():
    score = fi.make_score(M)
    return {
        "score": (lambda f: rt.check_score(f, G.energy, G.x), (32, 2)),
        "score_matching_loss": (lambda f: rt.check_score_matching_loss(f, G.energy, G.x), ()),
        "sliced_score_matching_loss": (lambda f: rt.check_sliced_score_matching_loss(
            f, G.energy, G.x, G.projections), ()),
        "hutchinson_trace": (lambda f: rt.check_hutchinson_trace(f, A, G.projections[:, 0]),
                             ()),
        "denoising_score_matching_loss": (lambda f: rt.check_denoising_score_matching_loss(
            f, G.x, G.sigma, G.noise, energy=G.energy), ()),
        "nce_loss": (lambda f: rt.check_nce_loss(f, G.energy, G.log_z, G.x, G.x_noise,
                                                 G.noise_log_prob), ()),
        "cd_gradient": (lambda f: rt.check_cd_gradient(f, G.energy_of_theta, G.theta, G.x,
                                                       G.x_model), (6,)),
        "langevin_step": (lambda f: rt.check_langevin_step(f, score, G.x, G.noise,
                                                           G.step_size), (32, 2)),
        "mh_log_acceptance": (lambda f: rt.check_mh_log_acceptance(f, G.energy, G.x, XP),
                              (32,)),
        "mala_step": (lambda f: rt.check_mala_step(f, G.energy, G.x, G.noise, G.uniform,
                                                   G.mala_step_size), (32, 2)),
    }


RUNNERS = _runners()


def _raises(*args):
    raise ValueError("boom in foreign code")


@pytest.mark.parametrize("quantity", sorted(RUNNERS))
def test_foreign_function_raises(quantity):
    check, _ = RUNNERS[quantity]
    r = check(_raises)
    assert r.status == "fail" and r.got is None
    note = " ".join(r.notes)
    assert "raised ValueError: boom in foreign code" in note and "called as" in note
    with pytest.raises(AssertionError, match="boom in foreign code"):
        r.assert_ok()


@pytest.mark.parametrize("quantity", sorted(RUNNERS))
def test_foreign_function_returns_string(quantity):
    check, shape = RUNNERS[quantity]
    r = check(lambda *a: "0.5")
    assert r.status == "fail"
    note = " ".join(r.notes)
    assert "returned str '0.5'" in note and "expected" in note, note


@pytest.mark.parametrize("quantity", sorted(RUNNERS))
def test_foreign_function_returns_none(quantity):
    check, _ = RUNNERS[quantity]
    r = check(lambda *a: None)
    assert r.status == "fail" and "returned NoneType None" in " ".join(r.notes)


@pytest.mark.parametrize("quantity", sorted(RUNNERS))
def test_foreign_function_returns_wrong_shape(quantity):
    check, shape = RUNNERS[quantity]
    bad = (3, 5)
    r = check(lambda *a: np.ones(bad))
    assert r.status == "fail", str(r)
    note = " ".join(r.notes)
    assert f"returned shape {bad}" in note and f"expected shape {shape}" in note, note


@pytest.mark.parametrize("quantity", sorted(RUNNERS))
def test_foreign_function_returns_nan(quantity):
    check, shape = RUNNERS[quantity]
    r = check(lambda *a: np.full(shape, np.nan))
    assert r.status == "fail"
    assert "returned NaN" in " ".join(r.notes), str(r)


def test_float32_value_at_float64_tolerance():
    """A float32 result checked in float64 mode fails and says it agrees at float32 tolerance."""
    good = fi.make_sm_loss(M)
    r = rt.check_score_matching_loss(lambda x: np.float32(good(x)), G.energy, G.x)
    assert r.status == "fail"
    note = " ".join(r.notes)
    assert "returned float32 where float64 was expected" in note
    assert "agrees at float32 tolerance" in note and "dtype='float32'" in note
    assert rt.check_score_matching_loss(lambda x: np.float32(good(x)), G.energy, G.x,
                                        dtype="float32").status == "pass"


def test_python_float_list_and_0d():
    good = fi.make_sm_loss(M)
    assert rt.check_score_matching_loss(lambda x: float(good(x)), G.energy, G.x).ok
    assert rt.check_score_matching_loss(lambda x: [good(x)], G.energy, G.x).ok
    assert rt.check_score_matching_loss(lambda x: np.array([good(x)]), G.energy, G.x).ok


def test_array_protocols():
    """Objects exposing only __array__ or only __dlpack__ are converted."""
    good = fi.make_score(M)

    class OnlyArray:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a

    class OnlyDlpack:
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kw):
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    assert rt.check_score(lambda x: OnlyArray(good(x)), G.energy, G.x).status == "pass"
    assert rt.check_score(lambda x: OnlyDlpack(good(x)), G.energy, G.x).status == "pass"


def test_refebm_side_arguments_are_validated():
    good = fi.make_langevin(M)
    with pytest.raises(ValueError, match=r"`step_size` must be > 0(\.0)?, got -0\.1"):
        rt.check_langevin_step(good, fi.make_score(M), G.x, G.noise, -0.1)
    with pytest.raises(ValueError, match="`convention` must be one of"):
        rt.check_langevin_step(good, fi.make_score(M), G.x, G.noise, 0.1, convention="ncsn")
    with pytest.raises(TypeError, match="foreign function must be callable, got 3"):
        rt.check_score(3, G.energy, G.x)
    with pytest.raises(ValueError, match="`noise` must have shape"):
        rt.check_denoising_score_matching_loss(fi.make_dsm_loss(M), G.x, 0.5, G.noise[:3],
                                               energy=G.energy)
    with pytest.raises(ValueError, match="`projections` must have shape"):
        rt.check_sliced_score_matching_loss(fi.make_ssm_loss(M), G.energy, G.x,
                                            G.projections[:, :5])
    with pytest.raises(ValueError, match="`dtype` must be 'float64' or 'float32', got 'half'"):
        rt.check_score(fi.make_score(M), G.energy, G.x, dtype="half")
    with pytest.raises(ValueError, match="`sigma` must be > 0"):
        rt.check_denoising_score_matching_loss(fi.make_dsm_loss(M), G.x, 0.0, G.noise,
                                               energy=G.energy)
    with pytest.raises(ValueError, match="give the model"):
        rt.check_denoising_score_matching_loss(fi.make_dsm_loss(M), G.x, 0.5, G.noise)
    with pytest.raises(ValueError, match="`jacobian_or_fn` must have shape"):
        rt.check_hutchinson_trace(lambda v: 0.0, np.eye(3), G.projections[:, 0])


def test_torch_adapter_without_torch_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name in ("torch", "jax"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"refebm\[torch\]"):
        rt.torch_function(lambda x: x)
    with pytest.raises(ImportError, match=r"refebm\[jax\]"):
        rt.jax_function(lambda x: x)


def test_no_framework_import_for_numpy_values():
    import subprocess
    import sys

    code = ("import numpy as np, sys; from refebm.testing import check_score, problems; "
            "p = problems()['gaussian']; "
            "mu, P = p.params['mean'], p.params['precision']; "
            "check_score(lambda x: -(x - mu) @ P, p.energy, p.x); "
            "print('torch' in sys.modules, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
