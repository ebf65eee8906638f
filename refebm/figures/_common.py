"""What every figure shares: the result type, argument checks, and drawing without pyplot.

Figures are drawn on `matplotlib.figure.Figure` objects attached to the Agg canvas
(``FigureCanvasAgg``) explicitly, never through `matplotlib.pyplot`: nothing here touches
matplotlib's global backend or opens a window, so the figures can be made from any process
(a test worker, a server, a notebook) and leave its plotting state as it was. Every figure
function is wrapped in `fixed_style`, so the user's matplotlib settings do not reach the
PNGs either: the same data make the same file on any machine with the same matplotlib.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Callable, NamedTuple

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from .. import _validate as _v

__all__ = ["FigureData", "FigureSpec", "prepare_out_dir", "figure_iv", "new_figure", "finish",
           "fixed_style", "STYLE", "DPI"]

#: Resolution of the saved PNGs (small files, readable on a docs page).
DPI = 100

#: What every figure is drawn with, on top of matplotlib's built-in defaults (never the
#: user's matplotlibrc or style): the font bundled with matplotlib, no TeX, one resolution.
STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "mathtext.fontset": "dejavusans",
    "text.usetex": False,
    "svg.hashsalt": "refebm",
}


def fixed_style(func):
    """Run a figure function with matplotlib's default settings plus `STYLE`.

    A user's matplotlibrc, a style sheet or an earlier ``rcParams`` change in the same
    process would otherwise change fonts, sizes and colours, and so the committed PNGs on
    another machine; the settings the caller had are restored afterwards.
    """
    @functools.wraps(func)
    def styled(*args, **kwargs):
        with matplotlib.rc_context():
            matplotlib.rcdefaults()
            matplotlib.rcParams.update(STYLE)
            return func(*args, **kwargs)

    return styled

#: Keys of ``FigureData.data`` ending in this suffix hold wall-clock timings: they are the only
#: values that do not repeat exactly for the same seed.
TIMING_SUFFIX = "_seconds"


class FigureData(NamedTuple):
    """What a figure function returns.

    Attributes
    ----------
    name : str
        The figure's name (its key in [`refebm.figures.FIGURES`][refebm.figures]).
    paths : tuple of pathlib.Path
        The files written (one PNG, ``out_dir/<name>.png``).
    data : dict of str -> numpy.ndarray
        The arrays the figure plots. For a given seed they are identical from run to run,
        except keys ending in ``"_seconds"`` (wall-clock timings).
    """

    name: str
    paths: tuple
    data: dict


class FigureSpec(NamedTuple):
    """One entry of the figure registry.

    Attributes
    ----------
    name : str
        Unique name; the PNG is ``<name>.png``.
    func : callable
        ``func(out_dir, *, fast=False, rng=0) -> FigureData``.
    ids : tuple of str
        The inventory ids (``"D1"``, ...) the figure illustrates.
    caption : str
        One or two sentences: what the figure shows.
    """

    name: str
    func: Callable
    ids: tuple
    caption: str


def prepare_out_dir(out_dir):
    """Create ``out_dir`` (with parents) and check that a file can be written in it.

    Raises
    ------
    TypeError
        If ``out_dir`` is not a str or path.
    OSError
        If the folder cannot be created or written, with ``out_dir`` named in the message.
    """
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"`out_dir` must be a str or os.PathLike folder, got {_v.show(out_dir)}")
    path = Path(out_dir)
    if str(out_dir) == "":
        raise ValueError("`out_dir` must name a folder, got ''")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".refebm-write-check-"):
            pass
    except OSError as exc:
        raise OSError(
            f"`out_dir` {str(out_dir)!r} cannot be created or written as a folder "
            f"({type(exc).__name__}: {exc})") from exc
    return path


def figure_iv(out_dir, fast, rng):
    """The checked arguments of a figure function: ``(Path, bool, numpy.random.Generator)``."""
    if not isinstance(fast, (bool, np.bool_)):
        raise TypeError(f"`fast` must be a bool, got {_v.show(fast)}")
    gen = _v.rng(rng)
    return prepare_out_dir(out_dir), bool(fast), gen


def new_figure(nrows, ncols, *, width, height, fast=False):
    """A figure on the Agg canvas and its axes (always a 2-D array of axes).

    The published figures use matplotlib's constrained layout; ``fast`` figures skip it (it
    redraws the figure several times), so their labels may overlap.
    """
    fig = Figure(figsize=(width, height), layout=None if fast else "constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _as_array(key, value):
    arr = np.array(value, copy=True)
    if arr.dtype == object:
        raise TypeError(f"figure data {key!r} is not a numeric array")
    return arr


def _write_png(fig, path):
    """Render ``fig`` at `DPI` on the Agg canvas and save it as a 256-colour PNG (a few
    times smaller than matplotlib's RGBA output, with no visible change for line and contour
    plots).

    The file holds the pixels and nothing else: PIL writes it (not ``savefig``), with an empty
    text block, so no software version, date or resolution chunk varies between machines.
    """
    fig.set_dpi(DPI)
    canvas = fig.canvas
    canvas.draw()
    rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    small = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, format="PNG", optimize=True, pnginfo=PngInfo())


def finish(fig, out_dir, name, data):
    """Save ``fig`` as ``out_dir/<name>.png`` and return the [`FigureData`][refebm.figures.FigureData]."""
    path = Path(out_dir) / f"{name}.png"
    _write_png(fig, path)
    return FigureData(name, (path,), {k: _as_array(k, v) for k, v in data.items()})
