"""What the IVR needs in Asterisk's own directories, and what an operator must do about it.

Asterisk plays the prompts from its sounds directory (`hotline prompts build` puts them
there) and writes voice messages into `[ivr] voice_message_dir`. A fresh Asterisk has
neither: every STREAM FILE of a prompt fails and every RECORD FILE answers `(writefile)`.
Two sources tell. The directories themselves, where this host sees them (`[ivr] sounds_dir`
set; the spool's parent directory present here, or `voice_message_dir_shared`), checked at
start and every minute off the reactor. And the calls, which meet what no check can see from
here (a prompt Asterisk could not play, a recording it could not write, a missing beep).
Each problem is logged once with its fix and listed by /healthz under `warnings` until it is
gone (a prompt played, a recording written, a check that finds it fixed).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence

from twisted.application import service
from twisted.internet import task
from twisted.logger import Logger

from hotline.config import IvrConfig
from hotline.core import Core

CHECK_INTERVAL_S = 60.0  # a fix shows on /healthz within a minute
NAMED = 5  # missing prompts named in one warning; the rest are counted
# Where Asterisk looks for a file the channel plays in language zh (the dialplan sets it):
# <sounds>/zh/<file>, then the default language's <sounds>/en/<file>, then <sounds>/<file>.
LANGUAGE_DIRS = ("", "en", "zh")
BEEP = "beep"  # one of Asterisk's core sounds; RECORD FILE ... BEEP plays it


def prompt_directory(ivr: IvrConfig) -> str | None:
    """The directory the prompts are in, as this host sees it (`[ivr] sounds_dir` and the
    directory part of `prompt_prefix`: /var/lib/asterisk/sounds/hotline); None when unknown."""
    if not ivr.sounds_dir:
        return None
    return os.path.dirname(os.path.join(ivr.sounds_dir, ivr.prompt_prefix + "x"))


def build_fix(ivr: IvrConfig) -> str:
    where = prompt_directory(ivr) or ("<Asterisk's sounds directory>/"
                                      + ivr.prompt_prefix.strip("/"))
    return f"build the prompts: `hotline prompts build --sounds {where}`"


def spool_fix(directory: str) -> str:
    return (f"create {directory}, owned by the user Asterisk runs as: "
            f"`sudo install -d -o asterisk -g asterisk -m 0750 {directory}`")


def beep_fix() -> str:
    return ("install Asterisk's core sounds (the `beep` file: the asterisk-core-sounds-en "
            "package, or CORE-SOUNDS-EN-* in menuselect and `make install`)")


def _names(directory: str) -> set[str]:
    """The file names in `directory` without their format's extension (Asterisk picks the
    format): raises OSError as os.scandir does."""
    with os.scandir(directory) as entries:
        return {os.path.splitext(entry.name)[0] for entry in entries
                if not entry.name.startswith(".") and entry.is_file()}


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMED])
    return shown + (f" and {len(names) - NAMED} more" if len(names) > NAMED else "")


def check_sounds(ivr: IvrConfig, prompt_ids: Iterable[str]) -> dict[str, str]:
    """The prompts and the beep in `[ivr] sounds_dir`; nothing when it is not set. Blocking
    (a listing, perhaps of a network mount): run it off the reactor."""
    sounds = ivr.sounds_dir
    if not sounds:
        return {}
    try:
        _names(sounds)
    except FileNotFoundError:
        return {"sounds": f"ivr: [ivr] sounds_dir {sounds} does not exist on this host: set it "
                          f"to Asterisk's sounds directory as this host sees it "
                          f"(/var/lib/asterisk/sounds), or empty where this host cannot see it"}
    except OSError as error:
        return {"sounds": f"ivr: [ivr] sounds_dir {sounds} cannot be read here "
                          f"({error.strerror}): let this service read it, or empty the setting"}
    found: dict[str, str] = {}
    directory = prompt_directory(ivr) or sounds
    try:
        present = _names(directory)
    except OSError:
        present = set()
    wanted = [(prompt_id, os.path.basename(ivr.prompt_prefix + prompt_id))
              for prompt_id in prompt_ids]
    missing = [prompt_id for prompt_id, name in wanted if name not in present]
    if missing:
        found["prompts"] = (f"ivr: {len(missing)} of {len(wanted)} prompts are not in "
                            f"{directory} ({_some(missing)}): callers hear nothing there and "
                            f"the menu reads no key; {build_fix(ivr)}")
    beep_found = False
    for language in LANGUAGE_DIRS:
        try:
            beep_found = BEEP in _names(os.path.join(sounds, language))
        except OSError:
            continue
        if beep_found:
            break
    if not beep_found:
        found["beep"] = (f"ivr: Asterisk's `beep` sound is not in {sounds}: voice messages are "
                         f"recorded without the tone the prompt announces; {beep_fix()}")
    return found


def check_spool(ivr: IvrConfig) -> dict[str, str]:
    """The voice-message directory, where this host sees it: its parent (Asterisk's spool,
    /var/spool/asterisk) is here, or `[ivr] voice_message_dir_shared` says the directory is.
    A directory this process may not look into is not reported: it cannot tell."""
    spool = ivr.voice_message_dir.rstrip("/") or "/"
    if not ivr.voice_message_dir_shared:
        try:
            os.stat(os.path.dirname(spool) or "/")
        except OSError:
            return {}  # Asterisk's spool is not on this host: the calls will tell
    try:
        info = os.stat(spool)
    except FileNotFoundError:
        problem = "does not exist"
    except PermissionError:
        return {}
    except OSError as error:
        problem = f"cannot be read here ({error.strerror})"
    else:
        if stat.S_ISDIR(info.st_mode):
            return {}
        problem = "is not a directory"
    return {"spool": f"ivr: voice messages are lost: [ivr] voice_message_dir {spool} {problem}, "
                     f"so Asterisk's RECORD FILE answers (writefile); {spool_fix(spool)}"}


class AsteriskFileWarnings:
    """The IVR's entry in the core's warnings registry (`core.warnings["ivr"]`): what the
    last check found and what calls met, as /healthz lines. Memory only: read on the reactor.
    """

    log = Logger()

    def __init__(self) -> None:
        self._found: dict[str, str] = {}
        self._met: dict[str, str] = {}
        self._unplayable: dict[str, str] = {}  # prompt file -> its fix, in the order met
        self._told: set[str] = set()

    def __call__(self) -> list[str]:
        lines = list(self._found.values())
        if "prompts" not in self._found and "sounds" not in self._found:
            by_fix: dict[str, list[str]] = {}
            for file, fix in self._unplayable.items():
                by_fix.setdefault(fix, []).append(file)
            lines += [f"ivr: {len(files)} prompt(s) Asterisk could not play in calls "
                      f"({_some(files)}): {fix}" for fix, files in by_fix.items()]
        lines += self._met.values()
        return lines

    def found(self, problems: dict[str, str]) -> None:
        """A check's result: a new problem is logged, one that is gone too."""
        for key, line in problems.items():
            if key not in self._found:
                self.log.warn("{warning}", warning=line)
        for key in self._found.keys() - problems.keys():
            self.log.info("Fixed: {warning}", warning=self._found[key])
        self._found = dict(problems)

    def met(self, key: str, line: str) -> bool:
        """A call met a problem: listed until `cleared`; True the first time in this process
        (the caller logs it then, with the call)."""
        self._met[key] = line
        return self._first(key)

    def cleared(self, key: str) -> None:
        self._met.pop(key, None)

    def prompt_missing(self, file: str, fix: str) -> bool:
        """Asterisk could not play `file` in a call; True the first time in this process."""
        self._unplayable[file] = fix
        return self._first(f"prompt:{file}")

    def prompt_played(self, file: str) -> None:
        self._unplayable.pop(file, None)

    def _first(self, key: str) -> bool:
        if key in self._told:
            return False
        self._told.add(key)
        return True


