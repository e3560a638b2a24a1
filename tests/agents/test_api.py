"""The JSON API for the bureau's systems, checked against the OpenAPI document it serves."""

import datetime as dt
import json
import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import func, select

from hotline.audit import trail
from schemas.models import Appeal
from tests.agents.support import API_TOKEN, Browser, SettableClock, make_app, make_core
from tests.support.appeals import add_unit

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.timezone.utc)
AUTH = {"authorization": f"Bearer {API_TOKEN}", "content-type": "application/json"}


@pytest.fixture
def core(database, pumped_reactor):
    return make_core(database, pumped_reactor, SettableClock(NOW))


@pytest.fixture
def client(core, pumped_reactor):
    return Browser(make_app(core), pumped_reactor)


@pytest.fixture
def document(client):
    served = client.get("/api/openapi.json")
    assert served.status == 200
    assert served.response.content_type.startswith("application/json")
    doc = json.loads(served.body)
    assert doc["openapi"].startswith("3.1")
    return doc


def operation(document, method: str, path: str) -> dict:
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def check(document, method: str, path: str, result) -> dict:
    """The status is one the document declares for the operation, and the body matches its
    schema."""
    responses = operation(document, method, path)["responses"]
    assert str(result.status) in responses, (result.status, result.body)
    schema = responses[str(result.status)]["content"]["application/json"]["schema"]
    body = json.loads(result.body)
    validator = Draft202012Validator({**schema, "components": document["components"]},
                                     format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, [e.message for e in errors]
    return body


def call(client, method, path, document=None, headers=AUTH):
    body = json.dumps(document, ensure_ascii=False).encode() if document is not None else b""
    return client.request(method, path, headers=headers, body=body)


NEW = {"kind": "consultation", "subject": "户口迁移需要哪些材料", "citizen_phone": "13912345678",
       "body": "从外省迁入本市", "channel": "web"}


def test_the_document_is_a_valid_schema_set_and_the_example_request_matches(document):
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    new_schema = {**document["components"]["schemas"]["NewAppeal"],
                  "components": document["components"]}
    assert not list(Draft202012Validator(new_schema).iter_errors(NEW))


def test_create_then_read_status_by_case_number(client, document, database):
    created = call(client, "POST", "/api/v1/appeals", NEW)
    assert created.status == 201
    body = check(document, "POST", "/api/v1/appeals", created)
    assert body["status"] == "received" and body["channel"] == "web"
    assert re.fullmatch(r"2026112800001", body["case_number"])
    assert created.header("Location") == f"/api/v1/appeals/{body['case_number']}"
    read = call(client, "GET", f"/api/v1/appeals/{body['case_number']}")
    assert read.status == 200
    status = check(document, "GET", "/api/v1/appeals/1", read)
    assert status == body
    dt.datetime.fromisoformat(status["deadline_at"])
    views = [e for e in database.read_now(trail, "appeal", 1) if e.action == "view"]
    assert [(e.actor, e.note) for e in views] == [("api", "status by case number")]


def test_status_follows_the_lifecycle(client, core, document, pumped_reactor):
    body = json.loads(call(client, "POST", "/api/v1/appeals", NEW).body)
    unit = core.db.write_now(add_unit)
    pumped_reactor.wait(core.appeals.assign(1, unit, actor="li"))
    pumped_reactor.wait(core.appeals.start(1, actor="li"))
    pumped_reactor.wait(core.appeals.resolve(1, "已告知所需材料", actor="li"))
    status = check(document, "GET", "/api/v1/appeals/1",
                   call(client, "GET", f"/api/v1/appeals/{body['case_number']}"))
    assert status["status"] == "resolved" and status["resolution"] == "已告知所需材料"
    assert status["resolved_at"] is not None


def test_status_gives_the_work_order_progress_without_the_working_words(
        client, core, document, database):
    """The portal's view of the flow: each step with its time and the unit's name, the new
    deadline of an extension; no reason, instruction or reply."""
    body = json.loads(call(client, "POST", "/api/v1/appeals", NEW).body)
    repo = core.appeals.repository
    first, second = (database.write_now(add_unit, code, name)
                     for code, name in (("PS-HD", "河东派出所"), ("PS-LS", "兰山派出所")))
    at = NOW + dt.timedelta(minutes=10)

    def step(minutes):
        return at + dt.timedelta(minutes=minutes)

    database.write_now(repo.dispatch, 1, first, reason="辖区内", instruction="内部要求甲",
                       actor="li", now=step(0))
    database.write_now(repo.return_order, 1, "不属本辖区", unit_id=first, actor="hd", now=step(20))
    database.write_now(repo.dispatch, 1, second, reason="改由兰山", instruction="内部要求乙",
                       actor="li", now=step(30))
    database.write_now(repo.sign, 1, unit_id=second, actor="ls", now=step(40))
    asked = database.write_now(repo.request_extension, 1, 3, "需走访", unit_id=second,
                               actor="ls", now=step(60))
    decided = database.write_now(repo.decide_extension, asked.id, True, None, actor="wang",
                                 now=step(90))
    database.write_now(repo.reply, 1, "已答复来电人的内部说明", unit_id=second, actor="ls",
                       now=step(120))
    status = check(document, "GET", "/api/v1/appeals/1",
                   call(client, "GET", f"/api/v1/appeals/{body['case_number']}"))
    steps = [(s["step"], s["unit"]) for s in status["progress"]]
    assert steps == [("received", None), ("dispatched", "河东派出所"), ("returned", "河东派出所"),
                     ("dispatched", "兰山派出所"), ("signed", "兰山派出所"),
                     ("extended", "兰山派出所"), ("replied", "兰山派出所")]
    assert status["unit"] == "兰山派出所"
    extended = status["progress"][5]
    assert extended["label"] == "经批准延期办理"
    assert dt.datetime.fromisoformat(extended["deadline_at"]) == decided.due_after
    assert dt.datetime.fromisoformat(extended["at"]) == step(90)
    text = json.dumps(status, ensure_ascii=False)
    for word in ("内部要求", "不属本辖区", "需走访", "内部说明"):
        assert word not in text

    database.write_now(repo.accept_reply, 1, "已办结", actor="li", now=step(150))
    status = check(document, "GET", "/api/v1/appeals/1",
                   call(client, "GET", f"/api/v1/appeals/{body['case_number']}"))
    assert [s["step"] for s in status["progress"]][-1] == "resolved"
    assert status["progress"][-1]["label"] == "已办结"


def test_unknown_case_number_is_404(client, document):
    result = call(client, "GET", "/api/v1/appeals/2026112899999")
    assert result.status == 404
    check(document, "GET", "/api/v1/appeals/2026112899999", result)


@pytest.mark.parametrize("headers", [
    {},
    {"authorization": "Bearer wrong-token-wrong-token-123"},
    {"authorization": f"Basic {API_TOKEN}"},
])
def test_requests_without_the_token_are_401_and_change_nothing(client, document, headers,
                                                               database):
    created = call(client, "POST", "/api/v1/appeals", NEW, headers=headers)
    assert created.status == 401
    check(document, "POST", "/api/v1/appeals", created)
    assert created.header("WWW-Authenticate") == 'Bearer realm="hotline"'
    read = call(client, "GET", "/api/v1/appeals/2026112800001", headers=headers)
    assert read.status == 401
    check(document, "GET", "/api/v1/appeals/2026112800001", read)
    assert database.read_now(lambda s: s.scalar(select(func.count()).select_from(Appeal))) == 0


def test_api_refuses_everything_when_no_token_is_configured(core, pumped_reactor):
    client = Browser(make_app(core, api_token=""), pumped_reactor)
    assert call(client, "POST", "/api/v1/appeals", NEW,
                headers={"authorization": "Bearer "}).status == 401


@pytest.mark.parametrize("payload,status,field", [
    (b"not json", 400, None),
    ([1, 2], 400, None),
    ({**NEW, "priority": "high"}, 400, "priority"),
    ({**NEW, "kind": "murder"}, 422, "kind"),
    ({**NEW, "channel": "phone"}, 422, "channel"),
    ({k: v for k, v in NEW.items() if k != "subject"}, 422, "subject"),
    ({**NEW, "citizen_phone": "12345"}, 422, "citizen_phone"),
    ({**NEW, "citizen_id_number": "110101199003071234"}, 422, "citizen_id_number"),
    ({**NEW, "subject": 5}, 422, "subject"),
    ({**NEW, "subject": "长" * 201}, 422, "subject"),
])
def test_bad_input_is_refused_with_the_field_named(client, document, payload, status, field):
    if isinstance(payload, bytes):
        result = client.request("POST", "/api/v1/appeals", headers=AUTH, body=payload)
    else:
        result = call(client, "POST", "/api/v1/appeals", payload)
    assert result.status == status, result.body
    body = check(document, "POST", "/api/v1/appeals", result)
    assert body["error"].get("field") == field


def test_session_cookies_do_not_open_the_api_and_the_token_opens_no_page(client):
    assert client.get("/appeals", headers={"authorization": f"Bearer {API_TOKEN}"}).status == 303


@pytest.fixture
def reporting_client(core, pumped_reactor):
    from agents.app import WebApp
    from agents.config import AuthConfig
    from callback_queue.report import compliance_report
    from tests.agents.support import SECRET

    app = WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN),
                 reports={"callbacks": compliance_report})
    return Browser(app, pumped_reactor)


