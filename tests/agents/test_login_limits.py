"""A lockout storm: anyone may lock any username by failing its password, the last
administrator's included. The lockout stays; login attempts are rate-limited per username and
per address before any password is hashed; the storm shows on /metrics; and the command line
lets the administrator back in."""

import dataclasses
import datetime as dt
import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families
from twisted.web.test.requesthelper import DummyRequest

from agents.auth import RateLimiter
from agents.web import make_root
from hotline import passwords
from hotline.agents_admin import agent_id_of
from hotline.audit import trail
from hotline.metrics import Metrics
from schemas.enums import AgentRole
from tests.agents.support import PASSWORD, Browser, create_agent, make_app

HOTLINE = os.path.join(os.path.dirname(sys.executable), "hotline")
WRONG = "wrong password!"


class CountingHasher:
    """The real hasher, counting its verify calls (each one Argon2 run)."""

    def __init__(self, inner):
        self.inner, self.verifies = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def verify(self, stored, password):
        self.verifies += 1
        return self.inner.verify(stored, password)


@pytest.fixture
def counting(monkeypatch):
    passwords.verify_password(None, "warm the dummy hash up")
    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    return hasher


@pytest.fixture
def metered(core):
    """The core with a metrics registry, as the service builds it."""
    return dataclasses.replace(core, metrics=Metrics())


def attempt(app, pumped_reactor, username, password=WRONG, client="10.0.0.7"):
    return Browser(app, pumped_reactor, client=client).login(username, password)


def scrape(core, app) -> dict[tuple[str, tuple], float]:
    """GET /metrics through the resource tree: {(sample name, labels): value}."""
    request = DummyRequest([b"metrics"])
    request.uri = request.path = b"/metrics"
    body = make_root(core, app).getChildWithDefault(b"metrics", request).render(request)
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode("utf-8"))
            for sample in family.samples}


# The limiter on its own clock ---------------------------------------------------------------

class Seconds:
    def __init__(self):
        self.t = 1_000.0

    def __call__(self):
        return self.t


