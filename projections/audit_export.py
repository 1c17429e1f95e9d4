"""An auditor's export of the full history (rules §10), from the command line
(``scripts/export-history``) and over the API (``http/resources/exports.py``).

    scripts/export-history --contract <id> [--format csv|jsonl] [--output FILE]
    scripts/export-history --party <id>
    scripts/export-history --all

Every event, in the ledger's order, with its notification id (its position),
recorded time, effective date, actor and all details, money as its exact
decimal text ("250.00"); for a contract, the monitoring and debt records
placed on it are included; for a party, its own events and those of every
contract it is on (and their records).

The export walks the store's hash chain in the same pass that reads the
events it writes, up to the ledger's position when it began: each exported
event is the very stored event whose link was checked, and the verdict,
written last, covers exactly the exported events (how many, their first and
last positions, and the stretch of the chain walked to prove them: from the
first event of the ledger to the last one exported). Where it goes:

- JSON lines: one event per line; the last line is ``{"verdict": {...}}``.
- CSV: a header row, one row per event, and a last row whose ``event`` is
  ``ExportVerdict``: its ``details`` hold the verdict's JSON, its
  ``notification_id`` the last position walked. The table stays one table
  (a spreadsheet or pandas reads it as it is); drop that row for the events.

An export that fails ends without a verdict (the command exits 2 and, with
``--output``, leaves no file), so an export that holds no verdict, or whose
verdict does not count its rows, was cut off. Exit status: 0 when the
chain proves every exported event, 1 when it breaks before the last one
(the verdict says where, and which exported events it still proves), 2 when
the export failed or the store cannot be read.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from contractledger.domain.history import event_as_plain_data
from contractledger.domain.event_decoding import BatchDecoder
from contractledger.store.hashchain import ChainedEvent, ChainWalker

CREATED_WITH_CHAIN = ("Assigned", "DirectRelationshipRequested", "TransferPackageCreated")
RECORD_CREATED = ("Placed", "Logged")
COLUMNS = ("notification_id", "aggregate_id", "sequence", "event", "recorded_at", "effective_on",
           "actor_role", "actor_user", "actor_party_id", "contract_id", "details")
FORMATS = ("jsonl", "csv")
MEDIA_TYPES = {"jsonl": "application/jsonl", "csv": "text/csv"}
VERDICT_EVENT = "ExportVerdict"
"""The ``event`` of a CSV export's last row, which holds the verdict."""


class Selection:
    """Which events belong to the export, learnt while reading the log in order."""

    def __init__(self, contract: UUID | None = None, party: UUID | None = None) -> None:
        self.contract = contract
        self.party = party
        self.contracts: set[UUID] = {contract} if contract else set()
        self.record_contract: dict[UUID, UUID] = {}

    @property
    def scope(self) -> str:
        if self.contract is not None:
            return f"contract {self.contract}"
        return f"party {self.party}" if self.party is not None else "whole ledger"

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


# ---- the walk: events and their proof, in one pass -----------------------------------


@dataclass
class ExportVerdict:
    """What the hash chain proves of exactly the events an export wrote."""

    scope: str
    up_to_position: int
    """The ledger's position when the export began: nothing after it is exported."""
    walker: ChainWalker = field(default_factory=ChainWalker)
    exported: int = 0
    proven: int = 0
    first_position: int | None = None
    last_position: int | None = None

    def count(self, position: int, proven: bool) -> None:
        self.exported += 1
        self.proven += proven
        if self.first_position is None:
            self.first_position = position
        self.last_position = position

    @property
    def intact(self) -> bool:
        return self.proven == self.exported

    @property
    def first_broken_position(self) -> int | None:
        """The first broken link at or before the last exported event (a break
        after it concerns no exported event)."""
        broken = self.walker.first_broken_notification_id
        return broken if broken is not None and self.last_position is not None and broken <= self.last_position else None

    def sentence(self) -> str:
        if self.exported == 0:
            return f"nothing exported: the {self.scope} has no events up to position {self.up_to_position}"
        held = f"{self.exported} exported events (positions {self.first_position} to {self.last_position})"
        if self.intact:
            return (
                f"intact: the {held} are proven by the hash chain, walked unbroken from position 1 "
                f"to {self.last_position}"
            )
        return (
            f"BROKEN: the hash chain breaks at position {self.first_broken_position}; of the {held}, "
            f"{self.proven} before it are proven and {self.exported - self.proven} from it on are not "
            "(that event, or the one before it, was changed, removed or reordered)"
        )

    def as_plain_data(self) -> dict[str, Any]:
        return {
            "export": "contractledger history",
            "scope": self.scope,
            "up_to_position": self.up_to_position,
            "events_exported": self.exported,
            "positions": None if self.exported == 0 else {"first": self.first_position, "last": self.last_position},
            "chain_walked": None if self.exported == 0 else {"from": 1, "to": self.last_position},
            "intact": self.intact,
            "events_proven": self.proven,
            "first_broken_position": self.first_broken_position,
            "sentence": self.sentence(),
        }


