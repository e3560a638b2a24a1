"""The `hotline` command for operators.

The core's own commands are here (database, reference data, agents); each package adds its
commands through the `hotline.commands` entry-point group (a function that takes the
subparsers object), so that the core never imports the packages.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from hotline import calendar_cli
from hotline.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from hotline.agents_admin import AgentRecord


def _database(config: Config):
    from hotline.db import Database, make_engine

    return Database(make_engine(config.database), reactor=None,
                    threads=config.database.pool_threads)


def cmd_db_upgrade(config: Config, args: argparse.Namespace) -> int:
    from hotline.db import make_engine, upgrade

    engine = make_engine(config.database)
    upgrade(engine, args.revision)
    print(f"database {engine.url.render_as_string(hide_password=True)} is at {args.revision}")
    return 0


def cmd_db_current(config: Config, args: argparse.Namespace) -> int:
    from hotline import db

    current = _database(config).read_now(db.current_revision)
    head = db.head_revision()
    print(f"current {current or '(empty)'}; head {head}")
    return 0 if current == head else 1


def cmd_catalogue_load(config: Config, args: argparse.Namespace) -> int:
    from hotline.reference_data import load_catalogue, shipped_catalogue

    source = args.file or config.appeals.catalogue_file
    text = Path(source).read_text("utf-8") if source else shipped_catalogue()
    summary = _database(config).write_now(load_catalogue, text, source or "shipped catalogue")
    print(f"approval catalogue: {summary.added} added, {summary.updated} updated, "
          f"{summary.deactivated} deactivated")
    return 0


def cmd_units_load(config: Config, args: argparse.Namespace) -> int:
    """Then the units' names, which are IVR prompts too (`unit-<code>`): the IVR's own
    `hotline prompts build`, run as the operator would run it next (the core does not
    import the IVR), builds them where it can and otherwise says in one line what to run."""
    from hotline.reference_data import load_units

    summary = _database(config).write_now(load_units, Path(args.file))
    print(f"units: {summary.added} added, {summary.updated} updated")
    if args.no_prompts:
        return 0
    return run_command(config, ["prompts", "build", "--units-only", "--if-possible"])


def run_command(config: Config, argv: list[str]) -> int:
    """Another `hotline` command, a package's too, as if typed, with this configuration."""
    args = build_parser().parse_args(argv)
    return args.handler(config, args)


def cmd_agents_add(config: Config, args: argparse.Namespace) -> int:
    from hotline.agents_admin import add_agent
    from hotline.clock import SystemClock
    from schemas.enums import AgentRole

    password = os.environ.get("HOTLINE_NEW_AGENT_PASSWORD") or getpass.getpass("password: ")
    record = _database(config).write_now(
        add_agent, username=args.username, display_name=args.name or args.username,
        role=AgentRole(args.role), password=password, unit_code=args.unit,
        interface=args.interface, actor=f"cli:{getpass.getuser()}", now=SystemClock().now())
    print(f"agent {record.username} added (id {record.id}, {record.role.value})")
    return 0


def _change_agent(config: Config, username: str, change: Callable[..., AgentRecord],
                  *args: object) -> AgentRecord:
    """Run `change(session, agent_id, *args, actor=, now=)` on the named agent, as the
    operator at this terminal (audited like an admin's change on the pages)."""
    from hotline.agents_admin import agent_id_of
    from hotline.clock import SystemClock

    def run(session):
        return change(session, agent_id_of(session, username), *args,
                      actor=f"cli:{getpass.getuser()}", now=SystemClock().now())
    return _database(config).write_now(run)


def cmd_agents_reset_password(config: Config, args: argparse.Namespace) -> int:
    """The way back in for a locked-out or forgotten administrator: a new password (from
    $HOTLINE_NEW_AGENT_PASSWORD, else generated and printed once), the agent's sessions
    ended and a lockout lifted."""
    from hotline.agents_admin import generate_password, reset_password

    given = os.environ.get("HOTLINE_NEW_AGENT_PASSWORD")
    password = given or generate_password()
    record = _change_agent(config, args.username, reset_password, password)
    print(f"agent {record.username}: password reset, sessions ended, lockout lifted")
    if not given:
        print(f"new password (shown once): {password}")
    return 0


def cmd_agents_unlock(config: Config, args: argparse.Namespace) -> int:
    """The way back in for an administrator someone locked by failing the password: the
    lockout lifted, the password and sessions unchanged (audited)."""
    from hotline.agents_admin import unlock

    record = _change_agent(config, args.username, unlock)
    print(f"agent {record.username}: login lockout lifted (audited); the password is unchanged")
    return 0


def cmd_agents_set_active(config: Config, args: argparse.Namespace) -> int:
    from hotline.agents_admin import set_active

    record = _change_agent(config, args.username, set_active, args.active)
    print(f"agent {record.username}: {'active' if record.active else 'deactivated'}")
    return 0