def test_the_limiter_allows_a_burst_then_one_attempt_per_refill():
    now = Seconds()
    limiter = RateLimiter(3, now)
    assert [limiter.take("wang").allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.take("wang")
    assert refused.retry_after_s == pytest.approx(20) and refused.refused_in_a_row == 2
    now.t += 19.9
    assert not limiter.take("wang").allowed
    now.t += 0.2
    assert limiter.take("wang").allowed
    assert limiter.take("li").allowed  # each key has its own bucket


def test_the_limiter_refills_no_more_than_its_burst_after_a_long_pause():
    now = Seconds()
    limiter = RateLimiter(2, now)
    now.t += 86_400
    assert [limiter.take("wang").allowed for _ in range(3)] == [True, True, False]


def test_the_limiter_keeps_at_most_max_keys_buckets_dropping_the_oldest_used():
    now = Seconds()
    limiter = RateLimiter(1, now, max_keys=3)
    for key in ("a", "b", "c"):
        assert limiter.take(key).allowed
    assert not limiter.take("a").allowed  # "a" is now the most recently used
    assert limiter.take("d").allowed  # "b" is dropped for it
    assert len(limiter) == 3
    assert not limiter.take("a").allowed and not limiter.take("c").allowed
    assert limiter.take("b").allowed  # afresh


def test_the_limiter_does_not_count_a_clock_going_back_as_time_to_refill():
    now = Seconds()
    limiter = RateLimiter(1, now)
    assert limiter.take("wang").allowed
    now.t -= 3600
    assert not limiter.take("wang").allowed
    now.t += 3600 + 59
    assert not limiter.take("wang").allowed  # a minute since the last allowed: not yet
    now.t += 1.5
    assert limiter.take("wang").allowed


# Through the login form ---------------------------------------------------------------------

def test_attempts_on_one_username_from_many_addresses_are_rate_limited_unhashed(
        core, database, pumped_reactor, clock, counting):
    create_agent(database, "wang", AgentRole.AGENT)
    app = make_app(core, login_attempts_per_username_per_minute=3, lockout_failures=50)
    for n in range(3):
        assert attempt(app, pumped_reactor, "wang", client=f"10.1.0.{n}").status == 401
    assert counting.verifies == 3
    refused = attempt(app, pumped_reactor, "wang", PASSWORD, client="10.1.0.99")
    assert refused.status == 429
    assert "登录尝试过于频繁，请稍后再试" in refused.body
    assert refused.header("Retry-After") == "20"
    assert counting.verifies == 3  # no Argon2 run for a refused attempt
    actions = [e.action for e in database.read_now(trail, "login", "wang")]
    assert actions == ["login_failed"] * 3  # and no row: a flood writes nothing
    create_agent(database, "li", AgentRole.AGENT)
    assert attempt(app, pumped_reactor, "li", PASSWORD, client="10.1.0.99").status == 303
    clock.advance(20)
    assert attempt(app, pumped_reactor, "wang", PASSWORD, client="10.1.0.99").status == 303


def test_attempts_from_one_address_are_rate_limited_whatever_username_they_name(
        core, database, pumped_reactor, counting):
    app = make_app(core, login_attempts_per_minute=4)
    for n in range(4):
        assert attempt(app, pumped_reactor, f"guess{n}").status == 401
    refused = attempt(app, pumped_reactor, "guess9")
    assert refused.status == 429 and "登录尝试过于频繁" in refused.body
    assert counting.verifies == 4
    assert attempt(app, pumped_reactor, "guess9", client="10.0.0.8").status == 401


def test_a_rate_limited_address_uses_up_no_attempts_of_the_username(core, database,
                                                                      pumped_reactor):
    create_agent(database, "wang", AgentRole.AGENT)
    app = make_app(core, login_attempts_per_minute=1, login_attempts_per_username_per_minute=2,
                   lockout_failures=50)
    assert attempt(app, pumped_reactor, "wang", client="10.9.9.9").status == 401
    for _ in range(5):
        assert attempt(app, pumped_reactor, "wang", client="10.9.9.9").status == 429
    assert attempt(app, pumped_reactor, "wang", PASSWORD, client="10.0.0.8").status == 303


def test_the_username_limit_counts_the_username_as_the_lockout_does(core, database,
                                                                    pumped_reactor):
    create_agent(database, "wang", AgentRole.AGENT)
    app = make_app(core, login_attempts_per_username_per_minute=2, lockout_failures=50)
    assert attempt(app, pumped_reactor, "wang", client="10.0.0.1").status == 401
    assert attempt(app, pumped_reactor, "  wang ", client="10.0.0.2").status == 401
    assert attempt(app, pumped_reactor, "wang\t", PASSWORD, client="10.0.0.3").status == 429


def test_a_lockout_storm_on_the_last_admin_shows_on_metrics(metered, database, pumped_reactor):
    create_agent(database, "admin", AgentRole.ADMIN)
    app = make_app(metered, lockout_failures=3, login_attempts_per_username_per_minute=6)
    before = scrape(metered, app)
    assert before[("hotline_login_lockouts_total", ())] == 0
    assert before[("hotline_login_failures_total", (("reason", "credentials"),))] == 0
    assert before[("hotline_login_rate_limited_total", (("reason", "username"),))] == 0
    statuses = [attempt(app, pumped_reactor, "admin", client=f"203.0.113.{n}").status
                for n in range(10)]
    assert statuses == [401, 401, 423, 423, 423, 423, 429, 429, 429, 429]
    assert attempt(app, pumped_reactor, "admin", PASSWORD, client="10.0.0.7").status == 429
    after = scrape(metered, app)
    assert after[("hotline_login_failures_total", (("reason", "credentials"),))] == 3
    assert after[("hotline_login_failures_total", (("reason", "locked"),))] == 3
    assert after[("hotline_login_lockouts_total", ())] == 1
    assert after[("hotline_login_rate_limited_total", (("reason", "username"),))] == 5
    assert after[("hotline_login_rate_limited_total", (("reason", "address"),))] == 0


def test_the_lockout_page_says_an_administrator_can_unlock(core, database, pumped_reactor):
    create_agent(database, "wang", AgentRole.AGENT)
    app = make_app(core, lockout_failures=2)
    attempt(app, pumped_reactor, "wang")
    locked = attempt(app, pumped_reactor, "wang")
    assert locked.status == 423
    assert "账号已锁定至 10:15" in locked.body and "请联系系统管理员" in locked.body


# The way back in: the command line --------------------------------------------------------

def hotline(db_url, *args):
    environment = dict(os.environ, HOTLINE_DATABASE_URL=db_url, HOTLINE_CONFIG="")
    return subprocess.run([HOTLINE, *args], env=environment, capture_output=True, text=True,
                          timeout=60)


def test_the_last_admin_locked_by_a_storm_gets_back_in_with_hotline_agents_unlock(
        core, database, db_url, pumped_reactor, clock):
    # The command records the unlock at the machine's time: the web app's clock is set to
    # it (whatever the day), so that both write one timeline.
    clock.current = dt.datetime.now(dt.timezone.utc)
    create_agent(database, "admin", AgentRole.ADMIN)
    app = make_app(core, lockout_failures=3)
    for n in range(3):
        attempt(app, pumped_reactor, "admin", client=f"203.0.113.{n}")
    assert attempt(app, pumped_reactor, "admin", PASSWORD, client="10.0.0.7").status == 423
    unlocked = hotline(db_url, "agents", "unlock", "admin")
    assert unlocked.returncode == 0, unlocked.stderr
    assert "admin: login lockout lifted" in unlocked.stdout
    assert attempt(app, pumped_reactor, "admin", PASSWORD, client="10.0.0.7").status == 303
    logins = database.read_now(trail, "login", "admin")
    cleared = [e for e in logins if e.action == "lockout_cleared"]
    assert len(cleared) == 1 and cleared[0].actor.startswith("cli:")
    agent_id = database.read_now(agent_id_of, "admin")
    unlocks = [e for e in database.read_now(trail, "agent", agent_id) if e.action == "unlock"]
    assert len(unlocks) == 1 and unlocks[0].actor.startswith("cli:")


def test_unlock_names_an_agent_that_does_not_exist(db_url):
    missing = hotline(db_url, "agents", "unlock", "nobody")
    assert missing.returncode == 1 and "not found: nobody" in missing.stderr
