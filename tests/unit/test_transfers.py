"""rules §5 (Transfer): request, rescind, deny, the three ways to accept, and the
transfer package deciding the original's fate in the same save."""

from __future__ import annotations

import sys
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted, RuleBroken  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.domain.transfer import successor_chain  # noqa: E402


class TransferScenario(LedgerScenario):
    def setUp(self) -> None:
        super().setUp()
        self.accepting = self.register("agency", "Lighthouse AGA", level="AGA")
        self.accepting_admin = self.admin_of(self.accepting)
        self.relate(self.mga, self.accepting)
        self.contract_id = self.active_contract()

    def request(self, accepting=None) -> None:
        self.ledger.request_transfer(self.producer, self.contract_id, self.aga, accepting or self.accepting)

    def accept(self, option: str = "third_party", third_party=None) -> dict:
        return self.ledger.accept_transfer(self.accepting_admin, self.contract_id, option, third_party or self.mga)

    def approve(self, contract_id) -> None:
        self.ledger.send_to_producer(self.accepting_admin, contract_id)
        self.ledger.submit_by_producer(self.producer, contract_id)
        self.ledger.submit_to_carrier(self.accepting_admin, contract_id)


class TestTransferRequest(TransferScenario):
    def test_the_advisor_requests_a_transfer_and_the_contract_waits(self) -> None:
        self.request()
        contract = self.ledger.get_contract(self.contract_id)
        self.assertEqual(Status.TRANSFER_REQUESTED, contract.status)
        self.assertEqual((self.aga, self.accepting), (contract.relinquishing_entity_id, contract.accepting_entity_id))

    def test_only_the_advisor_requests_a_transfer(self) -> None:
        self.assert_refused(
            NotPermitted,
            "contract.advisor_only",
            lambda: self.ledger.request_transfer(self.aga_admin, self.contract_id, self.aga, self.accepting),
            self.contract_id,
        )

    def test_only_an_active_contract_is_transferred(self) -> None:
        self.ledger.vest(self.carrier_staff, self.contract_id, "Vested book")
        self.assert_refused(RuleBroken, "transfer.not_active", self.request, self.contract_id)

    def test_the_relinquishing_entity_is_an_agency_on_the_chain(self) -> None:
        self.assert_refused(
            RuleBroken,
            "transfer.relinquishing_entity.not_agency_on_chain",
            lambda: self.ledger.request_transfer(self.producer, self.contract_id, self.carrier, self.accepting),
            self.contract_id,
        )

    def test_a_contract_never_moves_to_another_carrier(self) -> None:
        other_carrier = self.register("carrier", "Other Life")
        self.assert_refused(
            RuleBroken, "transfer.same_carrier_only", lambda: self.request(accepting=other_carrier), self.contract_id
        )

    def test_the_accepting_entity_is_not_already_on_the_chain(self) -> None:
        self.assert_refused(
            RuleBroken, "transfer.accepting_entity.on_chain", lambda: self.request(accepting=self.mga), self.contract_id
        )


class TestRescindAndDeny(TransferScenario):
    def test_the_advisor_rescinds_before_acceptance_and_the_contract_is_active_again(self) -> None:
        self.request()
        self.ledger.rescind_transfer(self.producer, self.contract_id)
        self.assertEqual(Status.ACTIVE, self.status_of(self.contract_id))

    def test_rescinding_after_acceptance_is_refused(self) -> None:
        self.request()
        self.accept()
        self.assert_refused(
            RuleBroken,
            "transfer.rescind.already_accepted",
            lambda: self.ledger.rescind_transfer(self.producer, self.contract_id),
            self.contract_id,
        )

    def test_only_the_advisor_rescinds(self) -> None:
        self.request()
        self.assert_refused(
            NotPermitted,
            "contract.advisor_only",
            lambda: self.ledger.rescind_transfer(self.aga_admin, self.contract_id),
            self.contract_id,
        )

    def test_rescinding_without_a_request_is_refused(self) -> None:
        self.assert_refused(
            RuleBroken,
            "transfer.rescind.none_requested",
            lambda: self.ledger.rescind_transfer(self.producer, self.contract_id),
            self.contract_id,
        )

    def test_the_accepting_entity_denies_and_the_contract_is_active_again(self) -> None:
        self.request()
        self.ledger.deny_transfer(self.accepting_admin, self.contract_id, note="no capacity")
        self.assertEqual(Status.ACTIVE, self.status_of(self.contract_id))

    def test_the_relinquishing_entity_may_not_deny(self) -> None:
        self.request()
        self.assert_refused(
            NotPermitted,
            "transfer.accepting_entity_only",
            lambda: self.ledger.deny_transfer(self.aga_admin, self.contract_id),
            self.contract_id,
        )

    def test_a_stranger_cannot_tell_the_contract_exists(self) -> None:
        self.request()
        stranger = self.register("agency", "Stranger")
        self.assert_refused(
            NotFound,
            "contract.not_found",
            lambda: self.ledger.deny_transfer(self.admin_of(stranger), self.contract_id),
            self.contract_id,
        )


