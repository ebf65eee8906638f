"""refebm: a readable NumPy/autograd reference implementation of energy-based-model mathematics.

Convention: p(x) = exp(-E(x)) / Z. An energy maps points of shape ``(n, d)`` to ``(n,)``;
``log_unnormalized = -energy`` is the lectures' f. See ``docs/conventions.md``.

The submodules are the public API: ``refebm.families``, ``refebm.discrete``,
``refebm.partition``, ``refebm.compose``, ``refebm.ratio``, ``refebm.diff``, ``refebm.samplers``,
``refebm.diagnostics``, ``refebm.energies``, ``refebm.objectives``, ``refebm.train``,
``refebm.generation``, ``refebm.derivations``, ``refebm.figures``.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "families", "discrete", "partition", "compose", "ratio", "diff", "samplers",
    "diagnostics", "energies", "objectives", "train", "generation", "derivations", "figures",
    "report", "testing", "vectors",
)

_BACKEND_NAMES = ("array_namespace", "get_backend", "set_backend")

__all__ = [*_BACKEND_NAMES, *_SUBMODULES]


def __getattr__(name):
    # Everything is imported on first use, so `import refebm` (and `refebm --help`) stays cheap:
    # refebm._backend pulls in autograd and SciPy.
    if name in _BACKEND_NAMES:
        value = getattr(importlib.import_module("._backend", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'refebm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
