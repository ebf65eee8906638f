"""The calling convention of docs/conventions.md, checked mechanically on the public API.

Every public function takes: the model (energy or score; a function that accepts both takes the
energy first and the score as ``score=``), then data or state, then noise arrays, then scalars,
then keyword-only options; a function that draws its own noise takes ``rng`` as its last
positional argument; every ``*_step`` takes ``(model, state, ...)`` and every ``*_init`` builds
that state from ``(model, x)``. What can be read from a signature is checked here; the rest
(what a step returns) is tested with each sampler.
"""

import importlib
import inspect

import pytest

import refebm

MODEL = {"energy", "score", "score_fn", "energy_fn", "energy_of_theta"}
NOISE = {"noise", "uniform", "uniforms", "proposal_noise", "uniform_h", "uniform_v", "probes",
         "projections", "v"}
SCALAR = {"step_size", "step", "drift", "noise_scale", "n_steps", "n_steps_each", "k", "sigma",
          "sigmas", "tol", "nu"}
OPTIONS = {"convention", "method", "keep", "denoise", "reduction", "control_variate",
           "variance_reduced", "progress", "thin", "callback", "n_boot", "min_ess"}

# (function, why it departs from the rule)
EXEMPT = {
    "train.fit": "the parameters are what it optimizes: fit(loss, theta0, data)",
}
SKIP_MODULES = {"testing", "vectors", "cli", "figures", "report", "derivations"}  # see below
# refebm.testing checks take the foreign callable first (the thing under test), by design;
# vectors, cli, figures, report and derivations take no models.


def _public_functions():
    out = []
    for name in refebm._SUBMODULES:
        if name in SKIP_MODULES:
            continue
        module = importlib.import_module(f"refebm.{name}")
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isfunction(obj):
                out.append((f"{name}.{attr}", obj))
    return sorted(set(out), key=lambda p: p[0])


FUNCTIONS = _public_functions()
CHECKED = [(n, f) for n, f in FUNCTIONS if n not in EXEMPT]  # EXEMPT says why the others depart


def _positional(f):
    return [p.name for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _check(name, f):
    """The rule on one signature (AssertionError naming the function when it is broken)."""
    params = inspect.signature(f).parameters
    pos = _positional(f)
    models = [i for i, p in enumerate(pos) if p in MODEL]
    assert all(i == 0 for i in models[:1]), f"{name}{inspect.signature(f)}: the model goes first"
    if "energy" in pos and "score" in params:
        assert params["score"].kind is params["score"].KEYWORD_ONLY, \
            f"{name}: with an energy, the score is passed by keyword"
    noise = [i for i, p in enumerate(pos) if p in NOISE]
    scalars = [i for i, p in enumerate(pos) if p in SCALAR]
    if noise and scalars:
        assert max(noise) < min(scalars), f"{name}{inspect.signature(f)}: noise before scalars"
    if "rng" in pos:
        assert pos[-1] == "rng", f"{name}{inspect.signature(f)}: rng is the last positional"
    for option in OPTIONS & set(params):
        assert params[option].kind is params[option].KEYWORD_ONLY, \
            f"{name}: option `{option}` must be keyword-only"


@pytest.mark.parametrize("name, f", CHECKED, ids=[n for n, _ in CHECKED])
def test_model_first_noise_before_scalars_rng_last_options_by_keyword(name, f):
    _check(name, f)


def test_every_exemption_is_a_public_function():
    assert set(EXEMPT) <= {n for n, _ in FUNCTIONS}


STEPS = [(n, f) for n, f in FUNCTIONS if n.endswith("_step")]
INITS = [(n, f) for n, f in FUNCTIONS if n.startswith("samplers.") and n.endswith("_init")]


@pytest.mark.parametrize("name, f", STEPS, ids=[n for n, _ in STEPS])
def test_every_step_takes_the_model_then_the_state(name, f):
    pos = _positional(f)
    assert "state" in pos, f"{name}{inspect.signature(f)} takes no state"
    assert pos.index("state") >= 1 and pos.index("state") == len(
        [p for p in pos[:pos.index("state")] if p not in NOISE | SCALAR]), \
        f"{name}{inspect.signature(f)}: the model, then the state"


@pytest.mark.parametrize("name, f", INITS, ids=[n for n, _ in INITS])
def test_every_init_takes_the_model_then_the_points(name, f):
    pos = _positional(f)
    assert pos[-1] == "x", f"{name}{inspect.signature(f)}: the model, then the points x"


def test_the_walk_sees_the_samplers_and_objectives():
    names = {n for n, _ in FUNCTIONS}
    assert {"samplers.mala_step", "samplers.ula_init", "objectives.denoising_score_matching_loss",
            "diagnostics.rhat"} <= names
    assert len(STEPS) >= 6 and len(INITS) >= 4


@pytest.mark.parametrize("bad", [
    lambda x, energy: x,                                   # data before the model
    lambda energy, x, step_size, noise: x,                 # a scalar before the noise
    lambda energy, x, rng, step_size: x,                   # rng not last
    lambda energy, x, score=None: x,                       # score not by keyword
    lambda energy, x, convention="cs236": x,               # an option by position
], ids=["data-first", "scalar-before-noise", "rng-not-last", "score-positional",
        "option-positional"])
def test_the_rule_catches_a_broken_signature(bad):
    with pytest.raises(AssertionError):
        _check("bad", bad)
