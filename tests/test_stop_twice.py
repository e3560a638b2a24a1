"""Two SIGTERMs to a real service process (a supervisor signalling the process group while
make forwards its own, or an operator pressing Ctrl-C twice): one clean stop, no traceback."""

import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.simulator.asterisk import CallSetup
from tests.support.processes import service_environment, wait_for, wait_for_ports

ROOT = Path(__file__).resolve().parents[1]
TWISTD = str(Path(sys.executable).with_name("twistd"))


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_a_second_stop_signal_while_stopping_is_logged_and_the_stop_stays_clean(tmp_path, second):
    url = f"sqlite:///{tmp_path}/hotline.sqlite3"
    env = service_environment(tmp_path / "ports.json", HOTLINE_DATABASE_URL=url, HOTLINE_CONFIG="")
    subprocess.run([sys.executable, "-m", "hotline.cli", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    process = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        agi_port = wait_for_ports(tmp_path / "ports.json", process, ("web", "agi"))["agi"]
        # A call in progress holds the staged stop in its drain until the call ends, so the
        # second signal is sure to come while the service is stopping.
        call = socket.create_connection(("127.0.0.1", agi_port), timeout=10)
        call.sendall(replace(CallSetup(), uniqueid="1795887564.5").header())
        assert call.makefile("rb").readline() == b"ANSWER\n"
        process.send_signal(signal.SIGTERM)
        wait_for(lambda: refused(agi_port), 10, "the FastAGI port to close: the stop began")
        process.send_signal(second)
        time.sleep(0.5)
        call.close()
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # twistd ends by the signal it was stopped with (the first), as a supervisor expects
    assert process.returncode == -signal.SIGTERM, output
    assert output.count("Received SIGTERM, shutting down.") == 1, output
    assert "while already stopping: the stop in progress goes on" in output, output
    assert "Traceback" not in output and "ReactorNotRunning" not in output, output
    assert "Main loop terminated." in output, output
