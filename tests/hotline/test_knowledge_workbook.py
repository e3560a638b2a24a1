"""Articles in and out as XLSX: a round trip, an import with bad rows refused row by row in
Chinese with nothing kept, re-imports that add versions only where text changed, the sample
content marked and replaced; and `hotline knowledge` as an operator runs it."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook

from hotline import cli
from hotline.knowledge import KnowledgeError, workbook
from hotline.knowledge import repository as kb
from hotline.knowledge.cli import SAMPLE
from hotline.knowledge.sample import load_sample
from hotline.knowledge.search import search
from hotline.reference_data import load_catalogue, shipped_catalogue
from tests.support.appeals import add_unit, utc

NOW = utc(2026, 12, 1, 2, 0)
HEADER = ["事项编码", "标题", "所需材料", "办理地点", "收费标准", "责任单位编码", "生效日期", "复核日期"]


def xlsx(*rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def base(database):
    def setup(session):
        load_catalogue(session, shipped_catalogue())
        add_unit(session)
    database.write_now(setup)
    return database


GOOD = [("SFZ003", "居民身份证补领", "户口簿", "派出所", "免费", "PS-LS", dt.date(2026, 1, 1),
         "2027-06-30"),
        ("", "无犯罪记录证明", "身份证", "派出所", "", "", None, None)]


def test_an_import_publishes_and_exports_the_same_rows(base):
    summary = base.write_now(workbook.import_articles, xlsx(*GOOD), actor="ops", now=NOW,
                             publish=True)
    assert (summary.created, summary.updated, summary.unchanged) == (2, 0, 0)
    assert [h.title for h in base.read_now(search, "无犯罪记录证明")][0] == "无犯罪记录证明"
    sheet = load_workbook(io.BytesIO(base.read_now(workbook.export_articles))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("条目编号", "事项编码", "标题")
    exported = {r[2]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert exported["居民身份证补领"]["事项编码"] == "SFZ003"
    assert exported["居民身份证补领"]["复核日期"] == "2027-06-30"
    assert exported["居民身份证补领"]["责任单位编码"] == "PS-LS"
    # The exported file imports back as it is: nothing changes.
    again = base.write_now(workbook.import_articles, base.read_now(workbook.export_articles),
                           actor="ops", now=NOW, publish=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_an_import_without_publish_waits_for_review_and_adds_a_version_per_change(base):
    base.write_now(workbook.import_articles, xlsx(*GOOD), actor="ops", now=NOW, publish=True)
    changed = [("SFZ003", "居民身份证补领", "户口簿、照片", "派出所", "免费", "PS-LS", None, None)]
    summary = base.write_now(workbook.import_articles, xlsx(*changed), actor="ops", now=NOW)
    assert summary.updated == 1
    article_id = base.read_now(kb.article_for_item, "SFZ003")
    history = base.read_now(kb.versions, article_id)
    assert [(v.number, v.state) for v in history] == [(2, "pending"), (1, "published")]
    assert base.read_now(kb.article, article_id).published.fields.materials == "户口簿"


def test_bad_rows_are_named_in_chinese_and_nothing_is_kept(base):
    rows = [GOOD[0],
            ("ZZ999", "不存在的事项", "", "", "", "", None, None),
            ("", "", "只有材料", "", "", "", None, None),
            ("", "日期错", "", "", "", "", "明年", None),
            ("", "单位错", "", "", "", "NOPE", None, None),
            ("", "", "", "", "", "", None, None)]  # a blank row is skipped
    with pytest.raises(workbook.ImportRefused) as refused:
        base.write_now(workbook.import_articles, xlsx(*rows), actor="ops", now=NOW)
    assert refused.value.errors == [
        "第 3 行：审批事项目录中没有编码 ZZ999",
        "第 4 行：标题不能为空",
        "第 5 行：生效日期「明年」不是日期（写作 2027-01-31）",
        "第 6 行：没有编码为 NOPE 的单位",
    ]
    assert base.read_now(kb.articles) == []


def test_a_file_with_unknown_columns_or_not_xlsx_is_refused(base):
    with pytest.raises(KnowledgeError, match="第 1 行：不认识的列 备注"):
        base.write_now(workbook.import_articles, xlsx(header=["标题", "备注"]), actor="ops",
                       now=NOW)
    with pytest.raises(KnowledgeError, match="需要 .xlsx 格式"):
        base.write_now(workbook.import_articles, b"not a workbook", actor="ops", now=NOW)


def test_the_sample_is_marked_and_an_import_of_its_item_replaces_it(base):
    assert base.write_now(load_sample, SAMPLE.read_text("utf-8"), now=NOW) == 3
    assert base.write_now(load_sample, SAMPLE.read_text("utf-8"), now=NOW) == 0
    hits = base.read_now(search, "二代证补领")
    assert hits[0].title == "居民身份证补领（示例）" and hits[0].sample
    base.write_now(workbook.import_articles, xlsx(GOOD[0]), actor="ops", now=NOW, publish=True)
    article = base.read_now(kb.article, hits[0].article_id)
    assert not article.sample and article.published.fields.title == "居民身份证补领"


def test_the_knowledge_commands_import_export_and_refuse_bad_rows(base, db_url, tmp_path,
                                                                  monkeypatch, capsys):
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", "")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx(("ZZ999", "甲", "", "", "", "", None, None)))
    assert cli.main(["knowledge", "import", str(bad)]) == 1
    assert "第 2 行：审批事项目录中没有编码 ZZ999" in capsys.readouterr().out
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx(*GOOD))
    assert cli.main(["knowledge", "import", str(good), "--publish"]) == 0
    assert "新建 2 条" in capsys.readouterr().out
    out = tmp_path / "out.xlsx"
    assert cli.main(["knowledge", "export", str(out)]) == 0
    assert load_workbook(out).active.max_row == 3
