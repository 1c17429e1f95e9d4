"""The HTTP status each problem code is answered with: one code, one status.

The API document lists each route's codes under the status they come with
(``http/route_problems.py``). ``tests/unit/test_problem_codes.py`` walks the
source and fails when a code is raised with another status than this table
gives it (a domain error's status is its kind's: ``http/problems.py``
STATUS_OF), or when a code of ``PROBLEM_CODES`` has no status here."""

from __future__ import annotations

CODES_BY_STATUS: dict[int, tuple[str, ...]] = {
    400: (
        "dashboard.waiting_before_today", "query.cursor_invalid", "query.invalid_parameter",
        "request.idempotency_key_invalid",
        "request.if_match_invalid", "request.malformed", "request.malformed_json", "request.too_deeply_nested",
    ),
    401: (
        "auth.token_refused", "auth.token_required",
    ),
    403: (
        "actor.auditor_read_only", "actor.party_unknown", "console.csrf_refused", "contract.admins_only",
        "contract.advisor_only",
        "contract.assign.admins_only", "contract.assign.not_on_chain", "contract.consolidate.primary_owner_only",
        "debt.advisor_may_not_record", "debt.not_logged_by_you", "debt.party_required", "export.auditors_only",
        "metrics.operators_only", "monitoring.advisor_may_not_record", "monitoring.not_placed_by_you",
        "monitoring.party_required", "party.association.not_yours", "party.profile.not_yours",
        "party.register.operators_only", "party.register.recruiters_only", "relationship.approve.upper_party_only",
        "relationship.request.not_yours", "sync.auditors_only", "sync.operator_only", "sync.peer_only",
        "sync.step_not_relayed", "transfer.accepting_entity_only", "triggers.party_required",
    ),
    404: (
        "bundle.not_found", "contract.not_found", "debt.not_found", "monitoring.not_found", "party.not_found",
        "reminder.record_not_found", "route.not_found", "sync.dead_letter.unknown", "sync.external_id.unknown",
        "sync.peer.unknown", "token.party_unknown", "transfer_request.not_found",
    ),
    405: (
        "route.method_not_allowed",
    ),
    409: (
        "aggregate.version_mismatch", "contract.concurrent_change", "request.idempotency_key_in_flight",
        "sync.change_in_flight", "sync.concurrent_change", "sync.delivery.not_paused", "sync.external_id.taken",
        "sync.stale_version", "sync.version_unknown",
    ),
    412: (
        "request.version_mismatch",
    ),
    413: (
        "request.body_too_large",
    ),
    415: (
        "request.unsupported_media_type",
    ),
    422: (
        "as_of.instant_invalid", "bundle.detach_first", "bundle.mixed_advisors", "command.id_reused",
        "contract.assign.initially_filled_by", "contract.assign.no_contracts", "contract.bundle.not_a_member",
        "contract.chain.advisor_last", "contract.chain.agencies_between", "contract.chain.carrier_first",
        "contract.chain.length", "contract.chain.no_direct_relationship", "contract.chain.repeated_party",
        "contract.code.exists", "contract.code.required", "contract.code.status_unknown", "contract.code.unchanged",
        "contract.code.unknown", "contract.consolidate.advisor_contracts_only", "contract.consolidate.code_handling",
        "contract.consolidate.different_chains", "contract.consolidate.into_itself", "contract.consolidate.pending",
        "contract.consolidate.target_consolidated", "contract.consolidate.target_not_active",
        "contract.consolidate.transfer_requested", "contract.downgrade.not_active",
        "contract.downgrade.reason_required", "contract.nullify.established", "contract.reactivate.consolidated",
        "contract.reactivate.not_terminated", "contract.reactivate.transferred", "contract.reactivate.window_closed",
        "contract.return_to_producer.wrong_status", "contract.send_to_producer.wrong_status",
        "contract.status.active_to_terminal_only", "contract.status.lifecycle", "contract.status.not_manual",
        "contract.status.terminal", "contract.status.unchanged", "contract.status.unknown",
        "contract.status.workflow_only", "contract.status.would_nullify", "contract.status_date.before_last_change",
        "contract.submit_by_producer.wrong_status", "contract.submit_to_carrier.wrong_status",
        "contract.terminate.already_terminated", "contract.terminate.document_required", "contract.terminate.pending",
        "contract.terminate.reason_unknown", "contract.terminate.system_reason",
        "contract.terminate.transfer_requested", "contract.upgrade.not_inactive", "contract.vest.not_active",
        "contract.vest.reason_required", "contract.writing_number.exists", "contract.writing_number.required",
        "contract.writing_number.unknown", "debt.amount_invalid", "debt.close_by_closing", "debt.closed",
        "debt.date_invalid", "debt.delete.refused", "debt.description_invalid", "debt.last_paid_date_required",
        "debt.last_payment_amount_invalid", "debt.last_payment_amount_required", "debt.not_advisor_contract",
        "debt.nothing_changed", "debt.publish.already_public", "debt.publish.not_unresolved",
        "debt.publish.too_early", "debt.status_invalid", "health.not_an_advisor", "monitoring.contract_not_active",
        "monitoring.date_invalid", "monitoring.level_invalid", "monitoring.not_advisor_contract",
        "monitoring.nothing_changed", "monitoring.reason_not_in_level", "monitoring.removed",
        "party.advisor_kind.not_advisor", "party.advisor_kind.required", "party.association.corporation_only",
        "party.association.exists", "party.association.individual_only", "party.association.missing",
        "party.kind.unknown", "party.level.not_agency", "party.profile.name_required", "party.profile.no_change",
        "party.profile.unknown_section", "query.as_of_in_the_future", "query.wait_for_beyond_ledger",
        "relationship.exists", "relationship.organisations_only", "reminder.no_open_task",
        "request.idempotency_key_reused", "request.invalid_field", "sync.change_id_reused", "sync.contract.required",
        "sync.external_id.invalid", "sync.status.unknown", "token.lifetime_not_positive", "token.party_not_for_role",
        "token.party_required", "token.peer_unknown", "token.role_does_not_fit", "token.role_not_issuable",
        "token.user_required", "transfer.accept.already_accepted", "transfer.accept.no_direct_relationship",
        "transfer.accept.none_requested", "transfer.accept.not_another_corporation",
        "transfer.accept.not_the_third_party", "transfer.accept.option_unknown",
        "transfer.accept.relationship_exists", "transfer.accept.third_party_not_organisation",
        "transfer.accepting_entity.not_agency", "transfer.accepting_entity.on_chain",
        "transfer.advisor_contracts_only", "transfer.deny.already_accepted", "transfer.deny.none_requested",
        "transfer.not_active", "transfer.relinquishing_entity.not_agency_on_chain",
        "transfer.rescind.already_accepted", "transfer.rescind.none_requested", "transfer.same_carrier_only",
        "triggers.kind_unknown", "triggers.kinds_invalid",
    ),
    500: (
        "server.unexpected",
    ),
    503: (
        "store.unavailable", "views.not_built",
    ),
    504: (
        "query.views_behind",
    ),
}
STATUS_OF_CODE: dict[str, int] = {code: status for status, codes in CODES_BY_STATUS.items() for code in codes}
