"""rules §1: parties, their event-sourced profiles, advisor-corporation associations."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted, RuleBroken  # noqa: E402


class TestParties(LedgerScenario):
    def test_an_agency_is_registered_with_its_level_label(self) -> None:
        party = self.ledger.get_party(self.mga)
        self.assertEqual(("agency", "MGA", "Summit MGA"), (party.kind, party.level, party.name))

    def test_an_advisor_must_say_whether_individual_or_corporate(self) -> None:
        self.assert_refused(
            InvalidInput,
            "party.advisor_kind.required",
            lambda: self.ledger.register_party(self.system, "advisor", {"name": "Bo"}),
        )

    def test_an_unknown_kind_of_party_is_refused(self) -> None:
        self.assert_refused(
            InvalidInput, "party.kind.unknown", lambda: self.ledger.register_party(self.system, "broker", {"name": "X"})
        )

    def test_a_party_needs_a_name(self) -> None:
        self.assert_refused(
            InvalidInput, "party.profile.name_required", lambda: self.ledger.register_party(self.system, "carrier", {})
        )

    def test_only_agencies_carry_a_level(self) -> None:
        self.assert_refused(
            InvalidInput,
            "party.level.not_agency",
            lambda: self.ledger.register_party(self.system, "carrier", {"name": "C"}, level="MGA"),
        )

    def test_the_advisor_changes_their_own_profile_sections(self) -> None:
        self.ledger.change_profile(
            self.producer, self.advisor, {"identifiers": {"npn": "123"}, "errors_and_omissions": {"carrier": "XL"}}
        )
        profile = self.ledger.get_party(self.advisor).profile
        self.assertEqual({"npn": "123"}, profile["identifiers"])
        self.assertEqual("Ada Lovelace", profile["name"])

    def test_a_profile_has_only_known_sections(self) -> None:
        self.assert_refused(
            InvalidInput,
            "party.profile.unknown_section",
            lambda: self.ledger.change_profile(self.producer, self.advisor, {"shoe_size": 9}),
            self.advisor,
        )

    def test_another_party_cannot_change_an_advisors_profile(self) -> None:
        self.assert_refused(
            NotPermitted,
            "party.profile.not_yours",
            lambda: self.ledger.change_profile(self.aga_admin, self.advisor, {"name": "Eve"}),
            self.advisor,
        )

    def test_auditors_change_nothing(self) -> None:
        self.assert_refused(
            NotPermitted,
            "actor.auditor_read_only",
            lambda: self.ledger.change_profile(self.auditor, self.advisor, {"name": "Eve"}),
            self.advisor,
        )

    def test_an_unknown_party_is_not_found(self) -> None:
        from uuid import uuid4

        self.assert_refused(NotFound, "party.not_found", lambda: self.ledger.change_profile(self.system, uuid4(), {"name": "x"}))

    def test_an_individual_advisor_is_associated_with_a_corporation_and_dissociated(self) -> None:
        corporation = self.register("advisor", "Lovelace Financial Inc.", advisor_kind="corporate")
        self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, corporation)
        self.assertEqual(frozenset({corporation}), self.ledger.get_party(self.advisor).corporations)
        self.ledger.dissociate_advisor_from_corporation(Actor(Role.PRODUCER, "corp", corporation), self.advisor, corporation)
        self.assertEqual(frozenset(), self.ledger.get_party(self.advisor).corporations)

    def test_an_advisor_is_associated_only_with_a_corporation(self) -> None:
        self.assert_refused(
            RuleBroken,
            "party.association.corporation_only",
            lambda: self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, self.aga),
            self.advisor,
        )

    def test_a_corporate_advisor_is_not_itself_associated(self) -> None:
        corporation = self.register("advisor", "Corp A", advisor_kind="corporate")
        other = self.register("advisor", "Corp B", advisor_kind="corporate")
        self.assert_refused(
            RuleBroken,
            "party.association.individual_only",
            lambda: self.ledger.associate_advisor_with_corporation(self.system, corporation, other),
            corporation,
        )

    def test_an_association_is_made_once(self) -> None:
        corporation = self.register("advisor", "Corp A", advisor_kind="corporate")
        self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, corporation)
        self.assert_refused(
            RuleBroken,
            "party.association.exists",
            lambda: self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, corporation),
            self.advisor,
        )

    def test_a_stranger_cannot_associate_an_advisor(self) -> None:
        corporation = self.register("advisor", "Corp A", advisor_kind="corporate")
        self.assert_refused(
            NotPermitted,
            "party.association.not_yours",
            lambda: self.ledger.associate_advisor_with_corporation(self.aga_admin, self.advisor, corporation),
            self.advisor,
        )

    def test_dissociating_an_unassociated_corporation_is_refused(self) -> None:
        corporation = self.register("advisor", "Corp A", advisor_kind="corporate")
        self.assert_refused(
            RuleBroken,
            "party.association.missing",
            lambda: self.ledger.dissociate_advisor_from_corporation(self.producer, self.advisor, corporation),
            self.advisor,
        )

    def test_only_advisors_are_individual_or_corporate(self) -> None:
        self.assert_refused(
            InvalidInput,
            "party.advisor_kind.not_advisor",
            lambda: self.ledger.register_party(self.system, "agency", {"name": "A"}, advisor_kind="individual"),
        )

    def test_a_profile_change_names_what_changes(self) -> None:
        self.assert_refused(
            InvalidInput, "party.profile.no_change", lambda: self.ledger.change_profile(self.producer, self.advisor, {}), self.advisor
        )
