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
        encoded: dict[str, Any] = {
            "role": obj.role.value,
            "user": obj.user,
            "party_id": obj.party_id.hex if obj.party_id else None,
        }
        if obj.on_behalf_of is not None:  # only on a relayed step: every other actor is stored as it always was
            encoded["on_behalf_of"] = obj.on_behalf_of.value
        return encoded

    def decode(self, data: dict[str, Any]) -> Actor:
        party, behalf = data["party_id"], data.get("on_behalf_of")
        return Actor(
            role=Role(data["role"]),
            user=data["user"],
            party_id=UUID(party) if party else None,
            on_behalf_of=Role(behalf) if behalf else None,
        )


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
