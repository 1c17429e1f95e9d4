"""The end-to-end client tells a whole answer from a cut one, as a retrying user must.

A worker killed while it writes an answer leaves the client with headers and part of a
body. The fault drill retries such a request under its idempotency key; it can do so only
if the cut answer reads as "no answer" (status 0), not as an exception in its writer.
"""

from __future__ import annotations

import socket
import threading

import pytest

from tests.e2e.served import ask


def _serve_once(reply: bytes) -> int:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(reply)
        connection.close()
        listener.close()

    threading.Thread(target=answer, daemon=True).start()
    return listener.getsockname()[1]


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 201 Created\r\nContent-Length: 13\r\n\r\n",
        b"HTTP/1.1 409 Conflict\r\nContent-Length: 40\r\n\r\n{\"code\":",
        b"HTTP/1.1 20",
        b"",
    ],
    ids=["body cut", "problem body cut", "status line cut", "closed at once"],
)
def test_an_answer_cut_short_reads_as_no_answer(reply: bytes) -> None:
    answer = ask(_serve_once(reply), "POST", "/parties", body={"kind": "carrier"})
    assert answer.status == 0
    assert answer.body


def test_a_whole_answer_reads_as_itself() -> None:
    port = _serve_once(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}")
    answer = ask(port, "POST", "/parties", body={"kind": "carrier"})
    assert (answer.status, answer.body) == (201, b"{}")
