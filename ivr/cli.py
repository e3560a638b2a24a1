"""`hotline call simulate` and `hotline prompts build`: the IVR's operator commands."""

from __future__ import annotations

import argparse
import sys
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
    """The catalogue and one prompt per unit, its name read from the units table (a unit
    whose name changed is rebuilt, the rest kept). `hotline units load` runs it with
    --units-only --if-possible: the units' names where the sounds directory is known and
    the tools are installed, else one line saying what to run."""
    from hotline.db import Database, make_engine
    from ivr.asterisk_files import prompt_directory
    from ivr.backend import unit_names
    from ivr.prompts import (
        PromptBuildError,
        PromptCatalog,
        build_prompts,
        load_catalog,
        missing_tools,
        with_units,
    )

    if args.units_only and args.no_units:
        print("hotline: --units-only and --no-units leave nothing to build", file=sys.stderr)
        return 2
    sounds = args.sounds or prompt_directory(config.ivr)
    if args.if_possible:
        why = _cannot_build(sounds, missing_tools(), config.ivr.prompt_prefix)
        if why:
            print(f"{'unit prompts' if args.units_only else 'prompts'}: not built, {why}")
            return 0
    sounds = sounds or LOCAL_SOUNDS
    catalog = (PromptCatalog("units", ()) if args.units_only
               else load_catalog(args.catalogue))
    units: list[tuple[str, str]] = []
    if not args.no_units:
        database = Database(make_engine(config.database), reactor=None, threads=1)
        units = database.read_now(unit_names)
    try:
        report = build_prompts(with_units(catalog, units), Path(sounds), voice=args.voice,
                               force=args.force)
    except PromptBuildError as error:
        print(f"hotline: {error}", file=sys.stderr)
        return 1
    counts = (f"{len(report.built)} built, {len(report.up_to_date)} up to date, "
              f"{len(report.kept_site_recordings)} site recordings kept, in {sounds}")
    if args.units_only:
        print(f"unit prompts: {counts} ({len(units)} units)")
    else:
        print(f"prompts: {counts}"
              + ("" if args.no_units else f" ({len(units)} units' names among them)"))
    return 0


def _cannot_build(sounds: str | None, missing: list[str], prefix: str) -> str | None:
    """Why `--if-possible` builds nothing, with what to run instead; None: it can build."""
    if sounds is None:
        return ("[ivr] sounds_dir is not set: where Asterisk's sounds are, run `hotline "
                f"prompts build --sounds <Asterisk's sounds directory>/{prefix.strip('/')}`")
    if missing:
        return (f"{' and '.join(missing)} not installed: apt-get install espeak-ng sox, then "
                f"run `hotline prompts build`")
    return None


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
    build.add_argument("--units-only", action="store_true",
                       help="the units' names only (what `hotline units load` rebuilds)")
    build.add_argument("--if-possible", action="store_true",
                       help="where no sounds directory is known or espeak-ng/sox are missing, "
                            "say in one line what to run instead and succeed")
    build.set_defaults(handler=cmd_prompts_build)
