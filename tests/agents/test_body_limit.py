"""Request bodies over 64 KiB against the real service over TCP: refused with 413 and the
connection closed as soon as the size is known (on Content-Length, before a byte of the
body; in a chunked body, at the chunk that crosses the limit), for any path and before any
login, instead of being read into a temporary file first; a body within the limit still
reaches the application."""

from __future__ import annotations

import json
import select
import socket

import pytest

from agents.http import MAX_BODY
from tests.agents.running import API_TOKEN, running_service

pytestmark = pytest.mark.slow

GIB = 1 << 30


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with running_service(tmp_path_factory.mktemp("body-limit")) as running:
        yield running


def connect(service) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def head(path: str, *lines: str) -> bytes:
    return "".join([f"POST {path} HTTP/1.1\r\n", "Host: 127.0.0.1\r\n",
                    *(f"{line}\r\n" for line in lines), "\r\n"]).encode("latin-1")


def read_to_end(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a 10 s timeout fails
    the test: a server that waits for the rest of the body never closes)."""
    received = b""
    while True:
        try:
            data = client.recv(65536)
        except ConnectionResetError:
            return received
        if not data:
            return received
        received += data


def status_and_body(response: bytes) -> tuple[str, str]:
    header, _, body = response.partition(b"\r\n\r\n")
    return header.split(b"\r\n")[0].decode("latin-1"), body.decode("utf-8")


@pytest.mark.parametrize("path", ["/login", "/api/v1/appeals", "/no/such/page"])
def test_a_declared_gigabyte_is_refused_before_a_byte_of_it_is_sent(service, path):
    with connect(service) as client:
        client.sendall(head(path, f"Content-Length: {GIB}",
                            "Content-Type: application/x-www-form-urlencoded"))
        response = read_to_end(client)
    status, body = status_and_body(response)
    assert status == "HTTP/1.1 413 Content Too Large"
    assert body == "请求内容过大：不能超过 64 KiB"
    assert b"\r\nConnection: close\r\n" in response
    assert b"\r\nX-Content-Type-Options: nosniff\r\n" in response
    log = (service.temp_dir.parent / "service.log").read_text(encoding="utf-8")
    assert f"Refused a request body over {MAX_BODY} bytes" in log


def test_a_client_that_expects_100_continue_gets_the_413_and_no_continue(service):
    with connect(service) as client:
        client.sendall(head("/api/v1/appeals", f"Content-Length: {GIB}",
                            "Expect: 100-continue", f"Authorization: Bearer {API_TOKEN}"))
        response = read_to_end(client)
    assert response.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in response


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def test_a_chunked_body_is_refused_at_the_chunk_that_crosses_the_limit(service):
    with connect(service) as client:
        client.sendall(head("/login", "Transfer-Encoding: chunked"))
        client.sendall(chunk(b"a" * (MAX_BODY - 10)) + chunk(b"b" * 10))  # exactly the limit
        # One byte over, and not the chunk's closing CRLF: the server has read every byte
        # sent when it refuses, so it closes cleanly and the 413 is there to read.
        client.sendall(b"1\r\nc")
        response = read_to_end(client)
    status, body = status_and_body(response)
    assert status == "HTTP/1.1 413 Content Too Large" and body == "请求内容过大：不能超过 64 KiB"


def test_a_chunked_body_that_keeps_going_is_cut_off_long_before_a_gigabyte(service):
    piece = chunk(b"z" * 65536)
    sent, received, closed = 0, b"", False
    with connect(service) as client:
        client.sendall(head("/appeals", "Transfer-Encoding: chunked"))
        while sent < GIB and not closed:
            readable, _, _ = select.select([client], [], [], 0)
            if readable:
                try:
                    data = client.recv(65536)
                except ConnectionResetError:
                    data = b""
                received += data
                closed = not data
                continue
            try:
                client.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            else:
                sent += len(piece)
    assert closed
    # What the kernel buffers on loopback is all that got through after the refusal.
    assert sent < 64 * (1 << 20), f"{sent} bytes sent before the server closed"
    # The answer may be lost to the reset a refused sender gets; when it arrives it is 413.
    assert not received or received.startswith(b"HTTP/1.1 413 ")


def test_a_body_within_the_limit_reaches_the_application_chunked_or_not(service):
    appeal = json.dumps({"kind": "consultation", "subject": "咨询" + "x" * 100,
                         "citizen_phone": "13812345678"}).encode("utf-8")
    auth = f"Authorization: Bearer {API_TOKEN}"
    with connect(service) as client:
        client.sendall(head("/api/v1/appeals", f"Content-Length: {len(appeal)}", auth,
                            "Content-Type: application/json", "Connection: close") + appeal)
        plain = read_to_end(client)
    with connect(service) as client:
        client.sendall(head("/api/v1/appeals", "Transfer-Encoding: chunked", auth,
                            "Content-Type: application/json", "Connection: close")
                       + chunk(appeal[:7]) + chunk(appeal[7:]) + b"0\r\n\r\n")
        chunked = read_to_end(client)
    for response in (plain, chunked):
        status, body = status_and_body(response)
        assert status == "HTTP/1.1 201 Created", response
        assert json.loads(body)["subject"] == "咨询" + "x" * 100


@pytest.mark.parametrize("size", [1, 7, 4096, 1 << 20])
def test_the_refusal_holds_for_the_bytes_in_any_chunk_size_and_nothing_is_rendered(size):
    """The same refusal on twisted.web's own protocol and a StringTransport, the request's
    bytes fed `size` at a time, with more chunks and the body's end after the limit: one
    413, the connection closing, the resource never asked (not even when the rest of the
    body is in the same read)."""
    from twisted.internet.address import IPv4Address
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport
    from twisted.web import resource

    from agents.http import WebSite

    rendered = []

    class Recorder(resource.Resource):
        isLeaf = True

        def render(self, request):
            rendered.append(request)
            return b"ok"

    # the channel's timers on a clock of its own, not left behind on the global reactor
    protocol = WebSite(Recorder(), reactor=Clock()).buildProtocol(
        IPv4Address("TCP", "127.0.0.1", 80))
    transport = StringTransport()
    protocol.makeConnection(transport)
    wire = (head("/login", "Transfer-Encoding: chunked", "Expect: 100-continue")
            + chunk(b"a" * MAX_BODY) + chunk(b"b") + chunk(b"c" * 100) + b"0\r\n\r\n")
    for offset in range(0, len(wire), size):
        if transport.disconnecting:
            break
        protocol.dataReceived(wire[offset:offset + size])
    answer = transport.value()
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Content Too Large\r\n")
    assert answer.count(b"HTTP/1.1 ") == 2 and transport.disconnecting and not rendered
