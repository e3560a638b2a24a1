"""`hotline knowledge`: import and export the articles as XLSX, load the shipped sample, and
flag the articles past their review date (as a daily cron line would)."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.config import Config

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "knowledge-sample.toml"


def _db(config: Config):
    from hotline.db import Database, make_engine

    return Database(make_engine(config.database), reactor=None, threads=1)


def _now() -> dt.datetime:
    from hotline.clock import SystemClock

    return SystemClock().now()


def cmd_import(config: Config, args: argparse.Namespace) -> int:
    from hotline.knowledge import workbook

    data = Path(args.file).read_bytes()
    actor = args.actor or f"cli:{getpass.getuser()}"
    try:
        summary = _db(config).write_now(workbook.import_articles, data, actor=actor, now=_now(),
                                        publish=args.publish)
    except workbook.ImportRefused as refused:
        print("\n".join(["导入未完成，没有任何改动：", *refused.errors]))
        return 1
    state = "已发布" if summary.published else "待审核"
    print(f"新建 {summary.created} 条，更新 {summary.updated} 条（{state}），"
          f"未变 {summary.unchanged} 条")
    return 0


def cmd_export(config: Config, args: argparse.Namespace) -> int:
    from hotline.knowledge import workbook

    Path(args.file).write_bytes(_db(config).read_now(workbook.export_articles))
    print(f"已导出到 {args.file}")
    return 0


def cmd_sample(config: Config, args: argparse.Namespace) -> int:
    from hotline.knowledge.sample import load_sample

    text = Path(args.file).read_text("utf-8")
    added = _db(config).write_now(load_sample, text, now=_now())
    print(f"已载入 {added} 篇示例条目（标记为示例，请以本局正式文本替换）")
    return 0


def cmd_flag_reviews(config: Config, args: argparse.Namespace) -> int:
    from hotline.knowledge import repository

    now = _now()
    today = now.astimezone(ZoneInfo(config.service.timezone)).date()
    flagged = _db(config).write_now(repository.flag_overdue_reviews, today=today, now=now)
    print(f"{len(flagged)} 篇条目已过复核日期，已提醒值班长")
    return 0


def register(commands) -> None:
    knowledge = commands.add_parser("knowledge", help="the knowledge base (知识库)") \
        .add_subparsers(required=True)
    imp = knowledge.add_parser("import", help="load articles from an XLSX file, row by row")
    imp.add_argument("file")
    imp.add_argument("--publish", action="store_true",
                     help="publish the imported versions at once (else they wait for review)")
    imp.add_argument("--actor", help="recorded as the author (default cli:<user>)")
    imp.set_defaults(handler=cmd_import)
    exp = knowledge.add_parser("export", help="write every article to an XLSX file")
    exp.add_argument("file")
    exp.set_defaults(handler=cmd_export)
    sample = knowledge.add_parser("sample", help="load the shipped sample articles (marked 示例)")
    sample.add_argument("file", nargs="?", default=str(SAMPLE))
    sample.set_defaults(handler=cmd_sample)
    flag = knowledge.add_parser("flag-reviews",
                                help="alert supervisors to articles past their review date")
    flag.set_defaults(handler=cmd_flag_reviews)
