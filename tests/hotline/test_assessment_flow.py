"""The unit assessment reads the rows the flow's own steps write: two appeals walked through
the appeal core (dispatch, sign on time and late, an extension approved, a return, a
re-dispatch, replies accepted, a 不满意 rating, a rework, a 督办 by hand, a 满意 rating), then
the month's figures, counted by hand, on both databases."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from hotline.appeals import ResolveHook
from hotline.assessment.periods import period
from hotline.assessment.units import Figures, unit_figures
from schemas.enums import AgentRole, Satisfaction
from schemas.models import Agent
from tests.support.appeals import SHANGHAI, add_unit, make_repository, new_appeal


def sh(day, hour, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


@pytest.fixture
def world(database):
    repo = make_repository(ResolveHook())

    def setup(session):
        supervisor = Agent(username="zhao", display_name="赵班长", role=AgentRole.SUPERVISOR,
                           active=True, created_at=sh(1, 8))
        session.add(supervisor)
        session.flush()
        return add_unit(session, "PS-A", "甲派出所"), add_unit(session, "PS-B", "乙派出所"), \
            supervisor.id

    a, b, supervisor = database.write_now(setup)
    return SimpleNamespace(db=database, repo=repo, a=a, b=b, supervisor=supervisor)


def step(world, name, *args, at, actor="li", **kwargs):
    return world.db.write_now(getattr(world.repo, name), *args, actor=actor, now=at, **kwargs)


def test_a_month_of_the_flow_is_assessed_as_counted_by_hand(world):
    w = world
    # Appeal 1 at A: signed on time, extended by 2 working days, replied and accepted in
    # time; rated 不满意, reworked, the rework signed late (dispatched Friday 10:00, to be
    # signed by 12:00, signed on Monday), replied, accepted, rated 满意.
    first = step(w, "create", new_appeal(), at=sh(2, 9)).id
    step(w, "dispatch", first, w.a, reason="属地", instruction="请核实", at=sh(2, 10))
    step(w, "sign", first, unit_id=w.a, actor="wang", at=sh(2, 11))
    extension = step(w, "request_extension", first, 2, "需走访", unit_id=w.a, actor="wang",
                     at=sh(3, 9))
    step(w, "decide_extension", extension.id, True, actor="zhao", at=sh(3, 10))
    step(w, "reply", first, "已调解", unit_id=w.a, actor="wang", at=sh(5, 15))
    step(w, "accept_reply", first, at=sh(5, 16))
    step(w, "rate", first, Satisfaction.DISSATISFIED, actor="system:callback-survey",
         note="callback 1", at=sh(6, 9))
    step(w, "rework", first, "回访不满意，属承办单位原因", "请重新上门", actor="zhao", at=sh(6, 10))
    step(w, "sign", first, unit_id=w.a, actor="wang", at=sh(9, 9))
    step(w, "reply", first, "已重新上门解决", unit_id=w.a, actor="wang", at=sh(10, 15))
    step(w, "accept_reply", first, at=sh(10, 16))
    step(w, "rate", first, Satisfaction.SATISFIED, actor="system:callback-survey",
         note="callback 2", at=sh(11, 9))
    # Appeal 2: returned by A unsigned, after its sign-for limit, in time; dispatched to B,
    # signed at once, still with B past its deadline (the 10th): a 督办 by hand on the 16th.
    second = step(w, "create", new_appeal(citizen_phone="13900001111"), at=sh(2, 9)).id
    step(w, "dispatch", second, w.a, reason="属地", instruction="请核实", at=sh(2, 10))
    step(w, "return_order", second, "非本辖区", unit_id=w.a, actor="wang", at=sh(3, 9))
    step(w, "dispatch", second, w.b, reason="属地", instruction="请核实", at=sh(3, 10))
    step(w, "sign", second, unit_id=w.b, actor="sun", at=sh(3, 10, 30))
    step(w, "supervise", second, "请抓紧办理", agent_id=w.supervisor, actor="zhao", at=sh(16, 9))

    november = period(dt.date(2026, 11, 1), dt.date(2026, 11, 30), SHANGHAI)
    figures = w.db.read_now(unit_figures, november.start, november.end, now=sh(30, 12))
    assert figures == {
        w.a: Figures(dispatched=3, received=2, signed_on_time=1, signed_late=1,
                     unsigned_late=1, returned=1, extension_requests=1, extended=1,
                     extended_days=2, resolved=2, resolved_on_time=2, reworked=1,
                     satisfied=1, dissatisfied=1),
        w.b: Figures(dispatched=1, received=1, signed_on_time=1, overdue=1, supervised=1),
    }
    assert figures[w.a].satisfaction_rate == 0.5 and figures[w.a].sign_on_time_rate == 0.3333
