"""Security over a real socket: every refused request is answered correctly
and changes nothing in the store (the ledger's newest position is the same
before and after)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from served import Answer, Server  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[dict[str, Any]]:
    server = Server(tmp_path_factory.mktemp("security"), store=store)
    peer = server.token(Actor(Role.SYNC_PEER, "manage"))
    operator = server.token(Actor(Role.OPERATOR, "olive"))

    def register(token: str, kind: str, name: str, **options: str) -> str:
        body = {"kind": kind, "profile": {"name": name}, **options}
        answer = server.request("POST", "/parties", token, body)
        assert answer.status == 201, (answer.status, answer.body, kind, name)
        return answer.json["party_id"]

    carrier, mga = register(operator, "carrier", "Northern Life"), register(operator, "agency", "Summit MGA", level="MGA")
    admin = server.token(Actor(Role.AGENCY_ADMIN, "mike", UUID(mga)))
    advisor = register(admin, "advisor", "Ada", advisor_kind="individual")
    stranger = register(admin, "advisor", "Grace", advisor_kind="individual")
    relationship = server.request("POST", "/direct-relationships", peer, {"upper_id": carrier, "lower_id": mga}).json
    server.request("POST", f"/contracts/{relationship['contract_id']}/set-manual-status", peer, {"status": "active"})
    assigned = server.request("POST", "/bundles", admin, {"chains": [[carrier, mga, advisor]], "initially_filled_by": "agency_admin"})
    try:
        yield {
            "server": server,
            "admin": admin,
            "stranger": server.token(Actor(Role.PRODUCER, "grace", UUID(stranger))),
            "auditor": server.token(Actor(Role.AUDITOR, "audrey")),
            "operator": operator,
            "contract": assigned.json["contract_ids"][0],
            "position": assigned.headers["Ledger-Position"],
        }
    finally:
        assert server.stop() == 0


def unchanged(served: dict[str, Any], request: Any) -> Answer:
    server: Server = served["server"]
    before = server.position()
    answer = request(server)
    assert server.position() == before
    assert b"Traceback" not in answer.body
    return answer


def step(contract: str) -> str:
    return f"/contracts/{contract}/send-to-producer"


def test_no_token_is_401_with_a_bearer_challenge(served: dict[str, Any]) -> None:
    answer = unchanged(served, lambda s: s.request("POST", step(served["contract"]), None, {}))
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json["code"] == "auth.token_required"


def test_a_made_up_token_is_401(served: dict[str, Any]) -> None:
    answer = unchanged(served, lambda s: s.request("POST", step(served["contract"]), "clt_made-up", {}))
    assert answer.status == 401 and 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_an_expired_token_is_401(served: dict[str, Any]) -> None:
    server: Server = served["server"]
    expiring = server.token(Actor(Role.AUDITOR, "audrey"), timedelta(seconds=1))
    time.sleep(1.2)
    answer = unchanged(served, lambda s: s.request("GET", "/contracts", expiring))
    assert answer.status == 401 and "expired" in answer.json["detail"]


def test_a_revoked_token_is_401(served: dict[str, Any]) -> None:
    server: Server = served["server"]
    issued = server.tokens.issue(Actor(Role.AUDITOR, "gone"), timedelta(days=1))
    server.tokens.revoke(issued.token_id)
    answer = unchanged(served, lambda s: s.request("GET", "/contracts", issued.secret))
    assert answer.status == 401 and "revoked" in answer.json["detail"]


def test_another_partys_token_finds_nothing_and_changes_nothing(served: dict[str, Any]) -> None:
    contract = served["contract"]
    acted = unchanged(served, lambda s: s.request("POST", step(contract), served["stranger"], {}))
    read = unchanged(served, lambda s: s.request("GET", f"/contracts/{contract}?wait_for={served['position']}", served["stranger"]))
    missing = unchanged(served, lambda s: s.request("GET", f"/contracts/{UUID(int=7)}", served["stranger"]))
    assert acted.status == read.status == missing.status == 404
    assert read.json["code"] == missing.json["code"]


def test_an_auditor_reads_but_may_not_write(served: dict[str, Any]) -> None:
    contract = served["contract"]
    answer = unchanged(served, lambda s: s.request("POST", step(contract), served["auditor"], {}))
    assert answer.status == 403 and answer.json["code"] == "actor.auditor_read_only"
    assert unchanged(served, lambda s: s.request("GET", f"/contracts/{contract}?wait_for={served['position']}", served["auditor"])).status == 200


@pytest.mark.parametrize(
    "as_of, status, code",
    [
        ("2026-01-01T00:00:00", 400, "query.invalid_parameter"),  # no time zone: which instant?
        ("yesterday", 400, "query.invalid_parameter"),
        ("2199-01-01T00:00:00Z", 422, "query.as_of_in_the_future"),
        ("2999-01-01T00:00:00Z", 400, "query.invalid_parameter"),  # beyond the ledger's range of instants (rules §10)
    ],
)
def test_a_forged_as_of_is_refused(served: dict[str, Any], as_of: str, status: int, code: str) -> None:
    contract = served["contract"]
    answer = unchanged(served, lambda s: s.request("GET", f"/contracts/{contract}?as_of={as_of}", served["admin"]))
    assert answer.status == status and answer.json["code"] == code


def test_as_of_does_not_open_a_contract_to_a_party_not_on_it(served: dict[str, Any]) -> None:
    contract = served["contract"]
    answer = unchanged(
        served, lambda s: s.request("GET", f"/contracts/{contract}/history?as_of=2030-01-01T00:00:00Z", served["stranger"])
    )
    assert answer.status in (404, 422)
    answer = unchanged(
        served, lambda s: s.request("GET", f"/contracts/{contract}/history?as_of=2001-01-01T00:00:00Z", served["stranger"])
    )
    assert answer.status == 404


def test_an_oversized_body_is_413(served: dict[str, Any]) -> None:
    body = json.dumps({"note": "x" * 400_000}).encode()
    answer = unchanged(served, lambda s: s.request("POST", f"/contracts/{served['contract']}/nullify", served["admin"], raw=body))
    assert answer.status == 413


def test_a_deeply_nested_body_is_400(served: dict[str, Any]) -> None:
    body = b'{"note": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    answer = unchanged(served, lambda s: s.request("POST", f"/contracts/{served['contract']}/nullify", served["admin"], raw=body))
    assert answer.status == 400 and answer.json["code"] == "request.too_deeply_nested"


def test_a_request_id_is_honoured_and_echoed(served: dict[str, Any]) -> None:
    server: Server = served["server"]
    answer = server.request("GET", "/health", headers={"X-Request-ID": "trace-42"})
    assert answer.headers["X-Request-ID"] == "trace-42"
    assert len(server.request("GET", "/health").headers["X-Request-ID"]) == 32


def test_ready_and_metrics_answer_over_the_socket(served: dict[str, Any]) -> None:
    server: Server = served["server"]
    deadline = time.monotonic() + 20
    while (ready := server.request("GET", "/ready", served["auditor"])).status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ready.status == 200 and ready.json["views"]["contract_status"]["lag"] <= ready.json["max_lag"]
    server.request("GET", "/contracts", served["auditor"])
    metrics = server.request("GET", "/metrics", served["operator"]).body.decode()
    assert 'contractledger_http_requests_total{method="POST",route="/parties",status="201"} 4.0' in metrics
    assert 'contractledger_view_lag_events{view="contract_history"}' in metrics
    assert "# TYPE contractledger_sync_backlog_items gauge" in metrics
