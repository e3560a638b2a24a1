"""The compliance report on a hand-built set of callback tasks whose answers were worked
out by hand (docs/callbacks.md has the definitions), by unit, agent and kind, and the
`hotline report callbacks` command's CSV and XLSX."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io

import pytest

from callback_queue import cli
from callback_queue.report import compliance_report, daily_report, period
from hotline.config import Config, DatabaseConfig
from schemas.callbacks import (
    CallbackMode,
    CallbackOrigin,
    CallbackOutcome,
    CallbackState,
    CallbackTask,
)
from schemas.enums import AgentRole, UnitKind
from schemas.enums import AppealKind as K
from schemas.enums import Satisfaction as R
from schemas.models import Agent, Unit
from tests.support.appeals import SHANGHAI

S = CallbackState


def sh(month, day, hour=12, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


NOVEMBER = (sh(11, 1, 0), sh(12, 1, 0))
AFTER = sh(12, 5)  # the report read after every task of November fell due

# (unit, agent, kind, resolved, due, state, outcome, rating, completed, attempts, origin)
TASKS = [
    ("A", "li", K.HELP, sh(11, 5, 10), sh(11, 6), S.COMPLETED, "rated", R.SATISFIED, sh(11, 5, 14), 1),
    ("A", "li", K.HELP, sh(11, 10), sh(11, 11), S.COMPLETED, "rated", R.DISSATISFIED, sh(11, 11, 15), 3),
    ("A", "wang", K.COMPLAINT, sh(11, 12), sh(11, 13), S.COMPLETED, "reached", None, sh(11, 13, 9), 2),
    ("A", "wang", K.CONSULTATION, sh(11, 20), sh(11, 21), S.UNREACHABLE, "sms_survey", None, sh(11, 21, 10), 3),
    ("B", "li", K.HELP, sh(11, 29), sh(12, 1, 10), S.PENDING, None, None, None, 0),
    ("B", None, K.DISPUTE, sh(10, 31, 20), sh(11, 2), S.COMPLETED, "rated", R.BASICALLY_SATISFIED, sh(11, 1, 9), 1),
    ("B", "wang", K.HELP, sh(11, 25), sh(11, 26), S.PENDING, None, None, None, 1),
    ("B", "wang", K.HELP, sh(11, 25), sh(11, 26), S.UNREACHABLE, "unreachable", None, sh(11, 26, 11), 3),
    ("A", "li", K.HELP, sh(11, 3), sh(11, 4), S.CANCELLED, "cancelled", None, sh(11, 3, 13), 0),
    (None, "li", K.REPORT, sh(11, 15), sh(11, 16), S.MERGED, None, None, None, 0),
    ("A", "li", K.HELP, sh(11, 8), sh(11, 9), S.COMPLETED, "rated", R.SATISFIED, sh(11, 9), 2),
]


def build(session):
    units = {}
    for code, name in (("A", "甲派出所"), ("B", "乙派出所")):
        unit = Unit(code=code, name=name, kind=UnitKind.STATION, active=True)
        session.add(unit)
        session.flush()
        units[code] = unit.id
    agents = {}
    for username, name in (("li", "李警官"), ("wang", "王警官")):
        agent = Agent(username=username, display_name=name, role=AgentRole.AGENT, active=True,
                      created_at=sh(10, 1))
        session.add(agent)
        session.flush()
        agents[username] = agent.id
    for n, (unit, agent, kind, resolved, due, state, outcome, rating, completed, attempts) in enumerate(TASKS):
        session.add(CallbackTask(
            citizen_phone=f"139{n:08d}", origin=CallbackOrigin.RESOLUTION,
            mode=CallbackMode.AUTOMATED, state=state, appeal_kind=kind,
            unit_id=units.get(unit), assigned_agent_id=agents.get(agent), resolved_at=resolved,
            window_start=resolved + dt.timedelta(hours=2), due_by=due, next_attempt_at=due,
            attempts=attempts, max_attempts=3,
            outcome=CallbackOutcome(outcome) if outcome else None, rating=rating,
            completed_at=completed, created_at=resolved, updated_at=resolved))
    # A queue callback in the period: not a satisfaction callback, not counted.
    session.add(CallbackTask(
        citizen_phone="13800000000", origin=CallbackOrigin.IVR_CALLBACK_REQUEST,
        mode=CallbackMode.AGENT, state=S.COMPLETED, window_start=sh(11, 7), due_by=sh(11, 7, 13),
        next_attempt_at=sh(11, 7), attempts=1, max_attempts=3, outcome=CallbackOutcome.REACHED,
        completed_at=sh(11, 7, 12), created_at=sh(11, 7), updated_at=sh(11, 7)))


def table(rows):
    return {row.label: (row.resolved, row.due, row.within, row.late, row.unreachable,
                        row.sms_fallback, row.pending, row.attempts_per_completed, row.satisfied,
                        row.basically_satisfied, row.dissatisfied, row.unrated, row.compliance)
            for row in rows}


#        resolved due within late unreach sms pending att/compl sat basic dissat unrated rate
BY_UNIT = {
    "A 甲派出所": (5, 5, 3, 1, 1, 1, 0, 2.0, 2, 0, 1, 1, 0.6),
    "B 乙派出所": (3, 3, 1, 0, 1, 0, 1, 1.0, 0, 1, 0, 0, 0.3333),
    "（未指定）": (1, 1, 0, 0, 0, 0, 1, None, 0, 0, 0, 0, 0.0),
    "合计": (9, 9, 4, 1, 2, 1, 2, 1.8, 2, 1, 1, 1, 0.4444),
}
BY_AGENT = {
    "李警官（li）": (5, 4, 2, 1, 0, 0, 1, 2.0, 2, 0, 1, 0, 0.5),
    "王警官（wang）": (4, 4, 1, 0, 2, 1, 1, 2.0, 0, 0, 0, 1, 0.25),
    "（未指定）": (0, 1, 1, 0, 0, 0, 0, 1.0, 0, 1, 0, 0, 1.0),
    "合计": (9, 9, 4, 1, 2, 1, 2, 1.8, 2, 1, 1, 1, 0.4444),
}
BY_KIND = {
    "求助": (6, 5, 2, 1, 1, 0, 1, 2.0, 2, 0, 1, 0, 0.4),
    "投诉": (1, 1, 1, 0, 0, 0, 0, 2.0, 0, 0, 0, 1, 1.0),
    "咨询": (1, 1, 0, 0, 1, 1, 0, None, 0, 0, 0, 0, 0.0),
    "纠纷": (0, 1, 1, 0, 0, 0, 0, 1.0, 0, 1, 0, 0, 1.0),
    "举报": (1, 1, 0, 0, 0, 0, 1, None, 0, 0, 0, 0, 0.0),
    "合计": (9, 9, 4, 1, 2, 1, 2, 1.8, 2, 1, 1, 1, 0.4444),
}


@pytest.mark.parametrize("by, expected", [("unit", BY_UNIT), ("agent", BY_AGENT), ("kind", BY_KIND)])
def test_report_numbers_match_the_hand_computed_set(database, by, expected):
    database.write_now(build)
    rows = database.read_now(compliance_report, *NOVEMBER, by, now=AFTER)
    assert table(rows) == expected
    assert rows[-1].label == "合计"


def test_a_month_read_mid_month_tells_not_yet_due_from_not_done(database):
    """Read on the 25th, the 26th's open callback is not due yet (未到期): not counted as
    undone, and out of the rate; the merged one due on the 16th is undone (未完成)."""
    database.write_now(build)
    total = database.read_now(compliance_report, *NOVEMBER, "unit", now=sh(11, 25, 12))[-1]
    assert (total.due, total.pending, total.not_due) == (9, 1, 1)
    assert total.compliance == 0.5  # 4 on time of the 8 that came due
    after = database.read_now(compliance_report, *NOVEMBER, "unit", now=AFTER)[-1]
    assert (after.pending, after.not_due, after.compliance) == (2, 0, 0.4444)


def test_report_of_an_empty_period_has_only_a_zero_total(database):
    database.write_now(build)
    (total,) = database.read_now(compliance_report, sh(1, 1, 0), sh(2, 1, 0), "unit",
                                 now=AFTER)
    assert total.due == 0 and total.compliance is None and total.attempts_per_completed is None


def test_report_rows_serialise_for_the_json_api(database):
    database.write_now(build)
    total = database.read_now(compliance_report, *NOVEMBER, "unit", now=AFTER)[-1].as_dict()
    assert total["compliance"] == 0.4444 and total["completed"] == 5 and total["group"] == "*"


def test_bad_grouping_is_refused(database):
    with pytest.raises(ValueError, match="grouping must be one of unit, agent, kind"):
        database.read_now(compliance_report, *NOVEMBER, "area", now=AFTER)


def test_period_takes_whole_days_in_shanghai():
    assert period(dt.date(2026, 11, 1), dt.date(2026, 11, 30), SHANGHAI) == NOVEMBER
    with pytest.raises(ValueError, match="before --from"):
        period(dt.date(2026, 11, 2), dt.date(2026, 11, 1), SHANGHAI)


def run_cli(db_url, tmp_path, *argv):
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", "callbacks", *argv])
    config = Config(database=DatabaseConfig(url=db_url))
    assert args.handler(config, args) == 0


def test_cli_writes_csv_with_chinese_headers(database, db_url, tmp_path):
    database.write_now(build)
    out = tmp_path / "report.csv"
    run_cli(db_url, tmp_path, "--from", "2026-11-01", "--to", "2026-11-30", "--by", "kind",
            "--format", "csv", "--output", str(out))
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[0][:4] == ["诉求类型", "办结数", "应回访数", "按时完成"]
    assert lines[0][-1] == "按时回访率"
    assert lines[-1] == ["合计", "9", "9", "4", "1", "2", "1", "2", "0", "1.8", "2", "1", "1", "1", "0.4444"]


def test_cli_writes_xlsx(database, db_url, tmp_path):
    from openpyxl import load_workbook

    database.write_now(build)
    out = tmp_path / "report.xlsx"
    run_cli(db_url, tmp_path, "--from", "2026-11-01", "--to", "2026-11-30", "--by", "agent",
            "--format", "xlsx", "--output", str(out))
    book = load_workbook(out)
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert book.properties.title == "回访合规统计 2026-11-01 至 2026-11-30"
    assert rows[0][0] == "坐席" and rows[0][1] == "办结数"
    assert rows[-1][0] == "合计" and rows[-1][-1] == 0.4444
    assert sheet.cell(row=2, column=len(rows[0])).number_format == "0.00%"


# Names a spreadsheet would run: a unit's code and name are typed by people -----------------

HOSTILE_CODES = ('=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR")


def build_hostile_units(session):
    """A unit for each way a cell can start a formula, each with one callback due and one
    completed late, in November."""
    for n, code in enumerate(HOSTILE_CODES):
        unit = Unit(code=code, name="恶意单位", kind=UnitKind.STATION, active=True)
        session.add(unit)
        session.flush()
        session.add(CallbackTask(
            citizen_phone=f"137{n:08d}", origin=CallbackOrigin.RESOLUTION,
            mode=CallbackMode.AUTOMATED, state=S.COMPLETED, appeal_kind=K.HELP,
            unit_id=unit.id, resolved_at=sh(11, 5), window_start=sh(11, 5),
            due_by=sh(11, 6), next_attempt_at=sh(11, 6), attempts=2, max_attempts=3,
            outcome=CallbackOutcome.REACHED, completed_at=sh(11, 7),
            created_at=sh(11, 5), updated_at=sh(11, 5)))


def hotline(db_url, tmp_path, monkeypatch, *argv) -> None:
    """`hotline --config FILE report callbacks ...`, the operator's command, entry point
    and all."""
    from hotline.cli import main

    config = tmp_path / "hotline.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.delenv("HOTLINE_DATABASE_URL", raising=False)
    assert main(["--config", str(config), "report", "callbacks", *argv]) == 0


def test_the_command_writes_names_that_look_like_formulas_as_inert_csv_text(
        database, db_url, tmp_path, monkeypatch):
    database.write_now(build_hostile_units)
    out = tmp_path / "report.csv"
    hotline(db_url, tmp_path, monkeypatch, "--from", "2026-11-01", "--to", "2026-11-30",
            "--format", "csv", "--output", str(out))
    lines = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"), newline="")))
    labels = {line[0]: line[1:] for line in lines[1:-1]}
    assert set(labels) == {f"'{code} 恶意单位" for code in HOSTILE_CODES}
    assert "'=HYPERLINK(\"http://x\") 恶意单位" in labels
    for counts in labels.values():  # numbers stay numbers, never quoted
        assert counts[:4] == ["1", "1", "0", "1"] and counts[-1] == "0.0"
    assert lines[-1][0] == "合计"


def test_the_command_writes_names_that_look_like_formulas_as_xlsx_strings(
        database, db_url, tmp_path, monkeypatch):
    from openpyxl import load_workbook

    database.write_now(build_hostile_units)
    out = tmp_path / "report.xlsx"
    hotline(db_url, tmp_path, monkeypatch, "--from", "2026-11-01", "--to", "2026-11-30",
            "--format", "xlsx", "--output", str(out))
    sheet = load_workbook(out).active
    labels = {}
    for row in sheet.iter_rows(min_row=2, max_row=sheet.max_row - 1):
        label, *counts = row
        labels[label.value] = label
        assert [c.data_type for c in counts[:4]] == ["n"] * 4 and counts[0].value == 1
    # XML reads a carriage return back as a line feed: the cell is text either way.
    assert set(labels) == {f"{code} 恶意单位".replace("\r", "\n") for code in HOSTILE_CODES}
    for cell in labels.values():
        assert cell.data_type == "s" and cell.quotePrefix  # text, not a formula
    assert labels['=HYPERLINK("http://x") 恶意单位'].hyperlink is None


def test_cli_refuses_a_bad_date():
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "callbacks", "--from", "2026-13-01", "--to", "2026-11-30"])


# By day ------------------------------------------------------------------------------------

def at(day, hour, minute=0):
    """A Shanghai time in November 2026, as stored (UTC)."""
    return sh(11, day, hour, minute)


# (resolved, due, state, completed, origin): days near the Shanghai midnights, where the
# UTC date is the day before.
DAY_TASKS = [
    (at(4, 23, 59), at(5, 0), S.COMPLETED, at(4, 23, 59), CallbackOrigin.RESOLUTION),
    (at(5, 0), at(6, 23, 59), S.COMPLETED, at(7, 9), CallbackOrigin.RESOLUTION),
    (at(5, 23, 30), at(6, 0, 30), S.UNREACHABLE, at(6, 10), CallbackOrigin.RESOLUTION),
    (at(6, 0, 30), at(7, 12), S.PENDING, None, CallbackOrigin.RESOLUTION),
    (at(7, 23, 59), at(8, 0), S.PENDING, None, CallbackOrigin.RESOLUTION),
    (at(6, 10), at(7, 10), S.CANCELLED, at(6, 11), CallbackOrigin.RESOLUTION),
    (at(6, 9), at(6, 9, 30), S.COMPLETED, at(6, 9, 10), CallbackOrigin.IVR_CALLBACK_REQUEST),
    (at(6, 8), at(6, 20), S.COMPLETED, at(6, 19), CallbackOrigin.RESOLUTION),
    (at(7, 8), at(7, 20), S.MERGED, None, CallbackOrigin.RESOLUTION),
]

#               resolved due within late unreachable pending compliance
BY_DAY = {
    dt.date(2026, 11, 5): (2, 1, 1, 0, 0, 0, 1.0),
    dt.date(2026, 11, 6): (2, 3, 1, 1, 1, 0, 0.3333),
    dt.date(2026, 11, 7): (2, 2, 0, 0, 0, 2, 0.0),
}


def build_days(session):
    for n, (resolved, due, state, completed, origin) in enumerate(DAY_TASKS):
        session.add(CallbackTask(
            citizen_phone=f"137{n:08d}", origin=origin, mode=CallbackMode.AUTOMATED,
            state=state, appeal_kind=K.HELP, resolved_at=resolved, window_start=resolved,
            due_by=due, next_attempt_at=due, attempts=1, max_attempts=3,
            completed_at=completed, created_at=resolved, updated_at=resolved))


def test_report_by_day_counts_each_shanghai_day(database):
    database.write_now(build_days)
    rows = database.read_now(daily_report, dt.date(2026, 11, 5), dt.date(2026, 11, 7), SHANGHAI)
    assert {row.day: (row.resolved, row.due, row.within, row.late, row.unreachable,
                      row.pending, row.compliance) for row in rows} == BY_DAY
    assert [row.day for row in rows] == sorted(BY_DAY)
    assert rows[1].as_dict()["day"] == "2026-11-06"


def test_report_by_day_lists_days_without_tasks_as_zeros(database):
    database.write_now(build_days)
    rows = database.read_now(daily_report, dt.date(2026, 11, 9), dt.date(2026, 11, 10), SHANGHAI)
    assert [(row.day.day, row.resolved, row.due, row.compliance) for row in rows] == \
        [(9, 0, 0, None), (10, 0, 0, None)]


def test_report_by_day_refuses_a_reversed_or_overlong_period(database):
    with pytest.raises(ValueError, match="must end after it starts"):
        database.read_now(daily_report, dt.date(2026, 11, 7), dt.date(2026, 11, 5), SHANGHAI)
    with pytest.raises(ValueError, match="at most 366 days"):
        database.read_now(daily_report, dt.date(2025, 1, 1), dt.date(2026, 1, 2), SHANGHAI)
