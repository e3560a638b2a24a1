"""Quiet hours (pure) and what a reply means: opt-out and opt-in words in any case and
full-width, survey answers as digits (full-width too) or words."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.enums import Satisfaction
from sms_gateway.messages.rules import (
    ReplyKind,
    in_quiet_hours,
    interpret,
    morning_of,
    release_time,
)
from tests.sms_gateway.messages.support import shanghai
from tests.support.appeals import SHANGHAI

NIGHT = (dt.time(21), dt.time(8))


@pytest.mark.parametrize("local, quiet", [
    ((20, 59), False), ((21, 0), True), ((23, 59), True), ((0, 0), True), ((7, 59), True),
    ((8, 0), False), ((12, 0), False)])
def test_quiet_hours_cross_midnight(local, quiet):
    assert in_quiet_hours(dt.time(*local), NIGHT) is quiet


def test_quiet_hours_within_one_day():
    assert in_quiet_hours(dt.time(12, 30), (dt.time(12), dt.time(13)))
    assert not in_quiet_hours(dt.time(13), (dt.time(12), dt.time(13)))
    assert release_time(shanghai(2026, 11, 30, 12, 30), SHANGHAI, (dt.time(12), dt.time(13))) \
        == shanghai(2026, 11, 30, 13, 0)


def test_release_of_an_evening_is_the_next_morning_and_of_a_small_hour_the_same_morning():
    assert release_time(shanghai(2026, 11, 30, 22, 15), SHANGHAI, NIGHT) == shanghai(2026, 12, 1, 8)
    assert release_time(shanghai(2026, 12, 1, 3, 0), SHANGHAI, NIGHT) == shanghai(2026, 12, 1, 8)
    day = shanghai(2026, 12, 1, 10, 0)
    assert release_time(day, SHANGHAI, NIGHT) == day
    assert morning_of(dt.date(2026, 12, 31), SHANGHAI, NIGHT) == shanghai(2026, 12, 31, 8)


@pytest.mark.parametrize("text", ["TD", "td", "Td", "ＴＤ", "ｔｄ", " TD ", "退订", "退订。", "退 订",
                                  "STOP", "stop", "Stop!", "ＳＴＯＰ", "ｓｔｏｐ"])
def test_opt_out_words_in_any_case_and_full_width(text):
    assert interpret(text).kind is ReplyKind.OPT_OUT


@pytest.mark.parametrize("text", ["订阅", " 订阅！", "START", "start", "ＳＴＡＲＴ", "ｓｔａｒｔ"])
def test_opt_in_words_in_any_case_and_full_width(text):
    assert interpret(text).kind is ReplyKind.OPT_IN


@pytest.mark.parametrize("text, rating", [
    ("1", Satisfaction.SATISFIED), ("１", Satisfaction.SATISFIED), (" 1。", Satisfaction.SATISFIED),
    ("满意", Satisfaction.SATISFIED), ("1满意", Satisfaction.SATISFIED),
    ("2", Satisfaction.BASICALLY_SATISFIED), ("２", Satisfaction.BASICALLY_SATISFIED),
    ("基本满意", Satisfaction.BASICALLY_SATISFIED),
    ("3", Satisfaction.DISSATISFIED), ("３", Satisfaction.DISSATISFIED),
    ("不满意", Satisfaction.DISSATISFIED), ("3 不满意", Satisfaction.DISSATISFIED)])
def test_survey_answers_as_digits_full_width_digits_or_words(text, rating):
    meaning = interpret(text)
    assert meaning.kind is ReplyKind.RATING and meaning.satisfaction is rating


@pytest.mark.parametrize("text", ["4", "12", "13不满意", "谢谢", "TDD", "停止", "", "3满意"])
def test_anything_else_is_other(text):
    assert interpret(text).kind is ReplyKind.OTHER
