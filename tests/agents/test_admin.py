"""Agent administration through HTTP: adding, editing, deactivating, resetting passwords;
the refusals (422 keeping the form, an admin's own account, CSRF); the audit trail."""

import re

import pytest
from sqlalchemy import select

from hotline import agents_admin
from hotline.audit import trail
from schemas.enums import AgentRole
from schemas.models import Agent, AuditEvent
from tests.agents.support import PASSWORD, Browser, create_agent, make_app

NEW_PASSWORD = "a fresh one 2026"


@pytest.fixture
def app(core, database, unit):
    create_agent(database, "root", AgentRole.ADMIN)
    return make_app(core, session_idle_s=600, session_lifetime_s=3600, lockout_failures=3,
                    lockout_window_s=300, lockout_s=900, login_attempts_per_minute=100)


@pytest.fixture
def admin(app, pumped_reactor):
    browser = Browser(app, pumped_reactor, client="10.0.0.1")
    assert browser.login("root").status == 303
    return browser


def browser_for(app, pumped_reactor, client: str) -> Browser:
    return Browser(app, pumped_reactor, client=client)


def agent_id(database, username: str) -> int:
    return database.read_now(lambda s: s.scalar(select(Agent.id)
                                                .where(Agent.username == username)))


def agent_count(database) -> int:
    return len(database.read_now(lambda s: s.scalars(select(Agent.id)).all()))


def new_agent(**overrides) -> dict:
    form = {"username": "zhou", "display_name": "周警官", "role": "agent", "unit": "PS-LS",
            "interface": "PJSIP/1003", "password": NEW_PASSWORD}
    form.update(overrides)
    return form


def test_an_admin_adds_an_agent_who_can_then_log_in(admin, app, database, pumped_reactor):
    assert admin.get("/admin/agents/new").status == 200
    result = admin.post("/admin/agents", new_agent())
    zhou = agent_id(database, "zhou")
    assert result.status == 303 and result.location == f"/admin/agents/{zhou}?done=created"
    page = admin.get(result.location)
    assert "已添加坐席 zhou" in page.body and 'value="PJSIP/1003"' in page.body
    listing = admin.get("/admin/agents").body
    assert 'data-agent="zhou"' in listing and "兰山派出所" in listing
    record = database.read_now(agents_admin.get_agent, zhou)
    assert (record.display_name, record.role, record.unit_code, record.interface) == \
        ("周警官", AgentRole.AGENT, "PS-LS", "PJSIP/1003")
    [created] = database.read_now(trail, "agent", zhou)
    assert (created.actor, created.action, created.to_state) == ("root", "create", "agent")
    browser = browser_for(app, pumped_reactor, "10.0.0.2")
    assert browser.login("zhou", NEW_PASSWORD).status == 303
    assert browser.get("/terminal").status == 200


def test_a_generated_password_is_shown_once_and_opens_the_account(admin, app, database,
                                                                   pumped_reactor):
    result = admin.post("/admin/agents", new_agent(password=""))
    assert result.status == 200
    shown = re.search(r'id="generated-password">[^<]*<code>([^<]+)</code>', result.body)
    assert shown and len(shown.group(1)) >= 10
    password = shown.group(1)
    zhou = agent_id(database, "zhou")
    assert password not in admin.get(f"/admin/agents/{zhou}").body
    assert browser_for(app, pumped_reactor, "10.0.0.2").login("zhou", password).status == 303


def test_a_taken_username_is_refused_with_the_form_kept(admin, database):
    create_agent(database, "li", AgentRole.AGENT)
    before = agent_count(database)
    result = admin.post("/admin/agents", new_agent(username="li", display_name="另一个李"))
    assert result.status == 422
    assert "用户名 li 已被使用" in result.body
    assert 'value="另一个李"' in result.body and 'value="PJSIP/1003"' in result.body
    assert NEW_PASSWORD not in result.body
    assert agent_count(database) == before


@pytest.mark.parametrize("interface", ["1001", "PJSIP/", "/1001", "PJSIP/10 01",
                                       "PJSIP/1001,1", "PJSIP/1001\r\nAction: Originate"])
def test_an_interface_not_in_technology_resource_form_is_refused(admin, database, interface):
    result = admin.post("/admin/agents", new_agent(interface=interface))
    assert result.status == 422
    assert "格式应为“技术/资源”" in result.body
    assert 'value="周警官"' in result.body
    assert agent_id(database, "zhou") is None


