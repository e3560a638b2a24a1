"""The analysis page's figures (智能分析): a period beside its comparison period (环比, the
period before, as the assessment compares; 同比, the same days a year before), appeals by
kind, approval category (大类) and item (小类), district, unit and channel with each change;
satisfaction by category and by unit with its counts; repeat callers and repeated matters to
follow up; and the call-volume heat map (weekday x hour of the calls offered to the queue,
with the abandon rate, by the call-centre report's definitions).

Each view is one function of a session (the bench times each); `analysis_report` reads them
all. Appeals are counted on the local day they were received (`created_at`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select, tuple_
from sqlalchemy.orm import Session

from hotline.analysis.areas import AreaMap
from hotline.analysis.terms import HotTopics, TermIndex, hot_topics
from hotline.assessment.callcentre import ANSWERED, SHORT_ABANDON_S
from hotline.assessment.periods import Period, day_bounds, period, previous_days
from hotline.masking import mask_phone
from schemas.live import QueueCall
from schemas.models import Appeal, ApprovalCategory, ApprovalItem, Unit

COMPARISONS = ("previous", "year")
COMPARISON_NAMES = {"previous": "环比", "year": "同比"}
KIND_NAMES = {"consultation": "咨询", "help": "求助", "complaint": "投诉", "report": "举报",
              "approval_progress": "办理进度", "dispute": "纠纷"}
CHANNEL_NAMES = {"phone": "电话", "voice_message": "语音留言", "web": "网站", "letter": "信件",
                 "visit": "来访", "sms": "短信"}
DIMENSIONS = ("kind", "category", "item", "area", "unit", "channel")
DIMENSION_NAMES = {"kind": "诉求类型", "category": "审批事项大类", "item": "审批事项小类",
                   "area": "区县", "unit": "承办单位", "channel": "受理渠道"}
NO_CATEGORY = "未关联审批事项"
NO_UNIT = "未交办"
SMALL_SAMPLE = 10  # fewer ratings than this: shown as a small sample (样本少)
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
FOLLOW_UP_LIMIT = 200


@dataclass(frozen=True)
class Settings:
    repeat_days: int = 30
    repeat_min_appeals: int = 3
    repeat_matter_days: int = 15


def comparison_period(current: Period, compare: str, zone: ZoneInfo) -> Period:
    """环比: the period before (whole months: as many months; else as many days); 同比: the same
    days a year earlier (29 February: the 28th)."""
    if compare == "previous":
        return period(*previous_days(current.first, current.last), zone)
    if compare == "year":
        return period(_year_before(current.first), _year_before(current.last), zone)
    raise ValueError(f"compare must be one of {', '.join(COMPARISONS)}, got {compare!r}")


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    current: int
    previous: int

    @property
    def delta(self) -> int:
        return self.current - self.previous

    @property
    def change(self) -> float | None:
        """The change as a share of the comparison period's figure (None: it had none)."""
        return None if not self.previous else round(self.current / self.previous - 1, 4)


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    rows: tuple[Row, ...]  # most appeals first
    total: Row

    @property
    def title(self) -> str:
        return DIMENSION_NAMES[self.dimension]


@dataclass(frozen=True)
class SatisfactionRow:
    label: str
    satisfied: int
    basically: int
    dissatisfied: int

    @property
    def rated(self) -> int:
        return self.satisfied + self.basically + self.dissatisfied

    @property
    def rate(self) -> float | None:
        """满意率: satisfied and basically satisfied of those rated."""
        return None if not self.rated else round((self.satisfied + self.basically) / self.rated, 4)

    @property
    def small(self) -> bool:
        return self.rated < SMALL_SAMPLE


@dataclass(frozen=True)
class RepeatCaller:
    phone: str  # masked
    appeals: int  # within the window
    first: dt.datetime
    last: dt.datetime
    case_numbers: tuple[str, ...]
    appeal_ids: tuple[int, ...]


@dataclass(frozen=True)
class RepeatedMatter:
    phone: str  # masked
    matter: str  # the category's name, or the kind's
    appeals: int
    first: dt.datetime
    last: dt.datetime
    case_numbers: tuple[str, ...]
    appeal_ids: tuple[int, ...]


