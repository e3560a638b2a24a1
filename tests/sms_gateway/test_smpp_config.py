import pytest
from twisted.internet.task import Clock

from hotline.config import ConfigError
from sms_gateway.smpp import SmppBindConfig
from sms_gateway.smpp.throttle import TokenBucket


@pytest.mark.parametrize("field, value, named", [
    ("bind_mode", "receiver", "smpp.bind_mode"),
    ("window", 0, "smpp.window"),
    ("rate", 0, "smpp.rate"),
    ("password", "123456789", "smpp.password"),
    ("max_parts", 256, "smpp.max_parts"),
    ("receipt_id_base", 8, "smpp.receipt_id_base"),
    ("pdus_per_turn", 0, "smpp.pdus_per_turn"),
])
def test_bad_bind_setting_is_refused_naming_the_key(field, value, named):
    with pytest.raises(ConfigError, match=named):
        SmppBindConfig(**{field: value})


def test_default_bucket_depth_is_a_tenth_of_a_second_of_rate():
    assert SmppBindConfig(rate=200).bucket_depth == 20
    assert SmppBindConfig(rate=5).bucket_depth == 1
    assert SmppBindConfig(rate=200, burst=3).bucket_depth == 3


def test_token_bucket_starts_full_refills_at_rate_and_caps_at_depth():
    clock = Clock()
    bucket = TokenBucket(rate=4.0, depth=2.0, clock=clock)
    assert [bucket.consume() for _ in range(3)] == [True, True, False]
    assert bucket.delay() == pytest.approx(0.25)
    clock.advance(10)
    assert [bucket.consume() for _ in range(3)] == [True, True, False]
