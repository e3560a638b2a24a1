"""Urging (催办) and 督办 of work orders: when the service urges and supervises (in working time
on the calendar), once per order and deadline whoever runs it, a supervisor's 督办 by hand,
the rows, the trail and the supervisors' alert, the counts per unit, the urged hook's
participants in the transaction; and the job on the reactor clock, one process at a time."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from twisted.internet import defer, task

from hotline import audit
from hotline.alerts import open_alerts
from hotline.appeals import AppealValidationError, ResolveHook, WorkOrderRefused
from hotline.appeals.deadlines import first_working_day_after, subtract_working_hours
from hotline.appeals.urging_job import UrgingJob, makeService
from hotline.config import Config, DatabaseConfig, WorkOrdersConfig
from hotline.db import Database, make_engine
from hotline.workdays import WorkCalendar
from schemas.enums import AgentRole
from schemas.models import Agent, Unit, UrgingKind, WorkOrderUrging
from tests.support.appeals import SHANGHAI, add_unit, make_repository, new_appeal, utc

MONDAY = utc(2026, 11, 30, 2, 0)  # Monday 10:00 in Shanghai
SPAN = WorkOrdersConfig().hours


def shanghai(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


DUE = shanghai(2026, 12, 7, 23, 59, 59)  # five working days after Monday 30 November
URGE_AT = shanghai(2026, 12, 7, 8, 30)  # nine working hours before: as that day opens
SUPERVISE_AT = shanghai(2026, 12, 8, 8, 30)  # the next working day's opening


@pytest.fixture
def world(database):
    urged = []
    repo = make_repository(ResolveHook())
    repo.urged_hook.register("test", lambda session, record: urged.append(
        (record, session.get(WorkOrderUrging, record.id) is not None)))

    def setup(session):
        lanshan = add_unit(session)
        unit = session.get(Unit, lanshan)
        unit.duty_contact, unit.duty_phone = "值班室王警官", "13900001111"
        agent = Agent(username="zhang", display_name="张督察", role=AgentRole.SUPERVISOR,
                      active=True, created_at=MONDAY)
        session.add(agent)
        session.flush()
        return lanshan, agent.id

    lanshan, supervisor = database.write_now(setup)
    appeal = database.write_now(repo.create, new_appeal(), actor="li", now=MONDAY)
    database.write_now(repo.dispatch, appeal.id, lanshan, reason="属地管辖",
                       instruction="请核实", actor="li", now=MONDAY)
    return SimpleNamespace(db=database, repo=repo, unit=lanshan, appeal=appeal.id,
                           supervisor=supervisor, urged=urged)


def due(world, at):
    return [(d.kind, d.deadline_at) for d in world.db.read_now(world.repo.due_urgings, now=at)]


def urge_due(world, at):
    made = []
    for item in world.db.read_now(world.repo.due_urgings, now=at):
        made.append(world.db.write_now(world.repo.urge_automatically, item.work_order_id,
                                       item.kind, now=at))
    return made


def rows(world):
    return world.db.read_now(lambda s: [(u.kind, u.automatic, u.agent_id, u.deadline_at)
                                        for u in s.scalars(select(WorkOrderUrging)
                                                           .order_by(WorkOrderUrging.id))])


# Working time backwards ---------------------------------------------------------------------

@pytest.mark.parametrize("end, hours, expected", [
    (shanghai(2026, 12, 4, 23, 59, 59), 9, shanghai(2026, 12, 4, 8, 30)),  # a Friday's end
    (shanghai(2026, 12, 4, 23, 59, 59), 1, shanghai(2026, 12, 4, 16, 30)),
    (shanghai(2026, 12, 4, 23, 59, 59), 10, shanghai(2026, 12, 3, 16, 30)),  # the day before
    (shanghai(2026, 12, 7, 9, 30), 2, shanghai(2026, 12, 4, 16, 30)),  # over the weekend
    (shanghai(2026, 12, 7, 7, 0), 1, shanghai(2026, 12, 4, 16, 30)),  # before opening
])
def test_working_hours_before_a_moment_count_only_working_hours(end, hours, expected):
    assert subtract_working_hours(WorkCalendar(), SHANGHAI, end, hours, SPAN) == expected


def test_a_friday_deadline_is_supervised_on_monday_morning():
    assert first_working_day_after(WorkCalendar(), SHANGHAI, shanghai(2026, 12, 4, 23, 59, 59),
                                   SPAN) == shanghai(2026, 12, 7, 8, 30)


# The service's 催办 ---------------------------------------------------------------------------

def test_an_order_is_urged_once_the_urging_time_before_its_deadline(world):
    assert due(world, URGE_AT - dt.timedelta(seconds=1)) == []
    assert due(world, URGE_AT) == [(UrgingKind.URGE, DUE)]
    [record] = urge_due(world, URGE_AT)
    assert (record.kind, record.automatic, record.agent_id) == (UrgingKind.URGE, True, None)
    assert (record.unit_code, record.duty_phone, record.deadline_at) == \
        ("PS-LS", "13900001111", DUE)
    assert record.at == URGE_AT and "即将到期" in (record.note or "")
    # The hook ran in the transaction that wrote the row.
    assert [(r.id, seen) for r, seen in world.urged] == [(record.id, True)]
    line = world.db.read_now(audit.trail, "appeal", world.appeal)[-1]
    assert (line.action, line.actor) == ("urge", "system:urging")
    assert "PS-LS 兰山派出所" in (line.note or "")
    # Later rounds find nothing more to urge, and a second attempt writes nothing.
    assert due(world, URGE_AT + dt.timedelta(hours=3)) == []
    [order_id] = world.db.read_now(lambda s: [u.work_order_id
                                              for u in s.scalars(select(WorkOrderUrging))])
    assert world.db.write_now(world.repo.urge_automatically, order_id, UrgingKind.URGE,
                              now=URGE_AT) is None
    assert len(rows(world)) == 1 and len(world.urged) == 1


def test_the_unit_sees_the_urging_on_its_pages_while_the_order_is_with_it(world):
    urge_due(world, URGE_AT)
    [notice] = world.db.read_now(world.repo.unit_notices, world.unit)
    assert notice.kind is UrgingKind.URGE and notice.appeal_id == world.appeal
    world.db.write_now(world.repo.sign, world.appeal, unit_id=world.unit, actor="wang",
                       now=URGE_AT)
    world.db.write_now(world.repo.reply, world.appeal, "已处理", unit_id=world.unit,
                       actor="wang", now=URGE_AT)
    assert world.db.read_now(world.repo.unit_notices, world.unit) == []
    assert len(world.db.read_now(world.repo.urgings_of, world.appeal)) == 1


def test_a_replied_order_is_neither_urged_nor_supervised(world):
    world.db.write_now(world.repo.sign, world.appeal, unit_id=world.unit, actor="wang",
                       now=MONDAY)
    world.db.write_now(world.repo.reply, world.appeal, "已处理", unit_id=world.unit,
                       actor="wang", now=MONDAY)
    assert due(world, URGE_AT) == [] and due(world, SUPERVISE_AT) == []


def test_an_extended_deadline_is_urged_again(world):
    urge_due(world, URGE_AT)
    repo, db = world.repo, world.db
    db.write_now(repo.sign, world.appeal, unit_id=world.unit, actor="wang", now=MONDAY)
    extension = db.write_now(repo.request_extension, world.appeal, 1, "需调取监控",
                             unit_id=world.unit, actor="wang", now=URGE_AT)
    db.write_now(repo.decide_extension, extension.id, True, actor="zhang", now=URGE_AT)
    new_due = shanghai(2026, 12, 8, 23, 59, 59)
    assert due(world, URGE_AT) == []
    assert due(world, shanghai(2026, 12, 8, 8, 30)) == [(UrgingKind.URGE, new_due)]
    urge_due(world, shanghai(2026, 12, 8, 8, 30))
    assert [r[3] for r in rows(world)] == [DUE, new_due]


# The service's 督办 ---------------------------------------------------------------------------

def test_an_overdue_order_is_supervised_as_the_next_working_day_opens(world):
    urge_due(world, URGE_AT)
    assert due(world, DUE + dt.timedelta(seconds=2)) == []  # overdue, but still that night
    assert due(world, SUPERVISE_AT - dt.timedelta(seconds=1)) == []
    assert due(world, SUPERVISE_AT) == [(UrgingKind.SUPERVISE, DUE)]
    [record] = urge_due(world, SUPERVISE_AT)
    assert record.kind is UrgingKind.SUPERVISE and record.automatic
    [alert] = world.db.read_now(open_alerts)
    assert (alert.kind, alert.source, alert.appeal_id) == ("supervise", "system:urging",
                                                           world.appeal)
    assert "已超期未办结" in (alert.note or "")
    assert due(world, SUPERVISE_AT + dt.timedelta(days=3)) == []  # once per deadline
    assert [r[0] for r in rows(world)] == [UrgingKind.URGE, UrgingKind.SUPERVISE]


def test_two_processes_urging_at_once_write_one_urging(world, db_url):
    other = Database(make_engine(DatabaseConfig(url=db_url)), reactor=None, threads=1)
    [item] = world.db.read_now(world.repo.due_urgings, now=URGE_AT)
    barrier, results = threading.Barrier(2), []

    def contender(db):
        barrier.wait()
        results.append(db.write_now(world.repo.urge_automatically, item.work_order_id,
                                    item.kind, now=URGE_AT))

    threads = [threading.Thread(target=contender, args=(db,)) for db in (world.db, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    other.engine.dispose()
    assert sorted(r is None for r in results) == [False, True]
    assert len(rows(world)) == 1


def test_the_database_refuses_a_second_automatic_urging_of_one_deadline(world):
    urge_due(world, URGE_AT)

    def again(session):
        first = session.scalars(select(WorkOrderUrging)).one()
        session.add(WorkOrderUrging(appeal_id=first.appeal_id, work_order_id=first.work_order_id,
                                    unit_id=first.unit_id, kind=first.kind, automatic=True,
                                    at=URGE_AT, deadline_at=first.deadline_at))
        session.flush()

    with pytest.raises(IntegrityError):
        world.db.write_now(again)
    assert len(rows(world)) == 1


# A supervisor's 督办 ---------------------------------------------------------------------------

def test_a_supervisor_supervises_an_open_order_by_hand_with_a_note(world):
    record = world.db.write_now(world.repo.supervise, world.appeal, "请今日内答复群众",
                                agent_id=world.supervisor, actor="zhang", now=URGE_AT)
    assert (record.kind, record.automatic, record.agent_id, record.agent_name) == \
        (UrgingKind.SUPERVISE, False, world.supervisor, "张督察")
    assert record.note == "请今日内答复群众"
    line = world.db.read_now(audit.trail, "appeal", world.appeal)[-1]
    assert (line.action, line.actor) == ("supervise", "zhang")
    assert "督办：请今日内答复群众" in (line.note or "")
    assert [r for r, _ in world.urged] == [record]
    # By hand it does not stand for the service's: that one still comes.
    assert due(world, SUPERVISE_AT) == [(UrgingKind.SUPERVISE, DUE)]


def test_a_supervision_without_a_note_or_an_open_order_is_refused_and_changes_nothing(world):
    with pytest.raises(AppealValidationError):
        world.db.write_now(world.repo.supervise, world.appeal, "  ",
                           agent_id=world.supervisor, actor="zhang", now=URGE_AT)
    world.db.write_now(world.repo.return_order, world.appeal, "不属本所辖区",
                       unit_id=world.unit, actor="wang", now=MONDAY)
    before = world.db.read_now(lambda s: s.scalar(select(func.count()).select_from(
        WorkOrderUrging)))
    with pytest.raises(WorkOrderRefused) as refused:
        world.db.write_now(world.repo.supervise, world.appeal, "请办理",
                           agent_id=world.supervisor, actor="zhang", now=URGE_AT)
    assert refused.value.reason == "no_open_order"
    assert before == 0 and rows(world) == []


def test_urgings_are_counted_per_unit_in_a_period(world):
    urge_due(world, URGE_AT)
    world.db.write_now(world.repo.supervise, world.appeal, "请今日内答复",
                       agent_id=world.supervisor, actor="zhang", now=URGE_AT)
    urge_due(world, SUPERVISE_AT)
    [count] = world.db.read_now(world.repo.urging_counts, start=MONDAY,
                                end=MONDAY + dt.timedelta(days=30))
    assert (count.unit_code, count.urged, count.supervised, count.automatic) == \
        ("PS-LS", 1, 2, 2)
    assert world.db.read_now(world.repo.urging_counts, start=SUPERVISE_AT + dt.timedelta(1),
                             end=SUPERVISE_AT + dt.timedelta(2)) == []


# The job ---------------------------------------------------------------------------------------

def clock_at(moment: dt.datetime) -> task.Clock:
    clock = task.Clock()
    clock.advance(moment.timestamp())
    return clock


def test_the_job_urges_and_supervises_on_the_reactor_clock(world, pumped_reactor):
    clock = clock_at(URGE_AT - dt.timedelta(minutes=1))
    job = UrgingJob(world.db, world.repo, clock=clock, lease_s=180)
    job.startService()
    pumped_reactor.pump(lambda: job.rounds == 1)
    assert job.leader and rows(world) == []
    clock.advance(job.round_s)  # a round later: past the urging time
    pumped_reactor.pump(lambda: job.rounds == 2)
    assert [(r[0], r[1]) for r in rows(world)] == [(UrgingKind.URGE, True)]
    clock.advance(job.round_s)
    pumped_reactor.pump(lambda: job.rounds == 3)
    assert len(rows(world)) == 1 and job.urged == 1
    clock.advance(SUPERVISE_AT.timestamp() - clock.seconds())
    pumped_reactor.pump(lambda: job.rounds == 4)
    assert [r[0] for r in rows(world)] == [UrgingKind.URGE, UrgingKind.SUPERVISE]
    urging_at = world.db.read_now(lambda s: s.scalars(select(WorkOrderUrging.at)).all())
    assert urging_at == [URGE_AT, SUPERVISE_AT]  # stamped with the reactor's time
    pumped_reactor.wait(job.stopService())


def test_make_service_builds_the_job_on_the_cores_reactor_and_lease(world):
    class FakeCore:
        config, db, reactor = Config(), world.db, task.Clock()
        appeals = SimpleNamespace(repository=world.repo)

    job = makeService(FakeCore())  # type: ignore[arg-type]
    assert isinstance(job, UrgingJob) and job.round_s == 60 and job.name == "urging"


def test_of_two_jobs_on_postgresql_one_urges(world, db_url, pumped_reactor):
    if not db_url.startswith("postgresql"):
        pytest.skip("the lease is PostgreSQL's")
    second_db = Database(make_engine(DatabaseConfig(url=db_url)), pumped_reactor, threads=2)
    second_db.startService()
    clock = clock_at(URGE_AT)
    first = UrgingJob(world.db, world.repo, clock=clock, lease_s=180)
    second = UrgingJob(second_db, world.repo, clock=clock, lease_s=180)
    first.startService()
    pumped_reactor.pump(lambda: first.rounds == 1)
    second.startService()
    pumped_reactor.pump(lambda: second.rounds == 1)
    assert first.leader and second.leader is False
    assert first.urged == 1 and second.urged == 0 and len(rows(world)) == 1
    pumped_reactor.wait(defer.Deferred.fromCoroutine(second.run_round()))
    assert second.urged == 0
    pumped_reactor.wait(first.stopService())
    pumped_reactor.wait(second.stopService())
    second_db.stopService()
