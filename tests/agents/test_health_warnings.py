"""/healthz `warnings` from the packages: each registers fn() -> lines in the core's
`warnings` registry; they are read at each request, after the calendar's, and one that
fails is logged without taking the health check down."""

from twisted.logger import LogLevel

from agents.health import HealthResource
from tests.agents.test_health import get
from tests.ivr.helpers import LogCapture


def test_packages_warnings_are_listed_by_name_and_read_at_each_request(database,
                                                                       pumped_reactor):
    registry = {"sms": lambda: ["sms: bind b1 has no password"]}
    health = HealthResource(database, warnings=registry)
    registry["ivr"] = lambda: ["ivr: 2 of 80 prompts are not in /s/hotline", "ivr: spool"]
    code, body = get(health, pumped_reactor)
    assert code == 200 and body["status"] == "ok"  # a warning is not a failure
    assert body["warnings"] == ["ivr: 2 of 80 prompts are not in /s/hotline", "ivr: spool",
                                "sms: bind b1 has no password"]
    registry["ivr"] = list
    assert get(health, pumped_reactor)[1]["warnings"] == ["sms: bind b1 has no password"]


def test_a_package_whose_warnings_fail_is_logged_and_the_rest_still_listed(database,
                                                                          pumped_reactor):
    def broken():
        raise RuntimeError("no")

    health = HealthResource(database, warnings={"ivr": broken, "sms": lambda: ["sms: x"]})
    with LogCapture() as logs:
        code, body = get(health, pumped_reactor)
    assert code == 200 and body["warnings"] == ["sms: x"]
    (failure,) = logs.failures()
    assert failure["log_level"] is LogLevel.critical and failure["name"] == "ivr"
