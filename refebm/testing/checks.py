r"""Deterministic conformance checks: run a foreign function, compare, name the mistake.

Every check takes the user's function first, then refebm's view of the same model (an energy, a
score, parameters), then the inputs, in the order of refebm's own functions. It calls the
foreign function on NumPy arrays (float64, or float32 with ``dtype="float32"``), converts what
it returns once (NumPy, torch, JAX, Python numbers: see ``_convert``), computes refebm's value
on the same inputs and returns a [`CheckResult`][refebm.testing.CheckResult]. When the values
differ, every catalogue entry of the quantity ([`catalogue`][refebm.testing.catalogue]) is
evaluated on the same inputs, and the entries that equal the foreign value are named.

Tolerances
----------
Elementwise \(|g - e| \le \text{atol}\) with \(\text{atol} = 8\, K\, \varepsilon\, M\):
\(\varepsilon\) the unit roundoff of the dtype (float64 \(2.2 \times 10^{-16}\), float32
\(1.2 \times 10^{-7}\)), \(K\) the operation count of the reference's computation (the
reduction over the batch and the dimension plus a fixed 64 for the model and its first and
second derivatives), \(M\) the magnitude of the terms summed (so cancellation in a mean of
large terms does not make the tolerance too small), 8 a safety factor for an implementation
that orders its operations differently. Every catalogued form differs from the correct one by
a relative amount of order one on the standard problems, so this tolerance separates them by
more than ten orders of magnitude in float64 and three in float32.
"""

from ._loss_checks import (
    check_cd_gradient,
    check_denoising_score_matching_loss,
    check_hutchinson_trace,
    check_log_partition,
    check_nce_loss,
    check_score,
    check_score_matching_loss,
    check_sliced_score_matching_loss,
)
from ._step_checks import check_langevin_step, check_mala_step, check_mh_log_acceptance

__all__ = [
    "check_score", "check_score_matching_loss", "check_sliced_score_matching_loss",
    "check_hutchinson_trace", "check_denoising_score_matching_loss", "check_nce_loss",
    "check_cd_gradient", "check_langevin_step", "check_mh_log_acceptance", "check_mala_step",
    "check_log_partition",
]
