"""Document references: the ledger records which document, never its body."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentReference:
    name: str
    media_type: str
    sha256: str
    location: str
