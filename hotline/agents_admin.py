"""Adding and changing agents: the rules both the `hotline agents` command and the admin
pages go through, each change audited (who, when, what; never a password).

An agent's queue interface is Asterisk's `Technology/resource` (`PJSIP/1001`,
`Local/1001@agents/n`) and belongs to one active agent at a time. A password reset and a
deactivation set `sessions_revoked_at`: every session issued before it is refused (the web
app reads the row on each request), and a reset ends a login lockout, as an unlock does
(password and sessions unchanged). The last active administrator can be neither demoted nor
deactivated, and an administrator never does either to themselves. A unit officer (承办单位
民警) is bound to one active unit, the unit whose work orders they see and act on; for the
other roles the unit is a label.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline import audit
from hotline.passwords import MIN_LENGTH, hash_password
from schemas.enums import AgentRole
from schemas.models import Agent, Unit

ENTITY = "agent"
# The lockout (agents.accounts) counts failed logins in the audit trail under this entity,
# back to the last success or the last of these rows.
LOGIN_ENTITY = "login"
LOCKOUT_CLEARED = "lockout_cleared"

USERNAME_MAX = 64
DISPLAY_NAME_MAX = 128
INTERFACE_MAX = 128
PASSWORD_MAX = 128
# Asterisk's Technology/resource; a Local channel's resource may carry /n.
INTERFACE = re.compile(r"[A-Za-z][A-Za-z0-9]*/[A-Za-z0-9_.@+-]+(/[A-Za-z0-9_.@+-]+)*")
# Generated passwords: no 0/O, 1/l/I to misread when read out or copied from the screen.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 16


class AgentAdminError(ValueError):
    """A change refused, naming the field and why (`reason`: a stable key for the pages'
    words; `values`: what the words show)."""

    def __init__(self, field: str, reason: str, message: str, **values: object) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.reason, self.values = field, reason, values


class AgentNotFound(LookupError):
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


def generate_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))


def check_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise AgentAdminError("password", "password_short",
                              f"at least {MIN_LENGTH} characters", min=MIN_LENGTH)
    if len(password) > PASSWORD_MAX:
        raise AgentAdminError("password", "password_long",
                              f"at most {PASSWORD_MAX} characters", max=PASSWORD_MAX)


def agent_id_of(session: Session, username: str) -> int:
    """The id of the agent with this username (the command line names agents by it)."""
    agent_id = session.scalar(select(Agent.id).where(Agent.username == username))
    if agent_id is None:
        raise AgentNotFound(username)
    return agent_id


def get_agent(session: Session, agent_id: int) -> AgentRecord:
    return _record(session, _agent(session, agent_id))


def add_agent(session: Session, *, username: str, display_name: str, role: AgentRole,
              password: str, unit_code: str | None, interface: str | None, actor: str,
              now: dt.datetime) -> AgentRecord:
    username = username.strip()
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        raise AgentAdminError("username", "username_form", "letters, digits, '.' and '_' only")
    if len(username) > USERNAME_MAX:
        raise AgentAdminError("username", "too_long", f"at most {USERNAME_MAX} characters",
                              max=USERNAME_MAX)
    if session.scalar(select(Agent.id).where(Agent.username == username)) is not None:
        raise AgentAdminError("username", "username_taken", f"{username!r} is taken",
                              username=username)
    display_name = _display_name(display_name) or username
    unit_id = _unit_id(session, unit_code)
    _unit_for_role(session, role, unit_id)
    interface = _interface(interface)
    _interface_free(session, interface, other_than=None)
    check_password(password)
    agent = Agent(username=username, display_name=display_name, role=role, unit_id=unit_id,
                  interface=interface, password_hash=hash_password(password), active=True,
                  created_at=now)
    session.add(agent)
    session.flush()
    audit.record(session, at=now, actor=actor, action="create", entity_type=ENTITY,
                 entity_id=agent.id, to_state=role.value,
                 note=f"{username} as {role.value}; unit {unit_code or '-'}; "
                      f"interface {interface or '-'}")
    return _record(session, agent)


def update_agent(session: Session, agent_id: int, *, display_name: str, role: AgentRole,
                 unit_code: str | None, interface: str | None, actor: str,
                 now: dt.datetime) -> AgentRecord:
    """Change what an admin may change; the audit row lists each field from -> to (no row
    when nothing changed)."""
    agent = _agent(session, agent_id)
    display_name = _display_name(display_name) or agent.display_name
    unit_id = _unit_id(session, unit_code)
    _unit_for_role(session, role, unit_id)
    interface = _interface(interface)
    if agent.active:  # an inactive agent's interface is checked when it is reactivated
        _interface_free(session, interface, other_than=agent.id)
    if agent.role is AgentRole.ADMIN and role is not AgentRole.ADMIN:
        _keep_an_admin(session, agent, actor, "role", "self_demotion")
    before = _record(session, agent)
    agent.display_name, agent.role, agent.unit_id, agent.interface = (display_name, role,
                                                                      unit_id, interface)
    session.flush()
    after = _record(session, agent)
    changes = [f"{label} {getattr(before, name) or '-'} -> {getattr(after, name) or '-'}"
               for label, name in (("display_name", "display_name"), ("role", "role"),
                                   ("unit", "unit_code"), ("interface", "interface"))
               if getattr(before, name) != getattr(after, name)]
    if changes:
        audit.record(session, at=now, actor=actor, action="update", entity_type=ENTITY,
                     entity_id=agent.id, from_state=before.role.value,
                     to_state=after.role.value,
                     note="; ".join(changes))
    return after


def set_active(session: Session, agent_id: int, active: bool, *, actor: str,
               now: dt.datetime) -> AgentRecord:
    """Deactivate (sessions end, logins refused) or reactivate (its interface must still be
    free); doing what is already done changes nothing."""
    agent = _agent(session, agent_id)
    if agent.active == active:
        return _record(session, agent)
    if active:
        _interface_free(session, agent.interface, other_than=agent.id)
    else:
        if agent.role is AgentRole.ADMIN:
            _keep_an_admin(session, agent, actor, "active", "self_deactivation")
        agent.sessions_revoked_at = now
    agent.active = active
    audit.record(session, at=now, actor=actor, action="reactivate" if active else "deactivate",
                 entity_type=ENTITY, entity_id=agent.id,
                 from_state=_state(not active), to_state=_state(active))
    return _record(session, agent)


def reset_password(session: Session, agent_id: int, password: str, *, actor: str,
                   now: dt.datetime) -> AgentRecord:
    """A new password: the agent's sessions end and a lockout of its username is lifted."""
    agent = _agent(session, agent_id)
    check_password(password)
    agent.password_hash = hash_password(password)
    agent.sessions_revoked_at = now
    audit.record(session, at=now, actor=actor, action="password_reset", entity_type=ENTITY,
                 entity_id=agent.id, note="sessions ended")
    _lift_lockout(session, agent, actor, now, "password reset")
    return _record(session, agent)


