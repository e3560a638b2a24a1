"""The recordings job on the reactor clock (both databases): each round indexes what is
complete; the purge runs once a local day from `purge_hour`; the disk is on /metrics and a
nearly full one on /healthz; on PostgreSQL one of two processes indexes at a time."""

from __future__ import annotations

import datetime as dt
import os
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from twisted.internet import task

from hotline.config import Config, DatabaseConfig
from hotline.db import Database, make_engine
from hotline.metrics import Metrics
from hotline.recordings import makeService
from hotline.recordings.config import RecordingsConfig
from hotline.recordings.job import DiskUsage, RecordingsJob
from schemas.recordings import Recording
from tests.recordings.support import DAY, SHANGHAI, agent_call, appeal_from_call

PG = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def clock_at(moment: dt.datetime) -> task.Clock:
    clock = task.Clock()
    clock.advance(moment.timestamp())
    return clock


def job_for(database, clock, directory, **overrides) -> RecordingsJob:
    config = RecordingsConfig(dir=str(directory), scan_s=20, lease_s=90, keep_calls_days=30,
                              keep_callbacks_days=30, keep_voice_messages_days=30,
                              keep_complaints_days=30, **overrides)
    return RecordingsJob(database, config, voice_message_dir="", zone=SHANGHAI, clock=clock)


def advance(clock, pumped_reactor, job, seconds: float) -> None:
    end = clock.seconds() + seconds
    while clock.seconds() < end:
        clock.advance(min(job._config.scan_s, end - clock.seconds()))
        pumped_reactor.pump(lambda: job._round is None)


def indexed(database) -> list[tuple[str, object]]:
    return database.read_now(lambda s: list(s.execute(
        select(Recording.name, Recording.purged_at).order_by(Recording.id))))


@pytest.fixture
def recorded(database, pumped_reactor, tmp_path):
    recordings = tmp_path / "monitor"
    recordings.mkdir()
    agent_call(database, pumped_reactor, recordings)
    appeal_from_call(database, "c0ffee01")
    path = recordings / "call-c0ffee01.wav"
    os.utime(path, (DAY.timestamp(), DAY.timestamp()))
    return recordings, path


def test_rounds_index_and_the_purge_runs_once_a_day_from_its_hour(database, pumped_reactor,
                                                                   recorded):
    recordings, path = recorded
    clock = clock_at(DAY + dt.timedelta(seconds=5))  # written 5 s ago: not complete yet
    job = job_for(database, clock, recordings)
    job.startService()
    pumped_reactor.pump(lambda: job.rounds == 1)
    assert job.leader and indexed(database) == []
    assert job.purged_on == dt.date(2026, 11, 27)  # 10:00, past 03:00: today's purge ran
    advance(clock, pumped_reactor, job, 20)
    assert indexed(database) == [("call-c0ffee01.wav", None)]
    # 31 days on, at 02:00 in Shanghai: past its 30 days, but before the purge's hour.
    clock.advance(dt.timedelta(days=30, hours=16).total_seconds() - 25)
    advance(clock, pumped_reactor, job, 20)
    assert path.exists() and job.purged_on == dt.date(2026, 11, 27)
    advance(clock, pumped_reactor, job, 3600)  # 03:00: the day's purge
    (name, purged_at), = indexed(database)
    assert not path.exists() and purged_at is not None
    assert job.purged_on == dt.date(2026, 12, 28)
    pumped_reactor.wait(job.stopService())


def test_the_disk_is_measured_for_metrics_and_a_full_one_warned_of(database, pumped_reactor,
                                                                   recorded):
    recordings, path = recorded
    clock = clock_at(DAY + dt.timedelta(minutes=1))
    job = job_for(database, clock, recordings, disk_warn_percent=95)
    job.startService()
    pumped_reactor.pump(lambda: job.rounds == 1)
    advance(clock, pumped_reactor, job, 20)  # the first round measured before it indexed
    metrics = Metrics()
    metrics.add_collector(job.metrics)
    text = metrics.render().decode()
    assert f'hotline_recordings_bytes{{kind="call"}} {float(path.stat().st_size)}' in text
    assert 'hotline_recordings_files{kind="call"} 1.0' in text
    assert "hotline_recordings_disk_free_bytes" in text
    job.usage = DiskUsage(job.usage.by_kind, total_bytes=1000, free_bytes=40)
    [line] = job.warnings()
    assert "96% full" in line and "keep_" in line
    job.usage = DiskUsage(job.usage.by_kind, total_bytes=1000, free_bytes=500)
    assert job.warnings() == []
    pumped_reactor.wait(job.stopService())


def test_an_absent_directory_is_warned_of_not_fatal(database, pumped_reactor, tmp_path):
    clock = clock_at(DAY)
    job = job_for(database, clock, tmp_path / "not-mounted")
    job.startService()
    pumped_reactor.pump(lambda: job.rounds == 1)
    lines = job.warnings()
    assert any("not-mounted" in line and "unreadable" in line for line in lines)
    pumped_reactor.wait(job.stopService())


def test_make_service_registers_the_job_on_metrics_and_healthz_unless_disabled(database):
    def core(config):
        return SimpleNamespace(config=config, db=database, zone=SHANGHAI,
                               reactor=task.Clock(), metrics=Metrics(), warnings={})

    enabled = core(Config())
    service = makeService(enabled)
    assert isinstance(service.job, RecordingsJob) and "recordings" in enabled.warnings
    disabled = core(Config(recordings=RecordingsConfig(enabled=False)))
    assert makeService(disabled).job is None and disabled.warnings == {}


@pytest.fixture
def second_database(db_url, pumped_reactor):
    db = Database(make_engine(DatabaseConfig(url=db_url)), pumped_reactor, threads=2)
    db.startService()
    yield db
    db.stopService()


@PG
def test_one_process_indexes_at_a_time_and_another_takes_over(database, second_database,
                                                              pumped_reactor, recorded):
    recordings, _path = recorded
    clock = clock_at(DAY + dt.timedelta(minutes=1))
    first = job_for(database, clock, recordings)
    second = job_for(second_database, clock, recordings)
    first.startService()
    pumped_reactor.pump(lambda: first.rounds == 1)
    second.startService()
    pumped_reactor.pump(lambda: second.rounds == 1)
    assert (first.leader, second.leader) == (True, False)
    assert second.usage is not None  # every process measures the disk
    pumped_reactor.wait(first.stopService())
    advance(clock, pumped_reactor, second, 20)
    assert second.leader
    count = database.read_now(lambda s: s.scalar(select(func.count()).select_from(Recording)))
    assert count == 1
    pumped_reactor.wait(second.stopService())
