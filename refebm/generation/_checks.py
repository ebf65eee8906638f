r"""Argument checks shared by the score-based generation modules."""

from __future__ import annotations


import numpy as np
from autograd.tracer import getval

from .. import _validate as _v
from .._backend import array_namespace, is_numpy_namespace, to_numpy


# ----------------------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------------------

def _numpy_points(name, x, d=None):
    xp = array_namespace(x)
    if not is_numpy_namespace(xp):
        raise TypeError(
            f"`{name}` must be a NumPy array (refebm.generation trains with autograd), got an "
            f"array of {getattr(xp, '__name__', xp)}")
    return _v.points(name, x, d=d)


def _sigmas_iv(sigmas):
    """``sigmas`` as a float64 NumPy vector, positive and strictly decreasing."""
    if isinstance(getval(sigmas), (str, bytes)) or getval(sigmas) is None:
        raise TypeError(f"`sigmas` must be a real array, got {_v.show(sigmas)}")
    host = np.asarray(to_numpy(_v.real_array("sigmas", sigmas, ndim=1)), dtype=np.float64)
    _v.positive("sigmas", host)
    if host.size > 1 and np.any(np.diff(host) >= 0):
        raise ValueError(
            f"`sigmas` must be strictly decreasing (sigma_1 > ... > sigma_L), got "
            f"{_v.show(host)}")
    return host


def _flag_iv(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {_v.show(value)}")
    return bool(value)


def _stages_iv(steps, step_size):
    """``steps`` and ``step_size`` as a list of ``(int, float)`` stages of equal length."""
    steps_seq = list(steps) if isinstance(steps, (list, tuple)) else [steps]
    rate_seq = list(step_size) if isinstance(step_size, (list, tuple)) else [step_size]
    if not steps_seq:
        raise ValueError(f"`steps` must not be empty, got {_v.show(steps)}")
    if len(steps_seq) != len(rate_seq):
        raise ValueError(
            f"`step_size` must have one entry per stage of `steps` ({len(steps_seq)}), got "
            f"{len(rate_seq)}")
    return [(_v.integer("steps", a, minimum=1),
             float(_v.scalar("step_size", b, low=0.0, low_open=True)))
            for a, b in zip(steps_seq, rate_seq)]


def _labels_iv(labels, m):
    """Integer labels ``(m,)`` with values ``0..K-1``; returns them and ``K``."""
    host = _v.labels("labels", labels, m, what="one per center")
    return host, int(host.max()) + 1


