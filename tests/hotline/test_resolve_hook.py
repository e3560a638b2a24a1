"""Resolving an appeal lets registered participants add rows in the same transaction."""

import pytest
from sqlalchemy import func, select

from hotline import audit
from hotline.appeals import ResolveHook
from schemas.enums import AppealStatus
from schemas.models import AuditEvent
from tests.support.appeals import add_unit, make_repository, new_appeal, utc

NOW = utc(2026, 11, 27, 2, 0)


def in_progress(db, repo) -> int:
    def work(session):
        unit_id = add_unit(session)
        appeal = repo.create(session, new_appeal(), actor="a", now=NOW)
        repo.assign(session, appeal.id, unit_id, actor="a", now=NOW)
        repo.start(session, appeal.id, actor="a", now=NOW)
        return appeal.id
    return db.write_now(work)


def follow_up_participant(session, appeal):
    """Stands in for the callback queue: a row of its own, written with the resolution."""
    audit.record(session, at=appeal.resolved_at, actor="test:participant", action="follow_up",
                 entity_type="appeal", entity_id=appeal.id, note=appeal.resolution)


def test_participant_row_is_committed_with_the_resolution(database):
    hook = ResolveHook()
    hook.register("follow_up", follow_up_participant)
    repo = make_repository(hook)
    appeal_id = in_progress(database, repo)
    database.write_now(repo.resolve, appeal_id, "已出警调解", actor="agent:li", now=NOW)
    trail = database.read_now(audit.trail, "appeal", appeal_id)
    assert [e.action for e in trail][-2:] == ["resolve", "follow_up"]
    assert trail[-1].note == "已出警调解"


def test_participant_that_raises_rolls_the_whole_resolution_back(database):
    def broken(session, appeal):
        follow_up_participant(session, appeal)
        raise RuntimeError("callback queue unavailable")

    hook = ResolveHook()
    hook.register("follow_up", broken)
    repo = make_repository(hook)
    appeal_id = in_progress(database, repo)
    events_before = database.read_now(
        lambda s: s.scalar(select(func.count()).select_from(AuditEvent)))
    with pytest.raises(RuntimeError, match="callback queue unavailable"):
        database.write_now(repo.resolve, appeal_id, "已处理", actor="agent:li", now=NOW)
    appeal = database.read_now(repo.get, appeal_id)
    assert appeal.status is AppealStatus.IN_PROGRESS
    assert appeal.resolution is None and appeal.resolved_at is None
    assert database.read_now(
        lambda s: s.scalar(select(func.count()).select_from(AuditEvent))) == events_before


def test_participants_run_in_registration_order_and_names_are_unique():
    hook = ResolveHook()
    hook.register("callback", lambda s, a: None)
    hook.register("sms", lambda s, a: None)
    assert hook.names == ("callback", "sms")
    with pytest.raises(ValueError, match="already registered"):
        hook.register("sms", lambda s, a: None)


def test_create_hook_participant_runs_in_the_opening_transaction(database):
    seen = []
    create_hook = ResolveHook()
    create_hook.register("ack", lambda session, appeal: seen.append(appeal.case_number))
    repo = make_repository()
    repo.create_hook = create_hook
    record = database.write_now(repo.create, new_appeal(), actor="a", now=NOW)
    assert seen == [record.case_number]

    def broken(session, appeal):
        raise RuntimeError("outbox full")

    create_hook.register("broken", broken)
    with pytest.raises(RuntimeError):
        database.write_now(repo.create, new_appeal(), actor="a", now=NOW)
    assert database.read_now(lambda s: s.scalar(select(func.count()).select_from(AuditEvent))) == 1
