"""One sweep over the whole public API: every public callable, one valid call each, and every
array or scalar argument mutated (NaN, inf, wrong ndim, shape mismatch, empty, out of range,
wrong type, Python lists, float32, torch/JAX arrays).

Each outcome must be either

* an error: ``ValueError`` or ``TypeError`` whose message names the argument (and, for a torch
  tensor or JAX array, says that refebm computes on NumPy float64 arrays and how to convert), or
* an accepted, correct result: a mutation that keeps the values (a list, float32, integers)
  gives the valid call's result (to float32 rounding), and a mutation that changes them is
  accepted only where ``accept`` below says why (a documented result, e.g. ``+inf`` energy
  off the support).

A shape mismatch is a relation between two arguments, so its error may name either of them.
Anything else (a silent result, ``AttributeError``, ``IndexError``, a raw broadcast error, a
message that does not name the argument) fails. The public methods of the model classes and
the callables that public functions return (a composed energy, a score) get rows too.
A real torch tensor is added to the mutations when torch is installed. The callables are
enumerated from the
``__all__`` of ``refebm`` and of its submodules, so a new public function without a row in
``SPECS`` (or a reasoned entry in ``EXEMPT``) fails ``test_every_public_callable_has_a_row``.

The second test checks the dtype rule of ``docs/conventions.md``: float32 in (every floating
array argument float32) gives float32 out, in every floating array or scalar a call returns
(and in the state of a returned object); float64 or integer in gives float64 out.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import pkgutil
import types
import warnings
from dataclasses import dataclass, field
from typing import Callable

import autograd.numpy as anp
import numpy as np
import pytest

import refebm
from seeding import make_rng, make_seed

# ---------------------------------------------------------------------------------------------
# the public API, enumerated
# ---------------------------------------------------------------------------------------------


def _public_callables():
    """``{qualified name: object}`` for every callable named in an ``__all__`` of refebm."""
    out, seen = {}, set()

    def walk(modname):
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if isinstance(obj, types.ModuleType):
                if obj.__name__.startswith("refebm"):
                    walk(obj.__name__)
                continue
            if not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            prefix = "" if modname == "refebm" else modname.removeprefix("refebm.") + "."
            out[prefix + name] = obj

    walk("refebm")
    for sub in refebm._SUBMODULES:
        walk(f"refebm.{sub}")
    for info in pkgutil.iter_modules(refebm.__path__):   # public modules not (yet) re-exported
        if not info.name.startswith("_") and info.name not in refebm._SUBMODULES:
            if hasattr(importlib.import_module(f"refebm.{info.name}"), "__all__"):
                walk(f"refebm.{info.name}")
    return out


PUBLIC = _public_callables()


def _is_container(obj):
    return isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields")


#: callables with no row, and why
EXEMPT = {
    name: "a NamedTuple of results or state built by refebm; its fields are checked where the "
          "container is consumed (the `state` arguments below)"
    for name, obj in PUBLIC.items() if _is_container(obj)
}
EXEMPT.update({
    name: "an exception or warning type (raised or issued by refebm, never called with data)"
    for name, obj in PUBLIC.items() if isinstance(obj, type) and issubclass(obj, BaseException)
})
EXEMPT.update({
    name: "the conformance kit and the golden vectors call foreign (torch, JAX) code on purpose "
          "and have their own bad-input tests: tests/test_testing_bad_input.py, "
          "tests/test_vectors.py"
    for name in PUBLIC if name.startswith(("testing.", "vectors."))
})
EXEMPT.update({
    "figures.make_figures": "draws every figure (minutes); its `names`, `out_dir` and `rng` are "
                            "checked in tests/test_figures.py",
    "report.run_checks": "runs every report check (tens of seconds) and takes only `progress`; "
                         "tested in tests/test_report.py",
    "families.Poisson.score": "a discrete family has no score: TypeError by design "
                              "(tests/test_families.py)",
    "families.Bernoulli.score": "a discrete family has no score: TypeError by design "
                                "(tests/test_families.py)",
})

# ---------------------------------------------------------------------------------------------
# fixed, valid data
# ---------------------------------------------------------------------------------------------


def X():
    """Four points in two dimensions."""
    return np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [0.1, 0.3]])


def X1():
    """Four points in one dimension."""
    return np.array([[0.5], [1.5], [-0.75], [0.1]])


def E2(x):
    return 0.5 * anp.sum(x ** 2, axis=-1)


def S2(x):
    return -x


def E1(x):
    return 0.5 * x[:, 0] ** 2


def LOGN1(x):
    return -0.5 * x[:, 0] ** 2 - 0.5 * math.log(2 * math.pi)


def ETH(theta, x):
    return 0.5 * theta * x[:, 0] ** 2


#: the int seed the rows pass as `rng` (from the suite's seed helper). Random draws here are only
#: valid inputs; every assertion is exact (an error is raised and names the argument, or the
#: mutated call returns what the valid call returns), so no false-failure rate applies.
SEED = make_seed("api-sweep")


def _gen(key=0):
    return make_rng(f"api-sweep-{key}")


@dataclass
class Spec:
    """One valid call: ``target(**args())`` (``target(*args().values())`` if ``positional``)."""

    target: Callable
    args: Callable[[], dict] = dict
    oor: dict = field(default_factory=dict)          # argument -> an out-of-range value
    accept: dict = field(default_factory=dict)       # (argument, mutation) -> why it is right
    raised_by_caller: dict = field(default_factory=dict)  # (argument, mutation) -> why the
    # caller's own function (the test's energy or loss), not refebm, is where it must fail
    probe: Callable | None = None                    # (result, dtype) -> numbers to compare
    fixed: tuple = ()                                 # arguments not mutated (reason in a comment)
    linked: tuple | None = None                      # arrays whose shapes must agree
    positional: bool = False
    dtype: str | None = "check"   # "float64": no floating array in, so float64 out; None: the
    # rule does not apply (the comment says why)


def _fam_probe(points):
    """Probe a distribution object: energy, log_prob, log Z and draws, at float dtype ``dt``."""
    def probe(obj, dt):
        x = points().astype(dt)
        out = [obj.energy(x), obj.log_prob(x), obj.log_partition()]
        if hasattr(obj, "sample"):
            try:
                out.append(obj.sample(3, _gen(1)))
            except TypeError:
                pass
        return out
    return probe


def _call_probe(points):
    def probe(fn, dt):
        return fn(points().astype(dt))
    return probe


def _kernel_probe(x0):
    def probe(kernel, dt):
        state = kernel.init(x0().astype(dt))
        return kernel(state, _gen(2))
    return probe


# The valid calls. Arguments named as in the signatures, so an error must name them.
F = refebm
SPECS: dict[str, Spec] = {}


def spec(name, target=None, **kw):
    SPECS[name] = Spec(target if target is not None else PUBLIC[name], **kw)


# --- core ------------------------------------------------------------------------------------
spec("array_namespace", args=lambda: {"xp": np}, oor={"xp": "bogus"},
     dtype=None)   # returns a module
spec("get_backend", dtype=None)   # names and namespaces, no numbers
spec("set_backend", args=lambda: {"name": "numpy"}, dtype=None)

# --- families --------------------------------------------------------------------------------
_fams = importlib.import_module("refebm.families")
spec("families.Gaussian", args=lambda: {"mean": np.array([0.5, -1.0]),
                                        "cov": np.array([[2.0, 0.5], [0.5, 1.0]])},
     oor={"cov": np.array([[1.0, 2.0], [2.0, 1.0]])}, probe=_fam_probe(X))
spec("families.Exponential", args=lambda: {"rate": 1.5}, oor={"rate": -1.0},
     probe=_fam_probe(lambda: np.abs(X1())))
spec("families.Gamma", args=lambda: {"shape": 2.0, "rate": 1.5},
     oor={"shape": -1.0, "rate": 0.0}, probe=_fam_probe(lambda: np.abs(X1())))
spec("families.Beta", args=lambda: {"a": 2.0, "b": 3.0}, oor={"a": 0.0, "b": -2.0},
     probe=_fam_probe(lambda: np.array([[0.2], [0.5], [0.9]])))
spec("families.Poisson", args=lambda: {"rate": 2.5}, oor={"rate": -1.0},
     probe=_fam_probe(lambda: np.array([[0.0], [1.0], [4.0]])))
spec("families.Bernoulli", args=lambda: {"p": 0.3}, oor={"p": 1.5},
     probe=_fam_probe(lambda: np.array([[0.0], [1.0], [1.0]])))
spec("families.Dirichlet", args=lambda: {"alpha": np.array([1.5, 2.0, 3.0])},
     oor={"alpha": np.array([1.0, -1.0, 2.0])},
     probe=_fam_probe(lambda: np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])))
spec("families.Wishart", args=lambda: {"df": 4.0, "scale": np.array([[1.0, 0.2], [0.2, 2.0]])},
     oor={"df": 0.5, "scale": np.array([[1.0, 2.0], [2.0, 1.0]])},
     probe=_fam_probe(lambda: np.array([[[2.0, 0.3], [0.3, 1.0]]])))
spec("families.GaussianMixture",
     args=lambda: {"weights": np.array([0.3, 0.7]), "means": np.array([[0.0, 0.0], [1.0, 2.0]]),
                   "covs": np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]]])},
     oor={"weights": np.array([0.3, 0.8])}, probe=_fam_probe(X))


def _rayleigh(natural_params, event_shape=1):
    return _fams.ExponentialFamily(
        natural_params, lambda x: x ** 2, lambda x: anp.log(x[:, 0]),
        lambda theta: -anp.log(-2.0 * theta[0]), event_shape=event_shape,
        support=lambda x: x[:, 0] > 0,
        sampler=lambda n, rng: rng.rayleigh(2.0, size=(n, 1)))


spec("families.ExponentialFamily", _rayleigh,
     args=lambda: {"natural_params": np.array([-0.125]), "event_shape": 1},
     oor={"natural_params": np.array([-0.125, 0.5])},   # one entry too many for T
     probe=lambda fam, dt: [fam.energy(np.abs(X1()).astype(dt)), fam.log_partition()])

# --- methods of the model classes (the most used ones) ----------------------------------------
# The parameters of the object are arguments too (not mutated: the constructor rows do that), so
# the dtype test passes them in the dtype under test.
_G = lambda: _fams.Gaussian(np.array([0.5, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]]))  # noqa
_GP = lambda: {"mean": np.array([0.5, -1.0]), "cov": np.array([[2.0, 0.5], [0.5, 1.0]])}  # noqa
spec("families.Gaussian.energy", lambda x, mean, cov: _fams.Gaussian(mean, cov).energy(x),
     args=lambda: {"x": X(), **_GP()}, fixed=("mean", "cov"))
spec("families.Gaussian.score", lambda x, mean, cov: _fams.Gaussian(mean, cov).score(x),
     args=lambda: {"x": X(), **_GP()}, fixed=("mean", "cov"))
spec("families.Gaussian.sample", lambda n, rng, mean, cov: _fams.Gaussian(mean, cov).sample(n, rng),
     args=lambda: {"n": 3, "rng": _gen(3), **_GP()}, oor={"n": 0}, fixed=("mean", "cov"))
spec("families.Gamma.log_prob", lambda x, shape, rate: _fams.Gamma(shape, rate).log_prob(x),
     args=lambda: {"x": np.abs(X1()), "shape": 2.0, "rate": 1.5}, fixed=("shape", "rate"),
     accept={("x", "ndim-1"): "(n,) is documented as n points for univariate families"})
spec("families.ExponentialFamily.log_partition_natural",
     lambda theta, natural_params: _rayleigh(natural_params).log_partition_natural(theta),
     args=lambda: {"theta": np.array([-0.5]), "natural_params": np.array([-0.125])},
     oor={"theta": np.array([0.5])}, fixed=("natural_params",))

# --- every public method of the model classes, called on the object of the row above --------
# The constructor's arguments travel as ``ctor.<name>`` (never mutated: the constructor rows do
# that), so the dtype test passes them in the dtype under test too.
_METHOD_POINTS = {
    "families.Gaussian": X, "families.GaussianMixture": X,
    "families.Exponential": lambda: np.abs(X1()), "families.Gamma": lambda: np.abs(X1()),
    "families.ExponentialFamily": lambda: np.abs(X1()),
    "families.Beta": lambda: np.array([[0.2], [0.5], [0.9]]),
    "families.Poisson": lambda: np.array([[0.0], [1.0], [4.0]]),
    "families.Bernoulli": lambda: np.array([[0.0], [1.0], [1.0]]),
    "families.Dirichlet": lambda: np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]),
    "families.Wishart": lambda: np.array([[[2.0, 0.3], [0.3, 1.0]]]),
    "energies.MLPEnergy": X, "energies.NoiseConditionalMLP": X,
}
_UNIVARIATE = {"families.Exponential", "families.Gamma", "families.ExponentialFamily",
               "families.Beta", "families.Poisson", "families.Bernoulli"}


def _method_args(cls_row, method, obj):
    """Valid arguments of ``obj.method`` by parameter name, or ``None`` if unknown."""
    import inspect

    params = [p for p in inspect.signature(getattr(obj, method)).parameters.values()
              if p.default is inspect.Parameter.empty or p.name == "method"]
    pts = _METHOD_POINTS.get(cls_row)
    values = {
        "x": pts, "n": lambda: 3, "rng": lambda: _gen(4), "sigma": lambda: 0.5,
        "theta": lambda: np.array(getattr(obj, "natural_params")),
        "s": lambda: np.array([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]]), "i": lambda: 1,
        "v": lambda: np.array([[1.0, 0.0, 1.0]]), "h": lambda: np.array([[1.0, 0.0]]),
        "method": lambda: "auto",
        "noise": lambda: X() if cls_row == "families.Gaussian" else X()[:2],
        "components": lambda: np.array([0, 1]),
    }
    out = {}
    for p in params:
        make = values.get(p.name)
        if make is None:
            return None
        out[p.name] = make()
    return out


def _add_method_rows(cls_row):
    import inspect

    base = SPECS[cls_row]
    ctor = base.args()
    obj = _run(Spec(base.target), ctor)
    for method, fn in inspect.getmembers(type(obj)):
        if method.startswith("_") or not callable(fn) or isinstance(fn, type):
            continue
        if f"{cls_row}.{method}" in SPECS or f"{cls_row}.{method}" in EXEMPT:
            continue   # a row of its own above (e.g. a classmethod constructor)
        margs = _method_args(cls_row, method, obj)
        if margs is None:
            raise AssertionError(f"no sweep arguments for {cls_row}.{method}")

        def target(__m=method, **kw):
            c = {k[5:]: v for k, v in kw.items() if k.startswith("ctor.")}
            m = {k: v for k, v in kw.items() if not k.startswith("ctor.")}
            return getattr(base.target(**c), __m)(**m)

        accept = {}
        if cls_row in _UNIVARIATE:
            accept[("x", "ndim-1")] = "(n,) is documented as n points for univariate families"
        if method == "in_support":
            accept.update({("x", m): "NaN and inf points lie outside the support: False"
                           for m in ("nan", "inf")})
        name = f"{cls_row}.{method}"
        if name in SPECS or name in EXEMPT:
            continue
        oor = {k: v for k, v in {"s": np.array([[1.0, 0.0, 1.0], [-1.0, -1.0, 1.0]]),
                                 "v": np.array([[1.0, 2.0, 1.0]]), "h": np.array([[0.5, 0.0]]),
                                 "i": 3, "n": 0, "method": "bogus",
                                 "components": np.array([0, 2])}.items() if k in margs}
        SPECS[name] = Spec(target, oor=oor, args=lambda margs=margs, ctor=ctor: {
            **{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in margs.items()},
            **{f"ctor.{k}": v for k, v in ctor.items()}},
            fixed=tuple(f"ctor.{k}" for k in ctor), accept=accept,
            linked=("x", "noise", "components", "v", "h", "s"))


def _rows_for_methods():
    for row in list(SPECS):
        if row.startswith(("families.", "energies.MLP", "energies.Noise")) and \
                row.count(".") == 1 and isinstance(PUBLIC.get(row), type):
            _add_method_rows(row)


# --- discrete --------------------------------------------------------------------------------
_J = lambda: np.array([[0.0, 0.5, -0.2], [0.5, 0.0, 0.3], [-0.2, 0.3, 0.0]])  # noqa
spec("discrete.binary_states", args=lambda: {"n": 3}, oor={"n": 0, "xp": "bogus"},
     dtype="float64")
spec("discrete.spin_states", args=lambda: {"n": 3}, oor={"n": -1, "xp": "numpy"},
     dtype="float64")
spec("discrete.Ising", args=lambda: {"J": _J(), "h": np.array([0.1, -0.2, 0.3])},
     oor={"J": np.array([[1.0, 0.5, -0.2], [0.5, 0.0, 0.3], [-0.2, 0.3, 0.0]]), "xp": "bogus"},
     probe=lambda m, dt: [m.log_partition(), m.energy(np.array([[1.0, -1.0, 1.0]], dt)),
                          m.marginals()])
spec("discrete.RBM", args=lambda: {"W": np.array([[0.5, -0.2], [0.1, 0.3], [0.0, 0.4]]),
                                   "b": np.array([0.1, 0.0, -0.1]), "c": np.array([0.2, -0.3])},
     probe=lambda m, dt: [m.log_partition(), m.free_energy(np.array([[1.0, 0.0, 1.0]], dt))])
spec("discrete.Ising.energy", lambda s, J: F.discrete.Ising(J).energy(s),
     args=lambda: {"s": np.array([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]]), "J": _J()},
     fixed=("J",),
     oor={"s": np.array([[1.0, 0.0, 1.0]])})

# --- partition -------------------------------------------------------------------------------
spec("partition.quadrature", args=lambda: {"energy": E1, "bounds": [(-np.inf, np.inf)],
                                           "tol": 1e-6},
     oor={"tol": -1.0}, dtype="float64")   # no array in; the energy's output dtype is the caller's
spec("partition.adaptive", args=lambda: {"energy": E1, "bounds": [(-12.0, 12.0)], "tol": 1e-6},
     oor={"tol": 0.0, "method": "bogus"}, dtype="float64")
spec("partition.enumerate_states",
     args=lambda: {"energy": E2, "states": np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])})
spec("partition.importance_sampling",
     args=lambda: {"energy": lambda x: E1(x) + 3.0, "proposal_sample": X1(),
                   "proposal_log_prob": LOGN1(X1())})
spec("partition.ais",
     args=lambda: {"energy": lambda x: E1(x) + 3.0, "init_sample": X1(),
                   "init_log_prob": LOGN1, "betas": np.array([0.0, 0.5, 1.0]),
                   "transition": lambda beta, e: F.samplers.mh_kernel(energy=e, step_size=0.5),
                   "rng": SEED},
     oor={"betas": np.array([0.0, 1.5, 1.0])})

spec("partition.pareto_k", args=lambda: {"log_weights": np.log1p(
    (np.arange(40) + 0.5) / 40)}, accept={("log_weights", "inf"): "an infinite log weight is a "
                                          "documented, meaningful input (k is reported)"})
spec("partition.rbm_ais",
     args=lambda: {"rbm": F.discrete.RBM(_W(), **_BC()), "betas": np.array([0.0, 0.5, 1.0]),
                   "n_samples": 4, "rng": SEED},
     dtype="float64",   # the model's dtype is the RBM object's (built float64 here)
     oor={"betas": np.array([0.0, 1.5, 1.0]), "n_samples": 1})

# --- compose ---------------------------------------------------------------------------------
spec("compose.product",
     args=lambda: {"log_p_x": LOGN1, "log_p_y_given_x": lambda y, x: LOGN1(y - x), "d_x": 1},
     oor={"d_x": 0}, probe=_call_probe(X))
spec("compose.mixture", args=lambda: {"weights": np.array([0.3, 0.7]),
                                      "log_probs": [LOGN1, lambda x: LOGN1(x - 1.0)]},
     oor={"weights": np.array([0.3, -0.7])}, probe=_call_probe(X1))
for _g in ("square", "exponential", "absolute", "softplus"):
    spec(f"compose.{_g}", args=lambda: {"f": lambda x: x[:, 0] + 0.25}, probe=_call_probe(X1))

# the energies and derivatives these return, called with bad points
spec("compose.product.<energy>", lambda z: F.compose.product(   # its argument is z = (x, y)
    LOGN1, lambda y, x: LOGN1(y - x), 1)(z), args=lambda: {"z": X()})
spec("compose.mixture.<energy>", lambda x, weights: F.compose.mixture(
    weights, [LOGN1, lambda x: LOGN1(x - 1.0)])(x),
    args=lambda: {"x": X1(), "weights": np.array([0.3, 0.7])}, fixed=("weights",),
    linked=())   # the dimension is the components' business
for _g in ("square", "exponential", "absolute", "softplus"):
    spec(f"compose.{_g}.<energy>",
         lambda x, _g=_g: getattr(F.compose, _g)(lambda x: x[:, 0] + 0.25)(x),
         args=lambda: {"x": X1()})
for _d in ("score", "hessian_trace"):
    spec(f"diff.{_d}.<returned>", lambda x, _d=_d: getattr(F.diff, _d)(E2)(x),
         args=lambda: {"x": X()})

# --- ratio -----------------------------------------------------------------------------------
spec("ratio.log_ratio", args=lambda: {"energy": E2, "x": X(), "x_prime": X()[::-1].copy()})
spec("ratio.anomaly_score", args=lambda: {"energy": E2, "x": X(), "log_z": 1.5})
spec("ratio.denoise", args=lambda: {"energy": E2, "x": X(), "step_size": 0.1,
                                    "n_steps": 3},
     oor={"step_size": -0.1, "n_steps": -1})

_MIX = lambda: _fams.GaussianMixture(np.array([0.5, 0.5]), np.array([[-3.0], [3.0]]),  # noqa
                                     np.array([[[1.0]], [[1.0]]]))

# --- diff ------------------------------------------------------------------------------------
for _d in ("score", "hessian_trace"):
    spec(f"diff.{_d}", args=lambda: {"energy": E2}, probe=_call_probe(X))
spec("diff.hutchinson_trace", args=lambda: {"energy": E2, "x": X(),
                                            "v": np.ones((3, 4, 2))},
     accept={("v", "ndim-1"): "a 2-D `v` of shape (n, d) is one vector per point (documented)"})
# (the analytic score is the object's own method: its dtype is the object's, tested above)
spec("diff.analytic_score", args=lambda: {"energy": _G().energy},
     probe=lambda s, dt: s(X().astype(dt)), dtype=None)
spec("diff.analytic_energy_and_score", args=lambda: {"energy": _MIX().energy},
     probe=lambda s, dt: s(X1().astype(dt)), dtype=None)

# --- samplers --------------------------------------------------------------------------------
_S = F.samplers
spec("samplers.sample", args=lambda: {"kernel": _S.mh_kernel(energy=E2, step_size=0.5),
                                      "x0": X(), "n_steps": 3,
                                      "rng": SEED},
     oor={"n_steps": 0})
spec("samplers.conventions.drift_and_noise", args=lambda: {"step": 0.5, "convention": "cs236"},
     oor={"step": -0.5}, dtype="float64")   # Python scalars in
spec("samplers.conventions.convert_step",
     args=lambda: {"step": 0.1, "frm": "song_kingma", "to": "cs236"}, oor={"step": -0.1},
     dtype="float64")
spec("samplers.conventions.convention_step",
     args=lambda: {"score": S2, "state": _S.ula_init(score=S2, x=X()),
                   "noise": X()[::-1].copy(), "step": 0.1},
     oor={"step": -0.1})
spec("samplers.conventions.ncsn_step_sizes",
     args=lambda: {"step_size": 2e-5, "sigmas": np.array([1.0, 0.1, 0.01])},
     oor={"step_size": -1.0, "sigmas": np.array([1.0, -0.1, 0.01])})
spec("samplers.conventions.decoupled_temperature",
     args=lambda: {"drift": 10.0, "noise_scale": 0.005}, oor={"noise_scale": -1.0}, dtype="float64")
spec("samplers.conventions.decoupled_as_tempered",
     args=lambda: {"drift": 0.5, "noise_scale": 1.0}, oor={"drift": -0.5}, dtype="float64")
spec("samplers.conventions.ula_stationary_gaussian",
     args=lambda: {"mean": np.zeros(1), "cov": np.array([[2.0]]), "drift": 0.4,
                   "noise_scale": math.sqrt(0.8)},
     oor={"cov": np.array([[-2.0]]), "drift": -0.4})
spec("samplers.conventions.stationary_law",
     args=lambda: {"mean": np.zeros(1), "cov": np.eye(1), "step": 0.2, "convention": "cs236"},
     oor={"step": -0.2})
_MH0 = lambda: _S.mh_init(x=X(), energy=E2)  # noqa: E731
_U4 = lambda: np.array([0.1, 0.5, 0.9, 0.3])  # noqa: E731
spec("samplers.mh_init", args=lambda: {"energy": E2, "x": X()})
spec("samplers.mh_step", args=lambda: {"energy": E2, "state": _MH0(),
                                       "proposal_noise": X()[::-1].copy(), "uniform": _U4(),
                                       "step_size": 0.5},
     oor={"step_size": -0.5, "uniform": np.array([0.1, 1.5, 0.9, 0.3])})
spec("samplers.mh_general_step",
     args=lambda: {"energy": E2, "propose": lambda x, z: 0.5 * x + z,
                   "proposal_log_prob": lambda to, frm: -0.5 * anp.sum((to - 0.5 * frm) ** 2, -1),
                   "state": _MH0(), "noise": X()[::-1].copy(), "uniform": _U4()},
     oor={"uniform": np.array([0.1, -0.5, 0.9, 0.3])})
spec("samplers.mh_kernel", args=lambda: {"energy": E2, "step_size": 0.5},
     oor={"step_size": -0.5}, probe=_kernel_probe(X))
spec("samplers.mh_general_kernel",
     args=lambda: {"energy": E2, "propose": lambda x, z: 0.5 * x + z,
                   "proposal_log_prob": lambda to, frm: -0.5 * anp.sum((to - 0.5 * frm) ** 2, -1)},
     probe=_kernel_probe(X))
spec("samplers.accept", args=lambda: {"log_ratio": np.log(np.array([0.3, 0.3, 2.0])),
                                      "uniform": np.array([0.29, 0.31, 0.99])},
     oor={"uniform": np.array([0.29, 1.31, 0.99])},
     accept={("log_ratio", "nan"): "a NaN acceptance ratio is a rejection (documented)",
             ("log_ratio", "inf"): "an infinite ratio is an acceptance (documented)"})
spec("samplers.log_acceptance_to_probability",
     args=lambda: {"log_ratio": np.array([0.5, math.log(0.25), -3.0])},
     accept={("log_ratio", "nan"): "a NaN acceptance ratio is probability 0 (documented)",
             ("log_ratio", "inf"): "an infinite ratio is probability 1 (documented)"})
spec("samplers.energy_and_score", args=lambda: {"energy": E2},
     probe=lambda f, dt: f(X().astype(dt)))
spec("samplers.ula_init", args=lambda: {"score": S2, "x": X()})
spec("samplers.ula_step", args=lambda: {"score": S2, "state": _S.ula_init(score=S2, x=X()),
                                        "noise": X()[::-1].copy(), "step_size": 0.1},
     oor={"step_size": -0.1})
spec("samplers.decoupled_langevin_step",
     args=lambda: {"score": S2, "state": _S.ula_init(score=S2, x=X()),
                   "noise": X()[::-1].copy(), "drift": 0.1, "noise_scale": 0.3},
     oor={"drift": -0.1, "noise_scale": -0.3})
spec("samplers.ula_kernel", args=lambda: {"energy": E2, "step_size": 0.1},
     oor={"step_size": -0.1}, probe=_kernel_probe(X))
spec("samplers.mala_init", args=lambda: {"energy": E2, "x": X()})
_ML = lambda: _S.mala_init(x=X(), energy=E2)  # noqa: E731
spec("samplers.mala_log_acceptance",
     args=lambda: {"state": _ML(), "proposal": _S.mala_init(x=X()[::-1].copy(), energy=E2),
                   "step_size": 0.3}, oor={"step_size": -0.3})
spec("samplers.mala_step", args=lambda: {"energy": E2, "state": _ML(),
                                         "noise": X()[::-1].copy(), "uniform": _U4(),
                                         "step_size": 0.3},
     oor={"step_size": -0.3, "uniform": np.array([0.1, 0.5, 1.9, 0.3])})
spec("samplers.mala_kernel", args=lambda: {"energy": E2, "step_size": 0.3},
     oor={"step_size": -0.3}, probe=_kernel_probe(X))
_SCN = lambda x, sigma: -x / (1.0 + sigma ** 2)  # noqa: E731
spec("samplers.annealed_langevin",
     args=lambda: {"score_fn": _SCN, "x0": X(), "sigmas": np.array([1.0, 0.5]),
                   "step_size": 0.1, "n_steps_each": 2, "rng": SEED},
     oor={"step_size": -0.1, "n_steps_each": 0, "sigmas": np.array([1.0, -0.5])})
spec("samplers.annealed_langevin_from_noise",
     args=lambda: {"score_fn": _SCN, "x0": X(), "noise": np.full((2, 2, 4, 2), 0.1),
                   "sigmas": np.array([1.0, 0.5]), "step_size": 0.1},
     oor={"step_size": -0.1, "sigmas": np.array([0.5, 1.0])})
_SP = lambda: np.array([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]])  # noqa: E731
_H = lambda: np.array([0.1, -0.2, 0.3])  # noqa: E731
spec("samplers.ising_gibbs_init", args=lambda: {"J": _J(), "h": _H(), "x": _SP()},
     oor={"x": np.array([[1.0, 0.0, 1.0], [-1.0, -1.0, 1.0]])})
spec("samplers.ising_gibbs_step",
     args=lambda: {"J": _J(), "h": _H(), "state": _S.ising_gibbs_init(J=_J(), h=_H(), x=_SP()),
                   "uniform": np.array([[0.1, 0.5, 0.9], [0.3, 0.7, 0.2]])},
     oor={"uniform": np.array([[0.1, 1.5, 0.9], [0.3, 0.7, 0.2]])})
_W = lambda: np.array([[0.5, -0.2], [0.1, 0.3], [0.0, 0.4]])  # noqa: E731
_BC = lambda: {"b": np.array([0.1, 0.0, -0.1]), "c": np.array([0.2, -0.3])}  # noqa: E731
spec("samplers.rbm_gibbs_init", args=lambda: {"W": _W(), **_BC(), "x": np.array([[1.0, 0.0, 1.0]])},
     oor={"x": np.array([[1.0, 2.0, 1.0]])})
spec("samplers.rbm_gibbs_step",
     args=lambda: {"W": _W(), **_BC(),
                   "state": _S.rbm_gibbs_init(W=_W(), **_BC(), x=np.array([[1.0, 0.0, 1.0]])),
                   "uniform_h": np.array([[0.3, 0.6]]), "uniform_v": np.array([[0.2, 0.5, 0.8]])},
     oor={"uniform_h": np.array([[1.3, 0.6]])})
spec("samplers.ising_gibbs_kernel", args=lambda: {"J": _J(), "h": _H()},
     probe=_kernel_probe(_SP))
spec("samplers.rbm_gibbs_kernel", args=lambda: {"W": _W(), **_BC()},
     probe=lambda k, dt: k(k.init(np.array([[1.0, 0.0, 1.0]], dt)), _gen(2)))

# --- diagnostics -----------------------------------------------------------------------------
_CH = lambda: np.sin(np.arange(2 * 12 * 2, dtype=float) * 0.7).reshape(2, 12, 2)  # noqa: E731
spec("diagnostics.acceptance_rate",
     args=lambda: {"is_accepted": np.array([[True, False, True], [True, True, False]]),
                   "axis": 1}, oor={"axis": 2}, dtype="float64")   # bools in
spec("diagnostics.autocovariance", args=lambda: {"x": _CH()[0, :, 0]})
spec("diagnostics.autocorrelation", args=lambda: {"x": _CH()[0, :, 0]})
spec("diagnostics.ess", args=lambda: {"x": _CH()}, oor={"method": "bogus"})
spec("diagnostics.rhat", args=lambda: {"x": _CH()}, oor={"method": "bogus"})
spec("diagnostics.stein_kernel_matrix", args=lambda: {"x": X(), "score": S2},
     oor={"c": -1.0, "beta": 0.5})
spec("diagnostics.ksd", args=lambda: {"x": X(), "score": S2}, oor={"c": -1.0})
spec("diagnostics.ksd_test", args=lambda: {"x": X(), "score": S2, "rng": SEED, "n_boot": 20},
     oor={"n_boot": 0})
spec("diagnostics.ksd_test_from_weights",
     args=lambda: {"x": X(), "score": S2, "weights": np.full((20, 4), 0.25)})

# --- energies --------------------------------------------------------------------------------
_MW = lambda: [(np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]]), np.array([0.1, 0.0, -0.1])),  # noqa
               (np.array([[0.7], [-0.2], [0.3]]), np.array([0.05]))]
spec("energies.MLPEnergy", args=lambda: {"weights": _MW(), "activation": "softplus"},
     oor={"activation": "bogus"},
     probe=lambda e, dt: e(X().astype(dt)))
spec("energies.MLPEnergy.from_torch_layout", PUBLIC["energies.MLPEnergy"].from_torch_layout,
     args=lambda: {"weights": [w.T.copy() for w, _ in _MW()], "biases": [b for _, b in _MW()],
                   "activation": "tanh"},
     oor={"activation": "bogus"}, probe=lambda e, dt: e(X().astype(dt)))
EXEMPT["energies.MLPEnergy.from_torch"] = (
    "takes a torch.nn.Sequential (torch is not a dependency); its bad input (non-torch values, "
    "unsupported layers, shapes) is tested in tests/test_energies_torch_layout.py")
_NW = lambda: [(np.array([[0.5, -0.3], [0.1, 0.4], [0.2, 0.1]]), np.array([0.1, 0.0])),  # noqa
               (np.array([[0.7], [-0.2]]), np.array([0.05]))]
spec("energies.NoiseConditionalMLP",
     args=lambda: {"weights": _NW(), "activation": "swish", "scale_by_sigma": False},
     oor={"activation": "bogus"},
     probe=lambda e, dt: e.score(X().astype(dt), dt(0.5)))
spec("energies.random_mlp_weights",
     args=lambda: {"layer_sizes": [2, 3, 1], "rng": SEED, "bias_scale": 0.1},
     oor={"bias_scale": -1.0}, dtype="float64")   # no array in
spec("energies.flatten_weights", args=lambda: {"weights": _MW()})
spec("energies.tanh", args=lambda: {"a": X()}, positional=True,
     accept={("a", m): "elementwise, as numpy.tanh: any shape, NaN and inf map as tanh does"
             for m in ("nan", "inf", "ndim+1", "ndim-1", "empty")})
_TOY = {"double_well": ({"barrier": 1.0}, {"barrier": -1.0}),
        "ring": ({"radius": 2.0, "width": 0.25}, {"radius": -2.0, "width": -0.25}),
        "banana": ({"a": 1.0, "b": 4.0}, {"b": -4.0})}
for _t, (_kw, _bad) in _TOY.items():
    for _what in ("energy", "score"):
        spec(f"energies.{_t}_{_what}", args=lambda _kw=_kw: {"x": X(), **_kw},
             oor={**_bad, "xp": "bogus"})
spec("energies.banana_log_z", args=lambda: {"b": 4.0}, oor={"b": -4.0}, dtype="float64")

# --- objectives ------------------------------------------------------------------------------
_O = F.objectives
_PE = lambda: _O.parametric(ETH, 1.0)  # noqa: E731
spec("objectives.params.parametric", args=lambda: {"energy_of_theta": ETH, "theta": 1.0},
     probe=lambda m, dt: m(X1().astype(dt)))
spec("objectives.params.ParametricEnergy", args=lambda: {"energy_of_theta": ETH, "theta": 1.0},
     probe=lambda m, dt: m(X1().astype(dt)))
spec("objectives.contrastive.cd_loss", args=lambda: {"energy": E2, "x_data": X(),
                                                     "x_model": X()[:3] + 1.0})
spec("objectives.contrastive.cd_gradient",
     args=lambda: {"energy": _PE(), "x_data": X1(), "x_model": X1() + 1})
spec("objectives.contrastive.langevin_chains",
     args=lambda: {"energy": E2, "x0": X(), "noise": np.full((2, 4, 2), 0.2), "step_size": 0.1},
     oor={"step_size": -0.1})
spec("objectives.contrastive.langevin_cd",
     args=lambda: {"energy": _PE(), "x_data": X1(), "x0": X1(),
                   "noise": np.full((2, 4, 1), 0.2), "step_size": 0.1},
     oor={"step_size": -0.1})
spec("objectives.contrastive.cd_k",
     args=lambda: {"energy": _PE(), "x_data": X1(),
                   "make_kernel": lambda e: _S.ula_kernel(energy=e, step_size=0.1), "k": 2,
                   "rng": SEED},
     oor={"k": 0})
spec("objectives.contrastive.persistent_cd",
     args=lambda: {"energy": _PE(), "x_data": X1(), "chains": X1() + 0.5,
                   "make_kernel": lambda e: _S.mala_kernel(energy=e, step_size=0.1), "k": 1,
                   "rng": SEED},
     oor={"k": -1})
spec("objectives.contrastive.short_run",
     args=lambda: {"energy": _PE(), "x_data": X1(), "k": 2, "step_size": 0.1, "rng": SEED},
     oor={"step_size": -0.1, "k": 0, "init": "bogus"})
spec("objectives.contrastive.noise_init", args=lambda: {"n": 4, "d": 2, "rng": SEED},
     oor={"n": 0, "d": -1, "init": "bogus"}, dtype="float64")
_B1 = lambda: [(-12.0, 12.0)]  # noqa: E731
spec("objectives.likelihood.negative_log_likelihood",
     args=lambda: {"energy": E1, "x": X1(), "bounds": _B1(), "tol": 1e-8}, oor={"tol": -1.0})
spec("objectives.likelihood.nll_gradient",
     args=lambda: {"energy": _PE(), "x": X1(), "bounds": _B1(), "tol": 1e-8})
spec("objectives.likelihood.cross_entropy",
     args=lambda: {"energy": E1, "data_log_prob": LOGN1, "bounds": _B1(), "tol": 1e-8},
     dtype="float64")   # no array in
spec("objectives.likelihood.kl_divergence",
     args=lambda: {"energy": lambda x: 0.5 * (x[:, 0] - 1) ** 2, "data_log_prob": LOGN1,
                   "bounds": _B1(), "tol": 1e-8}, dtype="float64")
spec("objectives.likelihood.entropy",
     args=lambda: {"data_log_prob": LOGN1, "bounds": _B1(), "tol": 1e-8}, dtype="float64")
spec("objectives.nce.nce_logit",
     args=lambda: {"energy": E1, "log_z": 0.5, "x": X1(), "noise_log_prob": LOGN1, "nu": 2.0},
     oor={"nu": -2.0})
spec("objectives.nce.nce_loss",
     args=lambda: {"energy": E1, "log_z": 0.9, "x_data": X1(), "x_noise": X1() + 1.0,
                   "noise_log_prob": LOGN1})
spec("objectives.nce.nce_population_loss",
     args=lambda: {"energy": E1, "log_z": 0.9, "data_log_prob": LOGN1, "noise_log_prob": LOGN1,
                   "nu": 1.0, "bounds": _B1(), "tol": 1e-8}, oor={"nu": 0.0}, dtype="float64")
_SM = "objectives.score_matching."
spec(_SM + "score_matching_loss", args=lambda: {"energy": E2, "x": X()},
     oor={"reduction": "bogus"})
spec(_SM + "sliced_score_matching_loss",
     args=lambda: {"energy": E2, "x": X(), "v": np.ones((3, 4, 2))})
spec(_SM + "denoising_score_matching_loss",
     args=lambda: {"energy": E2, "x": X(), "noise": X()[::-1].copy(), "sigma": 0.5},
     oor={"sigma": -0.5})
spec(_SM + "dsm_control_variate",
     args=lambda: {"energy": E2, "x": X(), "noise": X()[::-1].copy(), "sigma": 0.5},
     oor={"sigma": 0.0})
spec(_SM + "multiscale_denoising_score_matching_loss",
     args=lambda: {"energy": lambda x, sigma: E2(x), "x": X(),
                   "noise": np.full((2, 4, 2), 0.3), "sigmas": np.array([1.0, 0.5])},
     oor={"sigmas": np.array([1.0, -0.5])})
spec(_SM + "score_matching_population_loss",
     args=lambda: {"energy": E1, "data_log_prob": LOGN1, "bounds": _B1(), "tol": 1e-8},
     dtype="float64")
spec(_SM + "fisher_divergence",
     args=lambda: {"energy": lambda x: 0.5 * (x[:, 0] - 1) ** 2, "data_log_prob": LOGN1,
                   "bounds": _B1(), "tol": 1e-8}, dtype="float64")
spec(_SM + "score_matching_gaussian", args=lambda: {"x": X()})
spec(_SM + "score_matching_exponential_family",
     args=lambda: {"x": X(), "T": lambda x: anp.concatenate([x, x ** 2], axis=1)})

# --- train -----------------------------------------------------------------------------------
spec("train.fit", args=lambda: {"loss": lambda th: anp.sum((th - 1.0) ** 2),
                                "theta0": np.array([0.0, 0.5]), "steps": 3, "step_size": 0.1},
     oor={"steps": 0, "step_size": -0.1, "optimizer": "bogus"})

# --- generation ------------------------------------------------------------------------------
spec("generation.geometric_sigmas", args=lambda: {"data": X(), "n_levels": 3, "sigma_min": 0.2},
     oor={"n_levels": 0, "sigma_min": -0.2})
spec("generation.ncsn_loss",
     args=lambda: {"score": lambda x, s: -x / (1.0 + s[:, None] ** 2), "x": X(),
                   "sigmas": np.array([1.0, 0.5]),
                   "levels": np.array([0, 1, 1, 0]), "noise": X()[::-1].copy()},
     oor={"levels": np.array([0, 1, 2, 0])})
spec("generation.train_ncsn",
     args=lambda: {"data": X(), "sigmas": np.array([1.0, 0.5]), "hidden": 4, "steps": (2, 1),
                   "rng": SEED},
     oor={"hidden": 0}, probe=lambda r, dt: [r.losses, r.sigmas])
spec("generation.noisy_mixture_score",
     lambda mixture, **ctor: F.generation.noisy_mixture_score(   # the mixture, rebuilt from
         _fams.GaussianMixture(**ctor)                             # its (cast) parameters
         if isinstance(mixture, _fams.GaussianMixture) else mixture),
     args=lambda: {"mixture": _MIX(), "weights": np.array([0.5, 0.5]),
                   "means": np.array([[-3.0], [3.0]]), "covs": np.array([[[1.0]], [[1.0]]])},
     fixed=("weights", "means", "covs"),
     probe=lambda s, dt: s(X1().astype(dt), dt(0.5)))
spec("generation.mode_weights",
     args=lambda: {"samples": X(), "centers": np.array([[0.0, 0.0], [1.0, 2.0]])},
     dtype="float64")   # returns fractions of counts
spec("generation.compare_samplers",
     args=lambda: {"score_fn": _SCN, "sigmas": np.array([1.0, 0.5]), "x0": X(), "rng": SEED,
                   "step_size": 0.1, "n_steps_each": 2, "plain_step_size": 0.1,
                   "centers": np.array([[0.0, 0.0], [1.0, 2.0]])},
     oor={"step_size": -0.1, "plain_step_size": -0.1, "n_steps_each": 0})
spec("generation.two_moons", args=lambda: {"n": 5, "rng": SEED}, oor={"n": 0, "scale": -0.1},
     dtype="float64")
spec("generation.two_moons_from_noise",
     args=lambda: {"labels": np.array([0, 1, 1]), "t": np.array([0.1, 0.5, 0.9]),
                   "noise": np.zeros((3, 2))},
     oor={"labels": np.array([0, 2, 1]), "t": np.array([0.1, 1.5, 0.9])})

# --- derivations -----------------------------------------------------------------------------
_DV = F.derivations
for _n in ("all_chains", "wrong_forms", "energy_models", "problems", "product_models",
           "mixture_models", "nce_problems"):
    spec(f"derivations.{_n}", dtype="float64")   # catalogues of refebm's own problems
spec("derivations.evaluate_chain", args=lambda: {"chain": _DV.d3_product_normalized(
    _DV.product_models()[0])}, oor={"rtol": -1.0}, dtype="float64")
spec("derivations.format_chain",
     args=lambda: {"result": _DV.evaluate_chain(_DV.d3_product_normalized(
         _DV.product_models()[0]))}, dtype="float64")
spec("derivations.query_points", args=lambda: {"model": _DV.gaussian_1d()}, dtype="float64")
spec("derivations.gaussian_1d", args=lambda: {"b": 0.75, "a": 2.0}, oor={"a": -2.0},
     dtype="float64")
for _n in ("quartic_1d", "logcosh_1d", "quartic_2d", "logcosh_2d"):
    spec(f"derivations.{_n}", dtype="float64")
spec("derivations.quadratic_quartic",
     args=lambda: {"mean": np.zeros(1), "cov": np.eye(1), "bounds": ((-9.0, 9.0),)},
     oor={"cov": -np.eye(1)}, dtype="float64")
spec("derivations.d3_product_normalized", args=lambda: {"model": _DV.product_models()[0]},
     dtype="float64")
spec("derivations.d4_mixture_normalized", args=lambda: {"model": _DV.mixture_models()[0]},
     dtype="float64")
spec("derivations.d6_ratio_without_z",
     args=lambda: {"model": _DV.gaussian_1d(), "x": np.array([[0.3]]),
                   "x_prime": np.array([[-0.4]])}, dtype="float64")
spec("derivations.d8_log_partition_gradient", args=lambda: {"model": _DV.gaussian_1d()},
     dtype="float64")
spec("derivations.d8_log_likelihood_gradient",
     args=lambda: {"model": _DV.gaussian_1d(), "x_train": X1()}, dtype="float64")
spec("derivations.d8_monte_carlo", args=lambda: {"model": _DV.gaussian_1d(), "samples": X1()},
     dtype="float64")
spec("derivations.d12_score_drops_z", args=lambda: {"model": _DV.gaussian_1d(), "x": X1()},
     dtype="float64")
for _n in ("d9_likelihood_is_kl", "d14_univariate_score_matching", "d14_boundary_term",
           "d15_multivariate_score_matching", "d19_nce_optimum", "garbled_score_matching",
           "laplacian_sign_flipped", "likelihood_entropy_sign_flipped"):
    spec(f"derivations.{_n}", args=lambda: {"problem": _DV.problems()["quartic-1d"]},
         dtype="float64")
for _n in ("d16_denoising_score_matching", "dsm_without_constant", "dsm_against_clean_data"):
    spec(f"derivations.{_n}", args=lambda: {"problem": _DV.problems()["quartic-1d"], "sigma": 0.5},
         oor={"sigma": -0.5}, dtype="float64")
spec("derivations.d19_nce_posterior",
     args=lambda: {"problem": _DV.nce_problems()[0], "x": X1()}, dtype="float64")
spec("derivations.d19_nce_gradient", args=lambda: {"problem": _DV.nce_problems()[0]},
     dtype="float64")
for _n in ("d19_nce_optimum",):
    spec(f"derivations.{_n}", args=lambda: {"problem": _DV.nce_problems()[0]}, dtype="float64")
spec("derivations.log_partition_gradient_without_z", args=lambda: {"model": _DV.gaussian_1d()},
     dtype="float64")

spec("derivations.latex_to_text", args=lambda: {"latex": r"\\log Z = \\int e^{-E}"},
     dtype="float64")
_CR = lambda: _DV.evaluate_chain(_DV.d3_product_normalized(_DV.product_models()[0]))  # noqa
spec("derivations.chain_record", args=lambda: {"result": _CR()}, oor={"expect": "bogus"},
     dtype="float64")
spec("derivations.chain_verdict", args=lambda: {"result": _CR()}, oor={"expect": "bogus"},
     dtype="float64")

# --- report ----------------------------------------------------------------------------------
_ROW = lambda: F.report.Check("a check", "D1", 1e-12, 1e-10, True)  # noqa: E731
spec("report.format_table", args=lambda: {"rows": [_ROW()]}, dtype=None)   # text and records
spec("report.format_report", args=lambda: {"rows": [_ROW()]}, oor={"width": -1}, dtype=None)
spec("report.report_record", args=lambda: {"row": _ROW()}, dtype=None)
spec("report.row_verdict", args=lambda: {"row": _ROW()}, dtype=None)

# Mutations that give another valid call, accepted with the reason (the rows above say what the
# mutation does: "shape" drops or adds a column, "ndim+1" adds a leading axis of length 1).
_DIM_IS_THE_MODELS = "the event dimension is the model's business: the mutated call is valid"
for _row, _arg, _mut, _why in [
    ("partition.importance_sampling", "proposal_sample", "shape", _DIM_IS_THE_MODELS),
    ("partition.ais", "init_sample", "shape", _DIM_IS_THE_MODELS),
    ("samplers.mh_general_step", "noise", "shape",
     "the noise is the caller's `propose` input; its shape is that function's business"),
    ("samplers.annealed_langevin", "x0", "shape", _DIM_IS_THE_MODELS),
    ("samplers.annealed_langevin", "sigmas", "shape", "a ladder of one level is valid"),
    ("generation.train_ncsn", "data", "shape", _DIM_IS_THE_MODELS),
    ("generation.train_ncsn", "sigmas", "shape", "a ladder of one level is valid"),
    ("generation.compare_samplers", "sigmas", "shape", "a ladder of one level is valid"),
    ("diagnostics.ksd_test_from_weights", "x", "shape", _DIM_IS_THE_MODELS),
    ("diagnostics.acceptance_rate", "is_accepted", "ndim+1",
     "(1, chains, draws) with axis=1 is a valid array and axis"),
    ("diagnostics.autocovariance", "x", "ndim+1", "(1, draws) is one chain (ArviZ layout)"),
    ("diagnostics.autocorrelation", "x", "ndim+1", "(1, draws) is one chain (ArviZ layout)"),
    ("objectives.score_matching.sliced_score_matching_loss", "v", "ndim-1",
     "a 2-D `v` of shape (n, d) is one projection per point (documented)"),
    ("train.fit", "theta0", "ndim+1", "the loss takes parameters of any shape"),
    ("train.fit", "theta0", "ndim-1", "the loss takes parameters of any shape"),
]:
    SPECS[_row].accept[(_arg, _mut)] = _why
_THETA_IS_THE_CALLERS = ("parameters of any shape or container are passed on to the caller's "
                         "function, which is where a wrong one fails")
for _row, _arg, _mut in [("objectives.params.parametric", "theta", "ndim+1"),
                         ("objectives.params.ParametricEnergy", "theta", "ndim+1"),
                         ("train.fit", "theta0", "list")]:
    SPECS[_row].raised_by_caller[(_arg, _mut)] = _THETA_IS_THE_CALLERS

# ---------------------------------------------------------------------------------------------
# mutations
# ---------------------------------------------------------------------------------------------


class _FakeDtype:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


class _ForeignArray:
    """Stands for a torch tensor or a JAX array: ``__array__``, ``__dlpack__``, a shape and a
    dtype that is not a NumPy dtype, and the module name of its library."""

    _lib = "torch"

    def __init__(self, a):
        self._a = np.asarray(a)
        self.shape = self._a.shape
        self.ndim = self._a.ndim
        self.dtype = _FakeDtype(f"{self._lib}.{self._a.dtype}")

    def __array__(self, dtype=None, copy=None):
        return self._a if dtype is None else self._a.astype(dtype)

    def __dlpack__(self, stream=None):
        return self._a.__dlpack__()

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()

    def __len__(self):
        return len(self._a)

    def __getitem__(self, i):
        return type(self)(self._a[i])

    def __float__(self):
        return float(self._a)


class Tensor(_ForeignArray):
    _lib = "torch"


Tensor.__module__ = "torch"


class _FakeJaxNamespace(types.ModuleType):
    pass


_JNP = _FakeJaxNamespace("jax.numpy")


class ArrayImpl(_ForeignArray):
    _lib = "jax"

    def __array_namespace__(self, api_version=None):
        return _JNP


ArrayImpl.__module__ = "jaxlib.xla_extension"

_HAVE_TORCH = importlib.util.find_spec("torch") is not None

#: mutations that keep the values: the result must equal the valid call's (or be an error)
PRESERVING = {"list", "float32", "int", "float", "torch", "jax", "real_torch"}
FOREIGN = {"torch", "jax", "real_torch"}


_N_ARRAYS: dict[int, int] = {}


def _n_arrays(spec_):
    """How many array arguments the valid call of ``spec_`` has (computed once)."""
    if id(spec_) not in _N_ARRAYS:
        _N_ARRAYS[id(spec_)] = sum(isinstance(a, np.ndarray) for a in spec_.args().values())
    return _N_ARRAYS[id(spec_)]


def _mutations(value, name, spec_):
    """``[(mutation, new value)]`` for one argument."""
    out = []
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        v = value
        nan = v.copy()
        nan.flat[0] = np.nan
        inf = v.copy()
        inf.flat[-1] = np.inf
        out += [("nan", nan), ("inf", inf), ("ndim+1", v[None]), ("empty", v[:0])]
        if v.ndim >= 1:
            out.append(("ndim-1", v[0]))
        out += [("list", v.tolist()), ("float32", v.astype(np.float32)),
                ("wrong_type", "abc"), ("torch", Tensor(v)), ("jax", ArrayImpl(v))]
        if np.all(v == np.round(v)) and v.size:
            out.append(("int", v.astype(np.int64)))
        if _HAVE_TORCH:
            import torch
            out.append(("real_torch", torch.as_tensor(v)))
        n_arrays = _n_arrays(spec_)
        linked = spec_.linked if spec_.linked is not None else (() if n_arrays < 2 else None)
        if v.ndim >= 1 and (linked is None or name in linked):
            if v.shape[-1] > 1:
                out.append(("shape", v[..., :-1]))
            else:
                out.append(("shape", np.concatenate([v, v], axis=-1)))
    elif isinstance(value, np.ndarray):   # integer or bool arrays
        v = value
        out += [("ndim+1", v[None]), ("empty", v[:0]), ("list", v.tolist()),
                ("wrong_type", "abc"), ("torch", Tensor(v))]
        if v.ndim >= 1:
            out.append(("ndim-1", v[0]))
    elif isinstance(value, bool):
        out.append(("wrong_type", "abc"))
    elif isinstance(value, float):
        out += [("nan", math.nan), ("inf", math.inf), ("wrong_type", "abc"),
                ("ndim+1", np.array([value, value])), ("float32", np.float32(value)),
                ("torch", Tensor(np.asarray(value)))]
    elif isinstance(value, int):
        out += [("float", value + 0.5), ("wrong_type", "abc"), ("nan", math.nan)]
    elif isinstance(value, str):
        out.append(("wrong_type", 3))
    elif isinstance(value, np.random.Generator):
        out.append(("wrong_type", "abc"))
    elif isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        out += [("wrong_type", "abc"), ("empty", type(value)())]
    elif callable(value) or hasattr(value, "_fields") or hasattr(value, "__dict__"):
        out.append(("wrong_type", 2.5))
    if name in spec_.oor:
        out.append(("out_of_range", spec_.oor[name]))
    return out


def _cells():
    cells = []
    for qual, sp in SPECS.items():
        cells.append(pytest.param(qual, None, "valid", id=f"{qual}-valid"))
        for arg, value in sp.args().items():
            if arg in sp.fixed:
                continue
            for mut, _ in _mutations(value, arg, sp):
                cells.append(pytest.param(qual, arg, mut, id=f"{qual}-{arg}-{mut}"))
        for arg in sp.oor:
            if arg not in sp.args():
                cells.append(pytest.param(qual, arg, "out_of_range",
                                          id=f"{qual}-{arg}-out_of_range"))
    return cells


# ---------------------------------------------------------------------------------------------
# comparing results
# ---------------------------------------------------------------------------------------------


def _leaves(out, depth=0):
    """The numbers in a result: arrays, scalars, fields of tuples and of returned objects."""
    if depth > 4:
        return
    if isinstance(out, (np.ndarray, np.generic)):
        yield out
    elif isinstance(out, (bool, int, float)):
        yield out
    elif isinstance(out, (str, bytes, type(None), types.ModuleType, type)):
        return
    elif isinstance(out, (list, tuple)):
        for o in out:
            yield from _leaves(o, depth + 1)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _leaves(o, depth + 1)
    elif hasattr(out, "__dict__") or hasattr(out, "__slots__"):
        names = list(getattr(out, "__dict__", {}))
        for cls in type(out).__mro__:
            names += [s for s in getattr(cls, "__slots__", ()) if isinstance(s, str)]
        for n in names:
            if n.startswith("__"):
                continue
            o = getattr(out, n, None)
            if callable(o) and not hasattr(o, "_fields"):
                continue
            yield from _leaves(o, depth + 1)


def _run(sp, args, dt=np.float64):
    out = sp.target(*args.values()) if sp.positional else sp.target(**args)
    if sp.probe is not None:
        out = [out, sp.probe(out, dt)]
    return out


def _same(a, b, rtol):
    la, lb = list(_leaves(a)), list(_leaves(b))
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            return False
        if x.dtype.kind in "biuf" and y.dtype.kind in "biuf":
            if not np.allclose(x.astype(float), y.astype(float), rtol=rtol, atol=rtol,
                               equal_nan=True):
                return False
    return True


def _names_argument(message, arg):
    return f"`{arg}`" in message or f"`{arg}[" in message or f"'{arg}'" in message


def classify(qual, arg, mut):
    """``(outcome, detail)``: outcome is error, accepted, silent or obscure."""
    sp = SPECS[qual]
    args = sp.args()
    if mut == "valid":
        with warnings.catch_warnings():   # e.g. degenerate weights of 4-sample estimates
            warnings.simplefilter("ignore")
            _run(sp, args)
        return "accepted", "valid call"
    base_args = sp.args()
    value = dict(_mutations(base_args[arg], arg, sp))[mut] if arg in base_args else sp.oor[arg]
    args[arg] = value
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = _run(sp, args)
    except Exception as exc:  # noqa: BLE001 - sorted below
        if (arg, mut) in sp.raised_by_caller:
            why = sp.raised_by_caller[(arg, mut)]
            return "error", f"raised by the caller's own function: {why}"
        if not isinstance(exc, (ValueError, TypeError)):
            return "obscure", f"{type(exc).__name__}: {str(exc)[:200]}"
        msg = str(exc)
        others = [a for a in args if a != arg] if mut == "shape" else []
        if not _names_argument(msg, arg) and not any(_names_argument(msg, a) for a in others):
            return "obscure", f"{type(exc).__name__} not naming `{arg}`: {msg[:200]}"
        if mut in FOREIGN and "refebm computes on NumPy" not in msg:
            return "obscure", f"{type(exc).__name__} without the conversion hint: {msg[:200]}"
        return "error", msg
    if (arg, mut) in sp.accept:
        return "accepted", sp.accept[(arg, mut)]
    if mut in FOREIGN:
        return "silent", "a foreign array was accepted without the conversion message"
    if mut in PRESERVING:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = _run(sp, sp.args())
        rtol = 1e-4 if mut == "float32" else 1e-12
        if _same(out, base, rtol):
            return "accepted", "same result as the valid call"
        return "silent", "a different result from the valid call"
    return "silent", f"returned a result for `{arg}` = {mut}"


_rows_for_methods()
for _row in ("discrete.Ising", "discrete.RBM"):
    _METHOD_POINTS[_row] = None
    _add_method_rows(_row)

CELLS = list(_cells())


def test_every_public_callable_has_a_row():
    missing = sorted(set(PUBLIC) - set(SPECS) - set(EXEMPT))
    assert not missing, f"public callables with no sweep row and no exemption: {missing}"
    for qual in SPECS:   # a row is a public callable, or a method of / callable from one
        head = qual.rsplit(".", 1)[0]
        assert qual in PUBLIC or head in PUBLIC, qual


@pytest.mark.parametrize(("qual", "arg", "mut"), CELLS)
def test_bad_input_is_a_clear_error_or_a_correct_result(qual, arg, mut):
    outcome, detail = classify(qual, arg, mut)
    assert outcome in ("error", "accepted"), f"{outcome}: {detail}"


# ---------------------------------------------------------------------------------------------
# the dtype rule
# ---------------------------------------------------------------------------------------------


def _float_leaves(out):
    for leaf in _leaves(out):
        if isinstance(leaf, float):
            yield np.dtype(np.float64)
        elif isinstance(leaf, (np.ndarray, np.generic)) and leaf.dtype.kind == "f":
            yield leaf.dtype


def _cast_value(v, dt):
    """``v`` with its floating arrays and Python floats in ``dt`` (through lists, tuples and
    NamedTuple states)."""
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        return v.astype(dt)
    if isinstance(v, float):
        return dt(v)
    if hasattr(v, "_fields"):
        return type(v)(*(_cast_value(f, dt) for f in v))
    if isinstance(v, (list, tuple)):
        return type(v)(_cast_value(f, dt) for f in v)
    return v


def _cast(args, dt):
    return {k: _cast_value(v, dt) for k, v in args.items()}


DTYPE_CELLS = [pytest.param(q, m, id=f"{q}-{m}") for q, s in SPECS.items() if s.dtype
               for m in (("float32", "float64", "int") if s.dtype == "check" else ("float64",))]


def dtype_outcome(qual, mode):
    sp = SPECS[qual]
    args = sp.args()
    if mode == "int":
        floats = {k: v for k, v in args.items()
                  if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
        if not floats or not all(np.all(v == np.round(v)) for v in floats.values()):
            return None
        args = {k: (v.astype(np.int64) if k in floats else v) for k, v in args.items()}
        dt, want = np.float64, np.float64
    else:
        dt = want = np.dtype(mode).type
        args = _cast(args, dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _run(sp, args, dt)
    got = sorted({str(d) for d in _float_leaves(out)})
    return got, np.dtype(want).name


@pytest.mark.parametrize(("qual", "mode"), DTYPE_CELLS)
def test_float32_in_float32_out_float64_or_int_in_float64_out(qual, mode):
    res = dtype_outcome(qual, mode)
    if res is None:
        return   # no integral-valued float argument to pass as integers
    got, want = res
    assert set(got) <= {want}, f"{mode} in: got floating dtypes {got}, want {want}"
