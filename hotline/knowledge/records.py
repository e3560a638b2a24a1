"""What the knowledge base hands out: plain frozen records, never ORM rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

# The guide's fields in their order on a page, in a workbook's columns and in the SMS, with
# their names in Chinese.
GUIDE_FIELDS = {
    "conditions": "办理条件",
    "materials": "所需材料",
    "location": "办理地点",
    "hours": "办理时间",
    "fee": "收费标准",
    "time_limit": "办理时限",
    "legal_basis": "设定依据",
}


@dataclass(frozen=True)
class ArticleFields:
    """The text of a version, as an editor writes it."""

    title: str
    answer: str = ""
    conditions: str = ""
    materials: str = ""
    location: str = ""
    hours: str = ""
    fee: str = ""
    time_limit: str = ""
    legal_basis: str = ""
    body: str = ""
    unit_code: str | None = None
    keywords: str = ""
    valid_from: dt.date | None = None
    review_by: dt.date | None = None

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class VersionRecord:
    id: int
    article_id: int
    number: int
    state: str
    fields: ArticleFields
    unit_name: str | None
    author: str
    created_at: dt.datetime
    change_note: str
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    review_note: str | None


@dataclass(frozen=True)
class ArticleRecord:
    id: int
    kind: str
    item_code: str | None
    item_name: str | None
    editor: str
    sample: bool
    retired: bool
    published: VersionRecord | None
    latest: VersionRecord  # the newest version, whatever its state

    @property
    def title(self) -> str:
        return (self.published or self.latest).fields.title

    def overdue(self, today: dt.date) -> bool:
        review_by = self.published.fields.review_by if self.published else None
        return review_by is not None and review_by < today


@dataclass(frozen=True)
class SearchHit:
    article_id: int
    title: str
    item_code: str | None
    answer: str
    sample: bool
    score: int
    matched: int  # how many of the query's words it matched
