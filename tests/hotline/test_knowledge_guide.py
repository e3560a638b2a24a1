"""The guide SMS sent from the desk: through the SMS content layer's participant into the
outbox on the appeal, once per appeal and version, refused for a sample, a landline or with
no SMS layer; the consultation counted and the sending audited."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline import audit
from hotline.config import Config
from hotline.knowledge import ArticleFields
from hotline.knowledge import repository as kb
from hotline.knowledge.cli import SAMPLE
from hotline.knowledge.guide import GuideRefused, GuideSmsHook, send_guide
from hotline.knowledge.sample import load_sample
from hotline.reference_data import load_catalogue, shipped_catalogue
from schemas.enums import SmsKind
from schemas.knowledge import KnowledgeConsultation
from schemas.sms import SmsMessage
from sms_gateway.messages.knowledge_guide import PARTICIPANT, KnowledgeGuideMessages
from sms_gateway.messages.service import build
from tests.support.appeals import make_repository, new_appeal, utc

NOW = utc(2026, 12, 1, 14, 30)  # 22:30 in Shanghai: the caller is on the line, sent now
GUIDE = ArticleFields(title="居民身份证补领", answer="本人到派出所补领。", materials="户口簿",
                      location="户籍地派出所", hours="工作日", fee="免费", time_limit="当场受理")


@pytest.fixture
def world(database):
    messaging = build(Config(), ZoneInfo("Asia/Shanghai"))
    hook = GuideSmsHook()
    hook.register(PARTICIPANT, KnowledgeGuideMessages(messaging.sender,
                                                      messaging.templates).on_guide)

    def setup(session):
        load_catalogue(session, shipped_catalogue())
        article_id = kb.create_article(session, GUIDE, actor="wang", now=NOW, item_code="SFZ003")
        version_id = kb.article(session, article_id).latest.id
        kb.submit(session, version_id, actor="wang", now=NOW)
        kb.publish(session, version_id, reviewer="zhao", now=NOW)
        appeal = make_repository().create(session, new_appeal(), actor="li", now=NOW)
        return article_id, appeal.id
    article_id, appeal_id = database.write_now(setup)
    return database, hook, article_id, appeal_id


def test_the_guide_goes_through_the_outbox_on_the_appeal_once(world):
    database, hook, article_id, appeal_id = world
    for _ in range(2):  # a double click
        database.write_now(send_guide, hook, article_id, phone="13812345678",
                           appeal_id=appeal_id, agent="li", now=NOW)

    def guides(session):
        return [(m.destination, m.appeal_id, m.text, m.not_before) for m in session.scalars(
            select(SmsMessage).where(SmsMessage.kind == SmsKind.KNOWLEDGE_GUIDE))]
    ((destination, on_appeal, text, not_before),) = database.read_now(guides)
    assert destination == "13812345678" and on_appeal == appeal_id and not_before == NOW
    assert "【办事指南】居民身份证补领" in text and "材料：户口簿" in text and "9600110" in text
    trail = database.read_now(audit.trail, "knowledge_article", article_id)
    assert trail[-1].action == "send_guide" and "138****5678" in trail[-1].note
    counted = database.read_now(lambda s: s.scalar(select(KnowledgeConsultation.article_id)))
    assert counted == article_id


def test_a_sample_a_landline_or_no_sms_layer_is_refused(world):
    database, hook, article_id, appeal_id = world
    with pytest.raises(GuideRefused, match="不是手机号") as refused:
        database.write_now(send_guide, hook, article_id, phone="05398888888",
                           appeal_id=appeal_id, agent="li", now=NOW)
    assert refused.value.reason == "no_phone"
    with pytest.raises(GuideRefused, match="短信服务未启用"):
        database.write_now(send_guide, GuideSmsHook(), article_id, phone="13812345678",
                           appeal_id=appeal_id, agent="li", now=NOW)
    database.write_now(load_sample, SAMPLE.read_text("utf-8"), now=NOW)
    sample_id = database.read_now(kb.article_for_item, "HJ001")
    with pytest.raises(GuideRefused, match="示例内容不能作为正式答复发送"):
        database.write_now(send_guide, hook, sample_id, phone="13812345678",
                           appeal_id=appeal_id, agent="li", now=NOW)
    assert database.read_now(lambda s: list(s.scalars(select(SmsMessage.id).where(
        SmsMessage.kind == SmsKind.KNOWLEDGE_GUIDE)))) == []
