"""A month of the hall's past work for `hotline demo`, written through the service's own steps.

A demo that opens on empty reports shows nothing a supervisor would recognise: the
assessment, the callback compliance report, the wallboard's history and the unit officers'
lists need weeks of work behind them. This module writes that work the way it happens, step
by step through the appeal core and the work-order steps (dispatch, sign for, return and
re-dispatch, extension request and decision, reply, review, acceptance) and the callback
queue's resolve participant and survey answers, each step at its own moment in the past, so
that every row, deadline, trail line and audit event is one the service itself would have
written. Steps whose moment is still to come are left undone: the last days' appeals sit at
the units, waiting to be signed for, handled or reviewed, which is what the demo's logins
then see.

The hall's phone queue gets its history too: the passages through the agents' queue
(`queue_calls`) and the IVR call records behind them, answered within seconds mostly, some
abandoned, as the wallboard and the call-centre report count them.

Nothing here sends an SMS or places a call: the past is written with a resolve hook that
holds only the callback participant (the task the resolution owes), not the SMS gateway's.
Deterministic for a given seed and `now`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

DAYS = 30
SEED = 9600110
# What the hall is asked, by kind: (weight, subjects).
SUBJECTS: dict[str, tuple[int, tuple[str, ...]]] = {
    "consultation": (30, ("户口迁移需要哪些材料", "新生儿落户流程", "居住证办理条件",
                          "驾驶证期满换证", "出入境证件加急办理")),
    "help": (20, ("老人走失，请求协助寻找", "钥匙锁在屋内", "手机遗失在出租车上",
                  "孩子放学未归")),
    "complaint": (15, ("窗口办事等候时间过长", "民警态度生硬", "违停罚单有异议")),
    "report": (10, ("小区附近疑似赌博窝点", "夜间飙车扰民", "网络诈骗线索")),
    "approval_progress": (15, ("身份证补办进度", "护照办理进度", "临时身份证领取时间")),
    "dispute": (10, ("邻里停车纠纷", "装修噪音纠纷", "物业费用纠纷")),
}
CHANNELS = (("phone", 70), ("web", 15), ("visit", 8), ("letter", 4), ("sms", 3))
# The units a dispatch goes to, by kind of appeal (codes of config/units.example.toml).
UNITS_BY_KIND = {
    "consultation": ("HZ", "CRJ", "JJ-1"),
    "help": ("PS-LS", "PS-HD", "PS-LZ"),
    "complaint": ("PS-LS", "PS-HD", "JJ-1"),
    "report": ("PS-LS", "PS-HD", "PS-LZ"),
    "approval_progress": ("HZ", "CRJ"),
    "dispute": ("PS-LS", "PS-HD", "PS-LZ"),
}
RATING_DIGITS = (("1", 72), ("2", 18), ("3", 10))  # 满意, 基本满意, 不满意
QUEUE_CALLS_PER_DAY = (40, 70)


@dataclasses.dataclass
class HistorySummary:
    appeals: int = 0
    resolved: int = 0
    at_units: int = 0
    rated: int = 0
    queue_calls: int = 0

    def __str__(self) -> str:
        return (f"{self.appeals} appeals over {DAYS} days ({self.resolved} resolved, "
                f"{self.at_units} still with a unit, {self.rated} rated by callback), "
                f"{self.queue_calls} calls through the agents' queue")


def _weighted(rng: random.Random, pairs) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


class _Timeline:
    """One appeal's moments: each step a while after the last; None once past `now`."""

    def __init__(self, start: dt.datetime, now: dt.datetime) -> None:
        self.at, self.now = start, now

    def after(self, minutes: float) -> dt.datetime | None:
        self.at = self.at + dt.timedelta(minutes=minutes)
        return self.at if self.at < self.now else None


