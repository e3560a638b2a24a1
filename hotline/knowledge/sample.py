"""The shipped starting content (config/knowledge-sample.toml): a few articles and synonym
groups to try the knowledge base with, loaded published and marked as a sample, never
presented as the bureau's text. Loading twice adds nothing: an article that exists (its
item's, or a free one of the title) is left alone."""

from __future__ import annotations

import datetime as dt
import tomllib

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.knowledge import repository
from hotline.knowledge.errors import KnowledgeError
from hotline.knowledge.records import ArticleFields
from schemas.knowledge import KnowledgeArticle, KnowledgeVersion

SAMPLE_ACTOR = "sample"


def load_sample(session: Session, text: str, *, now: dt.datetime) -> int:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise KnowledgeError(f"示例文件格式错误：{error}") from None
    if data.get("synonyms") and not repository.synonym_groups(session):
        repository.set_synonyms(session, "\n".join(data["synonyms"]), actor=SAMPLE_ACTOR, now=now)
    added = 0
    for number, entry in enumerate(data.get("article", []), start=1):
        entry = dict(entry)
        code = entry.pop("item", None)
        try:
            fields = ArticleFields(**entry)
        except TypeError as error:
            raise KnowledgeError(f"第 {number} 篇示例：{error}") from None
        if code and repository.article_for_item(session, code):
            continue
        if not code and session.scalar(select(KnowledgeVersion.id).where(
                KnowledgeVersion.title == fields.title).limit(1)):
            continue
        article_id = repository.create_article(session, fields, actor=SAMPLE_ACTOR, now=now,
                                               item_code=code, sample=True,
                                               change_note="示例内容")
        version_id = repository.article(session, article_id).latest.id
        repository.submit(session, version_id, actor=SAMPLE_ACTOR, now=now)
        repository.publish(session, version_id, reviewer=SAMPLE_ACTOR, now=now,
                           note="示例内容，待替换", own_allowed=True)
        added += 1
    return added


def sample_count(session: Session) -> int:
    return len(list(session.scalars(select(KnowledgeArticle.id)
                                    .where(KnowledgeArticle.sample.is_(True)))))
