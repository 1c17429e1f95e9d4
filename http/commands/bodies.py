"""What every command body shares: strictness, effective dates, notes and document references."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contractledger.domain.documents import DocumentReference
from contractledger.domain.inputs import Day, Line, Prose

NoteText = Prose(2000, "A note for the record.")
Reason = Line(200, "Why, in a few words.")
Identifier = Line(200)
"""A writing number or a contract code (rules §2), as the carrier writes it."""
FileName = Line(255, "The document's file name.")
MediaType = Line(255, "Its media type, such as application/pdf.")
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$", description="The SHA-256 of its content, 64 lowercase hex digits.")]
Location = Line(2048, "Where it is kept (a URL or a storage path).")


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A command's JSON body: unknown fields are refused, not ignored."""


class Document(msgspec.Struct, forbid_unknown_fields=True):
    """A reference to a document kept elsewhere (rules §5): the ledger stores no file bodies."""

    name: FileName
    media_type: MediaType
    sha256: Sha256
    location: Location

    def reference(self) -> DocumentReference:
        return DocumentReference(self.name, self.media_type, self.sha256, self.location)


Documents = Annotated[list[Document], msgspec.Meta(max_length=20)]


def references(documents: list[Document]) -> tuple[DocumentReference, ...]:
    return tuple(d.reference() for d in documents)


class Dated(Body):
    """An action whose effective date may lie in the past or the future (today by default)."""

    effective_on: Day | None = None
