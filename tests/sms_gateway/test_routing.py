import pytest

from sms_gateway import routing
from sms_gateway.routing import NoRoute, Router, carrier_of


class Link:
    def __init__(self, name, up=True):
        self.name, self.up = name, up

    def is_available(self):
        return self.up


ROUTER = Router({"China Mobile": "mobile", "China Unicom": "unicom", "China Telecom": "telecom"},
                {"1390539": "local"}, fallback="mobile")


def test_carrier_data_names_the_three_operators():
    assert carrier_of("13812345678") == "China Mobile"
    assert carrier_of("18612345678") == "China Unicom"
    assert carrier_of("18912345678") == "China Telecom"


@pytest.mark.parametrize("number, bind", [
    ("13812345678", "mobile"), ("18612345678", "unicom"), ("18912345678", "telecom"),
    ("13905391234", "local"),  # the prefix override wins over the carrier
    ("19212345678", "mobile"),  # China Broadnet: no route, the fallback
])
def test_route_by_prefix_then_carrier_then_fallback(number, bind):
    assert ROUTER.route(number) == bind


def test_down_bind_hands_over_to_an_available_fallback():
    links = {"mobile": Link("mobile"), "unicom": Link("unicom", up=False)}
    assert ROUTER.choose("18612345678", links).name == "mobile"


def test_down_bind_without_an_available_fallback_keeps_its_route():
    links = {"mobile": Link("mobile", up=False), "unicom": Link("unicom", up=False)}
    assert ROUTER.choose("18612345678", links).name == "unicom"


def test_route_to_an_unconfigured_bind_is_an_error():
    with pytest.raises(NoRoute):
        ROUTER.choose("18912345678", {"mobile": Link("mobile")})


def test_without_carrier_routes_no_carrier_lookup_is_made(monkeypatch):
    def lookup(number):
        raise AssertionError("a carrier lookup per message, for nothing")
    monkeypatch.setattr(routing, "carrier_of", lookup)
    assert Router({}, {"1380": "special"}, "main").route("13912345678") == "main"
    assert Router({}, {"1380": "special"}, "main").route("13801234567") == "special"
