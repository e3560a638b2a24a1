"""回电: an officer calling back a citizen who left a voice message or asked the IVR for a
callback. Unlike a satisfaction callback (回访), which asks for a rating of a resolved
appeal, a 回电 is a conversation about a matter: its outcome is what the citizen said and
where that now lives, so that nothing said on it is confirmed and then dropped.

Where it goes, by the officer's choice (`ReturnCallDisposition`):
- 登记诉求: the matter becomes an appeal. A voice message's own appeal (opened by the IVR as
  "待坐席回听分类", still received) is classified in place; otherwise a new appeal is opened.
- 补充到已有诉求: a note on one of the citizen's open appeals; a voice message's own
  unclassified appeal is then closed as merged into it.
- 当场答复: answered on the phone: the appeal (the message's own, or a new one) is closed
  with the answer, as the desk's 当场答复办结.
- 无需处理: nothing to follow; the notes say why, and the message's own appeal is closed.

A rating the citizen gives on the way (about an appeal already handled: the task's, or the
one the notes join) lands where a 回访's does: a resolved appeal is rated (不满意 reopens it),
and a 不满意 of an appeal not resolved yet is a note on it and a supervisors' `dissatisfied`
alert, so that it reaches the appeal, the dissatisfied list and the alerts all the same.

`plan` checks the officer's input against the database before anything is written;
`carry_out` writes it, in the transaction that ends the task.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from callback_queue.errors import NotAllowed
from hotline import alerts
from hotline.appeals import AppealRecord, AppealRepository, NewAppeal
from schemas.callbacks import CallbackTask, ReturnCallDisposition
from schemas.enums import AppealChannel, AppealKind, AppealStatus, Satisfaction
from schemas.models import Agent, Appeal

D = ReturnCallDisposition
NOTES_MAX = 2000  # as an appeal's note
REASON_MAX = 2000


@dataclass(frozen=True)
class ReturnCallOutcome:
    """What the officer's 回电 form says."""

    reached: bool
    notes: str = ""  # 通话内容: what the citizen said (required when reached)
    disposition: ReturnCallDisposition | None = None
    kind: AppealKind | None = None  # 登记诉求 / 当场答复: the appeal's kind
    subject: str = ""  # and its subject
    appeal_id: int | None = None  # the citizen's open appeal the call was about (补充到 joins it)
    rating: Satisfaction | None = None  # the citizen's word on an appeal already handled
    reason: str | None = None  # required with 不满意


@dataclass(frozen=True)
class Plan:
    notes: str
    disposition: ReturnCallDisposition
    kind: AppealKind | None
    subject: str
    placeholder: int | None  # the voice message's own appeal, still to be classified
    target: int | None  # 补充到已有诉求: the appeal the notes join
    rated: int | None  # the appeal a rating is about: the related one, else the task's
    rating: Satisfaction | None
    reason: str | None


