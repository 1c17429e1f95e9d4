"""A bad value in any setting stops every command, run as a user runs it
(the ``contractledger`` console script), with one sentence naming the
setting and exit status 2: no traceback, and nothing started first (no
store opened, no process, nothing written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_command_line import CONTRACTLEDGER, quiet_env, run

COMMANDS = [
    ["serve"],
    ["tokens", "list"],
    ["tokens", "issue", "--role", "operator", "--user", "olive"],
    ["verify-ledger"],
    ["export-history", "--all"],
    ["rebuild-views"],
    ["reconcile", "manage", "missing.csv"],
    ["sync-deliver", "run"],
    ["sync-deliver", "dead-letters", "manage"],
    ["sync-deliver", "resume", "manage"],
]
POSTGRES = {
    "PERSISTENCE_MODULE": "contractledger.store.postgres",
    "POSTGRES_HOST": "no-such-host.invalid",
    "POSTGRES_PORT": "5432",
    "POSTGRES_DBNAME": "contractledger",
    "POSTGRES_USER": "ledger",
    "POSTGRES_PASSWORD": "secret",
}
BAD_SETTINGS = [
    ({"CONTRACTLEDGER_WAIT_BOUND": "abc"}, "CONTRACTLEDGER_WAIT_BOUND"),
    ({"CONTRACTLEDGER_READY_MAX_LAG": "-1"}, "CONTRACTLEDGER_READY_MAX_LAG"),
    ({"CONTRACTLEDGER_LOG_LEVEL": "LOUD"}, "CONTRACTLEDGER_LOG_LEVEL"),
    ({"CONTRACTLEDGER_LOG_FORMAT": "xml"}, "CONTRACTLEDGER_LOG_FORMAT"),
    ({"CONTRACTLEDGER_WORKERS": "many"}, "CONTRACTLEDGER_WORKERS"),
    ({"CONTRACTLEDGER_BUSINESS_TIME_ZONE": "Mars/Olympus"}, "CONTRACTLEDGER_BUSINESS_TIME_ZONE"),
    ({"CONTRACTLEDGER_SYNC_READ_TIMEOUT": "0"}, "CONTRACTLEDGER_SYNC_READ_TIMEOUT"),
    ({"CONTRACTLEDGER_SYNC_PLAIN_HTTP_HOSTS": "http://peer.example"}, "CONTRACTLEDGER_SYNC_PLAIN_HTTP_HOSTS"),
    ({"CONTRACTLEDGER_SYNC_PEERS": "no/such/folder"}, "CONTRACTLEDGER_SYNC_PEERS"),
    ({"CONTRACTLEDGER_TAMPER_EVIDENCE": "maybe"}, "CONTRACTLEDGER_TAMPER_EVIDENCE"),
    ({"PERSISTENCE_MODULE": "contractledger.store.nosuch"}, "PERSISTENCE_MODULE"),
    ({"SQLITE_LOCK_TIMEOUT": "soon"}, "SQLITE_LOCK_TIMEOUT"),
    ({"CREATE_TABLE": "maybe"}, "CREATE_TABLE"),
    ({**POSTGRES, "POSTGRES_PORT": "abc"}, "POSTGRES_PORT"),
    ({**POSTGRES, "POSTGRES_CONNECT_TIMEOUT": "soon"}, "POSTGRES_CONNECT_TIMEOUT"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("settings,named", BAD_SETTINGS, ids=[named for _, named in BAD_SETTINGS])
def test_a_bad_setting_stops_the_command_with_one_sentence_naming_it(
    command: list[str], settings: dict[str, str], named: str, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run([str(CONTRACTLEDGER), *command], quiet_env(tmp_path, **settings), empty)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert named in lines[0]
    assert lines[0].startswith("contractledger: ")
    assert done.stdout == ""
    assert list(empty.iterdir()) == []
