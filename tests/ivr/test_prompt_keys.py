"""A prompt that names keys ("请按9", "press 9") names exactly the keys the flow takes in
answer to it: the catalogue's Mandarin and English texts are read against `prompts.KEYS`,
and each such prompt is answered with every key, through the real flow against the simulated
Asterisk, to see which ones the flow takes. (The open-appeal notice once said 1 for the
status, which the flow took as consultation; `progress-more` offered 1 and 2, which ended
the call.)"""

from __future__ import annotations

import re

import pytest

from ivr.agi.channel import ALL_DIGITS
from ivr.flows import prompts as P
from ivr.prompts import load_catalog, unit_prompt_id
from tests.ivr.helpers import run_call
from tests.ivr.test_hotline_flow import (
    APPEALS,
    CLOSED_NOW,
    MemoryBackend,
    citizen,
    make_flow,
)
from tests.ivr.test_survey_flow import Sink, survey_call

WORDS = {"星号键": "*", "井号键": "#", "star": "*", "hash": "#"}
ZH = re.compile(r"[按以]\s*([0-9]|星号键|井号键)")
EN = re.compile(r"\bpress ([0-9]|star|hash)\b|\b(hash) key\b")


def named(pattern: re.Pattern, text: str) -> set[str]:
    keys = set()
    for match in pattern.finditer(text):
        word = next(group for group in match.groups() if group)
        keys.add(WORDS.get(word, word))
    return keys


@pytest.mark.parametrize("prompt", list(load_catalog()), ids=lambda prompt: prompt.id)
def test_each_prompt_names_the_keys_of_the_table_in_both_languages(prompt):
    expected = set(P.KEYS.get(prompt.id, ""))
    assert named(ZH, prompt.zh) == expected, prompt.zh
    assert named(EN, prompt.en) == expected, prompt.en
    if prompt.tts:
        spoken = prompt.tts.translate(str.maketrans("一二三", "123"))
        assert named(ZH, spoken) == expected, prompt.tts


def test_the_table_names_only_prompts_of_the_catalogue():
    assert set(P.KEYS) <= {prompt.id for prompt in load_catalog()}


# Which keys the flow takes, prompt by prompt: each scenario presses `key` in answer to the
# prompt (while it plays, or in the wait after it) and says whether the flow took it.

OPEN = APPEALS["2026112500003"]  # assigned to PS-LS
STATUS = "_ 4 2026112500003# _"  # menu 4, the number, the status played out


def main_menu(key: str, wait: bool) -> bool:
    backend = MemoryBackend()
    run_call(make_flow(backend), f"_ {key}", citizen())
    return backend.record.path[1] not in ("menu:invalid", "menu:timeout")


def open_appeal_notice(key: str, wait: bool) -> bool:
    backend = MemoryBackend(open_appeal=OPEN)
    run_call(make_flow(backend), f"_ {'_ ' if wait else ''}{key}", citizen())
    after = backend.record.path[backend.record.path.index("open-appeal") + 1]
    return after != "menu:timeout"  # not the menu as if nothing was pressed


def progress_more(key: str, wait: bool) -> bool:
    backend = MemoryBackend()
    run_call(make_flow(backend), f"{STATUS} {'_ ' if wait else ''}{key}", citizen())
    path = backend.record.path
    return path[path.index("after-status") + 1] != "goodbye"


def status_unit_unnamed(key: str, wait: bool) -> bool:
    backend = MemoryBackend()
    sounds = {f"hotline/{p}": 16000 for p in (*P.USED, unit_prompt_id("PS-LS"))
              if p != unit_prompt_id("PS-LS")}
    run_call(make_flow(backend), f"{STATUS} {key}", citizen(sounds=sounds))
    return "pressed-0" in backend.record.path


