"""The staffing view (/supervisor/staffing) through HTTP on both databases: next week's
forecast and last week's review from planted queue passages and member states, the what-if
sum, and parameters out of bounds refused in Chinese."""

import datetime as dt
import re

import pytest

from agents.live import Observed, record_events
from hotline.staffing import officers_needed
from schemas.enums import AgentRole
from schemas.live import QueueCall
from tests.agents.support import Browser, create_agent, make_app
from tests.support.appeals import SHANGHAI

# The page tests' clock: Saturday 2026-11-28, 10:00 in Shanghai; this week from Monday the 23rd.
LAST_MONDAY = dt.date(2026, 11, 16)


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI).astimezone(
        dt.timezone.utc)


@pytest.fixture
def zhao(core, database, pumped_reactor):
    create_agent(database, "zhao", AgentRole.SUPERVISOR)
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("zhao").status == 303
    return browser


def plant(session):
    for weeks_back in range(4):  # Mondays 16, 9, 2 November and 26 October
        monday = LAST_MONDAY - dt.timedelta(weeks=weeks_back)
        for k in range(20):
            session.add(QueueCall(caller_uniqueid=f"{monday}-{k}", queue="hotline",
                                  joined_at=local(monday, 9, k), outcome="completed",
                                  hold_s=4, talk_s=120, answered_at=local(monday, 9, k)))
    for at, name, paused in ((local(LAST_MONDAY, 9, 0), "queuememberadded", False),
                             (local(LAST_MONDAY, 11, 0), "queuememberremoved", False)):
        record_events(session, [Observed(name, "hotline", "PJSIP/1001", paused=paused)], now=at)


def cell(body, slot):
    match = re.search(rf'<td data-slot="{slot}"( class="[^"]*")?>(.*?)</td>', body)
    assert match, slot
    return (match.group(1) or "").strip(), re.sub(r"<[^>]+>", "", match.group(2)).strip()


def test_the_view_forecasts_next_week_and_reviews_last_week(zhao, database):
    database.write_now(plant)
    page = zhao.get("/supervisor/staffing")
    assert page.status == 200
    handle = 120 + 15  # [agi] queue_wrapup_s = 15 by default
    assert "平均通话 120 秒 + 话后处理 15 秒 = 每通处理 135 秒（80 通已完成来电）" in page.body
    needed = officers_needed(40, handle).officers
    assert cell(page.body, "2026-11-30-18") == ("", f"20.0 通 / {needed} 人")
    # Last Monday 09:00-09:30: 20 calls, one officer: short; 10:00: nobody called, one
    # officer: within the margin, no mark.
    assert cell(page.body, "2026-11-16-18") == ('class="mark-short"', f"20 / {needed} / 1 不足")
    assert cell(page.body, "2026-11-16-20") == ("", "0 / 0 / 1")
    assert "不足 1 个时段" in page.body and "富余 0 个时段" in page.body


def test_the_what_if_sum_and_a_view_with_no_calls(zhao):
    page = zhao.get("/supervisor/staffing?offered=200&handle=180")
    assert page.status == 200
    assert "每小时 200 通、每通 180 秒：需要在线坐席 16 人，服务水平 96.5%" in page.body
    assert "没有已完成的排队来电" in page.body


@pytest.mark.parametrize(("query", "words"), [
    ("weeks=13", "参考周数"), ("target=100", "服务水平目标（%）"), ("handle=0", "平均处理时长（秒）"),
    ("weeks=4&weeks=5", "参考周数"),
])
def test_parameters_out_of_bounds_are_refused_in_chinese(zhao, query, words):
    page = zhao.get(f"/supervisor/staffing?{query}")
    assert page.status == 400
    assert words in re.search(r'id="staffing-error"[^>]*>(.*?)</p>', page.body).group(1)
