"""Each template renders in Chinese with its fields and the signature, within the configured
number of SMS parts, and a site can override one from a directory."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.config import ConfigError
from schemas.enums import SmsKind
from sms_gateway.encoding import count_parts
from sms_gateway.messages.config import MessagesConfig
from sms_gateway.messages.service import SAMPLE_FIELDS, check_templates
from sms_gateway.messages.templates import (
    TEMPLATED_KINDS,
    MessageTooLong,
    TemplateFieldMissing,
    Templates,
)
from tests.sms_gateway.messages.support import messaging
from tests.support.appeals import SHANGHAI

LONG_UNIT = "临沂市公安局兰山分局金雀山派出所"
# The longest values each field takes in practice: the length check is against these.
LONGEST = {
    SmsKind.APPEAL_RECEIVED: {"case_number": "2026112899999",
                              "deadline": dt.datetime(2026, 12, 30, 15, 59, tzinfo=dt.timezone.utc)},
    SmsKind.APPEAL_RESOLVED: {"case_number": "2026112899999", "resolution": "经核实，" + "已协调物业和社区" * 20},
    SmsKind.SURVEY: {"case_number": "2026112899999", "valid_hours": "168"},
    SmsKind.REMINDER_VEHICLE: {"plate": "鲁QD12345", "due_date": dt.date(2026, 12, 31)},
    SmsKind.REMINDER_LICENCE: {"due_date": dt.date(2026, 12, 31)},
    SmsKind.REMINDER_IDCARD: {"due_date": dt.date(2026, 12, 31), "station": "临沂市公安局兰山分局金雀山派出所户籍窗口" * 2,
                              "opening_hours": "工作日上午8:30-12:00，下午13:30-17:00，节假日休息"},
    SmsKind.EARLY_WARNING: {"text": "【防诈预警】近期冒充公检法、客服退款诈骗高发，" * 3},
    SmsKind.CALLBACK_CONFIRMATION: {"case_number": "2026112899999", "within_minutes": 120},
    SmsKind.APPEAL_DISPATCHED: {"case_number": "2026112899999", "unit_name": LONG_UNIT,
                                "deadline": dt.datetime(2026, 12, 30, 15, 59, tzinfo=dt.timezone.utc)},
    SmsKind.APPEAL_EXTENDED: {"case_number": "2026112899999", "unit_name": LONG_UNIT,
                              "deadline": dt.datetime(2027, 1, 14, 15, 59, tzinfo=dt.timezone.utc)},
    SmsKind.PROGRESS_REPLY: {"found": True, "case_number": "2026112899999", "status": "assigned",
                             "unit_name": LONG_UNIT, "resolved_at": None,
                             "deadline": dt.datetime(2026, 12, 30, 15, 59, tzinfo=dt.timezone.utc)},
    SmsKind.UNIT_URGED: {"case_number": "2026112899999", "unit_name": LONG_UNIT,
                         "deadline": dt.datetime(2026, 12, 30, 15, 59, tzinfo=dt.timezone.utc),
                         "supervise": True},
    SmsKind.KNOWLEDGE_GUIDE: {"title": "居民身份证补领" * 5, "materials": "居民户口簿；监护人陪同" * 10,
                              "location": "户籍所在地或居住地派出所户籍窗口" * 3, "hours": "工作日上午9:00-12:00" * 3,
                              "fee": "工本费按国家规定收取" * 2, "time_limit": "按规定时限制证" * 3},
}
EXPECTED = {
    SmsKind.APPEAL_RECEIVED: ["编号2026112899999", "2026年12月30日前", "9600110"],
    SmsKind.APPEAL_RESOLVED: ["编号2026112899999", "已办结：经核实", "…", "回访"],
    SmsKind.SURVEY: ["编号2026112899999", "回复1满意，2基本满意，3不满意", "168小时"],
    SmsKind.REMINDER_VEHICLE: ["鲁QD12345", "2026年12月31日", "回复TD退订"],
    SmsKind.REMINDER_LICENCE: ["驾驶证", "2026年12月31日", "回复TD退订"],
    SmsKind.REMINDER_IDCARD: ["金雀山派出所", "节假日休息", "2026年12月31日前", "回复TD退订"],
    SmsKind.EARLY_WARNING: ["冒充公检法", "回复TD退订"],
    SmsKind.CALLBACK_CONFIRMATION: ["编号2026112899999", "120分钟内", "9600110回电"],
    SmsKind.APPEAL_DISPATCHED: ["编号2026112899999", "已转交" + LONG_UNIT + "办理", "2026年12月30日前"],
    SmsKind.APPEAL_EXTENDED: ["编号2026112899999", "延期办理", "2027年1月14日前"],
    SmsKind.PROGRESS_REPLY: ["编号2026112899999", "正由" + LONG_UNIT + "办理", "2026年12月30日前办结"],
    SmsKind.UNIT_URGED: ["【督办】" + LONG_UNIT, "2026112899999", "超过办理时限（2026年12月30日）"],
    SmsKind.KNOWLEDGE_GUIDE: ["【办事指南】居民身份证补领", "。材料：居民户口簿", "…", "。地点：", "。时限：", "详询9600110"],
}


@pytest.mark.parametrize("kind", TEMPLATED_KINDS, ids=lambda k: k.value)
def test_each_template_renders_signed_with_its_fields_within_max_parts(kind):
    templates = messaging().templates
    text = templates.render(kind, **SAMPLE_FIELDS[kind.value])
    assert text.startswith("【临沂公安】")
    assert "\n" not in text and "{" not in text


@pytest.mark.parametrize("kind", TEMPLATED_KINDS, ids=lambda k: k.value)
def test_each_template_with_its_longest_fields_fits_the_configured_parts(kind):
    config = MessagesConfig()
    templates = messaging().templates
    fields = LONGEST[kind]
    if kind is SmsKind.REMINDER_IDCARD:
        fields = {**fields, "station": fields["station"][:40]}  # the import refuses longer
    text = templates.render(kind, **fields)
    for expected in EXPECTED[kind]:
        assert expected in text
    encoding, parts = count_parts(text)
    assert encoding == "ucs2" and parts <= config.max_parts


def test_a_message_over_the_configured_parts_is_refused_naming_its_kind():
    templates = Templates(MessagesConfig(max_parts=1), zone=SHANGHAI)
    with pytest.raises(MessageTooLong, match="reminder_idcard message takes 2 SMS parts, more "
                                             "than the 1 allowed"):
        templates.render(SmsKind.REMINDER_IDCARD, **SAMPLE_FIELDS["reminder_idcard"])


def test_a_configured_max_parts_the_shipped_templates_exceed_stops_start_up():
    with pytest.raises(ConfigError, match="appeal_received message takes 2 SMS parts"):
        messaging(max_parts=1)


def test_a_missing_field_is_an_error_not_a_gap():
    with pytest.raises(TemplateFieldMissing, match="reminder_vehicle.*plate"):
        messaging().templates.render(SmsKind.REMINDER_VEHICLE, due_date=dt.date(2026, 12, 31))


def test_the_signature_comes_from_the_configuration():
    text = messaging(signature="【兰山公安】").templates.render(SmsKind.EARLY_WARNING, text="注意防范")
    assert text == "【兰山公安】注意防范。回复TD退订"


def test_an_operator_overrides_one_template_from_a_directory(tmp_path):
    (tmp_path / "survey.txt.j2").write_text("请评价{{ case_number }}：回复1/2/3\n", "utf-8")
    templates = messaging(templates_dir=str(tmp_path)).templates
    assert templates.render(SmsKind.SURVEY, case_number="2026112800001", valid_hours="72") == \
        "【临沂公安】请评价2026112800001：回复1/2/3"
    assert templates.source_of(SmsKind.SURVEY) == str(tmp_path / "survey.txt.j2")
    assert "回电" in templates.render(SmsKind.CALLBACK_CONFIRMATION, case_number=None,
                                      within_minutes=None)  # the others stay shipped


def test_a_broken_override_stops_start_up_naming_the_file(tmp_path):
    (tmp_path / "early_warning.txt.j2").write_text("{{ text } 回复TD退订", "utf-8")
    templates = Templates(MessagesConfig(templates_dir=str(tmp_path)), zone=SHANGHAI)
    with pytest.raises(ConfigError, match="early_warning.txt.j2"):
        check_templates(templates)


@pytest.mark.parametrize("table, message", [
    ({"daily_cap": 0}, "messages.daily_cap must be at least 1"),
    ({"daily_cap": "3"}, "messages.daily_cap must be an integer"),
    ({"quiet_hours": "21-8"}, "messages.quiet_hours must be HH:MM-HH:MM"),
    ({"reminder_offsets_days": [30, 30]}, "messages.reminder_offsets_days has a repeated"),
    ({"reminder_offsets_days": 30}, "messages.reminder_offsets_days must be a list"),
    ({"reminder_offsets_days": [0, 7]}, "messages.reminder_offsets_days must be at least 1, got 0"),
    ({"reminder_offsets_days": [7, 400]}, "messages.reminder_offsets_days must be at most 365"),
    ({"signature": " "}, "messages.signature must not be empty"),
    ({"templates_dir": "/no/such/dir"}, "messages.templates_dir '/no/such/dir' is not a dir"),
    ({"quiet": "21:00-08:00"}, r"unknown key\(s\) in \[messages\]: quiet"),
    ({"broadcast_rate": True}, "messages.broadcast_rate must be a number"),
])
def test_a_bad_messages_table_raises_config_error_naming_the_key(table, message):
    with pytest.raises(ConfigError, match=message):
        MessagesConfig.from_table(table)


def test_the_messages_table_is_validated_into_typed_settings():
    config = MessagesConfig.from_table({"signature": "【兰山公安】", "quiet_hours": "22:00-07:30",
                                        "reminder_offsets_days": [7, 30, 1],
                                        "survey_valid_hours": 48, "broadcast_rate": 5})
    assert config.quiet == (dt.time(22), dt.time(7, 30))
    assert config.reminder_offsets_days == (30, 7, 1)
    assert config.survey_valid_hours == 48.0 and config.broadcast_rate == 5.0


@pytest.mark.parametrize("length", [184, 185, 186, 187, 188, 189])  # 13 characters around
def test_the_length_check_agrees_with_count_parts_at_the_boundary(length):
    templates = Templates(MessagesConfig(), zone=SHANGHAI)
    text = "警" * length  # with the six-character signature
    fits = count_parts("【临沂公安】" + text + "。回复TD退订")[1] <= 3
    if fits:
        templates.render(SmsKind.EARLY_WARNING, text=text)
    else:
        with pytest.raises(MessageTooLong):
            templates.render(SmsKind.EARLY_WARNING, text=text)


def test_the_urging_sms_says_催办_before_the_deadline_and_督办_after_it():
    templates = messaging().templates
    fields = {**LONGEST[SmsKind.UNIT_URGED]}
    urge = templates.render(SmsKind.UNIT_URGED, **{**fields, "supervise": False})
    assert "【催办】" in urge and "将于2026年12月30日到期" in urge and "督办" not in urge
    supervise = templates.render(SmsKind.UNIT_URGED, **fields)
    assert "【督办】" in supervise and "说明超期原因" in supervise
