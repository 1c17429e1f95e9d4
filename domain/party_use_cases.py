"""Use cases on parties (rules §1): registration, profiles, advisor-corporation associations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from contractledger.domain.actor import Actor
from contractledger.domain.errors import NotFound
from contractledger.domain.permissions import ensure_acts_for, ensure_may_change, ensure_may_register, ensure_token_fits
from contractledger.domain.party import Party


class PartyUseCases:
    def register_party(
        self,
        actor: Actor,
        kind: str,
        profile: dict[str, Any],
        *,
        advisor_kind: str | None = None,
        level: str | None = None,
        command_id: str | None = None,
    ) -> UUID:
        """rules §1: a carrier, an agency (with a level label) or an advisor (individual or corporate);
        who registers whom is rules §1's rule: operators carriers and agencies, an agency
        admin or carrier staff the advisors it recruits."""

        def use_case() -> tuple[UUID, list[Party]]:
            ensure_may_register(actor, kind, self._kind_of_party(actor.party_id))
            party = Party.register(
                kind=kind,
                advisor_kind=advisor_kind,
                level=level,
                profile=profile,
                actor=actor,
                effective_on=self._today(),
                at=self._now(),
            )
            return party.id, [party]

        arguments = dict(actor=actor, kind=kind, profile=profile, advisor_kind=advisor_kind, level=level)
        return self._run(command_id, arguments, use_case)

    def ensure_may_hold_token(self, actor: Actor) -> None:
        """rules §1 (Who registers whom): a token is issued only for a party that exists,
        with the role that fits its kind; refused with the sentence saying why."""
        ensure_token_fits(actor, self._kind_of_party(actor.party_id))

    def _kind_of_party(self, party_id: UUID | None) -> str | None:
        if party_id is None:
            return None
        try:
            return self._load_party(party_id).kind
        except NotFound:
            return None

    def change_profile(
        self, actor: Actor, party_id: UUID, changes: dict[str, Any], *, command_id: str | None = None
    ) -> int:
        """rules §1: the party itself changes its profile (name, identifiers, addresses, E&O, attributes)."""

        def use_case() -> tuple[int, list[Party]]:
            ensure_may_change(actor)
            party = self._load_party(party_id)
            ensure_acts_for(
                actor, party.id, "party.profile.not_yours", "Only the party itself changes its profile; ask them."
            )
            party.change_profile(changes, actor=actor, effective_on=self._today(), at=self._now())
            return party.version, [party]

        return self._run(command_id, dict(actor=actor, party_id=party_id, changes=changes), use_case)

    def associate_advisor_with_corporation(
        self, actor: Actor, advisor_id: UUID, corporation_id: UUID, *, command_id: str | None = None
    ) -> int:
        """rules §1: an individual advisor is associated with a corporation (a corporate advisor)."""

        def use_case() -> tuple[int, list[Party]]:
            ensure_may_change(actor)
            advisor = self._load_party(advisor_id)
            corporation = self._load_party(corporation_id)
            _ensure_acts_for_either(actor, advisor.id, corporation.id)
            advisor.associate_with(corporation, actor=actor, effective_on=self._today(), at=self._now())
            return advisor.version, [advisor]

        return self._run(command_id, dict(actor=actor, advisor_id=advisor_id, corporation_id=corporation_id), use_case)

    def dissociate_advisor_from_corporation(
        self, actor: Actor, advisor_id: UUID, corporation_id: UUID, *, command_id: str | None = None
    ) -> int:
        """rules §1: the association ends (it stops counting towards the corporation's health, rules §7)."""

        def use_case() -> tuple[int, list[Party]]:
            ensure_may_change(actor)
            advisor = self._load_party(advisor_id)
            _ensure_acts_for_either(actor, advisor.id, corporation_id)
            advisor.dissociate_from(corporation_id, actor=actor, effective_on=self._today(), at=self._now())
            return advisor.version, [advisor]

        return self._run(command_id, dict(actor=actor, advisor_id=advisor_id, corporation_id=corporation_id), use_case)


def _ensure_acts_for_either(actor: Actor, advisor_id: UUID, corporation_id: UUID) -> None:
    if actor.party_id == corporation_id:
        return
    ensure_acts_for(
        actor,
        advisor_id,
        "party.association.not_yours",
        "Only the advisor or the corporation changes their association; ask one of them.",
    )
