"""How many officers the hall needs for a load of calls: Erlang C (服务决策).

The what-if sum a supervisor does before a peak (the Spring Festival, a new policy on ID
cards): with calls offered at a rate and a handle time, how many officers logged in and free
to answer meet the answer-within target (GB/T 33358: 95% within 15 s). Erlang C models the
queue as M/M/N: calls arrive at random (Poisson), handle times are exponential, nobody gives
up waiting. It errs on the safe side for a hall whose callers do abandon (they relieve the
queue), and it counts officers on the phones, not the roster: breaks, training and wrap-up
beyond the handle time are the roster's to add.

The formula is the closed one, computed through Erlang B's recurrence so that it stays exact
for hundreds of officers (no factorials):

    B(0) = 1,  B(n) = A·B(n-1) / (n + A·B(n-1))
    C(N, A) = N·B(N) / (N - A·(1 - B(N)))          probability that a call waits
    SL(t) = 1 - C·exp(-(N - A)·t / h)               share answered within t seconds
    ASA = C·h / (N - A)                             average wait

where A = calls per second × handle time h (Erlangs, the officers busy on average).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass

# GB/T 33358 (call-centre service quality): answered within 15 s, 95% of calls.
ANSWER_WITHIN_S = 15.0
TARGET = 0.95
MAX_OFFICERS = 10_000


class StaffingInputError(ValueError):
    """An input the sum cannot take, said in the words the supervisor reads."""


@dataclass(frozen=True)
class Staffing:
    """The queue with `officers` answering a load of `erlangs`."""

    officers: int
    erlangs: float
    handle_s: float
    wait_probability: float  # Erlang C: a call waits at all
    average_wait_s: float

    def service_level(self, within_s: float) -> float:
        """The share of calls answered within `within_s` seconds."""
        if self.officers <= self.erlangs:
            return 0.0
        return 1.0 - self.wait_probability * math.exp(
            -(self.officers - self.erlangs) * within_s / self.handle_s)

    @property
    def occupancy(self) -> float:
        return min(1.0, self.erlangs / self.officers)


def erlang_c(officers: int, erlangs: float) -> float:
    """The probability that a call waits, for `officers` answering `erlangs` of traffic
    (1.0 when the load is at or above what they can carry: the queue grows without end)."""
    if officers <= 0 or erlangs >= officers:
        return 1.0
    if erlangs <= 0:
        return 0.0
    blocking = 1.0
    for n in range(1, officers + 1):
        blocking = erlangs * blocking / (n + erlangs * blocking)
    return officers * blocking / (officers - erlangs * (1.0 - blocking))


def staffing(officers: int, offered_per_hour: float, handle_s: float) -> Staffing:
    erlangs = offered_per_hour * handle_s / 3600.0
    waits = erlang_c(officers, erlangs)
    average = waits * handle_s / (officers - erlangs) if officers > erlangs else math.inf
    return Staffing(officers, erlangs, handle_s, waits, average)


def officers_needed(offered_per_hour: float, handle_s: float, *,
                    answer_within_s: float = ANSWER_WITHIN_S,
                    target: float = TARGET) -> Staffing:
    """The fewest officers whose service level meets `target`, with their figures."""
    check_inputs(offered_per_hour, handle_s, answer_within_s, target)
    erlangs = offered_per_hour * handle_s / 3600.0
    officers = max(1, math.floor(erlangs) + 1)  # fewer cannot keep up at all
    while officers <= MAX_OFFICERS:
        found = staffing(officers, offered_per_hour, handle_s)
        if found.service_level(answer_within_s) >= target:
            return found
        officers += 1
    raise StaffingInputError(f"超过 {MAX_OFFICERS} 名坐席仍达不到目标，请检查来电量和处理时长")


def check_inputs(offered_per_hour: float, handle_s: float, answer_within_s: float,
                 target: float) -> None:
    if not (offered_per_hour > 0 and math.isfinite(offered_per_hour)):
        raise StaffingInputError(f"每小时来电量须大于 0，收到 {offered_per_hour:g}")
    if not (handle_s > 0 and math.isfinite(handle_s)):
        raise StaffingInputError(f"平均处理时长须大于 0 秒，收到 {handle_s:g}")
    if not (answer_within_s >= 0 and math.isfinite(answer_within_s)):
        raise StaffingInputError(f"接听时限不能为负数，收到 {answer_within_s:g}")
    if not 0 < target < 1:
        raise StaffingInputError(f"服务水平目标须在 0 与 1 之间（如 0.95），收到 {target:g}")


# -- `hotline report staffing` ---------------------------------------------------------------

def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def seconds(value: float) -> str:
    return "无穷" if math.isinf(value) else f"{value:.1f} 秒"


def render(offered_per_hour: float, handle_s: float, answer_within_s: float,
           target: float) -> str:
    """The answer and the figures around it, as the supervisor reads them."""
    needed = officers_needed(offered_per_hour, handle_s, answer_within_s=answer_within_s,
                             target=target)
    lines = [
        f"每小时来电 {offered_per_hour:g} 通，平均处理时长 {handle_s:g} 秒"
        f"（话务量 {needed.erlangs:.2f} 爱尔兰）",
        f"目标：{percent(target)} 的来电在 {answer_within_s:g} 秒内接听",
        f"需要在线坐席 {needed.officers} 人：服务水平 {percent(needed.service_level(answer_within_s))}，"
        f"来电需等待的概率 {percent(needed.wait_probability)}，"
        f"平均等待 {seconds(needed.average_wait_s)}，坐席占用率 {percent(needed.occupancy)}",
        "",
        f"{'坐席':>4}  {'服务水平':>8}  {'需等待':>7}  {'平均等待':>9}  {'占用率':>7}",
    ]
    first = max(1, needed.officers - 3)
    for officers in range(first, needed.officers + 3):
        row = staffing(officers, offered_per_hour, handle_s)
        mark = "  <- 达标最少人数" if officers == needed.officers else ""
        lines.append(f"{officers:>6}  {percent(row.service_level(answer_within_s)):>12}  "
                     f"{percent(row.wait_probability):>10}  {seconds(row.average_wait_s):>12}  "
                     f"{percent(row.occupancy):>10}{mark}")
    lines.append("")
    lines.append("Erlang C 模型：来电随机到达、无人放弃等待；所得为同时在线接听的人数，"
                 "排班时另加休息、培训等缺勤。")
    return "\n".join(lines)


def cmd_report_staffing(config, args: argparse.Namespace) -> int:
    try:
        print(render(args.offered_per_hour, args.handle_seconds, args.answer_within,
                     args.target))
    except StaffingInputError as error:
        print(f"hotline: {error}", file=sys.stderr)
        return 2
    return 0


def register_report(report) -> None:
    """`hotline report staffing`, on the `report` subcommands."""
    parser = report.add_parser("staffing", help="officers needed for a load of calls "
                                                "(Erlang C, 服务决策)")
    parser.add_argument("--offered-per-hour", type=float, required=True,
                        help="calls offered per hour")
    parser.add_argument("--handle-seconds", type=float, required=True,
                        help="average handle time per call, talk and wrap-up (seconds)")
    parser.add_argument("--answer-within", type=float, default=ANSWER_WITHIN_S,
                        help="answered within this many seconds (default 15, GB/T 33358)")
    parser.add_argument("--target", type=float, default=TARGET,
                        help="share of calls answered in time (default 0.95)")
    parser.set_defaults(handler=cmd_report_staffing)
