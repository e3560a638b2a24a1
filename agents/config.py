"""The web application's settings: the configuration's `[auth]` section, and the signing key
kept on disk when none is configured.

They are defined once, in the core (`hotline.config.AuthSection`, with the secrets' length
rules), read from the file and `HOTLINE_AUTH_<KEY>`; `AuthConfig` is that class under the
name the web app's modules use. Secrets (the signing key, the API token) come only from
there or from the key file, never from code.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

from twisted.logger import Logger

from hotline.config import MIN_SECRET_LENGTH, PROJECT_DIR, AuthSection, ConfigError

AuthConfig = AuthSection
ENV_PREFIX = "HOTLINE_AUTH_"

_log = Logger(namespace="agents.config")


def auth_config(section: AuthSection, *, project_dir: Path = PROJECT_DIR) -> AuthSection:
    """The web app's settings, the configuration's `[auth]` section (already checked when it
    was loaded). With no `secret_key`, the key kept in `secret_key_file` (generated there on
    first start), so that a restart does not log every officer out; says in the log where
    the key is kept, or that sessions will not outlive this process."""
    if section.secret_key:
        return section
    if not section.secret_key_file:
        _log.warn("{name} and {file_name} are not set: sessions are signed with a key of this "
                  "process alone and end when it restarts", name=ENV_PREFIX + "SECRET_KEY",
                  file_name=ENV_PREFIX + "SECRET_KEY_FILE")
        return section
    path = Path(section.secret_key_file)
    if not path.is_absolute():
        path = project_dir / path
    try:
        key, created = kept_key(path)
    except OSError as error:
        _log.warn("The signing key cannot be kept in {path} ({error}): sessions are signed "
                  "with a key of this process alone and end when it restarts",
                  path=str(path), error=error.strerror or str(error))
        return section
    _log.info("{how} the session signing key in {path} (set {name} to share one key between "
              "processes)", how="Generated" if created else "Using", path=str(path),
              name=ENV_PREFIX + "SECRET_KEY")
    return dataclasses.replace(section, secret_key=key)


def kept_key(path: Path) -> tuple[str, bool]:
    """The key in `path`, and whether it was generated now. A new key is written to a file
    of its own (mode 0600) and linked into place, so that two processes starting together
    agree on one key and neither reads a half-written file."""
    try:
        return _read_key(path), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.new")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(draft, path)
    except FileExistsError:
        return _read_key(path), False  # another process kept its key first
    finally:
        draft.unlink(missing_ok=True)
    return _read_key(path), True


def _read_key(path: Path) -> str:
    key = path.read_text("ascii").strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path}: the signing key kept there is shorter than "
                          f"{MIN_SECRET_LENGTH} characters; remove the file to generate one")
    return key
