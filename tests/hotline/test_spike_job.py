"""The spike analysis against the database (both backends): the counts query on constructed
appeals, one alert per flagged cell however often an hour is run, the hourly job on
`task.Clock` with its catch-up, and on PostgreSQL the lease: one of two jobs runs an hour and
the other takes over when the first stops or dies."""

from __future__ import annotations

import datetime as dt
import getpass
import math
import random
import re
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import insert, select
from twisted.internet import defer, task

from hotline.alerts import open_alerts
from hotline.analysis import makeService, repository
from hotline.analysis.config import AnalysisConfig
from hotline.analysis.job import LOCK_KEY, SpikeJob
from hotline.analysis.spikes import Thresholds
from hotline.cli import main
from hotline.config import Config, ConfigError, DatabaseConfig, load_config
from hotline.db import Database, make_engine
from hotline.singleton import LeaseLock
from hotline.workdays import WorkCalendar
from schemas.analysis import SpikeFinding, SpikeRun
from schemas.enums import AppealChannel, AppealKind, AppealStatus
from schemas.models import Appeal

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
HOUR = dt.timedelta(hours=1)
ANALYSED = dt.datetime(2026, 11, 27, 2, tzinfo=UTC)  # Friday 10:00-11:00 in Shanghai
PG = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
CELLS = {("help", "枣园镇"): 2.0, ("help", "兰山街道"): 1.0, ("consultation", "兰山街道"): 3.0,
         ("complaint", "柳青街道"): 0.5, ("report", "义堂镇"): 0.2, ("dispute", None): 0.7}


def poisson(rng: random.Random, lam: float) -> int:
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class Appeals:
    """Appeals written straight into the table, numbered in order."""

    def __init__(self) -> None:
        self.serial = 0

    def rows(self, start: dt.datetime, kind: str, area: str | None, count: int,
             rng: random.Random) -> list[dict]:
        rows = []
        for _ in range(count):
            self.serial += 1
            at = start + dt.timedelta(seconds=rng.randrange(3600))
            rows.append(dict(case_number=f"T{self.serial:010d}", channel=AppealChannel.PHONE,
                             kind=AppealKind(kind), status=AppealStatus.RECEIVED,
                             subject="测试", body="", citizen_phone="13800000000", area=area,
                             deadline_at=at + dt.timedelta(days=5), created_at=at,
                             updated_at=at, reopen_count=0))
        return rows


def insert_rows(session, rows):
    if rows:
        session.execute(insert(Appeal), rows)


def noise(database, hour: dt.datetime, seed: int, days: int = 28, cells=CELLS,
          appeals: Appeals | None = None) -> Appeals:
    """Poisson counts in the same local hour of the previous `days` days and the hour
    itself, and busier traffic in the neighbouring hours (which must not count)."""
    appeals = appeals or Appeals()
    rng = random.Random(seed)
    rows = []
    for back in range(days + 1):
        start = hour - dt.timedelta(days=back)
        for (kind, area), lam in cells.items():
            rows += appeals.rows(start, kind, area, poisson(rng, lam), rng)
            rows += appeals.rows(start - HOUR, kind, area, poisson(rng, 4 * lam), rng)
            rows += appeals.rows(start + HOUR, kind, area, poisson(rng, 4 * lam), rng)
    database.write_now(insert_rows, rows)
    return appeals


def plant(database, appeals: Appeals, hour: dt.datetime, kind: str, area: str | None,
          count: int) -> None:
    database.write_now(insert_rows, appeals.rows(hour, kind, area, count, random.Random(0)))


DEFAULT_THRESHOLDS = Thresholds()


def run(database, hour=ANALYSED, runner="test", thresholds=DEFAULT_THRESHOLDS):
    return database.write_now(repository.run_hour, hour, zone=SHANGHAI, calendar=WorkCalendar(),
                              thresholds=thresholds, now=hour + HOUR + dt.timedelta(minutes=5),
                              runner=runner)