class TestAcceptance(TransferScenario):
    def test_accepting_through_the_third_party_creates_the_linked_transfer_package(self) -> None:
        self.request()
        outcome = self.accept()
        successor = self.ledger.get_contract(outcome["successor_id"])
        self.assertEqual((self.carrier, self.mga, self.accepting, self.advisor), successor.chain)
        self.assertEqual(Status.PENDING_AGENCY, successor.status)
        self.assertEqual(self.contract_id, successor.transferred_from)
        original = self.ledger.get_contract(self.contract_id)
        self.assertEqual(successor.id, original.successor_id)
        self.assertEqual(Status.TRANSFER_REQUESTED, original.status)

    def test_when_the_package_becomes_active_the_original_is_terminated_transferred_in_the_same_save(self) -> None:
        self.request()
        successor_id = self.accept()["successor_id"]
        self.approve(successor_id)
        before = self.ledger.recorder.max_notification_id()
        self.ledger.set_manual_status(self.carrier_staff, successor_id, Status.ACTIVE)
        self.assertEqual(before + 2, self.ledger.recorder.max_notification_id())
        original = self.ledger.get_contract(self.contract_id)
        self.assertEqual(Status.TERMINATED, original.status)
        self.assertEqual("Transferred", original.termination["reason"])

    def test_when_the_package_ends_terminal_first_the_original_is_active_again(self) -> None:
        self.request()
        successor_id = self.accept()["successor_id"]
        self.approve(successor_id)
        self.ledger.set_manual_status(self.carrier_staff, successor_id, Status.DECLINED)
        self.assertEqual(Status.ACTIVE, self.status_of(self.contract_id))
        self.assertIsNone(self.ledger.get_contract(self.contract_id).transfer)

    def test_nullifying_the_package_restores_the_original(self) -> None:
        self.request()
        successor_id = self.accept()["successor_id"]
        self.ledger.nullify(self.accepting_admin, successor_id)
        self.assertEqual(Status.ACTIVE, self.status_of(self.contract_id))

    def test_a_transferred_contract_is_not_reactivated(self) -> None:
        self.request()
        successor_id = self.accept()["successor_id"]
        self.approve(successor_id)
        self.ledger.set_manual_status(self.carrier_staff, successor_id, Status.ACTIVE)
        self.assert_refused(
            RuleBroken,
            "contract.reactivate.transferred",
            lambda: self.ledger.reactivate(self.carrier_staff, self.contract_id),
            self.contract_id,
        )

    def test_only_the_accepting_entity_accepts(self) -> None:
        self.request()
        self.assert_refused(
            NotPermitted,
            "transfer.accepting_entity_only",
            lambda: self.ledger.accept_transfer(self.mga_admin, self.contract_id, "third_party", self.mga),
            self.contract_id,
        )

    def test_an_unknown_option_is_refused(self) -> None:
        self.request()
        self.assert_refused(InvalidInput, "transfer.accept.option_unknown", lambda: self.accept(option="coin_toss"), self.contract_id)

    def test_the_third_party_needs_an_active_relationship_with_the_accepting_entity(self) -> None:
        lone = self.register("agency", "Lone AGA")
        self.ledger.request_transfer(self.producer, self.contract_id, self.aga, lone)
        self.assert_refused(
            RuleBroken,
            "transfer.accept.no_direct_relationship",
            lambda: self.ledger.accept_transfer(self.admin_of(lone), self.contract_id, "third_party", self.mga),
            self.contract_id,
        )

    def test_accepting_through_another_corporation_related_to_the_carrier(self) -> None:
        other_mga = self.register("agency", "Coastal MGA", level="MGA")
        self.relate(self.carrier, other_mga)
        self.relate(other_mga, self.accepting)
        self.request()
        outcome = self.accept(option="other_corporation", third_party=other_mga)
        successor = self.ledger.get_contract(outcome["successor_id"])
        self.assertEqual((self.carrier, other_mga, self.accepting, self.advisor), successor.chain)

    def test_another_corporation_without_a_relationship_to_the_carrier_is_refused(self) -> None:
        other_mga = self.register("agency", "Coastal MGA", level="MGA")
        self.relate(other_mga, self.accepting)
        self.request()
        self.assert_refused(
            RuleBroken,
            "transfer.same_carrier_only",
            lambda: self.accept(option="other_corporation", third_party=other_mga),
            self.contract_id,
        )

    def test_the_third_party_option_names_the_party_above_the_relinquishing_entity(self) -> None:
        other_mga = self.register("agency", "Coastal MGA", level="MGA")
        self.request()
        self.assert_refused(
            RuleBroken,
            "transfer.accept.not_the_third_party",
            lambda: self.accept(option="third_party", third_party=other_mga),
            self.contract_id,
        )

    def test_requesting_a_relationship_first_makes_the_transfer_wait_until_it_is_active(self) -> None:
        newcomer = self.register("agency", "Newcomer AGA")
        newcomer_admin = self.admin_of(newcomer)
        self.ledger.request_transfer(self.producer, self.contract_id, self.aga, newcomer)
        outcome = self.ledger.accept_transfer(newcomer_admin, self.contract_id, "request_relationship", self.mga)
        relationship_id = outcome["awaiting_relationship_id"]
        relationship = self.ledger.get_contract(relationship_id)
        self.assertEqual((self.mga, newcomer), relationship.chain)
        self.assertEqual(Status.PENDING_CARRIER, relationship.status)
        self.assertIsNone(self.ledger.get_contract(self.contract_id).successor_id)
        before = self.ledger.recorder.max_notification_id()
        self.ledger.set_manual_status(self.mga_admin, relationship_id, Status.ACTIVE)
        original = self.ledger.get_contract(self.contract_id)
        successor = self.ledger.get_contract(original.successor_id)
        self.assertEqual((self.carrier, self.mga, newcomer, self.advisor), successor.chain)
        # relationship approved and released, package created, original accepted: one save
        self.assertEqual(before + 4, self.ledger.recorder.max_notification_id())

    def test_requesting_a_relationship_that_exists_is_refused(self) -> None:
        self.request()
        self.assert_refused(
            RuleBroken,
            "transfer.accept.relationship_exists",
            lambda: self.accept(option="request_relationship"),
            self.contract_id,
        )

    def test_the_resulting_chain_stays_within_six_parties(self) -> None:
        self.request()
        contract = self.ledger.get_contract(self.contract_id)
        too_long_upline = [self.carrier, *(uuid4() for _ in range(4))]
        with self.assertRaises(RuleBroken) as caught:
            successor_chain(contract, too_long_upline)
        self.assertEqual("contract.chain.length", caught.exception.code)

    def test_a_sync_peer_does_not_decide_for_the_accepting_entity(self) -> None:
        self.request()
        self.assert_refused(
            NotPermitted,
            "transfer.accepting_entity_only",
            lambda: self.ledger.deny_transfer(Actor(Role.SYNC_PEER, "contracting"), self.contract_id),
            self.contract_id,
        )


