"""Reminder import (row by row, idempotent, through the `hotline reminders import` command)
and planning (offsets before the due date, ID cards at once, quiet hours, the daily cap)."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from hotline.config import Config, DatabaseConfig
from schemas.enums import SmsKind, SmsLane
from schemas.messaging import Reminder, ReminderKind, ReminderState
from sms_gateway.messages import cli
from sms_gateway.messages.csv_input import EncodingError
from sms_gateway.messages.reminders import (
    ImportFileError,
    ReminderRow,
    import_stream,
    insert_reminders,
    read_rows,
)
from tests.sms_gateway.messages.support import messages, messaging, shanghai

TODAY = dt.date(2026, 11, 30)
NOW = shanghai(2026, 11, 30, 10, 0)

EXCEL_UTF8 = "utf-8-sig"  # "CSV UTF-8" as Excel saves it, with a byte order mark
VEHICLES = """phone,due_date,plate,owner
13812345678,2026-12-31,鲁Q12345,张三
13812345679,2027-01-15,鲁QD8888,李四
"""
BAD_VEHICLES = """\ufeffphone,due_date,plate
13812345678,2026-12-31,鲁Q12345
12345,2026-12-31,鲁Q00001
13812345670,2026-13-01,鲁Q00002
13812345671,2026-12-31,ABC
05398123456,2026-12-31,鲁Q00003

