"""The call-centre report (话务报表) on queue passages built by hand, on both databases: the
figures by day and by agent counted by hand, and the same definitions as the wallboard's."""

from __future__ import annotations

import datetime as dt

from hotline.assessment.callcentre import QueueFigures, callcentre_report
from hotline.assessment.periods import period
from schemas.calls import CallRecord
from schemas.enums import AgentRole, CallOutcome
from schemas.live import QueueCall
from schemas.models import Agent
from tests.support.appeals import SHANGHAI

PERIOD = period(dt.date(2026, 11, 1), dt.date(2026, 11, 3), SHANGHAI)


def sh(day, hour, minute=0, second=0, month=11):
    return dt.datetime(2026, month, day, hour, minute, second,
                       tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


# (joined, outcome, hold_s, talk_s, interface)
CALLS = [
    (sh(1, 9), "completed", 10, 100, "PJSIP/1001"),  # within 15 s
    (sh(1, 9, 5), "completed", 15, 50, "PJSIP/1001"),  # 15 s exactly: within
    (sh(1, 9, 10), "answered", 16, None, "PJSIP/1002"),  # still talking; 16 s: not within
    (sh(1, 9, 20), "abandoned", 5, None, None),  # short abandon
    (sh(1, 9, 30), "abandoned", 6, None, None),  # abandoned
    (sh(1, 9, 40), "abandoned", None, None, None),  # no recorded wait: abandoned
    (sh(1, 9, 50), "left", None, None, None),  # the queue let it go
    (sh(1, 23, 59, 50), "completed", 30, 30, "PJSIP/1002"),  # answered after midnight: the 1st
    (sh(1, 10), "waiting", None, None, None),  # a lost end: never offered
    (sh(2, 0, 0, 10), "completed", 3, 20, "PJSIP/1001"),
    (sh(2, 11), "completed", 0, 40, "PJSIP/1003"),  # an interface no agent has
    (sh(31, 23, 59, month=10), "completed", 1, 10, "PJSIP/1001"),  # October's
    (sh(4, 0), "completed", 1, 10, "PJSIP/1001"),  # the 4th: after the period
]


def build_calls(session) -> None:
    now = sh(1, 8)
    for name, username, interface, active in (("李警官", "li", "PJSIP/1001", True),
                                              ("王警官", "wang", "PJSIP/1002", False),
                                              ("张警官", "zhang", "PJSIP/1002", True)):
        session.add(Agent(username=username, display_name=name, role=AgentRole.AGENT,
                          interface=interface, active=active, created_at=now))
    for n, (joined, outcome, hold, talk, interface) in enumerate(CALLS):
        session.add(QueueCall(caller_uniqueid=f"1700000000.{n}", queue="hotline",
                              caller="13812345678", joined_at=joined, outcome=outcome,
                              hold_s=hold, talk_s=talk, interface=interface,
                              answered_at=joined if interface else None))
    for n, (started, flow) in enumerate(((sh(1, 9), "hotline"), (sh(1, 9, 5), "hotline"),
                                         (sh(1, 12), "hotline"), (sh(2, 10), "hotline"),
                                         (sh(1, 13), "survey"), (sh(4, 9), "hotline"))):
        session.add(CallRecord(call_id=f"call-{n}", flow=flow, started_at=started, path="",
                               outcome=CallOutcome.TO_QUEUE))


def test_the_report_by_day_matches_the_hand_count(database):
    database.write_now(build_calls)
    report = database.read_now(callcentre_report, PERIOD, SHANGHAI)
    assert [d.day.isoformat() for d in report.days] == ["2026-11-01", "2026-11-02",
                                                        "2026-11-03"]
    first, second, third = (d.figures for d in report.days)
    assert first == QueueFigures(calls_in=3, answered=4, answered_within=2, abandoned=2,
                                 short_abandoned=1, left=1, hold_total_s=71, hold_calls=4)
    assert first.offered == 7 and first.connection_rate == 0.5714
    assert first.within_of_offered == 0.2857 and first.within_of_answered == 0.5
    assert first.within_met is False and first.connection_rate_met is False
    assert first.hold_avg_s == 17.8
    assert second == QueueFigures(calls_in=1, answered=2, answered_within=2, hold_total_s=3,
                                  hold_calls=2)
    assert second.connection_rate == 1.0 and second.within_met and second.connection_rate_met
    assert third == QueueFigures() and third.connection_rate is None and third.within_met is None
    assert report.total == QueueFigures(calls_in=4, answered=6, answered_within=4, abandoned=2,
                                        short_abandoned=1, left=1, hold_total_s=74,
                                        hold_calls=6)
    assert report.total.offered == 9


def test_the_report_by_agent_names_the_active_holder_of_each_interface(database):
    database.write_now(build_calls)
    agents = database.read_now(callcentre_report, PERIOD, SHANGHAI).agents
    assert [(a.name, a.interface, a.answered, a.answered_within, a.talk_total_s, a.talk_calls,
             a.hold_total_s, a.hold_calls) for a in agents] == [
        ("李警官", "PJSIP/1001", 3, 3, 170, 3, 28, 3),
        ("张警官", "PJSIP/1002", 2, 0, 30, 1, 46, 2),
        ("PJSIP/1003", "PJSIP/1003", 1, 1, 40, 1, 0, 1),
    ]
    assert agents[0].talk_avg_s == 56.7 and agents[1].talk_avg_s == 30.0
    assert agents[1].hold_avg_s == 23.0 and agents[1].within_of_answered == 0.0


def test_a_day_counts_as_the_wallboard_counts_it(database):
    from agents import wallboard

    database.write_now(build_calls)
    ours = database.read_now(callcentre_report, PERIOD, SHANGHAI).days[0].figures
    board = database.read_now(wallboard.day_figures, dt.date(2026, 11, 1), SHANGHAI)
    assert (ours.calls_in, ours.offered, ours.answered, ours.answered_within, ours.abandoned,
            ours.short_abandoned, ours.left) == \
        (board.calls_in, board.offered, board.answered, board.answered_within, board.abandoned,
         board.short_abandoned, board.left)
    assert ours.within_met == board.within_met
    assert ours.connection_rate_met == board.connection_rate_met
