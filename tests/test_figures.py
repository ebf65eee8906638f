"""Tests of refebm.figures: every figure runs, writes a PNG, and its data repeat for a seed;
the PNG holds pixels only, the same for the same data, whatever the caller's matplotlib settings.

The figures draw random numbers, but no assertion here depends on the value of a draw: two
runs with the same seed must give bit-identical data (an exact check of determinism, not a
statistical one), so no false-failure rate applies.
"""

import inspect
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from refebm.figures import FIGURES, FigureData, FigureSpec, make_figures
from refebm.figures._common import TIMING_SUFFIX

from seeding import make_rng, make_seed

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INVENTORY = {f"D{i}" for i in range(1, 23)}
NAMES = list(FIGURES)


def _assert_same_data(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if key.endswith(TIMING_SUFFIX):
            assert a[key].shape == b[key].shape
            continue
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("name", NAMES)
def test_figure_runs_writes_png_and_repeats_for_a_seed(name, tmp_path):
    func = FIGURES[name].func
    first = func(tmp_path / "a", fast=True, rng=make_seed(0))
    second = func(tmp_path / "b", fast=True, rng=make_seed(0))

    assert isinstance(first, FigureData)
    assert first.name == name
    assert first.paths == (tmp_path / "a" / f"{name}.png",)
    png = first.paths[0].read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    assert 1_000 < len(png) < 150_000
    assert first.data, "a figure must return the arrays it plots"
    for key, value in first.data.items():
        assert isinstance(value, np.ndarray), key
        assert value.dtype.kind in "biuf", key
        assert np.all(np.isfinite(value)), key
    _assert_same_data(first.data, second.data)
    if not any(key.endswith(TIMING_SUFFIX) for key in first.data):
        # the same data make the same file, byte for byte
        assert png == second.paths[0].read_bytes()
    assert _chunk_types(png) <= PIXEL_CHUNKS


PIXEL_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND"}


def _chunk_types(png):
    """The chunk types of a PNG file (tEXt, tIME, pHYs, ... would carry metadata)."""
    assert png.startswith(PNG_SIGNATURE)
    types, i = set(), len(PNG_SIGNATURE)
    while i < len(png):
        length = int.from_bytes(png[i:i + 4], "big")
        types.add(png[i + 4:i + 8])
        i += 12 + length
    assert i == len(png)
    return types


def test_user_matplotlib_settings_do_not_reach_the_png(tmp_path):
    import matplotlib

    plain = FIGURES["score_field"].func(tmp_path / "plain", fast=True).paths[0].read_bytes()
    odd = {"lines.linewidth": 6.0, "font.size": 19.0, "axes.facecolor": "yellow",
           "figure.dpi": 37, "savefig.dpi": 300, "image.cmap": "jet"}
    with matplotlib.rc_context(odd):
        styled = FIGURES["score_field"].func(tmp_path / "odd", fast=True).paths[0].read_bytes()
        assert matplotlib.rcParams["lines.linewidth"] == 6.0  # the caller's settings are back
    assert styled == plain
    assert _chunk_types(plain) == PIXEL_CHUNKS


def test_seeds_and_generators(tmp_path):
    by_seed = FIGURES["ratio"].func(tmp_path, fast=True, rng=make_seed(0)).data
    # a Generator is used as it is: make_rng(0) is default_rng(make_seed(0)), what that seed becomes
    by_gen = make_figures(["ratio"], tmp_path, fast=True, rng=make_rng(0),
                          progress=False)[0].data
    _assert_same_data(by_seed, by_gen)
    other = FIGURES["ratio"].func(tmp_path, fast=True, rng=make_seed(1)).data
    assert not np.array_equal(by_seed["noisy"], other["noisy"])
    np.testing.assert_array_equal(by_seed["clean"], other["clean"])  # the deterministic part


def test_registry():
    assert len(set(NAMES)) == len(NAMES) == 12
    for key, spec in FIGURES.items():
        assert isinstance(spec, FigureSpec)
        assert spec.name == key == spec.func.__name__
        assert isinstance(spec.ids, tuple) and spec.ids
        assert set(spec.ids) <= INVENTORY, spec.ids
        assert isinstance(spec.caption, str) and len(spec.caption) > 40
        params = inspect.signature(spec.func).parameters
        assert list(params) == ["out_dir", "fast", "rng"]
        assert params["fast"].kind is inspect.Parameter.KEYWORD_ONLY
        assert params["fast"].default is False and params["rng"].default == 0
        assert spec.func.__doc__ and "Math" in spec.func.__doc__


def test_every_figure_title_names_its_inventory_ids():
    for spec in FIGURES.values():
        source = inspect.getsource(spec.func)
        for figure_id in spec.ids:
            if figure_id == "D12":  # the score identity, named in the docstrings only
                continue
            assert re.search(rf"\b{figure_id}\b", source), (spec.name, figure_id)


def test_make_figures_equals_the_figure_function(tmp_path):
    out = make_figures(["score_field"], tmp_path / "new" / "deep", fast=True, progress=False)
    assert [d.name for d in out] == ["score_field"]
    assert out[0].paths == (tmp_path / "new" / "deep" / "score_field.png",)
    assert out[0].paths[0].is_file()
    direct = FIGURES["score_field"].func(tmp_path, fast=True, rng=make_seed(0))
    _assert_same_data(out[0].data, direct.data)


def test_make_figures_order_repeats_and_arguments(tmp_path, monkeypatch):
    calls = []

    def recorder(name):
        def func(out_dir, *, fast=False, rng=0):
            calls.append((name, Path(out_dir), fast, rng))
            return FigureData(name, (), {})
        return func

    for name, spec in list(FIGURES.items()):
        monkeypatch.setitem(FIGURES, name, spec._replace(func=recorder(name)))
    seed = make_seed(7)
    out = make_figures(["chains", "nce", "chains"], tmp_path, fast=np.bool_(True), rng=seed,
                       progress=False)
    assert [d.name for d in out] == ["chains", "nce"]
    assert calls == [("chains", tmp_path, True, seed), ("nce", tmp_path, True, seed)]
    calls.clear()
    make_figures("ratio", tmp_path, progress=False)
    assert calls == [("ratio", tmp_path, False, 0)]
    calls.clear()
    make_figures(None, tmp_path, progress=True)
    assert [c[0] for c in calls] == NAMES


def test_make_figures_unknown_name(tmp_path):
    with pytest.raises(ValueError, match=r"`names` contains unknown figure 'foo'; known: "
                                         r"normalization, quadrature_cost"):
        make_figures(["score_field", "foo"], tmp_path, progress=False)
    with pytest.raises(ValueError, match="at least one figure"):
        make_figures([], tmp_path, progress=False)
    with pytest.raises(TypeError, match="`names` must contain figure names"):
        make_figures([3], tmp_path, progress=False)
    with pytest.raises(TypeError, match="`names` must be None"):
        make_figures(3, tmp_path, progress=False)


@pytest.fixture
def no_figure_may_run(monkeypatch):
    """Replace every figure by one that fails the test if it is called."""
    def must_not_run(out_dir, *, fast=False, rng=0):
        raise AssertionError("a figure was computed before the arguments were checked")
    for name, spec in list(FIGURES.items()):
        monkeypatch.setitem(FIGURES, name, spec._replace(func=must_not_run))


def test_make_figures_unwritable_out_dir_fails_before_any_figure(tmp_path, no_figure_may_run):
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder")
    with pytest.raises(OSError, match="`out_dir` .*a_file.txt.* cannot be created or written"):
        make_figures(None, a_file / "figures", progress=False)
    with pytest.raises(OSError, match="`out_dir`"):
        make_figures(["chains"], a_file, progress=False)


def test_make_figures_bad_arguments_fail_before_any_figure(tmp_path, no_figure_may_run):
    with pytest.raises(TypeError, match="`fast` must be a bool"):
        make_figures(None, tmp_path, fast="yes", progress=False)
    with pytest.raises(TypeError, match="`progress` must be a bool"):
        make_figures(None, tmp_path, progress=1)
    with pytest.raises(ValueError, match="`rng` must be a non-negative int seed"):
        make_figures(None, tmp_path, rng=-1, progress=False)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator or an int"):
        make_figures(None, tmp_path, rng="seed", progress=False)
    with pytest.raises(TypeError, match="`out_dir` must be a str or os.PathLike"):
        make_figures(None, 3.5, progress=False)
    with pytest.raises(ValueError, match="`out_dir` must name a folder"):
        make_figures(None, "", progress=False)


def test_figure_function_bad_arguments(tmp_path):
    func = FIGURES["score_field"].func
    with pytest.raises(TypeError, match="`fast` must be a bool, got 1"):
        func(tmp_path, fast=1)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator or an int"):
        func(tmp_path, rng=0.5)
    with pytest.raises(ValueError, match="`rng` must be a non-negative int seed, got -2"):
        func(tmp_path, rng=-2)
    a_file = tmp_path / "f"
    a_file.write_text("")
    with pytest.raises(OSError, match="`out_dir`"):
        func(a_file / "sub")
    with pytest.raises(TypeError, match="`out_dir` must be a str or os.PathLike"):
        func(None)


def test_making_a_figure_does_not_import_pyplot(tmp_path):
    # In a fresh interpreter, so that no other test's imports can hide or fake the result.
    code = (
        "import sys\n"
        "from refebm.figures import FIGURES\n"
        f"FIGURES['score_field'].func({str(tmp_path)!r}, fast=True)\n"
        "sys.exit(1 if 'matplotlib.pyplot' in sys.modules else 0)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0