def test_an_interface_belongs_to_one_active_agent(admin, database):
    li = create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001").id
    result = admin.post("/admin/agents", new_agent(interface="pjsip/1001"))
    assert result.status == 422 and "已分配给启用中的坐席 li" in result.body
    assert admin.post(f"/admin/agents/{li}/deactivate").status == 303
    assert admin.post("/admin/agents", new_agent(interface="PJSIP/1001")).status == 303
    result = admin.post(f"/admin/agents/{li}/reactivate")
    assert result.status == 422 and "已分配给启用中的坐席 zhou" in result.body
    assert not database.read_now(agents_admin.get_agent, li).active


def test_an_edit_changes_name_role_unit_and_interface_at_once_and_is_audited(
        admin, app, database, pumped_reactor):
    li = create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001").id
    browser = browser_for(app, pumped_reactor, "10.0.0.2")
    browser.login("li")
    assert browser.get("/supervisor/alerts").status == 403
    result = admin.post(f"/admin/agents/{li}", {"display_name": "李班长", "role": "supervisor",
                                                 "unit": "PS-LS", "interface": "PJSIP/2001"})
    assert result.status == 303 and result.location == f"/admin/agents/{li}?done=saved"
    record = database.read_now(agents_admin.get_agent, li)
    assert (record.display_name, record.role, record.unit_code, record.interface) == \
        ("李班长", AgentRole.SUPERVISOR, "PS-LS", "PJSIP/2001")
    assert browser.get("/supervisor/alerts").status == 200  # the open session, new role
    update = database.read_now(trail, "agent", li)[-1]
    assert (update.actor, update.action, update.from_state, update.to_state) == \
        ("root", "update", "agent", "supervisor")
    assert "interface PJSIP/1001 -> PJSIP/2001" in update.note


def test_a_refused_edit_is_422_with_the_typed_values_and_changes_nothing(admin, database):
    li = create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001").id
    result = admin.post(f"/admin/agents/{li}", {"display_name": "李", "role": "agent",
                                                 "unit": "NOPE", "interface": "PJSIP/1009"})
    assert result.status == 422 and "没有编码为 NOPE 的单位" in result.body
    assert 'value="PJSIP/1009"' in result.body
    assert database.read_now(agents_admin.get_agent, li).interface == "PJSIP/1001"
    result = admin.post(f"/admin/agents/{li}", {"display_name": "李", "role": "chief",
                                                 "unit": "", "interface": ""})
    assert result.status == 422
    assert database.read_now(agents_admin.get_agent, li).role is AgentRole.AGENT


def test_a_deactivated_agent_cannot_log_in_and_its_open_session_is_refused(
        admin, app, database, pumped_reactor, clock):
    li = create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001").id
    browser = browser_for(app, pumped_reactor, "10.0.0.2")
    browser.login("li")
    assert browser.get("/terminal").status == 200
    clock.advance(5)
    result = admin.post(f"/admin/agents/{li}/deactivate")
    assert result.status == 303 and result.location == f"/admin/agents/{li}?done=deactivated"
    assert browser.get("/terminal").location == "/login?next=/terminal"
    assert browser_for(app, pumped_reactor, "10.0.0.3").login("li").status == 401
    assert admin.post(f"/admin/agents/{li}/reactivate").status == 303
    assert browser.get("/terminal").status == 303  # reactivation revives no old session
    assert browser_for(app, pumped_reactor, "10.0.0.3").login("li").status == 303
    actions = [(e.action, e.from_state, e.to_state)
               for e in database.read_now(trail, "agent", li)]
    assert actions[-2:] == [("deactivate", "active", "inactive"),
                            ("reactivate", "inactive", "active")]


def test_a_password_reset_ends_sessions_lifts_the_lockout_and_replaces_the_password(
        admin, app, database, pumped_reactor, clock):
    li = create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001").id
    open_session = browser_for(app, pumped_reactor, "10.0.0.2")
    open_session.login("li")
    stranger = browser_for(app, pumped_reactor, "10.0.0.9")
    for _ in range(3):
        stranger.login("li", "guessing wrong")
    assert stranger.login("li", PASSWORD).status == 423
    clock.advance(5)
    result = admin.post(f"/admin/agents/{li}/password", {"password": NEW_PASSWORD})
    assert result.status == 303 and result.location == f"/admin/agents/{li}?done=password_reset"
    assert open_session.get("/terminal").location == "/login?next=/terminal"
    fresh = browser_for(app, pumped_reactor, "10.0.0.3")
    assert fresh.login("li", PASSWORD).status == 401
    assert fresh.login("li", NEW_PASSWORD).status == 303
    assert fresh.get("/terminal").status == 200
    reset = database.read_now(trail, "agent", li)[-1]
    assert (reset.actor, reset.action) == ("root", "password_reset")


