"""What a client gets over a real socket where gunicorn answers before the
app (a request line too long, too many header fields, one too long, bytes
HTTP forbids), and that up to those limits the app itself answers with its
problem documents: the limits the serve command sets (runtime/serve.py), as
the README's "Limits" section says. Nothing is recorded either way."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from served import Server  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
# the limits as the README states them
REQUEST_LINE_BYTES = 4096
REQUEST_HEADER_FIELDS = 64
REQUEST_HEADER_FIELD_BYTES = 8190


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[dict[str, Any]]:
    server = Server(tmp_path_factory.mktemp("limits"), store=store)
    token = server.token(Actor(Role.AUDITOR, "audrey"))
    # On a new store a read fails until the views runner has made its tables, even while /ready
    # answers 200 (found here, reported; not this test's subject): wait for a read to answer.
    deadline = time.monotonic() + 30
    while server.request("GET", "/contracts", token).status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        yield {"server": server, "token": token}
    finally:
        assert server.stop() == 0


def exchange(server: Server, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends a raw request head; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as connection:
        connection.sendall(head)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    header_block, _, body = rest.partition(b"\r\n\r\n")
    headers = dict(line.decode("latin-1").split(": ", 1) for line in header_block.split(b"\r\n") if line)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


def request(path: str, token: str, extra: list[str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {token}", "Connection: close"]
    return ("\r\n".join(lines + (extra or [])) + "\r\n\r\n").encode("latin-1")


def padded_path(total_line: int) -> str:
    """A /contracts path whose request line ("GET <path> HTTP/1.1") is ``total_line`` bytes."""
    fixed = len("GET  HTTP/1.1") + len("/contracts?after=")
    return "/contracts?after=" + "A" * (total_line - fixed)


def unchanged(served: dict[str, Any], head: bytes) -> tuple[int, dict[str, str], bytes]:
    server: Server = served["server"]
    before = server.position()
    answer = exchange(server, head)
    assert server.position() == before
    return answer


def test_a_request_line_up_to_the_limit_reaches_the_app(served: dict[str, Any]) -> None:
    status, headers, body = unchanged(served, request(padded_path(REQUEST_LINE_BYTES), served["token"]))
    assert (status, headers["content-type"]) == (400, "application/problem+json")
    assert b'"query.invalid_parameter"' in body  # the app's own refusal: a cursor of 4,000 characters


def test_a_longer_request_line_is_414_from_gunicorn_before_the_app(served: dict[str, Any]) -> None:
    status, headers, body = unchanged(served, request(padded_path(REQUEST_LINE_BYTES + 1), served["token"]))
    assert (status, headers["content-type"], headers["connection"]) == (414, "text/html", "close")
    assert b"URI Too Long" in body


def test_header_fields_up_to_the_limit_reach_the_app(served: dict[str, Any]) -> None:
    # Host, Authorization and Connection, and as many more as are allowed
    extra = [f"X-Filler-{i}: {i}" for i in range(REQUEST_HEADER_FIELDS - 3)]
    status, headers, _ = unchanged(served, request("/contracts", served["token"], extra))
    assert (status, headers["content-type"]) == (200, "application/json")


def test_one_header_field_more_is_431_from_gunicorn(served: dict[str, Any]) -> None:
    extra = [f"X-Filler-{i}: {i}" for i in range(REQUEST_HEADER_FIELDS - 2)]
    status, headers, body = unchanged(served, request("/contracts", served["token"], extra))
    assert (status, headers["content-type"]) == (431, "text/html")
    assert b"Request Header Fields Too Large" in body


def test_a_header_field_longer_than_the_limit_is_431_from_gunicorn(served: dict[str, Any]) -> None:
    short = unchanged(served, request("/contracts", served["token"], ["X-Note: " + "n" * 4000]))
    assert short[0] == 200
    status, headers, _ = unchanged(
        served, request("/contracts", served["token"], ["X-Note: " + "n" * (REQUEST_HEADER_FIELD_BYTES + 1)])
    )
    assert (status, headers["content-type"]) == (431, "text/html")


@pytest.mark.parametrize(
    "head",
    [
        b"GET /contracts?status=\x00 HTTP/1.1\r\nHost: x\r\n\r\n",  # a raw NUL in the target
        b"GET /contracts HTTP/1.1\r\nHost: x\r\nIf-Match: \x00\r\n\r\n",  # a control character in a header
    ],
)
def test_bytes_http_forbids_are_400_from_gunicorn(served: dict[str, Any], head: bytes) -> None:
    status, headers, _ = unchanged(served, head)
    assert (status, headers["content-type"]) == (400, "text/html")


def test_a_percent_encoded_nul_and_a_non_ascii_digit_reach_the_app_and_are_refused(served: dict[str, Any]) -> None:
    status, headers, body = unchanged(served, request("/contracts?status=%00", served["token"]))
    assert (status, headers["content-type"]) == (400, "application/problem+json") and b'"field": "status"' in body
    body = b'{"writing_number": "W-1"}'
    head = (
        b"POST /contracts/00000000-0000-4000-8000-000000000001/add-writing-number HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer " + served["token"].encode() + b"\r\nConnection: close\r\n"
        b"If-Match: \"\xc2\xb2\"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    status, headers, body = unchanged(served, head)
    assert (status, headers["content-type"]) == (400, "application/problem+json")
    assert b'"request.if_match_invalid"' in body


def test_connections_that_send_nothing_keep_no_one_else_waiting(served: dict[str, Any]) -> None:
    """A browser opens sockets ahead of need (preconnect) and leaves them idle; a client
    may hang. More such silent connections than the service has workers must not stall
    everyone else until gunicorn's 30 s timeout: a read still answers at once."""
    server: Server = served["server"]
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=20) for _ in range(server.workers * 2)]
    try:
        time.sleep(0.5)  # each silent connection has been accepted by a worker
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(request("/health", served["token"]))
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
        assert received.startswith(b"HTTP/1.1 200"), received[:200]
        assert time.monotonic() - started < 10
    finally:
        for connection in silent:
            connection.close()