def findings(database):
    return database.read_now(lambda s: [(f.hour, f.kind, f.area, f.count) for f in
                                        s.scalars(select(SpikeFinding).order_by(SpikeFinding.id))])


def run_hours(database):
    return database.read_now(lambda s: [(r.hour, r.runner) for r in
                                        s.scalars(select(SpikeRun).order_by(SpikeRun.hour))])


# The hour's analysis ---------------------------------------------------------------------

def test_ordinary_noise_raises_no_alert_in_any_of_several_hours(database):
    appeals = Appeals()
    hours = [ANALYSED + n * HOUR for n in (0, 3, 6)]
    for n, hour in enumerate(hours):
        noise(database, hour, seed=n, appeals=appeals)
    for hour in hours:
        result = run(database, hour)
        assert len(result.analysis.cells) == len(CELLS) and result.analysis.days == 20
        assert result.analysis.flagged == ()
    assert findings(database) == [] and database.read_now(open_alerts) == []
    assert [h for h, _ in run_hours(database)] == hours


def test_a_planted_spike_is_found_named_and_alerted_once(database):
    appeals = noise(database, ANALYSED, seed=11)
    plant(database, appeals, ANALYSED, "help", "枣园镇", 12)
    # Just outside the hour: not counted.
    plant(database, appeals, ANALYSED + HOUR, "report", "义堂镇", 1)
    result = run(database)
    [spike] = result.analysis.flagged
    assert (spike.kind, spike.area) == ("help", "枣园镇") and spike.count >= 12
    assert 1.0 < spike.expected < 3.5 and spike.p_value < result.analysis.threshold
    [alert] = database.read_now(open_alerts)
    assert alert.kind == "spike" and alert.source == "analysis:spikes"
    assert alert.appeal_id is None and alert.id == result.alert_ids[0]
    assert "求助 help · 枣园镇 · 2026-11-27 10:00-11:00 (Asia/Shanghai)" in alert.note
    assert f"本时段 count {spike.count} 件" in alert.note
    assert f"基线 baseline {spike.expected:.2f}" in alert.note and "p = " in alert.note
    assert findings(database) == [(ANALYSED, "help", "枣园镇", spike.count)]

    again = run(database)
    assert again.already_done
    assert len(database.read_now(open_alerts)) == 1 and len(findings(database)) == 1


