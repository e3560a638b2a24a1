"""Fixtures the page tests share: a core on the test database with a settable clock."""

import datetime as dt

import pytest

from tests.agents.support import SettableClock, make_core
from tests.support.appeals import add_unit

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai


@pytest.fixture
def clock():
    return SettableClock(NOW)


@pytest.fixture
def core(database, pumped_reactor, clock):
    return make_core(database, pumped_reactor, clock)


@pytest.fixture
def unit(database):
    return database.write_now(add_unit)
