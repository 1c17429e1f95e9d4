"""The service's one log format: JSON lines, or text for a person at a terminal."""

from __future__ import annotations

import json
import logging
import os
import pty

import pytest

from contractledger.runtime.log_lines import ProcessRole, chosen_format, formatter
from contractledger.store.errors import StoreConfigurationError


def record(message: str, **fields: object) -> logging.LogRecord:
    made = logging.LogRecord("contractledger.views", logging.WARNING, __file__, 1, message, None, None)
    made.__dict__.update(fields)
    ProcessRole("views_runner").filter(made)
    return made


def test_a_terminal_gets_text_and_anything_else_json_unless_the_setting_says() -> None:
    leader, follower = pty.openpty()
    read, write = os.pipe()
    with open(follower, "w") as terminal, open(write, "w") as pipe:
        assert (chosen_format({}, terminal), chosen_format({}, pipe)) == ("text", "json")
        assert chosen_format({"CONTRACTLEDGER_LOG_FORMAT": "json"}, terminal) == "json"
        assert chosen_format({"CONTRACTLEDGER_LOG_FORMAT": "text"}, pipe) == "text"
        with pytest.raises(StoreConfigurationError, match="CONTRACTLEDGER_LOG_FORMAT='xml' must be json or text"):
            chosen_format({"CONTRACTLEDGER_LOG_FORMAT": "xml"}, pipe)
    os.close(leader)
    os.close(read)


def test_a_json_line_holds_the_keys_and_the_record_s_own_fields() -> None:
    line = json.loads(formatter("json").format(record("behind by %d", request_id="r-1", view="contract_status")))
    assert {k: line[k] for k in ("level", "logger", "role", "message", "request_id", "view")} == {
        "level": "WARNING", "logger": "contractledger.views", "role": "views_runner", "message": "behind by %d",
        "request_id": "r-1", "view": "contract_status",
    }
    assert line["pid"] == os.getpid() and line["timestamp"].endswith("+00:00")


def test_a_text_line_reads_as_a_sentence_with_its_role_and_request() -> None:
    line = formatter("text").format(record("a view is behind", request_id="r-2"))
    assert f"WARNING views_runner[{os.getpid()}] contractledger.views: a view is behind [request r-2]" in line
    assert "{" not in line
