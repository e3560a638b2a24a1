"""The callback survey flow against the simulated Asterisk, with an in-memory rating sink:
what the citizen hears, which key is stored, and what happens on a hang-up."""

from __future__ import annotations

import pytest
from twisted.logger import LogLevel

from ivr.flows.survey import SURVEY_INVALID, SURVEY_QUESTION, SURVEY_THANKS, SurveyFlow
from ivr.prompts import prompt_ids
from ivr.simulator import CallSetup
from tests.ivr.helpers import LogCapture, run_call


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.ratings: list[tuple[str, str]] = []
        self.fail = fail

    async def __call__(self, task_id: str, digit: str) -> None:
        if self.fail:
            raise RuntimeError("database down")
        self.ratings.append((task_id, digit))


def survey_call(sink, script, task_id="42", **setup):
    args = (task_id,) if task_id is not None else ()
    return run_call(SurveyFlow(sink), script,
                    CallSetup(script="survey", args=args, channel="PJSIP/trunk-00000007",
                              context="hotline-survey", extension="s", **setup), name="survey")


def played(call):
    return [h.value.removeprefix("hotline/") for h in call.simulator.heard if h.kind == "play"]


def test_every_survey_prompt_is_in_the_catalogue():
    assert {SURVEY_QUESTION, SURVEY_INVALID, SURVEY_THANKS} <= prompt_ids()


@pytest.mark.parametrize("key", ["1", "2", "3"])
def test_rating_key_is_stored_and_the_citizen_thanked(key):
    sink = Sink()
    call = survey_call(sink, key)
    assert sink.ratings == [("42", key)]
    assert played(call) == [SURVEY_QUESTION, SURVEY_THANKS]
    assert f"SET VARIABLE HOTLINE_SURVEY_RATING {key}" in call.commands()
    assert call.commands()[-1] == "HANGUP"


def test_wrong_key_is_asked_once_more():
    sink = Sink()
    call = survey_call(sink, "7 _ 2")
    assert played(call) == [SURVEY_QUESTION, SURVEY_INVALID, SURVEY_QUESTION, SURVEY_THANKS]
    assert sink.ratings == [("42", "2")]


def test_a_rating_key_pressed_while_the_wrong_key_prompt_names_them_is_taken():
    sink = Sink()
    call = survey_call(sink, "7 2")
    assert played(call) == [SURVEY_QUESTION, SURVEY_INVALID, SURVEY_THANKS]
    assert 'STREAM FILE hotline/survey-invalid "123"' in call.commands()
    assert sink.ratings == [("42", "2")]


def test_silence_twice_is_stored_as_no_rating():
    sink = Sink()
    call = survey_call(sink, "_ _")
    assert played(call) == [SURVEY_QUESTION, SURVEY_INVALID, SURVEY_QUESTION, SURVEY_THANKS]
    assert sink.ratings == [("42", "")]


def test_hang_up_before_a_key_is_stored_as_no_rating():
    sink = Sink()
    call = survey_call(sink, "H")
    assert sink.ratings == [("42", "")]
    assert SURVEY_THANKS not in played(call)


def test_hang_up_right_after_the_key_still_keeps_the_rating():
    sink = Sink()
    survey_call(sink, "3H")
    assert sink.ratings == [("42", "3")]


def test_missing_task_id_hangs_up_without_asking_and_logs_why():
    sink = Sink()
    with LogCapture() as logs:
        call = survey_call(sink, "1", task_id=None)
    assert sink.ratings == []
    assert played(call) == []
    assert call.commands() == ["HANGUP"]
    assert "no callback task id" in logs.text()


def test_failing_sink_is_logged_and_the_citizen_still_thanked():
    with LogCapture() as logs:
        call = survey_call(Sink(fail=True), "1")
    assert played(call)[-1] == SURVEY_THANKS
    assert any("not recorded" in e.get("log_format", "") for e in logs.at(LogLevel.error))


def test_missing_question_prompt_still_takes_a_key():
    sink = Sink()
    survey_call(sink, "1", sounds={"hotline/survey-thanks": 16000})
    assert sink.ratings == [("42", "1")]
