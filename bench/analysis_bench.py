"""The analysis page's views (智能分析) on 1,000,000 appeals on PostgreSQL (issue 22: "every
analysis view answers in under 1 s"), beside the callback report's.

Creates its own database (`hotline_analysis_bench`, dropped at the end), migrates it to head
and loads with INSERT ... SELECT generate_series: 1,000,000 appeals over one year (six kinds,
six channels, 20 units, 40 areas, a third with an approval item, half rated, subjects from
a pool of 40 phrases, one number per ~3 appeals a year), 600,000 queue passages, and a
callback task for each resolved appeal of the last three months. Then ANALYZE, and times
each view of `hotline.analysis.insights` on random months (and 7-day periods) of the last
half year, the month against the month before:

- breakdowns: kind, category (both levels), district, unit, channel, satisfaction;
- topics (cold): a month never segmented before, every day jieba'd; topics (warm): a
  month read before, the ended days from memory (as the page and the printable report meet
  it after the first read);
- repeat_callers, repeated_matters, heat_map, term_appeals (a hot topic's link);
- analysis_report: the whole page (warm topics);
- and `callback_queue.report.compliance_report` by unit, the supervisor's callback report.

    .venv/bin/python bench/analysis_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--appeals 1000000] [--samples 20] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from zoneinfo import ZoneInfo

from scratch_db import create_scratch, drop_scratch  # bench/, beside this script
from sqlalchemy import text

from callback_queue.report import compliance_report
from hotline.analysis import insights
from hotline.analysis.areas import AreaMap
from hotline.analysis.terms import Segmenter, TermIndex, load_lexicon
from hotline.assessment.periods import Period, period
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine, upgrade

NAME = "hotline_analysis_bench"
ZONE = ZoneInfo("Asia/Shanghai")
END = dt.datetime(2026, 11, 30, 16, tzinfo=dt.timezone.utc)  # 1 December, local midnight
NOW = END + dt.timedelta(days=1)
SUBJECTS = [
    "楼道电动车充电隐患", "广场舞噪音扰民", "小区高空抛物", "户口迁移需要哪些材料", "身份证丢失补办",
    "驾驶证到期换证", "居住证办理进度", "小区门口违停", "路灯不亮影响出行", "护照办理进度",
    "夜间施工噪音", "钱包丢失求助", "邻里纠纷调解", "快递柜被占用", "车辆年检预约", "网络刷单被骗",
    "冒充客服电信诈骗", "夜市烧烤摊油烟", "占道经营影响通行", "流浪犬伤人", "醉驾举报", "消防通道被堵",
    "校园周边交通拥堵", "无犯罪记录证明开具", "港澳通行证续签", "临时身份证办理", "老人走失求助",
    "孩子走失求助", "非法营运车辆", "电动自行车被盗", "车牌被遮挡", "停车难问题", "飞线充电隐患",
    "养老诈骗宣传", "窗口服务态度差", "一网通办无法登录", "出入境预约", "户籍证明开具", "治安巡逻",
    "酒驾举报",
]
UNITS = text("""
INSERT INTO units (code, name, kind, active)
SELECT 'U' || n, '单位' || n, 'station', true FROM generate_series(1, 20) AS n
""")
CATALOGUE = text("""
INSERT INTO approval_categories (code, name)
SELECT 'C' || n, '大类' || n FROM generate_series(1, 8) AS n;
INSERT INTO approval_items (code, category_id, name, active)
SELECT 'I' || n, (SELECT id FROM approval_categories WHERE code = 'C' || (1 + n % 8)),
       '事项' || n, true FROM generate_series(1, 60) AS n
""")
APPEALS = text("""
INSERT INTO appeals (case_number, channel, kind, status, subject, body, citizen_phone,
                     phone_tail, area, unit_id, approval_item_id, satisfaction, deadline_at,
                     created_at, updated_at, resolved_at, reopen_count)
