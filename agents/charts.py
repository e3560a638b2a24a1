"""Charts for the supervisor's reports as inline SVG drawn on the server.

No script and no `style` attribute (the CSP allows neither): shapes carry classes whose
colours are in `static/reports.css`, and their sizes are geometry attributes. Every text
(a unit's name, a legend) is escaped here, because the result is marked safe for Jinja.
Each shape has a `<title>` with its figure, which browsers show on hover.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 760
LABEL_MAX = 12  # characters of a group's name drawn; the whole name is in its <title>


@dataclass(frozen=True)
class GroupBars:
    """One group (a unit, an agent, a kind): its on-time rate and its due callbacks split
    into (series, count) segments, drawn in that order."""

    label: str
    rate: float | None
    segments: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class DayPoint:
    day: dt.date
    values: dict[str, int]  # by series


def group_bars(groups: Sequence[GroupBars], *, title: str, rate_title: str,
               count_title: str, names: dict[str, str]) -> Markup:
    """Per group, a bar of its on-time rate (0 to 100 %) and a stacked bar of its due
    callbacks (to the scale of the largest group), with a legend of the segments."""
    label_w, rate_w, gap, row_h, top = 170, 200, 70, 40, 48
    count_x = label_w + rate_w + gap
    count_w = WIDTH - count_x - 50
    height = top + row_h * max(len(groups), 1) + 8
    largest = max((sum(n for _, n in g.segments) for g in groups), default=0) or 1
    parts = [_open(title, height),
             _text(label_w, 18, rate_title, "axis-title"),
             _text(count_x, 18, count_title, "axis-title"),
             *_legend(count_x, 34, [(series, names[series]) for series, _ in
                                    (groups[0].segments if groups else ())])]
    for n, group in enumerate(groups):
        y = top + n * row_h
        parts.append(f'<g class="group">{_text(label_w - 8, y + 17, _short(group.label), "label end", group.label)}')
        parts.append(f'<rect class="track" x="{label_w}" y="{y + 6}" width="{rate_w}" height="14"/>')
        rate_text = "—" if group.rate is None else f"{group.rate * 100:.1f}%"
        if group.rate:
            parts.append(f'<rect class="bar rate" x="{label_w}" y="{y + 6}" '
                         f'width="{_n(rate_w * min(group.rate, 1.0))}" height="14">'
                         f'<title>{escape(group.label)}: {rate_text}</title></rect>')
        parts.append(_text(label_w + rate_w + 6, y + 17, rate_text, "value"))
        x = float(count_x)
        total = 0
        for series, count in group.segments:
            total += count
            if count:
                width = count_w * count / largest
                parts.append(f'<rect class="bar seg {series}" x="{_n(x)}" y="{y + 6}" '
                             f'width="{_n(width)}" height="14"><title>{escape(group.label)}: '
                             f'{escape(names[series])} {count}</title></rect>')
                x += width
        parts.append(_text(_n(x + 6), y + 17, str(total), "value"))
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def day_lines(points: Sequence[DayPoint], series: Sequence[str], *, title: str,
              names: dict[str, str]) -> Markup:
    """A line per series over the days, a dot per day with its figure, the y axis from 0 to
    a round maximum, and at most about twelve day labels under the x axis."""
    left, right, top, bottom, height = 44, 16, 40, 36, 260
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = _round_up(max((p.values[s] for p in points for s in series), default=0))
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0.0

    def x(n: int) -> float:
        return left + (n * step if len(points) > 1 else plot_w / 2)

    def y(value: int) -> float:
        return top + plot_h - plot_h * value / peak

    parts = [_open(title, height), *_legend(left, 18, [(s, names[s]) for s in series])]
    for tick in (0, peak // 2, peak) if peak > 1 else (0, peak):
        parts.append(f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{_n(y(tick))}" '
                     f'y2="{_n(y(tick))}"/>')
        parts.append(_text(left - 6, _n(y(tick) + 4), str(tick), "value end"))
    every = max(1, math.ceil(len(points) / 12))
    for n, point in enumerate(points):
        if n % every == 0:
            parts.append(_text(_n(x(n)), height - bottom + 18, point.day.strftime("%m-%d"),
                               "label middle"))
    for s in series:
        coordinates = " ".join(f"{_n(x(n))},{_n(y(p.values[s]))}" for n, p in enumerate(points))
        parts.append(f'<polyline class="line {s}" points="{coordinates}"/>')
        for n, point in enumerate(points):
            parts.append(f'<circle class="dot {s}" cx="{_n(x(n))}" cy="{_n(y(point.values[s]))}" '
                         f'r="3"><title>{point.day.isoformat()} {escape(names[s])} '
                         f'{point.values[s]}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(title: str, height: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">'
            f'<title>{escape(title)}</title>')


def _legend(x: int, y: int, entries: list[tuple[str, str]]) -> list[str]:
    parts = []
    for series, name in entries:
        parts.append(f'<rect class="key {series}" x="{x}" y="{y - 9}" width="10" height="10"/>')
        parts.append(_text(x + 14, y, name, "legend"))
        x += 26 + _width(name)
    return parts


def _width(text: str) -> int:
    """About how wide a text is drawn at 12 px: Chinese characters are square, Latin narrow."""
    return sum(12 if ord(c) >= 0x2E80 else 7 for c in text)


def _text(x: object, y: object, text: str, classes: str, full: str | None = None) -> str:
    hover = f"<title>{escape(full)}</title>" if full is not None and full != text else ""
    return f'<text class="{classes}" x="{x}" y="{y}">{hover}{escape(text)}</text>'


def _short(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[:LABEL_MAX - 1] + "…"


def _n(value: float) -> str:
    """A coordinate: one decimal at most, no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _round_up(value: int) -> int:
    """A y-axis maximum at least `value`: 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** (len(str(value)) - 1)
    for factor in (1, 2, 5, 10):
        if value <= factor * power:
            return factor * power
    return 10 * power


@dataclass(frozen=True)
class CompareBar:
    """One group of the analysis page (a kind, a district, a term): this period's figure
    beside the comparison period's."""

    label: str
    current: int
    previous: int


