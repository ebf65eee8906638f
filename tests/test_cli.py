"""The `refebm` command: figures and derivations subcommands, exit codes and error messages."""

import pytest

from refebm import cli, derivations


def test_figures_list(capsys):
    assert cli.main(["figures", "--list"]) == 0
    out = capsys.readouterr().out
    assert "annealed_vs_plain" in out and "D18" in out


def test_figures_only_writes_the_named_figure(tmp_path, capsys):
    assert cli.main(["figures", "--only", "ratio", "--fast", "--out", str(tmp_path)]) == 0
    png = tmp_path / "ratio.png"
    assert png.stat().st_size > 0
    assert str(png) in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["ratio.png"]


def test_figures_unknown_name_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["figures", "--only", "nope", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "unknown figure 'nope'" in capsys.readouterr().err


def test_figures_unwritable_folder_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exc:
        cli.main(["figures", "--only", "ratio", "--out", str(blocker / "sub")])
    assert exc.value.code == 2
    assert "`out_dir`" in capsys.readouterr().err


def _tiny_chain(second_value):
    steps = (derivations.Step("a", lambda: 1.0), derivations.Step("b", lambda: second_value))
    return derivations.Chain("D0[toy]", "toy chain", steps)


def test_derivations_exit_status(monkeypatch, capsys):
    monkeypatch.setattr(derivations, "all_chains", lambda: [_tiny_chain(1.0)])
    monkeypatch.setattr(derivations, "wrong_forms", lambda: [_tiny_chain(2.0)])
    assert cli.main(["derivations", "--wrong-forms"]) == 0
    assert "Every chain holds." in capsys.readouterr().out
    monkeypatch.setattr(derivations, "all_chains", lambda: [_tiny_chain(1.5)])
    assert cli.main(["derivations"]) == 1
    monkeypatch.setattr(derivations, "all_chains", lambda: [_tiny_chain(1.0)])
    monkeypatch.setattr(derivations, "wrong_forms", lambda: [_tiny_chain(1.0)])
    assert cli.main(["derivations", "--wrong-forms"]) == 1  # a wrong form that holds is a failure
