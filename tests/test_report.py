"""The self-check report and the command line."""

import pytest

from refebm import cli, report


def test_every_identity_in_the_report_holds():
    rows = report.run_checks()
    failed = [(r.name, r.error, r.tol, r.message) for r in rows if not r.passed]
    assert not failed
    assert len(rows) == len(report.CHECKS) >= 20


def test_a_raising_check_is_a_failure_not_a_crash(monkeypatch):
    def broken():
        raise RuntimeError("boom")
    monkeypatch.setattr(report, "_ROWS", [("broken identity", "D0", 1e-12, broken)])
    rows = report.run_checks()
    assert rows[0].passed is False and "boom" in rows[0].message
    assert "FAIL" in report.format_table(rows)


def test_cli_report_exit_status(monkeypatch, capsys):
    assert cli.main(["report"]) == 0
    n = len(report.CHECKS)
    assert f"{n} of {n} rows are as they must be." in capsys.readouterr().out
    monkeypatch.setattr(report, "_ROWS", [("always wrong", "D0", 0.0, lambda: 1.0)])
    assert cli.main(["report"]) == 1


def test_cli_rejects_unknown_commands():
    with pytest.raises(SystemExit):
        cli.main(["frobnicate"])
