"""Who is asking: signed, expiring session cookies, CSRF tokens, the login rate limits, and
where a login may send the browser next (a path on this site only).

Sessions live in the browser as a cookie signed with the configured key (itsdangerous), so
every process sharing the key accepts them and no table is needed. A session carries when
it was issued and last seen: it ends `session_lifetime_s` after login or `session_idle_s`
after the last request, and each answered request re-signs it with the new time. Logging
out clears the cookie and revokes its nonce in the database (`agents.accounts`), where
every process looks on every request, as it re-reads the agent row: so a copied cookie is
refused everywhere once logged out, after a restart too, and deactivating an agent,
resetting its password (sessions issued before the agent's `sessions_revoked_at` are
refused) or changing a role takes effect at once everywhere.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from itsdangerous import BadSignature, URLSafeSerializer

from agents.config import AuthConfig

SESSION_COOKIE = "hotline_session"
LOGIN_CSRF_COOKIE = "hotline_login_csrf"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Session:
    agent_id: int
    issued: float  # epoch seconds
    seen: float
    csrf: str
    nonce: str


class SessionCodec:
    def __init__(self, config: AuthConfig, now: Callable[[], float]) -> None:
        self._config = config
        self._now = now
        self._sessions = URLSafeSerializer(config.signing_key, salt="hotline.session")
        self._login = URLSafeSerializer(config.signing_key, salt="hotline.login-csrf")

    # Sessions -----------------------------------------------------------------------------

    def issue(self, agent_id: int) -> Session:
        now = self._now()
        return Session(agent_id, now, now, secrets.token_urlsafe(32), secrets.token_urlsafe(12))

    def read(self, cookies: dict[str, str]) -> Session | None:
        raw = cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self._sessions.loads(raw)
            session = Session(int(data["a"]), float(data["i"]), float(data["s"]), str(data["c"]),
                              str(data["n"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        now = self._now()
        if now - session.issued > self._config.session_lifetime_s:
            return None
        if now - session.seen > self._config.session_idle_s:
            return None
        return session

    def touched(self, session: Session) -> Session:
        return Session(session.agent_id, session.issued, self._now(), session.csrf,
                       session.nonce)

    def cookie(self, session: Session) -> str:
        value = self._sessions.dumps({"a": session.agent_id, "i": session.issued,
                                      "s": session.seen, "c": session.csrf, "n": session.nonce})
        return self._cookie(SESSION_COOKIE, value, self._config.session_lifetime_s)

    def ends_at(self, session: Session) -> dt.datetime:
        """When the session ends at the latest, however active (its lifetime)."""
        return dt.datetime.fromtimestamp(session.issued + self._config.session_lifetime_s,
                                         dt.timezone.utc)

    def cleared_cookie(self) -> str:
        """The cookie that clears the session in the browser (a logout)."""
        return self._cookie(SESSION_COOKIE, "", 0)

    # The login form's CSRF token (no session yet: a signed double-submit cookie) ----------

    def login_token(self, cookies: dict[str, str]) -> tuple[str, str | None]:
        """The token for the login form, and a cookie to set when the browser has none."""
        existing = self._login_token_of(cookies)
        if existing:
            return existing, None
        token = secrets.token_urlsafe(24)
        return token, self._cookie(LOGIN_CSRF_COOKIE, self._login.dumps(token), 3600)

    def login_token_valid(self, cookies: dict[str, str], submitted: str) -> bool:
        expected = self._login_token_of(cookies)
        return bool(expected and submitted) and hmac.compare_digest(expected, submitted)

    def _login_token_of(self, cookies: dict[str, str]) -> str | None:
        raw = cookies.get(LOGIN_CSRF_COOKIE)
        if not raw:
            return None
        try:
            return str(self._login.loads(raw))
        except BadSignature:
            return None

    def _cookie(self, name: str, value: str, max_age: int) -> str:
        parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict", f"Max-Age={max_age}"]
        if self._config.secure_cookies:
            parts.append("Secure")
        return "; ".join(parts)


def csrf_valid(session: Session, form: dict[str, list[str]], headers: dict[str, str]) -> bool:
    submitted = (form.get(CSRF_FIELD) or [headers.get(CSRF_HEADER, "")])[0]
    return bool(submitted) and hmac.compare_digest(session.csrf, submitted)


def same_origin(headers: dict[str, str]) -> bool:
    """A browser sends Origin on a cross-site POST; when present it must be this host."""
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = headers.get("host", "")
    return origin.split("://", 1)[-1] == host


DEFAULT_PAGE = "/"
NEXT_MAX = 2048
# %25 may hide another encoding (%2509 is %09 once decoded): decode this many times at most,
# and refuse what still changes after that.
_DECODINGS = 4


def local_path(candidate: str) -> str:
    """`candidate` when it is a path on this site, else the default page (an open redirect).

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
    `/<TAB>/evil.example` and `/\\evil.example` leave the site like `//evil.example`; a proxy
    or a second decoding may turn `%09` or `%2f%2f` into the same. So the candidate must be
    printable ASCII, and it and each of its percent-decodings must start with one "/" and a
    character that is neither "/" nor "\\", hold no backslash, control character or blank,
    and have no scheme or host.
    """
    if not candidate or len(candidate) > NEXT_MAX or not candidate.isascii():
        return DEFAULT_PAGE
    form = candidate
    for _ in range(_DECODINGS):
        if not _plain_local_path(form):
            return DEFAULT_PAGE
        try:
            decoded = unquote(form, errors="strict")
        except UnicodeDecodeError:  # bytes that are not UTF-8: not a path we made
            return DEFAULT_PAGE
        if decoded == form:
            return candidate
        form = decoded
    return DEFAULT_PAGE


def _plain_local_path(form: str) -> bool:
    if not form.startswith("/") or form[1:2] == "/" or "\\" in form:
        return False
    if any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in form):
        return False
    parts = urlsplit(form)
    return not parts.scheme and not parts.netloc


_EPSILON = 1e-9  # float refills land a hair short of a whole token; count them as whole


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: float = 0.0  # when refused: until the next attempt is allowed
    refused_in_a_row: int = 0  # when refused: 1 for the first since the last allowed one


class RateLimiter:
    """At most `per_minute` attempts per key (a username, a client address) in this process:
    a token bucket holding `per_minute` tokens, refilled at `per_minute` a minute.

    The keys are chosen by whoever sends the requests, so at most `max_keys` buckets are
    kept: the one used longest ago is dropped for a new one (its key starts afresh).
    """

    def __init__(self, per_minute: int, now: Callable[[], float], *,
                 max_keys: int = 10_000) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0  # tokens a second
        self._now = now
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> Verdict:
        now = self._now()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(self._capacity, now)
            while len(self._buckets) >= self._max_keys:
                self._buckets.popitem(last=False)
        self._buckets[key] = bucket  # the most recently used last
        # A wall clock set back refills nothing until it is past the last count again.
        bucket.tokens = min(self._capacity,
                            bucket.tokens + max(0.0, now - bucket.at) * self._rate)
        bucket.at = max(bucket.at, now)
        if bucket.tokens >= 1.0 - _EPSILON:
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
            bucket.refused = 0
            return Verdict(True)
        bucket.refused += 1
        return Verdict(False, (1.0 - bucket.tokens) / self._rate, bucket.refused)

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass
class _Bucket:
    tokens: float
    at: float  # when `tokens` was counted
    refused: int = 0


def bearer_token_valid(expected: str, headers: dict[str, str]) -> bool:
    if not expected:
        return False
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                              expected.encode())
