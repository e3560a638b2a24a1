"""The knowledge base (知识库, migration 0024): articles (one per approval item, and free
ones), each change a version of its own, the search's index of terms, the synonyms editors
maintain, the answer templates (常用答复), and the consultations the hotline could not answer
from an article. hotline.knowledge owns them all."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime
from schemas.enums import AppealKind
from schemas.models import _enum


class ArticleKind(enum.StrEnum):
    APPROVAL = "approval"  # the guide (办事指南) of one approval item
    FREE = "free"  # a policy, a procedure, a station's address and hours, a common question


class VersionState(enum.StrEnum):
    DRAFT = "draft"  # the editor is still writing it
    PENDING = "pending"  # submitted, waiting for a reviewer
    PUBLISHED = "published"  # the text agents answer from now
    SUPERSEDED = "superseded"  # published once, replaced by a later version
    REJECTED = "rejected"  # a reviewer sent it back


class KnowledgeArticle(Base):
    """An article: what stays the same across its versions. `published_version_id` is the
    text agents see; `sample` marks the shipped starting content, to be replaced."""

    __tablename__ = "knowledge_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ArticleKind] = mapped_column(_enum(ArticleKind))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("approval_items.id"), unique=True)
    published_version_id: Mapped[int | None] = mapped_column(Integer)
    editor: Mapped[str] = mapped_column(String(64))  # who keeps it (flagged when overdue)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # The review-by date an overdue flag was raised for: once per date.
    flagged_review_by: Mapped[dt.date | None] = mapped_column(Date)


class KnowledgeVersion(Base):
    """One version of an article's whole text, never changed once submitted."""

    __tablename__ = "knowledge_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "number", name="uq_knowledge_versions_article_number"),
        Index("ix_knowledge_versions_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[VersionState] = mapped_column(_enum(VersionState))
    title: Mapped[str] = mapped_column(String(200))
    answer: Mapped[str] = mapped_column(Text, default="")  # 答复口径: what agents say
    conditions: Mapped[str] = mapped_column(Text, default="")  # 办理条件
    materials: Mapped[str] = mapped_column(Text, default="")  # 所需材料
    location: Mapped[str] = mapped_column(Text, default="")  # 办理地点
    hours: Mapped[str] = mapped_column(Text, default="")  # 办理时间
    fee: Mapped[str] = mapped_column(Text, default="")  # 收费标准
    time_limit: Mapped[str] = mapped_column(Text, default="")  # 办理时限
    legal_basis: Mapped[str] = mapped_column(Text, default="")  # 设定依据
    body: Mapped[str] = mapped_column(Text, default="")  # 正文 (a free article's text)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    keywords: Mapped[str] = mapped_column(Text, default="")  # separated by spaces or commas
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    review_by: Mapped[dt.date | None] = mapped_column(Date)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    change_note: Mapped[str] = mapped_column(Text, default="")  # what the editor changed
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    review_note: Mapped[str | None] = mapped_column(Text)


class KnowledgeTerm(Base):
    """The search's index: a term (a word, its pinyin, its initials, an item code) of an
    article's published version, with its weight (a title's word counts more than a
    body's). A search is one indexed lookup of its terms."""

    __tablename__ = "knowledge_terms"
    __table_args__ = (
        Index("ix_knowledge_terms_term_article_id", "term", "article_id", "weight"),
        Index("ix_knowledge_terms_article_id", "article_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(64))
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id"))
    weight: Mapped[int] = mapped_column(Integer)


class KnowledgeSynonym(Base):
    """One group of words that mean the same to a caller (身份证 二代证 居民身份证)."""

    __tablename__ = "knowledge_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    words: Mapped[str] = mapped_column(Text)  # separated by spaces
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AnswerTemplate(Base):
    """A short text (常用答复) for an appeal kind's answer or resolution field."""

    __tablename__ = "answer_templates"
    __table_args__ = (Index("ix_answer_templates_kind_field", "kind", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AppealKind] = mapped_column(_enum(AppealKind))
    field: Mapped[str] = mapped_column(String(16))  # "answer" or "resolution"
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class KnowledgeConsultation(Base):
    """A consultation answered from an article, or closed with "no article" (article_id
    None): what the weekly most-asked and gaps read."""

    __tablename__ = "knowledge_consultations"
    __table_args__ = (Index("ix_knowledge_consultations_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    agent: Mapped[str] = mapped_column(String(64))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_articles.id"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    query: Mapped[str] = mapped_column(String(200), default="")
