"""The supervisor's reports through HTTP on both databases, on hand-built data whose figures
were worked out by hand: the compliance report's charts (by unit, by day) and XLSX, overdue
appeals by unit (督办) and the standing list of 不满意 ratings."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET

import pytest
from twisted.internet import defer

from agents.app import WebApp
from hotline import audit
from hotline.audit import trail
from schemas.callbacks import (
    CallbackMode,
    CallbackOrigin,
    CallbackOutcome,
    CallbackState,
    CallbackTask,
)
from schemas.enums import AgentRole, AppealChannel, AppealKind, AppealStatus, Satisfaction
from schemas.models import Appeal
from tests.agents.support import Browser, create_agent, make_app
from tests.support.appeals import SHANGHAI, add_unit, new_appeal

S = CallbackState
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script>'


def sh(month, day, hour=12, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


@pytest.fixture
def callbacks(core):
    import callback_queue

    queue, _dispatcher = callback_queue.build(core, ami=None, config=None)
    core.resolve_hook.register(callback_queue.RESOLVE_PARTICIPANT, queue.repository.on_resolved)
    return queue


@pytest.fixture
def zhao(core, database, pumped_reactor, unit, callbacks):
    from callback_queue.export import export
    from callback_queue.report import compliance_report, daily_report

    create_agent(database, "zhao", AgentRole.SUPERVISOR)
    app = WebApp(core, make_app(core).auth,
                 reports={"callbacks": compliance_report, "callbacks_by_day": daily_report,
                          "callbacks_file": export})
    browser = Browser(app, pumped_reactor)
    assert browser.login("zhao").status == 303
    return browser


# The compliance report's charts and XLSX ---------------------------------------------------

# (unit, resolved, due, state, outcome, rating, completed, attempts)
TASKS = [
    ("A", sh(11, 5, 10), sh(11, 6, 12), S.COMPLETED, "rated", Satisfaction.SATISFIED, sh(11, 6, 11), 1),
    ("A", sh(11, 5, 23, 30), sh(11, 6, 23), S.COMPLETED, "rated", Satisfaction.DISSATISFIED, sh(11, 7, 9), 2),
    ("A", sh(11, 6, 0, 30), sh(11, 7, 12), S.UNREACHABLE, "sms_survey", None, sh(11, 7, 13), 3),
    ("A", sh(11, 6, 9), sh(11, 7, 18), S.PENDING, None, None, None, 1),
    ("H", sh(11, 6, 8), sh(11, 7, 8), S.COMPLETED, "rated", Satisfaction.BASICALLY_SATISFIED, sh(11, 7, 7), 1),
    ("H", sh(11, 7, 8), sh(11, 8, 8), S.COMPLETED, "reached", None, sh(11, 7, 20), 3),
]
UNIT_A = "PS-A 甲派出所"
UNIT_H = "=X " + HOSTILE  # a name a spreadsheet would run and a browser would execute


def seed_tasks(session):
    units = {"A": add_unit(session, "PS-A", "甲派出所"), "H": add_unit(session, "=X", HOSTILE)}
    for n, (unit, resolved, due, state, outcome, rating, completed, attempts) in enumerate(TASKS):
        session.add(CallbackTask(
            citizen_phone=f"139{n:08d}", origin=CallbackOrigin.RESOLUTION,
            mode=CallbackMode.AUTOMATED, state=state, appeal_kind=AppealKind.HELP,
            unit_id=units[unit], resolved_at=resolved, window_start=resolved, due_by=due,
            next_attempt_at=due, attempts=attempts, max_attempts=3,
            outcome=CallbackOutcome(outcome) if outcome else None, rating=rating,
            completed_at=completed, created_at=resolved, updated_at=resolved))


def svg(body: str, chart_id: str) -> ET.Element:
    """The chart's SVG, parsed as XML: escaping that went wrong would not parse."""
    found = re.search(rf'<figure class="report-chart" id="{chart_id}">(<svg.*?</svg>)</figure>',
                      body, re.S)
    assert found is not None, f"no {chart_id} on the page"
    return ET.fromstring(found.group(1))