@dataclass(frozen=True)
class HeatCell:
    offered: int = 0
    abandoned: int = 0

    @property
    def abandon_rate(self) -> float | None:
        return None if not self.offered else round(self.abandoned / self.offered, 4)


@dataclass(frozen=True)
class HeatMap:
    cells: dict[tuple[int, int], HeatCell]  # (weekday 0 = Monday, hour) -> figures

    def cell(self, weekday: int, hour: int) -> HeatCell:
        return self.cells.get((weekday, hour), HeatCell())

    @property
    def offered(self) -> int:
        return sum(c.offered for c in self.cells.values())

    @property
    def abandoned(self) -> int:
        return sum(c.abandoned for c in self.cells.values())

    @property
    def peak(self) -> int:
        return max((c.offered for c in self.cells.values()), default=0)


@dataclass(frozen=True)
class AnalysisReport:
    current: Period
    comparison: Period
    compare: str
    breakdowns: tuple[Breakdown, ...]
    satisfaction_by_category: tuple[SatisfactionRow, ...]
    satisfaction_by_unit: tuple[SatisfactionRow, ...]
    topics: HotTopics
    repeat_callers: tuple[RepeatCaller, ...]
    repeated_matters: tuple[RepeatedMatter, ...]
    heat: HeatMap

    @property
    def compare_name(self) -> str:
        return COMPARISON_NAMES[self.compare]

    def breakdown(self, dimension: str) -> Breakdown:
        return next(b for b in self.breakdowns if b.dimension == dimension)


# The grouped counts ------------------------------------------------------------------------

# Each grouping the page needs, counted apart (GROUPING SETS on PostgreSQL), from
# `ix_appeals_created_at_analysis` alone (migration 0022). One GROUP BY of every column
# together has nearly a group per appeal, and folding those in Python costs more.
_SETS = {"kind": (Appeal.kind,), "channel": (Appeal.channel,),
         "area": (Appeal.unit_id, Appeal.area),
         "item": (Appeal.approval_item_id, Appeal.satisfaction),
         "unit": (Appeal.unit_id, Appeal.satisfaction)}


_ALL = (Appeal.kind, Appeal.channel, Appeal.unit_id, Appeal.area, Appeal.approval_item_id,
        Appeal.satisfaction)


def _grouped(session: Session, p: Period) -> dict[str, list[tuple]]:
    """Each of `_SETS`' groupings of the period's appeals: (*its columns, appeals). On
    PostgreSQL one scan with GROUPING SETS (the set a row belongs to is `grouping()`'s mask
    of the columns it does not group by); elsewhere a GROUP BY each."""
    where = (Appeal.created_at >= p.start, Appeal.created_at < p.end)
    if session.get_bind().dialect.name != "postgresql":
        return {name: [tuple(row) for row in session.execute(
            select(*columns, func.count()).where(*where).group_by(*columns))]
            for name, columns in _SETS.items()}
    masks = {sum(1 << (len(_ALL) - 1 - i) for i, c in enumerate(_ALL)
                 if not any(c is d for d in columns)): (name, columns)
             for name, columns in _SETS.items()}
    query = select(*_ALL, func.grouping(*_ALL), func.count()).where(*where).group_by(
        func.grouping_sets(*(tuple_(*columns) for columns in _SETS.values())))
    result: dict[str, list[tuple]] = {name: [] for name in _SETS}
    for row in session.execute(query):
        name, columns = masks[row[-2]]
        result[name].append((*(row[_index(c)] for c in columns), row[-1]))
    return result


def _index(column) -> int:
    return next(i for i, c in enumerate(_ALL) if c is column)


@dataclass(frozen=True)
class _Names:
    units: dict[int, tuple[str, str]]  # id -> (code, name)
    items: dict[int, tuple[str, int]]  # id -> (name, category id)
    categories: dict[int, str]


def _names(session: Session) -> _Names:
    return _Names(
        {i: (code, name) for i, code, name in session.execute(
            select(Unit.id, Unit.code, Unit.name))},
        {i: (name, category) for i, name, category in session.execute(
            select(ApprovalItem.id, ApprovalItem.name, ApprovalItem.category_id))},
        {i: name for i, name in session.execute(
            select(ApprovalCategory.id, ApprovalCategory.name))})


