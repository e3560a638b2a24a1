"""Every query parameter has bounds, and a value outside them is a 400 that names it: days
outside 2000-01-01..2100-12-31 (year 9999 overflowed the day after, year 1 its move to
UTC), numbers past an INTEGER column or past int()'s 4,300 digits, strings past their
column, a parameter given twice. In Chinese on the pages, as a JSON error with `field` on
the API; ids in paths past any row are not found; nothing answers 500. Through HTTP on
both databases."""

from __future__ import annotations

import json

import pytest

from agents.app import WebApp
from schemas.enums import AgentRole
from tests.agents.support import API_TOKEN, Browser, create_agent, make_app

REPORT = "/api/v1/reports/callbacks"
AUTH = {"authorization": f"Bearer {API_TOKEN}"}
DATE_WORDS = "须为 2000-01-01 至 2100-12-31 之间的日期，格式 YYYY-MM-DD"
OUT_OF_RANGE_DAYS = ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01", "2026-02-30",
                     "20261101", "2026-W48-1", "２０２６-１１-０１", "2026-11-01T00:00"]


def reporting_app(core):
    from callback_queue.export import export
    from callback_queue.report import compliance_report, daily_report

    return WebApp(core, make_app(core).auth,
                  reports={"callbacks": compliance_report, "callbacks_by_day": daily_report,
                           "callbacks_file": export})


@pytest.fixture
def api(core, pumped_reactor):
    return Browser(reporting_app(core), pumped_reactor, headers=AUTH)


@pytest.fixture
def supervisor(core, database, pumped_reactor):
    create_agent(database, "zhao", AgentRole.SUPERVISOR)
    browser = Browser(reporting_app(core), pumped_reactor)
    assert browser.login("zhao").status == 303
    return browser


@pytest.fixture
def agent(core, database, pumped_reactor):
    create_agent(database, "li", AgentRole.AGENT)
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("li").status == 303
    return browser


def api_error(result) -> dict:
    assert result.response.content_type == "application/json; charset=utf-8"
    return json.loads(result.body)["error"]


def test_the_report_api_refuses_a_day_out_of_bounds_naming_it(api):
    for name in ("from", "to"):
        for day in OUT_OF_RANGE_DAYS:
            period = {"from": "2026-11-01", "to": "2026-11-30", name: day}
            result = api.get(f"{REPORT}?from={period['from']}&to={period['to']}")
            assert result.status == 400, (name, day, result.body)
            assert api_error(result) == {
                "field": name,
                "message": f"{name} must be a date YYYY-MM-DD from 2000-01-01 to 2100-12-31"}


def test_the_report_api_takes_the_first_and_last_days_of_its_bounds(api):
    result = api.get(f"{REPORT}?from=2000-01-01&to=2100-12-31&by=kind")
    assert result.status == 200, result.body
    body = json.loads(result.body)
    assert (body["from"], body["to"], body["by"]) == ("2000-01-01", "2100-12-31", "kind")


def test_the_report_api_refuses_a_repeated_blank_or_unknown_parameter(api):
    for query, field in [("from=2026-11-01&to=2026-11-30&by=unit&by=agent", "by"),
                         ("from=2026-11-01&from=2026-11-02&to=2026-11-30", "from"),
                         ("from=2026-11-01&to=2026-11-30&by=", "by"),
                         ("from=&to=2026-11-30", "from"),
                         ("from=2026-11-01&to=2026-11-30&by=" + "u" * 5000, "by")]:
        result = api.get(f"{REPORT}?{query}")
        assert result.status == 400 and api_error(result)["field"] == field, query[:80]


def test_the_five_supervisor_pages_refuse_a_day_out_of_bounds_naming_it(supervisor):
    for query, label, name in [("from=0001-01-01&to=2026-11-30", "起始日期（from）", "from"),
                               ("from=2026-11-01&to=9999-12-31", "截止日期（to）", "to")]:
        for path in ("/supervisor/callbacks", "/supervisor/callbacks.csv",
                     "/supervisor/callbacks.xlsx", "/supervisor/dissatisfied"):
            result = supervisor.get(f"{path}?{query}")
            assert result.status == 400, (path, query, result.body[:300])
            assert f"{label}{DATE_WORDS}" in result.body, (path, query)
        result = supervisor.get(f"/reports/callbacks.json?{query}")
        assert result.status == 400 and api_error(result)["field"] == name


