"""Logging in, in the database thread: lockout from the audit trail, Argon2 verification,
and the agent behind a session.

Failed and successful logins are audit rows (`entity_type` "login", the username as
entity), so the lockout holds across processes and restarts and needs no table of its own:
`lockout_failures` failures within `lockout_window_s` (none since a success) lock the
username for `lockout_s` after the last one. A password reset (on the admin pages, or
`hotline agents reset-password NAME`) or `hotline agents unlock NAME` ends it
(`hotline.agents_admin.LOCKOUT_CLEARED`): the command line is the way back in for the last
administrator, whom anyone can lock by failing the password. The lockout applies to any
name typed, known or not, so it does not tell which usernames exist.

A unit officer's scope is their unit (`Principal.unit_scope`): a unit officer whose unit is
missing or deactivated neither logs in nor keeps a session, so that no page ever runs for a
unit officer without the unit that bounds what they see.

A session is honoured while its agent is active, it was issued after the agent's
`sessions_revoked_at` (a password reset, a deactivation) and it was not logged out: a logout
is a `revoked_sessions` row, which every process reads, restarted or not. The row lasts until
the session would have ended anyway; each logout deletes those past it, so the table holds
at most the sessions of one lifetime.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agents.config import AuthConfig
from hotline import audit
from hotline.agents_admin import LOCKOUT_CLEARED, LOGIN_ENTITY
from hotline.passwords import verify_password
from schemas.enums import AgentRole
from schemas.models import Agent, AuditEvent, RevokedSession, Unit

USERNAME_MAX = 64


@dataclass(frozen=True)
class Principal:
    """The logged-in agent, re-read from its row on every request."""

    agent_id: int
    username: str
    display_name: str
    role: AgentRole
    interface: str | None
    unit_id: int | None

    @property
    def unit_scope(self) -> int | None:
        """The one unit a unit officer acts for; None for the hall's roles (no unit bound)."""
        return self.unit_id if self.role is AgentRole.UNIT_OFFICER else None


@dataclass(frozen=True)
class LoginOutcome:
    principal: Principal | None
    locked_until: dt.datetime | None = None
    # Why it was refused: "credentials" (the password was checked and failed: a wrong one,
    # an unknown or inactive username) or "locked" (the username was locked: not checked).
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.principal is not None

    @property
    def locked_by_it(self) -> bool:
        """This failure is the one that locked the username."""
        return self.failure == "credentials" and self.locked_until is not None


def _principal(agent: Agent) -> Principal:
    return Principal(agent.id, agent.username, agent.display_name, agent.role, agent.interface,
                     agent.unit_id)


def _scoped(session: Session, agent: Agent) -> bool:
    """False for a unit officer whose unit is missing or inactive."""
    if agent.role is not AgentRole.UNIT_OFFICER:
        return True
    unit = session.get(Unit, agent.unit_id) if agent.unit_id is not None else None
    return unit is not None and unit.active


def load_principal(session: Session, agent_id: int, issued: float,
                   nonce: str) -> Principal | None:
    """The agent of the session `nonce` issued at `issued` (epoch seconds), or None when the
    session no longer counts."""
    agent = session.get(Agent, agent_id)
    if agent is None or not agent.active or not _scoped(session, agent):
        return None
    revoked = agent.sessions_revoked_at
    if revoked is not None and issued < revoked.timestamp():
        return None
    if session.get(RevokedSession, nonce) is not None:
        return None
    return _principal(agent)


def locked_until(session: Session, username: str, now: dt.datetime,
                 policy: AuthConfig) -> dt.datetime | None:
    horizon = now - dt.timedelta(seconds=policy.lockout_window_s + policy.lockout_s)
    rows = session.execute(select(AuditEvent.action, AuditEvent.at)
                           .where(AuditEvent.entity_type == LOGIN_ENTITY,
                                  AuditEvent.entity_id == username,
                                  AuditEvent.at >= horizon)
                           .order_by(AuditEvent.id.desc()).limit(200)).all()
    failures: list[dt.datetime] = []
    for action, at in rows:
        if action in ("login", LOCKOUT_CLEARED):
            break
        if action == "login_failed":
            failures.append(at)
    if not failures:
        return None
    last = failures[0]
    window_start = last - dt.timedelta(seconds=policy.lockout_window_s)
    if sum(1 for at in failures if at >= window_start) < policy.lockout_failures:
        return None
    until = last + dt.timedelta(seconds=policy.lockout_s)
    return until if until > now else None


def login_name(typed: str) -> str:
    """The username a login attempt is for, as it is counted (lockout, rate limit)."""
    return typed.strip()[:USERNAME_MAX]


def attempt_login(session: Session, username: str, password: str, *, now: dt.datetime,
                  client: str, policy: AuthConfig) -> LoginOutcome:
    username = login_name(username)
    until = locked_until(session, username, now, policy)
    if until is not None:
        audit.record(session, at=now, actor=username or "-", action="login_locked",
                     entity_type=LOGIN_ENTITY, entity_id=username, note=f"from {client}")
        return LoginOutcome(None, until, "locked")
    agent = session.scalar(select(Agent).where(Agent.username == username)) if username else None
    # One Argon2 run for every attempt: a deactivated or unknown username must not answer
    # sooner than a wrong password for a live one.
    matches = verify_password(agent.password_hash if agent is not None else None, password)
    if agent is not None and agent.active and matches and _scoped(session, agent):
        audit.record(session, at=now, actor=username, action="login", entity_type=LOGIN_ENTITY,
                     entity_id=username, note=f"from {client}")
        return LoginOutcome(_principal(agent))
    audit.record(session, at=now, actor=username or "-", action="login_failed",
                 entity_type=LOGIN_ENTITY, entity_id=username, note=f"from {client}")
    return LoginOutcome(None, locked_until(session, username, now, policy), "credentials")


def record_logout(session: Session, username: str, nonce: str, *, expires_at: dt.datetime,
                  now: dt.datetime) -> None:
    """Revoke the session `nonce` (which would end by itself at `expires_at`) for every
    process, and forget the revoked sessions that have ended since."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # A double-clicked logout revokes the same session twice; the second changes nothing.
    session.execute(dialect.insert(RevokedSession).values(nonce=nonce, expires_at=expires_at)
                    .on_conflict_do_nothing(index_elements=["nonce"]))
    session.execute(delete(RevokedSession).where(RevokedSession.expires_at < now))
    audit.record(session, at=now, actor=username, action="logout", entity_type=LOGIN_ENTITY,
                 entity_id=username)


@dataclass(frozen=True)
class AgentRow:
    id: int
    username: str
    display_name: str
    role: AgentRole
    unit_name: str | None
    interface: str | None
    active: bool


def list_agents(session: Session) -> list[AgentRow]:
    rows = session.execute(select(Agent, Unit.name).outerjoin(Unit, Agent.unit_id == Unit.id)
                           .order_by(Agent.username)).all()
    return [AgentRow(a.id, a.username, a.display_name, a.role, unit, a.interface, a.active)
            for a, unit in rows]
