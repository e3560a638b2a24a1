"""The spike analysis's database side: the counts of an hour and its baseline in one query,
the hour's run claimed and its alerts written in one transaction, and the reads behind the
supervisor's analysis page.

An hour is claimed by inserting its `spike_runs` row (ON CONFLICT DO NOTHING) before it is
analysed: whoever comes second, in this process or another, finds the row (on PostgreSQL it
waits for the first transaction to commit) and writes nothing, so each (kind, area, hour)
raises one alert at most however many times the hour is run.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.alerts import raise_alert
from hotline.analysis.spikes import (
    NO_AREA,
    Cell,
    HourAnalysis,
    Thresholds,
    analyse,
    baseline_offsets,
)
from hotline.workdays import WorkCalendar
from schemas.analysis import SpikeFinding, SpikeRun
from schemas.models import Appeal, SupervisorAlert

ALERT_KIND = "spike"
ALERT_SOURCE = "analysis:spikes"
HOUR = dt.timedelta(hours=1)

# Appeal kinds in the alert's note (the note is plain text, read in both languages).
KIND_NAMES = {"consultation": "咨询", "help": "求助", "complaint": "投诉", "report": "举报",
              "approval_progress": "办理进度", "dispute": "纠纷"}


@dataclass(frozen=True)
class HourWindows:
    """The analysed hour (UTC start) and the same local hour on each baseline day."""

    hour: dt.datetime
    baseline: tuple[tuple[dt.datetime, dt.datetime], ...]  # (start, end), oldest first


@dataclass(frozen=True)
class RunResult:
    hour: dt.datetime
    analysis: HourAnalysis | None  # None: the hour had been analysed already
    alert_ids: tuple[int, ...] = ()

    @property
    def already_done(self) -> bool:
        return self.analysis is None


@dataclass(frozen=True)
class FindingRecord:
    hour: dt.datetime
    kind: str
    area: str
    count: int
    expected: float
    volume: float
    baseline: tuple[int, ...]
    p_value: float
    threshold: float
    alert_id: int | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None

    @property
    def ratio(self) -> float:
        return self.count / self.expected


@dataclass(frozen=True)
class RunRecord:
    hour: dt.datetime
    ran_at: dt.datetime
    runner: str
    baseline_days: int
    cells: int
    flagged: int
    threshold: float


def hour_start(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)


def windows(hour: dt.datetime, zone: ZoneInfo, calendar: WorkCalendar,
            thresholds: Thresholds) -> HourWindows:
    """The same local hour on the previous days chosen by the statistic (see spikes)."""
    local = hour.astimezone(zone)
    day = local.date()
    previous = [day - dt.timedelta(days=n) for n in range(1, thresholds.baseline_days + 1)]
    offsets = baseline_offsets([calendar.is_workday(d) for d in previous],
                               calendar.is_workday(day), thresholds)
    naive = local.replace(tzinfo=None)
    starts = sorted((naive - dt.timedelta(days=n)).replace(tzinfo=zone).astimezone(dt.timezone.utc)
                    for n in offsets)
    return HourWindows(hour, tuple((start, start + HOUR) for start in starts))


def counts_query(spans: Sequence[tuple[dt.datetime, dt.datetime]]) -> Select:
    """(span index, kind, area, appeals): one GROUP BY over range scans of
    `ix_appeals_created_at` (the CASE is grouped through a subquery, so that PostgreSQL sees
    one expression, not two with different parameters)."""
    inside = [and_(Appeal.created_at >= start, Appeal.created_at < end) for start, end in spans]
    slot = case(*((condition, index) for index, condition in enumerate(inside)))
    rows = select(slot.label("slot"), Appeal.kind.label("kind"), Appeal.area.label("area")) \
        .where(or_(*inside)).subquery()
    return select(rows.c.slot, rows.c.kind, rows.c.area, func.count()) \
        .group_by(rows.c.slot, rows.c.kind, rows.c.area)


def cell_counts(session: Session, spans: Sequence[tuple[dt.datetime, dt.datetime]]
                ) -> dict[int, dict[Cell, int]]:
    """Appeals per (kind, area) in each span, by the span's index."""
    counts: dict[int, dict[Cell, int]] = defaultdict(dict)
    for index, kind, area, count in session.execute(counts_query(spans)):
        cell = (str(kind), area or NO_AREA)
        counts[index][cell] = counts[index].get(cell, 0) + count
    return counts


