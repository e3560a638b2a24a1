"""The satisfaction survey (回访) the callback queue's call runs: one question, keys 1/2/3.

Asterisk runs it from the survey context (`AGI(agi://.../survey,${TASK_ID})`) once the
citizen answers the call the dispatcher placed; the callback task's id is the first AGI
argument. The rating goes to an injected sink, `record_rating(task_id, digit)` ('' for no
rating), so the IVR knows nothing of the callback queue. One wrong or missing key gets one
more try (a rating key pressed while the "wrong key" prompt names them is taken); a hang-up before a valid key is reported as no rating. A failing sink loses the
rating but not the call's manners: the citizen is still thanked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from twisted.logger import Logger

from ivr.agi.errors import AGIHangup, AGISoundFileMissing
from ivr.flows.prompts import KEYS, SURVEY_INVALID, SURVEY_QUESTION, SURVEY_THANKS

PROMPTS = (SURVEY_QUESTION, SURVEY_INVALID, SURVEY_THANKS)
RATING_KEYS = tuple(KEYS[SURVEY_QUESTION])
RATING_VARIABLE = "HOTLINE_SURVEY_RATING"

RatingSink = Callable[[str, str], Awaitable[Any]]


class SurveyFlow:
    log = Logger()

    def __init__(self, record_rating: RatingSink, *, prompt_prefix: str = "hotline/",
                 timeout_ms: int = 6000, tries: int = 2) -> None:
        self._record_rating = record_rating
        self._prefix = prompt_prefix
        self._timeout_ms = timeout_ms
        self._tries = tries

    async def __call__(self, channel, env) -> None:
        task_id = env.args[0].strip() if env.args else ""
        if not task_id.isdigit():
            self.log.error("Survey call on {channel} has no callback task id (args {args}); "
                           "hanging up without asking", channel=env.channel, args=list(env.args))
            await _quietly(channel.hangup())
            return
        digit = ""
        try:
            digit = await self._ask(channel)
        except AGIHangup:
            self.log.info("Survey for task {task_id}: citizen hung up before rating",
                          task_id=task_id)
            await self._store(task_id, "")
            return
        await self._store(task_id, digit)
        if digit:
            await _quietly(channel.set_variable(RATING_VARIABLE, digit))
        try:
            await self._play(channel, SURVEY_THANKS)
            await channel.hangup()
        except AGIHangup:
            pass

    async def _ask(self, channel) -> str:
        for attempt in range(1, self._tries + 1):
            try:
                digit = await channel.get_data(self._prefix + SURVEY_QUESTION, self._timeout_ms, 1)
            except AGISoundFileMissing:
                self.log.warn("Prompt {prompt} is missing from Asterisk's sounds",
                              prompt=SURVEY_QUESTION)
                digit = await channel.wait_for_digit(self._timeout_ms)
            if digit in RATING_KEYS:
                return digit
            if attempt < self._tries:
                digit = await self._play(channel, SURVEY_INVALID, KEYS[SURVEY_INVALID])
                if digit in RATING_KEYS:
                    return digit
        return ""

    async def _store(self, task_id: str, digit: str) -> None:
        try:
            await self._record_rating(task_id, digit)
        except Exception as error:
            self.log.error("Survey for task {task_id}: rating {digit!r} not recorded: {error!r}",
                           task_id=task_id, digit=digit, error=error)

    async def _play(self, channel, prompt: str, keys: str = "") -> str:
        """The key among `keys` that interrupted the prompt, or ''."""
        try:
            return await channel.stream_file(self._prefix + prompt, keys)
        except AGISoundFileMissing:
            self.log.warn("Prompt {prompt} is missing from Asterisk's sounds", prompt=prompt)
            return ""


async def _quietly(awaitable) -> None:
    try:
        await awaitable
    except AGIHangup:
        pass