def unlock(session: Session, agent_id: int, *, actor: str, now: dt.datetime) -> AgentRecord:
    """Lift a lockout of the agent's username, password and sessions unchanged: the way back
    in for an administrator someone locked by failing the password (audited whether or not
    the username was locked)."""
    agent = _agent(session, agent_id)
    audit.record(session, at=now, actor=actor, action="unlock", entity_type=ENTITY,
                 entity_id=agent.id, note="login lockout lifted")
    _lift_lockout(session, agent, actor, now, "unlocked")
    return _record(session, agent)


def _lift_lockout(session: Session, agent: Agent, actor: str, now: dt.datetime,
                  why: str) -> None:
    """The lockout counts failures back to the newest of these rows."""
    audit.record(session, at=now, actor=actor, action=LOCKOUT_CLEARED,
                 entity_type=LOGIN_ENTITY, entity_id=agent.username, note=why)


def _agent(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise AgentNotFound(agent_id)
    return agent


def _record(session: Session, agent: Agent) -> AgentRecord:
    unit_code = (session.scalar(select(Unit.code).where(Unit.id == agent.unit_id))
                 if agent.unit_id is not None else None)
    return AgentRecord(agent.id, agent.username, agent.display_name, agent.role, unit_code,
                       agent.interface, agent.active)


def _display_name(display_name: str) -> str:
    display_name = display_name.strip()
    if len(display_name) > DISPLAY_NAME_MAX:
        raise AgentAdminError("display_name", "too_long",
                              f"at most {DISPLAY_NAME_MAX} characters", max=DISPLAY_NAME_MAX)
    return display_name


def _unit_id(session: Session, unit_code: str | None) -> int | None:
    if not unit_code:
        return None
    unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
    if unit_id is None:
        raise AgentAdminError("unit", "unit_unknown", f"no unit {unit_code!r}", unit=unit_code)
    return unit_id


def _unit_for_role(session: Session, role: AgentRole, unit_id: int | None) -> None:
    """A unit officer acts for one active unit: without it they could see nothing, or, were a
    missing unit read as "any", everything."""
    if role is not AgentRole.UNIT_OFFICER:
        return
    if unit_id is None:
        raise AgentAdminError("unit", "unit_required", "a unit officer needs a unit")
    unit = session.get(Unit, unit_id)
    if unit is None or not unit.active:
        raise AgentAdminError("unit", "unit_inactive", "the unit is not active",
                              unit=unit.code if unit else unit_id)


def _interface(interface: str | None) -> str | None:
    """The interface as typed (no surrounding blanks), or None for none."""
    interface = (interface or "").strip()
    if not interface:
        return None
    if len(interface) > INTERFACE_MAX or not INTERFACE.fullmatch(interface):
        raise AgentAdminError("interface", "interface_form",
                              "Technology/resource, such as PJSIP/1001", interface=interface)
    return interface


def _interface_free(session: Session, interface: str | None, *,
                    other_than: int | None) -> None:
    """Refused when another active agent has it (Asterisk's technology names are
    case-insensitive, so is the comparison)."""
    if interface is None:
        return
    query = select(Agent.username).where(Agent.active,
                                         func.lower(Agent.interface) == interface.lower())
    if other_than is not None:
        query = query.where(Agent.id != other_than)
    holder = session.scalar(query.limit(1))
    if holder is not None:
        raise AgentAdminError("interface", "interface_taken", f"{interface} is {holder}'s",
                              interface=interface, holder=holder)


def _keep_an_admin(session: Session, agent: Agent, actor: str, field: str,
                   self_reason: str) -> None:
    """`agent`, an active administrator, is about to stop being one."""
    if agent.username == actor:
        raise AgentAdminError(field, self_reason, "not your own account")
    others = session.scalar(select(func.count(Agent.id))
                            .where(Agent.active, Agent.role == AgentRole.ADMIN,
                                   Agent.id != agent.id))
    if agent.active and not others:
        raise AgentAdminError(field, "last_admin", "the last active administrator")


def _state(active: bool) -> str:
    return "active" if active else "inactive"
