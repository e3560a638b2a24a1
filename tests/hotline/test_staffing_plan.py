"""The staffing view (hotline.staffing_plan): a seasonal forecast that recovers a planted
weekly pattern, the officers its calls need, and last week's officers on the phones from the
members' state history (written by agents.live) beside what its calls needed."""

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from agents.live import Observed, record_events
from hotline.staffing import officers_needed
from hotline.staffing_plan import (
    build_plan,
    seasonal_mean,
    slot_label,
    staffed_average,
)
from schemas.live import QueueCall, QueueMemberState

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 17, 2, 0, tzinfo=dt.timezone.utc)  # Wednesday 10:00 in Shanghai
THIS_WEEK = dt.date(2026, 6, 15)  # its Monday
LAST_WEEK = dt.date(2026, 6, 8)


def local(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=SHANGHAI).astimezone(
        dt.timezone.utc)


def pattern(weekday: int, index: int) -> int:
    """Calls per half-hour: Monday mornings busiest, nothing at night, a lunch dip."""
    if not 16 <= index < 42:  # 08:00 to 21:00
        return 0
    base = 12 if weekday == 0 else 8 if weekday < 5 else 3
    return base // 2 if index in (23, 24) else base + (index % 3)


def test_the_seasonal_mean_recovers_a_planted_weekly_pattern_through_noise():
    history: Counter = Counter()
    noise = (3, -3, 1, -1)  # the four weeks' deviations cancel in the mean
    for n, wiggle in enumerate(noise, start=1):
        for weekday in range(7):
            day = THIS_WEEK - dt.timedelta(weeks=n) + dt.timedelta(days=weekday)
            for index in range(48):
                if pattern(weekday, index):
                    history[(day, index)] = pattern(weekday, index) + wiggle
    # This unfinished week is skipped: a spike in it changes nothing.
    history[(THIS_WEEK, 20)] = 500
    forecast = seasonal_mean(history, THIS_WEEK + dt.timedelta(weeks=1), 4, skip=1)
    expected = {(THIS_WEEK + dt.timedelta(weeks=1, days=weekday), index): pattern(weekday, index)
                for weekday in range(7) for index in range(48) if pattern(weekday, index)}
    assert forecast == pytest.approx(expected)
    # With fewer weeks the noise no longer cancels: the method is what it says.
    two = seasonal_mean(history, THIS_WEEK + dt.timedelta(weeks=1), 2, skip=1)
    monday_nine = (THIS_WEEK + dt.timedelta(weeks=1), 18)
    assert two[monday_nine] == pattern(0, 18) + (3 - 3) / 2


def add_call(session, n, joined, outcome="completed", hold=5, talk=180):
    session.add(QueueCall(caller_uniqueid=f"u{n}", queue="hotline", caller=None, call_id=None,
                          joined_at=joined, outcome=outcome, hold_s=hold,
                          talk_s=talk if outcome == "completed" else None))


def member(session, interface, changes):
    """A member's state changes as the live recorder writes them (record_events)."""
    for at, name, paused in changes:
        event = Observed(name, "hotline", interface, paused=paused)
        record_events(session, [event], now=at)


def test_the_plan_forecasts_next_week_and_reviews_the_last_against_its_staffing(database):
    monday_nine = (LAST_WEEK, 18)  # 09:00-09:30

    def plant(session):
        n = 0
        for weeks_back in range(1, 5):  # four complete weeks before this one
            monday = THIS_WEEK - dt.timedelta(weeks=weeks_back)
            for k in range(20):  # 20 calls on Monday 09:00-09:30, 120 s talk each
                n += 1
                add_call(session, n, local(monday, 9, k, 30), talk=120)
        # Not offered: a short abandon; offered: a long abandon and a caller the queue let go.
        add_call(session, "short", local(LAST_WEEK, 9, 25), outcome="abandoned", hold=3)
        add_call(session, "long", local(LAST_WEEK, 9, 26), outcome="abandoned", hold=40)
        add_call(session, "left", local(LAST_WEEK, 9, 27), outcome="left", hold=600)
        add_call(session, "now", local(THIS_WEEK, 9, 5))  # this week: not in the history
        # Last Monday: one officer from 09:15 on, another logged in from 08:00 and paused
        # 09:00-09:30 (a meeting), a third on the phones all morning.
        member(session, "PJSIP/1", [(local(LAST_WEEK, 9, 15), "queuememberadded", False),
                                    (local(LAST_WEEK, 12, 0), "queuememberremoved", False)])
        member(session, "PJSIP/2", [(local(LAST_WEEK, 8, 0), "queuememberadded", False),
                                    (local(LAST_WEEK, 9, 0), "queuememberpause", True),
                                    (local(LAST_WEEK, 9, 30), "queuememberpause", False)])
        member(session, "PJSIP/3", [(local(LAST_WEEK - dt.timedelta(days=3), 8, 0),
                                     "queuememberadded", False)])

    database.write_now(plant)
    plan = database.read_now(lambda s: build_plan(s, queue="hotline", now=NOW, zone=SHANGHAI,
                                                  wrap_up_s=15, weeks=4))
    assert plan.next_week == dt.date(2026, 6, 22) and plan.last_week == LAST_WEEK
    assert plan.talk_s == pytest.approx(120.0) and plan.handle_s == pytest.approx(135.0)
    assert plan.measured_calls == 80
    # Next Monday 09:00: (20 + 20 + 20 + 22) / 4 calls in the half-hour: the short abandon
    # and this week's call are not counted.
    cell = plan.forecast[(dt.date(2026, 6, 22), 18)]
    assert cell.offered == pytest.approx(20.5)
    assert cell.needed == officers_needed(41, 135).officers
    # Last Monday 09:00-09:30: 22 offered; staffed: PJSIP/1 half of it, PJSIP/2 none of it
    # (paused), PJSIP/3 all of it = 1.5 officers.
    review = plan.review[monday_nine]
    assert review.offered == 22 and review.staffed == pytest.approx(1.5)
    assert review.needed == officers_needed(44, 135).officers > 1.5
    assert review.mark == "short"
    # 10:00-10:30: no calls, three officers: over-staffed by at least two.
    quiet = plan.review[(LAST_WEEK, 20)]
    assert (quiet.offered, quiet.needed, quiet.staffed, quiet.mark) == (0, 0, 3.0, "over")
    # PJSIP/3 stayed logged in all week, nights too: every half-hour has someone in it.
    assert plan.rows(plan.review) == list(range(48))
    assert plan.rows(plan.forecast) == [18]  # next week: only Monday 09:00 has calls
    assert slot_label(18) == "09:00-09:30"


def test_a_state_change_is_one_history_row_however_many_processes_record_it(database):
    at = local(LAST_WEEK, 9)
    event = Observed("queuememberadded", "hotline", "PJSIP/7")
    for _ in range(2):  # the same event from two processes
        database.write_now(record_events, [event], now=at)
    database.write_now(record_events, [Observed("queuememberpause", "hotline", "PJSIP/7",
                                                paused=True)], now=at + dt.timedelta(minutes=5))
    rows = database.read_now(lambda s: [(r.state, r.since) for r in s.query(QueueMemberState)
                                        .order_by(QueueMemberState.id)])
    assert [state for state, _ in rows] == ["available", "paused"]
    staffed = database.read_now(lambda s: staffed_average(
        s, "hotline", local(LAST_WEEK, 9), local(LAST_WEEK, 10), SHANGHAI))
    assert staffed == {(LAST_WEEK, 18): pytest.approx(5 / 30)}