def test_the_dissatisfied_list_refuses_a_unit_past_any_id(supervisor):
    for unit_id in ("2147483648", "9" * 30, "9" * 5000, "１"):
        result = supervisor.get(f"/supervisor/dissatisfied?unit_id={unit_id}")
        assert result.status == 400
        assert "承办单位（unit_id）须为 1 至 2147483647 之间的整数" in result.body


SEARCH_REFUSALS = [
    ("unit_id=" + "9" * 30, "承办单位（unit_id）须为 1 至 2147483647 之间的整数"),
    ("unit_id=2147483648", "承办单位（unit_id）须为 1 至 2147483647 之间的整数"),
    ("unit_id=" + "9" * 5000, "承办单位（unit_id）须为 1 至 2147483647 之间的整数"),
    ("case_number=" + "1" * 5000, "工单编号（case_number）须为数字，不超过 24 位"),
    ("case_number=" + "9" * 25, "工单编号（case_number）须为数字，不超过 24 位"),
    ("case_number=²", "工单编号（case_number）须为数字，不超过 24 位"),
    ("page=" + "9" * 40, "页码（page）须为 1 至 20 之间的整数"),
    ("status=received&date_to=9999-12-31", "截止日期（date_to）" + DATE_WORDS),
    ("status=received&date_from=0001-01-01", "起始日期（date_from）" + DATE_WORDS),
    ("date_from=2026-11-30&date_to=2026-11-01", "截止日期（date_to）不能早于起始日期（date_from）"),
    ("status=received&status=closed", "状态（status）只能填写一次"),
    ("phone=" + "1" * 5000, "电话（phone）不是有效的电话号码"),
]


def test_the_appeal_search_refuses_a_criterion_out_of_bounds_in_chinese(agent):
    for query, words in SEARCH_REFUSALS:
        result = agent.get(f"/appeals?{query}")
        assert result.status == 400 and words in result.body, query[:80]


def test_the_longest_case_number_prefix_and_the_largest_id_are_searched(agent):
    assert agent.get("/appeals?case_number=" + "9" * 24).status == 200
    assert agent.get("/appeals?unit_id=2147483647").status == 200


def test_an_id_in_a_path_past_any_row_is_not_found(supervisor):
    for method, path in [("GET", "/appeals/2147483648"), ("GET", "/appeals/99999999999999999"),
                         ("POST", "/appeals/2147483648/start"),
                         ("POST", "/supervisor/alerts/9999999999/ack")]:
        result = supervisor.request(method, path, form={"_csrf": supervisor.csrf})
        assert result.status == 404, path


def test_a_call_id_longer_than_its_column_is_refused_on_the_caller_card(agent):
    assert agent.get("/callers/13812345678?call_id=" + "c" * 64).status == 200
    result = agent.get("/callers/13812345678?call_id=" + "c" * 65)
    assert result.status == 400 and "通话编号（call_id）不能超过 64 个字符" in result.body


def test_the_new_appeal_form_refuses_an_overlong_prefill(agent):
    result = agent.get("/appeals/new?citizen_phone=13812345678&subject=" + "长" * 201)
    assert result.status == 400 and "事由（subject）不能超过 200 个字符" in result.body


def test_the_status_api_refuses_what_is_not_a_case_number_in_json(api):
    for case_number in ("abc", "9" * 25, "%C2%B2", "1%2F2"):
        result = api.get(f"/api/v1/appeals/{case_number}")
        assert result.status == 400 and api_error(result)["field"] == "case_number"


def test_the_appeal_api_refuses_a_field_past_its_column(api, database):
    from schemas.models import Appeal

    for field, length in [("citizen_name", 64), ("area", 64), ("body", 10000),
                          ("citizen_id_number", 32)]:
        appeal = {"kind": "help", "subject": "求助", "citizen_phone": "13812345678",
                  field: "名" * (length + 1)}
        result = api.request("POST", "/api/v1/appeals", headers=AUTH,
                             body=json.dumps(appeal).encode("utf-8"))
        assert result.status == 422 and api_error(result)["field"] == field
    assert database.read_now(lambda session: session.query(Appeal).count()) == 0


def test_a_json_body_nested_past_the_recursion_limit_is_not_json(api):
    result = api.request("POST", "/api/v1/appeals", headers=AUTH, body=b"[" * 60000)
    assert result.status == 400 and api_error(result)["message"] == "the body is not JSON"
