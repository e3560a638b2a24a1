"""Settings of one CMPP bind (China Mobile's ISMG), a `[sms.binds.NAME]` table with
``protocol = "cmpp2"`` or ``"cmpp3"``, validated when built: a bad value raises `ConfigError`
naming the key (``cmpp.sp_id: ...``), and `sms_gateway.service.bind_settings` prefixes the
bind (``sms.binds.mobile: cmpp.sp_id: ...``).

What the carrier hands over for a CMPP account: the SP code (企业代码, six digits: `sp_id`,
sent as Source_Addr and Msg_src), the shared secret (`password`, from
HOTLINE_SMS_BIND_<NAME>_PASSWORD), the service number with any extension (`src_id`, e.g.
106575160110 plus the site's digits), the Service_Id, the fee fields of the contract, the
ISMG's address and port, the version (2.0 or 3.0), and the window and rate it enforces.
"""

from __future__ import annotations

import dataclasses

from hotline.config_section import ConfigError, check_types
from sms_gateway.submit_pump import check_pump_settings

PROTOCOLS = ("cmpp2", "cmpp3")
MSG_FORMATS = ("ucs2", "gbk")
FEE_TYPES = ("01", "02", "03", "04", "05")


@dataclasses.dataclass(frozen=True)
class CmppBindConfig:
    protocol: str = "cmpp2"  # "cmpp2": CMPP 2.0 (Version 0x20); "cmpp3": CMPP 3.0 (0x30)
    host: str = "127.0.0.1"
    port: int = 7890  # the ISMG's long-connection port in the specification
    sp_id: str = ""  # the SP code, Source_Addr of CMPP_CONNECT and Msg_src of each submit
    password: str = ""  # the shared secret; HOTLINE_SMS_BIND_<NAME>_PASSWORD wins
    src_id: str = "9600110"  # the service number (with extension digits) messages come from
    service_id: str = ""  # Service_Id of the contract (业务代码), at most 10 characters
    fee_user_type: int = 2  # 0 the destination pays, 1 the source, 2 the SP, 3 see fee_terminal_id
    fee_terminal_id: str = ""  # the number charged when fee_user_type is 3
    fee_type: str = "01"  # 01 free for the charged number, 02 per message, 03 monthly, ...
    fee_code: str = "0"  # the fee in fen (分)
    msg_fmt: str = "ucs2"  # Chinese text as "ucs2" (Msg_Fmt 8) or "gbk" (15, UCS2 outside GBK)
    registered_delivery: int = 1  # 1: ask for a status report on every part
    window: int = 16  # CMPP_SUBMIT without a response, at most (ISMGs enforce 16)
    rate: float = 100.0  # CMPP_SUBMIT per second, the contracted rate
    burst: float = 0.0  # token bucket depth; 0 means max(1, rate / 10)
    response_timeout: float = 10.0  # seconds for any response, CMPP_ACTIVE_TEST's included
    heartbeat_interval: float = 30.0  # seconds of silence before a CMPP_ACTIVE_TEST
    heartbeat_misses: int = 3  # CMPP_ACTIVE_TEST unanswered in a row before the link is dropped
    verify_ismg: bool = True  # check AuthenticatorISMG in CMPP_CONNECT_RESP
    max_parts: int = 6
    retry_limit: int = 5  # resends of one part after flow control or a response timeout
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    throttle_min_rate: float = 1.0  # the bind slows down to no less than this after Result 8
    throttle_recovery: float = 0.05  # fraction of `rate` regained per second without a throttle
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    mo_reassembly_timeout: float = 120.0

    def __post_init__(self) -> None:
        check_types(self, "cmpp")

        def bad(name: str, expected: str) -> ConfigError:
            return ConfigError(f"cmpp.{name}: expected {expected}, got {getattr(self, name)!r}")

        if self.protocol not in PROTOCOLS:
            raise bad("protocol", " or ".join(PROTOCOLS))
        if not 0 < self.port < 65536:
            raise bad("port", "1..65535")
        if not (len(self.sp_id) == 6 and self.sp_id.isascii() and self.sp_id.isalnum()):
            raise bad("sp_id", "the six-character SP code the carrier assigned")
        if not self.password.isascii():  # the secret itself is never echoed
            raise ConfigError("cmpp.password: expected an ASCII shared secret")
        terminal = 32 if self.protocol == "cmpp3" else 21
        for name, size in (("src_id", 21), ("service_id", 10), ("fee_code", 6),
                           ("fee_terminal_id", terminal)):
            value = getattr(self, name)
            if len(value) > size or not value.isascii():
                raise bad(name, f"at most {size} ASCII characters")
        if not self.src_id or not self.src_id.isdigit():
            raise bad("src_id", "the service number in digits (with any extension)")
        if not self.fee_code.isdigit():
            raise bad("fee_code", "the fee in fen, in digits")
        if self.fee_terminal_id and not self.fee_terminal_id.isdigit():
            raise bad("fee_terminal_id", "a number in digits, or empty")
        if self.fee_user_type not in (0, 1, 2, 3):
            raise bad("fee_user_type", "0, 1, 2 or 3")
        if self.fee_user_type == 3 and not self.fee_terminal_id:
            raise bad("fee_terminal_id", "the charged number when fee_user_type is 3")
        if self.fee_type not in FEE_TYPES:
            raise bad("fee_type", ", ".join(FEE_TYPES))
        if self.msg_fmt not in MSG_FORMATS:
            raise bad("msg_fmt", " or ".join(MSG_FORMATS))
        if self.registered_delivery not in (0, 1):
            raise bad("registered_delivery", "0 or 1")
        for name in ("response_timeout", "heartbeat_interval", "reconnect_initial_delay",
                     "reconnect_max_delay", "mo_reassembly_timeout"):
            if not getattr(self, name) > 0:
                raise bad(name, "a positive number of seconds")
        check_pump_settings(self, bad)
        if not 1 <= self.heartbeat_misses <= 10:
            raise bad("heartbeat_misses", "1..10")

    @property
    def version(self) -> int:
        """The Version octet of CMPP_CONNECT: 0x20 or 0x30."""
        return 0x30 if self.protocol == "cmpp3" else 0x20

    @property
    def bucket_depth(self) -> float:
        return self.burst or max(1.0, self.rate / 10)
