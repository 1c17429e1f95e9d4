"""A client developer's first hour: generate a client from the served API
document with a real generator (openapi-python-client), and call the API
through it, as an operator, a sync peer and an auditor, on each store.

The generator refuses what it cannot model (two schemas of one name, an
unresolved reference, a vocabulary it cannot type) with a warning and drops
the pieces; the test asks for none. The calls go over the server's socket,
and the answers come back as the generated models: typed ids, enums and
the problem document of a refusal.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from served import Server  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


class Generated:
    """The generated package of one store's served document, and a server to call."""

    def __init__(self, server: Server, package: str, directory: Path) -> None:
        self.server = server
        document = server.request("GET", "/openapi.json")
        assert document.status == 200
        (directory / "openapi.json").write_bytes(document.body)
        (directory / "generator.json").write_text(json.dumps({"post_hooks": []}))  # no formatter to run
        made = subprocess.run(
            [
                str(GENERATOR), "generate", "--path", "openapi.json", "--output-path", package,
                "--meta", "none", "--config", "generator.json",
            ],
            cwd=directory, capture_output=True, text=True, timeout=300,
        )
        said = made.stdout + made.stderr
        assert made.returncode == 0, said
        assert "Warning" not in said and "Unable" not in said, said  # every schema and operation made it
        sys.path.insert(0, str(directory))
        self.package = package

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def client(self, actor: Actor) -> Any:
        return self.module("client").AuthenticatedClient(
            base_url=f"http://127.0.0.1:{self.server.port}", token=self.server.token(actor), raise_on_unexpected_status=True
        )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Generated]:
    assert GENERATOR.exists(), "openapi-python-client is in the test extra (setup.cfg)"
    server = Server(tmp_path_factory.mktemp("served"), store=store)
    try:
        yield Generated(server, f"contractledger_client_{store}", tmp_path_factory.mktemp("generated"))
    finally:
        assert server.stop() == 0


def test_a_generated_client_registers_relates_and_reads_a_contract(generated: Generated) -> None:
    models = generated.module("models")
    register_party = generated.module("api.parties.register_party")
    establish = generated.module("api.contracts.establish_direct_relationship")
    contract = generated.module("api.contracts.contract")
    operator = generated.client(Actor(Role.OPERATOR, "olive"))

    def register(kind: str, name: str, **options: Any) -> UUID:
        body = models.RegisterParty(
            kind=models.PartyKind(kind), profile=models.RegisterPartyProfile.from_dict({"name": name}), **options
        )
        answer = register_party.sync_detailed(client=operator, body=body)
        assert answer.status_code == 201, answer.content
        assert isinstance(answer.parsed, models.PartyRegistered)
        return answer.parsed.party_id

    carrier = register("carrier", "Northern Life")
    agency = register("agency", "Summit MGA", level="MGA")
    assert isinstance(carrier, UUID) and carrier != agency

    peer = generated.client(Actor(Role.SYNC_PEER, "manage"))
    asked = establish.sync_detailed(
        client=peer, body=models.RequestDirectRelationship(upper_id=carrier, lower_id=agency), idempotency_key="relate-1"
    )
    assert asked.status_code == 201, asked.content
    relationship = asked.parsed.contract_id
    position = int(asked.headers["Ledger-Position"])

    auditor = generated.client(Actor(Role.AUDITOR, "audrey"))
    read = contract.sync_detailed(relationship, client=auditor, wait_for=position)
    assert read.status_code == 200, read.content
    status = read.parsed
    assert isinstance(status, models.ContractStatus)
    assert status.contract_id == relationship and status.chain == [carrier, agency]
    assert status.status == models.Status.PENDING_CARRIER  # the upper organisation approves it
    assert status.kind == models.ContractKind("direct_relationship")

    # a refusal comes back as the document's problem, its code stable
    missing = contract.sync_detailed(UUID(int=7), client=auditor)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.Problem) and missing.parsed.code == "contract.not_found"
