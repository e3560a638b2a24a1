"""A resolution date is said the Chinese way (年月日) in Asia/Shanghai, whatever the zone of
the Asterisk host: with the service's own prompts, not SAY DATE (English order in the host's
zone on a stock Asterisk, which has no Mandarin sounds)."""

from __future__ import annotations

import datetime as dt

import pytest
from twisted.internet.testing import StringTransport

from ivr.backend import AppealView
from ivr.flows import prompts as P
from ivr.prompts import prompt_ids
from ivr.simulator import AsteriskCallSimulator, CallSetup
from schemas.enums import AppealStatus, CallOutcome
from tests.ivr.helpers import run_call
from tests.ivr.test_hotline_flow import APPEALS, MemoryBackend, citizen, make_flow, played

UTC = dt.timezone.utc


@pytest.mark.parametrize("day, said", [
    (dt.date(2026, 11, 28), ("digit-2", "digit-0", "digit-2", "digit-6", "date-year",
                             "date-month-11", "date-day-28")),
    (dt.date(2030, 1, 1), ("digit-2", "digit-0", "digit-3", "digit-0", "date-year",
                           "date-month-1", "date-day-1")),
    (dt.date(2027, 12, 31), ("digit-2", "digit-0", "digit-2", "digit-7", "date-year",
                             "date-month-12", "date-day-31")),
])
def test_a_date_is_the_year_digit_by_digit_then_month_and_day(day, said):
    assert P.date_prompts(day) == said
    assert set(said) <= prompt_ids()


def test_every_date_prompt_says_its_chinese_numeral():
    from ivr.prompts import load_catalog

    catalog = load_catalog()
    assert [catalog[p].zh for p in P.date_prompts(dt.date(2026, 11, 28))] == \
        ["二", "零", "二", "六", "年", "十一月", "二十八日"]
    assert catalog["date-day-10"].zh == "十日" and catalog["date-day-21"].zh == "二十一日"


def resolved_at(moment: dt.datetime) -> MemoryBackend:
    view = AppealView(9, "2026112000009", AppealStatus.RESOLVED, "PS-LS", moment)
    backend = MemoryBackend()
    known = {**APPEALS, view.case_number: view}

    async def by_case(case_number):
        return known.get(case_number)

    backend.appeal_by_case = by_case
    return backend


@pytest.mark.parametrize("moment, day", [
    # 07:30 in Shanghai is 23:30 the day before in UTC: a UTC Asterisk said the 19th
    (dt.datetime(2026, 11, 19, 23, 30, tzinfo=UTC), "date-day-20"),
    (dt.datetime(2026, 11, 20, 15, 59, tzinfo=UTC), "date-day-20"),  # 23:59 in Shanghai
    (dt.datetime(2026, 11, 20, 16, 0, tzinfo=UTC), "date-day-21"),  # midnight in Shanghai
])
def test_the_progress_query_says_the_day_of_the_resolution_in_shanghai(moment, day):
    backend = resolved_at(moment)
    call = run_call(make_flow(backend), "_ 4 2026112000009# _", citizen(sounds=None))
    heard = played(call)
    after = heard[heard.index(P.STATUS_RESOLVED_ON) + 1:][:7]
    assert after == ["digit-2", "digit-0", "digit-2", "digit-6", "date-year", "date-month-11",
                     day]
    assert not [c for c in call.commands() if c.startswith("SAY ")]
    assert backend.record.outcome is CallOutcome.QUERY_ANSWERED


def test_zero_during_the_date_goes_to_an_agent():
    backend = resolved_at(dt.datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    call = run_call(make_flow(backend), "_ 4 2026112000009# _ _ _ 0", citizen())
    assert [c for c in call.commands() if c.startswith("EXEC Queue")]
    assert backend.record.outcome is CallOutcome.TO_QUEUE


def ask(simulator: AsteriskCallSimulator, transport: StringTransport, line: str) -> str:
    transport.clear()
    simulator.dataReceived(line.encode() + b"\n")
    return transport.value().decode()


@pytest.mark.parametrize("line", [
    'SAY DATETIME 1795887564 ""',
    'SAY DATETIME 1795887564 "0" "Y \'digits/year\' m d"',
    'SAY DATETIME 1795887564 "0" "Y \'digits/year\' m d" Asia/Shanghai',
    'SAY DATETIME 1795887564 "0" "" Asia/Shanghai extra',  # res_agi.c reads argv[4], argv[5]
    'SAY DATETIME 1795887564xyz ""',  # ast_get_time_t: sscanf("%ld") of a leading integer
    'SAY DATE 1795887564 "0"',
])
def test_the_simulator_answers_say_datetime_with_a_format_and_zone_as_asterisk_does(line):
    """res_agi.c handle_saydatetime: four arguments or more (time, escape digits, then an
    optional format and zone); only a time that is not an integer is a usage error."""
    simulator = AsteriskCallSimulator(CallSetup())
    transport = StringTransport()
    simulator.makeConnection(transport)
    assert ask(simulator, transport, line) == "200 result=0\n"


@pytest.mark.parametrize("line", ['SAY DATETIME 1795887564', 'SAY DATETIME now ""',
                                  'SAY DATE 1795887564 "0" extra'])
def test_the_simulator_refuses_say_datetime_without_a_time_or_escape_digits(line):
    simulator = AsteriskCallSimulator(CallSetup())
    transport = StringTransport()
    simulator.makeConnection(transport)
    assert ask(simulator, transport, line).startswith("520")
