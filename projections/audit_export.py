"""``scripts/export-history``: an auditor's export of the full history.

    scripts/export-history --contract <id> [--format csv|jsonl] [--output FILE]
    scripts/export-history --party <id>
    scripts/export-history --all

Every event, in the ledger's order, with its notification id, recorded time,
effective date, actor and all details; for a contract, the monitoring and
debt records placed on it are included; for a party, its own events and
those of every contract it is on (and their records). The export opens with
the result of walking the store's hash chain, so the reader knows whether
the history it holds was proven unbroken when it was written.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO
from uuid import UUID

from contractledger.domain.history import event_as_plain_data
from contractledger.store.hashchain import Verdict, verify

CREATED_WITH_CHAIN = ("Assigned", "DirectRelationshipRequested", "TransferPackageCreated")
RECORD_CREATED = ("Placed", "Logged")
COLUMNS = ("notification_id", "aggregate_id", "sequence", "event", "recorded_at", "effective_on",
           "actor_role", "actor_user", "actor_party_id", "contract_id", "details")


class Selection:
    """Which events belong to the export, learnt while reading the log in order."""

    def __init__(self, contract: UUID | None = None, party: UUID | None = None) -> None:
        self.contract = contract
        self.party = party
        self.contracts: set[UUID] = {contract} if contract else set()
        self.record_contract: dict[UUID, UUID] = {}

    def contract_of(self, event: Any) -> UUID | None:
        name = type(event).__name__
        aggregate = event.originator_id
        if name in RECORD_CREATED and hasattr(event, "contract_id"):
            self.record_contract[aggregate] = event.contract_id
        if aggregate in self.record_contract:
            return self.record_contract[aggregate]
        if name in CREATED_WITH_CHAIN and self.party is not None and self.party in getattr(event, "chain", ()):
            self.contracts.add(aggregate)
        return aggregate if (name in CREATED_WITH_CHAIN or aggregate in self.contracts) else None

    def includes(self, event: Any) -> tuple[bool, UUID | None]:
        contract = self.contract_of(event)
        if self.contract is None and self.party is None:
            return True, contract
        if contract is not None and contract in self.contracts:
            return True, contract
        return self.party is not None and event.originator_id == self.party, contract


def rows(recorder: Any, mapper: Any, selection: Selection, page: int = 5000) -> Iterator[dict[str, Any]]:
    position = 0
    while True:
        notifications = recorder.select_notifications(start=position, limit=page, inclusive_of_start=False)
        if not notifications:
            return
        for notification in notifications:
            try:
                event = mapper.to_domain_event(notification)
                data = event_as_plain_data(event)
            except Exception as error:  # a tampered or unknown event: show it, never hide it
                yield unreadable(notification, error)
                continue
            wanted, contract = selection.includes(event)
            if not wanted:
                continue
            actor = data["actor"] or {}
            yield {
                "notification_id": notification.id,
                "aggregate_id": str(event.originator_id),
                "sequence": data["sequence"],
                "event": f"{type(event).__qualname__}",
                "recorded_at": data["recorded_at"],
                "effective_on": data["effective_on"],
                "actor_role": actor.get("role"),
                "actor_user": actor.get("user"),
                "actor_party_id": actor.get("party_id"),
                "contract_id": str(contract) if contract else None,
                "details": data["details"],
            }
        position = notifications[-1].id


def unreadable(notification: Any, error: Exception) -> dict[str, Any]:
    return {
        "notification_id": notification.id,
        "aggregate_id": str(notification.originator_id),
        "sequence": notification.originator_version,
        "event": "UNREADABLE",
        "recorded_at": None,
        "effective_on": None,
        "actor_role": None,
        "actor_user": None,
        "actor_party_id": None,
        "contract_id": None,
        "details": {"topic": notification.topic, "error": f"{type(error).__name__}: {error}"},
    }


def header(verdict: Verdict, scope: str) -> dict[str, Any]:
    return {
        "export": "contractledger history",
        "scope": scope,
        "hash_chain": {
            "intact": verdict.intact,
            "events_checked": verdict.events_checked,
            "first_broken_notification_id": verdict.first_broken_notification_id,
            "sentence": verdict.sentence(),
        },
    }


def write(out: TextIO, form: str, head: dict[str, Any], records: Iterator[dict[str, Any]]) -> int:
    count = 0
    if form == "jsonl":
        out.write(json.dumps({"header": head}) + "\n")
        for record in records:
            out.write(json.dumps(record) + "\n")
            count += 1
        return count
    out.write(f"# {json.dumps(head)}\n")
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for record in records:
        writer.writerow({**record, "details": json.dumps(record["details"], sort_keys=True)})
        count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    from contractledger.domain.clock import UnknownBusinessTimeZone
    from contractledger.domain.ledger import ContractLedger
    from contractledger.store.environment import ledger_environment
    from contractledger.store.errors import StoreConfigurationError

    parser = argparse.ArgumentParser(prog="scripts/export-history", description=__doc__.split("\n\n")[0])
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--contract", type=UUID)
    scope.add_argument("--party", type=UUID)
    scope.add_argument("--all", action="store_true")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    parser.add_argument("--output", help="file to write (default: standard output)")
    args = parser.parse_args(argv)

    try:
        ledger = ContractLedger(ledger_environment())
    except (StoreConfigurationError, UnknownBusinessTimeZone) as error:
        print(f"export-history: {error}", file=sys.stderr)
        return 2
    try:
        verdict = verify(ledger.recorder.chained_events())
        described = f"contract {args.contract}" if args.contract else f"party {args.party}" if args.party else "whole ledger"
        selection = Selection(contract=args.contract, party=args.party)
        out = open(args.output, "w", newline="") if args.output else sys.stdout
        try:
            count = write(out, args.format, header(verdict, described), rows(ledger.recorder, ledger.mapper, selection))
        finally:
            if args.output:
                out.close()
        print(f"export-history: {count} events of the {described}; {verdict.sentence()}", file=sys.stderr)
    finally:
        ledger.close()
    return 0 if verdict.intact else 1


if __name__ == "__main__":
    sys.exit(main())
