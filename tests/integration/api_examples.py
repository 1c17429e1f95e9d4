"""The API document's examples, recorded: one scripted scenario calls every
operation of the API once, as the principals of the test world, against the
real app over a real ledger with its views runner, and keeps each request
(path and query parameters, body) with its answer (status, media type, body)
under the operation's id. ``http/api_examples.json`` is that record, and
``http/openapi.py`` puts it in the document.

Regenerate it after changing a route or an answer (on SQLite; the replay
test, ``tests/integration/test_api_examples.py``, runs the scenario again on
both stores and fails when an answer differs from the record)::

    scripts/record-api-examples

The record is stable: the clock starts at a fixed instant and moves only
when the scenario moves it, and the ids the ledger makes come from a seeded
sequence (:func:`steady_ids`). A few answers are kept in part, as the
scenario says where (:data:`EXCERPTS`): the document itself (its head), the
page of every problem code (its first codes), a style sheet (its first
characters), the metrics (their help lines), and the whole ledger's export
(its first lines and its verdict).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.http.openapi import EXAMPLES_FILE  # noqa: E402
from contractledger.sync import delivery_state  # noqa: E402
from contractledger.sync.delivery_state import Pending  # noqa: E402

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
MANAGE = Actor(Role.SYNC_PEER, "manage")
LETTER = {
    "name": "termination-letter.pdf",
    "media_type": "application/pdf",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "location": "s3://contracting-documents/termination-letter.pdf",
}


def _head(document: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": document["openapi"], "info": {key: document["info"][key] for key in ("title", "version")}}


def _first_codes(page: str) -> str:
    ends = [i for i in range(len(page)) if page.startswith("</dd>", i)][:3]
    return page[: ends[-1] + len("</dd>")]


def _first_characters(text: str) -> str:
    return text[:400]


def _help_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith("# HELP contractledger_http"))


def _first_lines_and_verdict(text: str) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:3] + lines[-1:])


EXCERPTS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "openapi": ("its head: the OpenAPI version, the API's title and version", _head),
    "problem_codes": ("its head and its first three codes", _first_codes),
    "reference_asset": ("its first 400 characters", _first_characters),
    "metrics": ("its help lines of the HTTP series", _help_lines),
    "export_ledger_history": ("its first three lines and its last, the verdict", _first_lines_and_verdict),
}
"""The answers kept in part, by operation: what is kept, and how."""


@contextmanager
def steady_ids(seed: str = "contractledger api examples") -> Iterator[None]:
    """Every id our modules make with ``uuid4`` comes from one seeded sequence while this lasts."""
    sequence = random.Random(seed)

    def steady_uuid4() -> UUID:
        return UUID(int=sequence.getrandbits(128), version=4)

    patched = [
        module for name, module in list(sys.modules.items())
        if name.startswith("contractledger.") and getattr(module, "uuid4", None) is uuid.uuid4
    ]
    for module in patched:
        module.uuid4 = steady_uuid4  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in patched:
            module.uuid4 = uuid.uuid4  # type: ignore[attr-defined]


class Recorder:
    """Calls operations through the app and keeps the first call of each."""

    def __init__(self, api: Api) -> None:
        self.api = api
        document = api.client.simulate_get("/openapi.json").json
        self.operations = {
            (path, method.upper()): (operation["operationId"], operation["responses"])
            for path, item in document["paths"].items()
            for method, operation in item.items()
        }
        self.examples: dict[str, Any] = {}
        self.position = 0
        """The ledger position of the last command's answer, for a read to wait for."""

    def __call__(
        self,
        method: str,
        template: str,
        actor: Actor | None,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
        refused: int | None = None,
    ) -> Any:
        """The answer's body; ``refused`` is the status of a route that only refuses."""
        operation_id, responses = self.operations[(template, method)]
        assert operation_id not in self.examples, f"{operation_id} is called twice"
        path = {name: str(value) for name, value in (path or {}).items()}
        # as the document types them (a limit is a number), sent as text
        query = {name: value if isinstance(value, (bool, int)) else str(value) for name, value in (query or {}).items()}
        if method == "GET":
            self.api.caught_up()
        answer = self.api.client.simulate_request(
            method,
            template.format(**path),
            headers=self.api.as_(actor) if actor is not None else {},
            params={name: str(value).lower() if isinstance(value, bool) else str(value) for name, value in query.items()},
            json=body,
        )
        success = [status for status in responses if status.startswith("2")]
        expected = [str(refused)] if refused is not None else success
        assert str(answer.status_code) in expected, (operation_id, answer.status_code, answer.text[:2000])
        self.position = int(answer.headers.get("Ledger-Position", self.position))
        media_type = answer.headers.get("Content-Type", "").split(";")[0].strip()
        content = answer.json if media_type.endswith("json") else answer.text
        kept = content
        recorded_answer: dict[str, Any] = {"status": answer.status_code, "media_type": media_type}
        if operation_id in EXCERPTS:
            what, excerpt = EXCERPTS[operation_id]
            kept = excerpt(content)
            recorded_answer["excerpt"] = what
        request: dict[str, Any] = {"by": actor.role.value if actor is not None else None}
        if path:
            request["path"] = path
        if query:
            request["query"] = query
        if body is not None:
            request["body"] = body
        self.examples[operation_id] = {"request": request, "answer": {**recorded_answer, "body": kept}}
        return content