SELECT 'B' || lpad(n::text, 12, '0'),
       (ARRAY['phone','phone','phone','voice_message','web','letter','visit','sms'])
           [1 + (n * 31) % 8],
       (ARRAY['consultation','help','complaint','report','approval_progress','dispute'])
           [1 + (n * 7919) % 6],
       CASE WHEN n % 2 = 0 THEN 'closed' ELSE 'received' END,
       (CAST(:subjects AS text[]))[1 + (n * 104723) % 40], '市民反映' || (CAST(:subjects AS text[]))[1 + (n * 613) % 40],
       '138' || lpad(((n * 2654435761) % 300000)::text, 8, '0'),
       lpad(((n * 2654435761) % 300000 % 10000)::text, 4, '0'),
       CASE WHEN n % 5 = 0 THEN NULL ELSE 'area-' || ((n * 104729) % 40) END,
       CASE WHEN n % 7 = 0 THEN NULL ELSE (SELECT min(id) FROM units) + (n * 13) % 20 END,
       CASE WHEN n % 3 = 0 THEN (SELECT min(id) FROM approval_items) + (n * 17) % 60 END,
       CASE WHEN n % 2 = 0 THEN (ARRAY['satisfied','satisfied','basically_satisfied',
                                       'dissatisfied'])[1 + (n / 2) % 4] END,
       at + interval '5 days', at, at, CASE WHEN n % 2 = 0 THEN at + interval '2 days' END, 0
FROM (SELECT n, :end - interval '365 days' * ((n * 0.6180339887) - floor(n * 0.6180339887))
             - interval '1 hour' * (CASE WHEN (n % 10) < 7 THEN (n % 11) ELSE (n % 24) END)
             AS at
      FROM generate_series(1::bigint, :count) AS n) AS s
""")
QUEUE = text("""
INSERT INTO queue_calls (caller_uniqueid, queue, caller, joined_at, outcome, hold_s, talk_s)
SELECT 'q' || n, 'hotline', '139' || lpad((n % 100000)::text, 8, '0'), at,
       (ARRAY['completed','completed','completed','completed','completed','completed',
              'abandoned','abandoned','left','answered'])[1 + (n * 7) % 10],
       (n * 11) % 90, 60 + (n * 13) % 400
FROM (SELECT n, :end - interval '365 days' * ((n * 0.7548776662) - floor(n * 0.7548776662))
             AS at FROM generate_series(1::bigint, :count) AS n) AS s
""")
CALLBACKS = text("""
INSERT INTO callback_tasks (appeal_id, citizen_phone, origin, mode, state, appeal_kind,
                            unit_id, resolved_at, window_start, due_by, next_attempt_at,
                            attempts, max_attempts, outcome, rating, completed_at, created_at,
                            updated_at)
SELECT id, citizen_phone, 'resolution', 'automated',
       CASE WHEN id % 5 = 0 THEN 'unreachable' ELSE 'completed' END, kind, unit_id,
       resolved_at, resolved_at, resolved_at + interval '2 days', resolved_at, 1 + id % 3, 3,
       CASE WHEN id % 5 = 0 THEN 'unreachable' ELSE 'rated' END, satisfaction,
       resolved_at + interval '1 day' * (id % 4), resolved_at, resolved_at
