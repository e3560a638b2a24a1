"""The early-warning analysis page: the last day's flagged hours with their statistic,
for supervisors, in both languages; the alert each raised, open or acknowledged."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hotline.analysis import repository
from hotline.analysis.spikes import Thresholds
from hotline.workdays import WorkCalendar
from schemas.enums import AgentRole
from schemas.models import SupervisorAlert
from tests.agents.conftest import NOW  # noqa: E402  (2026-11-28 10:00 in Shanghai)
from tests.agents.support import Browser, create_agent, make_app
from tests.hotline.test_spike_job import CELLS, SHANGHAI, noise, plant

HOUR = dt.timedelta(hours=1)


def analyse(database, hour):
    return database.write_now(repository.run_hour, hour, zone=SHANGHAI, calendar=WorkCalendar(),
                              thresholds=Thresholds(), now=hour + HOUR + dt.timedelta(minutes=5),
                              runner="test")


@pytest.fixture
def supervisor(core, database, pumped_reactor):
    create_agent(database, "wang", AgentRole.SUPERVISOR)
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("wang").status == 303
    return browser


def rows(page) -> dict[str, str]:
    return dict(re.findall(r'<tr id="(spike-\d+)" data-kind="\w+">(.*?)</tr>', page.body, re.S))


def test_the_page_lists_the_days_spikes_with_their_statistic(supervisor, database):
    recent = NOW - 2 * HOUR  # 08:00-09:00 in Shanghai
    old = NOW - 30 * HOUR  # more than a day ago: not listed
    appeals = noise(database, recent, seed=4)
    noise(database, old, seed=5, appeals=appeals)
    plant(database, appeals, recent, "complaint", "枣园镇", 11)
    plant(database, appeals, old, "dispute", "义堂镇", 10)
    result = analyse(database, recent)
    assert analyse(database, old).analysis.flagged
    [spike] = result.analysis.flagged

    page = supervisor.get("/supervisor/analysis")
    assert page.status == 200
    assert 'id="nav-analysis"' in page.body
    found = rows(page)
    assert list(found) == [f"spike-{result.alert_ids[0]}"]
    cells = found[f"spike-{result.alert_ids[0]}"]
    assert "2026-11-28 08:00–09:00" in cells and "投诉" in cells and "枣园镇" in cells
    assert f'<td class="count">{spike.count}</td>' in cells
    assert f'<td class="baseline">{spike.expected:.2f}</td>' in cells
    assert f"{spike.p_value:.2g} &lt; {result.analysis.threshold:.2g}" in cells
    assert " ".join(map(str, spike.baseline)) in cells
    assert f'href="/supervisor/alerts#alert-{result.alert_ids[0]}"' in cells
    assert "不少于 5 件" in page.body and "前 28 天" in page.body  # the thresholds shown
    assert f"检验 {len(result.analysis.cells)} 个单元" in page.body

    ack = supervisor.post(f"/supervisor/alerts/{result.alert_ids[0]}/ack")
    assert ack.status == 303
    cells = rows(supervisor.get("/supervisor/analysis"))[f"spike-{result.alert_ids[0]}"]
    assert "wang 已处理" in cells


def test_the_alert_is_listed_with_its_kind_and_the_page_speaks_english(supervisor, database):
    appeals = noise(database, NOW - HOUR, seed=8)
    plant(database, appeals, NOW - HOUR, "help", "兰山街道", 12)
    result = analyse(database, NOW - HOUR)
    alerts = supervisor.get("/supervisor/alerts")
    row = re.search(rf'<tr id="alert-{result.alert_ids[0]}">(.*?)</tr>', alerts.body, re.S)
    assert row and "诉求量异常" in row.group(1) and "求助 help · 兰山街道" in row.group(1)

    supervisor.post("/language", {"lang": "en", "next": "/supervisor/analysis"})
    page = supervisor.get("/supervisor/analysis")
    assert "Early warning: unusual appeal counts" in page.body
    assert "<td>Help</td>" in rows(page)[f"spike-{result.alert_ids[0]}"]


def test_with_no_run_the_page_says_the_job_has_not_run(supervisor):
    page = supervisor.get("/supervisor/analysis")
    assert page.status == 200 and 'id="analysis-no-runs"' in page.body
    assert 'id="no-spikes"' in page.body


def test_agents_and_admins_cannot_see_the_page(core, database, pumped_reactor):
    app = make_app(core)
    for name, role, home in (("li", AgentRole.AGENT, "/appeals"),
                             ("root", AgentRole.ADMIN, "/admin/agents")):
        create_agent(database, name, role)
        browser = Browser(app, pumped_reactor)
        assert browser.login(name).status == 303
        assert browser.get("/supervisor/analysis").status == 403
        page = browser.get(home)
        assert page.status == 200 and "<nav>" in page.body
        assert 'id="nav-analysis"' not in page.body


def test_a_busy_hour_shows_the_factor_that_raised_the_baseline(supervisor, database):
    hour = NOW - HOUR
    appeals = noise(database, hour, seed=9)
    for (kind, area), lam in CELLS.items():  # the whole hour three times as busy
        plant(database, appeals, hour, kind, area, round(2 * lam))
    plant(database, appeals, hour, "help", "枣园镇", 25)
    result = analyse(database, hour)
    [spike] = result.analysis.flagged
    assert spike.volume > 1.5
    cells = rows(supervisor.get("/supervisor/analysis"))[f"spike-{result.alert_ids[0]}"]
    assert f"{spike.expected:.2f} <span class=\"volume\">(含繁忙系数 ×{spike.volume:.2f})" in cells
    alert = database.read_now(lambda s: s.get(SupervisorAlert, result.alert_ids[0]).note)
    assert f"busy-hour factor x{spike.volume:.2f}" in alert
