"""The spike statistic on constructed counts: ordinary Poisson noise raises no alert (within
the stated false-alarm rate), a planted spike is found and named, and the gates hold."""

from __future__ import annotations

import math
import random
from decimal import Decimal, getcontext

import pytest

from hotline.analysis.spikes import (
    BASELINE_FLOOR,
    FAMILY_ALPHA,
    MIN_COUNT,
    MIN_RATIO,
    Thresholds,
    analyse,
    baseline_offsets,
    poisson_sf,
)

KINDS = ("consultation", "help", "complaint", "report", "approval_progress", "dispute")
AREAS = ("兰山街道", "柳青街道", "银雀山街道", "金雀山街道", "枣园镇", "义堂镇", "李官镇", "")
DAYS = 20  # the working days among 28


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's sampler: independent of the code under test."""
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def cell_rates(seed: int) -> dict[tuple[str, str], float]:
    """Hourly rates from quiet (one appeal a day in that hour is much) to busy."""
    rng = random.Random(seed)
    return {(kind, area): rng.choice((0.02, 0.1, 0.3, 0.7, 1.5, 3.0, 6.0))
            for kind in KINDS for area in AREAS}


def noise_hour(rng: random.Random, rates, days: int = DAYS):
    history = {cell: [poisson(rng, lam) for _ in range(days)] for cell, lam in rates.items()}
    current = {cell: poisson(rng, lam) for cell, lam in rates.items()}
    # As the query returns them: only cells with appeals.
    return ({c: n for c, n in current.items() if n},
            {c: h for c, h in history.items() if any(h)})


def exact_tail(x: int, lam: float) -> float:
    """P(X >= x) summed term by term in 60-digit decimals."""
    getcontext().prec = 60
    lam_d, term = Decimal(repr(lam)), Decimal(1)
    for k in range(1, x + 1):
        term = term * lam_d / k
    term *= (-lam_d).exp()
    total, k = Decimal(0), x
    while term > Decimal(10) ** -80:
        total += term
        k += 1
        term = term * lam_d / k
    return float(total)


@pytest.mark.parametrize("x, lam", [(1, 0.5), (5, 0.5), (6, 0.5), (12, 2.0), (12, 2.45),
                                    (30, 4.0), (3, 10.0), (10, 10.0), (200, 150.0),
                                    (400, 100.0)])
def test_the_poisson_tail_matches_an_exact_decimal_sum(x, lam):
    assert poisson_sf(x, lam) == pytest.approx(exact_tail(x, lam), rel=1e-9)


def test_the_poisson_tail_edges():
    assert poisson_sf(0, 3.0) == 1.0
    assert poisson_sf(1, 3.0) == pytest.approx(1 - math.exp(-3.0), rel=1e-12)
    assert poisson_sf(1, 0.0) == 0.0
    assert 0.0 <= poisson_sf(5000, 1.0) < 1e-300


def test_ordinary_noise_raises_no_alert_over_many_hours():
    hours = 0
    false_alarms = []
    for seed in range(4):
        rates = cell_rates(seed)
        rng = random.Random(1000 + seed)
        for _ in range(150):
            current, history = noise_hour(rng, rates)
            result = analyse(current, history, DAYS)
            assert len(result.cells) == len(set(current) | set(history))  # Bonferroni's m
            false_alarms += result.flagged
            hours += 1
    # The stated rate: at most FAMILY_ALPHA per hour (0.6 expected here); these seeds give 0.
    assert len(false_alarms) <= FAMILY_ALPHA * hours
    assert false_alarms == []


def test_without_the_correction_and_gates_the_same_noise_does_alert():
    """The noise is noisy enough to matter: an uncorrected 5% test per cell fires in most
    hours, and the corrected family rate at 5% stays near or below 5%."""
    rates = cell_rates(0)
    rng = random.Random(7)
    loose = Thresholds(family_alpha=0.05 * len(rates), min_count=0, min_ratio=0)
    family = Thresholds(family_alpha=0.05, min_count=0, min_ratio=0)
    hours, uncorrected, corrected = 300, 0, 0
    for _ in range(hours):
        current, history = noise_hour(rng, rates)
        uncorrected += bool(analyse(current, history, DAYS, loose).flagged)
        corrected += bool(analyse(current, history, DAYS, family).flagged)
    assert uncorrected > hours * 0.5
    assert corrected <= hours * 0.05 * 1.5


