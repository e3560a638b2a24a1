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


def test_the_three_way_context_runs_confbridge_where_the_service_and_simulator_expect_it():
    """The desk originates into agents.threeway.CONTEXT and redirects there; the AMI
    simulator joins a channel to `hotline-<exten>` at priority 4, as the real Asterisk did
    with this dialplan; the profiles it names are in confbridge.conf."""
    from twisted.internet.task import Clock

    from agents.threeway import CONTEXT
    from hotline.ami.simulator import AsteriskManagerSimulator

    assert CONTEXT in contexts_defined()
    assert CONTEXT in AsteriskManagerSimulator(Clock()).conference_contexts
    text = (DOCS / "extensions.conf").read_text(encoding="utf-8")
    block = text.split(f"[{CONTEXT}]", 1)[1].split("\n[", 1)[0]
    steps = [line.split(",", 1)[1] for line in block.splitlines()
             if line.strip().startswith(("exten =>", "same =>"))]
    assert steps[3].startswith("ConfBridge(hotline-${EXTEN},")  # priority 4
    profiles = re.search(r"ConfBridge\(hotline-\$\{EXTEN\},(\w+),(\w+)\)", block).groups()
    sections = set(re.findall(r"^\[([\w-]+)\]",
                              (DOCS / "confbridge.conf").read_text(encoding="utf-8"),
                              flags=re.MULTILINE))
    assert set(profiles) <= sections