def _keyed(dimension: str, group: tuple, names: _Names, areas: AreaMap
           ) -> list[tuple[str, tuple[str, str]]]:
    """The (dimension, (key, label)) a group of `_SETS[dimension]` counts in."""
    if dimension in ("kind", "channel"):
        value = str(group[0])
        table = KIND_NAMES if dimension == "kind" else CHANNEL_NAMES
        return [(dimension, (value, table.get(value, value)))]
    if dimension == "area":
        unit = names.units.get(group[0]) if group[0] is not None else None
        district = areas.district(group[1], unit[0] if unit else None)
        return [("area", (district, district))]
    if dimension == "unit":
        unit = names.units.get(group[0]) if group[0] is not None else None
        return [("unit", (str(group[0]), unit[1]) if unit else ("-", NO_UNIT))]
    item = names.items.get(group[0]) if group[0] is not None else None
    if item is None:
        return [("category", ("-", NO_CATEGORY)), ("item", ("-", NO_CATEGORY))]
    category_name = names.categories.get(item[1], str(item[1]))
    return [("category", (str(item[1]), category_name)),
            ("item", (str(group[0]), f"{category_name} / {item[0]}"))]


def breakdowns(session: Session, current: Period, comparison: Period,
               areas: AreaMap) -> tuple[tuple[Breakdown, ...], tuple[SatisfactionRow, ...],
                                        tuple[SatisfactionRow, ...]]:
    """Appeals by each dimension in both periods; satisfaction (of the period's appeals
    rated) by category and by unit."""
    names = _names(session)
    counts: dict[str, dict[tuple[str, str], list[int]]] = {d: defaultdict(lambda: [0, 0])
                                                            for d in DIMENSIONS}
    ratings: dict[str, dict[str, Counter[str]]] = {"category": defaultdict(Counter),
                                                   "unit": defaultdict(Counter)}
    for index, p in enumerate((current, comparison)):
        for dimension, groups in _grouped(session, p).items():
            for group in groups:
                for counted, key in _keyed(dimension, group, names, areas):
                    counts[counted][key][index] += group[-1]
                    rated = group[-2] if dimension in ("item", "unit") else None
                    if index == 0 and rated is not None and counted in ratings:
                        ratings[counted][key[1]][str(rated)] += group[-1]
    result = []
    for dimension in DIMENSIONS:
        rows = sorted((Row(key, label, now, before)
                       for (key, label), (now, before) in counts[dimension].items()),
                      key=lambda r: (-r.current, -r.previous, r.label))
        total = Row("*", "合计", sum(r.current for r in rows), sum(r.previous for r in rows))
        result.append(Breakdown(dimension, tuple(rows), total))

    def satisfaction(by: dict[str, Counter[str]]) -> tuple[SatisfactionRow, ...]:
        rows = [SatisfactionRow(label, c["satisfied"], c["basically_satisfied"],
                                c["dissatisfied"]) for label, c in by.items()]
        return tuple(sorted(rows, key=lambda r: (-r.rated, r.label)))

    return tuple(result), satisfaction(ratings["category"]), satisfaction(ratings["unit"])


# Follow-up lists -------------------------------------------------------------------------


def repeat_callers(session: Session, current: Period, settings: Settings
                   ) -> tuple[RepeatCaller, ...]:
    """Numbers with `repeat_min_appeals` appeals or more within `repeat_days` days, one of
    them received in the period: the densest such window of each number, most appeals first."""
    window = dt.timedelta(days=settings.repeat_days)
    start = current.start - window
    numbers = select(Appeal.citizen_phone).where(
        Appeal.created_at >= start, Appeal.created_at < current.end) \
        .group_by(Appeal.citizen_phone) \
        .having(func.count() >= settings.repeat_min_appeals).limit(FOLLOW_UP_LIMIT * 5)
    found: list[RepeatCaller] = []
    for phone, appeals in _appeals_of(session, numbers, start, current.end).items():
        best = _densest([(a[0], a) for a in appeals], window, current)
        if best is not None and len(best) >= settings.repeat_min_appeals:
            found.append(RepeatCaller(mask_phone(phone), len(best), best[0][0], best[-1][0],
                                      tuple(a[1] for a in best), tuple(a[2] for a in best)))
    found.sort(key=lambda r: (-r.appeals, -r.last.timestamp(), r.phone))
    return tuple(found[:FOLLOW_UP_LIMIT])


