"""The spike statistic: is a (kind, area) cell's appeal count in one hour unusual against
its own recent history? Pure: counts in, decisions out; no database, no clock.

The baseline of an hour is the same hour of the day on the previous `baseline_days` days
(28 by default), not the previous 7x24 hours: the hotline's traffic follows the day (the
service hall opens at 08:00, nights are nearly silent), so the hours just before 09:00
would make every morning look like a spike and every evening look quiet. Four weeks give
about 20 working days of one hour, enough for a steady mean, and short enough to follow
a season. Working days and rest days (weekends, public holidays, 调休 from the core's
`WorkCalendar`) differ too, so only days of the same type as the analysed day count, unless
fewer than `min_matched_days` are left (after a long holiday), when all of them do.

The test for each cell: with lambda the baseline mean, smoothed by a floor
(`baseline_floor`: a cell that had no appeal in four weeks still expects a little, so that
one appeal there is not a miracle), the count x is unusual when

    P(X >= x | X ~ Poisson(lambda)) < family_alpha / m      (Bonferroni over m cells)
    and x >= min_count and x >= min_ratio * lambda

where m is the number of cells tested that hour (every (kind, area) seen in the hour or
its baseline). Bonferroni keeps the chance of any false alert in an hour below
`family_alpha` when the counts are Poisson with the baseline's rate; the two other
conditions keep an alert to what a supervisor would call a spike: several appeals, and
several times the usual.

Real counts vary more than Poisson from day to day, and mostly together: a rainy Monday is
busier in every cell. With `volume_adjust`, lambda is multiplied by how much busier than its
baseline the rest of the hour is (every other cell together; the cell itself left out so
that its own spike does not raise its bar), taken as a one-standard-deviation lower bound
(N - sqrt(N)) / expected, and never below 1: pure Poisson noise leaves it at 1, a busy hour
everywhere raises every cell's expectation. On simulated counts whose daily rate varies by
32 %, this cuts the hours with a false alert from 1.24 % to 0.10 %, the rate of pure Poisson
noise (bench/spike_false_alarms.py, docs/analysis.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# The thresholds' defaults (the `[analysis]` section overrides each).
FAMILY_ALPHA = 0.001  # chance of one false alert or more in an hour, all cells together
MIN_COUNT = 5  # fewer appeals in an hour than this is never a spike
MIN_RATIO = 3.0  # ... nor fewer than this many times the baseline mean
BASELINE_FLOOR = 0.5  # appeals per hour a cell is expected to have at least
BASELINE_DAYS = 28  # days of history, the same hour of each
MIN_MATCHED_DAYS = 4  # fewer days of the analysed day's type than this: use every day

NO_AREA = ""  # the cell of appeals recorded without an area

Cell = tuple[str, str]  # (appeal kind, area)


@dataclass(frozen=True)
class Thresholds:
    family_alpha: float = FAMILY_ALPHA
    min_count: int = MIN_COUNT
    min_ratio: float = MIN_RATIO
    baseline_floor: float = BASELINE_FLOOR
    baseline_days: int = BASELINE_DAYS
    min_matched_days: int = MIN_MATCHED_DAYS
    match_day_type: bool = True
    volume_adjust: bool = True


@dataclass(frozen=True)
class CellTest:
    kind: str
    area: str
    count: int  # appeals in the analysed hour
    baseline: tuple[int, ...]  # the same hour on each baseline day, oldest first
    expected: float  # lambda: the baseline mean, at least the floor, times `volume`
    volume: float  # how much busier than usual the rest of the hour was (>= 1)
    p_value: float  # P(X >= count | Poisson(expected))
    alert: bool

    @property
    def ratio(self) -> float:
        return self.count / self.expected


@dataclass(frozen=True)
class HourAnalysis:
    cells: tuple[CellTest, ...]  # every cell tested, flagged ones first
    threshold: float  # the per-cell p threshold: family_alpha / len(cells)
    days: int  # baseline days used

    @property
    def flagged(self) -> tuple[CellTest, ...]:
        return tuple(cell for cell in self.cells if cell.alert)


def poisson_sf(x: int, lam: float) -> float:
    """P(X >= x) for X ~ Poisson(lam), to double precision, in plain Python.

    Above the mean the tail is summed upward from x (its terms fall faster than a geometric
    series once k > lam), relative to the first term so nothing underflows before the end;
    at or below the mean, where the tail is large, as one minus the lower sum.
    """
    if x <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if x <= lam:
        lower = math.fsum(math.exp(k * math.log(lam) - lam - math.lgamma(k + 1))
                          for k in range(x))
        return min(1.0, max(0.0, 1.0 - lower))
    total, term, k = 0.0, 1.0, x
    while term > total * 1e-17:
        total += term
        k += 1
        term *= lam / k
    return min(1.0, math.exp(x * math.log(lam) - lam - math.lgamma(x + 1)) * total)


def volume_factor(rest_count: int, rest_expected: float) -> float:
    """How much busier than its baseline the rest of the hour is, conservatively: a count
    one standard deviation below the one seen, never below 1."""
    if rest_expected <= 0:
        return 1.0
    return max(1.0, (rest_count - math.sqrt(rest_count)) / rest_expected)


def baseline_offsets(is_workday: Sequence[bool], analysed_is_workday: bool,
                     thresholds: Thresholds) -> tuple[int, ...]:
    """Which previous days (1 = yesterday) make the baseline, given whether each of the
    previous `len(is_workday)` days was a working day (index 0 = yesterday)."""
    every = tuple(range(1, len(is_workday) + 1))
    if not thresholds.match_day_type:
        return every
    matched = tuple(offset for offset, workday in zip(every, is_workday, strict=False)
                    if workday == analysed_is_workday)
    return matched if len(matched) >= thresholds.min_matched_days else every


def analyse(current: Mapping[Cell, int], history: Mapping[Cell, Sequence[int]], days: int,
            thresholds: Thresholds = Thresholds()) -> HourAnalysis:
    """Test every cell seen in the hour (`current`) or its baseline (`history`: per cell,
    the counts on each of the `days` baseline days; a missing cell or day counts 0)."""
    cells = sorted(set(current) | set(history))
    threshold = thresholds.family_alpha / max(1, len(cells))
    pasts = {}
    for cell in cells:
        past = tuple(history.get(cell, ()))
        pasts[cell] = past + (0,) * (days - len(past))
    means = {cell: sum(past) / days if days else 0.0 for cell, past in pasts.items()}
    total_count, total_mean = sum(current.get(cell, 0) for cell in cells), sum(means.values())
    tests = []
    for kind, area in cells:
        count = current.get((kind, area), 0)
        mean = means[(kind, area)]
        volume = (volume_factor(total_count - count, total_mean - mean)
                  if thresholds.volume_adjust else 1.0)
        expected = max(thresholds.baseline_floor, mean) * volume
        p_value = poisson_sf(count, expected)
        alert = (p_value < threshold and count >= thresholds.min_count
                 and count >= thresholds.min_ratio * expected)
        tests.append(CellTest(kind, area, count, pasts[(kind, area)], expected, volume,
                              p_value, alert))
    tests.sort(key=lambda cell: (not cell.alert, cell.p_value))
    return HourAnalysis(tuple(tests), threshold, days)
