r"""Every figure of refebm as one function, deterministic from a seed; one call makes them all.

Each figure function has the signature ``func(out_dir, *, fast=False, rng=0) -> FigureData``:
it computes its data with the library's own modules, writes ``out_dir/<name>.png`` and returns
the arrays it plotted ([`FigureData`][refebm.figures.FigureData]), so a test can check that the *data* repeat exactly
for a seed, whatever the pixels do. ``fast=True`` makes every figure small and quick (the
tests use it); the published figures are made with ``fast=False``.

[`FIGURES`][refebm.figures] is the ordered registry, name -> [`FigureSpec`][refebm.figures.FigureSpec] ``(name, func, ids,
caption)``; [`make_figures`][refebm.figures.make_figures] runs any subset of it. The command ``refebm figures`` runs
[`make_figures`][refebm.figures.make_figures].

Figures are drawn on matplotlib's Agg canvas directly (no pyplot), so making them never changes
matplotlib's global backend. Convention throughout: \(p(x) = e^{-E(x)} / Z\), the lectures'
\(f = -E\).

Examples
--------
>>> from refebm.figures import FIGURES
>>> FIGURES["score_field"].ids
('D21', 'D12')
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import _validate as _v
from ._common import FigureData, FigureSpec, prepare_out_dir
from .normalization import normalization, quadrature_cost, ratio
from .sampling import annealed_vs_plain, chains, score_field, ula_bias
from .scores import dsm_variance, score_matching_fits
from .training import cd_training, nce, short_run

__all__ = ["FIGURES", "FigureSpec", "FigureData", "make_figures"]


def _spec(func, ids, caption):
    return FigureSpec(func.__name__, func, tuple(ids), caption)


#: The registry, in the order [`make_figures`][refebm.figures.make_figures] runs it: name -> FigureSpec.
FIGURES = OrderedDict((s.name, s) for s in [
    _spec(normalization, ("D1", "D2"),
          "Unnormalized g = exp(-E) and normalized p = g / Z for four closed-form families "
          "(Z closed form against quadrature); one f made non-negative as f^2, exp f, |f| and "
          "softplus f, each normalized by quadrature."),
    _spec(quadrature_cost, ("D5",),
          "Energy evaluations, time and error of log Z by tensor-product quadrature for a "
          "Gaussian and a quartic energy in 1 to 4 dimensions: the cost grows exponentially; "
          "annealed importance sampling in 1 to 6 dimensions at a constant cost."),
    _spec(score_field, ("D21", "D12"),
          "The score of a two-Gaussian mixture as arrows over its density contours: it points "
          "to the modes and vanishes at the modes and the saddle."),
    _spec(chains, ("D10", "D11", "D22"),
          "Random-walk Metropolis-Hastings and unadjusted Langevin chains on a two-mode "
          "density: paths, traces, and the slow approach of the mode occupancy to 1/2."),
    _spec(ula_bias, ("D11",),
          "ULA's stationary variance against step size on N(1, 1.5^2): closed form against "
          "simulation, and MALA, which stays unbiased at the cost of acceptance."),
    _spec(cd_training, ("D7", "D8", "D20"),
          "A 2-D MLP energy trained by contrastive divergence with persistent Langevin chains: "
          "the data, the model density and its chains at four iterations, and the exact "
          "held-out negative log-likelihood (by quadrature), which CD does not descend: it "
          "swings, with a spike, for about 150 iterations before falling towards the true "
          "density's."),
    _spec(score_matching_fits, ("D15", "D16"),
          "A quartic EBM fitted to bimodal 1-D data by exact (closed form), sliced and "
          "denoising score matching: densities, scores and training losses; sliced SM lands "
          "on the exact fit (their score difference inset), DSM fits the noised density."),
    _spec(dsm_variance, ("D16", "D17"),
          "The variance of the denoising score-matching estimator against sigma, without and "
          "with the control variate, and their common mean tending to the exact "
          "score-matching objective."),
    _spec(annealed_vs_plain, ("D18",),
          "On the 0.2/0.8 mixture of two far-apart Gaussians, plain Langevin with the exact "
          "score gets the mode weights wrong; annealed Langevin over noise levels gets them "
          "right."),
    _spec(nce, ("D19",),
          "Noise-contrastive estimation with a learnable log Z: the learned normalizer "
          "against the true log Z during training, the learned classifier, and the error "
          "against the noise's width."),
    _spec(ratio, ("D6", "D12"),
          "What needs no Z: anomaly scores (the energy) with a threshold, and MAP denoising "
          "of noisy points by ascent on log p."),
    _spec(short_run, ("D20",),
          "Short-run MCMC: an energy trained so that a fixed number of Langevin steps from "
          "uniform noise produces the data; fresh chains from noise at four stages."),
])


def _names_iv(names):
    known = list(FIGURES)
    if names is None:
        return known
    if isinstance(names, str):
        names = [names]
    if not hasattr(names, "__iter__"):
        raise TypeError(f"`names` must be None, a figure name or a sequence of names, "
                        f"got {_v.show(names)}")
    names = list(names)
    if not names:
        raise ValueError(f"`names` must name at least one figure (or be None for all); "
                         f"known: {', '.join(known)}")
    out = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"`names` must contain figure names (str), got {_v.show(name)}")
        if name not in FIGURES:
            raise ValueError(f"`names` contains unknown figure {name!r}; known: "
                             f"{', '.join(known)}")
        if name not in out:
            out.append(name)
    return out


def make_figures(names=None, out_dir="figures", *, fast=False, rng=0, progress=True):
    r"""Make the named figures (all by default) into ``out_dir``.

    Parameters
    ----------
    names : str or sequence of str, optional
        Figure names from [`FIGURES`][refebm.figures], made in the order given (repeats made once);
        ``None`` makes every figure in registry order.
    out_dir : str or os.PathLike, default "figures"
        Folder for the PNGs; created with its parents if needed.
    fast : bool, default False
        Small, quick versions (for tests and smoke runs).
    rng : int or numpy.random.Generator, default 0
        An int seed is given to *every* figure, so a figure's data do not depend on which
        other figures are made with it (``make_figures(["chains"], rng=0)`` equals
        ``chains(out_dir, rng=0)``). A Generator is shared, figure after figure.
    progress : bool, default True
        Show a tqdm progress bar over the figures.

    Returns
    -------
    list of FigureData
        One per figure made, in the order made.

    Raises
    ------
    ValueError
        For an unknown figure name (the message lists the known ones).
    OSError
        When ``out_dir`` cannot be created or written; checked before any figure is computed.

    Examples
    --------
    >>> import tempfile
    >>> from refebm.figures import make_figures
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = make_figures(["score_field"], tmp, fast=True, progress=False)
    ...     [d.paths[0].name for d in out]
    ['score_field.png']
    """
    selected = _names_iv(names)
    if not isinstance(fast, (bool, np.bool_)):
        raise TypeError(f"`fast` must be a bool, got {_v.show(fast)}")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be a bool, got {_v.show(progress)}")
    if rng is not None and not hasattr(rng, "bit_generator"):
        _v.rng(rng)  # check a seed now, before any figure runs
    out = prepare_out_dir(out_dir)
    from tqdm.auto import tqdm

    results = []
    bar = tqdm(selected, desc="figures", unit="figure", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        results.append(FIGURES[name].func(out, fast=bool(fast), rng=rng))
    return results