def warnings_of(core: Core) -> AsteriskFileWarnings:
    """The process's one: the flows note what calls meet, the check what the directories
    show, /healthz reads both through `core.warnings`."""
    existing = core.warnings.get("ivr")
    if isinstance(existing, AsteriskFileWarnings):
        return existing
    made = AsteriskFileWarnings()
    core.warnings["ivr"] = made
    return made


def _check_in_pool(session, ivr: IvrConfig) -> dict[str, str]:
    """Runs in the database's pool only to be off the reactor; the session is not used (an
    unused session takes no connection)."""
    from ivr.prompts import load_catalog

    ids = [prompt.id for prompt in load_catalog()]
    return {**check_sounds(ivr, ids), **check_spool(ivr)}


class AsteriskFilesCheck(service.Service):
    """Checks the directories at start and every CHECK_INTERVAL_S, in the database's pool
    (a stat of a network mount must not hold the reactor); a failed check is logged and
    the next one tries again."""

    log = Logger()

    def __init__(self, core: Core, warnings: AsteriskFileWarnings) -> None:
        self._core = core
        self._warnings = warnings
        self._loop: task.LoopingCall | None = None

    def startService(self) -> None:
        super().startService()
        self._loop = task.LoopingCall(self.check)
        self._loop.clock = self._core.reactor
        self._loop.start(CHECK_INTERVAL_S, now=True)

    def stopService(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return super().stopService()

    def check(self):
        checking = self._core.db.read(_check_in_pool, self._core.config.ivr)
        checking.addCallbacks(self._warnings.found, self._failed)
        return checking

    def _failed(self, failure) -> None:
        self.log.failure("Could not check Asterisk's directories for the IVR", failure)
