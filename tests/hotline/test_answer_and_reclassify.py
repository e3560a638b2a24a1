"""当场答复办结 (an appeal answered on the phone and closed in one step) and the correction
of an appeal's kind and subject."""

import pytest
from sqlalchemy import func, select

from hotline import audit
from hotline.appeals import AppealValidationError, InvalidTransition, ResolveHook
from schemas.enums import AppealKind, AppealStatus
from schemas.models import Appeal
from tests.support.appeals import make_repository, new_appeal, utc

NOW = utc(2026, 11, 27, 2, 0)  # a Friday, 10:00 in Shanghai
LATER = utc(2026, 11, 27, 3, 0)


def hooked_repository():
    created, resolved = [], []
    create_hook, resolve_hook = ResolveHook(), ResolveHook()
    create_hook.register("ack", lambda session, appeal: created.append(appeal.id))
    resolve_hook.register("callback", lambda session, appeal: resolved.append(appeal.id))
    repo = make_repository(resolve_hook)
    repo.create_hook = create_hook
    return repo, created, resolved


def test_answered_on_the_phone_is_opened_and_closed_in_one_step_without_follow_ups(database):
    repo, created, resolved = hooked_repository()
    record = database.write_now(repo.create, new_appeal(kind=AppealKind.CONSULTATION),
                                actor="agent:li", now=NOW, answer="  年审可在任一车管所办理  ")
    assert record.status is AppealStatus.CLOSED
    assert record.resolution == "年审可在任一车管所办理"
    assert record.resolved_at == record.closed_at == NOW
    trail = database.read_now(audit.trail, "appeal", record.id)
    assert [(e.action, e.from_state, e.to_state) for e in trail] == [
        ("create", None, "received"), ("answer", "received", "closed")]
    # No "received" SMS and no satisfaction callback: the answer was given in the call.
    assert created == [] and resolved == []


def test_an_empty_answer_opens_nothing(database):
    repo, created, _ = hooked_repository()
    with pytest.raises(AppealValidationError) as raised:
        database.write_now(repo.create, new_appeal(), actor="a", now=NOW, answer="   ")
    assert raised.value.field == "resolution"
    assert database.read_now(lambda s: s.scalar(select(func.count()).select_from(Appeal))) == 0


def test_only_a_received_appeal_can_be_answered(database):
    repo, _, _ = hooked_repository()
    record = database.write_now(repo.create, new_appeal(), actor="a", now=NOW,
                                answer="已答复")
    with pytest.raises(InvalidTransition):
        database.write_now(repo.answer, record.id, "再答复一次", actor="a", now=LATER)


def test_reclassify_moves_the_deadline_with_the_kind_and_records_what_changed(database):
    repo = make_repository()
    record = database.write_now(repo.create, new_appeal(kind=AppealKind.CONSULTATION,
                                                        subject="语音留言（待坐席回听分类）"),
                                actor="system:ivr", now=NOW)
    corrected = database.write_now(repo.reclassify, record.id, kind=AppealKind.COMPLAINT,
                                   subject="投诉窗口态度差", actor="agent:li", now=LATER)
    assert corrected.kind is AppealKind.COMPLAINT
    assert corrected.subject == "投诉窗口态度差"
    assert corrected.deadline_at == repo.deadline_for(AppealKind.COMPLAINT, NOW)
    assert corrected.deadline_at != record.deadline_at
    last = database.read_now(audit.trail, "appeal", record.id)[-1]
    assert (last.action, last.actor) == ("correct", "agent:li")
    assert last.note == ("kind: consultation -> complaint; "
                         "subject: 语音留言（待坐席回听分类） -> 投诉窗口态度差")
    # The same values again change nothing and add no line.
    database.write_now(repo.reclassify, record.id, kind=AppealKind.COMPLAINT,
                       subject="投诉窗口态度差", actor="agent:li", now=LATER)
    assert len(database.read_now(audit.trail, "appeal", record.id)) == 2


def test_a_closed_appeal_is_not_corrected(database):
    repo = make_repository()
    record = database.write_now(repo.create, new_appeal(), actor="a", now=NOW, answer="已答复")
    with pytest.raises(InvalidTransition):
        database.write_now(repo.reclassify, record.id, kind=AppealKind.COMPLAINT,
                           subject="改", actor="a", now=LATER)
