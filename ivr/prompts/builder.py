"""Synthesise the catalogue into the sound files Asterisk plays: 8 kHz, 16-bit, mono WAV.

espeak-ng speaks each prompt (Mandarin voice `cmn` by default) and sox resamples it. A file is
rebuilt only when its text or voice changed; a file the site replaced with a recorded voice is
never overwritten (the manifest remembers the hash of what the builder wrote). This runs
subprocesses and blocks: it is a command-line action, never called on the reactor.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ivr.prompts.catalog import PromptCatalog, load_catalog

MANIFEST = ".hotline-prompts.json"
SAMPLE_RATE = 8000


class PromptBuildError(RuntimeError):
    """A tool is missing or failed; the message names the prompt and the command."""


@dataclass
class BuildReport:
    built: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    kept_site_recordings: list[str] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text_for(prompt, voice: str) -> str:
    if voice.lower().startswith("en"):
        return prompt.en
    return prompt.tts or prompt.zh


def _run(command: list[str], prompt_id: str) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    except FileNotFoundError:
        raise PromptBuildError(f"{command[0]} is not installed (needed for prompt {prompt_id!r})") from None
    except subprocess.CalledProcessError as error:
        detail = error.stderr.decode("utf-8", "replace").strip()
        raise PromptBuildError(f"prompt {prompt_id!r}: {command[0]} failed: {detail}") from None
    except subprocess.TimeoutExpired:
        raise PromptBuildError(f"prompt {prompt_id!r}: {command[0]} timed out") from None


def missing_tools(espeak: str = "espeak-ng", sox: str = "sox") -> list[str]:
    """The synthesiser and the converter the builder runs, those not installed."""
    return [tool for tool in (espeak, sox) if shutil.which(tool) is None]


def build_prompts(
    catalog: PromptCatalog | str | Path | None,
    sounds_dir: str | Path,
    voice: str = "cmn",
    *,
    espeak: str = "espeak-ng",
    sox: str = "sox",
    force: bool = False,
) -> BuildReport:
    """Write <sounds_dir>/<id>.wav for every prompt; returns what was built, skipped or kept.
    `catalog` may be a loaded catalogue or a path (None: the packaged one). `force` rebuilds
    the builder's own files even when up to date (site recordings are still kept)."""
    if not isinstance(catalog, PromptCatalog):
        catalog = load_catalog(catalog)
    missing = missing_tools(espeak, sox)
    if missing:
        raise PromptBuildError(f"{missing[0]} is not installed: apt-get install espeak-ng sox")
    target = Path(sounds_dir)
    target.mkdir(parents=True, exist_ok=True)
    manifest_path = target / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    report = BuildReport()
    for prompt in catalog:
        text = _text_for(prompt, voice)
        text_hash = _sha256(f"{voice}\0{text}".encode("utf-8"))
        wav = target / f"{prompt.id}.wav"
        record = manifest.get(prompt.id, {})
        if wav.exists():
            current = _sha256(wav.read_bytes())
            if current != record.get("wav"):
                report.kept_site_recordings.append(prompt.id)
                continue
            if record.get("text") == text_hash and not force:
                report.up_to_date.append(prompt.id)
                continue
        with tempfile.TemporaryDirectory(dir=target, prefix=".build-") as scratch:
            spoken = Path(scratch) / "espeak.wav"
            converted = Path(scratch) / "out.wav"
            _run([espeak, "-v", voice, "-w", str(spoken), text], prompt.id)
            _run(
                [sox, str(spoken), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(converted)],
                prompt.id,
            )
            os.replace(converted, wav)
        manifest[prompt.id] = {"text": text_hash, "wav": _sha256(wav.read_bytes())}
        report.built.append(prompt.id)
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return report