def test_callback_report_is_served_as_documented(reporting_client, document):
    path = "/api/v1/reports/callbacks"
    result = reporting_client.get(f"{path}?from=2026-11-01&to=2026-11-30&by=kind", headers=AUTH)
    body = check(document, "GET", path, result)
    assert body["by"] == "kind" and body["rows"][-1]["group"] == "*"
    assert body["rows"][-1]["due"] == 0 and body["rows"][-1]["compliance"] is None


@pytest.mark.parametrize("query, field", [("from=2026-11-01", "to"), ("from=x&to=2026-11-30", "from"),
                                          ("from=2026-11-02&to=2026-11-01", "to"),
                                          ("from=2026-11-01&to=2026-11-30&by=day", "by")])
def test_callback_report_names_the_bad_parameter(reporting_client, document, query, field):
    path = "/api/v1/reports/callbacks"
    result = reporting_client.get(f"{path}?{query}", headers=AUTH)
    assert result.status == 400
    assert check(document, "GET", path, result)["error"]["field"] == field


def test_callback_report_needs_the_token(reporting_client, document):
    path = "/api/v1/reports/callbacks"
    result = reporting_client.get(f"{path}?from=2026-11-01&to=2026-11-30")
    assert result.status == 401
    check(document, "GET", path, result)


