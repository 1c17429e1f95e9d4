"""The auditor's export over the API (rules §10): a contract's, a party's or
the whole ledger's history as JSON lines or CSV, streamed as it is read
(never built in memory), the same bytes ``scripts/export-history`` writes:
the hash-chain verdict for exactly the events it holds is its last line
(JSON lines) or last row (CSV, event ``ExportVerdict``), sent only once
every event has been.

An export that fails after it started cannot change its 200: the stream
stops there, without its verdict and without the chunked encoding's end,
so a client sees an incomplete answer, never a complete export with a
verdict (see projections/audit_export.py for the verdict's fields).

Auditors only. To anyone else a contract export answers as the contract
does: 404 when they may not see it (exactly as for a contract that does
not exist), 403 when they may; a party's (the directory is public) and
the ledger's answer 403.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import falcon
import msgspec

from contractledger.domain.actor import Role
from contractledger.http.config import AppConfig
from contractledger.http.problems import Problem
from contractledger.http.query_parameters import parse
from contractledger.http.routing import Handler, Operation
from contractledger.projections import audit_export, contract_status
from contractledger.projections.engine.queries import ViewNotBuilt
from contractledger.projections.viewer import Viewer

TAG = "audit"
EXPORT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "description": "JSON lines: one event per line, then {\"verdict\": {...}}. CSV (format=csv, text/csv): a header "
    "row, one row per event, then the verdict's row (event ExportVerdict, the verdict's JSON in details). An answer "
    "without its verdict was cut off.",
}


class ExportParameters(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    format: Literal["jsonl", "csv"] = "jsonl"
    """jsonl (application/jsonl) or csv (text/csv)."""


class ExportHistory(Handler):
    """GET one of the three exports; ``scope`` says which."""

    def __init__(self, config: AppConfig, scope: str) -> None:
        self.config = config
        self.scope = scope
        noun = {"contract": "a contract", "party": "a party", "ledger": "the whole ledger"}[scope]
        self.operation = Operation(
            method="GET",
            operation_id=f"export_{scope}_history",
            summary=f"The full history of {noun} as JSON lines or CSV, streamed, with the hash-chain "
            "verdict for exactly the events it holds, written last. Auditors only.",
            tag=TAG,
            path_parameters=(f"{scope}_id",) if scope != "ledger" else (),
            query=ExportParameters,
            answer=EXPORT_SCHEMA,
            answer_media_type=audit_export.MEDIA_TYPES["jsonl"],
            other_answer_media_types=(audit_export.MEDIA_TYPES["csv"],),
            refusals=(400, 401, 403, 404, 503),
            roles=(Role.AUDITOR,),
            problems=("export.auditors_only", "views.not_built") + ((f"{scope}.not_found",) if scope != "ledger" else ()),
        )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **path: Any) -> None:
        parameters = parse(req, ExportParameters)
        subject: UUID | None = path.get(f"{self.scope}_id")
        selection = audit_export.Selection(
            contract=subject if self.scope == "contract" else None, party=subject if self.scope == "party" else None
        )
        ledger = self.config.ledger
        self._refuse_all_but_auditors(req, selection)
        if not audit_export.subject_exists(ledger.recorder, ledger.mapper, selection):
            raise _not_found(self.scope)
        _, pieces = audit_export.export(ledger.recorder, ledger.mapper, selection, parameters.format)
        name = f"{self.scope}-{subject}-history" if subject else "ledger-history"
        resp.content_type = f"{audit_export.MEDIA_TYPES[parameters.format]}; charset=utf-8"
        resp.set_header("Content-Disposition", f'attachment; filename="{name}.{parameters.format}"')
        resp.stream = (piece.encode("utf-8") for piece in pieces)

    def _refuse_all_but_auditors(self, req: falcon.Request, selection: audit_export.Selection) -> None:
        actor = req.context.actor
        if actor.role in self.operation.roles:
            return
        if selection.contract is not None:
            try:
                seen = contract_status.contract(self.config.views, Viewer.of(actor), selection.contract)
            except ViewNotBuilt:
                raise Problem(
                    falcon.HTTP_503, "views.not_built", "The views are still being built for the first time; retry shortly.",
                    headers={"Retry-After": "5"},
                ) from None
            if seen is None:
                raise _not_found("contract")
        elif selection.party is not None:
            if not audit_export.subject_exists(self.config.ledger.recorder, self.config.ledger.mapper, selection):
                raise _not_found("party")
        raise Problem(falcon.HTTP_403, "export.auditors_only", "Only an auditor exports history; ask one.")


def _not_found(scope: str) -> Problem:
    return Problem(falcon.HTTP_404, f"{scope}.not_found", f"No such {scope} for you; check the id.")


def routes(config: AppConfig) -> dict[str, list[Handler]]:
    return {
        "/contracts/{contract_id:uuid}/export": [ExportHistory(config, "contract")],
        "/parties/{party_id:uuid}/export": [ExportHistory(config, "party")],
        "/ledger/export": [ExportHistory(config, "ledger")],
    }
