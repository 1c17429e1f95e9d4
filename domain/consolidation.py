"""Consolidation rules (rules §5): folding one contract into another after an acquisition."""

from __future__ import annotations

from contractledger.domain.actor import Actor
from contractledger.domain.contract import Contract
from contractledger.domain.errors import InvalidInput, NotPermitted, RuleBroken
from contractledger.domain.status import PENDING, TERMINAL, Status
from contractledger.domain.vocabulary import Vocabulary

COPY = "copy"
MERGE = "merge"
CODE_HANDLINGS = Vocabulary(
    "CodeHandling",
    "How a consolidation moves contract codes: copy carries every code over; merge makes codes with the same "
    "string one code.",
    (COPY, MERGE),
)


def ensure_code_handling(code_handling: str) -> None:
    if code_handling not in CODE_HANDLINGS:
        raise InvalidInput(
            "contract.consolidate.code_handling",
            "Say how the codes move: 'copy' (every code carried over) or 'merge' (same code string: one code).",
            "code_handling",
        )


def ensure_primary_owner_of_both(actor: Actor, source: Contract, target: Contract) -> None:
    if actor.party_id != source.primary_owner_id or actor.party_id != target.primary_owner_id:
        raise NotPermitted(
            "contract.consolidate.primary_owner_only",
            "Only the primary owner (the party at the top of both chains) may consolidate; ask them.",
        )


def ensure_consolidation_allowed(source: Contract, target: Contract) -> None:
    if source.id == target.id:
        raise RuleBroken(
            "contract.consolidate.into_itself", "A contract cannot be consolidated into itself; choose another target.", "target_id"
        )
    if source.is_direct_relationship or target.is_direct_relationship:
        raise RuleBroken(
            "contract.consolidate.advisor_contracts_only",
            "Only advisor contracts are consolidated; end a duplicate direct relationship by a status change.",
        )
    if target.status is Status.CONSOLIDATED:
        raise RuleBroken(
            "contract.consolidate.target_consolidated",
            "The target was itself consolidated away; consolidate into the contract it went into.",
            "target_id",
        )
    if target.status is not Status.ACTIVE:
        raise RuleBroken(
            "contract.consolidate.target_not_active",
            f"The target must be active; it is {target.status.value}. Choose an active contract.",
            "target_id",
        )
    if source.chain != target.chain:
        raise RuleBroken(
            "contract.consolidate.different_chains",
            "Both contracts must have the same chain (same carrier, agencies and advisor, same order); "
            "choose a contract with the same chain.",
            "target_id",
        )
    if source.status in TERMINAL:
        raise RuleBroken(
            "contract.status.terminal", f"A {source.status.value} contract accepts no further change; nothing to consolidate."
        )
    if source.status in PENDING:
        raise RuleBroken(
            "contract.consolidate.pending",
            "A pending contract is not consolidated; decline or withdraw it instead.",
        )
    if source.status is Status.TRANSFER_REQUESTED:
        raise RuleBroken(
            "contract.consolidate.transfer_requested",
            "A transfer is under way on this contract; let it be denied or rescinded first.",
        )


def codes_for_target(source: Contract, target: Contract, code_handling: str) -> list[dict[str, str]]:
    """The code entries the target receives.

    Copy carries every code over as its own entry, even where the target has
    the same string. Merge keeps one entry per code string: only strings new
    to the target are added, once each. Neither changes the status of a code
    the target already has (rules §5): a copied entry of such a string takes
    the target's status, so every entry of one string says the same.
    """
    own = target.code_statuses
    if code_handling == COPY:
        return [{**c, "status": own.get(c["code"], c["status"])} for c in source.codes]
    new: dict[str, dict[str, str]] = {}
    for c in source.codes:
        if c["code"] not in own:
            new.setdefault(c["code"], dict(c))
    return list(new.values())