def test_a_short_typed_password_is_refused_and_a_generated_one_is_shown(admin, app, database,
                                                                         pumped_reactor):
    li = create_agent(database, "li", AgentRole.AGENT).id
    result = admin.post(f"/admin/agents/{li}/password", {"password": "short"})
    assert result.status == 422 and "密码至少 10 个字符" in result.body
    assert browser_for(app, pumped_reactor, "10.0.0.2").login("li").status == 303
    result = admin.post(f"/admin/agents/{li}/password", {"password": ""})
    assert result.status == 200 and "已重置 li 的密码" in result.body
    password = re.search(r"<code>([^<]+)</code>", result.body).group(1)
    assert browser_for(app, pumped_reactor, "10.0.0.3").login("li", password).status == 303


def test_an_admin_can_neither_demote_nor_deactivate_themselves(admin, database):
    root = agent_id(database, "root")
    result = admin.post(f"/admin/agents/{root}", {"display_name": "root", "role": "agent",
                                                   "unit": "", "interface": ""})
    assert result.status == 422 and "不能取消自己的管理员角色" in result.body
    result = admin.post(f"/admin/agents/{root}/deactivate")
    assert result.status == 422 and "不能停用自己的账号" in result.body
    record = database.read_now(agents_admin.get_agent, root)
    assert record.role is AgentRole.ADMIN and record.active
    assert admin.get("/admin/agents").status == 200
    wang = create_agent(database, "wang", AgentRole.ADMIN).id
    assert admin.post(f"/admin/agents/{wang}", {"display_name": "王", "role": "supervisor",
                                                 "unit": "", "interface": ""}).status == 303


def test_the_last_active_admin_stays_one_whoever_asks(database, clock, app):
    root = agent_id(database, "root")
    with pytest.raises(agents_admin.AgentAdminError) as refused:
        database.write_now(agents_admin.set_active, root, False, actor="cli:ops",
                           now=clock.now())
    assert refused.value.reason == "last_admin"
    with pytest.raises(agents_admin.AgentAdminError):
        database.write_now(agents_admin.update_agent, root, display_name="", role=AgentRole.AGENT,
                           unit_code=None, interface=None, actor="cli:ops", now=clock.now())
    assert database.read_now(agents_admin.get_agent, root).active


def test_no_audit_row_carries_password_material(admin, database):
    admin.post("/admin/agents", new_agent())
    zhou = agent_id(database, "zhou")
    admin.post(f"/admin/agents/{zhou}/password", {"password": "yet another secret"})
    generated = admin.post(f"/admin/agents/{zhou}/password", {"password": ""}).body
    password = re.search(r"<code>([^<]+)</code>", generated).group(1)
    rows = database.read_now(lambda s: [
        (r.actor, r.action, r.entity_id, r.from_state, r.to_state, r.note)
        for r in s.scalars(select(AuditEvent))])
    assert {"create", "password_reset", agents_admin.LOCKOUT_CLEARED} <= {r[1] for r in rows}
    text = " ".join(str(value) for row in rows for value in row)
    for secret in (NEW_PASSWORD, "yet another secret", password, "$argon2"):
        assert secret not in text


def test_a_change_without_the_csrf_token_is_refused(admin, database):
    li = create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001").id
    assert admin.post("/admin/agents", new_agent(), csrf=False).status == 403
    assert agent_id(database, "zhou") is None
    assert admin.post(f"/admin/agents/{li}", {"display_name": "x", "role": "admin", "unit": "",
                                               "interface": ""}, csrf=False).status == 403
    assert admin.post(f"/admin/agents/{li}/deactivate", csrf=False).status == 403
    assert admin.post(f"/admin/agents/{li}/password", {"password": NEW_PASSWORD},
                      csrf=False).status == 403
    record = database.read_now(agents_admin.get_agent, li)
    assert (record.role, record.active, record.display_name) == (AgentRole.AGENT, True,
                                                                 "li 警官")
    assert [e.action for e in database.read_now(trail, "agent", li)] == ["create"]


def test_what_an_admin_types_is_escaped(admin):
    admin.post("/admin/agents", new_agent(display_name="<script>alert(1)</script>"))
    listing = admin.get("/admin/agents").body
    assert "<script>alert(1)</script>" not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing


def test_an_unknown_agent_is_404(admin):
    assert admin.get("/admin/agents/999").status == 404
    assert admin.post("/admin/agents/999", {"display_name": "x", "role": "agent"}).status == 404
    assert admin.post("/admin/agents/999/password", {"password": NEW_PASSWORD}).status == 404
    assert admin.post("/admin/agents/999/deactivate").status == 404