def test_two_runs_of_one_hour_at_once_raise_one_alert(database, db_url):
    appeals = noise(database, ANALYSED, seed=5)
    plant(database, appeals, ANALYSED, "dispute", None, 9)
    other = Database(make_engine(DatabaseConfig(url=db_url)), reactor=None, threads=1)
    barrier, results = threading.Barrier(2), []

    def contender(db, name):
        barrier.wait()
        results.append(run(db, runner=name))

    threads = [threading.Thread(target=contender, args=(db, name))
               for db, name in ((database, "A"), (other, "B"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    other.engine.dispose()
    assert sorted(r.already_done for r in results) == [False, True]
    [alert] = database.read_now(open_alerts)
    assert "纠纷 dispute · 未填区域 no area" in alert.note
    [winner] = [r for r in results if not r.already_done]
    [spike] = winner.analysis.flagged
    assert (spike.kind, spike.area) == ("dispute", "") and spike.count >= 9
    assert findings(database) == [(ANALYSED, "dispute", "", spike.count)]


def test_the_baseline_is_the_same_hour_on_days_of_the_same_type(database):
    """Busy weekends at this hour do not hide a working day's spike, unless day types are
    mixed, when the weekend's figures raise the baseline."""
    appeals = Appeals()
    rng = random.Random(3)
    rows = []
    calendar = WorkCalendar()
    for back in range(1, 29):
        start = ANALYSED - dt.timedelta(days=back)
        busy = not calendar.is_workday(start.astimezone(SHANGHAI).date())
        rows += appeals.rows(start, "help", "枣园镇", 14 if busy else (1, 2, 3)[back % 3], rng)
    rows += appeals.rows(ANALYSED, "help", "枣园镇", 12, rng)
    database.write_now(insert_rows, rows)
    mixed = database.read_now(repository.analyse_hour, ANALYSED, zone=SHANGHAI,
                              calendar=calendar, thresholds=Thresholds(match_day_type=False))
    assert mixed.days == 28 and mixed.flagged == ()
    result = run(database)
    assert result.analysis.days == 20
    [spike] = result.analysis.flagged
    assert spike.count == 12 and spike.expected == pytest.approx(2.0, abs=0.1)


@freeze_time("2026-11-28T02:00:00Z")  # 10:00 in Shanghai
def test_the_command_analyses_an_hour_once_and_its_dry_run_writes_nothing(
        database, db_url, monkeypatch, capsys):
    appeals = noise(database, ANALYSED, seed=11)
    plant(database, appeals, ANALYSED, "help", "枣园镇", 12)
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    assert main(["analysis", "run", "--hour", "2026-11-27T10", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-27 10:00 (Asia/Shanghai): 6 cells, 20 baseline days" in out
    assert re.search(r"^! help +枣园镇 +count +1\d ", out, re.M)
    assert len(re.findall(r"^  \w", out, re.M)) == 5  # the other cells, not flagged
    assert run_hours(database) == [] and database.read_now(open_alerts) == []

    assert main(["analysis", "run", "--hour", "2026-11-27T10"]) == 0
    assert "1 alert(s) raised" in capsys.readouterr().out
    assert [runner for _, runner in run_hours(database)] == [f"cli:{getpass.getuser()}"]
    assert main(["analysis", "run", "--hour", "2026-11-27T10"]) == 0
    assert "analysed before; nothing written" in capsys.readouterr().out
    assert len(database.read_now(open_alerts)) == 1

    assert main(["analysis", "run", "--hour", "2026-11-28T10"]) == 2  # not over yet
    assert "has not ended yet" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["analysis", "run", "--hour", "2026-11-28 10:00"])
    assert "expected an hour YYYY-MM-DDTHH" in capsys.readouterr().err


# The job ---------------------------------------------------------------------------------

def job_config(**overrides) -> AnalysisConfig:
    return AnalysisConfig(**{"offset_min": 5, "lease_s": 60, "catch_up_hours": 3, **overrides})


def make_job(database, clock, runner="A", **overrides) -> SpikeJob:
    return SpikeJob(database, job_config(**overrides), zone=SHANGHAI, calendar=WorkCalendar(),
                    clock=clock, runner=runner)


def clock_at(moment: dt.datetime) -> task.Clock:
    clock = task.Clock()
    clock.advance(moment.timestamp())
    return clock


def advance_to(clock, pumped_reactor, jobs, moment: dt.datetime) -> None:
    """Move the clock to `moment` a round at a time, letting each round finish."""
    while clock.seconds() < moment.timestamp():
        step = min(min(job.round_s for job in jobs), moment.timestamp() - clock.seconds())
        clock.advance(step)
        pumped_reactor.pump(lambda: all(job._round is None for job in jobs))


def test_the_job_runs_a_few_minutes_past_each_hour_on_the_reactor_clock(database,
                                                                         pumped_reactor):
    appeals = noise(database, ANALYSED + HOUR, seed=2)
    plant(database, appeals, ANALYSED + HOUR, "help", "枣园镇", 12)
    clock = clock_at(ANALYSED + dt.timedelta(minutes=30))  # 10:30 in Shanghai
    job = make_job(database, clock, catch_up_hours=1)
    job.startService()
    pumped_reactor.pump(lambda: job.rounds == 1)
    assert job.leader and run_hours(database) == [(ANALYSED - HOUR, "A")]  # 09:00-10:00

    advance_to(clock, pumped_reactor, [job], ANALYSED + HOUR + dt.timedelta(minutes=4, seconds=59))
    assert len(run_hours(database)) == 1 and database.read_now(open_alerts) == []
    advance_to(clock, pumped_reactor, [job], ANALYSED + HOUR + dt.timedelta(minutes=5))
    assert [h for h, _ in run_hours(database)] == [ANALYSED - HOUR, ANALYSED]
    advance_to(clock, pumped_reactor, [job], ANALYSED + 2 * HOUR + dt.timedelta(minutes=5))
    assert [h for h, _ in run_hours(database)] == [ANALYSED - HOUR, ANALYSED, ANALYSED + HOUR]
    [alert] = database.read_now(open_alerts)
    assert "2026-11-27 11:00-12:00" in alert.note
    assert alert.at == ANALYSED + 2 * HOUR + dt.timedelta(minutes=5)  # the reactor's time
    assert job.analysed == 3
    pumped_reactor.wait(job.stopService())


def test_a_restarted_job_catches_up_the_hours_it_missed(database, pumped_reactor):
    clock = clock_at(ANALYSED + dt.timedelta(minutes=10))
    job = make_job(database, clock)
    job.startService()
    pumped_reactor.pump(lambda: job.rounds == 1)
    first = [h for h, _ in run_hours(database)]
    assert first == [ANALYSED - 3 * HOUR, ANALYSED - 2 * HOUR, ANALYSED - HOUR]
    pumped_reactor.wait(job.stopService())

    clock.advance(2 * 3600)  # down for two hours: 10:00 and 11:00 were not analysed
    job = make_job(database, clock, runner="A2")
    job.startService()
    pumped_reactor.pump(lambda: job.rounds == 1)
    assert run_hours(database)[3:] == [(ANALYSED, "A2"), (ANALYSED + HOUR, "A2")]
    assert job.analysed == 2
    pumped_reactor.wait(job.stopService())


def test_make_service_builds_the_job_unless_disabled(database, pumped_reactor):
    class FakeCore:
        def __init__(self, config):
            self.config, self.db, self.zone = config, database, SHANGHAI
            self.calendar, self.reactor = WorkCalendar(), task.Clock()

    enabled = makeService(FakeCore(Config()))
    assert isinstance(enabled.job, SpikeJob) and list(enabled) == [enabled.job]
    disabled = makeService(FakeCore(Config(extensions={"analysis":
                                                       AnalysisConfig(enabled=False)})))
    assert disabled.job is None and list(disabled) == []


def test_the_analysis_section_is_read_from_the_file_and_the_environment_and_checked(tmp_path):
    path = tmp_path / "hotline.toml"
    path.write_text("[analysis]\nmin_ratio = 4\nbaseline_days = 21\n", encoding="utf-8")
    config = load_config(path, environ={"HOTLINE_ANALYSIS_MIN_COUNT": "6"})
    assert config.analysis.thresholds == Thresholds(min_ratio=4.0, baseline_days=21, min_count=6)
    with pytest.raises(ConfigError, match="(?i)analysis_family_alpha"):
        load_config(path, environ={"HOTLINE_ANALYSIS_FAMILY_ALPHA": "0.9"})
    with pytest.raises(ConfigError, match="min_matched_days"):
        load_config(path, environ={"HOTLINE_ANALYSIS_MIN_MATCHED_DAYS": "22"})


# The lease on PostgreSQL ------------------------------------------------------------------

@pytest.fixture
def second_database(db_url, pumped_reactor):
    db = Database(make_engine(DatabaseConfig(url=db_url)), pumped_reactor, threads=2)
    db.startService()
    yield db
    db.stopService()


@PG
def test_of_two_jobs_one_runs_each_hour_and_the_other_takes_over_when_it_dies(
        database, second_database, pumped_reactor):
    clock = clock_at(ANALYSED + dt.timedelta(minutes=10))
    first = make_job(database, clock, runner="A", catch_up_hours=1)
    second = make_job(second_database, clock, runner="B", catch_up_hours=1)
    first.startService()
    pumped_reactor.pump(lambda: first.rounds == 1)
    second.startService()
    pumped_reactor.pump(lambda: second.rounds == 1)
    assert first.leader and second.leader is False
    jobs = [first, second]
    advance_to(clock, pumped_reactor, jobs, ANALYSED + HOUR + dt.timedelta(minutes=6))
    assert run_hours(database) == [(ANALYSED - HOUR, "A"), (ANALYSED, "A")]

    # The holder dies: its lock connection closes without unlocking, its timers stop.
    first._loop.stop()
    first._lock._connection.invalidate()
    advance_to(clock, pumped_reactor, [second], ANALYSED + HOUR + dt.timedelta(minutes=7))
    assert second.leader
    advance_to(clock, pumped_reactor, [second], ANALYSED + 2 * HOUR + dt.timedelta(minutes=6))
    assert run_hours(database)[2:] == [(ANALYSED + HOUR, "B")]
    assert second.analysed == 1 and first.analysed == 2
    # The dead one's lock connection is gone: coming back, it finds the lease taken.
    assert pumped_reactor.wait(defer.Deferred.fromCoroutine(first.run_round())) == []
    assert first.leader is False
    pumped_reactor.wait(second.stopService())
    pumped_reactor.wait(first.stopService())


@PG
def test_a_stopped_holder_hands_over_at_the_next_round_and_catches_up(
        database, second_database, pumped_reactor):
    clock = clock_at(ANALYSED + dt.timedelta(minutes=10))
    first = make_job(database, clock, runner="A", catch_up_hours=2)
    second = make_job(second_database, clock, runner="B", catch_up_hours=2)
    first.startService()
    pumped_reactor.pump(lambda: first.rounds == 1)
    second.startService()
    pumped_reactor.pump(lambda: second.rounds == 1)
    pumped_reactor.wait(first.stopService())
    # The hour ends while no one holds the lease; the standby's next round takes it.
    clock.advance(3600)
    pumped_reactor.pump(lambda: second.rounds == 2)
    assert second.leader
    assert run_hours(database) == [(ANALYSED - 2 * HOUR, "A"), (ANALYSED - HOUR, "A"),
                                   (ANALYSED, "B")]
    pumped_reactor.wait(second.stopService())


@PG
def test_a_silent_holder_loses_the_lease_when_it_runs_out(db_url):
    """A holder that stops renewing (hung, cut off) has its session ended by the server
    after the lease; the lock is then free. Real time: the server keeps the lease."""
    engines = [make_engine(DatabaseConfig(url=db_url)) for _ in range(2)]
    holder, standby = (LeaseLock(engine, LOCK_KEY, lease_s=0.3) for engine in engines)
    try:
        assert holder.try_acquire() and not standby.try_acquire()
        deadline = time.monotonic() + 10
        while not standby.try_acquire():
            assert time.monotonic() < deadline, "the silent holder kept the lease"
            time.sleep(0.05)
        assert not holder.try_acquire()  # its renewal finds the session gone and the lock taken
        standby.release()
        assert holder.try_acquire()
        holder.release()
    finally:
        for engine in engines:
            engine.dispose()


@freeze_time("2026-11-28T02:00:00Z")
def test_the_command_uses_the_holiday_lists_loaded_like_the_service(
        database, db_url, monkeypatch, capsys, tmp_path):
    from tests.support.holidays import run_hotline, write_list

    listed = write_list(tmp_path, 'year = 2026\nnotice = "test list"\n\n[[holiday]]\n'
                                  'name = "测试假日"\ndate = 2026-11-27\n', "holidays-2026.toml")
    code, _, err = run_hotline(monkeypatch, capsys, db_url, "calendar", "load", str(listed))
    assert code == 0, err
    code, out, _ = run_hotline(monkeypatch, capsys, db_url,
                               "analysis", "run", "--hour", "2026-11-27T10", "--dry-run")
    assert code == 0
    # a holiday now: compared with the 8 weekend days before it, not the 20 working days
    assert "2026-11-27 10:00 (Asia/Shanghai): 0 cells, 8 baseline days" in out
