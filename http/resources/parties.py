"""Commands on parties (rules §1) and their notification triggers (rules §8)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from contractledger.domain import commands
from contractledger.domain.actor import Actor, Role
from contractledger.domain.errors import NotFound
from contractledger.domain.permissions import ensure_acts_for
from contractledger.domain.party import ADVISOR_KINDS, KINDS
from contractledger.domain.triggers import NotificationKind
from contractledger.http.commands.answers import NewVersion, PartyRegistered, TriggersChosen
from contractledger.http.commands.bodies import Body
from contractledger.http.commands.route import CommandRoute
from contractledger.domain.inputs import Line
from contractledger.http.route_roles import ADMINS, PARTY_USERS

Profile = Annotated[
    dict[str, Any],
    msgspec.Meta(
        max_length=20,
        description="Sections: name, identifiers, addresses, errors_and_omissions, attributes. Each text in it "
        "is one line of at most 1000 characters.",
    ),
]

AgencyLevel = Line(50, "The agency's level, such as MGA or AGA.")


class RegisterParty(Body):
    kind: Literal[KINDS]  # type: ignore[valid-type]
    """carrier, agency or advisor"""
    profile: Profile
    advisor_kind: Literal[ADVISOR_KINDS] | None = None  # type: ignore[valid-type]
    """individual or corporate (advisors only)"""
    level: AgencyLevel | None = None
    """the agency's level label, such as MGA or AGA (agencies only)"""


class ChangeProfile(Body):
    changes: Profile


class Association(Body):
    corporation_id: UUID


class ConfigureTriggers(Body):
    kinds: Annotated[list[NotificationKind], msgspec.Meta(max_length=len(NotificationKind))]


def _only_those_who_may_change(code: str, message: str, corporations_too: bool = False) -> Any:
    """Before a 412 tells a party's current version: refuses, as the use case
    would, anyone who may not change the party. The version is the party's
    as it stands, and a party that no longer sees an advisor's profile
    changes (rules §5: after a termination) must not learn that it moved on;
    those who may change a party see all of it. (An association is made by
    the advisor or by a corporation: a corporation is never on an
    individual advisor's contracts, so never a terminating party.)"""

    def ensure(ledger: Any, actor: Actor, party_id: UUID) -> None:
        if corporations_too and actor.party_id is not None and actor.party_id != party_id:
            try:
                if ledger.get_party(actor.party_id).is_corporate_advisor:
                    return
            except NotFound:
                pass
        ensure_acts_for(actor, party_id, code, message)

    return ensure


_changes_its_profile = _only_those_who_may_change(
    "party.profile.not_yours", "Only the party itself changes its profile; ask them."
)
_changes_its_associations = _only_those_who_may_change(
    "party.association.not_yours",
    "Only the advisor or the corporation changes their association; ask one of them.",
    corporations_too=True,
)


COMMANDS = (
    CommandRoute(
        "register_party", "/parties", "Register a carrier, an agency (with its level) or an advisor.",
        "parties", RegisterParty, commands.RegisterParty, PartyRegistered,
        location=lambda outcome: f"/parties/{outcome}",
        roles=(Role.OPERATOR, *ADMINS),
    ),
    CommandRoute(
        "change_profile", "/parties/{party_id:uuid}/change-profile",
        "The party itself changes its profile (name, identifiers, addresses, E&O, attributes).",
        "parties", ChangeProfile, commands.ChangeProfile, NewVersion,
        aggregate="party_id", visible=_changes_its_profile, roles=(*PARTY_USERS, Role.SYNC_PEER),
    ),
    CommandRoute(
        "associate_advisor_with_corporation", "/parties/{party_id:uuid}/associate",
        "An individual advisor is associated with a corporation.",
        "parties", Association, commands.AssociateAdvisorWithCorporation, NewVersion,
        aggregate="party_id", visible=_changes_its_associations, roles=(Role.PRODUCER, Role.SYNC_PEER),
        path_as={"party_id": "advisor_id"},
    ),
    CommandRoute(
        "dissociate_advisor_from_corporation", "/parties/{party_id:uuid}/dissociate",
        "The association ends (it stops counting towards the corporation's health).",
        "parties", Association, commands.DissociateAdvisorFromCorporation, NewVersion,
        aggregate="party_id", visible=_changes_its_associations, roles=(Role.PRODUCER, Role.SYNC_PEER),
        path_as={"party_id": "advisor_id"},
    ),
    CommandRoute(
        "configure_triggers", "/trigger-settings",
        "The caller's party chooses which kinds of happening notify it (replacing its choice).",
        "notifications", ConfigureTriggers, commands.ConfigureTriggers, TriggersChosen, roles=PARTY_USERS,
    ),
)
