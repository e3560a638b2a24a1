import pytest
from twisted.internet.task import Clock

from hotline.config import ConfigError
from sms_gateway.smpp import SmppBindConfig
from sms_gateway.throttle import TokenBucket


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


@pytest.mark.parametrize("line, named", [
    ("rate = inf", "sms.binds.mobile: smpp.rate must be a finite number, got inf"),
    ("response_timeout = nan", "sms.binds.mobile: smpp.response_timeout must be a finite number"),
    ('port = "2775"', "sms.binds.mobile: smpp.port must be an integer, got '2775'"),
    ("window = true", "sms.binds.mobile: smpp.window must be an integer, got True"),
])
def test_a_bind_table_with_a_wrong_type_or_a_non_finite_number_is_refused(tmp_path, line, named):
    from hotline.config import load_config
    from sms_gateway.service import bind_settings

    path = tmp_path / "hotline.toml"
    path.write_text(f'[sms.binds.mobile]\nhost = "10.0.0.9"\n{line}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        bind_settings(load_config(path, environ={}).sms, environ={})
    assert named in str(raised.value)


def test_a_bind_table_of_whole_numbers_is_read_as_its_types():
    bind = SmppBindConfig(rate=50, retry_initial_delay=2)
    assert bind.rate == 50.0 and isinstance(bind.rate, float)
    assert SmppBindConfig(submit_id_base=16).submit_id_base == 16
