"""Termination and reactivation rules (rules §5)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from contractledger.domain.documents import DocumentReference
from contractledger.domain.errors import InvalidInput, RuleBroken
from contractledger.domain.status import PENDING, Status
from contractledger.domain.vocabulary import Vocabulary

TERMINATION_REASONS = Vocabulary(
    "TerminationReason",
    "Why a contract is terminated: the fixed list a party chooses from.",
    (
        "Regulatory Enforcement",
        "Market Conduct",
        "Breach of Contract",
        "Licence Revoked",
        "Lack of Production",
        "Financial History/MGA Debt",
        "Business Decision",
        "Not Licensed/Expired E&O",
        "Retired",
        "Deceased",
        "Resigned",
    ),
)
TRANSFERRED = "Transferred"
CONSOLIDATED = "Consolidated"
SYSTEM_REASONS = Vocabulary(
    "SystemTerminationReason",
    "Termination reasons the ledger records itself (a transfer completed, a consolidation); no party chooses them.",
    (TRANSFERRED, CONSOLIDATED),
)

REACTIVATION_WINDOW = timedelta(days=30)

TERMINABLE = frozenset({Status.ACTIVE, Status.DOWNGRADED, Status.VESTED})


def ensure_termination_reason(reason: str) -> None:
    if reason in SYSTEM_REASONS:
        raise RuleBroken(
            "contract.terminate.system_reason",
            f"'{reason}' is recorded by the ledger itself when a contract is {reason.lower()}; "
            "choose a reason from the termination list.",
            "reason",
        )
    if reason not in TERMINATION_REASONS:
        raise InvalidInput(
            "contract.terminate.reason_unknown",
            f"Choose a termination reason from the list: {', '.join(TERMINATION_REASONS)}.",
            "reason",
        )


def ensure_termination_document(documents: Sequence[DocumentReference]) -> None:
    if not documents:
        raise InvalidInput(
            "contract.terminate.document_required",
            "A termination needs a supporting document; attach one.",
            "documents",
        )


def ensure_terminable(status: Status) -> None:
    if status in PENDING:
        raise RuleBroken(
            "contract.terminate.pending",
            "A pending contract cannot be terminated; decline it instead.",
        )
    if status is Status.TERMINATED:
        raise RuleBroken("contract.terminate.already_terminated", "The contract is already terminated; nothing to do.")
    if status is Status.TRANSFER_REQUESTED:
        raise RuleBroken(
            "contract.terminate.transfer_requested",
            "A transfer is under way; ask the accepting entity to deny it (or the advisor to rescind it) first.",
        )
    if status not in TERMINABLE:
        raise RuleBroken(
            "contract.status.terminal", f"A {status.value} contract accepts no further change; nothing to terminate."
        )


def ensure_reactivation_window(terminated_on: date, today: date) -> None:
    """Inclusive of day 30, counted in the ledger's business time zone."""
    if today > terminated_on + REACTIVATION_WINDOW:
        raise RuleBroken(
            "contract.reactivate.window_closed",
            f"A contract can be reactivated only within 30 days of its termination date ({terminated_on.isoformat()}); "
            "assign a new contract instead.",
        )
