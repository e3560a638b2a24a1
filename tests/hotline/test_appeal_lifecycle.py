import datetime as dt
import itertools

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from hotline import audit
from hotline.appeals import AppealNotFound, AppealValidationError, InvalidTransition
from hotline.appeals.lifecycle import TRANSITIONS, Action
from schemas.enums import AppealStatus, Satisfaction
from schemas.models import Appeal, AuditEvent
from tests.support.appeals import add_unit, make_repository, new_appeal, utc

NOW = utc(2026, 11, 27, 2, 0)  # a Friday, 10:00 in Shanghai
REPO = make_repository()


def drive_to(db, status: AppealStatus) -> int:
    """Create an appeal and move it along the main path until it is `status`."""
    def work(session):
        unit_id = add_unit(session)
        appeal = REPO.create(session, new_appeal(), actor="agent:li", now=NOW)
        path = [AppealStatus.ASSIGNED, AppealStatus.IN_PROGRESS, AppealStatus.RESOLVED,
                AppealStatus.CLOSED]
        steps = {AppealStatus.ASSIGNED: lambda: REPO.assign(session, appeal.id, unit_id, actor="a", now=NOW),
                 AppealStatus.IN_PROGRESS: lambda: REPO.start(session, appeal.id, actor="a", now=NOW),
                 AppealStatus.RESOLVED: lambda: REPO.resolve(session, appeal.id, "已调解", actor="a", now=NOW),
                 AppealStatus.CLOSED: lambda: REPO.close(session, appeal.id, actor="a", now=NOW)}
        for step in path[:path.index(status) + 1] if status in path else []:
            steps[step]()
        return appeal.id
    return db.write_now(work)


def apply(db, action: Action, appeal_id: int):
    def work(session):
        unit_id = session.scalar(text("SELECT id FROM units LIMIT 1"))
        return {
            Action.ASSIGN: lambda: REPO.assign(session, appeal_id, unit_id, actor="agent:li", now=NOW),
            Action.START: lambda: REPO.start(session, appeal_id, actor="agent:li", now=NOW),
            Action.RESOLVE: lambda: REPO.resolve(session, appeal_id, "已处理", actor="agent:li", now=NOW),
            Action.CLOSE: lambda: REPO.close(session, appeal_id, actor="agent:li", now=NOW),
            Action.REOPEN: lambda: REPO.reopen(session, appeal_id, "群众不满意", actor="agent:li", now=NOW),
            Action.RETURN: lambda: REPO.return_to_hall(session, appeal_id, "不属于本单位",
                                                       actor="agent:li", now=NOW),
            Action.ANSWER: lambda: REPO.answer(session, appeal_id, "已电话答复",
                                               actor="agent:li", now=NOW),
            # Into a new appeal of the same caller, open.
            Action.MERGE: lambda: REPO.merge(
                session, appeal_id, REPO.create(session, new_appeal(), actor="a", now=NOW).id,
                "同一事项重复来电", actor="agent:li", now=NOW),
        }[action]()
    return db.write_now(work)


def snapshot(db, appeal_id):
    def work(session):
        appeal = session.get(Appeal, appeal_id)
        events = session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.entity_id == str(appeal_id)))
        return appeal.status, appeal.updated_at, appeal.resolution, events
    return db.read_now(work)


ALL_PAIRS = list(itertools.product(Action, AppealStatus))


@pytest.mark.parametrize("action, status", [(a, s) for a, s in ALL_PAIRS
                                            if s in TRANSITIONS[a].sources])
def test_allowed_transition_moves_and_is_audited(database, action, status):
    appeal_id = drive_to(database, status)
    before = snapshot(database, appeal_id)
    record = apply(database, action, appeal_id)
    assert record.status == TRANSITIONS[action].target
    trail = database.read_now(audit.trail, "appeal", appeal_id)
    assert trail[-1].action == action.value
    assert (trail[-1].from_state, trail[-1].to_state) == (status.value, record.status.value)
    assert trail[-1].actor == "agent:li"
    assert snapshot(database, appeal_id)[3] == before[3] + 1


@pytest.mark.parametrize("action, status", [(a, s) for a, s in ALL_PAIRS
                                            if s not in TRANSITIONS[a].sources])
def test_forbidden_transition_raises_and_changes_nothing(database, action, status):
    appeal_id = drive_to(database, status)
    before = snapshot(database, appeal_id)
    with pytest.raises(InvalidTransition) as raised:
        apply(database, action, appeal_id)
    assert f"cannot {action.value} an appeal that is {status.value}" in str(raised.value)
    assert snapshot(database, appeal_id) == before


def test_create_gives_received_appeal_with_deadline_and_audit(database):
    record = database.write_now(REPO.create, new_appeal(citizen_phone="+86 138-1234-5678"),
                                actor="agent:li", now=NOW)
    assert record.status is AppealStatus.RECEIVED
    assert record.citizen_phone == "13812345678"
    assert record.case_number == "2026112700001"
    assert record.created_at == NOW
    trail = database.read_now(audit.trail, "appeal", record.id)
    assert [(e.action, e.to_state) for e in trail] == [("create", "received")]


