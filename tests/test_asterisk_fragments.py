"""The Asterisk fragments in docs/asterisk/ agree with each other and with the service's
defaults: every dialplan context the manager fragment names, and every context the callback
queue originates into, exists in extensions.conf."""

import re
from pathlib import Path

from callback_queue.config import CallbacksConfig

DOCS = Path(__file__).resolve().parents[1] / "docs" / "asterisk"


def contexts_defined() -> set[str]:
    text = (DOCS / "extensions.conf").read_text(encoding="utf-8")
    return set(re.findall(r"^\[([\w-]+)\]", text, flags=re.MULTILINE))


def test_every_context_the_manager_fragment_names_is_in_the_dialplan():
    text = (DOCS / "manager.conf").read_text(encoding="utf-8")
    sections = set(re.findall(r"^\[([\w-]+)\]", text, flags=re.MULTILINE))
    named = set(re.findall(r"\[(hotline[\w-]*)\]", text)) - sections
    assert named, "the manager fragment names the contexts callbacks originate into"
    assert named <= contexts_defined(), named - contexts_defined()


def test_the_callback_queue_originates_into_contexts_the_dialplan_has():
    config = CallbacksConfig()
    wanted = {config.survey_context, config.queue_context, config.agent_context}
    assert wanted <= contexts_defined(), wanted - contexts_defined()


def test_the_dialplan_dials_citizens_with_the_services_dial_string_only():
    """[callbacks] dial_string is the one place that names the trunk: the click-to-call
    context dials what the service sends (HOTLINE_DIAL, callback_queue.queue)."""
    from callback_queue.queue import DIAL_VARIABLE, RING_VARIABLE

    lines = [line.split(";", 1)[0] for line in
             (DOCS / "extensions.conf").read_text(encoding="utf-8").splitlines()]
    dials = [line.strip() for line in lines if "Dial(" in line]
    assert dials == [f"same => n,Dial(${{{DIAL_VARIABLE}}},${{{RING_VARIABLE}}})"]
