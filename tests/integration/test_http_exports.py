"""The auditor's export over the API (rules §10), on both stores: the same
bytes as the command line, streamed, money exact, the verdict for exactly
the events it holds written last; auditors only, hidden things answered as
missing ones; a stream cut off holds no verdict."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.projections import audit_export  # noqa: E402


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


@pytest.fixture
def contract(api: Api) -> Any:
    w = api.world
    contract = w.active_contract()
    w.ledger.log_debt(w.mga_admin, contract, amount="250.00", effective_on=w.today, reminder_on=w.in_days(3))
    api.caught_up()
    return contract


def exports(api: Api, contract: Any) -> dict[str, audit_export.Selection]:
    w = api.world
    return {
        f"/contracts/{contract}/export": audit_export.Selection(contract=contract),
        f"/parties/{w.advisor}/export": audit_export.Selection(party=w.advisor),
        "/ledger/export": audit_export.Selection(),
    }


def get(api: Api, actor: Actor, path: str, **params: str) -> Any:
    return api.client.simulate_get(path, headers=api.as_(actor), params=params)


def test_auditors_get_the_history_over_the_api_streamed_with_the_verdict_for_exactly_the_events_it_holds(
    api: Api, contract: Any
) -> None:
    ledger = api.config.ledger
    for path, selection in exports(api, contract).items():
        for form in audit_export.FORMATS:
            answer = get(api, api.world.auditor, path, format=form)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.headers["Content-Type"] == f"{audit_export.MEDIA_TYPES[form]}; charset=utf-8"
            assert "attachment" in answer.headers["Content-Disposition"]
            assert "Content-Length" not in answer.headers  # streamed, not built and measured first
            _, pieces = audit_export.export(ledger.recorder, ledger.mapper, selection, form)
            assert answer.text == "".join(pieces)  # the very bytes the command line writes
            if form == "jsonl":
                lines = [json.loads(line) for line in answer.text.splitlines()]
                events, verdict = lines[:-1], lines[-1]["verdict"]
                positions = [e["notification_id"] for e in events]
            else:
                table = list(csv.DictReader(io.StringIO(answer.text, newline="")))
                events, verdict = table[:-1], json.loads(table[-1]["details"])
                assert table[-1]["event"] == audit_export.VERDICT_EVENT
                positions = [int(e["notification_id"]) for e in events]
            assert verdict["intact"] is True and verdict["scope"] == selection.scope
            assert verdict["events_exported"] == verdict["events_proven"] == len(events) > 0
            assert verdict["positions"] == {"first": positions[0], "last": positions[-1]}
            assert verdict["chain_walked"] == {"from": 1, "to": positions[-1]}
            assert "250.00" in answer.text
    assert get(api, api.world.auditor, "/ledger/export", format="xml").status_code == 400


def test_only_auditors_export_and_a_hidden_contract_answers_as_a_missing_one(api: Api, contract: Any) -> None:
    w = api.world
    missing = "00000000-0000-4000-8000-000000000000"
    on_it, off_it = w.aga_admin, w.other_aga_admin
    for path in (f"/contracts/{contract}/export", f"/parties/{w.advisor}/export", "/ledger/export"):
        for actor in (on_it, w.producer, w.peer):
            refused = get(api, actor, path)
            assert (refused.status_code, refused.json["code"]) == (403, "export.auditors_only"), (path, actor)
    hidden = get(api, off_it, f"/contracts/{contract}/export")
    absent = get(api, off_it, f"/contracts/{missing}/export")
    read = api.client.simulate_get(f"/contracts/{contract}", headers=api.as_(off_it))
    assert hidden.status_code == absent.status_code == read.status_code == 404
    assert hidden.json == absent.json == read.json
    assert get(api, w.auditor, f"/contracts/{missing}/export").json == absent.json
    assert get(api, off_it, f"/parties/{w.advisor}/export").json["code"] == "export.auditors_only"
    assert get(api, w.auditor, f"/parties/{missing}/export").json["code"] == "party.not_found"
    assert get(api, w.auditor, f"/parties/{contract}/export").json["code"] == "party.not_found"


def test_an_export_cut_off_holds_no_verdict(api: Api, contract: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder_class = type(api.config.ledger.recorder)
    read = recorder_class.chained_events

    def lost_after_five(self: Any) -> Any:
        for count, stored in enumerate(read(self)):
            if count == 5:
                raise ConnectionError("the connection to the store was lost")
            yield stored

    monkeypatch.setattr(recorder_class, "chained_events", lost_after_five)
    monkeypatch.setattr(audit_export, "text_of", _in_small_pieces(audit_export.text_of))
    for form in audit_export.FORMATS:
        # as a WSGI server runs the app: the 200 and its first pieces are sent before the failure
        environ = falcon.testing.create_environ(
            "/ledger/export", query_string=f"format={form}", headers=api.as_(api.world.auditor)
        )
        started: list[str] = []
        body = api.client.app(environ, lambda status, headers, *exc: started.append(status))
        sent: list[bytes] = []
        with pytest.raises(ConnectionError):
            for piece in body:
                sent.append(piece)
        assert started == ["200 OK"]
        text = b"".join(sent).decode()
        # the server cannot take back the 200: it ends the connection there, before the stream's end,
        # and what reached the client holds rows and no verdict
        assert text.count("\n") >= 5
        assert "verdict" not in text.lower() and audit_export.VERDICT_EVENT not in text


def _in_small_pieces(text_of: Any) -> Any:
    def pieces(form: str, rows: Any, verdict: Any, chunk: int = 1 << 16) -> Any:
        return text_of(form, rows, verdict, chunk=1)  # each row is sent as soon as it is written

    return pieces


def test_the_exports_are_in_the_api_document(api: Api) -> None:
    document = api.client.simulate_get("/openapi.json").json
    for path, parameter in (("/contracts/{contract_id}/export", "contract_id"), ("/parties/{party_id}/export", "party_id"),
                            ("/ledger/export", None)):
        operation = document["paths"][path]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert "format" in names and (parameter is None or parameter in names)
        assert set(operation["responses"]["200"]["content"]) == {"application/jsonl", "text/csv"}
        assert {"403", "404"} <= set(operation["responses"])
