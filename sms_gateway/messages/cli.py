"""`hotline reminders ...`, `hotline warnings ...` and `hotline optout ...`: the operators'
side of the content layer. Each command is one short unit of work against the database;
the running service's dispatcher sends what they queue.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.config import Config
from sms_gateway.messages.csv_input import AUTO, TextFile, encoding_argument, open_text

LARGE_FILE_ROWS = 10_000  # a progress bar from this many rows
ENCODING_HELP = ("auto (the default: UTF-8, or GBK as Excel in China saves CSV; a file that "
                 "reads both ways is refused), utf-8, gbk or gb18030")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _world(config: Config):
    from hotline.clock import SystemClock
    from hotline.db import Database, make_engine
    from sms_gateway.messages.service import build

    zone = ZoneInfo(config.service.timezone)
    db = Database(make_engine(config.database), reactor=None, threads=1)
    return db, build(config, zone), SystemClock()


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def count_rows(path: Path) -> int:
    """Lines in the file, read in blocks (the progress bar's total)."""
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return max(lines - 1, 0)


def _text_file(path: Path, encoding: str) -> TextFile:
    """The file checked to decode (or its encoding told) before anything is read from it;
    an operator is told when it is read as GBK."""
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    source = open_text(path, encoding)
    if source.encoding != "utf-8":
        print(f"{path.name}: read as {source.label}")
    return source


def cmd_reminders_import(config: Config, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from schemas.messaging import ReminderKind
    from sms_gateway.messages.reminders import import_stream

    path = Path(args.file)
    source = _text_file(path, args.encoding)
    db, messaging, clock = _world(config)
    total = count_rows(path)
    bar = tqdm(total=total, unit="rows", file=sys.stderr, dynamic_ncols=True,
               disable=args.no_progress or total < LARGE_FILE_ROWS)

    def bad(row) -> None:
        bar.write(f"{path.name} line {row.line}: {row.reason}", file=sys.stderr)
        bar.update(1)

    with bar:
        try:
            summary = import_stream(db.write_now, source.lines(), ReminderKind(args.kind),
                                    messaging.plan, clock.now(), on_bad=bad,
                                    on_progress=bar.update)
        except UnicodeDecodeError as error:  # it decoded a moment ago: the file changed
            raise ValueError(f"{path} changed while it was imported ({error.reason})") from None
    print(f"{args.kind} reminders from {path.name}: {summary.rows} rows, {summary.inserted} new, "
          f"{summary.known} already imported, {summary.bad} bad")
    return 1 if summary.bad else 0


def cmd_reminders_plan(config: Config, args: argparse.Namespace) -> int:
    from sms_gateway.messages.planner import planner_lock
    from sms_gateway.messages.reminders import PlanRound

    db, messaging, clock = _world(config)
    lock = planner_lock(db.engine, messaging.config.planner_poll_s)
    if not lock.try_acquire():
        print("another process holds the reminder planner lock; it plans")
        return 1
    try:
        total = PlanRound(0, 0, {}, 0)
        while True:
            result = db.write_now(messaging.planner.plan_due, clock.now(),
                                  messaging.config.planner_batch)
            total = total + result
            if result.examined < messaging.config.planner_batch:
                break
    finally:
        lock.release()
    print(f"reminders planned: {total.summary()}")
    return 0


def cmd_warnings_send(config: Config, args: argparse.Namespace) -> int:
    from sms_gateway.messages.broadcasts import area_numbers, read_numbers

    db, messaging, clock = _world(config)
    broadcasts = messaging.broadcasts
    now = clock.now()
    if args.numbers:
        path = Path(args.numbers)
        source = _text_file(path, args.encoding)
        audience = f"numbers {path.name}"

        def work(session):
            recipients = _reporting(read_numbers(source.lines()), path.name)
            return broadcasts.create(session, text=args.text, recipients=recipients,
                                     urgent=args.urgent, audience=audience, actor=_actor(),
                                     now=now)
    else:
        if not (args.start and args.end):
            raise ValueError("--area needs --from and --to")
        if args.end < args.start:
            raise ValueError("--to is before --from")
        audience = f"area {args.area} {args.start.isoformat()}..{args.end.isoformat()}"

        def work(session):
            recipients = list(area_numbers(session, args.area, args.start, args.end,
                                           messaging.sender.zone))
            return broadcasts.create(session, text=args.text, recipients=recipients,
                                     urgent=args.urgent, audience=audience, actor=_actor(),
                                     now=now)
    print(f"message text: {broadcasts.render(args.text)}")
    broadcast_id = db.write_now(work)
    _print_status(db.read_now(broadcasts.status, broadcast_id))
    return 0


def _reporting(recipients, name):
    from sms_gateway.messages.broadcasts import BadNumber

    for recipient in recipients:
        if isinstance(recipient, BadNumber):
            print(f"{name} line {recipient.line}: {recipient.reason}", file=sys.stderr)
        yield recipient


def _print_status(status) -> None:
    states = ", ".join(f"{state} {count}" for state, count in sorted(status.by_state.items()))
    window = (f"{status.starts_at:%Y-%m-%d %H:%M:%S}..{status.ends_at:%H:%M:%S} UTC"
              if status.starts_at else "-")
    print(f"broadcast {status.id} ({status.audience}{', urgent' if status.urgent else ''}): "
          f"{status.state.value}; {status.recipients} messages ({states or 'none'}); skipped: "
          f"{status.skipped_opted_out} opted out, {status.skipped_capped} over the daily cap, "
          f"{status.skipped_invalid} invalid numbers; sending {window}")


def cmd_warnings_status(config: Config, args: argparse.Namespace) -> int:
    db, messaging, _ = _world(config)
    _print_status(db.read_now(messaging.broadcasts.status, args.id))
    return 0


def cmd_warnings_cancel(config: Config, args: argparse.Namespace) -> int:
    db, messaging, clock = _world(config)
    cancelled = db.write_now(messaging.broadcasts.cancel, args.id, clock.now())
    print(f"broadcast {args.id}: {cancelled} messages not yet submitted cancelled")
    _print_status(db.read_now(messaging.broadcasts.status, args.id))
    return 0


def cmd_optout_show(config: Config, args: argparse.Namespace) -> int:
    from sms_gateway.messages import optout

    db, _, _ = _world(config)
    events = db.read_now(optout.history, args.number)
    if not events:
        print(f"{args.number}: never opted out")
        return 0
    for event in events:
        print(f"{event.at:%Y-%m-%d %H:%M:%S} UTC {event.action.value} by {event.actor}"
              + (f" (reply {event.inbound_id})" if event.inbound_id else "")
              + (f": {event.note}" if event.note else ""))
    return 0


def cmd_optout_set(config: Config, args: argparse.Namespace) -> int:
    from schemas.messaging import OptAction
    from sms_gateway.messages import optout

    db, _, clock = _world(config)
    action = OptAction.OPT_OUT if args.optout_action == "add" else OptAction.OPT_IN
    changed = db.write_now(optout.set_opt, args.number, action, now=clock.now(),
                           actor=_actor(), note=args.reason)
    print(f"{args.number}: {action.value}" + ("" if changed else " (no change)"))
    return 0


def register(commands) -> None:
    reminders = commands.add_parser("reminders", help="reminder lists (vehicle inspection, "
                                                      "licence review, ID card pickup)")
    reminders = reminders.add_subparsers(required=True)
    load = reminders.add_parser("import", help="import a CSV (header: phone,due_date and the "
                                               "kind's columns); re-importing changes nothing")
    load.add_argument("file")
    load.add_argument("--kind", choices=("vehicle", "licence", "idcard"), required=True)
    load.add_argument("--encoding", type=encoding_argument, default=AUTO, help=ENCODING_HELP)
    load.add_argument("--no-progress", action="store_true")
    load.set_defaults(handler=cmd_reminders_import)
    plan = reminders.add_parser("plan", help="queue the reminders due now (the service's "
                                             "planner does this every round)")
    plan.set_defaults(handler=cmd_reminders_plan)

    warnings = commands.add_parser("warnings", help="early-warning broadcasts (预警)")
    warnings = warnings.add_subparsers(required=True)
    send = warnings.add_parser("send", help="queue a warning to a list or an area")
    send.add_argument("--text", required=True, help="the warning, as citizens will read it")
    audience = send.add_mutually_exclusive_group(required=True)
    audience.add_argument("--numbers", help="CSV of mobile numbers (first column)")
    audience.add_argument("--area", help="citizens with an appeal in this area (乡镇/街道)")
    send.add_argument("--from", dest="start", type=_date, help="appeals received from (day)")
    send.add_argument("--to", dest="end", type=_date, help="... to (day, included)")
    send.add_argument("--urgent", action="store_true", help="send at once, even at night")
    send.add_argument("--encoding", type=encoding_argument, default=AUTO, help=ENCODING_HELP)
    send.set_defaults(handler=cmd_warnings_send)
    status = warnings.add_parser("status", help="progress of a broadcast")
    status.add_argument("id", type=int)
    status.set_defaults(handler=cmd_warnings_status)
    cancel = warnings.add_parser("cancel", help="cancel what has not been submitted")
    cancel.add_argument("id", type=int)
    cancel.set_defaults(handler=cmd_warnings_cancel)

    opt = commands.add_parser("optout", help="the SMS opt-out list (reminders and warnings)")
    opt = opt.add_subparsers(required=True)
    show = opt.add_parser("show", help="a number's opt-out history")
    show.add_argument("number")
    show.set_defaults(handler=cmd_optout_show)
    for name, help_text in (("add", "opt a number out (e.g. a written request)"),
                            ("remove", "opt a number in again")):
        change = opt.add_parser(name, help=help_text)
        change.add_argument("number")
        change.add_argument("--reason", required=True)
        change.set_defaults(handler=cmd_optout_set, optout_action=name)
