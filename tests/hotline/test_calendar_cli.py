"""`hotline calendar load / list / show` run as an operator runs them, and a running core
that picks a loaded year up on its next refresh for the deadlines it computes."""

import datetime as dt

from freezegun import freeze_time
from sqlalchemy import func, select
from twisted.internet import task

from hotline import audit
from hotline.calendar_store import REFRESH_INTERVAL_S, stored_years
from hotline.config import AmiConfig, Config, DatabaseConfig
from hotline.core import make_core
from schemas.calendar import CalendarDay
from schemas.enums import AppealKind
from tests.agents.support import SettableClock
from tests.support.appeals import SHANGHAI, new_appeal
from tests.support.holidays import run_hotline, write_list
from tests.support.threads import PumpedReactor

REPLACEMENT_2027 = """\
year = 2027
notice = "test list, revised"

[[holiday]]
name = "春节"
start = 2027-02-06
end = 2027-02-12

[[workday]]
date = 2027-02-21
"""


def test_load_stores_the_year_and_audits_it(database, db_url, tmp_path, monkeypatch, capsys):
    path = write_list(tmp_path)
    code, out, err = run_hotline(monkeypatch, capsys, db_url, "calendar", "load", str(path))
    assert code == 0, err
    assert out.startswith("calendar 2027: 8 holidays, 1 make-up working days loaded from "
                          "holidays-2027.toml")
    years = database.read_now(stored_years)
    assert set(years) == {2027}
    assert dt.date(2027, 2, 8) in years[2027].holidays
    assert years[2027].workdays == {dt.date(2027, 2, 20)}
    [event] = database.read_now(audit.trail, "calendar_year", 2027)
    assert event.action == "load" and event.actor.startswith("cli:")
    assert event.from_state is None and event.to_state == "loaded"
    assert event.note.startswith("test list, not the official schedule; ")
    assert "2027-02-05..2027-02-11 春节" in event.note and "2027-02-20 春节" in event.note


def test_loading_a_year_again_replaces_its_days_whole(database, db_url, tmp_path, monkeypatch,
                                                      capsys):
    run_hotline(monkeypatch, capsys, db_url, "calendar", "load", str(write_list(tmp_path)))
    revised = write_list(tmp_path, REPLACEMENT_2027, "revised.toml")
    code, out, err = run_hotline(monkeypatch, capsys, db_url, "calendar", "load", str(revised))
    assert code == 0, err
    assert "(replaced 8 holidays, 1 make-up days)" in out
    years = database.read_now(stored_years)
    assert years[2027].holidays == {dt.date(2027, 2, d) for d in range(6, 13)}
    assert years[2027].workdays == {dt.date(2027, 2, 21)}  # 1 Jan and 20 Feb are gone
    trail = database.read_now(audit.trail, "calendar_year", 2027)
    assert [(e.from_state, e.to_state) for e in trail] == [(None, "loaded"), ("loaded", "loaded")]
    assert "replaced 8 holidays, 1 make-up days" in trail[1].note


def test_a_bad_file_is_refused_with_its_lines_and_changes_nothing(database, db_url, tmp_path,
                                                                  monkeypatch, capsys):
    run_hotline(monkeypatch, capsys, db_url, "calendar", "load", str(write_list(tmp_path)))
    bad = write_list(tmp_path, REPLACEMENT_2027.replace("2027-02-12", "2028-02-12")
                     .replace("2027-02-21", "2027-02-17"), "bad.toml")
    code, out, err = run_hotline(monkeypatch, capsys, db_url, "calendar", "load", str(bad))
    assert code == 2
    assert err.splitlines() == [
        "hotline: bad.toml line 7: 2028-02-12 is not in 2027, the file's year",
        "bad.toml line 10: 2027-02-17 is a Wednesday, already a working day; a make-up working "
        "day (调休) is a Saturday or Sunday",
    ]
    assert database.read_now(stored_years)[2027].workdays == {dt.date(2027, 2, 20)}  # as before
    assert len(database.read_now(audit.trail, "calendar_year", 2027)) == 1
    missing = run_hotline(monkeypatch, capsys, db_url, "calendar", "load",
                          str(tmp_path / "nope.toml"))
    assert missing[0] == 2 and "nope.toml" in missing[2]


