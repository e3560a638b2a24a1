"""Settings of one SGIP 1.2 bind (China Unicom's SMG), a `[sms.binds.NAME]` table with
``protocol = "sgip12"``, validated when built: a bad value raises `ConfigError` naming the key
(``sgip.node_id: ...``), and `sms_gateway.service.bind_settings` prefixes the bind.

SGIP runs both ways: the SP binds to the SMG to submit (`login_name`, `password`), and the
SMG binds to the SP to deliver replies and reports, so the service listens (`listen_host`,
`listen_port`), takes binds only from the SMG's addresses (`allowed_peers`), and checks the
login the SMG gives (`smg_login_name`, `smg_password`). Both secrets come from the
environment: HOTLINE_SMS_BIND_<NAME>_PASSWORD and HOTLINE_SMS_BIND_<NAME>_SMG_PASSWORD.

What the carrier hands over: the SP's node id (`node_id`, 3 + area code + corporation code,
the first number of every Sequence Number), the corporation code (`corp_id`), the login both
ways, the service number (`sp_number`, with any extension digits), the ServiceType and fee
fields, the SMG's address and port and the addresses it connects from, and the window and
rate it enforces.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from hotline.config_section import ConfigError, check_types
from sms_gateway.submit_pump import check_pump_settings

PROTOCOLS = ("sgip12",)
MSG_FORMATS = ("ucs2", "gbk")


@dataclasses.dataclass(frozen=True)
class SgipBindConfig:
    protocol: str = "sgip12"
    host: str = "127.0.0.1"
    port: int = 8801  # the SMG's SGIP port
    node_id: int = 0  # the SP's node id: 3 + area code + corporation code, e.g. 3053112345
    login_name: str = ""  # the SP's Bind to the SMG, at most 16 characters
    password: str = ""  # HOTLINE_SMS_BIND_<NAME>_PASSWORD wins
    listen_host: str = "0.0.0.0"  # where the SMG's binds are taken
    listen_port: int = 8802  # the port the carrier is told the SP listens on; 0: any
    allowed_peers: tuple[str, ...] = ("127.0.0.1",)  # the SMG's addresses (or networks)
    smg_login_name: str = ""  # the SMG's Bind to the SP, at most 16 characters
    smg_password: str = ""  # HOTLINE_SMS_BIND_<NAME>_SMG_PASSWORD wins
    sp_number: str = "9600110"  # the service number (with extension digits) messages come from
    corp_id: str = ""  # the corporation code, five digits
    service_type: str = ""  # ServiceType of the contract, at most 10 characters
    fee_type: int = 1  # 0 free for the user (a notice), 1 free, 2 per message, 3 monthly
    fee_value: str = "0"  # the fee in fen (分)
    given_value: str = "0"  # what the user is given, in fen
    charge_number: str = "000000000000000000000"  # 21 zeros: the SP pays
    agent_flag: int = 0  # 0 the fee is due, 1 the SP collected it already
    morelateto_mt_flag: int = 2  # 2: a message the SP sends of its own accord
    priority: int = 0  # 0 (lowest) .. 9
    msg_fmt: str = "ucs2"  # Chinese text as "ucs2" (MessageCoding 8) or "gbk" (15)
    report_flag: int = 1  # 1: a Report on every part whatever its outcome; 2: none
    window: int = 16  # Submit without a Submit_Resp, at most
    rate: float = 100.0  # Submit per second, the contracted rate
    burst: float = 0.0  # token bucket depth; 0 means max(1, rate / 10)
    response_timeout: float = 10.0  # seconds for any response
    idle_timeout: float = 30.0  # seconds without traffic before the SP unbinds (SGIP has no heartbeat)
    max_parts: int = 6
    retry_limit: int = 5  # resends of one part after 节点忙 or a response timeout
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    throttle_min_rate: float = 1.0  # the bind slows down to no less than this after 节点忙
    throttle_recovery: float = 0.05  # fraction of `rate` regained per second without a throttle
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    mo_reassembly_timeout: float = 120.0

    def __post_init__(self) -> None:
        check_types(self, "sgip")

        def bad(name: str, expected: str) -> ConfigError:
            return ConfigError(f"sgip.{name}: expected {expected}, got {getattr(self, name)!r}")

        if self.protocol not in PROTOCOLS:
            raise bad("protocol", " or ".join(PROTOCOLS))
        for name in ("port", "listen_port"):
            if not 0 <= getattr(self, name) < 65536 or (name == "port" and not self.port):
                raise bad(name, "1..65535" if name == "port" else "0..65535")
        if not 0 < self.node_id <= 0xFFFFFFFF:
            raise bad("node_id", "the SP's node id the carrier assigned (1..4294967295)")
        for name in ("login_name", "smg_login_name"):
            value = getattr(self, name)
            if not (1 <= len(value) <= 16 and value.isascii()):
                raise bad(name, "the login the carrier agreed (1-16 ASCII characters)")
        for name in ("password", "smg_password"):
            value = getattr(self, name)
            if not value.isascii() or len(value) > 16:  # the secret itself is never echoed
                raise ConfigError(f"sgip.{name}: expected an ASCII password of at most 16 "
                                  "characters")
        if not self.allowed_peers:
            raise bad("allowed_peers", "the addresses the SMG connects from")
        for peer in self.allowed_peers:
            try:
                ipaddress.ip_network(peer, strict=False)
            except ValueError:
                raise bad("allowed_peers", "IP addresses or networks") from None
        for name, size in (("sp_number", 21), ("service_type", 10), ("fee_value", 6),
                           ("given_value", 6), ("charge_number", 21)):
            value = getattr(self, name)
            if len(value) > size or not value.isascii():
                raise bad(name, f"at most {size} ASCII characters")
        for name in ("sp_number", "fee_value", "given_value", "charge_number"):
            if not getattr(self, name).isdigit():
                raise bad(name, "digits")
        if self.corp_id and not (len(self.corp_id) == 5 and self.corp_id.isdigit()):
            raise bad("corp_id", "the five-digit corporation code")
        if self.fee_type not in (0, 1, 2, 3):
            raise bad("fee_type", "0..3")
        if self.agent_flag not in (0, 1):
            raise bad("agent_flag", "0 or 1")
        if self.morelateto_mt_flag not in (0, 1, 2, 3):
            raise bad("morelateto_mt_flag", "0..3")
        if not 0 <= self.priority <= 9:
            raise bad("priority", "0..9")
        if self.msg_fmt not in MSG_FORMATS:
            raise bad("msg_fmt", " or ".join(MSG_FORMATS))
        if self.report_flag not in (0, 1, 2, 3):
            raise bad("report_flag", "0..3")
        for name in ("response_timeout", "idle_timeout", "reconnect_initial_delay",
                     "reconnect_max_delay", "mo_reassembly_timeout"):
            if not getattr(self, name) > 0:
                raise bad(name, "a positive number of seconds")
        check_pump_settings(self, bad)

    def allows(self, address: str) -> bool:
        """Whether a connection from `address` may bind as the SMG."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(peer, strict=False) for peer in self.allowed_peers)

    @property
    def heartbeat_interval(self) -> float:
        """The carriers' client checks for silence this often: SGIP unbinds when idle."""
        return self.idle_timeout

    heartbeat_misses = 1

    @property
    def bucket_depth(self) -> float:
        return self.burst or max(1.0, self.rate / 10)
