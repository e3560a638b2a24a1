"""Adding and changing agents (the `hotline agents` command and the admin pages)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import audit
from hotline.passwords import hash_password
from schemas.enums import AgentRole
from schemas.models import Agent, Unit


class AgentAdminError(ValueError):
    pass


@dataclass(frozen=True)
class AgentRecord:
    id: int
    username: str
    display_name: str
    role: AgentRole
    unit_code: str | None
    interface: str | None
    active: bool


def add_agent(session: Session, *, username: str, display_name: str, role: AgentRole,
              password: str, unit_code: str | None, interface: str | None, actor: str,
              now: dt.datetime) -> AgentRecord:
    username = username.strip()
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        raise AgentAdminError("username: letters, digits, '.' and '_' only")
    if session.scalar(select(Agent.id).where(Agent.username == username)) is not None:
        raise AgentAdminError(f"username: {username!r} is taken")
    unit_id = None
    if unit_code:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
        if unit_id is None:
            raise AgentAdminError(f"unit: no unit {unit_code!r}")
    agent = Agent(username=username, display_name=display_name.strip() or username, role=role,
                  unit_id=unit_id, interface=interface or None,
                  password_hash=hash_password(password), active=True, created_at=now)
    session.add(agent)
    session.flush()
    audit.record(session, at=now, actor=actor, action="create", entity_type="agent",
                 entity_id=agent.id, note=f"{username} as {role.value}")
    return AgentRecord(agent.id, username, agent.display_name, role, unit_code,
                       agent.interface, True)
