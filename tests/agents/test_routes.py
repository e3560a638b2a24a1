"""Every route x every role (and anonymous): the status the route table promises.

Statuses other than 401/403/303-to-login show the request got past authorisation and
CSRF: 502 is the queue action with no AMI link in this test, 409 an invalid transition.
"""

import datetime as dt

import pytest

from agents.app import ROUTES
from agents.http import WebRequest
from schemas.enums import AgentRole
from tests.agents.support import Browser, SettableClock, create_agent, make_app, make_core
from tests.support.appeals import add_unit, new_appeal

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.timezone.utc)
ROLES = ["anonymous", "agent", "supervisor", "admin", "unit_officer"]
NEW_APPEAL = {"channel": "phone", "kind": "help", "subject": "路灯不亮",
              "citizen_phone": "13812345678"}
NEW_AGENT = {"username": "u_new", "display_name": "新", "role": "agent",
             "password": "a long password"}
AGENT_EDIT = {"display_name": "u", "role": "agent", "unit": "", "interface": "PJSIP/agent"}

#    method, path, form:                        anonymous, agent, supervisor, admin, unit officer
TABLE = [
    ("GET", "/", None,                            (303, 303, 303, 303, 303)),
    ("GET", "/login", None,                       (200, 303, 303, 303, 303)),
    ("POST", "/login", {"username": "x", "password": "y"}, (401, 401, 401, 401, 401)),
    ("POST", "/logout", {},                       (401, 303, 303, 303, 303)),
    ("POST", "/language", {"lang": "en"},         (303, 303, 303, 303, 303)),
    ("GET", "/static/app.js", None,               (200, 200, 200, 200, 200)),
    ("GET", "/terminal", None,                    (303, 200, 200, 403, 403)),
    ("POST", "/terminal/queue", {"action": "login"}, (401, 502, 502, 403, 403)),
    ("POST", "/terminal/threeway", {"unit_id": "{unit}"}, (401, 502, 502, 403, 403)),
    ("GET", "/terminal/events", None,             (401, 200, 200, 403, 403)),
    ("GET", "/terminal/card", None,               (303, 204, 204, 403, 403)),
    ("GET", "/session/keepalive", None,           (401, 204, 204, 403, 403)),
    ("GET", "/appeals", None,                     (303, 200, 200, 403, 403)),
    ("GET", "/appeals/new", None,                 (303, 200, 200, 403, 403)),
    ("POST", "/appeals", NEW_APPEAL,              (401, 303, 303, 403, 403)),
    ("GET", "/appeals/{id}", None,                (303, 200, 200, 403, 403)),
    ("GET", "/appeals/{id}/recording", None,      (303, 404, 404, 403, 403)),
    ("GET", "/appeals/{id}/recordings", None,     (303, 200, 200, 403, 404)),  # not the unit's
    ("POST", "/appeals/{id}/recording-hold", {"reason": "诉讼保全"}, (401, 403, 303, 403, 403)),
    ("GET", "/callbacks/{id}/recordings", None,    (303, 404, 404, 403, 403)),  # no such task
    ("GET", "/recordings/{id}/audio", None,        (303, 404, 404, 403, 404)),  # none indexed
    ("GET", "/recordings/{id}/download", None,     (303, 404, 404, 403, 404)),
    ("GET", "/appeals/{id}/receipt", None,        (303, 200, 200, 403, 403)),
    ("POST", "/appeals/{id}/assign", {"unit_id": "{unit}"}, (401, 303, 303, 403, 403)),
    ("POST", "/appeals/{id}/start", {},           (401, 409, 409, 403, 403)),
    ("POST", "/appeals/{id}/resolve", {"resolution": "已修复"}, (401, 409, 409, 403, 403)),
    ("POST", "/appeals/{id}/note", {"note": "已联系"}, (401, 303, 303, 403, 403)),
    ("POST", "/appeals/{id}/reopen", {"reason": "未修好"}, (401, 403, 409, 403, 403)),
    ("POST", "/appeals/{id}/merge", {"reason": "同一事项"}, (401, 422, 422, 403, 403)),
    ("GET", "/callers/13812345678", None,         (303, 200, 200, 403, 403)),
    ("GET", "/admin/agents", None,                (303, 403, 403, 200, 403)),
    ("GET", "/admin/agents/new", None,            (303, 403, 403, 200, 403)),
    ("POST", "/admin/agents", NEW_AGENT,          (401, 403, 403, 303, 403)),
    ("GET", "/admin/agents/{agent}", None,        (303, 403, 403, 200, 403)),
    ("POST", "/admin/agents/{agent}", AGENT_EDIT, (401, 403, 403, 303, 403)),
    ("POST", "/admin/agents/{agent}/password", {"password": "another password"},
                                                  (401, 403, 403, 303, 403)),
    ("POST", "/admin/agents/{agent}/deactivate", {}, (401, 403, 403, 303, 403)),
    ("POST", "/admin/agents/{agent}/reactivate", {}, (401, 403, 403, 303, 403)),
    ("GET", "/api/openapi.json", None,            (200, 200, 200, 200, 200)),
    ("POST", "/api/v1/appeals", {},               (401, 401, 401, 401, 401)),
    ("GET", "/api/v1/appeals/{case}", None,       (401, 401, 401, 401, 401)),
    ("GET", "/api/v1/reports/callbacks", None,    (401, 401, 401, 401, 401)),
    ("GET", "/reports/callbacks.json", None,      (303, 403, 404, 403, 403)),  # 404: none injected
    ("GET", "/supervisor/alerts", None,           (303, 403, 200, 403, 403)),
    ("POST", "/supervisor/alerts/{id}/ack", {},   (401, 403, 303, 403, 403)),
    ("GET", "/supervisor/replies", None,          (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/analysis", None,         (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/callbacks", None,        (303, 403, 404, 403, 403)),  # 404: none injected
    ("GET", "/supervisor/callbacks.csv", None,    (303, 403, 404, 403, 403)),
    ("GET", "/supervisor/wallboard", None,        (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/wallboard.json", None,   (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/callbacks.xlsx", None,   (303, 403, 404, 403, 403)),
    ("GET", "/supervisor/overdue", None,          (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/overdue.csv", None,      (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/dissatisfied", None,     (303, 403, 200, 403, 403)),
    # 409: the appeal has no open work order to supervise, no 不满意 rating to rework.
    ("POST", "/supervisor/overdue/{id}/supervise", {"note": "请办理"}, (401, 403, 409, 403, 403)),
    ("POST", "/supervisor/dissatisfied/{id}/rework", {"reason": "x"}, (401, 403, 409, 403, 403)),
    ("GET", "/supervisor/dissatisfied.xlsx", None, (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/overdue.xlsx", None,     (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/assessment", None,       (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/assessment/print", None, (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/assessment.xlsx", None,  (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/callcentre", None,       (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/staffing", None,         (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/insights", None,         (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/insights/print", None,   (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/insights.csv", None,     (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/insights.xlsx", None,    (303, 403, 200, 403, 403)),
    ("GET", "/supervisor/insights/term", None,    (303, 403, 400, 403, 403)),  # 400: no term
    ("GET", "/knowledge", None,                   (303, 200, 200, 403, 403)),
    ("GET", "/knowledge/search.json", None,       (303, 200, 200, 403, 403)),
    ("GET", "/knowledge/templates.json", None,    (303, 200, 200, 403, 403)),
    ("GET", "/knowledge/articles/{id}", None,     (303, 404, 404, 403, 403)),  # no such article
    ("GET", "/knowledge/articles/{id}.json", None, (303, 404, 404, 403, 403)),
    ("POST", "/knowledge/articles/{id}/sms", {"phone": "13812345678"}, (401, 409, 409, 403, 403)),
    ("POST", "/knowledge/consultations", {"q": "养犬登记"}, (401, 303, 303, 403, 403)),
    ("GET", "/knowledge/edit", None,              (303, 403, 200, 403, 403)),
    ("GET", "/knowledge/edit/new", None,          (303, 403, 200, 403, 403)),
    ("POST", "/knowledge/edit/new", {"title": "新条目"}, (401, 403, 303, 403, 403)),
    ("GET", "/knowledge/edit/{id}", None,         (303, 403, 404, 403, 403)),
    ("POST", "/knowledge/edit/{id}", {"title": "甲"}, (401, 403, 404, 403, 403)),
    ("GET", "/knowledge/review", None,            (303, 403, 200, 403, 403)),
    ("POST", "/knowledge/review/{id}/publish", {}, (401, 403, 409, 403, 403)),  # no version
    ("POST", "/knowledge/review/{id}/reject", {"note": "缺材料"}, (401, 403, 409, 403, 403)),
    ("GET", "/knowledge/articles/{id}/versions", None, (303, 403, 404, 403, 403)),
    ("GET", "/knowledge/versions/{id}", None,     (303, 403, 404, 403, 403)),
    ("GET", "/knowledge/answer-templates", None,  (303, 403, 200, 403, 403)),
    ("POST", "/knowledge/answer-templates", {"kind": "consultation", "field": "answer", "title": "户籍", "text": "请到派出所"}, (401, 403, 303, 403, 403)),
    ("GET", "/knowledge/synonyms", None,          (303, 403, 200, 403, 403)),
    ("POST", "/knowledge/synonyms", {"synonyms": "身份证 二代证"}, (401, 403, 303, 403, 403)),
    ("GET", "/knowledge/report", None,            (303, 403, 200, 403, 403)),
    ("GET", "/api/v1/reports/analysis", None,     (401, 401, 401, 401, 401)),
    ("GET", "/api/v1/articles", None,            (401, 401, 401, 401, 401)),
    ("GET", "/api/v1/articles/1", None,          (401, 401, 401, 401, 401)),
    ("GET", "/supervisor/callcentre.xlsx", None,  (303, 403, 200, 403, 403)),
    ("GET", "/callbacks", None,                   (303, 404, 404, 403, 403)),  # 404: none injected
    ("POST", "/callbacks/{id}/call", {},          (401, 404, 404, 403, 403)),
    ("POST", "/callbacks/{id}/outcome", {"reached": "no"}, (401, 404, 404, 403, 403)),
    ("POST", "/callbacks/{id}/return-call", {"reached": "no"}, (401, 404, 404, 403, 403)),
    ("GET", "/workorders", None,                  (303, 303, 303, 403, 403)),
    ("GET", "/workorders/to_review", None,        (303, 200, 200, 403, 403)),
    ("POST", "/appeals/{id}/dispatch", {"unit_id": "{unit}", "reason": "属地",
                                        "instruction": "请办理"}, (401, 303, 303, 403, 403)),
    ("POST", "/appeals/{id}/accept", {},          (401, 409, 409, 403, 403)),  # nothing to review
    ("GET", "/supervisor/extensions", None,       (303, 403, 200, 403, 403)),
    ("POST", "/supervisor/extensions/{id}/approve", {}, (401, 403, 404, 403, 403)),  # none
    ("GET", "/unit", None,                        (303, 403, 403, 403, 303)),
    ("GET", "/unit/work/to_sign", None,           (303, 403, 403, 403, 200)),
    ("GET", "/unit/appeals/{id}", None,           (303, 403, 403, 403, 404)),  # not the unit's
    ("POST", "/unit/appeals/{id}/sign", {},       (401, 403, 403, 403, 404)),
]


def test_the_table_covers_every_route():
    covered = set()
    for method, path, _form, _expected in TABLE:
        concrete = path.replace("{id}", "1").replace("{case}", "2026112800001") \
            .replace("{agent}", "1")
        for route, regex in ((r, r.regex) for r in ROUTES):
            if route.method == method and regex.match(concrete):
                covered.add(route)
    assert covered == set(ROUTES)


@pytest.mark.parametrize("role", ROLES)
def test_each_route_answers_each_role_as_the_table_says(role, database, pumped_reactor):
    core = make_core(database, pumped_reactor, SettableClock(NOW))
    app = make_app(core)
    unit = database.write_now(add_unit)
    agents = {name: create_agent(database, f"u_{name}", AgentRole(name),
                                 interface=f"PJSIP/{name}").id
              for name in ("agent", "supervisor", "admin")}
    create_agent(database, "u_unit_officer", AgentRole.UNIT_OFFICER, unit_code="PS-LS")
    browser = Browser(app, pumped_reactor)
    if role != "anonymous":
        assert browser.login(f"u_{role}").status == 303
    problems = []
    for method, path, form, expected in TABLE:
        appeal = pumped_reactor.wait(core.appeals.create(new_appeal(), actor="test"))
        concrete = path.replace("{id}", str(appeal.id)).replace("{case}", appeal.case_number) \
            .replace("{agent}", str(agents["agent"]))
        if form is not None:
            form = {k: v.replace("{unit}", str(unit)) for k, v in form.items()}
        if method == "GET":
            result = browser.get(concrete)
        else:
            result = browser.post(concrete, form)
        want = expected[ROLES.index(role)]
        if result.status != want:
            problems.append(f"{method} {concrete}: {result.status}, expected {want}")
        if role != "anonymous" and path == "/logout":
            browser.login(f"u_{role}")
    assert not problems, "\n".join(problems)


def test_an_unknown_path_is_404_and_a_wrong_method_405(database, pumped_reactor):
    app = make_app(make_core(database, pumped_reactor, SettableClock(NOW)))
    browser = Browser(app, pumped_reactor)
    assert browser.get("/nowhere").status == 404
    result = browser.request("DELETE", "/appeals")
    assert result.status == 405 and result.header("Allow") == "GET, POST"


def test_routes_are_matched_whole_so_a_suffix_does_not_slip_past(database, pumped_reactor):
    app = make_app(make_core(database, pumped_reactor, SettableClock(NOW)))
    browser = Browser(app, pumped_reactor)
    assert browser.get("/admin/agents/../agents").status == 404
    assert browser.get("/static/../app.py").status == 404
    assert isinstance(WebRequest("GET", "/"), WebRequest)
