"""What every command body shares: strictness, effective dates and document references."""

from __future__ import annotations

from datetime import date

import msgspec

from contractledger.domain.documents import DocumentReference


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A command's JSON body: unknown fields are refused, not ignored."""


class Document(msgspec.Struct, forbid_unknown_fields=True):
    """A reference to a document kept elsewhere (SPEC 5): the ledger stores no file bodies."""

    name: str
    media_type: str
    sha256: str
    location: str

    def reference(self) -> DocumentReference:
        return DocumentReference(self.name, self.media_type, self.sha256, self.location)


def references(documents: list[Document]) -> tuple[DocumentReference, ...]:
    return tuple(d.reference() for d in documents)


class Dated(Body):
    """An action whose effective date may lie in the past or the future (today by default)."""

    effective_on: date | None = None
