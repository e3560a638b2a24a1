"""The web application's settings: the configuration's `[auth]` section.

They are defined once, in the core (`hotline.config.AuthSection`, with the secrets' length
rules), read from the file and `HOTLINE_AUTH_<KEY>`; `AuthConfig` is that class under the
name the web app's modules use. Secrets (the signing key, the API token) come only from
there, never from code.
"""

from __future__ import annotations

from twisted.logger import Logger

from hotline.config import AuthSection

AuthConfig = AuthSection
ENV_PREFIX = "HOTLINE_AUTH_"

_log = Logger(namespace="agents.config")


def auth_config(section: AuthSection) -> AuthSection:
    """The web app's settings, the configuration's `[auth]` section (already checked when it
    was loaded); says in the log when sessions will not outlive this process."""
    if not section.secret_key:
        _log.warn("{name} is not set: sessions are signed with a key of this process alone "
                  "and end when it restarts", name=ENV_PREFIX + "SECRET_KEY")
    return section