def record(tmp_path: Path, store: str = "sqlite") -> dict[str, Any]:
    """The scenario on a fresh ledger of ``store``: every operation's example, by operation id."""
    with steady_ids():
        for api in running_api(tmp_path, store, start=START):
            return Scenario(api).run()
    raise AssertionError("the app did not start")  # pragma: no cover


class Scenario:
    """The test world's principals call every operation once, in an order where each may."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.w = api.world
        self.call = Recorder(api)
        self.contract = ""
        """The contract the scenario follows through its life (assigned by the first bundle)."""

    def run(self) -> dict[str, Any]:
        for step in (self.parties, self.contract_life, self.oversight, self.transfers_and_lifecycle, self.bundles,
                     self.sync, self.exports_and_operations):
            step()
        return dict(sorted(self.call.examples.items()))

    def parties(self) -> None:
        call, w = self.call, self.w
        call("POST", "/parties", w.aga_admin, body={
            "kind": "advisor",
            "profile": {"name": "Katherine Johnson", "identifiers": {"npn": "17654321"}},
            "advisor_kind": "individual",
        })
        call("GET", "/parties", w.auditor, query={"kind": "advisor", "limit": 2})
        call("POST", "/parties/{party_id}/change-profile", w.producer, path={"party_id": w.advisor},
             body={"changes": {"name": "Ada King"}})
        call("GET", "/parties/{party_id}", w.aga_admin, path={"party_id": w.advisor}, query={"on": w.today})
        call("POST", "/parties/{party_id}/associate", w.second_producer, path={"party_id": w.second_advisor},
             body={"corporation_id": str(w.corporation)})
        call("GET", "/parties/{party_id}/associations", w.second_producer, path={"party_id": w.second_advisor},
             query={"limit": 10})
        call("POST", "/parties/{party_id}/dissociate", w.second_producer, path={"party_id": w.second_advisor},
             body={"corporation_id": str(w.corporation)})
        call("POST", "/trigger-settings", w.aga_admin, body={"kinds": ["contract_assigned", "status_changed"]})
        call("GET", "/trigger-settings", w.aga_admin, query={"wait_for": call.position})
        call("POST", "/direct-relationships", w.other_aga_admin,
             body={"upper_id": str(w.carrier), "lower_id": str(w.other_aga)})
        call("GET", "/direct-relationships", w.auditor, query={"party_id": w.other_aga})

    def contract_life(self) -> None:
        call, w = self.call, self.w
        assigned = call("POST", "/bundles", w.aga_admin, body={
            "chains": [[str(p) for p in w.chain()]], "initially_filled_by": "agency_admin",
        })
        (contract,) = assigned["contract_ids"]
        self.contract = contract
        on = {"contract_id": contract}
        call("GET", "/bundles", w.aga_admin, query={"limit": 10})
        call("GET", "/bundles/{bundle_id}", w.aga_admin, path={"bundle_id": assigned["bundle_id"]},
             query={"wait_for": call.position})
        call("POST", "/contracts/{contract_id}/send-to-producer", w.aga_admin, path=on, body={})
        call("POST", "/contracts/{contract_id}/submit-by-producer", w.producer, path=on, body={})
        call("POST", "/contracts/{contract_id}/return-to-producer", w.aga_admin, path=on,
             body={"effective_on": str(w.today)})
        w.ledger.submit_by_producer(w.producer, UUID(contract))
        call("POST", "/contracts/{contract_id}/submit-to-carrier", w.aga_admin, path=on, body={})
        call("POST", "/contracts/{contract_id}/set-manual-status", w.carrier_staff, path=on, body={"status": "active"})
        call("POST", "/contracts/{contract_id}/add-writing-number", w.carrier_staff, path=on,
             body={"writing_number": "WN-1001"})
        call("POST", "/contracts/{contract_id}/change-writing-number", w.carrier_staff, path=on,
             body={"old_writing_number": "WN-1001", "new_writing_number": "WN-1002"})
        call("POST", "/contracts/{contract_id}/add-contract-code", w.carrier_staff, path=on, body={"code": "LIFE-A"})
        call("POST", "/contracts/{contract_id}/rename-contract-code", w.carrier_staff, path=on,
             body={"old_code": "LIFE-A", "new_code": "LIFE-B"})
        call("POST", "/contracts/{contract_id}/set-contract-code-status", w.carrier_staff, path=on,
             body={"code": "LIFE-B", "status": "inactive"})
        call("GET", "/contracts/{contract_id}", w.aga_admin, path=on, query={"on": w.today})
        call("GET", "/contracts", w.auditor, query={"advisor_id": w.advisor, "limit": 5})
        call("GET", "/contracts/{contract_id}/history", w.auditor, path=on, query={"limit": 3})
        call("GET", "/dashboard/counts", w.aga_admin, query={"by": "status", "wait_for": call.position})
        call("GET", "/dashboard/waiting", w.aga_admin, query={"status": "active", "longer_than_days": 0})

    def oversight(self) -> None:
        call, w = self.call, self.w
        on = {"contract_id": self.contract}
        placed = call("POST", "/contracts/{contract_id}/monitoring", w.mga_admin, path=on, body={
            "level": 3, "reason": "Sales", "effective_on": str(w.today), "reminder_on": str(w.in_days(3)),
        })
        monitoring = {"record_id": placed["record_id"]}
        call("POST", "/monitoring/{record_id}/change", w.mga_admin, path=monitoring,
             body={"reminder_on": str(w.in_days(4))})
        call("GET", "/monitoring", w.mga_admin, query={"contract_id": self.contract})
        call("GET", "/monitoring/{record_id}", w.mga_admin, path=monitoring, query={"wait_for": call.position})
        logged = call("POST", "/contracts/{contract_id}/debts", w.mga_admin, path=on, body={
            "amount": "250.00", "effective_on": str(w.today), "reminder_on": str(w.in_days(5)),
            "description": "Chargeback on policy 88-1203",
        })
        debt = {"record_id": logged["record_id"]}
        call("POST", "/debts/{record_id}/change", w.mga_admin, path=debt, body={"amount": "200.00"})
        w.days_later(5)
        call("POST", "/debts/{record_id}/make-public", w.mga_admin, path=debt, body={})
        call("GET", "/debts", w.mga_admin, query={"contract_id": self.contract})
        call("GET", "/debts/{record_id}", w.mga_admin, path=debt, query={"wait_for": call.position})
        call("GET", "/parties/{party_id}/health", w.aga_admin, path={"party_id": w.advisor}, query={"on": w.today})
        call("GET", "/health-statuses", w.auditor, query={"limit": 2})
        call("GET", "/tasks", w.mga_admin, query={"due_by": w.today})
        call("POST", "/reminder-tasks/{record_id}/close", w.mga_admin, path=monitoring, body={})
        call("POST", "/debts/{record_id}/close", w.mga_admin, path=debt, body={})
        call("DELETE", "/debts/{record_id}", w.mga_admin, path=debt, refused=422)
        call("POST", "/monitoring/{record_id}/remove", w.mga_admin, path=monitoring, body={})
        call("GET", "/notifications", w.aga_admin, query={"limit": 3})

    def transfers_and_lifecycle(self) -> None:
        call, w = self.call, self.w
        on = {"contract_id": self.contract}
        call("POST", "/contracts/{contract_id}/downgrade", w.carrier_staff, path=on, body={"reason": "Low production"})
        call("GET", "/advisors/{advisor_id}/downgrades", w.other_aga_admin, path={"advisor_id": w.advisor},
             query={"on": w.today, "limit": 10})
        call("POST", "/contracts/{contract_id}/upgrade", w.carrier_staff, path=on, body={"note": "Production is back."})
        call("POST", "/contracts/{contract_id}/vest", w.carrier_staff, path=on, body={"reason": "Vested after 10 years"})
        w.ledger.upgrade(w.carrier_staff, UUID(self.contract))
        call("POST", "/contracts/{contract_id}/terminate", w.carrier_staff, path=on,
             body={"reason": "Retired", "documents": [LETTER]})
        call("POST", "/contracts/{contract_id}/reactivate", w.aga_admin, path=on, body={})

        moving = w.active_contract()
        on = {"contract_id": moving}
        transfer = {"relinquishing_entity_id": str(w.aga), "accepting_entity_id": str(w.other_aga)}
        call("POST", "/contracts/{contract_id}/request-transfer", w.producer, path=on,
             body={**transfer, "note": "Moving to Lighthouse"})
        listed = call("GET", "/transfer-requests", w.other_aga_admin, query={"state": "requested"})
        call("GET", "/transfer-requests/{request_id}", w.other_aga_admin,
             path={"request_id": listed["items"][0]["request_id"]}, query={"wait_for": call.position})
        call("POST", "/contracts/{contract_id}/rescind-transfer", w.producer, path=on, body={})
        w.ledger.request_transfer(w.producer, moving, w.aga, w.other_aga)
        call("POST", "/contracts/{contract_id}/deny-transfer", w.other_aga_admin, path=on, body={"note": "Not now"})
        w.ledger.request_transfer(w.producer, moving, w.aga, w.other_aga)
        call("POST", "/contracts/{contract_id}/accept-transfer", w.other_aga_admin, path=on,
             body={"option": "third_party", "third_party_id": str(w.mga)})

        folded, target = w.active_contract(), w.active_contract()
        call("POST", "/contracts/{contract_id}/consolidate", w.carrier_staff, path={"contract_id": folded},
             body={"target_id": str(target), "code_handling": "merge"})
        (abandoned,) = w.assign()
        call("POST", "/contracts/{contract_id}/nullify", w.aga_admin, path={"contract_id": abandoned},
             body={"note": "Assigned to the wrong advisor."})

    def bundles(self) -> None:
        call, w = self.call, self.w
        first, _ = w.assign(w.chain(), w.chain(aga=w.other_aga), by=w.mga_admin)
        call("POST", "/contracts/{contract_id}/detach-from-bundle", w.mga_admin, path={"contract_id": first}, body={})
        w.ledger.send_to_producer(w.mga_admin, first)
        call("GET", "/mixed-bundles", w.auditor, query={"limit": 10})

    def sync(self) -> None:
        api, call, w = self.api, self.call, self.w
        contract = self.contract
        feed = call("GET", "/sync/{peer}/feed", MANAGE, path={"peer": "manage"}, query={"after": 0, "limit": 2})
        call("POST", "/sync/{peer}/ack", MANAGE, path={"peer": "manage"}, body={"position": feed["next_after"]})
        call("POST", "/sync/{peer}/links", MANAGE, path={"peer": "manage"},
             body={"contract_id": contract, "external_id": "M-1001"})
        version = w.ledger.get_contract(UUID(contract)).version
        call("POST", "/sync/{peer}/changes", MANAGE, path={"peer": "manage"}, body={
            "change_id": "manage-7731", "external_id": "M-1001", "seen_version": version,
            "change": {"kind": "writing_number_added", "writing_number": "WN-2001"},
        })
        call("POST", "/sync/{peer}/reconcile", MANAGE, path={"peer": "manage"}, body={"contracts": [
            {"external_id": "M-1001", "status": "Approved", "writing_numbers": ["WN-1002"]},
        ]})
        # what the delivery worker writes when it gives up on an item (its endpoint kept failing), and later
        # when the endpoint answers 410 Gone: written here as it writes them, without running it
        item = feed["items"][0]
        delivery_state.ensure_schema(api.config.views)
        pending = Pending("manage", feed["next_after"], item["id"], item["subject"], json.dumps(item), 0, None)
        delivery_state.give_up(api.config.views, pending, "503 Service Unavailable", w.clock.now().isoformat())
        call("GET", "/sync/{peer}/dead-letters", w.operator, path={"peer": "manage"}, query={"limit": 10})
        call("POST", "/sync/{peer}/dead-letters/replay", w.operator, path={"peer": "manage"},
             body={"item_ids": [item["id"]]})
        delivery_state.pause(api.config.views, "manage", "410 Gone", w.clock.now().isoformat())
        call("POST", "/sync/{peer}/resume", w.operator, path={"peer": "manage"}, body={})

    def exports_and_operations(self) -> None:
        call, w = self.call, self.w
        call("GET", "/contracts/{contract_id}/export", w.auditor, path={"contract_id": self.contract},
             query={"format": "jsonl"})
        call("GET", "/parties/{party_id}/export", w.auditor, path={"party_id": w.second_advisor}, query={"format": "csv"})
        call("GET", "/ledger/export", w.auditor, query={"format": "jsonl"})
        call("GET", "/health", None)
        call("GET", "/ready", w.operator)
        call("GET", "/metrics", w.operator)
        call("GET", "/openapi.json", None)
        call("GET", "/problems", None)
        call("GET", "/problems/{code}", None, path={"code": "bundle.detach_first"})
        call("GET", "/reference", None)
        call("GET", "/reference/assets/{asset}", None, path={"asset": "swagger-ui.css"})


def write(examples: dict[str, Any], to: Path = EXAMPLES_FILE) -> None:
    to.write_text(json.dumps(examples, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(
        prog="scripts/record-api-examples",
        description="Record an example request and answer for every API operation into http/api_examples.json: "
        "a scripted scenario calls each operation once against the real app on a fresh SQLite ledger. Run it "
        "after changing a route or an answer, and commit the file.",
        epilog="exit status: 0 when every operation was recorded",
    ).parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        examples = record(Path(folder))
    write(examples)
    print(f"{len(examples)} operations' examples recorded in {EXAMPLES_FILE}")


if __name__ == "__main__":
    main()
