"""The recording lines of docs/asterisk/ agree with the names the index reads and the
variables the callback queue sends, take no manager right, and the simulators write what
each of those lines makes Asterisk write."""

from __future__ import annotations

import re
import wave
from pathlib import Path

from twisted.internet import task

from callback_queue.config import CallbacksConfig
from hotline.ami import actions
from hotline.ami.simulator import RECORDING_CONTEXTS, AsteriskManagerSimulator
from hotline.recordings import names
from hotline.recordings.config import RecordingsConfig
from ivr.simulator import CallSetup
from tests.ivr.helpers import run_call

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asterisk"


def dialplan() -> str:
    return "\n".join(line.split(";", 1)[0] for line in
                     (DOCS / "extensions.conf").read_text(encoding="utf-8").splitlines())


def test_the_dialplan_names_recordings_as_the_index_reads_them():
    text = dialplan()
    config = CallbacksConfig()
    assert f"HOTLINE_RECORDINGS={RecordingsConfig().dir}" in text
    assert "Set(MONITOR_FILENAME=${HOTLINE_RECORDINGS}/call-^{HOTLINE_CALL_ID})" in text
    callback = (f"${{HOTLINE_RECORDINGS}}/callback-${{{config.task_variable}}}-"
                f"${{{config.attempt_variable}}}")
    # survey: whole call; agent's callback: only bridged; queue callback: the queue's record
    assert f"MixMonitor({callback}.wav)" in text
    assert f"MixMonitor({callback}.wav,b)" in text
    assert f"Set(MONITOR_FILENAME={callback})" in text
    assert names.parse("recordings", "call-0123abcd.wav") is not None
    queues = (DOCS / "queues.conf").read_text(encoding="utf-8")
    assert re.search(r"^monitor-format = wav$", queues, flags=re.MULTILINE)


def test_the_contexts_the_simulator_records_in_are_the_dialplans():
    contexts = set(re.findall(r"^\[([\w-]+)\]", dialplan(), flags=re.MULTILINE))
    assert set(RECORDING_CONTEXTS) <= contexts


def test_recording_takes_no_manager_right():
    text = (DOCS / "manager.conf").read_text(encoding="utf-8")
    write = re.search(r"^write = (.*)$", text, flags=re.MULTILINE).group(1)
    assert "system" not in write.split(",")


def originated(tmp_path, context: str, *, bridge_after: float | None = None, talk_s=5.0):
    clock = task.Clock()
    sim = AsteriskManagerSimulator(clock, wall=clock.seconds, recordings_dir=str(tmp_path))
    sim.script_originate("13812345678", delay=1.0, talk_time=talk_s)
    sim.originate(None, actions.originate(
        "PJSIP/13812345678@trunk", context=context, exten="s", priority=1,
        variables={"TASK_ID": 7, "TASK_ATTEMPT": 21}, channel_id="cb-7"))
    clock.advance(1.0)
    if bridge_after is not None:
        clock.advance(bridge_after)
        caller = sim.answered_originate("cb-7")
        sim.queue_caller_join("hotline", caller)
        sim.agent_connect("hotline", caller, caller, "PJSIP/1001")
        clock.advance(talk_s - bridge_after)
    else:
        clock.advance(talk_s)
    return tmp_path / "callback-7-21.wav"


def seconds(path: Path) -> float:
    with wave.open(str(path)) as audio:
        return audio.getnframes() / audio.getframerate()


def test_the_ami_simulator_records_an_agents_callback_while_it_is_up(tmp_path):
    assert seconds(originated(tmp_path, "hotline-agent-callback")) == 5.0


def test_a_queue_callback_is_recorded_from_the_agents_answer_only(tmp_path):
    (tmp_path / "q").mkdir()
    path = originated(tmp_path / "q", "hotline-queue-callback", bridge_after=2.0)
    assert seconds(path) == 3.0
    (tmp_path / "n").mkdir()
    assert not originated(tmp_path / "n", "hotline-queue-callback").exists()  # never bridged


def test_a_call_that_no_agent_takes_leaves_no_recording(tmp_path):
    setup = CallSetup(callerid="13812345678", queue_status="TIMEOUT", monitor_format="wav",
                      write_recordings=True,
                      variables={"MONITOR_FILENAME": f"{tmp_path}/call-^{{HOTLINE_CALL_ID}}"})
    call = run_call(_queue_only, "", setup)
    assert [h.kind for h in call.simulator.heard if h.kind == "queue-recording"] == []
    assert list(tmp_path.iterdir()) == []


async def _queue_only(channel, env):
    await channel.set_variable("HOTLINE_CALL_ID", "x1")
    await channel.exec_("Queue", "hotline,t,,,5")
