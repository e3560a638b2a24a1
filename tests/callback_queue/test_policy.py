"""The callback policy: windows counted in calling hours across closing time, a weekend and
the National Day holiday; retries and the fallback. The wall clock is frozen (freezegun) and
read through the same `SystemClock` the service uses."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from callback_queue.config import CallbacksConfig, opening_from_ivr
from callback_queue.policy import CallbackPolicy, GiveUp, Retry
from hotline.clock import SystemClock
from hotline.config import ConfigError, IvrConfig
from hotline.workdays import WorkCalendar
from schemas.callbacks import AttemptResult, CallbackMode, CallbackOrigin, CallbackOutcome
from schemas.enums import AppealKind
from tests.support.appeals import SHANGHAI


def shanghai(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


def policy(**config) -> CallbackPolicy:
    return CallbackPolicy(CallbacksConfig(**config), WorkCalendar(), SHANGHAI,
                          opening=opening_from_ivr(IvrConfig()))


def plan_now(p: CallbackPolicy, kind=AppealKind.HELP):
    return p.plan_resolution(kind, SystemClock().now())


@freeze_time("2026-11-26 10:30:00")  # Thursday 18:30 in Shanghai
def test_window_opening_before_closing_time_counts_the_rest_of_the_evening_then_skips_the_weekend():
    plan = plan_now(policy())
    assert plan.window_start == shanghai(2026, 11, 26, 20, 30)
    # 0.5 h on Thursday, 13 h on Friday, none on Saturday or Sunday, 10.5 h on Monday.
    assert plan.due_by == shanghai(2026, 11, 30, 18, 30)
    assert plan.mode is CallbackMode.AUTOMATED and plan.max_attempts == 3


@freeze_time("2026-11-26 11:30:00")  # Thursday 19:30: two hours later it is past 21:00
def test_window_that_would_open_after_closing_time_opens_the_next_morning():
    plan = plan_now(policy())
    assert plan.window_start == shanghai(2026, 11, 27, 8, 0)
    assert plan.due_by == shanghai(2026, 11, 30, 19, 0)  # Fri 13 h + Mon 11 h


@freeze_time("2026-11-27 12:00:00")  # Friday 20:00
def test_resolution_on_friday_evening_is_called_on_monday():
    plan = plan_now(policy())
    assert plan.window_start == shanghai(2026, 11, 30, 8, 0)
    assert plan.due_by == shanghai(2026, 12, 1, 19, 0)


@freeze_time("2026-09-30 11:00:00")  # Wednesday 19:00 before the National Day holiday
def test_no_calls_during_the_national_day_holiday():
    plan = plan_now(policy())
    assert plan.window_start == shanghai(2026, 10, 8, 8, 0)
    assert plan.due_by == shanghai(2026, 10, 9, 19, 0)


@freeze_time("2026-09-30 11:00:00")
def test_holiday_calling_when_configured():
    plan = plan_now(policy(call_on_holidays=True))
    assert plan.window_start == shanghai(2026, 10, 1, 8, 0)
    assert plan.due_by == shanghai(2026, 10, 2, 19, 0)


@freeze_time("2026-10-09 02:00:00")  # Saturday 10 October is a make-up working day (调休)
def test_make_up_working_day_is_a_calling_day():
    p = policy()
    saturday = shanghai(2026, 10, 10, 9, 0)
    assert p.calling.is_open(saturday)
    assert plan_now(p).window_start == shanghai(2026, 10, 9, 12, 0)


def test_complaints_and_reports_go_to_agents_by_default_and_per_kind_overrides_merge():
    p = policy()
    assert p.mode_for(AppealKind.COMPLAINT) is CallbackMode.AGENT
    assert p.mode_for(AppealKind.REPORT) is CallbackMode.AGENT
    assert p.mode_for(AppealKind.CONSULTATION) is CallbackMode.AUTOMATED
    p = policy(mode={"help": "agent"})
    assert p.mode_for(AppealKind.HELP) is CallbackMode.AGENT
    assert p.mode_for(AppealKind.COMPLAINT) is CallbackMode.AGENT


@freeze_time("2026-11-30 02:00:00")  # Monday 10:00
def test_busy_retries_sooner_than_no_answer():
    p = policy()
    now = SystemClock().now()
    busy = p.after_failure(CallbackOrigin.RESOLUTION, AppealKind.HELP, 1, 3,
                           AttemptResult.BUSY, now)
    no_answer = p.after_failure(CallbackOrigin.RESOLUTION, AppealKind.HELP, 1, 3,
                                AttemptResult.NO_ANSWER, now)
    assert busy == Retry(now + dt.timedelta(minutes=15))
    assert no_answer == Retry(now + dt.timedelta(minutes=60))


@freeze_time("2026-11-30 12:30:00")  # Monday 20:30
def test_retry_that_falls_after_closing_time_waits_for_the_next_calling_day():
    p = policy()
    decision = p.after_failure(CallbackOrigin.RESOLUTION, AppealKind.HELP, 2, 3,
                               AttemptResult.NO_ANSWER, SystemClock().now())
    assert decision == Retry(shanghai(2026, 12, 1, 8, 0))


def test_after_the_last_attempt_the_fallback_is_the_sms_survey_or_unreachable_per_kind():
    p = policy(fallback={"consultation": "unreachable"})
    now = shanghai(2026, 11, 30, 10, 0)
    assert p.after_failure(CallbackOrigin.RESOLUTION, AppealKind.HELP, 3, 3,
                           AttemptResult.NO_ANSWER, now) == GiveUp(CallbackOutcome.SMS_SURVEY)
    assert p.after_failure(CallbackOrigin.RESOLUTION, AppealKind.CONSULTATION, 3, 3,
                           AttemptResult.BUSY, now) == GiveUp(CallbackOutcome.UNREACHABLE)
    assert p.after_failure(CallbackOrigin.IVR_CALLBACK_REQUEST, None, 3, 3,
                           AttemptResult.NO_ANSWER, now) == GiveUp(CallbackOutcome.UNREACHABLE)


@freeze_time("2026-11-30 13:50:00")  # Monday 21:50, after the agents' opening hours
def test_queue_callback_requested_after_hours_is_due_minutes_after_opening():
    plan = policy().plan_ivr(SystemClock().now())
    assert plan.mode is CallbackMode.AGENT
    assert plan.window_start == shanghai(2026, 12, 1, 8, 0)
    assert plan.due_by == shanghai(2026, 12, 1, 8, 30)


@freeze_time("2026-11-30 02:00:00")
def test_queue_callback_requested_while_open_is_due_within_minutes():
    now = SystemClock().now()
    plan = policy().plan_ivr(now)
    assert plan.window_start == now
    assert plan.due_by == now + dt.timedelta(minutes=30)


def test_whole_day_calling_hours():
    p = policy(calling_hours="00:00-24:00", call_on_holidays=True)
    start = shanghai(2026, 11, 28, 23, 30)
    assert p.calling.is_open(start)
    assert p.calling.add(start, dt.timedelta(hours=1)) == shanghai(2026, 11, 29, 0, 30)


@pytest.mark.parametrize("config, message", [
    ({"calling_hours": "21:00-08:00"}, "callbacks.calling_hours must end after it starts"),
    ({"calling_hours": "8-21"}, "callbacks.calling_hours must be HH:MM-HH:MM"),
    ({"mode": {"parking": "agent"}}, "callbacks.mode has unknown kind(s) parking"),
    ({"mode": {"help": "robot"}}, "callbacks.mode.help must be one of automated, agent"),
    ({"fallback": {"help": "email"}}, "callbacks.fallback.help must be one of sms, unreachable"),
    ({"dial_string": "PJSIP/trunk"}, "callbacks.dial_string must contain {number}"),
    ({"trunks": ()}, "callbacks.trunks must name at least one trunk"),
    ({"trunks": ("a", "a")}, "callbacks.trunks must be distinct non-empty names"),
    ({"lease_s": 60, "originate_response_s": 90},
     "callbacks.lease_s (60) must be longer than callbacks.originate_response_s (90)"),
])
def test_bad_configuration_is_refused_with_the_key_named(config, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("{", r"\{").replace("}", r"\}")):
        CallbacksConfig(**config)
