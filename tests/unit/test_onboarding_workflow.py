"""rules §2 (contracts and chains), 3 (statuses) and 4 (the onboarding workflow)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted, RuleBroken  # noqa: E402
from contractledger.domain.status import MANUAL, TERMINAL, Status  # noqa: E402


class TestChains(LedgerScenario):
    def test_a_contract_binds_carrier_agencies_and_advisor_in_order(self) -> None:
        (contract_id,) = self.assign(self.full_chain)
        contract = self.ledger.get_contract(contract_id)
        self.assertEqual(tuple(self.full_chain), contract.chain)
        self.assertEqual((self.carrier, self.advisor, self.carrier), (contract.carrier_id, contract.advisor_id, contract.primary_owner_id))

    def test_a_chain_of_one_party_is_refused(self) -> None:
        self.assert_refused(
            RuleBroken, "contract.chain.length", lambda: self.ledger.assign_contracts(self.system, [[self.advisor]], "producer")
        )

    def test_a_chain_of_seven_parties_is_refused(self) -> None:
        agencies = [self.register("agency", f"Agency {i}") for i in range(5)]
        chain = [self.carrier, *agencies, self.advisor]
        self.assert_refused(
            RuleBroken, "contract.chain.length", lambda: self.ledger.assign_contracts(self.system, [chain], "producer")
        )

    def test_a_chain_of_six_parties_is_accepted(self) -> None:
        a1, a2, a3 = (self.register("agency", f"Agency {i}") for i in range(3))
        self.relate(self.aga, a1)
        self.relate(a1, a2)
        self.relate(a2, a3)
        chain = [self.carrier, self.mga, self.aga, a1, a2, self.advisor]
        (contract_id,) = self.ledger.assign_contracts(self.aga_admin, [chain], "producer")["contract_ids"]
        self.assertEqual(6, len(self.ledger.get_contract(contract_id).chain))

    def test_a_party_appearing_twice_is_refused(self) -> None:
        chain = [self.carrier, self.mga, self.mga, self.advisor]
        self.assert_refused(
            RuleBroken, "contract.chain.repeated_party", lambda: self.ledger.assign_contracts(self.system, [chain], "producer")
        )

    def test_the_carrier_comes_first(self) -> None:
        chain = [self.mga, self.aga, self.advisor]
        self.assert_refused(
            RuleBroken, "contract.chain.carrier_first", lambda: self.ledger.assign_contracts(self.system, [chain], "producer")
        )

    def test_the_advisor_comes_last(self) -> None:
        chain = [self.carrier, self.mga, self.aga]
        self.assert_refused(
            RuleBroken, "contract.chain.advisor_last", lambda: self.ledger.assign_contracts(self.system, [chain], "producer")
        )

    def test_only_agencies_stand_between_carrier_and_advisor(self) -> None:
        other_carrier = self.register("carrier", "Other Life")
        chain = [self.carrier, other_carrier, self.advisor]
        self.assert_refused(
            RuleBroken, "contract.chain.agencies_between", lambda: self.ledger.assign_contracts(self.system, [chain], "producer")
        )

    def test_adjacent_organisations_need_an_active_direct_relationship(self) -> None:
        stranger = self.register("agency", "Unrelated AGA")
        chain = [self.carrier, self.mga, stranger, self.advisor]
        self.assert_refused(
            RuleBroken,
            "contract.chain.no_direct_relationship",
            lambda: self.ledger.assign_contracts(self.system, [chain], "producer"),
        )

    def test_a_requested_but_unapproved_relationship_does_not_count(self) -> None:
        newcomer = self.register("agency", "New AGA")
        self.ledger.establish_direct_relationship(self.admin_of(newcomer), self.mga, newcomer)
        chain = [self.carrier, self.mga, newcomer, self.advisor]
        self.assert_refused(
            RuleBroken,
            "contract.chain.no_direct_relationship",
            lambda: self.ledger.assign_contracts(self.system, [chain], "producer"),
        )

    def test_a_direct_contract_between_carrier_and_advisor_needs_no_relationship(self) -> None:
        (contract_id,) = self.assign([self.carrier, self.advisor], actor=self.carrier_staff)
        self.assertEqual(Status.PENDING_AGENCY, self.status_of(contract_id))

    def test_a_direct_relationship_is_a_two_party_contract_approved_by_the_upper_organisation(self) -> None:
        newcomer = self.register("agency", "New AGA")
        relationship = self.ledger.establish_direct_relationship(self.admin_of(newcomer), self.mga, newcomer)
        contract = self.ledger.get_contract(relationship)
        self.assertEqual((self.mga, newcomer), contract.chain)
        self.assertTrue(contract.is_direct_relationship)
        self.assertEqual(Status.PENDING_CARRIER, contract.status)
        self.assert_refused(
            NotPermitted,
            "relationship.approve.upper_party_only",
            lambda: self.ledger.set_manual_status(self.admin_of(newcomer), relationship, Status.ACTIVE),
            relationship,
        )
        self.ledger.set_manual_status(self.mga_admin, relationship, Status.ACTIVE)
        self.assertEqual(Status.ACTIVE, self.status_of(relationship))

    def test_a_direct_relationship_binds_two_organisations(self) -> None:
        self.assert_refused(
            RuleBroken,
            "relationship.organisations_only",
            lambda: self.ledger.establish_direct_relationship(self.aga_admin, self.aga, self.advisor),
        )

    def test_a_direct_relationship_is_not_requested_twice(self) -> None:
        self.assert_refused(
            RuleBroken,
            "relationship.exists",
            lambda: self.ledger.establish_direct_relationship(self.aga_admin, self.mga, self.aga),
        )

    def test_only_the_two_organisations_request_their_relationship(self) -> None:
        newcomer = self.register("agency", "New AGA")
        self.assert_refused(
            NotPermitted,
            "relationship.request.not_yours",
            lambda: self.ledger.establish_direct_relationship(self.aga_admin, self.mga, newcomer),
        )

    def test_writing_numbers_and_codes_are_carried_with_their_own_status(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1")
        self.ledger.change_writing_number(self.carrier_staff, contract_id, "WN-1", "WN-2")
        self.ledger.add_contract_code(self.carrier_staff, contract_id, "LIFE-01")
        self.ledger.add_contract_code(self.carrier_staff, contract_id, "HEALTH-02", status="inactive")
        self.ledger.set_contract_code_status(self.carrier_staff, contract_id, "LIFE-01", "inactive")
        self.ledger.rename_contract_code(self.carrier_staff, contract_id, "HEALTH-02", "HEALTH-03")
        contract = self.ledger.get_contract(contract_id)
        self.assertEqual(["WN-2"], contract.writing_numbers)
        self.assertEqual({"LIFE-01": "inactive", "HEALTH-03": "inactive"}, contract.code_statuses)

    def test_a_code_status_is_active_or_inactive(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.add_contract_code(self.carrier_staff, contract_id, "LIFE-01")
        self.assert_refused(
            InvalidInput,
            "contract.code.status_unknown",
            lambda: self.ledger.set_contract_code_status(self.carrier_staff, contract_id, "LIFE-01", "paused"),
            contract_id,
        )

    def test_a_duplicate_writing_number_is_refused(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1")
        self.assert_refused(
            RuleBroken,
            "contract.writing_number.exists",
            lambda: self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1"),
            contract_id,
        )

    def test_changing_an_unknown_code_is_refused(self) -> None:
        (contract_id,) = self.assign()
        self.assert_refused(
            RuleBroken,
            "contract.code.unknown",
            lambda: self.ledger.set_contract_code_status(self.carrier_staff, contract_id, "NOPE", "inactive"),
            contract_id,
        )


class TestStatuses(LedgerScenario):
    def test_workflow_statuses_are_never_set_by_hand(self) -> None:
        (contract_id,) = self.assign(filled_by="producer")
        self.assert_refused(
            RuleBroken,
            "contract.status.workflow_only",
            lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, Status.PENDING_CARRIER),
            contract_id,
        )

    def test_lifecycle_statuses_are_not_set_by_a_status_change(self) -> None:
        contract_id = self.active_contract()
        self.assert_refused(
            RuleBroken,
            "contract.status.not_manual",
            lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, Status.TERMINATED),
            contract_id,
        )

    def test_an_unknown_status_is_refused(self) -> None:
        (contract_id,) = self.assign()
        self.assert_refused(
            InvalidInput,
            "contract.status.unknown",
            lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, "approved"),
            contract_id,
        )

    def test_every_terminal_status_accepts_no_further_change(self) -> None:
        for terminal in sorted(TERMINAL & MANUAL):
            with self.subTest(terminal=terminal):
                (contract_id,) = self.assign()
                self.ledger.set_manual_status(self.aga_admin, contract_id, terminal)
                for follow_up in (Status.ACTIVE, Status.PENDING_BACKGROUNDS, Status.EXPIRED):
                    self.assert_refused(
                        RuleBroken,
                        "contract.status.terminal",
                        lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, follow_up),
                        contract_id,
                    )
                self.assert_refused(
                    RuleBroken,
                    "contract.status.terminal",
                    lambda: self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-9"),
                    contract_id,
                )

    def test_a_nullified_contract_accepts_no_further_change(self) -> None:
        contract_id = self.active_contract()
        self.ledger.nullify(self.aga_admin, contract_id)
        self.assert_refused(
            RuleBroken,
            "contract.status.terminal",
            lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, Status.ACTIVE),
            contract_id,
        )


class TestOnboardingWorkflow(LedgerScenario):
    def test_assigning_filled_by_the_producer_starts_pending_producer(self) -> None:
        (contract_id,) = self.assign(filled_by="producer")
        self.assertEqual(Status.PENDING_PRODUCER, self.status_of(contract_id))

    def test_assigning_filled_by_the_agency_admin_starts_pending_agency(self) -> None:
        (contract_id,) = self.assign(filled_by="agency_admin")
        self.assertEqual(Status.PENDING_AGENCY, self.status_of(contract_id))

    def test_who_fills_first_must_be_producer_or_agency_admin(self) -> None:
        self.assert_refused(
            InvalidInput,
            "contract.assign.initially_filled_by",
            lambda: self.ledger.assign_contracts(self.aga_admin, [self.full_chain], "carrier"),
        )

    def test_the_whole_workflow_runs_from_assignment_to_approval(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.send_to_producer(self.aga_admin, contract_id)
        self.assertEqual(Status.PENDING_PRODUCER, self.status_of(contract_id))
        self.ledger.submit_by_producer(self.producer, contract_id)
        self.assertEqual(Status.PENDING_AGENCY, self.status_of(contract_id))
        self.ledger.return_to_producer(self.aga_admin, contract_id)
        self.assertEqual(Status.PENDING_PRODUCER, self.status_of(contract_id))
        self.ledger.submit_by_producer(self.producer, contract_id)
        self.ledger.submit_to_carrier(self.aga_admin, contract_id)
        self.assertEqual(Status.PENDING_CARRIER, self.status_of(contract_id))
        self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.PENDING_BACKGROUNDS)
        self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.ACTIVE)
        self.assertEqual(Status.ACTIVE, self.status_of(contract_id))

    def test_a_step_from_the_wrong_status_is_refused(self) -> None:
        (contract_id,) = self.assign(filled_by="producer")
        self.assert_refused(
            RuleBroken,
            "contract.submit_to_carrier.wrong_status",
            lambda: self.ledger.submit_to_carrier(self.aga_admin, contract_id),
            contract_id,
        )

    def test_only_the_advisor_signs_and_submits(self) -> None:
        (contract_id,) = self.assign(filled_by="producer")
        self.assert_refused(
            NotPermitted,
            "contract.advisor_only",
            lambda: self.ledger.submit_by_producer(self.aga_admin, contract_id),
            contract_id,
        )

    def test_the_producer_does_not_take_the_agency_admins_steps(self) -> None:
        (contract_id,) = self.assign()
        self.assert_refused(
            NotPermitted,
            "contract.admins_only",
            lambda: self.ledger.send_to_producer(self.producer, contract_id),
            contract_id,
        )

    def test_a_party_not_on_the_contract_is_told_it_does_not_exist(self) -> None:
        (contract_id,) = self.assign()
        outsider = self.register("agency", "Outsider")
        self.assert_refused(
            NotFound,
            "contract.not_found",
            lambda: self.ledger.send_to_producer(self.admin_of(outsider), contract_id),
            contract_id,
        )

    def test_an_agency_admin_assigns_only_chains_that_include_their_agency(self) -> None:
        outsider = self.register("agency", "Outsider")
        self.assert_refused(
            NotPermitted,
            "contract.assign.not_on_chain",
            lambda: self.ledger.assign_contracts(self.admin_of(outsider), [self.full_chain], "producer"),
        )

    def test_auditors_assign_nothing(self) -> None:
        self.assert_refused(
            NotPermitted,
            "actor.auditor_read_only",
            lambda: self.ledger.assign_contracts(self.auditor, [self.full_chain], "producer"),
        )

    def test_from_pending_carrier_only_a_manual_status_follows(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.submit_to_carrier(self.aga_admin, contract_id)
        self.assert_refused(
            RuleBroken,
            "contract.send_to_producer.wrong_status",
            lambda: self.ledger.send_to_producer(self.aga_admin, contract_id),
            contract_id,
        )
        self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.DECLINED)
        self.assertEqual(Status.DECLINED, self.status_of(contract_id))

    def test_an_admin_sets_any_manual_status_on_a_pending_contract(self) -> None:
        (contract_id,) = self.assign()
        for status in (Status.AWAITING_INCOMING_RELEASE, Status.PENDING_NEW_BUSINESS, Status.AWAITING_OUTGOING_RELEASE):
            self.ledger.set_manual_status(self.aga_admin, contract_id, status)
            self.assertEqual(status, self.status_of(contract_id))

    def test_a_producer_sets_no_manual_status(self) -> None:
        (contract_id,) = self.assign()
        self.assert_refused(
            NotPermitted,
            "contract.admins_only",
            lambda: self.ledger.set_manual_status(self.producer, contract_id, Status.WITHDRAWN),
            contract_id,
        )

    def test_a_sync_peer_acts_like_an_admin_of_the_primary_owner(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.submit_to_carrier(self.aga_admin, contract_id)
        self.ledger.set_manual_status(self.peer, contract_id, Status.ACTIVE)
        self.ledger.add_writing_number(self.peer, contract_id, "WN-7")
        self.ledger.add_contract_code(self.peer, contract_id, "C-1")
        self.assertEqual(Status.ACTIVE, self.status_of(contract_id))

    def test_relayed_steps_a_peer_takes_the_producer_s_step_only_relaying_it_for_the_producer(self) -> None:
        (contract_id,) = self.assign(filled_by="producer")
        for actor in (self.peer, Actor.relaying("contracting", Role.AGENCY_ADMIN)):
            self.assert_refused(
                NotPermitted,
                "contract.advisor_only",
                lambda: self.ledger.submit_by_producer(actor, contract_id),
                contract_id,
            )
        self.ledger.submit_by_producer(Actor.relaying("contracting", Role.PRODUCER), contract_id)
        self.assertEqual(Status.PENDING_AGENCY, self.status_of(contract_id))
        signed = self.ledger.history(contract_id)[-1]
        self.assertEqual("SubmittedByProducer", signed["event"])
        self.assertEqual("producer", signed["actor"]["on_behalf_of"])
        self.ledger.submit_to_carrier(Actor.relaying("contracting", Role.AGENCY_ADMIN), contract_id)
        self.assertEqual(Status.PENDING_CARRIER, self.status_of(contract_id))

    def test_moving_pending_carrier_back_to_pending_agency_would_nullify_the_workflow(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.submit_to_carrier(self.aga_admin, contract_id)
        error = self.assert_refused(
            RuleBroken,
            "contract.status.would_nullify",
            lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, Status.PENDING_AGENCY),
            contract_id,
        )
        self.assertIn("nullify", error.message)

    def test_moving_active_back_to_pending_producer_would_nullify_the_workflow(self) -> None:
        contract_id = self.active_contract()
        self.assert_refused(
            RuleBroken,
            "contract.status.would_nullify",
            lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, Status.PENDING_PRODUCER),
            contract_id,
        )

    def test_moving_withdrawn_back_to_pending_agency_would_nullify_the_workflow(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.set_manual_status(self.aga_admin, contract_id, Status.WITHDRAWN)
        self.assert_refused(
            RuleBroken,
            "contract.status.would_nullify",
            lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, Status.PENDING_AGENCY),
            contract_id,
        )

    def test_nullify_ends_the_contract_as_nullified(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.submit_to_carrier(self.aga_admin, contract_id)
        self.ledger.nullify(self.aga_admin, contract_id, note="carrier asked to start over")
        self.assertEqual(Status.NULLIFIED, self.status_of(contract_id))

    def test_an_established_lifecycle_contract_is_terminated_not_nullified(self) -> None:
        contract_id = self.active_contract()
        self.ledger.downgrade(self.carrier_staff, contract_id, "Low production")
        self.assert_refused(
            RuleBroken, "contract.nullify.established", lambda: self.ledger.nullify(self.aga_admin, contract_id), contract_id
        )

    def test_an_active_contract_changes_status_only_to_a_terminal_one(self) -> None:
        contract_id = self.active_contract()
        self.assert_refused(
            RuleBroken,
            "contract.status.active_to_terminal_only",
            lambda: self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.PENDING_BACKGROUNDS),
            contract_id,
        )
        self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.EXPIRED)
        self.assertEqual(Status.EXPIRED, self.status_of(contract_id))

    def test_a_lifecycle_status_is_left_by_its_own_action(self) -> None:
        contract_id = self.active_contract()
        self.ledger.vest(self.carrier_staff, contract_id, "Retiring book")
        self.assert_refused(
            RuleBroken,
            "contract.status.lifecycle",
            lambda: self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.EXPIRED),
            contract_id,
        )

    def test_setting_the_same_status_again_is_refused(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.set_manual_status(self.aga_admin, contract_id, Status.PENDING_BACKGROUNDS)
        self.assert_refused(
            RuleBroken,
            "contract.status.unchanged",
            lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, Status.PENDING_BACKGROUNDS),
            contract_id,
        )

    def test_writing_numbers_and_codes_change_in_any_non_terminal_status(self) -> None:
        contract_id = self.active_contract()
        self.ledger.vest(self.carrier_staff, contract_id, "Retiring book")
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1")
        self.ledger.add_contract_code(self.carrier_staff, contract_id, "LIFE-01")
        self.ledger.set_contract_code_status(self.carrier_staff, contract_id, "LIFE-01", "inactive")
        self.assertEqual({"LIFE-01": "inactive"}, self.ledger.get_contract(contract_id).code_statuses)

    def test_a_status_date_before_the_last_change_is_refused(self) -> None:
        (contract_id,) = self.assign()
        self.assert_refused(
            RuleBroken,
            "contract.status_date.before_last_change",
            lambda: self.ledger.set_manual_status(
                self.aga_admin, contract_id, Status.PENDING_BACKGROUNDS, effective_on=self.in_days(-1)
            ),
            contract_id,
        )

    def test_auditors_read_everything_but_change_nothing(self) -> None:
        (contract_id,) = self.assign()
        self.assertEqual(Status.PENDING_AGENCY, self.ledger.get_contract(contract_id).status)
        self.assertTrue(self.ledger.history(contract_id))
        self.assert_refused(
            NotPermitted,
            "actor.auditor_read_only",
            lambda: self.ledger.set_manual_status(self.auditor, contract_id, Status.WITHDRAWN),
            contract_id,
        )
        self.assert_refused(
            NotPermitted,
            "actor.auditor_read_only",
            lambda: self.ledger.add_writing_number(Actor(Role.AUDITOR, "audrey"), contract_id, "WN-1"),
            contract_id,
        )


class TestNumberingRefusals(LedgerScenario):
    def setUp(self) -> None:
        super().setUp()
        (self.contract_id,) = self.assign()
        self.ledger.add_contract_code(self.carrier_staff, self.contract_id, "LIFE-01")

    def test_a_writing_number_is_given(self) -> None:
        self.assert_refused(
            InvalidInput,
            "contract.writing_number.required",
            lambda: self.ledger.add_writing_number(self.carrier_staff, self.contract_id, " "),
            self.contract_id,
        )

    def test_changing_an_unknown_writing_number_is_refused(self) -> None:
        self.assert_refused(
            RuleBroken,
            "contract.writing_number.unknown",
            lambda: self.ledger.change_writing_number(self.carrier_staff, self.contract_id, "WN-0", "WN-1"),
            self.contract_id,
        )

    def test_a_code_is_given(self) -> None:
        self.assert_refused(
            InvalidInput,
            "contract.code.required",
            lambda: self.ledger.add_contract_code(self.carrier_staff, self.contract_id, ""),
            self.contract_id,
        )

    def test_a_code_is_carried_once(self) -> None:
        self.assert_refused(
            RuleBroken,
            "contract.code.exists",
            lambda: self.ledger.add_contract_code(self.carrier_staff, self.contract_id, "LIFE-01"),
            self.contract_id,
        )

    def test_setting_a_code_to_its_own_status_is_refused(self) -> None:
        self.assert_refused(
            RuleBroken,
            "contract.code.unchanged",
            lambda: self.ledger.set_contract_code_status(self.carrier_staff, self.contract_id, "LIFE-01", "active"),
            self.contract_id,
        )


class TestAssignmentRefusals(LedgerScenario):
    def test_an_assignment_names_at_least_one_contract(self) -> None:
        self.assert_refused(
            InvalidInput, "contract.assign.no_contracts", lambda: self.ledger.assign_contracts(self.aga_admin, [], "producer")
        )

    def test_a_producer_does_not_assign_contracts(self) -> None:
        self.assert_refused(
            NotPermitted,
            "contract.assign.admins_only",
            lambda: self.ledger.assign_contracts(self.producer, [self.full_chain], "producer"),
        )
