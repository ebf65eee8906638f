r"""Conformance checks: compare another implementation with refebm, value for value.

The Verify layer: it may import every layer below it; only the CLI imports it. Each check takes
a foreign function and the inputs, runs it, converts what it returns once to NumPy, computes
refebm's value on the same inputs and returns a [`CheckResult`][refebm.testing.CheckResult] that
says ``pass``, ``equivalent_convention``, ``known_bug`` or ``fail`` and names the catalogued
bug or convention the foreign value matches ([`catalogue`][refebm.testing.catalogue]).
Every ``check_<name>`` has an ``assert_<name>`` twin that raises ``AssertionError`` with the
result's text unless it passed (an equivalent convention passes), for use in a foreign pytest
suite. [`problems()`][refebm.testing.problems] gives small fixed models with all their inputs.
"""

import functools as _functools

from . import catalogue, checks, statistical
from ._adapters import jax_function, torch_function
from ._convert import ForeignCallError, ForeignValueError
from ._problems import Problem, problems
from ._result import STATUSES, CheckResult, Comparison, Tolerance, compare
from .checks import (
    check_cd_gradient,
    check_denoising_score_matching_loss,
    check_hutchinson_trace,
    check_langevin_step,
    check_log_partition,
    check_mala_step,
    check_mh_log_acceptance,
    check_nce_loss,
    check_score,
    check_score_matching_loss,
    check_sliced_score_matching_loss,
)

from .statistical import check_ess, check_ksd, check_rhat, check_sampler


def _twin(check):
    @_functools.wraps(check)
    def assert_fn(*args, allow_conventions=True, **kwargs):
        return check(*args, **kwargs).assert_ok(allow_conventions=allow_conventions)

    short = check.__name__[len("check_"):]
    assert_fn.__name__ = assert_fn.__qualname__ = f"assert_{short}"
    assert_fn.__doc__ = (
        f"``{check.__name__}(...)`` then ``.assert_ok()``: raise ``AssertionError`` with the "
        f"result's text unless it passed (``allow_conventions=False`` rejects an equivalent "
        f"convention too); return the result otherwise. Arguments as ``{check.__name__}``.")
    return assert_fn


assert_score = _twin(check_score)
assert_score_matching_loss = _twin(check_score_matching_loss)
assert_sliced_score_matching_loss = _twin(check_sliced_score_matching_loss)
assert_hutchinson_trace = _twin(check_hutchinson_trace)
assert_denoising_score_matching_loss = _twin(check_denoising_score_matching_loss)
assert_nce_loss = _twin(check_nce_loss)
assert_cd_gradient = _twin(check_cd_gradient)
assert_langevin_step = _twin(check_langevin_step)
assert_mh_log_acceptance = _twin(check_mh_log_acceptance)
assert_mala_step = _twin(check_mala_step)
assert_log_partition = _twin(check_log_partition)
assert_sampler = _twin(check_sampler)
assert_rhat = _twin(check_rhat)
assert_ess = _twin(check_ess)
assert_ksd = _twin(check_ksd)

__all__ = [
    "catalogue", "checks", "statistical", "CheckResult", "Tolerance", "Comparison", "compare",
    "STATUSES", "ForeignCallError", "ForeignValueError", "Problem", "problems",
    "torch_function", "jax_function",
    "check_score", "check_score_matching_loss", "check_sliced_score_matching_loss",
    "check_hutchinson_trace", "check_denoising_score_matching_loss", "check_nce_loss",
    "check_cd_gradient", "check_langevin_step", "check_mh_log_acceptance", "check_mala_step",
    "check_log_partition", "check_sampler", "check_rhat", "check_ess", "check_ksd",
    "assert_score", "assert_score_matching_loss", "assert_sliced_score_matching_loss",
    "assert_hutchinson_trace", "assert_denoising_score_matching_loss", "assert_nce_loss",
    "assert_cd_gradient", "assert_langevin_step", "assert_mh_log_acceptance",
    "assert_mala_step", "assert_log_partition", "assert_sampler", "assert_rhat", "assert_ess",
    "assert_ksd",
]
