"""Articles, their versions and their review, in the caller's transaction.

A draft is one version its author may rework until it is submitted; from then on a version
never changes: a reviewer (not its author) publishes it, and the version it replaces is
kept, readable, as superseded; or sends it back with a reason. Every step is audited, and
publishing rebuilds the article's index terms in the same transaction, so the search never
finds text that is not published."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hotline import alerts, audit
from hotline.knowledge import indexing
from hotline.knowledge.errors import KnowledgeError
from hotline.knowledge.records import ArticleFields, ArticleRecord, VersionRecord
from schemas.enums import AppealKind
from schemas.knowledge import (
    AnswerTemplate,
    ArticleKind,
    KnowledgeArticle,
    KnowledgeConsultation,
    KnowledgeSynonym,
    KnowledgeTerm,
    KnowledgeVersion,
    VersionState,
)
from schemas.models import ApprovalItem, Unit

REVIEW_ALERT = "knowledge_review"
ENTITY = "knowledge_article"
TEXT_FIELDS = ("title", "answer", "conditions", "materials", "location", "hours", "fee",
               "time_limit", "legal_basis", "body", "keywords")
LIMITS = {"title": 200}
TEMPLATE_FIELDS = {"answer": "答复内容", "resolution": "办理结果"}


def _check(fields: ArticleFields) -> None:
    if not fields.title.strip():
        raise KnowledgeError("标题不能为空")
    for name, limit in LIMITS.items():
        if len(getattr(fields, name)) > limit:
            raise KnowledgeError(f"标题不能超过 {limit} 个字")
    if fields.valid_from and fields.review_by and fields.review_by < fields.valid_from:
        raise KnowledgeError("复核日期不能早于生效日期")


def _unit_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    unit_id = session.scalar(select(Unit.id).where(Unit.code == code.strip()))
    if unit_id is None:
        raise KnowledgeError(f"没有编码为 {code} 的单位")
    return unit_id


def _fill(session: Session, version: KnowledgeVersion, fields: ArticleFields) -> None:
    _check(fields)
    for name in TEXT_FIELDS:
        setattr(version, name, getattr(fields, name).strip())
    version.unit_id = _unit_id(session, fields.unit_code)
    version.valid_from, version.review_by = fields.valid_from, fields.review_by


def create_article(session: Session, fields: ArticleFields, *, actor: str, now: dt.datetime,
                   item_code: str | None = None, sample: bool = False,
                   change_note: str = "新建") -> int:
    """A new article with its first version as a draft; an approval item has one article."""
    item_id = None
    if item_code:
        item_id = session.scalar(select(ApprovalItem.id).where(ApprovalItem.code == item_code))
        if item_id is None:
            raise KnowledgeError(f"审批事项目录中没有编码 {item_code}")
        if session.scalar(select(KnowledgeArticle.id).where(KnowledgeArticle.item_id == item_id)):
            raise KnowledgeError(f"事项 {item_code} 已有知识条目")
    article = KnowledgeArticle(kind=ArticleKind.APPROVAL if item_id else ArticleKind.FREE,
                               item_id=item_id, editor=actor, sample=sample, retired=False,
                               created_at=now)
    session.add(article)
    session.flush()
    version = KnowledgeVersion(article_id=article.id, number=1, state=VersionState.DRAFT,
                               author=actor, created_at=now, change_note=change_note)
    _fill(session, version, fields)
    session.add(version)
    session.flush()
    audit.record(session, at=now, actor=actor, action="create", entity_type=ENTITY,
                 entity_id=article.id, to_state=VersionState.DRAFT.value, note=fields.title)
    return article.id


def save_draft(session: Session, article_id: int, fields: ArticleFields, *, actor: str,
               now: dt.datetime, change_note: str = "") -> int:
    """The article's open draft rewritten, or a new draft numbered after its last version.
    A version waiting for review is not edited: it is reviewed first."""
    article = _article(session, article_id, lock=True)
    last = _last(session, article.id)
    if last.state == VersionState.PENDING:
        raise KnowledgeError(f"第 {last.number} 版正在审核，审核后才能再修改")
    if last.state == VersionState.DRAFT:
        if last.author != actor:
            raise KnowledgeError(f"第 {last.number} 版草稿是 {last.author} 在编辑")
        version = last
    else:
        version = KnowledgeVersion(article_id=article.id, number=last.number + 1,
                                   state=VersionState.DRAFT, author=actor)
    version.created_at, version.change_note = now, change_note.strip()
    with session.no_autoflush:
        _fill(session, version, fields)
    session.add(version)
    session.flush()
    audit.record(session, at=now, actor=actor, action="edit", entity_type=ENTITY,
                 entity_id=article.id, to_state=VersionState.DRAFT.value,
                 note=f"第 {version.number} 版：{change_note.strip() or fields.title}")
    return version.id


def submit(session: Session, version_id: int, *, actor: str, now: dt.datetime) -> None:
    version = _version(session, version_id)
    if version.state != VersionState.DRAFT:
        raise KnowledgeError(f"第 {version.number} 版不是草稿，不能提交审核")
    version.state = VersionState.PENDING
    audit.record(session, at=now, actor=actor, action="submit", entity_type=ENTITY,
                 entity_id=version.article_id, from_state=VersionState.DRAFT.value,
                 to_state=VersionState.PENDING.value, note=f"第 {version.number} 版")


def publish(session: Session, version_id: int, *, reviewer: str, now: dt.datetime,
            note: str = "", own_allowed: bool = False) -> None:
    """A pending version published by a reviewer other than its author (`own_allowed` for
    an operator's import, which is its own review)."""
    version = _version(session, version_id)
    if version.state != VersionState.PENDING:
        raise KnowledgeError(f"第 {version.number} 版不在待审核状态")
    if version.author == reviewer and not own_allowed:
        raise KnowledgeError("不能审核发布自己编写的版本")
    article = _article(session, version.article_id, lock=True)
    if article.published_version_id:
        previous = session.get(KnowledgeVersion, article.published_version_id)
        if previous is not None:
            previous.state = VersionState.SUPERSEDED
    version.state = VersionState.PUBLISHED
    version.reviewed_by, version.reviewed_at, version.review_note = reviewer, now, note.strip()
    article.published_version_id = version.id
    article.flagged_review_by = None
    session.flush()
    reindex(session, article.id)
    audit.record(session, at=now, actor=reviewer, action="publish", entity_type=ENTITY,
                 entity_id=article.id, from_state=VersionState.PENDING.value,
                 to_state=VersionState.PUBLISHED.value, note=f"第 {version.number} 版")


def reject(session: Session, version_id: int, *, reviewer: str, now: dt.datetime,
           note: str) -> None:
    version = _version(session, version_id)
    if version.state != VersionState.PENDING:
        raise KnowledgeError(f"第 {version.number} 版不在待审核状态")
    if not note.strip():
        raise KnowledgeError("退回时请写明原因")
    version.state = VersionState.REJECTED
    version.reviewed_by, version.reviewed_at, version.review_note = reviewer, now, note.strip()
    audit.record(session, at=now, actor=reviewer, action="reject", entity_type=ENTITY,
                 entity_id=version.article_id, from_state=VersionState.PENDING.value,
                 to_state=VersionState.REJECTED.value, note=note.strip())


def reindex(session: Session, article_id: int) -> None:
    """The article's index terms from its published version (none when retired)."""
    session.execute(delete(KnowledgeTerm).where(KnowledgeTerm.article_id == article_id))
    article = session.get(KnowledgeArticle, article_id)
    if article is None or article.retired or not article.published_version_id:
        return
    version = session.get(KnowledgeVersion, article.published_version_id)
    assert version is not None
    codes, parts = [], [(version.title, 10), (version.keywords.replace(",", " "), 8),
                        (version.answer, 2), (version.body, 1)]
    parts += [(getattr(version, name), 1) for name in ("conditions", "materials", "location")]
    if article.item_id:
        item = session.get(ApprovalItem, article.item_id)
        if item is not None:
            codes.append(item.code)
            parts.append((item.name, 10))
    terms = indexing.weighted_terms(parts, codes)
    session.add_all(KnowledgeTerm(term=term, article_id=article_id, weight=weight)
                    for term, weight in terms.items())


def retire(session: Session, article_id: int, *, actor: str, now: dt.datetime) -> None:
    article = _article(session, article_id, lock=True)
    article.retired = True
    reindex(session, article_id)
    audit.record(session, at=now, actor=actor, action="retire", entity_type=ENTITY,
                 entity_id=article_id)


def flag_overdue_reviews(session: Session, *, today: dt.date, now: dt.datetime) -> list[int]:
    """Published articles past their review-by date: each flagged once per date to the
    supervisors (an alert naming its editor); the editors' list shows them first."""
    rows = session.execute(
        select(KnowledgeArticle, KnowledgeVersion)
        .join(KnowledgeVersion, KnowledgeVersion.id == KnowledgeArticle.published_version_id)
        .where(KnowledgeArticle.retired.is_(False), KnowledgeVersion.review_by < today)
        .with_for_update(of=KnowledgeArticle))
    flagged = []
    for article, version in rows:
        if article.flagged_review_by == version.review_by:
            continue
        article.flagged_review_by = version.review_by
        alerts.raise_alert(session, kind=REVIEW_ALERT, source="knowledge", at=now,
                           note=f"知识条目《{version.title}》复核期限 {version.review_by} 已过，"
                                f"请编辑 {article.editor} 复核")
        audit.record(session, at=now, actor="service", action="review_overdue",
                     entity_type=ENTITY, entity_id=article.id, note=str(version.review_by))
        flagged.append(article.id)
    return flagged


def article(session: Session, article_id: int) -> ArticleRecord:
    return _record(session, _article(session, article_id))


def articles(session: Session, *, include_retired: bool = False) -> list[ArticleRecord]:
    query = select(KnowledgeArticle).order_by(KnowledgeArticle.id)
    if not include_retired:
        query = query.where(KnowledgeArticle.retired.is_(False))
    return [_record(session, a) for a in session.scalars(query)]


def article_for_item(session: Session, item_code: str) -> int | None:
    return session.scalar(select(KnowledgeArticle.id).join(
        ApprovalItem, ApprovalItem.id == KnowledgeArticle.item_id)
        .where(ApprovalItem.code == item_code))


def versions(session: Session, article_id: int) -> list[VersionRecord]:
    rows = session.scalars(select(KnowledgeVersion).where(KnowledgeVersion.article_id == article_id)
                           .order_by(KnowledgeVersion.number.desc()))
    return [_version_record(session, v) for v in rows]


def version(session: Session, version_id: int) -> VersionRecord:
    return _version_record(session, _version(session, version_id))


def pending(session: Session) -> list[VersionRecord]:
    rows = session.scalars(select(KnowledgeVersion)
                           .where(KnowledgeVersion.state == VersionState.PENDING)
                           .order_by(KnowledgeVersion.created_at, KnowledgeVersion.id))
    return [_version_record(session, v) for v in rows]


# Synonyms -------------------------------------------------------------------------------

def synonym_groups(session: Session) -> list[list[str]]:
    return [row.split() for row in session.scalars(select(KnowledgeSynonym.words)
                                                   .order_by(KnowledgeSynonym.id))]


def set_synonyms(session: Session, text: str, *, actor: str, now: dt.datetime) -> int:
    """The synonym groups replaced by `text`: one group a line, its words separated by
    spaces or commas (身份证 二代证 居民身份证)."""
    groups = []
    for number, line in enumerate(text.splitlines(), start=1):
        group = list(dict.fromkeys(line.replace(",", " ").replace("，", " ").split()))
        if len(group) == 1:
            raise KnowledgeError(f"第 {number} 行只有一个词，同义词至少要两个")
        if any(len(word) > indexing.MAX_TERM for word in group):
            raise KnowledgeError(f"第 {number} 行有超过 {indexing.MAX_TERM} 个字的词")
        if group:
            groups.append(" ".join(group))
    session.execute(delete(KnowledgeSynonym))
    session.add_all(KnowledgeSynonym(words=g, updated_by=actor, updated_at=now) for g in groups)
    audit.record(session, at=now, actor=actor, action="synonyms", entity_type="knowledge",
                 entity_id="synonyms", note=f"{len(groups)} 组")
    return len(groups)


# Answer templates (常用答复) ---------------------------------------------------------------

def save_template(session: Session, *, kind: AppealKind, field: str, title: str, text: str,
                  actor: str, now: dt.datetime, template_id: int | None = None,
                  active: bool = True) -> int:
    if field not in TEMPLATE_FIELDS:
        raise KnowledgeError(f"未知的字段 {field}")
    if not title.strip() or not text.strip():
        raise KnowledgeError("常用答复的标题和内容都不能为空")
    if len(title.strip()) > 100:
        raise KnowledgeError("常用答复的标题不能超过 100 个字")
    if template_id is None:
        template = AnswerTemplate(kind=kind, field=field)
        session.add(template)
    else:
        found = session.get(AnswerTemplate, template_id)
        if found is None:
            raise KnowledgeError("没有这条常用答复")
        template = found
        template.kind, template.field = kind, field
    template.title, template.text, template.active = title.strip(), text.strip(), active
    template.updated_by, template.updated_at = actor, now
    session.flush()
    audit.record(session, at=now, actor=actor, action="save", entity_type="answer_template",
                 entity_id=template.id, note=template.title)
    return template.id


def templates(session: Session, *, kind: AppealKind | None = None,
              active_only: bool = True) -> list[AnswerTemplate]:
    """Detached rows (their columns loaded) to show; never written through."""
    query = select(AnswerTemplate).order_by(AnswerTemplate.kind, AnswerTemplate.field,
                                            AnswerTemplate.id)
    if kind is not None:
        query = query.where(AnswerTemplate.kind == kind)
    if active_only:
        query = query.where(AnswerTemplate.active.is_(True))
    rows = list(session.scalars(query))
    session.expunge_all()
    return rows


# Consultations answered, and not ----------------------------------------------------------

def record_consultation(session: Session, *, agent: str, now: dt.datetime,
                        article_id: int | None, appeal_id: int | None = None,
                        query: str = "") -> int:
    """A consultation answered from `article_id`, or closed with no article (None)."""
    row = KnowledgeConsultation(at=now, agent=agent, article_id=article_id, appeal_id=appeal_id,
                                query=query.strip()[:200])
    session.add(row)
    session.flush()
    return row.id


def week_report(session: Session, start: dt.datetime, end: dt.datetime, limit: int = 20
                ) -> tuple[list[tuple[int, str, int]], list[tuple[str, int]], int]:
    """From `start` to `end`: the articles most answered from (id, title, count), the
    queries closed with no article (query, count), and how many were."""
    most = session.execute(
        select(KnowledgeArticle.id, KnowledgeVersion.title, func.count())
        .select_from(KnowledgeConsultation)
        .join(KnowledgeArticle, KnowledgeArticle.id == KnowledgeConsultation.article_id)
        .join(KnowledgeVersion, KnowledgeVersion.id == KnowledgeArticle.published_version_id)
        .where(KnowledgeConsultation.at >= start, KnowledgeConsultation.at < end)
        .group_by(KnowledgeArticle.id, KnowledgeVersion.title)
        .order_by(func.count().desc(), KnowledgeArticle.id).limit(limit))
    gaps = Counter(session.scalars(
        select(KnowledgeConsultation.query)
        .where(KnowledgeConsultation.article_id.is_(None),
               KnowledgeConsultation.at >= start, KnowledgeConsultation.at < end)))
    return ([(i, t, n) for i, t, n in most], gaps.most_common(limit), sum(gaps.values()))


# Internals ------------------------------------------------------------------------------

def _article(session: Session, article_id: int, lock: bool = False) -> KnowledgeArticle:
    article = session.get(KnowledgeArticle, article_id, with_for_update=lock)
    if article is None:
        raise KnowledgeError(f"没有编号为 {article_id} 的知识条目")
    return article


def _version(session: Session, version_id: int) -> KnowledgeVersion:
    version = session.get(KnowledgeVersion, version_id, with_for_update=True)
    if version is None:
        raise KnowledgeError(f"没有编号为 {version_id} 的版本")
    return version


def _last(session: Session, article_id: int) -> KnowledgeVersion:
    last = session.scalar(select(KnowledgeVersion).where(KnowledgeVersion.article_id == article_id)
                          .order_by(KnowledgeVersion.number.desc()).limit(1))
    assert last is not None  # an article is created with its first version
    return last


def _version_record(session: Session, v: KnowledgeVersion) -> VersionRecord:
    unit = session.get(Unit, v.unit_id) if v.unit_id else None
    fields = ArticleFields(
        title=v.title, answer=v.answer, conditions=v.conditions, materials=v.materials,
        location=v.location, hours=v.hours, fee=v.fee, time_limit=v.time_limit,
        legal_basis=v.legal_basis, body=v.body, unit_code=unit.code if unit else None,
        keywords=v.keywords, valid_from=v.valid_from, review_by=v.review_by)
    return VersionRecord(v.id, v.article_id, v.number, v.state.value, fields,
                         unit.name if unit else None, v.author, v.created_at, v.change_note,
                         v.reviewed_by, v.reviewed_at, v.review_note)


def _record(session: Session, a: KnowledgeArticle) -> ArticleRecord:
    item = session.get(ApprovalItem, a.item_id) if a.item_id else None
    shown = session.get(KnowledgeVersion, a.published_version_id) \
        if a.published_version_id else None
    published = _version_record(session, shown) if shown else None
    return ArticleRecord(a.id, a.kind.value, item.code if item else None,
                         item.name if item else None, a.editor, a.sample, a.retired, published,
                         _version_record(session, _last(session, a.id)))
