"""The knowledge search over 5,000 published articles (issue 19: p95 under 50 ms on both
databases).

Builds the articles in a scratch database of its own on each backend (SQLite in a temporary
file; PostgreSQL `hotline_knowledge_bench`, dropped at the end), through the repository as
editors would (each published, so indexed), with synonyms; then times `search.search`
through the database's thread pool, as the desk calls it, on a mix of queries: Chinese words
and sentences, full pinyin, initials, synonyms and item codes with a typo. Prints the median
and p95 of each backend.

    .venv/bin/python bench/knowledge_search.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--articles 5000] [--samples 400] [--no-postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from scratch_db import create_scratch, drop_scratch  # bench/, beside this script
from sqlalchemy import func, select

from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine, upgrade
from hotline.knowledge import ArticleFields, indexing
from hotline.knowledge import repository as kb
from hotline.knowledge.search import search
from hotline.reference_data import load_catalogue, shipped_catalogue
from schemas.knowledge import KnowledgeTerm
from schemas.models import ApprovalItem

NAME = "hotline_knowledge_bench"
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)
SUBJECTS = ("居住证 居民身份证 护照 户口簿 驾驶证 行驶证 机动车号牌 港澳通行证 台湾通行证 出生登记 "
            "无犯罪记录证明 户籍证明 临时身份证 外国人居留许可 养犬登记 保安员证 典当业特种行业许可 "
            "烟花爆竹运输许可 枪支持有证 剧毒化学品购买许可 旅馆业特种行业许可 集体户口 学生户口 "
            "军人退役落户 人才引进落户 投靠落户 死亡注销 姓名变更 民族成分变更 出生日期更正").split()
ACTIONS = "申领 补领 换领 注销 变更 迁移 查询 遗失补办 延期 首次办理 异地办理 加急办理 预约".split()
PLACES = [f"{name}分局" for name in "兰山 罗庄 河东 高新 经开 临港 北城 南坊 柳青 沂河 "
          "银雀山 金雀山 九曲 枣园 汪沟 朱保 半程 李官 黄山 白沙埠 义堂 册山 傅庄 盛庄 "
          "褚墩 高都 付庄 湖头 郑旺 相公 太平 汤头 凤凰岭 八湖 梅埠 芝麻墩 刘店子 青驼 "
          "朱芦 苗家曲 许家湖 葛沟 龙家圈 垛庄 岸堤 孙祖 马牧池 双堠 沂堂 跋山".split()]
BODY = ("申请人应当携带本人有效证件原件及复印件到受理窗口提交申请，窗口工作人员当场审核，"
        "材料齐全的予以受理，不齐全的一次性告知需要补正的全部内容。").split("，")
QUERIES = ["居住证怎么办", "juzhuzheng", "jzz", "身份证补领", "二代证丢了怎么补", "huzhao",
           "港澳通行证续签", "SFZ003", "sfz33", "HJ01", "驾驶证换领 兰山", "无犯罪记录证明在哪开",
           "hkb", "户口迁移需要什么材料", "养犬登记", "jsz", "外国人居留许可延期", "出生登记材料"]


def build(db: Database, count: int) -> None:
    rng = random.Random(19)

    def setup(session):
        load_catalogue(session, shipped_catalogue())
        kb.set_synonyms(session, "身份证 二代证 居民身份证\n护照 因私护照\n户口簿 户口本\n"
                        "驾驶证 驾照\n港澳通行证 港澳证", actor="bench", now=NOW)
    db.write_now(setup)
    # The catalogue's items get the first articles (so their codes are found); the rest are
    # free articles.
    codes = db.read_now(lambda s: list(s.scalars(select(ApprovalItem.code))))
    combos = [(s, a, p) for p in PLACES for s in SUBJECTS for a in ACTIONS]
    rng.shuffle(combos)
    batch = 250
    for start in range(0, count, batch):
        def add(session, chunk, first):
            for n, (subject, action, place) in enumerate(chunk, start=first):
                body = "".join(rng.sample(BODY, 3))
                article_id = kb.create_article(session, ArticleFields(
                    title=f"{place}{subject}{action}", answer=f"{subject}{action}请到{place}办理。",
                    materials=f"{subject}相关材料、居民身份证", location=f"{place}服务大厅",
                    body=body, keywords=f"{subject} {action}"), actor="bench", now=NOW,
                    item_code=codes[n] if n < len(codes) else None)
                version_id = kb.article(session, article_id).latest.id
                kb.submit(session, version_id, actor="bench", now=NOW)
                kb.publish(session, version_id, reviewer="bench", now=NOW, own_allowed=True)
        db.write_now(add, combos[start:min(start + batch, count)], start)


def measure(db: Database, samples: int) -> tuple[float, float, float]:
    for query in QUERIES:  # warm the statement cache and jieba
        db.read_now(search, query)
    durations = []
    for n in range(samples):
        query = QUERIES[n % len(QUERIES)]
        start = time.perf_counter()
        hits = db.read_now(search, query)
        durations.append((time.perf_counter() - start) * 1000)
        assert query in ("HJ01",) or hits, f"no hits for {query}"
    durations.sort()
    return statistics.median(durations), durations[int(len(durations) * 0.95) - 1], durations[-1]


def run(url: str, label: str, articles: int, samples: int) -> None:
    engine = make_engine(DatabaseConfig(url=url))
    upgrade(engine)
    db = Database(engine, reactor=None, threads=2)
    started = time.perf_counter()
    build(db, articles)
    built = time.perf_counter() - started
    terms = db.read_now(lambda s: s.scalar(select(func.count()).select_from(KnowledgeTerm)))
    median, p95, worst = measure(db, samples)
    print(f"{label:10s} {articles} articles ({terms} index terms, built in {built:.0f} s): "
          f"median {median:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms over {samples} searches")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    indexing.warm()
    with tempfile.TemporaryDirectory() as scratch:
        run(f"sqlite:///{Path(scratch) / 'kb.sqlite3'}", "SQLite", args.articles, args.samples)
    if not args.no_postgres:
        admin, url = create_scratch(args.url, NAME)
        try:
            run(url, "PostgreSQL", args.articles, args.samples)
        finally:
            drop_scratch(admin, NAME)


if __name__ == "__main__":
    main()