def repeated_matters(session: Session, current: Period, settings: Settings
                     ) -> tuple[RepeatedMatter, ...]:
    """One caller's two appeals or more about one approval category (else one kind) within
    `repeat_matter_days` days, one of them received in the period."""
    window = dt.timedelta(days=settings.repeat_matter_days)
    start = current.start - window
    numbers = select(Appeal.citizen_phone).where(
        Appeal.created_at >= start, Appeal.created_at < current.end) \
        .group_by(Appeal.citizen_phone).having(func.count() >= 2).limit(FOLLOW_UP_LIMIT * 20)
    names = _names(session)
    found: list[RepeatedMatter] = []
    for phone, appeals in _appeals_of(session, numbers, start, current.end).items():
        by_matter: dict[str, list[tuple[dt.datetime, tuple]]] = defaultdict(list)
        for appeal in appeals:
            item = names.items.get(appeal[4]) if appeal[4] is not None else None
            matter = (names.categories.get(item[1], str(item[1])) if item
                      else KIND_NAMES.get(str(appeal[3]), str(appeal[3])))
            by_matter[matter].append((appeal[0], appeal))
        for matter, dated in by_matter.items():
            best = _densest(dated, window, current)
            if best is not None and len(best) >= 2:
                found.append(RepeatedMatter(mask_phone(phone), matter, len(best), best[0][0],
                                            best[-1][0], tuple(a[1] for a in best),
                                            tuple(a[2] for a in best)))
    found.sort(key=lambda r: (-r.appeals, -r.last.timestamp(), r.phone, r.matter))
    return tuple(found[:FOLLOW_UP_LIMIT])


def _appeals_of(session: Session, numbers, start: dt.datetime, end: dt.datetime
                ) -> dict[str, list[tuple]]:
    """Each number's appeals (created_at, case_number, id, kind, item id), oldest first: one
    query, the numbers' subquery joined to the period's range."""
    chosen = numbers.subquery()
    result: dict[str, list[tuple]] = defaultdict(list)
    for row in session.execute(
            select(Appeal.citizen_phone, Appeal.created_at, Appeal.case_number, Appeal.id,
                   Appeal.kind, Appeal.approval_item_id)
            .join(chosen, chosen.c.citizen_phone == Appeal.citizen_phone)
            .where(Appeal.created_at >= start, Appeal.created_at < end)
            .order_by(Appeal.citizen_phone, Appeal.created_at, Appeal.id)):
        result[row[0]].append(tuple(row[1:]))
    return result


def _densest(dated: Sequence[tuple[dt.datetime, tuple]], window: dt.timedelta,
             current: Period) -> list[tuple] | None:
    """The most appeals within `window` of each other, the window's last inside the period
    (the latest such window of the most)."""
    best: list[tuple] | None = None
    first = 0
    for last in range(len(dated)):
        while dated[last][0] - dated[first][0] >= window:
            first += 1
        if not current.start <= dated[last][0] < current.end:
            continue
        if best is None or last - first + 1 >= len(best):
            best = [a for _, a in dated[first:last + 1]]
    return best


# The heat map ----------------------------------------------------------------------------


