"""`hotline call simulate` and `hotline prompts build`: the IVR's operator commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotline.config import Config

# Where `hotline prompts build` writes when neither --sounds nor [ivr] sounds_dir says.
LOCAL_SOUNDS = "var/sounds/hotline"


def cmd_call_simulate(config: Config, args: argparse.Namespace) -> int:
    """Runs until the service ends the call; `task.react` exits the process when it does."""
    from dataclasses import replace

    from twisted.internet import task

    from ivr.simulator import CallSetup
    from ivr.simulator.client import simulate_call

    host = args.host or config.agi.host
    port = args.port or config.agi.port
    setup = replace(CallSetup(), callerid=args.caller or None, speech_s=args.speech,
                    functions={f"QUEUE_WAITING_COUNT({config.agi.queue})": str(args.waiting)})

    def show(heard) -> None:
        for event in heard:
            print(event)

    task.react(lambda reactor: simulate_call(reactor, host, port, args.flow, args.digits,
                                             setup).addCallback(show))
    return 0


def cmd_prompts_build(config: Config, args: argparse.Namespace) -> int:
    """The catalogue and one prompt per unit, its name read from the units table: run it
    again after `hotline units load` (a unit whose name changed is rebuilt, the rest kept)."""
    from hotline.db import Database, make_engine
    from ivr.asterisk_files import prompt_directory
    from ivr.backend import unit_names
    from ivr.prompts import build_prompts, load_catalog, with_units

    sounds = args.sounds or prompt_directory(config.ivr) or LOCAL_SOUNDS
    catalog = load_catalog(args.catalogue)
    units: list[tuple[str, str]] = []
    if not args.no_units:
        database = Database(make_engine(config.database), reactor=None, threads=1)
        units = database.read_now(unit_names)
    report = build_prompts(with_units(catalog, units), Path(sounds), voice=args.voice,
                           force=args.force)
    print(f"prompts: {len(report.built)} built, {len(report.up_to_date)} up to date, "
          f"{len(report.kept_site_recordings)} site recordings kept, in {sounds}"
          + ("" if args.no_units else f" ({len(units)} units' names among them)"))
    return 0


def register(commands) -> None:
    call = commands.add_parser("call", help="simulated calls").add_subparsers(required=True)
    simulate = call.add_parser("simulate", help="call the running service as Asterisk would "
                                                "and print what the caller hears")
    simulate.add_argument("--digits", default="", help='what the caller presses, e.g. "4 2026112800001#"')
    simulate.add_argument("--caller", default="13812345678", help="caller id ('' for unknown)")
    simulate.add_argument("--flow", default="hotline")
    simulate.add_argument("--waiting", type=int, default=0, help="callers already in the queue")
    simulate.add_argument("--speech", type=float, default=5.0,
                          help="seconds the caller speaks into a voice message (0: silence)")
    simulate.add_argument("--host")
    simulate.add_argument("--port", type=int)
    simulate.set_defaults(handler=cmd_call_simulate)

    prompts = commands.add_parser("prompts", help="IVR prompts").add_subparsers(required=True)
    build = prompts.add_parser("build", help="synthesise every prompt and every unit's name "
                                             "(espeak-ng + sox) into 8 kHz 16-bit mono WAV")
    build.add_argument("--sounds", help="directory Asterisk plays the prompts from (its sounds "
                                        "dir + hotline/); default: [ivr] sounds_dir + "
                                        f"prompt_prefix, else {LOCAL_SOUNDS}")
    build.add_argument("--catalogue", help="prompt catalogue (default: the shipped one)")
    build.add_argument("--voice", default="cmn")
    build.add_argument("--force", action="store_true")
    build.add_argument("--no-units", action="store_true",
                       help="the catalogue only, without reading the units from the database")
    build.set_defaults(handler=cmd_prompts_build)