def cmd_agents_list(config: Config, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from schemas.models import Agent, Unit

    def rows(session):
        return [(a.id, a.username, a.role.value, unit or "-", a.interface or "-", a.active)
                for a, unit in session.execute(select(Agent, Unit.code)
                                               .outerjoin(Unit, Unit.id == Agent.unit_id)
                                               .order_by(Agent.username))]
    for agent_id, username, role, unit, interface, active in _database(config).read_now(rows):
        print(f"{agent_id:>5}  {username:<20} {role:<12} {unit:<10} {interface:<20} "
              f"{'active' if active else 'inactive'}")
    return 0


def cmd_alerts_list(config: Config, args: argparse.Namespace) -> int:
    from hotline.alerts import open_alerts
    from hotline.clock import local_zone

    zone = local_zone(config.service.timezone)
    alerts = _database(config).read_now(open_alerts)
    for alert in alerts:
        print(f"{alert.id:>6}  {alert.at.astimezone(zone):%Y-%m-%d %H:%M}  {alert.kind:<13} "
              f"appeal {alert.case_number or '-':<14} {alert.source:<16} {alert.note or ''}")
    print(f"{len(alerts)} open alert(s)")
    return 0


def cmd_alerts_ack(config: Config, args: argparse.Namespace) -> int:
    from hotline.alerts import acknowledge
    from hotline.clock import SystemClock

    done = _database(config).write_now(acknowledge, args.id, actor=f"cli:{getpass.getuser()}",
                                       now=SystemClock().now())
    print(f"alert {args.id} acknowledged" if done else f"no open alert {args.id}")
    return 0 if done else 1


def build_parser() -> argparse.ArgumentParser:
    from schemas.enums import AgentRole

    parser = argparse.ArgumentParser(prog="hotline", description="9600110 hotline operations")
    parser.add_argument("--config", help="TOML configuration (default: $HOTLINE_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database migrations").add_subparsers(required=True)
    upgrade = db.add_parser("upgrade", help="migrate to the newest schema")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=cmd_db_upgrade)
    db.add_parser("current", help="show the schema revision").set_defaults(handler=cmd_db_current)

    catalogue = commands.add_parser("catalogue", help="approval catalogue").add_subparsers(required=True)
    load = catalogue.add_parser("load", help="load the catalogue (default: the shipped one)")
    load.add_argument("file", nargs="?")
    load.set_defaults(handler=cmd_catalogue_load)

    units = commands.add_parser("units", help="units (stations, squads)").add_subparsers(required=True)
    load = units.add_parser("load", help="add or update units from a TOML file, then rebuild "
                                         "their names' IVR prompts ([ivr] sounds_dir)")
    load.add_argument("file")
    load.add_argument("--no-prompts", action="store_true",
                      help="leave the units' IVR prompts to `hotline prompts build`")
    load.set_defaults(handler=cmd_units_load)

    agents = commands.add_parser("agents", help="agents").add_subparsers(required=True)
    add = agents.add_parser("add", help="add an agent (password from $HOTLINE_NEW_AGENT_PASSWORD "
                                        "or a prompt)")
    add.add_argument("username")
    add.add_argument("--name")
    add.add_argument("--role", choices=[role.value for role in AgentRole], default="agent",
                     help="unit_officer: an officer of the --unit, who sees its work orders")
    add.add_argument("--unit", help="unit code (required for a unit_officer)")
    add.add_argument("--interface", help="queue member interface, e.g. PJSIP/1001")
    add.set_defaults(handler=cmd_agents_add)
    agents.add_parser("list", help="every agent, active or not").set_defaults(
        handler=cmd_agents_list)
    reset = agents.add_parser("reset-password", help="a new password ($HOTLINE_NEW_AGENT_"
                                                     "PASSWORD or generated), sessions ended")
    reset.add_argument("username")
    reset.set_defaults(handler=cmd_agents_reset_password)
    unlocking = agents.add_parser("unlock", help="lift a login lockout (audited); password and "
                                                 "sessions unchanged")
    unlocking.add_argument("username")
    unlocking.set_defaults(handler=cmd_agents_unlock)
    for name, active, text in (("deactivate", False, "refuse the agent's logins and sessions"),
                               ("activate", True, "let a deactivated agent log in again")):
        toggle = agents.add_parser(name, help=text)
        toggle.add_argument("username")
        toggle.set_defaults(handler=cmd_agents_set_active, active=active)

    alerts = commands.add_parser("alerts", help="supervisor alerts (不满意 ratings, ...)") \
        .add_subparsers(required=True)
    alerts.add_parser("list", help="open alerts, newest first").set_defaults(handler=cmd_alerts_list)
    ack = alerts.add_parser("ack", help="acknowledge an alert (audited)")
    ack.add_argument("id", type=int)
    ack.set_defaults(handler=cmd_alerts_ack)
    calendar_cli.register(commands)

    for entry_point in entry_points(group="hotline.commands"):
        entry_point.load()(commands)
    return parser


def unmigrated(config: Config) -> str | None:
    """Why the configured database cannot serve commands yet (no schema, or an older one),
    in one line naming the command that fixes it; None when it is at the newest revision."""
    from hotline import db

    where = make_url(config.database.url).render_as_string(hide_password=True)
    try:
        current = _database(config).read_now(db.current_revision)
    except SQLAlchemyError:
        return None  # not a schema question (unreachable, refused): the original error says
    head = db.head_revision()
    if current == head:
        return None
    if current is None:
        return f"the database {where} is not migrated (it has no tables): run `hotline db upgrade`"
    return (f"the database {where} is at schema revision {current}, this version needs {head}: "
            f"run `hotline db upgrade`")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = None
    try:
        config = load_config(args.config)
        return args.handler(config, args)
    except (OperationalError, ProgrammingError):
        # "no such table: sms_messages" is what an unmigrated database looks like to the
        # command that met it; say what is wrong and what to run instead.
        problem = unmigrated(config) if config is not None else None
        if problem is None:
            raise
        print(f"hotline: {problem}", file=sys.stderr)
        return 2
    except (ConfigError, ValueError) as error:
        print(f"hotline: {error}", file=sys.stderr)
        return 2
    except LookupError as error:
        print(f"hotline: not found: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
