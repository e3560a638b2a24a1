"""`hotline sms send NUMBER TEXT` and `hotline sms status ID`: queue a test message, read its fate
(each part's carrier message id, and the bind and protocol that carried it)."""

from __future__ import annotations

import argparse

from hotline.config import Config, ConfigError


def _db(config: Config):
    from hotline.db import Database, make_engine

    return Database(make_engine(config.database), reactor=None)


def cmd_send(config: Config, args: argparse.Namespace) -> int:
    from hotline.clock import SystemClock
    from schemas.enums import SmsKind, SmsState
    from sms_gateway import outbox
    from sms_gateway.encoding import count_parts

    encoding, parts = count_parts(args.text)
    limit = max_parts(config)
    if parts > limit:
        # Refused here, not queued to fail later in the dispatcher.
        print(f"短信过长，未排队：需要 {parts} 条（{encoding}），最多 {limit} 条 "
              f"(text needs {parts} parts, at most {limit} allowed)")
        return 1
    message = _db(config).write_now(outbox.enqueue, kind=SmsKind.TEST, destination=args.number,
                                    text=args.text, now=SystemClock().now())
    if message.state is SmsState.FAILED:
        print(f"message {message.id} refused: {message.last_error}")
        return 1
    print(f"message {message.id} queued for {message.destination}; the running service sends it "
          f"(hotline sms status {message.id})")
    return 0


def max_parts(config: Config) -> int:
    """The most parts any configured bind takes for one message (the strictest bind's, so
    that whichever bind a number is routed to can send it)."""
    limits = [table.get("max_parts", config.sms.max_parts)
              for table in config.sms.binds.values() if isinstance(table, dict)]
    return min(limits, default=config.sms.max_parts)


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from sms_gateway import outbox

    db = _db(config)
    message = db.read_now(outbox.get, args.id)
    if message is None:
        print(f"no message {args.id}")
        return 1
    print(f"message {message.id} to {message.destination}: {message.state.value}"
          f" (attempts {message.attempts}, link {_link_label(config, message.link)})"
          + (f"; last error: {message.last_error}" if message.last_error else ""))
    for attempt, index, carrier_id, state in db.read_now(outbox.parts_of, args.id):
        print(f"  attempt {attempt} part {index + 1}: id {carrier_id} {state.value}")
    return 0


def cmd_unknown(config: Config, args: argparse.Namespace) -> int:
    """Messages the SMSC accepted whose fate no receipt told: for an operator to follow up."""
    from hotline.masking import mask_phone
    from sms_gateway import outbox

    rows = _db(config).read_now(outbox.unknown_messages, args.limit)
    if not rows:
        print("no message is unknown")
        return 0
    print(f"{len(rows)} message(s) with no final delivery receipt (状态未知):")
    for row in rows:
        submitted = row.submitted_at.isoformat(timespec="seconds") if row.submitted_at else "-"
        print(f"  message {row.id} to {mask_phone(row.destination)}, link "
              f"{_link_label(config, row.link)}, submitted {submitted}")
    return 0


def _link_label(config: Config, link: str | None) -> str:
    """A bind's name and the protocol it speaks (``cmcc (cmpp3)``), as configured now."""
    if not link:
        return "-"
    from sms_gateway.service import bind_settings

    try:
        protocols = {bind.name: bind.protocol for bind in bind_settings(config.sms)}
    except ConfigError:
        return link
    protocol = protocols.get(link, "smpp" if link == "simulator" else None)
    return f"{link} ({protocol})" if protocol else link


def cmd_simulate_reply(config: Config, args: argparse.Namespace) -> int:
    """Ask the running service's embedded SMSC simulator to deliver a citizen's reply."""
    import socket

    port = config.sms.simulator_control_port
    if port == 0 and config.service.ports_file:  # any port: the service wrote which one
        from hotline.listening import read_ports_file

        port = read_ports_file(config.service.ports_file).get("smsc_simulator_control", 0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as control:
            control.sendall(f"MO {args.number} {args.text}\n".encode("utf-8"))
            answer = control.makefile("r", encoding="utf-8").readline().strip()
    except OSError as error:
        print(f"no SMSC simulator control on 127.0.0.1:{port} ({error}); is `make run` up "
              f"with no SMSC configured?")
        return 1
    print(f"SMSC simulator: {answer} (0 = the service stored the reply and acknowledged it)")
    return 0 if answer.startswith("OK") else 1


def register(commands) -> None:
    sms = commands.add_parser("sms", help="SMS outbox").add_subparsers(required=True)
    send = sms.add_parser("send", help="queue a test SMS")
    send.add_argument("number")
    send.add_argument("text")
    send.set_defaults(handler=cmd_send)
    status = sms.add_parser("status", help="a message's state and its parts")
    status.add_argument("id", type=int)
    status.set_defaults(handler=cmd_status)
    unknown = sms.add_parser("unknown", help="messages accepted by the SMSC whose fate no "
                                             "receipt told by the end of their validity")
    unknown.add_argument("--limit", type=int, default=1000)
    unknown.set_defaults(handler=cmd_unknown)
    reply = sms.add_parser("simulate-reply", help="have the embedded SMSC simulator deliver a "
                                                  "citizen's reply (no SMSC configured)")
    reply.add_argument("number")
    reply.add_argument("text")
    reply.set_defaults(handler=cmd_simulate_reply)