def queue_long_callback(key: str, wait: bool) -> bool:
    backend = MemoryBackend(callback_requests=[])
    setup = citizen(functions={"QUEUE_WAITING_COUNT(hotline)": "7"})
    run_call(make_flow(backend, callback_offer_waiting=5), f"_ 1 {'_ ' if wait else ''}{key}",
             setup)
    return "callback-requested" in backend.record.path


def leave_message(key: str, wait: bool) -> bool:
    backend = MemoryBackend(now=CLOSED_NOW)
    call = run_call(make_flow(backend), key, citizen(speech_s=4))
    return "(dtmf)" in b"".join(call.asterisk_wire).decode()


def survey_question(key: str, wait: bool) -> bool:
    sink = Sink()
    survey_call(sink, key)
    return sink.ratings == [("42", key)]


def survey_invalid(key: str, wait: bool) -> bool:
    sink = Sink()
    call = survey_call(sink, f"7 {key}")
    asked = [h for h in call.simulator.heard if h.value.endswith(P.SURVEY_QUESTION)]
    return sink.ratings == [("42", key)] and len(asked) == 1  # taken before asking again


SCENARIOS = {
    P.MAIN_MENU: (main_menu, False),
    P.OPEN_APPEAL_NOTICE: (open_appeal_notice, True),
    P.PROGRESS_MORE: (progress_more, True),
    P.UNIT_UNNAMED: (status_unit_unnamed, False),
    P.QUEUE_LONG_CALLBACK: (queue_long_callback, True),
    P.LEAVE_MESSAGE: (leave_message, False),
    P.SURVEY_QUESTION: (survey_question, False),
    P.SURVEY_INVALID: (survey_invalid, False),
}
# GET DATA ends a number on # whatever the flow wants: nothing to press the flow for.
NOT_A_CHOICE = {P.ENTER_CASE_NUMBER}


def test_every_prompt_that_names_keys_has_a_scenario():
    assert set(P.KEYS) - NOT_A_CHOICE == set(SCENARIOS)


@pytest.mark.parametrize("prompt, wait", [(prompt, wait) for prompt, (_, waits) in
                                          SCENARIOS.items() for wait in {False, waits}])
def test_the_flow_takes_exactly_the_keys_the_prompt_names(prompt, wait):
    scenario = SCENARIOS[prompt][0]
    taken = {key for key in ALL_DIGITS if scenario(key, wait)}
    assert taken == set(P.KEYS[prompt]), f"{prompt} ({'after it' if wait else 'during it'})"


def test_the_survey_and_the_flow_send_the_keys_of_the_table_to_asterisk():
    call = survey_call(Sink(), "7 _ _")
    assert 'STREAM FILE hotline/survey-invalid "123"' in call.commands()
    backend = MemoryBackend(open_appeal=OPEN)
    call = run_call(make_flow(backend), "_ _ _", citizen())
    assert 'STREAM FILE hotline/open-appeal-notice "90"' in call.commands()


def test_one_at_the_open_appeal_notice_is_no_longer_consultation():
    backend = MemoryBackend(open_appeal=OPEN)
    call = run_call(make_flow(backend), "_ 1 _ 2", citizen())
    heard = [h.value.removeprefix("hotline/") for h in call.simulator.heard if h.kind == "play"]
    assert heard[:3] == [P.GREETING, P.OPEN_APPEAL_NOTICE, P.MAIN_MENU]
    assert backend.record.menu_choice == "help"  # what the caller chose at the menu


def test_after_a_status_one_asks_for_another_number_and_star_says_it_again():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), f"{STATUS} * _ 1 2026112000001# _", citizen())
    heard = [h.value.removeprefix("hotline/") for h in call.simulator.heard if h.kind == "play"]
    assert heard.count(P.STATUS_ASSIGNED) == 2 and heard.count(P.STATUS_RESOLVED_ON) == 1
    assert heard.count(P.ENTER_CASE_NUMBER) == 2
    assert backend.record.path[-3:] == ("status:resolved", "after-status", "goodbye")
    assert backend.record.appeal_id == 1