# The knowledge base for the portal ------------------------------------------------------------

def published_article(database, fields, **kw):
    from tests.hotline.test_knowledge import published

    return database.write_now(published, fields, **kw)


def test_the_portal_searches_and_reads_the_published_articles_only(client, document, database):
    import dataclasses

    from hotline.knowledge import repository as kb
    from hotline.knowledge.records import ArticleFields
    from tests.hotline.test_knowledge import NOW as KB_NOW
    from tests.hotline.test_knowledge import RESIDENCE

    database.write_now(add_unit)
    article_id = published_article(database, RESIDENCE)
    draft_only = database.write_now(kb.create_article, ArticleFields(
        title="居住证补领草稿", answer="草稿"), actor="wang", now=KB_NOW)
    found = check(document, "GET", "/api/v1/articles",
                  call(client, "GET", "/api/v1/articles?q=jzz"))
    assert [a["id"] for a in found["articles"]] == [article_id]  # pinyin initials, no draft
    assert found["articles"][0]["title"] == "居住证申领" and not found["articles"][0]["sample"]
    article = check(document, "GET", "/api/v1/articles/1",
                    call(client, "GET", f"/api/v1/articles/{article_id}"))
    assert article["materials"] == "居民身份证、居住证明" and article["unit"] == "兰山派出所"
    assert article["review_by"] == "2026-12-31" and article["version"] == 1
    assert set(article) - {"id", "kind", "item_code", "item_name", "sample", "version",
                           "unit", "valid_from", "review_by"} == {
        "title", *dataclasses.asdict(RESIDENCE).keys()} - {
        "unit_code", "keywords", "valid_from", "review_by"}
    unpublished = call(client, "GET", f"/api/v1/articles/{draft_only}")
    assert unpublished.status == 404
    check(document, "GET", "/api/v1/articles/1", unpublished)
    database.write_now(kb.retire, article_id, actor="zhao", now=KB_NOW)
    assert call(client, "GET", f"/api/v1/articles/{article_id}").status == 404
    assert json.loads(call(client, "GET", "/api/v1/articles?q=jzz").body)["articles"] == []


@pytest.mark.parametrize("path, field", [
    ("/api/v1/articles", "q"), ("/api/v1/articles?q=", "q"),
    ("/api/v1/articles?q=" + "证" * 101, "q"), ("/api/v1/articles/abc", "article_id"),
    ("/api/v1/articles/0", "article_id"), ("/api/v1/articles/1234567890", "article_id"),
    ("/api/v1/articles/012", "article_id"),
])
def test_a_bad_article_request_is_a_400_naming_its_field(client, document, path, field):
    result = call(client, "GET", path)
    assert result.status == 400
    assert check(document, "GET", path.split("?")[0], result)["error"]["field"] == field