def seed_history(db, config, *, now: dt.datetime, officers: dict[str, str], hall_actor: str,
                 supervisor: str, days: int = DAYS, seed: int = SEED) -> HistorySummary:
    """Writes `days` days of work ending at `now` (aware UTC) in `db` (a hotline Database
    used synchronously), through repositories built from `config` like the service's.
    `officers` maps a unit code to the unit officer's username who acts for it."""
    from twisted.logger import Logger

    from callback_queue import RESOLVE_PARTICIPANT
    from callback_queue.config import opening_from_ivr
    from callback_queue.policy import CallbackPolicy
    from callback_queue.repository import CallbackRepository
    from hotline.appeals import AppealRepository, ResolveHook
    from hotline.workdays import WorkCalendar
    from schemas.models import Unit

    zone = ZoneInfo(config.service.timezone)
    calendar = WorkCalendar(config.calendar.extra_holidays, config.calendar.extra_workdays)
    hook = ResolveHook()
    appeals = AppealRepository(zone=zone, calendar=calendar,
                               deadline_working_days=config.appeals.deadline_working_days,
                               resolve_hook=hook, work_orders=config.workorders)
    policy = CallbackPolicy(config.callbacks, calendar, zone,
                            opening=opening_from_ivr(config.ivr))
    callbacks = CallbackRepository(policy, appeals)
    # The past's 不满意 reopenings are not news to log at the demo's start.
    callbacks.log = Logger(observer=lambda event: None)
    hook.register(RESOLVE_PARTICIPANT, callbacks.on_resolved)

    units = db.read_now(lambda s: {u.code: u.id for u in s.scalars(select(Unit))})
    rng = random.Random(seed)
    summary = HistorySummary()
    writer = _AppealWriter(appeals, callbacks, units, officers, hall_actor, supervisor, rng, now)
    first = (now.astimezone(zone) - dt.timedelta(days=days)).date()
    for offset in range(days + 1):
        day = first + dt.timedelta(days=offset)
        workday = calendar.is_workday(day)
        for _ in range(rng.randint(6, 10) if workday else rng.randint(1, 3)):
            received = dt.datetime.combine(day, dt.time(8, 30), tzinfo=zone) + dt.timedelta(
                minutes=rng.randrange(9 * 60))
            received = received.astimezone(dt.timezone.utc)
            if received >= now:
                continue
            outcome = db.write_now(writer.walk, received)
            summary.appeals += 1
            summary.resolved += outcome == "resolved"
            summary.at_units += outcome == "at_unit"
            summary.rated += outcome == "resolved" and writer.last_rated
        summary.queue_calls += db.write_now(_queue_day, day, zone, now, rng)
    return summary