def heat_map(session: Session, current: Period, zone: ZoneInfo) -> HeatMap:
    """Calls offered to the queue (answered, abandoned after SHORT_ABANDON_S, left: the
    call-centre report's) by the local weekday and hour they joined, and the abandoned."""
    q = QueueCall
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        local = func.timezone(zone.key, q.joined_at)
        weekday = (func.extract("isodow", local) - 1).label("weekday")
        hour = func.extract("hour", local).label("hour")
    else:  # SQLite: the zone's offset at the period's start (Asia/Shanghai keeps one)
        offset = current.start.astimezone(zone).utcoffset() or dt.timedelta()
        shift = f"{int(offset.total_seconds() // 60):+d} minutes"
        weekday = ((func.cast(func.strftime("%w", q.joined_at, shift), _int()) + 6) % 7) \
            .label("weekday")
        hour = func.cast(func.strftime("%H", q.joined_at, shift), _int()).label("hour")
    abandoned = and_(q.outcome == "abandoned",
                     func.coalesce(q.hold_s, SHORT_ABANDON_S + 1) > SHORT_ABANDON_S)
    offered = case((q.outcome.in_(ANSWERED), 1), (q.outcome == "left", 1),
                   (abandoned, 1), else_=0)
    calls = select(weekday, hour, offered.label("offered"),
                   case((abandoned, 1), else_=0).label("abandoned")) \
        .where(q.joined_at >= current.start, q.joined_at < current.end).subquery()
    cells = {}
    for day, hour_of, n_offered, n_abandoned in session.execute(
            select(calls.c.weekday, calls.c.hour, func.sum(calls.c.offered),
                   func.sum(calls.c.abandoned)).group_by(calls.c.weekday, calls.c.hour)):
        if n_offered:
            cells[(int(day), int(hour_of))] = HeatCell(int(n_offered), int(n_abandoned or 0))
    return HeatMap(cells)


def _int():
    from sqlalchemy import Integer

    return Integer


# All of it -------------------------------------------------------------------------------


def topics(session: Session, current: Period, comparison: Period, index: TermIndex, *,
           zone: ZoneInfo, now: dt.datetime) -> HotTopics:
    now_counts, appeals = index.counts(session, day_bounds(current.first, current.last, zone),
                                       now=now)
    before, previous_appeals = index.counts(
        session, day_bounds(comparison.first, comparison.last, zone), now=now)
    return hot_topics(now_counts, before, appeals=appeals, previous_appeals=previous_appeals,
                      days=current.days, previous_days=comparison.days)


def analysis_report(session: Session, current: Period, compare: str, *, zone: ZoneInfo,
                    areas: AreaMap, index: TermIndex, settings: Settings,
                    now: dt.datetime) -> AnalysisReport:
    comparison = comparison_period(current, compare, zone)
    tables, by_category, by_unit = breakdowns(session, current, comparison, areas)
    return AnalysisReport(current, comparison, compare, tables, by_category, by_unit,
                          topics(session, current, comparison, index, zone=zone, now=now),
                          repeat_callers(session, current, settings),
                          repeated_matters(session, current, settings),
                          heat_map(session, current, zone))


def term_appeals(session: Session, term: str, p: Period, limit: int = FOLLOW_UP_LIMIT
                 ) -> list[tuple[int, str, dt.datetime, str, str, str]]:
    """The period's appeals whose subject or body has `term` (the hot topic's link): (id,
    case number, received, kind's name, subject, masked phone), newest first."""
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(
        select(Appeal.id, Appeal.case_number, Appeal.created_at, Appeal.kind, Appeal.subject,
               Appeal.citizen_phone)
        .where(Appeal.created_at >= p.start, Appeal.created_at < p.end,
               Appeal.subject.like(pattern, escape="\\") | Appeal.body.like(pattern,
                                                                             escape="\\"))
        .order_by(Appeal.created_at.desc(), Appeal.id.desc()).limit(limit))
    return [(i, case_number, at, KIND_NAMES.get(str(kind), str(kind)), subject,
             mask_phone(phone)) for i, case_number, at, kind, subject, phone in rows]


def settings_of(config) -> Settings:
    return Settings(config.repeat_days, config.repeat_min_appeals, config.repeat_matter_days)


__all__ = [
    "AnalysisReport", "Breakdown", "Row", "SatisfactionRow", "RepeatCaller", "RepeatedMatter",
    "HeatMap", "HeatCell", "Settings", "analysis_report", "breakdowns", "repeat_callers",
    "repeated_matters", "heat_map", "topics", "term_appeals", "comparison_period",
    "settings_of", "COMPARISONS", "WEEKDAYS"]
