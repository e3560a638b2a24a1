"""The supervisors' periodic reports through HTTP on both databases: the units' assessment
(page, printable page, XLSX) on the hand-counted month of tests/hotline/test_assessment.py,
the call-centre report (page, XLSX) on its hand-built queue passages, and the XLSX of the
overdue and dissatisfied lists."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from agents.catalogs.assessment import WORDS
from hotline.assessment import export
from hotline.audit import trail
from schemas.enums import AgentRole, AppealChannel, AppealKind, AppealStatus
from schemas.models import Appeal, SupervisorAlert
from tests.agents.support import Browser, create_agent, make_app
from tests.hotline.test_assessment import NOW as MONTH_END
from tests.hotline.test_assessment import build_month
from tests.hotline.test_assessment_callcentre import build_calls
from tests.support.appeals import SHANGHAI, add_unit

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def zhao(core, database, pumped_reactor):
    create_agent(database, "zhao", AgentRole.SUPERVISOR)
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("zhao").status == 303
    return browser


@pytest.fixture
def month_end(clock):
    clock.current = MONTH_END.astimezone(dt.timezone.utc)


def workbook(result):
    from openpyxl import load_workbook

    assert result.status == 200
    assert result.response.content_type == export.XLSX_TYPE
    return load_workbook(io.BytesIO(result.response.body))


def cells(body: str, table: str) -> dict[str, dict[str, str]]:
    """A table's rows by their id: {data-col: text}."""
    found = re.search(rf'<table [^>]*id="{table}">(.*?)</table>', body, re.S)
    assert found is not None, f"no {table} on the page"
    rows = {}
    for row_id, row in re.findall(r'<tr id="([\w-]+)"[^>]*>(.*?)</tr>', found.group(1), re.S):
        rows[row_id] = {name: re.sub(r"<[^>]+>", "", value).strip()
                        for name, value in re.findall(r'<td data-col="([\w-]+)">(.*?)</td>',
                                                      row, re.S)}
    return rows


def unit_ids(database) -> dict[str, int]:
    from sqlalchemy import select

    from schemas.models import Unit

    return {code: unit_id for code, unit_id in database.read_now(
        lambda s: s.execute(select(Unit.code, Unit.id)).all())}


# The units' assessment ----------------------------------------------------------------------

def test_the_assessment_page_ranks_the_units_and_compares_with_last_month(
        month_end, zhao, database):
    database.write_now(build_month)
    ids = unit_ids(database)
    page = zhao.get(f"/supervisor/assessment?{NOVEMBER}&rank=sign_on_time_rate")
    assert page.status == 200
    assert "统计期间：2026-11-01 至 2026-11-30；上期：2026-10-01 至 2026-10-31" in page.body
    assert "排名依据：按时签收率" in page.body
    rows = cells(page.body, "assessment-units")
    assert list(rows) == [f"unit-{ids['PS-B']}", f"unit-{ids['PS-A']}", f"unit-{ids['PS-C']}",
                          "unit-total"]
    b, a, c, total = rows.values()
    assert a == {"rank": "2", "dispatched": "7", "received": "5", "signed_on_time": "4",
                 "signed_late": "1", "unsigned_late": "1", "sign_on_time_rate": "66.7%",
                 "returned": "2", "late_returns": "1", "extension_requests": "2",
                 "extended": "1", "extended_days": "3", "resolved": "3",
                 "resolved_on_time": "2", "on_time_rate": "66.7%", "overdue": "2",
                 "urged": "2", "supervised": "1", "reworked": "1", "callbacks_due": "4",
                 "callbacks_within": "1", "callbacks_not_due": "1", "callback_rate": "33.3%",
                 "satisfied": "2", "basically_satisfied": "1", "dissatisfied": "1",
                 "satisfaction_rate": "75.0%"}
    assert (b["rank"], b["sign_on_time_rate"], b["on_time_rate"]) == ("1", "100.0%", "—")
    assert (c["rank"], c["dispatched"], c["satisfaction_rate"]) == ("—", "0", "—")
    assert (total["rank"], total["dispatched"], total["overdue"], total["supervised"]) == \
        ("", "10", "3", "2")
    compare = cells(page.body, "assessment-compare")[f"compare-{ids['PS-A']}"]
    assert (compare["dispatched-now"], compare["dispatched-before"],
            compare["dispatched-change"]) == ("7", "1", "+6")
    assert (compare["sign_on_time_rate-now"], compare["sign_on_time_rate-before"],
            compare["sign_on_time_rate-change"]) == ("66.7%", "100.0%", "-33.3%")
    assert (compare["on_time_rate-before"], compare["on_time_rate-change"]) == ("—", "—")
    unchanged = cells(page.body, "assessment-compare")[f"compare-{ids['PS-C']}"]
    assert (unchanged["dispatched-now"], unchanged["dispatched-change"]) == ("0", "0")
    query = f"{NOVEMBER.replace('&', '&amp;')}&amp;rank=sign_on_time_rate"
    assert f'href="/supervisor/assessment.xlsx?{query}"' in page.body
    assert f'href="/supervisor/assessment/print?{query}"' in page.body
    assert 'id="nav-assessment"' in page.body and 'id="nav-callcentre"' in page.body


