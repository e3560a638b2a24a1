"""The web application's settings, from the configuration's `[auth]` section
(`hotline.config`: the file, overridden by `HOTLINE_AUTH_<KEY>`), validated again into one
frozen dataclass with the web app's own rules when the web service is built. Secrets (the
signing key, the API token) come only from there, never from code.
"""

from __future__ import annotations

import dataclasses
import secrets

from twisted.logger import Logger

from hotline.config import ConfigError

ENV_PREFIX = "HOTLINE_AUTH_"
MIN_SECRET_LENGTH = 32
MIN_TOKEN_LENGTH = 24


@dataclasses.dataclass(frozen=True)
class AuthConfig:
    secret_key: str = ""
    """Signs session cookies and CSRF tokens; shared by every process behind one name.
    Empty: a random key per process (sessions end when the process restarts)."""
    session_lifetime_s: int = 8 * 3600
    """A session ends this long after login, whatever happens (a hall shift)."""
    session_idle_s: int = 30 * 60
    """...or after this long without a request."""
    lockout_failures: int = 5
    """Failed logins of one username within `lockout_window_s` that lock it..."""
    lockout_window_s: int = 15 * 60
    lockout_s: int = 15 * 60
    """...for this long after the last failure."""
    login_attempts_per_minute: int = 20
    """Login attempts from one address per minute (throttle, this process)."""
    api_token: str = ""
    """Bearer token of the bureau's other systems for /api/v1; empty: the API refuses all."""
    secure_cookies: bool = False
    """Mark cookies Secure (set when served over HTTPS, as behind the bureau's proxy)."""

    def __post_init__(self) -> None:
        positive = ("session_lifetime_s", "session_idle_s", "lockout_failures",
                    "lockout_window_s", "lockout_s", "login_attempts_per_minute")
        for key in positive:
            if getattr(self, key) < 1:
                raise ConfigError(f"{ENV_PREFIX}{key.upper()} must be at least 1, "
                                  f"got {getattr(self, key)!r}")
        if self.secret_key and len(self.secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(f"{ENV_PREFIX}SECRET_KEY must be at least {MIN_SECRET_LENGTH} "
                              f"characters")
        if self.api_token and len(self.api_token) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"{ENV_PREFIX}API_TOKEN must be at least {MIN_TOKEN_LENGTH} "
                              f"characters")

    @property
    def signing_key(self) -> str:
        return self.secret_key or _PROCESS_KEY


_PROCESS_KEY = secrets.token_urlsafe(48)
_log = Logger(namespace="agents.config")


def auth_config(section) -> AuthConfig:
    """The web app's settings from the configuration's `[auth]` section (the file, then
    `HOTLINE_AUTH_*`), checked again with the web app's own rules (secret and token
    lengths); a bad value raises `ConfigError` naming it."""
    config = AuthConfig(**{field.name: getattr(section, field.name)
                           for field in dataclasses.fields(AuthConfig)})
    if not config.secret_key:
        _log.warn("{name} is not set: sessions are signed with a key of this process alone "
                  "and end when it restarts", name=ENV_PREFIX + "SECRET_KEY")
    return config
