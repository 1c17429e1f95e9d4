"""Status-change rules (rules §3 and 4): what may follow what.

The onboarding workflow moves contracts through pending_agency,
pending_producer and pending_carrier; nobody sets those by hand. Admins set
the manual statuses. Terminal statuses are final.
"""

from __future__ import annotations

from enum import Enum

from contractledger.domain.actor import Role
from contractledger.domain.errors import InvalidInput, RuleBroken
from contractledger.domain.status import MANUAL, PENDING, TERMINAL, WORKFLOW, Status
from contractledger.domain.vocabulary import Vocabulary


class WorkflowStep(Enum):
    """An onboarding step: the status it starts from, the one it leads to, and
    who takes it (the producer signs; the agency admin sends and reviews)."""

    SEND_TO_PRODUCER = ("send_to_producer", Status.PENDING_AGENCY, Status.PENDING_PRODUCER, Role.AGENCY_ADMIN)
    SUBMIT_BY_PRODUCER = ("submit_by_producer", Status.PENDING_PRODUCER, Status.PENDING_AGENCY, Role.PRODUCER)
    RETURN_TO_PRODUCER = ("return_to_producer", Status.PENDING_AGENCY, Status.PENDING_PRODUCER, Role.AGENCY_ADMIN)
    SUBMIT_TO_CARRIER = ("submit_to_carrier", Status.PENDING_AGENCY, Status.PENDING_CARRIER, Role.AGENCY_ADMIN)

    def __init__(self, action: str, starts_from: Status, leads_to: Status, taken_by: Role) -> None:
        self.action = action
        self.starts_from = starts_from
        self.leads_to = leads_to
        self.taken_by = taken_by

    @classmethod
    def named(cls, action: str) -> "WorkflowStep | None":
        return next((step for step in cls if step.action == action), None)


# Moving these back into the workflow would nullify it (the source system's
# documented limitation): we refuse and point to the explicit nullify action.
NULLIFYING_ORIGINS = frozenset({Status.PENDING_CARRIER, Status.ACTIVE, Status.WITHDRAWN})

INITIALLY_FILLED_BY = Vocabulary(
    "InitiallyFilledBy",
    "Who fills a new bundle's contracts first: the producer (they start pending_producer) or the agency admin "
    "(pending_agency).",
    ("producer", "agency_admin"),
)
INITIAL_STATUS = dict(zip(INITIALLY_FILLED_BY, (Status.PENDING_PRODUCER, Status.PENDING_AGENCY)))


def initial_status(initially_filled_by: str) -> Status:
    try:
        return INITIAL_STATUS[initially_filled_by]
    except KeyError:
        raise InvalidInput(
            "contract.assign.initially_filled_by",
            "Say who fills the contracts first: 'producer' or 'agency_admin'.",
            "initially_filled_by",
        ) from None


def ensure_not_terminal(status: Status) -> None:
    if status in TERMINAL:
        raise RuleBroken(
            "contract.status.terminal",
            f"A {status.value} contract accepts no further change; assign a new contract instead.",
        )


def ensure_step_applies(status: Status, step: WorkflowStep) -> None:
    ensure_not_terminal(status)
    if status is not step.starts_from:
        raise RuleBroken(
            f"contract.{step.action}.wrong_status",
            f"This step applies to {step.starts_from.value} contracts; this one is {status.value}.",
        )


def parse_status(value: str | Status, field: str = "status") -> Status:
    try:
        return Status(value)
    except ValueError:
        raise InvalidInput("contract.status.unknown", f"'{value}' is not a status of the ledger; use one of rules §3.", field) from None


def ensure_manual_change(current: Status, target: Status) -> None:
    """rules §4: the rules of a status change made by hand."""
    if target in (Status.PENDING_AGENCY, Status.PENDING_PRODUCER) and current in NULLIFYING_ORIGINS:
        raise RuleBroken(
            "contract.status.would_nullify",
            "Moving this contract back to a pending-with-agency or pending-with-producer status would nullify "
            "the workflow; nullify it explicitly and assign a new contract instead.",
            "status",
        )
    ensure_not_terminal(current)
    if target in WORKFLOW:
        raise RuleBroken(
            "contract.status.workflow_only",
            f"{target.value} is set by the onboarding workflow only; use the workflow step instead.",
            "status",
        )
    if target not in MANUAL:
        raise RuleBroken(
            "contract.status.not_manual",
            f"{target.value} is reached by its own action (transfer, downgrade, vest, terminate, "
            "consolidate, nullify), not by a status change; use that action.",
            "status",
        )
    if current is Status.ACTIVE and target not in TERMINAL:
        raise RuleBroken(
            "contract.status.active_to_terminal_only",
            "An active contract changes status only to a terminal one; use a lifecycle action "
            "(downgrade, vest, terminate, transfer) instead.",
            "status",
        )
    if current not in PENDING and current is not Status.ACTIVE:
        raise RuleBroken(
            "contract.status.lifecycle",
            f"A {current.value} contract leaves that status by its lifecycle action (upgrade, reactivate, "
            "rescind or deny), not by a status change.",
            "status",
        )
    if current is target:
        raise RuleBroken("contract.status.unchanged", f"The contract is already {target.value}; nothing to do.", "status")


def ensure_may_nullify(current: Status) -> None:
    ensure_not_terminal(current)
    if current not in PENDING and current is not Status.ACTIVE:
        raise RuleBroken(
            "contract.nullify.established",
            f"A {current.value} contract is ended by its lifecycle actions; terminate it instead of nullifying.",
        )