def group_bars(root: ET.Element) -> dict[str, dict[str, str]]:
    """Each group's label -> {bar's series: its width}, from the bars' hover titles."""
    bars = {}
    for group in root.iter(f"{SVG}g"):
        label = group.find(f"{SVG}text")
        name = label.findtext(f"{SVG}title") or label.text
        bars[name] = {rect.get("class").split()[-1]: rect.get("width")
                      for rect in group.iter(f"{SVG}rect") if "bar" in rect.get("class")}
    return bars


def test_the_unit_chart_draws_each_units_rate_and_due_callbacks(zhao, database):
    database.write_now(seed_tasks)
    page = zhao.get("/supervisor/callbacks?from=2026-11-01&to=2026-11-30&by=unit")
    assert page.status == 200
    assert '<link rel="stylesheet" href="/static/reports.css">' in page.body
    root = svg(page.body, "chart-groups")
    # Rates: A 1 of 4 on time, H 2 of 2: bars of 200 px at 100 %. Due callbacks: the largest
    # group (A, 4) spans 270 px, so one callback is 67.5 px.
    assert group_bars(root) == {
        UNIT_H: {"rate": "200", "within": "135"},
        UNIT_A: {"rate": "50", "within": "67.5", "late": "67.5", "unreachable": "67.5",
                 "pending": "67.5"},
    }
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert f"{UNIT_A}: 25.0%" in titles and f"{UNIT_A}: 超时完成 1" in titles
    assert f"{UNIT_H}: 100.0%" in titles and f"{UNIT_H}: 按时完成 2" in titles
    assert "合计" not in "".join(root.itertext())  # the total is the table's, not a bar


def test_a_hostile_unit_name_is_escaped_in_the_chart(zhao, database):
    database.write_now(seed_tasks)
    page = zhao.get("/supervisor/callbacks?from=2026-11-01&to=2026-11-30")
    chart = re.search(r'id="chart-groups">(.*?)</figure>', page.body, re.S).group(1)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in chart
    assert "<script>" not in page.body and 'style="' not in chart
    assert "<script" not in chart.replace("&lt;script", "")


def test_the_day_chart_has_a_point_per_shanghai_day_and_series(zhao, database):
    database.write_now(seed_tasks)
    page = zhao.get("/supervisor/callbacks?from=2026-11-05&to=2026-11-08&by=unit")
    root = svg(page.body, "chart-days")
    points = {}
    for dot in root.iter(f"{SVG}circle"):
        day, series, value = dot.findtext(f"{SVG}title").rsplit(" ", 2)
        points[(day, series)] = (int(value), dot.get("cy"))
    # Resolved by the day resolved (23:30 and 00:30 fall on either side of a Shanghai
    # midnight); on time and late by the day due.
    expected = {"2026-11-05": (2, 0, 0), "2026-11-06": (3, 1, 1), "2026-11-07": (1, 1, 0),
                "2026-11-08": (0, 1, 0)}
    assert {(day, series): value for (day, series), (value, _) in points.items()} == {
        (day, series): figures[n] for day, figures in expected.items()
        for n, series in enumerate(("办结数", "按时完成", "超时完成"))}
    # The y axis runs to 5 over 184 px from y=40: 3 sits at 224 - 110.4, 0 on the axis.
    assert points[("2026-11-06", "办结数")][1] == "113.6"
    assert points[("2026-11-08", "办结数")][1] == "224"
    assert len(list(root.iter(f"{SVG}polyline"))) == 3


def test_a_period_too_long_for_the_day_chart_says_so_and_keeps_the_table(zhao, database):
    database.write_now(seed_tasks)
    page = zhao.get("/supervisor/callbacks?from=2025-01-01&to=2026-11-30")
    assert page.status == 200 and 'id="report"' in page.body
    assert 'id="chart-days"' in page.body and "无法按日统计" in page.body


