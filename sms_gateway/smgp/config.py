"""Settings of one SMGP 3.0 bind (China Telecom's SMGW), a `[sms.binds.NAME]` table with
``protocol = "smgp3"``, validated when built: a bad value raises `ConfigError` naming the key
(``smgp.client_id: ...``), and `sms_gateway.service.bind_settings` prefixes the bind.

What the carrier hands over for an SMGP account: the login account (`client_id`, at most
eight characters, usually the SP's service code), the shared secret (`password`, at most 15
characters, from HOTLINE_SMS_BIND_<NAME>_PASSWORD), the service number messages come from
(`src_term_id`, 118 or 106 plus the SP's code and any extension digits), the ServiceID, the
fee fields of the contract, the SMGW's address and port (8890 in the specification), the
address allow-list it put us on, and the window and rate it enforces.
"""

from __future__ import annotations

import dataclasses

from hotline.config_section import ConfigError, check_types
from sms_gateway.submit_pump import check_pump_settings

PROTOCOLS = ("smgp3",)
MSG_FORMATS = ("ucs2", "gbk")
FEE_TYPES = ("00", "01", "02", "03", "04")
LOGIN_MODES = {"send": 0, "receive": 1, "transmit": 2}


@dataclasses.dataclass(frozen=True)
class SmgpBindConfig:
    protocol: str = "smgp3"
    host: str = "127.0.0.1"
    port: int = 8890  # the SMGW's port in the specification
    client_id: str = ""  # the login account (ClientID), at most 8 characters
    password: str = ""  # the shared secret; HOTLINE_SMS_BIND_<NAME>_PASSWORD wins
    src_term_id: str = "9600110"  # the service number (with extension digits) messages come from
    service_id: str = ""  # ServiceID of the contract (业务代码), at most 10 characters
    fee_type: str = "00"  # 00 free, 01 per message, 02 monthly, 03 capped, 04 by the SP
    fee_code: str = "0"  # the fee in fen (分), at most 6 digits
    fixed_fee: str = ""  # the monthly or capped fee in fen, at most 6 digits
    charge_term_id: str = ""  # the number charged; empty: as the contract says
    priority: int = 0  # 0 (lowest) .. 3
    msg_fmt: str = "ucs2"  # Chinese text as "ucs2" (MsgFormat 8) or "gbk" (15, UCS2 outside GBK)
    need_report: int = 1  # 1: ask for a status report on every part
    login_mode: str = "transmit"  # "transmit" (send and receive on one link), "send", "receive"
    window: int = 16  # Submit without a Submit_Resp, at most
    rate: float = 100.0  # Submit per second, the contracted rate
    burst: float = 0.0  # token bucket depth; 0 means max(1, rate / 10)
    response_timeout: float = 10.0  # seconds for any response, Active_Test's included
    heartbeat_interval: float = 30.0  # seconds of silence before an Active_Test
    heartbeat_misses: int = 3  # Active_Test unanswered in a row before the link is dropped
    verify_smgw: bool = True  # check AuthenticatorServer in Login_Resp
    max_parts: int = 6
    retry_limit: int = 5  # resends of one part after 系统忙 or a response timeout
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    throttle_min_rate: float = 1.0  # the bind slows down to no less than this after 系统忙
    throttle_recovery: float = 0.05  # fraction of `rate` regained per second without a throttle
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    mo_reassembly_timeout: float = 120.0

    def __post_init__(self) -> None:
        check_types(self, "smgp")

        def bad(name: str, expected: str) -> ConfigError:
            return ConfigError(f"smgp.{name}: expected {expected}, got {getattr(self, name)!r}")

        if self.protocol not in PROTOCOLS:
            raise bad("protocol", " or ".join(PROTOCOLS))
        if not 0 < self.port < 65536:
            raise bad("port", "1..65535")
        if not (1 <= len(self.client_id) <= 8 and self.client_id.isascii()
                and self.client_id.isalnum()):
            raise bad("client_id", "the login account the carrier assigned (1-8 characters)")
        if not self.password.isascii() or len(self.password) > 15:  # never echoed
            raise ConfigError("smgp.password: expected an ASCII shared secret of at most 15 "
                              "characters")
        for name, size in (("src_term_id", 21), ("service_id", 10), ("fee_code", 6),
                           ("fixed_fee", 6), ("charge_term_id", 21)):
            value = getattr(self, name)
            if len(value) > size or not value.isascii():
                raise bad(name, f"at most {size} ASCII characters")
        if not self.src_term_id.isdigit():
            raise bad("src_term_id", "the service number in digits (with any extension)")
        for name in ("fee_code", "fixed_fee", "charge_term_id"):
            value = getattr(self, name)
            if value and not value.isdigit():
                raise bad(name, "digits, or empty" if name != "fee_code" else "digits")
        if not self.fee_code:
            raise bad("fee_code", "the fee in fen, in digits")
        if self.fee_type not in FEE_TYPES:
            raise bad("fee_type", ", ".join(FEE_TYPES))
        if self.priority not in (0, 1, 2, 3):
            raise bad("priority", "0..3")
        if self.msg_fmt not in MSG_FORMATS:
            raise bad("msg_fmt", " or ".join(MSG_FORMATS))
        if self.need_report not in (0, 1):
            raise bad("need_report", "0 or 1")
        if self.login_mode not in LOGIN_MODES:
            raise bad("login_mode", ", ".join(LOGIN_MODES))
        for name in ("response_timeout", "heartbeat_interval", "reconnect_initial_delay",
                     "reconnect_max_delay", "mo_reassembly_timeout"):
            if not getattr(self, name) > 0:
                raise bad(name, "a positive number of seconds")
        check_pump_settings(self, bad)
        if not 1 <= self.heartbeat_misses <= 10:
            raise bad("heartbeat_misses", "1..10")

    @property
    def login_mode_code(self) -> int:
        """LoginMode of Login: 0 send, 1 receive, 2 transmit."""
        return LOGIN_MODES[self.login_mode]

    @property
    def bucket_depth(self) -> float:
        return self.burst or max(1.0, self.rate / 10)
