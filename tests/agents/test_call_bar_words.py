"""The call bar names the caller's IVR choice in the page's words: every choice the IVR
records (the appeal kinds and 转人工, "agent") has its label in the page's kind-labels, which
app.js reads; a choice without one would show its raw code ("agent")."""

import re

from agents.i18n import MESSAGES
from schemas.enums import AgentRole
from tests.agents.support import Browser, create_agent, make_app


def test_every_menu_choice_has_its_label_on_the_page(core, database, pumped_reactor):
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("li").status == 303
    page = browser.get("/appeals").body
    labels = re.search(r'<template id="kind-labels">(.*?)</template>', page, re.S).group(1)
    shown = dict(re.findall(r'<span data-kind="([^"]+)">([^<]+)</span>', labels))
    choices = {key.removeprefix("kind.") for key in MESSAGES if key.startswith("kind.")}
    assert choices <= set(shown), choices - set(shown)
    assert shown["agent"] == "转人工"