def test_the_xlsx_has_the_csv_columns_under_chinese_headers(zhao, database):
    from openpyxl import load_workbook

    database.write_now(seed_tasks)
    zhao.post("/language", {"lang": "en", "next": "/"})  # the file stays in Chinese
    page = zhao.get("/supervisor/callbacks?from=2026-11-01&to=2026-11-30&by=unit")
    assert ('href="/supervisor/callbacks.xlsx?from=2026-11-01&amp;to=2026-11-30&amp;by=unit"'
            in page.body)
    result = zhao.get("/supervisor/callbacks.xlsx?from=2026-11-01&to=2026-11-30&by=unit")
    assert result.status == 200
    assert result.response.content_type == ("application/vnd.openxmlformats-officedocument."
                                            "spreadsheetml.sheet")
    assert 'filename="callbacks-2026-11-01-2026-11-30-unit.xlsx"' in \
        result.header("Content-Disposition")
    sheet = load_workbook(io.BytesIO(result.response.body)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    csv_rows = list(csv.reader(io.StringIO(zhao.get(
        "/supervisor/callbacks.csv?from=2026-11-01&to=2026-11-30&by=unit")
        .response.body.decode("utf-8-sig"))))
    assert rows[0] == csv_rows[0]
    assert rows[0][:3] == ["单位", "办结数", "应回访数"] and rows[0][-1] == "按时回访率"
    #   resolved due within late unreach sms pending not_due att/compl sat basic dissat unrated rate
    assert rows[1:] == [
        [UNIT_H, 2, 2, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0, 1, 1],
        [UNIT_A, 4, 4, 1, 1, 1, 1, 1, 0, 1.5, 1, 0, 1, 0, 0.25],
        ["合计", 6, 6, 3, 1, 1, 1, 1, 0, 1.75, 1, 1, 1, 1, 0.5],
    ]
    hostile = sheet.cell(row=2, column=1)
    assert hostile.data_type == "s"  # text, not a formula
    assert sheet.cell(row=3, column=15).number_format == "0.00%"


HYPERLINK = '=HYPERLINK("http://x")'


def seed_hyperlink_unit(session):
    unit = add_unit(session, HYPERLINK, "恶意单位")
    session.add(CallbackTask(
        citizen_phone="13900000099", origin=CallbackOrigin.RESOLUTION,
        mode=CallbackMode.AUTOMATED, state=S.COMPLETED, appeal_kind=AppealKind.HELP,
        unit_id=unit, resolved_at=sh(11, 5), window_start=sh(11, 5), due_by=sh(11, 6),
        next_attempt_at=sh(11, 6), attempts=1, max_attempts=3,
        outcome=CallbackOutcome.REACHED, completed_at=sh(11, 7), created_at=sh(11, 5),
        updated_at=sh(11, 5)))


def test_the_downloads_write_a_unit_named_like_a_formula_as_inert_text(zhao, database):
    from openpyxl import load_workbook

    database.write_now(seed_hyperlink_unit)
    query = "?from=2026-11-01&to=2026-11-30&by=unit"
    lines = list(csv.reader(io.StringIO(zhao.get("/supervisor/callbacks.csv" + query)
                                        .response.body.decode("utf-8-sig"))))
    assert lines[1][0] == f"'{HYPERLINK} 恶意单位"  # a spreadsheet shows it, runs nothing
    assert lines[1][1:5] == ["1", "1", "0", "1"]
    sheet = load_workbook(io.BytesIO(zhao.get("/supervisor/callbacks.xlsx" + query)
                                     .response.body)).active
    label = sheet.cell(row=2, column=1)
    assert label.value == f"{HYPERLINK} 恶意单位"
    assert label.data_type == "s" and label.quotePrefix  # a string cell, not a formula
    assert [sheet.cell(row=2, column=n).data_type for n in range(2, 6)] == ["n"] * 4


def test_the_xlsx_refuses_a_bad_period_and_needs_the_report(zhao, core, pumped_reactor,
                                                          database):
    result = zhao.get("/supervisor/callbacks.xlsx?from=2026-11-01&to=nope")
    assert result.status == 400 and "截止日期（to）须为 2000-01-01 至 2100-12-31 之间的日期" in result.body
    create_agent(database, "qian", AgentRole.SUPERVISOR)
    bare = Browser(make_app(core), pumped_reactor)
    bare.login("qian")
    assert bare.get("/supervisor/callbacks.xlsx").status == 404
    assert 'id="chart-days"' not in bare.get("/supervisor/callbacks").body


# Overdue appeals by unit (督办) --------------------------------------------------------------

# Now is Saturday 2026-11-28 10:00 in Shanghai. (unit, status, deadline): working days
# overdue count the days after the deadline's day up to today, weekends left out.
APPEALS = [
    ("A", AppealStatus.IN_PROGRESS, sh(11, 20, 17)),  # Fri: 23-27 = 5 (calendar days: 8)
    ("A", AppealStatus.ASSIGNED, sh(11, 27, 17)),  # Fri: Saturday is no working day = 0
    ("A", AppealStatus.RESOLVED, sh(11, 10, 17)),  # resolved: not overdue
    ("B", AppealStatus.RECEIVED, sh(11, 25, 12)),  # Wed: 26, 27 = 2
    ("B", AppealStatus.CLOSED, sh(11, 1, 12)),  # closed: not overdue
    (None, AppealStatus.RECEIVED, sh(11, 26, 9)),  # Thu: 27 = 1
    ("B", AppealStatus.IN_PROGRESS, sh(11, 28, 12)),  # later today: not overdue yet
    ("B", AppealStatus.IN_PROGRESS, sh(11, 28, 9)),  # earlier today: overdue, 0 days
]


def seed_appeals(session) -> list[int]:
    units = {"A": add_unit(session, "PS-A", "甲派出所"), "B": add_unit(session, "PS-B", "乙派出所")}
    ids = []
    for n, (unit, status, deadline) in enumerate(APPEALS):
        appeal = Appeal(case_number=f"20261101{n:05d}", channel=AppealChannel.PHONE,
                        kind=AppealKind.HELP, status=status, subject=f"事项{n}",
                        citizen_phone="13812345678", unit_id=units.get(unit),
                        deadline_at=deadline, created_at=sh(11, 1), updated_at=sh(11, 1))
        session.add(appeal)
        session.flush()
        ids.append(appeal.id)
    return ids


def test_overdue_appeals_are_grouped_by_unit_with_working_days(zhao, database):
    ids = database.write_now(seed_appeals)
    page = zhao.get("/supervisor/overdue")
    assert page.status == 200
    units = re.findall(r'<tr id="unit-[\w-]+"><th><a href="#appeals-[\w-]+">(.*?)</a></th>'
                       r'\s*<td data-col="count">(\d+)</td><td data-col="oldest">(.*?)</td>'
                       r'<td data-col="days">(\d+)</td>', page.body)
    assert units == [("PS-A 甲派出所", "2", "2026-11-20 17:00", "5"),
                     ("PS-B 乙派出所", "2", "2026-11-25 12:00", "2"),
                     ("（未交办）", "1", "2026-11-26 09:00", "1")]
    assert re.search(r'<tr class="total"><th>合计</th><td data-col="count">5</td>', page.body)
    days = dict(re.findall(r'<tr id="overdue-(\d+)">.*?<td data-col="days">(\d+)</td>',
                           page.body, re.S))
    assert days == {str(ids[0]): "5", str(ids[1]): "0", str(ids[3]): "2", str(ids[5]): "1",
                    str(ids[7]): "0"}
    assert f'<a href="/appeals/{ids[0]}">2026110100000</a>' in page.body
    assert 'href="/supervisor/overdue"' in page.body and 'id="nav-overdue"' in page.body


def test_the_overdue_csv_lists_each_appeal_under_its_unit(zhao, database):
    database.write_now(seed_appeals)
    result = zhao.get("/supervisor/overdue.csv")
    assert result.status == 200 and result.response.body.startswith(b"\xef\xbb\xbf")
    assert 'filename="overdue-2026-11-28.csv"' in result.header("Content-Disposition")
    lines = list(csv.reader(io.StringIO(result.response.body.decode("utf-8-sig"))))
    assert lines == [
        ["承办单位", "工单编号", "类型", "状态", "事由", "办理时限", "超期工作日"],
        ["PS-A 甲派出所", "2026110100000", "求助", "办理中", "事项0", "2026-11-20 17:00", "5"],
        ["PS-A 甲派出所", "2026110100001", "求助", "已交办", "事项1", "2026-11-27 17:00", "0"],
        ["PS-B 乙派出所", "2026110100003", "求助", "已受理", "事项3", "2026-11-25 12:00", "2"],
        ["PS-B 乙派出所", "2026110100007", "求助", "办理中", "事项7", "2026-11-28 09:00", "0"],
        ["（未交办）", "2026110100005", "求助", "已受理", "事项5", "2026-11-26 09:00", "1"],
    ]


def test_no_overdue_appeal_says_so(zhao):
    assert 'id="no-overdue"' in zhao.get("/supervisor/overdue").body


# Dissatisfied ratings ----------------------------------------------------------------------

def resolved(core, pumped_reactor, unit_id, **overrides):
    appeal = pumped_reactor.wait(core.appeals.create(new_appeal(**overrides), actor="test"))
    pumped_reactor.wait(core.appeals.assign(appeal.id, unit_id, actor="test"))
    pumped_reactor.wait(core.appeals.start(appeal.id, actor="test"))
    return pumped_reactor.wait(core.appeals.resolve(appeal.id, "已协调处理", actor="test"))


def task_of(database, appeal_id: int) -> int:
    from sqlalchemy import select

    return database.read_now(lambda s: s.scalar(select(CallbackTask.id).where(
        CallbackTask.appeal_id == appeal_id)))


@pytest.fixture
def ratings(zhao, core, database, pumped_reactor, clock, unit, callbacks):
    """Four rated appeals, five minutes apart from 10:05 (Shanghai), by each channel (in
    minutes: the supervisor's session stays alive)."""
    from hotline import reply_notes
    from sms_gateway.messages.replies import ACTOR as SMS_ACTOR
    from sms_gateway.messages.replies import NOTE_ACTION

    other = database.write_now(add_unit, "PS-B", "乙派出所")
    agent = create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    by_ivr = resolved(core, pumped_reactor, unit, citizen_phone="13812345678")
    by_agent = resolved(core, pumped_reactor, unit, citizen_phone="13900001111",
                        kind=AppealKind.COMPLAINT)
    by_sms = resolved(core, pumped_reactor, other, citizen_phone="13700002222")
    content = resolved(core, pumped_reactor, unit, citizen_phone="13600003333")
    clock.advance(300)  # 10:05
    pumped_reactor.wait(defer.Deferred.fromCoroutine(
        callbacks.record_rating(str(task_of(database, by_ivr.id)), "3")))
    clock.advance(300)  # 10:10
    agent_task = task_of(database, by_agent.id)

    def open_now(session):  # resolved on a Saturday, it would open on Monday
        task = session.get(CallbackTask, agent_task)
        task.window_start = task.next_attempt_at = clock.now()
    database.write_now(open_now)
    pumped_reactor.wait(callbacks.record_agent_outcome(
        agent_task, agent.id, reached=True,
        rating=Satisfaction.DISSATISFIED, reason="<b>民警态度差</b>"))
    clock.advance(300)  # 10:15: the SMS reply handler's rating, then the citizen's next SMS
    pumped_reactor.wait(core.appeals.rate(by_sms.id, Satisfaction.DISSATISFIED, actor=SMS_ACTOR,
                                          note="SMS survey reply 41"))
    database.write_now(lambda s: audit.record(
        s, at=clock.now() + dt.timedelta(minutes=2), actor=SMS_ACTOR, action=NOTE_ACTION,
        entity_type="appeal", entity_id=by_sms.id, note=reply_notes.note(42, "噪音还是没解决")))
    clock.advance(300)  # 10:20
    pumped_reactor.wait(core.appeals.rate(content.id, Satisfaction.SATISFIED, actor=SMS_ACTOR,
                                          note="SMS survey reply 43"))
    return {"ivr": by_ivr, "agent": by_agent, "sms": by_sms, "unit_b": other}


def rating_rows(body: str) -> list[dict[str, str]]:
    rows = re.findall(r'<tr id="rating-\d+">(.*?)</tr>', body, re.S)
    return [{name: re.sub(r"<[^>]+>", "", value).strip()
             for name, value in re.findall(r'<td data-col="(\w+)"[^>]*>(.*?)</td>', row, re.S)}
            for row in rows]


def test_dissatisfied_ratings_newest_first_with_channel_reason_and_reopening(
        zhao, ratings, database):
    page = zhao.get("/supervisor/dissatisfied?from=2026-11-28&to=2026-11-28")
    assert page.status == 200
    assert rating_rows(page.body) == [
        {"at": "2026-11-28 10:15", "case": ratings["sms"].case_number, "unit": "PS-B 乙派出所",
         "phone": "137****2222", "channel": "短信评价", "reason": "市民后续短信：噪音还是没解决",
         "reopened": "是", "status": "办理中", "acknowledged": "否", "rework": ""},
        {"at": "2026-11-28 10:10", "case": ratings["agent"].case_number,
         "unit": "PS-LS 兰山派出所", "phone": "139****1111", "channel": "坐席回访",
         "reason": "&lt;b&gt;民警态度差&lt;/b&gt;", "reopened": "是", "status": "办理中",
         "acknowledged": "否", "rework": ""},
        {"at": "2026-11-28 10:05", "case": ratings["ivr"].case_number,
         "unit": "PS-LS 兰山派出所", "phone": "138****5678", "channel": "语音回访",
         "reason": "", "reopened": "是", "status": "办理中", "acknowledged": "否",
         "rework": ""},
    ]
    assert f'<a href="/appeals/{ratings["ivr"].id}">' in page.body
    for clear in ("13812345678", "13900001111", "13700002222", "13600003333"):
        assert clear not in page.body
    for phone in ("13812345678", "13900001111", "13700002222"):
        assert [(v.action, v.actor, v.note) for v in database.read_now(trail, "citizen", phone)] \
            == [("view", "zhao", "dissatisfied ratings")]
    assert database.read_now(trail, "citizen", "13600003333") == []  # satisfied: not listed
    assert 'id="nav-dissatisfied"' in page.body


def test_dissatisfied_ratings_filter_by_unit_and_period(zhao, ratings):
    page = zhao.get(f"/supervisor/dissatisfied?from=2026-11-01&to=2026-11-30"
                    f"&unit_id={ratings['unit_b']}")
    assert [r["case"] for r in rating_rows(page.body)] == [ratings["sms"].case_number]
    assert f'<option value="{ratings["unit_b"]}" selected>' in page.body
    page = zhao.get("/supervisor/dissatisfied?from=2026-11-01&to=2026-11-27")
    assert rating_rows(page.body) == [] and 'id="no-dissatisfied"' in page.body


def test_an_acknowledged_alert_still_lists_its_rating(zhao, ratings):
    alert_id = re.search(r'<tr id="alert-(\d+)">(?:(?!</tr>).)*' + ratings["ivr"].case_number,
                         zhao.get("/supervisor/alerts").body, re.S).group(1)
    assert zhao.post(f"/supervisor/alerts/{alert_id}/ack").status == 303
    rows = rating_rows(zhao.get("/supervisor/dissatisfied?from=2026-11-28&to=2026-11-28").body)
    assert [(r["case"], r["acknowledged"]) for r in rows] == [
        (ratings["sms"].case_number, "否"), (ratings["agent"].case_number, "否"),
        (ratings["ivr"].case_number, "是")]


def test_the_dissatisfied_list_defaults_to_the_last_30_days_and_names_a_bad_field(zhao):
    page = zhao.get("/supervisor/dissatisfied")
    assert 'value="2026-10-30"' in page.body and 'value="2026-11-28"' in page.body
    result = zhao.get("/supervisor/dissatisfied?unit_id=x")
    assert result.status == 400 and "承办单位（unit_id）须为 1 至 2147483647 之间的整数" in result.body
    result = zhao.get("/supervisor/dissatisfied?from=2026-11-30&to=2026-11-01")
    assert result.status == 400 and "截止日期（to）不能早于起始日期（from）" in result.body


def test_the_reports_in_english(zhao, ratings, database):
    database.write_now(seed_tasks)
    zhao.post("/language", {"lang": "en", "next": "/"})
    page = zhao.get("/supervisor/dissatisfied?from=2026-11-28&to=2026-11-28")
    assert "Dissatisfied ratings" in page.body
    assert [r["channel"] for r in rating_rows(page.body)] == \
        ["SMS reply", "Agent callback", "IVR survey"]
    assert "Overdue appeals by unit" in zhao.get("/supervisor/overdue").body
    page = zhao.get("/supervisor/callbacks?from=2026-11-05&to=2026-11-08")
    assert "<title>Unit: on-time rate and due callbacks</title>" in page.body
    assert ">Resolved</text>" in page.body  # the day chart's legend
