"""What the early-warning analysis (`hotline.analysis`) keeps: one row per analysed hour,
claimed before the hour is analysed so that a second run (a restart, the command line,
another process) finds it and does nothing, and one row per flagged (kind, area) cell of
that hour with the statistic behind its supervisor alert."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime


class SpikeRun(Base):
    """One analysed hour (start, UTC): who ran it, how many cells were tested."""

    __tablename__ = "spike_runs"

    hour: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    ran_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    runner: Mapped[str] = mapped_column(String(64))  # process name, or cli:<user>
    baseline_days: Mapped[int] = mapped_column(Integer, default=0)
    cells: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    threshold: Mapped[float] = mapped_column(Float, default=0.0)  # per-cell p threshold


class SpikeFinding(Base):
    """A (kind, area) cell whose count in `hour` was unusual, and the alert it raised."""

    __tablename__ = "spike_findings"
    __table_args__ = (UniqueConstraint("hour", "kind", "area"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(UtcDateTime, ForeignKey("spike_runs.hour"))
    kind: Mapped[str] = mapped_column(String(32))
    area: Mapped[str] = mapped_column(String(64))  # "" for appeals with no area
    count: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)  # lambda: the smoothed baseline mean x volume
    volume: Mapped[float] = mapped_column(Float, default=1.0)  # the whole hour's busyness factor
    baseline: Mapped[str] = mapped_column(Text)  # the baseline days' counts, oldest first: "2,0,3"
    p_value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("supervisor_alerts.id"))
