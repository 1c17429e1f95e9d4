"""The walk that finds the problem codes a use case can raise
(http/raised_codes.py), and the use cases each command says it runs."""

from __future__ import annotations

import types
from typing import Any

import pytest
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


def _names_called(function: Any) -> set[str]:
    """Every name the function's code uses, through the lambdas and functions it closes over or calls."""
    names: set[str] = set()
    todo = [function]
    while todo:
        item = todo.pop()
        code = item.__code__ if isinstance(item, types.FunctionType) else item
        names |= set(code.co_names)
        todo += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        if isinstance(item, types.FunctionType):
            todo += [cell.cell_contents for cell in item.__closure__ or () if isinstance(cell.cell_contents, types.FunctionType)]
            names |= {cell.cell_contents for cell in item.__closure__ or () if isinstance(cell.cell_contents, str)}
            todo += [item.__globals__[n] for n in code.co_names if isinstance(item.__globals__.get(n), types.FunctionType)
                     and item.__globals__[n].__module__.startswith("contractledger.http")]
    return names


def test_every_command_names_the_ledger_methods_it_runs() -> None:
    for command in COMMANDS:
        use_cases = command.operation().use_cases
        assert use_cases and all(callable(getattr(ContractLedger, name, None)) for name in use_cases), command.operation_id
        called = {name for name in _names_called(command.run) if callable(getattr(ContractLedger, name, None))}
        assert called - {"get_contract"} <= set(use_cases), (command.operation_id, called)
        assert set(use_cases) <= called, (command.operation_id, called)