class TestTransferRefusals(TransferScenario):
    def test_the_accepting_entity_is_an_agency(self) -> None:
        self.assert_refused(
            RuleBroken, "transfer.accepting_entity.not_agency", lambda: self.request(accepting=self.advisor), self.contract_id
        )

    def test_a_direct_relationship_is_not_transferred(self) -> None:
        relationship = self.ledger.establish_direct_relationship(self.aga_admin, self.carrier, self.aga)
        self.ledger.set_manual_status(self.carrier_staff, relationship, Status.ACTIVE)
        # No advisor can ask (the ledger refuses them first); the contract's own rule still holds.
        contract = self.ledger.get_contract(relationship)
        with self.assertRaises(RuleBroken) as caught:
            contract.request_transfer(
                self.aga, self.accepting, None, [], actor=self.system, effective_on=self.today, at=self.clock.now()
            )
        self.assertEqual("transfer.advisor_contracts_only", caught.exception.code)

    def test_once_rescinded_the_accepting_entity_no_longer_sees_the_contract(self) -> None:
        self.ledger.request_transfer(self.producer, self.contract_id, self.aga, self.accepting)
        self.ledger.rescind_transfer(self.producer, self.contract_id)
        self.assert_refused(
            NotFound,
            "contract.not_found",
            lambda: self.ledger.deny_transfer(self.accepting_admin, self.contract_id),
            self.contract_id,
        )

    def test_accepting_twice_is_refused(self) -> None:
        self.request()
        self.accept()
        self.assert_refused(RuleBroken, "transfer.accept.already_accepted", self.accept, self.contract_id)

    def test_denying_after_acceptance_is_refused(self) -> None:
        self.request()
        self.accept()
        self.assert_refused(
            RuleBroken,
            "transfer.deny.already_accepted",
            lambda: self.ledger.deny_transfer(self.accepting_admin, self.contract_id),
            self.contract_id,
        )

    def test_another_corporation_is_one_off_the_chain(self) -> None:
        self.request()
        self.assert_refused(
            RuleBroken,
            "transfer.accept.not_another_corporation",
            lambda: self.accept(option="other_corporation", third_party=self.mga),
            self.contract_id,
        )

    def test_the_third_party_is_an_organisation(self) -> None:
        self.request()
        self.assert_refused(
            RuleBroken,
            "transfer.accept.third_party_not_organisation",
            lambda: self.accept(option="other_corporation", third_party=self.advisor),
            self.contract_id,
        )
