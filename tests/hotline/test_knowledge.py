"""The knowledge base: drafting, review and publishing with the versions kept and readable,
the audit trail, the overdue-review flag; and the Chinese search (words, pinyin, initials,
synonyms, item-code typos), on each database."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline import audit
from hotline.alerts import open_alerts
from hotline.knowledge import ArticleFields, KnowledgeError
from hotline.knowledge import repository as kb
from hotline.knowledge.search import search
from hotline.reference_data import load_catalogue, shipped_catalogue
from tests.support.appeals import add_unit, utc

NOW = utc(2026, 12, 1, 2, 0)
RESIDENCE = ArticleFields(title="居住证申领", answer="持身份证和居住证明到派出所办理。",
                          conditions="在本市居住半年以上", materials="居民身份证、居住证明",
                          location="居住地派出所", hours="工作日 9:00-17:00", fee="免费",
                          time_limit="15 个工作日", legal_basis="《居住证暂行条例》",
                          unit_code="PS-LS", keywords="暂住证 居住登记",
                          valid_from=dt.date(2026, 1, 1), review_by=dt.date(2026, 12, 31))


def published(session, fields, *, item_code=None, author="wang", reviewer="zhao"):
    article_id = kb.create_article(session, fields, actor=author, now=NOW, item_code=item_code)
    version_id = kb.article(session, article_id).latest.id
    kb.submit(session, version_id, actor=author, now=NOW)
    kb.publish(session, version_id, reviewer=reviewer, now=NOW)
    return article_id


@pytest.fixture
def base(database):
    def setup(session):
        load_catalogue(session, shipped_catalogue())
        add_unit(session)
    database.write_now(setup)
    return database


def test_a_draft_is_published_by_a_reviewer_and_its_old_version_stays_readable(base):
    article_id = base.write_now(published, RESIDENCE)
    second = base.write_now(kb.save_draft, article_id,
                            ArticleFields(**{**RESIDENCE.__dict__, "fee": "工本费 20 元"}),
                            actor="wang", now=NOW + dt.timedelta(days=1), change_note="改收费")
    record = base.read_now(kb.article, article_id)
    assert record.published.fields.fee == "免费" and record.latest.id == second
    assert record.published.unit_name == "兰山派出所"
    base.write_now(kb.submit, second, actor="wang", now=NOW)
    base.write_now(kb.publish, second, reviewer="zhao", now=NOW + dt.timedelta(days=2))
    history = base.read_now(kb.versions, article_id)
    assert [(v.number, v.state, v.fields.fee) for v in history] == [
        (2, "published", "工本费 20 元"), (1, "superseded", "免费")]
    assert history[0].change_note == "改收费" and history[0].reviewed_by == "zhao"
    trail = base.read_now(audit.trail, "knowledge_article", article_id)
    assert [(e.action, e.actor) for e in trail] == [
        ("create", "wang"), ("submit", "wang"), ("publish", "zhao"), ("edit", "wang"),
        ("submit", "wang"), ("publish", "zhao")]


def test_an_author_cannot_publish_their_own_version(base):
    article_id = base.write_now(kb.create_article, RESIDENCE, actor="wang", now=NOW)
    version_id = base.read_now(kb.article, article_id).latest.id
    base.write_now(kb.submit, version_id, actor="wang", now=NOW)
    with pytest.raises(KnowledgeError, match="不能审核发布自己编写的版本"):
        base.write_now(kb.publish, version_id, reviewer="wang", now=NOW)
    with pytest.raises(KnowledgeError, match="正在审核"):
        base.write_now(kb.save_draft, article_id, RESIDENCE, actor="wang", now=NOW)
    with pytest.raises(KnowledgeError, match="请写明原因"):
        base.write_now(kb.reject, version_id, reviewer="zhao", now=NOW, note=" ")
    base.write_now(kb.reject, version_id, reviewer="zhao", now=NOW, note="材料不全")
    assert base.read_now(kb.article, article_id).published is None
    assert base.read_now(search, "居住证") == []  # nothing unpublished is found


def test_bad_fields_are_refused_in_chinese(base):
    with pytest.raises(KnowledgeError, match="标题不能为空"):
        base.write_now(kb.create_article, ArticleFields(title=" "), actor="wang", now=NOW)
    with pytest.raises(KnowledgeError, match="没有编码为 XX 的单位"):
        base.write_now(kb.create_article, ArticleFields(title="甲", unit_code="XX"),
                       actor="wang", now=NOW)
    with pytest.raises(KnowledgeError, match="审批事项目录中没有编码 ZZ9"):
        base.write_now(kb.create_article, ArticleFields(title="甲"), actor="wang", now=NOW,
                       item_code="ZZ9")
    with pytest.raises(KnowledgeError, match="复核日期不能早于生效日期"):
        base.write_now(kb.create_article, ArticleFields(
            title="甲", valid_from=dt.date(2026, 2, 1), review_by=dt.date(2026, 1, 1)),
            actor="wang", now=NOW)


def test_an_article_past_its_review_date_is_flagged_once_to_the_supervisors(base):
    article_id = base.write_now(published, RESIDENCE)
    assert base.write_now(kb.flag_overdue_reviews, today=dt.date(2026, 12, 31), now=NOW) == []
    later = utc(2027, 1, 2, 1, 0)
    assert base.write_now(kb.flag_overdue_reviews, today=dt.date(2027, 1, 1),
                          now=later) == [article_id]
    assert base.write_now(kb.flag_overdue_reviews, today=dt.date(2027, 1, 2), now=later) == []
    (alert,) = [a for a in base.read_now(open_alerts) if a.kind == kb.REVIEW_ALERT]
    assert "居住证申领" in alert.note and "wang" in alert.note
    assert base.read_now(kb.article, article_id).overdue(dt.date(2027, 1, 1))


@pytest.fixture
def library(base):
    def setup(session):
        ids = {"residence": published(session, RESIDENCE)}
        ids["id_card"] = published(session, ArticleFields(
            title="居民身份证补领", answer="本人到户籍地派出所补领。", materials="户口簿"),
            item_code="SFZ003")
        ids["birth"] = published(session, ArticleFields(title="出生登记",
                                                        materials="出生医学证明"),
                                 item_code="HJ001")
        ids["passport"] = published(session, ArticleFields(title="护照首次申领",
                                                           body="需携带身份证原件。"),
                                    item_code="CRJ001")
        kb.set_synonyms(session, "身份证 二代证\n护照，因私护照", actor="zhao", now=NOW)
        return ids
    return base, base.write_now(setup)


def titles(database, query):
    return [hit.title for hit in database.read_now(search, query)]


def test_search_finds_words_pinyin_and_initials(library):
    database, _ = library
    assert titles(database, "居住证怎么办")[0] == "居住证申领"
    assert titles(database, "juzhuzheng")[0] == "居住证申领"
    assert titles(database, "jzz")[0] == "居住证申领"
    assert titles(database, "ju zhu zheng")[0] == "居住证申领"
    assert titles(database, "暂住证") == ["居住证申领"]  # a keyword
    assert titles(database, "量子力学") == []


def test_search_ranks_the_article_matching_more_words_first(library):
    database, _ = library
    hits = titles(database, "身份证 补领")
    assert hits[0] == "居民身份证补领" and "居住证申领" in hits


def test_search_expands_the_editors_synonyms(library):
    database, _ = library
    assert titles(database, "二代证补领")[0] == "居民身份证补领"
    assert "护照首次申领" in titles(database, "因私护照")


def test_search_finds_item_codes_with_a_typo(library):
    database, _ = library
    assert titles(database, "SFZ003")[0] == "居民身份证补领"
    assert titles(database, "sfz3") == ["居民身份证补领"]
    assert "居民身份证补领" in titles(database, "SFZ033")  # one digit wrong


def test_a_retired_article_is_no_longer_found(library):
    database, ids = library
    database.write_now(kb.retire, ids["birth"], actor="zhao", now=NOW)
    assert "出生登记" not in titles(database, "出生登记")


def test_consultations_without_an_article_are_counted_for_the_week(library):
    database, ids = library
    for query in ("网约车备案", "网约车备案", "养犬登记"):
        database.write_now(kb.record_consultation, agent="li", now=NOW, article_id=None,
                           query=query)
    database.write_now(kb.record_consultation, agent="li", now=NOW, article_id=ids["birth"])
    database.write_now(kb.record_consultation, agent="li", now=NOW - dt.timedelta(days=8),
                       article_id=None, query="上周的")
    most, gaps, unanswered = database.read_now(kb.week_report, NOW - dt.timedelta(days=7),
                                               NOW + dt.timedelta(hours=1))
    assert most == [(ids["birth"], "出生登记", 1)]
    assert gaps == [("网约车备案", 2), ("养犬登记", 1)] and unanswered == 3


def test_synonym_lines_of_one_word_are_refused(base):
    with pytest.raises(KnowledgeError, match="第 2 行只有一个词"):
        base.write_now(kb.set_synonyms, "身份证 二代证\n户口", actor="zhao", now=NOW)
