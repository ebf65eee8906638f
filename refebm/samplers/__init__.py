r"""Samplers for energy-based models: Metropolis-Hastings, Langevin (ULA, MALA, annealed), Gibbs.

Every algorithm is an ``*_init`` that builds a NamedTuple state from points and a pure,
deterministic ``*_step`` that takes that state and its noise as arrays and returns
``(state, info)`` (so two implementations fed the same noise can be compared value for value);
arguments come in one order: the model (energy or score) first, then the state, then the noise
arrays, then scalars. A kernel ``kernel(state, rng) -> (state, info)`` draws the noise from a
``numpy.random.Generator``. [`sample`][refebm.samplers.sample] runs any kernel
over many chains at once. Energies follow \(p = e^{-E}/Z\) (the lectures' \(f = -E\)); scores are
\(\nabla_x \log p = -\nabla_x E\). Langevin parametrizations are in
[`refebm.samplers.conventions`][refebm.samplers.conventions].
"""

from . import conventions
from ._run import DivergenceWarning, Kernel, SampleResult, sample
from .gibbs import (GibbsInfo, GibbsState, ising_gibbs_init, ising_gibbs_kernel,
                    ising_gibbs_step, rbm_gibbs_init, rbm_gibbs_kernel, rbm_gibbs_step)
from .annealed import annealed_langevin, annealed_langevin_from_noise
from .langevin import (LangevinInfo, LangevinState, ULAState, decoupled_langevin_step,
                       energy_and_score, mala_init, mala_kernel, mala_log_acceptance, mala_step,
                       ula_init, ula_kernel, ula_step)
from .mh import (MHInfo, MHState, accept, log_acceptance_to_probability, mh_general_kernel,
                 mh_general_step, mh_init, mh_kernel, mh_step)

__all__ = [
    "Kernel", "SampleResult", "DivergenceWarning", "sample", "conventions",
    "MHState", "MHInfo", "mh_init", "mh_step", "mh_general_step", "mh_kernel",
    "mh_general_kernel", "accept", "log_acceptance_to_probability",
    "ULAState", "LangevinState", "LangevinInfo", "energy_and_score", "ula_init", "ula_step",
    "decoupled_langevin_step", "ula_kernel", "mala_init", "mala_log_acceptance", "mala_step",
    "mala_kernel", "annealed_langevin", "annealed_langevin_from_noise",
    "GibbsState", "GibbsInfo", "ising_gibbs_init", "ising_gibbs_step", "rbm_gibbs_init",
    "rbm_gibbs_step", "ising_gibbs_kernel", "rbm_gibbs_kernel",
]