class _AppealWriter:
    """Walks one appeal through the flow in one transaction, each step at its moment."""

    def __init__(self, appeals, callbacks, units: dict[str, int], officers: dict[str, str],
                 hall_actor: str, supervisor: str, rng: random.Random,
                 now: dt.datetime) -> None:
        self.appeals, self.callbacks, self.units = appeals, callbacks, units
        self.officers, self.hall, self.supervisor = officers, hall_actor, supervisor
        self.rng, self.now = rng, now
        self.last_rated = False

    def walk(self, session: Session, received: dt.datetime) -> str:
        from hotline.appeals.records import NewAppeal
        from schemas.enums import AppealChannel, AppealKind

        rng, repo, hall = self.rng, self.appeals, self.hall
        self.last_rated = False
        kind = _weighted(rng, [(k, w) for k, (w, _) in SUBJECTS.items()])
        subject = rng.choice(SUBJECTS[kind][1])
        phone = f"13{rng.randrange(10**9):09d}"
        new = NewAppeal(channel=AppealChannel(_weighted(rng, CHANNELS)), kind=AppealKind(kind),
                        subject=subject, citizen_phone=phone, body=f"来电人反映：{subject}。")
        if kind == "consultation" and rng.random() < 0.5:
            repo.create(session, new, actor=hall, now=received,
                        answer="已当场答复来电人所需材料和办理地点")
            return "answered"
        appeal = repo.create(session, new, actor=hall, now=received)
        time = _Timeline(received, self.now)
        code = rng.choice(UNITS_BY_KIND[kind])
        step = self._steps(session, appeal.id, time)
        if not step("dispatch", 20, lambda at: repo.dispatch(
                session, appeal.id, self.units[code], reason="属地管辖",
                instruction="请核实情况并答复来电人", actor=hall, now=at)):
            return "at_hall"
        if rng.random() < 0.08 and kind != "consultation":
            # Outside the unit's remit: returned within the day, dispatched elsewhere.
            if not step("return", rng.uniform(60, 300), lambda at: repo.return_order(
                    session, appeal.id, "不属于本单位管辖范围", unit_id=self.units[code],
                    actor=self.officers[code], now=at)):
                return "at_unit"
            code = rng.choice([c for c in UNITS_BY_KIND[kind] if c != code] or [code])
            if not step("dispatch", 30, lambda at: repo.dispatch(
                    session, appeal.id, self.units[code], reason="原单位退单，改由属地单位办理",
                    instruction="请核实情况并答复来电人", actor=hall, now=at)):
                return "at_hall"
        officer = self.officers[code]
        unit_id = self.units[code]
        # Mostly signed for within the working hours allowed; one in eight the next day.
        sign_after = rng.uniform(15, 90) if rng.random() < 0.875 else rng.uniform(900, 1500)
        if not step("sign", sign_after, lambda at: repo.sign(
                session, appeal.id, unit_id=unit_id, actor=officer, now=at)):
            return "at_unit"
        if rng.random() < 0.1:
            days = rng.randint(2, 5)
            extension = step("extension", rng.uniform(600, 2000), lambda at: repo.request_extension(
                session, appeal.id, days, "涉及多部门协调，需要延长办理时间", unit_id=unit_id,
                actor=officer, now=at))
            if not extension:
                return "at_unit"
            approve = rng.random() < 0.7
            if not step("decision", rng.uniform(60, 600), lambda at: repo.decide_extension(
                    session, extension.id, approve, None if approve else "理由不充分，请按期办结",
                    actor=self.supervisor, now=at)):
                return "at_unit"
        # Replies within the five working days mostly; one in sixteen well after them.
        handling = rng.uniform(240, 4 * 1440) if rng.random() < 0.94 else \
            rng.uniform(8 * 1440, 11 * 1440)
        if not step("reply", handling, lambda at: repo.reply(
                session, appeal.id, "已与来电人联系并现场核实，问题已处理", unit_id=unit_id,
                actor=officer, now=at)):
            return "at_unit"
        if rng.random() < 0.08:
            if not step("send_back", rng.uniform(30, 240), lambda at: repo.send_back(
                    session, appeal.id, "答复内容不完整，请补充处理结果", actor=hall, now=at)):
                return "at_unit"
            if not step("reply", rng.uniform(120, 1440), lambda at: repo.reply(
                    session, appeal.id, "已补充说明处理经过和结果，来电人表示认可",
                    unit_id=unit_id, actor=officer, now=at)):
                return "at_unit"
        if not step("accept", rng.uniform(30, 300), lambda at: repo.accept_reply(
                session, appeal.id, actor=hall, now=at)):
            return "at_unit"
        self._rate(session, appeal.id)
        return "resolved"

    def _steps(self, session: Session, appeal_id: int,
               time: _Timeline) -> Callable[[str, float, Callable[[dt.datetime], Any]], Any]:
        def step(name: str, minutes: float, do: Callable[[dt.datetime], Any]) -> Any:
            at = time.after(minutes)
            if at is None:
                return None
            return do(at) or True
        return step

    def _rate(self, session: Session, appeal_id: int) -> None:
        """The survey callback the resolution owes, answered an hour into its window when
        that hour is past; later ones stay for the demo's dispatcher to place."""
        from schemas.callbacks import CallbackMode, CallbackState, CallbackTask

        task = session.scalar(select(CallbackTask).where(
            CallbackTask.appeal_id == appeal_id, CallbackTask.state == CallbackState.PENDING))
        if task is None or task.mode is not CallbackMode.AUTOMATED:
            return  # the agents' callbacks wait on the demo's worklist
        at = task.window_start + dt.timedelta(minutes=self.rng.uniform(5, 120))
        if at >= self.now:
            return
        self.callbacks.record_survey(session, task.id, _weighted(self.rng, RATING_DIGITS), at)
        self.last_rated = True


