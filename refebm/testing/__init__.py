r"""Conformance checks: compare another implementation with refebm, value for value.

The Verify layer: it may import every layer below it; only the CLI imports it. Each check takes
a foreign function and the inputs, runs it, converts what it returns once to NumPy, computes
refebm's value on the same inputs and returns a [`CheckResult`][refebm.testing.CheckResult] that
says ``pass``, ``equivalent_convention``, ``known_bug`` or ``fail`` and names the catalogued
bug or convention the foreign value matches ([`catalogue`][refebm.testing.catalogue]).
"""

from . import catalogue
from ._result import STATUSES, CheckResult, Comparison, Tolerance, compare

__all__ = ["catalogue", "CheckResult", "Tolerance", "Comparison", "compare", "STATUSES"]
