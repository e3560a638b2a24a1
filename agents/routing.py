"""What the route table is made of: a route (method, path pattern, who may use it, the
handler's name) and the request context a handler receives.

Access is one of: `PUBLIC` (anyone; the login page, static files, the OpenAPI document),
`API` (the bearer token of the bureau's systems), or a set of agent roles (a logged-in
session whose agent, re-read from its row, has one of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents import accounts
from agents.auth import Session
from agents.http import WebRequest
from agents.i18n import translator
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
            body = {"": "[^/]+", "int": "[0-9]{1,18}", "digits": "[0-9]{1,24}"}.get(kind, kind)
            return f"(?P<{name}>{body})"

        return re.compile("^" + re.sub(r"\{([^}]+)\}", group, self.pattern) + "$")



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