@pytest.mark.parametrize("overrides, field", [
    ({"subject": "  "}, "subject"),
    ({"subject": "长" * 201}, "subject"),
    ({"citizen_phone": "12345"}, "citizen_phone"),
    ({"citizen_id_number": "371302199003071234"}, "citizen_id_number"),
    ({"approval_item_code": "NOPE"}, "approval_item_code"),
    ({"unit_id": 999}, "unit_id"),
    ({"citizen_name": "名" * 65}, "citizen_name"),
    ({"area": "街" * 65}, "area"),
    ({"call_id": "c" * 65}, "call_id"),
    ({"recording_path": "/r" * 257}, "recording_path"),
])
def test_invalid_new_appeal_is_refused_naming_the_field(database, overrides, field):
    with pytest.raises(AppealValidationError) as raised:
        database.write_now(REPO.create, new_appeal(**overrides), actor="a", now=NOW)
    assert raised.value.field == field
    count = database.read_now(lambda s: s.scalar(select(func.count()).select_from(Appeal)))
    assert count == 0


def test_resolve_without_resolution_is_refused(database):
    appeal_id = drive_to(database, AppealStatus.IN_PROGRESS)
    with pytest.raises(AppealValidationError, match="resolution"):
        database.write_now(REPO.resolve, appeal_id, " ", actor="a", now=NOW)


def test_reopen_counts_and_keeps_the_unit(database):
    appeal_id = drive_to(database, AppealStatus.CLOSED)
    record = apply(database, Action.REOPEN, appeal_id)
    assert record.status is AppealStatus.IN_PROGRESS
    assert record.reopen_count == 1
    assert record.unit_id is not None
    assert record.closed_at is None


@pytest.mark.parametrize("rating, status", [
    (Satisfaction.SATISFIED, AppealStatus.CLOSED),
    (Satisfaction.BASICALLY_SATISFIED, AppealStatus.CLOSED),
    (Satisfaction.DISSATISFIED, AppealStatus.IN_PROGRESS),
])
def test_rating_closes_or_reopens(database, rating, status):
    appeal_id = drive_to(database, AppealStatus.RESOLVED)
    record = database.write_now(REPO.rate, appeal_id, rating, actor="callback:7",
                                now=NOW, note="办事太慢")
    assert record.status is status
    assert record.satisfaction is rating
    assert rating.value in database.read_now(audit.trail, "appeal", appeal_id)[-1].note


def test_dissatisfied_rating_alerts_supervisors_and_an_acknowledgement_is_audited(database):
    from hotline import alerts

    appeal_id = drive_to(database, AppealStatus.RESOLVED)
    database.write_now(REPO.rate, appeal_id, Satisfaction.DISSATISFIED, actor="sms:reply",
                       now=NOW, note="民警没来")
    alert, = database.read_now(alerts.open_alerts)
    assert (alert.kind, alert.source, alert.appeal_id, alert.note) == (
        "dissatisfied", "sms:reply", appeal_id, "民警没来")
    assert alert.case_number is not None
    assert database.write_now(alerts.acknowledge, alert.id, actor="supervisor:wang", now=NOW)
    assert not database.write_now(alerts.acknowledge, alert.id, actor="supervisor:wang", now=NOW)
    assert database.read_now(alerts.open_alerts) == []
    assert database.read_now(audit.trail, "alert", alert.id)[0].actor == "supervisor:wang"


def test_satisfied_rating_raises_no_alert(database):
    from hotline import alerts

    appeal_id = drive_to(database, AppealStatus.RESOLVED)
    database.write_now(REPO.rate, appeal_id, Satisfaction.SATISFIED, actor="a", now=NOW)
    assert database.read_now(alerts.open_alerts) == []


def test_rating_an_unresolved_appeal_changes_nothing(database):
    appeal_id = drive_to(database, AppealStatus.IN_PROGRESS)
    with pytest.raises(InvalidTransition):
        database.write_now(REPO.rate, appeal_id, Satisfaction.SATISFIED, actor="a", now=NOW)
    assert database.read_now(REPO.get, appeal_id).satisfaction is None


def test_unknown_appeal_is_not_found(database):
    with pytest.raises(AppealNotFound):
        apply(database, Action.START, 12345)
    with pytest.raises(AppealNotFound):
        database.read_now(REPO.by_case_number, "2026010100001")


def test_audit_trail_refuses_update_and_delete(database):
    drive_to(database, AppealStatus.RECEIVED)
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            database.write_now(lambda s, statement=statement: s.execute(text(statement)))


def test_open_appeals_for_phone_are_newest_first_and_exclude_closed(database):
    closed = drive_to(database, AppealStatus.CLOSED)
    later = NOW + dt.timedelta(hours=1)
    newer = database.write_now(REPO.create, new_appeal(), actor="a", now=later)
    database.write_now(REPO.create, new_appeal(citizen_phone="13900001111"), actor="a", now=later)
    found = database.read_now(REPO.open_for_phone, "13812345678")
    assert [a.id for a in found] == [newer.id]
    assert closed not in [a.id for a in found]


def test_service_returns_records_through_deferreds(database, pumped_reactor):
    from freezegun import freeze_time

    from hotline.appeals import AppealService
    from hotline.clock import SystemClock

    service = AppealService(database, REPO, SystemClock())
    with freeze_time("2026-11-27T02:00:00Z"):
        record = pumped_reactor.wait(service.create(new_appeal(), actor="agent:li"))
    assert record.case_number == "2026112700001"
    fetched = pumped_reactor.wait(service.by_case_number(record.case_number))
    assert fetched == record
    with pytest.raises(InvalidTransition):
        pumped_reactor.wait(service.resolve(record.id, "x", actor="a"))
