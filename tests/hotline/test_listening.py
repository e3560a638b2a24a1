"""The ports each listener got, recorded and written for whoever started the process on
port 0."""

import json

from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactor

from hotline.listening import ListeningPorts, read_ports_file


def test_a_listener_on_port_0_records_the_port_it_got_and_writes_the_file(tmp_path):
    reactor = MemoryReactor()
    path = tmp_path / "ports.json"
    ports = ListeningPorts(str(path))
    waiting = ports.port_of("web")
    assert read_ports_file(path) == {}
    endpoint = ports.endpoint("web", TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"))
    got: list = []
    endpoint.listen(Factory()).addCallback(got.append)
    [listening] = got
    port = listening.getHost().port
    assert ports.ports == {"web": port} and json.loads(path.read_text("utf-8")) == {"web": port}
    assert waiting.called and waiting.result == port
    assert ports.port_of("web").result == port
    assert not list(tmp_path.glob(".ports.json.*"))  # the partial file was renamed


def test_without_a_ports_file_nothing_is_written(tmp_path):
    ports = ListeningPorts("")
    ports.record("agi", 4573)
    assert ports.ports == {"agi": 4573} and list(tmp_path.iterdir()) == []
