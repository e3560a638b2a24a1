"""What the route table is made of: a route (method, path pattern, who may use it, the
handler's name) and the request context a handler receives.

Access is one of: `PUBLIC` (anyone; the login page, static files, the OpenAPI document),
`API` (the bearer token of the bureau's systems), or a set of agent roles (a logged-in
session whose agent, re-read from its row, has one of them).

A pattern's `{name}` is one path segment; `{name:int}` a database id, up to `params.MAX_ID`
(a larger number names no row: the path is not found, and never reaches a query);
`{name:a|b}` one of the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents import accounts
from agents.auth import Session
from agents.http import WebRequest
from agents.i18n import translator
from agents.params import MAX_ID
from schemas.enums import AgentRole

PUBLIC = "public"
API = "api"
STAFF = frozenset({AgentRole.AGENT, AgentRole.SUPERVISOR})
SUPERVISORS = frozenset({AgentRole.SUPERVISOR})
ADMINS = frozenset({AgentRole.ADMIN})
EVERYONE = frozenset(AgentRole)
SAFE_METHODS = {"GET", "HEAD"}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    access: str | frozenset[AgentRole]
    handler: str

    @property
    def regex(self) -> re.Pattern:
        def group(match: re.Match) -> str:
            name, _, kind = match.group(1).partition(":")
            body = {"": "[^/]+", "int": digits_up_to(MAX_ID)}.get(kind, kind)
            return f"(?P<{name}>{body})"

        return re.compile("^" + re.sub(r"\{([^}]+)\}", group, self.pattern) + "$")


def digits_up_to(limit: int) -> str:
    """A regular expression for the numbers 0 to `limit` written in at most as many digits
    as `limit` (leading zeros allowed): what a route's `{name:int}` matches, so that a path
    naming an id no row can have is not found, like any other path that names nothing."""
    top = str(limit)
    branches = [f"[0-9]{{1,{len(top) - 1}}}"] if len(top) > 1 else []
    for position, digit in enumerate(top):
        if digit != "0":
            rest = len(top) - position - 1
            below = f"[0-{int(digit) - 1}]" if digit != "1" else "0"
            branches.append(top[:position] + below + (f"[0-9]{{{rest}}}" if rest else ""))
    branches.append(top)
    return "(?:" + "|".join(branches) + ")"



@dataclass
class Context:
    request: WebRequest
    params: dict[str, str]
    lang: str
    principal: accounts.Principal | None = None
    session: Session | None = None
    csrf: str = ""
    cookies: list[str] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return self.principal.username if self.principal else "-"

    @property
    def t(self):
        return translator(self.lang)

