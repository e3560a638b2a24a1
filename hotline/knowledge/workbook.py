"""Articles in and out as XLSX: one row per article, a column per field, headed in Chinese,
so that the bureau loads its real approval guides in one go.

An import is all or nothing: every row is checked and applied in the one transaction, and
if any row is wrong none is kept; the errors name each row (第 3 行：...). A row of an
approval item (事项编码) becomes that item's article's next version; a row without one is a
free article, the one numbered in 条目编号, else the one of that title, else a new one.
The new versions wait for a reviewer, unless the operator publishes them at once (the
import is then its own review, and audited as such). An imported row replaces the shipped
sample: its article is no longer marked as one."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.knowledge import repository
from hotline.knowledge.errors import KnowledgeError
from hotline.knowledge.records import ArticleFields
from hotline.spreadsheet import append_xlsx_row
from schemas.knowledge import ArticleKind, KnowledgeArticle, KnowledgeVersion

ID, CODE, SAMPLE = "条目编号", "事项编码", "示例内容"
COLUMNS = {  # header: ArticleFields' field
    "标题": "title", "答复口径": "answer", "办理条件": "conditions", "所需材料": "materials",
    "办理地点": "location", "办理时间": "hours", "收费标准": "fee", "办理时限": "time_limit",
    "设定依据": "legal_basis", "正文": "body", "责任单位编码": "unit_code", "关键词": "keywords",
    "生效日期": "valid_from", "复核日期": "review_by",
}
HEADERS = [ID, CODE, *COLUMNS]
DATES = ("valid_from", "review_by")
MAX_ROWS = 5000


class ImportRefused(KnowledgeError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("导入未完成，没有任何改动：\n" + "\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int
    published: bool


def export_articles(session: Session) -> bytes:
    """Every article that is not retired: its published text, or its newest if none is."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "知识库"
    sheet.append([*HEADERS, SAMPLE])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for article in repository.articles(session):
        fields = (article.published or article.latest).fields
        append_xlsx_row(sheet, [article.id, article.item_code or "",
                                *[_cell(getattr(fields, name)) for name in COLUMNS.values()],
                                "是" if article.sample else ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_articles(session: Session, data: bytes, *, actor: str, now: dt.datetime,
                    publish: bool = False) -> ImportSummary:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises a zoo of types for a file that is not XLSX
        raise KnowledgeError(f"无法读取该文件（需要 .xlsx 格式）：{error}") from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    unknown = [h for h in header if h and h not in HEADERS and h != SAMPLE]
    if unknown:
        raise KnowledgeError(f"第 1 行：不认识的列 {'、'.join(unknown)}（可用的列：{'、'.join(HEADERS)}）")
    if "标题" not in header:
        raise KnowledgeError("第 1 行：缺少「标题」列")
    errors: list[str] = []
    created = updated = unchanged = 0
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            errors.append(f"一次最多导入 {MAX_ROWS} 行")
            break
        row = {h: v for h, v in zip(header, values, strict=False) if h}
        if all(v is None or str(v).strip() == "" for v in row.values()):
            continue
        try:
            with session.begin_nested():
                outcome = _apply(session, row, actor=actor, now=now, publish=publish)
        except KnowledgeError as error:
            errors.append(f"第 {number} 行：{error}")
            continue
        created += outcome == "created"
        updated += outcome == "updated"
        unchanged += outcome == "unchanged"
    if errors:
        raise ImportRefused(errors)
    return ImportSummary(created, updated, unchanged, publish)


def _apply(session: Session, row: dict, *, actor: str, now: dt.datetime, publish: bool) -> str:
    fields = _fields(row)
    code = _text(row.get(CODE))
    article_id = _article_id(session, row, code, fields.title)
    if article_id is None:
        article_id = repository.create_article(session, fields, actor=actor, now=now,
                                               item_code=code or None, change_note="导入")
        version_id = repository.article(session, article_id).latest.id
        outcome = "created"
    else:
        record = repository.article(session, article_id)
        current = record.published or record.latest
        if current.fields == fields and record.latest.state in ("published", "pending"):
            _unmark_sample(session, article_id)
            return "unchanged"
        version_id = repository.save_draft(session, article_id, fields, actor=actor, now=now,
                                           change_note="导入")
        outcome = "updated"
    repository.submit(session, version_id, actor=actor, now=now)
    if publish:
        repository.publish(session, version_id, reviewer=actor, now=now, note="导入时发布",
                           own_allowed=True)
    _unmark_sample(session, article_id)
    return outcome


def _article_id(session: Session, row: dict, code: str, title: str) -> int | None:
    raw = _text(row.get(ID))
    if raw:
        try:
            article_id = int(float(raw))
        except ValueError:
            raise KnowledgeError(f"条目编号「{raw}」不是数字") from None
        article = session.get(KnowledgeArticle, article_id)
        if article is None:
            raise KnowledgeError(f"没有编号为 {article_id} 的知识条目")
        return article_id
    if code:
        return repository.article_for_item(session, code)
    return session.scalar(
        select(KnowledgeArticle.id)
        .join(KnowledgeVersion, KnowledgeVersion.article_id == KnowledgeArticle.id)
        .where(KnowledgeArticle.kind == ArticleKind.FREE, KnowledgeArticle.retired.is_(False),
               KnowledgeVersion.title == title)
        .order_by(KnowledgeArticle.id).limit(1))


def _fields(row: dict) -> ArticleFields:
    values: dict = {}
    for header, name in COLUMNS.items():
        raw = row.get(header)
        if name in DATES:
            values[name] = _date(raw, header)
        elif name == "unit_code":
            values[name] = _text(raw) or None
        else:
            values[name] = _text(raw)
    if not values["title"]:
        raise KnowledgeError("标题不能为空")
    return ArticleFields(**values)


def _date(raw: object, header: str) -> dt.date | None:
    if raw is None or str(raw).strip() == "":
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip().replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise KnowledgeError(f"{header}「{raw}」不是日期（写作 2027-01-31）") from None


def _text(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw).strip()


def _cell(value: object) -> object:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, dt.date) else value


def _unmark_sample(session: Session, article_id: int) -> None:
    article = session.get(KnowledgeArticle, article_id)
    if article is not None:
        article.sample = False
