"""The callback queue's settings: the `[callbacks]` table of the configuration.

Built by the core loader exactly like its own sections (every key overridable by
`HOTLINE_CALLBACKS_<KEY>`), or directly with `CallbacksConfig(...)` in tests. Per-kind
tables (`mode`, `delay_h`, `due_h`, `max_attempts`, `fallback`) are merged over the defaults,
so a site names only the kinds it changes. Validated here, once; a bad value raises
`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from hotline.config_section import ConfigError, parse_time_range, setting
from schemas.enums import AppealKind

KINDS = tuple(kind.value for kind in AppealKind)
MODES = ("automated", "agent")
FALLBACKS = ("sms", "unreachable")
QUEUE_CALLBACK_CALLER_IDS = ("hotline", "citizen")


def _per_kind(value: Any) -> dict[str, Any]:
    return {kind: value for kind in KINDS}


@dataclasses.dataclass(frozen=True)
class CallbacksConfig:
    enabled: bool = setting(True, doc="run the dispatcher in this process")
    calling_hours: str = setting("08:00-21:00", doc="when citizens may be called (Asia/Shanghai, "
                                                    "HH:MM-HH:MM; 24:00 for midnight)")
    call_on_holidays: bool = setting(False, doc="call on public holidays and weekends too")
    mode: dict[str, str] = setting({**_per_kind("automated"), "complaint": "agent",
                                    "report": "agent"}, choices=MODES,
                                   doc="per appeal kind: automated survey or an agent's call")
    delay_h: dict[str, float] = setting(_per_kind(2.0), min=0, max=720,
                                        doc="per kind: hours after resolution the window opens")
    due_h: dict[str, float] = setting(_per_kind(24.0), min=0.25, max=720,
                                      doc="per kind: calling hours from window start to due")
    max_attempts: dict[str, int] = setting(_per_kind(3), min=1, max=20)
    fallback: dict[str, str] = setting(_per_kind("sms"), choices=FALLBACKS,
                                       doc="per kind, after the last attempt: sms or unreachable")
    retry_min: float = setting(60.0, min=1, max=1440, doc="minutes before the next attempt")
    busy_retry_min: float = setting(15.0, min=1, max=1440, doc="... after a busy line")
    merge_ahead_h: float = setting(24.0, min=0, max=720,
                                   doc="a call also covers the citizen's tasks due this much later")
    dial_string: str = setting("PJSIP/{number}@{trunk}", doc="Originate channel template")
    trunks: tuple[str, ...] = setting(("trunk",), doc="trunk names, for {trunk} in dial_string")
    calls_per_trunk: int = setting(4, min=1, max=500,
                                   doc="calls in the air at most on each trunk, all processes together")
    caller_id: str = setting("9600110")
    queue_callback_caller_id: str = setting(
        "hotline", choices=QUEUE_CALLBACK_CALLER_IDS,
        doc="a queue callback's caller id: hotline (caller_id) or citizen (the citizen's own "
            "number, where the trunk lets it through: the agent's phone shows who it is)")
    survey_context: str = setting("hotline-survey")
    survey_exten: str = setting("s")
    queue_context: str = setting("hotline-queue-callback",
                                 doc="dialplan that puts an answered citizen in the agent queue")
    queue_exten: str = setting("s")
    agent_context: str = setting("hotline-agent-callback",
                                 doc="click-to-call: the agent's leg continues here to the citizen")
    queue: str = setting("hotline", doc="the agent queue checked before a queue callback")
    task_variable: str = setting("TASK_ID", doc="channel variable carrying the task id")
    attempt_variable: str = setting("TASK_ATTEMPT",
                                    doc="channel variable carrying the attempt's id: the "
                                        "dialplan names the recording callback-TASK-ATTEMPT")
    ring_timeout_s: int = setting(45, min=5, max=300)
    originate_response_s: float = setting(90.0, min=5, max=900,
                                          doc="no OriginateResponse by then: failed")
    lease_s: float = setting(180.0, min=5, max=3600, doc="claim while dialing")
    survey_lease_s: float = setting(900.0, min=30, max=7200,
                                    doc="claim while the survey runs, or while a queue "
                                        "callback's citizen waits for an agent: longer than "
                                        "[ivr] queue_timeout_s")
    agent_lease_s: float = setting(1800.0, min=60, max=14400, doc="claim of a click-to-call")
    poll_s: float = setting(5.0, min=0.05, max=600)
    batch: int = setting(20, min=1, max=1000, doc="tasks claimed per poll at most")
    personal_delay_h: float = setting(4.0, min=0, max=720,
                                      doc="an agent's own callback is open to all after this")
    ivr_due_min: float = setting(30.0, min=1, max=1440,
                                 doc="queue / voice-message callbacks: due within (opening time)")
    ivr_max_attempts: int = setting(3, min=1, max=20)
    ivr_retry_min: float = setting(10.0, min=1, max=1440)
    sms_survey_text: str = setting(
        "【9600110】您的诉求（编号{case_number}）已办结。请回复数字评价：1满意，2基本满意，3不满意。",
        doc="the fallback survey SMS; {case_number} is replaced")

    def __post_init__(self) -> None:
        parse_hours(self.calling_hours, "callbacks.calling_hours")
        for key in ("mode", "delay_h", "due_h", "max_attempts", "fallback"):
            table = getattr(self, key)
            unknown = set(table) - set(KINDS)
            if unknown:
                raise ConfigError(f"callbacks.{key} has unknown kind(s) {', '.join(sorted(unknown))};"
                                  f" expected {', '.join(KINDS)}")
            missing = set(KINDS) - set(table)
            if missing:
                object.__setattr__(self, key, {**_default(key), **table})
        for kind, mode in self.mode.items():
            if mode not in MODES:
                raise ConfigError(f"callbacks.mode.{kind} must be one of {', '.join(MODES)}, got {mode!r}")
        for kind, fallback in self.fallback.items():
            if fallback not in FALLBACKS:
                raise ConfigError(f"callbacks.fallback.{kind} must be one of "
                                  f"{', '.join(FALLBACKS)}, got {fallback!r}")
        if self.queue_callback_caller_id not in QUEUE_CALLBACK_CALLER_IDS:
            raise ConfigError(f"callbacks.queue_callback_caller_id must be one of "
                              f"{', '.join(QUEUE_CALLBACK_CALLER_IDS)}, got "
                              f"{self.queue_callback_caller_id!r}")
        if "{number}" not in self.dial_string:
            raise ConfigError(f"callbacks.dial_string must contain {{number}}, got {self.dial_string!r}")
        if not self.trunks:
            raise ConfigError("callbacks.trunks must name at least one trunk")
        if len(set(self.trunks)) != len(self.trunks) or not all(self.trunks):
            raise ConfigError(f"callbacks.trunks must be distinct non-empty names, got {self.trunks!r}")
        if self.lease_s <= self.originate_response_s:
            # Otherwise a live dispatcher's claim could run out while it still waits for the
            # OriginateResponse, and another process would dial the same citizen.
            raise ConfigError(f"callbacks.lease_s ({self.lease_s}) must be longer than "
                              f"callbacks.originate_response_s ({self.originate_response_s})")
        if not self.task_variable.replace("_", "").isalnum():
            raise ConfigError(f"callbacks.task_variable must be a channel variable name, "
                              f"got {self.task_variable!r}")

    @property
    def hours(self) -> tuple[int, int]:
        """(start, end) in minutes after midnight."""
        return parse_hours(self.calling_hours, "callbacks.calling_hours")


_FIELDS = {field.name: field for field in dataclasses.fields(CallbacksConfig)}


def _default(name: str) -> Any:
    factory = _FIELDS[name].default_factory
    return factory() if callable(factory) else _FIELDS[name].default


def parse_hours(text: str, key: str) -> tuple[int, int]:
    """'08:00-21:00' -> (480, 1260); '00:00-24:00' is the whole day. Calling hours lie
    within one day: they end after they start."""
    return parse_time_range(text, key, crosses_midnight=False)


def check_against_ivr(config: CallbacksConfig, ivr_config: Any) -> None:
    """What `[callbacks]` must agree on with `[ivr]`, checked when the callback queue is
    built (each section alone is checked when it is loaded); raises `ConfigError` naming
    both keys and their values.

    An answered queue callback is held by its dispatcher's lease (`survey_lease_s`, from
    the answer) while the citizen waits in the agents' queue, for at most the queue's
    timeout (`[ivr] queue_timeout_s`; the queue callback's dialplan takes the same value,
    HOTLINE_QUEUE_TIMEOUT in extensions.conf). A lease that runs out first hands a citizen
    still waiting to whichever dispatcher polls next, as if its own had gone."""
    wait = ivr_config.queue_timeout_s
    if config.survey_lease_s <= wait:
        raise ConfigError(f"callbacks.survey_lease_s ({config.survey_lease_s:g}) must be longer "
                          f"than ivr.queue_timeout_s ({wait}): a queue callback's citizen may "
                          f"wait in the agents' queue that long after answering, and the "
                          f"lease holds the task meanwhile")


def opening_from_ivr(ivr_config: Any) -> tuple[tuple[int, int], bool]:
    """The agents' opening hours (the IVR's), for queue and voice-message callbacks."""
    def minutes(t: dt.time) -> int:
        return t.hour * 60 + t.minute

    end = minutes(ivr_config.closing) or 24 * 60
    return (minutes(ivr_config.opening), end), ivr_config.open_on_holidays
