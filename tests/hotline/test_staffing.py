"""Erlang C for the hall's staffing (hotline.staffing, `hotline report staffing`), checked
against published values."""

import math

import pytest

from hotline import cli
from hotline.staffing import (
    StaffingInputError,
    erlang_c,
    officers_needed,
    render,
    staffing,
)


@pytest.mark.parametrize(("officers", "published"), [
    (11, 0.6821), (12, 0.4494), (13, 0.2853), (14, 0.1741), (15, 0.1020)])
def test_the_probability_of_waiting_matches_the_erlang_c_table_at_ten_erlangs(officers, published):
    # The standard Erlang C table's row for a load of 10 Erlangs (e.g. 200 calls an hour
    # of 180 s), to the four places the tables print.
    assert round(erlang_c(officers, 10.0), 4) == published


def test_the_share_waiting_longer_than_ten_seconds_matches_a_published_call_calculator():
    # Footbridge's Call Calc application note (al911.org, "Erlang C Call Calc"): 2 call
    # takers, 60-second calls at 30 an hour: fewer than 8 percent wait over 10 s; with
    # 20 s more work per call (80 s), 14 percent.
    quick = staffing(2, 30, 60)
    assert 1 - quick.service_level(10) == pytest.approx(0.0779, abs=5e-4)
    slower = staffing(2, 30, 80)
    assert round((1 - slower.service_level(10)) * 100) == 14


def test_officers_needed_is_the_fewest_that_meet_gb_t_33358_by_default():
    needed = officers_needed(200, 180)  # 95% within 15 s
    assert needed.officers == 16
    assert needed.service_level(15) >= 0.95
    assert staffing(15, 200, 180).service_level(15) < 0.95
    assert needed.average_wait_s == pytest.approx(needed.wait_probability * 180 / 6)
    assert needed.occupancy == pytest.approx(10 / 16)


def test_a_load_the_officers_cannot_carry_waits_for_ever():
    assert erlang_c(10, 10.0) == 1.0 and erlang_c(9, 10.0) == 1.0
    full = staffing(10, 200, 180)
    assert full.service_level(15) == 0.0 and math.isinf(full.average_wait_s)


def test_hundreds_of_officers_stay_exact_and_more_officers_never_do_worse():
    needed = officers_needed(12_000, 200, answer_within_s=20, target=0.8)
    assert 667 < needed.officers < 720
    levels = [staffing(n, 12_000, 200).service_level(20) for n in range(668, 700)]
    assert all(0 <= a <= b <= 1 for a, b in zip(levels, levels[1:], strict=False))


@pytest.mark.parametrize(("args", "words"), [
    ((0, 180, 15, 0.95), "每小时来电量须大于 0"),
    ((100, -1, 15, 0.95), "平均处理时长须大于 0 秒"),
    ((100, 180, -5, 0.95), "接听时限不能为负数"),
    ((100, 180, 15, 95), "服务水平目标须在 0 与 1 之间"),
])
def test_bad_inputs_are_refused_in_chinese(args, words):
    with pytest.raises(StaffingInputError, match=words):
        render(*args)


def test_the_command_prints_the_answer_and_the_figures_around_it(capsys):
    code = cli.main(["report", "staffing", "--offered-per-hour", "200", "--handle-seconds", "180"])
    out = capsys.readouterr().out
    assert code == 0
    assert "话务量 10.00 爱尔兰" in out and "95.0% 的来电在 15 秒内接听" in out
    assert "需要在线坐席 16 人：服务水平 96.5%" in out
    assert "    16         96.5%" in out and "<- 达标最少人数" in out


def test_the_command_refuses_a_bad_input_with_exit_code_2(capsys):
    code = cli.main(["report", "staffing", "--offered-per-hour", "100", "--handle-seconds",
                     "180", "--target", "1.5"])
    assert code == 2
    assert "服务水平目标须在 0 与 1 之间" in capsys.readouterr().err
