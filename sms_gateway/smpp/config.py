"""Settings of one SMPP bind, a `[sms.binds.NAME]` table, validated when built (a bad value
raises `ConfigError` naming it)."""

from __future__ import annotations

import dataclasses

from hotline.config_section import ConfigError, check_types

BIND_MODES = ("transceiver", "pair")


@dataclasses.dataclass(frozen=True)
class SmppBindConfig:
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = "hotline"
    password: str = ""
    system_type: str = ""
    bind_mode: str = "transceiver"  # "pair": a transmitter and a receiver connection
    source_addr: str = "9600110"
    source_addr_ton: int = 5  # alphanumeric/short code, as Chinese SMSCs expect for service numbers
    source_addr_npi: int = 0
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    registered_delivery: int = 1
    window: int = 10  # outstanding submit_sm per connection
    rate: float = 100.0  # PDUs per second, the contracted rate
    burst: float = 0.0  # token bucket depth; 0 means max(1, rate / 10)
    response_timeout: float = 10.0  # seconds for any response
    enquire_link_interval: float = 30.0  # seconds of silence before an enquire_link
    max_parts: int = 6
    retry_limit: int = 5  # resends of one part after throttling, system error or timeout
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    throttle_min_rate: float = 1.0  # the bind slows down to no less than this after ESME_RTHROTTLED
    throttle_recovery: float = 0.05  # fraction of `rate` regained per second without a throttle
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    mo_reassembly_timeout: float = 120.0
    max_pdu_length: int = 64 * 1024
    pdus_per_turn: int | None = 8  # PDUs handled per read before letting the reactor write
    # How this SMSC writes message ids: in submit_sm_resp and in receipts (10, 16, or None: as text
    # with the hex/decimal heuristic of `receipts.message_id_keys`).
    submit_id_base: int | None = None
    receipt_id_base: int | None = None

    def __post_init__(self) -> None:
        # A bind is a TOML table handed over as it is: its types (and no nan or infinity)
        # are checked here, as the core loader checks a section's.
        check_types(self, "smpp")

        def bad(name: str, expected: str) -> ConfigError:
            return ConfigError(f"smpp.{name}: expected {expected}, got {getattr(self, name)!r}")

        if self.bind_mode not in BIND_MODES:
            raise bad("bind_mode", " or ".join(BIND_MODES))
        if not 0 < self.port < 65536:
            raise bad("port", "1..65535")
        if not self.system_id or len(self.system_id) > 15:
            raise bad("system_id", "1..15 characters")
        if len(self.password) > 8:
            raise bad("password", "at most 8 characters")
        if not 1 <= self.window <= 1000:
            raise bad("window", "1..1000")
        if not self.rate > 0:
            raise bad("rate", "a positive number of PDUs per second")
        if self.burst < 0:
            raise bad("burst", "0 or more")
        for name in ("response_timeout", "enquire_link_interval", "retry_initial_delay",
                     "retry_max_delay", "reconnect_initial_delay", "reconnect_max_delay",
                     "mo_reassembly_timeout", "throttle_min_rate"):
            if not getattr(self, name) > 0:
                raise bad(name, "a positive number of seconds")
        if not 1 <= self.max_parts <= 255:
            raise bad("max_parts", "1..255")
        if self.retry_limit < 0:
            raise bad("retry_limit", "0 or more")
        if not 0 < self.throttle_recovery <= 1:
            raise bad("throttle_recovery", "a fraction in (0, 1]")
        if self.pdus_per_turn is not None and self.pdus_per_turn < 1:
            raise bad("pdus_per_turn", "1 or more, or none")
        for name in ("submit_id_base", "receipt_id_base"):
            if getattr(self, name) not in (None, 10, 16):
                raise bad(name, "10, 16 or none")
        if not 16 < self.max_pdu_length <= 1 << 20:
            raise bad("max_pdu_length", "17..1048576")

    @property
    def bucket_depth(self) -> float:
        return self.burst or max(1.0, self.rate / 10)
