"""The guide sent to a caller by SMS from the desk (办事指南短信): the core checks what may be
sent (a published article that is not a sample, to a mobile number) and hands the request
to the participants of `GuideSmsHook` in the same transaction; the SMS content layer is the
one that renders and queues it through the outbox, recorded on the appeal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hotline import audit
from hotline.hooks import TransactionHook
from hotline.knowledge.errors import KnowledgeError
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, is_mobile, normalise_phone
from schemas.knowledge import KnowledgeArticle, KnowledgeConsultation, KnowledgeVersion


@dataclass(frozen=True)
class GuideRequest:
    article_id: int
    version_id: int
    title: str
    materials: str
    location: str
    hours: str
    fee: str
    time_limit: str
    phone: str  # normalised mobile number
    appeal_id: int | None
    agent: str
    at: dt.datetime


# fn(session, request): queue the guide SMS (the SMS content layer joins it).
GuideSmsHook = TransactionHook[[GuideRequest]]


class GuideRefused(KnowledgeError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # sample, no_phone, unavailable, not_published


def send_guide(session: Session, hook: GuideSmsHook | None, article_id: int, *, phone: str,
               appeal_id: int | None, agent: str, now: dt.datetime) -> GuideRequest:
    if hook is None or not hook.names:
        raise GuideRefused("unavailable", "短信服务未启用")
    article = session.get(KnowledgeArticle, article_id)
    if article is None or article.retired or not article.published_version_id:
        raise GuideRefused("not_published", "该条目没有已发布的版本")
    if article.sample:
        raise GuideRefused("sample", "示例内容不能作为正式答复发送")
    try:
        mobile = normalise_phone(phone)
    except PhoneNumberError:
        raise GuideRefused("no_phone", "来电号码不是手机号，无法发送短信") from None
    if not is_mobile(mobile):
        raise GuideRefused("no_phone", "来电号码不是手机号，无法发送短信")
    version = session.get(KnowledgeVersion, article.published_version_id)
    assert version is not None
    request = GuideRequest(article.id, version.id, version.title, version.materials,
                           version.location, version.hours, version.fee, version.time_limit,
                           mobile, appeal_id, agent, now)
    hook.run(session, request)
    session.add(KnowledgeConsultation(at=now, agent=agent, article_id=article.id,
                                      appeal_id=appeal_id, query=""))
    audit.record(session, at=now, actor=agent, action="send_guide",
                 entity_type="knowledge_article", entity_id=article.id,
                 note=f"{mask_phone(mobile)} 第 {version.number} 版")
    return request