def test_the_assessment_opens_on_this_month_so_far_ranked_by_resolution_on_time(
        month_end, zhao, database):
    database.write_now(build_month)
    page = zhao.get("/supervisor/assessment")
    assert page.status == 200
    assert 'name="from" value="2026-11-01"' in page.body
    assert 'name="to" value="2026-11-30"' in page.body
    assert '<option value="on_time_rate" selected>按期办结率</option>' in page.body


@pytest.mark.parametrize(("query", "words"), [
    ("from=2026-11-01&to=2026-11-30&rank=speed", "排名依据（rank）须为以下之一"),
    ("from=2026-11-30&to=2026-11-01", "截止日期（to）不能早于起始日期（from）"),
    ("from=2025-01-01&to=2026-11-30", "a period covers at most 366 days"),
    ("from=2026-13-01&to=2026-11-30", "起始日期（from）须为 2000-01-01 至 2100-12-31 之间的日期"),
])
def test_a_bad_period_or_ranking_is_refused_with_its_reason(zhao, query, words):
    page = zhao.get(f"/supervisor/assessment?{query}")
    assert page.status == 400 and words in page.body
    assert 'id="assessment-units"' not in page.body
    download = zhao.get(f"/supervisor/assessment.xlsx?{query}")
    assert download.status == 400 and words in download.body


def test_the_printable_page_has_the_tables_without_the_form(month_end, zhao, database):
    database.write_now(build_month)
    page = zhao.get(f"/supervisor/assessment/print?{NOVEMBER}")
    assert page.status == 200
    assert 'id="assessment-form"' not in page.body and 'id="assessment-units"' in page.body
    assert 'class="assessment assessment-print"' in page.body
    assert '<button type="button" data-print id="print-assessment">打印</button>' in page.body
    assert "打印时间：2026-11-30 18:00" in page.body
    assert '<link rel="stylesheet" href="/static/assessment.css">' in page.body
    css = zhao.get("/static/assessment.css")
    assert css.status == 200 and "@media print" in css.body and "landscape" in css.body


