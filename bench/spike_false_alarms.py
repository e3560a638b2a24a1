"""False alarms and power of the spike statistic on simulated counts (the figures in
docs/analysis.md).

6 kinds x 8 areas (48 cells), each with an hourly rate drawn from 0.02 to 6, 20 baseline
days and the analysed hour. Day-to-day variation shared by every cell (a busy day is busy
everywhere) is a Gamma factor on each day's rates with the given coefficient of variation
(0: pure Poisson). Counted: hours with at least one alert on noise alone, and how often a
planted count of 12 in a cell whose rate is 2 is found.

    .venv/bin/python bench/spike_false_alarms.py [--hours 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random

from hotline.analysis.spikes import Thresholds, analyse

KINDS = ("consultation", "help", "complaint", "report", "approval_progress", "dispute")
AREAS = tuple(f"area{n}" for n in range(8))
DAYS = 20
SPIKE_CELL, SPIKE_RATE, SPIKE_COUNT = ("help", "area0"), 2.0, 12


def poisson(rng: random.Random, lam: float) -> int:
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def simulate(hours: int, cv: float, thresholds: Thresholds, seed: int, spike: bool) -> float:
    rng = random.Random(seed)
    rates = {(kind, area): rng.choice((0.02, 0.1, 0.3, 0.7, 1.5, 3.0, 6.0))
             for kind in KINDS for area in AREAS}
    if spike:
        rates[SPIKE_CELL] = SPIKE_RATE
    shape = 1 / cv ** 2 if cv else 0
    hits = 0
    for _ in range(hours):
        factors = [rng.gammavariate(shape, 1 / shape) if shape else 1.0 for _ in range(DAYS + 1)]
        history = {cell: [poisson(rng, lam * factors[d]) for d in range(DAYS)]
                   for cell, lam in rates.items()}
        current = {cell: poisson(rng, lam * factors[DAYS]) for cell, lam in rates.items()}
        if spike:
            current[SPIKE_CELL] = SPIKE_COUNT
        result = analyse({c: n for c, n in current.items() if n},
                         {c: h for c, h in history.items() if any(h)}, DAYS, thresholds)
        if spike:
            hits += any((c.kind, c.area) == SPIKE_CELL for c in result.flagged)
        else:
            hits += bool(result.flagged)
    return hits / hours


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    settings = {"default": Thresholds(),
                "no volume adjustment": Thresholds(volume_adjust=False),
                "p-value only (no gates, no adjustment)": Thresholds(min_count=0, min_ratio=0,
                                                                     volume_adjust=False)}
    print(f"{'day-to-day CV':<14} {'thresholds':<40} {'false-alarm hours':>18} "
          f"{'found 12 vs 2':>14}")
    for cv in (0.0, 0.32, 0.5):
        for label, thresholds in settings.items():
            false_rate = simulate(args.hours, cv, thresholds, args.seed, spike=False)
            power = simulate(max(1, args.hours // 10), cv, thresholds, args.seed + 1, spike=True)
            print(f"{cv:<14} {label:<40} {false_rate:>18.4%} {power:>14.1%}", flush=True)


if __name__ == "__main__":
    main()
