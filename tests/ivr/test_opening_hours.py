"""[ivr] opening and closing times read like every other span of the day (`[callbacks]
calling_hours`): HH:MM, the closing after the opening, 24:00 allowed as the end; and the
README's "try the menu at any hour" settings open the menu at any hour of any day."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.config import ConfigError, IvrConfig, load_config
from hotline.workdays import WorkCalendar
from ivr.flows import prompts as P
from ivr.flows.hotline import HotlineFlow
from ivr.hours import ServiceHours
from tests.ivr.helpers import run_call
from tests.ivr.test_hotline_flow import MemoryBackend, citizen, played
from tests.support.appeals import SHANGHAI

ANY_HOUR = {"HOTLINE_IVR_OPEN_ON_HOLIDAYS": "true", "HOTLINE_IVR_OPENING_TIME": "00:00",
            "HOTLINE_IVR_CLOSING_TIME": "24:00"}


def shanghai(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


def hours(config: IvrConfig) -> ServiceHours:
    return ServiceHours(config, WorkCalendar(), SHANGHAI)


def test_closing_at_24_00_is_accepted_and_keeps_the_menu_open_until_midnight():
    config = load_config(environ={"HOTLINE_IVR_CLOSING_TIME": "24:00"}).ivr
    assert config.hours == (8 * 60, 24 * 60)
    friday = hours(config)
    assert friday.is_open(shanghai(2026, 11, 27, 23, 59))
    assert not friday.is_open(shanghai(2026, 11, 27, 7, 59))


@pytest.mark.parametrize("moment", [
    (2026, 11, 27, 21, 30),  # a Friday evening, after the default closing time
    (2026, 11, 27, 23, 59),
    (2026, 11, 29, 0, 0),  # a Sunday, midnight
    (2026, 11, 29, 3, 15),
])
def test_the_readme_settings_open_the_menu_at_any_hour(moment):
    config = load_config(environ=ANY_HOUR).ivr
    backend = MemoryBackend(now=shanghai(*moment))
    flow = HotlineFlow(backend, hours(config), config, "hotline", new_call_id=lambda: "call-1")
    call = run_call(flow, "_ 1", citizen())
    assert played(call)[:2] == [P.GREETING, P.MAIN_MENU]
    assert P.AFTER_HOURS not in played(call)
    assert backend.record.menu_choice == "consultation"


@pytest.mark.parametrize("opening, closing, complaint", [
    ("08:00", "08:00", "ivr.closing_time must be a time HH:MM after ivr.opening_time (08:00)"),
    ("21:00", "08:00", "ivr.closing_time must be a time HH:MM after ivr.opening_time (21:00)"),
    ("08:00", "24:30", "24:00 at the latest, got '24:30'"),
    ("08:00", "9pm", "got '9pm'"),
    ("08:00", "20:00-21:00", "got '20:00-21:00'"),
    ("24:00", "24:00", "ivr.opening_time must be a time HH:MM, got '24:00'"),
    ("8", "21:00", "ivr.opening_time must be a time HH:MM, got '8'"),
])
def test_a_bad_pair_is_refused_naming_the_key_at_fault(opening, closing, complaint):
    with pytest.raises(ConfigError) as error:
        load_config(environ={"HOTLINE_IVR_OPENING_TIME": opening,
                             "HOTLINE_IVR_CLOSING_TIME": closing})
    assert complaint in str(error.value)


def test_the_callback_queue_reads_24_00_as_the_end_of_the_day():
    """The callback queue reads the agents' opening from `closing` (a time): 24:00 reads
    00:00 there, which it takes as the end of the day."""
    from callback_queue.config import opening_from_ivr

    assert opening_from_ivr(IvrConfig(closing_time="24:00")) == ((480, 1440), False)
    assert opening_from_ivr(IvrConfig()) == ((480, 1260), False)