def compare_bars(bars: Sequence[CompareBar], *, title: str, current_name: str,
                 previous_name: str) -> Markup:
    """Per group, a bar of this period's figure and a thinner one of the comparison period's
    under it, to the scale of the largest, each with its figure at its end."""
    label_w, row_h, top = 170, 34, 40
    bar_w = WIDTH - label_w - 70
    height = top + row_h * max(len(bars), 1) + 8
    largest = max((max(b.current, b.previous) for b in bars), default=0) or 1
    parts = [_open(title, height),
             *_legend(label_w, 18, [("current", current_name), ("previous", previous_name)])]
    for n, bar in enumerate(bars):
        y = top + n * row_h
        parts.append(f'<g class="group">{_text(label_w - 8, y + 16, _short(bar.label), "label end", bar.label)}')
        for series, value, dy, h in (("current", bar.current, 4, 14), ("previous", bar.previous,
                                                                        20, 8)):
            width = bar_w * value / largest
            name = current_name if series == "current" else previous_name
            if value:
                parts.append(f'<rect class="bar {series}" x="{label_w}" y="{y + dy}" '
                             f'width="{_n(width)}" height="{h}"><title>{escape(bar.label)}: '
                             f'{escape(name)} {value}</title></rect>')
            parts.append(_text(_n(label_w + width + 6), y + dy + h - 2, str(value),
                               f"value {series}-value"))
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class GridCell:
    """A cell of a grid: its shade (0 to 5, a class), the text drawn in it and its title."""

    level: int
    text: str
    hover: str


def heat_grid(rows: Sequence[Sequence[GridCell]], *, title: str, row_labels: Sequence[str],
              column_labels: Sequence[str], legend: Sequence[tuple[int, str]] = ()) -> Markup:
    """A grid of shaded cells (the weekday x hour heat map), row labels at the left, column
    labels above, an optional legend of the shades below."""
    label_w, top = 44, 40
    columns = max((len(r) for r in rows), default=0) or 1
    cell_w = (WIDTH - label_w - 8) / columns
    cell_h = 26
    height = top + cell_h * len(rows) + (40 if legend else 12)
    parts = [_open(title, height), _text(label_w, 16, title, "axis-title")]
    for c, label in enumerate(column_labels):
        parts.append(_text(_n(label_w + c * cell_w + cell_w / 2), top - 6, label, "label middle"))
    for r, row in enumerate(rows):
        y = top + r * cell_h
        parts.append(_text(label_w - 6, y + 17, row_labels[r], "label end"))
        for c, cell in enumerate(row):
            x = label_w + c * cell_w
            parts.append(f'<rect class="heat heat-{max(0, min(cell.level, 5))}" x="{_n(x)}" '
                         f'y="{y}" width="{_n(cell_w - 1)}" height="{cell_h - 1}">'
                         f'<title>{escape(cell.hover)}</title></rect>')
            if cell.text:
                parts.append(_text(_n(x + cell_w / 2), y + 17, cell.text,
                                   f"cell middle{' light' if cell.level >= 4 else ''}"))
    x = label_w
    for level, name in legend:
        y = top + cell_h * len(rows) + 14
        parts.append(f'<rect class="heat heat-{level}" x="{x}" y="{y}" width="14" height="14"/>')
        parts.append(_text(x + 18, y + 12, name, "legend"))
        x += 30 + _width(name)
    parts.append("</svg>")
    return Markup("".join(parts))
