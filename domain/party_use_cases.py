"""Use cases on parties (rules §1): registration, profiles, advisor-corporation associations."""

from __future__ import annotations

from uuid import UUID

from contractledger.domain.actor import Actor
from contractledger.domain.command_handlers import Outcome, handles
from contractledger.domain.commands import (
    AssociateAdvisorWithCorporation,
    ChangeProfile,
    DissociateAdvisorFromCorporation,
    RegisterParty,
)
from contractledger.domain.errors import NotFound
from contractledger.domain.permissions import ensure_acts_for, ensure_may_change, ensure_may_register, ensure_token_fits
from contractledger.domain.party import Party


class PartyUseCases:
    @handles(RegisterParty)
    def register_party(self, actor: Actor, command: RegisterParty) -> Outcome:
        """rules §1: a carrier, an agency (with a level label) or an advisor (individual or corporate);
        who registers whom is rules §1's rule: operators carriers and agencies, an agency
        admin or carrier staff the advisors it recruits."""
        ensure_may_register(actor, command.kind, self._kind_of_party(actor.party_id))
        party = Party.register(
            kind=command.kind,
            advisor_kind=command.advisor_kind,
            level=command.level,
            profile=command.profile,
            actor=actor,
            effective_on=self._today(),
            at=self._now(),
        )
        return party.id, [party]

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

    @handles(ChangeProfile)
    def change_profile(self, actor: Actor, command: ChangeProfile) -> Outcome:
        """rules §1: the party itself changes its profile (name, identifiers, addresses, E&O, attributes)."""
        ensure_may_change(actor)
        party = self._load_party(command.party_id)
        ensure_acts_for(actor, party.id, "party.profile.not_yours", "Only the party itself changes its profile; ask them.")
        party.change_profile(command.changes, actor=actor, effective_on=self._today(), at=self._now())
        return party.version, [party]

    @handles(AssociateAdvisorWithCorporation)
    def associate_advisor_with_corporation(self, actor: Actor, command: AssociateAdvisorWithCorporation) -> Outcome:
        """rules §1: an individual advisor is associated with a corporation (a corporate advisor)."""
        ensure_may_change(actor)
        advisor = self._load_party(command.advisor_id)
        corporation = self._load_party(command.corporation_id)
        _ensure_acts_for_either(actor, advisor.id, corporation.id)
        advisor.associate_with(corporation, actor=actor, effective_on=self._today(), at=self._now())
        return advisor.version, [advisor]

    @handles(DissociateAdvisorFromCorporation)
    def dissociate_advisor_from_corporation(self, actor: Actor, command: DissociateAdvisorFromCorporation) -> Outcome:
        """rules §1: the association ends (it stops counting towards the corporation's health, rules §7)."""
        ensure_may_change(actor)
        advisor = self._load_party(command.advisor_id)
        _ensure_acts_for_either(actor, advisor.id, command.corporation_id)
        advisor.dissociate_from(command.corporation_id, actor=actor, effective_on=self._today(), at=self._now())
        return advisor.version, [advisor]


def _ensure_acts_for_either(actor: Actor, advisor_id: UUID, corporation_id: UUID) -> None:
    if actor.party_id == corporation_id:
        return
    ensure_acts_for(
        actor,
        advisor_id,
        "party.association.not_yours",
        "Only the advisor or the corporation changes their association; ask one of them.",
    )