# An export decodes each event once, in order: a small memo of recurring values (ids, dates, actors) keeps most of
# the saving and holds the process's memory near where it started however long the ledger (the views runner's
# decoder, which decodes in batches all day, keeps a larger one)
EXPORT_MEMO_LIMIT = 20_000


def walk(recorder: Any, mapper: Any, selection: Selection, verdict: ExportVerdict) -> Iterator[dict[str, Any]]:
    """The selected events up to ``verdict.up_to_position``, as export rows,
    each counted in ``verdict`` with whether the chain proves it."""
    decoder = BatchDecoder(mapper, memo_limit=EXPORT_MEMO_LIMIT)
    for stored in recorder.chained_events():
        if stored.notification_id > verdict.up_to_position:
            return
        proven = verdict.walker.check(stored)
        try:
            event = decoder.decode(stored)
            data = event_as_plain_data(event)
        except Exception as error:  # a tampered or unknown event: show it, never hide it
            verdict.count(stored.notification_id, proven)
            yield unreadable(stored, error)
            continue
        wanted, contract = selection.includes(event)
        if not wanted:
            continue
        verdict.count(stored.notification_id, proven)
        actor = data["actor"] or {}
        yield {
            "notification_id": stored.notification_id,
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


def rows(recorder: Any, mapper: Any, selection: Selection) -> Iterator[dict[str, Any]]:
    """The selected events as export rows, for a reader that wants the events alone."""
    return walk(recorder, mapper, selection, ExportVerdict(selection.scope, recorder.max_notification_id() or 0))


def unreadable(stored: ChainedEvent, error: Exception) -> dict[str, Any]:
    return {
        "notification_id": stored.notification_id,
        "aggregate_id": str(stored.originator_id),
        "sequence": stored.originator_version,
        "event": "UNREADABLE",
        "recorded_at": None,
        "effective_on": None,
        "actor_role": None,
        "actor_user": None,
        "actor_party_id": None,
        "contract_id": None,
        "details": {"topic": stored.topic, "error": f"{type(error).__name__}: {error}"},
    }


def subject_exists(recorder: Any, mapper: Any, selection: Selection) -> bool:
    """Whether the contract or party asked for is in the ledger (the whole ledger always is)."""
    subject = selection.contract or selection.party
    if subject is None:
        return True
    first = recorder.select_events(subject, limit=1)
    if not first:
        return False
    try:
        name = type(mapper.to_domain_event(first[0])).__qualname__
    except Exception:  # unreadable: not what was asked for
        return False
    wanted = ("Contract." + n for n in CREATED_WITH_CHAIN) if selection.contract else ("Party.Registered",)
    return name in tuple(wanted)


# ---- the two forms ---------------------------------------------------------------------


# amounts as their exact text ("250.00"), never a float; a value with no JSON form fails the export
_row_json = msgspec.json.Encoder(decimal_format="string").encode
_details_json = msgspec.json.Encoder(decimal_format="string", order="sorted").encode


def text_of(form: str, rows: Iterator[dict[str, Any]], verdict: ExportVerdict, chunk: int = 1 << 16) -> Iterator[str]:
    """The export as text, in pieces of about ``chunk`` characters; the verdict
    is in the last piece, made only once every row has been written."""
    buffer = io.StringIO()
    if form == "jsonl":
        def put(row: dict[str, Any]) -> None:
            buffer.write(_row_json(row).decode() + "\n")

        def finish() -> None:
            buffer.write(_row_json({"verdict": verdict.as_plain_data()}).decode() + "\n")
    else:
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()

        def put(row: dict[str, Any]) -> None:
            writer.writerow({**row, "details": _details_json(row["details"]).decode()})

        def finish() -> None:
            writer.writerow({
                "notification_id": verdict.last_position or "", "event": VERDICT_EVENT,
                "details": _details_json(verdict.as_plain_data()).decode(),
            })
    for row in rows:
        put(row)
        if buffer.tell() >= chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    finish()
    yield buffer.getvalue()


def export(recorder: Any, mapper: Any, selection: Selection, form: str) -> tuple[ExportVerdict, Iterator[str]]:
    """The export of ``selection`` in ``form`` (``jsonl`` or ``csv``) as pieces
    of text, read as they are taken (nothing is built in memory), and its
    verdict, complete once the last piece has been taken."""
    verdict = ExportVerdict(selection.scope, recorder.max_notification_id() or 0)
    return verdict, text_of(form, walk(recorder, mapper, selection, verdict), verdict)


# ---- the command ------------------------------------------------------------------------

INTACT, BROKEN, FAILED = 0, 1, 2


def _write(pieces: Iterator[str], output: str | None) -> None:
    if output is None:
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    # written beside the output and moved into place complete: a failed export leaves no file
    directory = os.path.dirname(os.path.abspath(output))
    handle, partial = tempfile.mkstemp(dir=directory, prefix=".export-", suffix=".partial")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            for piece in pieces:
                out.write(piece)
        os.replace(partial, output)
    except BaseException:
        os.unlink(partial)
        raise


EXPORT_EPILOG = f"""\
The verdict is the last line of JSON lines ({{"verdict": ...}}) and the last
row of CSV (event {VERDICT_EVENT}, the verdict's JSON in details, the last
position walked in notification_id); it is printed on standard error too.
An export without it was cut off. Money is written as its exact decimal
text ("250.00"). The store is the one the service uses (PERSISTENCE_MODULE
and its settings, read from the environment).

exit status:
  0  the hash chain proves every exported event
  1  the chain breaks before the last exported event (the verdict says where)
  2  the export failed: no verdict, and no --output file; or an unknown id, a
     store that cannot be read, or arguments it cannot read
"""


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="contractledger export-history",
        description="An auditor's export of the full history (CSV or JSON lines), with the\n"
        "hash-chain verdict for exactly the events it holds, written last.",
        epilog=EXPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scope = command.add_mutually_exclusive_group(required=True)
    scope.add_argument(
        "--contract", type=UUID, metavar="ID",
        help="export this contract: its events and those of its monitoring and debt records",
    )
    scope.add_argument(
        "--party", type=UUID, metavar="ID",
        help="export this party: its own events and those of every contract it is on (and their records)",
    )
    scope.add_argument("--all", action="store_true", help="export the whole ledger")
    command.add_argument(
        "--format", choices=FORMATS, default="jsonl",
        help="jsonl: one JSON object per line (the default); csv: a header row, then one row per event",
    )
    command.add_argument(
        "--output", metavar="FILE",
        help="the file to write, complete or not at all (default: standard output)",
    )
    return command


def main(argv: Sequence[str] | None = None) -> int:
    from contractledger.domain.clock import UnknownBusinessTimeZone
    from contractledger.domain.ledger import ContractLedger
    from contractledger.store.environment import ledger_environment
    from contractledger.store.errors import StoreConfigurationError

    args = parser().parse_args(argv)
    try:
        ledger = ContractLedger(ledger_environment())
    except (StoreConfigurationError, UnknownBusinessTimeZone) as error:
        print(f"export-history: {error}", file=sys.stderr)
        return FAILED
    selection = Selection(contract=args.contract, party=args.party)
    try:
        if not subject_exists(ledger.recorder, ledger.mapper, selection):
            print(f"export-history: the ledger holds no {selection.scope}; check the id.", file=sys.stderr)
            return FAILED
        verdict, pieces = export(ledger.recorder, ledger.mapper, selection, args.format)
        _write(pieces, args.output)
    except Exception as error:  # whatever stopped it, the export has no verdict
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        kept = "nothing was written to " + args.output if args.output else "what was written has no verdict"
        print(f"export-history: the export of the {selection.scope} failed ({reason}); {kept}.", file=sys.stderr)
        return FAILED
    finally:
        ledger.close()
    print(f"export-history: {verdict.sentence()}", file=sys.stderr)
    return INTACT if verdict.intact else BROKEN


if __name__ == "__main__":
    sys.exit(main())
