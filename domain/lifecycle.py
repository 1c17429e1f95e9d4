"""Rules for the lifecycle of an established contract (rules §5): downgrade, vest, upgrade."""

from __future__ import annotations

from contractledger.domain.errors import InvalidInput, RuleBroken
from contractledger.domain.status import ESTABLISHED_INACTIVE, Status
from contractledger.domain.workflow import ensure_not_terminal

PAST_TENSE = {"downgrade": "downgraded", "vest": "vested"}


def ensure_reason_given(reason: str, action: str) -> None:
    if not reason or not reason.strip():
        raise InvalidInput(f"contract.{action}.reason_required", f"Say why the contract is {PAST_TENSE[action]}; give a reason.", "reason")


def ensure_active_for(status: Status, action: str) -> None:
    ensure_not_terminal(status)
    if status is not Status.ACTIVE:
        raise RuleBroken(
            f"contract.{action}.not_active",
            f"Only an active contract can be {PAST_TENSE[action]}; "
            f"this one is {status.value}.",
        )


def ensure_upgradable(status: Status) -> None:
    ensure_not_terminal(status)
    if status not in ESTABLISHED_INACTIVE:
        raise RuleBroken(
            "contract.upgrade.not_inactive",
            f"Only a downgraded or vested contract can be upgraded; this one is {status.value}.",
        )
