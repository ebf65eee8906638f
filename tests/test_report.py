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


def test_format_table_says_what_each_row_must_do():
    # A wrong form passes when it breaks: the table says so in words (row_verdict), the same
    # words as format_report and the JSON record, never a bare "pass" beside error > tol.
    ident = report.Check("an identity", "D1", 1e-12, 1e-10, True)
    wrong = report.Check("a wrong form", "D15", 0.551, 1e-3, True, kind="wrong form",
                         derivation="W[quartic-1d]")
    held = wrong._replace(error=2e-12, passed=False)
    table = report.format_table([ident, wrong, held]).splitlines()
    assert table[2].endswith("  pass")
    assert table[3].endswith("breaks by 0.551, as it must")
    assert table[4].endswith("FAIL: breaks only by 2e-12 (must be > 0.001)")
    for row in (ident, wrong, held):
        assert report.row_verdict(row) in report.format_report([row])
        assert report.report_record(row)["result"] == report.row_verdict(row)


@pytest.mark.parametrize("fn", [report.format_table, report.format_report])
def test_report_tables_reject_what_is_not_a_list_of_rows(fn):
    row = report.Check("an identity", "D1", 1e-12, 1e-10, True)
    with pytest.raises(ValueError, match="`rows` must not be empty"):
        fn([])
    with pytest.raises(TypeError, match="`rows` must be a sequence of Check rows"):
        fn("rows")
    with pytest.raises(TypeError, match="`rows` must be a sequence of Check rows"):
        fn(row)
    with pytest.raises(TypeError, match=r"`rows\[1\]` must be a refebm.report.Check row"):
        fn([row, 0.5])


@pytest.mark.parametrize("fn", [report.row_verdict, report.report_record])
def test_one_row_functions_reject_what_is_not_a_row(fn):
    with pytest.raises(TypeError, match="`row` must be a refebm.report.Check row, got 0.5"):
        fn(0.5)