@freeze_time("2026-12-03T02:00:00Z")
def test_list_and_show_name_the_years_known_and_the_one_coming(database, db_url, tmp_path,
                                                               monkeypatch, capsys):
    code, out, _ = run_hotline(monkeypatch, capsys, db_url, "calendar", "list")
    assert code == 0  # the current year is the library's
    assert out.splitlines()[0].startswith("2004-2026  chinese_calendar ")
    assert out.splitlines()[1].startswith("2027       unknown: counted Monday to Friday")
    run_hotline(monkeypatch, capsys, db_url, "calendar", "load", str(write_list(tmp_path)))
    code, out, _ = run_hotline(monkeypatch, capsys, db_url, "calendar", "list")
    loaded = out.splitlines()[1]
    assert loaded.startswith("2027       loaded 2026-12-03 10:00 by cli:")
    assert loaded.endswith(": 8 holidays, 1 make-up days (test list, not the official schedule)")
    assert "unknown" not in out
    code, out, _ = run_hotline(monkeypatch, capsys, db_url, "calendar", "show", "2027")
    assert code == 0
    assert "2027-02-08  Mon  holiday             春节" in out.splitlines()
    assert "2027-02-20  Sat  make-up working day 春节" in out.splitlines()
    assert run_hotline(monkeypatch, capsys, db_url, "calendar", "show", "2028")[0] == 1


@freeze_time("2027-01-04T02:00:00Z")
def test_list_fails_while_the_current_year_is_unknown(database, db_url, monkeypatch, capsys):
    code, out, _ = run_hotline(monkeypatch, capsys, db_url, "calendar", "list")
    assert code == 1
    assert "2027       unknown" in out and "2028       unknown" in out


class PumpedClock(PumpedReactor, task.Clock):
    """Thread results pumped by the test, timers advanced by it: the reactor of one core."""

    def __init__(self) -> None:
        PumpedReactor.__init__(self)
        task.Clock.__init__(self)


def test_a_running_core_uses_a_loaded_spring_festival_from_its_next_refresh(
        db_url, tmp_path, monkeypatch, capsys):
    reactor = PumpedClock()
    wall = SettableClock(dt.datetime(2027, 1, 29, 1, 0, tzinfo=dt.timezone.utc))  # Fri 09:00
    core = make_core(Config(database=DatabaseConfig(url=db_url), ami=AmiConfig(enabled=False)),
                     reactor, clock=wall)
    core.db.startService()
    core.calendar_loader.startService()
    try:
        # The first refresh found nothing loaded; its look at the longest deadline from today
        # reached 2027, which has no data.
        reactor.pump(lambda: core.calendar.unknown_years() == (2027,))

        def complaint_deadline():
            record = reactor.wait(core.appeals.create(new_appeal(kind=AppealKind.COMPLAINT),
                                                      actor="agent:li"))
            return record.deadline_at.astimezone(SHANGHAI).date()
        assert complaint_deadline() == dt.date(2027, 2, 19)  # Spring Festival counted as work

        code, _, err = run_hotline(monkeypatch, capsys, db_url, "calendar", "load",
                                   str(write_list(tmp_path)))
        assert code == 0, err
        assert complaint_deadline() == dt.date(2027, 2, 19)  # not re-read until the refresh
        reactor.advance(REFRESH_INTERVAL_S)
        reactor.pump(lambda: core.calendar.loaded_years == (2027,))
        # Mon 1 .. Thu 4 Feb (4), Fri 12 (5), Mon 15 .. Fri 19 (10), Sat 20 (11), 22 .. 25 (15)
        assert complaint_deadline() == dt.date(2027, 2, 25)
        assert core.calendar.unknown_years() == ()
    finally:
        stopping = core.calendar_loader.stopService()
        if stopping is not None:
            reactor.wait(stopping)
        core.db.stopService()
    assert core.db.read_now(lambda s: s.scalar(select(func.count()).select_from(CalendarDay))) \
        == 9  # 1 Jan, 5 .. 11 Feb, 20 Feb


def test_a_refresh_that_fails_is_logged_and_keeps_the_years_it_had():
    from twisted.internet import defer
    from twisted.logger import capturedLogs

    from hotline.calendar_store import CalendarRefresher
    from hotline.workdays import WorkCalendar, YearList

    class DatabaseDown:
        def read(self, work):
            return defer.fail(ConnectionError("database down"))

    calendar = WorkCalendar(years={2027: YearList(frozenset({dt.date(2027, 2, 8)}), frozenset())})
    refresher = CalendarRefresher(
        calendar, DatabaseDown(), timers=task.Clock(), zone=SHANGHAI, horizon_days=15,
        wall=SettableClock(dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)))
    with capturedLogs() as events:
        refresher.startService()
        refresher.stopService()
    assert calendar.loaded_years == (2027,)
    assert any("holiday lists failed" in e["log_format"] for e in events)
