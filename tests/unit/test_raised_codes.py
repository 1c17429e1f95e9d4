"""The walk that finds the problem codes a use case can raise
(http/raised_codes.py), and the use cases each command says it runs."""

from __future__ import annotations

import pytest
from contractledger.domain.command_handlers import HANDLERS
from contractledger.domain.ledger import ContractLedger
from contractledger.http.catalogue import COMMANDS
from contractledger.http.raised_codes import codes_raised_by


def test_the_walk_finds_the_rules_of_the_use_case_and_of_what_it_calls() -> None:
    terminate = codes_raised_by(["terminate"])
    # its own rules, the permissions it checks, and a code built from parts that names it
    assert {"contract.terminate.document_required", "contract.terminate.reason_unknown", "contract.admins_only",
            "actor.auditor_read_only", "contract.not_found", "command.id_reused"} <= terminate
    assert not {"contract.vest.not_active", "contract.downgrade.not_active", "debt.closed"} & terminate
    # f"{what}.party_required": the record's own, not the other kind's
    assert "monitoring.party_required" in codes_raised_by(["add_monitoring"])
    assert "debt.party_required" not in codes_raised_by(["add_monitoring"])
    # a peer's change reaches the sync rules and the ledger's
    assert {"sync.stale_version", "sync.step_not_relayed", "contract.writing_number.exists"} <= codes_raised_by(["apply_change"])
    # the domain never reaches up into sync (sync/inbound.py has a _run of its own)
    assert not {code for code in codes_raised_by(["set_manual_status"]) if code.startswith("sync.")}


def test_a_name_nothing_defines_is_refused() -> None:
    with pytest.raises(LookupError):
        codes_raised_by(["no_such_use_case"])


def test_every_command_names_the_ledger_methods_it_runs() -> None:
    for command in COMMANDS:
        use_cases = command.operation().use_cases
        assert use_cases and all(callable(getattr(ContractLedger, name, None)) for name in use_cases), command.operation_id
        assert use_cases == tuple(HANDLERS[c].use_case for c in command.commands), command.operation_id


def test_every_field_of_a_command_body_reaches_the_command() -> None:
    for command in COMMANDS:
        body_fields = set(command.body.__struct_fields__) if command.body is not None else set()
        flags = {flag for flag, _ in command.instead}
        for made in command.commands:
            taken = set(made.__struct_fields__) | flags
            assert body_fields <= taken, (command.operation_id, made.__name__, body_fields - taken)