def _queue_day(session: Session, day: dt.date, zone: ZoneInfo, now: dt.datetime,
               rng: random.Random) -> int:
    """The day's passages through the agents' queue and their IVR call records."""
    from schemas.calls import CallRecord
    from schemas.enums import CallOutcome
    from schemas.live import QueueCall

    written = 0
    calls = rng.randint(*QUEUE_CALLS_PER_DAY)
    if day.weekday() >= 5:  # weekends are quieter
        calls //= 3
    for n in range(calls):
        started = dt.datetime.combine(day, dt.time(8), tzinfo=zone) + dt.timedelta(
            seconds=rng.randrange(13 * 3600))
        started = started.astimezone(dt.timezone.utc)
        joined = started + dt.timedelta(seconds=rng.uniform(15, 40))  # through the menu
        ended = joined + dt.timedelta(minutes=10)
        if ended >= now:
            continue
        call_id = f"hist-{day:%Y%m%d}-{n:03d}"
        uniqueid = f"{int(started.timestamp())}.{n}"
        caller = f"13{rng.randrange(10**9):09d}"
        passage = QueueCall(caller_uniqueid=uniqueid, queue="hotline", caller=caller,
                            call_id=call_id, joined_at=joined)
        if rng.random() < 0.93:
            hold = int(rng.expovariate(1 / 7)) if rng.random() < 0.9 else rng.randint(15, 90)
            talk = rng.randint(60, 420)
            passage.outcome, passage.hold_s, passage.talk_s = "completed", hold, talk
            passage.answered_at = joined + dt.timedelta(seconds=hold)
            passage.interface = rng.choice(("PJSIP/1001", "PJSIP/1002"))
            passage.ended_at = passage.answered_at + dt.timedelta(seconds=talk)
        else:
            hold = rng.randint(2, 60)
            passage.outcome, passage.hold_s = "abandoned", hold
            passage.ended_at = joined + dt.timedelta(seconds=hold)
        session.add(passage)
        session.add(CallRecord(call_id=call_id, asterisk_uniqueid=uniqueid,
                               channel_name=f"PJSIP/trunk-{n:08x}", flow="hotline",
                               caller=caller, dnid="9600110", started_at=started,
                               ended_at=passage.ended_at, path="greeting>menu>queue",
                               menu_choice="0", outcome=CallOutcome.TO_QUEUE,
                               process="demo-history"))
        written += 1
    _member_day(session, day, zone, now, rng)
    return written


# The hall's three phones: who logs in when (the staffing view's history).
SHIFTS = (("PJSIP/1001", (8, 0), (17, 30)), ("PJSIP/1002", (8, 0), (21, 0)),
          ("PJSIP/1003", (12, 30), (21, 0)))


def _member_day(session: Session, day: dt.date, zone: ZoneInfo, now: dt.datetime,
                rng: random.Random) -> None:
    """Each phone's day in the queue: logged in for its shift (a few minutes late or early),
    paused for a meal, logged out; as the live recorder writes member states."""
    from schemas.live import QueueMemberState

    def at(hour: int, minute: int, jitter: int = 10) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone) + dt.timedelta(
            minutes=rng.randint(-jitter, jitter))
        return local.astimezone(dt.timezone.utc)

    for interface, (start_h, start_m), (end_h, end_m) in SHIFTS:
        meal = (11, 45) if start_h < 12 else (17, 30)
        for state, moment in (("available", at(start_h, start_m)),
                              ("paused", at(*meal)), ("available", at(meal[0] + 1, meal[1])),
                              ("logged_out", at(end_h, end_m, jitter=5))):
            if moment < now:
                session.add(QueueMemberState(interface=interface, queue="hotline",
                                             state=state, since=moment))