def plan(session: Session, task: CallbackTask, outcome: ReturnCallOutcome) -> Plan | None:
    """The checked outcome, or None for a citizen not reached (a failed attempt). Refuses,
    with a `NotAllowed` naming its key, anything that cannot be carried out as asked."""
    reason = (outcome.reason or "").strip() or None
    notes = (outcome.notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise NotAllowed(f"the notes are longer than {NOTES_MAX} characters", "notes_too_long")
    if not outcome.reached:
        if outcome.rating is not None:
            raise NotAllowed("a citizen who was not reached cannot have given a rating",
                             "rating_unreached")
        return None
    if not notes:
        raise NotAllowed("a 回电 that reached the citizen records what was said", "notes_required")
    if reason is not None and len(reason) > REASON_MAX:
        raise NotAllowed(f"the reason is longer than {REASON_MAX} characters", "reason_too_long")
    if outcome.disposition is None:
        raise NotAllowed("say what became of the matter", "disposition_required")
    subject = (outcome.subject or "").strip()
    if outcome.disposition in (D.APPEAL, D.ANSWERED):
        if outcome.kind is None:
            raise NotAllowed("an appeal needs its kind", "kind_required")
        if not subject:
            raise NotAllowed("an appeal needs its subject", "subject_required")
    placeholder = _placeholder(session, task)
    related = outcome.appeal_id  # the appeal the call was about, of the citizen's open ones
    if related is not None:
        appeal = session.get(Appeal, related)
        if (appeal is None or appeal.citizen_phone != task.citizen_phone
                or appeal.status is AppealStatus.CLOSED or appeal.id == placeholder):
            raise NotAllowed(f"appeal {related} is not an open appeal of this citizen",
                             "appeal_not_open")
    elif outcome.disposition is D.JOINED:
        raise NotAllowed("say which appeal the notes join", "appeal_required")
    target = related if outcome.disposition is D.JOINED else None
    rated = related if related is not None else (
        task.appeal_id if task.appeal_id != placeholder else None)
    if outcome.rating is not None:
        if rated is None:
            raise NotAllowed("a rating is of an appeal already handled; there is none here",
                             "nothing_to_rate")
        if outcome.rating is Satisfaction.DISSATISFIED and not reason:
            raise NotAllowed("a 不满意 rating needs the citizen's reason", "reason_required")
    return Plan(notes, outcome.disposition, outcome.kind, subject, placeholder, target,
                rated, outcome.rating, reason)


def carry_out(session: Session, appeals: AppealRepository, task: CallbackTask, plan: Plan,
              agent: Agent, now: dt.datetime) -> None:
    """Writes the matter where the plan says, records it on the task, and lands a rating."""
    actor = agent.username
    line = f"回电（回电任务 {task.id}）：{plan.notes}"
    result: int | None = None
    if plan.disposition is D.APPEAL:
        if plan.placeholder is not None:
            _classify(session, appeals, plan.placeholder, plan, actor, now)
            appeals.add_note(session, plan.placeholder, line, actor=actor, now=now,
                             call_id=task.call_id)
            result = plan.placeholder
        else:
            result = appeals.create(session, _new_appeal(task, plan, agent), actor=actor,
                                    now=now).id
    elif plan.disposition is D.JOINED:
        assert plan.target is not None  # plan() saw to it
        joined = appeals.add_note(session, plan.target, line, actor=actor, now=now,
                                  call_id=task.call_id)
        if plan.placeholder is not None:
            appeals.answer(session, plan.placeholder,
                           f"已并入诉求 {joined.case_number}：{plan.notes}", actor=actor, now=now)
        result = plan.target
    elif plan.disposition is D.ANSWERED:
        if plan.placeholder is not None:
            _classify(session, appeals, plan.placeholder, plan, actor, now)
            appeals.answer(session, plan.placeholder, plan.notes, actor=actor, now=now)
            result = plan.placeholder
        else:
            result = appeals.create(session, _new_appeal(task, plan, agent), actor=actor,
                                    now=now, answer=plan.notes).id
    elif plan.placeholder is not None:  # 无需处理
        appeals.answer(session, plan.placeholder, f"回电无需处理：{plan.notes}", actor=actor,
                       now=now)
        result = plan.placeholder
    task.call_notes = plan.notes
    task.disposition = plan.disposition
    task.result_appeal_id = result
    if plan.rating is not None and plan.rated is not None:
        land_rating(session, appeals, task, plan.rated, plan.rating, plan.reason, actor, now)


def land_rating(session: Session, appeals: AppealRepository, task: CallbackTask,
                appeal_id: int, rating: Satisfaction, reason: str | None, actor: str,
                now: dt.datetime) -> AppealRecord | None:
    """A rating given on a 回电, where a 回访's goes: the note names the task as a callback's
    does (`callback N: reason`), which is how the dissatisfied list tells an agent's
    callback from the other channels."""
    note = f"callback {task.id}" + (f": {reason}" if reason else "")
    appeal = session.get(Appeal, appeal_id)
    assert appeal is not None  # plan() saw to it
    if appeal.status is AppealStatus.RESOLVED:
        return appeals.rate(session, appeal_id, rating, actor=actor, now=now, note=note)
    if appeal.status is not AppealStatus.CLOSED:
        said = "群众不满意" if rating is Satisfaction.DISSATISFIED else f"群众评价（{rating.value}）"
        appeals.add_note(session, appeal_id, f"回电（回电任务 {task.id}）：{said}"
                         + (f"：{reason}" if reason else ""), actor=actor, now=now)
    if rating is Satisfaction.DISSATISFIED:
        alerts.raise_alert(session, kind=alerts.DISSATISFIED, source=actor, at=now,
                           appeal_id=appeal_id, note=note)
    return None


def _placeholder(session: Session, task: CallbackTask) -> int | None:
    """The voice message's own appeal while it is still as the IVR opened it."""
    if task.appeal_id is None:
        return None
    appeal = session.get(Appeal, task.appeal_id)
    if (appeal is not None and appeal.channel is AppealChannel.VOICE_MESSAGE
            and appeal.status is AppealStatus.RECEIVED):
        return appeal.id
    return None


def _classify(session: Session, appeals: AppealRepository, appeal_id: int, plan: Plan,
              actor: str, now: dt.datetime) -> None:
    assert plan.kind is not None  # plan() saw to it
    appeals.reclassify(session, appeal_id, kind=plan.kind, subject=plan.subject, actor=actor,
                       now=now)


def _new_appeal(task: CallbackTask, plan: Plan, agent: Agent) -> NewAppeal:
    """The matter of a 回电 as a new appeal: taken by phone (a voice-message channel would
    owe the citizen another callback), with the notes as its body."""
    assert plan.kind is not None  # plan() saw to it
    return NewAppeal(channel=AppealChannel.PHONE, kind=plan.kind, subject=plan.subject,
                     citizen_phone=task.citizen_phone, body=plan.notes, agent_id=agent.id,
                     call_id=task.call_id)
