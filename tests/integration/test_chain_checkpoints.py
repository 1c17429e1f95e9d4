"""The chain watch's checkpoints on each store, and the timeline page that
proves a contract's entries by the stretches of the chain between them.

Someone with the database who changes an event and computes every later hash
again passes a walk of the chain from its first event; the page catches it,
because the changed stretch no longer ends in the hash the watch witnessed."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from console_browser import ConsoleBrowser  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402

from contractledger.projections.engine.chain_checkpoints import ChainWatch  # noqa: E402
from contractledger.store.hashchain import GENESIS, link, verify  # noqa: E402

EVERY = 8


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


def contract_with_history(api: Api) -> Any:
    w = api.world
    contract = w.active_contract()
    for number in range(3):
        w.days_later(5)
        api.config.ledger.add_writing_number(w.carrier_staff, contract, f"WN-{number}")
        for _ in range(3):  # other contracts' events between this one's
            w.active_contract()
    api.caught_up()
    return contract


def checkpoints(api: Api) -> list[tuple[int, bytes]]:
    rows = api.config.views.query("SELECT position, hash FROM chain_checkpoints ORDER BY position")
    return [(int(position), bytes.fromhex(hashed)) for position, hashed in rows]


def breaks(api: Api) -> list[int]:
    return [int(row[0]) for row in api.config.views.query("SELECT position FROM chain_breaks")]


def stored_hashes(api: Api) -> dict[int, bytes]:
    return {e.notification_id: e.stored_hash for e in api.config.ledger.recorder.chained_events()}


def rewrite(api: Api, rows: list[tuple[int, bytes, bytes]]) -> None:
    """As someone with the database would, the append-only guard lifted: (position, state, hash) each."""
    views = api.config.views
    if views.dialect == "sqlite":
        connection = sqlite3.connect(views.path, isolation_level=None)  # type: ignore[attr-defined]
        connection.execute("DROP TRIGGER IF EXISTS stored_events_refuse_update")
        for position, state, hashed in rows:
            connection.execute("UPDATE stored_events SET state = ?, hash = ? WHERE notification_id = ?",
                               (state, hashed, position))
        connection.close()
        return
    import psycopg2

    user = os.environ.get("POSTGRES_SUPERUSER", "")
    if not user:
        pytest.fail("POSTGRES_SUPERUSER not set: run these tests through scripts/test.", pytrace=False)
    with views.transaction(write=False) as tx:
        tx.execute("SELECT current_schema()")
        (schema,) = tx.fetchone()  # type: ignore[misc]
    connection = psycopg2.connect(
        host=os.environ["POSTGRES_HOST"], port=os.environ["POSTGRES_PORT"], dbname=os.environ["POSTGRES_DBNAME"],
        user=user, password=os.environ.get("POSTGRES_SUPERUSER_PASSWORD", ""),
    )
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute("SET session_replication_role = replica")
    for position, state, hashed in rows:
        cursor.execute(f'UPDATE "{schema}".contractledger_events SET state = %s, hash = %s WHERE notification_id = %s',
                       (state, hashed, position))
    connection.close()


def forge_from(api: Api, position: int) -> None:
    """Changes the event at ``position`` and computes every later hash again, so that each link holds."""
    rows, previous = [], GENESIS
    for event in api.config.ledger.recorder.chained_events():
        state = bytes(event.state)
        if event.notification_id == position:
            state = state.replace(b"WN-1", b"WN-9")
            assert state != bytes(event.state)
        if event.notification_id >= position:
            hashed = link(previous, event.originator_id, event.originator_version, event.topic, state)
            rows.append((event.notification_id, state, hashed))
            previous = hashed
        else:
            previous = bytes(event.stored_hash)
    rewrite(api, rows)


def test_the_watch_writes_a_checkpoint_every_few_events_each_the_hash_stored_there(api: Api) -> None:
    contract_with_history(api)
    watch = ChainWatch(api.config.ledger.recorder, api.config.views, every=EVERY)
    head = api.config.ledger.recorder.max_notification_id()
    last = watch.advance()
    stored = stored_hashes(api)
    written = checkpoints(api)
    assert [position for position, _ in written] == list(range(EVERY, head + 1, EVERY))
    assert all(stored[position] == hashed for position, hashed in written)
    assert last.position == written[-1][0] and breaks(api) == []
    for _ in range(3):
        api.world.active_contract()
    again = watch.advance()  # goes on from its last checkpoint
    now = api.config.ledger.recorder.max_notification_id()
    assert [position for position, _ in checkpoints(api)] == list(range(EVERY, now + 1, EVERY))
    assert again.position == now - now % EVERY


def test_the_watch_records_a_broken_link_and_writes_no_checkpoint_past_it(api: Api) -> None:
    contract_with_history(api)
    watch = ChainWatch(api.config.ledger.recorder, api.config.views, every=EVERY)
    first = watch.advance()
    for _ in range(4):
        api.world.active_contract()
    position = first.position + 2
    (event,) = [e for e in api.config.ledger.recorder.chained_events() if e.notification_id == position]
    rewrite(api, [(position, bytes(event.state) + b" ", bytes(event.stored_hash))])
    assert watch.advance() == first
    assert breaks(api) == [position]
    assert checkpoints(api)[-1][0] == first.position


def entries_proven(page: str) -> list[str]:
    return re.findall(r'<span class="(intact|broken)">(?:proven|not proven)</span>', page)


def test_the_timeline_walks_only_the_stretches_around_its_entries(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    contract = contract_with_history(api)
    ChainWatch(api.config.ledger.recorder, api.config.views, every=EVERY).advance()
    recorder_class = type(api.config.ledger.recorder)
    read = recorder_class.chained_events
    walked: list[tuple[int, int]] = []

    def counted(self: Any, after: Any = None, up_to: Any = None) -> Iterator[Any]:
        for event in read(self, after=after, up_to=up_to):
            walked.append((after, event.notification_id))
            yield event

    monkeypatch.setattr(recorder_class, "chained_events", counted)
    browser = ConsoleBrowser(api.client)
    assert browser.sign_in(api.token(api.world.auditor)).status_code == 303
    page = browser.get(f"/console/contracts/{contract}").text
    assert 'id="verdict" class="intact"' in page
    entries = entries_proven(page)
    assert entries and all(kind == "intact" for kind in entries)
    head = api.config.ledger.recorder.max_notification_id()
    assert 0 < len(walked) < head  # not the ledger from its first event
    assert all(after == 0 or after % EVERY == 0 for after, _ in walked)


def test_a_forged_event_whose_later_hashes_were_computed_again_shows_broken_on_the_timeline(api: Api) -> None:
    contract = contract_with_history(api)
    ChainWatch(api.config.ledger.recorder, api.config.views, every=EVERY).advance()
    browser = ConsoleBrowser(api.client)
    assert browser.sign_in(api.token(api.world.auditor)).status_code == 303
    page = browser.get(f"/console/contracts/{contract}").text
    positions = [int(p) for p in re.findall(r'<td data-label="Position">(\d+)</td>', page)]
    (numbered,) = [
        e.notification_id for e in api.config.ledger.recorder.chained_events()
        if b"WN-1" in bytes(e.state) and e.notification_id in positions
    ]
    forge_from(api, numbered)
    assert verify(api.config.ledger.recorder.chained_events()).intact  # a walk from the first event is fooled
    page = browser.get(f"/console/contracts/{contract}").text
    assert 'id="verdict" class="broken"' in page
    stretch_start = (numbered - 1) // EVERY * EVERY
    proven = dict(zip(positions, entries_proven(page), strict=True))
    assert any(position <= stretch_start for position in proven)
    # before the forged stretch every entry is proven; in it, and after it (whose first links no longer follow
    # the hash witnessed before them), none
    assert all((kind == "intact") == (position <= stretch_start) for position, kind in proven.items())


def served_env(api: Api) -> dict[str, str]:
    """The settings the service was started with, as verify-ledger reads them."""
    views = api.config.views
    if views.dialect == "sqlite":
        return {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": views.path}  # type: ignore[attr-defined]
    (schema,) = views.query("SELECT current_schema()")[0]
    keys = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")
    return {"PERSISTENCE_MODULE": "contractledger.store.postgres", **{k: os.environ[k] for k in keys},
            "POSTGRES_SCHEMA": schema}


def verify_ledger(api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from contractledger.store import verify as command

    served = served_env(api)
    for key in [k for k in os.environ if k.startswith(("POSTGRES_", "SQLITE_", "PERSISTENCE_"))]:
        monkeypatch.delenv(key)
    for key, value in served.items():
        monkeypatch.setenv(key, value)
    code = command.main([])
    return code, capsys.readouterr().out


def test_verify_ledger_holds_the_chain_to_the_hashes_the_watch_witnessed(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    contract_with_history(api)
    ChainWatch(api.config.ledger.recorder, api.config.views, every=EVERY).advance()
    head = api.config.ledger.recorder.max_notification_id()
    environment = dict(os.environ)
    code, out = verify_ledger(api, monkeypatch, capsys)
    assert code == 0 and out.startswith(f"intact: {head} events") and f"the {head // EVERY} checkpoints" in out, out
    (numbered,) = [e.notification_id for e in api.config.ledger.recorder.chained_events() if b"WN-1" in bytes(e.state)]
    for key, value in environment.items():  # the superuser's settings, to forge as someone with the database
        monkeypatch.setenv(key, value)
    forge_from(api, numbered)
    code, out = verify_ledger(api, monkeypatch, capsys)
    witnessed_after = (numbered + EVERY - 1) // EVERY * EVERY
    assert code == 1 and f"at notification id {witnessed_after} every link holds" in out, out