def test_the_assessment_xlsx_has_a_title_a_period_and_the_pages_figures(
        month_end, zhao, database):
    database.write_now(build_month)
    zhao.post("/language", {"lang": "en", "next": "/"})  # the file stays in Chinese
    result = zhao.get(f"/supervisor/assessment.xlsx?{NOVEMBER}&rank=sign_on_time_rate")
    assert 'filename="assessment-2026-11-01-2026-11-30.xlsx"' in \
        result.header("Content-Disposition")
    book = workbook(result)
    assert book.sheetnames == ["考核排名", "上期", "本期与上期"]
    sheet = book["考核排名"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "承办单位监督考核"
    assert rows[1][0] == ("统计期间：2026-11-01 至 2026-11-30（上期：2026-10-01 至 "
                          "2026-10-31）；排名依据：按时签收率")
    assert rows[2][:4] == ["排名", "单位", "派单数", "接收诉求数"]
    assert rows[2][-1] == "满意率" and "催办" in rows[2] and "重办" in rows[2]
    #        rank unit   disp recv on-time late unsigned rate  ret late ext-req ext days
    assert rows[4] == [2, "PS-A A所", 7, 5, 4, 1, 1, 0.6667, 2, 1, 2, 1, 3,
                       # resolved on-time rate overdue urged superv. rework
                       3, 2, 0.6667, 2, 2, 1, 1,
                       # due within not-due rate sat basic dissat rate
                       4, 1, 1, 0.3333, 2, 1, 1, 0.75]
    assert rows[3][:3] == [1, "PS-B B所", 3] and rows[5][:3] == [None, "PS-C C所", 0]
    assert rows[6][:3] == [None, "合计", 10]
    rate_column = 2 + [key for key, _, _ in export.UNIT_COLUMNS].index("sign_on_time_rate") + 1
    assert sheet.cell(row=5, column=rate_column).number_format == "0.00%"
    last = [list(row) for row in book["上期"].iter_rows(values_only=True)]
    assert last[1][0] == "统计期间：2026-10-01 至 2026-10-31"
    assert last[4][:5] == [None, "PS-A A所", 1, 1, 1]
    compared = [list(row) for row in book["本期与上期"].iter_rows(values_only=True)]
    assert compared[2][:4] == ["单位", "派单数本期", "派单数上期", "派单数变化"]
    assert compared[4][:4] == ["PS-A A所", 7, 1, 6]


def test_the_page_words_of_each_column_are_the_files(zhao):
    for key, title, _rate in export.UNIT_COLUMNS:
        assert WORDS[f"assessment.col.{key}"][0] == title, key
    for key, title, _rate in (*export.CALLCENTRE_COLUMNS, *export.AGENT_COLUMNS):
        assert WORDS[f"callcentre.col.{key}"][0] == title, key


def test_the_reports_are_the_supervisors_only(core, database, pumped_reactor):
    create_agent(database, "li", AgentRole.AGENT)
    agent = Browser(make_app(core), pumped_reactor)
    agent.login("li")
    for path in ("/supervisor/assessment", "/supervisor/assessment/print",
                 "/supervisor/assessment.xlsx", "/supervisor/callcentre",
                 "/supervisor/callcentre.xlsx", "/supervisor/overdue.xlsx",
                 "/supervisor/dissatisfied.xlsx"):
        assert agent.get(path).status == 403, path
    assert 'id="nav-assessment"' not in agent.get("/terminal").body


# The call-centre report ---------------------------------------------------------------------

def test_the_callcentre_page_counts_by_day_and_agent_against_the_goals(zhao, database):
    database.write_now(build_calls)
    page = zhao.get("/supervisor/callcentre?from=2026-11-01&to=2026-11-03")
    assert page.status == 200
    assert "目标（GB/T 33358-2016）：15 秒内接通；接通率不低于 95%" in page.body
    days = cells(page.body, "callcentre-days")
    assert days["day-2026-11-01"] == {
        "calls_in": "3", "offered": "7", "answered": "4", "answered_within": "2",
        "abandoned": "2", "short_abandoned": "1", "left": "1",
        "connection_rate": "57.1% 未达标", "within_of_offered": "28.6% 未达标",
        "within_of_answered": "50.0%", "hold_avg_s": "17.8"}
    assert days["day-2026-11-02"]["connection_rate"] == "100.0% 达标"
    assert days["day-2026-11-03"]["connection_rate"] == "—"
    assert (days["day-total"]["offered"], days["day-total"]["within_of_offered"]) == \
        ("9", "44.4% 未达标")
    agents = re.findall(r'<tr><th>(.*?)</th><td data-col="interface">(.*?)</td>'
                        r'<td data-col="answered">(\d+)</td>', page.body)
    assert agents == [("李警官", "PJSIP/1001", "3"), ("张警官", "PJSIP/1002", "2"),
                      ("PJSIP/1003", "PJSIP/1003", "1")]
    assert ('href="/supervisor/callcentre.xlsx?from=2026-11-01&amp;to=2026-11-03"'
            in page.body)


def test_the_callcentre_xlsx_has_the_days_the_total_and_the_agents(zhao, database):
    database.write_now(build_calls)
    result = zhao.get("/supervisor/callcentre.xlsx?from=2026-11-01&to=2026-11-03")
    assert 'filename="callcentre-2026-11-01-2026-11-03.xlsx"' in \
        result.header("Content-Disposition")
    book = workbook(result)
    assert book.sheetnames == ["按日", "按坐席"]
    days = [list(row) for row in book["按日"].iter_rows(values_only=True)]
    assert days[0][0] == "话务统计报表（按日）" and days[1][0] == "统计期间：2026-11-01 至 2026-11-03"
    assert days[2] == ["日期", "进线量", "呼入排队", "接通", "15秒内接通", "放弃", "短时放弃（另计）",
                       "超时离队", "接通率", "15秒接通率（占呼入）", "15秒接通率（占接通）",
                       "平均等待（秒）"]
    assert days[3] == ["2026-11-01", 3, 7, 4, 2, 2, 1, 1, 0.5714, 0.2857, 0.5, 17.8]
    assert days[5] == ["2026-11-03", 0, 0, 0, 0, 0, 0, 0, None, None, None, None]
    assert days[6] == ["合计", 4, 9, 6, 4, 2, 1, 1, 0.6667, 0.4444, 0.6667, 12.3]
    assert days[7][0].startswith("目标（GB/T 33358-2016）：15秒内接通，接通率不低于95%")
    assert book["按日"].cell(row=4, column=9).number_format == "0.00%"
    agents = [list(row) for row in book["按坐席"].iter_rows(values_only=True)]
    assert agents[2] == ["坐席", "分机", "接通", "15秒内接通", "15秒接通率（占接通）", "平均通话（秒）",
                         "通话总时长（秒）", "平均等待（秒）"]
    assert agents[3] == ["李警官", "PJSIP/1001", 3, 3, 1.0, 56.7, 170, 9.3]


# The overdue and dissatisfied lists as XLSX -------------------------------------------------

def test_the_overdue_xlsx_lists_what_the_overdue_page_lists(zhao, database):
    from tests.agents.test_supervisor_reports import seed_appeals

    database.write_now(seed_appeals)
    result = zhao.get("/supervisor/overdue.xlsx")
    assert 'filename="overdue-2026-11-28.xlsx"' in result.header("Content-Disposition")
    rows = [list(row) for row in workbook(result).active.iter_rows(values_only=True)]
    assert rows[:3] == [
        ["超期未办结诉求（督办）", None, None, None, None, None, None],
        ["统计时间：2026-11-28 10:00", None, None, None, None, None, None],
        ["承办单位", "工单编号", "类型", "状态", "事由", "办理时限", "超期工作日"]]
    assert rows[3:8] == [
        ["PS-A 甲派出所", "2026110100000", "求助", "办理中", "事项0", "2026-11-20 17:00", 5],
        ["PS-A 甲派出所", "2026110100001", "求助", "已交办", "事项1", "2026-11-27 17:00", 0],
        ["PS-B 乙派出所", "2026110100003", "求助", "已受理", "事项3", "2026-11-25 12:00", 2],
        ["PS-B 乙派出所", "2026110100007", "求助", "办理中", "事项7", "2026-11-28 09:00", 0],
        ["（未交办）", "2026110100005", "求助", "已受理", "事项5", "2026-11-26 09:00", 1],
    ]
    assert rows[8][0].startswith("超期天数按工作日计算")


HOSTILE_UNIT = '=HYPERLINK("http://x")'


def seed_dissatisfied(session) -> dict[str, int]:
    units = {"A": add_unit(session, "PS-A", "甲派出所"), "H": add_unit(session, HOSTILE_UNIT, "恶意")}
    at = dt.datetime(2026, 11, 27, 9, 30, tzinfo=SHANGHAI)
    ids = {}
    for name, unit, phone, source, note, minutes in (
            ("ivr", "A", "13812345678", "system:callback-survey", "callback 7", 0),
            ("agent", "H", "13900001111", "li", "callback 8: 民警态度差", 10)):
        appeal = Appeal(case_number=f"2026112700{minutes:03d}", channel=AppealChannel.PHONE,
                        kind=AppealKind.HELP, status=AppealStatus.IN_PROGRESS, subject="噪音",
                        citizen_phone=phone, unit_id=units[unit], deadline_at=at,
                        created_at=at, updated_at=at)
        session.add(appeal)
        session.flush()
        session.add(SupervisorAlert(at=(at + dt.timedelta(minutes=minutes))
                                    .astimezone(dt.timezone.utc), kind="dissatisfied",
                                    source=source, appeal_id=appeal.id, note=note))
        ids[name] = appeal.id
    ids["unit_a"] = units["A"]
    return ids


def test_the_dissatisfied_xlsx_lists_the_ratings_masked_and_audited(zhao, database):
    database.write_now(seed_dissatisfied)
    result = zhao.get("/supervisor/dissatisfied.xlsx?from=2026-11-27&to=2026-11-28")
    assert 'filename="dissatisfied-2026-11-27-2026-11-28.xlsx"' in \
        result.header("Content-Disposition")
    sheet = workbook(result).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "不满意评价" and rows[1][0] == "评价时间：2026-11-27 至 2026-11-28"
    assert rows[2] == ["评价时间", "工单编号", "承办单位", "电话", "评价渠道", "不满意原因",
                       "已重新办理", "当前状态", "预警已阅"]
    assert rows[3:] == [
        ["2026-11-27 09:40", "2026112700010", f"{HOSTILE_UNIT} 恶意", "139****1111", "坐席回访",
         "民警态度差", "否", "办理中", "否"],
        ["2026-11-27 09:30", "2026112700000", "PS-A 甲派出所", "138****5678", "语音回访", None,
         "否", "办理中", "否"],
    ]
    hostile = sheet.cell(row=4, column=3)
    assert hostile.data_type == "s" and hostile.quotePrefix  # text, not a formula
    for phone in ("13812345678", "13900001111"):
        assert [(v.action, v.actor, v.note) for v in database.read_now(trail, "citizen", phone)] \
            == [("view", "zhao", "dissatisfied ratings")]


def test_the_dissatisfied_xlsx_takes_the_pages_unit_and_period(zhao, database):
    ids = database.write_now(seed_dissatisfied)
    result = zhao.get(f"/supervisor/dissatisfied.xlsx?from=2026-11-27&to=2026-11-27"
                      f"&unit_id={ids['unit_a']}")
    rows = [list(row) for row in workbook(result).active.iter_rows(values_only=True)]
    assert rows[1][0] == "评价时间：2026-11-27 至 2026-11-27；承办单位：PS-A 甲派出所"
    assert [row[1] for row in rows[3:]] == ["2026112700000"]
    assert zhao.get("/supervisor/dissatisfied.xlsx?from=x").status == 400


def test_the_overdue_and_dissatisfied_pages_link_their_files_with_the_filter_shown(
        zhao, database):
    ids = database.write_now(seed_dissatisfied)
    assert 'href="/supervisor/overdue.xlsx"' in zhao.get("/supervisor/overdue").body
    page = zhao.get(f"/supervisor/dissatisfied?from=2026-11-27&to=2026-11-27"
                    f"&unit_id={ids['unit_a']}").body
    link = re.search(r'id="dissatisfied-xlsx" href="([^"]+)"', page).group(1)
    assert link.replace("&amp;", "&") == (f"/supervisor/dissatisfied.xlsx?from=2026-11-27"
                                          f"&to=2026-11-27&unit_id={ids['unit_a']}")


def test_a_unit_named_like_markup_or_a_formula_stays_text(month_end, zhao, database):
    database.write_now(lambda s: add_unit(s, HOSTILE_UNIT, '<script>alert("x")</script>'))
    page = zhao.get(f"/supervisor/assessment?{NOVEMBER}")
    assert "<script>alert" not in page.body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.body
    sheet = workbook(zhao.get(f"/supervisor/assessment.xlsx?{NOVEMBER}"))["考核排名"]
    label = sheet.cell(row=4, column=2)
    assert label.value == f'{HOSTILE_UNIT} <script>alert("x")</script>'
    assert label.data_type == "s" and label.quotePrefix


def test_the_callcentre_report_refuses_a_bad_period_with_its_reason(zhao):
    page = zhao.get("/supervisor/callcentre?from=2026-11-30&to=2026-11-01")
    assert page.status == 400 and "截止日期（to）不能早于起始日期（from）" in page.body
    assert 'id="callcentre-days"' not in page.body and 'id="callcentre-xlsx"' not in page.body
    assert zhao.get("/supervisor/callcentre.xlsx?from=2025-01-01&to=2026-11-30").status == 400
    opened = zhao.get("/supervisor/callcentre")  # this month so far
    assert opened.status == 200 and 'id="day-2026-11-28"' in opened.body
    assert 'id="day-2026-11-01"' in opened.body and 'id="day-2026-11-29"' not in opened.body
