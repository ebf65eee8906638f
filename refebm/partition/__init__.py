r"""The partition function \(Z = \int e^{-E(x)} dx\) of an EBM, computed several independent
ways (D1, D5).

- [`quadrature`][refebm.partition.quadrature.quadrature]: tensor-product double-exponential rule in log space for ``d <= 3``
  (4 with a warning), differentiable by autograd.
- [`adaptive`][refebm.partition.adaptive]: `scipy.integrate` (``nquad``, ``cubature``, ``tanhsinh``), the
  independent cross-check (NumPy only, not differentiable).
- [`enumerate_states`][refebm.partition.enumerate_states]: exact log-sum-exp over a finite table of states, differentiable.
- [`importance_sampling`][refebm.partition.importance_sampling] and [`ais`][refebm.partition.ais] (annealed importance sampling): Monte Carlo
  estimates of log Z with a standard error, for models too large for the rules above.

Convention: \(p(x) = e^{-E(x)} / Z\); the lectures' \(f = -E\).
"""

from .enumeration import enumerate_states
from .quadrature import IntegrationError, QuadratureResult, quadrature
from .scipy_check import adaptive

__all__ = ["QuadratureResult", "IntegrationError", "quadrature", "adaptive", "enumerate_states"]

# ----------------------------------------------------------------------------------------------
# Monte Carlo estimators of log Z (importance sampling, annealed importance sampling).
from .sampling import (AISResult, DegenerateWeightsWarning, LogZEstimate, ais,  # noqa: E402
                       importance_sampling, pareto_k, rbm_ais)

__all__ += ["importance_sampling", "ais", "rbm_ais", "pareto_k", "LogZEstimate", "AISResult",
            "DegenerateWeightsWarning"]