13812345672,2026-12-31
"13812345673","2026/12/31","鲁q00004"
"""


def run(command: list[str], db_url: str, capsys, at: dt.datetime = NOW) -> tuple[int, str, str]:
    """The command as an operator runs it, on the wall clock `at` (the files' dates are fixed,
    so "more than a year ago" and "due now" must not depend on the day the suite runs)."""
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(required=True))
    args = parser.parse_args(command)
    with freeze_time(at):
        code = args.handler(Config(database=DatabaseConfig(url=db_url)), args)
    out, err = capsys.readouterr()
    return code, out, err


def count(session, model=Reminder):
    return session.scalar(select(func.count()).select_from(model))


def test_import_twice_changes_nothing_the_second_time(database, db_url, tmp_path, capsys):
    path = tmp_path / "vehicles.csv"
    path.write_text(VEHICLES, EXCEL_UTF8)
    code, out, _ = run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    assert code == 0 and "2 rows, 2 new, 0 already imported, 0 bad" in out
    before = database.read_now(lambda s: [(r.id, r.phone, r.plate, r.due_date, r.next_send_at)
                                          for r in s.scalars(select(Reminder).order_by(Reminder.id))])
    code, out, _ = run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    assert code == 0 and "2 rows, 0 new, 2 already imported, 0 bad" in out
    after = database.read_now(lambda s: [(r.id, r.phone, r.plate, r.due_date, r.next_send_at)
                                         for r in s.scalars(select(Reminder).order_by(Reminder.id))])
    assert after == before and len(after) == 2


def test_bad_rows_are_reported_by_line_and_reason_and_the_good_ones_go_in(database, db_url,
                                                                         tmp_path, capsys):
    path = tmp_path / "vehicles.csv"
    path.write_text(BAD_VEHICLES, "utf-8")
    code, out, err = run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    assert code == 1 and "7 rows, 2 new, 0 already imported, 5 bad" in out
    lines = err.strip().splitlines()
    assert lines[0].startswith("vehicles.csv line 3: phone: '12345' is not")
    assert lines[1] == "vehicles.csv line 4: due_date: '2026-13-01' is not a date (YYYY-MM-DD)"
    assert lines[2] == "vehicles.csv line 5: plate: 'ABC' is not a vehicle plate (e.g. 鲁Q12345)"
    assert lines[3] == "vehicles.csv line 6: phone: '05398123456' is not a mobile number (no SMS)"
    assert lines[4] == "vehicles.csv line 8: 2 columns, the header has 3"
    plates = database.read_now(lambda s: sorted(s.scalars(select(Reminder.plate))))
    assert plates == ["鲁Q00004", "鲁Q12345"]


def test_a_file_without_the_kinds_columns_imports_nothing(database, db_url, tmp_path, capsys):
    path = tmp_path / "cards.csv"
    path.write_text(VEHICLES, EXCEL_UTF8)
    with pytest.raises(ImportFileError, match="line 1: the header lacks column.*application_no, "
                                              "station, opening_hours"):
        run(["reminders", "import", str(path), "--kind", "idcard"], db_url, capsys)
    assert database.read_now(count) == 0


def plates(database):
    return database.read_now(lambda s: sorted(s.scalars(select(Reminder.plate))))


def test_a_field_over_the_csv_limit_is_a_bad_row_and_the_rows_after_it_go_in(database, db_url,
                                                                            tmp_path, capsys):
    path = tmp_path / "vehicles.csv"
    path.write_text("phone,due_date,plate,owner\n"
                    "13812345678,2026-12-31,鲁Q12345,张三\n"
                    f"13812345679,2026-12-31,鲁Q12346,\"{'长' * 200_000}\"\n"
                    "13812345670,2026-12-31,鲁Q12347,王小明\n", EXCEL_UTF8)
    code, out, err = run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    assert code == 1 and "3 rows, 2 new, 0 already imported, 1 bad" in out
    assert err == "vehicles.csv line 3: a field is longer than 131,072 characters\n"
    assert plates(database) == ["鲁Q12345", "鲁Q12347"]


def test_an_unbalanced_quote_is_reported_where_it_opens_and_the_rows_after_it_go_in(
        database, db_url, tmp_path, capsys):
    path = tmp_path / "vehicles.csv"
    path.write_text("phone,due_date,plate,owner\r\n"
                    "13812345678,2026-12-31,鲁Q12345,张三\r\n"
                    "13812345679,2026-12-31,鲁Q12346,\"李四\r\n"
                    "13812345670,2026-12-31,鲁Q12347,王小明\r\n"
                    "13812345671,2026-12-31,鲁Q12348,\"赵六\"\r\n"
                    "13812345672,2026-12-31,鲁Q12349,孙七\r\n", EXCEL_UTF8)
    code, out, err = run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    assert code == 1 and "5 rows, 4 new, 0 already imported, 1 bad" in out
    assert err == ("vehicles.csv line 3: unbalanced quote: a quoted field does not close "
                   "before line 4, which reads as a row of its own\n")
    assert plates(database) == ["鲁Q12345", "鲁Q12347", "鲁Q12348", "鲁Q12349"]


def test_a_gbk_file_from_excel_is_told_and_read_as_gbk(database, db_url, tmp_path, capsys):
    path = tmp_path / "vehicles.csv"
    path.write_bytes("phone,due_date,plate,owner\r\n13812345678,2026-12-31,鲁Q12345,王小明\r\n"
                     "13812345679,2026-12-31,鲁Q00002,张三\r\n".encode("gbk"))
    code, out, _ = run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    assert code == 0 and "vehicles.csv: read as GB18030 (detected)" in out
    assert "2 rows, 2 new, 0 already imported, 0 bad" in out
    assert plates(database) == ["鲁Q00002", "鲁Q12345"]


def test_a_file_that_reads_both_ways_is_refused_until_its_encoding_is_given(database, db_url,
                                                                            tmp_path, capsys):
    path = tmp_path / "vehicles.csv"
    text = ("phone,due_date,plate\r\n13812345678,2026-12-31,鲁Q12345\r\n"
            "13812345679,2027-01-15,鲁QD8888\r\n")
    data = text.encode("gbk")
    assert "³Q12345" in data.decode("utf-8")  # GBK, and valid UTF-8 too
    path.write_bytes(data)
    with pytest.raises(EncodingError, match="vehicles.csv decodes both as UTF-8 and as GBK "
                                            r"\(GB18030\), so its encoding cannot be told "
                                            r"\(line 2 has '³Q12345' in UTF-8, "
                                            r"'鲁Q12345' in GBK\): pass --encoding utf-8 "
                                            "or --encoding gbk"):
        run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    assert database.read_now(count) == 0
    code, out, _ = run(["reminders", "import", str(path), "--kind", "vehicle", "--encoding",
                        "gbk"], db_url, capsys)
    assert code == 0 and "vehicles.csv: read as GBK\n" in out and "2 rows, 2 new" in out
    assert plates(database) == ["鲁Q12345", "鲁QD8888"]


def test_a_utf8_file_without_a_byte_order_mark_that_reads_both_ways_needs_its_encoding(
        database, db_url, tmp_path, capsys):
    path = tmp_path / "vehicles.csv"
    path.write_text(VEHICLES, "utf-8")  # 鲁Q12345,张三 is also the GBK of 椴丵12345,寮犱笁
    with pytest.raises(EncodingError, match="decodes both as UTF-8 and as GBK"):
        run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    code, out, _ = run(["reminders", "import", str(path), "--kind", "vehicle", "--encoding",
                        "utf-8"], db_url, capsys)
    assert code == 0 and "2 rows, 2 new" in out and "read as" not in out
    assert plates(database) == ["鲁Q12345", "鲁QD8888"]


def test_bad_bytes_in_the_given_encoding_are_named_and_nothing_is_imported(database, db_url,
                                                                           tmp_path, capsys):
    path = tmp_path / "vehicles.csv"
    path.write_bytes("phone,due_date,plate,owner\n13812345678,2026-12-31,鲁Q12345,王小明\n"
                     .encode("gbk"))
    with pytest.raises(EncodingError, match=r"vehicles.csv is not UTF-8 text: line 2, byte "
                                            r"offset 59: b'\\xcd', invalid continuation"):
        run(["reminders", "import", str(path), "--kind", "vehicle", "--encoding", "utf-8"],
            db_url, capsys)
    assert database.read_now(count) == 0


def test_an_unknown_encoding_is_refused_by_the_command_line(capsys):
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(required=True))
    with pytest.raises(SystemExit):
        parser.parse_args(["reminders", "import", "x.csv", "--kind", "vehicle", "--encoding",
                           "latin-1"])
    assert "expected auto, utf-8, gbk, gb18030, gb2312; got 'latin-1'" in capsys.readouterr().err


def test_import_streams_in_batches_each_its_own_transaction(database):
    rows = ["phone,due_date,licence_no"] + [f"1391234{n:04d},2027-03-01,37130219800101{n:04d}"
                                            for n in range(25)]
    batches = []
    summary = import_stream(database.write_now, iter(rows), ReminderKind.LICENCE,
                            messaging().plan, NOW, on_progress=batches.append, batch=10)
    assert (summary.rows, summary.inserted, summary.bad) == (25, 25, 0)
    assert batches == [10, 10, 5]


def vehicle(line, plate, due, phone="13812345678"):
    return ReminderRow(line, ReminderKind.VEHICLE, plate, due, phone, plate=plate)


def test_vehicle_reminders_go_30_and_7_days_before_the_due_date_once_each(database):
    parts = messaging()
    due = dt.date(2027, 1, 30)
    database.write_now(insert_reminders, [vehicle(2, "鲁Q12345", due)], parts.plan, NOW)
    assert database.write_now(parts.planner.plan_due, NOW, 100).examined == 0
    day_30 = shanghai(2026, 12, 31, 8, 0)
    assert database.write_now(parts.planner.plan_due, day_30, 100).queued == 1
    assert database.write_now(parts.planner.plan_due, day_30 + dt.timedelta(days=1), 100).examined == 0
    day_7 = shanghai(2027, 1, 23, 8, 0)
    assert database.write_now(parts.planner.plan_due, day_7, 100).queued == 1
    sent = database.read_now(messages)
    assert [m.kind for m in sent] == [SmsKind.REMINDER_VEHICLE] * 2
    assert [m.not_before for m in sent] == [day_30, day_7]
    assert sent[0].lane == SmsLane.REMINDER and "鲁Q12345" in sent[0].text
    assert "2027年1月30日" in sent[0].text
    assert database.read_now(lambda s: s.scalar(select(Reminder.state))) is ReminderState.DONE


def test_a_reminder_imported_late_gets_only_the_stages_not_yet_overtaken(database):
    parts = messaging()
    database.write_now(insert_reminders, [vehicle(2, "鲁Q00010", dt.date(2026, 12, 10)),
                                          vehicle(3, "鲁Q00011", dt.date(2026, 12, 4)),
                                          vehicle(4, "鲁Q00012", dt.date(2026, 11, 29))],
                       parts.plan, NOW)
    result = database.write_now(parts.planner.plan_due, NOW, 100)
    assert (result.queued, result.expired) == (2, 1)
    keys = sorted(m.dedupe_key.rsplit(":", 1)[1] for m in database.read_now(messages))
    assert keys == ["30", "7"]  # due in 10 days: the 30-day one now; due in 4 days: the 7-day


def test_id_card_reminders_go_at_once_but_not_in_the_night(database):
    parts = messaging()
    night = shanghai(2026, 11, 30, 22, 30)
    card = ReminderRow(2, ReminderKind.IDCARD, "SL20261130001", dt.date(2026, 12, 30),
                       "13812345678", station="兰山派出所", opening_hours="工作日8:30-17:00")
    database.write_now(insert_reminders, [card], parts.plan, night)
    assert database.write_now(parts.planner.plan_due, night, 100).queued == 1
    [sent] = database.read_now(messages)
    assert sent.kind is SmsKind.REMINDER_IDCARD and "兰山派出所" in sent.text
    assert sent.not_before == shanghai(2026, 12, 1, 8, 0)


def test_the_daily_cap_moves_the_fourth_reminder_of_a_day_to_the_next_morning(database):
    parts = messaging(daily_cap=3)
    database.write_now(insert_reminders, [vehicle(n, f"鲁Q0002{n}", dt.date(2026, 12, 5))
                                          for n in range(4)], parts.plan, NOW)
    result = database.write_now(parts.planner.plan_due, NOW, 100)
    assert result.queued == 4
    times = sorted(m.not_before for m in database.read_now(messages))
    assert times == [NOW] * 3 + [shanghai(2026, 12, 1, 8, 0)]


def test_planning_is_idempotent_even_if_a_stage_is_planned_again(database):
    parts = messaging()
    database.write_now(insert_reminders, [vehicle(2, "鲁Q12345", dt.date(2026, 12, 20))],
                       parts.plan, NOW)
    database.write_now(parts.planner.plan_due, NOW, 100)
    database.write_now(lambda s: s.execute(Reminder.__table__.update().values(
        stage=0, state=ReminderState.PENDING, next_send_at=NOW)))  # as if the round was lost
    again = database.write_now(parts.planner.plan_due, NOW, 100)
    assert again.queued == 0 and again.skipped == {"duplicate": 1}
    assert len(database.read_now(messages)) == 1


def test_the_plan_command_queues_what_is_due(database, db_url, capsys):
    database.write_now(insert_reminders, [vehicle(2, "鲁Q12345", dt.date(2026, 12, 1))],
                       messaging().plan, NOW - dt.timedelta(days=30))
    code, out, _ = run(["reminders", "plan"], db_url, capsys, at=NOW)
    assert code == 0
    assert "1 due: 1 messages queued, 0 skipped, 0 expired, 0 rescheduled" in out


def test_the_plan_command_counts_an_expired_reminder_as_expired(database, db_url, capsys):
    database.write_now(insert_reminders, [vehicle(2, "鲁Q12345", dt.date(2026, 12, 1)),
                                          vehicle(3, "鲁Q54321", dt.date(2027, 2, 15))],
                       messaging().plan, NOW - dt.timedelta(days=30))
    # the first is long past its due date
    code, out, _ = run(["reminders", "plan"], db_url, capsys, at=NOW + dt.timedelta(days=60))
    assert code == 0
    assert "2 due: 1 messages queued, 0 skipped, 1 expired, 0 rescheduled" in out
    states = database.read_now(lambda s: sorted(r.state for r in s.scalars(select(Reminder))))
    assert ReminderState.EXPIRED in states


def test_read_rows_validates_each_kind(database):
    rows = list(read_rows(iter([
        "phone,due_date,application_no,station,opening_hours",
        "13812345678,2026-12-30,SL-001,兰山派出所,工作日8:30-17:00",
        "13812345678,2026-12-30,SL-002,,工作日",
        "13812345678,2026-12-30,!,兰山派出所,工作日"]), ReminderKind.IDCARD, TODAY))
    assert rows[0].station == "兰山派出所" and rows[0].record_key == "SL-001"
    assert rows[1].reason == "station: is required" and rows[1].line == 3
    assert rows[2].reason.startswith("application_no: '!' must be")


def test_a_large_file_shows_a_progress_bar_and_a_small_one_none(database, db_url, tmp_path,
                                                               capsys, monkeypatch):
    path = tmp_path / "vehicles.csv"
    path.write_text(VEHICLES, EXCEL_UTF8)
    run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    _, _, err = run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    assert err == ""
    monkeypatch.setattr(cli, "LARGE_FILE_ROWS", 2)  # "large" from two rows, for the test
    _, _, err = run(["reminders", "import", str(path), "--kind", "vehicle"], db_url, capsys)
    assert "100%" in err and "2/2" in err