def analyse_hour(session: Session, hour: dt.datetime, *, zone: ZoneInfo, calendar: WorkCalendar,
                 thresholds: Thresholds) -> HourAnalysis:
    """The statistic of one hour, read-only (the command's --dry-run, and `run_hour`)."""
    spans = windows(hour, zone, calendar, thresholds)
    days = len(spans.baseline)
    counts = cell_counts(session, [*spans.baseline, (hour, hour + HOUR)])
    history: dict[Cell, list[int]] = {}
    for index in range(days):
        for cell, count in counts.get(index, {}).items():
            history.setdefault(cell, [0] * days)[index] = count
    return analyse(counts.get(days, {}), history, days, thresholds)


def run_hour(session: Session, hour: dt.datetime, *, zone: ZoneInfo, calendar: WorkCalendar,
             thresholds: Thresholds, now: dt.datetime, runner: str) -> RunResult:
    """Claim the hour, analyse it, and raise one supervisor alert per flagged cell; nothing
    if the hour was claimed before."""
    hour = hour_start(hour)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    claimed = session.execute(dialect.insert(SpikeRun)
                              .values(hour=hour, ran_at=now, runner=runner)
                              .on_conflict_do_nothing(index_elements=["hour"])
                              .returning(SpikeRun.hour)).first()
    if claimed is None:
        return RunResult(hour, None)
    analysis = analyse_hour(session, hour, zone=zone, calendar=calendar, thresholds=thresholds)
    alert_ids = []
    for cell in analysis.flagged:
        alert_id = raise_alert(session, kind=ALERT_KIND, source=ALERT_SOURCE, at=now,
                               note=describe(cell, hour, zone, analysis))
        session.add(SpikeFinding(hour=hour, kind=cell.kind, area=cell.area, count=cell.count,
                                 expected=cell.expected, volume=cell.volume,
                                 baseline=",".join(map(str, cell.baseline)),
                                 p_value=cell.p_value, threshold=analysis.threshold,
                                 alert_id=alert_id))
        alert_ids.append(alert_id)
    run = session.get(SpikeRun, hour)
    assert run is not None, "claimed above, in this transaction"
    run.baseline_days, run.cells = analysis.days, len(analysis.cells)
    run.flagged, run.threshold = len(alert_ids), analysis.threshold
    session.flush()
    return RunResult(hour, analysis, tuple(alert_ids))


def describe(cell, hour: dt.datetime, zone: ZoneInfo, analysis: HourAnalysis) -> str:
    """The alert's note: Chinese first, each figure labelled in English too."""
    local = hour.astimezone(zone)
    area = cell.area or "未填区域 no area"
    volume = (f", 含全时段繁忙系数 incl. busy-hour factor x{cell.volume:.2f}"
              if cell.volume > 1 else "")
    return (f"诉求量异常 unusual appeal count: {KIND_NAMES.get(cell.kind, cell.kind)} "
            f"{cell.kind} · {area} · {local:%Y-%m-%d %H:00}-{local + HOUR:%H:00} ({zone.key})\n"
            f"本时段 count {cell.count} 件; 基线 baseline {cell.expected:.2f} 件/时 per hour "
            f"(前 {analysis.days} 天同时段 same hour, {analysis.days} days{volume}); "
            f"{cell.ratio:.1f} 倍 times\n"
            f"泊松检验 Poisson p = {cell.p_value:.2g} < {analysis.threshold:.2g} "
            f"({len(analysis.cells)} 个单元 cells tested)")


def missing_hours(session: Session, first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    """Hours from `first` to `last` (starts, included) with no run yet, oldest first."""
    done = set(session.scalars(select(SpikeRun.hour)
                               .where(SpikeRun.hour >= first, SpikeRun.hour <= last)))
    hours, current = [], first
    while current <= last:
        if current not in done:
            hours.append(current)
        current += HOUR
    return hours


def recent_findings(session: Session, since: dt.datetime, limit: int = 500) -> list[FindingRecord]:
    rows = session.execute(select(SpikeFinding, SupervisorAlert.acknowledged_at,
                                  SupervisorAlert.acknowledged_by)
                           .outerjoin(SupervisorAlert, SupervisorAlert.id == SpikeFinding.alert_id)
                           .where(SpikeFinding.hour >= since)
                           .order_by(SpikeFinding.hour.desc(), SpikeFinding.p_value)
                           .limit(limit))
    return [FindingRecord(f.hour, f.kind, f.area, f.count, f.expected, f.volume,
                          tuple(int(n) for n in f.baseline.split(",") if n), f.p_value,
                          f.threshold, f.alert_id, acknowledged_at, acknowledged_by)
            for f, acknowledged_at, acknowledged_by in rows]


def recent_runs(session: Session, since: dt.datetime) -> list[RunRecord]:
    runs = session.scalars(select(SpikeRun).where(SpikeRun.hour >= since)
                           .order_by(SpikeRun.hour.desc()))
    return [RunRecord(r.hour, r.ran_at, r.runner, r.baseline_days, r.cells, r.flagged,
                      r.threshold) for r in runs]