def test_a_planted_spike_is_found_and_named():
    rates = cell_rates(3)
    rates[("help", "枣园镇")] = 2.0
    rng = random.Random(42)
    current, history = noise_hour(rng, rates)
    current[("help", "枣园镇")] = 12
    result = analyse(current, history, DAYS)
    assert [(c.kind, c.area, c.count) for c in result.flagged] == [("help", "枣园镇", 12)]
    spike = result.flagged[0]
    assert spike.expected == pytest.approx(sum(history[("help", "枣园镇")]) / DAYS)
    assert 1.0 < spike.expected < 3.0 and spike.p_value < result.threshold
    assert result.threshold == pytest.approx(FAMILY_ALPHA / len(result.cells))


def test_a_quiet_cell_needs_more_than_one_appeal_and_the_floor_counts():
    history = {("report", "枣园镇"): [0] * DAYS, ("help", "兰山街道"): [1] * DAYS}
    one = analyse({("report", "枣园镇"): 1}, history, DAYS)
    assert one.flagged == () and one.cells[0].expected == BASELINE_FLOOR
    below_min = analyse({("report", "枣园镇"): MIN_COUNT - 1}, history, DAYS)
    assert below_min.flagged == ()
    many = analyse({("report", "枣园镇"): 8}, history, DAYS)
    assert [c.kind for c in many.flagged] == ["report"]


def test_a_busy_cell_needs_the_ratio_as_well_as_the_p_value():
    history = {("consultation", "兰山街道"): [10] * DAYS}
    count = int(MIN_RATIO * 10) - 2  # p is tiny, but less than three times the usual
    result = analyse({("consultation", "兰山街道"): count}, history, DAYS)
    assert result.cells[0].p_value < result.threshold and result.flagged == ()
    result = analyse({("consultation", "兰山街道"): int(MIN_RATIO * 10) + 2}, history, DAYS)
    assert len(result.flagged) == 1


def test_a_busy_hour_everywhere_raises_every_cells_bar():
    history = {("help", f"area{n}"): [1] * DAYS for n in range(40)}
    current = {cell: 3 for cell in history}
    current[("help", "area0")] = 8  # P(X >= 8 | 1) = 1.0e-5, under 0.001 / 40
    plain = analyse(current, history, DAYS, Thresholds(volume_adjust=False))
    assert [c.area for c in plain.flagged] == ["area0"] and plain.flagged[0].volume == 1.0
    adjusted = analyse(current, history, DAYS)
    spike = next(c for c in adjusted.cells if c.area == "area0")
    rest = 39 * 3
    assert spike.volume == pytest.approx((rest - math.sqrt(rest)) / 39)
    assert spike.expected == pytest.approx(spike.volume) and not spike.alert
    quiet = analyse({**{cell: 1 for cell in history}, ("help", "area0"): 8}, history, DAYS)
    assert [c.area for c in quiet.flagged] == ["area0"] and quiet.flagged[0].volume == 1.0


def test_more_cells_tested_means_a_stricter_threshold():
    history = {("help", f"area{n}"): [1] * DAYS for n in range(50)}
    few = analyse({("help", "area0"): 7}, {("help", "area0"): [1] * DAYS}, DAYS)
    crowded = analyse({("help", "area0"): 7}, history, DAYS)
    assert few.threshold == pytest.approx(FAMILY_ALPHA)
    assert crowded.threshold == pytest.approx(FAMILY_ALPHA / 50)
    assert few.flagged and not crowded.flagged  # P(X>=7 | 1) = 8.3e-5


def test_the_baseline_takes_days_of_the_analysed_days_type():
    week = [True, True, True, True, False, False, True] * 4  # yesterday first
    assert baseline_offsets(week, True, Thresholds()) == tuple(
        n + 1 for n, workday in enumerate(week) if workday)
    assert baseline_offsets(week, False, Thresholds()) == (5, 6, 12, 13, 19, 20, 26, 27)
    holiday_week = [True] * 28
    assert baseline_offsets(holiday_week, False, Thresholds()) == tuple(range(1, 29))
    assert baseline_offsets(week, False, Thresholds(match_day_type=False)) == tuple(range(1, 29))
