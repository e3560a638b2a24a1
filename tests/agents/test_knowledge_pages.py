"""The knowledge base's pages over HTTP: a supervisor drafts and submits, another publishes
(not the author), agents find it in Chinese and pinyin on the search page and its JSON, the
versions are listed and an old one readable, bad fields are refused in Chinese with what was
typed kept, the answer templates, synonyms and a gap recorded for the weekly report."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from schemas.enums import AgentRole
from tests.agents.support import Browser, SettableClock, create_agent, make_app, make_core

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)  # a Tuesday
ARTICLE = {"title": "居住证申领", "answer": "持身份证到居住地派出所办理。", "materials": "身份证、居住证明",
           "location": "居住地派出所", "keywords": "暂住证", "review_by": "2027-06-30"}


@pytest.fixture
def hall(database, pumped_reactor):
    app = make_app(make_core(database, pumped_reactor, SettableClock(NOW)))
    for name, role in (("wang", AgentRole.SUPERVISOR), ("zhao", AgentRole.SUPERVISOR),
                       ("li", AgentRole.AGENT)):
        create_agent(database, name, role)
    browsers = {}
    for name in ("wang", "zhao", "li"):
        browsers[name] = Browser(app, pumped_reactor)
        assert browsers[name].login(name).status == 303
    return browsers


def publish_one(hall) -> int:
    wang, zhao = hall["wang"], hall["zhao"]
    created = wang.post("/knowledge/edit/new", ARTICLE)
    assert created.status == 303, created.body
    article_id = int(created.location.split("/")[3].split("?")[0])
    wang.get(created.location)
    submitted = wang.post(f"/knowledge/edit/{article_id}", {**ARTICLE, "submit": "1"})
    assert submitted.status == 303 and submitted.location.endswith("done=submitted")
    review = zhao.get("/knowledge/review")
    assert "居住证申领" in review.body
    version_id = int(review.body.split('id="kb-pending-')[1].split('"')[0])
    assert zhao.post(f"/knowledge/review/{version_id}/publish", {}).status == 303
    return article_id


def test_a_draft_is_published_by_another_supervisor_and_found_by_agents(hall):
    wang = hall["wang"]
    created = wang.post("/knowledge/edit/new", ARTICLE)
    article_id = int(created.location.split("/")[3].split("?")[0])
    wang.get(f"/knowledge/edit/{article_id}")
    wang.post(f"/knowledge/edit/{article_id}", {**ARTICLE, "submit": "1"})
    review = wang.get("/knowledge/review")
    version_id = int(review.body.split('id="kb-pending-')[1].split('"')[0])
    refused = wang.post(f"/knowledge/review/{version_id}/publish", {})
    assert refused.status == 409 and "不能审核发布自己编写的版本" in refused.body
    hall["zhao"].get("/knowledge/review")
    assert hall["zhao"].post(f"/knowledge/review/{version_id}/publish", {}).status == 303
    li = hall["li"]
    page = li.get("/knowledge?q=jzz")
    assert page.status == 200 and f'id="kb-hit-{article_id}"' in page.body
    found = json.loads(li.get("/knowledge/search.json?q=juzhuzheng").body)
    assert found["hits"][0]["title"] == "居住证申领"
    article = json.loads(li.get(f"/knowledge/articles/{article_id}.json").body)
    assert article["answer"] == "持身份证到居住地派出所办理。"
    assert {"name": "所需材料", "text": "身份证、居住证明"} in article["guide"]
    shown = li.get(f"/knowledge/articles/{article_id}")
    assert "居住地派出所" in shown.body and "kb-sample" not in shown.body
    assert li.get("/knowledge/edit").status == 403  # agents search, supervisors edit


def test_a_new_version_keeps_the_old_one_readable(hall):
    article_id = publish_one(hall)
    wang = hall["wang"]
    wang.get(f"/knowledge/edit/{article_id}")
    changed = {**ARTICLE, "fee": "免费", "change_note": "补充收费", "submit": "1"}
    assert wang.post(f"/knowledge/edit/{article_id}", changed).status == 303
    zhao = hall["zhao"]
    review = zhao.get("/knowledge/review")
    version_id = int(review.body.split('id="kb-pending-')[1].split('"')[0])
    zhao.post(f"/knowledge/review/{version_id}/publish", {})
    versions = zhao.get(f"/knowledge/articles/{article_id}/versions")
    assert "第 2 版" in versions.body and "第 1 版" in versions.body and "补充收费" in versions.body
    first = int(versions.body.split('id="kb-version-')[3].split('"')[0])
    old = zhao.get(f"/knowledge/versions/{first}")
    assert old.status == 200 and "已被替代" in old.body and 'id="kb-fee"' not in old.body


def test_bad_fields_are_refused_in_chinese_keeping_what_was_typed(hall):
    wang = hall["wang"]
    wang.get("/knowledge/edit/new")
    refused = wang.post("/knowledge/edit/new", {**ARTICLE, "review_by": "明年六月"})
    assert refused.status == 422 and "复核日期「明年六月」不是日期" in refused.body
    assert "持身份证到居住地派出所办理。" in refused.body
    unknown = wang.post("/knowledge/edit/new", {**ARTICLE, "item_code": "ZZ9"})
    assert unknown.status == 422 and "审批事项目录中没有编码 ZZ9" in unknown.body


def test_answer_templates_synonyms_and_the_weekly_gaps(hall):
    publish_one(hall)
    wang = hall["wang"]
    wang.get("/knowledge/answer-templates")
    assert wang.post("/knowledge/answer-templates", {
        "kind": "consultation", "field": "answer", "title": "户籍咨询",
        "text": "请携带户口簿到户籍地派出所办理。"}).status == 303
    listed = json.loads(hall["li"].get("/knowledge/templates.json?kind=consultation").body)
    assert listed["templates"][0]["text"] == "请携带户口簿到户籍地派出所办理。"
    wang.get("/knowledge/synonyms")
    assert wang.post("/knowledge/synonyms", {"synonyms": "居住证 暂住证明"}).status == 303
    assert "居住证申领" in hall["li"].get("/knowledge?q=暂住证明").body
    refused = wang.post("/knowledge/synonyms", {"synonyms": "户口"})
    assert refused.status == 422 and "只有一个词" in refused.body
    li = hall["li"]
    li.get("/knowledge?q=网约车备案")
    assert li.post("/knowledge/consultations", {"q": "网约车备案"}).status == 303
    report = wang.get("/knowledge/report")
    assert "网约车备案" in report.body and "无对应知识的咨询（1 次）" in report.body
