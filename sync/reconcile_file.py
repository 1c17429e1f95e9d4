"""``scripts/reconcile <peer> <export file> [--complete]``: reconcile a peer's
export against the configured ledger and print every discrepancy.

The export is JSON lines (one object per contract: ``contract_id`` and/or
the peer's id, ``status``, ``writing_numbers`` as a list) or CSV (a header
row; ``writing_numbers`` separated by ``;``). The peer's own id is read from
the column its peer file names (``[contracts] external_id_column``). Prints
the answer as JSON; exits 0 when nothing differs, 1 when something does,
2 when the file or the store cannot be read.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec

from contractledger.sync.peer import Peer, PeerDefinitionError, peers
from contractledger.sync.reconcile import PeerContract, PeerView, reconcile


def read_export(path: Path, peer: Peer) -> list[PeerContract]:
    text = path.read_text()
    records = _json_lines(text) if path.suffix in (".jsonl", ".ndjson", ".json") else _csv_rows(text)
    return [_contract(record, peer, number) for number, record in enumerate(records, start=1)]


def _json_lines(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.strip():
            yield json.loads(line)


def _csv_rows(text: str) -> Iterator[dict[str, Any]]:
    for row in csv.DictReader(text.splitlines()):
        numbers = row.get("writing_numbers") or ""
        yield {**row, "writing_numbers": [n.strip() for n in numbers.split(";") if n.strip()]}


def _contract(record: dict[str, Any], peer: Peer, number: int) -> PeerContract:
    column = peer.external_id_column
    external = record.get(column) if column != "contract_id" else record.get("external_id")
    ours = record.get("contract_id") if column != "contract_id" else None
    try:
        return msgspec.convert(
            {
                "contract_id": ours or None,
                "external_id": external or None,
                "status": record.get("status"),
                "writing_numbers": record.get("writing_numbers") or [],
            },
            PeerContract,
        )
    except msgspec.ValidationError as error:
        raise ValueError(f"record {number}: {error}") from None


RECONCILE_EPILOG = """\
The export is JSON lines (a file named .jsonl, .ndjson or .json: one object
per contract, with contract_id and/or the peer's own id, status, and
writing_numbers as a list) or CSV (any other name: a header row, and
writing_numbers separated by ";"). The peer's own id is read from the
column its peer file names. The answer is printed as JSON. The store is the
one the service uses (PERSISTENCE_MODULE and its settings, read from the
environment).

exit status:
  0  nothing differs
  1  something differs (every discrepancy is printed)
  2  no such peer, a file or a store that cannot be read, or arguments it
     cannot read
"""


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="contractledger reconcile",
        description="Compare a sync peer's export file with the ledger and print every discrepancy.",
        epilog=RECONCILE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("peer", metavar="PEER", help="the sync peer's name, as its file in sync/peers/ is named")
    command.add_argument("export", type=Path, metavar="FILE", help="the peer's export, as JSON lines or CSV")
    command.add_argument(
        "--complete", action="store_true",
        help="the export is everything the peer holds, so a contract its feed told it of that the "
        "export does not list is a discrepancy too (missing_in_peer)",
    )
    return command


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        peer = peers()[arguments.peer]
    except KeyError:
        print(f"reconcile: there is no sync peer {arguments.peer!r} (see sync/peers/).", file=sys.stderr)
        return 2
    except PeerDefinitionError as error:
        print(f"reconcile: {error}", file=sys.stderr)
        return 2
    try:
        contracts = read_export(arguments.export, peer)
    except (OSError, ValueError) as error:
        print(f"reconcile: {arguments.export}: {error}", file=sys.stderr)
        return 2
    from contractledger.domain.ledger import ContractLedger
    from contractledger.projections.engine.view_database import view_database_for
    from contractledger.store.environment import ledger_environment

    env = ledger_environment()
    ledger = ContractLedger(env)
    views = view_database_for(env)
    try:
        at = datetime.now(timezone.utc).isoformat()
        answer = reconcile(ledger, views, peer, PeerView(contracts=contracts, complete=arguments.complete), at=at)
    finally:
        ledger.close()
        views.close()
    json.dump(answer, sys.stdout, indent=2)
    print()
    return 1 if answer["discrepancies"] else 0


if __name__ == "__main__":
    sys.exit(main())
