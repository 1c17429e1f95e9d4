"""Parties (rules §1): carriers, agencies and advisors, with event-sourced profiles.

The profile is a plain dict of a few known sections so that its state at any
past instant can be read back from the events (``ContractLedger.party_as_of``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate
from contractledger.domain.errors import InvalidInput, RuleBroken
from contractledger.domain.vocabulary import Vocabulary

KINDS = Vocabulary(
    "PartyKind",
    "What a party is: a carrier (an insurer), an agency (an MGA, AGA or other level between carrier and "
    "advisor) or an advisor (the producer who sells).",
    ("carrier", "agency", "advisor"),
)
ADVISOR_KINDS = Vocabulary(
    "AdvisorKind",
    "An advisor is an individual (a person) or corporate (a corporation, with individual advisors associated "
    "with it); only advisors have one.",
    ("individual", "corporate"),
)
PROFILE_SECTIONS = Vocabulary(
    "ProfileSection",
    "The sections of a party's profile; facts of any other kind go under attributes.",
    ("name", "identifiers", "addresses", "errors_and_omissions", "attributes"),
)


def ensure_kind(kind: str, advisor_kind: str | None, level: str | None) -> None:
    if kind not in KINDS:
        raise InvalidInput("party.kind.unknown", f"A party is one of {', '.join(KINDS)}; choose one.", "kind")
    if kind == "advisor" and advisor_kind not in ADVISOR_KINDS:
        raise InvalidInput(
            "party.advisor_kind.required",
            "An advisor is either 'individual' or 'corporate'; say which.",
            "advisor_kind",
        )
    if kind != "advisor" and advisor_kind is not None:
        raise InvalidInput(
            "party.advisor_kind.not_advisor", "Only advisors are individual or corporate; leave it out.", "advisor_kind"
        )
    if level is not None and kind != "agency":
        raise InvalidInput("party.level.not_agency", "Only agencies have a level (MGA, AGA, ...); leave it out.", "level")


def ensure_profile_sections(changes: dict[str, Any]) -> None:
    unknown = sorted(set(changes) - set(PROFILE_SECTIONS))
    if unknown:
        raise InvalidInput(
            "party.profile.unknown_section",
            f"A profile has only these sections: {', '.join(PROFILE_SECTIONS)}; put other facts under 'attributes'.",
            unknown[0],
        )
    if "name" in changes and (not isinstance(changes["name"], str) or not changes["name"].strip()):
        raise InvalidInput("party.profile.name_required", "A party needs a name; give one.", "name")


class Party(LedgerAggregate):
    class Registered(LedgerAggregate.Created):
        kind: str
        advisor_kind: str | None
        level: str | None
        profile: dict[str, Any]

    class ProfileChanged(LedgerAggregate.Event):
        changes: dict[str, Any]

        def apply(self, party: Party) -> None:
            party.profile = {**party.profile, **self.changes}

    class AssociatedWithCorporation(LedgerAggregate.Event):
        corporation_id: UUID

        def apply(self, party: Party) -> None:
            party._corporations = [*party._corporations, self.corporation_id]

    class DissociatedFromCorporation(LedgerAggregate.Event):
        corporation_id: UUID

        def apply(self, party: Party) -> None:
            party._corporations = [c for c in party._corporations if c != self.corporation_id]

    def __init__(self, kind: str, advisor_kind: str | None, level: str | None, profile: dict[str, Any]) -> None:
        self.kind = kind
        self.advisor_kind = advisor_kind
        self.level = level
        self.profile = dict(profile)
        # A list, not a set: aggregate state must survive a JSON snapshot.
        self._corporations: list[UUID] = []

    @classmethod
    def register(
        cls,
        *,
        kind: str,
        advisor_kind: str | None,
        level: str | None,
        profile: dict[str, Any],
        actor: Actor,
        effective_on: date,
        at: datetime,
    ) -> Party:
        ensure_kind(kind, advisor_kind, level)
        ensure_profile_sections(profile)
        if "name" not in profile:
            raise InvalidInput("party.profile.name_required", "A party needs a name; give one.", "name")
        return cls._create(
            cls.Registered,
            id=uuid4(),
            timestamp=at,
            actor=actor,
            effective_on=effective_on,
            kind=kind,
            advisor_kind=advisor_kind,
            level=level,
            profile=dict(profile),
        )

    @property
    def corporations(self) -> frozenset[UUID]:
        return frozenset(self._corporations)

    @property
    def name(self) -> str:
        return str(self.profile.get("name", ""))

    @property
    def is_organisation(self) -> bool:
        return self.kind in ("carrier", "agency")

    @property
    def is_corporate_advisor(self) -> bool:
        return self.kind == "advisor" and self.advisor_kind == "corporate"

    def change_profile(self, changes: dict[str, Any], *, actor: Actor, effective_on: date, at: datetime) -> None:
        if not changes:
            raise InvalidInput("party.profile.no_change", "Say which profile sections change.", "changes")
        ensure_profile_sections(changes)
        self.trigger_event(self.ProfileChanged, timestamp=at, actor=actor, effective_on=effective_on, changes=changes)

    def associate_with(self, corporation: Party, *, actor: Actor, effective_on: date, at: datetime) -> None:
        if self.kind != "advisor" or self.advisor_kind != "individual":
            raise RuleBroken(
                "party.association.individual_only",
                "Only an individual advisor is associated with corporations; choose an individual advisor.",
                "advisor_id",
            )
        if not corporation.is_corporate_advisor:
            raise RuleBroken(
                "party.association.corporation_only",
                "An advisor is associated with a corporation (a corporate advisor); choose one.",
                "corporation_id",
            )
        if corporation.id in self._corporations:
            raise RuleBroken(
                "party.association.exists",
                "The advisor is already associated with this corporation; nothing to do.",
                "corporation_id",
            )
        self.trigger_event(
            self.AssociatedWithCorporation,
            timestamp=at,
            actor=actor,
            effective_on=effective_on,
            corporation_id=corporation.id,
        )

    def dissociate_from(self, corporation_id: UUID, *, actor: Actor, effective_on: date, at: datetime) -> None:
        if corporation_id not in self._corporations:
            raise RuleBroken(
                "party.association.missing",
                "The advisor is not associated with this corporation; check the corporation id.",
                "corporation_id",
            )
        self.trigger_event(
            self.DissociatedFromCorporation,
            timestamp=at,
            actor=actor,
            effective_on=effective_on,
            corporation_id=corporation_id,
        )
