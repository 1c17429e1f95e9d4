"""How our value objects are written into stored events (stored schema)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Transcoding

from contractledger.domain.actor import Actor, Role
from contractledger.domain.documents import DocumentReference


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class ActorAsDict(Transcoding):
    type = Actor
    name = "actor"

    def encode(self, obj: Actor) -> dict[str, Any]:
        return {
            "role": obj.role.value,
            "user": obj.user,
            "party_id": obj.party_id.hex if obj.party_id else None,
        }

    def decode(self, data: dict[str, Any]) -> Actor:
        party = data["party_id"]
        return Actor(role=Role(data["role"]), user=data["user"], party_id=UUID(party) if party else None)


class DocumentReferenceAsDict(Transcoding):
    type = DocumentReference
    name = "document_reference"

    def encode(self, obj: DocumentReference) -> dict[str, str]:
        return {
            "name": obj.name,
            "media_type": obj.media_type,
            "sha256": obj.sha256,
            "location": obj.location,
        }

    def decode(self, data: dict[str, str]) -> DocumentReference:
        return DocumentReference(**data)


ALL = (DateAsISO, ActorAsDict, DocumentReferenceAsDict)