FROM appeals WHERE resolved_at >= :since
""")


def timed(fn, samples):
    durations = []
    for sample in samples:
        start = time.perf_counter()
        fn(sample)
        durations.append((time.perf_counter() - start) * 1000)
    durations.sort()
    p95 = durations[max(0, int(len(durations) * 0.95 + 0.5) - 1)]
    return statistics.median(durations), p95, durations[-1]


def month(first: dt.date) -> Period:
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return period(first, last, ZONE)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=600_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="leave the database for EXPLAIN")
    args = parser.parse_args()
    admin, url = create_scratch(args.url, NAME)
    try:
        engine = make_engine(DatabaseConfig(url=url))
        upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(UNITS)
            for statement in str(CATALOGUE).split(";"):
                connection.execute(text(statement))
            connection.execute(APPEALS, {"end": END, "count": args.appeals,
                                         "subjects": SUBJECTS})
            connection.execute(QUEUE, {"end": END, "count": args.calls})
            connection.execute(CALLBACKS, {"since": END - dt.timedelta(days=92)})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        print(f"loaded {args.appeals:,} appeals and {args.calls:,} queue passages in "
              f"{time.perf_counter() - started:.1f} s")
        db = Database(engine, reactor=None, threads=1)
        rng = random.Random(22)
        firsts = [dt.date(2026, m, 1) for m in range(6, 12)]
        months = [month(rng.choice(firsts)) for _ in range(args.samples)]
        weeks = []
        for _ in range(args.samples):
            first = dt.date(2026, 11, 30) - dt.timedelta(days=rng.randrange(7, 150))
            weeks.append(period(first, first + dt.timedelta(days=6), ZONE))
        areas = AreaMap(places={f"area-{n}": f"区县{n % 9}" for n in range(40)},
                        districts=tuple(f"区县{n}" for n in range(9)))
        settings = insights.Settings()
        segmenter = Segmenter(load_lexicon())
        warm = TermIndex(segmenter)
        sample = db.read_now(insights.analysis_report, months[0], "previous", zone=ZONE,
                             areas=areas, index=warm, settings=settings, now=NOW)
        print(f"a month ({months[0].label}): {sample.breakdown('kind').total.current:,} appeals, "
              f"{len(sample.repeat_callers)} repeat callers, {len(sample.repeated_matters)} "
              f"repeated matters, {sample.heat.offered:,} calls offered; hot: "
              + "、".join(t.term for t in sample.topics.hot[:5]))
        for first in firsts:  # every month of the samples read once: the warm cache
            current = month(first)
            db.read_now(insights.topics, current, insights.comparison_period(
                current, "previous", ZONE), warm, zone=ZONE, now=NOW)

        def comparison(p):
            return insights.comparison_period(p, "previous", ZONE)

        views = {
            "breakdowns (kind, category, item, area, unit, channel, satisfaction)":
                lambda p: db.read_now(insights.breakdowns, p, comparison(p), areas),
            "topics, warm (ended days from memory)":
                lambda p: db.read_now(insights.topics, p, comparison(p), warm, zone=ZONE,
                                      now=NOW),
            "repeat_callers": lambda p: db.read_now(insights.repeat_callers, p, settings),
            "repeated_matters": lambda p: db.read_now(insights.repeated_matters, p, settings),
            "heat_map": lambda p: db.read_now(insights.heat_map, p, ZONE),
            "term_appeals (a hot topic's link)":
                lambda p: db.read_now(insights.term_appeals, "电动车充电", p),
            "analysis_report (the whole page, warm)":
                lambda p: db.read_now(insights.analysis_report, p, "previous", zone=ZONE,
                                      areas=areas, index=warm, settings=settings, now=NOW),
            "callback report (compliance_report by unit)":
                lambda p: db.read_now(compliance_report, p.start, p.end, "unit", now=NOW),
        }
        print(f"\n{'view':<72} {'median':>9} {'p95':>9} {'max':>9}")
        for label, samples in (("a month against the month before", months),
                               ("7 days against the 7 before", weeks)):
            print(f"-- {label} ({len(samples)} samples)")
            for name, fn in views.items():
                if samples is weeks and name.startswith("topics, warm"):
                    for p in weeks:  # the weeks' days too, read once
                        fn(p)
                median, p95, worst = timed(fn, samples)
                print(f"{name:<72} {median:8.1f}ms {p95:8.1f}ms {worst:8.1f}ms")
        cold_samples = months[: max(3, args.samples // 5)]
        median, p95, worst = timed(
            lambda p: db.read_now(insights.topics, p, comparison(p), TermIndex(segmenter),
                                  zone=ZONE, now=NOW), cold_samples)
        print(f"{'topics, cold (a month and its comparison segmented afresh)':<72} "
              f"{median:8.1f}ms {p95:8.1f}ms {worst:8.1f}ms ({len(cold_samples)} samples)")
        engine.dispose()
    finally:
        drop_scratch(admin, NAME, keep=args.keep)


if __name__ == "__main__":
    main()
